"""Step Functions helpers for the labs: deploy, wait, read the history, plot it, price it.

The notebooks write state machines (the idea); this module does the plumbing around them:

- :func:`states_role` makes the IAM role Step Functions assumes (both backends).
- :func:`deploy_state_machine` creates or updates a state machine, retrying while a new role
  propagates on AWS.
- :func:`wait_for_execution` polls until an execution leaves ``RUNNING``.
- :func:`execution_timeline` turns ``GetExecutionHistory`` into a pandas table, one row per
  state visited; :func:`plot_timeline` draws it as a Gantt chart.
- :func:`standard_cost` and :func:`express_cost` do the pricing arithmetic of the two
  workflow types.

On the ``local`` backend the executions are run by moto's Step Functions interpreter
(``labkit.start_lab`` enables it), so states, transitions, waits and retries are real; the
services a Task calls are moto's recordings.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Iterable, Sequence
from typing import Any

from labkit.errors import LabKitError
from labkit.roles import service_trust_policy

TERMINAL_STATUSES = ("SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED")
"""Execution statuses that end an execution."""

STANDARD_PRICE_PER_1000_TRANSITIONS = 0.025
"""USD per 1,000 state transitions, Standard workflows (us-east-1 list price, 2026)."""

STANDARD_FREE_TRANSITIONS_PER_MONTH = 4000
"""State transitions per month the AWS Free Tier covers for Standard workflows."""

EXPRESS_PRICE_PER_MILLION_REQUESTS = 1.00
"""USD per million Express executions started (us-east-1 list price, 2026)."""

EXPRESS_PRICE_PER_GB_SECOND = 0.00001667
"""USD per GB-second of Express duration, first pricing tier (us-east-1, 2026)."""

_STATES_TRUST = service_trust_policy("states.amazonaws.com")


# --------------------------------------------------------------------------- deploy
def states_role(lab: Any, purpose: str, statements: Sequence[dict[str, Any]]) -> str:
    """Create (or reuse) an IAM role that Step Functions assumes, with ``statements`` inline.

    ``lab`` is the running :class:`labkit.Lab`; the role is tagged and deleted at cleanup.
    Returns the role ARN.
    """
    iam = lab.client("iam")
    name = lab.resource_name(f"{purpose}-states", max_length=64)
    policy = json.dumps({"Version": "2012-10-17", "Statement": list(statements)})
    try:
        arn = str(iam.get_role(RoleName=name)["Role"]["Arn"])
    except iam.exceptions.NoSuchEntityException:
        arn = str(iam.create_role(
            RoleName=name, AssumeRolePolicyDocument=json.dumps(_STATES_TRUST), Tags=lab.tags
        )["Role"]["Arn"])

        def _delete() -> None:
            for pol in iam.list_role_policies(RoleName=name)["PolicyNames"]:
                iam.delete_role_policy(RoleName=name, PolicyName=pol)
            iam.delete_role(RoleName=name)

        lab.on_cleanup(f"delete role {name}", _delete)
    iam.put_role_policy(RoleName=name, PolicyName="workflow", PolicyDocument=policy)
    return arn


def deploy_state_machine(
    lab: Any,
    name: str,
    definition: dict[str, Any],
    role_arn: str,
    *,
    workflow_type: str = "STANDARD",
    propagation_timeout_s: float = 90.0,
) -> str:
    """Create the state machine ``name`` (or update it if it exists) and return its ARN.

    On AWS a role created seconds ago may not yet be assumable by Step Functions; the call
    is retried for up to ``propagation_timeout_s``. The state machine is deleted at cleanup.
    """
    sfn = lab.client("stepfunctions")
    body = json.dumps(definition)
    for machine in _list_state_machines(sfn):
        if machine["name"] == name:
            sfn.update_state_machine(
                stateMachineArn=machine["stateMachineArn"], definition=body, roleArn=role_arn
            )
            return str(machine["stateMachineArn"])
    deadline = time.monotonic() + propagation_timeout_s
    while True:
        try:
            arn = str(sfn.create_state_machine(
                name=name,
                definition=body,
                roleArn=role_arn,
                type=workflow_type,
                tags=[{"key": t["Key"], "value": t["Value"]} for t in lab.tags],
            )["stateMachineArn"])
            break
        except sfn.exceptions.ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            if code not in ("AccessDeniedException", "InvalidArn") or time.monotonic() > deadline:
                raise
            time.sleep(3)
    lab.on_cleanup(f"delete state machine {name}", lambda: sfn.delete_state_machine(
        stateMachineArn=arn))
    return arn


def _list_state_machines(sfn: Any) -> Iterable[dict[str, Any]]:
    for page in sfn.get_paginator("list_state_machines").paginate():
        yield from page["stateMachines"]


# --------------------------------------------------------------------------- run
def wait_for_execution(
    sfn: Any, execution_arn: str, *, timeout_s: float = 60.0, poll_s: float = 0.2
) -> dict[str, Any]:
    """Poll ``DescribeExecution`` until the execution ends; return the last description.

    Raises :class:`LabKitError` when it is still running after ``timeout_s`` seconds.
    """
    deadline = time.monotonic() + timeout_s
    while True:
        desc: dict[str, Any] = sfn.describe_execution(executionArn=execution_arn)
        if desc["status"] in TERMINAL_STATUSES:
            return desc
        if time.monotonic() > deadline:
            raise LabKitError(
                f"The execution {execution_arn.rsplit(':', 1)[-1]} is still {desc['status']} "
                f"after {timeout_s:.0f} s.",
                "look at its history (execution_timeline) for the state it is stuck in; on "
                "AWS a real training job takes minutes, so pass a larger timeout_s.",
            )
        time.sleep(poll_s)


def execution_history(sfn: Any, execution_arn: str) -> list[dict[str, Any]]:
    """Every event of an execution, oldest first (all pages)."""
    events: list[dict[str, Any]] = []
    paginator = sfn.get_paginator("get_execution_history")
    for page in paginator.paginate(executionArn=execution_arn):
        events.extend(page["events"])
    return sorted(events, key=lambda e: e["id"])


def _state_type(event_type: str, suffix: str) -> str:
    return event_type[: -len(suffix)] if event_type.endswith(suffix) else event_type


def history_timeline(events: Sequence[dict[str, Any]]) -> Any:
    """One row per state visit, from raw history ``events`` (see :func:`execution_timeline`)."""
    import pandas as pd

    if not events:
        raise LabKitError(
            "The execution history is empty.", "pass the events of a started execution."
        )
    t0 = events[0]["timestamp"]
    open_visits: dict[str, list[dict[str, Any]]] = {}
    rows: list[dict[str, Any]] = []
    end_ts = events[-1]["timestamp"]
    outcome = "RUNNING"
    retries: dict[str, int] = {}
    for ev in events:
        etype = ev["type"]
        if etype.endswith("StateEntered"):
            name = ev["stateEnteredEventDetails"]["name"]
            row = {
                "state": name,
                "type": _state_type(etype, "StateEntered"),
                "entered": ev["timestamp"],
                "exited": None,
                "task_failures": 0,
                "failures_s": [],
            }
            rows.append(row)
            open_visits.setdefault(name, []).append(row)
        elif etype.endswith("StateExited"):
            name = ev["stateExitedEventDetails"]["name"]
            if open_visits.get(name):
                open_visits[name].pop()["exited"] = ev["timestamp"]
        elif etype == "TaskFailed":
            # a failed attempt inside the Task state that is open now (retried or caught)
            for row in reversed(rows):
                if row["exited"] is None and row["type"] == "Task":
                    row["task_failures"] += 1
                    row["failures_s"].append((ev["timestamp"] - t0).total_seconds())
                    retries[row["state"]] = retries.get(row["state"], 0) + 1
                    break
        elif etype.startswith("Execution") and etype[len("Execution"):].upper() in (
            "SUCCEEDED", "FAILED", "TIMEDOUT", "ABORTED"
        ):
            outcome = etype[len("Execution"):].upper()
            end_ts = ev["timestamp"]
    for row in rows:
        if row["exited"] is None:  # Fail/Succeed states and states the execution died in
            row["exited"] = end_ts
    frame = pd.DataFrame(
        rows, columns=["state", "type", "entered", "exited", "task_failures", "failures_s"])
    frame["start_s"] = [(t - t0).total_seconds() for t in frame["entered"]]
    frame["end_s"] = [(t - t0).total_seconds() for t in frame["exited"]]
    frame["duration_s"] = frame["end_s"] - frame["start_s"]
    frame.attrs["outcome"] = outcome
    frame.attrs["total_s"] = (end_ts - t0).total_seconds()
    frame.attrs["transitions"] = len(rows)
    return frame


def execution_timeline(sfn: Any, execution_arn: str) -> Any:
    """The execution's history as a pandas DataFrame, one row per state visit.

    Columns: ``state``, ``type`` (Task, Choice, Wait, …), ``entered``/``exited``
    (timestamps), ``start_s``/``end_s``/``duration_s`` (seconds since the execution
    started), ``task_failures`` (failed attempts inside a Task, i.e. retries or a
    caught error) and ``failures_s`` (when each failed attempt ended). ``frame.attrs``
    holds ``outcome`` (SUCCEEDED, FAILED, …), ``total_s``
    and ``transitions`` (states entered — what a Standard workflow is billed for).
    """
    return history_timeline(execution_history(sfn, execution_arn))


def states_visited(timeline: Any) -> list[str]:
    """The names of the states in the order they were entered."""
    return [str(s) for s in timeline["state"]]


_TYPE_COLOURS = {
    "Task": "#1f77b4",
    "Choice": "#ff7f0e",
    "Wait": "#9e9e9e",
    "Pass": "#17becf",
    "Map": "#8c564b",
    "Parallel": "#e377c2",
    "Succeed": "#2ca02c",
    "Fail": "#d62728",
}


def plot_timeline(
    timeline: Any, ax: Any = None, title: str | None = None, span_s: float | None = None
) -> Any:
    """Draw a timeline (from :func:`execution_timeline`) as a Gantt chart; return the axes.

    One bar per state visit, coloured by state type; zero-length states (Choice, Pass,
    Fail) get a thin bar of 1/150 of ``span_s`` (default: the execution's length; pass the
    longest execution's length when several timelines share an x axis) so they stay
    visible. Failed Task attempts are marked with a cross where they ended.
    """
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    if ax is None:
        _, ax = plt.subplots(figsize=(9, 0.45 * len(timeline) + 1.2))
    total = max(float(timeline.attrs.get("total_s", timeline["end_s"].max())), 1e-3)
    min_width = max(span_s or total, 1e-3) / 150
    labels = []
    any_failures = False
    for i, row in enumerate(timeline.itertuples()):
        width = max(row.duration_s, min_width)
        ax.barh(i, width, left=row.start_s, color=_TYPE_COLOURS.get(row.type, "#7f7f7f"),
                edgecolor="black", linewidth=0.4)
        if row.task_failures:
            any_failures = True
            ax.plot(row.failures_s, [i] * len(row.failures_s), linestyle="none", marker="x",
                    markersize=9, color="black", markeredgewidth=2)
        labels.append(f"{row.state} ({row.type})")
    ax.set_yticks(range(len(labels)), labels)
    ax.invert_yaxis()
    ax.set_xlabel("seconds since the execution started")
    used = [t for t in _TYPE_COLOURS if t in set(timeline["type"])]
    handles: list[Any] = [Patch(color=_TYPE_COLOURS[t], label=t) for t in used]
    if any_failures:
        handles.append(Line2D([], [], linestyle="none", marker="x", color="black",
                              markeredgewidth=2, label="failed attempt"))
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8,
              frameon=False)
    ax.set_xlim(left=0)
    outcome = timeline.attrs.get("outcome", "")
    ax.set_title(title or f"Execution timeline — {outcome}, {total:.2f} s")
    ax.grid(axis="x", alpha=0.3)
    return ax


def quiet_local_interpreter() -> None:
    """Silence moto's Step Functions interpreter logs so notebook output stays readable.

    moto logs a warning for every forwarded SageMaker call ("Unsupported Optimised service
    integration … Attempting to forward request to service": it has no optimised SageMaker
    integration and calls its SageMaker API instead) and an *error* with a stack of
    component names whenever a state fails — including a Fail state the workflow reaches on
    purpose. Both are in the execution's status and history, which the labs read instead.
    Local backend only; a no-op for AWS.
    """
    import logging

    logging.getLogger("moto.stepfunctions").setLevel(logging.CRITICAL)


# --------------------------------------------------------------------------- cost
def standard_cost(
    executions: int,
    transitions_per_execution: int,
    *,
    price_per_1000: float = STANDARD_PRICE_PER_1000_TRANSITIONS,
    free_transitions: int = 0,
) -> float:
    """USD for Standard workflows: every state transition is billed, duration is free.

    Pass ``free_transitions=STANDARD_FREE_TRANSITIONS_PER_MONTH`` to apply the free tier.
    """
    if executions < 0 or transitions_per_execution < 0:
        raise LabKitError("standard_cost: counts must be >= 0.", "pass non-negative counts.")
    billable = max(0, executions * transitions_per_execution - free_transitions)
    return billable * price_per_1000 / 1000


def express_cost(
    executions: int,
    duration_ms: float,
    memory_mb: float = 64,
    *,
    price_per_million: float = EXPRESS_PRICE_PER_MILLION_REQUESTS,
    price_per_gb_second: float = EXPRESS_PRICE_PER_GB_SECOND,
) -> float:
    """USD for Express workflows: requests plus duration × memory, transitions are free.

    Duration is rounded up to the next 100 ms and memory up to the next 64 MB (both per
    execution), as the Step Functions pricing page describes. Only the first duration tier
    is used, which is right below 1,000 GB-hours a month.
    """
    if executions < 0 or duration_ms < 0 or memory_mb <= 0:
        raise LabKitError("express_cost: bad arguments.", "pass counts >= 0 and memory > 0.")
    billed_s = math.ceil(duration_ms / 100) * 0.1
    billed_gb = math.ceil(memory_mb / 64) * 64 / 1024
    requests = executions * price_per_million / 1_000_000
    duration = executions * billed_s * billed_gb * price_per_gb_second
    return requests + duration
