import numpy as np
import pytest
from scipy import integrate
from scipy.special import log_ndtr

from deepspin import deep_perceptron as dp
from deepspin.gauss import G_over_H

CASES = [(0.2, 0.0), (0.5, 0.4), (2.0, 0.7), (9.0, 0.95), (0.01, 0.99), (30.0, 0.5)]


def _double_integrals(qhat, C):
    """q, P, Ψ of eqs. (node-overlap), (node-force), (node-term) by adaptive 2-D quadrature."""
    a, x = np.sqrt(qhat), np.sqrt(C / (1.0 - C))

    def field(z):
        w = x * z
        return w, 0.5 * (log_ndtr(w) - log_ndtr(-w))

    def spin(y, z):
        return np.tanh(a * y + field(z)[1])

    def slope(y, z):
        w, h = field(z)
        minus, plus = G_over_H(-w), G_over_H(w)
        return 0.5 * (minus - plus) + 0.5 * (minus + plus) * np.tanh(a * y + h)

    def log_z(y, z):
        w = x * z
        return np.logaddexp(a * y + log_ndtr(w), -a * y + log_ndtr(-w))

    def average(f):
        def integrand(y, z):
            return np.exp(-0.5 * (y * y + z * z)) / (2 * np.pi) * f(y, z)

        return integrate.dblquad(integrand, -12, 12, -12, 12, epsabs=1e-12, epsrel=1e-11)[0]

    return (
        average(lambda y, z: spin(y, z) ** 2),
        average(lambda y, z: slope(y, z) ** 2) / (1.0 - C),
        average(log_z),
    )


@pytest.mark.parametrize(("qhat", "C"), CASES[:3])
def test_node_functions_match_adaptive_quadrature(qhat, C):
    expected = _double_integrals(qhat, C)
    got = (dp.node_overlap(qhat, C), dp.node_force(qhat, C), dp.node_term(qhat, C))
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-11)


def test_node_functions_are_derivatives_of_the_node_term():
    qhat, C = (np.array(v) for v in zip(*CASES[1:], strict=True))
    eps = 1e-6
    dpsi_dC = (dp.node_term(qhat, C + eps) - dp.node_term(qhat, C - eps)) / (2 * eps)
    dpsi_dq = (dp.node_term(qhat + eps, C) - dp.node_term(qhat - eps, C)) / (2 * eps)
    np.testing.assert_allclose(dp.node_force(qhat, C), -2 * dpsi_dC, rtol=1e-6)
    np.testing.assert_allclose(dp.node_overlap(qhat, C), 1 - 2 * dpsi_dq, atol=1e-8)


def test_node_limits():
    C = np.linspace(0.05, 0.95, 7)
    # no drive from above: the forward law of sign units
    np.testing.assert_allclose(dp.node_overlap(0.0, C), 2 / np.pi * np.arcsin(C), atol=1e-14)
    assert np.all(dp.node_force(0.0, C) < 1e-30)
    # no constraint from below: P = (2/π) q
    qhat = np.array([0.1, 1.0, 10.0])
    np.testing.assert_allclose(
        dp.node_force(qhat, 0.0), 2 / np.pi * dp.node_overlap(qhat, 0.0), rtol=1e-12
    )
    # a clamped node (q̂ → ∞) feels Gardner's force, with corrections O(1/√q̂)
    gaps = [abs(dp.node_force(qh, 0.6) - dp.force(0.6)) for qh in (1e8, 1e10)]
    assert gaps[1] < 1e-4 and gaps[0] / gaps[1] == pytest.approx(10.0, rel=1e-3)


@pytest.mark.parametrize("alpha", [0.5, 1.9])
def test_one_layer_is_the_same_in_both_closures(alpha):
    node = dp.solve_rs(alpha, 1, closure="exact-node").value
    symmetric = dp.solve_rs(alpha, 1).value
    assert node.Q[0] == symmetric.Q[0] and node.entropy == symmetric.entropy


