"""What the fake account holds right now: the ``local`` backend's proof that nothing is left.

moto keeps every service's state in plain Python objects: one *backend* per service,
account and region (``BackendDict._instances`` lists the ones in use), holding model objects
(``moto.core.common_models.BaseModel``) in dicts and lists. Its server's
``GET /moto-api/data.json`` lists ``instances_tracked`` of every model class, but that list
also keeps objects that were deleted. This module walks the backends instead, so it sees
exactly what is still there, in every service, whether or not the sweep knows the kind.

- :func:`snapshot` records what exists when a lab starts, plus every *default* a backend
  makes when it is first used (the default VPC, the default event bus, AMIs …).
- :func:`new_resources` lists every object created since, as :class:`MotoResource`.
- :func:`leftovers` (called by ``Lab.cleanup``) says which of them are left behind;
  :func:`unfindable` says which of them the sweep would not find if the lab stopped now.

Job records (training, processing, transform and tuning jobs, pipeline executions) are not
resources: AWS keeps them and has no API to delete them, so they are never reported.
"""

from __future__ import annotations

import contextlib

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

COURSE_TAG = "mle-on-aws"
NAME_PREFIX = "mlecourse"

# moto model class ("service.ClassName") -> the sweep's kind. Every kind here must be in
# labkit.sweep.KINDS (a unit test checks it).
MODEL_KINDS: dict[str, str] = {
    "s3.FakeBucket": "s3:bucket",
    "sqs.Queue": "sqs:queue",
    "sns.Topic": "sns:topic",
    "sns.Subscription": "sns:subscription",
    "iam.Role": "iam:role",
    "iam.User": "iam:user",
    "iam.ManagedPolicy": "iam:policy",
    "iam.InstanceProfile": "iam:instance-profile",
    "events.Rule": "events:rule",
    "events.EventBus": "events:event-bus",
    "scheduler.Schedule": "scheduler:schedule",
    "scheduler.ScheduleGroup": "scheduler:schedule-group",
    "stepfunctions.StateMachine": "states:stateMachine",
    "ecr.Repository": "ecr:repository",
    "cloudwatch.Alarm": "cloudwatch:alarm",
    "applicationautoscaling.FakeScalableTarget": "application-autoscaling:scalable-target",
    "applicationautoscaling.FakeApplicationAutoscalingPolicy":
        "application-autoscaling:scaling-policy",
    "applicationautoscaling.FakeScheduledAction": "application-autoscaling:scheduled-action",
    "sagemaker.FakeEndpoint": "sagemaker:endpoint",
    "sagemaker.FakeEndpointConfig": "sagemaker:endpoint-config",
    "sagemaker.Model": "sagemaker:model",
    "sagemaker.FakePipeline": "sagemaker:pipeline",
    "sagemaker.ModelPackageGroup": "sagemaker:model-package-group",
    "sagemaker.ModelPackage": "sagemaker:model-package",
    "sagemaker.FakeModelCard": "sagemaker:model-card",
    "sagemaker.FakeExperiment": "sagemaker:experiment",
    "sagemaker.FakeTrial": "sagemaker:experiment-trial",
    "sagemaker.FakeTrialComponent": "sagemaker:experiment-trial-component",
    "sagemaker.FakeTrainingJob": "sagemaker:training-job",
    "sagemaker.FakeProcessingJob": "sagemaker:processing-job",
    "sagemaker.FakeTransformJob": "sagemaker:transform-job",
    "sagemaker.HyperParameterTuningJob": "sagemaker:hyper-parameter-tuning-job",
    "sagemaker.FakeDataQualityJobDefinition": "sagemaker:data-quality-job-definition",
    "sagemaker.ModelQualityJobDefinition": "sagemaker:model-quality-job-definition",
    "sagemaker.FakeModelBiasJobDefinition": "sagemaker:model-bias-job-definition",
    "sagemaker.ModelExplainabilityJobDefinition":
        "sagemaker:model-explainability-job-definition",
    "ec2.VPC": "ec2:vpc",
    "ec2.Subnet": "ec2:subnet",
    "ec2.RouteTable": "ec2:route-table",
    "ec2.SecurityGroup": "ec2:security-group",
    "ec2.InternetGateway": "ec2:internet-gateway",
    "ec2.NatGateway": "ec2:natgateway",
    "ec2.ElasticAddress": "ec2:elastic-ip",
    "ec2.VPCEndPoint": "ec2:vpc-endpoint",
    "ec2.NetworkInterface": "ec2:network-interface",
    "ec2.NetworkAcl": "ec2:network-acl",
    "logs.LogGroup": "logs:log-group",
    "firehose.DeliveryStream": "firehose:deliverystream",
    "kinesis.Stream": "kinesis:stream",
    "cloudformation.Stack": "cloudformation:stack",
    "sagemaker.FeatureGroup": "sagemaker:feature-group",
}

