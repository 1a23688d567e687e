"""The :class:`Lab`: one object per notebook that owns backend, clients, names and cleanup.

A notebook starts with ``lab = labkit.start_lab("01-iam-cross-account")`` and ends with
``lab.cleanup()``. Everything in between asks the lab for what it needs — a boto3 client, a
SageMaker session, a bucket, a unique name — and the same code then runs on this machine
(``local``) or on a real account (``aws``).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import socket
import sys
import tempfile
import traceback
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import boto3

from labkit import guard
from labkit.banner import print_banner
from labkit.backend import Backend, current_backend, current_region
from labkit.errors import LabKitError, OffMachineRequestError
from labkit.naming import learner_token
from labkit.roles import service_trust_policy

COURSE_TAG = "mle-on-aws"
"""Value of the ``course`` tag on everything a lab creates (cleanup finds it by this tag)."""

LOCAL_ACCOUNT_ID = "123456789012"
"""The account id moto uses for the default fake credentials."""

LOCAL_MODE_REFUSES = ("/root", "/etc", "/var/lib", "/opt/ml/metadata")
"""Folders SageMaker local mode refuses to mount, apart from dot-folders in the home folder
(``~/.aws``, ``~/.ssh`` …) that never hold ``~/.cache`` (the SDK's ``_SENSITIVE_SYSTEM_PATHS``;
checked against it in the unit tests, without importing the SDK at start-up)."""

SCRATCH_MARK = ".labkit-scratch"
"""File that marks a lab's scratch folder as labkit's (only such a folder is emptied)."""

_LAB_NAME = re.compile(r"^[0-9]{2}[a-z]?-[a-z0-9]+(-[a-z0-9]+)*$")

# Environment the local backend sets (fake credentials, no metadata service, no shared files).
_LOCAL_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_EC2_METADATA_DISABLED": "true",
    "AWS_CONFIG_FILE": os.devnull,
    "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
    "SAGEMAKER_VALIDATE_ROLE": "false",
}
# Variables that could send a request elsewhere or pick real credentials; removed on local.
_LOCAL_UNSET = (
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_SECURITY_TOKEN",
    "AWS_ENDPOINT_URL",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_ROLE_ARN",
)

BILLABLE: dict[tuple[str, str], str] = {
    # (service, operation) -> the request parameter that names the resource, or
    # "kind:<sweep kind>" for resources the service names (found later by their lab tag).
    ("sagemaker", "CreateEndpoint"): "EndpointName",
    ("sagemaker", "CreateNotebookInstance"): "NotebookInstanceName",
    ("sagemaker", "CreateMlflowTrackingServer"): "TrackingServerName",
    ("sagemaker", "CreateMonitoringSchedule"): "MonitoringScheduleName",
    ("sagemaker", "CreateInferenceComponent"): "InferenceComponentName",
    ("sagemaker", "CreateCluster"): "ClusterName",
    ("ec2", "CreateNatGateway"): "kind:ec2:natgateway",
    ("ec2", "AllocateAddress"): "kind:ec2:elastic-ip",
    ("ec2", "CreateVpcEndpoint"): "kind:ec2:vpc-endpoint",
    ("kinesis", "CreateStream"): "StreamName",
    ("firehose", "CreateDeliveryStream"): "DeliveryStreamName",
    ("opensearchserverless", "CreateCollection"): "name",
    ("bedrock-agent", "CreateKnowledgeBase"): "name",
    ("scheduler", "CreateSchedule"): "Name",
    ("cloudformation", "CreateStack"): "StackName",
}
"""Create calls that start something billed by the hour (or that runs and bills on its own,
like a schedule or a stack), refused until the lab has registered the resource's deletion
(:meth:`Lab.on_cleanup` with ``resource=`` or ``kind=``). Keys are botocore's service names
and operation names (a unit test checks both, and the parameter, against the models)."""

SCRATCH_LAB_PREFIX = "98-"
"""Unit tests' scratch labs (``98-unit-test``) play a lab that died and left resources
behind, so the billable guard is off for them; a notebook's lab is named after its file
(a convention test), so no lab can take this name."""

_active: Lab | None = None


@dataclass
class _Cleanup:
    description: str
    action: Callable[[], object]
    resources: tuple[str, ...] = ()
    kinds: tuple[str, ...] = ()


@dataclass
class Lab:
    """One running lab. Create it with :func:`start_lab`, not directly."""

    name: str
    backend: Backend
    region: str
    boto_session: boto3.Session
    account_id: str
    workdir: Path
    learner: str = "local"
    _cleanups: list[_Cleanup] = field(default_factory=list, repr=False)
    _mock: Any = field(default=None, repr=False)
    _saved_env: dict[str, str | None] = field(default_factory=dict, repr=False)
    _containers_before: set[str] | None = field(default=None, repr=False)
    _networks_before: set[str] | None = field(default=None, repr=False)
    _moto_server: Any = field(default=None, repr=False)
    _snapshot: Any = field(default=None, repr=False)
    _made: set[str] = field(default_factory=set, repr=False)
    closed: bool = False

    # ------------------------------------------------------------------ naming and tags
    @property
    def is_local(self) -> bool:
        """True on the ``local`` backend."""
        return self.backend is Backend.LOCAL

    @property
    def tags(self) -> list[dict[str, str]]:
        """Tags for everything the lab creates, in the ``[{"Key":…, "Value":…}]`` form."""
        return [{"Key": "course", "Value": COURSE_TAG}, {"Key": "lab", "Value": self.name},
                {"Key": "learner", "Value": self.learner}]

    @property
    def tag_dict(self) -> dict[str, str]:
        """The same tags as a plain mapping (for APIs that take ``{"key": "value"}``)."""
        return {t["Key"]: t["Value"] for t in self.tags}

    def resource_name(self, purpose: str, max_length: int = 63) -> str:
        """A name that is unique to this lab (and, on AWS, to the learner).

        ``purpose`` is a short word such as ``"data"`` or ``"model"``. On ``aws`` the
        learner's token ends the name (``mlecourse-07-shop-a1b2c3``), so learners sharing an
        account never meet each other's resources; the account and region need not be in it
        (every service but S3 keeps names per account and region: see :meth:`bucket_name`).
        On ``local`` the name has no token: moto's state belongs to the lab's own process.
        """
        if not re.fullmatch(r"[a-z0-9][a-z0-9-]*", purpose):
            raise LabKitError(
                f"resource_name({purpose!r}): a purpose must be lower-case letters, digits "
                "and hyphens.",
                "pass a short word such as 'data', 'model' or 'events'.",
            )
        parts = ["mlecourse", self.name.split("-", 1)[0], purpose]
        if not self.is_local:
            parts.append(self.learner)
        return self._checked("-".join(parts), max_length)

    def bucket_name(self, purpose: str = "data") -> str:
        """The name of the lab's bucket for ``purpose`` (what :meth:`bucket` creates).

        S3 bucket names are global across all accounts, so on ``aws`` the account id and
        region follow the learner's token.
        """
        name = self.resource_name(purpose)
        if not self.is_local:
            name = f"{name}-{self.account_id}-{self.region}"
        return self._checked(name, 63)

    @staticmethod
    def _checked(name: str, max_length: int) -> str:
        if len(name) > max_length:
            raise LabKitError(
                f"The name {name!r} is longer than {max_length} characters.",
                "use a shorter purpose word.",
            )
        return name

    # ------------------------------------------------------------------ clients and sessions
    def client(self, service: str, **kwargs: Any) -> Any:
        """A boto3 client for ``service`` on this lab's backend and region."""
        self._check_open()
        return self.boto_session.client(service, region_name=self.region, **kwargs)

    def bucket(self, purpose: str = "data") -> str:
        """Create (once) and return a tagged S3 bucket for this lab.

        It never uses a bucket it did not create: one that exists already is adopted only
        when its tags say it is this course's, this learner's and this lab's (a re-run after
        an interrupted one); otherwise it refuses. The deletion is registered before the
        bucket is created, and a bucket that cannot be tagged is deleted again at once.
        """
        name = self.bucket_name(purpose)
        if name in self._made:
            return name
        s3 = self.client("s3")
        from botocore.exceptions import ClientError

        try:
            s3.head_bucket(Bucket=name)
            exists = True
        except ClientError as exc:
            code = str(exc.response.get("Error", {}).get("Code", ""))
            if code not in ("404", "NoSuchBucket", "NotFound"):
                raise self._foreign_bucket(name, "it exists and this caller may not read "
                                           f"it ({code})") from exc
            exists = False
        if exists:
            tags = self._bucket_tags(s3, name)
            if not self.owns(tags):
                raise self._foreign_bucket(name, f"it exists with tags {tags or 'none'}")
            self.on_cleanup(f"delete bucket {name}", lambda: empty_and_delete_bucket(s3, name),
                            resource=name)
            self._made.add(name)
            return name
        entry = self.on_cleanup(f"delete bucket {name}",
                                lambda: empty_and_delete_bucket(s3, name), resource=name)
        kwargs: dict[str, Any] = {"Bucket": name}
        if self.region != "us-east-1":
            kwargs["CreateBucketConfiguration"] = {"LocationConstraint": self.region}
        try:
            s3.create_bucket(**kwargs)
        except ClientError as exc:
            self._forget(entry)
            code = str(exc.response.get("Error", {}).get("Code", ""))
            if code in ("BucketAlreadyExists", "BucketAlreadyOwnedByYou"):
                raise self._foreign_bucket(name, f"CreateBucket says {code}") from exc
            raise
        try:
            s3.put_bucket_tagging(Bucket=name, Tagging={"TagSet": self.tags})
        except ClientError as exc:
            self._forget(entry)
            s3.delete_bucket(Bucket=name)
            raise LabKitError(
                f"The bucket {name} was created but could not be tagged ({exc}); it has "
                "been deleted again.",
                "allow s3:PutBucketTagging (and s3:DeleteBucket) on arn:aws:s3:::mlecourse-* "
                "for your identity: attach the course policy policies/course-learner.json "
                "(Studio's AmazonSageMakerFullAccess lacks both).",
            ) from exc
        self._made.add(name)
        return name

    def owns(self, tags: dict[str, str]) -> bool:
        """True when ``tags`` say course, this learner and this lab: only then may the kit
        use a resource that exists already (a re-run's), never one it did not create."""
        return (tags.get("course") == COURSE_TAG and tags.get("learner") == self.learner
                and tags.get("lab") == self.name)

    @staticmethod
    def _bucket_tags(s3: Any, name: str) -> dict[str, str]:
        from botocore.exceptions import ClientError

        try:
            tag_set = s3.get_bucket_tagging(Bucket=name)["TagSet"]
        except ClientError:
            return {}
        return {t["Key"]: t["Value"] for t in tag_set}

    def _foreign_bucket(self, name: str, why: str) -> LabKitError:
        return LabKitError(
            f"The bucket {name} is not this lab's to use: {why}. The course never adopts a "
            f"bucket it did not create (tags course={COURSE_TAG}, learner={self.learner}, "
            f"lab={self.name}).",
            "if it is yours and holds nothing you need, delete it (python -m labkit sweep "
            "lists the course's); if someone else uses it, set COURSE_LEARNER to a token of "
            "your own (2-8 of a-z and 0-9) so your names differ.",
        )

    def sagemaker_session(self) -> Any:
        """A SageMaker SDK v3 session for control-plane calls (moto locally, AWS otherwise)."""
        self._check_open()
        from sagemaker.core.helper.session_helper import Session

        return Session(boto_session=self.boto_session, default_bucket=self.bucket("sagemaker"))

    def local_session(self) -> Any:
        """A session whose jobs really run: SageMaker local mode on Docker, or AWS itself.

        On ``local`` this is a ``LocalSession``: training, processing, transform and
        endpoints run as containers on this machine's Docker engine, and S3 is moto. On
        ``aws`` it is the ordinary session, so the same notebook code runs managed jobs.
        """
        self._check_open()
        if not self.is_local:
            return self.sagemaker_session()
        from labkit.docker import require_docker
        from labkit.localmode import poll_serving_containers_briskly
        from sagemaker.core.local import LocalSession

        require_docker()
        poll_serving_containers_briskly()
        return LocalSession(boto_session=self.boto_session, default_bucket=self.bucket("sagemaker"))

    def instance_type(self, aws_instance_type: str = "ml.m5.large") -> str:
        """The instance type to ask for: ``local_cpu`` locally, the given type on AWS."""
        return "local_cpu" if self.is_local else aws_instance_type

    def execution_role_arn(self) -> str:
        """The IAM role SageMaker assumes to run jobs for this lab.

        Locally a role is created in moto. On AWS the role comes from
        ``COURSE_SAGEMAKER_ROLE_ARN`` or, in SageMaker Studio, from the Studio execution role.
        """
        self._check_open()
        if self.is_local:
            iam = self.client("iam")
            name = self.resource_name("execution")
            trust = service_trust_policy("sagemaker.amazonaws.com")
            try:
                role = iam.get_role(RoleName=name)["Role"]
            except iam.exceptions.NoSuchEntityException:
                self.on_cleanup(f"delete role {name}", lambda: _delete_role(iam, name),
                                resource=name)
                role = iam.create_role(
                    RoleName=name, AssumeRolePolicyDocument=json.dumps(trust), Tags=self.tags
                )["Role"]
                self._made.add(f"role/{name}")
                return str(role["Arn"])
            if f"role/{name}" not in self._made:  # never adopt a role this lab did not make
                tags = {t["Key"]: t["Value"] for t in iam.list_role_tags(
                    RoleName=name).get("Tags", [])}
                if not self.owns(tags):
                    raise LabKitError(
                        f"The role {name} exists and is not this lab's (tags {tags}).",
                        "delete it, or run the lab in a fresh kernel.",
                    )
                self.on_cleanup(f"delete role {name}", lambda: _delete_role(iam, name),
                                resource=name)
                self._made.add(f"role/{name}")
            return str(role["Arn"])
        arn = os.environ.get("COURSE_SAGEMAKER_ROLE_ARN", "").strip()
        if arn:
            return arn
        from labkit import naming

        if not naming.STUDIO_METADATA.exists():
            # Outside Studio the SDK would return the caller's own role (an SSO role, say),
            # which SageMaker cannot assume: jobs would fail minutes later. Say it now.
            raise LabKitError(
                "No SageMaker execution role: COURSE_SAGEMAKER_ROLE_ARN is not set and this "
                "is not SageMaker Studio.",
                "create a role SageMaker can assume (trust sagemaker.amazonaws.com), named "
                "mlecourse-… so the course policy may pass it, and set "
                "COURSE_SAGEMAKER_ROLE_ARN to its ARN.",
            )
        try:
            from sagemaker.core.helper.session_helper import get_execution_role

            return str(get_execution_role(self.sagemaker_session()))
        except Exception as exc:  # noqa: BLE001 - the SDK raises several types here
            raise LabKitError(
                "Could not find a SageMaker execution role for the 'aws' backend.",
                "run in SageMaker Studio, or set COURSE_SAGEMAKER_ROLE_ARN to the ARN of a "
                "role that SageMaker can assume.",
            ) from exc

    def moto_server_url(self) -> str:
        """Start (once) a moto server on 127.0.0.1 and return its URL.

        For the rare case where another process or a container must reach the fake AWS
        APIs; it shares state with the in-process mock. Local backend only.
        """
        self._check_open()
        if not self.is_local:
            raise LabKitError(
                "moto_server_url() is for the 'local' backend only.",
                "on the 'aws' backend use the real service endpoints.",
            )
        if self._moto_server is None:
            from moto.server import ThreadedMotoServer

            with socket.socket() as sock:
                sock.bind(("127.0.0.1", 0))
                port = sock.getsockname()[1]
            server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
            server.start()
            self._moto_server = (server, f"http://127.0.0.1:{port}")
            self.on_cleanup("stop moto server", server.stop)
        return str(self._moto_server[1])

    # ------------------------------------------------------------------ cleanup
    def on_cleanup(self, description: str, action: Callable[[], object], *,
                   resource: str | Iterable[str] | None = None,
                   kind: str | Iterable[str] | None = None) -> _Cleanup:
        """Register ``action`` to run at :meth:`cleanup` (last registered runs first).

        ``resource`` names what ``action`` deletes; ``kind`` (a sweep kind such as
        ``"ec2:natgateway"``) says it deletes every resource of that kind the lab tagged.
        A billable create (see :data:`BILLABLE`) is refused until one of them covers it.
        """
        entry = _Cleanup(description, action, _names(resource), _names(kind))
        self._cleanups.append(entry)
        return entry

    def clean_up_by_tag(self, *kinds: str) -> None:
        """Register the deletion of every resource of ``kinds`` carrying this lab's tags.

        For resources the service names (a NAT gateway's id, an Elastic IP's allocation):
        registered before the create, it finds them afterwards by their ``lab`` and
        ``learner`` tags, so even one made by a call that was interrupted is deleted.
        """
        from labkit.sweep import KINDS, delete_course_resources, find_everything

        unknown = sorted(set(kinds) - {k.name for k in KINDS})
        if unknown:
            raise LabKitError(f"clean_up_by_tag: unknown kinds {unknown}.",
                              "pass kinds from labkit.sweep.KINDS, e.g. 'ec2:natgateway'.")

        def delete() -> None:
            found, listed = find_everything(self, only_lab=self.name, kinds=kinds)
            # the kinds' own listings count; the tagging API is optional (EC2 lists tags)
            problems = [p for p in listed if p.startswith(tuple(
                f"could not list {k}:" for k in kinds))]
            mine = [r for r in found if (r.lab or "").split(" ")[0] == self.name]
            failed = [f"{r.kind} {r.name}: {outcome}" for r, outcome in
                      delete_course_resources(self, mine, dry_run=False)
                      if outcome.startswith("failed")]
            if failed or problems:
                raise RuntimeError("; ".join(failed + problems))

        self.on_cleanup(f"delete this lab's tagged {', '.join(kinds)}", delete, kind=kinds)

    def _forget(self, entry: _Cleanup) -> None:
        with contextlib.suppress(ValueError):
            self._cleanups.remove(entry)

    def _covered(self, name: str | None, kind: str | None) -> bool:
        return any((name is not None and name in c.resources)
                   or (kind is not None and kind in c.kinds) for c in self._cleanups)

    def _refuse_unregistered(self, params: dict[str, Any], model: Any,
                             service: str) -> None:
        """The ``before-parameter-build`` hook of every billable create (see BILLABLE)."""
        key = BILLABLE.get((service, model.name))
        if key is None or self.closed:
            return
        operation = f"{service} {model.name}"
        if key.startswith("kind:"):
            kind = key[len("kind:"):]
            if not self._covered(None, kind):
                raise LabKitError(
                    f"{operation} refused: no deletion of {kind} resources is registered.",
                    f"call lab.clean_up_by_tag({kind!r}) (or lab.on_cleanup(..., "
                    f"kind={kind!r})) before the create, so the resource is deleted even if "
                    "a later cell fails.",
                )
            tagged = {(t.get("Key"), t.get("Value")) for spec in params.get(
                "TagSpecifications", []) for t in spec.get("Tags", [])}
            if ("lab", self.name) not in tagged:
                raise LabKitError(
                    f"{operation} refused: the request does not tag the resource with "
                    f"lab={self.name}, so its registered deletion could not find it.",
                    "add TagSpecifications with lab.tags to the request.",
                )
            return
        name = params.get(key)
        if not self._covered(str(name), None):
            raise LabKitError(
                f"{operation} refused: the deletion of {name!r} is not registered.",
                f"call lab.on_cleanup('delete {name}', <action>, resource={name!r}) before "
                "the create, so it is deleted even if a later cell fails.",
            )

    def cleanup(self, verbose: bool = True) -> list[str]:
        """Undo what the lab did: delete resources, stop containers, restore the environment.

        Runs every registered action even when one fails, prints what it did, and returns
        the list of problems (empty when all went well). Safe to call twice.

        On ``local`` it then proves the lab left nothing: every object moto holds in any
        service that was not there when the lab started is a problem ("left behind: …"),
        whether or not the lab registered its deletion (see :mod:`labkit.inventory`).
        """
        problems: list[str] = []
        while self._cleanups:
            item = self._cleanups.pop()
            try:
                item.action()
                if verbose:
                    print(f"cleaned: {item.description}")
            except Exception as exc:  # noqa: BLE001 - keep cleaning, report at the end
                problems.append(f"{item.description}: {exc}")
        if self._containers_before is not None:
            from labkit.docker import remove_containers_since

            removed = remove_containers_since(self._containers_before)
            if verbose and removed:
                print(f"cleaned: removed {len(removed)} container(s) the lab started")
        if self._networks_before is not None:
            from labkit.docker import remove_networks_since

            networks = remove_networks_since(self._networks_before)
            if verbose and networks:
                print(f"cleaned: removed Docker network(s) {', '.join(networks)}")
        if self._snapshot is not None and not self.closed:
            from labkit.inventory import created_kinds, leftovers

            problems += leftovers(self._snapshot)
            log = os.environ.get("COURSE_KINDS_LOG", "").strip()
            if log:  # the derived-kinds test reads it (tests/unit/test_inventory.py)
                with open(log, "a", encoding="utf-8") as out:
                    for kind in sorted(created_kinds(self._snapshot)):
                        out.write(f"{self.name}\t{kind}\n")
        self._close()
        for problem in problems:
            print(f"cleanup problem: {problem}", file=sys.stderr)
        return problems

    # ------------------------------------------------------------------ internals
    def _check_open(self) -> None:
        if self.closed:
            raise LabKitError(
                f"The lab {self.name!r} has been cleaned up.",
                "run the notebook from the top (labkit.start_lab starts a fresh lab).",
            )

    def _close(self) -> None:
        global _active
        if self.closed:
            return
        if self._mock is not None:
            with contextlib.suppress(Exception):
                self._mock.stop()
            self._mock = None
        for key, value in self._saved_env.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        self._saved_env.clear()
        guard.uninstall()
        self.closed = True
        if _active is self:
            _active = None


