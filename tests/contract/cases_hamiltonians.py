"""Contract cases of deepspin.hamiltonians: covariances, Parisi solvers, random MLPs."""

import math

import numpy as np
import torch
from contract_spec import (
    Array,
    Bool,
    Case,
    Choice,
    Device,
    Int,
    Real,
    Seed,
    Values,
)

from deepspin import hamiltonians as hm

TWO = hm.pure_pspin(2, 0.5)
THREE = hm.pure_pspin(3, 0.5)
# not a covariance: no vectorised xi, dxi, d2xi, d3xi
XI = Values((None, "xi", 1.0, object(), np.ones(3)))
SOLVER_REASON = "**solver is passed on to parisi, which checks it"


def _net(n_networks=2, depth=1):
    return hm.random_mlp(4, depth, 8, "tanh", n_networks=n_networks, seed=0)


NET = Values((None, "net", object(), TWO))


def _tempering():
    return {
        "net": _net(),
        "betas": np.array([0.5, 1.0]),
        "n_copies": 2,
        "n_sweeps": 4,
        "n_burn": 2,
        "seed": 0,
        "step_target": 0.3,
        "record_every": 2,
        "exchange_every": 1,
        "x0": np.ones(4),
        "progress": False,
        "device": "cpu",
    }


def _descent():
    return {
        "net": _net(),
        "x0": np.random.default_rng(0).standard_normal((2, 3, 4)),
        "max_iter": 5,
        "tol": 1e-6,
        "progress": False,
    }


def _features():
    return {"net": _net(), "x": np.random.default_rng(1).standard_normal((3, 4))}


X_INPUT = Array()  # any finite reals; B is free, N₀ is fixed by the network

