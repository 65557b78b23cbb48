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

from dataclasses import dataclass

import numpy as np

from deepspin.checks import check_bool, check_int, check_real
from deepspin.deep_perceptron.rs import RSProfile, solve_rs
from deepspin.deep_perceptron.rsb_functional import (
    Layout,
    conjugate_fields,
    evaluate,
    layer_terms,
)
from deepspin.hierarchy import check_steps
from deepspin.optimize import projected_newton
from deepspin.results import SolverResult, warn_if_not_converged

__all__ = ["RSBProfile", "rsb_free_entropy", "solve_rsb"]

_COLLAPSE = 1e-7  # level gaps (all layers together) below this: the step has closed
_TOP = 1.0 - 1e-12  # overlaps stay below 1
_T_MAX = 40.0  # increments of −ln(1 − level): 1 − q ≥ e^{−40}
_M_EDGE = 1e-7  # breakpoints stay inside (0, 1)
_SPIN_TOP = 1.0 - 1e-9  # a spin level above it would need q̂ beyond 1e9
_FIELD_TOL = 1e-9  # the inner maximisation over q̂ must reach this gradient


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


def _check_grid(n_grid, n_side):
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
    grid = _check_grid(n_grid, n_side)
    terms = layer_terms(alpha, q, Q, qhat, m, grid)
    return float(sum(np.sum(v) for v in terms.values()))


def _check_levels(q, Q, qhat, m):
    q = np.array(q, dtype=float, ndmin=2)
    Q = np.array(Q, dtype=float, ndmin=2)
    qhat = np.array(qhat, dtype=float, ndmin=2)
    if Q.ndim != 2 or Q.shape[0] < 1:
        raise ValueError(f"Q must be an array (L, k+1) with L ≥ 1, got shape {Q.shape}")
    L, k1 = Q.shape
    for name, array, rows in (("q", q, L + 1), ("qhat", qhat, L + 1)):
        if array.shape != (rows, k1):
            raise ValueError(f"{name} must have shape ({rows}, {k1}), got {array.shape}")
    for l in range(L):
        Q[l], m = check_steps(Q[l], m, high=1.0, names=("Q", "m"))
    for l in range(L + 1):
        q[l], _ = check_steps(q[l], m, high=1.0, high_open=False, names=("q", "m"))
        if l in (0, L) and not np.all(q[l] == 1.0):
            raise ValueError(f"q rows 0 and L must be 1 (clamped ends), got row {l} = {q[l]}")
        qhat[l], _ = check_steps(qhat[l], m, high=np.inf, names=("qhat", "m"))
    return q, Q, qhat, m


def _free_rows(layout, frozen):
    """Index rows (levels 0 … k) of the free functions: q and Q of the frozen layers, and
    q̂ of the frozen hidden layers."""
    iq, iQ, ih, _ = layout.indices()
    hidden = np.flatnonzero(frozen[1:-1]) + 1
    bonds = np.flatnonzero(frozen[:-1] & frozen[1:])
    k1 = layout.k + 1
    overlaps = np.vstack([iq[hidden], iQ[bonds]]).reshape(-1, k1)
    return overlaps, iq[hidden].reshape(-1, k1), ih[hidden].reshape(-1, k1)


def _levels(t):
    """Levels ``1 − exp(−Σ_{i≤j} t_i)`` along the last axis (t ≥ 0 keeps them ordered in
    [0, 1) and resolves 1 − q down to e^{−40}), their Jacobian (…, j, i) and second
    derivatives (…, j, i, i')."""
    rest = np.exp(-np.cumsum(t, axis=-1))
    n = t.shape[-1]
    lower = np.tril(np.ones((n, n)))
    jac = rest[..., :, None] * lower
    second = -jac[..., :, :, None] * lower[:, None, :]
    return 1.0 - rest, jac, second


def _increments(levels):
    """The t of :func:`_levels` for non-decreasing levels in [0, 1)."""
    return np.diff(-np.log1p(-np.asarray(levels, dtype=float)), axis=-1, prepend=0.0)


