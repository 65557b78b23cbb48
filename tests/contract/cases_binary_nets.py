"""Contract cases of deepspin.binary_nets: tiny networks (widths (4, 3, 2)) and tiny data.

The collections (``collect_ensemble``, ``make_ensemble``…) are written to one scratch
directory per process, removed when the process ends.
"""

import dataclasses
import math
import tempfile
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import torch
from contract_spec import (
    Array,
    Bool,
    Case,
    Choice,
    Device,
    Int,
    IntArray,
    Real,
    Seed,
    Spins,
    Values,
)

from deepspin import binary_nets as bn
from deepspin.binary_nets import cases as zh_cases
from deepspin.binary_nets import ensemble, evaluate, fused, incremental, lrnet, symmetry, unit_model

W = (4, 3, 2)  # 18 weights
N_W = 18
DEEP = (4, 3, 3, 2)  # an interior layer (1) of 9 weights
N_OUT = W[-1]

# widths that are wrong by themselves (not merely for the other arguments)
WIDTHS = Values(((), (4,), (4, 0, 2), (4, 1.5, 2), (4, True, 2), (4, 10**6, 2), None, 3, "ab"))
BOUND = 1.0 + 1e-9  # moments may exceed ±1 by rounding (symmetry._ROUNDING)
MOMENT = Array(-BOUND, BOUND, fixed_shape=True)

_SCRATCH = None


def _scratch() -> Path:
    """A fresh directory in this process's scratch space."""
    global _SCRATCH
    if _SCRATCH is None:
        _SCRATCH = tempfile.TemporaryDirectory(prefix="contract-binary-nets-")
    return Path(tempfile.mkdtemp(dir=_SCRATCH.name))


def _images(n=8, n_in=W[0], n_out=N_OUT, seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, n_in)), rng.integers(0, n_out, n)


def _spins(shape, seed=0):
    return np.random.default_rng(seed).choice(np.array([-1, 1], dtype=np.int8), size=shape)


def _fields(widths=W, n_networks=2, scale=0.1, seed=0):
    return bn.init_fields(widths, n_networks, scale, seed=seed)


def _bad_fields(none=True, mixed=True):
    """Wrong lists of fields; ``None`` (a default) and a list that mixes tensors and arrays
    (which the fused kernel takes) only where they are wrong."""
    good = _fields()
    nan = [f.clone() for f in good]
    nan[0][0, 0, 0] = math.nan
    out = [
        "abc",
        [],
        [good[0], good[1][:1]],
        [good[0], torch.zeros(2, 2, 5)],
        [good[0][0], good[1]],
        nan,
        3,
    ]
    out += [None] if none else []
    out += [[good[0], good[1].numpy()]] if mixed else []
    return tuple(out)


def _bad_noise(batch=8):
    good = [np.ones((2, batch, 3)), np.ones((2, batch, 2))]
    nan = [good[0].copy(), good[1]]
    nan[0][0, 0, 0] = math.nan
    return ("abc", 3, good[:1], [good[0], np.ones((2, batch, 3))], nan, [good[0], "x"])


FIELDS = Values(_bad_fields())
GENERATOR = Values(("abc", 3, np.random.default_rng(0)))
SCREEN_AT = Values(("abc", None, 3, [0], [1.5], [-2], [True]))
PATH = Values((None, 3.5, ""))


def _collection():
    """A finished collection of 4 configurations (built once)."""
    if not hasattr(_collection, "path"):
        x, y = _images(16)
        path = _scratch() / "c"
        bn.collect_ensemble(
            _fields(scale=2.0, seed=1), W, x, y, path, 4, 0.0, chunk_size=4, draw_batch=8
        )
        _collection.path = str(path)
    return _collection.path


def _mnist_like():
    """Data shaped like ``pca_mnist(20)``: 20 components, labels in [0, 10)."""
    x, y = _images(80, n_in=20, n_out=10, seed=3)
    return SimpleNamespace(train=x[:40], train_labels=y[:40], test=x[40:], test_labels=y[40:])


def _bad_data():
    good = _mnist_like()
    nan, label, narrow = (SimpleNamespace(**vars(good)) for _ in range(3))
    nan.train = good.train.copy()
    nan.train[0, 0] = math.nan
    label.test_labels = good.test_labels.copy()
    label.test_labels[0] = 10
    narrow.train = good.train[:, :19]
    return (None, "abc", SimpleNamespace(train=good.train), nan, label, narrow)


DATA = Values(_bad_data())
OVER = dict(n_networks=2, over_n_train=20, over_batch_size=10, over_epochs=1, seed=0)


