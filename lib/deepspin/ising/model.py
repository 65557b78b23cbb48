"""The pairwise Ising model: fields, couplings, energies, and their validation.

``E(σ) = −Σ_i h_i σ_i − ½ Σ_{i≠j} J_ij σ_i σ_j`` with ``J`` symmetric and zero on the
diagonal, and ``P(σ) = e^{−E(σ)} / Z`` (the temperature is absorbed in ``h`` and ``J``).
This is the maximum-entropy model of given magnetisations ``m_i = ⟨σ_i⟩`` and second
moments ``C_ij = ⟨σ_i σ_j⟩`` (chapter ``zh_ising``, eq. (ising-model)).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import njit, prange

__all__ = ["IsingModel", "check_model", "check_spins"]


def check_model(h, J, max_n: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Validate fields and couplings; return them as float64 arrays.

    Raises ``ValueError`` naming the problem: ``h`` not a vector, ``J`` not ``(N, N)``,
    ``J`` not symmetric or with a non-zero diagonal, non-finite entries, or ``N`` above
    ``max_n``.
    """
    h = np.asarray(h, dtype=np.float64)
    J = np.asarray(J, dtype=np.float64)
    if h.ndim != 1 or h.size == 0:
        raise ValueError(f"h must be a non-empty vector, got shape {h.shape}")
    n = h.size
    if J.shape != (n, n):
        raise ValueError(f"J must have shape ({n}, {n}) to match h, got {J.shape}")
    asymmetry, diagonal, largest, finite = _coupling_defects(J)
    if not (finite and np.all(np.isfinite(h))):
        raise ValueError("h and J must be finite")
    if diagonal != 0:
        raise ValueError("J must have a zero diagonal")
    if asymmetry > 1e-12 * max(largest, 1e-300):
        raise ValueError("J must be symmetric")
    if max_n is not None and n > max_n:
        raise ValueError(f"N = {n} is too large here: N must be at most {max_n}")
    return h, J


@njit(cache=True, parallel=True)
def _coupling_defects(J):
    """Largest |J_ij − J_ji|, largest |J_ii|, largest |J_ij|, and whether all are finite
    (one pass over the upper triangle; the checks of large models cost little)."""
    n = J.shape[0]
    asym = np.zeros(n)
    big = np.zeros(n)
    bad = np.zeros(n, dtype=np.bool_)
    for i in prange(n):
        for j in range(i + 1, n):
            a, b = J[i, j], J[j, i]
            if not (np.isfinite(a) and np.isfinite(b)):
                bad[i] = True
            asym[i] = max(asym[i], abs(a - b))
            big[i] = max(big[i], abs(a))
        if not np.isfinite(J[i, i]):
            bad[i] = True
    diagonal = 0.0
    for i in range(n):
        diagonal = max(diagonal, abs(J[i, i]))
    return asym.max(), diagonal, big.max(), not bad.any()


def check_spins(sigma, n: int, name: str = "sigma") -> np.ndarray:
    """Validate configurations of ±1 with ``n`` spins (a vector or a batch of rows)."""
    sigma = np.asarray(sigma)
    if sigma.shape[-1:] != (n,) or sigma.ndim > 2:
        raise ValueError(f"{name} must have shape ({n},) or (K, {n}), got {sigma.shape}")
    if not np.all(np.abs(sigma) == 1):
        raise ValueError(f"{name} must contain only -1 and +1")
    return sigma


@dataclass(frozen=True)
class IsingModel:
    """A pairwise Ising model ``(h, J)``; validated on construction.

    Attributes
    ----------
    h : ndarray (N,)
    J : ndarray (N, N)
        Symmetric, zero diagonal.
    """

    h: np.ndarray
    J: np.ndarray

    def __post_init__(self):
        h, J = check_model(self.h, self.J)
        object.__setattr__(self, "h", h)
        object.__setattr__(self, "J", J)

    @property
    def n(self) -> int:
        return self.h.size

    def energy(self, sigma) -> np.ndarray | float:
        """``E(σ)`` of one configuration ``(N,)`` or of a batch ``(K, N)``."""
        sigma = check_spins(sigma, self.n).astype(np.float64)
        e = -sigma @ self.h - 0.5 * np.einsum("...i,ij,...j->...", sigma, self.J, sigma)
        return float(e) if np.ndim(e) == 0 else e

    def tilted(self, reference, x: float, beta: float = 1.0) -> IsingModel:
        """The model of ``P_x(σ) ∝ exp(−β E(σ) + x Σ_i σ*_i σ_i)``: ``(βh + xσ*, βJ)``."""
        reference = check_spins(reference, self.n, "reference")
        return IsingModel(beta * self.h + x * reference, beta * self.J)
