"""Unit tests of labkit.clarify: metric definitions, errors, SHAP/PDP helpers, configs."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from labkit import LabKitError, clarify


def ten_rows() -> pd.DataFrame:
    # facet d: 1 of 4 positive; facet a: 4 of 6 positive
    return pd.DataFrame({
        "sex": ["F"] * 4 + ["M"] * 6,
        "y": [1, 0, 0, 0] + [1, 1, 1, 1, 0, 0],
    })


KW = dict(label="y", label_values=1, facet="sex", facet_values="F")


def test_dpl_by_hand():
    assert clarify.dpl(ten_rows(), **KW) == pytest.approx(4 / 6 - 1 / 4)


def test_ci_by_hand():
    assert clarify.ci(ten_rows(), facet="sex", facet_values="F") == pytest.approx(0.2)
    assert clarify.ci(ten_rows(), facet="sex", facet_values="M") == pytest.approx(-0.2)


def test_ks_equals_abs_dpl_for_binary_label():
    df = ten_rows()
    assert clarify.ks(df, **KW) == pytest.approx(abs(clarify.dpl(df, **KW)))


def test_js_is_symmetric_and_bounded():
    df = ten_rows()
    a = clarify.js(df, **KW)
    b = clarify.js(df, label="y", label_values=1, facet="sex", facet_values="M")
    assert a == pytest.approx(b)
    assert 0 < a < math.log(2)


def test_kl_is_infinite_when_facet_d_never_has_an_outcome():
    df = pd.DataFrame({"g": ["d", "d", "a", "a"], "y": [0, 0, 1, 0]})
    assert clarify.kl(df, label="y", label_values=1, facet="g", facet_values="d") == math.inf


def test_weights_change_the_metric():
    df = ten_rows()
    w = np.ones(len(df))
    w[0] = 3.0  # the only positive woman now counts three times: q_d = 3/6
    got = clarify.dpl(df, **KW, weights=w)
    assert got == pytest.approx(4 / 6 - 3 / 6)


def test_reweighing_makes_weighted_dpl_zero_and_keeps_total():
    df = clarify.load_adult()
    kw = dict(label="income", label_values=">50K", facet="sex", facet_values="Female")
    w = clarify.reweighing_weights(df, **kw)
    assert clarify.dpl(df, **kw) > 0.1
    assert abs(clarify.dpl(df, **kw, weights=w)) < 1e-12
    assert w.sum() == pytest.approx(len(df))


def test_reweighing_needs_every_cell():
    df = pd.DataFrame({"g": ["d", "d", "a", "a"], "y": [0, 0, 1, 0]})
    with pytest.raises(LabKitError, match="No row has facet d and a positive label"):
        clarify.reweighing_weights(df, label="y", label_values=1, facet="g", facet_values="d")


@pytest.mark.parametrize(
    "kwargs,message",
    [
        (dict(KW, facet="gender"), "facet column 'gender' is not in the data"),
        (dict(KW, label="income"), "label column 'income' is not in the data"),
        (dict(KW, facet_values="Female"), r"facet value\(s\) \['Female'\] never occur"),
        (dict(KW, label_values=2), r"label value\(s\) \[2\] never occur"),
        (dict(KW, label_values="1"), r"label value\(s\) \['1'\] never occur"),
        (dict(KW, facet_values=["F", "M"]), "facet a .* is empty"),
        (dict(KW, label_values=[0, 1]), "Every row of 'y' has a positive label"),
    ],
)
def test_bad_input_gets_a_clear_error(kwargs, message):
    with pytest.raises(LabKitError, match=message) as info:
        clarify.dpl(ten_rows(), **kwargs)
    assert info.value.fix  # every error says what to do


def test_bad_weights():
    with pytest.raises(LabKitError, match="weights must be 10"):
        clarify.dpl(ten_rows(), **KW, weights=[1.0, 2.0])


def test_report_has_all_metrics():
    rep = clarify.pretraining_report(ten_rows(), **KW)
    assert tuple(rep) == clarify.PRETRAINING_METRICS
    assert all(isinstance(v, float) for v in rep.values())


def test_exact_shapley_on_a_linear_model():
    # For f(x) = w·x with an independent background, phi_i = w_i (x_i − mean(b_i)).
    rng = np.random.default_rng(0)
    w = np.array([1.0, -2.0, 0.5])
    bg = rng.normal(size=(20, 3))
    x = np.array([[1.0, 2.0, 3.0]])
    phi, base = clarify.exact_shapley_values(lambda X: X @ w, x, bg)
    assert np.allclose(phi[0], w * (x[0] - bg.mean(axis=0)))
    assert base == pytest.approx(float((bg @ w).mean()))


def test_exact_shapley_interaction_is_split_evenly():
    # f = x0 * x1, background all zeros, x = (1, 1): each feature gets 1/2.
    phi, base = clarify.exact_shapley_values(
        lambda X: X[:, 0] * X[:, 1], np.array([[1.0, 1.0]]), np.zeros((1, 2))
    )
    assert np.allclose(phi, [[0.5, 0.5]]) and base == 0.0


def test_exact_shapley_refuses_too_many_features():
    with pytest.raises(LabKitError, match="coalitions"):
        clarify.exact_shapley_values(lambda X: X[:, 0], np.zeros((1, 20)), np.zeros((1, 20)))


def test_partial_dependence_by_hand():
    X = pd.DataFrame({"a": [0.0, 1.0, 2.0], "b": [1.0, 1.0, 4.0]})
    avg, ice = clarify.partial_dependence_by_hand(
        lambda d: d["a"].to_numpy() * d["b"].to_numpy(), X, "a", [0.0, 2.0]
    )
    assert ice.shape == (3, 2)
    assert np.allclose(avg, [0.0, 2.0 * 2.0])


# ---------------------------------------------------------------- Clarify configs
HEADERS = ["age", "sex", "income"]


def test_analysis_config_for_pre_training_bias():
    df = pd.DataFrame({"age": [30, 40], "sex": ["F", "M"], "income": [">50K", "<=50K"]})
    dc = clarify.data_config(s3_data_input_path="s3://b/in", s3_output_path="s3://b/out",
                             label="income", headers=HEADERS)
    bc = clarify.bias_config(data=df, label="income", label_values=">50K", facet="sex",
                             facet_values="F")
    cfg = clarify.analysis_config(dc, bias=bc, pre_training_methods=["DPL", "CI"])
    assert cfg["facet"] == [{"name_or_index": "sex", "value_or_threshold": ["F"]}]
    assert cfg["label_values_or_threshold"] == [">50K"]
    assert cfg["methods"]["pre_training_bias"] == {"methods": ["DPL", "CI"]}
    assert "s3_data_input_path" not in cfg  # the job gets the data as a processing input


def test_analysis_config_for_explainability_keeps_inputs_unchanged():
    dc = clarify.data_config(s3_data_input_path="s3://b/in", s3_output_path="s3://b/out",
                             label="income", headers=HEADERS)
    before = dc.get_config()
    shap = clarify.shap_config(baseline=pd.DataFrame({"age": [np.int64(35)], "sex": ["F"]}),
                               num_samples=64, features=2)
    pdp = clarify.pdp_config(features=["age"], headers=HEADERS)
    cfg = clarify.analysis_config(dc, explainability=[shap, pdp],
                                  model=clarify.model_config(model_name="m"))
    assert cfg["methods"]["shap"]["baseline"] == [[35, "F"]]
    assert type(cfg["methods"]["shap"]["baseline"][0][0]) is int
    assert cfg["methods"]["pdp"]["features"] == ["age"]
    assert cfg["predictor"]["model_name"] == "m"
    assert dc.get_config() == before


def test_config_errors():
    with pytest.raises(LabKitError, match="label 'y' is not among the headers"):
        clarify.data_config(s3_data_input_path="s3://b/in", s3_output_path="s3://b/o",
                            label="y", headers=HEADERS)
    with pytest.raises(LabKitError, match="not an S3 URI"):
        clarify.data_config(s3_data_input_path="/tmp/in", s3_output_path="s3://b/o",
                            label="income", headers=HEADERS)
    with pytest.raises(LabKitError, match="do not have 2 values"):
        clarify.shap_config(baseline=[[1, "F", ">50K"]], features=2)
    with pytest.raises(LabKitError, match="not among the headers"):
        clarify.pdp_config(features=["Age"], headers=HEADERS)
    with pytest.raises(LabKitError, match="never occur"):
        clarify.bias_config(data=ten_rows(), label="y", label_values=1, facet="sex",
                            facet_values="Female")
    dc = clarify.data_config(s3_data_input_path="s3://b/in", s3_output_path="s3://b/o",
                             label="income", headers=HEADERS)
    with pytest.raises(LabKitError, match="needs the model"):
        clarify.analysis_config(dc, explainability=[clarify.pdp_config(features=["age"])])
    with pytest.raises(LabKitError, match="neither a bias nor an explainability"):
        clarify.analysis_config(dc)


def test_load_adult_shape():
    df = clarify.load_adult()
    assert df.shape == (5000, 12)
    assert set(df["income"]) == {">50K", "<=50K"}
    assert set(df["sex"]) == {"Male", "Female"}


def test_encode_adult():
    df = clarify.load_adult()
    X, y, cats = clarify.encode_adult(df, drop=["sex"])
    assert "sex" not in X.columns and "income" not in X.columns
    assert X.shape == (5000, 10) and X.dtypes.unique().tolist() == [np.dtype(float)]
    assert y.sum() == (df.income == ">50K").sum()
    row = df.iloc[0]
    assert cats["workclass"][int(X.iloc[0]["workclass"])] == row["workclass"]
    assert cats["race"] == sorted(cats["race"])


def test_metrics_from_analysis():
    analysis = {"version": "1.0", "pre_training_bias_metrics": {
        "label": "income", "label_value_or_threshold": ">50K",
        "facets": {"sex": [{"value_or_threshold": "Female", "metrics": [
            {"name": "CI", "description": "Class Imbalance (CI)", "value": 0.348},
            {"name": "DPL", "description": "Difference in Positive Proportions in Labels",
             "value": 0.18},
        ]}]}}}
    got = clarify.metrics_from_analysis(analysis, facet="sex", facet_value="Female")
    assert got == {"CI": 0.348, "DPL": 0.18}
    with pytest.raises(LabKitError, match="not for 'Male'"):
        clarify.metrics_from_analysis(analysis, facet="sex", facet_value="Male")
    with pytest.raises(LabKitError, match="no 'post_training_bias_metrics'"):
        clarify.metrics_from_analysis(analysis, facet="sex", facet_value="Female",
                                      section="post_training_bias_metrics")


def test_ci_checks_weights_too():
    with pytest.raises(LabKitError, match="weights must be 10"):
        clarify.ci(ten_rows(), facet="sex", facet_values="F", weights=[1.0] * 9)
