"""Tests for deepspin.checks: every error names the parameter and its allowed range."""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from deepspin.checks import as_generator, check_choice, check_int, check_real, kernel_seed

# --------------------------------------------------------------------------- check_real


@pytest.mark.parametrize("value", [0, 0.5, 1, np.float64(0.25), np.int64(1), Fraction(1, 3)])
def test_check_real_accepts_closed_interval(value):
    got = check_real("alpha", value, 0.0, 1.0)
    assert isinstance(got, float)
    assert got == float(value)


@pytest.mark.parametrize("value", [-0.1, 1.1, -1e300, 1e300])
def test_check_real_rejects_outside_closed(value):
    with pytest.raises(ValueError, match=r"alpha must lie in \[0, 1\]"):
        check_real("alpha", value, 0.0, 1.0)


def test_check_real_open_low_end():
    with pytest.raises(ValueError, match=r"kappa must lie in \(0, 2\]"):
        check_real("kappa", 0.0, 0.0, 2.0, low_open=True)
    assert check_real("kappa", 1e-300, 0.0, 2.0, low_open=True) == 1e-300
    assert check_real("kappa", 2.0, 0.0, 2.0, low_open=True) == 2.0


def test_check_real_open_high_end():
    with pytest.raises(ValueError, match=r"q must lie in \[0, 1\)"):
        check_real("q", 1.0, 0.0, 1.0, high_open=True)
    assert check_real("q", 0.0, 0.0, 1.0, high_open=True) == 0.0
    assert check_real("q", math.nextafter(1.0, 0.0), 0.0, 1.0, high_open=True) < 1.0


def test_check_real_both_open():
    for value in (0.0, 1.0):
        with pytest.raises(ValueError, match=r"beta must lie in \(0, 1\)"):
            check_real("beta", value, 0.0, 1.0, low_open=True, high_open=True)


def test_check_real_unbounded_sides():
    assert check_real("x", -1e300) == -1e300
    assert check_real("x", -5.0, None, 0.0) == -5.0
    with pytest.raises(ValueError, match=r"x must lie in \(-inf, 0\]"):
        check_real("x", 0.1, None, 0.0)
    with pytest.raises(ValueError, match=r"x must lie in \[2, inf\)"):
        check_real("x", 1.9, 2.0, None)


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf, np.nan, np.float64("inf")])
def test_check_real_rejects_non_finite(value):
    with pytest.raises(ValueError, match=r"temperature must be a finite real number in \[0, inf\)"):
        check_real("temperature", value, 0.0)


def test_check_real_rejects_nan_even_unbounded():
    with pytest.raises(ValueError, match="finite"):
        check_real("x", math.nan)


@pytest.mark.parametrize("value", [True, False, np.bool_(True)])
def test_check_real_rejects_bools(value):
    with pytest.raises(ValueError, match="flag must be a finite real number"):
        check_real("flag", value, 0.0, 1.0)


@pytest.mark.parametrize("value", ["0.5", None, 1j, [0.5], np.array([0.5])])
def test_check_real_rejects_non_numbers(value):
    with pytest.raises(ValueError, match=r"rate must be a finite real number in \[0, 1\]") as info:
        check_real("rate", value, 0.0, 1.0)
    assert repr(value) in str(info.value)


@given(st.floats(allow_nan=False, allow_infinity=False), st.floats(0, 10), st.floats(0, 10))
def test_check_real_matches_interval_membership(value, a, b):
    low, high = min(a, b), max(a, b)
    inside = low <= value <= high
    if inside:
        assert check_real("v", value, low, high) == value
    else:
        with pytest.raises(ValueError, match="v must lie in"):
            check_real("v", value, low, high)


# --------------------------------------------------------------------------- check_int


@pytest.mark.parametrize("value", [1, 5, 10, np.int64(7), np.uint8(3)])
def test_check_int_accepts(value):
    got = check_int("n", value, 1, 10)
    assert type(got) is int
    assert got == int(value)


@pytest.mark.parametrize("value", [0, 11, -3])
def test_check_int_rejects_out_of_range(value):
    with pytest.raises(ValueError, match=r"n must be an integer in \[1, 10\], got") as info:
        check_int("n", value, 1, 10)
    assert str(value) in str(info.value)


