"""Belief propagation (the Bethe approximation) for dense pairwise Ising models.

The cavity equations (chapter ``zh_ising``, eqs. (bp-cavity)–(bp-free-energy)) are

    m_{i→j} = tanh(h_i + Σ_{k≠i,j} u_{k→i}),   u_{k→i} = artanh(t_ki m_{k→i}),  t = tanh J.

They are solved here without a single tanh or artanh per message. Write every message as
the ratio ``r_{k→i} = e^{2u_{k→i}} = (1 + t m_{k→i}) / (1 − t m_{k→i})`` and every site
through ``w_i = (1 + m_i)/2 = sigmoid(2H_i)``, ``H_i = h_i + Σ_k u_{k→i}``. Then
``e^{2(H_i − u_{j→i})} = R_i / r_{j→i}`` with ``R_i = e^{2H_i}``, and the update of a
message is a rational function of the old ones (eq. (bp-ratio)):

    r_{i→j} = [w_i (1 + t) + (1 − w_i) r_{j→i} (1 − t)] / [w_i (1 − t) + (1 − w_i) r_{j→i} (1 + t)].

The sum of artanh over the neighbours becomes the logarithm of a product, taken in
blocks short enough never to overflow. The two messages of an edge ``k < i`` are stored
at the same place of two upper-triangular arrays, ``P[k, i] = r_{k→i}`` and
``Q[k, i] = r_{i→k}``; an update (synchronous, optionally damped) then reads and writes
each position once, contiguously along the rows.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numba import get_num_threads, njit, prange

from deepspin.checks import as_generator, check_array, check_bool, check_int, check_real
from deepspin.ising.model import check_model
from deepspin.results import SolverResult, warn_if_not_converged

__all__ = ["BetheState", "belief_propagation"]

# Products of at most this many message ratios are formed before taking a logarithm;
# a ratio lies in [e^{-2|J|}, e^{2|J|}], so the block length keeps e^{±600} in range.
_LOG_BUDGET = 600.0


@dataclass
class BetheState:
    """The Bethe (BP) solution of a pairwise Ising model.

    Attributes
    ----------
    m : ndarray (N,)
        Magnetisations ``⟨σ_i⟩``.
    C : ndarray (N, N) or None
        Raw second moments ``⟨σ_i σ_j⟩`` from the edge marginals, eq. (bp-correlation);
        the diagonal is 1 (None when not asked for).
    log_z : float
        Bethe free entropy ``ln Z`` (``−βF``), eq. (bp-free-energy).
    energy : float
        ``⟨E⟩ = −Σ h_i m_i − Σ_{i<j} J_ij C_ij``.
    entropy : float
        ``ln Z + ⟨E⟩``.
    messages : tuple of ndarray
        ``(P, Q)``: the message ratios, to warm-start another call.
    """

    m: np.ndarray
    C: np.ndarray
    log_z: float
    energy: float
    entropy: float
    messages: tuple


def _block_length(J_abs_max, n):
    """Message ratios multiplied before a logarithm is taken: few enough not to overflow."""
    longest = n if J_abs_max <= 0.0 else int(_LOG_BUDGET / (2.0 * J_abs_max))
    return max(1, min(longest, n))


@njit(cache=True, parallel=True, fastmath=True, error_model="numpy")
def _log_site_ratios(h, P, Q, block):
    n = h.size
    n_blocks = (n + block - 1) // block
    partial = np.zeros((n_blocks, n))
    for b in prange(n_blocks):
        acc = np.ones(n)
        for k in range(b * block, min(n, (b + 1) * block)):
            for i in range(k + 1, n):
                acc[i] *= P[k, i]
            # the outgoing row of k holds its incoming messages from k' > k
            start = k + 1
            while start < n:
                stop = min(n, start + block)
                prod = 1.0
                for i in range(start, stop):
                    prod *= Q[k, i]
                partial[b, k] += math.log(prod)
                start = stop
        for i in range(n):
            partial[b, i] += math.log(acc[i])
    log_r = 2.0 * h
    for b in range(n_blocks):
        log_r += partial[b]
    return log_r


@njit(cache=True, fastmath=True, error_model="numpy")
def _update_messages(p_row, q_row, t_row, w_tail, wk, damping, tail):
    """New ratios of the edges (k, i > k) of one row, in place; returns ``Σ (Δr)²`` and
    the product of the new ``r_{i→k}``.

    ``r_new = (A + tB) / (A − tB)`` with ``A ± B`` = ``2w``, ``2(1 − w) r_old`` (the
    ratio form of eq. (bp-ratio)); both messages of an edge share one division. Each
    new ``r_{k→i}`` is multiplied into ``tail[i]``, the incoming product of site i.
    An edge reads only its own old ratios and the site ratios ``w`` of the previous
    sweep, so the update in place is still synchronous.
    """
    vk = 1.0 - wk
    keep = 1.0 - damping
    change = 0.0
    product = 1.0
    for i in range(p_row.size):
        p, q, ti, wi = p_row[i], q_row[i], t_row[i], w_tail[i]
        sp, dp = wk + vk * q, ti * (wk - vk * q)
        vi = 1.0 - wi
        sq, dq = wi + vi * p, ti * (wi - vi * p)
        inv = keep / ((sp - dp) * (sq - dq))
        a = (sp + dp) * (sq - dq) * inv + damping * p
        b = (sq + dq) * (sp - dp) * inv + damping * q
        p_row[i] = a
        q_row[i] = b
        tail[i] *= a
        product *= b
        change += (a - p) * (a - p) + (b - q) * (b - q)
    return change, product


@njit(cache=True, fastmath=True, error_model="numpy")
def _update_row(k, P, Q, t, w, damping, column_product, block):
    """Update row k (the edges (k, i > k)) of ``P, Q`` in place.

    Multiplies the new ``r_{k→i}`` into ``column_product[i]`` (the incoming product of
    site i) and returns ``Σ (Δr)²`` and ``Σ ln`` of the new ``r_{i→k}`` (the incoming
    messages of site k from the right), taking one logarithm per ``block`` edges.
    """
    n = w.size
    change, row_log = 0.0, 0.0
    for start in range(k + 1, n, block):
        stop = min(n, start + block)
        res, product = _update_messages(
            P[k, start:stop], Q[k, start:stop], t[k, start:stop], w[start:stop], w[k],
            damping, column_product[start:stop],
        )  # fmt: skip
        change += res
        row_log += math.log(product)
    return change, row_log


@njit(cache=True, fastmath=True, error_model="numpy")
def _fold(column_product, column_log):
    for i in range(column_product.size):
        column_log[i] += math.log(column_product[i])
        column_product[i] = 1.0


@njit(cache=True)
def _row_ranges(n, n_parts):
    """Boundaries of ``n_parts`` contiguous row ranges with about equal numbers of edges
    (row k holds N − 1 − k of them)."""
    bounds = np.full(n_parts + 1, n)
    bounds[0] = 0
    total = n * (n - 1) // 2
    done, part = 0, 1
    for k in range(n):
        done += n - 1 - k
        while part < n_parts and done * n_parts >= part * total:
            bounds[part] = k + 1
            part += 1
    return bounds


@njit(cache=True, parallel=True, fastmath=True, error_model="numpy")
def _sweep(h, P, Q, t, w, damping, block, bounds, log_r):
    """One synchronous sweep over all edges of ``P, Q`` (in place); leaves
    ``ln R_i`` of the new messages in ``log_r`` and returns ``Σ (Δr)²``.

    Each worker takes a contiguous range of rows (``bounds``, equal numbers of edges),
    which keeps the hardware prefetchers on one stream per array, and its own column
    products, folded into logarithms every ``block`` rows so that they never overflow.
    """
    n = w.size
    n_parts = bounds.size - 1
    products = np.ones((n_parts, n))
    logs = np.zeros((n_parts, n))
    row_logs = np.zeros(n)
    change = np.zeros(n_parts)
    for part in prange(n_parts):
        for k in range(bounds[part], bounds[part + 1]):
            res, row_logs[k] = _update_row(k, P, Q, t, w, damping, products[part], block)
            change[part] += res
            if (k + 1 - bounds[part]) % block == 0:
                _fold(products[part], logs[part])
        _fold(products[part], logs[part])
    for i in range(n):
        total = 2.0 * h[i] + row_logs[i]
        for part in range(n_parts):
            total += logs[part, i]
        log_r[i] = total
    return change.sum()


@njit(cache=True, error_model="numpy")
def _sigmoid(log_r, w):
    # not fastmath: exp may overflow to inf, and w must then be exactly 0
    for i in range(log_r.size):
        w[i] = 1.0 / (1.0 + math.exp(-log_r[i]))


@njit(cache=True, error_model="numpy")
def _solve(h, P, Q, t, block, damping, tol, max_sweeps, n_parts):
    """Sweep ``P, Q`` in place until the norm of the change is at most ``tol``."""
    n = h.size
    w = np.empty(n)
    bounds = _row_ranges(n, n_parts)
    log_r = _log_site_ratios(h, P, Q, block)
    _sigmoid(log_r, w)
    residual = np.inf
    sweeps = 0
    while sweeps < max_sweeps:
        change = _sweep(h, P, Q, t, w, damping, block, bounds, log_r)
        residual = math.sqrt(change)
        _sigmoid(log_r, w)
        sweeps += 1
        if residual <= tol:
            break
    return w, log_r, sweeps, residual


@njit(cache=True, fastmath=True, error_model="numpy")
def _edge_row(k, P, Q, t, J, w, block, c_out):
    """Edge quantities of row k: correlations into ``c_out``, ``Σ ln`` of the edge and
    cavity terms of ln Z, and ``Σ J C``.

    The free-entropy terms of an edge, ``ln cosh J − ln(1 + t m m) − ln((1+p)/2) −
    ln((1+q)/2)``, are ``½ ln y`` with ``y = 16 / ((1 − t²)(1 + t m m)²(1 + p)²(1 + q)²)``
    (``cosh² J = 1/(1 − t²)``); the y are multiplied in blocks and one logarithm is
    taken per block.
    """
    n = w.size
    m = n - k - 1
    wk, vk = w[k], 1.0 - w[k]
    p_row, q_row, t_row, w_tail = P[k, k + 1 :], Q[k, k + 1 :], t[k, k + 1 :], w[k + 1 :]
    j_row = J[k, k + 1 :]
    y = np.empty(m)
    for i in range(m):
        p, q, ti, wi = p_row[i], q_row[i], t_row[i], w_tail[i]
        vi = 1.0 - wi
        m_ki = (wk - vk * q) / (wk + vk * q)  # m_{k→i}
        m_ik = (wi - vi * p) / (wi + vi * p)  # m_{i→k}
        mm = m_ki * m_ik
        c_out[i] = (ti + mm) / (1.0 + ti * mm)
        d = (1.0 + ti * mm) * (1.0 + p) * (1.0 + q)
        y[i] = 16.0 / ((1.0 - ti * ti) * d * d)
    log_sum = 0.0
    start = 0
    while start < m:
        stop = min(m, start + block)
        prod = 1.0
        for i in range(start, stop):
            prod *= y[i]
        log_sum += 0.5 * math.log(prod)
        start = stop
    jc = 0.0
    for i in range(m):
        jc += j_row[i] * c_out[i]
    return log_sum, jc


@njit(cache=True, error_model="numpy")
def _observe_row(k, J, t, P, Q, w, block, want_c, C, logs, jcs):
    c_row = np.empty(w.size - k - 1)
    logs[k], jcs[k] = _edge_row(k, P, Q, t, J, w, block, c_row)
    if want_c:
        for i in range(c_row.size):
            C[k, k + 1 + i] = c_row[i]
            C[k + 1 + i, k] = c_row[i]


@njit(cache=True, parallel=True, error_model="numpy")
def _observables(J, t, P, Q, w, block, want_c):
    """Correlations (when ``want_c``), the edge part of ln Z and ``Σ_{k<i} J C``."""
    n = w.size
    C = np.eye(n) if want_c else np.empty((0, 0))
    logs = np.zeros(n)
    jcs = np.zeros(n)
    half = (n + 1) // 2
    for r in prange(half):
        _observe_row(r, J, t, P, Q, w, block, want_c, C, logs, jcs)
        if n - 1 - r != r:
            _observe_row(n - 1 - r, J, t, P, Q, w, block, want_c, C, logs, jcs)
    return C, logs.sum(), jcs.sum()


def _log1p_exp(x):
    return np.maximum(x, 0.0) + np.log1p(np.exp(-np.abs(x)))


def initial_messages(n, init_scale, seed):
    """Message ratios ``(P, Q)`` to start BP from: 1 (all cavity fields zero), or
    ``exp(init_scale · N(0, 1))`` when ``init_scale > 0``.

    For the solvers that run BP on validated inputs (:func:`belief_propagation`, and the
    warm-started solvers of :mod:`deepspin.ising.inverse` and
    :mod:`deepspin.ising.landscape`); not in ``__all__``: ``n ≥ 1`` and ``init_scale`` in
    [0, 100] are not checked here.
    """
    P = np.ones((n, n))
    Q = np.ones((n, n))
    if init_scale > 0:
        rng = as_generator(seed)
        P *= np.exp(init_scale * rng.standard_normal((n, n)))
        Q *= np.exp(init_scale * rng.standard_normal((n, n)))
    return P, Q


@dataclass(frozen=True)
class _Couplings:
    """What BP needs of J, computed once for many calls with the same couplings."""

    J: np.ndarray
    t: np.ndarray
    block: int


@njit(cache=True, parallel=True)
def _tanh_upper(J):
    """``tanh J`` on the upper triangle (the only part BP reads), and ``max |J|``."""
    n = J.shape[0]
    t = np.zeros((n, n))
    big = np.zeros(n)
    for k in prange(n):
        for i in range(k + 1, n):
            t[k, i] = math.tanh(J[k, i])
            big[k] = max(big[k], abs(J[k, i]))
    return t, big.max()


def prepare_couplings(J) -> _Couplings:
    """What :func:`run_bp` needs of validated couplings ``J`` (symmetric, zero diagonal):
    computed once for many runs with the same couplings."""
    t, largest = _tanh_upper(J)
    return _Couplings(J, t, _block_length(float(largest), J.shape[0]))


def run_bp(h, couplings, messages, damping, tol, max_sweeps, correlations=True):
    """BP on validated inputs; ``messages`` are updated in place. Returns a SolverResult.

    ``h`` the fields, ``couplings`` from :func:`prepare_couplings`, ``messages`` a pair of
    ``(N, N)`` float64 arrays of positive ratios (from :func:`initial_messages` or an
    earlier run), and the solver settings of :func:`belief_propagation`, all validated by
    the caller: the kernels index the arrays without checks.
    """
    P, Q = messages
    J, t, block = couplings.J, couplings.t, couplings.block
    w, log_r, sweeps, residual = _solve(
        h, P, Q, t, block, damping, tol, max_sweeps, get_num_threads()
    )
    C, edge_log, jc = _observables(J, t, P, Q, w, block, correlations)
    # site terms −h_i + ln(1 + R_i); the edge and cavity terms come from _observables
    log_z = float(np.sum(-h + _log1p_exp(log_r)) + edge_log)
    m = 2.0 * w - 1.0
    energy = float(-h @ m - jc)
    state = BetheState(m, C if correlations else None, log_z, energy, log_z + energy, (P, Q))
    info = dict(damping=damping, tol=tol, n_threads=get_num_threads())
    return SolverResult.from_residual(state, residual, tol, sweeps, info)


def _check_messages(messages, n):
    """Float64 copies of two (n, n) arrays of finite positive message ratios."""
    wanted = f"two ({n}, {n}) arrays of finite positive message ratios (BetheState.messages)"
    if not isinstance(messages, (tuple, list)) or len(messages) != 2:
        raise ValueError(f"messages must be {wanted}, got {messages!r}")
    out = []
    for k, ratios in enumerate(messages):
        ratios = np.array(check_array(f"messages[{k}]", ratios, 0.0, low_open=True))
        if ratios.shape != (n, n):
            raise ValueError(
                f"messages must be {wanted} of a model of size {n}, got messages[{k}] of "
                f"shape {ratios.shape}"
            )
        out.append(ratios)
    return tuple(out)


def belief_propagation(
    h,
    J,
    messages=None,
    damping=0.0,
    tol=1e-8,
    max_sweeps=2000,
    init_scale=0.0,
    seed=0,
    correlations=True,
    warn=True,
):
    """Solve the BP equations of ``P(σ) ∝ exp(Σ h_i σ_i + Σ_{i<j} J_ij σ_i σ_j)``.

    Parameters
    ----------
    h : array (N,)
    J : array (N, N)
        Symmetric, zero diagonal.
    messages : tuple of two arrays (N, N), optional
        ``BetheState.messages`` of an earlier call with the same N: a warm start (copied,
        not modified). The entries are message ratios ``e^{2u}``: finite and > 0.
    damping : float in [0, 1)
        ``r ← (1 − damping) r_new + damping r_old`` (linear in the message ratio; the
        fixed points do not change).
    tol : float > 0
        Stop when the Euclidean norm of the change of all message ratios
        ``r = e^{2u}`` in a sweep is at most ``tol`` (so no single ratio moved by more;
        for weak couplings r ≈ 1 and its change is twice that of the cavity field u).
    max_sweeps : int ≥ 0
        Sweeps allowed in all (0: the messages are only evaluated, unconverged).
    init_scale : float in [0, 100]
        Without ``messages``, the ratios start at ``exp(init_scale · N(0, 1))`` (0: all
        cavity fields zero; above 100 the ratios could overflow).
    seed : None, int ≥ 0 or numpy Generator
        Seed of that random start.
    correlations : bool
        Return the N × N matrix C (the energy is computed either way).
    warn : bool
        Warn when BP does not converge.

    Returns
    -------
    SolverResult
        ``value`` is a :class:`BetheState`; ``residual`` is the norm of the last sweep's
        change of the message ratios (∞ before any sweep); ``converged`` is
        ``residual ≤ tol``; ``iterations`` counts sweeps.
    """
    h, J = check_model(h, J)
    n = h.size
    damping = check_real("damping", damping, 0.0, 1.0, high_open=True)
    tol = check_real("tol", tol, 0.0, low_open=True)
    max_sweeps = check_int("max_sweeps", max_sweeps, 0)
    init_scale = check_real("init_scale", init_scale, 0.0, 100.0)
    seed = as_generator(seed)
    correlations = check_bool("correlations", correlations)
    warn = check_bool("warn", warn)
    messages = (
        initial_messages(n, init_scale, seed) if messages is None else _check_messages(messages, n)
    )
    result = run_bp(h, prepare_couplings(J), messages, damping, tol, max_sweeps, correlations)
    if warn:
        warn_if_not_converged(result, "belief_propagation")
    return result
