"""Choosing a SageMaker deployment option: a small cost/constraint model and a canary simulator.

Used by lab 05. Three parts:

* **Traffic traces** (:func:`make_workload`): one day of requests per minute for four
  workload profiles — ``steady``, ``spiky``, ``rare-heavy`` and ``nightly-batch``.
* **A cost and constraint model** (:func:`evaluate`, :func:`compare`): what a month of each
  workload would cost on a real-time endpoint, a serverless endpoint, an asynchronous endpoint
  and a batch transform job, and which hard limits (payload, processing time, memory,
  concurrency, synchronous answer, on-line arrival) rule an option out. Prices are
  *assumptions* (:data:`ASSUMED_PRICES`), stated with their date and source.
* **Deployment guardrails** (:func:`simulate_blue_green`): replays a blue/green update
  (all-at-once, canary or linear traffic shifting, baking period, auto-rollback on an alarm)
  minute by minute for a given ``DeploymentConfig`` and error-rate series, and
  :func:`validate_request` checks any request against botocore's own API model.

The model is deliberately simple and every simplification is written down in the docstring
that makes it; it teaches the *shape* of the trade-off, not a quote.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from labkit.errors import LabKitError
from labkit.requests import request_problems

MINUTES_PER_DAY = 1440
DAYS_PER_MONTH = 30
OPTIONS = ("real-time", "serverless", "async", "batch")
"""The four deployment options, in the order the lab shows them."""

PRICES_CHECKED = "2026-11-26"
PRICING_PAGE = "https://aws.amazon.com/sagemaker/ai/pricing/"


@dataclass(frozen=True)
class InstanceType:
    """An instance type the model may choose: size and assumed on-demand price per hour."""

    name: str
    vcpus: int
    memory_gb: float
    usd_per_hour: float


ASSUMED_INSTANCES = (
    InstanceType("ml.m5.large", 2, 8.0, 0.115),
    InstanceType("ml.m5.xlarge", 4, 16.0, 0.23),
    InstanceType("ml.m5.2xlarge", 8, 32.0, 0.461),
    InstanceType("ml.m5.4xlarge", 16, 64.0, 0.922),
)
"""Assumed us-east-1 on-demand prices for real-time, asynchronous and batch transform
instances (SageMaker bills the same hourly rate for an instance type in all three), per
second. Check :data:`PRICING_PAGE`; :data:`PRICES_CHECKED` is the date of the assumption."""

ASSUMED_PRICES = {
    "serverless_usd_per_gb_second": 0.0000200,
    "serverless_usd_per_gb_data": 0.016,
}
"""Assumed serverless prices, us-east-1: compute per GB of configured memory per second of
request duration, and per GB of request+response data processed."""

LIMITS: dict[str, dict[str, float]] = {
    "real-time": {"payload_mb": 25, "processing_s": 60},
    "serverless": {"payload_mb": 4, "processing_s": 60, "memory_gb": 6, "concurrency": 200},
    "async": {"payload_mb": 1024, "processing_s": 3600},
    "batch": {"payload_mb": 100, "processing_s": 3600},
}
"""Hard limits per option (AWS quotas as documented in November 2026): request payload,
processing time per request, serverless memory (1–6 GB) and maximum concurrency per
serverless endpoint (200)."""


@dataclass(frozen=True)
class Workload:
    """One model's traffic and its needs.

    ``rpm`` holds requests per minute for one day (1440 values); the month is 30 such days.
    ``vcpus_per_request`` says how much of an instance one request keeps busy, so an instance
    runs ``vcpus // vcpus_per_request`` requests at a time. ``needs_sync_response`` means the
    caller waits for the answer in the HTTP response; ``arrival`` is ``"online"`` (requests
    come one by one) or ``"dataset"`` (the whole input exists in S3 before the run).
    ``window_hours`` is how long a dataset run may take.
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


@dataclass
class Estimate:
    """What one option would cost for one workload per month, and why it may not fit."""

    workload: str
    option: str
    monthly_usd: float
    violations: list[str] = field(default_factory=list)
    instance: str | None = None
    details: dict[str, float] = field(default_factory=dict)

    @property
    def feasible(self) -> bool:
        return not self.violations


