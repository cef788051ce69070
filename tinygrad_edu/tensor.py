"""`Tensor`: a NumPy array that remembers how it was computed, so gradients can flow back through it.

The arithmetic lives in `ops.py` (one `Function` per op, forward and backward side by side); the
graph walk lives in `autograd.py`. This file wires the two to a friendly, PyTorch-like API, and
changes tensors in place through one method, `Tensor._modify_in_place`, which keeps PyTorch's rules.
"""

from __future__ import annotations

import html
from collections import namedtuple

import numpy as np

from . import ops
from .autograd import Function, _mode, is_grad_enabled, run_backward
from .dtypes import FLOATS, bool_, float32, float64, int32, int64, result_type

# `max(dim=...)` and `min(dim=...)` return both the values and where they are, as PyTorch does.
MaxResult = namedtuple("MaxResult", ["values", "indices"])
MinResult = namedtuple("MinResult", ["values", "indices"])


def _to_array(data, dtype) -> np.ndarray:
    """Make the array a new tensor holds: Python floats become float32, NumPy arrays and scalars keep
    their dtype, also inside a list (``[np.float64(1.0), 2.0]`` is float64, as in PyTorch)."""
    if dtype is not None:
        return np.asarray(data, dtype=dtype)
    array = np.asarray(data)
    if array.dtype == np.float64 and not _holds_float64(data):
        return array.astype(np.float32)  # PyTorch's default float type; float64 must be asked for
    if array.dtype.kind == "f" and array.dtype not in FLOATS:
        return array.astype(np.float32)  # float16 and friends: compute in float32
    return array


def _holds_float64(data) -> bool:
    """Whether ``data`` is, or a (nested) list of it holds, a float64 array, scalar or tensor. NumPy
    makes Python floats float64 too; PyTorch makes them float32, but keeps float64 from NumPy."""
    if hasattr(data, "dtype"):
        return data.dtype == np.float64
    return isinstance(data, (list, tuple)) and any(_holds_float64(x) for x in data)


def _promote(a, b, floating: bool = False) -> tuple:
    """Both operands of a binary op as tensors of their `result_type` (a float type if ``floating``).

    The first three cases are what `result_type` would give too, taken without asking it because
    they are nearly every op: nothing to promote, or a Python number joining a float tensor (x * 0.5).
    """
    if isinstance(b, Tensor) and isinstance(a, Tensor) and a.dtype == b.dtype and (a.dtype.kind == "f" or not floating):
        return a, b
    if type(b) in (float, int) and isinstance(a, Tensor) and a.dtype.kind == "f":
        return a, Tensor._constant(np.asarray(b, dtype=a.dtype))
    if type(a) in (float, int) and isinstance(b, Tensor) and b.dtype.kind == "f":
        return Tensor._constant(np.asarray(a, dtype=b.dtype)), b
    dtype = result_type(a, b)
    if floating and dtype.kind != "f":
        dtype = float32  # integer true division gives the default float type
    return _as_dtype(a, dtype), _as_dtype(b, dtype)


def _as_dtype(x, dtype) -> "Tensor":
    if isinstance(x, Tensor):
        return x if x.dtype == dtype else x.to(dtype)
    return Tensor._constant(np.asarray(x, dtype=dtype))


class _Storage:
    """The memory a tensor's array lives in, shared by every tensor viewing it, and how often it was
    changed in place (its version).

    Ops note the versions of their inputs and output; backward refuses an op whose kept values'
    version has moved on since.
    """

    __slots__ = ("owner", "version", "shared")

    def __init__(self, array: np.ndarray):
        self.owner = array if array.base is None else array.base  # the array (or object) owning the memory
        self.version = 0
        self.shared = False  # another tensor views the same memory (a view, a detach())


