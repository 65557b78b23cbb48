"""Tests of deepspin.results: solver results, the reproduction record, atomic files and run dirs."""

import json
import os
import socket
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

from deepspin import results
from deepspin.results import (
    RUN_DIR_ENV,
    SolverResult,
    atomic_run_dir,
    atomic_write_text,
    current_run_dir,
    load_summary,
    record,
    recorded,
    to_jsonable,
    warn_if_not_converged,
)


def _tree(path):
    """Every file under ``path`` (relative name → bytes) and every directory."""
    return {
        p.relative_to(path).as_posix(): (p.read_bytes() if p.is_file() else None)
        for p in sorted(path.rglob("*"))
    }


@pytest.fixture
def memory(monkeypatch):
    """A fresh in-memory record, outside any run directory."""
    monkeypatch.setattr(results, "_MEMORY", {})
    monkeypatch.delenv(RUN_DIR_ENV, raising=False)


# --------------------------------------------------------------------------- SolverResult


def test_solver_result_fields_and_unpacking():
    r = SolverResult(value=np.array([1.0, 2.0]), converged=True, iterations=12, residual=1e-10)
    assert r.converged is True
    assert r.iterations == 12
    assert r.residual == 1e-10
    assert r.info == {}
    value, converged = r
    assert value is r.value
    assert converged is True


def test_solver_result_info_is_not_shared():
    a = SolverResult(0.0, True, 1, 0.0)
    b = SolverResult(0.0, True, 1, 0.0)
    a.info["history"] = [1]
    assert b.info == {}


def test_warn_if_not_converged_warns_with_runtime_warning():
    r = SolverResult(0.3, converged=False, iterations=7, residual=2.5e-3)
    with pytest.warns(RuntimeWarning, match=r"rs_solver .* after 7 iterations \(residual 0.0025\)"):
        out = warn_if_not_converged(r, "rs_solver")
    assert out is r


def test_warn_if_not_converged_is_silent_on_convergence():
    r = SolverResult(0.3, converged=True, iterations=7, residual=1e-12)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert warn_if_not_converged(r, "rs_solver") is r


# --------------------------------------------------------------------------- to_jsonable


def test_to_jsonable_converts_numpy_types_nested():
    value = {
        "f": np.float64(0.5),
        "f32": np.float32(0.25),
        "i": np.int32(3),
        "b": np.bool_(True),
        "a": np.arange(3, dtype=np.int64),
        "nested": [(np.float64(1.0), {"m": np.eye(2)})],
        4: None,
    }
    out = to_jsonable(value)
    assert out == {
        "f": 0.5,
        "f32": 0.25,
        "i": 3,
        "b": True,
        "a": [0, 1, 2],
        "nested": [[1.0, {"m": [[1.0, 0.0], [0.0, 1.0]]}]],
        "4": None,
    }
    assert type(out["f"]) is float and type(out["i"]) is int and type(out["b"]) is bool
    assert type(out["a"][0]) is int
    json.dumps(out)  # plain JSON types only


def test_to_jsonable_rejects_other_objects():
    with pytest.raises(ValueError, match=r"value\['x'\] is a object"):
        to_jsonable({"x": object()})
    with pytest.raises(ValueError, match=r"value\[1\]\[0\] is a complex"):
        to_jsonable([0, np.array([1 + 2j])])
    with pytest.raises(ValueError, match="value is a set"):
        to_jsonable({1, 2})


def test_to_jsonable_keeps_non_finite_floats_json_reads_back():
    out = to_jsonable({"a": np.float64("nan"), "b": [np.inf]})
    back = json.loads(json.dumps(out))
    assert np.isnan(back["a"]) and back["b"] == [np.inf]


# --------------------------------------------------------------------------- record


