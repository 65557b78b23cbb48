"""Pairwise Ising toolkit: the model, exact enumeration, belief propagation, inverse
Ising, Monte Carlo, the entropy landscape (chapters ``zh_ising`` and ``zh_landscape``)."""

from deepspin.ising.bp import BetheState, belief_propagation
from deepspin.ising.exact import ExactResult, all_energies, enumerate_exact, sample_exact
from deepspin.ising.inverse import (
    bethe_inversion,
    bp_bias,
    fit_boltzmann,
    fit_exact,
    fit_pseudolikelihood,
    mean_field_inversion,
    rmse,
)
from deepspin.ising.landscape import (
    CorrelationSignal,
    Landscape,
    TiltedSamples,
    block_entropy_landscape,
    bp_uniqueness_radius,
    correlation_signal,
    entropy_landscape,
    entropy_upper_bound,
    hysteresis_width,
    iso_energy_landscape,
    landscape_gap,
    tilted_monte_carlo,
)
from deepspin.ising.model import IsingModel, check_model, check_spins
from deepspin.ising.montecarlo import (
    EntropyEstimate,
    MonteCarloResult,
    check_samples,
    connected_third_moments,
    metropolis,
    moments,
    thermodynamic_entropy,
    third_moments,
)

__all__ = [
    "BetheState",
    "CorrelationSignal",
    "EntropyEstimate",
    "ExactResult",
    "IsingModel",
    "Landscape",
    "MonteCarloResult",
    "TiltedSamples",
    "all_energies",
    "belief_propagation",
    "bethe_inversion",
    "block_entropy_landscape",
    "bp_bias",
    "bp_uniqueness_radius",
    "check_model",
    "check_samples",
    "check_spins",
    "connected_third_moments",
    "correlation_signal",
    "entropy_landscape",
    "entropy_upper_bound",
    "enumerate_exact",
    "fit_boltzmann",
    "fit_exact",
    "fit_pseudolikelihood",
    "hysteresis_width",
    "iso_energy_landscape",
    "landscape_gap",
    "mean_field_inversion",
    "metropolis",
    "moments",
    "rmse",
    "sample_exact",
    "thermodynamic_entropy",
    "third_moments",
    "tilted_monte_carlo",
]
