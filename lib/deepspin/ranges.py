"""The documented range of each chapter parameter, and its check before a chapter runs.

A chapter's ``parameters`` cell states what each parameter supports at the start of the
comment on its line, so the reader sees the range where the default is set::

    kappa = 0.0  # [0, 2] margin κ of the reproduction check
    sizes = [13, 17, 21]  # [5, 29] exact enumeration sizes (each entry)
    device = "auto"  # {"auto", "cpu", "cuda"} where the tensors live
    ensemble_dir = ""  # any: a directory of saved ensembles, "" for none

An interval ``[a, b]``, ``(a, b]``, ``[a, inf)``, ... bounds a number (and each entry of a
list or tuple); a set literal ``{...}`` lists the allowed values; ``any`` says that
every value of the default's type is supported. ``deepspin run`` refuses a value outside
its range before anything runs (:func:`check_value`).
"""

from __future__ import annotations

import ast
import io
import math
import re
import tokenize
from dataclasses import dataclass
from typing import Any

__all__ = ["ParameterRange", "check_value", "comment_ranges", "parse_range"]

_NUMBER = r"[-+]?(?:inf|\d+(?:\.\d*)?(?:[eE][-+]?\d+)?|\.\d+(?:[eE][-+]?\d+)?)"
_INTERVAL = re.compile(rf"^([\[(])\s*({_NUMBER})\s*,\s*({_NUMBER})\s*([\])])")


@dataclass(frozen=True)
class ParameterRange:
    """What a parameter supports: an interval of numbers, a set of values, or anything.

    Attributes
    ----------
    kind : {"interval", "set", "any"}
    low, high : float
        Interval ends (``±inf`` for unbounded).
    low_open, high_open : bool
        Whether an end is excluded.
    values : tuple
        The allowed values of a set.
    text : str
        The range as written in the chapter.
    """

    kind: str
    low: float = -math.inf
    high: float = math.inf
    low_open: bool = False
    high_open: bool = False
    values: tuple = ()
    text: str = ""

    def contains(self, value: Any) -> bool:
        """Whether ``value`` (or, for a list or tuple, each entry) is in the range."""
        if self.kind == "any":
            return True
        if isinstance(value, list | tuple) and self.kind == "interval":
            return len(value) > 0 and all(self.contains(v) for v in value)
        if self.kind == "set":
            return any(value == v and type(value) is type(v) for v in self.values) or (
                isinstance(value, int | float)
                and not isinstance(value, bool)
                and any(
                    isinstance(v, int | float) and not isinstance(v, bool) and value == v
                    for v in self.values
                )
            )
        if isinstance(value, bool) or not isinstance(value, int | float):
            return False
        if not math.isfinite(value):
            return False
        above = value > self.low if self.low_open else value >= self.low
        below = value < self.high if self.high_open else value <= self.high
        return above and below


def parse_range(text: str) -> ParameterRange | None:
    """The range at the start of a parameter's comment, or ``None`` if it states none.

    Parameters
    ----------
    text : str
        The comment without its ``#``.

    Raises
    ------
    ValueError
        If the comment starts like a range (``[``, ``(``, ``{``) but is not a valid one,
        or an interval is empty.
    """
    if not isinstance(text, str):
        raise ValueError(f"text must be a string, got {text!r}")
    text = text.strip()
    if text == "any" or text.startswith(("any ", "any:", "any,")):
        return ParameterRange("any", text="any")
    if text.startswith("{"):
        depth, end = 0, None
        for k, ch in enumerate(text):
            depth += ch == "{"
            depth -= ch == "}"
            if depth == 0:
                end = k + 1
                break
        try:
            values = ast.literal_eval(text[:end]) if end else None
        except (ValueError, SyntaxError):
            values = None
        if not isinstance(values, set | frozenset) or not values:
            raise ValueError(f"text must start with a range like {{'a', 'b'}}, got {text!r}")
        return ParameterRange("set", values=tuple(sorted(values, key=repr)), text=text[:end])
    if text.startswith(("[", "(")):
        found = _INTERVAL.match(text)
        if not found:
            raise ValueError(f"text must start with an interval like [0, 1], got {text!r}")
        left, low, high, right = found.groups()
        low, high = float(low), float(high)
        if not low < high:
            raise ValueError(f"text gives an empty interval, got {found.group(0)!r}")
        return ParameterRange("interval", low, high, left == "(", right == ")", text=found.group(0))
    return None


def comment_ranges(source: str) -> dict[str, ParameterRange | None]:
    """Each parameter of a ``parameters`` cell → the range its line's comment states.

    Parameters
    ----------
    source : str
        The cell's code (``name = literal`` lines, comments, blank lines).

    Returns
    -------
    dict
        name → :class:`ParameterRange`, or ``None`` where the line states no range.

    Raises
    ------
    ValueError
        If the cell is not valid Python, or a comment starts with a malformed range
        (the message names the parameter).
    """
    if not isinstance(source, str):
        raise ValueError(f"source must be a string, got {source!r}")
    try:
        tree = ast.parse(source)
        tokens = list(tokenize.generate_tokens(io.StringIO(source).readline))
    except (SyntaxError, tokenize.TokenError) as err:
        raise ValueError(f"source must be valid Python: {err}") from None
    comments = {t.start[0]: t.string[1:] for t in tokens if t.type == tokenize.COMMENT}
    ranges: dict[str, ParameterRange | None] = {}
    for node in tree.body:
        targets = node.targets if isinstance(node, ast.Assign) else [getattr(node, "target", None)]
        for target in targets:
            if isinstance(target, ast.Name):
                comment = comments.get(node.end_lineno)
                try:
                    ranges[target.id] = None if comment is None else parse_range(comment)
                except ValueError as err:
                    raise ValueError(f"source: parameter {target.id!r}: {err}") from None
    return ranges


def check_value(name: str, value: Any, allowed: ParameterRange | None) -> Any:
    """Return ``value`` if it lies in ``allowed`` (``None``: no stated range), else raise.

    Raises
    ------
    ValueError
        Naming the parameter, its range as the chapter states it, and the value.
    """
    if not isinstance(name, str) or not name:
        raise ValueError(f"name must be a non-empty string, got {name!r}")
    if allowed is not None and not isinstance(allowed, ParameterRange):
        raise ValueError(f"allowed must be a ParameterRange or None, got {allowed!r}")
    if allowed is not None and not allowed.contains(value):
        each = " (each entry)" if isinstance(value, list | tuple) else ""
        raise ValueError(f"parameter {name!r} must lie in {allowed.text}{each}, got {value!r}")
    return value
