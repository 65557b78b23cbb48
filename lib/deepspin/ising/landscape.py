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

What a landscape can show depends on its model. :func:`bp_uniqueness_radius` bounds the
couplings from above by the Mooij–Kappen criterion: below 1, BP has one fixed point for
every field, so the two sweep directions cannot differ (no hysteresis is possible).
:func:`correlation_signal` measures how much of a part's correlations beyond independent
spins, above the sampling noise, a fitted model reproduces. :func:`tilted_monte_carlo`
samples the tilted measure itself, an independent check of BP's d(x) and e(x).

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
from scipy.sparse.csgraph import connected_components

from deepspin.checks import as_generator, check_array, check_bool, check_int, check_real
from deepspin.ising import bp
from deepspin.ising.exact import MAX_N_SAMPLE, all_energies
from deepspin.ising.inverse import rmse
from deepspin.ising.model import check_model, check_spins
from deepspin.ising.montecarlo import check_samples, metropolis
from deepspin.ising.montecarlo import moments as sample_moments
from deepspin.results import SolverResult, warn_if_not_converged

__all__ = [
    "CorrelationSignal",
    "Landscape",
    "TiltedSamples",
    "block_entropy_landscape",
    "bp_uniqueness_radius",
    "correlation_signal",
    "entropy_landscape",
    "entropy_upper_bound",
    "hysteresis_width",
    "iso_energy_landscape",
    "landscape_gap",
    "tilted_monte_carlo",
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
    """``s_ub(d) = −d ln d − (1 − d) ln(1 − d)``: ln(number of σ at distance dN) / N.

    ``d`` is a float or an array of distances in [0, 1]; the result has its shape.
    """
    d = check_array("d", d, 0.0, 1.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = -np.where(d > 0, d * np.log(d), 0.0) - np.where(d < 1, (1 - d) * np.log1p(-d), 0.0)
    return out


class _TiltedSolver:
    """BP of one model under many tilts and temperatures, reusing its messages."""

    def __init__(self, h, J, reference, damping, tol, max_sweeps):
        self.h, self.J, self.reference = h, J, reference.astype(np.float64)
        self.damping, self.tol, self.max_sweeps = damping, tol, max_sweeps
        self.messages = bp.initial_messages(h.size, 0.0, 0)
        self._beta, self._couplings = None, None

    def solve(self, x, beta):
        if beta != self._beta:
            self._beta, self._couplings = beta, bp.prepare_couplings(beta * self.J)
        field = beta * self.h + x * self.reference
        sweeps = 0
        for damping in (self.damping, *[d for d in _DAMPING_LADDER if d > self.damping]):
            # a point that fails goes on from where it stopped, with more damping
            result = bp.run_bp(
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


def _check_numbers(name, value, low=None, *, low_open=False):
    """:func:`~deepspin.checks.check_array` that also refuses strings (numpy would read
    ``"1.0"`` as a number) and other non-numeric input."""
    try:
        kind = np.asarray(value).dtype.kind
    except (TypeError, ValueError):  # ragged nested sequences
        kind = ""
    if kind not in "iuf":
        raise ValueError(f"{name} must be a number or an array of finite reals, got {value!r}")
    return check_array(name, value, low, low_open=low_open, allow_empty=False)


def _check_x(x):
    """A non-empty 1-D float array of finite tilts (a number is one point)."""
    x = _check_numbers("x", x)
    if x.ndim == 0:
        x = x.reshape(1)
    if x.ndim != 1:
        raise ValueError(f"x must be a number or a 1-D array of finite reals, got shape {x.shape}")
    return x


def _check_reference(reference, n, name="reference"):
    reference = check_spins(reference, n, name)
    if reference.ndim != 1:
        raise ValueError(f"{name} must be one configuration of shape ({n},), got {reference.shape}")
    return reference


def _validate(h, J, reference, x, damping, tol, max_sweeps):
    h, J = check_model(h, J)
    reference = _check_reference(reference, h.size)
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
    x : float or array (K,), optional
        Finite coupling fields, swept in the order given (reverse them to sweep the other
        way); each point is warm-started from the previous one. Default
        ``linspace(−3, 3, 121)``.
    beta : float > 0
        Inverse temperature (1: the fitted model itself).
    damping : float in [0, 1)
        BP damping; a point that does not converge goes on with damping 0.5, 0.8, 0.95.
    tol : float > 0
        BP tolerance (see :func:`deepspin.ising.belief_propagation`).
    max_sweeps : int ≥ 1
        BP sweeps allowed at each damping of that ladder: a point uses at most
        ``max_sweeps`` times the number of damping levels tried, all counted in
        ``iterations``.
    progress : bool
        Show a progress bar.

    Returns
    -------
    Landscape
        A point is ``converged`` when BP's residual at its last damping is at most ``tol``
        (its ``residual``); a warning names the points that are not.
    """
    if x is None:
        x = np.linspace(-3.0, 3.0, 121)
    h, J, reference, x, damping, tol, max_sweeps = _validate(
        h, J, reference, x, damping, tol, max_sweeps
    )
    beta = check_real("beta", beta, 0.0, low_open=True)
    progress = check_bool("progress", progress)
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

    Parameters
    ----------
    h, J, reference, x, damping, tol, max_sweeps, progress :
        As in :func:`entropy_landscape`.
    beta_range : pair of floats ``(low, high)``, ``0 < low < high``
        Where β is looked for.
    energy_tol : float > 0
        Brent's tolerance on β (the root is bracketed to within it).

    Returns
    -------
    Landscape
        With ``beta`` the β found at each x. A point is ``converged`` when its root was
        bracketed, Brent's method met ``energy_tol`` within its 100 iterations, and BP
        converged at the β found.
    """
    if x is None:
        x = np.linspace(-3.0, 3.0, 121)
    h, J, reference, x, damping, tol, max_sweeps = _validate(
        h, J, reference, x, damping, tol, max_sweeps
    )
    lo, hi = _check_beta_range(beta_range)
    energy_tol = check_real("energy_tol", energy_tol, 0.0, low_open=True)
    progress = check_bool("progress", progress)
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
        beta, root = brentq(
            lambda b: solver.solve(xi, b)["energy"] - target,  # noqa: B023
            lo, hi, xtol=energy_tol, full_output=True, disp=False,
        )  # fmt: skip
        point = solver.solve(xi, beta)
        point["converged"] = point["converged"] and root.converged
        points.append(point)
        betas.append(beta)
    info = dict(mode="iso-energy", target_energy=target, beta_range=(lo, hi))
    return _collect(x, np.array(betas), points, info)


def _check_beta_range(beta_range):
    """``(low, high)`` with ``0 < low < high``, both finite."""
    wanted = "a pair (low, high) of finite reals with 0 < low < high"
    pair = _check_pair("beta_range", beta_range, wanted)
    if not 0.0 < pair[0] < pair[1]:
        raise ValueError(f"beta_range must be {wanted}, got {beta_range!r}")
    return pair


def _check_pair(name, value, wanted):
    """Two finite reals, or a ``ValueError`` naming ``name``."""
    try:
        pair = tuple(value)
    except TypeError:
        raise ValueError(f"{name} must be {wanted}, got {value!r}") from None
    if len(pair) != 2 or isinstance(value, str):
        raise ValueError(f"{name} must be {wanted}, got {value!r}")
    try:
        return tuple(check_real(f"{name}[{i}]", v) for i, v in enumerate(pair))
    except ValueError:
        raise ValueError(f"{name} must be {wanted}, got {value!r}") from None


def _check_landscape(name, value):
    if not isinstance(value, Landscape):
        raise ValueError(f"{name} must be a Landscape, got {type(value).__name__}")
    return value


def landscape_gap(landscape: Landscape, d_range=(0.05, 0.95)) -> float:
    """Largest ``s_ub(d) − s(d)`` over the converged points with d in ``d_range``.

    Parameters
    ----------
    landscape : Landscape
    d_range : pair of floats ``(low, high)``, ``0 ≤ low ≤ high ≤ 1``

    Returns
    -------
    float
        NaN when no converged point has d in ``d_range``.
    """
    landscape = _check_landscape("landscape", landscape)
    wanted = "a pair (low, high) of distances with 0 <= low <= high <= 1"
    low, high = _check_pair("d_range", d_range, wanted)
    if not 0.0 <= low <= high <= 1.0:
        raise ValueError(f"d_range must be {wanted}, got {d_range!r}")
    d_range = (low, high)
    ok = landscape.converged & (landscape.d >= d_range[0]) & (landscape.d <= d_range[1])
    if not ok.any():
        return float("nan")
    return float(np.max(entropy_upper_bound(landscape.d[ok]) - landscape.s[ok]))


def hysteresis_width(up: Landscape, down: Landscape, atol=1e-3) -> float:
    """Width in x of the region where the two sweep directions disagree.

    ``up`` and ``down`` are landscapes over the same x values in opposite orders. The
    width is the number of x values where their distances differ by more than ``atol``
    (a float ≥ 0), times the grid spacing (0 when the two sweeps agree everywhere).
    """
    up = _check_landscape("up", up)
    down = _check_landscape("down", down)
    atol = check_real("atol", atol, 0.0)
    order_up, order_down = np.argsort(up.x), np.argsort(down.x)
    x = up.x[order_up]
    if x.shape != down.x.shape or not np.allclose(x, down.x[order_down]):
        raise ValueError(
            f"up and down must cover the same x values, got {up.x.size} and {down.x.size} "
            "points that differ"
        )
    differ = np.abs(up.d[order_up] - down.d[order_down]) > atol
    if x.size < 2:
        return 0.0
    spacing = float(np.median(np.diff(x)))
    return float(differ.sum() * spacing)


def _block_classes(h, J, reference, beta):
    """``ln Σ_{σ at distance k} e^{−βE(σ)}`` and the mean energy of each distance class
    k = 0…n of one block, by enumerating its 2^n states (classes that are empty: −inf)."""
    n = h.size
    energies = all_energies(h, J)
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


def _check_blocks(blocks):
    """Validated ``(h, J, reference)`` of every block."""
    wanted = "a non-empty sequence of (h, J, reference) triples"
    if isinstance(blocks, (str, bytes, np.ndarray)) or not hasattr(blocks, "__iter__"):
        raise ValueError(f"blocks must be {wanted}, got {blocks!r}")
    blocks = list(blocks)
    if not blocks:
        raise ValueError(f"blocks must be {wanted}, got none")
    out = []
    for b, block in enumerate(blocks):
        if not isinstance(block, (tuple, list)) or len(block) != 3:
            raise ValueError(f"blocks must be {wanted}, got blocks[{b}] = {block!r}")
        h, J = check_model(
            block[0], block[1], MAX_N_SAMPLE, names=(f"blocks[{b}] h", f"blocks[{b}] J"),
            why="to enumerate a block",
        )  # fmt: skip
        out.append((h, J, _check_reference(block[2], h.size, f"blocks[{b}] reference")))
    return out


def block_entropy_landscape(blocks, x=None, beta=1.0):
    """Exact entropy landscape of a model of independent blocks, eq. (landscape-entropy).

    With couplings only within blocks, ``P_x(σ) = Π_b P_x(σ_b)``: ``ln Z(x)``, the overlap,
    the energy and the entropy are sums over the blocks. A block of ``n_b`` spins is
    enumerated once; its states summed by their distance k to the reference give
    ``Z_b(x) = Σ_k Z_{b,k} e^{x (n_b − 2k)}`` for every x. Exact, so both sweep directions
    agree: no hysteresis.

    Parameters
    ----------
    blocks : non-empty sequence of ``(h, J, reference)``
        Each block's fields, couplings (symmetric, zero diagonal) and reference
        configuration of ±1; N in [1, 20] spins per block.
    x : float or array (K,), optional
        Finite coupling fields (default ``linspace(−3, 3, 121)``).
    beta : float > 0

    Returns
    -------
    Landscape
        ``converged`` all true, ``iterations`` and ``residual`` zero; ``info`` gives the
        block sizes.
    """
    x = _check_x(np.linspace(-3.0, 3.0, 121) if x is None else x)
    beta = check_real("beta", beta, 0.0, low_open=True)
    blocks = _check_blocks(blocks)
    log_z = np.zeros(x.size)
    overlap, energy, n_total, sizes = np.zeros(x.size), np.zeros(x.size), 0, []
    for h, J, reference in blocks:
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


def _radius_step(t, mask, V):
    """``(A V, ratios)`` of the Mooij–Kappen matrix A on directed edges k→i (``V[k, i]``):
    ``(A v)_{i→j} = tanh|J_ij| Σ_{k ∈ ∂i \\ j} v_{k→i}``."""
    incoming = V.sum(axis=0)  # Σ_k v_{k→i}
    W = t * (incoming[:, None] - V.T)
    return W, W[mask] / V[mask]


def bp_uniqueness_radius(J, beta=1.0, tol=1e-6, max_iter=20000, warn=True) -> SolverResult:
    """Spectral radius of the Mooij–Kappen matrix: below 1, BP has a unique fixed point.

    For pairwise binary models the derivative of BP's message ``u_{i→j}`` with respect to
    an incoming ``u_{k→i}`` (``k ≠ j``) is at most ``tanh|βJ_ij|``, whatever the fields.
    The matrix ``A_{(i→j),(k→i)} = tanh|βJ_ij|`` on directed edges (a weighted
    non-backtracking matrix) therefore bounds BP's Jacobian; if ``ρ(A) < 1`` BP converges
    to one and the same fixed point from any messages, for every field h (Mooij & Kappen
    2007, Corollary for binary pairwise models). In the entropy landscape the tilt only
    changes the fields, so ``ρ(A) < 1`` makes the landscape single-valued: the up and
    down sweeps agree by construction. ``ρ(A) ≥ 1`` does not imply a second fixed point;
    it only means that one is not excluded. Always ``ρ(A) ≤ ρ(tanh|βJ|)``.

    Power iteration of ``A + I`` (one O(N²) product per step, A is never formed) with the
    Collatz–Wielandt bounds ``min_e (Av)_e/v_e ≤ ρ(A) ≤ max_e (Av)_e/v_e``; a forest (no
    cycles) has ``ρ = 0`` exactly. The bounds meet when A is irreducible (a connected
    graph without leaves, e.g. a dense J); otherwise the upper one is still valid.

    Parameters
    ----------
    J : array (N, N)
        Finite symmetric couplings, zero diagonal, N ≥ 1; pairs with ``J_ij = 0`` are not
        edges.
    beta : float > 0
    tol : float > 0
        Stop when the two bounds differ by at most ``tol`` times the upper one.
    max_iter : int ≥ 1
        Power-iteration steps in all.
    warn : bool
        Warn when the bounds have not met (reducible A, e.g. disconnected blocks).

    Returns
    -------
    SolverResult
        ``value``: the upper bound (≥ ρ(A) after any number of steps, so ``value < 1``
        certifies uniqueness); ``residual``: the relative gap ``(upper − lower) / upper``
        (0 for a forest), ``converged`` when it is at most ``tol``; ``info['lower']``.

    References
    ----------
    J. M. Mooij and H. J. Kappen, "Sufficient conditions for convergence of the
    sum–product algorithm", IEEE Trans. Inf. Theory 53, 4422 (2007).
    """
    J = check_array("J", J, ndim=2)
    if J.shape[0] != J.shape[1] or J.shape[0] == 0:
        raise ValueError(f"J must be a non-empty square matrix, got shape {J.shape}")
    _, J = check_model(np.zeros(J.shape[0]), J)
    beta = check_real("beta", beta, 0.0, low_open=True)
    tol = check_real("tol", tol, 0.0, low_open=True)
    max_iter = check_int("max_iter", max_iter, 1)
    warn = check_bool("warn", warn)
    t = np.tanh(np.abs(beta * J))
    mask = t > 0
    n_components = connected_components(mask, directed=False)[0]
    if mask.sum() // 2 == J.shape[0] - n_components:  # a forest: no cycles, ρ = 0
        return SolverResult.from_residual(0.0, 0.0, tol, 0, dict(lower=0.0, beta=beta))
    V, iteration = mask.astype(np.float64), 0
    while True:
        W, ratios = _radius_step(t, mask, V)
        lower, upper = float(ratios.min()), float(ratios.max())
        iteration += 1
        # the relative gap of the bounds (upper > 0: the graph has a cycle)
        gap = (upper - lower) / upper
        if gap <= tol or iteration == max_iter:
            break
        V = V + W
        V = np.where(mask, V / V[mask].max(), 0.0)
    result = SolverResult.from_residual(upper, gap, tol, iteration, dict(lower=lower, beta=beta))
    return warn_if_not_converged(result, "bp_uniqueness_radius") if warn else result


@dataclass
class CorrelationSignal:
    """How much of a part's correlations a fitted model reproduces.

    Attributes
    ----------
    model : float
        RMSE, eq. (fit-rmse), of the model's moments against the data.
    independent : float
        RMSE of independent spins with the data's magnetisations.
    noise : float
        Sampling error of the data moments themselves, in the same norm.
    explained : float
        ``(independent² − model²) / (independent² − noise²)``: the fraction of the
        correlation signal above the noise that the model reproduces (1: down to the
        noise; above 1: the model fits the noise too; ≤ 0: no better than independent
        spins). NaN when the data have no correlations above the noise.
    """

    model: float
    independent: float
    noise: float
    explained: float


# eq. (fit-rmse) of moments in [−1, 1]: sqrt(mean Δm² + mean ΔC²) ≤ sqrt(4 + 4)
_MAX_RMSE = float(np.sqrt(8.0))


def _check_groups(groups, m):
    try:
        groups = np.asarray(groups)
    except (TypeError, ValueError):
        raise ValueError(f"groups must be an array of {m} labels, got {groups!r}") from None
    if groups.dtype.kind not in "biuUf":
        raise ValueError(
            f"groups must hold integer, string or real labels, got dtype {groups.dtype}"
        )
    if groups.shape != (m,):
        raise ValueError(f"groups must have shape ({m},), got {groups.shape}")
    if groups.dtype.kind == "f":
        check_array("groups", groups)
    return groups


def correlation_signal(samples, model_rmse, groups=None) -> CorrelationSignal:
    """Compare a fit's RMSE with independent spins and with the data's sampling noise.

    The noise is estimated from two halves of the data: the RMSE between their moments is
    twice the error of the full data's moments (each half has twice the variance, and the
    difference of two halves twice that again). With ``groups`` (e.g. the network each
    configuration was drawn from) the halves are whole groups, even- and odd-ranked, so
    that correlated draws of one group do not make the noise look small.

    Parameters
    ----------
    samples : array (M, N) of ±1, M ≥ 2
    model_rmse : float in [0, √8]
        The fit's RMSE against the moments of ``samples`` (eq. (fit-rmse) cannot exceed
        √8: moments differ by at most 2).
    groups : array (M,), optional
        Group label of each configuration (integers, strings, or finite reals), with at
        least two different labels; default: every configuration its own group.

    Returns
    -------
    CorrelationSignal
    """
    samples = check_samples(samples, min_rows=2)
    model_rmse = check_real("model_rmse", model_rmse, 0.0, _MAX_RMSE)
    groups = np.arange(len(samples)) if groups is None else _check_groups(groups, len(samples))
    rank = np.unique(groups, return_inverse=True)[1]
    first = rank % 2 == 0
    if first.all():
        raise ValueError("groups must hold at least two different labels")
    m, C = sample_moments(samples)
    independent = rmse(m, np.outer(m, m), m, C)
    noise = rmse(*sample_moments(samples[first]), *sample_moments(samples[~first])) / 2
    signal = independent**2 - noise**2
    explained = (independent**2 - model_rmse**2) / signal if signal > 0 else float("nan")
    return CorrelationSignal(model_rmse, independent, noise, float(explained))


@dataclass
class TiltedSamples:
    """Monte Carlo of the tilted measure at each x (see :func:`tilted_monte_carlo`).

    Attributes
    ----------
    x, beta : ndarray
        Coupling field and inverse temperature of each point.
    d, d_error : ndarray
        Mean distance to the reference and its standard error (spread of the chains'
        means over ``√n_chains``).
    energy, energy_error : ndarray
        ``⟨E⟩/N`` of the untilted Hamiltonian and its standard error.
    """

    x: np.ndarray
    beta: np.ndarray
    d: np.ndarray
    d_error: np.ndarray
    energy: np.ndarray
    energy_error: np.ndarray


def tilted_monte_carlo(
    h, J, reference, x, beta=1.0, n_chains=8, sweeps=1000, burn_in=200, initial=None, seed=None
) -> TiltedSamples:
    """Sample ``P_x(σ) ∝ exp(−βE(σ) + x Σ σ*_i σ_i)``, eq. (landscape-tilt), by Metropolis.

    The points are visited in the order given, each chain starting from its last
    configuration at the previous point (a sweep, like the BP landscape). Distances and
    energies are averaged over every sweep after the burn-in.

    Parameters
    ----------
    h, J : arrays
    reference : array (N,) of ±1
    x : float or array (K,)
        Finite coupling fields.
    beta : float > 0 or array (K,) of them
        Inverse temperature at each point (e.g. the β(x) of an iso-energy landscape).
    n_chains : int ≥ 2
    sweeps : int ≥ 1
        Sweeps averaged at each point.
    burn_in : int ≥ 0
        Sweeps discarded at each point before those.
    initial : array (N,) or (n_chains, N) of ±1, optional
        Starting configurations (default: random).
    seed : None, int ≥ 0 or numpy Generator

    Returns
    -------
    TiltedSamples
    """
    h, J, reference, x, *_ = _validate(h, J, reference, x, 0.0, 1.0, 1)
    beta = _check_numbers("beta", beta, 0.0, low_open=True)
    if beta.ndim > 1 or beta.size not in (1, x.size):
        raise ValueError(f"beta must be a number or an array of shape {x.shape}, got {beta.shape}")
    beta = np.broadcast_to(beta.reshape(-1), x.shape).copy()
    n_chains = check_int("n_chains", n_chains, 2)
    sweeps = check_int("sweeps", sweeps, 1)
    burn_in = check_int("burn_in", burn_in, 0)
    if initial is not None:
        initial = check_spins(initial, h.size, "initial")
        if initial.ndim == 2 and initial.shape[0] != n_chains:
            raise ValueError(
                f"initial must have shape ({h.size},) or ({n_chains}, {h.size}) for n_chains = "
                f"{n_chains}, got {initial.shape}"
            )
    rng = as_generator(seed)
    n, root = h.size, np.sqrt(n_chains)
    out = np.empty((4, x.size))
    state = initial
    for k, (xk, bk) in enumerate(zip(x, beta, strict=True)):
        mc = metropolis(bk * h + xk * reference, bk * J, n_chains=n_chains, sweeps=sweeps,
                        burn_in=burn_in, sample_every=1, initial=state, seed=rng)  # fmt: skip
        state = mc.final
        overlap = mc.samples.reshape(n_chains, -1, n).astype(np.float64) @ reference
        d = ((1.0 - overlap / n) / 2).mean(axis=1)
        # mc.energies belong to the tilted model at β = 1: E' = βE − x Σσ*σ
        e = ((mc.energies + xk * overlap) / (bk * n)).mean(axis=1)
        out[:, k] = d.mean(), d.std(ddof=1) / root, e.mean(), e.std(ddof=1) / root
    return TiltedSamples(x, beta, *out)
