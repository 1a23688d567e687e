"""The census data and the model that chapters 16 and 19 examine: not a lesson, a subject.

Stands in for "your training data and your trained model": the course's 5,000-row cut of
UCI Adult (``data/adult/README.md``), encoded for a tree model, and the small
gradient-boosted classifier the Clarify labs explain and audit. Deterministic, offline.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from labkit.errors import LabKitError
from labkit.paths import DATA_DIR

ADULT_CSV: Path = DATA_DIR / "adult" / "adult.csv"
"""The 5,000-row cut of UCI Adult that ships with the course."""

ADULT_LABEL = "income"
"""Label column; the favourable outcome is ``">50K"``."""


def load_adult() -> pd.DataFrame:
    """Read the Adult cut shipped in ``data/adult/`` (no network access)."""
    if not ADULT_CSV.is_file():
        raise LabKitError(
            f"The Adult data set is missing: {ADULT_CSV} does not exist.",
            "restore it with 'git checkout -- data/adult/adult.csv' (see its README).",
        )
    return pd.read_csv(ADULT_CSV)


def encode_adult(
    df: pd.DataFrame, drop: Sequence[str] = (),
) -> tuple[pd.DataFrame, np.ndarray, dict[str, list[str]]]:
    """``(X, y, categories)``: text columns as integer codes in alphabetical order.

    ``categories[col][code]`` is the text of a code; numeric columns stay (as floats);
    ``y`` is 1 for ``>50K``. Columns in ``drop`` are left out of X (e.g. ``["sex"]``).
    """
    if ADULT_LABEL not in df.columns:
        raise LabKitError(
            f"The label column {ADULT_LABEL!r} is not in the data ({list(df.columns)}).",
            "pass rows of the Adult data set as load_adult() returns them.",
        )
    X = df.drop(columns=[ADULT_LABEL, *drop])
    categories: dict[str, list[str]] = {}
    for col in X.columns:
        if not pd.api.types.is_numeric_dtype(X[col]):
            categories[col] = sorted(X[col].dropna().unique().tolist())
            X[col] = pd.Categorical(X[col], categories=categories[col]).codes
    y = (df[ADULT_LABEL] == ">50K").to_numpy(dtype=int)
    return X.astype(float), y, categories


def train_adult_model(X: pd.DataFrame, y: np.ndarray, sample_weight: Any = None) -> Any:
    """A small histogram gradient-boosted tree ensemble, deterministic (about 1–2 s)."""
    from sklearn.ensemble import HistGradientBoostingClassifier

    model = HistGradientBoostingClassifier(
        max_iter=100, learning_rate=0.1, max_leaf_nodes=15, early_stopping=False,
        random_state=0,
    )
    return model.fit(X, y, sample_weight=sample_weight)


MODEL_KIND = "tree_ensemble_v1"
"""The JSON model format lab 16a's inference handler evaluates (numpy only, no scikit-learn)."""


def export_model(model: Any, X: pd.DataFrame, categories: dict[str, list[str]]) -> dict[str, Any]:
    """``train_adult_model``'s classifier as JSON: features, text categories, trees.

    Lab 16a's inference handler (``serve_adult.py``, packed with this file as ``model.json``
    into the model's ``model.tar.gz``) loads it and predicts P(>50K) from *raw* rows (text
    columns are encoded with ``categories`` exactly as :func:`encode_adult` does), on AWS's
    scikit-learn serving image and, in-process, in the course's Clarify container. A JSON
    tree dump is exact across numpy and scikit-learn versions, which a pickle is not.
    """
    predictors = getattr(model, "_predictors", None)
    if predictors is None or model.n_trees_per_iteration_ != 1:
        raise LabKitError(
            "export_model takes the binary HistGradientBoostingClassifier of "
            "train_adult_model.",
            "train it with train_adult_model(X, y) first.",
        )
    trees = []
    for (tree,) in predictors:
        nodes = tree.nodes
        if nodes["is_categorical"].any():
            raise LabKitError("Native categorical splits are not exported.",
                              "encode text columns with encode_adult.")
        trees.append({
            "feature": nodes["feature_idx"].astype(int).tolist(),
            "threshold": nodes["num_threshold"].astype(float).tolist(),
            "left": nodes["left"].astype(int).tolist(),
            "right": nodes["right"].astype(int).tolist(),
            "missing_left": nodes["missing_go_to_left"].astype(bool).tolist(),
            "is_leaf": nodes["is_leaf"].astype(bool).tolist(),
            "value": nodes["value"].astype(float).tolist(),
        })
    return {
        "kind": MODEL_KIND,
        "features": list(X.columns),
        "categories": {k: list(v) for k, v in categories.items()},
        "baseline": float(np.ravel(model._baseline_prediction)[0]),
        "output": "probability of the positive class (logistic of the summed trees)",
        "trees": trees,
    }


def exported_log_odds(spec: dict[str, Any], X: pd.DataFrame) -> np.ndarray:
    """Evaluate an :func:`export_model` JSON on encoded rows ``X``, in log-odds.

    A reference written apart from lab 16a's handler: the unit tests check the export against
    ``decision_function`` with it, and the container tests use it as the model's truth.
    """
    x = X[spec["features"]].to_numpy(dtype=float)
    total = np.full(len(x), spec["baseline"])
    for t in spec["trees"]:
        arr = {k: np.asarray(v) for k, v in t.items()}
        node = np.zeros(len(x), dtype=int)
        for _ in range(len(arr["value"])):
            inner = ~arr["is_leaf"][node]
            if not inner.any():
                break
            rows = np.flatnonzero(inner)
            nd = node[rows]
            value = x[rows, arr["feature"][nd]]
            left = np.where(np.isnan(value), arr["missing_left"][nd],
                            value <= arr["threshold"][nd])
            node[rows] = np.where(left, arr["left"][nd], arr["right"][nd])
        total += arr["value"][node]
    return total
