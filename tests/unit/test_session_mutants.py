"""labkit.session: behaviour the mutation run found unchecked, written from the outside.

Expectations come from AWS's documentation (the environment variables the SDKs read,
https://docs.aws.amazon.com/sdkref/latest/guide/settings-reference.html; S3 versioned
deletes, https://docs.aws.amazon.com/AmazonS3/latest/userguide/DeletingObjectVersions.html;
IAM's rule that a role's policies go before the role,
https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_manage_delete.html) and from the
lab kit's promises to learners (names, tags, messages), typed out here by hand. Calls to AWS
go to the fake in ``awsfake`` (requests validated by botocore) or to moto via ``start_lab``.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import labkit
from labkit import guard
from labkit.backend import Backend
from labkit.errors import LabKitError
from labkit.session import Lab, _delete_role, _strip_empty_dicts, empty_and_delete_bucket

from awsfake import AWSError, FakeAWS, fake_lab, session


def plain_lab(tmp_path: Path, *, local: bool = True, name: str = "98-unit-test",
              learner: str = "ana1", region: str = "eu-west-1") -> Lab:
    return Lab(name=name, backend=Backend.LOCAL if local else Backend.AWS, region=region,
               boto_session=session(), account_id="210987654321", workdir=tmp_path,
               learner=learner)


# ---------------------------------------------------------------- names and tags
def test_names_on_local_and_on_aws(tmp_path):
    local = plain_lab(tmp_path, name="16a-serving-patterns")
    assert local.resource_name("data") == "mlecourse-16a-data"
    aws = plain_lab(tmp_path, local=False, name="07-shop")
    assert aws.resource_name("model") == "mlecourse-07-model-ana1"
    assert aws.bucket_name("data") == "mlecourse-07-data-ana1-210987654321-eu-west-1"
    assert aws.bucket_name() == "mlecourse-07-data-ana1-210987654321-eu-west-1"
    assert local.bucket_name("data") == "mlecourse-16a-data"
    assert aws.instance_type() == "ml.m5.large"
    assert aws.instance_type("ml.g5.xlarge") == "ml.g5.xlarge"
    assert local.instance_type("ml.g5.xlarge") == "local_cpu"
    assert local.is_local and not aws.is_local


def test_tags_name_the_course_the_lab_and_the_learner(tmp_path):
    lab = plain_lab(tmp_path, name="02-s3-events")
    assert lab.tags == [{"Key": "course", "Value": "mle-on-aws"},
                        {"Key": "lab", "Value": "02-s3-events"},
                        {"Key": "learner", "Value": "ana1"}]
    assert lab.tag_dict == {"course": "mle-on-aws", "lab": "02-s3-events", "learner": "ana1"}


@pytest.mark.parametrize("purpose", ["a", "data", "data-2", "x-", "9"])
def test_purposes_allowed(tmp_path, purpose):
    assert plain_lab(tmp_path).resource_name(purpose) == f"mlecourse-98-{purpose}"


@pytest.mark.parametrize("purpose", ["", "-data", "Data", "da_ta", "data!", "data\n"])
def test_purposes_refused_with_advice(tmp_path, purpose):
    with pytest.raises(LabKitError) as info:
        plain_lab(tmp_path).resource_name(purpose)
    assert info.value.problem == (f"resource_name({purpose!r}): a purpose must be lower-case "
                                  "letters, digits and hyphens.")
    assert info.value.fix == "pass a short word such as 'data', 'model' or 'events'."


def test_the_63_character_limit_is_inclusive(tmp_path):
    lab = plain_lab(tmp_path)
    fits = "p" * (63 - len("mlecourse-98-"))
    assert len(lab.resource_name(fits)) == 63
    with pytest.raises(LabKitError) as info:
        lab.resource_name(fits + "p")
    assert info.value.problem == f"The name 'mlecourse-98-{fits}p' is longer than 63 characters."
    assert info.value.fix == "use a shorter purpose word."
    assert lab.resource_name("data", max_length=17) == "mlecourse-98-data"
    with pytest.raises(LabKitError, match="longer than 16 characters"):
        lab.resource_name("data", max_length=16)
    aws = plain_lab(tmp_path, local=False)  # 13 + 4 + 5 + 13 + 10 = 45 characters
    assert len(aws.bucket_name("data")) == 45
    with pytest.raises(LabKitError, match="longer than 63"):
        aws.bucket_name("p" * 23)


# ---------------------------------------------------------------- cleanup
def test_cleanup_runs_last_registered_first_reports_and_prints(tmp_path, capsys):
    lab = fake_lab(tmp_path)
    ran = []
    lab.on_cleanup("first", lambda: ran.append("first"))
    lab.on_cleanup("broken", lambda: 1 / 0)
    lab.on_cleanup("last", lambda: ran.append("last"))
    assert lab.cleanup() == ["broken: division by zero"]
    assert ran == ["last", "first"]
    captured = capsys.readouterr()
    assert captured.out == "cleaned: last\ncleaned: first\n"
    assert captured.err == "cleanup problem: broken: division by zero\n"
    assert lab.closed
    assert lab.cleanup() == []  # twice is harmless
    with pytest.raises(LabKitError) as info:
        lab.client("s3")
    assert info.value.problem == "The lab '98-unit-test' has been cleaned up."
    assert info.value.fix == ("run the notebook from the top (labkit.start_lab starts a fresh "
                              "lab).")


def test_quiet_cleanup_prints_nothing(tmp_path, capsys):
    lab = fake_lab(tmp_path)
    lab.on_cleanup("x", lambda: None)
    assert lab.cleanup(verbose=False) == []
    assert capsys.readouterr().out == ""


# ---------------------------------------------------------------- deleting
def test_empty_and_delete_bucket_deletes_every_version_page_by_page(tmp_path):
    pages = [
        {"Versions": [{"Key": "a", "VersionId": "1"}, {"Key": "a", "VersionId": "2"}],
         "DeleteMarkers": [{"Key": "b", "VersionId": "3"}],
         "IsTruncated": True, "NextKeyMarker": "b", "NextVersionIdMarker": "3"},
        {"IsTruncated": True, "NextKeyMarker": "c", "NextVersionIdMarker": "4"},
        {"DeleteMarkers": [{"Key": "c", "VersionId": "5"}], "IsTruncated": False}]
    aws = FakeAWS({
        ("s3", "ListObjectVersions"): lambda p: pages[{None: 0, "b": 1, "c": 2}[
            p.get("KeyMarker")]],
        ("s3", "DeleteObjects"): {}, ("s3", "DeleteBucket"): {}}).install()
    lab = fake_lab(tmp_path)
    empty_and_delete_bucket(lab.client("s3"), "mlecourse-98-data")
    assert [(op, {k: v for k, v in p.items() if k != "EncodingType"}) for _, op, p in
            aws.calls] == [
        ("ListObjectVersions", {"Bucket": "mlecourse-98-data"}),
        ("DeleteObjects", {"Bucket": "mlecourse-98-data", "Delete": {"Objects": [
            {"Key": "a", "VersionId": "1"}, {"Key": "a", "VersionId": "2"},
            {"Key": "b", "VersionId": "3"}]}}),
        ("ListObjectVersions", {"Bucket": "mlecourse-98-data", "KeyMarker": "b",
                                "VersionIdMarker": "3"}),
        ("ListObjectVersions", {"Bucket": "mlecourse-98-data", "KeyMarker": "c",
                                "VersionIdMarker": "4"}),
        ("DeleteObjects", {"Bucket": "mlecourse-98-data", "Delete": {"Objects": [
            {"Key": "c", "VersionId": "5"}]}}),
        ("DeleteBucket", {"Bucket": "mlecourse-98-data"})]


def test_delete_role_removes_its_policies_first_and_ignores_a_missing_role(tmp_path):
    aws = FakeAWS({
        ("iam", "GetRole"): {"Role": {"RoleName": "r", "Path": "/", "RoleId": "AROA1234567890",
                                      "Arn": "arn:aws:iam::1:role/r", "CreateDate": 0}},
        ("iam", "ListAttachedRolePolicies"): {"AttachedPolicies": [
            {"PolicyName": "a", "PolicyArn": "arn:aws:iam::aws:policy/A"},
            {"PolicyName": "b", "PolicyArn": "arn:aws:iam::aws:policy/B"}]},
        ("iam", "ListRolePolicies"): {"PolicyNames": ["inline1", "inline2"]},
        ("iam", "DetachRolePolicy"): {}, ("iam", "DeleteRolePolicy"): {},
        ("iam", "DeleteRole"): {}}).install()
    iam = fake_lab(tmp_path).client("iam")
    _delete_role(iam, "r")
    assert [(op, p) for _, op, p in aws.calls] == [
        ("GetRole", {"RoleName": "r"}),
        ("ListAttachedRolePolicies", {"RoleName": "r"}),
        ("DetachRolePolicy", {"RoleName": "r", "PolicyArn": "arn:aws:iam::aws:policy/A"}),
        ("DetachRolePolicy", {"RoleName": "r", "PolicyArn": "arn:aws:iam::aws:policy/B"}),
        ("ListRolePolicies", {"RoleName": "r"}),
        ("DeleteRolePolicy", {"RoleName": "r", "PolicyName": "inline1"}),
        ("DeleteRolePolicy", {"RoleName": "r", "PolicyName": "inline2"}),
        ("DeleteRole", {"RoleName": "r"})]
    aws.calls.clear()
    aws.answers[("iam", "GetRole")] = AWSError("NoSuchEntity", "The role cannot be found.",
                                               404)
    _delete_role(iam, "r")
    assert aws.ops() == ["GetRole"]


def test_strip_empty_dicts_at_every_depth():
    parsed = {"A": {}, "ResponseMetadata": {}, "B": [{"C": {}, "D": [{"E": {}}, 1]}],
              "F": {"G": {}, "ResponseMetadata": {}}, "H": {"I": 0}}
    _strip_empty_dicts(parsed)
    assert parsed == {"ResponseMetadata": {}, "B": [{"D": [{}, 1]}],
                      "F": {"ResponseMetadata": {}}, "H": {"I": 0}}


# ---------------------------------------------------------------- start_lab
@pytest.mark.parametrize("good", ["01-iam-cross-account", "16a-serving-patterns", "99-sweep",
                                  "00-getting-started", "25b-data-parallel-training"])
def test_lab_names_accepted(monkeypatch, tmp_path, good):
    monkeypatch.setenv("COURSE_WORKDIR", str(tmp_path))
    lab = labkit.start_lab(good, quiet=True)
    try:
        assert lab.name == good and lab.workdir == tmp_path / good
    finally:
        lab.cleanup(verbose=False)


@pytest.mark.parametrize("bad", ["1-x", "001-x", "01ab-x", "01-", "01--x", "01-x-",
                                 "01-x_y", "01-X", "x01-y"])
def test_lab_names_refused_with_advice(bad):
    with pytest.raises(LabKitError) as info:
        labkit.start_lab(bad)
    assert info.value.problem == (f"start_lab({bad!r}): a lab name is its two-digit number "
                                  "and a slug.")
    assert info.value.fix == ("use the notebook's file name without .ipynb, e.g. "
                              "'01-iam-cross-account'.")


LOCAL_UNSET = ["AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SECURITY_TOKEN", "AWS_ENDPOINT_URL",
               "AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
               "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_ROLE_ARN"]


def test_local_lab_hides_every_way_to_a_real_account_and_restores_it(monkeypatch, tmp_path):
    monkeypatch.setenv("COURSE_WORKDIR", str(tmp_path))
    monkeypatch.setenv("COURSE_REGION", "eu-west-1")
    for name in LOCAL_UNSET:
        monkeypatch.setenv(name, f"real-{name}")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "ap-south-1")
    monkeypatch.delenv("AWS_REGION", raising=False)
    monkeypatch.delenv("AWS_EC2_METADATA_DISABLED", raising=False)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "real-secret")
    lab = labkit.start_lab("98-unit-test", quiet=True)
    try:
        assert [n for n in LOCAL_UNSET if n in os.environ] == []
        # moto's mock then puts its own fake keys in (FOOBARKEY): never a real one
        assert os.environ["AWS_SECRET_ACCESS_KEY"] in ("testing", "FOOBARSECRET")
        assert {n: os.environ[n] for n in (
            "AWS_SESSION_TOKEN",
            "AWS_EC2_METADATA_DISABLED", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE",
            "SAGEMAKER_VALIDATE_ROLE", "AWS_DEFAULT_REGION", "AWS_REGION")} == {
            "AWS_SESSION_TOKEN": "testing", "AWS_EC2_METADATA_DISABLED": "true",
            "AWS_CONFIG_FILE": os.devnull, "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
            "SAGEMAKER_VALIDATE_ROLE": "false", "AWS_DEFAULT_REGION": "eu-west-1",
            "AWS_REGION": "eu-west-1"}
        assert lab.region == "eu-west-1" and lab.account_id == "123456789012"
        assert lab.backend is Backend.LOCAL and guard.installed()
        assert labkit.active_lab() is lab
        assert (lab.workdir / ".labkit-scratch").is_file()
    finally:
        lab.cleanup(verbose=False)
    for name in LOCAL_UNSET:
        assert os.environ[name] == f"real-{name}"
    assert os.environ["AWS_DEFAULT_REGION"] == "ap-south-1"
    assert os.environ["AWS_SECRET_ACCESS_KEY"] == "real-secret"
    assert "AWS_REGION" not in os.environ and "AWS_EC2_METADATA_DISABLED" not in os.environ
    assert labkit.active_lab() is None and not guard.installed()


def test_start_lab_prints_the_banner_unless_quiet(monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("COURSE_WORKDIR", str(tmp_path))
    lab = labkit.start_lab("98-unit-test")
    lab.cleanup(verbose=False)
    out = capsys.readouterr().out
    assert "98-unit-test" in out and "local" in out
    labkit.start_lab("98-unit-test", quiet=True).cleanup(verbose=False)
    assert capsys.readouterr().out == ""


def test_a_folder_without_the_mark_is_refused_an_empty_one_is_used(monkeypatch, tmp_path):
    monkeypatch.setenv("COURSE_WORKDIR", f"  {tmp_path}  ")  # spaces are trimmed
    (tmp_path / "98-unit-test").mkdir()
    lab = labkit.start_lab("98-unit-test", quiet=True)  # empty, unmarked: fine
    (lab.workdir / "left.csv").write_text("x")
    lab.cleanup(verbose=False)
    (tmp_path / "98-unit-test" / ".labkit-scratch").unlink()
    with pytest.raises(LabKitError) as info:
        labkit.start_lab("98-unit-test", quiet=True)
    assert info.value.problem == (f"The lab's scratch folder {tmp_path / '98-unit-test'} "
                                  "holds files labkit did not put there.")
    assert info.value.fix == (
        "move them elsewhere (labkit empties this folder each time the lab starts), or set "
        "COURSE_WORKDIR to another folder.")
    assert (tmp_path / "98-unit-test" / "left.csv").read_text() == "x"


def test_the_default_work_folder_is_the_cache_unless_local_mode_refuses_it(monkeypatch,
                                                                          tmp_path):
    from labkit.session import _workdir_root

    monkeypatch.delenv("COURSE_WORKDIR", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert _workdir_root() == tmp_path / "home" / ".cache" / "mle-course"
    monkeypatch.setenv("COURSE_WORKDIR", "   ")
    assert _workdir_root() == tmp_path / "home" / ".cache" / "mle-course"
    (tmp_path / "tmp").mkdir()
    monkeypatch.setenv("TMPDIR", str(tmp_path / "tmp"))
    monkeypatch.setattr("tempfile.tempdir", None)
    for home in ("/root", "/etc/x", "/var/lib/y", "/opt/ml/metadata/z"):
        monkeypatch.setenv("HOME", home)
        assert _workdir_root() == tmp_path / "tmp" / "mle-course", home


def test_lab_context_cleans_up_even_when_the_body_fails(monkeypatch, tmp_path):
    monkeypatch.setenv("COURSE_WORKDIR", str(tmp_path))
    with pytest.raises(ZeroDivisionError):
        with labkit.lab_context("98-unit-test") as lab:
            1 / 0
    assert lab.closed and labkit.active_lab() is None


def test_moto_lacks_model_package_deletes_the_lab_adds_them(monkeypatch, tmp_path):
    """DeleteModelPackage and DeleteModelPackageGroup (moto 5.2.5 has neither): a group
    that still holds versions is refused as AWS refuses it (ConflictException)."""
    from botocore.exceptions import ClientError

    monkeypatch.setenv("COURSE_WORKDIR", str(tmp_path))
    monkeypatch.setenv("COURSE_REGION", "eu-west-1")
    with labkit.lab_context("98-unit-test") as lab:
        sm = lab.client("sagemaker")
        for group in ("g1", "g2"):
            sm.create_model_package_group(ModelPackageGroupName=group)
        spec = {"Containers": [{"Image": "123456789012.dkr.ecr.eu-west-1.amazonaws.com/x:1"}],
                "SupportedContentTypes": ["text/csv"],
                "SupportedResponseMIMETypes": ["text/csv"]}
        arns = [sm.create_model_package(ModelPackageGroupName=g, InferenceSpecification=spec)[
            "ModelPackageArn"] for g in ("g1", "g1", "g2")]
        with pytest.raises(ClientError) as info:
            sm.delete_model_package_group(ModelPackageGroupName="g1")
        assert info.value.response["Error"] == {
            "Code": "ConflictException", "Message": "Model package group g1 is not empty."}
        sm.delete_model_package(ModelPackageName=arns[0])
        sm.delete_model_package(ModelPackageName="g1/2")  # by name: group/version
        left = [p["ModelPackageArn"] for g in ("g1", "g2") for p in sm.list_model_packages(
            ModelPackageGroupName=g)["ModelPackageSummaryList"]]
        assert left == [arns[2]]
        assert sm.delete_model_package_group(ModelPackageGroupName="g1")[
            "ResponseMetadata"]["HTTPStatusCode"] == 200
        sm.delete_model_package_group(ModelPackageGroupName="g1")  # gone: no error
        groups = [g["ModelPackageGroupName"] for g in sm.list_model_package_groups()[
            "ModelPackageGroupSummaryList"]]
        assert groups == ["g2"]
        sm.delete_model_package(ModelPackageName=arns[2])
        sm.delete_model_package_group(ModelPackageGroupName="g2")


# ---------------------------------------------------------------- clean_up_by_tag
def nat(ident, lab, state="available"):
    return {"NatGatewayId": ident, "VpcId": "vpc-9", "State": state,
            "Tags": [{"Key": "course", "Value": "mle-on-aws"}, {"Key": "lab", "Value": lab},
                     {"Key": "learner", "Value": "local"}]}


def nat_world(answers=None):
    return FakeAWS({
        ("resourcegroupstaggingapi", "GetResources"): AWSError("AccessDenied", "optional"),
        ("ec2", "DescribeVpcs"): {"Vpcs": []},
        ("ec2", "DescribeNatGateways"): {"NatGateways": [
            nat("nat-1", "04-net"), nat("nat-2", "02-s3-events"),
            nat("nat-3", "04-net", "deleted"), nat("nat-4", "04-network")]},
        ("ec2", "DeleteNatGateway"): {}, **(answers or {})}).install()


def test_clean_up_by_tag_deletes_only_this_labs_tagged_resources(tmp_path):
    aws = nat_world()
    lab = fake_lab(tmp_path, name="04-net")
    lab.clean_up_by_tag("ec2:natgateway")
    assert aws.calls == []  # nothing happens until the clean-up
    assert lab.cleanup() == []
    assert aws.params("DeleteNatGateway") == [{"NatGatewayId": "nat-1"}]


def test_clean_up_by_tag_reports_what_it_could_not_delete_or_list(tmp_path, capsys):
    nat_world({("ec2", "DeleteNatGateway"): AWSError("DependencyViolation", "in use")})
    lab = fake_lab(tmp_path, name="04-net")
    lab.clean_up_by_tag("ec2:natgateway")
    assert lab.cleanup() == [
        "delete this lab's tagged ec2:natgateway: ec2:natgateway nat-1: failed: An error "
        "occurred (DependencyViolation) when calling the DeleteNatGateway operation: in use"]
    assert "cleaned:" not in capsys.readouterr().out
    nat_world({("ec2", "DescribeNatGateways"): AWSError("UnauthorizedOperation", "no"),
               ("ec2", "DescribeAddresses"): {"Addresses": []}})
    lab = fake_lab(tmp_path, name="04-net")
    lab.clean_up_by_tag("ec2:natgateway", "ec2:elastic-ip")
    assert lab.cleanup(verbose=False) == [
        "delete this lab's tagged ec2:natgateway, ec2:elastic-ip: could not list "
        "ec2:natgateway: An error occurred (UnauthorizedOperation) when calling the "
        "DescribeNatGateways operation: no"]


def test_clean_up_by_tag_refuses_kinds_the_sweep_does_not_know(tmp_path):
    lab = fake_lab(tmp_path, name="04-net")
    with pytest.raises(LabKitError) as info:
        lab.clean_up_by_tag("ec2:natgateway", "lambda:function", "ec2:nat")
    assert info.value.problem == "clean_up_by_tag: unknown kinds ['ec2:nat', 'lambda:function']."
    assert info.value.fix == "pass kinds from labkit.sweep.KINDS, e.g. 'ec2:natgateway'."
    assert lab.cleanup(verbose=False) == []  # nothing was registered


# ---------------------------------------------------------------- Lab.bucket
# S3 facts (https://docs.aws.amazon.com/AmazonS3/latest/API/API_HeadBucket.html: a missing
# bucket answers 404, one the caller may not read 403;
# https://docs.aws.amazon.com/AmazonS3/latest/API/API_CreateBucket.html: outside us-east-1
# the request names the Region in CreateBucketConfiguration.LocationConstraint, and a taken
# name fails with BucketAlreadyExists or BucketAlreadyOwnedByYou).
OWN_TAGS = [{"Key": "course", "Value": "mle-on-aws"}, {"Key": "lab", "Value": "98-unit-test"},
            {"Key": "learner", "Value": "ana1"}]
EMPTY_BUCKET = {("s3", "ListObjectVersions"): {"IsTruncated": False},
                ("s3", "DeleteBucket"): {}}


def s3_world(head, **answers):
    base = {("s3", "HeadBucket"): head, ("s3", "CreateBucket"): {},
            ("s3", "PutBucketTagging"): {}, **EMPTY_BUCKET}
    base.update({("s3", op): a for op, a in answers.items()})
    return FakeAWS(base).install()


@pytest.mark.parametrize("missing", ["404", "NoSuchBucket", "NotFound"])
def test_bucket_creates_tags_and_registers_its_deletion(tmp_path, capsys, missing):
    aws = s3_world(AWSError(missing, "", 404))
    lab = fake_lab(tmp_path, local=False, region="eu-west-1", learner="ana1",
                   account="210987654321")
    name = "mlecourse-98-data-ana1-210987654321-eu-west-1"
    assert lab.bucket() == name
    assert aws.ops() == ["HeadBucket", "CreateBucket", "PutBucketTagging"]
    assert aws.params("CreateBucket") == [{
        "Bucket": name, "CreateBucketConfiguration": {"LocationConstraint": "eu-west-1"}}]
    assert aws.params("PutBucketTagging") == [{"Bucket": name, "Tagging": {"TagSet": OWN_TAGS}}]
    assert lab.bucket("data") == name and len(aws.calls) == 3  # made once, then remembered
    assert lab.cleanup() == []
    assert aws.params("DeleteBucket") == [{"Bucket": name}]
    assert capsys.readouterr().out == f"cleaned: delete bucket {name}\n"


def test_bucket_in_us_east_1_sends_no_location(tmp_path):
    aws = s3_world(AWSError("404", "", 404))
    lab = fake_lab(tmp_path, local=False, region="us-east-1", learner="ana1")
    lab.bucket("model")
    assert aws.params("CreateBucket") == [
        {"Bucket": "mlecourse-98-model-ana1-123456789012-us-east-1"}]


def test_bucket_the_caller_may_not_read_is_refused(tmp_path):
    aws = s3_world(AWSError("403", "", 403))
    lab = fake_lab(tmp_path, local=False, region="eu-west-1", learner="ana1")
    with pytest.raises(LabKitError) as info:
        lab.bucket()
    name = "mlecourse-98-data-ana1-123456789012-eu-west-1"
    assert info.value.problem == (
        f"The bucket {name} is not this lab's to use: it exists and this caller may not "
        "read it (403). The course never adopts a bucket it did not create (tags "
        "course=mle-on-aws, learner=ana1, lab=98-unit-test).")
    assert info.value.fix == (
        "if it is yours and holds nothing you need, delete it (python -m labkit sweep "
        "lists the course's); if someone else uses it, set COURSE_LEARNER to a token of "
        "your own (2-8 of a-z and 0-9) so your names differ.")
    assert aws.ops() == ["HeadBucket"]
    assert lab.cleanup(verbose=False) == [] and aws.ops() == ["HeadBucket"]


def test_an_existing_bucket_is_adopted_only_with_this_labs_tags(tmp_path, capsys):
    aws = s3_world({}, GetBucketTagging={"TagSet": OWN_TAGS})
    lab = fake_lab(tmp_path, local=False, region="eu-west-1", learner="ana1")
    name = lab.bucket()
    assert aws.ops() == ["HeadBucket", "GetBucketTagging"]
    assert lab.bucket() == name and len(aws.calls) == 2
    assert lab.cleanup() == [] and aws.params("DeleteBucket") == [{"Bucket": name}]
    assert capsys.readouterr().out == f"cleaned: delete bucket {name}\n"
    # untagged (S3 answers NoSuchTagSet) or another learner's: refused, nothing registered
    for answer, shown in ((AWSError("NoSuchTagSet", "none"), "none"),
                          ({"TagSet": [{"Key": "course", "Value": "mle-on-aws"},
                                       {"Key": "lab", "Value": "98-unit-test"},
                                       {"Key": "learner", "Value": "bo2"}]},
                           "{'course': 'mle-on-aws', 'lab': '98-unit-test', "
                           "'learner': 'bo2'}")):
        aws = s3_world({}, GetBucketTagging=answer)
        lab = fake_lab(tmp_path, local=False, region="eu-west-1", learner="ana1")
        with pytest.raises(LabKitError) as info:
            lab.bucket()
        assert info.value.problem.startswith(
            "The bucket mlecourse-98-data-ana1-123456789012-eu-west-1 is not this lab's to "
            f"use: it exists with tags {shown}. The")
        assert lab.cleanup(verbose=False) == [] and "DeleteBucket" not in aws.ops()


@pytest.mark.parametrize("code", ["BucketAlreadyExists", "BucketAlreadyOwnedByYou"])
def test_a_taken_name_is_refused_and_its_deletion_forgotten(tmp_path, code):
    aws = s3_world(AWSError("404", "", 404), CreateBucket=AWSError(code, "taken", 409))
    lab = fake_lab(tmp_path, local=False, region="eu-west-1", learner="ana1")
    with pytest.raises(LabKitError) as info:
        lab.bucket()
    assert info.value.problem.startswith(
        "The bucket mlecourse-98-data-ana1-123456789012-eu-west-1 is not this lab's to "
        f"use: CreateBucket says {code}. The")
    assert lab.cleanup(verbose=False) == [] and aws.ops() == ["HeadBucket", "CreateBucket"]


def test_another_create_error_is_raised_as_it_is(tmp_path):
    from botocore.exceptions import ClientError

    aws = s3_world(AWSError("404", "", 404), CreateBucket=AWSError("AccessDenied", "no", 403))
    lab = fake_lab(tmp_path, local=False, region="eu-west-1", learner="ana1")
    with pytest.raises(ClientError) as info:
        lab.bucket()
    assert info.value.response["Error"]["Code"] == "AccessDenied"
    assert lab.cleanup(verbose=False) == [] and aws.ops() == ["HeadBucket", "CreateBucket"]


def test_a_bucket_that_cannot_be_tagged_is_deleted_again(tmp_path):
    aws = s3_world(AWSError("404", "", 404), PutBucketTagging=AWSError("AccessDenied", "no"))
    lab = fake_lab(tmp_path, local=False, region="eu-west-1", learner="ana1")
    name = "mlecourse-98-data-ana1-123456789012-eu-west-1"
    with pytest.raises(LabKitError) as info:
        lab.bucket()
    assert info.value.problem == (
        f"The bucket {name} was created but could not be tagged (An error occurred "
        "(AccessDenied) when calling the PutBucketTagging operation: no); it has been "
        "deleted again.")
    assert info.value.fix == (
        "allow s3:PutBucketTagging (and s3:DeleteBucket) on arn:aws:s3:::mlecourse-* for "
        "your identity: attach the course policy policies/course-learner.json (Studio's "
        "AmazonSageMakerFullAccess lacks both).")
    assert aws.params("DeleteBucket") == [{"Bucket": name}]
    assert lab.cleanup(verbose=False) == [] and len(aws.params("DeleteBucket")) == 1


# ---------------------------------------------------------------- execution_role_arn
# A SageMaker execution role trusts sagemaker.amazonaws.com to call sts:AssumeRole
# (https://docs.aws.amazon.com/sagemaker/latest/dg/sagemaker-roles.html).
ROLE = "mlecourse-98-execution"
ROLE_ARN = f"arn:aws:iam::123456789012:role/{ROLE}"


def role_world(get, tags=None):
    role = {"Path": "/", "RoleName": ROLE, "RoleId": "AROAEXAMPLE0000000000",
            "Arn": ROLE_ARN, "CreateDate": "2026-01-01T00:00:00Z"}
    return FakeAWS({
        ("iam", "GetRole"): get if get is not None else {"Role": role},
        ("iam", "CreateRole"): {"Role": role},
        ("iam", "ListRoleTags"): {"Tags": tags or [], "IsTruncated": False},
        ("iam", "ListRolePolicies"): {"PolicyNames": []},
        ("iam", "ListAttachedRolePolicies"): {"AttachedPolicies": []},
        ("iam", "DeleteRole"): {}}).install()


def test_local_role_is_created_trusting_sagemaker_and_deleted(tmp_path, capsys):
    import json

    aws = role_world(AWSError("NoSuchEntity", "no role", 404))
    lab = fake_lab(tmp_path, learner="ana1")
    assert lab.execution_role_arn() == ROLE_ARN
    (create,) = aws.params("CreateRole")
    assert create["RoleName"] == ROLE and create["Tags"] == OWN_TAGS
    trust = json.loads(create["AssumeRolePolicyDocument"])
    assert trust["Version"] == "2012-10-17"
    (statement,) = trust["Statement"]
    assert (statement["Effect"], statement["Principal"], statement["Action"]) == (
        "Allow", {"Service": "sagemaker.amazonaws.com"}, "sts:AssumeRole")
    role_world(None)  # now it exists: found, and not asked about its tags (the lab made it)
    assert lab.execution_role_arn() == ROLE_ARN
    aws = role_world(None)
    assert lab.cleanup() == []
    assert aws.params("DeleteRole") == [{"RoleName": ROLE}]
    assert capsys.readouterr().out == f"cleaned: delete role {ROLE}\n"


def test_an_existing_role_is_adopted_only_with_this_labs_tags(tmp_path, capsys):
    aws = role_world(None, OWN_TAGS)
    lab = fake_lab(tmp_path, learner="ana1")
    assert lab.execution_role_arn() == ROLE_ARN
    assert lab.execution_role_arn() == ROLE_ARN
    assert aws.ops() == ["GetRole", "ListRoleTags", "GetRole"]  # tags read once
    assert lab.cleanup() == [] and aws.params("DeleteRole") == [{"RoleName": ROLE}]
    assert capsys.readouterr().out == f"cleaned: delete role {ROLE}\n"
    aws = role_world(None, OWN_TAGS[:2])
    lab = fake_lab(tmp_path, learner="ana1")
    with pytest.raises(LabKitError) as info:
        lab.execution_role_arn()
    assert info.value.problem == (
        f"The role {ROLE} exists and is not this lab's (tags {{'course': 'mle-on-aws', "
        "'lab': '98-unit-test'}).")
    assert info.value.fix == "delete it, or run the lab in a fresh kernel."
    assert lab.cleanup(verbose=False) == [] and "DeleteRole" not in aws.ops()


def test_aws_role_from_the_variable_stripped(tmp_path, monkeypatch):
    FakeAWS().install()
    lab = fake_lab(tmp_path, local=False)
    monkeypatch.setenv("COURSE_SAGEMAKER_ROLE_ARN", "  arn:aws:iam::1:role/r \n")
    assert lab.execution_role_arn() == "arn:aws:iam::1:role/r"


def test_aws_role_outside_studio_is_refused_with_what_to_do(tmp_path, monkeypatch):
    from labkit import naming

    monkeypatch.setenv("COURSE_SAGEMAKER_ROLE_ARN", "   ")
    monkeypatch.setattr(naming, "STUDIO_METADATA", tmp_path / "absent.json")
    aws = FakeAWS().install()
    lab = fake_lab(tmp_path, local=False)
    with pytest.raises(LabKitError) as info:
        lab.execution_role_arn()
    assert info.value.problem == (
        "No SageMaker execution role: COURSE_SAGEMAKER_ROLE_ARN is not set and this is not "
        "SageMaker Studio.")
    assert info.value.fix == (
        "create a role SageMaker can assume (trust sagemaker.amazonaws.com), named "
        "mlecourse-… so the course policy may pass it, and set COURSE_SAGEMAKER_ROLE_ARN "
        "to its ARN.")
    assert aws.calls == []


def test_aws_role_in_studio_comes_from_the_sdk_or_is_refused(tmp_path, monkeypatch):
    from sagemaker.core.helper import session_helper

    from labkit import naming

    monkeypatch.delenv("COURSE_SAGEMAKER_ROLE_ARN", raising=False)
    (tmp_path / "meta.json").write_text("{}")
    monkeypatch.setattr(naming, "STUDIO_METADATA", tmp_path / "meta.json")
    lab = fake_lab(tmp_path, local=False)
    monkeypatch.setattr(Lab, "sagemaker_session", lambda self: ("session of", self.name))
    seen = []
    monkeypatch.setattr(session_helper, "get_execution_role",
                        lambda s: seen.append(s) or "arn:aws:iam::1:role/studio")
    assert lab.execution_role_arn() == "arn:aws:iam::1:role/studio"
    assert seen == [("session of", "98-unit-test")]

    def fails(_):
        raise ValueError("not in a notebook instance")
    monkeypatch.setattr(session_helper, "get_execution_role", fails)
    with pytest.raises(LabKitError) as info:
        lab.execution_role_arn()
    assert info.value.problem == (
        "Could not find a SageMaker execution role for the 'aws' backend.")
    assert info.value.fix == (
        "run in SageMaker Studio, or set COURSE_SAGEMAKER_ROLE_ARN to the ARN of a role "
        "that SageMaker can assume.")
    assert isinstance(info.value.__cause__, ValueError)


def test_a_closed_lab_refuses_clients_roles_and_servers(tmp_path):
    lab = fake_lab(tmp_path)
    lab.cleanup(verbose=False)
    for call in (lab.execution_role_arn, lab.moto_server_url, lambda: lab.client("s3")):
        with pytest.raises(LabKitError) as info:
            call()
        assert info.value.problem == "The lab '98-unit-test' has been cleaned up."
        assert info.value.fix == (
            "run the notebook from the top (labkit.start_lab starts a fresh lab).")


def test_moto_server_url_is_refused_on_aws(tmp_path):
    lab = fake_lab(tmp_path, local=False)
    with pytest.raises(LabKitError) as info:
        lab.moto_server_url()
    assert info.value.problem == "moto_server_url() is for the 'local' backend only."
    assert info.value.fix == "on the 'aws' backend use the real service endpoints."


# ---------------------------------------------------------------- the billable guard's hook
class Op:
    def __init__(self, name):
        self.name = name


def test_refuse_unregistered_names_and_kinds(tmp_path):
    lab = fake_lab(tmp_path, name="07-shop")
    refuse = lab._refuse_unregistered
    refuse({"EndpointName": "e"}, Op("DescribeEndpoint"), "sagemaker")  # not billable
    refuse({"EndpointName": "e"}, Op("CreateEndpoint"), "kinesis")  # another service's op
    with pytest.raises(LabKitError) as info:
        refuse({"EndpointName": "mlecourse-07-e"}, Op("CreateEndpoint"), "sagemaker")
    assert info.value.problem == (
        "sagemaker CreateEndpoint refused: the deletion of 'mlecourse-07-e' is not "
        "registered.")
    assert info.value.fix == (
        "call lab.on_cleanup('delete mlecourse-07-e', <action>, resource='mlecourse-07-e') "
        "before the create, so it is deleted even if a later cell fails.")
    lab.on_cleanup("x", lambda: None, resource=["mlecourse-07-e"], kind="ec2:vpc-endpoint")
    refuse({"EndpointName": "mlecourse-07-e"}, Op("CreateEndpoint"), "sagemaker")
    with pytest.raises(LabKitError):  # the kind does not cover a name
        refuse({"StreamName": "ec2:vpc-endpoint"}, Op("CreateStream"), "kinesis")
    with pytest.raises(LabKitError) as info:
        refuse({}, Op("CreateNatGateway"), "ec2")
    assert info.value.problem == (
        "ec2 CreateNatGateway refused: no deletion of ec2:natgateway resources is "
        "registered.")
    assert info.value.fix == (
        "call lab.clean_up_by_tag('ec2:natgateway') (or lab.on_cleanup(..., "
        "kind='ec2:natgateway')) before the create, so the resource is deleted even if a "
        "later cell fails.")
    with pytest.raises(LabKitError):  # a name does not cover a kind
        lab.on_cleanup("y", lambda: None, resource="ec2:natgateway")
        refuse({}, Op("CreateNatGateway"), "ec2")
    tagged = {"TagSpecifications": [
        {"ResourceType": "vpc-endpoint", "Tags": [{"Key": "course", "Value": "mle-on-aws"}]},
        {"ResourceType": "vpc-endpoint", "Tags": [{"Key": "lab", "Value": "07-shop"}]}]}
    refuse(tagged, Op("CreateVpcEndpoint"), "ec2")
    for wrong in ({}, {"TagSpecifications": [{"Tags": [{"Key": "lab", "Value": "07-sho"}]}]},
                  {"TagSpecifications": [{"Tags": [{"Key": "Lab", "Value": "07-shop"}]}]},
                  {"TagSpecifications": [{"ResourceType": "vpc-endpoint"}]}):
        with pytest.raises(LabKitError) as info:
            refuse(wrong, Op("CreateVpcEndpoint"), "ec2")
        assert info.value.problem == (
            "ec2 CreateVpcEndpoint refused: the request does not tag the resource with "
            "lab=07-shop, so its registered deletion could not find it.")
        assert info.value.fix == "add TagSpecifications with lab.tags to the request."
    lab.cleanup(verbose=False)
    refuse({}, Op("CreateNatGateway"), "ec2")  # a closed lab refuses nothing any more


# ---------------------------------------------------------------- cleanup's other duties
def test_cleanup_removes_the_labs_containers_and_networks_and_says_so(tmp_path, capsys,
                                                                     monkeypatch):
    from labkit import docker

    asked = []
    monkeypatch.setattr(docker, "remove_containers_since",
                        lambda before: asked.append(("c", before)) or ["a1", "b2"])
    monkeypatch.setattr(docker, "remove_networks_since",
                        lambda before: asked.append(("n", before)) or ["n1", "n2"])
    lab = fake_lab(tmp_path)
    lab._containers_before, lab._networks_before = {"old"}, {"bridge"}
    assert lab.cleanup() == []
    assert asked == [("c", {"old"}), ("n", {"bridge"})]
    assert capsys.readouterr().out == (
        "cleaned: removed 2 container(s) the lab started\n"
        "cleaned: removed Docker network(s) n1, n2\n")
    monkeypatch.setattr(docker, "remove_containers_since", lambda before: [])
    monkeypatch.setattr(docker, "remove_networks_since", lambda before: [])
    lab = fake_lab(tmp_path)
    lab._containers_before, lab._networks_before = set(), set()
    lab.cleanup()
    assert capsys.readouterr().out == ""  # nothing removed, nothing said
    monkeypatch.setattr(docker, "remove_containers_since", lambda before: ["a1"])
    monkeypatch.setattr(docker, "remove_networks_since", lambda before: ["n1"])
    lab = fake_lab(tmp_path)
    lab._containers_before, lab._networks_before = set(), set()
    lab.cleanup(verbose=False)
    assert capsys.readouterr().out == ""


def test_cleanup_reports_what_moto_still_holds_and_logs_the_kinds(tmp_path, capsys,
                                                                 monkeypatch):
    from labkit import inventory

    monkeypatch.setattr(inventory, "leftovers", lambda snap: [f"left behind: {snap}"])
    monkeypatch.setattr(inventory, "created_kinds",
                        lambda snap: {f"s3:bucket@{snap}", f"iam:role@{snap}"})
    log = tmp_path / "kinds.tsv"
    log.write_text("earlier\n")
    monkeypatch.setenv("COURSE_KINDS_LOG", f" {log} ")
    lab = fake_lab(tmp_path, name="07-shop")
    lab._snapshot = "snap"
    lab.on_cleanup("broken", lambda: 1 / 0)
    assert lab.cleanup(verbose=False) == ["broken: division by zero", "left behind: snap"]
    assert log.read_text() == "earlier\n07-shop\tiam:role@snap\n07-shop\ts3:bucket@snap\n"
    assert capsys.readouterr().err == (
        "cleanup problem: broken: division by zero\ncleanup problem: left behind: snap\n")
    assert lab.closed and lab.cleanup() == []  # a second clean-up finds nothing new
    monkeypatch.setenv("COURSE_KINDS_LOG", "  ")
    lab = fake_lab(tmp_path, name="07-shop")
    lab._snapshot = "snap"
    assert lab.cleanup(verbose=False) == ["left behind: snap"]
    assert log.read_text().count("\n") == 3  # an empty setting writes no log
    monkeypatch.delenv("COURSE_KINDS_LOG")
    monkeypatch.chdir(tmp_path)
    before = sorted(p.name for p in tmp_path.iterdir())
    lab = fake_lab(tmp_path, name="07-shop")
    lab._snapshot = "snap"
    lab.cleanup(verbose=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # unset: no log anywhere


def test_moto_model_package_deletes_act_in_the_clients_own_region(monkeypatch, tmp_path):
    """The shim deletes in the Region of the client that calls (not the lab's), and an
    unversioned package by its plain name (DeleteModelPackage takes a name or an ARN:
    https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_DeleteModelPackage.html)."""
    monkeypatch.setenv("COURSE_WORKDIR", str(tmp_path))
    monkeypatch.setenv("COURSE_REGION", "eu-west-1")
    spec = {"Containers": [{"Image": "123456789012.dkr.ecr.us-west-2.amazonaws.com/x:1"}],
            "SupportedContentTypes": ["text/csv"], "SupportedResponseMIMETypes": ["text/csv"]}
    with labkit.lab_context("98-unit-test") as lab:
        sm = lab.boto_session.client("sagemaker", region_name="us-west-2")
        sm.create_model_package_group(ModelPackageGroupName="far")
        sm.create_model_package(ModelPackageGroupName="far", InferenceSpecification=spec)
        sm.create_model_package(ModelPackageName="solo", InferenceSpecification=spec)
        sm.create_model_package(ModelPackageName="solo2", InferenceSpecification=spec)
        sm.delete_model_package(ModelPackageName="far/1")
        sm.delete_model_package(ModelPackageName="solo")
        left = [p["ModelPackageName"] for p in sm.list_model_packages()[
            "ModelPackageSummaryList"]]
        assert left == ["solo2"]
        sm.delete_model_package_group(ModelPackageGroupName="far")
        assert sm.list_model_package_groups()["ModelPackageGroupSummaryList"] == []
        sm.delete_model_package(ModelPackageName="solo2")


# ---------------------------------------------------------------- hooks outside the Lab
class Request:
    def __init__(self, url):
        self.url = url


def test_a_local_sessions_client_only_reaches_this_machine(monkeypatch):
    from labkit import session as session_module
    from labkit.errors import OffMachineRequestError

    monkeypatch.setattr(guard, "installed", lambda: False)
    session_module._refuse_off_machine(Request("http://127.0.0.1:5001/"))
    with pytest.raises(OffMachineRequestError) as info:
        session_module._refuse_off_machine(Request("https://sts.eu-west-1.amazonaws.com/x"))
    assert info.value.problem == (
        "Blocked a request to sts.eu-west-1.amazonaws.com from a client of a 'local' lab "
        "(a client kept after lab.cleanup(), or a missing mock).")
    assert info.value.fix == (
        "run the notebook from the top: labkit.start_lab(...) starts a fresh lab, and make "
        "clients with lab.client(...) after it.")
    monkeypatch.setattr(guard, "installed", lambda: True)  # the open lab's guard decides
    session_module._refuse_off_machine(Request("https://sts.eu-west-1.amazonaws.com/x"))


def test_the_active_lab_hook_reads_the_service_from_the_event(monkeypatch, tmp_path):
    from labkit import session as session_module

    lab = fake_lab(tmp_path, name="07-shop")
    monkeypatch.setattr(session_module, "_active", lab)
    hook = session_module._active_lab_hook
    with pytest.raises(LabKitError, match="^kinesis CreateStream refused"):
        hook({"StreamName": "s"}, Op("CreateStream"),
             event_name="before-parameter-build.kinesis.CreateStream")
    hook({"StreamName": "s"}, Op("CreateStream"), event_name="kinesis.CreateStream")
    hook({"StreamName": "s"}, Op("CreateStream"))
    monkeypatch.setattr(session_module, "_active", fake_lab(tmp_path, name="98-unit-test"))
    hook({"StreamName": "s"}, Op("CreateStream"),
         event_name="before-parameter-build.kinesis.CreateStream")  # scratch labs: off
    lab.closed = True
    monkeypatch.setattr(session_module, "_active", lab)
    hook({"StreamName": "s"}, Op("CreateStream"),
         event_name="before-parameter-build.kinesis.CreateStream")
    monkeypatch.setattr(session_module, "_active", None)
    hook({"StreamName": "s"}, Op("CreateStream"),
         event_name="before-parameter-build.kinesis.CreateStream")


def test_the_moto_server_listens_on_loopback_only_quietly_on_an_ephemeral_port(
        monkeypatch, tmp_path, capsys):
    """Binding port 0 lets the OS choose a free ephemeral port (never a privileged one,
    below 1024); a server for this machine's containers binds 127.0.0.1, not 0.0.0.0."""
    monkeypatch.setenv("COURSE_WORKDIR", str(tmp_path))
    with labkit.lab_context("98-unit-test") as lab:
        url = lab.moto_server_url()
        port = int(url.rsplit(":", 1)[1])
        assert url == f"http://127.0.0.1:{port}" and port >= 1024
        server = lab._moto_server[0]
        assert server._server.server_address == ("127.0.0.1", port)
        assert capsys.readouterr().out == ""  # moto's own start-up line is not printed
        assert lab._cleanups[-1].description == "stop moto server"


def test_a_non_empty_group_is_refused_with_http_400(monkeypatch, tmp_path):
    """SageMaker answers ConflictException with HTTP status 400 (https://docs.aws.amazon.com/
    sagemaker/latest/APIReference/API_DeleteModelPackageGroup.html)."""
    from botocore.exceptions import ClientError

    monkeypatch.setenv("COURSE_WORKDIR", str(tmp_path))
    spec = {"Containers": [{"Image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/x:1"}],
            "SupportedContentTypes": ["text/csv"], "SupportedResponseMIMETypes": ["text/csv"]}
    with labkit.lab_context("98-unit-test") as lab:
        sm = lab.client("sagemaker")
        sm.create_model_package_group(ModelPackageGroupName="g")
        arn = sm.create_model_package(ModelPackageGroupName="g",
                                      InferenceSpecification=spec)["ModelPackageArn"]
        with pytest.raises(ClientError) as info:
            sm.delete_model_package_group(ModelPackageGroupName="g")
        assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
        sm.delete_model_package(ModelPackageName=arn)
        sm.delete_model_package_group(ModelPackageGroupName="g")


def test_the_sdk_session_uses_the_labs_boto_session_and_bucket(tmp_path, monkeypatch):
    from sagemaker.core.helper import session_helper

    made = []
    monkeypatch.setattr(session_helper, "Session", lambda **kw: made.append(kw) or "sdk")
    s3_world(AWSError("404", "", 404))
    lab = fake_lab(tmp_path, local=False, region="eu-west-1", learner="ana1")
    assert lab.sagemaker_session() == "sdk"
    assert made == [{"boto_session": lab.boto_session,
                     "default_bucket": "mlecourse-98-sagemaker-ana1-123456789012-eu-west-1"}]


def test_the_role_deletion_is_registered_under_the_roles_name(tmp_path):
    role_world(AWSError("NoSuchEntity", "no role", 404))
    lab = fake_lab(tmp_path, learner="ana1")
    lab.execution_role_arn()
    assert lab._covered(ROLE, None) and not lab._covered("mlecourse-98-other", None)
    role_world(None, OWN_TAGS)
    lab = fake_lab(tmp_path, learner="ana1")
    lab.execution_role_arn()
    assert lab._covered(ROLE, None)


def test_the_moto_server_stops_at_cleanup(monkeypatch, tmp_path):
    import socket

    monkeypatch.setenv("COURSE_WORKDIR", str(tmp_path))
    with labkit.lab_context("98-unit-test") as lab:
        port = int(lab.moto_server_url().rsplit(":", 1)[1])
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
    assert lab.cleanup() == []
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=2)


