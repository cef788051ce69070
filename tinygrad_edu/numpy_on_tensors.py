"""NumPy functions on tensors: how a backward written on arrays also runs on tensors.

For a second derivative (``backward(create_graph=True)``, ``tg.autograd.grad``) the engine runs each
op's own ``backward`` with tensors in place of arrays (see `autograd._backward_on_tensors`). Its
operators (``grad * self.x``) are Tensor's; the NumPy functions it calls reach here through NumPy's
dispatch protocols (``Tensor.__array_ufunc__`` and ``__array_function__``), and run as tensor ops,
so that what they compute is recorded and can be differentiated again. A NumPy function not listed
here raises `DifferentiableOnceError` naming the op and the function: it would otherwise read the
tensor's values and return a constant, and the second derivative would be silently wrong.

Outside such a backward NumPy keeps its usual behaviour on tensors: ``array + t`` is
``t.__radd__(array)``, and a NumPy function reads the tensor's values (``np.allclose(t, a)``).
"""

from __future__ import annotations

import numpy as np

from . import ops
from .autograd import DifferentiableOnceError, Function, _mode
from .promotion import promote


def _is_tensor(x) -> bool:
    return isinstance(x, Function.tensor_type)  # Tensor (tensor.py, which comes after this file)


# The ufuncs behind NumPy's operators, and the Tensor method that does ``array <op> tensor``.
REFLECTED = {
    np.add: "__radd__", np.subtract: "__rsub__", np.multiply: "__rmul__", np.true_divide: "__rtruediv__",
    np.power: "__rpow__", np.matmul: "__rmatmul__", np.floor_divide: "__rfloordiv__", np.remainder: "__rmod__",
    np.bitwise_and: "__rand__", np.bitwise_or: "__ror__", np.bitwise_xor: "__rxor__",
    np.left_shift: "__rlshift__", np.right_shift: "__rrshift__",
    np.less: "__gt__", np.less_equal: "__ge__", np.greater: "__lt__", np.greater_equal: "__le__",
    np.equal: "__eq__", np.not_equal: "__ne__",
}
FORWARD = {np.add: "__add__", np.subtract: "__sub__", np.multiply: "__mul__", np.true_divide: "__truediv__",
           np.power: "__pow__", np.matmul: "__matmul__", np.less: "__lt__", np.less_equal: "__le__",
           np.greater: "__gt__", np.greater_equal: "__ge__", np.equal: "__eq__", np.not_equal: "__ne__"}


def _constant(compute):
    """A NumPy function whose result is locally constant (sign, isnan): computed on the values, no gradient."""
    return lambda x: Function.tensor_type._constant(np.asarray(compute(x.data)))


def _bounded(method: str):
    """np.maximum(x, c) and np.minimum(x, c) with a number c: a clamp."""
    def bound(a, b):
        if _is_tensor(a) == _is_tensor(b) or np.ndim(b if _is_tensor(a) else a) != 0:
            _refuse(f"np.{method}imum of two tensors (or of a tensor and an array)")
        x, c = (a, b) if _is_tensor(a) else (b, a)
        return x.clamp(min=c) if method == "max" else x.clamp(max=c)
    return bound


UFUNCS = {
    np.negative: lambda x: -x,
    np.exp: lambda x: x.exp(), np.log: lambda x: x.log(), np.sqrt: lambda x: x.sqrt(), np.tanh: lambda x: x.tanh(),
    np.absolute: lambda x: x.abs(),
    np.sin: lambda x: x.sin(), np.cos: lambda x: x.cos(), np.sinh: lambda x: x.sinh(), np.cosh: lambda x: x.cosh(),
    np.log1p: lambda x: ops.Log1p.apply(x),
    np.logaddexp: lambda a, b: ops.LogAddExp.apply(*promote(a, b)),
    np.sign: _constant(np.sign), np.isnan: _constant(np.isnan), np.isfinite: _constant(np.isfinite),
    np.isinf: _constant(np.isinf),
    np.maximum: _bounded("max"), np.minimum: _bounded("min"),
}


