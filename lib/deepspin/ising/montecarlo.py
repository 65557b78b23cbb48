"""Metropolis Monte Carlo for pairwise Ising models, moments of samples, and the entropy by
thermodynamic integration.

``P(σ) ∝ e^{−βE(σ)}`` with ``E(σ) = −Σ_i h_i σ_i − ½ Σ_{i≠j} J_ij σ_i σ_j`` (chapter
``zh_ising``). A flip of spin ``i`` changes the energy by ``ΔE = 2 σ_i H_i`` with the local
field ``H_i = h_i + Σ_j J_ij σ_j``, and is accepted with probability ``min(1, e^{−βΔE})``;
after an accepted flip the fields move by ``−2 σ_i J_{·i}`` (O(N)), so a sweep costs
O(N) plus O(N) per accepted flip.

Many independent chains run at once, one per thread at a time. Each chain seeds its own
generator at its start, so the samples depend on the seed only, not on the number of
threads or on how the chains are dealt to them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from numba import get_num_threads, njit, prange

from deepspin.checks import (
    as_generator,
    check_int,
    check_int_array,
    check_real,
    check_spin_array,
)
from deepspin.gauss import legendre_nodes
from deepspin.ising.model import check_model, check_spins

__all__ = [
    "EntropyEstimate",
    "MonteCarloResult",
    "check_samples",
    "connected_third_moments",
    "metropolis",
    "moments",
    "thermodynamic_entropy",
    "third_moments",
]

# rows of samples multiplied at once in `moments` (bounds the float32 copy to a few MB
# per hundred spins)
_CHUNK = 1 << 14


@dataclass
class MonteCarloResult:
    """Samples of independent Metropolis chains.

    Attributes
    ----------
    samples : ndarray of int8, shape (n_chains * n_kept, N)
        The kept configurations, chain-major: rows ``c * n_kept … (c + 1) * n_kept − 1``
        are chain ``c`` in order.
    energies : ndarray (n_chains, n_kept)
        ``E(σ)`` of each kept configuration (the Hamiltonian, not multiplied by β).
    acceptance : float
        Fraction of attempted flips accepted after the burn-in, over all chains.
    final : ndarray of int8, shape (n_chains, N)
        The last configuration of each chain (to continue the chains).
    info : dict
        ``beta``, ``sweeps``, ``burn_in``, ``sample_every``, ``n_kept``,
        ``chain_acceptance`` (per chain), ``n_threads``.
    """

    samples: np.ndarray
    energies: np.ndarray
    acceptance: float
    final: np.ndarray
    info: dict = field(default_factory=dict)


@njit(cache=True)
def _run_chain(h, J, beta, sigma, burn_in, sweeps, sample_every, seed, samples, energies):
    """One chain from ``sigma`` (float ±1, updated in place); returns the accepted flips
    after the burn-in. Kept configurations go to ``samples`` (when it has rows) and their
    energies to ``energies``."""
    # numba's np.random is a Mersenne Twister per thread (ruff's NPY002 does not apply:
    # numba has no Generator that threads could share); seeded here, at the start of the
    # chain that then runs to its end on this thread, it makes the chain a function of
    # its seed alone
    np.random.seed(seed)  # noqa: NPY002
    n = h.size
    fields = h.copy()
    for i in range(n):
        row = J[i]
        acc = 0.0
        for j in range(n):
            acc += row[j] * sigma[j]
        fields[i] += acc
    energy = 0.0
    for i in range(n):
        energy -= 0.5 * sigma[i] * (h[i] + fields[i])
    order = np.arange(n)
    store = samples.shape[0] > 0
    accepted = 0
    kept = 0
    for sweep in range(burn_in + sweeps):
        for t in range(n - 1, 0, -1):  # Fisher–Yates: a fresh random order every sweep
            r = np.random.randint(0, t + 1)  # noqa: NPY002
            order[t], order[r] = order[r], order[t]
        production = sweep >= burn_in
        for t in range(n):
            i = order[t]
            s = sigma[i]
            delta = 2.0 * s * fields[i]
            if delta <= 0.0 or np.random.random() < math.exp(-beta * delta):  # noqa: NPY002
                sigma[i] = -s
                energy += delta
                row = J[i]
                two_s = 2.0 * s
                for j in range(n):
                    fields[j] -= two_s * row[j]
                if production:
                    accepted += 1
        if production and (sweep - burn_in + 1) % sample_every == 0:
            energies[kept] = energy
            if store:
                for j in range(n):
                    samples[kept, j] = np.int8(sigma[j])
            kept += 1
    return accepted


@njit(cache=True, parallel=True)
def _run_chains(h, J, beta, spins, burn_in, sweeps, sample_every, seeds, samples, energies):
    n_chains = spins.shape[0]
    accepted = np.zeros(n_chains, dtype=np.int64)
    for c in prange(n_chains):
        accepted[c] = _run_chain(
            h, J, beta, spins[c], burn_in, sweeps, sample_every, seeds[c], samples[c], energies[c]
        )
    return accepted


def _initial_spins(initial, n, n_chains, rng):
    """Float ±1 starting configurations, one row per chain."""
    if initial is None:
        return 2.0 * rng.integers(0, 2, size=(n_chains, n)) - 1.0
    initial = check_spins(initial, n, "initial")
    if initial.ndim == 1:
        initial = np.broadcast_to(initial, (n_chains, n))
    elif initial.shape[0] != n_chains:
        raise ValueError(
            f"initial must have shape ({n},) or ({n_chains}, {n}) for n_chains = {n_chains}, "
            f"got {initial.shape}"
        )
    return np.array(initial, dtype=np.float64)


def _chains(h, J, beta, spins, burn_in, sweeps, sample_every, rng, keep_samples):
    """Run the chains on validated input; ``spins`` (float) end as the final states."""
    n_chains, n = spins.shape
    n_kept = sweeps // sample_every
    seeds = rng.integers(0, 2**31 - 1, size=n_chains)
    samples = np.empty((n_chains, n_kept if keep_samples else 0, n), dtype=np.int8)
    energies = np.empty((n_chains, n_kept))
    accepted = _run_chains(
        h, J, beta, spins, burn_in, sweeps, sample_every, seeds, samples, energies
    )
    return samples, energies, accepted / float(sweeps * n)


def metropolis(
    h,
    J,
    n_chains=8,
    sweeps=1000,
    burn_in=100,
    sample_every=10,
    beta=1.0,
    initial=None,
    seed=None,
) -> MonteCarloResult:
    """Sample ``P(σ) ∝ e^{−βE(σ)}`` with independent single-spin-flip Metropolis chains.

    A sweep visits the N spins in a fresh random order and proposes to flip each, accepted
    with probability ``min(1, e^{−βΔE})``, ``ΔE = 2 σ_i (h_i + Σ_j J_ij σ_j)``. Each chain
    runs ``burn_in`` sweeps, then ``sweeps`` more, and keeps the configuration after every
    ``sample_every``-th of those (``n_kept = sweeps // sample_every``). The energies are
    tracked incrementally (at N = 675, after 1.5·10⁶ accepted flips per chain, they
    differ from a recomputed ``E(σ)`` by ~10⁻¹¹).

    Parameters
    ----------
    h : array (N,)
    J : array (N, N)
        Symmetric, zero diagonal.
    n_chains : int ≥ 1
    sweeps : int ≥ 1
        Sweeps after the burn-in.
    burn_in : int ≥ 0
    sample_every : int in [1, sweeps]
    beta : float ≥ 0
    initial : array (N,) or (n_chains, N) of ±1, optional
        Starting configuration(s): one for all chains, or one per chain. Default: uniformly
        random.
    seed : None, int ≥ 0 or numpy Generator
        Same seed, same samples (whatever the number of threads).

    Returns
    -------
    MonteCarloResult
    """
    h, J = check_model(h, J)
    n = h.size
    n_chains = check_int("n_chains", n_chains, 1)
    sweeps = check_int("sweeps", sweeps, 1)
    burn_in = check_int("burn_in", burn_in, 0)
    sample_every = check_int("sample_every", sample_every, 1, sweeps)
    beta = check_real("beta", beta, 0.0)
    rng = as_generator(seed)
    spins = _initial_spins(initial, n, n_chains, rng)
    samples, energies, chain_acceptance = _chains(
        h, J, beta, spins, burn_in, sweeps, sample_every, rng, True
    )
    n_kept = energies.shape[1]
    return MonteCarloResult(
        samples=samples.reshape(n_chains * n_kept, n),
        energies=energies,
        acceptance=float(chain_acceptance.mean()),
        final=spins.astype(np.int8),
        info=dict(
            beta=beta,
            sweeps=sweeps,
            burn_in=burn_in,
            sample_every=sample_every,
            n_kept=n_kept,
            chain_acceptance=chain_acceptance,
            n_threads=get_num_threads(),
        ),
    )


def check_samples(samples, name="samples", min_rows=1) -> np.ndarray:
    """Validate samples: configurations ``(K, N)`` of ±1, one per row.

    Parameters
    ----------
    samples : array (K, N) of ±1, K ≥ ``min_rows``, N ≥ 1
        Any integer, float or bool dtype.
    name : str
        What the messages call ``samples``.
    min_rows : int ≥ 0
        The fewest rows K allowed (2 where two halves are compared, say).

    Returns
    -------
    ndarray of int8, shape (K, N)

    Raises
    ------
    ValueError
        Naming ``name``.
    """
    samples = check_spin_array(name, samples, ndim=2)
    if samples.shape[0] < min_rows or samples.shape[1] == 0:
        raise ValueError(
            f"{name} must be a (K, N) array of ±1 with K ≥ {min_rows} and N ≥ 1, got shape "
            f"{samples.shape}"
        )
    return samples


def moments(samples) -> tuple[np.ndarray, np.ndarray]:
    """Raw moments ``m_i = ⟨σ_i⟩`` and ``C_ij = ⟨σ_i σ_j⟩`` of samples ``(K, N)`` of ±1
    (K ≥ 1, N ≥ 1).

    ``C = SᵀS / K`` is one matrix product, taken in float32 over blocks of rows: the
    partial sums are integers below 2^24, which float32 holds exactly.

    Returns
    -------
    m : ndarray (N,)
    C : ndarray (N, N)
        Diagonal 1.
    """
    samples = check_samples(samples)
    k, n = samples.shape
    total = np.zeros(n)
    gram = np.zeros((n, n))
    for start in range(0, k, _CHUNK):
        block = samples[start : start + _CHUNK].astype(np.float32)
        total += block.sum(axis=0, dtype=np.float64)
        gram += block.T @ block
    return total / k, gram / k


def _check_triples(triples, n) -> np.ndarray:
    triples = check_int_array("triples", triples, 0, n - 1, ndim=2)
    if triples.shape[1] != 3:
        raise ValueError(f"triples must have shape (T, 3), got {triples.shape}")
    return triples


@njit(cache=True, parallel=True)
def _triple_means(columns, triples, centre):
    """``⟨(σ_i − c_i)(σ_j − c_j)(σ_k − c_k)⟩`` for every triple; ``columns`` is Sᵀ."""
    n_samples = columns.shape[1]
    out = np.empty(triples.shape[0])
    for t in prange(triples.shape[0]):
        i, j, k = triples[t, 0], triples[t, 1], triples[t, 2]
        ci, cj, ck = centre[i], centre[j], centre[k]
        a, b, c = columns[i], columns[j], columns[k]
        acc = 0.0
        for s in range(n_samples):
            acc += (a[s] - ci) * (b[s] - cj) * (c[s] - ck)
        out[t] = acc / n_samples
    return out


def third_moments(samples, triples) -> np.ndarray:
    """Raw third moments ``⟨σ_i σ_j σ_k⟩`` of samples ``(K, N)`` of ±1 (K ≥ 1) for each row
    ``(i, j, k)`` of ``triples``, an integer array ``(T, 3)`` of spin indices in
    ``[0, N − 1]``; returns an array ``(T,)``."""
    samples = check_samples(samples)
    triples = _check_triples(triples, samples.shape[1])
    columns = np.ascontiguousarray(samples.T)
    return _triple_means(columns, triples, np.zeros(samples.shape[1]))


def connected_third_moments(samples, triples) -> np.ndarray:
    """Connected third moments (third cumulants) for each row ``(i, j, k)`` of ``triples``:

        ⟨σ_i σ_j σ_k⟩_c = ⟨σ_i σ_j σ_k⟩ − m_i C_jk − m_j C_ik − m_k C_ij + 2 m_i m_j m_k,

    computed as the equal central moment ``⟨(σ_i − m_i)(σ_j − m_j)(σ_k − m_k)⟩``, which
    avoids the cancellation of the expanded form. ``samples`` is ``(K, N)`` of ±1 (K ≥ 1),
    ``triples`` an integer array ``(T, 3)`` of spin indices in ``[0, N − 1]``. Returns an
    array ``(T,)``.
    """
    samples = check_samples(samples)
    triples = _check_triples(triples, samples.shape[1])
    m = samples.mean(axis=0, dtype=np.float64)
    columns = np.ascontiguousarray(samples.T)
    return _triple_means(columns, triples, m)


@dataclass
class EntropyEstimate:
    """Entropy by thermodynamic integration (see :func:`thermodynamic_entropy`).

    Attributes
    ----------
    entropy_per_spin : float
        ``S(β) / N``, the mean over chains.
    error : float
        Its standard error (per spin): the spread of the chains' estimates over
        ``√n_chains``.
    chain_entropies : ndarray (n_chains,)
        ``S(β) / N`` from each chain alone (independent estimates).
    betas : ndarray (n_points,)
        Gauss–Legendre nodes ``β'`` in ``(0, β)``, increasing.
    weights : ndarray (n_points,)
        Their weights (summing to β).
    energies : ndarray (n_points,)
        ``⟨E⟩_{β'}`` at the nodes, mean over chains.
    energy_errors : ndarray (n_points,)
        Standard errors of ``energies`` (chain spread over ``√n_chains``).
    energy : float
        ``⟨E⟩_β`` at the final β.
    acceptance : ndarray (n_points + 1,)
        Acceptance rate at each node and at β.
    info : dict
        The run parameters.
    """

    entropy_per_spin: float
    error: float
    chain_entropies: np.ndarray
    betas: np.ndarray
    weights: np.ndarray
    energies: np.ndarray
    energy_errors: np.ndarray
    energy: float
    acceptance: np.ndarray
    info: dict = field(default_factory=dict)


def thermodynamic_entropy(
    h,
    J,
    beta=1.0,
    n_points=16,
    n_chains=8,
    sweeps=2000,
    burn_in=200,
    seed=None,
) -> EntropyEstimate:
    """The entropy of ``P(σ) ∝ e^{−βE(σ)}`` by thermodynamic integration with Monte Carlo.

    Since ``∂ ln Z / ∂β = −⟨E⟩_β`` and ``ln Z(0) = N ln 2``,

        S(β) = ln Z(β) + β⟨E⟩_β = N ln 2 + β⟨E⟩_β − ∫_0^β ⟨E⟩_{β'} dβ'

    (integrating by parts, ``= N ln 2 − ∫_0^β β' Var_{β'}(E) dβ'``: the heat capacity
    form; the energy form used here is the less noisy one). The integral is an
    ``n_points`` Gauss–Legendre rule on ``[0, β]``; ``⟨E⟩`` is estimated at the nodes in
    increasing order, every chain starting from its own final configuration at the
    previous node (so a chain only has to follow a small change of temperature), and
    once more at β. Every chain gives its own estimate of S; their spread gives the
    error bar. The quadrature error is negligible next to it unless ``⟨E⟩_{β'}`` has a
    near-singularity (a phase transition) inside ``[0, β]``.

    Parameters
    ----------
    h : array (N,)
    J : array (N, N)
    beta : float > 0
    n_points : int ≥ 1
        Quadrature nodes.
    n_chains : int ≥ 2
    sweeps : int ≥ 1
        Sweeps whose energies are averaged, at each node (every sweep is used).
    burn_in : int ≥ 0
        Sweeps discarded at each node before those.
    seed : None, int ≥ 0 or numpy Generator

    Returns
    -------
    EntropyEstimate
        The cost is ``(n_points + 1) · n_chains · (burn_in + sweeps)`` sweeps.
    """
    h, J = check_model(h, J)
    n = h.size
    beta = check_real("beta", beta, 0.0, low_open=True)
    n_points = check_int("n_points", n_points, 1)
    n_chains = check_int("n_chains", n_chains, 2)
    sweeps = check_int("sweeps", sweeps, 1)
    burn_in = check_int("burn_in", burn_in, 0)
    rng = as_generator(seed)
    x, w = legendre_nodes(n_points)
    betas = 0.5 * beta * (np.asarray(x) + 1.0)
    weights = 0.5 * beta * np.asarray(w)
    spins = _initial_spins(None, n, n_chains, rng)
    chain_means = np.empty((n_points + 1, n_chains))
    acceptance = np.empty(n_points + 1)
    for k, b in enumerate([*betas, beta]):
        _, energies, chain_acc = _chains(h, J, float(b), spins, burn_in, sweeps, 1, rng, False)
        chain_means[k] = energies.mean(axis=1)
        acceptance[k] = chain_acc.mean()
    per_chain = (n * math.log(2.0) + beta * chain_means[-1] - weights @ chain_means[:-1]) / n
    root = math.sqrt(n_chains)
    return EntropyEstimate(
        entropy_per_spin=float(per_chain.mean()),
        error=float(per_chain.std(ddof=1) / root),
        chain_entropies=per_chain,
        betas=betas,
        weights=weights,
        energies=chain_means[:-1].mean(axis=1),
        energy_errors=chain_means[:-1].std(axis=1, ddof=1) / root,
        energy=float(chain_means[-1].mean()),
        acceptance=acceptance,
        info=dict(
            beta=beta,
            n_points=n_points,
            n_chains=n_chains,
            sweeps=sweeps,
            burn_in=burn_in,
            n_threads=get_num_threads(),
        ),
    )