def start_lab(name: str, *, quiet: bool = False, docker: bool = False) -> Lab:
    """Start a lab on the backend chosen by ``COURSE_BACKEND`` and print where it runs.

    ``name`` is the notebook's number and slug, e.g. ``"01-iam-cross-account"``. Set
    ``docker=True`` in labs that start containers, so cleanup removes every container the
    lab started. Calling it again (re-running the notebook) cleans up the previous lab first.
    """
    global _active
    if not _LAB_NAME.fullmatch(name):
        raise LabKitError(
            f"start_lab({name!r}): a lab name is its two-digit number and a slug.",
            "use the notebook's file name without .ipynb, e.g. '01-iam-cross-account'.",
        )
    if _active is not None and not _active.closed:
        _active.cleanup(verbose=False)

    backend = current_backend()
    region = current_region()
    workdir = _workdir_root() / name
    # A fresh scratch folder per run, so a re-run never sees the last run's files; only a
    # folder labkit made (it carries the mark) is ever emptied.
    if workdir.is_dir() and any(workdir.iterdir()) and not (workdir / SCRATCH_MARK).exists():
        raise LabKitError(
            f"The lab's scratch folder {workdir} holds files labkit did not put there.",
            "move them elsewhere (labkit empties this folder each time the lab starts), or "
            "set COURSE_WORKDIR to another folder.",
        )
    shutil.rmtree(workdir, ignore_errors=True)
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / SCRATCH_MARK).write_text("labkit empties this folder when the lab starts\n")

    saved: dict[str, str | None] = {}
    mock = None
    state_at_start = None
    if backend is Backend.LOCAL:
        from moto import mock_aws

        for key in (*_LOCAL_ENV, *_LOCAL_UNSET, "AWS_DEFAULT_REGION", "AWS_REGION"):
            saved[key] = os.environ.get(key)
        for key in _LOCAL_UNSET:
            os.environ.pop(key, None)
        os.environ.update(_LOCAL_ENV)
        os.environ["AWS_DEFAULT_REGION"] = region
        os.environ["AWS_REGION"] = region
        guard.install()
        mock = mock_aws(config={"stepfunctions": {"execute_state_machine": True}})
        mock.start()
        from labkit.inventory import snapshot

        state_at_start = snapshot()
        boto_session = boto3.Session(region_name=region)
        _register_moto_shims(boto_session)
        # This session belongs to the local backend for good: even after cleanup (mock and
        # global guard gone) a client made from it must not reach a real endpoint.
        boto_session._session.register("before-send", _refuse_off_machine)
        account_id = LOCAL_ACCOUNT_ID
        learner = learner_token(local=True)
    else:
        guard.uninstall()
        boto_session = boto3.Session(region_name=region)
        try:
            caller = boto_session.client("sts").get_caller_identity()
            account_id = caller["Account"]
        except Exception as exc:  # noqa: BLE001 - botocore raises many kinds here
            raise LabKitError(
                f"COURSE_BACKEND=aws but no working AWS credentials were found ({exc}).",
                "configure credentials (aws configure, SSO login or a Studio role), or "
                "unset COURSE_BACKEND to run on this machine.",
            ) from exc
        learner = learner_token(local=False, caller_arn=str(caller.get("Arn", "")))

    lab = Lab(
        name=name,
        backend=backend,
        region=region,
        boto_session=boto_session,
        account_id=account_id,
        workdir=workdir,
        learner=learner,
        _mock=mock,
        _saved_env=saved,
    )
    lab._snapshot = state_at_start
    _install_billable_guard(lab)
    if docker:
        from labkit.docker import container_ids, network_names

        lab._containers_before = container_ids()
        lab._networks_before = network_names()
    _active = lab
    if not quiet:
        print_banner(lab.name, lab.backend.value, lab.region, lab.account_id, lab.learner)
    return lab


