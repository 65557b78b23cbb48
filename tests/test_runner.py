"""Tests of deepspin.runner: chapter parameters, their checking, and run directories.

The chapters are the fixtures in tests/fixtures/ (``tiny.md``, ``failing.md``, ``slow.md``),
given by path. Every execution starts a kernel (1-4 s), so the file executes six chapters in
all: one good run shared by the tests, one failing run and three interrupted ones.
"""

import contextlib
import io
import json
import math
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from deepspin import results, runner
from deepspin.runner import (
    chapter_parameters,
    chapter_presets,
    chapter_title,
    default_out_dir,
    find_chapter,
    git_revision,
    list_chapters,
    main,
    parse_value,
    resolve_parameters,
)

FIXTURES = Path(__file__).parent / "fixtures"
TINY = FIXTURES / "tiny.md"
FAILING = FIXTURES / "failing.md"
SLOW = FIXTURES / "slow.md"
TINY_DEFAULTS = {"x": 1.5, "n": 3, "label": "a"}
TINY_PRESETS = {"double": {"n": 6}, "relabel": {"label": "b", "x": 0.25}}


def _alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def _tree(path):
    """Every entry under ``path``: relative name → file bytes (``None`` for a directory)."""
    return {
        p.relative_to(path).as_posix(): (p.read_bytes() if p.is_file() else None)
        for p in sorted(path.rglob("*"))
    }


def _write_chapter(path, parameters_cell, front="", body=""):
    path.write_text(
        "---\nkernelspec:\n  display_name: Python 3\n  language: python\n  name: python3\n"
        f"{front}---\n\n# Made up\n\n```{{code-cell}} ipython3\n:tags: [parameters]\n"
        f"{parameters_cell}\n```\n{body}"
    )
    return path


# --------------------------------------------------------------------------- reading chapters


def test_chapter_parameters_in_cell_order_with_types():
    params = chapter_parameters(TINY)
    assert list(params) == ["x", "n", "label"]
    assert params == TINY_DEFAULTS
    assert [type(v) for v in params.values()] == [float, int, str]


def test_chapter_presets_and_title():
    assert chapter_presets(TINY) == TINY_PRESETS
    assert chapter_presets(FAILING) == {}
    assert chapter_title(TINY) == "A tiny chapter"


def test_chapter_parameters_accepts_literals_comments_and_annotations(tmp_path):
    cell = (
        "# a comment line\n"
        "a = -0.5  # negative\n"
        "b: int = 2\n"
        "c = (1, 2)\n"
        "d = {'k': [1.0, None]}\n"
        "e = True\n"
        "f = None\n"
        "g = 'text'"
    )
    params = chapter_parameters(_write_chapter(tmp_path / "c.md", cell))
    expected = {"a": -0.5, "b": 2, "c": (1, 2), "d": {"k": [1.0, None]}, "e": True, "f": None}
    assert params == {**expected, "g": "text"}


@pytest.mark.parametrize(
    ("cell", "match"),
    [
        ("x = foo(1)", r"'x' .* must be a literal, got 'foo\(1\)'"),
        ("a, b = 1, 2", "line 1 is not `name = literal`"),
        ("x = 1\nimport os", "line 2 is not `name = literal`"),
        ("x = {1, 2}", "'x' has type set"),
        ("x = = 1", "not valid Python"),
    ],
)
def test_chapter_parameters_rejects_anything_but_literals(tmp_path, cell, match):
    with pytest.raises(ValueError, match=match):
        chapter_parameters(_write_chapter(tmp_path / "c.md", cell))


def test_chapter_without_parameters_cell(tmp_path):
    path = _write_chapter(tmp_path / "c.md", "x = 1")
    path.write_text(path.read_text().replace(":tags: [parameters]\n", ""))
    assert chapter_parameters(path) == {}
    assert chapter_presets(path) == {}


def test_unreadable_chapter_is_a_value_error(tmp_path, monkeypatch, capsys):
    path = tmp_path / "notebooks" / "bad.md"
    path.parent.mkdir()
    path.write_text("---\nkernelspec:\n  name: python3\n---\n\n# T\n")  # no display_name
    with pytest.raises(ValueError, match=r"bad\.md cannot be read as a MyST notebook"):
        chapter_parameters(path)
    monkeypatch.setenv(runner.BOOK_ENV, str(tmp_path))
    assert main(["list"]) == 0
    assert capsys.readouterr().out.startswith("bad: unreadable (bad.md cannot be read")