def test_clean_up_by_tag_touches_only_the_kinds_it_was_given(tmp_path):
    aws = nat_world({("ec2", "DescribeAddresses"): {"Addresses": [{
        "AllocationId": "eipalloc-1", "PublicIp": "198.51.100.7", "Domain": "vpc",
        "Tags": [{"Key": "course", "Value": "mle-on-aws"}, {"Key": "lab", "Value": "04-net"},
                 {"Key": "learner", "Value": "local"}]}]}})
    lab = fake_lab(tmp_path, name="04-net")
    lab.clean_up_by_tag("ec2:natgateway")
    assert lab.cleanup(verbose=False) == []
    assert "DescribeAddresses" not in aws.ops() and "ReleaseAddress" not in aws.ops()
    assert aws.params("DeleteNatGateway") == [{"NatGatewayId": "nat-1"}]


def test_clean_up_by_tag_joins_its_problems_with_semicolons(tmp_path):
    nat_world({("ec2", "DeleteNatGateway"): AWSError("DependencyViolation", "in use"),
               ("ec2", "DescribeAddresses"): AWSError("UnauthorizedOperation", "no")})
    lab = fake_lab(tmp_path, name="04-net")
    lab.clean_up_by_tag("ec2:natgateway", "ec2:elastic-ip")
    assert lab.cleanup(verbose=False) == [
        "delete this lab's tagged ec2:natgateway, ec2:elastic-ip: ec2:natgateway nat-1: "
        "failed: An error occurred (DependencyViolation) when calling the DeleteNatGateway "
        "operation: in use; could not list ec2:elastic-ip: An error occurred "
        "(UnauthorizedOperation) when calling the DescribeAddresses operation: no"]


