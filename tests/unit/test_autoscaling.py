"""labkit.autoscaling: request builders and the target-tracking simulator."""

from __future__ import annotations

import boto3
import numpy as np
import pytest
from botocore.validate import ParamValidator

from labkit.autoscaling import (
    CapacityChange,
    promotion_trace,
    scheduled_action_request,
    simulate,
    target_tracking_request,
    variant_resource_id,
)
from labkit.errors import LabKitError

KW = {
    "target_per_instance": 100,
    "instance_capacity_rpm": 150,
    "min_capacity": 1,
    "max_capacity": 20,
    "warmup_min": 5,
}


def aas_shape(operation: str):
    client = boto3.client(
        "application-autoscaling",
        region_name="us-east-1",
        aws_access_key_id="x",
        aws_secret_access_key="x",
    )
    return client.meta.service_model.operation_model(operation).input_shape


def test_requests_match_the_api_model() -> None:
    rid = variant_resource_id("my-endpoint")
    assert rid == "endpoint/my-endpoint/variant/AllTraffic"
    tt = target_tracking_request(rid, "tt", 70)
    report = ParamValidator().validate(tt, aas_shape("PutScalingPolicy"))
    assert not report.has_errors(), report.generate_report()
    sa = scheduled_action_request(
        rid, "promo", "at(2026-12-01T08:30:00)", min_capacity=8, timezone="Europe/Berlin"
    )
    assert sa["ScalableTargetAction"] == {"MinCapacity": 8}
    report = ParamValidator().validate(sa, aas_shape("PutScheduledAction"))
    assert not report.has_errors(), report.generate_report()


def test_request_builders_refuse_nonsense() -> None:
    with pytest.raises(LabKitError):
        variant_resource_id("a/b")
    with pytest.raises(LabKitError):
        target_tracking_request("endpoint/e/variant/v", "tt", 0)
    with pytest.raises(LabKitError):
        scheduled_action_request("endpoint/e/variant/v", "x", "at(2026-12-01)")
    with pytest.raises(LabKitError):
        scheduled_action_request("endpoint/e/variant/v", "x", "tomorrow", min_capacity=1)


def step(n=60, at=10, low=50.0, high=1000.0) -> np.ndarray:
    d = np.full(n, low)
    d[at:] = high
    return d


def test_scale_out_waits_for_datapoints_and_warmup() -> None:
    sim = simulate(step(), **KW)
    # metric > target at minutes 10, 11, 12 -> scale out at 12; InService at 17
    assert sim.events[0] == (12, "scale out 1 -> 10")
    assert sim.in_service[16] == 1 and sim.in_service[17] == 10
    assert sim.overloaded_minutes == 7  # minutes 10..16
    assert sim.dropped_requests == pytest.approx(7 * (1000 - 150))


def test_scheduled_minimum_prevents_the_overload() -> None:
    early = (CapacityChange(minute=2, min_capacity=10, name="promo"),)
    sim = simulate(step(), scheduled=early, **KW)
    assert sim.in_service[7] == 10 and sim.overloaded_minutes == 0
    assert sim.min_capacity[1] == 1 and sim.min_capacity[2] == 10


def test_target_tracking_still_scales_above_the_scheduled_minimum() -> None:
    early = (CapacityChange(minute=2, min_capacity=5, name="promo"),)
    sim = simulate(step(high=1500), scheduled=early, **KW)
    assert sim.desired.max() == 15  # ceil(1500 / 100), above the scheduled min of 5


def test_max_capacity_caps_and_a_lower_max_removes_instances() -> None:
    sim = simulate(step(high=5000), **KW)
    assert sim.desired.max() == 20
    cut = (CapacityChange(minute=40, max_capacity=4),)
    sim = simulate(step(high=5000), scheduled=cut, **KW)
    assert sim.desired[40] == 4 and sim.in_service[40] == 4


def test_scale_in_needs_15_low_minutes_and_respects_cooldown() -> None:
    d = np.concatenate([np.full(30, 1000.0), np.full(60, 50.0)])
    sim = simulate(d, **KW)
    scale_ins = [(t, e) for t, e in sim.events if e.startswith("scale in")]
    # low from minute 30; the 15th low datapoint is minute 44
    assert scale_ins[0] == (44, "scale in 10 -> 1")
    no_in = simulate(d, disable_scale_in=True, **KW)
    assert no_in.desired[-1] == 10


def test_invalid_settings_fail_clearly() -> None:
    with pytest.raises(LabKitError):
        simulate(step(), **{**KW, "target_per_instance": 200})
    with pytest.raises(LabKitError):
        simulate(step(), **{**KW, "min_capacity": 0})


def test_promotion_trace_has_the_spike_where_asked() -> None:
    d = promotion_trace(promo_start=600, promo_rpm=3000, base_rpm=100, seed=1)
    assert len(d) == 1440 and d[650] > 2500 and d[500] < 300
    assert np.array_equal(
        d, promotion_trace(promo_start=600, promo_rpm=3000, base_rpm=100, seed=1)
    )


def test_capacity_change_reads_the_request_that_was_sent() -> None:
    from labkit.autoscaling import capacity_change

    req = scheduled_action_request(
        "endpoint/e/variant/v", "promo", "at(2026-12-04T09:35:00)", min_capacity=16
    )
    assert capacity_change(req) == CapacityChange(575, 16, None, "promo")
    weekly = scheduled_action_request(
        "endpoint/e/variant/v", "weekly", "cron(35 9 ? * FRI *)", min_capacity=16
    )
    with pytest.raises(LabKitError):
        capacity_change(weekly)
