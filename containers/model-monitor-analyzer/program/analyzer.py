"""The course's open-source re-implementation of the Model Monitor data-quality job contract.

NOT AWS's ``sagemaker-model-monitor-analyzer`` image (Spark + Deequ). It reads the same
environment variables and writes the same files, as AWS documents them for a container of
your own (https://docs.aws.amazon.com/sagemaker/latest/dg/model-monitor-byoc-containers.html):

* baselining (``DefaultModelMonitor.suggest_baseline``): ``dataset_source`` is a folder of CSV
  files (``dataset_format`` ``{"csv": {"header": true}}``); writes ``statistics.json`` and
  ``constraints.json`` to ``output_path``
  (https://docs.aws.amazon.com/sagemaker/latest/dg/model-monitor-interpreting-statistics.html,
  https://docs.aws.amazon.com/sagemaker/latest/dg/model-monitor-byoc-constraints.html);
* a monitoring execution: ``dataset_source`` is a folder of Data Capture JSON Lines files,
  ``baseline_statistics`` and ``baseline_constraints`` are files; writes the live
  ``statistics.json`` and ``constraint_violations.json`` to ``output_path``
  (https://docs.aws.amazon.com/sagemaker/latest/dg/model-monitor-interpreting-violations.html).
* on a bad input: the reason in ``/opt/ml/output/failure`` and a non-zero exit.

The statistics, constraints and checks are lab 12a's functions (its ``#@save`` cells), moved
here unchanged; the lab checks that the job's files equal what those functions give.
Differences from AWS's image: the numeric sketch is 256 exact quantiles, not a KLL sketch;
captured columns are matched to the baseline's features by position; only the request
(``endpointInput``) is profiled.

With ``analysis_type=MODEL_QUALITY`` (what ``ModelQualityMonitor.suggest_baseline`` sets) it is
the model quality job instead
(https://docs.aws.amazon.com/sagemaker/latest/dg/model-monitor-model-quality.html):
``dataset_source`` is a folder of CSV files of labelled predictions, ``problem_type`` must be
``BinaryClassification``, ``ground_truth_attribute`` names the label column,
``probability_attribute`` (with ``probability_threshold_attribute``, default 0.5) and/or
``inference_attribute`` the model's output. It writes ``statistics.json`` with
``binary_classification_metrics`` (computed with scikit-learn, laid out as
https://docs.aws.amazon.com/sagemaker/latest/dg/model-monitor-model-quality-metrics.html
shows) and ``constraints.json`` with ``binary_classification_constraints``; with
``baseline_constraints`` set it is a monitoring execution and writes
``constraint_violations.json`` instead of constraints. AWS's schedule first merges captured
predictions with ground truth in a separate job; here the caller does that merge and hands
over the merged rows as CSV.
"""

from __future__ import annotations

import json
import math
import os
import sys
from pathlib import Path

import numpy as np
import pandas as pd

FAILURE = Path("/opt/ml/output/failure")
ROBUST_C_ALPHA = 1.8  # Deequ's default c(alpha), an alpha of about 0.003


class JobError(Exception):
    """A bad input: the job fails with this message as its FailureReason."""


# ------------------------------------------------------------------ lab 12a, unchanged
def numeric_statistics(x, buckets=10, sketch_size=256):
    """statistics.json's numbers for one column (x: its present values)."""
    edges = np.linspace(x.min(), x.max(), buckets + 1)
    counts, _ = np.histogram(x, bins=edges)
    quantiles = np.quantile(x, (np.arange(sketch_size) + 0.5) / sketch_size,
                            method="inverted_cdf")
    return {
        "mean": float(x.mean()), "sum": float(x.sum()), "std_dev": float(x.std()),
        "min": float(x.min()), "max": float(x.max()),
        "distribution": {"kll": {
            "buckets": [{"lower_bound": float(lo), "upper_bound": float(hi),
                         "count": float(n)}
                        for lo, hi, n in zip(edges, edges[1:], counts)],
            "sketch": {"parameters": {"c": 1.0, "k": float(sketch_size)},
                       "data": [quantiles.tolist()]},
        }},
    }


