"""Re-run a chapter of the book with its own parameters: ``deepspin run`` and ``deepspin list``.

A chapter is a MyST-markdown notebook (jupytext) in ``notebooks/``. Its YAML front
matter may name presets, and one code cell tagged ``parameters`` holds simple
``name = literal`` assignments, its defaults::

    ---
    kernelspec: {name: python3, display_name: Python 3, language: python}
    deepspin:
      presets:
        paper: {n_samples: 200}
    ---

    ```{code-cell} ipython3
    :tags: [parameters]
    kappa = 0.0       # margin
    n_samples = 40
    ```

``deepspin run CHAPTER -p NAME VALUE ... [--preset NAME] [--out DIR]`` checks every
value against the default's type *before anything runs*, converts the chapter with
jupytext, injects the values after the parameters cell, executes the notebook with
papermill in the chapter's own directory, and builds a run directory::

    results/<chapter>/<preset or default>-<YYYYmmdd-HHMMSS>/
        params.json       chapter, preset, every parameter's value, the overrides
        <chapter>.ipynb   the executed notebook
        summary.json      what the chapter recorded with deepspin.results.record ({} if nothing)
        run.json          wall time, timestamps, python and package versions, git revision, host
        *.png, *.svg ...  whatever the chapter saved into $DEEPSPIN_RUN_DIR

The directory is built under a temporary name beside its target and renamed when
complete (:func:`deepspin.results.atomic_run_dir`): a failed, interrupted (SIGINT,
SIGTERM, SIGHUP) or killed run leaves an earlier run at the same place untouched. A
killed run cannot remove its temporary directory; the next run at the same place does
(:func:`deepspin.results.remove_stale_temporaries`).

Exit status of ``deepspin``: 0 success; 1 a cell failed (named on stderr, with the
kernel's traceback) or the kernel died; 2 a bad argument, refused before anything runs;
128 + the signal's number when interrupted.
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import datetime as _dt
import importlib.metadata
import json
import math
import os
import platform
import re
import shlex
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from deepspin import ranges, results
from deepspin.checks import check_path

__all__ = [
    "BOOK_ENV",
    "PACKAGES",
    "ChapterError",
    "RunInterrupted",
    "book_root",
    "chapter_parameters",
    "chapter_presets",
    "chapter_ranges",
    "chapter_title",
    "chapters_dir",
    "default_out_dir",
    "find_chapter",
    "git_revision",
    "list_chapters",
    "main",
    "package_versions",
    "parse_value",
    "resolve_parameters",
    "run_chapter",
]

BOOK_ENV = "DEEPSPIN_BOOK"
"""Environment variable naming another book root (its chapters are in ``<root>/notebooks``)."""

PACKAGES = ("numpy", "scipy", "numba", "torch", "matplotlib", "papermill", "jupytext", "deepspin")
"""Packages whose versions go into ``run.json``."""

_PARAMETER_TYPES = (bool, int, float, str, list, tuple, dict, type(None))
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


class ChapterError(RuntimeError):
    """A cell of a chapter raised while the chapter ran.

    Attributes
    ----------
    chapter : str
        Chapter id.
    path : pathlib.Path
        The chapter's ``.md`` file.
    cell_index : int or None
        Index of the failing cell in the chapter (0-based, markdown cells included);
        ``None`` if the failing cell was the injected parameters cell.
    code_cell : int or None
        1-based number of the failing cell among the chapter's code cells.
    line : int or None
        Line of the chapter's ``.md`` file of the failing statement (where the kernel's
        traceback names it; else the first line of the failing cell).
    ename, evalue : str
        The exception's name and message.
    source : str
        The failing cell's code.
    traceback : str
        The kernel's traceback, colour codes removed.
    """

    def __init__(
        self, chapter, path, cell_index, code_cell, line, ename, evalue, source, traceback
    ):
        self.chapter = chapter
        self.path = path
        self.cell_index = cell_index
        self.code_cell = code_cell
        self.line = line
        self.ename = ename
        self.evalue = evalue
        self.source = source
        self.traceback = traceback
        where = "the injected parameters cell" if code_cell is None else f"code cell {code_cell}"
        where += f" ({path}" + ("" if line is None else f", line {line}") + ")"
        super().__init__(f"chapter {chapter} failed in {where}: {ename}: {evalue}")


class RunInterrupted(KeyboardInterrupt):
    """The run was stopped by a signal (SIGINT, SIGTERM, SIGHUP); ``signum`` says which."""

    def __init__(self, signum: int):
        self.signum = signum
        super().__init__(signal.Signals(signum).name)


# --------------------------------------------------------------------------- chapters


def book_root() -> Path:
    """Root of the book: ``$DEEPSPIN_BOOK`` if set, else the repository holding this package."""
    value = os.environ.get(BOOK_ENV)
    return Path(value).expanduser().resolve() if value else Path(__file__).resolve().parents[2]


def chapters_dir() -> Path:
    """Directory of the chapters, ``book_root() / "notebooks"``."""
    return book_root() / "notebooks"


def _is_chapter(path: Path) -> bool:
    # A chapter is a jupytext markdown notebook: its front matter names a kernelspec.
    head = path.read_text(encoding="utf-8")[:4000]
    return head.startswith("---") and "\nkernelspec:" in head


def list_chapters(directory: str | os.PathLike | None = None) -> list[Path]:
    """Chapter files (``*.md`` with a ``kernelspec`` in their front matter), sorted by name.

    Parameters
    ----------
    directory : path, optional
        Where to look; default :func:`chapters_dir`.
    """
    directory = check_path("directory", directory, allow_none=True) or chapters_dir()
    if not directory.is_dir():
        return []
    return [p for p in sorted(directory.glob("*.md")) if _is_chapter(p)]


def find_chapter(chapter: str | os.PathLike) -> Path:
    """Path of a chapter given its id (``"gardner"``) or the path of its ``.md`` file.

    A chapter is a MyST-markdown notebook whose front matter names a ``kernelspec`` and
    which has a code cell tagged ``parameters``; any other file is refused.

    Raises
    ------
    ValueError
        If no such chapter exists (the message lists the available chapter ids), or the
        file is not a chapter.
    """
    if not isinstance(chapter, str | os.PathLike) or not os.fspath(chapter):
        raise ValueError(f"chapter must be a chapter id or a .md path, got {chapter!r}")
    text = os.fspath(chapter)
    as_path = Path(text).expanduser()
    if text.endswith(".md") or os.sep in text or as_path.is_file():
        if not as_path.is_file():
            raise ValueError(f"no chapter file {text}")
        if as_path.suffix != ".md":
            raise ValueError(f"chapter must be a MyST markdown file (.md), got {text}")
        path = as_path.resolve()
    else:
        path = chapters_dir() / f"{text}.md"
        if not path.is_file():
            known = ", ".join(p.stem for p in list_chapters()) or "none"
            raise ValueError(f"no chapter {text!r} in {chapters_dir()}; chapters: {known}")
    if not _is_chapter(path):
        raise ValueError(f"chapter {text} is not a chapter: its front matter names no kernelspec")
    if _parameters_index(_read(path)) is None:
        raise ValueError(f"chapter {text} is not a chapter: it has no cell tagged parameters")
    return path


def _read(path: Path):
    import jupytext  # imported here: `deepspin list` and argument errors stay quick

    try:
        return jupytext.read(path, fmt="md:myst")
    except Exception as err:  # YAML, nbformat validation, ...: say which file
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise ValueError(f"{path.name} cannot be read as a MyST notebook: {first}") from err


def _parameters_index(nb) -> int | None:
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "code" and "parameters" in cell.metadata.get("tags", []):
            return i
    return None


def _check_parameter_value(value: Any) -> bool:
    if isinstance(value, list | tuple):
        return all(_check_parameter_value(v) for v in value)
    if isinstance(value, dict):
        return all(
            _check_parameter_value(k) and _check_parameter_value(v) for k, v in value.items()
        )
    return isinstance(value, _PARAMETER_TYPES)


def _parse_parameters_cell(source: str, where: str) -> dict[str, Any]:
    try:
        tree = ast.parse(source)
    except SyntaxError as err:
        raise ValueError(f"{where}: parameters cell is not valid Python: {err}") from None
    params: dict[str, Any] = {}
    for node in tree.body:
        target = None
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target, value_node = node.targets[0], node.value
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            target, value_node = node.target, node.value
        if not isinstance(target, ast.Name):
            raise ValueError(
                f"{where}: parameters cell line {node.lineno} is not `name = literal`: "
                f"{ast.get_source_segment(source, node)!r}"
            )
        try:
            value = ast.literal_eval(value_node)
        except ValueError:
            raise ValueError(
                f"{where}: parameter {target.id!r} (parameters cell line {node.lineno}) "
                f"must be a literal, got {ast.get_source_segment(source, value_node)!r}"
            ) from None
        if not _check_parameter_value(value):
            raise ValueError(
                f"{where}: parameter {target.id!r} has type {type(value).__name__}; parameters "
                "are bool, int, float, str, None, or lists, tuples and dicts of these"
            )
        params[target.id] = value
    return params


def chapter_parameters(path: str | os.PathLike) -> dict[str, Any]:
    """The defaults of a chapter's parameters, in the order of its ``parameters`` cell.

    Parameters
    ----------
    path : path
        The chapter's ``.md`` file.

    Returns
    -------
    dict
        name → default value; empty if the chapter has no cell tagged ``parameters``.

    Raises
    ------
    ValueError
        If a statement of the parameters cell is not ``name = literal`` with a literal
        of type bool, int, float, str, None, list, tuple or dict.
    """
    path = check_path("path", path)
    nb = _read(path)
    index = _parameters_index(nb)
    if index is None:
        return {}
    return _parse_parameters_cell(nb.cells[index].source, path.name)


def chapter_presets(path: str | os.PathLike) -> dict[str, dict[str, Any]]:
    """The presets of a chapter: front matter ``deepspin: presets: {NAME: {param: value}}``."""
    nb = _read(check_path("path", path))
    presets = (nb.metadata.get("deepspin") or {}).get("presets") or {}
    if not isinstance(presets, Mapping) or not all(
        isinstance(v, Mapping) for v in presets.values()
    ):
        raise ValueError(f"{Path(path).name}: deepspin.presets must map names to {{param: value}}")
    return {str(name): dict(values) for name, values in presets.items()}


def chapter_ranges(path: str | os.PathLike) -> dict[str, ranges.ParameterRange | None]:
    """The range each parameter supports, as its line of the parameters cell states it.

    See :mod:`deepspin.ranges` for the notation (``# [0, 2] margin``, ``# {"cpu",
    "cuda"} ...``, ``# any ...``). A parameter whose comment states no range maps to
    ``None``; :func:`run_chapter` checks every value against its range before it runs.
    """
    path = check_path("path", path)
    nb = _read(path)
    index = _parameters_index(nb)
    if index is None:
        return {}
    try:
        return ranges.comment_ranges(nb.cells[index].source)
    except ValueError as err:
        raise ValueError(f"{path.name}: parameters cell: {err}") from None


def chapter_title(path: str | os.PathLike) -> str:
    """The chapter's title: its first ``# `` heading (empty string if none)."""
    for cell in _read(check_path("path", path)).cells:
        if cell.cell_type == "markdown":
            for line in cell.source.splitlines():
                if line.startswith("# "):
                    return line[2:].strip()
    return ""


