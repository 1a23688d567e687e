"""What SageMaker Model Monitor reads and writes, written out so a lab can compute it.

Model Monitor's managed jobs run AWS-owned containers that cannot be pulled offline, so the
course computes the same kinds of files itself, in the shapes AWS documents:

* **Data Capture** — :func:`capture_record` builds one line of a capture file
  (``captureData.endpointInput`` / ``endpointOutput`` with ``observedContentType``, ``mode``,
  ``data`` and ``encoding``, plus ``eventMetadata`` and ``eventVersion``);
  :func:`capture_key` is the S3 key layout (endpoint / variant / yyyy/mm/dd/hh);
  :func:`read_capture` turns capture lines back into a data frame, and
  :func:`ground_truth_record` is a label record a model quality monitor merges by event id.
* **Data quality baseline** — :func:`dataset_statistics` writes a ``statistics.json``
  subset (item count; per feature: inferred type, present / missing counts, mean, sum,
  standard deviation, min, max, 10 histogram buckets and a one-level quantile "sketch"
  for numbers; distinct count and value counts for strings) and
  :func:`suggest_constraints` the matching ``constraints.json`` (inferred type,
  completeness, ``is_non_negative``, string domains, ``monitoring_config``).
* **Checking** — :func:`check_constraints` writes ``constraint_violations.json`` with the
  documented check types, and :func:`drift_distances` gives each feature's distance to the
  baseline: the L-infinity distance between distributions (the largest gap between the two
  cumulative distributions for numbers, between category shares for strings), "Simple" or
  "Robust" as in Deequ, the library the Model Monitor container is built on.
* **Feature attribution drift** — :func:`ndcg` is the NDCG score of the live attribution
  ranking with the baseline attributions as gains, and :func:`attribution_violations`
  the violations file a ``ModelExplainabilityMonitor`` execution writes when it is < 0.9.
"""

from __future__ import annotations

import base64
import json
import math
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timezone
from typing import Any

import numpy as np
import pandas as pd

from labkit.errors import LabKitError

CAPTURE_EVENT_VERSION = "0"
"""The ``eventVersion`` field of every capture record."""

ATTRIBUTION_DRIFT_THRESHOLD = 0.9
"""A feature attribution drift violation is logged when NDCG is below this value."""

ROBUST_C_ALPHA = 1.8
"""Deequ's default c(alpha) for the "Robust" distance (an alpha of about 0.003)."""

NUMERIC_TYPES = ("Integral", "Fractional")


# ---------------------------------------------------------------------------------- capture
def capture_record(
    input_data: str,
    output_data: str,
    *,
    event_id: str,
    inference_time: datetime,
    inference_id: str | None = None,
    input_content_type: str = "text/csv",
    output_content_type: str = "text/csv; charset=utf-8",
    encoding: str = "CSV",
) -> dict[str, Any]:
    """One Data Capture record: what an endpoint writes for one sampled request.

    ``encoding`` is ``"CSV"`` or ``"JSON"`` for content types the endpoint configuration
    lists as CSV / JSON, and ``"BASE64"`` for anything else (then ``data`` is base64 text).
    """
    if encoding not in ("CSV", "JSON", "BASE64"):
        raise LabKitError(
            f"encoding={encoding!r} is not one Data Capture writes.",
            "use 'CSV', 'JSON' or 'BASE64'.",
        )

    def payload(text: str) -> str:
        if encoding == "BASE64":
            return base64.b64encode(text.encode("utf-8")).decode("ascii")
        return text

    when = inference_time.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    metadata: dict[str, Any] = {"eventId": event_id, "inferenceTime": when}
    if inference_id is not None:
        metadata["inferenceId"] = inference_id
    return {
        "captureData": {
            "endpointInput": {
                "observedContentType": input_content_type,
                "mode": "INPUT",
                "data": payload(input_data),
                "encoding": encoding,
            },
            "endpointOutput": {
                "observedContentType": output_content_type,
                "mode": "OUTPUT",
                "data": payload(output_data),
                "encoding": encoding,
            },
        },
        "eventMetadata": metadata,
        "eventVersion": CAPTURE_EVENT_VERSION,
    }


