"""The AWS rehearsal, offline (issue 22, item 5): every lab's ``aws`` branch, twice in a row
in one kernel, against a moto server on 127.0.0.1 in ap-southeast-2, as an IAM user whose
only permissions are policies/course-learner.json, with IAM enforced and a fresh learner
token. A lab fails its rehearsal on a failing cell (a moto-only assumption, an AccessDenied,
an AWS-side validation error), on a request the learner was refused even when the lab
caught it, on a request botocore's model rejects (names over a limit, values outside an
enum), on a connection off this machine or a client that bypasses the server, and on any
resource still in the server after the lab's clean-up. Where a lab needs SageMaker compute
the rehearsal stops at the cell named in rehearsal.PLAN (kernel/rehearsal.py) (with its reason) and runs the
lab's clean-up cell. See instructor/real-accounts.md for what it cannot show.

    .venv/bin/python -m pytest -m rehearsal tests/rehearsal -q
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import boto3
import pytest
from botocore.exceptions import ClientError

from labkit.paths import LABS_DIR

sys.path.insert(0, str(Path(__file__).parent / "kernel"))
import rehearsal  # noqa: E402  the harness: test code, not part of the kit

pytestmark = pytest.mark.rehearsal

HOOKS = Path(__file__).parent / "kernel"
LABS = sorted(p for p in LABS_DIR.rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts)


@pytest.fixture(scope="module")
def server():
    started = rehearsal.RehearsalServer.start()
    yield started
    started.stop()


def learner_client(server, learner, service):
    return boto3.client(service, region_name=rehearsal.REGION, endpoint_url=server.url,
                        aws_access_key_id=learner.access_key_id,
                        aws_secret_access_key=learner.secret_access_key)


# ---------------------------------------------------------------- the machinery can fail
def test_the_server_enforces_the_policy(server):
    learner = server.reset()
    try:
        s3 = learner_client(server, learner, "s3")
        name = f"mlecourse-00-data-{learner.token}"
        config = {"LocationConstraint": rehearsal.REGION}
        s3.create_bucket(Bucket=name, CreateBucketConfiguration=config)
        s3.head_bucket(Bucket=name)  # s3:ListBucket, as IAM names HeadBucket
        with pytest.raises(ClientError, match="AccessDenied"):  # not a course name
            s3.create_bucket(Bucket=f"someone-else-{learner.token}",
                             CreateBucketConfiguration=config)
        iam = learner_client(server, learner, "iam")
        trust = json.dumps({"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Principal": {"Service": "sagemaker.amazonaws.com"},
            "Action": "sts:AssumeRole"}]})
        iam.create_role(RoleName=f"mlecourse-00-{learner.token}",  # CreateRole on its ARN
                        AssumeRolePolicyDocument=trust)
        with pytest.raises(ClientError, match="AccessDenied"):
            iam.create_role(RoleName="admin-" + learner.token, AssumeRolePolicyDocument=trust)
        with pytest.raises(ClientError, match="AccessDenied"):  # not in the policy at all
            iam.create_policy(PolicyName="mlecourse-x", PolicyDocument=trust)
        # CloudWatch signs as "monitoring"; IAM's actions are cloudwatch:*
        learner_client(server, learner, "cloudwatch").describe_alarms()
        # the SDK's question about the execution role, answered from the role's policies
        role = f"arn:aws:iam::{rehearsal.ACCOUNT_ID}:role/{rehearsal.EXECUTION_ROLE}"
        answer = iam.simulate_principal_policy(
            PolicySourceArn=role, ActionNames=["s3:PutObject", "iam:CreateUser"],
            ResourceArns=["arn:aws:s3:::mlecourse-x/*"])
        assert [e["EvalDecision"] for e in answer["EvaluationResults"]] == [
            "allowed", "implicitDeny"]
    finally:
        server.set_auth(False)


def test_a_policy_without_an_action_is_refused(server):
    policy = json.loads(rehearsal.POLICY_FILE.read_text())
    for stmt in policy["Statement"]:
        if stmt["Sid"] == "CourseBucketsOnly":
            stmt["Action"] = [a for a in stmt["Action"] if a != "s3:PutObject"]
    learner = server.reset(policy)
    try:
        s3 = learner_client(server, learner, "s3")
        name = f"mlecourse-00-data-{learner.token}"
        s3.create_bucket(Bucket=name,
                         CreateBucketConfiguration={"LocationConstraint": rehearsal.REGION})
        with pytest.raises(ClientError, match="AccessDenied"):
            s3.put_object(Bucket=name, Key="k", Body=b"v")
    finally:
        server.set_auth(False)


def test_trust_policies_are_checked_as_iam_does(server):
    learner = server.reset()
    try:
        iam = learner_client(server, learner, "iam")
        name = f"mlecourse-00-trust-{learner.token}"
        trust = {"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Action": "sts:AssumeRole",
            "Principal": {"AWS": f"arn:aws:iam::{rehearsal.ACCOUNT_ID}:root"},
            "Condition": {"StringEquals": {"sts:ExternalId": "the-id"}}}]}
        arn = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust),
                              MaxSessionDuration=3600)["Role"]["Arn"]
        sts = learner_client(server, learner, "sts")
        call = {"RoleArn": arn, "RoleSessionName": "learner", "DurationSeconds": 900}
        sts.assume_role(**call, ExternalId="the-id")  # the account principal trusts the user
        for bad in ({"ExternalId": "another"}, {}):  # a wrong id, and no id at all
            with pytest.raises(ClientError, match="AccessDenied"):
                sts.assume_role(**call, **bad)
        with pytest.raises(ClientError, match="ValidationError"):  # over MaxSessionDuration
            sts.assume_role(**{**call, "DurationSeconds": 7200}, ExternalId="the-id")
    finally:
        server.set_auth(False)


def test_the_kernel_hooks_refuse_the_network_and_log_invalid_requests(server, tmp_path):
    learner = server.reset()
    requests, audit = tmp_path / "requests.jsonl", tmp_path / "network.jsonl"
    env = rehearsal.kernel_env(server, learner, tmp_path / "work", HOOKS, audit, requests)
    script = textwrap.dedent("""
        import socket, boto3
        try:
            socket.create_connection(("192.0.2.1", 443), timeout=1)
            print("connected")
        except ConnectionRefusedError as exc:
            print("refused:", "rehearsal" in str(exc))
        sm = boto3.client("sagemaker")
        try:  # 64 characters: one over the limit botocore's model gives, the server is moto
            sm.describe_training_job(TrainingJobName="j" * 64)
        except Exception:
            pass
        try:  # a role the policy may not pass: refused before it is sent
            sm.create_model(ModelName="m", ExecutionRoleArn=
                            "arn:aws:iam::123456789012:role/not-a-course-role")
        except PermissionError as exc:
            print("passrole refused:", "iam:PassRole" in str(exc))
    """)
    try:
        out = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True,
                             text=True, timeout=120, check=True).stdout
    finally:
        server.set_auth(False)
    assert "refused: True" in out and "passrole refused: True" in out
    logged = rehearsal.read_log(requests)
    assert [r["operation"] for r in logged] == ["DescribeTrainingJob", "CreateModel"]
    assert "iam:PassRole" in logged[1]["error"]
    assert logged[0]["endpoint"] == server.url
    assert any("at most 63" in p for p in logged[0]["problems"]), logged
    targets = [e["target"] for e in rehearsal.read_log(audit) if "target" in e]
    assert ["192.0.2.1", 443] in targets  # the audit saw it, and the hook refused it


def test_passrole_is_checked_against_the_policy():
    policy = json.loads(rehearsal.POLICY_FILE.read_text())
    course = f"arn:aws:iam::{rehearsal.ACCOUNT_ID}:role/mlecourse-sagemaker-execution"
    studio = f"arn:aws:iam::{rehearsal.ACCOUNT_ID}:role/AmazonSageMaker-ExecutionRole-1"
    assert rehearsal.may_pass_role(policy, course, "sagemaker.amazonaws.com")
    assert rehearsal.may_pass_role(policy, course, "states.amazonaws.com")
    assert not rehearsal.may_pass_role(policy, course, "lambda.amazonaws.com")
    assert not rehearsal.may_pass_role(policy, studio, "sagemaker.amazonaws.com")
    request = {"TrainingJobName": "j", "RoleArn": course,
               "Other": [{"ExecutionRoleArn": studio}], "RoleName": "not-an-arn"}
    assert rehearsal.passed_roles(request) == [course, studio]


def test_every_plan_entry_names_a_lab_and_a_cell():
    names = {p.stem: p for p in LABS}
    for lab, stop in rehearsal.PLAN.items():
        assert lab in names, lab
        assert stop.skip or stop.cell_id is None or stop.reason, lab
        if stop.cell_id is not None:
            import nbformat

            rehearsal.cells_to_run(nbformat.read(names[lab], as_version=4), stop)


# ---------------------------------------------------------------- every lab, twice
@pytest.mark.parametrize("path", LABS, ids=[p.stem for p in LABS])
def test_lab_rehearsal(path, server, tmp_path, request):
    stop = rehearsal.PLAN.get(path.stem, rehearsal.Stop(None))
    if stop.skip:
        pytest.skip(f"not rehearsed: {stop.reason}")
    if stop.known_failure:
        request.applymarker(pytest.mark.xfail(reason=stop.known_failure))
    result = rehearsal.rehearse(path, server, tmp_path, HOOKS)
    print(f"{result.lab}: cells per run {result.cells_per_run}, {result.seconds:.1f} s, "
          f"{len(result.requests)} requests"
          + (f"; stopped before {stop.cell_id}: {stop.reason}" if stop.cell_id else ""))
    assert not result.error, result.error
    assert len(result.cells_per_run) == 2
    assert not result.denied, result.denied
    assert not result.invalid_requests, result.invalid_requests
    assert not result.off_machine, result.off_machine
    assert not result.other_endpoints, result.other_endpoints
    assert result.leftovers == [[], []], result.leftovers
    assert result.requests, "no AWS request was logged: the hooks did not load"
