"""Read TensorBoard event files back into pandas, and draw what TensorBoard would show.

A training script writes event files with ``torch.utils.tensorboard.SummaryWriter`` (or any
other TensorBoard writer). A learner usually looks at them in the TensorBoard web app; a lab
also needs the *numbers*, to assert a diagnosis and to show the same pictures in the book.
This module reads every run below a log folder with TensorBoard's own reader
(``EventAccumulator``), returns tidy data frames, and offers a few helpers that turn a
logged histogram or confusion matrix back into something a test can check.

    scalars = read_scalars(logdir)           # run, tag, step, value, wall_time
    hists = read_histograms(logdir)          # run, tag, step, min, max, num, limits, counts
    fraction_above(hists.iloc[-1], 0.69)     # share of a histogram's mass above a value
"""

from __future__ import annotations

import importlib.util
import io
import shlex
import sys
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import pandas as pd

from labkit.errors import LabKitError

EVENT_FILE_GLOB = "events.out.tfevents.*"
"""The file names TensorBoard writers use (and SageMaker copies to S3 unchanged)."""


# ---------------------------------------------------------------------------------- finding runs
def find_runs(logdir: Path | str) -> dict[str, Path]:
    """Every *run* below ``logdir``: a folder that holds event files, keyed by its relative path.

    TensorBoard treats each such folder as one run (one line colour in its charts). A folder
    with event files directly in ``logdir`` is the run ``"."``.
    """
    root = Path(logdir)
    if not root.is_dir():
        raise LabKitError(
            f"The TensorBoard log folder {root} does not exist.",
            "train with a SummaryWriter that writes below this folder first, or pass the "
            "folder you gave SummaryWriter(log_dir=...).",
        )
    runs: dict[str, Path] = {}
    for event_file in sorted(root.rglob(EVENT_FILE_GLOB)):
        folder = event_file.parent
        runs.setdefault(folder.relative_to(root).as_posix(), folder)
    if not runs:
        raise LabKitError(
            f"No TensorBoard event files ({EVENT_FILE_GLOB}) were found below {root}.",
            "check the log folder; SummaryWriter writes its files only when it is flushed or "
            "closed (use it as a context manager or call writer.close()).",
        )
    return runs


def _accumulator(folder: Path) -> Any:
    from tensorboard.backend.event_processing import event_accumulator as ea

    # size 0 = keep every event (the default keeps a sample: 1 histogram, 4 images per tag).
    keep_all = {ea.SCALARS: 0, ea.HISTOGRAMS: 0, ea.IMAGES: 0, ea.TENSORS: 0,
                ea.COMPRESSED_HISTOGRAMS: 0}
    acc = ea.EventAccumulator(str(folder), size_guidance=keep_all)
    acc.Reload()
    return acc


def _runs(logdir: Path | str, run: str | None) -> dict[str, Path]:
    runs = find_runs(logdir)
    if run is None:
        return runs
    if run not in runs:
        raise LabKitError(
            f"There is no run {run!r} below {logdir}; the runs are {sorted(runs)}.",
            "pass one of those names, or run=None for all runs.",
        )
    return {run: runs[run]}


# ---------------------------------------------------------------------------------- readers
def read_scalars(logdir: Path | str, run: str | None = None) -> pd.DataFrame:
    """All scalar events below ``logdir`` (or of one ``run``) as a tidy data frame.

    Columns: ``run``, ``tag``, ``step``, ``value``, ``wall_time``; sorted by run, tag, step.
    This is what TensorBoard's *Scalars* tab plots.
    """
    rows: list[dict[str, Any]] = []
    for name, folder in _runs(logdir, run).items():
        acc = _accumulator(folder)
        for tag in acc.Tags()["scalars"]:
            for ev in acc.Scalars(tag):
                rows.append({"run": name, "tag": tag, "step": int(ev.step),
                             "value": float(ev.value), "wall_time": float(ev.wall_time)})
    frame = pd.DataFrame(rows, columns=["run", "tag", "step", "value", "wall_time"])
    return frame.sort_values(["run", "tag", "step"], ignore_index=True)


def read_histograms(logdir: Path | str, run: str | None = None) -> pd.DataFrame:
    """All histogram events as a data frame (TensorBoard's *Histograms* and *Distributions*).

    Columns: ``run``, ``tag``, ``step``, ``min``, ``max``, ``num`` (number of values),
    ``sum``, ``sum_squares``, ``limits`` (right edge of each bucket, a numpy array) and
    ``counts`` (values per bucket). The first bucket starts at ``min``.
    """
    rows: list[dict[str, Any]] = []
    for name, folder in _runs(logdir, run).items():
        acc = _accumulator(folder)
        for tag in acc.Tags()["histograms"]:
            for ev in acc.Histograms(tag):
                h = ev.histogram_value
                rows.append({
                    "run": name, "tag": tag, "step": int(ev.step), "min": float(h.min),
                    "max": float(h.max), "num": float(h.num), "sum": float(h.sum),
                    "sum_squares": float(h.sum_squares),
                    "limits": np.asarray(h.bucket_limit, dtype=float),
                    "counts": np.asarray(h.bucket, dtype=float),
                })
    columns = ["run", "tag", "step", "min", "max", "num", "sum", "sum_squares", "limits",
               "counts"]
    return pd.DataFrame(rows, columns=columns).sort_values(["run", "tag", "step"],
                                                           ignore_index=True)