def test_find_and_list_chapters_in_the_book(tmp_path, monkeypatch, capsys):
    notebooks = tmp_path / "notebooks"
    notebooks.mkdir()
    shutil.copy(TINY, notebooks / "tiny.md")
    (notebooks / "README.md").write_text("# not a chapter\n")
    monkeypatch.setenv(runner.BOOK_ENV, str(tmp_path))
    assert runner.chapters_dir() == notebooks
    assert find_chapter("tiny") == notebooks / "tiny.md"
    assert find_chapter(TINY) == TINY.resolve()
    assert list_chapters() == [notebooks / "tiny.md"]
    with pytest.raises(ValueError, match=r"no chapter 'nosuch' .* chapters: tiny"):
        find_chapter("nosuch")
    with pytest.raises(ValueError, match="no chapter file"):
        find_chapter(str(tmp_path / "nosuch.md"))

    assert main(["list"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0] == "tiny: A tiny chapter"
    assert "x = 1.5 in [-10, 10], n = 3 in [1, 100], label = 'a'" in out
    assert "double (n=6); relabel (label='b', x=0.25)" in out
    assert "README" not in out


def test_default_out_dir(tmp_path, monkeypatch):
    import datetime

    monkeypatch.setenv(runner.BOOK_ENV, str(tmp_path))
    now = datetime.datetime(2025, 3, 4, 5, 6, 7)
    first = default_out_dir("gardner", None, now)
    assert first == tmp_path / "results" / "gardner" / "default-20250304-050607"
    assert default_out_dir("gardner", "paper", now).name == "paper-20250304-050607"
    first.mkdir(parents=True)
    assert default_out_dir("gardner", None, now).name == "default-20250304-050607-2"


# --------------------------------------------------------------------------- parameters


@pytest.mark.parametrize(
    ("raw", "default", "expected"),
    [
        ("0.5", 0.0, 0.5),
        ("3", 0.0, 3),  # the type check turns it into a float
        ("inf", 0.0, math.inf),
        ("-inf", 0.0, -math.inf),
        ("7", 1, 7),
        ("True", False, True),
        ("[1, 2]", [0], [1, 2]),
        ("{'a': 1}", {}, {"a": 1}),
        ("hello", "a", "hello"),
        ("3", "a", "3"),  # a str parameter always gets a str
        ("'two words'", "a", "two words"),
        ("None", None, None),
        ("some/path", None, "some/path"),
    ],
)
def test_parse_value(raw, default, expected):
    assert parse_value(raw, default) == expected


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({}, TINY_DEFAULTS),
        ({"x": "2"}, {"x": 2.0, "n": 3, "label": "a"}),
        ({"x": 2, "n": "-4", "label": "3"}, {"x": 2.0, "n": -4, "label": "3"}),
        ({"label": "two words"}, {"x": 1.5, "n": 3, "label": "two words"}),
    ],
)
def test_resolve_parameters_accepts_matching_types(overrides, expected):
    values = resolve_parameters(TINY_DEFAULTS, TINY_PRESETS, None, overrides)
    assert values == expected
    assert list(values) == list(TINY_DEFAULTS)
    assert type(values["x"]) is float  # an int given for a float parameter is converted


def test_resolve_parameters_containers_and_none_defaults():
    defaults = {"shape": (2, 3), "grid": [0.1], "opts": {"a": 1}, "load": None}
    values = resolve_parameters(
        defaults, {}, overrides={"shape": "[4, 5]", "grid": "(0.5, 1)", "load": "runs/r1"}
    )
    assert values == {"shape": (4, 5), "grid": [0.5, 1], "opts": {"a": 1}, "load": "runs/r1"}
    with pytest.raises(ValueError, match="'opts' expects dict"):
        resolve_parameters(defaults, {}, overrides={"opts": "[1]"})


def test_resolve_parameters_applies_preset_then_overrides():
    assert resolve_parameters(TINY_DEFAULTS, TINY_PRESETS, "relabel") == {
        "x": 0.25,
        "n": 3,
        "label": "b",
    }
    assert resolve_parameters(TINY_DEFAULTS, TINY_PRESETS, "relabel", {"x": "1"})["x"] == 1.0