class _Reduced:
    """Φ̃(y) = max over q̂ of Φ (eq. rsb-reduced), y the increments (:func:`_levels`) of the
    free q and Q functions and, when ``free_m``, of the breakpoints."""

    def __init__(self, alpha, layout, frozen, x, grid, free_m=True):
        self.alpha, self.layout, self.grid = alpha, layout, grid
        self.rows, self.spins, self.hats = _free_rows(layout, frozen)
        im = layout.indices()[3]
        self.im = im if free_m else im[:0]
        self.x = np.array(x, dtype=float)
        self.n_rows = self.rows.size

    def y_of(self, x):
        return np.concatenate([_increments(x[self.rows]).ravel(), _increments(x[self.im])])

    def _x(self, y):
        x = self.x.copy()
        levels = _levels(y[: self.n_rows].reshape(self.rows.shape))
        breaks = _levels(y[self.n_rows :])
        x[self.rows] = levels[0]
        x[self.im] = breaks[0]
        return x, levels, breaks

    def _fields(self, x):
        """x with the q̂ that maximise Φ at its q; None where they do not exist (a spin
        level at 1 needs q̂ = ∞) or the inner Newton fails."""
        if self.hats.size:
            if np.max(x[self.spins]) > _SPIN_TOP:
                return None
            m = x[self.layout.indices()[3]]
            fields, residual = conjugate_fields(x[self.spins], x[self.hats], m, self.grid)
            if not (np.all(np.isfinite(fields)) and residual <= _FIELD_TOL):
                return None
            x[self.hats] = fields
        return x

    def _chain(self, g_x, levels, breaks):
        g_rows = np.einsum("fj,fji->fi", g_x[self.rows], levels[1])
        g_m = g_x[self.im] @ breaks[1] if self.im.size else np.zeros(0)
        return np.concatenate([g_rows.ravel(), g_m])

    def fun(self, y):
        x, levels, breaks = self._x(y)
        x = self._fields(x)
        if x is None:  # outside the domain of Φ̃: the line search steps back
            return np.inf, np.zeros(y.size)
        value, g_x, _ = evaluate(self.alpha, self.layout, x, grid=self.grid)
        self.x = x
        return value, self._chain(g_x, levels, breaks)

    def hess(self, y):
        x, levels, breaks = self._x(y)
        _, g_x, H = evaluate(self.alpha, self.layout, x, hessian=True, grid=self.grid)
        y_idx = np.concatenate([self.rows.ravel(), self.im])
        h_idx = self.hats.ravel()
        S = H[np.ix_(y_idx, y_idx)]
        if h_idx.size:
            S = S - H[np.ix_(y_idx, h_idx)] @ np.linalg.solve(
                H[np.ix_(h_idx, h_idx)], H[np.ix_(h_idx, y_idx)]
            )
        k1 = self.layout.k + 1
        blocks = [levels[1][f] for f in range(self.rows.shape[0])]
        if self.im.size:
            blocks.append(breaks[1])
        J = _block_diag(blocks)
        out = J.T @ S @ J
        # the map's own curvature, weighted by the gradient
        n = 0
        for f in range(self.rows.shape[0]):
            out[n : n + k1, n : n + k1] += np.einsum("j,jab->ab", g_x[self.rows[f]],
                                                     levels[2][f])  # fmt: skip
            n += k1
        if self.im.size:
            out[n:, n:] += np.einsum("j,jab->ab", g_x[self.im], breaks[2])
        return 0.5 * (out + out.T)


def _block_diag(blocks):
    size = sum(b.shape[1] for b in blocks)
    out = np.zeros((sum(b.shape[0] for b in blocks), size))
    r = c = 0
    for b in blocks:
        out[r : r + b.shape[0], c : c + b.shape[1]] = b
        r, c = r + b.shape[0], c + b.shape[1]
    return out


def _split_rs(rs, k, spread):
    """A 1RSB start from an RS profile: every frozen overlap v split into
    ``v − (1 − m) δ, v + m δ``, m = ½, with δ = spread · min(v, 1 − v) (the sign of the
    lowest replicon mode, whose components all share one sign)."""
    from deepspin.deep_perceptron.replicon import spin_replicon

    m = 0.5
    delta_q = spread * np.minimum(rs.q, 1.0 - rs.q)
    delta_q[[0, -1]] = 0.0
    delta_Q = spread * np.minimum(rs.Q, 1.0 - rs.Q)
    chi = np.ones_like(rs.q)
    chi[1:-1] = spin_replicon(rs.qhat[1:-1])
    delta_h = delta_q / chi
    levels = np.array([-(1.0 - m), m])

    def split(v, d):
        return v[:, None] + d[:, None] * levels[None, :]

    start = (split(rs.q, delta_q), split(rs.Q, delta_Q), split(rs.qhat, delta_h), np.array([m]))
    if k == 1:
        return start
    raise ValueError("a k-step start from RS is built one step at a time (k = 1)")


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


