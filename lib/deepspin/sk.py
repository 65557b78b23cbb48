"""The Sherrington–Kirkpatrick model at k steps of RSB: the independent check of the cascade.

Chapter ``yoshino_rsb``, section "Checking the spin cascade". The deep network's Ising
term is an SK-type cascade of ln 2cosh (:mod:`deepspin.cascade`). On its own, with the
coupling q̂ = β² q, it is the SK model, whose Parisi numbers are known. The free entropy
per spin at k steps (Parisi 1980; eq. sk-parisi) is

    P = (β²/4) [1 − 2 q_k + Σ_{j=0}^{k} (m_{j+1} − m_j) q_j²] + C[ln 2cosh; β²(q_j − q_{j−1}); m],

and Φ(β) = min P (Guerra's bound: every P is above Φ; Talagrand: the infimum is Φ). At zero
temperature, with m_j = μ_j/β, q_k = 1 − χ/β and fields in units of β, the ground-state
energy is ``E₀ = −min P₀`` (eq. sk-ground) with

    P₀ = C[|h|; q_0, q_1 − q_0, …, 1 − q_{k−1}; μ] + ¼ [Σ_{j=0}^{k−1} (μ_{j+1} − μ_j) q_j² − μ_k],

μ_0 = 0 and 0 < μ_1 < … < μ_k (no upper bound). k = 0 gives E₀ = −√(2/π) (RS), k = 1
Parisi's −0.7652, and k → ∞ the value −0.763166 of Crisanti & Rizzo (2002).

References
----------
G. Parisi, J. Phys. A 13, L115 (1980); A. Crisanti and T. Rizzo, Phys. Rev. E 65, 046137
(2002); F. Guerra, Commun. Math. Phys. 233, 1 (2003).
"""

from __future__ import annotations

import numpy as np
import torch
from scipy.optimize import minimize

from deepspin.cascade import Top, cascade_torch
from deepspin.checks import check_array, check_int, check_real
from deepspin.results import SolverResult, warn_if_not_converged

__all__ = ["sk_ground_functional", "sk_ground_state", "sk_parisi", "sk_solve"]

_GRID = (129, 24)


def _tensor(values):
    return torch.as_tensor(np.asarray(values, dtype=float))[None, :]


def _ln_2cosh(h):
    magnitude = torch.abs(h)
    return magnitude + torch.log1p(torch.exp(-2.0 * magnitude))


_COSH = Top(_ln_2cosh, torch.tanh, lambda h: 1.0 / torch.cosh(torch.clamp(h, -300, 300)) ** 2,
            torch.ones(1, dtype=torch.float64), 1.0)  # fmt: skip
_ABS = Top(torch.abs, torch.sign, torch.zeros_like, torch.full((1,), 1e-3, dtype=torch.float64),
           1.0)  # fmt: skip


def _parisi_torch(beta, q, m):
    widths = torch.diff(torch.cat((torch.zeros(1, dtype=q.dtype), m, torch.ones(1,
                                   dtype=q.dtype))))  # fmt: skip
    energy = 0.25 * beta**2 * (1.0 - 2.0 * q[-1] + torch.sum(widths * q**2))
    variances = beta**2 * torch.diff(q, prepend=torch.zeros(1, dtype=q.dtype))
    return energy + cascade_torch(_COSH, variances[None, :], m[None, :], *_GRID)[0]


def _ground_torch(q, mu):
    mu0 = torch.cat((torch.zeros(1, dtype=mu.dtype), mu))
    quadratic = 0.25 * (torch.sum(torch.diff(mu0) * q**2) - mu[-1]) if mu.numel() else 0.0
    top = torch.ones(1, dtype=q.dtype)
    variances = torch.diff(torch.cat((q, top)), prepend=torch.zeros(1, dtype=q.dtype))
    return quadratic + cascade_torch(_ABS, variances[None, :], mu[None, :], *_GRID)[0]


def _check_sk(q, m, name_m, unbounded):
    q = check_array("q", q, 0.0, 1.0, ndim=1, high_open=True, allow_empty=unbounded)
    m = check_array(name_m, m, 0.0, None if unbounded else 1.0, ndim=1, low_open=True,
                    high_open=True)  # fmt: skip
    expected = q.size if unbounded else q.size - 1
    if m.size != expected:
        raise ValueError(
            f"q and {name_m} must have lengths {'k and k' if unbounded else 'k+1 and k'}, got "
            f"{q.size} and {m.size}"
        )
    if np.any(np.diff(q) < 0) or np.any(np.diff(m) <= 0):
        raise ValueError(f"q must be non-decreasing and {name_m} increasing, got {q}, {m}")
    return q, m


def sk_parisi(beta, q, m):
    """The SK model's k-step Parisi functional P (eq. sk-parisi), per spin.

    Parameters
    ----------
    beta : float, > 0
        Inverse temperature (couplings of variance 1/N).
    q : array (k+1,), non-decreasing in [0, 1)
        Overlap levels.
    m : array (k,), increasing in (0, 1)
        Breakpoints.
    """
    beta = check_real("beta", beta, 0.0, low_open=True)
    q, m = _check_sk(q, m, "m", False)
    with torch.no_grad():
        return float(_parisi_torch(beta, torch.as_tensor(q), torch.as_tensor(m)))


