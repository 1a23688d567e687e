"""Stand-ins for the EventBridge and registry calls moto lacks (lab 10).

- ``TestEventPattern``: moto never emits SageMaker's "Model Package State Change" events,
  and its ``TestEventPattern`` returns no result. moto does route events with its own pattern
  engine, so locally :func:`pattern_matches` asks that engine; on AWS it calls the real API.
- ``DeleteModelPackage`` / ``DeleteModelPackageGroup``: moto 5.2.5 implements neither, so
  :func:`forget_model_package_group` does what the two calls do on AWS (the versions, then
  the group), inside moto's own state. Local backend only.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any


def pattern_matches(
    events: Any, pattern: Mapping[str, Any], event: Mapping[str, Any], *, local: bool
) -> bool:
    """Whether EventBridge would route ``event`` to a rule with ``pattern``."""
    if local:
        from moto.events.models import EventPattern

        engine = EventPattern(json.dumps(pattern), dict(pattern))
        return bool(engine.matches_event(dict(event)))  # type: ignore[arg-type]
    answer = events.test_event_pattern(EventPattern=json.dumps(pattern),
                                       Event=json.dumps(event))
    return bool(answer["Result"])


def forget_model_package_group(sm: Any, group: str) -> int:
    """Delete a model package group and its versions from moto; returns the versions gone."""
    from moto.sagemaker.models import sagemaker_backends

    arn = sm.describe_model_package_group(ModelPackageGroupName=group)["ModelPackageGroupArn"]
    account, region = arn.split(":")[4], arn.split(":")[3]
    backend = sagemaker_backends[account][region]
    versions = [a for a, p in backend.model_packages.items()
                if p.model_package_group_name == group]
    for version in versions:
        del backend.model_packages[version]
    for name in [n for n, a in backend.model_package_name_mapping.items() if a in versions]:
        del backend.model_package_name_mapping[name]
    del backend.model_package_groups[group]
    return len(versions)
