"""Tests for deepspin.ising.inverse: the fit error, the closed-form inversions, Boltzmann
learning with BP moments (exact recovery of BP-generated data, trees, strongly magnetised
spins where fixed steps diverge, BP failures), pseudolikelihood, and bad input."""

import itertools
import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose

from deepspin.ising import belief_propagation, enumerate_exact, sample_exact
from deepspin.ising.inverse import (
    bethe_inversion,
    bp_bias,
    fit_boltzmann,
    fit_exact,
    fit_pseudolikelihood,
    mean_field_inversion,
    rmse,
)


def states(n):
    return np.array(list(itertools.product([-1.0, 1.0], repeat=n)))


def exact(h, J):
    """Probabilities of all 2^N states, m and C by brute force (independent of the library)."""
    s = states(len(h))
    energy = -s @ h - 0.5 * np.einsum("ki,ij,kj->k", s, J, s)
    p = np.exp(-energy - np.logaddexp.reduce(-energy))
    return p, p @ s, (s * p[:, None]).T @ s


def symmetric(n, scale, rng):
    J = np.triu(rng.normal(0.0, scale, (n, n)), 1)
    return J + J.T


def bp_moments(h, J):
    state = belief_propagation(h, J, tol=1e-13, max_sweeps=10000).value
    return state.m, state.C


# --- rmse ------------------------------------------------------------------------------------


def test_rmse_is_zero_for_identical_moments():
    rng = np.random.default_rng(0)
    _, m, C = exact(rng.normal(0.0, 0.3, 5), symmetric(5, 0.3, rng))
    assert rmse(m, C, m, C) == 0.0


def test_rmse_by_hand_ignores_the_diagonal():
    m_model, m_data = np.array([0.1, 0.2]), np.zeros(2)
    C_model = np.array([[1.0, 0.5], [0.5, 1.0]])
    C_data = np.array([[0.0, 0.2], [0.2, 0.0]])  # diagonal stored as 0, as in the paper's code
    # (1/N) Σ Δm² = (0.01 + 0.04)/2; (1/(N(N−1))) Σ_{i≠j} ΔC² = 2 · 0.3² / 2
    assert rmse(m_model, C_model, m_data, C_data) == pytest.approx(np.sqrt(0.025 + 0.09))


# --- closed-form inversions ------------------------------------------------------------------


def test_mean_field_inversion_is_exact_to_first_order():
    rng = np.random.default_rng(1)
    n = 8
    h, shape = rng.normal(0.0, 0.3, n), symmetric(n, 1.0, rng)
    errors = {}
    for scale in (0.05, 0.025):
        J = scale * shape
        _, m, C = exact(h, J)
        for method in ("naive", "tap"):
            h_fit, J_fit = mean_field_inversion(m, C, method=method)
            assert_allclose(J_fit, J_fit.T)
            assert np.all(np.diag(J_fit) == 0)
            errors[method, scale] = np.abs(J_fit - J).max(), np.abs(h_fit - h).max()
    assert errors["naive", 0.05][0] < 0.05 * 0.05  # a few per cent of the couplings
    # the error is of second order: halving the couplings divides it by about four
    assert errors["naive", 0.025][0] < 0.35 * errors["naive", 0.05][0]
    # TAP adds the second-order (Onsager) term
    assert errors["tap", 0.025][0] < errors["naive", 0.025][0]
    assert errors["tap", 0.025][1] < 0.1 * errors["naive", 0.025][1]


def test_mean_field_inversion_rejects_impossible_correlations():
    # three spins pairwise correlated +0.9, +0.9 and −0.9: no distribution has these
    C = np.array([[1.0, 0.9, -0.9], [0.9, 1.0, 0.9], [-0.9, 0.9, 1.0]])
    with pytest.raises(ValueError, match="not positive definite"):
        mean_field_inversion(np.zeros(3), C)


