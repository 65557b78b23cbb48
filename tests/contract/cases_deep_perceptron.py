"""Contract cases of deepspin.deep_perceptron: layer functions, maps, solvers and the bulk."""

from dataclasses import dataclass, replace

import numpy as np
from contract_spec import Array, Bool, Case, Choice, Int, Real, Seed, Values

from deepspin.deep_perceptron import bulk, exact_node, forward, kernels, rs

SCENARIO = Choice(("random", "teacher"))
CLOSURE = Choice(("symmetric", "exact-node"))
XTOL = Real(0.0, 1e-2, low_open=True)
POSITIVE = Real(0.0, low_open=True)


@dataclass(frozen=True)
class Entries(Array):
    """An array of any shape evaluated entrywise (a vectorised function): only its entries
    are checked, so the shape variants of :class:`Array` are valid input."""

    def examples(self, valid) -> list:
        shape = np.shape(valid)
        return [
            v
            for v in super().examples(valid)
            if isinstance(v, str) or v is None or np.shape(v) == shape
        ]


@dataclass(frozen=True)
class OptionalArray(Array):
    """An :class:`Array` for which ``None`` means "not given"."""

    def examples(self, valid) -> list:
        return [v for v in super().examples(valid) if v is not None]


# a profile with L = 3: q (4,), Q (3,), q̂ (4,)
PROFILE = {
    "alpha": 10.0,
    "q": np.array([1.0, 0.5, 0.4, 1.0]),
    "Q": np.array([0.5, 0.6, 0.5]),
    "qhat": np.array([0.0, 0.3, 0.2, 0.0]),
}
PROFILE_DOMAINS = {
    "alpha": POSITIVE,
    "q": Array(0.0, 1.0, fixed_shape=True),
    "Q": Array(0.0, 1.0, high_open=True, fixed_shape=True),
    "qhat": Array(0.0, fixed_shape=True),
}
DRIVE = {"alpha": 10.0, "q": np.array([1.0, 0.5, 0.0, 1.0])}
DRIVE_DOMAINS = {"alpha": POSITIVE, "q": Array(0.0, 1.0)}

# a one-layer RSProfile, built by hand, and broken copies of it
_GOOD = rs.RSProfile(
    1.0, 1, "random", np.ones(2), np.array([0.3]), np.zeros(2), 0.0, np.ones(2, bool)
)
BAD_PROFILES = (
    None,
    3.0,
    "profile",
    {"q": [1.0, 1.0]},
    replace(_GOOD, closure="nodal"),
    replace(_GOOD, scenario="planted"),
    replace(_GOOD, Q=np.array([1.5])),
    replace(_GOOD, Q=np.array([np.nan])),
    replace(_GOOD, L=2),
    replace(_GOOD, alpha=-1.0),
)

_STATE = bulk.BulkState(40000.0, 0.08, 0.9, 0.1, "symmetric")
BAD_STATES = Values(
    (
        None,
        0.3,
        "state",
        replace(_STATE, alpha=np.inf),
        replace(_STATE, alpha=np.nan),
        replace(_STATE, alpha=-1.0),
        replace(_STATE, q=np.nan),
        replace(_STATE, q=1.5),
        replace(_STATE, Q=1.0),
        replace(_STATE, qhat=-0.1),
        replace(_STATE, closure="nodal"),
    )
)


def _state():
    return bulk.bulk_state(0.08)


def _layer(func, name, valid, domain):
    return Case(func, {name: valid, "scenario": "random"}, {name: domain, "scenario": SCENARIO})


def _node(func):
    return Case(
        func,
        {"qhat": np.array([0.5, 2.0]), "C": np.array([0.3, 0.7])},
        {"qhat": Entries(0.0), "C": Entries(0.0, 1.0, high_open=True)},
    )


