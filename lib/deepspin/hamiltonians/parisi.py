"""Spherical mixed p-spin glass: the Parisi formula at finite and zero temperature.

The Hamiltonian is a centred Gaussian field on the sphere of radius √N with
``E[H(x)H(x')] = N ξ(x·x'/N)`` (chapter ``wh_replicas``; for a random MLP, ξ comes from
:func:`deepspin.hamiltonians.covariance`). Its free entropy ``Φ(β) = lim N⁻¹ E log ∫ e^{−βH} dμ``
(μ uniform on the sphere, so Φ ≤ β²ξ(1)/2) is the infimum over Parisi measures x(q) of the
Crisanti–Sommers functional (eq. cs)

    2 P[x] = β² ∫₀¹ ξ'(q) x(q) dq + ∫₀^q̂ dq / x̂(q) + log(1 − q̂),    x̂(q) = ∫_q¹ x(s) ds.

A k-step ansatz ``x = m_j`` on ``[q_{j−1}, q_j)`` (0 below q₀, 1 above q_k) turns it into
(eq. cs-steps)

    2 P = β² [ξ(1) − Σ_{j=0}^{k} (m_{j+1} − m_j) ξ(q_j)] + q₀/x̂₀
          + Σ_{j=1}^{k} m_j⁻¹ log(x̂_{j−1}/x̂_j) + log(1 − q_k),

with m₀ = 0, m_{k+1} = 1, x̂_k = 1 − q_k and x̂_{j−1} = x̂_j + m_j (q_j − q_{j−1}). The full-RSB
solver fixes the m_j on a fine uniform grid of x and optimises the q_j, which is a
discretised Parisi function q(x): plateaus of q(x) are the steps of a 1RSB solution and
a continuous rise is full RSB, so one representation serves every case.

At zero temperature (βx → α, β(1 − q̂) → χ) the ground-state energy is the Chen–Sen
formula (eq. chen-sen)

    E₀ = −½ inf_{χ > 0, α ≥ 0 non-decreasing} [ξ'(1)χ + ∫₀¹ ξ'(q)α(q) dq + ∫₀¹ dq/(χ + ∫_q¹ α)],

a convex problem, solved with α piecewise constant on a grid in q and non-negative
increments, by projected Newton with the exact Hessian. (Bounded L-BFGS-B stalls here: for
ReLU-like kernels the solution has χ → 0 and α diverging at q → 1.)

At finite temperature the continuous q(x) is determined only weakly: along a full-RSB
interval the replicon is marginal, so the functional is flat to second order in
deformations of q(x). Its value converges quickly, its profile slowly; the k-RSB solver
(free steps) is the precise tool for the profile (tested against the closed form).
"""

from __future__ import annotations

import warnings

import numpy as np
from scipy.optimize import OptimizeResult, approx_fprime, brentq, minimize, minimize_scalar

from deepspin.checks import check_array, check_choice, check_int, check_real
from deepspin.gauss import legendre_nodes
from deepspin.hierarchy import log1p_ratio, spherical_entropy
from deepspin.optimize import projected_newton
from deepspin.results import SolverResult, warn_if_not_converged

__all__ = [
    "ANSATZE",
    "classify",
    "concave_intervals",
    "dynamic_temperature",
    "entropy_at_energy",
    "ground_state_energy",
    "parisi",
    "replicon",
    "rs_zero_temperature_test",
    "static_temperature",
    "thermodynamics",
]

ANSATZE = ("RS", "1RSB", "k-RSB", "full")
_GROUND_ANSATZE = ("RS", "1RSB", "full")
_S_MAX = 30.0  # q = 1 − e^{−s}: s = 30 is 1 − q ≈ 1e-13, still resolved in float64
_GTOL = 1e-10
_MAXITER = 20000
# tolerances on the residual (the largest projected gradient component), relative to the
# functional's size max(1, |2P|): the floor of each ansatz's gradient. L-BFGS-B stalls on
# the flat functional of a marginal full-RSB solution; 1RSB and k-RSB differentiate
# numerically. The RS saddle is a polished root.
_TOL = {"RS": 1e-10, "1RSB": 1e-6, "k-RSB": 1e-6, "full": 1e-7}
_GROUND_TOL = {"1RSB": 1e-5, "full": 1e-10}  # the 1RSB gradient is by finite differences


class _Budget:
    """The iterations left of a solver's ``maxiter``, shared by all its starts and stages."""

    def __init__(self, maxiter):
        self.maxiter = int(maxiter)
        self.used = 0

    @property
    def left(self):
        return max(self.maxiter - self.used, 0)

    def spend(self, n):
        self.used += int(n)


def _lbfgsb(fun, x0, bounds, options, budget, jac=False):
    """L-BFGS-B from ``x0`` with what is left of ``budget``; spends the iterations it uses.

    With the budget spent, the start is only evaluated (no iteration, nit = 0): scipy
    would run one iteration even at ``maxiter = 0``.
    """
    if budget.left == 0:
        x0 = np.clip(np.asarray(x0, dtype=float), *np.transpose(bounds))
        if jac:
            value, grad = fun(x0)
        else:
            value = fun(x0)
            grad = approx_fprime(x0, fun, np.sqrt(np.finfo(float).eps))
        return OptimizeResult(x=x0, fun=float(value), jac=grad, nit=0, success=False)
    res = minimize(fun, x0, jac=jac, method="L-BFGS-B", bounds=bounds,
                   options={**options, "maxiter": budget.left})  # fmt: skip
    budget.spend(res.nit)
    return res


def _fast(xi):
    """The object the solvers evaluate: a cached table for network kernels, else ξ itself."""
    for name in ("xi", "dxi", "d2xi", "d3xi"):
        if not callable(getattr(xi, name, None)):
            raise ValueError(f"xi must have vectorised methods xi, dxi, d2xi, d3xi; no {name!r}")
    return getattr(xi, "table", xi)


def _log1p_over(z):
    return log1p_ratio(z, validate=False)


# --- finite temperature: the Crisanti–Sommers functional ----------------------------------


def _steps_functional(q, m, beta, xi):
    """``2P`` of eq. (cs-steps) and its gradient in the q_j (the m_j held fixed).

    q : (k+1,) non-decreasing in [0, 1); m : (k,) increasing in (0, 1).
    """
    mm = np.concatenate(([0.0], m, [1.0]))
    dm = np.diff(mm)  # m_{j+1} − m_j, j = 0..k
    # an iterate with q_k rounding to 1 gives an infinite value, which the line search rejects
    with np.errstate(divide="ignore", invalid="ignore"):
        return _steps_terms(q, m, mm, dm, beta, xi)


