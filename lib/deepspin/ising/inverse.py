"""Inverse Ising: fields and couplings from magnetisations and correlations.

The data are raw moments ``m_i = ⟨σ_i⟩`` and ``C_ij = ⟨σ_i σ_j⟩`` (the diagonal of ``C`` is
ignored), the model is eq. (ising-model) of chapter ``zh_ising``,
``P(σ) ∝ exp(Σ_i h_i σ_i + Σ_{i<j} J_ij σ_i σ_j)``. Four estimators:

* :func:`mean_field_inversion`: naive mean-field (or TAP) inversion of the connected
  correlations, a closed form;
* :func:`bethe_inversion`: the closed form that reproduces ``m`` and ``C`` *exactly* as BP
  moments (the pair-marginal reparametrisation of the Bethe approximation);
* :func:`fit_boltzmann`: Boltzmann learning, ascent of the log-likelihood along
  eq. (boltzmann-gradient) with BP moments: centred, preconditioned L-BFGS with a monotone
  line search (or, for comparison, the paper's fixed steps);
* :func:`fit_pseudolikelihood`: maximum pseudolikelihood from the samples themselves (torch);
* :func:`fit_exact`: the maximum-likelihood model itself, for N ≤ 24, with exact moments by
  enumeration (small models, such as the blocks of one hidden unit's weights).

:func:`rmse` is the fit error eq. (fit-rmse).
"""

from __future__ import annotations

import math
import time
import warnings

import numpy as np
from numba import njit, prange
from scipy.optimize import minimize

from deepspin.checks import (
    check_array,
    check_bool,
    check_choice,
    check_device,
    check_int,
    check_real,
)
from deepspin.ising import bp
from deepspin.ising.exact import MAX_N, enumerate_exact
from deepspin.ising.model import check_model
from deepspin.ising.montecarlo import check_samples, moments
from deepspin.results import SolverResult, warn_if_not_converged

__all__ = [
    "bethe_inversion",
    "bp_bias",
    "fit_boltzmann",
    "fit_exact",
    "fit_pseudolikelihood",
    "mean_field_inversion",
    "rmse",
]


# ---------------------------------------------------------------------------------------------
# validation and the fit error


def _check_moments(m, C, m_name="m", C_name="C", n=None):
    """Validate moments; return float64 copies with ``C`` exactly symmetric, diagonal 1.

    ``m`` is a non-empty vector in [−1, 1] (of ``n`` entries when given); ``C`` an
    ``(N, N)`` matrix, symmetric up to 1e-10, whose off-diagonal entries lie in [−1, 1];
    its diagonal is ignored (a sum of probabilities may exceed 1 by round-off, and some
    codes store 0 there) but must be finite: a NaN there is a sign of broken data.
    """
    m = check_array(m_name, m, -1.0, 1.0, ndim=1, allow_empty=False)
    if n is not None and m.size != n:
        raise ValueError(f"{m_name} must have shape ({n},), got {m.shape}")
    n = m.size
    try:
        C = np.array(C, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"{C_name} must be an ({n}, {n}) array in [-1, 1], got {C!r}") from None
    if C.shape != (n, n):
        raise ValueError(f"{C_name} must have shape ({n}, {n}) to match {m_name}, got {C.shape}")
    check_array(C_name, C)
    diagonal = np.diagonal(C).copy()
    np.fill_diagonal(C, 0.0)
    check_array(C_name, C, -1.0, 1.0)
    np.fill_diagonal(C, diagonal)
    asymmetry = float(np.abs(C - C.T).max())
    if asymmetry > 1e-10:
        raise ValueError(
            f"{C_name} must be symmetric (|{C_name}_ij − {C_name}_ji| ≤ 1e-10), got "
            f"max |{C_name} − {C_name}ᵀ| = {asymmetry:.3g}"
        )
    np.fill_diagonal(C, 1.0)
    C = 0.5 * (C + C.T)
    return m, C


def _check_mask(mask, n):
    """A symmetric boolean matrix (its diagonal is ignored), or None (all pairs)."""
    if mask is None:
        return None
    try:
        mask = np.array(mask)
    except (TypeError, ValueError):
        raise ValueError(f"mask must be a boolean ({n}, {n}) array, got {mask!r}") from None
    if mask.dtype != np.bool_:
        raise ValueError(f"mask must be a boolean ({n}, {n}) array, got dtype {mask.dtype}")
    if mask.shape != (n, n):
        raise ValueError(f"mask must have shape ({n}, {n}), got {mask.shape}")
    if np.any(mask != mask.T):
        i, j = np.argwhere(mask != mask.T)[0]
        raise ValueError(
            f"mask must be symmetric, got mask[{i}, {j}] = {mask[i, j]}, "
            f"mask[{j}, {i}] = {mask[j, i]}"
        )
    np.fill_diagonal(mask, False)
    return mask


def _pairs_in(mask, n):
    """Number of ordered pairs ``i ≠ j`` in the mask."""
    return n * (n - 1) if mask is None else int(mask.sum())


def rmse(m_model, C_model, m_data, C_data, mask=None) -> float:
    """The fit error eq. (fit-rmse) between model and data moments.

    ``RMSE = [ (1/N) Σ_i (Δm_i)² + (1/(N(N−1))) Σ_{i≠j} (ΔC_ij)² ]^{1/2}``, with
    ``Δ = model − data``; the diagonal of ``C`` is ignored.

    Parameters
    ----------
    m_model, m_data : array (N,)
        Magnetisations, in [−1, 1].
    C_model, C_data : array (N, N)
        Symmetric second moments ``⟨σ_i σ_j⟩``, in [−1, 1].
    mask : bool array (N, N), optional
        Symmetric (the diagonal is ignored). Average the correlation term over the pairs of
        the mask only (the pairs a masked :func:`fit_boltzmann` fits).

    Returns
    -------
    float
    """
    m_model, C_model = _check_moments(m_model, C_model, "m_model", "C_model")
    n = m_model.size
    m_data, C_data = _check_moments(m_data, C_data, "m_data", "C_data", n)
    return _moment_distance(m_model, C_model, m_data, C_data, _check_mask(mask, n))


def _moment_distance(m_a, C_a, m_b, C_b, mask):
    """Eq. (fit-rmse) between two sets of validated moments with equal diagonals."""
    dC = C_a - C_b
    if mask is not None:
        dC = np.where(mask, dC, 0.0)
    pairs = _pairs_in(mask, m_a.size)
    c_term = float(np.sum(dC * dC)) / pairs if pairs else 0.0
    return math.sqrt(float(np.mean((m_a - m_b) ** 2)) + c_term)


# ---------------------------------------------------------------------------------------------
# closed-form inversions


