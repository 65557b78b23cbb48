"""The contract suite's vocabulary: domains of valid values, and cases that use them.

A :class:`Case` names one public callable, a cheap valid call (``valid``), and for each
parameter the *domain* its documentation allows. A domain derives invalid values from
itself and from the valid value it replaces: values outside the range, NaN and infinities,
wrong types and dtypes, wrong shapes, non-±1 spins, out-of-range labels. The suite
(``test_contract.py``) feeds each one in and asserts a ``ValueError`` whose message names
the parameter; ``tools/contract_audit.py`` tabulates the same inputs by outcome.

Cases live in ``cases_<subpackage>.py``: each module defines ``CASES`` (a list of
:class:`Case`) and ``RECORDS`` (result containers that users never construct: dataclasses,
named tuples or exceptions returned or raised by the library, listed with a reason).
"""

from __future__ import annotations

import copy
import importlib
import inspect
import math
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from hypothesis import strategies as st

HERE = Path(__file__).resolve().parent
NOT_A_NUMBER = ["1.0", None, [1.0, 2.0], {"a": 1}]


class Domain:
    """What a parameter accepts; subclasses list values that it does not accept."""

    def examples(self, valid) -> list:
        """A fixed list of invalid values (the audit's inputs), derived from ``valid``."""
        raise NotImplementedError

    def strategy(self, valid) -> st.SearchStrategy:
        """Hypothesis strategy of invalid values: the examples and generated ones."""
        return st.sampled_from(self.examples(valid))


@dataclass(frozen=True)
class Real(Domain):
    """A finite real in an interval (closed unless ``*_open``; ``None`` unbounded)."""

    low: float | None = None
    high: float | None = None
    low_open: bool = False
    high_open: bool = False
    allow_none: bool = False

    def _outside(self) -> list[float]:
        out = []
        if self.low is not None:
            out += [self.low if self.low_open else math.nextafter(self.low, -math.inf)]
            out += [self.low - 1.0 - abs(self.low), -1e300]
        if self.high is not None:
            out += [self.high if self.high_open else math.nextafter(self.high, math.inf)]
            out += [self.high + 1.0 + abs(self.high), 1e300]
        return out

    def examples(self, valid) -> list:
        wrong_type = [v for v in NOT_A_NUMBER if not (v is None and self.allow_none)]
        return [math.nan, math.inf, -math.inf, *self._outside(), *wrong_type]

    def strategy(self, valid) -> st.SearchStrategy:
        parts = [st.sampled_from(self.examples(valid))]
        if self.low is not None:
            parts.append(
                st.floats(max_value=self.low, exclude_max=not self.low_open, allow_nan=False)
            )
        if self.high is not None:
            parts.append(
                st.floats(min_value=self.high, exclude_min=not self.high_open, allow_nan=False)
            )
        return st.one_of(parts)


@dataclass(frozen=True)
class Int(Domain):
    """An integer in ``[low, high]`` (``None`` unbounded)."""

    low: int | None = None
    high: int | None = None
    allow_none: bool = False

    def examples(self, valid) -> list:
        out = [1.5, math.nan, math.inf, "3", True, [1, 2]]
        if not self.allow_none:
            out.append(None)
        if self.low is not None:
            out += [self.low - 1, self.low - 10**6]
        if self.high is not None:
            out += [self.high + 1, self.high + 10**9]
        return out

    def strategy(self, valid) -> st.SearchStrategy:
        parts = [st.sampled_from(self.examples(valid))]
        if self.low is not None:
            parts.append(st.integers(max_value=self.low - 1))
        if self.high is not None:
            parts.append(st.integers(min_value=self.high + 1))
        return st.one_of(parts)


@dataclass(frozen=True)
class Choice(Domain):
    """One of a fixed set of values."""

    choices: tuple

    def examples(self, valid) -> list:
        out = ["no-such-choice", 3.5, [valid]]
        return out + ([] if None in self.choices else [None])


@dataclass(frozen=True)
class Bool(Domain):
    """``True`` or ``False`` only (``"no"`` must not read as true)."""

    allow_none: bool = False

    def examples(self, valid) -> list:
        return ["no", 2, 1.0] + ([] if self.allow_none else [None])


@dataclass(frozen=True)
class Seed(Domain):
    """``None``, a non-negative integer or a ``numpy.random.Generator``."""

    def examples(self, valid) -> list:
        return [-1, 1.5, "seed", [1, 2]]


@dataclass(frozen=True)
class Device(Domain):
    """A torch device: ``"cpu"``, ``"cuda"``, ``"auto"`` or a ``torch.device``."""

    def examples(self, valid) -> list:
        import torch

        out = ["tpu", "", 3, "cpu:x"]
        return out if torch.cuda.is_available() else [*out, "cuda"]


def _as_numpy(valid) -> np.ndarray:
    if hasattr(valid, "detach"):  # a torch tensor
        return valid.detach().cpu().numpy()
    return np.asarray(valid)


def _like(valid, array: np.ndarray):
    """``array`` in the container type of ``valid`` (a torch tensor stays a tensor)."""
    if hasattr(valid, "detach"):
        import torch

        return torch.as_tensor(array, device=valid.device)
    return array


def _with_entry(valid, value) -> object:
    """A copy of ``valid`` (as floats) with its first entry replaced by ``value``."""
    array = _as_numpy(valid).astype(np.float64).copy()
    array.flat[0] = value
    if hasattr(valid, "detach"):
        return _like(valid, array.astype(_as_numpy(valid).dtype, copy=False))
    return array


