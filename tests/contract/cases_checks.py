"""Contract cases of deepspin.checks: the validators refuse what they are asked to refuse."""

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
    Spins,
    Values,
)

from deepspin import checks

NAME = Values(("",))  # the validators name what they check: an empty name names nothing
NAME_REASON = "the name a message gives; any string is allowed"

CASES = [
    Case(
        checks.check_real,
        {"name": "alpha", "value": 0.5, "low": 0.0, "high": 1.0},
        {"value": Real(0.0, 1.0)},
        unchecked={
            "name": NAME_REASON,
            "low": "a bound set by the caller's code, not by a user",
            "high": "a bound set by the caller's code, not by a user",
            "low_open": "a flag set by the caller's code",
            "high_open": "a flag set by the caller's code",
        },
        says={"value": "alpha"},
    ),
]
RECORDS = {}
