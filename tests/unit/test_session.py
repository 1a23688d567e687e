import json
import os

import pytest

import labkit
from labkit import guard
from labkit.errors import LabKitError, OffMachineRequestError
from labkit.session import _strip_empty_dicts, empty_and_delete_bucket



def where(lab):
    """CreateBucket's location for the lab's region (us-east-1 takes none)."""
    if lab.region == "us-east-1":
        return {}
    return {"CreateBucketConfiguration": {"LocationConstraint": lab.region}}

@pytest.fixture
def lab(monkeypatch, tmp_path):
    monkeypatch.setenv("COURSE_WORKDIR", str(tmp_path))
    monkeypatch.delenv("COURSE_BACKEND", raising=False)
    with labkit.lab_context("98-unit-test") as lab:
        yield lab


def test_local_lab_uses_fake_credentials_and_the_guard(lab):
    assert lab.is_local
    assert os.environ["AWS_ACCESS_KEY_ID"] in ("testing", "FOOBARKEY")  # ours, then moto's
    assert os.environ["AWS_CONFIG_FILE"] == os.devnull
    assert "AWS_PROFILE" not in os.environ
    assert guard.installed()
    assert lab.account_id == "123456789012"
    assert lab.client("sts").get_caller_identity()["Account"] == "123456789012"


def test_cleanup_restores_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("COURSE_WORKDIR", str(tmp_path))
    monkeypatch.setenv("AWS_PROFILE", "my-real-profile")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAREALLOOKINGKEY00")
    lab = labkit.start_lab("98-unit-test", quiet=True)
    assert "AWS_PROFILE" not in os.environ
    lab.cleanup(verbose=False)
    assert os.environ["AWS_PROFILE"] == "my-real-profile"
    assert os.environ["AWS_ACCESS_KEY_ID"] == "AKIAREALLOOKINGKEY00"
    assert not guard.installed()
    assert lab.closed
    with pytest.raises(LabKitError, match="cleaned up"):
        lab.client("s3")
    assert lab.cleanup(verbose=False) == []  # a second cleanup is harmless


