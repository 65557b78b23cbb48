"""Tests for deepspin.ising.model: the energy by hand, the tilted model, and the
validation of models and configurations."""

import numpy as np
import pytest
from numpy.testing import assert_allclose

from deepspin.ising import IsingModel, check_model, check_spins

H = np.array([0.1, -0.2, 0.3])
J = np.array([[0.0, 0.2, -0.1], [0.2, 0.0, 0.3], [-0.1, 0.3, 0.0]])


def test_energy_by_hand():
    model = IsingModel(H, J)
    sigma = np.array([1, -1, 1])
    # −Σ h σ − Σ_{i<j} J σσ = −(0.1 + 0.2 + 0.3) − (−0.2 − 0.1 − 0.3)
    assert model.energy(sigma) == pytest.approx(0.0)
    batch = np.array([[1, 1, 1], [1, -1, 1]])
    assert_allclose(model.energy(batch), [-0.2 - 0.4, 0.0], atol=1e-15)


def test_tilted_model():
    model = IsingModel(H, J)
    reference = np.array([1, -1, 1])
    tilted = model.tilted(reference, 0.5, beta=2.0)
    assert_allclose(tilted.h, 2.0 * H + 0.5 * reference)
    assert_allclose(tilted.J, 2.0 * J)
    for kwargs, name in [
        (dict(reference=np.ones((2, 3)), x=0.5), "reference"),
        (dict(reference=reference, x=np.nan), "x"),
        (dict(reference=reference, x="0.5"), "x"),
        (dict(reference=reference, x=0.5, beta=-1.0), "beta"),
    ]:
        with pytest.raises(ValueError, match=name):
            model.tilted(**kwargs)


@pytest.mark.parametrize(
    ("h", "J", "max_n", "match"),
    [
        (H, J, 2, r"h has N = 3 spins, too many here: N must lie in \[1, 2\]"),
        (H, J, 0, "max_n"),
        ([], np.zeros((0, 0)), None, "h must not be empty"),
        (H, J[:2], None, r"J must have shape \(3, 3\) to match h"),
        (H, J + np.eye(3), None, r"J must have a zero diagonal, got J\[0, 0\] = 1.0"),
        (H, np.triu(J), None, r"J must be symmetric"),
        (H, np.where(J > 0.25, np.inf, J), None, "J must hold finite reals"),
        ([0.0, np.nan, 0.0], J, None, "h must hold finite reals"),
        (H, "abc", None, "J must be"),
    ],
)
def test_bad_models_are_refused_by_name(h, J, max_n, match):
    with pytest.raises(ValueError, match=match):
        check_model(h, J, max_n)


def test_check_spins():
    out = check_spins([1.0, -1.0, 1.0], 3)
    assert out.dtype == np.int8 and out.tolist() == [1, -1, 1]
    assert check_spins(np.ones((0, 3)), 3).shape == (0, 3)  # an empty batch
    for bad, match in [
        ([1, 0, 1], "sigma must hold spins"),
        ([1, 1], r"sigma must have shape \(3,\) or \(K, 3\)"),
        (np.ones((2, 2, 3)), "sigma must be a 1-D or 2-D array"),
        ("abc", "sigma must be an array of spins"),
    ]:
        with pytest.raises(ValueError, match=match):
            check_spins(bad, 3)
    with pytest.raises(ValueError, match="n must be"):
        check_spins([1, 1], 0)