def _refuse_off_machine(request: Any, **_: Any) -> None:
    """A local lab's clients only ever talk to this machine (moto in process, or a moto
    server on 127.0.0.1), before and after the lab's cleanup. While a local lab is open,
    moto answers in process (its handler comes later) and the global guard is in place."""
    if not guard.installed() and not guard.is_local_url(request.url):
        raise OffMachineRequestError(
            f"Blocked a request to {urlsplit(request.url).hostname} from a client of a "
            "'local' lab (a client kept after lab.cleanup(), or a missing mock).",
            "run the notebook from the top: labkit.start_lab(...) starts a fresh lab, and "
            "make clients with lab.client(...) after it.",
        )


def _names(value: str | Iterable[str] | None) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    return tuple(value)


def _install_billable_guard(lab: Lab) -> None:
    """Hook every billable create on the lab's botocore session (all its clients, the SDK's
    included), so it is refused while its deletion is not registered."""
    events = getattr(lab.boto_session, "_session", None)
    if events is None or lab.name.startswith(SCRATCH_LAB_PREFIX):
        return
    for service, operation in BILLABLE:
        event = f"before-parameter-build.{service}.{operation}"

        def hook(params: dict[str, Any], model: Any, service: str = service,
                 **_: Any) -> None:
            lab._refuse_unregistered(params, model, service)

        events.register(event, hook, unique_id=f"labkit-billable-{service}-{operation}")
        # boto3.client(...) without the lab's session: the open lab's registrations apply
        boto3._get_default_session()._session.register(
            event, _active_lab_hook, unique_id=f"labkit-billable-active-{service}-{operation}")


