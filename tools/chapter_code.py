"""Lint and format the code cells of the book's MyST chapters with ruff.

Usage: ``python tools/chapter_code.py check|format FILE.md ...``

``check`` runs ``ruff check`` and ``ruff format --check`` on every chapter's code cells and
prints each finding as ``FILE.md:LINE: CODE message`` (exit 1 if there is any); ``format``
rewrites each code cell in place as ``ruff format`` would, leaving the prose, the front
matter and the cell options untouched. The code of a chapter reaches ruff on stdin under
the name ``notebooks/<chapter>.py``, so the project's ruff configuration applies, with the
per-file rules for ``notebooks/*`` (module-level imports below the top, bare expressions
that display a value).
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

RUFF = Path(sys.executable).with_name("ruff")
_OPEN = re.compile(r"^```\{code-cell\}")
_SEPARATOR = "\n\n\n# %%\n"


@dataclass
class Cell:
    first_line: int  # 0-based index of the first code line in the chapter
    code: list[str]


def code_cells(lines: list[str]) -> list[Cell]:
    """The code cells of a MyST notebook: their code lines and where they start."""
    cells, i = [], 0
    while i < len(lines):
        if not _OPEN.match(lines[i]):
            i += 1
            continue
        i += 1
        if i < len(lines) and lines[i].strip() == "---":  # a YAML block of options
            i += 1
            while i < len(lines) and lines[i].strip() != "---":
                i += 1
            i += 1
        options = i
        while i < len(lines) and lines[i].startswith(":"):  # short options, e.g. :tags:
            i += 1
        if i > options and i < len(lines) and not lines[i].strip():
            i += 1  # the blank line that closes the options belongs to the header
        start = i
        while i < len(lines) and lines[i].rstrip() != "```":
            i += 1
        cells.append(Cell(start, lines[start:i]))
        i += 1
    return cells


def _ruff(args: list[str], source: str, name: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(RUFF), *args, "--stdin-filename", name, "-"],
        input=source,
        capture_output=True,
        text=True,
        check=False,
    )


def check(path: Path) -> list[str]:
    """ruff findings for the code cells of ``path``, located in the chapter."""
    lines = path.read_text().splitlines()
    cells = code_cells(lines)
    source, where = "", []  # where[k] = chapter line of line k + 1 of the joined source
    for cell in cells:
        if where:
            source += _SEPARATOR
            where += [None] * (_SEPARATOR.count("\n") - 1)
        source += "\n".join(cell.code)
        where += [cell.first_line + k + 1 for k in range(len(cell.code))]
    source += "\n"
    name = f"notebooks/{path.stem}.py"
    found = []
    result = _ruff(["check", "--output-format", "json", "--no-fix"], source, name)
    for item in json.loads(result.stdout or "[]"):
        row = item["location"]["row"]
        line = where[row - 1] if 0 < row <= len(where) and where[row - 1] else "?"
        found.append(f"{path}:{line}: {item['code']} {item['message']}")
    for cell in cells:
        code = "\n".join(cell.code) + "\n"
        formatted = _ruff(["format"], code, name)
        if formatted.returncode != 0:
            found.append(f"{path}:{cell.first_line + 1}: ruff format failed: {formatted.stderr}")
        elif formatted.stdout != code:
            found.append(f"{path}:{cell.first_line + 1}: cell is not formatted (ruff format)")
    return found


def format_chapter(path: Path) -> bool:
    """Format every code cell of ``path`` in place; True if anything changed."""
    lines = path.read_text().splitlines()
    name = f"notebooks/{path.stem}.py"
    changed = False
    for cell in reversed(code_cells(lines)):
        code = "\n".join(cell.code) + "\n"
        formatted = _ruff(["format"], code, name)
        if formatted.returncode != 0:
            where = f"{path}:{cell.first_line + 1}"
            raise SystemExit(f"{where}: ruff format failed: {formatted.stderr}")
        new = formatted.stdout.rstrip("\n").splitlines()
        if new != cell.code:
            lines[cell.first_line : cell.first_line + len(cell.code)] = new
            changed = True
    if changed:
        path.write_text("\n".join(lines) + "\n")
    return changed


def main(argv: list[str]) -> int:
    if len(argv) < 2 or argv[0] not in ("check", "format"):
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    paths = [Path(p) for p in argv[1:]]
    if argv[0] == "format":
        for path in paths:
            if format_chapter(path):
                print(f"formatted {path}")
        return 0
    found = [line for path in paths for line in check(path)]
    print("\n".join(found) if found else f"{len(paths)} chapters: code cells clean")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
