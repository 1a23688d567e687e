"""Synthetic traffic and a canary replay for choosing a deployment option (lab 05).

* :func:`make_workload` makes one day of requests per minute for four example workloads
  (``steady``, ``spiky``, ``rare-heavy``, ``nightly-batch``): the synthetic data the lab's
  cost formulas are applied to.
* :func:`simulate_blue_green` stands in for SageMaker's deployment guardrails, which the
  local backend cannot run (moto has no ``UpdateEndpoint``): it replays a blue/green update
  with a ``DeploymentConfig`` minute by minute against error-rate series.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

WORKLOAD_PROFILES = ("steady", "spiky", "rare-heavy", "nightly-batch")


@dataclass(frozen=True)
class Workload:
    """One model's traffic (``rpm``: 1,440 requests-per-minute values) and its needs.

    An instance runs ``vcpus // vcpus_per_request`` requests at a time;
    ``needs_sync_response``: the caller waits for the answer; ``arrival`` is ``"online"``
    or ``"dataset"`` (all input in S3 before the run, to finish within ``window_hours``).
    """

    name: str
    rpm: np.ndarray
    payload_mb: float
    processing_s: float
    memory_gb: float
    vcpus_per_request: int = 1
    needs_sync_response: bool = True
    arrival: str = "online"
    window_hours: float = 2.0

    @property
    def requests_per_day(self) -> float:
        return float(self.rpm.sum())


def make_workload(profile: str, seed: int = 0) -> Workload:
    """``steady``: an API at ~1,200-3,000 requests/min, 80 ms, 4 GB, caller waits.
    ``spiky``: an internal tool, idle but for six ~10-minute bursts, 0.5 s, 2 GB.
    ``rare-heavy``: 40 documents a day of 500 MB, 20 minutes each, 12 GB, 4 vCPUs.
    ``nightly-batch``: 200,000 pages of 5 MB in S3 at 02:00, due within two hours."""
    rng = np.random.default_rng(seed)
    minutes = np.arange(1440)
    rpm: np.ndarray
    if profile == "steady":
        mean = 2100 - 900 * np.cos(2 * np.pi * (minutes - 180) / 1440)
        rpm = rng.poisson(mean).astype(float)
        return Workload(profile, rpm, 0.01, 0.08, 4)
    if profile == "spiky":
        rpm = rng.poisson(0.02, 1440).astype(float)
        for start in rng.choice(np.arange(480, 1080, 60), size=6, replace=False):
            rpm[start : start + 10] += rng.poisson(240, 10)
        return Workload(profile, rpm, 0.05, 0.5, 2)
    if profile == "rare-heavy":
        rpm = np.zeros(1440)
        np.add.at(rpm, rng.choice(1440, size=40, replace=True), 1.0)
        return Workload(profile, rpm, 500, 1200, 12, vcpus_per_request=4,
                        needs_sync_response=False)
    if profile == "nightly-batch":
        rpm = np.zeros(1440)
        rpm[120:240] = 200_000 / 120
        return Workload(profile, rpm, 5, 0.3, 3, needs_sync_response=False,
                        arrival="dataset", window_hours=2.0)
    raise ValueError(f"unknown profile {profile!r}; use one of {WORKLOAD_PROFILES}")


@dataclass
class Rollout:
    """Per minute: green's share of traffic, the endpoint's error rate, the alarm; and the
    minutes of the rollback and of releasing blue (None when it did not happen)."""

    green_share: np.ndarray
    observed_error: np.ndarray
    alarm: np.ndarray
    rolled_back_at: int | None
    finished_at: int | None


def _shares(policy: dict[str, Any]) -> list[float]:
    """Green's traffic share for each minute of the planned shift and baking period."""
    routing = policy["TrafficRoutingConfiguration"]
    wait = max(1, round(routing.get("WaitIntervalInSeconds", 0) / 60))
    bake = round(policy.get("TerminationWaitInSeconds", 0) / 60)
    kind = routing["Type"]
    if kind == "ALL_AT_ONCE":
        steps = [1.0]
    elif kind in ("CANARY", "LINEAR"):
        size = routing["CanarySize" if kind == "CANARY" else "LinearStepSize"]
        if size["Type"] != "CAPACITY_PERCENT":
            raise ValueError("the replay takes step sizes in CAPACITY_PERCENT")
        step = size["Value"] / 100
        n = math.ceil(1 / step)
        steps = [min(1.0, step * (i + 1)) for i in range(n)]
        steps = [step, 1.0] if kind == "CANARY" else steps
    else:
        raise ValueError(f"unknown traffic routing type {kind!r}")
    plan = [s for s in steps[:-1] for _ in range(wait)] + [1.0] * bake
    return plan or [1.0]


def simulate_blue_green(
    deployment_config: dict[str, Any],
    blue_error: np.ndarray,
    green_error: np.ndarray,
    *,
    start_minute: int,
    alarm_threshold: float,
    evaluation_periods: int = 2,
) -> Rollout:
    """Replay ``UpdateEndpoint``'s ``DeploymentConfig`` from ``start_minute``.

    Traffic moves to green by ``BlueGreenUpdatePolicy.TrafficRoutingConfiguration``
    (whole minutes), then green bakes for ``TerminationWaitInSeconds``. The alarm watches
    the endpoint's error rate, the traffic-weighted mix of both fleets, and fires after
    ``evaluation_periods`` minutes in a row above ``alarm_threshold``; an alarm before
    blue is released sends all traffic back to blue from the next minute.
    """
    plan = _shares(deployment_config["BlueGreenUpdatePolicy"])
    n = len(blue_error)
    share, alarm = np.zeros(n), np.zeros(n, dtype=bool)
    observed = np.asarray(blue_error, dtype=float).copy()
    rolled_back = finished = None
    breaches = 0
    for t in range(start_minute, n):
        k = t - start_minute
        if rolled_back is None and k >= len(plan) and finished is None:
            finished = t
        share[t] = 0.0 if rolled_back is not None else (plan[k] if k < len(plan) else 1.0)
        observed[t] = share[t] * green_error[t] + (1 - share[t]) * blue_error[t]
        breaches = breaches + 1 if observed[t] > alarm_threshold else 0
        alarm[t] = breaches >= evaluation_periods
        if alarm[t] and rolled_back is None and finished is None:
            rolled_back = t + 1
    return Rollout(share, observed, alarm, rolled_back, finished)
