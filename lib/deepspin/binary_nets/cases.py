"""The three ensembles of Zou & Huang: deep and shallow, under- and over-parametrised.

``make_ensemble`` trains an ensemble of LR-nets for one case and collects its binary
configurations above a threshold, the pipeline of chapter ``zh_training`` in one call,
for the chapters that need a (small) ensemble of their own. A finished collection made
with the same parameters is reused without training again (``recipe.json``).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from deepspin.binary_nets.ensemble import CollectionInfo, collect_ensemble
from deepspin.binary_nets.lrnet import layer_slices, train_ensemble
from deepspin.checks import check_choice, check_int
from deepspin.data import data_dir
from deepspin.results import atomic_write_text

__all__ = ["ZH_CASES", "Case", "cached_ensembles", "make_ensemble", "parts"]


@dataclass(frozen=True)
class Case:
    """An architecture and a training regime."""

    widths: tuple
    over_parametrised: bool


ZH_CASES = {
    "deep_under": Case((20, 15, 15, 10), False),
    "shallow_under": Case((20, 10), False),
    "deep_over": Case((20, 15, 15, 10), True),
}


def parts(widths) -> dict[str, slice]:
    """The parts fitted separately: ``FULL`` and, for a network with two or more layers,
    ``LB`` (first layer), ``ITR`` (the layers in between) and ``RB`` (last layer)."""
    slices = layer_slices(widths)
    out = {"FULL": slice(0, slices[-1].stop)}
    if len(slices) >= 2:
        out["LB"] = slices[0]
        if len(slices) >= 3:
            out["ITR"] = slice(slices[1].start, slices[-2].stop)
        out["RB"] = slices[-1]
    return out


def make_ensemble(
    case,
    data,
    out_dir,
    n_configs,
    threshold,
    n_networks=8,
    epochs=8,
    over_n_train=500,
    over_batch_size=100,
    over_epochs=300,
    lr=0.3,
    l2=1e-5,
    seed=0,
    progress=False,
):
    """Train the networks of one case and collect ``n_configs`` configurations.

    Parameters
    ----------
    case : {"deep_under", "shallow_under", "deep_over"}
    data : deepspin.data.MnistPCA
        PCA-MNIST (``deepspin.data.pca_mnist(20)``).
    out_dir : path
        Collection directory (see :func:`deepspin.binary_nets.collect_ensemble`).
    n_configs : int
    threshold : float
        Minimal test accuracy of a collected configuration.
    n_networks, epochs, lr, l2 :
        Training (under-parametrised: epochs of 300 batches of 200).
    over_n_train, over_batch_size, over_epochs :
        Over-parametrised training: the first ``over_n_train`` training images.
    seed : int

    Returns
    -------
    CollectionInfo
    """
    case = check_choice("case", case, tuple(ZH_CASES))
    seed = check_int("seed", seed, 0)
    over_n_train = check_int("over_n_train", over_n_train, 1)
    # checked here, not as train_ensemble's batch_size (whose range [1, n_train] named
    # the wrong parameter; over_n_train = 0 gave "batch_size must be in [1, 0]")
    usable = min(over_n_train, len(data.train))
    over_batch_size = check_int("over_batch_size", over_batch_size, 1, usable)
    spec = ZH_CASES[case]
    out = Path(out_dir)
    recipe = dict(
        case=case, n_configs=n_configs, threshold=threshold, n_networks=n_networks,
        epochs=epochs, over_n_train=over_n_train, over_batch_size=over_batch_size,
        over_epochs=over_epochs, lr=lr, l2=l2, seed=seed,
    )  # fmt: skip
    done = _finished(out, recipe)
    if done is not None:
        return done
    if spec.over_parametrised:
        train = (data.train[:over_n_train], data.train_labels[:over_n_train])
        schedule = dict(epochs=over_epochs, batch_size=over_batch_size)
    else:
        train = (data.train, data.train_labels)
        schedule = dict(epochs=epochs, batch_size=200, batches_per_epoch=300)
    run = train_ensemble(
        spec.widths, *train, data.test, data.test_labels, n_networks=n_networks, lr=lr,
        l2=l2, eval_every=0, seed=seed, progress=progress, **schedule,
    )  # fmt: skip
    info = collect_ensemble(
        run.fields, spec.widths, data.test, data.test_labels, out, n_configs, threshold,
        chunk_size=min(n_configs, 50_000), seed=seed, progress=progress,
    )  # fmt: skip
    atomic_write_text(out / "recipe.json", json.dumps(recipe, indent=1))
    return info


def _finished(out: Path, recipe: dict):
    """The collection in ``out`` if it was completed by ``make_ensemble`` with ``recipe``."""
    try:
        if json.loads((out / "recipe.json").read_text()) != recipe:
            return None
        state = json.loads((out / "state.json").read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return None
    if state["accepted"] < recipe["n_configs"]:
        return None
    return CollectionInfo.from_state(out, state)


def cached_ensembles(data, n_configs, thresholds, root=None, progress=False, **training):
    """``make_ensemble`` for each case of ``thresholds``, kept in a cache that chapters share.

    Each collection lives in ``root/<case>-<digest of its parameters>`` (default root:
    ``data_dir()/"zh_ensembles"``), so a chapter run with the same parameters as another
    reuses its ensembles, and runs with other parameters never touch them.

    Parameters
    ----------
    data : deepspin.data.MnistPCA
    n_configs : int
    thresholds : dict
        ``{case: minimal test accuracy}`` for the cases wanted.
    root : path, optional
    progress : bool
    **training :
        Passed to :func:`make_ensemble` (``n_networks``, ``epochs``, ``over_epochs``, ``seed``…).

    Returns
    -------
    dict
        ``{case: CollectionInfo}``.
    """
    root = Path(root) if root else data_dir() / "zh_ensembles"
    out = {}
    for case, threshold in thresholds.items():
        key = json.dumps(dict(n_configs=n_configs, threshold=threshold, **training), sort_keys=True)
        digest = hashlib.sha256(key.encode()).hexdigest()[:12]
        out[case] = make_ensemble(case, data, root / f"{case}-{digest}", n_configs, threshold,
                                  progress=progress, **training)  # fmt: skip
    return out
