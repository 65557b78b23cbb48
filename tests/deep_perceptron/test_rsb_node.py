"""The exact-node closure at one step of RSB (eq. node-one-step)."""

import numpy as np
import pytest
from brute_force import node_top, one_step

from deepspin.deep_perceptron import (
    node_fields,
    node_free_entropy,
    node_one_step,
    node_rsb_free_entropy,
    node_term,
    solve_node_rsb,
    solve_rs,
)

GRID = dict(n_grid=257, n_side=16)


@pytest.mark.parametrize(("qhat", "C"), [(0.6, 0.4), (3.5, 0.6), (0.1, 0.9)])
def test_equal_levels_give_the_rs_node_term(qhat, C):
    """q̂_0 = q̂_1, C_0 = C_1: the one-step node term is Ψ (eq. node-term), computed by an
    unrelated rule (exact_node's half-line panels in z and y or s)."""
    value = node_one_step([qhat, qhat], [C, C], 0.3, **GRID)
    assert value == pytest.approx(node_term(qhat, C), abs=1e-7)


@pytest.mark.parametrize(
    "levels", [[(0.5, 0.7), (0.3, 0.5)], [(0.2, 1.0), (0.4, 0.6)], [(1.0, 3.0), (0.5, 0.8)]]
)
def test_node_term_matches_a_tensor_gauss_hermite_rule(levels):
    """Split levels: the four-field brute force (28⁴ Gauss–Hermite nodes)."""
    m = 0.35
    value = node_one_step(levels[0], levels[1], m, **GRID)
    assert value == pytest.approx(one_step(node_top, levels, m), abs=1e-6)


def _rs_levels(profile):
    q, qhat = profile.q[1:-1], profile.qhat[1:-1]
    return np.stack([q, q, qhat, qhat], 1), np.stack([profile.Q, profile.Q], 1)


@pytest.mark.parametrize(("alpha", "L"), [(3.0, 2), (40.0, 4)])
def test_equal_levels_give_the_rs_free_entropy(alpha, L):
    """Every pair of levels equal: eq. (rs-node) for any m, and stationary in m."""
    rs = solve_rs(alpha, L, closure="exact-node").value
    spins, bonds = _rs_levels(rs)
    for m in (0.2, 0.7):
        value, _, _, grad_m = node_rsb_free_entropy(alpha, spins, bonds, m, **GRID)
        assert value == pytest.approx(node_free_entropy(alpha, rs.q, rs.Q, rs.qhat), abs=1e-7)
        assert abs(grad_m) < 1e-8


def test_gradient_matches_finite_differences():
    """The autograd gradient (heat equation in the spin level's own variance) against
    central differences of the value, in every kind of variable, at a split point. A fine
    grid: on a coarse one the value's grid follows the fields (it is not smooth on the
    scale of the differences), while the gradient holds it fixed."""
    rs = solve_rs(40.0, 4, closure="exact-node").value
    spins, bonds = _rs_levels(rs)
    spins[:, 0] *= 0.9
    spins[:, 1] += 0.1 * (1 - spins[:, 1])
    spins[:, 2] *= 0.9
    spins[:, 3] *= 1.1
    bonds[:, 0] *= 0.9
    bonds[:, 1] += 0.1 * (1 - bonds[:, 1])
    m, eps, fine = 0.4, 1e-5, dict(n_grid=1025, n_side=24)
    _, g_spins, g_bonds, g_m = node_rsb_free_entropy(40.0, spins, bonds, m, **fine)

    def difference(s_up, s_down, b_up, b_down, m_up, m_down):
        up = node_rsb_free_entropy(40.0, s_up, b_up, m_up, **fine)[0]
        return (up - node_rsb_free_entropy(40.0, s_down, b_down, m_down, **fine)[0]) / (2 * eps)

    for i, j in [(0, 2), (1, 3), (2, 1)]:
        up, down = spins.copy(), spins.copy()
        up[i, j] += eps
        down[i, j] -= eps
        assert g_spins[i, j] == pytest.approx(difference(up, down, bonds, bonds, m, m), abs=1e-7)
    up, down = bonds.copy(), bonds.copy()
    up[2, 0] += eps
    down[2, 0] -= eps
    assert g_bonds[2, 0] == pytest.approx(difference(spins, spins, up, down, m, m), abs=1e-7)
    fd_m = difference(spins, spins, bonds, bonds, m + eps, m - eps)
    assert g_m == pytest.approx(fd_m, abs=1e-7)


