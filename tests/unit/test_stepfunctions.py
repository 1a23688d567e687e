"""Unit tests of labkit.stepfunctions: timeline from history, waits, cost arithmetic."""

import datetime as dt
import json

import matplotlib

matplotlib.use("Agg")
import pytest

import labkit
from labkit.errors import LabKitError
from labkit.stepfunctions import (
    deploy_state_machine,
    express_cost,
    execution_timeline,
    history_timeline,
    plot_timeline,
    standard_cost,
    states_role,
    states_visited,
    wait_for_execution,
)

T0 = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)


def _ev(i, seconds, etype, name=None):
    ev = {"id": i, "timestamp": T0 + dt.timedelta(seconds=seconds), "type": etype}
    if name and etype.endswith("Entered"):
        ev["stateEnteredEventDetails"] = {"name": name}
    if name and etype.endswith("Exited"):
        ev["stateExitedEventDetails"] = {"name": name}
    return ev


def test_timeline_pairs_visits_including_loops_and_fail():
    events = [
        _ev(1, 0, "ExecutionStarted"),
        _ev(2, 0, "WaitStateEntered", "Poll"), _ev(3, 2, "WaitStateExited", "Poll"),
        _ev(4, 2, "TaskStateEntered", "Describe"), _ev(5, 2.5, "TaskFailed"),
        _ev(6, 3.5, "TaskStateExited", "Describe"),
        _ev(7, 3.5, "WaitStateEntered", "Poll"), _ev(8, 5.5, "WaitStateExited", "Poll"),
        _ev(9, 5.5, "FailStateEntered", "Stop"), _ev(10, 6, "ExecutionFailed"),
    ]
    tl = history_timeline(events)
    assert states_visited(tl) == ["Poll", "Describe", "Poll", "Stop"]
    assert list(tl["duration_s"]) == [2.0, 1.5, 2.0, 0.5]
    assert list(tl["task_failures"]) == [0, 1, 0, 0]
    assert tl["failures_s"].iloc[1] == [2.5]
    assert tl.attrs["outcome"] == "FAILED" and tl.attrs["total_s"] == 6.0
    assert tl.attrs["transitions"] == 4
    ax = plot_timeline(tl)
    assert len(ax.get_yticklabels()) == 4
    with pytest.raises(LabKitError):
        history_timeline([])


def test_cost_arithmetic():
    # 1 million executions of 10 transitions: 10 M transitions x $0.025 / 1000 = $250
    assert standard_cost(1_000_000, 10) == pytest.approx(250.0)
    assert standard_cost(100, 10, free_transitions=4000) == 0.0
    # 1 M executions, 250 ms -> billed 300 ms, 64 MB: $1 + 1e6 * 0.3 * 0.0625 * 0.00001667
    assert express_cost(1_000_000, 250, 64) == pytest.approx(1.0 + 0.3125625, rel=1e-6)
    # 65 MB is billed as 128 MB
    assert express_cost(1, 100, 65) == pytest.approx(express_cost(1, 100, 128))
    with pytest.raises(LabKitError):
        standard_cost(-1, 1)


@pytest.fixture
def lab(monkeypatch, tmp_path):
    monkeypatch.setenv("COURSE_WORKDIR", str(tmp_path))
    monkeypatch.delenv("COURSE_BACKEND", raising=False)
    with labkit.lab_context("03-unit-sfn") as lab:
        yield lab


def test_moto_runs_a_wait_choice_machine_and_the_timeline_reads_it(lab):
    role = states_role(lab, "unit", [{"Effect": "Allow", "Action": "sagemaker:*",
                                      "Resource": "*"}])
    definition = {
        "StartAt": "Wait",
        "States": {
            "Wait": {"Type": "Wait", "SecondsPath": "$.wait", "Next": "Check"},
            "Check": {"Type": "Choice",
                      "Choices": [{"Variable": "$.ok", "BooleanEquals": True, "Next": "Yes"}],
                      "Default": "No"},
            "Yes": {"Type": "Succeed"},
            "No": {"Type": "Fail", "Error": "NotOk"},
        },
    }
    arn = deploy_state_machine(lab, "unit-machine", definition, role)
    assert deploy_state_machine(lab, "unit-machine", definition, role) == arn  # update path
    sfn = lab.client("stepfunctions")
    ok = sfn.start_execution(stateMachineArn=arn, name="ok",
                             input=json.dumps({"wait": 0, "ok": True}))
    bad = sfn.start_execution(stateMachineArn=arn, name="bad",
                              input=json.dumps({"wait": 0, "ok": False}))
    assert wait_for_execution(sfn, ok["executionArn"])["status"] == "SUCCEEDED"
    desc = wait_for_execution(sfn, bad["executionArn"])
    assert desc["status"] == "FAILED" and desc["error"] == "NotOk"
    tl = execution_timeline(sfn, bad["executionArn"])
    assert states_visited(tl) == ["Wait", "Check", "No"]
    assert tl.attrs["outcome"] == "FAILED"


def test_wait_times_out_with_a_clear_error(lab):
    sfn = lab.client("stepfunctions")
    definition = {"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 5, "End": True}}}
    arn = sfn.create_state_machine(name="slow", definition=json.dumps(definition),
                                   roleArn="arn:aws:iam::123456789012:role/x")["stateMachineArn"]
    ex = sfn.start_execution(stateMachineArn=arn, name="slow-1")
    with pytest.raises(LabKitError, match="still RUNNING"):
        wait_for_execution(sfn, ex["executionArn"], timeout_s=0.3, poll_s=0.1)
    sfn.stop_execution(executionArn=ex["executionArn"])