def _steps_terms(q, m, mm, dm, beta, xi):
    # the entropic part is (1/n) ln det of the Parisi matrix: the shared Crisanti–Sommers algebra
    entropic, grad_entropic, _ = spherical_entropy(q, m, validate=False)
    energy = xi.xi(1.0) - np.sum(dm * xi.xi(q))
    value = beta**2 * energy + entropic
    grad = -(beta**2) * dm * xi.dxi(q) + grad_entropic
    return value, grad


def _from_increments(t):
    """Ordered levels ``q_j = 1 − exp(−s_j)``, ``s_j = min(Σ_{i≤j} t_i, _S_MAX)``, and dq_j/ds_j.

    t ≥ 0 keeps them in [0, 1). The bounds keep each increment below ``_S_MAX`` but not
    their sum; the cap stops a line search from pushing levels to q = 1 in floating point
    (an infinite functional). Beyond the cap the levels are flat (zero derivative).
    """
    s = np.cumsum(t)
    inside = s < _S_MAX
    s = np.minimum(s, _S_MAX)
    return -np.expm1(-s), np.exp(-s) * inside


def _to_increments(q):
    """The increments t of :func:`_from_increments` for non-decreasing q in [0, 1)."""
    return np.diff(-np.log1p(-np.asarray(q, dtype=float)), prepend=0.0)


def _roots_in_s(f, s):
    """Every root of f(q) between neighbouring grid points of s, q = 1 − e^{−s} (Brent in s)."""
    values = f(-np.expm1(-s))
    roots = []
    for i in np.nonzero(np.sign(values[:-1]) * np.sign(values[1:]) < 0)[0]:
        root = brentq(lambda ss: f(-np.expm1(-ss)), s[i], s[i + 1], xtol=1e-14)
        roots.append(-np.expm1(-root))
    return roots


def _minimise_q(m, beta, xi, q_start, budget):
    """Minimise eq. (cs-steps) over ordered q_j = 1 − exp(−Σ_{i≤j} t_i), t_i ≥ 0."""
    # a warm start (e.g. from a lower temperature) may sit where 1 − q underflows
    q_top = -np.expm1(-_S_MAX)
    q_start = np.clip(np.maximum.accumulate(np.asarray(q_start, dtype=float)), 0.0, q_top)
    t0 = _to_increments(q_start)

    def fun(t):
        q, dq_ds = _from_increments(t)
        value, grad_q = _steps_functional(q, m, beta, xi)
        # ∂/∂t_i = Σ_{j ≥ i} ∂/∂s_j
        return value, np.cumsum((grad_q * dq_ds)[::-1])[::-1]

    bounds = [(0.0, _S_MAX)] * t0.size
    options = {"maxcor": 30, "ftol": 0.0, "gtol": _GTOL}
    res = _lbfgsb(fun, t0, bounds, options, budget, jac=True)
    q, _ = _from_increments(res.x)
    # L-BFGS-B also stops, "converged", once an iteration no longer lowers the functional
    # (a marginal replicon makes it very flat): only the projected gradient judges
    return q, res.fun, _projected(res, 0.0, _S_MAX)


def _rs_roots(beta, xi):
    """All roots of β²ξ'(q)(1 − q)² = q (eq. spherical-rs-saddle) in [0, 1), on a grid in s."""

    def h(q):
        return beta**2 * xi.dxi(q) * (1.0 - q) ** 2 - q

    roots = [0.0] if h(0.0) == 0.0 else []
    return roots + _roots_in_s(h, np.linspace(0.0, _S_MAX, 4001)), h


def _rs_functional(q, beta, xi):
    return beta**2 * (xi.xi(1.0) - xi.xi(q)) + q / (1.0 - q) + np.log1p(-q)


def _package(q, m, beta, xi, two_p, ansatz, nit, residual, tol):
    """SolverResult of a step solution: Φ, energy, entropy, overlaps, replicon.

    ``converged`` is ``residual <= tol · max(1, |2P|)`` (the tolerance the result reports);
    a non-finite functional never converges.
    """
    mm = np.concatenate(([0.0], m, [1.0]))
    dm = np.diff(mm)
    energy_term = xi.xi(1.0) - np.sum(dm * xi.xi(q))
    phi = 0.5 * two_p
    energy = -beta * energy_term  # u = −∂Φ/∂β, by the envelope theorem
    q_max = float(q[-1])
    info = {
        "ansatz": ansatz,
        "beta": beta,
        "q": np.asarray(q, dtype=float),
        "m": np.asarray(m, dtype=float),
        "q_min": float(q[0]),
        "q_max": q_max,
        "energy": float(energy),
        "entropy": float(phi + beta * energy),
        "replicon": _replicon(_fast(xi), beta, q_max),
    }
    if np.isfinite(two_p):
        tol = tol * max(1.0, abs(float(two_p)))
    else:
        residual = np.inf
    return SolverResult.from_residual(float(phi), residual, tol, int(nit), info)


def _solve_rs(beta, xi):
    roots, h = _rs_roots(beta, xi)
    if not roots:  # cannot happen for ξ' ≥ 0: h(0) ≥ 0 and h(1⁻) < 0
        raise RuntimeError("no replica-symmetric saddle point")
    values = [_rs_functional(r, beta, xi) for r in roots]
    q = roots[int(np.argmin(values))]
    # the roots are bracketed on a fixed grid and polished by Brent's method: no iterations
    # of the minimisers' budget
    return _package(np.array([q]), np.array([]), beta, xi, min(values), "RS", 0, abs(h(q)),
                    _TOL["RS"])  # fmt: skip


def _one_step(q0, q1, m, beta, xi):
    """Eq. (cs-steps) with k = 1, vectorised over arrays of (q₀, q₁, m)."""
    with np.errstate(divide="ignore", invalid="ignore"):  # q₁ → 1: +inf, rejected
        return _one_step_terms(q0, q1, m, beta, xi)


def _one_step_terms(q0, q1, m, beta, xi):
    # eq. (cs-entropy) of deepspin.hierarchy at k = 1, written out for arrays of grid points
    # (λ₁ = 1 − q₁, λ₀ = λ₁ + m (q₁ − q₀)) in the order the 1RSB searches were validated with
    top = 1.0 - q1
    return (
        beta**2 * (xi.xi(1.0) - (1.0 - m) * xi.xi(q1) - m * xi.xi(q0))
        + (q1 - q0) / top * _log1p_over(m * (q1 - q0) / top)
        + q0 / (top + m * (q1 - q0))
        + np.log(top)
    )


def _solve_1rsb(beta, xi, rs, budget):
    """Minimise eq. (cs-steps) with k = 1 over (q₀, q₁, m): a coarse grid, then L-BFGS-B."""
    s = np.linspace(0.0, 25.0, 51)
    q_levels = -np.expm1(-s)
    m_levels = np.linspace(0.02, 1.0, 50)
    q0, q1, m = np.meshgrid(q_levels, q_levels, m_levels, indexing="ij")
    keep = q1 > q0
    q0, q1, m = q0[keep], q1[keep], m[keep]
    values = _one_step(q0, q1, m, beta, xi)

    def fun(z):
        q, _ = _from_increments(z[:2])
        return float(_one_step(q[0], q[1], z[2], beta, xi))

    starts = [(q0[i], q1[i], m[i]) for i in np.argsort(values)[:3]]
    # just below a discontinuous transition m ≈ 1 and the gain is O((1 − m)²), too small
    # for the grid: start also from the plateaus of the m = 1 equation β²ξ'(q)(1−q) = q
    q_rs = rs.info["q_max"]

    def plateau(q):
        return beta**2 * xi.dxi(q) * (1 - q) - q

    for root in _roots_in_s(plateau, np.linspace(1e-3, 25.0, 2001)):
        if root > q_rs + 1e-6:
            starts.append((q_rs, root, 0.995))
    best = None
    bounds = [(0, _S_MAX), (0, _S_MAX), (1e-6, 1.0)]
    for start_q0, start_q1, start_m in starts:
        z0 = [*_to_increments([start_q0, start_q1]), start_m]
        res = _lbfgsb(fun, z0, bounds, {"ftol": 1e-15, "gtol": 1e-12}, budget)
        if best is None or res.fun < best.fun:
            best = res
    two_p_rs = 2 * rs.value
    if best.fun >= two_p_rs - 1e-13:  # no breaking: the RS point, written as a 1RSB one
        q = np.array([rs.info["q_max"]] * 2)
        return _package(q, np.array([1.0]), beta, xi, two_p_rs, "1RSB", budget.used,
                        rs.residual, _TOL["RS"])  # fmt: skip
    q, _ = _from_increments(best.x[:2])
    residual = _projected(best, [b[0] for b in bounds], [b[1] for b in bounds])
    # the gradient is by finite differences: its error grows with the functional's size
    return _package(q, best.x[2:], beta, xi, best.fun, "1RSB", budget.used, residual, _TOL["1RSB"])


def _projected(res, lower, upper):
    """Largest component of L-BFGS-B's gradient that points into the box."""
    x, grad = res.x, np.array(res.jac, dtype=float)
    lower = np.broadcast_to(np.asarray(lower, dtype=float), x.shape)
    upper = np.broadcast_to(np.asarray(upper, dtype=float), x.shape)
    grad[(x <= lower) & (grad > 0)] = 0.0
    grad[(x >= upper) & (grad < 0)] = 0.0
    return float(np.max(np.abs(grad)))


def _solve_krsb(beta, xi, k, budget, start):
    """Eq. (cs-steps) over q₀ … q_k and m₁ < … < m_k (m_j = 1 − e^{−Σ r}).

    k is small, so the gradient is taken by finite differences.
    """
    q0, m0 = start
    z0 = np.concatenate((_to_increments(np.clip(q0, 0, 1 - 1e-15)),
                         _to_increments(np.clip(m0, 1e-6, 1 - 1e-9))))  # fmt: skip

    def fun(z):
        q, _ = _from_increments(z[: k + 1])
        m, _ = _from_increments(z[k + 1 :])
        return _steps_functional(q, m, beta, xi)[0]

    bounds = [(0, _S_MAX)] * (k + 1) + [(1e-6, 20.0)] + [(0, 20.0)] * (k - 1)
    res = _lbfgsb(fun, z0, bounds, {"ftol": 1e-15, "gtol": 1e-11}, budget)
    q, _ = _from_increments(res.x[: k + 1])
    m, _ = _from_increments(res.x[k + 1 :])
    residual = _projected(res, [b[0] for b in bounds], [b[1] for b in bounds])
    return q, m, res.fun, residual


def _starts_for_full(beta, m, rs, one):
    """Initial q(x) profiles: the 1RSB step, a ramp and the RS plateau with a small spread.

    Level q_j holds for x between m_j and m_{j+1}; each profile is evaluated there.
    """
    x = 0.5 * np.diff(np.concatenate(([0.0], m, [1.0])))
    x += np.concatenate(([0.0], m))
    q_rs = rs.info["q_max"]
    q0, q1 = one.info["q"]
    m1 = one.info["m"][0] if one.info["m"].size else 1.0
    top = max(q1, q_rs, 1.0 - 1.0 / (1.0 + beta))
    return [
        np.where(x < m1, q0, q1),
        q0 + (top - q0) * np.sqrt(x),
        q_rs + 1e-3 * (x - 0.5) * (1 - q_rs),
    ]


def parisi(xi, beta, ansatz="full", k=2, n_grid=1000, initial=None, maxiter=_MAXITER):
    """Free entropy Φ(β) of the spherical mixed p-spin model (eq. cs), minimised over x(q).

    Parameters
    ----------
    xi : covariance object
        Anything with vectorised ``xi``, ``dxi``, ``d2xi``, ``d3xi`` (``covariance``,
        ``mixture``, ``pure_pspin``).
    beta : float > 0
        Inverse temperature (in the units of ξ: E[H²] = N ξ(1)).
    ansatz : ``"RS"``, ``"1RSB"``, ``"k-RSB"`` or ``"full"``
        RS: the lowest root of eq. (spherical-rs-saddle). 1RSB: (q₀, q₁, m) from several
        starts, or the RS point when no breaking lowers Φ. k-RSB: k free steps, started from the
        (k−1)-step solution. full: a q(x) on ``n_grid`` equally spaced values of x, or
        the 1RSB solution where that is lower (its breakpoint m is free; the grid's is not).
    k : int ≥ 1
        Number of steps for ``"k-RSB"``.
    n_grid : int ≥ 2
        Points of the x-grid of ``"full"`` (also the start of ``"k-RSB"``).
    initial : array in [0, 1] of length ``n_grid + 1``, optional
        Starting levels q₀ … q_n for ``"full"``, e.g. the ``info["q"]`` of a neighbouring
        temperature (a non-decreasing envelope of it is used).
    maxiter : int ≥ 1
        Total budget of minimiser (L-BFGS-B) iterations, shared by every start and stage
        behind the result (1RSB, then the full grid or the added steps).

    Returns
    -------
    SolverResult
        ``value`` = Φ (the free energy per spin is −Φ/β). ``info``: ``q`` (levels
        q₀ ≤ … ≤ q_k), ``m`` (x on each step), ``q_min``, ``q_max`` (the Edwards–Anderson
        overlap of one state), ``energy`` u = −dΦ/dβ, ``entropy`` s = Φ + βu, ``replicon``
        β²ξ''(q_max)(1 − q_max)² (stable when ≤ 1). ``residual`` is the largest projected
        gradient component of the minimised functional (RS: ``|β²ξ'(q)(1 − q)² − q|``);
        ``converged`` is ``residual <= tol``, where ``tol`` is ``max(1, |2P|)`` times 1e-7
        (full), 1e-6 (1RSB, k-RSB: finite-difference gradients) or 1e-10 (RS; also a 1RSB
        solution without breaking, which is the RS point).
        ``iterations`` counts the minimiser iterations spent (the RS roots, bracketed on a
        grid and polished by Brent's method, count none). A ``RuntimeWarning`` when it
        stops unconverged.
    """
    beta = check_real("beta", beta, 0.0, low_open=True)
    ansatz = check_choice("ansatz", ansatz, ANSATZE)
    k = check_int("k", k, 1)
    n_grid = check_int("n_grid", n_grid, 2)
    if initial is not None:
        initial = check_array("initial", initial, 0.0, 1.0, ndim=1)
        if initial.size != n_grid + 1:
            raise ValueError(
                f"initial must have length n_grid + 1 = {n_grid + 1}, got {initial.size}"
            )
    maxiter = check_int("maxiter", maxiter, 1)
    fast = _fast(xi)
    budget = _Budget(maxiter)
    rs = _solve_rs(beta, fast)
    if ansatz == "RS":
        return warn_if_not_converged(rs, "parisi(RS)")
    one = _solve_1rsb(beta, fast, rs, budget)
    if ansatz == "1RSB":
        return warn_if_not_converged(one, "parisi(1RSB)")
    full = _solve_full(beta, fast, n_grid, initial, budget, rs, one)
    if ansatz == "full":
        # a grid of fixed m_j cannot put a step at an arbitrary breakpoint: for a strong
        # 1RSB solution at low temperature (small m) the free-m step is the better x(q)
        if one.value < full.value:
            return warn_if_not_converged(one, "parisi(full: the 1RSB step)")
        return warn_if_not_converged(full, "parisi(full)")
    return warn_if_not_converged(_solve_steps(beta, fast, k, budget, one, full), "parisi(k-RSB)")


def _solve_steps(beta, fast, k, budget, one, full):
    """k free steps, adding one at a time from the 1RSB solution (eq. cs-steps)."""
    q, m = one.info["q"], one.info["m"]
    best = one
    for steps in range(2, k + 1):
        # two starts: split the top step of the (k−1)-step solution, or coarse-grain q(x)
        q_split = np.concatenate((q, [q[-1]]))
        q_split[-2] = q[-2] + 0.7 * (q[-1] - q[-2])
        m_split = np.concatenate((m, [min(0.5 * (m[-1] + 1.0), 0.999)]))
        m_coarse = (np.arange(steps) + 1.0) / (steps + 1)
        levels = np.searchsorted(full.info["m"], (np.arange(steps + 1) + 0.5) / (steps + 1))
        q_coarse = full.info["q"][levels]
        candidate = None
        for start in ((q_split, m_split), (q_coarse, m_coarse)):
            found = _solve_krsb(beta, fast, steps, budget, start)
            if candidate is None or found[2] < candidate[2]:
                candidate = found
        qk, mk, two_p, residual = candidate
        if two_p <= 2 * best.value:
            best = _package(qk, mk, beta, fast, two_p, "k-RSB", budget.used, residual,
                            _TOL["k-RSB"])  # fmt: skip
            q, m = qk, mk
        else:  # more steps did not help: keep the solution with an empty extra step
            q, m = q_split, m_split
            # the same point as before, judged as before (its tolerance, rescaled below)
            best = _package(q, m, beta, fast, 2 * best.value, "k-RSB", budget.used,
                            best.residual, best.tol / max(1.0, abs(2 * best.value)))  # fmt: skip
    return best


def _solve_full(beta, fast, n_grid, initial, budget, rs, one):
    """q(x) on ``n_grid`` equally spaced x: the best of several starts (eq. cs-steps)."""
    m = (np.arange(n_grid) + 0.5) / n_grid
    starts = [np.asarray(initial, dtype=float)] if initial is not None else []
    starts += _starts_for_full(beta, m, rs, one)
    best, best_rank = None, np.inf
    for q_start in starts:
        q, two_p, residual = _minimise_q(m, beta, fast, q_start, budget)
        # a non-finite value ranks last (and, if every start gave one, never converges);
        # the cap in _from_increments keeps q = 1 out of reach
        rank = two_p if np.isfinite(two_p) else np.inf
        if best is None or rank < best_rank:
            best, best_rank = (q, two_p, residual), rank
    q, two_p, residual = best
    return _package(q, m, beta, fast, two_p, "full", budget.used, residual, _TOL["full"])


def replicon(xi, beta, q):
    """Replicon eigenvalue ``β²ξ''(q)(1 − q)²`` of the plateau at q (eq. replicon; stable ≤ 1).

    Parameters
    ----------
    xi : covariance (vectorised ``xi``, ``dxi``, ``d2xi``, ``d3xi``)
    beta : float ≥ 0
        Inverse temperature (finite).
    q : float in [0, 1)
        The plateau's overlap.
    """
    beta = check_real("beta", beta, 0.0)
    q = check_real("q", q, 0.0, 1.0, high_open=True)
    return _replicon(_fast(xi), beta, q)


def _replicon(fast, beta, q):
    # a solver's plateau can sit at q = 1 in floating point: no replicon there
    if q >= 1.0:
        return float("nan")
    return float(beta**2 * fast.d2xi(q) * (1.0 - q) ** 2)