def dataset_statistics(df):
    """statistics.json: the item count, and per column its type and distribution."""
    features = []
    for col in df.columns:
        values = df[col].dropna()
        common = {"num_present": len(values), "num_missing": int(df[col].isna().sum())}
        if pd.api.types.is_numeric_dtype(values):
            kind = "Integral" if (values == values.round()).all() else "Fractional"
            stats = {"common": common, **numeric_statistics(values.to_numpy(float))}
            features.append({"name": col, "inferred_type": kind,
                             "numerical_statistics": stats})
            continue
        counts = values.astype(str).value_counts()
        buckets = [{"value": v, "count": float(n)} for v, n in counts.items()]
        features.append({"name": col, "inferred_type": "String", "string_statistics": {
            "common": common, "distinct_count": float(len(counts)),
            "distribution": {"categorical": {"buckets": buckets}}}})
    return {"version": 0, "dataset": {"item_count": len(df)}, "features": features}


def suggest_constraints(statistics, threshold=0.1, method="Simple"):
    """constraints.json: type, completeness, non-negativity, domains, thresholds."""
    features = []
    for f in statistics["features"]:
        stats = f.get("numerical_statistics") or f["string_statistics"]
        present, missing = (stats["common"][k] for k in ("num_present", "num_missing"))
        entry = {"name": f["name"], "inferred_type": f["inferred_type"],
                 "completeness": present / (present + missing)}
        if "numerical_statistics" in f:
            entry["num_constraints"] = {"is_non_negative": stats["min"] >= 0}
        else:
            buckets = stats["distribution"]["categorical"]["buckets"]
            values = [b["value"] for b in buckets]
            entry["string_constraints"] = {"domains": sorted(values)}
        features.append(entry)
    distribution = {"perform_comparison": "Enabled", "comparison_threshold": threshold,
                    "comparison_method": method,
                    "categorical_comparison_threshold": threshold,
                    "categorical_drift_method": "LInfinity"}
    return {"version": 0, "features": features, "monitoring_config": {
        "evaluate_constraints": "Enabled", "emit_metrics": "Enabled",
        "datatype_check_threshold": 0.1, "domain_content_threshold": 0.1,
        "distribution_constraints": distribution}}


def linf_numeric(baseline, live):
    """Largest gap between two empirical CDFs (the two-sample KS statistic)."""
    a, b = np.sort(np.asarray(baseline, float)), np.sort(np.asarray(live, float))
    grid = np.union1d(a, b)
    cdf_a = np.searchsorted(a, grid, side="right") / a.size
    cdf_b = np.searchsorted(b, grid, side="right") / b.size
    return float(np.abs(cdf_a - cdf_b).max())


def linf_categorical(baseline_counts, live_counts):
    """Largest difference between the share of any one value."""
    n, m = sum(baseline_counts.values()), sum(live_counts.values())
    values = set(baseline_counts) | set(live_counts)
    return max(abs(baseline_counts.get(v, 0) / n - live_counts.get(v, 0) / m)
               for v in values)


def robust(distance, n, m, c_alpha=ROBUST_C_ALPHA):
    """The distance minus the KS critical value for samples of n and m, at least 0."""
    return max(0.0, distance - c_alpha * math.sqrt((n + m) / (n * m)))


def drift_distances(df, statistics, method="Simple"):
    """Each baseline feature's distance to the live data in df."""
    out = {}
    for f in statistics["features"]:
        live = df[f["name"]].dropna()
        if "numerical_statistics" in f:
            stats = f["numerical_statistics"]
            sketch = np.concatenate(stats["distribution"]["kll"]["sketch"]["data"])
            distance = linf_numeric(sketch, live)
            n = stats["common"]["num_present"]
        else:
            buckets = f["string_statistics"]["distribution"]["categorical"]["buckets"]
            counts = {b["value"]: b["count"] for b in buckets}
            shares = live.astype(str).value_counts().to_dict()
            distance = linf_categorical(counts, shares)
            n = sum(counts.values())
        if method == "Robust":
            distance = robust(distance, n, len(live))
        out[f["name"]] = distance
    return out


def check_constraints(df, statistics, constraints):
    """constraint_violations.json for the live data df against the baseline."""
    config = constraints["monitoring_config"]
    limits = config["distribution_constraints"]
    distances = drift_distances(df, statistics, limits["comparison_method"])
    violations = []
    for f in constraints["features"]:
        name, values = f["name"], df[f["name"]].dropna()
        found = []
        completeness = len(values) / len(df)
        if completeness < f["completeness"]:
            found.append(("completeness_check", f"completeness {completeness:.4f}"))
        domains = f.get("string_constraints", {}).get("domains")
        unknown = (~values.astype(str).isin(domains)).mean() if domains else 0.0
        if unknown > config["domain_content_threshold"]:
            found.append(("categorical_values_check", f"{unknown:.1%} unknown values"))
        limit = limits["categorical_comparison_threshold" if domains else
                      "comparison_threshold"]
        if distances[name] > limit:
            text = f"Baseline drift distance {distances[name]:.4f} exceeds {limit}"
            found.append(("baseline_drift_check", text))
        violations += [{"feature_name": name, "constraint_check_type": check,
                        "description": text} for check, text in found]
    return {"violations": violations}


