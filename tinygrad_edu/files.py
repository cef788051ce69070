"""Reading and writing files safely: writes are all or nothing, reads open only regular files.

A crash mid-write leaves the old file (or none), never half of one; a write never follows a
symlink that another user planted in a shared folder; a read never waits on a FIFO or reads a
device without end.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import re
import stat
import tempfile

try:
    import fcntl  # POSIX: a writer's lock on its temporary file tells a live writer from a killed one
except ImportError:  # pragma: no cover - Windows
    fcntl = None

_MAX_LINKS = 40  # as Linux: more symlinks than this on one path is a loop
_RANDOM = "XXXXXXXX.tmp"  # what tempfile.mkstemp adds after the prefix we give it (8 random characters)


class SpecialFileError(OSError):
    """A device, FIFO or socket where a regular file is needed: its message names the path."""


def open_regular(path):
    """Open ``path`` for binary reading, only if it is a regular file (or a symlink to one).

    A FIFO would block the read until some other process writes to it, and a device such as
    /dev/zero never ends: both are refused (`SpecialFileError`) before a byte is read. The file
    is opened first and checked after, so it cannot be swapped between the check and the read.
    """
    # O_NONBLOCK: opening a FIFO returns at once instead of waiting for a writer.
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    try:
        mode = os.fstat(fd).st_mode
        if stat.S_ISDIR(mode):
            raise IsADirectoryError(errno.EISDIR, "it is a folder, not a file", os.fspath(path))
        if not stat.S_ISREG(mode):
            raise SpecialFileError(f"{path}: it is a special file (a device, FIFO or socket), not a regular file; "
                                   "only regular files are read")
        if hasattr(os, "set_blocking"):
            os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def check_writable(path) -> str:
    """The file that writing ``path`` replaces: ``path``, or the file its symlinks lead to; else a clear OSError.

    Only a regular file, or nothing, is replaced: a device such as /dev/null, a FIFO or a folder is
    refused, since putting a new file in its place would not write to it. The folder must exist.
    A symlink in a sticky folder that anyone may write to (such as /tmp) is followed only if it
    belongs to you or to the folder's owner, as the kernel's ``protected_symlinks`` rule does:
    another user's link there could point anywhere, at a file of yours. In such a folder another
    user's file is not replaced either (the kernel would refuse the rename). A name too long for
    the file system, counting the temporary file's, is refused. Call it before long work, so that
    a bad destination is reported before, not after.
    """
    target = _resolve(path)  # writing over a symlink updates the file it points to
    folder, name = os.path.split(target)
    try:
        info = os.stat(target)
    except FileNotFoundError:
        if not os.path.isdir(folder):
            raise FileNotFoundError(f"cannot write {path}: the folder {folder} does not exist (create it first)") from None
        if not os.access(folder, os.W_OK | os.X_OK):
            raise PermissionError(f"cannot write {path}: no permission to create files in {folder}") from None
        _check_name_length(path, folder, name)
        return target
    except OSError as err:
        if err.errno == errno.ENAMETOOLONG:
            _check_name_length(path, folder, name)
        raise OSError(f"cannot write {path}: {err.strerror}") from None
    if stat.S_ISDIR(info.st_mode):
        raise IsADirectoryError(f"cannot write {path}: it is a folder; give a file name")
    if not stat.S_ISREG(info.st_mode):
        raise OSError(f"cannot write {path}: it is a special file (a device, FIFO or socket), not a regular "
                      "file; only regular files are replaced")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise PermissionError(f"cannot write {path}: no permission to replace files in {folder}")
    shared = os.stat(folder)
    if os.name == "posix" and shared.st_mode & stat.S_ISVTX and os.geteuid() not in (0, info.st_uid, shared.st_uid):
        raise PermissionError(f"cannot write {path}: {target} belongs to another user (uid {info.st_uid}) in the "
                              f"sticky folder {folder}, where only its owner may replace it")
    _check_name_length(path, folder, name)
    return target


def identity(path):
    """What the file at ``path`` (or where its symlinks lead) is now: (device, inode, size, modification time),
    or None if there is none. Compared later, it tells whether another program has replaced or changed it."""
    try:
        info = os.stat(path)
    except FileNotFoundError:
        return None
    return info.st_dev, info.st_ino, info.st_size, info.st_mtime_ns


@contextlib.contextmanager
def atomic_file(path, expect=False):
    """Open a temporary file beside ``path`` for binary writing; it replaces ``path`` only if the block succeeds.

    The temporary file lives in the same folder, so the final ``os.replace`` is a rename within one
    file system, which is atomic; the folder is then synced, so that a power cut cannot undo the
    rename. If the block raises (a failed checksum, a full disk, Ctrl-C), the temporary file is
    removed and ``path`` is untouched. ``path`` may be a regular file (whose permissions the new
    one keeps), a symlink (its target is replaced) or new; see `check_writable`. The writer holds
    a lock on its temporary file: one left by a process killed mid-write (``kill -9``) is unlocked
    and removed on the next write, while a live writer's is kept, whatever its process id (a
    container sharing the folder has process ids of its own).

    ``expect``, if given, is the `identity` the file must still have (None: that it must still not
    exist) when it is replaced: if another program wrote it in the meantime, a FileExistsError
    keeps that program's file rather than silently replacing it.
    """
    target = check_writable(path)
    folder, name = os.path.split(target)
    prefix = _temporary_prefix(folder, name)
    _remove_stale_temporaries(folder, prefix)
    fd, tmp = _locked_temporary(folder, prefix)
    try:
        try:
            mode = stat.S_IMODE(os.stat(target).st_mode)  # keep the permissions of the file replaced
        except FileNotFoundError:
            mode = 0o666 & ~_umask()  # or give those open() would (mkstemp makes files private, 0600)
        os.chmod(tmp, mode)
        with os.fdopen(fd, "wb") as file:
            yield file
            file.flush()
            os.fsync(file.fileno())
            if expect is not False and identity(target) != expect:
                raise FileExistsError(f"not replacing {path}: another program has written it since this one "
                                      "last wrote or checked it (another run saving to the same file?); it keeps "
                                      "that program's contents")
            os.replace(tmp, target)  # while the lock is held: the file is never unlocked under its temporary name
        _sync_folder(folder)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def _resolve(path) -> str:
    """The absolute path ``path`` leads to, its symlinks followed one by one as the kernel would follow them.

    Like ``os.path.realpath``, except that a symlink in a sticky, world-writable folder is
    followed only if it belongs to us or to the folder's owner (Linux's ``fs.protected_symlinks``).
    A missing part ends the resolution: the rest is taken as written.
    """
    if os.name != "posix":
        return os.path.realpath(path)  # no sticky folders, no uids to compare
    todo = list(reversed(os.path.join(os.getcwd(), os.fspath(path)).split(os.sep)))
    done, links = os.sep, 0
    while todo:
        part = todo.pop()
        if part in ("", "."):
            continue
        if part == "..":
            done = os.path.dirname(done)
            continue
        candidate = os.path.join(done, part)
        try:
            info = os.lstat(candidate)
        except OSError:  # missing (or not a folder): nothing further to follow
            done = candidate
            continue
        if not stat.S_ISLNK(info.st_mode):
            done = candidate
            continue
        links += 1
        if links > _MAX_LINKS:
            raise OSError(f"cannot write {path}: too many levels of symlinks (a loop?)")
        shared = os.stat(done)
        if (shared.st_mode & stat.S_ISVTX and shared.st_mode & stat.S_IWOTH
                and info.st_uid not in (os.geteuid(), shared.st_uid)):
            raise PermissionError(f"cannot write {path}: {candidate} is a symlink of another user (uid {info.st_uid}) "
                                  f"in {done}, a sticky folder anyone may write to; it is not followed, since it "
                                  "could lead to any file of yours (remove it, or give another name)")
        target = os.readlink(candidate)
        if os.path.isabs(target):
            done = os.sep
        todo.extend(reversed(target.split(os.sep)))
    return done


def _name_max(folder: str) -> int:
    try:
        return os.pathconf(folder, "PC_NAME_MAX")
    except (AttributeError, ValueError, OSError):
        return 255


def _check_name_length(path, folder: str, name: str) -> None:
    longest = _name_max(folder) if os.path.isdir(folder) else 255
    if len(os.fsencode(name)) > longest:
        raise OSError(f"cannot write {path}: the name {name[:20]}... is {len(os.fsencode(name))} bytes long, "
                      f"more than the {longest} this file system allows")


def _temporary_prefix(folder: str, name: str) -> str:
    """``.NAME.``, the start of the temporary file's name, or ``.HASH.`` where that name would be too long."""
    prefix = f".{name}."
    if len(os.fsencode(prefix + _RANDOM)) > _name_max(folder):
        prefix = f".{hashlib.sha256(os.fsencode(name)).hexdigest()[:16]}."
    return prefix


