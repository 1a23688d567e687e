"""Lab 09's lesson (#@save cells) and its stand-in: ranges, EI, median stopping, warm start.

Expected values are worked out by hand from the definitions in the AWS documentation
(median early stopping, warm-start rules), not from the code under test.
"""

import copy
import math

import numpy as np
import pytest

from labkit import lessons
from labkit.errors import LabKitError
from labkit.standins.tuning import (
    Trial,
    TuningRun,
    bayesian_search,
    digits_trainer,
    random_search,
)


@pytest.fixture(scope="module")
def lab09():
    return lessons.load("09-automatic-model-tuning")


def test_log_scaling_spreads_by_decade(lab09):
    assert lab09.from_unit(0.0, 1e-4, 1.0, "Logarithmic") == pytest.approx(1e-4)
    assert lab09.from_unit(0.5, 1e-4, 1.0, "Logarithmic") == pytest.approx(1e-2)
    assert lab09.from_unit(0.25, 1e-4, 1.0, "Logarithmic") == pytest.approx(1e-3)
    assert lab09.from_unit(0.25, 0.0, 10.0) == 2.5
    assert lab09.decode([0.5, 1.0]) == pytest.approx({"alpha": 1e-3, "eta0": 10.0})


def test_expected_improvement_hand_values(lab09):
    # mu=1, sigma=0.5, best=0.5, xi=0: z=1; EI = 0.5*Phi(1) + 0.5*phi(1)
    phi1, cdf1 = 0.24197072451914337, 0.8413447460685429
    got = lab09.expected_improvement([1.0], [0.5], 0.5, xi=0.0)
    assert got[0] == pytest.approx(0.5 * cdf1 + 0.5 * phi1, rel=1e-9)
    # below the best but uncertain: a little hope; certain: none; never negative
    mu, sigma = np.array([0.2, 0.2, 0.9]), np.array([0.1, 0.0, 0.0])
    ei = lab09.expected_improvement(mu, sigma, 0.5, xi=0.0)
    assert 0 < ei[0] < 0.01 and ei[1] == 0.0 and ei[2] == 0.0
    # xi shifts the bar: same point, larger xi, smaller EI
    assert lab09.expected_improvement([1.0], [0.5], 0.5, xi=0.2)[0] < got[0]


GOOD = [0.5, 0.6, 0.7, 0.8]
BAD = [0.1, 0.1, 0.1, 0.1]
LATE = [0.2, 0.3, 0.9, 0.95]


def test_median_stopping_hand_worked(lab09):
    stop = lab09.median_stopping
    # first job: nothing to compare with; bad < good's running average at epoch 1 (0.5)
    assert stop([GOOD, BAD]) == [None, 1]
    # from epoch 3: late's 0.9 beats good's running average 0.6; bad ran 1 epoch only
    assert stop([GOOD, BAD, LATE], min_epochs=3) == [None, 3, None]
    # from epoch 1 the late bloomer goes: 0.2 < median(0.5, 0.1) = 0.3
    assert stop([GOOD, BAD, LATE]) == [None, 1, 1]
    assert lab09.epochs_run([GOOD, BAD, LATE], [None, 1, 1]) == 6


def test_median_uses_running_averages_not_current_values(lab09):
    # epoch 2: earlier job's value is 0.9 but its running average is (0.1+0.9)/2 = 0.5;
    # 0.6 is below 0.9 and above 0.5, so it must NOT stop
    assert lab09.median_stopping([[0.1, 0.9, 0.9], [0.6, 0.6, 0.6]], min_epochs=2) == [
        None, None]


def test_equal_to_median_is_not_stopped_and_last_epoch_is_a_finish(lab09):
    assert lab09.median_stopping([[0.5, 0.5], [0.5, 0.5]]) == [None, None]
    # worse only at its last epoch: it finished, nothing was saved
    assert lab09.median_stopping([[0.5, 0.5], [0.6, 0.4]]) == [None, None]


def test_a_stopped_job_counts_only_as_far_as_it_ran(lab09):
    # job 2 stops at epoch 1 (0.1 < 0.9). At epoch 2 only job 1 reached it (running
    # average 0.9), so job 3's 0.8 stops it. Had job 2's whole curve counted (average
    # 0.55 at epoch 2), the median would be 0.725 and job 3 would have run on.
    curves = [[0.9, 0.9, 0.9, 0.9], [0.1, 1.0, 1.0, 1.0], [0.95, 0.8, 0.8, 0.8]]
    assert lab09.median_stopping(curves) == [None, 1, 2]


def test_min_epochs_delays_the_first_comparison(lab09):
    assert lab09.median_stopping([GOOD, BAD], min_epochs=2) == [None, 2]
    assert lab09.median_stopping([GOOD, BAD], min_epochs=4) == [None, None]


def request(metric="validation:accuracy", static=None, data="s3://b/digits/",
            kind=None, ranges=None, max_jobs=5):
    r = {
        "HyperParameterTuningJobConfig": {
            "HyperParameterTuningJobObjective": {"Type": "Maximize", "MetricName": metric},
            "ResourceLimits": {"MaxNumberOfTrainingJobs": max_jobs},
            "ParameterRanges": ranges if ranges is not None else {
                "ContinuousParameterRanges": [{"Name": "alpha"}, {"Name": "eta0"}]},
        },
        "TrainingJobDefinition": {
            "StaticHyperParameters": static if static is not None else {"epochs": "8"},
            "InputDataConfig": [{"ChannelName": "train", "S3Uri": data}],
            "AlgorithmSpecification": {"TrainingImage": "img:1"},
        },
    }
    if kind:
        r["WarmStartConfig"] = {"WarmStartType": kind}
    return r


