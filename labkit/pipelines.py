"""SageMaker Pipelines in the labs: one session that builds steps and runs them on Docker.

The same notebook code defines a pipeline, registers it with ``pipeline.upsert(...)`` and
runs it with ``pipeline.start()``. On the ``aws`` backend that is SageMaker Pipelines itself;
on ``local`` it is SageMaker local mode, which runs every job of the pipeline as a container
on this machine.

Why a session class of our own: in sagemaker 3.27.0 local pipelines are split over two
classes. ``sagemaker.core.workflow.pipeline_context.LocalPipelineSession`` is a
``PipelineSession`` (so ``processor.run(...)`` returns step arguments instead of starting a
job) but keeps no pipelines; ``sagemaker.mlops.local.LocalPipelineSession`` keeps and runs
pipelines but is not a ``PipelineSession``; and ``Pipeline.create/start`` call
``session.sagemaker_client.create_pipeline`` / ``start_pipeline_execution``, which the local
client does not have. :class:`LabLocalPipelineSession` joins the two and routes those
calls, so the SDK's own local executor runs the pipeline unchanged.

The module also reads an execution's step table, finds a transform step's output and makes
the role that EventBridge needs to start a pipeline.
"""

from __future__ import annotations

import json
import os
import time
from typing import Any

from labkit.errors import LabKitError
from labkit.roles import service_trust_policy

_PIPELINE_CALLS = (
    "create_pipeline",
    "update_pipeline",
    "describe_pipeline",
    "delete_pipeline",
    "start_pipeline_execution",
)


def _local_pipeline_session_class() -> type:
    from sagemaker.core.workflow.pipeline_context import LocalPipelineSession as _Capturing
    from sagemaker.mlops.local import LocalPipelineSession as _Running

    class LabLocalPipelineSession(_Capturing):  # type: ignore[misc, valid-type]
        """A local pipeline session that both captures step arguments and runs pipelines."""

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self._local_pipelines: dict[str, Any] = {}
            for call in _PIPELINE_CALLS:
                # Pipeline.create/start call these on the client; run them on this session.
                setattr(self.sagemaker_client, call, getattr(_Running, call).__get__(self))

    return LabLocalPipelineSession


def pipeline_session(lab: Any) -> Any:
    """The session to build pipeline steps with and to run the pipeline on.

    ``local``: a local pipeline session (jobs run as containers on Docker, S3 is moto).
    ``aws``: a ``PipelineSession`` on the lab's account and region.
    """
    bucket = lab.bucket("sagemaker")
    if lab.is_local:
        from labkit.docker import require_docker

        require_docker()
        cls = _local_pipeline_session_class()
        session = cls(boto_session=lab.boto_session, default_bucket=bucket)
        # Local mode publishes every serving container (endpoint or batch transform) on
        # port 8080 unless local.serving_port says otherwise. A free port of our own lets
        # the pipeline's transform step run beside another lab's local endpoint.
        config = dict(session.config or {})
        config["local"] = {**config.get("local", {}), "serving_port": free_port()}
        session.config = config
        return session
    from sagemaker.core.workflow.pipeline_context import PipelineSession

    return PipelineSession(boto_session=lab.boto_session, default_bucket=bucket)