# --------------------------------------------------------------------------- parameters


def parse_value(raw: str, default: Any = None) -> Any:
    """Turn a command-line string into a Python value.

    ``ast.literal_eval`` is tried first (``0.5``, ``3``, ``True``, ``[1, 2]``, ``'a b'``);
    what is not a literal stays a plain string. Where ``default`` is a string, the value
    is always a string (``-p label 3`` gives ``"3"``); where it is a float, ``inf``,
    ``-inf`` and ``nan`` are understood.
    """
    if not isinstance(raw, str):
        raise ValueError(f"raw must be a command-line string, got {raw!r}")
    try:
        value = ast.literal_eval(raw.strip())
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        value = raw
        if isinstance(default, float):
            with contextlib.suppress(ValueError):
                value = float(raw)
    if isinstance(default, str) and not isinstance(value, str):
        value = raw
    return value


def _type_name(value: Any) -> str:
    return "None" if value is None else type(value).__name__


def _coerce(name: str, value: Any, default: Any) -> Any:
    """``value`` converted to the type of ``default``; ``ValueError`` if it does not fit."""
    if default is None:
        if not _check_parameter_value(value):
            raise ValueError(f"parameter {name!r} cannot take a value of type {_type_name(value)}")
        return value
    if isinstance(default, bool):
        ok = isinstance(value, bool)
    elif isinstance(default, int):
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif isinstance(default, float):
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        value = float(value) if ok else value
    elif isinstance(default, list | tuple):
        ok = isinstance(value, list | tuple) and _check_parameter_value(value)
        value = type(default)(value) if ok else value
    elif isinstance(default, dict):
        ok = isinstance(value, dict) and _check_parameter_value(value)
    else:
        ok = isinstance(value, type(default))
    if not ok:
        raise ValueError(
            f"parameter {name!r} expects {_type_name(default)} (default {default!r}), "
            f"got {_type_name(value)} {value!r}"
        )
    return value


