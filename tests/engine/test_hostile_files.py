"""Files under attack or at the edges: symlinks planted in shared folders, other users' files, names
as long as the file system allows, special files given to read, writers killed or still alive
(whatever their process id), and the folder synced after the rename."""

from __future__ import annotations

import contextlib
import os
import signal
import stat
import subprocess
import sys

import pytest

import tinygrad_edu as tg
from tinygrad_edu import files

posix_only = pytest.mark.skipif(os.name != "posix", reason="uids, sticky folders, FIFOs and flock are POSIX")
OTHER = 4242  # a uid that is neither ours nor the folder's


def write(path, data: bytes = b"new") -> None:
    with tg.atomic_file(path) as file:
        file.write(data)


@contextlib.contextmanager
def no_hang(seconds: int = 10):
    """Fail the test, rather than hang the suite, if the block blocks (a FIFO read would)."""
    def alarm(*_):
        raise TimeoutError(f"blocked for {seconds} s")
    previous = signal.signal(signal.SIGALRM, alarm)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


@pytest.fixture
def shared(tmp_path):
    """A sticky folder anyone may write to, like /tmp, and a victim's file outside it."""
    folder = tmp_path / "shared"
    folder.mkdir()
    folder.chmod(0o1777)
    victim = tmp_path / "home" / "precious.npz"
    victim.parent.mkdir()
    victim.write_bytes(b"the victim's work")
    return folder, victim


def plant(link, target, uid) -> None:
    link.symlink_to(target)
    try:
        os.lchown(link, uid, -1)
    except PermissionError:
        pytest.skip("giving a symlink to another user needs root")


@posix_only
@pytest.mark.parametrize("where", ["file", "folder"])
def test_another_users_symlink_in_a_sticky_shared_folder_is_not_followed(shared, where):
    folder, victim = shared
    if where == "file":
        plant(folder / "ck.npz", victim, OTHER)
        path = folder / "ck.npz"
    else:  # a link to a folder, used as a part of the path
        plant(folder / "runs", victim.parent, OTHER)
        path = folder / "runs" / "precious.npz"
    with pytest.raises(PermissionError, match=f"{folder / path.relative_to(folder).parts[0]} is a symlink of another "
                                              f"user \\(uid {OTHER}\\).*sticky folder"):
        write(path, b"overwritten")
    with pytest.raises(PermissionError):
        tg.check_writable(path)
    assert victim.read_bytes() == b"the victim's work"
    assert sorted(p.name for p in victim.parent.iterdir()) == ["precious.npz"]


@posix_only
@pytest.mark.parametrize("owner", ["me", "the folder's owner"])
def test_a_symlink_of_mine_or_of_the_folders_owner_is_followed(shared, owner):
    folder, victim = shared
    os.chown(folder, OTHER + 1, -1)
    plant(folder / "ck.npz", victim, os.geteuid() if owner == "me" else OTHER + 1)
    write(folder / "ck.npz", b"updated")
    assert victim.read_bytes() == b"updated" and (folder / "ck.npz").is_symlink()


@posix_only
@pytest.mark.parametrize("mode", [0o777, 0o1775])  # world-writable but not sticky; sticky but not world-writable
def test_another_users_symlink_elsewhere_is_followed_as_the_kernel_would(tmp_path, mode):
    folder = tmp_path / "f"
    folder.mkdir()
    folder.chmod(mode)
    target = tmp_path / "t.npz"
    target.write_bytes(b"old")
    plant(folder / "ck.npz", target, OTHER)
    write(folder / "ck.npz", b"new")
    assert target.read_bytes() == b"new"


@posix_only
def test_a_chain_of_links_is_checked_link_by_link(shared):
    folder, victim = shared
    mine = folder / "mine.npz"
    plant(mine, folder / "theirs.npz", os.geteuid())
    plant(folder / "theirs.npz", victim, OTHER)  # my link leads to theirs, which leads to the victim
    with pytest.raises(PermissionError, match="theirs.npz is a symlink of another user"):
        write(mine)
    assert victim.read_bytes() == b"the victim's work"


@posix_only
def test_a_loop_of_symlinks_is_one_clear_error(tmp_path):
    (tmp_path / "a").symlink_to(tmp_path / "b")
    (tmp_path / "b").symlink_to(tmp_path / "a")
    with pytest.raises(OSError, match="too many levels of symlinks"):
        tg.check_writable(tmp_path / "a")