def test_a_local_lab_refuses_the_sdks_telemetry_before_any_lookup(monkeypatch, tmp_path):
    # SDK v3 sends an HTTPS GET (requests, not botocore) to
    # sm-pysdk-t-<region>.s3.<region>.amazonaws.com after its calls; the audit of lab 08's
    # kernel caught it. On the local backend the guard refuses it before any name lookup.
    import socket

    import requests
    from sagemaker.core.telemetry import telemetry_logging

    looked_up: list[object] = []
    real_getaddrinfo = socket.getaddrinfo

    def recording(host, *args, **kwargs):
        looked_up.append(host)
        return real_getaddrinfo(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", recording)
    monkeypatch.setenv("COURSE_WORKDIR", str(tmp_path))
    monkeypatch.delenv("COURSE_BACKEND", raising=False)
    original = requests.sessions.Session.send
    lab = labkit.start_lab("98-unit-test", quiet=True)
    try:
        url = "https://sm-pysdk-t-us-east-1.s3.us-east-1.amazonaws.com/telemetry?x-status=1"
        with pytest.raises(OffMachineRequestError, match="sm-pysdk-t-us-east-1"):
            requests.get(url, timeout=1)
        assert telemetry_logging._requests_helper(url, 1) is None  # offline, it carries on
        # the SDK's own path: it catches the refusal and goes on
        telemetry_logging._send_telemetry_request_sync(1, [1], lab.sagemaker_session())
    finally:
        lab.cleanup(verbose=False)
    assert not [h for h in looked_up if "amazonaws" in str(h)], looked_up
    assert requests.sessions.Session.send is original  # restored at cleanup


def test_telemetry_still_pending_at_cleanup_is_refused_too(monkeypatch, tmp_path):
    # The SDK sends telemetry from a daemon thread: one still running when the lab's
    # clean-up removes the guard must meet the guard, not the network.
    import threading

    import requests

    from labkit import guard

    import inspect

    from sagemaker.core.telemetry import telemetry_logging

    # the thread's name is how uninstall() finds it: the pinned SDK must still use it
    assert f'name="{guard.SDK_TELEMETRY_THREAD}"' in inspect.getsource(
        telemetry_logging._send_telemetry_request)
    escaped: list[str] = []
    monkeypatch.setattr(requests.sessions.Session, "send", requests.sessions.Session.send)
    monkeypatch.setattr(guard, "_original_requests_send",  # what uninstall() puts back
                        lambda self, request, **kw: escaped.append(request.url))
    monkeypatch.setenv("COURSE_WORKDIR", str(tmp_path))
    monkeypatch.delenv("COURSE_BACKEND", raising=False)
    outcome: list[BaseException] = []
    started = threading.Event()

    def telemetry() -> None:  # as the SDK's _send_telemetry_request does, a moment later
        started.set()
        threading.Event().wait(0.3)
        try:
            requests.get("https://sm-pysdk-t-us-east-1.s3.us-east-1.amazonaws.com/t", timeout=1)
        except requests.exceptions.ConnectionError as exc:
            outcome.append(exc)

    lab = labkit.start_lab("98-unit-test", quiet=True)
    thread = threading.Thread(target=telemetry, name=guard.SDK_TELEMETRY_THREAD, daemon=True)
    thread.start()
    started.wait(5)
    lab.cleanup(verbose=False)
    thread.join(5)
    assert escaped == [], "a telemetry send went out after the guard came off"
    assert len(outcome) == 1 and isinstance(outcome[0], OffMachineRequestError)


def test_bucket_is_tagged_and_deleted_at_cleanup(monkeypatch, tmp_path):
    monkeypatch.setenv("COURSE_WORKDIR", str(tmp_path))
    lab = labkit.start_lab("98-unit-test", quiet=True)
    name = lab.bucket("data")
    assert lab.bucket("data") == name  # idempotent
    s3 = lab.client("s3")
    s3.put_object(Bucket=name, Key="a/b.txt", Body=b"x")
    tags = s3.get_bucket_tagging(Bucket=name)["TagSet"]
    assert {"Key": "course", "Value": "mle-on-aws"} in tags
    assert {"Key": "lab", "Value": "98-unit-test"} in tags
    lab.on_cleanup("check the bucket is gone afterwards", lambda: None)
    # Look at the bucket list from inside the mock, just before it stops.
    seen = []
    lab._cleanups.insert(0, type(lab._cleanups[0])("probe", lambda: seen.append(
        [b["Name"] for b in s3.list_buckets()["Buckets"]])))
    assert lab.cleanup(verbose=False) == []
    assert seen == [[]]


def test_cleanup_keeps_going_and_reports_problems(lab, capsys):
    ran = []
    lab.on_cleanup("first registered", lambda: ran.append("first"))
    lab.on_cleanup("fails", lambda: 1 / 0)
    lab.on_cleanup("last registered", lambda: ran.append("last"))
    problems = lab.cleanup(verbose=False)
    assert ran == ["last", "first"]
    assert len(problems) == 1 and "fails" in problems[0]
    assert "cleanup problem" in capsys.readouterr().err


def test_starting_again_cleans_up_the_previous_lab(monkeypatch, tmp_path):
    monkeypatch.setenv("COURSE_WORKDIR", str(tmp_path))
    first = labkit.start_lab("98-unit-test", quiet=True)
    first.bucket()
    second = labkit.start_lab("98-unit-test", quiet=True)
    try:
        assert first.closed and not second.closed
        assert labkit.active_lab() is second
        # moto state is fresh: the first run's bucket is gone
        assert second.client("s3").list_buckets()["Buckets"] == []
    finally:
        second.cleanup(verbose=False)


def test_workdir_is_fresh_on_each_start(monkeypatch, tmp_path):
    monkeypatch.setenv("COURSE_WORKDIR", str(tmp_path))
    lab = labkit.start_lab("98-unit-test", quiet=True)
    (lab.workdir / "stale.txt").write_text("from the last run")
    lab.cleanup(verbose=False)
    lab = labkit.start_lab("98-unit-test", quiet=True)
    assert not (lab.workdir / "stale.txt").exists()
    lab.cleanup(verbose=False)


@pytest.mark.parametrize("bad", ["lab", "1-x", "01_iam", "01-IAM", "01-", ""])
def test_lab_names_are_checked(bad):
    with pytest.raises(LabKitError, match="two-digit number"):
        labkit.start_lab(bad)


def test_resource_names(lab):
    assert lab.resource_name("data") == "mlecourse-98-data"
    with pytest.raises(LabKitError, match="lower-case"):
        lab.resource_name("Data_1")
    with pytest.raises(LabKitError, match="longer than"):
        lab.resource_name("x" * 70)
    assert lab.tag_dict == {"course": "mle-on-aws", "lab": "98-unit-test", "learner": "local"}
    assert lab.bucket_name("data") == "mlecourse-98-data"  # local names carry no token


def test_instance_type_and_role(lab):
    assert lab.instance_type("ml.m5.xlarge") == "local_cpu"
    arn = lab.execution_role_arn()
    assert arn == lab.execution_role_arn()  # created once, then found
    role = lab.client("iam").get_role(RoleName=arn.rsplit("/", 1)[1])["Role"]
    trust = role["AssumeRolePolicyDocument"]
    trust = json.loads(trust) if isinstance(trust, str) else trust
    assert trust["Statement"][0]["Principal"] == {"Service": "sagemaker.amazonaws.com"}


def test_moto_server_shares_state_and_stops_at_cleanup(lab):
    import boto3

    url = lab.moto_server_url()
    assert url.startswith("http://127.0.0.1:")
    assert lab.moto_server_url() == url
    lab.client("s3").create_bucket(Bucket="made-in-process", **where(lab))
    remote = boto3.client("s3", endpoint_url=url, region_name="us-east-1")
    assert "made-in-process" in [b["Name"] for b in remote.list_buckets()["Buckets"]]


def test_aws_backend_without_credentials_says_what_to_do(monkeypatch, tmp_path):
    class NoCredentials:
        def __init__(self, **kwargs):
            pass

        def client(self, name, **kwargs):
            raise RuntimeError("Unable to locate credentials")

    monkeypatch.setenv("COURSE_WORKDIR", str(tmp_path))
    monkeypatch.setenv("COURSE_BACKEND", "aws")
    monkeypatch.setattr("labkit.session.boto3.Session", NoCredentials)
    with pytest.raises(LabKitError, match="no working AWS credentials") as info:
        labkit.start_lab("98-unit-test", quiet=True)
    assert "unset COURSE_BACKEND" in str(info.value)


def test_strip_empty_dicts_keeps_real_values():
    parsed = {
        "TrainingJobName": "x",
        "VpcConfig": {},
        "ResponseMetadata": {},
        "Nested": [{"DataCaptureConfig": {}, "Keep": {"a": 1}}],
    }
    _strip_empty_dicts(parsed)
    assert parsed == {"TrainingJobName": "x", "ResponseMetadata": {}, "Nested": [{"Keep": {"a": 1}}]}


def test_moto_describe_responses_are_shimmed(lab):
    sm = lab.client("sagemaker")
    sm.create_model(
        ModelName="m",
        ExecutionRoleArn=lab.execution_role_arn(),
        PrimaryContainer={"Image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/x:1"},
    )
    described = sm.describe_model(ModelName="m")
    assert all(v != {} for k, v in described.items() if k != "ResponseMetadata")


def test_empty_and_delete_bucket_removes_versions(lab):
    s3 = lab.client("s3")
    s3.create_bucket(Bucket="versioned", **where(lab))
    s3.put_bucket_versioning(Bucket="versioned", VersioningConfiguration={"Status": "Enabled"})
    for i in range(3):
        s3.put_object(Bucket="versioned", Key="k", Body=str(i).encode())
    s3.delete_object(Bucket="versioned", Key="k")
    empty_and_delete_bucket(s3, "versioned")
    assert "versioned" not in [b["Name"] for b in s3.list_buckets()["Buckets"]]


def test_aws_backend_prints_the_real_account_first_and_names_by_account(monkeypatch, tmp_path, capsys):
    calls = []

    class FakeSTS:
        def get_caller_identity(self):
            calls.append("sts:GetCallerIdentity")
            return {"Account": "210987654321",
                    "Arn": "arn:aws:sts::210987654321:assumed-role/Admin/ana@example.com"}

    class FakeSession:
        def __init__(self, **kwargs):
            self.region_name = kwargs.get("region_name")

        def client(self, name, **kwargs):
            assert name == "sts", "nothing but STS may be called before the banner"
            return FakeSTS()

    monkeypatch.setenv("COURSE_WORKDIR", str(tmp_path))
    monkeypatch.setenv("COURSE_BACKEND", "aws")
    monkeypatch.setenv("COURSE_REGION", "eu-west-1")
    monkeypatch.setattr("labkit.session.boto3.Session", FakeSession)
    monkeypatch.delenv("COURSE_LEARNER", raising=False)
    monkeypatch.setattr("labkit.naming.STUDIO_METADATA", tmp_path / "no-studio.json")
    lab = labkit.start_lab("98-unit-test")
    try:
        out = capsys.readouterr().out
        token = lab.learner
        assert len(token) == 6 and token.isalnum()
        assert "backend: aws" in out and "REAL account 210987654321" in out
        assert f"learner {token}" in out and f"learner={token}" in out
        assert calls == ["sts:GetCallerIdentity"]
        assert not guard.installed()
        assert lab.resource_name("data") == f"mlecourse-98-data-{token}"
        assert lab.bucket_name("data") == (
            f"mlecourse-98-data-{token}-210987654321-eu-west-1")
        assert lab.tag_dict["learner"] == token
        assert lab.instance_type("ml.m5.large") == "ml.m5.large"
        with pytest.raises(LabKitError, match="local' backend only"):
            lab.moto_server_url()
        # outside Studio, no silent fallback to the caller's own role (an SSO role, say)
        with pytest.raises(LabKitError, match="not SageMaker Studio"):
            lab.execution_role_arn()
        assert calls == ["sts:GetCallerIdentity"]  # refused before asking anything
        monkeypatch.setenv("COURSE_SAGEMAKER_ROLE_ARN", "arn:aws:iam::210987654321:role/sm")
        assert lab.execution_role_arn() == "arn:aws:iam::210987654321:role/sm"
    finally:
        lab.cleanup(verbose=False)


def test_start_lab_never_empties_a_folder_it_did_not_make(monkeypatch, tmp_path):
    monkeypatch.setenv("COURSE_WORKDIR", str(tmp_path))
    mine = tmp_path / "98-unit-test" / "notes.txt"
    mine.parent.mkdir()
    mine.write_text("a learner's notes")
    with pytest.raises(labkit.LabKitError, match="did not put there"):
        labkit.start_lab("98-unit-test", quiet=True)
    assert mine.read_text() == "a learner's notes"


def test_start_lab_empties_its_own_scratch_folder(monkeypatch, tmp_path):
    monkeypatch.setenv("COURSE_WORKDIR", str(tmp_path))
    lab = labkit.start_lab("98-unit-test", quiet=True)
    (lab.workdir / "left-over.csv").write_text("x")
    lab.cleanup(verbose=False)
    lab = labkit.start_lab("98-unit-test", quiet=True)
    try:
        assert not (lab.workdir / "left-over.csv").exists()
    finally:
        lab.cleanup(verbose=False)


def test_local_mode_refusals_match_the_sdk():
    from pathlib import Path

    from sagemaker.core.common_utils import _SENSITIVE_SYSTEM_PATHS

    from labkit.session import LOCAL_MODE_REFUSES

    home = str(Path.home())
    for path in map(str, _SENSITIVE_SYSTEM_PATHS):
        in_home_dot_folder = path.startswith(home + "/.") and not path.startswith(
            home + "/.cache")
        assert path in LOCAL_MODE_REFUSES or in_home_dot_folder, path


# ---------------------------------------------------------------- one learner, one namespace
from labkit import naming  # noqa: E402


@pytest.mark.parametrize("bad", ["A", "ana_1", "x", "abcdefghi", "ana 1", "Ana1"])
def test_a_chosen_learner_token_is_checked(bad):
    with pytest.raises(LabKitError, match="not a learner token") as info:
        naming.token_from_env({"COURSE_LEARNER": bad})
    assert "2 to 8 lower-case" in str(info.value)


def test_learner_tokens_separate_people_who_share_a_role(tmp_path):
    none = tmp_path / "absent.json"
    arn = "arn:aws:sts::111122223333:assumed-role/SageMakerExecution/SageMaker"
    assert naming.learner_token(local=False, caller_arn=arn, environ={}, metadata=none) == (
        naming.learner_token(local=False, caller_arn=arn, environ={}, metadata=none))
    studio = []
    for who in ("ana", "ben"):
        meta = tmp_path / f"{who}.json"
        meta.write_text(json.dumps({"DomainId": "d-abc", "UserProfileName": who}))
        studio.append(naming.learner_token(local=False, caller_arn=arn, environ={},
                                           metadata=meta))
    assert studio[0] != studio[1]  # one shared execution role, two learners
    space = tmp_path / "space.json"
    space.write_text(json.dumps({"DomainId": "d-abc", "SpaceName": "ana-space"}))
    assert naming.learner_token(local=False, caller_arn=arn, environ={},
                                metadata=space) not in studio
    users = {naming.learner_token(local=False, caller_arn=f"arn:aws:iam::1:user/{u}",
                                  environ={}, metadata=none) for u in ("ana", "ben")}
    assert len(users) == 2
    assert all(naming.TOKEN_PATTERN.match(t) for t in [*studio, *users])
    assert naming.learner_token(local=False, caller_arn=arn, environ={
        "COURSE_LEARNER": "ana1"}, metadata=none) == "ana1"
    assert naming.learner_token(local=True, environ={}) == "local"
    with pytest.raises(LabKitError, match="COURSE_LEARNER"):
        naming.learner_token(local=False, caller_arn="", environ={}, metadata=none)


def test_carries_token_matches_whole_pieces_only():
    assert naming.carries_token("mlecourse-07-shop-ab12", "ab12")
    assert naming.carries_token("endpoint/mlecourse-07-shop-ab12/variant/AllTraffic", "ab12")
    assert not naming.carries_token("mlecourse-07-shop-ab123", "ab12")
    assert not naming.carries_token("mlecourse-07-xab12", "ab12")


@pytest.fixture
def aws_lab(monkeypatch, tmp_path):
    """A lab on the aws backend whose AWS is moto (in this process), learner 'ana1'."""
    from moto import mock_aws

    for key, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                       "AWS_SESSION_TOKEN": "testing", "AWS_CONFIG_FILE": os.devnull,
                       "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
                       "COURSE_BACKEND": "aws", "COURSE_REGION": "eu-west-1",
                       "COURSE_LEARNER": "ana1"}.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    with mock_aws():
        lab = labkit.start_lab("98-unit-test", quiet=True)
        try:
            yield lab
        finally:
            lab.cleanup(verbose=False)


