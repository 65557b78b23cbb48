"""Tests for deepspin.binary_nets.incremental: scoring draws by correcting a reference."""

import dataclasses
from itertools import pairwise

import numpy as np
import pytest

from deepspin import binary_nets as bn
from deepspin.binary_nets import incremental
from deepspin.binary_nets.evaluate import _input_grid, count_correct, integer_blocks
from deepspin.binary_nets.incremental import count_correct_incremental, reference_layer


def _near_modes(widths, n_modes, n_per_mode, flip_prob, seed):
    """Modes, configurations that flip each weight of a mode with ``flip_prob``, their modes."""
    rng = np.random.default_rng(seed)
    n_w = bn.n_weights(widths)
    modes = rng.choice(np.array([-1, 1], dtype=np.int8), size=(n_modes, n_w))
    networks = np.repeat(np.arange(n_modes), n_per_mode)
    flips = rng.random((len(networks), n_w)) < flip_prob
    configs = np.where(flips, -modes[networks], modes[networks]).astype(np.int8)
    return modes, configs, networks


def _data(widths, n, seed):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, widths[0])) * rng.uniform(0.1, 5.0, widths[0])
    return x, rng.integers(0, widths[-1], n)


@pytest.mark.parametrize("widths", [(6, 3), (6, 5, 3), (20, 15, 15, 10), (7, 9, 8, 9, 4)])
@pytest.mark.parametrize("flip_prob", [0.01, 0.5])
def test_counts_equal_direct_scoring(widths, flip_prob):
    modes, configs, networks = _near_modes(widths, 3, 50, flip_prob, seed=len(widths))
    x, labels = _data(widths, 1000, seed=1)  # not a multiple of the image block
    reference = reference_layer(modes, widths, x, labels)
    correct, seen = count_correct_incremental(configs, networks, reference)
    direct, _ = count_correct(configs, widths, x, labels)
    assert np.array_equal(correct, direct) and np.all(seen == 1000)
    assert np.any(configs != modes[networks])


def test_counts_do_not_depend_on_the_reference():
    widths = (20, 15, 15, 10)
    modes, configs, networks = _near_modes(widths, 4, 40, 0.02, seed=2)
    x, labels = _data(widths, 500, seed=3)
    reference = reference_layer(modes, widths, x, labels)
    own, _ = count_correct_incremental(configs, networks, reference)
    other, _ = count_correct_incremental(configs, (networks + 1) % 4, reference)
    assert np.array_equal(own, other)


def test_early_exits_equal_those_of_direct_scoring():
    widths = (20, 15, 15, 10)
    modes, configs, networks = _near_modes(widths, 4, 64, 0.01, seed=4)
    x, labels = _data(widths, 3000, seed=5)
    labels = np.argmax(x[:, :10], axis=1)  # learnable: accuracies spread around the threshold
    reference = reference_layer(modes, widths, x, labels)
    full, _ = count_correct(configs, widths, x, labels)
    threshold = float(np.quantile(full, 0.6)) / 3000
    screen = dict(threshold=threshold, screen_at=(500, 1500), screen_z=1.0)
    got = count_correct_incremental(configs, networks, reference, **screen)
    want = count_correct(configs, widths, x, labels, **screen)
    assert np.array_equal(got[0], want[0]) and np.array_equal(got[1], want[1])
    assert np.any(got[1] < 3000) and np.any(got[1] == 3000)


def test_first_layer_is_exact_on_the_integer_grid():
    widths = (20, 15)
    x, _ = _data(widths, 300, seed=6)
    x = x.astype(np.float32).astype(np.float64)  # the kernels read float32 inputs
    bits = _input_grid(x, widths[0])
    # the largest possible first-layer sum still fits int32, one more bit would not
    largest = widths[0] * np.abs(np.rint(np.ldexp(x, bits))).max()
    assert largest < 2**31 <= widths[0] * np.abs(np.rint(np.ldexp(x, bits + 1))).max()
    blocks = integer_blocks(x, 128, bits)
    assert blocks.dtype == np.int32
    restored = blocks.reshape(-1, widths[0], 128).transpose(0, 2, 1).reshape(-1, widths[0])
    assert np.abs(np.ldexp(restored[:300].astype(np.float64), -bits) - x).max() <= 2.0**-bits
    # scaling the inputs by a power of two moves the grid with them: the same counts
    _, configs, _ = _near_modes(widths, 1, 30, 0.5, seed=7)
    labels = np.argmax(x[:, :15], axis=1)
    base, _ = count_correct(configs, widths, x, labels)
    assert np.array_equal(base, count_correct(configs, widths, np.ldexp(x, 7), labels)[0])


def test_groups_hold_one_network_each():
    networks = np.array([2, 0, 2, 1, 2, 2, 0, 2])
    order, groups = incremental._groups(networks, size=2)
    assert np.array_equal(np.sort(networks), networks[order])
    sizes = np.diff(groups)
    assert groups[0] == 0 and groups[-1] == len(networks) and np.all((sizes >= 1) & (sizes <= 2))
    for lo, hi in pairwise(groups):
        assert len(set(networks[order[lo:hi]])) == 1


def test_validation():
    widths = (6, 5, 3)
    modes, configs, networks = _near_modes(widths, 2, 5, 0.1, seed=8)
    x, labels = _data(widths, 50, seed=9)
    reference = reference_layer(modes, widths, x, labels)
    with pytest.raises(ValueError, match="networks"):
        count_correct_incremental(configs, networks + 1, reference)
    with pytest.raises(ValueError, match="configs"):
        count_correct_incremental(configs[:, :10], networks, reference)
    with pytest.raises(ValueError, match="threshold"):
        count_correct_incremental(configs, networks, reference, threshold=2.0)
    with pytest.raises(ValueError, match="modes"):
        reference_layer(modes * 0, widths, x, labels)
    with pytest.raises(ValueError, match="x must be"):
        reference_layer(modes, widths, x[:, :4], labels)


def test_reference_and_labels_are_checked():
    widths = (6, 5, 3)
    modes, configs, networks = _near_modes(widths, 2, 4, 0.1, seed=9)
    x, labels = _data(widths, 100, seed=9)
    reference = reference_layer(modes, widths, x, labels)
    bad = labels.copy()
    bad[0] = 3
    with pytest.raises(ValueError, match=r"labels must hold integers in \[0, 2\], got 3"):
        reference_layer(modes, widths, x, bad)
    with pytest.raises(ValueError, match="reference must be a ReferenceLayer"):
        count_correct_incremental(configs, networks, "reference")
    broken = dataclasses.replace(reference, block=64)
    with pytest.raises(ValueError, match="reference is not a ReferenceLayer built by"):
        count_correct_incremental(configs, networks, broken)
    with pytest.raises(ValueError, match=r"networks must hold integers in \[0, 1\], got 2"):
        count_correct_incremental(configs, np.full(len(configs), 2), reference)
    with pytest.raises(ValueError, match=r"screen_at\[0\]"):
        count_correct_incremental(configs, networks, reference, screen_at=(0,))
    with pytest.raises(ValueError, match="screen_z"):
        count_correct_incremental(configs, networks, reference, screen_z=-1.0)