def test_bethe_inversion_inverts_bp_moments_exactly():
    rng = np.random.default_rng(2)
    n = 40
    h, J = rng.normal(0.0, 0.5, n), symmetric(n, 0.1, rng)
    h_fit, J_fit = bethe_inversion(*bp_moments(h, J))
    assert_allclose(J_fit, J, atol=1e-10)
    assert_allclose(h_fit, h, atol=1e-9)


def test_bethe_inversion_on_a_tree_graph_inverts_exact_moments(tree):
    rng = np.random.default_rng(3)
    n = 10
    h, J = rng.normal(0.0, 0.5, n), tree(n, rng)
    _, m, C = exact(h, J)
    h_fit, J_fit = bethe_inversion(m, C, mask=J != 0)
    assert_allclose(J_fit, J, atol=1e-12)
    assert_allclose(h_fit, h, atol=1e-12)


# --- Boltzmann learning ----------------------------------------------------------------------


def test_fit_recovers_a_model_from_its_bp_moments():
    rng = np.random.default_rng(4)
    n = 80
    h, J = rng.normal(0.0, 0.3, n), symmetric(n, 0.05, rng)
    m, C = bp_moments(h, J)
    result = fit_boltzmann(m, C, init="independent", l2=0.0, tol=1e-9)
    assert result.converged and result.info["stopped"] == "converged"
    h_fit, J_fit = result.value
    assert_allclose(J_fit, J, atol=1e-7)
    assert_allclose(h_fit, h, atol=1e-7)
    history = result.info["rmse"]
    assert len(history) == result.iterations + 1
    assert history[0] > 1e-3
    assert history[-1] <= 1e-9
    assert result.residual == history[-1]
    # every accepted step raises the Bethe log-likelihood (up to its numerical noise)
    assert np.all(np.diff(result.info["log_likelihood"]) > -1e-9)
    # the returned messages are the fit's BP fixed point: a warm start converges at once
    warm = belief_propagation(h_fit, J_fit, messages=result.info["messages"], tol=1e-8)
    assert warm.converged and warm.iterations <= 3
    assert_allclose(warm.value.m, m, atol=1e-8)
    # the default start, the Bethe inversion, is already the answer
    direct = fit_boltzmann(m, C, l2=0.0, tol=1e-9)
    assert direct.converged and direct.iterations == 0
    assert_allclose(direct.value[1], J, atol=1e-9)


def test_fit_on_a_tree_reproduces_exact_moments_and_couplings(tree):
    rng = np.random.default_rng(5)
    n = 10
    h, J = rng.normal(0.0, 0.5, n), tree(n, rng)
    _, m, C = exact(h, J)
    result = fit_boltzmann(m, C, init="independent", l2=0.0, tol=1e-10, mask=J != 0)
    assert result.converged
    assert result.info["rmse"][0] > 1e-2
    h_fit, J_fit = result.value
    assert_allclose(J_fit, J, atol=1e-8)
    assert_allclose(h_fit, h, atol=1e-8)
    # BP is exact on the tree, so the fitted model's exact moments are the data's, also for
    # the pairs that are not edges (their correlations were not fitted)
    _, m_fit, C_fit = exact(h_fit, J_fit)
    assert_allclose(m_fit, m, atol=1e-8)
    assert_allclose(C_fit, C, atol=1e-8)


def test_strongly_magnetised_fit_converges_where_fixed_steps_diverge():
    rng = np.random.default_rng(6)
    n = 300
    h = 2.0 * rng.choice([-1.0, 1.0], n) + rng.normal(0.0, 0.3, n)
    J = symmetric(n, 0.05, rng)
    m, C = bp_moments(h, J)
    assert np.mean(np.abs(m)) > 0.85
    start = dict(init="independent", l2=0.0)
    with pytest.warns(RuntimeWarning, match="fit_boltzmann"):
        plain = fit_boltzmann(m, C, **start, method="plain", max_steps=60)
    history = plain.info["rmse"]
    assert history.max() > 10 * history[0]  # the paper's steps blow up...
    assert history[-1] > 10 * history.min()  # ...and do not come back
    adaptive = fit_boltzmann(m, C, **start, tol=1e-6, max_steps=200)
    assert adaptive.converged
    assert adaptive.residual <= 1e-6
    assert_allclose(adaptive.value[1], J, atol=2e-3)


