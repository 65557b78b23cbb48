"""Contract cases of deepspin.results: the record, atomic files and run directories.

Paths that must not be replaced (a file, a directory of someone's files) live in a
scratch directory made when this module is imported and removed when the process ends.
"""

import atexit
import shutil
import tempfile
from pathlib import Path

from contract_spec import Case, Int, Values

from deepspin import results

SCRATCH = Path(tempfile.mkdtemp(prefix="deepspin-contract-results-"))
atexit.register(shutil.rmtree, SCRATCH, ignore_errors=True)
USER_DIR = SCRATCH / "notes"  # a directory of someone's files: never a run directory
USER_DIR.mkdir()
(USER_DIR / "thesis.tex").write_text("precious")
USER_FILE = SCRATCH / "results.txt"
USER_FILE.write_text("precious")
LINK = SCRATCH / "link"
LINK.symlink_to(USER_DIR)

NOT_A_PATH = (None, 3, "", b"run", "a\0b", ["run"])

CASES = [
    Case(
        results.atomic_run_dir,
        {"target": SCRATCH / "run"},  # the call only checks; `with` builds the directory
        {
            "target": Values(
                (*NOT_A_PATH, USER_DIR, USER_FILE, LINK, USER_FILE / "run", str(USER_DIR))
            )
        },
    ),
    Case(
        results.remove_stale_temporaries,
        {"target": SCRATCH / "run"},
        {"target": Values(NOT_A_PATH)},
    ),
    Case(results.is_run_dir, {"path": SCRATCH}, {"path": Values(NOT_A_PATH)}),
    Case(
        results.atomic_write_text,
        {"path": SCRATCH / "written.txt", "text": "{}\n"},
        {
            "path": Values((*NOT_A_PATH, USER_DIR)),
            "text": Values((None, b"{}", 3, ["a"])),
        },
    ),
    Case(results.current_run_dir, {}, {}),
    Case(
        results.load_summary,
        {"run_dir": SCRATCH},
        {"run_dir": Values((*NOT_A_PATH, USER_FILE, SCRATCH / "missing"))},
    ),
    Case(
        results.record,
        {"name": "deepspin_contract_case", "value": {"a": [1.0, 2]}},
        {
            "name": Values(("", None, 3, ["a"])),
            "value": Values((object(), {1, 2}, 1 + 2j, [Path("x")], {"a": {"b": object()}})),
        },
    ),
    Case(results.recorded, {}, {}),
    Case(
        results.to_jsonable,
        {"value": {"a": [1.0, 2, None, "s"]}},
        {"value": Values((object(), {1, 2}, 1 + 2j, Path("x"), {"a": [object()]}))},
    ),
    Case(
        results.warn_if_not_converged,
        lambda: {
            "result": results.SolverResult.from_residual(0.5, 1e-12, 1e-8, 3),
            "name": "contract_solver",
            "stacklevel": 2,
        },
        {
            "result": Values((None, 3, {"converged": False}, (0.5, False))),
            "name": Values(("", None, 3)),
            "stacklevel": Int(1, None),
        },
    ),
]
RECORDS = {
    "deepspin.results.SolverResult": (
        "returned by the solvers, not built by users; it refuses a converged flag that "
        "contradicts residual <= tol"
    ),
}
