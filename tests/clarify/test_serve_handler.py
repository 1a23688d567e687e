"""Lab 16a's inference handler (serve_adult.py, the notebook's %%writefile cell) is the model.

The handler is what AWS's scikit-learn image serves to Clarify's shadow endpoint and what the
course's Clarify container calls in-process, so it must return ``predict_proba`` of the
trained model for *raw* rows: on the whole data set, for a text value the training data never
had (code -1, as ``encode_adult`` codes it) and for an empty numeric field (NaN, which the
trees send down their learned missing-value branch). The reference is scikit-learn itself.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from labkit.paths import LABS_DIR
from labkit.standins import adult as census

LAB = LABS_DIR / "03-responsible-and-generative-ai" / "16a-clarify-shap-pdp.ipynb"


def handler_source() -> str:
    cells = json.loads(LAB.read_text())["cells"]
    (source,) = [text for text in ("".join(c["source"]) for c in cells)
                 if text.startswith("%%writefile")
                 and text.split("\n", 1)[0].endswith("/serve_adult.py")]
    return source.split("\n", 1)[1]


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, Any, Any, pd.DataFrame]:
    """(handler module, what model_fn loaded, the trained model, the raw data)."""
    adult = census.load_adult()
    X, y, categories = census.encode_adult(adult)
    model = census.train_adult_model(X, y)
    folder = tmp_path_factory.mktemp("model")
    (folder / "code").mkdir()
    (folder / "model.json").write_text(json.dumps(census.export_model(model, X, categories)))
    path = folder / "code" / "serve_adult.py"
    path.write_text(handler_source())
    spec = importlib.util.spec_from_file_location("serve_adult", path)
    assert spec is not None and spec.loader is not None
    handler = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(handler)
    return handler, handler.model_fn(str(folder)), model, adult


def invoke(handler: Any, loaded: Any, rows: pd.DataFrame) -> np.ndarray:
    """One request as the serving container makes it: CSV text in, CSV text out."""
    body = rows.to_csv(index=False, header=False)
    answer, content_type = handler.output_fn(
        handler.predict_fn(handler.input_fn(body, "text/csv"), loaded), "text/csv")
    assert content_type == "text/csv"
    return np.array(answer.split(), dtype=float)


def encoded_like_training(rows: pd.DataFrame, adult: pd.DataFrame) -> pd.DataFrame:
    """Codes over the *training* categories (-1 when unseen), numbers as floats."""
    _, _, categories = census.encode_adult(adult)
    X = rows.copy()
    for col, texts in categories.items():
        X[col] = pd.Categorical(rows[col], categories=texts).codes
    return X.astype(float)


def test_the_handler_returns_predict_proba_on_every_row(served):
    handler, loaded, model, adult = served
    X, _, _ = census.encode_adult(adult)
    got = invoke(handler, loaded, adult.drop(columns="income"))
    assert len(got) == len(adult)
    assert np.max(np.abs(got - model.predict_proba(X)[:, 1])) < 1e-12


def test_unseen_text_and_missing_numbers_follow_the_trees(served):
    handler, loaded, model, adult = served
    rows = adult.drop(columns="income").iloc[:40].copy()
    rows.loc[rows.index[:10], "occupation"] = "Astronaut"  # never in the training data
    rows["age"] = rows["age"].astype(float)
    rows.loc[rows.index[10:20], "age"] = np.nan  # an empty CSV field
    rows["capital_gain"] = rows["capital_gain"].astype(float)
    rows.loc[rows.index[20:30], "capital_gain"] = np.nan
    expected = model.predict_proba(encoded_like_training(rows, adult))[:, 1]
    got = invoke(handler, loaded, rows)
    assert np.max(np.abs(got - expected)) < 1e-12
    # the changed rows really took another path than their originals
    original = invoke(handler, loaded, adult.drop(columns="income").iloc[:40])
    assert np.sum(np.abs(got - original) > 1e-6) >= 10


@pytest.mark.parametrize("content_type,accept", [("application/json", "text/csv"),
                                                 ("text/csv", "application/json")])
def test_other_media_types_are_refused(served, content_type, accept):
    handler, loaded, _, adult = served
    body = adult.drop(columns="income").iloc[:2].to_csv(index=False, header=False)
    with pytest.raises(ValueError, match="serve_adult"):
        handler.output_fn(
            handler.predict_fn(handler.input_fn(body, content_type), loaded), accept)


def test_the_notebook_writes_the_handler_where_the_archive_takes_it():
    first_line = next("".join(c["source"]).split("\n", 1)[0]
                      for c in json.loads(LAB.read_text())["cells"]
                      if "".join(c["source"]).startswith("%%writefile"))
    assert Path(first_line.split()[1]).parts[-2:] == ("code", "serve_adult.py")
