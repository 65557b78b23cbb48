"""Tests for deepspin.binary_nets.fused: gradient, Adam, training against the torch path;
the ziggurat generator; reproducibility and validation."""

from itertools import pairwise

import numba
import numpy as np
import pytest
import torch
from numpy.testing import assert_allclose, assert_array_equal
from scipy import stats

from deepspin import binary_nets as bn
from deepspin.binary_nets import fused

GRAD_RTOL = 1e-10  # float64 kernel vs float64 autograd: rounding only
FLOAT32_RTOL = 2e-5  # float32 kernel vs float32 torch: different summation orders
TRAIN_ATOL = 1e-5
N_DRAWS = 2_000_000
SMALL = (6, 5, 4, 3)


def _problem(widths, e=3, batch=37, dtype=torch.float64, seed=0):
    gen = torch.Generator().manual_seed(seed)
    fields = [torch.randn((e, b, a), generator=gen, dtype=dtype) for a, b in pairwise(widths)]
    x = torch.randn((batch, widths[0]), generator=gen, dtype=dtype)
    y = torch.randint(0, widths[-1], (batch,), generator=gen)
    noise = [torch.randn((e, batch, b), generator=gen, dtype=dtype) for b in widths[1:]]
    return fields, x, y, noise


def _torch_objective(fields, x, y, noise, l2):
    """Per-network mean cross-entropy and the summed objective, as in train_ensemble."""
    logits = bn.meanfield_logits(fields, x, noise)
    e, batch, n_out = logits.shape
    ce = torch.nn.functional.cross_entropy(
        logits.reshape(-1, n_out), y.repeat(e), reduction="none"
    ).reshape(e, batch)
    per_network = ce.mean(dim=1)
    penalty = 0.5 * l2 * sum((f * f).sum(dim=(1, 2)) for f in fields)
    return per_network, (per_network + penalty).sum()


def _torch_grad(fields, x, y, noise, l2):
    leaves = [f.clone().requires_grad_(True) for f in fields]
    per_network, total = _torch_objective(leaves, x, y, noise, l2)
    total.backward()
    return per_network.detach().numpy(), [f.grad.numpy() for f in leaves]


@pytest.mark.parametrize("widths", [(20, 15, 15, 10), (20, 10), (7, 6, 5, 4, 3)])
@pytest.mark.parametrize("chunk", [fused.CHUNK, 16])
def test_gradient_equals_autograd(widths, chunk, monkeypatch):
    # chunk 16 splits the batch of 37 into 16 + 16 + 5 examples
    monkeypatch.setattr(fused, "CHUNK", chunk)
    fields, x, y, noise = _problem(widths)
    ce_ref, grad_ref = _torch_grad(fields, x, y, noise, l2=0.01)
    ce, grads = fused.loss_and_grad(fields, x, y, noise, l2=0.01)
    assert_allclose(ce, ce_ref, rtol=GRAD_RTOL)
    for layer, (g, ref) in enumerate(zip(grads, grad_ref, strict=True)):
        assert g.shape == ref.shape
        assert_allclose(g, ref, rtol=GRAD_RTOL, atol=GRAD_RTOL * np.abs(ref).max(), err_msg=layer)