def test_local_session_is_local_mode_after_the_docker_check_or_the_sdk_session_on_aws(
        tmp_path, monkeypatch):
    """No Docker needed: the engine check and LocalSession are stand-ins that record."""
    import sagemaker.core.local as local_mode

    from labkit import docker

    seen = []
    monkeypatch.setattr(docker, "require_docker", lambda: seen.append("docker checked"))
    monkeypatch.setattr(local_mode, "LocalSession",
                        lambda **kw: seen.append(("LocalSession", kw)) or "local session")
    monkeypatch.setattr(Lab, "bucket", lambda self, purpose="data": f"bucket for {purpose}")
    lab = fake_lab(tmp_path)
    assert lab.local_session() == "local session"
    assert seen == ["docker checked", ("LocalSession", {
        "boto_session": lab.boto_session, "default_bucket": "bucket for sagemaker"})]
    seen.clear()
    monkeypatch.setattr(Lab, "sagemaker_session", lambda self: "sdk session")
    assert fake_lab(tmp_path, local=False).local_session() == "sdk session" and seen == []
    lab.cleanup(verbose=False)
    with pytest.raises(LabKitError, match="has been cleaned up"):
        lab.local_session()


def test_cleanup_survives_a_mock_that_fails_to_stop(tmp_path):
    class Mock:
        def stop(self):
            raise RuntimeError("already stopped")
    lab = fake_lab(tmp_path)
    lab._mock = Mock()
    assert lab.cleanup(verbose=False) == [] and lab.closed