def test_record_in_memory_outside_a_run(memory, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    value = np.float64(1.5)
    assert record("alpha_c", value) is value
    assert recorded() == {"alpha_c": 1.5}
    assert current_run_dir() is None
    assert list(tmp_path.iterdir()) == []  # nothing written anywhere


def test_record_merges_into_summary_inside_a_run(memory, tmp_path, monkeypatch):
    monkeypatch.setenv(RUN_DIR_ENV, str(tmp_path))
    assert current_run_dir() == tmp_path
    record("alpha_c", np.float64(2.0))
    record("curve", np.array([0.1, 0.2]))
    record("alpha_c", 1.5)  # a later value replaces an earlier one
    assert load_summary(tmp_path) == {"alpha_c": 1.5, "curve": [0.1, 0.2]}
    assert json.loads((tmp_path / "summary.json").read_text()) == load_summary(tmp_path)
    assert recorded() == {"alpha_c": 1.5, "curve": [0.1, 0.2]}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["summary.json"]  # no temp files left


@pytest.mark.parametrize("name", ["", None, 3])
def test_record_rejects_bad_name(memory, name):
    with pytest.raises(ValueError, match="name must be a non-empty string"):
        record(name, 1.0)
    assert recorded() == {}


def test_record_rejects_what_json_cannot_hold_before_recording(memory):
    with pytest.raises(ValueError, match="value is a object"):
        record("x", object())
    assert recorded() == {}


def test_record_into_a_missing_run_dir_says_so(memory, tmp_path, monkeypatch):
    monkeypatch.setenv(RUN_DIR_ENV, str(tmp_path / "gone"))
    with pytest.raises(FileNotFoundError, match=RUN_DIR_ENV):
        record("x", 1.0)


def test_load_summary_without_summary_is_empty(tmp_path):
    assert load_summary(tmp_path) == {}


@pytest.mark.parametrize("run_dir", [None, 3, "", "missing", "file"])
def test_load_summary_refuses_what_is_not_a_directory(tmp_path, run_dir):
    (tmp_path / "file").write_text("{}")
    if run_dir in ("missing", "file"):
        run_dir = tmp_path / run_dir
    with pytest.raises(ValueError, match="run_dir must be"):
        load_summary(run_dir)


def test_load_summary_refuses_a_summary_that_is_not_an_object(tmp_path):
    (tmp_path / "summary.json").write_text("[1, 2]\n")
    with pytest.raises(ValueError, match="JSON object"):
        load_summary(tmp_path)


def test_warn_if_not_converged_validates_its_arguments():
    r = SolverResult(0.3, converged=False, iterations=7, residual=2.5e-3)
    with pytest.raises(ValueError, match="result must be a SolverResult"):
        warn_if_not_converged({"converged": False}, "solver")
    with pytest.raises(ValueError, match="name must be a non-empty string"):
        warn_if_not_converged(r, "")
    with pytest.raises(ValueError, match="stacklevel"):
        warn_if_not_converged(r, "solver", stacklevel=0)


# --------------------------------------------------------------------------- atomic_write_text


def test_atomic_write_text_writes_and_replaces(tmp_path):
    path = tmp_path / "a.txt"
    atomic_write_text(path, "first")
    atomic_write_text(path, "second")
    assert path.read_text() == "second"
    assert [p.name for p in tmp_path.iterdir()] == ["a.txt"]


def test_atomic_write_text_failure_keeps_old_file(tmp_path, monkeypatch):
    path = tmp_path / "a.txt"
    path.write_text("old")

    def fail():
        raise OSError("disk full")

    monkeypatch.setattr(results, "_umask", fail)  # called after the temp file is written
    with pytest.raises(OSError, match="disk full"):
        atomic_write_text(path, "new")
    assert path.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["a.txt"]


def test_atomic_write_text_into_a_missing_directory(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"path .* does not exist"):
        atomic_write_text(tmp_path / "no" / "a.txt", "x")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("path", "text", "match"),
    [
        (None, "x", "path must be a path"),
        ("", "x", "path must be a path"),
        ("dir", "x", "path .* is a directory"),
        ("a.txt", b"bytes", "text must be a str"),
        ("a.txt", None, "text must be a str"),
    ],
)
def test_atomic_write_text_refuses_bad_arguments(tmp_path, path, text, match):
    (tmp_path / "dir").mkdir()
    if path:
        path = tmp_path / path
    with pytest.raises(ValueError, match=match):
        atomic_write_text(path, text)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dir"]


# --------------------------------------------------------------------------- atomic_run_dir


def test_atomic_run_dir_creates_target(tmp_path):
    target = tmp_path / "runs" / "r1"
    with atomic_run_dir(target) as tmp:
        assert tmp.parent == target.parent and tmp != target
        assert not target.exists()  # built under a temporary name
        (tmp / "summary.json").write_text("{}")
    assert _tree(target) == {"summary.json": b"{}"}
    assert [p.name for p in target.parent.iterdir()] == ["r1"]


def _earlier_run(target):
    """A finished run directory at ``target``: its marker, a summary and a figure."""
    (target / "sub").mkdir(parents=True)
    (target / results.RUN_MARKER).write_text('{"chapter": "c"}\n')
    (target / "summary.json").write_text('{"alpha_c": 2.0}\n')
    (target / "sub" / "fig.png").write_bytes(b"\x89PNG\x00\x01")
    return _tree(target)


