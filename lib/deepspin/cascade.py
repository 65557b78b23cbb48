"""The Parisi cascade: nested Gaussian convolutions, differentiable (torch).

Every k-step replica-symmetry-broken free entropy of the book is built from one operation
(eq. cascade)::

    g_{k+1}(h) = f(h)                                     (the "top" function)
    g_j(h)     = m_j⁻¹ ln ∫Dz exp(m_j g_{j+1}(h + σ_j z)),   j = k, …, 1
    result     = ∫Dz g_1(σ_0 z),

with variances ``σ_j² = v_j ≥ 0`` (the increments of a Parisi function) and breakpoints
``0 < m_1 < … < m_k < 1``. For Ising spins f(y) = ln 2cosh y (the SK-type term); for a
perceptron's constraint f(h) = ln H(−h/√(1−Δ_k)) (Gardner's term). At k = 0 it is the
replica-symmetric ``∫Dz f(σ_0 z)``, and a zero variance makes a level disappear.

Discretisation. Each g_j is held on its own grid of ``n_grid`` points, ``h = a sinh t`` with t
uniform: dense near h = 0, where f bends (on the scale ``width`` of the top function,
smoothed by the inner variances), and reaching ``±zmax Σ_{i<j} σ_i``, the largest field
the outer levels ask for. Between grid points g_j is a natural cubic spline in t. Each
Gaussian integral is a composite Gauss–Legendre rule split at the point where
``h + σ z = 0`` (the bend), ``n_side`` nodes on each side, so a bend sharper than the
Gaussian is still integrated to high order. The innermost level evaluates f exactly, so
k = 0 is a plain split quadrature. Everything is a torch function of the variances,
breakpoints and top-function parameters: gradients come from autograd.

References
----------
G. Parisi, J. Phys. A 13, 1101 (1980); E. Gardner, J. Phys. A 21, 257 (1988).

Internal (no ``__all__``): the validated entry points are :mod:`deepspin.sk` and
:mod:`deepspin.deep_perceptron.rsb`.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from functools import lru_cache
from typing import NamedTuple

import numpy as np
import torch

from deepspin.gauss import legendre_nodes

_SQRT_2PI = float(np.sqrt(2.0 * np.pi))


@lru_cache(maxsize=8)
def _spline_inverse(n: int) -> np.ndarray:
    """Inverse of the natural cubic spline's tridiagonal system (1, 4, 1) of size n − 2."""
    a = 4.0 * np.eye(n - 2) + np.eye(n - 2, k=1) + np.eye(n - 2, k=-1)
    return np.linalg.inv(a)


class _Grid:
    """A grid ``h = a sinh t``, t uniform on [−T, T], and the natural cubic spline on it."""

    def __init__(self, half_width, scale, n):
        self.a = scale[:, None]  # (B, 1)
        self.T = torch.asinh(half_width / scale)[:, None]
        self.n = n
        unit = torch.linspace(-1.0, 1.0, n, dtype=scale.dtype, device=scale.device)
        self.t = self.T * unit  # (B, n)
        self.h = self.a * torch.sinh(self.t)
        self.dt = 2.0 * self.T / (n - 1)

    def spline(self, y):
        """Second derivatives (in t) of the natural spline through y (B, n)."""
        inverse = torch.as_tensor(_spline_inverse(self.n), dtype=y.dtype, device=y.device)
        second = (y[:, :-2] - 2.0 * y[:, 1:-1] + y[:, 2:]) * (6.0 / self.dt**2)
        inner = second @ inverse.T
        zero = torch.zeros_like(y[:, :1])
        return torch.cat((zero, inner, zero), dim=1)

    def evaluate(self, splines, points):
        """Each spline (y, curvature) through the grid at ``points`` (B, …) inside it."""
        shape = points.shape
        flat = points.reshape(shape[0], -1)
        u = (torch.asinh(flat / self.a) + self.T) / self.dt
        index = torch.clamp(torch.floor(u.detach()), 0, self.n - 2).long()
        f = u - index
        g = 1.0 - f
        cubic_g, cubic_f = self.dt**2 / 6.0 * (g**3 - g), self.dt**2 / 6.0 * (f**3 - f)
        out = []
        for y, curvature in splines:
            y0, y1 = torch.gather(y, 1, index), torch.gather(y, 1, index + 1)
            c0, c1 = torch.gather(curvature, 1, index), torch.gather(curvature, 1, index + 1)
            out.append((g * y0 + f * y1 + cubic_g * c0 + cubic_f * c1).reshape(shape))
        return out


