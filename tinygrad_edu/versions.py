"""Memory and versions: how the engine notices that a value an op kept was changed in place.

A tensor's array lives in a `Storage`, shared by every tensor that views the same memory (a
reshape, a basic index, a ``detach()``). Each in-place change moves the storage's version on. An op
notes the versions of its inputs' and its output's memory when it runs, and backward refuses an op
whose kept values have changed since, as PyTorch does, instead of computing a gradient from values
the forward never saw. Nothing here is needed to follow the lecture: it keeps in-place changes
(``+=``, ``t[i] = v``, an optimizer's update) from giving silently wrong gradients.
"""

from __future__ import annotations

import numpy as np


class Storage:
    """The memory a tensor's array lives in, shared by every tensor viewing it, and how often it was
    changed in place (its version)."""

    __slots__ = ("owner", "version", "shared")

    def __init__(self, array: np.ndarray):
        self.owner = array if array.base is None else array.base  # the array (or object) owning the memory
        self.version = 0
        self.shared = False  # another tensor views the same memory (a view, a detach())


def share_memory(inputs, result) -> None:
    """An op's result that is a view of an input (reshape, basic index, ...) shares its storage, so a
    change through either is seen by both."""
    base = result.data.base
    if base is not None:
        for t in inputs:
            if t._storage.owner is base:
                result._storage = t._storage
                t._storage.shared = True


def note_versions(fn, inputs, result) -> None:
    """Remember the versions of the memory ``fn`` read and wrote, for `check_unchanged`."""
    fn.versions = [(t._storage, t._storage.version) for t in (*inputs, result)]


def check_unchanged(fn) -> None:
    """Refuse to run ``fn.backward`` if a value it depends on was changed in place after ``fn`` ran.

    Two cases. A version ``fn`` noted has moved on, and ``fn`` kept that memory for its backward (an
    array stored on ``fn`` is, or views, it): backward would compute with the new values. Or an input
    was changed in place by a recorded op, and now leads back through that op, not to what ``fn`` saw.
    """
    for i, (storage, version) in enumerate(fn.versions):
        if storage.version != version and _keeps(fn, storage.owner):
            raise _changed_error(fn, i, storage, version)
    for parent in fn.parents:
        if parent._ctx is not None and parent._ctx.sequence_number > fn.sequence_number:
            raise _overwritten_error(fn, parent)


def _keeps(fn, owner) -> bool:
    """Whether ``fn`` stored, for its backward, an array in the memory that ``owner`` owns."""
    for value in vars(fn).values():
        for array in value if isinstance(value, (tuple, list)) else (value,):
            if isinstance(array, np.ndarray) and (array if array.base is None else array.base) is owner:
                return True
    return False


def _changed_error(fn, i: int, storage: Storage, version: int) -> RuntimeError:
    name, what = type(fn).__name__, "its output" if i == len(fn.parents) else f"its input {i}"
    return RuntimeError(
        f"{name}.backward needs a value that was changed by an in-place operation after {name} ran "
        f"({what}, version {version}, now {storage.version}); change a clone() instead, or change it "
        "after backward"
    )


def _overwritten_error(fn, parent) -> RuntimeError:
    name = type(fn).__name__
    return RuntimeError(
        f"{name} used a tensor that was later changed in place (by {type(parent._ctx).__name__}); "
        "backward through both values is not supported: change a clone() of it instead"
    )