def test_two_layers_freeze_at_the_golden_ratio():
    # eq. (rs-node-onset) with q_0 = q_2 = 1: u(1 + u) = 1, u = α(2/π)²
    onset = (np.sqrt(5) - 1) / 2 * np.pi**2 / 4
    below = dp.solve_rs(onset * 0.999, 2, closure="exact-node").value
    above = dp.solve_rs(onset * 1.001, 2, closure="exact-node").value
    assert below.q[1] == 0 and 0 < above.q[1] < 1e-2
    assert dp.onsets(2, closure="exact-node")[0] == pytest.approx(onset, rel=1e-9)


def test_freezing_starts_from_the_output_only():
    alphas = dp.onsets(6, closure="exact-node", n_layers=3)
    assert alphas[0] == pytest.approx(np.pi**2 / 4, rel=1e-9)
    # until the second layer freezes both closures solve the same equations
    assert alphas[1] == pytest.approx(dp.onsets(6, n_layers=2)[1], rel=1e-9)
    profile = dp.solve_rs(alphas[2] * 1.01, 6, closure="exact-node").value
    np.testing.assert_array_equal(profile.frozen, [True, False, False, True, True, True, True])


def test_input_side_freezes_discontinuously():
    spinodal = dp.onsets(6, closure="exact-node")[-1]
    below = dp.solve_rs(spinodal * 0.999, 6, closure="exact-node").value
    result = dp.solve_rs(spinodal * 1.003, 6, closure="exact-node")
    assert below.q[1] == 0 and result.converged
    assert result.value.q[1] > 0.3  # a jump, not a continuous onset


@pytest.mark.parametrize("alpha", [100.0, 1000.0])
def test_node_free_entropy_is_stationary(alpha):
    profile = dp.solve_rs(alpha, 6, closure="exact-node").value
    grads = dp.free_entropy_gradient(profile)
    checked = np.concatenate([g[np.isfinite(g)] for g in grads.values()])
    assert checked.size >= 3 * profile.frozen[1:-1].sum()
    assert np.all(np.abs(checked) < 1e-7), grads


def test_closure_validation():
    with pytest.raises(ValueError, match="closure"):
        dp.solve_rs(1.0, 3, closure="gaussian")
    with pytest.raises(ValueError, match="exact-node"):
        dp.solve_rs(1.0, 3, "teacher", closure="exact-node")


def test_node_replicon_limits():
    qhat = np.array([0.0, 0.5, 3.0, 50.0])
    # no field from below (C = 0): the Ising spin's χ = ∫ sech⁴
    np.testing.assert_allclose(
        dp.node_replicon(qhat, 0.0)[:, 0], dp.spin_replicon(qhat), rtol=1e-10
    )
    # a free spin (q̂ = C = 0): Z is constant in v, ∂_u∂_v ln Z = h'(0) = √(2/π)
    np.testing.assert_allclose(dp.node_replicon(0.0, 0.0), [1.0, 2 / np.pi, 0.0], atol=1e-12)
    # a clamped spin (q̂ → ∞): the node's constraint is Gardner's
    C = np.array([0.3, 0.9])
    np.testing.assert_allclose(
        dp.node_replicon(1e12, C)[:, 2], dp.constraint_replicon(C), rtol=1e-3
    )


def test_follow_branch_stays_on_the_fully_frozen_branch():
    """Below the input side's spinodal a cold solve finds the partially liquid branch;
    following the fully frozen one from above keeps it, until it ends."""
    start = dp.solve_rs(300.0, 6, closure="exact-node").value  # above the spinodal, 292.9
    alphas = np.array([285.0, 270.0, 255.0, 240.0, 225.0])
    branch = dp.follow_branch(start, alphas)
    assert len(branch) == 4  # it exists 18 % below the spinodal, and ends before 225
    assert all(p.frozen.all() and p.q[1] > 0.25 for p in branch)
    cold = dp.solve_rs(branch[-1].alpha, 6, closure="exact-node").value
    assert cold.q[1] == 0 and not cold.frozen.all()
