"""Brute-force references shared by the tests of the one-step functionals: tensor
Gauss–Hermite rules over every Gaussian field, outer then inner (28 nodes per field)."""

import numpy as np
from scipy.special import log_ndtr

_X, _W = np.polynomial.hermite_e.hermegauss(28)
_W = _W / np.sqrt(2 * np.pi)


def one_step(top, levels, m):
    """``E_0 (1/m) ln E_1 e^{m f}`` over independent Gaussian fields with 1RSB variances.

    ``levels`` is a list of (lower, upper) variance levels, one per field; ``top(fields,
    upper_levels)`` is the top function f. Tensor Gauss–Hermite rule, outer then inner.
    """
    d = len(levels)
    grids = np.meshgrid(*([_X] * (2 * d)), indexing="ij")
    weights = np.ones(())
    for _ in range(2 * d):
        weights = np.multiply.outer(weights, _W)
    fields = [np.sqrt(lo) * grids[i] + np.sqrt(hi - lo) * grids[d + i]
              for i, (lo, hi) in enumerate(levels)]  # fmt: skip
    inner_axes = tuple(range(d, 2 * d))
    inner_w = weights.sum(axis=tuple(range(d)))
    outer_w = weights.sum(axis=inner_axes)
    inner = np.sum(inner_w * np.exp(m * top(fields, [hi for _, hi in levels])), axis=inner_axes)
    return np.sum(outer_w * np.log(inner)) / m


def node_top(fields, upper):
    u, v = fields
    s = np.sqrt(1.0 - upper[1])
    return np.logaddexp(u + log_ndtr(v / s), -u + log_ndtr(-v / s))


def gap_top_brute(fields, upper):
    return log_ndtr(fields[0] / np.sqrt(1.0 - upper[0]))
