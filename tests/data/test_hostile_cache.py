"""The decoded-data cache knows which data set and source file each array came from, and rebuilds
rather than refuses: swapped caches, another version's layout, a header asking for terabytes, a FIFO
or a device in its place, an unreadable cache folder. The data is always the verified files' data."""

from __future__ import annotations

import os
import signal
import tracemalloc
from pathlib import Path

import numpy as np
import pytest

from tinygrad_edu.data import DataError, cache_dir, datasets, load_fashion_mnist, load_mnist, read_idx

DATA = Path(os.environ.get("TINYGRAD_EDU_DATA", "/nonexistent"))
needs_data = pytest.mark.skipif(not ((DATA / "mnist" / "t10k-labels-idx1-ubyte.gz").exists()
                                     and (DATA / "fashion-mnist" / "t10k-labels-idx1-ubyte.gz").exists()),
                                reason="set TINYGRAD_EDU_DATA to a folder holding mnist/ and fashion-mnist/")
LOADERS = {"mnist": load_mnist, "fashion-mnist": load_fashion_mnist}


@pytest.fixture(autouse=True)
def private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))


def genuine_labels(folder: str) -> np.ndarray:
    return read_idx(DATA / folder / "t10k-labels-idx1-ubyte.gz").astype(np.int64)


def label_cache(folder: str) -> Path:
    """The cached test labels of a data set (the one 1-D array among its two test caches)."""
    (path,) = [p for p in (cache_dir() / "decoded").glob(f"{folder}-*.npy") if np.load(p).ndim == 1]
    return path


def record(path: Path) -> Path:
    return path.with_name(path.name + ".crc32")


def build_caches() -> dict:
    for load in LOADERS.values():
        load(train=False)
    return {folder: label_cache(folder) for folder in LOADERS}


def check_every_load_is_right(capsys, notices: dict) -> None:
    """Each data set loads its own labels; the notice for each is as given (or none), and a second load is quiet."""
    for folder, load in LOADERS.items():
        capsys.readouterr()
        _, y = load(train=False)
        np.testing.assert_array_equal(y, genuine_labels(folder), err_msg=folder)
        err = capsys.readouterr().err
        assert (notices[folder] in err and err.count("\n") == 1) if notices.get(folder) else err == "", (folder, err)
    for folder, load in LOADERS.items():
        load(train=False)
    assert capsys.readouterr().err == ""  # rebuilt, and used from then on


@needs_data
@pytest.mark.parametrize("with_records", [True, False], ids=["with-their-records", "arrays-only"])
def test_two_data_sets_label_caches_swapped_on_disk_are_rebuilt(with_records, capsys):
    caches = build_caches()
    mnist, fashion = caches["mnist"], caches["fashion-mnist"]
    pairs = [(mnist, fashion)] + ([(record(mnist), record(fashion))] if with_records else [])
    for a, b in pairs:
        a.rename(a.with_suffix(".swap"))
        b.rename(a)
        a.with_suffix(".swap").rename(b)
    np.testing.assert_array_equal(np.load(mnist), genuine_labels("fashion-mnist"))  # MNIST's cache: Fashion's labels
    if with_records:
        notices = {"mnist": "it was decoded from fashion-mnist/t10k-labels-idx1-ubyte.gz sha256:",
                   "fashion-mnist": "it was decoded from mnist/t10k-labels-idx1-ubyte.gz sha256:"}
    else:  # each record still names the right source, and its CRC-32 (which covers the source) does not match
        notices = {folder: "it does not match its CRC-32" for folder in LOADERS}
    check_every_load_is_right(capsys, notices)


@needs_data
@pytest.mark.parametrize("layout", [
    lambda path: record(path).write_text("1a2b3c4d"),  # the previous version's record: the CRC-32 alone
    lambda path: record(path).write_text("mnist labels\n1a2b3c4d\nextra\n"),
    lambda path: (record(path).unlink(), record(path).mkdir()),  # a folder where the record goes
    lambda path: (path.unlink(), path.mkdir()),  # a folder where the array goes: decoded on every load, no error
], ids=["crc-only", "three-lines", "record-is-a-folder", "array-is-a-folder"])
def test_a_cache_of_another_layout_never_blocks_a_run(layout, capsys):
    path = build_caches()["mnist"]
    layout(path)
    capsys.readouterr()
    for _ in range(2):
        _, y = load_mnist(train=False)
        np.testing.assert_array_equal(y, genuine_labels("mnist"))
    err = capsys.readouterr().err
    assert "Traceback" not in err and err.count(f"the cached {path} is damaged") >= 1


@needs_data
def test_a_header_asking_for_terabytes_is_rebuilt_without_reading(capsys):
    path = build_caches()["mnist"]
    labels = np.load(path)
    with open(path, "wb") as file:  # the same data under a header claiming 42 TiB of uint8
        np.lib.format.write_array_header_1_0(file, {"descr": "|u1", "fortran_order": False, "shape": (42 << 40,)})
        file.write(labels.tobytes())
    capsys.readouterr()
    tracemalloc.start()
    try:
        _, y = load_mnist(train=False)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    np.testing.assert_array_equal(y, genuine_labels("mnist"))
    assert peak < 64 << 20  # far from 42 TiB: nothing was allocated for the claim
    assert "its header claims 46,179,488,366,592 bytes of data, but the file holds 10,000" in capsys.readouterr().err


@needs_data
@pytest.mark.skipif(os.name != "posix", reason="FIFOs and /dev/zero are POSIX")
@pytest.mark.parametrize("special", ["fifo", "/dev/zero"])
def test_a_fifo_or_a_device_in_the_cache_is_replaced_without_waiting(special, capsys):
    path = build_caches()["mnist"]
    path.unlink()
    if special == "fifo":
        os.mkfifo(path)
    else:
        path.symlink_to(special)
    signal.alarm(30)  # a read from the FIFO would block forever: fail instead
    try:
        _, y = load_mnist(train=False)
    finally:
        signal.alarm(0)
    np.testing.assert_array_equal(y, genuine_labels("mnist"))
    assert "it is a special file" in capsys.readouterr().err
    assert path.is_file() and not path.is_symlink() and os.path.exists(special if special != "fifo" else path)


@needs_data
@pytest.mark.parametrize("built", [False, True], ids=["empty", "built"])
def test_an_unreadable_cache_folder_costs_only_speed(built, monkeypatch, capsys):
    """A cache folder we may not look into (another user's, mode 700): the data loads, right, quietly, every time.
    (The tests run as root, whom permissions do not stop: the operating system's refusal is played here.)"""
    if built:
        build_caches()
    denied = str(cache_dir())

    def refuse(real):
        def call(path, *args, **kwargs):
            if str(path).startswith(denied):
                raise PermissionError(13, "Permission denied", str(path))
            return real(path, *args, **kwargs)
        return call

    monkeypatch.setattr(datasets, "open_regular", refuse(datasets.open_regular))
    monkeypatch.setattr(datasets, "atomic_file", refuse(datasets.atomic_file))
    monkeypatch.setattr(Path, "mkdir", refuse(Path.mkdir))
    capsys.readouterr()
    for _ in range(2):
        _, y = load_mnist(train=False)
        np.testing.assert_array_equal(y, genuine_labels("mnist"))
    assert capsys.readouterr().err == ""


def test_read_idx_refuses_a_fifo_at_once(tmp_path):
    fifo = tmp_path / "labels.gz"
    os.mkfifo(fifo)
    signal.alarm(10)
    try:
        with pytest.raises(DataError, match=f"{fifo}: it is a special file"):
            read_idx(fifo)
    finally:
        signal.alarm(0)
