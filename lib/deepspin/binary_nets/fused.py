"""Fused numba training step for LR-net ensembles on the CPU.

The model is the one of :mod:`deepspin.binary_nets.lrnet` (chapter ``zh_training``):
per layer ``m = tanh(θ/2)``, ``v = 1 − m²`` (eq. (lrnet-moments)), ``μ = Σ m a``,
``s² = Σ v a²``, ``z = μ + √(s² + 10⁻¹²) ε`` and, in the hidden layers,
``a = leaky_relu(z, 0.1)/√fan-in`` (eq. (lrnet-forward)); the loss of each network is the
minibatch mean of the softmax cross-entropy plus ``(γ/2)|θ|²``, minimised by Adam.

One kernel call runs forward pass, backward pass and Adam update of every network for
one or many minibatches, without autograd. The backward pass applies the gradient
formulas of section "The gradient" of the chapter: with ``g_z`` the gradient of a
layer's output (``(softmax − onehot)/B`` for the logits),

    g_m = Σ_b g_z a,   g_v = Σ_b g_z r a²,   with r = ε / (2 √(s² + 10⁻¹²)),
    g_a = Σ_o g_z m + 2 a Σ_o g_z r v,
    g_θ = g_m (1 − m²)/2 − g_v m (1 − m²) + γ θ,

and ``g_a`` reaches the layer below through ``leaky'(z)/√fan-in``. Activations are stored
unit-major, ``(units, examples)``, so that every inner loop runs over contiguous examples
(SIMD); a large batch is processed in chunks of at most :data:`CHUNK` examples. Networks
are independent (Adam acts element-wise), so the kernel runs them in parallel, each
through all its steps.

References
----------
Shayer, Levi & Fetaya (2018), "Learning discrete weights using the local
reparameterization trick" (LR-net). Marsaglia & Tsang (2000), "The ziggurat method for
generating random variables", J. Stat. Softw. 5(8). Marsaglia (1964), "Generating a
variable from the tail of the normal distribution", Technometrics 6. Blackman & Vigna
(2021), "Scrambled linear pseudorandom number generators", ACM TOMS 47.

The noise ε is either given (the layout of the torch path: one ``(E, B, out)`` array per
layer) or drawn inside the kernel by a ziggurat (Marsaglia & Tsang 2000) driven by
xoshiro256** (Blackman & Vigna 2021), seeded per (seed, step, network) by splitmix64:
the draws do not depend on the number of threads or on how steps are grouped into calls.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from itertools import pairwise

import numpy as np
from numba import njit, prange

from deepspin.checks import check_int, check_int_array, check_real

__all__ = [
    "CHUNK",
    "FusedState",
    "adam_step",
    "loss_and_grad",
    "standard_normal",
    "train_steps",
]

# Most examples per chunk. Longer example loops amortise their set-up (at 20-15-15-10 a
# chunk of 200 runs 1.3x faster than one of 64, though 64 would fit the L1 cache); the
# cap keeps a network's scratch (~150 rows of CHUNK floats) within the L2 cache for
# large batches. Passed to the kernels at run time: a compile-time trip count makes LLVM
# unroll the example loops instead of vectorising them.
CHUNK = 256

_LEAKY_SLOPE = 0.1  # = lrnet.LEAKY_SLOPE (not imported: lrnet imports this module)
_TINY = 1e-12  # added to s² before the square root, as in lrnet.meanfield_logits


# --- Gaussian noise: ziggurat on xoshiro256** ------------------------------------------


def _ziggurat_tables(n_layers=256):
    """Tables of the Marsaglia–Tsang ziggurat for the half-normal ``f(x) = exp(−x²/2)``.

    ``n_layers`` strips of equal area ``V``: strip 0 is the rectangle ``[0, x₀] × [0, f(r)]``
    with ``x₀ = V/f(r)``, standing in for the base ``[0, r] × [0, f(r)]`` plus the tail
    beyond ``r = x₁``; strip ``i ≥ 1`` is ``[0, xᵢ] × [f(xᵢ), f(xᵢ₊₁)]`` with
    ``xᵢ (f(xᵢ₊₁) − f(xᵢ)) = V`` and ``x_n = 0``. ``r`` is found by bisection on the
    condition that the recursion closes at the top (r = 3.6541528853610088 for 256).

    Returns ``k`` (uint64: a 53-bit uniform ``j`` with ``j < kᵢ`` gives ``x = j wᵢ < xᵢ₊₁``,
    under the curve), ``w = xᵢ/2⁵³``, ``f(xᵢ)`` for ``i = 0..n`` and ``r``.
    """

    def f(x):
        return math.exp(-0.5 * x * x)

    def strips(r):
        area = r * f(r) + math.sqrt(math.pi / 2) * math.erfc(r / math.sqrt(2))
        x = [area / f(r), r]
        for _ in range(n_layers - 2):
            y = f(x[-1]) + area / x[-1]
            if y >= 1.0:  # the strips reach the top too early: r is too small
                return x, math.inf
            x.append(math.sqrt(-2.0 * math.log(y)))
        return x, f(x[-1]) + area / x[-1] - 1.0

    lo, hi = 3.0, 4.0
    for _ in range(60):  # 2⁻⁶⁰: below float64 resolution
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if strips(mid)[1] > 0 else (lo, mid)
    x = np.array([*strips(hi)[0], 0.0])
    scale = 2.0**53
    k = np.floor(scale * x[1:] / x[:-1]).astype(np.uint64)
    return k, x[:-1] / scale, np.exp(-0.5 * x * x), hi


_ZK, _ZW, _ZF, _ZR = _ziggurat_tables()
_U255 = np.uint64(255)
_U1 = np.uint64(1)
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)
_TO_UNIT = 2.0**-53


@njit(cache=True)
def _mix64(z):
    """splitmix64's output function: a bijection of uint64 with full avalanche."""
    z = (z ^ (z >> np.uint64(30))) * _MIX1
    z = (z ^ (z >> np.uint64(27))) * _MIX2
    return z ^ (z >> np.uint64(31))


