"""Test accuracy of binary-weight configurations: a numba kernel with early rejection.

A binary network's deterministic forward pass is ``z¹ = W¹x``, ``zˡ⁺¹ = Wˡ⁺¹ φ(zˡ)``
with ``φ`` the leaky ReLU of slope 0.1, and the predicted class is ``argmax z^L``. The
activation's 1/√fan-in and any other positive factor are dropped: the leaky ReLU is
positively homogeneous, so they rescale the logits without changing the argmax.

The kernel scores many configurations at once (one per thread at a time), and processes
the test images in blocks of 64 with the image index innermost, so that every
weight multiplies a contiguous vector of activations (SIMD over images). A configuration
is abandoned as soon as it can no longer reach the required number of correct answers
(exact) or, at the screening points, when its running accuracy lies more than ``z``
binomial standard deviations below the threshold (statistical; optional).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

__all__ = ["count_correct"]

# Images per block. Passed to the kernel at run time: with a compile-time trip count LLVM
# unrolls the image loop into scalar code instead of vectorising it.
_BLOCK = 64


@njit(cache=True, fastmath=True)
def _layer(weights, offset, n_in, n_out, h, out, block):
    """``out[j, :] = Σ_i w_ji h[i, :]`` over a block of images (flat row-major rows)."""
    for j in range(n_out):
        row = offset + j * n_in
        o = j * block
        for t in range(block):
            out[o + t] = 0.0
        for i in range(n_in):
            w = weights[row + i]
            src = i * block
            for t in range(block):
                out[o + t] += w * h[src + t]


@njit(cache=True, fastmath=True)
def _leaky_relu(h, size):
    # a separate pass: inside the accumulation loops it stops their vectorisation
    for t in range(size):
        v = h[t]
        h[t] = v if v > 0.0 else np.float32(0.1) * v


@njit(cache=True, fastmath=True)
def _argmax_hits(logits, n_out, labels, start, count, best, arg, block):
    """Images of the block whose label is the argmax of the logits.

    The argmax is the first index among ties, as in numpy and torch (identical output
    rows of ±1 weights tie exactly). Running maxima over the classes, vectorised over
    the images.
    """
    for t in range(block):
        best[t] = logits[t]
        arg[t] = 0
    for k in range(1, n_out):
        row = k * block
        for t in range(block):
            v = logits[row + t]
            larger = v > best[t]
            best[t] = v if larger else best[t]
            arg[t] = k if larger else arg[t]
    hits = 0
    for t in range(count):
        hits += arg[t] == labels[start + t]
    return hits


@njit(cache=True, parallel=True, fastmath=True)
def _count_correct(
    x_blocks, labels, n_images, configs, widths, required, screen_at, screen_min, block
):
    n_conf = configs.shape[0]
    n_blocks = x_blocks.shape[0]
    n_layers = widths.shape[0] - 1
    n_out = widths[n_layers]
    width_max = widths.max()
    correct = np.zeros(n_conf, dtype=np.int64)
    seen = np.zeros(n_conf, dtype=np.int64)
    for c in prange(n_conf):
        weights = configs[c].astype(np.float32)
        a = np.empty(width_max * block, dtype=np.float32)
        b = np.empty(width_max * block, dtype=np.float32)
        best = np.empty(block, dtype=np.float32)
        arg = np.empty(block, dtype=np.int64)
        good, done, next_screen = 0, 0, 0
        for blk in range(n_blocks):
            count = min(block, n_images - done)
            _layer(weights, 0, widths[0], widths[1], x_blocks[blk], a, block)
            offset = widths[0] * widths[1]
            for layer in range(1, n_layers):
                src, dst = (a, b) if layer % 2 == 1 else (b, a)
                n_prev, n_next = widths[layer], widths[layer + 1]
                _leaky_relu(src, n_prev * block)
                _layer(weights, offset, n_prev, n_next, src, dst, block)
                offset += n_prev * n_next
            logits = a if n_layers % 2 == 1 else b
            good += _argmax_hits(logits, n_out, labels, done, count, best, arg, block)
            done += count
            # exact: the remaining images cannot make up the deficit
            if good + (n_images - done) < required:
                break
            if next_screen < screen_at.shape[0] and done >= screen_at[next_screen]:
                if good < screen_min[next_screen] * done:
                    break
                next_screen += 1
        correct[c] = good
        seen[c] = done
    return correct, seen


def _blocks(x, block):
    """``(T, n_in)`` → ``(ceil(T / block), n_in · block)`` float32, zero-padded, each row
    one block of images stored input-major (the image index runs fastest)."""
    n, n_in = x.shape
    n_blocks = -(-n // block)
    padded = np.zeros((n_blocks * block, n_in), dtype=np.float32)
    padded[:n] = x
    blocks = padded.reshape(n_blocks, block, n_in).transpose(0, 2, 1)
    return np.ascontiguousarray(blocks).reshape(n_blocks, n_in * block)


def count_correct(configs, widths, x, labels, threshold=0.0, screen_at=(), screen_z=4.0):
    """Correct answers of binary configurations on ``(x, labels)``, with early rejection.

    Parameters
    ----------
    configs : array ``(K, n_weights)`` of ±1 (any integer or float dtype)
        Flat layout of :func:`deepspin.binary_nets.layer_slices`.
    widths : sequence of int
    x : array ``(T, n_in)``
        Images, in the order in which they are scored (shuffle them for screening).
    labels : array ``(T,)`` of int
    threshold : float
        Accuracy a configuration must reach; evaluation stops once
        ``correct + remaining < ceil(threshold · T)``. 0 scores every image.
    screen_at : sequence of int
        Image counts at which a configuration is also dropped if its running accuracy
        is below ``threshold − screen_z · sqrt(threshold (1 − threshold) / n)``.
    screen_z : float

    Returns
    -------
    correct : ndarray of int64 ``(K,)``
        Correct answers among the images scored.
    seen : ndarray of int64 ``(K,)``
        Images scored: ``T`` for every configuration that reached the threshold, so
        ``correct / T`` is its exact test accuracy.
    """
    widths = np.asarray(widths, dtype=np.int64)
    x = np.asarray(x, dtype=np.float32)
    labels = np.asarray(labels, dtype=np.int64)
    configs = np.ascontiguousarray(configs)
    n_w = int(np.sum(widths[:-1] * widths[1:]))
    if configs.ndim != 2 or configs.shape[1] != n_w:
        raise ValueError(f"configs must have shape (K, {n_w}) for widths {tuple(widths)}")
    if x.ndim != 2 or x.shape[1] != widths[0] or labels.shape != (x.shape[0],):
        raise ValueError(f"x must be (T, {widths[0]}) and labels (T,)")
    if not 0.0 <= threshold <= 1.0:
        raise ValueError(f"threshold must be in [0, 1], got {threshold}")
    n = x.shape[0]
    required = math.ceil(threshold * n - 1e-9)
    screen_at = np.asarray(sorted(screen_at), dtype=np.int64)
    spread = np.sqrt(threshold * (1.0 - threshold) / np.maximum(screen_at, 1))
    screen_min = (threshold - screen_z * spread).astype(np.float64)
    return _count_correct(
        _blocks(x, _BLOCK), labels, n, configs, widths, required, screen_at, screen_min, _BLOCK
    )
