"""Tests for deepspin.perceptron: replica formulas, enumeration, programming capacity."""

import itertools

import numpy as np
import pytest
from numpy.testing import assert_allclose
from scipy import integrate

from deepspin import perceptron as pc
from deepspin.gauss import G, G_over_H, log_H

QUAD_RTOL = 1e-9
FD_RTOL = 1e-6


def _energy_quad(q, kappa):
    b = kappa / np.sqrt(q)

    def f(z):
        return G(z) * log_H((kappa - np.sqrt(q) * z) / np.sqrt(1 - q))

    return integrate.quad(f, -40, b, limit=400)[0] + integrate.quad(f, b, 40, limit=400)[0]


@pytest.mark.parametrize(("q", "kappa"), [(1e-4, 0.0), (0.3, 0.0), (0.9, 0.5), (0.999, 1.0)])
def test_energy_term_against_adaptive_quadrature(q, kappa):
    assert_allclose(pc.energy_term(q, kappa), _energy_quad(q, kappa), rtol=QUAD_RTOL)


@pytest.mark.parametrize(("q", "kappa"), [(0.2, 0.0), (0.6, 0.3), (0.95, 1.0)])
def test_kernel_is_derivative_of_energy(q, kappa):
    h = 1e-5 * (1 - q)
    fd = (pc.energy_term(q + h, kappa) - pc.energy_term(q - h, kappa)) / (2 * h)
    assert_allclose(-pc.energy_kernel(q, kappa) / (2 * (1 - q)), fd, rtol=FD_RTOL)


def test_kernel_limits():
    for kappa in (0.0, 0.7):
        assert_allclose(pc.energy_kernel(0.0, kappa), G_over_H(kappa) ** 2, rtol=1e-12)
        # (1-q) K(q) -> 1/alpha_c(kappa) as q -> 1
        q = 1 - 1e-9
        assert_allclose((1 - q) * pc.energy_kernel(q, kappa), 1 / pc.capacity_rs(kappa), rtol=1e-3)
    assert_allclose(pc.energy_kernel(0.0, 0.0), 2 / np.pi, rtol=1e-12)


@pytest.mark.parametrize("kappa", [0.0, 0.5, 1.0, 2.0])
def test_capacity_closed_form(kappa):
    integral = integrate.quad(lambda t: G(t) * (t + kappa) ** 2, -kappa, np.inf)[0]
    assert_allclose(pc.capacity_rs(kappa), 1 / integral, rtol=1e-10)
    assert pc.capacity_rs(0.0) == pytest.approx(2.0, rel=1e-14)


def test_spherical_rs_stationary_and_envelope():
    alpha, kappa = 1.2, 0.3
    sol = pc.solve_rs(alpha, kappa).value
    h = 1e-6
    ds_dq = (pc.entropy_rs(alpha, sol.q + h, kappa) - pc.entropy_rs(alpha, sol.q - h, kappa)) / (
        2 * h
    )
    assert abs(ds_dq) < 1e-7
    # envelope theorem: ds/dα = E(q*)
    up = pc.solve_rs(alpha + 1e-5, kappa).value.entropy
    down = pc.solve_rs(alpha - 1e-5, kappa).value.entropy
    assert_allclose((up - down) / 2e-5, pc.energy_term(sol.q, kappa), rtol=FD_RTOL)


def test_spherical_rs_limits():
    # small α: q ≈ α K(0) = 2α/π, s ≈ α ln H(κ) (annealed)
    sol = pc.solve_rs(1e-4).value
    assert_allclose(sol.q, 2e-4 / np.pi, rtol=1e-3)
    assert_allclose(sol.entropy, 1e-4 * np.log(0.5), rtol=1e-3)
    # q → 1 at the capacity, and the entropy diverges to −∞
    qs = [pc.solve_rs(a).value.q for a in (1.9, 1.99, 1.999)]
    assert qs[0] < qs[1] < qs[2] and qs[2] > 0.999
    with pytest.raises(ValueError, match="alpha must lie below the capacity"):
        pc.solve_rs(2.01)


def test_ising_rs_and_krauth_mezard_point():
    zero = pc.solve_rs(0.0, weights="ising").value
    assert_allclose(zero.entropy, np.log(2))
    sol = pc.solve_rs(0.5, weights="ising").value
    # stationarity in q and q̂
    h = 1e-6
    for dq, dqh in ((h, 0), (0, h)):
        up = pc.entropy_rs(0.5, sol.q + dq, 0.0, "ising", sol.qhat + dqh)
        down = pc.entropy_rs(0.5, sol.q - dq, 0.0, "ising", sol.qhat - dqh)
        assert abs(up - down) / (2 * h) < 1e-6
    # Krauth & Mézard (1989): the RS entropy vanishes at α ≈ 0.833 for κ = 0
    res = pc.ising_entropy_zero()
    assert res.converged
    assert res.value == pytest.approx(0.833, abs=1e-3)


