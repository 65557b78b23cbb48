"""The contract of every public callable: bad input gets a ``ValueError`` naming the parameter.

For each case of the ``cases_*.py`` tables and each parameter with a domain, hypothesis
draws invalid values from the domain (derived from the documented range and the valid
value) and the call must raise ``ValueError`` with the parameter's name in its message.
The coverage tests fail when a public callable has no case, or a case leaves a parameter
of the signature without a domain or a stated reason.
"""

from __future__ import annotations

import dataclasses
import inspect
import warnings

import pytest
from contract_spec import load_tables, public_callables, signature_parameters
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

CASES, RECORDS = load_tables()
BY_NAME = {case.name: case for case in CASES}
PAIRS = [pytest.param(case, p, id=f"{case.name}:{p}") for case in CASES for p in case.domains]


@pytest.mark.parametrize("case", [pytest.param(c, id=c.name) for c in CASES])
def test_valid_call_runs(case):
    """The base call of each case is valid, so a rejection below is the parameter's doing."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        case.func(**case.kwargs())


@pytest.mark.parametrize(("case", "param"), PAIRS)
@settings(
    max_examples=12,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(data=st.data())
def test_invalid_value_is_refused(case, param, data):
    kwargs = case.kwargs()
    bad = data.draw(case.domains[param].strategy(case.valid_value(param)), label=param)
    kwargs[param] = bad
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(ValueError) as err:
            case.func(**kwargs)
    named = case.says.get(param, param)
    assert named in str(err.value), f"the message does not name {named!r}: {err.value}"


def test_every_public_callable_has_a_case():
    covered = set(BY_NAME) | set(RECORDS)
    missing = sorted(set(public_callables()) - covered)
    assert not missing, f"public callables without a contract case: {missing}"


def test_records_are_result_containers():
    found = public_callables()
    for name, reason in RECORDS.items():
        obj = found.get(name)
        assert obj is not None, f"{name} is listed as a record but is not public"
        assert reason.strip(), f"{name} needs a reason"
        assert inspect.isclass(obj) and (
            dataclasses.is_dataclass(obj)
            or issubclass(obj, (tuple, BaseException))
            or hasattr(obj, "_fields")
        ), f"{name} is not a dataclass, named tuple or exception"


def test_every_parameter_has_a_domain_or_a_reason():
    for case in CASES:
        params = set(signature_parameters(case.func))
        declared = set(case.domains) | set(case.unchecked)
        assert params == declared, (
            f"{case.name}: no domain or reason for {sorted(params - declared)}; "
            f"not parameters: {sorted(declared - params)}"
        )
        for param, reason in case.unchecked.items():
            assert reason.strip(), f"{case.name}: {param} needs a reason"


def test_case_names_are_unique():
    names = [case.name for case in CASES]
    assert len(names) == len(set(names))