# --- thermodynamics -----------------------------------------------------------------------


def thermodynamics(xi, betas, ansatz="full", **solver):
    """Φ, u, s and the overlaps along a sweep of β (warm-started for ``"full"``).

    Parameters
    ----------
    xi : covariance (vectorised ``xi``, ``dxi``, ``d2xi``, ``d3xi``)
    betas : 1-D array of floats > 0, non-empty
        Inverse temperatures, solved in this order.
    ansatz : ``"RS"``, ``"1RSB"``, ``"k-RSB"`` or ``"full"``
    **solver
        Passed to :func:`parisi` (``k``, ``n_grid``, ``maxiter``; ``maxiter`` is the
        budget of each temperature).

    Returns
    -------
    SolverResult
        ``value`` is a dict of arrays: ``beta``, ``phi``, ``energy``, ``entropy``,
        ``q_min``, ``q_max``, ``replicon``, ``converged``; and ``results`` (the
        SolverResult of each β). ``residual`` is the largest ``residual/tol`` of the
        sweep's results and ``tol`` is 1, so ``converged`` says that every temperature
        converged; ``iterations`` is their total.
    """
    betas = check_array("betas", betas, 0.0, low_open=True, ndim=1, allow_empty=False)
    ansatz = check_choice("ansatz", ansatz, ANSATZE)
    _fast(xi)
    results = []
    previous = None
    for beta in betas:
        kw = dict(solver)
        if ansatz == "full" and previous is not None and previous.info["ansatz"] == "full":
            kw.setdefault("initial", previous.info["q"])  # not when the 1RSB step won
        res = parisi(xi, float(beta), ansatz=ansatz, **kw)
        results.append(res)
        previous = res
    out = {"beta": betas, "results": results}
    out["phi"] = np.array([r.value for r in results])
    for key in ("energy", "entropy", "q_min", "q_max", "replicon"):
        out[key] = np.array([r.info[key] for r in results])
    out["converged"] = np.array([r.converged for r in results])
    ratios = np.array([r.residual / r.tol for r in results])
    ratio = float(np.max(np.where(np.isnan(ratios), np.inf, ratios)))  # NaN never converges
    result = SolverResult.from_residual(out, ratio, 1.0, sum(r.iterations for r in results))
    return warn_if_not_converged(result, "thermodynamics")


def entropy_at_energy(xi, energy, ansatz="full", beta_max=1e3, xtol=1e-10, tol=1e-7,
                      **solver):  # fmt: skip
    """Microcanonical entropy ``S(E) = inf_β [Φ(β) + βE]`` (eq. legendre) for ``E₀ < E < 0``.

    Solves u(β) = E for β (Brent in log β); S is relative to the uniform measure on the
    sphere (S ≤ 0; the annealed bound is −E²/2ξ(1)). ``info`` holds ``beta``, ``q_min``,
    ``q_max`` (the overlap q*(E) of two configurations of one state) and the solver result
    at that β. Energies at or below the ground state (β would exceed ``beta_max``) raise.

    Parameters
    ----------
    xi : covariance (vectorised ``xi``, ``dxi``, ``d2xi``, ``d3xi``)
    energy : float < 0
    ansatz : ``"RS"``, ``"1RSB"``, ``"k-RSB"`` or ``"full"``
    beta_max : float > 1e-6
        Upper end of the bracket in β (the lower end is 1e-6).
    xtol : float > 0
        Brent's tolerance on log β.
    tol : float > 0
        Tolerance on the residual ``|u(β) − E|``: ``converged`` is ``residual <= tol``.
    **solver
        Passed to :func:`parisi`.
    """
    energy = check_real("energy", energy, high=0.0, high_open=True)
    ansatz = check_choice("ansatz", ansatz, ANSATZE)
    beta_max = check_real("beta_max", beta_max, 1e-6, low_open=True)
    xtol = check_real("xtol", xtol, 0.0, low_open=True)
    tol = check_real("tol", tol, 0.0, low_open=True)
    _fast(xi)

    def gap(log_beta):
        with warnings.catch_warnings():  # bracketing steps far from the root may not converge
            warnings.simplefilter("ignore", RuntimeWarning)
            res = parisi(xi, float(np.exp(log_beta)), ansatz=ansatz, **solver)
        return res.info["energy"] - energy

    low, high = np.log(1e-6), np.log(beta_max)
    if gap(high) > 0:
        raise ValueError(
            f"energy must lie above the ground-state energy; u(beta={beta_max:g}) is above {energy}"
        )
    gap_low = gap(low)
    if gap_low < 0:
        raise ValueError(
            f"energy must lie below u(beta=1e-06) = {gap_low + energy:.6g}, got {energy}"
        )
    log_beta, info = brentq(gap, low, high, xtol=xtol, full_output=True, disp=False)
    # the solver at the root warns for itself when it does not converge
    res = parisi(xi, float(np.exp(log_beta)), ansatz=ansatz, **solver)
    value = res.value + res.info["beta"] * energy
    out = SolverResult.from_residual(
        float(value), abs(res.info["energy"] - energy), tol, int(info.iterations),
        {"beta": res.info["beta"], "q_min": res.info["q_min"], "q_max": res.info["q_max"],
         "result": res, "brent_converged": bool(info.converged)},
    )  # fmt: skip
    return warn_if_not_converged(out, "entropy_at_energy")


def _field_free(xi, name):
    if abs(float(xi.dxi(0.0))) > 1e-12:
        raise ValueError(
            f"{name} needs a model without a random field (xi'(0) = 0), got xi'(0) = "
            f"{float(xi.dxi(0.0)):.3g}"
        )


