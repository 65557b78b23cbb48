"""Random test models shared by the Ising tests."""

import numpy as np
import pytest


def random_tree(n, rng, scale=0.8):
    """Couplings of a random tree (each spin i > 0 linked to one earlier spin)."""
    J = np.zeros((n, n))
    for i in range(1, n):
        j = rng.integers(0, i)
        J[i, j] = J[j, i] = rng.normal(0.0, scale)
    return J


@pytest.fixture
def tree():
    return random_tree
