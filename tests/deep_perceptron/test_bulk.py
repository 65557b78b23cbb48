import numpy as np
import pytest

from deepspin import deep_perceptron as dp


@pytest.fixture(scope="module")
def fold():
    return dp.bulk_spinodal().value


@pytest.mark.parametrize("q", [0.03, 0.065, 0.11])
def test_bulk_state_is_a_fixed_point_of_the_layer_map(q):
    # eq. (bulk-alpha) read backwards, checked forwards by the full saddle-point map on a
    # chain whose ends are held at the same state
    state = dp.bulk_state(q)
    L = 6
    qs, Qs = np.full(L + 1, state.q), np.full(L, state.Q)
    q_new, Q_new, qhat = dp.saddle_map(state.alpha, qs, Qs)
    np.testing.assert_allclose(q_new, qs, rtol=1e-9)
    np.testing.assert_allclose(Q_new, Qs, rtol=1e-9)
    np.testing.assert_allclose(qhat[1:-1], state.qhat, rtol=1e-9)


def test_no_uniform_state_past_the_end_of_the_branch():
    assert dp.bulk_state(0.2).alpha == np.inf


def test_fold_has_a_unit_multiplier(fold):
    # the minimum of α(q) (a scan and Brent) is where the map's uniform mode is marginal
    eigs = np.linalg.eigvals(dp.bulk_symbol(fold, 1.0))
    assert np.max(eigs.real) == pytest.approx(1.0, abs=2e-4)
    assert 2.6e4 < fold.alpha < 2.8e4


def test_branches_lower_unstable_upper_stable(fold):
    lower, upper = dp.bulk_branches(1.5 * fold.alpha)
    assert lower.q < fold.q < upper.q
    assert lower.alpha == pytest.approx(1.5 * fold.alpha, rel=1e-10)
    assert dp.largest_multiplier(lower) > 1.0 > dp.largest_multiplier(upper)
    assert dp.bulk_branches(0.9 * fold.alpha) is None
    assert 0.0 < dp.healing_factor(upper) < 1.0


def test_bulk_free_entropy_is_the_increment_of_a_longer_uniform_chain():
    state = dp.bulk_state(0.08)

    def chain(L):
        q, Q = np.full(L + 1, state.q), np.full(L, state.Q)
        qhat = np.full(L + 1, state.qhat)
        return dp.free_entropy(state.alpha, q, Q, qhat)

    assert chain(7) - chain(6) == pytest.approx(dp.bulk_free_entropy(state), abs=1e-12)
    assert dp.bulk_curve([0.08])["entropy"][0] == pytest.approx(dp.bulk_free_entropy(state))


def test_coexistence_is_where_the_upper_branch_meets_the_liquid(fold):
    state = dp.bulk_coexistence().value
    assert state.alpha > fold.alpha and state.q > fold.q
    assert abs(dp.bulk_free_entropy(state)) < 1e-10
    above = dp.bulk_branches(1.01 * state.alpha)[1]
    assert dp.bulk_free_entropy(above) < 0.0


def test_exact_node_closure_has_no_uniform_frozen_bulk():
    for C in (0.1, 0.5, 0.9):
        state = dp.bulk_state(C, "exact-node")
        assert state.alpha == np.inf and state.q < C and state.Q == pytest.approx(C / state.q)
    result = dp.bulk_spinodal("exact-node")
    assert result.value is None and result.converged


def test_geometric_limit_recovers_a_geometric_sequence():
    k = np.arange(12)
    result = dp.geometric_limit(5.0 - 2.0 * 0.6**k)
    assert result.value["limit"] == pytest.approx(5.0, abs=1e-12)
    assert result.value["ratio"] == pytest.approx(0.6, abs=1e-12)
    assert result.converged