def dynamic_temperature(xi, maxiter=500, tol=1e-8):
    """``T_d² = max_{0<q<1} ξ'(q)(1 − q)/q`` (eq. td): where the m = 1 1RSB saddle appears.

    For field-free models only (ξ'(0) = 0). The maximum is located on a grid of
    [1e-4, 1 − 1e-4] and refined by bounded Brent minimisation.

    Parameters
    ----------
    xi : covariance (vectorised ``xi``, ``dxi``, ``d2xi``, ``d3xi``), ξ'(0) = 0
    maxiter : int ≥ 1
        Brent iterations (function evaluations after the first).
    tol : float > 0
        Tolerance on the residual ``|g'(q_d)|``, the slope of ``g(q) = ξ'(q)(1 − q)/q`` at
        the maximiser (it is not small where the maximum sits at an end of the grid).

    Returns
    -------
    SolverResult
        ``value`` T_d, ``info["q"]`` the plateau q_d; ``converged`` is ``residual <= tol``
        (a ``RuntimeWarning`` otherwise).
    """
    fast = _fast(xi)
    maxiter = check_int("maxiter", maxiter, 1)
    tol = check_real("tol", tol, 0.0, low_open=True)
    _field_free(fast, "dynamic_temperature")
    q = np.linspace(1e-4, 1 - 1e-4, 2001)
    g = fast.dxi(q) * (1 - q) / q
    i = int(np.argmax(g))
    lo, hi = q[max(i - 1, 0)], q[min(i + 1, q.size - 1)]
    # scipy counts the first evaluation as an iteration: maxiter + 1 evaluations in all
    res = minimize_scalar(lambda s: -fast.dxi(s) * (1 - s) / s, bounds=(lo, hi),
                          method="bounded",
                          options={"xatol": 1e-12, "maxiter": maxiter + 1})  # fmt: skip
    qd = float(res.x)
    slope = float(fast.d2xi(qd) * (1 - qd) / qd - fast.dxi(qd) / qd**2)  # g'(q_d)
    result = SolverResult.from_residual(float(np.sqrt(-res.fun)), abs(slope), tol,
                                        max(int(res.nit) - 1, 0), {"q": qd})  # fmt: skip
    return warn_if_not_converged(result, "dynamic_temperature")


def static_temperature(xi, maxiter=100, tol=1e-10):
    """Static 1RSB transition ``T_s`` of a field-free model (eq. ts).

    At m = 1 the 1RSB functional equals the paramagnet's for every q; the transition is
    where ∂P/∂m vanishes there on the m = 1 saddle, i.e. β²ξ'(q) = q/(1 − q) together with
    β²ξ(q) + q + log(1 − q) = 0. Eliminating β² leaves one equation f(q) = 0, bracketed
    on a grid and solved by Brent's method.

    Parameters
    ----------
    xi : covariance (vectorised ``xi``, ``dxi``, ``d2xi``, ``d3xi``), ξ'(0) = 0
    maxiter : int ≥ 1
        Brent iterations.
    tol : float > 0
        Tolerance on the residual ``|f(q_s)|``.

    Returns
    -------
    SolverResult
        ``value`` T_s, ``info["q"]`` the overlap q_s; ``converged`` is ``residual <= tol``
        (a ``RuntimeWarning`` otherwise).
    """
    fast = _fast(xi)
    maxiter = check_int("maxiter", maxiter, 1)
    tol = check_real("tol", tol, 0.0, low_open=True)
    _field_free(fast, "static_temperature")

    def f(q):
        return q * fast.xi(q) / ((1 - q) * fast.dxi(q)) + q + np.log1p(-q)

    q = np.linspace(1e-3, 1 - 1e-9, 4001)
    values = f(q)
    sign_change = np.nonzero((values[:-1] < 0) & (values[1:] >= 0))[0]
    if sign_change.size == 0:
        raise ValueError("static_temperature: no discontinuous 1RSB transition for this xi")
    i = sign_change[-1]
    root, info = brentq(f, q[i], q[i + 1], xtol=1e-15, maxiter=maxiter, full_output=True,
                        disp=False)  # fmt: skip
    beta2 = root / ((1 - root) * fast.dxi(root))
    result = SolverResult.from_residual(float(1 / np.sqrt(beta2)), abs(f(root)), tol,
                                        int(info.iterations), {"q": float(root)})  # fmt: skip
    return warn_if_not_converged(result, "static_temperature")


# --- zero temperature ------------------------------------------------------------------------


def _chen_sen(z, grid, dxi1, dxi_cells):
    """Eq. (chen-sen) with α piecewise constant on the cells of ``grid`` and its gradient.

    z = (χ, d₁ … d_K), α_i = Σ_{j ≤ i} d_j. Returns (F, ∂F/∂z), E₀ = −F/2.
    """
    chi, d = z[0], z[1:]
    alpha = np.cumsum(d)
    delta = np.diff(grid)
    # A_i = χ + Σ_{j > i} α_j Δ_j is ∫_{g_i}^1 α + χ at the cell's upper end
    upper = chi + np.concatenate((np.cumsum((alpha * delta)[::-1])[::-1][1:], [0.0]))
    zeta = alpha * delta / upper
    ratio = delta / upper
    cells = ratio * _log1p_over(zeta)  # ∫_cell dq/A(q)
    value = dxi1 * chi + np.sum(alpha * dxi_cells) + np.sum(cells)
    # ∂(cell)/∂A_upper = −Δ/(A_lower A_upper), ∂(cell)/∂α = −(Δ/A)² ψ(ζ)
    lower = upper + alpha * delta
    d_upper = -delta / (lower * upper)
    small = zeta < 1e-5
    safe = np.where(small, 1.0, zeta)
    psi = np.where(small, 0.5 - 2 * zeta / 3, (_log1p_over(safe) - 1 / (1 + safe)) / safe)
    d_alpha_direct = -(ratio**2) * psi
    # α_i enters the A_j of every cell j < i with weight Δ_i
    before = np.concatenate(([0.0], np.cumsum(d_upper)[:-1]))
    grad_alpha = dxi_cells + d_alpha_direct + delta * before
    grad_chi = dxi1 + np.sum(d_upper)
    grad_d = np.cumsum(grad_alpha[::-1])[::-1]
    return value, np.concatenate(([grad_chi], grad_d))


def _ground_grid(n_cells):
    # cells shrink towards q = 1, where α(q) varies fastest for ReLU-like kernels
    u = np.linspace(0.0, 1.0, n_cells + 1)
    return 1.0 - (1.0 - u) ** 2


def _node_map(grid):
    """M with A(g_i) = (M z)_i: A(q) = χ + Σ_j d_j (1 − max(q, g_{j−1}))."""
    hinge = 1.0 - np.maximum(grid[:, None], grid[None, :-1])
    return np.hstack((np.ones((grid.size, 1)), hinge))