def read_images(logdir: Path | str, tag: str, run: str | None = None) -> pd.DataFrame:
    """The images logged under ``tag`` (e.g. by ``writer.add_figure``), decoded to arrays.

    Columns: ``run``, ``step``, ``image`` (an ``H x W x C`` uint8 array). This is what the
    *Images* tab shows.
    """
    from PIL import Image

    rows: list[dict[str, Any]] = []
    for name, folder in _runs(logdir, run).items():
        acc = _accumulator(folder)
        if tag not in acc.Tags()["images"]:
            continue
        for ev in acc.Images(tag):
            with Image.open(io.BytesIO(ev.encoded_image_string)) as img:
                rows.append({"run": name, "step": int(ev.step), "image": np.asarray(img)})
    if not rows:
        raise LabKitError(
            f"No images with the tag {tag!r} were found below {logdir}.",
            "check the tag (read_tags lists them) and that the writer was closed.",
        )
    return pd.DataFrame(rows).sort_values(["run", "step"], ignore_index=True)


def read_text(logdir: Path | str, tag: str, run: str | None = None) -> pd.DataFrame:
    """The text logged under ``tag`` with ``writer.add_text`` (TensorBoard's *Text* tab).

    Columns: ``run``, ``step``, ``text``. TensorBoard stores text as a string tensor whose tag
    gets the suffix ``/text_summary`` when written by PyTorch; both spellings are accepted.
    """
    from tensorboard.util import tensor_util

    rows: list[dict[str, Any]] = []
    for name, folder in _runs(logdir, run).items():
        acc = _accumulator(folder)
        tags = acc.Tags()["tensors"]
        found = next((t for t in (tag, f"{tag}/text_summary") if t in tags), None)
        if found is None:
            continue
        for ev in acc.Tensors(found):
            value = tensor_util.make_ndarray(ev.tensor_proto)
            text = value.item() if value.size == 1 else value.reshape(-1)[0]
            rows.append({"run": name, "step": int(ev.step),
                         "text": text.decode("utf-8") if isinstance(text, bytes) else str(text)})
    if not rows:
        raise LabKitError(
            f"No text with the tag {tag!r} was found below {logdir}.",
            "check the tag (read_tags lists them) and that the writer was closed.",
        )
    return pd.DataFrame(rows).sort_values(["run", "step"], ignore_index=True)


def read_tags(logdir: Path | str) -> pd.DataFrame:
    """Which tags each run holds, by kind (scalars, histograms, images, tensors)."""
    rows: list[dict[str, str]] = []
    for name, folder in find_runs(logdir).items():
        tags = _accumulator(folder).Tags()
        for kind in ("scalars", "histograms", "images", "tensors"):
            rows.extend({"run": name, "kind": kind, "tag": t} for t in tags.get(kind, []))
    return pd.DataFrame(rows, columns=["run", "kind", "tag"])


# ---------------------------------------------------------------------------------- helpers
def last_values(scalars: pd.DataFrame, prefix: str) -> pd.DataFrame:
    """The value at the last step of every tag that starts with ``prefix``, one column per run.

    ``last_values(scalars, "precision/")`` gives a class-by-run table of the final precision.
    The index is the rest of the tag (``"precision/8"`` becomes ``"8"``).
    """
    part = scalars[scalars["tag"].str.startswith(prefix)]
    if part.empty:
        raise LabKitError(
            f"No scalar tag starts with {prefix!r}.",
            "check the prefix against read_tags(logdir).",
        )
    last = part.sort_values("step").groupby(["run", "tag"]).tail(1)
    table = last.assign(key=last["tag"].str.slice(len(prefix))).pivot(
        index="key", columns="run", values="value")
    order = sorted(table.index, key=lambda k: (not k.isdigit(), int(k) if k.isdigit() else 0, k))
    table = table.loc[order]
    table.index.name = prefix.rstrip("/")
    table.columns.name = None
    return table


