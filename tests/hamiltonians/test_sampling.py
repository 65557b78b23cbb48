import numpy as np
import pytest
import torch
from numpy.polynomial.legendre import leggauss
from scipy import integrate

from deepspin import hamiltonians as hm

Z_MAX = 4.0  # standard errors allowed between an estimate and its exact value


def _pairs_at_overlap(n, q, n_pairs, rng):
    """Rows of two (n_pairs, n) arrays on the sphere |x|² = n with x·x'/n = q exactly."""
    x = rng.standard_normal((n_pairs, n))
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    noise = rng.standard_normal((n_pairs, n))
    noise -= np.sum(noise * x, axis=1, keepdims=True) * x
    noise /= np.linalg.norm(noise, axis=1, keepdims=True)
    return np.sqrt(n) * x, np.sqrt(n) * (q * x + np.sqrt(1 - q * q) * noise)


def _linear_coefficients(net):
    """f(x) = a·x + c of each network of a linear MLP, read off its energies."""
    n = net.n_input
    c = hm.mlp_energy(net, np.zeros((1, n))).numpy()[:, 0] / np.sqrt(n)
    a = hm.mlp_energy(net, np.eye(n)).numpy() / np.sqrt(n) - c[:, None]
    return a, c


def _exact_linear_moments(beta, norm_a, c, n):
    """Mean and variance of e = |a| t + c/√N₀ under exp(−β N₀ |a| t) (1−t²)^((N₀−3)/2).

    t is the cosine between x and a; on the sphere of radius √N₀ in N₀ dimensions its
    uniform density is ∝ (1−t²)^((N₀−3)/2), and H = √N₀ f = N₀ |a| t + √N₀ c.
    """
    kappa = beta * n * norm_a

    def moment(p):
        def integrand(t):
            return t**p * np.exp(0.5 * (n - 3) * np.log1p(-t * t) - kappa * (t + 1))

        return integrate.quad(integrand, -1, 1, epsabs=0, epsrel=1e-12, limit=200)[0]

    m1, m2 = moment(1) / moment(0), moment(2) / moment(0)
    return norm_a * m1 + c / np.sqrt(n), norm_a**2 * (m2 - m1 * m1)


# --- the networks -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("activation", "depth", "width", "weight_var", "n_networks"),
    [("tanh", 1, 2048, 1.0, 64), ("relu", 2, 1024, 2.0, 16)],
)
def test_forward_pass_covariance_is_the_nngp_kernel(activation, depth, width, weight_var,
                                                    n_networks):  # fmt: skip
    rng = np.random.default_rng(0)
    n, n_pairs = 64, 32
    kernel = hm.covariance(activation, depth, weight_var, 0.1).kernel
    net = hm.random_mlp(n, depth, width, activation, weight_var, 0.1, n_networks, seed=1)
    for q in (0.0, 0.5, 0.9):
        x, y = _pairs_at_overlap(n, q, n_pairs, rng)
        f = hm.mlp_energy(net, np.concatenate([x, y])).numpy() / np.sqrt(n)
        # the pairs of one network share its weights: only networks are independent
        per_network = np.mean(f[:, :n_pairs] * f[:, n_pairs:], axis=1)
        error = per_network.std(ddof=1) / np.sqrt(n_networks)
        assert abs(per_network.mean() - kernel(q)[0]) < Z_MAX * error


def test_depth_zero_is_a_linear_read_out_with_covariance_cb_plus_cw_q():
    n, cw, cb, n_networks = 16, 1.5, 0.4, 20000
    net = hm.random_mlp(n, 0, 8, "tanh", cw, cb, n_networks, seed=2)
    (w,), (b,) = net.weights, net.biases
    assert w.shape == (n_networks, n, 1) and b.shape == (n_networks, 1)
    x, y = _pairs_at_overlap(n, 0.3, 1, np.random.default_rng(3))
    h = hm.mlp_energy(net, np.concatenate([x, y])).numpy()
    direct = np.sqrt(n) * (np.concatenate([x, y]) @ w.numpy() + b.numpy()[:, None, :])[..., 0]
    np.testing.assert_allclose(h, direct, rtol=1e-13, atol=1e-13)
    # the covariance has no finite-width correction at depth 0: unbiased at any N₀
    products = h[:, 0] * h[:, 1] / n
    error = products.std(ddof=1) / np.sqrt(n_networks)
    assert abs(products.mean() - (cb + cw * 0.3)) < Z_MAX * error


