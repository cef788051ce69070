"""`Tensor`: a NumPy array that remembers how it was computed, so gradients can flow back through it.

The arithmetic lives in `ops.py` (one `Function` per op, forward and backward side by side); the
graph walk lives in `autograd.py`. This file wires the two to a friendly, PyTorch-like API: each
method calls an op. The rest of a tensor's jobs live beside it, each in a file of its own:
PyTorch's dtype rules (promotion.py), in-place changes (tensor_inplace.py, with versions.py),
Python's conversions (tensor_convert.py), and the wider rest of PyTorch's API: element-wise math,
rounding and running sums (tensor_math.py), rearranging and selecting elements (tensor_shape.py).
"""

from __future__ import annotations

from collections import namedtuple

import numpy as np

from . import ops, promotion
from .autograd import Function, _mode, backpropagate, no_grad, seed_gradient
from .dtypes import FLOATS, bool_, float32, float64, int32, int64, result_type
from .promotion import as_dtype, as_tensor, index_arrays, promote, to_array
from .tensor_convert import Conversions
from .tensor_inplace import InPlace, _require_a_bound
from .tensor_math import MathMethods, numpy_keywords
from .tensor_shape import ShapeMethods
from .versions import Storage

# What PyTorch's x.type() calls each dtype.
_TYPE_NAMES = {np.float32: "torch.FloatTensor", np.float64: "torch.DoubleTensor", np.int64: "torch.LongTensor",
               np.int32: "torch.IntTensor", np.uint8: "torch.ByteTensor", np.bool_: "torch.BoolTensor",
               np.int16: "torch.ShortTensor", np.int8: "torch.CharTensor"}

# `max(dim=...)` and `min(dim=...)` return both the values and where they are, as PyTorch does.
MaxResult = namedtuple("MaxResult", ["values", "indices"])
MinResult = namedtuple("MinResult", ["values", "indices"])