@posix_only
def test_another_users_file_in_a_sticky_folder_is_refused_before_any_work(shared, monkeypatch):
    folder, _ = shared
    theirs = folder / "ck.npz"
    theirs.write_bytes(b"theirs")
    os.chown(theirs, OTHER, -1)
    monkeypatch.setattr(os, "geteuid", lambda: OTHER + 7)  # not root, not the owner of file or folder
    with pytest.raises(PermissionError, match=f"belongs to another user \\(uid {OTHER}\\) in the sticky folder"):
        tg.check_writable(theirs)
    monkeypatch.setattr(os, "geteuid", lambda: OTHER)  # its owner may
    assert tg.check_writable(theirs) == str(theirs)
    os.chown(theirs, OTHER + 1, -1)
    os.chown(folder, OTHER, -1)  # so may the folder's owner
    assert tg.check_writable(theirs) == str(theirs)


@posix_only
def test_a_symlink_into_a_missing_folder_names_the_folder_it_leads_to(tmp_path):
    link = tmp_path / "ck.npz"
    link.symlink_to(tmp_path / "gone" / "deeper" / "ck.npz")
    with pytest.raises(FileNotFoundError, match=f"the folder {tmp_path / 'gone' / 'deeper'} does not exist"):
        tg.check_writable(link)


@pytest.mark.parametrize("length", [230, 241, 244, 255])
def test_a_name_as_long_as_the_file_system_allows_is_written(tmp_path, length):
    path = tmp_path / ("n" * (length - 4) + ".npz")
    write(path, b"one")
    write(path, b"two")
    assert path.read_bytes() == b"two" and [p.name for p in tmp_path.iterdir()] == [path.name]


def test_a_name_too_long_is_refused_before_any_work(tmp_path):
    path = tmp_path / ("n" * 300 + ".png")
    with pytest.raises(OSError, match="304 bytes long, more than the 255") as err:
        tg.check_writable(path)
    assert str(err.value).count(path.name) == 1  # the name once
    with pytest.raises(OSError, match="304 bytes long"):
        write(path)
    assert list(tmp_path.iterdir()) == []


# ------------------------------------------------------------------------------ temporary files
WRITER = ("import os, signal, sys, tinygrad_edu as tg\n"
          "with tg.atomic_file(sys.argv[1]) as f:\n"
          "    f.write(b'x' * 1000); f.flush(); print('writing', flush=True)\n"
          "    sys.stdin.readline() if sys.argv[2] == 'wait' else os.kill(os.getpid(), signal.SIGKILL)\n")


@posix_only
@pytest.mark.parametrize("length", [6, 250])  # a long name's temporary file has a hashed name
def test_a_killed_writers_temporary_file_goes_and_a_live_writers_stays(tmp_path, length):
    path = tmp_path / ("c" * (length - 4) + ".npz")
    killed = subprocess.run([sys.executable, "-c", WRITER, str(path), "kill"], capture_output=True, timeout=60)
    assert killed.returncode == -9
    [stale] = [p for p in tmp_path.iterdir()]
    assert stale.name.endswith(".tmp")
    live = subprocess.Popen([sys.executable, "-c", WRITER, str(path), "wait"], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)
    try:
        assert live.stdout.readline() == "writing\n"
        [temporary] = [p for p in tmp_path.iterdir() if p != stale]
        other = tmp_path / ".other.npz.abcd1234.tmp"  # not of this name: left alone
        other.write_bytes(b"someone else's")
        write(path, b"done")
        # the killed writer's file went; the live one's stays, though its process id is nothing to go by
        assert sorted(p.name for p in tmp_path.iterdir()) == sorted([path.name, temporary.name, other.name])
    finally:
        live.communicate("go\n", timeout=60)
    assert live.returncode == 0 and path.read_bytes() == b"x" * 1000  # the live writer finished its write
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([path.name, other.name])


@posix_only
def test_the_folder_is_synced_after_the_rename(tmp_path, monkeypatch):
    synced, real_fsync = [], os.fsync

    def fsync(fd):
        synced.append((stat.S_ISDIR(os.fstat(fd).st_mode), (tmp_path / "a.bin").exists()))
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    write(tmp_path / "a.bin")
    assert synced == [(False, False), (True, True)]  # the file's data before the rename, the folder's entry after


# ------------------------------------------------------------------------------ reading
def test_a_regular_file_is_opened_for_reading(tmp_path):
    path = tmp_path / "a.bin"
    path.write_bytes(b"data")
    with tg.open_regular(path) as file:
        assert file.read() == b"data"


@posix_only
def test_a_fifo_or_a_device_is_refused_before_reading(tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    with no_hang():
        for special in (fifo, "/dev/zero", "/dev/null"):
            with pytest.raises(files.SpecialFileError, match=f"{special}: it is a special file"):
                tg.open_regular(special)
    with pytest.raises(IsADirectoryError):
        tg.open_regular(tmp_path)
    with pytest.raises(FileNotFoundError):
        tg.open_regular(tmp_path / "missing")
