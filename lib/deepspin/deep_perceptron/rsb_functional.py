"""The k-step RSB free entropy of the deep perceptron's symmetric closure (random data).

Chapter ``yoshino_rsb``. Every layer carries a k-step Parisi function with breakpoints
``0 < m_1 < … < m_k < 1`` shared by all layers (the replicas cluster as whole networks, so
one tree of states serves every layer; a layer that does not see a level has two equal
levels there): spins ``q_j(l)`` and their conjugate fields ``q̂_j(l)`` on the hidden layers
l = 1 … L−1, bonds ``Q_j(l)`` on l = 1 … L. Hadamard products of Parisi matrices with one
tree are Parisi matrices, so the field overlap of layer l is ``Δ_j(l) = q_j(l−1) Q_j(l)
q_j(l)`` level by level, with the clamped ends ``q_j(0) = q_j(L) = 1``. The free entropy per
constraint at n → 0 is (eq. rsb-free-entropy)

    Φ = Σ_{l=1}^{L} B[Q(l)]/(2α)
        + Σ_{l=1}^{L−1} { ½ Σ_j (m_{j+1} − m_j) q̂_j(l) q_j(l) − ½ q̂_k(l) + C₊[q̂(l)] }
        + Σ_{l=1}^{L} C₋[Δ(l)],

with B the spherical (Crisanti–Sommers) entropy :func:`deepspin.hierarchy.spherical_entropy`,
C₊ the cascade :func:`deepspin.cascade.cascade_torch` of ``ln 2cosh`` with variances
``q̂_j − q̂_{j−1}`` (the SK-type Ising term) and C₋ the cascade of ``ln H(−h/√(1−Δ_k))`` with
variances ``Δ_j − Δ_{j−1}`` (Gardner's term). At k = 0 it is eq. (rs-random).

The variables are packed in one vector (:class:`Layout`); :func:`evaluate` returns Φ, its
gradient and, on request, its Hessian, assembled from the Hessians of the layer terms
(each a function of 2k + 1 numbers, batched over the layers) by the chain rule through Δ.

Internal (no ``__all__``, arguments unchecked): the validated entry points are in
:mod:`deepspin.deep_perceptron.rsb`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from deepspin.cascade import Top, cascade_torch
from deepspin.hierarchy import spherical_entropy

_LOG_SQRT_2PI = 0.5 * float(np.log(2.0 * np.pi))
_FD = 1e-6  # relative step of the finite differences of gradients that give the Hessians


@dataclass(frozen=True)
class Layout:
    """Where each order parameter sits in the packed vector x.

    x = [q (L−1, k+1), Q (L, k+1), q̂ (L−1, k+1), m (k)], each block row-major.
    """

    L: int
    k: int

    @property
    def size(self):
        return (3 * self.L - 2) * (self.k + 1) + self.k

    def slices(self):
        n_spin, n_bond = (self.L - 1) * (self.k + 1), self.L * (self.k + 1)
        a, b, c = n_spin, n_spin + n_bond, 2 * n_spin + n_bond
        return slice(0, a), slice(a, b), slice(b, c), slice(c, c + self.k)

    def unpack(self, x):
        """q (L+1, k+1) with the clamped ends, Q (L, k+1), q̂ (L+1, k+1) with zero ends, m (k,)."""
        sq, sQ, sh, sm = self.slices()
        k1 = self.k + 1
        q = np.ones((self.L + 1, k1))
        q[1:-1] = x[sq].reshape(-1, k1)
        qhat = np.zeros((self.L + 1, k1))
        qhat[1:-1] = x[sh].reshape(-1, k1)
        return q, x[sQ].reshape(-1, k1).copy(), qhat, x[sm].copy()

    def pack(self, q, Q, qhat, m):
        return np.concatenate([q[1:-1].ravel(), Q.ravel(), qhat[1:-1].ravel(), np.ravel(m)])

    def indices(self):
        """Index arrays iq (L+1, k+1) (−1 at the clamped ends), iQ (L, k+1), ih, im."""
        sq, sQ, sh, sm = self.slices()
        k1 = self.k + 1
        iq = np.full((self.L + 1, k1), -1)
        iq[1:-1] = np.arange(sq.start, sq.stop).reshape(-1, k1)
        ih = np.full((self.L + 1, k1), -1)
        ih[1:-1] = np.arange(sh.start, sh.stop).reshape(-1, k1)
        iQ = np.arange(sQ.start, sQ.stop).reshape(-1, k1)
        return iq, iQ, ih, np.arange(sm.start, sm.stop)


def _ln_2cosh(h):
    """ln 2cosh h, with an autograd derivative (tanh h) that stays accurate at h → 0."""
    small = torch.clamp(h, -1.0, 1.0)
    magnitude = torch.abs(h)
    return torch.where(
        magnitude < 1.0,
        torch.log(2.0 * torch.cosh(small)),
        magnitude + torch.log1p(torch.exp(-2.0 * torch.clamp(magnitude, min=1.0))),
    )


def spin_top(batch):
    """``ln 2cosh y`` (eq. rsb-free-entropy's Ising term), for a batch of layers."""
    return Top(_ln_2cosh, torch.tanh, lambda h: 1.0 / torch.cosh(h) ** 2,
               torch.ones(batch, dtype=torch.float64), 1.0)  # fmt: skip


def gap_top(width):
    """``ln H(−h/s) = ln Φ(h/s)``, s = √(1 − Δ_k) per layer (Gardner's constraint)."""

    def scaled(h):
        return h / width.reshape(-1, *([1] * (h.dim() - 1)))

    def ratio(x):  # G(x)/Φ(x), finite for every x
        return torch.exp(-0.5 * x * x - _LOG_SQRT_2PI - torch.special.log_ndtr(x))

    def first(h):
        return ratio(scaled(h)) / width.reshape(-1, *([1] * (h.dim() - 1)))

    def second(h):
        x = scaled(h)
        r = ratio(x)
        return -r * (x + r) / width.reshape(-1, *([1] * (h.dim() - 1))) ** 2

    return Top(lambda h: torch.special.log_ndtr(scaled(h)), first, second, width, 0.0)


def _cascade_values(kind, variances, m, grid):
    """Value and gradient (in variances and m) of a batch of cascades; numpy in and out."""
    v = torch.tensor(variances, dtype=torch.float64, requires_grad=True)
    mm = torch.tensor(m, dtype=torch.float64, requires_grad=True)
    if kind == "spin":
        top = spin_top(v.shape[0])
    else:
        top = gap_top(torch.sqrt(torch.clamp(1.0 - v.sum(dim=1), min=1e-300)))
    value = cascade_torch(top, v, mm, *grid)
    gv, gm = torch.autograd.grad(value.sum(), (v, mm), allow_unused=True)
    gm = torch.zeros_like(mm) if gm is None else gm
    return value.detach().numpy(), gv.numpy(), gm.numpy()


def _cascade_hessian(kind, variances, m, grid, grad_v, grad_m, columns=None):
    """Hessian of a batch of cascades in (variances, m), by differences of gradients.

    Steps go up in the variances (a variance may be 0) and both ways in m. Returns
    (B, 2k+1, 2k+1), symmetrised; with ``columns``, only those columns (and rows) are
    filled, the rest is 0.
    """
    B, k1 = variances.shape
    k = k1 - 1
    theta = np.concatenate([variances, m], axis=1)
    base = np.concatenate([grad_v, grad_m], axis=1)
    hess = np.zeros((B, 2 * k + 1, 2 * k + 1))
    for c in range(2 * k + 1) if columns is None else columns:
        step = _FD * max(1.0, float(np.max(np.abs(theta[:, c]))))
        up = theta.copy()
        up[:, c] += step
        g_up = np.concatenate(_cascade_values(kind, up[:, :k1], up[:, k1:], grid)[1:], axis=1)
        if c >= k1:  # a breakpoint: central differences where the order allows it
            down = theta.copy()
            down[:, c] -= step
            g_down = np.concatenate(
                _cascade_values(kind, down[:, :k1], down[:, k1:], grid)[1:], axis=1
            )
            hess[:, :, c] = (g_up - g_down) / (2.0 * step)
        else:
            hess[:, :, c] = (g_up - base) / step
    if columns is not None:
        keep = np.zeros(2 * k + 1, dtype=bool)
        keep[list(columns)] = True
        hess[:, ~keep, :] = 0.0
    return 0.5 * (hess + np.transpose(hess, (0, 2, 1)))


def _levels_to_variances(k1):
    """D with v = D · levels (v_0 = level_0, v_j = level_j − level_{j−1})."""
    return np.eye(k1) - np.eye(k1, k=-1)


def _bond_hessian(Q, m):
    """Hessian of the spherical entropy in (Q levels, m) by central differences, (L, 2k+1, 2k+1)."""
    L, k1 = Q.shape
    theta = np.concatenate([Q, np.broadcast_to(m, (L, k1 - 1))], axis=1)
    hess = np.empty((L, theta.shape[1], theta.shape[1]))
    for c in range(theta.shape[1]):
        step = _FD * 1e-1
        grads = []
        for sign in (1.0, -1.0):
            t = theta.copy()
            t[:, c] += sign * step
            _, gq, gm = spherical_entropy(t[:, :k1], t[:, k1:], validate=False)
            grads.append(np.concatenate([gq, gm], axis=1))
        hess[:, :, c] = (grads[0] - grads[1]) / (2.0 * step)
    return 0.5 * (hess + np.transpose(hess, (0, 2, 1)))


def layer_terms(alpha, q, Q, qhat, m, grid=(129, 24)):
    """The free entropy's terms layer by layer (eq. rsb-free-entropy), unchecked.

    Returns dict ``bond`` (L,) (already divided by 2α), ``spin`` (L+1,) (0 at the ends),
    ``gap`` (L,).
    """
    L = Q.shape[0]
    mb = np.broadcast_to(m, (L, m.size))
    bond = spherical_entropy(Q, mb, validate=False)[0] / (2.0 * alpha)
    widths = np.diff(np.concatenate(([0.0], m, [1.0])))
    spin = np.zeros(L + 1)
    if L > 1:
        h, qh = q[1:-1], qhat[1:-1]
        cascade = _cascade_values("spin", np.diff(qh, prepend=0.0, axis=1), mb[1:], grid)[0]
        spin[1:-1] = 0.5 * np.sum(widths * qh * h, axis=1) - 0.5 * qh[:, -1] + cascade
    delta = q[:-1] * Q * q[1:]
    gap = _cascade_values("gap", np.diff(delta, prepend=0.0, axis=1), mb, grid)[0]
    return {"bond": bond, "spin": spin, "gap": gap}


def evaluate(alpha, layout, x, hessian=False, grid=(129, 24)):
    """Φ (eq. rsb-free-entropy), its gradient and optionally its Hessian at packed x.

    Parameters
    ----------
    alpha : float
    layout : Layout
    x : array (layout.size,)
    hessian : bool
    grid : (n_grid, n_side) of the cascades

    Returns
    -------
    value, grad (size,), hess (size, size) or None
    """
    L, k = layout.L, layout.k
    k1 = k + 1
    q, Q, qhat, m = layout.unpack(x)
    iq, iQ, ih, im = layout.indices()
    n = layout.size
    grad = np.zeros(n)
    hess = np.zeros((n, n)) if hessian else None
    mb = np.broadcast_to(m, (L, k))
    widths = np.diff(np.concatenate(([0.0], m, [1.0])))
    D = _levels_to_variances(k1)

    def add(rows, cols, block):
        """hess[rows, cols] += block, skipping the clamped (−1) entries."""
        rows, cols = np.asarray(rows), np.asarray(cols)
        keep_r, keep_c = rows >= 0, cols >= 0
        hess[np.ix_(rows[keep_r], cols[keep_c])] += block[np.ix_(keep_r, keep_c)]

    # bonds: B[Q(l)]/(2α)
    bond, gQ, gm = spherical_entropy(Q, mb, validate=False)
    value = np.sum(bond) / (2.0 * alpha)
    np.add.at(grad, iQ, gQ / (2.0 * alpha))
    grad[im] += np.sum(gm, axis=0) / (2.0 * alpha)
    if hessian:
        hb = _bond_hessian(Q, m) / (2.0 * alpha)
        for l in range(L):
            idx = np.concatenate([iQ[l], im])
            add(idx, idx, hb[l])

    # spins: ½ Σ_j w_j q̂_j q_j − ½ q̂_k + C₊[q̂]
    if L > 1:
        h, qh = q[1:-1], qhat[1:-1]
        jq, jh = iq[1:-1], ih[1:-1]
        value += np.sum(0.5 * np.sum(widths * qh * h, axis=1) - 0.5 * qh[:, -1])
        np.add.at(grad, jq, 0.5 * widths * qh)
        np.add.at(grad, jh, 0.5 * widths * h)
        grad[jh[:, -1]] -= 0.5
        # ∂w_j/∂m_i = δ_{j+1,i} − δ_{j,i}
        grad[im] += 0.5 * np.sum(qh[:, :-1] * h[:, :-1] - qh[:, 1:] * h[:, 1:], axis=0)
        variances = qh @ D.T
        c_val, c_gv, c_gm = _cascade_values("spin", variances, mb[1:], grid)
        value += np.sum(c_val)
        np.add.at(grad, jh, c_gv @ D)
        grad[im] += np.sum(c_gm, axis=0)
        if hessian:
            for l in range(L - 1):
                hess[jq[l], jh[l]] += 0.5 * widths
                hess[jh[l], jq[l]] += 0.5 * widths
                for i in range(k):  # ∂w_j/∂m_{i+1} = δ_{j,i} − δ_{j,i+1}
                    for j, sign in ((i, 0.5), (i + 1, -0.5)):
                        for a, coef in ((jq[l, j], qh[l, j]), (jh[l, j], h[l, j])):
                            hess[a, im[i]] += sign * coef
                            hess[im[i], a] += sign * coef
            hc = _cascade_hessian("spin", variances, mb[1:], grid, c_gv, c_gm)
            T = np.zeros((2 * k + 1, 2 * k + 1))
            T[:k1, :k1], T[k1:, k1:] = D, np.eye(k)
            hc = T.T @ hc @ T
            for l in range(L - 1):
                idx = np.concatenate([jh[l], im])
                add(idx, idx, hc[l])

    # gaps: C₋[Δ(l)], Δ_j(l) = q_j(l−1) Q_j(l) q_j(l)
    qa, qb = q[:-1], q[1:]
    delta = qa * Q * qb
    variances = delta @ D.T
    g_val, g_gv, g_gm = _cascade_values("gap", variances, mb, grid)
    value += np.sum(g_val)
    g_delta = g_gv @ D  # ∂C/∂Δ_j, (L, k+1)
    # ∂Δ/∂(q(l−1), Q(l), q(l))
    parts = ((iq[:-1], Q * qb), (iQ, qa * qb), (iq[1:], qa * Q))
    for index, d in parts:
        keep = index >= 0
        np.add.at(grad, index[keep], (g_delta * d)[keep])
    grad[im] += np.sum(g_gm, axis=0)
    if hessian:
        hc = _cascade_hessian("gap", variances, mb, grid, g_gv, g_gm)
        T = np.zeros((2 * k + 1, 2 * k + 1))
        T[:k1, :k1], T[k1:, k1:] = D, np.eye(k)
        hc = T.T @ hc @ T  # in (Δ levels, m)
        for l in range(L):
            for j in range(k1):
                # x = (q_j(l−1), Q_j(l), q_j(l)): J = ∂Δ_j/∂x, and the bilinear second part
                idx = np.array([iq[l, j], iQ[l, j], iq[l + 1, j]])
                jac = np.array([Q[l, j] * qb[l, j], qa[l, j] * qb[l, j], qa[l, j] * Q[l, j]])
                second = g_delta[l, j] * np.array(
                    [[0.0, qb[l, j], Q[l, j]], [qb[l, j], 0.0, qa[l, j]], [Q[l, j], qa[l, j], 0.0]]
                )
                add(idx, idx, second)
                for i in range(k1):
                    idx_i = np.array([iq[l, i], iQ[l, i], iq[l + 1, i]])
                    jac_i = np.array([Q[l, i] * qb[l, i], qa[l, i] * qb[l, i], qa[l, i] * Q[l, i]])
                    add(idx, idx_i, hc[l, j, i] * np.outer(jac, jac_i))
                add(idx, im, np.outer(jac, hc[l, j, k1:]))
                add(im, idx, np.outer(hc[l, k1:, j], jac))
            add(im, im, hc[l, k1:, k1:])
    return float(value), grad, hess


def conjugate_fields(q, qhat, m, grid=(129, 24), tol=1e-12, max_iter=30):
    """The conjugate levels q̂ that maximise each hidden layer's spin term at fixed q.

    ``S_l(q̂) = ½ Σ_j (m_{j+1} − m_j) q̂_j q_j(l) − ½ q̂_k + C₊[q̂]`` is concave in q̂ (its
    Hessian is the spin cascade's, −χ-like). It is maximised over ordered q̂ ≥ 0, in the
    variances ``v_j = q̂_j − q̂_{j−1} ≥ 0``, by projected Newton: a variance at 0 whose
    gradient points below 0 stays there (a layer whose q_0 = 0 has q̂_0 = 0, a layer with
    two equal levels two equal fields). Unchecked (solvers pass validated arrays).

    Parameters
    ----------
    q : array (B, k+1)
        Spin levels of B layers.
    qhat : array (B, k+1)
        Start.
    m : array (k,)
    grid, tol, max_iter :
        Cascade grid; stop when the projected gradient in v is below tol, or after
        max_iter steps.

    Returns
    -------
    qhat (B, k+1), residual
        ``residual`` is the largest projected-gradient component.
    """
    B, k1 = q.shape
    mb = np.broadcast_to(m, (B, k1 - 1))
    widths = np.diff(np.concatenate(([0.0], m, [1.0])))
    # ∂/∂v_j of the linear part: Σ_{i≥j} ½ w_i q_i − ½
    linear = np.flip(np.cumsum(np.flip(0.5 * widths * q, 1), axis=1), 1) - 0.5

    def state(v):
        value, gv, gm = _cascade_values("spin", v, mb, grid)
        return value + np.sum(linear * v, axis=1), linear + gv, gv, gm

    def projected(v, g):
        return np.where((v <= 0.0) & (g < 0.0), 0.0, g)

    v = np.maximum(np.diff(np.asarray(qhat, dtype=float), axis=1, prepend=0.0), 0.0)
    value, g, gv, gm = state(v)
    for _ in range(max_iter):
        if np.max(np.abs(projected(v, g)), initial=0.0) <= tol:
            break
        hess = _cascade_hessian("spin", v, mb, grid, gv, gm, columns=range(k1))[:, :k1, :k1]
        free = ~((v <= 0.0) & (g < 0.0))
        step = np.zeros_like(v)
        for b in range(B):
            f = free[b]
            try:
                step[b, f] = -np.linalg.solve(hess[b][np.ix_(f, f)], g[b, f])
            except np.linalg.LinAlgError:
                step[b, f] = g[b, f]
        step = np.where(np.isfinite(step), step, 0.0)
        t = np.ones(B)
        for _ in range(30):
            trial = np.maximum(v + t[:, None] * step, 0.0)
            new_value, new_g, new_gv, new_gm = state(trial)
            # ascent, or (where the value no longer resolves the gain) a smaller gradient
            size = np.max(np.abs(projected(v, g)), axis=1)
            new_size = np.max(np.abs(projected(trial, new_g)), axis=1)
            better = (new_value > value) | (new_size < size)
            if np.all(better):
                break
            t = np.where(better, t, 0.5 * t)
        v, value, g, gv, gm = trial, new_value, new_g, new_gv, new_gm
    return np.cumsum(v, axis=1), float(np.max(np.abs(projected(v, g)), initial=0.0))
