"""The hidden-unit relabelling symmetry of an ensemble of independently trained networks.

Relabelling the hidden units of a network (a permutation of each hidden layer) leaves its
function unchanged. Networks trained from independent, identically distributed initial
fields form a distribution invariant under every relabelling, so its magnetisations are
constant on the orbits of the relabellings (chapter ``zh_training``,
eq. (orbit-magnetisations)): in the first layer of a network with hidden layers, one value
per input component (the weights ``w_{·i}``); in the last layer, one per class (``w_{k·}``);
in a layer between two hidden layers, one value for all its weights. A layer with no
hidden unit on either side (a network without hidden layers) has no symmetry.

The same holds for pairs of weights of one layer: their connected correlation can depend
only on which indices they share (the same row, the same column, or neither) and on the
indices that are not hidden units. In the interior both indices are hidden units, so the
correlation of a pair that shares neither vanishes, and a finite mixture shows sampling
noise of standard deviation ``sqrt((1 − m_i²)(1 − m_j²)/E_eff)``.

An ensemble that mixes E networks estimates the orbit values with sampling noise: when each
network contributes a nearly fixed configuration, a weight's magnetisation scatters around
its orbit's value ``m̄`` with standard deviation ``sqrt((1 − m̄²)/E_eff)``, where
``E_eff = 1/Σ_e p_e²`` counts the networks by their shares ``p_e`` of the configurations.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import pairwise

import numpy as np

from deepspin.binary_nets.evaluate import check_configs
from deepspin.binary_nets.lrnet import check_widths, layer_slices, n_weights
from deepspin.checks import as_generator, check_array, check_int, check_int_array, check_real

__all__ = [
    "OrbitScatter",
    "PairClass",
    "effective_networks",
    "interior_orbit_values",
    "network_distances",
    "orbit_means",
    "orbit_scatter",
    "pair_correlations",
    "relabel_hidden_units",
    "symmetrised_moments",
]


@dataclass(frozen=True)
class OrbitScatter:
    """Magnetisations of one layer against the relabelling symmetry.

    Attributes
    ----------
    kind : str
        ``"input"`` (orbits are the first layer's columns), ``"class"`` (the last layer's
        rows), ``"interior"`` (one orbit) or ``"none"`` (every weight its own orbit).
    between : float
        Standard deviation of the orbit means over the orbits (0 for one orbit).
    within : float
        RMS deviation of the magnetisations from their orbit's mean.
    noise : float
        Predicted sampling scatter within an orbit of ``n`` weights, measured from the
        orbit's own mean: ``sqrt(⟨1 − m̄²⟩ (n − 1)/(n E_eff))`` (0 for ``"none"``).
    """

    kind: str
    between: float
    within: float
    noise: float


def _kinds(widths):
    n_layers = len(widths) - 1
    if n_layers == 1:
        return ["none"]
    return ["input", *["interior"] * (n_layers - 2), "class"]


# Axes of a layer's (out, in) matrix averaged over within an orbit.
_ORBIT_AXES = {"input": (0,), "class": (1,), "interior": (0, 1), "none": ()}


# Moments of ±1 spins lie in [-1, 1]; computed ones (belief propagation, averages) may
# exceed it by rounding.
_ROUNDING = 1e-9


def _check_moment(name, value, shape):
    """Magnetisations or raw second moments: finite reals in [-1, 1] (to ``_ROUNDING``)
    of the given shape."""
    bound = 1.0 + _ROUNDING
    array = check_array(name, value, -bound, bound, ndim=len(shape))
    if array.shape != shape:
        raise ValueError(f"{name} must have shape {shape}, got {array.shape}")
    return array


def _layers(m, widths):
    """Each layer's magnetisations ``(out, in)`` with its kind of orbit."""
    widths = check_widths(widths)
    m = _check_moment("m", m, (n_weights(widths),))
    return [
        (m[s].reshape(n_out, n_in), kind)
        for s, (n_in, n_out), kind in zip(
            layer_slices(widths), pairwise(widths), _kinds(widths), strict=True
        )
    ]


def _orbit_values(layer, kind):
    """The mean of each orbit, with the averaged axes kept (length 1)."""
    return layer.mean(axis=_ORBIT_AXES[kind], keepdims=True)