def _describe_parameters(defaults: Mapping[str, Any]) -> str:
    if not defaults:
        return "it has no parameters"
    width = max(len(k) for k in defaults)
    return "its parameters are:\n" + "\n".join(
        f"  {k:<{width}} = {v!r}  ({_type_name(v)})" for k, v in defaults.items()
    )


def _describe_presets(presets: Mapping[str, Mapping[str, Any]]) -> str:
    if not presets:
        return "it has no presets"
    return "its presets are:\n" + "\n".join(
        f"  {name}: " + ", ".join(f"{k}={v!r}" for k, v in values.items())
        for name, values in presets.items()
    )


def resolve_parameters(
    defaults: Mapping[str, Any],
    presets: Mapping[str, Mapping[str, Any]],
    preset: str | None = None,
    overrides: Mapping[str, Any] | None = None,
    *,
    chapter: str = "the chapter",
    supported: Mapping[str, ranges.ParameterRange | None] | None = None,
) -> dict[str, Any]:
    """Every parameter's value: the defaults, then the preset, then the overrides.

    Parameters
    ----------
    defaults : mapping
        name → default, as from :func:`chapter_parameters`.
    presets : mapping
        preset name → {name: value}, as from :func:`chapter_presets`.
    preset : str, optional
        Name of the preset to apply.
    overrides : mapping, optional
        name → value. Strings are parsed with :func:`parse_value` (they come from the
        command line); other values are taken as they are.
    chapter : str
        Used in error messages.
    supported : mapping, optional
        name → the range the chapter supports (:func:`chapter_ranges`); a preset or an
        override outside it is refused.

    Returns
    -------
    dict
        name → value for every parameter, in the order of ``defaults``. An int given
        for a float parameter becomes a float; a list given for a tuple, a tuple.

    Raises
    ------
    ValueError
        For an unknown preset (the message lists the presets), or an unknown name or a
        value whose type does not match the default's (the message lists the parameters
        with their defaults), or a value outside its supported range. A default of ``None``
        accepts any parameter value.
    """
    if not isinstance(defaults, Mapping):
        raise ValueError(f"defaults must be a mapping of name to value, got {defaults!r}")
    if not isinstance(presets, Mapping):
        raise ValueError(f"presets must be a mapping of name to values, got {presets!r}")
    if preset is not None and not isinstance(preset, str):
        raise ValueError(f"preset must be a preset name or None, got {preset!r}")
    if overrides is not None and not isinstance(overrides, Mapping):
        raise ValueError(
            f"overrides must be a mapping of parameter name to value, got {overrides!r}"
        )
    if not isinstance(chapter, str):
        raise ValueError(f"chapter must be a string, got {chapter!r}")
    if supported is not None and not isinstance(supported, Mapping):
        raise ValueError(f"supported must be a mapping of name to range, got {supported!r}")
    values = dict(defaults)
    changes: list[tuple[str, Any, str]] = []
    if preset is not None:
        if preset not in presets:
            raise ValueError(
                f"unknown preset {preset!r} for {chapter}; {_describe_presets(presets)}"
            )
        changes += [(k, v, f"preset {preset!r}") for k, v in presets[preset].items()]
    for name, value in (overrides or {}).items():
        parsed = parse_value(value, defaults.get(name)) if isinstance(value, str) else value
        changes.append((name, parsed, "-p"))
    for name, value, origin in changes:
        if name not in defaults:
            raise ValueError(
                f"unknown parameter {name!r} ({origin}) for {chapter}; "
                f"{_describe_parameters(defaults)}"
            )
        try:
            values[name] = _coerce(name, value, defaults[name])
            ranges.check_value(name, values[name], (supported or {}).get(name))
        except ValueError as err:
            raise ValueError(
                f"{err} ({origin}) for {chapter}; {_describe_parameters(defaults)}"
            ) from None
    return values


