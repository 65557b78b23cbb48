"""Tests for deepspin.binary_nets.evaluate: the numba scoring kernel and its early exits."""

from itertools import pairwise

import numpy as np
import pytest
import torch

from deepspin import binary_nets as bn
from deepspin.binary_nets.evaluate import count_correct
from deepspin.binary_nets.forward_kernels import BLOCK


def _problem(widths, n, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, widths[0])).astype(np.float32)
    labels = rng.integers(0, widths[-1], n)
    configs = rng.choice(np.array([-1, 1], dtype=np.int8), size=(40, bn.n_weights(widths)))
    return configs, x, labels


def _reference_hits(config, widths, x, labels):
    """Per image: label == argmax (first maximum) of the float64 forward pass, and whether
    the top two logits are so close that float32 rounding may order them either way."""
    a, start = x.astype(np.float64), 0
    for layer, (n_in, n_out) in enumerate(pairwise(widths)):
        w = config[start : start + n_in * n_out].reshape(n_out, n_in).astype(np.float64)
        start += n_in * n_out
        z = a @ w.T
        a = z if layer == len(widths) - 2 else np.where(z > 0, z, 0.1 * z) / np.sqrt(n_in)
    top2 = np.sort(a, axis=1)[:, -2:]
    near_tie = (top2[:, 1] - top2[:, 0] < 1e-5 * (1 + np.abs(top2[:, 1]))) & (
        top2[:, 1] != top2[:, 0]
    )
    return np.argmax(a, axis=1) == labels, near_tie


@pytest.mark.parametrize("widths", [(6, 3), (6, 5, 3), (6, 5, 4, 3), (7, 9, 9, 9, 4)])
def test_counts_match_a_float64_reference(widths):
    configs, x, labels = _problem(widths, 333)  # not a multiple of the image block
    correct, seen = count_correct(configs, widths, x, labels)
    assert np.all(seen == len(labels))
    for got, config in zip(correct, configs, strict=True):
        hits, near = _reference_hits(config, widths, x, labels)
        assert abs(got - hits.sum()) <= near.sum()


def test_exact_ties_go_to_the_first_class():
    widths = (4, 3)
    config = np.ones((1, 12), dtype=np.int8)  # identical output rows: the logits tie
    x = np.random.default_rng(1).standard_normal((100, 4))
    assert count_correct(config, widths, x, np.zeros(100, int))[0][0] == 100
    assert count_correct(config, widths, x, np.full(100, 2))[0][0] == 0


def test_torch_path_agrees():
    widths = (6, 5, 4, 3)
    configs, x, labels = _problem(widths, 500, seed=2)
    numba_acc = bn.configuration_accuracy(configs, widths, x, labels)
    weights = bn.unflatten_weights(torch.as_tensor(configs, dtype=torch.float32), widths)
    correct = bn.lrnet._binary_correct(
        weights, torch.as_tensor(x), torch.as_tensor(labels), tile=128
    )
    assert np.abs(numba_acc - correct.numpy() / 500).max() <= 2 / 500


def test_exact_rejection_never_loses_a_configuration_above_the_threshold():
    widths, n = (6, 5, 3), 3000
    configs, x, labels = _problem(widths, n, seed=3)
    full, _ = count_correct(configs, widths, x, labels)
    threshold = np.quantile(full, 0.5) / n
    correct, seen = count_correct(configs, widths, x, labels, threshold=threshold)
    above = full >= threshold * n - 1e-9
    assert above.any() and (~above).any()
    assert np.array_equal(correct[above], full[above]) and np.all(seen[above] == n)
    assert np.any(seen[~above] < n)
    # an abandoned configuration stops exactly when the remaining images cannot suffice
    abandoned = seen < n
    assert not np.any(abandoned & above)
    for c, s, config in zip(correct[abandoned], seen[abandoned], configs[abandoned], strict=True):
        prefix, _ = count_correct(config[None], widths, x[:s], labels[:s])
        assert prefix[0] == c and c + (n - s) < threshold * n
        assert c + (n - s + BLOCK) >= threshold * n  # not earlier than one block


def test_screening_drops_only_configurations_far_below():
    widths = (6, 5, 3)
    configs, x, labels = _problem(widths, 2000, seed=4)
    full, _ = count_correct(configs, widths, x, labels)
    threshold = float(np.quantile(full, 0.75)) / 2000
    correct, seen = count_correct(
        configs, widths, x, labels, threshold=threshold, screen_at=(256,), screen_z=1.0
    )
    screened = seen == 256
    assert screened.any()
    bound = threshold - np.sqrt(threshold * (1 - threshold) / 256)
    assert np.all(correct[screened] < bound * 256)
    unscreened = seen == 2000
    assert np.array_equal(correct[unscreened], full[unscreened])


def test_bad_shapes_and_threshold():
    configs, x, labels = _problem((6, 3), 50)
    with pytest.raises(ValueError, match="configs"):
        count_correct(configs[:, :10], (6, 3), x, labels)
    with pytest.raises(ValueError, match="x must be"):
        count_correct(configs, (6, 3), x[:, :4], labels)
    with pytest.raises(ValueError, match="threshold"):
        count_correct(configs, (6, 3), x, labels, threshold=1.5)
