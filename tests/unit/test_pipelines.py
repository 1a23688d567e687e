"""labkit.pipelines: the local pipeline session, step tables, job lookups, the scheduler role."""

from __future__ import annotations

import json
from types import SimpleNamespace
from typing import Any

import pytest

from labkit.errors import LabKitError
from labkit.pipelines import (
    job_description,
    split_s3_uri,
    steps_table,
    transform_output_uri,
    wait_for_processing_job,
)
from labkit.session import lab_context


class _FakeExecution:
    def __init__(self, steps: list[dict[str, Any]], local: dict[str, Any] | None = None):
        self._steps = steps
        if local is not None:
            self.step_execution = {k: SimpleNamespace(properties=v) for k, v in local.items()}

    def list_steps(self) -> dict[str, Any]:
        return {"PipelineExecutionSteps": self._steps}


def test_steps_table_orders_by_start_and_summarises() -> None:
    execution = _FakeExecution([
        {"StepName": "Score", "StepStatus": "Succeeded", "StartTime": 20.0, "EndTime": 25.5,
         "Metadata": {"TransformJob": {"Arn": "arn:aws:sagemaker:r:1:transform-job/score-1"}}},
        {"StepName": "Gate", "StepStatus": "Succeeded", "StartTime": 10.0, "EndTime": 10.0,
         "Metadata": {"Condition": {"Outcome": "False"}}},
        {"StepName": "Stop", "StepStatus": "Failed", "StartTime": 11.0, "EndTime": 11.2,
         "FailureReason": "too high", "Metadata": {"Fail": {"ErrorMessage": "too high"}}},
    ])
    rows = steps_table(execution)
    assert [r["step"] for r in rows] == ["Gate", "Stop", "Score"]
    assert rows[0]["result"] == "Condition: False"
    assert rows[1]["failure"] == "too high"
    assert rows[2]["result"] == "TransformJob: score-1"
    assert rows[2]["seconds"] == 5.5


def test_job_description_local_and_skipped_step() -> None:
    props = {"TransformOutput": {"S3OutputPath": "s3://b/predictions"}}
    execution = _FakeExecution([], local={"Score": props, "Model": {}})
    assert transform_output_uri(execution, "Score") == "s3://b/predictions"
    with pytest.raises(LabKitError, match="ran no job"):
        job_description(execution, "Model")
    with pytest.raises(LabKitError, match="no step"):
        job_description(execution, "Nope")


def test_job_description_on_aws_describes_the_job() -> None:
    calls: list[dict[str, str]] = []

    class Client:
        def describe_training_job(self, **kwargs: str) -> dict[str, Any]:
            calls.append(kwargs)
            return {"ModelArtifacts": {"S3ModelArtifacts": "s3://b/model.tar.gz"}}

    execution = _FakeExecution([{"StepName": "Train", "StepStatus": "Succeeded", "Metadata": {
        "TrainingJob": {"Arn": "arn:aws:sagemaker:r:1:training-job/train-abc"}}}])
    desc = job_description(execution, "Train", sagemaker_client=Client())
    assert desc["ModelArtifacts"]["S3ModelArtifacts"] == "s3://b/model.tar.gz"
    assert calls == [{"TrainingJobName": "train-abc"}]


def test_split_s3_uri() -> None:
    assert split_s3_uri("s3://bucket/a/b.csv") == ("bucket", "a/b.csv")
    with pytest.raises(LabKitError):
        split_s3_uri("/tmp/a.csv")


def test_wait_for_processing_job() -> None:
    states = iter(["InProgress", "Completed"])

    class Client:
        def describe_processing_job(self, ProcessingJobName: str) -> dict[str, str]:
            return {"ProcessingJobStatus": next(states), "ProcessingJobName": ProcessingJobName}

    assert wait_for_processing_job(Client(), "j", poll=0)["ProcessingJobStatus"] == "Completed"

    class Failing:
        def describe_processing_job(self, ProcessingJobName: str) -> dict[str, str]:
            return {"ProcessingJobStatus": "Failed", "FailureReason": "script exited 1"}

    with pytest.raises(LabKitError, match="script exited 1"):
        wait_for_processing_job(Failing(), "j", poll=0)


def test_scheduler_role_trust_and_permission() -> None:
    from labkit.pipelines import scheduler_role_arn

    with lab_context("14-pipelines-batch-schedules") as lab:
        arn = scheduler_role_arn(lab, "My-Pipeline")
        iam = lab.client("iam")
        name = arn.rsplit("/", 1)[-1]
        role = iam.get_role(RoleName=name)["Role"]
        trust = role["AssumeRolePolicyDocument"]
        trust = json.loads(trust) if isinstance(trust, str) else trust
        principals = trust["Statement"][0]["Principal"]["Service"]
        assert set(principals) == {"scheduler.amazonaws.com", "events.amazonaws.com"}
        policy = iam.get_role_policy(RoleName=name, PolicyName="start-pipeline")["PolicyDocument"]
        policy = json.loads(policy) if isinstance(policy, str) else policy
        assert policy["Statement"][0]["Action"] == "sagemaker:StartPipelineExecution"
        assert policy["Statement"][0]["Resource"].endswith(":pipeline/my-pipeline")
        assert scheduler_role_arn(lab, "My-Pipeline") == arn  # idempotent
        assert lab.cleanup(verbose=False) == []


@pytest.mark.docker
def test_local_pipeline_session_runs_a_pipeline_without_containers() -> None:
    """Create, start and read a pipeline whose only step is a FailStep (no container)."""
    with lab_context("14-pipelines-batch-schedules") as lab:
        # sagemaker.mlops needs a region at import time: import inside the lab
        from sagemaker.core.workflow.parameters import ParameterString
        from sagemaker.mlops.workflow.fail_step import FailStep
        from sagemaker.mlops.workflow.pipeline import Pipeline

        from labkit.pipelines import model_step_args, pipeline_session

        session = pipeline_session(lab)
        assert session.config["local"]["serving_port"] != 8080  # not the shared port
        reason = ParameterString(name="Reason", default_value="stopped on purpose")
        pipeline = Pipeline(name="unit-fail-only", parameters=[reason],
                            steps=[FailStep(name="Stop", error_message=reason)],
                            sagemaker_session=session)
        assert pipeline.upsert(role_arn=lab.execution_role_arn())["PipelineArn"] == "unit-fail-only"
        execution = pipeline.start(parameters={"Reason": "custom"})
        assert execution.describe()["PipelineExecutionStatus"] == "Failed"
        (row,) = steps_table(execution)
        assert row["step"] == "Stop" and row["status"] == "Failed"
        assert row["failure"] == "custom"
        assert pipeline.describe()["PipelineArn"] == "unit-fail-only"
        pipeline.delete()

        args = model_step_args(session, image_uri="img:1", model_data_url="s3://b/m.tar.gz",
                               role_arn="arn:aws:iam::123456789012:role/r")
        request = args.create_model_request
        container = request.get("PrimaryContainer") or request["Containers"][0]
        assert container["Image"] == "img:1" and container["Environment"] == {}
        assert session.context is None