def ground_truth_record(label: Any, *, event_id: str) -> dict[str, Any]:
    """One ground-truth record for a model quality monitor.

    Model Monitor merges it with the capture record whose ``eventId`` (or ``inferenceId``)
    matches; files go under ``yyyy/mm/dd/hh/`` of the hour the label became known.
    """
    return {
        "groundTruthData": {"data": str(label), "encoding": "CSV"},
        "eventMetadata": {"eventId": event_id},
        "eventVersion": CAPTURE_EVENT_VERSION,
    }


def capture_key(
    prefix: str, endpoint: str, variant: str, when: datetime, file_id: str
) -> str:
    """The S3 key of a capture file: ``prefix/endpoint/variant/yyyy/mm/dd/hh/<id>.jsonl``.

    Capture files are grouped by the hour (UTC) the requests were served in; a monitoring
    execution reads the hour folders of its analysis window.
    """
    hour = when.astimezone(timezone.utc).strftime("%Y/%m/%d/%H")
    return f"{prefix.strip('/')}/{endpoint}/{variant}/{hour}/{file_id}.jsonl"


def to_jsonl(records: Iterable[Mapping[str, Any]]) -> str:
    """Records as JSON Lines: one compact JSON object per line."""
    return "".join(json.dumps(r, separators=(",", ":")) + "\n" for r in records)


def _decoded(part: Mapping[str, Any]) -> str:
    data = str(part.get("data", ""))
    if part.get("encoding") == "BASE64":
        return base64.b64decode(data).decode("utf-8")
    return data


def read_capture(lines: Iterable[str], columns: Sequence[str]) -> pd.DataFrame:
    """Capture lines back to a table: one row per request, ``columns`` from the CSV input.

    Adds ``_score`` (the endpoint's output, as a number), ``_event_id`` and
    ``_inference_time``. Empty CSV fields become missing values (NaN).
    """
    rows: list[list[Any]] = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
            capture = record["captureData"]
            fields = _decoded(capture["endpointInput"]).split(",")
            score = float(_decoded(capture["endpointOutput"]))
            meta = record["eventMetadata"]
        except (ValueError, KeyError, TypeError) as exc:
            raise LabKitError(
                f"Line {number} is not a Data Capture record with CSV input: {exc}.",
                "pass the lines of a capture file (captureData.endpointInput/Output).",
            ) from exc
        if len(fields) != len(columns):
            raise LabKitError(
                f"Line {number} has {len(fields)} CSV fields but {len(columns)} column "
                "names were given.",
                "pass the feature names in the order the endpoint receives them.",
            )
        rows.append([*fields, score, meta["eventId"], meta["inferenceTime"]])
    frame = pd.DataFrame(
        rows, columns=[*columns, "_score", "_event_id", "_inference_time"], dtype=object
    )
    for col in columns:
        frame[col] = frame[col].replace("", np.nan)
        numbers = pd.to_numeric(frame[col], errors="coerce")
        present = frame[col].notna()
        if present.any() and numbers[present].notna().all():
            frame[col] = numbers
    frame["_score"] = frame["_score"].astype(float)
    return frame


# ---------------------------------------------------------------------------------- types
def value_type(value: Any) -> str:
    """The type Model Monitor would infer for one value: Integral, Fractional or String."""
    if isinstance(value, (bool, np.bool_)):
        return "String"
    if isinstance(value, (int, np.integer)):
        return "Integral"
    if isinstance(value, (float, np.floating)):
        return "Integral" if float(value).is_integer() else "Fractional"
    text = str(value).strip()
    try:
        int(text)
        return "Integral"
    except ValueError:
        pass
    try:
        float(text)
        return "Fractional"
    except ValueError:
        return "String"


def infer_type(values: pd.Series) -> str:
    """The column type: Integral if every present value is, Fractional if all are numbers,
    String otherwise, Unknown for a column with no values."""
    present = values.dropna()
    if present.empty:
        return "Unknown"
    kinds = {value_type(v) for v in present}
    if kinds == {"Integral"}:
        return "Integral"
    if kinds <= set(NUMERIC_TYPES):
        return "Fractional"
    return "String"


