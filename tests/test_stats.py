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


@pytest.mark.parametrize(
    ("sizes", "values", "errors", "match"),
    [
        ([10], [1.0], None, "at least 2 sizes"),
        ([10, 20], [1.0, 2.0], [0.0, 1.0], "errors"),
        ([10, 20], [1.0, 2.0], [np.nan, 1.0], "errors"),
        ([10, 20], [1.0, 2.0], [0.1], "errors must have the length"),
        ([10, 20], [1.0, np.nan], None, "values"),
        ([10, 20, 40], [1.0, 2.0], None, "values must have the length"),
        ([10, 10], [1.0, 2.0], None, "distinct"),
        ([10, 0], [1.0, 2.0], None, "sizes"),
        ([10, -20], [1.0, 2.0], None, "sizes"),
        ([[10, 20]], [[1.0, 2.0]], None, "sizes must be a 1-D"),
        ("ab", [1.0, 2.0], None, "sizes"),
    ],
)
def test_validation(sizes, values, errors, match):
    with pytest.raises(ValueError, match=match):
        finite_size_extrapolation(sizes, values, errors)


def test_degenerate_weights_are_refused_not_singular():
    # gardner at kappa = 1 (issue 19): a load below 1/N gives an entropy known exactly, whose
    # standard error is zero up to rounding; the weighted design is then singular in floating
    # point, and np.linalg.inv raised LinAlgError. Now it is a ValueError that says why.
    with pytest.raises(ValueError, match="degenerate"):
        finite_size_extrapolation([13, 17, 21], [0.5, 0.52, 0.53], [1.5e-17, 8e-4, 1.3e-3])
    # errors of comparable size are fine, and two points leave no degree of freedom
    fit = finite_size_extrapolation([13, 17], [0.5, 0.52], [1e-3, 2e-3])
    assert np.isnan(fit.chi2_per_dof) and np.isfinite(fit.error)


def test_mean_and_sem_validates():
    with pytest.raises(ValueError, match="samples"):
        mean_and_sem([1.0, np.inf])
    with pytest.raises(ValueError, match="samples"):
        mean_and_sem("abc")
    with pytest.raises(ValueError, match="samples"):
        mean_and_sem(3.0)
    with pytest.raises(ValueError, match="axis"):
        mean_and_sem(np.ones((3, 2)), axis=2)