def _locked_temporary(folder: str, prefix: str) -> tuple:
    """(descriptor, path) of a new temporary file, locked for as long as the descriptor is open."""
    while True:
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=prefix, suffix=".tmp")
        if fcntl is None:
            return fd, tmp
        fcntl.flock(fd, fcntl.LOCK_EX)
        try:  # a clean-up that ran between mkstemp and flock may have taken the file for a dead writer's
            if os.stat(tmp).st_ino == os.fstat(fd).st_ino:
                return fd, tmp
        except FileNotFoundError:
            pass
        os.close(fd)


def _remove_stale_temporaries(folder: str, prefix: str) -> None:
    """Delete the temporary files of ``path`` in ``folder`` that no writer holds locked (their writer was killed)."""
    if fcntl is None:
        return  # no flock: leave them
    ours = re.compile(re.escape(prefix) + r"[a-z0-9_]{8}\.tmp")
    for entry in os.scandir(folder):
        if not ours.fullmatch(entry.name):
            continue
        try:
            fd = os.open(entry.path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
        except OSError:
            continue
        try:
            if stat.S_ISREG(os.fstat(fd).st_mode):
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # fails while its writer lives
                os.unlink(entry.path)
        except OSError:  # locked (BlockingIOError), or already gone
            pass
        finally:
            os.close(fd)


def _sync_folder(folder: str) -> None:
    """Flush the folder's entry list to disk, so that a rename survives a power cut (where the system allows)."""
    try:
        fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return  # not possible here (Windows): the rename is still atomic, only perhaps not yet durable
    try:
        os.fsync(fd)
    except OSError:
        pass  # some file systems cannot sync a folder
    finally:
        os.close(fd)


def _umask() -> int:
    """The process's file-creation mask (reading it means setting it, so it is set straight back)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask
