"""Contract cases of the core modules: perceptron, gauss, stats, verdicts and plotting.

Valid calls are tiny (N ≤ 11, a handful of patterns, 8-node rules); the one solver that
brackets a root by stepping in α, ``ising_entropy_zero``, runs at κ = 2 where the zero of
the RS entropy (α ≈ 0.116) is six steps away.
"""

import math

import numpy as np
from contract_spec import Array, Bool, Case, Choice, Int, IntArray, Real, Seed, Spins, Values
from matplotlib.figure import Figure

from deepspin import gauss, plotting, stats, verdicts
from deepspin import perceptron as pc

NAN, INF = math.nan, math.inf
NOT_REAL = (NAN, "abc", None, {"a": 1}, [0.5, NAN], True)  # ±inf are valid: exact limits
SCALAR_OR_ARRAY = Values((NAN, INF, -INF, "1.0", None, {"a": 1}, [0.0, NAN], True))


def _cosine(z):
    return np.cos(z)


def _enumeration_curves() -> dict:
    alpha = np.linspace(0.0, 0.6, 7)
    curve = {"alpha": alpha, "entropy": np.log(2) - alpha, "entropy_err": np.full(7, 0.01)}
    return {"curves": {n: dict(curve) for n in (11, 15, 19)}, "alphas": [0.2, 0.3], "kappa": 0.0}


def _bad_curves() -> Values:
    alpha = np.linspace(0.0, 0.6, 7)
    good = {"alpha": alpha, "entropy": -alpha, "entropy_err": np.full(7, 0.01)}
    return Values(
        (
            {},
            {11: good},
            "abc",
            None,
            [good, good],
            {0: good, 11: good},
            {11: good, 15: {"alpha": alpha, "entropy": -alpha}},
            {11: good, 15: {**good, "alpha": alpha[::-1]}},
            {11: good, 15: {**good, "entropy": alpha[:3]}},
            {11: good, 15: {**good, "alpha": np.full(7, NAN)}},
            {11: good, 15: "curve"},
        )
    )


def _rule(a):
    return "reproduced" if a > 0 else "contradicted"


CLAIM = verdicts.Claim("x is positive", "paper", ("a",), _rule)

