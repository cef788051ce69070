"""MNIST and Fashion-MNIST: find the files, check them, download them if asked, load them as arrays.

Where the files are looked for, in order:
  1. the ``root`` argument;
  2. the environment variable ``TINYGRAD_EDU_DATA``;
  3. the user cache folder, ``$XDG_CACHE_HOME/tinygrad-edu`` or ``~/.cache/tinygrad-edu``;
  4. with ``download=True``, the data set's mirrors, into the cache folder.
Each of these folders holds one sub-folder per data set (``mnist/``, ``fashion-mnist/``) with the
published gzip IDX files. Every file is checked against the SHA-256 sum below before use; with
``download=True`` a damaged file in the cache folder is moved aside and downloaded again.
Decoded arrays are cached as .npy files, each checked against a record kept beside it of the
file it was decoded from and a CRC-32; a cache that does not match is rebuilt (see `_decoded`).
"""

from __future__ import annotations

import contextlib
import hashlib
import http.client
import math
import os
import sys
import urllib.request
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..files import atomic_file, open_regular
from .idx import DataError, read_idx

ENV_VAR = "TINYGRAD_EDU_DATA"


@dataclass(frozen=True)
class DatasetSpec:
    folder: str  # sub-folder name under a data root
    sha256: dict  # file name -> SHA-256 of the published file
    mirrors: tuple  # base URLs, tried in order


MNIST = DatasetSpec(
    folder="mnist",
    sha256={
        "train-images-idx3-ubyte.gz": "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
        "train-labels-idx1-ubyte.gz": "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
        "t10k-images-idx3-ubyte.gz": "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
        "t10k-labels-idx1-ubyte.gz": "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
    },
    mirrors=(
        "https://ossci-datasets.s3.amazonaws.com/mnist/",
        "https://storage.googleapis.com/cvdf-datasets/mnist/",
    ),
)

FASHION_MNIST = DatasetSpec(
    folder="fashion-mnist",
    sha256={
        "train-images-idx3-ubyte.gz": "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84",
        "train-labels-idx1-ubyte.gz": "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845",
        "t10k-images-idx3-ubyte.gz": "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073",
        "t10k-labels-idx1-ubyte.gz": "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5",
    },
    mirrors=("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",),
)


def cache_dir() -> Path:
    """The user cache folder: ``$XDG_CACHE_HOME/tinygrad-edu``, else ``~/.cache/tinygrad-edu``."""
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "tinygrad-edu"


def load_mnist(root=None, train: bool = True, download: bool = False, mirrors=None, *,
               raw: bool = False, standardize: bool = False):
    """The MNIST digits as ``(X, y)``: 60,000 training or 10,000 test images with labels 0–9.

    By default X is float32 of shape (N, 784), one row per image, pixels scaled from 0–255 to
    [0, 1] (the lecture's "scaling the data"); y is int64 of shape (N,).
    ``raw=True`` gives the uint8 images of shape (N, 28, 28) instead. ``standardize=True`` shifts
    and scales X to zero mean and unit variance using the *training* set's pixel mean and standard
    deviation, for either split, so the test set is transformed exactly like the training set.
    See the module docstring for where the files are looked for; ``mirrors`` replaces the list of
    download sites.
    """
    return _load(MNIST, root, train, download, mirrors, raw, standardize)


def load_fashion_mnist(root=None, train: bool = True, download: bool = False, mirrors=None, *,
                       raw: bool = False, standardize: bool = False):
    """Fashion-MNIST, the same format as MNIST with clothes instead of digits; options as `load_mnist`."""
    return _load(FASHION_MNIST, root, train, download, mirrors, raw, standardize)


def _load(spec, root, train, download, mirrors, raw, standardize):
    if raw and standardize:
        raise ValueError("raw=True returns the uint8 images as published; it cannot be combined with standardize")
    images, labels = _split(spec, root, train, download, mirrors)
    if raw:
        return images, labels
    X = images.reshape(len(images), -1).astype(np.float32)
    X /= np.float32(255)  # in place, here and below: a copy of X is 180 MB for the training set
    if standardize:
        train_images = images if train else _split(spec, root, True, download, mirrors)[0]
        mean, std = _pixel_statistics(train_images)
        X -= mean
        X /= std
    return X, labels


