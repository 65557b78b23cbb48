"""Solver results, run directories and the reproduction record of a chapter.

A chapter records its key numbers with :func:`record`. Run by ``deepspin run``,
the runner sets ``DEEPSPIN_RUN_DIR`` and every recorded value lands in that
run's ``summary.json``; run interactively (or under nbval and the book build),
the values are kept in memory only, so nothing outside a run directory is touched.

Files are written atomically (temporary file, then ``os.replace``), and run
directories are built under a temporary name and renamed when complete, so a
failed or killed run never replaces a good one.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

__all__ = [
    "RUN_DIR_ENV",
    "SolverResult",
    "atomic_run_dir",
    "atomic_write_text",
    "current_run_dir",
    "load_summary",
    "record",
    "recorded",
    "to_jsonable",
    "warn_if_not_converged",
]

RUN_DIR_ENV = "DEEPSPIN_RUN_DIR"
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
    """Emit a ``RuntimeWarning`` naming ``name`` when ``result`` did not converge."""
    if not result.converged:
        warnings.warn(
            f"{name} stopped without converging after {result.iterations} iterations "
            f"(residual {result.residual:.3g})",
            RuntimeWarning,
            stacklevel=stacklevel,
        )
    return result


def to_jsonable(value: Any) -> Any:
    """Convert numpy scalars and arrays (also nested in dicts, lists, tuples) to JSON types."""
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return to_jsonable(value.tolist())
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    if isinstance(value, float | int | str | bool) or value is None:
        return value
    raise TypeError(f"cannot record a value of type {type(value).__name__}")


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file in the same directory.

    The file gets the permissions an ordinary ``open`` would give it (``mkstemp``
    alone would leave it readable by its owner only).
    """
    path = Path(path)
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
    """Read a run directory's ``summary.json`` (empty dict if absent)."""
    path = Path(run_dir) / "summary.json"
    return json.loads(path.read_text()) if path.exists() else {}


def record(name: str, value: Any) -> Any:
    """Record a key result of a chapter and return it unchanged.

    Inside a run (``DEEPSPIN_RUN_DIR`` set) the value is merged into the run's
    ``summary.json``; otherwise it is kept in memory (see :func:`recorded`).
    """
    if not isinstance(name, str) or not name:
        raise ValueError("name must be a non-empty string")
    jsonable = to_jsonable(value)
    _MEMORY[name] = jsonable
    run_dir = current_run_dir()
    if run_dir is not None:
        summary = load_summary(run_dir)
        summary[name] = jsonable
        atomic_write_text(run_dir / "summary.json", json.dumps(summary, indent=2) + "\n")
    return value


def recorded() -> dict:
    """Values recorded in this process so far."""
    return dict(_MEMORY)


@contextmanager
def atomic_run_dir(target: str | os.PathLike) -> Iterator[Path]:
    """Build a run directory under a temporary name; install it at ``target`` on success.

    The temporary directory sits beside ``target``. On a clean exit it replaces
    ``target`` (an earlier run there is removed only after the new one is in
    place); on an exception or interrupt it is deleted and ``target`` is untouched.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.tmp-", dir=target.parent))
    os.chmod(tmp, 0o777 & ~_umask())
    try:
        yield tmp
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    if not target.exists():
        os.replace(tmp, target)
    elif _exchange(tmp, target):
        # one atomic swap: at no instant is there no complete run at `target`
        shutil.rmtree(tmp, ignore_errors=True)
    else:
        old = target.parent / f".{target.name}.old-{os.getpid()}"
        os.replace(target, old)
        os.replace(tmp, target)
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
