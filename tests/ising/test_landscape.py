"""Tests for deepspin.ising.landscape: exactness on trees, closeness to enumeration on
small dense models, hysteresis of a first-order transition, the iso-energy variant."""

import itertools

import numpy as np
import pytest
from numpy.testing import assert_allclose

from deepspin.ising import landscape as ls


def brute_landscape(h, J, reference, x, beta=1.0):
    """q, e = ⟨E⟩/N and the Shannon entropy per spin of the tilted measure, by enumeration."""
    n = len(h)
    states = np.array(list(itertools.product([-1.0, 1.0], repeat=n)))
    energy = -states @ h - 0.5 * np.einsum("ki,ij,kj->k", states, J, states)
    overlap = states @ reference
    out = []
    for xi in x:
        log_w = -beta * energy + xi * overlap
        p = np.exp(log_w - np.logaddexp.reduce(log_w))
        out.append((p @ overlap / n, p @ energy / n, -(p * np.log(p)).sum() / n))
    return np.array(out).T


def test_upper_bound():
    assert_allclose(ls.entropy_upper_bound([0.0, 0.5, 1.0]), [0.0, np.log(2), 0.0])
    d = np.linspace(0.01, 0.99, 9)
    assert_allclose(ls.entropy_upper_bound(d), ls.entropy_upper_bound(1 - d))


def test_landscape_is_exact_on_a_tree(tree):
    rng = np.random.default_rng(0)
    n = 13
    h, J = rng.normal(0.0, 0.4, n), tree(n, rng)
    reference = np.sign(rng.normal(size=n))
    x = np.linspace(-3, 3, 13)
    land = ls.entropy_landscape(h, J, reference, x, beta=0.7)
    q, e, s = brute_landscape(h, J, reference, x, beta=0.7)
    assert land.converged.all()
    assert_allclose(land.q, q, atol=1e-10)
    assert_allclose(land.d, (1 - q) / 2, atol=1e-10)
    assert_allclose(land.energy, e, atol=1e-10)
    assert_allclose(land.s, s, atol=1e-10)
    assert np.all(land.s <= ls.entropy_upper_bound(land.d) + 1e-12)


def test_landscape_close_to_enumeration_on_a_weak_dense_model():
    rng = np.random.default_rng(1)
    n = 14
    J = np.triu(rng.normal(0.0, 0.05, (n, n)), 1)
    h, J = rng.normal(0.0, 0.3, n), J + J.T
    reference = np.where(rng.random(n) < (1 + np.tanh(h)) / 2, 1.0, -1.0)
    x = np.linspace(-2, 2, 9)
    land = ls.entropy_landscape(h, J, reference, x)
    q, _, s = brute_landscape(h, J, reference, x)
    assert np.abs(land.q - q).max() < 2e-3
    assert np.abs(land.s - s).max() < 2e-3


def curie_weiss(n, coupling):
    J = np.full((n, n), coupling / n)
    np.fill_diagonal(J, 0.0)
    return np.zeros(n), J


def test_first_order_transition_shows_hysteresis():
    # a ferromagnet below its critical temperature, tilted towards the all-up state: the
    # warm-started sweeps follow the metastable branch past the jump in both directions
    h, J = curie_weiss(100, 1.5)
    reference = np.ones(100)
    x = np.linspace(-0.5, 0.5, 41)
    up = ls.entropy_landscape(h, J, reference, x)
    down = ls.entropy_landscape(h, J, reference, x[::-1])
    width = ls.hysteresis_width(up, down)
    assert up.converged.all() and down.converged.all()
    assert width > 0.1
    assert ls.hysteresis_width(up, up) == 0.0
    # inside the loop the two branches sit on opposite sides of d = 1/2
    middle = np.argsort(down.x)[20]
    assert up.d[20] > 0.5 > down.d[middle]


def test_paramagnet_has_no_hysteresis():
    h, J = curie_weiss(100, 0.5)
    x = np.linspace(-1, 1, 21)
    up = ls.entropy_landscape(h, J, np.ones(100), x)
    down = ls.entropy_landscape(h, J, np.ones(100), x[::-1])
    assert ls.hysteresis_width(up, down) == 0.0