def test_one_step_lowers_the_free_entropy_where_rs_is_unstable():
    """L = 2 at α = 3, beyond the replicon's zero (α ≈ 1.525): a one-step solution with
    distinct levels and a lower free entropy than RS (Φ̃ is minimised), stationary in every
    level and in m (zero complexity)."""
    rs = solve_rs(3.0, 2, closure="exact-node").value
    result = solve_node_rsb(rs, tol=1e-8, n_grid=129, n_side=12)
    assert result.converged
    p = result.value
    assert p.entropy < rs.entropy - 1e-6
    assert result.info["gap"] > 1e-2
    assert abs(result.info["complexity"]) < 1e-6
    assert not result.info["jammed"]
    _, g_spins, g_bonds, g_m = node_rsb_free_entropy(3.0, p.spins, p.bonds, p.m, n_grid=129,
                                                     n_side=12)  # fmt: skip
    assert np.max(np.abs(np.concatenate([g_spins.ravel(), g_bonds.ravel(), [g_m]]))) < 1e-5


@pytest.mark.parametrize(("fraction", "held"), [(0.5, False), (0.1, True)])
def test_node_fields_maximise_phi_in_q_hat(fraction, held):
    """L = 2, α = 3, q_0 = fraction × q_RS: the fields returned are a maximum of Φ over
    q̂ ≥ 0. At q_0 = 0.5 q it is interior (stationary, and Φ falls when q̂ moves); at
    q_0 = 0.1 q, below what layer 1's input alone induces, the maximum is on q̂_0 = 0
    (measured: ∂Φ/∂q̂_0 = −0.014 there) and the coordinate is held at its floor."""
    rs = solve_rs(3.0, 2, closure="exact-node").value
    q, qhat = rs.q[1], rs.qhat[1]
    spins = np.array([[fraction * q, q + 0.1 * (1 - q), 0.9 * qhat, 1.1 * qhat]])
    bonds = np.stack([0.9 * rs.Q, rs.Q + 0.1 * (1 - rs.Q)], 1)
    grid = dict(n_grid=129, n_side=12)
    result = node_fields(3.0, spins, bonds, 0.4, **grid)
    assert result.converged
    fields = result.value
    assert result.info["held"][0].tolist() == [held, False]
    _, g_spins, _, _ = node_rsb_free_entropy(3.0, fields, bonds, 0.4, **grid)
    g_field = np.array([g_spins[0, 2] + g_spins[0, 3], g_spins[0, 3]])
    if held:
        assert fields[0, 2] <= 2e-9
        assert g_field[0] < -1e-3
        assert abs(g_field[1]) < 1e-8
    else:
        assert np.max(np.abs(g_field)) < 1e-8
    for shift in ([0.0, 0.01], [0.0, -0.01], [0.01, 0.01]):
        moved = fields.copy()
        moved[0, 2:] += shift
        value = node_rsb_free_entropy(3.0, moved, bonds, 0.4, **grid)[0]
        assert value < result.info["entropy"]


def test_liquid_layers_stay_liquid():
    rs = solve_rs(30.0, 6, closure="exact-node").value
    assert np.any(rs.q[1:-1] == 0)
    result = solve_node_rsb(rs, m=0.4, max_iter=2, n_grid=33, n_side=6, warn=False)
    liquid = rs.q[1:-1] == 0
    assert np.all(result.value.spins[liquid] == 0)


def test_bad_input():
    rs = solve_rs(3.0, 2, closure="exact-node").value
    with pytest.raises(ValueError, match="initial"):
        solve_node_rsb(solve_rs(3.0, 2).value)
    with pytest.raises(ValueError, match="initial"):
        solve_node_rsb(solve_rs(1.0, 2, closure="exact-node").value)
    with pytest.raises(ValueError, match="qhat"):
        node_one_step([0.5, 0.4], [0.2, 0.3], 0.5)
    with pytest.raises(ValueError, match="spins"):
        node_rsb_free_entropy(3.0, np.array([[0.5, 0.4, 0.1, 0.2]]), np.full((2, 2), 0.3), 0.5)
    with pytest.raises(ValueError, match="m"):
        solve_node_rsb(rs, m=1.0)
