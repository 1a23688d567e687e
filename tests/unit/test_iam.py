"""Lab 01's #@save cells (lint, granted_actions, session_from, outcome) and its stand-ins
(a second moto account, IAM enforcement), including what moto does *not* check.

The policies here are written out by hand, as AWS's documentation shows them."""

import dataclasses
import json
import os
import sys

import boto3
import pytest
from botocore.exceptions import ClientError

import labkit
from labkit.errors import LabKitError
from labkit.lessons import load
from labkit.standins.accounts import (
    PARTNER_ACCOUNT_ID,
    delete_role,
    enforcement_active,
    iam_enforced,
    parliament_module,
    partner_session,
    pkg_resources_stand_in,
    retry_while_propagating,
)

COMPANY = "123456789012"
PARTNER = PARTNER_ACCOUNT_ID
PARTNER_USER = f"arn:aws:iam::{PARTNER}:user/ml-startup-engineer"
READ_BUCKET = {"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Action": "s3:ListBucket", "Resource": "arn:aws:s3:::my-bucket"},
    {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::my-bucket/*"}]}
OVER_BROAD = {"Version": "2012-10-17",
              "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}


def trust(external_id=None, account=PARTNER):
    statement = {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{account}:root"},
                 "Action": "sts:AssumeRole"}
    if external_id:
        statement["Condition"] = {"StringEquals": {"sts:ExternalId": external_id}}
    return {"Version": "2012-10-17", "Statement": [statement]}


@pytest.fixture(scope="module")
def lesson():
    return load("01-iam-cross-account")


# --------------------------------------------------------------------------- linting


def test_lint_flags_the_over_broad_policy(lesson):
    found = lesson.lint(OVER_BROAD)
    assert {f[0] for f in found} == {"RESOURCE_STAR", "PERMISSIONS_MANAGEMENT_ACTIONS"}
    order = ["CRITICAL", "HIGH", "MEDIUM", "LOW", "INFO"]
    assert [f[1] for f in found] == sorted((f[1] for f in found), key=order.index)


def test_lint_passes_the_least_privilege_read_policy(lesson):
    assert lesson.lint(READ_BUCKET) == []


def test_lint_catches_a_resource_of_the_wrong_type(lesson):
    wrong = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::my-bucket"}]}
    assert {f[0] for f in lesson.lint(wrong)} == {"RESOURCE_MISMATCH"}


def test_lint_of_trust_policies(lesson):
    good = trust("abc")
    # parliament alone calls every trust policy malformed (no Resource) ...
    assert "MALFORMED" in {f[0] for f in lesson.lint(good)}
    # ... the trust mode drops only that complaint
    assert lesson.lint(good, trust=True) == []
    broken = trust("abc")
    broken["Statement"][0]["Effect"] = "Maybe"
    assert "MALFORMED" in {f[0] for f in lesson.lint(broken, trust=True)}


def test_granted_actions_counts_by_access_level(lesson):
    assert lesson.granted_actions(READ_BUCKET) == {
        "List": ["s3:ListBucket"], "Read": ["s3:GetObject"]}
    broad = lesson.granted_actions(OVER_BROAD)
    assert sum(map(len, broad.values())) == 163  # parliament 1.6.4's S3 catalogue
    assert "s3:PutBucketPolicy" in broad["Permissions management"]
    deny = {"Statement": {"Effect": "Deny", "Action": "s3:*", "Resource": "*"}}
    assert lesson.granted_actions(deny) == {}


def test_pkg_resources_stand_in_finds_package_files():
    stand_in = pkg_resources_stand_in()
    assert os.path.isfile(stand_in.resource_filename("parliament", "config.yaml"))
    parliament_module()
    assert getattr(sys.modules.get("pkg_resources"), "__doc__", "") != stand_in.__doc__


# --------------------------------------------------------------------------- on moto


@pytest.fixture
def lab(monkeypatch, tmp_path):
    monkeypatch.setenv("COURSE_WORKDIR", str(tmp_path))
    monkeypatch.setenv("COURSE_BACKEND", "local")
    with labkit.lab_context("98-unit-test") as lab:
        yield lab


@pytest.fixture
def setup(lab):
    """The lab's pattern: a bucket, a role trusting the partner with an ExternalId, a partner."""
    s3 = lab.client("s3")
    bucket, other = lab.bucket("shared"), lab.bucket("other")
    s3.put_object(Bucket=bucket, Key="a.csv", Body=b"1")
    s3.put_object(Bucket=other, Key="b.csv", Body=b"2")
    iam = lab.client("iam")
    role_arn = iam.create_role(RoleName="reader", AssumeRolePolicyDocument=json.dumps(
        trust("ext-1")), MaxSessionDuration=3600)["Role"]["Arn"]
    read = json.loads(json.dumps(READ_BUCKET).replace("my-bucket", bucket))
    iam.put_role_policy(RoleName="reader", PolicyName="read", PolicyDocument=json.dumps(read))
    partner = partner_session(lab, {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": role_arn}]})
    return {"lab": lab, "bucket": bucket, "other": other, "role_arn": role_arn,
            "partner": partner}


def _partner_admin(lab):
    """An IAM client for the partner account (moto files requests by this header)."""
    session = boto3.Session(region_name=lab.region)
    session.events.register("before-sign", lambda request, **_: request.headers.__setitem__(
        "x-moto-account-id", PARTNER))
    return session.client("iam")


def _assume(session, role_arn, external_id="ext-1", **extra):
    request = {"RoleArn": role_arn, "RoleSessionName": "alice", **extra}
    if external_id is not None:
        request["ExternalId"] = external_id
    return session.client("sts").assume_role(**request)


def test_partner_lives_in_the_second_account(setup, lesson):
    me = setup["partner"].client("sts").get_caller_identity()
    assert (me["Account"], me["Arn"]) == (PARTNER, PARTNER_USER)
    # the partner's IAM is a different account: the company's role is not there
    assert lesson.outcome(setup["partner"].client("iam").get_role,
                          RoleName="reader") == "NoSuchEntity"


def test_the_session_from_temporary_credentials_acts_as_the_role(setup, lesson):
    lab = setup["lab"]
    with iam_enforced(lab):
        creds = _assume(setup["partner"], setup["role_arn"], DurationSeconds=900)
        as_role = lesson.session_from(creds["Credentials"], lab.region)
        who = as_role.client("sts").get_caller_identity()
        s3 = as_role.client("s3")
        assert s3.get_object(Bucket=setup["bucket"], Key="a.csv")["Body"].read() == b"1"
        assert lesson.outcome(s3.put_object, Bucket=setup["bucket"], Key="x",
                              Body=b"") == "AccessDenied"
        assert lesson.outcome(s3.get_object, Bucket=setup["other"],
                              Key="b.csv") == "AccessDenied"
    assert who["Arn"] == f"arn:aws:sts::{COMPANY}:assumed-role/reader/alice"
    assert creds["Credentials"]["AccessKeyId"].startswith("ASIA")


def test_without_the_session_token_the_key_is_refused(setup, lesson):
    lab = setup["lab"]
    with iam_enforced(lab):
        creds = dict(_assume(setup["partner"], setup["role_arn"])["Credentials"])
        creds["SessionToken"] = None
        s3 = lesson.session_from(creds, lab.region).client("s3")
        assert lesson.outcome(s3.get_object, Bucket=setup["bucket"], Key="a.csv") != "OK"


def test_without_enforcement_moto_allows_everything(setup, lesson):
    creds = _assume(setup["partner"], setup["role_arn"])["Credentials"]
    s3 = lesson.session_from(creds, setup["lab"].region).client("s3")
    assert lesson.outcome(s3.put_object, Bucket=setup["bucket"], Key="x", Body=b"") == "OK"


def test_partner_needs_its_own_identity_policy(setup):
    lab = setup["lab"]
    with iam_enforced(lab):
        assert _assume(setup["partner"], setup["role_arn"])  # allowed by its policy
    _partner_admin(lab).delete_user_policy(UserName="ml-startup-engineer",
                                             PolicyName="assume-company-roles")
    with iam_enforced(lab), pytest.raises(ClientError) as err:
        _assume(setup["partner"], setup["role_arn"])
    assert err.value.response["Error"]["Code"] == "AccessDenied"


def test_enforcement_is_switched_off_after_the_block_even_on_error(lab):
    assert not enforcement_active()
    with pytest.raises(RuntimeError), iam_enforced(lab):
        assert enforcement_active()
        raise RuntimeError("boom")
    assert not enforcement_active()
    assert lab.client("sts").get_caller_identity()["Account"] == COMPANY


def test_moto_does_not_check_external_id_or_mfa_across_accounts(setup, lesson):
    """Documents the gap the lab states (AWS would refuse every call below). If this fails,
    moto started checking: update the lab's section 8 and its 'could not show' table."""
    lab = setup["lab"]
    iam = lab.client("iam")
    mfa = trust()
    mfa["Statement"][0]["Condition"] = {"Bool": {"aws:MultiFactorAuthPresent": "true"}}
    mfa_arn = iam.create_role(RoleName="people", AssumeRolePolicyDocument=json.dumps(
        mfa))["Role"]["Arn"]
    with iam_enforced(lab):
        for ext in ("wrong", None):
            assert lesson.outcome(_assume, setup["partner"], setup["role_arn"], ext) == "OK"
    assert lesson.outcome(_assume, setup["partner"], mfa_arn, None) == "OK"


def test_partner_account_must_differ_from_the_lab_account(lab):
    with pytest.raises(LabKitError):
        partner_session(lab, {}, account_id=lab.account_id)
    with pytest.raises(LabKitError):
        partner_session(lab, {}, account_id="12345")


def test_aws_code_path_plays_both_parts_with_one_account(lab):
    """On the aws backend the partner is the lab's own identity and enforcement is a no-op.
    Exercised against moto by presenting the lab as 'aws'."""
    as_aws = dataclasses.replace(lab, backend=labkit.Backend.AWS)
    assert partner_session(as_aws, {"Statement": []}) is lab.boto_session
    with iam_enforced(as_aws):
        assert not enforcement_active()


def test_cleanup_deletes_the_partner_user(lab):
    left = {}  # registered first, so it runs after every deletion
    lab.on_cleanup("look", lambda: left.update(users=_partner_admin(lab).list_users()["Users"]))
    partner_session(lab, {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "sts:GetCallerIdentity", "Resource": "*"}]})
    assert [u["UserName"] for u in _partner_admin(lab).list_users()["Users"]] == [
        "ml-startup-engineer"]
    assert lab.cleanup(verbose=False) == []
    assert left["users"] == []


def test_delete_role_is_idempotent(lab):
    iam = lab.client("iam")
    iam.create_role(RoleName="r", AssumeRolePolicyDocument=json.dumps(trust()))
    iam.put_role_policy(RoleName="r", PolicyName="p", PolicyDocument=json.dumps(READ_BUCKET))
    assert delete_role(iam, "r") is True
    assert delete_role(iam, "r") is False


def test_retry_while_propagating():
    calls = []

    def denied_once():
        calls.append(1)
        if len(calls) == 1:
            raise ClientError({"Error": {"Code": "AccessDenied"}}, "AssumeRole")
        return "ok"

    with pytest.raises(ClientError):
        retry_while_propagating(denied_once, timeout_s=0)
    assert retry_while_propagating(denied_once, timeout_s=0) == "ok"
    calls.clear()
    other = ClientError({"Error": {"Code": "NoSuchEntity"}}, "AssumeRole")

    def fails():
        raise other

    with pytest.raises(ClientError):
        retry_while_propagating(fails, timeout_s=10)  # not retried: raises at once
