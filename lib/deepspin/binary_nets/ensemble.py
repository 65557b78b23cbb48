"""Weight ensembles: binary configurations drawn from trained LR-net fields, streamed to disk.

A collection draws configurations ``w ~ Π Bernoulli(sigmoid θ)`` from the fields of a
trained ensemble (networks taken in turn), scores each on the test set in a shuffled
order, abandons it as soon as it cannot reach the threshold or falls far below it at the
screening points (:func:`deepspin.binary_nets.evaluate.count_correct`), and keeps those
whose accuracy on the whole test set reaches the threshold. A draw is scored by
correcting the first layer of its network's most likely configuration
(:mod:`deepspin.binary_nets.incremental`), with the counts of a direct evaluation.
Accepted configurations are written in chunks:

``chunk_00000.npz``  ``packed`` (bit-packed ``σ > 0``, ``np.packbits`` along the weights),
                     ``accuracy`` (float64, full test set)
``state.json``       parameters, chunks written, draws, accepted, and the moment sums
``moments.npz``      running sums ``Σ σ`` and ``Σ σσᵀ`` (float64) over accepted configurations

Chunk k is drawn from its own generator, seeded by ``(seed, k)``, so a collection that
was killed resumes from its last complete chunk and produces exactly what an
uninterrupted run would have. Every file is written atomically.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from deepspin.binary_nets.evaluate import check_configs, check_images, check_screening
from deepspin.binary_nets.incremental import count_correct_incremental, reference_layer
from deepspin.binary_nets.lrnet import check_fields, check_widths, flatten_weights, n_weights
from deepspin.checks import check_bool, check_int, check_path, check_real
from deepspin.ising import moments
from deepspin.results import atomic_write_text, to_jsonable

__all__ = [
    "CollectionInfo",
    "collect_ensemble",
    "ensemble_moments",
    "load_ensemble",
    "moments_in_memory",
]


@dataclass
class CollectionInfo:
    """Summary of a collection: where it is and what it cost."""

    path: Path
    n_configs: int
    draws: int
    acceptance: float
    chunks: int
    state: dict

    @classmethod
    def from_state(cls, path: Path, state: dict) -> CollectionInfo:
        """The summary of the collection in ``path`` whose ``state.json`` holds ``state``."""
        return cls(
            path=path,
            n_configs=state["accepted"],
            draws=state["draws"],
            acceptance=state["accepted"] / max(state["draws"], 1),
            chunks=state["chunks"],
            state=state,
        )


def _fields_digest(flat: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(flat, dtype=np.float32).tobytes()).hexdigest()[:16]


def _save_npz(path: Path, **arrays) -> None:
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    with open(tmp, "wb") as fh:
        np.savez(fh, **arrays)
    os.replace(tmp, path)


def _draw_chunk(probs, reference, threshold, screen, target, batch, gen, max_draws):
    """Draw until ``target`` configurations pass; returns (configs, accuracies, networks,
    draws, best), ``networks`` being the index of the network each configuration was drawn from.

    ``reference`` holds the first layer of each network's mode on the test images in the
    collection's (shuffled) order, and ``screen`` the screening points and z of
    :func:`deepspin.binary_nets.evaluate.count_correct`. ``draws`` counts the draws up to
    and including the one that completed the chunk (the rest of the last batch is
    discarded), so that accepted/draws estimates the acceptance without bias; ``best`` is
    the best test accuracy seen (a running accuracy for abandoned configurations).
    """
    n_networks, n_test = probs.shape[0], reference.n_images
    kept, accs, nets, draws, best, offset, accepted = [], [], [], 0, 0.0, 0, 0
    while accepted < target:
        if draws >= max_draws:
            raise RuntimeError(
                f"threshold {threshold:g} reached by too few draws: {accepted} of {target} "
                f"after {draws} draws (best test accuracy seen {best:.4f}); "
                "lower the threshold or train longer"
            )
        rows = torch.arange(offset, offset + batch) % n_networks
        offset += batch
        u = torch.rand((batch, probs.shape[1]), generator=gen, dtype=probs.dtype)
        configs = torch.where(u < probs[rows], 1, -1).to(torch.int8).numpy()
        correct, seen = count_correct_incremental(configs, rows.numpy(), reference, threshold,
                                                  *screen)  # fmt: skip
        best = max(best, float((correct / seen).max()))
        index = np.flatnonzero((seen == n_test) & (correct >= threshold * n_test - 1e-9))
        need = target - accepted
        if index.size >= need:
            index = index[:need]
            draws += int(index[-1]) + 1
        else:
            draws += batch
        kept.append(configs[index])
        accs.append(correct[index] / n_test)
        nets.append(rows.numpy()[index].astype(np.int32))
        accepted += index.size
    return np.concatenate(kept), np.concatenate(accs), np.concatenate(nets), draws, best


def collect_ensemble(
    fields,
    widths,
    x_test,
    y_test,
    out_dir,
    n_configs,
    threshold,
    chunk_size=10_000,
    screen_at=(1000, 3000),
    screen_z=4.0,
    draw_batch=2048,
    max_draws=None,
    seed=0,
    progress=False,
):
    """Collect ``n_configs`` binary configurations with test accuracy ≥ ``threshold``.

    Parameters
    ----------
    fields : list of tensors ``(E, out, in)``
        Trained fields θ (from :func:`deepspin.binary_nets.train_ensemble`), finite, of
        the shapes ``widths`` gives.
    widths : sequence of int
        ``(n_in, hidden..., n_out)``, each in [1, 100000].
    x_test, y_test : arrays
        Test inputs ``(T, n_in)`` of finite reals (T ≥ 1) and their labels, in
        ``[0, n_out)``.
    out_dir : str or path
        Collection directory (created; an existing collection with the same parameters
        and fields is resumed, one with other parameters is refused).
    n_configs : int, ≥ 1
        Configurations to accept.
    threshold : float
        Minimal test accuracy, in [0, 1].
    chunk_size : int, ≥ 1
        Configurations per chunk file (the unit of resumption).
    screen_at : sequence of int, each ≥ 1
        Numbers of test images (those not below T are ignored) after which a draw is
        abandoned when its running accuracy is more than ``screen_z`` binomial standard
        deviations below the threshold. The test images are scored in an order drawn
        once from ``seed`` (a random order matters: the first MNIST test images are
        harder than the rest). At z = 4 a configuration at the threshold is lost with
        probability below 10⁻⁴ per point.
        Whatever the screening, a draw is abandoned as soon as the remaining images
        cannot lift it to the threshold, and every accepted configuration has been
        scored on the whole test set.
    screen_z : float
        In [0, 10]; ``screen_at=()`` disables the statistical screening.
    draw_batch : int, ≥ 1
        Configurations drawn at a time.
    max_draws : int ≥ 1, optional
        Draws allowed per chunk before giving up (default ``50·chunk_size + 10⁵``).
    seed : int, ≥ 0
        Base seed: chunk k uses ``(seed, k)``.
    progress : bool

    Returns
    -------
    CollectionInfo
    """
    widths = check_widths(widths)
    try:
        fields = check_fields(fields)
    except ValueError as err:
        raise ValueError(f"fields do not match widths {widths}: {err}") from None
    if [tuple(f.shape[1:]) for f in fields] != [(b, a) for a, b in pairwise(widths)]:
        got = [tuple(f.shape) for f in fields]
        raise ValueError(f"fields do not match widths {widths}: got shapes {got}")
    x_test, y_test = check_images(x_test, y_test, widths[0], widths[-1], "x_test", "y_test")
    x_test = x_test.astype(np.float32)
    out = check_path("out_dir", out_dir)
    n_configs = check_int("n_configs", n_configs, 1)
    threshold = check_real("threshold", threshold, 0.0, 1.0)
    chunk_size = check_int("chunk_size", chunk_size, 1)
    draw_batch = check_int("draw_batch", draw_batch, 1)
    seed = check_int("seed", seed, 0)
    _, screen_at, _ = check_screening(threshold, screen_at, 0.0)
    screen_at = tuple(n for n in screen_at if n < x_test.shape[0])
    screen_z = check_real("screen_z", screen_z, 0.0, 10.0)
    if max_draws is None:
        max_draws = 50 * chunk_size + 100_000
    max_draws = check_int("max_draws", max_draws, 1)
    progress = check_bool("progress", progress)
    flat = flatten_weights([f.detach().cpu() for f in fields]).to(torch.float64)
    probs = torch.sigmoid(flat)

    out.mkdir(parents=True, exist_ok=True)
    params = {
        "widths": list(widths), "n_configs": n_configs, "threshold": threshold,
        "chunk_size": chunk_size, "screen_at": list(screen_at), "screen_z": screen_z,
        "draw_batch": draw_batch,
        "seed": seed, "fields": _fields_digest(flat.numpy()), "n_networks": int(flat.shape[0]),
    }  # fmt: skip
    state_path = out / "state.json"
    n = flat.shape[1]
    if state_path.exists():
        state = json.loads(state_path.read_text())
        if state["params"] != params:
            raise ValueError(
                f"out_dir {out} holds a collection with other parameters or fields; "
                "choose another directory"
            )
        sums = np.load(out / "moments.npz")
        s1, s2 = sums["s1"].copy(), sums["s2"].copy()
    else:
        state = {"params": params, "chunks": 0, "accepted": 0, "draws": 0}
        s1, s2 = np.zeros(n), np.zeros((n, n))

    order = np.random.default_rng([seed, 2**31]).permutation(x_test.shape[0])
    # a draw differs from its network's most likely configuration in a few weights: it is
    # scored by correcting that configuration's first layer, computed once here
    modes = np.where(flat.numpy() >= 0, 1, -1).astype(np.int8)
    reference = reference_layer(modes, widths, x_test[order], y_test[order])
    n_chunks = -(-n_configs // chunk_size)
    bar = tqdm(total=n_configs, initial=state["accepted"], desc="collect", disable=not progress)
    for k in range(state["chunks"], n_chunks):
        target = min(chunk_size, n_configs - k * chunk_size)
        gen = torch.Generator().manual_seed(
            int(np.random.SeedSequence([seed, k]).generate_state(1)[0])
        )
        configs, accs, networks, draws, _ = _draw_chunk(
            probs, reference, threshold, (screen_at, screen_z), target, draw_batch, gen,
            max_draws,
        )  # fmt: skip
        sigma = torch.as_tensor(configs, dtype=torch.float32)
        # ±1 products summed over ≤ 2^24 rows are exact in float32
        s1 += sigma.sum(dim=0).double().numpy()
        s2 += (sigma.T @ sigma).double().numpy()
        _save_npz(
            out / f"chunk_{k:05d}.npz",
            packed=np.packbits(configs > 0, axis=1),
            accuracy=accs,
            network=networks,
        )
        _save_npz(out / "moments.npz", s1=s1, s2=s2)
        state.update(
            chunks=k + 1, accepted=state["accepted"] + target, draws=state["draws"] + draws
        )
        atomic_write_text(state_path, json.dumps(to_jsonable(state), indent=1))
        bar.update(target)
    bar.close()
    return CollectionInfo.from_state(out, state)


def _read_state(out_dir) -> tuple[Path, dict]:
    """The directory of a collection and its ``state.json``, else ``ValueError``."""
    out = check_path("out_dir", out_dir)
    try:
        state = json.loads((out / "state.json").read_text())
    except (OSError, json.JSONDecodeError):
        raise ValueError(
            f"out_dir {str(out)!r} holds no collection (no readable state.json); "
            "collect_ensemble writes one"
        ) from None
    return out, state


def load_ensemble(out_dir, max_configs=None, networks=False):
    """Read a collection: ``(configs int8 (n, n_weights) of ±1, accuracies (n,))``.

    With ``networks=True`` a third array ``(n,)`` gives the index (in the trained ensemble)
    of the network each configuration was drawn from; collections written before the index
    was stored raise ``ValueError``.

    Parameters
    ----------
    out_dir : str or path
        A collection directory (:func:`collect_ensemble`).
    max_configs : int ≥ 1, optional
        Read at most this many configurations (default: all).
    networks : bool
    """
    out, state = _read_state(out_dir)
    if max_configs is not None:
        max_configs = check_int("max_configs", max_configs, 1)
    networks = check_bool("networks", networks)
    n = n_weights(state["params"]["widths"])
    configs, accs, nets, total = [], [], [], 0
    for k in range(state["chunks"]):
        with np.load(out / f"chunk_{k:05d}.npz") as chunk:
            bits = np.unpackbits(chunk["packed"], axis=1, count=n)
            configs.append(2 * bits.astype(np.int8) - 1)
            accs.append(chunk["accuracy"])
            if networks:
                if "network" not in chunk:
                    raise ValueError(f"the collection in {out} does not record networks")
                nets.append(chunk["network"])
        total += len(accs[-1])
        if max_configs is not None and total >= max_configs:
            break
    arrays = [np.concatenate(configs), np.concatenate(accs)]
    if networks:
        arrays.append(np.concatenate(nets))
    return tuple(a[:max_configs] for a in arrays)


def ensemble_moments(out_dir):
    """Magnetisations ``m_i = ⟨σ_i⟩`` and raw second moments ``C_ij = ⟨σ_i σ_j⟩`` (float64).

    From the sums accumulated while streaming; the diagonal of C is 1 (σ_i² = 1), and the
    Ising fits ignore it.

    Parameters
    ----------
    out_dir : str or path
        A collection directory (:func:`collect_ensemble`).
    """
    out, state = _read_state(out_dir)
    sums = np.load(out / "moments.npz")
    count = state["accepted"]
    return sums["s1"] / count, sums["s2"] / count


def moments_in_memory(configs):
    """``m`` and ``C`` of an array of ±1 configurations, computed directly (the reference):
    :func:`deepspin.ising.moments`, which sums in blocks, so a paper-size ensemble
    (2×10⁶ × 675) needs no float copy of the whole array.

    Parameters
    ----------
    configs : array ``(K, N)`` of ±1, K ≥ 1
    """
    configs = check_configs("configs", configs, ndim=2)
    if configs.shape[0] == 0:
        raise ValueError("configs must hold at least one configuration, got 0 rows")
    return moments(configs)
