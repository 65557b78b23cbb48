"""Tests for deepspin.stats: sample means and 1/N extrapolation."""

import numpy as np
import pytest
from numpy.testing import assert_allclose

from deepspin.stats import finite_size_extrapolation, mean_and_sem


def test_mean_and_sem_nan_aware():
    x = np.array([[1.0, 2.0], [3.0, np.nan], [5.0, 4.0]])
    mean, sem = mean_and_sem(x)
    assert_allclose(mean, [3.0, 3.0])
    assert_allclose(sem, [2.0 / np.sqrt(3), np.sqrt(2.0) / np.sqrt(2)])


def test_exact_line_is_recovered():
    sizes = np.array([10, 20, 40, 80])
    fit = finite_size_extrapolation(sizes, 2.0 + 3.0 / sizes, np.full(4, 0.01))
    assert_allclose([fit.value, fit.slope], [2.0, 3.0], rtol=1e-12)
    assert fit.chi2_per_dof == pytest.approx(0.0, abs=1e-20)


def test_error_matches_monte_carlo_scatter():
    rng = np.random.default_rng(0)
    sizes = np.array([10, 20, 40, 80])
    sigma = np.full(4, 0.05)
    fits = [
        finite_size_extrapolation(sizes, 1.0 - 2.0 / sizes + sigma * rng.standard_normal(4), sigma)
        for _ in range(2000)
    ]
    values = np.array([f.value for f in fits])
    # with chi² inflation the quoted error is never smaller than the covariance error
    base = np.array([f.error for f in fits]).min()
    assert abs(values.mean() - 1.0) < 4 * values.std() / np.sqrt(values.size)
    assert 0.8 * base < values.std() < 1.3 * np.median([f.error for f in fits])


def test_validation():
    with pytest.raises(ValueError, match="sizes and values"):
        finite_size_extrapolation([10], [1.0])
    with pytest.raises(ValueError, match="errors must be positive"):
        finite_size_extrapolation([10, 20], [1.0, 2.0], [0.0, 1.0])