def mean_field_inversion(m, C, method="naive", clip=1e-6) -> tuple[np.ndarray, np.ndarray]:
    """Mean-field inverse Ising: couplings from the inverse of the connected correlations.

    With ``χ = C − m mᵀ`` (diagonal ``1 − m_i²``), the naive mean-field equations
    ``m_i = tanh(h_i + Σ_j J_ij m_j)`` give by linear response ``(χ⁻¹)_ij = −J_ij`` for
    ``i ≠ j``, so

        ``J_ij = −(χ⁻¹)_ij``,   ``h_i = artanh m_i − Σ_j J_ij m_j``         (naive)

    The TAP equations add the Onsager reaction term, ``(χ⁻¹)_ij = −J_ij − 2 J_ij² m_i m_j``,
    solved for the root that tends to the naive one,

        ``J_ij = −2 (χ⁻¹)_ij / (1 + sqrt(1 − 8 m_i m_j (χ⁻¹)_ij))``,
        ``h_i = artanh m_i − Σ_j J_ij m_j + m_i Σ_j J_ij² (1 − m_j²)``      (tap)

    (the naive value is kept for a pair whose square root is imaginary). Both are exact to
    first order in the couplings; TAP also to second. They are starting points for
    :func:`fit_boltzmann`, not fits: on moments that came from BP on a dense graph, or from a
    model near a phase transition, ``χ`` can be (nearly) singular.

    Parameters
    ----------
    m : array (N,)
        Magnetisations, in [−1, 1].
    C : array (N, N)
        Raw second moments in [−1, 1], symmetric; the diagonal is ignored (but finite).
    method : {"naive", "tap"}
    clip : float in (0, 0.5)
        ``|m_i|`` is clipped to ``1 − clip`` so that frozen spins give large but finite
        fields.

    Returns
    -------
    h : ndarray (N,)
    J : ndarray (N, N)
        Symmetric, zero diagonal.

    Raises
    ------
    ValueError
        Bad input, or ``χ`` not positive definite (moments that no distribution has, or
        fewer samples than spins).
    """
    m, C = _check_moments(m, C)
    method = check_choice("method", method, ("naive", "tap"))
    clip = check_real("clip", clip, 0.0, 0.5, low_open=True, high_open=True)
    m = np.clip(m, -1.0 + clip, 1.0 - clip)
    chi = C - np.outer(m, m)
    np.fill_diagonal(chi, 1.0 - m * m)
    try:
        np.linalg.cholesky(chi)
    except np.linalg.LinAlgError:
        raise ValueError(
            "the connected correlations C − m mᵀ are not positive definite, so the mean-field "
            "inversion is undefined (moments from BP on a dense graph, or fewer samples than "
            "spins); start from init='independent' or 'bethe' instead"
        ) from None
    inv = np.linalg.inv(chi)
    inv = 0.5 * (inv + inv.T)
    J = -inv
    if method == "tap":
        disc = 1.0 - 8.0 * np.outer(m, m) * inv
        real = disc >= 0.0
        J = np.where(real, -2.0 * inv / (1.0 + np.sqrt(np.where(real, disc, 0.0))), J)
    np.fill_diagonal(J, 0.0)
    h = np.arctanh(m) - J @ m
    if method == "tap":
        h += m * ((J * J) @ (1.0 - m * m))
    return h, J


def bethe_inversion(m, C, mask=None, clip=1e-9) -> tuple[np.ndarray, np.ndarray]:
    """The model whose BP moments are exactly ``m`` and ``C``, in closed form.

    Take each pair's joint distribution from the moments,
    ``p_ij(s, t) = (1 + s m_i + t m_j + s t C_ij) / 4``. The Ising model

        ``J_ij = ¼ ln[p_ij(+,+) p_ij(−,−) / (p_ij(+,−) p_ij(−,+))]``,
        ``h_i = Σ_{j∈∂i} a_ij − (d_i − 1) artanh m_i``,
        ``a_ij = ¼ ln[p_ij(+,+) p_ij(+,−) / (p_ij(−,+) p_ij(−,−))]``

    (``∂i`` the ``d_i`` partners of ``i``: all others, or those of ``mask``) is
    ``∏_{ij} p_ij / ∏_i p_i^{d_i − 1}`` written as an Ising model. For such a product the
    beliefs ``b_ij = p_ij``, ``b_i = p_i`` are a fixed point of BP with all messages uniform
    in this parametrisation (the reparametrisation property of BP fixed points); in the form
    of eq. (bp-cavity) the cavity fields are ``u_{j→i} = artanh m_i − a_ij``. So BP
    moments of any model are inverted exactly, and data moments are matched exactly by the
    BP moments of the result (eqs. (bp-cavity), (bp-correlation)) whenever BP, iterated,
    converges to that fixed point. ``J_ij`` alone is the independent-pair approximation.

    This is the unregularised optimum of :func:`fit_boltzmann` (``init="bethe"``). It
    involves ``(N − 2) artanh m_i`` cancelled by a sum of ``N − 1`` terms, so sampling noise
    in strongly magnetised moments is amplified.

    Parameters
    ----------
    m : array (N,)
        Magnetisations, in [−1, 1].
    C : array (N, N)
        Raw second moments in [−1, 1], symmetric; the diagonal is ignored (but finite).
    mask : bool array (N, N), optional
        The graph of the model (symmetric); couplings outside it are zero.
    clip : float in (0, 0.01]
        Pair and site probabilities are raised to at least ``clip`` (a pair never seen in
        one of its four states would give an infinite coupling).

    Returns
    -------
    h : ndarray (N,)
    J : ndarray (N, N)
        Symmetric, zero diagonal.

    Raises
    ------
    ValueError
        Bad input, or moments inconsistent with any pair distribution (a negative
        ``p_ij(s, t)``).
    """
    m, C = _check_moments(m, C)
    n = m.size
    mask = _check_mask(mask, n)
    clip = check_real("clip", clip, 0.0, 0.01, low_open=True)
    mi, mj = m[:, None], m[None, :]
    p = {(s, t): 0.25 * (1.0 + s * mi + t * mj + s * t * C) for s in (1, -1) for t in (1, -1)}
    off = ~np.eye(n, dtype=bool)
    worst = min(float(q[off].min()) for q in p.values()) if n > 1 else 0.0
    if worst < -1e-9:
        raise ValueError(
            "m and C are inconsistent: the pair probabilities (1 ± m_i ± m_j ± C_ij)/4 must be "
            f"non-negative, got {worst:.3g}"
        )
    logp = {key: np.log(np.maximum(q, clip)) for key, q in p.items()}
    J = 0.25 * (logp[1, 1] + logp[-1, -1] - logp[1, -1] - logp[-1, 1])
    a = 0.25 * (logp[1, 1] + logp[1, -1] - logp[-1, 1] - logp[-1, -1])
    keep = off if mask is None else mask
    J = np.where(keep, J, 0.0)
    a = np.where(keep, a, 0.0)
    degree = keep.sum(axis=1)
    site = np.clip(m, -1.0 + 2.0 * clip, 1.0 - 2.0 * clip)
    h = a.sum(axis=1) - (degree - 1) * np.arctanh(site)
    return h, 0.5 * (J + J.T)


def _independent(m, clip=1e-9):
    """Independent spins: ``h = artanh m``, ``J = 0``."""
    site = np.clip(m, -1.0 + clip, 1.0 - clip)
    return np.arctanh(site), np.zeros((m.size, m.size))


# ---------------------------------------------------------------------------------------------
# Boltzmann learning


# Line search of the adaptive method: each step tries the length that last worked, grown by
# _GROW (at most 1, the quasi-Newton step); a rejected step is halved; below _RESTART the
# quasi-Newton memory (_MEMORY pairs) is dropped and the search restarts along the
# preconditioned gradient; below _MIN_STEP the fit has stalled. ℓ differences within
# _NOISE · (1 + |ℓ|) are decided by the gradients instead (see _ascends).
_GROW, _SHRINK, _RESTART, _MIN_STEP, _MEMORY, _NOISE = 1.5, 0.5, 1e-3, 1e-10, 5, 1e-9
# BP runs in chunks of sweeps; _PATIENCE chunks in a row that do not bring the residual below
# _PROGRESS times its best value mean that BP oscillates (typically the period-2 cycle of
# synchronous updates), and the damping is raised through _DAMPING_LEVELS.
_CHUNK, _PATIENCE, _PROGRESS, _DAMPING_LEVELS = 50, 3, 0.9, (0.5, 0.75, 0.9)


@njit(cache=True)
def _row_sums(i, C, C_data, J, mask, has_mask, l2, out):
    n = C.shape[0]
    dc2 = 0.0
    g2 = 0.0
    jc = 0.0
    jj = 0.0
    for j in range(i + 1, n):
        if has_mask and not mask[i, j]:
            continue
        d = C_data[i, j] - C[i, j]
        g = d - l2 * J[i, j]
        dc2 += d * d
        g2 += g * g
        jc += J[i, j] * C_data[i, j]
        jj += J[i, j] * J[i, j]
    out[0] += dc2
    out[1] += g2
    out[2] += jc
    out[3] += jj