def _inverse_mean_hessian(lo, up):
    """Second derivatives of I(x, y) = ∫₀¹ dt/(y + t(x − y)) = log(x/y)/(x − y)."""
    d = lo - up
    r = np.log(lo / up)
    near = np.abs(d) < 0.1 * np.minimum(lo, up)
    safe = np.where(near, 1.0, d)
    closed = (
        (2 * r - 2 * safe / lo - safe**2 / lo**2) / safe**3,
        (safe * (1 / lo + 1 / up) - 2 * r) / safe**3,
        (2 * r + safe**2 / up**2 - 2 * safe / up) / safe**3,
    )
    x, w = legendre_nodes(8)
    t, w = 0.5 * (x + 1.0), 0.5 * w
    a = up[:, None] + t[None, :] * d[:, None]
    quad = tuple(np.sum(w * 2 * f / a**3, axis=1) for f in (t**2, t * (1 - t), (1 - t) ** 2))
    return tuple(np.where(near, qd, cl) for qd, cl in zip(quad, closed, strict=True))


def _chen_sen_hessian(z, grid, nodes):
    """Hessian of eq. (chen-sen) in z: only ∫dq/A is non-linear, cell by cell in (A_lo, A_up)."""
    a = nodes @ z
    delta = np.diff(grid)
    xx, xy, yy = (delta * h for h in _inverse_mean_hessian(a[:-1], a[1:]))
    lo, up = nodes[:-1], nodes[1:]
    return (lo.T * xx) @ lo + (lo.T * xy) @ up + (up.T * xy) @ lo + (up.T * yy) @ up


def ground_state_energy(xi, ansatz="full", n_cells=200, maxiter=2500, tol=None):
    """Ground-state energy per spin E₀ = lim min_x H(x)/N (eq. chen-sen).

    ``"RS"``: −√ξ'(1). ``"1RSB"``: α = 0 below q₀ and μ above. ``"full"``: α on
    ``n_cells`` cells that shrink towards q = 1 (convex problem; projected Newton from the
    RS and the 1RSB points). Every α gives a lower bound −F(α)/2 ≤ E₀, so refining the grid
    (n_cells times an integer) can only raise the value. ``info`` holds ``chi``, ``grid``, ``alpha``
    (1RSB: ``mu``, ``q0``). ``residual`` is the largest projected gradient component.

    Parameters
    ----------
    xi : covariance (vectorised ``xi``, ``dxi``, ``d2xi``, ``d3xi``)
    ansatz : ``"RS"``, ``"1RSB"`` or ``"full"``
    n_cells : int ≥ 1
    maxiter : int ≥ 1
        Total budget of iterations: the L-BFGS-B iterations of the three 1RSB starts and
        the Newton steps of the two full starts (each of the five needs well under 500).
    tol : float > 0, optional
        Tolerance on the residual: ``converged`` is ``residual <= tol`` (a
        ``RuntimeWarning`` otherwise). Default 1e-10 for ``"full"`` and 1e-5 for
        ``"1RSB"``, whose gradient is by finite differences.
    """
    ansatz = check_choice("ansatz", ansatz, _GROUND_ANSATZE)
    n_cells = check_int("n_cells", n_cells, 1)
    maxiter = check_int("maxiter", maxiter, 1)
    if tol is not None:
        tol = check_real("tol", tol, 0.0, low_open=True)
    fast = _fast(xi)
    dxi1 = float(fast.dxi(1.0))
    if not (np.isfinite(dxi1) and dxi1 > 0):
        raise ValueError(f"xi must have a finite xi'(1) > 0, got {dxi1!r}")
    chi_rs = 1.0 / np.sqrt(dxi1)
    if ansatz == "RS":  # closed form
        return SolverResult.from_residual(-np.sqrt(dxi1), 0.0, tol or _GROUND_TOL["full"], 0,
                                          {"chi": chi_rs})  # fmt: skip
    budget = _Budget(maxiter)
    one = _ground_1rsb(fast, dxi1, chi_rs, budget, tol or _GROUND_TOL["1RSB"])
    if ansatz == "1RSB":
        return warn_if_not_converged(one, "ground_state_energy(1RSB)")
    tol = tol or _GROUND_TOL["full"]
    grid = _ground_grid(n_cells)
    dxi_cells = np.diff(fast.xi(grid))
    starts = [np.concatenate(([chi_rs], np.zeros(n_cells)))]
    mu, q0 = one.info["mu"], one.info["q0"]
    first = int(np.searchsorted(grid, q0, side="right")) - 1
    d = np.zeros(n_cells)
    d[min(max(first, 0), n_cells - 1)] = mu
    starts.append(np.concatenate(([one.info["chi"]], d)))
    lower = np.concatenate(([1e-12], np.zeros(n_cells)))
    nodes = _node_map(grid)

    def fun(z):
        return _chen_sen(z, grid, dxi1, dxi_cells)

    def hess(z):
        return _chen_sen_hessian(z, grid, nodes)

    best = None
    for z0 in starts:
        z, value, nit, residual = projected_newton(fun, hess, z0, lower, np.inf, budget.left,
                                                    tol)  # fmt: skip
        budget.spend(nit)
        if best is None or value < best[1]:
            best = (z, value, residual)
    z, value, residual = best
    result = SolverResult.from_residual(
        float(-value / 2), residual, tol, budget.used,
        {"chi": float(z[0]), "grid": grid, "alpha": np.cumsum(z[1:]),
         "rs_energy": -np.sqrt(dxi1), "one_rsb_energy": one.value},
    )  # fmt: skip
    return warn_if_not_converged(result, "ground_state_energy(full)")


def _ground_1rsb(xi, dxi1, chi_rs, budget, tol):
    """Eq. (chen-sen) with α = μ 1{q ≥ q₀}: a coarse grid in (χ, μ, q₀), then L-BFGS-B."""
    xi1 = float(xi.xi(1.0))

    def bracket(chi, mu, q0):
        return (dxi1 * chi + mu * (xi1 - xi.xi(q0)) + q0 / (chi + mu * (1 - q0))
                + (1 - q0) / chi * _log1p_over(mu * (1 - q0) / chi))  # fmt: skip

    chi, mu, q0 = np.meshgrid(chi_rs * np.exp(np.linspace(-5, 1, 61)),
                              np.exp(np.linspace(-5, 4, 61)) / chi_rs,
                              np.linspace(0.0, 0.95, 20), indexing="ij")  # fmt: skip
    values = bracket(chi, mu, q0).ravel()
    best = None
    bounds = [(-30, 10), (-30, 10), (0.0, 1.0 - 1e-9)]
    for i in np.argsort(values)[:3]:
        z0 = [np.log(chi.flat[i]), np.log(mu.flat[i]), q0.flat[i]]
        res = _lbfgsb(lambda z: float(bracket(np.exp(z[0]), np.exp(z[1]), z[2])), z0, bounds,
                      {"ftol": 1e-15, "gtol": 1e-12}, budget)  # fmt: skip
        if best is None or res.fun < best.fun:
            best = res
    chi, mu, q0 = np.exp(best.x[0]), np.exp(best.x[1]), best.x[2]
    value = -best.fun / 2
    if value < -np.sqrt(dxi1):  # the RS point (μ → 0) lies in the family: never below it
        value, chi, mu, q0 = -np.sqrt(dxi1), chi_rs, 0.0, 0.0
    residual = _projected(best, [b[0] for b in bounds], [b[1] for b in bounds])
    return SolverResult.from_residual(float(value), residual, tol, budget.used,
                                      {"chi": chi, "mu": mu, "q0": q0})  # fmt: skip


