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