def _s3_where(region):
    return {"CreateBucketConfiguration": {"LocationConstraint": region}}


def test_bucket_refuses_a_bucket_it_did_not_create(aws_lab):
    s3 = aws_lab.client("s3")
    name = aws_lab.bucket_name("data")
    s3.create_bucket(Bucket=name, **_s3_where(aws_lab.region))  # someone else's, untagged
    with pytest.raises(LabKitError, match="not this lab's to use") as info:
        aws_lab.bucket("data")
    assert "never adopts" in str(info.value) and "COURSE_LEARNER" in str(info.value)
    other = [*aws_lab.tags[:2], {"Key": "learner", "Value": "ben2"}]
    s3.put_bucket_tagging(Bucket=name, Tagging={"TagSet": other})
    with pytest.raises(LabKitError, match="learner"):
        aws_lab.bucket("data")
    assert not any(c.resources == (name,) for c in aws_lab._cleanups)  # nothing registered
    s3.put_bucket_tagging(Bucket=name, Tagging={"TagSet": aws_lab.tags})  # a re-run's
    assert aws_lab.bucket("data") == name
    assert any(c.resources == (name,) for c in aws_lab._cleanups)


def test_bucket_create_conflict_is_refused_and_unregistered(aws_lab, monkeypatch):
    from botocore.exceptions import ClientError

    s3 = aws_lab.client("s3")
    monkeypatch.setattr(aws_lab, "client", lambda service: s3)

    def taken(**kwargs):
        raise ClientError({"Error": {"Code": "BucketAlreadyExists", "Message": "taken"}},
                          "CreateBucket")

    monkeypatch.setattr(s3, "create_bucket", taken)
    with pytest.raises(LabKitError, match="BucketAlreadyExists"):
        aws_lab.bucket("data")
    assert aws_lab._cleanups == []  # no deletion of someone else's bucket left registered


