"""SageMaker local mode plumbing: ports, folders it will mount, model archives, pipelines.

SageMaker local mode (``LocalSession``) runs jobs and endpoints as containers on this
machine's Docker engine. The labs send it the same requests as AWS (they are in the
notebooks); this module only smooths over what is particular to running them here:

* every local endpoint and batch transform is published on host port 8080, one at a time:
  :func:`require_free_serving_port` says so before Docker fails obscurely;
* the SDK refuses to mount folders under ``/root``, ``/etc``, ``~/.aws`` and similar:
  :func:`mountable_dir` gives a folder it accepts;
* local mode extracts ``model.tar.gz`` next to itself and mounts that whole folder as
  ``/opt/ml/model``: :func:`local_model_data` gives the archive a folder of its own;
* in sagemaker 3.27 local pipelines are split over two session classes:
  :func:`pipeline_session` joins them;
* local mode asks a new serving container for ``/ping`` every 5 seconds, so an endpoint or
  batch transform whose container is up in one second still waits five:
  :func:`poll_serving_containers_briskly` makes it ask every quarter second instead.
"""

from __future__ import annotations

import shutil
import socket
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from labkit.errors import LabKitError

SERVING_PORT = 8080
"""Local mode publishes every endpoint and batch transform container on this host port."""


# --------------------------------------------------------------------------------- ports
def serving_port_in_use(port: int = SERVING_PORT, host: str = "127.0.0.1") -> bool:
    """True when something already listens on ``host:port`` (e.g. another local endpoint)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


def require_free_serving_port(port: int = SERVING_PORT) -> None:
    """Raise :class:`LabKitError` when local mode could not publish a container on ``port``."""
    if serving_port_in_use(port):
        raise LabKitError(
            f"Port {port} on this machine is already in use, and SageMaker local mode serves "
            "every endpoint and batch transform there (one at a time).",
            "delete the other local endpoint (or wait for the other lab or test to finish), "
            "then run this cell again. 'docker ps' shows which container holds the port.",
        )


def free_port() -> int:
    """A TCP port nothing on this machine listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_ping(base_url: str, timeout: float = 30.0, interval: float = 0.25) -> float:
    """Poll ``GET <base_url>/ping`` until it answers 200; return the seconds it took.

    For a serving container started by hand (``docker run IMAGE serve``), e.g. in tests.
    """
    start = time.monotonic()
    last = "no answer"
    while time.monotonic() - start < timeout:
        try:
            with urllib.request.urlopen(f"{base_url.rstrip('/')}/ping", timeout=2) as resp:
                if resp.status == 200:
                    return time.monotonic() - start
                last = f"HTTP {resp.status}"
        except urllib.error.HTTPError as exc:
            last = f"HTTP {exc.code}"
        except (urllib.error.URLError, ConnectionError, TimeoutError, OSError) as exc:
            last = str(getattr(exc, "reason", exc))
        time.sleep(interval)
    raise LabKitError(
        f"The container at {base_url} did not answer GET /ping with 200 within {timeout:.0f} s "
        f"(last: {last}).",
        "look at the container's log ('docker logs <id>'): a serving container must load "
        "its model from /opt/ml/model and listen on 0.0.0.0:8080.",
    )


PING_INTERVAL_S = 0.25
"""How often local mode asks a starting serving container for ``/ping`` once labkit steps in."""


def poll_serving_containers_briskly() -> None:
    """Make local mode ask a starting serving container for ``/ping`` every 0.25 s, not 5 s.

    ``sagemaker.core.local.entities._wait_for_serving_container`` (sagemaker 3.27) sleeps
    5 s between attempts; the course's containers answer within about a second, so every
    local endpoint and batch transform waited about 4 s for nothing. The replacement is
    :func:`wait_for_ping`: it keeps the SDK's time limit (``local.health_check_timeout``,
    120 s by default), raises a ``RuntimeError`` as the SDK does (a :class:`LabKitError`
    that says where to look), and asks without urllib3's retries, whose warnings filled the
    lab's output. It changes nothing on AWS, where SageMaker itself checks the container.
    """
    from sagemaker.core.local import entities

    if getattr(entities._wait_for_serving_container, "__module__", "") == __name__:
        return  # already in place

    def _wait_for_serving_container(serving_port: int,
                                    timeout: float = entities.HEALTH_CHECK_TIMEOUT_LIMIT) -> None:
        base_url = f"http://{entities.get_docker_host()}:{serving_port}"
        wait_for_ping(base_url, timeout=timeout, interval=PING_INTERVAL_S)

    entities._wait_for_serving_container = _wait_for_serving_container


