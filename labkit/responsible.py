"""A responsible-AI review in code: post-training bias metrics, threshold trade-offs, a model card.

Used by chapter 19's lab, next to :mod:`labkit.clarify` (which has the pre-training metrics
and the Adult data). Three groups of helpers:

* **Post-training bias metrics** with Clarify's names and facet convention (facet *d* = the
  group asked about, facet *a* = everyone else): :func:`dppl`, :func:`disparate_impact`,
  :func:`recall_difference` (the "equal opportunity" gap), :func:`accuracy_difference`, and
  :func:`posttraining_report` for all of them. They take plain arrays: true labels (0/1),
  predicted labels (0/1) and a boolean mask of facet *d*.
* **Threshold trade-off**: :func:`threshold_sweep` moves the decision threshold of one group
  and records accuracy and the fairness metrics at each step.
* **Model card**: :func:`validate_model_card_content` checks a ``Content`` document against
  the SageMaker SDK's model-card schema classes (and rejects unknown keys, which the schema
  classes would silently drop); :func:`simple_metric` builds one metric entry.
"""

from __future__ import annotations

import json
import typing
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from labkit.errors import LabKitError

POSTTRAINING_METRICS = ("DPPL", "DI", "RD", "AD")
"""The post-training metrics this module computes, in Clarify's short names."""


# ---------------------------------------------------------------------------------- inputs
@dataclass(frozen=True)
class Outcomes:
    """True and predicted labels (booleans) and the facet-*d* mask, checked for shape."""

    y_true: np.ndarray
    y_pred: np.ndarray
    facet_d: np.ndarray

    @property
    def facet_a(self) -> np.ndarray:
        """Everyone not in facet *d*."""
        return ~self.facet_d

    def positive_rate(self, rows: np.ndarray) -> float:
        """Share of ``rows`` predicted positive (q̂)."""
        return float(self.y_pred[rows].mean())

    def recall(self, rows: np.ndarray) -> float:
        """True-positive rate in ``rows``: predicted positive among the truly positive."""
        pos = rows & self.y_true
        if not pos.any():
            raise LabKitError(
                "A group has no truly positive rows, so its recall is undefined.",
                "use a larger evaluation set, or merge small groups.",
            )
        return float(self.y_pred[pos].mean())

    def accuracy(self, rows: np.ndarray) -> float:
        """Share of ``rows`` predicted correctly."""
        return float((self.y_pred[rows] == self.y_true[rows]).mean())


def outcomes(y_true: Any, y_pred: Any, facet_d: Any) -> Outcomes:
    """Check and convert the three arrays every post-training metric needs.

    ``y_true`` and ``y_pred`` hold 0/1 (or booleans); ``facet_d`` is True for rows in facet
    *d*. All three must have the same length, and both facets must be non-empty.
    """
    arrays = []
    for name, values in (("y_true", y_true), ("y_pred", y_pred), ("facet_d", facet_d)):
        arr = np.asarray(values)
        if arr.ndim != 1:
            raise LabKitError(
                f"{name} must be one value per row (1-D); got shape {arr.shape}.",
                "pass a column, e.g. df['income'].eq('>50K').to_numpy().",
            )
        if not set(np.unique(arr).tolist()) <= {0, 1}:
            raise LabKitError(
                f"{name} must hold 0/1 or True/False; it holds {np.unique(arr)[:5]} ….",
                "turn labels into 0/1 first, e.g. (df['income'] == '>50K').astype(int); "
                "turn probabilities into labels with a threshold.",
            )
        arrays.append(arr.astype(bool))
    if len({len(a) for a in arrays}) != 1:
        raise LabKitError(
            f"y_true, y_pred and facet_d have lengths {[len(a) for a in arrays]}.",
            "pass one value per row of the same evaluation set to each.",
        )
    if arrays[2].all() or not arrays[2].any():
        raise LabKitError(
            "facet_d selects every row or no row, so there is no second group.",
            "pass a mask that is True only for the group the analysis asks about.",
        )
    return Outcomes(*arrays)


# ---------------------------------------------------------------------------------- metrics
def dppl(y_true: Any, y_pred: Any, facet_d: Any) -> float:
    """DPPL = q̂_a − q̂_d: difference in positive proportions in *predicted* labels.

    Positive when facet *d* is predicted positive less often. ``y_true`` is not used; it is
    accepted so that all metrics share one signature.
    """
    o = outcomes(y_true, y_pred, facet_d)
    return o.positive_rate(o.facet_a) - o.positive_rate(o.facet_d)


def disparate_impact(y_true: Any, y_pred: Any, facet_d: Any) -> float:
    """DI = q̂_d / q̂_a: the ratio of predicted-positive rates (1 = parity).

    The "four-fifths rule" of US employment practice flags DI below 0.8.
    """
    o = outcomes(y_true, y_pred, facet_d)
    qa = o.positive_rate(o.facet_a)
    if qa == 0:
        raise LabKitError(
            "Facet a is never predicted positive, so DI divides by zero.",
            "check the threshold; a model that never predicts positive has no DI.",
        )
    return o.positive_rate(o.facet_d) / qa


