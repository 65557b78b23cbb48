"""Solver results, run directories and the reproduction record of a chapter.

A chapter records its key numbers with :func:`record`. Run by ``deepspin run``,
the runner sets ``DEEPSPIN_RUN_DIR`` and every recorded value lands in that
run's ``summary.json``; run interactively (or under nbval and the book build),
the values are kept in memory only, so nothing outside a run directory is touched.

Files are written atomically (temporary file, then ``os.replace``), and run
directories are built under a temporary name and renamed when complete, so a
failed or killed run never replaces a good one. A run directory replaces only an
earlier run (:func:`is_run_dir`: a directory holding :data:`RUN_MARKER`) or an empty
directory, never a file or a directory of someone's own files; what a killed run
leaves beside it is cleaned by :func:`remove_stale_temporaries`.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import tempfile
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from deepspin.checks import check_path

__all__ = [
    "RUN_DIR_ENV",
    "RUN_MARKER",
    "SolverResult",
    "atomic_run_dir",
    "atomic_write_text",
    "current_run_dir",
    "is_run_dir",
    "load_summary",
    "record",
    "recorded",
    "remove_stale_temporaries",
    "to_jsonable",
    "warn_if_not_converged",
]

RUN_DIR_ENV = "DEEPSPIN_RUN_DIR"

RUN_MARKER = "params.json"
"""The file that makes a directory a run directory (``deepspin run`` writes it first)."""

_OWNER_NOTE = ".deepspin-owner"  # "<host> <pid>" inside a temporary directory (runner's note)
_MEMORY: dict[str, Any] = {}


@dataclass
class SolverResult:
    """Outcome of an iterative solver.

    Attributes
    ----------
    value : Any
        The solution (a number, an array or a dict of arrays).
    converged : bool
        Whether the stopping criterion was met.
    iterations : int
        Iterations used.
    residual : float
        Final residual in the solver's own norm (documented by each solver).
    info : dict
        Anything else the solver reports (its parameters, a history, ...).
    tol : float or None
        The tolerance the residual was held to. When given, ``converged`` must equal
        ``residual <= tol`` (checked on construction), so the flag and the residual a
        solver reports can never tell different stories; :meth:`from_residual` computes it.
    """

    value: Any
    converged: bool
    iterations: int
    residual: float
    info: dict = field(default_factory=dict)
    tol: float | None = None

    def __post_init__(self):
        self.converged = bool(self.converged)
        self.iterations = int(self.iterations)
        self.residual = float(self.residual)
        if self.tol is not None and self.converged != (self.residual <= self.tol):
            raise AssertionError(
                f"converged={self.converged} contradicts residual {self.residual:.3g} "
                f"against tol {self.tol:.3g}"
            )

    @classmethod
    def from_residual(cls, value, residual, tol, iterations, info=None) -> SolverResult:
        """A result whose ``converged`` is ``residual <= tol`` (NaN never converges)."""
        residual = float(residual)
        return cls(value, residual <= tol, iterations, residual, dict(info or {}), float(tol))

    def __iter__(self):
        # Unpacking a SolverResult gives (value, converged), the two things callers use most.
        return iter((self.value, self.converged))


def warn_if_not_converged(result: SolverResult, name: str, stacklevel: int = 3) -> SolverResult:
    """Emit a ``RuntimeWarning`` naming ``name`` when ``result`` did not converge.

    Parameters
    ----------
    result : SolverResult
        The solver's result (or any object with ``converged``, ``iterations`` and
        ``residual``); returned unchanged.
    name : str, non-empty
        The solver's name, for the message.
    stacklevel : int, >= 1
        Passed to :func:`warnings.warn` (3: the caller of the solver that calls this).
    """
    from deepspin.checks import check_int

    if not all(hasattr(result, a) for a in ("converged", "iterations", "residual")):
        raise ValueError(f"result must be a SolverResult, got {type(result).__name__}")
    if not isinstance(name, str) or not name:
        raise ValueError(f"name must be a non-empty string, got {name!r}")
    stacklevel = check_int("stacklevel", stacklevel, 1)
    if not result.converged:
        warnings.warn(
            f"{name} stopped without converging after {result.iterations} iterations "
            f"(residual {result.residual:.3g})",
            RuntimeWarning,
            stacklevel=stacklevel,
        )
    return result


def _jsonable(value: Any, where: str) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v, f"{where}[{k!r}]") for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v, f"{where}[{i}]") for i, v in enumerate(value)]
    if isinstance(value, np.ndarray):
        return _jsonable(value.tolist(), where)
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    if isinstance(value, float | int | str | bool) or value is None:
        return value
    raise ValueError(
        "value must be built of JSON types (None, bool, int, float, str, lists, tuples, "
        f"dicts, numpy scalars and arrays); {where} is a {type(value).__name__}"
    )


def to_jsonable(value: Any) -> Any:
    """Convert numpy scalars and arrays (also nested in dicts, lists, tuples) to JSON types.

    Parameters
    ----------
    value : JSON-like
        ``None``, bool, int, float, str, numpy scalars and real or integer arrays, and
        dicts (keys become strings), lists and tuples of these. Non-finite floats are
        kept (JSON's ``NaN`` / ``Infinity``, which :mod:`json` reads back).

    Raises
    ------
    ValueError
        If ``value`` holds anything else; the message says where (``value['a'][2]``).
    """
    return _jsonable(value, "value")


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file in the same directory.

    The file gets the permissions an ordinary ``open`` would give it (``mkstemp``
    alone would leave it readable by its owner only).

    Parameters
    ----------
    path : path-like
        The file; ``path`` must not be a directory.
    text : str
        The content.

    Raises
    ------
    ValueError
        If ``path`` is not a path or is a directory, or ``text`` is not a ``str``.
    FileNotFoundError
        If the directory of ``path`` does not exist.
    """
    path = check_path("path", path)
    if not isinstance(text, str):
        raise ValueError(f"text must be a str, got {type(text).__name__}")
    if not path.parent.is_dir():
        raise FileNotFoundError(f"path {path}: its directory {path.parent} does not exist")
    if path.is_dir():
        raise ValueError(f"path {path} is a directory, not a file")
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w") as fh:
            fh.write(text)
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def current_run_dir() -> Path | None:
    """The run directory set by ``deepspin run``, or ``None`` outside a run."""
    value = os.environ.get(RUN_DIR_ENV)
    return Path(value) if value else None


def load_summary(run_dir: str | os.PathLike) -> dict:
    """Read a run directory's ``summary.json`` (empty dict if absent).

    Parameters
    ----------
    run_dir : path-like
        An existing directory.

    Raises
    ------
    ValueError
        If ``run_dir`` is not an existing directory, or its ``summary.json`` does not
        hold a JSON object.
    """
    run_dir = check_path("run_dir", run_dir)
    if not run_dir.is_dir():
        raise ValueError(f"run_dir must be an existing directory, got {str(run_dir)!r}")
    path = run_dir / "summary.json"
    if not path.exists():
        return {}
    summary = json.loads(path.read_text())
    if not isinstance(summary, dict):
        raise ValueError(f"{path} must hold a JSON object, found a {type(summary).__name__}")
    return summary


def record(name: str, value: Any) -> Any:
    """Record a key result of a chapter and return it unchanged.

    Inside a run (``DEEPSPIN_RUN_DIR`` set) the value is merged into the run's
    ``summary.json``; otherwise it is kept in memory (see :func:`recorded`).

    Parameters
    ----------
    name : str, non-empty
        The key.
    value : JSON-like
        What :func:`to_jsonable` accepts.
    """
    if not isinstance(name, str) or not name:
        raise ValueError(f"name must be a non-empty string, got {name!r}")
    jsonable = to_jsonable(value)
    run_dir = current_run_dir()
    if run_dir is not None and not run_dir.is_dir():
        raise FileNotFoundError(f"{RUN_DIR_ENV} names {run_dir}, which is not a directory")
    _MEMORY[name] = jsonable
    if run_dir is not None:
        summary = load_summary(run_dir)
        summary[name] = jsonable
        atomic_write_text(run_dir / "summary.json", json.dumps(summary, indent=2) + "\n")
    return value


def recorded() -> dict:
    """Values recorded in this process so far."""
    return dict(_MEMORY)


# --------------------------------------------------------------------------- run directories


def is_run_dir(path: str | os.PathLike) -> bool:
    """Whether ``path`` is a run directory: a directory (not a link) holding :data:`RUN_MARKER`.

    This is what :func:`atomic_run_dir` (and ``deepspin run --out``) may replace, besides
    an empty directory.

    Parameters
    ----------
    path : path-like
    """
    path = check_path("path", path)
    return path.is_dir() and not path.is_symlink() and (path / RUN_MARKER).is_file()


def _check_replaceable(target: Path) -> None:
    """Refuse a ``target`` that a new run must not replace (a file, a link, someone's folder)."""
    if target.is_symlink():
        raise ValueError(
            f"target {target} is a symbolic link; a run directory is not installed there"
        )
    if not target.exists():
        ancestor = target.parent
        while not ancestor.exists() and ancestor != ancestor.parent:
            ancestor = ancestor.parent
        if not ancestor.is_dir():
            raise ValueError(f"target {target}: {ancestor} is not a directory")
        return
    if not target.is_dir():
        raise ValueError(
            f"target {target} exists and is not a directory; a run directory replaces only "
            "an earlier run or an empty directory"
        )
    if not is_run_dir(target) and any(target.iterdir()):
        raise ValueError(
            f"target {target} is a non-empty directory but not an earlier run (no "
            f"{RUN_MARKER}); a run directory replaces only an earlier run or an empty directory"
        )


def _host() -> str:
    return re.sub(r"[^A-Za-z0-9._]", "_", socket.gethostname()) or "_"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError):
        return True
    return True


