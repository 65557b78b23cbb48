"""Finite random MLPs as Hamiltonians over their inputs, and Monte Carlo over the sphere.

A network of chapter ``wh_kernels`` at finite width: ``depth`` hidden layers of ``width``
neurons, activation φ, weights ``W_l ~ N(0, C_W/fan-in)``, biases ``b_l ~ N(0, C_b)``,

    z₁ = W₁ x + b₁,    z_{l+1} = W_{l+1} φ(z_l) + b_{l+1},    f(x) = v·φ(z_L) + b_out,

with ``v ~ N(0, C_W/width)`` and ``b_out ~ N(0, C_b)``; at depth 0, ``f(x) = w·x + b`` with
``w ~ N(0, C_W/N₀)``. This is the forward pass of :func:`~deepspin.hamiltonians.sample_kernel`,
so ``E[f(x) f(x')] = K_{L+1}(q)`` with ``q = x·x'/N₀`` (``covariance(...).kernel(q)[0]``)
as the width grows. On the sphere ``|x|² = N₀`` the Hamiltonian is ``H(x) = √N₀ f(x)``,
whose covariance ``N₀ K_{L+1}(q) = N₀ [K_{L+1}(0) + ξ(q)]`` is that of a spherical mixed
p-spin model (eq. pspin-map) plus a random constant of variance ``N₀ K_{L+1}(0)``
(zero for odd φ without biases). Energies are reported per coordinate, ``e = H/N₀``.

:func:`parallel_tempering` samples the Gibbs measure ``∝ exp(−β H(x))`` on the sphere for
many networks, copies and temperatures at once, as one batched torch tensor (chapter
``wh_sampling``); :func:`minimize_energy` descends to nearby minima for the ground state.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from itertools import pairwise

import numpy as np
import torch
from tqdm import tqdm

from deepspin.checks import (
    as_generator,
    check_bool,
    check_choice,
    check_device,
    check_dtype,
    check_int,
    check_real,
    torch_generator,
)
from deepspin.results import warn_if_not_converged

__all__ = [
    "DescentResult",
    "RandomMLP",
    "TemperingResult",
    "hidden_features",
    "minimize_energy",
    "mlp_energy",
    "parallel_tempering",
    "random_mlp",
]

# the finite-width activations: the keys of covariance._NUMPY_ACTIVATIONS
_TORCH_ACTIVATIONS = {
    "linear": lambda t: t,
    "relu": torch.relu,
    "erf": torch.special.erf,
    "tanh": torch.tanh,
    "sin": torch.sin,
    "cos": torch.cos,
}
_SHAPED = ("shaped_relu", "shaped_smooth")
_DTYPES = (torch.float32, torch.float64)
# log ε is kept in this range: above ε ≈ 10 a proposal already lands almost on the great
# sphere orthogonal to x, so a larger ε buys nothing at high temperature
_LOG_STEP_RANGE = (math.log(1e-6), math.log(10.0))


def _check_activation(activation):
    if activation in _SHAPED:
        raise ValueError(
            f"activation {activation!r} is a depth-continuum limit without a finite-width "
            f"network; choose one of {', '.join(map(repr, _TORCH_ACTIVATIONS))}"
        )
    return check_choice("activation", activation, tuple(_TORCH_ACTIVATIONS))


def _check_net(net):
    if not isinstance(net, RandomMLP):
        raise ValueError(f"net must be a RandomMLP (see random_mlp), got {type(net).__name__}")
    return net


def _as_tensor(name, x, dtype, device):
    """``x`` (array or tensor) as a finite real tensor in ``dtype`` on ``device``, else raise."""
    if isinstance(x, torch.Tensor):
        if x.dtype.is_complex or x.dtype == torch.bool:
            raise ValueError(f"{name} must hold finite reals, got dtype {x.dtype}")
        x = x.to(device=device, dtype=dtype)  # keeps the autograd graph
    else:
        try:
            array = np.asarray(x, dtype=np.float64)
        except (TypeError, ValueError):
            raise ValueError(f"{name} must be an array of finite reals, got {x!r}") from None
        x = torch.as_tensor(array, dtype=dtype).to(device)
    if not bool(torch.all(torch.isfinite(x.detach()))):
        raise ValueError(f"{name} must hold finite reals, got a NaN or an infinity")
    return x


def _check_start(name, x, n):
    """Refuse starting points that cannot be projected onto the sphere ``|x|² = n``."""
    norms = torch.linalg.vector_norm(x, dim=-1)
    if x.numel() and not bool(torch.all(norms > 0)):
        raise ValueError(
            f"{name} must hold configurations of norm > 0 (each is projected onto the sphere "
            f"|x|² = N₀), got one of norm 0"
        )
    x = _on_sphere(x, n)
    if not bool(torch.all(torch.isfinite(x))):
        raise ValueError(f"{name} holds a configuration too close to 0 to project onto the sphere")
    return x


# --- the networks ---------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class RandomMLP:
    """``n_networks`` independent random MLPs with stacked weights; see :func:`random_mlp`.

    ``weights[l]`` has shape ``(n_networks, fan_in, fan_out)`` and already carries the
    variance ``C_W/fan_in``; the last entry is the read-out ``(n_networks, fan_in, 1)``.
    ``biases[l]`` has shape ``(n_networks, fan_out)``. ``width`` is 0 at depth 0.
    """

    activation: str
    n_input: int
    depth: int
    width: int
    weight_var: float
    bias_var: float
    weights: tuple[torch.Tensor, ...]
    biases: tuple[torch.Tensor, ...]

    @property
    def n_networks(self) -> int:
        return self.weights[0].shape[0]

    @property
    def device(self) -> torch.device:
        return self.weights[0].device

    @property
    def dtype(self) -> torch.dtype:
        return self.weights[0].dtype

    def to(self, device=None, dtype=None) -> RandomMLP:
        """The same networks on ``device`` and/or in ``dtype`` (e.g. float64 for descents).

        ``device``: None (unchanged), ``"cpu"``, ``"cuda"``, ``"auto"`` or a torch.device;
        ``dtype``: None (unchanged), torch.float32 or torch.float64.
        """
        if device is not None:
            device = check_device("device", device)
        if dtype is not None:
            dtype = check_dtype("dtype", dtype, _DTYPES)
        return RandomMLP(
            self.activation, self.n_input, self.depth, self.width, self.weight_var,
            self.bias_var, tuple(w.to(device=device, dtype=dtype) for w in self.weights),
            tuple(b.to(device=device, dtype=dtype) for b in self.biases),
        )  # fmt: skip


def random_mlp(n_input, depth, width, activation, weight_var=1.0, bias_var=0.0, n_networks=1,
               seed=None, device="cpu", dtype=torch.float64):  # fmt: skip
    """Draw ``n_networks`` independent random MLPs ``f: R^{N₀} → R`` (module docstring).

    Parameters
    ----------
    n_input : int ≥ 2
        N₀, the dimension of the input sphere ``|x|² = N₀``.
    depth : int ≥ 0
        Hidden layers L; depth 0 is the linear read-out ``w·x + b``.
    width : int ≥ 1
        Neurons per hidden layer (ignored at depth 0).
    activation : str
        linear, relu, erf, tanh, sin or cos (the shaped activations of
        :func:`~deepspin.hamiltonians.covariance` have no finite-width form).
    weight_var, bias_var : float
        C_W > 0 and C_b ≥ 0; weights have variance ``C_W/fan_in``.
    n_networks : int ≥ 1
        Independent networks, stacked along the first axis of every tensor.
    seed : None, int or numpy Generator
        Weights are drawn on the CPU from this seed, then moved to ``device``, so the same
        seed gives the same networks on every device.
    device : ``"cpu"`` (default), ``"cuda"``, ``"auto"`` or torch.device
        ``"auto"`` is CUDA when a GPU is visible, else the CPU.
    dtype : torch.float64 (default) or torch.float32

    Returns
    -------
    RandomMLP
    """
    n_input = check_int("n_input", n_input, 2)
    depth = check_int("depth", depth, 0)
    width = check_int("width", width, 1)
    activation = _check_activation(activation)
    weight_var = check_real("weight_var", weight_var, 0.0, low_open=True)
    bias_var = check_real("bias_var", bias_var, 0.0)
    n_networks = check_int("n_networks", n_networks, 1)
    rng = as_generator(seed)
    device = check_device("device", device)
    dtype = check_dtype("dtype", dtype, _DTYPES)
    gen = torch_generator(rng)
    sizes = [n_input, *[width] * depth, 1]
    weights, biases = [], []
    for fan_in, fan_out in pairwise(sizes):
        w = torch.randn((n_networks, fan_in, fan_out), generator=gen, dtype=dtype)
        b = torch.randn((n_networks, fan_out), generator=gen, dtype=dtype)
        weights.append((w * math.sqrt(weight_var / fan_in)).to(device))
        biases.append((b * math.sqrt(bias_var)).to(device))
    return RandomMLP(activation, n_input, depth, width if depth else 0, weight_var, bias_var,
                     tuple(weights), tuple(biases))  # fmt: skip


def _as_inputs(net, x):
    x = _as_tensor("x", x, net.dtype, net.device)
    if x.ndim == 2:
        x = x.expand(net.n_networks, *x.shape)
    if x.ndim != 3 or x.shape[0] != net.n_networks or x.shape[2] != net.n_input:
        raise ValueError(
            f"x must have shape (n_networks={net.n_networks}, B, n_input={net.n_input}) or "
            f"(B, n_input), got {tuple(x.shape)}"
        )
    return x


def _hidden(net, x):
    """φ(z_L) of the last hidden layer (x itself at depth 0)."""
    phi = _TORCH_ACTIVATIONS[net.activation]
    h = x
    for w, b in zip(net.weights[:-1], net.biases[:-1], strict=True):
        h = phi(torch.baddbmm(b[:, None, :], h, w))
    return h


def hidden_features(net, x):
    """The last hidden layer ``φ(z_L(x))`` of every network, shape ``(n_networks, B, width)``.

    Its Gram matrix ``C_b + C_W φ(z_L(x))·φ(z_L(x'))/N_L`` is the network's own output
    covariance given its hidden weights, which the NNGP kernel ``K_{L+1}(q)`` approximates
    at large width (chapter ``wh_sampling``, eq. width-identity). ``net`` a RandomMLP of
    depth ≥ 1; ``x`` (finite reals) as in :func:`mlp_energy`.
    """
    _check_net(net)
    if net.depth == 0:
        raise ValueError("hidden_features needs depth >= 1 (a depth-0 network has no hidden layer)")
    return _hidden(net, _as_inputs(net, x))


def mlp_energy(net, x):
    """``H(x) = √N₀ f(x)`` for every network and input: one batched matmul per layer.

    Parameters
    ----------
    net : RandomMLP
    x : tensor or array ``(n_networks, B, N₀)``, or ``(B, N₀)`` shared by all networks
        Inputs, finite reals; not projected onto the sphere (so ``x = 0`` gives ``√N₀ f(0)``).

    Returns
    -------
    tensor ``(n_networks, B)`` on ``net.device``; differentiable in ``x``.
    """
    _check_net(net)
    return _mlp_energy(net, _as_inputs(net, x))


def _mlp_energy(net, x):
    """:func:`mlp_energy` without checks, for a tensor of shape ``(n_networks, B, N₀)``."""
    h = _hidden(net, x)
    out = torch.baddbmm(net.biases[-1][:, None, :], h, net.weights[-1])
    return math.sqrt(net.n_input) * out[..., 0]


# --- parallel tempering ---------------------------------------------------------------------


@dataclass(frozen=True)
class TemperingResult:
    """What :func:`parallel_tempering` returns. Energies are per coordinate, ``e = H/N₀``.

    Attributes
    ----------
    betas : (K,)
        Inverse temperatures, ascending.
    energies : (n_records, n_networks, n_copies, K)
        e of every copy at every temperature, every ``record_every`` production sweeps.
    overlaps : (n_records, n_networks, n_pairs, K)
        ``q = x_a·x_b/N₀`` of copies a < b at the same temperature (pairs in ``pairs``).
    pairs : (n_pairs, 2)
        The copy pairs (a, b) of ``overlaps``.
    configurations : (n_networks, n_copies, K, N₀)
        The final state, per temperature.
    move_acceptance : (K,)
        Fraction of accepted Metropolis moves in production, per temperature.
    exchange_acceptance : (K − 1,)
        Fraction of accepted exchanges between temperatures k and k + 1 in production.
    step_sizes : (K,)
        The frozen step sizes ε of production.
    min_energy : (n_networks,)
        The lowest e seen in any copy and at any temperature, burn-in included.
    min_configuration : (n_networks, N₀)
        A configuration with that energy.
    n_sweeps, n_burn, record_every, exchange_every : int
    seconds : float
        Wall time of the whole run.
    """

    betas: np.ndarray
    energies: np.ndarray
    overlaps: np.ndarray
    pairs: np.ndarray
    configurations: np.ndarray
    move_acceptance: np.ndarray
    exchange_acceptance: np.ndarray
    step_sizes: np.ndarray
    min_energy: np.ndarray
    min_configuration: np.ndarray
    n_sweeps: int
    n_burn: int
    record_every: int
    exchange_every: int
    seconds: float

    @property
    def temperatures(self) -> np.ndarray:
        return 1.0 / self.betas


def _check_betas(betas):
    try:
        betas = np.asarray(betas, dtype=float)
    except (TypeError, ValueError):
        raise ValueError(f"betas must be a 1-D array of reals, got {betas!r}") from None
    betas = np.atleast_1d(betas)
    if betas.ndim != 1 or betas.size == 0 or not np.all(np.isfinite(betas)):
        raise ValueError(f"betas must be a non-empty 1-D array of finite reals, got {betas!r}")
    if np.any(betas <= 0) or np.any(np.diff(betas) <= 0):
        raise ValueError(f"betas must be positive and strictly increasing, got {betas!r}")
    return betas


def _on_sphere(x, n):
    return x * (math.sqrt(n) / torch.linalg.vector_norm(x, dim=-1, keepdim=True))


def _propose(x, step, gen):
    """Tangent random walk re-projected onto the sphere ``|x|² = N₀``.

    ``x' = √N₀ (x + ε ξ_⊥)/|x + ε ξ_⊥|`` with ``ξ ~ N(0, I)`` projected orthogonally to x.
    The direction of ``ξ_⊥`` is uniform in the tangent plane and its length independent
    of x, so x' lies at a geodesic angle ``θ = arctan(ε|ξ_⊥|/√N₀)`` in a uniformly random
    direction: the proposal density depends on x and x' only through their geodesic
    distance, hence is symmetric, and the Metropolis ratio is ``exp(−β ΔH)`` alone.
    """
    n = x.shape[-1]
    xi = torch.randn(x.shape, generator=gen, device=x.device, dtype=x.dtype)
    xi = xi - (torch.sum(xi * x, dim=-1, keepdim=True) / n) * x
    return _on_sphere(x + step[..., None] * xi, n)


def parallel_tempering(net, betas, n_copies=2, n_sweeps=2000, n_burn=1000, seed=None,
                       step_target=0.3, record_every=10, exchange_every=1, x0=None,
                       progress=True, device=None):  # fmt: skip
    """Parallel tempering over the inputs of every network, on the sphere ``|x|² = N₀``.

    For each network and each of ``n_copies`` independent copies, one replica per inverse
    temperature β_k samples ``∝ exp(−β_k H(x))``; all of them form one tensor
    ``(n_networks, n_copies, K, N₀)``, moved together. A sweep is one Metropolis move of
    every replica (all coordinates at once, the symmetric proposal of :func:`_propose`,
    accepted with ``min(1, exp(−β ΔH))``). Every ``exchange_every`` sweeps, neighbouring
    temperatures try to swap configurations, accepted with
    ``min(1, exp((β_{k+1} − β_k)(H_{k+1} − H_k)))``, even pairs (0,1), (2,3), … and odd
    pairs (1,2), … alternately. Configurations move and temperatures stay put, so all
    recorded quantities are per temperature.

    The step size ε_k of each temperature (shared by networks and copies) follows a
    Robbins–Monro recursion on log ε towards the acceptance ``step_target`` during the
    ``n_burn`` burn-in sweeps only, ``log ε ← log ε + (acc − target)/(1 + t)^0.6``; it is
    then frozen, so production is an exact, time-homogeneous Markov chain.

    Parameters
    ----------
    net : RandomMLP
    betas : array (K,)
        Inverse temperatures, positive and strictly increasing.
    n_copies : int ≥ 1
        Independent chains per network (the overlaps need two).
    n_sweeps : int ≥ 1
        Production sweeps.
    n_burn : int ≥ 0
        Burn-in sweeps (step sizes adapted, nothing recorded).
    seed : None, int or numpy Generator
    step_target : float in (0, 1)
        Target acceptance of the moves.
    record_every : int ≥ 1
        Record e and q after every ``record_every``-th production sweep.
    exchange_every : int ≥ 1
    x0 : array, optional
        Initial configurations, finite reals of nonzero norm, broadcastable to
        ``(n_networks, n_copies, K, N₀)``, projected onto the sphere. Default: uniform on
        the sphere.
    progress : bool
        Show a tqdm bar.
    device : ``"cpu"``, ``"cuda"``, ``"auto"`` or torch.device, optional
        Default: the device of ``net``.

    Returns
    -------
    TemperingResult
    """
    _check_net(net)
    betas = _check_betas(betas)
    n_copies = check_int("n_copies", n_copies, 1)
    n_sweeps = check_int("n_sweeps", n_sweeps, 1)
    n_burn = check_int("n_burn", n_burn, 0)
    step_target = check_real("step_target", step_target, 0.0, 1.0, low_open=True,
                             high_open=True)  # fmt: skip
    record_every = check_int("record_every", record_every, 1)
    exchange_every = check_int("exchange_every", exchange_every, 1)
    progress = check_bool("progress", progress)
    rng = as_generator(seed)
    if device is not None:
        net = net.to(check_device("device", device))
    device, dtype = net.device, net.dtype
    n_net, n, n_temps = net.n_networks, net.n_input, betas.size
    shape = (n_net, n_copies, n_temps)
    if x0 is not None:
        x0 = _as_tensor("x0", x0, dtype, device)
        try:
            x0 = x0.expand(*shape, n).clone()
        except RuntimeError:
            raise ValueError(
                f"x0 must broadcast to {(*shape, n)}, got shape {tuple(x0.shape)}"
            ) from None
        x0 = _check_start("x0", x0, n)
    gen = torch_generator(rng, device)

    start = time.perf_counter()
    if x0 is None:
        x = _on_sphere(torch.randn((*shape, n), generator=gen, device=device, dtype=dtype), n)
    else:
        x = x0

    beta = torch.as_tensor(betas, dtype=dtype, device=device)
    # ε is about the angle of a move and β|ΔH| ≈ β √(N₀ ξ'(1)) ε: start near 1/(β √N₀)
    log_step = torch.as_tensor(
        np.clip(np.log(1.0 / (betas * math.sqrt(n))), *_LOG_STEP_RANGE), dtype=dtype, device=device
    )
    pairs = torch.triu_indices(n_copies, n_copies, 1, device=device)
    n_records = n_sweeps // record_every
    energies = torch.empty((n_records, *shape), dtype=dtype, device=device)
    overlaps = torch.empty((n_records, n_net, pairs.shape[1], n_temps), dtype=dtype, device=device)
    moves = torch.zeros(n_temps, dtype=dtype, device=device)
    swaps = torch.zeros(max(n_temps - 1, 0), dtype=dtype, device=device)
    tries = torch.zeros_like(swaps)
    arange_net = torch.arange(n_net, device=device)

    def energy(y):
        return _mlp_energy(net, y.reshape(n_net, -1, n)).reshape(shape)

    with torch.no_grad():
        h = energy(x)
        best = h.reshape(n_net, -1).min(dim=1)
        best_e, best_x = best.values.clone(), x.reshape(n_net, -1, n)[arange_net, best.indices]
        exchange_round = 0
        for sweep in tqdm(range(n_burn + n_sweeps), desc="tempering", disable=not progress):
            production = sweep >= n_burn
            step = torch.exp(log_step).expand(shape)
            x_new = _propose(x, step, gen)
            h_new = energy(x_new)
            log_u = torch.log(torch.rand(shape, generator=gen, device=device, dtype=dtype))
            accept = log_u < -beta * (h_new - h)
            x = torch.where(accept[..., None], x_new, x)
            h = torch.where(accept, h_new, h)
            rate = accept.to(dtype).mean(dim=(0, 1))
            if production:
                moves += rate
            else:
                gain = (1.0 + sweep) ** -0.6
                log_step = torch.clamp(log_step + gain * (rate - step_target), *_LOG_STEP_RANGE)

            if n_temps > 1 and (sweep + 1) % exchange_every == 0:
                low = torch.arange(exchange_round % 2, n_temps - 1, 2, device=device)
                exchange_round += 1
                d_beta = beta[low + 1] - beta[low]
                log_a = d_beta * (h[..., low + 1] - h[..., low])
                log_u = torch.log(
                    torch.rand(log_a.shape, generator=gen, device=device, dtype=dtype)
                )
                swap = log_u < log_a
                perm = torch.arange(n_temps, device=device).expand(shape).clone()
                perm[..., low] = torch.where(swap, low + 1, low)
                perm[..., low + 1] = torch.where(swap, low, low + 1)
                h = torch.gather(h, 2, perm)
                x = torch.gather(x, 2, perm[..., None].expand(*shape, n))
                if production:
                    swaps[low] += swap.to(dtype).mean(dim=(0, 1))
                    tries[low] += 1

            flat = h.reshape(n_net, -1).min(dim=1)
            better = flat.values < best_e
            best_e = torch.where(better, flat.values, best_e)
            candidate = x.reshape(n_net, -1, n)[arange_net, flat.indices]
            best_x = torch.where(better[:, None], candidate, best_x)

            done = sweep + 1 - n_burn
            if production and done % record_every == 0:
                r = done // record_every - 1
                energies[r] = h / n
                # one Gram matrix per (network, temperature): no C² × N₀ intermediate
                xt = x.transpose(1, 2)
                gram = torch.matmul(xt, xt.transpose(-1, -2))[..., pairs[0], pairs[1]]
                overlaps[r] = gram.transpose(1, 2) / n

    if device.type == "cuda":
        torch.cuda.synchronize(device)
    return TemperingResult(
        betas=betas,
        energies=energies.cpu().numpy(),
        overlaps=overlaps.cpu().numpy(),
        pairs=pairs.T.cpu().numpy(),
        configurations=x.cpu().numpy(),
        move_acceptance=(moves / n_sweeps).cpu().numpy(),
        exchange_acceptance=(swaps / torch.clamp(tries, min=1)).cpu().numpy(),
        step_sizes=torch.exp(log_step).cpu().numpy(),
        min_energy=(best_e / n).cpu().numpy(),
        min_configuration=best_x.cpu().numpy(),
        n_sweeps=n_sweeps,
        n_burn=n_burn,
        record_every=record_every,
        exchange_every=exchange_every,
        seconds=time.perf_counter() - start,
    )


# --- descent to minima ----------------------------------------------------------------------


@dataclass(frozen=True)
class DescentResult:
    """What :func:`minimize_energy` returns; energies per coordinate ``e = H/N₀``.

    ``configurations (n_networks, B, N₀)``, ``energies (n_networks, B)``,
    ``gradient_norms (n_networks, B)`` (the Riemannian gradient ``|∇_⊥ H|/√N₀``),
    ``iterations``, ``residual`` (the largest gradient norm), ``tol`` and ``converged``
    (``residual <= tol``: every gradient norm at or below ``tol``).
    """

    configurations: np.ndarray
    energies: np.ndarray
    gradient_norms: np.ndarray
    iterations: int
    converged: bool
    residual: float
    tol: float


def minimize_energy(net, x0, max_iter=2000, tol=1e-6, progress=False):
    """Projected gradient descent on the sphere ``|x|² = N₀`` to a local minimum of H.

    Use float64 networks (``net.to(dtype=torch.float64)``): in float32 the energy
    comparisons of the step rule stall above ``tol`` near a minimum (it then warns).

    Each replica steps ``x' = √N₀ (x − η ∇_⊥H)/|x − η ∇_⊥H|`` along the Riemannian
    gradient ``∇_⊥H = ∇H − (∇H·x/N₀) x`` (torch autograd) with its own step η: a step that
    lowers H is taken and η grows by 1.2, one that does not is refused and η halves, so H
    never increases. The first step moves by an angle of about 0.1.

    Parameters
    ----------
    net : RandomMLP
    x0 : array ``(n_networks, B, N₀)``
        Starting points, finite reals of nonzero norm (e.g.
        ``TemperingResult.configurations`` reshaped), projected onto the sphere.
    max_iter : int ≥ 1
        Total number of steps (every replica steps at each).
    tol : float > 0
        Stop when every ``|∇_⊥H|/√N₀ <= tol``.
    progress : bool

    Returns
    -------
    DescentResult
        ``residual`` is the largest ``|∇_⊥H|/√N₀``, ``converged`` is ``residual <= tol``;
        a ``RuntimeWarning`` when it stops unconverged.
    """
    _check_net(net)
    max_iter = check_int("max_iter", max_iter, 1)
    tol = check_real("tol", tol, 0.0, low_open=True)
    progress = check_bool("progress", progress)
    n = net.n_input
    x = _as_tensor("x0", x0, net.dtype, net.device).detach()
    if x.ndim != 3 or x.shape[0] != net.n_networks or x.shape[2] != n:
        raise ValueError(
            f"x0 must have shape (n_networks={net.n_networks}, B, n_input={n}), "
            f"got {tuple(x.shape)}"
        )
    x = _check_start("x0", x, n)

    def energy_and_gradient(y):
        y = y.detach().requires_grad_(True)
        h = _mlp_energy(net, y)
        (g,) = torch.autograd.grad(h.sum(), y)
        y = y.detach()
        return h.detach(), g - (torch.sum(g * y, dim=-1, keepdim=True) / n) * y

    h, g = energy_and_gradient(x)
    norm = torch.linalg.vector_norm(g, dim=-1)
    eta = 0.1 * math.sqrt(n) / torch.clamp(norm, min=1e-300)
    iterations = 0
    bar = tqdm(total=max_iter, desc="descent", disable=not progress)
    while iterations < max_iter and not torch.all(norm / math.sqrt(n) <= tol):
        x_new = _on_sphere(x - eta[..., None] * g, n)
        h_new, g_new = energy_and_gradient(x_new)
        better = h_new < h
        x = torch.where(better[..., None], x_new, x)
        h = torch.where(better, h_new, h)
        g = torch.where(better[..., None], g_new, g)
        eta = torch.where(better, 1.2 * eta, 0.5 * eta)
        norm = torch.linalg.vector_norm(g, dim=-1)
        iterations += 1
        bar.update()
    bar.close()
    gradient_norm = (norm / math.sqrt(n)).cpu().numpy()
    # a NaN norm propagates (and never converges); an empty batch has nothing to descend
    residual = float(np.max(gradient_norm)) if gradient_norm.size else 0.0
    result = DescentResult(
        configurations=x.detach().cpu().numpy(),
        energies=(h / n).cpu().numpy(),
        gradient_norms=gradient_norm,
        iterations=iterations,
        converged=bool(residual <= tol),
        residual=residual,
        tol=tol,
    )
    return warn_if_not_converged(result, "minimize_energy")
