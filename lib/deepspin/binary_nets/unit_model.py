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

from deepspin.binary_nets.lrnet import check_widths, layer_slices
from deepspin.checks import check_int
from deepspin.ising.exact import enumerate_exact
from deepspin.ising.inverse import fit_exact
from deepspin.ising.model import check_spins
from deepspin.ising.montecarlo import moments
from deepspin.results import SolverResult

__all__ = ["UnitModel", "fit_unit_model", "hidden_unit_blocks"]


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


def hidden_unit_blocks(samples, widths, layer) -> np.ndarray:
    """The weights of each hidden unit next to ``layer``, one block per unit.

    Parameters
    ----------
    samples : array ``(n_samples, n_weights)`` of ±1
        Flattened configurations (:func:`deepspin.binary_nets.flatten_weights` order).
    widths : sequence of int
        With at least one hidden layer.
    layer : int
        0 (the first layer: blocks are rows, a unit's input weights) or the last layer
        (blocks are columns, a unit's output weights).

    Returns
    -------
    array ``(n_samples, n_units, block_size)``
    """
    layer, shape = _layer_shape(widths, layer)
    slices = layer_slices(widths)
    samples = np.asarray(samples)
    if samples.ndim != 2 or samples.shape[1] != slices[-1].stop:
        raise ValueError(
            f"samples must have shape (n_samples, {slices[-1].stop}), got {samples.shape}"
        )
    weights = samples[:, slices[layer]].reshape(samples.shape[0], *shape)
    return weights if layer == 0 else np.swapaxes(weights, 1, 2)


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
    :func:`deepspin.ising.fit_exact` (``fit_options`` are passed on).
    """
    blocks = hidden_unit_blocks(samples, widths, layer)
    n_units, size = blocks.shape[1:]
    fit = fit_exact(*moments(blocks.reshape(-1, size)), **fit_options)
    layer, shape = _layer_shape(widths, layer)
    return UnitModel(*fit.value, layer, n_units, shape, fit)
