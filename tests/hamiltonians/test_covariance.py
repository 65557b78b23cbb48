import numpy as np
import pytest
from scipy import integrate
from scipy.special import erf

from deepspin import hamiltonians as hm

Q = np.linspace(0.05, 0.95, 7)


def test_linear_network_is_a_one_spin_model():
    for depth in (0, 1, 3):
        cov = hm.covariance("linear", depth, weight_var=1.5, bias_var=0.4)
        np.testing.assert_allclose(cov.xi(Q), 1.5 ** (depth + 1) * Q, rtol=1e-14)
        assert np.all(cov.d2xi(Q) == 0)


def test_closed_forms_of_one_hidden_layer():
    sin = hm.covariance("sin", 1)
    assert sin.xi(1.0) == pytest.approx(np.exp(-1) * np.sinh(1), rel=1e-14)
    assert sin.dxi(1.0) == pytest.approx(np.exp(-1) * np.cosh(1), rel=1e-14)
    # reference note §7 [C]: tanh, one hidden layer, C_W = 1
    tanh = hm.covariance("tanh", 1)
    assert tanh.xi(1.0) == pytest.approx(0.3943, abs=1e-4)
    assert tanh.dxi(1.0) == pytest.approx(0.4644, abs=1e-4)
    assert tanh.d2xi(1.0) == pytest.approx(0.3002, abs=1e-4)


def test_relu_at_criticality_preserves_variance_and_slope():
    for depth in (1, 2, 3):
        cov = hm.covariance("relu", depth, weight_var=2.0)
        assert cov.kernel(1.0)[0] == pytest.approx(2.0, rel=1e-12)
        assert cov.dxi(1.0) == pytest.approx(2.0, rel=1e-12)
        assert np.isinf(cov.d2xi(1.0))


@pytest.mark.parametrize("activation", ["erf", "tanh"])
def test_dual_kernel_against_adaptive_quadrature(activation):
    # one hidden layer: K_2(q) = C_b + C_W E[φ(u)φ(w)], with (u, w) of covariance K_1
    cw, cb, q = 1.3, 0.2, 0.6
    v, c = cb + cw, cb + cw * q
    phi = np.tanh if activation == "tanh" else erf
    det = v * v - c * c

    def integrand(y, x):
        density = np.exp(-(v * x * x - 2 * c * x * y + v * y * y) / (2 * det))
        return density / (2 * np.pi * np.sqrt(det)) * phi(x) * phi(y)

    expected = cb + cw * integrate.dblquad(integrand, -15, 15, -15, 15, epsabs=1e-12)[0]
    cov = hm.covariance(activation, 1, weight_var=cw, bias_var=cb)
    assert cov.kernel(q)[0] == pytest.approx(expected, abs=1e-9)


@pytest.mark.parametrize(
    ("activation", "depth"),
    [("relu", 2), ("erf", 3), ("tanh", 2), ("sin", 2), ("cos", 1),
     ("shaped_relu", 1.0), ("shaped_smooth", 2.0)],
)  # fmt: skip
def test_derivatives_match_finite_differences(activation, depth):
    cov = hm.covariance(activation, depth, weight_var=1.3, bias_var=0.2, shape=1.5)
    eps = 1e-5
    pairs = [(cov.xi, cov.dxi), (cov.dxi, cov.d2xi), (cov.d2xi, cov.d3xi)]
    for f, df in pairs:
        fd = (f(Q + eps) - f(Q - eps)) / (2 * eps)
        np.testing.assert_allclose(df(Q), fd, rtol=2e-4, atol=1e-8)


def _iterate_layers(dual, L, q):
    """Discrete layer map of the normalised correlation, for many layers."""
    rho = np.array(q, dtype=float)
    for _ in range(L):
        rho = dual(rho) / dual(np.ones_like(rho))
    return rho


def test_shaped_relu_ode_is_the_many_layer_limit():
    c_plus, c_minus, L = 1.0, -0.5, 4000
    a = 1 + (c_plus + c_minus) / (2 * np.sqrt(L))
    b = (c_plus - c_minus) / (2 * np.sqrt(L))

    def dual(rho):  # E[φ(u)φ(w)] for φ = a t + b|t|, unit variances
        return a * a * rho + b * b * 2 / np.pi * (np.sqrt(1 - rho**2) + rho * np.arcsin(rho))

    discrete = _iterate_layers(dual, L, Q)
    cov = hm.covariance("shaped_relu", 1.0, shape=c_plus - c_minus)
    np.testing.assert_allclose(cov.kernel(Q)[0], discrete, atol=2e-3)


def test_smooth_shaped_mobius_solution():
    s, tau, L = 1.7, 1.5, 4000

    def dual(rho):  # ψ(t) = t + s t²/2 at scale √L: E[φφ] = ρ + s²(1 + 2ρ²)/(4L)
        return rho + s * s * (1 + 2 * rho**2) / (4 * L)

    discrete = _iterate_layers(dual, int(tau * L), Q)
    cov = hm.covariance("shaped_smooth", tau, shape=s)
    np.testing.assert_allclose(cov.kernel(Q)[0], discrete, atol=2e-3)
    ode = integrate.solve_ivp(
        lambda _, r: s * s / 4 * (1 - r) * (1 - 2 * r), (0, tau), Q, rtol=1e-12, atol=1e-14
    )
    np.testing.assert_allclose(cov.kernel(Q)[0], ode.y[:, -1], atol=1e-10)


@pytest.mark.parametrize("activation", ["tanh", "relu", "sin"])
def test_against_finite_networks(activation):
    cw, cb, q = 1.5, 0.1, 0.6
    mean, error = hm.sample_kernel(activation, 2, q, width=4096, weight_var=cw, bias_var=cb,
                                   n_pairs=16, n_networks=6, seed=3)  # fmt: skip
    theory = hm.covariance(activation, 2, cw, cb).kernel(q)[0]
    assert abs(mean - theory) < 4 * error + 2e-3


def test_mixtures():
    three = hm.pure_pspin(3, 0.5)
    np.testing.assert_allclose(three.xi(Q), 0.5 * Q**3)
    np.testing.assert_allclose(three.d3xi(Q), 3.0)
    two_four = hm.mixture({2: 0.5, 4: 0.05})
    np.testing.assert_allclose(two_four.d2xi(Q), 1.0 + 0.6 * Q**2)


@pytest.mark.parametrize(
    ("call", "name"),
    [
        (lambda: hm.covariance("softplus", 1), "activation"),
        (lambda: hm.covariance("tanh", -1), "depth"),
        (lambda: hm.covariance("tanh", 1, weight_var=-1.0), "weight_var"),
        (lambda: hm.covariance("tanh", 1, bias_var=-0.1), "bias_var"),
        (lambda: hm.pure_pspin(0), "p"),
        (lambda: hm.mixture({2: -1.0}), "c_2"),
    ],
)
def test_bad_input(call, name):
    with pytest.raises(ValueError, match=name):
        call()