def _matches(kind: str, expected: str) -> bool:
    return kind == expected or (expected == "Fractional" and kind == "Integral")


# ---------------------------------------------------------------------------------- statistics
def _feature_columns(df: pd.DataFrame) -> list[str]:
    return [c for c in df.columns if not str(c).startswith("_")]


def dataset_statistics(
    df: pd.DataFrame, *, buckets: int = 10, sketch_size: int = 256
) -> dict[str, Any]:
    """A ``statistics.json`` for ``df`` (columns starting with ``_`` are left out).

    Numbers get ``numerical_statistics`` with ``buckets`` equal-width histogram buckets
    between min and max (Model Monitor always materialises 10) and, under
    ``distribution.kll.sketch.data``, ``sketch_size`` quantiles of the column: a one-level
    stand-in for the KLL sketch the real container writes, enough to rebuild the
    cumulative distribution. Strings get ``string_statistics`` with value counts.
    """
    if df.empty:
        raise LabKitError(
            "The data set has no rows, so there is nothing to baseline.",
            "pass the training data (or a representative sample of it).",
        )
    features: list[dict[str, Any]] = []
    for col in _feature_columns(df):
        values = df[col]
        kind = infer_type(values)
        present = values.dropna()
        common = {"num_present": len(present), "num_missing": int(values.isna().sum())}
        entry: dict[str, Any] = {"name": str(col), "inferred_type": kind}
        if kind in NUMERIC_TYPES:
            x = present.astype(float).to_numpy()
            edges = np.linspace(x.min(), x.max(), buckets + 1)
            counts, _ = np.histogram(x, bins=edges)
            probs = (np.arange(sketch_size) + 0.5) / sketch_size
            entry["numerical_statistics"] = {
                "common": common,
                "mean": float(x.mean()),
                "sum": float(x.sum()),
                "std_dev": float(x.std()),
                "min": float(x.min()),
                "max": float(x.max()),
                "distribution": {
                    "kll": {
                        "buckets": [
                            {
                                "lower_bound": float(lo),
                                "upper_bound": float(hi),
                                "count": float(n),
                            }
                            for lo, hi, n in zip(edges[:-1], edges[1:], counts)
                        ],
                        "sketch": {
                            "parameters": {"c": 1.0, "k": float(sketch_size)},
                            "data": [np.quantile(x, probs, method="inverted_cdf").tolist()],
                        },
                    }
                },
            }
        else:
            counts_s = present.astype(str).value_counts()
            entry["string_statistics"] = {
                "common": common,
                "distinct_count": float(len(counts_s)),
                "distribution": {
                    "categorical": {
                        "buckets": [
                            {"value": str(v), "count": float(n)} for v, n in counts_s.items()
                        ]
                    }
                },
            }
        features.append(entry)
    return {"version": 0, "dataset": {"item_count": len(df)}, "features": features}


def suggest_constraints(
    statistics: Mapping[str, Any],
    *,
    comparison_threshold: float = 0.1,
    comparison_method: str = "Simple",
    categorical_comparison_threshold: float = 0.1,
    max_domain_size: int = 50,
) -> dict[str, Any]:
    """The ``constraints.json`` a baselining job would suggest from ``statistics``.

    Completeness is the baseline's share of present values; numbers get
    ``is_non_negative`` (true when the minimum is ≥ 0); strings with at most
    ``max_domain_size`` values get their value set as ``domains``.
    """
    if comparison_method not in ("Simple", "Robust"):
        raise LabKitError(
            f"comparison_method={comparison_method!r} is not a Model Monitor method.",
            "use 'Simple' (the plain distance) or 'Robust' (corrected for small samples).",
        )
    features: list[dict[str, Any]] = []
    for feat in _features(statistics):
        stats = feat.get("numerical_statistics") or feat.get("string_statistics") or {}
        common = stats.get("common", {})
        present, missing = common.get("num_present", 0), common.get("num_missing", 0)
        entry: dict[str, Any] = {
            "name": feat["name"],
            "inferred_type": feat["inferred_type"],
            "completeness": present / (present + missing) if present + missing else 0.0,
        }
        if "numerical_statistics" in feat:
            entry["num_constraints"] = {"is_non_negative": stats["min"] >= 0}
        else:
            values = [b["value"] for b in stats["distribution"]["categorical"]["buckets"]]
            if len(values) <= max_domain_size:
                entry["string_constraints"] = {"domains": sorted(values)}
        features.append(entry)
    return {
        "version": 0,
        "features": features,
        "monitoring_config": {
            "evaluate_constraints": "Enabled",
            "emit_metrics": "Enabled",
            "datatype_check_threshold": 0.1,
            "domain_content_threshold": 0.1,
            "distribution_constraints": {
                "perform_comparison": "Enabled",
                "comparison_threshold": comparison_threshold,
                "comparison_method": comparison_method,
                "categorical_comparison_threshold": categorical_comparison_threshold,
                "categorical_drift_method": "LInfinity",
            },
        },
    }