def test_gradient_in_float32():
    fields, x, y, noise = _problem((20, 15, 15, 10), e=4, batch=200, dtype=torch.float32)
    ce_ref, grad_ref = _torch_grad(fields, x, y, noise, l2=1e-3)
    ce, grads = fused.loss_and_grad(fields, x, y, noise, l2=1e-3)
    assert_allclose(ce, ce_ref, rtol=FLOAT32_RTOL)
    for g, ref in zip(grads, grad_ref, strict=True):
        assert_allclose(g, ref, rtol=FLOAT32_RTOL, atol=FLOAT32_RTOL * np.abs(ref).max())


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_adam_update_equals_torch(dtype):
    rng = np.random.default_rng(1)
    theta, grad = rng.standard_normal((2, 50)).astype(dtype)
    avg = 0.1 * rng.standard_normal(50).astype(dtype)
    sq = 0.01 * rng.random(50).astype(dtype)
    param = torch.tensor(theta, requires_grad=True)
    opt = torch.optim.Adam([param], lr=0.3, betas=(0.9, 0.999), eps=1e-8)
    opt.state[param] = {
        "step": torch.tensor(6.0),
        "exp_avg": torch.tensor(avg),
        "exp_avg_sq": torch.tensor(sq),
    }
    param.grad = torch.tensor(grad)
    opt.step()
    fused._adam(theta, avg, sq, grad.astype(np.float64), 7, 0.3, 0.9, 0.999, 1e-8)
    rtol = 1e-6 if dtype == np.float32 else 1e-12
    assert_allclose(avg, opt.state[param]["exp_avg"].numpy(), rtol=rtol)
    assert_allclose(sq, opt.state[param]["exp_avg_sq"].numpy(), rtol=rtol)
    assert_allclose(theta, param.detach().numpy(), rtol=rtol)


def test_adam_step_equals_torch_step():
    # one full step (forward, backward, Adam) from a state with nonzero moments at step 4
    fields, x, y, noise = _problem((20, 15, 15, 10), e=3, batch=50, dtype=torch.float32)
    rng = np.random.default_rng(2)
    avg = [0.01 * rng.standard_normal(f.shape).astype(np.float32) for f in fields]
    sq = [1e-4 * rng.random(f.shape).astype(np.float32) for f in fields]
    params = [f.clone().requires_grad_(True) for f in fields]
    opt = torch.optim.Adam(params, lr=0.1, betas=(0.9, 0.999), eps=1e-8)
    for p, a, s in zip(params, avg, sq, strict=True):
        opt.state[p] = {
            "step": torch.tensor(4.0),
            "exp_avg": torch.tensor(a),
            "exp_avg_sq": torch.tensor(s),
        }
    ce_ref, total = _torch_objective(params, x, y, noise, l2=1e-3)
    total.backward()
    opt.step()

    state = fused.FusedState.from_fields(fields)
    state.exp_avg[:] = bn.flatten_weights(avg)
    state.exp_avg_sq[:] = bn.flatten_weights(sq)
    state.step = 4
    ce = fused.adam_step(state, x, y, lr=0.1, l2=1e-3, noise=noise)
    assert state.step == 5
    assert_allclose(ce, ce_ref.detach().numpy(), rtol=FLOAT32_RTOL)
    for got, p in zip(state.fields(), params, strict=True):
        assert_allclose(got, p.detach().numpy(), rtol=FLOAT32_RTOL, atol=1e-6)
    ref_avg = bn.flatten_weights([opt.state[p]["exp_avg"] for p in params]).numpy()
    assert_allclose(state.exp_avg, ref_avg, rtol=1e-4, atol=1e-7)


def _data(n=240, n_in=6, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, n_in))
    labels = np.argmax(x[:, :3] + 0.3 * rng.standard_normal((n, 3)), axis=1)
    return x, labels


def _train(widths, x, y, backend, **kw):
    kw = dict(
        dict(
            epochs=2,
            batch_size=40,
            batches_per_epoch=5,
            lr=0.05,
            l2=1e-3,
            eval_every=1,
            eval_draws=2,
            seed=5,
        ),
        **kw,
    )
    return bn.train_ensemble(widths, x, y, x[:60], y[:60], backend=backend, **kw)


def _noise_fn(widths, e, steps, batch, seed=4):
    gen = torch.Generator().manual_seed(seed)
    noise = [[torch.randn((e, batch, b), generator=gen) for b in widths[1:]] for _ in range(steps)]
    return noise, lambda step, shapes: noise[step]