def rs_zero_temperature_test(xi, n=4001):
    """``min_u g(u)`` with ``g(u) = ξ(1) − ξ(u) − ½ξ'(1)(1 − u²)`` (eq. rs-test).

    The derivative of the bracket of eq. (chen-sen) at the RS point (α = 0, χ = ξ'(1)^{−1/2})
    along α = ε 1{q ≥ u} is g(u); the bracket is convex, so RS is the zero-temperature
    solution iff g ≥ 0 on [0, 1]. ``n`` (int ≥ 2) grid points on [0, 1]. Returns (min g,
    the u where it is attained).
    """
    fast = _fast(xi)
    n = check_int("n", n, 2)
    u = np.linspace(0.0, 1.0, n)
    g = fast.xi(1.0) - fast.xi(u) - 0.5 * fast.dxi(1.0) * (1 - u**2)
    i = int(np.argmin(g))
    return float(g[i]), float(u[i])


# --- diagnostics ---------------------------------------------------------------------------


def concave_intervals(xi, n=2001, q_max=1.0 - 1e-6):
    """Intervals of (0, q_max] where ``ξ''(q)^{−1/2}`` is concave (eq. frsb-x).

    Full RSB can only live where this function is concave, since there
    ``x(q) = −β⁻¹ d(ξ''^{−1/2})/dq`` must be non-decreasing. The second derivative is
    taken by differencing the exact first derivative ``−½ξ'''ξ''^{−3/2}``.
    Returns a list of (start, end) pairs (empty: at most 1RSB).
    """
    fast = _fast(xi)
    n = check_int("n", n, 3)
    q_max = check_real("q_max", q_max, 1e-6, 1.0, low_open=True, high_open=True)
    q = np.linspace(1e-6, q_max, n)
    with np.errstate(divide="ignore", invalid="ignore"):
        slope = -0.5 * fast.d3xi(q) * fast.d2xi(q) ** -1.5
    curvature = np.diff(slope) / np.diff(q)
    mid = 0.5 * (q[1:] + q[:-1])
    concave = curvature < -1e-9 * np.maximum(1.0, np.abs(slope[:-1]))
    intervals = []
    start = None
    for qq, flag in zip(mid, concave, strict=True):
        if flag and start is None:
            start = qq
        if not flag and start is not None:
            intervals.append((float(start), float(qq)))
            start = None
    if start is not None:
        intervals.append((float(start), float(mid[-1])))
    return intervals


def classify(xi, beta=np.inf, tol=1e-9):
    """RS, 1RSB or FRSB at inverse temperature β (``np.inf``: zero temperature).

    Decided by free energies, not by the shape of a numerical q(x): RS when 1RSB does not
    lower Φ by more than ``tol``; 1RSB when two steps do not lower it further; FRSB
    otherwise (more steps keep helping; the ξ''^{−1/2} diagnostic says where a
    continuous part can live). At zero temperature the same with E₀ (RS, 1RSB, and the
    full Chen–Sen solution; ``tol`` is then 1e-7 to sit above its grid error).

    Returns a dict: ``verdict``, ``gain_1rsb``, ``gain_more`` (both ≥ 0 up to round-off),
    ``q_min``, ``q_max``, ``replicon`` (of the RS solution), ``concave`` (intervals of
    concave ξ''^{−1/2}), ``solution`` (the SolverResult behind the verdict; at T = 0 the
    full Chen–Sen solution, whose ``info["alpha"]`` is the Parisi measure) and, at T = 0,
    ``rs_test`` (min g, eq. rs-test).

    Parameters
    ----------
    xi : covariance (vectorised ``xi``, ``dxi``, ``d2xi``, ``d3xi``)
    beta : float > 0 or ``np.inf``
    tol : float ≥ 0
        The free-energy gain that counts as breaking.
    """
    fast = _fast(xi)
    if not (isinstance(beta, (int, float, np.integer, np.floating)) and beta == np.inf):
        beta = check_real("beta", beta, 0.0, low_open=True)
    tol = check_real("tol", tol, 0.0)
    concave = concave_intervals(xi)
    if np.isinf(beta):
        tol = max(tol, 1e-7)
        full = ground_state_energy(xi, "full")  # it solves RS and 1RSB on the way
        rs, one = full.info["rs_energy"], full.info["one_rsb_energy"]
        gain_1, gain_more = one - rs, full.value - max(one, rs)
        out = {"rs_test": rs_zero_temperature_test(xi)[0], "E0": max(full.value, one, rs),
               "replicon": float(fast.d2xi(1.0) / fast.dxi(1.0)), "solution": full}  # fmt: skip
    else:
        rs = _solve_rs(beta, fast)
        one = _solve_1rsb(beta, fast, rs, _Budget(_MAXITER))
        warn_if_not_converged(one, "parisi(1RSB)")
        full = _solve_full(beta, fast, 200, None, _Budget(_MAXITER), rs, one)
        two = _solve_steps(beta, fast, 2, _Budget(_MAXITER), one, full)
        warn_if_not_converged(two, "parisi(k-RSB)")
        gain_1, gain_more = rs.value - one.value, one.value - two.value
        best = two if gain_more > tol else one if gain_1 > tol else rs
        out = {"phi": best.value, "q_min": best.info["q_min"], "q_max": best.info["q_max"],
               "replicon": rs.info["replicon"], "solution": best}  # fmt: skip
    verdict = "RS" if gain_1 <= tol else "1RSB" if gain_more <= tol else "FRSB"
    return {"verdict": verdict, "gain_1rsb": float(gain_1), "gain_more": float(gain_more),
            "concave": concave, **out}  # fmt: skip
