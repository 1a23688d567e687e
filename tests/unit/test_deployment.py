"""labkit.deployment: the cost/constraint model, the blue/green simulator, request checks.

Costs are checked against arithmetic done by hand from the stated assumptions, so a change
in the model's formulas (not only in its code) makes these tests fail.
"""

from __future__ import annotations

import boto3
import numpy as np
import pytest

from labkit.deployment import (
    ASSUMED_INSTANCES,
    ASSUMED_PRICES,
    DAYS_PER_MONTH,
    WORKLOAD_PROFILES,
    Workload,
    cheapest_feasible,
    compare,
    concurrency,
    evaluate,
    make_workload,
    pick_instance,
    scale_with_delay,
    simulate_blue_green,
    validate_request,
)
from labkit.errors import LabKitError


def flat(rpm: float, **kw) -> Workload:
    defaults = {"payload_mb": 0.01, "processing_s": 0.1, "memory_gb": 2}
    defaults.update(kw)
    return Workload("flat", np.full(1440, float(rpm)), **defaults)


def test_concurrency_is_littles_law_and_spans_minutes() -> None:
    rpm = np.zeros(10)
    rpm[0] = 6
    c = concurrency(rpm, 90)  # 6 requests of 90 s: busy all of minute 0, half of minute 1
    assert c[0] == pytest.approx(6.0) and c[1] == pytest.approx(3.0) and c[2] == 0
    assert concurrency(np.full(5, 600.0), 0.1)[2] == pytest.approx(1.0)


def test_real_time_cost_is_one_instance_all_month_when_load_is_small() -> None:
    e = evaluate(flat(60), "real-time")
    m5_large = ASSUMED_INSTANCES[0]
    assert e.instance == "ml.m5.large"
    assert e.monthly_usd == pytest.approx(24 * DAYS_PER_MONTH * m5_large.usd_per_hour)


def test_real_time_adds_instances_for_the_peak_hour() -> None:
    # 2.4 requests in flight at 60 % of 2 vCPUs -> 2.4 / 1.2 = 2 instances all day
    w = flat(720, processing_s=0.2)
    assert evaluate(w, "real-time").details["instance_hours_per_day"] == 48


def test_serverless_cost_by_hand() -> None:
    w = flat(10, processing_s=0.5, memory_gb=2.5, payload_mb=0.5)
    e = evaluate(w, "serverless")
    per_day = 14400 * 0.5 * 3 * ASSUMED_PRICES["serverless_usd_per_gb_second"]
    per_day += 14400 * 0.5 * 2 / 1024 * ASSUMED_PRICES["serverless_usd_per_gb_data"]
    assert e.monthly_usd == pytest.approx(per_day * DAYS_PER_MONTH)
    assert e.feasible


@pytest.mark.parametrize(
    "kw, reason",
    [
        ({"memory_gb": 7}, "memory 7 GB > 6 GB"),
        ({"payload_mb": 5}, "payload 5 MB > 4 MB"),
        ({"processing_s": 61}, "processing 61 s > 60 s"),
    ],
)
def test_serverless_limits(kw, reason) -> None:
    assert reason in evaluate(flat(1, **kw), "serverless").violations


def test_serverless_concurrency_limit_is_200() -> None:
    assert evaluate(flat(11_940, processing_s=1), "serverless").feasible  # 199 in flight
    e = evaluate(flat(12_060, processing_s=1), "serverless")  # 201 in flight
    assert "concurrency 201 > 200" in e.violations


def test_async_takes_an_hour_but_not_more_and_needs_no_sync_caller() -> None:
    ok = flat(1, processing_s=3600, payload_mb=1000, needs_sync_response=False)
    assert evaluate(ok, "async").feasible
    too_long = flat(1, processing_s=3601, needs_sync_response=False)
    assert evaluate(too_long, "async").violations == ["processing 3601 s > 3600 s"]
    assert "caller needs the answer in the HTTP response" in evaluate(flat(1), "async").violations


def test_async_scales_to_zero_and_bills_warmup_and_idle() -> None:
    rpm = np.zeros(1440)
    rpm[100] = 2  # two 60-second jobs at minute 100 on a 2-vCPU instance
    w = Workload("one-burst", rpm, 0.1, 60, 2, needs_sync_response=False)
    e = evaluate(w, "async", async_warmup_min=5, async_idle_min=15)
    # one instance for the busy minute plus 15 idle minutes, plus 5 minutes of start-up
    assert e.details["instance_hours_per_day"] == pytest.approx(21 / 60)
    assert e.details["starts_from_zero_per_day"] == 1


def test_scale_with_delay_keeps_instances_for_the_idle_period() -> None:
    billed, starts = scale_with_delay(np.array([0, 2, 0, 0, 0, 1, 0, 0, 0, 0.0]), 0, 2)
    assert billed.tolist() == [0, 2, 2, 2, 0, 1, 1, 1, 0, 0]
    assert starts == 2