RECORDS: frozenset[str] = frozenset({
    # Jobs and executions: AWS keeps their records and cannot delete them; the sweep stops
    # the ones still running (their kinds are in MODEL_KINDS for that).
    "sagemaker.FakeTrainingJob",
    "sagemaker.FakeProcessingJob",
    "sagemaker.FakeTransformJob",
    "sagemaker.HyperParameterTuningJob",
    "sagemaker.FakePipelineExecution",
    "sagemaker.CompilationJob",
    "sagemaker.AutoMLJob",
    "stepfunctions.Execution",
    "cloudformation.Event",
    # Data, not resources: messages, metric points, credentials of a session.
    "sqs.Message",
    "kinesis.Record",
    "cloudwatch.MetricDatum",
    "cloudwatch.MetricAggregatedDatum",
    "sts.Token",
    "sts.AssumedRole",
    "iam.AccountSummary",
    "iam.AWSManagedPolicy",  # AWS's own policies, loaded on first use
    # Parts of a resource that go with it (reported through their parent if it is left).
    "ec2.Route",
    "ec2.NetworkAclEntry",
    "ec2.SecurityGroupRule",
    "ec2.SubnetRouteTableAssociation",
    "ec2.VPCGatewayAttachment",
    "iam.AccessKey",
    "cloudformation.ChangeSet",  # part of its stack (a CREATE change set makes the stack)
    "cloudformation.Change",
})
"""Model classes that are never reported as left behind."""

PARTS_AND_DATA: frozenset[str] = frozenset({
    # Made inside a resource and deleted with it; never a resource of their own.
    "s3.FakeKey", "s3.FakeMultipart", "s3.FakeDeleteMarker", "s3.FakeGrant", "s3.FakeGrantee",
    "s3.FakeAcl", "s3.LifecycleRule", "s3.LifecycleFilter", "s3.LifecycleAndFilter",
    "s3.LifecycleTransition", "s3.LifeCycleNoncurrentVersionTransition", "s3.CorsRule",
    "s3.Notification", "s3.NotificationConfiguration", "s3.PublicAccessBlock",
    "s3.MultipartDict", "s3.FakeBucketInventoryConfiguration",
    "iam.Policy", "iam.InlinePolicy", "iam.PolicyVersion", "iam.AccessKey",
    "sagemaker.VpcConfig", "sagemaker.Container", "sagemaker.BaseObject",
    "ecr.Image", "ecr.LayerUpload", "ecr.RepoTagMutability", "ecr.RepositoryUpdateProperty",
    "ec2.Route", "ec2.NetworkAclEntry", "ec2.SecurityGroupRule",
    "ec2.SubnetRouteTableAssociation", "ec2.VPCGatewayAttachment", "ec2.RouteTablePropagation",
    "ec2.BlockDeviceMapping", "ec2.VolumeAttachment", "ec2.Ami", "ec2.Snapshot",
    "ec2.Volume", "ec2.ManagedPrefixList", "ec2.InstanceType",
    "stepfunctions.StateMachineVersion", "stepfunctions.StateMachineAlias",
    "logs.LogStream", "logs.LogEvent", "cloudwatch.MetricDatumBase",
    "kinesis.Shard", "kinesis.Record", "kinesis.Consumer",
    "cloudformation.ChangeSet", "cloudformation.Change", "cloudformation.Event",
})
"""Classes the record of created kinds may hold that need no deleter of their own."""

# Defaults that hold no children a lab could add: not walked into (AMIs alone are 1,300).
_STATIC_DEFAULTS = frozenset({"Ami", "Snapshot", "Volume", "ManagedPrefixList",
                              "InstanceType", "AWSManagedPolicy"})

_lock = threading.Lock()
_defaults: dict[int, object] = {}  # id -> model that a backend created when first used
_hooked = False


