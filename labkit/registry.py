"""SageMaker Model Registry helpers: register versions, approve by rule, find what to deploy.

A *model package group* holds the versions of one model; each ``CreateModelPackage`` call
with ``ModelPackageGroupName`` adds version 1, 2, 3, … with its own approval status,
metrics and metadata. A deploy pipeline never asks "which model is best?" — it asks the
registry "which version is the latest *approved* one?". These helpers do the bookkeeping
around those calls, and also work around one difference of moto (the ``local`` backend):
moto's ``UpdateModelPackage`` forgets ``CustomerMetadataProperties`` that the call does not
repeat, so :func:`set_approval` always repeats them (harmless on AWS, which merges them).

The EventBridge part: when a version's status changes, SageMaker puts a
``SageMaker Model Package State Change`` event on the default bus. moto never emits it,
and moto's ``TestEventPattern`` is not implemented, so :func:`pattern_matches` evaluates the
subset of the pattern language these labs use, in process.
"""

from __future__ import annotations

import importlib.util
import json
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from labkit.errors import LabKitError

APPROVAL_STATUSES = ("PendingManualApproval", "Approved", "Rejected")
"""The three values of ``ModelApprovalStatus``."""

STATE_CHANGE = "SageMaker Model Package State Change"
"""The ``detail-type`` of the event SageMaker sends when a model package changes."""

MAX_METADATA_ENTRIES = 50
"""``CustomerMetadataProperties`` holds at most 50 key-value pairs (strings)."""


# --------------------------------------------------------------------------- registering
def sklearn_image_uri(region: str, version: str = "1.2-1") -> str:
    """The SageMaker scikit-learn inference image for ``region``, without importing the SDK.

    Reads the same table ``sagemaker.core.image_uris.retrieve("sklearn", region,
    version=...)`` reads (the SDK's ``image_uri_config/sklearn.json``); importing the SDK
    just for this takes seconds.
    """
    spec = importlib.util.find_spec("sagemaker.core")
    locations = list(spec.submodule_search_locations or []) if spec else []
    if not locations:
        raise LabKitError("The SageMaker Python SDK (sagemaker.core) is not installed.",
                          "pip install the course requirements (sagemaker 3.x).")
    table = json.loads((Path(locations[0]) / "image_uri_config" / "sklearn.json").read_text())
    entry = table["inference"]["versions"].get(version)
    if entry is None or region not in entry["registries"]:
        raise LabKitError(
            f"No scikit-learn image {version!r} in region {region!r}.",
            f"use one of {sorted(table['inference']['versions'])} in a supported region.",
        )
    domain = "amazonaws.com.cn" if region.startswith("cn-") else "amazonaws.com"
    return (f"{entry['registries'][region]}.dkr.ecr.{region}.{domain}/"
            f"{entry['repository']}:{version}-cpu-py3")


def model_quality_metrics(s3_uri: str) -> dict[str, Any]:
    """The ``ModelMetrics`` block that points a version at a metrics JSON file in S3.

    The registry stores the *pointer* (content type and URI), not the numbers; Studio
    reads the file to show them. Put the numbers you filter on into
    ``CustomerMetadataProperties`` as well.
    """
    if not s3_uri.startswith("s3://"):
        raise LabKitError(
            f"ModelMetrics needs an S3 URI, got {s3_uri!r}.",
            "upload the metrics JSON first and pass its s3://bucket/key URI.",
        )
    return {"ModelQuality": {"Statistics": {"ContentType": "application/json",
                                             "S3Uri": s3_uri}}}


def binary_classification_report(metrics: Mapping[str, float]) -> dict[str, Any]:
    """Metrics in the JSON shape SageMaker's model-quality reports use.

    ``{"binary_classification_metrics": {"auc": {"value": 0.98, "standard_deviation":
    "NaN"}, …}}``. Studio's registry view reads this shape from the ``ModelQuality``
    statistics file.
    """
    return {"binary_classification_metrics": {
        name: {"value": float(value), "standard_deviation": "NaN"}
        for name, value in metrics.items()
    }}


