"""What SageMaker Clarify computes, written out so a lab can compute it and check it.

Three groups of helpers, used by the labs of chapter 16:

* **Pre-training bias metrics** — :func:`dpl`, :func:`ci`, :func:`kl`, :func:`js`,
  :func:`ks` (and :func:`dppl`, the post-training twin of DPL) — with Clarify's facet
  convention: facet *d* is the group named by ``facet_values`` (the group the analysis
  asks about, often the one suspected of being disadvantaged) and facet *a* is everyone
  else. Each takes optional per-row ``weights`` so that reweighing can be shown. Bad input
  (a column that does not exist, a facet value with no rows, a label value that never
  occurs) raises :class:`~labkit.errors.LabKitError` with the fix.
* **Explanations** — :func:`exact_shapley_values`, Shapley values by enumerating every
  coalition (an independent check for tree SHAP), and :func:`partial_dependence_by_hand`.
* **Clarify job configuration** for the ``aws`` backend — :func:`data_config`,
  :func:`bias_config`, :func:`shap_config`, :func:`pdp_config`, :func:`model_config` and
  :func:`analysis_config`, thin wrappers over ``sagemaker.core.clarify`` that check names
  against the data before a paid job finds the mistake.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from labkit.errors import LabKitError
from labkit.paths import DATA_DIR

ADULT_CSV: Path = DATA_DIR / "adult" / "adult.csv"
"""The course's 5,000-row cut of UCI Adult (see ``data/adult/README.md``)."""

ADULT_LABEL = "income"
"""Label column of the Adult cut; the positive outcome is ``">50K"``."""

PRETRAINING_METRICS = ("CI", "DPL", "KL", "JS", "KS")
"""The pre-training metrics this module computes, in Clarify's short names."""


# ---------------------------------------------------------------------------------- data
def load_adult() -> pd.DataFrame:
    """Read the Adult cut shipped in ``data/adult/`` (no network access)."""
    if not ADULT_CSV.is_file():
        raise LabKitError(
            f"The Adult data set is missing: {ADULT_CSV} does not exist.",
            "restore it with 'git checkout -- data/adult/adult.csv', or rebuild it with "
            "data/adult/make_cut.py (see data/adult/README.md).",
        )
    return pd.read_csv(ADULT_CSV)


def encode_adult(
    df: pd.DataFrame, drop: Sequence[str] = (),
) -> tuple[pd.DataFrame, np.ndarray, dict[str, list[str]]]:
    """Adult as numbers for a tree model: ``(X, y, categories)``.

    Each text column becomes integer codes in the alphabetical order of its values
    (``categories[col][code]`` is the text), numeric columns stay as they are (as floats),
    ``y`` is 1 for ``>50K``. Columns in ``drop`` are left out of X (e.g. ``["sex"]``).
    """
    _require_column(df, ADULT_LABEL, "label")
    X = df.drop(columns=[ADULT_LABEL, *drop])
    categories: dict[str, list[str]] = {}
    for col in X.columns:
        if not pd.api.types.is_numeric_dtype(X[col]):
            cats = sorted(X[col].dropna().unique().tolist())
            categories[col] = cats
            X[col] = pd.Categorical(X[col], categories=cats).codes
    y = (df[ADULT_LABEL] == ">50K").to_numpy(dtype=int)
    return X.astype(float), y, categories


def train_adult_model(X: pd.DataFrame, y: np.ndarray, sample_weight: Any = None) -> Any:
    """The labs' model: a small histogram gradient-boosted tree ensemble (about 1–2 s).

    Deterministic (``random_state=0``, no early stopping) so numbers repeat run to run.
    """
    from sklearn.ensemble import HistGradientBoostingClassifier

    model = HistGradientBoostingClassifier(
        max_iter=100, learning_rate=0.1, max_leaf_nodes=15, early_stopping=False,
        random_state=0,
    )
    return model.fit(X, y, sample_weight=sample_weight)


# ---------------------------------------------------------------------------------- groups
def _as_list(values: Any) -> list[Any]:
    if isinstance(values, (str, bytes)) or not isinstance(values, Iterable):
        return [values]
    return list(values)


def _require_column(df: pd.DataFrame, column: str, role: str) -> pd.Series:
    if column not in df.columns:
        raise LabKitError(
            f"The {role} column {column!r} is not in the data; its columns are "
            f"{list(df.columns)}.",
            f"pass one of those names as the {role} (names are case-sensitive).",
        )
    return df[column]


