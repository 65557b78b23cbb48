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
from deepspin.binary_nets.evaluate import check_images
from deepspin.binary_nets.lrnet import check_widths, layer_slices, train_ensemble
from deepspin.checks import check_bool, check_choice, check_int, check_path, check_real
from deepspin.data import data_dir
from deepspin.results import atomic_write_text

__all__ = ["ZH_CASES", "Case", "cached_ensembles", "make_ensemble", "parts"]


@dataclass(frozen=True)
class Case:
    """An architecture and a training regime.

    Attributes
    ----------
    widths : sequence of int
        ``(n_in, hidden..., n_out)``, each in [1, 100000] (kept as a tuple).
    over_parametrised : bool
    """

    widths: tuple
    over_parametrised: bool

    def __post_init__(self):
        object.__setattr__(self, "widths", check_widths(self.widths))
        check_bool("over_parametrised", self.over_parametrised)


ZH_CASES = {
    "deep_under": Case((20, 15, 15, 10), False),
    "shallow_under": Case((20, 10), False),
    "deep_over": Case((20, 15, 15, 10), True),
}


def parts(widths) -> dict[str, slice]:
    """The parts fitted separately: ``FULL`` and, for a network with two or more layers,
    ``LB`` (first layer), ``ITR`` (the layers in between) and ``RB`` (last layer).

    ``widths`` is a sequence ``(n_in, hidden..., n_out)`` of integers in [1, 100000]."""
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
        PCA-MNIST (``deepspin.data.pca_mnist(20)``): ``train``, ``test`` (finite, 20
        columns), ``train_labels``, ``test_labels`` (in [0, 10)).
    out_dir : str or path
        Collection directory (see :func:`deepspin.binary_nets.collect_ensemble`).
    n_configs : int, ≥ 1
    threshold : float, in [0, 1]
        Minimal test accuracy of a collected configuration.
    n_networks, epochs, lr, l2 :
        Training (under-parametrised: epochs of 300 batches of 200, so at least 200
        training images): ``n_networks`` ≥ 1, ``epochs`` ≥ 0, ``lr`` in (0, 100], ``l2`` ≥ 0.
    over_n_train, over_batch_size, over_epochs :
        Over-parametrised training: the first ``over_n_train`` ≥ 1 training images, in
        batches of ``over_batch_size`` in [1, min(over_n_train, n_train)], for
        ``over_epochs`` ≥ 0 epochs.
    seed : int, ≥ 0
    progress : bool

    Returns
    -------
    CollectionInfo
    """
    case = check_choice("case", case, tuple(ZH_CASES))
    spec = ZH_CASES[case]
    data = _check_data(data, spec.widths)
    out = check_path("out_dir", out_dir)
    n_configs = check_int("n_configs", n_configs, 1)
    threshold = check_real("threshold", threshold, 0.0, 1.0)
    n_networks = check_int("n_networks", n_networks, 1)
    epochs = check_int("epochs", epochs, 0)
    over_epochs = check_int("over_epochs", over_epochs, 0)
    lr = check_real("lr", lr, 0.0, 100.0, low_open=True)
    l2 = check_real("l2", l2, 0.0)
    seed = check_int("seed", seed, 0)
    progress = check_bool("progress", progress)
    over_n_train = check_int("over_n_train", over_n_train, 1)
    # checked here, not as train_ensemble's batch_size (whose range [1, n_train] named
    # the wrong parameter; over_n_train = 0 gave "batch_size must be in [1, 0]")
    usable = min(over_n_train, len(data.train))
    over_batch_size = check_int("over_batch_size", over_batch_size, 1, usable)
    if not spec.over_parametrised and len(data.train) < _UNDER_BATCH:
        raise ValueError(
            f"data must hold at least {_UNDER_BATCH} training images for case {case!r} "
            f"(batches of {_UNDER_BATCH}), got {len(data.train)}"
        )
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
        schedule = dict(epochs=epochs, batch_size=_UNDER_BATCH, batches_per_epoch=300)
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


_UNDER_BATCH = 200  # minibatch of the under-parametrised schedule


def _check_data(data, widths):
    """``data`` with ``train``, ``train_labels``, ``test``, ``test_labels`` that fit ``widths``
    (finite images of ``widths[0]`` components, labels in ``[0, widths[-1])``)."""
    names = ("train", "train_labels", "test", "test_labels")
    if not all(hasattr(data, name) for name in names):
        raise ValueError(
            f"data must have train, train_labels, test and test_labels (deepspin.data."
            f"pca_mnist(20)), got {data!r:.80}"
        )
    for split in ("train", "test"):
        check_images(getattr(data, split), getattr(data, f"{split}_labels"), widths[0],
                     widths[-1], f"data.{split}", f"data.{split}_labels")  # fmt: skip
    return data


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
        As for :func:`make_ensemble`.
    n_configs : int, ≥ 1
    thresholds : dict
        ``{case: minimal test accuracy}`` for the cases wanted (cases of ``ZH_CASES``,
        accuracies in [0, 1]).
    root : str or path, optional
    progress : bool
    **training :
        Passed to :func:`make_ensemble` (``n_networks``, ``epochs``, ``over_epochs``, ``seed``…).

    Returns
    -------
    dict
        ``{case: CollectionInfo}``.
    """
    n_configs = check_int("n_configs", n_configs, 1)
    if not isinstance(thresholds, dict):
        raise ValueError(f"thresholds must be a dict {{case: accuracy}}, got {thresholds!r:.80}")
    for case, threshold in thresholds.items():
        check_choice("thresholds' case", case, tuple(ZH_CASES))
        check_real(f"thresholds[{case!r}]", threshold, 0.0, 1.0)
        _check_data(data, ZH_CASES[case].widths)
    progress = check_bool("progress", progress)
    root = check_path("root", root) if root is not None else data_dir() / "zh_ensembles"
    out = {}
    for case, threshold in thresholds.items():
        key = json.dumps(dict(n_configs=n_configs, threshold=threshold, **training), sort_keys=True)
        digest = hashlib.sha256(key.encode()).hexdigest()[:12]
        out[case] = make_ensemble(case, data, root / f"{case}-{digest}", n_configs, threshold,
                                  progress=progress, **training)  # fmt: skip
    return out
