"""Tests for deepspin.ising.bp: exactness on trees, the fixed point of plain BP, warm
starts, damping, and bad input."""

import itertools
import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose

from deepspin.ising import belief_propagation


def brute_force(h, J):
    """log Z, m, C, ⟨E⟩ by summing over all 2^N states (independent of the library)."""
    n = len(h)
    states = np.array(list(itertools.product([-1.0, 1.0], repeat=n)))
    energy = -states @ h - 0.5 * np.einsum("ki,ij,kj->k", states, J, states)
    log_z = np.logaddexp.reduce(-energy)
    p = np.exp(-energy - log_z)
    return log_z, p @ states, (states * p[:, None]).T @ states, p @ energy


def plain_bp(h, J, sweeps=3000, tol=1e-14):
    """Textbook BP over cavity magnetisations (tanh / artanh), synchronous and damped."""
    t = np.tanh(J)
    m = np.zeros_like(J)
    for _ in range(sweeps):
        u = np.arctanh(t * m)
        new = np.tanh(h[:, None] + u.sum(axis=0)[:, None] - u.T)
        np.fill_diagonal(new, 0.0)
        new = 0.5 * new + 0.5 * m
        if np.abs(new - m).max() < tol:
            m = new
            break
        m = new
    u = np.arctanh(t * m)
    return np.tanh(h + u.sum(axis=0))


def symmetric(n, scale, rng):
    J = np.triu(rng.normal(0.0, scale, (n, n)), 1)
    return J + J.T


@pytest.mark.parametrize(("seed", "n"), [(0, 12), (1, 13), (2, 11)])
def test_bp_is_exact_on_trees(seed, n, tree):
    # odd N too: the middle row of the triangle is paired with itself
    rng = np.random.default_rng(seed)
    h, J = rng.normal(0.0, 0.5, n), tree(n, rng)
    result = belief_propagation(h, J, tol=1e-13)
    state = result.value
    log_z, m, C, energy = brute_force(h, J)
    assert result.converged
    assert_allclose(state.log_z, log_z, atol=1e-11)
    assert_allclose(state.m, m, atol=1e-11)
    edges = J != 0
    assert_allclose(state.C[edges], C[edges], atol=1e-11)
    assert_allclose(state.energy, energy, atol=1e-10)
    assert_allclose(state.entropy, log_z + energy, atol=1e-10)


def test_fixed_point_matches_plain_bp_on_a_dense_model():
    rng = np.random.default_rng(3)
    n = 61
    h, J = rng.normal(0.0, 0.3, n), symmetric(n, 0.08, rng)
    state = belief_propagation(h, J, tol=1e-12).value
    assert_allclose(state.m, plain_bp(h, J), atol=1e-10)


def test_dense_error_against_enumeration_is_small_for_weak_couplings():
    rng = np.random.default_rng(4)
    n = 14
    h = rng.normal(0.0, 0.3, n)
    errors = []
    for scale in (0.02, 0.04):
        J = symmetric(n, scale, rng)
        state = belief_propagation(h, J).value
        log_z, m, _, _ = brute_force(h, J)
        errors.append((abs(state.log_z - log_z), np.abs(state.m - m).max()))
    # BP is exact to first order in J: the errors grow at least quadratically
    assert errors[0][1] < 1e-3 and errors[1][1] > 2.5 * errors[0][1]
    assert errors[0][0] < 1e-4


def test_warm_start_and_damping_reach_the_same_fixed_point():
    rng = np.random.default_rng(5)
    n = 80
    h, J = rng.normal(0.0, 0.2, n), symmetric(n, 0.05, rng)
    cold = belief_propagation(h, J, tol=1e-12)
    warm = belief_propagation(h, J, messages=cold.value.messages, tol=1e-12)
    damped = belief_propagation(h, J, damping=0.6, init_scale=0.3, seed=9, tol=1e-12)
    assert warm.iterations <= 2 < cold.iterations < damped.iterations
    assert_allclose(warm.value.m, cold.value.m, atol=1e-11)
    assert_allclose(damped.value.m, cold.value.m, atol=1e-10)
    assert_allclose(damped.value.log_z, cold.value.log_z, atol=1e-9)


