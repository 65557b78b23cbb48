"""Layer functions of the exact-node closure (random inputs/outputs, n → 0).

Chapter ``yoshino_rs``, section "A closure that keeps every node Ising". A hidden layer's
spin S is kept as an Ising variable at its node, with the constraint ``S h > 0`` on its
pre-activation h. In the dense limit h is Gaussian over the replicas with overlap
``C_l = Q_l q_{l−1}``; the spin also feels, through q̂_l, the layers above it. In replica
symmetry, with ``a = √q̂``, ``x = √(C/(1−C))``, ``w = x z``, the node term is (eq. node-term)

    Ψ(q̂, C) = ∫Dz∫Dy ln[e^{ay} H(−w) + e^{−ay} H(w)]
            = ∫Dz∫Dy { ½[ln H(w) + ln H(−w)] + ln 2cosh(ay + h(w)) },

with the node's own field ``h(w) = ½ ln[H(−w)/H(w)] = artanh erf(w/√2)``. Its derivatives
give the two functions the saddle point needs (eqs. node-overlap, node-force):

    q(q̂, C) = 1 − 2 ∂Ψ/∂q̂ = ∫Dz∫Dy tanh²(ay + h(w)),
    P(q̂, C) = −2 ∂Ψ/∂C   = (1/(1−C)) ∫Dz∫Dy [A(w) + B(w) tanh(ay + h(w))]²,

with ``A = ½[G/H(−w) − G/H(w)]``, ``B = ½[G/H(−w) + G/H(w)]``. The RS free entropy per
constraint of the whole network is then (eq. rs-node)

    s = Σ_{l=1}^{L} bond(Q_l)/(2α) + Σ_{l=1}^{L−1} [½ q̂_l (q_l − 1) + Ψ(q̂_l, C_l)] + gap(C_L),

with Gardner's gap term at the clamped output, and its stationary points solve

    Q_l/(1−Q_l)² = α q_{l−1} P_l,    q̂_l = Q_{l+1} P_{l+1},    q_l = q(q̂_l, C_l),

with ``P_l = P(q̂_l, C_l)`` for hidden layers and ``P_L = F(C_L)``. Limits: at q̂ = 0 the
overlap is the forward law ``(2/π) arcsin C``; at q̂ → ∞ (the spin clamped) P is Gardner's
force F(C); at C = 0, ``P = (2/π) q``.

The double integral is a tensor rule. The outer variable is z (x < 1) or w (x ≥ 1) on
the half line (every integrand is even under (w, y) → (−w, −y)); the inner one is y
(a < 1) or ``s = ay + h`` (a ≥ 1), whose weight ``G((s−h)/a)/a`` follows the node's field
wherever it is. In the s variable the parts that do not decay in s are integrated in
closed form, so that only decaying functions meet the finite panels.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from deepspin.checks import check_array
from deepspin.deep_perceptron.kernels import (
    bond_from_field,
    bond_term,
    check_drive,
    check_profile,
    force,
    gap_term,
)
from deepspin.gauss import G, G_over_H, H, log_H, panel_legendre, split_gauss_nodes

__all__ = [
    "node_force",
    "node_free_entropy",
    "node_functions",
    "node_growth_rates",
    "node_overlap",
    "node_replicon",
    "node_saddle_map",
    "node_term",
]

_PANELS = ((0.0, 1.5), (1.5, 4.0), (4.0, 9.0), (9.0, 18.0), (18.0, 40.0))
_N_PANEL = 16


def _half_line():
    return panel_legendre(_PANELS, _N_PANEL)


@lru_cache(maxsize=1)
def _full_line():
    t, w = _half_line()
    nodes, weights = np.concatenate([-t[::-1], t]), np.concatenate([w[::-1], w])
    for array in (nodes, weights):
        array.flags.writeable = False
    return nodes, weights


def _outer(x):
    """Points w ≥ 0 and weights of ``∫Dz f(|x z|) = 2∫_0^∞ …`` for each entry of x."""
    t, wt = _half_line()
    x = np.asarray(x, dtype=float)[..., None]
    wide = np.maximum(x, 1.0)
    points = np.where(x < 1.0, x * t, t)
    weights = np.where(x < 1.0, 2.0 * wt * G(t), 2.0 * wt * G(t / wide) / wide)
    return points, weights


def _node_field(w):
    """h(w) = ½ ln[H(−w)/H(w)], the field of the node's own constraint; A and B of P."""
    ratio_minus, ratio_plus = G_over_H(-w), G_over_H(w)
    h = 0.5 * (log_H(-w) - log_H(w))
    return h, 0.5 * (ratio_minus - ratio_plus), 0.5 * (ratio_minus + ratio_plus)


