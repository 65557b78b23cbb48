"""Every chapter runs at its ``quick`` preset with one physics parameter near the edge of the
range its parameters cell states (issue 19: a reader who changes a parameter gets a chapter
that runs, or a refusal before anything runs).

One run per chapter: the edge run *is* the quick preset with one parameter moved, so it
executes every cell the plain quick run would; a second, plain quick run doubled the suite's
longest part (about an hour of chapter runs on the 2-core machine) for no cell it did not
already cover. The defaults run once more under nbval (``make nbval``).

Each run is a full ``deepspin run`` (kernel, every cell, the reproduction check), so the
file takes minutes: it is marked slow, and CI runs it.
"""

from pathlib import Path

import pytest

from deepspin import runner
from deepspin.ranges import check_value

BOOK = Path(__file__).resolve().parents[1] / "notebooks"
CHAPTERS = sorted(p.stem for p in BOOK.glob("*.md"))

# One physics parameter per chapter, near an end of its stated range, on top of `quick`.
EDGES = {
    "gardner": {"kappa": 1.0},
    "wh_kernels": {"weight_var": 1.5},
    "wh_replicas": {"temperatures": [5.0, 1.0, 0.0]},
    "wh_sampling": {"n_temperatures": 9},
    "yoshino_rs": {"L": 6},
    "yoshino_rsb": {"level_threshold": 1e-5},
    "zh_ising": {"block_spins": 4},
    "zh_landscape": {"x_max": 1.0},
    "zh_training": {"over_n_train": 650},
}


def test_every_chapter_has_a_quick_preset_and_an_edge():
    assert sorted(EDGES) == CHAPTERS
    for chapter in CHAPTERS:
        path = BOOK / f"{chapter}.md"
        assert "quick" in runner.chapter_presets(path), f"{chapter} has no quick preset"
        supported = runner.chapter_ranges(path)
        for name, value in EDGES[chapter].items():
            check_value(name, value, supported[name])  # the edge lies inside the range


@pytest.mark.slow
@pytest.mark.parametrize("chapter", CHAPTERS)
def test_chapter_runs_at_quick_with_an_edge(chapter, tmp_path):
    out = runner.run_chapter(
        chapter, EDGES[chapter], tmp_path / "run", preset="quick", progress=False
    )
    assert (out / "summary.json").is_file()