@njit(cache=True, parallel=True)
def _pair_sums(C, C_data, J, mask, has_mask, l2):
    """Over the fitted pairs ``i < j``: ``Σ ΔC²``, ``Σ (ΔC − γJ)²``, ``Σ J C_data``, ``Σ J²``
    with ``ΔC = C_data − C``. Rows go to the workers in pairs (r, N−1−r) of equal length."""
    n = C.shape[0]
    half = (n + 1) // 2
    parts = np.zeros((half, 4))
    for r in prange(half):
        _row_sums(r, C, C_data, J, mask, has_mask, l2, parts[r])
        if n - 1 - r != r:
            _row_sums(n - 1 - r, C, C_data, J, mask, has_mask, l2, parts[r])
    total = np.zeros(4)
    for r in range(half):
        total += parts[r]
    return total


@njit(cache=True)
def _row_direction(i, C, C_data, J, mask, has_mask, l2, mu, dm, scale, D):
    n = C.shape[0]
    D[i, i] = 0.0
    for j in range(i + 1, n):
        v = 0.0
        if not has_mask or mask[i, j]:
            g = C_data[i, j] - C[i, j] - l2 * J[i, j] - mu[i] * dm[j] - mu[j] * dm[i]
            v = g * scale[i] * scale[j]
        D[i, j] = v
        D[j, i] = v


@njit(cache=True, parallel=True)
def _direction(C, C_data, J, mask, has_mask, l2, mu, dm, scale, D):
    """``D_ij = s_i s_j [C_data − C − γJ − μ_i Δm_j − μ_j Δm_i]_ij`` on the fitted pairs, 0
    elsewhere; symmetric."""
    n = C.shape[0]
    half = (n + 1) // 2
    for r in prange(half):
        _row_direction(r, C, C_data, J, mask, has_mask, l2, mu, dm, scale, D)
        if n - 1 - r != r:
            _row_direction(n - 1 - r, C, C_data, J, mask, has_mask, l2, mu, dm, scale, D)


@njit(cache=True, parallel=True)
def _axpy(a, x, y):
    """``y += a x`` for square matrices, in place."""
    n = y.shape[0]
    for i in prange(n):
        for j in range(n):
            y[i, j] += a * x[i, j]


@njit(cache=True, parallel=True)
def _scaled(x, scale, factor, out):
    """``out_ij = factor · scale_i scale_j x_ij``."""
    n = x.shape[0]
    for i in prange(n):
        for j in range(n):
            out[i, j] = factor * scale[i] * scale[j] * x[i, j]


@njit(cache=True, parallel=True)
def _matrix_dot(x, y):
    """``Σ_ij x_ij y_ij`` (numba rather than BLAS: a threaded BLAS call between numba's
    parallel kernels makes the two thread pools fight over the cores)."""
    n = x.shape[0]
    rows = np.zeros(n)
    for i in prange(n):
        acc = 0.0
        for j in range(n):
            acc += x[i, j] * y[i, j]
        rows[i] = acc
    return rows.sum()


@njit(cache=True, parallel=True)
def _matvec(x, v):
    """``x v`` (numba, for the reason of :func:`_matrix_dot`)."""
    n = x.shape[0]
    out = np.empty(n)
    for i in prange(n):
        acc = 0.0
        for j in range(n):
            acc += x[i, j] * v[j]
        out[i] = acc
    return out


# A point of the centred coordinates (b, W) is a pair (vector, symmetric matrix); the inner
# product Σ_i b b' + Σ_{i<j} W W' makes the gradient of ℓ the pair (Δm, ΔC − γJ − μΔm − Δmμ).


def _dot(u, v):
    return float(u[0] @ v[0]) + 0.5 * _matrix_dot(u[1], v[1])


def _precondition(u, scale, factor, out=None):
    """``factor · P u``: ``P`` divides ``b`` by ``1 − m_i²`` and ``W`` by
    ``(1 − m_i²)(1 − m_j²)`` (``scale = 1/(1 − m²)``)."""
    out = np.empty_like(u[1]) if out is None else out
    _scaled(u[1], scale, factor, out)
    return (factor * scale * u[0], out)


def _ascends(change, estimate, loglik, bp_error):
    """Whether a step raised ℓ: by the change of ℓ itself, or, where that is within the
    numerical noise of ℓ, by the trapezoidal estimate ``½ α (∇ℓ(θ) + ∇ℓ(θ + αd))·d`` of the
    change from the gradients at both ends (exact for a quadratic ℓ). The noise is rounding
    (``_NOISE`` relative) plus ``bp_error``: ln Z_Bethe from BP stopped at tolerance ``ε``
    was seen off by up to a few ``ε`` per spin."""
    noise = _NOISE * (1.0 + abs(loglik)) + bp_error
    return change > noise or (change >= -noise and estimate >= 0.0)


class _Memory:
    """L-BFGS memory of steps ``s`` and gradient changes ``y`` (of ``−ℓ``) in (b, W)."""

    def __init__(self, size):
        self.size = size
        self.pairs = []

    def __len__(self):
        return len(self.pairs)

    def clear(self):
        self.pairs.clear()

    def add(self, d, size, grad, new_grad):
        """Store ``s = size · d`` (``d`` is taken over) and ``y = grad − new_grad``, unless
        the curvature ``s·y`` is not positive (ℓ is not concave everywhere)."""
        if len(self.pairs) == self.size:
            _, old_y, _ = self.pairs.pop(0)
            y_matrix = old_y[1]
        else:
            y_matrix = np.empty_like(grad[1])
        np.subtract(grad[1], new_grad[1], out=y_matrix)
        y = (grad[0] - new_grad[0], y_matrix)
        np.multiply(d[1], size, out=d[1])
        s = (d[0] * size, d[1])
        sy = _dot(s, y)
        if sy > 1e-12 * math.sqrt(_dot(s, s) * _dot(y, y)):
            self.pairs.append((s, y, 1.0 / sy))

    def direction(self, grad, scale):
        """The L-BFGS ascent direction (two-loop recursion with ``H₀ = γ P``), or None
        without memory or when it is no ascent direction."""
        if not self.pairs:
            return None
        q = (grad[0].copy(), grad[1].copy())
        coefficients = []
        for s, y, rho in reversed(self.pairs):
            a = rho * _dot(s, q)
            coefficients.append(a)
            q = (q[0] - a * y[0], q[1])
            _axpy(-a, y[1], q[1])
        s, y, _ = self.pairs[-1]
        py = _precondition(y, scale, 1.0)
        gamma = _dot(s, y) / _dot(y, py)
        r = _precondition(q, scale, gamma, out=q[1])
        for (s, y, rho), a in zip(self.pairs, reversed(coefficients), strict=True):
            beta = rho * _dot(y, r)
            r = (r[0] + (a - beta) * s[0], r[1])
            _axpy(a - beta, s[1], r[1])
        if _dot(grad, r) <= 0.0:
            self.clear()
            return None
        return r


class _BPSolver:
    """BP for a sequence of nearby models: warm-started messages.

    The messages of the last accepted model are kept (:meth:`commit`); a run that does not
    converge is restarted from them, at a higher damping when ``escalate`` (the damping then
    stays for the rest of the fit).
    """

    def __init__(self, n, damping, max_sweeps):
        self.messages = bp.initial_messages(n, 0.0, 0)
        self.saved = tuple(array.copy() for array in self.messages)
        self.damping = damping
        self.max_sweeps = max_sweeps
        self.failures = 0

    def commit(self):
        for saved, array in zip(self.saved, self.messages, strict=True):
            np.copyto(saved, array)

    def solve(self, h, J, tol, escalate):
        """BP at ``(h, J)``: ``(BetheState or None, sweeps)``; None when it did not converge
        (at the highest damping, if ``escalate``)."""
        couplings = bp.prepare_couplings(J)
        sweeps = 0
        while True:
            state, used = self._attempt(h, couplings, tol)
            sweeps += used
            if state is not None:
                return state, sweeps
            self.failures += 1
            # the oscillating messages are no start for the next attempt
            for saved, array in zip(self.saved, self.messages, strict=True):
                np.copyto(array, saved)
            higher = [d for d in _DAMPING_LEVELS if d > self.damping]
            if not (escalate and higher):
                return None, sweeps
            self.damping = higher[0]

    def _attempt(self, h, couplings, tol):
        used, best, stuck = 0, np.inf, 0
        while used < self.max_sweeps:
            chunk = min(_CHUNK, self.max_sweeps - used)
            result = bp.run_bp(h, couplings, self.messages, self.damping, tol, chunk, True)
            used += result.iterations
            if result.converged and np.all(np.isfinite(result.value.m)):
                return result.value, used
            if not np.isfinite(result.residual):
                break
            # the residual of BP from a cold start may rise before it falls
            stuck = stuck + 1 if not result.residual < _PROGRESS * best else 0
            best = min(best, result.residual)
            if stuck >= _PATIENCE:
                break
        return None, used


