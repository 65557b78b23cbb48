"""Contract cases of the RSB layer: the Parisi-matrix algebra, the SK check, the replicon
and the k-step solver of the deep perceptron."""

import numpy as np
from cases_deep_perceptron import Entries, OptionalArray
from contract_spec import Array, Bool, Case, Choice, Int, IntArray, Real, Values

from deepspin import hierarchy, sk
from deepspin.deep_perceptron import replicon, rs, rsb, rsb_node, rsb_teacher

POSITIVE = Real(0.0, low_open=True)
UNIT_OPEN = Array(0.0, 1.0, low_open=True, high_open=True, fixed_shape=True)
LEVELS = Array(0.0, 1.0, high_open=True, fixed_shape=True)


N_GRID = Values((8, 64, 5000, 1.5, "33", None))  # odd, in [9, 4097]


RS_PROFILE = {
    "alpha": 10.0,
    "q": np.array([1.0, 0.5, 0.4, 1.0]),
    "Q": np.array([0.5, 0.6, 0.5]),
    "qhat": np.array([0.0, 0.3, 0.2, 0.0]),
}


def _teacher_point():
    p = rs.solve_rs(3.0, 2, "teacher").value
    q, Q, qhat = p.q[1], p.Q, p.qhat[1]
    return {
        "alpha": 3.0,
        "spins": np.array([[q, qhat, q, q, qhat, qhat]]),
        "bonds": np.stack([Q, Q, Q], 1),
        "m": 0.5,
        "n_grid": 33,
        "n_side": 8,
    }


def _rsb_levels():
    p = rs.solve_rs(3.0, 2).value
    return {
        "alpha": 3.0,
        "q": np.stack([p.q, p.q], 1),
        "Q": np.stack([p.Q, p.Q], 1),
        "qhat": np.stack([p.qhat, p.qhat], 1),
        "m": np.array([0.4]),
        "n_grid": 33,
        "n_side": 8,
    }


def _node_point():
    p = rs.solve_rs(3.0, 2, closure="exact-node").value
    q, qhat = p.q[1], p.qhat[1]
    return {
        "alpha": 3.0,
        "spins": np.array([[q, q, qhat, qhat]]),
        "bonds": np.stack([p.Q, p.Q], 1),
        "m": 0.5,
        "n_grid": 33,
        "n_side": 6,
    }


# (L − 1, 4) spins and (L, 2) bonds that eq. (node-one-step) refuses: wrong shape,
# decreasing levels, a level at 1
_BAD_NODE_SPINS = (
    np.zeros((2, 4)),
    np.array([[0.5, 0.4, 0.1, 0.2]]),
    np.array([[0.5, 1.0, 0.1, 0.2]]),
)
_BAD_NODE_BONDS = (np.zeros((2, 3)), np.array([[0.5, 0.4]] * 2), np.array([[0.5, 1.0]] * 2))


def _node_fields_point():
    point = _node_point()
    q, qhat = point["spins"][0, 0], point["spins"][0, 2]
    point["spins"] = np.array([[0.9 * q, 1.1 * q, 0.9 * qhat, 1.1 * qhat]])
    point["bonds"] = point["bonds"] * np.array([0.9, 1.1])
    point["warn"] = False
    return point


def _node_start():
    return {
        "initial": rs.solve_rs(3.0, 2, closure="exact-node").value,
        "m": 0.5,
        "spread": 0.1,
        "tol": 1e-4,
        "max_iter": 1,
        "max_step": 0.1,
        "n_grid": 33,
        "n_side": 6,
        "warn": False,
    }


