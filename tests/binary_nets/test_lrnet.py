"""Tests for deepspin.binary_nets.lrnet: layout, forward pass, gradient, batching."""

from itertools import pairwise

import numpy as np
import pytest
import torch
from numpy.testing import assert_allclose

from deepspin import binary_nets as bn

WIDTHS = (6, 5, 4, 3)
GRAD_RTOL = 1e-6
TRAIN_ATOL = 1e-5


def _data(n=240, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, WIDTHS[0]))
    labels = np.argmax(x[:, :3] + 0.3 * rng.standard_normal((n, 3)), axis=1)
    return x, labels


def test_layout_of_the_paper_networks():
    assert bn.n_weights((20, 15, 15, 10)) == 675
    assert bn.n_weights((20, 10)) == 200
    assert bn.layer_slices((20, 15, 15, 10)) == [slice(0, 300), slice(300, 525), slice(525, 675)]
    flat = torch.arange(2 * 675).reshape(2, 675)
    layers = bn.unflatten_weights(flat, (20, 15, 15, 10))
    assert [tuple(w.shape) for w in layers] == [(2, 15, 20), (2, 15, 15), (2, 10, 15)]
    # row-major (out, in): weight (out=1, in=2) of layer 1 sits at index 1*20 + 2
    assert layers[0][0, 1, 2] == 22
    assert torch.equal(bn.flatten_weights(layers), flat)


def test_meanfield_moments_match_binary_weights():
    # pre-activation mean Σ m a and variance Σ (1 − m²) a² of z = Σ w a, w ~ Bernoulli(sigmoid θ)
    gen = torch.Generator().manual_seed(0)
    theta = torch.randn((1, 4, 6), generator=gen, dtype=torch.float64)
    x = torch.randn((1, 6), generator=gen, dtype=torch.float64)
    w = bn.sample_configurations([theta], 200_000, gen).to(torch.float64).reshape(-1, 4, 6)
    z = (w * x).sum(dim=2)
    m = torch.tanh(theta[0] / 2)
    assert_allclose(z.mean(0), (m * x).sum(1), atol=0.02)
    assert_allclose(z.var(0), ((1 - m * m) * x * x).sum(1), rtol=0.02)


def test_sampling_frequencies():
    gen = torch.Generator().manual_seed(1)
    theta = [torch.tensor([[[-2.0, 0.0, 3.0]]])]
    draws = bn.sample_configurations(theta, 100_000, gen).to(torch.float64)
    assert draws.dtype == torch.float64 and draws.shape == (100_000, 3)
    assert_allclose((draws > 0).double().mean(0), torch.sigmoid(theta[0][0, 0]), atol=0.005)


def _loss(fields, x, y, noise):
    logits = bn.meanfield_logits(fields, x, noise)
    return torch.nn.functional.cross_entropy(logits[0], y)


def test_gradient_against_finite_differences():
    gen = torch.Generator().manual_seed(2)
    x, y = _data(32)
    x, y = torch.as_tensor(x), torch.as_tensor(y)
    fields = [
        torch.randn((1, b, a), generator=gen, dtype=torch.float64, requires_grad=True)
        for a, b in pairwise(WIDTHS)
    ]
    noise = [torch.randn((1, 32, b), generator=gen, dtype=torch.float64) for b in WIDTHS[1:]]
    _loss(fields, x, y, noise).backward()
    h = 1e-6
    for layer, f in enumerate(fields):
        for idx in [(0, 0, 0), (0, 1, 2), (0, f.shape[1] - 1, f.shape[2] - 1)]:
            with torch.no_grad():
                f[idx] += h
                up = _loss(fields, x, y, noise).item()
                f[idx] -= 2 * h
                down = _loss(fields, x, y, noise).item()
                f[idx] += h
            (
                assert_allclose(
                    f.grad[idx].item(), (up - down) / (2 * h), rtol=GRAD_RTOL, atol=1e-9
                ),
                (
                    layer,
                    idx,
                ),
            )


