"""Lab 07: the scheduled-action reader (#@save) and the target-tracking stand-in.

The simulator traces below are worked by hand from the rules in its docstring (and the
AWS behaviour they model), not computed with the simulator's own helpers.
"""

import numpy as np
import pytest

from labkit import lessons
from labkit.standins.autoscaling import CapacityChange, promotion_trace, simulate

lab07 = lessons.load("07-endpoint-autoscaling")

FAST = dict(  # one-datapoint alarms and a one-minute start-up keep the traces short
    target_per_instance=100,
    instance_capacity_rpm=200,
    min_capacity=1,
    max_capacity=30,
    warmup_min=1,
    scale_out_datapoints=1,
    scale_in_datapoints=1,
)


def test_capacity_change_reads_the_request_that_was_sent():
    request = {
        "ScheduledActionName": "promo-warm-up",
        "Schedule": "at(2026-12-04T09:35:00)",
        "ScalableTargetAction": {"MinCapacity": 16},
    }
    assert lab07.capacity_change(request) == CapacityChange(575, 16, None)
    with pytest.raises(ValueError):
        lab07.capacity_change({**request, "Schedule": "cron(35 9 ? * FRI *)"})


def test_scale_in_waits_for_its_cooldown():
    # t0: 400 on 1 instance -> scale out to 4 (in service at t1)
    # t2: 250 on 4 (62.5 < 90) -> scale in to ceil(2.5) = 3; last scale-in at t2
    # t3..t6: 100 on 3 (33 < 90) wants 1, but (t - 2) * 60 < 300 s: blocked
    # t7: 300 s after t2 -> scale in to 1
    demand = [400, 400, 250, 100, 100, 100, 100, 100, 100]
    sim = simulate(np.array(demand, float), scale_in_cooldown_s=300, **FAST)
    assert sim.desired.tolist() == [4, 4, 3, 3, 3, 3, 3, 1, 1]
    assert sim.in_service.tolist() == [1, 4, 3, 3, 3, 3, 3, 1, 1]
    no_cooldown = simulate(np.array(demand, float), scale_in_cooldown_s=0, **FAST)
    assert no_cooldown.desired.tolist() == [4, 4, 3, 1, 1, 1, 1, 1, 1]


def test_no_scale_in_at_95_percent_of_target_but_at_85():
    # Min 20 holds 20 instances; at t1 the minimum drops to 1.
    # 1900/min on 20 = 95 per instance: above 90 % of 100, so no scale-in,
    # although ceil(1900 / 100) = 19 would be fewer instances.
    start = [CapacityChange(0, min_capacity=20), CapacityChange(1, min_capacity=1)]
    busy = simulate(np.full(20, 1900.0), scheduled=start, **{**FAST, "warmup_min": 0})
    assert busy.desired.tolist() == [20] * 20
    # 1700/min on 20 = 85 < 90: one datapoint is enough here -> ceil(17) at t1
    calm = simulate(np.full(20, 1700.0), scheduled=start, **{**FAST, "warmup_min": 0})
    assert calm.desired.tolist() == [20] + [17] * 19


def test_scale_out_needs_consecutive_datapoints_and_warm_up():
    # target 100, 3 datapoints, 8-minute start-up: 300/min from t0 on 1 instance
    demand = np.full(15, 300.0)
    sim = simulate(demand, **{**FAST, "scale_out_datapoints": 3, "warmup_min": 8})
    # breaching at t0, t1, t2 -> desired 3 at t2; in service at t2 + 8 = t10
    assert sim.desired.tolist() == [1, 1] + [3] * 13
    assert sim.in_service.tolist() == [1] * 10 + [3] * 5
    # overloaded while 1 instance (200/min) serves 300/min: t0..t9
    assert sim.overloaded_minutes == 10
    assert sim.dropped_requests == 10 * 100
    assert sim.instance_minutes == 2 * 1 + 13 * 3


def test_scheduled_minimum_raises_at_once_and_max_cancels_starting_instances():
    plan = [CapacityChange(2, min_capacity=5), CapacityChange(4, max_capacity=2)]
    sim = simulate(np.zeros(8), scheduled=plan, **{**FAST, "warmup_min": 3})
    # t2: desired 5 (4 starting, due t5); t4: max 2 cancels 3 of the starting ones
    assert sim.desired.tolist() == [1, 1, 5, 5, 2, 2, 2, 2]
    assert sim.in_service.tolist() == [1, 1, 1, 1, 1, 2, 2, 2]
    assert sim.min_capacity.tolist() == [1, 1, 5, 5, 5, 5, 5, 5]


def test_bad_settings_are_refused():
    with pytest.raises(ValueError):
        simulate(np.zeros(3), **{**FAST, "target_per_instance": 300})
    with pytest.raises(ValueError):
        simulate(np.zeros(3), **{**FAST, "min_capacity": 0})


def test_promotion_trace_shape():
    quiet = promotion_trace(promo_rpm=0, seed=1)
    busy = promotion_trace(promo_start=600, promo_rpm=3200, seed=1)
    assert busy.shape == quiet.shape == (1440,)
    # the daily curve 400 x (1 - 0.5 cos(...)) averages 400 over a day
    assert quiet.mean() == pytest.approx(400, rel=0.01)
    # lowest at minute 240 (200), highest at minute 960 (600)
    assert quiet[230:250].mean() == pytest.approx(200, rel=0.05)
    assert quiet[950:970].mean() == pytest.approx(600, rel=0.05)
    # the promotion adds 3,200 from its third minute until 30 minutes before its end
    extra = busy[602:690] - quiet[602:690]
    assert extra.mean() == pytest.approx(3200, rel=0.02)
    assert busy[599] - quiet[599] == pytest.approx(0, abs=120)
    assert np.abs(busy[721:] - quiet[721:]).max() < 120  # noise only after the end
