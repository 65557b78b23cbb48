"""Scoring configurations that differ from a reference configuration in a few weights.

The configurations of a weight ensemble are drawn from trained LR-net fields, which
saturate: a draw differs from its network's most likely configuration (its *mode*,
``sign θ``) in a handful of weights (about five of the 675 of a deep 20-15-15-10 network
of chapter ``zh_training``, two of them in the first layer; fewer than one of the 200 of a
shallow 20-10 network). The first layer of the mode is computed once on the whole test
set; a draw corrects it row by row (chapter ``zh_training``, eq. (incremental-update)):

``z¹_o = z¹*_o + Σ_{i : (o,i) flipped} 2 w_oi x_i``,

one vector operation per flipped weight instead of the first layer's 300 multiply-adds
per image, and computes the later layers as :func:`deepspin.binary_nets.evaluate.count_correct`
does. The first layer is exact integer arithmetic there (inputs on the grid ``2^-bits``),
so the correction gives exactly the sums a direct computation gives, and the two kernels
return the same counts whatever reference a configuration is scored against.

Configurations of one network are scored together, with the images as the outer loop, so
that the mode's first layer on a block of images is read from memory once for all of them.
The early exits are those of :func:`deepspin.binary_nets.evaluate.count_correct`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import njit, prange

from deepspin.binary_nets.evaluate import (
    check_configs,
    check_images,
    check_screening,
    integer_blocks,
)
from deepspin.binary_nets.forward_kernels import (
    BLOCK,
    argmax_hits,
    dense_layer,
    early_exit,
    first_activation,
    screening_bounds,
    upper_layers,
)
from deepspin.binary_nets.lrnet import check_widths, n_weights
from deepspin.checks import check_int, check_int_array

__all__ = ["ReferenceLayer", "count_correct_incremental", "reference_layer"]

# Configurations of one mode scored together: enough to reuse the mode's first layer from
# cache, few enough to spread the groups over the threads.
_GROUP = 32


@dataclass(frozen=True)
class ReferenceLayer:
    """The first layer of reference configurations on a test set, exact.

    Attributes
    ----------
    modes : ndarray int8 ``(E, n_weights)``
        The reference configurations (flat layout of :func:`deepspin.binary_nets.layer_slices`).
    widths : ndarray int64
    x_blocks : ndarray int32 ``(n_blocks, n_in · block)``
        The inputs in units of ``2^-bits`` in blocks of images stored input-major.
    z : ndarray int32 ``(E, n_blocks, widths[1] · block)``
        First-layer pre-activations of every mode, in the same units.
    labels : ndarray int64 ``(T,)``
    block : int
        Images per block.
    """

    modes: np.ndarray
    widths: np.ndarray
    x_blocks: np.ndarray
    z: np.ndarray
    labels: np.ndarray
    block: int

    @property
    def n_images(self) -> int:
        return self.labels.shape[0]


@njit(cache=True, parallel=True)
def _reference_z(x_blocks, modes, widths, block):
    n_modes, n_blocks = modes.shape[0], x_blocks.shape[0]
    z = np.empty((n_modes, n_blocks, widths[1] * block), dtype=np.int32)
    for e in prange(n_modes):
        first = modes[e, : widths[0] * widths[1]].astype(np.int32)
        for blk in range(n_blocks):
            dense_layer(first, 0, widths[0], widths[1], x_blocks[blk], z[e, blk], block)
    return z


def reference_layer(modes, widths, x, labels, block=BLOCK) -> ReferenceLayer:
    """First layer of the reference configurations ``modes`` on ``(x, labels)``.

    Parameters
    ----------
    modes : array ``(E, n_weights)`` of ±1
    widths : sequence of int
        ``(n_in, hidden..., n_out)``, each in [1, 100000].
    x : array ``(T, n_in)`` of finite reals, T ≥ 1
        Images, in the order in which they will be scored (shuffle them for screening).
    labels : array ``(T,)`` of int, in ``[0, n_out)``
    block : int, ≥ 1
        Images per block.
    """
    widths = check_widths(widths)
    n_w = n_weights(widths)
    modes = check_configs("modes", modes, ndim=2)
    if modes.shape[1] != n_w:
        raise ValueError(f"modes must have shape (E, {n_w}) for widths {widths}, got {modes.shape}")
    x, labels = check_images(x, labels, widths[0], widths[-1])
    block = check_int("block", block, 1)
    modes = np.ascontiguousarray(modes, dtype=np.int8)
    widths = np.asarray(widths, dtype=np.int64)
    x_blocks = integer_blocks(x, block)
    return ReferenceLayer(modes, widths, x_blocks, _reference_z(x_blocks, modes, widths, block),
                          labels, block)  # fmt: skip


def _check_reference(reference):
    """A :class:`ReferenceLayer` whose arrays fit together (the kernel indexes them
    without bounds checks)."""
    if not isinstance(reference, ReferenceLayer):
        raise ValueError(
            f"reference must be a ReferenceLayer (from reference_layer), got {reference!r:.80}"
        )
    r = reference
    widths, block = r.widths, r.block
    try:
        fits = (
            isinstance(block, int) and block >= 1
            and isinstance(widths, np.ndarray) and widths.dtype == np.int64
            and widths.ndim == 1 and widths.size >= 2 and widths.min() >= 1
            and r.modes.dtype == np.int8 and r.modes.ndim == 2 and r.modes.shape[0] >= 1
            and r.modes.shape[1] == int(np.sum(widths[:-1] * widths[1:]))
            and r.labels.dtype == np.int64 and r.labels.ndim == 1 and r.labels.size >= 1
            and 0 <= r.labels.min() <= r.labels.max() < widths[-1]
            and r.x_blocks.dtype == np.int32
            and r.x_blocks.shape == (-(-r.labels.size // block), widths[0] * block)
            and r.z.dtype == np.int32
            and r.z.shape == (r.modes.shape[0], r.x_blocks.shape[0], widths[1] * block)
        )  # fmt: skip
    except (AttributeError, TypeError, ValueError):
        fits = False
    if not fits:
        raise ValueError("reference is not a ReferenceLayer built by reference_layer")
    return reference


@njit(cache=True, parallel=True)
def _first_layer_flips(configs, networks, modes, n_first):
    """First-layer weights where each configuration differs from its mode.

    The flips of configuration c are ``starts[c]:starts[c + 1]`` of the flat arrays
    ``flat`` (index in the first layer) and ``twice_w`` (``w − w* = 2w``).
    """
    n_conf = configs.shape[0]
    n_diff = np.zeros(n_conf + 1, dtype=np.int64)
    for c in prange(n_conf):
        mode = modes[networks[c]]
        count = 0
        for k in range(n_first):
            count += configs[c, k] != mode[k]
        n_diff[c + 1] = count
    starts = np.cumsum(n_diff)
    flat = np.empty(starts[-1], dtype=np.int64)
    twice_w = np.empty(starts[-1], dtype=np.int32)
    for c in prange(n_conf):
        mode, n = modes[networks[c]], starts[c]
        for k in range(n_first):
            if configs[c, k] != mode[k]:
                flat[n], twice_w[n] = k, 2 * configs[c, k]
                n += 1
    return starts, flat, twice_w


@njit(cache=True, fastmath=True)
def _corrected_row(ref_row, x, flips, twice_w, first, last, n_in, out, block):
    """``out = z*_o + Σ 2 w_oi x_i`` over the flips ``first:last`` of one output row."""
    for t in range(block):
        out[t] = ref_row[t]
    for f in range(first, last):
        src = x[(flips[f] % n_in) * block :]
        alpha = twice_w[f]
        for t in range(block):
            out[t] += alpha * src[t]


@njit(cache=True, parallel=True, fastmath=True)
def _count_incremental(
    configs, networks, groups, modes, widths, x_blocks, z_ref, labels, required, screen_at,
    screen_min, block,
):  # fmt: skip
    n_conf, n_blocks, n_images = configs.shape[0], x_blocks.shape[0], labels.shape[0]
    n_layers = widths.shape[0] - 1
    n_in, n_hidden, n_out = widths[0], widths[1], widths[n_layers]
    width_max = widths.max()
    starts, flips, twice_w = _first_layer_flips(configs, networks, modes, n_in * n_hidden)
    correct = np.zeros(n_conf, dtype=np.int64)
    seen = np.zeros(n_conf, dtype=np.int64)
    for g in prange(groups.shape[0] - 1):
        first, last = groups[g], groups[g + 1]
        e = networks[first]
        weights = configs[first:last].astype(np.float32)
        # row_flips[c, o]: the first flip of output row o (flips are sorted by row)
        row_flips = np.empty((last - first, n_hidden + 1), dtype=np.int64)
        for c in range(first, last):
            f = starts[c]
            for o in range(n_hidden + 1):
                while f < starts[c + 1] and flips[f] // n_in < o:
                    f += 1
                row_flips[c - first, o] = f
        z_row = np.empty(block, dtype=np.int32)
        a = np.empty(width_max * block, dtype=np.float32)
        b = np.empty(width_max * block, dtype=np.float32)
        best = np.empty(block, dtype=np.float32)
        arg = np.empty(block, dtype=np.int64)
        active = np.ones(last - first, dtype=np.bool_)
        next_screen = np.zeros(last - first, dtype=np.int64)
        n_active, done = last - first, 0
        for blk in range(n_blocks):
            if n_active == 0:
                break
            count = min(block, n_images - done)
            ref, x = z_ref[e, blk], x_blocks[blk]
            for c in range(first, last):
                k = c - first
                if not active[k]:
                    continue
                for o in range(n_hidden):
                    ref_row = ref[o * block : (o + 1) * block]
                    a_row = a[o * block : (o + 1) * block]
                    lo, hi = row_flips[k, o], row_flips[k, o + 1]
                    if lo == hi:
                        first_activation(ref_row, a_row, block, n_layers > 1)
                    else:
                        _corrected_row(ref_row, x, flips, twice_w, lo, hi, n_in, z_row, block)
                        first_activation(z_row, a_row, block, n_layers > 1)
                logits = upper_layers(weights[k], widths, a, b, block)
                good = correct[c] + argmax_hits(logits, n_out, labels, done, count, best, arg,
                                                block)  # fmt: skip
                correct[c] = good
                seen[c] = done + count
                stop, next_screen[k] = early_exit(
                    good, done + count, n_images, required, screen_at, screen_min, next_screen[k]
                )
                if stop:
                    active[k] = False
                    n_active -= 1
            done += count
    return correct, seen


def _groups(networks, size):
    """Order that sorts ``networks``, and the starts of groups of at most ``size``
    consecutive sorted entries of one network each (with the end as the last entry)."""
    order = np.argsort(networks, kind="stable")
    ordered = networks[order]
    new_network = np.flatnonzero(np.diff(ordered)) + 1
    bounds = []
    for lo, hi in zip(np.r_[0, new_network], np.r_[new_network, len(order)], strict=True):
        bounds.extend(range(lo, hi, size))
    return order, np.asarray([*bounds, len(order)], dtype=np.int64)


def count_correct_incremental(
    configs, networks, reference: ReferenceLayer, threshold=0.0, screen_at=(), screen_z=4.0
):
    """Correct answers of configurations near reference ones, with early exits.

    The counts equal those of :func:`deepspin.binary_nets.evaluate.count_correct` on the
    same images, in the same order.

    Parameters
    ----------
    configs : array ``(K, n_weights)`` of ±1
    networks : array ``(K,)`` of int, in ``[0, E)``
        The reference each configuration is scored against: any index gives the same
        counts, the nearest reference the fastest.
    reference : ReferenceLayer
        From :func:`reference_layer`.
    threshold, screen_at, screen_z :
        As in :func:`deepspin.binary_nets.evaluate.count_correct`: ``threshold`` in
        [0, 1], ``screen_at`` integers ≥ 1, ``screen_z`` ≥ 0.

    Returns
    -------
    correct, seen : ndarray of int64 ``(K,)``
        As in :func:`deepspin.binary_nets.evaluate.count_correct`.
    """
    reference = _check_reference(reference)
    n_modes, n_w = reference.modes.shape
    configs = check_configs("configs", configs, ndim=2)
    if configs.shape[1] != n_w:
        raise ValueError(f"configs must have shape (K, {n_w}), got {configs.shape}")
    networks = check_int_array("networks", networks, 0, n_modes - 1, ndim=1)
    if networks.shape != (configs.shape[0],):
        raise ValueError(
            f"networks must give one reference per configuration: {networks.shape[0]} "
            f"indices for {configs.shape[0]} configs"
        )
    threshold, screen_at, screen_z = check_screening(threshold, screen_at, screen_z)
    configs = np.ascontiguousarray(configs, dtype=np.int8)
    required, screen_at, screen_min = screening_bounds(
        threshold, screen_at, screen_z, reference.n_images
    )
    order, groups = _groups(networks, _GROUP)
    correct, seen = np.empty(len(order), dtype=np.int64), np.empty(len(order), dtype=np.int64)
    correct[order], seen[order] = _count_incremental(
        configs[order], networks[order], groups, reference.modes, reference.widths,
        reference.x_blocks, reference.z, reference.labels, required, screen_at, screen_min,
        reference.block,
    )  # fmt: skip
    return correct, seen
