"""LR-net training and binary evaluation: batched torch ensembles vs one network at a time.

Training: network-epochs per second (one epoch = 60 000 examples, 300 batches of 200)
of the batched trainers, the fused numba kernel and torch autograd, for E = 1, 16, 64,
256 networks on 2 threads, against the plain baseline: the torch trainer called for one
network at a time, E times. Each is timed on 30 batches (best of 3) and scaled to an
epoch. Evaluation: configurations drawn from 16 trained networks scored on the 10 000 test
images per second: torch one at a time (the plain baseline), torch in chunks of 32, the
direct numba kernel, and the numba kernel that corrects each draw's network mode
(eq. (incremental-update)). Collection: wall time and disk size of a 10⁵-configuration
collection at two thresholds (acceptance about 0.5 and 0.2), extrapolated to the paper's
2×10⁶, beside the ratio of direct to corrected scoring of the same draws with the same
early exits. Synthetic inputs of the PCA-MNIST shape are used
when MNIST is absent.
"""

from __future__ import annotations

import math
import shutil
import tempfile
import time
from pathlib import Path

import numba
import numpy as np
import torch

from deepspin import binary_nets as bn
from deepspin.binary_nets import count_correct_incremental
from deepspin.binary_nets.evaluate import count_correct

WIDTHS = (20, 15, 15, 10)
BATCHES = 30
EPOCH_BATCHES = 300
REPEATS = 3
THREADS = 2
N_COLLECT = 100_000


def data():
    try:
        from deepspin.data import pca_mnist

        d = pca_mnist(20)
        return d.train, d.train_labels, d.test, d.test_labels, "PCA-MNIST"
    except (FileNotFoundError, ValueError):
        rng = np.random.default_rng(0)
        x = rng.standard_normal((70_000, 20)).astype(np.float32)
        y = rng.integers(0, 10, 70_000)
        return x[:60_000], y[:60_000], x[60_000:], y[60_000:], "synthetic"


def train_time(x, y, xt, yt, n_networks, backend):
    """Seconds per epoch of ``train_ensemble`` (best of ``REPEATS``, after a warm-up call
    that also compiles the numba kernels)."""
    kw = dict(epochs=1, batch_size=200, batches_per_epoch=BATCHES, eval_every=0, seed=0,
              backend=backend)  # fmt: skip
    bn.train_ensemble(WIDTHS, x, y, xt, yt, n_networks=n_networks, **{**kw, "batches_per_epoch": 2})
    best = math.inf
    for _ in range(REPEATS):
        start = time.perf_counter()
        bn.train_ensemble(WIDTHS, x, y, xt, yt, n_networks=n_networks, **kw)
        best = min(best, time.perf_counter() - start)
    return best * EPOCH_BATCHES / BATCHES


def main():
    torch.set_num_threads(THREADS)
    numba.set_num_threads(min(THREADS, numba.config.NUMBA_NUM_THREADS))
    x, y, xt, yt, source = data()
    print(f"LR-net training, {'-'.join(map(str, WIDTHS))}, {source}, {THREADS} threads, "
          "network-epochs/s (ratio: to the torch trainer one network at a time)")  # fmt: skip
    t_one = train_time(x, y, xt, yt, 1, "torch")
    header = ("E", "loop", "torch", "numba", "numba [ms/step]", "torch/loop", "numba/loop")
    print("{:>5} {:>8} {:>8} {:>8} {:>16} {:>11} {:>11}".format(*header))
    for e in (1, 16, 64, 256):
        t_torch = train_time(x, y, xt, yt, e, "torch")
        t_numba = train_time(x, y, xt, yt, e, "numba")
        t_loop = e * t_one
        print(
            f"{e:>5} {e / t_loop:>8.1f} {e / t_torch:>8.1f} {e / t_numba:>8.1f} "
            f"{1e3 * t_numba / EPOCH_BATCHES:>16.2f} {t_loop / t_torch:>10.1f}x "
            f"{t_loop / t_numba:>10.1f}x"
        )

    evaluation(x, y, xt, yt)