CASES = [
    # ---------------------------------------------------------------- hierarchy
    Case(
        hierarchy.check_steps,
        {
            "levels": np.array([0.1, 0.5]),
            "breakpoints": np.array([0.3]),
            "high": 1.0,
            "high_open": True,
            "names": ("levels", "breakpoints"),
        },
        {"levels": LEVELS, "breakpoints": UNIT_OPEN},
        unchecked={
            "high": "the caller's own bound on the levels",
            "high_open": "the caller's own choice",
            "names": "the caller's own names for the messages",
        },
    ),
    Case(
        hierarchy.log1p_ratio,
        {"z": np.array([0.0, 0.5]), "validate": True},
        {"z": Entries(-1.0, low_open=True)},
        unchecked={"validate": "False is the solvers' unchecked fast path"},
    ),
    Case(
        hierarchy.pair_sum,
        {"values": np.array([1.0, 2.0]), "breakpoints": np.array([0.5])},
        {"values": Array(fixed_shape=True), "breakpoints": UNIT_OPEN},
    ),
    Case(
        hierarchy.spectrum,
        {"levels": np.array([0.1, 0.5]), "breakpoints": np.array([0.3])},
        {"levels": LEVELS, "breakpoints": UNIT_OPEN},
    ),
    Case(
        hierarchy.spherical_entropy,
        {"levels": np.array([0.1, 0.5]), "breakpoints": np.array([0.3]), "validate": True},
        {"levels": LEVELS, "breakpoints": UNIT_OPEN},
        unchecked={"validate": "False is the solvers' unchecked fast path"},
    ),
    # ---------------------------------------------------------------- sk
    Case(
        sk.sk_parisi,
        {"beta": 2.0, "q": np.array([0.0, 0.6]), "m": np.array([0.2])},
        {"beta": POSITIVE, "q": LEVELS, "m": UNIT_OPEN},
    ),
    Case(
        sk.sk_ground_functional,
        {"q": np.array([0.48]), "mu": np.array([1.36])},
        {"q": LEVELS, "mu": Array(0.0, low_open=True, fixed_shape=True)},
    ),
    Case(
        sk.sk_ground_state,
        {"k": 1, "tol": 1e-6, "max_iter": 50},
        {"k": Int(0, 6), "tol": POSITIVE, "max_iter": Int(1)},
    ),
    Case(
        sk.sk_solve,
        {"beta": 2.0, "k": 1, "tol": 1e-6, "max_iter": 50},
        {"beta": Real(1.0, low_open=True), "k": Int(1, 6), "tol": POSITIVE, "max_iter": Int(1)},
    ),
    # ---------------------------------------------------------------- replicon
    Case(replicon.spin_replicon, {"qhat": np.array([0.0, 2.0])}, {"qhat": Entries(0.0)}),
    Case(
        replicon.constraint_replicon,
        {"delta": np.array([0.0, 0.5])},
        {"delta": Entries(0.0, 1.0, high_open=True)},
    ),
    Case(
        replicon.replicon_matrix,
        {**RS_PROFILE, "closure": "exact-node"},
        {
            "alpha": POSITIVE,
            "q": Array(0.0, 1.0, fixed_shape=True),
            "Q": Array(0.0, 1.0, high_open=True, fixed_shape=True),
            "qhat": Array(0.0, fixed_shape=True),
            "closure": Choice(("symmetric", "exact-node")),
        },
    ),
    Case(
        replicon.replicon_spectrum,
        lambda: {"profile": rs.solve_rs(3.0, 2).value},
        {"profile": Values((None, 3.0, "profile", rs.solve_rs(3.0, 2, "teacher").value))},
    ),
    Case(
        replicon.replicon_diagram,
        {"alphas": np.array([1.0, 3.0]), "L": 2, "progress": False, "closure": "exact-node"},
        {
            "alphas": Array(0.0, low_open=True),
            "L": Int(1, 40),
            "progress": Bool(),
            "closure": Choice(("symmetric", "exact-node")),
        },
    ),
    Case(
        replicon.replicon_onsets,
        {"L": 2, "n_modes": 1, "alpha_max": 3.0, "n_scan": 4, "xtol": 1e-6, "closure": "symmetric"},
        {
            "closure": Choice(("symmetric", "exact-node")),
            "L": Int(1, 40),
            "n_modes": Int(1, 3, allow_none=True),
            "alpha_max": Real(1.0, 1e8, low_open=True),
            "n_scan": Int(4, 10_000),
            "xtol": Real(0.0, 1e-2, low_open=True),
        },
    ),
    # ---------------------------------------------------------------- rsb
    Case(
        rsb.rsb_free_entropy,
        _rsb_levels,
        {
            "alpha": POSITIVE,
            "q": Array(0.0, 1.0, fixed_shape=True),
            "Q": Array(0.0, 1.0, high_open=True, fixed_shape=True),
            "qhat": Array(0.0, fixed_shape=True),
            "m": UNIT_OPEN,
            "n_grid": N_GRID,
            "n_side": Int(2, 512),
        },
    ),
    Case(
        rsb.solve_rsb,
        {
            "alpha": 3.0,
            "L": 2,
            "k": 1,
            "breakpoints": np.array([0.3]),
            "initial": None,
            "spread": 0.05,
            "tol": 1e-4,
            "max_iter": 3,
            "max_step": 0.1,
            "n_grid": 33,
            "n_side": 8,
            "warn": False,
        },
        {
            "alpha": POSITIVE,
            "L": Int(1),
            "k": Int(0, 4),
            "breakpoints": OptionalArray(0.0, 1.0, low_open=True, high_open=True, fixed_shape=True),
            "initial": Values((3.0, "profile", rs.solve_rs(3.0, 3).value)),
            "spread": Real(0.0, 1.0, low_open=True, high_open=True),
            "tol": POSITIVE,
            "max_iter": Int(1),
            "max_step": POSITIVE,
            "n_grid": N_GRID,
            "n_side": Int(2, 512),
            "warn": Bool(),
        },
    ),
]

