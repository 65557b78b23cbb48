"""Tests for deepspin.binary_nets.cases: the parts and the train-and-collect pipeline."""

from types import SimpleNamespace

import numpy as np
import pytest

from deepspin import binary_nets as bn


def test_parts_of_the_paper_networks():
    assert bn.parts((20, 15, 15, 10)) == {
        "FULL": slice(0, 675), "LB": slice(0, 300), "ITR": slice(300, 525), "RB": slice(525, 675)
    }  # fmt: skip
    assert bn.parts((20, 10)) == {"FULL": slice(0, 200)}
    assert bn.parts((20, 5, 10)) == {
        "FULL": slice(0, 150),
        "LB": slice(0, 100),
        "RB": slice(100, 150),
    }


def _data():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((1200, 20)).astype(np.float32)
    y = np.argmax(x[:, :10], axis=1)
    return SimpleNamespace(
        train=x[:1000], train_labels=y[:1000], test=x[1000:], test_labels=y[1000:]
    )


@pytest.mark.parametrize("case", ["shallow_under", "deep_over"])
def test_make_ensemble_collects_above_threshold(case, tmp_path):
    data = _data()
    info = bn.make_ensemble(
        case, data, tmp_path / case, n_configs=40, threshold=0.12, n_networks=2, epochs=1,
        over_n_train=100, over_batch_size=50, over_epochs=2, seed=3,
    )  # fmt: skip
    configs, accs = bn.load_ensemble(info.path)
    assert configs.shape == (40, bn.n_weights(bn.ZH_CASES[case].widths))
    assert np.all(accs >= 0.12)
    again = bn.make_ensemble(
        case, data, tmp_path / case, n_configs=40, threshold=0.12, n_networks=2, epochs=1,
        over_n_train=100, over_batch_size=50, over_epochs=2, seed=3,
    )  # fmt: skip
    assert again.draws == info.draws  # the finished collection is reused


def test_unknown_case():
    with pytest.raises(ValueError, match="case"):
        bn.make_ensemble("wide", _data(), "unused", 10, 0.5)


def test_cached_ensembles_reuse_same_parameters_and_separate_others(tmp_path):
    data = _data()
    kw = dict(n_networks=2, over_n_train=100, over_batch_size=50, over_epochs=2, seed=3)
    first = bn.cached_ensembles(data, 30, {"deep_over": 0.12}, root=tmp_path, **kw)
    again = bn.cached_ensembles(data, 30, {"deep_over": 0.12}, root=tmp_path, **kw)
    assert again["deep_over"].path == first["deep_over"].path
    assert again["deep_over"].draws == first["deep_over"].draws
    other = bn.cached_ensembles(data, 30, {"deep_over": 0.13}, root=tmp_path, **kw)
    assert other["deep_over"].path != first["deep_over"].path
    assert len(list(tmp_path.iterdir())) == 2
    with pytest.raises(ValueError, match="case"):
        bn.cached_ensembles(data, 30, {"wide": 0.1}, root=tmp_path)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(over_n_train=0), r"over_n_train must be an integer in \[1, inf\), got 0"),
        (
            dict(over_n_train=50, over_batch_size=100),
            r"over_batch_size must be an integer in \[1, 50\]",
        ),
    ],
)
def test_over_parametrised_schedule_is_checked_by_its_own_names(kwargs, match):
    # issue 19: over_n_train = 0 was reported as "batch_size must be an integer in [1, 0]"
    with pytest.raises(ValueError, match=match):
        bn.make_ensemble("deep_over", _data(), "unused", 10, 0.5, **kwargs)
