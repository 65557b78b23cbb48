"""Exact enumeration of Ising-perceptron solutions: numba Gray code vs plain numpy.

Both count, for one sample of P = N random ±1 patterns, the solutions of every prefix
of the patterns. The numpy baseline builds all 2^N sign vectors in chunks and uses one
matrix product per chunk (O(N P) per vector); the numba kernel walks the vectors in
Gray-code order (O(P) per vector) and runs samples in parallel. Both are timed on the
same patterns in the same run and their outputs compared.
"""

from __future__ import annotations

import time

import numpy as np

from deepspin import perceptron as pc


def best_of(fn, repeat=3):
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - start)
    return min(times), out


def main():
    pc.count_solutions(pc.random_patterns(9, 9, 1, seed=0)[0])  # compile outside the timing
    print("exact enumeration of Ising-perceptron solutions, one sample, P = N (best of 3)")
    print(f"{'N':>4} {'numpy [s]':>11} {'numba [s]':>11} {'speed-up':>9}")
    for n in (14, 16, 18, 20):
        pats = pc.random_patterns(n, n, 1, seed=n)[0]
        t_np, c_np = best_of(lambda pats=pats: pc.count_solutions_numpy(pats))
        t_nb, c_nb = best_of(lambda pats=pats: pc.count_solutions(pats))
        assert np.array_equal(c_np, c_nb)
        print(f"{n:>4} {t_np:>11.4f} {t_nb:>11.4f} {t_np / t_nb:>8.1f}x")
    n, samples = 18, 8
    pats = pc.random_patterns(n, n, samples, seed=1)
    t_np, _ = best_of(lambda: [pc.count_solutions_numpy(p) for p in pats], repeat=1)
    t_nb, _ = best_of(lambda: pc.count_solutions(pats), repeat=1)
    print(
        f"batch of {samples} samples at N = {n}: numpy {t_np:.3f} s, numba (parallel) "
        f"{t_nb:.3f} s, speed-up {t_np / t_nb:.1f}x"
    )


if __name__ == "__main__":
    main()