def test_clients_are_made_in_the_labs_region_with_the_callers_options(tmp_path):
    lab = plain_lab(tmp_path, region="eu-west-1")
    assert lab.client("s3").meta.region_name == "eu-west-1"
    client = lab.client("s3", endpoint_url="http://127.0.0.1:4566")
    assert client.meta.endpoint_url == "http://127.0.0.1:4566"


def test_the_billable_guard_is_off_for_scratch_labs_only(tmp_path):
    import boto3
    from botocore.stub import Stubber

    from labkit.session import _install_billable_guard

    for name, refused in (("98-unit-test", False), ("07-shop", True)):
        boto = boto3.Session(aws_access_key_id="testing", aws_secret_access_key="testing",
                             region_name="eu-west-1")
        lab = Lab(name=name, backend=Backend.LOCAL, region="eu-west-1", boto_session=boto,
                  account_id="123456789012", workdir=tmp_path)
        _install_billable_guard(lab)
        kinesis = boto.client("kinesis")
        with Stubber(kinesis) as stub:
            stub.add_response("create_stream", {}, {"StreamName": "s"})
            if refused:
                with pytest.raises(LabKitError, match="^kinesis CreateStream refused"):
                    kinesis.create_stream(StreamName="s")
            else:
                kinesis.create_stream(StreamName="s")


