"""Tests of deepspin.results: solver results, the reproduction record, atomic files and run dirs."""

import json
import warnings

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
    with pytest.raises(TypeError, match="object"):
        to_jsonable({"x": object()})


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


def test_record_rejects_empty_name(memory):
    with pytest.raises(ValueError, match="name"):
        record("", 1.0)


def test_load_summary_without_summary_is_empty(tmp_path):
    assert load_summary(tmp_path) == {}


# --------------------------------------------------------------------------- atomic_write_text


def test_atomic_write_text_writes_and_replaces(tmp_path):
    path = tmp_path / "a.txt"
    atomic_write_text(path, "first")
    atomic_write_text(path, "second")
    assert path.read_text() == "second"
    assert [p.name for p in tmp_path.iterdir()] == ["a.txt"]


def test_atomic_write_text_failure_keeps_old_file(tmp_path):
    path = tmp_path / "a.txt"
    path.write_text("old")
    with pytest.raises(TypeError):
        atomic_write_text(path, b"not text")  # the write fails after the temp file exists
    assert path.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["a.txt"]


# --------------------------------------------------------------------------- atomic_run_dir


def test_atomic_run_dir_creates_target(tmp_path):
    target = tmp_path / "runs" / "r1"
    with atomic_run_dir(target) as tmp:
        assert tmp.parent == target.parent and tmp != target
        assert not target.exists()  # built under a temporary name
        (tmp / "summary.json").write_text("{}")
    assert _tree(target) == {"summary.json": b"{}"}
    assert [p.name for p in target.parent.iterdir()] == ["r1"]


def test_atomic_run_dir_success_replaces_earlier_run(tmp_path):
    target = tmp_path / "r1"
    target.mkdir()
    (target / "old.txt").write_text("old")
    with atomic_run_dir(target) as tmp:
        (tmp / "new.txt").write_text("new")
        assert (target / "old.txt").read_text() == "old"  # untouched until the end
    assert _tree(target) == {"new.txt": b"new"}
    assert [p.name for p in tmp_path.iterdir()] == ["r1"]  # no .old or .tmp left


@pytest.mark.parametrize("error", [RuntimeError, KeyboardInterrupt])
def test_atomic_run_dir_failure_keeps_earlier_run(tmp_path, error):
    target = tmp_path / "r1"
    (target / "sub").mkdir(parents=True)
    (target / "summary.json").write_text('{"alpha_c": 2.0}\n')
    (target / "sub" / "fig.png").write_bytes(b"\x89PNG\x00\x01")
    before = _tree(target)
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
