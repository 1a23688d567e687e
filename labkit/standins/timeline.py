"""An execution's history as a table and a Gantt chart (drawing, not the lesson).

Stands in for the Step Functions console's *graph and event view*, which the local backend
does not have. :func:`history_timeline` pairs each state's ``…StateEntered`` and
``…StateExited`` events from ``GetExecutionHistory`` into one row per state visit and counts
the failed Task attempts (``TaskFailed``) inside it; :func:`plot_timeline` draws the rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from labkit.errors import LabKitError
from labkit.plots import OKABE_ITO

TYPE_COLOURS = dict(zip(
    ("Task", "Choice", "Wait", "Pass", "Map", "Parallel", "Succeed", "Fail"), OKABE_ITO))
COLUMNS = ["state", "type", "entered", "exited", "task_failures", "failures_s"]


def execution_timeline(sfn: Any, execution_arn: str) -> Any:
    """:func:`history_timeline` of an execution's full history (all pages)."""
    pages = sfn.get_paginator("get_execution_history").paginate(executionArn=execution_arn)
    return history_timeline(sorted((e for p in pages for e in p["events"]),
                                   key=lambda e: e["id"]))


def history_timeline(events: Sequence[dict[str, Any]]) -> Any:
    """One row per state visit: ``state``, ``type``, ``start_s``, ``end_s``, ``duration_s``,
    ``task_failures`` and ``failures_s`` (when each failed attempt ended, seconds since the
    start). ``attrs``: ``outcome``, ``total_s`` and ``transitions`` (states entered)."""
    import pandas as pd

    if not events:
        raise LabKitError("The execution history is empty.", "pass a started execution's events.")
    t0, end, outcome = events[0]["timestamp"], events[-1]["timestamp"], "RUNNING"
    rows: list[dict[str, Any]] = []
    for ev in events:
        kind = ev["type"]
        if kind.endswith("StateEntered"):
            rows.append({"state": ev["stateEnteredEventDetails"]["name"],
                         "type": kind[: -len("StateEntered")], "entered": ev["timestamp"],
                         "exited": None, "task_failures": 0, "failures_s": []})
        elif kind.endswith("StateExited"):
            name = ev["stateExitedEventDetails"]["name"]
            row = next(r for r in reversed(rows) if r["state"] == name and not r["exited"])
            row["exited"] = ev["timestamp"]
        elif kind == "TaskFailed":  # a failed attempt of the Task state open now
            row = next(r for r in reversed(rows) if r["type"] == "Task" and not r["exited"])
            row["task_failures"] += 1
            row["failures_s"].append((ev["timestamp"] - t0).total_seconds())
        elif kind in ("ExecutionSucceeded", "ExecutionFailed", "ExecutionTimedOut",
                      "ExecutionAborted"):
            outcome, end = kind[len("Execution"):].upper(), ev["timestamp"]
    for row in rows:  # Succeed/Fail states, and a state the execution ended in
        row["exited"] = row["exited"] or end
    frame = pd.DataFrame(rows, columns=COLUMNS)
    frame["start_s"] = [(t - t0).total_seconds() for t in frame["entered"]]
    frame["end_s"] = [(t - t0).total_seconds() for t in frame["exited"]]
    frame["duration_s"] = frame["end_s"] - frame["start_s"]
    frame.attrs.update(outcome=outcome, total_s=(end - t0).total_seconds(),
                       transitions=len(rows))
    return frame


def plot_timeline(timeline: Any, ax: Any, title: str = "", span_s: float | None = None) -> Any:
    """Draw ``timeline`` on ``ax``: one bar per state visit, coloured by state type.

    Zero-length states get a bar 1/150 of ``span_s`` wide (default: this execution's length;
    pass the longest one when several share an x axis). Failed attempts are crosses.
    """
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    min_width = max(span_s or timeline.attrs["total_s"], 1e-3) / 150
    for i, row in enumerate(timeline.itertuples()):
        ax.barh(i, max(row.duration_s, min_width), left=row.start_s, edgecolor="black",
                color=TYPE_COLOURS.get(row.type, "#999999"), linewidth=0.4)
        ax.plot(row.failures_s, [i] * len(row.failures_s), "kx", markersize=9, mew=2)
    ax.set_yticks(range(len(timeline)), [f"{s} ({t})" for s, t in
                                          zip(timeline["state"], timeline["type"])])
    ax.invert_yaxis()
    ax.set_xlabel("seconds since the execution started")
    handles: list[Any] = [Patch(color=c, label=t) for t, c in TYPE_COLOURS.items()
                          if t in set(timeline["type"])]
    if timeline["task_failures"].sum():
        handles.append(Line2D([], [], ls="none", marker="x", color="k", mew=2,
                              label="failed attempt"))
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8)
    ax.set_xlim(left=0)
    ax.set_title(title or f"{timeline.attrs['outcome']} after {timeline.attrs['total_s']:.2f} s")
    return ax