def _source_literal(value: Any) -> str:
    """Python source for a parameter value (``repr``, with non-finite floats spelled out)."""
    if isinstance(value, float) and not math.isfinite(value):
        return f"float({str(value)!r})"
    if isinstance(value, list):
        return "[" + ", ".join(_source_literal(v) for v in value) + "]"
    if isinstance(value, tuple):
        inner = ", ".join(_source_literal(v) for v in value)
        return f"({inner},)" if len(value) == 1 else f"({inner})"
    if isinstance(value, dict):
        items = ", ".join(f"{_source_literal(k)}: {_source_literal(v)}" for k, v in value.items())
        return "{" + items + "}"
    return repr(value)


# --------------------------------------------------------------------------- provenance


def default_out_dir(
    chapter: str, preset: str | None = None, now: _dt.datetime | None = None
) -> Path:
    """``<book root>/results/<chapter>/<preset or 'default'>-<YYYYmmdd-HHMMSS>``.

    A suffix ``-2``, ``-3``, ... is added if that directory already exists.
    """
    for name, value, optional in (("chapter", chapter, False), ("preset", preset, True)):
        if value is None and optional:
            continue
        if not isinstance(value, str) or not value or "/" in value or value in (".", ".."):
            raise ValueError(f"{name} must be a name without '/', got {value!r}")
    if now is not None and not isinstance(now, _dt.datetime):
        raise ValueError(f"now must be a datetime or None, got {now!r}")
    now = _dt.datetime.now() if now is None else now
    base = book_root() / "results" / chapter / f"{preset or 'default'}-{now:%Y%m%d-%H%M%S}"
    out, k = base, 1
    while out.exists():
        k += 1
        out = base.with_name(f"{base.name}-{k}")
    return out