def test_batch_needs_a_dataset_and_is_sized_to_the_window() -> None:
    online = flat(10, needs_sync_response=False)
    assert any("transform job" in v for v in evaluate(online, "batch").violations)
    rpm = np.zeros(1440)
    rpm[0] = 36_000  # 36,000 records x 1 s on 2 vCPUs = 18,000 instance-seconds
    w = Workload("ds", rpm, 1, 1, 2, needs_sync_response=False, arrival="dataset", window_hours=1)
    e = evaluate(w, "batch", batch_startup_min=10)
    assert e.details["instances"] == 6  # 18,000 s / (3,600 - 600) s
    price = ASSUMED_INSTANCES[0].usd_per_hour
    assert e.monthly_usd == pytest.approx((18_000 + 6 * 600) / 3600 * price * 30)


def test_each_profile_has_its_textbook_winner() -> None:
    estimates = compare([make_workload(p) for p in WORKLOAD_PROFILES])
    winners = {p: cheapest_feasible(estimates, p).option for p in WORKLOAD_PROFILES}
    assert winners == {
        "steady": "real-time",
        "spiky": "serverless",
        "rare-heavy": "async",
        "nightly-batch": "batch",
    }


def test_traces_are_reproducible_and_unknown_profiles_fail() -> None:
    assert np.array_equal(make_workload("spiky", 3).rpm, make_workload("spiky", 3).rpm)
    with pytest.raises(LabKitError):
        make_workload("bursty")
    with pytest.raises(LabKitError):
        pick_instance(memory_gb=500)


def canary(percent=10, wait_s=300, bake_s=600, kind="CANARY"):
    size_key = "CanarySize" if kind == "CANARY" else "LinearStepSize"
    routing = {"Type": kind, "WaitIntervalInSeconds": wait_s}
    if kind != "ALL_AT_ONCE":
        routing[size_key] = {"Type": "CAPACITY_PERCENT", "Value": percent}
    return {
        "BlueGreenUpdatePolicy": {
            "TrafficRoutingConfiguration": routing,
            "TerminationWaitInSeconds": bake_s,
        },
        "AutoRollbackConfiguration": {"Alarms": [{"AlarmName": "errors"}]},
    }


def test_healthy_canary_shifts_then_bakes_then_finishes() -> None:
    n = 40
    r = simulate_blue_green(
        canary(), np.full(n, 0.01), np.full(n, 0.01), start_minute=5, alarm_threshold=0.05
    )
    assert r.rolled_back_at is None
    assert r.green_share[:5].tolist() == [0] * 5
    assert r.green_share[5:10].tolist() == [0.1] * 5  # 300 s canary
    assert r.green_share[10:20].tolist() == [1.0] * 10  # 600 s baking
    assert r.finished_at == 20


def test_bad_green_rolls_back_when_the_blended_rate_crosses_the_alarm() -> None:
    n = 40
    green = np.full(n, 0.4)  # 40 % errors on green; at 10 % traffic the endpoint sees 4.9 %
    r = simulate_blue_green(
        canary(),
        np.full(n, 0.01),
        green,
        start_minute=5,
        alarm_threshold=0.03,
        evaluation_periods=2,
    )
    assert r.observed_error[5] == pytest.approx(0.1 * 0.4 + 0.9 * 0.01)
    assert r.rolled_back_at == 7  # breaches at 5 and 6, alarm at 6, back to blue at 7
    assert r.green_share[7:].max() == 0
    # with a threshold above the blended canary rate, the fault is caught only at 100 %
    late = simulate_blue_green(
        canary(),
        np.full(n, 0.01),
        green,
        start_minute=5,
        alarm_threshold=0.06,
        evaluation_periods=2,
    )
    assert late.rolled_back_at == 12


def test_linear_and_all_at_once_shapes() -> None:
    n = 30
    ok = np.zeros(n)
    lin = simulate_blue_green(
        canary(25, 120, 60, "LINEAR"), ok, ok, start_minute=0, alarm_threshold=0.5
    )
    assert lin.green_share[:9].tolist() == [0.25, 0.25, 0.5, 0.5, 0.75, 0.75, 1, 1, 1]
    assert lin.finished_at == 7
    once = simulate_blue_green(
        canary(kind="ALL_AT_ONCE", bake_s=120), ok, ok, start_minute=0, alarm_threshold=0.5
    )
    assert once.green_share[:3].tolist() == [1, 1, 1] and once.finished_at == 2
    with pytest.raises(LabKitError):
        simulate_blue_green({}, ok, ok, start_minute=0, alarm_threshold=0.5)


def test_validate_request_uses_botocores_model() -> None:
    sm = boto3.client(
        "sagemaker", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x"
    )
    good = {"EndpointName": "e", "EndpointConfigName": "c", "DeploymentConfig": canary()}
    assert validate_request(sm, "UpdateEndpoint", good) == []
    bad = {
        "EndpointName": "e",
        "DeploymentConfig": {
            "BlueGreenUpdatePolicy": {
                "TrafficRoutingConfiguration": {"Type": "CANARY", "WaitIntervalInSeconds": "5"}
            }
        },
    }
    problems = validate_request(sm, "UpdateEndpoint", bad)
    assert any("EndpointConfigName" in p for p in problems)
    assert any("WaitIntervalInSeconds" in p for p in problems)
    with pytest.raises(LabKitError):
        validate_request(sm, "UpdateEverything", {})
