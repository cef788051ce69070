"""The data loaders: the genuine files, corrupt files, finding files, and verified downloads."""

from __future__ import annotations

import functools
import gzip
import hashlib
import http.server
import os
import shutil
import struct
import threading
from pathlib import Path

import numpy as np
import pytest

from tinygrad_edu.data import (DataError, load_fashion_mnist, load_mnist, random_labels, read_idx, render_digit,
                               shuffle_pixels)
from tinygrad_edu.data.datasets import FASHION_MNIST, MNIST

DATA = Path(os.environ.get("TINYGRAD_EDU_DATA", "/nonexistent"))
needs_data = pytest.mark.skipif(not (DATA / "mnist" / "train-images-idx3-ubyte.gz").exists(),
                                reason="set TINYGRAD_EDU_DATA to a folder holding mnist/ and fashion-mnist/")


@pytest.fixture(autouse=True)
def private_cache(tmp_path, monkeypatch):
    """Every test gets its own empty cache folder, so nothing touches ~/.cache."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))


def idx_bytes(array: np.ndarray, type_code: int = 0x08) -> bytes:
    """Encode an array in the IDX format (the inverse of read_idx), for making test files."""
    header = bytes([0, 0, type_code, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.astype(array.dtype.newbyteorder(">")).tobytes()


# ---------------------------------------------------------------------------- the genuine files
@needs_data
@pytest.mark.parametrize("spec", [MNIST, FASHION_MNIST], ids=["mnist", "fashion-mnist"])
def test_genuine_files_match_their_published_sha256(spec):
    for name, expected in spec.sha256.items():
        assert hashlib.sha256((DATA / spec.folder / name).read_bytes()).hexdigest() == expected


@needs_data
@pytest.mark.parametrize("load", [load_mnist, load_fashion_mnist])
@pytest.mark.parametrize("train, n", [(True, 60_000), (False, 10_000)])
def test_shapes_dtypes_range_and_class_counts(load, train, n):
    X, y = load(train=train)
    assert X.shape == (n, 784) and X.dtype == np.float32
    assert y.shape == (n,) and y.dtype == np.int64
    assert X.min() == 0.0 and X.max() == 1.0
    counts = np.bincount(y, minlength=10)
    assert counts.sum() == n and len(counts) == 10
    if load is load_fashion_mnist:
        assert set(counts) == {n // 10}  # Fashion-MNIST is exactly balanced
    else:
        assert counts.min() > 0.08 * n and counts.max() < 0.12 * n
        expected = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949] if train else \
                   [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
        assert counts.tolist() == expected  # the well-known MNIST class sizes


@needs_data
def test_raw_and_standardized_options():
    images, labels = load_mnist(train=False, raw=True)
    assert images.shape == (10_000, 28, 28) and images.dtype == np.uint8
    X_train, _ = load_mnist(standardize=True)
    assert abs(X_train.mean()) < 1e-3 and abs(X_train.std() - 1) < 1e-3
    X_test, _ = load_mnist(train=False, standardize=True)
    mean, std = (images_all := load_mnist(raw=True)[0] / 255.0).mean(), images_all.std()
    np.testing.assert_allclose(X_test, (images.reshape(-1, 784) / 255.0 - mean) / std, atol=1e-5)


def test_pixel_statistics_are_the_float64_formulas_without_a_float64_copy():
    """More images than one block, so that every block counts; values as the float64 formulas give."""
    import tracemalloc
    from tinygrad_edu.data.datasets import _pixel_statistics
    rng = np.random.default_rng(0)
    images = np.minimum(rng.exponential(60, size=(5_000, 28, 28)), 255).astype(np.uint8)
    images[-1] = 255  # the last, partial block must count too
    tracemalloc.start()
    mean, std = _pixel_statistics(images)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    scaled = images.astype(np.float64) / 255
    assert mean.dtype == std.dtype == np.float32
    np.testing.assert_allclose([mean, std], [scaled.mean(), scaled.std()], rtol=np.finfo(np.float32).eps)
    assert peak < scaled.nbytes / 2  # a float64 copy of the images is never made


@needs_data
def test_second_load_comes_from_the_decoded_cache(tmp_path):
    load_mnist(train=False)
    cached = list((tmp_path / "cache" / "tinygrad-edu" / "decoded").glob("mnist-*.npy"))
    assert len(cached) == 2  # test images and test labels
    X1, y1 = load_mnist(train=False)
    X2, y2 = load_mnist(root=DATA, train=False)
    np.testing.assert_array_equal(X1, X2)


# ---------------------------------------------------------------------------- corrupt files
@pytest.fixture
def images_file(tmp_path) -> Path:
    path = tmp_path / "images.gz"
    path.write_bytes(gzip.compress(idx_bytes(np.arange(2 * 28 * 28, dtype=np.uint8).reshape(2, 28, 28))))
    return path


def test_read_idx_reads_raw_and_gzip_files(tmp_path, images_file):
    array = np.arange(24, dtype=np.int32).reshape(2, 3, 4) - 5
    raw = tmp_path / "raw.idx"
    raw.write_bytes(idx_bytes(array, type_code=0x0C))
    np.testing.assert_array_equal(read_idx(raw), array)
    assert read_idx(images_file).shape == (2, 28, 28)


@pytest.mark.parametrize("corrupt, message", [
    (lambda raw: raw[:-10], "truncated"),
    (lambda raw: raw[:6], "truncated"),
    (lambda raw: b"\x01\x02" + raw[2:], "wrong magic number"),
    (lambda raw: raw[:2] + b"\x07" + raw[3:], "unknown element type"),
    (lambda raw: raw + b"extra", "too long"),
])
def test_corrupt_idx_files_give_named_errors(tmp_path, images_file, corrupt, message):
    bad = tmp_path / "bad.gz"
    bad.write_bytes(gzip.compress(corrupt(gzip.decompress(images_file.read_bytes()))))
    with pytest.raises(DataError, match=message) as err:
        read_idx(bad)
    assert str(bad) in str(err.value)


def test_bad_gzip_stream(tmp_path, images_file):
    bad = tmp_path / "bad.gz"
    bad.write_bytes(images_file.read_bytes()[:-30])
    with pytest.raises(DataError, match=f"{bad}.*bad gzip stream"):
        read_idx(bad)


def test_images_labels_count_mismatch_is_named(tmp_path, monkeypatch):
    """A data set whose image and label files disagree in length is refused, naming both files."""
    folder = tmp_path / "root" / "mnist"
    folder.mkdir(parents=True)
    files = {
        "t10k-images-idx3-ubyte.gz": gzip.compress(idx_bytes(np.zeros((3, 28, 28), dtype=np.uint8))),
        "t10k-labels-idx1-ubyte.gz": gzip.compress(idx_bytes(np.zeros(2, dtype=np.uint8))),
    }
    for name, content in files.items():
        (folder / name).write_bytes(content)
    fake = {name: hashlib.sha256(content).hexdigest() for name, content in files.items()}
    monkeypatch.setattr("tinygrad_edu.data.datasets.MNIST", MNIST.__class__(
        folder="mnist", sha256={**MNIST.sha256, **fake}, mirrors=()))
    with pytest.raises(DataError, match="holds 3 images but .*t10k-labels.* holds 2 labels"):
        load_mnist(root=tmp_path / "root", train=False)


# ---------------------------------------------------------------------------- finding the files
def test_nothing_found_lists_every_place_and_how_to_fix_it(tmp_path, monkeypatch):
    monkeypatch.setenv("TINYGRAD_EDU_DATA", str(tmp_path / "env"))
    with pytest.raises(DataError) as err:
        load_mnist(root=tmp_path / "explicit")
    message = str(err.value)
    for place in ("explicit", "env", "cache"):
        assert str(tmp_path / place) in message
    assert "download=True" in message and "TINYGRAD_EDU_DATA" in message


def test_a_file_with_the_wrong_checksum_is_refused(tmp_path):
    folder = tmp_path / "mnist"
    folder.mkdir()
    for name in MNIST.sha256:
        (folder / name).write_bytes(b"not the real file")
    with pytest.raises(DataError, match="SHA-256"):
        load_mnist(root=tmp_path, train=False)


@needs_data
def test_the_environment_variable_is_used_when_no_root_is_given(monkeypatch, tmp_path):
    monkeypatch.setenv("TINYGRAD_EDU_DATA", str(DATA))
    assert len(load_mnist(train=False)[1]) == 10_000
    monkeypatch.delenv("TINYGRAD_EDU_DATA")
    with pytest.raises(DataError):
        load_mnist(train=False)


# ---------------------------------------------------------------------------- downloads
class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture
def serve(tmp_path):
    """Start HTTP servers on 127.0.0.1, each serving a folder; yield a function folder -> base URL."""
    servers = []

    def start(folder: Path) -> str:
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(QuietHandler, directory=str(folder)))
        server.timeout = 5
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}/"

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


@needs_data
def test_download_from_a_good_mirror(tmp_path, serve, monkeypatch):
    monkeypatch.delenv("TINYGRAD_EDU_DATA", raising=False)
    mirror = serve(DATA / "mnist")
    X, y = load_mnist(train=False, download=True, mirrors=[mirror])
    assert X.shape == (10_000, 784)
    stored = tmp_path / "cache" / "tinygrad-edu" / "mnist"
    assert sorted(p.name for p in stored.iterdir()) == ["t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"]


def damaged_test_files(folder: Path, damage) -> Path:
    """A folder holding MNIST's test-set files, each passed through ``damage(bytes) -> bytes``."""
    folder.mkdir()
    for name in ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"):
        folder.joinpath(name).write_bytes(damage((DATA / "mnist" / name).read_bytes()))
    return folder