def test_freezing_by_depth_matches_full_networks():
    by_depth = dp.freezing_by_depth(9)
    direct = [dp.onsets(L)[-1] for L in range(2, 10)]
    np.testing.assert_allclose(by_depth["alpha"], direct, rtol=1e-8)
    assert by_depth["alpha"][0] == pytest.approx(np.pi**2 / 8, rel=1e-9)


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: dp.bulk_state(0.0), "parameter"),
        (lambda: dp.bulk_state(1.0), "parameter"),
        (lambda: dp.bulk_state(0.1, "nodal"), "closure"),
        (lambda: dp.bulk_branches(-1.0), "alpha"),
        (lambda: dp.bulk_free_entropy(0.3), "state"),
        (lambda: dp.bulk_curve([0.1, 1.5]), "parameters"),
        (lambda: dp.geometric_limit([1.0, 2.0]), "sequence"),
        (lambda: dp.geometric_limit([1.0, 2.0, 2.5, np.nan]), "sequence"),
        (lambda: dp.freezing_by_depth(1), "max_depth"),
        (lambda: dp.onsets(6, xtol=np.nan), "xtol"),
    ],
)
def test_bad_input(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_spinodal_reports_the_bracket_its_stopping_rule_guarantees(fold):
    result = dp.bulk_spinodal()
    assert result.converged and result.residual <= result.tol
    # Brent's bounded search resolves the minimiser to ~√ε|q|, not to xtol = 1e-10
    assert result.residual > 1e-10


def test_spinodal_out_of_iterations_is_not_converged(monkeypatch):
    from deepspin.deep_perceptron import bulk

    monkeypatch.setattr(bulk, "_MAX_BRENT", 1)
    with pytest.warns(RuntimeWarning, match="bulk_spinodal"):
        result = dp.bulk_spinodal()
    assert result.converged is False and result.residual > result.tol
    assert result.iterations <= 2  # scipy's nit counts the first evaluation too


def test_coexistence_held_to_an_unreachable_tol_is_not_converged():
    with pytest.warns(RuntimeWarning, match="bulk_coexistence"):
        result = dp.bulk_coexistence(tol=1e-300)
    assert result.converged is False and result.residual > 1e-300 and result.tol == 1e-300
    assert dp.bulk_coexistence().converged  # the same root, at the default tol


def test_no_frozen_bulk_is_an_honest_empty_result():
    for result in (dp.bulk_spinodal("exact-node"), dp.bulk_coexistence("exact-node")):
        assert result.value is None and result.converged
        assert result.residual == 0.0 and result.tol is not None


def test_geometric_limit_that_has_not_settled_is_not_converged():
    k = np.arange(8)
    sequence = 5.0 - 2.0 * 0.6**k + 0.01 * 0.9**k  # two rates: the Aitken estimates drift
    with pytest.warns(RuntimeWarning, match="geometric_limit"):
        result = dp.geometric_limit(sequence, tol=1e-12)
    assert result.converged is False and result.residual > 1e-12 and result.tol == 1e-12


@pytest.mark.parametrize(
    "call, name",
    [
        (lambda: dp.geometric_limit([1.0, 2.0, 3.0, 4.0]), "sequence"),  # linear: 0/0 before
        (lambda: dp.geometric_limit([2.0, 2.0, 2.0, 2.0]), "sequence"),
        (lambda: dp.geometric_limit([[1.0, 2.0, 2.5]]), "sequence"),
        (lambda: dp.bulk_symbol(dp.bulk_state(0.08), "0.5"), "mu"),
        (lambda: dp.bulk_symbol(dp.bulk_state(0.08), 0.0), "mu"),
        (lambda: dp.bulk_free_entropy(dp.BulkState(1e4, 0.1, 0.9, 0.1, "nodal")), "state"),
        (lambda: dp.healing_factor(dp.BulkState(1e4, np.nan, 0.9, 0.1, "symmetric")), "state"),
        (lambda: dp.bulk_curve([[0.1, 0.2]]), "parameters"),
        (lambda: dp.bulk_coexistence(tol=0.0), "tol"),
        (lambda: dp.bulk_spinodal(xtol=np.nan), "xtol"),
    ],
)
def test_bad_input_names_the_parameter(call, name):
    with pytest.raises(ValueError, match=name):
        call()