def test_bucket_that_cannot_be_tagged_is_deleted_again(aws_lab, monkeypatch):
    from botocore.exceptions import ClientError

    s3 = aws_lab.client("s3")
    monkeypatch.setattr(aws_lab, "client", lambda service: s3)
    registered_before_create = []
    real_create = s3.create_bucket

    def create(**kwargs):
        registered_before_create.append([c.resources for c in aws_lab._cleanups])
        return real_create(**kwargs)

    def denied(**kwargs):
        raise ClientError({"Error": {"Code": "AccessDenied", "Message": "no"}},
                          "PutBucketTagging")

    monkeypatch.setattr(s3, "create_bucket", create)
    monkeypatch.setattr(s3, "put_bucket_tagging", denied)
    name = aws_lab.bucket_name("data")
    with pytest.raises(LabKitError, match="s3:PutBucketTagging"):
        aws_lab.bucket("data")
    assert registered_before_create == [[(name,)]]
    assert name not in [b["Name"] for b in s3.list_buckets()["Buckets"]]
    assert aws_lab._cleanups == []


def test_aws_names_carry_the_token_and_the_sweep_sees_only_this_learner(aws_lab):
    from labkit.sweep import find_course_resources

    mine = aws_lab.bucket("data")
    assert mine.startswith("mlecourse-98-data-ana1-")
    sqs = aws_lab.client("sqs")
    sqs.create_queue(QueueName=aws_lab.resource_name("q"))  # untagged: found by its name
    s3 = aws_lab.client("s3")
    theirs = mine.replace("-ana1-", "-ben2-")
    s3.create_bucket(Bucket=theirs, **_s3_where(aws_lab.region))
    s3.put_bucket_tagging(Bucket=theirs, Tagging={"TagSet": [
        *aws_lab.tags[:2], {"Key": "learner", "Value": "ben2"}]})
    sqs.create_queue(QueueName="mlecourse-98-q-ben2")
    names = {r.name for r in find_course_resources(aws_lab)}
    assert names == {mine, "mlecourse-98-q-ana1"}
    every = {r.name for r in find_course_resources(aws_lab, every_learner=True)}
    assert {theirs, "mlecourse-98-q-ben2"} <= every