@njit(cache=True)
def _rotl(x, k):
    return (x << np.uint64(k)) | (x >> np.uint64(64 - k))


@njit(cache=True)
def _seed_state(seed, step, network):
    """xoshiro256** state for one (seed, step, network): the triple is hashed (each
    ``_mix64`` is a bijection, so distinct networks of a step get distinct keys) and the
    key expanded by splitmix64, as Vigna recommends for seeding xoshiro."""
    h = _mix64(np.uint64(seed) + _GOLDEN)
    h = _mix64(h ^ (np.uint64(step) + _GOLDEN))
    h = _mix64(h ^ (np.uint64(network) + _GOLDEN))
    s0 = _mix64(h + _GOLDEN)
    s1 = _mix64(h + np.uint64(2) * _GOLDEN)
    s2 = _mix64(h + np.uint64(3) * _GOLDEN)
    s3 = _mix64(h + np.uint64(4) * _GOLDEN)
    return s0, s1, s2, s3


@njit(cache=True)
def _xoshiro(s0, s1, s2, s3):
    """One xoshiro256** output and the next state."""
    out = _rotl(s1 * np.uint64(5), 7) * np.uint64(9)
    t = s1 << np.uint64(17)
    s2 ^= s0
    s3 ^= s1
    s1 ^= s2
    s0 ^= s3
    s2 ^= t
    s3 = _rotl(s3, 45)
    return out, s0, s1, s2, s3


@njit(cache=True)
def _fill_normal(out, seed, step, network):
    """Fill the C-contiguous array ``out`` with standard normals (ziggurat, 256 strips).

    One 64-bit draw gives the strip (bits 0–7), the sign (bit 8) and a 53-bit uniform
    (bits 11–63); 98.5 % of the draws are accepted on the fast test ``j < kᵢ``. The rest
    go through the exact wedge test or, in strip 0, Marsaglia's (1964) tail method.
    """
    flat = out.reshape(-1)
    s0, s1, s2, s3 = _seed_state(seed, step, network)
    for t in range(flat.size):
        while True:
            u, s0, s1, s2, s3 = _xoshiro(s0, s1, s2, s3)
            i = u & _U255
            j = u >> np.uint64(11)
            x = np.float64(np.int64(j)) * _ZW[i]
            if j < _ZK[i]:
                break
            if i == 0:
                while True:
                    u1, s0, s1, s2, s3 = _xoshiro(s0, s1, s2, s3)
                    u2, s0, s1, s2, s3 = _xoshiro(s0, s1, s2, s3)
                    # uniforms in (0, 1]: log(0) is never taken
                    e1 = -math.log(np.float64(np.int64((u1 >> np.uint64(11)) + _U1)) * _TO_UNIT)
                    e2 = -math.log(np.float64(np.int64((u2 >> np.uint64(11)) + _U1)) * _TO_UNIT)
                    e1 /= _ZR
                    if e2 + e2 >= e1 * e1:
                        break
                x = _ZR + e1
                break
            u1, s0, s1, s2, s3 = _xoshiro(s0, s1, s2, s3)
            y = np.float64(np.int64(u1 >> np.uint64(11))) * _TO_UNIT
            if _ZF[i] + y * (_ZF[i + _U1] - _ZF[i]) < math.exp(-0.5 * x * x):
                break
        flat[t] = -x if (u >> np.uint64(8)) & _U1 else x


