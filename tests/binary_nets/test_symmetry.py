"""Tests for deepspin.binary_nets.symmetry: orbits of the hidden-unit relabellings."""

from itertools import permutations

import numpy as np
import pytest

from deepspin import binary_nets as bn

WIDTHS = (6, 5, 4, 3)


def _ensemble(n_networks, seed, symmetric=True, widths=(20, 15, 15, 10)):
    """Magnetisations of ``n_networks`` ±1 networks whose weights are drawn with orbit means
    (one per input, one for the interior, one per class), or with a mean per weight."""
    rng = np.random.default_rng(seed)
    n_in, h1, h2, n_out = widths
    a, b, c = rng.uniform(-0.8, 0.8, n_in), 0.3, rng.uniform(-0.8, 0.8, n_out)
    means = [np.broadcast_to(a, (h1, n_in)), np.full((h2, h1), b),
             np.broadcast_to(c[:, None], (n_out, h2))]  # fmt: skip
    if not symmetric:
        means = [rng.uniform(-0.9, 0.9, mean.shape) for mean in means]
    flat = np.concatenate([mean.ravel() for mean in means])
    nets = np.where(rng.random((n_networks, flat.size)) < (1 + flat) / 2, 1.0, -1.0)
    return nets.mean(axis=0), a, c


def test_orbit_means_are_constant_on_orbits():
    m = np.random.default_rng(0).uniform(-1, 1, bn.n_weights(WIDTHS))
    first, interior, last = bn.orbit_means(m, WIDTHS)
    assert first.shape == (5, 6) and interior.shape == (4, 5) and last.shape == (3, 4)
    assert np.allclose(first, first[0]) and np.allclose(interior, interior[0, 0])
    assert np.allclose(last, last[:, :1])
    assert np.allclose(first[0], m[:30].reshape(5, 6).mean(axis=0))
    (same,) = bn.orbit_means(m[:18], (6, 3))  # no hidden unit: no symmetry
    assert np.array_equal(same, m[:18].reshape(3, 6))


def test_symmetric_ensemble_scatters_as_sampling_predicts():
    m, a, c = _ensemble(4000, seed=1)
    rows = bn.orbit_scatter(m, (20, 15, 15, 10), e_eff=4000.0)
    assert [r.kind for r in rows] == ["input", "interior", "class"]
    for row in rows:
        # the ratio fluctuates by about 1/sqrt(2 × degrees of freedom), 0.06 for 140
        assert 0.8 * row.noise < row.within < 1.2 * row.noise
    assert rows[0].between == pytest.approx(np.std(a), abs=0.02)
    assert rows[1].between == 0.0
    assert rows[2].between == pytest.approx(np.std(c), abs=0.02)


def test_broken_symmetry_shows_as_excess_scatter():
    m, _, _ = _ensemble(4000, seed=2, symmetric=False, widths=WIDTHS)
    rows = bn.orbit_scatter(m, WIDTHS, e_eff=4000.0)
    assert all(row.within > 5 * row.noise for row in rows)


def test_effective_networks():
    assert bn.effective_networks(np.repeat(np.arange(8), 10)) == pytest.approx(8.0)
    assert bn.effective_networks(np.zeros(50, dtype=int)) == pytest.approx(1.0)
    # shares 3/4 and 1/4: 1 / (9/16 + 1/16)
    assert bn.effective_networks([0, 0, 0, 1]) == pytest.approx(1.6)


def test_validation():
    with pytest.raises(ValueError, match="m must have shape"):
        bn.orbit_means(np.zeros(10), WIDTHS)
    with pytest.raises(ValueError, match="e_eff"):
        bn.orbit_scatter(np.zeros(bn.n_weights(WIDTHS)), WIDTHS, e_eff=0.5)
    with pytest.raises(ValueError, match="networks"):
        bn.effective_networks([])


def _moments(nets):
    return nets.mean(axis=0), nets.T @ nets / len(nets)


def test_independent_weights_correlate_at_the_sampling_noise():
    rng, widths = np.random.default_rng(3), (20, 15, 15, 10)  # thousands of pairs per kind
    nets = np.where(rng.random((3000, bn.n_weights(widths))) < 0.6, 1.0, -1.0)
    pairs = bn.pair_correlations(*_moments(nets), widths, e_eff=3000.0)
    assert {(p.layer, p.kind) for p in pairs} == {
        (layer, kind) for layer in range(3) for kind in ("same row", "same column", "neither")
    }
    for p in pairs:
        assert 0.9 * p.noise < p.rms < 1.1 * p.noise and abs(p.mean) < 0.5 * p.noise


