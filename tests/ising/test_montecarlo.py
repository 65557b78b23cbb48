"""Tests for deepspin.ising.montecarlo: Metropolis moments against exact enumeration within
their statistical error, reproducibility, starting configurations, sample moments, the
entropy by thermodynamic integration, and bad input."""

import math

import numba
import numpy as np
import pytest
from numpy.testing import assert_allclose

from deepspin.ising.exact import enumerate_exact, sample_exact
from deepspin.ising.model import IsingModel
from deepspin.ising.montecarlo import (
    connected_third_moments,
    metropolis,
    moments,
    thermodynamic_entropy,
    third_moments,
)


def random_model(n, seed, field=0.3, coupling=0.4):
    rng = np.random.default_rng(seed)
    J = np.triu(rng.normal(0.0, coupling, (n, n)), 1)
    return rng.normal(0.0, field, n), J + J.T


def chain_moments(result, n_chains):
    """Per-chain m and C, shape (n_chains, N) and (n_chains, N, N)."""
    s = result.samples.reshape(n_chains, -1, result.samples.shape[1]).astype(np.float64)
    return s.mean(axis=1), np.einsum("cki,ckj->cij", s, s) / s.shape[1]


@pytest.mark.parametrize(("n", "beta"), [(10, 1.0), (12, 1.6)])
def test_metropolis_moments_agree_with_enumeration(n, beta):
    h, J = random_model(n, seed=n)
    n_chains = 64
    result = metropolis(h, J, n_chains=n_chains, sweeps=2000, sample_every=1, beta=beta, seed=1)
    exact = enumerate_exact(h, J, beta=beta)
    m, C = moments(result.samples)
    # the chains are independent: the spread of their means gives the standard error,
    # autocorrelations included; with 64 chains that estimate is itself accurate
    # enough for a 5σ bound over all ~N²/2 moments at once
    chain_m, chain_c = chain_moments(result, n_chains)
    se_m = chain_m.std(axis=0, ddof=1) / math.sqrt(n_chains)
    se_c = chain_c.std(axis=0, ddof=1) / math.sqrt(n_chains)
    off = ~np.eye(n, dtype=bool)
    assert np.all(np.abs(m - exact.m) < 5.0 * se_m)
    assert np.all(np.abs(C - exact.C)[off] < 5.0 * se_c[off])
    energy = result.energies.mean()
    se_e = result.energies.mean(axis=1).std(ddof=1) / math.sqrt(n_chains)
    assert abs(energy - exact.energy) < 5.0 * se_e
    assert 0.0 < result.acceptance <= 1.0


def test_result_layout_and_tracked_energies():
    h, J = random_model(9, seed=3)
    result = metropolis(h, J, n_chains=3, sweeps=50, burn_in=7, sample_every=5, seed=0)
    assert result.samples.dtype == np.int8
    assert result.samples.shape == (3 * 10, 9)
    assert result.energies.shape == (3, 10)
    assert result.final.shape == (3, 9)
    assert result.final.dtype == np.int8
    assert result.info["n_kept"] == 10
    # chain-major: the last kept sample of each chain is its final state
    assert np.array_equal(result.samples.reshape(3, 10, 9)[:, -1], result.final)
    # the incrementally tracked energies are those of the stored configurations
    assert_allclose(result.energies.ravel(), IsingModel(h, J).energy(result.samples), atol=1e-10)


def test_metropolis_is_reproducible_and_seed_dependent():
    h, J = random_model(10, seed=4)
    kwargs = dict(n_chains=5, sweeps=100, sample_every=10)
    first = metropolis(h, J, seed=12, **kwargs)
    again = metropolis(h, J, seed=np.random.default_rng(12), **kwargs)
    assert np.array_equal(first.samples, again.samples)
    assert np.array_equal(first.energies, again.energies)
    assert not np.array_equal(first.samples, metropolis(h, J, seed=13, **kwargs).samples)


def test_metropolis_does_not_depend_on_the_number_of_threads():
    h, J = random_model(10, seed=5)
    threads = numba.get_num_threads()
    parallel = metropolis(h, J, n_chains=4, sweeps=100, seed=2)
    numba.set_num_threads(1)
    try:
        serial = metropolis(h, J, n_chains=4, sweeps=100, seed=2)
    finally:
        numba.set_num_threads(threads)
    assert np.array_equal(parallel.samples, serial.samples)


def test_initial_configuration_is_respected():
    h, J = random_model(11, seed=6)
    reference = np.where(np.arange(11) % 3 == 0, 1, -1)
    # at β = 0 every proposal is accepted: one sweep flips every spin exactly once
    one = metropolis(
        h, J, n_chains=4, sweeps=1, burn_in=0, sample_every=1, beta=0.0, initial=reference
    )
    assert np.all(one.samples == -reference)
    assert one.acceptance == 1.0
    two = metropolis(
        h, J, n_chains=4, sweeps=2, burn_in=0, sample_every=1, beta=0.0, initial=reference
    )
    assert np.all(two.final == reference)
    # one start per chain
    starts = np.array([reference, -reference, reference])
    per_chain = metropolis(
        h, J, n_chains=3, sweeps=1, burn_in=0, sample_every=1, beta=0.0, initial=starts
    )
    assert np.array_equal(per_chain.final, -starts)