@pytest.mark.parametrize(
    ("overrides", "match"),
    [
        ({"nosuch": "1"}, "unknown parameter 'nosuch'"),
        ({"n": "2.5"}, "'n' expects int \\(default 3\\), got float 2.5"),
        ({"n": "True"}, "'n' expects int \\(default 3\\), got bool True"),
        ({"x": "True"}, "'x' expects float \\(default 1.5\\), got bool True"),
        ({"x": "abc"}, "'x' expects float \\(default 1.5\\), got str 'abc'"),
        ({"x": [1.0]}, "'x' expects float"),
    ],
)
def test_resolve_parameters_rejects_and_lists_parameters(overrides, match):
    with pytest.raises(ValueError, match=match) as info:
        resolve_parameters(TINY_DEFAULTS, TINY_PRESETS, None, overrides, chapter="chapter tiny")
    message = str(info.value)
    assert "for chapter tiny; its parameters are:" in message
    for line in ("x     = 1.5  (float)", "n     = 3  (int)", "label = 'a'  (str)"):
        assert line in message


def test_resolve_parameters_rejects_bool_for_bool_only():
    defaults = {"flag": False}
    assert resolve_parameters(defaults, {}, overrides={"flag": "True"}) == {"flag": True}
    with pytest.raises(ValueError, match="'flag' expects bool"):
        resolve_parameters(defaults, {}, overrides={"flag": "1"})


def test_resolve_parameters_unknown_preset_lists_presets():
    with pytest.raises(ValueError, match="unknown preset 'big'") as info:
        resolve_parameters(TINY_DEFAULTS, TINY_PRESETS, "big")
    assert "double: n=6" in str(info.value) and "relabel: label='b', x=0.25" in str(info.value)
    with pytest.raises(ValueError, match="it has no presets"):
        resolve_parameters(TINY_DEFAULTS, {}, "big")


def test_resolve_parameters_checks_presets_too():
    with pytest.raises(ValueError, match=r"'n' expects int .* \(preset 'bad'\)"):
        resolve_parameters(TINY_DEFAULTS, {"bad": {"n": 0.5}}, "bad")


@pytest.mark.parametrize(
    "value",
    [1.5, math.inf, -math.inf, (1,), (1.0, (2, math.inf)), [True, None], {"a": [1, "x"]}, "q'\""],
)
def test_injected_source_round_trips(value):
    assert eval(runner._source_literal(value)) == value


def test_injected_source_nan():
    assert math.isnan(eval(runner._source_literal(math.nan)))


@pytest.mark.parametrize(
    ("argv", "match"),
    [
        (["-p", "nosuch", "1"], "unknown parameter 'nosuch'"),
        (["-p", "n", "2.5"], "'n' expects int"),
        (["--preset", "big"], "unknown preset 'big'"),
        (["-p", "n", "1", "-p", "n", "2"], "parameter 'n' given twice"),
        (["-p", "x", "10.5"], r"parameter 'x' must lie in \[-10, 10\], got 10.5"),
        (["-p", "n", "0"], r"parameter 'n' must lie in \[1, 100\], got 0"),
    ],
)
def test_cli_refuses_bad_arguments_before_running(tmp_path, monkeypatch, capsys, argv, match):
    import papermill

    def must_not_run(*args, **kwargs):
        raise AssertionError("executed despite a bad argument")

    monkeypatch.setattr(papermill, "execute_notebook", must_not_run)
    out = tmp_path / "runs" / "r1"
    assert main(["run", str(TINY), "--out", str(out), *argv]) == 2
    err = capsys.readouterr().err
    assert re.search(match, err)
    assert "Traceback" not in err
    assert not (tmp_path / "runs").exists()  # no run directory, not even a temporary one


def test_cli_refuses_to_replace_what_is_not_a_run(tmp_path, capsys):
    folder = tmp_path / "notes"
    folder.mkdir()
    (folder / "thesis.tex").write_text("precious")
    assert main(["run", str(TINY), "--out", str(folder)]) == 2
    assert "not an earlier run (no params.json)" in capsys.readouterr().err
    (tmp_path / "file").write_text("x")
    assert main(["run", str(TINY), "--out", str(tmp_path / "file")]) == 2
    assert "is not a directory" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file", "notes"]
    assert (folder / "thesis.tex").read_text() == "precious"


