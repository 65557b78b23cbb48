"""Tests of deepspin.sk: the SK model's Parisi numbers through the cascade."""

import numpy as np
import pytest
from numpy.testing import assert_allclose

from deepspin import sk
from deepspin.gauss import split_gauss_nodes

E_INFINITY = -0.7631667  # k → ∞ (Crisanti & Rizzo 2002; Oppermann & Schmidt 2005)
E_1RSB = -0.7652  # Parisi (1979), four figures


def test_rs_ground_state_is_minus_sqrt_two_over_pi():
    assert_allclose(sk.sk_ground_state(0).value, -np.sqrt(2 / np.pi), rtol=1e-12)


@pytest.mark.slow
def test_ground_state_energies_approach_the_parisi_value():
    energies = [sk.sk_ground_state(k).value for k in (1, 2, 3)]
    assert_allclose(energies[0], E_1RSB, atol=1e-4)
    # each step lowers min P₀, so E₀ = −min P₀ rises towards the k → ∞ value
    assert energies[0] < energies[1] < energies[2] < E_INFINITY
    assert abs(energies[2] - E_INFINITY) < 3e-4
    # the gaps shrink fast (Crisanti–Rizzo: roughly as k⁻⁴)
    assert (energies[1] - energies[0]) > 4 * (energies[2] - energies[1])


def test_one_step_free_entropy_at_half_temperature():
    beta = 2.0
    one = sk.sk_solve(beta, 1)
    q, m = one.info["q"], one.info["m"]
    assert q[0] < 1e-6  # zero field: the outer level sits at 0
    # an independent evaluation of P at the solution: nested split quadrature, no grid
    z, w = split_gauss_nodes(0.0, 300, 12.0)
    s1 = beta * np.sqrt(q[1])
    inner = np.log(np.sum(w * np.exp(m[0] * np.logaddexp(s1 * z, -s1 * z)))) / m[0]
    energy = 0.25 * beta**2 * (1 - 2 * q[1] + (1 - m[0]) * q[1] ** 2 + m[0] * q[0] ** 2)
    assert_allclose(one.value, energy + inner, rtol=1e-8)
    # RS at the same β is above it, and two steps below (Guerra's bound: Φ = inf P)
    rs = sk.sk_parisi(beta, [q[1]], [])
    two = sk.sk_solve(beta, 2)
    assert two.value < one.value < rs


def test_bad_input():
    with pytest.raises(ValueError, match="beta"):
        sk.sk_solve(0.5, 1)
    with pytest.raises(ValueError, match="k"):
        sk.sk_ground_state(-1)
    with pytest.raises(ValueError, match="m"):
        sk.sk_parisi(2.0, [0.1, 0.5], [1.2])
    with pytest.raises(ValueError, match="mu"):
        sk.sk_ground_functional([0.3], [0.0])
