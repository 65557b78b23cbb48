"""Yoshino's deep perceptron network: replica theory of its design space (``yoshino_rs``)."""

from deepspin.deep_perceptron.exact_node import (
    node_force,
    node_free_entropy,
    node_growth_rates,
    node_overlap,
    node_saddle_map,
    node_term,
)
from deepspin.deep_perceptron.forward import forward_overlaps, simulate_forward_overlaps
from deepspin.deep_perceptron.kernels import (
    SCENARIOS,
    bond_from_field,
    bond_term,
    force,
    gap_term,
    spin_overlap,
    spin_term,
)
from deepspin.deep_perceptron.rs import (
    CLOSURES,
    RSProfile,
    free_entropy,
    free_entropy_gradient,
    generalisation_error,
    growth_rates,
    onsets,
    phase_diagram,
    saddle_map,
    solve_rs,
)

__all__ = [
    "CLOSURES",
    "SCENARIOS",
    "RSProfile",
    "bond_from_field",
    "bond_term",
    "force",
    "forward_overlaps",
    "free_entropy",
    "free_entropy_gradient",
    "gap_term",
    "generalisation_error",
    "growth_rates",
    "node_force",
    "node_free_entropy",
    "node_growth_rates",
    "node_overlap",
    "node_saddle_map",
    "node_term",
    "onsets",
    "phase_diagram",
    "saddle_map",
    "simulate_forward_overlaps",
    "solve_rs",
    "spin_overlap",
    "spin_term",
]
