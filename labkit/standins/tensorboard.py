"""Figures for lab 15: what TensorBoard's tabs would show, drawn from logged histograms.

Not a lesson: the lab reads the event files and makes the diagnosis in its cells. These
helpers only draw, so the plotting code stays out of the way. TensorBoard keeps a
histogram as bucket right edges (``limits``) and ``counts`` with the data's ``min`` and
``max``; :func:`histogram_density` re-bins one onto common edges so histograms of several
steps, runs or labels can share one axis.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, TypeAlias

import numpy as np
import pandas as pd

from labkit.plots import OKABE_ITO

Histogram: TypeAlias = Any
"""One logged histogram: ``min``, ``max``, ``limits`` (right edges) and ``counts``."""


def histogram_density(histogram: Histogram, edges: Sequence[float] | np.ndarray) -> np.ndarray:
    """The histogram's counts re-binned onto ``edges`` (values spread evenly in a bucket)."""
    edges = np.asarray(edges, dtype=np.float64)
    limits = np.asarray(histogram["limits"], dtype=np.float64)
    counts = np.asarray(histogram["counts"], dtype=np.float64)
    lo, hi = float(histogram["min"]), float(histogram["max"])
    lefts = np.maximum(np.concatenate([[lo], limits[:-1]]), lo)
    rights = np.minimum(limits, hi)
    out = np.zeros(len(edges) - 1)
    for left, right, count in zip(lefts, rights, counts, strict=True):
        if count == 0:
            continue
        if right <= left:  # all values equal: the whole bucket sits at one point
            index = np.searchsorted(edges, left, side="right") - 1
            out[int(np.clip(index, 0, len(out) - 1))] += count
            continue
        overlap = np.clip(np.minimum(edges[1:], right) - np.maximum(edges[:-1], left), 0, None)
        out += count * overlap / (right - left)
    return out


def training_overview(axes: Any, steps: np.ndarray, loss: np.ndarray, epochs: np.ndarray,
                      accuracy: np.ndarray, precision: pd.Series, weak: int) -> None:
    """Three panels: training loss (raw and smoothed), validation accuracy, precision."""
    axes[0].plot(steps, loss, alpha=0.3)
    axes[0].plot(steps, pd.Series(loss).ewm(alpha=0.4).mean(), label="smoothed")
    axes[0].set(title="train/loss", xlabel="step", yscale="log")
    axes[1].plot(epochs, accuracy, marker=".")
    axes[1].set(title="val/accuracy", xlabel="epoch")
    colours = [OKABE_ITO[5] if str(c) == str(weak) else OKABE_ITO[0] for c in precision.index]
    axes[2].bar(precision.index, precision.to_numpy(), color=colours)
    axes[2].set(title="precision per class, last epoch", ylim=(0, 1.05), xlabel="class")


def optimisation_panels(axes: Any, grad_norms: pd.DataFrame,
                        activations: Mapping[str, Histogram]) -> None:
    """Gradient norm per parameter over the epochs; activation histograms, last epoch."""
    for tag, part in grad_norms.groupby("tag"):
        axes[0].plot(part.step, part.value, label=str(tag).split("/", 1)[1])
    axes[0].set(title="gradient norm per parameter", xlabel="epoch", yscale="log")
    axes[0].legend(fontsize=7, ncol=2)
    edges = np.linspace(0, 6, 61)
    for layer, histogram in activations.items():
        counts = histogram_density(histogram, edges)
        axes[1].step(edges[:-1], counts / counts.sum(), where="post", label=layer)
    axes[1].set(title="activations, last epoch", xlabel="activation", yscale="log")
    axes[1].legend()


def ridges(ax: Any, by_label: Mapping[int, Histogram], edges: np.ndarray,
           highlight: Sequence[int], threshold: float) -> None:
    """One filled ridge per label (the Histograms tab's offset view), log-scaled x."""
    for label, histogram in by_label.items():
        counts = histogram_density(histogram, edges)
        colour = OKABE_ITO[5] if label in highlight else "0.6"
        ax.fill_between(edges[1:], label, label + 0.9 * counts / counts.max(),
                        step="pre", color=colour, alpha=0.7)
    ax.axvline(threshold, ls="--", color="black")
    ax.set(xscale="log", xlabel="per-sample loss (last epoch)", ylabel="given label",
           yticks=list(by_label), title="loss_by_label/<class>, one ridge per label")


def epochs_stacked(ax: Any, rows: pd.DataFrame, edges: np.ndarray, threshold: float,
                   title: str) -> None:
    """One histogram per epoch, offset upwards by its step (TensorBoard's offset view)."""
    last = max(int(rows.step.max()), 1)
    for _, row in rows.iterrows():
        counts = histogram_density(row, edges)
        ax.plot(edges[1:], row.step + 3 * counts / counts.max(), drawstyle="steps-pre",
                color=OKABE_ITO[0], alpha=0.3 + 0.7 * row.step / last)
    ax.axvline(threshold, ls="--", color="black")
    ax.set(xscale="log", xlabel="per-sample loss", ylabel="epoch (offset)", title=title)


def before_after_bars(axes: Any, tables: Mapping[str, pd.DataFrame], runs: Sequence[str]
                      ) -> None:
    """Grouped bars per class: one panel per metric table, one bar colour per run."""
    for ax, (name, table) in zip(axes, tables.items(), strict=True):
        x = np.arange(len(table))
        for i, run in enumerate(runs):
            ax.bar(x + (i - 0.5) * 0.4, table[run], 0.4, label=run, color=OKABE_ITO[i])
        ax.set(title=f"{name} per class, last epoch", xticks=x, ylim=(0, 1.2),
               xlabel="class")
    axes[0].legend(loc="upper center", ncol=2, fontsize=8)