def test_batched_training_equals_separate_runs():
    x, y = _data()
    e, steps, batch = 3, 12, 40
    init = bn.init_fields(WIDTHS, e, seed=3)
    noise_gen = torch.Generator().manual_seed(4)
    noise = [
        [torch.randn((e, batch, b), generator=noise_gen) for b in WIDTHS[1:]] for _ in range(steps)
    ]

    def run(fields, rows):
        return bn.train_ensemble(
            WIDTHS, x, y, x[:50], y[:50], n_networks=len(rows), epochs=2, batch_size=batch,
            batches_per_epoch=steps // 2, lr=0.05, l2=1e-3, eval_every=0, seed=5,
            initial_fields=fields,
            noise_fn=lambda step, shapes: [n[rows] for n in noise[step]],
        ).fields  # fmt: skip

    together = run(init, list(range(e)))
    for k in range(e):
        alone = run([f[k : k + 1] for f in init], [k])
        for a, b in zip(alone, together, strict=True):
            assert_allclose(a[0].numpy(), b[k].numpy(), atol=TRAIN_ATOL)


def test_training_learns_and_records_curves():
    x, y = _data(600)
    res = bn.train_ensemble(
        WIDTHS, x, y, x, y, n_networks=4, epochs=8, batch_size=50, lr=0.3, seed=0, eval_draws=2
    )
    assert res.test_accuracy.shape == (9, 4) and res.train_loss.shape == (8, 4)
    assert list(res.epochs) == list(range(9))
    # chance is 1/3; the tiny binary network learns the synthetic task only in part
    assert res.test_accuracy[-1].mean() > res.test_accuracy[0].mean() + 0.15
    assert np.all(res.train_loss[-1] < res.train_loss[0])
    # initial fields are kept and differ from the trained ones
    assert not torch.allclose(res.initial_fields[0], res.fields[0])


def _numpy_logits(config, widths, x):
    a, start = x, 0
    for layer, (n_in, n_out) in enumerate(pairwise(widths)):
        w = config[start : start + n_in * n_out].reshape(n_out, n_in)
        start += n_in * n_out
        z = a @ w.T
        a = z if layer == len(widths) - 2 else np.where(z > 0, z, 0.1 * z) / np.sqrt(n_in)
    return a


def test_configuration_accuracy_against_numpy():
    x, y = _data(500)
    rng = np.random.default_rng(6)
    configs = rng.choice(np.array([-1, 1], dtype=np.int8), size=(70, bn.n_weights(WIDTHS)))
    got = bn.configuration_accuracy(configs, WIDTHS, x, y, chunk=16, tile=128)
    # the torch path (GPUs), run on the CPU, scores the same configurations
    via_torch = bn.lrnet._torch_accuracy(configs, WIDTHS, x, y, 16, 128, torch.device("cpu"))
    for acc, acc_torch, config in zip(got, via_torch, configs, strict=True):
        logits = _numpy_logits(config.astype(float), WIDTHS, x)
        # ±1 weights make exact ties between outputs possible (duplicate hidden units);
        # float32 rounding may break those either way, every other example must agree
        top2 = np.sort(logits, axis=1)[:, -2:]
        tied = np.abs(top2[:, 1] - top2[:, 0]) < 1e-6
        correct = np.argmax(logits, axis=1) == y
        for score in (acc, acc_torch):
            assert abs(score - correct.mean()) <= tied.mean() + 1e-12
            assert score >= correct[~tied].sum() / len(y) - 1e-12


def test_validation_errors():
    x, y = _data(50)
    with pytest.raises(ValueError, match="widths"):
        bn.n_weights((20,))
    with pytest.raises(ValueError, match=r"widths\[1\]"):
        bn.n_weights((20, 0, 10))
    with pytest.raises(ValueError, match="lr"):
        bn.train_ensemble(WIDTHS, x, y, x, y, lr=-1.0)
    with pytest.raises(ValueError, match="n_networks"):
        bn.train_ensemble(WIDTHS, x, y, x, y, n_networks=0)
    with pytest.raises(ValueError, match="batch_size"):
        bn.train_ensemble(WIDTHS, x, y, x, y, batch_size=1000)
    with pytest.raises(ValueError, match="columns"):
        bn.train_ensemble((7, 3), x, y, x, y)


