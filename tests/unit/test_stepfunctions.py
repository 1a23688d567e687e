"""Lab 03's cost formulas (its #@save cell), the timeline stand-in, and the kit's Step
Functions plumbing (role, deploy, wait) on moto."""

import datetime as dt
import json

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402

import labkit  # noqa: E402
from labkit.errors import LabKitError  # noqa: E402
from labkit.lessons import load  # noqa: E402
from labkit.standins.timeline import (  # noqa: E402
    execution_timeline,
    history_timeline,
    plot_timeline,
)
from labkit.stepfunctions import (  # noqa: E402
    deploy_state_machine,
    states_role,
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
    assert list(tl["state"]) == ["Poll", "Describe", "Poll", "Stop"]
    assert list(tl["type"]) == ["Wait", "Task", "Wait", "Fail"]
    assert list(tl["duration_s"]) == [2.0, 1.5, 2.0, 0.5]
    assert list(tl["task_failures"]) == [0, 1, 0, 0]
    assert tl["failures_s"].iloc[1] == [2.5]
    assert tl.attrs == {"outcome": "FAILED", "total_s": 6.0, "transitions": 4}
    _, ax = plt.subplots()
    plot_timeline(tl, ax=ax)
    assert [t.get_text() for t in ax.get_yticklabels()] == [
        "Poll (Wait)", "Describe (Task)", "Poll (Wait)", "Stop (Fail)"]
    plt.close("all")
    with pytest.raises(LabKitError):
        history_timeline([])


def test_cost_formulas_match_hand_worked_numbers():
    lesson = load("03-step-functions")
    # 1 million executions of 10 transitions: 10 M x 0.025 / 1000 = 250
    assert lesson.standard_cost(1_000_000, 10) == pytest.approx(250.0)
    assert lesson.standard_cost(1_000, 95) == pytest.approx(2.375)
    assert lesson.standard_cost(100, 10, free_transitions=4000) == 0.0
    assert lesson.standard_cost(500, 10, free_transitions=4000) == pytest.approx(0.025)
    # 1 M executions, 250 ms -> billed 300 ms, 64 MB: 1 + 1e6 x 0.3 x 0.0625 x 0.00001667
    assert lesson.express_cost(1_000_000, 250, 64) == pytest.approx(1.3125625, rel=1e-9)
    # 65 MB is billed as 128 MB; 100 ms stays 100 ms
    assert lesson.express_cost(1, 100, 65) == pytest.approx(
        1e-6 + 0.1 * 0.125 * 0.00001667, rel=1e-9)


@pytest.fixture
def lab(monkeypatch, tmp_path):
    monkeypatch.setenv("COURSE_WORKDIR", str(tmp_path))
    monkeypatch.setenv("COURSE_BACKEND", "local")
    with labkit.lab_context("98-unit-test") as lab:
        yield lab


DEFINITION = {
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


def test_deploy_run_read_and_clean_up(lab):
    left = {}  # cleanup runs last-registered first, so this runs after every deletion
    lab.on_cleanup("look", lambda: left.update(
        machines=lab.client("stepfunctions").list_state_machines()["stateMachines"],
        roles=[r["RoleName"] for r in lab.client("iam").list_roles()["Roles"]]))
    role = states_role(lab, "unit", [{"Effect": "Allow", "Action": "sagemaker:*",
                                      "Resource": "*"}])
    iam = lab.client("iam")
    trust = iam.get_role(RoleName=role.rsplit("/", 1)[1])["Role"]["AssumeRolePolicyDocument"]
    assert trust["Statement"][0]["Principal"] == {"Service": "states.amazonaws.com"}
    arn = deploy_state_machine(lab, "unit-machine", DEFINITION, role)
    assert deploy_state_machine(lab, "unit-machine", DEFINITION, role) == arn  # update path
    sfn = lab.client("stepfunctions")
    ok = sfn.start_execution(stateMachineArn=arn, name="ok",
                             input=json.dumps({"wait": 0, "ok": True}))
    bad = sfn.start_execution(stateMachineArn=arn, name="bad",
                              input=json.dumps({"wait": 0, "ok": False}))
    assert wait_for_execution(sfn, ok["executionArn"])["status"] == "SUCCEEDED"
    desc = wait_for_execution(sfn, bad["executionArn"])
    assert desc["status"] == "FAILED" and desc["error"] == "NotOk"
    tl = execution_timeline(sfn, bad["executionArn"])
    assert list(tl["state"]) == ["Wait", "Check", "No"] and tl.attrs["outcome"] == "FAILED"
    assert lab.cleanup(verbose=False) == []
    assert left["machines"] == [] and role.rsplit("/", 1)[1] not in left["roles"]


def test_a_failed_create_still_leaves_nothing(lab):
    with pytest.raises(Exception):
        deploy_state_machine(lab, "broken", {"StartAt": "Nowhere", "States": {}},
                             "not-an-arn", propagation_timeout_s=0)
    assert lab.cleanup(verbose=False) == []  # the registered deletion finds nothing


def test_wait_times_out_with_a_clear_error(lab):
    sfn = lab.client("stepfunctions")
    definition = {"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 5, "End": True}}}
    arn = sfn.create_state_machine(name="slow", definition=json.dumps(definition),
                                   roleArn="arn:aws:iam::123456789012:role/x")["stateMachineArn"]
    ex = sfn.start_execution(stateMachineArn=arn, name="slow-1")
    with pytest.raises(LabKitError, match="still RUNNING"):
        wait_for_execution(sfn, ex["executionArn"], timeout_s=0.3, poll_s=0.1)
    sfn.stop_execution(executionArn=ex["executionArn"])


def test_a_leftover_role_or_machine_is_reused_only_when_its_tags_say_it_is_this_labs(lab):
    """The kit never adopts: someone else's role or state machine under the lab's name is
    refused; this learner's leftover from an interrupted run is reused and then deleted."""
    iam, sfn = lab.client("iam"), lab.client("stepfunctions")
    left = {}  # registered first, so it runs after every deletion, before the mock stops
    lab.on_cleanup("look", lambda: left.update(
        machines=sfn.list_state_machines()["stateMachines"],
        roles=[r["RoleName"] for r in iam.list_roles()["Roles"]]))
    name = lab.resource_name("unit-states", max_length=64)
    trust = json.dumps({"Version": "2012-10-17", "Statement": []})
    theirs = [{"Key": "course", "Value": "mle-on-aws"}, {"Key": "learner", "Value": "zz99"},
              {"Key": "lab", "Value": lab.name}]
    iam.create_role(RoleName=name, AssumeRolePolicyDocument=trust, Tags=theirs)
    with pytest.raises(LabKitError, match="tags do not say it is this lab's"):
        states_role(lab, "unit", [])
    assert iam.list_role_policies(RoleName=name)["PolicyNames"] == []  # left untouched
    iam.delete_role(RoleName=name)
    iam.create_role(RoleName=name, AssumeRolePolicyDocument=trust, Tags=lab.tags)
    role = states_role(lab, "unit", [{"Effect": "Allow", "Action": "sagemaker:*",
                                      "Resource": "*"}])
    machine = sfn.create_state_machine(
        name="unit-left", definition=json.dumps(DEFINITION), roleArn=role,
        tags=[{"key": "lab", "value": "another-lab"}])["stateMachineArn"]
    with pytest.raises(LabKitError, match="state machine unit-left"):
        deploy_state_machine(lab, "unit-left", DEFINITION, role)
    sfn.tag_resource(resourceArn=machine,
                     tags=[{"key": t["Key"], "value": t["Value"]} for t in lab.tags])
    assert deploy_state_machine(lab, "unit-left", DEFINITION, role) == machine
    assert lab.cleanup(verbose=False) == []
    assert left["machines"] == [] and name not in left["roles"]
