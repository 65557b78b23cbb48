"""Tests of tools/chapter_code.py on a small synthetic chapter."""

import importlib.util
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
spec = importlib.util.spec_from_file_location("chapter_code", ROOT / "tools" / "chapter_code.py")
chapter_code = importlib.util.module_from_spec(spec)
sys.modules[spec.name] = chapter_code  # dataclasses look their module up
spec.loader.exec_module(chapter_code)

CHAPTER = """---
jupytext:
  text_representation:
    extension: .md
---

# Title

Some prose with `x=1`.

```{code-cell} ipython3
:tags: [parameters]

x=1
```

More prose.

```{code-cell} ipython3
import os
y = [1,2]
```
"""


def test_code_cells_skip_options_and_prose():
    cells = chapter_code.code_cells(CHAPTER.splitlines())
    assert [c.code for c in cells] == [["x=1"], ["import os", "y = [1,2]"]]
    assert CHAPTER.splitlines()[cells[1].first_line] == "import os"


def test_check_locates_findings_in_the_chapter(tmp_path):
    path = tmp_path / "demo.md"
    path.write_text(CHAPTER)
    found = chapter_code.check(path)
    unused = [f for f in found if "F401" in f]
    assert unused and unused[0].startswith(f"{path}:20:")  # `import os`, line 20 of the file
    assert any("not formatted" in f for f in found)


def test_format_rewrites_code_cells_only(tmp_path):
    path = tmp_path / "demo.md"
    path.write_text(CHAPTER)
    assert chapter_code.format_chapter(path)
    text = path.read_text()
    assert "x = 1" in text and "y = [1, 2]" in text and "`x=1`" in text
    assert ":tags: [parameters]\n\nx = 1" in text and text.startswith("---\njupytext:")
    assert not chapter_code.format_chapter(path)