CASES = [
    # kernels: entrywise layer functions and the profile check
    _layer(kernels.gap_term, "delta", np.array([0.2, 0.9]), Entries(0.0, 1.0, high_open=True)),
    _layer(kernels.force, "delta", np.array([0.2, 0.9]), Entries(0.0, 1.0, high_open=True)),
    _layer(kernels.bond_term, "Q", np.array([0.2, 0.9]), Entries(0.0, 1.0, high_open=True)),
    _layer(kernels.bond_from_field, "y", np.array([0.3, 10.0]), Entries(0.0)),
    _layer(kernels.spin_overlap, "qhat", np.array([0.5, 3.0]), Entries(0.0)),
    _layer(kernels.spin_term, "qhat", np.array([0.5, 3.0]), Entries(0.0)),
    Case(
        kernels.check_profile,
        PROFILE,
        {
            **PROFILE_DOMAINS,
            "qhat": OptionalArray(0.0, fixed_shape=True),
            "require_qhat": Bool(),
        },
    ),
    Case(kernels.check_drive, DRIVE, DRIVE_DOMAINS),
    # exact node
    _node(exact_node.node_overlap),
    _node(exact_node.node_force),
    _node(exact_node.node_term),
    _node(exact_node.node_functions),
    _node(exact_node.node_replicon),
    Case(exact_node.node_saddle_map, PROFILE, PROFILE_DOMAINS),
    Case(exact_node.node_free_entropy, PROFILE, PROFILE_DOMAINS),
    Case(exact_node.node_growth_rates, DRIVE, DRIVE_DOMAINS),
    # forward propagation
    Case(
        forward.forward_overlaps,
        {"Q": np.array([0.5, 0.9]), "q0": 1.0},
        {"Q": Array(-1.0, 1.0, allow_empty=True), "q0": Real(-1.0, 1.0)},
    ),
    Case(
        forward.simulate_forward_overlaps,
        {"Q": np.array([0.5, 0.9]), "n": 8, "m": 4, "seed": 1},
        {"Q": Array(-1.0, 1.0, allow_empty=True), "n": Int(1), "m": Int(1), "seed": Seed()},
    ),
    # RS theory
    Case(
        rs.saddle_map,
        {k: v for k, v in PROFILE.items() if k != "qhat"} | {"scenario": "random"},
        {k: v for k, v in PROFILE_DOMAINS.items() if k != "qhat"} | {"scenario": SCENARIO},
    ),
    Case(
        rs.free_entropy,
        PROFILE | {"scenario": "random"},
        PROFILE_DOMAINS | {"scenario": SCENARIO},
    ),
    Case(
        rs.free_entropy_gradient,
        lambda: {"profile": rs.solve_rs(1.0, 1).value, "eps": 1e-6},
        {"profile": Values(BAD_PROFILES), "eps": POSITIVE},
    ),
    Case(rs.growth_rates, DRIVE | {"closure": "symmetric"}, DRIVE_DOMAINS | {"closure": CLOSURE}),
    Case(
        rs.solve_rs,
        {
            "alpha": 3.0,
            "L": 2,
            "scenario": "random",
            "closure": "symmetric",
            "initial": None,
            "tol": 1e-11,
            "max_iter": 100,
            "warn": True,
        },
        {
            "alpha": POSITIVE,
            "L": Int(1),
            "scenario": SCENARIO,
            "closure": CLOSURE,
            "initial": Values(BAD_PROFILES[1:]),  # None is the cold start
            "tol": POSITIVE,
            "max_iter": Int(1),
            "warn": Bool(),
        },
    ),
    Case(
        rs.follow_branch,
        lambda: {
            "initial": rs.solve_rs(3.0, 2, closure="exact-node").value,
            "alphas": np.array([3.1, 3.2]),
            "progress": False,
        },
        {
            "initial": Values((None, 3.0, "profile")),
            "alphas": Array(0.0, low_open=True),
            "progress": Bool(),
        },
    ),
    Case(
        rs.phase_diagram,
        {"alphas": np.array([0.5, 3.0]), "L": 2, "scenario": "random", "progress": False},
        {
            "alphas": Array(0.0, low_open=True),
            "L": Int(1),
            "scenario": SCENARIO,
            "progress": Bool(),
        },
    ),
    Case(
        rs.onsets,
        {"L": 2, "scenario": "random", "n_layers": None, "closure": "symmetric", "xtol": 1e-10},
        {
            "L": Int(2),
            "scenario": SCENARIO,
            "n_layers": Int(1, 1, allow_none=True),  # at most L // 2 = 1
            "closure": CLOSURE,
            "xtol": XTOL,
        },
    ),
    Case(
        rs.freezing_by_depth,
        {"max_depth": 2, "scenario": "random", "xtol": 1e-10},
        {"max_depth": Int(2), "scenario": SCENARIO, "xtol": XTOL},
    ),
    Case(rs.generalisation_error, {"Q": np.array([0.5, 0.9])}, {"Q": Array(-1.0, 1.0)}),
    # uniform bulk
    Case(
        bulk.bulk_state,
        {"parameter": 0.08, "closure": "symmetric"},
        {"parameter": Real(0.0, 1.0, low_open=True, high_open=True), "closure": CLOSURE},
    ),
    Case(
        bulk.bulk_curve,
        {"parameters": np.array([0.08, 0.1]), "closure": "symmetric"},
        {"parameters": Array(0.0, 1.0, low_open=True, high_open=True), "closure": CLOSURE},
    ),
    Case(
        bulk.bulk_spinodal,
        {"closure": "symmetric", "xtol": 1e-10},
        {"closure": CLOSURE, "xtol": XTOL},
    ),
    Case(
        bulk.bulk_branches,
        {"alpha": 4e4, "closure": "symmetric"},
        {"alpha": POSITIVE, "closure": CLOSURE},
    ),
    Case(bulk.bulk_free_entropy, lambda: {"state": _state()}, {"state": BAD_STATES}),
    Case(
        bulk.bulk_coexistence,
        {"closure": "symmetric", "xtol": 1e-9, "tol": 1e-10},
        {"closure": CLOSURE, "xtol": XTOL, "tol": POSITIVE},
    ),
    Case(
        bulk.bulk_symbol,
        lambda: {"state": _state(), "mu": 0.5, "L": 8},
        {
            "state": BAD_STATES,
            "mu": Values(("0.5", None, [0.5], True, 0, 0j, np.nan, np.inf, complex(np.nan, 1))),
            "L": Int(8, 200),
        },
    ),
    Case(
        bulk.largest_multiplier,
        lambda: {"state": _state(), "n_modes": 2, "L": 8},
        {"state": BAD_STATES, "n_modes": Int(2, 1000), "L": Int(8, 200)},
    ),
    Case(
        bulk.healing_factor,
        lambda: {"state": _state(), "L": 8},
        {"state": BAD_STATES, "L": Int(8, 200)},
    ),
    Case(
        bulk.geometric_limit,
        {"sequence": 5.0 - 2.0 * 0.6 ** np.arange(6), "n_last": 4, "tol": 1e-3},
        {"sequence": Array(), "n_last": Int(3, 6), "tol": POSITIVE},
    ),
]

RECORDS = {
    "deepspin.deep_perceptron.rs.RSProfile": "the solution solve_rs returns (result.value)",
    "deepspin.deep_perceptron.bulk.BulkState": "the uniform state bulk_state returns",
}
