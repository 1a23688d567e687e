"""A small, real hyperparameter tuning loop (chapter 09).

SageMaker automatic model tuning (AMT) runs training jobs for you and decides which
hyperparameters to try next. Local mode runs no tuning, and moto's "best training job" is
canned, so the lab reproduces the ideas here, on a real model:

- :class:`Param` / :class:`Space`: ranges with ``Linear`` or ``Logarithmic`` scaling, mapped
  to and from the unit cube (that is what scaling means: where the search spreads its tries).
- :func:`random_search` and :func:`bayesian_search` (a Gaussian process with
  :func:`expected_improvement`, like AMT's Bayesian strategy in spirit, not its code).
  ``bayesian_search(prior=...)`` starts from a parent run's results: a warm start.
- :func:`median_stopping`: AMT's ``Auto`` early-stopping rule applied to per-epoch curves.
- :func:`sgd_digits_trainer`: a scikit-learn ``SGDClassifier`` trained epoch by epoch on the
  digits data set that ships with scikit-learn; one call = one "training job".
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from labkit.errors import LabKitError

Curve = np.ndarray
"""Validation objective after each epoch of one training job."""

TrainFn = Callable[[dict[str, float]], Curve]


# ---------------------------------------------------------------------------- ranges
@dataclass(frozen=True)
class Param:
    """A continuous hyperparameter range, as in AMT's ``ContinuousParameterRanges``."""

    name: str
    low: float
    high: float
    scale: str = "Linear"

    def __post_init__(self) -> None:
        if not self.low < self.high:
            raise LabKitError(
                f"Range {self.name}: low ({self.low}) must be below high ({self.high}).",
                "swap the bounds or widen the range.",
            )
        if self.scale not in ("Linear", "Logarithmic"):
            raise LabKitError(
                f"Range {self.name}: unknown scaling {self.scale!r}.",
                "use 'Linear' or 'Logarithmic' (AMT also has 'Auto').",
            )
        if self.scale == "Logarithmic" and self.low <= 0:
            raise LabKitError(
                f"Range {self.name}: logarithmic scaling needs low > 0 (got {self.low}).",
                "use a positive lower bound, or Linear scaling.",
            )

    def from_unit(self, u: float) -> float:
        """The value at position ``u`` in [0, 1] of the (scaled) range."""
        if self.scale == "Logarithmic":
            return float(math.exp(math.log(self.low) + u * math.log(self.high / self.low)))
        return float(self.low + u * (self.high - self.low))

    def to_unit(self, value: float) -> float:
        """Inverse of :meth:`from_unit`."""
        if self.scale == "Logarithmic":
            return math.log(value / self.low) / math.log(self.high / self.low)
        return (value - self.low) / (self.high - self.low)


@dataclass(frozen=True)
class Space:
    """The search space: one :class:`Param` per tuned hyperparameter."""

    params: tuple[Param, ...]

    def decode(self, unit: Sequence[float]) -> dict[str, float]:
        """Hyperparameter values for a point of the unit cube."""
        return {p.name: p.from_unit(float(u)) for p, u in zip(self.params, unit, strict=True)}

    def encode(self, values: dict[str, float]) -> np.ndarray:
        """The unit-cube point of a set of hyperparameter values."""
        return np.array([p.to_unit(values[p.name]) for p in self.params])

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """``n`` uniform points of the unit cube (uniform in log space for log ranges)."""
        return rng.random((n, len(self.params)))


# ---------------------------------------------------------------------------- runs
@dataclass
class Trial:
    """One training job: its hyperparameters, its curve and its final objective."""

    number: int
    params: dict[str, float]
    unit: np.ndarray
    curve: Curve

    @property
    def objective(self) -> float:
        """The objective the tuner sees: the last epoch's value."""
        return float(self.curve[-1])


@dataclass
class TuningRun:
    """The trials of one tuning job, in launch order (the objective is maximised)."""

    strategy: str
    trials: list[Trial] = field(default_factory=list)

    @property
    def objectives(self) -> np.ndarray:
        return np.array([t.objective for t in self.trials])

    def best_so_far(self) -> np.ndarray:
        """Best objective after each job (what a tuning job's console chart shows)."""
        return np.maximum.accumulate(self.objectives)

    @property
    def best(self) -> Trial:
        return self.trials[int(np.argmax(self.objectives))]

    def jobs_to_reach(self, target: float) -> int | None:
        """1-based number of jobs until the best objective first reached ``target``."""
        hits = np.flatnonzero(self.best_so_far() >= target)
        return int(hits[0]) + 1 if len(hits) else None


def _check_budget(n_jobs: int) -> None:
    if n_jobs <= 0:
        raise LabKitError(
            f"A tuning run needs at least one job (got {n_jobs}).",
            "pass n_jobs >= 1 (AMT's MaxNumberOfTrainingJobs).",
        )


def random_search(train: TrainFn, space: Space, n_jobs: int, seed: int = 0) -> TuningRun:
    """Random strategy: every job's hyperparameters are drawn independently."""
    _check_budget(n_jobs)
    rng = np.random.default_rng(seed)
    run = TuningRun("Random")
    for i, unit in enumerate(space.sample(rng, n_jobs)):
        params = space.decode(unit)
        run.trials.append(Trial(i, params, unit, np.asarray(train(params), dtype=float)))
    return run


def expected_improvement(
    mu: np.ndarray, sigma: np.ndarray, best: float, xi: float = 0.01
) -> np.ndarray:
    """Expected amount by which a point beats ``best`` (maximisation), per the GP.

    EI = (mu - best - xi) * Phi(z) + sigma * phi(z), z = (mu - best - xi) / sigma; 0 where
    sigma is 0. Large where the mean is high (exploit) or the uncertainty is (explore).
    """
    from scipy.stats import norm

    mu, sigma = np.asarray(mu, dtype=float), np.asarray(sigma, dtype=float)
    gain = mu - best - xi
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(sigma > 0, gain / sigma, 0.0)
        ei = gain * norm.cdf(z) + sigma * norm.pdf(z)
    return np.where(sigma > 0, np.maximum(ei, 0.0), 0.0)


