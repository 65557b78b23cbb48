"""Parameter validation: every error names the parameter and its allowed range."""

from __future__ import annotations

import math
from numbers import Integral, Real

__all__ = [
    "as_generator",
    "check_array",
    "check_bool",
    "check_choice",
    "check_device",
    "check_dtype",
    "check_int",
    "check_int_array",
    "check_path",
    "check_real",
    "check_shape",
    "check_spin_array",
    "kernel_seed",
    "torch_generator",
]


def _fmt_range(low, high, low_open, high_open) -> str:
    left = "(" if low_open else "["
    right = ")" if high_open else "]"
    lo = "-inf" if low is None else f"{low:g}"
    hi = "inf" if high is None else f"{high:g}"
    return f"{left}{lo}, {hi}{right}"


def check_real(
    name: str,
    value,
    low: float | None = None,
    high: float | None = None,
    *,
    low_open: bool = False,
    high_open: bool = False,
) -> float:
    """Return ``value`` as a float, or raise ``ValueError`` if it is not a finite real in range.

    The interval is closed unless ``low_open`` / ``high_open`` say otherwise; ``None``
    means unbounded on that side.
    """
    allowed = _fmt_range(low, high, low_open or low is None, high_open or high is None)
    if isinstance(value, bool) or not isinstance(value, Real) or not math.isfinite(value):
        raise ValueError(f"{name} must be a finite real number in {allowed}, got {value!r}")
    value = float(value)
    too_low = low is not None and (value <= low if low_open else value < low)
    too_high = high is not None and (value >= high if high_open else value > high)
    if too_low or too_high:
        raise ValueError(f"{name} must lie in {allowed}, got {value!r}")
    return value


def check_array(
    name: str,
    value,
    low: float | None = None,
    high: float | None = None,
    *,
    low_open: bool = False,
    high_open: bool = False,
    ndim: int | None = None,
    allow_empty: bool = True,
):
    """Return ``value`` as a float64 array, or raise ``ValueError`` naming ``name``.

    Every entry must be a finite real in the interval (closed unless ``low_open`` /
    ``high_open``; ``None`` is unbounded); ``ndim`` fixes the number of dimensions. The
    message gives the allowed range and the offending entry.
    """
    import numpy as np

    allowed = _fmt_range(low, high, low_open or low is None, high_open or high is None)
    try:
        # complex arrays would lose their imaginary part, strings would be parsed: refuse both
        if np.asarray(value).dtype.kind in "cSUVMm":
            raise TypeError
        array = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be an array of reals in {allowed}, got {value!r}") from None
    if ndim is not None and array.ndim != ndim:
        raise ValueError(f"{name} must be a {ndim}-D array, got shape {array.shape}")
    if not allow_empty and array.size == 0:
        raise ValueError(f"{name} must not be empty")
    bad = ~np.isfinite(array)
    if low is not None:
        bad |= (array <= low) if low_open else (array < low)
    if high is not None:
        bad |= (array >= high) if high_open else (array > high)
    if np.any(bad):
        first = float(array[bad].flat[0])
        raise ValueError(f"{name} must hold finite reals in {allowed}, got {first!r}")
    return array


def check_int(name: str, value, low: int | None = None, high: int | None = None) -> int:
    """Return ``value`` as an int; raise ``ValueError`` unless it is an integer in [low, high]."""
    allowed = _fmt_range(low, high, low is None, high is None)
    if isinstance(value, bool) or not isinstance(value, Integral):
        raise ValueError(f"{name} must be an integer in {allowed}, got {value!r}")
    value = int(value)
    if (low is not None and value < low) or (high is not None and value > high):
        raise ValueError(f"{name} must be an integer in {allowed}, got {value!r}")
    return value


def check_bool(name: str, value) -> bool:
    """Return ``value`` if it is a bool (``numpy.bool_`` included), else raise ``ValueError``.

    Integers and strings are refused: ``progress="no"`` would otherwise read as true.
    """
    import numpy as np

    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    raise ValueError(f"{name} must be True or False, got {value!r}")


def check_int_array(
    name: str,
    value,
    low: int | None = None,
    high: int | None = None,
    *,
    ndim: int | None = None,
    allow_empty: bool = True,
):
    """Return ``value`` as an int64 array of integers in ``[low, high]``, else raise.

    Integer dtypes are required (a float array of labels is refused rather than
    truncated); ``ndim`` fixes the number of dimensions.
    """
    import numpy as np

    allowed = _fmt_range(low, high, low is None, high is None)
    try:
        array = np.asarray(value)
    except (TypeError, ValueError):
        raise ValueError(
            f"{name} must be an array of integers in {allowed}, got {value!r}"
        ) from None
    if array.dtype.kind not in "iu" and not (array.size == 0 and array.dtype.kind == "f"):
        raise ValueError(
            f"{name} must be an array of integers in {allowed}, got dtype {array.dtype}"
        )
    if ndim is not None and array.ndim != ndim:
        raise ValueError(f"{name} must be a {ndim}-D array, got shape {array.shape}")
    if not allow_empty and array.size == 0:
        raise ValueError(f"{name} must not be empty")
    array = array.astype(np.int64)
    bad = np.zeros(array.shape, dtype=bool)
    if low is not None:
        bad |= array < low
    if high is not None:
        bad |= array > high
    if np.any(bad):
        raise ValueError(f"{name} must hold integers in {allowed}, got {int(array[bad].flat[0])}")
    return array


