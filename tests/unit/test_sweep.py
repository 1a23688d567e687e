import json

import pytest

import labkit
from labkit.errors import LabKitError
from labkit.sweep import delete_course_resources, find_course_resources, kind_and_name


@pytest.fixture
def lab(monkeypatch, tmp_path):
    monkeypatch.setenv("COURSE_WORKDIR", str(tmp_path))
    with labkit.lab_context("98-unit-test") as lab:
        yield lab


def leave_resources_behind(lab, other_lab_tags):
    """What a lab leaves when its cleanup cell never ran (plus one untagged bystander)."""
    s3 = lab.client("s3")
    s3.create_bucket(Bucket="mlecourse-02-left")
    s3.put_object(Bucket="mlecourse-02-left", Key="a", Body=b"x")
    s3.put_bucket_tagging(Bucket="mlecourse-02-left", Tagging={"TagSet": other_lab_tags})
    s3.create_bucket(Bucket="not-the-course")
    lab.client("sqs").create_queue(QueueName="mlecourse-02-q", tags={t["Key"]: t["Value"] for t in other_lab_tags})
    iam = lab.client("iam")
    trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "states.amazonaws.com"}, "Action": "sts:AssumeRole"}]}
    iam.create_role(RoleName="mlecourse-02-role", AssumeRolePolicyDocument=json.dumps(trust), Tags=other_lab_tags)
    iam.put_role_policy(RoleName="mlecourse-02-role", PolicyName="p", PolicyDocument=json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]}))
    events = lab.client("events")
    events.put_rule(Name="mlecourse-02-rule", EventPattern=json.dumps({"source": ["aws.s3"]}), Tags=other_lab_tags)
    sm = lab.client("sagemaker")
    sm.create_model(ModelName="mlecourse-02-model", ExecutionRoleArn="arn:aws:iam::123456789012:role/x",
                    PrimaryContainer={"Image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/x:1"}, Tags=other_lab_tags)


def test_finds_only_course_resources_and_deletes_them_in_order(lab):
    tags = [{"Key": "course", "Value": "mle-on-aws"}, {"Key": "lab", "Value": "02-s3-event-notifications"}]
    leave_resources_behind(lab, tags)
    found = find_course_resources(lab)
    kinds = [r.kind for r in found]
    assert kinds == ["sagemaker:model", "events:rule", "sqs:queue", "s3:bucket", "iam:role"]
    assert {r.lab for r in found} == {"02-s3-event-notifications"}
    assert find_course_resources(lab, only_lab="01-other") == []

    dry = delete_course_resources(lab, found)
    assert [o for _, o in dry] == ["would delete"] * 5
    assert len(find_course_resources(lab)) == 5  # a dry run changes nothing

    outcomes = delete_course_resources(lab, found, dry_run=False)
    assert [o for _, o in outcomes] == ["deleted"] * 5
    assert find_course_resources(lab) == []
    assert [b["Name"] for b in lab.client("s3").list_buckets()["Buckets"]] == ["not-the-course"]


def test_a_failed_delete_is_reported_and_the_sweep_goes_on(lab):
    from labkit.sweep import CourseResource

    ghost = CourseResource("arn:aws:sqs:us-east-1:123456789012:mlecourse-gone", "sqs:queue", "mlecourse-gone", None)
    unknown = CourseResource("arn:aws:lambda:us-east-1:123456789012:function:f", "lambda:function", "f", None)
    outcomes = dict((r.name, o) for r, o in delete_course_resources(lab, [ghost, unknown], dry_run=False))
    assert outcomes["mlecourse-gone"].startswith("failed:")
    assert "does not know how to delete lambda:function" in outcomes["f"]


@pytest.mark.parametrize("arn,expected", [
    ("arn:aws:s3:::mlecourse-01-data", ("s3:bucket", "mlecourse-01-data")),
    ("arn:aws:sagemaker:us-east-1:123456789012:endpoint-config/ep", ("sagemaker:endpoint-config", "ep")),
    ("arn:aws:states:us-east-1:123456789012:stateMachine:sm", ("states:stateMachine", "sm")),
    ("arn:aws:iam::123456789012:role/r", ("iam:role", "r")),
    ("arn:aws:sqs:us-east-1:123456789012:q", ("sqs:queue", "q")),
])
def test_kind_and_name(arn, expected):
    assert kind_and_name(arn) == expected


def test_not_an_arn():
    with pytest.raises(LabKitError, match="not an ARN"):
        kind_and_name("mlecourse-bucket")