def fraction_above(histogram: pd.Series | dict[str, Any], threshold: float) -> float:
    """Share of a logged histogram's values that are above ``threshold``.

    TensorBoard keeps only bucket counts, so a bucket that straddles the threshold is split
    in proportion to the part of its width above it (values are taken as spread evenly in a
    bucket). ``histogram`` is one row of :func:`read_histograms`.
    """
    limits = np.asarray(histogram["limits"], dtype=float)
    counts = np.asarray(histogram["counts"], dtype=float)
    total = counts.sum()
    if total <= 0:
        raise LabKitError("The histogram is empty (no values were logged).",
                          "log at least one value per histogram.")
    lo, hi = float(histogram["min"]), float(histogram["max"])
    lefts = np.concatenate([[lo], limits[:-1]])
    rights = np.minimum(limits, hi)
    lefts = np.maximum(lefts, lo)
    above = 0.0
    for left, right, count in zip(lefts, rights, counts):
        if count == 0:
            continue
        if left >= threshold:
            above += count
        elif right > threshold:
            above += count * (right - threshold) / (right - left)
    return float(above / total)


def histogram_density(histogram: pd.Series | dict[str, Any],
                      bins: Sequence[float] | np.ndarray) -> np.ndarray:
    """Re-bin a logged histogram onto ``bins`` (edges); returns the count per new bin.

    TensorBoard's buckets are exponentially spaced and differ between steps; re-binning onto
    common edges makes histograms of several steps, runs or labels comparable in one plot.
    """
    edges = np.asarray(bins, dtype=float)
    limits = np.asarray(histogram["limits"], dtype=float)
    counts = np.asarray(histogram["counts"], dtype=float)
    lo, hi = float(histogram["min"]), float(histogram["max"])
    lefts = np.maximum(np.concatenate([[lo], limits[:-1]]), lo)
    rights = np.minimum(limits, hi)
    out = np.zeros(len(edges) - 1)
    for left, right, count in zip(lefts, rights, counts):
        if count == 0:
            continue
        if right <= left:  # a bucket of zero width (all values equal): put it where it is
            idx = np.clip(np.searchsorted(edges, left, side="right") - 1, 0, len(out) - 1)
            out[idx] += count
            continue
        overlap = np.clip(np.minimum(edges[1:], right) - np.maximum(edges[:-1], left), 0, None)
        out += count * overlap / (right - left)
    return out


def parse_markdown_matrix(text: str) -> np.ndarray:
    """Parse a square matrix logged as a Markdown table (header row, then one row per class).

    The first column of each row is its label and is dropped; the result is an integer array.
    """
    lines = [ln.strip() for ln in text.strip().splitlines() if ln.strip().startswith("|")]
    body = [ln for ln in lines[1:] if not set(ln.replace("|", "").strip()) <= set("-: ")]
    rows = []
    for ln in body:
        cells = [c.strip() for c in ln.strip("|").split("|")]
        rows.append([int(c) for c in cells[1:]])
    matrix = np.asarray(rows, dtype=int)
    if matrix.ndim != 2 or matrix.shape[0] != matrix.shape[1]:
        raise LabKitError(
            f"The text is not a square Markdown matrix (got shape {matrix.shape}).",
            "log the confusion matrix as '| true \\ pred | 0 | 1 | ...' with one row per class.",
        )
    return matrix


def per_class_precision_recall(confusion: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Precision and recall of every class from a confusion matrix (rows true, columns predicted).

    A class that is never predicted (or never present) gets 0, as scikit-learn's
    ``zero_division=0`` does.
    """
    cm = np.asarray(confusion, dtype=float)
    tp = np.diag(cm)
    predicted, actual = cm.sum(axis=0), cm.sum(axis=1)
    precision = np.divide(tp, predicted, out=np.zeros_like(tp), where=predicted > 0)
    recall = np.divide(tp, actual, out=np.zeros_like(tp), where=actual > 0)
    return precision, recall


def tensorboard_command(logdir: Path | str, port: int = 6006) -> str:
    """The shell command that serves ``logdir`` in the TensorBoard web app on this machine."""
    exe = Path(sys.executable).with_name("tensorboard")
    program = str(exe) if exe.exists() else "tensorboard"
    return f"{shlex.quote(program)} --logdir {shlex.quote(str(logdir))} --port {port}"


def load_script(path: Path | str, name: str | None = None) -> ModuleType:
    """Import a training script from ``path`` as a fresh module (re-read on every call).

    Lets a notebook call the functions of the same ``train.py`` it ships to SageMaker.
    """
    file = Path(path)
    if not file.is_file():
        raise LabKitError(f"The script {file} does not exist.",
                          "run the cells that write it first.")
    module_name = name or file.stem
    spec = importlib.util.spec_from_file_location(module_name, file)
    if spec is None or spec.loader is None:
        raise LabKitError(f"Python cannot import {file}.", "check that it is a .py file.")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    spec.loader.exec_module(module)
    return module

