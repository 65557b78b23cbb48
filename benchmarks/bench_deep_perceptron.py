"""Deep perceptron RS phase diagram: the library's continuation against plain fsolve.

The full RS phase diagram of Yoshino's network in the symmetric closure, L = 20 bond
layers, 200 values of α from 0.1 to 10⁵ (random data). The library (``phase_diagram``)
follows the frozen set by continuation with Newton in logit variables. The baseline is
what one writes first: ``scipy.optimize.fsolve`` on ``x = T(x)`` for all 2L − 1 order
parameters from a cold start (q = Q = ½) at every α. Goal: the library in ≤ 10 s on
2 cores. The baseline's answers are compared with the library's: a point counts as
right when every overlap agrees to 1e-6.

A second line times the exact-node closure (L = 10, 60 values of α), whose node
functions are double integrals.

A third compares two ways to get the α that freezes a network right through, for every
depth L = 2 … 24 (symmetric closure): ``freezing_by_depth``, which reads them all off one
one-sided front, against the plain way, the last onset of each depth separately
(``onsets(L)[-1]``); the answers must agree to 1e-6.
"""

from __future__ import annotations

import time
import warnings

import numpy as np
from scipy.optimize import fsolve

from deepspin import deep_perceptron as dp

L = 20
ALPHAS = np.geomspace(0.1, 1e5, 200)


def fsolve_point(alpha, L):
    """Cold-start fsolve on the fixed-point equations of (q_1 … q_{L−1}, Q_1 … Q_L)."""

    def equations(x):
        q = np.concatenate([[1.0], np.clip(x[: L - 1], 0.0, 1.0), [1.0]])
        Q = np.clip(x[L - 1 :], 0.0, 1.0 - 1e-15)
        q_new, Q_new, _ = dp.saddle_map(alpha, q, Q)
        return np.concatenate([q_new[1:-1], Q_new]) - x

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        x, _, ier, _ = fsolve(equations, np.full(2 * L - 1, 0.5), full_output=True)
    return x, ier == 1


def seconds(fn):
    start = time.perf_counter()
    out = fn()
    return time.perf_counter() - start, out


def main():
    library_time, diagram = seconds(lambda: dp.phase_diagram(ALPHAS, L))
    baseline_time, points = seconds(lambda: [fsolve_point(a, L) for a in ALPHAS])
    right = 0
    for i, (x, ok) in enumerate(points):
        reference = np.concatenate([diagram["q"][i, 1:-1], diagram["Q"][i]])
        right += bool(ok and np.all(np.abs(x - reference) < 1e-6))
    reported = sum(ok for _, ok in points)
    print(f"RS phase diagram, symmetric closure, L = {L}, {ALPHAS.size} values of α in [0.1, 1e5]")
    print(f"{'method':>28} {'seconds':>8} {'converged':>10} {'right':>6}")
    print(f"{'fsolve, cold start':>28} {baseline_time:>8.2f} {reported:>10d} {right:>6d}")
    n_converged = int(diagram["converged"].sum())
    print(f"{'phase_diagram':>28} {library_time:>8.2f} {n_converged:>10d} {n_converged:>6d}")
    print(
        f"speed-up {baseline_time / library_time:.1f}x; "
        f"goal ≤ 10 s: {'met' if library_time <= 10.0 else 'NOT met'}"
    )
    node_alphas = np.geomspace(0.5, 1e5, 60)
    node_time, node = seconds(lambda: dp.phase_diagram(node_alphas, 10, closure="exact-node"))
    print(
        f"exact-node closure, L = 10, {node_alphas.size} values of α: {node_time:.2f} s, "
        f"{int(node['converged'].sum())} converged"
    )
    depths = range(2, 25)
    front_time, front = seconds(lambda: dp.freezing_by_depth(max(depths)))
    plain_time, plain = seconds(lambda: np.array([dp.onsets(d)[-1] for d in depths]))
    worst = float(np.max(np.abs(front["alpha"] / plain - 1.0)))
    print(
        f"whole-network freezing, L = 2 … {max(depths)}: freezing_by_depth {front_time:.1f} s, "
        f"onsets per depth {plain_time:.1f} s (speed-up {plain_time / front_time:.1f}x); "
        f"largest relative difference {worst:.1e} ({'ok' if worst < 1e-6 else 'DIFFERENT'})"
    )


if __name__ == "__main__":
    main()