def test_landscape_gap():
    rng = np.random.default_rng(2)
    n = 12
    h, J = np.zeros(n), np.zeros((n, n))
    land = ls.entropy_landscape(h, J, np.sign(rng.normal(size=n)), np.linspace(-3, 3, 31))
    # a free model reaches the bound everywhere
    assert abs(ls.landscape_gap(land)) < 1e-10


def test_iso_energy_matches_the_reference_energy(tree):
    rng = np.random.default_rng(3)
    n = 12
    h, J = rng.normal(0.0, 0.5, n), tree(n, rng, 0.5)
    # a typical configuration: its energy lies in the range that β ∈ [0.1, 5] covers
    states = np.array(list(itertools.product([-1.0, 1.0], repeat=n)))
    energy = -states @ h - 0.5 * np.einsum("ki,ij,kj->k", states, J, states)
    reference = states[np.argsort(energy)[len(energy) // 50]]
    target = (-h @ reference - 0.5 * reference @ J @ reference) / n
    land = ls.iso_energy_landscape(h, J, reference, np.linspace(-1, 1, 5))
    assert land.converged.all()
    assert_allclose(land.energy, target, atol=1e-6)
    q, _, s = brute_landscape(h, J, reference, [land.x[2]], beta=land.beta[2])
    assert_allclose([land.q[2], land.s[2]], [q[0], s[0]], atol=1e-9)


def test_bad_input():
    h, J = np.zeros(4), np.zeros((4, 4))
    with pytest.raises(ValueError, match="reference"):
        ls.entropy_landscape(h, J, np.array([1, 0, 1, 1]))
    with pytest.raises(ValueError, match="reference"):
        ls.entropy_landscape(h, J, np.ones(3))
    with pytest.raises(ValueError, match="x must"):
        ls.entropy_landscape(h, J, np.ones(4), x=[])
    with pytest.raises(ValueError, match="beta"):
        ls.entropy_landscape(h, J, np.ones(4), beta=0.0)
    with pytest.raises(ValueError, match="beta_range"):
        ls.iso_energy_landscape(h, J, np.ones(4), beta_range=(2.0, 1.0))


# --- exact landscapes of block models -----------------------------------------------------------


def _dense(n, scale, rng):
    J = np.triu(rng.normal(0.0, scale, (n, n)), 1)
    return J + J.T


def test_block_landscape_equals_enumeration_of_a_dense_block():
    rng = np.random.default_rng(11)
    n = 10
    h, J = rng.normal(0.0, 0.5, n), _dense(n, 0.6, rng)  # strong: no BP needed or used
    reference = np.sign(rng.normal(size=n))
    x = np.linspace(-3, 3, 25)
    land = ls.block_entropy_landscape([(h, J, reference)], x, beta=0.7)
    q, e, s = brute_landscape(h, J, reference, x, beta=0.7)
    assert_allclose(land.q, q, atol=1e-12)
    assert_allclose(land.energy, e, atol=1e-12)
    assert_allclose(land.s, s, atol=1e-12)
    assert land.converged.all() and land.info["block_sizes"] == [n]


def test_blocks_equal_the_block_diagonal_model():
    rng = np.random.default_rng(12)
    sizes = (5, 7)
    blocks = [(rng.normal(0, 0.4, k), _dense(k, 0.5, rng), np.sign(rng.normal(size=k)))
              for k in sizes]  # fmt: skip
    h = np.concatenate([b[0] for b in blocks])
    J = np.zeros((12, 12))
    J[:5, :5], J[5:, 5:] = blocks[0][1], blocks[1][1]
    reference = np.concatenate([b[2] for b in blocks])
    x = np.linspace(-2, 2, 9)
    land = ls.block_entropy_landscape(blocks, x)
    q, e, s = brute_landscape(h, J, reference, x)
    assert_allclose(land.q, q, atol=1e-12)
    assert_allclose(land.energy, e, atol=1e-12)
    assert_allclose(land.s, s, atol=1e-12)
    # exact: sweeping down gives the same curve, no hysteresis
    down = ls.block_entropy_landscape(blocks, x[::-1])
    assert_allclose(down.s[::-1], land.s, atol=1e-14)
    assert ls.hysteresis_width(land, down) == 0.0


def test_block_landscape_bad_input():
    h, J = np.zeros(3), np.zeros((3, 3))
    with pytest.raises(ValueError, match="reference"):
        ls.block_entropy_landscape([(h, J, np.array([1, 0, 1]))])
    with pytest.raises(ValueError, match="blocks"):
        ls.block_entropy_landscape([])
    with pytest.raises(ValueError, match="beta"):
        ls.block_entropy_landscape([(h, J, np.ones(3))], beta=0.0)
    with pytest.raises(ValueError):
        ls.block_entropy_landscape([(np.zeros(21), np.zeros((21, 21)), np.ones(21))])


def _nonbacktracking_dense(J):
    """The Mooij–Kappen matrix built explicitly on the directed edges k→i."""
    n = len(J)
    edges = [(k, i) for k in range(n) for i in range(n) if k != i and J[k, i] != 0]
    index = {e: a for a, e in enumerate(edges)}
    A = np.zeros((len(edges), len(edges)))
    for (i, j), a in index.items():
        for k in range(n):
            if k not in (i, j) and (k, i) in index:
                A[a, index[k, i]] = np.tanh(abs(J[i, j]))
    return A


def test_uniqueness_radius_of_a_complete_graph():
    # uniform coupling on K_n: every edge has n − 2 successors, ρ = (n − 2) tanh J
    n, coupling = 9, 0.13
    J = np.full((n, n), coupling) - coupling * np.eye(n)
    result = ls.bp_uniqueness_radius(J, beta=2.0)
    assert result.converged
    assert_allclose(result.value, (n - 2) * np.tanh(2 * coupling), rtol=1e-6)


def test_uniqueness_radius_is_zero_on_a_tree(tree):
    result = ls.bp_uniqueness_radius(tree(12, np.random.default_rng(3)))
    assert result.value == 0.0 and result.converged


def test_uniqueness_radius_against_dense_matrix_and_bound():
    rng = np.random.default_rng(4)
    n = 10
    J = np.triu(rng.normal(0.0, 0.3, (n, n)), 1)
    J = J + J.T
    exact = np.abs(np.linalg.eigvals(_nonbacktracking_dense(J))).max()
    result = ls.bp_uniqueness_radius(J, tol=1e-10)
    assert_allclose(result.value, exact, rtol=1e-6)
    # the Collatz–Wielandt upper bound is never below ρ, and ρ ≤ ρ(tanh|J|)
    assert result.info["lower"] <= exact <= result.value + 1e-12
    assert exact <= np.abs(np.linalg.eigvalsh(np.tanh(np.abs(J)))).max() + 1e-12


def test_uniqueness_radius_certifies_equal_sweeps():
    # ρ < 1: BP's fixed point is unique at every x, so the two sweeps coincide
    rng = np.random.default_rng(5)
    n = 30
    J = np.triu(rng.normal(0.0, 0.04, (n, n)), 1)
    J, h = J + J.T, rng.normal(0.0, 0.5, n)
    assert ls.bp_uniqueness_radius(J).value < 1
    reference = np.sign(rng.normal(size=n))
    x = np.linspace(-3, 3, 31)
    up = ls.entropy_landscape(h, J, reference, x)
    down = ls.entropy_landscape(h, J, reference, x[::-1])
    assert ls.hysteresis_width(up, down) == 0.0


def test_uniqueness_radius_budget_is_reported():
    rng = np.random.default_rng(6)
    n = 10
    J = np.triu(rng.normal(0.0, 0.3, (n, n)), 1)
    J = J + J.T
    with pytest.warns(RuntimeWarning, match="bp_uniqueness_radius"):
        result = ls.bp_uniqueness_radius(J, tol=1e-12, max_iter=1)
    assert result.converged is False and result.iterations == 1
    assert result.tol == 1e-12 and result.residual > result.tol
    # the residual is the relative gap of the two bounds, the quantity tol bounds
    assert_allclose(result.residual, (result.value - result.info["lower"]) / result.value)


def test_landscape_flags_points_where_bp_runs_out_of_sweeps():
    rng = np.random.default_rng(7)
    n = 12
    J = np.triu(rng.normal(0.0, 1.0, (n, n)), 1)  # a spin glass far below its transition
    J, h = J + J.T, np.zeros(n)
    reference = np.sign(rng.normal(size=n))
    with pytest.warns(RuntimeWarning, match="did not converge"):
        land = ls.entropy_landscape(h, J, reference, [0.1, 0.2], tol=1e-12, max_sweeps=2)
    assert not land.converged.any() and np.all(land.residual > 1e-12)
    # every damping level of the ladder gets max_sweeps sweeps: at most 4 × 2 in all
    assert np.all(land.iterations <= 4 * 2)


@pytest.mark.parametrize("J", [np.zeros(3), np.ones((2, 3)), np.array([[0, 1.0], [0.5, 0]])])
def test_uniqueness_radius_rejects_bad_couplings(J):
    with pytest.raises(ValueError, match="J must"):
        ls.bp_uniqueness_radius(J)


def test_correlation_signal_limits():
    rng = np.random.default_rng(6)
    # independent spins: no signal above the noise (or a tiny one), NaN or small
    independent = np.where(rng.random((4000, 12)) < 0.7, 1, -1).astype(np.int8)
    flat = ls.correlation_signal(independent, 0.0)
    assert flat.independent < 2 * flat.noise
    # strongly correlated pairs: a perfect model explains everything, independent spins nothing
    pairs = np.repeat(np.where(rng.random((4000, 6)) < 0.5, 1, -1), 2, axis=1).astype(np.int8)
    perfect = ls.correlation_signal(pairs, 0.0)
    assert perfect.explained > 1.0  # it also fits the noise
    assert_allclose(ls.correlation_signal(pairs, perfect.independent).explained, 0.0, atol=1e-12)
    assert perfect.noise < 0.05 < perfect.independent


def test_correlation_signal_groups_make_noise_honest():
    # each group repeats one configuration 8 times: splitting by rows hides the repetition
    rng = np.random.default_rng(7)
    base = np.where(rng.random((300, 10)) < 0.5, 1, -1).astype(np.int8)
    samples, groups = np.repeat(base, 8, axis=0), np.repeat(np.arange(300), 8)
    by_row = ls.correlation_signal(samples, 0.0)
    by_group = ls.correlation_signal(samples, 0.0, groups=groups)
    assert by_group.noise > 2 * by_row.noise
    with pytest.raises(ValueError, match="groups"):
        ls.correlation_signal(samples, 0.0, groups=np.zeros(len(samples)))


def test_tilted_monte_carlo_matches_enumeration():
    rng = np.random.default_rng(8)
    n = 10
    J = np.triu(rng.normal(0.0, 0.2, (n, n)), 1)
    J, h = J + J.T, rng.normal(0.0, 0.3, n)
    reference = np.sign(rng.normal(size=n))
    x, beta = np.array([-1.0, 0.0, 1.5]), np.array([0.5, 1.0, 2.0])
    mc = ls.tilted_monte_carlo(h, J, reference, x, beta, n_chains=8, sweeps=3000, seed=1)
    for k in range(x.size):
        q, e, _ = brute_landscape(h, J, reference, x[k : k + 1], beta=beta[k])
        assert abs(mc.d[k] - (1 - q[0]) / 2) < 5 * mc.d_error[k] + 1e-3
        assert abs(mc.energy[k] - e[0]) < 5 * mc.energy_error[k] + 1e-3
    with pytest.raises(ValueError, match="beta"):
        ls.tilted_monte_carlo(h, J, reference, x, beta=-1.0)