def _mask(series: pd.Series, values: list[Any], role: str) -> np.ndarray:
    """Rows of ``series`` whose value is one of ``values``; each value must occur."""
    present = set(series.dropna().unique().tolist())
    missing = [v for v in values if v not in present]
    if missing:
        shown = sorted(present, key=str)[:20]
        raise LabKitError(
            f"The {role} value(s) {missing} never occur in column {series.name!r}, so the "
            f"group would be empty; the values present are {shown}.",
            f"pass {role} values that occur in the data (watch spelling, case and type: "
            "'1' is not 1).",
        )
    return series.isin(values).to_numpy(dtype=bool)


@dataclass(frozen=True)
class Groups:
    """The two boolean splits every bias metric needs, plus the row weights.

    ``facet_d`` is True for rows in facet *d* (the named facet values); ``positive`` is True
    for rows whose label is one of the positive label values.
    """

    facet_d: np.ndarray
    positive: np.ndarray
    weights: np.ndarray

    @property
    def facet_a(self) -> np.ndarray:
        """Rows in facet *a*: everyone not in facet *d*."""
        return ~self.facet_d

    def size(self, rows: np.ndarray) -> float:
        """Total weight of ``rows`` (a row count when all weights are 1)."""
        return float(self.weights[rows].sum())

    def positive_rate(self, rows: np.ndarray) -> float:
        """Weighted share of ``rows`` with a positive label (q_a or q_d)."""
        return self.size(rows & self.positive) / self.size(rows)


def groups(
    df: pd.DataFrame,
    *,
    label: str,
    label_values: Any,
    facet: str,
    facet_values: Any,
    weights: Sequence[float] | np.ndarray | None = None,
) -> Groups:
    """Split ``df`` into facet *a* / *d* and positive / negative labels, checking the input.

    ``label_values`` and ``facet_values`` are one value or a list (Clarify's
    ``label_values_or_threshold`` and ``facet_values_or_threshold`` for categorical data).
    """
    label_col = _require_column(df, label, "label")
    facet_col = _require_column(df, facet, "facet")
    facet_d = _mask(facet_col, _as_list(facet_values), "facet")
    positive = _mask(label_col, _as_list(label_values), "label")
    if facet_d.all():
        raise LabKitError(
            f"Every row of {facet!r} is in facet d ({_as_list(facet_values)}), so facet a "
            "(everyone else) is empty and there is nothing to compare with.",
            "name only the sensitive group's value(s) as facet_values, not every value.",
        )
    if positive.all():
        raise LabKitError(
            f"Every row of {label!r} has a positive label value ({_as_list(label_values)}).",
            "name only the favourable outcome(s) as label_values, not every label value.",
        )
    return Groups(facet_d=facet_d, positive=positive, weights=_weights(weights, len(df)))


def _weights(weights: Sequence[float] | np.ndarray | None, n: int) -> np.ndarray:
    """One finite, non-negative weight per row (all ones when ``weights`` is None)."""
    if weights is None:
        return np.ones(n, dtype=float)
    w = np.asarray(weights, dtype=float)
    if w.shape != (n,) or not np.all(np.isfinite(w)) or (w < 0).any():
        raise LabKitError(
            f"weights must be {n} finite, non-negative numbers (one per row); got "
            f"shape {w.shape}.",
            "pass one weight per row of the data frame, e.g. from reweighing_weights().",
        )
    return w


# ---------------------------------------------------------------------------------- metrics
def ci(
    df: pd.DataFrame,
    *,
    facet: str,
    facet_values: Any,
    weights: Sequence[float] | np.ndarray | None = None,
) -> float:
    """Class imbalance CI = (n_a − n_d) / (n_a + n_d), in [−1, 1].

    Positive when facet *d* is the smaller group; 0 when both are the same size.
    """
    facet_col = _require_column(df, facet, "facet")
    facet_d = _mask(facet_col, _as_list(facet_values), "facet")
    w = _weights(weights, len(df))
    n_d, n_a = float(w[facet_d].sum()), float(w[~facet_d].sum())
    if n_a == 0:
        raise LabKitError(
            f"Facet a is empty: every row of {facet!r} is in facet d.",
            "name only the sensitive group's value(s) as facet_values.",
        )
    return (n_a - n_d) / (n_a + n_d)


