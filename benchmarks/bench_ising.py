"""Belief propagation: the numba ratio-form BP against a plain vectorised numpy BP.

Sweeps per second on random dense models (J_ij ~ N(0, 0.03²), h_i ~ N(0, 0.1²), the
strength of the fitted Zou–Huang boundary layers) at N = 200, 675, 2000, float64, on one
and on two threads. The plain baseline is the textbook synchronous update over the
N × N matrix of cavity magnetisations: arctanh, a column sum, tanh, and the largest
change as its convergence check.
"""

from __future__ import annotations

import time

import numba
import numpy as np

from deepspin.ising import belief_propagation

SWEEPS = 50


def random_model(n, seed=0):
    rng = np.random.default_rng(seed)
    J = np.triu(rng.normal(0.0, 0.03, (n, n)), 1)
    return rng.normal(0.0, 0.1, n), J + J.T


def numpy_bp_sweeps(h, J, sweeps):
    """Plain BP: ``m_{i→j} = tanh(h_i + Σ_k artanh(t_ki m_{k→i}) − artanh(t_ji m_{j→i}))``."""
    t = np.tanh(J)
    m = np.zeros_like(J)  # m[i, j] = m_{i→j}
    for _ in range(sweeps):
        u = np.arctanh(t * m)  # u[k, i] = u_{k→i}
        field = h + u.sum(axis=0)
        new = np.tanh(field[:, None] - u.T)
        np.fill_diagonal(new, 0.0)
        residual = np.abs(new - m).max()  # the convergence check every BP loop makes
        m = new
    return m, residual


def rate(fn, sweeps):
    best = np.inf
    for _ in range(2):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return sweeps / best


def main():
    print(
        f"BP sweeps per second (float64; numba: the time of a call with {SWEEPS} sweeps "
        "minus that of a call with none)"
    )
    overheads = []
    header = ("N", "numpy", "numba 1 thread", "ratio", "numba 2 threads", "ratio")
    print("{:>6} {:>9} {:>15} {:>7} {:>16} {:>7}".format(*header))
    for n in (200, 675, 2000):
        h, J = random_model(n)
        plain_sweeps = max(3, SWEEPS * 200 // n // 4)
        plain = rate(lambda: numpy_bp_sweeps(h, J, plain_sweeps), plain_sweeps)  # noqa: B023
        rates, fixed = [], []
        for threads in (1, 2):
            numba.set_num_threads(threads)
            belief_propagation(h, J, max_sweeps=1, warn=False)  # compile and warm up
            overhead = min(call_time(h, J, 0) for _ in range(3))
            full = min(call_time(h, J, SWEEPS) for _ in range(3))
            rates.append(SWEEPS / (full - overhead))
            fixed.append(overhead)
        print(
            f"{n:>6} {plain:>9.1f} {rates[0]:>15.1f} {rates[0] / plain:>6.1f}x "
            f"{rates[1]:>16.1f} {rates[1] / plain:>6.1f}x"
        )
        overheads.append(f"N = {n}: {fixed[0] * 1e3:.1f} ms (1 thread), {fixed[1] * 1e3:.1f} ms")
    print("fixed cost of a call (checks, tanh J, fresh messages, ln Z and C):")
    print("  " + "; ".join(overheads))


def call_time(h, J, sweeps):
    start = time.perf_counter()
    belief_propagation(h, J, tol=1e-300, max_sweeps=sweeps, warn=False)
    return time.perf_counter() - start


if __name__ == "__main__":
    main()
