"""Winer & Hanin: random MLPs as Hamiltonians over their inputs (chapters ``wh_*``)."""

from deepspin.hamiltonians.covariance import (
    ACTIVATIONS,
    Mixture,
    NetworkCovariance,
    TabulatedCovariance,
    covariance,
    mixture,
    pure_pspin,
    sample_kernel,
)
from deepspin.hamiltonians.parisi import (
    ANSATZE,
    classify,
    concave_intervals,
    dynamic_temperature,
    entropy_at_energy,
    ground_state_energy,
    parisi,
    replicon,
    rs_zero_temperature_test,
    static_temperature,
    thermodynamics,
)

__all__ = [
    "ACTIVATIONS",
    "ANSATZE",
    "Mixture",
    "NetworkCovariance",
    "TabulatedCovariance",
    "classify",
    "concave_intervals",
    "covariance",
    "dynamic_temperature",
    "entropy_at_energy",
    "ground_state_energy",
    "mixture",
    "parisi",
    "pure_pspin",
    "replicon",
    "rs_zero_temperature_test",
    "sample_kernel",
    "static_temperature",
    "thermodynamics",
]
