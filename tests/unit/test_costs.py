"""Lab 22's #@save cells: the rightsizing rule and CloudWatch's "M of N" alarm rule."""

from __future__ import annotations

import numpy as np

from labkit import lessons

LAB = "22-cost-and-infrastructure-monitoring"


def test_rightsize_picks_the_smallest_instance_under_target():
    ns = lessons.load(LAB)
    # 300 % CPU = 3 busy vCPUs; 10 % of 64 GiB = 6.4 GiB. At 60 %: 3 / 4 = 0.75 too much,
    # 3 / 8 = 0.375 fine, 6.4 / 32 = 0.2 fine -> ml.m5.2xlarge
    cpu, mem = np.full(100, 300.0), np.full(100, 10.0)
    name, busy, used = ns.rightsize(cpu, mem, "ml.m5.4xlarge")
    assert (name, busy, round(used, 2)) == ("ml.m5.2xlarge", 3.0, 6.4)


def test_rightsize_uses_the_95th_percentile_and_memory_can_bind():
    ns = lessons.load(LAB)
    cpu = np.array([50.0] * 95 + [1000.0] * 5)  # a short spike above p95
    name, busy, _ = ns.rightsize(cpu, np.full(100, 5.0), "ml.m5.4xlarge")
    assert busy < 1.0 and name == "ml.m5.large"  # 5 % of 64 GiB = 3.2 GiB <= 4.8
    name, _, used = ns.rightsize(cpu, np.full(100, 20.0), "ml.m5.4xlarge")
    assert round(used, 1) == 12.8 and name == "ml.m5.2xlarge"  # 12.8 / 16 > 0.6


def test_rightsize_keeps_the_current_size_when_nothing_fits():
    ns = lessons.load(LAB)
    name, _, _ = ns.rightsize(np.full(10, 1500.0), np.full(10, 90.0), "ml.m5.4xlarge")
    assert name == "ml.m5.4xlarge"


def test_alarm_states_three_of_five():
    states = lessons.load(LAB).alarm_states
    values = [0, 9, 9, 0, 9, 0, 0, 0]  # breaches at 1, 2, 4 (threshold 5)
    # i=4: window 0..4 holds 3 breaches -> ALARM; i=5: 1..5 -> 3 -> ALARM;
    # i=6: 2..6 -> 2 -> OK
    assert states(values, 5, 5, 3) == ["OK"] * 4 + ["ALARM", "ALARM"] + ["OK"] * 2


def test_alarm_states_missing_data_is_not_breaching_and_threshold_is_strict():
    states = lessons.load(LAB).alarm_states
    assert states([float("nan")] * 3, 5, 1, 1) == ["OK"] * 3
    assert states([5, 5.001], 5, 1, 1) == ["OK", "ALARM"]  # GreaterThanThreshold