@pytest.mark.parametrize("widths", [SMALL, (20, 15, 15, 10)])
def test_training_equals_torch_backend(widths):
    x, y = _data(n_in=widths[0])
    e = 3
    _, noise_fn = _noise_fn(widths, e, 10, 40)
    runs = {b: _train(widths, x, y, b, n_networks=e, noise_fn=noise_fn) for b in ("torch", "numba")}
    assert runs["numba"].info["backend"] == "numba" and runs["torch"].info["backend"] == "torch"
    for a, b in zip(runs["numba"].fields, runs["torch"].fields, strict=True):
        assert a.dtype == b.dtype == torch.float32
        assert_allclose(a.numpy(), b.numpy(), atol=TRAIN_ATOL)
    assert_allclose(runs["numba"].train_loss, runs["torch"].train_loss, rtol=FLOAT32_RTOL)
    # same minibatches, fields and evaluation draws: the same sampled accuracies
    assert_allclose(runs["numba"].test_accuracy, runs["torch"].test_accuracy, atol=0.02)
    assert runs["numba"].train_loss[-1].mean() < runs["numba"].train_loss[0].mean()


def test_batched_numba_equals_separate_runs():
    x, y = _data()
    e, steps, batch = 3, 10, 40
    init = bn.init_fields(SMALL, e, seed=3)
    noise, _ = _noise_fn(SMALL, e, steps, batch)

    def run(fields, rows):
        def noise_fn(step, shapes):
            return [n[rows] for n in noise[step]]

        kw = dict(n_networks=len(rows), initial_fields=fields, eval_every=0, noise_fn=noise_fn)
        return _train(SMALL, x, y, "numba", **kw).fields

    together = run(init, list(range(e)))
    for k in range(e):
        alone = run([f[k : k + 1] for f in init], [k])
        for a, b in zip(alone, together, strict=True):
            assert_array_equal(a[0].numpy(), b[k].numpy())


def test_internal_noise_is_the_documented_stream():
    # the kernel's noise for network e at step s is standard_normal(units · B, seed, s, e),
    # unit-major; feeding it explicitly reproduces the internal draws
    x, y = _data(n=50)
    fields = bn.init_fields(SMALL, 2, seed=1)
    batch, units = 50, sum(SMALL[1:])
    drawn = fused.FusedState.from_fields(fields)
    given = fused.FusedState.from_fields(fields)
    for step in range(3):
        ce = fused.adam_step(drawn, x, y, lr=0.1, seed=9)
        eps = np.stack(
            [
                fused.standard_normal(units * batch, 9, step, e).reshape(units, batch)
                for e in range(2)
            ]
        )
        rows = np.cumsum([0, *SMALL[1:]])
        noise = [eps[:, a:b].transpose(0, 2, 1) for a, b in pairwise(rows)]
        assert_array_equal(fused.adam_step(given, x, y, lr=0.1, noise=noise), ce)
    assert_array_equal(drawn.theta, given.theta)


def test_steps_in_one_call_equal_steps_one_by_one():
    x, y = _data()
    batches = np.random.default_rng(0).integers(0, len(x), (4, 30))
    one_call = fused.FusedState.from_fields(bn.init_fields(SMALL, 3, seed=2))
    by_step = fused.FusedState.from_fields(bn.init_fields(SMALL, 3, seed=2))
    ce = fused.train_steps(one_call, x, y, batches, lr=0.1, l2=1e-3, seed=11)
    for s, rows in enumerate(batches):
        assert_array_equal(fused.adam_step(by_step, x[rows], y[rows], 0.1, 1e-3, 11), ce[s])
    assert one_call.step == by_step.step == 4
    assert_array_equal(one_call.theta, by_step.theta)
    assert_array_equal(one_call.exp_avg_sq, by_step.exp_avg_sq)


