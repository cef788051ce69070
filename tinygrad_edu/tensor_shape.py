"""More of PyTorch's tensor API for rearranging and selecting elements, with PyTorch's semantics:
split, chunk, sort, topk, roll, flip, tril/triu, diagonal, masked_fill, repeat_interleave, scatter,
index_select, nonzero, ...

`ShapeMethods` is mixed into `Tensor` (tensor.py). Most methods are indexing or reshaping in
disguise, built from the ops that already exist (an index array, a view, a where), so their
gradients are those ops' own; scatter and diagonal are ops of their own.
"""

from __future__ import annotations

from collections import namedtuple

import numpy as np

from . import ops, promotion
from .promotion import as_dtype, as_tensor

SortResult = namedtuple("SortResult", ["values", "indices"])
TopkResult = namedtuple("TopkResult", ["values", "indices"])


def _axis(dim, ndim) -> int:
    return ops.dim_to_axis(dim, ndim)


def _ints(values, name: str) -> np.ndarray:
    """An index given as a tensor, array or list, as a 1-D int64 array."""
    array = np.asarray(values.data if isinstance(values, promotion.Tensor) else values)
    if array.dtype.kind not in "iu" and array.size:
        raise TypeError(f"{name}: the index must hold integers, got {array.dtype}")
    return np.atleast_1d(array).astype(np.int64)


