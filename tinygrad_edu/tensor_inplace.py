"""In-place changes of a `Tensor` (``+=``, ``add_``, ``t[i] = v``, ``copy_``, ...), with PyTorch's rules.

They all go through `InPlace._modify_in_place`, which protects leaves that require grad, overwrites
the tensor's own array (so views and detached copies see the change) and moves its memory's
version on, so that backward refuses an op that kept the old value (versions.py).
"""

from __future__ import annotations

import operator

import numpy as np

from . import ops, promotion
from .autograd import _mode, is_grad_enabled
from .promotion import as_dtype, as_tensor, index_arrays


class InPlace:
    """Mixed into `Tensor` (tensor.py): every way to change a tensor's values in place."""

    __slots__ = ()

    def _modify_in_place(self, name: str, compute, *operands) -> "Tensor":
        """Every in-place change goes through here: ``self`` takes the value ``compute(self, *operands)``.

        PyTorch's rules. A leaf that requires grad cannot change while the graph is recorded (the
        ops that used it would refer to a value it no longer has). Otherwise the tensor's own array
        is overwritten, so its views and detached copies see the change, and its version goes up,
        so that backward refuses an op that kept the old value. A change that itself needs a gradient
        is recorded: ``compute`` runs on a copy of the old value, and ``self`` becomes its result.
        """
        recording = is_grad_enabled() and (
            self._requires_grad or any(isinstance(x, promotion.Tensor) and x._requires_grad for x in operands)
        )
        if recording and self.is_leaf and self._requires_grad:
            raise RuntimeError(
                f"{name}: a leaf that requires grad cannot be changed in place; do it inside `with tg.no_grad():`"
            )
        if recording and self._storage.shared:
            raise RuntimeError(
                f"{name}: this tensor shares its memory with another (a view or a detach()), so its change "
                "cannot be recorded for backward; change a clone() instead"
            )
        if not self.data.flags.writeable:
            raise RuntimeError(f"{name}: this tensor's array is read-only (made by expand(), or a read-only "
                               "NumPy array); change a clone() instead")
        old = promotion.Tensor._result(self.data.copy(), self._ctx) if recording else self
        # x.add_(x): the operand is x's old value too; self would be the new one, an op its own input
        new = compute(old, *[old if x is self else x for x in operands])
        if new.shape != self.shape:
            raise RuntimeError(f"{name}: the result has shape {new.shape}, but the tensor changed in place has "
                               f"shape {self.shape} (broadcasting may not grow it)")
        if not np.can_cast(new.dtype, self.dtype, "same_kind"):
            raise RuntimeError(f"{name}: the result is {new.dtype}, which cannot be stored in this {self.dtype} "
                               f"tensor; use .to({new.dtype}) first")
        self.data[...] = new.data
        self._storage.version += 1
        if recording:  # self now holds new's value: it is what new is (a constant, if no gradient flows into it)
            self._ctx, self._requires_grad = new._ctx, new._requires_grad
        if _mode.observer is not None:
            _mode.observer.in_place(self, new)
        return self

    def add_(self, other):
        return self._modify_in_place("add_", operator.add, other)

    def sub_(self, other):
        return self._modify_in_place("sub_", operator.sub, other)

    def mul_(self, other):
        return self._modify_in_place("mul_", operator.mul, other)

    def div_(self, other):
        return self._modify_in_place("div_", operator.truediv, other)

    def clamp_(self, min=None, max=None):
        _require_a_bound("clamp_", min, max)
        return self._modify_in_place("clamp_", lambda t: t.clamp(min, max))

    def copy_(self, src):
        """Overwrite with ``src`` (broadcast to this shape, cast to this dtype); the gradient flows to ``src``."""
        return self._overwrite("copy_", src)

    def fill_(self, value):
        return self._overwrite("fill_", promotion.Tensor._constant(np.asarray(value, dtype=self.dtype)))

    def zero_(self):
        return self._overwrite("zero_", promotion.Tensor._constant(np.zeros((), dtype=self.dtype)))

    def _overwrite(self, name: str, src):
        """``copy_``, under the name of the op the user called (so that its errors name that op)."""
        return self._modify_in_place(name, lambda t, s: as_tensor(s).to(t.dtype).expand(t.shape), src)

    def __setitem__(self, index, value):
        index = index_arrays(index)
        self._modify_in_place("setitem", lambda t, v: ops.IndexPut.apply(t, as_dtype(v, t.dtype), index=index), value)

    def __iadd__(self, other):
        return self.add_(other)

    def __isub__(self, other):
        return self.sub_(other)

    def __imul__(self, other):
        return self.mul_(other)

    def __itruediv__(self, other):
        return self.div_(other)


def _require_a_bound(name: str, min, max) -> None:
    if min is None and max is None:
        raise ValueError(f"{name}() needs at least one of min and max")