def _inner_in_y(a, h, A, B):
    """a < 1: the y-averages by integrating over y (the integrand varies on 1/a ≥ 1)."""
    t, wt = _full_line()
    u = a[..., None] * t + h[..., None]
    gy = wt * G(t)
    tanh = np.tanh(u)
    tanh2 = np.sum(gy * tanh**2, axis=-1)
    p = np.sum(gy * (A[..., None] + B[..., None] * tanh) ** 2, axis=-1)
    psi = np.sum(gy * (np.abs(u) + np.log1p(np.exp(-2.0 * np.abs(u)))), axis=-1)
    return tanh2, 1.0 - tanh2, p, psi


def _inner_in_s(a, h, A, B):
    """a ≥ 1: the y-averages over s = a y + h, with weight G((s − h)/a)/a; the parts that
    do not decay in s are integrated in closed form."""
    t, wt = _full_line()
    ws = wt * G((t - h[..., None]) / a[..., None]) / a[..., None]
    sech2 = np.sum(ws / np.cosh(t) ** 2, axis=-1)
    ratio_minus, ratio_plus = A + B, B - A  # G/H(−w) and G/H(w)
    step = ratio_minus**2 * H(-h / a) + ratio_plus**2 * H(h / a)
    Ae, Be = A[..., None], B[..., None]
    decaying = (Ae + Be * np.tanh(t)) ** 2 - (Ae + Be * np.sign(t)) ** 2
    p = step + np.sum(ws * decaying, axis=-1)
    mean_abs = h * (1.0 - 2.0 * H(h / a)) + 2.0 * a * G(h / a)
    psi = mean_abs + np.sum(ws * np.log1p(np.exp(-2.0 * np.abs(t))), axis=-1)
    return 1.0 - sech2, sech2, p, psi


def _inner(a, w):
    """The y-averages at node field h(w): E tanh², E sech², E(A + B tanh)², E ln 2cosh.

    E tanh² and E sech² = 1 − E tanh² are both returned, each computed directly where it
    is the small one (a < 1: E tanh²; a ≥ 1: E sech²), so that a small overlap near an
    onset keeps its relative accuracy. E sech², E(A + B tanh)² and the sum with the
    ``base`` of Ψ decay as w grows. Each node is integrated by the one rule its ``a``
    calls for.

    ``a`` has shape (k,), ``w`` shape (k, n); returns four arrays of shape (k, n).
    """
    h, A, B = _node_field(w)
    out = [np.empty(w.shape) for _ in range(4)]
    low = a < 1.0
    for rows, rule in ((low, _inner_in_y), (~low, _inner_in_s)):
        if rows.any():
            values = rule(a[rows, None], h[rows], A[rows], B[rows])
            for array, value in zip(out, values, strict=True):
                array[rows] = value
    return out


def _node_arguments(qhat, C):
    """Validated √q̂ and C, flattened after broadcasting, and their common shape."""
    qhat = check_array("qhat", qhat, 0.0)
    C = check_array("C", C, 0.0, 1.0, high_open=True)
    try:
        qhat, C = np.broadcast_arrays(qhat, C)
    except ValueError:
        raise ValueError(f"qhat and C must broadcast, got shapes {qhat.shape}, {C.shape}") from None
    return np.sqrt(qhat).ravel(), C.ravel(), qhat.shape


def _evaluate(qhat, C):
    a, C, shape = _node_arguments(qhat, C)
    x = np.sqrt(C / (1.0 - C))
    w, weight = _outer(x)
    inner_q, inner_sech2, inner_p, inner_psi = _inner(a, w)
    base = 0.5 * (log_H(w) + log_H(-w))
    # for x < 1 the rule integrates all of Dz, and q (small near an onset) is summed
    # directly; for x ≥ 1 only the decaying 1 − q is safe to truncate (and q ≥ 1/3)
    q = np.where(
        x < 1.0,
        np.sum(weight * inner_q, axis=-1),
        1.0 - np.sum(weight * inner_sech2, axis=-1),
    )
    P = np.sum(weight * inner_p, axis=-1) / (1.0 - C)
    psi = np.sum(weight * (base + inner_psi), axis=-1)
    return q.reshape(shape), P.reshape(shape), psi.reshape(shape)