def standard_normal(n, seed=0, step=0, network=0):
    """Standard-normal draws of the training kernel's generator.

    Parameters
    ----------
    n : int
        Number of draws.
    seed, step, network : int, default 0
        Key of the stream (non-negative). At Adam step ``step`` (counted from 0) the
        kernel fills the noise of network ``network``, unit-major ``(units, B)`` with the
        units of all layers in order, with the first ``units · B`` draws of this stream.

    Returns
    -------
    ndarray of float64 ``(n,)``
    """
    n = check_int("n", n, 0)
    seed = check_int("seed", seed, 0, 2**63 - 1)
    step = check_int("step", step, 0, 2**63 - 1)
    network = check_int("network", network, 0, 2**63 - 1)
    out = np.empty(n, dtype=np.float64)
    _fill_normal(out, seed, step, network)
    return out


# --- forward, backward and Adam for one network -----------------------------------------


@njit(cache=True, fastmath=True)
def _chunk_forward_backward(
    x, labels, eps, c0, nb, widths, wo, uo, ao, m, v, gm, gv, act, r, g, gs, ga, gt, mu, s2,
    inv_batch,
):  # fmt: skip
    """Forward and backward pass of examples ``c0 … c0 + nb − 1`` of one network.

    Adds the chunk's contributions to ``gm`` and ``gv`` (the gradients with respect to the
    means and variances of the weights) and returns the chunk's summed cross-entropy.
    Buffers are ``(rows, chunk)``: ``act`` holds the inputs of every layer (rows
    ``ao[l] …``), ``r`` the factor ε/(2√(s² + 10⁻¹²)) of every unit (rows ``uo[l] …``),
    ``g`` the logits and then the gradient of the current layer's output, ``gs`` its
    variance part, ``ga``/``gt`` the two sums over outputs of the gradient of the inputs.
    Every inner loop indexes with the bare loop counter (offsets go into row indices or
    views): numba wraps negative indices, and ``arr[k + b]`` would turn each vector load
    into a gather.
    """
    t = m.dtype.type
    zero, half, one, two = t(0.0), t(0.5), t(1.0), t(2.0)
    tiny, slope = t(_TINY), t(_LEAKY_SLOPE)
    n_layers = widths.size - 1
    for i in range(widths[0]):
        src = x[i, c0:]
        for b in range(nb):
            act[i, b] = src[b]

    for layer in range(n_layers):
        n_in, n_out = widths[layer], widths[layer + 1]
        scale = t(1.0 / math.sqrt(n_in))
        for o in range(n_out):
            for b in range(nb):
                mu[b] = zero
                s2[b] = zero
            row = wo[layer] + o * n_in
            for i in range(n_in):
                mk, vk = m[row + i], v[row + i]
                k = ao[layer] + i
                for b in range(nb):
                    a = act[k, b]
                    mu[b] += mk * a
                    s2[b] += vk * (a * a)
            # separate loops: LLVM does not vectorise the square root, the division and
            # two stores in one loop
            unit = uo[layer] + o
            noise = eps[unit, c0:]
            for b in range(nb):
                s2[b] = math.sqrt(s2[b] + tiny)
            for b in range(nb):
                r[unit, b] = half * noise[b] / s2[b]
            if layer == n_layers - 1:
                for b in range(nb):
                    g[o, b] = mu[b] + s2[b] * noise[b]
            else:
                k = ao[layer + 1] + o
                for b in range(nb):
                    z = mu[b] + s2[b] * noise[b]
                    # a select, not a branch: keeps the loop vectorised
                    act[k, b] = (z if z > zero else slope * z) * scale

    # softmax cross-entropy; g becomes (softmax − onehot)/B
    n_out = widths[n_layers]
    lab = labels[c0:]
    for b in range(nb):
        mu[b] = g[0, b]
    for o in range(1, n_out):
        for b in range(nb):
            mu[b] = max(mu[b], g[o, b])
    for b in range(nb):
        s2[b] = zero
    for o in range(n_out):
        for b in range(nb):
            p = math.exp(g[o, b] - mu[b])
            gs[o, b] = p
            s2[b] += p
    ce = 0.0
    for b in range(nb):
        ce += np.float64(math.log(s2[b]) + mu[b] - g[lab[b], b])
    for o in range(n_out):
        for b in range(nb):
            g[o, b] = gs[o, b] / s2[b] * inv_batch
    for b in range(nb):
        g[lab[b], b] -= inv_batch

    for layer in range(n_layers - 1, -1, -1):
        n_in, n_out = widths[layer], widths[layer + 1]
        for o in range(n_out):
            unit = uo[layer] + o
            for b in range(nb):
                gs[o, b] = g[o, b] * r[unit, b]
        if layer > 0:
            for i in range(n_in):
                for b in range(nb):
                    ga[i, b] = zero
                    gt[i, b] = zero
        for o in range(n_out):
            row = wo[layer] + o * n_in
            for i in range(n_in):
                k = ao[layer] + i
                d1 = zero
                d2 = zero
                if layer > 0:
                    mk, vk = m[row + i], v[row + i]
                    for b in range(nb):
                        a = act[k, b]
                        gz, gq = g[o, b], gs[o, b]
                        d1 += gz * a
                        d2 += gq * (a * a)
                        ga[i, b] += mk * gz
                        gt[i, b] += vk * gq
                else:
                    for b in range(nb):
                        a = act[k, b]
                        d1 += g[o, b] * a
                        d2 += gs[o, b] * (a * a)
                gm[row + i] += d1
                gv[row + i] += d2
        if layer > 0:
            # into the layer below through leaky'(z)/√fan-in; a > 0 exactly where z > 0
            scale = t(1.0 / math.sqrt(widths[layer - 1]))
            for i in range(n_in):
                k = ao[layer] + i
                for b in range(nb):
                    a = act[k, b]
                    grad_a = ga[i, b] + two * a * gt[i, b]
                    g[i, b] = grad_a * ((one if a > zero else slope) * scale)
    return ce