def test_linear_network_of_any_depth_is_affine():
    net = hm.random_mlp(10, 3, 20, "linear", 1.2, 0.3, n_networks=3, seed=4)
    a, c = _linear_coefficients(net)
    x = np.random.default_rng(5).standard_normal((3, 7, 10))
    np.testing.assert_allclose(
        hm.mlp_energy(net, x).numpy(), np.sqrt(10) * (np.einsum("ebn,en->eb", x, a) + c[:, None]),
        rtol=1e-12, atol=1e-12,
    )  # fmt: skip


# --- the sampler against exact Gibbs measures ------------------------------------------------


def test_tempering_matches_the_exact_gibbs_measure_of_a_linear_network():
    # a linear MLP is a random field on the sphere: ⟨e⟩ and Var e are 1-D integrals
    n, n_networks, n_copies = 24, 4, 4
    net = hm.random_mlp(n, 2, 32, "linear", 1.0, 0.3, n_networks, seed=3)
    a, c = _linear_coefficients(net)
    norm_a = np.linalg.norm(a, axis=1)
    betas = np.geomspace(0.1, 3.0, 8)
    res = hm.parallel_tempering(net, betas, n_copies, n_sweeps=3000, n_burn=500, seed=0,
                                record_every=5, progress=False)  # fmt: skip
    for k in (0, 4, 7):
        exact = np.array([_exact_linear_moments(betas[k], norm_a[i], c[i], n) for i in range(4)])
        e = res.energies[:, :, :, k]
        # every (network, copy) chain gives one independent time average
        bias = (e.mean(axis=0) - exact[:, :1]).ravel()
        assert abs(bias.mean()) < Z_MAX * bias.std(ddof=1) / np.sqrt(bias.size)
        assert abs(bias.mean()) < 0.01
        ratio = (e.var(axis=0) / exact[:, 1:]).ravel()
        assert abs(ratio.mean() - 1) < Z_MAX * ratio.std(ddof=1) / np.sqrt(ratio.size) + 0.02


def test_tempering_matches_quadrature_over_the_two_sphere_for_a_tanh_network():
    # N₀ = 3: the Gibbs measure of a nonlinear, multi-modal H is a 2-D integral
    n = 3
    net = hm.random_mlp(n, 1, 64, "tanh", 1.0, 0.0, n_networks=2, seed=6)
    cos_t, w_t = leggauss(200)
    phi = np.linspace(0, 2 * np.pi, 400, endpoint=False)
    sin_t = np.sqrt(1 - cos_t**2)
    grid = np.sqrt(n) * np.stack(
        [
            (sin_t[:, None] * np.cos(phi)).ravel(),
            (sin_t[:, None] * np.sin(phi)).ravel(),
            np.repeat(cos_t, phi.size),
        ],
        axis=1,
    )
    weights = np.repeat(w_t, phi.size)
    h = hm.mlp_energy(net, grid).numpy()
    betas = np.array([0.5, 1.5, 4.0])
    res = hm.parallel_tempering(net, betas, n_copies=8, n_sweeps=3000, n_burn=300, seed=7,
                                record_every=3, progress=False)  # fmt: skip
    for k, beta in enumerate(betas):
        gibbs = weights * np.exp(-beta * (h - h.min(axis=1, keepdims=True)))
        exact = np.sum(gibbs * h / n, axis=1) / gibbs.sum(axis=1)
        bias = (res.energies[:, :, :, k].mean(axis=0) - exact[:, None]).ravel()
        assert abs(bias.mean()) < Z_MAX * bias.std(ddof=1) / np.sqrt(bias.size) + 1e-3