@pytest.mark.parametrize("exchange", [True, False], ids=["renameat2", "move-aside"])
def test_atomic_run_dir_success_replaces_earlier_run(tmp_path, monkeypatch, exchange):
    if not exchange:  # a system without renameat2: the earlier run is moved aside for an instant
        monkeypatch.setattr(results, "_exchange", lambda a, b: False)
    target = tmp_path / "r1"
    before = _earlier_run(target)
    with atomic_run_dir(target) as tmp:
        (tmp / "new.txt").write_text("new")
        assert _tree(target) == before  # untouched until the end
    assert _tree(target) == {"new.txt": b"new"}
    assert [p.name for p in tmp_path.iterdir()] == ["r1"]  # no .old or .tmp left


def test_atomic_run_dir_replaces_an_empty_directory(tmp_path):
    target = tmp_path / "r1"
    target.mkdir()
    with atomic_run_dir(target) as tmp:
        (tmp / "a").write_text("a")
    assert _tree(target) == {"a": b"a"}
    assert [p.name for p in tmp_path.iterdir()] == ["r1"]


def test_atomic_run_dir_refuses_a_directory_of_user_files(tmp_path):
    folder = tmp_path / "notes"
    (folder / "ch1").mkdir(parents=True)
    (folder / "thesis.tex").write_text("precious")
    (folder / "ch1" / "fig.pdf").write_bytes(b"%PDF")
    before = _tree(folder)
    with pytest.raises(ValueError, match=r"target .*notes is a non-empty directory but not an"):
        atomic_run_dir(folder)
    assert _tree(folder) == before
    assert [p.name for p in tmp_path.iterdir()] == ["notes"]  # not even a temporary


def test_atomic_run_dir_refuses_a_file(tmp_path):
    path = tmp_path / "results.txt"
    path.write_text("precious")
    with pytest.raises(ValueError, match=r"target .*results.txt exists and is not a directory"):
        atomic_run_dir(path)
    assert path.read_text() == "precious"
    assert [p.name for p in tmp_path.iterdir()] == ["results.txt"]  # nothing hidden


def test_atomic_run_dir_refuses_a_link_and_a_file_on_the_way(tmp_path):
    run = tmp_path / "run"
    _earlier_run(run)
    (tmp_path / "link").symlink_to(run)
    with pytest.raises(ValueError, match="symbolic link"):
        atomic_run_dir(tmp_path / "link")
    (tmp_path / "file").write_text("x")
    with pytest.raises(ValueError, match="is not a directory"):
        atomic_run_dir(tmp_path / "file" / "sub" / "run")


@pytest.mark.parametrize("target", [None, 3, "", b"run"])
def test_atomic_run_dir_refuses_what_is_not_a_path(target):
    with pytest.raises(ValueError, match="target must be a path"):
        atomic_run_dir(target)


def test_atomic_run_dir_rechecks_the_target_before_installing(tmp_path):
    target = tmp_path / "r1"
    with pytest.raises(ValueError, match="not an earlier run"), atomic_run_dir(target) as tmp:
        (tmp / "new.txt").write_text("new")
        target.mkdir()  # someone puts their files there while the run is built
        (target / "mine.txt").write_text("mine")
    assert _tree(target) == {"mine.txt": b"mine"}
    assert [p.name for p in tmp_path.iterdir()] == ["r1"]


def test_is_run_dir(tmp_path):
    assert not results.is_run_dir(tmp_path / "absent")
    assert not results.is_run_dir(tmp_path)
    _earlier_run(tmp_path / "run")
    assert results.is_run_dir(tmp_path / "run")
    (tmp_path / "link").symlink_to(tmp_path / "run")
    assert not results.is_run_dir(tmp_path / "link")
    with pytest.raises(ValueError, match="path must be a path"):
        results.is_run_dir(None)


@pytest.mark.parametrize("error", [RuntimeError, KeyboardInterrupt])
def test_atomic_run_dir_failure_keeps_earlier_run(tmp_path, error):
    target = tmp_path / "r1"
    before = _earlier_run(target)
    with pytest.raises(error), atomic_run_dir(target) as tmp:
        (tmp / "summary.json").write_text("{}")
        raise error("cell failed")
    assert _tree(target) == before
    assert not tmp.exists()
    assert [p.name for p in tmp_path.iterdir()] == ["r1"]


def test_run_dir_and_files_get_ordinary_permissions(tmp_path):
    import os

    mask = os.umask(0o022)
    try:
        with results.atomic_run_dir(tmp_path / "run") as run:
            results.atomic_write_text(run / "a.json", "{}")
        assert (tmp_path / "run").stat().st_mode & 0o777 == 0o755
        assert (tmp_path / "run" / "a.json").stat().st_mode & 0o777 == 0o644
    finally:
        os.umask(mask)


