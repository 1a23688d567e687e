"""Stand-in for the compute of SageMaker automatic model tuning (lab 09).

Local mode runs no tuning job and moto only records the request, so lab 09 runs the
training jobs itself: :func:`digits_trainer` is one "training job" (a scikit-learn
``SGDClassifier`` trained epoch by epoch on the digits data that ships with scikit-learn),
and :func:`random_search` / :func:`bayesian_search` play the tuner's two main strategies
(a Gaussian process with the acquisition function the lab writes; AMT's Bayesian strategy in
spirit, not its code). The lesson itself (scaling, expected improvement, the median
stopping rule, warm-start rules, the request) is written in the notebook.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from labkit.errors import LabKitError

TrainFn = Callable[[dict[str, float]], np.ndarray]
"""One training job: hyperparameters in, validation objective after each epoch out."""
Decode = Callable[[np.ndarray], dict[str, float]]
"""Maps a point of the unit cube to hyperparameter values (the ranges' scaling)."""
Acquisition = Callable[[np.ndarray, np.ndarray, float], np.ndarray]
"""(GP mean, GP standard deviation, best objective so far) -> score per candidate."""


@dataclass
class Trial:
    """One training job: its hyperparameters, unit-cube point and learning curve."""

    params: dict[str, float]
    unit: np.ndarray
    curve: np.ndarray

    @property
    def objective(self) -> float:
        """What the tuner sees: the last value the job reported."""
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
        """Best objective after each job (the tuning job's progress chart)."""
        return np.maximum.accumulate(self.objectives)

    @property
    def best(self) -> Trial:
        return self.trials[int(np.argmax(self.objectives))]


def _run(train: TrainFn, decode: Decode, unit: np.ndarray) -> Trial:
    params = decode(unit)
    return Trial(params, unit, np.asarray(train(params), dtype=float))


def random_search(
    train: TrainFn, decode: Decode, dims: int, n_jobs: int, seed: int = 0
) -> TuningRun:
    """Random strategy: every job's point is drawn uniformly from the unit cube."""
    if n_jobs < 1:
        raise LabKitError(f"A tuning run needs at least one job (got {n_jobs}).",
                          "pass n_jobs >= 1 (AMT's MaxNumberOfTrainingJobs).")
    rng = np.random.default_rng(seed)
    return TuningRun("Random", [_run(train, decode, u) for u in rng.random((n_jobs, dims))])


def _fit_gp(x: np.ndarray, y: np.ndarray, seed: int) -> object:
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
    decode: Decode,
    dims: int,
    n_jobs: int,
    acquisition: Acquisition,
    seed: int = 0,
    n_initial: int = 3,
    n_candidates: int = 2000,
    prior: Sequence[Trial] = (),
) -> TuningRun:
    """Fit a GP to the results so far; run the candidate with the highest acquisition.

    The first ``n_initial`` points are random unless ``prior`` trials (the parents of a
    warm start) already give the model that many results.
    """
    rng = np.random.default_rng(seed)
    run = TuningRun("Bayesian" + (" (warm start)" if prior else ""))
    seen_x, seen_y = [t.unit for t in prior], [t.objective for t in prior]
    for _ in range(n_jobs):
        if len(seen_x) < n_initial:
            unit = rng.random(dims)
        else:
            gp = _fit_gp(np.array(seen_x), np.array(seen_y), seed)
            candidates = rng.random((n_candidates, dims))
            mu, sigma = gp.predict(candidates, return_std=True)  # type: ignore[attr-defined]
            unit = candidates[int(np.argmax(acquisition(mu, sigma, max(seen_y))))]
        trial = _run(train, decode, unit)
        run.trials.append(trial)
        seen_x.append(unit)
        seen_y.append(trial.objective)
    return run


def digits_trainer(epochs: int = 8, seed: int = 0, n_train: int | None = None) -> TrainFn:
    """A "training job": SGD logistic regression on scikit-learn's 8x8 digits.

    One ``partial_fit`` pass over the training rows per epoch, validation accuracy after
    each. Hyperparameters ``alpha`` (L2 strength) and ``eta0`` (constant learning rate);
    ``n_train`` keeps only that many training rows (a different data set).
    """
    from sklearn.datasets import load_digits
    from sklearn.linear_model import SGDClassifier
    from sklearn.model_selection import train_test_split

    x, y = load_digits(return_X_y=True)
    x_tr, x_va, y_tr, y_va = train_test_split(
        x / 16.0, y, test_size=0.3, stratify=y, random_state=seed
    )
    x_tr, y_tr = x_tr[:n_train], y_tr[:n_train]
    classes = np.unique(y)

    def train(params: dict[str, float]) -> np.ndarray:
        model = SGDClassifier(loss="log_loss", alpha=params["alpha"],
                              learning_rate="constant", eta0=params["eta0"],
                              random_state=seed)
        order, curve = np.random.default_rng(seed), []
        for _ in range(epochs):
            idx = order.permutation(len(y_tr))
            model.partial_fit(x_tr[idx], y_tr[idx], classes=classes)
            curve.append(model.score(x_va, y_va))
        return np.array(curve)

    return train
