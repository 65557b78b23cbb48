"""Gaussian measure toolkit shared by every replica solver.

Notation: ``Dz = exp(-z**2/2) dz / sqrt(2*pi)`` is the standard Gaussian measure,
``H(x) = ∫_x^∞ Dz`` its tail, and ``G(x) = exp(-x**2/2)/sqrt(2*pi)`` its density.
Everything is built on scipy.special so that both tails stay accurate: ``H`` is
``ndtr(-x)``, ``log H`` is ``log_ndtr(-x)`` (−804.608 at x = 40) and the ratio
``G/H`` is ``sqrt(2/pi) / erfcx(x/sqrt(2))``, finite and smooth for every x.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from numpy.polynomial.hermite_e import hermegauss
from numpy.polynomial.legendre import leggauss
from scipy.special import erfcx, log_ndtr, ndtr

from deepspin.checks import check_array, check_int, check_real

__all__ = [
    "G",
    "G_over_H",
    "H",
    "gauss_hermite",
    "gaussian_average",
    "gaussian_convolution",
    "legendre_nodes",
    "log_H",
    "panel_legendre",
    "split_gauss_nodes",
]

_SQRT2 = np.sqrt(2.0)
_SQRT_2_OVER_PI = np.sqrt(2.0 / np.pi)


def legendre_nodes(n: int) -> tuple[np.ndarray, np.ndarray]:
    """Gauss–Legendre nodes and weights on [−1, 1], cached (read-only arrays).

    Parameters
    ----------
    n : int, 1 <= n <= 10000
        Number of nodes.
    """
    return _legendre_nodes(check_int("n", n, 1, 10_000))


@lru_cache(maxsize=64)
def _legendre_nodes(n: int) -> tuple[np.ndarray, np.ndarray]:
    nodes, weights = leggauss(n)
    nodes.flags.writeable = False
    weights.flags.writeable = False
    return nodes, weights


@lru_cache(maxsize=64)
def _hermite_nodes(n: int) -> tuple[np.ndarray, np.ndarray]:
    nodes, weights = hermegauss(n)
    weights = weights / np.sqrt(2.0 * np.pi)
    nodes.flags.writeable = False
    weights.flags.writeable = False
    return nodes, weights


def _argument(x) -> np.ndarray:
    """``x`` as a float array: reals or ±inf (the functions below take their limits there);
    NaN, strings and other non-numbers are refused."""
    try:
        array = np.asarray(x)
        numeric = array.dtype.kind in "iuf"
    except (TypeError, ValueError):
        numeric = False
    if not numeric:
        raise ValueError(f"x must be a real number or an array of reals, got {x!r}")
    array = array.astype(float, copy=False)
    if np.isnan(array).any():
        raise ValueError(f"x must hold reals or ±inf, not NaN, got {x!r}")
    return array


def G(x):
    """Standard Gaussian density ``exp(-x²/2)/sqrt(2π)``.

    Parameters
    ----------
    x : float or array_like
        Reals; ±inf give the limit 0. NaN is refused.
    """
    x = _argument(x)
    return np.exp(-0.5 * x * x) / np.sqrt(2.0 * np.pi)


def H(x):
    """Gaussian tail ``H(x) = ∫_x^∞ Dz = ndtr(-x)``, accurate at both tails.

    Parameters
    ----------
    x : float or array_like
        Reals; H(+inf) = 0 and H(−inf) = 1. NaN is refused.
    """
    return ndtr(-_argument(x))


def log_H(x):
    """``log H(x)`` without underflow: ``log_ndtr(-x)``; ≈ −x²/2 − log(x√(2π)) as x → ∞.

    Parameters
    ----------
    x : float or array_like
        Reals; log H(+inf) = −inf and log H(−inf) = 0. NaN is refused.
    """
    return log_ndtr(-_argument(x))


def G_over_H(x):
    """The inverse Mills ratio ``G(x)/H(x) = sqrt(2/π)/erfcx(x/√2)``.

    Behaves like ``x + 1/x`` for x → +∞ and like ``G(x)`` for x → −∞; never 0/0.

    Parameters
    ----------
    x : float or array_like
        Reals; the ratio is +inf at +inf and 0 at −inf. NaN is refused.
    """
    x = _argument(x)
    with np.errstate(divide="ignore"):  # erfcx(+inf) = 0: the ratio's limit is +inf
        return _SQRT_2_OVER_PI / erfcx(x / _SQRT2)


def gauss_hermite(n: int) -> tuple[np.ndarray, np.ndarray]:
    """Nodes and weights of the n-point rule for ``∫ Dz f(z)`` (probabilists' Hermite).

    The weights sum to one, and the rule is exact for polynomials of degree < 2n.

    Parameters
    ----------
    n : int, 1 <= n <= 10000
        Number of nodes.
    """
    return _hermite_nodes(check_int("n", n, 1, 10_000))


def panel_legendre(panels: tuple, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Composite Gauss–Legendre rule: ``n`` nodes on each interval of ``panels``.

    The rule is cached and its arrays are read-only, so solvers can call it on every
    evaluation of their map.

    Parameters
    ----------
    panels : sequence of (a, b) pairs
        Non-empty; finite reals with a < b.
    n : int, 1 <= n <= 10000
        Nodes per panel.

    Returns
    -------
    nodes, weights : ndarray of shape (len(panels) * n,)
    """
    n = check_int("n", n, 1, 10_000)
    try:
        pairs = tuple((float(a), float(b)) for a, b in panels)
        ok = (
            bool(pairs)
            and all(np.isfinite(a) and np.isfinite(b) and a < b for a, b in pairs)
            and not isinstance(panels, (str, bytes))
        )
    except (TypeError, ValueError):
        ok = False
    if not ok:
        raise ValueError(
            f"panels must be a non-empty sequence of (a, b) pairs of finite reals with a < b, "
            f"got {panels!r}"
        )
    return _panel_legendre(pairs, n)


@lru_cache(maxsize=16)
def _panel_legendre(panels: tuple, n: int) -> tuple[np.ndarray, np.ndarray]:
    x, w = _legendre_nodes(n)
    nodes = np.concatenate([0.5 * (b - a) * (x + 1.0) + a for a, b in panels])
    weights = np.concatenate([0.5 * (b - a) * w for a, b in panels])
    nodes.flags.writeable = False
    weights.flags.writeable = False
    return nodes, weights


def split_gauss_nodes(breakpoint=0.0, n: int = 96, zmax: float = 12.0):
    """Composite Gauss–Legendre rule for ``∫ Dz f(z)`` with a kink allowed at ``breakpoint``.

    Integrands such as ``ln H((κ − √q z)/√(1−q))`` or ``ln 2cosh(√q̂ z)`` are smooth
    except for a boundary layer at one point that sharpens as the order parameter
    approaches its limit; Gauss–Hermite converges slowly there. Splitting
    ``[−Z, Z]`` at the breakpoint and using ``n`` Legendre nodes on each side (with
    the Gaussian density folded into the weights) converges fast on both sides.

    Parameters
    ----------
    breakpoint : float or array_like
        Finite kink location(s); an array gives one rule per entry (broadcast over the
        last axis).
    n : int, 2 <= n <= 10000
        Nodes per side.
    zmax : float, 1 <= zmax <= 40
        Half-width Z of the truncated domain beyond the breakpoint; the neglected
        Gaussian mass is below ``2 H(zmax)`` (1e-33 at the default).

    Returns
    -------
    nodes, weights : ndarray of shape ``breakpoint.shape + (2n,)``
    """
    n = check_int("n", n, 2, 10_000)
    zmax = check_real("zmax", zmax, 1.0, 40.0)
    b = _finite_or_array("breakpoint", breakpoint)[..., None]
    x, w = _legendre_nodes(n)
    lo = np.minimum(b, 0.0) - zmax
    hi = np.maximum(b, 0.0) + zmax
    left = 0.5 * (b - lo) * (x + 1.0) + lo
    right = 0.5 * (hi - b) * (x + 1.0) + b
    nodes = np.concatenate([left, right], axis=-1)
    widths = np.concatenate([0.5 * (b - lo) * w, 0.5 * (hi - b) * w], axis=-1)
    return nodes, widths * G(nodes)


def _finite_or_array(name, value) -> np.ndarray:
    try:
        kind = np.asarray(value).dtype.kind
    except (TypeError, ValueError):
        kind = "O"
    if kind not in "iuf":
        raise ValueError(f"{name} must be a finite real or an array of them, got {value!r}")
    return check_array(name, value)


def gaussian_average(f, n: int = 96, breakpoint: float = 0.0, zmax: float = 12.0) -> float:
    """``∫ Dz f(z)`` for a vectorised ``f``, with :func:`split_gauss_nodes`.

    Parameters
    ----------
    f : callable
        Maps an array of nodes to an array of finite values of the same shape.
    n : int, 2 <= n <= 10000
        Nodes on each side of the breakpoint.
    breakpoint : float
        Finite location of a kink of ``f``.
    zmax : float, 1 <= zmax <= 40
        Half-width of the truncated domain beyond the breakpoint.
    """
    if not callable(f):
        raise ValueError(f"f must be a callable of an array of nodes, got {f!r}")
    breakpoint = check_real("breakpoint", breakpoint)
    nodes, weights = split_gauss_nodes(breakpoint, n, zmax)
    try:
        values = np.asarray(f(nodes), dtype=float)
    except (TypeError, ValueError) as err:
        raise ValueError(f"f must return an array of reals for an array of nodes: {err}") from None
    if values.shape != nodes.shape or not np.all(np.isfinite(values)):
        raise ValueError(
            f"f must return finite values of the nodes' shape {nodes.shape}, got shape "
            f"{values.shape} with {int(np.sum(~np.isfinite(values)))} non-finite"
        )
    return float(np.sum(weights * values))


def gaussian_convolution(values, grid, variance: float, n_nodes: int = 64):
    """Gaussian smoothing of a function sampled on a grid: ``g(h) = ∫ Dz f(h + √v z)``.

    ``f`` is interpolated linearly between grid points and held constant beyond the
    ends of the grid, so the result is accurate to O(Δh²) where ``f`` is smooth and
    the grid extends a few standard deviations beyond the region of interest. This
    is the building block of the Parisi cascades (one step per RSB level).

    Parameters
    ----------
    values : array_like, shape (n_grid,) or (..., n_grid)
        Finite samples of ``f`` on ``grid``.
    grid : array_like, shape (n_grid,)
        Strictly increasing finite grid of h values, n_grid >= 2.
    variance : float
        Variance ``v ≥ 0`` of the Gaussian kernel.
    n_nodes : int, 1 <= n_nodes <= 10000
        Gauss–Hermite nodes.
    """
    variance = check_real("variance", variance, 0.0)
    n_nodes = check_int("n_nodes", n_nodes, 1, 10_000)
    grid = check_array("grid", grid, ndim=1)
    if grid.size < 2 or np.any(np.diff(grid) <= 0):
        raise ValueError(
            f"grid must be a strictly increasing 1-D array with at least 2 points, got {grid}"
        )
    values = check_array("values", values)
    if values.ndim < 1 or values.shape[-1] != grid.size:
        raise ValueError(
            f"values must have last dimension {grid.size} (len(grid)), got shape {values.shape}"
        )
    if variance == 0.0:
        return values.copy()
    z, w = gauss_hermite(n_nodes)
    shifted = grid[:, None] + np.sqrt(variance) * z[None, :]
    flat = values.reshape(-1, grid.size)
    out = np.empty_like(flat)
    for row, f in enumerate(flat):
        out[row] = np.interp(shifted, grid, f) @ w
    return out.reshape(values.shape)
