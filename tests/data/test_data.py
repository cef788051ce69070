"""The data loaders: the genuine files, corrupt files, finding files, and verified downloads."""

from __future__ import annotations

import functools
import gzip
import hashlib
import http.server
import os
import shutil
import socket
import struct
import threading
import urllib.request
from pathlib import Path

import numpy as np
import pytest

from tinygrad_edu.data import (DataError, load_fashion_mnist, load_mnist, random_labels, read_idx, render_digit,
                               shuffle_pixels)
from tinygrad_edu.data import cache_dir, datasets
from tinygrad_edu.data.datasets import FASHION_MNIST, MNIST

DATA = Path(os.environ.get("TINYGRAD_EDU_DATA", "/nonexistent"))
needs_data = pytest.mark.skipif(not (DATA / "mnist" / "train-images-idx3-ubyte.gz").exists(),
                                reason="set TINYGRAD_EDU_DATA to a folder holding mnist/ and fashion-mnist/")


@pytest.fixture(autouse=True)
def private_cache(tmp_path, monkeypatch):
    """Every test gets its own empty cache folder, so nothing touches ~/.cache."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))


def idx_bytes(array: np.ndarray, type_code: int | None = None) -> bytes:
    """Encode an array in the IDX format (the inverse of read_idx), for making test files."""
    if type_code is None:
        type_code = {np.uint8: 0x08, np.int8: 0x09, np.int16: 0x0B, np.int32: 0x0C, np.float32: 0x0D,
                     np.float64: 0x0E}[array.dtype.type]
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


@pytest.mark.parametrize("brightest", [255, 90])
def test_pixel_statistics_are_the_float64_formulas_without_a_float64_copy(brightest):
    """More images than one block, so that every block counts; values as the float64 formulas give, also
    for images that never reach white (no pixel above 90)."""
    import tracemalloc
    from tinygrad_edu.data.datasets import _pixel_statistics
    rng = np.random.default_rng(0)
    images = np.minimum(rng.exponential(60, size=(5_000, 28, 28)), brightest).astype(np.uint8)
    images[-1] = brightest  # the last, partial block must count too
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


@pytest.mark.parametrize("type_code, dtype", [(0x08, np.uint8), (0x09, np.int8), (0x0B, np.int16), (0x0C, np.int32),
                                               (0x0D, np.float32), (0x0E, np.float64)])
def test_every_idx_element_type_reads_back_in_native_byte_order(tmp_path, type_code, dtype):
    array = (np.arange(2 * 3 * 5).reshape(2, 3, 5) * (-1 if np.dtype(dtype).kind != "u" else 1)).astype(dtype)
    path = tmp_path / "array.idx"
    path.write_bytes(idx_bytes(array, type_code))
    result = read_idx(str(path))  # a str path works as well as a Path
    assert result.dtype == dtype and result.dtype.isnative and result.flags.writeable
    np.testing.assert_array_equal(result, array)


@pytest.mark.parametrize("shape", [(0,), (0, 28, 28)])
def test_an_idx_file_of_no_elements_reads_as_an_empty_array(tmp_path, shape):
    path = tmp_path / "empty.idx"
    path.write_bytes(idx_bytes(np.zeros(shape, dtype=np.uint8)))
    result = read_idx(path)
    assert result.shape == shape and result.dtype == np.uint8


@pytest.mark.parametrize("content, message", [
    (b"\x00\x00\x08", "truncated: 3 bytes, too short for an IDX header"),
    (b"\x00\x00\x08\x00", "the IDX header declares 0 dimensions"),
    (b"\x00\x00\x08\x00" + b"\x07" * 8, "the IDX header declares 0 dimensions"),
    (b"\x01\x02\x08\x01\x00\x00\x00\x00", "wrong magic number 0x01020801: an IDX file starts with two zero bytes"),
    (b"\x00\x00\x0a\x01\x00\x00\x00\x00", "unknown element type code 0x0a in the IDX header"),
    (b"\x00\x00\x08\x03" + struct.pack(">2I", 2, 2), "truncated: the header declares 3 dimensions but the file ends first"),
    (b"\x00\x00\x0b\x02" + struct.pack(">2I", 2, 3) + bytes(14),
     "too long: the header declares shape (2, 3) of int16 (12 bytes of data), but the file holds 14"),
    (b"\x00\x00\x0b\x02" + struct.pack(">2I", 2, 3) + bytes(11),
     "truncated: the header declares shape (2, 3) of int16 (12 bytes of data), but the file holds 11"),
], ids=["short", "0-d", "0-d-with-data", "magic", "type", "short-header", "too-long", "short-data"])
def test_each_kind_of_corrupt_idx_file_gets_its_own_message(tmp_path, content, message):
    path = tmp_path / "bad.idx"
    path.write_bytes(content)
    with pytest.raises(DataError) as err:
        read_idx(path)
    assert str(err.value) == f"{path}: {message}"


def test_a_missing_idx_file_is_named(tmp_path):
    with pytest.raises(DataError) as err:
        read_idx(tmp_path / "missing.gz")
    assert str(err.value) == f"{tmp_path / 'missing.gz'}: no such file"


def test_bad_gzip_stream(tmp_path, images_file):
    bad = tmp_path / "bad.gz"
    bad.write_bytes(images_file.read_bytes()[:-30])
    with pytest.raises(DataError, match=f"{bad}.*bad gzip stream"):
        read_idx(bad)


# ---------------------------------------------------------------------------- finding the files
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
    """Start HTTP servers on 127.0.0.1, each serving a folder; yield a function folder -> base URL.

    ``start(folder, requested=a_list)`` also appends every path a client asks for to the list.
    """
    servers = []

    def start(folder: Path, requested: list | None = None) -> str:
        class Handler(QuietHandler):
            def do_GET(self):
                if requested is not None:
                    requested.append(self.path)
                super().do_GET()

        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Handler, directory=str(folder)))
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


def test_render_digit_scales_raw_bytes_by_255_and_clips_to_the_shades():
    raw = np.zeros(784, dtype=np.uint8)
    raw[:256] = np.arange(256)
    gray = raw / 255.0
    matrix = [row.split(" ") for row in render_digit(raw).split("\n")]
    assert len(matrix) == 28 and all(len(row) == 28 for row in matrix)
    np.testing.assert_array_equal(np.array(matrix, dtype=float), np.round(gray.reshape(28, 28), 1))
    assert render_digit(raw, style="shade") == "\n".join(
        "".join(" .:-=+*#%@"[min(int(v * 10), 9)] for v in row) for row in gray.reshape(28, 28))
    standardized = np.linspace(-2, 3, 784)  # pixels below 0 are the lightest shade, above 1 the darkest
    shade = render_digit(standardized, style="shade").replace("\n", "")
    assert shade[0] == " " and shade[-1] == "@" and set(shade) == set(" .:-=+*#%@")
    with pytest.raises(ValueError) as err:
        render_digit(raw, style="ascii")
    assert str(err.value) == "render_digit: unknown style 'ascii', choose 'matrix' or 'shade'"
    with pytest.raises(ValueError) as err:
        render_digit(np.zeros((28, 27)))
    assert str(err.value) == "render_digit: expected 784 pixels (28x28), got shape (28, 27)"


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


def test_random_labels_replace_every_label_by_default_and_refuse_a_fraction_outside_0_1():
    y = np.repeat(np.arange(10), 100)
    np.testing.assert_array_equal(random_labels(y, seed=2), random_labels(y, fraction=1.0, seed=2))
    for fraction in (-0.1, 1.5):
        with pytest.raises(ValueError, match=rf"random_labels: fraction must lie in \[0, 1\], got {fraction}"):
            random_labels(y, fraction=fraction)


def test_shuffle_pixels_applies_one_permutation_to_every_image():
    X = np.random.default_rng(0).random((5, 784)).astype(np.float32)
    shuffled = shuffle_pixels(X, seed=3)
    assert shuffled.shape == X.shape
    permutation = [int(np.flatnonzero(X[0] == v)[0]) for v in shuffled[0]]
    np.testing.assert_array_equal(shuffled, X[:, permutation])
    np.testing.assert_array_equal(np.sort(shuffled, axis=1), np.sort(X, axis=1))


def test_shuffle_pixels_keeps_the_image_shape_and_its_seed_fixes_the_permutation():
    X = np.random.default_rng(0).random((4, 28, 28))
    shuffled = shuffle_pixels(X, seed=3)
    assert shuffled.shape == (4, 28, 28)
    assert not np.array_equal(shuffled, X)  # the pixels did move
    np.testing.assert_array_equal(shuffled, shuffle_pixels(X, seed=3))
    assert not np.array_equal(shuffled, shuffle_pixels(X, seed=4))
    flat, moved = X.reshape(4, -1), shuffled.reshape(4, -1)
    permutation = [int(np.flatnonzero(flat[0] == v)[0]) for v in moved[0]]
    np.testing.assert_array_equal(moved, flat[:, permutation])  # the same one for every image


# ---------------------------------------------------------------------------- the decoded cache
def fake_data_set(monkeypatch, folder: Path, spec_name: str, arrays: dict) -> Path:
    """Write ``arrays`` (file name -> array) as gzip IDX files into ``folder``; the spec trusts their checksums."""
    folder.mkdir(parents=True, exist_ok=True)
    spec = getattr(datasets, spec_name)
    fake = {}
    for name, array in arrays.items():
        content = gzip.compress(idx_bytes(array))
        (folder / name).write_bytes(content)
        fake[name] = hashlib.sha256(content).hexdigest()
    monkeypatch.setattr(datasets, spec_name, spec.__class__(folder=spec.folder, sha256={**spec.sha256, **fake},
                                                             mirrors=()))
    return folder


@pytest.fixture
def small_mnist(tmp_path, monkeypatch):
    """A 5-image test split of "MNIST" in tmp_path/root/mnist, with MNIST's checksums swapped for its own."""
    images = np.random.default_rng(0).integers(0, 256, (5, 28, 28), dtype=np.uint8)
    labels = np.array([3, 1, 4, 1, 5], dtype=np.uint8)
    folder = fake_data_set(monkeypatch, tmp_path / "root" / "mnist", "MNIST",
                           {"t10k-images-idx3-ubyte.gz": images, "t10k-labels-idx1-ubyte.gz": labels})
    return folder, images, labels