def _pixel_statistics(images: np.ndarray) -> tuple:
    """Mean and standard deviation of all pixels, after scaling to [0, 1].

    A uint8 pixel takes one of 256 values, so these are the mean and standard deviation of the values
    0/255, ..., 255/255, each weighted by how many pixels have it. The counts are taken a block of
    images at a time: no float copy of the whole set (60,000 images in float64 would take 376 MB).
    """
    counts = np.zeros(256, dtype=np.int64)
    for start in range(0, len(images), 1000):
        counts += np.bincount(images[start:start + 1000].ravel(), minlength=256)
    values = np.arange(256) / 255
    mean = np.average(values, weights=counts)
    std = np.sqrt(np.average((values - mean) ** 2, weights=counts))
    return np.float32(mean), np.float32(std)


def _split(spec, root, train, download, mirrors) -> tuple:
    """(uint8 images (N, 28, 28), int64 labels (N,)) of one split, checked for agreement."""
    prefix = "train" if train else "t10k"
    names = (f"{prefix}-images-idx3-ubyte.gz", f"{prefix}-labels-idx1-ubyte.gz")
    paths = _find(spec, names, root, download, mirrors)
    images, labels = (_decoded(spec, path) for path in paths)
    if images.ndim != 3 or images.shape[1:] != (28, 28) or images.dtype != np.uint8:
        raise DataError(f"{paths[0]}: expected uint8 images of shape (N, 28, 28), got {images.dtype} {images.shape}")
    if labels.ndim != 1:
        raise DataError(f"{paths[1]}: expected a 1-D array of labels, got shape {labels.shape}")
    if len(images) != len(labels):
        raise DataError(f"{paths[0]} holds {len(images)} images but {paths[1]} holds {len(labels)} labels")
    return images, labels.astype(np.int64)


def _find(spec, names, root, download, mirrors) -> list:
    """The paths of ``names`` in the first folder that has them all, verified; else download or explain."""
    places = []
    if root is not None:
        places.append(("the root argument", Path(root)))
    if os.environ.get(ENV_VAR):
        places.append((f"${ENV_VAR}", Path(os.environ[ENV_VAR])))
    places.append(("the cache folder", cache_dir()))
    looked = []
    for label, base in places:
        folder = base / spec.folder
        if all((folder / name).is_file() for name in names):
            if download and folder == cache_dir() / spec.folder:  # our own folder: we may repair it
                return [_verified_or_downloaded_again(spec, folder / name, mirrors or spec.mirrors) for name in names]
            return [_verified(spec, folder / name) for name in names]
        looked.append(f"{folder} ({label})")
    if download:
        folder = cache_dir() / spec.folder
        return [_download(spec, name, folder, mirrors or spec.mirrors) for name in names]
    raise DataError(
        f"{spec.folder} files {', '.join(names)} not found. Looked in: {'; '.join(looked)}. "
        f"Point to a folder holding {spec.folder}/ with root=... (--data on the command line) or "
        f"${ENV_VAR}, or pass download=True (--download) to fetch them into {cache_dir()}."
    )


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open_regular(path) as file:
        while chunk := file.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _verified(spec, path: Path) -> Path:
    expected = spec.sha256[path.name]
    actual = _sha256(path)
    if actual != expected:
        raise DataError(f"{path}: SHA-256 {actual} does not match the published file's {expected}: "
                        "the file is corrupt or a different one")
    return path


def _verified_or_downloaded_again(spec, path: Path, mirrors) -> Path:
    """A file of the cache folder, verified; if damaged, moved aside to NAME.damaged and downloaded again."""
    try:
        return _verified(spec, path)
    except DataError as err:
        aside = path.with_name(path.name + ".damaged")
        os.replace(path, aside)
        _notice(f"{err}; moved it to {aside.name} and downloading it again")
        return _download(spec, path.name, path.parent, mirrors)


def _download(spec, name: str, folder: Path, mirrors) -> Path:
    """Fetch ``name`` from the first mirror that serves the right bytes; nothing half-written is kept."""
    folder.mkdir(parents=True, exist_ok=True)
    target, expected, failures = folder / name, spec.sha256[name], []
    for mirror in mirrors:
        url = mirror.rstrip("/") + "/" + name
        try:
            with urllib.request.urlopen(url, timeout=30) as response, atomic_file(target) as out:
                digest = hashlib.sha256()
                while chunk := response.read(1 << 20):
                    digest.update(chunk)
                    out.write(chunk)
                if digest.hexdigest() != expected:  # raising here discards the temporary file
                    raise DataError(f"SHA-256 {digest.hexdigest()} does not match the published {expected}")
            return target
        except (OSError, http.client.HTTPException, DataError) as err:
            failures.append(f"{url}: {err}")
    raise DataError(f"could not download {name}: " + "; ".join(failures))