def test_near_infinite_temperature_is_uniform_on_the_sphere():
    n = 30
    net = hm.random_mlp(n, 1, 128, "tanh", 1.0, 0.0, n_networks=2, seed=8)
    res = hm.parallel_tempering(net, [1e-3], n_copies=4, n_sweeps=2000, n_burn=200, seed=9,
                                record_every=5, progress=False)  # fmt: skip
    # the β → 0 value: e averaged over independent uniform points, per network
    x = np.random.default_rng(10).standard_normal((20000, n))
    x *= np.sqrt(n) / np.linalg.norm(x, axis=1, keepdims=True)
    uniform = hm.mlp_energy(net, x).numpy() / n
    e = res.energies[..., 0].reshape(res.energies.shape[0], 2, -1)
    for i in range(2):
        error = np.hypot(e[:, i].std() / np.sqrt(e[:, i].size), uniform[i].std() / np.sqrt(2e4))
        assert abs(e[:, i].mean() - uniform[i].mean()) < Z_MAX * error
    assert abs(res.energies.mean()) < 0.05
    # two independent uniform points: E q = 0, E q² = 1/N₀
    q = res.overlaps.ravel()
    assert abs(q.mean()) < Z_MAX * q.std() / np.sqrt(q.size)
    assert np.mean(q**2) == pytest.approx(1 / n, rel=0.1)
    assert res.move_acceptance[0] > 0.9  # ε capped: nearly every move is accepted


def test_step_sizes_reach_the_target_acceptance():
    net = hm.random_mlp(50, 1, 256, "tanh", n_networks=2, seed=11)
    for target in (0.3, 0.6):
        res = hm.parallel_tempering(net, [0.5, 1.0, 2.0], n_copies=4, n_sweeps=1000, n_burn=1000,
                                    seed=12, step_target=target, progress=False)  # fmt: skip
        np.testing.assert_allclose(res.move_acceptance, target, atol=0.05)
        assert np.all(np.diff(res.step_sizes) < 0)  # colder is smaller
        assert np.all((res.exchange_acceptance > 0) & (res.exchange_acceptance <= 1))


def test_minimize_energy_finds_the_ground_state_of_a_linear_network():
    net = hm.random_mlp(20, 1, 16, "linear", 1.0, 0.2, n_networks=3, seed=13)
    a, c = _linear_coefficients(net)
    x0 = np.random.default_rng(14).standard_normal((3, 5, 20))
    res = hm.minimize_energy(net, x0, max_iter=500, tol=1e-7)
    assert res.converged and res.iterations < 500
    assert res.residual == res.gradient_norms.max() <= res.tol
    ground = -np.linalg.norm(a, axis=1) + c / np.sqrt(20)  # x ∥ −a
    np.testing.assert_allclose(res.energies, np.broadcast_to(ground[:, None], (3, 5)), atol=1e-12)
    np.testing.assert_allclose(np.sum(res.configurations**2, axis=-1), 20, rtol=1e-12)


def test_minimize_energy_never_raises_the_energy():
    net = hm.random_mlp(40, 2, 64, "tanh", 1.5, 0.1, n_networks=2, seed=15)
    x0 = np.random.default_rng(16).standard_normal((2, 6, 40))
    x0 *= np.sqrt(40) / np.linalg.norm(x0, axis=-1, keepdims=True)
    start = hm.mlp_energy(net, x0).numpy() / 40
    with pytest.warns(RuntimeWarning, match="minimize_energy stopped"):
        res = hm.minimize_energy(net, x0, max_iter=300, tol=1e-7)
    assert res.converged is False and res.iterations <= 300
    assert res.residual == res.gradient_norms.max() > res.tol == 1e-7
    assert np.all(res.energies <= start)
    assert np.all(res.gradient_norms < 1e-3)


# --- bookkeeping ------------------------------------------------------------------------------


def test_result_shapes_and_consistency():
    net = hm.random_mlp(12, 1, 16, "erf", n_networks=3, seed=17)
    betas = [0.5, 1.0, 2.0, 4.0]
    res = hm.parallel_tempering(net, betas, n_copies=3, n_sweeps=50, n_burn=10, seed=18,
                                record_every=7, progress=False)  # fmt: skip
    assert res.energies.shape == (7, 3, 3, 4)
    assert res.overlaps.shape == (7, 3, 3, 4)
    np.testing.assert_array_equal(res.pairs, [[0, 1], [0, 2], [1, 2]])
    assert res.configurations.shape == (3, 3, 4, 12)
    np.testing.assert_allclose(np.sum(res.configurations**2, axis=-1), 12, rtol=1e-12)
    assert res.move_acceptance.shape == res.step_sizes.shape == (4,)
    assert res.exchange_acceptance.shape == (3,)
    np.testing.assert_allclose(res.temperatures, 1 / np.asarray(betas))
    assert np.all(res.min_energy <= res.energies.min(axis=(0, 2, 3)))
    at_min = hm.mlp_energy(net, res.min_configuration[:, None, :]).numpy()[:, 0] / 12
    np.testing.assert_allclose(at_min, res.min_energy, rtol=1e-12)


