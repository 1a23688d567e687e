"""Docker for SageMaker local mode: check the engine, make base images, build, clean up.

Local mode runs each training, processing or transform job, and each endpoint, as a
container on this machine's Docker engine through ``docker compose``. This module checks
that both are there (with a message that says how to fix it when not), builds the course's
images, and removes the containers a lab started.

Where no image registry can be reached (an offline machine, or CI), the Dockerfiles build on
an offline Debian base image made with ``debootstrap`` and ``docker import``; with internet
they build on the public Debian image. Every Dockerfile takes ``ARG BASE_IMAGE``.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from labkit.backend import Backend, current_backend
from labkit.errors import DockerUnavailableError, LabKitError
from labkit.paths import CONTAINERS_DIR

OFFLINE_BASE_IMAGE = "labkit/debian-base:bookworm"
"""Made offline by :func:`make_offline_base_image` (debootstrap + docker import)."""

PUBLIC_BASE_IMAGE = "debian:bookworm-slim"
"""What the Dockerfiles build on for a learner with internet access."""

DEBIAN_MIRROR = os.environ.get("COURSE_DEBIAN_MIRROR", "http://deb.debian.org/debian")


_INSTALL_HINT = (
    "install and start a Docker engine (Docker Desktop on a laptop; on Debian/Ubuntu "
    "'apt-get install docker.io docker-compose' then 'dockerd &'), or run the labs in "
    "SageMaker Studio with COURSE_BACKEND=aws. The setup page of the book has details."
)


@dataclass
class DockerStatus:
    """What this machine offers for local mode."""

    engine_version: str | None = None
    compose_command: list[str] | None = None
    compose_version: str | None = None
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when both the engine and compose work."""
        return not self.problems


def _run(cmd: list[str], timeout: float = 30, **kwargs: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, **kwargs)  # type: ignore[call-overload]


def docker_status() -> DockerStatus:
    """Check the Docker engine and compose without raising."""
    status = DockerStatus()
    if shutil.which("docker") is None:
        status.problems.append("the 'docker' command is not installed")
        return status
    try:
        info = _run(["docker", "version", "--format", "{{.Server.Version}}"], timeout=20)
    except subprocess.TimeoutExpired:
        status.problems.append("the Docker engine did not answer within 20 s")
        return status
    if info.returncode != 0 or not info.stdout.strip():
        status.problems.append(
            "the Docker engine is not running or not reachable "
            f"({(info.stderr or info.stdout).strip().splitlines()[-1:] or ['no output']})"
        )
    else:
        status.engine_version = info.stdout.strip()
    for cmd in (["docker", "compose"], ["docker-compose"]):
        if cmd[0] == "docker-compose" and shutil.which("docker-compose") is None:
            continue
        try:
            out = _run([*cmd, "version", "--short"], timeout=20)
        except subprocess.TimeoutExpired:
            continue
        if out.returncode == 0 and out.stdout.strip():
            status.compose_command = cmd
            status.compose_version = out.stdout.strip()
            break
    if status.compose_command is None:
        status.problems.append("neither 'docker compose' nor 'docker-compose' is installed")
    return status


def require_docker() -> DockerStatus:
    """Return the status, or raise :class:`DockerUnavailableError` saying what to install."""
    status = docker_status()
    if not status.ok:
        raise DockerUnavailableError(
            "SageMaker local mode needs Docker, and " + "; ".join(status.problems) + ".",
            _INSTALL_HINT,
        )
    return status


def image_exists(tag: str) -> bool:
    """True when ``tag`` is present in the local engine (never pulls)."""
    return _run(["docker", "image", "inspect", tag], timeout=20).returncode == 0


def base_image() -> str:
    """The base image the Dockerfiles build on: the offline one when present, else public."""
    override = os.environ.get("COURSE_BASE_IMAGE", "").strip()
    if override:
        return override
    return OFFLINE_BASE_IMAGE if image_exists(OFFLINE_BASE_IMAGE) else PUBLIC_BASE_IMAGE


def make_offline_base_image(tag: str = OFFLINE_BASE_IMAGE, suite: str = "bookworm") -> str:
    """Make a Debian base image without any registry: ``debootstrap`` then ``docker import``.

    Needs root and the ``debootstrap`` package; takes about a minute. Nothing is left
    behind on failure (the root file system is built in a temporary folder).
    """
    require_docker()
    if image_exists(tag):
        return tag
    if shutil.which("debootstrap") is None:
        raise LabKitError(
            "Making the offline base image needs 'debootstrap', which is not installed.",
            "apt-get install debootstrap (as root), or build on the public image by "
            f"leaving {OFFLINE_BASE_IMAGE} absent when you have internet access.",
        )
    with tempfile.TemporaryDirectory(prefix="labkit-rootfs-") as rootfs:
        boot = _run(
            ["debootstrap", "--variant=minbase", suite, rootfs, DEBIAN_MIRROR], timeout=900
        )
        if boot.returncode != 0:
            raise LabKitError(
                "debootstrap failed: " + "\n".join(boot.stderr.strip().splitlines()[-5:]),
                "run as root with access to a Debian mirror (COURSE_DEBIAN_MIRROR).",
            )
        tar = subprocess.Popen(["tar", "-C", rootfs, "-c", "."], stdout=subprocess.PIPE)
        imp = subprocess.run(
            ["docker", "import", "-", tag], stdin=tar.stdout, capture_output=True, text=True
        )
        tar.wait()
        if imp.returncode != 0:
            raise LabKitError(f"docker import failed: {imp.stderr.strip()}", _INSTALL_HINT)
    return tag