def test_atomic_run_dir_interrupted_while_moving_aside_puts_earlier_run_back(tmp_path, monkeypatch):
    monkeypatch.setattr(results, "_exchange", lambda a, b: False)
    target = tmp_path / "r1"
    before = _earlier_run(target)
    real_replace = results.os.replace

    def replace(src, dst):
        if Path(dst) == target and ".tmp-" in Path(src).name:
            raise KeyboardInterrupt  # between moving the earlier run aside and installing
        real_replace(src, dst)

    monkeypatch.setattr(results.os, "replace", replace)
    with pytest.raises(KeyboardInterrupt), atomic_run_dir(target) as tmp:
        (tmp / "new.txt").write_text("new")
    monkeypatch.undo()
    assert _tree(target) == before
    assert [p.name for p in tmp_path.iterdir()] == ["r1"]


# --------------------------------------------------------------------------- stale temporaries


def _dead_pid():
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_remove_stale_temporaries(tmp_path):
    host = results._host()
    dead, alive = _dead_pid(), os.getpid()
    target = tmp_path / "r1"
    _earlier_run(target)
    entries = {
        f".r1.tmp-{host}-{dead}-abcd1234": "stale",
        f".r1.tmp-{host}-{alive}-abcd1234": "live",
        f".r1.tmp-otherhost-{dead}-abcd1234": "other host",
        ".r1.tmp-unowned": "no owner",
        ".r1.tmp-noted": "stale by its note",
        f".r1.old-{host}-{dead}-abcd1234": "stale; a run is in place",
        f".r1.old-{host}-{alive}-efgh5678": "live",
        f".r2.tmp-{host}-{dead}-abcd1234": "another target's",
    }
    for name in entries:
        (tmp_path / name).mkdir()
        (tmp_path / name / "x").write_text("x")
    (tmp_path / ".r1.tmp-noted" / ".deepspin-owner").write_text(f"{socket.gethostname()} {dead}\n")
    removed = results.remove_stale_temporaries(target)
    assert sorted(p.name for p in removed) == sorted(
        [f".r1.tmp-{host}-{dead}-abcd1234", ".r1.tmp-noted", f".r1.old-{host}-{dead}-abcd1234"]
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        {"r1"} | {name for name in entries if name not in {p.name for p in removed}}
    )


def test_remove_stale_temporaries_puts_a_moved_aside_run_back(tmp_path):
    # killed between moving the earlier run aside and installing the new one
    host, dead = results._host(), _dead_pid()
    old = tmp_path / f".r1.old-{host}-{dead}-abcd1234"
    before = _earlier_run(old)
    (tmp_path / f".r1.tmp-{host}-{dead}-abcd1234").mkdir()
    removed = results.remove_stale_temporaries(tmp_path / "r1")
    assert len(removed) == 2
    assert _tree(tmp_path / "r1") == before
    assert [p.name for p in tmp_path.iterdir()] == ["r1"]


def test_remove_stale_temporaries_keeps_an_earlier_run_when_something_else_is_there(tmp_path):
    host, dead = results._host(), _dead_pid()
    old = tmp_path / f".r1.old-{host}-{dead}-abcd1234"
    before = _earlier_run(old)
    (tmp_path / "r1").write_text("someone's file")
    assert results.remove_stale_temporaries(tmp_path / "r1") == []
    assert _tree(old) == before


def test_atomic_run_dir_cleans_stale_temporaries_first(tmp_path):
    host, dead = results._host(), _dead_pid()
    target = tmp_path / "r1"
    _earlier_run(target)
    (tmp_path / f".r1.tmp-{host}-{dead}-abcd1234").mkdir()
    (tmp_path / f".r1.old-{host}-{dead}-abcd1234").mkdir()
    with atomic_run_dir(target) as tmp:
        assert tmp.name.startswith(f".r1.tmp-{host}-{os.getpid()}-")
        (tmp / "new.txt").write_text("new")
    assert [p.name for p in tmp_path.iterdir()] == ["r1"]


def test_a_killed_build_is_cleaned_by_the_next(tmp_path):
    target = tmp_path / "r1"
    before = _earlier_run(target)
    code = (
        "import os, sys\n"
        "from deepspin.results import atomic_run_dir\n"
        "with atomic_run_dir(sys.argv[1]) as tmp:\n"
        "    (tmp / 'half').write_text('half')\n"
        "    os._exit(9)\n"
    )
    assert subprocess.run([sys.executable, "-c", code, str(target)], check=False).returncode == 9
    assert _tree(target) == before
    assert len(list(tmp_path.iterdir())) == 2  # the killed build's temporary
    assert len(results.remove_stale_temporaries(target)) == 1
    assert [p.name for p in tmp_path.iterdir()] == ["r1"]
