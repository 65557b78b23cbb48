"""Monte Carlo over a random MLP's inputs: one batched tensor against a loop over replicas.

The network is tanh, one hidden layer, N₀ = 100, width 1024 (C_W = 1, C_b = 0). The
library (``parallel_tempering``) moves R replicas as one tensor: R = 1 (one chain), 64
(8 copies × 8 temperatures) and 1024 (128 copies × 8 temperatures), each sweep a
Metropolis move of every replica plus the replica exchanges and the bookkeeping. The
baseline is what one writes first: a Python loop over the replicas, each doing the same
move alone (tangent step, re-projection, one forward pass, Metropolis test), without
exchanges, so the ratio understates the gain. Both report replica-sweeps per second.

    python benchmarks/bench_sampling.py [--device cuda] [--seconds 3] [--threads 1]

On 2 CPU cores shared with another busy process, torch's two intra-op threads wait on
each other at every batched operation and the library slows down several-fold; the
single-replica loop (tensors below torch's parallel grain) does not. ``--threads 1``
then gives the fair number.
"""

from __future__ import annotations

import argparse
import math
import platform
import time

import numpy as np
import torch

from deepspin import hamiltonians as hm

N_INPUT, WIDTH = 100, 1024
BETAS = np.geomspace(0.5, 3.0, 8)
LAYOUTS = {1: (1, 1), 64: (8, 8), 1024: (128, 8)}  # R: (copies, temperatures)


def device_name(device):
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return f"{platform.processor() or platform.machine()}, {torch.get_num_threads()} threads"


def sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def library_rate(net, n_replicas, seconds):
    """Replica-sweeps per second of ``parallel_tempering`` (timed after a short warm-up)."""
    copies, temps = LAYOUTS[n_replicas]

    def run(n_sweeps):
        res = hm.parallel_tempering(net, BETAS[:temps], n_copies=copies, n_sweeps=n_sweeps,
                                    n_burn=0, seed=0, record_every=n_sweeps,
                                    progress=False)  # fmt: skip
        return res.seconds

    elapsed = run(20)
    n_sweeps = max(20, int(seconds / max(elapsed / 20, 1e-6)))
    return n_replicas * n_sweeps / run(n_sweeps)


def baseline_rate(net, n_replicas, seconds, beta=1.0, step=0.05):
    """Replica-sweeps per second of a Python loop over single replicas."""
    device, dtype, n = net.device, net.dtype, N_INPUT
    (w1, v), (b1, b_out) = net.weights, net.biases
    w1, v, b1, b_out = w1[0], v[0, :, 0], b1[0], b_out[0, 0]
    gen = torch.Generator(device=device)
    gen.manual_seed(0)

    def energy(x):
        return math.sqrt(n) * (torch.tanh(x @ w1 + b1) @ v + b_out)

    xs = [torch.randn(n, generator=gen, device=device, dtype=dtype) for _ in range(n_replicas)]
    xs = [x * math.sqrt(n) / torch.linalg.vector_norm(x) for x in xs]
    hs = [energy(x) for x in xs]
    sweeps, start = 0, time.perf_counter()
    with torch.no_grad():
        while True:
            for r in range(n_replicas):
                x = xs[r]
                xi = torch.randn(n, generator=gen, device=device, dtype=dtype)
                xi = xi - (xi @ x / n) * x
                y = x + step * xi
                y = y * (math.sqrt(n) / torch.linalg.vector_norm(y))
                h_new = energy(y)
                u = torch.rand((), generator=gen, device=device, dtype=dtype)
                if torch.log(u) < -beta * (h_new - hs[r]):
                    xs[r], hs[r] = y, h_new
            sweeps += 1
            sync(device)
            if time.perf_counter() - start > seconds:
                break
    return n_replicas * sweeps / (time.perf_counter() - start)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--seconds", type=float, default=3.0, help="time per measurement")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    net = hm.random_mlp(N_INPUT, 1, WIDTH, "tanh", n_networks=1, seed=0, device=device)
    print(f"tanh MLP, depth 1, N₀ = {N_INPUT}, width {WIDTH}, float64 on {device_name(device)}")
    print(f"{'R':>6} {'layout (C × K)':>15} {'library /s':>12} {'loop /s':>10} {'ratio':>7}")
    for n_replicas, (copies, temps) in LAYOUTS.items():
        lib = library_rate(net, n_replicas, args.seconds)
        base = baseline_rate(net, n_replicas, args.seconds)
        layout = f"{copies} × {temps}"
        print(f"{n_replicas:>6} {layout:>15} {lib:>12.0f} {base:>10.0f} {lib / base:>7.1f}")
    print("rates in replica-sweeps per second (one Metropolis move of one replica each)")


if __name__ == "__main__":
    main()
