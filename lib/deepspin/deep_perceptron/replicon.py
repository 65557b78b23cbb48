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

from deepspin.deep_perceptron.kernels import check_profile, force
from deepspin.gauss import log_H, split_gauss_nodes

__all__ = ["constraint_replicon", "replicon_matrix", "spin_replicon"]


def spin_replicon(qhat):
    """``χ = ∫Dy sech⁴(√q̂ y)``, the replicon susceptibility of an Ising layer.

    Parameters
    ----------
    qhat : float or array, entries ≥ 0
    """
    from deepspin.checks import check_array

    a = np.sqrt(check_array("qhat", qhat, 0.0))
    z, w = split_gauss_nodes(0.0, 96, 12.0)
    sech2 = 1.0 / np.cosh(np.multiply.outer(a, z)) ** 2
    return np.sum(w * sech2**2, axis=-1)


def constraint_replicon(delta):
    """``γ(Δ) = ∫Dz [f''(√Δ z)]²`` with f(h) = ln H(−h/√(1−Δ)) (Gardner's replicon term).

    ``f'' = −(r/s²)(x + r)``, ``x = h/s``, ``r = G(x)/H(−x)``, s = √(1−Δ); γ(0) = (2/π)².

    Parameters
    ----------
    delta : float or array, entries in [0, 1)
    """
    from deepspin.checks import check_array

    delta = check_array("delta", delta, 0.0, 1.0, high_open=True)
    s = np.sqrt(1.0 - delta)
    # the integrand bends at h = 0 on the scale s: split there, in units of z
    z, w = split_gauss_nodes(0.0, 96, 12.0)
    x = np.multiply.outer(np.sqrt(delta) / s, z)
    r = np.exp(-0.5 * x * x - 0.5 * np.log(2.0 * np.pi) - log_H(-x))
    second = -(r / s[..., None] ** 2) * (x + r) if np.ndim(s) else -(r / s**2) * (x + r)
    return np.sum(w * second**2, axis=-1)


def replicon_matrix(alpha, q, Q, qhat):
    """The normalised replicon matrix R of an RS profile (eq. replicon-matrix).

    Parameters
    ----------
    alpha : float, > 0
    q : array (L+1,), entries in [0, 1], q[0] = q[L] = 1
    Q : array (L,), entries in [0, 1)
    qhat : array (L+1,), entries ≥ 0

    Returns
    -------
    R : ndarray (2L−1, 2L−1)
        Symmetric, in the variables (δQ_1, δq_1, δQ_2, …, δq_{L−1}, δQ_L).
    """
    alpha, q, Q, qhat = check_profile(alpha, q, Q, qhat, require_qhat=True)
    L = Q.size
    n = 2 * L - 1
    chi = spin_replicon(qhat[1:-1])
    delta = q[:-1] * Q * q[1:]
    gamma = constraint_replicon(delta)
    diag = np.empty(n)
    diag[0::2] = 1.0 / (2.0 * alpha * (1.0 - Q) ** 2)
    diag[1::2] = 1.0 / (2.0 * chi)
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
    scale = 1.0 / np.sqrt(diag)
    return np.eye(n) - scale[:, None] * coupling * scale[None, :]