def _active_lab_hook(params: dict[str, Any], model: Any, event_name: str = "",
                     **_: Any) -> None:
    lab = _active
    if lab is None or lab.closed or lab.name.startswith(SCRATCH_LAB_PREFIX):
        return
    service = event_name.split(".")[1] if event_name.count(".") >= 2 else ""
    lab._refuse_unregistered(params, model, service)


def _workdir_root() -> Path:
    """``COURSE_WORKDIR``, else ``~/.cache/mle-course`` — or the temporary folder when the
    home folder is one SageMaker local mode refuses to mount (``/root``, as in CI)."""
    override = os.environ.get("COURSE_WORKDIR", "").strip()
    if override:
        return Path(override)
    default = Path.home() / ".cache" / "mle-course"
    refused = str(default.resolve()).startswith(LOCAL_MODE_REFUSES)
    return Path(tempfile.gettempdir()) / "mle-course" if refused else default


def active_lab() -> Lab | None:
    """The lab started last in this process, if it is still open."""
    return _active


def empty_and_delete_bucket(s3: Any, bucket: str) -> None:
    """Delete every object (and version) in ``bucket``, then the bucket."""
    paginator = s3.get_paginator("list_object_versions")
    for page in paginator.paginate(Bucket=bucket):
        keys = [
            {"Key": v["Key"], "VersionId": v["VersionId"]}
            for v in page.get("Versions", []) + page.get("DeleteMarkers", [])
        ]
        if keys:
            s3.delete_objects(Bucket=bucket, Delete={"Objects": keys})
    s3.delete_bucket(Bucket=bucket)


