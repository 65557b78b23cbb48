"""Φ̃ = max over q̂ of the k-RSB free entropy, in coordinates that keep the levels ordered.

Chapter ``yoshino_rsb``, section "Solving". Internal to :mod:`deepspin.deep_perceptron.rsb`
(arguments are not checked). The conjugate fields q̂ enter Φ (eq. rsb-free-entropy)
through each hidden layer's spin term, which is concave in them; maximising it layer by
layer (:func:`~deepspin.deep_perceptron.rsb_functional.conjugate_fields`) leaves Φ̃(q, Q, m),
eq. (rsb-reduced). Its gradient is Φ's (the envelope theorem) and its Hessian the Schur
complement of Φ's over q̂. At an RS solution Φ̃ is a minimum in the RS directions, and
beyond the replicon's zero a saddle in the replicon ones: as for the SK model, where
Φ̃ ≥ P (the Parisi functional) with equality at the solution and Guerra's bound makes P a
minimum, the 1RSB solution is sought as a minimum of Φ̃ over the levels and breakpoints.

Coordinates: every free q or Q function is written ``q_j = 1 − exp(−Σ_{i≤j} t_i)`` with
t ≥ 0 (ordered, below 1, and 1 − q resolved down to e^{−40}); the breakpoints likewise.
"""

from __future__ import annotations

import numpy as np

from deepspin.deep_perceptron.rsb_functional import conjugate_fields, evaluate

SPIN_TOP = 1.0 - 1e-9  # a spin level above it would need q̂ beyond 1e9
FIELD_TOL = 1e-9  # the inner maximisation over q̂ must reach this gradient
T_MAX = 40.0  # largest increment of −ln(1 − level): 1 − q ≥ e^{−40}
JAMMED = 1.0 - 1e-4  # a level above it: the states are shrinking to points


def free_rows(layout, frozen):
    """Index rows (levels 0 … k) of the free functions: q and Q of the frozen layers, and
    q̂ of the frozen hidden layers."""
    iq, iQ, ih, _ = layout.indices()
    hidden = np.flatnonzero(frozen[1:-1]) + 1
    bonds = np.flatnonzero(frozen[:-1] & frozen[1:])
    k1 = layout.k + 1
    overlaps = np.vstack([iq[hidden], iQ[bonds]]).reshape(-1, k1)
    return overlaps, iq[hidden].reshape(-1, k1), ih[hidden].reshape(-1, k1)


def ordered_levels(t):
    """Levels ``1 − exp(−Σ_{i≤j} t_i)`` along the last axis (t ≥ 0 keeps them ordered in
    [0, 1) and resolves 1 − q down to e^{−40}), their Jacobian (…, j, i) and second
    derivatives (…, j, i, i')."""
    rest = np.exp(-np.cumsum(t, axis=-1))
    n = t.shape[-1]
    lower = np.tril(np.ones((n, n)))
    jac = rest[..., :, None] * lower
    second = -jac[..., :, :, None] * lower[:, None, :]
    return 1.0 - rest, jac, second


def level_increments(levels):
    """The t of :func:`ordered_levels` for non-decreasing levels in [0, 1)."""
    return np.diff(-np.log1p(-np.asarray(levels, dtype=float)), axis=-1, prepend=0.0)


class Reduced:
    """Φ̃(y) = max over q̂ of Φ (eq. rsb-reduced), y the increments (:func:`ordered_levels`) of the
    free q and Q functions and, when ``free_m``, of the breakpoints."""

    def __init__(self, alpha, layout, frozen, x, grid, free_m=True):
        self.alpha, self.layout, self.grid = alpha, layout, grid
        self.rows, self.spins, self.hats = free_rows(layout, frozen)
        im = layout.indices()[3]
        self.im = im if free_m else im[:0]
        self.x = np.array(x, dtype=float)
        self.n_rows = self.rows.size

    def y_of(self, x):
        return np.concatenate(
            [level_increments(x[self.rows]).ravel(), level_increments(x[self.im])]
        )

    def _x(self, y):
        x = self.x.copy()
        levels = ordered_levels(y[: self.n_rows].reshape(self.rows.shape))
        breaks = ordered_levels(y[self.n_rows :])
        x[self.rows] = levels[0]
        x[self.im] = breaks[0]
        return x, levels, breaks

    def _fields(self, x):
        """x with the q̂ that maximise Φ at its q; None where they do not exist (a spin
        level at 1 needs q̂ = ∞) or the inner Newton fails."""
        if self.hats.size:
            if np.max(x[self.spins]) > SPIN_TOP:
                return None
            m = x[self.layout.indices()[3]]
            fields, residual = conjugate_fields(x[self.spins], x[self.hats], m, self.grid)
            if not (np.all(np.isfinite(fields)) and residual <= FIELD_TOL):
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
