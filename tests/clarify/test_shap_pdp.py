"""Explanations checked against independent computations on the lab's model and data.

* tree SHAP (shap's TreeExplainer, interventional, log-odds) against Shapley values from
  enumerating all 2^11 coalitions (lab 16a's #@save exact_shapley_values, no shap code),
  and against shap's own Exact explainer;
* Kernel SHAP with all coalitions against the same exact values;
* scikit-learn's partial dependence (brute) against lab 16a's by-hand average of predictions.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import shap
from threadpoolctl import threadpool_limits
from sklearn.inspection import partial_dependence

from labkit import lessons
from labkit.standins import adult as census

explain = lessons.load("16a-clarify-shap-pdp")


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    # OpenMP threads spin when cores are busy; one thread is faster on a shared 2-core box.
    with threadpool_limits(limits=1):
        yield


@pytest.fixture(scope="module")
def fitted():
    df = census.load_adult()
    X, y, _ = census.encode_adult(df)
    model = census.train_adult_model(X, y)
    return model, X


def log_odds(model, X):
    """The model's decision function on plain arrays (keeps the feature names)."""
    return lambda a: model.decision_function(pd.DataFrame(np.atleast_2d(a), columns=X.columns))


def test_model_is_useful(fitted):
    model, X = fitted
    from sklearn.metrics import roc_auc_score

    _, y, _ = census.encode_adult(census.load_adult())
    assert roc_auc_score(y, model.predict_proba(X)[:, 1]) > 0.85


def test_tree_shap_matches_exact_enumeration(fitted):
    model, X = fitted
    background = X.iloc[1000:1025]
    rows = X.iloc[[3, 17, 250]]
    tree = shap.TreeExplainer(model, data=background, feature_perturbation="interventional")
    tree_values = tree(rows).values
    exact, base = explain.exact_shapley_values(
        log_odds(model, X), rows.to_numpy(), background.to_numpy()
    )
    assert np.max(np.abs(tree_values - exact)) < 1e-6
    assert abs(float(np.ravel(tree.expected_value)[0]) - base) < 1e-6
    # additivity of the exact values: base + sum = model output (log-odds)
    assert np.allclose(base + exact.sum(axis=1), model.decision_function(rows), atol=1e-9)


def test_exact_enumeration_matches_shap_exact_explainer(fitted):
    model, X = fitted
    background = X.iloc[2000:2010]
    rows = X.iloc[[5]]
    masker = shap.maskers.Independent(background, max_samples=len(background))
    theirs = shap.explainers.Exact(model.decision_function, masker)(rows).values
    ours, _ = explain.exact_shapley_values(
        log_odds(model, X), rows.to_numpy(), background.to_numpy()
    )
    assert np.max(np.abs(theirs - ours)) < 1e-9


def test_kernel_shap_with_all_coalitions_is_exact(fitted):
    model, X = fitted
    background = X.iloc[3000:3010]
    rows = X.iloc[[8]]
    m = X.shape[1]
    kernel = shap.KernelExplainer(log_odds(model, X), background.to_numpy())
    values = kernel.shap_values(rows.to_numpy(), nsamples=2 ** m + 2 * m, l1_reg=False,
                                silent=True)
    exact, _ = explain.exact_shapley_values(
        log_odds(model, X), rows.to_numpy(), background.to_numpy()
    )
    assert np.max(np.abs(np.asarray(values) - exact)) < 1e-6


@pytest.mark.parametrize("feature", ["age", "education_num", "hours_per_week"])
def test_sklearn_pdp_equals_average_of_predictions(fitted, feature):
    model, X = fitted
    sample = X.iloc[:400]
    result = partial_dependence(model, sample, [feature], kind="both", method="brute",
                                grid_resolution=15)
    grid = result["grid_values"][0]
    avg, ice = explain.partial_dependence_by_hand(
        lambda d: model.predict_proba(d)[:, 1], sample, feature, grid
    )
    assert np.max(np.abs(result["average"][0] - avg)) < 1e-12
    assert np.max(np.abs(result["individual"][0] - ice)) < 1e-12
