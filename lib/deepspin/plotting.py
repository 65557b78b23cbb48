"""One figure style for the book, and helpers that put parameters on figures.

Chapters call :func:`use_style` once, label axes with units, put the parameters in
the caption with :func:`parameter_caption`, and save with :func:`save_figure`, which
writes PNG and SVG into the run directory when the chapter runs under
``deepspin run`` and does nothing otherwise.
"""

from __future__ import annotations

import math
import re
from numbers import Real
from pathlib import Path

import matplotlib as mpl

from deepspin.results import current_run_dir

__all__ = ["STYLE", "parameter_caption", "save_figure", "use_style"]

STYLE = {
    "figure.figsize": (6.4, 4.0),
    "figure.dpi": 110,
    "savefig.dpi": 150,
    "savefig.bbox": "tight",
    "axes.grid": True,
    "grid.alpha": 0.3,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.titlesize": 11,
    "axes.labelsize": 11,
    "legend.fontsize": 9,
    "legend.frameon": False,
    "lines.linewidth": 1.8,
    "lines.markersize": 5,
    "svg.fonttype": "none",
}

_SYMBOLS = {
    "alpha": "α",
    "kappa": "κ",
    "beta": "β",
    "n": "N",
    "n_samples": "samples",
    "seed": "seed",
}


def use_style() -> None:
    """Apply the book's matplotlib style."""
    mpl.rcParams.update(STYLE)


def _format(value) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_format(v) for v in value) + "]"
    return str(value)


def _check_caption_value(name, value) -> None:
    if isinstance(value, list | tuple):
        for item in value:
            _check_caption_value(name, item)
    elif isinstance(value, Real) and not isinstance(value, bool) and not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number to be shown in a caption, got {value!r}")


def parameter_caption(**params) -> str:
    """A caption fragment listing parameters, e.g. ``"κ = 0.5, N = 100, samples = 40"``.

    Known names are shown as symbols (``kappa`` → κ); others as they are.

    Parameters
    ----------
    **params
        Values to show: numbers must be finite (a NaN or infinite parameter is a bug
        upstream, not something to print on a figure), also inside lists and tuples.
    """
    for name, value in params.items():
        _check_caption_value(name, value)
    return ", ".join(f"{_SYMBOLS.get(k, k)} = {_format(v)}" for k, v in params.items())


def save_figure(fig, name: str) -> list[Path]:
    """Save ``fig`` as ``name.png`` and ``name.svg`` in the current run directory.

    Returns the written paths; outside ``deepspin run`` nothing is written and the
    list is empty (the book shows figures inline).

    Parameters
    ----------
    fig : matplotlib.figure.Figure
    name : str
        A plain file stem: letters, digits, ``_``, ``.`` and ``-``.
    """
    from matplotlib.figure import Figure

    if not isinstance(fig, Figure):
        raise ValueError(f"fig must be a matplotlib Figure, got {type(fig).__name__}")
    if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z0-9_.-]+", name):
        raise ValueError(f"name must be a plain file stem (letters, digits, _ . -), got {name!r}")
    run_dir = current_run_dir()
    if run_dir is None:
        return []
    figures = run_dir / "figures"
    figures.mkdir(exist_ok=True)
    paths = [figures / f"{name}.{ext}" for ext in ("png", "svg")]
    for path in paths:
        fig.savefig(path)
    return paths
