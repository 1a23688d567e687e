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
    monitoring = "baseline_constraints" in env or "baseline_statistics" in env
    written = {}
    if not monitoring:
        fmt = json.loads(env.get("dataset_format") or '{"csv": {"header": true}}')
        if "csv" not in fmt:
            raise JobError(f"dataset_format {fmt} is not supported: the course's analyzer "
                           "baselines CSV only.")
        header = fmt["csv"].get("header", True)
        frames = [pd.read_csv(f, header=0 if header else None) for f in files_under(source)]
        df = pd.concat(frames, ignore_index=True)
        if not header:
            df.columns = [f"_c{i}" for i in range(df.shape[1])]
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
