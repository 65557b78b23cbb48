"""Winer & Hanin: random MLPs as Hamiltonians over their inputs (chapters ``wh_*``)."""

from deepspin.hamiltonians.covariance import (
    ACTIVATIONS,
    Mixture,
    NetworkCovariance,
    covariance,
    mixture,
    pure_pspin,
    sample_kernel,
)

__all__ = [
    "ACTIVATIONS",
    "Mixture",
    "NetworkCovariance",
    "covariance",
    "mixture",
    "pure_pspin",
    "sample_kernel",
]
