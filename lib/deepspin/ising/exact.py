"""Exact enumeration of a pairwise Ising model with up to 24 spins.

``P(σ) = e^{−βE(σ)} / Z`` with ``E(σ) = −Σ_i h_i σ_i − ½ Σ_{i≠j} J_ij σ_i σ_j``; the sums
over all ``2^N`` configurations give

    ln Z,  m_i = ⟨σ_i⟩,  C_ij = ⟨σ_i σ_j⟩,  ⟨E⟩,  S = ln Z + β⟨E⟩,  c = β² Var E.

Spin ``i`` is bit ``i`` of the state index (``σ_i = 2 bit_i − 1``). The ``L`` low spins
(``L = min(N, 12)``) and the ``N − L`` high ones are treated differently. For one high
configuration ``b`` the energy is

    E(a, b) = E_high(b) + Q(a) − Σ_{i<L} f_i(b) a_i,   f_i(b) = h_i + Σ_{j≥L} J_ij b_j,

with ``Q(a) = −½ Σ_{i≠k<L} J_ik a_i a_k`` tabulated once for the ``2^L`` low
configurations. The linear term is built for all ``a`` by doubling (setting bit ``k``
changes it by ``−2 f_k``), so a low configuration costs O(1): one addition, one
exponential and the accumulations below. The high configurations are walked by a Gray code, one spin
flip at a time, keeping ``E_high`` and ``f`` up to date through local fields in O(N)
per flip; the top ``k ≤ 6`` high spins are split among threads (``2^k`` independent
walks). The moments need

* low–low: ``Σ_a W(a) a aᵀ`` with ``W(a) = Σ_b w(a, b)``, once at the end, O(2^L L²);
* low–high: ``Σ_b v(b) bᵀ`` with ``v_i(b) = Σ_a w(a, b) a_i``, the first moments of a
  block, which a butterfly fold (pairs of entries differing in bit ``i``) gives in
  O(2^L) for all ``i`` together; the outer product is O(L (N − L)) per block;
* high–high: ``Σ_b Z(b) b bᵀ``, O((N − L)²) per block.

The total is O(2^N) plus O(2^{N−L} N²), i.e. a few operations and one exponential per
configuration, instead of the O(2^N N²) of accumulating ``σσᵀ`` state by state.

Weights are ``e^{−β(E − E_ref)}`` with ``E_ref`` the lowest energy of the walk's first
block, lowered to a later block's minimum (and the partial sums rescaled) only when that
block would otherwise weigh more than ``e^{30}``; the parts are brought to a common
reference at the end; the energy moments are accumulated relative to ``E_ref``, so that
``Var E`` stays accurate at low temperature where it is tiny compared to ``⟨E⟩²``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numba import njit, prange

from deepspin.checks import as_generator, check_int, check_real
from deepspin.ising.model import check_model

__all__ = ["ExactResult", "all_energies", "enumerate_exact", "sample_exact"]

MAX_N = 24
MAX_N_SAMPLE = 20
_LOW_BITS = 12
_PART_BITS = 6
_PARALLEL_N = 19
# weights are allowed up to e^_SLACK before the reference energy is lowered: 2^24 e^30
# is far from overflow, and rescaling every time a new minimum appears would cost a
# pass over the partial sums each time
_SLACK = 30.0


@dataclass(frozen=True)
class ExactResult:
    """Exact thermodynamics of ``P(σ) ∝ e^{−βE(σ)}``.

    Attributes
    ----------
    log_z : float
        ``ln Z = ln Σ_σ e^{−βE(σ)}``.
    m : ndarray (N,)
        ``⟨σ_i⟩``.
    C : ndarray (N, N)
        Raw second moments ``⟨σ_i σ_j⟩`` (diagonal 1).
    energy : float
        ``⟨E⟩`` (the Hamiltonian, not multiplied by β).
    entropy : float
        Shannon entropy ``S = −Σ P ln P = ln Z + β⟨E⟩``.
    heat_capacity : float
        ``β² Var E = β² (⟨E²⟩ − ⟨E⟩²)`` (``= −β ∂S/∂β``).
    beta : float
        The inverse temperature used.
    """

    log_z: float
    m: np.ndarray
    C: np.ndarray
    energy: float
    entropy: float
    heat_capacity: float
    beta: float


@njit(cache=True)
def _pair_table(J, n_low):
    """``Q(a) = −Σ_{i<k<L} J_ik a_i a_k`` for every low configuration ``a``."""
    size = 1 << n_low
    q = np.zeros(size)
    s = np.empty(n_low)
    for a in range(size):
        for i in range(n_low):
            s[i] = 2.0 * ((a >> i) & 1) - 1.0
        total = 0.0
        for i in range(n_low):
            partial = 0.0
            for k in range(i + 1, n_low):
                partial += J[i, k] * s[k]
            total += s[i] * partial
        q[a] = -total
    return q


@njit(cache=True)
def _high_start(h, J, n_low, bits):
    """High spins of the configuration whose high bits are ``bits``, their local fields
    from the high spins only (``g``), the fields on the low spins (``f``), ``E_high``."""
    n = h.size
    n_high = n - n_low
    sigma = np.empty(n_high)
    for j in range(n_high):
        sigma[j] = 2.0 * ((bits >> j) & 1) - 1.0
    g = np.empty(n_high)
    e_high = 0.0
    for j in range(n_high):
        acc = h[n_low + j]
        for k in range(n_high):
            acc += J[n_low + j, n_low + k] * sigma[k]
        g[j] = acc
        # E_high = −½ Σ_j σ_j (h_j + g_j): each pair is counted once through g
        e_high -= 0.5 * sigma[j] * (h[n_low + j] + acc)
    f = np.empty(n_low)
    for i in range(n_low):
        acc = h[i]
        for k in range(n_high):
            acc += J[i, n_low + k] * sigma[k]
        f[i] = acc
    return sigma, g, f, e_high


@njit(cache=True)
def _flip_high(J, n_low, j, sigma, g, f, e_high):
    """Flip high spin ``j``; update ``g`` and ``f`` in place and return the new ``E_high``."""
    s = sigma[j]
    e_high += 2.0 * s * g[j]
    sigma[j] = -s
    col = n_low + j
    for k in range(g.size):
        g[k] -= 2.0 * s * J[n_low + k, col]
    for i in range(f.size):
        f[i] -= 2.0 * s * J[i, col]
    return e_high


@njit(cache=True, fastmath=True)
def _block_energies(q, f, e_high, energies):
    """``E(a, b)`` for every low ``a`` into ``energies``; returns their minimum.

    The linear term ``−Σ f_i a_i`` is built by doubling: setting bit k of ``a < 2^k``
    turns ``a_k`` from −1 into +1 and adds ``−2 f_k``.
    """
    energies[0] = 0.0
    for i in range(f.size):
        energies[0] += f[i]
    size = 1
    for k in range(f.size):
        step = -2.0 * f[k]
        for a in range(size):
            energies[size + a] = energies[a] + step
        size *= 2
    # no infinities here: fastmath lets LLVM assume there are none
    low = energies[0] + e_high + q[0]
    for a in range(energies.size):
        e = energies[a] + e_high + q[a]
        energies[a] = e
        low = min(low, e)
    return low


@njit(cache=True)
def _allocate(h, J, n_low, part_bits):
    """The pair table and the zeroed partial sums of the ``2^part_bits`` parts."""
    n_high = h.size - n_low
    n_parts = 1 << part_bits
    q = _pair_table(J, n_low)
    # per part: E_ref, Z, Σ w ΔE, Σ w ΔE² (ΔE = E − E_ref), then the moment sums
    totals = np.zeros((n_parts, 4))
    w_low = np.zeros((n_parts, q.size))
    m_high = np.zeros((n_parts, n_high))
    c_high = np.zeros((n_parts, n_high, n_high))
    c_cross = np.zeros((n_parts, n_low, n_high))
    return q, totals, w_low, m_high, c_high, c_cross


@njit(cache=True, parallel=True)
def _enumerate_parallel(h, J, beta, n_low, part_bits):
    """Partial sums of the ``2^part_bits`` parts, each relative to its own ``E_ref``."""
    q, totals, w_low, m_high, c_high, c_cross = _allocate(h, J, n_low, part_bits)
    n_mid = h.size - n_low - part_bits
    for p in prange(totals.shape[0]):
        _walk_part(h, J, beta, n_mid, p, q, totals[p], w_low[p], m_high[p], c_high[p], c_cross[p])
    return totals, w_low, m_high, c_high, c_cross


@njit(cache=True)
def _enumerate_serial(h, J, beta, n_low, part_bits):
    """As :func:`_enumerate_parallel`, on the calling thread."""
    q, totals, w_low, m_high, c_high, c_cross = _allocate(h, J, n_low, part_bits)
    n_mid = h.size - n_low - part_bits
    for p in range(totals.shape[0]):
        _walk_part(h, J, beta, n_mid, p, q, totals[p], w_low[p], m_high[p], c_high[p], c_cross[p])
    return totals, w_low, m_high, c_high, c_cross


@njit(cache=True, fastmath=True)
def _walk_part(h, J, beta, n_mid, p, q, totals, w_low, m_high, c_high, c_cross):
    """Gray-code walk over the middle spins of part ``p`` (its top spins fixed by ``p``);
    ``totals`` receives ``E_ref, Z, Σ w ΔE, Σ w ΔE²``, the arrays the moment sums."""
    n_low, n_high = c_cross.shape
    size = q.size
    sigma, g, f, e_high = _high_start(h, J, n_low, p << n_mid)
    energies = np.empty(size)
    scratch = np.empty(max(size // 2, 1))
    v = np.empty(n_low)
    ref = 0.0
    zp = 0.0
    s1p = 0.0
    s2p = 0.0
    for t in range(1 << n_mid):
        if t > 0:
            j = 0
            while not (t >> j) & 1:
                j += 1
            e_high = _flip_high(J, n_low, j, sigma, g, f, e_high)
        low = _block_energies(q, f, e_high, energies)
        if t == 0:
            ref = low
        elif beta * (low - ref) < -_SLACK:
            # lower the reference: every weight so far shrinks by c, and the energy
            # moments are re-centred on the new reference (shift d)
            d = ref - low
            c = math.exp(-beta * d)
            s2p = c * (s2p + 2.0 * d * s1p + d * d * zp)
            s1p = c * (s1p + d * zp)
            zp *= c
            w_low *= c
            m_high *= c
            c_high *= c
            c_cross *= c
            ref = low
        zb = 0.0
        for a in range(size):
            de = energies[a] - ref
            w = math.exp(-beta * de)
            energies[a] = w
            w_low[a] += w
            zb += w
            s1p += w * de
            s2p += w * de * de
        _fold_first_moments(energies, scratch, v)
        zp += zb
        for j in range(n_high):
            m_high[j] += zb * sigma[j]
            for k in range(n_high):
                c_high[j, k] += zb * sigma[j] * sigma[k]
            for i in range(n_low):
                c_cross[i, j] += v[i] * sigma[j]
    totals[0] = ref
    totals[1] = zp
    totals[2] = s1p
    totals[3] = s2p


@njit(cache=True, fastmath=True)
def _fold_first_moments(w, scratch, v):
    """``v_i = Σ_a w(a) a_i`` for every low spin i in O(2^L): fold the pairs of entries
    that differ in bit 0 (their difference is the bit-0 moment, their sum a table over
    the remaining bits), then bit 1 of the folded table, and so on."""
    n_low = v.size
    if n_low == 0:
        return
    half = w.size // 2
    acc = 0.0
    for j in range(half):
        lo, hi = w[2 * j], w[2 * j + 1]
        acc += hi - lo
        scratch[j] = lo + hi
    v[0] = acc
    for i in range(1, n_low):
        half //= 2
        acc = 0.0
        for j in range(half):
            lo, hi = scratch[2 * j], scratch[2 * j + 1]
            acc += hi - lo
            scratch[j] = lo + hi
        v[i] = acc


def _split(n):
    n_low = min(n, _LOW_BITS)
    return n_low, min(n - n_low, _PART_BITS)


def _low_spins(n_low):
    """The ``(2^L, L)`` table of low configurations, ``a_i = 2 bit_i − 1``."""
    index = np.arange(1 << n_low)[:, None]
    return (2 * ((index >> np.arange(n_low)) & 1) - 1).astype(np.float64)


def enumerate_exact(h, J, beta=1.0) -> ExactResult:
    """Exact ``ln Z``, moments and thermodynamics of ``P(σ) ∝ e^{−βE(σ)}`` by summing over
    all ``2^N`` configurations (N ≤ 24).

    ``E(σ) = −Σ_i h_i σ_i − ½ Σ_{i≠j} J_ij σ_i σ_j`` (chapter ``zh_ising``); the entropy is
    ``S = ln Z + β⟨E⟩`` and the heat capacity ``β² Var E``. The cost is a few operations
    and one exponential per configuration (see the module docstring): about 0.1 s at
    N = 24 on two cores.

    Parameters
    ----------
    h : array (N,)
        Finite fields, N in [1, 24] (2^N configurations are summed).
    J : array (N, N)
        Symmetric, zero diagonal.
    beta : float ≥ 0
        Inverse temperature.

    Returns
    -------
    ExactResult
    """
    h, J = check_model(h, J, MAX_N, why="to enumerate exactly (2^N configurations)")
    beta = check_real("beta", beta, 0.0)
    n = h.size
    n_low, part_bits = _split(n)
    # below 2^_PARALLEL_N states the whole sum takes a few ms, less than waking threads
    # can cost on a busy machine
    kernel = _enumerate_parallel if n >= _PARALLEL_N else _enumerate_serial
    totals, w_low, m_high, c_high, c_cross = kernel(h, J, beta, n_low, part_bits)
    e_ref, z, s1, s2 = totals.T
    # bring the parts to a common reference energy (the lowest): scale c, shift d ≥ 0
    ref = float(e_ref.min())
    d = e_ref - ref
    c = np.exp(-beta * d)
    z_total = float(c @ z)
    s1_total = float(c @ (s1 + d * z))
    s2_total = float(c @ (s2 + 2.0 * d * s1 + d * d * z))
    w = c @ w_low
    a = _low_spins(n_low)
    m = np.empty(n)
    C = np.empty((n, n))
    m[:n_low] = a.T @ w
    m[n_low:] = c @ m_high
    C[:n_low, :n_low] = (a.T * w) @ a
    C[n_low:, n_low:] = np.tensordot(c, c_high, axes=1)
    cross = np.tensordot(c, c_cross, axes=1)
    C[:n_low, n_low:] = cross
    C[n_low:, :n_low] = cross.T
    m /= z_total
    C /= z_total
    np.fill_diagonal(C, 1.0)
    mean_shift = s1_total / z_total
    variance = max(s2_total / z_total - mean_shift * mean_shift, 0.0)
    log_z = math.log(z_total) - beta * ref
    energy = ref + mean_shift
    return ExactResult(
        log_z=log_z,
        m=m,
        C=C,
        energy=energy,
        entropy=log_z + beta * energy,
        heat_capacity=beta * beta * variance,
        beta=beta,
    )


@njit(cache=True)
def _all_energies(h, J, n_low):
    """``E(σ)`` of every configuration, indexed by the state number (a few ms at N = 20,
    not worth threads)."""
    n = h.size
    size = 1 << n_low
    n_blocks = 1 << (n - n_low)
    q = _pair_table(J, n_low)
    out = np.empty(size * n_blocks)
    for b in range(n_blocks):
        _, _, f, e_high = _high_start(h, J, n_low, b)
        _block_energies(q, f, e_high, out[b * size : (b + 1) * size])
    return out


def all_energies(h, J) -> np.ndarray:
    """The energy ``E(σ) = −Σ_i h_i σ_i − ½ Σ_{i≠j} J_ij σ_i σ_j`` of all ``2^N``
    configurations (N ≤ 20), indexed by the state number: ``σ_i = 2 bit_i − 1`` of the
    index (spin i is bit i).

    Parameters
    ----------
    h : array (N,)
        Finite fields, N in [1, 20] (the 2^N energies are tabulated).
    J : array (N, N)
        Finite couplings, symmetric, zero diagonal.

    Returns
    -------
    ndarray of float64, shape (2^N,)
    """
    h, J = check_model(h, J, MAX_N_SAMPLE, why="to tabulate all 2^N energies")
    return _all_energies(h, J, min(h.size, _LOW_BITS))


def sample_exact(h, J, n_samples, seed=None, beta=1.0) -> np.ndarray:
    """Independent samples of ``P(σ) ∝ e^{−βE(σ)}`` drawn from the exact distribution
    (all ``2^N`` probabilities are tabulated; N ≤ 20).

    Parameters
    ----------
    h : array (N,)
        Finite fields, N in [1, 20] (the 2^N probabilities are tabulated).
    J : array (N, N)
        Symmetric, zero diagonal.
    n_samples : int ≥ 1
    seed : None, int ≥ 0 or numpy Generator
    beta : float ≥ 0

    Returns
    -------
    ndarray of int8, shape (n_samples, N)
        One configuration of ±1 per row.
    """
    h, J = check_model(h, J, MAX_N_SAMPLE, why="to tabulate all 2^N probabilities")
    n_samples = check_int("n_samples", n_samples, 1)
    beta = check_real("beta", beta, 0.0)
    rng = as_generator(seed)
    n = h.size
    energies = _all_energies(h, J, min(n, _LOW_BITS))
    cdf = np.cumsum(np.exp(-beta * (energies - energies.min())))
    u = rng.random(n_samples) * cdf[-1]
    index = np.minimum(np.searchsorted(cdf, u, side="right"), cdf.size - 1)
    bits = (index[:, None] >> np.arange(n)) & 1
    return (2 * bits - 1).astype(np.int8)