# --------------------------------------------------------------------------- traces
def make_workload(profile: str, seed: int = 0) -> Workload:
    """One of the four example workloads, with a reproducible one-day trace.

    * ``steady``: a customer-facing API, ~3,000 requests/min in the day and ~1,200 at night,
      80 ms each, a 4 GB model, the caller waits for the answer.
    * ``spiky``: an internal tool, idle most of the day, six bursts of ~10 minutes.
    * ``rare-heavy``: ~40 documents a day of ~500 MB, 20 minutes each, a 12 GB model; the
      result may arrive later.
    * ``nightly-batch``: 200,000 scanned pages (5 MB each) that exist in S3 at 02:00 and
      must be scored within two hours.
    """
    rng = np.random.default_rng(seed)
    minutes = np.arange(MINUTES_PER_DAY)
    if profile == "steady":
        diurnal = 2100 - 900 * np.cos(2 * np.pi * (minutes - 180) / MINUTES_PER_DAY)
        rpm = rng.poisson(diurnal).astype(float)
        return Workload(profile, rpm, payload_mb=0.01, processing_s=0.08, memory_gb=4)
    if profile == "spiky":
        rpm = rng.poisson(0.02, MINUTES_PER_DAY).astype(float)
        for start in rng.choice(np.arange(480, 1080, 60), size=6, replace=False):
            rpm[start : start + 10] += rng.poisson(240, 10)
        return Workload(profile, rpm, payload_mb=0.05, processing_s=0.5, memory_gb=2)
    if profile == "rare-heavy":
        rpm = np.zeros(MINUTES_PER_DAY)
        arrivals = rng.choice(MINUTES_PER_DAY, size=40, replace=True)
        np.add.at(rpm, arrivals, 1.0)
        return Workload(
            profile,
            rpm,
            payload_mb=500,
            processing_s=1200,
            memory_gb=12,
            vcpus_per_request=4,
            needs_sync_response=False,
        )
    if profile == "nightly-batch":
        rpm = np.zeros(MINUTES_PER_DAY)
        records, start, window = 200_000, 120, 120
        rpm[start : start + window] = records / window
        return Workload(
            profile,
            rpm,
            payload_mb=5,
            processing_s=0.3,
            memory_gb=3,
            needs_sync_response=False,
            arrival="dataset",
            window_hours=2.0,
        )
    raise LabKitError(
        f"make_workload({profile!r}): unknown profile.",
        "use one of 'steady', 'spiky', 'rare-heavy', 'nightly-batch'.",
    )


WORKLOAD_PROFILES = ("steady", "spiky", "rare-heavy", "nightly-batch")


# --------------------------------------------------------------------------- building blocks
def pick_instance(memory_gb: float, vcpus: int = 1) -> InstanceType:
    """The cheapest assumed instance type with at least this memory and these vCPUs."""
    for itype in ASSUMED_INSTANCES:
        if itype.memory_gb >= memory_gb and itype.vcpus >= vcpus:
            return itype
    raise LabKitError(
        f"No assumed instance type has {memory_gb} GB and {vcpus} vCPUs.",
        "add a larger type to ASSUMED_INSTANCES or shrink the model.",
    )


def concurrency(rpm: np.ndarray, processing_s: float) -> np.ndarray:
    """Requests in flight per minute (Little's law, no queueing).

    A request that arrives in minute *t* and takes ``processing_s`` seconds keeps a worker
    busy for that long: fully for every whole minute it spans and partly in the last one.
    """
    out = np.zeros_like(rpm, dtype=float)
    remaining = processing_s
    k = 0
    while remaining > 0 and k < len(rpm):
        share = min(remaining, 60.0) / 60.0
        out[k:] += rpm[: len(rpm) - k] * share
        remaining -= 60.0
        k += 1
    return out


def scale_with_delay(
    needed: np.ndarray, warmup_min: int, idle_min: int, floor: int = 0
) -> tuple[np.ndarray, int]:
    """Instances billed per minute when a fleet follows ``needed`` with delays.

    An instance is kept for ``idle_min`` minutes after it was last needed (the scale-in
    delay), and every start from zero bills ``warmup_min`` minutes before it serves.
    Returns the billed instances per minute and the number of starts from zero.
    """
    n = len(needed)
    billed = np.zeros(n)
    for t in range(n):
        lo = max(0, t - idle_min)
        billed[t] = max(floor, needed[lo : t + 1].max())
    starts = int(((billed[1:] > 0) & (billed[:-1] == 0)).sum() + (billed[0] > 0))
    return billed, starts