def flip_middle_byte(data: bytes) -> bytes:
    damaged = bytearray(data)
    damaged[len(damaged) // 2] ^= 0xFF
    return bytes(damaged)


@needs_data
def test_a_corrupt_mirror_is_rejected_and_the_next_one_tried(tmp_path, serve, monkeypatch):
    monkeypatch.delenv("TINYGRAD_EDU_DATA", raising=False)
    corrupt = damaged_test_files(tmp_path / "corrupt", flip_middle_byte)
    missing = tmp_path / "empty"
    missing.mkdir()
    good = serve(DATA / "mnist")
    X, _ = load_mnist(train=False, download=True, mirrors=[serve(missing), serve(corrupt), good])
    assert X.shape == (10_000, 784)


@needs_data
def test_a_failed_download_leaves_no_file_behind(tmp_path, serve, monkeypatch):
    monkeypatch.delenv("TINYGRAD_EDU_DATA", raising=False)
    corrupt = damaged_test_files(tmp_path / "corrupt", lambda data: data[:-100])
    with pytest.raises(DataError, match="could not download.*SHA-256"):
        load_mnist(train=False, download=True, mirrors=[serve(corrupt)])
    stored = tmp_path / "cache" / "tinygrad-edu" / "mnist"
    assert list(stored.iterdir()) == []


# ---------------------------------------------------------------------------- views and corruption
def test_render_digit_matrix_and_shade():
    image = np.zeros((28, 28), dtype=np.float32)
    image[10, 5] = 1.0
    image[3, 3] = 0.5
    matrix = render_digit(image).splitlines()
    assert len(matrix) == 28 and matrix[10].split()[5] == "1.0" and matrix[3].split()[3] == "0.5"
    shade = render_digit(image.ravel(), style="shade").splitlines()
    assert len(shade) == 28 and shade[10][5] == "@" and shade[0] == " " * 28
    assert render_digit((image * 255).astype(np.uint8)) == render_digit(image)
    with pytest.raises(ValueError, match="784"):
        render_digit(np.zeros(10))


def test_random_labels_replace_the_asked_fraction():
    y = np.repeat(np.arange(10), 1000)
    assert (random_labels(y, fraction=0.0, seed=0) == y).all()
    noisy = random_labels(y, fraction=0.5, seed=0)
    changed = (noisy != y).mean()
    assert 0.5 * 0.9 - 0.03 < changed < 0.5 * 0.9 + 0.03  # a replaced label is still right 1 time in 10
    full = random_labels(y, fraction=1.0, seed=1)
    assert abs((full == y).mean() - 0.1) < 0.02
    np.testing.assert_array_equal(full, random_labels(y, fraction=1.0, seed=1))
    assert np.bincount(full, minlength=10).min() > 850  # uniform over the classes


def test_shuffle_pixels_applies_one_permutation_to_every_image():
    X = np.random.default_rng(0).random((5, 784)).astype(np.float32)
    shuffled = shuffle_pixels(X, seed=3)
    assert shuffled.shape == X.shape
    permutation = [int(np.flatnonzero(X[0] == v)[0]) for v in shuffled[0]]
    np.testing.assert_array_equal(shuffled, X[:, permutation])
    np.testing.assert_array_equal(np.sort(shuffled, axis=1), np.sort(X, axis=1))


# ---------------------------------------------------------------------------- the decoded cache
@pytest.fixture
def small_mnist(tmp_path, monkeypatch):
    """A 5-image test split of "MNIST" in tmp_path/root/mnist, with MNIST's checksums swapped for its own."""
    folder = tmp_path / "root" / "mnist"
    folder.mkdir(parents=True)
    images = np.random.default_rng(0).integers(0, 256, (5, 28, 28), dtype=np.uint8)
    labels = np.array([3, 1, 4, 1, 5], dtype=np.uint8)
    files = {"t10k-images-idx3-ubyte.gz": gzip.compress(idx_bytes(images)),
             "t10k-labels-idx1-ubyte.gz": gzip.compress(idx_bytes(labels))}
    for name, content in files.items():
        (folder / name).write_bytes(content)
    fake = {name: hashlib.sha256(content).hexdigest() for name, content in files.items()}
    monkeypatch.setattr("tinygrad_edu.data.datasets.MNIST", MNIST.__class__(
        folder="mnist", sha256={**MNIST.sha256, **fake}, mirrors=()))
    return folder, images, labels


def cached_labels(tmp_path) -> Path:
    (path,) = [p for p in (tmp_path / "cache" / "tinygrad-edu" / "decoded").glob("mnist-*.npy")
               if np.load(p).ndim == 1]
    return path


@pytest.mark.parametrize("damage", [
    lambda path: path.write_bytes(path.read_bytes()[:-5] + b"\x00" * 5),  # zeroed bytes: labels 0
    lambda path: np.save(path, np.array([7, 7, 7, 7, 7], dtype=np.uint8)),  # another valid array
    lambda path: path.write_bytes(b""),  # empty: was EOFError on every run
    lambda path: path.with_name(path.name + ".crc32").unlink(),  # no digest to check against
], ids=["zeroed", "replaced", "empty", "no-digest"])
def test_a_damaged_cache_is_rebuilt_from_the_verified_files_with_a_notice(tmp_path, small_mnist, damage, capsys):
    root = tmp_path / "root"
    _, images, labels = small_mnist
    load_mnist(root=root, train=False)
    path = cached_labels(tmp_path)
    damage(path)
    capsys.readouterr()
    X, y = load_mnist(root=root, train=False, raw=True)
    np.testing.assert_array_equal(y, labels)
    np.testing.assert_array_equal(X, images)
    notice = capsys.readouterr().err
    assert notice.count("\n") == 1 and f"the cached {path} is damaged" in notice and "rebuilding it" in notice
    load_mnist(root=root, train=False)  # rebuilt: quiet again
    assert capsys.readouterr().err == ""


def test_a_damaged_file_in_the_cache_folder_is_downloaded_again(tmp_path, small_mnist, serve, monkeypatch, capsys):
    monkeypatch.delenv("TINYGRAD_EDU_DATA", raising=False)
    good, images, labels = small_mnist
    ours = tmp_path / "cache" / "tinygrad-edu" / "mnist"
    ours.mkdir(parents=True)
    for name in ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"):
        shutil.copy(good / name, ours / name)
    labels_file = ours / "t10k-labels-idx1-ubyte.gz"
    labels_file.write_bytes(flip_middle_byte(labels_file.read_bytes()))
    damaged = labels_file.read_bytes()
    with pytest.raises(DataError, match="SHA-256"):  # without download=True it stays an error
        load_mnist(train=False)
    X, y = load_mnist(train=False, download=True, mirrors=[serve(good)], raw=True)
    np.testing.assert_array_equal(y, labels)
    assert (ours / "t10k-labels-idx1-ubyte.gz.damaged").read_bytes() == damaged  # kept, aside
    assert labels_file.read_bytes() == (good / "t10k-labels-idx1-ubyte.gz").read_bytes()
    notice = capsys.readouterr().err
    assert notice.count("\n") == 1 and "moved it to t10k-labels-idx1-ubyte.gz.damaged" in notice


def test_a_damaged_file_elsewhere_is_never_touched(tmp_path, small_mnist, serve):
    good, _, _ = small_mnist
    labels_file = good / "t10k-labels-idx1-ubyte.gz"
    damaged = flip_middle_byte(labels_file.read_bytes())
    labels_file.write_bytes(damaged)
    with pytest.raises(DataError, match="SHA-256"):
        load_mnist(root=tmp_path / "root", train=False, download=True, mirrors=[serve(tmp_path)])
    assert labels_file.read_bytes() == damaged