def cached_labels(tmp_path) -> Path:
    (path,) = [p for p in (tmp_path / "cache" / "tinygrad-edu" / "decoded").glob("mnist-*.npy")
               if np.load(p).ndim == 1]
    return path


@pytest.mark.parametrize("damage, problem", [
    (lambda path: path.write_bytes(path.read_bytes()[:-5] + b"\x00" * 5),  # zeroed bytes: labels 0
     "it does not match its CRC-32"),
    (lambda path: np.save(path, np.array([7, 7, 7, 7, 7], dtype=np.uint8)),  # another valid array
     "it does not match its CRC-32"),
    (lambda path: np.save(path, np.load(path).reshape(5, 1)),  # the same bytes in another shape
     "it does not match its CRC-32"),
    (lambda path: np.save(path, np.load(path).view(np.int8)),  # the same bytes as another dtype
     "it does not match its CRC-32"),
    (lambda path: path.write_bytes(b""),  # empty: was EOFError on every run
     "it cannot be read (ValueError: EOF: reading magic string, expected 8 bytes got 0)"),
    (lambda path: path.with_name(path.name + ".crc32").unlink(),  # no digest to check against
     "{name}.crc32, its CRC-32, is missing"),
], ids=["zeroed", "replaced", "reshaped", "retyped", "empty", "no-digest"])
def test_a_damaged_cache_is_rebuilt_from_the_verified_files_with_a_notice(tmp_path, small_mnist, damage, problem,
                                                                         capsys):
    root = tmp_path / "root"
    _, images, labels = small_mnist
    load_mnist(root=root, train=False)
    path = cached_labels(tmp_path)
    damage(path)
    capsys.readouterr()
    X, y = load_mnist(root=root, train=False, raw=True)
    np.testing.assert_array_equal(y, labels)
    np.testing.assert_array_equal(X, images)
    assert capsys.readouterr().err == (f"tinygrad-edu: the cached {path} is damaged ({problem.format(name=path.name)}); "
                                       f"rebuilding it from {root / 'mnist' / 't10k-labels-idx1-ubyte.gz'}\n")
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


