"""Tests for deepspin.gauss: tails against mpmath-free references, quadrature, convolution."""

import numpy as np
import pytest
from numpy.testing import assert_allclose
from scipy import integrate

from deepspin import gauss

RTOL = 1e-12


@pytest.mark.parametrize("x", [-40.0, -10.0, -1.0, 0.0, 0.5, 5.0, 20.0, 40.0])
def test_H_matches_erfc(x):
    from scipy.special import erfc

    assert_allclose(gauss.H(x), 0.5 * erfc(x / np.sqrt(2)), rtol=RTOL, atol=0)


def test_log_H_extreme_tails():
    # Asymptotic series log H(x) = -x²/2 - log(x√(2π)) + log(1 - 1/x² + 3/x⁴ - 15/x⁶ + 105/x⁸ ...)
    x = np.array([20.0, 30.0, 40.0])
    series = (
        -(x**2) / 2
        - np.log(x * np.sqrt(2 * np.pi))
        + np.log1p(-(x**-2) + 3 * x**-4 - 15 * x**-6 + 105 * x**-8)
    )
    assert_allclose(gauss.log_H(x), series, rtol=1e-12)
    assert_allclose(gauss.log_H(40.0), -804.6084420137538, rtol=1e-13)
    # Left tail: log H(-x) = log(1 - H(x)) ≈ -H(x), tiny but resolved.
    assert_allclose(gauss.log_H(-40.0), -gauss.H(40.0), rtol=1e-12)
    assert np.all(np.isfinite(gauss.log_H(np.linspace(-40, 40, 1001))))


def test_G_over_H_tails_and_identity():
    x = np.linspace(-40, 40, 2001)
    r = gauss.G_over_H(x)
    # G/H ≈ G(x) underflows to 0 below x ≈ -38: correct in double precision
    assert np.all(np.isfinite(r)) and np.all(r >= 0) and np.all(r[x > -37] > 0)
    mid = np.abs(x) < 5
    assert_allclose(r[mid], gauss.G(x[mid]) / gauss.H(x[mid]), rtol=1e-12)
    # Mills-ratio asymptote x + 1/x - 2/x³ + 10/x⁵ - 74/x⁷ at large x
    big = x > 30
    assert_allclose(
        r[big],
        x[big] + 1 / x[big] - 2 / x[big] ** 3 + 10 / x[big] ** 5 - 74 / x[big] ** 7,
        rtol=1e-11,  # the next term, 706/x⁹, is 4e-11 at x = 30
    )
    # d/dx log H = -G/H
    h = 1e-6
    assert_allclose(
        (gauss.log_H(x[mid] + h) - gauss.log_H(x[mid] - h)) / (2 * h), -r[mid], rtol=1e-7
    )


def test_gauss_hermite_moments():
    z, w = gauss.gauss_hermite(20)
    assert_allclose(w.sum(), 1.0, rtol=1e-14)
    moments = [np.sum(w * z**k) for k in range(8)]
    assert_allclose(moments, [1, 0, 1, 0, 3, 0, 15, 0], atol=1e-12)


@pytest.mark.parametrize("breakpoint", [-3.0, 0.0, 2.5])
def test_split_nodes_kinked_integrand(breakpoint):
    ref = integrate.quad(lambda z: gauss.G(z) * abs(z - breakpoint), -np.inf, np.inf, points=None)[
        0
    ]
    # closed form: E|z - b| = 2 G(b) + b (1 - 2 H(b))
    closed = 2 * gauss.G(breakpoint) + breakpoint * (1 - 2 * gauss.H(breakpoint))
    assert_allclose(ref, closed, rtol=1e-8)
    got = gauss.gaussian_average(lambda z: np.abs(z - breakpoint), breakpoint=breakpoint)
    assert_allclose(got, closed, rtol=1e-13)


def test_split_nodes_broadcast():
    b = np.array([[0.0, 1.0], [2.0, -1.0]])
    z, w = gauss.split_gauss_nodes(b, n=30)
    assert z.shape == w.shape == (2, 2, 60)
    assert_allclose(w.sum(axis=-1), 1.0, rtol=1e-13)