def test_validation_messages():
    with pytest.raises(ValueError, match="alpha"):
        pc.solve_rs(-1.0)
    with pytest.raises(ValueError, match="kappa"):
        pc.solve_rs(0.5, kappa=-0.1)
    with pytest.raises(ValueError, match="weights must be one of"):
        pc.solve_rs(0.5, weights="binary")
    with pytest.raises(ValueError, match=r"q must .*\[0, 1\)"):
        pc.energy_term(1.0)
    with pytest.raises(ValueError, match="patterns"):
        pc.count_solutions(np.zeros((3, 5)))
    with pytest.raises(ValueError, match="method='lp' needs kappa = 0"):
        pc.capacity_samples(10, kappa=0.5, method="lp")


def _brute_force_counts(patterns, kappa):
    n = patterns.shape[1]
    w = np.array(list(itertools.product([-1, 1], repeat=n)))
    ok = (w @ patterns.T) / np.sqrt(n) > kappa
    return np.array([np.all(ok[:, :p], axis=1).sum() for p in range(patterns.shape[0] + 1)])


@pytest.mark.parametrize(("n", "kappa"), [(7, 0.0), (9, 0.0), (10, 0.4), (11, 1.0)])
def test_enumeration_against_brute_force(n, kappa):
    pats = pc.random_patterns(n, 10, 3, seed=n)
    counts = pc.count_solutions(pats, kappa)
    for s in range(3):
        expected = _brute_force_counts(pats[s].astype(int), kappa)
        assert_allclose(counts[s], expected)
        assert_allclose(pc.count_solutions_numpy(pats[s], kappa), expected)


def test_enumeration_properties():
    n = 13
    counts = pc.count_solutions(pc.random_patterns(n, 20, 4, seed=3))
    assert np.all(counts[:, 0] == 2**n)
    assert np.all(np.diff(counts, axis=1) <= 0)
    # one pattern at κ = 0 and odd N: exactly half of the sign vectors have w·ξ > 0
    assert np.all(counts[:, 1] == 2 ** (n - 1))


def test_max_stability_known_cases():
    assert pc.max_stability(np.array([[3.0, 4.0]])) == pytest.approx(5.0)
    assert pc.max_stability(np.eye(2)) == pytest.approx(1 / np.sqrt(2))
    assert pc.max_stability(np.array([[1.0, 0.0], [-1.0, 0.0]])) == -np.inf


def test_lp_agrees_with_max_stability():
    rng = np.random.default_rng(0)
    for _ in range(40):
        a = rng.standard_normal((rng.integers(15, 40), 12))
        assert pc.is_separable_lp(a) == (pc.max_stability(a) > 0)


def test_cover_formula():
    assert pc.cover_probability(20, 10) == pytest.approx(0.5)
    assert pc.cover_probability(10, 10) == 1.0
    # E[P*] = Σ_P Prob(P* ≥ P) = 2N exactly
    p = np.arange(1, 600)
    assert_allclose(pc.cover_probability(p, 15).sum(), 30.0, rtol=1e-10)


def test_lp_capacity_matches_cover_distribution():
    n, samples = 10, 300
    p_star = pc.capacity_samples(n, 0.0, samples, method="lp", seed=5)
    # Prob(P* ≥ P) from Cover's formula; compare the empirical survival function
    grid = np.arange(n, 4 * n)
    empirical = np.array([(p_star >= p).mean() for p in grid])
    assert np.max(np.abs(empirical - pc.cover_probability(grid, n))) < 4 / np.sqrt(samples)
    # exact mean 2N
    assert abs(p_star.mean() / n - 2.0) < 4 * p_star.std() / n / np.sqrt(samples)
    # the QP route gives the same P* for the same patterns at κ = 0
    assert np.array_equal(p_star[:50], pc.capacity_samples(n, 0.0, 50, seed=5))


def test_qp_capacity_near_gardner_at_margin():
    p_star = pc.capacity_samples(60, 0.5, 30, seed=2)
    assert abs(p_star.mean() / 60 - pc.capacity_rs(0.5)) < 0.08


def test_effective_margin():
    assert pc.effective_margin(13, 0.0) == 0.0
    # N = 13, κ = 0.5: fields are odd and must exceed 1.80, so f ≥ 3 and κ_eff = 2/√13
    assert pc.effective_margin(13, 0.5) == pytest.approx(2 / np.sqrt(13))
    # even N at κ = 0: the field 0 is excluded, so the threshold sits at 1
    assert pc.effective_margin(16, 0.0) == pytest.approx(1 / 4)
    # the count at κ equals the count at κ_eff (both give the same integer threshold)
    pats = pc.random_patterns(13, 8, 2, seed=1)
    assert np.array_equal(
        pc.count_solutions(pats, 0.5), pc.count_solutions(pats, pc.effective_margin(13, 0.5))
    )


