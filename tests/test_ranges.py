"""Tests of deepspin.ranges: the ranges chapters state for their parameters."""

import math

import pytest

from deepspin.ranges import ParameterRange, check_value, comment_ranges, parse_range


@pytest.mark.parametrize(
    ("text", "inside", "outside"),
    [
        ("[0, 2] margin", [0, 0.0, 1.5, 2], [-0.1, 2.1, math.nan, math.inf, "1", True]),
        ("(0, 1) overlap", [0.5, 1e-9], [0, 1, -1]),
        ("[1, inf) sweeps", [1, 10**9], [0, -5, math.inf]),
        ("(-inf, 0] energy", [-1e300, 0], [1e-9]),
        ("[5, 29] each size", [[5, 29], (7,)], [[5, 31], [], [4]]),
        ("[1e-6, 1e-2] tolerance", [1e-4], [1e-1, 0]),
    ],
)
def test_intervals(text, inside, outside):
    allowed = parse_range(text)
    assert allowed.kind == "interval"
    for value in inside:
        assert allowed.contains(value), value
        assert check_value("p", value, allowed) == value
    for value in outside:
        assert not allowed.contains(value), value
        with pytest.raises(ValueError, match=r"parameter 'p' must lie in "):
            check_value("p", value, allowed)


def test_sets_and_any():
    devices = parse_range('{"auto", "cpu", "cuda"} where the tensors live')
    assert devices.kind == "set" and devices.text == '{"auto", "cpu", "cuda"}'
    assert devices.contains("cpu") and not devices.contains("tpu")
    numbers = parse_range("{1, 2, 4} threads")
    assert numbers.contains(2) and numbers.contains(2.0) and not numbers.contains(True)
    assert parse_range("any: a directory").contains("/x")
    assert parse_range("margin κ ≥ 0") is None
    assert parse_range("") is None


@pytest.mark.parametrize("text", ["[0 2]", "[1, 0]", "[0, 0]", "(a, b)", "{}", "{1, 2", "[0, x]"])
def test_malformed_ranges_are_refused(text):
    with pytest.raises(ValueError, match="text"):
        parse_range(text)


def test_comment_ranges_reads_each_line():
    source = (
        "# a comment line states nothing\n"
        "kappa = 0.0  # [0, 2] margin\n"
        "sizes = [\n    13,\n    17,\n]  # [5, 29] each\n"
        "label = 'a'\n"
        "device: str = 'cpu'  # {'cpu', 'cuda'}\n"
    )
    got = comment_ranges(source)
    assert list(got) == ["kappa", "sizes", "label", "device"]
    assert got["kappa"] == ParameterRange("interval", 0.0, 2.0, text="[0, 2]")
    assert got["sizes"].contains([13, 17])
    assert got["label"] is None
    assert got["device"].values == ("cpu", "cuda")


def test_comment_ranges_names_the_parameter_of_a_bad_range():
    with pytest.raises(ValueError, match="parameter 'kappa'"):
        comment_ranges("kappa = 0.0  # [2, 0] margin\n")
    with pytest.raises(ValueError, match="source must be valid Python"):
        comment_ranges("kappa = \n")