def _owner(entry: Path, prefix: str) -> tuple[str, int] | None:
    """(host, pid) of a temporary ``entry``: from its name, else from an owner note inside."""
    host, _, rest = entry.name[len(prefix) :].rpartition("-")  # rest: the random part
    host, _, pid = host.rpartition("-")
    if host and pid.isdigit() and rest:
        return host, int(pid)
    try:
        host, pid = (entry / _OWNER_NOTE).read_text().split()
        return re.sub(r"[^A-Za-z0-9._]", "_", host) or "_", int(pid)
    except (OSError, ValueError):
        return None


def _stale(entry: Path, prefix: str) -> bool:
    owner = _owner(entry, prefix)
    return owner is not None and owner[0] == _host() and not _pid_alive(owner[1])


def _remove(entry: Path) -> None:
    if entry.is_dir() and not entry.is_symlink():
        shutil.rmtree(entry, ignore_errors=True)
    else:
        entry.unlink(missing_ok=True)


def remove_stale_temporaries(target: str | os.PathLike) -> list[Path]:
    """Clean what killed builds of ``target`` left beside it; return the entries dealt with.

    :func:`atomic_run_dir` builds ``target`` in ``.<name>.tmp-<host>-<pid>-<random>``
    and, where the system cannot swap two directories atomically, moves an earlier run
    aside to ``.<name>.old-<host>-<pid>-<random>`` for an instant. An entry whose
    process ran on this host and is no longer alive is stale: a stale ``.old-`` entry is
    the earlier run itself and is put back at ``target`` when ``target`` is missing, and
    removed when a run is in place there (kept otherwise); a stale ``.tmp-`` entry is
    removed. Entries of live processes,
    of other hosts, or without a known owner (neither in the name nor in a
    ``.deepspin-owner`` note inside) are kept. :func:`atomic_run_dir` calls this itself.

    Parameters
    ----------
    target : path-like
        The run directory (which need not exist).

    Returns
    -------
    list of pathlib.Path
        The stale entries, by their temporary names (removed, or put back at ``target``).
    """
    target = check_path("target", target)
    done: list[Path] = []
    if not target.parent.is_dir():
        return done
    old_prefix, tmp_prefix = f".{target.name}.old-", f".{target.name}.tmp-"
    olds = [p for p in target.parent.glob(f"{old_prefix}*") if _stale(p, old_prefix)]
    olds.sort(key=lambda p: p.lstat().st_mtime_ns, reverse=True)
    for old in olds:
        if not os.path.lexists(target) and old.is_dir() and not old.is_symlink():
            os.replace(old, target)  # the earlier run, moved aside by an interrupted exchange
        elif is_run_dir(target):
            _remove(old)  # the exchange completed: a run is in place
        else:
            continue  # something else is at `target`: keep the earlier run where it is
        done.append(old)
    for tmp in target.parent.glob(f"{tmp_prefix}*"):
        if _stale(tmp, tmp_prefix):
            _remove(tmp)
            done.append(tmp)
    return done