def node_overlap(qhat, C):
    """``q(q̂, C) = ∫Dz∫Dy tanh²(√q̂ y + h(xz))`` (eq. node-overlap), vectorised.

    Parameters
    ----------
    qhat : float or array, entries ≥ 0
        Conjugate field of the node.
    C : float or array, entries in [0, 1)
        Overlap of the node's field, ``C = Q q`` of the layer below; broadcast with
        ``qhat`` and evaluated entrywise.
    """
    return _evaluate(qhat, C)[0]


def node_force(qhat, C):
    """``P(q̂, C) = −2 ∂Ψ/∂C`` (eq. node-force): the field on the bonds below the node.

    Parameters
    ----------
    qhat : float or array, entries ≥ 0
        Conjugate field of the node.
    C : float or array, entries in [0, 1)
        Overlap of the node's field, ``C = Q q`` of the layer below; broadcast with
        ``qhat`` and evaluated entrywise.
    """
    return _evaluate(qhat, C)[1]


def node_term(qhat, C):
    """``Ψ(q̂, C)`` (eq. node-term), the node's part of the free entropy per constraint.

    Parameters
    ----------
    qhat : float or array, entries ≥ 0
        Conjugate field of the node.
    C : float or array, entries in [0, 1)
        Overlap of the node's field, ``C = Q q`` of the layer below; broadcast with
        ``qhat`` and evaluated entrywise.
    """
    return _evaluate(qhat, C)[2]


def node_functions(qhat, C):
    """``(q, P, Ψ)`` in one pass: what one evaluation of the saddle-point map needs.

    Parameters
    ----------
    qhat : float or array, entries ≥ 0
        Conjugate field of the node.
    C : float or array, entries in [0, 1)
        Overlap of the node's field, ``C = Q q`` of the layer below; broadcast with
        ``qhat`` and evaluated entrywise.
    """
    return _evaluate(qhat, C)


def _field_curvatures(w, A, B):
    """``c''(w)`` and ``h''(w)`` of the node's two functions of w,
    ``c = ½[ln H(w) + ln H(−w)]`` and ``h = ½[ln H(−w) − ln H(w)]``, from the ratios
    ``G/H(∓w) = B ± A`` of :func:`_node_field` (r = G/H, ``r' = r (r − x)``)."""
    r_minus, r_plus = A + B, B - A
    curve_minus = -r_minus * (r_minus + w)  # (ln H(−w))''
    curve_plus = r_plus * (w - r_plus)  # (ln H(w))''
    return 0.5 * (curve_plus + curve_minus), 0.5 * (curve_minus - curve_plus)


def _sech_moments(a, h):
    """E_y of sech², sech⁴, tanh·sech² and tanh at u = a y + h, for a float a and h (n,)."""
    t, wt = _full_line()
    if a < 1.0:  # the integrand varies on 1/a ≥ 1 in y
        u = a * t + h[:, None]
        weight = wt * G(t)
        steady, sign_mean = 0.0, 0.0
    else:  # in s = a y + h, where sech² lives on the fixed nodes
        u = np.broadcast_to(t, (h.size, t.size))
        weight = wt * G((t - h[:, None]) / a) / a
        # tanh does not decay: E sign(s) in closed form, the rest on the nodes
        steady, sign_mean = np.sign(u), H(-h / a) - H(h / a)
    e = np.exp(-2.0 * np.abs(u))
    sech2 = 4.0 * e / (1.0 + e) ** 2  # without overflow at large |u|
    tanh = np.tanh(u)
    sums = [np.sum(weight * f, axis=-1) for f in (sech2, sech2**2, tanh * sech2, tanh - steady)]
    sums[3] = sums[3] + sign_mean
    return sums


