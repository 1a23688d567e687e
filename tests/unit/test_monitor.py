"""Unit tests of labkit.monitor: capture format, statistics/constraints, checks, NDCG."""

from __future__ import annotations

import base64
import json
from datetime import datetime, timezone

import numpy as np
import pandas as pd
import pytest
from scipy.stats import ks_2samp
from sklearn.metrics import ndcg_score

from labkit import LabKitError, monitor

WHEN = datetime(2026, 11, 2, 13, 45, 7, tzinfo=timezone.utc)


def frame(n: int = 400, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({
        "age": rng.integers(18, 70, n),
        "income": rng.normal(50.0, 10.0, n).round(3),
        "colour": rng.choice(["red", "green", "blue"], n, p=[0.5, 0.3, 0.2]),
    })


# ---------------------------------------------------------------------------------- capture
def test_capture_record_has_the_documented_fields():
    rec = monitor.capture_record("1,2,3", "0.25", event_id="e1", inference_time=WHEN,
                                 inference_id="i1")
    inp, out = rec["captureData"]["endpointInput"], rec["captureData"]["endpointOutput"]
    assert inp == {"observedContentType": "text/csv", "mode": "INPUT", "data": "1,2,3",
                   "encoding": "CSV"}
    assert out["mode"] == "OUTPUT" and out["data"] == "0.25"
    assert rec["eventMetadata"] == {"eventId": "e1", "inferenceTime": "2026-11-02T13:45:07Z",
                                    "inferenceId": "i1"}
    assert rec["eventVersion"] == "0"


def test_ground_truth_record():
    rec = monitor.ground_truth_record(1, event_id="e9")
    assert rec == {"groundTruthData": {"data": "1", "encoding": "CSV"},
                   "eventMetadata": {"eventId": "e9"}, "eventVersion": "0"}


def test_base64_capture_round_trips():
    rec = monitor.capture_record("a,b", "0.5", event_id="e", inference_time=WHEN,
                                 encoding="BASE64")
    assert base64.b64decode(rec["captureData"]["endpointInput"]["data"]) == b"a,b"
    back = monitor.read_capture([json.dumps(rec)], ["x", "y"])
    assert back.loc[0, "x"] == "a" and back.loc[0, "_score"] == 0.5


def test_bad_encoding_is_refused():
    with pytest.raises(LabKitError):
        monitor.capture_record("1", "1", event_id="e", inference_time=WHEN, encoding="XML")


def test_capture_key_is_grouped_by_hour():
    key = monitor.capture_key("/capture/", "ep", "AllTraffic", WHEN, "f1")
    assert key == "capture/ep/AllTraffic/2026/11/02/13/f1.jsonl"


def test_read_capture_parses_numbers_and_blanks():
    lines = monitor.to_jsonl([
        monitor.capture_record("39,red", "0.1", event_id="a", inference_time=WHEN),
        monitor.capture_record(",blue", "0.9", event_id="b", inference_time=WHEN),
    ]).splitlines()
    df = monitor.read_capture(lines, ["age", "colour"])
    assert df["age"].iloc[0] == 39 and np.isnan(df["age"].iloc[1])
    assert list(df["colour"]) == ["red", "blue"]
    assert list(df["_event_id"]) == ["a", "b"]
    with pytest.raises(LabKitError):
        monitor.read_capture(lines, ["age"])  # wrong number of columns
    with pytest.raises(LabKitError):
        monitor.read_capture(["{not json"], ["age"])


# ---------------------------------------------------------------------------------- types, stats
@pytest.mark.parametrize("value, kind", [
    (3, "Integral"), (3.0, "Integral"), (3.5, "Fractional"), ("7", "Integral"),
    ("7.25", "Fractional"), ("seven", "String"), (True, "String"),
])
def test_value_type(value, kind):
    assert monitor.value_type(value) == kind


def test_statistics_shapes_and_numbers():
    df = frame()
    stats = monitor.dataset_statistics(df)
    assert stats["dataset"]["item_count"] == 400
    by_name = {f["name"]: f for f in stats["features"]}
    assert by_name["age"]["inferred_type"] == "Integral"
    assert by_name["income"]["inferred_type"] == "Fractional"
    assert by_name["colour"]["inferred_type"] == "String"
    num = by_name["income"]["numerical_statistics"]
    assert num["mean"] == pytest.approx(df["income"].mean())
    assert num["sum"] == pytest.approx(df["income"].sum())
    buckets = num["distribution"]["kll"]["buckets"]
    assert len(buckets) == 10 and sum(b["count"] for b in buckets) == 400
    cats = by_name["colour"]["string_statistics"]["distribution"]["categorical"]["buckets"]
    assert {b["value"]: b["count"] for b in cats} == df["colour"].value_counts().to_dict()
    with pytest.raises(LabKitError):
        monitor.dataset_statistics(df.iloc[:0])


def test_constraints_completeness_domains_and_config():
    df = frame()
    df.loc[:39, "income"] = np.nan
    cons = monitor.suggest_constraints(monitor.dataset_statistics(df))
    by_name = {f["name"]: f for f in cons["features"]}
    assert by_name["income"]["completeness"] == pytest.approx(0.9)
    assert by_name["age"]["num_constraints"]["is_non_negative"] is True
    assert by_name["colour"]["string_constraints"]["domains"] == ["blue", "green", "red"]
    dist = cons["monitoring_config"]["distribution_constraints"]
    assert dist["comparison_threshold"] == 0.1 and dist["comparison_method"] == "Simple"
    with pytest.raises(LabKitError):
        monitor.suggest_constraints(monitor.dataset_statistics(df), comparison_method="KS")


# ---------------------------------------------------------------------------------- distances
def test_cdf_distance_is_the_two_sample_ks_statistic():
    rng = np.random.default_rng(1)
    a, b = rng.normal(0, 1, 300), rng.normal(0.4, 1, 200)
    assert monitor.linf_cdf_distance(a, b) == pytest.approx(ks_2samp(a, b).statistic)
    ints_a, ints_b = rng.integers(0, 5, 100), rng.integers(1, 6, 80)  # ties
    assert monitor.linf_cdf_distance(ints_a, ints_b) == pytest.approx(
        ks_2samp(ints_a, ints_b).statistic)


def test_categorical_distance_by_hand():
    assert monitor.linf_categorical_distance({"a": 5, "b": 5}, {"a": 9, "c": 1}) == (
        pytest.approx(0.5))  # b: 0.5 vs 0.0


def test_robust_distance_subtracts_the_critical_value():
    assert monitor.robust(0.3, 100, 100) == pytest.approx(0.3 - 1.8 * (200 / 10000) ** 0.5)
    assert monitor.robust(0.05, 100, 100) == 0.0


# ---------------------------------------------------------------------------------- checks
def checks(df_live, df_base=None, **kw):
    stats = monitor.dataset_statistics(frame() if df_base is None else df_base)
    cons = monitor.suggest_constraints(stats, **kw)
    result = monitor.check_constraints(df_live, stats, cons)
    return {(v["feature_name"], v["constraint_check_type"]) for v in result["violations"]}


def test_same_distribution_has_no_violation():
    assert checks(frame(300, seed=7)) == set()


def test_shifted_feature_is_flagged_and_only_it():
    live = frame(300, seed=7)
    live["income"] = live["income"] + 8.0
    assert checks(live) == {("income", "baseline_drift_check")}


def test_category_share_shift_unknown_values_types_and_completeness():
    live = frame(300, seed=7)
    live.loc[:99, "colour"] = "purple"          # a third unknown: domain and drift
    live["age"] = live["age"].astype(str)
    live.loc[:59, "age"] = "unknown"            # 20 % strings in an Integral column
    live.loc[:9, "income"] = np.nan             # completeness 1.0 -> 0.967
    found = checks(live)
    assert ("colour", "categorical_values_check") in found
    assert ("colour", "baseline_drift_check") in found
    assert ("age", "data_type_check") in found
    assert ("income", "completeness_check") in found


def test_missing_and_extra_columns():
    live = frame(300, seed=7).drop(columns=["colour"]).assign(extra=1)
    found = checks(live)
    assert ("colour", "missing_column_check") in found
    assert ("extra", "extra_column_check") in found


def test_robust_method_forgives_small_samples():
    live = frame(20, seed=3)
    live["income"] = live["income"] + 3.0
    assert ("income", "baseline_drift_check") in checks(live)
    assert ("income", "baseline_drift_check") not in checks(live, comparison_method="Robust")


def test_metric_data_names():
    data = monitor.drift_metric_data({"age": 0.5}, endpoint="ep", schedule="s", when=WHEN)
    assert data[0]["MetricName"] == "feature_baseline_drift_age"
    assert {d["Name"] for d in data[0]["Dimensions"]} == {"Endpoint", "MonitoringSchedule"}


# ---------------------------------------------------------------------------------- NDCG
def test_ndcg_reproduces_the_documented_college_example():
    baseline = {"SAT": 0.70, "GPA": 0.50, "rank": 0.05}
    live = {"SAT": 0.10, "GPA": 0.20, "rank": 0.70}
    score = monitor.ndcg(baseline, live)
    assert score == pytest.approx(0.6876, abs=5e-5)
    assert score == pytest.approx(ndcg_score([[0.70, 0.50, 0.05]], [[0.10, 0.20, 0.70]]))
    found = monitor.attribution_violations(baseline, live)["violations"]
    assert found[0]["constraint_check_type"] == "feature_attribution_drift_check"


def test_ndcg_matches_sklearn_on_random_attributions():
    rng = np.random.default_rng(5)
    for _ in range(20):
        b, l = rng.random(8), rng.random(8)
        names = [f"f{i}" for i in range(8)]
        ours = monitor.ndcg(dict(zip(names, b)), dict(zip(names, l)))
        assert ours == pytest.approx(ndcg_score([b], [l]))


def test_same_ranking_scores_one_and_logs_nothing():
    base = {"a": 3.0, "b": 2.0, "c": 1.0}
    assert monitor.ndcg(base, {"a": 30.0, "b": 0.2, "c": 0.1}) == pytest.approx(1.0)
    assert monitor.attribution_violations(base, base)["violations"] == []
    series = pd.Series(base)
    assert monitor.ndcg(series, series[::-1] * 2) == pytest.approx(1.0)  # by name


def test_ndcg_errors():
    with pytest.raises(LabKitError):
        monitor.ndcg({"a": 1.0}, {"b": 1.0})
    with pytest.raises(LabKitError):
        monitor.ndcg({"a": -1.0}, {"a": 1.0})
    with pytest.raises(LabKitError):
        monitor.ndcg({"a": 0.0}, {"a": 1.0})


def test_explainability_baseline_shape():
    doc = monitor.explainability_baseline({"a": 1}, 0.5)
    assert doc["explanations"]["kernel_shap"]["label0"]["global_shap_values"] == {"a": 1.0}