def test_final_record_matches_final_configurations():
    net = hm.random_mlp(12, 1, 16, "sin", n_networks=2, seed=19)
    res = hm.parallel_tempering(net, [0.5, 2.0], n_copies=2, n_sweeps=40, n_burn=5, seed=20,
                                record_every=8, progress=False)  # fmt: skip
    x = res.configurations
    final = hm.mlp_energy(net, x.reshape(2, -1, 12)).numpy().reshape(2, 2, 2) / 12
    np.testing.assert_allclose(res.energies[-1], final, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(res.overlaps[-1, :, 0], np.sum(x[:, 0] * x[:, 1], axis=-1) / 12)


def test_single_copy_and_single_temperature():
    net = hm.random_mlp(8, 0, 1, "linear", n_networks=1, seed=21)
    res = hm.parallel_tempering(net, [1.0], n_copies=1, n_sweeps=20, n_burn=0, seed=22,
                                record_every=5, progress=False)  # fmt: skip
    assert res.energies.shape == (4, 1, 1, 1)
    assert res.overlaps.shape == (4, 1, 0, 1)
    assert res.exchange_acceptance.shape == (0,)


def test_same_seed_same_result():
    def run(seed):
        net = hm.random_mlp(16, 2, 32, "relu", 2.0, 0.1, n_networks=2, seed=seed)
        return hm.parallel_tempering(net, [0.5, 1.0, 2.0], n_sweeps=60, n_burn=20, seed=seed,
                                     record_every=3, progress=False)  # fmt: skip

    one, two, other = run(23), run(23), run(24)
    for name in ("energies", "overlaps", "configurations", "step_sizes", "min_energy"):
        np.testing.assert_array_equal(getattr(one, name), getattr(two, name))
    assert not np.array_equal(one.energies, other.energies)


def test_initial_configurations_and_float32():
    net = hm.random_mlp(10, 1, 16, "cos", n_networks=2, seed=25, dtype=torch.float32)
    assert net.dtype == torch.float32
    x0 = np.ones(10)
    res = hm.parallel_tempering(net, [1.0, 2.0], n_sweeps=1, n_burn=0, x0=x0, seed=26,
                                progress=False)  # fmt: skip
    assert res.configurations.dtype == np.float32
    np.testing.assert_allclose(np.sum(res.configurations**2, axis=-1), 10, rtol=1e-5)


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"n_input": 1}, "n_input"),
        ({"depth": -1}, "depth"),
        ({"width": 0}, "width"),
        ({"activation": "softplus"}, "activation"),
        ({"activation": "shaped_relu"}, "activation"),
        ({"weight_var": 0.0}, "weight_var"),
        ({"bias_var": -1.0}, "bias_var"),
        ({"n_networks": 0}, "n_networks"),
        ({"seed": -3}, "seed"),
        ({"dtype": torch.int64}, "dtype"),
    ],
)
def test_random_mlp_rejects_bad_input(kwargs, name):
    args = {"n_input": 4, "depth": 1, "width": 8, "activation": "tanh", **kwargs}
    with pytest.raises(ValueError, match=name):
        hm.random_mlp(**args)


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"betas": [1.0, 0.5]}, "betas"),
        ({"betas": [0.0, 1.0]}, "betas"),
        ({"betas": [1.0, 1.0]}, "betas"),
        ({"betas": [1.0, np.inf]}, "betas"),
        ({"betas": []}, "betas"),
        ({"n_copies": 0}, "n_copies"),
        ({"n_sweeps": 0}, "n_sweeps"),
        ({"n_burn": -1}, "n_burn"),
        ({"step_target": 1.0}, "step_target"),
        ({"record_every": 0}, "record_every"),
        ({"exchange_every": 0}, "exchange_every"),
        ({"x0": np.ones((3, 5))}, "x0"),
        ({"x0": np.zeros(4)}, "x0"),  # issue 19: a zero start gave all-NaN output
        ({"x0": np.array([1.0, np.nan, 0.0, 0.0])}, "x0"),
        ({"x0": "abc"}, "x0"),
        ({"net": "tanh"}, "net"),
        ({"progress": "no"}, "progress"),
        ({"device": "tpu"}, "device"),
        ({"seed": 1.5}, "seed"),
    ],
)
def test_parallel_tempering_rejects_bad_input(kwargs, name):
    args = {"net": hm.random_mlp(4, 1, 8, "tanh", seed=0), "betas": [1.0], "progress": False}
    with pytest.raises(ValueError, match=name):
        hm.parallel_tempering(**{**args, **kwargs})