def evaluation(x, y, xt, yt):
    """Scoring speed on the test set, for draws from trained fields, and a 10⁵ collection."""
    trained = bn.train_ensemble(
        WIDTHS, x, y, xt, yt, n_networks=16, epochs=20, eval_every=0, seed=2
    )
    flat = bn.flatten_weights(trained.fields).double()
    flips = ((1 - torch.tanh(flat / 2).abs()) / 2).sum(dim=1).mean()
    gen = torch.Generator().manual_seed(5)
    configs = bn.sample_configurations(trained.fields, 16, gen)  # 256 draws, network by network
    networks = np.repeat(np.arange(16), 16)
    modes = np.where(flat.numpy() >= 0, 1, -1).astype(np.int8)
    reference = bn.reference_layer(modes, WIDTHS, xt, yt)
    xt_t, yt_t = torch.as_tensor(xt, dtype=torch.float32), torch.as_tensor(yt).long()

    def torch_correct(block):
        weights = bn.unflatten_weights(block.to(torch.float32), WIDTHS)
        with torch.no_grad():
            return bn.lrnet._binary_correct(weights, xt_t, yt_t, 2000)

    start = time.perf_counter()
    for c in configs[:32]:
        torch_correct(c[None])
    rates = {"torch, one at a time (baseline)": 32 / (time.perf_counter() - start)}
    start = time.perf_counter()
    for block in configs.split(32):
        torch_correct(block)
    rates["torch, chunks of 32"] = len(configs) / (time.perf_counter() - start)
    numpy_configs = configs.numpy()
    count_correct(numpy_configs[:2], WIDTHS, xt, yt)  # compile
    count_correct_incremental(numpy_configs[:2], networks[:2], reference)
    start = time.perf_counter()
    direct, _ = count_correct(numpy_configs, WIDTHS, xt, yt)
    rates["numba, direct"] = len(configs) / (time.perf_counter() - start)
    start = time.perf_counter()
    corrected, _ = count_correct_incremental(numpy_configs, networks, reference)
    rates["numba, corrected from the mode (eq. incremental-update)"] = len(configs) / (
        time.perf_counter() - start
    )
    assert np.array_equal(direct, corrected)
    print(f"scoring on {len(yt)} test images, draws from 16 networks trained 20 epochs "
          f"({float(flips):.1f} flipped weights per draw) [configurations/s]:")  # fmt: skip
    baseline = rates["torch, one at a time (baseline)"]
    for label, rate in rates.items():
        print(f"  {label:58s} {rate:8.0f}  {rate / baseline:5.1f}x")

    accs = bn.configuration_accuracy(
        bn.sample_configurations(trained.fields, 64, gen), WIDTHS, xt, yt
    )
    print(f"collections of {N_COLLECT} configurations, extrapolated to 2e6 (screening at 1000 and "
          "3000 images, z = 4):")  # fmt: skip
    for quantile in (0.5, 0.8):
        threshold = float(np.quantile(accs, quantile))
        wall, size, info = collect_time(trained.fields, xt, yt, threshold)
        scale = 2e6 / info.n_configs
        # the same draws scored directly: the scoring part of the plain collection
        draws = bn.sample_configurations(trained.fields, 128, gen).numpy()
        nets = np.repeat(np.arange(16), 128)
        order = np.random.default_rng(0).permutation(len(yt))
        screen = dict(threshold=threshold, screen_at=(1000, 3000))
        start = time.perf_counter()
        count_correct(draws, WIDTHS, xt[order], yt[order], **screen)
        t_direct = time.perf_counter() - start
        ref = bn.reference_layer(modes, WIDTHS, xt[order], yt[order])
        start = time.perf_counter()
        count_correct_incremental(draws, nets, ref, **screen)
        t_corrected = time.perf_counter() - start
        print(
            f"  threshold {threshold:.3f} (acceptance {info.acceptance:.2f}): {wall:.1f} s, "
            f"{size / 1e6:.1f} MB -> {wall * scale / 60:.1f} min, {size * scale / 1e9:.2f} GB; "
            f"scoring with the exits, direct / corrected: {t_direct / t_corrected:.1f}x"
        )


def collect_time(fields, xt, yt, threshold):
    out = Path(tempfile.mkdtemp())
    try:
        start = time.perf_counter()
        info = bn.collect_ensemble(fields, WIDTHS, xt, yt, out / "c", N_COLLECT, threshold,
                                   chunk_size=N_COLLECT // 4, seed=3)  # fmt: skip
        wall = time.perf_counter() - start
        size = sum(p.stat().st_size for p in (out / "c").iterdir())
    finally:
        shutil.rmtree(out)
    return wall, size, info


if __name__ == "__main__":
    main()
