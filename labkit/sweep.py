"""Find and delete everything the course created in an account, by its ``course`` tag.

Each lab deletes what it created in its cleanup cell. This module is the safety net for the
cells that never ran: it lists every resource tagged ``course=mle-on-aws`` (through the
Resource Groups Tagging API, plus IAM roles and EventBridge rules, which that API does not
list everywhere) and deletes them in an order that respects their dependencies.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from labkit.errors import LabKitError
from labkit.session import COURSE_TAG, empty_and_delete_bucket

if TYPE_CHECKING:
    from labkit.session import Lab

NAME_PREFIX = "mlecourse"
"""Every resource name the labs make starts with this (see ``Lab.resource_name``)."""

# Dependencies first: an endpoint before its config, a config before its model, …
_ORDER = [
    "sagemaker:endpoint",
    "sagemaker:endpoint-config",
    "sagemaker:model",
    "sagemaker:pipeline",
    "states:stateMachine",
    "events:rule",
    "sqs:queue",
    "ecr:repository",
    "s3:bucket",
    "iam:role",
]


@dataclass(frozen=True)
class CourseResource:
    """One resource that carries the course's tag."""

    arn: str
    kind: str
    name: str
    lab: str | None

    @property
    def sort_key(self) -> tuple[int, str]:
        rank = _ORDER.index(self.kind) if self.kind in _ORDER else len(_ORDER)
        return rank, self.arn


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
    for sep in ("/", ":"):
        if sep in resource:
            kind, name = resource.split(sep, 1)
            return f"{service}:{kind}", name
    return f"{service}:{resource}", resource


def _tags_to_dict(tags: list[dict[str, str]]) -> dict[str, str]:
    return {t.get("Key", t.get("key", "")): t.get("Value", t.get("value", "")) for t in tags}


def find_course_resources(lab: Lab, only_lab: str | None = None) -> list[CourseResource]:
    """Every resource in the lab's account and region tagged ``course=mle-on-aws``.

    ``only_lab`` narrows the list to one lab's resources (its ``lab`` tag).
    """
    found: dict[str, CourseResource] = {}

    def add(arn: str, tags: dict[str, str]) -> None:
        if tags.get("course") != COURSE_TAG or (only_lab and tags.get("lab") != only_lab):
            return
        kind, name = kind_and_name(arn)
        found[arn] = CourseResource(arn, kind, name, tags.get("lab"))

    tagging = lab.client("resourcegroupstaggingapi")
    for page in tagging.get_paginator("get_resources").paginate(
        TagFilters=[{"Key": "course", "Values": [COURSE_TAG]}]
    ):
        for item in page["ResourceTagMappingList"]:
            add(item["ResourceARN"], _tags_to_dict(item.get("Tags", [])))

    iam = lab.client("iam")
    for page in iam.get_paginator("list_roles").paginate():
        for role in page["Roles"]:
            if role["RoleName"].startswith(NAME_PREFIX):
                tags = iam.list_role_tags(RoleName=role["RoleName"])["Tags"]
                add(role["Arn"], _tags_to_dict(tags))

    events = lab.client("events")
    for rule in events.list_rules(NamePrefix=NAME_PREFIX).get("Rules", []):
        tags = events.list_tags_for_resource(ResourceARN=rule["Arn"]).get("Tags", [])
        add(rule["Arn"], _tags_to_dict(tags))
    return sorted(found.values(), key=lambda r: r.sort_key)


def _deleter(lab: Lab, resource: CourseResource) -> Callable[[], Any]:
    kind, name, arn = resource.kind, resource.name, resource.arn
    if kind == "s3:bucket":
        return lambda: empty_and_delete_bucket(lab.client("s3"), name)
    if kind == "sqs:queue":
        sqs = lab.client("sqs")
        return lambda: sqs.delete_queue(QueueUrl=sqs.get_queue_url(QueueName=name)["QueueUrl"])
    if kind == "states:stateMachine":
        return lambda: lab.client("stepfunctions").delete_state_machine(stateMachineArn=arn)
    if kind == "events:rule":
        return lambda: _delete_rule(lab, name)
    if kind == "iam:role":
        return lambda: _delete_role(lab, name)
    if kind == "ecr:repository":
        return lambda: lab.client("ecr").delete_repository(repositoryName=name, force=True)
    sagemaker_calls = {
        "sagemaker:endpoint": ("delete_endpoint", "EndpointName"),
        "sagemaker:endpoint-config": ("delete_endpoint_config", "EndpointConfigName"),
        "sagemaker:model": ("delete_model", "ModelName"),
        "sagemaker:pipeline": ("delete_pipeline", "PipelineName"),
    }
    if kind in sagemaker_calls:
        method, key = sagemaker_calls[kind]
        return lambda: getattr(lab.client("sagemaker"), method)(**{key: name})
    raise LabKitError(
        f"The sweep does not know how to delete {kind} resources ({arn}).",
        "delete it in the AWS console, and report it so the sweep can learn it.",
    )


def _delete_rule(lab: Lab, name: str) -> None:
    events = lab.client("events")
    targets = events.list_targets_by_rule(Rule=name).get("Targets", [])
    if targets:
        events.remove_targets(Rule=name, Ids=[t["Id"] for t in targets])
    events.delete_rule(Name=name)


def _delete_role(lab: Lab, name: str) -> None:
    iam = lab.client("iam")
    for policy in iam.list_attached_role_policies(RoleName=name)["AttachedPolicies"]:
        iam.detach_role_policy(RoleName=name, PolicyArn=policy["PolicyArn"])
    for policy in iam.list_role_policies(RoleName=name)["PolicyNames"]:
        iam.delete_role_policy(RoleName=name, PolicyName=policy)
    iam.delete_role(RoleName=name)


def delete_course_resources(
    lab: Lab, resources: list[CourseResource], *, dry_run: bool = True
) -> list[tuple[CourseResource, str]]:
    """Delete ``resources`` in dependency order; return ``(resource, outcome)`` pairs.

    With ``dry_run=True`` (the default) nothing is deleted and every outcome is
    ``"would delete"``. A failure is recorded as its message and the sweep goes on.
    """
    outcomes: list[tuple[CourseResource, str]] = []
    for resource in sorted(resources, key=lambda r: r.sort_key):
        if dry_run:
            outcomes.append((resource, "would delete"))
            continue
        try:
            _deleter(lab, resource)()
            outcomes.append((resource, "deleted"))
        except Exception as exc:  # noqa: BLE001 - report and continue
            outcomes.append((resource, f"failed: {exc}"))
    return outcomes
