import warnings

import numpy as np
import pytest

from deepspin import hamiltonians as hm

TWO = hm.pure_pspin(2, 0.5)
THREE = hm.pure_pspin(3, 0.5)
MIXED = hm.mixture({2: 0.5, 4: 0.5})


def test_two_spin_closed_forms():
    # paramagnet above T_c = 1: Φ = β²ξ(1)/2; below, q* = 1 − T
    assert hm.parisi(TWO, 1 / 1.5, "full").value == pytest.approx(0.5 * 0.5 / 1.5**2, abs=1e-14)
    for T in (0.3, 0.5, 0.8):
        for ansatz in ("RS", "1RSB", "full"):
            res = hm.parisi(TWO, 1 / T, ansatz)
            assert res.info["q_max"] == pytest.approx(1 - T, abs=1e-7)
            assert res.info["replicon"] == pytest.approx(1.0, abs=1e-6)  # marginal
    assert hm.ground_state_energy(TWO, "full").value == pytest.approx(-1.0, abs=1e-9)
    assert hm.ground_state_energy(hm.pure_pspin(2, 1.0)).value == pytest.approx(-np.sqrt(2))


def test_three_spin_transitions_match_the_literature():
    # Crisanti–Horner–Sommers T_d = √(3/8); Crisanti–Sommers T_s ≈ 0.586 (ξ = q³/2)
    assert hm.dynamic_temperature(THREE).value == pytest.approx(np.sqrt(3 / 8), rel=1e-9)
    ts = hm.static_temperature(THREE)
    assert ts.value == pytest.approx(0.586, abs=5e-4)
    # independent check: the 1RSB solver breaks replica symmetry just below T_s only
    above = hm.parisi(THREE, 1 / (ts.value + 2e-3), "1RSB")
    below = hm.parisi(THREE, 1 / (ts.value - 2e-3), "1RSB")
    rs_below = hm.parisi(THREE, 1 / (ts.value - 2e-3), "RS")
    assert above.info["q_max"] == 0.0
    assert below.value < rs_below.value - 1e-9
    assert below.info["q_max"] == pytest.approx(ts.info["q"], abs=0.02)


def test_three_spin_ground_state():
    # Auffinger–Ben Arous–Černý: E₀ ≈ −1.657 for ξ = q³; the 1RSB and full solvers agree
    three = hm.pure_pspin(3, 1.0)
    one = hm.ground_state_energy(three, "1RSB")
    full = hm.ground_state_energy(three, "full")
    assert one.value == pytest.approx(-1.657, abs=1e-3)
    assert full.value == pytest.approx(one.value, abs=1e-8)
    assert full.converged
    # α(q) is a single plateau (1RSB) and E₀ scales as √c
    assert np.ptp(full.info["alpha"]) < 1e-6
    assert hm.ground_state_energy(THREE, "1RSB").value == pytest.approx(one.value / np.sqrt(2))


def test_rsb_lowers_phi_and_raises_ground_energy():
    for beta in (1.5, 2.5):
        values = [hm.parisi(MIXED, beta, a).value for a in ("RS", "1RSB")]
        values.append(hm.parisi(MIXED, beta, "k-RSB", k=3, n_grid=200).value)
        assert values[1] <= values[0] + 1e-14
        assert values[2] <= values[1] + 1e-14
    e_rs = hm.ground_state_energy(MIXED, "RS").value
    assert hm.ground_state_energy(MIXED, "full").value >= e_rs


