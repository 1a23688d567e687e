"""The leak check, the mid-lab check and the derived-kinds test (issue 15)."""

import json
import re
from pathlib import Path

import pytest

import labkit
from labkit import inventory
from labkit.paths import LABS_DIR, REPO_ROOT
from labkit.sweep import KINDS, ORDER, delete_course_resources, find_course_resources
from test_sweep import leave_everything

# Calls that make no resource of their own: data, parts of a resource the sweep deletes
# with its parent, job records, and non-AWS methods that the pattern also matches.
NOT_RESOURCES = {
    "put_object", "put_bucket_tagging", "put_bucket_policy", "put_bucket_versioning",
    "put_bucket_notification_configuration", "put_metric_data", "put_events",
    "put_record", "put_records", "put_record_batch",
    "start_execution", "start_pipeline_execution", "start_lab", "create_connection",
    "add_argument", "add_parser", "add_subparsers", "add_scalar", "add_histogram",
    "add_text", "add_figure", "add_patch", "register_forward_hook", "tag_resource",
    "create_presigned_url", "create_presigned_post", "add_tags",
    "create_server",  # socket.create_server (lab 25b's rendezvous port)
}
CREATING = re.compile(r"\.((?:create|put|register|allocate|attach|associate|subscribe|"
                      r"start|add|tag)_[a-z_]+|subscribe|upsert|deploy)\(")


def creating_calls(source: str) -> set[str]:
    """Every method call in ``source`` whose name says it creates or attaches something."""
    return set(CREATING.findall(source))


def unknown_creations(calls: set[str]) -> set[str]:
    known = {op for kind in KINDS for op in kind.creates} | NOT_RESOURCES
    return calls - known


def course_sources() -> dict[str, str]:
    sources = {}
    for path in sorted(LABS_DIR.rglob("*.ipynb")):
        cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
        sources[str(path.relative_to(REPO_ROOT))] = "\n".join(
            "".join(c["source"]) for c in cells if c["cell_type"] == "code")
    for path in sorted((REPO_ROOT / "labkit").rglob("*.py")):
        sources[str(path.relative_to(REPO_ROOT))] = path.read_text(encoding="utf-8")
    return sources


@pytest.fixture
def lab(monkeypatch, tmp_path):
    monkeypatch.setenv("COURSE_WORKDIR", str(tmp_path))
    with labkit.lab_context("98-unit-test") as lab:
        yield lab


# ---------------------------------------------------------------- derived kinds
def test_every_kind_the_labs_create_is_one_the_sweep_deletes():
    """Static: the creating calls in every lab and in the kit map to a sweep kind."""
    unknown = {}
    for name, source in course_sources().items():
        missing = unknown_creations(creating_calls(source))
        if missing:
            unknown[name] = sorted(missing)
    assert unknown == {}, f"the sweep cannot delete what these create: {unknown}"


def test_the_derived_kinds_test_can_fail():
    source = 'kms = lab.client("kms")\nkey = kms.create_key(Tags=lab.tags)\nsm.create_model(**r)'
    assert unknown_creations(creating_calls(source)) == {"create_key"}


def test_the_kinds_a_lab_created_are_recorded_and_all_known(lab, tmp_path, monkeypatch):
    """Dynamic: what moto recorded (instances_tracked, as /moto-api/data.json shows it)."""
    leave_everything(lab)
    delete_course_resources(lab, find_course_resources(lab), dry_run=False)
    created = inventory.created_kinds(lab._snapshot)
    assert {"sagemaker.FakeEndpoint", "ec2.NatGateway", "scheduler.Schedule",
            "s3.FakeBucket", "iam.Role"} <= created
    assert "ec2.Ami" not in created  # a default, made when EC2 was first used
    assert inventory.unknown_kinds(created) == []
    assert inventory.unknown_kinds({"kms.Key"}) == ["kms.Key"]


def test_cleanup_writes_the_kinds_log(monkeypatch, tmp_path):
    log = tmp_path / "kinds.tsv"
    monkeypatch.setenv("COURSE_WORKDIR", str(tmp_path))
    monkeypatch.setenv("COURSE_KINDS_LOG", str(log))
    lab = labkit.start_lab("98-unit-test", quiet=True)
    lab.bucket()
    assert lab.cleanup(verbose=False) == []
    assert "98-unit-test\ts3.FakeBucket" in log.read_text().splitlines()


# ---------------------------------------------------------------- the leak check
def test_cleanup_reports_what_the_lab_left(monkeypatch, tmp_path):
    monkeypatch.setenv("COURSE_WORKDIR", str(tmp_path))
    lab = labkit.start_lab("98-unit-test", quiet=True)
    lab.bucket("data")  # registered: cleaned
    lab.execution_role_arn()  # the kit's own role: cleaned too
    lab.client("sqs").create_queue(QueueName="mlecourse-98-forgotten")
    lab.client("ec2").describe_vpcs()  # EC2's defaults (VPC, AMIs) are not the lab's
    lab.client("sagemaker").create_training_job(
        TrainingJobName="mlecourse-98-job", RoleArn=lab.execution_role_arn(),
        AlgorithmSpecification={"TrainingImage": "x", "TrainingInputMode": "File"},
        OutputDataConfig={"S3OutputPath": "s3://b/o"},
        ResourceConfig={"InstanceType": "ml.m5.large", "InstanceCount": 1,
                        "VolumeSizeInGB": 1},
        StoppingCondition={"MaxRuntimeInSeconds": 60})  # a record, not a leftover
    assert lab.cleanup(verbose=False) == ["left behind: sqs:queue mlecourse-98-forgotten"]