def test_energy_and_descent_reject_bad_shapes():
    net = hm.random_mlp(4, 1, 8, "tanh", n_networks=2, seed=0)
    with pytest.raises(ValueError, match="x"):
        hm.mlp_energy(net, np.ones((3, 5, 4)))
    with pytest.raises(ValueError, match="x0"):
        hm.minimize_energy(net, np.ones((2, 5, 3)))
    with pytest.raises(ValueError, match="tol"):
        hm.minimize_energy(net, np.ones((2, 5, 4)), tol=0.0)
    # issue 19: a zero starting point cannot be projected onto the sphere
    x0 = np.ones((2, 5, 4))
    x0[1, 3] = 0.0
    with pytest.raises(ValueError, match="x0 must hold configurations of norm > 0"):
        hm.minimize_energy(net, x0)
    x0[1, 3] = np.inf
    with pytest.raises(ValueError, match="x0"):
        hm.minimize_energy(net, x0)
    with pytest.raises(ValueError, match="progress"):
        hm.minimize_energy(net, np.ones((2, 5, 4)), progress="no")
    with pytest.raises(ValueError, match="x"):
        hm.mlp_energy(net, np.full((5, 4), np.nan))
    with pytest.raises(ValueError, match="x"):
        hm.hidden_features(net, "abc")
    with pytest.raises(ValueError, match="net"):
        hm.mlp_energy("net", np.ones((5, 4)))
    # a tensor input keeps its graph: the energy is differentiable in x
    x = torch.ones((5, 4), dtype=torch.float64, requires_grad=True)
    hm.mlp_energy(net, x).sum().backward()
    assert x.grad is not None and torch.all(torch.isfinite(x.grad))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_matches_the_cpu_networks_and_runs():
    cpu = hm.random_mlp(20, 1, 64, "tanh", n_networks=2, seed=27)
    gpu = hm.random_mlp(20, 1, 64, "tanh", n_networks=2, seed=27, device="cuda")
    x = np.random.default_rng(28).standard_normal((2, 5, 20))
    np.testing.assert_allclose(
        hm.mlp_energy(gpu, x).cpu().numpy(), hm.mlp_energy(cpu, x).numpy(), rtol=1e-10
    )
    res = hm.parallel_tempering(cpu, [0.5, 1.0], n_sweeps=200, n_burn=100, seed=29,
                                progress=False, device="cuda")  # fmt: skip
    assert np.all(np.isfinite(res.energies)) and res.configurations.shape == (2, 2, 2, 20)
    descent = hm.minimize_energy(gpu, x, max_iter=50)
    assert np.all(np.isfinite(descent.energies))


def test_hidden_features_give_the_output_and_the_finite_width_kernel():
    net = hm.random_mlp(12, 2, 256, "tanh", 1.3, 0.2, n_networks=3, seed=21)
    x = np.random.default_rng(22).standard_normal((3, 5, 12))
    features = hm.hidden_features(net, x)
    assert features.shape == (3, 5, 256)
    read_out = torch.baddbmm(net.biases[-1][:, None, :], features, net.weights[-1])[..., 0]
    torch.testing.assert_close(np.sqrt(12) * read_out, hm.mlp_energy(net, x))
    with pytest.raises(ValueError, match="depth"):
        hm.hidden_features(hm.random_mlp(12, 0, 8, "tanh", seed=1), x)


def test_to_changes_dtype_and_keeps_the_weights():
    net = hm.random_mlp(10, 1, 32, "sin", n_networks=2, seed=5, dtype=torch.float32)
    double = net.to(dtype=torch.float64)
    assert double.dtype == torch.float64 and double.weights[0].shape == net.weights[0].shape
    torch.testing.assert_close(double.weights[0].float(), net.weights[0])
    with pytest.raises(ValueError, match="dtype"):
        net.to(dtype=torch.int32)
    with pytest.raises(ValueError, match="device"):
        net.to(device="tpu")
