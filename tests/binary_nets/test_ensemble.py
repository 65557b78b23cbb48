"""Tests for deepspin.binary_nets.ensemble: streamed collection, moments, resumption."""

import json

import numpy as np
import pytest
from numpy.testing import assert_allclose

from deepspin import binary_nets as bn
from deepspin.binary_nets import ensemble

WIDTHS = (6, 5, 3)


@pytest.fixture(scope="module")
def problem():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((400, WIDTHS[0]))
    y = np.argmax(x[:, :3], axis=1)
    fields = bn.init_fields(WIDTHS, n_networks=3, scale=2.0, seed=1)
    acc = bn.configuration_accuracy(bn.sample_configurations(fields, 300), WIDTHS, x, y)
    return fields, x, y, float(np.quantile(acc, 0.5))


def _collect(problem, path, **kw):
    fields, x, y, threshold = problem
    args = dict(n_configs=500, threshold=threshold, chunk_size=200, screen_at=(100,),
                draw_batch=128, seed=7)  # fmt: skip
    args.update(kw)
    return bn.collect_ensemble(fields, WIDTHS, x, y, path, **args)


def test_collection_accepts_only_above_threshold_and_streams_moments(problem, tmp_path):
    _, x, y, threshold = problem
    info = _collect(problem, tmp_path / "c")
    configs, accs = bn.load_ensemble(tmp_path / "c")
    assert configs.shape == (500, bn.n_weights(WIDTHS)) and configs.dtype == np.int8
    assert info.n_configs == 500 and info.chunks == 3
    assert 0 < info.acceptance <= 1 and info.draws >= 500
    assert np.all(accs >= threshold)
    assert_allclose(accs, bn.configuration_accuracy(configs, WIDTHS, x, y))
    m, c = bn.ensemble_moments(tmp_path / "c")
    m_ref, c_ref = bn.moments_in_memory(configs)
    assert_allclose(m, m_ref, rtol=0, atol=1e-15)
    assert_allclose(c, c_ref, rtol=0, atol=1e-15)
    assert_allclose(np.diag(c), 1.0)


def test_collection_records_the_network_of_each_configuration(problem, tmp_path):
    fields = problem[0]
    _collect(problem, tmp_path / "c")
    configs, _, networks = bn.load_ensemble(tmp_path / "c", networks=True)
    assert networks.shape == (500,) and set(np.unique(networks)) <= {0, 1, 2}
    # log-probability of each configuration under each network's fields
    theta = bn.flatten_weights([f.double() for f in fields]).numpy()
    log_p = -np.logaddexp(0.0, -configs[:, None, :] * theta[None, :, :]).sum(axis=2)
    assert np.mean(np.argmax(log_p, axis=1) == networks) > 0.95
    assert np.array_equal(bn.load_ensemble(tmp_path / "c", 120, networks=True)[2], networks[:120])


def test_killed_collection_resumes_to_the_same_result(problem, tmp_path, monkeypatch):
    _collect(problem, tmp_path / "full")
    original = ensemble._draw_chunk
    calls = {"n": 0}

    def dying(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt
        return original(*args, **kwargs)

    monkeypatch.setattr(ensemble, "_draw_chunk", dying)
    with pytest.raises(KeyboardInterrupt):
        _collect(problem, tmp_path / "resumed")
    state = json.loads((tmp_path / "resumed" / "state.json").read_text())
    assert state["chunks"] == 2
    monkeypatch.setattr(ensemble, "_draw_chunk", original)
    _collect(problem, tmp_path / "resumed")
    a, acc_a = bn.load_ensemble(tmp_path / "full")
    b, acc_b = bn.load_ensemble(tmp_path / "resumed")
    assert np.array_equal(a, b) and np.array_equal(acc_a, acc_b)
    assert_allclose(
        bn.ensemble_moments(tmp_path / "full")[1], bn.ensemble_moments(tmp_path / "resumed")[1]
    )


def test_other_parameters_in_the_same_directory_are_refused(problem, tmp_path):
    _collect(problem, tmp_path / "c", n_configs=200)
    with pytest.raises(ValueError, match="other parameters"):
        _collect(problem, tmp_path / "c", n_configs=200, seed=8)


def test_unreachable_threshold_stops(problem, tmp_path):
    with pytest.raises(RuntimeError, match="threshold 1 reached by too few draws"):
        _collect(problem, tmp_path / "c", threshold=1.0, max_draws=1000)


def test_validation(problem, tmp_path):
    with pytest.raises(ValueError, match="threshold"):
        _collect(problem, tmp_path / "c", threshold=1.5)
    with pytest.raises(ValueError, match="n_configs"):
        _collect(problem, tmp_path / "c", n_configs=0)
    fields = problem[0]
    with pytest.raises(ValueError, match="fields do not match"):
        bn.collect_ensemble(fields, (6, 4, 3), problem[1], problem[2], tmp_path / "d", 10, 0.1)


def test_acceptance_counts_only_the_draws_used(problem, tmp_path):
    # at threshold 0 every draw is accepted: draws must equal n_configs, not whole batches
    info = _collect(problem, tmp_path / "c", threshold=0.0, n_configs=300)
    assert info.draws == 300 and info.acceptance == 1.0


def test_out_of_range_labels_are_refused_before_drawing(problem, tmp_path):
    # issue 19: labels outside [0, n_out) scored every draw at accuracy 0, and the
    # collection spent its draws before blaming the threshold
    fields, x, y, _ = problem
    bad = y.copy()
    bad[5] = WIDTHS[-1]
    with pytest.raises(ValueError, match=r"y_test must hold integers in \[0, 2\], got 3"):
        bn.collect_ensemble(fields, WIDTHS, x, bad, tmp_path / "c", 10, 0.1)
    x_nan = x.copy()
    x_nan[0, 0] = np.nan
    with pytest.raises(ValueError, match="x_test must hold finite reals"):
        bn.collect_ensemble(fields, WIDTHS, x_nan, y, tmp_path / "c", 10, 0.1)
    assert not (tmp_path / "c").exists()  # refused before anything was written


def test_reading_checks_its_arguments(problem, tmp_path):
    with pytest.raises(ValueError, match=r"out_dir .* holds no collection"):
        bn.load_ensemble(tmp_path / "missing")
    with pytest.raises(ValueError, match=r"out_dir .* holds no collection"):
        bn.ensemble_moments(tmp_path / "missing")
    _collect(problem, tmp_path / "c", threshold=0.0, n_configs=20, chunk_size=20)
    with pytest.raises(ValueError, match="max_configs"):
        bn.load_ensemble(tmp_path / "c", max_configs=0)
    with pytest.raises(ValueError, match="networks must be True or False"):
        bn.load_ensemble(tmp_path / "c", networks="yes")
    with pytest.raises(ValueError, match="configs must hold spins"):
        bn.moments_in_memory(np.zeros((3, 4)))
