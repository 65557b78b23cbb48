"""Replica-symmetric theory of Yoshino's deep perceptron network (chapter ``yoshino_rs``).

L layers of sign perceptrons with spherical weights map M random inputs (layer 0) to
prescribed outputs (layer L); α = M/c constraints per weight. In the input/output
symmetric closure the RS free entropy per constraint is (eqs. (rs-random), (rs-teacher))

    s = Σ_{l=1}^{L} bond(Q_l)/(2α) + Σ_{l=1}^{L−1} [±½ q̂_l (q_l ∓ 1) + spin(q̂_l)]
        + Σ_{l=1}^{L} gap(q_{l−1} Q_l q_l),      q_0 = q_L = 1,

(upper signs random, n → 0; lower signs teacher, n → 1; the layer functions are in
:mod:`deepspin.deep_perceptron.kernels`). Its stationary points solve (eq. rs-saddle)

    Q_l/(1−Q_l)^{2 or 1} = α q_{l−1} q_l F(Δ_l),
    q̂_l = Q_l q_{l−1} F(Δ_l) + Q_{l+1} q_{l+1} F(Δ_{l+1}),     q_l = I(q̂_l),

with ``Δ_l = q_{l−1} Q_l q_l``. The liquid ``q_l = Q_l = Q_{l+1} = 0`` solves them for any
α; it is linearly unstable when (eq. rs-onset)

    λ_l = α (2/π)² (q_{l−1}² + q_{l+1}²) > 1,

so layers freeze one at a time from the boundaries inwards, first at α = π²/4.

The solver keeps the set of frozen layers explicit. On that set it runs Newton's method
on ``logit T(x) − logit x`` (T the fixed-point map above), which removes the liquid root
and resolves both q ~ 10⁻⁸ near an onset and 1 − Q ~ 10⁻⁶ at α = 10⁵; the Jacobian is
banded (a layer talks to its neighbours) and is formed from five evaluations of T. Liquid
layers with λ_l > 1 join the set; frozen layers whose q collapses leave it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import brentq
from scipy.special import expit, logit
from tqdm import tqdm

from deepspin.checks import check_choice, check_int, check_real
from deepspin.deep_perceptron.forward import forward_overlaps
from deepspin.deep_perceptron.kernels import (
    SCENARIOS,
    bond_from_field,
    bond_term,
    force,
    gap_term,
    spin_overlap,
    spin_term,
)
from deepspin.results import SolverResult, warn_if_not_converged

__all__ = [
    "RSProfile",
    "free_entropy",
    "free_entropy_gradient",
    "generalisation_error",
    "growth_rates",
    "onsets",
    "phase_diagram",
    "saddle_map",
    "solve_rs",
]

_COLLAPSE = -45.0  # logit below which a frozen layer has melted (q < 3e-20)
_CEILING = 34.0  # logit above which 1 − Q is no longer resolved in float64 (1e-15)
_BAND = 2  # a component of the map depends on variables at most two places away
_FD_STEP = 1e-6
_RELAX = 50


@dataclass
class RSProfile:
    """One RS solution.

    Attributes
    ----------
    alpha, L, scenario :
        The parameters.
    q : ndarray (L+1,)
        Spin overlaps, q[0] = q[L] = 1 (clamped boundaries). In the teacher scenario
        they are also the student–teacher overlaps (Nishimori).
    Q : ndarray (L,)
        Bond overlaps Q_1 … Q_L (Q[l−1] is the bond layer between spin layers l−1, l).
    qhat : ndarray (L+1,)
        Conjugate fields q̂_l (0 at the boundaries).
    entropy : float
        Free entropy per constraint, eq. (rs-random) or (rs-teacher).
    frozen : ndarray of bool (L+1,)
        Spin layers with q > 0 (boundaries included).
    """

    alpha: float
    L: int
    scenario: str
    q: np.ndarray
    Q: np.ndarray
    qhat: np.ndarray
    entropy: float
    frozen: np.ndarray


def saddle_map(alpha, q, Q, scenario="random"):
    """One application of the fixed-point map T (eq. rs-saddle).

    Parameters
    ----------
    q : array (L+1,) with q[0] = q[L] = 1; Q : array (L,)

    Returns
    -------
    q_new (L+1,), Q_new (L,), qhat (L+1,)
    """
    q = np.asarray(q, dtype=float)
    Q = np.asarray(Q, dtype=float)
    delta = q[:-1] * Q * q[1:]
    f = force(delta, scenario)
    Q_new = bond_from_field(alpha * q[:-1] * q[1:] * f, scenario)
    qhat = np.zeros_like(q)
    qhat[1:-1] = Q[:-1] * q[:-2] * f[:-1] + Q[1:] * q[2:] * f[1:]
    q_new = q.copy()
    q_new[1:-1] = spin_overlap(qhat[1:-1], scenario)
    return q_new, Q_new, qhat


def free_entropy(alpha, q, Q, qhat, scenario="random"):
    """The RS free entropy per constraint at arbitrary (q, Q, q̂), eqs. (rs-random)/(rs-teacher).

    Stationary in every argument at a solution of :func:`saddle_map`.
    """
    q, Q, qhat = (np.asarray(a, dtype=float) for a in (q, Q, qhat))
    h, qh = q[1:-1], qhat[1:-1]
    sign = 1.0 if scenario == "random" else -1.0
    spins = np.sum(0.5 * sign * qh * (h - sign) + spin_term(qh, scenario))
    bonds = np.sum(bond_term(Q, scenario)) / (2.0 * alpha)
    gaps = np.sum(gap_term(q[:-1] * Q * q[1:], scenario))
    return float(bonds + spins + gaps)


def free_entropy_gradient(profile, eps=1e-6):
    """Central differences of :func:`free_entropy` in every order parameter of ``profile``
    that is free and nonzero (clamped boundaries and liquid layers, which sit at the edge
    of the domain, are skipped). At a solution of eq. (rs-saddle) all of them vanish.

    Returns
    -------
    dict
        ``{"q": …, "Q": …, "qhat": …}``: arrays of the shapes of the profile's, NaN where
        skipped.
    """
    args = {"q": profile.q, "Q": profile.Q, "qhat": profile.qhat}
    out = {}
    for name, array in args.items():
        grad = np.full(array.size, np.nan)
        for i in np.flatnonzero(array > 0):
            if name != "Q" and i in (0, array.size - 1):
                continue
            shifted = []
            for sign in (1.0, -1.0):
                moved = {k: v.copy() for k, v in args.items()}
                moved[name][i] += sign * eps
                shifted.append(free_entropy(profile.alpha, **moved, scenario=profile.scenario))
            grad[i] = (shifted[0] - shifted[1]) / (2.0 * eps)
        out[name] = grad
    return out


def growth_rates(alpha, q):
    """Linear growth rate λ_l of a liquid spin layer next to the given profile, eq. (rs-onset).

    ``λ_l = α (2/π)² (q_{l−1}² + q_{l+1}²)`` for l = 1 … L−1 (NaN for frozen layers);
    the same in both scenarios, because F(0) = 2/π and I(q̂) ≈ q̂ in both.
    """
    q = np.asarray(q, dtype=float)
    lam = _neighbour_drive(alpha, q)
    lam[q > 0] = np.nan
    lam[[0, -1]] = np.nan
    return lam


def _neighbour_drive(alpha, q):
    """``α (2/π)² (q_{l−1}² + q_{l+1}²)`` for every hidden layer, frozen or not (0 at the ends)."""
    lam = np.zeros(q.size)
    lam[1:-1] = alpha * (2.0 / np.pi) ** 2 * (q[:-2] ** 2 + q[2:] ** 2)
    return lam


def _pack(q, Q):
    """Interleave (Q_1, q_1, Q_2, q_2, …, Q_L) so that the map is banded."""
    L = Q.size
    x = np.empty(2 * L - 1)
    x[0::2] = Q
    x[1::2] = q[1:-1]
    return x


def _unpack(x, L):
    q = np.ones(L + 1)
    q[1:-1] = x[1::2]
    return q, x[0::2].copy()


def _newton(alpha, q, Q, frozen, scenario, tol, max_iter):
    """Newton on the frozen set in logit variables. Returns q, Q, iterations, residual, melted."""
    L = Q.size
    bonds = frozen[:-1] & frozen[1:]
    active = _pack(frozen.astype(float), bonds.astype(float)) > 0.5
    index = np.flatnonzero(active)
    x = _pack(q, Q)
    x[~active] = 0.0

    def residual(u):
        y = x.copy()
        if not np.all(np.isfinite(u)):
            return np.full(u.size, np.inf)
        y[index] = expit(np.minimum(u, _CEILING))
        qn, Qn, _ = saddle_map(alpha, *_unpack(y, L), scenario)
        return logit(np.maximum(_pack(qn, Qn)[index], 1e-300)) - u

    u = logit(np.clip(x[index], 1e-300, 1.0 - 1e-16))
    r = residual(u)
    iterations = 0
    colours = index % (2 * _BAND + 1)
    while np.max(np.abs(r), initial=0.0) > tol and iterations < max_iter:
        jac = np.zeros((index.size, index.size))
        for colour in range(2 * _BAND + 1):
            cols = np.flatnonzero(colours == colour)
            if cols.size == 0:
                continue
            step = u.copy()
            step[cols] += _FD_STEP
            dr = (residual(step) - r) / _FD_STEP
            for col in cols:
                rows = np.flatnonzero(np.abs(index - index[col]) <= _BAND)
                jac[rows, col] = dr[rows]
        try:
            delta = np.linalg.solve(jac, -r)
        except np.linalg.LinAlgError:
            break
        norm = np.max(np.abs(r))
        for _ in range(20):
            trial = u + delta
            r_trial = residual(trial)
            if np.all(np.isfinite(r_trial)) and np.max(np.abs(r_trial)) < norm:
                break
            delta *= 0.5
        else:
            # Newton cannot descend (a near-singular direction): relax by damped
            # fixed-point steps u ← u + ½ r, which follow the map's stable manifold
            trial = u
            for _ in range(_RELAX):
                trial = trial + 0.5 * residual(trial)
            r_trial = residual(trial)
            if not np.all(np.isfinite(r_trial)):
                break
        u, r = trial, r_trial
        iterations += 1
        if np.any(u < _COLLAPSE):
            break
    x[index] = expit(u)
    q, Q = _unpack(x, L)
    melted = np.zeros(L + 1, dtype=bool)
    melted[1:-1] = frozen[1:-1] & (q[1:-1] < expit(_COLLAPSE))
    return q, Q, iterations, float(np.max(np.abs(r), initial=0.0)), melted


def _check(alpha, L, scenario):
    alpha = check_real("alpha", alpha, 0.0, low_open=True)
    L = check_int("L", L, 1)
    scenario = check_choice("scenario", scenario, SCENARIOS)
    return alpha, L, scenario


def solve_rs(alpha, L, scenario="random", initial=None, tol=1e-11, max_iter=60, warn=True):
    """Solve the RS saddle-point equations of the symmetric closure, eq. (rs-saddle).

    Parameters
    ----------
    alpha : float > 0
        Constraints per weight, α = M/c.
    L : int ≥ 1
        Bond layers (spin layers 0 … L, the two ends clamped).
    scenario : {"random", "teacher"}
    initial : RSProfile, optional
        A solution at a nearby α with the same L (continuation): its frozen layers and
        overlaps are the starting point. Without it the frozen set grows from the
        boundaries.
    tol : float
        Newton stops when every ``|logit T(x) − logit x|`` is below ``tol`` (a relative
        accuracy of q, Q and 1 − Q).
    max_iter : int
        Newton iterations per frozen set.

    Returns
    -------
    SolverResult
        ``value`` is an :class:`RSProfile`; ``iterations`` counts Newton steps over all
        frozen sets; ``residual`` is ``max |T(x) − x|`` in the original variables;
        ``info["growth"]`` holds the growth rates λ_l of the liquid layers.
    """
    alpha, L, scenario = _check(alpha, L, scenario)
    tol = check_real("tol", tol, 0.0, low_open=True)
    max_iter = check_int("max_iter", max_iter, 1)
    q, Q = np.ones(L + 1), np.zeros(L)
    q[1:-1] = 0.0
    if initial is not None:
        if initial.L != L or initial.scenario != scenario:
            raise ValueError(f"initial must be a profile with L = {L} and scenario {scenario!r}")
        q, Q = initial.q.copy(), initial.Q.copy()
    frozen = q > 0
    total, newton_residual = 0, 0.0
    for _ in range(4 * L + 4):
        bonds = frozen[:-1] & frozen[1:]
        # a bond between frozen layers starts from its equation at the current spins
        fresh = bonds & (Q <= 0)
        if fresh.any():
            Q[fresh] = saddle_map(alpha, q, np.where(fresh, 0.0, Q), scenario)[1][fresh]
        q, Q, iterations, newton_residual, melted = _newton(
            alpha, q, Q, frozen, scenario, tol, max_iter
        )
        total += iterations
        if melted.any():
            frozen &= ~melted
            q[~frozen] = 0.0
            Q[~(frozen[:-1] & frozen[1:])] = 0.0
            continue
        lam = growth_rates(alpha, np.where(frozen, q, 0.0))
        grow = np.nan_to_num(lam, nan=0.0) > 1.0
        if not grow.any():
            break
        frozen |= grow
        q[grow] = np.minimum(0.5, np.maximum(1e-3, lam[grow] - 1.0))
    q_new, Q_new, qhat = saddle_map(alpha, q, Q, scenario)
    residual = float(max(np.max(np.abs(q_new - q)), np.max(np.abs(Q_new - Q))))
    profile = RSProfile(
        alpha, L, scenario, q, Q, qhat, free_entropy(alpha, q, Q, qhat, scenario), q > 0
    )
    # a bond pinned at the ceiling has Q = 1 to float64: past the RS capacity there is no
    # solution with Q < 1, and the point is reported as not converged
    converged = bool(newton_residual <= tol and np.all(Q < expit(_CEILING - 2.0)))
    result = SolverResult(
        profile,
        converged,
        total,
        residual,
        info=dict(growth=growth_rates(alpha, q), logit_residual=newton_residual),
    )
    if warn:
        warn_if_not_converged(result, f"solve_rs(alpha={alpha:g}, L={L}, scenario={scenario!r})")
    return result


def phase_diagram(alphas, L, scenario="random", progress=False, **solver):
    """RS profiles over a grid of α by continuation (increasing α, warm starts).

    Returns
    -------
    dict of arrays
        ``alpha`` (sorted), ``q`` (n, L+1), ``Q`` (n, L), ``entropy``, ``converged``,
        ``iterations``, ``residual``. Points that did not converge hold NaN overlaps.
    """
    alphas = np.sort(np.asarray(alphas, dtype=float).ravel())
    if alphas.size == 0 or np.any(~(alphas > 0)):
        raise ValueError("alphas must be a non-empty array of positive numbers")
    L = check_int("L", L, 1)
    out = dict(
        alpha=alphas,
        q=np.full((alphas.size, L + 1), np.nan),
        Q=np.full((alphas.size, L), np.nan),
        entropy=np.full(alphas.size, np.nan),
        converged=np.zeros(alphas.size, dtype=bool),
        iterations=np.zeros(alphas.size, dtype=int),
        residual=np.full(alphas.size, np.nan),
    )
    previous = None
    for i, alpha in enumerate(tqdm(alphas, disable=not progress, desc=f"RS, L = {L}")):
        result = solve_rs(alpha, L, scenario, initial=previous, warn=False, **solver)
        if not result.converged and previous is not None:
            result = solve_rs(alpha, L, scenario, warn=False, **solver)  # cold: the set regrows
        warn_if_not_converged(result, f"phase_diagram: solve_rs(alpha={alpha:g}, L={L})")
        out["converged"][i] = result.converged
        out["iterations"][i] = result.iterations
        out["residual"][i] = result.residual
        if result.converged:
            p = result.value
            out["q"][i], out["Q"][i], out["entropy"][i] = p.q, p.Q, p.entropy
            previous = p
    return out


def onsets(L, scenario="random", n_layers=None, xtol=1e-10):
    """Onsets α_g(l) of layers l = 1 … n_layers counted from the input boundary.

    α_g(1) = π²/4; for l ≥ 2 the root of ``λ_l(α) = 1`` (eq. rs-onset) with the RS
    solution at α, found by Brent's method. The other boundary's front must not have
    reached layer l + 1 (so ``n_layers ≤ L // 2`` by default).
    """
    L = check_int("L", L, 2)
    n_layers = L // 2 if n_layers is None else check_int("n_layers", n_layers, 1, L // 2)
    cache = {}

    def rate(alpha, layer):
        if alpha not in cache:
            cache[alpha] = solve_rs(alpha, L, scenario, warn=False).value
        return _neighbour_drive(alpha, cache[alpha].q)[layer] - 1.0

    found = [np.pi**2 / 4.0]
    for layer in range(2, n_layers + 1):
        low = found[-1] * (1.0 + 1e-9)
        high = 2.0 * low
        while rate(high, layer) <= 0.0:
            low, high = high, 2.0 * high
        found.append(brentq(rate, low, high, args=(layer,), xtol=xtol * low, rtol=1e-12))
    return np.array(found)


def generalisation_error(Q):
    """Test error of a student whose bond layers overlap the teacher's by Q_1 … Q_L.

    A new input propagates through both networks; with independent-looking weights the
    spin overlap obeys the law of sign units (eq. forward-law),
    ``ρ_l = (2/π) arcsin(Q_l ρ_{l−1})``, ρ_0 = 1, and the outputs disagree with
    probability ``arccos(Q_L ρ_{L−1})/π``.
    """
    Q = np.asarray(Q, dtype=float)
    rho = forward_overlaps(Q[:-1])[-1]
    return float(np.arccos(Q[-1] * rho) / np.pi)
