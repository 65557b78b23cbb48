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
binomial standard deviations below the threshold (statistical; optional). The layers,
the argmax and the early exits are the kernels of :mod:`deepspin.binary_nets.forward_kernels`,
which :mod:`deepspin.binary_nets.incremental` shares.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

from deepspin.binary_nets.forward_kernels import (
    BLOCK,
    argmax_hits,
    dense_layer,
    early_exit,
    first_activation,
    screening_bounds,
    upper_layers,
)
from deepspin.checks import check_array, check_int, check_int_array, check_real

__all__ = ["check_configs", "check_images", "check_screening", "count_correct"]


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
            dense_layer(first, 0, widths[0], widths[1], x_blocks[blk], z_int, block)
            first_activation(z_int, a, widths[1] * block, n_layers > 1)
            logits = upper_layers(weights, widths, a, b, block)
            good += argmax_hits(logits, n_out, labels, done, count, best, arg, block)
            done += count
            stop, next_screen = early_exit(
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


def check_configs(name, value, ndim, rows=1 << 20):
    """Validate binary configurations: an array of ±1 spins with ``ndim`` dimensions.

    Like :func:`deepspin.checks.check_spin_array`, but without a copy: the entries are
    compared in slices of about ``rows`` entries along the first axis, so that a
    paper-size ensemble (2×10⁶ × 675) needs no temporary of its size.

    Parameters
    ----------
    name : str
        What the messages call ``value``.
    value : array of ±1, ``ndim`` dimensions
        Any integer, float or bool dtype, entries in {−1, +1}; any shape with ``ndim``
        dimensions, empty included.
    ndim : int, ≥ 1
        The number of dimensions required.
    rows : int, ≥ 1
        Entries compared at a time (about; whole rows along the first axis).

    Returns
    -------
    ndarray
        ``value`` as an array, its dtype kept (no copy where it already is one).

    Raises
    ------
    ValueError
        Naming ``name``: not a numeric array, the wrong number of dimensions, or an entry
        other than ±1 (the first one found is quoted).
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


def check_images(x, labels, n_in, n_out, x_name="x", labels_name="labels"):
    """Validate images and their labels for a network of input width ``n_in`` and
    ``n_out`` classes.

    Parameters
    ----------
    x : array ``(T, n_in)`` of finite reals, T ≥ 1
    labels : array ``(T,)`` of int, in ``[0, n_out)``
        One class per image; floats are refused.
    n_in : int, ≥ 1
        The input width (``widths[0]``).
    n_out : int, ≥ 1
        The number of classes (``widths[-1]``).
    x_name, labels_name : str
        What the messages call ``x`` and ``labels``.

    Returns
    -------
    x : ndarray of float64 ``(T, n_in)``
    labels : ndarray of int64 ``(T,)``

    Raises
    ------
    ValueError
        Naming ``x_name`` or ``labels_name``.
    """
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


def check_screening(threshold, screen_at, screen_z):
    """Validate the early exits of a scoring (see :func:`count_correct`).

    Parameters
    ----------
    threshold : float, in [0, 1]
        The accuracy a configuration must reach.
    screen_at : sequence of int, each ≥ 1
        Image counts at which a configuration's running accuracy is screened (may be
        empty; a string is refused).
    screen_z : float, ≥ 0 (finite)
        Binomial standard deviations below ``threshold`` at which it is dropped there.

    Returns
    -------
    threshold : float
    screen_at : tuple of int
    screen_z : float

    Raises
    ------
    ValueError
        Naming the parameter (``screen_at[i]`` for a bad entry).
    """
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
    configs = check_configs("configs", configs, ndim=2)
    if configs.shape[1] != n_w:
        raise ValueError(
            f"configs must have shape (K, {n_w}) for widths {widths}, got {configs.shape}"
        )
    x, labels = check_images(x, labels, widths[0], widths[-1])
    threshold, screen_at, screen_z = check_screening(threshold, screen_at, screen_z)
    required, screen_at, screen_min = screening_bounds(threshold, screen_at, screen_z, x.shape[0])
    blocks = integer_blocks(x, BLOCK)
    return _count_correct(
        blocks, labels, x.shape[0], np.ascontiguousarray(configs),
        np.asarray(widths, dtype=np.int64), required, screen_at, screen_min, BLOCK,
    )  # fmt: skip