def solve_rsb(alpha, L, k=1, initial=None, spread=0.3, tol=1e-9, max_iter=60, n_grid=129,
              n_side=24, warn=True):  # fmt: skip
    """Solve the k-step RSB equations of the symmetric closure, ∇Φ = 0 (eq. rsb-free-entropy).

    Parameters
    ----------
    alpha : float, > 0
        Constraints per weight.
    L : int, ≥ 1
        Bond layers.
    k : int, ≥ 0
        Steps of RSB (k = 0: the RS solution, through the same functional).
    initial : RSBProfile or RSProfile, optional
        Where to start: a k-step profile at a nearby α (continuation), a (k−1)-step one
        (one of its x-intervals is split), or an RS one (k = 1; split along the replicon
        mode). Default: the RS solution at α, then one step at a time up to k.
    spread : float, in (0, 1)
        How far apart a split puts the two new levels (relative; see :func:`_split_rs`).
    tol : float, > 0
        Newton stops when every component of ∇Φ over the free variables is below tol.
    max_iter : int, ≥ 1
        Newton iterations (for each step of RSB added on the way up to k).
    n_grid, n_side : int
        The cascade's grid (odd, in [9, 4097]) and nodes per side (in [2, 512]).
    warn : bool
        Emit a ``RuntimeWarning`` when the solver stops unconverged.

    Returns
    -------
    SolverResult
        ``value`` is an :class:`RSBProfile`; ``residual`` is ``max |∂Φ|`` over the free
        variables; ``info["collapsed"]`` says the k steps fell onto fewer distinct levels
        (``info["gaps"]``: the rms distance between consecutive levels over the layers'
        q and Q), ``info["rs_entropy"]`` the RS free entropy at α.
    """
    alpha = check_real("alpha", alpha, 0.0, low_open=True)
    L = check_int("L", L, 1)
    k = check_int("k", k, 0)
    spread = check_real("spread", spread, 0.0, 1.0, low_open=True, high_open=True)
    tol = check_real("tol", tol, 0.0, low_open=True)
    max_iter = check_int("max_iter", max_iter, 1)
    grid = _check_grid(n_grid, n_side)
    warn = check_bool("warn", warn)
    start, frozen, rs_entropy = _start(alpha, L, k, initial, spread, tol, grid)
    if isinstance(start, RSBProfile) and start.k < k:  # climb one step at a time
        previous = start
        for steps in range(start.k + 1, k + 1):
            result = solve_rsb(alpha, L, steps, previous, spread, tol, max_iter, *grid,
                               warn=False)  # fmt: skip
            previous = result.value
        if not warn:
            return result
        return warn_if_not_converged(result, f"solve_rsb(alpha={alpha:g}, L={L}, k={k})")
    layout = Layout(L, k)
    reduced = _Reduced(alpha, layout, frozen, layout.pack(*start), grid)
    y0 = reduced.y_of(reduced.x)
    lower = np.concatenate([np.zeros(reduced.n_rows), np.full(k, _M_EDGE)])
    upper = np.full(reduced.n_rows + k, _T_MAX)
    y0 = np.clip(y0, lower, upper)
    y, _, iterations, residual = projected_newton(reduced.fun, reduced.hess, y0, lower, upper,
                                                  max_iter, tol)  # fmt: skip
    reduced.fun(y)
    x = reduced.x
    q, Q, qhat, m = layout.unpack(x)
    rows = reduced.rows
    d2 = np.mean(np.diff(x[rows], axis=1) ** 2, axis=0) if rows.size else np.zeros(k)
    terms = layer_terms(alpha, q, Q, qhat, m, grid)
    entropy = float(sum(np.sum(v) for v in terms.values()))
    profile = RSBProfile(alpha, L, k, q, Q, qhat, m, entropy, terms, frozen.copy())
    gaps = np.sqrt(d2) if k > 0 else np.zeros(0)
    at_edge = bool(k > 0 and (m[-1] >= 1.0 - 2 * _M_EDGE or m[0] <= 2 * _M_EDGE))
    info = dict(collapsed=bool(k > 0 and (np.min(gaps) < _COLLAPSE or at_edge)), gaps=gaps,
                rs_entropy=rs_entropy)  # fmt: skip
    result = SolverResult.from_residual(profile, residual, tol, iterations, info)
    if warn:
        warn_if_not_converged(result, f"solve_rsb(alpha={alpha:g}, L={L}, k={k})")
    return result


def _start(alpha, L, k, initial, spread, tol, grid):
    """The start of :func:`solve_rsb`: levels (or an RSBProfile to climb from), the frozen
    set, and the RS free entropy."""
    if initial is None or isinstance(initial, RSProfile):
        rs = initial
        if rs is None or rs.alpha != alpha:
            rs = solve_rs(alpha, L, initial=rs, warn=False).value
        if (rs.L, rs.scenario, rs.closure) != (L, "random", "symmetric"):
            raise ValueError("initial must be an RS profile of the symmetric closure, random "
                             f"data, L = {L}")  # fmt: skip
        frozen = rs.q > 0
        if k == 0:
            return (rs.q[:, None], rs.Q[:, None], rs.qhat[:, None], np.zeros(0)), frozen, rs.entropy
        one = _split_rs(rs, 1, spread)
        if k == 1:
            return one, frozen, rs.entropy
        layout = Layout(L, 1)
        first = solve_rsb(alpha, L, 1, rs, spread, tol, n_grid=grid[0], n_side=grid[1],
                          warn=False)  # fmt: skip
        del layout
        return first.value, frozen, rs.entropy
    if not isinstance(initial, RSBProfile) or initial.L != L or initial.k > k:
        raise ValueError(f"initial must be an RSProfile or an RSBProfile with L = {L} and at "
                         f"most k = {k} steps")  # fmt: skip
    rs_entropy = solve_rs(alpha, L, warn=False).value.entropy
    if initial.k == k:
        return (initial.q, initial.Q, initial.qhat, initial.m), initial.frozen, rs_entropy
    if initial.k == k - 1 and initial.alpha == alpha:
        return _split_step(initial, spread), initial.frozen, rs_entropy
    return initial, initial.frozen, rs_entropy