def package_versions(names: tuple[str, ...] = PACKAGES) -> dict[str, str | None]:
    """Installed version of each package (``None`` where it is not installed)."""
    if not isinstance(names, list | tuple) or not all(isinstance(n, str) and n for n in names):
        raise ValueError(f"names must be a tuple of package names, got {names!r}")
    versions: dict[str, str | None] = {}
    for name in names:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def git_revision(path: str | os.PathLike) -> tuple[str | None, bool | None]:
    """``(commit, dirty)`` of the git work tree holding ``path``; ``(None, None)`` outside one.

    ``dirty`` is true when tracked files differ from the commit or untracked files exist.
    Nothing is written to the repository (``--no-optional-locks``).
    """
    path = check_path("path", path)

    def git(*args: str) -> str | None:
        try:
            done = subprocess.run(
                ["git", "--no-optional-locks", "-C", os.fspath(path), *args],
                capture_output=True,
                text=True,
                timeout=30,
                check=False,
            )
        except (OSError, subprocess.SubprocessError):
            return None
        return done.stdout if done.returncode == 0 else None

    rev = git("rev-parse", "HEAD")
    if rev is None:
        return None, None
    status = git("status", "--porcelain")
    return rev.strip(), None if status is None else bool(status.strip())


def _now() -> str:
    return _dt.datetime.now().astimezone().isoformat(timespec="seconds")


def _rerun_command(chapter: str, preset: str | None, overrides: Mapping[str, Any]) -> str:
    words = ["deepspin", "run", chapter]
    if preset:
        words += ["--preset", preset]
    for name, value in overrides.items():
        words += ["-p", name, value if isinstance(value, str) else _source_literal(value)]
    return shlex.join(words)


# --------------------------------------------------------------------------- running


class _SignalGuard:
    """Turn SIGTERM and SIGHUP (and SIGINT, if Python's default handler owns it) into
    :class:`RunInterrupted` while a run executes; :meth:`hold` defers them instead, so the
    few renames that install a finished run are never cut in half."""

    def __init__(self):
        self.held = False
        self.pending: int | None = None
        self.saved: dict[int, Any] = {}

    def _handle(self, signum, frame):
        if self.held:
            self.pending = signum
        else:
            raise RunInterrupted(signum)

    def __enter__(self):
        if threading.current_thread() is not threading.main_thread():
            return self
        for sig in (signal.SIGINT, signal.SIGTERM, getattr(signal, "SIGHUP", None)):
            if sig is None:
                continue
            current = signal.getsignal(sig)
            if sig == signal.SIGINT and current is not signal.default_int_handler:
                continue  # ignored or handled by the caller: leave it alone
            if sig != signal.SIGINT and current not in (signal.SIG_DFL, None):
                continue
            self.saved[sig] = current
            signal.signal(sig, self._handle)
        return self

    def hold(self):
        self.held = True

    def __exit__(self, *exc):
        for sig, handler in self.saved.items():
            signal.signal(sig, handler)
        return False