def test_entropy_from_counts():
    counts = np.array([[8, 4, 2, 0], [8, 4, 1, 1], [8, 2, 2, 1]])
    e = pc.entropy_from_counts(counts, 3)
    assert_allclose(e["alpha"], [0, 1 / 3, 2 / 3, 1])
    assert_allclose(e["p_unsat"], [0, 0, 0, 1 / 3])
    assert_allclose(e["entropy"][0], np.log(8) / 3)
    assert_allclose(e["entropy"][3], 0.0)  # two samples with one solution each
    assert_allclose(e["entropy"][1], np.mean(np.log([4, 4, 2])) / 3)


def test_enumeration_vs_rs_recovers_rs_when_exact():
    # feed curves that equal the RS entropy at every size: the deviation must vanish
    alphas = np.linspace(0, 0.6, 31)
    rs = np.array([pc.solve_rs(a, 0.0, "ising").value.entropy for a in alphas])
    curves = {
        n: {"alpha": alphas, "entropy": rs, "entropy_err": np.full_like(rs, 0.01)}
        for n in (11, 15, 19)
    }
    out = pc.enumeration_vs_rs(curves, [0.2, 0.3], 0.0)
    assert_allclose(out["deviation"], 0.0, atol=1e-3)  # interpolation error only
    assert_allclose(out["enumeration"], out["rs"], atol=1e-3)


@pytest.mark.parametrize(
    "patterns, kwargs, match",
    [
        (np.ones((3, 5)), dict(chunk=-1), "chunk"),
        (np.ones((3, 5)), dict(chunk=0), "chunk"),
        (np.ones((3, 60)), dict(), "N"),
        (np.full((3, 5), 2), dict(), "patterns"),
        (np.ones(5), dict(), "patterns"),
        (np.ones((3, 5)), dict(kappa=np.nan), "kappa"),
    ],
)
def test_count_solutions_numpy_validates(patterns, kwargs, match):
    # issue 19: a negative chunk gave zero counts and N = 60 never ended
    with pytest.raises(ValueError, match=match):
        pc.count_solutions_numpy(patterns, **kwargs)


# ---------------------------------------------------------------- solver honesty (issue 19)


@pytest.mark.parametrize("weights", ["spherical", "ising"])
def test_solve_rs_reports_non_convergence_honestly(weights):
    with pytest.warns(RuntimeWarning, match="solve_rs"):
        res = pc.solve_rs(0.5, 0.0, weights, tol=1e-12, max_iter=1)
    assert res.converged is False
    assert res.residual > res.tol == 1e-12
    assert res.iterations <= 1


@pytest.mark.parametrize("weights", ["spherical", "ising"])
def test_solve_rs_residual_is_the_distance_to_the_root(weights):
    res = pc.solve_rs(0.5, 0.3, weights, tol=1e-10)
    assert res.converged is True and res.residual <= res.tol == 1e-10
    # a looser solve lands within its own residual (plus the tight solve's) of the tight root
    loose = pc.solve_rs(0.5, 0.3, weights, tol=1e-3)
    assert loose.converged
    assert abs(loose.value.q - res.value.q) <= 2 * loose.residual + 2 * res.residual + 1e-12


def test_ising_entropy_zero_non_convergence():
    # the bracketing steps count against max_iter: at κ = 0 the zero is 42 steps away
    with pytest.warns(RuntimeWarning, match="ising_entropy_zero"):
        res = pc.ising_entropy_zero(0.0, max_iter=5)
    assert res.converged is False and res.residual > res.tol and res.iterations <= 5
    # bracketed at κ = 2 (6 steps), then too few Brent iterations for a tiny tolerance
    with pytest.warns(RuntimeWarning, match="ising_entropy_zero"):
        res = pc.ising_entropy_zero(2.0, tol=1e-15, max_iter=7)
    assert res.converged is False and res.residual > res.tol and res.iterations <= 7
    # converged: the residual is the distance to the zero, in the units of tol
    res = pc.ising_entropy_zero(2.0, tol=1e-9)
    assert res.converged and res.residual <= 1e-9
    assert abs(pc.solve_rs(res.value, 2.0, "ising").value.entropy) < 1e-7


