"""Unit tests of labkit.tuning: ranges, EI, the searches, median stopping, the trainer."""

import math

import numpy as np
import pytest
from scipy.stats import norm

from labkit.errors import LabKitError
from labkit.tuning import (
    Param,
    Space,
    Trial,
    bayesian_search,
    epochs_run,
    expected_improvement,
    median_stopping,
    random_search,
    sgd_digits_trainer,
)


def test_param_scaling_round_trips_and_log_spreads_by_decade():
    p = Param("lr", 1e-4, 1.0, "Logarithmic")
    assert p.from_unit(0.0) == pytest.approx(1e-4)
    assert p.from_unit(0.5) == pytest.approx(1e-2)  # the middle of 4 decades
    assert p.to_unit(1e-3) == pytest.approx(0.25)
    lin = Param("x", 0.0, 10.0)
    assert lin.from_unit(0.5) == 5.0 and lin.to_unit(2.5) == 0.25
    for low, high, scale in ((1.0, 1.0, "Linear"), (0.0, 1.0, "Logarithmic"),
                             (0.0, 1.0, "Cubic")):
        with pytest.raises(LabKitError):
            Param("bad", low, high, scale)


def test_space_encode_decode():
    space = Space((Param("a", 1e-3, 1e1, "Logarithmic"), Param("b", -1.0, 1.0)))
    values = space.decode([0.75, 0.25])
    assert values == pytest.approx({"a": 1.0, "b": -0.5})
    assert space.encode(values) == pytest.approx([0.75, 0.25])


def test_expected_improvement_matches_formula():
    mu, sigma, best, xi = np.array([1.0, 0.2, 0.5]), np.array([0.5, 0.1, 0.0]), 0.5, 0.01
    got = expected_improvement(mu, sigma, best, xi)
    z = (1.0 - best - xi) / 0.5
    assert got[0] == pytest.approx((1.0 - best - xi) * norm.cdf(z) + 0.5 * norm.pdf(z))
    assert 0 < got[1] < 0.01  # below the best, but uncertain: a little hope
    assert got[2] == 0.0  # no uncertainty, no improvement


def bumpy(params):
    """A 1-D objective with its maximum 1.0 at x = 0.8 (and a local bump at 0.2)."""
    x = params["x"]
    value = math.exp(-((x - 0.8) ** 2) / 0.005) + 0.6 * math.exp(-((x - 0.2) ** 2) / 0.02)
    return np.array([value / 2, value])  # two "epochs"


def test_bayesian_search_beats_random_on_a_narrow_peak():
    space = Space((Param("x", 0.0, 1.0),))
    bo = [bayesian_search(bumpy, space, 15, seed=s, n_initial=4).best.objective
          for s in range(3)]
    rs = [random_search(bumpy, space, 15, seed=s).best.objective for s in range(3)]
    assert min(bo) > 0.97
    assert np.mean(bo) > np.mean(rs)


def test_warm_start_uses_the_parent_results():
    space = Space((Param("x", 0.0, 1.0),))
    parent = random_search(bumpy, space, 10, seed=1)
    child = bayesian_search(bumpy, space, 3, seed=7, n_initial=4, prior=parent.trials)
    assert child.strategy == "Bayesian (warm start)"
    assert child.best.objective >= 0.95  # no random start-up jobs were needed
    run = random_search(bumpy, space, 5, seed=0)
    assert list(run.best_so_far()) == list(np.maximum.accumulate(run.objectives))
    assert run.jobs_to_reach(2.0) is None and run.jobs_to_reach(-1.0) == 1
    with pytest.raises(LabKitError):
        random_search(bumpy, space, 0)


def test_median_stopping_rule():
    good = np.array([0.5, 0.6, 0.7, 0.8])
    bad = np.array([0.1, 0.1, 0.1, 0.1])
    late = np.array([0.2, 0.3, 0.9, 0.95])
    # first job: nothing to compare to; bad is below good's running average at epoch 1
    assert median_stopping([good, bad]) == [None, 1]
    # with min_epochs=3, the third job at epoch 3 (0.9) beats the median of the earlier
    # running averages (0.6 for good; bad ran 1 epoch only, so it does not count at 3)
    assert median_stopping([good, bad, late], min_epochs=3) == [None, 3, None]
    # but from epoch 1 on, the late bloomer is stopped: 0.2 < median(0.5, 0.1) = 0.3
    assert median_stopping([good, bad, late]) == [None, 1, 1]
    assert epochs_run([good, bad, late], [None, 1, 1]) == 6
    with pytest.raises(LabKitError):
        median_stopping([good], min_epochs=0)


def test_sgd_trainer_is_deterministic_and_learns():
    train = sgd_digits_trainer(epochs=3)
    a = train({"alpha": 1e-4, "eta0": 0.05})
    assert len(a) == 3 and np.array_equal(a, train({"alpha": 1e-4, "eta0": 0.05}))
    assert a[-1] > 0.85  # ten digit classes: chance is 0.1
    assert train({"alpha": 1.0, "eta0": 0.05})[-1] < a[-1]  # far too much L2


def test_trial_objective_is_last_epoch():
    t = Trial(0, {"x": 1.0}, np.array([1.0]), np.array([0.2, 0.9, 0.7]))
    assert t.objective == 0.7
