"""Atomic writes: only regular files (or nothing) are replaced, symlinks lead to their targets,
permissions are kept, a bad destination is named, and temporary files of killed writers are cleaned."""

from __future__ import annotations

import os
import stat

import pytest

import tinygrad_edu as tg

posix_only = pytest.mark.skipif(os.name != "posix", reason="FIFOs, /dev/null and kill -9 are POSIX")


def write(path, data: bytes = b"new") -> None:
    with tg.atomic_file(path) as file:
        file.write(data)


def test_a_new_file_and_a_replaced_file_hold_what_was_written(tmp_path):
    path = tmp_path / "a.bin"
    write(path, b"first")
    write(path, b"second")
    assert path.read_bytes() == b"second"
    assert [p.name for p in tmp_path.iterdir()] == ["a.bin"]


def test_a_failed_block_leaves_the_old_file(tmp_path):
    path = tmp_path / "a.bin"
    write(path, b"good")
    with pytest.raises(RuntimeError):
        with tg.atomic_file(path) as file:
            file.write(b"half")
            raise RuntimeError("crash mid-write")
    assert path.read_bytes() == b"good"
    assert [p.name for p in tmp_path.iterdir()] == ["a.bin"]


@posix_only
def test_a_device_is_refused_not_replaced(tmp_path):
    # A private copy of /dev/null's node (character device 1, 3): a test run against code that
    # replaces devices must not damage the machine's own /dev/null.
    device = tmp_path / "null"
    try:
        os.mknod(device, 0o666 | stat.S_IFCHR, os.makedev(1, 3))
    except PermissionError:
        pytest.skip("making a device node needs root")
    with pytest.raises(OSError, match=f"{device}: it is a special file"):
        write(device)
    assert stat.S_ISCHR(os.stat(device).st_mode)


@posix_only
def test_a_fifo_is_refused_not_replaced(tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    with pytest.raises(OSError, match="special file"):
        write(fifo)
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pipe"]


def test_a_folder_is_refused(tmp_path):
    with pytest.raises(IsADirectoryError, match=f"{tmp_path}: it is a folder"):
        write(tmp_path)


def test_a_missing_folder_is_named_not_a_temporary_file(tmp_path):
    path = tmp_path / "missing" / "ck.npz"
    with pytest.raises(FileNotFoundError) as err:
        write(path)
    assert str(path) in str(err.value) and f"{tmp_path / 'missing'} does not exist" in str(err.value)
    assert ".tmp" not in str(err.value)


@posix_only
def test_writing_over_a_symlink_updates_its_target(tmp_path):
    target, link = tmp_path / "target.bin", tmp_path / "link.bin"
    target.write_bytes(b"old")
    link.symlink_to(target)
    write(link, b"new")
    assert link.is_symlink() and os.readlink(link) == str(target)
    assert target.read_bytes() == b"new"


@posix_only
def test_an_existing_files_permissions_are_kept_and_a_new_one_gets_the_umasks(tmp_path):
    kept = tmp_path / "private.bin"
    kept.write_bytes(b"old")
    kept.chmod(0o640)
    write(kept)
    assert stat.S_IMODE(kept.stat().st_mode) == 0o640
    mask = os.umask(0o027)
    try:
        write(tmp_path / "fresh.bin")
    finally:
        os.umask(mask)
    assert stat.S_IMODE((tmp_path / "fresh.bin").stat().st_mode) == 0o640  # 0o666 & ~0o027
