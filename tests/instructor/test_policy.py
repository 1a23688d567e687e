"""The IAM policy the course ships for the ``aws`` backend: derived from the labs' own calls,
covering every lab, and clean under parliament (the linter lab 01 teaches) except for the
findings the course accepts and documents (instructor/real-accounts.md)."""

from __future__ import annotations

import fnmatch
import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tools"))

import lab_permissions  # noqa: E402

POLICY = json.loads((ROOT / "policies" / "course-learner.json").read_text(encoding="utf-8"))
# What the labs need and parliament reports anyway, each with the reason the page gives.
ACCEPTED = {
    # lab 01 puts an inline policy on a course role and assumes it: the lesson itself
    "PRIVILEGE_ESCALATION": {"iam:putrolepolicy", "sts:assumerole"},
    # lab 01 assumes roles; lab 06 logs Docker in to ECR to push its image
    "CREDENTIALS_EXPOSURE": {"ecr:getauthorizationtoken", "sts:assumerole"},
    # the labs create and delete their own roles and users (only mlecourse-* names)
    "PERMISSIONS_MANAGEMENT_ACTIONS": None,
    # reads, and write APIs that have no resource-level permissions
    "RESOURCE_STAR": None,
}


@pytest.fixture(scope="module")
def found() -> dict[str, list[str]]:
    return lab_permissions.lab_actions()


def allowed(action: str) -> bool:
    for stmt in POLICY["Statement"]:
        if stmt["Effect"] != "Allow":
            continue
        patterns = stmt["Action"] if isinstance(stmt["Action"], list) else [stmt["Action"]]
        if any(fnmatch.fnmatchcase(action.lower(), p.lower()) for p in patterns):
            return True
    return False


def test_scanner_maps_boto3_calls_to_iam_actions():
    source = (
        's3 = lab.client("s3")\n'
        "s3.list_objects_v2(Bucket=b)\n"
        "s3.upload_file(path, b, key)\n"
        'lab.client("stepfunctions").start_execution(**request)\n'
        'runtime = lab.client("sagemaker-runtime")\n'
        "runtime.invoke_endpoint(EndpointName=n, Body=b)\n"
        'pii = standin if lab.is_local else lab.client("comprehend")\n'
        "pii.detect_pii_entities(Text=t, LanguageCode='en')\n"
        "retry(s3.delete_bucket, Bucket=b)\n"
        "s3.get_paginator('list_object_versions')\n"
        "s3.not_an_operation()\n"
        "print(s3.meta)\n"
    )
    assert lab_permissions.scan_source(source, {}) == {
        "s3:ListBucket", "s3:PutObject", "states:StartExecution", "sagemaker:InvokeEndpoint",
        "comprehend:DetectPiiEntities", "s3:ListBucketVersions",
        "s3:DeleteBucket"}


def test_a_version_id_needs_the_version_action():
    # found by the rehearsal: emptying a versioned bucket was refused (s3:DeleteObjectVersion)
    one = 's3 = lab.client("s3")\ns3.delete_object(Bucket=b, Key=k, VersionId=v)\n'
    many = 's3 = lab.client("s3")\ns3.delete_objects(Bucket=b, Delete=d)\n'
    both = {"s3:DeleteObject", "s3:DeleteObjectVersion"}
    assert lab_permissions.scan_source(one, {}) == both
    assert lab_permissions.scan_source(many, {}) == both
    assert lab_permissions.scan_source('s3.delete_object(Bucket=b, Key=k)', None) == {
        "s3:DeleteObject"}
    assert allowed("s3:DeleteObjectVersion")


def test_clients_made_in_a_generator_are_seen():
    # found by the rehearsal: lab 20's kinesis:CreateStream was missing from the policy
    source = ('s3, kinesis, firehose = (lab.client(s) for s in ("s3", "kinesis", '
              '"firehose"))\n'
              "kinesis.create_stream(StreamName=n, ShardCount=2)\n"
              "firehose.create_delivery_stream(DeliveryStreamName=d)\n")
    assert lab_permissions.scan_source(source, {}) == {
        "kinesis:CreateStream", "firehose:CreateDeliveryStream"}
    assert allowed("kinesis:CreateStream") and allowed("firehose:CreateDeliveryStream")


