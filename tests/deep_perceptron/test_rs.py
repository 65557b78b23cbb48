import numpy as np
import pytest
from scipy import integrate, optimize

from deepspin import deep_perceptron as dp
from deepspin import perceptron as pc
from deepspin.gauss import H


@pytest.mark.parametrize("alpha", [0.3, 1.0, 1.9])
def test_one_layer_is_gardner(alpha):
    profile = dp.solve_rs(alpha, 1).value
    gardner = pc.solve_rs(alpha).value
    assert profile.Q[0] == pytest.approx(gardner.q, abs=1e-12)
    assert alpha * profile.entropy == pytest.approx(gardner.entropy, abs=1e-12)


@pytest.mark.parametrize("alpha", [0.5, 2.0, 10.0])
def test_one_layer_teacher_is_gibbs_learning(alpha):
    # Engel & Van den Broeck (2001), eq. (2.42): R/√(1−R) = (α/π) ∫Dt e^{−Rt²/2}/H(−√R t)
    def equation(R):
        integral = integrate.quad(
            lambda t: np.exp(-0.5 * t * t * (1 + R)) / np.sqrt(2 * np.pi) / H(-np.sqrt(R) * t),
            -30,
            30,
        )[0]
        return R / np.sqrt(1 - R) - alpha / np.pi * integral

    expected = optimize.brentq(equation, 1e-9, 1 - 1e-12)
    assert dp.solve_rs(alpha, 1, "teacher").value.Q[0] == pytest.approx(expected, abs=1e-9)


@pytest.mark.parametrize("scenario", ["random", "teacher"])
def test_free_entropy_is_stationary(scenario):
    profile = dp.solve_rs(60.0, 6, scenario).value
    assert profile.frozen[1:-1].sum() >= 2
    grads = dp.free_entropy_gradient(profile)
    checked = np.concatenate([g[np.isfinite(g)] for g in grads.values()])
    assert checked.size >= 3 * profile.frozen[1:-1].sum()
    assert np.all(np.abs(checked) < 1e-7), grads


def test_onset_of_first_layer_is_pi_squared_over_four():
    below = dp.solve_rs(np.pi**2 / 4 * 0.999, 6).value
    above = dp.solve_rs(np.pi**2 / 4 * 1.001, 6).value
    assert not below.frozen[1:-1].any()
    assert above.frozen[1] and above.frozen[5] and 0 < above.q[1] < 0.01


def test_profiles_are_symmetric_and_match_reconstruction():
    profile = dp.solve_rs(1e4, 10).value
    np.testing.assert_allclose(profile.q, profile.q[::-1], atol=1e-10)
    np.testing.assert_allclose(profile.Q, profile.Q[::-1], atol=1e-10)
    # reference note §3.2 [C]: q(1) = 0.740, q(5) = 0.160, Q(1) = 0.996, Q(5) = 0.930
    assert profile.q[1] == pytest.approx(0.740, abs=5e-4)
    assert profile.q[5] == pytest.approx(0.160, abs=5e-4)
    assert profile.Q[0] == pytest.approx(0.996, abs=5e-4)
    assert profile.Q[4] == pytest.approx(0.930, abs=5e-4)


def test_onsets_satisfy_the_linear_stability_condition():
    alphas = dp.onsets(10, n_layers=3)
    assert alphas[0] == pytest.approx(np.pi**2 / 4)
    for layer, alpha in enumerate(alphas[1:], start=2):
        q = dp.solve_rs(alpha * 0.999, 10).value.q
        assert q[layer] == 0
        q_above = dp.solve_rs(alpha * 1.001, 10).value.q
        assert q_above[layer] > 0


def test_phase_diagram_converges_and_is_monotone():
    d = dp.phase_diagram(np.geomspace(0.5, 1e4, 40), 8)
    assert d["converged"].all()
    assert np.all(np.diff(d["q"][:, 1]) >= -1e-12)


def test_saddle_map_fixed_point():
    profile = dp.solve_rs(300.0, 8, "teacher").value
    q, Q, _ = dp.saddle_map(300.0, profile.q, profile.Q, "teacher")
    np.testing.assert_allclose(q, profile.q, atol=1e-10)
    np.testing.assert_allclose(Q, profile.Q, atol=1e-10)


def test_forward_law_against_simulation():
    Q = np.array([0.9, 0.7, 0.95, 0.5])
    simulated = dp.simulate_forward_overlaps(Q, n=1500, m=200, seed=3)
    np.testing.assert_allclose(simulated, dp.forward_overlaps(Q), atol=0.02)


def test_generalisation_error():
    assert dp.generalisation_error([1.0, 1.0]) == pytest.approx(0.0, abs=1e-7)
    assert dp.generalisation_error([0.0, 0.9]) == pytest.approx(0.5)
    R = 0.8
    assert dp.generalisation_error([R]) == pytest.approx(np.arccos(R) / np.pi)


