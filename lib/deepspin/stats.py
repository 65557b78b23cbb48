"""Small statistics helpers shared by the chapters: sample means and finite-size extrapolation."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

__all__ = ["Extrapolation", "finite_size_extrapolation", "mean_and_sem"]


def mean_and_sem(samples, axis=0):
    """Sample mean and its standard error (``std(ddof=1)/√n``) along ``axis``, NaN-aware."""
    x = np.asarray(samples, dtype=float)
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
    """
    x = 1.0 / np.asarray(sizes, dtype=float)
    y = np.asarray(values, dtype=float)
    if x.shape != y.shape or x.size < 2:
        raise ValueError("sizes and values must be 1-D arrays of equal length >= 2")
    sigma = np.ones_like(y) if errors is None else np.asarray(errors, dtype=float)
    if np.any(~(sigma > 0)):
        raise ValueError("errors must be positive")
    design = np.stack([np.ones_like(x), x], axis=1) / sigma[:, None]
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