CASES += [
    Case(
        rsb.rsb_levels,
        lambda: {"profile": rsb.solve_rsb(1.5, 1, 0).value, "threshold": 1e-3},
        {"profile": Values((None, 3.0, rs.solve_rs(1.5, 1).value)), "threshold": POSITIVE},
    ),
    Case(
        rsb.rsb_phase_diagram,
        {"alphas": np.array([1.5]), "L": 1, "k": 1, "progress": False},
        {
            "alphas": Array(0.0, low_open=True),
            "L": Int(1),
            "k": Int(1, 4),
            "progress": Bool(),
        },
    ),
    Case(
        rsb.rsb_stationarity,
        lambda: {"profile": rsb.solve_rsb(3.0, 2, 0).value, "eps": 1e-5, "floor": 1e-3},
        {
            "profile": Values((None, 3.0, rs.solve_rs(3.0, 2).value)),
            "eps": Real(0.0, 1e-2, low_open=True),
            "floor": Real(0.0, 1.0, high_open=True),
        },
    ),
    Case(
        rsb.levels_fall_inwards,
        {"spin_levels": np.array([0, 3, 2, 0, 2, 3, 0])},
        {"spin_levels": IntArray(0)},
    ),
    Case(
        rsb.rsb_steps,
        {"alpha": 1.5, "L": 1, "k_max": 1, "threshold": 1e-3, "progress": False},
        {
            "alpha": POSITIVE,
            "L": Int(1),
            "k_max": Int(1, 4),
            "threshold": POSITIVE,
            "progress": Bool(),
        },
    ),
    # ---------------------------------------------------------------- teacher at one step
    Case(
        rsb_teacher.solve_teacher_rsb,
        {
            "alpha": 3.0,
            "L": 2,
            "m": 0.5,
            "spread": 0.1,
            "teacher": True,
            "tol": 1e-4,
            "max_iter": 2,
            "n_grid": 33,
            "n_side": 8,
            "warn": False,
        },
        {
            "alpha": POSITIVE,
            "L": Int(1, 12),
            "m": Real(0.0, 1.0, low_open=True, high_open=True),
            "spread": Real(0.0, 0.5, low_open=True),
            "teacher": Bool(),
            "tol": POSITIVE,
            "max_iter": Int(1),
            "n_grid": N_GRID,
            "n_side": Int(2, 512),
            "warn": Bool(),
        },
    ),
    Case(
        rsb_teacher.teacher_rsb_free_entropy,
        _teacher_point,
        {
            "alpha": POSITIVE,
            "spins": Values((None, "spins", np.zeros((1, 4)), np.full((1, 6), 0.5)[:, ::-1] * 2)),
            "bonds": Values((None, "bonds", np.zeros((2, 2)), np.array([[0.9, 0.2, 0.3]] * 2))),
            "m": Real(0.0, 1.0, low_open=True, high_open=True),
            "n_grid": N_GRID,
            "n_side": Int(2, 512),
        },
    ),
    # ---------------------------------------------------------------- exact node at one step
    Case(
        rsb_node.node_one_step,
        {
            "qhat": np.array([0.3, 0.6]),
            "C": np.array([0.2, 0.4]),
            "m": 0.5,
            "n_grid": 33,
            "n_side": 6,
        },
        {
            "qhat": Values(
                (
                    None,
                    "qhat",
                    np.array([0.6, 0.3]),
                    np.array([0.0, 0.3]),
                    np.array([0.3]),
                    np.array([np.nan, 0.3]),
                )
            ),
            "C": Values(
                (None, "C", np.array([0.4, 0.2]), np.array([0.2, 1.0]), np.array([0.2, 0.3, 0.4]))
            ),
            "m": Real(0.0, 1.0, low_open=True, high_open=True),
            "n_grid": N_GRID,
            "n_side": Int(2, 512),
        },
    ),
    Case(
        rsb_node.node_rsb_free_entropy,
        _node_point,
        {
            "alpha": POSITIVE,
            "spins": Values((None, "spins", *_BAD_NODE_SPINS)),
            "bonds": Values((None, "bonds", *_BAD_NODE_BONDS)),
            "m": Real(0.0, 1.0, low_open=True, high_open=True),
            "n_grid": N_GRID,
            "n_side": Int(2, 512),
        },
    ),
    Case(
        rsb_node.node_fields,
        _node_fields_point,
        {
            "alpha": POSITIVE,
            # node_fields also needs a start 0 < q̂_0 < q̂_1 on a frozen layer
            "spins": Values((None, "spins", *_BAD_NODE_SPINS, np.array([[0.1, 0.2, 0.0, 0.2]]))),
            "bonds": Values((None, "bonds", *_BAD_NODE_BONDS)),
            "m": Real(0.0, 1.0, low_open=True, high_open=True),
            "n_grid": N_GRID,
            "n_side": Int(2, 512),
            "warn": Bool(),
        },
    ),
    Case(
        rsb_node.solve_node_rsb,
        _node_start,
        {
            "initial": Values((None, "rs", 3.0)),
            "m": Real(0.0, 1.0, low_open=True, high_open=True, allow_none=True),
            "spread": Real(0.0, 0.5, low_open=True),
            "tol": POSITIVE,
            "max_iter": Int(1),
            "max_step": POSITIVE,
            "n_grid": N_GRID,
            "n_side": Int(2, 512),
            "warn": Bool(),
        },
    ),
]

RECORDS = {
    "deepspin.deep_perceptron.rsb_node.NodeRSBProfile": "what solve_node_rsb returns",
    "deepspin.deep_perceptron.rsb_teacher.TeacherRSBProfile": "what solve_teacher_rsb returns",
    "deepspin.deep_perceptron.rsb.RSBProfile": "the solution solve_rsb returns (result.value)",
}