def _fit_gp(x: np.ndarray, y: np.ndarray, seed: int) -> Any:
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.gaussian_process import GaussianProcessRegressor
    from sklearn.gaussian_process.kernels import ConstantKernel, Matern, WhiteKernel

    kernel = ConstantKernel(1.0, (1e-3, 1e3)) * Matern(
        length_scale=np.full(x.shape[1], 0.3), length_scale_bounds=(1e-2, 10.0), nu=2.5
    ) + WhiteKernel(1e-4, (1e-8, 1e-1))
    gp = GaussianProcessRegressor(kernel=kernel, normalize_y=True, random_state=seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        gp.fit(x, y)
    return gp


def bayesian_search(
    train: TrainFn,
    space: Space,
    n_jobs: int,
    seed: int = 0,
    n_initial: int = 5,
    n_candidates: int = 2000,
    prior: Sequence[Trial] = (),
) -> TuningRun:
    """Bayesian strategy: fit a GP to the results so far, run the point of highest EI.

    The first ``n_initial`` jobs are random, unless ``prior`` trials (a parent run: a warm
    start) already give the model something to learn from; then every job is chosen by EI.
    """
    _check_budget(n_jobs)
    rng = np.random.default_rng(seed)
    run = TuningRun("Bayesian" + (" (warm start)" if prior else ""))
    seen_x = [t.unit for t in prior]
    seen_y = [t.objective for t in prior]
    for i in range(n_jobs):
        if len(seen_x) < n_initial:
            unit = space.sample(rng, 1)[0]
        else:
            gp = _fit_gp(np.array(seen_x), np.array(seen_y), seed)
            candidates = space.sample(rng, n_candidates)
            mu, sigma = gp.predict(candidates, return_std=True)
            unit = candidates[int(np.argmax(expected_improvement(mu, sigma, max(seen_y))))]
        params = space.decode(unit)
        trial = Trial(i, params, unit, np.asarray(train(params), dtype=float))
        run.trials.append(trial)
        seen_x.append(unit)
        seen_y.append(trial.objective)
    return run


# ---------------------------------------------------------------------------- early stop
def median_stopping(curves: Sequence[Curve], min_epochs: int = 1) -> list[int | None]:
    """AMT's ``Auto`` rule, applied to jobs in launch order (objective maximised).

    After each epoch ``e`` (from ``min_epochs`` on) a job is stopped when its value is
    worse than the median, over the earlier jobs that reached epoch ``e``, of their
    running averages up to ``e``. Earlier jobs count as far as they ran (a stopped job
    contributes up to its stop). Returns, per job, the number of epochs it ran when it was
    stopped, or None when it ran to the end.
    """
    if min_epochs < 1:
        raise LabKitError(
            f"median_stopping(min_epochs={min_epochs}): epochs are counted from 1.",
            "pass min_epochs >= 1.",
        )
    ran: list[np.ndarray] = []
    stops: list[int | None] = []
    for curve in curves:
        curve = np.asarray(curve, dtype=float)
        stop = None
        for e in range(min_epochs, len(curve) + 1):
            averages = [float(np.mean(r[:e])) for r in ran if len(r) >= e]
            if averages and curve[e - 1] < float(np.median(averages)):
                stop = e
                break
        stops.append(stop if stop is not None and stop < len(curve) else None)
        ran.append(curve[: stop or len(curve)])
    return stops


def epochs_run(curves: Sequence[Curve], stops: Sequence[int | None]) -> int:
    """Total epochs trained when jobs stop where ``stops`` says."""
    return sum(len(c) if s is None else s for c, s in zip(curves, stops, strict=True))


# ---------------------------------------------------------------------------- the model
def digits_split(seed: int = 0, n_train: int | None = None) -> tuple[np.ndarray, ...]:
    """scikit-learn's 8x8 digits (ships with scikit-learn), scaled, split 70/30.

    ``n_train`` keeps only that many training rows (a different data set for a
    TRANSFER_LEARNING warm start).
    """
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    x, y = load_digits(return_X_y=True)
    x_tr, x_va, y_tr, y_va = train_test_split(
        x / 16.0, y, test_size=0.3, stratify=y, random_state=seed
    )
    if n_train is not None:
        x_tr, y_tr = x_tr[:n_train], y_tr[:n_train]
    return x_tr, x_va, y_tr, y_va


def sgd_digits_trainer(
    epochs: int = 12, seed: int = 0, n_train: int | None = None
) -> TrainFn:
    """A "training job": SGD logistic regression, one ``partial_fit`` pass per epoch.

    Hyperparameters ``alpha`` (L2 strength) and ``eta0`` (constant learning rate). The
    curve is validation accuracy after each epoch.
    """
    from sklearn.linear_model import SGDClassifier

    x_tr, x_va, y_tr, y_va = digits_split(seed, n_train)
    classes = np.unique(y_tr)

    def train(params: dict[str, float]) -> Curve:
        model = SGDClassifier(
            loss="log_loss",
            alpha=params["alpha"],
            learning_rate="constant",
            eta0=params["eta0"],
            random_state=seed,
        )
        order = np.random.default_rng(seed)
        curve = []
        for _ in range(epochs):
            idx = order.permutation(len(y_tr))
            model.partial_fit(x_tr[idx], y_tr[idx], classes=classes)
            curve.append(model.score(x_va, y_va))
        return np.array(curve)

    return train