def metadata_strings(values: Mapping[str, object]) -> dict[str, str]:
    """``CustomerMetadataProperties`` from any mapping: every value as a string.

    Floats keep 6 decimals, so the strings sort and compare predictably. Raises a
    :class:`LabKitError` beyond the service's 50 entries.
    """
    if len(values) > MAX_METADATA_ENTRIES:
        raise LabKitError(
            f"{len(values)} metadata entries; CustomerMetadataProperties allows "
            f"{MAX_METADATA_ENTRIES}.",
            "keep the few keys you filter on; put the rest in the metrics JSON in S3.",
        )
    return {
        str(k): (f"{v:.6f}" if isinstance(v, float) else str(v)) for k, v in values.items()
    }


def register_version(
    sm: Any,
    group: str,
    *,
    image_uri: str,
    model_data_url: str,
    metrics_s3_uri: str,
    metadata: Mapping[str, object],
    description: str = "",
    status: str = "PendingManualApproval",
) -> str:
    """Add one version to ``group``; return its ARN (ends in ``/<version>``)."""
    _check_status(status)
    return str(sm.create_model_package(
        ModelPackageGroupName=group,
        ModelPackageDescription=description,
        ModelApprovalStatus=status,
        InferenceSpecification={
            "Containers": [{"Image": image_uri, "ModelDataUrl": model_data_url}],
            "SupportedContentTypes": ["text/csv"],
            "SupportedResponseMIMETypes": ["text/csv"],
        },
        ModelMetrics=model_quality_metrics(metrics_s3_uri),
        CustomerMetadataProperties=metadata_strings(metadata),
    )["ModelPackageArn"])


def set_approval(sm: Any, package_arn: str, status: str, reason: str) -> dict[str, Any]:
    """Set a version's approval status with a reason; return its new description.

    Repeats the version's ``CustomerMetadataProperties`` in the call, because moto drops
    what an update does not repeat (AWS keeps and merges them).
    """
    _check_status(status)
    current = sm.describe_model_package(ModelPackageName=package_arn)
    kwargs: dict[str, Any] = {
        "ModelPackageArn": package_arn,
        "ModelApprovalStatus": status,
        "ApprovalDescription": reason,
    }
    if current.get("CustomerMetadataProperties"):
        kwargs["CustomerMetadataProperties"] = current["CustomerMetadataProperties"]
    sm.update_model_package(**kwargs)
    return dict(sm.describe_model_package(ModelPackageName=package_arn))


# --------------------------------------------------------------------------- reading
@dataclass(frozen=True)
class Version:
    """One model package version as a deploy pipeline sees it."""

    arn: str
    version: int
    status: str
    metadata: dict[str, str]

    def number(self, key: str) -> float:
        """A metadata value as a float (raises a clear error when it is missing)."""
        if key not in self.metadata:
            raise LabKitError(
                f"Version {self.version} has no metadata key {key!r} "
                f"(it has {sorted(self.metadata)}).",
                "register every version with the same metadata keys.",
            )
        return float(self.metadata[key])


def list_versions(sm: Any, group: str, status: str | None = None) -> list[Version]:
    """Every version of ``group`` (all pages), oldest first, with status and metadata."""
    if status is not None:
        _check_status(status)
    kwargs: dict[str, Any] = {"ModelPackageGroupName": group}
    if status is not None:
        kwargs["ModelApprovalStatus"] = status
    arns: list[str] = []
    for page in sm.get_paginator("list_model_packages").paginate(**kwargs):
        arns.extend(s["ModelPackageArn"] for s in page["ModelPackageSummaryList"])
    versions = []
    for arn in arns:
        d = sm.describe_model_package(ModelPackageName=arn)
        versions.append(Version(
            arn=arn,
            version=int(d["ModelPackageVersion"]),
            status=str(d.get("ModelApprovalStatus", "")),
            metadata=dict(d.get("CustomerMetadataProperties") or {}),
        ))
    return sorted(versions, key=lambda v: v.version)


def latest_approved(sm: Any, group: str) -> Version:
    """The highest-numbered ``Approved`` version: what a deploy pipeline ships.

    Raises a :class:`LabKitError` when nothing in the group is approved.
    """
    approved = list_versions(sm, group, status="Approved")
    if not approved:
        raise LabKitError(
            f"The model package group {group!r} has no Approved version.",
            "approve a version (UpdateModelPackage ModelApprovalStatus=Approved) first.",
        )
    return approved[-1]