def split_rule(centre, sigma, n_side, reach, bend_width):
    """Gauss–Legendre nodes z and normalised weights w of ∫Dz, graded at ``−centre/σ``.

    ``centre`` (B, n) are the output points h; the integrand bends where h + σz = 0, on
    the scale ``bend_width`` (B,) in h, i.e. ``bend_width/σ`` in z. The window
    [−reach, reach] (B,) is cut into four panels at the bend b and at ``b ± 4·bend/σ``
    (all clipped to the window), ``n_side`` nodes each, so a bend much sharper than the
    Gaussian is resolved. Returns z, w of shape (B, n, 4 n_side); the weights include
    the Gaussian density and sum to 1.
    """
    x, w = (np.array(a) for a in legendre_nodes(n_side))
    x = torch.as_tensor(x, dtype=centre.dtype, device=centre.device)
    w = torch.as_tensor(w, dtype=centre.dtype, device=centre.device)
    zmax = reach[:, None, None]
    bend = torch.maximum(torch.minimum(-centre / sigma[:, None], reach[:, None]),
                         -reach[:, None])[..., None]  # fmt: skip
    layer = (4.0 * bend_width / sigma)[:, None, None]
    cuts = [-zmax, torch.maximum(bend - layer, -zmax), bend,
            torch.minimum(bend + layer, zmax), zmax]  # fmt: skip
    nodes, weights = [], []
    for lo, hi in itertools.pairwise(cuts):
        half = 0.5 * (hi - lo)
        nodes.append(half * (x + 1.0) + lo)
        weights.append(half * w)
    z = torch.cat(nodes, dim=-1)
    weights = torch.cat(weights, dim=-1) * torch.exp(-0.5 * z * z) / _SQRT_2PI
    return z, weights / weights.sum(dim=-1, keepdim=True)


class Top(NamedTuple):
    """The innermost function of a cascade and its first two derivatives.

    ``value(h)``, ``first(h)``, ``second(h)`` take a tensor h of shape (B, …), each row
    with its own problem's parameters. ``width`` (B,) is the scale on which f bends near
    h = 0; ``slope`` bounds f' where exp(m f) grows (1 for ln 2cosh and |h|, 0 for ln H).
    """

    value: Callable
    first: Callable
    second: Callable
    width: torch.Tensor
    slope: float


def _tilted(m, values, weights):
    """``m⁻¹ ln Σ_i w_i exp(m v_i)`` along the last axis, and the tilted weights
    ``p_i ∝ w_i exp(m v_i)`` (zero weights allowed)."""
    shift = torch.amax(m * values, dim=-1, keepdim=True).detach()
    tilted = weights * torch.exp(m * values - shift)
    total = torch.sum(tilted, dim=-1)
    return (torch.log(total) + shift[..., 0]) / m[..., 0], tilted / total[..., None]


class Outer(NamedTuple):
    """The outermost average of a cascade taken at a shifted mean and with a weight.

    ``result = ∫Dz w(z) g_1(shift + σ_0 z)``: a field of mean ``shift`` (B,) (a teacher's
    conjugate field on the students' spins) and a weight ``weight(z)`` (B, n) → (B, n)
    (a teacher's constraint, ``2H(−c z)``, that averages to 1). With an ``Outer``, the
    gradient in σ_0² is autograd's through √σ_0², so σ_0² must be positive.
    """

    shift: torch.Tensor
    weight: Callable