def test_a_pickle_in_the_cache_folder_is_never_unpickled(tmp_path, small_mnist, capsys):
    """A cache file is data, never code: loading one that holds a pickle runs nothing, and it is rebuilt."""
    root = tmp_path / "root"
    load_mnist(root=root, train=False)
    path = cached_labels(tmp_path)
    marker = tmp_path / "the pickle ran"
    np.save(path, np.array([Trap(marker)], dtype=object), allow_pickle=True)
    capsys.readouterr()
    _, y = load_mnist(root=root, train=False)
    assert not marker.exists()
    np.testing.assert_array_equal(y, small_mnist[2])
    assert f"the cached {path} is damaged (it cannot be read (ValueError: " in capsys.readouterr().err


class Trap:
    """An object whose unpickling creates a file."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return os.mkdir, (str(self.marker),)


# ---------------------------------------------------------------------------- small stand-ins for the data sets
SPECS = {"mnist": ("MNIST", load_mnist), "fashion-mnist": ("FASHION_MNIST", load_fashion_mnist)}
TRAIN_IMAGES = np.random.default_rng(1).integers(0, 256, (6, 28, 28), dtype=np.uint8)
TEST_IMAGES = np.random.default_rng(2).integers(0, 100, (4, 28, 28), dtype=np.uint8)  # darker: other statistics
TRAIN_LABELS, TEST_LABELS = np.array([5, 0, 4, 1, 9, 2], dtype=np.uint8), np.array([7, 2, 1, 0], dtype=np.uint8)


def small_data_set(monkeypatch, folder: Path, spec_name: str) -> Path:
    """Both splits of a data set in ``folder`` (6 training and 4 test images), trusted by its spec."""
    return fake_data_set(monkeypatch, folder, spec_name, {
        "train-images-idx3-ubyte.gz": TRAIN_IMAGES, "train-labels-idx1-ubyte.gz": TRAIN_LABELS,
        "t10k-images-idx3-ubyte.gz": TEST_IMAGES, "t10k-labels-idx1-ubyte.gz": TEST_LABELS})


def standardized(images: np.ndarray) -> np.ndarray:
    """The images scaled to [0, 1], then shifted and scaled by the training images' pixel mean and deviation."""
    train = TRAIN_IMAGES / 255.0
    return (images.reshape(len(images), -1) / 255.0 - train.mean()) / train.std()


