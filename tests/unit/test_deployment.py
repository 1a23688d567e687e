"""Lab 05: the cost formulas (#@save cells) and the stand-ins (traces, canary replay).

Costs are checked against arithmetic done by hand from the stated assumptions, so a change
in the formulas (not only in their code) makes these tests fail.
"""

from __future__ import annotations

import numpy as np
import pytest

from labkit import lessons
from labkit.standins.deployment import (
    WORKLOAD_PROFILES,
    Workload,
    make_workload,
    simulate_blue_green,
)

lab05 = lessons.load("05-deployment-options")
M5_LARGE = 0.115  # US$/h, the lab's assumption for ml.m5.large


def flat(rpm: float, **kw) -> Workload:
    defaults = {"payload_mb": 0.01, "processing_s": 0.1, "memory_gb": 2}
    defaults.update(kw)
    return Workload("flat", np.full(1440, float(rpm)), **defaults)


def test_real_time_limit_is_botocores_6291456_bytes() -> None:
    assert lab05.REALTIME_MAX_BODY_BYTES == 6_291_456
    assert lab05.LIMITS["real-time"]["payload_mb"] == 6
    assert "payload 7 MB > 6 MB" in lab05.violations(flat(1, payload_mb=7), "real-time")
    assert lab05.violations(flat(1, payload_mb=6), "real-time") == []


def test_concurrency_is_littles_law_and_spans_minutes() -> None:
    rpm = np.zeros(10)
    rpm[0] = 6
    c = lab05.concurrency(rpm, 90)  # 6 x 90 s: busy all of minute 0, half of minute 1
    assert c[0] == pytest.approx(6.0) and c[1] == pytest.approx(3.0) and c[2] == 0
    assert lab05.concurrency(np.full(5, 600.0), 0.1)[2] == pytest.approx(1.0)


def test_real_time_cost_is_one_instance_all_month_when_load_is_small() -> None:
    assert lab05.realtime_monthly(flat(60)) == pytest.approx(24 * 30 * M5_LARGE)


def test_real_time_adds_instances_for_the_peak_hour() -> None:
    # 2.4 requests in flight at 60 % of 2 vCPUs -> 2.4 / 1.2 = 2 instances all day
    w = flat(720, processing_s=0.2)
    assert lab05.realtime_monthly(w) == pytest.approx(2 * 24 * 30 * M5_LARGE)


def test_serverless_cost_by_hand() -> None:
    w = flat(10, processing_s=0.5, memory_gb=2.5, payload_mb=0.5)
    per_day = 14400 * 0.5 * 3 * 0.00002 + 14400 * 0.5 * 2 / 1024 * 0.016
    assert lab05.serverless_monthly(w) == pytest.approx(per_day * 30)
    assert lab05.violations(w, "serverless") == []


@pytest.mark.parametrize(
    "kw, reason",
    [
        ({"memory_gb": 7}, "memory 7 GB > 6 GB"),
        ({"payload_mb": 5}, "payload 5 MB > 4 MB"),
        ({"processing_s": 61}, "processing 61 s > 60 s"),
    ],
)
def test_serverless_limits(kw, reason) -> None:
    assert reason in lab05.violations(flat(1, **kw), "serverless")


def test_serverless_concurrency_limit_is_200() -> None:
    assert lab05.violations(flat(11_940, processing_s=1), "serverless") == []  # 199
    found = lab05.violations(flat(12_060, processing_s=1), "serverless")  # 201 in flight
    assert "concurrency 201 > 200" in found


def test_async_takes_an_hour_but_not_more_and_needs_no_sync_caller() -> None:
    ok = flat(1, processing_s=3600, payload_mb=1000, needs_sync_response=False)
    assert lab05.violations(ok, "async") == []
    too_long = flat(1, processing_s=3601, needs_sync_response=False)
    assert lab05.violations(too_long, "async") == ["processing 3601 s > 3600 s"]
    assert "caller needs the answer in the HTTP response" in lab05.violations(
        flat(1), "async"
    )