@dataclass(frozen=True)
class MotoResource:
    """One object in moto's state, described for a person and for the sweep."""

    service: str
    model: str
    name: str
    kind: str | None
    tags: dict[str, str] = field(default_factory=dict, compare=False)
    parent: str = ""
    account: str = field(default="", compare=False)

    @property
    def key(self) -> str:
        return f"{self.service}.{self.model}"

    @property
    def is_record(self) -> bool:
        return self.key in RECORDS

    @property
    def findable(self) -> bool:
        """Would the sweep find it? Its kind is known and it, or its parent, is the course's."""
        if self.kind is None:
            return False
        return owned(self.name, self.tags) or self.parent.startswith(NAME_PREFIX)

    def __str__(self) -> str:
        return f"{self.kind or self.key} {self.name}"


def owned(name: str, tags: dict[str, str]) -> bool:
    """The course's rule: its name starts with ``mlecourse`` or it carries the course tag."""
    return (
        name.startswith(NAME_PREFIX)
        or tags.get("course") == COURSE_TAG
        or tags.get("Name", "").startswith(NAME_PREFIX)
    )


# ---------------------------------------------------------------- walking moto's state
def _base_model() -> type:
    from moto.core.common_models import BaseModel

    return BaseModel


def _backends() -> Iterator[tuple[str, Any]]:
    from moto.core.base_backend import BackendDict

    instances: list[Any] = BackendDict._instances  # type: ignore[misc]
    for backend_dict in list(instances):
        for _account, _region, backend in list(backend_dict.iter_backends()):
            yield backend_dict.service_name, backend


def _reachable(roots: list[Any], known: dict[int, object]) -> Iterator[tuple[Any, Any]]:
    """Yield ``(backend, model)`` for every model not in ``known`` reachable from ``roots``.

    A new model is not walked into (its children go with it); a known one is, so a rule
    added to the default event bus is found. Static defaults are skipped.
    """
    base = _base_model()
    containers = (dict, list, tuple, set, frozenset)
    seen: set[int] = set()
    for backend in roots:
        stack: list[Any] = [vars(backend)]
        while stack:
            node = stack.pop()
            for value in node.values() if isinstance(node, dict) else node:
                if isinstance(value, base):
                    ident = id(value)
                    if ident in seen:
                        continue
                    seen.add(ident)
                    if ident in known:
                        if type(value).__name__ not in _STATIC_DEFAULTS:
                            stack.append(vars(value))
                    elif value is not backend:
                        yield backend, value
                elif isinstance(value, containers) and value:
                    stack.append(value)


def _install_hook() -> None:
    """Record what a moto backend creates in its constructor (defaults, not the lab's)."""
    global _hooked
    with _lock:
        if _hooked:
            return
        from moto.core.base_backend import AccountSpecificBackend

        original = AccountSpecificBackend.__getitem__

        def getitem(self: Any, region_name: str) -> Any:
            key = "aws" if region_name == "global" else region_name
            fresh = not dict.__contains__(self, key)
            backend = original(self, region_name)
            if fresh:
                _defaults[id(backend)] = backend
                for _, model in _reachable([backend], {}):
                    _defaults[id(model)] = model
            return backend

        AccountSpecificBackend.__getitem__ = getitem  # type: ignore[method-assign]
        _hooked = True


@dataclass
class Snapshot:
    """What moto held when a lab started (objects kept alive so their ids stay unique)."""

    known: dict[int, object]


def snapshot() -> Snapshot:
    """Take the snapshot a lab's leak check compares with (call right after the mock starts)."""
    _install_hook()
    _defaults.clear()
    roots = [backend for _, backend in _backends()]
    known = {id(b): b for b in roots}
    known.update({id(m): m for _, m in _reachable(roots, known)})
    return Snapshot(known)


def new_resources(snap: Snapshot) -> list[MotoResource]:
    """Every object in moto's state now that was not there at ``snap`` (defaults excluded)."""
    services = {id(backend): service for service, backend in _backends()}
    backends = [b for _, b in _backends()]
    known = {**snap.known, **_defaults}
    found = [describe(services.get(id(b), ""), b, m) for b, m in _reachable(backends, known)
             if not _gone(f"{type(m).__module__.split('.')[1]}.{type(m).__name__}", b, m)]
    return sorted(set(found), key=lambda r: (r.service, r.model, r.name))