def read_capture(lines, columns):
    """Capture lines -> a table: the request's columns (the endpointInput CSV)."""
    rows = []
    for line in lines:
        record = json.loads(line)
        rows.append(record["captureData"]["endpointInput"]["data"].split(","))
    frame = pd.DataFrame(rows, columns=columns)
    for col in columns:  # numbers back to numbers; text stays text
        numbers = pd.to_numeric(frame[col], errors="coerce")
        if numbers.notna().all():
            frame[col] = numbers
    return frame


# ------------------------------------------------------------------ model quality
PROBLEM_TYPES = ("BinaryClassification", "MulticlassClassification", "Regression")
# (metric, comparison that is a violation): higher is better except for the error rates
QUALITY_CONSTRAINTS = {
    "recall": "LessThanThreshold", "precision": "LessThanThreshold",
    "accuracy": "LessThanThreshold", "true_positive_rate": "LessThanThreshold",
    "true_negative_rate": "LessThanThreshold", "false_positive_rate": "GreaterThanThreshold",
    "false_negative_rate": "GreaterThanThreshold", "auc": "LessThanThreshold",
    "f0_5": "LessThanThreshold", "f1": "LessThanThreshold", "f2": "LessThanThreshold",
}
MIN_ROWS_FOR_STD = 200  # AWS: a standard deviation only from 200 samples on
STD_SAMPLES, STD_SHARE, STD_SEED = 5, 0.8, 0


def binary_scalars(y_true, y_pred, y_score):
    """The scalar binary-classification metrics, scikit-learn's, under AWS's names."""
    from sklearn import metrics as m

    tn, fp, fn, tp = m.confusion_matrix(y_true, y_pred, labels=[0, 1]).ravel()
    always = np.ones_like(y_true)  # the constant classifier that always says 1
    out = {
        "recall": m.recall_score(y_true, y_pred, zero_division=0),
        "precision": m.precision_score(y_true, y_pred, zero_division=0),
        "accuracy": m.accuracy_score(y_true, y_pred),
        "recall_best_constant_classifier": m.recall_score(y_true, always, zero_division=0),
        "precision_best_constant_classifier": m.precision_score(y_true, always,
                                                                zero_division=0),
        "accuracy_best_constant_classifier": m.accuracy_score(y_true, always),
        "true_positive_rate": tp / (tp + fn) if tp + fn else 0.0,
        "false_positive_rate": fp / (fp + tn) if fp + tn else 0.0,
    }
    out["true_negative_rate"] = 1.0 - out["false_positive_rate"]
    out["false_negative_rate"] = 1.0 - out["true_positive_rate"]
    out["auc"] = m.roc_auc_score(y_true, y_score)
    for beta, name in ((0.5, "f0_5"), (1, "f1"), (2, "f2")):
        out[name] = m.fbeta_score(y_true, y_pred, beta=beta, zero_division=0)
        out[f"{name}_best_constant_classifier"] = m.fbeta_score(
            y_true, always, beta=beta, zero_division=0)
    return {k: float(v) for k, v in out.items()}


def binary_classification_metrics(y_true, y_pred, y_score):
    """statistics.json's binary_classification_metrics: value and standard deviation."""
    from sklearn import metrics as m

    y_true, y_pred = np.asarray(y_true, int), np.asarray(y_pred, int)
    y_score = np.asarray(y_score, float)
    values = binary_scalars(y_true, y_pred, y_score)
    spread = {name: "NaN" for name in values}
    if len(y_true) >= MIN_ROWS_FOR_STD:  # 5 random 80 % samples, as AWS describes
        rng = np.random.default_rng(STD_SEED)
        size = int(STD_SHARE * len(y_true))
        runs = []
        for _ in range(STD_SAMPLES):
            i = rng.choice(len(y_true), size=size, replace=False)
            runs.append(binary_scalars(y_true[i], y_pred[i], y_score[i]))
        spread = {name: float(np.std([r[name] for r in runs])) for name in values}
    cm = m.confusion_matrix(y_true, y_pred, labels=[0, 1])  # rows: truth, columns: predicted
    fpr, tpr, _ = m.roc_curve(y_true, y_score)
    precisions, recalls, _ = m.precision_recall_curve(y_true, y_score)
    doc = {"confusion_matrix": {str(t): {str(p): int(cm[t, p]) for p in (0, 1)}
                                for t in (0, 1)}}
    order = ["recall", "precision", "accuracy", "recall_best_constant_classifier",
             "precision_best_constant_classifier", "accuracy_best_constant_classifier",
             "true_positive_rate", "true_negative_rate", "false_positive_rate",
             "false_negative_rate"]
    doc.update({k: {"value": values[k], "standard_deviation": spread[k]} for k in order})
    doc["receiver_operating_characteristic_curve"] = {
        "false_positive_rates": fpr.tolist(), "true_positive_rates": tpr.tolist()}
    doc["precision_recall_curve"] = {"precisions": precisions[::-1].tolist(),
                                     "recalls": recalls[::-1].tolist()}
    for k in ("auc", "f0_5", "f1", "f2", "f0_5_best_constant_classifier",
              "f1_best_constant_classifier", "f2_best_constant_classifier"):
        doc[k] = {"value": values[k], "standard_deviation": spread[k]}
    return doc