def _mirror_upper(J):
    """Copy the upper triangle of ``J`` onto the lower one, in place."""
    lower = np.tril_indices(J.shape[0], -1)
    J[lower] = J.T[lower]


def _check_start(h0, J0, n):
    """A starting model ``(h0, J0)`` of ``n`` spins (copies), or ``(None, None)``."""
    if (h0 is None) != (J0 is None):
        given, missing = ("h0", "J0") if J0 is None else ("J0", "h0")
        raise ValueError(
            f"h0 and J0 must be given together (or neither): {given} is given, {missing} is None"
        )
    if h0 is None:
        return None, None
    h0 = check_array("h0", h0, ndim=1, allow_empty=False)
    if h0.size != n:
        raise ValueError(f"h0 must have shape ({n},) to match m, got {h0.shape}")
    h0, J0 = check_model(h0, J0, names=("h0", "J0"))
    return h0.copy(), J0.copy()


def _start(init, h0, J0, m, C, mask):
    """Starting fields and couplings (``h0, J0`` validated by :func:`_check_start`), and
    the name of the start."""
    if h0 is not None:
        return h0, J0, "h0, J0"
    if init == "independent":
        h, J = _independent(m)
    elif init == "mean_field":
        h, J = mean_field_inversion(m, C)
        if mask is not None:
            J = np.where(mask, J, 0.0)
            h = np.arctanh(np.clip(m, -1 + 1e-6, 1 - 1e-6)) - J @ m
    else:
        h, J = bethe_inversion(m, C, mask)
    return h, J, init


def _bethe_start_problem(state, h, J, m, C, mask, evaluate):
    """Why the Bethe inversion is no start (BP fails there, or converges to another fixed
    point whose moments are farther from the data than independent spins'), or ''."""
    if state is None:
        return "BP does not converge at the Bethe inversion of the data"
    fit = evaluate(h, J, state)[0]
    dC = C - np.outer(m, m)
    np.fill_diagonal(dC, 0.0)
    if mask is not None:
        dC = np.where(mask, dC, 0.0)
    pairs = _pairs_in(mask, m.size)
    independent = math.sqrt(float(np.sum(dC * dC)) / pairs) if pairs else 0.0
    if fit > independent:
        return (
            f"BP at the Bethe inversion of the data reaches moments at RMSE {fit:.3g} "
            f"(another fixed point), farther than independent spins ({independent:.3g})"
        )
    return ""