CASES = [
    # --- covariance ---------------------------------------------------------------------------
    Case(
        hm.mixture,
        {"coefficients": {2: 0.5, 4: 0.1}},
        {
            "coefficients": Values(
                (
                    None,
                    {},
                    [(2, 0.5)],
                    "abc",
                    {0: 1.0},
                    {1.5: 1.0},
                    {True: 1.0},
                    {"2": 1.0},
                    {2: -1.0},
                    {2: math.nan},
                    {2: math.inf},
                    {2: "1"},
                )
            )
        },
    ),
    Case(hm.pure_pspin, {"p": 3, "c": 0.5}, {"p": Int(1), "c": Real(0.0, low_open=True)}),
    Case(
        hm.covariance,
        {"activation": "tanh", "depth": 1, "weight_var": 1.0, "bias_var": 0.1, "shape": 1.0},
        {
            "activation": Choice(hm.ACTIVATIONS),
            "depth": Int(0),
            "weight_var": Real(0.0, low_open=True),
            "bias_var": Real(0.0),
            "shape": Real(),
        },
    ),
    Case(
        hm.TabulatedCovariance,
        lambda: {"source": hm.covariance("relu", 1, 2.0), "n": 33, "chunk": 16},
        {
            "source": Values((None, "relu", object(), TWO)),
            "n": Int(4),
            "chunk": Int(1),
        },
    ),
    Case(
        hm.sample_kernel,
        {
            "activation": "tanh",
            "depth": 1,
            "q": 0.5,
            "width": 8,
            "weight_var": 1.0,
            "bias_var": 0.1,
            "n_pairs": 2,
            "n_networks": 2,
            "seed": 0,
        },
        {
            "activation": Choice(("linear", "relu", "erf", "tanh", "sin", "cos")),
            "depth": Int(0),
            "q": Real(-1.0, 1.0),
            "width": Int(2),
            "weight_var": Real(0.0, low_open=True),
            "bias_var": Real(0.0),
            "n_pairs": Int(1),
            "n_networks": Int(2),
            "seed": Seed(),
        },
    ),
    # --- parisi -------------------------------------------------------------------------------
    Case(
        hm.parisi,
        {
            "xi": TWO,
            "beta": 2.0,
            "ansatz": "RS",
            "k": 2,
            "n_grid": 4,
            "initial": np.linspace(0.0, 0.5, 5),
            "maxiter": 100,
        },
        {
            "xi": XI,
            "beta": Real(0.0, low_open=True),
            "ansatz": Choice(hm.ANSATZE),
            "k": Int(1),
            "n_grid": Int(2),
            # optional (None is valid): listed by hand; length n_grid + 1 = 5
            "initial": Values(
                (
                    "abc",
                    np.linspace(0.0, 0.5, 4),
                    np.linspace(0.0, 0.5, 6),
                    np.zeros((5, 1)),
                    np.array([0.0, 0.1, math.nan, 0.3, 0.4]),
                    np.array([0.0, 0.1, 0.2, 0.3, math.inf]),
                    np.array([-0.1, 0.1, 0.2, 0.3, 0.4]),
                    np.array([0.0, 0.1, 0.2, 0.3, 1.5]),
                )
            ),
            "maxiter": Int(1),
        },
    ),
    Case(
        hm.replicon,
        {"xi": TWO, "beta": 2.0, "q": 0.5},
        {"xi": XI, "beta": Real(0.0), "q": Real(0.0, 1.0, high_open=True)},
    ),
    Case(
        hm.thermodynamics,
        {"xi": TWO, "betas": np.array([0.5, 2.0]), "ansatz": "RS"},
        {
            "xi": XI,
            "betas": Array(0.0, low_open=True),
            "ansatz": Choice(hm.ANSATZE),
        },
    ),
    Case(
        hm.entropy_at_energy,
        {
            "xi": TWO,
            "energy": -0.6,
            "ansatz": "RS",
            "beta_max": 1e3,
            "xtol": 1e-10,
            "tol": 1e-7,
        },
        {
            "xi": XI,
            "energy": Real(high=0.0, high_open=True),
            "ansatz": Choice(hm.ANSATZE),
            "beta_max": Real(1e-6, low_open=True),
            "xtol": Real(0.0, low_open=True),
            "tol": Real(0.0, low_open=True),
        },
    ),
    Case(
        hm.dynamic_temperature,
        {"xi": THREE, "maxiter": 500, "tol": 1e-8},
        {"xi": XI, "maxiter": Int(1), "tol": Real(0.0, low_open=True)},
    ),
    Case(
        hm.static_temperature,
        {"xi": THREE, "maxiter": 100, "tol": 1e-10},
        {"xi": XI, "maxiter": Int(1), "tol": Real(0.0, low_open=True)},
    ),
    Case(
        hm.ground_state_energy,
        {"xi": TWO, "ansatz": "RS", "n_cells": 10, "maxiter": 50, "tol": 1e-10},
        {
            "xi": XI,
            "ansatz": Choice(("RS", "1RSB", "full")),
            "n_cells": Int(1),
            "maxiter": Int(1),
            "tol": Real(0.0, low_open=True, allow_none=True),
        },
    ),
    Case(
        hm.rs_zero_temperature_test,
        {"xi": TWO, "n": 101},
        {"xi": XI, "n": Int(2)},
    ),
    Case(
        hm.concave_intervals,
        {"xi": TWO, "n": 101, "q_max": 0.9},
        {"xi": XI, "n": Int(3), "q_max": Real(1e-6, 1.0, low_open=True, high_open=True)},
    ),
    Case(
        hm.classify,
        {"xi": hm.covariance("linear", 1), "beta": math.inf, "tol": 1e-9},
        {
            "xi": XI,
            # np.inf (zero temperature) is valid, so the invalid values are listed by hand
            "beta": Values((0.0, -1.0, -math.inf, math.nan, "2", None, [1.0], True)),
            "tol": Real(0.0),
        },
    ),
    # --- sampling -----------------------------------------------------------------------------
    Case(
        hm.random_mlp,
        {
            "n_input": 4,
            "depth": 1,
            "width": 8,
            "activation": "tanh",
            "weight_var": 1.0,
            "bias_var": 0.1,
            "n_networks": 2,
            "seed": 0,
            "device": "cpu",
            "dtype": torch.float64,
        },
        {
            "n_input": Int(2),
            "depth": Int(0),
            "width": Int(1),
            "activation": Choice(("linear", "relu", "erf", "tanh", "sin", "cos")),
            "weight_var": Real(0.0, low_open=True),
            "bias_var": Real(0.0),
            "n_networks": Int(1),
            "seed": Seed(),
            "device": Device(),
            "dtype": Values((torch.int64, torch.float16, np.float64, "float64", None)),
        },
    ),
    Case(hm.mlp_energy, _features, {"net": NET, "x": X_INPUT}),
    Case(hm.hidden_features, _features, {"net": NET, "x": X_INPUT}),
    Case(
        hm.parallel_tempering,
        _tempering,
        {
            "net": NET,
            "betas": Array(0.0, low_open=True),
            "n_copies": Int(1),
            "n_sweeps": Int(1),
            "n_burn": Int(0),
            "seed": Seed(),
            "step_target": Real(0.0, 1.0, low_open=True, high_open=True),
            "record_every": Int(1),
            "exchange_every": Int(1),
            # optional (None is valid): listed by hand; must broadcast to (2, 2, 2, 4)
            "x0": Values(
                (
                    "abc",
                    np.zeros(4),
                    np.ones(3),
                    np.ones((3, 4)),
                    np.array([1.0, math.nan, 0.0, 0.0]),
                    np.array([1.0, math.inf, 0.0, 0.0]),
                    np.array([1.0, 0.0, 0.0, 0.0]) * 1e-200,
                )
            ),
            "progress": Bool(),
            "device": Device(),
        },
    ),
    Case(
        hm.minimize_energy,
        _descent,
        {
            "net": NET,
            "x0": Array(fixed_shape=True),
            "max_iter": Int(1),
            "tol": Real(0.0, low_open=True),
            "progress": Bool(),
        },
    ),
]

RECORDS = {
    "deepspin.hamiltonians.covariance.Mixture": "returned by mixture and pure_pspin, which "
    "check the coefficients; users do not construct it",
    "deepspin.hamiltonians.covariance.NetworkCovariance": "returned by covariance, which "
    "checks every field; users do not construct it",
    "deepspin.hamiltonians.sampling.RandomMLP": "the networks returned by random_mlp (which "
    "checks its arguments); users do not construct it",
    "deepspin.hamiltonians.sampling.TemperingResult": "result container of parallel_tempering",
    "deepspin.hamiltonians.sampling.DescentResult": "result container of minimize_energy",
}
