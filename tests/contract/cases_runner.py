"""Contract cases of deepspin.runner and deepspin.ranges (the chapters' command line)."""

import datetime as dt
import tempfile
from pathlib import Path

from contract_spec import Bool, Case, Values

from deepspin import ranges, runner

TINY = Path(__file__).resolve().parents[1] / "fixtures" / "tiny.md"
NOT_A_PATH = Values((3, None, "", 1.5, ["a"]))
MISSING_CHAPTER = Values((3, None, "", "no_such_chapter", "/no/such/file.md", str(TINY.parent)))
DEFAULTS = {"x": 1.5, "n": 3, "label": "a"}
PRESETS = {"double": {"n": 6}}


RUN_OUT = Path(tempfile.mkdtemp(prefix="deepspin-contract-")) / "run"


CASES = [
    Case(runner.chapter_parameters, {"path": TINY}, {"path": NOT_A_PATH}),
    Case(runner.chapter_presets, {"path": TINY}, {"path": NOT_A_PATH}),
    Case(runner.chapter_ranges, {"path": TINY}, {"path": NOT_A_PATH}),
    Case(runner.chapter_title, {"path": TINY}, {"path": NOT_A_PATH}),
    Case(runner.book_root, {}, {}),
    Case(runner.chapters_dir, {}, {}),
    Case(
        runner.default_out_dir,
        {"chapter": "tiny", "preset": None, "now": dt.datetime(2026, 1, 1)},
        {
            "chapter": Values((None, "", "a/b", "..", 3)),
            "preset": Values(("", "a/b", 3)),
            "now": Values(("2026-01-01", 3)),
        },
    ),
    Case(runner.find_chapter, {"chapter": TINY}, {"chapter": MISSING_CHAPTER}),
    Case(runner.git_revision, {"path": TINY.parent}, {"path": NOT_A_PATH}),
    Case(runner.list_chapters, {"directory": TINY.parent}, {"directory": Values((3, "", 1.5))}),
    Case(runner.main, {"argv": ["list"]}, {"argv": Values(("list", [3], 3))}),
    Case(
        runner.package_versions,
        {"names": ("numpy",)},
        {"names": Values(("numpy", [3], ("",), None))},
    ),
    Case(
        runner.parse_value,
        {"raw": "0.5", "default": 1.0},
        {"raw": Values((0.5, None, b"1"))},
        unchecked={"default": "any parameter default; it only steers the parsing"},
    ),
    Case(
        runner.resolve_parameters,
        {
            "defaults": DEFAULTS,
            "presets": PRESETS,
            "preset": "double",
            "overrides": {"x": "2.5"},
            "chapter": "tiny",
            "supported": {"x": ranges.parse_range("[-10, 10]")},
        },
        {
            "defaults": Values((None, [1, 2], "x")),
            "presets": Values((None, [1], "p")),
            "preset": Values(("no-such-preset", 3)),
            "overrides": Values(([("x", 1)], "x=1", {"no_such": 1}, {"n": 2.5})),
            "chapter": Values((3, None)),
            "supported": Values(([1], "x")),
        },
        says={"overrides": "parameter"},
    ),
    Case(
        runner.run_chapter,
        {"chapter": TINY, "params": {"x": 2.0}, "out": RUN_OUT, "preset": None, "progress": False},
        {
            "chapter": MISSING_CHAPTER,
            "params": Values(([("x", 1)], {"x": "[1]"}, {"x": 11}, {"nosuch": 1})),
            "out": Values((3, 1.5, "/proc/deepspin-contract-run")),
            "preset": Values(("no-such-preset", 3)),
            "progress": Bool(),
        },
        says={"params": "parameter", "out": "out"},
    ),
    Case(
        ranges.parse_range,
        {"text": "[0, 1] q"},
        {"text": Values((None, 3, "[1, 0]", "{}", "[a, b]"))},
    ),
    Case(
        ranges.comment_ranges,
        {"source": "q = 0.5  # [0, 1]\n"},
        {"source": Values((None, 3, "q = \n", "q = 0.5  # [1, 0]\n"))},
    ),
    Case(
        ranges.check_value,
        {"name": "q", "value": 0.5, "allowed": ranges.parse_range("[0, 1]")},
        {
            "name": Values((None, "", 3)),
            "value": Values((2.0, -1, float("nan"), "0.5", None, [])),
            "allowed": Values(("[0, 1]", 3)),
        },
        says={"value": "parameter 'q'"},
    ),
]
RECORDS = {
    "deepspin.runner.ChapterError": "raised by run_chapter when a cell fails",
    "deepspin.runner.RunInterrupted": "raised by run_chapter when a signal stops a run",
    "deepspin.ranges.ParameterRange": "returned by parse_range and comment_ranges",
}