def test_k_rsb_converges_and_matches_the_continuous_x():
    # 2+4 model at T = 0.8: full RSB on the interval where ξ''^{-1/2} is concave
    beta = 1 / 0.8
    phis, result = [], None
    for k in (2, 4, 8):
        result = hm.parisi(MIXED, beta, "k-RSB", k=k, n_grid=200)
        phis.append(result.value)
    gaps = -np.diff(phis)
    assert np.all(gaps > 0) and gaps[1] < 0.5 * gaps[0]
    q, m = result.info["q"], result.info["m"]
    mid = 0.5 * (q[1:] + q[:-1])
    closed = MIXED.d3xi(mid) / (2 * beta * MIXED.d2xi(mid) ** 1.5)  # eq. frsb-x
    (lo, hi), *_ = hm.concave_intervals(MIXED)
    inside = (np.diff(q) > 1e-4) & (mid > lo) & (mid < hi)
    assert inside.sum() >= 4
    np.testing.assert_allclose(m[inside], closed[inside], atol=0.01)
    # the grid solver reaches the same free entropy; its profile stalls above the
    # gradient tolerance (the functional is flat along the marginal full-RSB interval)
    with pytest.warns(RuntimeWarning, match="parisi"):
        full = hm.parisi(MIXED, beta, "full")
    assert full.value == pytest.approx(phis[-1], abs=2e-6)


def test_zero_temperature_alpha_matches_closed_form():
    # ξ = q²/2 + 0.1 q⁴/2 (reference note §5): α(q) = ξ'''/(2 ξ''^{3/2}) where it rises
    xi = hm.mixture({2: 0.5, 4: 0.05})
    res = hm.ground_state_energy(xi, "full")
    assert res.converged
    grid = res.info["grid"]
    mid = 0.5 * (grid[1:] + grid[:-1])
    alpha = res.info["alpha"]
    closed = xi.d3xi(mid) / (2 * xi.d2xi(mid) ** 1.5)
    inside = (mid > 0.1) & (mid < 0.9)
    np.testing.assert_allclose(alpha[inside], closed[inside], atol=5e-3)
    assert res.value > hm.ground_state_energy(xi, "RS").value
    assert hm.rs_zero_temperature_test(xi)[0] < 0


def test_linear_network_is_exact():
    cov = hm.covariance("linear", 2, weight_var=1.3)
    h2 = 1.3**3
    for energy in (-0.3, -0.8):
        e = energy * np.sqrt(h2)
        res = hm.entropy_at_energy(cov, e, ansatz="full")
        assert res.value == pytest.approx(0.5 * np.log1p(-(e**2) / h2), abs=1e-8)
        assert res.info["q_max"] == pytest.approx(e**2 / h2, abs=1e-7)
    assert hm.ground_state_energy(cov).value == pytest.approx(-np.sqrt(h2), rel=1e-12)
    assert hm.classify(cov, 2.0)["verdict"] == "RS"


def test_network_kernels_reference_values():
    # reference note §7 [C]: tanh (L = 1, C_W = 1) and ReLU (L = 1, C_W = 2) RS overlaps
    tanh = hm.covariance("tanh", 1)
    relu = hm.covariance("relu", 1, weight_var=2.0)
    for T, q_tanh, q_relu in ((1, 0.223, 0.424), (0.5, 0.454, 0.663), (0.1, 0.859, 0.927)):
        assert hm.parisi(tanh, 1 / T, "RS").info["q_max"] == pytest.approx(q_tanh, abs=1e-3)
        assert hm.parisi(relu, 1 / T, "RS").info["q_max"] == pytest.approx(q_relu, abs=1e-3)
    assert hm.classify(tanh)["verdict"] == "RS"
    # shallow sin at C_W = 4: a 1RSB step, E₀ ≈ −2.528 (note: −2.529)
    sin = hm.covariance("sin", 1, weight_var=4.0)
    assert hm.concave_intervals(sin) == []
    verdict = hm.classify(sin)
    assert verdict["verdict"] == "1RSB"
    assert verdict["E0"] == pytest.approx(-2.5282, abs=1e-3)


def test_relu_ground_state_is_a_variational_bound():
    # any α gives E ≤ E₀; the solver's value lies above the RS one and the note's −1.4109
    relu = hm.covariance("relu", 1, weight_var=2.0)
    coarse = hm.ground_state_energy(relu, n_cells=100).value
    fine = hm.ground_state_energy(relu, n_cells=200).value
    assert -np.sqrt(2) < coarse <= fine + 1e-12
    assert fine > -1.4019