@njit(cache=True, fastmath=True)
def _network_grad(
    theta, x, labels, eps, widths, wo, uo, ao, l2, m, v, gm, gv, act, r, g, gs, ga, gt, mu, s2,
    grad,
):  # fmt: skip
    """Mean cross-entropy of one network on a batch, and the gradient of
    ``mean CE + (l2/2)|θ|²`` with respect to θ in ``grad`` (float64)."""
    t = theta.dtype.type
    half, one = t(0.5), t(1.0)
    for k in range(theta.size):
        mk = np.tanh(half * theta[k])
        m[k] = mk
        v[k] = one - mk * mk
        gm[k] = 0.0
        gv[k] = 0.0
    batch = x.shape[1]
    ch = mu.size
    inv_batch = t(1.0 / batch)
    ce = 0.0
    for c0 in range(0, batch, ch):
        nb = min(ch, batch - c0)
        ce += _chunk_forward_backward(
            x, labels, eps, c0, nb, widths, wo, uo, ao, m, v, gm, gv, act, r, g, gs, ga, gt,
            mu, s2, inv_batch,
        )  # fmt: skip
    for k in range(theta.size):
        mk = np.float64(m[k])
        d = 1.0 - mk * mk
        grad[k] = 0.5 * d * gm[k] - mk * d * gv[k] + l2 * np.float64(theta[k])
    return ce / batch


@njit(cache=True)
def _adam(theta, exp_avg, exp_avg_sq, grad, step, lr, beta1, beta2, eps):
    """torch.optim.Adam's update at step ``step`` (counted from 1): single-tensor path, no
    amsgrad, no weight decay, operation by operation in the parameters' precision. Not
    fastmath, so that the rounding follows torch's: in float32 the moments agree bit for
    bit; θ to an ulp (torch's vectorised square root is not correctly rounded)."""
    t = theta.dtype.type
    step_f = np.float64(step)
    bias1 = 1.0 - beta1**step_f
    bias2 = 1.0 - beta2**step_f
    neg_step_size = t(-(lr / bias1))
    bias2_sqrt = t(bias2**0.5)
    w1, b2, w2, eps_t = t(1.0 - beta1), t(beta2), t(1.0 - beta2), t(eps)
    for k in range(theta.size):
        gk = t(grad[k])
        avg = exp_avg[k]
        # lerp_(grad, 1 − β₁): torch's vectorised lerp is one fma; in float64 the float32
        # product is exact and the sum rounds once, as in the fma
        avg = t(np.float64(avg) + np.float64(w1) * np.float64(gk - avg))
        exp_avg[k] = avg
        # mul_(β₂).addcmul_(grad, grad, 1 − β₂), whose last multiply-add is contracted
        sq = t(np.float64(exp_avg_sq[k] * b2) + np.float64(w2 * gk) * np.float64(gk))
        exp_avg_sq[k] = sq
        denom = np.sqrt(sq) / bias2_sqrt + eps_t
        theta[k] = theta[k] + neg_step_size * avg / denom