def created_kinds(snap: Snapshot) -> set[str]:
    """Every moto model class ("service.Class") the lab made since ``snap``, deleted or not.

    moto appends every model it constructs to its class's ``instances_tracked`` (what its
    server's ``/moto-api/data.json`` reports): the record of what a lab created, even after
    the lab deleted it. Defaults and what existed at ``snap`` are left out.
    """
    from moto.core.model_instances import model_data

    known = {**snap.known, **_defaults}
    kinds = set()
    for service, models in list(model_data.items()):
        for name, cls in list(models.items()):
            tracked = getattr(cls, "instances_tracked", [])
            if any(id(obj) not in known for obj in tracked):
                kinds.add(f"{service}.{name}")
    return kinds


def unknown_kinds(kinds: set[str]) -> list[str]:
    """The classes in ``kinds`` that are neither a sweep kind, a record nor a part."""
    return sorted(k for k in kinds if k not in MODEL_KINDS and k not in RECORDS
                  and k not in PARTS_AND_DATA)


def leftovers(snap: Snapshot, account: str | None = None,
              learner: str | None = None) -> list[str]:
    """``"left behind: s3:bucket mlecourse-02-data"`` for each resource still there (only
    those in ``account`` when given: a sweep runs in one account; only ``learner``'s when
    given, for a server several learners share: its ``learner`` tag, or, untagged, the
    token in its name or its parent's)."""
    return [f"left behind: {r}" for r in new_resources(snap)
            if not r.is_record and (account is None or r.account in ("", account))
            and (learner is None or _learners(r, learner))]


def _learners(r: MotoResource, learner: str) -> bool:
    from labkit.naming import carries_token

    if "learner" in r.tags:
        return r.tags["learner"] == learner
    return carries_token(r.name, learner) or carries_token(r.parent, learner)


def unfindable(lab: Any) -> list[str]:
    """Resources in moto now that the sweep would NOT find if the lab stopped here.

    For the test harness: call it after every cell of a lab (local backend only), e.g.
    ``labkit.inventory.unfindable(labkit.session.active_lab())``; an empty list means a
    learner who stops at this cell leaves nothing lab 99 cannot delete. ``[]`` when no lab
    is open, on ``aws``, or after the lab's clean-up.
    """
    snap = getattr(lab, "_snapshot", None)
    if snap is None or getattr(lab, "closed", True):
        return []
    problems = []
    for r in new_resources(snap):
        if r.is_record or r.findable:
            continue
        why = "the sweep does not know this kind" if r.kind is None else "untagged, no prefix"
        problems.append(f"unfindable: {r} ({why})")
    return problems


# ---------------------------------------------------------------- describing a model
_NAME_ATTRS = (
    "name", "role_name", "user_name", "policy_name", "endpoint_name",
    "endpoint_config_name", "model_name", "pipeline_name", "model_package_group_name",
    "model_package_name", "model_card_name", "experiment_name", "trial_name",
    "trial_component_name", "training_job_name", "processing_job_name",
    "transform_job_name", "hyper_parameter_tuning_job_name", "job_definition_name",
    "repository_name", "alarm_name", "dashboard_name", "policy_name", "action_name",
    "resource_id", "queue_name", "allocation_id", "id", "arn",
)


def _label(model: Any) -> str:
    attrs = vars(model)
    cls = type(model).__name__.removeprefix("Fake")
    own = "".join(f"_{c.lower()}" if c.isupper() else c for c in cls).lstrip("_") + "_name"
    for attr in (own, *_NAME_ATTRS):
        value = attrs.get(attr)
        if isinstance(value, str) and value:
            return value
    for attr, value in attrs.items():
        if (attr.endswith("_name") or attr.endswith("_id")) and isinstance(value, str) and value:
            return value
    return f"<{type(model).__name__}>"


def _normal_tags(raw: Any) -> dict[str, str]:
    if isinstance(raw, dict):
        out = {}
        for key, value in raw.items():
            if isinstance(value, dict):
                out[str(value.get("Key", key))] = str(value.get("Value", ""))
            else:
                out[str(key)] = str(value)
        return out
    if isinstance(raw, list):
        out = {}
        for item in raw:
            if isinstance(item, dict):
                key = item.get("Key", item.get("key"))
                if key is not None:
                    out[str(key)] = str(item.get("Value", item.get("value", "")))
        return out
    return {}


