"""Entropy landscape of a pairwise Ising model around a reference configuration.

The tilted measure (chapter ``zh_landscape``, eq. (landscape-tilt))

    P_x(σ) ∝ exp(−β E(σ) + x Σ_i σ*_i σ_i)

has overlap ``q(x) = Σ_i σ*_i ⟨σ_i⟩_x / N`` with the reference σ*, normalised Hamming
distance ``d = (1 − q)/2``, and Shannon entropy per spin

    s(x) = ln Z(x)/N + β e(x) − x q(x),    e(x) = ⟨E⟩_x / N          (landscape-entropy)

the Legendre transform of ``ln Z(x)/N`` (``∂_x ln Z/N = q``): the log-number of
configurations at distance d, weighted by their energy. Each x is solved by belief
propagation, warm-started from the previous x in the order given, so a sweep up and a
sweep down expose metastable branches (hysteresis). The number of configurations at
distance d, with no energy, bounds s from above: ``s_ub(d) = −d ln d − (1−d) ln(1−d)``.

A model made of independent blocks of at most 20 spins (couplings only within blocks) has an
exact landscape, :func:`block_entropy_landscape`: the tilted measure factorises over the
blocks, and each block's Boltzmann weights, summed by their distance to the reference, give
its tilted partition function at every x at once.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import brentq

from deepspin.checks import check_int, check_real
from deepspin.ising import bp
from deepspin.ising.exact import _LOW_BITS, MAX_N_SAMPLE, _all_energies
from deepspin.ising.model import check_model, check_spins

__all__ = [
    "Landscape",
    "block_entropy_landscape",
    "entropy_landscape",
    "entropy_upper_bound",
    "hysteresis_width",
    "iso_energy_landscape",
    "landscape_gap",
]

_DAMPING_LADDER = (0.5, 0.8, 0.95)


@dataclass
class Landscape:
    """An entropy landscape, one entry per x in the order swept.

    Attributes
    ----------
    x : ndarray
        Coupling fields towards the reference.
    d : ndarray
        Normalised Hamming distance ``(1 − q)/2``.
    s : ndarray
        Entropy per spin of the tilted measure, eq. (landscape-entropy).
    energy : ndarray
        ``⟨E⟩_x / N`` of the untilted Hamiltonian.
    q : ndarray
        Overlap with the reference.
    beta : ndarray
        Inverse temperature at each point (constant except in the iso-energy variant).
    converged : ndarray of bool
        Whether BP converged at that point (also after raising its damping).
    iterations : ndarray of int
        BP sweeps used at each point.
    residual : ndarray
    info : dict
    """

    x: np.ndarray
    d: np.ndarray
    s: np.ndarray
    energy: np.ndarray
    q: np.ndarray
    beta: np.ndarray
    converged: np.ndarray
    iterations: np.ndarray
    residual: np.ndarray
    info: dict = field(default_factory=dict)


def entropy_upper_bound(d):
    """``s_ub(d) = −d ln d − (1 − d) ln(1 − d)``: ln(number of σ at distance dN) / N."""
    d = np.asarray(d, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = -np.where(d > 0, d * np.log(d), 0.0) - np.where(d < 1, (1 - d) * np.log1p(-d), 0.0)
    return out


class _TiltedSolver:
    """BP of one model under many tilts and temperatures, reusing its messages."""

    def __init__(self, h, J, reference, damping, tol, max_sweeps):
        self.h, self.J, self.reference = h, J, reference.astype(np.float64)
        self.damping, self.tol, self.max_sweeps = damping, tol, max_sweeps
        self.messages = bp._initial_messages(h.size, 0.0, 0)
        self._beta, self._couplings = None, None

    def solve(self, x, beta):
        if beta != self._beta:
            self._beta, self._couplings = beta, bp._prepare(beta * self.J)
        field = beta * self.h + x * self.reference
        sweeps = 0
        for damping in (self.damping, *[d for d in _DAMPING_LADDER if d > self.damping]):
            # a point that fails goes on from where it stopped, with more damping
            result = bp._run_bp(
                field, self._couplings, self.messages, damping, self.tol, self.max_sweeps,
                correlations=False,
            )  # fmt: skip
            sweeps += result.iterations
            if result.converged:
                break
        state = result.value
        n = field.size
        q = float(self.reference @ state.m) / n
        # ⟨E'⟩ of the tilted model = β⟨E⟩ − x Σ σ* m
        energy = (state.energy + x * q * n) / (beta * n)
        return dict(
            q=q, s=state.entropy / n, energy=energy, converged=result.converged,
            iterations=sweeps, residual=result.residual,
        )  # fmt: skip


def _check_x(x):
    x = np.atleast_1d(np.asarray(x, dtype=np.float64))
    if x.ndim != 1 or x.size == 0 or not np.all(np.isfinite(x)):
        raise ValueError("x must be a non-empty 1-D array of finite values")
    return x


def _validate(h, J, reference, x, damping, tol, max_sweeps):
    h, J = check_model(h, J)
    reference = check_spins(reference, h.size, "reference")
    if reference.ndim != 1:
        raise ValueError(f"reference must be one configuration of shape ({h.size},)")
    x = _check_x(x)
    damping = check_real("damping", damping, 0.0, 1.0, high_open=True)
    tol = check_real("tol", tol, 0.0, low_open=True)
    max_sweeps = check_int("max_sweeps", max_sweeps, 1)
    return h, J, reference, x, damping, tol, max_sweeps


def _collect(x, beta, points, info):
    def column(key, dtype=np.float64):
        return np.array([p[key] for p in points], dtype=dtype)

    q = column("q")
    landscape = Landscape(
        x=x, d=(1.0 - q) / 2.0, s=column("s"), energy=column("energy"), q=q,
        beta=np.asarray(beta, dtype=np.float64), converged=column("converged", bool),
        iterations=column("iterations", int), residual=column("residual"), info=info,
    )  # fmt: skip
    failed = int((~landscape.converged).sum())
    if failed:
        warnings.warn(
            f"BP did not converge at {failed} of {x.size} points of the landscape "
            f"(x = {x[~landscape.converged][:5]}...); they are flagged in `converged`",
            RuntimeWarning,
            stacklevel=3,
        )
    return landscape


def entropy_landscape(
    h, J, reference, x=None, beta=1.0, damping=0.0, tol=1e-8, max_sweeps=2000, progress=False
):
    """Entropy ``s(d)`` around ``reference`` by BP of the tilted measure, eq. (landscape-tilt).

    Parameters
    ----------
    h, J : arrays
        The model, ``P(σ) ∝ exp(−β E(σ))``.
    reference : array (N,) of ±1
        The reference configuration σ*.
    x : array, optional
        Coupling fields, swept in the order given (reverse them to sweep the other way);
        each point is warm-started from the previous one. Default ``linspace(−3, 3, 121)``.
    beta : float
        Inverse temperature (1: the fitted model itself).
    damping : float
        BP damping; a point that does not converge goes on with damping 0.5, 0.8, 0.95.
    tol, max_sweeps :
        BP stopping rule (see :func:`deepspin.ising.belief_propagation`).
    progress : bool
        Show a progress bar.

    Returns
    -------
    Landscape
    """
    if x is None:
        x = np.linspace(-3.0, 3.0, 121)
    h, J, reference, x, damping, tol, max_sweeps = _validate(
        h, J, reference, x, damping, tol, max_sweeps
    )
    beta = check_real("beta", beta, 0.0, low_open=True)
    solver = _TiltedSolver(h, J, reference, damping, tol, max_sweeps)
    points = [solver.solve(xi, beta) for xi in _bar(x, progress)]
    return _collect(x, np.full(x.size, beta), points, dict(mode="fixed beta", beta=beta))


def _bar(x, progress):
    if not progress:
        return x
    from tqdm import tqdm

    return tqdm(x, desc="landscape")


def iso_energy_landscape(
    h,
    J,
    reference,
    x=None,
    beta_range=(0.1, 5.0),
    damping=0.0,
    tol=1e-8,
    max_sweeps=2000,
    energy_tol=1e-6,
    progress=False,
):
    """The landscape at the reference's own energy: at each x, β such that ``e(x) = E(σ*)/N``.

    A root of ``e(x, β) − E(σ*)/N`` in ``beta_range`` is found by Brent's method (BP
    warm-started throughout); ``⟨E⟩`` decreases with β, so the root is unique when it is
    bracketed. Points where it is not bracketed get ``NaN`` and ``converged = False``.

    Returns
    -------
    Landscape
        With ``beta`` the β found at each x.
    """
    if x is None:
        x = np.linspace(-3.0, 3.0, 121)
    h, J, reference, x, damping, tol, max_sweeps = _validate(
        h, J, reference, x, damping, tol, max_sweeps
    )
    lo, hi = (
        check_real(f"beta_range[{i}]", b, 0.0, low_open=True) for i, b in enumerate(beta_range)
    )
    if not lo < hi:
        raise ValueError(f"beta_range must be increasing, got {beta_range}")
    energy_tol = check_real("energy_tol", energy_tol, 0.0, low_open=True)
    target = float(-h @ reference - 0.5 * reference @ J @ reference) / h.size
    solver = _TiltedSolver(h, J, reference, damping, tol, max_sweeps)
    points, betas = [], []
    for xi in _bar(x, progress):
        f_lo = solver.solve(xi, lo)["energy"] - target
        f_hi = solver.solve(xi, hi)["energy"] - target
        if f_lo * f_hi > 0:
            nan = dict(q=np.nan, s=np.nan, energy=np.nan, converged=False, iterations=0,
                       residual=np.nan)  # fmt: skip
            points.append(nan)
            betas.append(np.nan)
            continue
        beta = brentq(lambda b: solver.solve(xi, b)["energy"] - target, lo, hi, xtol=energy_tol)  # noqa: B023
        point = solver.solve(xi, beta)
        points.append(point)
        betas.append(beta)
    info = dict(mode="iso-energy", target_energy=target, beta_range=(lo, hi))
    return _collect(x, np.array(betas), points, info)


def landscape_gap(landscape: Landscape, d_range=(0.05, 0.95)) -> float:
    """Largest ``s_ub(d) − s(d)`` over the converged points with d in ``d_range``."""
    ok = landscape.converged & (landscape.d >= d_range[0]) & (landscape.d <= d_range[1])
    if not ok.any():
        return float("nan")
    return float(np.max(entropy_upper_bound(landscape.d[ok]) - landscape.s[ok]))


def hysteresis_width(up: Landscape, down: Landscape, atol=1e-3) -> float:
    """Width in x of the region where the two sweep directions disagree.

    ``up`` and ``down`` are landscapes over the same x values in opposite orders. The
    width is the number of x values where their distances differ by more than ``atol``,
    times the grid spacing (0 when the two sweeps agree everywhere).
    """
    order_up, order_down = np.argsort(up.x), np.argsort(down.x)
    x = up.x[order_up]
    if not np.allclose(x, down.x[order_down]):
        raise ValueError("up and down must cover the same x values")
    differ = np.abs(up.d[order_up] - down.d[order_down]) > atol
    if x.size < 2:
        return 0.0
    spacing = float(np.median(np.diff(x)))
    return float(differ.sum() * spacing)


def _block_classes(h, J, reference, beta):
    """``ln Σ_{σ at distance k} e^{−βE(σ)}`` and the mean energy of each distance class
    k = 0…n of one block, by enumerating its 2^n states (classes that are empty: −inf)."""
    n = h.size
    energies = _all_energies(h, J, min(n, _LOW_BITS))
    # state k has σ_i = +1 where bit i of k is set; the distance is the popcount of k XOR σ*
    reference_bits = int(np.sum((reference > 0) << np.arange(n)))
    distance = np.bitwise_count(np.arange(energies.size) ^ reference_bits).astype(np.int64)
    lowest = energies.min()
    weights = np.exp(-beta * (energies - lowest))
    z = np.bincount(distance, weights, minlength=n + 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        log_z = np.log(z) - beta * lowest
        mean_energy = np.where(z > 0, np.bincount(distance, weights * energies, n + 1) / z, 0.0)
    return log_z, mean_energy


def block_entropy_landscape(blocks, x=None, beta=1.0):
    """Exact entropy landscape of a model of independent blocks, eq. (landscape-entropy).

    With couplings only within blocks, ``P_x(σ) = Π_b P_x(σ_b)``: ``ln Z(x)``, the overlap,
    the energy and the entropy are sums over the blocks. A block of ``n_b`` spins is
    enumerated once; its states summed by their distance k to the reference give
    ``Z_b(x) = Σ_k Z_{b,k} e^{x (n_b − 2k)}`` for every x. Exact, so both sweep directions
    agree: no hysteresis.

    Parameters
    ----------
    blocks : sequence of ``(h, J, reference)``
        Each block's fields, couplings (symmetric, zero diagonal) and reference
        configuration of ±1; at most 20 spins per block.
    x : array, optional
        Coupling fields (default ``linspace(−3, 3, 121)``).
    beta : float > 0

    Returns
    -------
    Landscape
        ``converged`` all true, ``iterations`` and ``residual`` zero; ``info`` gives the
        block sizes.
    """
    x = _check_x(np.linspace(-3.0, 3.0, 121) if x is None else x)
    beta = check_real("beta", beta, 0.0, low_open=True)
    blocks = list(blocks)
    if not blocks:
        raise ValueError("blocks must hold at least one (h, J, reference)")
    log_z = np.zeros(x.size)
    overlap, energy, n_total, sizes = np.zeros(x.size), np.zeros(x.size), 0, []
    for b, (h, J, reference) in enumerate(blocks):
        h, J = check_model(h, J, max_n=MAX_N_SAMPLE)
        reference = check_spins(reference, h.size, f"blocks[{b}] reference")
        n = h.size
        log_zk, mean_energy = _block_classes(h, J, reference, beta)
        overlaps = n - 2.0 * np.arange(n + 1)
        # log of the tilted weight of each distance class, for every x (rows)
        log_w = log_zk[None, :] + x[:, None] * overlaps[None, :]
        top = log_w.max(axis=1, keepdims=True)
        p = np.exp(log_w - top)
        norm = p.sum(axis=1)
        log_z += top[:, 0] + np.log(norm)
        overlap += (p @ overlaps) / norm
        energy += (p @ mean_energy) / norm
        n_total += n
        sizes.append(n)
    q = overlap / n_total
    # Shannon entropy of the tilted measure: ln Z(x) + β⟨E⟩ − x⟨Σσ*σ⟩
    s = (log_z + beta * energy - x * overlap) / n_total
    zeros = np.zeros(x.size)
    return Landscape(
        x=x, d=(1.0 - q) / 2.0, s=s, energy=energy / n_total, q=q,
        beta=np.full(x.size, beta), converged=np.ones(x.size, bool),
        iterations=np.zeros(x.size, int), residual=zeros,
        info=dict(mode="exact blocks", beta=beta, block_sizes=sizes),
    )  # fmt: skip