@njit(cache=True)
def _work(n_weights, n_act, n_units, width_max, chunk, dtype):
    """Scratch buffers of one network (allocated once per kernel call)."""
    return (
        np.empty(n_weights, dtype),  # m
        np.empty(n_weights, dtype),  # v
        np.empty(n_weights, np.float64),  # gm
        np.empty(n_weights, np.float64),  # gv
        np.empty((n_act, chunk), dtype),  # act
        np.empty((n_units, chunk), dtype),  # r
        np.empty((width_max, chunk), dtype),  # g
        np.empty((width_max, chunk), dtype),  # gs
        np.empty((width_max, chunk), dtype),  # ga
        np.empty((width_max, chunk), dtype),  # gt
        np.empty(chunk, dtype),  # mu
        np.empty(chunk, dtype),  # s2
    )


@njit(cache=True, parallel=True)
def _grad_jit(theta, x, labels, noise, widths, wo, uo, ao, l2, chunk, ce, grad):
    """Mean cross-entropy ``ce`` (E,) and gradient ``grad`` (E, n_weights) of every network
    on one batch: ``x`` (n_in, B) unit-major, ``noise`` (E, units, B)."""
    n_net, n_weights = theta.shape
    width_max = widths[1:].max()
    for e in prange(n_net):
        m, v, gm, gv, act, r, g, gs, ga, gt, mu, s2 = _work(
            n_weights, ao[-1], uo[-1], width_max, chunk, theta.dtype
        )
        ce[e] = _network_grad(
            theta[e], x, labels, noise[e], widths, wo, uo, ao, l2, m, v, gm, gv, act, r, g, gs,
            ga, gt, mu, s2, grad[e],
        )  # fmt: skip


@njit(cache=True, parallel=True)
def _train_jit(
    theta, exp_avg, exp_avg_sq, step0, xb, yb, noise, seed, widths, wo, uo, ao, lr, l2, beta1,
    beta2, eps, chunk, ce,
):  # fmt: skip
    """Adam steps ``step0 + 1 … step0 + S`` of every network, in place.

    ``xb`` (S, n_in, B) and ``yb`` (S, B) are the minibatches, inputs unit-major; ``noise``
    is (S, E, units, B), or empty to draw it with :func:`_fill_normal` keyed by
    ``(seed, step0 + s, network)``. Writes the mean cross-entropy of each step and network
    into ``ce`` (S, E). Each thread takes whole networks through all the steps, so that a
    network's fields and scratch stay in its core's cache.
    """
    n_net, n_weights = theta.shape
    n_steps, _, batch = xb.shape
    n_units = uo[-1]
    width_max = widths[1:].max()
    given = noise.shape[0] > 0
    for e in prange(n_net):
        m, v, gm, gv, act, r, g, gs, ga, gt, mu, s2 = _work(
            n_weights, ao[-1], n_units, width_max, chunk, theta.dtype
        )
        grad = np.empty(n_weights, np.float64)
        drawn = np.empty((n_units, batch), theta.dtype)
        for s in range(n_steps):
            if given:
                ce[s, e] = _network_grad(
                    theta[e], xb[s], yb[s], noise[s, e], widths, wo, uo, ao, l2, m, v, gm, gv,
                    act, r, g, gs, ga, gt, mu, s2, grad,
                )  # fmt: skip
            else:
                _fill_normal(drawn, seed, step0 + s, e)
                ce[s, e] = _network_grad(
                    theta[e], xb[s], yb[s], drawn, widths, wo, uo, ao, l2, m, v, gm, gv, act,
                    r, g, gs, ga, gt, mu, s2, grad,
                )  # fmt: skip
            _adam(theta[e], exp_avg[e], exp_avg_sq[e], grad, step0 + s + 1, lr, beta1, beta2, eps)


# --- wrappers -----------------------------------------------------------------------------


def _numpy(a, name):
    """An ndarray from an array or a torch tensor (torch is not imported here)."""
    if hasattr(a, "detach"):
        a = a.detach().cpu().numpy()
    try:
        a = np.asarray(a)
        real = a.dtype.kind in "fiu"
    except (TypeError, ValueError):
        real = False
    if not real:
        raise ValueError(f"{name} must be a real array, got {a!r:.80}")
    return a


def _check_finite(name, a):
    if not np.all(np.isfinite(a)):
        bad = a[~np.isfinite(a)].flat[0].item()
        raise ValueError(f"{name} must hold finite reals, got {bad!r}")
    return a


def _layout(widths):
    """Offsets of each layer: weights ``wo``, units ``uo`` (rows of the noise), inputs
    ``ao`` (rows of the activation buffer); each of length ``n_layers + 1``."""
    w = np.asarray(widths, dtype=np.int64)
    zero = np.zeros(1, dtype=np.int64)
    wo = np.concatenate([zero, np.cumsum(w[:-1] * w[1:])])
    uo = np.concatenate([zero, np.cumsum(w[1:])])
    ao = np.concatenate([zero, np.cumsum(w[:-1])])
    return w, wo, uo, ao