def test_same_seed_same_result_for_any_thread_count():
    x, y = _data(600)
    threads = numba.get_num_threads()
    runs = []
    for n in sorted({1, min(2, numba.config.NUMBA_NUM_THREADS)}):
        numba.set_num_threads(n)
        try:
            runs.append(_train(SMALL, x, y, "numba", n_networks=5, seed=7))
        finally:
            numba.set_num_threads(threads)
    runs.append(_train(SMALL, x, y, "numba", n_networks=5, seed=7))
    for run in runs[1:]:
        for a, b in zip(run.fields, runs[0].fields, strict=True):
            assert torch.equal(a, b)
        assert_array_equal(run.train_loss, runs[0].train_loss)
        assert_array_equal(run.test_accuracy, runs[0].test_accuracy)
    other = _train(SMALL, x, y, "numba", n_networks=5, seed=8)
    assert not torch.equal(other.fields[0], runs[0].fields[0])
    # the networks of one run draw different noise: their fields diverge
    assert not torch.allclose(runs[0].fields[0][0], runs[0].fields[0][1], atol=1e-3)


def test_numba_training_learns():
    x, y = _data(600)
    res = _train(
        SMALL,
        x,
        y,
        None,
        n_networks=4,
        epochs=8,
        batch_size=50,
        batches_per_epoch=None,
        lr=0.3,
        seed=0,
    )
    assert res.info["backend"] == "numba"
    assert res.test_accuracy[-1].mean() > res.test_accuracy[0].mean() + 0.15
    assert np.all(res.train_loss[-1] < res.train_loss[0])


def test_ziggurat_moments_and_distribution():
    z = fused.standard_normal(N_DRAWS, seed=3)
    n = len(z)
    assert abs(z.mean()) < 5 / np.sqrt(n)
    assert abs(z.var() - 1) < 5 * np.sqrt(2 / n)
    assert abs(stats.kurtosis(z, fisher=False) - 3) < 5 * np.sqrt(24 / n)
    assert abs(np.mean(z > 0) - 0.5) < 5 * 0.5 / np.sqrt(n)
    assert stats.kstest(z, "norm").pvalue > 1e-3
    # |z| in 256 equiprobable bins: checks every strip of the ziggurat, not only the bulk
    edges = stats.halfnorm.ppf(np.linspace(0, 1, 257))
    counts = np.histogram(np.abs(z), bins=edges)[0]
    assert stats.chisquare(counts).pvalue > 1e-3


def test_ziggurat_tail():
    # beyond r = 3.654 the draws come from Marsaglia's tail method; 4e7 draws give ~10⁴ of
    # them, enough for the KS test to see its rejection step (without it, the tail's mean
    # excess over r is 1/r = 0.274 instead of 0.233)
    r = fused._ZR
    assert_allclose(r, 3.6541528853610088, rtol=1e-14)
    tail, n = [], 0
    for step in range(4):
        z = np.abs(fused.standard_normal(10_000_000, seed=4, step=step))
        tail.append(z[z > r])
        n += len(z)
    tail = np.concatenate(tail)
    expected = n * 2 * stats.norm.sf(r)
    assert abs(len(tail) - expected) < 5 * np.sqrt(expected)

    def tail_cdf(t):
        return 1 - stats.norm.sf(t) / stats.norm.sf(r)

    assert stats.kstest(tail, tail_cdf).pvalue > 1e-3
    assert tail.max() > 5.0  # P(no draw beyond 5 among 4e7) ≈ e^-23


def test_ziggurat_streams():
    a = fused.standard_normal(1000, seed=1, step=2, network=3)
    assert_array_equal(a, fused.standard_normal(1000, seed=1, step=2, network=3))
    for key in [(1, 2, 4), (1, 3, 3), (2, 2, 3)]:
        b = fused.standard_normal(1000, *key)
        assert abs(np.corrcoef(a, b)[0, 1]) < 5 / np.sqrt(1000)


