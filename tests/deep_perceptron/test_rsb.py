"""Tests of the k-step RSB free entropy and solver of the symmetric closure."""

import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose

from deepspin.deep_perceptron import (
    levels_fall_inwards,
    rsb_free_entropy,
    rsb_levels,
    rsb_phase_diagram,
    rsb_stationarity,
    rsb_steps,
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
    derivatives = rsb_stationarity(p)
    assert derivatives["max"] < 1e-5, derivatives
    assert min(derivatives["q"], derivatives["Q"], derivatives["qhat"]) > 0.0  # levels moved
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


def test_phase_diagram_starts_far_points_afresh():
    # α = 1.6 → 5 is beyond the continuation factor (3): the second point is the fresh solve
    diagram = rsb_phase_diagram([1.6, 5.0], 2, 1)
    fresh = solve_rsb(5.0, 2, 1).value
    assert diagram["converged"].all()
    assert diagram["gain"][1] == fresh.entropy - solve_rs(5.0, 2).value.entropy
    assert_allclose(diagram["m"][1], fresh.m, rtol=0, atol=0)


def test_stationarity_sees_a_displaced_level():
    # the RS solution written as a one-step profile is stationary; displacing a level is not
    p = solve_rsb(20.0, 3, 0).value
    assert rsb_stationarity(p)["max"] < 1e-6
    q = p.q.copy()
    q[1] *= 0.9
    shifted = type(p)(**{**p.__dict__, "q": q})
    assert rsb_stationarity(shifted)["q"] > 1e-3


def test_stationarity_bad_input():
    p = solve_rsb(20.0, 3, 0).value
    with pytest.raises(ValueError, match="profile"):
        rsb_stationarity("not a profile")
    with pytest.raises(ValueError, match="eps"):
        rsb_stationarity(p, eps=0.0)
    with pytest.raises(ValueError, match="floor"):
        rsb_stationarity(p, floor=1.0)


def test_steps_count_levels_and_gains():
    # L = 2 above its onset π²/8: one step opens a level in the hidden layer and lowers Φ
    steps = rsb_steps(2.0, 2, 1)
    assert steps["converged"][1]
    assert steps["levels"][1].tolist() == [0, 2, 0]
    assert steps["gain_by_step"].shape == (1,) and steps["gain_by_step"][0] < 0
    assert_allclose(steps["entropy"][0], solve_rs(2.0, 2).value.entropy, atol=1e-12)
    assert steps["confirmed"] == {}


def test_steps_on_the_perceptron_keep_one_level():
    # 257 points: at the default 129 a closed step's own grid error is 1.1e-6 here (Q = 0.82)
    steps = rsb_steps(1.5, 1, 2, n_grid=257)
    assert all(steps["converged"].values())
    assert steps["levels"][2].tolist() == [0, 0]  # only clamped spins
    assert steps["levels"][1].tolist() == steps["confirmed"][1].tolist()
    assert np.all(np.abs(steps["gain_by_step"]) < 2e-7)  # RS is exact below α = 2 (grid: 7e-8)


def test_steps_bad_input():
    with pytest.raises(ValueError, match="k_max"):
        rsb_steps(2.0, 2, 0)
    with pytest.raises(ValueError, match="solver options"):
        rsb_steps(2.0, 2, 1, bogus=1)


def test_levels_fall_inwards_reads_both_halves():
    assert levels_fall_inwards([0, 3, 3, 2, 0, 0, 0, 2, 3, 3, 0])  # measured at α = 100, k = 2
    assert levels_fall_inwards([0, 2, 1, 1, 2, 0])  # even number of hidden layers
    assert not levels_fall_inwards([0, 2, 2, 2, 0])  # flat: the boundary is not richer
    assert not levels_fall_inwards([0, 1, 3, 1, 0])  # richer inside
    assert not levels_fall_inwards([0, 3, 1, 2, 1, 3, 0])  # rises again towards the centre
    assert not levels_fall_inwards([0, 2, 1, 1, 1, 0])  # the output side is flat
    with pytest.raises(ValueError, match="spin_levels"):
        levels_fall_inwards([0, 1])
    with pytest.raises(ValueError, match="spin_levels"):
        levels_fall_inwards([0.0, 2.0, 0.0])