class ShapeMethods:
    """Mixed into `Tensor` (tensor.py): PyTorch's methods that rearrange, select and scatter elements."""

    __slots__ = ()

    # ------------------------------------------------------------------ selecting along a dim
    def index_select(self, dim: int, index):
        """The slices at ``index`` (1-D integers) along ``dim``: ``x.index_select(1, [2, 0])`` is ``x[:, [2, 0]]``."""
        axis = _axis(dim, self.ndim)
        return self[(slice(None),) * axis + (_ints(index, "index_select"),)]

    def narrow(self, dim: int, start: int, length: int):
        """The ``length`` slices from ``start`` along ``dim`` (a view, as in PyTorch)."""
        axis = _axis(dim, self.ndim)
        if not 0 <= length <= self.shape[axis] - (start % self.shape[axis] if self.shape[axis] else 0):
            raise IndexError(f"narrow: {length} slices from {start} do not fit dim {dim} of size {self.shape[axis]}")
        start = start % self.shape[axis] if self.shape[axis] else 0
        return self[(slice(None),) * axis + (slice(start, start + length),)]

    def split(self, split_size_or_sections, dim: int = 0) -> tuple:
        """Pieces along ``dim``: of ``split_size`` each (the last one shorter), or of the sizes in a list."""
        axis = _axis(dim, self.ndim)
        n = self.shape[axis]
        if isinstance(split_size_or_sections, (int, np.integer)):
            size = int(split_size_or_sections)
            if size <= 0:
                raise ValueError(f"split: the size of a piece must be positive, got {size}")
            sizes = [size] * (n // size) + ([n % size] if n % size else [])
        else:
            sizes = [int(s) for s in split_size_or_sections]
            if sum(sizes) != n:
                raise RuntimeError(f"split: the sizes {sizes} add up to {sum(sizes)}, not to the {n} of dim {dim}")
        starts = np.cumsum([0] + sizes[:-1])
        return tuple(self.narrow(axis, int(start), size) for start, size in zip(starts, sizes))

    def chunk(self, chunks: int, dim: int = 0) -> tuple:
        """``chunks`` pieces of equal size along ``dim`` (the last one smaller; fewer if the dim is short)."""
        if chunks <= 0:
            raise ValueError(f"chunk: chunks must be positive, got {chunks}")
        n = self.shape[_axis(dim, self.ndim)]
        return self.split(max(-(-n // chunks), 1), dim)

    def unbind(self, dim: int = 0) -> tuple:
        """The slices along ``dim``, each without that dim."""
        axis = _axis(dim, self.ndim)
        return tuple(self[(slice(None),) * axis + (i,)] for i in range(self.shape[axis]))

    def masked_fill(self, mask, value):
        """``value`` where ``mask`` (bool, broadcast to this shape) is True, the tensor's own values elsewhere.
        The dtype stays the tensor's; a 0-d tensor ``value`` gets the gradient of the places it fills."""
        mask = np.asarray(mask._read("masked_fill") if isinstance(mask, promotion.Tensor) else mask)
        if mask.dtype != np.bool_:
            raise TypeError(f"masked_fill: the mask must be bool, got {mask.dtype}; compare first, e.g. x > 0")
        return ops.Where.apply(as_dtype(value, self.dtype), self, condition=mask)

    def tril(self, diagonal: int = 0):
        """The lower triangle of the last two dims: zeros above the ``diagonal``-th diagonal."""
        return self._triangle(np.tri(*self._matrix_shape("tril"), k=diagonal, dtype=bool))

    def triu(self, diagonal: int = 0):
        """The upper triangle of the last two dims: zeros below the ``diagonal``-th diagonal."""
        return self._triangle(~np.tri(*self._matrix_shape("triu"), k=diagonal - 1, dtype=bool))

    def _matrix_shape(self, name) -> tuple:
        if self.ndim < 2:
            raise RuntimeError(f"{name}: needs a tensor with at least 2 dims, got shape {self.shape}")
        return self.shape[-2:]

    def _triangle(self, keep: np.ndarray):
        return self.masked_fill(~keep, 0)

    def diagonal(self, offset: int = 0, dim1: int = 0, dim2: int = 1):
        """The elements x[i, i + offset] of the dims ``dim1`` and ``dim2``, as a last dim (a read-only view)."""
        a1, a2 = _axis(dim1, self.ndim), _axis(dim2, self.ndim)
        if a1 == a2:
            raise RuntimeError(f"diagonal: dim1 and dim2 are the same dim ({dim1}, {dim2})")
        return ops.Diagonal.apply(self, offset=offset, axes=(a1, a2))

    # --------------------------------------------------------------------------- repeating
    def repeat_interleave(self, repeats, dim=None):
        """Each element (each slice along ``dim``; of the flattened tensor without one) repeated ``repeats``
        times: an int, or one count per element."""
        x, axis = (self.reshape(-1), 0) if dim is None else (self, _axis(dim, self.ndim))
        counts = _ints(repeats, "repeat_interleave")
        if (counts < 0).any():
            raise RuntimeError("repeat_interleave: repeats must be ≥ 0")
        return x.index_select(axis, np.repeat(np.arange(x.shape[axis]), counts if counts.size > 1 else int(counts[0])))

    def roll(self, shifts, dims=None):
        """Elements shifted along ``dims`` by ``shifts``, those pushed off the end coming back at the start;
        without ``dims``, along the flattened tensor."""
        if dims is None:
            return self.reshape(-1).roll(shifts, 0).reshape(self.shape)
        shifts = (shifts,) if isinstance(shifts, (int, np.integer)) else tuple(shifts)
        dims = (dims,) if isinstance(dims, (int, np.integer)) else tuple(dims)
        if len(shifts) != len(dims):
            raise RuntimeError(f"roll: {len(shifts)} shifts for {len(dims)} dims")
        out = self
        for shift, dim in zip(shifts, dims):
            axis = _axis(dim, self.ndim)
            n = self.shape[axis]
            out = out.index_select(axis, (np.arange(n) - shift) % n if n else np.arange(0))
        return out

    def flip(self, dims):
        """The order of the elements reversed along ``dims`` (a copy, as in PyTorch)."""
        axes = ops.dims_to_axes(dims, self.ndim)
        return self[tuple(slice(None, None, -1) if a in axes else slice(None) for a in range(self.ndim))].clone()

    # --------------------------------------------------------------------------- ordering
    def sort(self, dim: int = -1, descending: bool = False, stable: bool = False) -> SortResult:
        """(values, indices) sorted along ``dim``; equal values keep their order. The gradient flows to the values."""
        if self.ndim == 0:
            return SortResult(self.clone(), promotion.Tensor._constant(np.zeros((), dtype=np.int64)))
        axis = _axis(dim, self.ndim)
        data = self._read("sort()")
        if descending:  # the reversed array sorted up, read backwards: NaN comes first and ties keep their order,
            n = data.shape[axis]  # as in PyTorch (sorting -data would put NaN last and wrap the smallest integer)
            order = n - 1 - np.flip(np.argsort(np.flip(data, axis), axis=axis, kind="stable"), axis)
        else:
            order = np.argsort(data, axis=axis, kind="stable")
        indices = promotion.Tensor._constant(order)
        return SortResult(self.gather(axis, indices), indices)

    def argsort(self, dim: int = -1, descending: bool = False, stable: bool = False):
        """The indices that sort ``dim``."""
        return self.sort(dim, descending, stable).indices

    def topk(self, k: int, dim: int = -1, largest: bool = True, sorted: bool = True) -> TopkResult:
        """(values, indices) of the ``k`` largest (``largest=False``: smallest) along ``dim``, largest first."""
        axis = _axis(dim, self.ndim)
        n = self.shape[axis] if self.ndim else 1
        if not 0 <= k <= n:
            raise RuntimeError(f"topk: k = {k} is more than the {n} elements along dim {dim}")
        values, indices = self.sort(axis, descending=largest)
        return TopkResult(values.narrow(axis, 0, k), indices.narrow(axis, 0, k))

    def nonzero(self, as_tuple: bool = False):
        """The indices of the nonzero elements: one row per element, (count, dims) int64; or one tensor per dim."""
        found = np.argwhere(self._read("nonzero()"))
        if as_tuple:
            return tuple(promotion.Tensor._constant(found[:, d].copy()) for d in range(found.shape[1]))
        return promotion.Tensor._constant(found.astype(np.int64))

    # ---------------------------------------------------------------------------- scatter
    def scatter(self, dim: int, index, src=None, *, value=None, reduce=None):
        """A copy with ``src``'s values (or the number ``value``) written along ``dim`` at ``index``:
        for dim = 1, out[i][index[i][j]] = src[i][j]."""
        if reduce is not None:
            raise NotImplementedError("scatter(reduce=...) is not supported; use scatter_add for 'add'")
        if (src is None) == (value is None):
            raise TypeError("scatter: give src (a tensor or a number) or value, one of them")
        return self._scatter("scatter", dim, index, value if src is None else src, add=False)

    def scatter_add(self, dim: int, index, src):
        """A copy with ``src``'s values added along ``dim`` at ``index`` (an index met twice adds twice)."""
        return self._scatter("scatter_add", dim, index, src, add=True)

    def _scatter(self, name, dim, index, src, add):
        index = as_tensor(index)
        if isinstance(src, promotion.Tensor):
            if src.dtype != self.dtype:
                raise RuntimeError(f"{name}: src is {src.dtype} but the tensor is {self.dtype}; they must be the same "
                                   "dtype, as in PyTorch (convert one, e.g. src.to(x.dtype))")
        else:  # a number, written everywhere index points
            src = promotion.Tensor._constant(np.full(index.shape, src, dtype=self.dtype))
        return ops.Scatter.apply(self, src, index, dim=dim, add=add)
