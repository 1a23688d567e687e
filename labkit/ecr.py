"""Put a locally built image where SageMaker can run it: an Amazon ECR repository.

SageMaker pulls training and serving images from ECR (or, for endpoints, from a private
registry in your VPC). Publishing an image is four steps:

1. ``ecr:CreateRepository`` (once), ideally with scan-on-push and immutable tags;
2. ``ecr:GetAuthorizationToken``: a base64 ``AWS:<password>`` pair valid for 12 hours;
3. ``docker tag IMAGE <account>.dkr.ecr.<region>.amazonaws.com/<repo>:<tag>`` and
   ``docker login`` with that password;
4. ``docker push``: the layers travel to the registry.

On the ``local`` backend steps 1 and 2 are answered by moto, and step 3's tag is made for
real, so local mode finds the image under its ECR name and never tries to pull it. Step 4
cannot happen: no registry listens at that address (and none can be started offline), so
no image bytes leave this machine. :func:`publish_image` says which steps ran.
"""

from __future__ import annotations

import base64
import subprocess
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from labkit.errors import LabKitError


@dataclass
class PublishedImage:
    """The result of :func:`publish_image`."""

    image_uri: str
    """``<registry>/<repository>:<tag>``: what ModelTrainer and CreateModel are given."""
    repository_arn: str
    registry: str
    login_user: str
    token_expires: datetime | None
    pushed: bool
    """True only when the image is really in the registry (the ``aws`` backend)."""
    steps: list[str] = field(default_factory=list)


def _docker(*args: str, stdin: str | None = None, timeout: float = 1800) -> None:
    result = subprocess.run(
        ["docker", *args], input=stdin, capture_output=True, text=True, timeout=timeout
    )
    if result.returncode != 0:
        raise LabKitError(
            f"'docker {args[0]}' failed: {(result.stderr or result.stdout).strip()[-800:]}",
            "check that the Docker engine runs and, for a push, that the role may call "
            "ecr:InitiateLayerUpload, ecr:UploadLayerPart, ecr:CompleteLayerUpload, "
            "ecr:PutImage and ecr:BatchCheckLayerAvailability on the repository.",
        )


def _tag_in_repository(ecr: Any, repository: str, tag: str) -> bool:
    try:
        ecr.describe_images(repositoryName=repository, imageIds=[{"imageTag": tag}])
        return True
    except ecr.exceptions.ImageNotFoundException:
        return False


def publish_image(lab: Any, local_tag: str, repository: str) -> PublishedImage:
    """Create (or reuse) the ECR repository, get a login token, tag and, on AWS, push.

    ``lab`` is the running :class:`labkit.session.Lab`; the repository is tagged with the
    lab's tags. Cleanup removes the extra local tag and deletes the repository if this call
    created it (a repository that was already there is left alone).
    """
    ecr = lab.client("ecr")
    steps: list[str] = []
    try:
        repo = ecr.create_repository(
            repositoryName=repository,
            imageTagMutability="IMMUTABLE",
            imageScanningConfiguration={"scanOnPush": True},
            tags=[{"Key": t["Key"], "Value": t["Value"]} for t in lab.tags],
        )["repository"]
        steps.append(f"ecr:CreateRepository {repository} (immutable tags, scan on push)")
        # The lab made it, so the lab's cleanup deletes it (with its images, on AWS too).
        lab.on_cleanup(
            f"delete ECR repository {repository}",
            lambda: ecr.delete_repository(repositoryName=repository, force=True),
        )
    except ecr.exceptions.RepositoryAlreadyExistsException:
        repo = ecr.describe_repositories(repositoryNames=[repository])["repositories"][0]
        steps.append(f"ecr:DescribeRepositories {repository} (already there)")

    auth = ecr.get_authorization_token()["authorizationData"][0]
    user, password = base64.b64decode(auth["authorizationToken"]).decode().split(":", 1)
    registry = auth["proxyEndpoint"].removeprefix("https://")
    steps.append(f"ecr:GetAuthorizationToken -> user {user!r} for {registry}")

    tag = local_tag.rsplit(":", 1)[1] if ":" in local_tag.rsplit("/", 1)[-1] else "latest"
    image_uri = f"{repo['repositoryUri']}:{tag}"
    _docker("tag", local_tag, image_uri, timeout=60)
    steps.append(f"docker tag {local_tag} {image_uri}")
    lab.on_cleanup(f"remove local tag {image_uri}", lambda: _docker("rmi", image_uri, timeout=60))

    pushed = False
    if not lab.is_local:
        if _tag_in_repository(ecr, repository, tag):
            # Tags are immutable and ours are content hashes: the same tag is the same image.
            steps.append(f"ecr:DescribeImages: {tag} is already in {repository}, no push")
            pushed = True
        else:
            _docker("login", "--username", user, "--password-stdin", registry, stdin=password,
                    timeout=60)
            steps.append(f"docker login {registry}")
            _docker("push", image_uri)
            steps.append(f"docker push {image_uri}")
            pushed = True
    return PublishedImage(
        image_uri=image_uri,
        repository_arn=repo["repositoryArn"],
        registry=registry,
        login_user=user,
        token_expires=auth.get("expiresAt"),
        pushed=pushed,
        steps=steps,
    )
