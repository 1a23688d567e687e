"""Lab 10's lesson (#@save cells) and its stand-in: approval rule, latest approved, patterns."""

import json

import pytest

import labkit
from labkit import lessons
from labkit.standins.registry import pattern_matches


@pytest.fixture(scope="module")
def lab10():
    return lessons.load("10-model-registry")


@pytest.fixture
def sm(monkeypatch, tmp_path):
    monkeypatch.setenv("COURSE_WORKDIR", str(tmp_path))
    monkeypatch.setenv("COURSE_BACKEND", "local")
    with labkit.lab_context("98-unit-test") as lab:
        client = lab.client("sagemaker")
        client.create_model_package_group(ModelPackageGroupName="g")
        yield client


def register(sm, group="g"):
    return sm.create_model_package(
        ModelPackageGroupName=group, ModelApprovalStatus="PendingManualApproval",
        InferenceSpecification={
            "Containers": [{"Image": "img", "ModelDataUrl": "s3://b/model.tar.gz"}],
            "SupportedContentTypes": ["text/csv"],
            "SupportedResponseMIMETypes": ["text/csv"],
        },
    )["ModelPackageArn"]


def approve(sm, arn, status="Approved"):
    sm.update_model_package(ModelPackageArn=arn, ModelApprovalStatus=status)


def test_latest_approved_is_the_newest_approved_not_the_newest(lab10, sm):
    assert lab10.latest_approved(sm, "g") is None
    arns = [register(sm) for _ in range(3)]
    approve(sm, arns[0])
    approve(sm, arns[1])
    approve(sm, arns[2], "Rejected")
    # descending creation time among Approved: version 2 (not 3: rejected; not 1: older)
    assert lab10.latest_approved(sm, "g") == arns[1]
    approve(sm, arns[0])  # re-approving an older version does not make it the latest
    assert lab10.latest_approved(sm, "g") == arns[1]


def test_latest_approved_stays_in_its_group(lab10, sm):
    sm.create_model_package_group(ModelPackageGroupName="other")
    mine = register(sm)
    approve(sm, mine)
    approve(sm, register(sm, "other"))  # newer, approved, but another group
    assert lab10.latest_approved(sm, "g") == mine


METRICS = {  # hand-made: the best AUC fails the gate; a tie at the gate passes
    "a": {"auc": 0.99, "accuracy": 0.80},
    "b": {"auc": 0.95, "accuracy": 0.95},
    "c": {"auc": 0.97, "accuracy": 0.93},
}


def test_choose_by_rule_gates_then_ranks(lab10):
    assert lab10.choose_by_rule(METRICS, gate=0.93) == "c"  # 0.93 >= 0.93 passes
    assert lab10.choose_by_rule(METRICS, gate=0.94) == "b"
    assert lab10.choose_by_rule(METRICS, gate=0.0) == "a"
    assert lab10.choose_by_rule(METRICS, gate=0.99) is None
    assert lab10.choose_by_rule(METRICS, gate=0.9, gate_metric="auc",
                                rank_metric="accuracy") == "b"


EVENT = {
    "version": "0", "id": "1", "detail-type": "SageMaker Model Package State Change",
    "source": "aws.sagemaker", "account": "123456789012", "time": "2026-01-01T00:00:00Z",
    "region": "us-east-1",
    "resources": ["arn:aws:sagemaker:us-east-1:123456789012:model-package/g/2"],
    "detail": {"ModelPackageGroupName": "g", "ModelPackageVersion": 2,
               "ModelApprovalStatus": "Approved"},
}


def approval(group, statuses=("Approved",)):
    return {"source": ["aws.sagemaker"],
            "detail-type": ["SageMaker Model Package State Change"],
            "detail": {"ModelPackageGroupName": [group],
                       "ModelApprovalStatus": list(statuses)}}


@pytest.mark.parametrize("pattern, expected", [
    (approval("g"), True),
    (approval("other"), False),
    (approval("g", ["Rejected", "PendingManualApproval"]), False),
    ({"detail": {"ModelApprovalStatus": [{"anything-but": "Rejected"}]}}, True),
    ({"detail": {"ModelPackageVersion": [2]}}, True),
    ({"detail": {"ModelPackageVersion": ["2"]}}, False),  # types matter
    ({"resources": [{"suffix": "/2"}]}, True),
    ({"detail-type": ["SageMaker Model State Change"]}, False),
], ids=lambda p: json.dumps(p)[:50])
def test_pattern_matches_hand_worked(pattern, expected):
    assert pattern_matches(None, pattern, EVENT, local=True) is expected


def test_pattern_matches_asks_the_api_on_aws():
    class Events:
        def test_event_pattern(self, EventPattern, Event):  # noqa: N803 - boto3 names
            assert json.loads(EventPattern) == approval("g") and json.loads(Event) == EVENT
            return {"Result": True}

    assert pattern_matches(Events(), approval("g"), EVENT, local=False) is True


def test_forget_model_package_group_removes_its_versions_only(sm):
    from labkit.standins.registry import forget_model_package_group

    sm.create_model_package_group(ModelPackageGroupName="other")
    mine = [register(sm) for _ in range(2)]
    kept = register(sm, "other")
    assert forget_model_package_group(sm, "g") == 2
    groups = sm.list_model_package_groups()["ModelPackageGroupSummaryList"]
    assert [g["ModelPackageGroupName"] for g in groups] == ["other"]
    listed = sm.list_model_packages(ModelPackageType="Versioned")["ModelPackageSummaryList"]
    left = [s["ModelPackageArn"] for s in listed]
    assert left == [kept] and not set(mine) & set(left)
