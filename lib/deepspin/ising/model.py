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

from deepspin.checks import check_array, check_int, check_real, check_spin_array

__all__ = ["IsingModel", "check_model", "check_spins"]

# Couplings may differ from their transposes by this much relative to the largest one:
# round-off, not asymmetry (a symmetric update computed in two orders differs in the last
# bit; the inverse of a symmetric matrix with condition number κ is symmetric to ~κ·1e-16)
_SYMMETRY_TOL = 1e-10


def check_model(
    h, J, max_n: int | None = None, *, names=("h", "J"), why="here"
) -> tuple[np.ndarray, np.ndarray]:
    """Validate fields and couplings; return them as float64 arrays.

    Parameters
    ----------
    h : array (N,)
        Finite fields, N ≥ 1.
    J : array (N, N)
        Finite couplings, symmetric (``|J_ij − J_ji| ≤ 1e-10 max |J|``, i.e. up to
        round-off) with a zero diagonal.
    max_n : int ≥ 1, optional
        The largest N allowed (e.g. by exact enumeration).
    names : pair of str
        What the messages call ``h`` and ``J`` (a caller's ``("h0", "J0")``, say).
    why : str
        The end of the message of an N above ``max_n``: "N spins, too many {why}".

    Raises
    ------
    ValueError
        Naming the parameter, what it must be and what it got.
    """
    h_name, j_name = names
    if max_n is not None:
        max_n = check_int("max_n", max_n, 1)
    h = check_array(h_name, h, ndim=1, allow_empty=False)
    n = h.size
    if max_n is not None and n > max_n:
        raise ValueError(f"{h_name} has N = {n} spins, too many {why}: N must lie in [1, {max_n}]")
    try:
        J = np.asarray(J, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(
            f"{j_name} must be a ({n}, {n}) array of finite reals, got {J!r}"
        ) from None
    if J.shape != (n, n):
        raise ValueError(f"{j_name} must have shape ({n}, {n}) to match {h_name}, got {J.shape}")
    asymmetry, diagonal, largest, finite = _coupling_defects(J)
    if not finite:
        check_array(j_name, J)  # raises, naming the first non-finite entry
    if diagonal != 0:
        i = int(np.argmax(np.abs(np.diagonal(J))))
        raise ValueError(
            f"{j_name} must have a zero diagonal, got {j_name}[{i}, {i}] = {float(J[i, i])!r}"
        )
    if asymmetry > _SYMMETRY_TOL * max(largest, 1e-300):
        i, j = np.unravel_index(int(np.argmax(np.abs(J - J.T))), J.shape)
        raise ValueError(
            f"{j_name} must be symmetric (|{j_name}_ij − {j_name}_ji| ≤ {_SYMMETRY_TOL:g} "
            f"max |{j_name}|), got {j_name}[{i}, {j}] = {float(J[i, j])!r}, "
            f"{j_name}[{j}, {i}] = {float(J[j, i])!r}"
        )
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
    """Validate configurations of ±1 with ``n`` spins (a vector or a batch of rows).

    Parameters
    ----------
    sigma : array (n,) or (K, n) of ±1
        Any integer, float or bool dtype; K may be 0.
    n : int ≥ 1
        The number of spins.
    name : str
        What the messages call ``sigma``.

    Returns
    -------
    ndarray of int8, the shape of ``sigma``
    """
    n = check_int("n", n, 1)
    sigma = check_spin_array(name, sigma, ndim=(1, 2))
    if sigma.shape[-1] != n:
        raise ValueError(f"{name} must have shape ({n},) or (K, {n}), got {sigma.shape}")
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
        """``E(σ)`` of one configuration ``(N,)`` or of a batch ``(K, N)`` of ±1."""
        sigma = check_spins(sigma, self.n).astype(np.float64)
        e = -sigma @ self.h - 0.5 * np.einsum("...i,ij,...j->...", sigma, self.J, sigma)
        return float(e) if np.ndim(e) == 0 else e

    def tilted(self, reference, x: float, beta: float = 1.0) -> IsingModel:
        """The model of ``P_x(σ) ∝ exp(−β E(σ) + x Σ_i σ*_i σ_i)``: ``(βh + xσ*, βJ)``.

        ``reference`` is one configuration ``(N,)`` of ±1, ``x`` a finite real and
        ``beta ≥ 0``.
        """
        reference = check_spins(reference, self.n, "reference")
        if reference.ndim != 1:
            raise ValueError(f"reference must have shape ({self.n},), got {reference.shape}")
        x = check_real("x", x)
        beta = check_real("beta", beta, 0.0)
        return IsingModel(beta * self.h + x * reference, beta * self.J)