def free_port() -> int:
    """A TCP port nothing on this machine listens on right now."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def control_plane_copy(lab: Any, pipeline: Any) -> Any:
    """The same pipeline, bound to the lab's control-plane session (moto locally).

    Schedules (EventBridge) and the pipeline registry live in the control plane. Locally
    the running copy of the pipeline lives in the local session, which EventBridge cannot
    target, so the definition is also registered in moto to show what AWS stores. On the
    ``aws`` backend the pipeline already is in the control plane and is returned as is.
    """
    if not lab.is_local:
        return pipeline
    from sagemaker.mlops.workflow.pipeline import Pipeline

    return Pipeline(
        name=pipeline.name,
        parameters=pipeline.parameters,
        steps=pipeline.steps,
        sagemaker_session=lab.sagemaker_session(),
    )


def image_uri(lab: Any, name: str) -> str:
    """The image for ``containers/<name>``: built locally; on ``aws`` also pushed to ECR.

    SageMaker pulls images from ECR only. On ``aws`` the image is built here and pushed with
    :func:`labkit.ecr.publish_image` to the repository ``mlecourse-<name>``, unless
    ``COURSE_IMAGE_<NAME>`` (upper case, ``-`` as ``_``) already names an image URI to use.
    """
    from labkit.docker import build_image

    if lab.is_local:
        return build_image(name).tag
    var = "COURSE_IMAGE_" + name.upper().replace("-", "_")
    uri = os.environ.get(var, "").strip()
    if uri:
        return uri
    from labkit.ecr import publish_image

    return publish_image(lab, build_image(name).tag, f"mlecourse-{name}").image_uri


def wait(execution: Any, delay: int = 15, max_attempts: int = 120) -> dict[str, Any]:
    """Wait until an execution ends; return its description.

    A local execution has already finished when ``pipeline.start()`` returns (the local
    executor runs the steps one after the other), so this only reads its status there.
    """
    if hasattr(execution, "wait") and not hasattr(execution, "step_execution"):
        try:
            execution.wait(delay=delay, max_attempts=max_attempts)
        except Exception:  # noqa: BLE001 - the waiter raises on Failed; report the status
            pass
    return dict(execution.describe())


def steps_table(execution: Any) -> list[dict[str, Any]]:
    """One row per step that ran: name, status, seconds, what it made or decided, failure.

    Rows come in the order the steps started.
    """
    rows = []
    for step in execution.list_steps()["PipelineExecutionSteps"]:
        start, end = step.get("StartTime"), step.get("EndTime")
        seconds = None
        if start is not None and end is not None:
            seconds = round(_timestamp(end) - _timestamp(start), 1)
        meta = step.get("Metadata") or {}
        made = ""
        for kind, value in meta.items():
            detail = value.get("Arn") or value.get("Outcome") or value.get("ErrorMessage")
            made = f"{kind}: {str(detail).rsplit('/', 1)[-1]}"
        rows.append({
            "step": step["StepName"],
            "status": step["StepStatus"],
            "seconds": seconds,
            "result": made,
            "failure": step.get("FailureReason", ""),
            "_start": _timestamp(start) if start is not None else 0.0,
        })
    rows.sort(key=lambda r: r.pop("_start"))
    return rows


def job_description(execution: Any, step_name: str, sagemaker_client: Any = None) -> dict[str, Any]:
    """The Describe*Job response of the job that step ``step_name`` ran in ``execution``.

    Locally the executor keeps it as the step's properties; on AWS it is looked up from the
    job ARN in the step's metadata. Use it for ``["ModelArtifacts"]["S3ModelArtifacts"]``
    (training) or ``["TransformOutput"]["S3OutputPath"]`` (transform).
    """
    local_steps = getattr(execution, "step_execution", None)
    if local_steps is not None:
        if step_name not in local_steps:
            raise LabKitError(f"The pipeline has no step {step_name!r}.",
                              f"use one of {sorted(local_steps)}.")
        props = local_steps[step_name].properties
        if props:
            return dict(props)
    else:
        describe = {
            "TrainingJob": ("describe_training_job", "TrainingJobName"),
            "ProcessingJob": ("describe_processing_job", "ProcessingJobName"),
            "TransformJob": ("describe_transform_job", "TransformJobName"),
        }
        for step in execution.list_steps()["PipelineExecutionSteps"]:
            if step["StepName"] != step_name:
                continue
            for kind, (call, key) in describe.items():
                if kind in step.get("Metadata", {}):
                    job = step["Metadata"][kind]["Arn"].rsplit("/", 1)[-1]
                    client = sagemaker_client or execution.sagemaker_session.sagemaker_client
                    return dict(getattr(client, call)(**{key: job}))
    raise LabKitError(
        f"The step {step_name!r} ran no job in this execution.",
        "look at the step table: a condition may have skipped it, or a step failed.",
    )


def transform_output_uri(execution: Any, step_name: str, sagemaker_client: Any = None) -> str:
    """Where the transform step ``step_name`` of ``execution`` wrote its predictions."""
    desc = job_description(execution, step_name, sagemaker_client)
    return str(desc["TransformOutput"]["S3OutputPath"])


def model_step_args(
    session: Any,
    *,
    image_uri: Any,
    model_data_url: Any,
    role_arn: str,
    environment: dict[str, Any] | None = None,
) -> Any:
    """Arguments for a ``ModelStep`` that creates a SageMaker Model from an image and artifact.

    SDK v3 documents ``ModelBuilder(...).build()`` under a pipeline session for this. For a
    bring-your-own image that needs nothing but ``CreateModel``, this asks the pipeline
    session for exactly that request (image, model artifact, environment, role), which is
    also what works in local mode (``ModelBuilder`` fails there in sagemaker 3.27.0).
    ``model_data_url`` may be a step property such as
    ``train_step.properties.ModelArtifacts.S3ModelArtifacts``.
    """
    from types import SimpleNamespace

    session.init_model_step_arguments(SimpleNamespace(sagemaker_session=session))
    session.create_model(
        name=None,
        role=role_arn,
        container_defs={
            "Image": image_uri,
            "ModelDataUrl": model_data_url,
            "Environment": dict(environment or {}),
        },
    )
    args = session.context
    session.context = None
    return args


def split_s3_uri(uri: str) -> tuple[str, str]:
    """``s3://bucket/some/key`` → ``("bucket", "some/key")``."""
    if not uri.startswith("s3://"):
        raise LabKitError(f"{uri!r} is not an s3:// URI.", "pass s3://bucket/key.")
    bucket, _, key = uri[5:].partition("/")
    return bucket, key


