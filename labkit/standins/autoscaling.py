"""Stands in for Application Auto Scaling acting on an endpoint (lab 07).

moto stores scalable targets, scaling policies and scheduled actions but never evaluates
them. :func:`simulate` replays a minute-by-minute demand trace through a target-tracking
policy on ``SageMakerVariantInvocationsPerInstance`` with scheduled Min/Max changes, so the
lab can show what the requests it sent would do. :func:`promotion_trace` makes the demand.
The model's rules are the lab's stated assumptions, listed in :func:`simulate`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class CapacityChange:
    """A scheduled action as the simulator sees it: at ``minute``, set Min and/or Max."""

    minute: int
    min_capacity: int | None = None
    max_capacity: int | None = None


@dataclass
class Simulation:
    """Per-minute series of :func:`simulate`: demand, desired and in-service instances,
    serving capacity (requests/min) and the Min/Max in force."""

    demand: np.ndarray
    desired: np.ndarray
    in_service: np.ndarray
    capacity: np.ndarray
    min_capacity: np.ndarray

    @property
    def overloaded(self) -> np.ndarray:
        return self.demand > self.capacity

    @property
    def overloaded_minutes(self) -> int:
        return int(self.overloaded.sum())

    @property
    def dropped_requests(self) -> float:
        """Requests above what the in-service instances can serve."""
        return float(np.clip(self.demand - self.capacity, 0, None).sum())

    @property
    def instance_minutes(self) -> float:
        """Billed instance-minutes: an instance bills from launch, not from InService."""
        return float(self.desired.sum())


def simulate(
    demand_rpm: np.ndarray,
    *,
    target_per_instance: float,
    instance_capacity_rpm: float,
    min_capacity: int,
    max_capacity: int,
    warmup_min: int = 8,
    scale_in_cooldown_s: int = 300,
    scale_out_datapoints: int = 3,
    scale_in_datapoints: int = 15,
    scheduled: tuple[CapacityChange, ...] | list[CapacityChange] = (),
) -> Simulation:
    """Replay ``demand_rpm`` (invocations per minute) through target tracking.

    Each minute *t*, in this order: (1) a scheduled action due at *t* sets Min/Max and
    pulls the desired count inside them at once; (2) instances launched ``warmup_min``
    minutes ago come InService; (3) the metric is demand / in-service instances;
    (4) **scale out** after ``scale_out_datapoints`` minutes in a row above the target:
    desired = ceil(demand / target) within Min/Max, if that is more than now; (5) **scale
    in** after ``scale_in_datapoints`` minutes in a row below 90 % of the target, when
    nothing is starting and the last scale-in is at least ``scale_in_cooldown_s`` ago.
    """
    if not 1 <= min_capacity <= max_capacity or target_per_instance > instance_capacity_rpm:
        raise ValueError("need 1 <= min <= max and a target below one instance's capacity")
    demand = np.asarray(demand_rpm, dtype=float)
    due = {c.minute: c for c in scheduled}
    lo, hi = min_capacity, max_capacity
    desired = in_service = min_capacity
    launching: list[int] = []  # the minute each starting instance comes InService
    high = low = 0
    last_scale_in = -(10**9)
    rows = []
    for t, rpm in enumerate(demand):
        if (change := due.get(t)) is not None:
            lo = lo if change.min_capacity is None else change.min_capacity
            hi = hi if change.max_capacity is None else change.max_capacity
            if desired < lo:
                launching += [t + warmup_min] * (lo - desired)
                desired = lo
            elif desired > hi:  # starting instances are cancelled first
                drop = desired - hi
                cancelled = min(drop, len(launching))
                launching = launching[: len(launching) - cancelled]
                in_service -= drop - cancelled
                desired = hi
        in_service += sum(1 for m in launching if m <= t)
        launching = [m for m in launching if m > t]
        metric = rpm / max(in_service, 1)
        high = high + 1 if metric > target_per_instance else 0
        low = low + 1 if metric < 0.9 * target_per_instance else 0
        wanted = min(hi, max(lo, math.ceil(rpm / target_per_instance)))
        if high >= scale_out_datapoints and wanted > desired:
            launching += [t + warmup_min] * (wanted - desired)
            desired = wanted
        elif (
            low >= scale_in_datapoints
            and wanted < desired
            and not launching
            and (t - last_scale_in) * 60 >= scale_in_cooldown_s
        ):
            in_service -= desired - wanted
            desired, last_scale_in, low = wanted, t, 0
        rows.append((desired, in_service, in_service * instance_capacity_rpm, lo))
    desired_s, in_service_s, capacity_s, min_s = (np.array(c, float) for c in zip(*rows))
    return Simulation(demand, desired_s, in_service_s, capacity_s, min_s)


def promotion_trace(
    *,
    base_rpm: float = 400,
    promo_start: int = 600,
    promo_minutes: int = 120,
    promo_rpm: float = 3200,
    ramp_minutes: int = 3,
    seed: int = 0,
) -> np.ndarray:
    """One day (1,440 minutes) of invocations per minute: a daily curve between 0.5 and
    1.5 x ``base_rpm`` plus a promotion that reaches ``promo_rpm`` within ``ramp_minutes``
    of ``promo_start`` and fades out over its last 30 minutes (Poisson noise)."""
    t = np.arange(1440)
    daily = base_rpm * (1 - 0.5 * np.cos(2 * np.pi * (t - 240) / 1440))
    since = t - promo_start + 1
    left = promo_start + promo_minutes - t
    level = np.clip(since / ramp_minutes, 0, 1) * np.clip(left / 30, 0, 1)
    return np.random.default_rng(seed).poisson(daily + promo_rpm * level).astype(float)
