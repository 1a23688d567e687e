"""Stand-ins for lab 21 (feature engineering and a feature store).

- :class:`FeatureStoreStandIn` stands in for the SageMaker Feature Store *runtime*
  (``sagemaker-featurestore-runtime``: ``PutRecord``, ``GetRecord``), which moto 5.2.5 does
  not implement. Every request is first validated against the real API model
  (:func:`labkit.requests.validate_request`); then the documented semantics are applied: a
  record whose event time is newer than the stored one goes to the online *and* offline
  store, an older one only to the offline store (the history).
- :func:`customer_history` makes the lab's synthetic feature history and churn labels, with
  a feature that jumps *after* a customer churns (the leak a naive join picks up).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from labkit.requests import validate_request


class FeatureStoreStandIn:
    """An in-memory online store (latest record per id) and offline store (every record)."""

    def __init__(self, record_id: str, event_time: str) -> None:
        self.record_id = record_id
        self.event_time = event_time
        self.online: dict[str, dict[str, str]] = {}
        self.offline: list[dict[str, str]] = []

    def put_record(self, **request: Any) -> dict[str, Any]:
        """``PutRecord``: validate the request, then write online (if newer) and offline."""
        validate_request("sagemaker-featurestore-runtime", "PutRecord", request)
        record = {f["FeatureName"]: f["ValueAsString"] for f in request["Record"]}
        stores = request.get("TargetStores", ["OnlineStore", "OfflineStore"])
        key = record[self.record_id]
        current = self.online.get(key)
        newer = current is None or (pd.Timestamp(record[self.event_time])
                                    > pd.Timestamp(current[self.event_time]))
        if "OnlineStore" in stores and newer:
            self.online[key] = record
        if "OfflineStore" in stores:
            self.offline.append(record)
        return {"ResponseMetadata": {"HTTPStatusCode": 200}}

    def get_record(self, **request: Any) -> dict[str, Any]:
        """``GetRecord``: the online store's record for one identifier (or no ``Record``)."""
        validate_request("sagemaker-featurestore-runtime", "GetRecord", request)
        record = self.online.get(request["RecordIdentifierValueAsString"])
        if record is None:
            return {}
        wanted = request.get("FeatureNames") or list(record)
        return {"Record": [{"FeatureName": n, "ValueAsString": record[n]} for n in wanted]}

    def offline_frame(self) -> pd.DataFrame:
        """The offline store as a table (what an Athena query over it would return)."""
        return pd.DataFrame(self.offline)


def customer_history(customers: int = 400, weeks: int = 20,
                     seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Weekly feature snapshots per customer, and one churn label per customer.

    Returns ``(features, labels)``. ``features`` has ``customer_id``, ``event_time``,
    ``tickets_30d`` and ``spend_30d``; ``labels`` has ``customer_id``, ``label_time`` and
    ``churned``. Churners file many support tickets in the weeks *after* their label time
    (complaints while cancelling), so the newest snapshot leaks the label.
    """
    rng = np.random.default_rng(seed)
    start = pd.Timestamp("2026-06-01")
    label_week = rng.integers(8, 15, customers)
    propensity = rng.gamma(2.0, 1.0, customers)  # how often a customer needs support
    churned = rng.random(customers) < 1 / (1 + np.exp(-(0.5 * propensity - 2.2)))
    rows = []
    for c in range(customers):
        for w in range(weeks):
            after = w > label_week[c]
            tickets = rng.poisson(propensity[c] + (6.0 if churned[c] and after else 0.0))
            spend = max(0.0, rng.normal(80 - (50 if churned[c] and after else 0), 15))
            rows.append((f"c{c:04d}", start + pd.Timedelta(weeks=w), int(tickets),
                         round(spend, 2)))
    features = pd.DataFrame(rows, columns=["customer_id", "event_time", "tickets_30d",
                                           "spend_30d"])
    labels = pd.DataFrame({
        "customer_id": [f"c{c:04d}" for c in range(customers)],
        "label_time": [start + pd.Timedelta(weeks=int(w), days=3) for w in label_week],
        "churned": churned.astype(int),
    })
    return features, labels
