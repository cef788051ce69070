"""`Tensor`: a NumPy array that remembers how it was computed, so gradients can flow back through it.

The arithmetic lives in `ops.py` (one `Function` per op, forward and backward side by side); the
graph walk lives in `autograd.py`. This file only wires the two to a friendly, PyTorch-like API.
"""

from __future__ import annotations

from collections import namedtuple
from numbers import Number

import numpy as np

from .autograd import Function, _mode, is_grad_enabled, run_backward

# `max(dim=...)` returns both the maxima and where they are, as PyTorch does.
MaxResult = namedtuple("MaxResult", ["values", "indices"])

_FLOAT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


def _to_array(data, dtype) -> np.ndarray:
    """Make the array a new tensor holds: Python floats become float32, NumPy arrays keep their dtype."""
    if dtype is not None:
        return np.asarray(data, dtype=dtype)
    array = np.asarray(data)
    if array.dtype == np.float64 and not isinstance(data, (np.ndarray, np.generic)):
        return array.astype(np.float32)  # PyTorch's default float type; float64 must be asked for
    if array.dtype.kind == "f" and array.dtype not in _FLOAT_DTYPES:
        return array.astype(np.float32)  # float16 and friends: compute in float32
    return array


class Tensor:
    """An n-dimensional array with an optional gradient.

    ``data`` is the NumPy array itself (updating it in place, as optimizers do, is not recorded).
    ``grad`` is a Tensor of the same shape holding ∂L/∂self after ``L.backward()``, or None.
    Gradients accumulate (``+=``) across backward calls until ``zero_grad`` clears them.
    """

    __slots__ = ("data", "grad", "_requires_grad", "_ctx", "_retains_grad", "__weakref__")
    __array_ufunc__ = None  # make `ndarray + Tensor` call Tensor.__radd__ instead of NumPy's loop

    def __init__(self, data, dtype=None, requires_grad: bool = False):
        if isinstance(data, Tensor):
            data = data.data
        self.data = _to_array(data, dtype)
        self.grad = None
        self._ctx = None
        self._retains_grad = False
        self._requires_grad = False
        if requires_grad:
            self.requires_grad = True  # through the setter, which checks the dtype

    @classmethod
    def _make(cls, data: np.ndarray, requires_grad: bool, ctx) -> "Tensor":
        """Fast constructor for op results: no conversion or checks (ops already produce arrays)."""
        t = object.__new__(cls)
        t.data, t.grad, t._requires_grad, t._ctx, t._retains_grad = data, None, requires_grad, ctx, False
        return t

    # ----------------------------------------------------------------------------- attributes
    @property
    def requires_grad(self) -> bool:
        return self._requires_grad

    @requires_grad.setter
    def requires_grad(self, value: bool):
        if value and self.data.dtype not in _FLOAT_DTYPES:
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

    def numel(self) -> int:
        return self.data.size

    def __len__(self) -> int:
        return len(self.data)

    def item(self):
        if _mode.recorder is not None:  # jit hook: a value read while recording a step
            _mode.recorder.read(self, "item()")
        if self.data.size != 1:
            raise ValueError(f"item() needs a tensor with one element, this one has shape {self.shape}")
        return self.data.item()

    def numpy(self) -> np.ndarray:
        """The underlying array (shared, not copied)."""
        if _mode.recorder is not None:  # jit hook: a value read while recording a step
            _mode.recorder.read(self, "numpy()")
        return self.data

    def tolist(self):
        if _mode.recorder is not None:  # jit hook: a value read while recording a step
            _mode.recorder.read(self, "tolist()")
        return self.data.tolist()

    def __array__(self, dtype=None, copy=None):
        if copy:
            return np.array(self.data, dtype=dtype, copy=True)
        return self.data if dtype is None else self.data.astype(dtype, copy=False)

    def __dlpack__(self, *args, **kwargs):
        return self.data.__dlpack__(*args, **kwargs)

    def __dlpack_device__(self):
        return self.data.__dlpack_device__()

    def __repr__(self) -> str:
        body = np.array2string(self.data, separator=", ", precision=4, prefix="tensor(")
        extras = []
        if self.data.dtype != np.float32:
            extras.append(f"dtype={self.data.dtype}")
        if self._ctx is not None:
            extras.append(f"grad_fn=<{type(self._ctx).__name__}Backward>")
        elif self.requires_grad:
            extras.append("requires_grad=True")
        return f"tensor({', '.join([body] + extras)})"

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
            return _mode.recorder.backward(self, gradient, retain_graph)
        run_backward(self, gradient, retain_graph)

    def retain_grad(self) -> None:
        """Also keep ``.grad`` on this non-leaf tensor during backward (leaves always keep it)."""
        self._retains_grad = True

    def detach(self) -> "Tensor":
        """The same data (shared), cut off from the graph."""
        return Tensor._make(self.data, False, None)

    def zero_grad(self) -> None:
        self.grad = None

    # ------------------------------------------------------------------------------ arithmetic
    def _lift(self, other) -> "Tensor":
        """Wrap a Python number or array as a constant tensor; numbers take this tensor's float dtype."""
        if isinstance(other, Tensor):
            return other
        if isinstance(other, Number) and not isinstance(other, bool) and self.data.dtype.kind == "f":
            return Tensor._make(np.asarray(other, dtype=self.data.dtype), False, None)
        return Tensor(other)

    def __add__(self, other):
        return ops.Add.apply(self, self._lift(other))

    def __radd__(self, other):
        return ops.Add.apply(self._lift(other), self)

    def __sub__(self, other):
        return ops.Sub.apply(self, self._lift(other))

    def __rsub__(self, other):
        return ops.Sub.apply(self._lift(other), self)

    def __mul__(self, other):
        return ops.Mul.apply(self, self._lift(other))

    def __rmul__(self, other):
        return ops.Mul.apply(self._lift(other), self)

    def __truediv__(self, other):
        return ops.Div.apply(self, self._lift(other))

    def __rtruediv__(self, other):
        return ops.Div.apply(self._lift(other), self)

    def __pow__(self, other):
        return ops.Pow.apply(self, self._lift(other))

    def __rpow__(self, other):
        return ops.Pow.apply(self._lift(other), self)

    def __matmul__(self, other):
        return ops.MatMul.apply(self, self._lift(other))

    def __rmatmul__(self, other):
        return ops.MatMul.apply(self._lift(other), self)

    def __neg__(self):
        return ops.Neg.apply(self)

    def neg(self):
        return ops.Neg.apply(self)

    # ------------------------------------------------------------------------- element-wise
    def exp(self):
        return ops.Exp.apply(self)

    def log(self):
        return ops.Log.apply(self)

    def sqrt(self):
        return ops.Sqrt.apply(self)

    def abs(self):
        return ops.Abs.apply(self)

    def sigmoid(self):
        return ops.Sigmoid.apply(self)

    def tanh(self):
        return ops.Tanh.apply(self)

    def relu(self):
        return ops.ReLU.apply(self)

    def step(self):
        return ops.Step.apply(self)

    def clamp(self, min=None, max=None):
        if min is None and max is None:
            raise ValueError("clamp() needs at least one of min and max")
        return ops.Clamp.apply(self, min=min, max=max)

    # ----------------------------------------------------------------------------- reductions
    def sum(self, dim=None, keepdim: bool = False):
        return ops.Sum.apply(self, dim=dim, keepdim=keepdim)

    def mean(self, dim=None, keepdim: bool = False):
        return ops.Mean.apply(self, dim=dim, keepdim=keepdim)

    def max(self, dim=None, keepdim: bool = False):
        """The largest element; with ``dim``, a ``(values, indices)`` pair along that dimension."""
        if dim is None:
            return ops.Max.apply(self)
        indices = self.argmax(dim=dim, keepdim=True)
        values = ops.TakeAlongDim.apply(self, indices=indices.data, dim=dim, keepdim=keepdim)
        return MaxResult(values, indices if keepdim else Tensor._make(indices.data.squeeze(dim), False, None))

    def softmax(self, dim: int = -1):
        return ops.Softmax.apply(self, dim=dim)

    def log_softmax(self, dim: int = -1):
        return ops.LogSoftmax.apply(self, dim=dim)

    # ----------------------------------------------------------------------------- shape
    def reshape(self, *shape):
        shape = shape[0] if len(shape) == 1 and isinstance(shape[0], (tuple, list)) else shape
        return ops.Reshape.apply(self, shape=tuple(shape))

    def flatten(self, start_dim: int = 0, end_dim: int = -1):
        if self.ndim == 0:
            return self.reshape(1)
        start, end = start_dim % self.ndim, end_dim % self.ndim
        return self.reshape(self.shape[:start] + (-1,) + self.shape[end + 1:])

    def permute(self, *dims):
        dims = dims[0] if len(dims) == 1 and isinstance(dims[0], (tuple, list)) else dims
        return ops.Permute.apply(self, dims=tuple(dims))

    def transpose(self, dim0: int, dim1: int):
        dims = list(range(self.ndim))
        dims[dim0], dims[dim1] = dims[dim1], dims[dim0]
        return ops.Permute.apply(self, dims=tuple(dims))

    @property
    def T(self):
        """All dimensions reversed (the matrix transpose for 2-D tensors)."""
        return ops.Permute.apply(self, dims=tuple(reversed(range(self.ndim))))

    def __getitem__(self, index):
        if isinstance(index, Tensor):
            index = index.data
        elif isinstance(index, tuple):
            index = tuple(i.data if isinstance(i, Tensor) else i for i in index)
        return ops.Index.apply(self, index=index)

    # ------------------------------------------------------------ comparisons (no gradient)
    def _compare(self, other, ufunc):
        other = other.data if isinstance(other, Tensor) else other
        return Tensor._make(ufunc(self.data, other), False, None)

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

    def argmax(self, dim=None, keepdim: bool = False):
        """Index of the largest element (of the flattened tensor when ``dim`` is None). No gradient."""
        return Tensor._make(np.argmax(self.data, axis=dim, keepdims=keepdim).astype(np.int64), False, None)


