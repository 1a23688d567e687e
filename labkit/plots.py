"""Figures that stay out of the way: one colour-blind-safe style and small drawing helpers.

``from labkit import plots`` applies the course style (Okabe–Ito palette, readable sizes).
A figure's *alt text* is set on the notebook cell that draws it (cell metadata
``mystnb.image.alt``), so the built book shows what the figure says to screen readers.
"""

from __future__ import annotations

from typing import Any

import matplotlib as mpl
import matplotlib.pyplot as plt
from cycler import cycler

OKABE_ITO = [
    "#0072B2",  # blue
    "#E69F00",  # orange
    "#009E73",  # bluish green
    "#CC79A7",  # reddish purple
    "#56B4E9",  # sky blue
    "#D55E00",  # vermillion
    "#F0E442",  # yellow
    "#000000",  # black
]
"""Okabe and Ito's palette, distinguishable with the common colour-vision deficiencies."""


def use_course_style() -> None:
    """Apply the course's figure style to matplotlib."""
    mpl.rcParams.update(
        {
            "axes.prop_cycle": cycler(color=OKABE_ITO),
            "axes.spines.top": False,
            "axes.spines.right": False,
            "axes.grid": True,
            "grid.alpha": 0.3,
            "figure.figsize": (7.0, 3.6),
            "figure.dpi": 100,
            "font.size": 10,
            "image.cmap": "cividis",
        }
    )


def figure(ncols: int = 1, nrows: int = 1, **kwargs: Any) -> tuple[Any, Any]:
    """``plt.subplots`` with the course's size, scaled to the number of panels."""
    width = 7.0 if ncols == 1 else min(3.6 * ncols, 12.0)
    kwargs.setdefault("figsize", (width, 3.4 * nrows))
    kwargs.setdefault("layout", "constrained")
    return plt.subplots(nrows, ncols, **kwargs)


use_course_style()