def _make_ensemble():
    return dict(
        case="deep_over",
        data=_mnist_like(),
        out_dir=str(_scratch() / "e"),
        n_configs=2,
        threshold=0.0,
        epochs=1,
        lr=0.3,
        l2=1e-5,
        progress=False,
        **OVER,
    )


def _cached_ensembles():
    return dict(
        data=_mnist_like(),
        n_configs=2,
        thresholds={"deep_over": 0.0},
        root=str(_scratch()),
        progress=False,
        **OVER,
    )


def _reference():
    x, y = _images()
    return incremental.reference_layer(_spins((2, N_W), seed=1), W, x, y)


def _train_ensemble():
    x, y = _images()
    return dict(
        widths=W,
        x_train=x,
        y_train=y,
        x_test=x,
        y_test=y,
        n_networks=2,
        epochs=1,
        batch_size=4,
        batches_per_epoch=None,
        lr=0.3,
        l2=1e-5,
        init_scale=0.1,
        eval_every=1,
        eval_draws=1,
        seed=0,
        device="cpu",
        initial_fields=None,
        noise_fn=None,
        weights="binary",
        progress=False,
        backend=None,
    )


def _state():
    return fused.FusedState.from_fields(_fields())


def _moments(n, seed=0):
    s = _spins((50, n), seed).astype(np.float64)
    return s.mean(axis=0), s.T @ s / len(s)


IMAGES = dict(x=Array(fixed_shape=True), labels=IntArray(0, N_OUT - 1, fixed_shape=True))
SCREENING = dict(threshold=Real(0.0, 1.0), screen_at=SCREEN_AT, screen_z=Real(0.0))
TRAIN_TEST = dict(
    x_train=Array(fixed_shape=True),
    y_train=IntArray(0, N_OUT - 1, fixed_shape=True),
    x_test=Array(fixed_shape=True),
    y_test=IntArray(0, N_OUT - 1, fixed_shape=True),
)
ADAM = dict(
    lr=Real(0.0, 100.0, low_open=True),
    l2=Real(0.0),
    seed=Int(0, 2**63 - 1),
    betas=Values(
        ((0.9,), (1.0, 0.999), (-0.1, 0.9), (math.nan, 0.9), (0.9, 0.999, 0.5), "ab", None, 0.9)
    ),
    eps=Real(0.0),
)
STATE = Values(("abc", None, 3, {"theta": np.zeros((2, N_W))}))
NAME_REASON = "the name a message gives; any string is allowed"
CALLER_SHAPE = "a shape set by the caller's code (from validated widths)"


def _bad_configs():
    """Invalid ±1 configurations ``(3, N_W)``, listed by hand: an empty array is valid for
    :func:`evaluate.check_configs` (the Spins domain refuses it). The last one holds its
    bad entry in the last row, so that the slices after the first are compared too."""
    good = _spins((3, N_W)).astype(np.float64)
    out = ["abc", None, np.array([["a", "b"]]), good[0], good[..., None]]
    for row, value in ((0, 0.0), (0, 2.0), (0, 0.5), (0, math.nan), (-1, 0.0)):
        bad = good.copy()
        bad[row, 0] = value
        out.append(bad)
    return tuple(out)