class Tensor:
    """An n-dimensional array with an optional gradient.

    ``data`` is the NumPy array itself. Changing it through ``data`` is not seen by autograd (as
    with PyTorch's ``.data``); the in-place methods (``add_``, ``+=``, ``t[i] = v``, ...) are.
    ``grad`` is a Tensor of the same shape holding ∂L/∂self after ``L.backward()``, or None.
    Gradients accumulate (``+=``) across backward calls until ``zero_grad`` clears them.
    """

    __slots__ = ("data", "grad", "_requires_grad", "_ctx", "_retains_grad", "_storage", "__weakref__")
    __array_ufunc__ = None  # make `ndarray + Tensor` call Tensor.__radd__ instead of NumPy's loop

    def __init__(self, data, dtype=None, requires_grad: bool = False):
        source = data if isinstance(data, Tensor) else None
        self.data = _to_array(data if source is None else source.data, dtype)
        self.grad = None
        self._ctx = None
        self._retains_grad = False
        self._requires_grad = False
        self._storage = _Storage(self.data)
        if source is not None and self.data is source.data:  # no conversion: its memory, shared as by detach(),
            self._storage = source._storage  # so that a change through either is seen by backward's version check
            source._storage.shared = True
        if requires_grad:
            self.requires_grad = True  # through the setter, which checks the dtype

    @classmethod
    def _result(cls, data: np.ndarray, fn) -> "Tensor":
        """The tensor an op made, recorded as made by ``fn`` (None: a constant). No conversion or checks."""
        t = object.__new__(cls)
        t.data, t.grad, t._requires_grad, t._ctx, t._retains_grad = data, None, fn is not None, fn, False
        t._storage = _Storage(data)
        return t

    @classmethod
    def _constant(cls, data: np.ndarray) -> "Tensor":
        """A tensor outside the graph holding ``data`` as it is (no conversion, no copy)."""
        return cls._result(data, None)

    # ----------------------------------------------------------------------------- attributes
    @property
    def requires_grad(self) -> bool:
        return self._requires_grad

    @requires_grad.setter
    def requires_grad(self, value: bool):
        if value and self.data.dtype not in FLOATS:
            raise TypeError(
                f"only float32/float64 tensors can require gradients, this one is {self.data.dtype} "
                "(gradients of integers are not defined)"
            )
        if not value and self._ctx is not None:
            raise RuntimeError("requires_grad can only be switched off on leaf tensors; use detach()")
        self._requires_grad = bool(value)

    def requires_grad_(self, value: bool = True) -> "Tensor":
        self.requires_grad = value
        return self

    @property
    def shape(self) -> tuple:
        return self.data.shape

    @property
    def ndim(self) -> int:
        return self.data.ndim

    @property
    def dtype(self) -> np.dtype:
        return self.data.dtype

    @property
    def is_leaf(self) -> bool:
        """True for tensors made by the user (not by an op on tensors that require grad)."""
        return self._ctx is None

    @property
    def grad_fn(self):
        """The `Function` that produced this tensor, or None for a leaf."""
        return self._ctx

    @property
    def _version(self) -> int:
        """How many times this tensor's memory has been changed in place (shared with its views)."""
        return self._storage.version

    def numel(self) -> int:
        return self.data.size

    def size(self, dim: int | None = None):
        """The shape (as PyTorch's ``size()``), or the length of one dimension."""
        return self.shape if dim is None else self.shape[ops.dim_to_axis(dim, self.ndim)]

    def dim(self) -> int:
        return self.data.ndim

    def __len__(self) -> int:
        if self.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return len(self.data)

    # ------------------------------------------------------------- reading values out as Python
    def _read(self, what: str) -> np.ndarray:
        """The array, for a result outside the graph: a Python number, a NumPy array, a comparison's
        mask, an index. Every such read goes through here, so that tg.jit can refuse one inside a step
        (a replay runs no Python between ops, so the value read would be frozen)."""
        if _mode.recorder is not None:  # jit hook: a value read while recording a step
            _mode.recorder.read(self, what)
        return self.data

    def item(self):
        """The one element as a Python number. Every conversion to a Python scalar reads through here."""
        data = self._read("item()")
        if data.size != 1:
            raise ValueError(f"item() needs a tensor with one element, this one has shape {self.shape}")
        return data.item()

    def numpy(self) -> np.ndarray:
        """The underlying array (shared, not copied). Every conversion to NumPy reads through here."""
        return self._read("numpy()")

    def tolist(self):
        return self.numpy().tolist()

    def __bool__(self) -> bool:
        if self.data.size != 1:
            raise RuntimeError(
                f"the truth value of a tensor with {self.data.size} elements (shape {self.shape}) is ambiguous; "
                "use .any() or .all()"
            )
        return bool(self.item())

    def __float__(self) -> float:
        return float(self.item())

    def __int__(self) -> int:
        return int(self.item())

    def __index__(self) -> int:
        if self.dtype.kind not in "iu" or self.data.size != 1:
            raise TypeError(f"only integer tensors of one element can be used as an index, this one is "
                            f"{self.dtype} of shape {self.shape}")
        return int(self.item())

    def __format__(self, spec: str) -> str:
        if self.ndim == 0 or (spec and self.data.size == 1):
            return format(self.item(), spec)
        if spec:
            raise TypeError(f"format(t, {spec!r}) needs a tensor with one element, this one has shape {self.shape}")
        return str(self)

    def __array__(self, dtype=None, copy=None):
        data = self.numpy()
        if copy:
            return np.array(data, dtype=dtype, copy=True)
        return data if dtype is None else data.astype(dtype, copy=False)

    def __dlpack__(self, *args, **kwargs):
        return self.numpy().__dlpack__(*args, **kwargs)

    def __dlpack_device__(self):
        return self.data.__dlpack_device__()

    def _values_text(self, prefix: str = "") -> str:
        """The values as PyTorch prints them: 4 decimals, and a tensor of more than 1000 elements
        abbreviated to the first and last 3 along each dimension (``prefix`` indents the lines after the first)."""
        return np.array2string(self.data, separator=", ", precision=4, threshold=1000, edgeitems=3, prefix=prefix)

    def _origin(self) -> str:
        """Where the tensor comes from, as repr says it: the op that made it, or whether it is a leaf that learns."""
        if self._ctx is not None:
            return f"grad_fn=<{type(self._ctx).__name__}Backward>"
        return f"requires_grad={self.requires_grad}"

    def __repr__(self) -> str:
        extras = [f"dtype={self.data.dtype}"] if self.data.dtype != np.float32 else []
        if self._ctx is not None or self.requires_grad:
            extras.append(self._origin())
        return f"tensor({', '.join([self._values_text(prefix='tensor(')] + extras)})"

    def _repr_html_(self) -> str:
        """Jupyter's rich view: the shape, dtype and origin in a header, then the values as repr prints them."""
        kind = "tensor" if type(self) is Tensor else type(self).__name__  # nn.Parameter says so
        head = f"shape {self.shape} · {self.dtype} · {self._origin()}"
        return (f'<div class="tg-tensor"><b>{kind}</b> <code>{html.escape(head)}</code>'
                f'<pre style="margin:2px 0">{html.escape(self._values_text())}</pre></div>')

    __hash__ = object.__hash__  # `==` is element-wise, so hash by identity (tensors are dict keys)

    # ------------------------------------------------------------------------------- autograd
    def backward(self, gradient=None, retain_graph: bool = False) -> None:
        """Compute ∂self/∂x for every leaf x that requires grad, adding it into ``x.grad``.

        A scalar's gradient with respect to itself is 1. For a non-scalar, pass ``gradient``
        (∂L/∂self for some outer L, same shape). The graph's saved arrays are freed afterwards
        unless ``retain_graph=True``.
        """
        if not self.requires_grad:
            raise RuntimeError("backward() on a tensor that does not require grad (no leaf it depends on does)")
        given = gradient  # as passed: the jit refuses one that changes from call to call
        if gradient is None:
            if self.data.size != 1:
                raise RuntimeError(
                    f"backward() without a gradient needs a scalar, but this tensor has shape {self.shape}; "
                    "reduce it first (e.g. .sum() or .mean()) or pass gradient= of the same shape"
                )
            gradient = np.array(1, dtype=self.dtype).reshape(self.shape)  # ∂self/∂self = 1
        else:
            gradient = np.array(gradient.data if isinstance(gradient, Tensor) else gradient, dtype=self.dtype)
            if gradient.shape != self.shape:
                raise ValueError(f"backward(): gradient has shape {gradient.shape} but the tensor has shape {self.shape}")
        if _mode.recorder is not None:  # jit hook: tinygrad_edu.jit records this backward, then runs it
            return _mode.recorder.backward(self, gradient, retain_graph, given)
        run_backward(self, gradient, retain_graph)

    def retain_grad(self) -> None:
        """Also keep ``.grad`` on this non-leaf tensor during backward (leaves always keep it)."""
        self._retains_grad = True

    def detach(self) -> "Tensor":
        """The same data (shared, so in-place changes show in both), cut off from the graph."""
        t = Tensor._constant(self.data)
        t._storage = self._storage
        self._storage.shared = True
        return t

    def zero_grad(self) -> None:
        self.grad = None

    # ------------------------------------------------------------------------------ in place
    def _modify_in_place(self, name: str, compute, *operands) -> "Tensor":
        """Every in-place change goes through here: ``self`` takes the value ``compute(self, *operands)``.

        PyTorch's rules. A leaf that requires grad cannot change while the graph is recorded (the
        ops that used it would refer to a value it no longer has). Otherwise the tensor's own array
        is overwritten, so its views and detached copies see the change, and its version goes up,
        so that backward refuses an op that kept the old value. A change that itself needs a gradient
        is recorded: ``compute`` runs on a copy of the old value, and ``self`` becomes its result.
        """
        recording = is_grad_enabled() and (
            self._requires_grad or any(isinstance(x, Tensor) and x._requires_grad for x in operands)
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
        old = Tensor._result(self.data.copy(), self._ctx) if recording else self
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
        if _mode.recorder is not None:  # jit hook: an in-place change while recording a step
            _mode.recorder.in_place(self, new)
        return self

    def add_(self, other):
        return self._modify_in_place("add_", Tensor.__add__, other)

    def sub_(self, other):
        return self._modify_in_place("sub_", Tensor.__sub__, other)

    def mul_(self, other):
        return self._modify_in_place("mul_", Tensor.__mul__, other)

    def div_(self, other):
        return self._modify_in_place("div_", Tensor.__truediv__, other)

    def clamp_(self, min=None, max=None):
        _require_a_bound("clamp_", min, max)
        return self._modify_in_place("clamp_", lambda t: t.clamp(min, max))

    def copy_(self, src):
        """Overwrite with ``src`` (broadcast to this shape, cast to this dtype); the gradient flows to ``src``."""
        return self._overwrite("copy_", src)

    def fill_(self, value):
        return self._overwrite("fill_", Tensor._constant(np.asarray(value, dtype=self.dtype)))

    def zero_(self):
        return self._overwrite("zero_", Tensor._constant(np.zeros((), dtype=self.dtype)))

    def _overwrite(self, name: str, src):
        """``copy_``, under the name of the op the user called (so that its errors name that op)."""
        return self._modify_in_place(name, lambda t, s: _as_tensor(s).to(t.dtype).expand(t.shape), src)

    def __setitem__(self, index, value):
        index = _index_arrays(index)
        self._modify_in_place("setitem", lambda t, v: ops.IndexPut.apply(t, _as_dtype(v, t.dtype), index=index), value)

    def __iadd__(self, other):
        return self.add_(other)

    def __isub__(self, other):
        return self.sub_(other)

    def __imul__(self, other):
        return self.mul_(other)

    def __itruediv__(self, other):
        return self.div_(other)

    # ------------------------------------------------------------------------------ arithmetic
    def __add__(self, other):
        return ops.Add.apply(*_promote(self, other))

    def __radd__(self, other):
        return ops.Add.apply(*_promote(other, self))

    def __sub__(self, other):
        return ops.Sub.apply(*_promote(self, other))

    def __rsub__(self, other):
        return ops.Sub.apply(*_promote(other, self))

    def __mul__(self, other):
        return ops.Mul.apply(*_promote(self, other))

    def __rmul__(self, other):
        return ops.Mul.apply(*_promote(other, self))

    def __truediv__(self, other):
        return ops.Div.apply(*_promote(self, other, floating=True))

    def __rtruediv__(self, other):
        return ops.Div.apply(*_promote(other, self, floating=True))

    def __pow__(self, other):
        return ops.Pow.apply(*_promote(self, other))

    def __rpow__(self, other):
        return ops.Pow.apply(*_promote(other, self))

    def matmul(self, other):
        """The matrix product, NumPy's ``@``: a vector is taken as a one-row matrix on the left or a
        one-column matrix on the right, and that dimension is dropped from the result.

        Both operands must have the same dtype, as in PyTorch: float32 weights meeting float64 data
        is a mistake to fix where it happens, not to compute quietly in float64.
        """
        a, b = self, _as_tensor(other)
        if a.dtype != b.dtype:
            raise RuntimeError(f"matmul: the operands are {a.dtype} and {b.dtype}; matmul needs the same dtype on "
                               "both sides and does not promote (as in PyTorch), so convert one first, e.g. with "
                               ".float() or .double() (NumPy arrays are float64 unless made otherwise)")
        if a.ndim == 0 or b.ndim == 0:
            raise ValueError(f"matmul needs tensors with at least one dimension, got shapes {a.shape} and {b.shape} "
                             "(use * to multiply by a scalar)")
        out = ops.MatMul.apply(a.unsqueeze(0) if a.ndim == 1 else a, b.unsqueeze(-1) if b.ndim == 1 else b)
        out = out.squeeze(-2) if a.ndim == 1 else out
        return out.squeeze(-1) if b.ndim == 1 else out

    __matmul__ = matmul

    def __rmatmul__(self, other):
        return Tensor.matmul(_as_tensor(other), self)

    def __neg__(self):
        return ops.Neg.apply(self)

    def neg(self):
        return ops.Neg.apply(self)

    # ------------------------------------------------------------------------- element-wise
    def _float(self) -> "Tensor":
        """Itself, or for an integer or bool tensor its float32 copy: exp, log, ... of integers are
        computed in the default float type, as in PyTorch (and as integer division is)."""
        return self if self.dtype.kind == "f" else self.to(float32)

    def exp(self):
        return ops.Exp.apply(self._float())

    def log(self):
        return ops.Log.apply(self._float())

    def sqrt(self):
        return ops.Sqrt.apply(self._float())

    def abs(self):
        return ops.Abs.apply(self)

    def sigmoid(self):
        return ops.Sigmoid.apply(self._float())

    def tanh(self):
        return ops.Tanh.apply(self._float())

    def relu(self):
        return ops.ReLU.apply(self)

    def step(self):
        return ops.Step.apply(self)

    def clamp(self, min=None, max=None):
        """Clip into [min, max]; the bounds promote like the other operand of a binary op (an int
        tensor clamped to 0.5 is float32), so they are given to the op in the result's dtype."""
        _require_a_bound("clamp", min, max)
        dtype = result_type(self, *[bound for bound in (min, max) if bound is not None])
        min, max = (None if bound is None else _as_dtype(bound, dtype).data for bound in (min, max))
        return ops.Clamp.apply(self.to(dtype), min=min, max=max)

    # ------------------------------------------------------------------------------- dtypes
    def to(self, dtype):
        """The same values as ``dtype`` (``tg.float64``, ``np.int64``, "float32", ...); itself if already so.

        Between float types the gradient flows (cast back); other types leave the graph, as in
        PyTorch. ``to("cpu")`` is accepted for PyTorch code: every tensor here lives on the CPU.
        """
        if isinstance(dtype, str) and dtype.split(":")[0] in ("cpu", "cuda", "mps"):
            if dtype != "cpu":
                raise RuntimeError(f"to({dtype!r}): tinygrad-edu computes with NumPy on the CPU only")
            return self
        dtype = np.dtype(dtype)
        if dtype == self.dtype:
            return self
        if dtype.kind == "f" and self.dtype.kind == "f":
            return ops.Cast.apply(self, dtype=dtype)
        return Tensor._constant(self._read(f"to({dtype})").astype(dtype))  # no gradient to or from integers

    def float(self):
        return self.to(float32)

    def double(self):
        return self.to(float64)

    def long(self):
        return self.to(int64)

    def int(self):
        return self.to(int32)

    def bool(self):
        return self.to(bool_)

    # ----------------------------------------------------------------------------- reductions
    def sum(self, dim=None, keepdim: bool = False):
        """Σ over ``dim`` (all elements by default). Integers and bools add up as int64, as in PyTorch
        (NumPy keeps a uint8 sum unsigned, so that subtracting from it would wrap around)."""
        return ops.Sum.apply(self if self.dtype.kind == "f" else self.to(int64), dim=dim, keepdim=keepdim)

    def mean(self, dim=None, keepdim: bool = False):
        if self.dtype.kind != "f":  # as in PyTorch: which float type it should be is the caller's choice
            raise RuntimeError(f"mean() needs a float tensor, this one is {self.dtype}; use .float().mean()")
        return ops.Mean.apply(self, dim=dim, keepdim=keepdim)

    def max(self, dim=None, keepdim: bool = False):
        """The largest element; with ``dim``, a ``(values, indices)`` pair along that dimension."""
        if dim is None:
            return ops.Extreme.apply(self)
        indices = self.argmax(dim=dim, keepdim=True)
        return MaxResult(*self._take_along(dim, indices, keepdim))

    def min(self, dim=None, keepdim: bool = False):
        """The smallest element; with ``dim``, a ``(values, indices)`` pair along that dimension."""
        if dim is None:
            return ops.Extreme.apply(self, smallest=True)
        indices = self.argmin(dim=dim, keepdim=True)
        return MinResult(*self._take_along(dim, indices, keepdim))

    def _take_along(self, dim, indices, keepdim) -> tuple:
        """Values at ``indices`` (one per slice along ``dim``, with dim kept) and the indices, as ``keepdim`` asks."""
        values = self.gather(dim, indices)
        return (values, indices) if keepdim else (values.squeeze(dim), indices.squeeze(dim))

    def argmax(self, dim=None, keepdim: bool = False):
        """Index of the largest element (of the flattened tensor when ``dim`` is None). No gradient."""
        return self._arg(np.argmax, dim, keepdim)

    def argmin(self, dim=None, keepdim: bool = False):
        """Index of the smallest element (of the flattened tensor when ``dim`` is None). No gradient."""
        return self._arg(np.argmin, dim, keepdim)

    def _arg(self, find, dim, keepdim):
        axis = None if dim is None else ops.dim_to_axis(dim, self.ndim)
        return Tensor._constant(np.asarray(find(self._read(find.__name__ + "()"), axis=axis, keepdims=keepdim),
                                           dtype=np.int64))

    def var(self, dim=None, unbiased: bool | None = None, keepdim: bool = False, *, correction=None):
        """Σ (x − mean)² / (N − correction) over ``dim``; ``correction`` is 1 by default (``unbiased=True``)."""
        if correction is None:
            correction = 1 if unbiased is None else int(unbiased)
        elif unbiased is not None:
            raise ValueError("var(): give either unbiased or correction, not both")
        count = int(np.prod([self.shape[a] for a in ops.dims_to_axes(dim, self.ndim)]))
        deviation = self - self.mean(dim, keepdim=True)
        return (deviation * deviation).sum(dim, keepdim=keepdim) / max(count - correction, 0)

    def std(self, dim=None, unbiased: bool | None = None, keepdim: bool = False, *, correction=None):
        """√var: the standard deviation over ``dim`` (same arguments as `var`)."""
        return self.var(dim, unbiased, keepdim, correction=correction).sqrt()

    def norm(self, p=2, dim=None, keepdim: bool = False):
        """The p-norm (Σ |x|ᵖ)^(1/p) over ``dim`` (all elements by default); p = 2 is the Euclidean norm,
        p = ±∞ the largest or smallest |x|, p = 0 the number of nonzero elements (as in PyTorch)."""
        x = self._float()
        if p in (2, "fro"):
            return ops.Norm.apply(x, dim=dim, keepdim=keepdim)
        if p == float("inf"):
            return x.abs().max() if dim is None else x.abs().max(dim, keepdim).values
        if p == float("-inf"):
            return x.abs().min() if dim is None else x.abs().min(dim, keepdim).values
        if p == 0:  # the number of nonzero elements (flat almost everywhere: no gradient)
            return (x != 0).to(x.dtype).sum(dim, keepdim=keepdim)
        return (x.abs() ** p).sum(dim, keepdim=keepdim) ** (1.0 / p)

    def logsumexp(self, dim, keepdim: bool = False):
        """log Σ exp(x) over ``dim``, computed without overflow."""
        return ops.LogSumExp.apply(self._float(), dim=dim, keepdim=keepdim)

    def all(self, dim=None, keepdim: bool = False):
        """True where every element (along ``dim``) is nonzero. No gradient."""
        axes = ops.dims_to_axes(dim, self.ndim)
        return Tensor._constant(np.asarray(np.all(self._read("all()"), axis=axes, keepdims=keepdim)))

    def any(self, dim=None, keepdim: bool = False):
        """True where some element (along ``dim``) is nonzero. No gradient."""
        axes = ops.dims_to_axes(dim, self.ndim)
        return Tensor._constant(np.asarray(np.any(self._read("any()"), axis=axes, keepdims=keepdim)))

    def softmax(self, dim: int = -1):
        return ops.Softmax.apply(self._float(), dim=dim)

    def log_softmax(self, dim: int = -1):
        return ops.LogSoftmax.apply(self._float(), dim=dim)

    def gather(self, dim: int, index):
        """Pick along ``dim`` at ``index`` (an int tensor with as many dims): out[i][j] = self[i][index[i][j]] for dim 1."""
        return ops.Gather.apply(self, _as_tensor(index), dim=dim)

    # ----------------------------------------------------------------------------- shape
    def reshape(self, *shape):
        shape = _shape_arg(shape)
        if any(size < -1 for size in shape):  # NumPy would take any negative size as the one to infer
            raise ValueError(f"reshape{shape}: sizes are ≥ 0, or −1 for the one size to infer from the others")
        return ops.Reshape.apply(self, shape=shape)

    def view(self, *shape):
        """PyTorch's name for `reshape` (here it too shares memory whenever NumPy can)."""
        return self.reshape(*shape)

    def flatten(self, start_dim: int = 0, end_dim: int = -1):
        if self.ndim == 0:
            return self.reshape(1)
        start, end = ops.dim_to_axis(start_dim, self.ndim), ops.dim_to_axis(end_dim, self.ndim)
        return self.reshape(self.shape[:start] + (-1,) + self.shape[end + 1:])

    def unsqueeze(self, dim: int):
        """A new dimension of size 1 at ``dim`` (negatives count from the end of the result)."""
        axis = ops.dim_to_axis(dim, self.ndim + 1)
        return self.reshape(self.shape[:axis] + (1,) + self.shape[axis:])

    def squeeze(self, dim=None):
        """Drop dimensions of size 1 (only ``dim``, if given and of size 1, as in PyTorch)."""
        axes = ops.dims_to_axes(dim, self.ndim)
        return self.reshape(tuple(n for a, n in enumerate(self.shape) if not (a in axes and n == 1)))

    def expand(self, *sizes):
        """Stretch dims of size 1 to ``sizes`` (−1 keeps a dim) without copying; read-only, like a view."""
        sizes = _shape_arg(sizes)
        if len(sizes) < self.ndim:
            raise RuntimeError(f"expand: the number of sizes ({len(sizes)}) must be at least the tensor's dims ({self.ndim})")
        lead = len(sizes) - self.ndim
        shape = tuple(self.shape[i - lead] if n == -1 and i >= lead else n for i, n in enumerate(sizes))
        return ops.Expand.apply(self, shape=shape)

    def clone(self):
        """A copy with its own memory, still in the graph (the gradient flows through)."""
        return ops.Clone.apply(self)

    def permute(self, *dims):
        return ops.Permute.apply(self, dims=tuple(ops.dim_to_axis(d, self.ndim) for d in _shape_arg(dims)))

    def transpose(self, dim0: int, dim1: int):
        dims = list(range(self.ndim))
        a, b = ops.dim_to_axis(dim0, self.ndim), ops.dim_to_axis(dim1, self.ndim)
        dims[a], dims[b] = dims[b], dims[a]
        return ops.Permute.apply(self, dims=tuple(dims))

    @property
    def T(self):
        """All dimensions reversed (the matrix transpose for 2-D tensors)."""
        return ops.Permute.apply(self, dims=tuple(reversed(range(self.ndim))))

    def __getitem__(self, index):
        """``t[index]`` with NumPy's indexing; an index tensor may be a bool mask. The gradient flows back."""
        return ops.Index.apply(self, index=_index_arrays(index))

    # ------------------------------------------------------------ comparisons (no gradient)
    def _compare(self, other, ufunc):
        what = f"{ufunc.__name__} (a comparison)"
        other = other._read(what) if isinstance(other, Tensor) else other
        return Tensor._constant(np.asarray(ufunc(self._read(what), other)))

    def __eq__(self, other):
        return self._compare(other, np.equal)

    def __ne__(self, other):
        return self._compare(other, np.not_equal)

    def __lt__(self, other):
        return self._compare(other, np.less)

    def __le__(self, other):
        return self._compare(other, np.less_equal)

    def __gt__(self, other):
        return self._compare(other, np.greater)

    def __ge__(self, other):
        return self._compare(other, np.greater_equal)

    # ------------------------------------------------------------- logic on masks (no gradient)
    def _bitwise(self, other, ufunc, symbol: str):
        other = other._read(symbol) if isinstance(other, Tensor) else np.asarray(other)
        if self.dtype.kind not in "biu" or other.dtype.kind not in "biu":
            raise TypeError(f"{symbol} needs bool (or integer) tensors, got {self.dtype} and {other.dtype}; "
                            "compare first, e.g. (x > 0) & (x < 1)")
        return Tensor._constant(np.asarray(ufunc(self._read(symbol), other)))

    def __and__(self, other):
        return self._bitwise(other, np.bitwise_and, "&")

    def __or__(self, other):
        return self._bitwise(other, np.bitwise_or, "|")

    def __xor__(self, other):
        return self._bitwise(other, np.bitwise_xor, "^")

    __rand__, __ror__, __rxor__ = __and__, __or__, __xor__

    def __invert__(self):
        return self._bitwise(True, lambda a, _: np.invert(a), "~")


def _require_a_bound(name: str, min, max) -> None:
    if min is None and max is None:
        raise ValueError(f"{name}() needs at least one of min and max")


def _shape_arg(shape: tuple) -> tuple:
    """Sizes given as ``f(2, 3)`` or ``f((2, 3))``."""
    return tuple(shape[0]) if len(shape) == 1 and isinstance(shape[0], (tuple, list)) else tuple(shape)


def _as_tensor(x) -> Tensor:
    return x if isinstance(x, Tensor) else Tensor(x)


def _index_arrays(index):
    """An index for NumPy: index tensors become (copies of) their arrays, so changing them later changes nothing."""
    if isinstance(index, Tensor):
        return index.data.copy()
    if isinstance(index, tuple):
        return tuple(i.data.copy() if isinstance(i, Tensor) else i for i in index)
    return index


# ------------------------------------------------------------------ functions over several tensors
def cat(tensors, dim: int = 0) -> Tensor:
    """Join tensors along an existing dimension."""
    return ops.Cat.apply(*_in_common_dtype("cat", tensors), dim=dim)


def stack(tensors, dim: int = 0) -> Tensor:
    """Join tensors along a new dimension."""
    return ops.Stack.apply(*_in_common_dtype("stack", tensors), dim=dim)


def _in_common_dtype(name: str, tensors) -> list:
    """The tensors to join, all in their `result_type` (float32 and int64 join as float32, as in PyTorch)."""
    tensors = [_as_tensor(t) for t in tensors]
    if not tensors:
        raise ValueError(f"{name}() needs at least one tensor")
    dtype = result_type(*tensors)
    return [_as_dtype(t, dtype) for t in tensors]


def where(condition, x, y) -> Tensor:
    """Element-wise ``x`` where ``condition`` holds (is nonzero), else ``y``; the gradient follows the same choice.

    The condition is used as given, not converted to bool (np.where reads nonzero as true all the
    same): a mask array passed to a jitted step then stays that argument, read afresh on each replay.
    """
    condition = np.asarray(condition.data if isinstance(condition, Tensor) else condition)
    return ops.Where.apply(*_promote(x, y), condition=condition)


def linear(x: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """The affine map of a layer, x Wᵀ + b, as one op (weight has shape (out, in), as in PyTorch).

    Input, weight and bias must have one dtype: as in PyTorch, a float32 layer refuses float64 data
    (NumPy's default) rather than quietly computing in float64.
    """
    for name, t in (("input", x), ("bias", bias)):
        if t is not None and t.dtype != weight.dtype:
            raise RuntimeError(
                f"linear: the {name} is {t.dtype} but the weight is {weight.dtype}; a layer computes in its "
                "weights' dtype and does not promote (as in PyTorch). Convert the input, e.g. x.float() (NumPy "
                "data is float64 unless made otherwise; tg.tensor(array, dtype=tg.float32) makes it float32), "
                "or the model, e.g. model.double()"
            )
    return ops.Linear.apply(x, weight) if bias is None else ops.Linear.apply(x, weight, bias)


Function.tensor_type = Tensor  # what Function.apply wraps its results in (see autograd.Function)