def test_fit_raises_the_bp_damping_when_bp_oscillates():
    rng = np.random.default_rng(7)
    n = 30
    # a dense antiferromagnet in a field: undamped synchronous BP falls into a 2-cycle
    J = -0.1 * (1 - np.eye(n)) + symmetric(n, 0.01, rng)
    h = 0.5 + rng.normal(0.0, 0.1, n)
    assert not belief_propagation(h, J, warn=False).converged
    state = belief_propagation(h, J, damping=0.5, tol=1e-13).value
    result = fit_boltzmann(state.m, state.C, init="independent", l2=0.0, tol=1e-8)
    assert result.converged
    assert result.info["bp_failures"] > 0
    assert result.info["bp_damping"][-1] >= 0.5
    assert_allclose(result.value[1], J, atol=1e-6)


def test_fit_reports_bp_that_never_converges():
    rng = np.random.default_rng(8)
    n = 20
    h, J = rng.normal(0.0, 0.3, n), symmetric(n, 0.1, rng)
    m, C = bp_moments(h, J)
    with pytest.warns(RuntimeWarning, match="bp_failed"):
        result = fit_boltzmann(m, C, h, J, bp_max_sweeps=1)
    assert not result.converged
    assert result.info["stopped"] == "bp_failed"
    assert result.info["bp_failures"] == 4  # undamped, then dampings 0.5, 0.75, 0.9
    assert np.isnan(result.residual)


def _cluster_moments(n=60, k=4, flip=0.05, samples=4000, seed=0):
    """Moments of a mixture of k noisy ±1 patterns, like an ensemble mixing k networks."""
    rng = np.random.default_rng(seed)
    patterns = rng.choice([-1.0, 1.0], (k, n))
    s = patterns[rng.integers(0, k, samples)]
    s = s * np.where(rng.random(s.shape) < flip, -1.0, 1.0)
    return s.mean(axis=0), s.T @ s / samples


def test_trust_region_keeps_bp_off_a_condensed_fixed_point():
    # one long step from independent spins lands BP in a condensed state with higher Bethe
    # likelihood but moments far from the data, and the fit cannot leave it
    m, C = _cluster_moments()
    runs = {}
    for move in (2.0, 0.05):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            runs[move] = fit_boltzmann(m, C, init="independent", max_steps=150, max_move=move)
    start = runs[2.0].info["rmse"][0]
    assert runs[2.0].residual == pytest.approx(start)  # no step improved the moments
    assert runs[0.05].residual < start - 0.01


def test_l2_shrinks_the_couplings():
    rng = np.random.default_rng(9)
    n = 30
    h, J = rng.normal(0.0, 0.3, n), symmetric(n, 0.1, rng)
    m, C = bp_moments(h, J)
    result = fit_boltzmann(m, C, l2=0.1, tol=1e-8)
    assert result.converged
    J_fit = result.value[1]
    assert np.abs(J_fit).sum() < np.abs(J).sum()
    # stationarity of the penalised likelihood: C − C_BP = γ J on every pair
    state = belief_propagation(result.value[0], J_fit, tol=1e-13).value
    off = ~np.eye(n, dtype=bool)
    assert_allclose((C - state.C)[off], 0.1 * J_fit[off], atol=1e-7)


# --- pseudolikelihood ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sparse_model_samples():
    rng = np.random.default_rng(10)
    n = 8
    J = np.triu(rng.normal(0.0, 0.3, (n, n)), 1)
    J[np.abs(J) < 0.25] = 0.0
    J = J + J.T
    h = rng.normal(0.0, 0.3, n)
    p, _, _ = exact(h, J)
    samples = states(n)[rng.choice(2**n, size=30000, p=p)].astype(np.int8)
    return h, J, samples