def call_ufunc(ufunc, method, inputs, kwargs):
    if method == "__call__" and not kwargs:
        if len(inputs) == 2 and not _is_tensor(inputs[0]) and ufunc in REFLECTED:
            operator = getattr(inputs[1], REFLECTED[ufunc], None)  # array <op> tensor, as Python would ask
            if operator is None:
                raise TypeError(f"unsupported operand types for {ufunc.__name__}: "
                                f"'{type(inputs[0]).__name__}' and 'Tensor'")
            return operator(inputs[0])
        if _mode.on_tensors is not None:
            if ufunc in FORWARD:
                return getattr(inputs[0], FORWARD[ufunc])(inputs[1])
            if ufunc in UFUNCS:
                return UFUNCS[ufunc](*inputs)
            if ufunc.nin == 1 and hasattr(Function.tensor_type, ufunc.__name__):  # np.sin(t) is t.sin(), where Tensor has it
                return getattr(inputs[0], ufunc.__name__)()
    name = ufunc.__name__ if method == "__call__" else f"{ufunc.__name__}.{method}"
    if "out" in kwargs:
        name += " with out="
    _refuse(f"np.{name}", "use the tensor's own methods (t.exp(), ...), or its values: np.exp(t.numpy())")


def _sum(x, axis=None, dtype=None, out=None, keepdims=False):
    if dtype is not None or out is not None:
        _refuse("np.sum with dtype= or out=")
    return x.sum(axis=axis, keepdims=keepdims)


def _mean(x, axis=None, dtype=None, out=None, keepdims=False):
    if dtype is not None or out is not None:
        _refuse("np.mean with dtype= or out=")
    return x.mean(axis=axis, keepdims=keepdims)


def _where(condition, x=None, y=None):
    if x is None or y is None:
        _refuse("np.where with one argument (the positions where the condition holds)")
    condition = condition.data if _is_tensor(condition) else np.asarray(condition)  # a mask: a constant
    return ops.Where.apply(*promote(x, y), condition=condition)


def _like(fill):
    def like(x, dtype=None):
        return Function.tensor_type._constant(np.full(x.shape, fill, dtype=x.dtype if dtype is None else dtype))
    return like


def _moveaxis(x, source, destination):
    source = [ops.dim_to_axis(d, x.ndim) for d in np.atleast_1d(source)]
    destination = [ops.dim_to_axis(d, x.ndim) for d in np.atleast_1d(destination)]
    order = [n for n in range(x.ndim) if n not in source]
    for dest, src in sorted(zip(destination, source)):
        order.insert(dest, src)
    return x.permute(*order)


def _expand_dims(x, axis):
    return x.reshape(np.expand_dims(np.empty(x.shape, dtype=bool), axis).shape)


def _split(x, indices_or_sections, axis=0):
    axis = ops.dim_to_axis(axis, x.ndim)
    pieces = np.split(np.arange(x.shape[axis]), indices_or_sections)
    lead = (slice(None),) * axis
    return [x[lead + (slice(int(p[0]), int(p[-1]) + 1) if len(p) else slice(0, 0),)] for p in pieces]


FUNCTIONS = {
    np.where: _where, np.sum: _sum, np.mean: _mean,
    np.reshape: lambda x, shape: x.reshape(shape),
    np.transpose: lambda x, axes=None: x.permute(*(reversed(range(x.ndim)) if axes is None else axes)),
    np.swapaxes: lambda x, a, b: x.transpose(a, b),
    np.moveaxis: _moveaxis, np.expand_dims: _expand_dims, np.split: _split,
    np.squeeze: lambda x, axis=None: x.squeeze(axis),
    np.broadcast_to: lambda x, shape: x.expand(*[int(n) for n in np.atleast_1d(shape)]),
    np.clip: lambda x, a_min=None, a_max=None: x.clamp(a_min, a_max),
    np.zeros_like: _like(0), np.ones_like: _like(1),
}


def call_function(func, args, kwargs):
    if _mode.on_tensors is None:  # as if the tensors were arrays: NumPy reads their values
        return func._implementation(*args, **kwargs)
    if func in FUNCTIONS:
        return FUNCTIONS[func](*args, **kwargs)
    _refuse(f"np.{func.__name__}")


def _refuse(what: str, otherwise: str = "use the tensor's own methods, or its values (t.numpy())"):
    op = _mode.on_tensors
    if op is None:
        raise TypeError(f"{what} is not supported on tensors: {otherwise}")
    raise DifferentiableOnceError(
        f"{op}.backward, run on tensors for a second derivative, calls {what}, which tensors do not support: "
        f"write it with operators and the NumPy functions tensors support (see tinygrad_edu/numpy_on_tensors.py), "
        f"or mark {op}.backward once_differentiable")