CASES = [
    # ---------------------------------------------------------------- perceptron
    Case(
        pc.energy_term,
        {"q": 0.5, "kappa": 0.0, "n": 16},
        {"q": Real(0.0, 1.0, high_open=True), "kappa": Real(), "n": Int(2, 10_000)},
    ),
    Case(
        pc.energy_kernel,
        {"q": 0.5, "kappa": 0.3, "n": 16},
        {"q": Real(0.0, 1.0, high_open=True), "kappa": Real(), "n": Int(2, 10_000)},
    ),
    Case(pc.capacity_rs, {"kappa": 0.5}, {"kappa": SCALAR_OR_ARRAY}),
    Case(
        pc.entropy_rs,
        {"alpha": 0.5, "q": 0.3, "kappa": 0.0, "weights": "ising", "qhat": 0.5},
        {
            "alpha": Real(0.0),
            "q": Real(0.0, 1.0, high_open=True),
            "kappa": Real(),
            "weights": Choice(("spherical", "ising")),
            "qhat": Real(0.0),
        },
    ),
    Case(
        pc.solve_rs,
        {"alpha": 0.5, "kappa": 0.0, "weights": "spherical", "tol": 1e-10, "max_iter": 100},
        {
            "alpha": Real(0.0),
            "kappa": Real(0.0),
            "weights": Choice(("spherical", "ising")),
            "tol": Real(0.0, 1.0, low_open=True, high_open=True),
            "max_iter": Int(1),
        },
    ),
    Case(
        pc.ising_entropy_zero,
        {"kappa": 2.0, "tol": 1e-8, "max_iter": 100},
        {
            "kappa": Real(0.0),
            "tol": Real(0.0, 1.0, low_open=True, high_open=True),
            "max_iter": Int(1),
        },
    ),
    Case(
        pc.random_patterns,
        {"n": 5, "p": 3, "n_samples": 2, "kind": "binary", "seed": 0},
        {
            "n": Int(1),
            "p": Int(0),
            "n_samples": Int(1),
            "kind": Choice(("binary", "gaussian")),
            "seed": Seed(),
        },
    ),
    Case(
        pc.count_solutions,
        lambda: {"patterns": pc.random_patterns(5, 4, 2, seed=0), "kappa": 0.0, "progress": False},
        {"patterns": Spins(fixed_shape=False), "kappa": Real(0.0), "progress": Bool()},
    ),
    Case(
        pc.count_solutions_numpy,
        lambda: {"patterns": pc.random_patterns(5, 4, seed=0)[0], "kappa": 0.0, "chunk": 8},
        {"patterns": Spins(fixed_shape=False), "kappa": Real(0.0), "chunk": Int(1, 1 << 24)},
    ),
    Case(
        pc.entropy_from_counts,
        {"counts": np.array([[8, 4, 2, 0], [8, 4, 1, 1], [8, 2, 2, 1]]), "n": 3},
        {"counts": Array(0.0), "n": Int(1)},
    ),
    Case(pc.effective_margin, {"n": 13, "kappa": 0.5}, {"n": Int(1), "kappa": Real(0.0)}),
    Case(
        pc.enumeration_vs_rs,
        _enumeration_curves,
        {
            "curves": _bad_curves(),
            # the loads lie in (1/min(N), largest load] = (1/11, 0.6]
            "alphas": Array(1 / 11, 0.6, low_open=True),
            "kappa": Real(0.0),
        },
    ),
    Case(
        pc.is_separable_lp,
        {"patterns": np.random.default_rng(0).standard_normal((4, 3))},
        {"patterns": Array()},
    ),
    Case(
        pc.max_stability,
        {"patterns": np.random.default_rng(0).standard_normal((4, 3))},
        {"patterns": Array()},
    ),
    Case(
        pc.capacity_samples,
        {
            "n": 5,
            "kappa": 0.0,
            "n_samples": 2,
            "alpha_max": 1.0,
            "method": "qp",
            "seed": 0,
            "progress": False,
        },
        {
            "n": Int(1),
            "kappa": Real(0.0),
            "n_samples": Int(1),
            "alpha_max": Real(0.0, low_open=True, allow_none=True),
            "method": Choice(("lp", "qp")),
            "seed": Seed(),
            "progress": Bool(),
        },
    ),
    Case(
        pc.cover_probability,
        {"p": np.array([1, 5, 10]), "n": 3},
        {"p": IntArray(0), "n": Int(1)},
    ),
    # ---------------------------------------------------------------- gauss
    Case(gauss.G, {"x": 0.5}, {"x": Values(NOT_REAL)}),
    Case(gauss.H, {"x": 0.5}, {"x": Values(NOT_REAL)}),
    Case(gauss.log_H, {"x": 0.5}, {"x": Values(NOT_REAL)}),
    Case(gauss.G_over_H, {"x": 0.5}, {"x": Values(NOT_REAL)}),
    Case(gauss.gauss_hermite, {"n": 4}, {"n": Int(1, 10_000)}),
    Case(gauss.legendre_nodes, {"n": 4}, {"n": Int(1, 10_000)}),
    Case(
        gauss.panel_legendre,
        {"panels": ((-1.0, 0.0), (0.0, 2.0)), "n": 4},
        {
            "panels": Values(
                (
                    (),
                    "ab",
                    None,
                    3,
                    ((0.0, -1.0),),
                    ((0.0, 0.0),),
                    ((0.0, NAN),),
                    [(0.0, INF)],
                    ((0.0, 1.0, 2.0),),
                    (("a", "b"),),
                )
            ),
            "n": Int(1, 10_000),
        },
    ),
    Case(
        gauss.split_gauss_nodes,
        {"breakpoint": 0.5, "n": 8, "zmax": 12.0},
        {
            "breakpoint": Values((NAN, INF, -INF, "abc", None, [0.0, NAN], True)),
            "n": Int(2, 10_000),
            "zmax": Real(1.0, 40.0),
        },
    ),
    Case(
        gauss.gaussian_average,
        {"f": _cosine, "n": 8, "breakpoint": 0.0, "zmax": 12.0},
        {
            "f": Values(
                (
                    "cos",
                    None,
                    3,
                    lambda z: np.full_like(z, NAN),
                    lambda z: z[:3],
                    lambda z: "abc",
                )
            ),
            "n": Int(2, 10_000),
            "breakpoint": Real(),
            "zmax": Real(1.0, 40.0),
        },
    ),
    Case(
        gauss.gaussian_convolution,
        lambda: {
            "values": np.sin(np.linspace(-3, 3, 7)),
            "grid": np.linspace(-3, 3, 7),
            "variance": 0.5,
            "n_nodes": 8,
        },
        {
            "values": Array(fixed_shape=True),
            "grid": Array(fixed_shape=True),
            "variance": Real(0.0),
            "n_nodes": Int(1, 10_000),
        },
    ),
    # ---------------------------------------------------------------- stats
    Case(
        stats.mean_and_sem,
        {"samples": np.array([[1.0, 2.0], [3.0, NAN], [5.0, 4.0]]), "axis": 0},
        {
            "samples": Values(("abc", None, 3.0, {"a": 1}, np.array([1.0, INF]))),
            "axis": Int(-2, 1),
        },
    ),
    Case(
        stats.finite_size_extrapolation,
        {
            "sizes": np.array([10.0, 20.0, 40.0]),
            "values": np.array([1.1, 1.05, 1.02]),
            "errors": np.array([0.01, 0.01, 0.02]),
        },
        {
            "sizes": Array(0.0, low_open=True, fixed_shape=True),
            "values": Array(fixed_shape=True),
            "errors": Values(
                (
                    "abc",
                    [0.01, 0.0, 0.01],
                    [0.01, -1.0, 0.01],
                    [0.01, NAN, 0.01],
                    [0.01, INF, 0.01],
                    [0.01, 0.01],
                    [[0.01, 0.01, 0.01]],
                    [1e-17, 0.01, 0.01],  # degenerate: one point fixes the line alone
                )
            ),
        },
    ),
    # ---------------------------------------------------------------- verdicts
    Case(
        verdicts.Claim,
        {
            "claim": "x is positive",
            "source": "paper",
            "evidence": ("a",),
            "verdict": _rule,
            "agree": None,
            "methods": "",
            "formats": {"a": ".3f"},
        },
        {
            "claim": Values(("", "  ", None, 3)),
            "source": Values(("", None, 3)),
            "evidence": Values(("a", None, 3, ("a", 2), ("",), ())),
            "verdict": Values(("reproduced", "probably", None, 3)),
            "agree": Values(("yes", 1.5, [True])),
            "methods": Values((None, 3)),
            "formats": Values(([".3f"], None, {"b": ".3f"}, {"a": "??"}, {"a": 3})),
        },
    ),
    Case(
        verdicts.format_value,
        {"value": 0.5, "spec": ".4g", "max_items": 6},
        {"spec": Values(("??", 3, None, "d")), "max_items": Int(1)},
        unchecked={"value": "any value is formatted: numbers by spec, other objects by str"},
    ),
    Case(
        verdicts.verdict_table,
        {"claims": [CLAIM], "values": {"a": 1.0}},
        {
            "claims": Values(([], "claim", None, [1], 3, CLAIM)),
            "values": Values(([1, 2], "abc", 3, {})),
        },
    ),
    # ---------------------------------------------------------------- plotting
    Case(plotting.use_style, {}, {}),
    Case(plotting.parameter_caption, {}, {}),  # **params only; tests/test_plotting.py
    Case(
        plotting.save_figure,
        lambda: {"fig": Figure(), "name": "figure"},
        {"fig": Values((None, "fig", 3)), "name": Values(("", "../escape", "a/b", None, 3))},
    ),
]

RECORDS = {
    "deepspin.perceptron.RSSolution": "named tuple returned as a solve_rs result's value",
    "deepspin.stats.Extrapolation": "named tuple returned by finite_size_extrapolation",
    "deepspin.verdicts.VerdictTable": "dataclass returned by verdict_table, rendered by Jupyter",
}
