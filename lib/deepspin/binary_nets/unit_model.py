"""The exact pairwise model of one hidden unit's weights (chapters ``zh_ising``, ``zh_landscape``).

In a layer next to a hidden layer, relabelling the hidden units permutes the layer's blocks
of weights: the rows ``w[o, ·]`` of the first layer (a hidden unit's input weights) or the
columns ``w[·, j]`` of the last layer (its output weights). An ensemble invariant under the
relabellings makes these blocks exchangeable, so they are samples of one distribution, "the
weights of a hidden unit". Pooled over the units, its maximum-entropy pairwise model has 20
(first layer) or 10 (last layer) spins and is fitted exactly (:func:`deepspin.ising.fit_exact`).
The layer's model is the product of one copy per unit, eq. (unit-model) of chapter
``zh_ising``: couplings within a unit, none between units.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from deepspin.binary_nets.evaluate import check_configs
from deepspin.binary_nets.lrnet import check_widths, layer_slices
from deepspin.checks import as_generator, check_choice, check_int
from deepspin.ising.exact import MAX_N, enumerate_exact
from deepspin.ising.inverse import fit_exact
from deepspin.ising.model import check_spins
from deepspin.ising.montecarlo import moments
from deepspin.results import SolverResult

__all__ = ["UnitModel", "block_coupling_rms", "fit_unit_model", "hidden_unit_blocks"]


def _layer_shape(widths, layer):
    """The validated layer index and the layer's shape ``(n_out, n_in)``; its hidden units
    index the rows (first layer) or the columns (last layer)."""
    widths = check_widths(widths)
    n_layers = len(widths) - 1
    layer = check_int("layer", layer, 0, n_layers - 1)
    if n_layers < 2:
        raise ValueError(f"widths {widths} have no hidden layer, so no hidden-unit blocks")
    if 0 < layer < n_layers - 1:
        raise ValueError(
            f"layer must be 0 (first) or {n_layers - 1} (last): layer {layer} lies between "
            "two hidden layers and has no blocks of one unit"
        )
    return layer, (widths[layer + 1], widths[layer])


def hidden_unit_blocks(samples, widths, layer, axis=None) -> np.ndarray:
    """The weights of each hidden unit next to ``layer``, one block per unit.

    Parameters
    ----------
    samples : array ``(n_samples, n_weights)`` of ±1
        Flattened configurations (:func:`deepspin.binary_nets.flatten_weights` order).
    widths : sequence of int
        ``(n_in, hidden..., n_out)``, each in [1, 100000], with at least one hidden layer.
    layer : int
        Layer index, in ``[0, len(widths) − 2]``.
    axis : {None, "row", "column"}
        ``"row"``: a block is a row, the input weights of an output unit, which must be
        hidden (``layer`` below the last); ``"column"``: a column, the output weights of an
        input unit, which must be hidden (``layer`` above the first). ``None``: rows of the
        first layer, columns of the last; an interior layer (both) needs ``axis``.

    Returns
    -------
    array ``(n_samples, n_units, block_size)``
    """
    widths = check_widths(widths)
    n_layers = len(widths) - 1
    layer = check_int("layer", layer, 0, n_layers - 1)
    check_choice("axis", axis, (None, "row", "column"))
    if axis is None:
        _layer_shape(widths, layer)  # first or last layer of a network with hidden layers
        axis = "row" if layer == 0 else "column"
    if axis == "row" and layer == n_layers - 1:
        raise ValueError(f"axis 'row' needs hidden output units: layer {layer} is the last")
    if axis == "column" and layer == 0:
        raise ValueError("axis 'column' needs hidden input units: layer 0 is the first")
    slices = layer_slices(widths)
    samples = check_configs("samples", samples, ndim=2)
    if samples.shape[1] != slices[-1].stop:
        raise ValueError(
            f"samples must have shape (n_samples, {slices[-1].stop}), got {samples.shape}"
        )
    shape = (widths[layer + 1], widths[layer])
    weights = samples[:, slices[layer]].reshape(samples.shape[0], *shape)
    return weights if axis == "row" else np.swapaxes(weights, 1, 2)


def block_coupling_rms(blocks, size, n_subsets=4, seed=None) -> np.ndarray:
    """RMS coupling of the exact pooled model of ``size`` weights of one hidden unit.

    The like-with-like version of the comparison of interior and boundary couplings of
    Zou & Huang 2021 (chapter ``zh_ising``): for a fixed structure of correlations the
    couplings of a fitted pairwise model depend on the number of spins and on which pairs
    it couples, so every part is modelled the same way, eq. (unit-model): ``size`` positions
    of a unit's block, pooled over the units, fitted exactly (:func:`deepspin.ising.fit_exact`).

    Parameters
    ----------
    blocks : array ``(n_samples, n_units, block_size)`` of ±1, not empty
        From :func:`hidden_unit_blocks`.
    size : int in [2, min(block_size, 24)]
        Spins of the model (exact enumeration: at most 24).
    n_subsets : int ≥ 1
        Random subsets of ``size`` positions, each fitted separately.
    seed : None, int ≥ 0 or numpy Generator

    Returns
    -------
    array ``(n_subsets,)``
        ``sqrt(mean_{i<j} J_ij²)`` of each subset's model.
    """
    blocks = check_configs("blocks", blocks, ndim=3)
    if blocks.size == 0:
        raise ValueError(
            f"blocks must be a non-empty (n_samples, n_units, size) array, got {blocks.shape}"
        )
    block_size = blocks.shape[2]
    size = check_int("size", size, 2, min(block_size, MAX_N))
    n_subsets = check_int("n_subsets", n_subsets, 1)
    rng = as_generator(seed)
    pooled = blocks.reshape(-1, block_size)
    upper = np.triu_indices(size, 1)
    out = np.empty(n_subsets)
    for k in range(n_subsets):
        subset = np.sort(rng.choice(block_size, size, replace=False))
        _, J = fit_exact(*moments(pooled[:, subset])).value
        out[k] = np.sqrt(np.mean(J[upper] ** 2))
    return out


@dataclass(frozen=True)
class UnitModel:
    """One hidden unit's pairwise model, copied over the units of a layer.

    Attributes
    ----------
    h, J : arrays
        Fields and couplings of one unit's block (``block_size`` spins).
    layer, n_units : int
    shape : tuple
        The layer's weight matrix shape ``(n_out, n_in)``.
    fit : SolverResult
        The exact fit (``converged``, ``iterations``, ``residual``: RMSE on the pooled
        moments).
    """

    h: np.ndarray
    J: np.ndarray
    layer: int
    n_units: int
    shape: tuple
    fit: SolverResult

    @property
    def block_size(self) -> int:
        return self.h.size

    def _to_layer(self, block_values):
        """Layer order of per-(unit, position) values given as ``(n_units, block_size)``."""
        return (block_values if self.layer == 0 else block_values.T).reshape(-1)

    @property
    def units(self) -> np.ndarray:
        """The hidden unit of each weight of the layer (layer order)."""
        return self._to_layer(np.repeat(np.arange(self.n_units), self.block_size).reshape(
            self.n_units, self.block_size))  # fmt: skip

    def moments(self) -> tuple[np.ndarray, np.ndarray]:
        """The model's ``m`` and raw ``C`` over the whole layer (layer order): the unit's
        exact moments within a block, ``m_i m_j`` between blocks (independent units)."""
        exact = enumerate_exact(self.h, self.J)
        position = self._to_layer(np.tile(np.arange(self.block_size), (self.n_units, 1)))
        m = exact.m[position]
        C = np.outer(m, m)
        units = self.units
        same = units[:, None] == units[None, :]
        C[same] = exact.C[np.ix_(position, position)][same]
        np.fill_diagonal(C, 1.0)
        return m, C

    def blocks(self, reference) -> list:
        """``(h, J, reference block)`` per unit, for
        :func:`deepspin.ising.block_entropy_landscape`; ``reference`` is a configuration
        of the layer (layer order, ±1)."""
        reference = check_spins(reference, self.n_units * self.block_size, "reference")
        per_unit = reference.reshape(self.shape)
        if self.layer != 0:
            per_unit = per_unit.T
        return [(self.h, self.J, per_unit[u]) for u in range(self.n_units)]


def fit_unit_model(samples, widths, layer, **fit_options) -> UnitModel:
    """Fit the pooled pairwise model of one hidden unit's weights, eq. (unit-model).

    The moments are averaged over the samples and over the units (the units are
    exchangeable under the relabelling symmetry), then fitted exactly by
    :func:`deepspin.ising.fit_exact` (``fit_options`` are passed on: ``l2``, ``tol``,
    ``max_iter``…).

    Parameters
    ----------
    samples : array ``(n_samples, n_weights)`` of ±1, n_samples ≥ 1
        Flattened configurations (:func:`deepspin.binary_nets.flatten_weights` order).
    widths : sequence of int
        ``(n_in, hidden..., n_out)``, each in [1, 100000], with at least one hidden layer;
        the block (``widths[0]`` or ``widths[-1]`` spins) is fitted exactly, so at most 24.
    layer : int
        0 (the first layer: blocks are rows) or ``len(widths) − 2`` (the last: columns).

    Returns
    -------
    UnitModel
        Its ``fit`` is the :class:`~deepspin.results.SolverResult` of ``fit_exact``:
        ``converged`` is ``residual <= tol``, and a fit that stops unconverged (e.g. at
        ``max_iter``) warns with a ``RuntimeWarning``.
    """
    blocks = hidden_unit_blocks(samples, widths, layer)
    n_units, size = blocks.shape[1:]
    if blocks.shape[0] == 0:
        raise ValueError("samples must hold at least one configuration, got 0 rows")
    if size > MAX_N:
        raise ValueError(
            f"widths {tuple(widths)} give blocks of {size} weights at layer {layer}; an exact "
            f"fit enumerates 2^{size} states, at most 2^{MAX_N}"
        )
    fit = fit_exact(*moments(blocks.reshape(-1, size)), **fit_options)
    layer, shape = _layer_shape(widths, layer)
    return UnitModel(*fit.value, layer, n_units, shape, fit)
