"""Tests for deepspin.ising.exact: enumeration against a plain brute force, closed forms
(free spins, one spin, the Curie–Weiss model at N = 24), the heat capacity as a
derivative, exact sampling, and bad input."""

import itertools
import math

import numpy as np
import pytest
from numpy.testing import assert_allclose
from scipy.special import gammaln

from deepspin.ising.exact import enumerate_exact, sample_exact


def brute_force(h, J, beta=1.0):
    """log Z, m, C, ⟨E⟩, S, β² Var E by summing over all 2^N states (independent of the
    library); the weights are taken relative to the ground state so that the sums are
    accurate also at low temperature."""
    n = len(h)
    states = np.array(list(itertools.product([-1.0, 1.0], repeat=n)))
    energy = -states @ h - 0.5 * np.sum((states @ J) * states, axis=1)
    ground = energy.min()
    weights = np.exp(-beta * (energy - ground))
    z = weights.sum()
    p = weights / z
    mean = p @ energy
    log_z = np.log(z) - beta * ground
    variance = p @ (energy - mean) ** 2
    C = (states * p[:, None]).T @ states
    return log_z, p @ states, C, mean, log_z + beta * mean, beta**2 * variance


def random_model(n, rng, field=0.5, coupling=None):
    coupling = 1.0 / math.sqrt(n) if coupling is None else coupling
    J = np.triu(rng.normal(0.0, coupling, (n, n)), 1)
    return rng.normal(0.0, field, n), J + J.T


def assert_matches(result, expected, rtol=1e-10, atol=1e-10):
    log_z, m, C, energy, entropy, heat = expected
    assert_allclose(result.log_z, log_z, rtol=rtol, atol=atol)
    assert_allclose(result.m, m, rtol=rtol, atol=atol)
    assert_allclose(result.C, C, rtol=rtol, atol=atol)
    assert_allclose(result.energy, energy, rtol=rtol, atol=atol)
    assert_allclose(result.entropy, entropy, rtol=rtol, atol=atol)
    assert_allclose(result.heat_capacity, heat, rtol=rtol, atol=atol)


# N ≤ 12 is one block of low spins; 13 and 14 exercise the Gray-code walk of the high
# spins and their split among threads
@pytest.mark.parametrize("n", [1, 4, 12, 13, 14])
@pytest.mark.parametrize("beta", [0.0, 0.5, 1.0, 2.5])
def test_enumeration_matches_brute_force(n, beta):
    rng = np.random.default_rng(100 * n + int(10 * beta))
    h, J = random_model(n, rng)
    result = enumerate_exact(h, J, beta=beta)
    assert_matches(result, brute_force(h, J, beta))
    assert result.beta == beta
    assert result.C.shape == (n, n)
    assert_allclose(np.diag(result.C), 1.0)
    assert_allclose(result.C, result.C.T, atol=1e-15)


def test_strong_couplings_at_low_temperature():
    # energies spread over hundreds of units at β = 5: the walk lowers its reference
    # energy several times, and Var E is small next to ⟨E⟩²
    rng = np.random.default_rng(7)
    h, J = random_model(15, rng, field=1.0, coupling=3.0)
    result = enumerate_exact(h, J, beta=5.0)
    assert_matches(result, brute_force(h, J, 5.0), rtol=1e-9, atol=1e-9)


def test_free_spins_have_entropy_n_log_2():
    n = 20
    result = enumerate_exact(np.zeros(n), np.zeros((n, n)), beta=1.7)
    assert_allclose(result.entropy, n * math.log(2.0), rtol=1e-13)
    assert_allclose(result.log_z, n * math.log(2.0), rtol=1e-13)
    assert_allclose(result.m, 0.0, atol=1e-13)
    assert_allclose(result.C, np.eye(n), atol=1e-13)
    assert result.energy == pytest.approx(0.0, abs=1e-12)
    assert result.heat_capacity == pytest.approx(0.0, abs=1e-12)


