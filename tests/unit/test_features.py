"""Lab 21's stand-ins (labkit.standins.features) and its #@save cells."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from botocore.exceptions import ParamValidationError

from labkit import lessons
from labkit.errors import LabKitError
from labkit.standins.features import FeatureStoreStandIn, customer_history


def record(cid, when, tickets):
    return [{"FeatureName": "customer_id", "ValueAsString": cid},
            {"FeatureName": "event_time", "ValueAsString": when},
            {"FeatureName": "tickets_30d", "ValueAsString": str(tickets)}]


def test_online_store_keeps_the_newest_event_time_offline_keeps_all():
    store = FeatureStoreStandIn("customer_id", "event_time")
    store.put_record(FeatureGroupName="g", Record=record("c1", "2026-06-08T00:00:00Z", 2))
    store.put_record(FeatureGroupName="g", Record=record("c1", "2026-06-01T00:00:00Z", 9))
    got = store.get_record(FeatureGroupName="g", RecordIdentifierValueAsString="c1")
    assert {f["FeatureName"]: f["ValueAsString"] for f in got["Record"]}["tickets_30d"] == "2"
    assert len(store.offline_frame()) == 2
    store.put_record(FeatureGroupName="g", Record=record("c1", "2026-06-15T00:00:00Z", 4))
    got = store.get_record(FeatureGroupName="g", RecordIdentifierValueAsString="c1",
                           FeatureNames=["tickets_30d"])
    assert got["Record"] == [{"FeatureName": "tickets_30d", "ValueAsString": "4"}]


def test_target_stores_and_unknown_ids():
    store = FeatureStoreStandIn("customer_id", "event_time")
    store.put_record(FeatureGroupName="g", Record=record("c2", "2026-06-01T00:00:00Z", 1),
                     TargetStores=["OfflineStore"])
    assert store.get_record(FeatureGroupName="g", RecordIdentifierValueAsString="c2") == {}
    assert len(store.offline) == 1


def test_requests_are_validated_against_the_api_model():
    store = FeatureStoreStandIn("customer_id", "event_time")
    with pytest.raises((ParamValidationError, LabKitError, ValueError)):
        store.put_record(FeatureGroupName="g", Records=[])  # wrong parameter name


def test_history_leaks_after_the_label_for_churners():
    features, labels = customer_history(customers=60, weeks=20, seed=1)
    assert len(features) == 60 * 20 and len(labels) == 60
    assert labels["label_time"].dt.dayofweek.nunique() == 1  # label 3 days into a week
    merged = features.merge(labels, on="customer_id")
    churners = merged[merged["churned"] == 1]
    before = churners[churners["event_time"] <= churners["label_time"]]["tickets_30d"]
    after = churners[churners["event_time"] > churners["label_time"] + pd.Timedelta(
        weeks=1)]["tickets_30d"]
    assert after.mean() - before.mean() > 4  # +6 a week on average after churning


def test_point_in_time_join_takes_the_newest_row_at_or_before():
    join = lessons.load("21-feature-engineering-and-feature-store").point_in_time_join
    t = pd.Timestamp
    labels = pd.DataFrame({"k": ["a", "a", "b"],
                           "at": [t("2026-01-10"), t("2026-01-03"), t("2026-01-05")]})
    features = pd.DataFrame({
        "k": ["a", "a", "a", "b"],
        "ts": [t("2026-01-01"), t("2026-01-05"), t("2026-01-11"), t("2026-01-05")],
        "v": [1, 2, 3, 7]})
    out = join(labels, features, "k", "at", "ts")
    # a@01-10 -> the 01-05 row (2), not the 01-11 one; a@01-03 -> 01-01 (1);
    # b@01-05 -> the row at exactly 01-05 (7)
    assert out["v"].tolist() == [2, 1, 7]


def test_as_record_and_pipeline_from_the_notebook():
    ns = lessons.load("21-feature-engineering-and-feature-store")
    row = pd.Series({"customer_id": "c1", "event_time": pd.Timestamp("2026-06-01"),
                     "tickets_30d": 3})
    assert ns.as_record(row)[1] == {"FeatureName": "event_time",
                                    "ValueAsString": "2026-06-01T00:00:00Z"}
    frame = pd.DataFrame({
        "age": [30, 40, np.nan, 50], "education_num": [9, 13, 10, 16],
        "capital_gain": [0, 0, 0, 5000], "capital_loss": [0, 0, 0, 0],
        "hours_per_week": [40, np.nan, 45, 60],
        "workclass": ["Private"] * 4, "marital_status": ["Never-married"] * 4,
        "occupation": ["Sales", None, "Sales", "Exec-managerial"],
        "relationship": ["Own-child"] * 4, "sex": ["Male", "Female", "Male", "Female"]})
    pipe = ns.make_pipeline().fit(frame, [0, 0, 1, 1])
    scaler = pipe.named_steps["prepare"].named_transformers_["num"]["scale"]
    # age: median of 30, 40, 50 fills the hole -> mean of 30, 40, 40, 50 = 40
    assert scaler.mean_[0] == pytest.approx(40.0)
    unseen = frame.iloc[[0]].assign(workclass="Never-seen")
    assert pipe.predict_proba(unseen).shape == (1, 2)  # handle_unknown="ignore"