def _features(doc: Mapping[str, Any]) -> list[dict[str, Any]]:
    try:
        return list(doc["features"])
    except (KeyError, TypeError) as exc:
        raise LabKitError(
            "This is not a statistics.json / constraints.json document: it has no "
            "'features' list.",
            "pass the dictionary dataset_statistics() or suggest_constraints() returned.",
        ) from exc


# ---------------------------------------------------------------------------------- distances
def linf_cdf_distance(baseline_points: Sequence[float], live: Sequence[float]) -> float:
    """Largest gap between two empirical cumulative distributions (the two-sample KS
    statistic), evaluated at every point of either sample."""
    a = np.sort(np.asarray(baseline_points, dtype=float))
    b = np.sort(np.asarray(live, dtype=float))
    if a.size == 0 or b.size == 0:
        raise LabKitError(
            "A distribution distance needs values on both sides; one side is empty.",
            "check that the feature has present (non-missing) values in both data sets.",
        )
    grid = np.union1d(a, b)
    cdf_a = np.searchsorted(a, grid, side="right") / a.size
    cdf_b = np.searchsorted(b, grid, side="right") / b.size
    return float(np.max(np.abs(cdf_a - cdf_b)))


def linf_categorical_distance(
    baseline_counts: Mapping[str, float], live_counts: Mapping[str, float]
) -> float:
    """Largest absolute difference between the share of any value in the two data sets."""
    n, m = float(sum(baseline_counts.values())), float(sum(live_counts.values()))
    if n == 0 or m == 0:
        raise LabKitError(
            "A categorical distance needs values on both sides; one side is empty.",
            "check that the feature has present (non-missing) values in both data sets.",
        )
    keys = set(baseline_counts) | set(live_counts)
    return float(
        max(abs(baseline_counts.get(k, 0) / n - live_counts.get(k, 0) / m) for k in keys)
    )


def robust(distance: float, n: float, m: float, c_alpha: float = ROBUST_C_ALPHA) -> float:
    """Deequ's "Robust" distance: the simple one minus the KS critical value
    c(α)·√((n+m)/(n·m)), floored at 0, so small samples do not raise false alarms."""
    return max(0.0, distance - c_alpha * math.sqrt((n + m) / (n * m)))


def drift_distances(
    df: pd.DataFrame, statistics: Mapping[str, Any], constraints: Mapping[str, Any]
) -> dict[str, float]:
    """Each baseline feature's distance between its baseline and live distributions.

    Numbers: L-infinity distance between cumulative distributions (baseline from the
    statistics' quantile sketch); strings: L-infinity distance between value shares. With
    ``comparison_method: Robust`` the small-sample correction of :func:`robust` applies.
    Features missing from ``df`` or with no present values are left out.
    """
    config = constraints.get("monitoring_config", {}).get("distribution_constraints", {})
    method = config.get("comparison_method", "Simple")
    out: dict[str, float] = {}
    for feat in _features(statistics):
        name = feat["name"]
        if name not in df.columns or df[name].dropna().empty:
            continue
        live = df[name].dropna()
        if "numerical_statistics" in feat:
            stats = feat["numerical_statistics"]
            points = [v for level in stats["distribution"]["kll"]["sketch"]["data"]
                      for v in level]
            numbers = pd.to_numeric(live, errors="coerce").dropna()
            if numbers.empty:
                continue
            d = linf_cdf_distance(points, numbers.to_numpy(dtype=float))
            n = float(stats["common"]["num_present"])
            m = float(len(numbers))
        else:
            stats = feat["string_statistics"]
            base = {b["value"]: float(b["count"])
                    for b in stats["distribution"]["categorical"]["buckets"]}
            live_counts = {str(k): float(v) for k, v in live.astype(str).value_counts().items()}
            d = linf_categorical_distance(base, live_counts)
            n, m = float(sum(base.values())), float(sum(live_counts.values()))
        out[name] = robust(d, n, m) if method == "Robust" else d
    return out


