"""Hierarchical (Parisi) matrices in the replica limit n → 0.

A k-step Parisi matrix with unit diagonal is a step function on x ∈ [0, 1]:
``q(x) = q_j`` for ``m_j < x < m_{j+1}``, with levels ``0 ≤ q_0 ≤ … ≤ q_k < 1`` and
breakpoints ``0 = m_0 < m_1 < … < m_k < m_{k+1} = 1``. Two facts carry every replica
computation of the book that breaks replica symmetry (chapters ``wh_replicas`` and
``yoshino_rsb``):

* a sum over pairs becomes an integral over x (eq. pair-sum)::

      (1/n) Σ_{a≠b} f(q_ab)  →  −∫₀¹ f(q(x)) dx = −Σ_{j=0}^{k} (m_{j+1} − m_j) f(q_j);

* the eigenvalues of the matrix are ``λ(x) = 1 − x q(x) − ∫_x¹ q(y) dy``, i.e. per step
  ``λ_k = 1 − q_k`` and ``λ_{j−1} = λ_j + m_j (q_j − q_{j−1})``, so the entropy of n
  spherical vectors with that Gram matrix is (Crisanti–Sommers, eq. cs-entropy)::

      (1/n) ln det q  →  ln λ_k + Σ_{j=1}^{k} m_j⁻¹ ln(λ_{j−1}/λ_j) + q_0/λ_0.

Both are used with numpy arrays; the derivatives are analytic.

References
----------
A. Crisanti and H.-J. Sommers, Z. Phys. B 87, 341 (1992), eq. (2.10).
G. Parisi, J. Phys. A 13, 1101 (1980).
"""

from __future__ import annotations

import numpy as np

from deepspin.checks import check_array

__all__ = ["check_steps", "log1p_ratio", "pair_sum", "spectrum", "spherical_entropy"]


def check_steps(levels, breakpoints, *, high=1.0, high_open=True, names=("levels", "breakpoints")):
    """Validate the levels and breakpoints of a k-step Parisi function.

    Parameters
    ----------
    levels : array (k+1,), non-decreasing, entries in [0, high)
        q_0 … q_k.
    breakpoints : array (k,), strictly increasing, entries in (0, 1)
        m_1 … m_k.
    high : float
        Upper end of the levels' range.
    high_open : bool
        Whether ``high`` itself is excluded.
    names : (str, str)
        The names the error messages give the two arguments.

    Returns
    -------
    levels, breakpoints : float arrays
    """
    name_levels, name_breaks = names
    levels = check_array(name_levels, levels, 0.0, high, high_open=high_open, ndim=1,
                         allow_empty=False)  # fmt: skip
    breakpoints = check_array(name_breaks, breakpoints, 0.0, 1.0, low_open=True,
                              high_open=True, ndim=1)  # fmt: skip
    if breakpoints.size != levels.size - 1:
        raise ValueError(
            f"{name_levels} and {name_breaks} must have lengths k + 1 and k, got "
            f"{levels.size} and {breakpoints.size}"
        )
    if np.any(np.diff(levels) < 0):
        raise ValueError(f"{name_levels} must be non-decreasing, got {levels}")
    if np.any(np.diff(breakpoints) <= 0):
        raise ValueError(f"{name_breaks} must be strictly increasing in (0, 1), got {breakpoints}")
    return levels, breakpoints


def pair_sum(values, breakpoints):
    """``(1/n) Σ_{a≠b} f(q_ab)`` at n → 0 for a step function: ``−Σ_j (m_{j+1} − m_j) f_j``
    (eq. pair-sum).

    Parameters
    ----------
    values : array (k+1,)
        f at the levels q_0 … q_k (finite reals).
    breakpoints : array (k,), strictly increasing in (0, 1)
    """
    values = check_array("values", values, ndim=1, allow_empty=False)
    names = ("values", "breakpoints")
    breakpoints = check_steps(np.zeros(values.size), breakpoints, names=names)[1]
    return float(-np.sum(_widths(breakpoints) * values))


def _widths(m):
    """``m_{j+1} − m_j``, j = 0 … k, with m_0 = 0 and m_{k+1} = 1 (along the last axis)."""
    m = np.asarray(m, dtype=float)
    edge = np.ones((*m.shape[:-1], 1))
    return np.diff(np.concatenate((0.0 * edge, m, edge), axis=-1), axis=-1)


