"""Contract tests of containers/model-monitor-analyzer, the course's re-implementation of the
Model Monitor data-quality job (not AWS's image), by running it as SageMaker would: the
environment variables of AWS's bring-your-own-container contract, /opt/ml/processing mounted.

* baselining: statistics.json and constraints.json equal lab 12a's #@save functions run here
  (another numpy/pandas than Debian's in the image) on a data set the labs do not use;
* monitoring: constraint_violations.json for drifted capture files flags the drifted features
  and only them, and equals lab 12a's check_constraints;
* every file passes a schema check written from AWS's pages;
* a missing baseline file fails the job with a clear FailureReason.

Run under the shared Docker lock:
    flock /tmp/mlecourse-docker.lock .venv/bin/pytest tests/containers/test_model_monitor_container.py
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from labkit import lessons
from labkit.docker import build_image, docker_status

pytestmark = pytest.mark.docker

_STATUS = docker_status()
if not _STATUS.ok:
    pytest.skip("these tests run the model-monitor-analyzer container and need Docker: "
                + "; ".join(_STATUS.problems), allow_module_level=True)

CHECK_TYPES = {"data_type_check", "completeness_check", "baseline_drift_check",
               "missing_column_check", "extra_column_check", "categorical_values_check"}
lab = lessons.load("12a-model-monitor-data-quality")


@pytest.fixture(scope="module")
def image() -> str:
    return build_image("model-monitor-analyzer").tag


def run_job(image: str, root: Path, env: dict[str, str]) -> tuple[int, str]:
    (root / "ml_output").mkdir(parents=True, exist_ok=True)
    args = ["docker", "run", "--rm", "--network", "none",
            "-v", f"{root}:/opt/ml/processing", "-v", f"{root}/ml_output:/opt/ml/output"]
    for key, value in env.items():
        args += ["-e", f"{key}={value}"]
    for _ in range(3):  # 137: killed from outside (another session's clean-up on a shared engine)
        result = subprocess.run([*args, image], capture_output=True, text=True, timeout=180)
        if result.returncode != 137:
            break
    failure = root / "ml_output" / "failure"
    return result.returncode, failure.read_text() if failure.exists() else result.stderr


@pytest.fixture(scope="module")
def orders() -> pd.DataFrame:
    """Synthetic web-shop orders (not a lab's data): two numbers, one text column."""
    rng = np.random.default_rng(5)
    n = 1500
    return pd.DataFrame({
        "basket_eur": rng.gamma(3, 20, n).round(2),
        "items": rng.poisson(3, n) + 1,
        "channel": rng.choice(["app", "web", "phone"], n, p=[0.5, 0.4, 0.1]),
    })


def check_statistics(doc: dict[str, Any], columns: list[str]) -> None:
    """statistics.json as AWS documents it (model-monitor-interpreting-statistics)."""
    assert doc["version"] == 0 and isinstance(doc["dataset"]["item_count"], int)
    assert [f["name"] for f in doc["features"]] == columns
    for f in doc["features"]:
        assert f["inferred_type"] in ("Integral", "Fractional", "String", "Unknown")
        stats = f.get("numerical_statistics") or f["string_statistics"]
        assert set(stats["common"]) == {"num_present", "num_missing"}
        if "numerical_statistics" in f:
            assert {"mean", "sum", "std_dev", "min", "max", "distribution"} <= set(stats)
            kll = stats["distribution"]["kll"]
            assert {"lower_bound", "upper_bound", "count"} == set(kll["buckets"][0])
            assert set(kll["sketch"]) == {"parameters", "data"}
        else:
            assert {"value", "count"} == set(
                stats["distribution"]["categorical"]["buckets"][0])


def check_constraints_doc(doc: dict[str, Any]) -> None:
    """constraints.json as AWS documents it (model-monitor-byoc-constraints)."""
    assert doc["version"] == 0
    for f in doc["features"]:
        assert {"name", "inferred_type", "completeness"} <= set(f)
        assert 0 <= f["completeness"] <= 1
    config = doc["monitoring_config"]
    assert config["evaluate_constraints"] in ("Enabled", "Disabled")
    dist = config["distribution_constraints"]
    assert dist["comparison_method"] in ("Simple", "Robust")
    assert dist["categorical_drift_method"] in ("LInfinity", "ChiSquared")


def check_violations(doc: dict[str, Any]) -> None:
    """constraint_violations.json as AWS documents it (model-monitor-interpreting-violations)."""
    assert set(doc) == {"violations"}
    for v in doc["violations"]:
        assert set(v) == {"feature_name", "constraint_check_type", "description"}
        assert v["constraint_check_type"] in CHECK_TYPES


@pytest.fixture(scope="module")
def baseline(image, orders, tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("baseline")
    (root / "input" / "baseline_dataset_input").mkdir(parents=True)
    orders.to_csv(root / "input" / "baseline_dataset_input" / "orders.csv", index=False)
    code, failure = run_job(image, root, {
        "dataset_source": "/opt/ml/processing/input/baseline_dataset_input",
        "dataset_format": json.dumps({"csv": {"header": True}}),
        "output_path": "/opt/ml/processing/output",
        "publish_cloudwatch_metrics": "Disabled",
    })
    assert code == 0, failure
    return root / "output"


def test_baseline_files_equal_lab_12a(baseline, orders):
    statistics = json.loads((baseline / "statistics.json").read_text())
    constraints = json.loads((baseline / "constraints.json").read_text())
    check_statistics(statistics, list(orders.columns))
    check_constraints_doc(constraints)
    expected = lab.dataset_statistics(orders)
    assert statistics["dataset"] == expected["dataset"]
    for got, want in zip(statistics["features"], expected["features"]):
        assert got["inferred_type"] == want["inferred_type"], got["name"]
        if "numerical_statistics" in want:
            g, w = got["numerical_statistics"], want["numerical_statistics"]
            for key in ("mean", "sum", "std_dev", "min", "max"):
                assert abs(g[key] - w[key]) <= 1e-9 * max(1, abs(w[key])), (got["name"], key)
            assert np.allclose(g["distribution"]["kll"]["sketch"]["data"],
                               w["distribution"]["kll"]["sketch"]["data"], rtol=0, atol=0)
        else:
            assert got["string_statistics"] == json.loads(json.dumps(
                want["string_statistics"]))
    assert constraints == json.loads(json.dumps(lab.suggest_constraints(expected)))


def capture_lines(rows: pd.DataFrame) -> str:
    return "".join(json.dumps(lab.capture_record(
        ",".join(str(v) for v in row), "0.5", event_id=f"e{i}",
        when=lab.STARTS["week1"])) + "\n" for i, row in enumerate(rows.itertuples(index=False)))


@pytest.mark.parametrize("drifted", [False, True])
def test_monitoring_violations_equal_lab_12a(image, baseline, orders, tmp_path, drifted):
    live = orders.sample(600, random_state=1).reset_index(drop=True)
    if drifted:  # a client bug: every basket is sent in cents, half the channels are "web"
        live["basket_eur"] = (live["basket_eur"] * 100).round(2)
        live.loc[live.index % 2 == 0, "channel"] = "web"
    hour = tmp_path / "input" / "endpoint" / "ep" / "AllTraffic" / "2026" / "11" / "02" / "10"
    hour.mkdir(parents=True)
    (hour / "capture.jsonl").write_text(capture_lines(live))
    (tmp_path / "baseline").mkdir()
    for name in ("statistics.json", "constraints.json"):
        (tmp_path / "baseline" / name).write_bytes((baseline / name).read_bytes())
    code, failure = run_job(image, tmp_path, {
        "dataset_source": "/opt/ml/processing/input/endpoint",
        "dataset_format": json.dumps({"sagemakerCaptureJson": {
            "captureIndexNames": ["endpointInput", "endpointOutput"]}}),
        "baseline_statistics": "/opt/ml/processing/baseline/statistics.json",
        "baseline_constraints": "/opt/ml/processing/baseline/constraints.json",
        "output_path": "/opt/ml/processing/resultdata",
    })
    assert code == 0, failure
    violations = json.loads((tmp_path / "resultdata" / "constraint_violations.json").read_text())
    check_violations(violations)
    check_statistics(json.loads((tmp_path / "resultdata" / "statistics.json").read_text()),
                     list(orders.columns))
    statistics = json.loads((baseline / "statistics.json").read_text())
    constraints = json.loads((baseline / "constraints.json").read_text())
    assert violations == lab.check_constraints(live, statistics, constraints)
    flagged = {(v["feature_name"], v["constraint_check_type"]) for v in violations["violations"]}
    if drifted:
        assert flagged == {("basket_eur", "baseline_drift_check"),
                           ("channel", "baseline_drift_check")}
    else:
        assert flagged == set()


def test_missing_baseline_file_fails_clearly(image, tmp_path, orders):
    hour = tmp_path / "input" / "endpoint"
    hour.mkdir(parents=True)
    (hour / "capture.jsonl").write_text(capture_lines(orders.head(5)))
    code, failure = run_job(image, tmp_path, {
        "dataset_source": "/opt/ml/processing/input/endpoint",
        "baseline_statistics": "/opt/ml/processing/baseline/statistics.json",
        "baseline_constraints": "/opt/ml/processing/baseline/constraints.json",
        "output_path": "/opt/ml/processing/resultdata",
    })
    assert code != 0
    assert failure.startswith("ClientError: baseline_statistics") and "does not exist" in failure


# ------------------------------------------------------------------ model quality (lab 12b)
quality_lab = lessons.load("12b-model-monitor-model-quality")
OPERATORS = {"LessThanThreshold", "GreaterThanThreshold"}
# the keys of AWS's binary classification example (model-monitor-model-quality-metrics)
SCALARS = {"recall", "precision", "accuracy", "recall_best_constant_classifier",
           "precision_best_constant_classifier", "accuracy_best_constant_classifier",
           "true_positive_rate", "true_negative_rate", "false_positive_rate",
           "false_negative_rate", "auc", "f0_5", "f1", "f2", "f0_5_best_constant_classifier",
           "f1_best_constant_classifier", "f2_best_constant_classifier"}
CURVES = {"receiver_operating_characteristic_curve": ("false_positive_rates",
                                                      "true_positive_rates"),
          "precision_recall_curve": ("precisions", "recalls")}


def check_quality_statistics(doc: dict[str, Any], rows: int) -> None:
    """A model quality statistics.json as AWS's metrics page lays it out."""
    assert set(doc) == {"version", "dataset", "binary_classification_metrics"}
    assert doc["dataset"] == {"item_count": rows}
    metrics = doc["binary_classification_metrics"]
    assert set(metrics) == SCALARS | set(CURVES) | {"confusion_matrix"}
    cm = metrics["confusion_matrix"]
    assert set(cm) == {"0", "1"} and all(set(r) == {"0", "1"} for r in cm.values())
    assert sum(n for r in cm.values() for n in r.values()) == rows
    assert all(isinstance(n, int) for r in cm.values() for n in r.values())
    for name in SCALARS:
        entry = metrics[name]
        assert set(entry) == {"value", "standard_deviation"}, name
        assert 0 <= entry["value"] <= 1, name
        std = entry["standard_deviation"]
        # AWS: a standard deviation only from 200 samples on, else "NaN"
        assert std == "NaN" if rows < 200 else 0 <= std < 0.2, (name, std)
    for curve, (x, y) in CURVES.items():
        assert set(metrics[curve]) == {x, y}
        xs, ys = metrics[curve][x], metrics[curve][y]
        assert len(xs) == len(ys) >= 2 and all(0 <= v <= 1 for v in xs + ys)


def check_quality_constraints(doc: dict[str, Any]) -> None:
    """A model quality constraints.json: a threshold and an operator per metric."""
    assert set(doc) == {"version", "binary_classification_constraints"}
    rules = doc["binary_classification_constraints"]
    assert rules and set(rules) <= SCALARS
    for rule in rules.values():
        assert set(rule) == {"threshold", "comparison_operator"}
        assert isinstance(rule["threshold"], float)
        assert rule["comparison_operator"] in OPERATORS


def check_quality_violations(doc: dict[str, Any]) -> None:
    assert set(doc) == {"violations"}
    for v in doc["violations"]:
        assert set(v) == {"metric_name", "constraint_check_type", "description"}
        assert v["metric_name"] in SCALARS and v["constraint_check_type"] in OPERATORS


@pytest.fixture(scope="module")
def loans() -> pd.DataFrame:
    """Synthetic loan applications scored by a model (not a lab's data): score, default."""
    rng = np.random.default_rng(21)
    n = 1200
    risk = rng.normal(size=n)
    defaulted = (rng.random(n) < 1 / (1 + np.exp(-(2 * risk - 1)))).astype(int)
    score = 1 / (1 + np.exp(-(1.6 * risk - 0.8 + rng.normal(scale=0.8, size=n))))
    return pd.DataFrame({"loan_id": np.arange(n), "score": score.round(6),
                         "defaulted": defaulted})


QUALITY_ENV = {
    "analysis_type": "MODEL_QUALITY",
    "problem_type": "BinaryClassification",
    "dataset_source": "/opt/ml/processing/input/baseline_dataset_input",
    "dataset_format": json.dumps({"csv": {"header": True}}),
    "output_path": "/opt/ml/processing/output",
    "probability_attribute": "score",
    "probability_threshold_attribute": "0.4",
    "ground_truth_attribute": "defaulted",
    "publish_cloudwatch_metrics": "Disabled",
}


def quality_job(image: str, root: Path, rows: pd.DataFrame, **env: str) -> tuple[int, str]:
    folder = root / "input" / "baseline_dataset_input"
    folder.mkdir(parents=True, exist_ok=True)
    rows.to_csv(folder / "rows.csv", index=False)
    return run_job(image, root, {**QUALITY_ENV, **env})


@pytest.fixture(scope="module")
def quality_baseline(image, loans, tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("quality")
    code, failure = quality_job(image, root, loans)
    assert code == 0, failure
    return root / "output"


def test_quality_metrics_equal_scikit_learn(quality_baseline, loans):
    from sklearn import metrics as m

    statistics = json.loads((quality_baseline / "statistics.json").read_text())
    check_quality_statistics(statistics, len(loans))
    got = statistics["binary_classification_metrics"]
    y, score = loans["defaulted"].to_numpy(), loans["score"].to_numpy()
    pred = (score > 0.4).astype(int)
    tn, fp, fn, tp = m.confusion_matrix(y, pred).ravel()
    assert got["confusion_matrix"] == {"0": {"0": tn, "1": fp}, "1": {"0": fn, "1": tp}}
    share = y.mean()  # the constant classifier that always says 1
    want = {
        "recall": m.recall_score(y, pred), "precision": m.precision_score(y, pred),
        "accuracy": m.accuracy_score(y, pred), "auc": m.roc_auc_score(y, score),
        "f0_5": m.fbeta_score(y, pred, beta=0.5), "f1": m.f1_score(y, pred),
        "f2": m.fbeta_score(y, pred, beta=2), "true_positive_rate": tp / (tp + fn),
        "true_negative_rate": tn / (tn + fp), "false_positive_rate": fp / (fp + tn),
        "false_negative_rate": fn / (fn + tp), "recall_best_constant_classifier": 1.0,
        "precision_best_constant_classifier": share,
        "accuracy_best_constant_classifier": share,
        "f1_best_constant_classifier": 2 * share / (share + 1),
        "f0_5_best_constant_classifier": 1.25 * share / (0.25 * share + 1),
        "f2_best_constant_classifier": 5 * share / (4 * share + 1),
    }
    assert set(want) == SCALARS
    for name, value in want.items():
        assert abs(got[name]["value"] - value) <= 1e-9, (name, got[name]["value"], value)
    fpr, tpr, _ = m.roc_curve(y, score)
    roc = got["receiver_operating_characteristic_curve"]
    assert np.allclose(roc["false_positive_rates"], fpr, atol=1e-12)
    assert np.allclose(roc["true_positive_rates"], tpr, atol=1e-12)
    assert abs(np.trapezoid(tpr, fpr) - got["auc"]["value"]) <= 1e-9
    constraints = json.loads((quality_baseline / "constraints.json").read_text())
    check_quality_constraints(constraints)
    rules = constraints["binary_classification_constraints"]
    for name, rule in rules.items():  # the baseline value is the suggested threshold
        assert rule["threshold"] == got[name]["value"], name
    assert rules["false_positive_rate"]["comparison_operator"] == "GreaterThanThreshold"
    assert rules["auc"]["comparison_operator"] == "LessThanThreshold"


def test_quality_reproduces_aws_worked_example(image, tmp_path):
    """AWS's example: confusion matrix 0:{0:1, 1:2}, 1:{0:0, 1:1}, and its published values."""
    rows = pd.DataFrame({"score": [0.2, 0.7, 0.8, 0.9], "defaulted": [0, 0, 0, 1]})
    code, failure = quality_job(image, tmp_path, rows, probability_threshold_attribute="0.5")
    assert code == 0, failure
    doc = json.loads((tmp_path / "output" / "statistics.json").read_text())
    check_quality_statistics(doc, 4)
    got = doc["binary_classification_metrics"]
    assert got["confusion_matrix"] == {"0": {"0": 1, "1": 2}, "1": {"0": 0, "1": 1}}
    published = {  # model-monitor-model-quality-metrics.html, binary classification
        "recall": 1.0, "precision": 0.3333333333333333, "accuracy": 0.5,
        "recall_best_constant_classifier": 1.0, "precision_best_constant_classifier": 0.25,
        "accuracy_best_constant_classifier": 0.25, "true_positive_rate": 1.0,
        "true_negative_rate": 0.33333333333333337, "false_positive_rate": 0.6666666666666666,
        "false_negative_rate": 0.0, "auc": 1.0, "f0_5": 0.3846153846153846, "f1": 0.5,
        "f2": 0.7142857142857143, "f0_5_best_constant_classifier": 0.29411764705882354,
        "f1_best_constant_classifier": 0.4, "f2_best_constant_classifier": 0.625,
    }
    assert {k: got[k]["value"] for k in published} == pytest.approx(published, abs=1e-12)


@pytest.mark.parametrize("degraded", [False, True])
def test_quality_violations_equal_lab_12b(image, quality_baseline, loans, tmp_path, degraded):
    live = loans.copy()
    if degraded:  # a broken feature: half the scores are shuffled noise
        half = live.index % 2 == 0
        live.loc[half, "score"] = live.loc[half, "score"].sample(
            frac=1, random_state=3).to_numpy()
    (tmp_path / "baseline").mkdir()
    (tmp_path / "baseline" / "constraints.json").write_bytes(
        (quality_baseline / "constraints.json").read_bytes())
    code, failure = quality_job(
        image, tmp_path, live, output_path="/opt/ml/processing/resultdata",
        baseline_constraints="/opt/ml/processing/baseline/constraints.json")
    assert code == 0, failure
    out = tmp_path / "resultdata"
    assert not (out / "constraints.json").exists()
    violations = json.loads((out / "constraint_violations.json").read_text())
    check_quality_violations(violations)
    statistics = json.loads((out / "statistics.json").read_text())
    check_quality_statistics(statistics, len(live))
    values = {k: v["value"] for k, v in statistics["binary_classification_metrics"].items()
              if "value" in v}
    constraints = json.loads((quality_baseline / "constraints.json").read_text())
    assert violations == quality_lab.model_quality_violations(values, constraints)
    flagged = {v["metric_name"] for v in violations["violations"]}
    if degraded:
        assert {"auc", "accuracy", "f1"} <= flagged
    else:  # the baseline's own rows meet every threshold exactly: nothing is strictly worse
        assert flagged == set()


@pytest.mark.parametrize(("env", "message"), [
    ({"ground_truth_attribute": "label"},
     "ClientError: ground_truth_attribute 'label' is not a column of the dataset"),
    ({"problem_type": "Ranking"}, "ClientError: problem_type 'Ranking' is unknown"),
    ({"problem_type": "Regression"},
     "ClientError: problem_type 'Regression' is not supported"),
])
def test_quality_bad_configuration_fails_clearly(image, loans, tmp_path, env, message):
    code, failure = quality_job(image, tmp_path, loans.head(50), **env)
    assert code != 0
    assert failure.startswith(message), failure
    assert not (tmp_path / "output" / "statistics.json").exists()