def _flat_fields(fields, name="fields"):
    """Per-layer ``(E, out, in)`` arrays → widths and the flat ``(E, n_weights)`` layout."""
    wanted = "a non-empty list of (E, out, in) arrays"
    if isinstance(fields, (np.ndarray, str, bytes)) or not isinstance(fields, (list, tuple)):
        raise ValueError(f"{name} must be {wanted}, got {fields!r:.80}")
    layers = [_numpy(f, f"{name}[{k}]") for k, f in enumerate(fields)]
    for k, f in enumerate(layers):
        _check_finite(f"{name}[{k}]", f)
    if not layers or any(f.ndim != 3 for f in layers):
        raise ValueError(f"{name} must be a non-empty list of (E, out, in) arrays")
    n_net = layers[0].shape[0]
    widths = [layers[0].shape[2]] + [f.shape[1] for f in layers]
    for k, f in enumerate(layers):
        if f.shape[0] != n_net or f.shape[2] != widths[k]:
            raise ValueError(
                f"{name}[{k}] has shape {f.shape}; expected ({n_net}, {widths[k + 1]}, "
                f"{widths[k]}) to chain with the previous layer"
            )
    widths = tuple(check_int(f"widths[{k}]", w, 1) for k, w in enumerate(widths))
    dtype = np.float64 if any(f.dtype == np.float64 for f in layers) else np.float32
    flat = np.concatenate([f.reshape(n_net, -1) for f in layers], axis=1).astype(dtype)
    return widths, np.ascontiguousarray(flat)


def _layers(flat, widths):
    """Flat ``(E, n_weights)`` → per-layer ``(E, out, in)`` views."""
    _, wo, _, _ = _layout(widths)
    return [
        flat[:, wo[k] : wo[k + 1]].reshape(flat.shape[0], b, a)
        for k, (a, b) in enumerate(pairwise(widths))
    ]


def _check_labels(labels, n, n_out, name="labels"):
    """Class labels in ``[0, n_out)`` (the output width), one per row of x."""
    if hasattr(labels, "detach"):
        labels = labels.detach().cpu().numpy()
    labels = check_int_array(name, labels, 0, n_out - 1, ndim=1)
    if labels.shape != (n,):
        raise ValueError(f"{name} must hold one label per row of x ({n}), got {labels.shape[0]}")
    return np.ascontiguousarray(labels)


def _check_x(x, widths):
    x = _numpy(x, "x")
    if x.ndim != 2 or x.shape[1] != widths[0] or x.shape[0] < 1:
        raise ValueError(f"x must have shape (B, {widths[0]}) with B ≥ 1, got {x.shape}")
    return _check_finite("x", x)


def _check_batch(x, labels, widths, dtype):
    x = _check_x(x, widths)
    labels = _check_labels(labels, x.shape[0], widths[-1])
    return np.ascontiguousarray(x.T, dtype=dtype), labels


def _check_noise(noise, n_net, batch, widths, dtype):
    """Per-layer ``(E, B, out)`` noise → one ``(E, units, B)`` array (unit-major)."""
    if isinstance(noise, (np.ndarray, str, bytes)) or not isinstance(noise, (list, tuple)):
        raise ValueError(f"noise must be a list of {len(widths) - 1} arrays (one per layer)")
    if len(noise) != len(widths) - 1:
        raise ValueError(f"noise must list {len(widths) - 1} arrays (one per layer)")
    out = []
    for k, n in enumerate(noise):
        n = _check_finite(f"noise[{k}]", _numpy(n, f"noise[{k}]"))
        if n.shape != (n_net, batch, widths[k + 1]):
            raise ValueError(
                f"noise[{k}] must have shape {(n_net, batch, widths[k + 1])}, got {n.shape}"
            )
        out.append(n.transpose(0, 2, 1))
    return np.ascontiguousarray(np.concatenate(out, axis=1), dtype=dtype)


def _chunk(batch):
    return min(CHUNK, batch)


def loss_and_grad(fields, x, labels, noise, l2=0.0):
    """Mean cross-entropy and gradient of each network of an ensemble on one minibatch.

    The objective of network ``e`` is ``mean_b CE(z_eb, y_b) + (l2/2)|θ_e|²`` with the
    logits ``z`` of eqs. (lrnet-moments) and (lrnet-forward) at the given noise; the
    gradient follows section "The gradient" of chapter ``zh_training`` (module docstring).

    Parameters
    ----------
    fields : list of arrays or tensors ``(E, out, in)``
        θ of each layer (finite, chaining); float64 input is computed in float64, anything
        else in float32.
    x : array ``(B, n_in)`` of finite reals, B ≥ 1
    labels : int array ``(B,)``, in ``[0, n_out)``
    noise : list of arrays ``(E, B, out)``
        The ε of each layer, finite, as for :func:`deepspin.binary_nets.meanfield_logits`.
    l2 : float, ≥ 0, default 0

    Returns
    -------
    ce : ndarray of float64 ``(E,)``
    grads : list of float64 arrays ``(E, out, in)``
    """
    widths, theta = _flat_fields(fields)
    l2 = check_real("l2", l2, 0.0)
    xt, labels = _check_batch(x, labels, widths, theta.dtype)
    n_net, batch = theta.shape[0], xt.shape[1]
    eps = _check_noise(noise, n_net, batch, widths, theta.dtype)
    w, wo, uo, ao = _layout(widths)
    ce = np.empty(n_net)
    grad = np.empty(theta.shape)
    _grad_jit(theta, xt, labels, eps, w, wo, uo, ao, l2, _chunk(batch), ce, grad)
    return ce, _layers(grad, widths)