def test_a_chain_started_in_a_deep_minimum_stays_there():
    n = 20
    J = np.full((n, n), 1.0)
    np.fill_diagonal(J, 0.0)
    down = -np.ones(n)
    result = metropolis(np.zeros(n), J, n_chains=2, sweeps=200, beta=1.0, initial=down, seed=0)
    assert np.all(result.samples.mean(axis=1) < -0.8)


def test_moments_against_numpy():
    rng = np.random.default_rng(7)
    samples = rng.choice(np.array([-1, 1], dtype=np.int8), size=(40_000, 6))  # > one chunk
    m, C = moments(samples)
    s = samples.astype(np.float64)
    assert_allclose(m, s.mean(axis=0), rtol=1e-14)
    assert_allclose(C, s.T @ s / len(s), rtol=1e-14)
    assert_allclose(np.diag(C), 1.0)


def test_third_moments_against_numpy():
    rng = np.random.default_rng(8)
    samples = np.where(rng.random((5000, 7)) < 0.3, 1, -1).astype(np.int8)
    samples[:, 3] = samples[:, 1] * samples[:, 2]  # a correlated triple
    triples = np.array([[0, 1, 2], [1, 2, 3], [4, 4, 5], [6, 5, 0]])
    s = samples.astype(np.float64)
    raw = third_moments(samples, triples)
    expected = np.array([np.mean(s[:, i] * s[:, j] * s[:, k]) for i, j, k in triples])
    assert_allclose(raw, expected, atol=1e-14)
    assert raw[1] == 1.0
    m, C = moments(samples)
    i, j, k = triples.T
    expanded = raw - m[i] * C[j, k] - m[j] * C[i, k] - m[k] * C[i, j] + 2.0 * m[i] * m[j] * m[k]
    assert_allclose(connected_third_moments(samples, triples), expanded, atol=1e-12)


def test_connected_third_moments_vanish_for_independent_spins():
    samples = sample_exact(np.array([0.5, -0.3, 0.8]), np.zeros((3, 3)), 100_000, seed=3)
    value = connected_third_moments(samples, [[0, 1, 2]])[0]
    # |σ_i − m_i| ≤ 2, so the product has a standard deviation below 8
    assert abs(value) < 5.0 * 8.0 / math.sqrt(len(samples))


def test_thermodynamic_entropy_agrees_with_enumeration():
    n, beta = 10, 1.2
    h, J = random_model(n, seed=9)
    exact = enumerate_exact(h, J, beta=beta)
    estimate = thermodynamic_entropy(
        h, J, beta=beta, n_points=10, n_chains=16, sweeps=1500, burn_in=100, seed=4
    )
    assert abs(estimate.entropy_per_spin - exact.entropy / n) < 5.0 * estimate.error + 0.005
    assert 0.0 < estimate.error < 0.01
    assert abs(estimate.energy - exact.energy) < 0.05 * n
    assert np.all(np.diff(estimate.betas) > 0) and 0 < estimate.betas[0] < estimate.betas[-1] < beta
    assert_allclose(estimate.weights.sum(), beta)
    node_energies = np.array([enumerate_exact(h, J, beta=b).energy for b in estimate.betas])
    assert np.all(np.abs(estimate.energies - node_energies) < 5.0 * estimate.energy_errors)
    assert estimate.chain_entropies.shape == (16,)


def test_thermodynamic_entropy_of_free_spins_is_log_2():
    n = 8
    estimate = thermodynamic_entropy(
        np.zeros(n), np.zeros((n, n)), beta=1.0, n_points=4, sweeps=50, burn_in=0, seed=0
    )
    assert estimate.entropy_per_spin == pytest.approx(math.log(2.0), abs=1e-12)


H3, J3 = np.zeros(3), np.zeros((3, 3))
GOOD = np.ones((4, 3), dtype=np.int8)


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: metropolis(H3, J3, n_chains=0), "n_chains"),
        (lambda: metropolis(H3, J3, sweeps=0), "sweeps"),
        (lambda: metropolis(H3, J3, burn_in=-1), "burn_in"),
        (lambda: metropolis(H3, J3, sweeps=5, sample_every=6), "sample_every"),
        (lambda: metropolis(H3, J3, beta=-0.5), "beta"),
        (lambda: metropolis(H3, J3, seed=-1), "seed"),
        (lambda: metropolis(H3, J3, initial=[1, 0, 1]), "initial"),
        (lambda: metropolis(H3, J3, initial=[1, 1]), "initial"),
        (lambda: metropolis(H3, J3, n_chains=2, initial=np.ones((3, 3))), "initial"),
        (lambda: metropolis(H3, np.ones((3, 3))), "diagonal"),
        (lambda: moments(np.zeros((4, 3))), "samples"),
        (lambda: moments(np.ones(3)), "samples"),
        (lambda: third_moments(GOOD, [[0, 1, 3]]), "triples"),
        (lambda: third_moments(GOOD, [[0, 1]]), "triples"),
        (lambda: connected_third_moments(GOOD, [[0.0, 1.0, 2.0]]), "triples"),
        (lambda: thermodynamic_entropy(H3, J3, beta=0.0), "beta"),
        (lambda: thermodynamic_entropy(H3, J3, n_chains=1), "n_chains"),
        (lambda: thermodynamic_entropy(H3, J3, n_points=0), "n_points"),
    ],
)
def test_bad_input_raises(call, match):
    with pytest.raises(ValueError, match=match):
        call()