# --------------------------------------------------------------------------------- folders
def _sensitive_paths() -> list[str]:
    try:
        from sagemaker.core.common_utils import _SENSITIVE_SYSTEM_PATHS

        return [str(p) for p in _SENSITIVE_SYSTEM_PATHS]
    except ImportError:  # an SDK without the check
        return []


def is_mountable(path: Path | str) -> bool:
    """False when local mode refuses to mount ``path`` (``/root``, ``/etc``, ``~/.aws``…)."""
    resolved = str(Path(path).resolve())
    return not any(resolved != "/" and resolved.startswith(p) for p in _sensitive_paths())


def mountable_dir(lab_workdir: Path | str, purpose: str) -> Path:
    """A fresh, empty folder ``<lab_workdir>/<purpose>`` that local mode will mount.

    When the lab's work folder is one local mode refuses (a home folder of ``/root``), the
    folder is made under the system's temporary folder instead, with the same name.
    """
    base = Path(lab_workdir)
    if not is_mountable(base):
        base = Path(tempfile.gettempdir()) / "mle-course" / base.name
    folder = base / purpose
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    return folder


def local_model_data(model_tar: Path | str, dest_dir: Path | str) -> str:
    """Copy ``model.tar.gz`` into a fresh ``dest_dir`` and return its ``file://`` URL.

    Local mode extracts the archive next to itself and mounts that folder as
    ``/opt/ml/model``; a folder of its own keeps other files out of the model directory.
    """
    src, dest = Path(model_tar), Path(dest_dir)
    if not src.is_file():
        raise LabKitError(f"No model archive at {src}.", "train first.")
    if not is_mountable(dest):
        raise LabKitError(
            f"SageMaker local mode will not mount {dest}.",
            "use labkit.localmode.mountable_dir(lab.workdir, 'model') as the folder.",
        )
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    shutil.copy2(src, dest / "model.tar.gz")
    return (dest / "model.tar.gz").resolve().as_uri()


def latest_job_name(trainer: Any) -> str:
    """The name of the training job a ``ModelTrainer`` last ran on AWS.

    The SDK keeps it in a private attribute; this is the one place that reads it.
    """
    job = getattr(trainer, "_latest_training_job", None)
    if job is None:
        raise LabKitError("This ModelTrainer has not run a training job.", "call train().")
    return str(job.training_job_name)


# --------------------------------------------------------------------------------- pipelines
_PIPELINE_CALLS = ("create_pipeline", "update_pipeline", "describe_pipeline",
                   "delete_pipeline", "start_pipeline_execution")


def pipeline_session(lab: Any) -> Any:
    """The session to build pipeline steps with and to run the pipeline on.

    ``aws``: a ``PipelineSession``. ``local``: a local pipeline session whose jobs run on
    Docker. In sagemaker 3.27 that takes two classes joined:
    ``sagemaker.core.workflow.pipeline_context.LocalPipelineSession`` captures step
    arguments (``processor.run(...)`` returns them instead of starting a job) but keeps no
    pipelines, and ``sagemaker.mlops.local.LocalPipelineSession`` keeps and runs pipelines
    but captures nothing; ``Pipeline.upsert/start`` call the client, which has neither.
    The session serves transform steps on a free port, not 8080.
    """
    bucket = lab.bucket("sagemaker")
    if not lab.is_local:
        from sagemaker.core.workflow.pipeline_context import PipelineSession

        return PipelineSession(boto_session=lab.boto_session, default_bucket=bucket)
    from sagemaker.core.workflow.pipeline_context import LocalPipelineSession as Capturing

    from labkit.docker import require_docker
    from labkit.quiet import root_logging_kept

    with root_logging_kept():  # it imports a module that sets the root logger to INFO
        from sagemaker.mlops.local import LocalPipelineSession as Running

    require_docker()
    poll_serving_containers_briskly()
    session = Capturing(boto_session=lab.boto_session, default_bucket=bucket)
    session._local_pipelines = {}
    for call in _PIPELINE_CALLS:
        setattr(session.sagemaker_client, call, getattr(Running, call).__get__(session))
    config = dict(session.config or {})
    config["local"] = {**config.get("local", {}), "serving_port": free_port()}
    session.config = config
    return session