def recall_difference(y_true: Any, y_pred: Any, facet_d: Any) -> float:
    """RD = TPR_a − TPR_d: Clarify's recall difference, the equal-opportunity gap.

    Positive when truly positive members of facet *d* are recognised less often.
    """
    o = outcomes(y_true, y_pred, facet_d)
    return o.recall(o.facet_a) - o.recall(o.facet_d)


def accuracy_difference(y_true: Any, y_pred: Any, facet_d: Any) -> float:
    """AD = ACC_a − ACC_d: positive when the model is less accurate for facet *d*."""
    o = outcomes(y_true, y_pred, facet_d)
    return o.accuracy(o.facet_a) - o.accuracy(o.facet_d)


def posttraining_report(y_true: Any, y_pred: Any, facet_d: Any) -> dict[str, float]:
    """All of :data:`POSTTRAINING_METRICS` as ``{"DPPL": …, "DI": …, "RD": …, "AD": …}``."""
    return {
        "DPPL": dppl(y_true, y_pred, facet_d),
        "DI": disparate_impact(y_true, y_pred, facet_d),
        "RD": recall_difference(y_true, y_pred, facet_d),
        "AD": accuracy_difference(y_true, y_pred, facet_d),
    }


def threshold_sweep(
    scores: Any,
    y_true: Any,
    facet_d: Any,
    thresholds_d: Sequence[float] | np.ndarray,
    threshold_a: float = 0.5,
) -> pd.DataFrame:
    """Accuracy and fairness as facet *d*'s decision threshold moves (facet *a*'s stays).

    ``scores`` are the model's probabilities of the positive class. For each threshold t in
    ``thresholds_d`` a row of facet *d* is predicted positive when its score ≥ t, a row of
    facet *a* when its score ≥ ``threshold_a``. Returns one row per t with ``accuracy`` and
    the :data:`POSTTRAINING_METRICS`, indexed by ``threshold_d``.
    """
    s = np.asarray(scores, dtype=float)
    if s.ndim != 1 or not np.all((s >= 0) & (s <= 1)):
        raise LabKitError(
            "scores must be one probability in [0, 1] per row.",
            "pass model.predict_proba(X)[:, 1].",
        )
    d = np.asarray(facet_d, dtype=bool)
    rows = []
    for t in thresholds_d:
        pred = np.where(d, s >= t, s >= threshold_a)
        o = outcomes(y_true, pred, d)
        rows.append({"threshold_d": float(t), "accuracy": o.accuracy(np.ones_like(d)),
                     **posttraining_report(o.y_true, o.y_pred, o.facet_d)})
    return pd.DataFrame(rows).set_index("threshold_d")


# ---------------------------------------------------------------------------------- model card
def simple_metric(name: str, value: float | str | bool, notes: str = "") -> dict[str, Any]:
    """One ``metric_data`` entry of a model card: ``{"name", "type", "value"[, "notes"]}``."""
    kind = "boolean" if isinstance(value, bool) else "string" if isinstance(value, str) \
        else "number"
    entry: dict[str, Any] = {"name": name, "type": kind,
                             "value": float(value) if kind == "number" else value}
    if notes:
        entry["notes"] = notes
    return entry


def _model_classes(annotation: Any) -> list[Any]:
    """Pydantic model classes inside a field annotation (Optional, List, Union …)."""
    from pydantic import BaseModel

    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return [c for arg in typing.get_args(annotation) for c in _model_classes(arg)]


def _unknown_keys(value: Any, annotation: Any, path: str) -> list[str]:
    classes = _model_classes(annotation)
    if isinstance(value, list):
        return [p for i, v in enumerate(value)
                for p in _unknown_keys(v, annotation, f"{path}[{i}]")]
    if not isinstance(value, dict) or not classes:
        return []
    fields = {k: f for c in classes for k, f in c.model_fields.items()}
    problems = [f"{path}.{k}" for k in value if k not in fields]
    for k, v in value.items():
        if k in fields:
            problems += _unknown_keys(v, fields[k].annotation, f"{path}.{k}")
    return problems


def validate_model_card_content(content: dict[str, Any]) -> str:
    """Check a model card's ``Content`` and return it as the JSON string the API takes.

    Validates against ``sagemaker.core.shapes.model_card_shapes.ModelCardContent`` (the SDK's
    classes generated from the model card JSON schema), rejects keys the schema does not
    know (a misspelt ``intended_use`` would otherwise vanish), and checks the 100,000
    character limit of ``CreateModelCard``'s ``Content``.
    """
    from pydantic import ValidationError
    from sagemaker.core.shapes.model_card_shapes import ModelCardContent

    unknown = _unknown_keys(content, ModelCardContent, "content")
    if unknown:
        raise LabKitError(
            f"The model card has keys the schema does not know: {unknown}.",
            "use the schema's snake_case names (model_overview, intended_uses, "
            "training_details, evaluation_details, additional_information, …).",
        )
    try:
        ModelCardContent.model_validate(content)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise LabKitError(
            f"The model card does not match the schema at {where}: {first['msg']} "
            f"({exc.error_count()} problem(s) in all).",
            "fix that field (see the model card JSON schema in the SageMaker guide).",
        ) from exc
    text = json.dumps(content)
    if len(text) > 100_000:
        raise LabKitError(
            f"The model card content is {len(text):,} characters; the API takes 100,000.",
            "shorten the free-text fields or move large results to S3 and link them.",
        )
    return text