def s3_keys(s3: Any, uri: str, suffix: str = "") -> list[str]:
    """The s3:// URIs of every object under the prefix ``uri`` that end with ``suffix``."""
    bucket, prefix = split_s3_uri(uri)
    keys = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        keys += [f"s3://{bucket}/{o['Key']}" for o in page.get("Contents", [])
                 if o["Key"].endswith(suffix)]
    return sorted(keys)


def read_s3_bytes(s3: Any, uri: str) -> bytes:
    """The bytes of one S3 object."""
    bucket, key = split_s3_uri(uri)
    return bytes(s3.get_object(Bucket=bucket, Key=key)["Body"].read())


def scheduler_role_arn(lab: Any, pipeline_name: str) -> str:
    """An IAM role that EventBridge (rules and Scheduler) may assume to start the pipeline.

    Trust: ``scheduler.amazonaws.com`` and ``events.amazonaws.com``. Permission:
    ``sagemaker:StartPipelineExecution`` on this one pipeline, nothing else. Deleted at
    cleanup.
    """
    iam = lab.client("iam")
    name = lab.resource_name("pipeline-scheduler")
    trust = service_trust_policy(
        "scheduler.amazonaws.com", "events.amazonaws.com", source_account=lab.account_id
    )
    policy = {
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Action": "sagemaker:StartPipelineExecution",
            "Resource": f"arn:aws:sagemaker:{lab.region}:{lab.account_id}:pipeline/"
                        f"{pipeline_name.lower()}",
        }],
    }
    try:
        return str(iam.get_role(RoleName=name)["Role"]["Arn"])
    except iam.exceptions.NoSuchEntityException:
        pass
    arn = iam.create_role(
        RoleName=name, AssumeRolePolicyDocument=json.dumps(trust), Tags=lab.tags
    )["Role"]["Arn"]
    iam.put_role_policy(
        RoleName=name, PolicyName="start-pipeline", PolicyDocument=json.dumps(policy)
    )

    def _delete() -> None:
        iam.delete_role_policy(RoleName=name, PolicyName="start-pipeline")
        iam.delete_role(RoleName=name)

    lab.on_cleanup(f"delete IAM role {name}", _delete)
    return str(arn)


def _timestamp(value: Any) -> float:
    if hasattr(value, "timestamp"):
        return float(value.timestamp())
    return float(value)


def timed(fn: Any, *args: Any, **kwargs: Any) -> tuple[Any, float]:
    """Call ``fn`` and return ``(result, seconds)`` (for the timings the labs report)."""
    start = time.perf_counter()
    result = fn(*args, **kwargs)
    return result, time.perf_counter() - start


def wait_for_processing_job(
    sagemaker_client: Any, job_name: str, poll: float = 15.0, timeout: float = 3600.0
) -> dict[str, Any]:
    """Poll ``DescribeProcessingJob`` until the job ends; return the description.

    Use with ``processor.run(..., wait=False)``. The SDK's own wait sleeps 10 s before its
    first look, which is most of a local job's time; in local mode ``run`` returns when the
    container has exited, so the first look already sees the end. Raises
    :class:`LabKitError` with the job's failure reason if it did not complete.
    """
    deadline = time.monotonic() + timeout
    while True:
        desc = dict(sagemaker_client.describe_processing_job(ProcessingJobName=job_name))
        status = desc["ProcessingJobStatus"]
        if status in ("Completed", "Failed", "Stopped"):
            break
        if time.monotonic() > deadline:
            raise LabKitError(f"The processing job {job_name} is still {status} after "
                              f"{timeout:.0f} s.", "look at its logs in CloudWatch, or stop it.")
        time.sleep(poll)
    if status != "Completed":
        raise LabKitError(
            f"The processing job {job_name} ended {status}: {desc.get('FailureReason', '')}",
            "read the job's log output above (or in CloudWatch on AWS) for the script's error.",
        )
    return desc