def test_real_weight_reference_network():
    x, y = _data(600)
    res = bn.train_ensemble(WIDTHS, x, y, x, y, n_networks=2, epochs=8, batch_size=50, lr=0.05,
                            seed=0, weights="real")  # fmt: skip
    assert res.info["weights"] == "real"
    assert res.test_accuracy[-1].mean() > res.test_accuracy[0].mean() + 0.2
    with pytest.raises(ValueError, match="weights must be one of"):
        bn.train_ensemble(WIDTHS, x, y, x, y, weights="ternary")


def test_bad_data_is_refused_before_any_kernel():
    # issue 19: NaN inputs reached the numba kernel (SystemError); labels outside
    # [0, n_out) trained on garbage
    x, y = _data(50)
    x_nan = x.copy()
    x_nan[3, 1] = np.nan
    with pytest.raises(ValueError, match="x_train must hold finite reals"):
        bn.train_ensemble(WIDTHS, x_nan, y, x, y, batch_size=10)
    with pytest.raises(ValueError, match="x_test must hold finite reals"):
        bn.train_ensemble(WIDTHS, x, y, x_nan, y, batch_size=10, backend="torch")
    for name, bad in (("y_train", 3), ("y_test", -1)):
        labels = y.copy()
        labels[0] = bad
        args = (x, labels, x, y) if name == "y_train" else (x, y, x, labels)
        with pytest.raises(ValueError, match=rf"{name} must hold integers in \[0, 2\]"):
            bn.train_ensemble(WIDTHS, *args, batch_size=10)
    with pytest.raises(ValueError, match="one row per image"):
        bn.train_ensemble(WIDTHS, x, y[:-1], x, y, batch_size=10)
    with pytest.raises(ValueError, match="progress must be True or False"):
        bn.train_ensemble(WIDTHS, x, y, x, y, batch_size=10, progress="no")
    with pytest.raises(ValueError, match="init_scale"):
        bn.train_ensemble(WIDTHS, x, y, x, y, batch_size=10, init_scale=-1.0)
    with pytest.raises(ValueError, match="device"):
        bn.train_ensemble(WIDTHS, x, y, x, y, batch_size=10, device="tpu")


def test_scoring_refuses_what_it_cannot_score():
    x, y = _data(50)
    configs = np.ones((2, bn.n_weights(WIDTHS)), dtype=np.int8)
    labels = y.copy()
    labels[0] = 7
    with pytest.raises(ValueError, match=r"labels must hold integers in \[0, 2\], got 7"):
        bn.configuration_accuracy(configs, WIDTHS, x, labels)
    with pytest.raises(ValueError, match=r"configs must hold spins in \{-1, \+1\}, got 0"):
        bn.configuration_accuracy(configs * 0, WIDTHS, x, y)
    with pytest.raises(ValueError, match="device"):
        bn.configuration_accuracy(configs, WIDTHS, x, y, device="tpu")


def test_fields_and_devices_are_checked():
    fields = bn.init_fields(WIDTHS, 2, seed=0)
    with pytest.raises(ValueError, match="dtype"):
        bn.init_fields(WIDTHS, dtype=torch.int64)
    with pytest.raises(ValueError, match=r"fields\[1\] has shape"):
        bn.sample_configurations([fields[0], fields[2]])
    nan = [f.clone() for f in fields]
    nan[2][0, 0, 0] = float("nan")
    with pytest.raises(ValueError, match=r"fields\[2\] must hold finite reals"):
        bn.meanfield_logits(nan, torch.zeros(3, WIDTHS[0]))
    with pytest.raises(ValueError, match=r"noise\[0\] must have shape"):
        bn.meanfield_logits(fields, torch.zeros(3, WIDTHS[0]),
                            [torch.zeros(2, 4, w) for w in WIDTHS[1:]])  # fmt: skip
    with pytest.raises(ValueError, match="layers"):
        bn.flatten_weights([fields[0], fields[1].numpy()])
    with pytest.raises(ValueError, match="widths must be a sequence"):
        bn.n_weights(None)