def _delete_role(iam: Any, name: str) -> None:
    """Detach and delete a role's policies, then the role (nothing if it is gone)."""
    try:
        iam.get_role(RoleName=name)
    except iam.exceptions.NoSuchEntityException:
        return
    for policy in iam.list_attached_role_policies(RoleName=name)["AttachedPolicies"]:
        iam.detach_role_policy(RoleName=name, PolicyArn=policy["PolicyArn"])
    for policy in iam.list_role_policies(RoleName=name)["PolicyNames"]:
        iam.delete_role_policy(RoleName=name, PolicyName=policy)
    iam.delete_role(RoleName=name)


def _strip_empty_dicts(parsed: Any, **_: Any) -> None:
    """moto returns ``VpcConfig: {}`` and similar; sagemaker-core's shapes reject them."""
    if isinstance(parsed, dict):
        for key in [k for k, v in parsed.items() if isinstance(v, dict) and not v]:
            if key != "ResponseMetadata":
                del parsed[key]
        for value in parsed.values():
            _strip_empty_dicts(value)
    elif isinstance(parsed, list):
        for value in parsed:
            _strip_empty_dicts(value)


def _after_sagemaker_call(http_response: Any, parsed: Any, **kwargs: Any) -> None:
    _strip_empty_dicts(parsed)


