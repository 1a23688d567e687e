"""Find and delete everything the course created in an account: lab 99 and ``python -m
labkit sweep``.

Each lab deletes what it created in its cleanup cell. This module is the safety net for the
cells that never ran. A resource is the course's when its name starts with ``mlecourse``,
when it carries the tag ``course=mle-on-aws``, or when it lives inside one that is (a subnet
of a course VPC, a schedule in a course schedule group, a package in a course model package
group). Kinds that cannot be tagged (EventBridge Scheduler schedules, Application Auto
Scaling policies and scheduled actions) are found by their name or the course resource they
belong to (a course schedule group; ``endpoint/mlecourse-…`` in the resource id).

:data:`KINDS` lists every kind the labs create, in the order the sweep deletes them:
dependents first (an endpoint before its endpoint configuration, that before its model;
schedules and rule targets before rules; subnets and gateways before their VPC; policies off
a role before the role). Jobs cannot be deleted on AWS: the sweep *stops* the ones still
running. A dry run (the default) lists each resource with its lab, its age and what it
costs per hour where that is known.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import sys
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from labkit.errors import LabKitError
from labkit.naming import carries_token
from labkit.session import COURSE_TAG, empty_and_delete_bucket

if TYPE_CHECKING:
    from labkit.session import Lab

NAME_PREFIX = "mlecourse"
"""Every resource name the labs make starts with this (see ``Lab.resource_name``)."""

KEEP_TAG = "course-keep"
"""A resource tagged ``course-keep=true`` is never swept (e.g. the learner's course policy)."""

HOURLY_USD: dict[str, tuple[float | None, str]] = {
    # us-east-1 on-demand, checked 2026-11 (the chapters cite the same pages).
    "ec2:natgateway": (0.045, "https://aws.amazon.com/vpc/pricing/"),
    "ec2:vpc-endpoint": (0.01, "https://aws.amazon.com/privatelink/pricing/"),  # per AZ
    "ec2:elastic-ip": (0.005, "https://aws.amazon.com/vpc/pricing/"),  # public IPv4
    "ml.m5.large": (0.115, "https://aws.amazon.com/sagemaker/ai/pricing/"),
    "sagemaker:mlflow-tracking-server": (None, "https://aws.amazon.com/sagemaker/ai/pricing/"),
    "kinesis:stream": (None, "https://aws.amazon.com/kinesis/data-streams/pricing/"),
}
"""Hourly prices the dry run shows (None: billed, see the page). Interface endpoints are
billed per Availability Zone; endpoints per instance (other types: see the page)."""


@dataclass(frozen=True)
class CourseResource:
    """One resource the course owns."""

    arn: str
    kind: str
    name: str
    lab: str | None
    created: dt.datetime | None = field(default=None, compare=False)
    hourly_usd: float | None = field(default=None, compare=False)
    extra: dict[str, str] = field(default_factory=dict, compare=False, hash=False)

    @property
    def sort_key(self) -> tuple[int, str]:
        rank = ORDER.index(self.kind) if self.kind in ORDER else len(ORDER)
        return rank, self.arn

    def age(self, now: dt.datetime | None = None) -> str:
        """``"3 h 12 min"``, or ``"?"`` when the service does not say when it was made."""
        if self.created is None:
            return "?"
        created = self.created
        if created.tzinfo is None:
            created = created.replace(tzinfo=dt.timezone.utc)
        minutes = int(((now or dt.datetime.now(dt.timezone.utc)) - created).total_seconds() // 60)
        if minutes < 60:
            return f"{max(minutes, 0)} min"
        hours, minutes = divmod(minutes, 60)
        return f"{hours} h {minutes} min" if hours < 48 else f"{hours // 24} days"

    def cost(self) -> str:
        """What it costs per hour while it exists, as text for the dry run."""
        if self.hourly_usd is not None:
            return f"US${self.hourly_usd:.3f}/h"
        if self.kind in BILLED_HOURLY or self.extra.get("instances"):
            return "see pricing"
        return "-"


BILLED_HOURLY = frozenset({
    "sagemaker:endpoint", "ec2:natgateway", "ec2:vpc-endpoint", "ec2:elastic-ip",
    "sagemaker:mlflow-tracking-server", "sagemaker:training-job", "sagemaker:processing-job",
    "sagemaker:transform-job", "sagemaker:hyper-parameter-tuning-job", "kinesis:stream",
})


def kind_and_name(arn: str) -> tuple[str, str]:
    """``("sagemaker:endpoint", "my-endpoint")`` from an ARN."""
    parts = arn.split(":", 5)
    if len(parts) < 6 or parts[0] != "arn":
        raise LabKitError(f"{arn!r} is not an ARN.", "pass ARNs such as arn:aws:s3:::bucket.")
    service, resource = parts[2], parts[5]
    if service == "s3":
        return "s3:bucket", resource
    if service == "sqs":
        return "sqs:queue", resource
    if service == "sns":
        return "sns:topic", resource
    for sep in ("/", ":"):
        if sep in resource:
            kind, name = resource.split(sep, 1)
            return f"{service}:{kind}", name
    return f"{service}:{resource}", resource


def _tags_to_dict(tags: Iterable[dict[str, str]] | dict[str, str] | None) -> dict[str, str]:
    if not tags:
        return {}
    if isinstance(tags, dict):
        return dict(tags)
    return {t.get("Key", t.get("key", "")): t.get("Value", t.get("value", "")) for t in tags}


def _owned(name: str, tags: dict[str, str]) -> bool:
    return (
        name.startswith(NAME_PREFIX)
        or tags.get("course") == COURSE_TAG
        or tags.get("Name", "").startswith(NAME_PREFIX)
    )


def _lab_of(name: str, tags: dict[str, str]) -> str | None:
    if "lab" in tags:
        return tags["lab"]
    parts = name.split("-")
    if len(parts) > 1 and parts[0] == NAME_PREFIX and parts[1][:2].isdigit():
        return f"{parts[1]} (from the name)"
    return None


_CREATED_KEYS = ("CreationTime", "CreateDate", "CreationDate", "CreatedTime", "CreateTime",
                 "creationDate", "createdAt", "CreatedAt", "CreationTimestamp",
                 "CreatedTimestamp", "StreamCreationTimestamp",
                 "AlarmConfigurationUpdatedTimestamp")


def _created(item: dict[str, Any]) -> dt.datetime | None:
    for key in _CREATED_KEYS:
        value = item.get(key)
        if isinstance(value, dt.datetime):
            return value
    return None


# ---------------------------------------------------------------- finding
class _Finder:
    """One sweep's view of the account: clients, tags by ARN, course VPCs, problems."""

    def __init__(self, lab: Lab, every_learner: bool = False) -> None:
        self.lab = lab
        # On aws the sweep touches only this learner's resources (learners share accounts);
        # on local the moto state is the lab's own.
        self.learner = None if every_learner or lab.is_local else lab.learner
        self.problems: list[str] = []
        self._clients: dict[str, Any] = {}
        self._tagged: dict[str, dict[str, str]] | None = None
        self._vpcs: set[str] | None = None

    def client(self, service: str) -> Any:
        if service not in self._clients:
            self._clients[service] = self.lab.client(service)
        return self._clients[service]

    def tagged(self) -> dict[str, dict[str, str]]:
        """ARN -> tags of every resource carrying the course tag (Resource Groups Tagging)."""
        if self._tagged is None:
            self._tagged = {}
            try:
                pages = self.client("resourcegroupstaggingapi").get_paginator(
                    "get_resources").paginate(TagFilters=[{"Key": "course",
                                                           "Values": [COURSE_TAG]}])
                for page in pages:
                    for item in page["ResourceTagMappingList"]:
                        self._tagged[item["ResourceARN"]] = _tags_to_dict(item.get("Tags"))
            except Exception as exc:  # noqa: BLE001 - names still find most resources
                if not self.lab.is_local:  # moto 5.2.5's tagging API fails on some states
                    self.problems.append(f"could not list tagged resources: {exc}")
        return self._tagged

    def course_vpcs(self) -> set[str]:
        if self._vpcs is None:
            self._vpcs = set()
            for vpc in self.client("ec2").describe_vpcs()["Vpcs"]:
                tags = _tags_to_dict(vpc.get("Tags"))
                if _owned("", tags) and self.mine(tags.get("Name", ""), "", tags, {}):
                    self._vpcs.add(vpc["VpcId"])
        return self._vpcs

    def resource(self, kind: str, name: str, arn: str, item: dict[str, Any],
                 tags: dict[str, str] | None = None, *, parent_owned: bool = False,
                 hourly: float | None = None, **extra: str) -> CourseResource | None:
        """A CourseResource if the course owns it, else None."""
        tags = dict(tags or {})
        tags.update(self.tagged().get(arn, {}))
        if not (parent_owned or _owned(name, tags)) or tags.get(KEEP_TAG) == "true":
            return None
        # An untagged child of this learner's own course VPC (a subnet, a route table) is
        # this learner's: the VPC cannot be deleted while it is there. (course_vpcs() keeps
        # to the learner; other parents, such as a schedule group, say only "course".)
        inherited = parent_owned and kind.startswith("ec2:") and "learner" not in tags
        if not inherited and not self.mine(name, arn, tags, extra):
            return None
        return CourseResource(arn, kind, name, _lab_of(name, tags), _created(item), hourly,
                              {k: v for k, v in extra.items() if v})


    def mine(self, name: str, arn: str, tags: dict[str, str], extra: dict[str, str]) -> bool:
        """This learner's: its ``learner`` tag, or (untagged kinds) the token in its name,
        ARN or the name of what it belongs to (an endpoint, a schedule group, a topic)."""
        if self.learner is None:
            return True
        if "learner" in tags:
            return tags["learner"] == self.learner
        return any(carries_token(text, self.learner)
                   for text in (name, arn, *extra.values()) if text)


def _pages(client: Any, operation: str, key: str, **kwargs: Any) -> Iterator[Any]:
    if client.can_paginate(operation):
        for page in client.get_paginator(operation).paginate(**kwargs):
            yield from page.get(key, [])
    else:
        yield from client.__getattribute__(operation)(**kwargs).get(key, [])


Found = Iterator["CourseResource | None"]


def _find_stacks(f: _Finder) -> Found:
    for item in _pages(f.client("cloudformation"), "describe_stacks", "Stacks"):
        if item.get("StackStatus") == "DELETE_COMPLETE":
            continue
        yield f.resource("cloudformation:stack", item["StackName"], item["StackId"], item,
                         _tags_to_dict(item.get("Tags")))


def _delete_stack(lab: Lab, r: CourseResource) -> str:
    cfn = lab.client("cloudformation")
    cfn.delete_stack(StackName=r.arn)
    if not lab.is_local:  # its resources go with it; wait so the kinds below see that
        cfn.get_waiter("stack_delete_complete").wait(StackName=r.arn)
    return "deleted"


def _find_schedules(f: _Finder) -> Found:
    scheduler = f.client("scheduler")
    for item in _pages(scheduler, "list_schedules", "Schedules"):
        group = item.get("GroupName", "default")
        yield f.resource("scheduler:schedule", item["Name"], item["Arn"], item,
                         parent_owned=group.startswith(NAME_PREFIX), group=group)


def _find_schedule_groups(f: _Finder) -> Found:
    scheduler = f.client("scheduler")
    for item in _pages(scheduler, "list_schedule_groups", "ScheduleGroups"):
        if item["Name"] != "default":
            yield f.resource("scheduler:schedule-group", item["Name"], item["Arn"], item)


def _find_rules(f: _Finder) -> Found:
    events = f.client("events")
    buses = [b["Name"] for b in events.list_event_buses().get("EventBuses", [])]
    for bus in buses:
        for item in events.list_rules(EventBusName=bus).get("Rules", []):
            tags: dict[str, str] = {}
            if not item["Name"].startswith(NAME_PREFIX):
                tags = _tags_to_dict(events.list_tags_for_resource(
                    ResourceARN=item["Arn"]).get("Tags"))
            yield f.resource("events:rule", item["Name"], item["Arn"], item, tags,
                             parent_owned=bus.startswith(NAME_PREFIX), bus=bus)


def _find_buses(f: _Finder) -> Found:
    for item in f.client("events").list_event_buses().get("EventBuses", []):
        if item["Name"] != "default":
            yield f.resource("events:event-bus", item["Name"], item["Arn"], item)


def _find_autoscaling(what: str) -> Callable[[_Finder], Found]:
    operation, key, kind = {
        "scheduled-action": ("describe_scheduled_actions", "ScheduledActions",
                             "application-autoscaling:scheduled-action"),
        "scaling-policy": ("describe_scaling_policies", "ScalingPolicies",
                           "application-autoscaling:scaling-policy"),
        "scalable-target": ("describe_scalable_targets", "ScalableTargets",
                            "application-autoscaling:scalable-target"),
    }[what]

    def find(f: _Finder) -> Found:
        client = f.client("application-autoscaling")
        for item in _pages(client, operation, key, ServiceNamespace="sagemaker"):
            name = item.get("ScheduledActionName") or item.get("PolicyName") or item[
                "ResourceId"]
            arn = item.get("ScheduledActionARN") or item.get("PolicyARN") or item.get(
                "ScalableTargetARN") or f"{kind}/{item['ResourceId']}"
            yield f.resource(kind, name, arn, item, parent_owned=f"/{NAME_PREFIX}" in item[
                "ResourceId"], resource_id=item["ResourceId"],
                dimension=item.get("ScalableDimension", ""))
    return find


def _find_alarms(f: _Finder) -> Found:
    for item in _pages(f.client("cloudwatch"), "describe_alarms", "MetricAlarms"):
        name = item["AlarmName"]
        dims = " ".join(str(d.get("Value", "")) for d in item.get("Dimensions", []))
        yield f.resource("cloudwatch:alarm", name, item["AlarmArn"], item,
                         parent_owned=NAME_PREFIX in name or dims.startswith(NAME_PREFIX))


def _endpoint_hourly(f: _Finder, config_name: str) -> tuple[float | None, str]:
    try:
        config = f.client("sagemaker").describe_endpoint_config(
            EndpointConfigName=config_name)
    except Exception:  # noqa: BLE001 - the config may be gone already
        return None, ""
    total: float | None = 0.0
    types = []
    for variant in config.get("ProductionVariants", []):
        itype = variant.get("InstanceType")
        if not itype:  # serverless: billed per request
            continue
        count = int(variant.get("InitialInstanceCount", 1))
        types.append(f"{count}x {itype}")
        price = HOURLY_USD.get(itype, (None, ""))[0]
        total = None if price is None or total is None else total + price * count
    return (total if types else None), ", ".join(types)


def _sagemaker_finder(kind: str, operation: str, key: str, name_key: str, arn_key: str,
                      **kwargs: Any) -> Callable[[_Finder], Found]:
    def find(f: _Finder) -> Found:
        sm = f.client("sagemaker")
        for item in _pages(sm, operation, key, **kwargs):
            name, arn = item[name_key], item.get(arn_key, "")
            resource = f.resource(kind, name, arn, item)
            if resource is not None and kind == "sagemaker:endpoint":
                described = sm.describe_endpoint(EndpointName=name)
                hourly, types = _endpoint_hourly(f, described["EndpointConfigName"])
                resource = f.resource(kind, name, arn, item, hourly=hourly, instances=types)
            yield resource
    return find


def _find_jobs(kind: str, what: str) -> Callable[[_Finder], Found]:
    """Running jobs only: the sweep stops them (AWS keeps finished jobs' records)."""
    plural = {"training": "TrainingJob", "processing": "ProcessingJob",
              "transform": "TransformJob", "tuning": "HyperParameterTuningJob"}[what]
    operation = {"training": "list_training_jobs", "processing": "list_processing_jobs",
                 "transform": "list_transform_jobs",
                 "tuning": "list_hyper_parameter_tuning_jobs"}[what]
    key = {"tuning": "HyperParameterTuningJobSummaries"}.get(what, f"{plural}Summaries")

    def find(f: _Finder) -> Found:
        for item in _pages(f.client("sagemaker"), operation, key, StatusEquals="InProgress"):
            yield f.resource(kind, item[f"{plural}Name"], item.get(f"{plural}Arn", ""), item)
    return find


def _find_model_packages(f: _Finder) -> Found:
    sm = f.client("sagemaker")
    for group in _pages(sm, "list_model_package_groups", "ModelPackageGroupSummaryList"):
        group_name = group["ModelPackageGroupName"]
        owned = f.resource("x", group_name, group["ModelPackageGroupArn"], group) is not None
        for item in _pages(sm, "list_model_packages", "ModelPackageSummaryList",
                           ModelPackageGroupName=group_name):
            arn = item["ModelPackageArn"]
            yield f.resource("sagemaker:model-package", arn.rsplit("/", 1)[-1], arn, item,
                             parent_owned=owned)


def _find_trial_components(f: _Finder) -> Found:
    sm = f.client("sagemaker")
    for item in _pages(sm, "list_trial_components", "TrialComponentSummaries"):
        name = item["TrialComponentName"]
        yield f.resource("sagemaker:experiment-trial-component", name,
                         item.get("TrialComponentArn", ""), item)


def _find_trials(f: _Finder) -> Found:
    sm = f.client("sagemaker")
    for item in _pages(sm, "list_trials", "TrialSummaries"):
        yield f.resource("sagemaker:experiment-trial", item["TrialName"],
                         item.get("TrialArn", ""), item)


def _find_state_machines(f: _Finder) -> Found:
    sfn = f.client("stepfunctions")
    for item in _pages(sfn, "list_state_machines", "stateMachines"):
        tags: dict[str, str] = {}
        if not item["name"].startswith(NAME_PREFIX):
            tags = _tags_to_dict(sfn.list_tags_for_resource(
                resourceArn=item["stateMachineArn"]).get("tags"))
        yield f.resource("states:stateMachine", item["name"], item["stateMachineArn"], item,
                         tags)


def _find_topics(f: _Finder) -> Found:
    for item in _pages(f.client("sns"), "list_topics", "Topics"):
        arn = item["TopicArn"]
        yield f.resource("sns:topic", arn.rsplit(":", 1)[-1], arn, item)


def _find_subscriptions(f: _Finder) -> Found:
    for item in _pages(f.client("sns"), "list_subscriptions", "Subscriptions"):
        topic = item["TopicArn"].rsplit(":", 1)[-1]
        arn = item["SubscriptionArn"]
        if arn.startswith("arn:"):  # not "PendingConfirmation"
            yield f.resource("sns:subscription", arn.rsplit(":", 1)[-1], arn, item,
                             parent_owned=topic.startswith(NAME_PREFIX), topic=topic)


def _find_delivery_streams(f: _Finder) -> Found:
    firehose = f.client("firehose")
    names: list[str] = []
    start: dict[str, str] = {}
    while True:  # no paginator: ExclusiveStartDeliveryStreamName
        page = firehose.list_delivery_streams(Limit=100, **start)
        names += page.get("DeliveryStreamNames", [])
        if not page.get("HasMoreDeliveryStreams") or not names:
            break
        start = {"ExclusiveStartDeliveryStreamName": names[-1]}
    for name in names:
        tags: dict[str, str] = {}
        if not name.startswith(NAME_PREFIX):
            tags = _tags_to_dict(firehose.list_tags_for_delivery_stream(
                DeliveryStreamName=name).get("Tags"))
        arn = f"arn:aws:firehose:{f.lab.region}:{f.lab.account_id}:deliverystream/{name}"
        yield f.resource("firehose:deliverystream", name, arn, {}, tags)


def _find_streams(f: _Finder) -> Found:
    kinesis = f.client("kinesis")
    for item in _pages(kinesis, "list_streams", "StreamSummaries"):
        name, arn = item["StreamName"], item["StreamARN"]
        tags: dict[str, str] = {}
        if not name.startswith(NAME_PREFIX):
            tags = _tags_to_dict(kinesis.list_tags_for_stream(StreamName=name).get("Tags"))
        yield f.resource("kinesis:stream", name, arn, item, tags)


def _find_queues(f: _Finder) -> Found:
    sqs = f.client("sqs")
    for url in _pages(sqs, "list_queues", "QueueUrls"):
        name = url.rstrip("/").rsplit("/", 1)[-1]
        arn = f"arn:aws:sqs:{f.lab.region}:{f.lab.account_id}:{name}"
        tags = {} if name.startswith(NAME_PREFIX) else sqs.list_queue_tags(
            QueueUrl=url).get("Tags", {})
        yield f.resource("sqs:queue", name, arn, {}, tags, url=url)


def _find_repositories(f: _Finder) -> Found:
    for item in _pages(f.client("ecr"), "describe_repositories", "repositories"):
        yield f.resource("ecr:repository", item["repositoryName"], item["repositoryArn"],
                         item)


def _find_log_groups(f: _Finder) -> Found:
    for prefix in (NAME_PREFIX, f"/{NAME_PREFIX}"):
        for item in _pages(f.client("logs"), "describe_log_groups", "logGroups",
                           logGroupNamePrefix=prefix):
            yield f.resource("logs:log-group", item["logGroupName"], item.get("arn", ""),
                             item, parent_owned=True)


def _ec2_finder(kind: str, operation: str, key: str, id_key: str) -> Callable[[_Finder], Found]:
    def find(f: _Finder) -> Found:
        ec2 = f.client("ec2")
        vpcs = f.course_vpcs()
        for item in _pages(ec2, operation, key):
            ident = item[id_key]
            tags = _tags_to_dict(item.get("Tags"))
            vpc = item.get("VpcId") or next(
                (a.get("VpcId") for a in item.get("Attachments", [])), None)
            if kind == "ec2:security-group" and item.get("GroupName") == "default":
                continue  # goes with its VPC
            if kind == "ec2:route-table" and any(
                    a.get("Main") for a in item.get("Associations", [])):
                continue
            if kind == "ec2:network-acl" and item.get("IsDefault"):
                continue
            if kind == "ec2:network-interface" and item.get("RequesterManaged"):
                continue  # a NAT gateway's or endpoint's: it goes with its owner
            if kind == "ec2:natgateway" and item.get("State") in ("deleted", "deleting"):
                continue
            if kind == "ec2:vpc-endpoint" and item.get("State", "").lower() in (
                    "deleted", "deleting"):
                continue
            arn = f"arn:aws:ec2:{f.lab.region}:{f.lab.account_id}:{kind[4:]}/{ident}"
            hourly = HOURLY_USD.get(kind, (None, ""))[0]
            if kind == "ec2:vpc-endpoint":
                zones = len(item.get("SubnetIds", []))
                hourly = None if item.get("VpcEndpointType") != "Interface" else (
                    (hourly or 0.0) * max(zones, 1))
            yield f.resource(kind, tags.get("Name", ident), arn, item, tags,
                             parent_owned=vpc in vpcs, hourly=hourly, id=ident,
                             vpc=vpc or "")
    return find


def _find_buckets(f: _Finder) -> Found:
    s3 = f.client("s3")
    for item in s3.list_buckets().get("Buckets", []):
        name = item["Name"]
        yield f.resource("s3:bucket", name, f"arn:aws:s3:::{name}", item)


def _find_iam(kind: str) -> Callable[[_Finder], Found]:
    def find(f: _Finder) -> Found:
        iam = f.client("iam")
        if kind == "iam:role":
            for item in _pages(iam, "list_roles", "Roles"):
                if item["Path"].startswith("/aws-service-role/"):
                    continue
                tags = _tags_to_dict(iam.list_role_tags(RoleName=item["RoleName"]).get("Tags"))
                yield f.resource(kind, item["RoleName"], item["Arn"], item, tags)
        elif kind == "iam:user":
            for item in _pages(iam, "list_users", "Users"):
                tags = _tags_to_dict(iam.list_user_tags(UserName=item["UserName"]).get("Tags"))
                yield f.resource(kind, item["UserName"], item["Arn"], item, tags)
        elif kind == "iam:policy":
            for item in _pages(iam, "list_policies", "Policies", Scope="Local"):
                tags = _tags_to_dict(iam.list_policy_tags(PolicyArn=item["Arn"]).get("Tags"))
                yield f.resource(kind, item["PolicyName"], item["Arn"], item, tags)
        else:
            for item in _pages(iam, "list_instance_profiles", "InstanceProfiles"):
                yield f.resource(kind, item["InstanceProfileName"], item["Arn"], item)
    return find


# ---------------------------------------------------------------- deleting
def _delete_bucket(lab: Lab, r: CourseResource) -> str:
    empty_and_delete_bucket(lab.client("s3"), r.name)
    return "deleted"


def _delete_rule(lab: Lab, r: CourseResource) -> str:
    events = lab.client("events")
    bus = r.extra.get("bus", "default")
    targets = events.list_targets_by_rule(Rule=r.name, EventBusName=bus).get("Targets", [])
    if targets:
        events.remove_targets(Rule=r.name, EventBusName=bus, Ids=[t["Id"] for t in targets])
    events.delete_rule(Name=r.name, EventBusName=bus)
    return "deleted"


def _delete_role(lab: Lab, r: CourseResource) -> str:
    iam = lab.client("iam")
    name = r.name
    for policy in iam.list_attached_role_policies(RoleName=name)["AttachedPolicies"]:
        iam.detach_role_policy(RoleName=name, PolicyArn=policy["PolicyArn"])
    for policy in iam.list_role_policies(RoleName=name)["PolicyNames"]:
        iam.delete_role_policy(RoleName=name, PolicyName=policy)
    for profile in iam.list_instance_profiles_for_role(RoleName=name)["InstanceProfiles"]:
        iam.remove_role_from_instance_profile(
            InstanceProfileName=profile["InstanceProfileName"], RoleName=name)
    iam.delete_role(RoleName=name)
    return "deleted"


def _delete_user(lab: Lab, r: CourseResource) -> str:
    iam = lab.client("iam")
    name = r.name
    for key in iam.list_access_keys(UserName=name)["AccessKeyMetadata"]:
        iam.delete_access_key(UserName=name, AccessKeyId=key["AccessKeyId"])
    for policy in iam.list_attached_user_policies(UserName=name)["AttachedPolicies"]:
        iam.detach_user_policy(UserName=name, PolicyArn=policy["PolicyArn"])
    for policy in iam.list_user_policies(UserName=name)["PolicyNames"]:
        iam.delete_user_policy(UserName=name, PolicyName=policy)
    for group in iam.list_groups_for_user(UserName=name)["Groups"]:
        iam.remove_user_from_group(UserName=name, GroupName=group["GroupName"])
    try:
        iam.delete_login_profile(UserName=name)
    except iam.exceptions.NoSuchEntityException:
        pass
    iam.delete_user(UserName=name)
    return "deleted"


def _delete_policy(lab: Lab, r: CourseResource) -> str:
    iam = lab.client("iam")
    entities = iam.list_entities_for_policy(PolicyArn=r.arn)
    for role in entities.get("PolicyRoles", []):
        iam.detach_role_policy(RoleName=role["RoleName"], PolicyArn=r.arn)
    for user in entities.get("PolicyUsers", []):
        iam.detach_user_policy(UserName=user["UserName"], PolicyArn=r.arn)
    for group in entities.get("PolicyGroups", []):
        iam.detach_group_policy(GroupName=group["GroupName"], PolicyArn=r.arn)
    for version in iam.list_policy_versions(PolicyArn=r.arn)["Versions"]:
        if not version["IsDefaultVersion"]:
            iam.delete_policy_version(PolicyArn=r.arn, VersionId=version["VersionId"])
    iam.delete_policy(PolicyArn=r.arn)
    return "deleted"


def _delete_instance_profile(lab: Lab, r: CourseResource) -> str:
    iam = lab.client("iam")
    profile = iam.get_instance_profile(InstanceProfileName=r.name)["InstanceProfile"]
    for role in profile.get("Roles", []):
        iam.remove_role_from_instance_profile(InstanceProfileName=r.name,
                                              RoleName=role["RoleName"])
    iam.delete_instance_profile(InstanceProfileName=r.name)
    return "deleted"


def _delete_trial(lab: Lab, r: CourseResource) -> str:
    sm = lab.client("sagemaker")
    for item in _pages(sm, "list_trial_components", "TrialComponentSummaries",
                       TrialName=r.name):
        sm.disassociate_trial_component(TrialComponentName=item["TrialComponentName"],
                                        TrialName=r.name)
    sm.delete_trial(TrialName=r.name)
    return "deleted"


def _delete_trial_component(lab: Lab, r: CourseResource) -> str:
    sm = lab.client("sagemaker")
    for trial in _pages(sm, "list_trials", "TrialSummaries", TrialComponentName=r.name):
        sm.disassociate_trial_component(TrialComponentName=r.name,
                                        TrialName=trial["TrialName"])
    sm.delete_trial_component(TrialComponentName=r.name)
    return "deleted"


def _delete_experiment(lab: Lab, r: CourseResource) -> str:
    sm = lab.client("sagemaker")
    for trial in _pages(sm, "list_trials", "TrialSummaries", ExperimentName=r.name):
        _delete_trial(lab, CourseResource("", "sagemaker:experiment-trial",
                                          trial["TrialName"], None))
    sm.delete_experiment(ExperimentName=r.name)
    return "deleted"


def _delete_nat(lab: Lab, r: CourseResource) -> str:
    ec2 = lab.client("ec2")
    ec2.delete_nat_gateway(NatGatewayId=r.extra["id"])
    if not lab.is_local:  # its address and subnet stay in use until it is gone
        ec2.get_waiter("nat_gateway_deleted").wait(NatGatewayIds=[r.extra["id"]])
    return "deleted"


def _release_address(lab: Lab, r: CourseResource) -> str:
    ec2 = lab.client("ec2")
    address = ec2.describe_addresses(AllocationIds=[r.extra["id"]])["Addresses"][0]
    if address.get("AssociationId"):
        ec2.disassociate_address(AssociationId=address["AssociationId"])
    ec2.release_address(AllocationId=r.extra["id"])
    return "released"


def _delete_igw(lab: Lab, r: CourseResource) -> str:
    ec2 = lab.client("ec2")
    gateway = ec2.describe_internet_gateways(InternetGatewayIds=[r.extra["id"]])
    for attachment in gateway["InternetGateways"][0].get("Attachments", []):
        ec2.detach_internet_gateway(InternetGatewayId=r.extra["id"],
                                    VpcId=attachment["VpcId"])
    ec2.delete_internet_gateway(InternetGatewayId=r.extra["id"])
    return "deleted"


def _delete_route_table(lab: Lab, r: CourseResource) -> str:
    ec2 = lab.client("ec2")
    table = ec2.describe_route_tables(RouteTableIds=[r.extra["id"]])["RouteTables"][0]
    for association in table.get("Associations", []):
        if not association.get("Main"):
            ec2.disassociate_route_table(AssociationId=association["RouteTableAssociationId"])
    ec2.delete_route_table(RouteTableId=r.extra["id"])
    return "deleted"


def _delete_security_group(lab: Lab, r: CourseResource) -> str:
    ec2 = lab.client("ec2")
    group = ec2.describe_security_groups(GroupIds=[r.extra["id"]])["SecurityGroups"][0]
    # Rules that name other groups would block their deletion: drop them first. A rule
    # that names a group deleted a moment ago may be gone already (InvalidPermission.NotFound):
    # that must not read as "the group is gone".
    for revoke, rules in ((ec2.revoke_security_group_ingress, group.get("IpPermissions")),
                          (ec2.revoke_security_group_egress, group.get("IpPermissionsEgress"))):
        for rule in rules or []:
            if rule.get("UserIdGroupPairs"):
                with contextlib.suppress(ClientError):
                    revoke(GroupId=r.extra["id"], IpPermissions=[rule])
    ec2.delete_security_group(GroupId=r.extra["id"])
    return "deleted"


def _call(service: str, operation: str, **params: Callable[[CourseResource], Any]
          ) -> Callable[[Lab, CourseResource], str]:
    """A deleter that calls one API with parameters taken from the resource."""
    def delete(lab: Lab, r: CourseResource) -> str:
        getattr(lab.client(service), operation)(**{k: v(r) for k, v in params.items()})
        return "stopped" if operation.startswith("stop_") else "deleted"
    return delete


def _name(r: CourseResource) -> str:
    return r.name


def _arn(r: CourseResource) -> str:
    return r.arn


def _id(r: CourseResource) -> str:
    return r.extra["id"]


@dataclass(frozen=True)
class Kind:
    """One kind of resource: how the sweep finds it and deletes (or stops) it."""

    name: str
    find: Callable[[_Finder], Found]
    delete: Callable[[Lab, CourseResource], str]
    creates: tuple[str, ...]
    """boto3 operations that make it (the derived-kinds test maps the labs' calls with it)."""
    how_found: str = "name prefix or course tag"


def _sm(kind: str, plural: str, key: str, name_key: str, arn_key: str, delete_op: str,
        param: str, creates: tuple[str, ...], **kwargs: Any) -> Kind:
    return Kind(kind, _sagemaker_finder(kind, plural, key, name_key, arn_key, **kwargs),
                _call("sagemaker", delete_op, **{param: _name}), creates)


def _job(kind: str, what: str, stop_op: str, param: str, create: str) -> Kind:
    return Kind(kind, _find_jobs(kind, what), _call("sagemaker", stop_op, **{param: _name}),
                (create,), "name prefix or course tag; running ones only (stopped)")


def _ec2(kind: str, operation: str, key: str, id_key: str,
         delete: Callable[[Lab, CourseResource], str], creates: tuple[str, ...]) -> Kind:
    return Kind(kind, _ec2_finder(kind, operation, key, id_key), delete, creates,
                "course tag or Name tag, or inside a course VPC")


KINDS: list[Kind] = [
    Kind("cloudformation:stack", _find_stacks, _delete_stack,
         ("create_stack", "create_change_set"),
         "name prefix or course tag (first: a stack deletes what it made)"),
    Kind("scheduler:schedule", _find_schedules,
         _call("scheduler", "delete_schedule", Name=_name,
               GroupName=lambda r: r.extra.get("group", "default")),
         ("create_schedule", "put_triggers"), "name prefix or course schedule group "
         "(schedules cannot be tagged)"),
    Kind("scheduler:schedule-group", _find_schedule_groups,
         _call("scheduler", "delete_schedule_group", Name=_name), ("create_schedule_group",)),
    _sm("sagemaker:monitoring-schedule", "list_monitoring_schedules",
        "MonitoringScheduleSummaries", "MonitoringScheduleName", "MonitoringScheduleArn",
        "delete_monitoring_schedule", "MonitoringScheduleName",
        ("create_monitoring_schedule",)),
    *[_sm(f"sagemaker:{what}-job-definition", f"list_{what.replace('-', '_')}"
          "_job_definitions", "JobDefinitionSummaries", "MonitoringJobDefinitionName",
          "MonitoringJobDefinitionArn", f"delete_{what.replace('-', '_')}_job_definition",
          "JobDefinitionName", (f"create_{what.replace('-', '_')}_job_definition",))
      for what in ("data-quality", "model-quality", "model-bias", "model-explainability")],
    Kind("events:rule", _find_rules, _delete_rule, ("put_rule", "put_targets"),
         "name prefix or course tag (targets removed first)"),
    Kind("events:event-bus", _find_buses,
         _call("events", "delete_event_bus", Name=_name), ("create_event_bus",)),
    Kind("application-autoscaling:scheduled-action", _find_autoscaling("scheduled-action"),
         _call("application-autoscaling", "delete_scheduled_action",
               ServiceNamespace=lambda r: "sagemaker", ScheduledActionName=_name,
               ResourceId=lambda r: r.extra["resource_id"],
               ScalableDimension=lambda r: r.extra["dimension"]),
         ("put_scheduled_action",), "resource id names a course endpoint"),
    Kind("application-autoscaling:scaling-policy", _find_autoscaling("scaling-policy"),
         _call("application-autoscaling", "delete_scaling_policy",
               ServiceNamespace=lambda r: "sagemaker", PolicyName=_name,
               ResourceId=lambda r: r.extra["resource_id"],
               ScalableDimension=lambda r: r.extra["dimension"]),
         ("put_scaling_policy",), "resource id names a course endpoint"),
    Kind("application-autoscaling:scalable-target", _find_autoscaling("scalable-target"),
         _call("application-autoscaling", "deregister_scalable_target",
               ServiceNamespace=lambda r: "sagemaker",
               ResourceId=lambda r: r.extra["resource_id"],
               ScalableDimension=lambda r: r.extra["dimension"]),
         ("register_scalable_target",), "resource id names a course endpoint"),
    Kind("cloudwatch:alarm", _find_alarms,
         _call("cloudwatch", "delete_alarms", AlarmNames=lambda r: [r.name]),
         ("put_metric_alarm",), "name or dimension names the course, or course tag"),
    _sm("sagemaker:endpoint", "list_endpoints", "Endpoints", "EndpointName", "EndpointArn",
        "delete_endpoint", "EndpointName", ("create_endpoint", "deploy")),
    _sm("sagemaker:endpoint-config", "list_endpoint_configs", "EndpointConfigs",
        "EndpointConfigName", "EndpointConfigArn", "delete_endpoint_config",
        "EndpointConfigName", ("create_endpoint_config",)),
    _sm("sagemaker:model", "list_models", "Models", "ModelName", "ModelArn", "delete_model",
        "ModelName", ("create_model",)),
    _sm("sagemaker:mlflow-tracking-server", "list_mlflow_tracking_servers",
        "TrackingServerSummaries", "TrackingServerName", "TrackingServerArn",
        "delete_mlflow_tracking_server", "TrackingServerName",
        ("create_mlflow_tracking_server",)),
    _job("sagemaker:hyper-parameter-tuning-job", "tuning", "stop_hyper_parameter_tuning_job",
         "HyperParameterTuningJobName", "create_hyper_parameter_tuning_job"),
    _job("sagemaker:training-job", "training", "stop_training_job", "TrainingJobName",
         "create_training_job"),
    _job("sagemaker:processing-job", "processing", "stop_processing_job",
         "ProcessingJobName", "create_processing_job"),
    _job("sagemaker:transform-job", "transform", "stop_transform_job", "TransformJobName",
         "create_transform_job"),
    _sm("sagemaker:pipeline", "list_pipelines", "PipelineSummaries", "PipelineName",
        "PipelineArn", "delete_pipeline", "PipelineName", ("create_pipeline", "upsert")),
    Kind("sagemaker:model-package", _find_model_packages,
         _call("sagemaker", "delete_model_package", ModelPackageName=_arn),
         ("create_model_package", "register_model"), "inside a course model package group"),
    _sm("sagemaker:model-package-group", "list_model_package_groups",
        "ModelPackageGroupSummaryList", "ModelPackageGroupName", "ModelPackageGroupArn",
        "delete_model_package_group", "ModelPackageGroupName",
        ("create_model_package_group",)),
    _sm("sagemaker:feature-group", "list_feature_groups", "FeatureGroupSummaries",
        "FeatureGroupName", "FeatureGroupArn", "delete_feature_group", "FeatureGroupName",
        ("create_feature_group",)),
    _sm("sagemaker:model-card", "list_model_cards", "ModelCardSummaries", "ModelCardName",
        "ModelCardArn", "delete_model_card", "ModelCardName", ("create_model_card",)),
    Kind("sagemaker:experiment-trial-component", _find_trial_components,
         _delete_trial_component, ("create_trial_component", "start_run")),
    Kind("sagemaker:experiment-trial", _find_trials, _delete_trial, ("create_trial",)),
    _sm("sagemaker:experiment", "list_experiments", "ExperimentSummaries", "ExperimentName",
        "ExperimentArn", "delete_experiment", "ExperimentName", ("create_experiment",)),
    Kind("states:stateMachine", _find_state_machines,
         _call("stepfunctions", "delete_state_machine", stateMachineArn=_arn),
         ("create_state_machine",)),
    Kind("sns:subscription", _find_subscriptions,
         _call("sns", "unsubscribe", SubscriptionArn=_arn), ("subscribe",),
         "its topic is the course's"),
    Kind("sns:topic", _find_topics, _call("sns", "delete_topic", TopicArn=_arn),
         ("create_topic",)),
    Kind("firehose:deliverystream", _find_delivery_streams,
         _call("firehose", "delete_delivery_stream", DeliveryStreamName=_name),
         ("create_delivery_stream",)),
    Kind("kinesis:stream", _find_streams,
         _call("kinesis", "delete_stream", StreamName=_name,
               EnforceConsumerDeletion=lambda r: True), ("create_stream",)),
    Kind("sqs:queue", _find_queues,
         _call("sqs", "delete_queue", QueueUrl=lambda r: r.extra["url"]), ("create_queue",)),
    Kind("ecr:repository", _find_repositories,
         _call("ecr", "delete_repository", repositoryName=_name, force=lambda r: True),
         ("create_repository",)),
    Kind("logs:log-group", _find_log_groups,
         _call("logs", "delete_log_group", logGroupName=_name), ("create_log_group",),
         "name prefix"),
    _ec2("ec2:vpc-endpoint", "describe_vpc_endpoints", "VpcEndpoints", "VpcEndpointId",
         _call("ec2", "delete_vpc_endpoints", VpcEndpointIds=lambda r: [r.extra["id"]]),
         ("create_vpc_endpoint",)),
    _ec2("ec2:natgateway", "describe_nat_gateways", "NatGateways", "NatGatewayId",
         _delete_nat, ("create_nat_gateway",)),
    _ec2("ec2:elastic-ip", "describe_addresses", "Addresses", "AllocationId",
         _release_address, ("allocate_address",)),
    _ec2("ec2:internet-gateway", "describe_internet_gateways", "InternetGateways",
         "InternetGatewayId", _delete_igw,
         ("create_internet_gateway", "attach_internet_gateway")),
    _ec2("ec2:network-interface", "describe_network_interfaces", "NetworkInterfaces",
         "NetworkInterfaceId",
         _call("ec2", "delete_network_interface", NetworkInterfaceId=_id),
         ("create_network_interface",)),
    _ec2("ec2:subnet", "describe_subnets", "Subnets", "SubnetId",
         _call("ec2", "delete_subnet", SubnetId=_id), ("create_subnet",)),
    _ec2("ec2:route-table", "describe_route_tables", "RouteTables", "RouteTableId",
         _delete_route_table, ("create_route_table", "associate_route_table",
                               "create_route")),
    _ec2("ec2:security-group", "describe_security_groups", "SecurityGroups", "GroupId",
         _delete_security_group, ("create_security_group",
                                  "authorize_security_group_ingress")),
    _ec2("ec2:network-acl", "describe_network_acls", "NetworkAcls", "NetworkAclId",
         _call("ec2", "delete_network_acl", NetworkAclId=_id), ("create_network_acl",)),
    _ec2("ec2:vpc", "describe_vpcs", "Vpcs", "VpcId", _call("ec2", "delete_vpc", VpcId=_id),
         ("create_vpc",)),
    Kind("s3:bucket", _find_buckets, _delete_bucket, ("create_bucket", "bucket")),
    Kind("iam:instance-profile", _find_iam("iam:instance-profile"), _delete_instance_profile,
         ("create_instance_profile",)),
    Kind("iam:user", _find_iam("iam:user"), _delete_user,
         ("create_user", "create_access_key", "put_user_policy", "attach_user_policy"),
         "name prefix or course tag (keys and policies removed first)"),
    Kind("iam:role", _find_iam("iam:role"), _delete_role,
         ("create_role", "put_role_policy", "attach_role_policy"),
         "name prefix or course tag (policies removed first)"),
    Kind("iam:policy", _find_iam("iam:policy"), _delete_policy, ("create_policy",),
         "name prefix or course tag (detached first)"),
]
"""Every kind the labs create, in deletion order."""

ORDER = [k.name for k in KINDS]
_BY_NAME = {k.name: k for k in KINDS}


def _listing_unsupported(lab: Lab, exc: Exception) -> bool:
    """moto lacks a few list APIs (MLflow, monitoring schedules): nothing of theirs exists."""
    text = f"{type(exc).__name__} {exc}"
    return lab.is_local and ("not yet implemented" in text.lower() or
                             "NotImplemented" in text or "UnknownOperation" in text)


_MOTO_MODULES = {"states": "stepfunctions", "application-autoscaling":
                 "applicationautoscaling"}


def _never_served(lab: Lab, kind: Kind) -> bool:
    """True when moto, in this process, has never served the kind's service: then nothing
    of it can exist, and listing it would only import moto's backend for it (CloudFormation's
    imports nearly every other; seconds per sweep). Only with the in-process mock on."""
    if getattr(lab, "_mock", None) is None:
        return False
    service = kind.name.split(":", 1)[0]
    return f"moto.{_MOTO_MODULES.get(service, service)}" not in sys.modules


def find_everything(lab: Lab, only_lab: str | None = None, *,
                    kinds: Iterable[str] | None = None, every_learner: bool = False
                    ) -> tuple[list[CourseResource], list[str]]:
    """Every course resource in the lab's account and region, and what could not be listed.

    On ``aws`` only the lab's learner's resources (``learner`` tag, or the token in the
    name), unless ``every_learner`` (an instructor's sweep of a whole account). ``kinds``
    narrows the search to those kinds.
    """
    finder = _Finder(lab, every_learner)
    found: dict[tuple[str, str], CourseResource] = {}
    wanted = None if kinds is None else set(kinds)
    for kind in KINDS:
        if wanted is not None and kind.name not in wanted:
            continue
        if _never_served(lab, kind):
            continue
        try:
            for resource in kind.find(finder):
                if resource is None:
                    continue
                if only_lab and (resource.lab or "").split(" ")[0] not in (
                        only_lab, only_lab.split("-", 1)[0]):
                    continue
                # a kind whose listing gives no ARN (some log groups) is keyed by its name
                found[(resource.kind, resource.arn or resource.name)] = resource
        except Exception as exc:  # noqa: BLE001 - report and list the other kinds
            if not _listing_unsupported(lab, exc):
                finder.problems.append(f"could not list {kind.name}: {exc}")
    return sorted(found.values(), key=lambda r: r.sort_key), finder.problems


def find_course_resources(lab: Lab, only_lab: str | None = None, *,
                          every_learner: bool = False) -> list[CourseResource]:
    """Every course resource in the lab's account and region, in deletion order.

    ``only_lab`` narrows the list to one lab's resources (its ``lab`` tag, or the number in
    its name for kinds that cannot be tagged); on ``aws`` it lists only the learner's own
    unless ``every_learner``.
    """
    return find_everything(lab, only_lab, every_learner=every_learner)[0]


def delete_course_resources(
    lab: Lab, resources: list[CourseResource], *, dry_run: bool = True
) -> list[tuple[CourseResource, str]]:
    """Delete ``resources`` in dependency order; return ``(resource, outcome)`` pairs.

    With ``dry_run=True`` (the default) nothing is deleted and every outcome is
    ``"would delete"`` (``"would stop"`` for running jobs). A failure is recorded as
    ``"failed: <reason>"`` and the sweep goes on.
    """
    outcomes: list[tuple[CourseResource, str]] = []
    for resource in sorted(resources, key=lambda r: r.sort_key):
        kind = _BY_NAME.get(resource.kind)
        if kind is None:
            outcomes.append((resource, "failed: " + str(LabKitError(
                f"The sweep does not know how to delete {resource.kind} resources "
                f"({resource.arn}).",
                "delete it in the AWS console, and report it so the sweep can learn it."))))
            continue
        stops = resource.kind.endswith("-job")
        if dry_run:
            outcomes.append((resource, "would stop" if stops else "would delete"))
            continue
        try:
            outcomes.append((resource, kind.delete(lab, resource)))
        except Exception as exc:  # noqa: BLE001 - report and continue
            text = str(exc)
            gone = any(m in text for m in ("NotFound", "NoSuchEntity", "does not exist",
                                            "ResourceNotFound", "Could not find"))
            outcomes.append((resource, "already gone" if gone else f"failed: {exc}"))
    return outcomes


def table(outcomes: list[tuple[CourseResource, str]]) -> list[dict[str, str]]:
    """Rows for a dry run or a sweep: outcome, kind, name, lab, age, hourly cost."""
    now = dt.datetime.now(dt.timezone.utc)
    return [
        {"outcome": outcome, "kind": r.kind, "name": r.name, "lab": r.lab or "?",
         "age": r.age(now), "per hour": r.cost(),
         "detail": ", ".join(f"{k}={v}" for k, v in r.extra.items()
                             if k in ("instances", "group", "vpc", "topic"))}
        for r, outcome in outcomes
    ]


def format_table(rows: list[dict[str, str]]) -> str:
    """A plain-text table of :func:`table`'s rows."""
    if not rows:
        return "nothing found"
    keys = list(rows[0])
    widths = {k: max(len(k), *(len(row[k]) for row in rows)) for k in keys}
    lines = ["  ".join(k.ljust(widths[k]) for k in keys)]
    lines += ["  ".join(row[k].ljust(widths[k]) for k in keys) for row in rows]
    return "\n".join(line.rstrip() for line in lines)