@pytest.mark.parametrize("value", [2.0, 2.5, "3", None, np.float64(3.0), math.nan])
def test_check_int_rejects_non_integers(value):
    with pytest.raises(ValueError, match=r"n_samples must be an integer in \[1, inf\)"):
        check_int("n_samples", value, 1)


@pytest.mark.parametrize("value", [True, False, np.bool_(True)])
def test_check_int_rejects_bools(value):
    with pytest.raises(ValueError, match="depth must be an integer"):
        check_int("depth", value, 0, 10)


def test_check_int_unbounded_and_one_sided():
    assert check_int("k", -(10**30)) == -(10**30)
    assert check_int("k", 10**30, 0) == 10**30
    with pytest.raises(ValueError, match=r"k must be an integer in \(-inf, 5\]"):
        check_int("k", 6, None, 5)
    assert check_int("k", 5, 5, 5) == 5  # closed at both ends


# --------------------------------------------------------------------------- check_choice


def test_check_choice_accepts_and_returns():
    assert check_choice("split", "test", ("train", "test")) == "test"
    assert check_choice("order", 2, range(1, 4)) == 2
    assert check_choice("mode", "a", (c for c in "ab")) == "a"  # any iterable, even a generator


@pytest.mark.parametrize("value", ["valid", "Train", None, 0])
def test_check_choice_lists_the_choices(value):
    with pytest.raises(ValueError, match="split must be one of 'train', 'test'") as info:
        check_choice("split", value, ["train", "test"])
    assert f"got {value!r}" in str(info.value)


# --------------------------------------------------------------------------- randomness


def test_as_generator_int_is_reproducible():
    a = as_generator(1234).standard_normal(5)
    b = as_generator(1234).standard_normal(5)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, as_generator(1235).standard_normal(5))
    np.testing.assert_array_equal(a, np.random.default_rng(1234).standard_normal(5))


def test_as_generator_numpy_integer_seed():
    np.testing.assert_array_equal(
        as_generator(np.int64(7)).random(3), np.random.default_rng(7).random(3)
    )


def test_as_generator_passes_generator_through():
    rng = np.random.default_rng(0)
    assert as_generator(rng) is rng
    # One stream threaded through several callers: draws continue, not restart.
    first = as_generator(rng).random()
    second = as_generator(rng).random()
    ref = np.random.default_rng(0)
    assert (first, second) == (ref.random(), ref.random())


def test_as_generator_none_gives_fresh_generator():
    a, b = as_generator(None), as_generator()
    assert isinstance(a, np.random.Generator) and a is not b


@pytest.mark.parametrize("seed", [-1, 1.5, "42", True, np.random.RandomState(0)])
def test_as_generator_rejects(seed):
    with pytest.raises(ValueError, match="seed must be None, a non-negative integer"):
        as_generator(seed)


def test_kernel_seed_deterministic():
    a = kernel_seed(np.random.default_rng(3))
    b = kernel_seed(np.random.default_rng(3))
    assert a == b
    assert type(a) is int and 0 <= a < 2**31 - 1
    assert kernel_seed(5) == kernel_seed(5)


def test_kernel_seed_advances_the_stream():
    rng = np.random.default_rng(11)
    seeds = [kernel_seed(rng) for _ in range(5)]
    ref = np.random.default_rng(11)
    assert seeds == [kernel_seed(ref) for _ in range(5)]
    assert len(set(seeds)) == 5


def test_kernel_seed_fits_int32():
    seeds = [kernel_seed(s) for s in range(200)]
    assert all(0 <= s <= np.iinfo(np.int32).max for s in seeds)


def test_check_array_accepts_and_converts():
    from deepspin.checks import check_array

    out = check_array("Q", [0.0, 0.5], 0.0, 1.0, high_open=True)
    assert out.dtype == np.float64 and out.tolist() == [0.0, 0.5]
    assert check_array("x", 3).shape == ()