def test_a_shared_sign_within_rows_shows_in_same_row_pairs_only():
    rng = np.random.default_rng(4)
    n_nets, (n_in, n_out) = 3000, (6, 5)
    # each hidden unit of each network flips its whole row of first-layer weights at random
    base = np.where(rng.random((n_nets, n_out, n_in)) < 0.8, 1.0, -1.0)
    rows = base * rng.choice([-1.0, 1.0], size=(n_nets, n_out, 1))
    rest = np.where(rng.random((n_nets, bn.n_weights(WIDTHS) - n_in * n_out)) < 0.5, 1.0, -1.0)
    nets = np.hstack([rows.reshape(n_nets, -1), rest])
    first = {
        p.kind: p for p in bn.pair_correlations(*_moments(nets), WIDTHS, 3000.0) if p.layer == 0
    }
    assert first["same row"].rms > 10 * first["same row"].noise
    assert first["neither"].rms < 1.2 * first["neither"].noise


def test_pair_correlation_validation():
    n = bn.n_weights(WIDTHS)
    with pytest.raises(ValueError, match=r"C must have shape \(62, 62\), got \(62, 61\)"):
        bn.pair_correlations(np.zeros(n), np.zeros((n, n - 1)), WIDTHS, 10.0)
    with pytest.raises(ValueError, match="e_eff"):
        bn.pair_correlations(np.zeros(n), np.zeros((n, n)), WIDTHS, 0.0)


def _relabelled(samples, widths, rng):
    """The same configurations with the hidden units of each hidden layer permuted."""
    layers = bn.unflatten_weights(samples, widths)
    for k in range(1, len(widths) - 1):
        perm = rng.permutation(widths[k])
        layers[k - 1] = layers[k - 1][:, perm, :]
        layers[k] = layers[k][:, :, perm]
    return bn.flatten_weights(layers)


@pytest.mark.parametrize("layer", [0, 1, 2])
def test_symmetrised_moments_are_the_group_average(layer):
    rng = np.random.default_rng(layer)
    samples = rng.choice([-1.0, 1.0], size=(40, bn.n_weights(WIDTHS)))
    samples[:, :6] = samples[:, 6:12]  # structure that the relabellings mix
    sl = bn.layer_slices(WIDTHS)[layer]
    # the exact group average: moments of the union of every relabelled copy
    copies = []
    for first in permutations(range(5)):
        for second in permutations(range(4)):
            layers = bn.unflatten_weights(samples, WIDTHS)
            layers[0], layers[1] = layers[0][:, list(first), :], layers[1][:, list(second), :]
            layers[1] = layers[1][:, :, list(first)]
            layers[2] = layers[2][:, :, list(second)]
            copies.append(bn.flatten_weights(layers)[:, sl])
    pooled = np.concatenate(copies)
    m_avg, C_avg = pooled.mean(axis=0), pooled.T @ pooled / len(pooled)
    m, C = (samples[:, sl].mean(axis=0), samples[:, sl].T @ samples[:, sl] / len(samples))
    m_sym, C_sym = bn.symmetrised_moments(m, C, WIDTHS, layer)
    np.testing.assert_allclose(m_sym, m_avg, atol=1e-12)
    np.testing.assert_allclose(C_sym, C_avg, atol=1e-12)
    # invariant: relabelling the data first changes nothing
    other = _relabelled(samples, WIDTHS, rng)[:, sl]
    m2, C2 = bn.symmetrised_moments(other.mean(axis=0), other.T @ other / len(other), WIDTHS, layer)
    np.testing.assert_allclose(m2, m_sym, atol=1e-12)
    np.testing.assert_allclose(C2, C_sym, atol=1e-12)


def test_symmetrised_interior_has_one_field_and_three_correlations():
    rng = np.random.default_rng(5)
    s = rng.choice([-1.0, 1.0], size=(30, 20))
    m, C = bn.symmetrised_moments(s.mean(0), s.T @ s / 30, WIDTHS, 1)
    assert np.unique(np.round(m, 12)).size == 1
    assert np.unique(np.round(C, 12)).size == 4  # the diagonal and three kinds of pairs
    with pytest.raises(ValueError, match="layer"):
        bn.symmetrised_moments(m, C, WIDTHS, 3)
    with pytest.raises(ValueError, match="m must have shape"):
        bn.symmetrised_moments(m[:5], C, WIDTHS, 1)


