"""Contract cases of deepspin.ising: the model, exact enumeration, BP, inverse Ising,
Monte Carlo and the entropy landscape refuse invalid arguments by name.

Every case runs on one three-spin model (``H``, ``J``) and its exact moments, computed
here by brute force over the eight states so that building the domains costs nothing.
"""

import itertools
import math
from dataclasses import dataclass

import numpy as np
from contract_spec import (
    Array,
    Bool,
    Case,
    Choice,
    Device,
    Domain,
    Int,
    IntArray,
    Real,
    Seed,
    Spins,
    Values,
)

from deepspin.ising import bp, exact, inverse, landscape, model, montecarlo


@dataclass(frozen=True)
class Joint(Domain):
    """The invalid values of several domains together (a derived range and hand-made
    values that no range describes: an asymmetric J, a model too large to enumerate)."""

    parts: tuple

    def examples(self, valid) -> list:
        return [bad for part in self.parts for bad in part.examples(valid)]


@dataclass(frozen=True)
class Optional(Domain):
    """The invalid values of ``inner`` except ``None``, which selects a default."""

    inner: Domain

    def examples(self, valid) -> list:
        return [bad for bad in self.inner.examples(valid) if bad is not None]


H = np.array([0.1, -0.2, 0.3])
J = np.array([[0.0, 0.2, -0.1], [0.2, 0.0, 0.3], [-0.1, 0.3, 0.0]])
REF = np.array([1, -1, 1], dtype=np.int8)


def _exact_moments(h, J):
    states = np.array(list(itertools.product([-1.0, 1.0], repeat=h.size)))
    energy = -states @ h - 0.5 * np.einsum("ki,ij,kj->k", states, J, states)
    p = np.exp(-energy)
    p /= p.sum()
    return p @ states, (states * p[:, None]).T @ states


M, C = _exact_moments(H, J)


def _with(matrix, i, j, value, symmetric=True):
    out = np.array(matrix, dtype=np.float64)
    out[i, j] = value
    if symmetric:
        out[j, i] = value
    return out


def _bad_second_moments(C):
    """Invalid raw second moments: off-diagonal entries outside [−1, 1] or not finite, a
    NaN on the (otherwise ignored) diagonal, asymmetry, wrong shapes."""
    return Values(
        (
            "abc",
            None,
            _with(C, 0, 1, math.nan),
            _with(C, 0, 1, math.inf),
            _with(C, 0, 1, math.nextafter(1.0, 2.0)),
            _with(C, 0, 1, -1.5),
            _with(C, 0, 0, math.nan),
            _with(C, 0, 1, C[0, 1] + 0.01, symmetric=False),
            C[..., None],
            np.zeros((0, 0)),
            C[:-1],
            C[:2, :2],
            np.eye(4),
        )
    )


BAD_J = Values(
    (
        _with(J, 0, 1, 0.5, symmetric=False),  # asymmetric
        _with(J, 1, 1, 0.1),  # a diagonal entry
        np.array([["a", "b", "c"]] * 3),
    )
)
COUPLINGS = Joint((Array(fixed_shape=True), BAD_J))
FIELDS = Array(fixed_shape=True)
SECOND_MOMENTS = _bad_second_moments(C)
MAGNETISATIONS = Array(-1.0, 1.0, fixed_shape=True)
MASK = np.ones((3, 3), dtype=bool)
BAD_MASKS = Values(
    (
        "abc",
        np.ones((3, 3)),  # not boolean
        np.ones((2, 2), dtype=bool),
        np.ones((3, 3, 1), dtype=bool),
        np.triu(np.ones((3, 3), dtype=bool)),  # asymmetric
    )
)
SAMPLES = np.array(
    [[1, -1, 1], [1, 1, -1], [-1, -1, 1], [1, -1, -1], [-1, 1, 1], [1, 1, 1]], dtype=np.int8
)
TWO_D_REFERENCE = Values((np.ones((2, 3)),))
BAD_SAMPLE_ROWS = Values((np.ones((1, 3)), np.ones((4, 2))))
X = np.array([-0.5, 0.0, 0.5])


def _landscape(x):
    n = len(x)
    return landscape.Landscape(
        x=np.asarray(x, dtype=np.float64), d=np.full(n, 0.3), s=np.full(n, 0.5),
        energy=np.zeros(n), q=np.full(n, 0.4), beta=np.ones(n), converged=np.ones(n, bool),
        iterations=np.ones(n, int), residual=np.zeros(n),
    )  # fmt: skip


