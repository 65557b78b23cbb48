"""Stability of the replica-symmetric solution against replica symmetry breaking.

Chapter ``yoshino_rsb``, section "The replicon". Perturb every layer's overlap matrices in
the replicon direction, ``δq_ab`` with ``Σ_b δq_ab = 0`` for every a (at one step of RSB:
``δq_0 = −(1 − m) ε``, ``δq_1 = m ε``). Every term of the free entropy is then quadratic,
``½ m(1 − m) ε² μ`` (eq. replicon-terms), with

* bonds: ``μ_B = 1/(2α (1 − Q)²)`` (the spherical entropy, exactly from eq. cs-entropy);
* spins, with q̂ eliminated: ``μ_S = 1/(2χ)``, ``χ = ∫Dy sech⁴(√q̂ y)`` (the Ising
  replicon susceptibility; the spin cascade alone has ``−χ/2``);
* constraints: ``−½ γ`` per unit ``δΔ``, ``γ = ∫Dz [f''(√Δ z)]²``, f = ln H(−h/√(1−Δ)),

and ``δΔ_l = Q_l q_l δq_{l−1} + q_{l−1} q_l δQ_l + q_{l−1} Q_l δq_l`` (the Hadamard product
keeps a replicon perturbation a replicon one). The quadratic form on (δQ_1, δq_1, δQ_2, …,
δQ_L) is ``x·(P − N)x`` with P = diag(μ_B, μ_S) > 0 and N = ½ Σ_l γ_l v_l v_lᵀ ≥ 0. The RS
solution is stable while it is positive definite; its normalised version,
``R = 1 − P^{−1/2} N P^{−1/2}`` (eq. replicon-matrix), has eigenvalues ≤ 1, and the lowest,
λ_R, crosses zero where RS breaks. For L = 1 it is Gardner's
``1 − α (1 − Q)² γ(Q)``. The diagonal of R gives each layer's own replicon, the value with
its neighbours held at RS: ``1 − α (1 − Q_l)² (q_{l−1} q_l)² γ_l`` for bond layer l and
``1 − χ_l [γ_l (Q_l q_{l−1})² + γ_{l+1} (Q_{l+1} q_{l+1})²]`` for spin layer l (the SK-like
AT condition).
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import brentq

from deepspin.checks import check_array, check_bool, check_choice, check_int, check_real
from deepspin.deep_perceptron.exact_node import node_force, node_replicon
from deepspin.deep_perceptron.kernels import check_profile, force
from deepspin.deep_perceptron.rs import CLOSURES, RSProfile, phase_diagram, solve_rs
from deepspin.gauss import log_H, split_gauss_nodes

__all__ = [
    "constraint_replicon",
    "replicon_diagram",
    "replicon_matrix",
    "replicon_onsets",
    "replicon_spectrum",
    "spin_replicon",
]


def spin_replicon(qhat):
    """``χ = ∫Dy sech⁴(√q̂ y)``, the replicon susceptibility of an Ising layer.

    Parameters
    ----------
    qhat : float or array, entries ≥ 0
    """
    a = np.sqrt(check_array("qhat", qhat, 0.0, allow_empty=False))
    z, w = split_gauss_nodes(0.0, 96, 12.0)
    e = np.exp(-2.0 * np.abs(np.multiply.outer(a, z)))
    sech2 = 4.0 * e / (1.0 + e) ** 2  # without overflow at large q̂
    return np.sum(w * sech2**2, axis=-1)


def constraint_replicon(delta):
    """``γ(Δ) = ∫Dz [f''(√Δ z)]²`` with f(h) = ln H(−h/√(1−Δ)) (Gardner's replicon term).

    ``f'' = −(r/s²)(x + r)``, ``x = h/s``, ``r = G(x)/H(−x)``, s = √(1−Δ); γ(0) = (2/π)².

    Parameters
    ----------
    delta : float or array, entries in [0, 1)
    """
    delta = check_array("delta", delta, 0.0, 1.0, high_open=True, allow_empty=False)
    s = np.sqrt(1.0 - delta)
    # the integrand bends at h = 0 on the scale s: split there, in units of z
    z, w = split_gauss_nodes(0.0, 96, 12.0)
    x = np.multiply.outer(np.sqrt(delta) / s, z)
    r = np.exp(-0.5 * x * x - 0.5 * np.log(2.0 * np.pi) - log_H(-x))
    second = -(r / s[..., None] ** 2) * (x + r) if np.ndim(s) else -(r / s**2) * (x + r)
    return np.sum(w * second**2, axis=-1)


def replicon_matrix(alpha, q, Q, qhat, closure="symmetric"):
    """The normalised replicon matrix R of an RS profile (eq. replicon-matrix).

    Parameters
    ----------
    alpha : float, > 0
    q : array (L+1,), entries in [0, 1], q[0] = q[L] = 1
    Q : array (L,), entries in [0, 1)
    qhat : array (L+1,), entries ≥ 0
    closure : {"symmetric", "exact-node"}
        The symmetric closure (eq. replicon-matrix), or the exact-node one (chapter
        ``yoshino_rsb``, eq. node-replicon and below), where the node of hidden layer l
        couples δq̂_l to ``δC_l = q_{l−1} δQ_l + Q_l δq_{l−1}`` through
        :func:`node_replicon`.

    Returns
    -------
    R : ndarray (2L−1, 2L−1)
        Symmetric, in the variables (δQ_1, δq_1, δQ_2, …, δq_{L−1}, δQ_L).
    """
    alpha, q, Q, qhat = check_profile(alpha, q, Q, qhat, require_qhat=True)
    closure = check_choice("closure", closure, CLOSURES)
    form = _symmetric_form if closure == "symmetric" else _node_form
    positive, quadratic = form(alpha, q, Q, qhat)
    scale = 1.0 / np.sqrt(positive)
    return scale[:, None] * quadratic * scale[None, :]


def _symmetric_form(alpha, q, Q, qhat):
    """(P, P − N) of the symmetric closure: the quadratic form ``½ m(1−m) xᵀ(P − N)x``."""
    L = Q.size
    n = 2 * L - 1
    chi = spin_replicon(qhat[1:-1]) if L > 1 else np.zeros(0)
    delta = q[:-1] * Q * q[1:]
    gamma = constraint_replicon(delta)
    diag = np.empty(n)
    diag[0::2] = 1.0 / (2.0 * alpha * (1.0 - Q) ** 2)
    diag[1::2] = 1.0 / (2.0 * np.maximum(chi, 1e-300))
    slope = -0.5 * force(delta)  # ∂gap/∂Δ, the weight of Δ's own curvature
    coupling = np.zeros((n, n))
    for l in range(L):  # bond layer l+1 sits at 2l, spin layers l and l+1 at 2l−1, 2l+1
        v = np.zeros(n)
        v[2 * l] = q[l] * q[l + 1]
        if l > 0:
            v[2 * l - 1] = Q[l] * q[l + 1]
        if l < L - 1:
            v[2 * l + 1] = q[l] * Q[l]
        coupling += 0.5 * gamma[l] * np.outer(v, v)
        # Δ = q Q q is bilinear: its second-order part δq∘δQ∘q meets the linear term
        pairs = [(2 * l, 2 * l - 1, q[l + 1]), (2 * l, 2 * l + 1, q[l]),
                 (2 * l - 1, 2 * l + 1, Q[l])]  # fmt: skip
        for a, b, factor in pairs:
            if 0 <= a < n and 0 <= b < n:  # both are variables (not a clamped end)
                coupling[a, b] -= slope[l] * factor
                coupling[b, a] -= slope[l] * factor
    return diag, np.diag(diag) - coupling


def _node_form(alpha, q, Q, qhat):
    """(P, A) of the exact-node closure, the quadratic form ``½ m(1−m) xᵀ A x``.

    Per bond layer ``1/(2α(1−Q)²)``; per hidden node, with δq̂ eliminated from
    ``δq̂ δq − ½ (δq̂, δC) M (δq̂, δC)ᵀ``, ``(δq − M_uv δC)²/(2 M_uu) − ½ M_vv δC²``; the
    output constraint ``−½ γ(C_L) δC_L²``; and the second-order part ``δQ_l δq_{l−1}`` of
    C_l = Q_l q_{l−1} against the linear term ∂Ψ/∂C = −P/2.
    """
    L = Q.size
    n = 2 * L - 1
    C = Q * q[:-1]
    node = node_replicon(qhat[1:-1], C[:-1]) if L > 1 else np.zeros((0, 3))
    slope = -0.5 * np.append(node_force(qhat[1:-1], C[:-1]), force(C[-1:]))
    diag = np.empty(n)
    diag[0::2] = 1.0 / (2.0 * alpha * (1.0 - Q) ** 2)
    diag[1::2] = 1.0 / (2.0 * np.maximum(node[:, 0], 1e-300))
    quadratic = np.diag(np.where(np.arange(n) % 2 == 0, diag, 0.0))
    for l in range(L):  # bond layer l+1 at 2l; the spin below at 2l−1, its node's at 2l+1
        c = np.zeros(n)  # δC_{l+1}
        c[2 * l] = q[l]
        if l > 0:
            c[2 * l - 1] = Q[l]
            quadratic[2 * l, 2 * l - 1] += slope[l]
            quadratic[2 * l - 1, 2 * l] += slope[l]
        if l < L - 1:
            _, uv, vv = node[l]
            d = -uv * c
            d[2 * l + 1] += 1.0
            # diag[2l+1] = 1/(2 M_uu) of this node
            quadratic += diag[2 * l + 1] * np.outer(d, d) - 0.5 * vv * np.outer(c, c)
        else:
            quadratic -= 0.5 * constraint_replicon(C[-1]) * np.outer(c, c)
    return diag, quadratic


def replicon_spectrum(profile):
    """Eigenvalues of the replicon matrix of an RS profile, and where each mode lives.

    Parameters
    ----------
    profile : RSProfile
        A solution of :func:`deepspin.deep_perceptron.solve_rs` (random data, either
        closure).

    Returns
    -------
    dict
        ``eigenvalues`` (2L−1,) ascending; ``modes`` (2L−1, 2L−1), column i the eigenvector
        of eigenvalue i in (δQ_1, δq_1, …, δQ_L); ``depth`` (2L−1,), the mode's mean
        distance from the nearer boundary, in layers (δq_l at l, δQ_l at l − ½), weighted
        by its squared components (a symmetric network pairs every mode with its mirror
        image, so a mean position would always be the centre);
        ``layer_weight`` (2L−1, L+1): the weight of each mode on spin layer l, its bond
        halves shared with the neighbouring spin layers.
    """
    if not isinstance(profile, RSProfile):
        raise ValueError(f"profile must be an RSProfile, got {type(profile).__name__}")
    if profile.scenario != "random":
        raise ValueError(f"profile must be of random data, got scenario {profile.scenario!r}")
    R = replicon_matrix(profile.alpha, profile.q, profile.Q, profile.qhat, profile.closure)
    values, vectors = np.linalg.eigh(R)
    n = R.shape[0]
    position = np.arange(1, n + 1) / 2.0  # δQ_1 at ½, δq_1 at 1, δQ_2 at 1½, …
    weight = vectors**2
    L = profile.L
    layer = np.zeros((n, L + 1))
    for i in range(n):
        for j, p in enumerate(position):
            if j % 2:  # spin layer p
                layer[i, int(p)] += weight[j, i]
            else:  # bond between p − ½ and p + ½: half to each
                layer[i, int(p - 0.5)] += 0.5 * weight[j, i]
                layer[i, int(p + 0.5)] += 0.5 * weight[j, i]
    return {
        "eigenvalues": values,
        "modes": vectors,
        "depth": np.minimum(position, L - position) @ weight,
        "layer_weight": layer,
    }


def replicon_onsets(L, n_modes=None, alpha_max=1e5, n_scan=60, xtol=1e-8, closure="symmetric"):
    """The α at which the n-th lowest replicon eigenvalue of the RS solution crosses zero.

    Random data, either closure. The RS solution is followed by continuation on a
    logarithmic grid from α = 1 to ``alpha_max``; each crossing found on the grid is
    refined by Brent's method. The eigenvalues come in near-degenerate pairs (one mode on
    each side of a symmetric network), so modes 2n − 1 and 2n belong to the n-th layer
    from the boundaries.

    Parameters
    ----------
    L : int, in [1, 40]
        Bond layers.
    n_modes : int or None
        Onsets to locate, in [1, 2L − 1]; None: every crossing below ``alpha_max``.
    alpha_max : float, in (1, 1e8]
        The largest α scanned.
    n_scan : int, in [4, 10000]
        Points of the logarithmic grid.
    xtol : float, in (0, 1e-2]
        Relative accuracy of each onset.
    closure : {"symmetric", "exact-node"}
        The closure of the RS solution and its replicon matrix.

    Returns
    -------
    ndarray
        Onsets in increasing order (NaN for a requested mode that does not cross below
        ``alpha_max``).
    """
    L = check_int("L", L, 1, 40)
    most = 2 * L - 1
    n_modes = most if n_modes is None else check_int("n_modes", n_modes, 1, most)
    alpha_max = check_real("alpha_max", alpha_max, 1.0, 1e8, low_open=True)
    n_scan = check_int("n_scan", n_scan, 4, 10_000)
    xtol = check_real("xtol", xtol, 0.0, 1e-2, low_open=True)
    closure = check_choice("closure", closure, CLOSURES)
    cache = {}

    def profile(alpha):
        if alpha not in cache:
            below = [a for a in cache if a < alpha]
            start = cache[max(below)] if below else None
            result = solve_rs(alpha, L, initial=start, closure=closure, warn=False)
            if not result.converged:
                result = solve_rs(alpha, L, closure=closure, warn=False)
            cache[alpha] = result.value
        return cache[alpha]

    def eigenvalue(alpha, n):
        p = profile(alpha)
        return np.linalg.eigvalsh(replicon_matrix(alpha, p.q, p.Q, p.qhat, closure))[n]

    grid = np.geomspace(1.0, alpha_max, n_scan)
    values = replicon_diagram(grid, L, closure=closure)["eigenvalues"][:, :n_modes]
    onsets = np.full(n_modes, np.nan)
    for n in range(n_modes):
        crossing = np.flatnonzero((values[:-1, n] > 0) & (values[1:, n] <= 0))
        if crossing.size:
            i = crossing[0]
            onsets[n] = brentq(eigenvalue, grid[i], grid[i + 1], args=(n,),
                               xtol=xtol * grid[i], rtol=1e-12)  # fmt: skip
    return onsets


def replicon_diagram(alphas, L, progress=False, closure="symmetric"):
    """The replicon spectrum of the RS solution over a grid of α (continuation).

    Parameters
    ----------
    alphas : array (n,), entries > 0, n ≥ 1
        The grid (sorted here).
    L : int, in [1, 40]
        Bond layers.
    progress : bool
        Show a progress bar.
    closure : {"symmetric", "exact-node"}
        The closure of the RS solution and its replicon matrix.

    Returns
    -------
    dict of arrays
        ``alpha`` (n,), ``eigenvalues`` (n, 2L−1) ascending, ``depth`` (n, 2L−1) of each
        mode (see :func:`replicon_spectrum`), ``q`` (n, L+1) the RS spin overlaps; NaN
        where the RS solve did not converge.
    """
    alphas = np.sort(check_array("alphas", alphas, 0.0, low_open=True, ndim=1, allow_empty=False))
    L = check_int("L", L, 1, 40)
    progress = check_bool("progress", progress)
    closure = check_choice("closure", closure, CLOSURES)
    rs = phase_diagram(alphas, L, progress=progress, closure=closure)
    n = 2 * L - 1
    values, depth = np.full((alphas.size, n), np.nan), np.full((alphas.size, n), np.nan)
    position = np.arange(1, n + 1) / 2.0
    for i, alpha in enumerate(alphas):
        if rs["converged"][i]:
            R = replicon_matrix(alpha, rs["q"][i], rs["Q"][i], rs["qhat"][i], closure)
            values[i], vectors = np.linalg.eigh(R)
            depth[i] = np.minimum(position, L - position) @ vectors**2
    return {"alpha": alphas, "eigenvalues": values, "depth": depth, "q": rs["q"]}
