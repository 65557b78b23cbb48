"""The verdict table that closes every chapter, generated from the chapter's records.

A chapter states each claim it tested as a :class:`Claim`: the claim, where it comes
from (the paper, its abstract, a referee, a follow-up), the names of the recorded
values that are its evidence, and two rules that read those values: one returns the
verdict, the other whether two independent methods agree. :func:`verdict_table`
evaluates the rules on the values recorded so far (``deepspin.results.recorded``), so
a changed number changes the table; it records the verdicts themselves as
``verdicts``, so a run's ``summary.json`` carries them too.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from deepspin.checks import check_choice, check_int
from deepspin.results import record, recorded

__all__ = ["VERDICTS", "Claim", "VerdictTable", "format_value", "verdict_table"]

VERDICTS = (
    "reproduced",
    "reproduced with caveats",
    "contradicted",
    "not reproduced in this set-up",
    "not addressed",
)

Rule = Callable[..., Any]


@dataclass(frozen=True)
class Claim:
    """One tested claim of a chapter.

    Attributes
    ----------
    claim : str
        The claim, in one sentence.
    source : str
        Where it comes from, e.g. ``"Yoshino 2020, abstract"`` or ``"referee"``.
    evidence : tuple of str
        Names of recorded values (``deepspin.results.record``) the rules read.
    verdict : callable or str
        Called with the evidence values in order, returns one of :data:`VERDICTS`;
        a plain string is allowed only for ``"not addressed"`` (no evidence to read).
    agree : callable, bool or None
        Called with the evidence values, returns whether two independent methods agree
        (``True``/``False``), or ``None`` where only one method was used.
    methods : str
        The two methods compared, e.g. ``"replica theory vs Monte Carlo"``.
    formats : mapping of str to str
        Format specs (``".3f"``) of evidence values, by name; others use ``".4g"``.

    Every field is checked on construction: ``claim`` and ``source`` are non-empty
    strings, ``evidence`` a sequence of non-empty strings (kept as a tuple), a rule needs
    evidence, and ``formats`` names evidence with a valid format spec.
    """

    claim: str
    source: str
    evidence: tuple[str, ...] = ()
    verdict: Rule | str = "not addressed"
    agree: Rule | bool | None = None
    methods: str = ""
    formats: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self):
        for name in ("claim", "source"):
            text = getattr(self, name)
            if not isinstance(text, str) or not text.strip():
                raise ValueError(f"{name} must be a non-empty string, got {text!r}")
        evidence = self.evidence
        if isinstance(evidence, str) or not isinstance(evidence, Sequence):
            raise ValueError(
                f"evidence must be a tuple of recorded names (a 1-tuple is ('name',)), "
                f"got {evidence!r}"
            )
        if not all(isinstance(e, str) and e for e in evidence):
            raise ValueError(f"evidence must hold non-empty strings, got {evidence!r}")
        object.__setattr__(self, "evidence", tuple(evidence))
        if callable(self.verdict):
            if not self.evidence:
                raise ValueError(
                    f"verdict is a rule, which needs evidence; claim {self.claim!r} names none"
                )
        elif self.verdict != "not addressed":
            raise ValueError(
                f"verdict of claim {self.claim!r} must be a rule computed from its evidence "
                f"(a fixed string is allowed only for 'not addressed'), got {self.verdict!r}"
            )
        if not (self.agree is None or isinstance(self.agree, bool) or callable(self.agree)):
            raise ValueError(f"agree must be a rule, True, False or None, got {self.agree!r}")
        if not isinstance(self.methods, str):
            raise ValueError(f"methods must be a string, got {self.methods!r}")
        if not isinstance(self.formats, Mapping):
            raise ValueError(
                f"formats must be a mapping of evidence names to format specs, got {self.formats!r}"
            )
        for name, spec in self.formats.items():
            if name not in self.evidence:
                raise ValueError(
                    f"formats names {name!r}, which is not in evidence {self.evidence}"
                )
            _check_spec(f"formats[{name!r}]", spec)


@dataclass(frozen=True)
class VerdictTable:
    """Rows of evaluated claims; renders as an HTML or Markdown table in a notebook."""

    rows: tuple[dict, ...]

    _COLUMNS = ("claim", "source", "verdict", "evidence", "two methods agree")

    def _cells(self, row: dict) -> tuple[str, ...]:
        agree = {True: "yes", False: "no", None: "one method"}[row["agree"]]
        if row["methods"]:
            agree = f"{agree} ({row['methods']})"
        return row["claim"], row["source"], row["verdict"], row["evidence"], agree

    def _repr_markdown_(self) -> str:
        def cell(text: str) -> str:
            return text.replace("|", "\\|").replace("\n", " ")

        lines = ["| " + " | ".join(self._COLUMNS) + " |", "|" + "---|" * len(self._COLUMNS)]
        lines += ["| " + " | ".join(cell(c) for c in self._cells(r)) + " |" for r in self.rows]
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        head = "".join(f"<th>{html.escape(c)}</th>" for c in self._COLUMNS)
        body = "".join(
            "<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in self._cells(r)) + "</tr>"
            for r in self.rows
        )
        return (
            f'<table class="verdict-table"><thead><tr>{head}</tr></thead>'
            f"<tbody>{body}</tbody></table>"
        )

    def __str__(self) -> str:
        return self._repr_markdown_()

    def count(self, verdict: str) -> int:
        """How many claims received ``verdict``."""
        check_choice("verdict", verdict, VERDICTS)
        return sum(r["verdict"] == verdict for r in self.rows)


def _check_spec(name: str, spec) -> str:
    try:
        ok = isinstance(spec, str) and isinstance(format(0.5, spec), str)
    except (TypeError, ValueError):
        ok = False
    if not ok:
        raise ValueError(f"{name} must be a format spec for numbers such as '.4g', got {spec!r}")
    return spec


def format_value(value: Any, spec: str = ".4g", max_items: int = 6) -> str:
    """Compact text of a recorded value: numbers by ``spec``, long lists and dicts shortened.

    Parameters
    ----------
    value : any
        A recorded value; numbers, strings, None, bools, mappings and sequences are
        formatted, anything else by ``str``.
    spec : str
        A format spec valid for floats, e.g. ``".4g"`` or ``".3f"``.
    max_items : int, >= 1
        Items shown of a sequence or mapping before "…".
    """
    _check_spec("spec", spec)
    max_items = check_int("max_items", max_items, 1)
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return str(value)
    if isinstance(value, int | float):
        return format(value, spec)
    if isinstance(value, Mapping):
        items = [
            f"{k}: {format_value(v, spec, max_items)}" for k, v in list(value.items())[:max_items]
        ]
        more = ", …" if len(value) > max_items else ""
        return "{" + ", ".join(items) + more + "}"
    if isinstance(value, Sequence):
        items = [format_value(v, spec, max_items) for v in list(value)[:max_items]]
        more = ", …" if len(value) > max_items else ""
        return "[" + ", ".join(items) + more + "]"
    return str(value)


def _evaluate(claim: Claim, values: Mapping[str, Any]) -> dict:
    if not isinstance(claim, Claim):
        raise ValueError(f"claims must hold Claim objects, got {type(claim).__name__}")
    missing = [name for name in claim.evidence if name not in values]
    if missing:
        raise ValueError(
            f"evidence of claim {claim.claim!r} must be recorded values; not recorded: {missing}"
        )
    args = [values[name] for name in claim.evidence]
    # Claim's own checks ensure a rule has evidence and a fixed verdict is "not addressed"
    verdict = claim.verdict(*args) if callable(claim.verdict) else claim.verdict
    check_choice(f"verdict of claim {claim.claim!r}", verdict, VERDICTS)
    agree = claim.agree(*args) if callable(claim.agree) else claim.agree
    if agree is not None:
        agree = bool(agree)
    evidence = "; ".join(
        f"{name} = {format_value(values[name], claim.formats.get(name, '.4g'))}"
        for name in claim.evidence
    )
    return {
        "claim": claim.claim,
        "source": claim.source,
        "verdict": verdict,
        "evidence": evidence or "–",
        "agree": agree,
        "methods": claim.methods,
    }


def verdict_table(claims: Sequence[Claim], values: Mapping[str, Any] | None = None) -> VerdictTable:
    """Evaluate ``claims`` on recorded values and record the verdicts as ``verdicts``.

    Parameters
    ----------
    claims : sequence of Claim
        The chapter's tested claims, in the order of the table.
    values : mapping, optional
        Values to read instead of ``deepspin.results.recorded()`` (for tests).

    Returns
    -------
    VerdictTable
        Displayed as a table by Jupyter; ``rows`` holds the evaluated claims.
    """
    if isinstance(claims, Claim) or not isinstance(claims, Sequence) or not claims:
        raise ValueError(f"claims must be a non-empty sequence of Claim, got {claims!r}")
    values = recorded() if values is None else values
    if not isinstance(values, Mapping):
        raise ValueError(f"values must be a mapping of record names to values, got {values!r}")
    table = VerdictTable(tuple(_evaluate(c, values) for c in claims))
    record(
        "verdicts", [{k: r[k] for k in ("claim", "source", "verdict", "agree")} for r in table.rows]
    )
    return table
