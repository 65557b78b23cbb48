"""Entropy landscape: the library's warm-started sweep against a cold start at every x.

A full landscape at N = 675 (the size of the deep Zou–Huang network): 121 coupling
fields x in [−3, 3], swept up and then down, float64, on the numba threads available.
The model is random with the strength of the fitted boundary layers (J_ij ~ N(0, 0.03²),
h_i ~ N(0, 0.3²)); the reference is a configuration drawn by Metropolis from it. The
baseline solves every x from fresh messages with the same BP (what a loop over
``belief_propagation`` does). Goal: both directions in ≤ 2 s on 2 cores.
"""

from __future__ import annotations

import time

import numba
import numpy as np

from deepspin.ising import belief_propagation, entropy_landscape, metropolis

N = 675
X = np.linspace(-3.0, 3.0, 121)


def random_model(n, seed=0):
    rng = np.random.default_rng(seed)
    J = np.triu(rng.normal(0.0, 0.03, (n, n)), 1)
    return rng.normal(0.0, 0.3, n), J + J.T


def cold_landscape(h, J, reference, x):
    return [belief_propagation(h + xi * reference, J, correlations=False) for xi in x]


def seconds(fn):
    start = time.perf_counter()
    out = fn()
    return time.perf_counter() - start, out


def main():
    h, J = random_model(N)
    reference = metropolis(h, J, n_chains=1, sweeps=200, seed=1).final[0].astype(float)
    entropy_landscape(h[:40], J[:40, :40], reference[:40], X[:5])  # compile
    warm, (up, down) = seconds(
        lambda: (entropy_landscape(h, J, reference, X), entropy_landscape(h, J, reference, X[::-1]))
    )
    cold, points = seconds(
        lambda: (cold_landscape(h, J, reference, X), cold_landscape(h, J, reference, X[::-1]))
    )
    sweeps_warm = up.iterations.sum() + down.iterations.sum()
    sweeps_cold = sum(p.iterations for run in points for p in run)
    print(f"entropy landscape, N = {N}, {X.size} x-values, both directions, float64, "
          f"{numba.get_num_threads()} numba threads")  # fmt: skip
    print(f"{'method':>24} {'seconds':>8} {'BP sweeps':>10}")
    print(f"{'cold start at every x':>24} {cold:>8.2f} {sweeps_cold:>10d}")
    print(f"{'entropy_landscape':>24} {warm:>8.2f} {sweeps_warm:>10d}")
    print(f"speed-up {cold / warm:.1f}x; goal ≤ 2 s: {'met' if warm <= 2.0 else 'NOT met'}")
    print(f"all points converged: {bool(up.converged.all() and down.converged.all())}")


if __name__ == "__main__":
    main()