def test_cli_refuses_an_out_it_cannot_write_before_running(tmp_path, capsys):
    (tmp_path / "file").write_text("x")
    for out in (tmp_path / "file" / "run", Path("/proc/deepspin-run")):
        assert main(["run", str(TINY), "--out", str(out)]) == 2
        err = capsys.readouterr().err
        assert "cannot be written" in err and "nothing was run" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file"]


def test_find_chapter_accepts_only_chapters(tmp_path):
    (tmp_path / "notes.md").write_text("# Notes\n\nNot a notebook.\n")
    with pytest.raises(ValueError, match="front matter names no kernelspec"):
        find_chapter(tmp_path / "notes.md")
    bare = tmp_path / "bare.md"
    bare.write_text(
        "---\nkernelspec:\n  display_name: Python 3\n  language: python\n  name: python3\n"
        "---\n\n# Bare\n\n```{code-cell} ipython3\nx = 1\n```\n"
    )
    with pytest.raises(ValueError, match="no cell tagged parameters"):
        find_chapter(bare)
    with pytest.raises(ValueError, match=r"chapter must be .*\.md"):
        find_chapter(TINY.with_suffix(".txt") if TINY.with_suffix(".txt").exists() else 3)


def test_resolve_parameters_checks_supported_ranges():
    supported = runner.chapter_ranges(TINY)
    assert supported["x"].text == "[-10, 10]" and supported["label"] is None
    got = resolve_parameters(TINY_DEFAULTS, TINY_PRESETS, "relabel", supported=supported)
    assert got["x"] == 0.25
    with pytest.raises(ValueError, match=r"parameter 'n' must lie in \[1, 100\], got 200"):
        resolve_parameters(TINY_DEFAULTS, {}, None, {"n": 200}, supported=supported)


def test_cli_unknown_chapter(capsys):
    assert main(["run", "no_such_chapter_anywhere"]) == 2
    assert "no chapter 'no_such_chapter_anywhere'" in capsys.readouterr().err


def test_git_revision(tmp_path):
    assert git_revision(tmp_path) == (None, None)  # not a git work tree
    repo = Path(__file__).resolve().parents[1]
    commit, dirty = git_revision(repo)
    if commit is None:
        pytest.skip("the tests do not sit in a git work tree")
    assert re.fullmatch("[0-9a-f]{40}", commit)
    assert isinstance(dirty, bool)


# --------------------------------------------------------------------------- runs


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    """One complete run of tiny.md through the command line: (run dir, exit code, stdout)."""
    out = tmp_path_factory.mktemp("tiny") / "run"
    argv = ["run", str(TINY), "--preset", "double", "-p", "x", "2", "-p", "label", "b c"]
    stdout = io.StringIO()
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(io.StringIO()):
        code = main([*argv, "--out", str(out)])
    return out, code, stdout.getvalue()


def test_run_writes_complete_run_directory(tiny_run):
    out, code, stdout = tiny_run
    assert code == 0
    assert sorted(p.name for p in out.iterdir()) == [
        "params.json",
        "run.json",
        "summary.json",
        "tiny.ipynb",
    ]
    assert sorted(p.name for p in out.parent.iterdir()) == ["run"]  # no temporary left

    params = json.loads((out / "params.json").read_text())
    assert params["chapter"] == "tiny"
    assert params["preset"] == "double"
    assert params["parameters"] == {"x": 2.0, "n": 6, "label": "b c"}

    # the chapter recorded y = x * n with the injected values, as a float
    assert json.loads((out / "summary.json").read_text()) == {"y": 12.0, "label": "b c"}

    info = json.loads((out / "run.json").read_text())
    assert info["wall_time_s"] > 0
    assert info["started"] <= info["finished"]
    assert "git_revision" in info and "git_dirty" in info
    assert info["packages"]["numpy"] == np.__version__
    assert set(info["packages"]) >= {"numpy", "scipy", "numba", "torch", "papermill", "jupytext"}
    assert info["python"] == ".".join(map(str, sys.version_info[:3]))
    assert info["cpu_count"] == os.cpu_count()
    assert info["command"].endswith("--preset double -p x 2 -p label 'b c'")

    assert f"run directory: {out}" in stdout and '"y": 12.0' in stdout


