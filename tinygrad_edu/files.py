"""Writing files all or nothing: a crash mid-write leaves the old file (or none), never half of one."""

from __future__ import annotations

import contextlib
import os
import tempfile


@contextlib.contextmanager
def atomic_file(path):
    """Open a temporary file beside ``path`` for binary writing; it replaces ``path`` only if the block succeeds.

    The temporary file lives in the same folder, so the final ``os.replace`` is a rename within one
    file system, which is atomic. If the block raises (a failed checksum, a full disk, Ctrl-C),
    the temporary file is removed and ``path`` is untouched.
    """
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{os.path.basename(path)}.", suffix=".tmp")
    try:
        # mkstemp makes the file private (0600); give it the permissions open() would have.
        os.chmod(tmp, 0o666 & ~_umask())
        with os.fdopen(fd, "wb") as file:
            yield file
            file.flush()
            os.fsync(file.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def _umask() -> int:
    """The process's file-creation mask (reading it means setting it, so it is set straight back)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask
