"""Deploy, invoke and batch-transform a model the same way on local mode and on AWS.

SageMaker local mode (``LocalSession``) answers ``create_model``, ``create_endpoint_config``,
``create_endpoint`` and ``create_transform_job`` by starting the serving container on this
machine's Docker engine, and its runtime client posts to ``http://localhost:8080``. Its
clients have the same method names as boto3's, with a few differences this module smooths
over so that a notebook reads the same on both backends:

* local ``create_endpoint`` and ``create_transform_job`` block until done; on AWS they return
  at once and we wait with boto3's waiters;
* the local runtime client returns 4xx/5xx answers as ordinary responses, while boto3 raises
  ``ModelError``: :func:`invoke` returns an :class:`Invocation` either way;
* local mode publishes every endpoint and transform on the host's port 8080, so only one can
  run at a time: :func:`require_free_serving_port` says so before Docker fails obscurely;
* local mode extracts ``model.tar.gz`` into the folder that holds it and mounts that whole
  folder as ``/opt/ml/model``: :func:`local_model_data` gives the archive a folder of its own.

Nothing here is specific to one image; any lab that serves a model in local mode can use it.
"""

from __future__ import annotations

import shutil
import socket
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from labkit.errors import LabKitError

SERVING_PORT = 8080
"""Local mode publishes every endpoint and batch transform container on this host port."""

LOCAL_INSTANCE_TYPE = "local"
"""The instance type local mode accepts for endpoints and transform jobs."""


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
            "delete the other local endpoint (or wait for the other lab or test to finish; "
            "tests take the lock with 'flock /tmp/mlecourse-docker.lock ...'), then run this "
            "cell again. 'docker ps' shows which container holds the port.",
        )


def local_serving_port(sagemaker_client: Any) -> int:
    """The host port a local-mode client serves on: ``local.serving_port`` or 8080.

    A ``LocalSession`` whose ``config`` sets ``{"local": {"serving_port": N}}`` publishes its
    endpoints and transform containers on port N instead of 8080.
    """
    session = getattr(sagemaker_client, "sagemaker_session", None)
    config = getattr(session, "config", None) or {}
    port = (config.get("local") or {}).get("serving_port") if isinstance(config, dict) else None
    return int(port) if port else SERVING_PORT


def wait_for_ping(base_url: str, timeout: float = 30.0, interval: float = 0.25) -> float:
    """Poll ``GET <base_url>/ping`` until it answers 200; return the seconds it took.

    Raises :class:`LabKitError` after ``timeout`` seconds. Used to wait for a serving
    container started by hand (``docker run IMAGE serve``), e.g. in contract tests.
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


# --------------------------------------------------------------------------------- folders
def _sensitive_paths() -> list[str]:
    try:
        from sagemaker.core.common_utils import _SENSITIVE_SYSTEM_PATHS

        return [str(p) for p in _SENSITIVE_SYSTEM_PATHS]
    except ImportError:  # an SDK without the check
        return []


def is_mountable(path: Path | str) -> bool:
    """False when local mode refuses to mount ``path`` as a model or transform input.

    The SDK refuses folders under ``/root``, ``/etc``, ``/var/lib``, ``~/.aws``, ``~/.ssh``,
    ``~/.config`` and a few more (so a typo cannot hand a container your credentials). A
    lab's work folder is under ``~/.cache``, so when the home folder is ``/root`` (running
    as root, as in many containers and CI jobs) it is refused.
    """
    resolved = str(Path(path).resolve())
    return not any(resolved != "/" and resolved.startswith(p) for p in _sensitive_paths())


def mountable_dir(lab_workdir: Path | str, purpose: str) -> Path:
    """A fresh, empty folder ``<lab_workdir>/<purpose>`` that local mode will mount.

    When the lab's work folder is one local mode refuses (see :func:`is_mountable`), the
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


# --------------------------------------------------------------------------------- model data
def local_model_data(model_tar: Path | str, dest_dir: Path | str) -> str:
    """Copy ``model.tar.gz`` into a fresh ``dest_dir`` and return its ``file://`` URL.

    Local mode extracts the archive next to itself and mounts that folder as
    ``/opt/ml/model``; a folder of its own keeps other files (``output.tar.gz``, old
    extractions) out of the model directory the container sees.
    """
    src = Path(model_tar)
    if not src.is_file():
        raise LabKitError(
            f"No model archive at {src}.",
            "train first; local mode writes compressed_artifacts/model.tar.gz under the "
            "trainer's local_container_root.",
        )
    dest = Path(dest_dir)
    if not is_mountable(dest):
        raise LabKitError(
            f"SageMaker local mode will not mount {dest} (it refuses folders under /root, "
            "/etc, ~/.aws and similar).",
            "use labkit.localmode.mountable_dir(lab.workdir, 'model') as the folder.",
        )
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    shutil.copy2(src, dest / "model.tar.gz")
    return (dest / "model.tar.gz").resolve().as_uri()


def trained_model_data(trainer: Any, dest_dir: Path | str) -> str:
    """Where the model of ``trainer``'s last job is: an S3 URI on AWS, a file URL locally.

    ``trainer`` is a SageMaker SDK v3 ``ModelTrainer``. In ``Mode.LOCAL_CONTAINER`` the
    archive is under ``<local_container_root>/compressed_artifacts``; it is copied to
    ``dest_dir`` (see :func:`local_model_data`).
    """
    from sagemaker.train.model_trainer import Mode

    if trainer.training_mode == Mode.LOCAL_CONTAINER:
        archive = Path(trainer.local_container_root) / "compressed_artifacts" / "model.tar.gz"
        return local_model_data(archive, dest_dir)
    job = trainer._latest_training_job
    if job is None:
        raise LabKitError("This ModelTrainer has not run a training job yet.", "call train().")
    job.refresh()
    return str(job.model_artifacts.s3_model_artifacts)


def training_failure_reason(trainer: Any) -> str | None:
    """The reason the last training job gave for failing, or None.

    Locally that is the ``/opt/ml/output/failure`` file the container wrote, which local
    mode copies to ``<local_container_root>/artifacts/output/failure``; on AWS SageMaker
    puts the same text in the job's ``FailureReason``.
    """
    from sagemaker.train.model_trainer import Mode

    if trainer.training_mode == Mode.LOCAL_CONTAINER:
        path = Path(trainer.local_container_root) / "artifacts" / "output" / "failure"
        return path.read_text(encoding="utf-8").strip() if path.is_file() else None
    job = trainer._latest_training_job
    if job is None:
        return None
    job.refresh()
    reason = getattr(job, "failure_reason", None)
    return str(reason) if reason and not type(reason).__name__ == "Unassigned" else None


# --------------------------------------------------------------------------------- endpoints
@dataclass
class Deployment:
    """A model, its endpoint configuration and its endpoint (all named ``name``)."""

    sagemaker_client: Any
    name: str
    seconds_to_in_service: float = 0.0
    deleted: bool = field(default=False, repr=False)

    @property
    def endpoint_name(self) -> str:
        """The endpoint's name (the model and endpoint configuration share it)."""
        return self.name

    def delete(self) -> float:
        """Delete endpoint, endpoint configuration and model; return the seconds it took.

        Locally this stops and removes the serving container. Safe to call twice.
        """
        if self.deleted:
            return 0.0
        start = time.perf_counter()
        sm = self.sagemaker_client
        for call, kwargs in (
            (sm.delete_endpoint, {"EndpointName": self.name}),
            (sm.delete_endpoint_config, {"EndpointConfigName": self.name}),
            (sm.delete_model, {"ModelName": self.name}),
        ):
            try:
                call(**kwargs)
            except Exception as exc:  # noqa: BLE001 - already gone is fine
                if "Could not find" not in str(exc) and "ValidationException" not in str(exc):
                    raise
        self.deleted = True
        return time.perf_counter() - start


def create_model(
    sagemaker_client: Any,
    name: str,
    image_uri: str,
    model_data_url: str,
    role_arn: str,
    environment: dict[str, str] | None = None,
    tags: list[dict[str, str]] | None = None,
) -> None:
    """``CreateModel`` for one container (local mode needs ``Environment``, even empty)."""
    kwargs: dict[str, Any] = {
        "ModelName": name,
        "ExecutionRoleArn": role_arn,
        "PrimaryContainer": {
            "Image": image_uri,
            "ModelDataUrl": model_data_url,
            "Environment": dict(environment or {}),
        },
    }
    if tags:
        kwargs["Tags"] = tags
    sagemaker_client.create_model(**kwargs)


def deploy(
    sagemaker_client: Any,
    name: str,
    image_uri: str,
    model_data_url: str,
    role_arn: str,
    instance_type: str = LOCAL_INSTANCE_TYPE,
    instance_count: int = 1,
    environment: dict[str, str] | None = None,
    tags: list[dict[str, str]] | None = None,
) -> Deployment:
    """Create model → endpoint configuration → endpoint, and wait until it is InService.

    ``sagemaker_client`` is ``session.sagemaker_client`` of a ``LocalSession`` (the serving
    container starts on this machine) or a boto3 SageMaker client (a real endpoint).
    """
    is_local = instance_type.startswith("local")
    if is_local:
        require_free_serving_port(local_serving_port(sagemaker_client))
    start = time.perf_counter()
    create_model(sagemaker_client, name, image_uri, model_data_url, role_arn, environment, tags)
    variant = {
        "VariantName": "AllTraffic",
        "ModelName": name,
        "InstanceType": instance_type,
        "InitialInstanceCount": instance_count,
    }
    sagemaker_client.create_endpoint_config(
        EndpointConfigName=name, ProductionVariants=[variant], **({"Tags": tags} if tags else {})
    )
    deployment = Deployment(sagemaker_client, name)
    try:
        sagemaker_client.create_endpoint(
            EndpointName=name, EndpointConfigName=name, **({"Tags": tags} if tags else {})
        )
        if hasattr(sagemaker_client, "get_waiter"):  # AWS: create_endpoint returns at once
            sagemaker_client.get_waiter("endpoint_in_service").wait(
                EndpointName=name, WaiterConfig={"Delay": 30, "MaxAttempts": 60}
            )
    except Exception as exc:
        deployment.delete()
        if is_local and "didn't launch correctly" in str(exc):
            raise LabKitError(
                f"The local endpoint {name} never answered GET /ping on port "
                f"{local_serving_port(sagemaker_client)}.",
                "run the image by hand ('docker run -p 8080:8080 -v MODEL_DIR:/opt/ml/model "
                "IMAGE serve') and read its log; the server must load /opt/ml/model and "
                "listen on 0.0.0.0:8080.",
            ) from exc
        raise
    status = sagemaker_client.describe_endpoint(EndpointName=name)["EndpointStatus"]
    if status != "InService":
        deployment.delete()
        raise LabKitError(
            f"The endpoint {name} ended in status {status}.",
            "read the endpoint's FailureReason (describe_endpoint) and the container's log.",
        )
    deployment.seconds_to_in_service = time.perf_counter() - start
    return deployment


@dataclass
class Invocation:
    """What an endpoint answered: the container's HTTP status, content type and body."""

    status: int
    content_type: str
    body: str

    @property
    def ok(self) -> bool:
        """True for a 2xx answer."""
        return 200 <= self.status < 300


def invoke(
    runtime_client: Any,
    endpoint_name: str,
    body: str | bytes,
    content_type: str = "text/csv",
    accept: str | None = None,
) -> Invocation:
    """Call ``InvokeEndpoint`` and return the container's answer, errors included.

    boto3 raises ``ModelError`` when the container answers 4xx/5xx (the container's status
    is in ``OriginalStatusCode`` and its body in ``OriginalMessage``); the local runtime
    client returns the answer as is. Both become an :class:`Invocation`.
    """
    kwargs: dict[str, Any] = {
        "EndpointName": endpoint_name,
        "Body": body,
        "ContentType": content_type,
    }
    if accept is not None:
        kwargs["Accept"] = accept
    try:
        response = runtime_client.invoke_endpoint(**kwargs)
    except Exception as exc:  # noqa: BLE001 - botocore's ModelError is generated per client
        error = getattr(exc, "response", {}) or {}
        if error.get("Error", {}).get("Code") != "ModelError":
            raise
        return Invocation(
            status=int(error.get("OriginalStatusCode", 0)),
            content_type="text/plain",
            body=str(error.get("OriginalMessage", error.get("Error", {}).get("Message", ""))),
        )
    stream = response["Body"]
    data = stream.read()
    if hasattr(stream, "close"):
        stream.close()
    status = int(response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 200)
    return Invocation(
        status=status,
        content_type=str(response.get("ContentType") or ""),
        body=data.decode("utf-8") if isinstance(data, bytes) else str(data),
    )


# --------------------------------------------------------------------------------- transform
def run_transform(
    sagemaker_client: Any,
    job_name: str,
    model_name: str,
    input_uri: str,
    output_uri: str,
    content_type: str = "text/csv",
    split_type: str = "Line",
    accept: str | None = "text/csv",
    assemble_with: str = "Line",
    instance_type: str = LOCAL_INSTANCE_TYPE,
    instance_count: int = 1,
    batch_strategy: str = "MultiRecord",
    max_payload_mb: int = 6,
) -> dict[str, Any]:
    """Run a batch transform job to completion and return its description.

    Locally ``input_uri``/``output_uri`` may be ``file://`` URLs and the serving container
    runs on port 8080 until the job ends; on AWS they are ``s3://`` URIs and we wait for
    the job. The output for each input file ``X`` is ``<output_uri>/X.out``.
    """
    is_local = instance_type.startswith("local")
    if is_local:
        require_free_serving_port(local_serving_port(sagemaker_client))
    output: dict[str, Any] = {"S3OutputPath": output_uri, "AssembleWith": assemble_with}
    if accept:
        output["Accept"] = accept
    sagemaker_client.create_transform_job(
        TransformJobName=job_name,
        ModelName=model_name,
        BatchStrategy=batch_strategy,
        MaxPayloadInMB=max_payload_mb,
        TransformInput={
            "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": input_uri}},
            "ContentType": content_type,
            "SplitType": split_type,
        },
        TransformOutput=output,
        TransformResources={"InstanceType": instance_type, "InstanceCount": instance_count},
    )
    if hasattr(sagemaker_client, "get_waiter"):
        sagemaker_client.get_waiter("transform_job_completed_or_stopped").wait(
            TransformJobName=job_name, WaiterConfig={"Delay": 30, "MaxAttempts": 120}
        )
    description: dict[str, Any] = sagemaker_client.describe_transform_job(
        TransformJobName=job_name
    )
    if description.get("TransformJobStatus") != "Completed":
        raise LabKitError(
            f"The transform job {job_name} ended in status "
            f"{description.get('TransformJobStatus')}: {description.get('FailureReason', '')}",
            "read the container's log; every record must get a 2xx answer from /invocations.",
        )
    return description


def file_uri_path(uri: str) -> Path:
    """The local path of a ``file://`` URL (raises for other schemes)."""
    parts = urlsplit(uri)
    if parts.scheme != "file":
        raise LabKitError(f"{uri} is not a file:// URL.", "pass a local file URL.")
    return Path(parts.path)


# --------------------------------------------------------------------------------- data in and out
def endpoint_instance_type(is_local: bool, aws_instance_type: str = "ml.m5.large") -> str:
    """``"local"`` for a local-mode endpoint or transform job, else the AWS instance type.

    (Training in local mode is ``local_cpu``; endpoints and transform jobs say ``local``.)
    """
    return LOCAL_INSTANCE_TYPE if is_local else aws_instance_type


def job_input_uri(session: Any, folder: Path | str, key_prefix: str, is_local: bool) -> str:
    """Where a job reads ``folder`` from: its ``file://`` URL locally, else an S3 upload.

    On AWS the folder is uploaded with ``session.upload_data`` to the session's default
    bucket under ``key_prefix``.
    """
    path = Path(folder)
    if is_local:
        if not is_mountable(path):
            raise LabKitError(
                f"SageMaker local mode will not read from {path}.",
                "make the folder with labkit.localmode.mountable_dir(lab.workdir, ...).",
            )
        return path.resolve().as_uri()
    return str(session.upload_data(path=str(path), key_prefix=key_prefix))


def job_output_uri(session: Any, folder: Path | str, key_prefix: str, is_local: bool) -> str:
    """Where a job writes: ``folder`` as a ``file://`` URL locally, else an S3 prefix."""
    if is_local:
        return Path(folder).resolve().as_uri()
    return f"s3://{session.default_bucket()}/{key_prefix}"


def read_uri_bytes(session: Any, uri: str) -> bytes:
    """The bytes of a ``file://`` or ``s3://`` object."""
    parts = urlsplit(uri)
    if parts.scheme == "file":
        return Path(parts.path).read_bytes()
    if parts.scheme == "s3":
        s3 = session.boto_session.client("s3")
        obj = s3.get_object(Bucket=parts.netloc, Key=parts.path.lstrip("/"))
        return bytes(obj["Body"].read())
    raise LabKitError(f"Cannot read {uri}.", "pass a file:// or s3:// URI.")


def read_model_artifact(session: Any, model_data_url: str, member: str) -> str:
    """The text of ``member`` inside the ``model.tar.gz`` at ``model_data_url``."""
    import io
    import tarfile

    data = read_uri_bytes(session, model_data_url)
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        names = [n.removeprefix("./") for n in tar.getnames()]
        if member not in names:
            raise LabKitError(
                f"{member} is not in {model_data_url} (it holds: {', '.join(sorted(names))}).",
                "check what the training script writes to /opt/ml/model.",
            )
        name = tar.getnames()[names.index(member)]
        extracted = tar.extractfile(name)
        assert extracted is not None
        return extracted.read().decode("utf-8")