def orbit_means(m, widths) -> list[np.ndarray]:
    """Each layer's magnetisations replaced by the mean over their orbit, shaped ``(out, in)``.

    Parameters
    ----------
    m : array ``(n_weights,)`` of magnetisations in [-1, 1]
        Flat layout of :func:`layer_slices`.
    widths : sequence of int
        ``(n_in, hidden..., n_out)``, each in [1, 100000].
    """
    return [
        np.array(np.broadcast_to(_orbit_values(layer, kind), layer.shape))
        for layer, kind in _layers(m, widths)
    ]


def effective_networks(networks, n_networks=None) -> float:
    """``E_eff = 1/Σ_e p_e²`` of the network labels of a collection's configurations.

    Parameters
    ----------
    networks : int array ``(K,)``, K ≥ 1
        Network indices, in ``[0, n_networks)`` (non-negative without ``n_networks``).
    n_networks : int ≥ 1, optional
        Networks of the trained ensemble.
    """
    if n_networks is not None:
        n_networks = check_int("n_networks", n_networks, 1)
    high = None if n_networks is None else n_networks - 1
    networks = check_int_array("networks", networks, 0, high, ndim=1, allow_empty=False)
    shares = np.bincount(networks, minlength=n_networks or 0) / networks.size
    return float(1.0 / np.sum(shares**2))


def orbit_scatter(m, widths, e_eff) -> list[OrbitScatter]:
    """Per layer: spread of the orbit means, scatter within the orbits, predicted noise.

    Parameters
    ----------
    m : array ``(n_weights,)``
        Magnetisations of an ensemble, in [-1, 1] (flat layout of :func:`layer_slices`).
    widths : sequence of int
        ``(n_in, hidden..., n_out)``, each in [1, 100000].
    e_eff : float
        Effective number of networks mixed (:func:`effective_networks`), ≥ 1.
    """
    e_eff = check_real("e_eff", e_eff, 1.0)
    rows = []
    for layer, kind in _layers(m, widths):
        orbits = _orbit_values(layer, kind)
        # deviations from the orbit's own mean of n weights keep (n − 1)/n of the variance
        size = layer.size // orbits.size
        noise = 0.0 if kind == "none" else np.mean(1 - orbits**2) / e_eff * (size - 1) / size
        noise = float(np.sqrt(noise))
        within = float(np.sqrt(np.mean((layer - orbits) ** 2)))
        rows.append(OrbitScatter(kind, float(np.std(orbits)), within, noise))
    return rows


@dataclass(frozen=True)
class PairClass:
    """Connected correlations of the pairs of one layer that share ``kind``.

    Attributes
    ----------
    layer : int
        Layer index (0 = first).
    kind : str
        ``"same row"`` (one output unit), ``"same column"`` (one input unit) or ``"neither"``.
    rms, mean : float
        RMS and mean of ``C_ij − m_i m_j`` over the pairs.
    noise : float
        RMS sampling noise of independent pairs, ``sqrt(⟨(1 − m_i²)(1 − m_j²)⟩/E_eff)``.
    """

    layer: int
    kind: str
    rms: float
    mean: float
    noise: float


def pair_correlations(m, C, widths, e_eff) -> list[PairClass]:
    """Connected correlations within each layer, by the indices the pairs share.

    Parameters
    ----------
    m : array ``(n_weights,)``
        Magnetisations, in [-1, 1].
    C : array ``(n_weights, n_weights)``
        Raw second moments ``⟨σ_i σ_j⟩``, in [-1, 1].
    widths : sequence of int
        ``(n_in, hidden..., n_out)``, each in [1, 100000].
    e_eff : float
        Effective number of networks mixed, ≥ 1.
    """
    widths = check_widths(widths)
    n = n_weights(widths)
    m = _check_moment("m", m, (n,))
    C = _check_moment("C", C, (n, n))
    e_eff = check_real("e_eff", e_eff, 1.0)
    out = []
    for layer, (s, (n_in, n_out)) in enumerate(zip(layer_slices(widths), pairwise(widths),
                                                   strict=True)):  # fmt: skip
        mi = m[s]
        connected = C[s, s] - np.outer(mi, mi)
        spread = np.outer(1 - mi**2, 1 - mi**2)
        row, col = np.divmod(np.arange(n_in * n_out), n_in)
        same_row = row[:, None] == row[None, :]
        same_col = col[:, None] == col[None, :]
        kinds = {"same row": same_row & ~same_col, "same column": same_col & ~same_row,
                 "neither": ~same_row & ~same_col}  # fmt: skip
        for kind, mask in kinds.items():
            if not mask.any():
                continue
            values = connected[mask]
            noise = float(np.sqrt(np.mean(spread[mask]) / e_eff))
            out.append(PairClass(layer, kind, float(np.sqrt(np.mean(values**2))),
                                 float(np.mean(values)), noise))  # fmt: skip
    return out


