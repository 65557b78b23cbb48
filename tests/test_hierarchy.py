"""Tests of deepspin.hierarchy: the Crisanti–Sommers algebra of a k-step Parisi matrix."""

import numpy as np
import pytest
from numpy.testing import assert_allclose

from deepspin import hierarchy
from deepspin.hierarchy import _spectrum

TIGHT = 1e-12
FD = 1e-6  # accuracy of central differences with step 1e-6


def _parisi_matrix(levels, sizes, n):
    """An explicit n × n Parisi matrix: level j inside blocks of size sizes[j] (nested),
    the diagonal 1."""
    a = np.full((n, n), levels[0])
    for level, size in zip(levels[1:], sizes, strict=True):
        for start in range(0, n, size):
            a[start : start + size, start : start + size] = level
    np.fill_diagonal(a, 1.0)
    return a


def test_rs_limit_is_the_spherical_entropy():
    q = 0.37
    value, grad, _ = hierarchy.spherical_entropy([q], [])
    assert_allclose(value, np.log(1 - q) + q / (1 - q), rtol=TIGHT)
    assert_allclose(grad[0], q / (1 - q) ** 2, rtol=TIGHT)  # d/dq of ln(1−q) + q/(1−q)


def test_finite_n_determinant_has_the_same_spectrum():
    # an explicit matrix at n = 12 with blocks 6 ⊃ 2: (1/n) ln det = ln λ_k
    # + Σ_j m_j⁻¹ ln(λ_{j−1}/λ_j) + (1/n) ln(1 + n q_0/λ_0), with the same λ recursion
    levels, sizes, n = np.array([0.1, 0.3, 0.6]), (6, 2), 12
    lam = _spectrum(levels, np.array(sizes, dtype=float))
    formula = (
        np.log(lam[-1])
        + np.sum(np.log(lam[:-1] / lam[1:]) / np.array(sizes))
        + np.log1p(n * levels[0] / lam[0]) / n
    )
    sign, logdet = np.linalg.slogdet(_parisi_matrix(levels, sizes, n))
    assert sign > 0
    assert_allclose(logdet / n, formula, rtol=TIGHT)


@pytest.mark.parametrize("k", [1, 2, 3])
def test_gradient_matches_differences(k):
    rng = np.random.default_rng(k)
    q = np.sort(rng.uniform(0.05, 0.9, k + 1))
    m = np.sort(rng.uniform(0.1, 0.9, k))
    _, gq, gm = hierarchy.spherical_entropy(q, m)
    for i in range(k + 1):
        up, down = q.copy(), q.copy()
        up[i] += 1e-6
        down[i] -= 1e-6
        diff = hierarchy.spherical_entropy(up, m)[0] - hierarchy.spherical_entropy(down, m)[0]
        assert_allclose(gq[i], diff / 2e-6, atol=FD)
    for i in range(k):
        up, down = m.copy(), m.copy()
        up[i] += 1e-6
        down[i] -= 1e-6
        diff = hierarchy.spherical_entropy(q, up)[0] - hierarchy.spherical_entropy(q, down)[0]
        assert_allclose(gm[i], diff / 2e-6, atol=FD)


def test_a_closed_step_is_one_step_fewer():
    one = hierarchy.spherical_entropy([0.2, 0.5], [0.3])[0]
    two = hierarchy.spherical_entropy([0.2, 0.5, 0.5], [0.3, 0.7])[0]
    also = hierarchy.spherical_entropy([0.2, 0.2, 0.5], [0.1, 0.3])[0]
    assert_allclose(two, one, rtol=TIGHT)
    assert_allclose(also, one, rtol=TIGHT)


def test_pair_sum_and_log1p_ratio():
    assert hierarchy.pair_sum([2.0], []) == -2.0
    assert_allclose(hierarchy.pair_sum([1.0, 3.0], [0.25]), -(0.25 * 1.0 + 0.75 * 3.0))
    assert_allclose(hierarchy.log1p_ratio([0.0, 1e-9, 1.0]), [1.0, 1.0 - 5e-10, np.log(2.0)])


def test_batches_agree_with_single_calls():
    q = np.array([[0.1, 0.4], [0.2, 0.7]])
    m = np.array([[0.3], [0.6]])
    values, _, _ = hierarchy.spherical_entropy(q, m, validate=False)
    for row in range(2):
        assert_allclose(values[row], hierarchy.spherical_entropy(q[row], m[row])[0], rtol=TIGHT)


@pytest.mark.parametrize(
    ("levels", "breakpoints", "name"),
    [
        ([0.5, 0.2], [0.5], "levels"),
        ([0.2, 1.0], [0.5], "levels"),
        ([0.2, 0.5], [1.0], "breakpoints"),
        ([0.2, 0.5, 0.6], [0.6, 0.4], "breakpoints"),
        ([0.2, 0.5], [], "breakpoints"),
    ],
)
def test_bad_steps_are_refused(levels, breakpoints, name):
    with pytest.raises(ValueError, match=name):
        hierarchy.spherical_entropy(levels, breakpoints)