@contextlib.contextmanager
def _environ(name: str, value: str) -> Iterator[None]:
    old = os.environ.get(name)
    os.environ[name] = value
    try:
        yield
    finally:
        if old is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = old


def _check_out(out: Path) -> None:
    """Refuse an ``out`` that a finished run must not replace: a file, a folder of the user's."""
    if out.is_symlink() or (out.exists() and not out.is_dir()):
        raise ValueError(f"--out {out} exists and is not a directory")
    if out.is_dir() and any(out.iterdir()) and not results.is_run_dir(out):
        raise ValueError(
            f"--out {out} is a non-empty directory but not an earlier run (no params.json); "
            "a run replaces its whole run directory, so give a new or an earlier run's path"
        )
    # The run is built beside ``out`` and renamed into place: the nearest existing
    # ancestor must let us create entries, or the run would fail only once it is done.
    existing = out.parent
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    try:
        if not existing.is_dir():
            raise OSError(f"{existing} is not a directory")
        probe, name = tempfile.mkstemp(prefix=".deepspin-probe-", dir=existing)
        os.close(probe)
        os.unlink(name)
    except OSError as err:
        raise ValueError(f"--out {out} cannot be written: {err}") from None


def _write_json(path: Path, data: Any) -> None:
    results.atomic_write_text(path, json.dumps(results.to_jsonable(data), indent=2) + "\n")


def _chapter_error(err, path, text, nb, inject_at) -> ChapterError:
    index = err.cell_index
    if index == inject_at:
        cell_index = None
    else:
        cell_index = index if index < inject_at else index - 1
    code_cell = line = None
    if cell_index is not None and cell_index < len(nb.cells):
        code_cell = sum(c.cell_type == "code" for c in nb.cells[: cell_index + 1])
        source = nb.cells[cell_index].source
        pos = text.find(source) if source else -1
        line = text.count("\n", 0, pos) + 1 if pos >= 0 else None
    traceback = _ANSI.sub("", "\n".join(err.traceback or []))
    # IPython names the failing statement "Cell In[<count>], line <k>": point at it.
    found = re.search(rf"Cell In\[{err.exec_count}\], line (\d+)", traceback)
    if line is not None and found:
        line += int(found.group(1)) - 1
    return ChapterError(
        path.stem, path, cell_index, code_cell, line, err.ename, err.evalue, err.source, traceback
    )