def _tags(backend: Any, model: Any) -> dict[str, str]:
    attrs = vars(model)
    tags = _normal_tags(attrs.get("tags"))
    arn = attrs.get("arn") or attrs.get("_arn") or attrs.get("topic_arn")
    if arn is None:
        with contextlib.suppress(Exception):  # a computed property (IAM users, roles)
            arn = model.arn
    tagger = getattr(backend, "tagger", None)
    if not tags and tagger is not None and isinstance(arn, str):
        try:
            tags = _normal_tags(tagger.get_tag_dict_for_resource(arn))
        except Exception:  # noqa: BLE001 - a tagger that does not know the ARN
            tags = {}
    ec2_tags = getattr(backend, "tags", None)
    ident = attrs.get("id") or attrs.get("allocation_id")
    if not tags and isinstance(ec2_tags, dict) and isinstance(ident, str):
        tags = _normal_tags(ec2_tags.get(ident, {}))
    return tags


_PARENT_ATTRS = {
    "scheduler.Schedule": "group_name",
    "sagemaker.ModelPackage": "model_package_group_name",
    "sns.Subscription": "topic_arn",
}


def _gone(key: str, backend: Any, model: Any) -> bool:
    """moto keeps a few deleted things with a state (NAT gateways, VPC endpoints) or forgets
    to drop a deleted VPC's default network ACL; on AWS they are gone."""
    attrs = vars(model)
    if key in ("ec2.NatGateway", "ec2.VPCEndPoint"):
        return str(attrs.get("state", "")).lower() in ("deleted", "deleting")
    if key == "cloudformation.Stack":
        return attrs.get("status") == "DELETE_COMPLETE"
    if key == "ec2.NetworkAcl":
        return attrs.get("vpc_id") not in getattr(backend, "vpcs", {})
    return False


def _parent(key: str, model: Any) -> str:
    """The name of the course resource this one belongs to, if any (VPC, group, topic)."""
    attrs = vars(model)
    if key == "sns.Subscription":
        topic = attrs.get("topic")
        return str(getattr(topic, "arn", "")).rsplit(":", 1)[-1]
    if key.startswith("applicationautoscaling."):
        return NAME_PREFIX if f"/{NAME_PREFIX}" in str(attrs.get("resource_id", "")) else ""
    if key == "ec2.InternetGateway":
        vpc = attrs.get("vpc")
        return _course_vpcs().get(str(getattr(vpc, "id", "")), "")
    if key == "ec2.NetworkInterface":
        subnet = attrs.get("subnet")
        return _course_vpcs().get(str(getattr(subnet, "vpc_id", "")), "")
    if key == "ec2.NatGateway":
        subnet_id = attrs.get("subnet_id")
        backend = attrs.get("ec2_backend")
        subnet = _find_subnet(backend, subnet_id)
        return _course_vpcs().get(str(getattr(subnet, "vpc_id", "")), "")
    if key in _PARENT_ATTRS:
        value = attrs.get(_PARENT_ATTRS[key])
        return value.rsplit(":", 1)[-1] if isinstance(value, str) else ""
    vpc_id = attrs.get("vpc_id")
    if isinstance(vpc_id, str):
        return _course_vpcs().get(vpc_id, "")
    return ""


def _find_subnet(backend: Any, subnet_id: Any) -> Any:
    for subnets in getattr(backend, "subnets", {}).values():
        if isinstance(subnets, dict) and subnet_id in subnets:
            return subnets[subnet_id]
    return None


def _course_vpcs() -> dict[str, str]:
    """VPC id -> its Name tag or ``mlecourse`` for every VPC the course owns."""
    out = {}
    for service, backend in _backends():
        if service != "ec2":
            continue
        for vpc_id in getattr(backend, "vpcs", {}):
            tags = _normal_tags(getattr(backend, "tags", {}).get(vpc_id, {}))
            if owned("", tags):
                out[vpc_id] = NAME_PREFIX
    return out


def describe(service: str, backend: Any, model: Any) -> MotoResource:
    """A :class:`MotoResource` for one moto model object."""
    module = type(model).__module__.split(".")
    svc = module[1] if len(module) > 1 else service
    key = f"{svc}.{type(model).__name__}"
    return MotoResource(
        service=svc,
        model=type(model).__name__,
        name=_label(model),
        kind=MODEL_KINDS.get(key),
        tags=_tags(backend, model),
        parent=_parent(key, model),
        account=str(getattr(backend, "account_id", "") or ""),
    )
