"""Small statistics helpers shared by the chapters: sample means and finite-size extrapolation."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from deepspin.checks import check_array, check_int

__all__ = ["Extrapolation", "finite_size_extrapolation", "mean_and_sem"]

# The weighted design [1, 1/N]/σ is refused as degenerate above this condition number: one
# point with a (near-)zero error, or sizes too close together, then fixes the line alone.
_MAX_CONDITION = 1e10


def mean_and_sem(samples, axis=0):
    """Sample mean and its standard error (``std(ddof=1)/√n``) along ``axis``, NaN-aware.

    Parameters
    ----------
    samples : array_like of float, at least 1-D
        Samples along ``axis``; NaN entries are left out (a column of fewer than two finite
        samples gives a NaN error, one of none a NaN mean, as numpy's ``nanmean`` and
        ``nanstd`` do, with their warnings). Infinities are refused.
    axis : int
        The axis holding the samples, ``-samples.ndim <= axis < samples.ndim``.

    Returns
    -------
    mean, sem : float or ndarray
        Shaped like ``samples`` without ``axis``.
    """
    try:
        x = np.asarray(samples, dtype=float)
    except (TypeError, ValueError):
        raise ValueError(f"samples must be an array of reals, got {samples!r}") from None
    if x.ndim < 1:
        raise ValueError(f"samples must be an array of at least 1 dimension, got {samples!r}")
    if np.any(np.isinf(x)):
        raise ValueError("samples must hold finite reals or NaN (missing), got an infinity")
    axis = check_int("axis", axis, -x.ndim, x.ndim - 1)
    n = np.sum(np.isfinite(x), axis=axis)
    mean = np.nanmean(x, axis=axis)
    with np.errstate(invalid="ignore", divide="ignore"):
        sem = np.nanstd(x, axis=axis, ddof=1) / np.sqrt(n)
    return mean, sem


class Extrapolation(NamedTuple):
    """Weighted fit ``y(N) = value + slope/N``: ``value`` and ``error`` are the N → ∞ limit."""

    value: float
    error: float
    slope: float
    chi2_per_dof: float


def finite_size_extrapolation(sizes, values, errors=None) -> Extrapolation:
    """Extrapolate ``values`` measured at ``sizes`` linearly in 1/N to N → ∞.

    Weighted least squares with weights ``1/errors²`` (unweighted when ``errors`` is None);
    the error of the intercept comes from the fit's covariance, scaled up by
    √(χ²/dof) when the points scatter more than their errors say.

    Parameters
    ----------
    sizes : array_like of float, shape (k,), k >= 2
        System sizes N > 0, pairwise distinct (the fit has two parameters).
    values : array_like of float, shape (k,)
        Finite measurements at each size.
    errors : array_like of float, shape (k,), optional
        Their standard errors, finite and > 0.

    Returns
    -------
    Extrapolation
        ``chi2_per_dof`` is NaN for two points (no degree of freedom left).

    Raises
    ------
    ValueError
        For invalid input, and for a degenerate weighted fit: errors so unequal that one
        point (e.g. an exactly known value whose error is zero up to rounding) fixes the
        line alone, which leaves the slope and intercept undetermined.
    """
    sizes = check_array("sizes", sizes, 0.0, low_open=True, ndim=1)
    if sizes.size < 2:
        raise ValueError(f"sizes must hold at least 2 sizes for a 2-parameter fit, got {sizes}")
    if np.unique(sizes).size != sizes.size:
        raise ValueError(f"sizes must be pairwise distinct, got {sizes}")
    y = check_array("values", values, ndim=1)
    if y.shape != sizes.shape:
        raise ValueError(
            f"values must have the length of sizes ({sizes.size}), got shape {y.shape}"
        )
    if errors is None:
        sigma = np.ones_like(y)
    else:
        sigma = check_array("errors", errors, 0.0, low_open=True, ndim=1)
        if sigma.shape != sizes.shape:
            raise ValueError(
                f"errors must have the length of sizes ({sizes.size}), got shape {sigma.shape}"
            )
    x = 1.0 / sizes
    design = np.stack([np.ones_like(x), x], axis=1) / sigma[:, None]
    singular = np.linalg.svd(design, compute_uv=False)
    if not singular[-1] > singular[0] / _MAX_CONDITION:
        raise ValueError(
            "the weighted fit in 1/N is degenerate (condition number "
            f"{singular[0] / singular[-1]:.3g} > {_MAX_CONDITION:.0e}): errors range from "
            f"{sigma.min():.3g} to {sigma.max():.3g} at sizes {sizes.tolist()}, so the points "
            "with the smallest errors fix the line alone; give errors of comparable size "
            "(a value known exactly has no statistical error to weight it by)"
        )
    coef, *_ = np.linalg.lstsq(design, y / sigma, rcond=None)
    cov = np.linalg.inv(design.T @ design)
    dof = x.size - 2
    chi2 = float(np.sum(((y - coef[0] - coef[1] * x) / sigma) ** 2) / dof) if dof > 0 else np.nan
    if dof <= 0:
        scale = 1.0
    elif errors is None:
        scale = np.sqrt(chi2)  # no errors given: the scatter sets them
    else:
        scale = np.sqrt(max(chi2, 1.0))
    return Extrapolation(float(coef[0]), float(np.sqrt(cov[0, 0]) * scale), float(coef[1]), chi2)
