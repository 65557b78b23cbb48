"""Mean-field (LR-net) training of binary-weight MLPs as batched torch ensembles.

A binary weight ``w ∈ {±1}`` is a Bernoulli variable with ``P(w = +1) = sigmoid(θ)``,
so its mean is ``m = tanh(θ/2)`` and its variance ``1 − m²`` (chapter ``zh_training``,
eq. (lrnet-moments); Zou & Huang's code uses the same θ; a model written as
``P(w) ∝ e^{θ' w}`` has ``θ' = θ/2``). A layer's pre-activation ``z = Σ_j w_j a_j`` is, by
the central limit theorem, Gaussian with mean ``Σ m a`` and variance ``Σ (1 − m²) a²``
(eq. (lrnet-forward)); it is sampled with fresh noise per example and per network (the
local reparameterisation trick), so the loss is differentiable in θ. Hidden layers apply
a leaky ReLU of slope 0.1 divided by √fan-in; the output layer is linear; there are no
biases; the loss is softmax cross-entropy plus ``(γ/2)|θ|²``, minimised by Adam.

An ensemble of E networks is one list of tensors of shape ``(E, out, in)``. All networks
see the same minibatch stream (so the first layer is one large matrix product), each
with its own initialisation and noise. Adam acts element-wise, so the networks train
independently: the batched trainer reproduces E single-network runs exactly.

Two backends train the same model: torch autograd (any device, binary or real weights)
and, on the CPU, the fused numba kernel of :mod:`deepspin.binary_nets.fused`, which runs
forward pass, backward pass and Adam step of all networks in one call (about three times
faster at E = 256 on two cores; it draws its noise from its own generator).

Weight order (the public flat layout used by the ensembles and the Ising chapters):
layer by layer, each layer's ``(out, in)`` matrix row-major; :func:`layer_slices` gives
the index range of each layer.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import pairwise

import numpy as np
import torch
from tqdm import tqdm

from deepspin.binary_nets import fused
from deepspin.binary_nets.evaluate import check_configs, check_images, count_correct
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

__all__ = [
    "LEAKY_SLOPE",
    "TrainResult",
    "check_fields",
    "check_widths",
    "configuration_accuracy",
    "flatten_weights",
    "init_fields",
    "layer_slices",
    "meanfield_logits",
    "n_weights",
    "sample_configurations",
    "train_ensemble",
    "unflatten_weights",
]

LEAKY_SLOPE = 0.1


def check_widths(widths: Sequence[int]) -> tuple[int, ...]:
    """Validate layer widths ``(n_in, hidden..., n_out)``: at least two, each in [1, 100000]."""
    try:
        widths = tuple(widths)
    except TypeError:
        raise ValueError(
            f"widths must be a sequence of at least two integers in [1, 100000], got {widths!r}"
        ) from None
    if len(widths) < 2:
        raise ValueError(f"widths must list at least an input and an output width, got {widths!r}")
    return tuple(check_int(f"widths[{i}]", w, 1, 100_000) for i, w in enumerate(widths))


def n_weights(widths: Sequence[int]) -> int:
    """Number of weights: ``Σ_l widths[l] · widths[l+1]`` (675 for 20-15-15-10)."""
    widths = check_widths(widths)
    return sum(a * b for a, b in pairwise(widths))


def layer_slices(widths: Sequence[int]) -> list[slice]:
    """Index range of each layer in the flat weight vector (layer by layer, (out, in) row-major).

    For 20-15-15-10: ``[slice(0, 300), slice(300, 525), slice(525, 675)]``.
    """
    widths = check_widths(widths)
    out, start = [], 0
    for a, b in pairwise(widths):
        out.append(slice(start, start + a * b))
        start += a * b
    return out


def _check_layers(layers, name, widths=None, n_networks=None, floating=False):
    """A network's per-layer ``(E, out, in)`` tensors or arrays, as a list, else ``ValueError``.

    All tensors or all numpy arrays, of real dtype (floating point if ``floating``), of one
    ensemble size E, chaining (each layer's ``in`` is the previous one's ``out``), finite;
    ``widths`` and ``n_networks`` fix the shapes.
    """
    wanted = "a non-empty list of (E, out, in) arrays, one per layer"
    if isinstance(layers, (torch.Tensor, np.ndarray, str, bytes)) or not isinstance(
        layers, Sequence
    ):
        raise ValueError(f"{name} must be {wanted}, got {layers!r:.80}")
    layers = list(layers)
    if not layers:
        raise ValueError(f"{name} must be {wanted}, got an empty list")
    is_tensor = isinstance(layers[0], torch.Tensor)
    for k, w in enumerate(layers):
        if not isinstance(w, torch.Tensor if is_tensor else np.ndarray):
            kind = "a torch tensor" if is_tensor else "a numpy array"
            raise ValueError(f"{name}[{k}] must be {kind} like {name}[0], got {w!r:.80}")
        if is_tensor:
            is_float = w.dtype.is_floating_point
            real = is_float or not (w.dtype.is_complex or w.dtype == torch.bool)
        else:
            is_float, real = w.dtype.kind == "f", w.dtype.kind in "fiu"
        if not real or (floating and not is_float):
            kind = "floating-point" if floating else "real"
            raise ValueError(f"{name}[{k}] must have a {kind} dtype, got {w.dtype}")
        if w.ndim != 3:
            raise ValueError(
                f"{name}[{k}] must be an (E, out, in) array, got shape {tuple(w.shape)}"
            )
        if w.shape[0] != layers[0].shape[0] or (k and w.shape[2] != layers[k - 1].shape[1]):
            raise ValueError(
                f"{name}[{k}] has shape {tuple(w.shape)}; expected ({layers[0].shape[0]}, ·, "
                f"{layers[k - 1].shape[1] if k else '·'}) to chain with the previous layer"
            )
        finite = bool(torch.isfinite(w).all()) if is_tensor else bool(np.isfinite(w).all())
        if not finite:
            raise ValueError(f"{name}[{k}] must hold finite reals, got a NaN or an infinity")
    got = [tuple(w.shape) for w in layers]
    if widths is not None:
        e = layers[0].shape[0] if n_networks is None else n_networks
        expected = [(e, b, a) for a, b in pairwise(widths)]
        if got != expected:
            raise ValueError(f"{name} must have shapes {expected} for widths {widths}, got {got}")
    elif n_networks is not None and got[0][0] != n_networks:
        raise ValueError(f"{name} must hold {n_networks} networks, got {got[0][0]}")
    return layers


def check_fields(fields, name="fields", widths=None, n_networks=None):
    """Validate the fields θ of an ensemble of E networks: one ``(E, out, in)`` tensor per
    layer.

    Parameters
    ----------
    fields : non-empty sequence of ``(E, out, in)`` tensors or arrays, E ≥ 1
        All torch tensors or all numpy arrays, of a floating-point dtype, finite, one E
        for every layer, chaining (each layer's ``in`` is the previous one's ``out``).
    name : str
        What the messages call ``fields``.
    widths : sequence of int, optional
        ``(n_in, hidden..., n_out)``, already validated (:func:`check_widths`): the
        layers must have shapes ``(E, widths[l + 1], widths[l])``.
    n_networks : int ≥ 1, optional
        The E required.

    Returns
    -------
    list of torch.Tensor
        The layers (numpy arrays converted, sharing their memory).

    Raises
    ------
    ValueError
        Naming ``name`` (``name[k]`` for a bad layer).
    """
    fields = _check_layers(fields, name, widths, n_networks, floating=True)
    return [torch.as_tensor(f) for f in fields]


def _check_tensor(name, value, ndim, like=None):
    """``value`` as a finite tensor with ``ndim`` dimensions, in ``like``'s dtype and device
    (a tensor is kept as it is without ``like``)."""
    convert = {} if like is None else dict(dtype=like.dtype, device=like.device)
    try:
        t = torch.as_tensor(value, **convert)
    except (TypeError, ValueError, RuntimeError):
        raise ValueError(f"{name} must be an array of finite reals, got {value!r:.80}") from None
    if t.ndim != ndim:
        raise ValueError(f"{name} must be a {ndim}-D array, got shape {tuple(t.shape)}")
    if not (t.dtype.is_floating_point or t.dtype in _INTEGER_DTYPES):
        raise ValueError(f"{name} must be an array of finite reals, got dtype {t.dtype}")
    if not bool(torch.isfinite(t).all()):
        raise ValueError(f"{name} must hold finite reals, got {float(t[~torch.isfinite(t)][0])}")
    return t


_INTEGER_DTYPES = (torch.int8, torch.uint8, torch.int16, torch.int32, torch.int64)


def _check_generator(generator):
    if generator is not None and not isinstance(generator, torch.Generator):
        raise ValueError(f"generator must be None or a torch.Generator, got {generator!r:.80}")
    return generator


def flatten_weights(layers: Sequence[torch.Tensor | np.ndarray]):
    """Concatenate per-layer arrays of shape ``(E, out, in)`` into ``(E, n_weights)``.

    Parameters
    ----------
    layers : list of tensors or of numpy arrays ``(E, out, in)``
        One per layer, chaining (each layer's ``in`` is the previous one's ``out``), of
        one ensemble size E, real and finite.

    Returns
    -------
    tensor or ndarray ``(E, n_weights)``
        A tensor for tensors, an array for arrays.
    """
    layers = _check_layers(layers, "layers")
    if isinstance(layers[0], torch.Tensor):
        return torch.cat([w.reshape(w.shape[0], -1) for w in layers], dim=1)
    return np.concatenate([np.asarray(w).reshape(w.shape[0], -1) for w in layers], axis=1)


def unflatten_weights(flat, widths: Sequence[int]):
    """Inverse of :func:`flatten_weights`: ``(E, n_weights)`` → list of ``(E, out, in)``.

    Parameters
    ----------
    flat : tensor or array ``(E, n_weights)`` of finite reals
    widths : sequence of int
        ``(n_in, hidden..., n_out)``, each in [1, 100000].

    Returns
    -------
    list of views ``(E, out, in)``, tensors for a tensor
    """
    widths = check_widths(widths)
    n_w = n_weights(widths)
    if not isinstance(flat, torch.Tensor):
        try:
            flat = np.asarray(flat)
            real = flat.dtype.kind in "fiu"
        except (TypeError, ValueError):
            real = False
        if not real:
            raise ValueError(f"flat must be an (E, {n_w}) array of finite reals, got {flat!r:.80}")
    if flat.ndim != 2 or flat.shape[1] != n_w:
        raise ValueError(
            f"flat must have shape (E, {n_w}) for widths {widths}, got {tuple(flat.shape)}"
        )
    finite = (
        torch.isfinite(flat).all() if isinstance(flat, torch.Tensor) else np.isfinite(flat).all()
    )
    if not bool(finite):
        raise ValueError("flat must hold finite reals, got a NaN or an infinity")
    return [
        flat[:, s].reshape(flat.shape[0], b, a)
        for s, a, b in zip(layer_slices(widths), widths[:-1], widths[1:], strict=True)
    ]


def init_fields(widths, n_networks=1, scale=0.1, seed=None, device="cpu", dtype=torch.float32):
    """Initial fields θ ~ N(0, scale²) for an ensemble: a list of ``(E, out, in)`` tensors.

    Parameters
    ----------
    widths : sequence of int
        ``(n_in, hidden..., n_out)``, each in [1, 100000].
    n_networks : int, ≥ 1
    scale : float, ≥ 0
    seed : None, int ≥ 0 or numpy Generator
    device : {"cpu", "cuda", "auto"} or torch.device
    dtype : {torch.float32, torch.float64}
    """
    widths = check_widths(widths)
    n_networks = check_int("n_networks", n_networks, 1)
    scale = check_real("scale", scale, 0.0)
    device = check_device("device", device)
    dtype = check_dtype("dtype", dtype, (torch.float32, torch.float64))
    gen = torch_generator(seed)
    layers = [
        scale * torch.randn((n_networks, b, a), generator=gen, dtype=dtype)
        for a, b in pairwise(widths)
    ]
    return [t.to(device) for t in layers]


def _activation(z, fan_in):
    return torch.nn.functional.leaky_relu(z, LEAKY_SLOPE) / math.sqrt(fan_in)


def _first_layer(x, w):
    # x: (B, n_in) shared by the ensemble; w: (E, out, n_in) -> (E, B, out) as one matmul
    e, out, n_in = w.shape
    return (x @ w.reshape(e * out, n_in).T).reshape(x.shape[0], e, out).transpose(0, 1)


def meanfield_logits(fields, x, noise=None, generator=None):
    """Logits of the mean-field (LR-net) forward pass, eq. (lrnet-forward).

    Parameters
    ----------
    fields : list of tensors ``(E, out, in)``
        The fields θ of each layer (floating point, finite, chaining).
    x : tensor ``(B, n_in)`` of finite reals
        A minibatch shared by all networks (taken in the fields' dtype and device).
    noise : list of tensors ``(E, B, out)``, optional
        The standard-normal ε of each layer, finite (drawn from ``generator`` if omitted).
    generator : torch.Generator, optional

    Returns
    -------
    tensor ``(E, B, n_out)``
    """
    fields = check_fields(fields)
    x = _check_tensor("x", x, 2, fields[0])
    if x.shape[1] != fields[0].shape[2]:
        raise ValueError(
            f"x must have shape (B, {fields[0].shape[2]}) (the fields' n_in), got {tuple(x.shape)}"
        )
    if noise is not None:
        shapes = [(f.shape[0], x.shape[0], f.shape[1]) for f in fields]
        noise = _check_noise_list(noise, shapes)
    return _meanfield_logits(fields, x, noise, _check_generator(generator))


def _check_noise_list(noise, shapes, name="noise"):
    """Per-layer noise: a list of finite tensors of the given shapes (dtypes kept)."""
    if isinstance(noise, (torch.Tensor, np.ndarray, str, bytes)) or not isinstance(noise, Sequence):
        raise ValueError(f"{name} must be a list of {len(shapes)} arrays (one per layer)")
    if len(noise) != len(shapes):
        raise ValueError(
            f"{name} must be a list of {len(shapes)} arrays (one per layer), got {len(noise)}"
        )
    out = [_check_tensor(f"{name}[{k}]", n, 3) for k, n in enumerate(noise)]
    for k, (n, shape) in enumerate(zip(out, shapes, strict=True)):
        if tuple(n.shape) != tuple(shape):
            raise ValueError(f"{name}[{k}] must have shape {tuple(shape)}, got {tuple(n.shape)}")
    return out


def _meanfield_logits(fields, x, noise, generator):
    """:func:`meanfield_logits` without the checks (the trainer's inner loop)."""
    a = None
    for layer, theta in enumerate(fields):
        m = torch.tanh(0.5 * theta)
        var_w = 1.0 - m * m
        if layer == 0:
            mu = _first_layer(x, m)
            var = _first_layer(x * x, var_w)
        else:
            mu = torch.bmm(a, m.transpose(1, 2))
            var = torch.bmm(a * a, var_w.transpose(1, 2))
        if noise is None:
            eps = torch.randn(mu.shape, generator=generator, device=mu.device, dtype=mu.dtype)
        else:
            eps = noise[layer]
        z = mu + torch.sqrt(var + 1e-12) * eps
        last = layer == len(fields) - 1
        a = z if last else _activation(z, theta.shape[2])
    return a


def _real_logits(weights, x):
    a = None
    for layer, w in enumerate(weights):
        z = _first_layer(x, w) if layer == 0 else torch.bmm(a, w.transpose(1, 2))
        a = z if layer == len(weights) - 1 else _activation(z, w.shape[2])
    return a


def _binary_correct(weights, x, labels, tile):
    """Number of correctly classified examples for each of K networks (torch, any device).

    ``weights`` are float tensors ``(K, out, in)`` per layer (±1 for binary networks).
    The activation's 1/√fan-in is dropped (the leaky ReLU is positively homogeneous, so
    the argmax does not change), and the examples are processed in tiles of ``tile`` so
    that the ``(K, tile, width)`` activations stay in cache. An example counts as correct
    when its label's logit is the first maximum, as for ``argmax``.
    """
    k = weights[0].shape[0]
    first = weights[0].reshape(-1, weights[0].shape[2]).T.contiguous()  # (n_in, K·out)
    rest = [w.transpose(1, 2).contiguous() for w in weights[1:]]
    correct = torch.zeros(k, dtype=torch.int64, device=x.device)
    classes = torch.arange(weights[-1].shape[1], device=x.device)
    for start in range(0, x.shape[0], tile):
        z = (x[start : start + tile] @ first).reshape(-1, k, weights[0].shape[1]).transpose(0, 1)
        for w in rest:
            z = torch.bmm(torch.nn.functional.leaky_relu(z, LEAKY_SLOPE), w)
        label = labels[start : start + tile]
        target = z.gather(2, label[None, :, None].expand(k, -1, 1))
        # a class beats the label if larger, or equal with a smaller index
        beats = (z > target) | ((z == target) & (classes < label[:, None]))
        correct += (~beats.any(dim=2)).sum(dim=1)
    return correct


def configuration_accuracy(configs, widths, x, labels, chunk=32, tile=2000, device=None):
    """Test accuracy of each binary configuration (deterministic forward pass).

    On the CPU the numba kernel :func:`deepspin.binary_nets.evaluate.count_correct`
    scores the configurations; on other devices a batched torch forward pass does.

    Parameters
    ----------
    configs : array or tensor ``(K, n_weights)`` of ±1
        Configurations in the flat layout (:func:`layer_slices`).
    widths : sequence of int
        ``(n_in, hidden..., n_out)``, each in [1, 100000].
    x : array or tensor ``(T, n_in)`` of finite reals, T ≥ 1
    labels : array or tensor ``(T,)`` of int, in ``[0, n_out)``
    chunk, tile : int, ≥ 1
        Torch path: configurations and examples evaluated at once (32 × 2000 keeps the
        activations in cache).
    device : {"cpu", "cuda", "auto"} or torch.device, optional
        Default: the device of ``configs`` (CPU for arrays).

    Returns
    -------
    ndarray of float64, shape (K,)
    """
    widths = check_widths(widths)
    chunk = check_int("chunk", chunk, 1)
    tile = check_int("tile", tile, 1)
    if device is None:
        device = configs.device if isinstance(configs, torch.Tensor) else torch.device("cpu")
    device = check_device("device", device)
    configs, x, labels = (a.cpu().numpy() if isinstance(a, torch.Tensor) else a
                          for a in (configs, x, labels))  # fmt: skip
    if device.type == "cpu":
        correct, _ = count_correct(configs, widths, x, labels)
        return correct / np.asarray(labels).shape[0]
    n_w = n_weights(widths)
    configs = check_configs("configs", configs, ndim=2)
    if configs.shape[1] != n_w:
        raise ValueError(
            f"configs must have shape (K, {n_w}) for widths {widths}, got {configs.shape}"
        )
    x, labels = check_images(x, labels, widths[0], widths[-1])
    return _torch_accuracy(configs, widths, x, labels, chunk, tile, device)


def _torch_accuracy(configs, widths, x, labels, chunk, tile, device):
    """The torch path of :func:`configuration_accuracy` on validated numpy inputs (any
    device, the CPU included, where the tests compare it with the numba kernel)."""
    x = torch.as_tensor(x, dtype=torch.float32, device=device)
    labels = torch.as_tensor(labels, device=device)
    configs = torch.as_tensor(configs, device=device)
    out = np.empty(configs.shape[0])
    with torch.no_grad():
        for start in range(0, configs.shape[0], chunk):
            block = configs[start : start + chunk].to(torch.float32)
            correct = _binary_correct(unflatten_weights(block, widths), x, labels, tile)
            out[start : start + block.shape[0]] = correct.cpu().numpy() / x.shape[0]
    return out


def sample_configurations(fields, n_per_network=1, generator=None):
    """Draw binary configurations ``w ~ Π Bernoulli(sigmoid θ)`` from an ensemble's fields.

    Parameters
    ----------
    fields : list of tensors ``(E, out, in)``
        Fields θ of each layer (floating point, finite, chaining).
    n_per_network : int, ≥ 1
    generator : torch.Generator, optional

    Returns
    -------
    int8 tensor ``(E · n_per_network, n_weights)``
        In the flat layout, network-major (the draws of network 0 first).
    """
    fields = check_fields(fields)
    n_per_network = check_int("n_per_network", n_per_network, 1)
    generator = _check_generator(generator)
    flat = flatten_weights([f.detach() for f in fields])  # (E, n)
    p = torch.sigmoid(flat).repeat_interleave(n_per_network, dim=0)
    u = torch.rand(p.shape, generator=generator, device=p.device, dtype=p.dtype)
    return torch.where(u < p, 1, -1).to(torch.int8)


@dataclass
class TrainResult:
    """Trained fields and the learning curves of an ensemble.

    Attributes
    ----------
    fields : list of tensors ``(E, out, in)``
        Final θ.
    initial_fields : list of tensors
        θ at initialisation.
    epochs : ndarray ``(n_eval,)``
        Epochs at which the test accuracy was measured (0 = before training).
    test_accuracy : ndarray ``(n_eval, E)``
        Mean test accuracy of ``eval_draws`` binary configurations drawn from each network.
    train_loss : ndarray ``(n_epochs, E)``
        Mean mean-field training loss per epoch (without the L2 term).
    widths : tuple
    info : dict
        The training parameters.
    """

    fields: list
    initial_fields: list
    epochs: np.ndarray
    test_accuracy: np.ndarray
    train_loss: np.ndarray
    widths: tuple
    info: dict = field(default_factory=dict)


def _sampled_accuracy(fields, widths, x, y, draws, generator):
    configs = sample_configurations(fields, draws, generator)
    acc = configuration_accuracy(configs, widths, x, y, device=configs.device)
    return acc.reshape(-1, draws).mean(axis=1)


def train_ensemble(
    widths,
    x_train,
    y_train,
    x_test,
    y_test,
    n_networks=16,
    epochs=10,
    batch_size=200,
    batches_per_epoch=None,
    lr=0.3,
    l2=1e-5,
    init_scale=0.1,
    eval_every=1,
    eval_draws=4,
    seed=None,
    device="cpu",
    initial_fields=None,
    noise_fn=None,
    weights="binary",
    progress=False,
    backend=None,
):
    """Train an ensemble of binary-weight MLPs with the LR-net mean-field objective.

    Each step draws one minibatch of ``batch_size`` training examples, shared by all
    networks (without replacement within an epoch; an epoch is ``batches_per_epoch``
    batches, by default one pass over the training set), and takes one Adam step on
    ``Σ_networks [mean cross-entropy + (l2/2)|θ|²]``.

    Parameters
    ----------
    widths : sequence of int
        ``(n_in, hidden..., n_out)``, e.g. (20, 15, 15, 10), each in [1, 100000].
    x_train, y_train, x_test, y_test : arrays
        Inputs ``(n, n_in)`` of finite reals (n ≥ 1) and integer labels in ``[0, n_out)``,
        one per input.
    n_networks : int, ≥ 1
        Ensemble size E.
    epochs : int, ≥ 0
    batch_size : int, in [1, n_train]
    batches_per_epoch : int ≥ 1, optional
        Default ``ceil(n_train / batch_size)``.
    lr : float, in (0, 100]
        Adam learning rate (β = (0.9, 0.999), ε = 1e-8).
    l2 : float, ≥ 0
        L2 strength γ on θ.
    init_scale : float, ≥ 0
        Standard deviation of the initial θ.
    eval_every : int, ≥ 0
        Epochs between test-accuracy evaluations (0 disables them).
    eval_draws : int, ≥ 1
        Binary draws per network for each evaluation.
    seed : None, int ≥ 0 or numpy Generator
    device : {"cpu", "cuda", "auto"} or torch.device
    initial_fields : list of tensors ``(E, out, in)``, optional
        Start from these fields instead of a random initialisation.
    noise_fn : callable, optional
        ``noise_fn(step, shapes) -> list of tensors``: the noise of each layer at a step,
        finite, of the given shapes (for reproducing runs exactly; default: drawn from the
        seeded generator).
    weights : {"binary", "real"}
        ``"real"`` trains ordinary real-valued weights (the fields are the weights, the
        forward pass is deterministic, no noise) with the same architecture, activation
        and optimiser: the context for the binary networks' accuracies.
    progress : bool
        Show a progress bar over epochs.
    backend : {None, "numba", "torch"}
        ``"numba"``: the fused CPU kernel (:mod:`deepspin.binary_nets.fused`), binary
        weights only; ``"torch"``: autograd and ``torch.optim.Adam``. Default: numba for
        binary weights on the CPU, torch otherwise. Both compute the same steps (to
        float rounding) given the same ``noise_fn``; without it, each draws its noise
        from its own generator, seeded from ``seed``.

    Returns
    -------
    TrainResult
    """
    widths = check_widths(widths)
    n_networks = check_int("n_networks", n_networks, 1)
    epochs = check_int("epochs", epochs, 0)
    lr = check_real("lr", lr, 0.0, 100.0, low_open=True)
    l2 = check_real("l2", l2, 0.0)
    init_scale = check_real("init_scale", init_scale, 0.0)
    eval_every = check_int("eval_every", eval_every, 0)
    eval_draws = check_int("eval_draws", eval_draws, 1)
    weights = check_choice("weights", weights, ("binary", "real"))
    progress = check_bool("progress", progress)
    backend = _check_backend(backend, device, weights)
    device = check_device("device", device)
    rng = as_generator(seed)
    if noise_fn is not None and not callable(noise_fn):
        raise ValueError(f"noise_fn must be None or a callable, got {noise_fn!r:.80}")
    x_train, y_train = check_images(x_train, y_train, widths[0], widths[-1], "x_train",
                                    "y_train")  # fmt: skip
    x_test, y_test = check_images(x_test, y_test, widths[0], widths[-1], "x_test", "y_test")
    n_train = x_train.shape[0]
    batch_size = check_int("batch_size", batch_size, 1, n_train)
    if batches_per_epoch is None:
        batches_per_epoch = math.ceil(n_train / batch_size)
    batches_per_epoch = check_int("batches_per_epoch", batches_per_epoch, 1)
    if initial_fields is not None:
        initial_fields = check_fields(initial_fields, "initial_fields", widths, n_networks)
    x_train = torch.as_tensor(x_train, dtype=torch.float32, device=device)
    y_train = torch.as_tensor(y_train, device=device)
    x_test = torch.as_tensor(x_test, dtype=torch.float32, device=device)
    y_test = torch.as_tensor(y_test, device=device)

    if initial_fields is None:
        initial_fields = init_fields(widths, n_networks, init_scale, rng, device)
    initial = [f.detach().clone().to(device) for f in initial_fields]
    noise_gen = torch_generator(rng, device)
    eval_gen = torch_generator(rng, device)
    minibatches = _minibatches(np.random.default_rng(rng.integers(0, 2**63)), n_train, batch_size)
    shapes = [(n_networks, batch_size, w) for w in widths[1:]]
    if backend == "torch":
        trainer = _TorchTrainer(initial, x_train, y_train, lr, l2, weights, noise_gen)
    else:
        # the numba kernel's own generator, keyed by the seed torch's would have used
        trainer = _FusedTrainer(initial, x_train, y_train, lr, l2, noise_gen.initial_seed())

    eval_epochs, accuracy, losses = [], [], []

    def evaluate(epoch):
        if eval_every and (epoch % eval_every == 0 or epoch == epochs):
            eval_epochs.append(epoch)
            fields = trainer.fields()
            if weights == "binary":
                acc = _sampled_accuracy(fields, widths, x_test, y_test, eval_draws, eval_gen)
            else:
                with torch.no_grad():
                    acc = _binary_correct(fields, x_test, y_test, 2000).cpu().numpy()
                acc = acc / x_test.shape[0]
            accuracy.append(acc)

    evaluate(0)
    step = 0
    for epoch in tqdm(range(1, epochs + 1), desc="train", disable=not progress):
        batches = np.stack([next(minibatches) for _ in range(batches_per_epoch)])
        noise = None
        if noise_fn is not None:
            # a generator: an epoch of noise for many networks would not fit in memory
            noise = (_check_noise_list(noise_fn(step + k, shapes), shapes, "noise_fn's noise")
                     for k in range(batches_per_epoch))  # fmt: skip
        losses.append(trainer.epoch(batches, noise).mean(axis=0))
        step += batches_per_epoch
        evaluate(epoch)

    info = dict(
        n_networks=n_networks, epochs=epochs, batch_size=batch_size,
        batches_per_epoch=batches_per_epoch, lr=lr, l2=l2, init_scale=init_scale,
        n_train=n_train, eval_draws=eval_draws, device=str(device), weights=weights,
        backend=backend,
    )  # fmt: skip
    return TrainResult(
        fields=trainer.fields(),
        initial_fields=initial,
        epochs=np.array(eval_epochs, dtype=int),
        test_accuracy=np.array(accuracy).reshape(len(eval_epochs), n_networks),
        train_loss=np.array(losses).reshape(epochs, n_networks),
        widths=widths,
        info=info,
    )


def _device_type(device):
    """The kind of device asked for (``"cpu"``, ``"cuda"``, …), before
    :func:`deepspin.checks.check_device` asks whether it is there; ``None`` if unreadable."""
    if isinstance(device, str) and device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    try:
        return torch.device(device).type
    except (RuntimeError, TypeError, ValueError):
        return None


def _check_backend(backend, device, weights):
    backend = check_choice("backend", backend, (None, "numba", "torch"))
    on_cpu = _device_type(device) == "cpu"
    if backend is None:
        return "numba" if on_cpu and weights == "binary" else "torch"
    if backend == "numba" and not on_cpu:
        raise ValueError(f"backend 'numba' runs on the CPU only, got device {device!r}")
    if backend == "numba" and weights != "binary":
        raise ValueError("backend 'numba' trains binary weights only; use backend='torch'")
    return backend


def _minibatches(order_rng, n_train, batch_size):
    """Row indices of successive minibatches: without replacement within a pass over a
    permutation, a fresh permutation once fewer than ``batch_size`` rows are left."""
    perm, cursor = order_rng.permutation(n_train), 0
    while True:
        if cursor + batch_size > n_train:
            perm, cursor = order_rng.permutation(n_train), 0
        yield perm[cursor : cursor + batch_size]
        cursor += batch_size


class _TorchTrainer:
    """Autograd through :func:`meanfield_logits` (or the real-weight network) and
    ``torch.optim.Adam``, one step per minibatch."""

    def __init__(self, initial, x, y, lr, l2, weights, noise_gen):
        self.params = [f.detach().clone().requires_grad_(True) for f in initial]
        self.optimizer = torch.optim.Adam(self.params, lr=lr, betas=(0.9, 0.999), eps=1e-8)
        self.x, self.y, self.l2, self.weights, self.noise_gen = x, y, l2, weights, noise_gen

    def fields(self):
        return [f.detach() for f in self.params]

    def epoch(self, batches, noise):
        """Adam steps on ``batches`` ``(S, B)``, with the noise of each step from the
        iterable ``noise`` (or drawn); returns the mean cross-entropies ``(S, E)``."""
        n_networks = self.params[0].shape[0]
        noise = iter(noise) if noise is not None else None
        out = []
        for rows in batches:
            idx = torch.as_tensor(rows, device=self.x.device)
            if self.weights == "binary":
                eps = None if noise is None else next(noise)
                logits = _meanfield_logits(self.params, self.x[idx], eps, self.noise_gen)
            else:
                logits = _real_logits(self.params, self.x[idx])
            ce = torch.nn.functional.cross_entropy(
                logits.reshape(-1, logits.shape[-1]),
                self.y[idx].repeat(n_networks),
                reduction="none",
            ).reshape(n_networks, len(rows))
            per_network = ce.mean(dim=1)
            penalty = 0.5 * self.l2 * sum((f * f).sum(dim=(1, 2)) for f in self.params)
            self.optimizer.zero_grad(set_to_none=True)
            (per_network + penalty).sum().backward()
            self.optimizer.step()
            out.append(per_network.detach())
        # one transfer per epoch: a copy per step would wait for the device every step
        return torch.stack(out).to(torch.float64).cpu().numpy()


class _FusedTrainer:
    """The fused numba kernel (:mod:`deepspin.binary_nets.fused`): a whole epoch per
    kernel call, or one call per step when the noise is given."""

    def __init__(self, initial, x, y, lr, l2, seed):
        self.state = fused.FusedState.from_fields(initial)
        self.x, self.y = x.cpu().numpy(), y.cpu().numpy()
        self.lr, self.l2, self.seed = lr, l2, seed

    def fields(self):
        return [torch.from_numpy(f) for f in self.state.fields()]

    def epoch(self, batches, noise):
        if noise is None:
            return fused.train_steps(self.state, self.x, self.y, batches, self.lr, self.l2,
                                     self.seed)  # fmt: skip
        return np.array([
            fused.adam_step(self.state, self.x[rows], self.y[rows], self.lr, self.l2,
                            noise=eps)
            for rows, eps in zip(batches, noise, strict=True)
        ])  # fmt: skip