class _Level:
    """One level of the cascade, ``g(h) = m⁻¹ ln ∫Dz exp(m f(h + σz))``, held on its own
    grid reaching ±``half_width`` as splines of g, g' and g'' (g' and g'' as averages of
    the level below). ``below(points)`` gives f, f', f'' at points (B, …); ``bend`` is the
    scale on which f bends, ``smooth`` the one on which g does, ``window`` (B,) the
    Gaussian integral's reach in z. The gradient in the level's own variance is the heat
    equation's (see :func:`cascade_torch`)."""

    def __init__(self, below, half_width, variance, m, window, bend, smooth, n_grid, n_side):
        fixed = torch.clamp(variance.detach(), min=0.0)
        sigma = torch.sqrt(fixed)
        self.grid = _Grid(half_width, 0.25 * smooth, n_grid)
        z, w = split_rule(self.grid.h, torch.clamp(sigma, min=1e-300), n_side, window, bend)
        m = m[:, None, None]
        f0, f1, f2 = below(self.grid.h[..., None] + sigma[:, None, None] * z)
        g, p = _tilted(m, f0, w)
        with torch.no_grad():
            mean_f1 = torch.sum(p * f1, dim=-1)
            curvature = torch.sum(p * (f2 + m * f1**2), dim=-1)
            g1, g2 = mean_f1, curvature - m[..., 0] * mean_f1**2
        g = g + (variance - fixed)[:, None] * 0.5 * curvature
        self.splines = [(y, self.grid.spline(y)) for y in (g, g1, g2)]


def tilted_level(top, variance, breakpoint, half_width, n_grid=129, n_side=24, zmax=8.0):
    """The innermost level of a cascade as a function: ``g(h) = m⁻¹ ln ∫Dz exp(m f(h + σz))``
    (eq. cascade, j = k), for a batch of B problems, to be evaluated at any points.

    For a term whose innermost level is a one-field cascade but whose outer averages are
    not (the exact-node closure's two-field node at one step). Gradients as in
    :func:`cascade_torch`: autograd in m, in the top function's parameters and in the
    points; the heat equation in σ² = ``variance``. Arguments are not checked.

    Parameters
    ----------
    top : Top
    variance : tensor (B,), entries ≥ 0
    breakpoint : tensor (B,), in (0, 1)
    half_width : tensor (B,), > 0
        The grid reaches ±half_width: the largest |h| the caller will ask for (beyond it
        the spline is extrapolated).
    n_grid, n_side, zmax : as in :func:`cascade_torch`.

    Returns
    -------
    callable
        ``g(points)``: points (B, …) → g at the points, same shape.
    """
    sigma = torch.sqrt(torch.clamp(variance.detach(), min=0.0))
    width = top.width.detach()
    window = zmax + breakpoint.detach() * sigma * top.slope
    level = _Level(lambda h: (top.value(h), top.first(h), top.second(h)), half_width.detach(),
                   variance, breakpoint, window, width, torch.sqrt(width**2 + sigma**2),
                   n_grid, n_side)  # fmt: skip

    def evaluate(points):
        return level.grid.evaluate(level.splines[:1], points)[0]

    return evaluate