def _moto_model_package_delete(params: Any, model: Any, **_: Any) -> Any:
    """DeleteModelPackage(Group), which moto 5.2.5 lacks, done on moto's own state.

    Without it a lab could not clean up its model registry on ``local`` (and the leak
    check in :meth:`Lab.cleanup` would rightly report the group as left behind).
    """
    from botocore.awsrequest import AWSResponse
    from moto.sagemaker.models import sagemaker_backends

    body = json.loads(params.get("body") or b"{}")
    region = str(params.get("context", {}).get("client_region") or current_region())
    backend = sagemaker_backends[LOCAL_ACCOUNT_ID][region]
    status, parsed = 200, dict[str, Any]()
    if model.name == "DeleteModelPackage":
        name = body["ModelPackageName"]
        for key, package in list(backend.model_packages.items()):
            if name in (key, package.model_package_name) or key.endswith("/" + name):
                del backend.model_packages[key]
    else:
        group = body["ModelPackageGroupName"]
        if any(p.model_package_group_name == group for p in backend.model_packages.values()):
            status, parsed = 400, {"Error": {"Code": "ConflictException", "Message":
                                             f"Model package group {group} is not empty."}}
        else:
            backend.model_package_groups.pop(group, None)
    parsed["ResponseMetadata"] = {"HTTPStatusCode": status}
    return AWSResponse("https://sagemaker.local", status, {}, None), parsed


def _register_moto_shims(boto_session: boto3.Session) -> None:
    boto_session._session.register("after-call.sagemaker", _after_sagemaker_call)
    for operation in ("DeleteModelPackage", "DeleteModelPackageGroup"):
        boto_session._session.register(f"before-call.sagemaker.{operation}",
                                       _moto_model_package_delete)


@contextlib.contextmanager
def lab_context(name: str, **kwargs: Any) -> Iterator[Lab]:
    """``with lab_context("00-x") as lab:`` — a lab that always cleans up (for tests)."""
    lab = start_lab(name, quiet=True, **kwargs)
    try:
        yield lab
    finally:
        if lab.cleanup(verbose=False):
            traceback.print_exc()
