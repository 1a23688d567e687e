"""Labs 12a/12b's lesson (#@save cells): capture format, baseline files, the L-infinity
drift distance, constraint violations, model quality, NDCG; and the Evidently loader.

Independent references: scipy's two-sample KS statistic, scikit-learn's ndcg_score, AWS's
documented NDCG example (0.6876) and hand-worked numbers.
"""

import json
from datetime import datetime, timezone

import numpy as np
import pandas as pd
import pytest
from scipy.stats import ks_2samp
from sklearn.metrics import ndcg_score

from labkit import lessons


@pytest.fixture(scope="module")
def a():
    return lessons.load("12a-model-monitor-data-quality")


@pytest.fixture(scope="module")
def b():
    return lessons.load("12b-model-monitor-model-quality")


WHEN = datetime(2026, 11, 2, 13, 45, 9, tzinfo=timezone.utc)


def frame(n=400, seed=0):
    rng = np.random.default_rng(seed)
    return pd.DataFrame({
        "age": rng.integers(18, 80, n),
        "income": rng.normal(50.0, 10.0, n),
        "colour": rng.choice(["red", "green", "blue"], n, p=[0.5, 0.3, 0.2]),
    })


def test_capture_record_has_the_documented_fields_and_reads_back(a):
    rec = a.capture_record("39,State-gov", "0.25", "e-1", WHEN)
    assert rec["eventMetadata"] == {"eventId": "e-1", "inferenceTime": "2026-11-02T13:45:09Z"}
    assert rec["captureData"]["endpointInput"]["mode"] == "INPUT"
    assert rec["captureData"]["endpointOutput"]["encoding"] == "CSV"
    assert rec["eventVersion"] == "0"
    table = a.read_capture([json.dumps(rec)], ["age", "workclass"])
    assert table.loc[0, "age"] == 39 and table.loc[0, "workclass"] == "State-gov"
    assert table.loc[0, "_score"] == 0.25 and table.loc[0, "_event_id"] == "e-1"


def test_capture_key_is_grouped_by_utc_hour(a):
    assert a.capture_key("dc", "ep", "AllTraffic", WHEN, "x") == (
        "dc/ep/AllTraffic/2026/11/02/13/x.jsonl")


def test_statistics_and_constraints(a):
    df = frame()
    df.loc[:39, "income"] = np.nan  # 10 % missing
    stats = a.dataset_statistics(df)
    age, income, colour = stats["features"]
    assert stats["dataset"]["item_count"] == 400
    assert age["inferred_type"] == "Integral" and income["inferred_type"] == "Fractional"
    assert income["numerical_statistics"]["common"] == {"num_present": 360, "num_missing": 40}
    assert income["numerical_statistics"]["mean"] == pytest.approx(df["income"].mean())
    buckets = age["numerical_statistics"]["distribution"]["kll"]["buckets"]
    assert len(buckets) == 10 and sum(x["count"] for x in buckets) == 400
    assert colour["string_statistics"]["distinct_count"] == 3
    cons = a.suggest_constraints(stats)
    assert cons["features"][1]["completeness"] == pytest.approx(0.9)
    assert cons["features"][2]["string_constraints"]["domains"] == ["blue", "green", "red"]
    assert cons["features"][0]["num_constraints"] == {"is_non_negative": True}


def test_numeric_distance_is_the_two_sample_ks_statistic(a):
    rng = np.random.default_rng(1)
    x, y = rng.normal(0, 1, 300), rng.normal(0.4, 1, 200)
    assert a.linf_numeric(x, y) == pytest.approx(ks_2samp(x, y).statistic)
    ints_x, ints_y = rng.integers(0, 5, 100), rng.integers(1, 6, 80)  # ties
    assert a.linf_numeric(ints_x, ints_y) == pytest.approx(ks_2samp(ints_x, ints_y).statistic)
    # by hand: CDFs of [1, 2] and [2, 3] differ by 0.5 at 1 and at 2
    assert a.linf_numeric([1, 2], [2, 3]) == pytest.approx(0.5)


