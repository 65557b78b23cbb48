"""Tests for deepspin.plotting: captions and saving into a run directory."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import pytest

from deepspin import plotting
from deepspin.results import RUN_DIR_ENV


def test_parameter_caption_uses_symbols():
    text = plotting.parameter_caption(kappa=0.5, n=100, n_samples=40, custom=[1, 2.5])
    assert text == "κ = 0.5, N = 100, samples = 40, custom = [1, 2.5]"


def test_save_figure_only_inside_a_run(tmp_path, monkeypatch):
    fig, ax = plt.subplots()
    ax.plot([0, 1], [0, 1])
    monkeypatch.delenv(RUN_DIR_ENV, raising=False)
    assert plotting.save_figure(fig, "line") == []
    monkeypatch.setenv(RUN_DIR_ENV, str(tmp_path))
    paths = plotting.save_figure(fig, "line")
    assert [p.name for p in paths] == ["line.png", "line.svg"]
    assert all(p.stat().st_size > 0 for p in paths)
    with pytest.raises(ValueError, match="name"):
        plotting.save_figure(fig, "../escape")
    plt.close(fig)


def test_use_style_sets_rcparams():
    plotting.use_style()
    assert matplotlib.rcParams["axes.grid"] is True


@pytest.mark.parametrize("value", [float("nan"), float("inf"), [1.0, float("nan")]])
def test_parameter_caption_refuses_non_finite_numbers(value):
    with pytest.raises(ValueError, match="kappa must be a finite number"):
        plotting.parameter_caption(kappa=value)


@pytest.mark.parametrize(("fig", "name"), [(None, "ok"), ("figure", "ok"), ("fig", 3)])
def test_save_figure_validates_before_any_run_check(fig, name, monkeypatch):
    monkeypatch.delenv(RUN_DIR_ENV, raising=False)
    real = plt.figure()
    with pytest.raises(ValueError, match="fig" if fig != "fig" else "name"):
        plotting.save_figure(real if fig == "fig" else fig, name)
    plt.close(real)