def test_tabulated_kernel_is_accurate():
    q = np.linspace(0, 1, 301)
    for cov in (hm.covariance("tanh", 2, weight_var=2.0), hm.covariance("relu", 3, weight_var=2.0)):
        table = cov.table
        np.testing.assert_allclose(table.xi(q), cov.xi(q), atol=1e-11)
        np.testing.assert_allclose(table.dxi(q), cov.dxi(q), atol=1e-11)
        np.testing.assert_allclose(table.d2xi(q[:-1]), cov.d2xi(q[:-1]), rtol=1e-3, atol=1e-3)


def test_bad_input():
    with pytest.raises(ValueError, match="beta"):
        hm.parisi(TWO, 0.0)
    with pytest.raises(ValueError, match="ansatz"):
        hm.parisi(TWO, 1.0, ansatz="2RSB")
    with pytest.raises(ValueError, match="xi"):
        hm.parisi(object(), 1.0)
    with pytest.raises(ValueError, match="energy"):
        hm.entropy_at_energy(TWO, 0.5)
    with pytest.raises(ValueError, match="energy"):
        hm.entropy_at_energy(TWO, -1.2, ansatz="RS")
    with pytest.raises(ValueError, match="random field"):
        hm.dynamic_temperature(hm.covariance("tanh", 1))
    with pytest.raises(ValueError, match="n_cells"):
        hm.ground_state_energy(TWO, n_cells=0)


def test_solvers_warn_when_they_stop_early():
    with pytest.warns(RuntimeWarning, match="parisi"):
        hm.parisi(MIXED, 1.25, "full", maxiter=2)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        res = hm.parisi(TWO, 2.0, "full")
    assert res.converged and res.residual <= res.tol


def _assert_stopped_early(res, max_iter):
    assert res.converged is False
    assert res.residual > res.tol
    assert res.iterations <= max_iter


@pytest.mark.parametrize(
    ("call", "max_iter"),
    [
        (lambda: hm.parisi(THREE, 2.0, "1RSB", maxiter=1), 1),
        (lambda: hm.parisi(MIXED, 1.25, "full", n_grid=50, maxiter=3), 3),
        (lambda: hm.parisi(MIXED, 1.25, "k-RSB", k=2, n_grid=50, maxiter=3), 3),
        (lambda: hm.ground_state_energy(THREE, "1RSB", maxiter=1), 1),
        (lambda: hm.ground_state_energy(MIXED, "full", n_cells=20, maxiter=2), 2),
        (lambda: hm.ground_state_energy(MIXED, "full", n_cells=20, tol=1e-300), 2500),
        (lambda: hm.dynamic_temperature(THREE, maxiter=1), 1),
        (lambda: hm.static_temperature(THREE, maxiter=1), 1),
        (lambda: hm.entropy_at_energy(TWO, -0.6, ansatz="RS", xtol=2.0), 100),
        (lambda: hm.thermodynamics(THREE, [1.5, 2.0], ansatz="1RSB", maxiter=1), 2),
    ],
)
def test_every_solver_reports_non_convergence(call, max_iter):
    # issue 19: converged is computed from the residual it reports, against the tol it
    # reports; a stop before that is a RuntimeWarning; maxiter is a total budget
    with pytest.warns(RuntimeWarning, match="without converging"):
        res = call()
    _assert_stopped_early(res, max_iter)


def test_converged_solvers_agree_with_their_residual():
    for res in (
        hm.parisi(THREE, 2.0, "RS"),
        hm.parisi(THREE, 2.0, "1RSB"),
        hm.ground_state_energy(THREE, "1RSB"),
        hm.ground_state_energy(THREE, "RS"),
        hm.dynamic_temperature(THREE),
        hm.static_temperature(THREE),
        hm.entropy_at_energy(TWO, -0.6, ansatz="RS"),
    ):
        assert res.converged and res.residual <= res.tol
    sweep = hm.thermodynamics(THREE, [0.5, 2.0], ansatz="1RSB")
    assert sweep.converged and sweep.tol == 1.0 and np.all(sweep.value["converged"])
    assert sweep.iterations == sum(r.iterations for r in sweep.value["results"])