def fit_boltzmann(
    m,
    C,
    h0=None,
    J0=None,
    *,
    init="bethe",
    l2=1e-4,
    tol=1e-4,
    max_steps=500,
    method="adaptive",
    step=0.25,
    eta_h=0.3,
    eta_J=0.01,
    mask=None,
    bp_damping=0.0,
    bp_max_sweeps=1000,
    bp_tol=None,
    max_move=0.05,
    warn=True,
):
    """Boltzmann learning with BP moments: fit ``(h, J)`` to magnetisations and correlations.

    Gradient ascent on the log-likelihood, eq. (boltzmann-gradient), with the model moments
    from belief propagation, eqs. (bp-cavity) and (bp-correlation), and an L2 penalty
    ``(γ/2) Σ_{i<j} J_ij²``. The ascent is on the *Bethe* log-likelihood

        ``ℓ(h, J) = Σ_i h_i m_i + Σ_{i<j} J_ij C_ij − ln Z_Bethe − (γ/2) Σ_{i<j} J_ij²``,

    whose gradient at a BP fixed point is exactly ``(m − m_BP, C − C_BP − γJ)``: the paper's
    update ``J ← J + η_J (C − C_BP − γJ)``, ``h ← h + η_h (m − m_BP)`` (§2.3 of the reference
    notes) is its steepest ascent. With fixed steps that update oscillates or diverges on
    strongly magnetised spins: changing ``J_ij`` shifts the fields on ``i`` and ``j`` by
    ``J_ij m_j`` and ``J_ij m_i``, so the couplings of a row move one field together, and the
    curvature along that collective direction grows with ``N m²`` beyond ``2/η``.

    ``method="adaptive"`` (default) takes three measures:

    1. *Centred coordinates.* The couplings act on ``σ − μ`` with ``μ = m`` (the data):
       ``h = b − J μ``. The gradient in ``(b, J)`` is ``Δm_i`` and
       ``ΔC_ij − γJ_ij − μ_i Δm_j − μ_j Δm_i`` (the change of the *connected* correlation),
       and a coupling step ``δJ`` comes with the field step ``−δJ μ`` that keeps the mean
       fields fixed. This removes the collective direction above.
    2. *Preconditioned L-BFGS.* The inverse Hessian starts from the curvature of
       independent spins, ``P``: ``b`` divided by ``1 − m_i²`` and ``J_ij`` by
       ``(1 − m_i²)(1 − m_j²)`` (BP's m; so a unit step is Newton's step for weak couplings
       and nearly frozen spins move as fast as free ones), scaled as usual by
       ``s·y / y·Py``; the last 5 pairs of steps and gradient changes correct it for the
       couplings between parameters, which near a phase transition make plain
       preconditioned ascent crawl.
    3. *A monotone line search.* A step is kept only if ``ℓ`` (which comes with every BP
       solution) does not decrease, within its numerical noise (rounding plus ~10 N times
       the BP tolerance); inside that noise band the sign of the trapezoidal estimate
       ``½ α (∇ℓ(θ) + ∇ℓ(θ + αd))·d`` decides, so that fits to 1e-9 remain possible. The
       first step has length ``step``; each later one tries 1.5 times the last accepted
       length (at most 1); a rejected step is halved, and below 1e-3 the memory is dropped
       and the search restarts along ``P ∇ℓ``. The directions are ascent directions, so
       ``ℓ`` rises step by step and the fit cannot oscillate.
    4. *A trust region in moment space.* A step is also rejected when the BP moments move
       by more than ``max_move`` in the metric of eq. (fit-rmse). The Bethe ``ℓ`` is not the
       true log-likelihood: on data made of a few clusters (weight ensembles that mix
       networks) one long step takes BP from the paramagnetic fixed point to a condensed
       one, where ``ℓ`` is *higher* but the moments are far from the data (RMSE 0.15 →
       0.97 measured on such an ensemble), and no later step returns. Short moves keep BP
       on the branch it started from.

    The merit is ``ℓ``, not the RMSE, which on the way may rise ten-fold before it falls.
    Per-parameter sign-based steps (RPROP) were tried and rejected: they ignore the coupling
    between ``h`` and ``J`` and stalled at RMSE ~1e-3 at N = 675; preconditioned steepest
    ascent (measures 1 and 3 without the memory) converges but took 3–5 times more steps.

    ``method="plain"`` is the paper's learning, fixed steps ``eta_h``, ``eta_J`` without
    centring or preconditioning, every step accepted; it is kept for comparison.

    Each BP solution is warm-started from the last accepted one, with tolerance 10⁻⁴ times
    the current gradient RMSE (so tighter as the fit converges; between 1e-12 and 1e-6). A
    BP run that stops reducing its residual (3 chunks of 50 sweeps without a 10% gain) is
    restarted from the accepted messages with damping 0.5, 0.75, 0.9 in turn, and that
    damping stays. In the adaptive method a failure is first taken for too long a step (the
    step is rejected and ``α`` halves); only a failure right after another one raises the
    damping. If BP converges at no damping the trial step is rejected (adaptive) or the fit
    stops (plain). Failures are counted in ``info``.

    Convergence: the *gradient RMSE* — eq. (fit-rmse) applied to ``(Δm, ΔC − γJ)``, the
    stationarity condition of ``ℓ`` — is at most ``tol``; for ``γ = 0`` it is the RMSE
    itself. Moments of M samples carry a statistical error of about ``1/sqrt(M)`` per entry
    (10⁻³ for 10⁶ samples), so ``tol = 1e-4`` fits far below the noise of realistic data;
    for sampled data a ``tol`` near ``1/sqrt(M)`` is the sensible target, since matching the
    noise exactly can require couplings at which BP has no stable fixed point. There is no
    relative-improvement criterion: a fit that merely slows down has not converged. The fit
    stops unconverged, and warns, at ``max_steps``, when ``α`` falls below 1e-10
    (``"stalled"``: no step raises ``ℓ`` with convergent BP), or when BP fails.

    Starts. ``init="bethe"`` (default) is :func:`bethe_inversion`, the *exact* optimum for
    ``γ = 0`` wherever BP, run from scratch there, converges to the data's fixed point:
    such data are then fitted at step 0 (or in a few steps for ``γ > 0``). If BP fails
    there, or converges to another fixed point with moments farther from the data than
    those of independent spins, the fit warns and starts from independent spins
    (``info["init"]`` says so). ``"independent"`` is ``h = artanh m``, ``J = 0``, where BP
    converges at once; ``"mean_field"`` is :func:`mean_field_inversion` (it raises for
    moments without positive definite connected correlations, e.g. BP moments of a dense
    model).

    Parameters
    ----------
    m : array (N,)
        Data magnetisations, in [−1, 1].
    C : array (N, N)
        Data second moments ``⟨σ_i σ_j⟩`` in [−1, 1], symmetric; the diagonal is ignored
        (but finite).
    h0, J0 : arrays (N,), (N, N), optional
        Start (both or neither; ``J0`` symmetric, zero diagonal); overrides ``init``.
    init : {"bethe", "independent", "mean_field"}
    l2 : float ≥ 0
        ``γ``, the L2 strength on ``J``; the default 1e-4 is the paper's.
    tol : float > 0
        Target of the gradient RMSE.
    max_steps : int ≥ 0
        Learning steps (BP solutions after the first), accepted or rejected.
    method : {"adaptive", "plain"}
    step : float in (0, 1]
        First ``α`` of the adaptive method.
    eta_h, eta_J : float > 0
        Fixed steps of the plain method (the paper's 0.3 and 0.01).
    mask : bool array (N, N), optional
        Couplings to fit (symmetric); the others keep their starting values (0 for the
        ``init`` starts), and their correlations are neither fitted nor counted in the RMSE.
    bp_damping : float in [0, 1)
        Starting BP damping.
    bp_max_sweeps : int ≥ 1
        Sweeps allowed to one BP solution at one damping.
    bp_tol : float > 0, optional
        A fixed BP tolerance (as in :func:`~deepspin.ising.belief_propagation`) instead of
        the adaptive one.
    max_move : float > 0
        Largest change of the BP moments in one accepted step (adaptive method), in the
        metric of eq. (fit-rmse); moments cannot move by more than 2, so ``max_move=2``
        switches the trust region off.
    warn : bool
        Warn when the fit does not converge.

    Returns
    -------
    SolverResult
        ``value = (h, J)``: the last accepted parameters (highest ``ℓ``) when converged;
        otherwise the accepted parameters of lowest RMSE (the paper's choice; when the data
        are out of BP's reach, ``ℓ`` can keep rising while the moments drift away).
        ``residual`` is the gradient RMSE of ``value`` (the quantity ``tol`` bounds; equal
        to its RMSE when ``l2 = 0``, NaN when BP failed at the start) and ``converged`` is
        ``residual ≤ tol``; ``iterations`` the learning steps taken (at most
        ``max_steps``). ``info["fit_rmse"]`` is the RMSE of ``value``, eq. (fit-rmse) (over
        the mask, if any). ``info`` also holds, with
        index 0 the start and one entry per step after it (a rejected step repeats the
        current values): ``rmse``, ``gradient_rmse``, ``log_likelihood`` (Bethe ``ℓ``; up
        to a constant when masked), ``bp_sweeps`` (all sweeps of that step),
        ``bp_damping``, ``elapsed`` (seconds since the call); one entry per step:
        ``step_size`` (``α``; ``eta_J`` for plain) and ``accepted``; ``best`` and ``last``
        (dicts of ``step``, ``rmse``, ``gradient_rmse``, ``h``, ``J``: the accepted
        parameters of lowest RMSE, and the last accepted ones); ``bp_failures`` (BP runs
        that did not converge at one damping), ``rejected``, ``stopped``
        (``"converged"``, ``"max_steps"``, ``"stalled"``, ``"bp_failed"``), ``init``,
        ``method``, ``l2``, ``tol``, and
        ``messages``: the BP messages of the last accepted model, a warm start for
        :func:`~deepspin.ising.belief_propagation` on the fit's own fixed point.
    """
    clock = time.perf_counter()
    m_data, C_data = _check_moments(m, C)
    n = m_data.size
    init = check_choice("init", init, ("bethe", "independent", "mean_field"))
    method = check_choice("method", method, ("adaptive", "plain"))
    l2 = check_real("l2", l2, 0.0)
    tol = check_real("tol", tol, 0.0, low_open=True)
    max_steps = check_int("max_steps", max_steps, 0)
    first_step = alpha = check_real("step", step, 0.0, 1.0, low_open=True)
    eta_h = check_real("eta_h", eta_h, 0.0, low_open=True)
    eta_J = check_real("eta_J", eta_J, 0.0, low_open=True)
    mask = _check_mask(mask, n)
    bp_damping = check_real("bp_damping", bp_damping, 0.0, 1.0, high_open=True)
    bp_max_sweeps = check_int("bp_max_sweeps", bp_max_sweeps, 1)
    if bp_tol is not None:
        bp_tol = check_real("bp_tol", bp_tol, 0.0, low_open=True)
    max_move = check_real("max_move", max_move, 0.0, low_open=True)
    warn = check_bool("warn", warn)
    h0, J0 = _check_start(h0, J0, n)
    h, J, started = _start(init, h0, J0, m_data, C_data, mask)

    has_mask = mask is not None
    mask_arg = mask if has_mask else np.zeros((1, 1), dtype=np.bool_)
    pairs = _pairs_in(mask, n) // 2
    solver = _BPSolver(n, bp_damping, bp_max_sweeps)
    adaptive = method == "adaptive"
    # centring (adaptive only): the couplings act on σ − μ, μ = the data's m
    mu = m_data if adaptive else np.zeros(n)
    unit = np.ones(n)

    def evaluate(h, J, state):
        """RMSE, gradient RMSE and ℓ of a BP solution."""
        dc2, g2, jc, jj = _pair_sums(state.C, C_data, J, mask_arg, has_mask, l2)
        dm2 = float(np.sum((m_data - state.m) ** 2))
        c_scale = 1.0 / pairs if pairs else 0.0
        fit = math.sqrt(dm2 / n + dc2 * c_scale)
        gradient = math.sqrt(dm2 / n + g2 * c_scale)
        loglik = float(h @ m_data) + jc - state.log_z - 0.5 * l2 * jj
        return fit, gradient, loglik

    def centred_gradient(J, state, out):
        """The gradient of ℓ in (b, W) = (h + Jμ, J), eq. (boltzmann-gradient) centred."""
        dm = m_data - state.m
        _direction(state.C, C_data, J, mask_arg, has_mask, l2, mu, dm, unit, out)
        return (dm, out)

    def tolerance(gradient):
        if bp_tol is not None:
            return bp_tol
        return min(1e-6, max(1e-12, 1e-4 * gradient))

    state, sweeps = solver.solve(h, J, tolerance(tol), escalate=True)
    if started == "bethe":
        problem = _bethe_start_problem(state, h, J, m_data, C_data, mask, evaluate)
        if problem:
            warnings.warn(
                f"fit_boltzmann: {problem}; starting from independent spins instead",
                RuntimeWarning,
                stacklevel=2,
            )
            h, J = _independent(m_data)
            started = f"independent ({problem})"
            solver.damping = bp_damping
            for saved, array in zip(solver.saved, solver.messages, strict=True):
                saved.fill(1.0)
                array.fill(1.0)
            state, more = solver.solve(h, J, tolerance(tol), escalate=True)
            sweeps += more
    history = {key: [] for key in ("rmse", "gradient_rmse", "log_likelihood", "bp_sweeps")}
    history.update(bp_damping=[], elapsed=[], step_size=[], accepted=[])

    def log(fit, gradient, loglik, sweeps):
        for key, value in zip(
            ("rmse", "gradient_rmse", "log_likelihood", "bp_sweeps"),
            (fit, gradient, loglik, sweeps),
            strict=True,
        ):
            history[key].append(value)
        history["bp_damping"].append(solver.damping)
        history["elapsed"].append(time.perf_counter() - clock)

    stopped = "max_steps"
    if state is None:
        stopped, fit, gradient, loglik = "bp_failed", math.nan, math.nan, math.nan
    else:
        fit, gradient, loglik = evaluate(h, J, state)
        solver.commit()
        grad = centred_gradient(J, state, np.empty((n, n)))
    log(fit, gradient, loglik, sweeps)
    best = dict(step=0, rmse=fit, gradient_rmse=gradient, h=h.copy(), J=J.copy())
    memory = _Memory(_MEMORY)
    trial_J = np.empty((n, n))
    spare = np.empty((n, n))  # the gradient at the trial point
    steps = rejected = 0
    failed = False
    while state is not None and stopped == "max_steps":
        if gradient <= tol:
            stopped = "converged"
            break
        if steps >= max_steps:
            break
        scale = 1.0 / np.maximum(1.0 - state.m * state.m, 1e-12)
        if adaptive:
            d = memory.direction(grad, scale)
            if d is None:
                d = _precondition(grad, scale, 1.0)
            size = alpha
        else:
            d = (grad[0] * (eta_h / eta_J), grad[1].copy())
            size = eta_J
        slope = _dot(grad, d)
        shift = _matvec(d[1], mu)  # the field step −δJ μ that keeps the mean fields fixed
        while True:
            steps += 1
            np.multiply(d[1], size, out=trial_J)
            trial_J += J
            trial_h = h + size * (d[0] - shift)
            # in the adaptive method a first failure is taken for too long a step, a second
            # one for BP needing damping
            escalate = not adaptive or failed
            bp_eps = tolerance(gradient)
            trial, used = solver.solve(trial_h, trial_J, bp_eps, escalate)
            failed = trial is None
            accept = False
            if trial is not None:
                t_fit, t_gradient, t_loglik = evaluate(trial_h, trial_J, trial)
                t_grad = centred_gradient(trial_J, trial, spare)
                accept = not adaptive or (
                    _ascends(
                        t_loglik - loglik,
                        0.5 * size * (slope + _dot(t_grad, d)),
                        loglik,
                        10.0 * n * bp_eps,
                    )
                    and _moment_distance(trial.m, trial.C, state.m, state.C, mask) <= max_move
                )
            history["step_size"].append(size)
            history["accepted"].append(accept)
            if accept:
                if adaptive:
                    memory.add(d, size, grad, t_grad)
                h, J, trial_J = trial_h, trial_J, J
                spare = grad[1]
                state, grad = trial, t_grad
                fit, gradient, loglik = t_fit, t_gradient, t_loglik
                alpha = min(1.0, size * _GROW)
                solver.commit()
                log(fit, gradient, loglik, used)
                if fit < best["rmse"]:
                    best.update(
                        step=steps, rmse=fit, gradient_rmse=gradient, h=h.copy(), J=J.copy()
                    )
                break
            log(fit, gradient, loglik, used)
            if not adaptive:
                stopped = "bp_failed"
                break
            rejected += 1
            size *= _SHRINK
            if size < _RESTART and len(memory):
                # the quasi-Newton direction is bad here: start again from the gradient
                memory.clear()
                d = _precondition(grad, scale, 1.0)
                slope, shift = _dot(grad, d), _matvec(d[1], mu)
                size = alpha = first_step
            if size < _MIN_STEP:
                stopped = "stalled"
                break
            if steps >= max_steps:
                break

    # the preconditioned steps are symmetric only up to rounding (s_i s_j and s_j s_i differ
    # in the last bit); BP reads the upper triangle, so mirroring it returns exactly the
    # model whose BP moments were fitted, and exactly symmetric
    _mirror_upper(J)
    _mirror_upper(best["J"])
    info = {key: np.asarray(value) for key, value in history.items()}
    info.update(
        bp_failures=solver.failures,
        rejected=rejected,
        best=best,
        last=dict(step=steps, rmse=fit, gradient_rmse=gradient, h=h, J=J),
        stopped=stopped,
        # BP messages of the last accepted model: a warm start on the fit's own branch
        messages=tuple(array.copy() for array in solver.saved),
        init=started,
        method=method,
        l2=l2,
        tol=tol,
    )
    if stopped != "converged" and best["rmse"] < fit:
        # on the way to nowhere ℓ may rise while the moments drift away: return the best fit
        h, J, fit, gradient = best["h"], best["J"], best["rmse"], best["gradient_rmse"]
    info["fit_rmse"] = fit
    # the gradient RMSE is what tol bounds: converged exactly when stopped == "converged"
    # (NaN when BP failed at the start, which never converges)
    result = SolverResult.from_residual((h, J), gradient, tol, steps, info)
    if warn:
        warn_if_not_converged(result, f"fit_boltzmann (stopped: {stopped})")
    return result