class Tensor(InPlace, Conversions, MathMethods, ShapeMethods):
    """An n-dimensional array with an optional gradient.

    ``data`` is the NumPy array itself. Changing it through ``data`` is not seen by autograd (as
    with PyTorch's ``.data``); the in-place methods (``add_``, ``+=``, ``t[i] = v``, ...) are.
    ``grad`` is a Tensor of the same shape holding ∂L/∂self after ``L.backward()``, or None.
    Gradients accumulate (``+=``) across backward calls until ``zero_grad`` clears them.
    """

    __slots__ = ("data", "grad", "_requires_grad", "_ctx", "_retains_grad", "_storage", "__weakref__")

    def __init__(self, data, dtype=None, requires_grad: bool = False):
        source = data if isinstance(data, Tensor) else None
        self.data = to_array(data if source is None else source.data, dtype)
        self.grad = None
        self._ctx = None
        self._retains_grad = False
        self._requires_grad = False
        self._storage = Storage(self.data)
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
        t._storage = Storage(data)
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

    __hash__ = object.__hash__  # `==` is element-wise, so hash by identity (tensors are dict keys)

    # ------------------------------------------------------------------------------- autograd
    def backward(self, gradient=None, retain_graph: bool | None = None, create_graph: bool = False, inputs=None) -> None:
        """Compute ∂self/∂x for every leaf x that requires grad, adding it into ``x.grad``.

        A scalar's gradient with respect to itself is 1. For a non-scalar, pass ``gradient``
        (∂L/∂self for some outer L, same shape). ``inputs`` (a tensor or a sequence of them) limits
        which tensors get a ``.grad``. With ``create_graph=True`` the gradients are recorded in the
        graph, so ``x.grad`` can be differentiated again. The graph's saved arrays are freed
        afterwards unless ``retain_graph`` (which defaults to ``create_graph``) is True.
        """
        if not self._requires_grad:
            raise RuntimeError("backward() on a tensor that does not require grad (no leaf it depends on does)")
        given = gradient  # as passed: the jit refuses one that changes from call to call
        gradient = seed_gradient(self, gradient, create_graph, "backward")
        retain_graph = create_graph if retain_graph is None else retain_graph
        inputs = None if inputs is None else _backward_inputs(inputs)
        if _mode.observer is not None:  # it runs the walk (tinygrad_edu.jit records it first)
            return _mode.observer.backward(self, gradient, retain_graph, given, create_graph, inputs)
        backpropagate([self], [gradient], retain_graph, create_graph, inputs)

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

    # ------------------------------------------------------------------------------ arithmetic
    def __add__(self, other):
        return ops.Add.apply(*promote(self, other))

    def __radd__(self, other):
        return ops.Add.apply(*promote(other, self))

    def __sub__(self, other):
        return ops.Sub.apply(*promote(self, other))

    def __rsub__(self, other):
        return ops.Sub.apply(*promote(other, self))

    def __mul__(self, other):
        return ops.Mul.apply(*promote(self, other))

    def __rmul__(self, other):
        return ops.Mul.apply(*promote(other, self))

    def __truediv__(self, other):
        return ops.Div.apply(*promote(self, other, floating=True))

    def __rtruediv__(self, other):
        return ops.Div.apply(*promote(other, self, floating=True))

    def __pow__(self, other):
        return ops.Pow.apply(*promote(self, other))

    def __rpow__(self, other):
        return ops.Pow.apply(*promote(other, self))

    def matmul(self, other):
        """The matrix product, NumPy's ``@``: a vector is taken as a one-row matrix on the left or a
        one-column matrix on the right, and that dimension is dropped from the result.

        Both operands must have the same dtype, as in PyTorch: float32 weights meeting float64 data
        is a mistake to fix where it happens, not to compute quietly in float64.
        """
        a, b = self, as_tensor(other)
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
        return Tensor.matmul(as_tensor(other), self)

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
        return ops.SigmoidFn.apply(self._float())

    def tanh(self):
        return ops.TanhFn.apply(self._float())

    def relu(self):
        return ops.ReLUFn.apply(self)

    def step(self):
        return ops.StepFn.apply(self)

    def clamp(self, min=None, max=None):
        """Clip into [min, max]; the bounds promote like the other operand of a binary op (an int
        tensor clamped to 0.5 is float32), so they are given to the op in the result's dtype."""
        _require_a_bound("clamp", min, max)
        dtype = result_type(self, *[bound for bound in (min, max) if bound is not None])
        min, max = (None if bound is None else as_dtype(bound, dtype).data for bound in (min, max))
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
        dtype = promotion.supported(np.empty(0, dtype)).dtype  # complex, text, objects: refused, with why
        if dtype == self.dtype:
            return self
        if dtype.kind == "f" and self.dtype.kind == "f":
            return ops.Cast.apply(self, dtype=dtype)
        return Tensor._constant(self._read(f"to({dtype})").astype(dtype))  # no gradient to or from integers

    def type(self, dtype=None):
        """Without ``dtype``, the name PyTorch gives this tensor's type ("torch.FloatTensor" for float32);
        with one (a dtype, or such a name), the tensor converted to it, as `to` does."""
        names = {np.dtype(d): name for d, name in _TYPE_NAMES.items()}
        if dtype is None:
            return names[self.dtype]
        if isinstance(dtype, str) and dtype in names.values():
            dtype = next(d for d, name in names.items() if name == dtype)
        return self.to(dtype)

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
    @numpy_keywords
    def sum(self, dim=None, keepdim: bool = False):
        """Σ over ``dim`` (all elements by default). Integers and bools add up as int64, as in PyTorch
        (NumPy keeps a uint8 sum unsigned, so that subtracting from it would wrap around)."""
        return ops.Sum.apply(self if self.dtype.kind == "f" else self.to(int64), dim=dim, keepdim=keepdim)

    @numpy_keywords
    def mean(self, dim=None, keepdim: bool = False):
        if self.dtype.kind != "f":  # as in PyTorch: which float type it should be is the caller's choice
            raise RuntimeError(f"mean() needs a float tensor, this one is {self.dtype}; use .float().mean()")
        return ops.Mean.apply(self, dim=dim, keepdim=keepdim)

    @numpy_keywords
    def max(self, dim=None, keepdim: bool = False):
        """The largest element; with ``dim``, a ``(values, indices)`` pair along that dimension."""
        if dim is None:
            return ops.Extreme.apply(self)
        return MaxResult(*self._take_along(dim, keepdim))

    @numpy_keywords
    def min(self, dim=None, keepdim: bool = False):
        """The smallest element; with ``dim``, a ``(values, indices)`` pair along that dimension."""
        if dim is None:
            return ops.Extreme.apply(self, smallest=True)
        return MinResult(*self._take_along(dim, keepdim, smallest=True))

    def _take_along(self, dim, keepdim, smallest=False) -> tuple:
        """The largest (smallest) value of each slice along ``dim`` and where it is, as ``keepdim`` asks: the
        index by an op, the value picked there by gather."""
        indices = _indices_of_extremes(self, dim, smallest)
        values = self.gather(dim, indices)
        return (values, indices) if keepdim else (values.squeeze(dim), indices.squeeze(dim))

    @numpy_keywords
    def argmax(self, dim=None, keepdim: bool = False):
        """Index of the largest element (of the flattened tensor when ``dim`` is None). No gradient."""
        return self._arg(np.argmax, dim, keepdim)

    @numpy_keywords
    def argmin(self, dim=None, keepdim: bool = False):
        """Index of the smallest element (of the flattened tensor when ``dim`` is None). No gradient."""
        return self._arg(np.argmin, dim, keepdim)

    def _arg(self, find, dim, keepdim):
        axis = None if dim is None else ops.dim_to_axis(dim, self.ndim)
        return Tensor._constant(np.asarray(find(self._read(find.__name__ + "()"), axis=axis, keepdims=keepdim),
                                           dtype=np.int64))

    @numpy_keywords
    def var(self, dim=None, unbiased: bool | None = None, keepdim: bool = False, *, correction=None):
        """Σ (x − mean)² / (N − correction) over ``dim``; ``correction`` is 1 by default (``unbiased=True``)."""
        if correction is None:
            correction = 1 if unbiased is None else int(unbiased)
        elif unbiased is not None:
            raise ValueError("var(): give either unbiased or correction, not both")
        count = int(np.prod([self.shape[a] for a in ops.dims_to_axes(dim, self.ndim)]))
        deviation = self - self.mean(dim, keepdim=True)
        return (deviation * deviation).sum(dim, keepdim=keepdim) / max(count - correction, 0)

    @numpy_keywords
    def std(self, dim=None, unbiased: bool | None = None, keepdim: bool = False, *, correction=None):
        """√var: the standard deviation over ``dim`` (same arguments as `var`)."""
        return self.var(dim, unbiased, keepdim, correction=correction).sqrt()

    @numpy_keywords
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

    @numpy_keywords
    def logsumexp(self, dim, keepdim: bool = False):
        """log Σ exp(x) over ``dim``, computed without overflow."""
        return ops.LogSumExp.apply(self._float(), dim=dim, keepdim=keepdim)

    @numpy_keywords
    def all(self, dim=None, keepdim: bool = False):
        """True where every element (along ``dim``) is nonzero. No gradient."""
        axes = ops.dims_to_axes(dim, self.ndim)
        return Tensor._constant(np.asarray(np.all(self._read("all()"), axis=axes, keepdims=keepdim)))

    @numpy_keywords
    def any(self, dim=None, keepdim: bool = False):
        """True where some element (along ``dim``) is nonzero. No gradient."""
        axes = ops.dims_to_axes(dim, self.ndim)
        return Tensor._constant(np.asarray(np.any(self._read("any()"), axis=axes, keepdims=keepdim)))

    @numpy_keywords
    def softmax(self, dim: int = -1):
        return ops.SoftmaxFn.apply(self._float(), dim=dim)

    @numpy_keywords
    def log_softmax(self, dim: int = -1):
        return ops.LogSoftmaxFn.apply(self._float(), dim=dim)

    def gather(self, dim: int, index):
        """Pick along ``dim`` at ``index`` (an int tensor with as many dims): out[i][j] = self[i][index[i][j]] for dim 1."""
        return ops.Gather.apply(self, as_tensor(index), dim=dim)

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

    def repeat(self, *sizes):
        """The tensor tiled ``sizes[i]`` times along each dim (NumPy's ``tile``); more sizes than dims add leading dims."""
        sizes = _shape_arg(sizes)
        if len(sizes) < self.ndim:
            raise RuntimeError(f"repeat: give at least one size per dim ({self.ndim}), got {sizes}")
        x = self.reshape((1,) * (len(sizes) - self.ndim) + self.shape)
        interleaved = x.reshape(tuple(v for n in x.shape for v in (1, n)))  # (1, n₀, 1, n₁, ...)
        tiled = interleaved.expand(tuple(v for r, n in zip(sizes, x.shape) for v in (r, n)))  # (r₀, n₀, r₁, n₁, ...)
        return tiled.reshape(tuple(r * n for r, n in zip(sizes, x.shape)))

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

    def where(self, condition, other):
        """``self`` where ``condition`` holds, ``other`` elsewhere: ``tg.where(condition, self, other)``."""
        return where(condition, self, other)

    def __getitem__(self, index):
        """``t[index]``, read as PyTorch reads it (integers first: ops.torch_index); an index tensor may be a bool
        mask. The gradient flows back."""
        return ops.Index.apply(self, index=index_arrays(index))

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

    # ------------------------------------------------ logic on masks, bits of integers (no gradient)
    def _bitwise(self, other, ufunc, symbol: str, kinds: str = "biu"):
        """``ufunc`` on the two in their `result_type`: PyTorch's rule, so ``x & 1`` keeps an int32 or uint8
        x's dtype (NumPy would widen it to int64), and two tensors meet in the wider type."""
        other = other._read(symbol) if isinstance(other, Tensor) else other
        other_dtype = np.asarray(other).dtype
        if self.dtype.kind not in kinds or other_dtype.kind not in kinds:
            if "b" in kinds:
                raise TypeError(f"{symbol} needs bool (or integer) tensors, got {self.dtype} and {other_dtype}; "
                                "compare first, e.g. (x > 0) & (x < 1)")
            raise TypeError(f"{symbol} needs integer tensors, got {self.dtype} and {other_dtype}")
        dtype = result_type(self, other)
        return Tensor._constant(np.asarray(ufunc(self._read(symbol).astype(dtype, copy=False), np.asarray(other, dtype=dtype))))

    def __and__(self, other):
        return self._bitwise(other, np.bitwise_and, "&")

    def __or__(self, other):
        return self._bitwise(other, np.bitwise_or, "|")

    def __xor__(self, other):
        return self._bitwise(other, np.bitwise_xor, "^")

    __rand__, __ror__, __rxor__ = __and__, __or__, __xor__

    def __invert__(self):
        return self._bitwise(True, lambda a, _: np.invert(a), "~")

    def __lshift__(self, other):
        return self._bitwise(other, np.left_shift, "<<", kinds="iu")

    def __rshift__(self, other):
        return self._bitwise(other, np.right_shift, ">>", kinds="iu")

    def __rlshift__(self, other):
        return self._bitwise(other, lambda a, b: np.left_shift(b, a), "<<", kinds="iu")

    def __rrshift__(self, other):
        return self._bitwise(other, lambda a, b: np.right_shift(b, a), ">>", kinds="iu")