# ---------------------------------------------------------------- validation (issue 19)


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: pc.energy_term("0.5"), "q must be a real"),
        (lambda: pc.energy_term([0.2, np.nan]), "q must"),
        (lambda: pc.energy_kernel(0.5, n=1), "n must"),
        (lambda: pc.capacity_rs([0.0, np.inf]), "kappa"),
        (lambda: pc.capacity_rs(None), "kappa"),
        (lambda: pc.entropy_rs(0.5, 0.3, qhat=0.2), "qhat is used only"),
        (lambda: pc.entropy_rs(0.5, 0.3, weights="ising"), "qhat must be given"),
        (lambda: pc.entropy_rs(0.5, 0.3, kappa=np.nan), "kappa"),
        (lambda: pc.solve_rs(0.5, tol=1.0), "tol"),
        (lambda: pc.solve_rs(0.5, max_iter=0), "max_iter"),
        (lambda: pc.ising_entropy_zero(tol=0.0), "tol"),
        (lambda: pc.count_solutions(np.ones((3, 5)), progress="no"), "progress"),
        (lambda: pc.count_solutions(np.ones((3, 41))), "patterns"),
        (lambda: pc.count_solutions(np.ones(5)), "patterns"),
        (lambda: pc.entropy_from_counts([[4, -1]], 2), "counts"),
        (lambda: pc.entropy_from_counts(np.zeros((0, 3)), 2), "counts"),
        (lambda: pc.is_separable_lp(np.zeros((3, 0))), "patterns"),
        (lambda: pc.max_stability([[1.0, np.nan]]), "patterns"),
        (lambda: pc.capacity_samples(5, progress=1), "progress"),
        (lambda: pc.capacity_samples(5, alpha_max=1e12), "alpha_max"),
        (lambda: pc.cover_probability([], 3), "p"),
        (lambda: pc.cover_probability([1.5], 3), "p"),
        (lambda: pc.cover_probability([[1, 2]], 3), "p"),
        (lambda: pc.cover_probability(-1, 3), "p"),
    ],
)
def test_arguments_are_validated(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_huge_margin_reaches_no_kernel_overflow():
    # κ√N beyond int64 used to overflow the numba kernel; a threshold above N excludes all
    pats = pc.random_patterns(5, 3, 2, seed=0)
    assert np.array_equal(pc.count_solutions(pats, 1e300), [[32, 0, 0, 0]] * 2)
    assert np.array_equal(pc.count_solutions_numpy(pats[0], 1e300), [32, 0, 0, 0])


def _flat_curves(sizes):
    alpha = np.linspace(0.0, 0.6, 13)
    return {
        n: {"alpha": alpha, "entropy": np.log(2) - alpha, "entropy_err": 0.01 + 0 * alpha}
        for n in sizes
    }


def test_enumeration_vs_rs_refuses_loads_without_sample_error():
    # gardner at κ = 1 (issue 19): at α ≤ 1/N the smallest size holds at most one pattern,
    # every sample has the same count, and the weighted 1/N fit was singular (LinAlgError)
    curves = _flat_curves((13, 17, 21))
    with pytest.raises(ValueError, match=r"alphas must lie in \(1/min\(N\)"):
        pc.enumeration_vs_rs(curves, [0.068, 0.1], 1.0)
    with pytest.raises(ValueError, match="alphas must lie in"):
        pc.enumeration_vs_rs(curves, [0.7], 0.0)  # beyond the enumerated loads
    out = pc.enumeration_vs_rs(curves, [0.1, 0.2], 1.0)
    assert np.all(np.isfinite(out["deviation"])) and np.all(out["deviation_err"] > 0)


def test_enumeration_vs_rs_names_a_size_without_entropy():
    curves = _flat_curves((13, 17, 21))
    curves[17] = dict(curves[17], entropy=np.where(curves[17]["alpha"] > 0.3, np.nan, 0.1))
    with pytest.raises(ValueError, match="N = 17 has none"):
        pc.enumeration_vs_rs(curves, [0.2, 0.5], 0.0)
    with pytest.raises(ValueError, match="curves"):
        pc.enumeration_vs_rs({13: curves[13]}, [0.2], 0.0)


def test_enumeration_vs_rs_on_real_counts_at_unit_margin():
    # the regression of gardner at κ = 1: tiny sizes, loads above 1/min(N)
    curves = {}
    for n in (7, 9, 11):
        counts = pc.count_solutions(pc.random_patterns(n, n, 40, seed=n), 1.0)
        curves[n] = pc.entropy_from_counts(counts, n)
    out = pc.enumeration_vs_rs(curves, [0.16, 0.2], 1.0)
    assert np.all(np.isfinite(out["enumeration"]))


def test_ising_entropy_zero_steps_back_from_beyond_the_rs_solution():
    # at κ = 1.9 the step to α = 0.14 passed the RS q → 1 point before the entropy turned
    # negative, and solve_rs raised; the step is now halved there
    res = pc.ising_entropy_zero(1.9)
    assert res.converged
    assert abs(pc.solve_rs(res.value, 1.9, "ising").value.entropy) < 1e-8
    assert pc.ising_entropy_zero(2.0).value < res.value < pc.ising_entropy_zero(1.5).value