def test_warm_start_rules_accept_what_aws_allows(lab09):
    problems, parent = lab09.warm_start_problems, request()
    assert problems([parent], 10, request(kind="IdenticalDataAndAlgorithm")) == []
    # transfer learning may change data and static values; tunable <-> static is fine
    moved = request(kind="TransferLearning", data="s3://b/other/",
                    static={"epochs": "8", "alpha": "0.1"},
                    ranges={"ContinuousParameterRanges": [{"Name": "eta0"}]})
    assert problems([parent], 10, moved) == []
    # failed parents are allowed: the check never asks for a parent's status
    assert problems([parent] * 5, 495, request(kind="TransferLearning")) == []


@pytest.mark.parametrize("child, parents, parent_jobs, word", [
    (request(kind="TransferLearning", metric="loss"), 1, 10, "objective"),
    (request(kind="TransferLearning", static={"epochs": "8", "x": "1"}), 1, 10, "number"),
    (request(kind="TransferLearning", ranges={"IntegerParameterRanges": [
        {"Name": "alpha"}], "ContinuousParameterRanges": [{"Name": "eta0"}]}), 1, 10,
     "type"),
    (request(kind="IdenticalDataAndAlgorithm", data="s3://b/new/"), 1, 10, "data"),
    (request(kind="TransferLearning"), 6, 10, "parents"),
    (request(kind="TransferLearning", max_jobs=6), 1, 495, "500"),
])
def test_warm_start_rules_refuse_each_violation(lab09, child, parents, parent_jobs, word):
    found = lab09.warm_start_problems([request()] * parents, parent_jobs, child)
    assert len(found) == 1
    assert word in found[0]


def test_at_most_ten_static_values_may_change(lab09):
    names = [f"s{i}" for i in range(11)]
    parent = request(static=dict.fromkeys(names, "0"), ranges={})
    ten = request(kind="TransferLearning", ranges={},
                  static={n: ("1" if i < 10 else "0") for i, n in enumerate(names)})
    eleven = copy.deepcopy(ten)
    eleven["TrainingJobDefinition"]["StaticHyperParameters"]["s10"] = "1"
    assert lab09.warm_start_problems([parent], 1, ten) == []
    assert "10 static" in lab09.warm_start_problems([parent], 1, eleven)[0]
    assert lab09.hyperparameter_kinds(parent) == dict.fromkeys(names, "Static")


# ------------------------------------------------------------------ the stand-in
def bumpy(params):
    """Maximum 1.0 at x = 0.8, a local bump at 0.2; two "epochs"."""
    x = params["x"]
    value = math.exp(-((x - 0.8) ** 2) / 0.005) + 0.6 * math.exp(-((x - 0.2) ** 2) / 0.02)
    return np.array([value / 2, value])


def decode_x(unit):
    return {"x": float(unit[0])}


def test_bayesian_search_beats_random_on_a_narrow_peak(lab09):
    ei = lab09.expected_improvement
    bo = [bayesian_search(bumpy, decode_x, 1, 15, ei, seed=s, n_initial=4).best.objective
          for s in range(3)]
    rs = [random_search(bumpy, decode_x, 1, 15, seed=s).best.objective for s in range(3)]
    assert min(bo) > 0.97 and np.mean(bo) > np.mean(rs)


def test_warm_start_skips_the_random_start(lab09):
    parent = random_search(bumpy, decode_x, 1, 10, seed=1)
    child = bayesian_search(bumpy, decode_x, 1, 3, lab09.expected_improvement, seed=7,
                            n_initial=4, prior=parent.trials)
    assert child.strategy == "Bayesian (warm start)"
    assert child.best.objective >= 0.95
    with pytest.raises(LabKitError):
        random_search(bumpy, decode_x, 1, 0)


def test_run_bookkeeping():
    run = TuningRun("x", [Trial({}, np.zeros(1), np.array(c)) for c in
                          ([0.2, 0.3], [0.1, 0.9, 0.7], [0.5])])
    assert list(run.objectives) == [0.3, 0.7, 0.5]
    assert list(run.best_so_far()) == [0.3, 0.7, 0.7]
    assert run.best.objective == 0.7


def test_digits_trainer_is_deterministic_and_learns():
    train = digits_trainer(epochs=3)
    a = train({"alpha": 1e-4, "eta0": 0.05})
    assert len(a) == 3 and np.array_equal(a, train({"alpha": 1e-4, "eta0": 0.05}))
    assert 0.85 < a[-1] <= 1.0  # ten classes: chance is 0.1
    assert train({"alpha": 1.0, "eta0": 0.05})[-1] < a[-1] - 0.2  # far too much L2
    small = digits_trainer(epochs=1, n_train=100)({"alpha": 1e-4, "eta0": 0.05})
    assert small[-1] < a[-1]