def suggest_quality_constraints(metrics):
    """constraints.json: each metric's baseline value as its threshold."""
    return {"version": 0.0, "binary_classification_constraints": {
        name: {"threshold": metrics[name]["value"], "comparison_operator": op}
        for name, op in QUALITY_CONSTRAINTS.items()}}


# lab 12b's #@save function, unchanged
def model_quality_violations(metrics, constraints):
    """A model quality constraint_violations.json: each metric against its threshold."""
    breaks = {"LessThanThreshold": lambda value, limit: value < limit,
              "GreaterThanThreshold": lambda value, limit: value > limit}
    violations = []
    for name, rule in constraints["binary_classification_constraints"].items():
        op, limit = rule["comparison_operator"], rule["threshold"]
        if breaks[op](metrics[name], limit):
            violations.append({"metric_name": name, "constraint_check_type": op,
                               "description": f"Metric {name} with {metrics[name]:.4f} "
                                             f"was {op} '{limit}'"})
    return {"violations": violations}


def column(df, env, key, header):
    """The column an *_attribute variable names: a header name, or a 0-based index."""
    ref = str(env[key])
    if ref in df.columns:
        return df[ref]
    if not header and ref.isdigit() and int(ref) < df.shape[1]:
        return df.iloc[:, int(ref)]
    raise JobError(f"{key} '{ref}' is not a column of the dataset (columns: "
                   f"{', '.join(map(str, df.columns))}).")


def as_binary(values, key):
    numbers = pd.to_numeric(values, errors="coerce")
    if numbers.isna().any() or not set(numbers.unique()) <= {0, 1}:
        found = sorted(map(str, pd.unique(values)))[:5]
        raise JobError(f"{key}: a BinaryClassification job needs labels 0 and 1; "
                       f"found {found}.")
    return numbers.to_numpy(int)


def quality_inputs(env, df, header):
    """(truth, predicted label, score) from the columns the environment names."""
    problem = env.get("problem_type")
    if problem not in PROBLEM_TYPES:
        raise JobError(f"problem_type '{problem}' is unknown: use one of "
                       f"{', '.join(PROBLEM_TYPES)}.")
    if problem != "BinaryClassification":
        raise JobError(f"problem_type '{problem}' is not supported by the course's analyzer "
                       "(AWS's image computes it): it computes BinaryClassification only.")
    if not env.get("ground_truth_attribute"):
        raise JobError("ground_truth_attribute is not set: a model quality job needs the "
                       "column of true labels.")
    if not (env.get("probability_attribute") or env.get("inference_attribute")):
        raise JobError("Neither probability_attribute nor inference_attribute is set: a "
                       "model quality job needs the model's output.")
    truth = as_binary(column(df, env, "ground_truth_attribute", header),
                      "ground_truth_attribute")
    if len(set(truth)) < 2:
        raise JobError("ground_truth_attribute: the labels hold one class only; AUC and "
                       "recall need both 0 and 1.")
    score = None
    if env.get("probability_attribute"):
        score = pd.to_numeric(column(df, env, "probability_attribute", header),
                              errors="coerce")
        if score.isna().any():
            raise JobError("probability_attribute: some probabilities are not numbers.")
        score = score.to_numpy(float)
    if env.get("inference_attribute"):
        predicted = as_binary(column(df, env, "inference_attribute", header),
                              "inference_attribute")
    else:
        threshold = float(env.get("probability_threshold_attribute") or 0.5)
        predicted = (score > threshold).astype(int)
    return truth, predicted, predicted if score is None else score