@dataclass
class FusedState:
    """Fields and Adam moments of an ensemble, flat ``(E, n_weights)`` (layout of
    :func:`deepspin.binary_nets.layer_slices`), and the number of Adam steps taken.

    Usually made by :meth:`from_fields`. The kernels update the arrays in place, so they
    are validated, not copied.

    Attributes
    ----------
    theta, exp_avg, exp_avg_sq : ndarray ``(E, n_weights)``, E ≥ 1
        C-contiguous, float32 or float64 (one dtype for the three), finite; ``exp_avg_sq``
        ≥ 0.
    widths : sequence of int
        ``(n_in, hidden..., n_out)``, at least two, each ≥ 1.
    step : int, ≥ 0
    """

    theta: np.ndarray
    exp_avg: np.ndarray
    exp_avg_sq: np.ndarray
    widths: tuple
    step: int = 0

    def __post_init__(self):
        try:
            widths = tuple(self.widths)
        except TypeError:
            widths = ()
        if len(widths) < 2:
            raise ValueError(
                f"widths must list at least an input and an output width, got {self.widths!r}"
            )
        self.widths = tuple(check_int(f"widths[{k}]", w, 1) for k, w in enumerate(widths))
        n_w = int(_layout(self.widths)[1][-1])
        arrays = {name: getattr(self, name) for name in ("theta", "exp_avg", "exp_avg_sq")}
        for name, a in arrays.items():
            fits = (
                isinstance(a, np.ndarray) and a.dtype in (np.float32, np.float64)
                and a.flags.c_contiguous and a.ndim == 2 and a.shape[0] >= 1
                and a.shape[1] == n_w
            )  # fmt: skip
            if not fits:
                got = f"{a.dtype} {a.shape}" if isinstance(a, np.ndarray) else f"{a!r:.80}"
                raise ValueError(
                    f"{name} must be a C-contiguous float32 or float64 array of shape "
                    f"(E, {n_w}) with E ≥ 1 for widths {self.widths}, got {got}"
                )
            _check_finite(name, a)
        if len({(a.shape, a.dtype) for a in arrays.values()}) > 1:
            got = ", ".join(f"{name} {a.dtype} {a.shape}" for name, a in arrays.items())
            raise ValueError(f"theta, exp_avg and exp_avg_sq must share one shape and dtype: {got}")
        if np.any(self.exp_avg_sq < 0):
            bad = self.exp_avg_sq[self.exp_avg_sq < 0].flat[0].item()
            raise ValueError(f"exp_avg_sq must hold finite reals in [0, inf), got {bad!r}")
        self.step = check_int("step", self.step, 0)

    @classmethod
    def from_fields(cls, fields):
        """Fresh Adam state (zero moments, step 0) at the given per-layer fields."""
        widths, theta = _flat_fields(fields)
        return cls(theta, np.zeros_like(theta), np.zeros_like(theta), widths)

    def fields(self):
        """Copies of the fields as per-layer ``(E, out, in)`` arrays."""
        return [f.copy() for f in _layers(self.theta, self.widths)]


def _check_optimiser(lr, l2, betas, eps):
    lr = check_real("lr", lr, 0.0, 100.0, low_open=True)
    l2 = check_real("l2", l2, 0.0)
    if isinstance(betas, (str, bytes)) or not hasattr(betas, "__len__") or len(betas) != 2:
        raise ValueError(f"betas must be a pair of reals in [0, 1), got {betas!r}")
    beta1 = check_real("betas[0]", betas[0], 0.0, 1.0, high_open=True)
    beta2 = check_real("betas[1]", betas[1], 0.0, 1.0, high_open=True)
    eps = check_real("eps", eps, 0.0)
    return lr, l2, beta1, beta2, eps


