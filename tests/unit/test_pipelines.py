"""Lab 14's #@save cells (step tables, the scheduler role, the schedule) and the local
pipeline session of labkit.localmode.

Issue 22: on AWS ``execution.list_steps()`` returns a list (local mode: the whole response);
schedule names fit Scheduler's limits in a 14-character Region, and every schedule ends.
"""

from __future__ import annotations

import json
import re
import tempfile
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from labkit import lessons
from labkit.backend import Backend
from labkit.requests import request_problems
from labkit.session import Lab, lab_context

LAB14 = "14-pipelines-batch-schedules"


@pytest.fixture(scope="module")
def lesson() -> Any:
    return lessons.load(LAB14)


STEPS = [
    {"StepName": "Score", "StepStatus": "Succeeded",
     "StartTime": datetime(2026, 12, 3, 10, 0, 20, tzinfo=timezone.utc),
     "EndTime": datetime(2026, 12, 3, 10, 0, 25, 500000, tzinfo=timezone.utc),
     "Metadata": {"TransformJob": {
         "Arn": "arn:aws:sagemaker:ap-southeast-2:123456789012:transform-job/score-1"}}},
    {"StepName": "Gate", "StepStatus": "Succeeded",
     "StartTime": datetime(2026, 12, 3, 10, 0, 10, tzinfo=timezone.utc),
     "EndTime": datetime(2026, 12, 3, 10, 0, 10, tzinfo=timezone.utc),
     "Metadata": {"Condition": {"Outcome": "False"}}},
    {"StepName": "Stop", "StepStatus": "Failed",
     "StartTime": datetime(2026, 12, 3, 10, 0, 11, tzinfo=timezone.utc),
     "EndTime": datetime(2026, 12, 3, 10, 0, 11, 200000, tzinfo=timezone.utc),
     "FailureReason": "too high", "Metadata": {"Fail": {"ErrorMessage": "too high"}}},
]


class AwsExecution:
    """Like SDK v3's _PipelineExecution on AWS: list_steps() returns the list."""

    def list_steps(self) -> list[dict[str, Any]]:
        return list(STEPS)


class LocalExecution:
    """Like the local executor: the whole response, times as floats."""

    def list_steps(self) -> dict[str, Any]:
        steps = [dict(s, StartTime=s["StartTime"].timestamp(),
                      EndTime=s["EndTime"].timestamp(),
                      Metadata={k: {"Arn": v["Arn"].rsplit("/", 1)[-1]} if "Arn" in v else v
                                for k, v in s["Metadata"].items()})
                 for s in STEPS]
        return {"PipelineExecutionSteps": steps}


@pytest.mark.parametrize("execution", [AwsExecution(), LocalExecution()],
                         ids=["aws-list", "local-dict"])
def test_execution_steps_read_both_shapes(lesson: Any, execution: Any) -> None:
    rows = [lesson.step_row(s) for s in lesson.execution_steps(execution)]
    assert [r["step"] for r in rows] == ["Gate", "Stop", "Score"]  # by start time
    assert rows[0]["result"] == "Condition: False"
    assert rows[1]["failure"] == "too high" and rows[1]["seconds"] == 0.2
    assert rows[2]["result"] == "TransformJob: score-1" and rows[2]["seconds"] == 5.5
    assert lesson.job_name(execution, "Score") == "score-1"


def test_indexing_the_aws_list_as_a_dict_fails() -> None:
    """What the old lab did, and why the helper exists."""
    with pytest.raises(TypeError):
        AwsExecution().list_steps()["PipelineExecutionSteps"]  # type: ignore[call-overload]


def aws_lab(region: str = "ap-southeast-2") -> Lab:
    return Lab(name=LAB14, backend=Backend.AWS, region=region, boto_session=None,
               account_id="123456789012", workdir=Path(tempfile.gettempdir()),
               learner="abcdefgh")


