"""LR-net training and binary evaluation: batched torch ensembles vs one network at a time.

Training: network-epochs per second (one epoch = 60 000 examples, 300 batches of 200)
of the batched trainer for E = 1, 16, 64, 256 networks, against a loop that trains the
same networks one at a time (E = 1 per call), both measured here on 30 batches and
scaled to an epoch. Evaluation: binary configurations scored on the 10 000 test images
per second: torch one at a time (the plain baseline), torch in chunks of 32, and the numba
kernel. Collection: wall time and disk size of a 10⁴-configuration collection at two
thresholds, with the exact early exits only and with the statistical screening,
extrapolated to the paper's 2×10⁶. Synthetic inputs of the PCA-MNIST shape are used
when MNIST is absent.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from deepspin import binary_nets as bn

WIDTHS = (20, 15, 15, 10)
BATCHES = 30
EPOCH_BATCHES = 300
N_COLLECT = 10_000


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


def train_time(x, y, xt, yt, n_networks):
    kw = dict(epochs=1, batch_size=200, batches_per_epoch=BATCHES, eval_every=0, seed=0)
    bn.train_ensemble(WIDTHS, x, y, xt, yt, n_networks=n_networks, **{**kw, "batches_per_epoch": 2})
    start = time.perf_counter()
    bn.train_ensemble(WIDTHS, x, y, xt, yt, n_networks=n_networks, **kw)
    return (time.perf_counter() - start) * EPOCH_BATCHES / BATCHES


def main():
    torch.set_num_threads(2)
    x, y, xt, yt, source = data()
    print(f"LR-net training, {'-'.join(map(str, WIDTHS))}, {source}, 2 threads")
    t_one = train_time(x, y, xt, yt, 1)
    header = ("E", "loop [s/epoch]", "batched [s/epoch]", "net-epochs/s", "ratio")
    print("{:>5} {:>15} {:>18} {:>13} {:>7}".format(*header))
    for e in (1, 16, 64, 256):
        t_batched = train_time(x, y, xt, yt, e)
        t_loop = e * t_one
        rate, ratio = e / t_batched, t_loop / t_batched
        print(f"{e:>5} {t_loop:>15.2f} {t_batched:>18.2f} {rate:>13.1f} {ratio:>6.1f}x")

    configs = bn.sample_configurations(bn.init_fields(WIDTHS, 4, 1.0, seed=1), 128)
    xt_t, yt_t = torch.as_tensor(xt, dtype=torch.float32), torch.as_tensor(yt).long()

    def torch_accuracy(block):
        weights = bn.unflatten_weights(block.to(torch.float32), WIDTHS)
        with torch.no_grad():
            return bn.lrnet._binary_correct(weights, xt_t, yt_t, 2000)

    start = time.perf_counter()
    for c in configs[:32]:
        torch_accuracy(c[None])
    per_one = (time.perf_counter() - start) / 32
    start = time.perf_counter()
    for block in configs.split(32):
        torch_accuracy(block)
    per_torch = (time.perf_counter() - start) / len(configs)
    bn.configuration_accuracy(configs[:2], WIDTHS, xt, yt)  # compile
    start = time.perf_counter()
    bn.configuration_accuracy(configs, WIDTHS, xt, yt)
    per_numba = (time.perf_counter() - start) / len(configs)
    print(
        f"evaluation on {len(yt)} test images [configs/s]: torch one at a time "
        f"{1 / per_one:.0f}, torch chunks of 32 {1 / per_torch:.0f}, numba kernel "
        f"{1 / per_numba:.0f}; ratio numba / one at a time {per_one / per_numba:.1f}x, "
        f"numba / torch chunks {per_torch / per_numba:.1f}x"
    )

    trained = bn.train_ensemble(WIDTHS, x, y, xt, yt, n_networks=16, epochs=3, eval_every=0, seed=2)
    accs = bn.configuration_accuracy(bn.sample_configurations(trained.fields, 64), WIDTHS, xt, yt)
    print(f"collections of {N_COLLECT} configurations, extrapolated to 2e6 (moments counted once):")
    for quantile in (0.5, 0.8):
        threshold = float(np.quantile(accs, quantile))
        for screen_at, label in (((), "exact exits only"), ((1000, 3000), "with screening")):
            wall, size, info = collect_time(trained.fields, xt, yt, threshold, screen_at)
            scale = 2e6 / info.n_configs
            print(
                f"  threshold {threshold:.3f} (acceptance {info.acceptance:.2f}), {label}: "
                f"{wall:.1f} s, {size / 1e6:.1f} MB -> {wall * scale / 60:.0f} min, "
                f"{size * scale / 1e9:.2f} GB"
            )


def collect_time(fields, xt, yt, threshold, screen_at):
    out = Path(tempfile.mkdtemp())
    try:
        start = time.perf_counter()
        info = bn.collect_ensemble(
            fields, WIDTHS, xt, yt, out / "c", N_COLLECT, threshold, chunk_size=5000,
            screen_at=screen_at, seed=3,
        )  # fmt: skip
        wall = time.perf_counter() - start
        size = sum(p.stat().st_size for p in (out / "c").iterdir())
    finally:
        shutil.rmtree(out)
    return wall, size, info


if __name__ == "__main__":
    main()