def test_async_scales_to_zero_and_bills_warmup_and_idle() -> None:
    rpm = np.zeros(1440)
    rpm[100] = 2  # two 60-second jobs at minute 100 on a 2-vCPU instance
    w = Workload("one-burst", rpm, 0.1, 60, 2, needs_sync_response=False)
    # one instance for the busy minute plus 15 idle minutes, plus 5 minutes of start-up
    cost = lab05.async_monthly(w, warmup_min=5, idle_min=15)
    assert cost == pytest.approx(21 / 60 * M5_LARGE * 30)


def test_batch_needs_a_dataset_and_is_sized_to_the_window() -> None:
    online = flat(10, needs_sync_response=False)
    assert any("transform job" in v for v in lab05.violations(online, "batch"))
    rpm = np.zeros(1440)
    rpm[0] = 36_000  # 36,000 records x 1 s on 2 vCPUs = 18,000 instance-seconds
    w = Workload("ds", rpm, 1, 1, 2, needs_sync_response=False, arrival="dataset",
                 window_hours=1)
    # ceil(18,000 s / (3,600 - 600) s) = 6 instances, each with 600 s of start-up
    cost = lab05.batch_monthly(w, startup_min=10)
    assert cost == pytest.approx((18_000 + 6 * 600) / 3600 * M5_LARGE * 30)


def test_break_even_by_hand() -> None:
    steady = make_workload("steady")
    # 0.08 s x 4 GB x 0.00002 + 2 x 0.01 / 1024 GB x 0.016 per request
    per_request = 0.08 * 4 * 0.00002 + 2 * 0.01 / 1024 * 0.016
    assert lab05.serverless_usd_per_request(steady) == pytest.approx(per_request)
    assert lab05.break_even_rpm(steady) == pytest.approx(0.115 / (60 * per_request))
    assert lab05.break_even_rpm(steady) == pytest.approx(285.54, abs=0.01)
    # at the break-even a flat load costs the same both ways
    w = flat(lab05.break_even_rpm(steady), payload_mb=0.01, processing_s=0.08, memory_gb=4)
    assert lab05.serverless_monthly(w) == pytest.approx(lab05.realtime_monthly(w))


def test_cold_starts_count_bursts_after_idle_gaps() -> None:
    rpm = np.zeros(1440)
    rpm[100:105] = 1  # after 100 idle minutes (and the day's tail): cold
    rpm[110] = 1  # 5 idle minutes: warm
    rpm[200] = 1  # 89 idle minutes: cold
    assert lab05.cold_starts_per_day(rpm, idle_min=15) == 2
    assert lab05.cold_starts_per_day(np.ones(1440)) == 0


def test_each_profile_has_its_textbook_winner() -> None:
    rows = lab05.compare([make_workload(p) for p in WORKLOAD_PROFILES])
    winners = {p: lab05.cheapest_feasible(rows, p)["option"] for p in WORKLOAD_PROFILES}
    assert winners == {
        "steady": "real-time",
        "spiky": "serverless",
        "rare-heavy": "async",
        "nightly-batch": "batch",
    }


def test_traces_are_reproducible_and_unknown_profiles_fail() -> None:
    assert np.array_equal(make_workload("spiky", 3).rpm, make_workload("spiky", 3).rpm)
    assert make_workload("nightly-batch").requests_per_day == pytest.approx(200_000)
    with pytest.raises(ValueError):
        make_workload("bursty")


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
    args = dict(start_minute=5, evaluation_periods=2)
    r = simulate_blue_green(canary(), np.full(n, 0.01), green, alarm_threshold=0.03, **args)
    assert r.observed_error[5] == pytest.approx(0.1 * 0.4 + 0.9 * 0.01)
    assert r.rolled_back_at == 7  # breaches at 5 and 6, alarm at 6, back to blue at 7
    assert r.green_share[7:].max() == 0
    # with a threshold above the blended canary rate, the fault is caught only at 100 %
    late = simulate_blue_green(canary(), np.full(n, 0.01), green, alarm_threshold=0.06,
                               **args)
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
    with pytest.raises(KeyError):
        simulate_blue_green({}, ok, ok, start_minute=0, alarm_threshold=0.5)