def test_pseudolikelihood_recovers_the_model(sparse_model_samples):
    h, J, samples = sparse_model_samples
    result = fit_pseudolikelihood(samples)
    assert result.converged and result.info["optimizer"] == "lbfgs"
    h_fit, J_fit = result.value
    assert_allclose(J_fit, J_fit.T)
    assert np.all(np.diag(J_fit) == 0)
    # statistical error ~ 1/sqrt(M) ≈ 0.006 per entry; bound at about 10 of those
    assert np.abs(J_fit - J).max() < 0.06
    assert np.abs(h_fit - h).max() < 0.06
    assert not np.any(J_fit[np.triu_indices(len(h), 1)] == 0)


def test_pseudolikelihood_l1_zeroes_small_couplings(sparse_model_samples):
    h, J, samples = sparse_model_samples
    result = fit_pseudolikelihood(samples, l1=0.05, max_iter=2000)
    assert result.converged and result.info["optimizer"] == "fista"
    J_fit = result.value[1]
    upper = np.triu_indices(len(h), 1)
    true_zero, fit_zero = J[upper] == 0, J_fit[upper] == 0
    assert fit_zero[true_zero].mean() >= 0.8  # most absent couplings are exactly zero
    assert not np.any(fit_zero[~true_zero])  # and no real one is lost


@pytest.mark.parametrize("l1", [0.0, 0.05])
def test_pseudolikelihood_budget_is_reported(sparse_model_samples, l1):
    samples = sparse_model_samples[2]
    with pytest.warns(RuntimeWarning, match="fit_pseudolikelihood"):
        result = fit_pseudolikelihood(samples, l1=l1, max_iter=1, tol=1e-12)
    assert result.converged is False and result.iterations <= 1
    assert result.tol == 1e-12 and result.residual > result.tol


# --- bad input -------------------------------------------------------------------------------


def test_bad_input():
    m, C = np.zeros(3), np.eye(3)
    with pytest.raises(ValueError, match="C must have shape"):
        fit_boltzmann(m, np.eye(4))
    with pytest.raises(ValueError, match=r"m must hold finite reals in \[-1, 1\]"):
        fit_boltzmann(np.array([0.0, 1.5, 0.0]), C)
    with pytest.raises(ValueError, match=r"m must hold finite reals in \[-1, 1\]"):
        mean_field_inversion(np.array([0.0, -1.01, 0.0]), C)
    with pytest.raises(ValueError, match="C must be symmetric"):
        mean_field_inversion(m, np.array([[1, 0.1, 0], [0.2, 1, 0], [0, 0, 1]]))
    with pytest.raises(ValueError, match="C_model must have shape"):
        rmse(m, np.eye(2), m, C)
    with pytest.raises(ValueError, match="m_data must have shape"):
        rmse(m, C, np.zeros(2), np.eye(2))
    with pytest.raises(ValueError, match="max_move"):
        fit_boltzmann(np.zeros(3), np.eye(3), max_move=0.0)
    with pytest.raises(ValueError, match="method"):
        mean_field_inversion(m, C, method="exact")
    with pytest.raises(ValueError, match="inconsistent"):
        bethe_inversion(np.array([1.0, -1.0]), np.ones((2, 2)))
    with pytest.raises(ValueError, match="h0 and J0"):
        fit_boltzmann(m, C, h0=np.zeros(3))
    with pytest.raises(ValueError, match="h0 must have shape"):
        fit_boltzmann(m, C, np.zeros(2), np.zeros((2, 2)))
    with pytest.raises(ValueError, match="l2"):
        fit_boltzmann(m, C, l2=-1.0)
    with pytest.raises(ValueError, match="init"):
        fit_boltzmann(m, C, init="zeros")
    with pytest.raises(ValueError, match="mask must have shape"):
        fit_boltzmann(m, C, mask=np.ones((2, 2), dtype=bool))
    samples = np.ones((10, 3))
    with pytest.raises(ValueError, match="samples must hold spins"):
        fit_pseudolikelihood(np.concatenate([samples, np.zeros((1, 3))]))
    with pytest.raises(ValueError, match="samples must be a 2-D array"):
        fit_pseudolikelihood(np.ones(3))
    with pytest.raises(ValueError, match="l1"):
        fit_pseudolikelihood(samples, l1=-0.1)
    with pytest.raises(ValueError, match="device"):
        fit_pseudolikelihood(samples, device="no-such-device")