def cascade_torch(top, variances, breakpoints, n_grid=129, n_side=24, zmax=8.0, outer=None):
    """The k-step Parisi cascade (eq. cascade) for a batch of B problems, in torch.

    Arguments are not checked: solvers call this with their own validated tensors.

    Gradients. In the breakpoints, in the top function's parameters and in the inner
    levels they are autograd's, through the quadrature. In a level's own variance v_j
    they come from the heat equation, ``∂g_j/∂v_j = ½⟨g_{j+1}'' + m_j g_{j+1}'²⟩`` (the
    average with the tilted weights of that level; eq. cascade-derivative), not from
    ``∂/∂σ ÷ 2σ``, a ratio of two vanishing numbers as a level closes (v → 0). So every
    level carries g, g' and g'' on its grid (g' and g'' as averages of the level below),
    and the gradient is smooth through v = 0, where a level disappears exactly. The
    grids and nodes are held fixed under differentiation (a discretisation, not a
    variable): the gradient is that of the continuous cascade, to the accuracy of the
    quadrature.

    Parameters
    ----------
    top : Top
        The innermost function f and its derivatives.
    variances : tensor (B, k+1), entries ≥ 0
        σ_0², …, σ_k².
    breakpoints : tensor (B, k), strictly increasing in (0, 1)
        m_1 … m_k.
    n_grid : int, odd, ≥ 9
        Points of each level's grid (odd, so that h = 0 is one of them).
    n_side : int, ≥ 2
        Gauss–Legendre nodes on each side of the bend (twice as many at level 0).
    zmax : float
        Gaussian integrals are truncated at ``zmax`` standard deviations beyond the
        reweighted mass (2H(zmax) = 1.2e-15 at 8).
    outer : Outer, optional
        A shifted, weighted outermost average (the teacher scenario); default the plain
        ``∫Dz g_1(σ_0 z)``.

    Returns
    -------
    tensor (B,)
    """
    k = breakpoints.shape[1]
    fixed = torch.clamp(variances.detach(), min=0.0)
    sigma = torch.sqrt(fixed)
    # the reweighting exp(m g) moves level j's Gaussian mass out to z ≈ m_j σ_j slope
    m_fixed = torch.cat((torch.zeros_like(sigma[:, :1]), breakpoints.detach()), dim=1)
    window = zmax + m_fixed * sigma * top.slope  # (B, k+1): |z| ≤ window at each level
    reach = torch.cumsum(window * sigma, dim=1)  # reach[:, j]: the largest |h| below level j+1
    if outer is not None:
        reach = reach + torch.abs(outer.shift.detach())[:, None]
    inner = torch.flip(torch.cumsum(torch.flip(fixed, [1]), dim=1), [1])  # Σ_{i≥j} v_i
    width = top.width.detach()
    previous = None  # (grid, splines of g, g', g'') of level j+1

    def below(points):
        """g_{j+1}, g_{j+1}', g_{j+1}'' at ``points``: the top function or level j+1's splines."""
        if previous is None:
            return top.value(points), top.first(points), top.second(points)
        return previous[0].evaluate(previous[1], points)

    for j in range(k, 0, -1):
        bend = torch.sqrt(width**2 + inner[:, j + 1]) if j < k else width
        smooth = torch.sqrt(width**2 + inner[:, j])  # g_j bends on this scale
        half_width = torch.clamp(reach[:, j - 1], min=1e-3)
        level = _Level(below, half_width, variances[:, j], breakpoints[:, j - 1], window[:, j],
                       bend, smooth, n_grid, n_side)  # fmt: skip
        previous = (level.grid, level.splines)
    centre = torch.zeros_like(sigma[:, :1]) if outer is None else outer.shift.detach()[:, None]
    bend = torch.sqrt(width**2 + inner[:, 1]) if k > 0 else width
    z, w = split_rule(centre, torch.clamp(sigma[:, 0], min=1e-300), n_side, window[:, 0], bend)
    if outer is not None:
        z = z[:, 0, :]
        f0 = below(outer.shift[:, None] + torch.sqrt(variances[:, :1]) * z)[0]
        return torch.sum(w[:, 0, :] * outer.weight(z) * f0, dim=-1)
    f0, _, f2 = below(sigma[:, 0, None] * z[:, 0, :])
    w = w[:, 0, :]
    curvature = torch.sum(w * f2, dim=-1).detach()
    return torch.sum(w * f0, dim=-1) + (variances[:, 0] - fixed[:, 0]) * 0.5 * curvature
