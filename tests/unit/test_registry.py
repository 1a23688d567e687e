"""Unit tests of labkit.registry: versions, approval by rule, latest approved, patterns."""

import json

import pytest
from moto.events.models import EventPattern

import labkit
from labkit.errors import LabKitError
from labkit.registry import (
    Version,
    approval_pattern,
    binary_classification_report,
    choose_by_rule,
    latest_approved,
    list_versions,
    metadata_strings,
    model_quality_metrics,
    pattern_matches,
    register_version,
    set_approval,
    sklearn_image_uri,
    state_change_event,
)

IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3"


@pytest.fixture
def sm():
    with labkit.lab_context("10-unit-registry") as lab:
        client = lab.client("sagemaker")
        client.create_model_package_group(ModelPackageGroupName="g")
        yield client


def _register(sm, auc, acc, name):
    return register_version(
        sm, "g", image_uri=IMAGE, model_data_url=f"s3://b/{name}/model.tar.gz",
        metrics_s3_uri=f"s3://b/{name}/metrics.json",
        metadata={"candidate": name, "auc": auc, "accuracy": acc},
    )


def test_versions_are_numbered_and_keep_metadata_through_approval(sm):
    arns = [_register(sm, 0.9, 0.9, "a"), _register(sm, 0.95, 0.8, "b")]
    assert [a.rsplit("/", 1)[1] for a in arns] == ["1", "2"]
    desc = set_approval(sm, arns[0], "Approved", "ok")
    assert desc["ModelApprovalStatus"] == "Approved"
    assert desc["ApprovalDescription"] == "ok"
    # moto would drop the metadata on update if set_approval did not repeat it
    assert desc["CustomerMetadataProperties"]["auc"] == "0.900000"
    versions = list_versions(sm, "g")
    assert [(v.version, v.status) for v in versions] == [
        (1, "Approved"), (2, "PendingManualApproval")]


def test_latest_approved_is_the_highest_approved_version_not_the_newest(sm):
    arns = [_register(sm, 0.9, 0.9, n) for n in "abc"]
    with pytest.raises(LabKitError, match="no Approved version"):
        latest_approved(sm, "g")
    set_approval(sm, arns[0], "Approved", "first")
    set_approval(sm, arns[1], "Approved", "second")
    set_approval(sm, arns[2], "Rejected", "worse")
    assert latest_approved(sm, "g").version == 2


def test_choose_by_rule_applies_gate_direction_and_ties():
    vs = [Version(f"arn/{i}", i, "PendingManualApproval",
                  {"auc": str(auc), "accuracy": str(acc)})
          for i, (auc, acc) in enumerate([(0.99, 0.80), (0.95, 0.95), (0.97, 0.94),
                                          (0.97, 0.96)], start=1)]
    gate = lambda v: v.number("accuracy") >= 0.9
    assert choose_by_rule(vs, metric="auc").version == 1
    assert choose_by_rule(vs, metric="auc", gate=gate).version == 4  # tie → newer
    assert choose_by_rule(vs, metric="auc", higher_is_better=False).version == 2
    with pytest.raises(LabKitError, match="gate"):
        choose_by_rule(vs, metric="auc", gate=lambda v: False)
    with pytest.raises(LabKitError, match="no metadata key"):
        vs[0].number("f1")


def test_metrics_helpers_validate():
    assert model_quality_metrics("s3://b/k.json")["ModelQuality"]["Statistics"][
        "S3Uri"] == "s3://b/k.json"
    with pytest.raises(LabKitError):
        model_quality_metrics("/tmp/k.json")
    report = binary_classification_report({"auc": 0.5})
    assert report["binary_classification_metrics"]["auc"]["value"] == 0.5
    assert metadata_strings({"x": 0.1234567, "n": 3}) == {"x": "0.123457", "n": "3"}
    with pytest.raises(LabKitError, match="50"):
        metadata_strings({str(i): i for i in range(51)})
    with pytest.raises(LabKitError, match="approval status"):
        approval_pattern("g", ["approved"])


EVENT = state_change_event(
    {"ModelPackageArn": "arn:aws:sagemaker:us-east-1:1:model-package/g/2",
     "ModelPackageGroupName": "g", "ModelPackageVersion": 2,
     "ModelApprovalStatus": "Approved", "CustomerMetadataProperties": {"auc": "0.9"}},
    "123456789012", "us-east-1",
)
PATTERNS = [
    approval_pattern("g"),
    approval_pattern("other"),
    approval_pattern("g", ["Rejected", "PendingManualApproval"]),
    {"source": ["aws.sagemaker"], "detail": {"ModelPackageGroupName": [{"prefix": "g"}]}},
    {"detail": {"ModelApprovalStatus": [{"anything-but": "Rejected"}]}},
    {"detail": {"ModelApprovalStatus": [{"anything-but": ["Approved"]}]}},
    {"detail": {"ApprovalDescription": [{"exists": False}]}},
    {"detail": {"ApprovalDescription": [{"exists": True}]}},
    {"detail": {"CustomerMetadataProperties": {"auc": ["0.9"]}}},
    {"detail": {"ModelPackageVersion": [2]}},
    {"resources": [{"suffix": "/2"}]},
    {"detail-type": ["SageMaker Model State Change"]},
]


@pytest.mark.parametrize("pattern", PATTERNS, ids=lambda p: json.dumps(p)[:60])
def test_pattern_matches_agrees_with_motos_engine(pattern):
    """moto's EventPattern is the engine that routes events in moto: an independent reference."""
    assert pattern_matches(pattern, EVENT) == EventPattern(
        json.dumps(pattern), pattern).matches_event(EVENT)


def test_pattern_matches_known_answers_and_refuses_unknown_filters():
    assert pattern_matches(approval_pattern("g"), EVENT)
    assert not pattern_matches(approval_pattern("other"), EVENT)
    with pytest.raises(LabKitError, match="not evaluated"):
        pattern_matches({"detail": {"ModelPackageVersion": [{"numeric": [">", 1]}]}}, EVENT)
    with pytest.raises(LabKitError, match="object or a list"):
        pattern_matches({"source": "aws.sagemaker"}, EVENT)


@pytest.mark.parametrize("region", ["us-east-1", "eu-west-1", "ap-southeast-2"])
def test_sklearn_image_uri_equals_the_sdks_answer(region):
    from sagemaker.core import image_uris

    assert sklearn_image_uri(region) == image_uris.retrieve("sklearn", region, version="1.2-1")
    with pytest.raises(LabKitError, match="No scikit-learn image"):
        sklearn_image_uri(region, version="0.0-0")
