"""Lab 16b's bias metrics (its #@save cells) against AWS's own open-source implementation,
smclarify.

smclarify is what the Clarify container runs for bias metrics. Its report treats numeric
facet or label columns as continuous, so the inputs are cast to ``category`` first (see
platform-facts.md). Agreement is required to 1e-9.
"""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
from smclarify.bias import report
from smclarify.bias.metrics import pretraining

from labkit import lessons
from labkit.standins.adult import load_adult

TOL = 1e-9
METRICS = ["CI", "DPL", "KL", "JS", "KS"]
bias = lessons.load("16b-clarify-dpl-bias")


def smclarify_pretraining(df: pd.DataFrame, label: str, label_values: list, facet: str,
                          facet_values: list) -> dict[str, float]:
    """Pre-training metrics from smclarify's report function, as {name: value}."""
    cat = df[[facet, label]].astype("category")
    out = report.bias_report(
        cat,
        report.FacetColumn(facet, facet_values),
        report.LabelColumn(label, cat[label], label_values),
        report.StageType.PRE_TRAINING,
        metrics=METRICS,
    )
    assert len(out) == 1, out
    return {m["name"]: m["value"] for m in out[0]["metrics"]}


def smclarify_direct(df: pd.DataFrame, label: str, label_values: list, facet: str,
                     facet_values: list) -> dict[str, float]:
    """The same metrics from smclarify's metric functions, fed boolean indexes."""
    d = df[facet].isin(facet_values)
    pos = df[label].isin(label_values)
    feature = df[facet]
    return {
        "CI": pretraining.CI(feature, d),
        "DPL": pretraining.DPL(feature, d, pos),
        "KL": pretraining.KL(pos, d),
        "JS": pretraining.JS(pos, d),
        "KS": pretraining.KS(pos, d),
    }


def ours(df, label, label_values, facet, facet_values):
    return bias.pretraining_report(
        df, label=label, label_values=label_values, facet=facet, facet_values=facet_values
    )


def assert_close(a: dict[str, float], b: dict[str, float]) -> None:
    assert a.keys() == b.keys()
    for k in a:
        assert abs(a[k] - b[k]) <= TOL, (k, a[k], b[k])


@pytest.fixture(scope="module")
def adult() -> pd.DataFrame:
    return load_adult()


@pytest.mark.parametrize(
    "facet,facet_values",
    [("sex", ["Female"]), ("sex", ["Male"]), ("race", ["Black"]),
     ("race", ["Black", "Amer-Indian-Eskimo"]), ("marital_status", ["Never-married"])],
)
def test_lab_data_matches_smclarify_report(adult, facet, facet_values):
    expected = smclarify_pretraining(adult, "income", [">50K"], facet, facet_values)
    assert_close(ours(adult, "income", [">50K"], facet, facet_values), expected)


def test_lab_data_matches_smclarify_functions(adult):
    expected = smclarify_direct(adult, "income", [">50K"], "sex", ["Female"])
    assert_close(ours(adult, "income", [">50K"], "sex", ["Female"]), expected)


def test_lab_dpl_value(adult):
    # By hand from the counts: the value the lab reports and the chapter quotes.
    female = adult[adult.sex == "Female"]
    male = adult[adult.sex == "Male"]
    qd = (female.income == ">50K").mean()
    qa = (male.income == ">50K").mean()
    got = bias.dpl(adult, label="income", label_values=">50K", facet="sex",
                   facet_values="Female")
    assert got == pytest.approx(qa - qd, abs=TOL)
    assert got == pytest.approx(0.183552, abs=1e-6)  # chapter 16 quotes about +0.18


def table(rows: list[tuple[str, int, int]]) -> pd.DataFrame:
    """A data frame from (facet value, positives, negatives) counts."""
    parts = []
    for value, pos, neg in rows:
        parts += [(value, 1)] * pos + [(value, 0)] * neg
    return pd.DataFrame(parts, columns=["group", "y"])


def test_hand_checkable_ten_rows():
    # d: 1 of 4 positive (q_d = 0.25); a: 4 of 6 (q_a = 2/3).
    df = table([("d", 1, 3), ("a", 4, 2)])
    got = ours(df, "y", [1], "group", ["d"])
    qa, qd = 4 / 6, 1 / 4
    assert got["DPL"] == pytest.approx(0.416667, abs=1e-6)
    assert got["DPL"] == pytest.approx(qa - qd, abs=TOL)
    assert got["CI"] == pytest.approx((6 - 4) / 10, abs=TOL)
    assert got["KS"] == pytest.approx(qa - qd, abs=TOL)
    kl = qa * np.log(qa / qd) + (1 - qa) * np.log((1 - qa) / (1 - qd))
    assert got["KL"] == pytest.approx(kl, abs=TOL)
    m1, m0 = (qa + qd) / 2, (2 - qa - qd) / 2
    js = 0.5 * (qa * np.log(qa / m1) + (1 - qa) * np.log((1 - qa) / m0)
                + qd * np.log(qd / m1) + (1 - qd) * np.log((1 - qd) / m0))
    assert got["JS"] == pytest.approx(js, abs=TOL)
    assert_close(got, smclarify_pretraining(df, "y", [1], "group", ["d"]))


@pytest.mark.parametrize(
    "counts",
    [
        [("d", 5, 5), ("a", 5, 5)],            # no bias at all: every metric 0
        [("d", 9, 1), ("a", 1, 9)],            # facet d favoured: DPL negative
        [("d", 1, 1), ("a", 30, 70)],          # tiny facet d: CI near 1
        [("d", 3, 7), ("a", 2, 1), ("x", 5, 5)],  # facet a made of two values
    ],
)
def test_small_tables_match_smclarify(counts):
    df = table(counts)
    assert_close(ours(df, "y", [1], "group", ["d"]),
                 smclarify_pretraining(df, "y", [1], "group", ["d"]))


def test_no_bias_table_is_zero():
    got = ours(table([("d", 5, 5), ("a", 5, 5)]), "y", [1], "group", ["d"])
    assert all(abs(v) <= TOL for v in got.values()), got


def test_sign_follows_the_facet_convention():
    df = table([("d", 9, 1), ("a", 1, 9)])
    assert ours(df, "y", [1], "group", ["d"])["DPL"] == pytest.approx(-0.8, abs=TOL)
    assert ours(df, "y", [1], "group", ["a"])["DPL"] == pytest.approx(0.8, abs=TOL)


def test_string_labels_and_multiclass_labels_match_smclarify():
    rng = np.random.default_rng(3)
    df = pd.DataFrame({
        "group": rng.choice(["p", "q", "r"], 400),
        "y": rng.choice(["low", "mid", "high"], 400, p=[0.5, 0.3, 0.2]),
    })
    for labels, facets in itertools.product([["high"], ["high", "mid"]], [["p"], ["p", "r"]]):
        assert_close(ours(df, "y", labels, "group", facets),
                     smclarify_pretraining(df, "y", labels, "group", facets))


def test_dppl_matches_smclarify_posttraining():
    from smclarify.bias.metrics import posttraining

    rng = np.random.default_rng(7)
    df = pd.DataFrame({"group": rng.choice(["d", "a"], 300), "y": rng.integers(0, 2, 300),
                       "yhat": rng.integers(0, 2, 300)})
    d = df.group == "d"
    expected = posttraining.DPPL(df.group, d, df.yhat == 1)
    # DPPL is DPL computed on the predicted label column
    got = bias.dpl(df, label="yhat", label_values=1, facet="group", facet_values="d")
    assert abs(got - expected) <= TOL