def test_scheduler_role_policies(lesson: Any) -> None:
    trust, permission = lesson.scheduler_role_policies(
        "123456789012", "ap-southeast-2", "Mlecourse-14-Weekly")
    (statement,) = trust["Statement"]
    assert statement["Action"] == "sts:AssumeRole"
    assert set(statement["Principal"]["Service"]) == {"scheduler.amazonaws.com",
                                                     "events.amazonaws.com"}
    assert statement["Condition"] == {"StringEquals": {"aws:SourceAccount": "123456789012"}}
    (allowed,) = permission["Statement"]
    assert allowed == {
        "Effect": "Allow", "Action": "sagemaker:StartPipelineExecution",
        "Resource": "arn:aws:sagemaker:ap-southeast-2:123456789012:pipeline/"
                    "mlecourse-14-weekly"}
    assert "sagemaker.amazonaws.com" not in json.dumps(trust)  # not a pipeline role


def test_schedule_request_is_valid_and_ends(lesson: Any) -> None:
    lab = aws_lab()
    name = lab.resource_name("monday")
    assert name == "mlecourse-14-monday-abcdefgh"
    start = datetime(2026, 12, 3, 10, 0, tzinfo=timezone.utc)
    arn = f"arn:aws:sagemaker:ap-southeast-2:123456789012:pipeline/" \
          f"{lab.resource_name('weekly-demand')}"
    request = lesson.schedule_request(name, "cron(0 6 ? * MON *)", arn,
                                      "arn:aws:iam::123456789012:role/x", start)
    assert request_problems("scheduler", "CreateSchedule", request) == []
    assert request["EndDate"] == datetime(2026, 12, 31, 10, 0, tzinfo=timezone.utc)
    assert request["State"] == "ENABLED" and request["FlexibleTimeWindow"] == {"Mode": "OFF"}
    assert re.fullmatch(r"[0-9a-zA-Z-_.]+", name) and len(name) <= 64


def test_role_and_rule_names_fit_in_a_14_character_region() -> None:
    lab = aws_lab("ap-southeast-2")
    assert len(lab.resource_name("scheduler")) <= 64  # IAM role names
    assert len(lab.resource_name("monday-rule")) <= 64  # EventBridge rule names
    assert request_problems("events", "PutRule", {
        "Name": lab.resource_name("monday-rule"),
        "ScheduleExpression": "cron(0 6 ? * MON *)", "State": "DISABLED"}) == []


@pytest.mark.docker
def test_local_pipeline_session_runs_a_pipeline_without_containers() -> None:
    """Create, start and read a pipeline whose only step is a FailStep (no container)."""
    with lab_context("98-unit-test") as lab:
        from sagemaker.core.workflow.parameters import ParameterString
        from sagemaker.mlops.workflow.fail_step import FailStep
        from sagemaker.mlops.workflow.pipeline import Pipeline

        from labkit.localmode import pipeline_session

        session = pipeline_session(lab)
        assert session.config["local"]["serving_port"] != 8080  # not the shared port
        reason = ParameterString(name="Reason", default_value="stopped on purpose")
        pipeline = Pipeline(name="unit-fail-only", parameters=[reason],
                            steps=[FailStep(name="Stop", error_message=reason)],
                            sagemaker_session=session)
        assert pipeline.upsert(role_arn=lab.execution_role_arn())["PipelineArn"] == (
            "unit-fail-only")
        execution = pipeline.start(parameters={"Reason": "custom"})
        assert execution.describe()["PipelineExecutionStatus"] == "Failed"
        lesson = lessons.load(LAB14)
        (row,) = [lesson.step_row(s) for s in lesson.execution_steps(execution)]
        assert row["step"] == "Stop" and row["status"] == "Failed"
        assert row["failure"] == "custom"
        pipeline.delete()
        assert lab.cleanup(verbose=False) == []


def test_schedule_request_weeks(lesson: Any) -> None:
    start = datetime(2026, 12, 3, tzinfo=timezone.utc)
    request = lesson.schedule_request("n", "rate(7 days)", "arn", "role", start, weeks=1)
    assert request["EndDate"] - request["StartDate"] == timedelta(days=7)
