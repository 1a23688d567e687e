"""Unit tests of labkit.tensorboard: event files written by PyTorch are read back exactly."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from labkit import tensorboard as tb
from labkit.errors import LabKitError

SummaryWriter = pytest.importorskip("torch.utils.tensorboard").SummaryWriter


@pytest.fixture()
def logdir(tmp_path: Path) -> Path:
    """Two runs with scalars, a histogram, a text table and an image."""
    rng = np.random.default_rng(0)
    for run, offset in (("a", 0.0), ("b", 1.0)):
        with SummaryWriter(log_dir=str(tmp_path / run)) as writer:
            for step in range(3):
                writer.add_scalar("loss", 1.0 / (step + 1) + offset, step)
                writer.add_scalar("precision/8", 0.5 + 0.1 * step, step)
                writer.add_scalar("precision/10", 0.9, step)
                writer.add_histogram("values", rng.uniform(0, 10, size=1000), step)
            writer.add_text("cm", "| true \\ pred | 0 | 1 |\n|---|---|---|\n| 0 | 5 | 1 |\n"
                                  "| 1 | 2 | 7 |", 2)
            image = np.zeros((3, 4, 6), dtype=np.uint8)
            image[0] = 255  # red
            writer.add_image("img", image, 2)
    return tmp_path


def test_find_runs_lists_each_folder_with_event_files(logdir: Path) -> None:
    assert sorted(tb.find_runs(logdir)) == ["a", "b"]


def test_find_runs_explains_an_empty_or_missing_folder(tmp_path: Path) -> None:
    with pytest.raises(LabKitError, match="No TensorBoard event files"):
        tb.find_runs(tmp_path)
    with pytest.raises(LabKitError, match="does not exist"):
        tb.find_runs(tmp_path / "missing")


def test_read_scalars_returns_every_value_written(logdir: Path) -> None:
    scalars = tb.read_scalars(logdir)
    loss_b = scalars[(scalars.run == "b") & (scalars.tag == "loss")]
    assert loss_b.step.tolist() == [0, 1, 2]
    np.testing.assert_allclose(loss_b.value, [2.0, 1.5, 1.0 + 1 / 3], rtol=1e-6)
    assert len(tb.read_scalars(logdir, run="a")) == 9


def test_read_scalars_rejects_an_unknown_run(logdir: Path) -> None:
    with pytest.raises(LabKitError, match="no run 'c'"):
        tb.read_scalars(logdir, run="c")


def test_last_values_pivots_the_last_step_and_orders_classes_numerically(logdir: Path) -> None:
    table = tb.last_values(tb.read_scalars(logdir), "precision/")
    assert list(table.index) == ["8", "10"]
    assert list(table.columns) == ["a", "b"]
    assert table.loc["8", "a"] == pytest.approx(0.7)
    with pytest.raises(LabKitError):
        tb.last_values(tb.read_scalars(logdir), "recall/")


def test_histograms_keep_count_and_fraction_above_matches_the_data(logdir: Path) -> None:
    hists = tb.read_histograms(logdir, run="a")
    assert hists.step.tolist() == [0, 1, 2]
    row = hists.iloc[-1]
    assert row["num"] == 1000 and row["counts"].sum() == 1000
    # the data are uniform on [0, 10]: about 30 % lie above 7 (bucket interpolation is coarse)
    rng = np.random.default_rng(0)
    for _ in range(2):
        rng.uniform(0, 10, size=1000)  # the draws of runs a's steps 0 and 1
    exact = float((rng.uniform(0, 10, size=1000) > 7).mean())
    assert tb.fraction_above(row, 7.0) == pytest.approx(exact, abs=0.03)
    assert tb.fraction_above(row, -1.0) == pytest.approx(1.0)
    assert tb.fraction_above(row, 11.0) == pytest.approx(0.0)


def test_histogram_density_keeps_all_counts_inside_the_range(logdir: Path) -> None:
    row = tb.read_histograms(logdir, run="b").iloc[0]
    counts = tb.histogram_density(row, np.linspace(-1, 11, 13))
    assert counts.sum() == pytest.approx(1000)
    assert counts[0] == pytest.approx(0) and counts[-1] == pytest.approx(0)


def test_text_round_trips_to_a_matrix(logdir: Path) -> None:
    text = tb.read_text(logdir, "cm", run="a").text.iloc[0]
    np.testing.assert_array_equal(tb.parse_markdown_matrix(text), [[5, 1], [2, 7]])


def test_parse_markdown_matrix_rejects_a_non_square_table() -> None:
    with pytest.raises(LabKitError, match="square"):
        tb.parse_markdown_matrix("| x | 0 | 1 |\n|---|---|---|\n| 0 | 1 | 2 |")


def test_read_images_decodes_the_pixels(logdir: Path) -> None:
    images = tb.read_images(logdir, "img")
    assert images.run.tolist() == ["a", "b"]
    pixels = images.image.iloc[0]
    assert pixels.shape[:2] == (4, 6)
    assert (pixels[..., 0] == 255).all() and (pixels[..., 1] == 0).all()
    with pytest.raises(LabKitError, match="No images"):
        tb.read_images(logdir, "nope")


def test_per_class_precision_recall_matches_scikit_learn() -> None:
    from sklearn.metrics import confusion_matrix, precision_score, recall_score

    rng = np.random.default_rng(1)
    y_true = rng.integers(0, 4, 200)
    y_pred = np.where(rng.random(200) < 0.7, y_true, rng.integers(0, 4, 200))
    y_pred[y_pred == 3] = 2  # class 3 is never predicted: precision 0, as zero_division=0
    precision, recall = tb.per_class_precision_recall(confusion_matrix(y_true, y_pred,
                                                                       labels=range(4)))
    np.testing.assert_allclose(precision, precision_score(y_true, y_pred, average=None,
                                                          labels=range(4), zero_division=0))
    np.testing.assert_allclose(recall, recall_score(y_true, y_pred, average=None,
                                                    labels=range(4), zero_division=0))


def test_read_tags_lists_kinds(logdir: Path) -> None:
    tags = tb.read_tags(logdir)
    kinds = set(tags[tags.run == "a"].kind)
    assert {"scalars", "histograms", "images", "tensors"} <= kinds


def test_load_script_reloads_a_changed_file(tmp_path: Path) -> None:
    script = tmp_path / "train_x.py"
    script.write_text("VALUE = 1\n")
    assert tb.load_script(script).VALUE == 1
    script.write_text("VALUE = 2\n")
    assert tb.load_script(script).VALUE == 2
    with pytest.raises(LabKitError):
        tb.load_script(tmp_path / "missing.py")


def test_tensorboard_command_quotes_the_folder(tmp_path: Path) -> None:
    command = tb.tensorboard_command(tmp_path / "with space", port=6007)
    assert "--logdir '" in command and command.endswith("--port 6007")