def run_chapter(
    chapter: str | os.PathLike,
    params: Mapping[str, Any] | None = None,
    out: str | os.PathLike | None = None,
    preset: str | None = None,
    progress: bool = True,
) -> Path:
    """Execute a chapter with parameters and install its run directory.

    Parameters
    ----------
    chapter : str or path
        Chapter id (``"gardner"``, looked up in :func:`chapters_dir`) or ``.md`` path.
    params : mapping, optional
        name → value overriding the defaults and the preset; strings are parsed as on the
        command line (:func:`parse_value`).
    out : path, optional
        The run directory; default :func:`default_out_dir`. An earlier run there is
        replaced only once this one has completed. A non-empty directory that is not a
        run directory (no ``params.json``) is refused rather than replaced.
    preset : str, optional
        A preset from the chapter's front matter, applied before ``params``.
    progress : bool
        Show papermill's progress bar (on stderr).

    Returns
    -------
    pathlib.Path
        The installed run directory.

    Raises
    ------
    ValueError
        Unknown chapter, preset or parameter, a value of the wrong type, or an ``out``
        that is not a run directory; raised before anything is executed or created.
    ChapterError
        A cell raised; nothing is installed at ``out``.
    RunInterrupted
        SIGINT, SIGTERM or SIGHUP arrived during the run; nothing is installed at ``out``.

    Notes
    -----
    The kernel is started in the chapter's directory with ``DEEPSPIN_RUN_DIR`` set to the
    run directory under construction (so :func:`deepspin.results.record` and the figure
    helpers write there). ``os.environ`` is modified for the duration of the run: do not
    call this from several threads at once.
    """
    import papermill
    from papermill.exceptions import PapermillExecutionError

    path = find_chapter(chapter)
    if params is not None and not isinstance(params, Mapping):
        raise ValueError(f"params must be a mapping of parameter name to value, got {params!r}")
    if out is not None and not isinstance(out, str | os.PathLike):
        raise ValueError(f"out must be a path or None, got {out!r}")
    if not isinstance(progress, bool):
        raise ValueError(f"progress must be True or False, got {progress!r}")
    chapter_id = path.stem
    text = path.read_text(encoding="utf-8")
    nb = _read(path)
    index = _parameters_index(nb)
    defaults = _parse_parameters_cell(nb.cells[index].source, path.name)
    values = resolve_parameters(
        defaults,
        chapter_presets(path),
        preset,
        params,
        chapter=f"chapter {chapter_id}",
        supported=chapter_ranges(path),
    )
    overrides = {k: v for k, v in (params or {}).items()}
    out = Path(default_out_dir(chapter_id, preset) if out is None else out).expanduser().absolute()
    _check_out(out)
    kernel_name = (nb.metadata.get("kernelspec") or {}).get("name", "python3")

    import nbformat

    inject_at = (-1 if index is None else index) + 1
    injected = nbformat.v4.new_code_cell(
        "# Parameters injected by `deepspin run`\n"
        + "".join(f"{k} = {_source_literal(v)}\n" for k, v in values.items()),
        metadata={"tags": ["injected-parameters"]},
    )
    executable = nbformat.from_dict(nb)
    executable.cells.insert(inject_at, injected)
    executable.metadata.setdefault("deepspin", {})["run"] = {"preset": preset, "parameters": values}
    # jupytext cells carry no ids; nbformat 4.5 wants them (papermill warns otherwise).
    for k, cell in enumerate(executable.cells):
        cell.setdefault("id", f"cell-{k}")
    executable.nbformat, executable.nbformat_minor = 4, 5

    commit, dirty = git_revision(path.parent)
    run_info = {
        "chapter": chapter_id,
        "source": str(path),
        "preset": preset,
        "command": _rerun_command(
            chapter_id if path.parent == chapters_dir() else str(path), preset, overrides
        ),
        "started": _now(),
        "finished": None,
        "wall_time_s": None,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "packages": package_versions(),
        "git_revision": commit,
        "git_dirty": dirty,
        "hostname": socket.gethostname(),
        "cpu_count": os.cpu_count(),
    }
    t0 = time.perf_counter()
    if progress:
        shown = ", ".join(f"{k}={v!r}" for k, v in values.items())
        using = f" (preset {preset})" if preset else ""
        print(
            f"deepspin: running {chapter_id}{using} with {shown or 'no parameters'}",
            file=sys.stderr,
        )
        print(f"deepspin: run directory {out}", file=sys.stderr)
    with _SignalGuard() as guard, results.atomic_run_dir(out) as tmp:
        _write_json(
            tmp / "params.json",
            {"chapter": chapter_id, "preset": preset, "parameters": values, "overrides": overrides},
        )
        with _environ(results.RUN_DIR_ENV, str(tmp)):
            try:
                papermill.execute_notebook(
                    executable,
                    str(tmp / f"{chapter_id}.ipynb"),
                    kernel_name=kernel_name,
                    language="python",
                    progress_bar=progress,
                    cwd=str(path.parent),
                    # ipykernel's start-up notice about unencrypted local TCP is noise here
                    extra_arguments=["--IPKernelApp.log_level=ERROR"],
                )
            except PapermillExecutionError as err:
                raise _chapter_error(err, path, text, nb, inject_at) from None
        if not (tmp / "summary.json").exists():
            results.atomic_write_text(tmp / "summary.json", "{}\n")
        run_info["finished"] = _now()
        run_info["wall_time_s"] = round(time.perf_counter() - t0, 3)
        _write_json(tmp / "run.json", run_info)
        guard.hold()  # from here on a signal waits until the run is installed
    if guard.pending is not None:
        print(
            f"deepspin: {signal.Signals(guard.pending).name} arrived while the finished run "
            "was being installed; it was installed",
            file=sys.stderr,
        )
    return out


# --------------------------------------------------------------------------- command line


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="deepspin",
        description="Re-run the chapters of the deepspin book with your own parameters.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="{run,list}")
    run = sub.add_parser(
        "run",
        help="execute a chapter and write a run directory",
        description="Execute a chapter with parameters; write params.json, the executed "
        "notebook, figures, summary.json and run.json into a run directory.",
    )
    run.add_argument("chapter", help="chapter id (see `deepspin list`) or path to its .md file")
    run.add_argument(
        "-p",
        "--param",
        nargs=2,
        action="append",
        default=[],
        metavar=("NAME", "VALUE"),
        help="set a parameter (repeatable); VALUE is a Python literal or a plain string",
    )
    run.add_argument("--preset", help="a preset named in the chapter's front matter")
    run.add_argument(
        "--out", help="run directory (default: results/<chapter>/<preset>-<timestamp>)"
    )
    run.add_argument(
        "-q", "--quiet", action="store_true", help="no progress bar; print only the run directory"
    )
    sub.add_parser("list", help="show the chapters, their parameters and presets")
    return parser