@pytest.mark.parametrize("name", SPECS)
def test_every_option_of_the_loaders_on_a_small_data_set(tmp_path, monkeypatch, name):
    spec_name, load = SPECS[name]
    small_data_set(monkeypatch, tmp_path / "root" / name, spec_name)
    root = tmp_path / "root"
    X, y = load(root=root)  # the defaults: the training split, scaled to [0, 1]
    assert X.dtype == np.float32 and y.dtype == np.int64
    np.testing.assert_allclose(X, TRAIN_IMAGES.reshape(6, 784) / 255.0, rtol=1e-6)
    np.testing.assert_array_equal(y, TRAIN_LABELS)
    images, labels = load(root=root, train=False, raw=True)
    assert images.dtype == np.uint8 and labels.dtype == np.int64
    np.testing.assert_array_equal(images, TEST_IMAGES)
    np.testing.assert_array_equal(labels, TEST_LABELS)
    X_test, y_test = load(root=str(root), train=False, standardize=True)  # the training set's statistics
    assert X_test.dtype == np.float32
    np.testing.assert_allclose(X_test, standardized(TEST_IMAGES), rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(y_test, TEST_LABELS)
    np.testing.assert_allclose(load(root=root, standardize=True)[0], standardized(TRAIN_IMAGES), rtol=1e-5, atol=1e-5)
    with pytest.raises(ValueError) as err:
        load(root=root, raw=True, standardize=True)
    assert str(err.value) == "raw=True returns the uint8 images as published; it cannot be combined with standardize"


@pytest.mark.parametrize("name", SPECS)
def test_standardizing_the_test_split_downloads_the_training_split_too(tmp_path, monkeypatch, serve, name):
    monkeypatch.delenv("TINYGRAD_EDU_DATA", raising=False)
    spec_name, load = SPECS[name]
    mirror = serve(small_data_set(monkeypatch, tmp_path / "mirror", spec_name))
    X, y = load(train=False, standardize=True, download=True, mirrors=[mirror])
    np.testing.assert_allclose(X, standardized(TEST_IMAGES), rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(y, TEST_LABELS)
    assert sorted(p.name for p in (cache_dir() / name).iterdir()) == sorted(getattr(datasets, spec_name).sha256)


def test_the_cache_folder_follows_xdg_cache_home_else_the_home_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache_dir() == tmp_path / "xdg" / "tinygrad-edu"
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    for unset in (lambda: monkeypatch.delenv("XDG_CACHE_HOME"), lambda: monkeypatch.setenv("XDG_CACHE_HOME", "")):
        unset()
        assert cache_dir() == tmp_path / "home" / ".cache" / "tinygrad-edu"


@pytest.mark.parametrize("name", SPECS)
@pytest.mark.parametrize("train", [True, False])
def test_nothing_found_names_the_files_every_place_and_the_fixes(tmp_path, monkeypatch, name, train):
    spec_name, load = SPECS[name]
    monkeypatch.setenv("TINYGRAD_EDU_DATA", str(tmp_path / "env"))
    with pytest.raises(DataError) as err:
        load(root=tmp_path / "explicit", **({} if train else {"train": False}))
    prefix = "train" if train else "t10k"
    assert str(err.value) == (
        f"{name} files {prefix}-images-idx3-ubyte.gz, {prefix}-labels-idx1-ubyte.gz not found. Looked in: "
        f"{tmp_path / 'explicit' / name} (the root argument); {tmp_path / 'env' / name} ($TINYGRAD_EDU_DATA); "
        f"{cache_dir() / name} (the cache folder). Point to a folder holding {name}/ with root=... (--data on the "
        f"command line) or $TINYGRAD_EDU_DATA, or pass download=True (--download) to fetch them into {cache_dir()}.")
    monkeypatch.setenv("TINYGRAD_EDU_DATA", "")  # set but empty: not a place to look
    with pytest.raises(DataError, match=r"Looked in: [^;]* \(the root argument\); [^;]* \(the cache folder\)\."):
        load(root=tmp_path / "explicit")


def test_the_checksum_error_names_the_file_and_both_sums(tmp_path):
    folder = tmp_path / "mnist"
    folder.mkdir()
    for name in MNIST.sha256:
        (folder / name).write_bytes(b"not the real file")
    actual = hashlib.sha256(b"not the real file").hexdigest()
    with pytest.raises(DataError) as err:
        load_mnist(root=tmp_path, train=False)
    path, expected = folder / "t10k-images-idx3-ubyte.gz", MNIST.sha256["t10k-images-idx3-ubyte.gz"]
    assert str(err.value) == (f"{path}: SHA-256 {actual} does not match the published file's {expected}: "
                              "the file is corrupt or a different one")


@pytest.mark.parametrize("images, labels, problem", [
    (np.zeros((3, 28, 28), np.int16), np.zeros(3, np.uint8), "{images}: expected uint8 images of shape (N, 28, 28), "
                                                             "got int16 (3, 28, 28)"),
    (np.zeros((3, 28, 27), np.uint8), np.zeros(3, np.uint8), "{images}: expected uint8 images of shape (N, 28, 28), "
                                                             "got uint8 (3, 28, 27)"),
    (np.zeros((3, 784), np.uint8), np.zeros(3, np.uint8), "{images}: expected uint8 images of shape (N, 28, 28), "
                                                          "got uint8 (3, 784)"),
    (np.zeros((3, 28, 28), np.uint8), np.zeros((3, 1), np.uint8), "{labels}: expected a 1-D array of labels, "
                                                                   "got shape (3, 1)"),
    (np.zeros((3, 28, 28), np.uint8), np.zeros(2, np.uint8), "{images} holds 3 images but {labels} holds 2 labels"),
], ids=["dtype", "shape", "flat", "labels-2d", "counts"])
def test_files_that_are_not_mnist_shaped_are_refused_naming_the_file(tmp_path, monkeypatch, images, labels, problem):
    folder = fake_data_set(monkeypatch, tmp_path / "mnist", "MNIST",
                           {"t10k-images-idx3-ubyte.gz": images, "t10k-labels-idx1-ubyte.gz": labels})
    with pytest.raises(DataError) as err:
        load_mnist(root=tmp_path, train=False)
    assert str(err.value) == problem.format(images=folder / "t10k-images-idx3-ubyte.gz",
                                            labels=folder / "t10k-labels-idx1-ubyte.gz")


@pytest.mark.parametrize("end", ["", "/"])
def test_a_mirror_url_with_or_without_a_final_slash_is_asked_for_each_file_by_name(tmp_path, small_mnist, serve,
                                                                                   monkeypatch, end):
    monkeypatch.delenv("TINYGRAD_EDU_DATA", raising=False)
    good, _, labels = small_mnist
    (tmp_path / "site").mkdir()
    shutil.copytree(good, tmp_path / "site" / "dataX")  # a folder name ending in a letter a slash is stripped from
    requested = []
    mirror = serve(tmp_path / "site", requested) + "dataX" + end
    _, y = load_mnist(train=False, download=True, mirrors=[mirror])
    np.testing.assert_array_equal(y, labels)
    assert requested == ["/dataX/t10k-images-idx3-ubyte.gz", "/dataX/t10k-labels-idx1-ubyte.gz"]


def test_a_mirror_that_never_answers_is_given_up_after_30_seconds(tmp_path, small_mnist, serve, monkeypatch):
    monkeypatch.delenv("TINYGRAD_EDU_DATA", raising=False)
    good, _, labels = small_mnist
    silent = socket.create_server(("127.0.0.1", 0))  # accepts connections, never answers
    silent_url = f"http://127.0.0.1:{silent.getsockname()[1]}/"
    limits, urlopen = [], urllib.request.urlopen

    def impatient_urlopen(url, timeout):
        limits.append(timeout)
        return urlopen(url, timeout=0.2 if url.startswith(silent_url) else timeout)  # not waiting the 30 s

    monkeypatch.setattr(urllib.request, "urlopen", impatient_urlopen)
    try:
        _, y = load_mnist(train=False, download=True, mirrors=[silent_url, serve(good)])
    finally:
        silent.close()
    np.testing.assert_array_equal(y, labels)
    assert limits == [30, 30, 30, 30]  # each file: the silent mirror, then the good one


def test_a_failed_download_names_every_mirror_and_what_went_wrong(tmp_path, small_mnist, serve, monkeypatch):
    monkeypatch.delenv("TINYGRAD_EDU_DATA", raising=False)
    good, _, _ = small_mnist
    empty, wrong = tmp_path / "empty", tmp_path / "wrong"
    empty.mkdir()
    wrong.mkdir()
    name = "t10k-images-idx3-ubyte.gz"
    (wrong / name).write_bytes(b"other bytes")
    mirrors = [serve(empty), serve(wrong)]
    with pytest.raises(DataError) as err:
        load_mnist(train=False, download=True, mirrors=mirrors)
    assert str(err.value) == (
        f"could not download {name}: {mirrors[0]}{name}: HTTP Error 404: File not found; "
        f"{mirrors[1]}{name}: SHA-256 {hashlib.sha256(b'other bytes').hexdigest()} does not match the published "
        f"{datasets.MNIST.sha256[name]}")
