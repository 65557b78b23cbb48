"""k-step replica symmetry breaking in Yoshino's deep perceptron (chapter ``yoshino_rsb``).

The free entropy, its gradient and Hessian are in
:mod:`deepspin.deep_perceptron.rsb_functional` (eq. rsb-free-entropy). Its stationary points
are found by Newton's method on the gradient, over every frozen layer's levels and the
shared breakpoints at once, started from the replica-symmetric solution (or from a
(k−1)-step one) split along its most unstable replicon mode. The liquid layers of the RS
solution stay liquid: a liquid layer is an exact stationary point of every level, and its
stability is the RS growth rate of :func:`deepspin.deep_perceptron.growth_rates`.

A k-step function whose levels coincide somewhere is a (k−1)-step one, a stationary point
for every value of the breakpoint between them: Newton started near one may fall onto it.
The solver therefore deflates them (Farrell, Birkisson & Funke 2015): it finds the zeros
of ``M(x) ∇Φ(x)``, ``M = 1 + Σ_j 1/d_j²``, d_j the distance between the levels j − 1 and j
over all layers' q and Q, which are those of ∇Φ away from the degenerate set. When there
is no other zero, the iteration drifts onto the degenerate set (some d_j → 0) and the
solver reports that the k-step solution has collapsed (``info["collapsed"]``): one level
fewer describes the solution.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
from tqdm import tqdm

from deepspin.checks import check_array, check_bool, check_int, check_int_array, check_real
from deepspin.deep_perceptron.replicon import spin_replicon
from deepspin.deep_perceptron.rs import RSProfile, solve_rs
from deepspin.deep_perceptron.rsb_functional import Layout, evaluate, layer_terms
from deepspin.deep_perceptron.rsb_reduced import JAMMED, T_MAX, Reduced
from deepspin.hierarchy import check_steps
from deepspin.optimize import projected_newton
from deepspin.results import SolverResult, warn_if_not_converged

__all__ = [
    "RSBProfile",
    "levels_fall_inwards",
    "rsb_free_entropy",
    "rsb_levels",
    "rsb_phase_diagram",
    "rsb_stationarity",
    "rsb_steps",
    "solve_rsb",
]

_COLLAPSE = 1e-7  # level gaps (all layers together) below this: the step has closed
_M_EDGE = 1e-7  # breakpoints stay inside (0, 1)
_CONTINUATION = 3.0  # rsb_phase_diagram warm-starts from a solution at α/3 or closer


@dataclass
class RSBProfile:
    """A k-step RSB solution of the symmetric closure (random data).

    Attributes
    ----------
    alpha, L, k :
        The parameters.
    q : ndarray (L+1, k+1)
        Spin levels q_j(l), rows 0 and L clamped at 1.
    Q : ndarray (L, k+1)
        Bond levels Q_j(l), row l−1 for the bond layer between spin layers l−1 and l.
    qhat : ndarray (L+1, k+1)
        Conjugate levels q̂_j(l), zero at the clamped ends.
    m : ndarray (k,)
        Breakpoints, shared by all layers.
    entropy : float
        Free entropy per constraint, eq. (rsb-free-entropy).
    terms : dict
        The entropy layer by layer: ``bond`` (L,), ``spin`` (L+1,), ``gap`` (L,).
    frozen : ndarray of bool (L+1,)
        The spin layers that are not liquid (the RS solution's frozen set).
    """

    alpha: float
    L: int
    k: int
    q: np.ndarray
    Q: np.ndarray
    qhat: np.ndarray
    m: np.ndarray
    entropy: float
    terms: dict
    frozen: np.ndarray


def check_cascade_grid(n_grid, n_side):
    """Validated (n_grid, n_side) of a cascade: n_grid odd in [9, 4097], n_side in [2, 512]."""
    n_grid = check_int("n_grid", n_grid, 9, 4097)
    if n_grid % 2 == 0:
        raise ValueError(f"n_grid must be odd (h = 0 on the grid), got {n_grid}")
    return n_grid, check_int("n_side", n_side, 2, 512)


def rsb_free_entropy(alpha, q, Q, qhat, m, n_grid=129, n_side=24):
    """The k-step RSB free entropy per constraint, eq. (rsb-free-entropy), at given levels.

    Parameters
    ----------
    alpha : float, > 0
        Constraints per weight.
    q : array (L+1, k+1), rows non-decreasing in [0, 1], L ≥ 1
        Spin levels; rows 0 and L must be 1 (clamped ends).
    Q : array (L, k+1), rows non-decreasing in [0, 1)
        Bond levels.
    qhat : array (L+1, k+1), rows non-decreasing, ≥ 0
        Conjugate levels; rows 0 and L are ignored.
    m : array (k,), strictly increasing in (0, 1)
        Breakpoints.
    n_grid : int, odd, in [9, 4097]
        Grid points of each cascade level.
    n_side : int, in [2, 512]
        Gauss–Legendre nodes on each side of a cascade integral's bend.

    Returns
    -------
    float
    """
    alpha = check_real("alpha", alpha, 0.0, low_open=True)
    q, Q, qhat, m = _check_levels(q, Q, qhat, m)
    grid = check_cascade_grid(n_grid, n_side)
    terms = layer_terms(alpha, q, Q, qhat, m, grid)
    return float(sum(np.sum(v) for v in terms.values()))


def _check_levels(q, Q, qhat, m):
    q = check_array("q", q, 0.0, 1.0, ndim=2)
    Q = check_array("Q", Q, 0.0, 1.0, high_open=True, ndim=2)
    qhat = check_array("qhat", qhat, 0.0, ndim=2)
    m = check_array("m", m, 0.0, 1.0, low_open=True, high_open=True, ndim=1)
    L, k1 = Q.shape
    shapes = (q.shape, Q.shape, qhat.shape)
    if L < 1 or k1 != m.size + 1 or shapes != ((L + 1, k1), (L, k1), (L + 1, k1)):
        raise ValueError(
            "q, Q, qhat and m must have shapes (L+1, k+1), (L, k+1), (L+1, k+1) and (k,) "
            f"with L ≥ 1, got {q.shape}, {Q.shape}, {qhat.shape} and {m.shape}"
        )
    if np.any(np.diff(m) <= 0):
        raise ValueError(f"m must be strictly increasing in (0, 1), got {m}")
    for name, array in (("q", q), ("Q", Q), ("qhat", qhat)):
        if np.any(np.diff(array, axis=1) < 0):
            raise ValueError(f"{name} must be non-decreasing along each row (its levels)")
    if not (np.all(q[0] == 1.0) and np.all(q[-1] == 1.0)):
        raise ValueError(f"q rows 0 and L must be 1 (clamped ends), got {q[0]} and {q[-1]}")
    return q, Q, qhat, m


def split_rs(rs, spread):
    """The 1RSB start of :func:`solve_rsb` from an RS profile: every frozen overlap v split
    into ``v − (1 − m) δ, v + m δ``, m = 0.3, with δ = spread · min(v, 1 − v) (the sign of
    the lowest replicon mode, whose components all share one sign); q̂ by δq / χ.

    Returns q, Q, q̂ (each with two levels per row) and m (1,). Internal (not checked);
    public for the benchmark, which starts its baseline from the same point."""
    m = 0.3
    delta_q = spread * np.minimum(rs.q, 1.0 - rs.q)
    delta_q[[0, -1]] = 0.0
    delta_Q = spread * np.minimum(rs.Q, 1.0 - rs.Q)
    chi = np.ones_like(rs.q)
    if rs.L > 1:
        chi[1:-1] = spin_replicon(rs.qhat[1:-1])
    delta_h = delta_q / chi
    levels = np.array([-(1.0 - m), m])

    def split(v, d):
        return v[:, None] + d[:, None] * levels[None, :]

    return split(rs.q, delta_q), split(rs.Q, delta_Q), split(rs.qhat, delta_h), np.array([m])


def _split_step(profile, spread):
    """A (k+1)-step start from a k-step profile: the widest x-interval [m_j, m_{j+1}] is cut
    at its middle and its level split into two, ``spread`` of the way to its neighbours."""
    m = np.concatenate(([0.0], profile.m, [1.0]))
    j = int(np.argmax(np.diff(m)))
    new_m = np.insert(profile.m, j, 0.5 * (m[j] + m[j + 1]))

    def split(levels, top):
        below = np.concatenate((levels[:, :1] * 0.0, levels[:, :-1]), axis=1)[:, j]
        top = np.broadcast_to(top, levels.shape[:1])[:, None]
        above = np.concatenate((levels[:, 1:], top), axis=1)[:, j]
        centre = levels[:, j]
        low = centre - spread * 0.5 * (centre - below)
        high = centre + spread * 0.5 * (above - centre)
        out = np.insert(levels, j, low, axis=1)
        out[:, j + 1] = high
        return out

    q = split(profile.q, 1.0)
    q[[0, -1]] = 1.0
    qhat = split(profile.qhat, 2.0 * profile.qhat[:, -1])  # q̂ has no top: twice the last
    qhat[[0, -1]] = 0.0
    return q, split(profile.Q, 1.0), qhat, new_m


def solve_rsb(alpha, L, k=1, breakpoints=None, initial=None, spread=0.05, tol=1e-6,
              max_iter=100, max_step=0.1, n_grid=129, n_side=24, warn=True):  # fmt: skip
    """The k-step RSB solution of the symmetric closure (random data): the minimum of Φ̃
    (eq. rsb-reduced) over every frozen layer's levels and, unless given, the breakpoints.

    With the breakpoints free, their stationarity ∂Φ/∂m_j = 0 is the vanishing of the
    complexity ``Σ(m) = −m² ∂Φ/∂m`` of the states at that level (Monasson 1995). The
    liquid layers of the RS solution stay liquid (exact zeros of every level).

    Parameters
    ----------
    alpha : float, > 0
        Constraints per weight.
    L : int, ≥ 1
        Bond layers.
    k : int, in [0, 4]
        Steps of RSB (k = 0: the RS solution, through the same functional).
    breakpoints : array (k,), increasing in (0, 1), optional
        Hold the breakpoints m_1 … m_k fixed (the fixed-m problem); default: free.
    initial : RSBProfile or RSProfile, optional
        A k-step profile at a nearby α or with nearby breakpoints (continuation), a
        (k−1)-step one (its widest x-interval is split), or an RS one. Default: the RS
        solution at α, split one step at a time up to k.
    spread : float, in (0, 1)
        How far apart a split puts the two new levels (relative).
    tol : float, > 0
        Stop when the projected gradient of Φ̃ (in the solver's coordinates) is below tol.
    max_iter : int, ≥ 1
        Newton steps (for each step of RSB added on the way up to k).
    max_step : float, > 0
        Largest change of a coordinate in one step (a trust region that keeps the
        iteration on its branch).
    n_grid : int, odd, in [9, 4097]
        Grid points of each cascade level.
    n_side : int, in [2, 512]
        Gauss–Legendre nodes per panel of a cascade integral.
    warn : bool
        Emit a ``RuntimeWarning`` when the solver stops unconverged.

    Returns
    -------
    SolverResult
        ``value`` is an :class:`RSBProfile`; ``residual`` the projected gradient. ``info``:
        ``complexity`` (Σ_j = −m_j² ∂Φ/∂m_j, one per breakpoint), ``gaps`` (the rms
        distance between consecutive levels over the free q and Q), ``collapsed`` (a gap
        below 1e-7: fewer distinct levels describe the solution), ``jammed`` (a spin level
        passed 1 − 1e-4: the states are freezing their hidden spins, the iteration runs
        towards q_k → 1, Q_k → 1, where Φ̃ is unbounded below, and there is no 1RSB
        minimum with finite states), ``rs_entropy`` (the RS free entropy at α).
    """
    alpha = check_real("alpha", alpha, 0.0, low_open=True)
    L = check_int("L", L, 1)
    k = check_int("k", k, 0, 4)
    if breakpoints is not None:
        breakpoints = check_steps(np.zeros(k + 1), breakpoints, names=("levels", "breakpoints"))[1]
    spread = check_real("spread", spread, 0.0, 1.0, low_open=True, high_open=True)
    tol = check_real("tol", tol, 0.0, low_open=True)
    max_iter = check_int("max_iter", max_iter, 1)
    max_step = check_real("max_step", max_step, 0.0, low_open=True)
    grid = check_cascade_grid(n_grid, n_side)
    warn = check_bool("warn", warn)
    options = dict(spread=spread, tol=tol, max_iter=max_iter, max_step=max_step, grid=grid)
    result = _solve(alpha, L, k, breakpoints, initial, options)
    if warn:
        warn_if_not_converged(result, f"solve_rsb(alpha={alpha:g}, L={L}, k={k})")
    return result


def _solve(alpha, L, k, breakpoints, initial, options):
    rs, start = _start(alpha, L, k, initial, breakpoints, options)
    if isinstance(start, RSBProfile):  # climb one step at a time from a (k−1)-step profile
        fixed = None if breakpoints is None else breakpoints[: start.k + 1]
        lower = _solve(alpha, L, start.k + 1, fixed, start, options)
        return lower if start.k + 1 == k else _solve(alpha, L, k, breakpoints, lower.value,
                                                     options)  # fmt: skip
    q, Q, qhat, m = (np.array(v, dtype=float) for v in start)
    frozen = rs.q > 0
    # liquid layers are exact zeros of every level (a split must not move them)
    q[~frozen], qhat[~frozen], Q[~(frozen[:-1] & frozen[1:])] = 0.0, 0.0, 0.0
    layout = Layout(L, k)
    reduced = Reduced(alpha, layout, frozen, layout.pack(q, Q, qhat, m), options["grid"],
                      free_m=breakpoints is None)  # fmt: skip
    iterations, residual = 0, 0.0
    if k > 0:
        y0 = reduced.y_of(reduced.x)
        lower = np.zeros(y0.size)
        lower[reduced.n_rows :] = _M_EDGE
        y0 = np.clip(y0, lower, T_MAX)
        if np.isfinite(reduced.fun(y0)[0]):
            y, _, iterations, residual = projected_newton(
                reduced.fun, reduced.hess, y0, lower, T_MAX, options["max_iter"],
                options["tol"], options["max_step"],
            )  # fmt: skip
            reduced.fun(y)
        else:  # no finite conjugate fields at the start (a coarse grid, a wide split)
            residual = np.inf
    x = reduced.x
    q, Q, qhat, m = layout.unpack(x)
    terms = layer_terms(alpha, q, Q, qhat, m, options["grid"])
    entropy = float(sum(np.sum(v) for v in terms.values()))
    profile = RSBProfile(alpha, L, k, q, Q, qhat, m, entropy, terms, frozen.copy())
    gradient = evaluate(alpha, layout, x, grid=options["grid"])[1]
    rows = reduced.rows
    gaps = np.sqrt(np.mean(np.diff(x[rows], axis=1) ** 2, axis=0)) if rows.size else np.zeros(k)
    spins = x[reduced.spins]
    info = dict(
        complexity=-(m**2) * gradient[layout.indices()[3]],
        gaps=gaps,
        collapsed=bool(k > 0 and np.min(gaps, initial=np.inf) < _COLLAPSE),
        jammed=bool(spins.size and np.max(spins) > JAMMED),
        rs_entropy=rs.entropy,
    )
    return SolverResult.from_residual(profile, residual, options["tol"], iterations, info)


def _start(alpha, L, k, initial, breakpoints, options):
    """The RS profile at α and the start of :func:`_solve`: levels, or a (k−1)-step
    profile to climb from."""
    if isinstance(initial, RSBProfile):
        if initial.L != L or initial.k > k:
            raise ValueError(f"initial must be a profile with L = {L} and at most k = {k} steps, "
                             f"got L = {initial.L}, k = {initial.k}")  # fmt: skip
        rs = solve_rs(alpha, L, warn=False).value
        if initial.k == k:
            m = initial.m if breakpoints is None else breakpoints
            return rs, (initial.q, initial.Q, initial.qhat, m)
        if initial.k == k - 1:
            q, Q, qhat, m = _split_step(initial, options["spread"])
            return rs, (q, Q, qhat, m if breakpoints is None else breakpoints)
        return rs, initial
    if initial is not None and not isinstance(initial, RSProfile):
        raise ValueError("initial must be an RSProfile or an RSBProfile, got "
                         f"{type(initial).__name__}")  # fmt: skip
    if initial is not None and (initial.L, initial.scenario, initial.closure) != (
        L,
        "random",
        "symmetric",
    ):
        raise ValueError(f"initial must be an RS profile of the symmetric closure, random data, "
                         f"L = {L}")  # fmt: skip
    rs = initial if initial is not None and initial.alpha == alpha else None
    if rs is None:
        rs = solve_rs(alpha, L, initial=initial, warn=False).value
    if k == 0:
        return rs, (rs.q[:, None], rs.Q[:, None], rs.qhat[:, None], np.zeros(0))
    q, Q, qhat, m = split_rs(rs, options["spread"])
    if breakpoints is not None:
        m = breakpoints[:1]
    if k == 1:
        return rs, (q, Q, qhat, m)
    one = _solve(alpha, L, 1, None if breakpoints is None else breakpoints[:1], rs, options)
    return rs, one.value


def rsb_stationarity(profile, eps=1e-5, floor=1e-3):
    """The largest derivative of Φ, eq. (rsb-free-entropy), at a profile, by central
    differences of :func:`rsb_free_entropy` (independent of the solver's analytic gradient).

    A solution is a saddle point of Φ in every free level (hidden q, Q, q̂) and, with free
    breakpoints, in m: each derivative vanishes there. Levels at or below ``floor`` (liquid
    layers, a lowest level at 0) sit on a bound and are skipped; so are the clamped ends.

    Parameters
    ----------
    profile : RSBProfile
    eps : float, in (0, 1e-2]
        The difference step.
    floor : float, in [0, 1)
        Levels at or below it are not moved, nor levels within ``eps`` of a neighbour
        (a closed step) or of 1.

    Returns
    -------
    dict
        ``q``, ``Q``, ``qhat``, ``m``: the largest |∂Φ/∂·| of each kind (0 where none is
        free); ``max``: the largest of them.
    """
    if not isinstance(profile, RSBProfile):
        raise ValueError(f"profile must be an RSBProfile, got {type(profile).__name__}")
    eps = check_real("eps", eps, 0.0, 1e-2, low_open=True)
    floor = check_real("floor", floor, 0.0, 1.0, high_open=True)
    p = profile
    levels = {"q": p.q, "Q": p.Q, "qhat": p.qhat, "m": p.m}

    def entropy(moved):
        return rsb_free_entropy(p.alpha, moved["q"], moved["Q"], moved["qhat"], moved["m"])

    largest = {}
    for name, array in levels.items():
        largest[name] = 0.0
        for index in np.ndindex(array.shape):
            clamped = name in ("q", "qhat") and index[0] in (0, p.L)
            row, j = array[index[:-1]], index[-1]
            below = row[j - 1] if j > 0 else -np.inf
            above = row[j + 1] if j + 1 < row.size else (np.inf if name == "qhat" else 1.0)
            # a move must keep the levels ordered and inside their range
            if clamped or row[j] <= floor or row[j] - eps <= below or row[j] + eps >= above:
                continue
            values = []
            for sign in (1.0, -1.0):
                moved = {key: value.copy() for key, value in levels.items()}
                moved[name][index] += sign * eps
                values.append(entropy(moved))
            largest[name] = max(largest[name], abs(values[0] - values[1]) / (2.0 * eps))
    largest["max"] = max(largest.values())
    return largest


def rsb_steps(alpha, L, k_max, threshold=1e-3, progress=False, **solver):
    """Solve k = 1 … ``k_max`` steps of RSB at one α, each warm-started from the one before,
    and count each layer's levels (:func:`rsb_levels`).

    A level counted at k is *confirmed* when it is still there at k + 1 (the count at k + 1
    is at least the count at k); the last k cannot be confirmed.

    Parameters
    ----------
    alpha : float, > 0
    L : int, ≥ 1
    k_max : int, in [1, 4]
    threshold : float, > 0
        The gap a step must open to count as a level.
    progress : bool
        Show a progress bar over k.
    **solver
        ``tol``, ``max_iter``, ``max_step``, ``spread``, ``n_grid``, ``n_side`` of
        :func:`solve_rsb`.

    Returns
    -------
    dict
        ``profiles`` {k: RSBProfile}; ``entropy`` (k_max + 1,), Φ_k from k = 0 (RS);
        ``gain_by_step`` (k_max,), Φ_k − Φ_{k−1}; ``levels`` {k: (L+1,) spin levels};
        ``confirmed`` {k: (L+1,)} for k < k_max, min(levels_k, levels_{k+1});
        ``converged`` {k: bool}; ``seconds`` {k: float}.
    """
    alpha = check_real("alpha", alpha, 0.0, low_open=True)
    L = check_int("L", L, 1)
    k_max = check_int("k_max", k_max, 1, 4)
    threshold = check_real("threshold", threshold, 0.0, low_open=True)
    progress = check_bool("progress", progress)
    unknown = sorted(set(solver) - {"tol", "max_iter", "max_step", "spread", "n_grid", "n_side"})
    if unknown:
        raise ValueError(f"solver options must be those of solve_rsb, got {', '.join(unknown)}")
    profiles, converged, seconds, previous = {}, {}, {}, None
    for k in tqdm(range(1, k_max + 1), disable=not progress, desc=f"RSB steps at α = {alpha:g}"):
        start = time.perf_counter()
        result = solve_rsb(alpha, L, k, initial=previous, **solver)
        seconds[k] = time.perf_counter() - start
        previous = profiles[k] = result.value
        converged[k] = result.converged
    entropy = np.array([result.info["rs_entropy"]] + [p.entropy for p in profiles.values()])
    levels = {k: rsb_levels(p, threshold)["spins"] for k, p in profiles.items()}
    confirmed = {k: np.minimum(levels[k], levels[k + 1]) for k in range(1, k_max)}
    return {
        "profiles": profiles,
        "entropy": entropy,
        "gain_by_step": np.diff(entropy),
        "levels": levels,
        "confirmed": confirmed,
        "converged": converged,
        "seconds": seconds,
    }


def rsb_levels(profile, threshold=1e-3):
    """How many distinct levels each layer's Parisi functions use (eq. rsb-levels).

    A step of layer l counts when the gap it opens in q(x, l) or in Q(x, l) exceeds
    ``threshold``; a liquid layer has 0 levels, a replica-symmetric one 1.

    Parameters
    ----------
    profile : RSBProfile
    threshold : float, > 0

    Returns
    -------
    dict
        ``spins`` (L+1,) for the spin layers (the clamped ends 0), ``bonds`` (L,).
    """
    if not isinstance(profile, RSBProfile):
        raise ValueError(f"profile must be an RSBProfile, got {type(profile).__name__}")
    threshold = check_real("threshold", threshold, 0.0, low_open=True)

    def count(levels):
        opened = np.sum(np.diff(levels, axis=1) > threshold, axis=1) + 1
        return np.where(levels[:, -1] > 0, opened, 0)

    spins = count(profile.q)
    spins[[0, -1]] = 0
    return {"spins": spins, "bonds": count(profile.Q)}


def levels_fall_inwards(spin_levels):
    """Whether the level counts fall from both boundaries to the centre (Yoshino 2020's claim).

    True when, read from either end inwards over the hidden layers 1 … ⌊L/2⌋ (and their
    mirror images L − 1 … ⌈L/2⌉), the counts never rise and the layer next to the boundary
    has strictly more levels than the central one.

    Parameters
    ----------
    spin_levels : array of int (L+1,), L ≥ 2
        ``rsb_levels(profile)["spins"]``, the clamped ends included (they are skipped).

    Returns
    -------
    bool
    """
    counts = check_int_array("spin_levels", spin_levels, 0, ndim=1)
    if len(counts) < 3:
        raise ValueError(f"spin_levels must hold L + 1 ≥ 3 counts, got {len(counts)}")
    half = (len(counts) - 1) // 2
    falls = True
    for side in (counts, counts[::-1]):
        row = side[1 : half + 1]
        falls &= bool(np.all(np.diff(row) <= 0) and row[0] > row[-1])
    return falls


def rsb_phase_diagram(alphas, L, k=1, progress=False, **solver):
    """k-step RSB solutions over a grid of α by continuation (increasing α, warm starts).

    A point starts from the previous converged solution when that lies within a factor
    ``_CONTINUATION`` in α; from further away the trust region makes the walk slower than a
    fresh start from the split RS solution (L = 10, k = 1: 80 s for α = 10 → 200, against
    10 s fresh), so the point starts fresh.

    Parameters
    ----------
    alphas : array (n,), entries > 0, n ≥ 1
        The grid (sorted here).
    L : int, ≥ 1
        Bond layers.
    k : int, in [1, 4]
        Steps of RSB.
    progress : bool
        Show a progress bar.
    **solver
        ``tol``, ``max_iter``, ``max_step``, ``spread``, ``n_grid``, ``n_side`` of
        :func:`solve_rsb`.

    Returns
    -------
    dict of arrays
        ``alpha``, ``gain`` (Φ_k − Φ_RS), ``m`` (n, k), ``q`` (n, L+1, k+1), ``Q`` (n, L, k+1),
        ``converged``, ``collapsed``, ``jammed``; NaN where a point did not converge.
    """
    alphas = np.sort(check_array("alphas", alphas, 0.0, low_open=True, ndim=1, allow_empty=False))
    L = check_int("L", L, 1)
    k = check_int("k", k, 1, 4)
    progress = check_bool("progress", progress)
    unknown = sorted(set(solver) - {"tol", "max_iter", "max_step", "spread", "n_grid", "n_side"})
    if unknown:
        raise ValueError(f"solver options must be those of solve_rsb, got {', '.join(unknown)}")
    n = alphas.size
    out = dict(
        alpha=alphas, gain=np.full(n, np.nan), m=np.full((n, k), np.nan),
        q=np.full((n, L + 1, k + 1), np.nan), Q=np.full((n, L, k + 1), np.nan),
        converged=np.zeros(n, bool), collapsed=np.zeros(n, bool), jammed=np.zeros(n, bool),
    )  # fmt: skip
    previous = None
    for i, alpha in enumerate(tqdm(alphas, disable=not progress, desc=f"{k}RSB, L = {L}")):
        near = previous is not None and alpha <= _CONTINUATION * previous.alpha
        start = previous if near else None
        result = solve_rsb(alpha, L, k, initial=start, warn=False, **solver)
        if not result.converged and start is not None:
            result = solve_rsb(alpha, L, k, warn=False, **solver)
        out["converged"][i] = result.converged
        out["collapsed"][i] = result.info["collapsed"]
        out["jammed"][i] = result.info["jammed"]
        if result.converged:
            p = result.value
            out["gain"][i] = p.entropy - result.info["rs_entropy"]
            out["m"][i], out["q"][i], out["Q"][i] = p.m, p.q, p.Q
            previous = p
        warn_if_not_converged(result, f"rsb_phase_diagram: solve_rsb(alpha={alpha:g}, L={L})")
    return out