# None is a valid start (random), so the ±1 domain is listed by hand
BAD_INITIAL = Values(
    (
        "abc",
        np.array([1, 0, 1]),
        np.array([1, 2, 1]),
        np.array([1.0, 0.5, 1.0]),
        np.array([1.0, math.nan, 1.0]),
        REF[..., None],
        np.zeros(0),
        REF[:-1],
        np.ones((3, 3)),  # one row per chain, but not 2 chains
        np.ones((2, 2, 3)),
    )
)
BAD_LANDSCAPES = Values(("abc", None, 3, {"x": X}))
NAME_REASON = "the name a message gives; any string is allowed"

CASES = [
    # --- model -----------------------------------------------------------------------------
    Case(
        model.check_model,
        {"h": H, "J": J, "max_n": None},
        {
            "h": Joint((FIELDS, Values((np.zeros(4),)))),
            "J": COUPLINGS,
            "max_n": Int(1, allow_none=True),
        },
        unchecked={
            "names": "the names messages give (set by the caller's code)",
            "why": "the end of a message (set by the caller's code)",
        },
    ),
    Case(
        model.check_spins,
        {"sigma": REF, "n": 3, "name": "sigma"},
        {"sigma": Joint((Spins(), Values((np.ones((2, 2, 3)),)))), "n": Int(1)},
        unchecked={"name": NAME_REASON},
    ),
    Case(model.IsingModel, {"h": H, "J": J}, {"h": FIELDS, "J": COUPLINGS}),
    # --- exact ----------------------------------------------------------------------------
    Case(
        exact.enumerate_exact,
        {"h": H, "J": J, "beta": 1.0},
        {
            "h": Joint((FIELDS, Values((np.zeros(25),)))),  # N above 24
            "J": COUPLINGS,
            "beta": Real(0.0),
        },
    ),
    Case(
        exact.all_energies,
        {"h": H, "J": J},
        {"h": Joint((FIELDS, Values((np.zeros(21),)))), "J": COUPLINGS},  # N above 20
    ),
    Case(
        exact.sample_exact,
        {"h": H, "J": J, "n_samples": 5, "seed": 0, "beta": 1.0},
        {
            "h": Joint((FIELDS, Values((np.zeros(21),)))),  # N above 20
            "J": COUPLINGS,
            "n_samples": Int(1),
            "seed": Seed(),
            "beta": Real(0.0),
        },
    ),
    # --- belief propagation ---------------------------------------------------------------
    Case(
        bp.belief_propagation,
        {
            "h": H,
            "J": J,
            "messages": (np.ones((3, 3)), np.ones((3, 3))),
            "damping": 0.0,
            "tol": 1e-8,
            "max_sweeps": 200,
            "init_scale": 0.0,
            "seed": 0,
            "correlations": True,
            "warn": True,
        },
        {
            "h": FIELDS,
            "J": COUPLINGS,
            "messages": Values(
                (
                    "abc",
                    3,
                    (np.ones((3, 3)),),
                    (np.ones((3, 3)),) * 3,
                    (np.ones((2, 2)), np.ones((2, 2))),
                    (_with(np.ones((3, 3)), 0, 1, math.nan), np.ones((3, 3))),
                    (np.ones((3, 3)), _with(np.ones((3, 3)), 0, 1, 0.0)),
                    (_with(np.ones((3, 3)), 0, 1, -1.0), np.ones((3, 3))),
                    ("a", "b"),
                )
            ),
            "damping": Real(0.0, 1.0, high_open=True),
            "tol": Real(0.0, low_open=True),
            "max_sweeps": Int(0),
            "init_scale": Real(0.0, 100.0),
            "seed": Seed(),
            "correlations": Bool(),
            "warn": Bool(),
        },
    ),
    # --- inverse Ising --------------------------------------------------------------------
    Case(
        inverse.rmse,
        {"m_model": M, "C_model": C, "m_data": M * 0.9, "C_data": C * 0.9, "mask": MASK},
        {
            "m_model": MAGNETISATIONS,
            "C_model": SECOND_MOMENTS,
            "m_data": MAGNETISATIONS,
            "C_data": SECOND_MOMENTS,
            "mask": BAD_MASKS,
        },
    ),
    Case(
        inverse.mean_field_inversion,
        {"m": M, "C": C, "method": "tap", "clip": 1e-6},
        {
            "m": MAGNETISATIONS,
            "C": SECOND_MOMENTS,
            "method": Choice(("naive", "tap")),
            "clip": Real(0.0, 0.5, low_open=True, high_open=True),
        },
    ),
    Case(
        inverse.bethe_inversion,
        {"m": M, "C": C, "mask": MASK, "clip": 1e-9},
        {
            "m": MAGNETISATIONS,
            "C": SECOND_MOMENTS,
            "mask": BAD_MASKS,
            "clip": Real(0.0, 0.01, low_open=True),
        },
    ),
    Case(
        inverse.fit_boltzmann,
        {
            "m": M,
            "C": C,
            "h0": np.zeros(3),
            "J0": np.zeros((3, 3)),
            "init": "bethe",
            "l2": 1e-4,
            "tol": 1e-4,
            "max_steps": 5,
            "method": "adaptive",
            "step": 0.25,
            "eta_h": 0.3,
            "eta_J": 0.01,
            "mask": MASK,
            "bp_damping": 0.0,
            "bp_max_sweeps": 100,
            "bp_tol": None,
            "max_move": 0.05,
            "warn": False,
        },
        {
            "m": MAGNETISATIONS,
            "C": SECOND_MOMENTS,
            "h0": FIELDS,
            "J0": COUPLINGS,
            "init": Choice(("bethe", "independent", "mean_field")),
            "l2": Real(0.0),
            "tol": Real(0.0, low_open=True),
            "max_steps": Int(0),
            "method": Choice(("adaptive", "plain")),
            "step": Real(0.0, 1.0, low_open=True),
            "eta_h": Real(0.0, low_open=True),
            "eta_J": Real(0.0, low_open=True),
            "mask": BAD_MASKS,
            "bp_damping": Real(0.0, 1.0, high_open=True),
            "bp_max_sweeps": Int(1),
            "bp_tol": Real(0.0, low_open=True, allow_none=True),
            "max_move": Real(0.0, low_open=True),
            "warn": Bool(),
        },
    ),
    Case(
        inverse.fit_pseudolikelihood,
        {
            "samples": SAMPLES,
            "l1": 0.0,
            "lr": 1.0,
            "max_iter": 20,
            "tol": 1e-5,
            "device": "cpu",
            "warn": False,
        },
        {
            "samples": Spins(fixed_shape=False),
            "l1": Real(0.0),
            "lr": Real(0.0, low_open=True),
            "max_iter": Int(1),
            "tol": Real(0.0, low_open=True),
            "device": Device(),
            "warn": Bool(),
        },
    ),
    Case(
        inverse.fit_exact,
        {
            "m": M,
            "C": C,
            "l2": 0.0,
            "tol": 1e-7,
            "max_iter": 50,
            "h0": np.zeros(3),
            "J0": np.zeros((3, 3)),
        },
        {
            # |m| = 1 is a frozen spin, whose field is infinite
            "m": Array(-1.0, 1.0, low_open=True, high_open=True, fixed_shape=True),
            "C": SECOND_MOMENTS,
            "l2": Real(0.0),
            "tol": Real(0.0, low_open=True),
            "max_iter": Int(1),
            "h0": FIELDS,
            "J0": COUPLINGS,
        },
    ),
    Case(
        inverse.bp_bias,
        {"m_bp": M, "C_bp": C, "samples": SAMPLES, "m_data": M, "C_data": C},
        {
            "m_bp": MAGNETISATIONS,
            "C_bp": SECOND_MOMENTS,
            "samples": Joint((Spins(fixed_shape=False), BAD_SAMPLE_ROWS)),
            "m_data": MAGNETISATIONS,
            "C_data": SECOND_MOMENTS,
        },
    ),
    # --- Monte Carlo ----------------------------------------------------------------------
    Case(
        montecarlo.metropolis,
        {
            "h": H,
            "J": J,
            "n_chains": 2,
            "sweeps": 10,
            "burn_in": 2,
            "sample_every": 2,
            "beta": 1.0,
            "initial": REF,
            "seed": 0,
        },
        {
            "h": FIELDS,
            "J": COUPLINGS,
            "n_chains": Int(1),
            "sweeps": Int(1),
            "burn_in": Int(0),
            "sample_every": Int(1, 10),
            "beta": Real(0.0),
            "initial": BAD_INITIAL,
            "seed": Seed(),
        },
    ),
    Case(
        montecarlo.check_samples,
        {"samples": SAMPLES, "name": "samples", "min_rows": 2},
        {"samples": Joint((Spins(fixed_shape=False), Values((np.ones((1, 3)), np.ones((4, 0))))))},
        unchecked={"name": NAME_REASON, "min_rows": "a bound set by the caller's code"},
    ),
    Case(
        montecarlo.moments,
        {"samples": SAMPLES},
        {"samples": Spins(fixed_shape=False)},
    ),
    Case(
        montecarlo.third_moments,
        {"samples": SAMPLES, "triples": np.array([[0, 1, 2], [0, 0, 1]])},
        {"samples": Spins(fixed_shape=False), "triples": IntArray(0, 2)},
    ),
    Case(
        montecarlo.connected_third_moments,
        {"samples": SAMPLES, "triples": np.array([[0, 1, 2], [0, 0, 1]])},
        {"samples": Spins(fixed_shape=False), "triples": IntArray(0, 2)},
    ),
    Case(
        montecarlo.thermodynamic_entropy,
        {
            "h": H,
            "J": J,
            "beta": 1.0,
            "n_points": 2,
            "n_chains": 2,
            "sweeps": 10,
            "burn_in": 2,
            "seed": 0,
        },
        {
            "h": FIELDS,
            "J": COUPLINGS,
            "beta": Real(0.0, low_open=True),
            "n_points": Int(1),
            "n_chains": Int(2),
            "sweeps": Int(1),
            "burn_in": Int(0),
            "seed": Seed(),
        },
    ),
    # --- landscape ------------------------------------------------------------------------
    Case(
        landscape.entropy_upper_bound,
        {"d": np.linspace(0.0, 1.0, 5)},
        {
            # any shape is allowed, so the domain is listed by hand
            "d": Values(
                (
                    "abc",
                    None,
                    [0.5, math.nan],
                    math.inf,
                    math.nextafter(0.0, -1.0),
                    math.nextafter(1.0, 2.0),
                    [0.2, 1.5],
                    -3.0,
                )
            )
        },
    ),
    Case(
        landscape.entropy_landscape,
        {
            "h": H,
            "J": J,
            "reference": REF,
            "x": X,
            "beta": 1.0,
            "damping": 0.0,
            "tol": 1e-8,
            "max_sweeps": 200,
            "progress": False,
        },
        {
            "h": FIELDS,
            "J": COUPLINGS,
            "reference": Joint((Spins(), TWO_D_REFERENCE)),
            "x": Joint((Optional(Array()), Values(("1.0",)))),
            "beta": Real(0.0, low_open=True),
            "damping": Real(0.0, 1.0, high_open=True),
            "tol": Real(0.0, low_open=True),
            "max_sweeps": Int(1),
            "progress": Bool(),
        },
    ),
    Case(
        landscape.iso_energy_landscape,
        {
            "h": H,
            "J": J,
            "reference": REF,
            "x": X,
            "beta_range": (0.1, 5.0),
            "damping": 0.0,
            "tol": 1e-8,
            "max_sweeps": 200,
            "energy_tol": 1e-6,
            "progress": False,
        },
        {
            "h": FIELDS,
            "J": COUPLINGS,
            "reference": Joint((Spins(), TWO_D_REFERENCE)),
            "x": Optional(Array()),
            "beta_range": Values(
                (
                    "abc",
                    3.5,
                    None,
                    (1.0,),
                    (0.1, 1.0, 5.0),
                    (0.0, 1.0),
                    (-1.0, 1.0),
                    (2.0, 1.0),
                    (1.0, 1.0),
                    (math.nan, 1.0),
                    (0.1, math.inf),
                    ("a", "b"),
                )
            ),
            "damping": Real(0.0, 1.0, high_open=True),
            "tol": Real(0.0, low_open=True),
            "max_sweeps": Int(1),
            "energy_tol": Real(0.0, low_open=True),
            "progress": Bool(),
        },
    ),
    Case(
        landscape.landscape_gap,
        lambda: {"landscape": _landscape(X), "d_range": (0.05, 0.95)},
        {
            "landscape": BAD_LANDSCAPES,
            "d_range": Values(
                (
                    "abc",
                    0.5,
                    None,
                    (0.1,),
                    (0.1, 0.5, 0.9),
                    (-0.1, 0.5),
                    (0.5, 1.1),
                    (0.9, 0.1),
                    (math.nan, 0.5),
                    (0.1, math.inf),
                )
            ),
        },
    ),
    Case(
        landscape.hysteresis_width,
        lambda: {"up": _landscape(X), "down": _landscape(X[::-1]), "atol": 1e-3},
        {
            "up": Joint((BAD_LANDSCAPES, Values((_landscape([0.0, 1.0]),)))),
            "down": Joint((BAD_LANDSCAPES, Values((_landscape([-0.5, 0.0, 0.7]),)))),
            "atol": Real(0.0),
        },
    ),
    Case(
        landscape.block_entropy_landscape,
        {"blocks": [(H, J, REF), (H[:2], J[:2, :2], REF[:2])], "x": X, "beta": 1.0},
        {
            "blocks": Values(
                (
                    "abc",
                    None,
                    3,
                    [],
                    [(H, J)],
                    [(H, J, REF, 1)],
                    [(H, _with(J, 0, 1, 0.5, symmetric=False), REF)],
                    [(H, J, np.array([1, 0, 1]))],
                    [(H, J, np.ones((2, 3)))],
                    [(H[:2], J, REF)],
                    [(np.zeros(21), np.zeros((21, 21)), np.ones(21))],  # N above 20
                    [(H, J, REF), "abc"],
                )
            ),
            "x": Joint((Optional(Array()), Values(("1.0",)))),
            "beta": Real(0.0, low_open=True),
        },
    ),
    Case(
        landscape.bp_uniqueness_radius,
        {"J": J, "beta": 1.0, "tol": 1e-6, "max_iter": 2000, "warn": True},
        {
            "J": COUPLINGS,
            "beta": Real(0.0, low_open=True),
            "tol": Real(0.0, low_open=True),
            "max_iter": Int(1),
            "warn": Bool(),
        },
    ),
    Case(
        landscape.correlation_signal,
        {"samples": SAMPLES, "model_rmse": 0.01, "groups": np.array([0, 0, 1, 1, 2, 2])},
        {
            "samples": Joint((Spins(fixed_shape=False), Values((np.ones((1, 3)),)))),
            "model_rmse": Real(0.0, math.sqrt(8.0)),
            "groups": Values(
                (
                    "abc",
                    np.zeros(6, dtype=int),  # a single group: no two halves
                    np.arange(5),
                    np.arange(6).reshape(2, 3),
                    np.array([None] * 6),
                    np.array([0.0, 1.0, math.nan, 1.0, 0.0, 1.0]),
                )
            ),
        },
    ),
    Case(
        landscape.tilted_monte_carlo,
        {
            "h": H,
            "J": J,
            "reference": REF,
            "x": X,
            "beta": 1.0,
            "n_chains": 2,
            "sweeps": 10,
            "burn_in": 2,
            "initial": REF,
            "seed": 0,
        },
        {
            "h": FIELDS,
            "J": COUPLINGS,
            "reference": Joint((Spins(), TWO_D_REFERENCE)),
            "x": Array(),
            "beta": Joint((Real(0.0, low_open=True), Values((np.ones(2), np.ones((3, 1)))))),
            "n_chains": Int(2),
            "sweeps": Int(1),
            "burn_in": Int(0),
            "initial": BAD_INITIAL,
            "seed": Seed(),
        },
    ),
]

RECORDS = {
    "deepspin.ising.bp.BetheState": "BP's solution, returned inside belief_propagation's result",
    "deepspin.ising.exact.ExactResult": "returned by enumerate_exact",
    "deepspin.ising.landscape.Landscape": "returned by the landscape functions",
    "deepspin.ising.landscape.CorrelationSignal": "returned by correlation_signal",
    "deepspin.ising.landscape.TiltedSamples": "returned by tilted_monte_carlo",
    "deepspin.ising.montecarlo.MonteCarloResult": "returned by metropolis",
    "deepspin.ising.montecarlo.EntropyEstimate": "returned by thermodynamic_entropy",
}