@pytest.mark.parametrize(
    "value, kwargs, match",
    [
        (
            [0.2, 1.0],
            dict(low=0.0, high=1.0, high_open=True),
            r"Q must hold finite reals in \[0, 1\), got 1\.0",
        ),
        ([np.nan], dict(), "got nan"),
        ([-1.0], dict(low=0.0), r"\[0, inf\)"),
        ([[0.1]], dict(ndim=1), "1-D array"),
        ([], dict(allow_empty=False), "not be empty"),
        (["a"], dict(), "array of reals"),
    ],
)
def test_check_array_refuses_with_name_range_and_value(value, kwargs, match):
    from deepspin.checks import check_array

    with pytest.raises(ValueError, match=match):
        check_array("Q", value, **kwargs)


@pytest.mark.parametrize("value", [np.array([1 + 2j, 0.5]), ["0.5"], np.array(["1"])])
def test_check_array_refuses_complex_and_strings(value):
    from deepspin.checks import check_array

    # a complex array used to lose its imaginary part, a string used to be parsed
    with pytest.raises(ValueError, match="Q must be an array of reals"):
        check_array("Q", value)


# --------------------------------------------------------------------------- the other validators


def test_check_bool_is_strict():
    from deepspin.checks import check_bool

    assert check_bool("progress", True) is True
    assert check_bool("progress", np.bool_(False)) is False
    for value in ("no", 1, 0, 1.0, None):
        with pytest.raises(ValueError, match="progress must be True or False"):
            check_bool("progress", value)


def test_check_int_array():
    from deepspin.checks import check_int_array

    out = check_int_array("labels", np.array([0, 9], dtype=np.uint8), 0, 9, ndim=1)
    assert out.dtype == np.int64 and out.tolist() == [0, 9]
    cases = [
        ([0.0, 1.0], "dtype float64"),
        ([0, 10], r"labels must hold integers in \[0, 9\], got 10"),
        ([[0]], "1-D array"),
        (np.zeros(0, dtype=int), "not be empty"),
        ([True], "dtype bool"),
    ]
    for value, match in cases:
        with pytest.raises(ValueError, match=match):
            check_int_array("labels", value, 0, 9, ndim=1, allow_empty=False)


def test_check_spin_array():
    from deepspin.checks import check_spin_array

    out = check_spin_array("s", [1.0, -1.0], ndim=1)
    assert out.dtype == np.int8 and out.tolist() == [1, -1]
    assert check_spin_array("s", [[1]], ndim=(1, 2)).shape == (1, 1)
    for value, match in [([1, 0], "got 0"), ([1, np.nan], "got nan"), (["a"], "spins")]:
        with pytest.raises(ValueError, match=match):
            check_spin_array("s", value)
    with pytest.raises(ValueError, match="1-D or 3-D"):
        check_spin_array("s", [[1]], ndim=(1, 3))


def test_check_shape():
    from deepspin.checks import check_shape

    check_shape("J", np.zeros((3, 3)), (3, None))
    for array in (np.zeros((2, 3)), np.zeros(3), np.zeros((3, 3, 1)), 5):
        with pytest.raises(ValueError, match=r"J must have shape \(3, ·\)"):
            check_shape("J", array, (3, None))


def test_check_dtype():
    from deepspin.checks import check_dtype

    assert check_dtype("dtype", np.float32, (np.float32, np.float64)) is np.float32
    for value in ("float32", np.int64, None):
        with pytest.raises(ValueError, match="dtype must be one of"):
            check_dtype("dtype", value, (np.float32, np.float64))


def test_check_device_and_torch_generator():
    import torch

    from deepspin.checks import check_device, torch_generator

    assert check_device("device", "cpu") == torch.device("cpu")
    assert check_device("device", torch.device("cpu")).type == "cpu"
    assert check_device("device", "auto").type in ("cpu", "cuda")
    for value in ("tpu", "", 3, "cpu:x", "meta"):
        with pytest.raises(ValueError, match="device"):
            check_device("device", value)
    a = torch.rand(3, generator=torch_generator(7))
    assert torch.equal(a, torch.rand(3, generator=torch_generator(np.random.default_rng(7))))
    # the device is checked (it used to reach torch.Generator and raise a RuntimeError)
    with pytest.raises(ValueError, match="device must be"):
        torch_generator(7, "tpu")
    with pytest.raises(ValueError, match="seed must be"):
        torch_generator(-1)
