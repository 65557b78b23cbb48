"""Tests of the replicon (AT) analysis of the RS profile."""

import numpy as np
import pytest
from brute_force import gap_top_brute, node_top, one_step
from numpy.testing import assert_allclose

from deepspin.deep_perceptron import (
    constraint_replicon,
    node_replicon,
    replicon_matrix,
    replicon_onsets,
    replicon_spectrum,
    solve_rs,
    spin_replicon,
)
from deepspin.deep_perceptron.rsb import split_rs
from deepspin.deep_perceptron.rsb_functional import Layout, evaluate
from deepspin.hierarchy import spherical_entropy


def test_limits():
    assert_allclose(constraint_replicon(0.0), (2 / np.pi) ** 2, rtol=1e-12)
    assert_allclose(spin_replicon(0.0), 1.0, rtol=1e-12)
    assert np.all(np.diff(spin_replicon(np.array([0.1, 1.0, 10.0]))) < 0)


@pytest.mark.parametrize("alpha", [0.5, 1.0, 1.9])
def test_one_layer_is_gardners_at_condition(alpha):
    p = solve_rs(alpha, 1).value
    R = replicon_matrix(alpha, p.q, p.Q, p.qhat)
    Q = p.Q[0]
    assert_allclose(R[0, 0], 1 - alpha * (1 - Q) ** 2 * constraint_replicon(Q), rtol=1e-10)
    assert R[0, 0] > 0  # RS is exact for the spherical perceptron below α = 2


def test_the_liquid_mode_is_one_minus_two_root_alpha_over_pi():
    alpha = 1.0
    p = solve_rs(alpha, 4).value
    assert np.all(p.q[1:-1] == 0)
    lowest = np.linalg.eigvalsh(replicon_matrix(alpha, p.q, p.Q, p.qhat))[0]
    assert_allclose(lowest, 1 - 2 * np.sqrt(alpha) / np.pi, rtol=1e-10)


def test_matrix_is_the_cascade_functionals_hessian():
    """The replicon form equals the 1RSB functional's Hessian along replicon directions,
    with q̂ eliminated (Schur complement), at a degenerate (RS) point."""
    L, alpha, m = 4, 300.0, 0.3
    p = solve_rs(alpha, L).value
    layout = Layout(L, 1)
    x = layout.pack(*(np.stack([v, v], 1) for v in (p.q, p.Q, p.qhat)), np.array([m]))
    _, _, H = evaluate(alpha, layout, x, hessian=True)
    iq, iQ, ih, _ = layout.indices()

    def direction(index):
        d = np.zeros(layout.size)
        d[index] = [-(1 - m), m]
        return d

    bx = np.array([direction(r) for l in range(L) for r in ([iQ[l]] + ([iq[l + 1]] if l < L - 1
                   else []))]).T  # fmt: skip
    bh = np.array([direction(ih[l]) for l in range(1, L)]).T
    hxx, hxh, hhh = bx.T @ H @ bx, bx.T @ H @ bh, bh.T @ H @ bh
    reduced = (hxx - hxh @ np.linalg.solve(hhh, hxh.T)) / (m * (1 - m))
    chi = spin_replicon(p.qhat[1:-1])
    diag = np.empty(2 * L - 1)
    diag[0::2] = 1 / (2 * alpha * (1 - p.Q) ** 2)
    diag[1::2] = 1 / (2 * chi)
    R = replicon_matrix(alpha, p.q, p.Q, p.qhat)
    assert_allclose(reduced, np.sqrt(diag)[:, None] * R * np.sqrt(diag)[None, :], atol=1e-4)
    # (the Hessian is by differences of gradients: 1e-5 relative)


def test_first_onset_is_the_freezing_of_the_first_layer():
    # xtol 1e-4: closer to π²/8 the RS solves slow down critically (the layer just freezes)
    onsets = replicon_onsets(2, n_modes=1, alpha_max=10.0, n_scan=12, xtol=1e-4)
    # the liquid's mode, 1 − 2√(2α)/π, vanishes at π²/8, where the layer freezes
    assert_allclose(onsets[0], np.pi**2 / 8, rtol=1e-4)


def test_spectrum_pairs_the_modes_of_a_symmetric_network():
    s = replicon_spectrum(solve_rs(300.0, 10).value)
    values = s["eigenvalues"]
    assert values[0] < 0
    assert_allclose(values[0], values[1], rtol=1e-6)  # the two boundaries' modes
    assert_allclose(s["layer_weight"].sum(axis=1), 1.0, rtol=1e-12)
    assert s["depth"][0] < 2.0  # the most unstable mode sits next to a boundary


def test_bad_input():
    with pytest.raises(ValueError, match="profile"):
        replicon_spectrum("profile")
    with pytest.raises(ValueError, match="L"):
        replicon_onsets(0)


def test_split_start_is_ordered():
    q, Q, _qhat, _m = split_rs(solve_rs(30.0, 4).value, 0.05)
    assert np.all(np.diff(q, axis=1) >= 0) and np.all(np.diff(Q, axis=1) >= 0)


# ---- the exact-node closure, against the one-step functional integrated by brute force
def test_node_replicon_is_the_curvature_of_the_one_step_node_term():
    """−¼ m(1−m) εᵀMε is the second-order change of the node's one-step term (with its
    −½ q̂_1 diagonal part) along a replicon direction (δX_0, δX_1) = (−(1−m), m) ε."""
    qhat, C, m, t = 0.6, 0.4, 0.35, 0.01
    uu, uv, vv = node_replicon(qhat, C)
    M = np.array([[uu, uv], [uv, vv]])

    def term(eps):
        (a, b) = eps
        levels = [(qhat - (1 - m) * a, qhat + m * a), (C - (1 - m) * b, C + m * b)]
        return one_step(node_top, levels, m) - 0.5 * levels[0][1]

    for e in (np.array([1.0, 0.0]), np.array([0.0, 1.0]), np.array([1.0, 1.0])):
        f0, f1, f2 = term(0 * e), term(t * e), term(2 * t * e)
        curvature = (8 * (f1 - f0) - (f2 - f0)) / (2 * t * t)  # no linear term at RS
        assert curvature == pytest.approx(-0.5 * m * (1 - m) * e @ M @ e, rel=1e-3)


def test_exact_node_form_is_the_one_step_functionals_hessian():
    """L = 2: the Hessian of the exact-node one-step free entropy (spherical bonds, the
    node's term by brute force, Gardner's output term) along replicon directions, with
    δq̂ eliminated, is m(1−m) times the form behind replicon_matrix."""
    alpha, m, t = 3.0, 0.4, 0.01
    p = solve_rs(alpha, 2, closure="exact-node").value
    Q1, q1, qh1, Q2 = p.Q[0], p.q[1], p.qhat[1], p.Q[1]

    def entropy(x):  # x = replicon amplitudes of (Q_1, q_1, q̂_1, Q_2)
        lv = [(v - (1 - m) * e, v + m * e) for v, e in zip((Q1, q1, qh1, Q2), x, strict=True)]
        bonds = sum(spherical_entropy(np.array(b), np.array([m]))[0] for b in (lv[0], lv[3]))
        linear = 0.5 * (m * lv[2][0] * lv[1][0] + (1 - m) * lv[2][1] * lv[1][1]) - 0.5 * lv[2][1]
        node = one_step(node_top, [lv[2], lv[0]], m)
        gap = one_step(gap_top_brute, [(lv[3][0] * lv[1][0], lv[3][1] * lv[1][1])], m)
        return bonds / (2 * alpha) + linear + node + gap

    f0 = entropy(np.zeros(4))

    def curvature(e):
        f1, f2 = entropy(t * e), entropy(2 * t * e)
        return (8 * (f1 - f0) - (f2 - f0)) / (2 * t * t)

    eye = np.eye(4)
    diag = [curvature(eye[i]) for i in range(4)]
    H = np.diag(diag)
    for i in range(4):
        for j in range(i + 1, 4):
            H[i, j] = H[j, i] = 0.5 * (curvature(eye[i] + eye[j]) - diag[i] - diag[j])
    keep = [0, 1, 3]  # eliminate δq̂_1 (the entropy is stationary in it)
    schur = H[np.ix_(keep, keep)] - np.outer(H[keep, 2], H[2, keep]) / H[2, 2]
    R = replicon_matrix(alpha, p.q, p.Q, p.qhat, closure="exact-node")
    positive = np.array([1 / (2 * alpha * (1 - Q1) ** 2), 1 / (2 * node_replicon(qh1, Q1)[0]),
                         1 / (2 * alpha * (1 - Q2) ** 2)])  # fmt: skip
    form = np.sqrt(positive)[:, None] * R * np.sqrt(positive)[None, :]
    np.testing.assert_allclose(schur, m * (1 - m) * form, rtol=2e-3, atol=2e-4)
