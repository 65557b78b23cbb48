"""Test accuracy of binary-weight configurations: a numba kernel with early rejection.

A binary network's deterministic forward pass is ``z¹ = W¹x``, ``zˡ⁺¹ = Wˡ⁺¹ φ(zˡ)``
with ``φ`` the leaky ReLU of slope 0.1, and the predicted class is ``argmax z^L``. The
activation's 1/√fan-in and any other positive factor are dropped: the leaky ReLU is
positively homogeneous, so they rescale the logits without changing the argmax.

The first layer is computed exactly: the inputs are rounded once to integers in units of
``2^-bits`` (:func:`_input_grid`, 2⁻²³ for the PCA-MNIST test set, float32's resolution
for inputs of order one) and ``W¹x`` is summed in int32, which cannot overflow for the
chosen ``bits``. Its result does not depend on the order of the additions, so a
configuration that differs from another in a few first-layer weights can be scored by
correcting the other's first layer (:mod:`deepspin.binary_nets.incremental`) with the same
result to the last image. The later layers are float32.

The kernel scores many configurations at once (one per thread at a time), and processes
the test images in blocks of 128 with the image index innermost, so that every
weight multiplies a contiguous vector of activations (SIMD over images). A configuration
is abandoned as soon as it can no longer reach the required number of correct answers
(exact) or, at the screening points, when its running accuracy lies more than ``z``
binomial standard deviations below the threshold (statistical; optional).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

from deepspin.checks import check_array, check_int, check_int_array, check_real

__all__ = ["count_correct"]

# Images per block. Passed to the kernel at run time: with a compile-time trip count LLVM
# unrolls the image loop into scalar code instead of vectorising it.
_BLOCK = 128


@njit(cache=True, fastmath=True)
def _layer(weights, offset, n_in, n_out, h, out, block):
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
def _first_activation(z_int, out, size, hidden):
    """``out = φ(z)`` (or ``z`` for an output layer) in float32 from the exact integer ``z``."""
    for t in range(size):
        v = np.float32(z_int[t])
        out[t] = v if v > 0.0 or not hidden else np.float32(0.1) * v


@njit(cache=True, fastmath=True)
def _upper_layers(weights, widths, a, b, block):
    """Layers 2…L from the first layer's activations in ``a``; returns the logits array.

    ``a`` and ``b`` alternate as input and output; ``weights`` is the float32 configuration.
    """
    n_layers = widths.shape[0] - 1
    offset = widths[0] * widths[1]
    for layer in range(1, n_layers):
        src, dst = (a, b) if layer % 2 == 1 else (b, a)
        n_prev, n_next = widths[layer], widths[layer + 1]
        _layer(weights, offset, n_prev, n_next, src, dst, block)
        if layer < n_layers - 1:
            _leaky_relu(dst, n_next * block)
        offset += n_prev * n_next
    return a if n_layers % 2 == 1 else b


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


@njit(cache=True)
def _early_exit(good, done, n_images, required, screen_at, screen_min, next_screen):
    """Whether a configuration with ``good`` correct of ``done`` images is abandoned, and
    the next screening point: exactly when the remaining images cannot make up the
    deficit, statistically when it falls below ``screen_min`` at a screening point."""
    if good + (n_images - done) < required:
        return True, next_screen
    if next_screen < screen_at.shape[0] and done >= screen_at[next_screen]:
        return good < screen_min[next_screen] * done, next_screen + 1
    return False, next_screen


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
        first = configs[c, : widths[0] * widths[1]].astype(np.int32)
        z_int = np.empty(widths[1] * block, dtype=np.int32)
        a = np.empty(width_max * block, dtype=np.float32)
        b = np.empty(width_max * block, dtype=np.float32)
        best = np.empty(block, dtype=np.float32)
        arg = np.empty(block, dtype=np.int64)
        good, done, next_screen = 0, 0, 0
        for blk in range(n_blocks):
            count = min(block, n_images - done)
            _layer(first, 0, widths[0], widths[1], x_blocks[blk], z_int, block)
            _first_activation(z_int, a, widths[1] * block, n_layers > 1)
            logits = _upper_layers(weights, widths, a, b, block)
            good += _argmax_hits(logits, n_out, labels, done, count, best, arg, block)
            done += count
            stop, next_screen = _early_exit(
                good, done, n_images, required, screen_at, screen_min, next_screen
            )
            if stop:
                break
        correct[c] = good
        seen[c] = done
    return correct, seen


def _input_grid(x, n_in):
    """Bits of the integer input grid: the largest ``bits`` with ``n_in · max|x| · 2^bits``
    below 2³¹, so that a first-layer sum of ``n_in`` ±inputs never overflows int32."""
    largest = float(np.max(np.abs(x))) if np.size(x) else 0.0
    if largest == 0.0:
        return 0
    return math.floor(math.log2((2**31 - 1) / (n_in * largest)))


def integer_blocks(x, block, bits=None):
    """The inputs on the grid ``2^-bits`` as int32 blocks (see :func:`_blocks`).

    The inputs are taken in float32 first, the precision of the data and of the torch
    path, so that float32 and float64 copies of a test set give the same scores.
    """
    x = np.asarray(x, dtype=np.float32).astype(np.float64)
    bits = _input_grid(x, x.shape[1]) if bits is None else bits
    return _blocks(np.rint(np.ldexp(x, bits)), block, np.int32)


def _blocks(x, block, dtype):
    """``(T, n_in)`` → ``(ceil(T / block), n_in · block)``, zero-padded, each row one block
    of images stored input-major (the image index runs fastest)."""
    n, n_in = x.shape
    n_blocks = -(-n // block)
    padded = np.zeros((n_blocks * block, n_in), dtype=dtype)
    padded[:n] = x
    blocks = padded.reshape(n_blocks, block, n_in).transpose(0, 2, 1)
    return np.ascontiguousarray(blocks).reshape(n_blocks, n_in * block)


def _screening_bounds(threshold, screen_at, screen_z, n_images):
    """The early exits of a scoring kernel for ``n_images`` images (arguments validated by
    the callers: :func:`_check_screening`).

    Returns ``(required, screen_at, screen_min)``: the correct answers needed to reach
    ``threshold``, the screening points (sorted, int64) and the running accuracy below
    which a configuration is dropped at each, ``threshold − z sqrt(threshold (1 −
    threshold) / n)``.
    """
    required = math.ceil(threshold * n_images - 1e-9)
    screen_at = np.asarray(sorted(screen_at), dtype=np.int64)
    spread = np.sqrt(threshold * (1.0 - threshold) / np.maximum(screen_at, 1))
    return required, screen_at, (threshold - screen_z * spread).astype(np.float64)


def _check_spins(name, value, ndim, rows=1 << 20):
    """``value`` as an array of ±1 spins with ``ndim`` dimensions, else ``ValueError``.

    Like :func:`deepspin.checks.check_spin_array`, but without a copy: the entries are
    compared in slices of about ``rows`` entries along the first axis, so that a
    paper-size ensemble (2×10⁶ × 675) needs no temporary of its size.
    """
    try:
        array = np.asarray(value)
        numeric = array.dtype.kind in "biuf"
    except (TypeError, ValueError):
        numeric = False
    if not numeric:
        raise ValueError(f"{name} must be an array of spins in {{-1, +1}}, got {value!r:.80}")
    if array.ndim != ndim:
        raise ValueError(f"{name} must be a {ndim}-D array of spins, got shape {array.shape}")
    step = max(1, rows // max(1, array[:1].size))
    for start in range(0, array.shape[0], step):
        part = array[start : start + step]
        bad = (part != 1) & (part != -1)
        if bad.any():
            first = part[bad].flat[0].item()
            raise ValueError(f"{name} must hold spins in {{-1, +1}}, got {first!r}")
    return array


def _check_images(x, labels, n_in, n_out, x_name="x", labels_name="labels"):
    """Images ``(T, n_in)`` of finite reals (T ≥ 1) as float64, and their labels as int64,
    classes in ``[0, n_out)``, one per image."""
    x = check_array(x_name, x, ndim=2, allow_empty=False)
    if x.shape[1] != n_in:
        raise ValueError(
            f"{x_name} must be an array (T, {n_in}), {n_in} columns (widths[0]), got shape "
            f"{x.shape}"
        )
    labels = check_int_array(labels_name, labels, 0, n_out - 1, ndim=1)
    if labels.shape[0] != x.shape[0]:
        raise ValueError(
            f"{x_name} and {labels_name} must have one row per image, got {x.shape[0]} rows "
            f"and {labels.shape[0]} labels"
        )
    return x, labels


def _check_screening(threshold, screen_at, screen_z):
    """``threshold`` in [0, 1], ``screen_at`` integers ≥ 1, ``screen_z`` ≥ 0 (finite)."""
    threshold = check_real("threshold", threshold, 0.0, 1.0)
    if isinstance(screen_at, (str, bytes)):
        screen_at = None  # a string is not a sequence of image counts
    try:
        points = list(screen_at)
    except TypeError:
        raise ValueError(
            f"screen_at must be a sequence of integers in [1, inf), got {screen_at!r}"
        ) from None
    points = tuple(check_int(f"screen_at[{i}]", n, 1) for i, n in enumerate(points))
    screen_z = check_real("screen_z", screen_z, 0.0)
    return threshold, points, screen_z


def count_correct(configs, widths, x, labels, threshold=0.0, screen_at=(), screen_z=4.0):
    """Correct answers of binary configurations on ``(x, labels)``, with early rejection.

    Parameters
    ----------
    configs : array ``(K, n_weights)`` of ±1 (any integer or float dtype)
        Flat layout of :func:`deepspin.binary_nets.layer_slices`.
    widths : sequence of int
        ``(n_in, hidden..., n_out)``, each in [1, 100000].
    x : array ``(T, n_in)`` of finite reals, T ≥ 1
        Images, in the order in which they are scored (shuffle them for screening).
    labels : array ``(T,)`` of int, in ``[0, n_out)``
    threshold : float, in [0, 1]
        Accuracy a configuration must reach; evaluation stops once
        ``correct + remaining < ceil(threshold · T)``. 0 scores every image.
    screen_at : sequence of int, each ≥ 1
        Image counts at which a configuration is also dropped if its running accuracy
        is below ``threshold − screen_z · sqrt(threshold (1 − threshold) / n)``.
    screen_z : float, ≥ 0

    Returns
    -------
    correct : ndarray of int64 ``(K,)``
        Correct answers among the images scored.
    seen : ndarray of int64 ``(K,)``
        Images scored: ``T`` for every configuration that reached the threshold, so
        ``correct / T`` is its exact test accuracy.
    """
    from deepspin.binary_nets.lrnet import check_widths, n_weights  # lrnet imports this module

    widths = check_widths(widths)
    n_w = n_weights(widths)
    configs = _check_spins("configs", configs, ndim=2)
    if configs.shape[1] != n_w:
        raise ValueError(
            f"configs must have shape (K, {n_w}) for widths {widths}, got {configs.shape}"
        )
    x, labels = _check_images(x, labels, widths[0], widths[-1])
    threshold, screen_at, screen_z = _check_screening(threshold, screen_at, screen_z)
    required, screen_at, screen_min = _screening_bounds(threshold, screen_at, screen_z, x.shape[0])
    blocks = integer_blocks(x, _BLOCK)
    return _count_correct(
        blocks, labels, x.shape[0], np.ascontiguousarray(configs),
        np.asarray(widths, dtype=np.int64), required, screen_at, screen_min, _BLOCK,
    )  # fmt: skip