def check_spin_array(name: str, value, *, ndim: int | tuple[int, ...] | None = None):
    """Return ``value`` as an int8 array of ±1 spins, or raise ``ValueError`` naming ``name``.

    ``ndim`` (an int or a tuple of allowed ints) fixes the number of dimensions.
    """
    import numpy as np

    try:
        array = np.asarray(value)
        numeric = array.dtype.kind in "biuf"
    except (TypeError, ValueError):
        numeric = False
    if not numeric:
        raise ValueError(f"{name} must be an array of spins in {{-1, +1}}, got {value!r}")
    allowed_ndim = (ndim,) if isinstance(ndim, int) else ndim
    if allowed_ndim is not None and array.ndim not in allowed_ndim:
        wanted = " or ".join(f"{d}-D" for d in allowed_ndim)
        raise ValueError(f"{name} must be a {wanted} array of spins, got shape {array.shape}")
    if array.size and not np.all((array == 1) | (array == -1)):
        bad = array[(array != 1) & (array != -1)].flat[0].item()
        raise ValueError(f"{name} must hold spins in {{-1, +1}}, got {bad!r}")
    return array.astype(np.int8)


def check_path(name: str, value, *, allow_none: bool = False):
    """Return ``value`` as a ``pathlib.Path``, or raise ``ValueError`` naming ``name``.

    A ``str`` or an ``os.PathLike`` giving a ``str``, non-empty and without NUL bytes, is a
    path; ``None`` is returned as it is only where ``allow_none``. Whether the path exists
    is the caller's question.
    """
    import os
    from pathlib import Path

    if value is None and allow_none:
        return None
    what = "a path (str or os.PathLike)" + (" or None" if allow_none else "")
    if isinstance(value, str | os.PathLike):
        text = os.fspath(value)
        if isinstance(text, str) and text and "\0" not in text:
            return Path(text)
    raise ValueError(f"{name} must be {what}, non-empty and without NUL bytes, got {value!r}")


def check_shape(name: str, array, shape: tuple) -> None:
    """Raise ``ValueError`` unless ``array.shape`` matches ``shape`` (``None`` is any size)."""
    got = tuple(getattr(array, "shape", ()))
    fits = len(got) == len(shape) and all(
        s is None or s == g for s, g in zip(shape, got, strict=True)
    )
    if not fits:
        wanted = "(" + ", ".join("·" if s is None else str(s) for s in shape) + ")"
        raise ValueError(f"{name} must have shape {wanted}, got {got}")


def check_device(name: str, value):
    """Return a ``torch.device`` for ``value`` (a string, a device, or ``"auto"``), else raise.

    ``"auto"`` is CUDA when a GPU is visible and the CPU otherwise; a CUDA device is refused
    with a clear message when none is available.
    """
    import torch

    if isinstance(value, str) and value == "auto":
        value = "cuda" if torch.cuda.is_available() else "cpu"
    if not isinstance(value, (str, torch.device)):
        raise ValueError(f"{name} must be 'cpu', 'cuda', 'auto' or a torch.device, got {value!r}")
    try:
        device = torch.device(value)
    except (RuntimeError, TypeError, ValueError):
        raise ValueError(
            f"{name} must be 'cpu', 'cuda', 'auto' or a torch.device, got {value!r}"
        ) from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"{name} is {value!r} but no CUDA device is available")
    if device.type not in ("cpu", "cuda"):
        raise ValueError(f"{name} must be a CPU or CUDA device, got {value!r}")
    return device


def check_dtype(name: str, value, choices):
    """Return ``value`` if it is one of the dtypes ``choices`` (torch or numpy), else raise."""
    choices = tuple(choices)
    if not any(value is c or (type(value) is type(c) and value == c) for c in choices):
        listed = ", ".join(str(c) for c in choices)
        raise ValueError(f"{name} must be one of {listed}, got {value!r}")
    return value


def check_choice(name: str, value, choices) -> object:
    """Return ``value`` if it is one of ``choices``, else raise ``ValueError`` listing them."""
    choices = tuple(choices)
    try:
        known = bool(value in choices)
    except (TypeError, ValueError):  # an array or another value without a plain ==
        known = False
    if not known:
        listed = ", ".join(repr(c) for c in choices)
        raise ValueError(f"{name} must be one of {listed}, got {value!r}")
    return value


def as_generator(seed=None):
    """Turn ``seed`` (``None``, an int, or a ``numpy.random.Generator``) into a Generator.

    A Generator is returned as it is, so a caller can thread one stream through
    several functions; an int gives a reproducible stream; ``None`` fresh entropy.
    """
    import numpy as np

    if isinstance(seed, np.random.Generator):
        return seed
    if seed is None or (isinstance(seed, Integral) and not isinstance(seed, bool) and seed >= 0):
        return np.random.default_rng(seed)
    raise ValueError(
        f"seed must be None, a non-negative integer or a numpy Generator, got {seed!r}"
    )


def kernel_seed(rng) -> int:
    """An integer seed for a numba kernel, drawn from ``rng`` (see :func:`as_generator`)."""
    return int(as_generator(rng).integers(0, 2**31 - 1))


def torch_generator(rng, device="cpu"):
    """A ``torch.Generator`` on ``device`` seeded from ``rng`` (see :func:`as_generator`).

    Torch code draws its own streams from the caller's numpy stream, so one ``seed``
    reproduces a whole run; torch is imported here only when a torch module asks.
    """
    import torch

    gen = torch.Generator(device=check_device("device", device))
    gen.manual_seed(int(as_generator(rng).integers(0, 2**62)))
    return gen