def sk_ground_functional(q, mu):
    """The zero-temperature functional P₀ (eq. sk-ground); E₀ = −min P₀.

    Parameters
    ----------
    q : array (k,), non-decreasing in [0, 1)
        The levels below the top one (q_k = 1); empty for RS.
    mu : array (k,), increasing, > 0
        Rescaled breakpoints μ_j = β m_j.
    """
    q, mu = _check_sk(q, mu, "mu", True)
    with torch.no_grad():
        return float(_ground_torch(torch.as_tensor(q), torch.as_tensor(mu)))


def _levels(t):
    """Ordered levels in [0, 1) from increments t ≥ 0: q_j = 1 − exp(−Σ_{i≤j} t_i)."""
    return 1.0 - torch.exp(-torch.cumsum(t, dim=0))


def _minimise(functional, z0, bounds, tol, max_iter):
    """L-BFGS-B on a torch functional of the coordinates z (gradient by autograd); returns
    scipy's result and the largest projected-gradient component (a component at its lower
    bound that points outwards does not count)."""

    def fun(z):
        zt = torch.tensor(z, dtype=torch.float64, requires_grad=True)
        value = functional(zt)
        (grad,) = torch.autograd.grad(value, zt)
        return float(value.detach()), grad.numpy()

    res = minimize(fun, z0, jac=True, method="L-BFGS-B", bounds=bounds,
                   options={"maxiter": max_iter, "gtol": tol, "ftol": 0.0})  # fmt: skip
    grad = np.array(res.jac)
    lower = np.array([b[0] for b in bounds])
    grad[(res.x <= lower) & (grad > 0)] = 0.0
    return res, float(np.max(np.abs(grad)))


def sk_solve(beta, k, tol=1e-6, max_iter=2000):
    """Minimise the SK k-step functional (eq. sk-parisi) over the levels and breakpoints.

    Parameters
    ----------
    beta : float, > 1
        Inverse temperature, in the spin-glass phase.
    k : int, in [1, 6]
        Steps of RSB.
    tol : float, > 0
        L-BFGS-B stops when the projected gradient is below tol (it stalls near 1e-7:
        the functional is flat along a closing step).
    max_iter : int, ≥ 1

    Returns
    -------
    SolverResult
        ``value`` is Φ = −βf; ``info`` holds ``q``, ``m`` and ``free_energy`` = −Φ/β;
        ``residual`` the largest projected-gradient component (autograd).
    """
    beta = check_real("beta", beta, 1.0, low_open=True)
    k = check_int("k", k, 1, 6)
    tol = check_real("tol", tol, 0.0, low_open=True)
    max_iter = check_int("max_iter", max_iter, 1)

    def unpack(z):
        z = torch.as_tensor(z, dtype=torch.float64)
        return _levels(z[: k + 1]), _levels(z[k + 1 :])

    # start: levels spread below the RS-like 1 − 1/β², breakpoints spread in (0, 1)
    q_start = np.linspace(0.2, 1.0 - 0.5 / beta**2, k + 1)
    m_start = np.linspace(0.2, 0.8, k) / beta
    z0 = np.concatenate([np.diff(-np.log1p(-q_start), prepend=0.0),
                         np.diff(-np.log1p(-m_start), prepend=0.0)])  # fmt: skip
    bounds = [(0.0, 40.0)] * (k + 1) + [(1e-8, 40.0)] * k
    res, residual = _minimise(lambda z: _parisi_torch(beta, *unpack(z)), z0, bounds, tol,
                              max_iter)  # fmt: skip
    q, m = (v.numpy() for v in unpack(res.x))
    info = {"q": q, "m": m, "free_energy": -float(res.fun) / beta}
    result = SolverResult.from_residual(float(res.fun), residual, tol, res.nit, info)
    return warn_if_not_converged(result, f"sk_solve(beta={beta:g}, k={k})")


def sk_ground_state(k, tol=1e-6, max_iter=2000):
    """The SK ground-state energy at k steps, E₀ = −min P₀ (eq. sk-ground).

    Parameters
    ----------
    k : int, in [0, 6]
        Steps of RSB (0: RS, −√(2/π)).
    tol : float, > 0
    max_iter : int, ≥ 1

    Returns
    -------
    SolverResult
        ``value`` is E₀; ``info`` holds ``q`` (k levels below 1) and ``mu``.
    """
    k = check_int("k", k, 0, 6)
    tol = check_real("tol", tol, 0.0, low_open=True)
    max_iter = check_int("max_iter", max_iter, 1)

    def unpack(z):
        z = torch.as_tensor(z, dtype=torch.float64)
        return _levels(z[:k]), torch.cumsum(z[k:], dim=0)

    if k == 0:
        with torch.no_grad():
            value = float(_ground_torch(*unpack(np.zeros(0))))
        return SolverResult.from_residual(-value, 0.0, tol, 0, {"q": np.zeros(0),
                                          "mu": np.zeros(0)})  # fmt: skip
    q_start = np.linspace(0.1, 0.8, k)
    mu_start = np.linspace(0.5, 2.5, k)
    z0 = np.concatenate([np.diff(-np.log1p(-q_start), prepend=0.0), np.diff(mu_start, prepend=0.0)])
    bounds = [(0.0, 40.0)] * k + [(1e-6, 50.0)] * k
    res, residual = _minimise(lambda z: _ground_torch(*unpack(z)), z0, bounds, tol, max_iter)
    q, mu = (v.numpy() for v in unpack(res.x))
    result = SolverResult.from_residual(-float(res.fun), residual, tol, res.nit,
                                        {"q": q, "mu": mu})  # fmt: skip
    return warn_if_not_converged(result, f"sk_ground_state(k={k})")
