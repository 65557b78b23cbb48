"""Tests for deepspin.binary_nets.unit_model: the pooled exact model of one hidden unit."""

import numpy as np
import pytest

from deepspin import ising
from deepspin.binary_nets import flatten_weights, unflatten_weights
from deepspin.binary_nets.unit_model import block_coupling_rms as bn_block_rms
from deepspin.binary_nets.unit_model import fit_unit_model, hidden_unit_blocks

WIDTHS = (6, 4, 3, 5)


def _random_block_model(n, rng, scale=0.4):
    J = np.triu(rng.normal(0.0, scale, (n, n)), 1)
    return rng.normal(0.0, 0.5, n), J + J.T


def _layers_from_units(h, J, n_samples, rng, widths=WIDTHS):
    """Configurations whose first-layer rows and last-layer columns are independent exact
    samples of per-unit models ``(h, J)``; the interior is uniform."""
    n_first, n_last = widths[1], widths[-2]
    first = ising.sample_exact(h[0], J[0], n_samples * n_first, seed=rng).reshape(
        n_samples, n_first, widths[0]
    )
    last = ising.sample_exact(h[1], J[1], n_samples * n_last, seed=rng).reshape(
        n_samples, n_last, widths[-1])  # fmt: skip
    middle = rng.choice([-1, 1], size=(n_samples, widths[2], widths[1]))
    return flatten_weights([first, middle, np.swapaxes(last, 1, 2)])


def test_blocks_are_rows_of_the_first_layer_and_columns_of_the_last():
    rng = np.random.default_rng(0)
    flat = rng.choice([-1, 1], size=(7, 6 * 4 + 4 * 3 + 3 * 5))
    first, _, last = unflatten_weights(flat, WIDTHS)
    np.testing.assert_array_equal(hidden_unit_blocks(flat, WIDTHS, 0), first)
    blocks = hidden_unit_blocks(flat, WIDTHS, 2)
    assert blocks.shape == (7, 3, 5)
    for j in range(3):
        np.testing.assert_array_equal(blocks[:, j, :], last[:, :, j])


def test_fit_recovers_a_known_unit_model():
    rng = np.random.default_rng(1)
    h1, J1 = _random_block_model(6, rng)
    h3, J3 = _random_block_model(5, rng)
    flat = _layers_from_units((h1, h3), (J1, J3), 40_000, rng)
    for layer, (h, J) in [(0, (h1, J1)), (2, (h3, J3))]:
        model = fit_unit_model(flat, WIDTHS, layer)
        assert model.fit.converged
        # 1.6e5 (first) or 1.2e5 (last) pooled blocks: parameters to a few 1e-2
        assert np.abs(model.h - h).max() < 0.05
        assert np.abs(model.J - J).max() < 0.05


def test_layer_moments_match_samples_in_layer_order():
    rng = np.random.default_rng(2)
    h1, J1 = _random_block_model(6, rng, scale=0.8)
    h3, J3 = _random_block_model(5, rng, scale=0.8)
    flat = _layers_from_units((h1, h3), (J1, J3), 20_000, rng)
    for layer, sl in [(0, slice(0, 24)), (2, slice(36, 51))]:
        model = fit_unit_model(flat, WIDTHS, layer)
        m, C = model.moments()
        m_data, C_data = ising.moments(flat[:, sl])
        # the fit equals the pooled moments; per weight they differ by sampling noise only
        assert np.abs(m - m_data).max() < 0.04
        assert np.abs(C - C_data).max() < 0.04
        np.testing.assert_allclose(np.diag(C), 1.0)
        # pairs in different units are independent in the model
        if layer == 2:
            assert C[0, 1] == pytest.approx(m[0] * m[1])  # (k=0, j=0) and (k=0, j=1)
            assert C[0, 3] != pytest.approx(m[0] * m[3])  # (k=0, j=0) and (k=1, j=0)


def test_blocks_for_the_landscape_follow_the_reference():
    rng = np.random.default_rng(3)
    flat = rng.choice([-1, 1], size=(500, 51))
    model = fit_unit_model(flat, WIDTHS, 2)
    reference = flat[0, 36:51]
    blocks = model.blocks(reference)
    assert len(blocks) == 3
    for j, (_, _, ref) in enumerate(blocks):
        np.testing.assert_array_equal(ref, reference.reshape(5, 3)[:, j])
    # the last layer's weight (k, j) belongs to unit j
    np.testing.assert_array_equal(model.units, np.tile(np.arange(3), 5))
    landscape = ising.block_entropy_landscape(blocks, np.array([-2.0, 0.0, 2.0]))
    assert np.all(np.diff(landscape.d) < 0)


