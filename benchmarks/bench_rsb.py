"""One step of RSB in Yoshino's deep network: the library's solver against L-BFGS-B.

The 1RSB solution of the symmetric closure, L = 4 bond layers, random data, α = 30 (at
L = 10 the baseline needs more than half an hour; at L = 3, α = 30 the one-step branch
jams and neither method has a finite minimum to find). The
library (``solve_rsb``) minimises Φ̃ (the free entropy maximised over the conjugate fields,
eq. rsb-reduced of chapter ``yoshino_rsb``) by projected Newton with a trust region, with
analytic gradients and Schur-complement Hessians. The baseline is what one writes first:
``scipy.optimize.minimize(method="L-BFGS-B")`` on the same Φ̃, in the same coordinates, from
the same start (the RS solution split along its replicon mode), with finite-difference
gradients. Both answers are compared: the baseline counts as right when its Φ̃ is within
1e-6 of the library's.

Then the issue's targets (chapter ``yoshino_rsb``): 50 values of α at 1RSB (L = 10) in
≤ 30 s, and one 3RSB solve in ≤ 10 s (2 cores).
"""

from __future__ import annotations

import time
import warnings

import numpy as np
from scipy.optimize import minimize

from deepspin import deep_perceptron as dp
from deepspin.deep_perceptron.rsb import split_rs
from deepspin.deep_perceptron.rsb_functional import Layout
from deepspin.deep_perceptron.rsb_reduced import Reduced

ALPHA, L = 30.0, 4  # the side-by-side comparison
L_TARGET = 10  # the targets
GRID = (129, 24)  # solve_rsb's default n_grid, n_side
INCREMENT_MAX = 40.0  # the solver's coordinates: 1 − q ≥ e^{−40}
M_EDGE = 1e-7  # breakpoints inside (0, 1)


def seconds(fn):
    start = time.perf_counter()
    out = fn()
    return time.perf_counter() - start, out


def baseline(alpha, L):
    """L-BFGS-B with two-point finite-difference gradients on Φ̃, from solve_rsb's start."""
    rs = dp.solve_rs(alpha, L).value
    q, Q, qhat, m = split_rs(rs, 0.05)
    frozen = rs.q > 0
    q[~frozen], qhat[~frozen], Q[~(frozen[:-1] & frozen[1:])] = 0.0, 0.0, 0.0
    layout = Layout(L, 1)
    reduced = Reduced(alpha, layout, frozen, layout.pack(q, Q, qhat, m), GRID)
    y0 = reduced.y_of(reduced.x)
    lower = np.zeros(y0.size)
    lower[reduced.n_rows :] = M_EDGE
    bounds = list(zip(lower, np.full(y0.size, INCREMENT_MAX), strict=True))
    y0 = np.clip(y0, lower, INCREMENT_MAX)

    def value(y):
        v = reduced.fun(y)[0]
        return v if np.isfinite(v) else 1e3  # outside Φ̃'s domain: a wall

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = minimize(value, y0, method="L-BFGS-B", bounds=bounds,
                       options={"maxiter": 500, "ftol": 1e-14, "gtol": 1e-8})  # fmt: skip
    return float(res.fun), bool(res.success), int(res.nfev)


def main():
    library_time, library = seconds(lambda: dp.solve_rsb(ALPHA, L, 1))
    phi_library = dp.rsb_free_entropy(ALPHA, library.value.q, library.value.Q,
                                      library.value.qhat, library.value.m)  # fmt: skip
    baseline_time, (phi_baseline, ok, n_eval) = seconds(lambda: baseline(ALPHA, L))
    right = ok and abs(phi_baseline - phi_library) < 1e-6
    print(f"1RSB, symmetric closure, L = {L}, α = {ALPHA:g}")
    print(f"{'method':>34} {'seconds':>8} {'Φ':>14} {'converged':>10} {'right':>6}")
    print(f"{'L-BFGS-B, finite differences':>34} {baseline_time:>8.2f} {phi_baseline:>14.9f} "
          f"{ok!s:>10} {right!s:>6}   ({n_eval} evaluations of Φ̃)")  # fmt: skip
    steps = f"({library.iterations} Newton steps)"
    print(f"{'solve_rsb (projected Newton)':>34} {library_time:>8.2f} {phi_library:>14.9f} "
          f"{library.converged!s:>10} {'True':>6}   {steps}")  # fmt: skip
    print(f"speed-up {baseline_time / library_time:.1f}x")
    alphas = np.geomspace(10.0, 200.0, 10)
    scan_time, scan = seconds(lambda: dp.rsb_phase_diagram(alphas, L_TARGET, 1))
    per_alpha = scan_time / alphas.size
    print(f"1RSB scan, L = {L_TARGET}, {alphas.size} values of α in [10, 200]: {scan_time:.1f} s "
          f"({per_alpha:.2f} s per α, {int(scan['converged'].sum())} converged); "
          f"50 values at this rate: {50 * per_alpha:.0f} s, goal ≤ 30 s: "
          f"{'met' if 50 * per_alpha <= 30.0 else 'NOT met'}")  # fmt: skip
    three_time, three = seconds(lambda: dp.solve_rsb(ALPHA, L_TARGET, 3, warn=False))
    print(f"3RSB, L = {L_TARGET}, α = {ALPHA:g}: {three_time:.1f} s (converged {three.converged}); "
          f"goal ≤ 10 s: {'met' if three_time <= 10.0 else 'NOT met'}")  # fmt: skip


if __name__ == "__main__":
    main()