def _decoded(spec, path: Path) -> np.ndarray:
    """``read_idx(path)``, through a .npy cache: loading a cached array is ten times faster than decoding.

    The cache is keyed by the file's known SHA-256 (checked before we get here), and the file
    beside it records which data set and source file it was decoded from, with a CRC-32 of that
    record and the array together: an array decoded from another file (two caches swapped on
    disk, say MNIST's labels and Fashion-MNIST's) or damaged since does not match, and is rebuilt
    from the verified .gz with a one-line notice. So is anything else the cache cannot use: a file
    of another layout (left by another version), a header that claims more bytes than the file
    holds (it is checked before anything is read), a FIFO or a device. (For the training set the
    check takes about 35 ms, a third of a load from the cache and a twentieth of decoding the .gz
    files again: benchmarks/bench_load.py.) A cache folder we cannot read or write costs only speed.
    """
    identity = f"{spec.folder}/{path.name} sha256:{spec.sha256[path.name]}"
    cached = cache_dir() / "decoded" / f"{spec.folder}-{spec.sha256[path.name][:16]}.npy"
    record = cached.with_name(cached.name + ".crc32")
    try:
        return _cached_array(cached, record, identity)
    except (FileNotFoundError, PermissionError):
        pass  # not cached yet, or a cache folder we may not read: decode
    except _Unusable as err:
        _notice(f"the cached {cached} is damaged ({err}); rebuilding it from {path}")
    array = read_idx(path)
    try:
        cached.parent.mkdir(parents=True, exist_ok=True)
        for stale in (cached, record):  # our own folder: a FIFO or device where a cache file goes is removed
            with contextlib.suppress(FileNotFoundError):
                if not stale.is_dir() and not stale.is_file():
                    stale.unlink()
        with atomic_file(cached) as file:
            np.save(file, array)
        with atomic_file(record) as file:
            file.write(f"{identity}\n{_crc32(array, identity)}\n".encode("ascii"))
    except OSError:
        pass  # a read-only or unreadable cache folder only costs us speed
    return array


class _Unusable(Exception):
    """A cache file that must be rebuilt; the message says why."""


def _cached_array(cached: Path, record: Path, identity: str) -> np.ndarray:
    """The array cached for ``identity``, checked; FileNotFoundError if there is none, PermissionError if we may
    not read it, else `_Unusable`."""
    try:
        with open_regular(cached) as file:
            try:
                lines = record.read_text(encoding="ascii").splitlines()
            except FileNotFoundError:
                raise _Unusable(f"{record.name}, its CRC-32, is missing") from None
            if len(lines) != 2:
                raise _Unusable(f"{record.name} is not of this version's layout (left by another version?)")
            if lines[0] != identity:
                raise _Unusable(f"it was decoded from {lines[0]}, not {identity}")
            array = _read_npy(file)
    except (FileNotFoundError, PermissionError, _Unusable):
        raise
    except Exception as err:  # anything at all: our own cache is rebuilt, never the reason a run fails
        raise _Unusable(f"it cannot be read ({type(err).__name__}: {err})") from None
    if _crc32(array, identity) != lines[1]:
        raise _Unusable("it does not match its CRC-32")
    return array


def _read_npy(file) -> np.ndarray:
    """An array from an open .npy file, its header checked against the file's size before any data is read."""
    version = np.lib.format.read_magic(file)
    read_header = {(1, 0): np.lib.format.read_array_header_1_0, (2, 0): np.lib.format.read_array_header_2_0}
    if version not in read_header:
        raise ValueError(f".npy format {version}, which the cache does not use")
    shape, fortran_order, dtype = read_header[version](file)
    if dtype.hasobject:
        raise ValueError("it holds Python objects (a pickle), which are never loaded")
    claimed = math.prod(shape) * dtype.itemsize
    held = os.fstat(file.fileno()).st_size - file.tell()
    if claimed != held:
        raise ValueError(f"its header claims {claimed:,} bytes of data, but the file holds {held:,}")
    data = np.fromfile(file, dtype=dtype, count=math.prod(shape))  # as np.load reads: straight into the array
    if data.nbytes != claimed:
        raise ValueError("the file ended before its data did")
    return data.reshape(shape, order="F" if fortran_order else "C")


def _crc32(array: np.ndarray, identity: str) -> str:
    """A CRC-32 of where an array was decoded from, its dtype, shape and values, as 8 hex digits."""
    described = zlib.crc32(f"{identity} {array.dtype.str} {array.shape}".encode("ascii"))
    return f"{zlib.crc32(np.ascontiguousarray(array), described):08x}"


def _notice(message: str) -> None:
    """Say in one line on stderr what was repaired, so that nothing is repaired unseen."""
    print(f"tinygrad-edu: {message}", file=sys.stderr)