def test_interior_orbit_values_of_a_constructed_layer():
    widths = (2, 3, 4, 2)  # interior layer 1: 4 × 3
    n = 12
    m = np.full(n, 0.2)
    row, col = np.divmod(np.arange(n), 3)
    connected = np.where(row[:, None] == row[None, :], 0.05, 0.0) + np.where(
        col[:, None] == col[None, :], -0.02, 0.0) + 0.001  # fmt: skip
    C = connected + np.outer(m, m)
    np.fill_diagonal(C, 1.0)
    values = bn.interior_orbit_values(m, C, widths, 1)
    np.testing.assert_allclose(values, [0.2, 0.051, -0.019, 0.001], atol=1e-12)
    with pytest.raises(ValueError, match="between two hidden layers"):
        bn.interior_orbit_values(m[:4], np.eye(4), widths, 0)
    with pytest.raises(ValueError, match="m must have shape"):
        bn.interior_orbit_values(m[:5], C, widths, 1)


def _logits(configs, widths, x):
    out = []
    for config in configs:
        a = x
        for k, w in enumerate(bn.unflatten_weights(config[None], widths)):
            z = a @ np.asarray(w[0], dtype=np.float64).T
            a = np.maximum(z, 0.1 * z) / np.sqrt(w.shape[2]) if k < len(widths) - 2 else z
        out.append(a)
    return np.array(out)


def test_relabelling_keeps_the_function_and_mixes_the_units():
    widths = (5, 4, 3, 2)
    rng = np.random.default_rng(7)
    configs = rng.choice([-1, 1], size=(50, bn.n_weights(widths))).astype(np.int8)
    relabelled = bn.relabel_hidden_units(configs, widths, seed=1)
    assert relabelled.dtype == np.int8 and relabelled.shape == configs.shape
    x = rng.normal(size=(200, 5))
    # the same function: the same logits, computed in float64 (exact ties make accuracies
    # of float32 kernels depend on the summation order)
    np.testing.assert_allclose(_logits(configs, widths, x), _logits(relabelled, widths, x),
                               atol=1e-12)  # fmt: skip
    np.testing.assert_array_equal(bn.relabel_hidden_units(configs, widths, seed=1), relabelled)
    # one configuration repeated: its relabelled copies spread over the orbit
    copies = bn.relabel_hidden_units(np.repeat(configs[:1], 2000, axis=0), widths, seed=2)
    first = copies[:, :20].reshape(-1, 4, 5).mean(axis=0)
    assert np.allclose(first, first.mean(axis=0), atol=0.1)  # constant along the hidden axis
    with pytest.raises(ValueError, match="configs"):
        bn.relabel_hidden_units(configs[:, :-1], widths)


def test_network_distances_separate_clusters():
    rng = np.random.default_rng(8)
    centres = rng.choice([-1, 1], size=(4, 200))
    networks = np.repeat(np.arange(4), 30)
    flips = rng.random((120, 200)) < 0.02
    configs = np.where(flips, -centres[networks], centres[networks])
    within, between = bn.network_distances(configs, networks)
    assert abs(within - 2 * 0.02 * 0.98) < 0.01 and abs(between - 0.5) < 0.05
    with pytest.raises(ValueError, match="networks"):
        bn.network_distances(configs, networks[:-1])
    with pytest.raises(ValueError, match="at least two"):
        bn.network_distances(configs[:2], np.array([0, 1]))


def test_moments_and_labels_are_checked():
    n = bn.n_weights(WIDTHS)
    with pytest.raises(ValueError, match=r"m must hold finite reals in \[-1, 1\], got 1.5"):
        bn.orbit_means(np.full(n, 1.5), WIDTHS)
    C = np.eye(n)
    C[0, 1] = np.nan
    with pytest.raises(ValueError, match="C must hold finite reals"):
        bn.pair_correlations(np.zeros(n), C, WIDTHS, 2.0)
    with pytest.raises(ValueError, match=r"networks must hold integers in \[0, 2\], got 3"):
        bn.effective_networks([0, 1, 3], n_networks=3)
    with pytest.raises(ValueError, match="networks must be an array of integers"):
        bn.effective_networks([0.0, 1.0])
    with pytest.raises(ValueError, match="configs must hold spins"):
        bn.network_distances(np.zeros((4, 6)), np.array([0, 0, 1, 1]))
    with pytest.raises(ValueError, match="configs must hold finite reals"):
        bn.relabel_hidden_units(np.full((2, n), np.nan), WIDTHS)
