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
banded (a layer talks to its neighbours) and is formed from 2b + 1 evaluations of T (band b). Liquid
layers with λ_l > 1 join the set; frozen layers whose q collapses leave it. Where the
branch Newton follows ends (a subcritical onset, a teacher's lock-in), the solver follows
the damped flow of T to the far solution and polishes it with Newton.

The same solver handles the exact-node closure (``closure="exact-node"``, random data),
whose layer functions and map are in :mod:`deepspin.deep_perceptron.exact_node`: there
q̂ is a variable of the map, and a liquid layer grows at ``λ_l = u q_{l+1}²(1 + u q_{l−1}²)``,
u = α(2/π)² (eq. rs-node-onset), so freezing starts from the output only.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy.optimize import brentq
from scipy.special import expit, logit
from tqdm import tqdm

from deepspin.checks import check_array, check_bool, check_choice, check_int, check_real
from deepspin.deep_perceptron.exact_node import (
    node_free_entropy,
    node_growth_rates,
    node_saddle_map,
)
from deepspin.deep_perceptron.forward import forward_overlaps
from deepspin.deep_perceptron.kernels import (
    SCENARIOS,
    bond_from_field,
    bond_term,
    check_drive,
    check_profile,
    force,
    gap_term,
    spin_overlap,
    spin_term,
)
from deepspin.results import SolverResult, warn_if_not_converged

__all__ = [
    "CLOSURES",
    "RSProfile",
    "follow_branch",
    "free_entropy",
    "free_entropy_gradient",
    "freezing_by_depth",
    "generalisation_error",
    "growth_rates",
    "onsets",
    "phase_diagram",
    "saddle_map",
    "solve_rs",
]

CLOSURES = ("symmetric", "exact-node")

_COLLAPSE = -45.0  # logit below which a frozen layer has melted (q < 3e-20)
_CEILING = 34.0  # logit above which 1 − Q is no longer resolved in float64 (1e-15)
_FD_STEP = 1e-6
_RELAX = 50
_SET_BUDGET = 60  # Newton steps on one frozen set before its branch is taken to have ended
_GROWTH_BUDGET = 12  # the same, just after a growth step
_MARGINAL = 1e-8
_FLOW = 2000
_FLOW_TOL = 1e-9


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
    closure : str
        "symmetric" or "exact-node".
    """

    alpha: float
    L: int
    scenario: str
    q: np.ndarray
    Q: np.ndarray
    qhat: np.ndarray
    entropy: float
    frozen: np.ndarray
    closure: str = "symmetric"


def saddle_map(alpha, q, Q, scenario="random"):
    """One application of the fixed-point map T (eq. rs-saddle).

    Parameters
    ----------
    alpha : float, > 0
        Constraints per weight.
    q : array (L+1,), entries in [0, 1], L ≥ 1
        Spin overlaps, q[0] = q[L] = 1 at a solution (clamped ends).
    Q : array (L,), entries in [0, 1)
        Bond overlaps.
    scenario : {"random", "teacher"}

    Returns
    -------
    q_new (L+1,), Q_new (L,), qhat (L+1,)
    """
    alpha, q, Q, _ = check_profile(alpha, q, Q)
    scenario = check_choice("scenario", scenario, SCENARIOS)
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

    Parameters
    ----------
    alpha : float, > 0
        Constraints per weight.
    q : array (L+1,), entries in [0, 1], L ≥ 1
        Spin overlaps, q[0] = q[L] = 1 at a solution (clamped ends).
    Q : array (L,), entries in [0, 1)
        Bond overlaps.
    qhat : array (L+1,), entries ≥ 0
        Conjugate fields (0 at the ends).
    scenario : {"random", "teacher"}
    """
    alpha, q, Q, qhat = check_profile(alpha, q, Q, qhat, require_qhat=True)
    scenario = check_choice("scenario", scenario, SCENARIOS)
    h, qh = q[1:-1], qhat[1:-1]
    sign = 1.0 if scenario == "random" else -1.0
    spins = np.sum(0.5 * sign * qh * (h - sign) + spin_term(qh, scenario))
    bonds = np.sum(bond_term(Q, scenario)) / (2.0 * alpha)
    gaps = np.sum(gap_term(q[:-1] * Q * q[1:], scenario))
    return float(bonds + spins + gaps)


def free_entropy_gradient(profile, eps=1e-6):
    """Central differences of the profile's free entropy (eq. rs-random, rs-teacher or
    rs-node) in every order parameter of ``profile`` that is free and nonzero (clamped
    boundaries and liquid layers, which sit at the edge of the domain, are skipped). At a
    solution of eq. (rs-saddle) or (rs-node-saddle) all of them vanish.

    Parameters
    ----------
    profile : RSProfile
        A profile as :func:`solve_rs` returns it (``result.value``).
    eps : float, > 0
        Step of the central differences (shortened near the edge of the domain).

    Returns
    -------
    dict
        ``{"q": …, "Q": …, "qhat": …}``: arrays of the shapes of the profile's, NaN where
        skipped.
    """
    _check_rs_profile("profile", profile)
    eps = check_real("eps", eps, 0.0, low_open=True)
    args = {"q": profile.q, "Q": profile.Q, "qhat": profile.qhat}
    entropy = _CLOSURE_RULES[profile.closure].entropy
    out = {}
    for name, array in args.items():
        grad = np.full(array.size, np.nan)
        for i in np.flatnonzero(array > 0):
            if name != "Q" and i in (0, array.size - 1):
                continue
            # the step stays inside the domain: q, Q in [0, 1], q̂ ≥ 0
            room = array[i] if name == "qhat" else min(array[i], 1.0 - array[i])
            step = min(eps, 0.5 * room)
            shifted = []
            for sign in (1.0, -1.0):
                moved = {k: v.copy() for k, v in args.items()}
                moved[name][i] += sign * step
                shifted.append(entropy(profile.alpha, **moved, scenario=profile.scenario))
            grad[i] = (shifted[0] - shifted[1]) / (2.0 * step)
        out[name] = grad
    return out


def growth_rates(alpha, q, closure="symmetric"):
    """Linear growth rate λ_l of a liquid spin layer next to the given profile.

    Symmetric closure, eq. (rs-onset): ``λ_l = α (2/π)² (q_{l−1}² + q_{l+1}²)``, the same
    in both scenarios, because F(0) = 2/π and I(q̂) ≈ q̂ in both. Exact-node closure,
    eq. (rs-node-onset): ``λ_l = u q_{l+1}² (1 + u q_{l−1}²)``, u = α(2/π)². For
    l = 1 … L−1, NaN for frozen layers.

    Parameters
    ----------
    alpha : float, > 0
        Constraints per weight.
    q : array (L+1,), entries in [0, 1], L ≥ 1
        Spin overlaps of the profile (liquid layers 0).
    closure : {"symmetric", "exact-node"}

    Returns
    -------
    ndarray (L+1,)
    """
    alpha, q = check_drive(alpha, q)
    lam = _CLOSURE_RULES[check_choice("closure", closure, CLOSURES)].drive(alpha, q)
    lam[q > 0] = np.nan
    lam[[0, -1]] = np.nan
    return lam


def _neighbour_drive(alpha, q):
    """``α (2/π)² (q_{l−1}² + q_{l+1}²)`` for every hidden layer, frozen or not (0 at the ends)."""
    lam = np.zeros(q.size)
    lam[1:-1] = alpha * (2.0 / np.pi) ** 2 * (q[:-2] ** 2 + q[2:] ** 2)
    return lam


def _pack(q, Q, qhat=None):
    """Interleave (Q_1, q_1, Q_2, q_2, …, Q_L) so that the map is banded; with q̂, as
    (Q_1, q_1, p_1, Q_2, …, Q_L) where ``p = q̂/(1+q̂)`` maps q̂ ≥ 0 into [0, 1)."""
    L = Q.size
    per = 2 if qhat is None else 3
    x = np.empty(per * L - per + 1)
    x[0::per] = Q
    x[1::per] = q[1:-1]
    if qhat is not None:
        x[2::per] = qhat[1:-1] / (1.0 + qhat[1:-1])
    return x


def _unpack(x, L, with_qhat=False):
    per = 3 if with_qhat else 2
    q = np.ones(L + 1)
    q[1:-1] = x[1::per]
    qhat = None
    if with_qhat:
        qhat = np.zeros(L + 1)
        p = x[2::per]
        qhat[1:-1] = p / (1.0 - p)
    return q, x[0::per].copy(), qhat


@dataclass(frozen=True)
class _Closure:
    """How a closure enters the solver: its map, its packed variables, its growth rates."""

    band: int  # a component of the packed map depends on variables at most this far away
    with_qhat: bool  # q̂ is a variable of the map (exact node) or a function of q, Q
    step: Callable  # (alpha, q, Q, qhat, scenario) -> q, Q, qhat
    entropy: Callable  # (alpha, q, Q, qhat, scenario) -> float
    drive: Callable  # (alpha, q) -> growth rate of every hidden layer (0 at the ends)


_CLOSURE_RULES = {
    "symmetric": _Closure(
        2,
        False,
        lambda alpha, q, Q, qhat, scenario: saddle_map(alpha, q, Q, scenario),
        free_entropy,
        _neighbour_drive,
    ),
    "exact-node": _Closure(
        3,
        True,
        lambda alpha, q, Q, qhat, scenario: node_saddle_map(alpha, q, Q, qhat),
        lambda alpha, q, Q, qhat, scenario: node_free_entropy(alpha, q, Q, qhat),
        node_growth_rates,
    ),
}


def _newton(alpha, q, Q, qhat, frozen, scenario, closure, tol, max_iter):
    """Newton on the frozen set in logit variables.

    Returns q, Q, q̂, iterations, residual, melted.
    """
    L = Q.size
    rule = _CLOSURE_RULES[closure]
    packed_qhat = qhat if rule.with_qhat else None
    bonds = frozen[:-1] & frozen[1:]
    mask = frozen.astype(float)
    active = _pack(mask, bonds.astype(float), mask if rule.with_qhat else None) > 0.25
    index = np.flatnonzero(active)
    x = _pack(q, Q, packed_qhat)
    x[~active] = 0.0

    def residual(u):
        y = x.copy()
        if not np.all(np.isfinite(u)):
            return np.full(u.size, np.inf)
        y[index] = expit(np.minimum(u, _CEILING))
        qn, Qn, qhn = rule.step(alpha, *_unpack(y, L, rule.with_qhat), scenario)
        packed = _pack(qn, Qn, qhn if rule.with_qhat else None)
        # an overlap equal to 1 in float64 (a hidden layer locked onto the teacher) sits
        # at the ceiling instead of at logit = ∞
        return logit(np.clip(packed[index], 1e-300, expit(_CEILING))) - u

    u = logit(np.clip(x[index], 1e-300, 1.0 - 1e-16))
    r = residual(u)
    iterations = 0
    colours = index % (2 * rule.band + 1)
    while np.max(np.abs(r), initial=0.0) > tol and iterations < max_iter:
        jac = np.zeros((index.size, index.size))
        for colour in range(2 * rule.band + 1):
            cols = np.flatnonzero(colours == colour)
            if cols.size == 0:
                continue
            step = u.copy()
            step[cols] += _FD_STEP
            dr = (residual(step) - r) / _FD_STEP
            for col in cols:
                rows = np.flatnonzero(np.abs(index - index[col]) <= rule.band)
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
    q, Q, qhat_out = _unpack(x, L, rule.with_qhat)
    melted = np.zeros(L + 1, dtype=bool)
    melted[1:-1] = frozen[1:-1] & (q[1:-1] < expit(_COLLAPSE))
    return q, Q, qhat_out, iterations, float(np.max(np.abs(r), initial=0.0)), melted


def _check_rs_profile(name, profile):
    """Raise ``ValueError`` naming ``name`` unless ``profile`` is a consistent RSProfile."""
    if not isinstance(profile, RSProfile):
        raise ValueError(
            f"{name} must be an RSProfile (the value of a solve_rs result), "
            f"got {type(profile).__name__}"
        )
    try:
        alpha, L, _, _ = _check(profile.alpha, profile.L, profile.scenario, profile.closure)
        _, _, Q, _ = check_profile(alpha, profile.q, profile.Q, profile.qhat, require_qhat=True)
        if Q.size != L:
            raise ValueError(f"Q must have length L = {L}, got {Q.size}")
    except ValueError as err:
        raise ValueError(f"{name} is not a consistent RSProfile: {err}") from None


def _check(alpha, L, scenario, closure="symmetric"):
    alpha = check_real("alpha", alpha, 0.0, low_open=True)
    L = check_int("L", L, 1)
    scenario = check_choice("scenario", scenario, SCENARIOS)
    closure = check_choice("closure", closure, CLOSURES)
    if closure == "exact-node" and scenario != "random":
        raise ValueError("closure 'exact-node' is implemented for scenario 'random' only")
    return alpha, L, scenario, closure


def solve_rs(
    alpha,
    L,
    scenario="random",
    closure="symmetric",
    initial=None,
    tol=1e-11,
    max_iter=1000,
    warn=True,
):
    """Solve the RS saddle-point equations, eq. (rs-saddle) or (rs-node-saddle).

    Parameters
    ----------
    alpha : float, > 0
        Constraints per weight, α = M/c.
    L : int, ≥ 1
        Bond layers (spin layers 0 … L, the two ends clamped).
    scenario : {"random", "teacher"}
    closure : {"symmetric", "exact-node"}
        The input/output symmetric closure (Yoshino's), or the closure that keeps every
        hidden node Ising (:mod:`deepspin.deep_perceptron.exact_node`; random data only).
    initial : RSProfile, optional
        A solution at a nearby α with the same L, scenario and closure (continuation):
        its frozen layers and overlaps are the starting point. Without it the frozen set
        grows from the boundaries.
    tol : float, > 0
        Newton stops when every ``|logit T(x) − logit x|`` is below ``tol`` (a relative
        accuracy of q, Q and 1 − Q).
    max_iter : int, ≥ 1
        Total budget of Newton iterations, over all frozen sets (one frozen set gets at
        most 60, and 12 right after a growth step, before its branch is taken to have
        ended). The solver stops, unconverged, when it is spent.
    warn : bool
        Emit a ``RuntimeWarning`` when the solver stops without converging.

    Returns
    -------
    SolverResult
        ``value`` is an :class:`RSProfile`; ``iterations`` counts Newton steps over all
        frozen sets (at most ``max_iter``); ``residual`` is ``max |logit T(x) − logit x|``
        on the final frozen set at the returned profile, the quantity ``tol`` bounds
        (``converged`` is ``residual ≤ tol``), and ``inf`` when a bond is pinned at Q = 1
        (no RS solution with Q < 1); ``info["map_residual"]`` is ``max |T(x) − x|`` in the
        original variables, ``info["growth"]`` holds the growth rates λ_l of the liquid
        layers and ``info["flow_steps"]`` the damped steps of the map taken where a branch
        ended (at most 2000 per jump, not Newton iterations).
    """
    alpha, L, scenario, closure = _check(alpha, L, scenario, closure)
    tol = check_real("tol", tol, 0.0, low_open=True)
    max_iter = check_int("max_iter", max_iter, 1)
    warn = check_bool("warn", warn)
    rule = _CLOSURE_RULES[closure]
    q, Q, qhat = np.ones(L + 1), np.zeros(L), np.zeros(L + 1)
    q[1:-1] = 0.0
    if initial is not None:
        _check_rs_profile("initial", initial)
        if (initial.L, initial.scenario, initial.closure) != (L, scenario, closure):
            raise ValueError(
                f"initial must be a profile with L = {L}, scenario {scenario!r} and "
                f"closure {closure!r}"
            )
        q, Q, qhat = (np.array(v, dtype=float) for v in (initial.q, initial.Q, initial.qhat))
    frozen = q > 0
    total, flow_steps, newton_residual = 0, 0, 0.0
    grown, jumped, settled = np.zeros(L + 1, dtype=bool), False, False
    for _ in range(4 * L + 4):
        if total >= max_iter:
            break  # the budget is spent: the profile is measured as it stands, below
        start = (q.copy(), Q.copy(), qhat.copy())
        bonds = frozen[:-1] & frozen[1:]
        # a bond between frozen layers starts from its equation at the current spins
        fresh = bonds & (Q <= 0)
        if fresh.any():
            Q_start = rule.step(alpha, q, np.where(fresh, 0.0, Q), qhat, scenario)[1]
            Q[fresh] = Q_start[fresh]
        # just after a growth step Newton either converges at once or there is no
        # nearby solution: do not spend the full budget finding out
        first_try = grown.any() and not jumped
        budget = min(max_iter - total, _GROWTH_BUDGET if first_try else _SET_BUDGET)
        q, Q, qhat_new, iterations, newton_residual, melted = _newton(
            alpha, q, Q, qhat, frozen, scenario, closure, tol, budget
        )
        if qhat_new is not None:
            qhat = qhat_new
        total += iterations
        if (first_try and melted.any()) or (newton_residual > tol and not jumped):
            # Newton found no solution near its start, or fell back onto the liquid it
            # was started away from (unstable, λ > 1): the branch it followed has ended
            # (a subcritical onset, or the teacher's jump to q = 1) and the solution is
            # far away. Follow the map's own flow from the start of this step to it
            # (damped iteration; liquid layers are exact zeros of the map)
            # (a bottleneck near the end of the old branch can take many steps)
            q, Q, qhat = start
            for _ in range(_FLOW):
                qn, Qn, qhn = rule.step(alpha, q, Q, qhat, scenario)
                change = max(np.max(np.abs(qn - q)), np.max(np.abs(Qn - Q)))
                q, Q = 0.5 * (q + qn), 0.5 * (Q + Qn)
                qhat = 0.5 * (qhat + qhn) if rule.with_qhat else qhn
                flow_steps += 1
                if change < _FLOW_TOL:
                    break
            jumped = True
            continue
        if melted.any():
            frozen &= ~melted
            q[~frozen] = 0.0
            qhat[~frozen] = 0.0
            Q[~(frozen[:-1] & frozen[1:])] = 0.0
            grown[:] = False
            continue
        lam = np.nan_to_num(growth_rates(alpha, np.where(frozen, q, 0.0), closure), nan=0.0)
        # at λ = 1 the liquid is marginal and the frozen solution is q = 0: growing a
        # layer there only starts a Newton run that creeps down to q = 0
        grow = lam > 1.0 + _MARGINAL
        if not grow.any():
            settled = True
            break
        frozen |= grow
        grown, jumped = grow, False
        q[grow] = np.minimum(0.5, np.maximum(1e-3, lam[grow] - 1.0))
        qhat[grow] = q[grow]
    if not settled:
        # stopped by the budget or after a change of the frozen set (a jump, a growth
        # step, a melted layer): the last Newton residual belongs to another profile, so
        # the residual is measured again at the one returned (no Newton step is taken)
        newton_residual = _newton(alpha, q, Q, qhat, frozen, scenario, closure, tol, 0)[4]
    q_new, Q_new, qhat_new = rule.step(alpha, q, Q, qhat, scenario)
    if not rule.with_qhat:
        qhat = qhat_new
    map_residual = float(max(np.max(np.abs(q_new - q)), np.max(np.abs(Q_new - Q))))
    if rule.with_qhat:
        map_residual = max(map_residual, float(np.max(np.abs(qhat_new - qhat))))
    profile = RSProfile(
        alpha,
        L,
        scenario,
        q,
        Q,
        qhat,
        rule.entropy(alpha, q, Q, qhat, scenario),
        q > 0,
        closure,
    )
    # a bond pinned at the ceiling has Q = 1 to float64: past the RS capacity there is no
    # solution with Q < 1, and the point is reported as not converged (residual ∞)
    pinned = not np.all(Q < expit(_CEILING - 2.0))
    residual = np.inf if pinned else float(newton_residual)
    info = dict(
        growth=growth_rates(alpha, q, closure), map_residual=map_residual, flow_steps=flow_steps
    )
    result = SolverResult.from_residual(profile, residual, tol, total, info)
    if warn:
        label = f"solve_rs(alpha={alpha:g}, L={L}, scenario={scenario!r}, closure={closure!r})"
        warn_if_not_converged(result, label)
    return result


def phase_diagram(alphas, L, scenario="random", progress=False, **solver):
    """RS profiles over a grid of α by continuation (increasing α, warm starts).

    Parameters
    ----------
    alphas : array (n,), entries > 0, n ≥ 1
        The grid of α (sorted here).
    L : int, ≥ 1
        Bond layers.
    scenario : {"random", "teacher"}
    progress : bool
        Show a progress bar.
    **solver
        ``closure``, ``tol`` and ``max_iter``, passed to :func:`solve_rs`.

    Returns
    -------
    dict of arrays
        ``alpha`` (sorted), ``q`` (n, L+1), ``Q`` (n, L), ``qhat`` (n, L+1), ``entropy``,
        ``converged``,
        ``iterations``, ``residual``. Points that did not converge hold NaN overlaps.
    """
    alphas = np.sort(check_array("alphas", alphas, 0.0, low_open=True, ndim=1, allow_empty=False))
    L = check_int("L", L, 1)
    scenario = check_choice("scenario", scenario, SCENARIOS)
    progress = check_bool("progress", progress)
    unknown = sorted(set(solver) - {"closure", "tol", "max_iter"})
    if unknown:
        raise ValueError(
            f"solver options must be among closure, tol and max_iter, got {', '.join(unknown)}"
        )
    _check(alphas[0], L, scenario, solver.get("closure", "symmetric"))
    out = dict(
        alpha=alphas,
        q=np.full((alphas.size, L + 1), np.nan),
        Q=np.full((alphas.size, L), np.nan),
        qhat=np.full((alphas.size, L + 1), np.nan),
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
            out["q"][i], out["Q"][i], out["qhat"][i] = p.q, p.Q, p.qhat
            out["entropy"][i] = p.entropy
            previous = p
    return out


def follow_branch(initial, alphas, progress=False):
    """Follow one RS branch through a sequence of α by continuation, until it ends.

    Where two RS solutions coexist (the exact-node closure's fully frozen and partially
    liquid branches, chapter ``yoshino_rs``), a cold solve lands on one of them; this
    follows the branch of ``initial`` instead, each solve warm-started from the last one.
    The branch has ended at the first α where the solver does not converge or the set of
    frozen layers changes (the iteration fell onto another branch).

    Parameters
    ----------
    initial : RSProfile
        A solution on the branch (its L, scenario and closure are kept).
    alphas : array (n,), entries > 0, n ≥ 1
        The α to visit, in the order given (steps small enough for continuation).
    progress : bool
        Show a progress bar.

    Returns
    -------
    list of RSProfile
        One per α reached, in order; shorter than ``alphas`` when the branch ends.
    """
    if not isinstance(initial, RSProfile):
        raise ValueError(f"initial must be an RSProfile, got {type(initial).__name__}")
    alphas = check_array("alphas", alphas, 0.0, low_open=True, ndim=1, allow_empty=False)
    progress = check_bool("progress", progress)
    branch, previous = [], initial
    for alpha in tqdm(alphas, disable=not progress, desc=f"branch, L = {initial.L}"):
        result = solve_rs(alpha, initial.L, initial.scenario, closure=initial.closure,
                          initial=previous, warn=False)  # fmt: skip
        if not result.converged or not np.array_equal(result.value.frozen, initial.frozen):
            break
        previous = result.value
        branch.append(previous)
    return branch


def _onset_rate(L, scenario, closure):
    """``rate(alpha, layer) = λ_layer(α) − 1`` with the RS solution at α, solved by
    continuation from the largest α solved so far below it (the solutions are cached).

    Returns ``rate`` and the dict α → unconverged :class:`SolverResult` that it fills, so
    the caller can say how many of the solves behind its roots stopped short."""
    rule = _CLOSURE_RULES[closure]
    cache, unconverged = {}, {}

    def rate(alpha, layer):
        if alpha not in cache:
            below = [a for a in cache if a < alpha]
            start = cache[max(below)] if below else None
            result = solve_rs(alpha, L, scenario, closure, initial=start, warn=False)
            if not result.converged and start is not None:
                result = solve_rs(alpha, L, scenario, closure, warn=False)
            if not result.converged:
                unconverged[alpha] = result
            cache[alpha] = result.value
        return rule.drive(alpha, cache[alpha].q)[layer] - 1.0

    return rate, unconverged


def _warn_unconverged(unconverged, name, stacklevel=3):
    """One ``RuntimeWarning`` for the RS solves behind a root search that stopped short."""
    if unconverged:
        alpha, worst = max(unconverged.items(), key=lambda item: item[1].residual)
        warnings.warn(
            f"{name}: {len(unconverged)} RS solve(s) inside the root search stopped "
            f"unconverged (largest residual {worst.residual:.2g} > tol {worst.tol:.2g}, "
            f"at alpha = {alpha:.6g}); the roots rest on those profiles",
            RuntimeWarning,
            stacklevel=stacklevel,
        )


def _root_above(rate, layer, low, xtol):
    """The first root of ``rate(·, layer)`` above ``low`` (rate < 0 at low), by doubling."""
    high = 2.0 * low
    while rate(high, layer) <= 0.0:
        low, high = high, 2.0 * high
    return brentq(rate, low, high, args=(layer,), xtol=xtol * low, rtol=1e-12)


def onsets(L, scenario="random", n_layers=None, closure="symmetric", xtol=1e-10):
    """Onsets α_g(k) of the k-th layer from a boundary, k = 1 … n_layers.

    Every onset is the root of ``λ_k(α) = 1`` with the RS solution at α, found by
    Brent's method. Symmetric closure, eq. (rs-onset): layers counted from the input
    (the profile is symmetric); α_g(1) = π²/4 for L ≥ 3 and π²/8 for L = 2. The other
    boundary's front must not have reached layer k + 1, so ``n_layers ≤ L // 2`` (the
    default); the last one is where the whole network freezes.

    Exact-node closure (random data): only the output side freezes on its own, so layers
    are counted from the output, k = 1 … L−1 (layer L − k), and every onset is a root of
    eq. (rs-node-onset). The last one, k = L − 1, is where the whole network freezes.

    Parameters
    ----------
    L : int, ≥ 2
        Bond layers.
    scenario : {"random", "teacher"}
    n_layers : int or None
        Onsets to locate, in [1, L // 2] (symmetric closure) or [1, L − 1] (exact node);
        ``None``: all of them.
    closure : {"symmetric", "exact-node"}
        ``"exact-node"`` with scenario ``"random"`` only.
    xtol : float, in (0, 0.01]
        Relative accuracy of each onset.

    Returns
    -------
    ndarray (n_layers,)
    """
    L = check_int("L", L, 2)
    _, _, scenario, closure = _check(1.0, L, scenario, closure)
    xtol = check_real("xtol", xtol, 0.0, 1e-2, low_open=True)
    most = L // 2 if closure == "symmetric" else L - 1
    n_layers = most if n_layers is None else check_int("n_layers", n_layers, 1, most)
    rate, unconverged = _onset_rate(L, scenario, closure)
    found = []
    for k in range(1, n_layers + 1):
        layer = k if closure == "symmetric" else L - k
        low = found[-1] * (1.0 - 1e-6) if found else 0.1  # the layer before still liquid
        found.append(_root_above(rate, layer, low, xtol))
    _warn_unconverged(unconverged, "onsets")
    return np.array(found)


def freezing_by_depth(max_depth, scenario="random", xtol=1e-10):
    """α at which a network of depth L freezes right through, L = 2 … max_depth
    (symmetric closure), with the one-sided onsets α_g(k) it is built from.

    Liquid layers are exact zeros of eq. (rs-saddle), so a front's profile depends only
    on its own frozen layers, and two fronts separated by a liquid layer do not interact.
    An odd network, L = 2m + 1, therefore freezes right through at the one-sided onset
    α_g(m); an even one, L = 2m, when the centre layer, driven by both fronts, reaches
    ``λ_m = 2 α(2/π)² q_{m−1}² = 1``, i.e. where one front alone drives layer m at
    λ = ½. Both are roots on a single network of depth ``2⌈max_depth/2⌉ + 2``, whose fronts
    never meet.

    Parameters
    ----------
    max_depth : int, ≥ 2
        The deepest network.
    scenario : {"random", "teacher"}
    xtol : float, in (0, 0.01]
        Relative accuracy of each α.

    Returns
    -------
    dict
        ``depth`` (L = 2 … max_depth), ``alpha`` (the α that freezes depth L right
        through), ``onsets`` (α_g(k), k = 1 … ⌈max_depth/2⌉).
    """
    max_depth = check_int("max_depth", max_depth, 2)
    scenario = check_choice("scenario", scenario, SCENARIOS)
    xtol = check_real("xtol", xtol, 0.0, 1e-2, low_open=True)
    n_front = (max_depth + 1) // 2
    rate, unconverged = _onset_rate(2 * n_front + 2, scenario, "symmetric")

    def half_rate(alpha, layer):
        return rate(alpha, layer) + 0.5

    onset, half = [], []
    for k in range(1, n_front + 1):
        low = onset[-1] * (1.0 + 1e-9) if onset else 0.1
        onset.append(_root_above(rate, k, low, xtol))
        half.append(brentq(half_rate, low, onset[-1], args=(k,), xtol=xtol * low, rtol=1e-12))
    _warn_unconverged(unconverged, "freezing_by_depth")
    depth = np.arange(2, max_depth + 1)
    alpha = np.array([half[L // 2 - 1] if L % 2 == 0 else onset[L // 2 - 1] for L in depth])
    return {"depth": depth, "alpha": alpha, "onsets": np.array(onset)}


def generalisation_error(Q):
    """Test error of a student whose bond layers overlap the teacher's by Q_1 … Q_L.

    A new input propagates through both networks; with independent-looking weights the
    spin overlap obeys the law of sign units (eq. forward-law),
    ``ρ_l = (2/π) arcsin(Q_l ρ_{l−1})``, ρ_0 = 1, and the outputs disagree with
    probability ``arccos(Q_L ρ_{L−1})/π``.

    Parameters
    ----------
    Q : array (L,), entries in [-1, 1], L ≥ 1
        Student–teacher bond overlaps.
    """
    Q = check_array("Q", Q, -1.0, 1.0, ndim=1, allow_empty=False)
    rho = forward_overlaps(Q[:-1])[-1]
    return float(np.arccos(Q[-1] * rho) / np.pi)