# ------------------------------------------------------------------ functions over several tensors
def cat(tensors, dim: int = 0) -> Tensor:
    """Join tensors along an existing dimension."""
    return ops.Cat.apply(*tensors, dim=dim)


def stack(tensors, dim: int = 0) -> Tensor:
    """Join tensors along a new dimension."""
    return ops.Stack.apply(*tensors, dim=dim)


def where(condition, x, y) -> Tensor:
    """Element-wise ``x`` where ``condition`` holds, else ``y`` (the gradient follows the same choice)."""
    condition = np.asarray(condition.data if isinstance(condition, Tensor) else condition, dtype=bool)
    x = x if isinstance(x, Tensor) else (y._lift(x) if isinstance(y, Tensor) else Tensor(x))
    y = x._lift(y)
    return ops.Where.apply(x, y, condition=condition)


def linear(x: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """The affine map of a layer, x Wᵀ + b, as one op (weight has shape (out, in), as in PyTorch)."""
    return ops.Linear.apply(x, weight) if bias is None else ops.Linear.apply(x, weight, bias)


# ---------------------------------------------------------------------------------- constructors
_default_generator = np.random.default_rng()


def manual_seed(seed) -> np.random.Generator:
    """Reseed the generator that `randn`/`rand` use when no ``generator`` is given.

    ``seed`` is anything ``numpy.random.default_rng`` takes: an int, a list of ints, a SeedSequence.
    """
    global _default_generator
    _default_generator = np.random.default_rng(seed)
    return _default_generator


def tensor(data, dtype=None, requires_grad: bool = False) -> Tensor:
    """A new tensor from a number, (nested) list or NumPy array. Python floats become float32."""
    return Tensor(data, dtype=dtype, requires_grad=requires_grad)


def _shape(shape) -> tuple:
    return tuple(shape[0]) if len(shape) == 1 and isinstance(shape[0], (tuple, list)) else tuple(shape)


def zeros(*shape, dtype=np.float32, requires_grad: bool = False) -> Tensor:
    return Tensor(np.zeros(_shape(shape), dtype=dtype), requires_grad=requires_grad)


def ones(*shape, dtype=np.float32, requires_grad: bool = False) -> Tensor:
    return Tensor(np.ones(_shape(shape), dtype=dtype), requires_grad=requires_grad)


def randn(*shape, generator: np.random.Generator | None = None, dtype=np.float32, requires_grad: bool = False) -> Tensor:
    """Samples of the standard normal N(0, 1); pass ``generator=np.random.default_rng(seed)`` to fix them."""
    rng = generator if generator is not None else _default_generator
    return Tensor(rng.standard_normal(_shape(shape), dtype=dtype), requires_grad=requires_grad)


def rand(*shape, generator: np.random.Generator | None = None, dtype=np.float32, requires_grad: bool = False) -> Tensor:
    """Samples of the uniform distribution on [0, 1)."""
    rng = generator if generator is not None else _default_generator
    return Tensor(rng.random(_shape(shape), dtype=dtype), requires_grad=requires_grad)


def arange(start, end=None, step=1, dtype=None, requires_grad: bool = False) -> Tensor:
    """Evenly spaced values in [start, end), like Python's range; integers unless a float is given."""
    if end is None:
        start, end = 0, start
    values = np.arange(start, end, step)
    if dtype is None and values.dtype.kind == "f":
        dtype = np.float32
    return Tensor(values, dtype=dtype, requires_grad=requires_grad)


from . import ops  # noqa: E402  (ops subclass Function; Tensor methods look them up at call time)