def test_gaussian_convolution_closed_forms():
    grid = np.linspace(-15, 15, 3001)
    # Gaussian of variance s2 convolved with variance v: Gaussian of variance s2 + v
    s2, v = 0.7, 1.3
    f = np.exp(-(grid**2) / (2 * s2)) / np.sqrt(2 * np.pi * s2)
    g = gauss.gaussian_convolution(f, grid, v)
    exact = np.exp(-(grid**2) / (2 * (s2 + v))) / np.sqrt(2 * np.pi * (s2 + v))
    assert_allclose(g, exact, atol=1e-5)
    # quadratic: ∫Dz (h + √v z)² = h² + v (interior, away from the clamped ends)
    g2 = gauss.gaussian_convolution(grid**2, grid, v)
    inner = np.abs(grid) < 5
    assert_allclose(g2[inner], grid[inner] ** 2 + v, atol=1e-4)
    # batched rows and zero variance
    both = gauss.gaussian_convolution(np.stack([f, grid**2]), grid, v)
    assert_allclose(both[0], g)
    assert_allclose(gauss.gaussian_convolution(f, grid, 0.0), f)


def test_gaussian_convolution_validation():
    grid = np.linspace(0, 1, 5)
    with pytest.raises(ValueError, match="variance"):
        gauss.gaussian_convolution(grid, grid, -1.0)
    with pytest.raises(ValueError, match="grid"):
        gauss.gaussian_convolution(grid, grid[::-1], 1.0)
    with pytest.raises(ValueError, match="last dimension"):
        gauss.gaussian_convolution(grid[:3], grid, 1.0)
    with pytest.raises(ValueError, match="n must be"):
        gauss.gauss_hermite(0)


# ---------------------------------------------------------------- validation (issue 19)


@pytest.mark.parametrize("func", [gauss.G, gauss.H, gauss.log_H, gauss.G_over_H])
def test_special_functions_refuse_nan_and_keep_their_limits(func):
    for bad in (np.nan, [0.0, np.nan], "0.5", None):
        with pytest.raises(ValueError, match="x must"):
            func(bad)
    limits = {gauss.G: (0.0, 0.0), gauss.H: (0.0, 1.0), gauss.log_H: (-np.inf, 0.0)}
    limits[gauss.G_over_H] = (np.inf, 0.0)
    assert_allclose(func(np.array([np.inf, -np.inf])), limits[func])


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: gauss.legendre_nodes(0), "n must"),
        (lambda: gauss.legendre_nodes(2.5), "n must"),
        (lambda: gauss.panel_legendre(((1.0, 0.0),), 4), "panels"),
        (lambda: gauss.panel_legendre([], 4), "panels"),
        (lambda: gauss.panel_legendre(((0.0, 1.0),), 0), "n must"),
        (lambda: gauss.split_gauss_nodes(np.nan), "breakpoint"),
        (lambda: gauss.gaussian_average(3), "f must be a callable"),
        (lambda: gauss.gaussian_average(lambda z: z[:2]), "f must return"),
        (
            lambda: gauss.gaussian_average(lambda z: np.where(z > 0, np.inf, 0.0)),
            "f must return finite",
        ),
        (lambda: gauss.gaussian_convolution([1.0, 2.0], [0.0, 1.0], 1.0, n_nodes=0), "n_nodes"),
        (lambda: gauss.gaussian_convolution([1.0, np.nan], [0.0, 1.0], 1.0), "values"),
        (lambda: gauss.gaussian_convolution([1.0, 2.0], [0.0, np.inf], 1.0), "grid"),
        (lambda: gauss.gaussian_convolution([1.0, 2.0, 3.0], [0.0, 1.0], 1.0), "values"),
    ],
)
def test_arguments_are_validated(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_panel_legendre_accepts_lists_and_caches():
    a = gauss.panel_legendre([[0.0, 1.0], (1.0, 3.0)], 5)
    b = gauss.panel_legendre(((0.0, 1.0), (1.0, 3.0)), 5)
    assert a[0] is b[0]
    assert_allclose(a[1].sum(), 3.0, rtol=1e-14)