def test_bad_input():
    flat = np.ones((3, 51))
    with pytest.raises(ValueError, match="layer"):
        hidden_unit_blocks(flat, WIDTHS, 1)
    with pytest.raises(ValueError, match="hidden layer"):
        hidden_unit_blocks(np.ones((3, 30)), (6, 5), 0)
    with pytest.raises(ValueError, match="samples"):
        hidden_unit_blocks(np.ones((3, 50)), WIDTHS, 0)
    model = fit_unit_model(np.random.default_rng(0).choice([-1, 1], (200, 51)), WIDTHS, 0)
    with pytest.raises(ValueError, match="reference"):
        model.blocks(np.ones(23))


def test_interior_blocks_by_row_and_column():
    rng = np.random.default_rng(3)
    flat = rng.choice([-1, 1], size=(7, 51))
    _, middle, _ = unflatten_weights(flat, WIDTHS)  # (7, 3, 4): hidden-2 × hidden-1
    np.testing.assert_array_equal(hidden_unit_blocks(flat, WIDTHS, 1, axis="row"), middle)
    columns = hidden_unit_blocks(flat, WIDTHS, 1, axis="column")
    assert columns.shape == (7, 4, 3)
    np.testing.assert_array_equal(columns[:, 2, :], middle[:, :, 2])
    with pytest.raises(ValueError, match="last"):
        hidden_unit_blocks(flat, WIDTHS, 2, axis="row")
    with pytest.raises(ValueError, match="first"):
        hidden_unit_blocks(flat, WIDTHS, 0, axis="column")
    with pytest.raises(ValueError, match="axis"):
        hidden_unit_blocks(flat, WIDTHS, 1, axis="diagonal")


def test_block_coupling_rms_recovers_known_couplings():
    rng = np.random.default_rng(4)
    n, units = 8, 5
    J = np.full((n, n), 0.3)
    np.fill_diagonal(J, 0.0)
    blocks = ising.sample_exact(np.zeros(n), J, 4000 * units, seed=rng).reshape(4000, units, n)
    # all 8 spins: the model that generated them, 2e4 pooled samples
    np.testing.assert_allclose(bn_block_rms(blocks, 8, n_subsets=1, seed=0), [0.3], atol=0.02)
    # 5 of the 8 ferromagnetic spins: the other 3 mediate, so the marginal couples more
    strong = bn_block_rms(blocks, 5, n_subsets=3, seed=0)
    assert strong.shape == (3,) and np.all(strong > 0.35)
    independent = rng.choice([-1, 1], size=(4000, units, n))
    # 2e4 pooled samples: couplings of independent spins are noise of order 1/sqrt(2e4)
    assert np.all(bn_block_rms(independent, 5, seed=0) < 0.02)
    np.testing.assert_allclose(bn_block_rms(blocks, 5, seed=1), bn_block_rms(blocks, 5, seed=1))
    with pytest.raises(ValueError, match="size"):
        bn_block_rms(blocks, 9)
    with pytest.raises(ValueError, match="blocks"):
        bn_block_rms(blocks[0], 3)


@pytest.mark.parametrize("options", [dict(max_iter=1), dict(tol=1e-300, max_iter=50)])
def test_an_unconverged_fit_says_so(options):
    # solver honesty (issue 19): the flag is read from the residual it reports, the
    # iterations stay within max_iter, and stopping short warns
    rng = np.random.default_rng(4)
    h1, J1 = _random_block_model(6, rng, scale=0.8)
    h3, J3 = _random_block_model(5, rng, scale=0.8)
    flat = _layers_from_units((h1, h3), (J1, J3), 2_000, rng)
    tol = options.get("tol", 1e-7)  # fit_exact's default
    with pytest.warns(RuntimeWarning, match="without converging"):
        model = fit_unit_model(flat, WIDTHS, 0, **options)
    fit = model.fit
    assert fit.converged is False and fit.residual > tol
    assert 1 <= fit.iterations <= options["max_iter"]
    assert fit.tol is None or fit.tol == tol


def test_unit_model_inputs_are_checked():
    flat = np.random.default_rng(5).choice([-1, 1], size=(20, 6 * 4 + 4 * 3 + 3 * 5))
    bad = flat.copy()
    bad[3, 0] = 0
    with pytest.raises(ValueError, match=r"samples must hold spins in \{-1, \+1\}, got 0"):
        fit_unit_model(bad, WIDTHS, 0)
    with pytest.raises(ValueError, match="axis must be one of"):
        hidden_unit_blocks(flat, WIDTHS, 1, axis="diagonal")
    with pytest.raises(ValueError, match="at most 2\\^24"):
        fit_unit_model(np.ones((2, 25 * 2 + 2 * 3)), (25, 2, 3), 0)
    blocks = hidden_unit_blocks(flat, WIDTHS, 0).astype(float)
    blocks[0, 0, 0] = np.nan
    with pytest.raises(ValueError, match="blocks must hold spins"):
        bn_block_rms(blocks, 3)