def test_the_local_execution_role_is_never_adopted(lab):
    iam = lab.client("iam")
    name = lab.resource_name("execution")
    trust = json.dumps({"Version": "2012-10-17", "Statement": []})
    iam.create_role(RoleName=name, AssumeRolePolicyDocument=trust)  # not this lab's
    with pytest.raises(LabKitError, match="not this lab's"):
        lab.execution_role_arn()
    iam.delete_role(RoleName=name)
    iam.create_role(RoleName=name, AssumeRolePolicyDocument=trust, Tags=lab.tags)
    assert lab.execution_role_arn().endswith("/" + name)  # a re-run's: adopted
    assert lab.owns(lab.tag_dict) and not lab.owns({**lab.tag_dict, "learner": "ben2"})


def test_a_local_labs_client_cannot_reach_aws_even_after_cleanup():
    """After cleanup the mock and the global guard are gone; a client the learner kept from
    the local lab must still be refused before any connection (a hook on its session)."""
    import labkit
    from labkit.errors import OffMachineRequestError

    lab = labkit.start_lab("98-unit-test", quiet=True)
    sts = lab.client("sts")
    assert sts.get_caller_identity()["Account"] == lab.account_id
    assert lab.cleanup(verbose=False) == []
    with pytest.raises(OffMachineRequestError, match="sts.us-east-1.amazonaws.com|sts\\."):
        sts.get_caller_identity()


def test_a_lab_name_with_a_trailing_newline_is_refused():
    """'$' in a regular expression also matches before a final newline: the name check must
    match the whole string."""
    with pytest.raises(LabKitError):
        labkit.start_lab("98-unit-test\n", quiet=True)