def spectrum(levels, breakpoints):
    """The eigenvalues λ_0 … λ_k of a k-step Parisi matrix with unit diagonal (eq. cs-lambda).

    ``λ_k = 1 − q_k``, ``λ_{j−1} = λ_j + m_j (q_j − q_{j−1})``; ``λ(x)`` of the continuous
    notation at x in the j-th step.

    Parameters
    ----------
    levels : array (k+1,), non-decreasing in [0, 1)
    breakpoints : array (k,), strictly increasing in (0, 1)
    """
    q, m = check_steps(levels, breakpoints)
    return _spectrum(q, m)


def _spectrum(q, m):
    """λ_0 … λ_k along the last axis (leading axes are a batch).

    Evaluated as ``λ_j = 1 − Σ_{i>j} (m_{i+1} − m_i) q_i − m_{j+1} q_j`` (linear in q), the
    order of operations the Parisi solvers of chapter ``wh_replicas`` were validated with:
    their flat functionals are sensitive to round-off.
    """
    weighted = _widths(m) * q
    after = np.flip(np.cumsum(np.flip(weighted, -1), axis=-1), -1)[..., 1:]
    after = np.concatenate((after, np.zeros((*q.shape[:-1], 1))), axis=-1)
    edge = np.ones((*q.shape[:-1], 1))
    return 1.0 - after - np.concatenate((m, edge), axis=-1) * q


def log1p_ratio(z, validate=True):
    """``log(1 + z)/z``, exact at z → 0 (a series below |z| = 1e-6).

    Parameters
    ----------
    z : float or array, entries > −1
    validate : bool
        Check z (solvers whose line searches may pass ±inf pass False).
    """
    if validate:
        z = check_array("z", z, -1.0, low_open=True)
    return _log1p_ratio(np.asarray(z, dtype=float))


def _log1p_ratio(z):
    small = np.abs(z) < 1e-6
    safe = np.where(small, 1.0, z)
    return np.where(small, 1.0 - z / 2 + z * z / 3, np.log1p(safe) / safe)


def spherical_entropy(levels, breakpoints, validate=True):
    """``(1/n) ln det q`` at n → 0 for a k-step Parisi matrix with unit diagonal, and its
    gradient (eq. cs-entropy; Crisanti–Sommers 1992, eq. (2.10)).

    ``ln λ_k + Σ_{j=1}^{k} m_j⁻¹ ln(λ_{j−1}/λ_j) + q_0/λ_0``; at k = 0 the replica-symmetric
    ``ln(1 − q) + q/(1 − q)``. The ratio terms are evaluated as
    ``(w/λ_j) · log1p(m w/λ_j)/(m w/λ_j)``, w = q_j − q_{j−1}, exact as m → 0 or w → 0.

    Parameters
    ----------
    levels : array (k+1,), non-decreasing in [0, 1)
        q_0 … q_k.
    breakpoints : array (k,), strictly increasing in (0, 1)
        m_1 … m_k.
    validate : bool
        Check the arguments. Solvers that have already checked them pass False, and may
        then pass batches: arrays (..., k+1) and (..., k) with the same leading shape.

    Returns
    -------
    value : float (an array over the batch without validation)
    grad_levels : ndarray (k+1,)
        ∂/∂q_j.
    grad_breakpoints : ndarray (k,)
        ∂/∂m_j.
    """
    if validate:
        q, m = check_steps(levels, breakpoints)
    else:
        q, m = np.asarray(levels, dtype=float), np.asarray(breakpoints, dtype=float)
    lam = _spectrum(q, m)
    widths = np.diff(q, axis=-1)
    ratio = widths / lam[..., 1:]
    logs = ratio * m * _log1p_ratio(m * ratio)  # ln(λ_{j−1}/λ_j)
    value = (q[..., 0] / lam[..., 0] + np.sum(ratio * _log1p_ratio(m * ratio), axis=-1)
             + np.log(lam[..., -1]))  # fmt: skip
    # ∂value/∂λ_j = c_j = (1/m_{j+1} − 1/m_j)/λ_j (1/m_0 ≡ 0, 1/m_{k+1} ≡ 1), − q_0/λ_0² at 0
    edge = np.ones((*q.shape[:-1], 1))
    inverse = np.concatenate((0.0 * edge, 1.0 / m, edge), axis=-1)
    c = np.diff(inverse, axis=-1) / lam
    c[..., 0] -= q[..., 0] / lam[..., 0] ** 2
    before = np.concatenate((0.0 * edge, np.cumsum(c, axis=-1)[..., :-1]), axis=-1)  # Σ_{j<i}
    mm = np.concatenate((m, edge), axis=-1)  # m_{i+1}, i = 0 … k
    grad_q = -mm * c - _widths(m) * before
    grad_q[..., 0] += 1.0 / lam[..., 0]
    grad_m = -logs / m**2 + widths * before[..., 1:]
    if validate:
        value = float(value)
    return value, grad_q, grad_m