@dataclass
class BuiltImage:
    """An image :func:`build_image` made, with how long it took."""

    tag: str
    seconds: float
    base_image: str


def build_image(
    name: str,
    context: Path | str | None = None,
    *,
    tag: str | None = None,
    build_args: dict[str, str] | None = None,
    timeout: float = 1800,
) -> BuiltImage:
    """Build ``containers/<name>`` (or ``context``) with Docker's layer cache.

    The tag defaults to ``mlecourse/<name>:<hash of the build context>`` so a changed
    Dockerfile or script gets a new tag and an unchanged one is rebuilt from cache in
    seconds. ``BASE_IMAGE`` is passed from :func:`base_image`.
    """
    require_docker()
    ctx = Path(context) if context is not None else CONTAINERS_DIR / name
    if not (ctx / "Dockerfile").is_file():
        raise LabKitError(
            f"No Dockerfile in {ctx}.",
            f"pass the folder that holds the image's Dockerfile (known images: "
            f"{', '.join(sorted(p.name for p in CONTAINERS_DIR.iterdir() if p.is_dir()))}).",
        )
    base = base_image()
    image_tag = tag or f"mlecourse/{name}:{context_hash(ctx, base)}"
    args = {"BASE_IMAGE": base, **(build_args or {})}
    if current_backend() is Backend.AWS:
        # SageMaker's instances are x86_64 (an ARM laptop builds ARM images by default), and
        # build environments such as Studio refuse host networking.
        cmd = ["docker", "build", "--platform", "linux/amd64", "-t", image_tag]
    else:
        # Host networking lets apt reach the package mirror from the offline Debian base.
        cmd = ["docker", "build", "--network", "host", "-t", image_tag]
    for key, value in args.items():
        cmd += ["--build-arg", f"{key}={value}"]
    start = time.perf_counter()
    result = _run([*cmd, str(ctx)], timeout=timeout)
    seconds = time.perf_counter() - start
    if result.returncode != 0:
        tail = "\n".join((result.stderr or result.stdout).strip().splitlines()[-15:])
        raise LabKitError(
            f"Building the image {image_tag} from {ctx} failed:\n{tail}",
            "read the build output above; on a machine without internet make the offline "
            "base first with 'python -m labkit base-image'.",
        )
    return BuiltImage(tag=image_tag, seconds=seconds, base_image=base)


def context_hash(ctx: Path, base: str = "") -> str:
    """A short hash of every file in a build context (and the base image's name)."""
    digest = hashlib.sha256(base.encode())
    for path in sorted(p for p in ctx.rglob("*") if p.is_file()):
        digest.update(str(path.relative_to(ctx)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def container_ids() -> set[str]:
    """Ids of all containers, running or exited (empty when Docker is absent)."""
    if shutil.which("docker") is None:
        return set()
    try:
        out = _run(["docker", "ps", "-aq", "--no-trunc"], timeout=20)
    except subprocess.TimeoutExpired:
        return set()
    return set(out.stdout.split()) if out.returncode == 0 else set()


COMPOSE_WORKDIR_LABEL = "com.docker.compose.project.working_dir"


def compose_working_dirs(ids: set[str]) -> dict[str, str]:
    """The compose project folder of each container in ``ids`` ('' when it has none)."""
    if not ids:
        return {}
    fmt = "{{.Id}} {{index .Config.Labels \"" + COMPOSE_WORKDIR_LABEL + "\"}}"
    out = _run(["docker", "inspect", "--format", fmt, *sorted(ids)], timeout=60)
    folders = {}
    for line in out.stdout.splitlines():
        cid, _, folder = line.partition(" ")
        folders[cid] = "" if folder == "<no value>" else folder.strip()
    return folders


def remove_containers_since(before: set[str], scope: str | None = None) -> list[str]:
    """Force-remove the containers that did not exist in ``before`` and that this process
    started; return their ids.

    Local mode starts its containers with docker-compose from a folder it makes under the
    temporary directory, so a container is this process's when its compose project folder
    lies under ``scope`` (default: this process's temporary directory). Containers another
    session started meanwhile (another notebook, a parallel test) are left alone.
    """
    new = container_ids() - before
    root = os.path.realpath(scope if scope is not None else tempfile.gettempdir())
    folders = compose_working_dirs(new)
    mine = sorted(
        cid for cid in new
        if folders.get(cid)
        and os.path.commonpath([root, os.path.realpath(folders[cid])]) == root
    )
    if mine:
        _run(["docker", "rm", "-f", *mine], timeout=120)
    return mine


def network_names() -> set[str]:
    """Names of all Docker networks (empty when Docker is absent)."""
    if shutil.which("docker") is None:
        return set()
    try:
        out = _run(["docker", "network", "ls", "--format", "{{.Name}}"], timeout=20)
    except subprocess.TimeoutExpired:
        return set()
    return set(out.stdout.split()) if out.returncode == 0 else set()


def remove_networks_since(before: set[str]) -> list[str]:
    """Remove every network that did not exist in ``before`` and that no container uses
    any more (local mode's ``sagemaker-local``, made on first use); return their names."""
    removed = []
    for name in sorted(network_names() - before):
        if _run(["docker", "network", "rm", name], timeout=60).returncode == 0:
            removed.append(name)
    return removed
