"""Contract cases of deepspin.checks: the validators refuse what they are asked to refuse.

A validator's message names the thing it checks by its ``name`` argument, so ``says``
gives the name each case passes. The bounds, flags and choices are set by the caller's
code, not by a user, and are left unchecked.
"""

import numpy as np
from contract_spec import (
    Array,
    Bool,
    Case,
    Choice,
    Device,
    Int,
    IntArray,
    Real,
    Seed,
    Values,
)

from deepspin import checks

NAME_REASON = "the name a message gives; any string is allowed"
BOUND = "a bound set by the caller's code, not by a user"
FLAG = "a flag set by the caller's code, not by a user"
SEED_NAME = "seed"  # kernel_seed and torch_generator pass the caller's seed on: they say "seed"

CASES = [
    Case(
        checks.check_real,
        {"name": "alpha", "value": 0.5, "low": 0.0, "high": 1.0},
        {"value": Real(0.0, 1.0)},
        unchecked={
            "name": NAME_REASON,
            "low": BOUND,
            "high": BOUND,
            "low_open": FLAG,
            "high_open": FLAG,
        },
        says={"value": "alpha"},
    ),
    Case(
        checks.check_array,
        {
            "name": "probs",
            "value": np.array([0.2, 0.5, 1.0]),
            "low": 0.0,
            "high": 1.0,
            "ndim": 1,
            "allow_empty": False,
        },
        {"value": Array(0.0, 1.0)},
        unchecked={
            "name": NAME_REASON,
            "low": BOUND,
            "high": BOUND,
            "low_open": FLAG,
            "high_open": FLAG,
            "ndim": "a shape set by the caller's code",
            "allow_empty": FLAG,
        },
        says={"value": "probs"},
    ),
    Case(
        checks.check_int,
        {"name": "n_iter", "value": 3, "low": 1, "high": 10},
        {"value": Int(1, 10)},
        unchecked={"name": NAME_REASON, "low": BOUND, "high": BOUND},
        says={"value": "n_iter"},
    ),
    Case(
        checks.check_bool,
        {"name": "progress", "value": True},
        {"value": Bool()},
        unchecked={"name": NAME_REASON},
        says={"value": "progress"},
    ),
    Case(
        checks.check_choice,
        {"name": "method", "value": "bp", "choices": ("bp", "amp")},
        {"value": Choice(("bp", "amp"))},
        unchecked={"name": NAME_REASON, "choices": "the choices set by the caller's code"},
        says={"value": "method"},
    ),
    Case(
        checks.check_int_array,
        {
            "name": "labels",
            "value": np.array([0, 3, 9]),
            "low": 0,
            "high": 9,
            "ndim": 1,
            "allow_empty": False,
        },
        {"value": IntArray(0, 9)},
        unchecked={
            "name": NAME_REASON,
            "low": BOUND,
            "high": BOUND,
            "ndim": "a shape set by the caller's code",
            "allow_empty": FLAG,
        },
        says={"value": "labels"},
    ),
    Case(
        checks.check_spin_array,
        {"name": "sigma", "value": np.array([1, -1, 1]), "ndim": 1},
        # by hand: an empty array of spins is valid here (the Spins domain refuses it)
        {
            "value": Values(
                (
                    "abc",
                    None,
                    np.array([1, 0, 1]),
                    np.array([1, 2, -1]),
                    np.array([0.5, 1.0, -1.0]),
                    np.array([np.nan, 1.0, -1.0]),
                    np.array([1 + 0j, -1, 1]),
                    np.ones((3, 1)),
                )
            )
        },
        unchecked={"name": NAME_REASON, "ndim": "a shape set by the caller's code"},
        says={"value": "sigma"},
    ),
    Case(
        checks.check_shape,
        {"name": "J", "array": np.zeros((3, 3)), "shape": (3, None)},
        {
            "array": Values(
                (np.zeros((2, 3)), np.zeros(3), np.zeros((3, 3, 1)), np.float64(5.0), None, [])
            )
        },
        unchecked={"name": NAME_REASON, "shape": "a shape set by the caller's code"},
        says={"array": "J"},
    ),
    Case(
        checks.check_path,
        {"name": "out", "value": "/tmp/run", "allow_none": False},
        {"value": Values((None, "", 3, b"/tmp", "a\0b", ["a"]))},
        unchecked={"name": NAME_REASON, "allow_none": "a flag set by the caller's code"},
        says={"value": "out"},
    ),
    Case(
        checks.check_device,
        {"name": "dev", "value": "cpu"},
        {"value": Device()},
        unchecked={"name": NAME_REASON},
        says={"value": "dev"},
    ),
    Case(
        checks.check_dtype,
        {"name": "precision", "value": np.float64, "choices": (np.float32, np.float64)},
        {"value": Values(("float64", np.int64, np.float16, None, 3))},
        unchecked={"name": NAME_REASON, "choices": "the choices set by the caller's code"},
        says={"value": "precision"},
    ),
    Case(checks.as_generator, {"seed": 0}, {"seed": Seed()}),
    Case(checks.kernel_seed, {"rng": 0}, {"rng": Seed()}, says={"rng": SEED_NAME}),
    Case(
        checks.torch_generator,
        {"rng": 0, "device": "cpu"},
        {"rng": Seed(), "device": Device()},
        says={"rng": SEED_NAME},
    ),
]
RECORDS = {}