# ---------------------------------------------------------------------------------- checks
def check_constraints(
    df: pd.DataFrame, statistics: Mapping[str, Any], constraints: Mapping[str, Any]
) -> dict[str, Any]:
    """``constraint_violations.json`` for the live data ``df`` against a baseline.

    Checks, with the documented check types: ``missing_column_check``,
    ``extra_column_check``, ``data_type_check`` (share of values of another type above
    ``datatype_check_threshold``), ``completeness_check`` (fewer present values than the
    baseline's completeness), ``categorical_values_check`` (share of values outside the
    baseline domain above ``domain_content_threshold``) and ``baseline_drift_check``
    (distance above ``comparison_threshold`` for numbers, ``categorical_comparison_threshold``
    for strings). Returns ``{"violations": [...]}`` (empty list: no violation).
    """
    config = constraints.get("monitoring_config", {})
    dist_cfg = config.get("distribution_constraints", {})
    violations: list[dict[str, str]] = []

    def flag(feature: str, check: str, description: str) -> None:
        violations.append(
            {"feature_name": feature, "constraint_check_type": check, "description": description}
        )

    expected = {f["name"]: f for f in _features(constraints)}
    live_cols = _feature_columns(df)
    missing_cols = [c for c in expected if c not in live_cols]
    extra_cols = [c for c in live_cols if c not in expected]
    if missing_cols:
        flag(",".join(missing_cols), "missing_column_check",
             f"There are {len(live_cols)} columns, the baseline has {len(expected)}; "
             f"missing: {missing_cols}")
    if extra_cols:
        flag(",".join(map(str, extra_cols)), "extra_column_check",
             f"There are {len(live_cols)} columns, the baseline has {len(expected)}; "
             f"extra: {extra_cols}")

    type_threshold = float(config.get("datatype_check_threshold", 0.1))
    domain_threshold = float(config.get("domain_content_threshold", 0.1))
    for name, feat in expected.items():
        if name not in df.columns:
            continue
        values = df[name]
        present = values.dropna()
        completeness = len(present) / len(values) if len(values) else 0.0
        if completeness < float(feat.get("completeness", 0.0)):
            flag(name, "completeness_check",
                 f"Completeness {completeness:.4f} is below the baseline's "
                 f"{feat['completeness']:.4f}")
        if present.empty:
            continue
        want = feat["inferred_type"]
        wrong = sum(not _matches(value_type(v), want) for v in present) / len(present)
        if wrong > type_threshold:
            flag(name, "data_type_check",
                 f"Expected type {want}: {100 * (1 - wrong):.1f}% of the values are, "
                 f"more than {100 * type_threshold:.0f}% are not")
        domains = feat.get("string_constraints", {}).get("domains")
        if domains is not None:
            unknown = float((~present.astype(str).isin(domains)).mean())
            if unknown > domain_threshold:
                flag(name, "categorical_values_check",
                     f"{100 * unknown:.1f}% of the values are outside the baseline's "
                     f"domain (threshold {100 * domain_threshold:.0f}%)")

    if dist_cfg.get("perform_comparison", "Enabled") == "Enabled":
        numeric = {f["name"] for f in _features(statistics) if "numerical_statistics" in f}
        for name, distance in drift_distances(df, statistics, constraints).items():
            key = "comparison_threshold" if name in numeric else (
                "categorical_comparison_threshold")
            threshold = float(dist_cfg.get(key, 0.1))
            if distance > threshold:
                flag(name, "baseline_drift_check",
                     f"Baseline drift distance {distance:.4f} exceeds threshold {threshold}")
    return {"violations": violations}