def _wrapped(label: str, items: list[str], sep: str, width: int = 100) -> str:
    """``label`` then ``items`` joined by ``sep``, wrapped between items at ``width``."""
    lines, current = [], f"    {label}"
    indent = " " * len(current)
    for k, item in enumerate(items):
        piece = item + (sep.rstrip() if k < len(items) - 1 else "")
        if current.strip() != label.strip() and len(current) + len(piece) + 1 > width:
            lines.append(current.rstrip())
            current = indent
        current += piece + " "
    lines.append(current.rstrip() if items else f"    {label}none")
    return "\n".join(lines)


def _format_chapter(path: Path) -> str:
    try:
        lines = [f"{path.stem}: {chapter_title(path) or '(untitled)'}"]
    except ValueError as err:
        return f"{path.stem}: unreadable ({err})"
    try:
        params = chapter_parameters(path)
        supported = chapter_ranges(path)
        shown = [
            f"{k} = {v!r}" + (f" in {supported[k].text}" if supported.get(k) else "")
            for k, v in params.items()
        ]
        lines.append(_wrapped("parameters: ", shown, ", "))
    except ValueError as err:
        lines.append(f"    parameters: unreadable ({err})")
    try:
        presets = chapter_presets(path)
        shown = [
            f"{name} ({', '.join(f'{k}={v!r}' for k, v in values.items())})"
            for name, values in presets.items()
        ]
        lines.append(_wrapped("presets:    ", shown, "; "))
    except ValueError as err:
        lines.append(f"    presets:    unreadable ({err})")
    return "\n".join(lines)


def _cmd_list() -> int:
    paths = list_chapters()
    if not paths:
        print(f"no chapters in {chapters_dir()}", file=sys.stderr)
        return 1
    print("\n".join(_format_chapter(p) for p in paths))
    return 0


def _cmd_run(args: argparse.Namespace) -> int:
    overrides: dict[str, str] = {}
    for name, value in args.param:
        if name in overrides:
            print(f"deepspin: parameter {name!r} given twice", file=sys.stderr)
            return 2
        overrides[name] = value
    try:
        out = run_chapter(args.chapter, overrides, args.out, args.preset, progress=not args.quiet)
    except ValueError as err:
        print(f"deepspin: {err}\nnothing was run.", file=sys.stderr)
        return 2
    except ChapterError as err:
        target = args.out or "the run directory"
        indented = "\n".join("    " + line for line in err.traceback.splitlines())
        print(
            f"{indented}\ndeepspin: {err}\n"
            f"nothing was written to {target}; an earlier run there is untouched.",
            file=sys.stderr,
        )
        return 1
    except KeyboardInterrupt as err:
        signum = err.signum if isinstance(err, RunInterrupted) else signal.SIGINT
        print(
            f"\ndeepspin: interrupted ({signal.Signals(signum).name}); nothing was written, "
            "an earlier run is untouched.",
            file=sys.stderr,
        )
        return 128 + signum
    except Exception as err:  # a dead kernel, a full disk, ...: report without a traceback
        print(f"deepspin: run failed: {type(err).__name__}: {err}", file=sys.stderr)
        return 1
    if args.quiet:
        print(out)
    else:
        run_info = json.loads((out / "run.json").read_text())
        print(f"run directory: {out}")
        print(f"wall time:     {run_info['wall_time_s']:.1f} s")
        print("summary.json:  " + json.dumps(results.load_summary(out), indent=2))
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``deepspin`` command; returns the exit status.

    0 success; 1 the chapter failed (the failing cell is named on stderr); 2 a bad
    argument (unknown chapter, preset or parameter, wrong type), caught before anything
    runs; 128 + signal number when interrupted.
    """
    if argv is not None and (
        not isinstance(argv, list | tuple) or not all(isinstance(a, str) for a in argv)
    ):
        raise ValueError(f"argv must be a list of strings or None, got {argv!r}")
    args = _build_parser().parse_args(argv)
    if args.command == "list":
        return _cmd_list()
    return _cmd_run(args)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