def choose_by_rule(
    candidates: Sequence[Version],
    *,
    metric: str,
    higher_is_better: bool = True,
    gate: Callable[[Version], bool] | None = None,
) -> Version:
    """The best version by ``metric`` among those that pass ``gate``.

    Ties go to the newer version. Raises a :class:`LabKitError` when no version passes.
    """
    passing = [v for v in candidates if gate is None or gate(v)]
    if not passing:
        raise LabKitError(
            "No version passes the approval gate.",
            "leave every version PendingManualApproval or Rejected, and retrain.",
        )
    sign = 1.0 if higher_is_better else -1.0
    return max(passing, key=lambda v: (sign * v.number(metric), v.version))


def delete_group(sm: Any, group: str) -> None:
    """Delete every version of ``group``, then the group (versions must go first)."""
    for version in list_versions(sm, group):
        sm.delete_model_package(ModelPackageName=version.arn)
    sm.delete_model_package_group(ModelPackageGroupName=group)


# --------------------------------------------------------------------------- events
def approval_pattern(group: str, statuses: Iterable[str] = ("Approved",)) -> dict[str, Any]:
    """An EventBridge pattern for status changes of versions in ``group`` to ``statuses``."""
    wanted = list(statuses)
    for status in wanted:
        _check_status(status)
    return {
        "source": ["aws.sagemaker"],
        "detail-type": [STATE_CHANGE],
        "detail": {
            "ModelPackageGroupName": [group],
            "ModelApprovalStatus": wanted,
        },
    }


def state_change_event(description: Mapping[str, Any], account: str, region: str) -> dict[
        str, Any]:
    """An event shaped like the one SageMaker sends for a model package state change.

    The ``detail`` carries the version's description (ARN, group, version, approval
    status, …), as SageMaker's does. Built here because moto never emits the event.
    """
    detail = {k: v for k, v in description.items() if k != "ResponseMetadata"}
    return json.loads(json.dumps({
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": STATE_CHANGE,
        "source": "aws.sagemaker",
        "account": account,
        "time": "2026-01-01T00:00:00Z",
        "region": region,
        "resources": [description["ModelPackageArn"]],
        "detail": detail,
    }, default=str))


_MISSING = object()


def pattern_matches(pattern: Mapping[str, Any], event: Mapping[str, Any]) -> bool:
    """Whether ``event`` matches an EventBridge ``pattern`` (a subset of the language).

    Supported: nested fields (AND), lists of exact values (OR), and the filters
    ``prefix``, ``suffix``, ``anything-but`` (a value or list) and ``exists``. Other
    filters raise a :class:`LabKitError` rather than guess. On AWS, check a pattern with
    the ``TestEventPattern`` API as well.
    """
    for key, rule in pattern.items():
        value = event.get(key, _MISSING) if isinstance(event, Mapping) else _MISSING
        if isinstance(rule, Mapping):
            if not isinstance(value, Mapping) or not pattern_matches(rule, value):
                return False
        elif isinstance(rule, list):
            if not rule:
                raise LabKitError(f"Pattern field {key!r} is an empty list.",
                                  "EventBridge rejects empty lists; list the values.")
            if not any(_filter_matches(f, value) for f in rule):
                return False
        else:
            raise LabKitError(
                f"Pattern field {key!r} must be an object or a list, not {rule!r}.",
                f'write {{"{key}": [{json.dumps(rule)}]}}.',
            )
    return True


def _filter_matches(flt: Any, value: Any) -> bool:
    values = value if isinstance(value, list) else [value]
    if not isinstance(flt, Mapping):
        return value is not _MISSING and any(v == flt for v in values)
    if len(flt) != 1:
        raise LabKitError(f"A filter has several operators: {dict(flt)}.",
                          "use one operator per filter object.")
    (op, arg), = flt.items()
    if op == "exists":
        return (value is not _MISSING) == bool(arg)
    if value is _MISSING:
        return False
    if op == "prefix":
        return any(isinstance(v, str) and v.startswith(arg) for v in values)
    if op == "suffix":
        return any(isinstance(v, str) and v.endswith(arg) for v in values)
    if op == "anything-but":
        banned = arg if isinstance(arg, list) else [arg]
        return all(v not in banned for v in values)
    raise LabKitError(
        f"The filter {op!r} is not evaluated by labkit.registry.pattern_matches.",
        "use exact values, prefix, suffix, anything-but or exists; on AWS call "
        "events.test_event_pattern.",
    )


def _check_status(status: str) -> None:
    if status not in APPROVAL_STATUSES:
        raise LabKitError(
            f"{status!r} is not a model approval status.",
            f"use one of {', '.join(APPROVAL_STATUSES)} (case matters).",
        )