def test_backend_validation():
    x, y = _data(50)
    with pytest.raises(ValueError, match=r"backend must be one of None, 'numba', 'torch'"):
        bn.train_ensemble(SMALL, x, y, x, y, backend="jax")
    with pytest.raises(ValueError, match="backend 'numba' runs on the CPU only"):
        bn.train_ensemble(SMALL, x, y, x, y, backend="numba", device="cuda")
    with pytest.raises(ValueError, match="backend 'numba' trains binary weights only"):
        bn.train_ensemble(SMALL, x, y, x, y, backend="numba", weights="real")
    kw = dict(epochs=1, batch_size=10, eval_every=0)
    assert bn.train_ensemble(SMALL, x, y, x, y, weights="real", **kw).info["backend"] == "torch"
    with pytest.raises(ValueError, match="initial_fields"):
        bn.train_ensemble(
            SMALL, x, y, x, y, n_networks=2, initial_fields=bn.init_fields(SMALL), **kw
        )


def test_kernel_input_validation():
    fields, x, y, noise = _problem(SMALL, dtype=torch.float32)
    with pytest.raises(ValueError, match="labels"):
        fused.loss_and_grad(fields, x, y + SMALL[-1], noise)
    with pytest.raises(ValueError, match=r"noise\[1\]"):
        fused.loss_and_grad(fields, x, y, [noise[0], noise[1][:, :5], noise[2]])
    with pytest.raises(ValueError, match=r"fields\[1\]"):
        fused.loss_and_grad([fields[0], fields[1][:, :, :2], fields[2]], x, y, noise)
    with pytest.raises(ValueError, match="x must have shape"):
        fused.loss_and_grad(fields, x[:, :2], y, noise)
    state = fused.FusedState.from_fields(fields)
    with pytest.raises(ValueError, match="lr"):
        fused.adam_step(state, x, y, lr=0.0)
    with pytest.raises(ValueError, match="batches"):
        fused.train_steps(state, x, y, np.array([[0, len(x)]]), lr=0.1)
    with pytest.raises(ValueError, match="seed"):
        fused.adam_step(state, x, y, lr=0.1, seed=-1)
    assert state.step == 0
    state.exp_avg = state.exp_avg[:, :-1]
    with pytest.raises(ValueError, match="exp_avg_sq must be"):
        fused.adam_step(state, x, y, lr=0.1)


def test_state_and_batches_are_checked():
    fields, x, y, noise = _problem(SMALL, dtype=torch.float32)
    state = fused.FusedState.from_fields(fields)
    with pytest.raises(ValueError, match="theta must be a C-contiguous"):
        fused.FusedState(state.theta.T, state.exp_avg, state.exp_avg_sq, SMALL)
    with pytest.raises(ValueError, match=r"exp_avg_sq must hold finite reals in \[0, inf\)"):
        fused.FusedState(state.theta, state.exp_avg, -1.0 - state.exp_avg_sq, SMALL)
    theta = state.theta.copy()
    theta[0, 0] = np.nan
    with pytest.raises(ValueError, match="theta must hold finite reals"):
        fused.FusedState(theta, state.exp_avg, state.exp_avg_sq, SMALL)
    with pytest.raises(ValueError, match="step"):
        fused.FusedState(state.theta, state.exp_avg, state.exp_avg_sq, SMALL, step=-1)
    x_nan = x.clone()
    x_nan[0, 0] = float("nan")
    with pytest.raises(ValueError, match="x must hold finite reals"):
        fused.adam_step(state, x_nan, y, lr=0.1)
    bad_noise = [n.clone() for n in noise]
    bad_noise[0][0, 0, 0] = float("inf")
    with pytest.raises(ValueError, match=r"noise\[0\] must hold finite reals"):
        fused.loss_and_grad(fields, x, y, bad_noise)
    with pytest.raises(ValueError, match=r"batches must hold integers in \[0, 36\], got -1"):
        fused.train_steps(state, x, y, np.array([[0, -1]]), lr=0.1)
    with pytest.raises(ValueError, match="betas must be a pair"):
        fused.adam_step(state, x, y, lr=0.1, betas=None)
    assert state.step == 0
