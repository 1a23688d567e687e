"""The Clarify labs' #@save code (16b bias metrics, 16a Shapley values and partial
dependence) and the Adult stand-in, checked against hand-worked values."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from labkit import LabKitError, lessons
from labkit.standins import adult as census

bias = lessons.load("16b-clarify-dpl-bias")


def ten_rows() -> pd.DataFrame:
    # facet d: 1 of 4 positive; facet a: 4 of 6 positive
    return pd.DataFrame({
        "sex": ["F"] * 4 + ["M"] * 6,
        "y": [1, 0, 0, 0] + [1, 1, 1, 1, 0, 0],
    })


KW = dict(label="y", label_values=1, facet="sex", facet_values="F")


# ---------------------------------------------------------------- 16b: pre-training bias
def test_dpl_by_hand():
    assert bias.dpl(ten_rows(), **KW) == pytest.approx(4 / 6 - 1 / 4)


def test_ci_by_hand():
    assert bias.ci(ten_rows(), facet="sex", facet_values="F") == pytest.approx(0.2)
    assert bias.ci(ten_rows(), facet="sex", facet_values="M") == pytest.approx(-0.2)


def test_ci_counts_weights_not_rows():
    # Issue 20's surviving mutant: class imbalance that ignores weights. Worked by hand:
    # weight 3 on the first woman -> n_d = 3 + 1 + 1 + 1 = 6, n_a = 6 -> CI = 0.
    w = np.ones(10)
    w[0] = 3.0
    assert bias.ci(ten_rows(), facet="sex", facet_values="F", weights=w) == pytest.approx(0.0)
    # men at weight 0.5 -> n_a = 3, n_d = 4 -> CI = (3 - 4) / 7
    w = np.array([1.0] * 4 + [0.5] * 6)
    got = bias.ci(ten_rows(), facet="sex", facet_values="F", weights=w)
    assert got == pytest.approx(-1 / 7)
    # and the report passes the weights on to CI as well
    rep = bias.pretraining_report(ten_rows(), **KW, weights=w)
    assert rep["CI"] == pytest.approx(-1 / 7)


def test_weights_change_dpl():
    w = np.ones(10)
    w[0] = 3.0  # the only positive woman now counts three times: q_d = 3/6
    assert bias.dpl(ten_rows(), **KW, weights=w) == pytest.approx(4 / 6 - 3 / 6)


def test_ks_equals_abs_dpl_and_kl_by_hand():
    rep = bias.pretraining_report(ten_rows(), **KW)
    qa, qd = 4 / 6, 1 / 4
    assert rep["KS"] == pytest.approx(abs(rep["DPL"]))
    kl = qa * math.log(qa / qd) + (1 - qa) * math.log((1 - qa) / (1 - qd))
    assert rep["KL"] == pytest.approx(kl)


def test_js_is_symmetric_and_bounded():
    a = bias.pretraining_report(ten_rows(), **KW)["JS"]
    b = bias.pretraining_report(ten_rows(), **dict(KW, facet_values="M"))["JS"]
    assert a == pytest.approx(b)
    assert 0 < a < math.log(2)


def test_kl_is_infinite_when_facet_d_never_has_an_outcome():
    df = pd.DataFrame({"g": ["d", "d", "a", "a"], "y": [0, 0, 1, 0]})
    got = bias.pretraining_report(df, label="y", label_values=1, facet="g", facet_values="d")
    assert got["KL"] == math.inf


def test_reweighing_by_hand_and_on_adult():
    # ten rows: P(d) = 0.4, P(pos) = 0.5, P(d, pos) = 0.1 -> weight 0.4 * 0.5 / 0.1 = 2
    w = bias.reweighing_weights(ten_rows(), **KW)
    assert w[0] == pytest.approx(2.0)
    assert w[1] == pytest.approx(0.4 * 0.5 / 0.3)
    df = census.load_adult()
    kw = dict(label="income", label_values=">50K", facet="sex", facet_values="Female")
    w = bias.reweighing_weights(df, **kw)
    assert abs(bias.dpl(df, **kw, weights=w)) < 1e-12
    assert w.sum() == pytest.approx(len(df))


def test_reweighing_needs_every_cell():
    df = pd.DataFrame({"g": ["d", "d", "a", "a"], "y": [0, 0, 1, 0]})
    with pytest.raises(LabKitError, match="no rows to reweigh"):
        bias.reweighing_weights(df, label="y", label_values=1, facet="g", facet_values="d")


@pytest.mark.parametrize(
    "kwargs,message",
    [
        (dict(KW, facet="gender"), "facet column 'gender' is not in the data"),
        (dict(KW, label="income"), "label column 'income' is not in the data"),
        (dict(KW, facet_values="Female"), r"facet value\(s\) \['Female'\] never occur"),
        (dict(KW, label_values=2), r"label value\(s\) \[2\] never occur"),
        (dict(KW, label_values="1"), r"label value\(s\) \['1'\] never occur"),
        (dict(KW, facet_values=["F", "M"]), "nothing to compare"),
        (dict(KW, label_values=[0, 1]), "nothing to compare"),
    ],
)
def test_bad_input_gets_a_clear_error(kwargs, message):
    with pytest.raises(LabKitError, match=message) as info:
        bias.dpl(ten_rows(), **kwargs)
    assert info.value.fix  # every error says what to do


def test_bad_weights():
    with pytest.raises(LabKitError, match="weights must be 10"):
        bias.dpl(ten_rows(), **KW, weights=[1.0, 2.0])
    with pytest.raises(LabKitError, match="weights must be 10"):
        bias.ci(ten_rows(), facet="sex", facet_values="F", weights=[1.0] * 9)
    with pytest.raises(LabKitError, match="Facet a is empty"):
        bias.ci(ten_rows(), facet="sex", facet_values=["F", "M"])


def test_report_has_all_metrics():
    rep = bias.pretraining_report(ten_rows(), **KW)
    assert list(rep) == ["CI", "DPL", "KL", "JS", "KS"]
    assert all(isinstance(v, float) for v in rep.values())


# ---------------------------------------------------------------- the Adult stand-in
def test_load_adult_shape():
    df = census.load_adult()
    assert df.shape == (5000, 12)
    assert set(df["income"]) == {">50K", "<=50K"}
    assert set(df["sex"]) == {"Male", "Female"}


def test_encode_adult():
    df = census.load_adult()
    X, y, cats = census.encode_adult(df, drop=["sex"])
    assert "sex" not in X.columns and "income" not in X.columns
    assert X.shape == (5000, 10) and X.dtypes.unique().tolist() == [np.dtype(float)]
    assert y.sum() == (df.income == ">50K").sum() == 1229
    assert cats["workclass"][int(X.iloc[0]["workclass"])] == df.iloc[0]["workclass"]
    assert cats["race"] == sorted(cats["race"])
    with pytest.raises(LabKitError, match="label column"):
        census.encode_adult(df.drop(columns="income"))


def test_missing_adult_file_says_how_to_restore(monkeypatch, tmp_path):
    monkeypatch.setattr(census, "ADULT_CSV", tmp_path / "nope.csv")
    with pytest.raises(LabKitError, match="missing"):
        census.load_adult()


# ---------------------------------------------------------------- 16a: Shapley values, PDP
explain = lessons.load("16a-clarify-shap-pdp")


def test_exact_shapley_on_a_linear_model():
    # For f(x) = w·x with an independent background, phi_i = w_i (x_i − mean(b_i)).
    rng = np.random.default_rng(0)
    w = np.array([1.0, -2.0, 0.5])
    bg = rng.normal(size=(20, 3))
    x = np.array([[1.0, 2.0, 3.0]])
    phi, base = explain.exact_shapley_values(lambda X: X @ w, x, bg)
    assert np.allclose(phi[0], w * (x[0] - bg.mean(axis=0)))
    assert base == pytest.approx(float((bg @ w).mean()))


def test_exact_shapley_interaction_is_split_evenly():
    # f = x0 * x1, background all zeros, x = (1, 1): each feature gets 1/2.
    phi, base = explain.exact_shapley_values(
        lambda X: X[:, 0] * X[:, 1], np.array([[1.0, 1.0]]), np.zeros((1, 2))
    )
    assert np.allclose(phi, [[0.5, 0.5]]) and base == 0.0


def test_exact_shapley_three_players_by_hand():
    # f = max(x0, x1) + x2 on background 0, x = (1, 1, 1): v({0}) = v({1}) = v({0,1}) = 1,
    # so x0 and x1 share the max: 1/2 each; x2 adds 1 on its own.
    phi, _ = explain.exact_shapley_values(
        lambda X: np.maximum(X[:, 0], X[:, 1]) + X[:, 2], np.ones((1, 3)), np.zeros((1, 3))
    )
    assert np.allclose(phi, [[0.5, 0.5, 1.0]])


def test_partial_dependence_by_hand():
    X = pd.DataFrame({"a": [0.0, 1.0, 2.0], "b": [1.0, 1.0, 4.0]})
    avg, ice = explain.partial_dependence_by_hand(
        lambda d: d["a"].to_numpy() * d["b"].to_numpy(), X, "a", [0.0, 2.0]
    )
    assert ice.tolist() == [[0.0, 2.0], [0.0, 2.0], [0.0, 8.0]]
    assert np.allclose(avg, [0.0, 2.0 * 2.0])
    assert X["a"].tolist() == [0.0, 1.0, 2.0]  # the input is not modified


def test_explainability_config_equals_the_sdks_own():
    from sagemaker.core import clarify as sm_clarify

    data = sm_clarify.DataConfig(s3_data_input_path="s3://b/in", s3_output_path="s3://b/o",
                                 label="income", headers=["age", "sex", "income"],
                                 dataset_type="text/csv")
    model = sm_clarify.ModelConfig(model_name="m", instance_type="ml.m5.large",
                                   instance_count=1, accept_type="text/csv")
    shap_cfg = sm_clarify.SHAPConfig(baseline=[[35, "F"]], num_samples=64, seed=0)
    pdp_cfg = sm_clarify.PDPConfig(features=["age"])
    ours = explain.explainability_analysis_config(data, model, [shap_cfg, pdp_cfg], 0.6)
    sdk = sm_clarify._AnalysisConfigGenerator.explainability(  # what run_explainability sends
        data, model, sm_clarify.ModelPredictedLabelConfig(probability_threshold=0.6),
        [shap_cfg, pdp_cfg],
    )
    assert ours == sdk
    bad = sm_clarify.SHAPConfig(baseline=[[np.int64(35), "F"]])  # numpy numbers: refused
    with pytest.raises(Exception):
        explain.explainability_analysis_config(data, model, [bad])


# ---------------------------------------------------------------- model export for the container
def test_export_model_reproduces_decision_function():
    df = census.load_adult().iloc[:800]
    X, y, categories = census.encode_adult(df)
    model = census.train_adult_model(X, y)
    spec = census.export_model(model, X, categories)
    assert spec["kind"] == census.MODEL_KIND and spec["features"] == list(X.columns)
    assert spec["categories"]["sex"] == ["Female", "Male"]
    assert len(spec["trees"]) == 100
    assert np.max(np.abs(census.exported_log_odds(spec, X) - model.decision_function(X))) < 1e-12
    # a missing value follows the split's learned direction, as scikit-learn does
    holes = X.copy()
    holes.iloc[::7, 0] = np.nan
    assert np.allclose(census.exported_log_odds(spec, holes), model.decision_function(holes))


def test_export_model_refuses_other_models():
    from sklearn.linear_model import LogisticRegression

    X = pd.DataFrame({"a": [0.0, 1.0, 2.0, 3.0]})
    with pytest.raises(LabKitError, match="HistGradientBoostingClassifier"):
        census.export_model(LogisticRegression().fit(X, [0, 0, 1, 1]), X, {})


# ---------------------------------------------------------------- staged wheels (labkit.images)
def test_pinned_and_missing_wheels(tmp_path):
    from labkit import images

    (tmp_path / "wheels.txt").write_text("# pins\nshap==0.44.1  # Kernel SHAP\nslicer==0.0.7\n")
    assert images.pinned_wheels(tmp_path) == [("shap", "0.44.1"), ("slicer", "0.0.7")]
    (tmp_path / "wheels").mkdir()
    (tmp_path / "wheels" / "slicer-0.0.7-py3-none-any.whl").write_bytes(b"")
    (tmp_path / "wheels" / "shap-0.46.0-cp311-cp311-manylinux2014_x86_64.whl").write_bytes(b"")
    assert images.missing_wheels(tmp_path) == ["shap==0.44.1"]  # another version is not it
    (tmp_path / "wheels.txt").write_text("shap>=0.44\n")
    with pytest.raises(LabKitError, match="not 'name==version'"):
        images.pinned_wheels(tmp_path)


def test_clarify_image_pins_every_wheel_it_installs():
    from labkit import images
    from labkit.paths import CONTAINERS_DIR

    names = {n for n, _ in images.pinned_wheels(CONTAINERS_DIR / "clarify-processing")}
    assert {"smclarify", "shap", "numba", "llvmlite", "slicer", "pyfunctional"} <= names
