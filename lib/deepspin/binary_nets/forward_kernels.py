"""The numba kernels of the binary networks' forward pass, shared by
:mod:`deepspin.binary_nets.evaluate` (scoring configurations from scratch) and
:mod:`deepspin.binary_nets.incremental` (scoring them against a reference's first layer).

Both score the test images in blocks of :data:`BLOCK` images stored input-major (the image
index runs fastest, so that each weight multiplies a contiguous vector of activations),
with the same later layers, the same argmax and the same early exits: this module is the
one definition of each. The kernels index their arrays without bounds checks: their
inputs are validated by their callers (:func:`deepspin.binary_nets.evaluate.count_correct`,
:func:`deepspin.binary_nets.incremental.count_correct_incremental`), and the module has no
public API of its own.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

# Images per block. Passed to the kernel at run time: with a compile-time trip count LLVM
# unrolls the image loop into scalar code instead of vectorising it.
BLOCK = 128


@njit(cache=True, fastmath=True)
def dense_layer(weights, offset, n_in, n_out, h, out, block):
    """``out[j, :] = Σ_i w_ji h[i, :]`` over a block of images (flat row-major rows).

    ``weights`` has the dtype of ``h``. Four inputs are summed per pass over the output
    row (with one, every multiply-add loads and stores the row, which bounds the speed),
    each input row a slice of its own, so that LLVM sees separate streams and vectorises.
    """
    for j in range(n_out):
        row = offset + j * n_in
        o = out[j * block : (j + 1) * block]
        o[:] = 0.0
        i = 0
        while i + 4 <= n_in:
            w0, w1 = weights[row + i], weights[row + i + 1]
            w2, w3 = weights[row + i + 2], weights[row + i + 3]
            h0, h1 = h[i * block : (i + 1) * block], h[(i + 1) * block : (i + 2) * block]
            h2, h3 = h[(i + 2) * block : (i + 3) * block], h[(i + 3) * block : (i + 4) * block]
            for t in range(block):
                o[t] += (w0 * h0[t] + w1 * h1[t]) + (w2 * h2[t] + w3 * h3[t])
            i += 4
        while i < n_in:
            w, hi = weights[row + i], h[i * block : (i + 1) * block]
            for t in range(block):
                o[t] += w * hi[t]
            i += 1


@njit(cache=True, fastmath=True)
def _leaky_relu(h, size):
    # a separate pass: inside the accumulation loops it stops their vectorisation
    for t in range(size):
        v = h[t]
        h[t] = v if v > 0.0 else np.float32(0.1) * v


@njit(cache=True, fastmath=True)
def first_activation(z_int, out, size, hidden):
    """``out = φ(z)`` (or ``z`` for an output layer) in float32 from the exact integer ``z``."""
    for t in range(size):
        v = np.float32(z_int[t])
        out[t] = v if v > 0.0 or not hidden else np.float32(0.1) * v


@njit(cache=True, fastmath=True)
def upper_layers(weights, widths, a, b, block):
    """Layers 2…L from the first layer's activations in ``a``; returns the logits array.

    ``a`` and ``b`` alternate as input and output; ``weights`` is the float32 configuration.
    """
    n_layers = widths.shape[0] - 1
    offset = widths[0] * widths[1]
    for layer in range(1, n_layers):
        src, dst = (a, b) if layer % 2 == 1 else (b, a)
        n_prev, n_next = widths[layer], widths[layer + 1]
        dense_layer(weights, offset, n_prev, n_next, src, dst, block)
        if layer < n_layers - 1:
            _leaky_relu(dst, n_next * block)
        offset += n_prev * n_next
    return a if n_layers % 2 == 1 else b


@njit(cache=True, fastmath=True)
def argmax_hits(logits, n_out, labels, start, count, best, arg, block):
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


@njit(cache=True)
def early_exit(good, done, n_images, required, screen_at, screen_min, next_screen):
    """Whether a configuration with ``good`` correct of ``done`` images is abandoned, and
    the next screening point: exactly when the remaining images cannot make up the
    deficit, statistically when it falls below ``screen_min`` at a screening point."""
    if good + (n_images - done) < required:
        return True, next_screen
    if next_screen < screen_at.shape[0] and done >= screen_at[next_screen]:
        return good < screen_min[next_screen] * done, next_screen + 1
    return False, next_screen


def screening_bounds(threshold, screen_at, screen_z, n_images):
    """The early exits of a scoring kernel for ``n_images`` images (arguments validated by
    the callers: :func:`deepspin.binary_nets.evaluate.check_screening`).

    Returns ``(required, screen_at, screen_min)``: the correct answers needed to reach
    ``threshold``, the screening points (sorted, int64) and the running accuracy below
    which a configuration is dropped at each, ``threshold − z sqrt(threshold (1 −
    threshold) / n)``.
    """
    required = math.ceil(threshold * n_images - 1e-9)
    screen_at = np.asarray(sorted(screen_at), dtype=np.int64)
    spread = np.sqrt(threshold * (1.0 - threshold) / np.maximum(screen_at, 1))
    return required, screen_at, (threshold - screen_z * spread).astype(np.float64)