def test_categorical_distance_and_robust_by_hand(a):
    assert a.linf_categorical({"a": 5, "b": 5}, {"a": 9, "c": 1}) == pytest.approx(0.5)
    assert a.linf_categorical({"a": 1}, {"a": 3}) == 0.0
    assert a.robust(0.3, 100, 100) == pytest.approx(0.3 - 1.8 * (200 / 10000) ** 0.5)
    assert a.robust(0.05, 100, 100) == 0.0


def found(a, live, base=None, **kw):
    stats = a.dataset_statistics(frame() if base is None else base)
    report = a.check_constraints(live, stats, a.suggest_constraints(stats, **kw))
    return {(v["feature_name"], v["constraint_check_type"]) for v in report["violations"]}


def test_same_distribution_has_no_violation(a):
    assert found(a, frame(300, seed=7)) == set()


def test_shifted_feature_is_flagged_and_only_it(a):
    live = frame(300, seed=7)
    live["income"] = live["income"] + 8.0
    assert found(a, live) == {("income", "baseline_drift_check")}


def test_unknown_values_and_completeness(a):
    live = frame(300, seed=7)
    live.loc[:99, "colour"] = "purple"  # a third unknown: domain and drift
    live.loc[:9, "income"] = np.nan      # completeness 1.0 -> 0.967
    assert found(a, live) == {("colour", "categorical_values_check"),
                              ("colour", "baseline_drift_check"),
                              ("income", "completeness_check")}


def test_threshold_is_strict_and_robust_forgives_small_samples(a):
    live = frame(20, seed=3)
    live["income"] = live["income"] + 3.0
    assert ("income", "baseline_drift_check") in found(a, live)
    assert ("income", "baseline_drift_check") not in found(a, live, method="Robust")
    assert ("income", "baseline_drift_check") not in found(a, live, threshold=1.0)


def test_ndcg_reproduces_the_documented_example_and_sklearn(b):
    baseline = {"SAT": 0.70, "GPA": 0.50, "rank": 0.05}
    live = {"SAT": 0.10, "GPA": 0.20, "rank": 0.70}
    assert b.ndcg(baseline, live) == pytest.approx(0.6876, abs=5e-5)
    rng = np.random.default_rng(5)
    for _ in range(20):
        x, y = rng.random(8), rng.random(8)
        names = [f"f{i}" for i in range(8)]
        assert b.ndcg(dict(zip(names, x)), dict(zip(names, y))) == pytest.approx(
            ndcg_score([x], [y]))
    assert b.ndcg(pd.Series(baseline), pd.Series(baseline)) == 1.0


def test_attribution_violations_at_the_threshold(b):
    base = {"a": 3.0, "b": 2.0, "c": 1.0}
    assert b.attribution_violations(base, base)["violations"] == []
    swapped = {"a": 1.0, "b": 2.0, "c": 3.0}  # NDCG = (1 + 2/log2 3 + 3/2) / (3 + ...)
    expected = (1 + 2 / np.log2(3) + 3 / 2) / (3 + 2 / np.log2(3) + 1 / 2)
    assert b.ndcg(base, swapped) == pytest.approx(expected)
    [v] = b.attribution_violations(base, swapped)["violations"]
    assert v["constraint_check_type"] == "feature_attribution_drift_check"


def test_model_quality_violations(b):
    cons = {"binary_classification_constraints": {
        "auc": {"threshold": 0.88, "comparison_operator": "LessThanThreshold"},
        "accuracy": {"threshold": 0.83, "comparison_operator": "LessThanThreshold"}}}
    assert b.model_quality_violations({"auc": 0.88, "accuracy": 0.9}, cons) == {
        "violations": []}  # equal to the threshold is not less than it
    [v] = b.model_quality_violations({"auc": 0.87, "accuracy": 0.9}, cons)["violations"]
    assert (v["metric_name"], v["constraint_check_type"]) == ("auc", "LessThanThreshold")
    record = b.ground_truth_record(1, "e-1")
    assert record["groundTruthData"] == {"data": "1", "encoding": "CSV"}
    assert record["eventMetadata"] == {"eventId": "e-1"}


def test_evidently_loads_on_this_pandas():
    from labkit.standins.monitor import load_evidently

    evidently = load_evidently()
    assert hasattr(evidently, "Report")
