"""Service roles: the trust policy that lets an AWS service act for the lab (plumbing).

Labs that *teach* roles (lab 01) write their policies in cells; the kit only needs the
service-role trust policy to create execution roles for SageMaker, Step Functions and
EventBridge Scheduler.
"""

from __future__ import annotations

from typing import Any

from labkit.errors import LabKitError

Policy = dict[str, Any]


def service_trust_policy(*services: str, source_account: str | None = None) -> Policy:
    """A role trust policy that lets AWS ``services`` assume the role.

    ``service_trust_policy("sagemaker.amazonaws.com")`` is what a SageMaker execution role
    carries. ``source_account`` adds the ``aws:SourceAccount`` condition AWS recommends for
    service principals (the confused-deputy guard for services).
    """
    if not services or not all(s.endswith(".amazonaws.com") for s in services):
        raise LabKitError(
            f"service_trust_policy{services!r}: name the services by their principals.",
            "pass e.g. 'sagemaker.amazonaws.com' or 'states.amazonaws.com'.",
        )
    statement: dict[str, Any] = {
        "Effect": "Allow",
        "Principal": {"Service": services[0] if len(services) == 1 else list(services)},
        "Action": "sts:AssumeRole",
    }
    if source_account:
        statement["Condition"] = {"StringEquals": {"aws:SourceAccount": source_account}}
    return {"Version": "2012-10-17", "Statement": [statement]}