def test_fit_warns_only_when_not_converged():
    m, C = np.array([0.2, -0.1]), np.array([[1.0, 0.1], [0.1, 1.0]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert fit_boltzmann(m, C).converged
    with pytest.warns(RuntimeWarning, match="max_steps"):
        result = fit_boltzmann(m, C, init="independent", max_steps=1, tol=1e-12)
    assert result.converged is False and result.iterations <= 1
    assert result.tol == 1e-12 and result.residual > result.tol
    assert result.info["stopped"] == "max_steps"


def test_fitted_couplings_are_exactly_symmetric():
    # preconditioned steps are symmetric only to rounding; the result must pass any
    # symmetry check, however strict
    rng = np.random.default_rng(11)
    n = 30
    h = rng.normal(0.0, 0.3, n) + 1.5 * rng.choice([-1.0, 1.0], n)
    m, C = bp_moments(h, symmetric(n, 0.05, rng))
    result = fit_boltzmann(m, C, init="independent", tol=1e-9, warn=False)
    assert result.iterations > 5
    J = result.value[1]
    assert np.array_equal(J, J.T)


def test_fit_residual_is_the_gradient_rmse_that_tol_bounds():
    """With an L2 penalty the fit converges when the gradient RMSE (the stationarity of
    the penalised likelihood) is below tol, while its RMSE to the data is γ|J|: the
    residual reported is the former, the RMSE is in info."""
    rng = np.random.default_rng(3)
    h, J = rng.normal(0.0, 0.3, 4), symmetric(4, 0.5, rng)
    m, C = bp_moments(h, J)
    result = fit_boltzmann(m, C, l2=0.05, tol=1e-8, warn=False)
    assert result.converged and result.residual <= 1e-8
    state = belief_propagation(*result.value, tol=1e-13).value
    assert_allclose(result.info["fit_rmse"], rmse(state.m, state.C, m, C), rtol=1e-4)
    assert result.info["fit_rmse"] > 100 * result.tol  # the penalty keeps the RMSE up
    assert result.info["fit_rmse"] == result.info["last"]["rmse"]
    assert result.residual == result.info["last"]["gradient_rmse"]


# --- exact maximum likelihood ------------------------------------------------------------------


def test_fit_exact_recovers_a_dense_model_from_its_moments():
    rng = np.random.default_rng(21)
    n = 9
    h, J = rng.normal(0.0, 0.4, n), symmetric(n, 0.4, rng)  # far too strong for BP to be exact
    _, m, C = exact(h, J)
    result = fit_exact(m, C)
    assert result.converged and result.residual <= 1e-7
    h_fit, J_fit = result.value
    assert_allclose(h_fit, h, atol=1e-5)
    assert_allclose(J_fit, J, atol=1e-5)
    # at the optimum the entropy is minus the log-likelihood (γ = 0); away from it they differ
    # by (moment error)·(parameters), so the tolerance follows the 1e-7 residual, not round-off
    assert result.info["entropy"] == pytest.approx(-result.info["log_likelihood"], abs=1e-7)
    assert result.info["entropy"] == pytest.approx(enumerate_exact(h, J).entropy, abs=1e-7)


def test_fit_exact_matches_sampled_moments_and_the_tree_fit_of_boltzmann(tree):
    rng = np.random.default_rng(22)
    n = 10
    h, J = rng.normal(0.0, 0.5, n), tree(n, rng)
    samples = sample_exact(h, J, 20_000, seed=3).astype(np.float64)
    m, C = samples.mean(axis=0), samples.T @ samples / len(samples)
    result = fit_exact(m, C)
    h_fit, J_fit = result.value
    _, m_fit, C_fit = exact(h_fit, J_fit)
    assert_allclose(m_fit, m, atol=1e-6)  # maximum likelihood matches the moments
    assert_allclose(C_fit, C, atol=1e-6)
    # on the tree's exact moments the BP fit of the edges and the exact fit agree
    _, m_tree, C_tree = exact(h, J)
    on_tree = fit_boltzmann(m_tree, C_tree, init="independent", l2=0.0, tol=1e-10, mask=J != 0)
    exact_fit = fit_exact(m_tree, C_tree)
    assert_allclose(exact_fit.value[1], on_tree.value[1], atol=1e-5)
    assert_allclose(exact_fit.value[0], on_tree.value[0], atol=1e-5)


def test_fit_exact_l2_stationarity():
    rng = np.random.default_rng(23)
    n = 8
    _, m, C = exact(rng.normal(0.0, 0.3, n), symmetric(n, 0.3, rng))
    result = fit_exact(m, C, l2=0.05)
    h_fit, J_fit = result.value
    _, m_fit, C_fit = exact(h_fit, J_fit)
    assert_allclose(m_fit, m, atol=1e-7)
    off = ~np.eye(n, dtype=bool)
    assert_allclose((C - C_fit)[off], 0.05 * J_fit[off], atol=1e-7)
    assert np.abs(J_fit).max() < np.abs(fit_exact(m, C).value[1]).max()


def test_fit_exact_budget_is_reported():
    rng = np.random.default_rng(22)
    h, J = rng.normal(0.0, 0.4, 5), symmetric(5, 0.4, rng)
    _, m, C = exact(h, J)
    with pytest.warns(RuntimeWarning, match="fit_exact"):
        result = fit_exact(m, C, max_iter=1, tol=1e-12)
    assert result.converged is False and result.iterations <= 1
    assert result.tol == 1e-12 and result.residual > result.tol


def test_fit_exact_bad_input():
    with pytest.raises(ValueError, match=r"N must lie in \[1, 24\]"):
        fit_exact(np.zeros(25), np.eye(25))
    with pytest.raises(ValueError, match=r"m must lie in \(-1, 1\)"):
        fit_exact(np.array([1.0, 0.0]), np.eye(2))
    with pytest.raises(ValueError, match="h0 and J0 must be given together"):
        fit_exact(np.zeros(3), np.eye(3), h0=np.zeros(3))
    with pytest.raises(ValueError, match="l2"):
        fit_exact(np.zeros(3), np.eye(3), l2=-1.0)


def test_bp_bias_separates_bias_from_monte_carlo_error():
    rng = np.random.default_rng(11)
    n = 12
    h = rng.normal(0.0, 0.3, n)
    dense = np.triu(rng.normal(0.0, 0.6, (n, n)), 1)
    dense = dense + dense.T
    samples = sample_exact(h, dense, 40_000, seed=rng)
    truth = enumerate_exact(h, dense)
    # the exact moments: no bias beyond the sampling error
    check = bp_bias(truth.m, truth.C, samples, truth.m, truth.C)
    assert check["bias_over_error"] < 2 and check["rmse_bp_data"] == 0.0
    assert check["rmse_mc_data"] == check["rmse_mc_bp"] > 0
    # BP at couplings of 0.6 on a dense graph: errors far above the sampling error
    bethe = belief_propagation(h, dense, warn=False).value
    check = bp_bias(bethe.m, bethe.C, samples)
    assert check["bias_over_error"] > 5 and check["bias"] <= check["rmse_mc_bp"]
    with pytest.raises(ValueError, match="samples"):
        bp_bias(truth.m, truth.C, samples[:1])
