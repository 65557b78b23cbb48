"""Pairwise Ising toolkit: the model, exact enumeration, belief propagation, inverse
Ising, Monte Carlo, the entropy landscape (chapters ``zh_ising`` and ``zh_landscape``)."""

from deepspin.ising.bp import BetheState, belief_propagation
from deepspin.ising.model import IsingModel, check_model, check_spins

__all__ = ["BetheState", "IsingModel", "belief_propagation", "check_model", "check_spins"]