@pytest.mark.parametrize("beta", [0.3, 1.0, 4.0])
def test_single_spin_in_a_field(beta):
    h = 0.7
    result = enumerate_exact([h], [[0.0]], beta=beta)
    assert_allclose(result.m, [math.tanh(beta * h)], rtol=1e-14)
    assert_allclose(result.log_z, math.log(2.0 * math.cosh(beta * h)), rtol=1e-14)
    assert_allclose(result.energy, -h * math.tanh(beta * h), rtol=1e-14)
    assert_allclose(result.heat_capacity, (beta * h / math.cosh(beta * h)) ** 2, rtol=1e-12)


def test_independent_spins_at_n_24():
    # the full 24-spin path (all 64 parts) on a model with a closed form
    n = 24
    h = np.random.default_rng(3).normal(0.0, 0.8, n)
    result = enumerate_exact(h, np.zeros((n, n)), beta=1.3)
    m = np.tanh(1.3 * h)
    expected_c = np.outer(m, m)
    np.fill_diagonal(expected_c, 1.0)
    assert_allclose(result.m, m, atol=1e-12)
    assert_allclose(result.C, expected_c, atol=1e-12)
    assert_allclose(result.log_z, np.sum(np.log(2.0 * np.cosh(1.3 * h))), rtol=1e-12)


def test_curie_weiss_at_n_24():
    # uniform h and J: a sum over the magnetisation M = Σσ with binomial multiplicities
    n, h, coupling, beta = 24, 0.1, 0.15, 1.2
    J = np.full((n, n), coupling)
    np.fill_diagonal(J, 0.0)
    result = enumerate_exact(np.full(n, h), J, beta=beta)
    up = np.arange(n + 1)
    M = 2.0 * up - n
    energy = -h * M - 0.5 * coupling * (M**2 - n)
    log_w = gammaln(n + 1) - gammaln(up + 1) - gammaln(n - up + 1) - beta * energy
    log_z = np.logaddexp.reduce(log_w)
    p = np.exp(log_w - log_z)
    mean_energy = p @ energy
    assert_allclose(result.log_z, log_z, rtol=1e-12)
    assert_allclose(result.m, p @ M / n, rtol=1e-11)
    off = (p @ M**2 - n) / (n * (n - 1))
    assert_allclose(result.C[~np.eye(n, dtype=bool)], off, rtol=1e-11)
    assert_allclose(result.energy, mean_energy, rtol=1e-11)
    assert_allclose(result.heat_capacity, beta**2 * (p @ (energy - mean_energy) ** 2), rtol=1e-9)


def test_open_chain_with_shuffled_labels_at_n_24():
    # a zero-field chain is a tree: C_ij is the product of tanh(βJ) along the path.
    # Shuffling the labels spreads the bonds over the low spins, the Gray-walked ones
    # and the thread-split top ones, with random couplings between all of them.
    n, beta = 24, 0.9
    rng = np.random.default_rng(8)
    bonds = rng.normal(0.0, 1.0, n - 1)
    order = rng.permutation(n)
    J = np.zeros((n, n))
    J[order[:-1], order[1:]] = bonds
    J += J.T
    result = enumerate_exact(np.zeros(n), J, beta=beta)
    t = np.tanh(beta * bonds)
    position = np.argsort(order)  # where each spin sits along the chain
    lo = np.minimum.outer(position, position)
    hi = np.maximum.outer(position, position)
    log_t = np.concatenate([[0.0], np.cumsum(np.log(np.abs(t)))])
    sign = np.concatenate([[0], np.cumsum(t < 0)])
    expected_c = (-1.0) ** (sign[hi] - sign[lo]) * np.exp(log_t[hi] - log_t[lo])
    assert_allclose(result.C, expected_c, atol=1e-12)
    assert_allclose(result.m, 0.0, atol=1e-12)
    log_z = n * math.log(2.0) + np.sum(np.log(np.cosh(beta * bonds)))
    assert_allclose(result.log_z, log_z, rtol=1e-12)
    assert_allclose(result.energy, -bonds @ t, rtol=1e-11)
    heat = np.sum((beta * bonds / np.cosh(beta * bonds)) ** 2)
    assert_allclose(result.heat_capacity, heat, rtol=1e-10)


