"""Contract tests of containers/clarify-processing, the course's re-implementation of the
SageMaker Clarify processing job (not AWS's image), by running it as SageMaker would.

Each test lays out /opt/ml/processing/input/{data,config[,model]} in a temporary folder,
runs the image, and reads /opt/ml/processing/output/analysis.json or /opt/ml/output/failure.
The model input is what a SageMaker model serves: model.tar.gz with model.json and the
inference handler lab 16a writes (its ``%%writefile`` cell, read from the notebook), which
the container calls in-process. References are independent of the container's code:

* bias metrics: smclarify in this environment (another numpy/pandas than Debian's in the
  image) on a synthetic data set the labs do not use;
* SHAP: exact Shapley values by enumerating coalitions (lab 16a's #@save function) on a small
  model, and additivity (sum = prediction - baseline prediction, in the output's units);
* PDP: the average prediction on Clarify's grid (bucket centres), computed here;
* analysis.json: a schema check written from AWS's "Analysis results" page;
* bad configuration: a clear FailureReason and a non-zero exit.

Run under the shared Docker lock:
    flock /tmp/mlecourse-docker.lock .venv/bin/pytest tests/containers/test_clarify_container.py
"""

from __future__ import annotations

import io
import json
import math
import subprocess
import tarfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from labkit import lessons
from labkit.docker import docker_status
from labkit.paths import LABS_DIR
from labkit.standins import adult as census

pytestmark = pytest.mark.docker

_STATUS = docker_status()
if not _STATUS.ok:
    pytest.skip("these tests run the clarify-processing container and need Docker: "
                + "; ".join(_STATUS.problems), allow_module_level=True)

PRE = ["CDDL", "CI", "DPL", "JS", "KL", "KS", "LP", "TVD"]


@pytest.fixture(scope="module")
def image() -> str:
    from labkit.images import build_with_wheels

    return build_with_wheels("clarify-processing").tag


LAB_16A = LABS_DIR / "03-responsible-and-generative-ai" / "16a-clarify-shap-pdp.ipynb"


def handler_source() -> str:
    """The inference handler as lab 16a writes it (its %%writefile serve_adult.py cell)."""
    cells = json.loads(LAB_16A.read_text())["cells"]
    (source,) = [text for text in ("".join(c["source"]) for c in cells)
                 if text.startswith("%%writefile") and
                 text.split("\n", 1)[0].endswith("/serve_adult.py")]
    return source.split("\n", 1)[1]