def _pattern(a, b, size, hidden):
    """Code of an index pair on one axis: whether it is equal (hidden units, relabelled) or
    the pair itself (a fixed axis: input components or classes)."""
    return (a == b).astype(np.int64) if hidden else a * size + b


def symmetrised_moments(m, C, widths, layer) -> tuple[np.ndarray, np.ndarray]:
    """A layer's moments averaged over the relabellings of its hidden units.

    The group average keeps what the symmetry allows, eq. (symmetric-moments) of chapter
    ``zh_ising``: ``m`` averaged over each orbit, and ``C_ij`` averaged over the pairs that a
    relabelling can map onto each other, i.e. with the same fixed indices (input components,
    classes) and the same pattern of shared hidden units. In the interior this leaves one
    magnetisation and three correlations (same row, same column, neither). It is what a
    mixture of infinitely many networks would give; a finite mixture adds noise of order
    ``1/sqrt(E_eff)`` around it.

    Parameters
    ----------
    m : array ``(n_out * n_in,)``
    C : array ``(n_out * n_in, n_out * n_in)``
        The layer's magnetisations and raw second moments (layer order, row-major), in
        [-1, 1].
    widths : sequence of int
        ``(n_in, hidden..., n_out)``, each in [1, 100000].
    layer : int
        Layer index, in ``[0, len(widths) − 2]``.

    Returns
    -------
    m, C : arrays of the same shapes
    """
    widths = check_widths(widths)
    n_layers = len(widths) - 1
    layer = check_int("layer", layer, 0, n_layers - 1)
    n_in, n_out, m, C = _layer_moments(m, C, widths, layer)
    n = n_in * n_out
    out_hidden, in_hidden = layer < n_layers - 1, layer > 0
    row, col = np.divmod(np.arange(n), n_in)
    # np.where keeps the key an array of n entries when both axes are hidden
    m_key = np.where(out_hidden, 0, row) * n_in + np.where(in_hidden, 0, col)
    _, m_key = np.unique(m_key, return_inverse=True)
    m_sym = (np.bincount(m_key, m) / np.bincount(m_key))[m_key]
    rows = _pattern(row[:, None], row[None, :], n_out, out_hidden)
    cols = _pattern(col[:, None], col[None, :], n_in, in_hidden)
    key = (rows * n_in * n_in + cols).ravel()
    _, key = np.unique(key, return_inverse=True)
    C_sym = (np.bincount(key, C.ravel()) / np.bincount(key))[key].reshape(n, n)
    return m_sym, C_sym


def _layer_moments(m, C, widths, layer):
    """A layer's (n_in, n_out) and its moments as float arrays, shapes checked."""
    n_in, n_out = widths[layer], widths[layer + 1]
    n = n_in * n_out
    m = _check_moment("m", m, (n,))
    C = _check_moment("C", C, (n, n))
    return n_in, n_out, m, C


def interior_orbit_values(m, C, widths, layer) -> np.ndarray:
    """The four numbers the relabelling symmetry leaves in a layer between two hidden layers.

    Eq. (symmetric-moments) of chapter ``zh_ising``: one magnetisation and the mean connected
    correlation ``C_ij − m_i m_j`` of the pairs in the same row, in the same column and in
    neither. For a model that has the symmetry (e.g. one fitted to
    :func:`symmetrised_moments`) these are its moments; comparing them between two methods
    (belief propagation and Monte Carlo) compares everything the model has.

    Parameters
    ----------
    m : array ``(n_out * n_in,)``
    C : array ``(n_out * n_in, n_out * n_in)``
        The layer's magnetisations and raw second moments (layer order, row-major), in
        [-1, 1].
    widths : sequence of int
        ``(n_in, hidden..., n_out)``, each in [1, 100000].
    layer : int
        An interior layer (``0 < layer < len(widths) − 2``).

    Returns
    -------
    array ``(4,)``
        ``m̄``, same row, same column, neither.
    """
    widths = check_widths(widths)
    layer = check_int("layer", layer, 0, len(widths) - 2)
    if not 0 < layer < len(widths) - 2:
        raise ValueError(
            f"layer must lie between two hidden layers of widths {widths}, got {layer}"
        )
    n_in, n_out, m, C = _layer_moments(m, C, widths, layer)
    n = n_in * n_out
    connected = C - np.outer(m, m)
    row, col = np.divmod(np.arange(n), n_in)
    same_row = row[:, None] == row[None, :]
    same_col = col[:, None] == col[None, :]
    masks = (same_row & ~same_col, same_col & ~same_row, ~same_row & ~same_col)
    return np.array([m.mean(), *(connected[mask].mean() for mask in masks)])


