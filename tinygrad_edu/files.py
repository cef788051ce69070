"""Writing files all or nothing: a crash mid-write leaves the old file (or none), never half of one."""

from __future__ import annotations

import contextlib
import os
import re
import stat
import tempfile


def check_writable(path) -> str:
    """The file that writing ``path`` replaces: ``path``, or the file its symlinks lead to; else a clear OSError.

    Only a regular file, or nothing, is replaced: a device such as /dev/null, a FIFO or a folder is
    refused, since putting a new file in its place would not write to it. The folder must exist.
    Call it before long work, so that a bad destination is reported before, not after.
    """
    target = os.path.realpath(path)  # writing over a symlink updates the file it points to
    try:
        mode = os.stat(target).st_mode
    except FileNotFoundError:
        folder = os.path.dirname(target)
        if not os.path.isdir(folder):
            raise FileNotFoundError(f"cannot write {path}: the folder {os.path.dirname(os.path.abspath(path))} "
                                    "does not exist (create it first)") from None
        if not os.access(folder, os.W_OK | os.X_OK):
            raise PermissionError(f"cannot write {path}: no permission to create files in {folder}") from None
        return target
    if stat.S_ISDIR(mode):
        raise IsADirectoryError(f"cannot write {path}: it is a folder; give a file name")
    if not stat.S_ISREG(mode):
        raise OSError(f"cannot write {path}: it is a special file (a device, FIFO or socket), not a regular "
                      "file; only regular files are replaced")
    if not os.access(os.path.dirname(target), os.W_OK | os.X_OK):
        raise PermissionError(f"cannot write {path}: no permission to replace files in {os.path.dirname(target)}")
    return target


@contextlib.contextmanager
def atomic_file(path):
    """Open a temporary file beside ``path`` for binary writing; it replaces ``path`` only if the block succeeds.

    The temporary file lives in the same folder, so the final ``os.replace`` is a rename within one
    file system, which is atomic. If the block raises (a failed checksum, a full disk, Ctrl-C),
    the temporary file is removed and ``path`` is untouched. ``path`` may be a regular file (whose
    permissions the new one keeps), a symlink (its target is replaced) or new; see `check_writable`.
    Temporary files left by a process killed mid-write (``kill -9``) are removed on the next write.
    """
    target = check_writable(path)
    folder, name = os.path.split(target)
    _remove_stale_temporaries(folder, name)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{name}.{os.getpid()}.", suffix=".tmp")
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
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def _remove_stale_temporaries(folder: str, name: str) -> None:
    """Delete ``.NAME.PID.*.tmp`` files in ``folder`` whose writing process no longer runs."""
    if os.name != "posix":
        return  # elsewhere os.kill(pid, 0) does not just ask: leave them
    ours = re.compile(rf"\.{re.escape(name)}\.(\d+)\.\w+\.tmp")
    for entry in os.scandir(folder):
        match = ours.fullmatch(entry.name)
        if match and not _running(int(match.group(1))):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(entry.path)


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)  # signal 0 only asks whether the process exists
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # it exists, under another user
    return True


def _umask() -> int:
    """The process's file-creation mask (reading it means setting it, so it is set straight back)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask
