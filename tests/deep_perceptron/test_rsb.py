"""Tests of the k-step RSB free entropy and solver of the symmetric closure."""

import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose

from deepspin.deep_perceptron import (
    rsb_free_entropy,
    rsb_levels,
    rsb_phase_diagram,
    solve_rs,
    solve_rsb,
)
from deepspin.deep_perceptron.rsb_functional import Layout, evaluate

RS_LIMIT = 1e-10


def test_zero_steps_is_the_rs_free_entropy():
    p = solve_rs(60.0, 6).value
    value = rsb_free_entropy(60.0, p.q[:, None], p.Q[:, None], p.qhat[:, None], [])
    assert_allclose(value, p.entropy, atol=RS_LIMIT)
    assert_allclose(solve_rsb(60.0, 6, 0).value.entropy, p.entropy, atol=RS_LIMIT)


def test_closed_steps_give_the_rs_value_to_grid_accuracy():
    p = solve_rs(60.0, 6).value
    two = [np.stack([v, v], 1) for v in (p.q, p.Q, p.qhat)]
    assert_allclose(rsb_free_entropy(60.0, *two, [0.4]), p.entropy, atol=1e-7)


def test_gradient_and_hessian_match_differences():
    alpha, L = 20.0, 3
    p = solve_rs(alpha, L).value
    layout = Layout(L, 1)
    q = np.stack([0.8 * p.q, p.q], 1)
    q[[0, -1]] = 1.0
    x = layout.pack(q, np.stack([0.9 * p.Q, p.Q], 1), np.stack([0.7 * p.qhat, p.qhat], 1),
                    np.array([0.4]))  # fmt: skip
    _, grad, hess = evaluate(alpha, layout, x, hessian=True)
    free = np.flatnonzero(x > 1e-3)  # away from a bound, central differences
    for i in free:
        up, down = x.copy(), x.copy()
        up[i] += 1e-6
        down[i] -= 1e-6
        assert_allclose(grad[i], (evaluate(alpha, layout, up)[0] - evaluate(alpha, layout,
                        down)[0]) / 2e-6, atol=1e-6)  # fmt: skip
        column = (evaluate(alpha, layout, up)[1] - evaluate(alpha, layout, down)[1]) / 2e-6
        assert_allclose(hess[free, i], column[free], atol=2e-4)


def test_one_layer_stays_replica_symmetric():
    # the spherical perceptron below α = 2: RS is exact, the step closes
    result = solve_rsb(1.5, 1, 1, warn=False)
    assert result.info["collapsed"]
    assert_allclose(result.value.entropy, result.info["rs_entropy"], atol=1e-6)


@pytest.mark.slow
def test_one_step_solution_is_stationary_and_below_rs():
    result = solve_rsb(2.0, 2, 1)
    p = result.value
    assert result.converged and not result.info["collapsed"]
    gain = p.entropy - result.info["rs_entropy"]
    assert -1e-4 < gain < -1e-6  # RSB lowers Φ (Guerra-type bound), slightly near onset
    assert abs(result.info["complexity"][0]) < 1e-7  # ∂Φ/∂m = 0 (to the solver's tol)
    # stationarity of Φ itself, by differences, in every free level and in m
    base = rsb_free_entropy(2.0, p.q, p.Q, p.qhat, p.m)
    for name, array in (("q", p.q), ("Q", p.Q), ("qhat", p.qhat)):
        for index in np.ndindex(array.shape):
            if (name == "q" and index[0] in (0, p.L)) or array[index] <= 1e-3:
                continue
            shifted = {"q": p.q, "Q": p.Q, "qhat": p.qhat}
            for sign in (1, -1):
                moved = {k: v.copy() for k, v in shifted.items()}
                moved[name][index] += sign * 1e-5
                if sign == 1:
                    up = rsb_free_entropy(2.0, **moved, m=p.m)
                else:
                    down = rsb_free_entropy(2.0, **moved, m=p.m)
            assert abs(up - down) / 2e-5 < 1e-5, (name, index)
    assert base < result.info["rs_entropy"]


@pytest.mark.slow
def test_more_levels_near_the_boundary():
    # L = 10, α = 30, two steps: layer 1 uses three distinct levels, layer 2 two
    result = solve_rsb(30.0, 10, 2)
    assert result.converged
    levels = rsb_levels(result.value)["spins"]
    assert levels.tolist() == [0, 3, 2, 0, 0, 0, 0, 0, 2, 3, 0]


def test_bad_input():
    for kwargs, name in (
        ({"alpha": 0.0, "L": 2}, "alpha"),
        ({"alpha": 1.0, "L": 0}, "L"),
        ({"alpha": 1.0, "L": 2, "k": -1}, "k"),
        ({"alpha": 1.0, "L": 2, "k": 1, "breakpoints": [1.5]}, "breakpoints"),
        ({"alpha": 1.0, "L": 2, "n_grid": 64}, "n_grid"),
    ):
        with pytest.raises(ValueError, match=name), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            solve_rsb(**kwargs)


def test_phase_diagram_follows_the_branch():
    diagram = rsb_phase_diagram([1.9, 2.0], 2, 1)
    assert diagram["converged"].all()
    assert np.all(diagram["gain"] < 0)
    assert np.all(np.diff(diagram["q"][:, 1], axis=1) > 0)  # two distinct levels