def test_run_notebook_is_executed_with_injected_parameters(tiny_run):
    out, _, _ = tiny_run
    nb = json.loads((out / "tiny.ipynb").read_text())
    tags = [c["metadata"].get("tags", []) for c in nb["cells"]]
    assert tags.index(["parameters"]) + 1 == tags.index(["injected-parameters"])
    injected = "".join(nb["cells"][tags.index(["injected-parameters"])]["source"])
    assert "x = 2.0\nn = 6\nlabel = 'b c'\n" in injected
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    assert all(c["execution_count"] for c in code)
    assert not [o for c in code for o in c["outputs"] if o["output_type"] == "error"]
    assert nb["metadata"]["deepspin"]["run"]["parameters"] == {"x": 2.0, "n": 6, "label": "b c"}


def test_failing_chapter_reports_cell_and_keeps_earlier_run(tiny_run, tmp_path, capsys):
    out = tmp_path / "run"
    shutil.copytree(tiny_run[0], out)
    before = _tree(out)
    assert main(["run", str(FAILING), "--out", str(out), "--quiet"]) == 1
    err = capsys.readouterr().err
    line = FAILING.read_text().splitlines().index("raise ValueError(message)") + 1
    assert f"failed in code cell 3 ({FAILING.resolve()}, line {line}): ValueError: boom" in err
    assert "raise ValueError(message)" in err  # the kernel's traceback is shown
    assert _tree(out) == before
    assert [p.name for p in tmp_path.iterdir()] == ["run"]


def _ignore_no_signal():
    # A shell running tests in the background may ignore SIGINT; the child must not.
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@pytest.mark.parametrize(
    ("sig", "code"),
    [(signal.SIGINT, 130), (signal.SIGTERM, 143), (signal.SIGKILL, -signal.SIGKILL)],
    ids=["SIGINT", "SIGTERM", "SIGKILL"],
)
def test_interrupted_run_keeps_earlier_run(tiny_run, tmp_path, sig, code):
    out = tmp_path / "results" / "run"
    shutil.copytree(tiny_run[0], out)
    before = _tree(out)
    marker = tmp_path / "kernel.pid"
    log = tmp_path / "stderr.txt"
    argv = [sys.executable, "-m", "deepspin", "run", str(SLOW), "--out", str(out), "--quiet"]
    argv += ["-p", "marker", str(marker), "-p", "seconds", "60"]
    kernel = None
    with open(log, "w") as stderr:
        proc = subprocess.Popen(
            argv, stdout=subprocess.DEVNULL, stderr=stderr, preexec_fn=_ignore_no_signal
        )
    try:
        deadline = time.monotonic() + 60
        while not marker.exists():  # the chapter is executing once the kernel wrote its pid
            assert proc.poll() is None, f"the run ended early:\n{log.read_text()}"
            assert time.monotonic() < deadline, "the chapter did not start within 60 s"
            time.sleep(0.05)
        kernel = int(marker.read_text())
        proc.send_signal(sig)
        assert proc.wait(timeout=30) == code, log.read_text()
        assert _tree(out) == before  # the earlier run, byte for byte
        leftovers = [p.name for p in out.parent.iterdir() if p.name != "run"]
        if sig == signal.SIGKILL:
            # a killed run cannot clean up; the next run at the same place removes its remains
            assert [name.startswith(".run.tmp-") for name in leftovers] == [True]
            results.remove_stale_temporaries(out)
            assert sorted(p.name for p in out.parent.iterdir()) == ["run"]
        else:
            assert leftovers == []
            assert "interrupted" in log.read_text()
        # the kernel does not outlive the run (ipykernel polls for its parent every second)
        deadline = time.monotonic() + 15
        while _alive(kernel) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not _alive(kernel)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        if kernel is not None and _alive(kernel):
            os.kill(kernel, signal.SIGKILL)


BOOK_CHAPTERS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("*.md"))


@pytest.mark.parametrize("path", BOOK_CHAPTERS, ids=lambda p: p.stem)
def test_every_book_chapter_can_be_rerun_with_each_preset(path):
    # `deepspin run` reads these before anything runs: a parameters cell that is not plain
    # literals (as wh_sampling's once was) makes the chapter and its presets unreachable
    defaults = chapter_parameters(path)
    assert defaults, f"{path.name} has no parameters"
    supported = runner.chapter_ranges(path)
    missing = [name for name, allowed in supported.items() if allowed is None]
    assert not missing, f"{path.name}: no range stated for {missing}"
    for preset in [None, *chapter_presets(path)]:
        values = resolve_parameters(
            defaults, chapter_presets(path), preset, chapter=path.stem, supported=supported
        )
        assert set(values) == set(defaults)