def _shape_variants(valid, fixed_shape: bool) -> list:
    array = _as_numpy(valid)
    out = [_like(valid, array[..., None])]
    if array.ndim >= 1:
        out.append(_like(valid, array.reshape(-1)[:0].reshape((0,) * array.ndim)))
    if fixed_shape and array.ndim >= 1 and array.shape[0] > 1:
        out.append(_like(valid, array[:-1]))
    return out


@dataclass(frozen=True)
class Array(Domain):
    """An array of finite reals in an interval; ``fixed_shape`` when other arguments fix
    its shape (then a shorter array is invalid too)."""

    low: float | None = None
    high: float | None = None
    low_open: bool = False
    high_open: bool = False
    fixed_shape: bool = False
    allow_empty: bool = False

    def examples(self, valid) -> list:
        base = _as_numpy(valid)
        out = ["abc", None]
        if base.dtype.kind == "f" or not hasattr(valid, "detach"):  # an int tensor holds no NaN
            out += [_with_entry(valid, math.nan), _with_entry(valid, math.inf)]
        outside = Real(self.low, self.high, self.low_open, self.high_open)._outside()
        out += [_with_entry(valid, v) for v in outside if abs(v) < 1e300]
        variants = _shape_variants(valid, self.fixed_shape)
        if self.allow_empty:
            variants = [v for v in variants if _as_numpy(v).size]
        return out + variants


@dataclass(frozen=True)
class IntArray(Domain):
    """An integer array in ``[low, high]`` (labels, indices); floats are refused."""

    low: int | None = None
    high: int | None = None
    fixed_shape: bool = False

    def examples(self, valid) -> list:
        base = _as_numpy(valid)
        out = ["abc", None, _like(valid, base.astype(np.float64) + 0.5)]
        for bound, step in ((self.low, -1), (self.high, 1)):
            if bound is not None:
                bad = base.copy()
                bad.flat[0] = bound + step
                out.append(_like(valid, bad))
        return out + _shape_variants(valid, self.fixed_shape)


@dataclass(frozen=True)
class Spins(Domain):
    """An array of ±1 spins (any integer or float dtype)."""

    fixed_shape: bool = True

    def examples(self, valid) -> list:
        base = _as_numpy(valid)
        out = ["abc", None]
        for value in (0, 2, 0.5, math.nan):
            bad = base.astype(np.float64).copy()
            bad.flat[0] = value
            out.append(_like(valid, bad))
        return out + _shape_variants(valid, self.fixed_shape)


@dataclass(frozen=True)
class Values(Domain):
    """Invalid values listed by hand (models, callables, paths, mismatched objects)."""

    invalid: tuple

    def examples(self, valid) -> list:
        return list(self.invalid)


@dataclass
class Case:
    """One public callable, a cheap valid call, and the domain of each parameter.

    ``valid`` is a dict of keyword arguments or a function returning one (built once and
    deep-copied for each call). ``unchecked`` names parameters that need no check, each
    with the reason; every other parameter of the signature must have a domain. A
    refusal's message must contain the parameter's name, or ``says[parameter]`` where the
    callable reports it under another (the validators of ``checks`` use their ``name``).
    """

    func: Callable
    valid: dict | Callable[[], dict]
    domains: dict[str, Domain]
    unchecked: dict[str, str] = field(default_factory=dict)
    says: dict[str, str] = field(default_factory=dict)
    name: str = ""
    _built: dict | None = field(default=None, repr=False)

    def __post_init__(self):
        if not self.name:
            self.name = f"{self.func.__module__}.{self.func.__qualname__}"

    def kwargs(self) -> dict:
        if self._built is None:
            self._built = self.valid() if callable(self.valid) else dict(self.valid)
        return copy.deepcopy(self._built)

    def valid_value(self, param: str):
        """The valid value of ``param``: from the valid call, else the signature's default."""
        kwargs = self.kwargs()
        if param in kwargs:
            return kwargs[param]
        return inspect.signature(self.func).parameters[param].default


def load_tables() -> tuple[list[Case], dict[str, str]]:
    """Every ``CASES`` and ``RECORDS`` from the ``cases_*.py`` modules next to this file."""
    cases, records = [], {}
    for path in sorted(HERE.glob("cases_*.py")):
        module = importlib.import_module(path.stem)
        cases += module.CASES
        records.update(module.RECORDS)
    return cases, records


def public_callables() -> dict[str, Callable]:
    """Every callable named in an ``__all__`` of the package, by its defining name."""
    import deepspin

    names = ["deepspin"] + [
        m.name
        for m in pkgutil.walk_packages(deepspin.__path__, "deepspin.")
        if not m.name.endswith("__main__")
    ]
    found: dict[int, tuple[str, Callable]] = {}
    for name in names:
        module = importlib.import_module(name)
        for attr in getattr(module, "__all__", []):
            obj = getattr(module, attr)
            if callable(obj) and id(obj) not in found:
                found[id(obj)] = (f"{obj.__module__}.{obj.__qualname__}", obj)
    return dict(found.values())


def signature_parameters(func: Callable) -> list[str]:
    """Named parameters of ``func`` (``*args`` / ``**kwargs`` and ``self`` left out)."""
    skip = (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)
    params = inspect.signature(func).parameters.values()
    return [p.name for p in params if p.kind not in skip and p.name != "self"]
