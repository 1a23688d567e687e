"""Endpoint autoscaling: requests for Application Auto Scaling and a minute-level simulator.

Used by lab 07. Application Auto Scaling in moto stores scalable targets, policies and
scheduled actions but never evaluates them, so the behaviour comes from :func:`simulate`:
it replays a traffic trace through a target-tracking policy on
``SageMakerVariantInvocationsPerInstance`` — with the alarm's datapoints, the instances'
start-up time and the scale-in cooldown — optionally with scheduled actions that change
the minimum and maximum capacity.

The request builders (:func:`variant_resource_id`, :func:`target_tracking_request`,
:func:`scheduled_action_request`) return exactly the keyword arguments of the boto3 calls,
so the lab sends the same dictionaries to moto (or AWS) and to the simulator.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from labkit.errors import LabKitError

NAMESPACE = "sagemaker"
DIMENSION = "sagemaker:variant:DesiredInstanceCount"
PREDEFINED_METRIC = "SageMakerVariantInvocationsPerInstance"


def variant_resource_id(endpoint_name: str, variant_name: str = "AllTraffic") -> str:
    """``endpoint/<endpoint>/variant/<variant>``: how Application Auto Scaling names a variant."""
    if not endpoint_name or "/" in endpoint_name or "/" in variant_name:
        raise LabKitError(
            f"Cannot build a resource id from {endpoint_name!r} and {variant_name!r}.",
            "pass the endpoint's and the production variant's names, without slashes.",
        )
    return f"endpoint/{endpoint_name}/variant/{variant_name}"


def target_tracking_request(
    resource_id: str,
    policy_name: str,
    target_per_instance: float,
    *,
    scale_in_cooldown_s: int = 300,
    scale_out_cooldown_s: int = 60,
    disable_scale_in: bool = False,
) -> dict[str, Any]:
    """Keyword arguments of ``put_scaling_policy`` for target tracking on invocations.

    ``target_per_instance`` is invocations per instance *per minute* (the unit of the
    ``InvocationsPerInstance`` metric the predefined specification tracks).
    """
    if target_per_instance <= 0:
        raise LabKitError(
            f"target_per_instance={target_per_instance}: the target must be positive.",
            "measure the invocations per minute one instance sustains (a load test) and "
            "use a fraction of it, e.g. 70 %.",
        )
    return {
        "PolicyName": policy_name,
        "ServiceNamespace": NAMESPACE,
        "ResourceId": resource_id,
        "ScalableDimension": DIMENSION,
        "PolicyType": "TargetTrackingScaling",
        "TargetTrackingScalingPolicyConfiguration": {
            "TargetValue": float(target_per_instance),
            "PredefinedMetricSpecification": {"PredefinedMetricType": PREDEFINED_METRIC},
            "ScaleInCooldown": scale_in_cooldown_s,
            "ScaleOutCooldown": scale_out_cooldown_s,
            "DisableScaleIn": disable_scale_in,
        },
    }


def scheduled_action_request(
    resource_id: str,
    name: str,
    schedule: str,
    *,
    min_capacity: int | None = None,
    max_capacity: int | None = None,
    timezone: str | None = None,
) -> dict[str, Any]:
    """Keyword arguments of ``put_scheduled_action`` that change Min/Max capacity.

    ``schedule`` is ``at(yyyy-mm-ddThh:mm:ss)`` (once), ``cron(...)`` (six fields, as in
    EventBridge) or ``rate(...)``.
    """
    if min_capacity is None and max_capacity is None:
        raise LabKitError(
            f"The scheduled action {name!r} changes nothing.",
            "give min_capacity, max_capacity or both.",
        )
    if not schedule.startswith(("at(", "cron(", "rate(")) or not schedule.endswith(")"):
        raise LabKitError(
            f"{schedule!r} is not a schedule Application Auto Scaling reads.",
            "use at(2026-12-01T08:30:00), cron(30 8 ? * FRI *) or rate(1 day).",
        )
    action: dict[str, int] = {}
    if min_capacity is not None:
        action["MinCapacity"] = min_capacity
    if max_capacity is not None:
        action["MaxCapacity"] = max_capacity
    request: dict[str, Any] = {
        "ServiceNamespace": NAMESPACE,
        "ScheduledActionName": name,
        "ResourceId": resource_id,
        "ScalableDimension": DIMENSION,
        "Schedule": schedule,
        "ScalableTargetAction": action,
    }
    if timezone:
        request["Timezone"] = timezone
    return request


# --------------------------------------------------------------------------- simulator
@dataclass(frozen=True)
class CapacityChange:
    """A scheduled action as the simulator sees it: at ``minute``, set Min and/or Max."""

    minute: int
    min_capacity: int | None = None
    max_capacity: int | None = None
    name: str = ""


@dataclass
class Simulation:
    """Minute-by-minute result of :func:`simulate`."""

    demand: np.ndarray
    desired: np.ndarray
    in_service: np.ndarray
    capacity: np.ndarray
    min_capacity: np.ndarray
    max_capacity: np.ndarray
    events: list[tuple[int, str]] = field(default_factory=list)

    @property
    def overloaded(self) -> np.ndarray:
        """True in minutes where demand exceeded what the in-service instances can serve."""
        return self.demand > self.capacity

    @property
    def overloaded_minutes(self) -> int:
        return int(self.overloaded.sum())

    @property
    def dropped_requests(self) -> float:
        """Requests beyond capacity (they would be throttled, time out or queue)."""
        return float(np.clip(self.demand - self.capacity, 0, None).sum())

    @property
    def instance_minutes(self) -> float:
        """Instance-minutes billed: launching instances bill from the moment they start."""
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
    disable_scale_in: bool = False,
    scheduled: tuple[CapacityChange, ...] | list[CapacityChange] = (),
) -> Simulation:
    """Replay ``demand_rpm`` (invocations per minute) through target tracking.

    What the model does each minute *t*, in this order:

    1. **Scheduled actions** due at *t* set Min/Max. If the desired count is below the new
       Min it rises to Min at once (and the new instances start); above the new Max it
       falls to Max.
    2. Instances launched ``warmup_min`` minutes ago come **InService**.
    3. The metric is demand ÷ in-service instances (``InvocationsPerInstance``).
    4. **Scale out** when the metric has been above the target for
       ``scale_out_datapoints`` minutes in a row: desired = ceil(demand / target), capped
       by Max. Capacity that is still starting counts, so a scale-out during the scale-out
       cooldown happens only when it asks for *more* (as on AWS).
    5. **Scale in** when the metric has been below 90 % of the target for
       ``scale_in_datapoints`` minutes in a row, no scale-in happened within
       ``scale_in_cooldown_s`` and nothing is starting: desired = max(Min, ceil(demand /
       target)). Instances leave service at once.

    Serving capacity is in-service instances × ``instance_capacity_rpm``.
    """
    if target_per_instance > instance_capacity_rpm:
        raise LabKitError(
            f"The target ({target_per_instance}/min) is above what an instance can serve "
            f"({instance_capacity_rpm}/min): the policy would run instances overloaded.",
            "set the target below the capacity one instance sustains (e.g. 70 % of it).",
        )
    if not 1 <= min_capacity <= max_capacity:
        raise LabKitError(
            f"min_capacity={min_capacity}, max_capacity={max_capacity}.",
            "need 1 <= min_capacity <= max_capacity (scale to zero is for inference "
            "components, not for instance-based variants).",
        )
    demand = np.asarray(demand_rpm, dtype=float)
    n = len(demand)
    due = {c.minute: c for c in scheduled}
    lo, hi = min_capacity, max_capacity
    in_service = min_capacity
    launching: list[int] = []  # minute each starting instance becomes InService
    desired = min_capacity
    high = low = 0
    last_scale_in = -(10**9)
    out = {k: np.zeros(n) for k in ("desired", "in_service", "capacity", "min", "max")}
    events: list[tuple[int, str]] = []

    def launch(count: int, t: int) -> None:
        launching.extend([t + warmup_min] * count)

    def remove(count: int) -> None:
        nonlocal in_service
        while count and launching:
            launching.pop()
            count -= 1
        in_service -= count

    for t in range(n):
        change = due.get(t)
        if change is not None:
            lo = change.min_capacity if change.min_capacity is not None else lo
            hi = change.max_capacity if change.max_capacity is not None else hi
            events.append((t, f"schedule {change.name}: min={lo} max={hi}".strip()))
            if desired < lo:
                launch(lo - desired, t)
                desired = lo
            elif desired > hi:
                remove(desired - hi)
                desired = hi
        ready = [m for m in launching if m <= t]
        if ready:
            launching[:] = [m for m in launching if m > t]
            in_service += len(ready)
        metric = demand[t] / max(in_service, 1)
        high = high + 1 if metric > target_per_instance else 0
        low = low + 1 if metric < 0.9 * target_per_instance else 0
        wanted = min(hi, max(lo, math.ceil(demand[t] / target_per_instance)))
        if high >= scale_out_datapoints and wanted > desired:
            events.append((t, f"scale out {desired} -> {wanted}"))
            launch(wanted - desired, t)
            desired = wanted
        elif (
            not disable_scale_in
            and low >= scale_in_datapoints
            and wanted < desired
            and not launching
            and (t - last_scale_in) * 60 >= scale_in_cooldown_s
        ):
            events.append((t, f"scale in {desired} -> {wanted}"))
            remove(desired - wanted)
            desired = wanted
            last_scale_in = t
            low = 0
        out["desired"][t] = desired
        out["in_service"][t] = in_service
        out["capacity"][t] = in_service * instance_capacity_rpm
        out["min"][t] = lo
        out["max"][t] = hi
    return Simulation(
        demand,
        out["desired"],
        out["in_service"],
        out["capacity"],
        out["min"],
        out["max"],
        events,
    )


def promotion_trace(
    *,
    days_minutes: int = 1440,
    base_rpm: float = 400,
    promo_start: int = 600,
    promo_minutes: int = 120,
    promo_rpm: float = 3200,
    ramp_minutes: int = 3,
    seed: int = 0,
) -> np.ndarray:
    """One day of invocations per minute: a daily curve and a promotional spike.

    The promotion starts at ``promo_start`` (minute of the day), reaches ``promo_rpm`` in
    ``ramp_minutes`` — users arrive together when a promotion opens — and decays over the
    last half hour of ``promo_minutes``.
    """
    rng = np.random.default_rng(seed)
    t = np.arange(days_minutes)
    daily = base_rpm * (1 - 0.5 * np.cos(2 * np.pi * (t - 240) / 1440))
    promo = np.zeros(days_minutes)
    end = promo_start + promo_minutes
    for m in range(promo_start, min(end, days_minutes)):
        since = m - promo_start + 1
        level = min(1.0, since / ramp_minutes)
        level *= min(1.0, (end - m) / 30)
        promo[m] = promo_rpm * level
    return rng.poisson(daily + promo).astype(float)


def capacity_change(request: dict[str, Any]) -> CapacityChange:
    """The :class:`CapacityChange` a one-time ``put_scheduled_action`` request makes.

    Reads ``at(yyyy-mm-ddThh:mm:ss)`` as a minute of the day, so the simulator replays
    exactly the request that was sent. Recurring ``cron``/``rate`` schedules are refused:
    the simulator covers one day.
    """
    schedule = request["Schedule"]
    if not (schedule.startswith("at(") and schedule.endswith(")")):
        raise LabKitError(
            f"capacity_change reads one-time schedules, not {schedule!r}.",
            "simulate a recurring action by the one-time action of the day you replay.",
        )
    clock = schedule[3:-1].split("T", 1)[1]
    hours, minutes = (int(x) for x in clock.split(":")[:2])
    action = request["ScalableTargetAction"]
    return CapacityChange(
        minute=hours * 60 + minutes,
        min_capacity=action.get("MinCapacity"),
        max_capacity=action.get("MaxCapacity"),
        name=request["ScheduledActionName"],
    )
