"""Lab 15's event-file readers (#@save cells) and its figure helpers (labkit.standins).

Event files are written here with PyTorch's SummaryWriter and read back exactly; the
histogram arithmetic is checked against hand-worked buckets and against the raw data.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib
import numpy as np
import pytest

from labkit import lessons
from labkit.standins import tensorboard as figures

matplotlib.use("Agg")
SummaryWriter = pytest.importorskip("torch.utils.tensorboard").SummaryWriter


@pytest.fixture(scope="module")
def lab15():
    return lessons.load("15-tensorboard-debugging")


@pytest.fixture(scope="module")
def logdir(tmp_path_factory) -> Path:
    """Two runs with scalars, a histogram and a text table."""
    root = tmp_path_factory.mktemp("tb")
    rng = np.random.default_rng(0)
    for run, offset in (("a", 0.0), ("b", 1.0)):
        with SummaryWriter(log_dir=str(root / run)) as writer:
            for step in range(3):
                writer.add_scalar("loss", 1.0 / (step + 1) + offset, step)
                writer.add_scalar("precision/8", 0.9 - 0.1 * step, step)  # falls
                writer.add_scalar("precision/10", 0.9, step)
                writer.add_histogram("values", rng.uniform(0, 10, size=1000), step)
            writer.add_text("cm", "| true \\ pred | 0 | 1 |\n|---|---|---|\n| 0 | 5 | 1 |\n"
                                  "| 1 | 2 | 7 |", 2)
    return root


def test_accumulators_find_each_run(lab15, logdir):
    assert sorted(lab15.accumulators(logdir)) == ["a", "b"]
    assert list(lab15.accumulators(logdir / "a")) == ["."]  # files right in the folder


def test_read_scalars_returns_every_value_written(lab15, logdir):
    scalars = lab15.read_scalars(logdir)
    loss_b = scalars[(scalars.run == "b") & (scalars.tag == "loss")]
    assert loss_b.step.tolist() == [0, 1, 2]
    np.testing.assert_allclose(loss_b.value, [2.0, 1.5, 1.0 + 1 / 3], rtol=1e-6)
    assert len(scalars) == 18


def test_last_values_takes_the_last_step_in_numeric_class_order(lab15, logdir):
    table = lab15.last_values(lab15.read_scalars(logdir), "precision/")
    assert list(table.index) == ["8", "10"]  # numeric order, not "10" < "8"
    assert list(table.columns) == ["a", "b"]
    assert table.loc["8", "a"] == pytest.approx(0.7)  # the last step, not the largest


def test_histograms_keep_every_count(lab15, logdir):
    hists = lab15.read_histograms(logdir)
    row = hists[hists.run == "a"].iloc[-1]
    assert hists[hists.run == "a"].step.tolist() == [0, 1, 2]
    assert row["counts"].sum() == 1000 and 0 <= row["min"] < row["max"] <= 10


def test_fraction_above_agrees_with_the_raw_data(lab15, logdir):
    row = lab15.read_histograms(logdir).query("run == 'a'").iloc[-1]
    rng = np.random.default_rng(0)
    for _ in range(2):
        rng.uniform(0, 10, size=1000)  # the draws of run a's steps 0 and 1
    exact = float((rng.uniform(0, 10, size=1000) > 7).mean())
    assert lab15.fraction_above(row, 7.0) == pytest.approx(exact, abs=0.03)
    assert lab15.fraction_above(row, -1.0) == pytest.approx(1.0)
    assert lab15.fraction_above(row, 11.0) == pytest.approx(0.0)


def test_fraction_above_hand_worked_buckets(lab15):
    # buckets [0,1], (1,2], (2,3] with 2 values each; above 1.5: half of the middle
    # bucket (1) and the last (2) -> 3 of 6
    h = {"min": 0.0, "max": 3.0, "limits": [1.0, 2.0, 3.0], "counts": [2, 2, 2]}
    assert lab15.fraction_above(h, 1.5) == pytest.approx(0.5)
    assert lab15.fraction_above(h, 2.0) == pytest.approx(1 / 3)
    # the last bucket's right edge is clipped to max: (2, 2.5], so above 2.25 is half
    clipped = {"min": 0.0, "max": 2.5, "limits": [1.0, 2.0, 1e12], "counts": [0, 0, 4]}
    assert lab15.fraction_above(clipped, 2.25) == pytest.approx(0.5)
    # all values equal (a zero-width bucket) count fully on their side of the threshold
    point = {"min": 0.5, "max": 0.5, "limits": [0.5], "counts": [10]}
    assert lab15.fraction_above(point, 0.4) == 1.0 and lab15.fraction_above(point, 0.6) == 0


def test_text_round_trips_to_a_matrix(lab15, logdir):
    [text] = lab15.read_text(logdir, "cm", "a")
    np.testing.assert_array_equal(lab15.parse_markdown_matrix(text), [[5, 1], [2, 7]])


def test_histogram_density_keeps_all_counts_inside_the_range(lab15, logdir):
    row = lab15.read_histograms(logdir).query("run == 'b'").iloc[0]
    counts = figures.histogram_density(row, np.linspace(-1, 11, 13))
    assert counts.sum() == pytest.approx(1000)
    assert counts[0] == pytest.approx(0) and counts[-1] == pytest.approx(0)
    h = {"min": 0.0, "max": 2.0, "limits": [1.0, 2.0], "counts": [4, 2]}
    np.testing.assert_allclose(figures.histogram_density(h, [0, 0.5, 1.5, 2]), [2, 3, 1])


def test_figure_helpers_draw(lab15, logdir):
    import matplotlib.pyplot as plt

    hists = lab15.read_histograms(logdir)
    rows = hists[hists.run == "a"]
    fig, ax = plt.subplots()
    figures.ridges(ax, {0: rows.iloc[0], 1: rows.iloc[1]}, np.linspace(0, 10, 11), (1,), 5)
    figures.epochs_stacked(ax, rows, np.linspace(0, 10, 11), 5.0, "t")
    assert len(ax.collections) == 2 and len(ax.lines) >= 3
    plt.close(fig)
