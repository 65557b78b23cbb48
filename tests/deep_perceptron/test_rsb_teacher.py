"""The teacher scenario at one step of RSB, with the teacher as a distinct replica."""

import numpy as np
import pytest

from deepspin import deep_perceptron as dp


def _nishimori_point(alpha, L):
    """Every student level at the RS teacher overlap, q̂ levels at t̂ (eq. rs-teacher)."""
    rs = dp.solve_rs(alpha, L, "teacher").value
    q, Q, qhat = rs.q[1:-1], rs.Q, rs.qhat[1:-1]
    return rs, np.stack([q, qhat, q, q, qhat, qhat], 1), np.stack([Q, Q, Q], 1)


@pytest.mark.parametrize("m", [0.3, 0.7])
def test_nishimori_point_is_the_rs_teacher_solution(m):
    """At the Nishimori point the one-step functional is eq. (rs-teacher), for every m,
    and it is stationary in every variable, the students' separate levels included."""
    rs, spins, bonds = _nishimori_point(3.0, 2)
    value, grad = dp.teacher_rsb_free_entropy(3.0, spins, bonds, m)
    assert value == pytest.approx(rs.entropy, abs=5e-8)
    assert np.max(np.abs(grad)) < 5e-6  # the cascade's quadrature error


def test_without_a_teacher_it_is_the_random_one_step_functional():
    rs = dp.solve_rs(2.0, 2).value
    q, Q, qhat = rs.q[1], rs.Q, rs.qhat[1]
    spins = np.array([[0.0, 0.0, 0.8 * q, 1.1 * q, 0.8 * qhat, 1.2 * qhat]])
    bonds = np.stack([np.zeros(2), 0.8 * Q, 1.1 * Q], 1)
    value, _ = dp.teacher_rsb_free_entropy(2.0, spins, bonds, 0.4)
    expected = dp.rsb_free_entropy(2.0, np.array([[1, 1], spins[0, 2:4], [1, 1]]), bonds[:, 1:],
                                   np.array([[0, 0], spins[0, 4:], [0, 0]]), [0.4])  # fmt: skip
    assert value == pytest.approx(expected, abs=1e-12)


@pytest.mark.parametrize(("alpha", "m"), [(2.0, 0.3), (3.0, 0.6)])
def test_one_step_falls_back_onto_the_nishimori_point(alpha, m):
    result = dp.solve_teacher_rsb(alpha, 2, m, spread=0.2)
    assert result.converged
    assert result.info["gap"] < 5e-5 and result.info["nishimori"] < 5e-5
    assert result.value.entropy == pytest.approx(result.info["rs_entropy"], abs=1e-7)


def test_the_control_finds_one_step_rsb_with_random_data():
    """Same start and solver, teacher pinned out: above π²/8 (L = 2) RS is unstable and the
    one-step solution it finds is a genuine one, with a higher free energy gain."""
    result = dp.solve_teacher_rsb(2.0, 2, 0.3, spread=0.2, teacher=False)
    assert result.converged and result.info["gap"] > 0.05
    assert result.value.entropy < result.info["rs_entropy"] - 1e-6


def test_bad_input():
    with pytest.raises(ValueError, match="liquid"):
        dp.solve_teacher_rsb(1.0, 2)
    _, spins, bonds = _nishimori_point(3.0, 2)
    with pytest.raises(ValueError, match="spins"):
        dp.teacher_rsb_free_entropy(3.0, spins[:, ::-1], bonds, 0.5)
    with pytest.raises(ValueError, match="bonds"):
        dp.teacher_rsb_free_entropy(3.0, spins, bonds * [1.0, 1.2, 1.0], 0.5)
    with pytest.raises(ValueError, match="spins"):
        dp.teacher_rsb_free_entropy(3.0, spins[:, :4], bonds, 0.5)