def _check_state(state):
    """The kernel writes into the state's arrays without bounds checks: they must match."""
    if not isinstance(state, FusedState):
        raise ValueError(f"state must be a FusedState, got {type(state).__name__}")
    n_w = int(_layout(state.widths)[1][-1])
    arrays = (state.theta, state.exp_avg, state.exp_avg_sq)
    shape, dtype = (state.theta.shape[0], n_w), state.theta.dtype
    if dtype not in (np.float32, np.float64) or any(
        a.shape != shape or a.dtype != dtype or not a.flags.c_contiguous for a in arrays
    ):
        raise ValueError(
            f"state.theta, exp_avg and exp_avg_sq must be C-contiguous float32 or float64 "
            f"arrays of one dtype and shape (E, {n_w})"
        )
    check_int("state.step", state.step, 0)


def _run(state, xb, yb, noise, seed, lr, l2, betas, eps):
    lr, l2, beta1, beta2, eps = _check_optimiser(lr, l2, betas, eps)
    seed = check_int("seed", seed, 0, 2**63 - 1)
    w, wo, uo, ao = _layout(state.widths)
    ce = np.empty((xb.shape[0], state.theta.shape[0]))
    _train_jit(
        state.theta, state.exp_avg, state.exp_avg_sq, state.step, xb, yb, noise, seed, w, wo,
        uo, ao, lr, l2, beta1, beta2, eps, _chunk(xb.shape[2]), ce,
    )  # fmt: skip
    state.step += xb.shape[0]
    return ce


def adam_step(state, x, labels, lr, l2=0.0, seed=0, noise=None, betas=(0.9, 0.999), eps=1e-8):
    """One Adam step of every network of ``state`` on the minibatch ``(x, labels)``.

    Parameters
    ----------
    state : FusedState
        Updated in place (fields, moments, ``step``).
    x : array ``(B, n_in)`` of finite reals, B ≥ 1
    labels : int array ``(B,)``, in ``[0, n_out)``
    lr, l2 : float
        Learning rate, in (0, 100], and L2 strength γ ≥ 0.
    seed : int, in [0, 2⁶³)
        Key of the drawn noise (with ``state.step`` and the network index).
    noise : list of arrays ``(E, B, out)``, optional
        The ε of each layer (the torch path's layout), finite; drawn if omitted.
    betas : pair of floats, each in [0, 1)
    eps : float, ≥ 0
        Adam's parameters, as for ``torch.optim.Adam``.

    Returns
    -------
    ndarray of float64 ``(E,)``
        Mean cross-entropy of each network on the batch, before the step.
    """
    _check_state(state)
    xt, yb = _check_batch(x, labels, state.widths, state.theta.dtype)
    n_net, batch = state.theta.shape[0], xt.shape[1]
    if noise is None:
        eps_given = np.empty((0, 0, 0, 0), dtype=state.theta.dtype)
    else:
        eps_given = _check_noise(noise, n_net, batch, state.widths, state.theta.dtype)[None]
    return _run(state, xt[None], yb[None], eps_given, seed, lr, l2, betas, eps)[0]


def train_steps(state, x, labels, batches, lr, l2=0.0, seed=0, betas=(0.9, 0.999), eps=1e-8):
    """Adam steps on a sequence of minibatches, noise drawn in the kernel.

    Step ``s`` uses rows ``batches[s]`` of ``(x, labels)`` and the noise keyed by
    ``(seed, state.step + s, network)``, so ``S`` calls of :func:`adam_step` (without
    ``noise``) give the same result as one call here.

    Parameters
    ----------
    state : FusedState
    x : array ``(n, n_in)`` of finite reals, n ≥ 1
    labels : int array ``(n,)``, in ``[0, n_out)``
    batches : int array ``(S, B)``, B ≥ 1
        Row indices of each step's minibatch, in ``[0, n)``.
    lr, l2, seed, betas, eps
        As for :func:`adam_step`.

    Returns
    -------
    ndarray of float64 ``(S, E)``
        Mean cross-entropy of each step (before its update) and network.
    """
    _check_state(state)
    widths = state.widths
    x = _check_x(x, widths)
    labels = _check_labels(labels, x.shape[0], widths[-1])
    if hasattr(batches, "detach"):
        batches = batches.detach().cpu().numpy()
    batches = check_int_array("batches", batches, 0, x.shape[0] - 1, ndim=2)
    if batches.shape[1] < 1:
        raise ValueError(f"batches must be an (S, B) array with B ≥ 1, got {batches.shape}")
    xb = np.ascontiguousarray(x[batches].transpose(0, 2, 1), dtype=state.theta.dtype)
    yb = np.ascontiguousarray(labels[batches])
    no_noise = np.empty((0, 0, 0, 0), dtype=state.theta.dtype)
    return _run(state, xb, yb, no_noise, seed, lr, l2, betas, eps)