def _indices_of_extremes(t, dim, smallest: bool):
    """Where ``t`` is largest (smallest) along ``dim``, by the op ArgExtreme, under no_grad: an index has no
    gradient, and makes no graph node."""
    with no_grad():
        return ops.ArgExtreme.apply(t, dim=dim, smallest=smallest)


def _shape_arg(shape: tuple) -> tuple:
    """Sizes given as ``f(2, 3)`` or ``f((2, 3))``."""
    return tuple(shape[0]) if len(shape) == 1 and isinstance(shape[0], (tuple, list)) else tuple(shape)


# ------------------------------------------------------------------ functions over several tensors
def cat(tensors, dim: int = 0) -> Tensor:
    """Join tensors along an existing dimension."""
    return ops.Cat.apply(*_in_common_dtype("cat", tensors), dim=dim)


def stack(tensors, dim: int = 0) -> Tensor:
    """Join tensors along a new dimension."""
    return ops.Stack.apply(*_in_common_dtype("stack", tensors), dim=dim)


def _in_common_dtype(name: str, tensors) -> list:
    """The tensors to join, all in their `result_type` (float32 and int64 join as float32, as in PyTorch)."""
    tensors = [as_tensor(t) for t in tensors]
    if not tensors:
        raise ValueError(f"{name}() needs at least one tensor")
    dtype = result_type(*tensors)
    return [as_dtype(t, dtype) for t in tensors]