def relabel_hidden_units(configs, widths, seed=None) -> np.ndarray:
    """Each configuration with its hidden units relabelled by its own random permutations.

    A relabelling (rows of ``w^l`` and columns of ``w^{l+1}`` permuted together) leaves the
    function of a network unchanged (chapter ``zh_training``, eq. (orbit-magnetisations)). A
    collection in which every configuration comes from its own training, as in Zou & Huang
    2021 (Sec. II), is invariant under relabelling each configuration separately; this turns
    a collection of few networks into one with that property.

    Parameters
    ----------
    configs : array ``(K, n_weights)`` of finite reals
        Flattened configurations (:func:`deepspin.binary_nets.flatten_weights` order): ±1
        weights, or any other per-weight values (fields).
    widths : sequence of int
        ``(n_in, hidden..., n_out)``, each in [1, 100000].
    seed : None, int ≥ 0 or numpy Generator

    Returns
    -------
    array ``(K, n_weights)``, same dtype
    """
    widths = check_widths(widths)
    check_array("configs", configs, ndim=2)
    configs = np.asarray(configs)
    if configs.shape[1] != n_weights(widths):
        raise ValueError(f"configs must have shape (K, {n_weights(widths)}), got {configs.shape}")
    rng = as_generator(seed)
    k = configs.shape[0]
    shapes = [(n_out, n_in) for n_in, n_out in pairwise(widths)]
    slices = layer_slices(widths)
    layers = [configs[:, s].reshape(k, *shape) for s, shape in zip(slices, shapes, strict=True)]
    for l, width in enumerate(widths[1:-1]):
        perm = np.argsort(rng.random((k, width)), axis=1)
        layers[l] = np.take_along_axis(layers[l], perm[:, :, None], axis=1)
        layers[l + 1] = np.take_along_axis(layers[l + 1], perm[:, None, :], axis=2)
    return np.concatenate([w.reshape(k, -1) for w in layers], axis=1)


def network_distances(configs, networks) -> tuple[float, float]:
    """Mean normalised Hamming distance between configurations of the same network and of
    different networks (chapter ``zh_training``).

    ``d = (1 − q)/2`` with the overlap ``q = σ·σ'/N``, over all pairs of distinct
    configurations. Their ratio says whether a collection is one cloud (ratio near 1) or
    one tight cluster per network (ratio near 0).

    Parameters
    ----------
    configs : array ``(K, N)`` of ±1, 2 ≤ K ≤ 20 000, N ≥ 1
    networks : array ``(K,)`` of int, ≥ 0
        The network each configuration was drawn from.

    Returns
    -------
    within, between : float
    """
    configs = check_configs("configs", configs, ndim=2)
    if not 2 <= configs.shape[0] <= 20_000 or configs.shape[1] < 1:
        raise ValueError(
            f"configs must be a (K, N) array with 2 ≤ K ≤ 20000 and N ≥ 1, got {configs.shape}"
        )
    networks = check_int_array("networks", networks, 0, ndim=1)
    if networks.shape != (configs.shape[0],):
        raise ValueError(
            f"networks must have shape ({configs.shape[0]},), one per row of configs, "
            f"got {networks.shape}"
        )
    x = configs.astype(np.float32)
    d = (1.0 - (x @ x.T) / configs.shape[1]) / 2.0
    same = networks[:, None] == networks[None, :]
    np.fill_diagonal(same, False)
    different = networks[:, None] != networks[None, :]
    if not same.any() or not different.any():
        raise ValueError(
            "networks must hold at least two configurations of one network and two networks"
        )
    return float(d[same].mean()), float(d[different].mean())