def test_relabelling_the_spins_permutes_the_result():
    rng = np.random.default_rng(9)
    h, J = random_model(20, rng, coupling=0.5)
    perm = rng.permutation(20)
    plain = enumerate_exact(h, J, beta=0.7)
    shuffled = enumerate_exact(h[perm], J[np.ix_(perm, perm)], beta=0.7)
    assert_allclose(shuffled.m, plain.m[perm], atol=1e-12)
    assert_allclose(shuffled.C, plain.C[np.ix_(perm, perm)], atol=1e-12)
    assert_allclose(shuffled.log_z, plain.log_z, rtol=1e-13)
    assert_allclose(shuffled.heat_capacity, plain.heat_capacity, rtol=1e-10)


def test_heat_capacity_is_minus_beta_squared_d_energy_d_beta():
    rng = np.random.default_rng(11)
    h, J = random_model(14, rng, coupling=0.6)
    beta, step = 0.8, 1e-4
    slope = (
        enumerate_exact(h, J, beta + step).energy - enumerate_exact(h, J, beta - step).energy
    ) / (2.0 * step)
    assert_allclose(enumerate_exact(h, J, beta).heat_capacity, -(beta**2) * slope, rtol=1e-6)


def test_sample_exact_moments_agree_with_enumeration():
    rng = np.random.default_rng(5)
    h, J = random_model(8, rng, coupling=0.5)
    n_samples = 200_000
    samples = sample_exact(h, J, n_samples, seed=1, beta=1.5)
    assert samples.dtype == np.int8
    assert samples.shape == (n_samples, 8)
    assert set(np.unique(samples)) == {-1, 1}
    exact = enumerate_exact(h, J, beta=1.5)
    s = samples.astype(np.float64)
    m = s.mean(axis=0)
    C = s.T @ s / n_samples
    # σ_i and σ_iσ_j are ±1 variables: their sample means have variance (1 − mean²)/K
    assert np.all(np.abs(m - exact.m) < 5.0 * np.sqrt((1.0 - exact.m**2) / n_samples))
    off = ~np.eye(8, dtype=bool)
    se = np.sqrt((1.0 - exact.C[off] ** 2) / n_samples)
    assert np.all(np.abs(C[off] - exact.C[off]) < 5.0 * se)


def test_sample_exact_is_reproducible():
    rng = np.random.default_rng(6)
    h, J = random_model(12, rng)
    first = sample_exact(h, J, 1000, seed=42)
    assert np.array_equal(first, sample_exact(h, J, 1000, seed=42))
    assert np.array_equal(first, sample_exact(h, J, 1000, seed=np.random.default_rng(42)))
    assert not np.array_equal(first, sample_exact(h, J, 1000, seed=43))


def test_sample_exact_at_a_strong_field_picks_the_ground_state():
    samples = sample_exact([40.0, -40.0, 40.0], np.zeros((3, 3)), 50, seed=0)
    assert np.all(samples == np.array([1, -1, 1], dtype=np.int8))


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: enumerate_exact(np.zeros(25), np.zeros((25, 25))), r"N must lie in \[1, 24\]"),
        (lambda: enumerate_exact(np.zeros(3), np.zeros((3, 3)), beta=-1.0), "beta"),
        (lambda: enumerate_exact(np.zeros(3), np.ones((3, 3))), "diagonal"),
        (lambda: enumerate_exact(np.zeros(3), np.zeros((2, 2))), "J must have shape"),
        (lambda: sample_exact(np.zeros(21), np.zeros((21, 21)), 10), r"N must lie in \[1, 20\]"),
        (lambda: sample_exact(np.zeros(3), np.zeros((3, 3)), 0), "n_samples"),
        (lambda: sample_exact(np.zeros(3), np.zeros((3, 3)), 5, beta=np.nan), "beta"),
        (lambda: sample_exact(np.zeros(3), np.zeros((3, 3)), 5, seed=-2), "seed"),
    ],
)
def test_bad_input_raises(call, match):
    with pytest.raises(ValueError, match=match):
        call()