@pytest.mark.parametrize(
    "kwargs, name",
    [
        (dict(alpha=0.0, L=3), "alpha"),
        (dict(alpha=-1.0, L=3), "alpha"),
        (dict(alpha=1.0, L=0), "L"),
        (dict(alpha=1.0, L=3, scenario="planted"), "scenario"),
    ],
)
def test_bad_input(kwargs, name):
    with pytest.raises(ValueError, match=name):
        dp.solve_rs(**kwargs)


def test_past_capacity_is_not_converged():
    with pytest.warns(RuntimeWarning, match="solve_rs"):
        result = dp.solve_rs(80.0, 2)
    assert not result.converged


@pytest.mark.parametrize(
    "kwargs",
    [dict(), dict(tol=1e-300), dict(max_iter=1), dict(closure="exact-node", alpha=500.0)],
)
def test_converged_is_read_from_the_reported_residual(kwargs):
    kwargs = {"alpha": 300.0, "L": 8, **kwargs}
    result = dp.solve_rs(kwargs.pop("alpha"), kwargs.pop("L"), warn=False, **kwargs)
    tol = kwargs.get("tol", 1e-11)
    assert isinstance(result.converged, bool)
    assert result.converged == (result.residual <= tol)
    assert result.info["map_residual"] < 1e-8


def test_unconverged_solve_warns():
    with pytest.warns(RuntimeWarning, match="solve_rs"):
        result = dp.solve_rs(300.0, 8, tol=1e-300)
    assert not result.converged and result.residual > 1e-300


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(alpha=300.0, L=8, max_iter=1),
        dict(alpha=300.0, L=8, max_iter=3),
        dict(alpha=300.0, L=8, scenario="teacher", max_iter=2),
        dict(alpha=500.0, L=6, closure="exact-node", max_iter=1),
        dict(alpha=300.0, L=8, tol=1e-300, max_iter=40),
    ],
)
def test_max_iter_is_a_total_budget(kwargs):
    # issue 19: max_iter = 1 used to report 2 iterations (the budget was per frozen set)
    with pytest.warns(RuntimeWarning, match="solve_rs"):
        result = dp.solve_rs(**kwargs)
    tol = kwargs.get("tol", 1e-11)
    assert result.iterations <= kwargs["max_iter"]
    assert result.converged is False and result.residual > tol
    assert result.tol == tol


def test_phase_diagram_passes_the_budget_on():
    with pytest.warns(RuntimeWarning, match="phase_diagram"):
        d = dp.phase_diagram([3.0, 30.0], 4, max_iter=1)
    assert not d["converged"].any() and np.all(d["iterations"] <= 1)
    assert np.all(np.isnan(d["q"]))


@pytest.mark.parametrize(
    "call, name",
    [
        (lambda: dp.solve_rs(3.0, 2, initial="profile"), "initial"),
        (lambda: dp.solve_rs(3.0, 2, initial=dp.solve_rs(3.0, 3).value), "initial"),
        (lambda: dp.solve_rs(3.0, 2, warn="no"), "warn"),
        (lambda: dp.solve_rs(3.0, 2, max_iter=0), "max_iter"),
        (lambda: dp.free_entropy_gradient(None), "profile"),
        (lambda: dp.free_entropy_gradient(dp.solve_rs(1.0, 1).value, eps=0.0), "eps"),
        (lambda: dp.growth_rates(-1.0, [1.0, 0.0, 1.0]), "alpha"),
        (lambda: dp.growth_rates(1.0, [1.0, 2.0, 1.0]), "q"),
        (lambda: dp.node_growth_rates(1.0, [1.0]), "q"),
        (lambda: dp.generalisation_error([]), "Q"),
        (lambda: dp.generalisation_error([1.5]), "Q"),
        (lambda: dp.phase_diagram([1.0], 2, progress="no"), "progress"),
        (lambda: dp.phase_diagram([[1.0, 2.0]], 2), "alphas"),
        (lambda: dp.phase_diagram([1.0], 2, warn=False), "solver options"),
        (lambda: dp.onsets(4, "teacher", closure="exact-node"), "exact-node"),
        (lambda: dp.onsets(4, n_layers=3), "n_layers"),
        (lambda: dp.saddle_map(1.0, [1, 0.5, 1], [0.5, 0.5], "planted"), "scenario"),
        (lambda: dp.free_entropy(1.0, [1, 0.5, 1], [0.5, 0.5], None), "qhat"),
    ],
)
def test_bad_input_names_the_parameter(call, name):
    with pytest.raises(ValueError, match=name):
        call()