def test_a_clean_lab_has_no_problems(monkeypatch, tmp_path):
    monkeypatch.setenv("COURSE_WORKDIR", str(tmp_path))
    lab = labkit.start_lab("98-unit-test", quiet=True)
    lab.bucket()
    lab.execution_role_arn()
    sqs = lab.client("sqs")
    lab.on_cleanup("delete queue", lambda: sqs.delete_queue(QueueUrl=url))
    url = sqs.create_queue(QueueName="mlecourse-98-q")["QueueUrl"]
    assert lab.cleanup(verbose=False) == []


def test_a_deleted_role_that_the_kit_made_is_not_a_problem(monkeypatch, tmp_path):
    monkeypatch.setenv("COURSE_WORKDIR", str(tmp_path))
    lab = labkit.start_lab("98-unit-test", quiet=True)
    arn = lab.execution_role_arn()
    lab.client("iam").delete_role(RoleName=arn.rsplit("/", 1)[1])
    assert lab.cleanup(verbose=False) == []


def test_the_sweep_leaves_nothing_the_inventory_sees(lab):
    leave_everything(lab)
    assert inventory.leftovers(lab._snapshot)
    delete_course_resources(lab, find_course_resources(lab), dry_run=False)
    assert inventory.leftovers(lab._snapshot) == []


# ---------------------------------------------------------------- mid-lab: unfindable
def test_unfindable_lists_what_the_sweep_would_miss(lab):
    iam = lab.client("iam")
    trust = json.dumps({"Version": "2012-10-17", "Statement": []})
    iam.create_role(RoleName="no-prefix-no-tag", AssumeRolePolicyDocument=trust)
    iam.create_role(RoleName="mlecourse-98-named", AssumeRolePolicyDocument=trust)
    iam.create_role(RoleName="tagged", AssumeRolePolicyDocument=trust, Tags=lab.tags)
    lab.client("scheduler").create_schedule(  # cannot be tagged: found by name only
        Name="weekly", ScheduleExpression="rate(7 days)", FlexibleTimeWindow={"Mode": "OFF"},
        Target={"Arn": "arn:aws:sqs:us-east-1:123456789012:q",
                "RoleArn": "arn:aws:iam::123456789012:role/x"})
    lab.client("cloudwatch").put_dashboard(DashboardName="mlecourse-98-board",
                                           DashboardBody="{}")  # a kind the sweep lacks
    lab.client("ec2").describe_vpcs()
    assert inventory.unfindable(lab) == [
        "unfindable: cloudwatch.Dashboard mlecourse-98-board (the sweep does not know "
        "this kind)",
        "unfindable: iam:role no-prefix-no-tag (untagged, no prefix)",
        "unfindable: scheduler:schedule weekly (untagged, no prefix)",
    ]
    lab._snapshot = inventory.snapshot()  # these were the test's, not a lab's leftovers


def test_children_of_course_resources_are_findable(lab):
    leave_everything(lab)  # subnets, route tables, ENIs, IGW inside a course VPC; untagged
    assert inventory.unfindable(lab) == []
    delete_course_resources(lab, find_course_resources(lab), dry_run=False)


def test_what_the_sweep_finds_matches_what_inventory_calls_findable(lab):
    leave_everything(lab)
    swept = {r.kind for r in find_course_resources(lab)}
    seen = {r.kind for r in inventory.new_resources(lab._snapshot)
            if r.kind and not r.is_record and r.findable}
    # The inventory also sees VPC parts the sweep leaves to the VPC (default ACL and group).
    assert seen - swept <= {"ec2:network-acl", "ec2:security-group"}
    assert swept - seen == set()
    delete_course_resources(lab, find_course_resources(lab), dry_run=False)


def test_inventory_kinds_are_sweep_kinds():
    assert set(inventory.MODEL_KINDS.values()) <= set(ORDER)
    assert not (set(inventory.MODEL_KINDS) & inventory.PARTS_AND_DATA)
    assert Path(inventory.__file__).name == "inventory.py"


def test_a_tagged_iam_user_without_the_prefix_is_findable(monkeypatch, tmp_path):
    # moto's IAM user computes its ARN (no attribute): the tags must still be found by it
    import labkit
    from labkit import inventory

    monkeypatch.setenv("COURSE_WORKDIR", str(tmp_path))
    lab = labkit.start_lab("98-unit-test", quiet=True)
    try:
        lab.client("iam").create_user(UserName="someone-tagged", Tags=lab.tags)
        assert inventory.unfindable(lab) == []
        lab.client("iam").create_user(UserName="someone-untagged")
        assert [p for p in inventory.unfindable(lab) if "someone-untagged" in p]
        lab.client("iam").delete_user(UserName="someone-tagged")
        lab.client("iam").delete_user(UserName="someone-untagged")
    finally:
        lab.cleanup(verbose=False)


def test_leftovers_of_one_learner_leave_the_others_out(lab):
    sqs = lab.client("sqs")
    sqs.create_queue(QueueName="mlecourse-98-q-ana1")
    sqs.create_queue(QueueName="mlecourse-98-q-ben2")
    sqs.create_queue(QueueName="tagged", tags={"learner": "ana1"})
    sqs.create_queue(QueueName="mlecourse-98-q-ana1-x", tags={"learner": "ben2"})
    mine = inventory.leftovers(lab._snapshot, learner="ana1")
    assert sorted(mine) == ["left behind: sqs:queue mlecourse-98-q-ana1",
                            "left behind: sqs:queue tagged"]
    assert len(inventory.leftovers(lab._snapshot)) == 4
    for url in sqs.list_queues()["QueueUrls"]:
        sqs.delete_queue(QueueUrl=url)