def dpl(df: pd.DataFrame, **kwargs: Any) -> float:
    """Difference in positive proportions in labels, DPL = q_a − q_d, in [−1, 1].

    q_a and q_d are the shares of positive labels in facet *a* and facet *d*. A positive
    DPL means facet *d* gets the favourable label less often in the data. Takes the
    keyword arguments of :func:`groups`.
    """
    g = groups(df, **kwargs)
    return g.positive_rate(g.facet_a) - g.positive_rate(g.facet_d)


def dppl(
    df: pd.DataFrame,
    *,
    predicted_label: str,
    label_values: Any,
    facet: str,
    facet_values: Any,
) -> float:
    """Post-training twin of DPL on the model's *predicted* labels: q̂_a − q̂_d."""
    return dpl(
        df, label=predicted_label, label_values=label_values, facet=facet,
        facet_values=facet_values,
    )


def label_distributions(df: pd.DataFrame, **kwargs: Any) -> tuple[np.ndarray, np.ndarray]:
    """P_a and P_d: the distributions of (positive, negative) labels in facet *a* and *d*.

    This is how Clarify collapses the label before KL, JS and KS: positive label values
    against all others.
    """
    g = groups(df, **kwargs)
    qa, qd = g.positive_rate(g.facet_a), g.positive_rate(g.facet_d)
    return np.array([qa, 1.0 - qa]), np.array([qd, 1.0 - qd])


def kl(df: pd.DataFrame, **kwargs: Any) -> float:
    """Kullback–Leibler divergence KL(P_a ‖ P_d) = Σ P_a log(P_a / P_d), natural log, ≥ 0.

    ``inf`` when facet *d* never has a label outcome that facet *a* has (smclarify instead
    drops that outcome from the sum; the two agree whenever both groups have both outcomes).
    """
    pa, pd_ = label_distributions(df, **kwargs)
    total = 0.0
    for p, q in zip(pa, pd_):
        if p == 0:
            continue
        if q == 0:
            return math.inf
        total += float(p * math.log(p / q))
    return float(total)


def js(df: pd.DataFrame, **kwargs: Any) -> float:
    """Jensen–Shannon divergence ½[KL(P_a ‖ P) + KL(P_d ‖ P)] with P = ½(P_a + P_d).

    Symmetric and bounded by log 2; 0 means equal label distributions.
    """
    pa, pd_ = label_distributions(df, **kwargs)
    mid = 0.5 * (pa + pd_)

    def _kl(p: np.ndarray, q: np.ndarray) -> float:
        return float(sum(pi * math.log(pi / qi) for pi, qi in zip(p, q) if pi > 0))

    return 0.5 * (_kl(pa, mid) + _kl(pd_, mid))


def ks(df: pd.DataFrame, **kwargs: Any) -> float:
    """Kolmogorov–Smirnov distance max |P_a − P_d| over label outcomes, in [0, 1].

    With a binary (collapsed) label this equals |DPL|.
    """
    pa, pd_ = label_distributions(df, **kwargs)
    return float(np.max(np.abs(pa - pd_)))


def pretraining_report(
    df: pd.DataFrame,
    *,
    label: str,
    label_values: Any,
    facet: str,
    facet_values: Any,
    weights: Sequence[float] | np.ndarray | None = None,
) -> dict[str, float]:
    """All of :data:`PRETRAINING_METRICS` for one facet, as ``{"CI": …, "DPL": …, …}``."""
    kwargs = dict(
        label=label, label_values=label_values, facet=facet, facet_values=facet_values,
        weights=weights,
    )
    return {
        "CI": ci(df, facet=facet, facet_values=facet_values, weights=weights),
        "DPL": dpl(df, **kwargs),
        "KL": kl(df, **kwargs),
        "JS": js(df, **kwargs),
        "KS": ks(df, **kwargs),
    }