def test_large_fields_saturate_without_overflow():
    rng = np.random.default_rng(6)
    n = 30
    h, J = rng.normal(0.0, 400.0, n), symmetric(n, 0.5, rng)
    state = belief_propagation(h, J, warn=False).value
    assert np.all(np.isfinite(state.m)) and np.isfinite(state.log_z)
    assert_allclose(state.m, np.sign(h), atol=1e-12)


def test_non_convergence_is_reported_and_warned():
    rng = np.random.default_rng(7)
    n = 30
    h, J = np.zeros(n), symmetric(n, 1.0, rng)  # a spin glass far below its transition
    with pytest.warns(RuntimeWarning, match="belief_propagation"):
        result = belief_propagation(h, J, max_sweeps=20, init_scale=0.5)
    assert not result.converged and result.iterations == 20 and result.residual > 1e-8
    assert result.tol == 1e-8 and result.residual > result.tol
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        belief_propagation(h, J, max_sweeps=20, init_scale=0.5, warn=False)


def test_bad_input():
    h, J = np.zeros(3), np.zeros((3, 3))
    with pytest.raises(ValueError, match="symmetric"):
        belief_propagation(h, J + np.triu(np.ones((3, 3)), 1))
    with pytest.raises(ValueError, match="diagonal"):
        belief_propagation(h, J + np.eye(3))
    with pytest.raises(ValueError, match="shape"):
        belief_propagation(np.zeros(4), J)
    with pytest.raises(ValueError, match="finite"):
        belief_propagation(np.array([0.0, np.nan, 0.0]), J)
    with pytest.raises(ValueError, match="damping"):
        belief_propagation(h, J, damping=1.0)
    with pytest.raises(ValueError, match="messages"):
        belief_propagation(h, J, messages=(np.ones((2, 2)), np.ones((2, 2))))


@pytest.mark.parametrize(("max_sweeps", "tol"), [(0, 1e-8), (1, 1e-8), (50, 1e-300)])
def test_budget_and_tolerance_bound_every_run(max_sweeps, tol):
    """``max_sweeps`` is the whole budget and ``converged`` is read from the residual
    reported: a budget too small or a tolerance too tight is flagged and warned."""
    rng = np.random.default_rng(8)
    h, J = rng.normal(0.0, 0.3, 6), symmetric(6, 0.3, rng)  # converges, given the sweeps
    with pytest.warns(RuntimeWarning, match="belief_propagation"):
        result = belief_propagation(h, J, tol=tol, max_sweeps=max_sweeps)
    assert result.converged is False
    assert result.residual > tol and result.iterations <= max_sweeps
    assert result.residual == np.inf if max_sweeps == 0 else np.isfinite(result.residual)
    assert belief_propagation(h, J, tol=1e-8).converged  # the same model converges


def test_bad_warm_start_and_flags():
    h, J = np.zeros(3), np.zeros((3, 3))
    ones = np.ones((3, 3))
    for bad in [ones, (ones,), (ones, ones, ones), (ones, np.zeros((3, 3))), "ab"]:
        with pytest.raises(ValueError, match="messages"):
            belief_propagation(h, J, messages=bad)
    with pytest.raises(ValueError, match="correlations"):
        belief_propagation(h, J, correlations="no")
    with pytest.raises(ValueError, match="init_scale"):
        belief_propagation(h, J, init_scale=1e3)
    with pytest.raises(ValueError, match="seed"):
        belief_propagation(h, J, seed=-1)


def test_symmetry_is_checked_up_to_round_off():
    rng = np.random.default_rng(9)
    J = symmetric(5, 0.5, rng)
    scale = np.abs(J).max()
    rounded = J.copy()
    rounded[0, 1] += 1e-12 * scale  # rounding, e.g. of an inverse of a symmetric matrix
    belief_propagation(np.zeros(5), rounded)
    skewed = J.copy()
    skewed[0, 1] += 1e-8 * scale
    with pytest.raises(ValueError, match=r"J must be symmetric .* got J\[0, 1\]"):
        belief_propagation(np.zeros(5), skewed)
