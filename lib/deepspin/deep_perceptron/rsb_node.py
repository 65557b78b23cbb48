"""One step of RSB in the exact-node closure, random data (chapter ``yoshino_rsb``, section
"The exact-node closure at one step").

With one step per layer (levels q_0 ≤ q_1, Q_0 ≤ Q_1, conjugates q̂_0 ≤ q̂_1, one breakpoint
m for every layer: Hadamard products of Parisi matrices keep their breakpoints), the
exact-node free entropy per constraint, eq. (rs-node) of ``yoshino_rs``, becomes
(eq. node-one-step)

    Φ = Σ_{l=1}^{L} B[Q(l); m]/(2α)
        + Σ_{l=1}^{L−1} {½[m q̂_0 q_0 + (1−m) q̂_1 q_1] − ½ q̂_1 + N[q̂(l), C(l); m]}
        + G[C(L); m],       C_j(l) = Q_j(l) q_j(l−1),  q(0) = 1,

with B the spherical (Crisanti–Sommers) bond entropy, G Gardner's one-step gap term at the
clamped output, and the node's one-step term

    N = ∫Dy_0 Dz_0 m⁻¹ ln ∫Dy_1 Dz_1 Z(u, v)^m,
    u = √q̂_0 y_0 + √(q̂_1 − q̂_0) y_1,   v = √C_0 z_0 + √(C_1 − C_0) z_1,
    Z(u, v) = e^u H(−v/s) + e^{−u} H(v/s),   s = √(1 − C_1),

the RS node Ψ with its two Gaussian fields split into an outer and an inner part. With
``Z = 2cosh(u + h(w)) e^{c(w)}``, w = v/s, ``h = ½ ln[H(−w)/H(w)]``,
``c = ½ ln[H(w)H(−w)]``, the y_1 average is the one-field level of the spin cascade,
``g(x) = m⁻¹ ln ∫Dy exp(m ln 2cosh(x + √(q̂_1 − q̂_0) y))``, held on a grid
(:func:`deepspin.cascade.tilted_level`), and

    N = ∫Dy_0 Dz_0 m⁻¹ ln ∫Dz_1 exp(m [c(w) + g(√q̂_0 y_0 + h(w))]).

The z integrals are Gauss–Legendre rules split at their bends (v = 0, on the scale s;
:func:`deepspin.cascade.split_rule`). At q̂_0 = q̂_1, C_0 = C_1 it is the RS node term Ψ.
A node whose layer below is liquid has C ≡ 0 (w = 0): then N is the spin cascade less ln 2;
a liquid node (q̂ = C = 0) contributes 0.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from deepspin.cascade import cascade_torch, split_rule, tilted_level
from deepspin.checks import check_array, check_bool, check_int, check_real
from deepspin.deep_perceptron.rs import RSProfile
from deepspin.deep_perceptron.rsb import check_cascade_grid
from deepspin.deep_perceptron.rsb_functional import gap_top, spin_top
from deepspin.deep_perceptron.rsb_reduced import (
    JAMMED,
    T_MAX,
    level_increments,
    ordered_levels,
)
from deepspin.hierarchy import spherical_entropy
from deepspin.optimize import projected_newton
from deepspin.results import SolverResult, warn_if_not_converged

__all__ = [
    "NodeRSBProfile",
    "node_fields",
    "node_one_step",
    "node_rsb_free_entropy",
    "solve_node_rsb",
]

_LN2 = float(np.log(2.0))
_ZMAX = 8.0


def _node_cascade(qhat, C, m, n_grid, n_side):
    """N (eq. node-one-step) for B nodes: qhat, C tensors (B, 2) of levels, m a tensor (B,)."""
    var_u, var_v = qhat[:, 1] - qhat[:, 0], C[:, 1] - C[:, 0]
    s = torch.sqrt(1.0 - C[:, 1])
    zero, reach = torch.zeros_like(s[:, None]), torch.full_like(s, _ZMAX)
    # outer rules in y_0 and z_0 (bends at 0: u on the scale √(1 + var_u), v on √(1 − C_0))
    sd_u, sd_v = torch.sqrt(qhat[:, 0]), torch.sqrt(C[:, 0])
    y0, wy = split_rule(zero, sd_u.detach(), n_side, reach, torch.sqrt(1.0 + var_u).detach())
    z0, wz = split_rule(zero, sd_v.detach(), n_side, reach, torch.sqrt(1.0 - C[:, 0]).detach())
    u0 = sd_u[:, None] * y0[:, 0, :]  # (B, n)
    v0 = sd_v[:, None] * z0[:, 0, :]
    # inner rule in z_1 around the bend v = 0 of each outer point
    tau = torch.sqrt(var_v)
    z1, w1 = split_rule(v0.detach(), torch.clamp(tau.detach(), min=1e-300), n_side, reach,
                        s.detach())  # fmt: skip
    w = (v0[:, :, None] + tau[:, None, None] * z1) / s[:, None, None]  # (B, n_z0, n_z1)
    log_minus, log_plus = torch.special.log_ndtr(w), torch.special.log_ndtr(-w)  # ln H(∓w)
    c, h = 0.5 * (log_minus + log_plus), 0.5 * (log_minus - log_plus)
    x = u0[:, :, None, None] + h[:, None, :, :]  # (B, n_y0, n_z0, n_z1)
    half_width = torch.amax(torch.abs(x.detach()).reshape(x.shape[0], -1), dim=1) + 1.0
    level = tilted_level(spin_top(x.shape[0]), var_u, m, half_width, n_grid, n_side)
    exponent = m[:, None, None, None] * (c[:, None] + level(x))
    inner = torch.logsumexp(exponent + torch.log(w1)[:, None], dim=-1) / m[:, None, None]
    return torch.einsum("bi,bj,bij->b", wy[:, 0, :], wz[:, 0, :], inner)


def node_one_step(qhat, C, m, n_grid=129, n_side=16):
    """The exact-node closure's one-step node term N (eq. node-one-step), for one node.

    Parameters
    ----------
    qhat : array (2,), 0 < q̂_0 ≤ q̂_1
        The node's conjugate levels.
    C : array (2,), 0 < C_0 ≤ C_1 < 1
        The levels of its field's overlap, C_j = Q_j q_j of the layer below.
    m : float, in (0, 1)
    n_grid : int, odd, in [9, 4097]
        Grid of the spin level.
    n_side : int, in [2, 512]
        Gauss–Legendre nodes per panel of each Gaussian integral.

    Returns
    -------
    float
    """
    qhat = check_array("qhat", qhat, 0.0, low_open=True, ndim=1)
    C = check_array("C", C, 0.0, 1.0, low_open=True, high_open=True, ndim=1)
    for name, levels in (("qhat", qhat), ("C", C)):
        if levels.shape != (2,):
            raise ValueError(f"{name} must hold two levels, got shape {levels.shape}")
        if levels[1] < levels[0]:
            raise ValueError(f"{name} must be non-decreasing, got {levels.tolist()}")
    m = check_real("m", m, 0.0, 1.0, low_open=True, high_open=True)
    grid = check_cascade_grid(n_grid, n_side)

    def tensor(v):
        return torch.tensor(np.atleast_2d(v), dtype=torch.float64)

    value = _node_cascade(tensor(qhat), tensor(C), torch.tensor([m], dtype=torch.float64), *grid)
    return float(value[0])


@dataclass
class NodeRSBProfile:
    """A stationary point of eq. (node-one-step).

    Attributes
    ----------
    alpha, L :
        The parameters.
    m : float
        The breakpoint.
    spins : ndarray (L−1, 4)
        Per hidden layer q_0, q_1, q̂_0, q̂_1 (liquid layers: zeros).
    bonds : ndarray (L, 2)
        Per bond layer Q_0, Q_1.
    entropy : float
        Φ at the point.
    """

    alpha: float
    L: int
    m: float
    spins: np.ndarray
    bonds: np.ndarray
    entropy: float


class _Structure:
    """Which layers take part: hidden nodes that are live, and of them those whose layer
    below is liquid (C ≡ 0); bonds between two frozen spin layers."""

    def __init__(self, frozen):
        self.L = frozen.size - 1
        hidden = frozen[1:-1]
        below = frozen[:-2]
        self.full = hidden & below
        self.spin_only = hidden & ~below
        self.bonds = frozen[:-1] & frozen[1:]


def _entropy(alpha, structure, spins, bonds, m, grid):
    """Φ as a torch scalar of torch spins (L−1, 4), bonds (L, 2) and m (0-d), bonds' part
    excluded (it is numpy: :func:`_bond_part`)."""
    q, qhat = spins[:, :2], spins[:, 2:]
    one = torch.ones((1, 2), dtype=torch.float64)
    C = bonds * torch.cat([one, q])  # C_j(l) = Q_j(l) q_j(l−1), l = 1 … L
    value = torch.sum(0.5 * (m * qhat[:, 0] * q[:, 0] + (1 - m) * qhat[:, 1] * q[:, 1])
                      - 0.5 * qhat[:, 1])  # fmt: skip
    full, spin_only = (torch.as_tensor(mask) for mask in (structure.full, structure.spin_only))
    if full.any():
        ms = m * torch.ones(int(full.sum()), dtype=torch.float64)
        value = value + torch.sum(_node_cascade(qhat[full], C[:-1][full], ms, *grid))
    if spin_only.any():
        n = int(spin_only.sum())
        h = qhat[spin_only]
        variances = torch.stack([h[:, 0], h[:, 1] - h[:, 0]], 1)
        cascade = cascade_torch(spin_top(n), variances, m * torch.ones((n, 1), dtype=torch.float64),
                                *grid)  # fmt: skip
        value = value + torch.sum(cascade - _LN2)
    d = C[-1:]
    variances = torch.stack([d[:, 0], d[:, 1] - d[:, 0]], 1)
    gap = cascade_torch(gap_top(torch.sqrt(1.0 - d[:, 1])), variances,
                        m * torch.ones((1, 1), dtype=torch.float64), *grid)  # fmt: skip
    return value + gap[0]


def _bond_part(alpha, structure, bonds, m):
    """Σ B[Q(l); m]/(2α) over the frozen bonds, with its gradients in Q and m (numpy)."""
    live = structure.bonds
    grad_Q, grad_m, value = np.zeros(bonds.shape), 0.0, 0.0
    if live.any():
        b, gq, gm = spherical_entropy(bonds[live], np.full((int(live.sum()), 1), m), validate=False)
        value = float(np.sum(b)) / (2 * alpha)
        grad_Q[live] = gq / (2 * alpha)
        grad_m = float(np.sum(gm)) / (2 * alpha)
    return value, grad_Q, grad_m


def _evaluate(alpha, structure, spins, bonds, m, grid):
    """Φ and its gradient in (spins, bonds, m), numpy in and out."""
    s = torch.tensor(spins, dtype=torch.float64, requires_grad=True)
    b = torch.tensor(bonds, dtype=torch.float64, requires_grad=True)
    mt = torch.tensor(m, dtype=torch.float64, requires_grad=True)
    value = _entropy(alpha, structure, s, b, mt, grid)
    value.backward()
    bond_value, grad_Q, grad_m = _bond_part(alpha, structure, bonds, m)
    return (float(value.detach()) + bond_value, s.grad.numpy(), b.grad.numpy() + grad_Q,
            float(mt.grad) + grad_m)  # fmt: skip


def _check_profile(spins, bonds):
    """Validated spins (L−1, 4), bonds (L, 2) with ordered levels in range."""
    bonds = check_array("bonds", bonds, 0.0, 1.0, high_open=True, ndim=2, allow_empty=False)
    if bonds.shape[1] != 2:
        raise ValueError(f"bonds must be an array (L, 2) of Q_0, Q_1, got shape {bonds.shape}")
    L = bonds.shape[0]
    spins = check_array("spins", spins, 0.0, ndim=2)
    if spins.shape != (L - 1, 4):
        raise ValueError(f"spins must be an array ({L - 1}, 4) of q_0, q_1, q̂_0, q̂_1 for "
                         f"L = {L}, got shape {spins.shape}")  # fmt: skip
    if np.any(spins[:, :2] >= 1.0):
        raise ValueError(f"spins' q levels must lie in [0, 1), got {spins[:, :2].tolist()}")
    for name, pairs in (("spins' q", spins[:, :2]), ("spins' q̂", spins[:, 2:]), ("bonds", bonds)):
        if np.any(pairs[:, 1] < pairs[:, 0]):
            raise ValueError(f"{name} levels must be non-decreasing, got {pairs.tolist()}")
    return spins, bonds


def node_rsb_free_entropy(alpha, spins, bonds, m, n_grid=129, n_side=16):
    """Eq. (node-one-step) at given levels, and its gradient.

    A layer whose levels are all zero is liquid (a spin layer: q = q̂ = 0; its bonds then
    have Q = 0, which the liquid's RS solution has as well).

    Parameters
    ----------
    alpha : float, > 0
    spins : array (L−1, 4)
        Per hidden layer q_0 ≤ q_1 in [0, 1), q̂_0 ≤ q̂_1, ≥ 0.
    bonds : array (L, 2)
        Per bond layer Q_0 ≤ Q_1 in [0, 1).
    m : float, in (0, 1)
    n_grid : int, odd, in [9, 4097]
    n_side : int, in [2, 512]

    Returns
    -------
    value : float
    grad_spins : ndarray (L−1, 4)
    grad_bonds : ndarray (L, 2)
    grad_m : float
    """
    alpha, spins, bonds, m, grid, structure = _check_point(alpha, spins, bonds, m, n_grid, n_side)
    return _evaluate(alpha, structure, spins, bonds, m, grid)


def _check_point(alpha, spins, bonds, m, n_grid, n_side):
    """Validated arguments of a point of eq. (node-one-step), its quadrature and the
    network's structure (a spin layer with all levels zero is liquid)."""
    alpha = check_real("alpha", alpha, 0.0, low_open=True)
    spins, bonds = _check_profile(spins, bonds)
    m = check_real("m", m, 0.0, 1.0, low_open=True, high_open=True)
    grid = check_cascade_grid(n_grid, n_side)
    frozen = np.concatenate([[True], np.any(spins > 0, axis=1), [True]])
    return alpha, spins, bonds, m, grid, _Structure(frozen)


def node_fields(alpha, spins, bonds, m, n_grid=129, n_side=20, warn=True):
    """The conjugate fields of eq. (node-one-step) at given levels: q̂(l) maximising Φ
    over q̂_0 ≥ 0, q̂_1 ≥ q̂_0 for every hidden layer, the inner problem of Φ̃ = max_q̂ Φ
    that :func:`solve_node_rsb` minimises.

    Each node's q̂ enters its own terms only, concavely (near the maximum): a 2 × 2 Newton
    per node, all at once, from the q̂ given in ``spins``. A field coordinate (q̂_0 or
    q̂_1 − q̂_0) at its floor 1e-9 with Φ still falling into the bound is held there: at
    levels q_0 below what the layer's input alone induces the maximum is on the boundary.

    Parameters
    ----------
    alpha, spins, bonds, m, n_grid, n_side : as :func:`node_rsb_free_entropy`; the q̂
        columns of ``spins`` are the start (each > 0 on a frozen layer).
    warn : bool
        Emit a ``RuntimeWarning`` when the Newton stops unconverged.

    Returns
    -------
    SolverResult
        ``value`` spins (L−1, 4) with the maximising q̂; ``residual`` the largest
        projected gradient in (q̂_0, q̂_1 − q̂_0), converged below 1e-9; ``info``:
        ``entropy`` (Φ there), ``held`` ((L−1, 2) mask of coordinates at their floor).
    """
    alpha, spins, bonds, m, grid, structure = _check_point(alpha, spins, bonds, m, n_grid, n_side)
    warn = check_bool("warn", warn)
    live = structure.full | structure.spin_only
    if np.any(spins[live, 2] <= 0) or np.any(spins[live, 3] <= spins[live, 2]):
        raise ValueError("spins' q̂ levels must start with 0 < q̂_0 < q̂_1 on every frozen "
                         f"layer, got {spins[:, 2:].tolist()}")  # fmt: skip
    fields, residual, iterations = _maximise_fields(
        lambda sp: _evaluate(alpha, structure, sp, bonds, m, grid)[1], spins, live
    )
    held = np.zeros((spins.shape[0], 2), dtype=bool)
    held[live] = _held(fields[live])
    info = dict(entropy=_evaluate(alpha, structure, fields, bonds, m, grid)[0], held=held)
    result = SolverResult.from_residual(fields, residual, _FIELD_TOL, iterations, info)
    if warn:
        warn_if_not_converged(result, f"node_fields(alpha={alpha:g}, m={m:g})")
    return result


_FLOOR = 1e-9  # smallest increment of a level: every Gaussian field keeps a variance
_FIELD_TOL = 1e-9  # the inner maximisation over q̂ reaches this gradient
_FIELD_ITER = 60  # in at most this many Newton steps


def _field_gradient(g_spins):
    """∂Φ in the field coordinates (q̂_0, q̂_1 − q̂_0) of rows of spins' gradients."""
    return np.stack([g_spins[:, 2] + g_spins[:, 3], g_spins[:, 3]], 1)


def _shift_field(spins, rows, j, step):
    """spins with field coordinate j (0: q̂_0, moving both levels; 1: q̂_1 − q̂_0) of the
    given rows raised by step."""
    shifted = spins.copy()
    shifted[rows, 3] += step
    if j == 0:
        shifted[rows, 2] += step
    return shifted


def _held(live_spins):
    """(n, 2) mask: which field coordinates (q̂_0, q̂_1 − q̂_0) of rows of spins sit at
    their floor."""
    return np.stack([live_spins[:, 2], live_spins[:, 3] - live_spins[:, 2]], 1) <= 2 * _FLOOR


def _maximise_fields(gradient, spins, live):
    """spins with each live node's q̂ maximising Φ over q̂_0 ≥ 0, q̂_1 − q̂_0 ≥ 0 (to the
    floor; ``gradient(spins)`` is Φ's gradient in spins), the residual (largest projected
    gradient) and the Newton steps taken. A coordinate at its floor with Φ falling into the
    bound is held there (the maximum is on the boundary: a layer polarised by its input can
    want q̂_0 < 0)."""
    spins = spins.copy()
    for iteration in range(_FIELD_ITER + 1):
        g_ad = _field_gradient(gradient(spins)[live])
        held = _held(spins[live]) & (g_ad < 0)
        g_ad[held] = 0.0
        residual = float(np.max(np.abs(g_ad)))
        if residual <= _FIELD_TOL or iteration == _FIELD_ITER:
            return spins, residual, iteration
        hess = np.empty((g_ad.shape[0], 2, 2))
        for j in range(2):  # every node's coordinate j at once (the blocks decouple)
            step = 1e-7 * np.maximum(1.0, spins[live, 2 + j])
            shifted = _shift_field(spins, live, j, step)
            g_shifted = _field_gradient(gradient(shifted)[live])
            hess[:, :, j] = (g_shifted - g_ad) / step[:, None]
        hess = 0.5 * (hess + np.swapaxes(hess, 1, 2))
        # a held coordinate neither moves nor couples: its row and column become −1·δ
        hess = np.where(held[:, :, None] | held[:, None, :], 0.0, hess)
        hess[:, [0, 1], [0, 1]] -= held
        # far from the maximum (a split start) a block may not be concave yet: shift it
        shift = np.maximum(np.linalg.eigvalsh(hess)[:, -1] + 1e-2, 0.0)
        hess = hess - shift[:, None, None] * np.eye(2)
        delta = -np.linalg.solve(hess, g_ad[..., None])[..., 0]
        a0, d0 = spins[live, 2], spins[live, 3] - spins[live, 2]
        # a trust region per node: neither coordinate falls below a quarter or more than
        # doubles (a flat node would otherwise overshoot back and forth); within 1e-7 of
        # zero a coordinate drops to its floor
        a = np.clip(a0 + delta[:, 0], 0.25 * a0, 2.0 * a0)
        d = np.clip(d0 + delta[:, 1], 0.25 * d0, 2.0 * d0)
        a, d = (np.where(x < 1e-7, _FLOOR, x) for x in (a, d))
        spins[live, 2], spins[live, 3] = a, a + d


class _Reduced:
    """Φ̃ = max over q̂ of eq. (node-one-step), as a function of y: the increments
    (:func:`~deepspin.deep_perceptron.rsb_reduced.ordered_levels`) of the live q and Q
    levels, then of m unless it is held fixed. Each node's q̂ enters its own terms only,
    concavely: the inner maximisation is a 2 × 2 Newton per node, all nodes at once, in
    (q̂_0, q̂_1 − q̂_0). Its gradient is Φ's (envelope theorem), its Hessian the Schur
    complement of Φ's (by differences of gradients) over the q̂ block."""

    def __init__(self, alpha, structure, spins, bonds, fixed_m, grid, m_start):
        self.alpha, self.structure, self.grid = alpha, structure, grid
        self.m = m_start  # with spins and bonds: the last point where Φ̃ was evaluated
        self.live = structure.full | structure.spin_only
        self.fixed_m = fixed_m
        self.spins, self.bonds = spins.copy(), bonds.copy()
        self.n_rows = 2 * int(self.live.sum()) + 2 * int(structure.bonds.sum())

    def y_of(self, spins, bonds, m):
        rows = np.concatenate([spins[self.live, :2], bonds[self.structure.bonds]])
        y = [level_increments(rows).ravel()]
        if self.fixed_m is None:
            y.append(level_increments([m]))
        return np.concatenate(y)

    def _levels(self, y):
        rows = ordered_levels(y[: self.n_rows].reshape(-1, 2))
        n_live = int(self.live.sum())
        spins, bonds = self.spins.copy(), self.bonds.copy()
        spins[self.live, :2] = rows[0][:n_live]
        bonds[self.structure.bonds] = rows[0][n_live:]
        m = self.fixed_m
        jac_m = np.zeros((1, 1))
        if self.fixed_m is None:
            m_levels = ordered_levels(y[self.n_rows :])
            m, jac_m = float(m_levels[0][0]), m_levels[1]
        return spins, bonds, m, rows, jac_m

    def _grad(self, spins, bonds, m):
        return _evaluate(self.alpha, self.structure, spins, bonds, m, self.grid)

    def fun(self, y):
        spins, bonds, m, rows, jac_m = self._levels(y)
        spins, residual, _ = _maximise_fields(
            lambda sp: self._grad(sp, bonds, m)[1], spins, self.live
        )
        if residual > _FIELD_TOL:  # the Newton failed: a trial point the line search rejects
            return np.inf, np.zeros(y.size)
        self.spins, self.bonds = spins, bonds
        value, g_spins, g_bonds, g_m = self._grad(spins, bonds, m)
        self.m = m
        return value, self._chain(g_spins, g_bonds, g_m, rows, jac_m)

    def _chain(self, g_spins, g_bonds, g_m, rows, jac_m):
        g_rows = np.concatenate([g_spins[self.live, :2], g_bonds[self.structure.bonds]])
        out = [np.einsum("fj,fji->fi", g_rows, rows[1]).ravel()]
        if self.fixed_m is None:
            out.append(g_m * jac_m[0])
        return np.concatenate(out)

    def hess(self, y):
        """Φ̃'s Hessian: Φ's in (y, free field coordinates) by forward differences of the
        gradient, then the Schur complement over the field block (a coordinate held at its
        floor is a constant of Φ̃ and stays out of it)."""
        spins = self.spins  # the fields of the last fun(y) (projected Newton calls it first)
        nodes = np.flatnonzero(self.live)
        free = ~_held(spins[self.live])
        coords = [(nodes[k], j) for j in range(2) for k in range(nodes.size) if free[k, j]]

        def gradient(y_, spins_):
            sp, bo, m, rows, jac_m = self._levels(y_)
            sp[self.live, 2:] = spins_[self.live, 2:]
            _, gs, gb, gm = self._grad(sp, bo, m)
            g_fields = _field_gradient(gs[self.live])
            return np.concatenate([self._chain(gs, gb, gm, rows, jac_m), g_fields.T[free.T]])

        base = gradient(y, spins)
        n_y = y.size
        H = np.empty((base.size, base.size))
        for i in range(base.size):
            if i < n_y:
                y_ = y.copy()
                y_[i] += 1e-6
                H[:, i] = (gradient(y_, spins) - base) / 1e-6
            else:
                node, j = coords[i - n_y]
                step = 1e-6 * max(1.0, spins[node, 2 + j])
                H[:, i] = (gradient(y, _shift_field(spins, node, j, step)) - base) / step
        H = 0.5 * (H + H.T)
        A, B, D = H[:n_y, :n_y], H[:n_y, n_y:], H[n_y:, n_y:]
        return A - B @ np.linalg.solve(D, B.T)


def solve_node_rsb(initial, m=None, spread=0.1, tol=1e-8, max_iter=40, max_step=0.1, n_grid=129,
                   n_side=20, warn=True):  # fmt: skip
    """The one-step solution of the exact-node closure (eq. node-one-step) on the branch of
    an RS solution: the minimum of Φ̃ = max over q̂ of Φ, as :func:`solve_rsb` finds it for
    the symmetric closure (the variational principle of eq. rsb-reduced).

    The start is the RS profile with each frozen layer's levels split apart: q_0 = q(1 −
    spread), q_1 = q + spread(1 − q), the same for Q, and q̂_0, q̂_1 = q̂(1 ∓ spread); liquid
    layers stay liquid (exact zeros). Projected Newton (:func:`deepspin.optimize.
    projected_newton`) then descends Φ̃ in the increments of −ln(1 − level), with a trust
    region that keeps it on the branch it starts from; each increment is kept above 1e-9
    (every Gaussian field keeps a variance: a closed outer level, q_0 = 0, is reached to
    that floor). Levels running to 1 mean that the states shrink to points (``jammed``).

    Parameters
    ----------
    initial : RSProfile
        An exact-node RS solution (random data) with at least one frozen hidden layer.
    m : float in (0, 1), optional
        Hold the breakpoint fixed; default: free, solved with the rest (∂Φ/∂m = 0, zero
        complexity).
    spread : float, in (0, 0.5]
    tol : float, > 0
        Convergence: Φ̃'s projected gradient (in the increments) below tol.
    max_iter : int, ≥ 1
        Newton steps.
    max_step : float, > 0
        Trust region: the largest change of an increment in one step.
    n_grid, n_side : the quadrature (odd n_grid in [9, 4097]; n_side in [2, 512]).
        n_side = 12 is too coarse on a frozen branch: at L = 6, α = 250, layer 1 (C ≈ 0.5,
        q̂_0 → 0) it is off by 2e-4 in Φ and gives ∂Φ/∂q̂_0 the wrong sign (−0.018
        against +0.008); n_side = 20 agrees with (1025, 48) to 1e-8 in Φ and 5e-5 in the
        gradient, at about 5× the cost.
    warn : bool
        Emit a ``RuntimeWarning`` when the solver stops unconverged.

    Returns
    -------
    SolverResult
        ``value`` a :class:`NodeRSBProfile`; ``info``: ``gap`` (the rms distance between the
        two levels of each live q and Q), ``rs_entropy`` (the RS entropy of ``initial``),
        ``complexity`` (Σ = −m² ∂Φ/∂m), ``jammed`` (a level of q or Q above 1 − 1e-4).
    """
    if not isinstance(initial, RSProfile) or (initial.scenario, initial.closure) != (
        "random",
        "exact-node",
    ):
        raise ValueError("initial must be an RSProfile of the exact-node closure with random "
                         f"data, got {initial!r:.80}")  # fmt: skip
    if m is not None:
        m = check_real("m", m, 0.0, 1.0, low_open=True, high_open=True)
    spread = check_real("spread", spread, 0.0, 0.5, low_open=True)
    tol = check_real("tol", tol, 0.0, low_open=True)
    max_iter = check_int("max_iter", max_iter, 1)
    max_step = check_real("max_step", max_step, 0.0, low_open=True)
    grid = check_cascade_grid(n_grid, n_side)
    warn = check_bool("warn", warn)
    frozen = initial.q > 0
    if not frozen[1:-1].any():
        raise ValueError(f"initial has no frozen hidden layer at alpha = {initial.alpha:g}: "
                         "one step of RSB needs one")  # fmt: skip
    alpha, structure = initial.alpha, _Structure(frozen)
    spins, bonds = _split(initial, structure, spread)
    m_start = 0.3 if m is None else m
    reduced = _Reduced(alpha, structure, spins, bonds, m, grid, m_start)
    y0 = np.maximum(reduced.y_of(spins, bonds, m_start), _FLOOR)
    lower = np.full(y0.size, _FLOOR)
    y, _, iterations, residual = projected_newton(reduced.fun, reduced.hess, y0, lower, T_MAX,
                                                  max_iter, tol, max_step)  # fmt: skip
    reduced.fun(y)
    spins, bonds, m_final = reduced.spins, reduced.bonds, reduced.m
    entropy, _, _, g_m = _evaluate(alpha, structure, spins, bonds, m_final, grid)
    live_levels = np.concatenate([spins[reduced.live, :2], bonds[structure.bonds]])
    info = dict(
        gap=float(np.sqrt(np.mean(np.diff(live_levels, axis=1) ** 2))),
        rs_entropy=initial.entropy,
        complexity=-(m_final**2) * g_m,
        jammed=bool(np.max(live_levels) > JAMMED),
    )
    profile = NodeRSBProfile(alpha, structure.L, m_final, spins, bonds, entropy)
    result = SolverResult.from_residual(profile, residual, tol, iterations, info)
    if warn:
        warn_if_not_converged(result, f"solve_node_rsb(alpha={alpha:g}, L={structure.L})")
    return result


def _split(rs, structure, spread):
    """The RS profile's levels split apart (liquid layers zero)."""
    q, Q, qhat = rs.q[1:-1], rs.Q, rs.qhat[1:-1]
    spins = np.stack([q * (1 - spread), q + spread * (1 - q), qhat * (1 - spread),
                      qhat * (1 + spread)], 1)  # fmt: skip
    live = structure.full | structure.spin_only
    spins[~live] = 0.0
    bonds = np.stack([Q * (1 - spread), Q + spread * (1 - Q)], 1)
    bonds[~structure.bonds] = 0.0
    return spins, bonds
