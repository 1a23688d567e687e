"""Lab 19's #@save code: post-training bias metrics by hand and against smclarify, the
threshold sweep, and the model-card content check."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from labkit import LabKitError, lessons

review = lessons.load("19-responsible-ai")

# facet d (4 rows): y_true 1,1,0,0 ; y_pred 1,0,0,0   -> q̂_d = 1/4, TPR_d = 1/2, ACC_d = 3/4
# facet a (6 rows): y_true 1,1,1,0,0,0 ; y_pred 1,1,0,1,0,0 -> q̂_a = 3/6, TPR_a = 2/3, ACC_a = 4/6
Y_TRUE = np.array([1, 1, 0, 0, 1, 1, 1, 0, 0, 0])
Y_PRED = np.array([1, 0, 0, 0, 1, 1, 0, 1, 0, 0])
FACET_D = np.array([True] * 4 + [False] * 6)


def test_metrics_by_hand():
    report = review.posttraining_report(Y_TRUE, Y_PRED, FACET_D)
    assert report["DPPL"] == pytest.approx(3 / 6 - 1 / 4)
    assert report["DI"] == pytest.approx((1 / 4) / (3 / 6))
    assert report["RD"] == pytest.approx(2 / 3 - 1 / 2)
    assert report["AD"] == pytest.approx(4 / 6 - 3 / 4)


def test_metrics_match_smclarify_on_random_data():
    posttraining = pytest.importorskip("smclarify.bias.metrics.posttraining")
    rng = np.random.default_rng(19)
    for _ in range(5):
        n = 400
        y_true = rng.random(n) < 0.3
        y_pred = rng.random(n) < np.where(y_true, 0.7, 0.15)
        facet_d = rng.random(n) < 0.35
        ours = review.posttraining_report(y_true, y_pred, facet_d)
        feature = pd.Series(np.zeros(n))
        d, yt, yp = pd.Series(facet_d), pd.Series(y_true), pd.Series(y_pred)
        assert ours["DPPL"] == pytest.approx(posttraining.DPPL(feature, d, yp), abs=1e-12)
        assert ours["DI"] == pytest.approx(posttraining.DI(feature, d, yp), abs=1e-12)
        assert ours["RD"] == pytest.approx(posttraining.RD(feature, d, yt, yp), abs=1e-12)
        assert ours["AD"] == pytest.approx(posttraining.AD(feature, d, yt, yp), abs=1e-12)


def test_bad_inputs_raise_with_a_fix():
    with pytest.raises(LabKitError, match="0/1"):
        review.posttraining_report(Y_TRUE, Y_PRED * 0.7, FACET_D)
    with pytest.raises(LabKitError, match="lengths"):
        review.posttraining_report(Y_TRUE, Y_PRED[:-1], FACET_D)
    with pytest.raises(LabKitError, match="every row or no row"):
        review.posttraining_report(Y_TRUE, Y_PRED, np.ones(10, dtype=bool))
    with pytest.raises(LabKitError, match="divides by zero"):
        review.posttraining_report(Y_TRUE, np.where(FACET_D, Y_PRED, 0), FACET_D)
    with pytest.raises(LabKitError, match="no truly positive"):
        review.posttraining_report(np.where(FACET_D, 0, Y_TRUE), Y_PRED, FACET_D)


def test_threshold_sweep_moves_only_facet_d():
    scores = np.array([0.9, 0.4, 0.3, 0.1, 0.8, 0.7, 0.45, 0.6, 0.2, 0.1])
    sweep = review.threshold_sweep(scores, Y_TRUE, FACET_D, [0.05, 0.35, 0.5, 0.95])
    # at 0.5 both groups use 0.5: predictions are exactly Y_PRED
    assert sweep.loc[0.5, "DPPL"] == pytest.approx(3 / 6 - 1 / 4)
    assert sweep.loc[0.5, "accuracy"] == pytest.approx(0.7)
    # 0.35 lets the woman at 0.4 through: q̂_d = 2/4, TPR_d = 1, ACC_d = 1
    assert sweep.loc[0.35, "DPPL"] == pytest.approx(0.0)
    assert sweep.loc[0.35, "RD"] == pytest.approx(2 / 3 - 1)
    assert sweep.loc[0.35, "accuracy"] == pytest.approx(0.8)
    assert sweep.loc[0.05, "DPPL"] == pytest.approx(3 / 6 - 1.0)
    assert sweep["DPPL"].is_monotonic_increasing
    with pytest.raises(LabKitError, match="probability"):
        review.threshold_sweep(scores * 2, Y_TRUE, FACET_D, [0.5])


def card() -> dict:
    return {
        "model_overview": {"model_description": "test", "problem_type": "Binary Classification"},
        "intended_uses": {"intended_uses": "teaching", "risk_rating": "High"},
        "evaluation_details": [{
            "name": "holdout",
            "metric_groups": [{"name": "bias", "metric_data": [
                review.metric("DPPL", np.float64(0.13), "facet d = Female"),
                review.metric("passes four-fifths rule", False),
            ]}],
        }],
    }


def test_valid_model_card_round_trips_as_json():
    back = json.loads(review.model_card_json(card()))
    data = back["evaluation_details"][0]["metric_groups"][0]["metric_data"]
    assert data[0] == {"name": "DPPL", "type": "number", "value": 0.13,
                       "notes": "facet d = Female"}
    assert data[1] == {"name": "passes four-fifths rule", "type": "boolean", "value": False}


def test_model_card_unknown_key_and_bad_enum_are_rejected():
    misspelt = card()
    misspelt["intended_use"] = misspelt.pop("intended_uses")
    with pytest.raises(LabKitError, match=r"\['content.intended_use'\]"):
        review.model_card_json(misspelt)
    nested = card()
    nested["evaluation_details"][0]["metric_groups"][0]["metric_data"][0]["unit"] = "pp"
    with pytest.raises(LabKitError, match=r"metric_groups\[0\]\.metric_data\[0\]\.unit"):
        review.model_card_json(nested)
    bad_risk = card()
    bad_risk["intended_uses"]["risk_rating"] = "Severe"
    with pytest.raises(LabKitError, match="risk_rating"):
        review.model_card_json(bad_risk)
    too_long = card()
    too_long["model_overview"]["model_description"] = "x" * 2000
    with pytest.raises(LabKitError, match="model_description"):
        review.model_card_json(too_long)