def test_warm_started_sweep_stays_physical():
    # a warm start from a colder solution used to reach q = 1 in floating point and return NaN
    xi = hm.covariance("relu", 1, weight_var=2.0).table
    E0 = hm.ground_state_energy(xi, "full").value
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        sweep = hm.thermodynamics(xi, np.geomspace(5.0, 40.0, 6), ansatz="full", n_grid=100).value
    assert np.all(np.isfinite(sweep["entropy"]))
    assert np.all(sweep["energy"] > E0) and np.all(np.diff(sweep["energy"]) < 0)


@pytest.mark.parametrize(("activation", "weight_var"), [("tanh", 1.0), ("relu", 2.0)])
def test_tabulated_kernel_at_negative_overlaps(activation, weight_var):
    # sampled overlaps can be negative; the table covers [0, 1] and must defer to the recursion
    cov = hm.covariance(activation, 2, weight_var=weight_var, bias_var=0.1)
    q = np.array([-0.9, -0.3, 0.0, 0.4])
    for name in ("xi", "dxi", "d2xi"):
        np.testing.assert_allclose(getattr(cov.table, name)(q), getattr(cov, name)(q), atol=1e-10)
    assert cov.table.xi(-0.3) != 0.0


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda xi: hm.replicon(xi, 2.0, 1.0), "q"),
        (lambda xi: hm.replicon(xi, np.nan, 0.5), "beta"),
        (lambda xi: hm.replicon(xi, -1.0, 0.5), "beta"),
        (lambda xi: hm.concave_intervals(xi, n=0), "n"),
        (lambda xi: hm.concave_intervals(xi, q_max=1.5), "q_max"),
        (lambda xi: hm.ground_state_energy(xi, maxiter=-1), "maxiter"),
        (lambda xi: hm.ground_state_energy(xi, tol=np.nan), "tol"),
        (lambda xi: hm.parisi(xi, 2.0, "full", n_grid=10, initial=np.zeros(5)), "initial"),
        (
            lambda xi: hm.parisi(xi, 2.0, "full", n_grid=4, initial=[0, 0.1, np.nan, 1, 1]),
            "initial",
        ),
        (lambda xi: hm.thermodynamics(xi, [], ansatz="RS"), "betas"),
        (lambda xi: hm.thermodynamics(xi, [1.0, -1.0], ansatz="RS"), "betas"),
        (lambda xi: hm.thermodynamics(xi, [1.0], ansatz="3RSB"), "ansatz"),
        (lambda xi: hm.entropy_at_energy(xi, -0.5, xtol=0.0), "xtol"),
        (lambda xi: hm.entropy_at_energy(xi, -0.5, beta_max=np.inf), "beta_max"),
        (lambda xi: hm.entropy_at_energy(xi, -1e-9, ansatz="RS"), "energy"),
        (lambda xi: hm.classify(xi, beta=-1.0), "beta"),
        (lambda xi: hm.classify(xi, beta=2.0, tol=np.nan), "tol"),
        (lambda xi: hm.rs_zero_temperature_test(xi, n=1), "n"),
        (lambda xi: hm.dynamic_temperature(xi, maxiter=0), "maxiter"),
        (lambda xi: hm.static_temperature(xi, tol=-1.0), "tol"),
        (lambda xi: hm.ground_state_energy(hm.mixture({3: 0.0})), "xi"),
    ],
)
def test_bad_arguments_are_refused(call, match):
    # issue 19: these returned NaN, [] ("no interval") or ran with a nonsense budget
    with pytest.raises(ValueError, match=match):
        call(hm.pure_pspin(3, 1.0))