# --------------------------------------------------------------------------- the model
def evaluate(
    workload: Workload,
    option: str,
    *,
    target_utilisation: float = 0.6,
    async_warmup_min: int = 6,
    async_idle_min: int = 15,
    batch_startup_min: int = 6,
    serverless_idle_min: int = 15,
) -> Estimate:
    """Monthly cost of ``workload`` on ``option`` and the limits it breaks.

    Simplifications (stated, so they can be argued with):

    * **real-time**: at least one instance all month; each hour runs enough instances for
      that hour's peak concurrency at ``target_utilisation`` (an idealised autoscaler).
    * **serverless**: billed for request duration × configured memory (rounded up to whole
      GB) plus data in and out; cold starts are counted as idle gaps of at least
      ``serverless_idle_min`` minutes followed by traffic (AWS does not publish the idle
      time, so this is an assumption).
    * **async**: instances follow the work with a start-up (``async_warmup_min``, billed) and
      a scale-in delay (``async_idle_min``); scale to zero between bursts.
    * **batch**: one job per day sized to finish inside ``window_hours``, plus
      ``batch_startup_min`` billed minutes of start-up per instance.
    """
    if option not in OPTIONS:
        raise LabKitError(f"Unknown option {option!r}.", f"use one of {OPTIONS}.")
    limits = LIMITS[option]
    violations: list[str] = []
    if workload.payload_mb > limits["payload_mb"]:
        violations.append(f"payload {workload.payload_mb:g} MB > {limits['payload_mb']:g} MB")
    if workload.processing_s > limits["processing_s"]:
        violations.append(f"processing {workload.processing_s:g} s > {limits['processing_s']:g} s")
    inflight = concurrency(workload.rpm, workload.processing_s)
    itype = pick_instance(workload.memory_gb, workload.vcpus_per_request)
    per_instance = max(1, itype.vcpus // workload.vcpus_per_request)
    details: dict[str, float] = {"peak_concurrency": float(inflight.max())}

    if option == "real-time":
        needed = np.ceil(inflight / (per_instance * target_utilisation) - 1e-9)
        hourly = needed.reshape(24, 60).max(axis=1)
        hourly = np.maximum(hourly, 1)
        day_usd = float(hourly.sum() * itype.usd_per_hour)
        details["instance_hours_per_day"] = float(hourly.sum())
        return Estimate(
            workload.name, option, day_usd * DAYS_PER_MONTH, violations, itype.name, details
        )

    if option == "serverless":
        memory = math.ceil(workload.memory_gb)
        if workload.memory_gb > limits["memory_gb"]:
            violations.append(f"memory {workload.memory_gb:g} GB > 6 GB")
        if inflight.max() > limits["concurrency"]:
            violations.append(f"concurrency {inflight.max():.0f} > 200")
        gb_seconds = workload.requests_per_day * workload.processing_s * memory
        data_gb = workload.requests_per_day * workload.payload_mb * 2 / 1024
        day_usd = (
            gb_seconds * ASSUMED_PRICES["serverless_usd_per_gb_second"]
            + data_gb * ASSUMED_PRICES["serverless_usd_per_gb_data"]
        )
        busy = workload.rpm > 0
        cold = 0
        # the day repeats: the idle time before the first request is the day's tail
        idle = int(np.argmax(busy[::-1])) if busy.any() else 0
        for t in range(len(busy)):
            if busy[t]:
                cold += idle >= serverless_idle_min
                idle = 0
            else:
                idle += 1
        details["cold_starts_per_day"] = float(cold)
        return Estimate(workload.name, option, day_usd * DAYS_PER_MONTH, violations, None, details)

    if workload.needs_sync_response:
        violations.append("caller needs the answer in the HTTP response")

    if option == "async":
        needed = np.ceil(inflight / per_instance - 1e-9)
        billed, starts = scale_with_delay(needed, async_warmup_min, async_idle_min)
        minutes = float(billed.sum() + starts * async_warmup_min)
        details["instance_hours_per_day"] = minutes / 60
        details["starts_from_zero_per_day"] = float(starts)
        day_usd = minutes / 60 * itype.usd_per_hour
        return Estimate(
            workload.name, option, day_usd * DAYS_PER_MONTH, violations, itype.name, details
        )

    # batch transform
    if workload.arrival != "dataset":
        violations.append("requests arrive one by one, a transform job needs the data set")
    work_s = workload.requests_per_day * workload.processing_s / per_instance
    usable_s = workload.window_hours * 3600 - batch_startup_min * 60
    instances = max(1, math.ceil(work_s / usable_s))
    billed_s = work_s + instances * batch_startup_min * 60
    details["instances"] = float(instances)
    details["instance_hours_per_day"] = billed_s / 3600
    day_usd = billed_s / 3600 * itype.usd_per_hour
    return Estimate(
        workload.name, option, day_usd * DAYS_PER_MONTH, violations, itype.name, details
    )


def compare(workloads: list[Workload]) -> list[Estimate]:
    """:func:`evaluate` for every workload and option."""
    return [evaluate(w, option) for w in workloads for option in OPTIONS]


def cheapest_feasible(estimates: list[Estimate], workload: str) -> Estimate:
    """The feasible option with the lowest monthly cost for one workload."""
    fits = [e for e in estimates if e.workload == workload and e.feasible]
    if not fits:
        raise LabKitError(
            f"No option fits the workload {workload!r}.",
            "relax a constraint (smaller payload, shorter processing) or split the model.",
        )
    return min(fits, key=lambda e: e.monthly_usd)


# --------------------------------------------------------------------------- guardrails
@dataclass
class Rollout:
    """Minute-by-minute result of :func:`simulate_blue_green`."""

    green_share: np.ndarray
    observed_error: np.ndarray
    alarm: np.ndarray
    rolled_back_at: int | None
    finished_at: int | None
    phases: list[tuple[int, str]]


def simulate_blue_green(
    deployment_config: dict[str, Any],
    blue_error: np.ndarray,
    green_error: np.ndarray,
    *,
    start_minute: int,
    alarm_threshold: float,
    evaluation_periods: int = 2,
) -> Rollout:
    """Replay a blue/green update with traffic shifting and auto-rollback, per minute.

    ``deployment_config`` is the ``DeploymentConfig`` of ``UpdateEndpoint``: its
    ``BlueGreenUpdatePolicy.TrafficRoutingConfiguration`` (``ALL_AT_ONCE``, ``CANARY`` with
    ``CanarySize`` and ``WaitIntervalInSeconds``, or ``LINEAR`` with ``LinearStepSize``) and
    ``TerminationWaitInSeconds`` (the baking period after all traffic has moved). The alarm
    watches the *endpoint's* error rate — the traffic-weighted mix of both fleets — and goes
    into ALARM when it exceeds ``alarm_threshold`` for ``evaluation_periods`` minutes in a
    row. An alarm before the end of the baking period shifts all traffic back to blue.
    Shares are rounded to whole minutes; the green fleet's start-up time is left out.
    """
    policy = deployment_config.get("BlueGreenUpdatePolicy")
    if not policy:
        raise LabKitError(
            "The DeploymentConfig has no BlueGreenUpdatePolicy.",
            "pass {'BlueGreenUpdatePolicy': {'TrafficRoutingConfiguration': {...}}, ...}.",
        )
    routing = policy["TrafficRoutingConfiguration"]
    kind = routing["Type"]
    wait_min = max(1, round(routing.get("WaitIntervalInSeconds", 0) / 60))
    bake_min = round(policy.get("TerminationWaitInSeconds", 0) / 60)
    if kind == "ALL_AT_ONCE":
        steps = [1.0]
    elif kind in ("CANARY", "LINEAR"):
        size = routing["CanarySize" if kind == "CANARY" else "LinearStepSize"]
        if size["Type"] != "CAPACITY_PERCENT":
            raise LabKitError(
                f"The simulator takes {kind} sizes in CAPACITY_PERCENT, not {size['Type']}.",
                "express the step as a percentage of the green fleet's capacity.",
            )
        step = size["Value"] / 100
        if kind == "CANARY":
            steps = [step, 1.0]
        else:
            steps = [min(1.0, step * (i + 1)) for i in range(math.ceil(1 / step))]
    else:
        raise LabKitError(
            f"Unknown traffic routing type {kind!r}.", "use ALL_AT_ONCE, CANARY or LINEAR."
        )

    n = len(blue_error)
    # share of traffic on green for each minute of the planned rollout
    plan: list[tuple[float, str]] = []
    for i, share in enumerate(steps):
        last = i == len(steps) - 1
        plan += [(share, "bake" if last else f"step {i + 1}")] * (bake_min if last else wait_min)
    if not plan:
        plan = [(1.0, "bake")]
    green_share = np.zeros(n)
    alarm = np.zeros(n, dtype=bool)
    observed = blue_error.astype(float).copy()
    phases: list[tuple[int, str]] = [(0, "blue only")]
    rolled_back: int | None = None
    finished: int | None = None
    breaches = 0
    for t in range(start_minute, n):
        k = t - start_minute
        if rolled_back is not None:
            share, phase = 0.0, "rolled back"
        elif k < len(plan):
            share, phase = plan[k]
        else:
            share, phase = 1.0, "green only"
            if finished is None:
                finished = t
        if phases[-1][1] != phase:
            phases.append((t, phase))
        green_share[t] = share
        observed[t] = share * green_error[t] + (1 - share) * blue_error[t]
        breaches = breaches + 1 if observed[t] > alarm_threshold else 0
        alarm[t] = breaches >= evaluation_periods
        if alarm[t] and rolled_back is None and finished is None:
            rolled_back = t + 1
    return Rollout(green_share, observed, alarm, rolled_back, finished, phases)


# --------------------------------------------------------------------------- requests


def validate_request(client: Any, operation: str, params: dict[str, Any]) -> list[str]:
    """Check ``params`` against botocore's model of ``operation``; return the problems.

    The same checks boto3 runs before sending, plus enum and maximum values the service
    would refuse (see :func:`labkit.requests.request_problems`). Works for operations moto
    does not implement, such as ``UpdateEndpoint``.
    """
    return request_problems(client.meta.service_model.service_name, operation, params)
