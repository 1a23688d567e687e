import json

import pytest

import labkit
from labkit import inventory
from labkit.errors import LabKitError
from labkit.sweep import (
    KINDS, ORDER, CourseResource, delete_course_resources, find_course_resources,
    find_everything, format_table, kind_and_name, table,
)



def where(lab):
    """CreateBucket's location for the lab's region (us-east-1 takes none)."""
    if lab.region == "us-east-1":
        return {}
    return {"CreateBucketConfiguration": {"LocationConstraint": lab.region}}

ROLE_TRUST = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {
    "Service": "sagemaker.amazonaws.com"}, "Action": "sts:AssumeRole"}]}
POLICY = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject",
                                                  "Resource": "*"}]}


def leave_everything(lab, prefix="mlecourse-98", tags=None):
    """Create one of each kind, named ``prefix-…`` and tagged with ``tags`` where possible.

    Returns the kinds created (the sweep's names for them).
    """
    tags = tags if tags is not None else lab.tags
    tag_map = {t["Key"]: t["Value"] for t in tags}
    kw = {"Tags": tags} if tags else {}
    acct, region = lab.account_id, lab.region
    iam = lab.client("iam")
    role_arn = iam.create_role(RoleName=f"{prefix}-role", AssumeRolePolicyDocument=json.dumps(
        ROLE_TRUST), **kw)["Role"]["Arn"]
    iam.put_role_policy(RoleName=f"{prefix}-role", PolicyName="inline",
                        PolicyDocument=json.dumps(POLICY))
    policy_arn = iam.create_policy(PolicyName=f"{prefix}-policy",
                                   PolicyDocument=json.dumps(POLICY), **kw)["Policy"]["Arn"]
    iam.attach_role_policy(RoleName=f"{prefix}-role", PolicyArn=policy_arn)
    iam.create_user(UserName=f"{prefix}-user", **kw)
    iam.put_user_policy(UserName=f"{prefix}-user", PolicyName="inline",
                        PolicyDocument=json.dumps(POLICY))
    iam.create_access_key(UserName=f"{prefix}-user")

    s3 = lab.client("s3")
    s3.create_bucket(Bucket=f"{prefix}-bucket", **where(lab))
    s3.put_object(Bucket=f"{prefix}-bucket", Key="a.csv", Body=b"x")
    if tags:
        s3.put_bucket_tagging(Bucket=f"{prefix}-bucket", Tagging={"TagSet": tags})
    queue_url = lab.client("sqs").create_queue(QueueName=f"{prefix}-queue",
                                               tags=tag_map)["QueueUrl"]
    queue_arn = f"arn:aws:sqs:{region}:{acct}:{prefix}-queue"
    sns = lab.client("sns")
    topic = sns.create_topic(Name=f"{prefix}-topic", **kw)["TopicArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn)

    events = lab.client("events")
    events.put_rule(Name=f"{prefix}-rule", ScheduleExpression="rate(7 days)", **kw)
    events.put_targets(Rule=f"{prefix}-rule", Targets=[{"Id": "q", "Arn": queue_arn}])
    scheduler = lab.client("scheduler")
    scheduler.create_schedule_group(Name=f"{prefix}-group", **kw)
    target = {"Arn": queue_arn, "RoleArn": role_arn}
    for group in ("default", f"{prefix}-group"):
        scheduler.create_schedule(Name=f"{prefix}-weekly", GroupName=group,
                                  ScheduleExpression="rate(7 days)",
                                  FlexibleTimeWindow={"Mode": "OFF"}, Target=target)
    lab.client("stepfunctions").create_state_machine(
        name=f"{prefix}-machine", roleArn=role_arn, tags=[
            {"key": t["Key"], "value": t["Value"]} for t in tags],
        definition=json.dumps({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}))
    lab.client("cloudformation").create_stack(
        StackName=f"{prefix}-stack", Tags=tags, TemplateBody=json.dumps({
            "Resources": {"Queue": {"Type": "AWS::SQS::Queue", "Properties": {
                "QueueName": f"{prefix}-stack-queue"}}}}))
    lab.client("kinesis").create_stream(StreamName=f"{prefix}-stream", ShardCount=1)
    lab.client("firehose").create_delivery_stream(
        DeliveryStreamName=f"{prefix}-delivery", DeliveryStreamType="KinesisStreamAsSource",
        KinesisStreamSourceConfiguration={
            "KinesisStreamARN": f"arn:aws:kinesis:{region}:{acct}:stream/{prefix}-stream",
            "RoleARN": role_arn},
        ExtendedS3DestinationConfiguration={"RoleARN": role_arn,
                                            "BucketARN": f"arn:aws:s3:::{prefix}-bucket"})
    lab.client("ecr").create_repository(repositoryName=f"{prefix}-repo", tags=tags)
    lab.client("logs").create_log_group(logGroupName=f"/{prefix}/logs", tags=tag_map)

    sm = lab.client("sagemaker")
    image = f"{acct}.dkr.ecr.{region}.amazonaws.com/{prefix}-repo:1"
    sm.create_model(ModelName=f"{prefix}-model", ExecutionRoleArn=role_arn,
                    PrimaryContainer={"Image": image}, **kw)
    sm.create_endpoint_config(EndpointConfigName=f"{prefix}-config", ProductionVariants=[{
        "VariantName": "AllTraffic", "ModelName": f"{prefix}-model",
        "InstanceType": "ml.m5.large", "InitialInstanceCount": 2}], **kw)
    sm.create_endpoint(EndpointName=f"{prefix}-endpoint", EndpointConfigName=f"{prefix}-config",
                       **kw)
    resource_id = f"endpoint/{prefix}-endpoint/variant/AllTraffic"
    scaling = lab.client("application-autoscaling")
    dim = "sagemaker:variant:DesiredInstanceCount"
    scaling.register_scalable_target(ServiceNamespace="sagemaker", ResourceId=resource_id,
                                     ScalableDimension=dim, MinCapacity=1, MaxCapacity=2)
    scaling.put_scaling_policy(
        PolicyName=f"{prefix}-scaling", ServiceNamespace="sagemaker", ResourceId=resource_id,
        ScalableDimension=dim, PolicyType="TargetTrackingScaling",
        TargetTrackingScalingPolicyConfiguration={"TargetValue": 70.0,
            "PredefinedMetricSpecification": {
                "PredefinedMetricType": "SageMakerVariantInvocationsPerInstance"}})
    scaling.put_scheduled_action(
        ServiceNamespace="sagemaker", ScheduledActionName=f"{prefix}-monday",
        ResourceId=resource_id, ScalableDimension=dim, Schedule="cron(0 6 ? * MON *)",
        ScalableTargetAction={"MinCapacity": 2})
    lab.client("cloudwatch").put_metric_alarm(
        AlarmName=f"{prefix}-alarm", MetricName="Invocations", Namespace="AWS/SageMaker",
        Statistic="Sum", Period=60, EvaluationPeriods=1, Threshold=1.0,
        ComparisonOperator="GreaterThanThreshold", **kw)
    sm.create_model_package_group(ModelPackageGroupName=f"{prefix}-group", **kw)
    sm.create_model_package(ModelPackageGroupName=f"{prefix}-group", InferenceSpecification={
        "Containers": [{"Image": image}], "SupportedContentTypes": ["text/csv"],
        "SupportedResponseMIMETypes": ["text/csv"]})
    sm.create_model_card(ModelCardName=f"{prefix}-card", ModelCardStatus="Draft",
                         Content=json.dumps({"model_overview": {}}), **kw)
    sm.create_experiment(ExperimentName=f"{prefix}-experiment", **kw)
    sm.create_trial(TrialName=f"{prefix}-trial", ExperimentName=f"{prefix}-experiment", **kw)
    sm.create_trial_component(TrialComponentName=f"{prefix}-component", **kw)
    sm.associate_trial_component(TrialComponentName=f"{prefix}-component",
                                 TrialName=f"{prefix}-trial")
    sm.create_pipeline(PipelineName=f"{prefix}-pipeline", RoleArn=role_arn,
                       PipelineDefinition=json.dumps({"Version": "2020-12-01", "Steps": []}),
                       **kw)

    ec2 = lab.client("ec2")
    spec = lambda kind: {"TagSpecifications": [{"ResourceType": kind, "Tags": tags}]} if tags else {}  # noqa: E731
    vpc = ec2.create_vpc(CidrBlock="10.8.0.0/16", **spec("vpc"))["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.8.1.0/24")["Subnet"]["SubnetId"]
    table = ec2.create_route_table(VpcId=vpc)["RouteTable"]["RouteTableId"]
    ec2.associate_route_table(RouteTableId=table, SubnetId=subnet)
    group = ec2.create_security_group(GroupName=f"{prefix}-sg", Description="d",
                                      VpcId=vpc)["GroupId"]
    ec2.authorize_security_group_ingress(GroupId=group, IpPermissions=[{
        "IpProtocol": "tcp", "FromPort": 443, "ToPort": 443,
        "UserIdGroupPairs": [{"GroupId": group}]}])
    gateway = ec2.create_internet_gateway()["InternetGateway"]["InternetGatewayId"]
    ec2.attach_internet_gateway(InternetGatewayId=gateway, VpcId=vpc)
    eip = ec2.allocate_address(Domain="vpc", **spec("elastic-ip"))["AllocationId"]
    ec2.create_nat_gateway(SubnetId=subnet, AllocationId=eip, **spec("natgateway"))
    ec2.create_vpc_endpoint(VpcId=vpc, ServiceName=f"com.amazonaws.{region}.sagemaker.api",
                            VpcEndpointType="Interface", SubnetIds=[subnet],
                            SecurityGroupIds=[group])
    return queue_url


@pytest.fixture
def lab(monkeypatch, tmp_path):
    monkeypatch.setenv("COURSE_WORKDIR", str(tmp_path))
    with labkit.lab_context("98-unit-test") as lab:
        yield lab


def other_lab_tags():
    return [{"Key": "course", "Value": "mle-on-aws"}, {"Key": "lab", "Value": "02-s3-events"}]


def left(lab):
    return [str(r) for r in inventory.new_resources(lab._snapshot) if not r.is_record]


def test_the_sweep_finds_and_deletes_every_kind_the_labs_create(lab):
    leave_everything(lab)
    found, problems = find_everything(lab)
    assert problems == []
    kinds = {r.kind for r in found}
    jobs = {k.name for k in KINDS if k.name.endswith("-job")}  # only running ones are found
    untested = {"sagemaker:monitoring-schedule", "sagemaker:mlflow-tracking-server",  # no moto
                "sagemaker:feature-group",  # moto has no ListFeatureGroups
                "events:event-bus", "iam:instance-profile", "ec2:network-acl",
                *(k for k in ORDER if k.endswith("-job-definition"))}
    assert set(ORDER) - kinds - jobs - untested == set()
    assert left(lab)
    outcomes = delete_course_resources(lab, found, dry_run=False)
    failed = [(r.kind, o) for r, o in outcomes if o not in ("deleted", "released",
                                                             "already gone")]
    assert failed == []
    assert left(lab) == []
    assert find_course_resources(lab) == []


def test_a_dry_run_changes_nothing_and_shows_lab_age_and_cost(lab):
    leave_everything(lab)
    before = left(lab)
    rows = table(delete_course_resources(lab, find_course_resources(lab)))
    assert {row["outcome"] for row in rows} == {"would delete"}
    assert left(lab) == before
    endpoint = next(row for row in rows if row["kind"] == "sagemaker:endpoint")
    assert endpoint["per hour"] == "US$0.230/h"  # 2 x ml.m5.large at US$0.115
    assert endpoint["lab"] == "98-unit-test" or endpoint["lab"].startswith("98")
    assert endpoint["age"] == "0 min"
    nat = next(row for row in rows if row["kind"] == "ec2:natgateway")
    assert nat["per hour"] == "US$0.045/h"
    assert "sagemaker:endpoint" in format_table(rows)


def test_dependents_go_first(lab):
    """Endpoint before its config before its model; targets and schedules before what they
    call; VPC children before the VPC; the role after everything that uses it."""
    leave_everything(lab)
    calls = []
    lab.boto_session._session.register(
        "before-parameter-build", lambda model, **_: calls.append(model.name))
    delete_course_resources(lab, find_course_resources(lab), dry_run=False)

    def first(op):
        return calls.index(op)
    assert first("DeleteEndpoint") < first("DeleteEndpointConfig") < first("DeleteModel")
    assert first("DeleteSchedule") < first("DeleteScheduleGroup")
    assert first("RemoveTargets") < first("DeleteRule")
    assert first("DeleteScheduledAction") < first("DeregisterScalableTarget")
    assert first("DeleteScalingPolicy") < first("DeregisterScalableTarget")
    assert first("DeregisterScalableTarget") < first("DeleteEndpoint")
    assert first("DeleteModelPackage") < first("DeleteModelPackageGroup")
    assert first("DisassociateTrialComponent") < first("DeleteTrial") < first(
        "DeleteExperiment")
    assert first("DeleteNatGateway") < first("ReleaseAddress") < first("DeleteSubnet")
    assert first("DeleteVpcEndpoints") < first("DeleteSubnet") < first("DeleteVpc")
    assert first("DetachInternetGateway") < first("DeleteVpc")
    assert first("DetachRolePolicy") < first("DeleteRole")
    assert first("DeleteAccessKey") < first("DeleteUser")
    assert max(first(op) for op in ("DeleteModel", "DeleteStateMachine", "DeletePipeline",
                                    "DeleteSchedule")) < first("DeleteRole")


def test_only_the_course_is_touched(lab):
    leave_everything(lab, prefix="someone-else", tags=[])
    bystanders = left(lab)
    assert find_course_resources(lab) == []
    lab.client("s3").create_bucket(Bucket="not-the-course", **where(lab))
    assert left(lab) != bystanders
    # Wipe the bystanders through moto so the lab's own leak check passes.
    lab._snapshot = inventory.snapshot()


def test_tagged_without_the_prefix_is_found_and_only_lab_narrows(lab):
    tags = other_lab_tags()
    sqs = lab.client("sqs")
    sqs.create_queue(QueueName="queue-of-02", tags={t["Key"]: t["Value"] for t in tags})
    iam = lab.client("iam")
    iam.create_role(RoleName="role-of-02", Tags=tags, AssumeRolePolicyDocument=json.dumps(
        {"Version": "2012-10-17", "Statement": []}))
    found = find_course_resources(lab)
    assert [(r.kind, r.name, r.lab) for r in found] == [
        ("sqs:queue", "queue-of-02", "02-s3-events"), ("iam:role", "role-of-02", "02-s3-events")]
    assert find_course_resources(lab, only_lab="01-other") == []
    assert len(find_course_resources(lab, only_lab="02-s3-events")) == 2
    delete_course_resources(lab, found, dry_run=False)
    assert left(lab) == []


def test_a_resource_tagged_course_keep_is_never_swept(lab):
    """The learner's own course policy (issue 22) may carry the prefix: it is kept."""
    iam = lab.client("iam")
    keep = [{"Key": "course-keep", "Value": "true"}]
    policy = iam.create_policy(PolicyName="mlecourse-learner", Tags=keep,
                               PolicyDocument=json.dumps(POLICY))["Policy"]["Arn"]
    iam.create_policy(PolicyName="mlecourse-98-lab-policy", PolicyDocument=json.dumps(POLICY))
    assert [r.name for r in find_course_resources(lab)] == ["mlecourse-98-lab-policy"]
    iam.delete_policy(PolicyArn=policy)
    delete_course_resources(lab, find_course_resources(lab), dry_run=False)


def test_a_failed_delete_is_reported_and_the_sweep_goes_on(lab):
    ghost = CourseResource("arn:aws:sqs:us-east-1:123456789012:mlecourse-gone", "sqs:queue",
                           "mlecourse-gone", None, extra={"url": "https://x/123/mlecourse-gone"})
    unknown = CourseResource("arn:aws:lambda:us-east-1:123456789012:function:f",
                             "lambda:function", "f", None)
    role = CourseResource("arn:aws:iam::123456789012:role/mlecourse-98-x", "iam:role",
                          "mlecourse-98-x", None)
    outcomes = {r.name: o for r, o in delete_course_resources(
        lab, [ghost, unknown, role], dry_run=False)}
    assert outcomes["mlecourse-gone"] in ("already gone",) or outcomes[
        "mlecourse-gone"].startswith("failed:")
    assert "does not know how to delete lambda:function" in outcomes["f"]
    assert outcomes["mlecourse-98-x"] == "already gone"


def test_running_jobs_are_stopped_not_deleted(lab, monkeypatch):
    from labkit import sweep

    stopped = []
    job = CourseResource("arn:x", "sagemaker:training-job", "mlecourse-98-train", None)
    monkeypatch.setattr(sweep, "_BY_NAME", {**sweep._BY_NAME, "sagemaker:training-job":
                        sweep.Kind("sagemaker:training-job", lambda f: iter(()),
                                   lambda lab, r: stopped.append(r.name) or "stopped", ())})
    assert delete_course_resources(lab, [job])[0][1] == "would stop"
    assert delete_course_resources(lab, [job], dry_run=False)[0][1] == "stopped"
    assert stopped == ["mlecourse-98-train"]


def test_every_kind_inventory_knows_is_a_kind_the_sweep_deletes():
    assert set(inventory.MODEL_KINDS.values()) <= set(ORDER)
    assert len(ORDER) == len(set(ORDER))


@pytest.mark.parametrize("arn,expected", [
    ("arn:aws:s3:::mlecourse-01-data", ("s3:bucket", "mlecourse-01-data")),
    ("arn:aws:sagemaker:us-east-1:123456789012:endpoint-config/ep",
     ("sagemaker:endpoint-config", "ep")),
    ("arn:aws:states:us-east-1:123456789012:stateMachine:sm", ("states:stateMachine", "sm")),
    ("arn:aws:iam::123456789012:role/r", ("iam:role", "r")),
    ("arn:aws:sqs:us-east-1:123456789012:q", ("sqs:queue", "q")),
])
def test_kind_and_name(arn, expected):
    assert kind_and_name(arn) == expected


def test_not_an_arn():
    with pytest.raises(LabKitError, match="not an ARN"):
        kind_and_name("mlecourse-bucket")


def test_the_local_sweep_skips_services_moto_never_served(monkeypatch):
    """Locally, a service whose moto backend this process never imported holds nothing, so
    the sweep does not list it (listing would import it: CloudFormation's takes seconds);
    a service moto served is listed as before."""
    import sys

    import labkit
    from labkit import sweep

    lab = labkit.start_lab("98-unit-test", quiet=True)
    try:
        lab.client("sqs").create_queue(QueueName="mlecourse-98-left", tags=lab.tag_dict)
        monkeypatch.delitem(sys.modules, "moto.cloudformation", raising=False)
        listed = []
        real = sweep._Finder.client
        monkeypatch.setattr(sweep._Finder, "client",
                            lambda self, service: listed.append(service) or real(self, service))
        found, problems = sweep.find_everything(lab)
        assert "cloudformation" not in listed and "sqs" in listed
        assert [r.name for r in found if r.kind.startswith("sqs")] == ["mlecourse-98-left"]
        assert problems == []
        assert "moto.cloudformation" not in sys.modules
    finally:
        lab.cleanup(verbose=False)


def test_an_untagged_subnet_in_the_learners_own_vpc_is_the_learners(monkeypatch):
    """On aws the sweep keeps to one learner; a child the lab made without tags inside that
    learner's course VPC must still be found, or the VPC's deletion fails. Another learner's
    VPC's child is not."""
    import labkit
    from labkit import sweep

    lab = labkit.start_lab("98-unit-test", quiet=True)
    try:
        ec2 = lab.client("ec2")

        def vpc(learner):
            tags = [{"Key": "course", "Value": "mle-on-aws"},
                    {"Key": "learner", "Value": learner}, {"Key": "lab", "Value": lab.name}]
            vid = ec2.create_vpc(CidrBlock="10.9.0.0/16", TagSpecifications=[
                {"ResourceType": "vpc", "Tags": tags}])["Vpc"]["VpcId"]
            return vid, ec2.create_subnet(VpcId=vid, CidrBlock="10.9.1.0/24")[
                "Subnet"]["SubnetId"]

        _, mine = vpc("abc123")
        _, theirs = vpc("zz9999")
        finder = sweep._Finder(lab)
        finder.learner = "abc123"  # as on aws, for learner abc123
        kind = next(k for k in sweep.KINDS if k.name == "ec2:subnet")
        found = {r.extra["id"] for r in kind.find(finder) if r is not None}
        assert mine in found and theirs not in found
    finally:
        lab.cleanup(verbose=False)


def test_two_resources_listed_without_an_arn_are_two_resources(monkeypatch):
    """Some listings give no ARN (a log group without one): the sweep must not fold two of
    them into one and leave the other behind."""
    import labkit
    from labkit import sweep

    def find(f):
        yield sweep.CourseResource("", "logs:log-group", "/mlecourse/98-a", "98-unit-test")
        yield sweep.CourseResource("", "logs:log-group", "/mlecourse/98-b", "98-unit-test")

    kind = sweep.Kind("logs:log-group", find, lambda lab, r: "deleted", ())
    monkeypatch.setattr(sweep, "KINDS", [kind])
    lab = labkit.start_lab("98-unit-test", quiet=True)
    try:
        monkeypatch.setattr(lab, "_mock", None)  # list it even if moto never served logs
        found, _ = sweep.find_everything(lab)
        assert sorted(r.name for r in found) == ["/mlecourse/98-a", "/mlecourse/98-b"]
    finally:
        monkeypatch.undo()
        lab.cleanup(verbose=False)


def test_a_kinesis_streams_age_comes_from_its_summary():
    """ListStreams' StreamSummaries carry StreamCreationTimestamp (botocore's kinesis model):
    the sweep shows the stream's age, not '?'."""
    import datetime as dt

    from labkit import sweep

    when = dt.datetime(2026, 12, 3, 9, 0, tzinfo=dt.timezone.utc)
    assert sweep._created({"StreamName": "s", "StreamCreationTimestamp": when}) == when