def reweighing_weights(df: pd.DataFrame, **kwargs: Any) -> np.ndarray:
    """Row weights that make facet and label independent (Kamiran & Calders reweighing).

    A row in facet group g with label outcome y gets P(g)·P(y) / P(g, y). Under these
    weights q_a = q_d, so the weighted DPL is 0 while no row is dropped or duplicated.
    """
    g = groups(df, **kwargs)
    n = len(df)
    w = np.empty(n, dtype=float)
    for in_d in (True, False):
        for pos in (True, False):
            cell = (g.facet_d == in_d) & (g.positive == pos)
            count = int(cell.sum())
            if count == 0:
                raise LabKitError(
                    f"No row has facet {'d' if in_d else 'a'} and a "
                    f"{'positive' if pos else 'negative'} label, so reweighing cannot fix "
                    "that cell.",
                    "collect rows for that group and outcome, or merge facet values.",
                )
            p_group = (g.facet_d == in_d).sum() / n
            p_label = (g.positive == pos).sum() / n
            w[cell] = p_group * p_label / (count / n)
    return w


def metrics_from_analysis(
    analysis: dict[str, Any], *, facet: str, facet_value: Any,
    section: str = "pre_training_bias_metrics",
) -> dict[str, float]:
    """``{metric: value}`` for one facet value from a Clarify job's ``analysis.json``.

    The file holds ``{section: {"facets": {facet: [{"value_or_threshold": …,
    "metrics": [{"name": …, "value": …}, …]}, …]}}}``.
    """
    try:
        entries = analysis[section]["facets"][facet]
    except (KeyError, TypeError) as exc:
        raise LabKitError(
            f"analysis.json has no {section!r} results for facet {facet!r}.",
            "check the job asked for that analysis (methods) and that facet name.",
        ) from exc
    wanted = ",".join(str(v) for v in _as_list(facet_value))
    for entry in entries:
        if str(entry.get("value_or_threshold")) == wanted:
            return {m["name"]: float(m["value"]) for m in entry["metrics"]
                    if m.get("value") is not None}
    found = [e.get("value_or_threshold") for e in entries]
    raise LabKitError(
        f"analysis.json has facet {facet!r} results for {found}, not for {wanted!r}.",
        "pass the facet value the BiasConfig named.",
    )


# ---------------------------------------------------------------------------------- SHAP, PDP
def exact_shapley_values(
    predict: Callable[[np.ndarray], np.ndarray],
    rows: np.ndarray,
    background: np.ndarray,
    max_features: int = 14,
) -> tuple[np.ndarray, float]:
    """Shapley values by enumerating every coalition (interventional value function).

    The value of a coalition S for a row x is the mean of ``predict`` over the background
    rows with the features in S replaced by x's values: v(S) = E_b[f(x_S, b_rest)]. Each
    feature's Shapley value is the weighted average of v(S ∪ {i}) − v(S) over all S.
    Costs 2^M × len(background) predictions per row, so it is for a few rows and M ≤
    ``max_features`` only. Returns ``(values, base_value)`` with values of shape
    ``(len(rows), M)`` and ``base_value = v(∅)`` = mean prediction on the background.
    """
    rows = np.atleast_2d(np.asarray(rows, dtype=float))
    background = np.atleast_2d(np.asarray(background, dtype=float))
    m = rows.shape[1]
    if background.shape[1] != m:
        raise LabKitError(
            f"rows have {m} features but the background has {background.shape[1]}.",
            "pass background rows with the same columns, in the same order, as the rows.",
        )
    if m > max_features:
        raise LabKitError(
            f"{m} features means 2^{m} coalitions per row: too many to enumerate here.",
            "explain fewer features, or use tree SHAP / Kernel SHAP with sampling.",
        )
    n_coal = 1 << m
    masks = ((np.arange(n_coal)[:, None] >> np.arange(m)[None, :]) & 1).astype(bool)
    sizes = masks.sum(axis=1)
    # Shapley weight of a coalition of size s (not containing i): s! (m - s - 1)! / m!
    weight = np.array(
        [math.factorial(s) * math.factorial(m - s - 1) / math.factorial(m) for s in range(m)]
    )
    n_bg = len(background)
    out = np.empty((len(rows), m))
    base = float(np.mean(predict(background)))
    for r, x in enumerate(rows):
        batch = np.repeat(background[None, :, :], n_coal, axis=0)  # (coal, bg, m)
        batch = np.where(masks[:, None, :], x[None, None, :], batch)
        v = np.asarray(predict(batch.reshape(-1, m)), dtype=float).reshape(n_coal, n_bg)
        v = v.mean(axis=1)
        for i in range(m):
            without = ~masks[:, i]
            s_idx = np.nonzero(without)[0]
            with_i = s_idx | (1 << i)
            out[r, i] = float(np.sum(weight[sizes[s_idx]] * (v[with_i] - v[s_idx])))
    return out, base