def atomic_run_dir(target: str | os.PathLike):
    """Build a run directory under a temporary name; install it at ``target`` on success.

    Use as ``with atomic_run_dir(target) as tmp: ...``. The temporary directory sits
    beside ``target``. On a clean exit it replaces ``target`` (an earlier run there is
    removed only after the new one is in place, by one atomic swap where the system
    allows); on an exception or interrupt it is deleted and ``target`` is untouched.
    Stale temporaries of earlier builds are cleaned first (:func:`remove_stale_temporaries`).

    Parameters
    ----------
    target : path-like
        Absent, an empty directory, or an earlier run (:func:`is_run_dir`). Anything
        else (a file, a link, a directory of other files) is refused, here and again
        just before installing, so nothing of a user's is ever replaced or hidden.

    Raises
    ------
    ValueError
        If ``target`` is not a path, or is neither absent, empty, nor an earlier run.
    """
    target = check_path("target", target)
    _check_replaceable(target)
    return _build_run_dir(target)


@contextmanager
def _build_run_dir(target: Path) -> Iterator[Path]:
    target.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temporaries(target)
    _check_replaceable(target)
    owner = f"{_host()}-{os.getpid()}-"
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.tmp-{owner}", dir=target.parent))
    try:
        os.chmod(tmp, 0o777 & ~_umask())
        yield tmp
        _install(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _install(tmp: Path, target: Path) -> None:
    """Put the finished ``tmp`` at ``target``; an earlier run there goes only once it is in."""
    _check_replaceable(target)  # a file or folder may have appeared there during the build
    if not os.path.lexists(target):
        os.replace(tmp, target)
    elif _exchange(tmp, target):
        # one atomic swap: at no instant is there no complete run at `target`
        shutil.rmtree(tmp, ignore_errors=True)
    else:
        tmp_prefix = f".{target.name}.tmp-"
        old = target.parent / f".{target.name}.old-{tmp.name[len(tmp_prefix) :]}"
        os.replace(target, old)
        try:
            os.replace(tmp, target)
        except BaseException:
            os.replace(old, target)  # put the earlier run back
            raise
        shutil.rmtree(old, ignore_errors=True)


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths atomically with Linux ``renameat2(RENAME_EXCHANGE)``; False if unsupported."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    at_fdcwd, rename_exchange = -100, 2
    renameat2.argtypes = [
        ctypes.c_int,
        ctypes.c_char_p,
        ctypes.c_int,
        ctypes.c_char_p,
        ctypes.c_uint,
    ]
    return renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) == 0
