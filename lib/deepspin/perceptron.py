"""The Gardner volume of the perceptron: replica theory and independent checks.

A perceptron with weights ``w ∈ R^N`` stores ``P = αN`` random patterns ``ξ^μ`` with
random labels ``y^μ = ±1`` at margin ``κ`` if every stability
``Δ^μ = y^μ w·ξ^μ / |w|`` exceeds ``κ`` (for weights on the sphere ``|w|² = N`` this
is ``y^μ w·ξ^μ/√N``). Because the inputs are symmetric the
labels can be absorbed into the patterns, so the code works with signed patterns.

Replica theory (chapter ``gardner``; Gardner 1988, Gardner & Derrida 1988):

* energetic term, eq. (gardner-energy): ``E(q) = ∫Dz ln H(u)``, ``u = (κ − √q z)/√(1−q)``;
* its kernel, eq. (gardner-kernel): ``K(q) = ∫Dz [G(u)/H(u)]²`` with ``E'(q) = −K/(2(1−q))``;
* spherical weights, eq. (gardner-rs): ``q/(1−q) = α K(q)``,
  free entropy ``s = ½ ln(1−q) + q/(2(1−q)) + α E(q)``;
* capacity, eq. (gardner-capacity): ``α_c(κ) = 1/[(1+κ²) Φ(κ) + κ G(κ)]``, 2 at κ = 0;
* Ising weights, eq. (gardner-ising): ``q = ∫Dz tanh²(√q̂ z)``, ``q̂ = α K(q)/(1−q)``,
  ``s = −½ q̂ (1−q) + ∫Dz ln 2cosh(√q̂ z) + α E(q)``.

Independent checks: exact enumeration of Ising-weight solutions (numba, Gray code)
and the empirical capacity of spherical weights from linear and quadratic programming.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numba import njit, prange
from scipy.optimize import brentq, linprog, nnls
from scipy.special import gammaln, logsumexp, ndtr
from tqdm import tqdm

from deepspin.checks import (
    as_generator,
    check_array,
    check_bool,
    check_choice,
    check_int,
    check_int_array,
    check_real,
    check_spin_array,
)
from deepspin.gauss import G, G_over_H, legendre_nodes, log_H, split_gauss_nodes
from deepspin.results import SolverResult, warn_if_not_converged
from deepspin.stats import finite_size_extrapolation, mean_and_sem

__all__ = [
    "RSSolution",
    "capacity_rs",
    "capacity_samples",
    "count_solutions",
    "count_solutions_numpy",
    "cover_probability",
    "effective_margin",
    "energy_kernel",
    "energy_term",
    "entropy_from_counts",
    "entropy_rs",
    "enumeration_vs_rs",
    "is_separable_lp",
    "ising_entropy_zero",
    "max_stability",
    "random_patterns",
    "solve_rs",
]

_Q_MAX = 1.0 - 1e-13


class RSSolution(NamedTuple):
    """Replica-symmetric saddle point: overlap ``q``, conjugate ``qhat``, free entropy ``entropy``.

    For spherical weights ``entropy`` is ln(volume fraction of the sphere)/N and
    ``qhat`` is ``q/(1−q)²``; for Ising weights it is ln(number of solutions)/N.
    """

    q: float
    qhat: float
    entropy: float


def _u(q, z, kappa):
    return (kappa - np.sqrt(q)[..., None] * z) / np.sqrt(1.0 - q)[..., None]


def _energy_nodes(q, kappa, n):
    # ln H(u) and (G/H)(u) have a boundary layer of width ~√(1−q) at z = κ/√q.
    breakpoint = kappa / np.sqrt(np.maximum(q, 1e-300))
    breakpoint = np.clip(breakpoint, -30.0, 30.0)
    return split_gauss_nodes(breakpoint, n)


def _real_or_array(name, value, low=None, high=None, *, high_open=False):
    """A finite real or an array of them in [low, high] (``high_open``): strings, None,
    dicts and bools are refused rather than converted."""
    try:
        kind = np.asarray(value).dtype.kind
    except (TypeError, ValueError):
        kind = "O"
    if kind not in "iuf":
        raise ValueError(f"{name} must be a real number or an array of reals, got {value!r}")
    return check_array(name, value, low, high, high_open=high_open)


def _check_q(q):
    return _real_or_array("q", q, 0.0, 1.0, high_open=True)


def energy_term(q, kappa: float = 0.0, n: int = 128):
    """Energetic term ``E(q) = ∫Dz ln H((κ − √q z)/√(1−q))``, eq. (gardner-energy).

    Parameters
    ----------
    q : float or array_like
        Overlap(s) in [0, 1).
    kappa : float
        Margin κ, any finite real (the chapters use κ ≥ 0).
    n : int, 2 <= n <= 10000
        Legendre nodes on each side of the kink at ``z = κ/√q``.

    Returns
    -------
    float or ndarray with the shape of ``q``
    """
    q = _check_q(q)
    kappa = check_real("kappa", kappa)
    n = check_int("n", n, 2, 10_000)
    z, w = _energy_nodes(q, kappa, n)
    return np.sum(w * log_H(_u(q, z, kappa)), axis=-1)


def energy_kernel(q, kappa: float = 0.0, n: int = 128):
    """Kernel ``K(q) = ∫Dz [G(u)/H(u)]²``, eq. (gardner-kernel); ``E'(q) = −K(q)/(2(1−q))``.

    ``K(0) = [G(κ)/H(κ)]²`` (2/π at κ = 0) and ``(1−q) K(q) → ∫_{−κ}^∞ Dt (t+κ)²`` as q → 1.

    Parameters
    ----------
    q : float or array_like
        Overlap(s) in [0, 1).
    kappa : float
        Margin κ, any finite real.
    n : int, 2 <= n <= 10000
        Legendre nodes on each side of the kink at ``z = κ/√q``.
    """
    q = _check_q(q)
    kappa = check_real("kappa", kappa)
    n = check_int("n", n, 2, 10_000)
    z, w = _energy_nodes(q, kappa, n)
    return np.sum(w * G_over_H(_u(q, z, kappa)) ** 2, axis=-1)


def capacity_rs(kappa=0.0):
    """Gardner capacity of spherical weights, eq. (gardner-capacity).

    ``α_c(κ) = 1 / ∫_{−κ}^∞ Dt (t + κ)² = 1 / [(1 + κ²) Φ(κ) + κ G(κ)]``; ``α_c(0) = 2``.

    Parameters
    ----------
    kappa : float or array_like
        Margin(s) κ, finite reals (the closed form holds for any real κ; the chapters
        use κ ≥ 0).

    Returns
    -------
    float or ndarray with the shape of ``kappa``
    """
    kappa = _real_or_array("kappa", kappa)
    value = 1.0 / ((1.0 + kappa**2) * ndtr(kappa) + kappa * G(kappa))
    return float(value) if value.ndim == 0 else value


def _ising_terms(qhat, n=96):
    """``(∫Dz tanh²(a z), ∫Dz ln 2cosh(a z))`` with ``a = √q̂``, accurate for any q̂ ≥ 0.

    Written as ``1 − ∫Dz sech²(a z)`` and ``a√(2/π) + ∫Dz ln(1 + e^{−2a|z|})``: the
    remaining integrands live on |z| ≲ 1/a, so for a > 1 they are integrated in
    y = a z, where ``∫Dz f(a z) = ∫dy G(y/a) f(y)/a`` and f decays like e^{−2|y|}.
    """
    a = np.sqrt(qhat)
    if a <= 1.0:
        z, w = split_gauss_nodes(0.0, n)
        y, weights = a * z, w
    else:
        x, wl = legendre_nodes(n)
        y = np.concatenate([2.5 * (x + 1.0), 17.5 * (x + 1.0) + 5.0])  # [0, 5] ∪ [5, 40]
        weights = 2.0 * np.concatenate([2.5 * wl, 17.5 * wl]) * G(y / a) / a  # even integrand
    sech2 = 1.0 / np.cosh(np.minimum(np.abs(y), 350.0)) ** 2
    tanh2 = 1.0 - float(np.sum(weights * sech2))
    log2cosh = a * np.sqrt(2.0 / np.pi) + float(
        np.sum(weights * np.log1p(np.exp(-2.0 * np.abs(y))))
    )
    return tanh2, log2cosh


def entropy_rs(alpha, q, kappa=0.0, weights="spherical", qhat=None):
    """RS free entropy at given order parameters (not extremised), eqs. (gardner-rs, -ising).

    Parameters
    ----------
    alpha : float
        Patterns per weight α ≥ 0.
    q : float
        Overlap in [0, 1).
    kappa : float
        Margin, any finite real.
    weights : {"spherical", "ising"}
    qhat : float ≥ 0, optional
        Conjugate overlap (Ising weights only: required there, refused for spherical).
    """
    alpha = check_real("alpha", alpha, 0.0)
    q = check_real("q", q, 0.0, 1.0, high_open=True)
    kappa = check_real("kappa", kappa)
    weights = check_choice("weights", weights, ("spherical", "ising"))
    if qhat is not None:
        qhat = check_real("qhat", qhat, 0.0)
        if weights == "spherical":
            raise ValueError(f"qhat is used only for weights='ising', got qhat={qhat!r}")
    elif weights == "ising":
        raise ValueError("qhat must be given (a float >= 0) for weights='ising'")
    energy = alpha * float(energy_term(q, kappa))
    if weights == "spherical":
        return float(0.5 * np.log1p(-q) + 0.5 * q / (1.0 - q) + energy)
    _, log2cosh = _ising_terms(qhat)
    return float(-0.5 * qhat * (1.0 - q) + log2cosh + energy)


def _root_distance(f, x, h, lo, hi):
    """Newton estimate ``|f(x)/f'(x)|`` of the distance from ``x`` to the root of ``f``.

    ``f'`` is the difference quotient over ``[x − h, x + h] ∩ [lo, hi]``; the estimate is 0
    where ``f(x) = 0`` and infinite where the quotient vanishes. This is the residual the
    root finders below report, in the units of their tolerance (distance in the unknown).
    """
    fx = f(x)
    if fx == 0.0:
        return 0.0
    a, b = max(x - h, lo), min(x + h, hi)
    slope = (f(b) - f(a)) / (b - a)
    return float(abs(fx / slope)) if slope != 0.0 and np.isfinite(slope) else np.inf


def _solve_spherical(alpha, kappa, tol, max_iter):
    if alpha == 0.0:
        return SolverResult.from_residual(RSSolution(0.0, 0.0, 0.0), 0.0, tol, 0)

    # q − α(1−q)K(q): smooth on [0, 1], unlike q/(1−q) − αK(q) which diverges at q → 1.
    def gap(q):
        return q - alpha * (1.0 - q) * float(energy_kernel(q, kappa))

    if gap(_Q_MAX) <= 0.0:
        raise ValueError(
            f"alpha must lie below the capacity alpha_c(kappa={kappa:g}) = "
            f"{capacity_rs(kappa):.6g} for spherical weights, got {alpha!r}"
        )
    q, info = brentq(
        gap,
        0.0,
        _Q_MAX,
        xtol=tol,
        rtol=4 * np.finfo(float).eps,
        maxiter=max_iter,
        full_output=True,
        disp=False,
    )
    residual = _root_distance(gap, q, tol, 0.0, _Q_MAX)
    s = entropy_rs(alpha, q, kappa, "spherical")
    value = RSSolution(q, q / (1.0 - q) ** 2, s)
    return SolverResult.from_residual(value, residual, tol, info.iterations)


def _solve_ising(alpha, kappa, tol, max_iter):
    if alpha == 0.0:
        return SolverResult.from_residual(RSSolution(0.0, 0.0, np.log(2.0)), 0.0, tol, 0)

    def qhat_of(q):
        return alpha * float(energy_kernel(q, kappa)) / (1.0 - q)

    # q ↦ ∫Dz tanh²(√q̂(q) z) − q is positive at q = 0 and negative near q = 1 below the
    # RS capacity; Brent's method needs ~10 evaluations where damped iteration needs
    # hundreds close to the Krauth–Mézard point.
    def gap(q):
        return _ising_terms(qhat_of(q))[0] - q

    q_hi = 1.0 - 1e-10
    if gap(q_hi) >= 0.0:
        raise ValueError(
            f"alpha must lie below the RS capacity of Ising weights at kappa={kappa:g} "
            f"(4/π ≈ 1.273 at κ = 0) with q < 1 − 1e-10, got {alpha!r}"
        )
    q, info = brentq(gap, 0.0, q_hi, xtol=tol, maxiter=max_iter, full_output=True, disp=False)
    residual = _root_distance(gap, q, tol, 0.0, q_hi)
    qhat = qhat_of(q)
    s = entropy_rs(alpha, q, kappa, "ising", qhat)
    return SolverResult.from_residual(RSSolution(q, qhat, s), residual, tol, info.iterations)


def solve_rs(alpha, kappa=0.0, weights="spherical", tol=1e-12, max_iter=500):
    """Replica-symmetric saddle point of the Gardner volume.

    Spherical weights solve ``q = α(1−q)K(q)`` (eq. gardner-rs), Ising weights
    ``q = ∫Dz tanh²(√q̂ z)`` with ``q̂ = αK(q)/(1−q)`` (eq. gardner-ising), both by
    Brent's method for q on [0, 1).

    Parameters
    ----------
    alpha : float
        Patterns per weight, α ≥ 0; below ``capacity_rs(kappa)`` for spherical weights and
        below the RS q → 1 point (4/π at κ = 0) for Ising weights.
    kappa : float
        Margin κ ≥ 0.
    weights : {"spherical", "ising"}
    tol : float, 0 < tol < 1
        Absolute tolerance on q.
    max_iter : int, >= 1
        Budget of Brent iterations.

    Returns
    -------
    SolverResult
        ``value`` is an :class:`RSSolution`; ``residual`` is the Newton estimate
        ``|g(q)/g'(q)|`` of the distance from the returned q to the root of the saddle-point
        equation ``g(q) = 0`` (the units of ``tol``), and ``converged`` is
        ``residual <= tol``. Warns if not converged.
    """
    alpha = check_real("alpha", alpha, 0.0)
    kappa = check_real("kappa", kappa, 0.0)
    weights = check_choice("weights", weights, ("spherical", "ising"))
    tol = check_real("tol", tol, 0.0, 1.0, low_open=True, high_open=True)
    max_iter = check_int("max_iter", max_iter, 1)
    if weights == "spherical":
        result = _solve_spherical(alpha, kappa, tol, max_iter)
    else:
        result = _solve_ising(alpha, kappa, tol, max_iter)
    return warn_if_not_converged(result, f"solve_rs(alpha={alpha:g}, weights={weights!r})")


def ising_entropy_zero(kappa=0.0, tol=1e-10, max_iter=200):
    """The α at which the RS entropy of Ising weights vanishes.

    At κ = 0 this is ≈ 0.833, the capacity found by Krauth & Mézard (1989) with one
    step of replica symmetry breaking, below the RS capacity 4/π (Gardner & Derrida 1988).
    The root is bracketed by stepping α up from 0 in steps of 0.02 until the entropy
    turns negative (it does so before the RS solution ceases to exist; a step that goes
    beyond that point is halved), then found by Brent's method.

    Parameters
    ----------
    kappa : float
        Margin κ ≥ 0.
    tol : float, 0 < tol < 1
        Absolute tolerance on α.
    max_iter : int, >= 1
        Total budget of iterations: the bracketing steps and Brent's iterations together.

    Returns
    -------
    SolverResult
        ``value`` is α; ``residual`` the Newton estimate ``|s(α)/s'(α)|`` of its distance
        to the zero of the RS entropy ``s`` (the units of ``tol``); ``converged`` is
        ``residual <= tol``. Warns if not converged.
    """
    kappa = check_real("kappa", kappa, 0.0)
    tol = check_real("tol", tol, 0.0, 1.0, low_open=True, high_open=True)
    max_iter = check_int("max_iter", max_iter, 1)
    name = f"ising_entropy_zero(kappa={kappa:g})"

    def s(alpha):
        return solve_rs(alpha, kappa, "ising").value.entropy

    def s_or_none(alpha):  # None beyond the RS q → 1 point, where no RS solution exists
        try:
            return s(alpha)
        except ValueError:
            return None

    lo, step, steps = 0.0, 0.02, 1
    hi = step
    while (value := s_or_none(hi)) is None or value > 0.0:
        if steps >= max_iter:
            result = SolverResult.from_residual(hi, np.inf, tol, steps, {"bracket": (lo, hi)})
            return warn_if_not_converged(result, name)
        if value is None:  # stepped past the RS solution (large κ): a shorter step
            step *= 0.5
            hi = lo + step
        else:
            lo, hi = hi, hi + step
        steps += 1
    if steps >= max_iter:  # bracketed, but no budget left: the midpoint, within half the bracket
        result = SolverResult.from_residual(0.5 * (lo + hi), 0.5 * (hi - lo), tol, steps)
        return warn_if_not_converged(result, name)
    alpha, info = brentq(
        s, lo, hi, xtol=tol, maxiter=max_iter - steps, full_output=True, disp=False
    )
    iterations = steps + info.iterations
    residual = _root_distance(s, alpha, tol, lo, hi)
    result = SolverResult.from_residual(alpha, residual, tol, iterations, {"bracket": (lo, hi)})
    return warn_if_not_converged(result, name)


# ---------------------------------------------------------------- patterns


def random_patterns(n, p, n_samples=1, kind="binary", seed=None):
    """Signed patterns ``y^μ ξ^μ`` of shape (n_samples, p, n).

    ``kind="binary"`` gives ±1 entries (int8); ``"gaussian"`` standard normal (float64),
    for which P random patterns are in general position with probability one.

    Parameters
    ----------
    n : int, >= 1
        Number of weights N.
    p : int, >= 0
        Patterns per sample.
    n_samples : int, >= 1
    kind : {"binary", "gaussian"}
    seed : None, int >= 0 or numpy Generator
    """
    n = check_int("n", n, 1)
    p = check_int("p", p, 0)
    n_samples = check_int("n_samples", n_samples, 1)
    kind = check_choice("kind", kind, ("binary", "gaussian"))
    rng = as_generator(seed)
    if kind == "binary":
        return (2 * rng.integers(0, 2, size=(n_samples, p, n)) - 1).astype(np.int8)
    return rng.standard_normal((n_samples, p, n))


# ---------------------------------------------------------------- exact enumeration


@njit(cache=True)
def _count_one_jit(patterns, threshold, counts):
    # Gray code: consecutive configurations differ by one flip, so every field
    # is updated in O(1) and a configuration costs O(P) instead of O(NP).
    p, n = patterns.shape
    w = -np.ones(n, dtype=np.int64)
    fields = np.empty(p, dtype=np.int64)
    for mu in range(p):
        s = 0
        for i in range(n):
            s += w[i] * patterns[mu, i]
        fields[mu] = s
    total = 1 << n
    for k in range(total):
        if k > 0:
            j = 0
            while not (k >> j) & 1:
                j += 1
            w[j] = -w[j]
            step = 2 * w[j]
            for mu in range(p):
                fields[mu] += step * patterns[mu, j]
        # first violated pattern: the configuration solves exactly the first `first` patterns
        first = p
        for mu in range(p):
            if fields[mu] <= threshold:
                first = mu
                break
        counts[first] += 1


@njit(cache=True, parallel=True)
def _count_batch_jit(patterns, threshold, counts):
    for s in prange(patterns.shape[0]):
        _count_one_jit(patterns[s], threshold, counts[s])


def _threshold(n, kappa):
    # Δ = w·ξ/√N > κ  ⇔  w·ξ > κ√N; the integer field makes this w·ξ > floor(κ√N).
    # (κ beyond 2^62, far above any |w·ξ|/√N ≤ √N, is clipped: κ√N could overflow to inf.)
    if kappa >= 2.0**62:
        return 2**62
    return int(np.floor(kappa * np.sqrt(n) + 1e-12))


def _kernel_threshold(n, kappa):
    # |w·ξ| ≤ N, so a threshold above N excludes every configuration just as N does: the
    # cap keeps a huge κ from overflowing the kernel's int64.
    return min(_threshold(n, kappa), n)


def _cumulative_counts(first_failure):
    # number of configurations solving the first P patterns = #{first failure ≥ P}
    return np.cumsum(first_failure[..., ::-1], axis=-1)[..., ::-1]


def count_solutions(patterns, kappa=0.0, progress=False):
    """Exact number of Ising weight vectors solving the first P patterns, for every P.

    Enumerates all ``2^N`` weight vectors ``w ∈ {±1}^N`` (Gray code, numba, parallel
    over samples) and records, for each, the first pattern it violates, which gives
    the counts for all prefixes ``P = 0 … P_max`` in one pass.

    Parameters
    ----------
    patterns : array_like of ±1, shape (P_max, N) or (n_samples, P_max, N)
        Signed ±1 patterns (labels absorbed), e.g. from :func:`random_patterns`;
        1 <= N <= 40.
    kappa : float
        Margin κ ≥ 0: a pattern is solved when ``w·ξ/√N > κ``. Use odd N at κ = 0 so that
        no field is exactly zero.
    progress : bool
        Show a progress bar over the samples.

    Returns
    -------
    ndarray of int64, shape (P_max + 1,) or (n_samples, P_max + 1)
        Entry P is the number of solutions of the first P patterns (entry 0 is 2^N).
    """
    patterns = check_spin_array("patterns", patterns, ndim=(2, 3))
    kappa = check_real("kappa", kappa, 0.0)
    progress = check_bool("progress", progress)
    single = patterns.ndim == 2
    batch = np.ascontiguousarray(patterns[None] if single else patterns, dtype=np.int64)
    n = check_int("N (patterns.shape[-1])", batch.shape[-1], 1, 40)
    first = np.zeros((batch.shape[0], batch.shape[1] + 1), dtype=np.int64)
    threshold = _kernel_threshold(n, kappa)
    # chunks of a few samples per parallel call, so that the bar moves
    chunk = 8
    starts = range(0, batch.shape[0], chunk)
    for start in tqdm(starts, desc=f"enumerate N={n}", disable=not progress, unit_scale=chunk):
        _count_batch_jit(batch[start : start + chunk], threshold, first[start : start + chunk])
    counts = _cumulative_counts(first)
    return counts[0] if single else counts


def entropy_from_counts(counts, n):
    """Finite-size entropy curve from :func:`count_solutions` output.

    Parameters
    ----------
    counts : array_like, shape (n_samples, P_max + 1)
        Solution counts (finite, >= 0) of every prefix P for each sample; at least one
        sample and one prefix.
    n : int, >= 1
        Number of weights N.

    Returns
    -------
    dict of ndarrays of shape (P_max + 1,)
        ``alpha`` = P/N; ``entropy`` = mean of ln(count)/N over the samples with at
        least one solution, and ``entropy_err`` its standard error; ``p_unsat``, the
        fraction of samples with no solution (the quenched average of ln(count) is −∞
        as soon as one sample has none, so the entropy is conditioned on count > 0).
    """
    counts = check_array("counts", counts, 0.0, ndim=2, allow_empty=False)
    n = check_int("n", n, 1)
    with np.errstate(divide="ignore"):
        logs = np.where(counts > 0, np.log(counts), np.nan) / n
    p_unsat = np.mean(counts == 0, axis=0)
    entropy = np.full(counts.shape[1], np.nan)
    err = np.full(counts.shape[1], np.nan)
    ok = np.sum(counts > 0, axis=0) >= 2
    entropy[ok], err[ok] = mean_and_sem(logs[:, ok])
    alpha = np.arange(counts.shape[1]) / n
    return {"alpha": alpha, "entropy": entropy, "entropy_err": err, "p_unsat": p_unsat}


def effective_margin(n, kappa=0.0):
    """The margin that a count at size N and margin κ effectively imposes on Ising weights.

    For ``w ∈ {±1}^N`` and ±1 patterns the field ``w·ξ`` is an integer of the parity of N,
    so ``w·ξ > κ√N`` only says ``w·ξ ≥ f_min``, the smallest such integer above ``κ√N``.
    The continuum constraint that counts the same configurations, with its threshold
    halfway between ``f_min`` and the largest excluded value ``f_min − 2``, has margin
    ``κ_eff = (f_min − 1)/√N``. It equals 0 at κ = 0 for odd N, and oscillates around κ
    as N grows, which is why finite-size counts at κ > 0 are compared with the replica
    result at ``κ_eff(N)``.

    Parameters
    ----------
    n : int, >= 1
        Number of weights N.
    kappa : float
        Margin κ ≥ 0.
    """
    n = check_int("n", n, 1)
    t = _threshold(n, check_real("kappa", kappa, 0.0))
    f_min = t + 1 if (t + 1 - n) % 2 == 0 else t + 2
    return (f_min - 1) / np.sqrt(n)


def enumeration_vs_rs(curves, alphas, kappa=0.0):
    """Compare finite-size Ising entropies with the RS entropy and extrapolate to N → ∞.

    At each size the enumerated entropy (interpolated linearly in α between the points
    P/N) is compared with the RS entropy at that size's :func:`effective_margin`; the
    deviation is extrapolated linearly in 1/N (:func:`deepspin.stats.finite_size_extrapolation`).
    At κ = 0 and odd N the effective margin is 0 and this is a plain extrapolation of
    the entropy itself.

    Parameters
    ----------
    curves : dict
        ``{N: entropy_from_counts(counts, N)}`` for at least two sizes N >= 1, each a dict
        with arrays ``alpha`` (increasing), ``entropy`` and ``entropy_err`` of equal length.
    alphas : array_like, 1-D
        Loads at which to compare, ``1/min(N) < alpha <= `` the largest load of every curve,
        where each size has an entropy (at least two samples with a solution). Below
        ``1/min(N)`` the smallest size holds at most one pattern, whose count is the same for
        every sample: the entropy there has no sample error to weight the 1/N fit by.
    kappa : float
        Margin κ ≥ 0.

    Returns
    -------
    dict of ndarrays
        ``entropy``, ``entropy_err``, ``rs_eff`` of shape (len(alphas), len(sizes));
        ``deviation``, ``deviation_err`` (N → ∞) and ``rs`` (at κ) of shape (len(alphas),);
        ``enumeration = rs + deviation``, the extrapolated entropy; ``sizes``, ``kappa_eff``.
    """
    sizes, curves = _check_curves(curves)
    alphas = np.atleast_1d(check_array("alphas", alphas, 0.0, allow_empty=False))
    if alphas.ndim != 1:
        raise ValueError(f"alphas must be a number or a 1-D array, got shape {alphas.shape}")
    kappa = check_real("kappa", kappa, 0.0)
    low = 1.0 / sizes[0]
    high = min(float(curves[n]["alpha"][-1]) for n in sizes)
    for a in alphas:
        if not low < a <= high:
            raise ValueError(
                f"alphas must lie in (1/min(N), largest enumerated load] = ({low:.4g}, "
                f"{high:.4g}] (at alpha <= 1/N a size holds at most one pattern, whose count "
                f"is the same for every sample), got {a!r}"
            )
    kappa_eff = np.array([effective_margin(n, kappa) for n in sizes])

    def at(key):
        return np.array(
            [[np.interp(a, curves[n]["alpha"], curves[n][key]) for n in sizes] for a in alphas]
        )

    entropy, err = at("entropy"), at("entropy_err")
    missing = ~(np.isfinite(entropy) & np.isfinite(err))
    if np.any(missing):
        i, j = np.argwhere(missing)[0]
        raise ValueError(
            f"alphas must be loads where every size has an entropy (two or more samples with "
            f"a solution); N = {sizes[j]} has none at alpha = {alphas[i]!r}"
        )
    rs_eff = np.array([[solve_rs(a, k, "ising").value.entropy for k in kappa_eff] for a in alphas])
    fits = [
        finite_size_extrapolation(sizes, entropy[i] - rs_eff[i], err[i]) for i in range(alphas.size)
    ]
    rs = np.array([solve_rs(a, kappa, "ising").value.entropy for a in alphas])
    deviation = np.array([f.value for f in fits])
    return {
        "sizes": np.array(sizes),
        "kappa_eff": kappa_eff,
        "alpha": alphas,
        "entropy": entropy,
        "entropy_err": err,
        "rs_eff": rs_eff,
        "rs": rs,
        "deviation": deviation,
        "deviation_err": np.array([f.error for f in fits]),
        "enumeration": rs + deviation,
    }


def _check_curves(curves):
    """Sizes (sorted) and curves of :func:`enumeration_vs_rs`, validated."""
    if not isinstance(curves, dict) or len(curves) < 2:
        raise ValueError(
            f"curves must be a dict {{N: entropy_from_counts(counts, N)}} with at least two "
            f"sizes, got {curves!r}"
        )
    checked = {}
    for n, curve in curves.items():
        size = check_int("curves size N", n, 1)
        if not isinstance(curve, dict) or not {"alpha", "entropy", "entropy_err"} <= set(curve):
            raise ValueError(
                f"curves[{n!r}] must be a dict with 'alpha', 'entropy' and 'entropy_err', "
                f"got {curve!r}"
            )
        alpha = check_array(f"curves[{n!r}]['alpha']", curve["alpha"], 0.0, ndim=1)
        if alpha.size < 2 or np.any(np.diff(alpha) <= 0):
            raise ValueError(f"curves[{n!r}]['alpha'] must be increasing with >= 2 loads")
        arrays = {"alpha": alpha}
        for key in ("entropy", "entropy_err"):
            try:
                arrays[key] = np.asarray(curve[key], dtype=float)
            except (TypeError, ValueError):
                raise ValueError(f"curves[{n!r}][{key!r}] must be an array of reals") from None
            if arrays[key].shape != alpha.shape:
                raise ValueError(
                    f"curves[{n!r}][{key!r}] must have the shape of its 'alpha' {alpha.shape}, "
                    f"got {arrays[key].shape}"
                )
        checked[size] = arrays
    return sorted(checked), checked


def count_solutions_numpy(patterns, kappa=0.0, chunk=1 << 16):
    """Plain-numpy version of :func:`count_solutions` for one sample (the baseline).

    Builds every configuration as a ±1 matrix in chunks and computes all fields with
    one matrix product per chunk.

    Parameters
    ----------
    patterns : array_like of ±1, shape (P, N)
        Non-empty, with 1 <= N <= 30 (the baseline builds all 2^N rows).
    kappa : float
        Margin κ ≥ 0.
    chunk : int, 1 <= chunk <= 2**24
        Configurations per matrix product.
    """
    patterns = check_spin_array("patterns", patterns, ndim=2)
    if patterns.size == 0:
        raise ValueError(
            f"patterns must be a non-empty ±1 array of shape (P, N), got shape {patterns.shape}"
        )
    patterns = patterns.astype(np.int64)
    p, n = patterns.shape
    # the baseline builds all 2^N configurations: N = 30 is already 2^30 rows of fields
    n = check_int("N (patterns.shape[1])", n, 1, 30)
    threshold = _kernel_threshold(n, check_real("kappa", kappa, 0.0))
    chunk = check_int("chunk", chunk, 1, 1 << 24)
    bits = np.arange(n)
    first = np.zeros(p + 1, dtype=np.int64)
    for start in range(0, 1 << n, chunk):
        k = np.arange(start, min(start + chunk, 1 << n))
        w = 2 * ((k[:, None] >> bits) & 1) - 1
        violated = (w @ patterns.T) <= threshold
        idx = np.where(violated.any(axis=1), violated.argmax(axis=1), p)
        first += np.bincount(idx, minlength=p + 1)
    return _cumulative_counts(first)


# ---------------------------------------------------------------- spherical weights: programming


def _check_patterns(patterns):
    a = check_array("patterns", patterns, ndim=2)
    if a.shape[1] == 0:
        raise ValueError(f"patterns must have shape (P, N) with N >= 1, got shape {a.shape}")
    return a


def is_separable_lp(patterns):
    """Linear-programming feasibility at κ = 0: is there ``w`` with ``ξ^μ·w ≥ 1`` for all μ?

    Solved with scipy's HiGHS as ``max t`` subject to ``ξ^μ·w ≥ t`` in the box
    ``|w_i| ≤ 1``; separable iff ``t* > 0``. For κ = 0 the constraint is homogeneous,
    so this is exactly the question whether the patterns can be stored.

    Parameters
    ----------
    patterns : array_like of float, shape (P, N)
        Finite signed patterns, P >= 0 and N >= 1 (no pattern is always separable).
    """
    a = _check_patterns(patterns)
    if a.shape[0] == 0:
        return True
    # The bounded form (max t with ξ^μ·w ≥ t, |w_i| ≤ 1, t ≤ 1) is always feasible and
    # bounded, so HiGHS returns an optimum instead of an infeasibility certificate,
    # which it occasionally fails to produce for patterns at the edge of separability.
    p, n = a.shape
    cost = np.zeros(n + 1)
    cost[-1] = -1.0
    a_ub = np.hstack([-a, np.ones((p, 1))])
    bounds = [(-1.0, 1.0)] * n + [(None, 1.0)]
    res = linprog(cost, A_ub=a_ub, b_ub=np.zeros(p), bounds=bounds, method="highs")
    if res.status != 0:
        raise RuntimeError(f"HiGHS failed: {res.message}")
    return bool(-res.fun > 1e-9)


def max_stability(patterns):
    """Largest achievable minimal stability ``κ_max = max_w min_μ ξ^μ·w/|w|``.

    Equivalent to the minimum-norm ``w`` with ``ξ^μ·w ≥ 1`` (a hard-margin SVM through
    the origin): ``κ_max = 1/|w_min|``. Solved exactly as a least-distance programme
    reduced to non-negative least squares (Lawson & Hanson 1974, ch. 23). Returns
    ``-inf`` when the patterns are not separable (κ_max ≤ 0), ``inf`` for no pattern.

    Parameters
    ----------
    patterns : array_like of float, shape (P, N)
        Finite signed patterns, P >= 0 and N >= 1.
    """
    a = _check_patterns(patterns)
    p, n = a.shape
    if p == 0:
        return np.inf
    e = np.vstack([a.T, np.ones((1, p))])
    f = np.zeros(n + 1)
    f[-1] = 1.0
    u, _ = nnls(e, f, maxiter=50 * (p + n))
    r = e @ u - f
    if np.linalg.norm(r) < 1e-10:
        return -np.inf
    w = -r[:n] / r[-1]
    return float(np.min(a @ w) / np.linalg.norm(w))


def capacity_samples(
    n, kappa=0.0, n_samples=20, alpha_max=None, method="qp", seed=None, progress=False
):
    """Empirical storage capacity ``P*`` of spherical weights for independent samples.

    Each sample is a sequence of Gaussian patterns; ``P*`` is the largest P such that
    the first P patterns can be stored at margin κ, found by bisection in P (storability
    is monotone in P). ``E[P*]/N`` estimates α_c(κ) at size N.

    Parameters
    ----------
    n : int, >= 1
        Input dimension N.
    kappa : float
        Margin κ ≥ 0.
    n_samples : int, >= 1
    alpha_max : float > 0, optional
        Longest sequence, in units of N (default ``2 α_c(κ) + 2``).
    method : {"lp", "qp"}
        ``"lp"``: HiGHS feasibility (κ = 0 only, where the constraints are homogeneous);
        ``"qp"``: :func:`max_stability` ≥ κ (any κ; the margin condition involves |w|
        and is a second-order cone, not a linear, constraint).
    seed : int, Generator or None
    progress : bool
        Show a progress bar over the samples.

    Returns
    -------
    ndarray of int, shape (n_samples,)
    """
    n = check_int("n", n, 1)
    kappa = check_real("kappa", kappa, 0.0)
    n_samples = check_int("n_samples", n_samples, 1)
    method = check_choice("method", method, ("lp", "qp"))
    progress = check_bool("progress", progress)
    if method == "lp" and kappa != 0.0:
        raise ValueError(f"method='lp' needs kappa = 0 (homogeneous constraints), got {kappa!r}")
    if alpha_max is None:
        alpha_max = 2.0 * capacity_rs(kappa) + 2.0
    alpha_max = check_real("alpha_max", alpha_max, 0.0, low_open=True)
    p_max = max(int(np.ceil(alpha_max * n)), 1)
    if p_max * n > 10**9:
        raise ValueError(
            f"alpha_max must keep the pattern matrix (ceil(alpha_max*n) x n) below 1e9 "
            f"entries, got alpha_max = {alpha_max!r} at n = {n}"
        )
    rng = as_generator(seed)

    def storable(pats):
        return is_separable_lp(pats) if method == "lp" else max_stability(pats) >= kappa

    out = np.empty(n_samples, dtype=np.int64)
    for s in tqdm(range(n_samples), desc=f"{method} N={n}", disable=not progress):
        pats = rng.standard_normal((p_max, n))
        if storable(pats):
            out[s] = p_max
            continue
        lo, hi = 0, p_max  # storable(pats[:lo]) holds, storable(pats[:hi]) does not
        while hi - lo > 1:
            mid = (lo + hi) // 2
            if storable(pats[:mid]):
                lo = mid
            else:
                hi = mid
        out[s] = lo
    return out


def cover_probability(p, n):
    """Probability that P Gaussian patterns in N dimensions are separable at κ = 0 (Cover 1965).

    ``C(P, N)/2^P = 2^{1−P} Σ_{k<N} binom(P−1, k)``; exactly 1 for P ≤ N and 1/2 at P = 2N.

    Parameters
    ----------
    p : int or array_like of int, 0-D or 1-D, non-empty
        Numbers of patterns P >= 0.
    n : int, >= 1
        Dimension N.

    Returns
    -------
    float for a single P, else ndarray of shape (len(p),)
    """
    p = np.atleast_1d(check_int_array("p", p, 0, allow_empty=False))
    if p.ndim != 1:
        raise ValueError(f"p must be an integer or a 1-D array of integers, got shape {p.shape}")
    n = check_int("n", n, 1)
    out = np.ones(p.shape, dtype=float)
    for idx, pp in enumerate(p):
        if pp > n:
            k = np.arange(n)
            log_binom = gammaln(pp) - gammaln(k + 1) - gammaln(pp - k)
            out[idx] = min(1.0, float(np.exp(logsumexp(log_binom) + (1 - pp) * np.log(2.0))))
    return out if out.size > 1 else float(out[0])
