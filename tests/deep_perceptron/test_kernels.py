import numpy as np
import pytest
from scipy import integrate

from deepspin import deep_perceptron as dp
from deepspin.deep_perceptron import kernels as k
from deepspin.gauss import G, G_over_H, H, log_H


def _quad(f, center=0.0):
    return integrate.quad(lambda y: G(y) * f(y), -40, 40, points=[center], limit=400)[0]


@pytest.mark.parametrize("qhat", [0.01, 0.5, 3.0, 50.0])
def test_spin_functions_against_quadrature(qhat):
    a = np.sqrt(qhat)
    assert k.spin_overlap(qhat) == pytest.approx(_quad(lambda y: np.tanh(a * y) ** 2), abs=1e-12)
    assert k.spin_overlap(qhat, "teacher") == pytest.approx(
        _quad(lambda y: np.tanh(a * y + qhat), -a), abs=1e-12
    )
    assert k.spin_term(qhat) == pytest.approx(
        _quad(lambda y: np.logaddexp(a * y, -a * y)), abs=1e-12
    )
    assert k.spin_term(qhat, "teacher") == pytest.approx(
        _quad(lambda y: np.logaddexp(a * y + qhat, -a * y - qhat), -a), abs=1e-11
    )


@pytest.mark.parametrize("delta", [0.0, 0.3, 0.9, 0.9999])
def test_teacher_gap_and_force_against_quadrature(delta):
    x = np.sqrt(delta / (1 - delta))
    if delta == 0.0:
        gap, f = np.log(0.5), G(0) ** 2 / 0.5
    else:
        gap = integrate.quad(lambda w: G(w / x) / x * 2 * H(w) * log_H(w), -40, 40)[0]
        f = integrate.quad(lambda w: G(w / x) / x * G(w) * G_over_H(w), -40, 40)[0]
    assert k.gap_term(delta, "teacher") == pytest.approx(gap, abs=1e-12)
    assert k.force(delta, "teacher") == pytest.approx(2 * f / (1 - delta), rel=1e-11)


@pytest.mark.parametrize("scenario", ["random", "teacher"])
def test_force_is_derivative_of_gap(scenario):
    delta = np.array([0.05, 0.4, 0.8, 0.97])
    eps = 1e-6
    slope = (k.gap_term(delta + eps, scenario) - k.gap_term(delta - eps, scenario)) / (2 * eps)
    sign = -2.0 if scenario == "random" else 2.0
    np.testing.assert_allclose(k.force(delta, scenario), sign * slope, rtol=1e-6)
    assert k.force(0.0, scenario) == pytest.approx(2 / np.pi)


@pytest.mark.parametrize("scenario", ["random", "teacher"])
def test_bond_equation(scenario):
    y = np.array([1e-8, 0.3, 10.0, 1e6])
    Q = k.bond_from_field(y, scenario)
    power = 2 if scenario == "random" else 1
    np.testing.assert_allclose(Q / (1 - Q) ** power, y, rtol=1e-9)


def test_unknown_scenario():
    with pytest.raises(ValueError, match="scenario"):
        k.force(0.1, "planted")


@pytest.mark.parametrize(
    "call, name",
    [
        (lambda: dp.bond_term(1.0), "Q"),
        (lambda: dp.bond_term([0.2, np.nan]), "Q"),
        (lambda: dp.force(-0.1), "delta"),
        (lambda: dp.gap_term(1.0, "teacher"), "delta"),
        (lambda: dp.spin_overlap(-1.0), "qhat"),
        (lambda: dp.bond_from_field(-2.0), "y"),
        (lambda: dp.node_force(1.0, 2.0), "C"),
        (lambda: dp.node_overlap(np.inf, 0.5), "qhat"),
        (lambda: dp.forward_overlaps([2.0]), "Q"),
        (lambda: dp.forward_overlaps([0.5], q0=3.0), "q0"),
        (lambda: dp.free_entropy(-1.0, [1, 0.5, 1], [0.5, 0.5], [0, 0.3, 0]), "alpha"),
        (lambda: dp.free_entropy(1.0, [1, 0.5, 1], [0.5], [0, 0.3, 0]), "lengths"),
        (lambda: dp.saddle_map(10.0, [1, 1.5, 1], [0.5, 0.5]), "q"),
        (lambda: dp.node_saddle_map(10.0, [1, 0.5, 1], [0.5, 1.0], [0, 0.1, 0]), "Q"),
    ],
)
def test_bad_input_is_refused_with_the_parameter_named(call, name):
    # formerly NaN or a plausible number (issue 19)
    with pytest.raises(ValueError, match=name):
        call()