def node_replicon(qhat, C):
    """The replicon matrix of one node (exact-node closure), eq. (node-replicon).

    With ``Z(u, v) = e^u H(−v/s) + e^{−u} H(v/s)``, s = √(1−C), the node's partition
    function at spin field u = √q̂ y and pre-activation v = √C z, a replicon perturbation
    of (q̂_ab, C_ab) changes the node term by ``−¼ m(1−m) εᵀ M ε``, with the entries

        M_XY = ∫Dz∫Dy [∂_X ∂_Y ln Z]²,   X, Y ∈ {u, v},

    (the squared connected two-replica vertices, as ``χ = ∫ sech⁴`` for an Ising spin and
    Gardner's ``γ = ∫ f''²`` for a constraint). With t = tanh(u + h(w)), S = 1 − t²,
    w = v/s: ``∂²_u ln Z = S``, ``∂_u∂_v ln Z = S h'(w)/s`` and
    ``∂²_v ln Z = [c''(w) + S h'(w)² + t h''(w)]/s²``. Limits: at q̂ → ∞ (the spin
    clamped) ``M_vv`` is Gardner's γ(C), and at C = 0 ``M_uu`` is the Ising χ(q̂).

    Parameters
    ----------
    qhat : float or array, entries ≥ 0
        Conjugate field of the node.
    C : float or array, entries in [0, 1)
        Overlap of the node's field, broadcast with ``qhat``.

    Returns
    -------
    ndarray (..., 3)
        ``M_uu``, ``M_uv``, ``M_vv`` entrywise.
    """
    a, C, shape = _node_arguments(qhat, C)
    s = np.sqrt(1.0 - C)
    # every integrand is even under (z, y) → (−z, −y): the half line z ≥ 0, twice; the
    # rule in z (split at 0) resolves the bend at w = 0 however large √(C/(1−C)) is
    nodes, weights = split_gauss_nodes(0.0, 96, 12.0)
    z, wz = nodes[nodes.size // 2 :], 2.0 * weights[nodes.size // 2 :]
    out = np.empty((a.size, 3))
    for i in range(a.size):
        w = np.sqrt(C[i]) / s[i] * z
        field, A, h1 = _node_field(w)  # h and h' = B
        c2, h2 = _field_curvatures(w, A, h1)
        sech2, sech4, tanh_sech2, tanh = _sech_moments(a[i], field)
        # [c'' + S h'² + t h'']² averaged over y, with t² = 1 − S
        vv = (c2**2 + h1**4 * sech4 + h2**2 * (1.0 - sech2) + 2.0 * c2 * h1**2 * sech2
              + 2.0 * c2 * h2 * tanh + 2.0 * h1**2 * h2 * tanh_sech2)  # fmt: skip
        out[i] = [
            np.sum(wz * sech4),
            np.sum(wz * sech4 * h1**2) / s[i] ** 2,
            np.sum(wz * vv) / s[i] ** 4,
        ]
    return out.reshape(*shape, 3)


def _node_layers(qhat, C):
    """(q, P, Ψ) of the hidden nodes; liquid ones (q̂ = C = 0) are exactly (0, 0, 0)."""
    out = [np.zeros(qhat.shape) for _ in range(3)]
    live = (qhat > 0) | (C > 0)
    if live.any():
        for array, value in zip(out, _evaluate(qhat[live], C[live]), strict=True):
            array[live] = value
    return out


def node_saddle_map(alpha, q, Q, qhat):
    """One application of the exact-node fixed-point map (eq. rs-node-saddle).

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

    Returns
    -------
    q_new (L+1,), Q_new (L,), qhat_new (L+1,)
    """
    alpha, q, Q, qhat = check_profile(alpha, q, Q, qhat, require_qhat=True)
    C = Q * q[:-1]
    q_node, P_node, _ = _node_layers(qhat[1:-1], C[:-1])
    P = np.append(P_node, force(C[-1]))
    Q_new = bond_from_field(alpha * q[:-1] * P)
    qhat_new = np.zeros_like(qhat)
    qhat_new[1:-1] = Q[1:] * P[1:]
    q_new = q.copy()
    q_new[1:-1] = q_node
    return q_new, Q_new, qhat_new


def node_free_entropy(alpha, q, Q, qhat):
    """The exact-node RS free entropy per constraint, eq. (rs-node), at any (q, Q, q̂).

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
    """
    alpha, q, Q, qhat = check_profile(alpha, q, Q, qhat, require_qhat=True)
    C = Q * q[:-1]
    psi = _node_layers(qhat[1:-1], C[:-1])[2]
    spins = np.sum(0.5 * qhat[1:-1] * (q[1:-1] - 1.0) + psi)
    return float(np.sum(bond_term(Q)) / (2.0 * alpha) + spins + gap_term(C[-1]))


def node_growth_rates(alpha, q):
    """Growth rate of every hidden layer's liquid, eq. (rs-node-onset), frozen or not.

    ``λ_l = u q_{l+1}² (1 + u q_{l−1}²)``, ``u = α(2/π)²``: the drive comes only from the
    layer above; a frozen layer below (only the clamped input can be one) amplifies it.

    Parameters
    ----------
    alpha : float, > 0
        Constraints per weight.
    q : array (L+1,), entries in [0, 1], L ≥ 1
        Spin overlaps of the profile.

    Returns
    -------
    ndarray (L+1,)
        λ_l for l = 1 … L−1, 0 at the two ends.
    """
    alpha, q = check_drive(alpha, q)
    u = alpha * (2.0 / np.pi) ** 2
    lam = np.zeros(q.size)
    lam[1:-1] = u * q[2:] ** 2 * (1.0 + u * q[:-2] ** 2)
    return lam