def where(condition, x, y) -> Tensor:
    """Element-wise ``x`` where ``condition`` holds (is nonzero), else ``y``; the gradient follows the same choice.

    The condition is used as given, not converted to bool (np.where reads nonzero as true all the
    same): a mask array passed to a jitted step then stays that argument, read afresh on each replay.
    """
    condition = np.asarray(condition.data if isinstance(condition, Tensor) else condition)
    return ops.Where.apply(*promote(x, y), condition=condition)


def _backward_inputs(inputs) -> list:
    """``backward(inputs=...)`` as a list of tensors that require grad, or an error saying what to give."""
    inputs = [inputs] if isinstance(inputs, Tensor) else list(inputs)
    if not inputs or not all(isinstance(t, Tensor) and t.requires_grad for t in inputs):
        raise RuntimeError("backward(inputs=...): give a tensor or a non-empty sequence of tensors that require grad")
    return inputs


def linear(x: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """The affine map of a layer, x Wᵀ + b, as one op (weight has shape (out, in), as in PyTorch).

    Input, weight and bias must have one dtype: as in PyTorch, a float32 layer refuses float64 data
    (NumPy's default) rather than quietly computing in float64.
    """
    for name, t in (("input", x), ("bias", bias)):
        if t is not None and t.dtype != weight.dtype:
            raise _linear_dtype_error(name, t, weight)
    return ops.LinearFn.apply(x, weight) if bias is None else ops.LinearFn.apply(x, weight, bias)


def _linear_dtype_error(name: str, t, weight) -> RuntimeError:
    """What `linear` says when the input's or the bias's dtype (``t``, named ``name``) is not the weight's."""
    return RuntimeError(
        f"linear: the {name} is {t.dtype} but the weight is {weight.dtype}; a layer computes in its "
        "weights' dtype and does not promote (as in PyTorch). Convert the input, e.g. x.float() (NumPy "
        "data is float64 unless made otherwise; tg.tensor(array, dtype=tg.float32) makes it float32), "
        "or the model, e.g. model.double()"
    )


Function.tensor_type = promotion.Tensor = Tensor  # what Function.apply and the dtype rules make tensors of