def model_archive(spec: dict[str, Any], handler: str | None = None,
                  name: str = "serve_adult.py") -> bytes:
    """model.tar.gz as SageMaker serves it: model.json and code/<name>."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for arcname, text in (("model.json", json.dumps(spec)),
                              (f"code/{name}", handler or handler_source())):
            data = text.encode()
            info = tarfile.TarInfo(arcname)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def run_job(image: str, root: Path, data: pd.DataFrame, config: dict[str, Any],
            model: bytes | None = None,
            env: dict[str, str] | None = None) -> tuple[int, dict[str, Any] | None, str]:
    """Run one job; return (exit code, analysis.json or None, failure reason or '')."""
    for sub in ("input/data", "input/config", "output", "ml_output"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    data.to_csv(root / "input" / "data" / "data.csv", header=False, index=False)
    (root / "input" / "config" / "analysis_config.json").write_text(json.dumps(config))
    if model is not None:
        (root / "input" / "model").mkdir(exist_ok=True)
        (root / "input" / "model" / "model.tar.gz").write_bytes(model)
    env_args = [a for k, v in (env or {}).items() for a in ("-e", f"{k}={v}")]
    for _ in range(3):  # 137: killed from outside (another session's clean-up on a shared engine)
        result = subprocess.run(
            ["docker", "run", "--rm", "--network", "none", *env_args,
             "-v", f"{root}/input:/opt/ml/processing/input:ro",
             "-v", f"{root}/output:/opt/ml/processing/output",
             "-v", f"{root}/ml_output:/opt/ml/output", image],
            capture_output=True, text=True, timeout=300,
        )
        if result.returncode != 137:
            break
    out = root / "output" / "analysis.json"
    failure = root / "ml_output" / "failure"
    return (result.returncode, json.loads(out.read_text()) if out.exists() else None,
            failure.read_text() if failure.exists() else "")


# ------------------------------------------------------------------ schema (AWS's docs)
def check_bias_section(section: dict[str, Any], label: str, facets: list[str]) -> None:
    """analysis.json bias section as documented: label, label_value_or_threshold, facets."""
    assert set(section) == {"label", "label_value_or_threshold", "facets"}, section.keys()
    assert section["label"] == label and isinstance(section["label_value_or_threshold"], str)
    assert sorted(section["facets"]) == sorted(facets)
    for entries in section["facets"].values():
        for entry in entries:
            assert set(entry) == {"value_or_threshold", "metrics"}
            assert isinstance(entry["value_or_threshold"], str)
            for metric in entry["metrics"]:
                assert {"name", "description", "value"} <= set(metric) <= {
                    "name", "description", "value", "error"}
                assert metric["value"] is None or isinstance(metric["value"], (int, float))


def check_explanations(explanations: dict[str, Any], features: list[str]) -> None:
    """kernel_shap: {label: {global_shap_values, expected_value}}; pdp: list of curves."""
    for label_entry in explanations.get("kernel_shap", {}).values():
        assert set(label_entry) == {"global_shap_values", "expected_value"}
        assert list(label_entry["global_shap_values"]) == features
        assert isinstance(label_entry["expected_value"], float)
    for curve in explanations.get("pdp", []):
        assert set(curve) == {"feature_name", "data_type", "feature_values",
                              "data_distribution", "model_predictions", "label_headers"}
        assert curve["data_type"] in ("numerical", "categorical")
        n = len(curve["feature_values"])
        assert len(curve["data_distribution"]) == n
        assert all(len(p) == n for p in curve["model_predictions"])
        assert len(curve["model_predictions"]) == len(curve["label_headers"])


# ------------------------------------------------------------------ bias vs smclarify
@pytest.fixture(scope="module")
def loans() -> pd.DataFrame:
    """A synthetic loan book (not used by any lab): region is the facet, branch the group."""
    rng = np.random.default_rng(7)
    n = 600
    region = rng.choice(["north", "south", "east"], size=n, p=[0.5, 0.3, 0.2])
    branch = rng.choice(["b1", "b2", "b3", "b4"], size=n)
    income = rng.normal(50, 12, size=n).round(1)
    p = 1 / (1 + np.exp(-(income - 50) / 8 + (region == "south") * 0.7))
    approved = np.where(rng.random(n) < p, "yes", "no")
    pred = np.where(rng.random(n) < np.clip(p + 0.1, 0, 1), "yes", "no")
    return pd.DataFrame({"income": income, "region": region, "branch": branch,
                         "approved": approved, "predicted": pred})


def smclarify_reference(df: pd.DataFrame, facet_values: list[str], stage: str) -> dict:
    from smclarify.bias import report

    cat = df.astype({c: "category" for c in ["region", "branch", "approved", "predicted"]})
    frame = cat.drop(columns=["approved"])
    kwargs: dict[str, Any] = {}
    if stage == "post":
        kwargs["predicted_label_column"] = report.LabelColumn(
            "predicted", cat["predicted"], ["yes"])
    (entry,) = report.bias_report(
        frame, report.FacetColumn("region", facet_values),
        report.LabelColumn("approved", cat["approved"], ["yes"]),
        report.StageType.PRE_TRAINING if stage == "pre" else report.StageType.POST_TRAINING,
        metrics=["all"], group_variable=cat["branch"], **kwargs)
    return {m["name"]: m["value"] for m in entry["metrics"]}


def bias_config(df: pd.DataFrame, facet_values: list[str], **overrides: Any) -> dict:
    config = {
        "dataset_type": "text/csv", "headers": list(df.columns), "label": "approved",
        "predicted_label": "predicted", "label_values_or_threshold": ["yes"],
        "facet": [{"name_or_index": "region", "value_or_threshold": facet_values}],
        "group_variable": "branch",
        "methods": {"pre_training_bias": {"methods": "all"},
                    "post_training_bias": {"methods": "all"}},
    }
    config.update(overrides)
    return config


@pytest.mark.parametrize("facet_values", [["south"], ["south", "east"]])
def test_bias_metrics_equal_smclarify(image, loans, tmp_path, facet_values):
    code, analysis, failure = run_job(image, tmp_path, loans, bias_config(loans, facet_values))
    assert code == 0, failure
    assert analysis is not None
    for stage, key in (("pre", "pre_training_bias_metrics"),
                       ("post", "post_training_bias_metrics")):
        check_bias_section(analysis[key], "approved", ["region"])
        (entry,) = analysis[key]["facets"]["region"]
        assert entry["value_or_threshold"] == ",".join(facet_values)
        got = {m["name"]: m["value"] for m in entry["metrics"]}
        expected = smclarify_reference(loans, facet_values, stage)
        assert got.keys() == expected.keys()
        if stage == "pre":
            assert sorted(got) == PRE  # all of Clarify's pre-training metrics
        for name, value in expected.items():
            if value is None:
                assert got[name] is None, name
            else:
                assert abs(got[name] - value) < 1e-9, (stage, name, got[name], value)


def test_dpl_equals_the_hand_formula(image, loans, tmp_path):
    """A reference that is not smclarify: DPL = q_a - q_d counted with pandas."""
    code, analysis, failure = run_job(image, tmp_path, loans, bias_config(loans, ["south"]))
    assert code == 0, failure
    metrics = analysis["pre_training_bias_metrics"]["facets"]["region"][0]["metrics"]
    dpl = next(m["value"] for m in metrics if m["name"] == "DPL")
    d = loans["region"] == "south"
    pos = loans["approved"] == "yes"
    assert abs(dpl - (pos[~d].mean() - pos[d].mean())) < 1e-12


# ------------------------------------------------------------------ SHAP and PDP
@pytest.fixture(scope="module")
def small_model() -> tuple[dict[str, Any], pd.DataFrame]:
    """A 4-feature gradient-boosted classifier (16 coalitions) and its data."""
    from sklearn.ensemble import HistGradientBoostingClassifier

    rng = np.random.default_rng(3)
    X = pd.DataFrame(rng.normal(size=(300, 4)).round(2), columns=["a", "b", "c", "d"])
    y = ((X.a + 0.5 * X.b * X.c - 0.3 * X.d + rng.normal(0, 0.3, 300)) > 0).astype(int)
    model = HistGradientBoostingClassifier(max_iter=20, max_leaf_nodes=7, random_state=0)
    model.fit(X, y)
    spec = census.export_model(model, X, {})
    assert np.allclose(census.exported_log_odds(spec, X), model.decision_function(X))
    return spec, X.assign(label=y)


def shap_config(data: pd.DataFrame, baseline: pd.DataFrame, use_logit: bool) -> dict:
    return {
        "dataset_type": "text/csv", "headers": list(data.columns), "label": "label",
        "predictor": {"model_name": "small", "instance_type": "ml.m5.large",
                      "initial_instance_count": 1, "content_type": "text/csv",
                      "accept_type": "text/csv"},
        "methods": {"shap": {"baseline": baseline.to_numpy().tolist(), "num_samples": 64,
                             "agg_method": "mean_abs", "use_logit": use_logit, "seed": 0,
                             "save_local_shap_values": True},
                    "pdp": {"features": ["a", "c"], "grid_resolution": 6}},
    }


@pytest.mark.parametrize("use_logit", [False, True])
def test_shap_exact_additive_and_pdp(image, small_model, tmp_path, use_logit):
    spec, data = small_model
    features = ["a", "b", "c", "d"]
    rows, baseline = data.iloc[:6], data[features].iloc[100:108]
    env = {"SAGEMAKER_PROGRAM": "serve_adult.py"} if use_logit else None  # both ways
    code, analysis, failure = run_job(image, tmp_path, rows,
                                      shap_config(rows, baseline, use_logit),
                                      model_archive(spec), env)
    assert code == 0, failure
    check_explanations(analysis["explanations"], features)
    local = pd.read_csv(tmp_path / "output" / "explanations_shap" / "out.csv")
    assert list(local.columns) == [f"{f}_label0" for f in features]  # AWS's naming
    assert len(local) == len(rows)

    def prob(a: np.ndarray) -> np.ndarray:
        return 1 / (1 + np.exp(-census.exported_log_odds(spec, pd.DataFrame(a, columns=features))))

    x = rows[features].to_numpy()
    base_prob = prob(baseline.to_numpy()).mean()
    entry = analysis["explanations"]["kernel_shap"]["label0"]
    if use_logit:  # log-odds of the prediction minus log-odds of the mean baseline prediction
        expected_base = math.log(base_prob / (1 - base_prob))
        output = np.log(prob(x) / (1 - prob(x)))
    else:
        expected_base, output = base_prob, prob(x)
        exact = lessons.load("16a-clarify-shap-pdp").exact_shapley_values
        values, _ = exact(prob, x, baseline.to_numpy())
        assert np.max(np.abs(local.to_numpy() - values)) < 1e-8  # exact Shapley values
    assert abs(entry["expected_value"] - expected_base) < 1e-9
    assert np.max(np.abs(local.to_numpy().sum(axis=1) - (output - expected_base))) < 1e-8
    global_values = np.abs(local.to_numpy()).mean(axis=0)  # agg_method mean_abs
    assert np.allclose(list(entry["global_shap_values"].values()), global_values)

    for curve, feature in zip(analysis["explanations"]["pdp"], ["a", "c"]):
        col = rows[feature]
        edges = np.linspace(col.min(), col.max(), 7)
        centres = (edges[:-1] + edges[1:]) / 2
        assert curve["feature_name"] == feature
        assert np.allclose(curve["feature_values"], centres)
        averages = [prob(rows[features].assign(**{feature: v}).to_numpy()).mean()
                    for v in centres]
        assert np.allclose(curve["model_predictions"][0], averages, atol=1e-12)
        assert abs(sum(curve["data_distribution"]) - 1) < 1e-12


# ------------------------------------------------------------------ bad configuration
@pytest.mark.parametrize(
    "change,message",
    [
        (dict(facet=[{"name_or_index": "county", "value_or_threshold": ["south"]}]),
         "The facet 'county' is not a column"),
        (dict(label_values_or_threshold=["Yes"]),
         "The label value(s) ['Yes'] never occur in column 'approved'"),
        (dict(facet=[{"name_or_index": "region", "value_or_threshold": ["west"]}]),
         "The facet value(s) ['west'] never occur"),
    ],
)
def test_bad_bias_configuration_fails_clearly(image, loans, tmp_path, change, message):
    code, analysis, failure = run_job(image, tmp_path, loans,
                                      bias_config(loans, ["south"], **change))
    assert code != 0 and analysis is None
    assert failure.startswith("ClientError: ") and message in failure, failure


def test_missing_baseline_fails_clearly(image, small_model, tmp_path):
    spec, data = small_model
    config = shap_config(data.iloc[:3], data.iloc[:0, :4], use_logit=False)
    del config["methods"]["shap"]["baseline"]
    code, analysis, failure = run_job(image, tmp_path, data.iloc[:3], config,
                                      model_archive(spec))
    assert code != 0 and analysis is None
    assert "The SHAP baseline is missing" in failure, failure


def test_missing_model_says_what_aws_does_instead(image, small_model, tmp_path):
    spec, data = small_model
    config = shap_config(data.iloc[:3], data.iloc[100:102, :4], use_logit=False)
    code, _, failure = run_job(image, tmp_path, data.iloc[:3], config, model=None)
    assert code != 0 and "shadow endpoint" in failure, failure


@pytest.mark.parametrize(
    "archive,env,message",
    [
        (dict(name="inference.py"), {"SAGEMAKER_PROGRAM": "serve_adult.py"},
         "model.tar.gz has no handler code/serve_adult.py"),
        (dict(handler="def model_fn(model_dir):\n    return None\n"), None,
         "lacks ['input_fn', 'predict_fn', 'output_fn']"),
    ],
)
def test_a_model_without_its_handler_fails_clearly(image, small_model, tmp_path, archive,
                                                    env, message):
    spec, data = small_model
    config = shap_config(data.iloc[:3], data.iloc[100:102, :4], use_logit=False)
    code, analysis, failure = run_job(image, tmp_path, data.iloc[:3], config,
                                      model_archive(spec, **archive), env)
    assert code != 0 and analysis is None
    assert failure.startswith("ClientError: ") and message in failure, failure
