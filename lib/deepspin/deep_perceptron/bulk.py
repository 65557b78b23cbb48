"""Uniform bulk of a deep network: frozen fixed points, their stability, and where fronts stop.

Chapter ``yoshino_rs``, section "Does the liquid centre survive?". Far from both
boundaries a deep network's RS saddle point can be uniform, ``q_l = q``, ``Q_l = Q``,
``q̂_l = q̂`` for every layer. Random data, n → 0.

Symmetric closure (eq. rs-saddle with every layer alike): ``q̂ = 2 Q q F(q²Q)``,
``q = I(q̂)`` and ``Q/(1−Q)² = α q² F(q²Q)``. Read backwards it gives α as an explicit
function of q (eq. bulk-alpha): ``q̂ = I⁻¹(q)``; Q solves ``2 Q q F(q²Q) = q̂``;
``α(q) = Q / [(1−Q)² q² F(q²Q)]``. Near the liquid ``q̂ ≈ 2α(2/π)² q³`` is cubic in q, so
the liquid is stable in the bulk at every α and a frozen bulk appears only where α(q)
has its minimum, ``α_b = min_q α(q)``: discontinuously, as a saddle-node pair — an
unstable lower branch q₋ and a stable upper branch q₊.

Exact-node closure (eq. rs-node-saddle with every layer alike): ``C = Q q``,
``q = q(q̂, C)``, ``q̂ = Q P(q̂, C)``, ``Q/(1−Q)² = α q P(q̂, C)``; parametrised by C, q̂
solves ``q̂ q(q̂, C) = C P(q̂, C)`` and α follows from the bond equation.

The free entropy per layer of a uniform state, relative to the liquid (whose layers
contribute ``ln 2 + ln ½ = 0``), is ``bond(Q)/(2α) + ½ q̂ (q − 1) + spin(q̂) + gap(q²Q)``
(symmetric) or ``bond(Q)/(2α) + ½ q̂ (q − 1) + Ψ(q̂, C)`` (exact node).

Stability is read from the saddle-point map T of the closure linearised at the uniform
state: for a perturbation ``∝ μ^l`` its symbol ``M(μ) = Σ_j (∂T_l/∂x_{l+j}) μ^j``. On the
unit circle (μ = e^{ik}) the eigenvalues of M are the multipliers of the map's Fourier
modes (one equals 1 at k = 0 exactly at the saddle-node); for real 0 < μ < 1 a root of
``det(M(μ) − 1) = 0`` is a spatial decay rate: a perturbation of the uniform state (a
boundary, a front) heals as μ^l.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from numbers import Number

import numpy as np
from scipy.optimize import brentq, minimize_scalar

from deepspin.checks import check_array, check_choice, check_int, check_real
from deepspin.deep_perceptron.exact_node import node_functions, node_saddle_map
from deepspin.deep_perceptron.kernels import bond_term, force, gap_term, spin_overlap, spin_term
from deepspin.deep_perceptron.rs import CLOSURES, saddle_map
from deepspin.results import SolverResult, warn_if_not_converged

__all__ = [
    "BulkState",
    "bulk_branches",
    "bulk_coexistence",
    "bulk_curve",
    "bulk_free_entropy",
    "bulk_spinodal",
    "bulk_state",
    "bulk_symbol",
    "geometric_limit",
    "healing_factor",
    "largest_multiplier",
]

_Q_TOP = 1.0 - 1e-13  # largest bond overlap tried: Q → 1 is the end of the branch
_FD = 1e-7
_MAX_BRENT = 500  # iterations of the bounded minimisation at the fold


@dataclass(frozen=True)
class BulkState:
    """A uniform saddle point of the bulk (every layer alike).

    Attributes
    ----------
    alpha : float
        Constraints per weight at which it solves the bulk equations (``inf`` where the
        parameter admits no solution with Q < 1).
    q, Q, qhat : float
        Spin overlap, bond overlap and conjugate field of every layer.
    closure : str
        "symmetric" or "exact-node".
    """

    alpha: float
    q: float
    Q: float
    qhat: float
    closure: str


def _invert_spin_overlap(q):
    """q̂ with ``∫Dy tanh²(√q̂ y) = q`` (random scenario)."""
    high = 1.0
    while spin_overlap(high) < q:
        high *= 2.0
    return brentq(lambda x: float(spin_overlap(x)) - q, 0.0, high, xtol=1e-15, rtol=4e-15)


def _symmetric_state(q):
    qhat = _invert_spin_overlap(q)

    def mismatch(Q):
        return 2.0 * Q * q * float(force(q * q * Q)) - qhat

    if mismatch(_Q_TOP) < 0.0:
        return BulkState(np.inf, q, 1.0, qhat, "symmetric")
    Q = brentq(mismatch, 0.0, _Q_TOP, xtol=1e-15, rtol=4e-15)
    alpha = Q / ((1.0 - Q) ** 2 * q * q * float(force(q * q * Q)))
    return BulkState(float(alpha), q, float(Q), qhat, "symmetric")


def _node_state(C):
    def mismatch(qhat):
        q, P, _ = node_functions(qhat, C)
        return float(qhat * q - C * P)

    high = 1.0
    while mismatch(high) < 0.0:
        high *= 2.0
    qhat = brentq(mismatch, 0.0, high, xtol=1e-15, rtol=4e-15)
    q, P, _ = (float(v) for v in node_functions(qhat, C))
    Q = C / q
    if Q >= 1.0:  # Q holds the bond overlap the uniform state would need
        return BulkState(np.inf, q, float(Q), float(qhat), "exact-node")
    return BulkState(float(Q / ((1.0 - Q) ** 2 * q * P)), q, float(Q), float(qhat), "exact-node")


def bulk_state(parameter, closure="symmetric"):
    """The uniform bulk saddle point with a given order parameter, and the α it needs.

    Parameters
    ----------
    parameter : float in (0, 1)
        The spin overlap q (symmetric closure, eq. bulk-alpha) or the field overlap
        ``C = Q q`` (exact-node closure).
    closure : {"symmetric", "exact-node"}

    Returns
    -------
    BulkState
        ``alpha`` is ``inf`` where no uniform solution with Q < 1 has this parameter (in
        the exact-node closure ``Q`` then holds the bond overlap ``C/q ≥ 1`` it would need).
    """
    closure = check_choice("closure", closure, CLOSURES)
    parameter = check_real("parameter", parameter, 0.0, 1.0, low_open=True, high_open=True)
    return _symmetric_state(parameter) if closure == "symmetric" else _node_state(parameter)


def bulk_curve(parameters, closure="symmetric"):
    """:func:`bulk_state` over an array of parameters.

    Parameters
    ----------
    parameters : array (n,), entries in (0, 1), n ≥ 1
        Spin overlaps q (symmetric closure) or field overlaps C (exact node).
    closure : {"symmetric", "exact-node"}

    Returns
    -------
    dict of arrays
        ``alpha``, ``q``, ``Q``, ``qhat`` and ``entropy`` (eq. bulk-entropy, NaN where
        ``alpha`` is infinite).
    """
    closure = check_choice("closure", closure, CLOSURES)
    parameters = check_array(
        "parameters", parameters, 0.0, 1.0, low_open=True, high_open=True, ndim=1, allow_empty=False
    )
    states = [bulk_state(p, closure) for p in parameters]
    out = {k: np.array([getattr(s, k) for s in states]) for k in ("alpha", "q", "Q", "qhat")}
    out["entropy"] = np.array(
        [bulk_free_entropy(s) if np.isfinite(s.alpha) else np.nan for s in states]
    )
    return out


def _log_alpha(parameter, closure):
    alpha = bulk_state(parameter, closure).alpha
    return np.log(alpha) if np.isfinite(alpha) else 1e3


@lru_cache(maxsize=4)
def _bracket(closure, n=128):
    """A coarse scan of ln α(parameter): the grid point of the minimum and its neighbours.

    Cached (it depends on the closure only): ``bulk_branches`` and ``bulk_coexistence``
    ask for it at every α. The arrays returned are read-only."""
    # the symmetric branch ends (Q → 1) below q = 0.2; the exact-node one spans C ∈ (0, 1)
    top = 0.25 if closure == "symmetric" else 1.0
    grid = np.linspace(0.0, top, n + 1)[1:-1]
    values = np.array([_log_alpha(p, closure) for p in grid])
    i = int(np.argmin(values))
    if values[i] >= 1e3:
        return None  # no parameter admits a uniform solution with Q < 1
    low = grid[max(i - 1, 0)] if i > 0 else grid[0] / 2
    high = grid[min(i + 1, grid.size - 1)]
    grid.flags.writeable = False
    values.flags.writeable = False
    return low, high, grid, values


def bulk_spinodal(closure="symmetric", xtol=1e-10):
    """The α at which a frozen uniform bulk first exists: ``α_b = min α(parameter)``.

    Below α_b the only uniform bulk is the liquid; at α_b a stable and an unstable
    frozen branch are born together (a saddle-node), so the bulk can only freeze
    discontinuously. Found by a coarse scan of ``ln α`` and Brent's bounded minimisation.

    Parameters
    ----------
    closure : {"symmetric", "exact-node"}
    xtol : float, in (0, 0.01]
        Absolute tolerance on the parameter at the fold (Brent's ``xatol``).

    Returns
    -------
    SolverResult
        ``value`` is the :class:`BulkState` at the fold. ``residual`` bounds the distance
        of the parameter from the minimiser: the half-width of Brent's final bracket,
        ``2(√ε |x| + xtol/3)`` by its stopping rule (ε the float64 epsilon; a minimum is
        not resolved more finely than √ε relative), ``inf`` where the minimiser ran out of
        its 500 iterations; ``tol`` is ``xtol + 2√ε |x|`` and ``converged`` is
        ``residual ≤ tol``. In the exact-node closure no parameter admits a uniform frozen
        state with Q < 1 (the node's overlap stays below its field's, q < C, so
        Q = C/q > 1): ``value`` is ``None``, ``residual`` 0 and ``info["reason"]`` says so.
    """
    closure = check_choice("closure", closure, CLOSURES)
    xtol = check_real("xtol", xtol, 0.0, 1e-2, low_open=True)
    bracket = _bracket(closure)
    if bracket is None:
        reason = "no uniform frozen bulk with Q < 1 on the scanned parameters"
        return SolverResult.from_residual(None, 0.0, xtol, 0, {"reason": reason})
    low, high, _, _ = bracket
    found = minimize_scalar(
        _log_alpha,
        bounds=(low, high),
        args=(closure,),
        method="bounded",
        options=dict(xatol=xtol, maxiter=_MAX_BRENT),
    )
    x = float(found.x)
    resolution = math.sqrt(np.finfo(float).eps) * abs(x)
    # scipy's bounded Brent stops when the bracket [a, b] around x satisfies
    # max(x − a, b − x) ≤ 2(√ε|x| + xatol/3); without success the bracket is unknown
    half_width = 2.0 * (resolution + xtol / 3.0) if found.success else math.inf
    result = SolverResult.from_residual(
        bulk_state(x, closure), half_width, xtol + 2.0 * resolution, int(found.nit)
    )
    return warn_if_not_converged(result, f"bulk_spinodal(closure={closure!r})")


def bulk_branches(alpha, closure="symmetric"):
    """The two frozen uniform bulks at α > α_b: (lower, upper), or ``None`` below α_b.

    The lower branch (smaller overlaps) is the unstable partner of the saddle-node, the
    upper one the stable frozen bulk. Each is the root of ``ln α(parameter) = ln α`` on
    its side of the fold, bracketed on the scan of :func:`bulk_spinodal`.

    Parameters
    ----------
    alpha : float, > 0
        Constraints per weight; above α_b it must stay inside the scanned range of the
        branches (a ``ValueError`` says so otherwise).
    closure : {"symmetric", "exact-node"}
    """
    closure = check_choice("closure", closure, CLOSURES)
    alpha = check_real("alpha", alpha, 0.0, low_open=True)
    fold = bulk_spinodal(closure).value
    if fold is None or alpha <= fold.alpha:
        return None
    fold_parameter = fold.q if closure == "symmetric" else fold.Q * fold.q
    _, _, grid, values = _bracket(closure)
    target = np.log(alpha)

    def gap(p):
        return _log_alpha(p, closure) - target

    below = grid[(grid < fold_parameter) & (values > target)]
    above = grid[(grid > fold_parameter) & (values > target)]
    if below.size == 0 or above.size == 0:
        raise ValueError(
            f"alpha must lie inside the scanned range of the bulk branches, got {alpha!r}"
        )
    lower = brentq(gap, below[-1], fold_parameter, xtol=1e-14)
    upper = brentq(gap, fold_parameter, above[0], xtol=1e-14)
    return bulk_state(lower, closure), bulk_state(upper, closure)


def bulk_free_entropy(state):
    """Free entropy per layer of a uniform state, relative to the liquid (eq. bulk-entropy).

    Parameters
    ----------
    state : BulkState
        A uniform state with a finite α (as :func:`bulk_state` returns it).
    """
    _check_state(state)
    bonds = float(bond_term(state.Q)) / (2.0 * state.alpha)
    spins = 0.5 * state.qhat * (state.q - 1.0)
    if state.closure == "symmetric":
        rest = float(spin_term(state.qhat)) + float(gap_term(state.q**2 * state.Q))
    else:
        rest = float(node_functions(state.qhat, state.Q * state.q)[2])
    return bonds + spins + rest


def _chain(state, L):
    q = np.full(L + 1, state.q)
    Q = np.full(L, state.Q)
    qhat = np.full(L + 1, state.qhat)
    return q, Q, qhat


def _flat(state, q, Q, qhat):
    parts = [q[1:-1], Q] if state.closure == "symmetric" else [q[1:-1], Q, qhat[1:-1]]
    return np.concatenate(parts)


def _apply(state, x, L):
    n = L - 1
    q = np.full(L + 1, state.q)
    q[1:-1] = x[:n]
    Q = x[n : n + L]
    if state.closure == "symmetric":
        qn, Qn, qhn = saddle_map(state.alpha, q, Q)
        return _flat(state, qn, Qn, qhn)
    qhat = np.full(L + 1, state.qhat)
    qhat[1:-1] = x[n + L :]
    return _flat(state, *node_saddle_map(state.alpha, q, Q, qhat))


def bulk_coexistence(closure="symmetric", xtol=1e-9, tol=1e-10):
    """The α at which the stable frozen bulk and the liquid have equal free entropy.

    The root of ``s(q₊(α)) = 0`` (eq. bulk-entropy on the upper branch; the liquid's
    layers contribute 0), above the spinodal α_b. It is the bulk's coexistence point:
    the analogue of a Maxwell construction for the layer-by-layer fronts.

    Parameters
    ----------
    closure : {"symmetric", "exact-node"}
    xtol : float, in (0, 0.01]
        Absolute tolerance of Brent's method on ln α.
    tol : float, > 0
        The free entropy per layer ``|s|`` at the root that counts as coexistence.

    Returns
    -------
    SolverResult
        ``value`` the upper :class:`BulkState` at coexistence (``None`` where the closure
        has no frozen bulk, with residual 0); ``residual`` is ``|s|`` there and
        ``converged`` is ``residual ≤ tol``; ``iterations`` are Brent's.
    """
    closure = check_choice("closure", closure, CLOSURES)
    xtol = check_real("xtol", xtol, 0.0, 1e-2, low_open=True)
    tol = check_real("tol", tol, 0.0, low_open=True)
    fold = bulk_spinodal(closure).value
    if fold is None:
        return SolverResult.from_residual(None, 0.0, tol, 0, {"reason": "no frozen bulk"})

    def upper_entropy(log_alpha):
        return bulk_free_entropy(bulk_branches(float(np.exp(log_alpha)), closure)[1])

    low = np.log(fold.alpha) + 1e-9
    if upper_entropy(low) <= 0.0:
        raise RuntimeError("the upper branch starts below the liquid's free entropy")
    high = low + 0.25
    while upper_entropy(high) > 0.0:
        low, high = high, high + 0.25
    log_alpha, info = brentq(upper_entropy, low, high, xtol=xtol, full_output=True)
    state = bulk_branches(float(np.exp(log_alpha)), closure)[1]
    # brentq raises when it does not converge, so the root is read from |s| alone
    residual = abs(bulk_free_entropy(state))
    result = SolverResult.from_residual(state, residual, tol, info.iterations)
    return warn_if_not_converged(result, f"bulk_coexistence(closure={closure!r})")


def _symbol_coefficients(state, L):
    """``∂T_a(c)/∂x_b(c + j)`` for j = −3 … 3, shape (7, k, k): the map linearised by
    central differences on a chain of L layers held at the uniform state, read off the
    middle layer c. The coefficients do not depend on μ, so they are computed once."""
    x0 = _flat(state, *_chain(state, L))
    kinds = 2 if state.closure == "symmetric" else 3
    n = L - 1
    offsets = [0, n, n + L][:kinds]
    centre = L // 2
    jac = np.empty((x0.size, x0.size))
    for i in range(x0.size):
        step = _FD * max(1.0, abs(x0[i]))
        up, down = x0.copy(), x0.copy()
        up[i] += step
        down[i] -= step
        jac[:, i] = (_apply(state, up, L) - _apply(state, down, L)) / (2.0 * step)
    coefficients = np.zeros((7, kinds, kinds))
    for a in range(kinds):
        row = offsets[a] + centre - 1
        for b in range(kinds):
            for j in range(-3, 4):
                col = offsets[b] + centre - 1 + j
                if offsets[b] <= col < offsets[b] + (L if b == 1 else n):
                    coefficients[j + 3, a, b] = jac[row, col]
    return coefficients


def _symbol(coefficients, mu):
    powers = complex(mu) ** np.arange(-3, 4)
    return np.tensordot(powers, coefficients, axes=1)


def _check_state(state):
    """Raise ``ValueError`` naming ``state`` unless it is a BulkState with finite α and
    overlaps in their domains (q in (0, 1], Q in [0, 1), q̂ ≥ 0)."""
    if not isinstance(state, BulkState):
        raise ValueError(f"state must be a BulkState, got {type(state).__name__}")
    if not (isinstance(state.alpha, Number) and math.isfinite(state.alpha) and state.alpha > 0):
        raise ValueError(
            f"state must have a finite alpha > 0 (a uniform solution with Q < 1), "
            f"got {state.alpha!r}"
        )
    try:
        check_real("q", state.q, 0.0, 1.0, low_open=True)
        check_real("Q", state.Q, 0.0, 1.0, high_open=True)
        check_real("qhat", state.qhat, 0.0)
        check_choice("closure", state.closure, CLOSURES)
    except ValueError as err:
        raise ValueError(f"state is not a consistent BulkState: {err}") from None


def bulk_symbol(state, mu, L=12):
    """Symbol ``M(μ)`` of the closure's saddle-point map linearised at a uniform state.

    The map is linearised by central differences on a chain of ``L`` layers whose ends
    are held at the uniform state, and ``M(μ)_{ab} = Σ_j ∂T_a(c)/∂x_b(c + j) μ^j`` is read
    off the middle layer c (a: spin overlap, bond overlap and, in the exact-node closure,
    conjugate field). ``μ`` may be complex.

    Parameters
    ----------
    state : BulkState
        A uniform state with a finite α.
    mu : complex (or real), finite and nonzero
        The spatial factor per layer (``e^{ik}`` for a Fourier mode).
    L : int, in [8, 200]
        Length of the chain the map is linearised on.

    Returns
    -------
    ndarray (k, k), complex
        k = 2 (symmetric) or 3 (exact node) variables per layer.
    """
    _check_state(state)
    L = check_int("L", L, 8, 200)
    if isinstance(mu, bool) or not isinstance(mu, Number) or not np.isfinite(mu) or mu == 0:
        raise ValueError(f"mu must be a finite nonzero complex number, got {mu!r}")
    mu = complex(mu)
    return _symbol(_symbol_coefficients(state, L), mu)


def largest_multiplier(state, n_modes=13, L=12):
    """Largest modulus of the linearised map's multipliers over Fourier modes k ∈ [0, π].

    Below 1 the uniform state attracts the saddle-point iteration against every layer-
    dependent perturbation; above 1 it repels it (exactly 1 at the saddle-node, k = 0).

    Parameters
    ----------
    state : BulkState
        A uniform state with a finite α.
    n_modes : int, in [2, 1000]
        Equally spaced wave numbers k on [0, π].
    L : int, in [8, 200]
        Length of the chain the map is linearised on.
    """
    _check_state(state)
    n_modes = check_int("n_modes", n_modes, 2, 1000)
    L = check_int("L", L, 8, 200)
    coefficients = _symbol_coefficients(state, L)
    modes = np.linspace(0.0, np.pi, n_modes)
    return float(
        max(np.max(np.abs(np.linalg.eigvals(_symbol(coefficients, np.exp(1j * k))))) for k in modes)
    )


def healing_factor(state, L=12):
    """Spatial decay factor μ ∈ (0, 1) of perturbations of a uniform state.

    The largest real root below 1 of ``det(M(μ) − 1) = 0``: a perturbation of the
    bulk decays (or, read the other way, grows) by μ per layer. ``nan`` if there is none
    (the uniform state does not heal monotonically).

    Parameters
    ----------
    state : BulkState
        A uniform state with a finite α.
    L : int, in [8, 200]
        Length of the chain the map is linearised on.
    """
    _check_state(state)
    L = check_int("L", L, 8, 200)
    coefficients = _symbol_coefficients(state, L)

    def det(mu):
        symbol = _symbol(coefficients, mu)
        return float(np.real(np.linalg.det(symbol - np.eye(symbol.shape[0]))))

    grid = np.linspace(0.02, 0.999, 60)
    values = np.array([det(m) for m in grid])
    crossings = np.flatnonzero(np.sign(values[:-1]) != np.sign(values[1:]))
    if crossings.size == 0:
        return float("nan")
    i = crossings[-1]
    return float(brentq(det, grid[i], grid[i + 1], xtol=1e-12))


def geometric_limit(sequence, n_last=4, tol=1e-3):
    """Limit of a sequence that converges geometrically, from its last ``n_last`` terms.

    Fits ``a_l = a_∞ − A ρ^l`` by Aitken's Δ² on consecutive triples and returns the
    mean of the last estimates with their spread, and the mean ratio ρ of successive
    increments. Used for the limit α_∞ of the onsets α_g(l).

    Parameters
    ----------
    sequence : array (n,), finite, n ≥ 3
        The terms a_1 … a_n; the last ``n_last`` must have nonzero increments and second
        differences (a geometric approach, not a constant or linear one).
    n_last : int, in [3, n]
        How many of the last terms enter.
    tol : float, > 0
        Relative spread of the Aitken estimates that counts as converged.

    Returns
    -------
    SolverResult
        ``value = {"limit", "ratio"}``; ``residual`` is the spread of the Aitken
        estimates relative to the limit, and ``converged`` says it is below ``tol``.
    """
    a = check_array("sequence", sequence, ndim=1)
    if a.size < 3:
        raise ValueError(f"sequence must hold at least 3 finite numbers, got {a.size}")
    n_last = check_int("n_last", n_last, 3, a.size)
    tol = check_real("tol", tol, 0.0, low_open=True)
    d = np.diff(a)
    tail = slice(a.size - n_last, None)
    d1, d2 = d[:-1][-(n_last - 2) :], d[1:][-(n_last - 2) :]
    if np.any(d1 == 0) or np.any(d2 == d1):
        raise ValueError(
            "sequence must approach its limit geometrically: its last n_last terms need "
            "nonzero increments and second differences"
        )
    estimates = a[tail][2:] - d2**2 / (d2 - d1)
    limit = float(np.mean(estimates))
    spread = float(np.ptp(estimates) / abs(limit)) if estimates.size > 1 else 0.0
    ratio = float(np.mean(d2 / d1))
    result = SolverResult.from_residual({"limit": limit, "ratio": ratio}, spread, tol, 1)
    return warn_if_not_converged(result, "geometric_limit")
