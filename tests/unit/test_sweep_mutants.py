"""labkit.sweep against a fake AWS typed by hand (fast: no moto, no Docker).

The account below holds, for every kind the sweep knows, resources of the course (by name
prefix, by tag, or inside a course parent), resources of someone else, and the special cases
AWS documents (a stack in DELETE_COMPLETE, the default VPC security group, a VPC's main route
table, a requester-managed network interface, a NAT gateway being deleted, a pending SNS
subscription, a service-linked role). Responses follow the shapes of each API reference;
requests are validated by botocore against the service models. The expected finds, the
expected deletion calls and their order are written out by hand below, not taken from a run.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

import labkit.sweep
from labkit.errors import LabKitError

from awsfake import AWSError, FakeAWS, fake_lab

A, R = "123456789012", "us-east-1"
UTC = dt.timezone.utc
MADE = dt.datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
COURSE = [{"Key": "course", "Value": "mle-on-aws"}, {"Key": "lab", "Value": "02-s3-events"}]
KEEP = [{"Key": "course", "Value": "mle-on-aws"}, {"Key": "course-keep", "Value": "true"}]
DIM = "sagemaker:variant:DesiredInstanceCount"
KEY_ID = "AKIAIOSFODNN7EXAMPLE"  # IAM's documented example (at least 16 characters)


_BODY: dict[str, Any] = {}


@pytest.fixture
def sweep():
    """The module's body run again inside the test, as a re-import would (its kind table is
    built at import, so a mutation tool must see it built during the test); the source is
    compiled once per process."""
    module = labkit.sweep
    if module.__file__ not in _BODY:
        path = Path(module.__file__)
        _BODY[module.__file__] = compile(path.read_text(encoding="utf-8"), str(path), "exec")
    exec(_BODY[module.__file__], module.__dict__)  # noqa: S102 - the module's own source
    return module


def sm_arn(kind: str, name: str) -> str:
    return f"arn:aws:sagemaker:{R}:{A}:{kind}/{name}"


def pages_of(key: str, *pages: list, token: str = "NextToken"):
    """An answer that serves ``pages`` one after another via ``token``."""
    def answer(params):
        index = int(params.get(token) or 0)
        page = {key: pages[index]}
        if index + 1 < len(pages):
            page[token] = str(index + 1)
        return page
    return answer


def by_param(param: str, table: dict, key: str):
    return lambda params: {key: table.get(params.get(param), [])}


def world() -> FakeAWS:
    vpc_tags = [{"Key": "course", "Value": "mle-on-aws"}, {"Key": "lab", "Value": "04-net"}]
    answers = {
        ("resourcegroupstaggingapi", "GetResources"): pages_of(
            "ResourceTagMappingList",
            [{"ResourceARN": "arn:aws:s3:::bucket-of-02", "Tags": COURSE}],
            [{"ResourceARN": "arn:aws:s3:::mlecourse-98-kept", "Tags": KEEP}],
            token="PaginationToken"),
        ("cloudformation", "DescribeStacks"): {"Stacks": [
            {"StackName": "mlecourse-98-stack", "StackId": "arn:aws:cloudformation:us-east-1:"
             f"{A}:stack/mlecourse-98-stack/1", "StackStatus": "CREATE_COMPLETE",
             "CreationTime": MADE},
            {"StackName": "mlecourse-98-old", "StackId": f"arn:aws:cloudformation:{R}:{A}:"
             "stack/mlecourse-98-old/2", "StackStatus": "DELETE_COMPLETE",
             "CreationTime": MADE},
            {"StackName": "other-stack", "StackId": f"arn:aws:cloudformation:{R}:{A}:stack/"
             "other-stack/3", "StackStatus": "CREATE_COMPLETE", "CreationTime": MADE,
             "Tags": [{"Key": "team", "Value": "x"}]}]},
        ("scheduler", "ListSchedules"): {"Schedules": [
            {"Name": "mlecourse-98-weekly", "GroupName": "default",
             "Arn": f"arn:aws:scheduler:{R}:{A}:schedule/default/mlecourse-98-weekly"},
            {"Name": "weekly", "GroupName": "mlecourse-98-group",
             "Arn": f"arn:aws:scheduler:{R}:{A}:schedule/mlecourse-98-group/weekly"},
            {"Name": "mlecourse-98-nogroup",
             "Arn": f"arn:aws:scheduler:{R}:{A}:schedule/default/mlecourse-98-nogroup"},
            {"Name": "someone", "GroupName": "default",
             "Arn": f"arn:aws:scheduler:{R}:{A}:schedule/default/someone"}]},
        ("scheduler", "ListScheduleGroups"): {"ScheduleGroups": [
            {"Name": "default", "Arn": f"arn:aws:scheduler:{R}:{A}:schedule-group/default"},
            {"Name": "mlecourse-98-group",
             "Arn": f"arn:aws:scheduler:{R}:{A}:schedule-group/mlecourse-98-group"},
            {"Name": "other-group", "Arn": f"arn:aws:scheduler:{R}:{A}:schedule-group/o"}]},
        ("sagemaker", "ListMonitoringSchedules"): {"MonitoringScheduleSummaries": [
            {"MonitoringScheduleName": "mlecourse-98-monitor",
             "MonitoringScheduleArn": sm_arn("monitoring-schedule", "mlecourse-98-monitor"),
             "CreationTime": MADE, "LastModifiedTime": MADE,
             "MonitoringScheduleStatus": "Scheduled"}]},
        ("sagemaker", "ListDataQualityJobDefinitions"): {"JobDefinitionSummaries": [
            {"MonitoringJobDefinitionName": "mlecourse-98-dq", "CreationTime": MADE,
             "MonitoringJobDefinitionArn": sm_arn("data-quality-job-definition",
                                                  "mlecourse-98-dq"),
             "EndpointName": "mlecourse-98-endpoint"}]},
        ("sagemaker", "ListModelQualityJobDefinitions"): {"JobDefinitionSummaries": []},
        ("sagemaker", "ListModelBiasJobDefinitions"): {"JobDefinitionSummaries": []},
        ("sagemaker", "ListModelExplainabilityJobDefinitions"): {
            "JobDefinitionSummaries": []},
        ("events", "ListEventBuses"): {"EventBuses": [
            {"Name": "default", "Arn": f"arn:aws:events:{R}:{A}:event-bus/default"},
            {"Name": "mlecourse-98-bus", "Arn": f"arn:aws:events:{R}:{A}:event-bus/"
             "mlecourse-98-bus"},
            {"Name": "other-bus", "Arn": f"arn:aws:events:{R}:{A}:event-bus/other-bus"}]},
        ("events", "ListRules"): by_param("EventBusName", {
            "default": [
                {"Name": "mlecourse-98-rule", "EventBusName": "default",
                 "Arn": f"arn:aws:events:{R}:{A}:rule/mlecourse-98-rule"},
                {"Name": "tagged-rule", "EventBusName": "default",
                 "Arn": f"arn:aws:events:{R}:{A}:rule/tagged-rule"},
                {"Name": "other-rule", "EventBusName": "default",
                 "Arn": f"arn:aws:events:{R}:{A}:rule/other-rule"}],
            "mlecourse-98-bus": [
                {"Name": "any-rule", "EventBusName": "mlecourse-98-bus",
                 "Arn": f"arn:aws:events:{R}:{A}:rule/mlecourse-98-bus/any-rule"}]},
            "Rules"),
        ("events", "ListTagsForResource"): lambda p: {"Tags": COURSE if p[
            "ResourceARN"].endswith("/tagged-rule") else []},
        ("events", "ListTargetsByRule"): lambda p: {"Targets": [
            {"Id": "q", "Arn": f"arn:aws:sqs:{R}:{A}:mlecourse-98-queue"}]
            if p["Rule"] == "mlecourse-98-rule" else []},
        ("application-autoscaling", "DescribeScheduledActions"): {"ScheduledActions": [
            {"ScheduledActionName": "monday", "ServiceNamespace": "sagemaker",
             "ScheduledActionARN": f"arn:aws:autoscaling:{R}:{A}:scheduledAction:1:"
             "resource/sagemaker/endpoint/mlecourse-98-endpoint/variant/AllTraffic:"
             "scheduledActionName/monday", "Schedule": "cron(0 6 ? * MON *)",
             "ResourceId": "endpoint/mlecourse-98-endpoint/variant/AllTraffic",
             "ScalableDimension": DIM, "CreationTime": MADE},
            {"ScheduledActionName": "theirs", "ServiceNamespace": "sagemaker",
             "ScheduledActionARN": f"arn:aws:autoscaling:{R}:{A}:scheduledAction:2:x",
             "Schedule": "cron(0 6 ? * MON *)", "ScalableDimension": DIM,
             "ResourceId": "endpoint/other/variant/AllTraffic", "CreationTime": MADE}]},
        ("application-autoscaling", "DescribeScalingPolicies"): {"ScalingPolicies": [
            {"PolicyName": "scale", "ServiceNamespace": "sagemaker",
             "PolicyARN": f"arn:aws:autoscaling:{R}:{A}:scalingPolicy:3:resource/sagemaker/"
             "endpoint/mlecourse-98-endpoint/variant/AllTraffic:policyName/scale",
             "ResourceId": "endpoint/mlecourse-98-endpoint/variant/AllTraffic",
             "ScalableDimension": DIM, "PolicyType": "TargetTrackingScaling",
             "CreationTime": MADE}]},
        ("application-autoscaling", "DescribeScalableTargets"): {"ScalableTargets": [
            {"ServiceNamespace": "sagemaker", "ScalableDimension": DIM,
             "ResourceId": "endpoint/mlecourse-98-endpoint/variant/AllTraffic",
             "MinCapacity": 1, "MaxCapacity": 2, "RoleARN": "r", "CreationTime": MADE},
            {"ServiceNamespace": "sagemaker", "ScalableDimension": DIM,
             "ResourceId": "endpoint/mlecourse-98-other/variant/AllTraffic",
             "ScalableTargetARN": f"arn:aws:application-autoscaling:{R}:{A}:"
             "scalable-target/0123", "MinCapacity": 1, "MaxCapacity": 2, "RoleARN": "r",
             "CreationTime": MADE}]},
        ("cloudwatch", "DescribeAlarms"): {"MetricAlarms": [
            {"AlarmName": "mlecourse-98-alarm", "AlarmArn": f"arn:aws:cloudwatch:{R}:{A}:"
             "alarm:mlecourse-98-alarm", "AlarmConfigurationUpdatedTimestamp": MADE},
            {"AlarmName": "TargetTracking-endpoint/mlecourse-98-endpoint-AlarmHigh-1",
             "AlarmArn": f"arn:aws:cloudwatch:{R}:{A}:alarm:TargetTracking-1"},
            {"AlarmName": "latency", "AlarmArn": f"arn:aws:cloudwatch:{R}:{A}:alarm:latency",
             "Dimensions": [{"Name": "EndpointName", "Value": "mlecourse-98-endpoint"},
                            {"Name": "VariantName", "Value": "AllTraffic"}]},
            {"AlarmName": "their-latency", "AlarmArn": f"arn:aws:cloudwatch:{R}:{A}:alarm:t",
             "Dimensions": [{"Name": "EndpointName", "Value": "other"}]}]},
        ("sagemaker", "ListEndpoints"): {"Endpoints": [
            {"EndpointName": n, "EndpointArn": sm_arn("endpoint", n), "CreationTime": MADE,
             "LastModifiedTime": MADE, "EndpointStatus": "InService"}
            for n in ("mlecourse-98-endpoint", "mlecourse-98-gpu", "mlecourse-98-serverless",
                      "mlecourse-98-orphan", "other-endpoint")]},
        ("sagemaker", "DescribeEndpoint"): lambda p: {
            "EndpointName": p["EndpointName"], "EndpointConfigName": {
                "mlecourse-98-endpoint": "mlecourse-98-config"}.get(
                p["EndpointName"], p["EndpointName"] + "-config")},
        ("sagemaker", "DescribeEndpointConfig"): _endpoint_config,
        ("sagemaker", "ListEndpointConfigs"): {"EndpointConfigs": [
            {"EndpointConfigName": "mlecourse-98-config", "CreationTime": MADE,
             "EndpointConfigArn": sm_arn("endpoint-config", "mlecourse-98-config")}]},
        ("sagemaker", "ListModels"): {"Models": [
            {"ModelName": "mlecourse-98-model", "ModelArn": sm_arn("model", "mlecourse-98-model"),
             "CreationTime": MADE},
            {"ModelName": "other-model", "ModelArn": sm_arn("model", "other-model"),
             "CreationTime": MADE}]},
        ("sagemaker", "ListMlflowTrackingServers"): {"TrackingServerSummaries": [
            {"TrackingServerName": "mlecourse-98-mlflow", "CreationTime": MADE,
             "TrackingServerArn": sm_arn("mlflow-tracking-server", "mlecourse-98-mlflow")}]},
        ("sagemaker", "ListHyperParameterTuningJobs"): {
            "HyperParameterTuningJobSummaries": [
                {"HyperParameterTuningJobName": "mlecourse-98-tune",
                 "HyperParameterTuningJobArn": sm_arn("hyper-parameter-tuning-job",
                                                      "mlecourse-98-tune")}]},
        ("sagemaker", "ListTrainingJobs"): {"TrainingJobSummaries": [
            {"TrainingJobName": "mlecourse-98-train", "CreationTime": MADE,
             "TrainingJobArn": sm_arn("training-job", "mlecourse-98-train"),
             "TrainingJobStatus": "InProgress"}]},
        ("sagemaker", "ListProcessingJobs"): {"ProcessingJobSummaries": [
            {"ProcessingJobName": "mlecourse-98-prep",
             "ProcessingJobArn": sm_arn("processing-job", "mlecourse-98-prep")}]},
        ("sagemaker", "ListTransformJobs"): {"TransformJobSummaries": [
            {"TransformJobName": "mlecourse-98-batch",
             "TransformJobArn": sm_arn("transform-job", "mlecourse-98-batch")}]},
        ("sagemaker", "ListPipelines"): {"PipelineSummaries": [
            {"PipelineName": "mlecourse-98-pipeline", "CreationTime": MADE,
             "PipelineArn": sm_arn("pipeline", "mlecourse-98-pipeline")}]},
        ("sagemaker", "ListModelPackageGroups"): {"ModelPackageGroupSummaryList": [
            {"ModelPackageGroupName": "mlecourse-98-models", "CreationTime": MADE,
             "ModelPackageGroupArn": sm_arn("model-package-group", "mlecourse-98-models")},
            {"ModelPackageGroupName": "their-models", "CreationTime": MADE,
             "ModelPackageGroupArn": sm_arn("model-package-group", "their-models")}]},
        ("sagemaker", "ListModelPackages"): by_param("ModelPackageGroupName", {
            "mlecourse-98-models": [{"ModelPackageArn": sm_arn(
                "model-package", "mlecourse-98-models/1"), "CreationTime": MADE}],
            "their-models": [{"ModelPackageArn": sm_arn("model-package", "their-models/1"),
                              "CreationTime": MADE}]}, "ModelPackageSummaryList"),
        ("sagemaker", "ListFeatureGroups"): {"FeatureGroupSummaries": [
            {"FeatureGroupName": "mlecourse-98-features", "CreationTime": MADE,
             "FeatureGroupArn": sm_arn("feature-group", "mlecourse-98-features")}]},
        ("sagemaker", "ListModelCards"): {"ModelCardSummaries": [
            {"ModelCardName": "mlecourse-98-card", "CreationTime": MADE,
             "ModelCardArn": sm_arn("model-card", "mlecourse-98-card")}]},
        ("sagemaker", "ListTrialComponents"): lambda p: {"TrialComponentSummaries": [
            {"TrialComponentName": "mlecourse-98-component", "CreationTime": MADE,
             "TrialComponentArn": sm_arn("experiment-trial-component",
                                         "mlecourse-98-component")}]},
        ("sagemaker", "ListTrials"): lambda p: {"TrialSummaries": [
            {"TrialName": "mlecourse-98-trial", "CreationTime": MADE,
             "TrialArn": sm_arn("experiment-trial", "mlecourse-98-trial")}]},
        ("sagemaker", "ListExperiments"): {"ExperimentSummaries": [
            {"ExperimentName": "mlecourse-98-experiment", "CreationTime": MADE,
             "ExperimentArn": sm_arn("experiment", "mlecourse-98-experiment")}]},
        ("stepfunctions", "ListStateMachines"): {"stateMachines": [
            {"name": "mlecourse-98-machine", "type": "STANDARD", "creationDate": MADE,
             "stateMachineArn": f"arn:aws:states:{R}:{A}:stateMachine:mlecourse-98-machine"},
            {"name": "machine-of-02", "type": "STANDARD", "creationDate": MADE,
             "stateMachineArn": f"arn:aws:states:{R}:{A}:stateMachine:machine-of-02"},
            {"name": "other-machine", "type": "STANDARD", "creationDate": MADE,
             "stateMachineArn": f"arn:aws:states:{R}:{A}:stateMachine:other-machine"}]},
        ("stepfunctions", "ListTagsForResource"): lambda p: {"tags": [
            {"key": t["Key"], "value": t["Value"]} for t in COURSE]
            if p["resourceArn"].endswith(":machine-of-02") else []},
        ("sns", "ListTopics"): {"Topics": [
            {"TopicArn": f"arn:aws:sns:{R}:{A}:mlecourse-98-topic"},
            {"TopicArn": f"arn:aws:sns:{R}:{A}:other-topic"}]},
        ("sns", "ListSubscriptions"): {"Subscriptions": [
            {"SubscriptionArn": f"arn:aws:sns:{R}:{A}:mlecourse-98-topic:1111",
             "TopicArn": f"arn:aws:sns:{R}:{A}:mlecourse-98-topic", "Protocol": "sqs"},
            {"SubscriptionArn": "PendingConfirmation", "Protocol": "email",
             "TopicArn": f"arn:aws:sns:{R}:{A}:mlecourse-98-topic"},
            {"SubscriptionArn": f"arn:aws:sns:{R}:{A}:other-topic:2222",
             "TopicArn": f"arn:aws:sns:{R}:{A}:other-topic", "Protocol": "sqs"}]},
        ("firehose", "ListDeliveryStreams"): lambda p: {
            None: {"DeliveryStreamNames": ["mlecourse-98-delivery", "other-delivery"],
                   "HasMoreDeliveryStreams": True},
            "other-delivery": {"DeliveryStreamNames": ["delivery-of-02"],
                               "HasMoreDeliveryStreams": False},
        }[p.get("ExclusiveStartDeliveryStreamName")],
        ("firehose", "ListTagsForDeliveryStream"): lambda p: {
            "Tags": COURSE if p["DeliveryStreamName"] == "delivery-of-02" else [],
            "HasMoreTags": False},
        ("kinesis", "ListStreams"): {"StreamNames": [], "HasMoreStreams": False,
                                     "StreamSummaries": [
            {"StreamName": n, "StreamARN": f"arn:aws:kinesis:{R}:{A}:stream/{n}",
             "StreamStatus": "ACTIVE", "StreamCreationTimestamp": MADE}
            for n in ("mlecourse-98-stream", "other-stream", "stream-of-02")]},
        ("kinesis", "ListTagsForStream"): lambda p: {
            "Tags": COURSE if p["StreamName"] == "stream-of-02" else [],
            "HasMoreTags": False},
        ("sqs", "ListQueues"): {"QueueUrls": [
            f"https://sqs.{R}.amazonaws.com/{A}/mlecourse-98-queue/",
            f"https://sqs.{R}.amazonaws.com/{A}/other-queue",
            f"https://sqs.{R}.amazonaws.com/{A}/queue-of-02"]},
        ("sqs", "ListQueueTags"): lambda p: {"Tags": {"course": "mle-on-aws",
                                                      "lab": "02-s3-events"}
                                             if p["QueueUrl"].endswith("queue-of-02") else {}},
        ("ecr", "DescribeRepositories"): {"repositories": [
            {"repositoryName": n, "createdAt": MADE,
             "repositoryArn": f"arn:aws:ecr:{R}:{A}:repository/{n}"}
            for n in ("mlecourse-98-repo", "other-repo")]},
        ("logs", "DescribeLogGroups"): by_param("logGroupNamePrefix", {
            "mlecourse": [{"logGroupName": "mlecourse-98-logs", "creationTime": 1,
                           "arn": f"arn:aws:logs:{R}:{A}:log-group:mlecourse-98-logs:*"}],
            "/mlecourse": [{"logGroupName": "/mlecourse-98/logs", "creationTime": 1,
                            "arn": f"arn:aws:logs:{R}:{A}:log-group:/mlecourse-98/logs:*"}],
        }, "logGroups"),
        ("ec2", "DescribeVpcs"): {"Vpcs": [
            {"VpcId": "vpc-1", "Tags": vpc_tags},
            {"VpcId": "vpc-2", "Tags": [{"Key": "Name", "Value": "mlecourse-98-vpc"}]},
            {"VpcId": "vpc-3", "IsDefault": True}]},
        ("ec2", "DescribeVpcEndpoints"): {"VpcEndpoints": [
            {"VpcEndpointId": "vpce-1", "VpcEndpointType": "Interface", "VpcId": "vpc-1",
             "State": "available", "SubnetIds": ["subnet-1", "subnet-2"],
             "CreationTimestamp": MADE},
            {"VpcEndpointId": "vpce-2", "VpcEndpointType": "Gateway", "VpcId": "vpc-1",
             "State": "available"},
            {"VpcEndpointId": "vpce-3", "VpcEndpointType": "Interface", "VpcId": "vpc-1",
             "State": "Deleted", "SubnetIds": ["subnet-1"]},
            {"VpcEndpointId": "vpce-4", "VpcEndpointType": "Interface", "VpcId": "vpc-1",
             "State": "available", "SubnetIds": []},
            {"VpcEndpointId": "vpce-9", "VpcEndpointType": "Interface", "VpcId": "vpc-3",
             "State": "available", "SubnetIds": ["subnet-9"]}]},
        ("ec2", "DescribeNatGateways"): _nat_gateways,
        ("ec2", "DescribeAddresses"): lambda p: {"Addresses": [
            a for a in [
                {"AllocationId": "eipalloc-1", "AssociationId": "eipassoc-1",
                 "Domain": "vpc", "Tags": vpc_tags},
                {"AllocationId": "eipalloc-2", "Domain": "vpc", "Tags": [
                    {"Key": "Name", "Value": "mlecourse-98-ip"}]},
                {"AllocationId": "eipalloc-9", "Domain": "vpc"}]
            if a["AllocationId"] in p.get("AllocationIds", [a["AllocationId"]])]},
        ("ec2", "DescribeInternetGateways"): lambda p: {"InternetGateways": [
            g for g in [
                {"InternetGatewayId": "igw-1", "Attachments": [
                    {"VpcId": "vpc-1", "State": "available"}]},
                {"InternetGatewayId": "igw-9", "Attachments": [
                    {"VpcId": "vpc-3", "State": "available"}]}]
            if g["InternetGatewayId"] in p.get("InternetGatewayIds",
                                               [g["InternetGatewayId"]])]},
        ("ec2", "DescribeNetworkInterfaces"): {"NetworkInterfaces": [
            {"NetworkInterfaceId": "eni-nat", "VpcId": "vpc-1", "RequesterManaged": True},
            {"NetworkInterfaceId": "eni-1", "VpcId": "vpc-1", "RequesterManaged": False}]},
        ("ec2", "DescribeSubnets"): {"Subnets": [
            {"SubnetId": "subnet-1", "VpcId": "vpc-1"},
            {"SubnetId": "subnet-9", "VpcId": "vpc-3"}]},
        ("ec2", "DescribeRouteTables"): lambda p: {"RouteTables": [
            t for t in [
                {"RouteTableId": "rtb-main", "VpcId": "vpc-1", "Associations": [
                    {"Main": True, "RouteTableAssociationId": "rtbassoc-main"}]},
                {"RouteTableId": "rtb-1", "VpcId": "vpc-1", "Associations": [
                    {"Main": False, "RouteTableAssociationId": "rtbassoc-1",
                     "SubnetId": "subnet-1"}]}]
            if t["RouteTableId"] in p.get("RouteTableIds", [t["RouteTableId"]])]},
        ("ec2", "DescribeSecurityGroups"): lambda p: {"SecurityGroups": [
            g for g in [
                {"GroupId": "sg-default", "GroupName": "default", "VpcId": "vpc-1"},
                {"GroupId": "sg-1", "GroupName": "mlecourse-98-sg", "VpcId": "vpc-1",
                 "Tags": [{"Key": "Name", "Value": "mlecourse-98-sg"}],
                 "IpPermissions": [
                     {"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443,
                      "UserIdGroupPairs": [{"GroupId": "sg-1"}]},
                     {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22,
                      "IpRanges": [{"CidrIp": "10.0.0.0/8"}]}],
                 "IpPermissionsEgress": [
                     {"IpProtocol": "-1", "UserIdGroupPairs": [{"GroupId": "sg-2"}]}]}]
            if g["GroupId"] in p.get("GroupIds", [g["GroupId"]])]},
        ("ec2", "DescribeNetworkAcls"): {"NetworkAcls": [
            {"NetworkAclId": "acl-default", "VpcId": "vpc-1", "IsDefault": True},
            {"NetworkAclId": "acl-1", "VpcId": "vpc-1", "IsDefault": False}]},
        ("s3", "ListBuckets"): {"Buckets": [
            {"Name": n, "CreationDate": MADE}
            for n in ("mlecourse-98-data", "other-bucket", "bucket-of-02",
                      "mlecourse-98-kept")]},
        ("s3", "ListObjectVersions"): lambda p: {
            "Versions": [{"Key": "a.csv", "VersionId": "v1"}],
            "DeleteMarkers": [{"Key": "b.csv", "VersionId": "v2"}]}
        if p["Bucket"] == "mlecourse-98-data" else {},
        ("iam", "ListRoles"): {"Roles": [
            {"Path": "/", "RoleName": "mlecourse-98-role", "RoleId": "AROA1",
             "Arn": f"arn:aws:iam::{A}:role/mlecourse-98-role", "CreateDate": MADE},
            {"Path": "/aws-service-role/sagemaker.amazonaws.com/",
             "RoleName": "mlecourse-service-linked", "RoleId": "AROA2",
             "Arn": f"arn:aws:iam::{A}:role/aws-service-role/x", "CreateDate": MADE},
            {"Path": "/", "RoleName": "role-of-02", "RoleId": "AROA3",
             "Arn": f"arn:aws:iam::{A}:role/role-of-02", "CreateDate": MADE},
            {"Path": "/", "RoleName": "admin", "RoleId": "AROA4",
             "Arn": f"arn:aws:iam::{A}:role/admin", "CreateDate": MADE}]},
        ("iam", "ListRoleTags"): lambda p: {"Tags": COURSE if p["RoleName"] == "role-of-02"
                                            else [], "IsTruncated": False},
        ("iam", "ListUsers"): {"Users": [
            {"Path": "/", "UserName": n, "UserId": "AIDA" + n, "CreateDate": MADE,
             "Arn": f"arn:aws:iam::{A}:user/{n}"} for n in ("mlecourse-98-user", "alice")]},
        ("iam", "ListUserTags"): {"Tags": [], "IsTruncated": False},
        ("iam", "ListPolicies"): {"Policies": [
            {"PolicyName": "mlecourse-98-policy", "CreateDate": MADE,
             "Arn": f"arn:aws:iam::{A}:policy/mlecourse-98-policy"},
            {"PolicyName": "mlecourse-learner", "CreateDate": MADE,
             "Arn": f"arn:aws:iam::{A}:policy/mlecourse-learner"}]},
        ("iam", "ListPolicyTags"): lambda p: {"Tags": KEEP if p["PolicyArn"].endswith(
            "/mlecourse-learner") else [], "IsTruncated": False},
        ("iam", "ListInstanceProfiles"): {"InstanceProfiles": [
            {"Path": "/", "InstanceProfileName": "mlecourse-98-profile",
             "InstanceProfileId": "AIPA1", "CreateDate": MADE, "Roles": [],
             "Arn": f"arn:aws:iam::{A}:instance-profile/mlecourse-98-profile"}]},
        # what the deleters read
        ("iam", "ListAttachedRolePolicies"): {"AttachedPolicies": [
            {"PolicyName": "p", "PolicyArn": f"arn:aws:iam::{A}:policy/p"}]},
        ("iam", "ListRolePolicies"): {"PolicyNames": ["inline"]},
        ("iam", "ListInstanceProfilesForRole"): {"InstanceProfiles": [
            {"Path": "/", "InstanceProfileName": "ip", "InstanceProfileId": "AIPA2",
             "Arn": "arn:aws:iam::1:instance-profile/ip", "CreateDate": MADE, "Roles": []}]},
        ("iam", "ListAccessKeys"): {"AccessKeyMetadata": [{"AccessKeyId": KEY_ID}]},
        ("iam", "ListAttachedUserPolicies"): {"AttachedPolicies": [
            {"PolicyName": "p", "PolicyArn": f"arn:aws:iam::{A}:policy/p"}]},
        ("iam", "ListUserPolicies"): {"PolicyNames": ["inline"]},
        ("iam", "ListGroupsForUser"): {"Groups": [
            {"Path": "/", "GroupName": "learners", "GroupId": "AGPA1", "CreateDate": MADE,
             "Arn": f"arn:aws:iam::{A}:group/learners"}]},
        ("iam", "DeleteLoginProfile"): AWSError("NoSuchEntity", "no login profile", 404),
        ("iam", "ListEntitiesForPolicy"): {
            "PolicyRoles": [{"RoleName": "r1"}], "PolicyUsers": [{"UserName": "u1"}],
            "PolicyGroups": [{"GroupName": "g1"}]},
        ("iam", "ListPolicyVersions"): {"Versions": [
            {"VersionId": "v1", "IsDefaultVersion": False},
            {"VersionId": "v2", "IsDefaultVersion": True}]},
        ("iam", "GetInstanceProfile"): {"InstanceProfile": {
            "Path": "/", "InstanceProfileName": "mlecourse-98-profile",
            "InstanceProfileId": "AIPA1", "Arn": "x", "CreateDate": MADE,
            "Roles": [{"RoleName": "mlecourse-98-role", "Path": "/", "RoleId": "AROA1",
                       "Arn": "y", "CreateDate": MADE}]}},
    }
    return FakeAWS(answers)


def _endpoint_config(params):
    variants = {
        "mlecourse-98-config": [
            {"VariantName": "a", "ModelName": "m", "InstanceType": "ml.m5.large",
             "InitialInstanceCount": 2},
            {"VariantName": "b", "ModelName": "m", "ServerlessConfig": {
                "MemorySizeInMB": 2048, "MaxConcurrency": 1}}],
        "mlecourse-98-gpu-config": [
            {"VariantName": "a", "ModelName": "m", "InstanceType": "ml.m5.large",
             "InitialInstanceCount": 1},
            {"VariantName": "b", "ModelName": "m", "InstanceType": "ml.g5.xlarge"}],
        "mlecourse-98-serverless-config": [
            {"VariantName": "a", "ModelName": "m", "ServerlessConfig": {
                "MemorySizeInMB": 2048, "MaxConcurrency": 1}}],
    }
    name = params["EndpointConfigName"]
    if name not in variants:
        raise AWSError("ValidationException", f"Could not find endpoint configuration {name}")
    return {"EndpointConfigName": name, "ProductionVariants": variants[name]}


def _nat_gateways(params):
    gateways = [
        {"NatGatewayId": "nat-1", "VpcId": "vpc-1", "SubnetId": "subnet-1",
         "State": "available", "CreateTime": MADE},
        {"NatGatewayId": "nat-old", "VpcId": "vpc-1", "State": "deleted"},
        {"NatGatewayId": "nat-going", "VpcId": "vpc-1", "State": "deleting"}]
    wanted = params.get("NatGatewayIds")
    if wanted:  # the waiter after DeleteNatGateway
        return {"NatGateways": [dict(g, State="deleted") for g in gateways
                                if g["NatGatewayId"] in wanted]}
    return {"NatGateways": gateways}


def ec2_arn(kind: str, ident: str) -> str:
    return f"arn:aws:ec2:{R}:{A}:{kind}/{ident}"


# Hand-written: (kind, name, lab) of every course resource above, in deletion order (kinds in
# the sweep's order; within a kind by ARN).
FROM_98 = "98 (from the name)"
EXPECTED = [
    ("cloudformation:stack", "mlecourse-98-stack", FROM_98),
    ("scheduler:schedule", "mlecourse-98-nogroup", FROM_98),  # schedule/default/…
    ("scheduler:schedule", "mlecourse-98-weekly", FROM_98),
    ("scheduler:schedule", "weekly", None),  # schedule/mlecourse-98-group/weekly
    ("scheduler:schedule-group", "mlecourse-98-group", FROM_98),
    ("sagemaker:monitoring-schedule", "mlecourse-98-monitor", FROM_98),
    ("sagemaker:data-quality-job-definition", "mlecourse-98-dq", FROM_98),
    ("events:rule", "any-rule", None),  # rule/mlecourse-98-bus/any-rule
    ("events:rule", "mlecourse-98-rule", FROM_98),
    ("events:rule", "tagged-rule", "02-s3-events"),
    ("events:event-bus", "mlecourse-98-bus", FROM_98),
    ("application-autoscaling:scheduled-action", "monday", None),
    ("application-autoscaling:scaling-policy", "scale", None),
    ("application-autoscaling:scalable-target",
     "endpoint/mlecourse-98-endpoint/variant/AllTraffic", None),
    ("application-autoscaling:scalable-target",
     "endpoint/mlecourse-98-other/variant/AllTraffic", None),
    ("cloudwatch:alarm", "TargetTracking-endpoint/mlecourse-98-endpoint-AlarmHigh-1", None),
    ("cloudwatch:alarm", "latency", None),
    ("cloudwatch:alarm", "mlecourse-98-alarm", FROM_98),
    ("sagemaker:endpoint", "mlecourse-98-endpoint", FROM_98),
    ("sagemaker:endpoint", "mlecourse-98-gpu", FROM_98),
    ("sagemaker:endpoint", "mlecourse-98-orphan", FROM_98),
    ("sagemaker:endpoint", "mlecourse-98-serverless", FROM_98),
    ("sagemaker:endpoint-config", "mlecourse-98-config", FROM_98),
    ("sagemaker:model", "mlecourse-98-model", FROM_98),
    ("sagemaker:mlflow-tracking-server", "mlecourse-98-mlflow", FROM_98),
    ("sagemaker:hyper-parameter-tuning-job", "mlecourse-98-tune", FROM_98),
    ("sagemaker:training-job", "mlecourse-98-train", FROM_98),
    ("sagemaker:processing-job", "mlecourse-98-prep", FROM_98),
    ("sagemaker:transform-job", "mlecourse-98-batch", FROM_98),
    ("sagemaker:pipeline", "mlecourse-98-pipeline", FROM_98),
    ("sagemaker:model-package", "1", None),
    ("sagemaker:model-package-group", "mlecourse-98-models", FROM_98),
    ("sagemaker:feature-group", "mlecourse-98-features", FROM_98),
    ("sagemaker:model-card", "mlecourse-98-card", FROM_98),
    ("sagemaker:experiment-trial-component", "mlecourse-98-component", FROM_98),
    ("sagemaker:experiment-trial", "mlecourse-98-trial", FROM_98),
    ("sagemaker:experiment", "mlecourse-98-experiment", FROM_98),
    ("states:stateMachine", "machine-of-02", "02-s3-events"),
    ("states:stateMachine", "mlecourse-98-machine", FROM_98),
    ("sns:subscription", "1111", None),
    ("sns:topic", "mlecourse-98-topic", FROM_98),
    ("firehose:deliverystream", "delivery-of-02", "02-s3-events"),
    ("firehose:deliverystream", "mlecourse-98-delivery", FROM_98),
    ("kinesis:stream", "mlecourse-98-stream", FROM_98),
    ("kinesis:stream", "stream-of-02", "02-s3-events"),
    ("sqs:queue", "mlecourse-98-queue", FROM_98),
    ("sqs:queue", "queue-of-02", "02-s3-events"),
    ("ecr:repository", "mlecourse-98-repo", FROM_98),
    ("logs:log-group", "/mlecourse-98/logs", None),
    ("logs:log-group", "mlecourse-98-logs", FROM_98),
    ("ec2:vpc-endpoint", "vpce-1", None),
    ("ec2:vpc-endpoint", "vpce-2", None),
    ("ec2:vpc-endpoint", "vpce-4", None),
    ("ec2:natgateway", "nat-1", None),
    ("ec2:elastic-ip", "eipalloc-1", "04-net"),
    ("ec2:elastic-ip", "mlecourse-98-ip", FROM_98),
    ("ec2:internet-gateway", "igw-1", None),
    ("ec2:network-interface", "eni-1", None),
    ("ec2:subnet", "subnet-1", None),
    ("ec2:route-table", "rtb-1", None),
    ("ec2:security-group", "mlecourse-98-sg", FROM_98),
    ("ec2:network-acl", "acl-1", None),
    ("ec2:vpc", "vpc-1", "04-net"),
    ("ec2:vpc", "mlecourse-98-vpc", FROM_98),
    ("s3:bucket", "bucket-of-02", "02-s3-events"),
    ("s3:bucket", "mlecourse-98-data", FROM_98),
    ("iam:instance-profile", "mlecourse-98-profile", FROM_98),
    ("iam:user", "mlecourse-98-user", FROM_98),
    ("iam:role", "mlecourse-98-role", FROM_98),
    ("iam:role", "role-of-02", "02-s3-events"),
    ("iam:policy", "mlecourse-98-policy", FROM_98),
]


def test_finds_exactly_the_course_resources_in_deletion_order(sweep, tmp_path):
    aws = world().install()
    lab = fake_lab(tmp_path)
    found, problems = sweep.find_everything(lab)
    assert problems == []
    assert [(r.kind, r.name, r.lab) for r in found] == EXPECTED
    # the kind is also what kind_and_name reads from each ARN (where the ARN is AWS's own)
    arns = {r.name: r.arn for r in found}
    assert arns["mlecourse-98-nogroup"] == (
        f"arn:aws:scheduler:{R}:{A}:schedule/default/mlecourse-98-nogroup")
    assert arns["endpoint/mlecourse-98-endpoint/variant/AllTraffic"] == (
        "application-autoscaling:scalable-target/"
        "endpoint/mlecourse-98-endpoint/variant/AllTraffic")
    assert arns["endpoint/mlecourse-98-other/variant/AllTraffic"].endswith("/0123")
    assert arns["mlecourse-98-queue"] == f"arn:aws:sqs:{R}:{A}:mlecourse-98-queue"
    assert arns["mlecourse-98-delivery"] == (
        f"arn:aws:firehose:{R}:{A}:deliverystream/mlecourse-98-delivery")
    assert arns["subnet-1"] == ec2_arn("subnet", "subnet-1")
    assert arns["mlecourse-98-data"] == "arn:aws:s3:::mlecourse-98-data"
    # what each list request asked for
    assert aws.params("ListTrainingJobs") == [{"StatusEquals": "InProgress"}]
    assert aws.params("ListHyperParameterTuningJobs") == [{"StatusEquals": "InProgress"}]
    assert aws.params("ListProcessingJobs") == [{"StatusEquals": "InProgress"}]
    assert aws.params("ListTransformJobs") == [{"StatusEquals": "InProgress"}]
    assert aws.params("ListPolicies") == [{"Scope": "Local"}]
    assert aws.params("DescribeLogGroups") == [{"logGroupNamePrefix": "mlecourse"},
                                               {"logGroupNamePrefix": "/mlecourse"}]
    assert aws.params("ListDeliveryStreams") == [
        {"Limit": 100}, {"Limit": 100, "ExclusiveStartDeliveryStreamName": "other-delivery"}]
    assert {p["ServiceNamespace"] for p in aws.params("DescribeScalableTargets")} == {
        "sagemaker"}
    assert [p["EventBusName"] for p in aws.params("ListRules")] == [
        "default", "mlecourse-98-bus", "other-bus"]
    assert [p["ModelPackageGroupName"] for p in aws.params("ListModelPackages")] == [
        "mlecourse-98-models", "their-models"]
    # tags are read only for what the name does not already claim
    assert [p["ResourceARN"].rsplit("/", 1)[-1] for p in aws.params(
        "ListTagsForResource") if "ResourceARN" in p] == ["tagged-rule", "other-rule",
                                                          "any-rule"]
    assert [p["resourceArn"].rsplit(":", 1)[-1] for p in aws.params(
        "ListTagsForResource") if "resourceArn" in p] == ["machine-of-02", "other-machine"]
    assert [p["StreamName"] for p in aws.params("ListTagsForStream")] == [
        "other-stream", "stream-of-02"]
    assert [p["DeliveryStreamName"] for p in aws.params("ListTagsForDeliveryStream")] == [
        "other-delivery", "delivery-of-02"]
    assert [p["QueueUrl"].rsplit("/", 1)[-1] for p in aws.params("ListQueueTags")] == [
        "other-queue", "queue-of-02"]
    # the course's VPCs are listed once for all the EC2 kinds (and once as a kind)
    assert aws.ops().count("DescribeVpcs") == 2
    assert aws.params("GetResources") == [
        {"TagFilters": [{"Key": "course", "Values": ["mle-on-aws"]}]},
        {"TagFilters": [{"Key": "course", "Values": ["mle-on-aws"]}],
         "PaginationToken": "1"}]


def test_extra_details_cost_and_age(sweep, tmp_path):
    world().install()
    found = {r.name: r for r in sweep.find_course_resources(fake_lab(tmp_path))}
    endpoint = found["mlecourse-98-endpoint"]
    # 2 x ml.m5.large at US$0.115 an hour; the serverless variant is billed per request
    assert endpoint.hourly_usd == pytest.approx(0.23)
    assert endpoint.extra == {"instances": "2x ml.m5.large"}
    assert endpoint.cost() == "US$0.230/h"
    gpu = found["mlecourse-98-gpu"]  # a price the table does not know: no total
    assert gpu.hourly_usd is None and gpu.extra == {
        "instances": "1x ml.m5.large, 1x ml.g5.xlarge"}
    assert gpu.cost() == "see pricing"
    assert found["mlecourse-98-serverless"].hourly_usd is None
    assert found["mlecourse-98-serverless"].extra == {}
    assert found["mlecourse-98-orphan"].hourly_usd is None
    assert found["mlecourse-98-orphan"].extra == {}
    assert found["vpce-1"].hourly_usd == pytest.approx(0.02)  # interface: 2 zones x 0.01
    assert found["vpce-4"].hourly_usd == pytest.approx(0.01)  # no subnet listed: one
    assert found["vpce-2"].hourly_usd is None  # gateway endpoints are free
    assert found["vpce-2"].cost() == "see pricing"  # the kind is billed hourly
    assert found["nat-1"].hourly_usd == 0.045 and found["nat-1"].cost() == "US$0.045/h"
    assert found["mlecourse-98-ip"].hourly_usd == 0.005
    assert found["subnet-1"].hourly_usd is None and found["subnet-1"].cost() == "-"
    assert found["nat-1"].extra == {"id": "nat-1", "vpc": "vpc-1"}
    assert found["igw-1"].extra == {"id": "igw-1", "vpc": "vpc-1"}
    assert found["mlecourse-98-ip"].extra == {"id": "eipalloc-2"}
    assert found["weekly"].extra == {"group": "mlecourse-98-group"}
    assert found["mlecourse-98-nogroup"].extra == {"group": "default"}
    assert found["any-rule"].extra == {"bus": "mlecourse-98-bus"}
    assert found["1111"].extra == {"topic": "mlecourse-98-topic"}
    assert found["monday"].extra == {
        "resource_id": "endpoint/mlecourse-98-endpoint/variant/AllTraffic",
        "dimension": DIM}
    assert found["mlecourse-98-train"].cost() == "see pricing"
    assert found["mlecourse-98-model"].cost() == "-"
    # creation times under the services' own keys
    for name in ("mlecourse-98-stack", "mlecourse-98-model", "mlecourse-98-machine",
                 "mlecourse-98-repo", "mlecourse-98-alarm", "mlecourse-98-data",
                 "mlecourse-98-role", "vpce-1", "nat-1", "monday",
                 "mlecourse-98-stream"):  # Kinesis: StreamCreationTimestamp
        assert found[name].created == MADE, name
    assert found["subnet-1"].created is None
    assert found["mlecourse-98-logs"].created is None  # logs give milliseconds, not a date


# Hand-written: every call a real sweep of that account makes, in order (reads included).
CONFIG = "mlecourse-98-config"
DELETES = [
    ("cloudformation", "DeleteStack",
     {"StackName": f"arn:aws:cloudformation:{R}:{A}:stack/mlecourse-98-stack/1"}),
    ("scheduler", "DeleteSchedule", {"Name": "mlecourse-98-nogroup", "GroupName": "default"}),
    ("scheduler", "DeleteSchedule", {"Name": "mlecourse-98-weekly", "GroupName": "default"}),
    ("scheduler", "DeleteSchedule", {"Name": "weekly", "GroupName": "mlecourse-98-group"}),
    ("scheduler", "DeleteScheduleGroup", {"Name": "mlecourse-98-group"}),
    ("sagemaker", "DeleteMonitoringSchedule", {"MonitoringScheduleName":
                                               "mlecourse-98-monitor"}),
    ("sagemaker", "DeleteDataQualityJobDefinition", {"JobDefinitionName": "mlecourse-98-dq"}),
    ("events", "ListTargetsByRule", {"Rule": "any-rule", "EventBusName": "mlecourse-98-bus"}),
    ("events", "DeleteRule", {"Name": "any-rule", "EventBusName": "mlecourse-98-bus"}),
    ("events", "ListTargetsByRule", {"Rule": "mlecourse-98-rule", "EventBusName": "default"}),
    ("events", "RemoveTargets", {"Rule": "mlecourse-98-rule", "EventBusName": "default",
                                 "Ids": ["q"]}),
    ("events", "DeleteRule", {"Name": "mlecourse-98-rule", "EventBusName": "default"}),
    ("events", "ListTargetsByRule", {"Rule": "tagged-rule", "EventBusName": "default"}),
    ("events", "DeleteRule", {"Name": "tagged-rule", "EventBusName": "default"}),
    ("events", "DeleteEventBus", {"Name": "mlecourse-98-bus"}),
    ("application-autoscaling", "DeleteScheduledAction", {
        "ServiceNamespace": "sagemaker", "ScheduledActionName": "monday",
        "ResourceId": "endpoint/mlecourse-98-endpoint/variant/AllTraffic",
        "ScalableDimension": DIM}),
    ("application-autoscaling", "DeleteScalingPolicy", {
        "ServiceNamespace": "sagemaker", "PolicyName": "scale",
        "ResourceId": "endpoint/mlecourse-98-endpoint/variant/AllTraffic",
        "ScalableDimension": DIM}),
    ("application-autoscaling", "DeregisterScalableTarget", {
        "ServiceNamespace": "sagemaker",
        "ResourceId": "endpoint/mlecourse-98-endpoint/variant/AllTraffic",
        "ScalableDimension": DIM}),
    ("application-autoscaling", "DeregisterScalableTarget", {
        "ServiceNamespace": "sagemaker",
        "ResourceId": "endpoint/mlecourse-98-other/variant/AllTraffic",
        "ScalableDimension": DIM}),
    ("cloudwatch", "DeleteAlarms",
     {"AlarmNames": ["TargetTracking-endpoint/mlecourse-98-endpoint-AlarmHigh-1"]}),
    ("cloudwatch", "DeleteAlarms", {"AlarmNames": ["latency"]}),
    ("cloudwatch", "DeleteAlarms", {"AlarmNames": ["mlecourse-98-alarm"]}),
    ("sagemaker", "DeleteEndpoint", {"EndpointName": "mlecourse-98-endpoint"}),
    ("sagemaker", "DeleteEndpoint", {"EndpointName": "mlecourse-98-gpu"}),
    ("sagemaker", "DeleteEndpoint", {"EndpointName": "mlecourse-98-orphan"}),
    ("sagemaker", "DeleteEndpoint", {"EndpointName": "mlecourse-98-serverless"}),
    ("sagemaker", "DeleteEndpointConfig", {"EndpointConfigName": CONFIG}),
    ("sagemaker", "DeleteModel", {"ModelName": "mlecourse-98-model"}),
    ("sagemaker", "DeleteMlflowTrackingServer", {"TrackingServerName": "mlecourse-98-mlflow"}),
    ("sagemaker", "StopHyperParameterTuningJob",
     {"HyperParameterTuningJobName": "mlecourse-98-tune"}),
    ("sagemaker", "StopTrainingJob", {"TrainingJobName": "mlecourse-98-train"}),
    ("sagemaker", "StopProcessingJob", {"ProcessingJobName": "mlecourse-98-prep"}),
    ("sagemaker", "StopTransformJob", {"TransformJobName": "mlecourse-98-batch"}),
    ("sagemaker", "DeletePipeline", {"PipelineName": "mlecourse-98-pipeline"}),
    ("sagemaker", "DeleteModelPackage",
     {"ModelPackageName": sm_arn("model-package", "mlecourse-98-models/1")}),
    ("sagemaker", "DeleteModelPackageGroup", {"ModelPackageGroupName": "mlecourse-98-models"}),
    ("sagemaker", "DeleteFeatureGroup", {"FeatureGroupName": "mlecourse-98-features"}),
    ("sagemaker", "DeleteModelCard", {"ModelCardName": "mlecourse-98-card"}),
    ("sagemaker", "ListTrials", {"TrialComponentName": "mlecourse-98-component"}),
    ("sagemaker", "DisassociateTrialComponent", {"TrialComponentName": "mlecourse-98-component",
                                                 "TrialName": "mlecourse-98-trial"}),
    ("sagemaker", "DeleteTrialComponent", {"TrialComponentName": "mlecourse-98-component"}),
    ("sagemaker", "ListTrialComponents", {"TrialName": "mlecourse-98-trial"}),
    ("sagemaker", "DisassociateTrialComponent", {"TrialComponentName": "mlecourse-98-component",
                                                 "TrialName": "mlecourse-98-trial"}),
    ("sagemaker", "DeleteTrial", {"TrialName": "mlecourse-98-trial"}),
    ("sagemaker", "DeleteExperiment", {"ExperimentName": "mlecourse-98-experiment"}),
    ("stepfunctions", "DeleteStateMachine",
     {"stateMachineArn": f"arn:aws:states:{R}:{A}:stateMachine:machine-of-02"}),
    ("stepfunctions", "DeleteStateMachine",
     {"stateMachineArn": f"arn:aws:states:{R}:{A}:stateMachine:mlecourse-98-machine"}),
    ("sns", "Unsubscribe", {"SubscriptionArn": f"arn:aws:sns:{R}:{A}:mlecourse-98-topic:1111"}),
    ("sns", "DeleteTopic", {"TopicArn": f"arn:aws:sns:{R}:{A}:mlecourse-98-topic"}),
    ("firehose", "DeleteDeliveryStream", {"DeliveryStreamName": "delivery-of-02"}),
    ("firehose", "DeleteDeliveryStream", {"DeliveryStreamName": "mlecourse-98-delivery"}),
    ("kinesis", "DeleteStream", {"StreamName": "mlecourse-98-stream",
                                 "EnforceConsumerDeletion": True}),
    ("kinesis", "DeleteStream", {"StreamName": "stream-of-02",
                                 "EnforceConsumerDeletion": True}),
    ("sqs", "DeleteQueue", {"QueueUrl": f"https://sqs.{R}.amazonaws.com/{A}/"
                                        "mlecourse-98-queue/"}),
    ("sqs", "DeleteQueue", {"QueueUrl": f"https://sqs.{R}.amazonaws.com/{A}/queue-of-02"}),
    ("ecr", "DeleteRepository", {"repositoryName": "mlecourse-98-repo", "force": True}),
    ("logs", "DeleteLogGroup", {"logGroupName": "/mlecourse-98/logs"}),
    ("logs", "DeleteLogGroup", {"logGroupName": "mlecourse-98-logs"}),
    ("ec2", "DeleteVpcEndpoints", {"VpcEndpointIds": ["vpce-1"]}),
    ("ec2", "DeleteVpcEndpoints", {"VpcEndpointIds": ["vpce-2"]}),
    ("ec2", "DeleteVpcEndpoints", {"VpcEndpointIds": ["vpce-4"]}),
    ("ec2", "DeleteNatGateway", {"NatGatewayId": "nat-1"}),
    ("ec2", "DescribeAddresses", {"AllocationIds": ["eipalloc-1"]}),
    ("ec2", "DisassociateAddress", {"AssociationId": "eipassoc-1"}),
    ("ec2", "ReleaseAddress", {"AllocationId": "eipalloc-1"}),
    ("ec2", "DescribeAddresses", {"AllocationIds": ["eipalloc-2"]}),
    ("ec2", "ReleaseAddress", {"AllocationId": "eipalloc-2"}),
    ("ec2", "DescribeInternetGateways", {"InternetGatewayIds": ["igw-1"]}),
    ("ec2", "DetachInternetGateway", {"InternetGatewayId": "igw-1", "VpcId": "vpc-1"}),
    ("ec2", "DeleteInternetGateway", {"InternetGatewayId": "igw-1"}),
    ("ec2", "DeleteNetworkInterface", {"NetworkInterfaceId": "eni-1"}),
    ("ec2", "DeleteSubnet", {"SubnetId": "subnet-1"}),
    ("ec2", "DescribeRouteTables", {"RouteTableIds": ["rtb-1"]}),
    ("ec2", "DisassociateRouteTable", {"AssociationId": "rtbassoc-1"}),
    ("ec2", "DeleteRouteTable", {"RouteTableId": "rtb-1"}),
    ("ec2", "DescribeSecurityGroups", {"GroupIds": ["sg-1"]}),
    ("ec2", "RevokeSecurityGroupIngress", {"GroupId": "sg-1", "IpPermissions": [
        {"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443,
         "UserIdGroupPairs": [{"GroupId": "sg-1"}]}]}),
    ("ec2", "RevokeSecurityGroupEgress", {"GroupId": "sg-1", "IpPermissions": [
        {"IpProtocol": "-1", "UserIdGroupPairs": [{"GroupId": "sg-2"}]}]}),
    ("ec2", "DeleteSecurityGroup", {"GroupId": "sg-1"}),
    ("ec2", "DeleteNetworkAcl", {"NetworkAclId": "acl-1"}),
    ("ec2", "DeleteVpc", {"VpcId": "vpc-1"}),
    ("ec2", "DeleteVpc", {"VpcId": "vpc-2"}),
    ("s3", "ListObjectVersions", {"Bucket": "bucket-of-02"}),
    ("s3", "DeleteBucket", {"Bucket": "bucket-of-02"}),
    ("s3", "ListObjectVersions", {"Bucket": "mlecourse-98-data"}),
    ("s3", "DeleteObjects", {"Bucket": "mlecourse-98-data", "Delete": {"Objects": [
        {"Key": "a.csv", "VersionId": "v1"}, {"Key": "b.csv", "VersionId": "v2"}]}}),
    ("s3", "DeleteBucket", {"Bucket": "mlecourse-98-data"}),
    ("iam", "GetInstanceProfile", {"InstanceProfileName": "mlecourse-98-profile"}),
    ("iam", "RemoveRoleFromInstanceProfile", {"InstanceProfileName": "mlecourse-98-profile",
                                              "RoleName": "mlecourse-98-role"}),
    ("iam", "DeleteInstanceProfile", {"InstanceProfileName": "mlecourse-98-profile"}),
    ("iam", "ListAccessKeys", {"UserName": "mlecourse-98-user"}),
    ("iam", "DeleteAccessKey", {"UserName": "mlecourse-98-user", "AccessKeyId": KEY_ID}),
    ("iam", "ListAttachedUserPolicies", {"UserName": "mlecourse-98-user"}),
    ("iam", "DetachUserPolicy", {"UserName": "mlecourse-98-user",
                                 "PolicyArn": f"arn:aws:iam::{A}:policy/p"}),
    ("iam", "ListUserPolicies", {"UserName": "mlecourse-98-user"}),
    ("iam", "DeleteUserPolicy", {"UserName": "mlecourse-98-user", "PolicyName": "inline"}),
    ("iam", "ListGroupsForUser", {"UserName": "mlecourse-98-user"}),
    ("iam", "RemoveUserFromGroup", {"UserName": "mlecourse-98-user",
                                    "GroupName": "learners"}),
    ("iam", "DeleteLoginProfile", {"UserName": "mlecourse-98-user"}),
    ("iam", "DeleteUser", {"UserName": "mlecourse-98-user"}),
    ("iam", "ListAttachedRolePolicies", {"RoleName": "mlecourse-98-role"}),
    ("iam", "DetachRolePolicy", {"RoleName": "mlecourse-98-role",
                                 "PolicyArn": f"arn:aws:iam::{A}:policy/p"}),
    ("iam", "ListRolePolicies", {"RoleName": "mlecourse-98-role"}),
    ("iam", "DeleteRolePolicy", {"RoleName": "mlecourse-98-role", "PolicyName": "inline"}),
    ("iam", "ListInstanceProfilesForRole", {"RoleName": "mlecourse-98-role"}),
    ("iam", "RemoveRoleFromInstanceProfile", {"InstanceProfileName": "ip",
                                              "RoleName": "mlecourse-98-role"}),
    ("iam", "DeleteRole", {"RoleName": "mlecourse-98-role"}),
    ("iam", "ListAttachedRolePolicies", {"RoleName": "role-of-02"}),
    ("iam", "DetachRolePolicy", {"RoleName": "role-of-02",
                                 "PolicyArn": f"arn:aws:iam::{A}:policy/p"}),
    ("iam", "ListRolePolicies", {"RoleName": "role-of-02"}),
    ("iam", "DeleteRolePolicy", {"RoleName": "role-of-02", "PolicyName": "inline"}),
    ("iam", "ListInstanceProfilesForRole", {"RoleName": "role-of-02"}),
    ("iam", "RemoveRoleFromInstanceProfile", {"InstanceProfileName": "ip",
                                              "RoleName": "role-of-02"}),
    ("iam", "DeleteRole", {"RoleName": "role-of-02"}),
    ("iam", "ListEntitiesForPolicy", {"PolicyArn": f"arn:aws:iam::{A}:policy/"
                                                   "mlecourse-98-policy"}),
    ("iam", "DetachRolePolicy", {"RoleName": "r1", "PolicyArn": f"arn:aws:iam::{A}:policy/"
                                                                "mlecourse-98-policy"}),
    ("iam", "DetachUserPolicy", {"UserName": "u1", "PolicyArn": f"arn:aws:iam::{A}:policy/"
                                                                "mlecourse-98-policy"}),
    ("iam", "DetachGroupPolicy", {"GroupName": "g1", "PolicyArn": f"arn:aws:iam::{A}:policy/"
                                                                  "mlecourse-98-policy"}),
    ("iam", "ListPolicyVersions", {"PolicyArn": f"arn:aws:iam::{A}:policy/"
                                                "mlecourse-98-policy"}),
    ("iam", "DeletePolicyVersion", {"PolicyArn": f"arn:aws:iam::{A}:policy/"
                                                 "mlecourse-98-policy", "VersionId": "v1"}),
    ("iam", "DeletePolicy", {"PolicyArn": f"arn:aws:iam::{A}:policy/mlecourse-98-policy"}),
]
STOPPED = {"mlecourse-98-tune", "mlecourse-98-train", "mlecourse-98-prep",
           "mlecourse-98-batch"}
RELEASED = {"eipalloc-1", "mlecourse-98-ip"}


def answer_every_delete(aws: FakeAWS) -> None:
    for service, operation, _ in DELETES:
        aws.answers.setdefault((service, operation), {})


def test_deletes_each_resource_with_the_documented_calls_in_order(sweep, tmp_path):
    aws = world()
    answer_every_delete(aws)
    aws.install()
    lab = fake_lab(tmp_path)
    found = sweep.find_course_resources(lab)
    aws.calls.clear()
    outcomes = sweep.delete_course_resources(lab, list(reversed(found)), dry_run=False)
    assert aws.calls == DELETES
    assert [r.name for r, _ in outcomes] == [name for _, name, _ in EXPECTED]
    for r, outcome in outcomes:
        expected = ("stopped" if r.name in STOPPED else "released" if r.name in RELEASED
                    else "deleted")
        assert outcome == expected, r.name


def test_a_dry_run_calls_nothing(sweep, tmp_path):
    aws = world().install()
    lab = fake_lab(tmp_path)
    found = sweep.find_course_resources(lab)
    aws.calls.clear()
    outcomes = sweep.delete_course_resources(lab, found)
    assert aws.calls == []
    assert {r.name for r, o in outcomes if o == "would stop"} == STOPPED
    assert {o for r, o in outcomes if r.name not in STOPPED} == {"would delete"}


def test_on_aws_stacks_and_nat_gateways_are_waited_for(sweep, tmp_path):
    """AWS deletes a stack and a NAT gateway asynchronously; the sweep waits (the waiters
    poll DescribeStacks / DescribeNatGateways until DELETE_COMPLETE / deleted)."""
    stack = f"arn:aws:cloudformation:{R}:{A}:stack/mlecourse-98-stack/1"
    aws = FakeAWS({
        ("cloudformation", "DeleteStack"): {},
        ("cloudformation", "DescribeStacks"): {"Stacks": [
            {"StackName": "mlecourse-98-stack", "StackId": stack, "CreationTime": MADE,
             "StackStatus": "DELETE_COMPLETE"}]},
        ("ec2", "DeleteNatGateway"): {"NatGatewayId": "nat-1"},
        ("ec2", "DescribeNatGateways"): _nat_gateways}).install()
    resources = [
        sweep.CourseResource(stack, "cloudformation:stack", "mlecourse-98-stack", None),
        sweep.CourseResource(ec2_arn("natgateway", "nat-1"), "ec2:natgateway", "nat-1",
                             None, extra={"id": "nat-1"})]
    outcomes = sweep.delete_course_resources(fake_lab(tmp_path, local=False), resources,
                                             dry_run=False)
    assert [o for _, o in outcomes] == ["deleted", "deleted"]
    assert [(op, p) for _, op, p in aws.calls] == [
        ("DeleteStack", {"StackName": stack}), ("DescribeStacks", {"StackName": stack}),
        ("DeleteNatGateway", {"NatGatewayId": "nat-1"}),
        ("DescribeNatGateways", {"NatGatewayIds": ["nat-1"]})]
    aws.calls.clear()  # on moto nothing waits
    sweep.delete_course_resources(fake_lab(tmp_path), resources, dry_run=False)
    assert aws.ops() == ["DeleteStack", "DeleteNatGateway"]


def test_failures_are_reported_gone_ones_are_not_failures(sweep, tmp_path):
    aws = world()
    gone = {
        ("sqs", "DeleteQueue"): AWSError("AWS.SimpleQueueService.NonExistentQueue",
                                         "The specified queue does not exist."),
        ("sns", "DeleteTopic"): AWSError("NotFound", "Topic gone"),
        ("iam", "ListAccessKeys"): AWSError("NoSuchEntity", "The user cannot be found.", 404),
        ("ecr", "DeleteRepository"): AWSError("RepositoryNotFoundException", "nope"),
        ("sagemaker", "DeleteModel"): AWSError("ValidationException",
                                               "Could not find model \"m\"."),
        ("logs", "DeleteLogGroup"): AWSError("ResourceNotFoundException", "gone"),
        ("cloudwatch", "DeleteAlarms"): AWSError("Throttling", "Rate exceeded"),
    }
    aws.answers.update(gone)
    aws.install()
    lab = fake_lab(tmp_path)
    found = [r for r in sweep.find_course_resources(lab) if r.kind in (
        "sqs:queue", "sns:topic", "iam:user", "ecr:repository", "sagemaker:model",
        "logs:log-group", "cloudwatch:alarm")]
    outcomes = {r.name: o for r, o in sweep.delete_course_resources(lab, found,
                                                                    dry_run=False)}
    for name in ("mlecourse-98-queue", "mlecourse-98-topic", "mlecourse-98-user",
                 "mlecourse-98-repo", "mlecourse-98-model", "mlecourse-98-logs"):
        assert outcomes[name] == "already gone", name
    assert outcomes["mlecourse-98-alarm"].startswith("failed: ")
    assert "Rate exceeded" in outcomes["mlecourse-98-alarm"]


def test_a_kind_that_cannot_be_listed_is_a_problem_on_aws_not_on_moto(sweep, tmp_path):
    aws = world()
    aws.answers[("sagemaker", "ListMlflowTrackingServers")] = AWSError(
        "NotImplementedError", "The list_mlflow_tracking_servers action has not been "
        "implemented")
    aws.answers[("ecr", "DescribeRepositories")] = AWSError("AccessDenied", "no ECR for you")
    aws.answers[("resourcegroupstaggingapi", "GetResources")] = AWSError("AccessDenied", "x")
    aws.install()
    found, problems = sweep.find_everything(fake_lab(tmp_path))
    assert problems == ["could not list ecr:repository: An error occurred (AccessDenied) "
                        "when calling the DescribeRepositories operation: no ECR for you"]
    assert "bucket-of-02" not in {r.name for r in found}  # only the tag said it was ours
    assert "mlecourse-98-data" in {r.name for r in found}
    found, problems = sweep.find_everything(fake_lab(tmp_path, local=False))
    assert [p.split(":")[0] for p in problems] == [
        "could not list tagged resources", "could not list sagemaker",
        "could not list ecr"]
    assert "mlecourse-98-mlflow" not in {r.name for r in found}
    # each moto wording of "not there" counts, and only on the local backend
    for text in ("UnknownOperation", "NotImplemented", "x is not yet implemented"):
        aws.answers[("sagemaker", "ListMlflowTrackingServers")] = AWSError("E", text)
        assert sweep.find_everything(fake_lab(tmp_path))[1] == problems[2:], text


def test_only_lab_narrows_by_tag_or_by_the_number_in_the_name(sweep, tmp_path):
    world().install()
    lab = fake_lab(tmp_path)
    of_02 = sweep.find_course_resources(lab, only_lab="02-s3-events")
    assert [r.name for r in of_02] == ["tagged-rule", "machine-of-02", "delivery-of-02",
                                       "stream-of-02", "queue-of-02", "bucket-of-02",
                                       "role-of-02"]
    of_98 = {r.name for r in sweep.find_course_resources(lab, only_lab="98-unit-test")}
    assert of_98 == {name for _, name, lab_ in EXPECTED if lab_ == FROM_98}
    assert [r.name for r in sweep.find_course_resources(lab, only_lab="04-net")] == [
        "eipalloc-1", "vpc-1"]
    assert sweep.find_course_resources(lab, only_lab="99-sweep") == []


def test_a_kept_resource_is_never_swept_even_with_the_prefix(sweep, tmp_path):
    world().install()
    names = {r.name for r in sweep.find_course_resources(fake_lab(tmp_path))}
    assert "mlecourse-learner" not in names and "mlecourse-98-kept" not in names
    assert "mlecourse-98-policy" in names


def test_paged_lists_are_read_to_the_end(sweep, tmp_path):
    aws = world()
    aws.answers[("sagemaker", "ListModels")] = pages_of("Models", [
        {"ModelName": "mlecourse-98-a", "ModelArn": sm_arn("model", "mlecourse-98-a"),
         "CreationTime": MADE}], [
        {"ModelName": "mlecourse-98-b", "ModelArn": sm_arn("model", "mlecourse-98-b"),
         "CreationTime": MADE}])
    aws.install()
    found = sweep.find_course_resources(fake_lab(tmp_path))
    assert [r.name for r in found if r.kind == "sagemaker:model"] == [
        "mlecourse-98-a", "mlecourse-98-b"]


def test_an_empty_first_firehose_page_ends_the_listing(sweep, tmp_path):
    aws = world()
    aws.answers[("firehose", "ListDeliveryStreams")] = {
        "DeliveryStreamNames": [], "HasMoreDeliveryStreams": True}
    aws.install()
    found = sweep.find_course_resources(fake_lab(tmp_path))
    assert not [r for r in found if r.kind == "firehose:deliverystream"]
    assert len(aws.params("ListDeliveryStreams")) == 1


def test_an_unused_experiment_deleter_deletes_trials_first(sweep, tmp_path):
    aws = world()
    answer_every_delete(aws)
    aws.install()
    r = sweep.CourseResource(sm_arn("experiment", "e"), "sagemaker:experiment", "e", None)
    assert sweep._delete_experiment(fake_lab(tmp_path), r) == "deleted"
    assert [(op, p) for _, op, p in aws.calls] == [
        ("ListTrials", {"ExperimentName": "e"}),
        ("ListTrialComponents", {"TrialName": "mlecourse-98-trial"}),
        ("DisassociateTrialComponent", {"TrialComponentName": "mlecourse-98-component",
                                        "TrialName": "mlecourse-98-trial"}),
        ("DeleteTrial", {"TrialName": "mlecourse-98-trial"}),
        ("DeleteExperiment", {"ExperimentName": "e"})]


# ---------------------------------------------------------------- pure parts
def res(kind="sagemaker:model", name="n", created=None, hourly=None, **extra):
    return labkit.sweep.CourseResource("arn:aws:sagemaker:::x/" + name, kind, name, None,
                                       created, hourly, extra)


@pytest.mark.parametrize(("minutes", "text"), [
    (-5, "0 min"), (0, "0 min"), (59, "59 min"), (60, "1 h 0 min"), (61, "1 h 1 min"),
    (47 * 60 + 59, "47 h 59 min"), (48 * 60, "2 days"), (73 * 60, "3 days"),
])
def test_age_in_minutes_hours_then_days(sweep, minutes, text):
    now = dt.datetime(2026, 12, 3, 12, 0, tzinfo=UTC)
    r = sweep.CourseResource("a", "k", "n", None, now - dt.timedelta(minutes=minutes,
                                                                     seconds=30))
    assert r.age(now) == text


def test_age_of_a_naive_time_is_read_as_utc_and_unknown_is_a_question_mark(sweep):
    now = dt.datetime(2026, 12, 3, 12, 0, tzinfo=UTC)
    naive = sweep.CourseResource("a", "k", "n", None, dt.datetime(2026, 12, 3, 10, 0))
    assert naive.age(now) == "2 h 0 min"
    assert sweep.CourseResource("a", "k", "n", None).age(now) == "?"
    fresh = sweep.CourseResource("a", "k", "n", None, dt.datetime.now(UTC))
    assert fresh.age() == "0 min"


def test_cost_text(sweep):
    assert res(hourly=0.115).cost() == "US$0.115/h"
    assert res(hourly=0.0).cost() == "US$0.000/h"
    assert res(kind="sagemaker:endpoint").cost() == "see pricing"
    assert res(instances="1x ml.g5.xlarge").cost() == "see pricing"
    assert res().cost() == "-"


def test_sort_key_puts_unknown_kinds_last(sweep):
    assert res(kind="cloudformation:stack").sort_key == (0, "arn:aws:sagemaker:::x/n")
    assert res(kind="iam:policy").sort_key == (len(sweep.KINDS) - 1,
                                               "arn:aws:sagemaker:::x/n")
    assert res(kind="lambda:function").sort_key[0] == len(sweep.KINDS)


@pytest.mark.parametrize(("arn", "expected"), [
    # https://docs.aws.amazon.com/IAM/latest/UserGuide/reference-arns.html
    ("arn:aws:s3:::mlecourse-01-data", ("s3:bucket", "mlecourse-01-data")),
    ("arn:aws:sqs:us-east-1:123456789012:q", ("sqs:queue", "q")),
    ("arn:aws:sns:us-east-1:123456789012:topic", ("sns:topic", "topic")),
    ("arn:aws:sagemaker:us-east-1:123456789012:model-package/g/1",
     ("sagemaker:model-package", "g/1")),
    ("arn:aws:states:us-east-1:123456789012:stateMachine:sm:v1",
     ("states:stateMachine", "sm:v1")),
    ("arn:aws-cn:ec2:cn-north-1:123456789012:vpc/vpc-1", ("ec2:vpc", "vpc-1")),
    ("arn:aws:iam::123456789012:root", ("iam:root", "root")),
])
def test_kind_and_name(sweep, arn, expected):
    assert sweep.kind_and_name(arn) == expected


@pytest.mark.parametrize("bad", ["mlecourse-bucket", "urn:aws:s3:::b", "arn:aws:s3:b"])
def test_not_an_arn(sweep, bad):
    with pytest.raises(LabKitError) as info:
        sweep.kind_and_name(bad)
    assert info.value.problem == f"{bad!r} is not an ARN."
    assert info.value.fix == "pass ARNs such as arn:aws:s3:::bucket."


def test_unknown_kind_fails_with_advice_and_the_rest_goes_on(sweep, tmp_path):
    aws = FakeAWS({("sqs", "DeleteQueue"): {}}).install()
    odd = res(kind="lambda:function", name="f")
    queue = sweep.CourseResource("arn:aws:sqs:us-east-1:1:mlecourse-q", "sqs:queue",
                                 "mlecourse-q", None, extra={"url": "https://q/1/mlecourse-q"})
    outcomes = sweep.delete_course_resources(fake_lab(tmp_path), [odd, queue], dry_run=False)
    assert outcomes[0] == (queue, "deleted")
    assert outcomes[1][0] == odd
    assert outcomes[1][1].startswith("failed: The sweep does not know how to delete "
                                     "lambda:function resources (arn:aws:sagemaker:::x/f).")
    assert "report it so the sweep can learn it" in outcomes[1][1]
    assert aws.params("DeleteQueue") == [{"QueueUrl": "https://q/1/mlecourse-q"}]
    # a dry run says the same for a kind it cannot delete
    assert sweep.delete_course_resources(fake_lab(tmp_path), [odd])[0][1].startswith(
        "failed: ")


def test_table_and_its_text(sweep):
    now = dt.datetime.now(UTC)
    a = sweep.CourseResource("arn:a", "sagemaker:endpoint", "mlecourse-98-endpoint",
                             "98-unit-test", now - dt.timedelta(hours=3, minutes=5), 0.23,
                             {"instances": "2x ml.m5.large", "id": "hidden"})
    b = sweep.CourseResource("arn:b", "scheduler:schedule", "weekly", None, None, None,
                             {"group": "g", "vpc": "vpc-1", "topic": "t"})
    rows = sweep.table([(a, "would delete"), (b, "deleted")])
    assert rows == [
        {"outcome": "would delete", "kind": "sagemaker:endpoint",
         "name": "mlecourse-98-endpoint", "lab": "98-unit-test", "age": "3 h 5 min",
         "per hour": "US$0.230/h", "detail": "instances=2x ml.m5.large"},
        {"outcome": "deleted", "kind": "scheduler:schedule", "name": "weekly", "lab": "?",
         "age": "?", "per hour": "-", "detail": "group=g, vpc=vpc-1, topic=t"}]
    text = sweep.format_table([{"a": "x", "bb": "yyy"}, {"a": "long", "bb": ""}])
    assert text == "a     bb\nx     yyy\nlong"
    assert sweep.format_table([]) == "nothing found"


def test_tags_in_every_shape_aws_uses(sweep):
    assert sweep._tags_to_dict(None) == {}
    assert sweep._tags_to_dict([]) == {}
    assert sweep._tags_to_dict({"a": "1"}) == {"a": "1"}
    assert sweep._tags_to_dict([{"Key": "a", "Value": "1"}]) == {"a": "1"}
    assert sweep._tags_to_dict([{"key": "a", "value": "1"}]) == {"a": "1"}  # Step Functions


def test_kinds_narrows_the_search_to_those_kinds(sweep, tmp_path):
    aws = world().install()
    found, problems = sweep.find_everything(fake_lab(tmp_path), kinds=["sqs:queue"])
    assert [r.name for r in found] == ["mlecourse-98-queue", "queue-of-02"]
    assert problems == []
    assert aws.ops() == ["ListQueues", "GetResources", "GetResources", "ListQueueTags",
                         "ListQueueTags"]


def test_a_missing_list_key_is_an_empty_list(sweep, tmp_path):
    aws = world()
    aws.answers[("ec2", "DescribeAddresses")] = {}  # not paginated
    aws.answers[("sagemaker", "ListModels")] = {}  # paginated
    aws.install()
    found, problems = sweep.find_everything(fake_lab(tmp_path))
    assert problems == []
    assert not [r for r in found if r.kind in ("ec2:elastic-ip", "sagemaker:model")]


def learner_world() -> FakeAWS:
    """One account, two learners (ana1 and bob2), as on the aws backend."""
    def tags(who):
        return [{"Key": "course", "Value": "mle-on-aws"}, {"Key": "lab", "Value": "07-shop"},
                {"Key": "learner", "Value": who}]
    return FakeAWS({
        ("resourcegroupstaggingapi", "GetResources"): {"ResourceTagMappingList": [
            {"ResourceARN": f"arn:aws:s3:::{n}", "Tags": tags(w)} for n, w in (
                ("mlecourse-07-data-ana1-1-eu", "ana1"), ("mlecourse-07-data-bob2-1-eu",
                                                          "bob2"))]},
        ("s3", "ListBuckets"): {"Buckets": [{"Name": n} for n in (
            "mlecourse-07-data-ana1-1-eu", "mlecourse-07-data-bob2-1-eu",
            "mlecourse-07-old-ana1", "mlecourse-07-old-bob2", "mlecourse-07-ana10")]},
        ("scheduler", "ListSchedules"): {"Schedules": [
            {"Name": "weekly", "GroupName": "mlecourse-07-group-ana1",
             "Arn": f"arn:aws:scheduler:{R}:{A}:schedule/mlecourse-07-group-ana1/weekly"},
            {"Name": "weekly", "GroupName": "mlecourse-07-group-bob2",
             "Arn": f"arn:aws:scheduler:{R}:{A}:schedule/mlecourse-07-group-bob2/weekly"}]},
    })


KINDS_SEEN = ["s3:bucket", "scheduler:schedule"]


def test_on_aws_the_sweep_touches_only_the_learners_own(sweep, tmp_path):
    learner_world().install()
    lab = fake_lab(tmp_path, local=False, learner="ana1")
    found, problems = sweep.find_everything(lab, kinds=KINDS_SEEN)
    assert problems == []
    # by the learner tag; untagged ones by the token as one piece of the name or ARN (not
    # "ana10"); a schedule by its group's name
    assert sorted(r.name for r in found) == [
        "mlecourse-07-data-ana1-1-eu", "mlecourse-07-old-ana1", "weekly"]
    assert [r.extra["group"] for r in found if r.name == "weekly"] == [
        "mlecourse-07-group-ana1"]
    everyone, _ = sweep.find_everything(lab, kinds=KINDS_SEEN, every_learner=True)
    assert len(everyone) == 7
    assert len(sweep.find_course_resources(lab, every_learner=True)) == 7
    assert len(sweep.find_course_resources(lab)) == 3
    local = fake_lab(tmp_path, learner="ana1")  # on moto everything is the learner's
    assert len(sweep.find_everything(local, kinds=KINDS_SEEN)[0]) == 7


def test_answers_without_their_optional_lists_and_a_rule_without_a_bus(sweep, tmp_path):
    """ListEntitiesForPolicy and ListTargetsByRule may leave out empty lists; a rule found
    before buses were recorded is on the default bus."""
    policy = f"arn:aws:iam::{A}:policy/mlecourse-98-p"
    aws = FakeAWS({
        ("iam", "ListEntitiesForPolicy"): {"PolicyGroups": [{"GroupName": "g"}]},
        ("iam", "DetachGroupPolicy"): {}, ("iam", "ListPolicyVersions"): {"Versions": []},
        ("iam", "DeletePolicy"): {},
        ("events", "ListTargetsByRule"): {}, ("events", "DeleteRule"): {}}).install()
    outcomes = sweep.delete_course_resources(fake_lab(tmp_path), [
        sweep.CourseResource(policy, "iam:policy", "mlecourse-98-p", None),
        sweep.CourseResource(f"arn:aws:events:{R}:{A}:rule/mlecourse-98-r", "events:rule",
                             "mlecourse-98-r", None)], dry_run=False)
    assert [o for _, o in outcomes] == ["deleted", "deleted"]
    assert [(op, p) for _, op, p in aws.calls] == [
        ("ListTargetsByRule", {"Rule": "mlecourse-98-r", "EventBusName": "default"}),
        ("DeleteRule", {"Name": "mlecourse-98-r", "EventBusName": "default"}),
        ("ListEntitiesForPolicy", {"PolicyArn": policy}),
        ("DetachGroupPolicy", {"GroupName": "g", "PolicyArn": policy}),
        ("ListPolicyVersions", {"PolicyArn": policy}),
        ("DeletePolicy", {"PolicyArn": policy})]


def test_format_table_pads_to_the_widest_of_header_and_cells(sweep):
    assert sweep.format_table([{"longheader": "x", "b": "y"}]) == "longheader  b\nx           y"


def test_deleters_read_answers_that_leave_out_empty_lists(sweep, tmp_path):
    """AWS leaves out empty lists in some answers (an unattached gateway, a profile with no
    role, a route table with no association); the deleters must take that as empty."""
    aws = FakeAWS({
        ("ec2", "DescribeInternetGateways"): {"InternetGateways": [
            {"InternetGatewayId": "igw-2"}]},
        ("ec2", "DeleteInternetGateway"): {},
        ("ec2", "DescribeRouteTables"): lambda p: {"RouteTables": [
            {"RouteTableId": p["RouteTableIds"][0]} if p["RouteTableIds"] == ["rtb-2"] else
            {"RouteTableId": "rtb-3", "Associations": [
                {"Main": True, "RouteTableAssociationId": "rtbassoc-main"},
                {"Main": False, "RouteTableAssociationId": "rtbassoc-3"}]}]},
        ("ec2", "DisassociateRouteTable"): {}, ("ec2", "DeleteRouteTable"): {},
        ("ec2", "DescribeSecurityGroups"): {"SecurityGroups": [{
            "GroupId": "sg-2", "IpPermissions": [
                {"IpProtocol": "-1", "UserIdGroupPairs": [{"GroupId": "sg-gone"}]}]}]},
        ("ec2", "RevokeSecurityGroupIngress"): AWSError(
            "InvalidPermission.NotFound", "The specified rule does not exist"),
        ("ec2", "DeleteSecurityGroup"): {},
        ("iam", "GetInstanceProfile"): {"InstanceProfile": {
            "Path": "/", "InstanceProfileName": "mlecourse-98-ip", "InstanceProfileId": "AIPA9",
            "Arn": "x", "CreateDate": MADE}},
        ("iam", "DeleteInstanceProfile"): {},
        ("iam", "ListEntitiesForPolicy"): {}, ("iam", "ListPolicyVersions"): {"Versions": []},
        ("iam", "DeletePolicy"): {}}).install()

    def ec2(kind, ident):
        return sweep.CourseResource(ec2_arn(kind, ident), f"ec2:{kind}", ident, None,
                                    extra={"id": ident})
    policy = f"arn:aws:iam::{A}:policy/mlecourse-98-q"
    outcomes = sweep.delete_course_resources(fake_lab(tmp_path), [
        ec2("internet-gateway", "igw-2"), ec2("route-table", "rtb-2"),
        ec2("route-table", "rtb-3"), ec2("security-group", "sg-2"),
        sweep.CourseResource(f"arn:aws:iam::{A}:instance-profile/mlecourse-98-ip",
                             "iam:instance-profile", "mlecourse-98-ip", None),
        sweep.CourseResource(policy, "iam:policy", "mlecourse-98-q", None)], dry_run=False)
    assert [o for _, o in outcomes] == ["deleted"] * 6
    assert aws.ops(prefix="Delete") + aws.ops(prefix="Disassociate") + aws.ops(
        prefix="Detach") + aws.ops(prefix="Remove") == [
        "DeleteInternetGateway", "DeleteRouteTable", "DeleteRouteTable",
        "DeleteSecurityGroup", "DeleteInstanceProfile", "DeletePolicy",
        "DisassociateRouteTable"]  # the main association is left to its VPC
    assert aws.params("DisassociateRouteTable") == [{"AssociationId": "rtbassoc-3"}]


def test_every_unknown_kind_is_reported(sweep, tmp_path):
    FakeAWS().install()
    odd = [res(kind="lambda:function", name="f"), res(kind="glue:job", name="g")]
    outcomes = sweep.delete_course_resources(fake_lab(tmp_path), odd, dry_run=False)
    assert [(r.name, o.split(" resources")[0]) for r, o in outcomes] == [
        ("f", "failed: The sweep does not know how to delete lambda:function"),
        ("g", "failed: The sweep does not know how to delete glue:job")]
    assert outcomes[0][1].endswith("\n  What to do: delete it in the AWS console, and report "
                                   "it so the sweep can learn it.")


def test_python_not_implemented_from_moto_is_not_a_problem_on_local(sweep, tmp_path):
    def unsupported(params):
        raise NotImplementedError("The list_mlflow_tracking_servers action is missing")
    aws = world()
    aws.answers[("sagemaker", "ListMlflowTrackingServers")] = unsupported
    aws.install()
    assert sweep.find_everything(fake_lab(tmp_path))[1] == []
    problems = sweep.find_everything(fake_lab(tmp_path, local=False))[1]
    assert "could not list sagemaker:mlflow-tracking-server: The list_mlflow_tracking_" \
           "servers action is missing" in problems


def test_on_aws_a_learners_vpc_is_known_by_its_learner_tag_or_the_token_in_its_name(
        sweep, tmp_path):
    def tags(who):
        return [{"Key": "course", "Value": "mle-on-aws"}, {"Key": "learner", "Value": who}]
    mine = [{"Key": "learner", "Value": "ana1"}]
    FakeAWS({
        ("resourcegroupstaggingapi", "GetResources"): {"ResourceTagMappingList": []},
        ("ec2", "DescribeVpcs"): {"Vpcs": [
            {"VpcId": "vpc-a", "Tags": tags("ana1")}, {"VpcId": "vpc-b", "Tags": tags("bob2")},
            {"VpcId": "vpc-n", "Tags": [{"Key": "Name", "Value": "mlecourse-07-net-ana1"}]},
            {"VpcId": "vpc-m", "Tags": [{"Key": "Name", "Value": "mlecourse-07-net-bob2"}]}]},
        ("ec2", "DescribeSubnets"): {"Subnets": [
            {"SubnetId": f"subnet-{v}", "VpcId": f"vpc-{v}", "Tags": mine} for v in "abnm"]},
    }).install()
    lab = fake_lab(tmp_path, local=False, learner="ana1")
    found, problems = sweep.find_everything(lab, kinds=["ec2:subnet"])
    assert problems == []
    assert [r.name for r in found] == ["subnet-a", "subnet-n"]
    everyone = sweep.find_everything(lab, kinds=["ec2:subnet"], every_learner=True)[0]
    assert len(everyone) == 4


def test_arns_are_the_services_own_or_empty_when_a_summary_has_none(sweep, tmp_path):
    aws = world().install()
    found = {r.name: r.arn for r in sweep.find_course_resources(fake_lab(tmp_path))}
    assert found["mlecourse-98-trial"] == sm_arn("experiment-trial", "mlecourse-98-trial")
    assert found["mlecourse-98-component"] == sm_arn("experiment-trial-component",
                                                     "mlecourse-98-component")
    assert found["mlecourse-98-bus"] == f"arn:aws:events:{R}:{A}:event-bus/mlecourse-98-bus"
    assert found["mlecourse-98-group"] == (
        f"arn:aws:scheduler:{R}:{A}:schedule-group/mlecourse-98-group")
    aws.answers[("sagemaker", "ListTrials")] = {"TrialSummaries": [
        {"TrialName": "mlecourse-98-t"}]}
    aws.answers[("sagemaker", "ListTrialComponents")] = {"TrialComponentSummaries": [
        {"TrialComponentName": "mlecourse-98-c"}]}
    found = sweep.find_everything(fake_lab(tmp_path), kinds=[
        "sagemaker:experiment-trial", "sagemaker:experiment-trial-component"])[0]
    assert [(r.name, r.arn) for r in found] == [("mlecourse-98-c", ""), ("mlecourse-98-t", "")]


def test_a_stack_found_by_its_tags_after_a_deleted_one(sweep, tmp_path):
    FakeAWS({
        ("resourcegroupstaggingapi", "GetResources"): {"ResourceTagMappingList": []},
        ("cloudformation", "DescribeStacks"): {"Stacks": [
            {"StackName": "mlecourse-98-gone", "StackId": "arn:aws:cloudformation:x:1:stack/g",
             "StackStatus": "DELETE_COMPLETE", "CreationTime": MADE},
            {"StackName": "stack-of-02", "StackId": "arn:aws:cloudformation:x:1:stack/s",
             "StackStatus": "CREATE_COMPLETE", "CreationTime": MADE, "Tags": COURSE}]},
    }).install()
    found = sweep.find_everything(fake_lab(tmp_path), kinds=["cloudformation:stack"])[0]
    assert [(r.name, r.lab) for r in found] == [("stack-of-02", "02-s3-events")]


def test_the_default_bus_and_schedule_group_are_never_swept_even_if_tagged(sweep, tmp_path):
    FakeAWS({
        ("resourcegroupstaggingapi", "GetResources"): {"ResourceTagMappingList": [
            {"ResourceARN": f"arn:aws:events:{R}:{A}:event-bus/default", "Tags": COURSE},
            {"ResourceARN": f"arn:aws:scheduler:{R}:{A}:schedule-group/default",
             "Tags": COURSE}]},
        ("events", "ListEventBuses"): {"EventBuses": [
            {"Name": "default", "Arn": f"arn:aws:events:{R}:{A}:event-bus/default"}]},
        ("scheduler", "ListScheduleGroups"): {"ScheduleGroups": [
            {"Name": "default", "Arn": f"arn:aws:scheduler:{R}:{A}:schedule-group/default"}]},
    }).install()
    found, problems = sweep.find_everything(fake_lab(tmp_path), kinds=[
        "events:event-bus", "scheduler:schedule-group"])
    assert found == [] and problems == []


def test_answers_that_leave_out_their_lists_find_nothing(sweep, tmp_path):
    aws = FakeAWS({
        ("resourcegroupstaggingapi", "GetResources"): {"ResourceTagMappingList": []},
        ("events", "ListEventBuses"): {},
        ("firehose", "ListDeliveryStreams"): {"HasMoreDeliveryStreams": False},
    }).install()
    kinds = ["events:rule", "events:event-bus", "firehose:deliverystream"]
    assert sweep.find_everything(fake_lab(tmp_path), kinds=kinds) == ([], [])
    aws.answers[("events", "ListEventBuses")] = {"EventBuses": [
        {"Name": "default", "Arn": f"arn:aws:events:{R}:{A}:event-bus/default"}]}
    aws.answers[("events", "ListRules")] = {}
    assert sweep.find_everything(fake_lab(tmp_path), kinds=kinds) == ([], [])


def test_endpoint_price_adds_every_instance_variant(sweep, tmp_path):
    configs = {
        "mlecourse-98-a-config": [
            {"VariantName": "s", "ModelName": "m", "ServerlessConfig": {
                "MemorySizeInMB": 2048, "MaxConcurrency": 1}},
            {"VariantName": "i", "ModelName": "m", "InstanceType": "ml.m5.large",
             "InitialInstanceCount": 3}],
    }
    FakeAWS({
        ("resourcegroupstaggingapi", "GetResources"): {"ResourceTagMappingList": []},
        ("sagemaker", "ListEndpoints"): {"Endpoints": [
            {"EndpointName": n, "EndpointArn": sm_arn("endpoint", n), "CreationTime": MADE,
             "LastModifiedTime": MADE, "EndpointStatus": "InService"}
            for n in ("mlecourse-98-a", "mlecourse-98-b")]},
        ("sagemaker", "DescribeEndpoint"): lambda p: {
            "EndpointName": p["EndpointName"],
            "EndpointConfigName": p["EndpointName"] + "-config"},
        ("sagemaker", "DescribeEndpointConfig"): lambda p: {
            "EndpointConfigName": p["EndpointConfigName"]} | (
            {"ProductionVariants": configs[p["EndpointConfigName"]]}
            if p["EndpointConfigName"] in configs else {}),
    }).install()
    found = sweep.find_everything(fake_lab(tmp_path), kinds=["sagemaker:endpoint"])[0]
    assert [(r.name, r.hourly_usd, r.extra) for r in found] == [
        ("mlecourse-98-a", pytest.approx(0.345), {"instances": "3x ml.m5.large"}),
        ("mlecourse-98-b", None, {})]


def test_more_arns_and_fields_as_the_services_give_them(sweep, tmp_path):
    world().install()
    found = {r.name: r for r in sweep.find_course_resources(fake_lab(tmp_path))}
    assert found["monday"].arn.endswith(":scheduledActionName/monday")
    assert found["scale"].arn.endswith(":policyName/scale")
    assert found["mlecourse-98-train"].arn == sm_arn("training-job", "mlecourse-98-train")
    assert found["mlecourse-98-repo"].arn == f"arn:aws:ecr:{R}:{A}:repository/mlecourse-98-repo"
    assert found["mlecourse-98-logs"].arn == f"arn:aws:logs:{R}:{A}:log-group:mlecourse-98-logs:*"


def test_summaries_missing_optional_fields(sweep, tmp_path):
    """Fields a summary may lack: an ARN, a state, associations, a dimension."""
    FakeAWS({
        ("resourcegroupstaggingapi", "GetResources"): {"ResourceTagMappingList": []},
        ("sagemaker", "ListTrainingJobs"): {"TrainingJobSummaries": [
            {"TrainingJobName": "mlecourse-98-t"}]},
        ("logs", "DescribeLogGroups"): lambda p: {"logGroups": [
            {"logGroupName": "/mlecourse-98-x"}] if p["logGroupNamePrefix"] == "/mlecourse"
            else []},  # (two without ARNs would be one: the sweep keys by kind and ARN)
        ("s3", "ListBuckets"): {},
        ("ec2", "DescribeVpcs"): {"Vpcs": [
            {"VpcId": "vpc-2", "Tags": [{"Key": "Name", "Value": "mlecourse-98-vpc"}]}]},
        ("ec2", "DescribeVpcEndpoints"): {"VpcEndpoints": [
            {"VpcEndpointId": "vpce-5", "VpcId": "vpc-2", "VpcEndpointType": "Gateway"}]},
        ("ec2", "DescribeRouteTables"): {"RouteTables": [
            {"RouteTableId": "rtb-5", "VpcId": "vpc-2"}]},
        ("ec2", "DescribeSubnets"): {"Subnets": [{"SubnetId": "subnet-5", "VpcId": "vpc-2"}]},
        ("ec2", "DescribeNatGateways"): {"NatGateways": [
            {"NatGatewayId": "nat-old", "VpcId": "vpc-2", "State": "deleted"},
            {"NatGatewayId": "nat-5", "VpcId": "vpc-2", "State": "available"}]},
        ("application-autoscaling", "DescribeScalableTargets"): {"ScalableTargets": [
            {"ServiceNamespace": "sagemaker", "ResourceId": "endpoint/mlecourse-98-e/v/a"}]},
    }).install()
    found, problems = sweep.find_everything(fake_lab(tmp_path), kinds=[
        "sagemaker:training-job", "logs:log-group", "s3:bucket", "ec2:vpc-endpoint",
        "ec2:route-table", "ec2:subnet", "ec2:natgateway",
        "application-autoscaling:scalable-target"])
    assert problems == []
    assert [(r.kind, r.name, r.arn) for r in found] == [
        ("application-autoscaling:scalable-target", "endpoint/mlecourse-98-e/v/a",
         "application-autoscaling:scalable-target/endpoint/mlecourse-98-e/v/a"),
        ("sagemaker:training-job", "mlecourse-98-t", ""),
        ("logs:log-group", "/mlecourse-98-x", ""),
        ("ec2:vpc-endpoint", "vpce-5", ec2_arn("vpc-endpoint", "vpce-5")),
        ("ec2:natgateway", "nat-5", ec2_arn("natgateway", "nat-5")),
        ("ec2:subnet", "subnet-5", ec2_arn("subnet", "subnet-5")),
        ("ec2:route-table", "rtb-5", ec2_arn("route-table", "rtb-5"))]
    assert found[0].extra == {"resource_id": "endpoint/mlecourse-98-e/v/a"}


def test_a_long_firehose_listing_continues_after_the_last_name(sweep, tmp_path):
    aws = FakeAWS({
        ("resourcegroupstaggingapi", "GetResources"): {"ResourceTagMappingList": []},
        ("firehose", "ListDeliveryStreams"): lambda p: {
            None: {"DeliveryStreamNames": ["mlecourse-98-a", "mlecourse-98-b",
                                           "mlecourse-98-c"], "HasMoreDeliveryStreams": True},
            "mlecourse-98-c": {"DeliveryStreamNames": ["mlecourse-98-d"],
                               "HasMoreDeliveryStreams": False}}[
            p.get("ExclusiveStartDeliveryStreamName")],
        ("sqs", "ListQueues"): {"QueueUrls": [
            f"https://sqs.{R}.amazonaws.com/{A}/mlecourse-98-QX"]},
    }).install()
    found = sweep.find_everything(fake_lab(tmp_path), kinds=[
        "firehose:deliverystream", "sqs:queue"])[0]
    assert [r.name for r in found] == ["mlecourse-98-a", "mlecourse-98-b", "mlecourse-98-c",
                                       "mlecourse-98-d", "mlecourse-98-QX"]
    assert len(aws.params("ListDeliveryStreams")) == 2


@pytest.mark.parametrize(("name", "lab"), [
    ("mlecourse", None), ("mlecourse-98", "98 (from the name)"),
    ("mlecourse-16a-data", "16a (from the name)"), ("mlecourse-x9-data", None),
    ("other-98-data", None)])
def test_the_lab_read_from_a_name(sweep, name, lab):
    assert sweep._lab_of(name, {}) == lab
    assert sweep._lab_of(name, {"lab": "07-shop"}) == "07-shop"


def test_on_moto_only_the_services_moto_has_served_are_listed(sweep, tmp_path, monkeypatch):
    import sys
    import types

    lab = fake_lab(tmp_path)
    lab._mock = object()  # the in-process mock is on
    for name in [n for n in sys.modules if n.startswith("moto.")]:
        monkeypatch.delitem(sys.modules, name)
    for name in ("moto.stepfunctions", "moto.applicationautoscaling", "moto.sqs"):
        monkeypatch.setitem(sys.modules, name, types.ModuleType(name))
    world().install()
    found, problems = sweep.find_everything(lab)
    assert problems == []
    assert {r.kind.split(":")[0] for r in found} == {"states", "application-autoscaling",
                                                      "sqs"}
