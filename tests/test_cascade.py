"""Tests of deepspin.cascade: the Parisi cascade against closed forms and an independent
nested quadrature."""

import numpy as np
import pytest
import torch
from numpy.testing import assert_allclose

from deepspin.cascade import cascade_torch
from deepspin.deep_perceptron.kernels import gap_term, spin_term
from deepspin.deep_perceptron.rsb_functional import gap_top, spin_top
from deepspin.gauss import split_gauss_nodes

RS = 1e-11  # k = 0 is a plain split quadrature
GRID = 1e-7  # a closed level goes through the splines (129 points)


def _spin(variances, m, **grid):
    v = torch.as_tensor(np.atleast_2d(variances), dtype=torch.float64)
    mm = torch.as_tensor(np.atleast_2d(m), dtype=torch.float64).reshape(v.shape[0], -1)
    return cascade_torch(spin_top(v.shape[0]), v, mm, **grid).numpy()


def _gap(variances, m, **grid):
    v = torch.as_tensor(np.atleast_2d(variances), dtype=torch.float64)
    mm = torch.as_tensor(np.atleast_2d(m), dtype=torch.float64).reshape(v.shape[0], -1)
    width = torch.sqrt(1.0 - v.sum(dim=1))
    return cascade_torch(gap_top(width), v, mm, **grid).numpy()


def _nested(v0, v1, m):
    """An independent 1RSB spin cascade: nested split Gauss–Legendre rules, no grid."""
    z0, w0 = split_gauss_nodes(0.0, 300, 12.0)
    h = np.sqrt(v0) * z0
    z1, w1 = split_gauss_nodes(-h / np.sqrt(v1), 300, 12.0 + m * np.sqrt(v1))
    inner = np.log(np.sum(w1 * np.exp(m * np.logaddexp(h[:, None] + np.sqrt(v1) * z1,
                                                        -h[:, None] - np.sqrt(v1) * z1)),
                          axis=1)) / m  # fmt: skip
    return np.sum(w0 * inner)


@pytest.mark.parametrize("qhat", [0.01, 0.5, 3.0, 30.0])
def test_zero_steps_is_the_rs_spin_term(qhat):
    assert_allclose(_spin([[qhat]], np.zeros((1, 0))), spin_term(qhat), rtol=RS)


@pytest.mark.parametrize("delta", [0.0, 0.1, 0.5, 0.9])
def test_zero_steps_is_the_rs_gap_term(delta):
    assert_allclose(_gap([[delta]], np.zeros((1, 0))), gap_term(delta), rtol=RS, atol=RS)


@pytest.mark.parametrize("qhat", [0.5, 3.0, 30.0])
def test_a_closed_level_disappears(qhat):
    closed = _spin([[qhat, 0.0]], [[0.4]])
    assert_allclose(closed, spin_term(qhat), rtol=GRID)
    gap = _gap([[0.3, 0.0]], [[0.4]])
    assert_allclose(gap, gap_term(0.3), rtol=GRID)


def test_m_equal_one_integrates_the_inner_level_exactly():
    # ∫Dz 2cosh(h + σz) = 2cosh(h) e^{σ²/2}: at m = 1 the inner level adds v_1/2
    for v0, v1 in ((0.5, 0.5), (15.0, 15.0)):
        assert_allclose(_spin([[v0, v1]], [[1.0]]), spin_term(v0) + v1 / 2, rtol=5e-8)


@pytest.mark.parametrize(("v0", "v1", "m"), [(0.3, 0.4, 0.3), (2.0, 1.0, 0.7), (50.0, 80.0, 0.4)])
def test_one_step_agrees_with_nested_quadrature(v0, v1, m):
    assert_allclose(_spin([[v0, v1]], [[m]]), _nested(v0, v1, m), rtol=5e-8)


def test_grid_convergence():
    values = [_spin([[3.0, 7.0, 4.0]], [[0.2, 0.6]], n_grid=n)[0] for n in (33, 65, 129, 257)]
    errors = np.abs(np.diff(values))
    assert errors[-1] < 1e-6
    assert errors[-1] < errors[0] / 50  # faster than second order


@pytest.mark.parametrize(
    ("variances", "tolerance"),
    [
        ([0.4, 0.3, 0.7], 1e-6),
        # a closed level: its heat-equation derivative uses the carried g'' (accurate to
        # O(dh⁴)), the value bends with its spline's (O(dh²)): they differ by ~3e-4
        ([0.4, 0.0, 0.7], 1e-3),
    ],
)
def test_gradient_in_the_variances_matches_differences(variances, tolerance):
    v = torch.tensor([variances], dtype=torch.float64, requires_grad=True)
    m = torch.tensor([[0.3, 0.6]], dtype=torch.float64)
    (grad,) = torch.autograd.grad(cascade_torch(spin_top(1), v, m).sum(), v)
    for i in range(3):
        up, down = v.detach().clone(), v.detach().clone()
        up[0, i] += 1e-5
        inside = variances[i] > 1e-5
        down[0, i] -= 1e-5 if inside else 0.0
        step = 2e-5 if inside else 1e-5
        diff = (cascade_torch(spin_top(1), up, m) - cascade_torch(spin_top(1), down, m)) / step
        assert_allclose(grad[0, i].item(), diff.item(), rtol=tolerance)