def test_a_restart_cleans_the_last_lab_quietly_and_docker_is_opt_in(monkeypatch, tmp_path,
                                                                    capsys):
    monkeypatch.setenv("COURSE_WORKDIR", str(tmp_path))
    first = labkit.start_lab("98-unit-test", quiet=True)
    first.on_cleanup("something of the first run", lambda: None)
    assert first._containers_before is None and first._networks_before is None
    second = labkit.start_lab("98-unit-test", quiet=True)
    assert first.closed and capsys.readouterr().out == ""
    second.cleanup(verbose=False)


def test_start_lab_makes_a_nested_work_folder_and_reports_what_it_left(monkeypatch, tmp_path):
    monkeypatch.setenv("COURSE_WORKDIR", str(tmp_path / "a" / "b"))
    lab = labkit.start_lab("98-unit-test", quiet=True)
    assert (tmp_path / "a" / "b" / "98-unit-test" / ".labkit-scratch").read_text() == (
        "labkit empties this folder when the lab starts\n")
    where = ({} if lab.region == "us-east-1" else  # the Region rule of CreateBucket
             {"CreateBucketConfiguration": {"LocationConstraint": lab.region}})
    lab.client("s3").create_bucket(Bucket="mlecourse-98-forgotten", **where)  # unregistered
    problems = lab.cleanup(verbose=False)
    assert len(problems) == 1 and "mlecourse-98-forgotten" in problems[0]
