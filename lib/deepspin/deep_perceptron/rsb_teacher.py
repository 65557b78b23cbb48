"""One step of RSB among the students, with the teacher as a distinct replica (chapter
``yoshino_rsb``, section "Why the teacher scenario is replica symmetric").

The RS teacher equations of :mod:`deepspin.deep_perceptron.kernels` impose the Nishimori
line (the teacher is one more replica, n → 1). To *test* it, the teacher is kept apart:
n → 0 students with a one-step Parisi structure (levels q_0 ≤ q_1, Q_0 ≤ Q_1, conjugates
q̂_0 ≤ q̂_1, breakpoint m) and overlaps with the teacher, t (spins, conjugate t̂) and T (bonds),
per layer, in the symmetric closure. The free entropy per constraint (eq. teacher-one-step) is

    Φ = Σ_l {ln(1 − T²) + B[(Q_j − T²)/(1 − T²)]}/(2α)
        + Σ_hidden {−t̂ t + ½[m q̂_0 q_0 + (1 − m) q̂_1 q_1] − ½ q̂_1 + C₊[q̂; shift t̂]}
        + Σ_l C₋[Δ; weight 2H(−Δ_T z/√(Δ_0 − Δ_T²))],

with Δ_j = q_j(l−1) Q_j q_j(l), Δ_T = t(l−1) T t(l) (clamped ends: 1), B the spherical
entropy, C₊ the cascade of ln 2cosh whose outer field has mean t̂ (the teacher's spin), and
C₋ Gardner's cascade whose outer average is weighted by the teacher's own constraint. The
bonds: a student's weights orthogonal to the teacher's, rescaled to the unit sphere, have
overlaps (Q_j − T²)/(1 − T²). At the Nishimori point (every level equal to t, T; q̂ = t̂)
the three terms are those of eq. (rs-teacher): ln(1 − Q) + Q, ∫Dy ln 2cosh(√q̂ y + q̂) −
½q̂(q + 1) and 2∫Dz H ln H.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from scipy.optimize import root

from deepspin.cascade import Outer, cascade_torch
from deepspin.checks import check_array, check_bool, check_int, check_real
from deepspin.deep_perceptron.rs import solve_rs
from deepspin.deep_perceptron.rsb import check_cascade_grid
from deepspin.deep_perceptron.rsb_functional import gap_top, spin_top
from deepspin.hierarchy import spherical_entropy
from deepspin.results import SolverResult, warn_if_not_converged

__all__ = ["TeacherRSBProfile", "solve_teacher_rsb", "teacher_rsb_free_entropy"]

_N_SPIN, _N_BOND = 6, 3  # (t, t̂, q_0, q_1, q̂_0, q̂_1) per hidden layer; (T, Q_0, Q_1) per bond


@dataclass
class TeacherRSBProfile:
    """A stationary point of eq. (teacher-one-step).

    Attributes
    ----------
    alpha, L, m :
        The parameters (m fixed).
    spins : ndarray (L−1, 6)
        Per hidden layer: t, t̂, q_0, q_1, q̂_0, q̂_1.
    bonds : ndarray (L, 3)
        Per bond layer: T, Q_0, Q_1.
    entropy : float
        Φ at the point.
    """

    alpha: float
    L: int
    m: float
    spins: np.ndarray
    bonds: np.ndarray
    entropy: float


def _terms(alpha, L, m, x, grid):
    """Φ and its gradient at packed x = [spins (L−1, 6), bonds (L, 3)] (unchecked)."""
    xt = torch.tensor(x, dtype=torch.float64, requires_grad=True)
    n_spin = _N_SPIN * (L - 1)
    t, that, q0, q1, qh0, qh1 = xt[:n_spin].reshape(L - 1, _N_SPIN).T
    T, Q0, Q1 = xt[n_spin:].reshape(L, _N_BOND).T
    value = torch.zeros((), dtype=torch.float64)
    if L > 1:
        spin_m = torch.full((L - 1, 1), m, dtype=torch.float64)
        cascade = cascade_torch(spin_top(L - 1), torch.stack([qh0, qh1 - qh0], 1), spin_m, *grid,
                                outer=Outer(that, torch.ones_like))  # fmt: skip
        linear = -that * t + 0.5 * (m * qh0 * q0 + (1 - m) * qh1 * q1) - 0.5 * qh1
        value = value + torch.sum(linear + cascade)
    one = torch.ones(1, dtype=torch.float64)
    tf, q0f, q1f = (torch.cat([one, v, one]) for v in (t, q0, q1))
    d_t, d0, d1 = tf[:-1] * T * tf[1:], q0f[:-1] * Q0 * q0f[1:], q1f[:-1] * Q1 * q1f[1:]
    slope = d_t / torch.sqrt(d0 - d_t**2)

    def teacher_weight(z):
        return 2.0 * torch.special.ndtr(slope[:, None] * z)

    gap_m = torch.full((L, 1), m, dtype=torch.float64)
    gap = cascade_torch(gap_top(torch.sqrt(1.0 - d1)), torch.stack([d0, d1 - d0], 1), gap_m,
                        *grid, outer=Outer(torch.zeros_like(d0), teacher_weight))  # fmt: skip
    value = value + torch.sum(gap)
    value.backward()
    grad = xt.grad.numpy().copy()
    # bonds (numpy, analytic gradient): ln(1 − T²) + B[X], X_j = (Q_j − T²)/(1 − T²)
    Tn, Qn = x[n_spin:].reshape(L, _N_BOND)[:, 0], x[n_spin:].reshape(L, _N_BOND)[:, 1:]
    rest = 1.0 - Tn**2
    X = (Qn - Tn[:, None] ** 2) / rest[:, None]
    b, gX, _ = spherical_entropy(X, np.full((L, 1), m), validate=False)
    bond_grad = np.zeros((L, _N_BOND))
    bond_grad[:, 1:] = gX / rest[:, None]
    dX_dT = -2.0 * Tn[:, None] * (1.0 - Qn) / rest[:, None] ** 2
    bond_grad[:, 0] = -2.0 * Tn / rest + np.sum(gX * dX_dT, axis=1)
    grad[n_spin:] += bond_grad.ravel() / (2.0 * alpha)
    total = float(value.detach()) + float(np.sum(np.log(rest) + b)) / (2.0 * alpha)
    return total, grad


def teacher_rsb_free_entropy(alpha, spins, bonds, m, n_grid=129, n_side=24):
    """Eq. (teacher-one-step) at given order parameters, and its gradient.

    Parameters
    ----------
    alpha : float, > 0
    spins : array (L−1, 6)
        Per hidden layer t ∈ [0, 1), t̂ ≥ 0, 0 < q_0 ≤ q_1 < 1, 0 < q̂_0 ≤ q̂_1.
    bonds : array (L, 3)
        Per bond layer T ∈ [0, 1), T² < Q_0 ≤ Q_1 < 1.
    m : float, in (0, 1)
    n_grid : int, odd, in [9, 4097]
    n_side : int, in [2, 512]

    Returns
    -------
    value : float
    grad : ndarray, the gradient in ``[spins.ravel(), bonds.ravel()]``
    """
    alpha = check_real("alpha", alpha, 0.0, low_open=True)
    bonds = check_array("bonds", bonds, 0.0, 1.0, high_open=True, ndim=2, allow_empty=False)
    if bonds.shape[1] != _N_BOND:
        raise ValueError(f"bonds must be an array (L, 3), got shape {bonds.shape}")
    L = bonds.shape[0]
    spins = check_array("spins", spins, 0.0, ndim=2)
    if spins.shape != (L - 1, _N_SPIN):
        raise ValueError(
            f"spins must be an array ({L - 1}, 6) for L = {L}, got shape {spins.shape}"
        )
    m = check_real("m", m, 0.0, 1.0, low_open=True, high_open=True)
    grid = check_cascade_grid(n_grid, n_side)
    _check_domain(spins, bonds)
    return _terms(alpha, L, m, np.concatenate([spins.ravel(), bonds.ravel()]), grid)


def _check_domain(spins, bonds):
    t, _, q0, q1, qh0, qh1 = spins.T
    T, Q0, Q1 = bonds.T
    if not np.all((t < 1) & (0 < q0) & (q0 <= q1) & (q1 < 1) & (0 < qh0) & (qh0 <= qh1)):
        raise ValueError("spins must hold, per row, t in [0, 1), t̂ ≥ 0, 0 < q_0 ≤ q_1 < 1 and "
                         f"0 < q̂_0 ≤ q̂_1, got {spins.tolist()}")  # fmt: skip
    if not np.all((T**2 < Q0) & (Q0 <= Q1)):
        raise ValueError(f"bonds must hold, per row, T in [0, 1) and T² < Q_0 ≤ Q_1 < 1, got "
                         f"{bonds.tolist()}")  # fmt: skip


def solve_teacher_rsb(alpha, L, m=0.5, spread=0.1, teacher=True, tol=1e-9, max_iter=200,
                      n_grid=129, n_side=24, warn=True):  # fmt: skip
    """A stationary point of eq. (teacher-one-step), started away from replica symmetry.

    The start is the RS teacher solution (the Nishimori point: every level equal to the
    teacher overlap) with each student level pair split apart: q_0 = q(1 − spread),
    q_1 = q + spread(1 − q), the same for Q, and q̂_0, q̂_1 = q̂(1 ∓ spread). Powell's hybrid
    root finder (``scipy.optimize.root``, ``hybr``) then solves ∇Φ = 0 in every variable.
    With ``teacher=False`` the teacher variables are pinned at t = t̂ = T = 0, which makes
    eq. (teacher-one-step) the random-data one-step functional at fixed m: the control,
    where the same start and solver must find the one-step solution where RS is unstable.

    Parameters
    ----------
    alpha : float, > 0
    L : int, in [1, 12]
        Bond layers.
    m : float, in (0, 1)
        The breakpoint, held fixed.
    spread : float, in (0, 0.5]
        How far apart the start puts each pair of levels.
    teacher : bool
        Keep the teacher (True) or pin its overlaps at 0 (the random-data control).
    tol : float, > 0
        Convergence: the largest component of ∇Φ (the residual) below tol.
    max_iter : int, ≥ 1
        Evaluations of ∇Φ the root finder may spend, per variable.
    n_grid, n_side : the cascade's grid (odd n_grid in [9, 4097]; n_side in [2, 512]).
    warn : bool
        Emit a ``RuntimeWarning`` when the root finder stops unconverged.

    Returns
    -------
    SolverResult
        ``value`` a :class:`TeacherRSBProfile`; ``info``: ``gap`` (the rms distance between
        each pair of student levels, q and Q), ``nishimori`` (the largest distance of a
        student level from the teacher overlap of its layer), ``rs_entropy`` (the RS
        entropy at the start: eq. (rs-teacher), or eq. (rs-random) for the control).
    """
    alpha = check_real("alpha", alpha, 0.0, low_open=True)
    L = check_int("L", L, 1, 12)
    m = check_real("m", m, 0.0, 1.0, low_open=True, high_open=True)
    spread = check_real("spread", spread, 0.0, 0.5, low_open=True)
    teacher = check_bool("teacher", teacher)
    tol = check_real("tol", tol, 0.0, low_open=True)
    max_iter = check_int("max_iter", max_iter, 1)
    grid = check_cascade_grid(n_grid, n_side)
    warn = check_bool("warn", warn)
    rs = solve_rs(alpha, L, "teacher" if teacher else "random", warn=False).value
    if not np.all(rs.q[1:-1] > 0):
        raise ValueError(f"the RS solution at alpha = {alpha:g}, L = {L} has a liquid layer; "
                         "the one-step start needs every hidden layer frozen")  # fmt: skip
    x0, free = _start(rs, spread, teacher)
    full = x0.copy()

    def gradient(y):
        full[free] = y
        return _terms(alpha, L, m, full, grid)[1][free]

    solution = root(gradient, x0[free], method="hybr", tol=1e-14,
                    options={"maxfev": max_iter * (int(free.sum()) + 1)})  # fmt: skip
    full[free] = solution.x
    entropy, grad = _terms(alpha, L, m, full, grid)
    spins = full[: _N_SPIN * (L - 1)].reshape(L - 1, _N_SPIN)
    bonds = full[_N_SPIN * (L - 1) :].reshape(L, _N_BOND)
    residual = float(np.max(np.abs(grad[free]))) if np.all(np.isfinite(grad)) else np.inf
    pairs = np.concatenate([spins[:, 3] - spins[:, 2], bonds[:, 2] - bonds[:, 1]])
    levels = np.concatenate([spins[:, 2:4].ravel(), bonds[:, 1:3].ravel()])
    overlaps = np.concatenate([np.repeat(spins[:, 0], 2), np.repeat(bonds[:, 0], 2)])
    info = dict(
        gap=float(np.sqrt(np.mean(pairs**2))),
        nishimori=float(np.max(np.abs(levels - overlaps))),
        rs_entropy=rs.entropy,
    )
    profile = TeacherRSBProfile(alpha, L, m, spins.copy(), bonds.copy(), entropy)
    result = SolverResult.from_residual(profile, residual, tol, int(solution.nfev), info)
    if warn:
        warn_if_not_converged(result, f"solve_teacher_rsb(alpha={alpha:g}, L={L}, m={m:g})")
    return result


def _start(rs, spread, teacher):
    """The split start (packed) and the mask of free variables."""
    q, Q, qhat = rs.q[1:-1], rs.Q, rs.qhat[1:-1]
    keep = 1.0 if teacher else 0.0
    spins = np.stack([keep * q, keep * qhat, q * (1 - spread), q + spread * (1 - q),
                      qhat * (1 - spread), qhat * (1 + spread)], 1)  # fmt: skip
    bonds = np.stack([keep * Q, Q * (1 - spread), Q + spread * (1 - Q)], 1)
    free = np.ones(spins.size + bonds.size, dtype=bool)
    if not teacher:
        free[: spins.size].reshape(-1, _N_SPIN)[:, :2] = False
        free[spins.size :].reshape(-1, _N_BOND)[:, 0] = False
    return np.concatenate([spins.ravel(), bonds.ravel()]), free