def test_the_sweeps_string_named_operations_are_seen():
    # found by the rehearsal: lab 99's sweep lists SNS topics, the policy had no sns:List*
    source = ('_pages(f.client("sns"), "list_topics", "Topics")\n'
              '_call("sagemaker", "delete_model", ModelName=_name)\n'
              '_sm("k", "list_endpoints", "E", "N", "A", "delete_endpoint", "EndpointName",'
              ' ("create_endpoint",))\n')
    assert lab_permissions.scan_source(source, {}) == {
        "sns:ListTopics", "sagemaker:DeleteModel", "sagemaker:ListEndpoints",
        "sagemaker:DeleteEndpoint"}  # and not the CreateEndpoint of its creates tuple
    assert allowed("sns:ListTopics") and allowed("sns:ListSubscriptions")


def test_local_only_code_is_left_out():
    source = (
        'iam = lab.client("iam")\n'
        "if lab.is_local:\n"
        '    iam.create_user(UserName="u")\n'
        "else:\n"
        '    iam.get_role(RoleName="r")\n'
        "def partner(lab):\n"
        "    if not lab.is_local:\n"
        "        return lab.boto_session\n"
        '    iam.create_access_key(UserName="u")\n'
        'iam.delete_role(RoleName="r")\n'
    )
    assert lab_permissions.scan_source(source, {}) == {"iam:GetRole", "iam:DeleteRole"}


def test_every_lab_is_scanned(found):
    labs = {p.stem for p in (ROOT / "labs").rglob("*.ipynb")
            if ".ipynb_checkpoints" not in p.parts}
    assert set(found) == labs
    assert all(found.values()), [lab for lab, actions in found.items() if not actions]


def test_every_action_each_lab_calls_is_allowed(found):
    missing = {lab: [a for a in actions if not allowed(a)] for lab, actions in found.items()}
    assert not {lab: m for lab, m in missing.items() if m}, \
        "a lab calls an action the policy lacks: python tools/lab_permissions.py --write"
    # and the policy is no wildcard for everything
    assert not allowed("iam:CreatePolicy") and not allowed("s3:PutBucketAcl")
    assert not any(a in ("*", "*:*") or a.endswith(":*")
                   for s in POLICY["Statement"] for a in
                   (s["Action"] if isinstance(s["Action"], list) else [s["Action"]]))


def test_writes_to_s3_and_iam_only_touch_course_names():
    for stmt in POLICY["Statement"]:
        actions = stmt["Action"] if isinstance(stmt["Action"], list) else [stmt["Action"]]
        writes = [a for a in actions if a.startswith(("s3:", "iam:"))
                  and not a.split(":")[1].startswith(("Get", "List", "Describe"))]
        if writes:
            resources = stmt["Resource"] if isinstance(stmt["Resource"], list) else [
                stmt["Resource"]]
            assert all(":mlecourse-*" in r or "/mlecourse-*" in r for r in resources), stmt


def test_the_policy_fits_a_managed_policy():
    # IAM counts a managed policy's characters without whitespace: at most 6,144.
    assert len("".join(json.dumps(POLICY).split())) <= 6144


def test_parliament_finds_nothing_beyond_the_documented_findings():
    findings = lab_permissions.lint(POLICY)
    assert findings, "parliament reported nothing at all: is it running?"
    unexpected = [f for f in findings if f[0] not in ACCEPTED]
    assert not unexpected, unexpected
    for issue, _, detail in findings:
        allowed_actions = ACCEPTED[issue]
        if allowed_actions is None:
            continue
        named = {a.strip(" …").lower() for a in detail.split(",")}
        assert named <= allowed_actions, (issue, detail)


def test_the_lint_catches_a_broad_policy():
    broad = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": ["iam:CreatePolicyVersion", "s3:GetObject"],
         "Resource": "*"}]}
    assert "PRIVILEGE_ESCALATION" in {issue for issue, _, _ in lab_permissions.lint(broad)}