def partial_dependence_by_hand(
    predict: Callable[[pd.DataFrame], np.ndarray],
    X: pd.DataFrame,
    feature: str,
    grid: Sequence[float] | np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Partial dependence and ICE curves computed the plain way.

    For each grid value v, set ``feature`` to v in *every* row of X and predict: the rows
    of the result are ICE curves (one per row of X), their mean is the partial dependence.
    Returns ``(average, individual)`` with shapes ``(len(grid),)`` and
    ``(len(X), len(grid))``.
    """
    _require_column(X, feature, "feature")
    individual = np.empty((len(X), len(grid)))
    for j, value in enumerate(grid):
        Xv = X.copy()
        Xv[feature] = value
        individual[:, j] = np.asarray(predict(Xv), dtype=float)
    return individual.mean(axis=0), individual


# ---------------------------------------------------------------------------------- Clarify configs
def _clarify() -> Any:
    import sagemaker.core.clarify as clarify

    return clarify


def data_config(
    *,
    s3_data_input_path: str,
    s3_output_path: str,
    label: str,
    headers: Sequence[str],
    dataset_type: str = "text/csv",
    predicted_label: str | None = None,
) -> Any:
    """A ``DataConfig`` for a CSV data set whose columns are ``headers`` (label included)."""
    headers = list(headers)
    if label not in headers:
        raise LabKitError(
            f"The label {label!r} is not among the headers {headers}.",
            "pass the data set's column names, label column included, in file order.",
        )
    if predicted_label is not None and predicted_label not in headers:
        raise LabKitError(
            f"The predicted label {predicted_label!r} is not among the headers {headers}.",
            "add the predicted-label column to the data set and to the headers.",
        )
    for uri, what in ((s3_data_input_path, "input"), (s3_output_path, "output")):
        if not uri.startswith("s3://"):
            raise LabKitError(
                f"The {what} location {uri!r} is not an S3 URI.",
                "Clarify jobs read and write S3: pass 's3://bucket/prefix'.",
            )
    kwargs: dict[str, Any] = {}
    if predicted_label is not None:
        kwargs["predicted_label"] = predicted_label
    return _clarify().DataConfig(
        s3_data_input_path=s3_data_input_path,
        s3_output_path=s3_output_path,
        label=label,
        headers=headers,
        dataset_type=dataset_type,
        **kwargs,
    )


def bias_config(
    *,
    label_values: Any,
    facet: str,
    facet_values: Any,
    data: pd.DataFrame | None = None,
    label: str | None = None,
    group: str | None = None,
) -> Any:
    """A ``BiasConfig``; with ``data`` (and ``label``) the names and values are checked first.

    Same convention as the metrics above: ``facet_values`` name facet *d*.
    """
    if data is not None:
        if label is None:
            raise LabKitError(
                "bias_config(data=...) checks the label values too, so it needs label=.",
                "pass label='<label column>' together with data=.",
            )
        groups(data, label=label, label_values=label_values, facet=facet,
               facet_values=facet_values)
        if group is not None:
            _require_column(data, group, "group")
    return _clarify().BiasConfig(
        label_values_or_threshold=_as_list(label_values),
        facet_name=facet,
        facet_values_or_threshold=_as_list(facet_values),
        group_name=group,
    )


def _plain(value: Any) -> Any:
    """A JSON-ready Python scalar (the SDK's schema rejects numpy scalars)."""
    return value.item() if isinstance(value, np.generic) else value


def shap_config(
    *,
    baseline: pd.DataFrame | list[list[Any]] | str | None = None,
    num_samples: int | None = None,
    seed: int | None = 0,
    agg_method: str = "mean_abs",
    num_clusters: int | None = None,
    use_logit: bool = False,
    features: int | None = None,
) -> Any:
    """A ``SHAPConfig`` for Kernel SHAP; ``features`` (when given) checks the baseline width.

    ``baseline`` is an S3 URI, a list of feature rows or a data frame of feature rows (label
    column left out); ``None`` lets Clarify cluster the input into a baseline.
    """
    if isinstance(baseline, pd.DataFrame):
        baseline = baseline.to_numpy(dtype=object).tolist()
    if baseline is not None and not isinstance(baseline, str):
        baseline = [[_plain(v) for v in row] for row in baseline]
    if baseline is not None and not isinstance(baseline, str) and features is not None:
        bad = [i for i, row in enumerate(baseline) if len(row) != features]
        if bad:
            raise LabKitError(
                f"Baseline row(s) {bad[:5]} do not have {features} values.",
                "a baseline row holds the feature values only, without the label column.",
            )
    if num_samples is not None and num_samples < 1:
        raise LabKitError(
            f"num_samples={num_samples} asks for no synthetic samples.",
            "pass a positive number (or None to let Clarify choose).",
        )
    return _clarify().SHAPConfig(
        baseline=baseline,
        num_samples=num_samples,
        agg_method=agg_method,
        use_logit=use_logit,
        save_local_shap_values=True,
        seed=seed,
        num_clusters=num_clusters,
    )


def pdp_config(
    *, features: Sequence[str], grid_resolution: int = 15, top_k_features: int = 10,
    headers: Sequence[str] | None = None,
) -> Any:
    """A ``PDPConfig`` for the named features (checked against ``headers`` when given)."""
    if headers is not None:
        unknown = [f for f in features if f not in headers]
        if unknown:
            raise LabKitError(
                f"PDP feature(s) {unknown} are not among the headers {list(headers)}.",
                "name features exactly as the data set's headers do.",
            )
    if grid_resolution < 2:
        raise LabKitError(
            f"grid_resolution={grid_resolution} gives no curve.",
            "use at least 2 (Clarify's default is 15).",
        )
    return _clarify().PDPConfig(
        features=list(features), grid_resolution=grid_resolution, top_k_features=top_k_features
    )


def model_config(
    *, model_name: str, instance_type: str = "ml.m5.large", instance_count: int = 1,
    content_type: str = "text/csv", accept_type: str = "text/csv",
) -> Any:
    """A ``ModelConfig``: the SageMaker model Clarify serves on a shadow endpoint."""
    return _clarify().ModelConfig(
        model_name=model_name,
        instance_type=instance_type,
        instance_count=instance_count,
        content_type=content_type,
        accept_type=accept_type,
    )


def analysis_config(
    data: Any,
    *,
    bias: Any | None = None,
    pre_training_methods: str | list[str] = "all",
    explainability: Any | list[Any] | None = None,
    model: Any | None = None,
    probability_threshold: float | None = None,
) -> dict[str, Any]:
    """The ``analysis_config.json`` a Clarify job would receive, validated by the SDK's schema.

    Bias only (``bias`` set): the pre-training analysis. Explainability (``explainability``
    set, needs ``model``): SHAP and/or PDP. Nothing is uploaded or started; the inputs are
    not modified.
    """
    clarify = _clarify()
    gen = clarify._AnalysisConfigGenerator  # the SDK's own generator (private in v3)
    data = copy.deepcopy(data)
    if explainability is not None:
        if model is None:
            raise LabKitError(
                "An explainability analysis needs the model Clarify will query.",
                "pass model=model_config(model_name=...).",
            )
        label_cfg = clarify.ModelPredictedLabelConfig(probability_threshold=probability_threshold)
        if bias is not None:
            cfg = gen.bias_and_explainability(
                data, copy.deepcopy(model), label_cfg, copy.deepcopy(explainability),
                copy.deepcopy(bias), pre_training_methods=pre_training_methods,
                post_training_methods=[],
            )
        else:
            cfg = gen.explainability(
                data, copy.deepcopy(model), label_cfg, copy.deepcopy(explainability)
            )
    elif bias is not None:
        cfg = gen.bias_pre_training(data, copy.deepcopy(bias), pre_training_methods)
    else:
        raise LabKitError(
            "analysis_config() was given neither a bias nor an explainability config.",
            "pass bias=bias_config(...) and/or explainability=[shap_config(...), ...].",
        )
    try:
        clarify.ANALYSIS_CONFIG_SCHEMA_V1_0.validate(cfg)
    except Exception as exc:  # schema.SchemaError; its message is the whole nested trace
        last = str(exc).strip().splitlines()[-1]
        raise LabKitError(
            f"The SDK's schema rejects this analysis config: {last}",
            "check the configs' values are plain JSON types (str, int, float) and the "
            "names match the data set's headers.",
        ) from exc
    return copy.deepcopy(cfg)
