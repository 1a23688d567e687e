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
