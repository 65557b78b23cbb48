"""Covariance ξ(q) of a random MLP's output over the sphere of inputs (chapter ``wh_kernels``).

A random MLP with inputs on the sphere of radius √N₀, weights ``W ~ N(0, C_W/fan-in)``
and biases ``b ~ N(0, C_b)``, at infinite width, is a Gaussian process whose covariance
depends only on the overlap ``q = x·x'/N₀``. Layer by layer (the NNGP recursion, eq. nngp)

    K₁(q) = C_b + C_W q,    K_{l+1}(q) = C_b + C_W F(v_l, K_l(q)),    v_l = K_l(1),

with the dual kernel ``F(v, c) = E[φ(u) φ(w)]`` of the activation, (u, w) centred
Gaussian with variances v and covariance c. The Hamiltonian ``√N₀ f(x)`` is then a
spherical mixed p-spin model with ``ξ(q) = K_{L+1}(q) − K_{L+1}(0)`` (eq. pspin-map).
Derivatives in q follow from Price's theorem, ``∂_c^k F = E[φ^{(k)}(u) φ^{(k)}(w)]``,
and the chain rule (Faà di Bruno to third order).

Every covariance object here has the same interface: vectorised methods ``xi``, ``dxi``,
``d2xi``, ``d3xi`` on q ∈ [0, 1]; the Parisi solvers accept any object that has them.

Shaped activations are taken in the depth-continuum limit (infinite width first, then
many layers of activations that approach the identity as ``1/√L``); ``depth`` is then the
continuous depth τ in units of the shaping scale:

* shaped ReLU, slopes ``s_± = 1 + c_±/√L`` on the two half-lines, ``shape = c₊ − c₋``:
  ``dρ/dτ = (shape²/2π)(√(1−ρ²) − ρ arccos ρ)`` (eq. shaped-relu-ode), solved numerically
  with its variational equations for the derivatives;
* smooth shaped, ``φ = √L ψ(t/√L)``, ψ(0) = 0, ψ'(0) = 1, ``shape = ψ''(0)``:
  ``dρ/dτ = (shape²/4)(1−ρ)(1−2ρ)`` (eq. smooth-shaped-ode), whose solution is the
  Möbius map ``ρ(τ) = (A − Bρ₀)/(C − Dρ₀)`` with ``E = e^{−shape² τ/4}``, A = 1 − E,
  B = 1 − 2E, C = 2 − E, D = 2(1 − E).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from numbers import Integral

import numpy as np
from scipy.integrate import solve_ivp
from scipy.interpolate import CubicSpline
from scipy.special import erf

from deepspin.checks import as_generator, check_choice, check_int, check_real
from deepspin.gauss import gauss_hermite

__all__ = [
    "ACTIVATIONS",
    "Mixture",
    "NetworkCovariance",
    "TabulatedCovariance",
    "covariance",
    "mixture",
    "pure_pspin",
    "sample_kernel",
]

ACTIVATIONS = ("linear", "relu", "erf", "tanh", "sin", "cos", "shaped_relu", "shaped_smooth")
_SHAPED = ("shaped_relu", "shaped_smooth")


# --- textbook mixtures --------------------------------------------------------------------


@dataclass(frozen=True)
class Mixture:
    """``ξ(q) = Σ_p c_p q^p`` (eq. mixture), with ``c_p ≥ 0``."""

    coefficients: tuple[tuple[int, float], ...]

    def _sum(self, q, order):
        q = np.asarray(q, dtype=float)
        out = np.zeros_like(q)
        for p, c in self.coefficients:
            if p < order:
                continue
            falling = np.prod(np.arange(p - order + 1, p + 1))  # p!/(p−order)!
            out = out + c * falling * q ** (p - order)
        return out

    def xi(self, q):
        return self._sum(q, 0)

    def dxi(self, q):
        return self._sum(q, 1)

    def d2xi(self, q):
        return self._sum(q, 2)

    def d3xi(self, q):
        return self._sum(q, 3)


def mixture(coefficients):
    """The mixed p-spin covariance ``ξ(q) = Σ_p c_p q^p`` from a dict ``{p: c_p}``.

    Parameters
    ----------
    coefficients : dict {int ≥ 1: float ≥ 0}, non-empty
        The powers p and their finite weights c_p.

    Returns
    -------
    Mixture
    """
    if not isinstance(coefficients, dict) or not coefficients:
        raise ValueError(f"coefficients must be a non-empty dict {{p: c_p}}, got {coefficients!r}")
    terms = []
    for p in coefficients:
        if isinstance(p, bool) or not isinstance(p, Integral) or p < 1:
            raise ValueError(f"coefficients: every power p must be an integer ≥ 1, got {p!r}")
    for p, c in sorted(coefficients.items()):
        terms.append((int(p), check_real(f"coefficients (c_{p})", c, 0.0)))
    return Mixture(tuple(terms))


def pure_pspin(p, c=1.0):
    """The pure p-spin covariance ``ξ(q) = c q^p`` (physics convention c = 1/2).

    Parameters
    ----------
    p : int ≥ 1
    c : float > 0
    """
    return mixture({check_int("p", p, 1): check_real("c", c, 0.0, low_open=True)})


# --- dual kernels: F and its first three c-derivatives --------------------------------------


def _tanh_derivatives(t):
    th = np.tanh(t)
    s = 1.0 - th**2
    return th, s, -2.0 * th * s, s * (6.0 * th**2 - 2.0)


def _dual(activation, v, c):
    """``(F, ∂_cF, ∂²_cF, ∂³_cF)`` at variances v (scalar) and covariances c (array)."""
    c = np.asarray(c, dtype=float)
    if activation == "linear":
        zero = np.zeros_like(c)
        return c, np.ones_like(c), zero, zero
    if activation == "relu":
        rho = np.clip(c / v, -1.0, 1.0)
        theta = np.arccos(rho)
        gap = np.sqrt(np.maximum(v * v - c * c, 0.0))
        with np.errstate(divide="ignore"):
            return (
                v / (2 * np.pi) * (np.sin(theta) + (np.pi - theta) * rho),
                (np.pi - theta) / (2 * np.pi),
                1.0 / (2 * np.pi * gap),
                c / (2 * np.pi * gap**3),
            )
    if activation == "erf":
        s = 2.0 / (1.0 + 2.0 * v)
        a = np.clip(s * c, -1.0, 1.0)
        one = 1.0 - a * a
        with np.errstate(divide="ignore", invalid="ignore"):
            return (
                2 / np.pi * np.arcsin(a),
                2 / np.pi * s / np.sqrt(one),
                2 / np.pi * s**2 * a / one**1.5,
                2 / np.pi * s**3 * (1 + 2 * a * a) / one**2.5,
            )
    if activation in ("sin", "cos"):
        damp = np.exp(-v)
        sh, ch = damp * np.sinh(c), damp * np.cosh(c)
        return (sh, ch, sh, ch) if activation == "sin" else (ch, sh, ch, sh)
    # tanh: E[φ^(k)(u) φ^(k)(w)] by a tensor Gauss–Hermite rule, u = √v z₁,
    # w = √v (ρ z₁ + √(1−ρ²) z₂)
    z, w = gauss_hermite(80)
    rho = np.clip(c / v, -1.0, 1.0)[..., None, None]
    u = np.sqrt(v) * z[:, None]
    wv = np.sqrt(v) * (rho * z[:, None] + np.sqrt(1.0 - rho**2) * z[None, :])
    weight = w[:, None] * w[None, :]
    left, right = _tanh_derivatives(u), _tanh_derivatives(wv)
    return tuple(np.sum(weight * a * b, axis=(-2, -1)) for a, b in zip(left, right, strict=True))


# --- the network covariance -------------------------------------------------------------------


def _shaped_relu_flow(rho0, tau, shape):
    """ρ(τ) and ∂ρ/∂ρ₀ to third order for eq. (shaped-relu-ode), for every entry of ρ₀."""
    kappa = shape**2 / (2 * np.pi)
    n = rho0.size

    def rhs(_, y):
        r, y1, y2, y3 = np.split(y, 4)
        r = np.clip(r, -1.0, 1.0)
        root = np.sqrt(np.maximum(1.0 - r * r, 1e-300))
        f = kappa * (root - r * np.arccos(r))
        f1 = -kappa * np.arccos(r)
        f2 = kappa / root
        f3 = kappa * r / root**3
        return np.concatenate(
            [f, f1 * y1, f2 * y1**2 + f1 * y2, f3 * y1**3 + 3 * f2 * y1 * y2 + f1 * y3]
        )

    if tau == 0:
        return [rho0.copy(), np.ones(n), np.zeros(n), np.zeros(n)]
    # ρ = 1 is a fixed point where ∂²_ρ f diverges: keep it out of the shared step control
    inside = rho0 < 1.0
    out = [rho0.copy(), np.ones(n), np.full(n, np.inf), np.full(n, np.inf)]
    if inside.any():
        start = np.concatenate([rho0[inside], np.ones(inside.sum()), *2 * [np.zeros(inside.sum())]])
        solution = solve_ivp(rhs, (0.0, tau), start, method="DOP853", rtol=1e-11, atol=1e-13)
        for full, part in zip(out, np.split(solution.y[:, -1], 4), strict=True):
            full[inside] = part
    return out


def _shaped_smooth_flow(rho0, tau, shape):
    """The closed-form solution of eq. (smooth-shaped-ode) and its ρ₀-derivatives."""
    E = np.exp(-(shape**2) * tau / 4.0)
    A, B, C, D = 1.0 - E, 1.0 - 2.0 * E, 2.0 - E, 2.0 * (1.0 - E)
    den = C - D * rho0
    return (A - B * rho0) / den, E / den**2, 2 * E * D / den**3, 6 * E * D**2 / den**4


@dataclass(frozen=True)
class NetworkCovariance:
    """ξ(q) of a random MLP at infinite width (eq. nngp, eq. pspin-map); see :func:`covariance`."""

    activation: str
    depth: float
    weight_var: float
    bias_var: float
    shape: float

    def kernel(self, q):
        """``K_{L+1}(q)`` and its first three q-derivatives."""
        q = np.asarray(q, dtype=float)
        cw, cb = self.weight_var, self.bias_var
        k0, k1 = cb + cw * q, np.full_like(q, cw)
        k2, k3 = np.zeros_like(q), np.zeros_like(q)
        v = cb + cw
        if self.activation in _SHAPED:
            flow = _shaped_relu_flow if self.activation == "shaped_relu" else _shaped_smooth_flow
            r, r1, r2, r3 = flow(np.atleast_1d(k0 / v).ravel(), self.depth, self.shape)
            scale = cw / v  # dρ₀/dq
            shape_of = q.shape
            return (
                (v * r).reshape(shape_of),
                (v * r1 * scale).reshape(shape_of),
                (v * r2 * scale**2).reshape(shape_of),
                (v * r3 * scale**3).reshape(shape_of),
            )
        for _ in range(int(self.depth)):
            F, F1, F2, F3 = _dual(self.activation, v, k0)
            with np.errstate(invalid="ignore"):
                k3 = cw * (F3 * k1**3 + 3 * F2 * k1 * k2 + F1 * k3)
                k2 = cw * (F2 * k1**2 + F1 * k2)
            k1 = cw * F1 * k1
            k0 = cb + cw * F
            v = cb + cw * float(_dual(self.activation, v, v)[0])
        return k0, k1, k2, k3

    def xi(self, q):
        return self.kernel(q)[0] - self.kernel(0.0)[0]

    def dxi(self, q):
        return self.kernel(q)[1]

    def d2xi(self, q):
        return self.kernel(q)[2]

    def d3xi(self, q):
        return self.kernel(q)[3]

    @cached_property
    def table(self):
        """A :class:`TabulatedCovariance` of this ξ: what the Parisi solvers evaluate."""
        return TabulatedCovariance(self)


class TabulatedCovariance:
    """ξ, ξ' and ξ'' of ``source`` interpolated by cubic splines in ``t = √(1 − q)``.

    The solvers evaluate ξ and its derivatives thousands of times; the NNGP recursion (a
    2-D quadrature per layer for tanh, an ODE for shaped ReLU) is too slow for that. The
    variable t makes the ``(1 − q)^{3/2}`` edge of ReLU-like kernels smooth, so a
    2049-point table is accurate to about 1e-12 (tested). Where ξ''(1) is infinite
    (``ξ'' ∝ 1/t``), ``t ξ''`` is tabulated instead. ``d3xi`` is passed to the source.
    """

    def __init__(self, source, n=2049, chunk=128):
        """Tabulate ``source`` (an object with a vectorised ``kernel(q)`` returning K and its
        first three q-derivatives, e.g. a :class:`NetworkCovariance`) at ``n`` ≥ 4 nodes in t,
        evaluated ``chunk`` ≥ 1 nodes at a time."""
        if not callable(getattr(source, "kernel", None)) or not callable(
            getattr(source, "d3xi", None)
        ):
            raise ValueError(
                f"source must have vectorised methods kernel and d3xi (e.g. covariance(...)), "
                f"got {type(source).__name__}"
            )
        n = check_int("n", n, 4)
        chunk = check_int("chunk", chunk, 1)
        self.source = source
        t = np.linspace(0.0, 1.0, n)
        q = 1.0 - t**2
        parts = [source.kernel(q[i : i + chunk])[:3] for i in range(0, n, chunk)]
        k0, k1, k2 = (np.concatenate([p[k] for p in parts]) for k in range(3))
        self._xi = CubicSpline(t, k0 - k0[-1])  # t = 1 is q = 0
        self._dxi = CubicSpline(t, k1)
        self._singular = not np.isfinite(k2[0])
        if self._singular:
            with np.errstate(invalid="ignore"):
                scaled = t * k2
            scaled[0] = 3 * scaled[1] - 3 * scaled[2] + scaled[3]  # quadratic extrapolation
            self._d2xi = CubicSpline(t, scaled)
        else:
            self._d2xi = CubicSpline(t, k2)

    @staticmethod
    def _t(q):
        return np.sqrt(np.clip(1.0 - np.asarray(q, dtype=float), 0.0, None))

    def _evaluate(self, q, tabulated, exact):
        """The table on 0 ≤ q ≤ 1 and the source's exact recursion for q < 0 (rarely needed:
        the solvers use q ≥ 0 only; sampled overlaps can be negative)."""
        q = np.asarray(q, dtype=float)
        out = np.asarray(tabulated(q), dtype=float)
        negative = q < 0
        if np.any(negative):
            out = np.array(out, copy=True)
            out[negative] = exact(q[negative])
        return out

    def xi(self, q):
        return self._evaluate(q, lambda v: self._xi(self._t(v)), self.source.xi)

    def dxi(self, q):
        return self._evaluate(q, lambda v: self._dxi(self._t(v)), self.source.dxi)

    def d2xi(self, q):
        def tabulated(v):
            t = self._t(v)
            if not self._singular:
                return self._d2xi(t)
            with np.errstate(divide="ignore"):
                return self._d2xi(t) / t

        return self._evaluate(q, tabulated, self.source.d2xi)

    def d3xi(self, q):
        return self.source.d3xi(q)


def covariance(activation, depth, weight_var=1.0, bias_var=0.0, shape=1.0):
    """The covariance ξ(q) of a random MLP's output over its inputs (eq. pspin-map).

    Parameters
    ----------
    activation : one of ``ACTIVATIONS``
        linear, relu, erf, tanh, sin, cos (exact NNGP recursion; tanh by quadrature), or
        shaped_relu, shaped_smooth (depth-continuum limits, eqs. shaped-relu-ode,
        smooth-shaped-ode).
    depth : int ≥ 0 (float ≥ 0 for shaped activations)
        Hidden layers; depth 0 is a linear read-out of the input. For shaped activations
        the continuous depth τ in units of the shaping scale.
    weight_var, bias_var : float
        C_W > 0 and C_b ≥ 0.
    shape : float
        Shaping strength of the shaped activations (``c₊ − c₋`` or ``ψ''(0)``).

    Returns
    -------
    NetworkCovariance
        With vectorised ``xi``, ``dxi``, ``d2xi``, ``d3xi`` (and ``kernel``).
    """
    activation = check_choice("activation", activation, ACTIVATIONS)
    if activation in _SHAPED:
        depth = check_real("depth", depth, 0.0)
    else:
        depth = check_int("depth", depth, 0)
    weight_var = check_real("weight_var", weight_var, 0.0, low_open=True)
    bias_var = check_real("bias_var", bias_var, 0.0)
    shape = check_real("shape", shape)
    return NetworkCovariance(activation, depth, weight_var, bias_var, shape)


_NUMPY_ACTIVATIONS = {
    "linear": lambda t: t,
    "relu": lambda t: np.maximum(t, 0.0),
    "erf": erf,
    "tanh": np.tanh,
    "sin": np.sin,
    "cos": np.cos,
}


def sample_kernel(activation, depth, q, width=4096, weight_var=1.0, bias_var=0.0, n_pairs=16,
                  n_networks=8, seed=None):  # fmt: skip
    """Monte Carlo estimate of ``K_{L+1}(q)`` from independent finite random networks.

    In each of ``n_networks`` networks of the given width, ``n_pairs`` pairs of inputs on
    the sphere of radius √N₀ (N₀ = width) with overlap q give the estimate
    ``C_b + C_W · mean_i φ(z_i(x)) φ(z_i(x'))`` over the last hidden layer (at depth 0,
    ``C_b + C_W x·x'/N₀``). Returns the mean and its standard error over networks (the
    pairs of one network share its weights, so only networks are independent).

    Parameters
    ----------
    activation : linear, relu, erf, tanh, sin or cos
    depth : int ≥ 0
    q : float in [−1, 1]
    width : int ≥ 2
    weight_var, bias_var : float
        C_W > 0 and C_b ≥ 0.
    n_pairs : int ≥ 1
    n_networks : int ≥ 2
    seed : None, int or numpy Generator
    """
    activation = check_choice("activation", activation, tuple(_NUMPY_ACTIVATIONS))
    depth = check_int("depth", depth, 0)
    q = check_real("q", q, -1.0, 1.0)
    width = check_int("width", width, 2)
    weight_var = check_real("weight_var", weight_var, 0.0, low_open=True)
    bias_var = check_real("bias_var", bias_var, 0.0)
    n_pairs = check_int("n_pairs", n_pairs, 1)
    n_networks = check_int("n_networks", n_networks, 2)
    rng = as_generator(seed)
    phi = _NUMPY_ACTIVATIONS[activation]
    means = np.empty(n_networks)
    for k in range(n_networks):
        x = rng.standard_normal((n_pairs, width))
        noise = rng.standard_normal((n_pairs, width))
        x /= np.linalg.norm(x, axis=1, keepdims=True)
        noise -= np.sum(noise * x, axis=1, keepdims=True) * x
        noise /= np.linalg.norm(noise, axis=1, keepdims=True)
        h = np.sqrt(width) * np.concatenate([x, q * x + np.sqrt(1.0 - q * q) * noise])
        for _ in range(depth):
            W = rng.standard_normal((width, width)) * np.sqrt(weight_var / width)
            h = phi(h @ W + rng.standard_normal(width) * np.sqrt(bias_var))
        products = np.mean(h[:n_pairs] * h[n_pairs:], axis=1)
        means[k] = bias_var + weight_var * products.mean()
    return float(means.mean()), float(means.std(ddof=1) / np.sqrt(n_networks))
