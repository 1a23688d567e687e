"""Step Functions plumbing for the labs: a role for the service, deploy, wait.

The state machines themselves (the lesson) are written in the notebooks. This module only
creates the role Step Functions assumes, creates or updates a state machine (retrying while
a new role propagates on AWS), waits for an execution to end, and quiets moto's interpreter.
On the ``local`` backend executions run in moto's Step Functions interpreter
(``labkit.start_lab`` enables it).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Sequence
from typing import Any

from labkit.errors import LabKitError
from labkit.roles import service_trust_policy

TERMINAL_STATUSES = ("SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED")
"""Execution statuses that end an execution."""


def states_role(lab: Any, purpose: str, statements: Sequence[dict[str, Any]]) -> str:
    """Create (or reuse) a role Step Functions assumes, with ``statements`` inline.

    The role is tagged, and its deletion is registered with ``lab`` before it is created.
    Returns the role ARN.
    """
    iam = lab.client("iam")
    name = lab.resource_name(f"{purpose}-states", max_length=64)
    policy = json.dumps({"Version": "2012-10-17", "Statement": list(statements)})

    def _delete() -> None:
        for pol in iam.list_role_policies(RoleName=name)["PolicyNames"]:
            iam.delete_role_policy(RoleName=name, PolicyName=pol)
        iam.delete_role(RoleName=name)

    try:
        arn = str(iam.get_role(RoleName=name)["Role"]["Arn"])
    except iam.exceptions.NoSuchEntityException:
        lab.on_cleanup(f"delete role {name}", _delete)
        trust = json.dumps(service_trust_policy("states.amazonaws.com"))
        arn = str(iam.create_role(RoleName=name, AssumeRolePolicyDocument=trust,
                                  Tags=lab.tags)["Role"]["Arn"])
    else:  # left by an interrupted run: reuse it only if it is this learner's, this lab's
        tags = {t["Key"]: t["Value"] for t in iam.list_role_tags(RoleName=name)["Tags"]}
        _refuse_unless_owned(lab, f"role {name}", tags)
        lab.on_cleanup(f"delete role {name}", _delete)
    iam.put_role_policy(RoleName=name, PolicyName="workflow", PolicyDocument=policy)
    return arn


def deploy_state_machine(
    lab: Any, name: str, definition: dict[str, Any], role_arn: str, *,
    workflow_type: str = "STANDARD", propagation_timeout_s: float = 90.0,
) -> str:
    """Create the state machine ``name`` (or update it if it exists); return its ARN.

    On AWS a role created seconds ago may not be assumable by Step Functions yet; creation
    is retried for up to ``propagation_timeout_s``. The deletion is registered first.
    """
    sfn = lab.client("stepfunctions")
    body = json.dumps(definition)

    def find() -> str | None:
        for page in sfn.get_paginator("list_state_machines").paginate():
            for machine in page["stateMachines"]:
                if machine["name"] == name:
                    return str(machine["stateMachineArn"])
        return None

    def delete() -> None:
        arn = find()
        if arn:
            sfn.delete_state_machine(stateMachineArn=arn)

    existing = find()
    if existing:  # left by an interrupted run: update it only if it is this learner's
        tags = {t["key"]: t["value"]
                for t in sfn.list_tags_for_resource(resourceArn=existing)["tags"]}
        _refuse_unless_owned(lab, f"state machine {name}", tags)
        lab.on_cleanup(f"delete state machine {name}", delete)
        sfn.update_state_machine(stateMachineArn=existing, definition=body, roleArn=role_arn)
        return existing

    lab.on_cleanup(f"delete state machine {name}", delete)
    deadline = time.monotonic() + propagation_timeout_s
    while True:
        try:
            return str(sfn.create_state_machine(
                name=name, definition=body, roleArn=role_arn, type=workflow_type,
                tags=[{"key": t["Key"], "value": t["Value"]} for t in lab.tags],
            )["stateMachineArn"])
        except sfn.exceptions.ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            if code not in ("AccessDeniedException", "InvalidArn") or time.monotonic() > deadline:
                raise
            time.sleep(3)


def _refuse_unless_owned(lab: Any, what: str, tags: dict[str, str]) -> None:
    """The kit never adopts what it did not make: an existing resource is reused only when
    its tags say course, this learner and this lab (see ``Lab.owns``)."""
    if not lab.owns(tags):
        raise LabKitError(
            f"The {what} already exists and its tags do not say it is this lab's "
            f"(found {tags or 'no tags'}).",
            "delete it if it is yours and left over, or set COURSE_LEARNER to your own "
            "token so your names differ from whoever made it.",
        )


def wait_for_execution(
    sfn: Any, execution_arn: str, *, timeout_s: float = 60.0, poll_s: float = 0.2
) -> dict[str, Any]:
    """Poll ``DescribeExecution`` until the execution ends; return the last description."""
    deadline = time.monotonic() + timeout_s
    while True:
        desc: dict[str, Any] = sfn.describe_execution(executionArn=execution_arn)
        if desc["status"] in TERMINAL_STATUSES:
            return desc
        if time.monotonic() > deadline:
            raise LabKitError(
                f"The execution {execution_arn.rsplit(':', 1)[-1]} is still {desc['status']} "
                f"after {timeout_s:.0f} s.",
                "look at its history for the state it is stuck in; on AWS a real training "
                "job takes minutes, so pass a larger timeout_s.",
            )
        time.sleep(poll_s)


def quiet_local_interpreter() -> None:
    """Silence moto's Step Functions interpreter logs (local backend; harmless on AWS).

    moto logs a warning for every SageMaker call it forwards to its own SageMaker API, and
    an error whenever a state fails, even a Fail state reached on purpose. Both are in the
    execution's status and history, which the labs read instead.
    """
    logging.getLogger("moto.stepfunctions").setLevel(logging.CRITICAL)