CASES = [
    # --- lrnet ---------------------------------------------------------------------------
    Case(lrnet.check_widths, {"widths": W}, {"widths": WIDTHS}),
    Case(lrnet.n_weights, {"widths": W}, {"widths": WIDTHS}),
    Case(lrnet.layer_slices, {"widths": W}, {"widths": WIDTHS}),
    Case(
        lrnet.check_fields,
        lambda: {"fields": _fields(), "name": "fields", "widths": W, "n_networks": 2},
        {"fields": FIELDS},
        unchecked={"name": NAME_REASON, "widths": CALLER_SHAPE, "n_networks": CALLER_SHAPE},
    ),
    Case(lrnet.flatten_weights, lambda: {"layers": _fields()}, {"layers": Values(_bad_fields())}),
    Case(
        lrnet.unflatten_weights,
        lambda: {"flat": np.random.default_rng(0).standard_normal((2, N_W)), "widths": W},
        {"flat": Array(), "widths": WIDTHS},
    ),
    Case(
        lrnet.init_fields,
        {
            "widths": W,
            "n_networks": 2,
            "scale": 0.1,
            "seed": 0,
            "device": "cpu",
            "dtype": torch.float32,
        },
        {
            "widths": WIDTHS,
            "n_networks": Int(1),
            "scale": Real(0.0),
            "seed": Seed(),
            "device": Device(),
            "dtype": Values((torch.int64, torch.float16, np.float32, "float32", None)),
        },
    ),
    Case(
        lrnet.meanfield_logits,
        lambda: {"fields": _fields(), "x": torch.randn(5, W[0]), "noise": None, "generator": None},
        {"fields": FIELDS, "x": Array(), "noise": Values(_bad_noise(5)), "generator": GENERATOR},
    ),
    Case(
        lrnet.sample_configurations,
        lambda: {"fields": _fields(), "n_per_network": 2, "generator": None},
        {"fields": FIELDS, "n_per_network": Int(1), "generator": GENERATOR},
    ),
    Case(
        lrnet.configuration_accuracy,
        lambda: dict(
            zip(("x", "labels"), _images(), strict=True),
            configs=_spins((3, N_W)),
            widths=W,
            chunk=32,
            tile=2000,
            device=None,
        ),
        {
            "configs": Spins(fixed_shape=False),
            "widths": WIDTHS,
            **IMAGES,
            "chunk": Int(1),
            "tile": Int(1),
            "device": Device(),
        },
    ),
    Case(
        lrnet.train_ensemble,
        _train_ensemble,
        {
            "widths": WIDTHS,
            **TRAIN_TEST,
            "n_networks": Int(1),
            "epochs": Int(0),
            "batch_size": Int(1, 8),
            "batches_per_epoch": Int(1, allow_none=True),
            "lr": Real(0.0, 100.0, low_open=True),
            "l2": Real(0.0),
            "init_scale": Real(0.0),
            "eval_every": Int(0),
            "eval_draws": Int(1),
            "seed": Seed(),
            "device": Device(),
            "initial_fields": Values(_bad_fields(none=False)),
            "noise_fn": Values(("abc", 3)),
            "weights": Choice(("binary", "real")),
            "progress": Bool(),
            "backend": Choice((None, "numba", "torch")),
        },
    ),
    # --- evaluate, incremental -----------------------------------------------------------
    Case(
        evaluate.check_configs,
        lambda: {"name": "configs", "value": _spins((3, N_W)), "ndim": 2, "rows": N_W},
        {"value": Values(_bad_configs())},
        unchecked={
            "name": NAME_REASON,
            "ndim": "a shape set by the caller's code",
            "rows": "a chunk size set by the caller's code (memory, not validity)",
        },
        says={"value": "configs"},
    ),
    Case(
        evaluate.check_images,
        lambda: dict(
            zip(("x", "labels"), _images(), strict=True),
            n_in=W[0],
            n_out=N_OUT,
            x_name="x",
            labels_name="labels",
        ),
        IMAGES,
        unchecked={
            "n_in": CALLER_SHAPE,
            "n_out": CALLER_SHAPE,
            "x_name": NAME_REASON,
            "labels_name": NAME_REASON,
        },
    ),
    Case(
        evaluate.check_screening,
        {"threshold": 0.5, "screen_at": (2, 4), "screen_z": 4.0},
        SCREENING,
    ),
    Case(
        evaluate.count_correct,
        lambda: dict(
            zip(("x", "labels"), _images(), strict=True),
            configs=_spins((3, N_W)),
            widths=W,
            threshold=0.0,
            screen_at=(2,),
            screen_z=4.0,
        ),
        {"configs": Spins(fixed_shape=False), "widths": WIDTHS, **IMAGES, **SCREENING},
    ),
    Case(
        incremental.reference_layer,
        lambda: dict(
            zip(("x", "labels"), _images(), strict=True),
            modes=_spins((2, N_W)),
            widths=W,
            block=128,
        ),
        {"modes": Spins(fixed_shape=False), "widths": WIDTHS, **IMAGES, "block": Int(1)},
    ),
    Case(
        incremental.count_correct_incremental,
        lambda: dict(
            configs=_spins((4, N_W), seed=2),
            networks=np.array([0, 1, 0, 1]),
            reference=_reference(),
            threshold=0.0,
            screen_at=(2,),
            screen_z=4.0,
        ),
        {
            "configs": Spins(),
            "networks": IntArray(0, 1, fixed_shape=True),
            "reference": Values(
                (
                    "abc",
                    None,
                    3,
                    dataclasses.replace(_reference(), block=64),
                    dataclasses.replace(_reference(), labels=np.arange(8)),
                )
            ),
            **SCREENING,
        },
    ),
    # --- ensemble --------------------------------------------------------------------------
    Case(
        ensemble.collect_ensemble,
        lambda: dict(
            zip(("x_test", "y_test"), _images(16), strict=True),
            fields=_fields(scale=2.0),
            widths=W,
            out_dir=str(_scratch() / "c"),
            n_configs=4,
            threshold=0.0,
            chunk_size=4,
            screen_at=(),
            screen_z=4.0,
            draw_batch=8,
            max_draws=None,
            seed=0,
            progress=False,
        ),
        {
            "fields": FIELDS,
            "widths": Values((*WIDTHS.invalid, (4, 3, 3))),
            "x_test": Array(fixed_shape=True),
            "y_test": IntArray(0, N_OUT - 1, fixed_shape=True),
            "out_dir": PATH,
            "n_configs": Int(1),
            "threshold": Real(0.0, 1.0),
            "chunk_size": Int(1),
            "screen_at": SCREEN_AT,
            "screen_z": Real(0.0, 10.0),
            "draw_batch": Int(1),
            "max_draws": Int(1, allow_none=True),
            "seed": Int(0),
            "progress": Bool(),
        },
    ),
    Case(
        ensemble.load_ensemble,
        lambda: {"out_dir": _collection(), "max_configs": 3, "networks": True},
        {
            "out_dir": Values((None, 3.5, "", "/nonexistent/collection")),
            "max_configs": Int(1, allow_none=True),
            "networks": Bool(),
        },
    ),
    Case(
        ensemble.ensemble_moments,
        lambda: {"out_dir": _collection()},
        {"out_dir": Values((None, 3.5, "", "/nonexistent/collection"))},
    ),
    Case(
        ensemble.moments_in_memory,
        lambda: {"configs": _spins((5, 6))},
        {"configs": Spins(fixed_shape=False)},
    ),
    # --- cases -----------------------------------------------------------------------------
    Case(
        zh_cases.Case,
        {"widths": W, "over_parametrised": False},
        {"widths": WIDTHS, "over_parametrised": Bool()},
    ),
    Case(zh_cases.parts, {"widths": DEEP}, {"widths": WIDTHS}),
    Case(
        zh_cases.make_ensemble,
        _make_ensemble,
        {
            "case": Choice(tuple(bn.ZH_CASES)),
            "data": DATA,
            "out_dir": PATH,
            "n_configs": Int(1),
            "threshold": Real(0.0, 1.0),
            "n_networks": Int(1),
            "epochs": Int(0),
            "over_n_train": Int(1),
            "over_batch_size": Int(1, 20),
            "over_epochs": Int(0),
            "lr": Real(0.0, 100.0, low_open=True),
            "l2": Real(0.0),
            "seed": Int(0),
            "progress": Bool(),
        },
    ),
    Case(
        zh_cases.cached_ensembles,
        _cached_ensembles,
        {
            "data": DATA,
            "n_configs": Int(1),
            "thresholds": Values(
                (
                    "abc",
                    None,
                    {"wide": 0.5},
                    {"deep_over": 1.5},
                    {"deep_over": math.nan},
                    {"deep_over": "x"},
                )
            ),
            "root": Values((3.5, "")),
            "progress": Bool(),
        },
    ),
    # --- fused -----------------------------------------------------------------------------
    Case(
        fused.standard_normal,
        {"n": 4, "seed": 1, "step": 2, "network": 3},
        {
            "n": Int(0),
            "seed": Int(0, 2**63 - 1),
            "step": Int(0, 2**63 - 1),
            "network": Int(0, 2**63 - 1),
        },
    ),
    Case(
        fused.FusedState,
        lambda: {
            "theta": np.random.default_rng(0).standard_normal((2, N_W)),
            "exp_avg": np.zeros((2, N_W)),
            "exp_avg_sq": np.zeros((2, N_W)),
            "widths": W,
            "step": 0,
        },
        {
            "theta": Array(fixed_shape=True),
            "exp_avg": Array(fixed_shape=True),
            "exp_avg_sq": Array(0.0, fixed_shape=True),
            "widths": Values((*WIDTHS.invalid, (4, 3, 3))),
            "step": Int(0),
        },
    ),
    Case(
        fused.loss_and_grad,
        lambda: dict(
            zip(("x", "labels"), _images(), strict=True),
            fields=_fields(),
            noise=[np.ones((2, 8, 3)), np.ones((2, 8, 2))],
            l2=0.0,
        ),
        {
            "fields": Values(_bad_fields(mixed=False)),
            **IMAGES,
            "noise": Values(_bad_noise()),
            "l2": Real(0.0),
        },
    ),
    Case(
        fused.adam_step,
        lambda: dict(
            zip(("x", "labels"), _images(), strict=True),
            state=_state(),
            lr=0.1,
            l2=0.0,
            seed=0,
            noise=None,
            betas=(0.9, 0.999),
            eps=1e-8,
        ),
        {"state": STATE, **IMAGES, **ADAM, "noise": Values(_bad_noise())},
    ),
    Case(
        fused.train_steps,
        lambda: dict(
            zip(("x", "labels"), _images(), strict=True),
            state=_state(),
            batches=np.arange(8).reshape(2, 4),
            lr=0.1,
            l2=0.0,
            seed=0,
            betas=(0.9, 0.999),
            eps=1e-8,
        ),
        {"state": STATE, **IMAGES, "batches": IntArray(0, 7), **ADAM},
    ),
    # --- symmetry --------------------------------------------------------------------------
    Case(
        symmetry.orbit_means,
        lambda: {"m": _moments(N_W)[0], "widths": W},
        {"m": MOMENT, "widths": WIDTHS},
    ),
    Case(
        symmetry.effective_networks,
        {"networks": np.array([0, 1, 1, 2]), "n_networks": 3},
        {"networks": IntArray(0, 2), "n_networks": Int(1, allow_none=True)},
    ),
    Case(
        symmetry.orbit_scatter,
        lambda: {"m": _moments(N_W)[0], "widths": W, "e_eff": 2.0},
        {"m": MOMENT, "widths": WIDTHS, "e_eff": Real(1.0)},
    ),
    Case(
        symmetry.pair_correlations,
        lambda: dict(zip(("m", "C"), _moments(N_W), strict=True), widths=W, e_eff=2.0),
        {"m": MOMENT, "C": MOMENT, "widths": WIDTHS, "e_eff": Real(1.0)},
    ),
    Case(
        symmetry.symmetrised_moments,
        lambda: dict(zip(("m", "C"), _moments(9), strict=True), widths=DEEP, layer=1),
        {"m": MOMENT, "C": MOMENT, "widths": WIDTHS, "layer": Int(0, 2)},
    ),
    Case(
        symmetry.interior_orbit_values,
        lambda: dict(zip(("m", "C"), _moments(9), strict=True), widths=DEEP, layer=1),
        {"m": MOMENT, "C": MOMENT, "widths": WIDTHS, "layer": Int(1, 1)},
    ),
    Case(
        symmetry.relabel_hidden_units,
        lambda: {"configs": _spins((5, N_W)), "widths": W, "seed": 0},
        {"configs": Array(), "widths": WIDTHS, "seed": Seed()},
    ),
    Case(
        symmetry.network_distances,
        lambda: {"configs": _spins((4, 6)), "networks": np.array([0, 0, 1, 1])},
        {"configs": Spins(), "networks": IntArray(0, fixed_shape=True)},
    ),
    # --- unit_model ------------------------------------------------------------------------
    Case(
        unit_model.hidden_unit_blocks,
        lambda: {"samples": _spins((6, N_W)), "widths": W, "layer": 0, "axis": None},
        {
            "samples": Spins(fixed_shape=False),
            "widths": WIDTHS,
            "layer": Int(0, 1),
            "axis": Choice((None, "row", "column")),
        },
    ),
    Case(
        unit_model.block_coupling_rms,
        lambda: {"blocks": _spins((30, 3, 4)), "size": 3, "n_subsets": 1, "seed": 0},
        {
            "blocks": Spins(fixed_shape=False),
            "size": Int(2, 4),
            "n_subsets": Int(1),
            "seed": Seed(),
        },
    ),
    Case(
        unit_model.fit_unit_model,
        lambda: {"samples": _spins((30, N_W)), "widths": W, "layer": 0},
        {"samples": Spins(fixed_shape=False), "widths": WIDTHS, "layer": Int(0, 1)},
    ),
]

RECORDS = {
    "deepspin.binary_nets.ensemble.CollectionInfo": "returned by collect_ensemble and "
    "make_ensemble (built from a collection's state.json)",
    "deepspin.binary_nets.incremental.ReferenceLayer": "returned by reference_layer; "
    "count_correct_incremental checks that its arrays fit together",
    "deepspin.binary_nets.lrnet.TrainResult": "returned by train_ensemble",
    "deepspin.binary_nets.symmetry.OrbitScatter": "rows returned by orbit_scatter",
    "deepspin.binary_nets.symmetry.PairClass": "rows returned by pair_correlations",
    "deepspin.binary_nets.unit_model.UnitModel": "returned by fit_unit_model",
}