# ---------------------------------------------------------------------------------------------
# pseudolikelihood

# Samples are turned into float64 on the device this many values at a time, so that a large
# ensemble (10⁶ × 675 spins as int8) never exists as one float64 array.
_PL_CHUNK_VALUES = 1 << 23


class _Pseudolikelihood:
    """``f(x) = (1/M) Σ_μ Σ_r ln(1 + exp(−2 σ_r H_r))`` and its gradient, with
    ``H_r = h_r + Σ_j J_rj σ_j`` and ``x = (h, J_{i<j})``."""

    def __init__(self, samples, device):
        import torch

        self.torch = torch
        self.n_samples, self.n = samples.shape
        self.device = device
        self.samples = torch.as_tensor(samples.astype(np.int8), device=device)
        self.rows = max(1, _PL_CHUNK_VALUES // self.n)
        self.upper = torch.triu_indices(self.n, self.n, 1, device=device)

    def couplings(self, x):
        n = self.n
        J = self.torch.zeros((n, n), dtype=self.torch.float64, device=self.device)
        J[self.upper[0], self.upper[1]] = x[n:]
        return J + J.T

    def __call__(self, x, gradient=True):
        torch = self.torch
        n = self.n
        h, J = x[:n], self.couplings(x)
        loss = torch.zeros((), dtype=torch.float64, device=self.device)
        grad_h = torch.zeros(n, dtype=torch.float64, device=self.device)
        grad_J = torch.zeros((n, n), dtype=torch.float64, device=self.device)
        for start in range(0, self.n_samples, self.rows):
            sigma = self.samples[start : start + self.rows].to(torch.float64)
            z = -2.0 * sigma * (sigma @ J + h)
            loss += torch.nn.functional.softplus(z).sum()
            if gradient:
                # ∂/∂H_r of ln(1 + e^{−2σ_r H_r})
                g = -2.0 * sigma * torch.sigmoid(z)
                grad_h += g.sum(dim=0)
                grad_J += sigma.T @ g
        loss /= self.n_samples
        if not gradient:
            return loss
        # J_ij (i < j) enters H_i through σ_j and H_j through σ_i
        pair = (grad_J + grad_J.T)[self.upper[0], self.upper[1]]
        return loss, torch.cat([grad_h, pair]) / self.n_samples


def _soft_threshold(torch, v, threshold):
    return torch.sign(v) * torch.clamp(v.abs() - threshold, min=0.0)


def _stationarity(torch, x, grad, n, l1):
    """Largest entry of the minimum-norm subgradient of ``f + l1 Σ|J|`` at ``x``."""
    g = grad.clone()
    if l1 > 0:
        J, gJ = x[n:], grad[n:]
        g[n:] = torch.where(J != 0, gJ + l1 * torch.sign(J), _soft_threshold(torch, gJ, l1))
    return float(g.abs().max()) if g.numel() else 0.0


def fit_pseudolikelihood(
    samples, l1=0.0, lr=1.0, max_iter=500, tol=1e-5, device="cpu", warn=True
) -> SolverResult:
    """Maximum pseudolikelihood estimate of ``(h, J)`` from ±1 samples (torch, float64).

    Minimises the negative log-pseudolikelihood per sample (§2.7 of the reference notes),
    with ``P(σ_r | σ_{∖r}) = 1 / (1 + e^{−2σ_r H_r})``, ``H_r = h_r + Σ_{j≠r} J_rj σ_j``,
    plus an optional L1 penalty:

        ``f(h, J) = (1/M) Σ_μ Σ_r ln(1 + e^{−2 σ_r^μ H_r^μ}) + l1 Σ_{i<j} |J_ij|``.

    The symmetric parametrisation is optimised directly: the unknowns are ``h`` and the
    upper triangle of ``J``, each ``J_ij`` entering the conditionals of both ``i`` and
    ``j``. This is one convex problem whose solution is symmetric by construction, rather
    than N independent logistic regressions averaged afterwards (which the authors' L1
    version does; their per-spin strength λ corresponds to ``l1 ≈ 4λ`` here). Full batch;
    the samples are streamed through in float64 chunks.

    * ``l1 = 0``: L-BFGS (``torch.optim.LBFGS``, strong-Wolfe line search, history 20). The
      objective is smooth, convex and deterministic, so a quasi-Newton method converges to
      the gradient tolerance in tens of iterations without a learning-rate schedule; Adam
      would need one and still hovers around the optimum.
    * ``l1 > 0``: FISTA, proximal gradient with Nesterov momentum, backtracking on the step
      and a function-value restart of the momentum. The proximal step (soft thresholding
      of ``J``) makes small couplings *exactly* zero, which neither L-BFGS nor a smooth
      approximation of ``|J|`` does.

    The start is independent spins (``h = artanh ⟨σ⟩``, ``J = 0``); the problem is convex,
    so no random start is needed. Convergence: the largest entry of the minimum-norm
    subgradient of ``f`` (the gradient when ``l1 = 0``) is at most ``tol``. A gradient
    ``tol`` leaves an error of about ``tol`` divided by the curvature, against a
    statistical error of about ``1/sqrt(M · curvature)``: ``tol = 1e-5`` keeps the first
    well below the second for M up to 10⁷ even where the curvature is 0.1 (``|m| ≈ 0.95``);
    looser values save iterations (at N = 300, 130 for 1e-4 against 175 for 1e-5). A spin
    that never flips has an infinite field in the exact optimum; the fit then stops at a
    large field, where the gradient has fallen below ``tol``.

    Parameters
    ----------
    samples : array (M, N) of ±1, M ≥ 1, N ≥ 1
    l1 : float ≥ 0
        L1 strength on the couplings.
    lr : float > 0
        Initial step: L-BFGS's ``lr`` (1 is the natural value with a line search), or the
        first FISTA step ``1/L`` (then adapted by backtracking).
    max_iter : int ≥ 1
        Iterations in all (L-BFGS iterations, or FISTA steps).
    tol : float > 0
        Bound on the stationarity measure below.
    device : str or torch.device
        ``"cpu"``, ``"cuda"``, ``"auto"`` (CUDA when available) or a ``torch.device``.
    warn : bool
        Warn when not converged.

    Returns
    -------
    SolverResult
        ``value = (h, J)`` as float64 numpy arrays (``J`` symmetric, zero diagonal);
        ``residual`` the stationarity measure above; ``info``: ``objective`` (final ``f``),
        ``optimizer`` (``"lbfgs"`` or ``"fista"``), ``evaluations`` (objective
        evaluations), ``l1``, ``n_samples``, ``device``.
    """
    samples = check_samples(samples)
    l1 = check_real("l1", l1, 0.0)
    lr = check_real("lr", lr, 0.0, low_open=True)
    max_iter = check_int("max_iter", max_iter, 1)
    tol = check_real("tol", tol, 0.0, low_open=True)
    device = check_device("device", device)
    warn = check_bool("warn", warn)
    import torch

    objective = _Pseudolikelihood(samples, device)
    n = objective.n
    m = np.clip(samples.mean(axis=0), -1.0 + 1e-9, 1.0 - 1e-9)
    x = torch.zeros(n + n * (n - 1) // 2, dtype=torch.float64, device=device)
    x[:n] = torch.as_tensor(np.arctanh(m), device=device)
    if l1 == 0.0:
        x, iterations, evaluations = _lbfgs(objective, x, lr, max_iter, tol)
    else:
        x, iterations, evaluations = _fista(objective, x, l1, lr, max_iter, tol)
    loss, grad = objective(x)
    residual = _stationarity(torch, x, grad, n, l1)
    h = x[:n].cpu().numpy().copy()
    J = objective.couplings(x).cpu().numpy()
    info = dict(
        objective=float(loss) + l1 * float(x[n:].abs().sum()),
        optimizer="lbfgs" if l1 == 0.0 else "fista",
        evaluations=evaluations + 1,
        l1=l1,
        n_samples=objective.n_samples,
        device=str(device),
    )
    result = SolverResult.from_residual((h, J), residual, tol, iterations, info)
    if warn:
        warn_if_not_converged(result, "fit_pseudolikelihood")
    return result


def _lbfgs(objective, x, lr, max_iter, tol):
    torch = objective.torch
    x = x.clone().requires_grad_(True)
    optimizer = torch.optim.LBFGS(
        [x],
        lr=lr,
        max_iter=max_iter,
        max_eval=2 * max_iter,
        tolerance_grad=tol,
        tolerance_change=1e-15,
        history_size=20,
        line_search_fn="strong_wolfe",
    )
    evaluations = 0

    def closure():
        nonlocal evaluations
        evaluations += 1
        with torch.no_grad():
            loss, grad = objective(x)
        x.grad = grad
        return loss

    optimizer.step(closure)
    iterations = int(optimizer.state[x].get("n_iter", 0))
    return x.detach(), iterations, evaluations


def _fista(objective, x, l1, lr, max_iter, tol):
    """FISTA with backtracking (Beck & Teboulle 2009) and function-value restart
    (O'Donoghue & Candès 2015); the L1 prox acts on the couplings only."""
    torch = objective.torch
    n = objective.n

    def prox(v, step):
        out = v.clone()
        out[n:] = _soft_threshold(torch, v[n:], step * l1)
        return out

    def total(v, smooth):
        return float(smooth) + l1 * float(v[n:].abs().sum())

    lipschitz = 1.0 / lr
    y, momentum = x.clone(), 1.0
    f_x = total(x, objective(x, gradient=False))
    f_y, g_y = objective(y)
    evaluations = 2
    iterations = 0
    while iterations < max_iter:
        iterations += 1
        while True:
            z = prox(y - g_y / lipschitz, 1.0 / lipschitz)
            f_z = objective(z, gradient=False)
            evaluations += 1
            d = z - y
            bound = f_y + float(g_y @ d) + 0.5 * lipschitz * float(d @ d)
            if float(f_z) <= bound + 1e-15 * abs(bound):
                break
            lipschitz *= 2.0
        # the gradient mapping at y: small when the prox step no longer moves
        mapping = lipschitz * float(d.abs().max()) if d.numel() else 0.0
        f_new = total(z, f_z)
        if f_new > f_x:
            # momentum made things worse: restart it from x
            y, momentum = x.clone(), 1.0
        else:
            following = 0.5 * (1.0 + math.sqrt(1.0 + 4.0 * momentum * momentum))
            y = z + ((momentum - 1.0) / following) * (z - x)
            x, f_x, momentum = z, f_new, following
        if mapping <= tol and f_new <= f_x:
            _, grad = objective(x)
            evaluations += 1
            if _stationarity(torch, x, grad, n, l1) <= tol:
                break
        f_y, g_y = objective(y)
        evaluations += 1
        lipschitz *= 0.9  # let the step grow back after a conservative backtrack
    return x, iterations, evaluations


# ---------------------------------------------------------------------------------------------
# exact maximum likelihood for small models


def fit_exact(m, C, *, l2=0.0, tol=1e-7, max_iter=1000, h0=None, J0=None) -> SolverResult:
    """The maximum-likelihood pairwise model of ``(m, C)`` by exact enumeration (N ≤ 24).

    The log-likelihood per sample, eq. (boltzmann-gradient) integrated,

        ``ℓ(h, J) = Σ_i h_i m_i + Σ_{i<j} J_ij C_ij − ln Z(h, J) − (γ/2) Σ_{i<j} J_ij²``,

    is concave (``ln Z`` is convex), with gradient ``(m − ⟨σ⟩, C − ⟨σσᵀ⟩ − γJ)``; both
    ``ln Z`` and the moments come exactly from :func:`~deepspin.ising.enumerate_exact`, so
    L-BFGS-B (scipy) on ``−ℓ`` reaches the unique optimum with no BP and no sampling. The
    optimum is finite only for magnetisations strictly inside (−1, 1).

    Parameters
    ----------
    m : array (N,)
        Data magnetisations in (−1, 1), N in [1, 24].
    C : array (N, N)
        Data second moments in [−1, 1], symmetric; the diagonal is ignored (but finite).
    l2 : float ≥ 0
        ``γ``, the L2 strength on J.
    tol : float > 0
        Target of the gradient RMSE (eq. (fit-rmse) applied to the gradient). Near the
        optimum ``ℓ`` changes by the square of the gradient, so rounding in ``ln Z`` stops the
        line search at a gradient of ~1e-8: targets below 1e-7 may not be reached.
    max_iter : int ≥ 1
        L-BFGS iterations in all.
    h0, J0 : arrays (N,), (N, N), optional
        Start (both or neither; ``J0`` symmetric, zero diagonal); default independent spins,
        ``h = artanh m``, ``J = 0``.

    Returns
    -------
    SolverResult
        ``value`` is ``(h, J)``; ``residual`` the gradient RMSE, ``converged`` is
        ``residual ≤ tol`` (a warning when not); ``info`` holds
        ``log_likelihood`` (per sample, without the penalty) and ``entropy`` (of the fitted
        model, ``S = ln Z − Σ h ⟨σ⟩ − Σ_{i<j} J ⟨σσ⟩``; at γ = 0 it equals ``−ℓ``).
    """
    m, C = _check_moments(m, C)
    n = m.size
    if n > MAX_N:
        raise ValueError(
            f"m has N = {n} spins, too many to fit exactly (2^N states are enumerated): N "
            f"must lie in [1, {MAX_N}]"
        )
    frozen = np.abs(m) >= 1.0
    if frozen.any():
        raise ValueError(
            f"m must lie in (-1, 1) (a frozen spin has no finite field), got {m[frozen][0]!r}"
        )
    l2 = check_real("l2", l2, 0.0)
    tol = check_real("tol", tol, 0.0, low_open=True)
    max_iter = check_int("max_iter", max_iter, 1)
    h0, J0 = _check_start(h0, J0, n)
    upper = np.triu_indices(n, 1)

    def unpack(theta):
        J = np.zeros((n, n))
        J[upper] = theta[n:]
        return theta[:n], J + J.T

    def negative_loglik(theta):
        h, J = unpack(theta)
        exact = enumerate_exact(h, J)
        couplings = theta[n:]
        loglik = h @ m + couplings @ C[upper] - exact.log_z - 0.5 * l2 * couplings @ couplings
        grad = np.concatenate([m - exact.m, C[upper] - exact.C[upper] - l2 * couplings])
        return -loglik, -grad

    if h0 is None:
        h0, J0 = np.arctanh(m), np.zeros((n, n))
    start = np.concatenate([h0, J0[upper]])
    # scipy's gtol bounds the largest gradient entry; the RMSE below is the criterion
    found = minimize(negative_loglik, start, jac=True, method="L-BFGS-B",
                     options=dict(maxiter=max_iter, gtol=tol / 10, ftol=0.0))  # fmt: skip
    h, J = unpack(found.x)
    exact = enumerate_exact(h, J)
    residual = _moment_distance(exact.m, exact.C + l2 * J, m, C, None)
    loglik = h @ m + J[upper] @ C[upper] - exact.log_z
    info = dict(log_likelihood=float(loglik), entropy=float(exact.entropy), l2=l2,
                message=str(found.message))  # fmt: skip
    result = SolverResult.from_residual((h, J), residual, tol, found.nit, info)
    return warn_if_not_converged(result, "fit_exact")


def bp_bias(m_bp, C_bp, samples, m_data=None, C_data=None) -> dict:
    """How far BP's moments of a model lie from its Monte Carlo moments, beyond the MC error.

    The Monte Carlo error of the moments is estimated from two independent halves of the
    samples (the RMSE of eq. (fit-rmse) between the halves' moments is twice the error of
    the whole), and BP's bias is the part of the BP–MC RMSE that exceeds it,
    ``sqrt(max(RMSE² − error², 0))`` (chapter ``zh_ising``, Monte Carlo against BP).

    Parameters
    ----------
    m_bp, C_bp : arrays ``(N,)``, ``(N, N)``
        BP's magnetisations and raw second moments.
    samples : array ``(K, N)`` of ±1, K ≥ 2
        Monte Carlo samples of the same model; the two halves must be independent (e.g.
        ``metropolis`` samples, which come chain by chain, from an even number of chains).
    m_data, C_data : arrays ``(N,)``, ``(N, N)``, optional
        The data's moments (both or neither), to report the RMSE of both methods to them.

    Returns
    -------
    dict
        ``rmse_mc_bp``, ``mc_error``, ``bias``, ``bias_over_error``, ``max_dm`` and, with
        data, ``rmse_mc_data``, ``rmse_bp_data``.
    """
    m_bp, C_bp = _check_moments(m_bp, C_bp, "m_bp", "C_bp")
    n = m_bp.size
    samples = check_samples(samples, min_rows=2)
    if samples.shape[1] != n:
        raise ValueError(f"samples must have shape (K, {n}) to match m_bp, got {samples.shape}")
    with_data = m_data is not None or C_data is not None
    if with_data:
        if m_data is None or C_data is None:
            raise ValueError("m_data and C_data must be given together (or neither)")
        m_data, C_data = _check_moments(m_data, C_data, "m_data", "C_data", n)
    m_mc, C_mc = moments(samples)
    half = samples.shape[0] // 2
    error = rmse(*moments(samples[:half]), *moments(samples[half : 2 * half])) / 2
    distance = rmse(m_mc, C_mc, m_bp, C_bp)
    bias = math.sqrt(max(distance**2 - error**2, 0.0))
    out = dict(rmse_mc_bp=distance, mc_error=error, bias=bias,
               bias_over_error=bias / error if error > 0 else math.inf,
               max_dm=float(np.abs(m_mc - m_bp).max()))  # fmt: skip
    if with_data:
        out.update(rmse_mc_data=rmse(m_mc, C_mc, m_data, C_data),
                   rmse_bp_data=rmse(m_bp, C_bp, m_data, C_data))  # fmt: skip
    return out