def drift_metric_data(
    distances: Mapping[str, float], *, endpoint: str, schedule: str, when: datetime
) -> list[dict[str, Any]]:
    """CloudWatch ``MetricData`` for ``put_metric_data``: one
    ``feature_baseline_drift_<name>`` metric per feature, with the ``Endpoint`` and
    ``MonitoringSchedule`` dimensions the monitor uses."""
    dims = [{"Name": "Endpoint", "Value": endpoint},
            {"Name": "MonitoringSchedule", "Value": schedule}]
    return [
        {"MetricName": f"feature_baseline_drift_{name}", "Dimensions": dims,
         "Timestamp": when, "Value": float(value), "Unit": "None"}
        for name, value in distances.items()
    ]


# ---------------------------------------------------------------------------------- attribution
def ndcg(baseline: Mapping[str, float], live: Mapping[str, float]) -> float:
    """NDCG of the live attribution ranking, with the baseline attributions as gains.

    Features are ranked by live attribution (highest first); feature f at position i
    (1-based) contributes a(f)/log2(i + 1), where a is its *baseline* attribution. That
    DCG is divided by the ideal one (features in baseline order). 1.0 means the same
    ranking; Model Monitor logs a violation below 0.9. Ties in the live ranking are
    broken by baseline order. Takes dictionaries or pandas Series (feature -> value).
    """
    baseline = {str(k): float(v) for k, v in baseline.items()}
    live = {str(k): float(v) for k, v in live.items()}
    if set(baseline) != set(live):
        raise LabKitError(
            f"Baseline and live attributions name different features: only in the "
            f"baseline {sorted(set(baseline) - set(live))}, only live "
            f"{sorted(set(live) - set(baseline))}.",
            "compute both with the same feature names (the explainer's columns).",
        )
    if any(v < 0 for v in baseline.values()):
        raise LabKitError(
            "Baseline attributions must be non-negative (they are the gains).",
            "use global SHAP values aggregated with mean |SHAP| (Clarify's mean_abs).",
        )
    ideal = sorted(baseline, key=lambda f: -baseline[f])
    order = sorted(ideal, key=lambda f: -live[f])  # stable: ties keep baseline order

    def dcg(names: list[str]) -> float:
        return sum(baseline[f] / math.log2(i + 2) for i, f in enumerate(names))

    best = dcg(ideal)
    if best == 0:
        raise LabKitError(
            "Every baseline attribution is zero, so no ranking can be scored.",
            "check the baseline explanation job: the model's output varied with no feature.",
        )
    return dcg(order) / best


def attribution_violations(
    baseline: Mapping[str, float],
    live: Mapping[str, float],
    *,
    label: str = "label0",
    threshold: float = ATTRIBUTION_DRIFT_THRESHOLD,
) -> dict[str, Any]:
    """The feature-attribution-drift ``constraint_violations.json`` for one label."""
    score = ndcg(baseline, live)
    violations = []
    if score < threshold:
        violations.append({
            "label": label,
            "metric_name": "shap",
            "constraint_check_type": "feature_attribution_drift_check",
            "description": f"Feature attribution drift {score} exceeds threshold {threshold}",
        })
    return {"version": "1.0", "violations": violations}


def explainability_baseline(
    global_shap: Mapping[str, float], expected_value: float, *, label: str = "label0"
) -> dict[str, Any]:
    """The part of a Clarify ``analysis.json`` a feature-attribution baseline keeps:
    global SHAP values and the expected value for one label (Kernel SHAP method)."""
    return {
        "version": "1.0",
        "explanations": {
            "kernel_shap": {
                label: {
                    "global_shap_values": {k: float(v) for k, v in global_shap.items()},
                    "expected_value": float(expected_value),
                }
            }
        },
    }