def read_csv_folder(env, source):
    fmt = json.loads(env.get("dataset_format") or '{"csv": {"header": true}}')
    if "csv" not in fmt:
        raise JobError(f"dataset_format {fmt} is not supported: the course's analyzer "
                       "reads CSV only.")
    header = fmt["csv"].get("header", True)
    frames = [pd.read_csv(f, header=0 if header else None) for f in files_under(source)]
    df = pd.concat(frames, ignore_index=True)
    if not header:
        df.columns = [f"_c{i}" for i in range(df.shape[1])]
    return df, header


def run_model_quality(env, source):
    df, header = read_csv_folder(env, source)
    truth, predicted, score = quality_inputs(env, df, header)
    metrics = binary_classification_metrics(truth, predicted, score)
    statistics = {"version": 0.0, "dataset": {"item_count": len(df)},
                  "binary_classification_metrics": metrics}
    written = {"statistics.json": statistics}
    if env.get("baseline_constraints"):
        constraints = read_json(env, "baseline_constraints")
        rules = constraints.get("binary_classification_constraints")
        if not isinstance(rules, dict):
            raise JobError("baseline_constraints has no binary_classification_constraints.")
        for name, rule in rules.items():
            if name not in metrics or "value" not in metrics[name]:
                raise JobError(f"baseline_constraints: unknown metric '{name}'.")
            if rule.get("comparison_operator") not in ("LessThanThreshold",
                                                       "GreaterThanThreshold"):
                raise JobError(f"baseline_constraints: {name} has comparison_operator "
                               f"{rule.get('comparison_operator')!r}.")
        values = {name: doc["value"] for name, doc in metrics.items() if "value" in doc}
        written["constraint_violations.json"] = model_quality_violations(values, constraints)
    else:
        written["constraints.json"] = suggest_quality_constraints(metrics)
    return written


# ------------------------------------------------------------------ the job
def files_under(folder: Path) -> list[Path]:
    files = sorted(p for p in folder.rglob("*") if p.is_file()) if folder.is_dir() else []
    if not files:
        raise JobError(f"No data: nothing under dataset_source {folder}.")
    return files


def read_json(env: dict, key: str) -> dict:
    path = Path(env[key])
    if not path.is_file():
        raise JobError(f"{key} {path} does not exist: give the baselining job's {path.name}.")
    return json.loads(path.read_text())


def run(env: dict) -> dict:
    for key in ("dataset_source", "output_path"):
        if not env.get(key):
            raise JobError(f"The environment variable {key} is not set.")
    source, output = Path(env["dataset_source"]), Path(env["output_path"])
    analysis = env.get("analysis_type") or "DATA_QUALITY"
    if analysis not in ("DATA_QUALITY", "MODEL_QUALITY"):
        raise JobError(f"analysis_type '{analysis}' is not supported: the course's analyzer "
                       "runs DATA_QUALITY and MODEL_QUALITY.")
    monitoring = "baseline_constraints" in env or "baseline_statistics" in env
    written = {}
    if analysis == "MODEL_QUALITY":
        written = run_model_quality(env, source)
    elif not monitoring:
        df, _ = read_csv_folder(env, source)
        written["statistics.json"] = dataset_statistics(df)
        written["constraints.json"] = suggest_constraints(written["statistics.json"])
    else:
        statistics = read_json(env, "baseline_statistics")
        constraints = read_json(env, "baseline_constraints")
        columns = [f["name"] for f in statistics["features"]]
        lines = [line for f in files_under(source)
                 for line in f.read_text().splitlines() if line.strip()]
        try:
            live = read_capture(lines, columns)
        except (KeyError, ValueError) as exc:
            raise JobError(f"The captured requests do not match the baseline's {len(columns)} "
                           f"features ({columns}): {exc}") from exc
        written["statistics.json"] = dataset_statistics(live)
        written["constraint_violations.json"] = check_constraints(live, statistics,
                                                                  constraints)
    output.mkdir(parents=True, exist_ok=True)
    for name, doc in written.items():
        (output / name).write_text(json.dumps(doc, indent=1))
    return written


def main() -> int:
    try:
        written = run(dict(os.environ))
    except JobError as exc:
        FAILURE.parent.mkdir(parents=True, exist_ok=True)
        FAILURE.write_text(f"ClientError: {exc}"[:1024])
        print(f"ClientError: {exc}", file=sys.stderr)
        return 1
    print("wrote", ", ".join(written))
    return 0


if __name__ == "__main__":
    sys.exit(main())
