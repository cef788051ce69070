"""Every differentiable op, each a `Function` with its forward and backward side by side.

Notation: ``grad`` is the gradient arriving from above, ∂L/∂out; each ``backward`` returns ∂L/∂input
for every input, by the chain rule ∂L/∂x = ∂L/∂out · ∂out/∂x. Gradients may keep the broadcast
shape of ``out``: the engine sums them back to each input's shape. Arrays are never modified in
place here, because one gradient array may be shared by several inputs. For a second derivative
the engine runs these same backwards on tensors (see `Function`): which is why they keep their
inputs and output as they came, and compute everything else in backward.
"""

from __future__ import annotations

import numpy as np

from .autograd import Function, once_differentiable


def dim_to_axis(dim: int, ndim: int) -> int:
    """PyTorch's ``dim`` (negatives count from the end) as a NumPy axis, for a tensor of ``ndim`` dims.

    A 0-d tensor accepts dim 0 and −1, as in PyTorch. Anything else out of range is an error, never
    a silent wrap-around to another axis.
    """
    size = max(ndim, 1)
    if not isinstance(dim, (int, np.integer)) or isinstance(dim, bool):
        raise TypeError(f"dim must be an int, got {type(dim).__name__}")
    if not -size <= dim < size:
        raise IndexError(f"Dimension out of range (expected to be in range of [{-size}, {size - 1}], but got {dim}) "
                         f"for a tensor with {ndim} dimension{'s' * (ndim != 1)}")
    return int(dim) % size if ndim else 0


def dims_to_axes(dim, ndim: int) -> tuple:
    """``dim`` of a reduction (None, an int or a tuple) as a tuple of NumPy axes; None and () mean all."""
    if dim is None or dim == ():
        return tuple(range(ndim))
    dims = (dim,) if isinstance(dim, (int, np.integer)) else tuple(dim)
    axes = tuple(dim_to_axis(d, ndim) for d in dims)
    if len(set(axes)) != len(axes):
        raise RuntimeError(f"dim {dim} names a dimension more than once")
    return axes if ndim else ()


# ------------------------------------------------------------------------------ arithmetic
class Add(Function):
    def forward(self, a, b):
        return a + b

    def backward(self, grad):
        return grad, grad


class Sub(Function):
    def forward(self, a, b):
        return a - b

    def backward(self, grad):
        return grad, (-grad if self.needs_input_grad[1] else None)


class Mul(Function):
    def forward(self, a, b):
        self.a, self.b = a, b
        return a * b

    def backward(self, grad):
        da = grad * self.b if self.needs_input_grad[0] else None
        db = grad * self.a if self.needs_input_grad[1] else None
        return da, db


class Div(Function):
    def forward(self, a, b):
        self.a, self.b = a, b
        return a / b

    def backward(self, grad):
        da = grad / self.b if self.needs_input_grad[0] else None
        db = -grad * self.a / (self.b * self.b) if self.needs_input_grad[1] else None
        return da, db


class Pow(Function):
    """out = aᵇ;  ∂out/∂a = b·aᵇ⁻¹,  ∂out/∂b = aᵇ·ln a."""

    def forward(self, a, b):
        self.a, self.b = a, b
        self.out = a**b
        return self.out

    def backward(self, grad):
        a, b = self.a, self.b
        da = db = None
        with np.errstate(divide="ignore", invalid="ignore"):
            if self.needs_input_grad[0]:
                da = grad * np.where(b == 0, 0, b * a ** (b - 1))  # d/da a⁰ = 0, even at a = 0
            if self.needs_input_grad[1]:
                db = grad * np.where(a == 0, 0, self.out * np.log(a))  # 0ᵇ is flat in b where it is defined
        return da, db


class MatMul(Function):
    """out = a @ b for matrices (or stacks of them);  ∂L/∂a = grad @ bᵀ,  ∂L/∂b = aᵀ @ grad.

    ``a @ b`` on tensors turns a vector into a one-row or one-column matrix first, so only matrices
    arrive here.
    """

    def forward(self, a, b):
        if a.ndim < 2 or b.ndim < 2:
            raise ValueError("MatMul takes matrices; write a @ b, which turns vectors into matrices first")
        self.a, self.b = a, b
        return a @ b

    def backward(self, grad):
        da = grad @ np.swapaxes(self.b, -1, -2) if self.needs_input_grad[0] else None
        db = np.swapaxes(self.a, -1, -2) @ grad if self.needs_input_grad[1] else None
        return da, db


class LinearFn(Function):
    """A layer's affine map as one op: out = x Wᵀ + b, with W of shape (out_features, in_features).

    ∂L/∂x = grad W,  ∂L/∂W = gradᵀ x,  ∂L/∂b = Σ_examples grad. One op instead of matmul, transpose and add
    saves two graph nodes and a broadcast reduction per layer per step.
    """

    def forward(self, x, weight, bias=None):
        self.x, self.weight = x, weight
        out = x @ weight.T
        if bias is not None:
            out += bias  # in place: out is a new array, and this saves allocating another
        return out

    def backward(self, grad):
        x, weight = self.x, self.weight
        dx = grad @ weight if self.needs_input_grad[0] else None
        if grad.ndim != 2:  # any leading dims count as examples
            grad, x = grad.reshape(-1, grad.shape[-1]), x.reshape(-1, x.shape[-1])
        dw = grad.T @ x if self.needs_input_grad[1] else None
        if len(self.needs_input_grad) == 2:
            return dx, dw
        db = grad.sum(axis=0) if self.needs_input_grad[2] else None
        return dx, dw, db


class Neg(Function):
    def forward(self, a):
        return -a

    def backward(self, grad):
        return -grad


# ---------------------------------------------------------------------------- element-wise
class Exp(Function):
    def forward(self, a):
        self.out = np.exp(a)
        return self.out

    def backward(self, grad):
        return grad * self.out  # (eᵃ)' = eᵃ


class Log(Function):
    def forward(self, a):
        self.a = a
        return np.log(a)

    def backward(self, grad):
        return grad / self.a


class Log1p(Function):
    """out = ln(1 + a), accurate for tiny a;  ∂out/∂a = 1/(1 + a)."""

    def forward(self, a):
        self.a = a
        return np.log1p(a)

    def backward(self, grad):
        return grad / (1 + self.a)


class LogAddExp(Function):
    """out = ln(eᵃ + eᵇ), without overflow;  ∂out/∂a = eᵃ⁻ᵒᵘᵗ,  ∂out/∂b = eᵇ⁻ᵒᵘᵗ."""

    def forward(self, a, b):
        self.a, self.b = a, b
        self.out = np.logaddexp(a, b)
        return self.out

    def backward(self, grad):
        da = grad * np.exp(self.a - self.out) if self.needs_input_grad[0] else None
        db = grad * np.exp(self.b - self.out) if self.needs_input_grad[1] else None
        return da, db


class Sqrt(Function):
    def forward(self, a):
        self.out = np.sqrt(a)
        return self.out

    def backward(self, grad):
        return grad / (2 * self.out)


class Abs(Function):
    def forward(self, a):
        self.a = a
        return np.abs(a)

    def backward(self, grad):
        return grad * np.sign(self.a)  # 0 at a = 0, as in PyTorch


class SigmoidFn(Function):
    """σ(z) = 1/(1 + e⁻ᶻ);  σ'(z) = σ(z)(1 − σ(z)).

    Computed through the identity σ(z) = ½(1 + tanh(z/2)): tanh never overflows, so z = ±1000 give
    exactly 1 and 0 without warnings, in float32 as in float64, and it is one fast ufunc call where
    the textbook formula needs an exp that overflows for z < −88 in float32. (Far in the lower
    tail, below about −17 in float32, the result rounds to exactly 0 rather than a tiny positive.)
    """

    def forward(self, z):
        self.out = 0.5 * np.tanh(0.5 * z) + 0.5
        return self.out

    def backward(self, grad):
        return grad * self.out * (1 - self.out)


class TanhFn(Function):
    def forward(self, z):
        self.out = np.tanh(z)
        return self.out

    def backward(self, grad):
        return grad * (1 - self.out * self.out)


class ReLUFn(Function):
    def forward(self, z):
        self.positive = z > 0
        return z * self.positive

    def backward(self, grad):
        return grad * self.positive


class StepFn(Function):
    """The perceptron's Heaviside step: 1 where z ≥ 0, else 0.

    Its true derivative is 0 everywhere (and undefined at 0), so no gradient flows through it:
    how a perceptron learns anyway is the business of ``nn.Step``.
    """

    def forward(self, z):
        return (z >= 0).astype(z.dtype)

    @once_differentiable  # the perceptron's step has no second derivative to learn from either
    def backward(self, grad):
        return np.zeros_like(grad)


class Clamp(Function):
    """Clip into [min, max]; the gradient passes where the input was inside (bounds included)."""

    def forward(self, a, min=None, max=None):
        out = np.clip(a, min, max)
        self.inside = np.ones(out.shape, dtype=bool)  # out's shape: a bound given as an array may broadcast a
        if min is not None:
            self.inside &= a >= min
        if max is not None:
            self.inside &= a <= max
        return out

    def backward(self, grad):
        return grad * self.inside


class Where(Function):
    def forward(self, x, y, condition):
        self.condition = condition
        return np.where(condition, x, y)

    def backward(self, grad):
        dx = np.where(self.condition, grad, 0) if self.needs_input_grad[0] else None
        dy = np.where(self.condition, 0, grad) if self.needs_input_grad[1] else None
        return dx, dy


# ------------------------------------------------------------------------------ reductions
class Sum(Function):
    def forward(self, a, dim=None, keepdim=False):
        self.shape, self.axes, self.keepdim = a.shape, dims_to_axes(dim, a.ndim), keepdim
        return np.sum(a, axis=self.axes, keepdims=keepdim)

    def backward(self, grad):
        if not self.keepdim:
            grad = np.expand_dims(grad, self.axes)
        return np.broadcast_to(grad, self.shape)  # every summand gets the whole gradient


class Mean(Function):
    def forward(self, a, dim=None, keepdim=False):
        self.shape, self.axes, self.keepdim = a.shape, dims_to_axes(dim, a.ndim), keepdim
        self.count = int(np.prod([a.shape[i] for i in self.axes]))
        return np.mean(a, axis=self.axes, keepdims=keepdim)

    def backward(self, grad):
        if not self.keepdim:
            grad = np.expand_dims(grad, self.axes)
        return np.broadcast_to(grad / self.count, self.shape)


class Extreme(Function):
    """The largest element, or with ``smallest=True`` the smallest (``min()`` cannot be −max(−x): negation
    wraps around in unsigned types such as MNIST's uint8 pixels). Ties share the gradient equally, as
    in PyTorch's full ``max()`` and ``min()``."""

    def forward(self, a, smallest=False):
        out = a.min() if smallest else a.max()
        self.is_extreme = a == out
        return out

    def backward(self, grad):
        return grad * self.is_extreme / self.is_extreme.sum()


class ArgExtreme(Function):
    """Where the largest element lies along ``dim`` (the smallest with ``smallest=True``): int64 indices, with
    ``dim`` kept as size 1. It is an op so that ``max(dim)`` and ``min(dim)`` find it from the values every
    time they run, in a recorded step too (tg.jit). It has no backward: an index has no gradient, and
    Tensor.max and min apply it under no_grad, so it is never part of a graph."""

    def forward(self, a, dim, smallest=False):
        find = np.argmin if smallest else np.argmax
        return np.asarray(find(a, axis=dim_to_axis(dim, a.ndim), keepdims=True), dtype=np.int64)


class Gather(Function):
    """out[i][j][k] = a[i][index[i][j][k]][k] for dim = 1 (PyTorch's ``gather``): pick along ``dim`` at ``index``.

    Backward scatters grad back with addition, so an element picked twice gets both gradients.
    """

    def forward(self, a, index, dim):
        axis = dim_to_axis(dim, a.ndim)
        if index.dtype.kind not in "iu" or index.ndim != a.ndim:
            raise ValueError(f"gather needs an integer index with as many dims as the input ({a.ndim}), "
                             f"got a {index.dtype} index with {index.ndim}")
        if any(n > m for d, (n, m) in enumerate(zip(index.shape, a.shape)) if d != axis):
            raise ValueError(f"gather: index shape {index.shape} is larger than the input's {a.shape} outside dim {dim}")
        if index.size and (index.min() < 0 or index.max() >= a.shape[axis]):
            raise IndexError(f"gather: index values must lie in [0, {a.shape[axis]}) along dim {dim}, "
                             f"got values from {index.min()} to {index.max()}")
        self.shape = a.shape
        where = list(np.indices(index.shape, sparse=True))  # every position of the index, except along dim...
        where[axis] = index  # ...where the index says which element to take
        self.where = tuple(where)
        return a[self.where]

    def backward(self, grad):
        return ScatterAdd.compute(grad, shape=self.shape, index=self.where), None


class LogSumExp(Function):
    """log Σⱼ e^aⱼ along ``dim``, with the max subtracted first so no exponent overflows.

    Backward: ∂/∂aᵢ = e^aᵢ / Σⱼ e^aⱼ = softmax(a)ᵢ, so ∂L/∂aᵢ = grad · softmax(a)ᵢ.
    """

    def forward(self, a, dim, keepdim=False):
        self.a, self.axes, self.keepdim = a, dims_to_axes(dim, a.ndim), keepdim
        shift = a.max(axis=self.axes, keepdims=True)
        shift = np.where(np.isfinite(shift), shift, 0)  # all −inf (or an inf) : leave it to exp and log
        with np.errstate(divide="ignore", over="ignore"):  # log 0 in an all −inf slice; e^a overflows only beside a +inf
            out = np.log(np.exp(a - shift).sum(axis=self.axes, keepdims=True)) + shift
        self.out = out if keepdim else out.squeeze(self.axes)
        return self.out

    def backward(self, grad):
        out = self.out
        if not self.keepdim:
            grad, out = np.expand_dims(grad, self.axes), np.expand_dims(out, self.axes)
        with np.errstate(invalid="ignore"):
            softmax = np.exp(self.a - out)
        return grad * np.where(np.isnan(softmax), 0, softmax)  # a slice that is all −inf gets no gradient


class Norm(Function):
    """The Euclidean norm ‖a‖ = √(Σ a²) along ``dim``;  ∂‖a‖/∂a = a / ‖a‖ (taken as 0 where ‖a‖ = 0, as PyTorch does).

    ‖a‖ is 0 also where every a² underflows (|a| below about 1e-154 in float64, 1e-19 in float32):
    the gradient is 0 there too, as in PyTorch, not the tiny a itself."""

    def forward(self, a, dim=None, keepdim=False):
        self.a, self.axes, self.keepdim = a, dims_to_axes(dim, a.ndim), keepdim
        out = np.sqrt((a * a).sum(axis=self.axes, keepdims=True))
        self.out = out if keepdim else out.squeeze(self.axes)
        return self.out

    def backward(self, grad):
        out = self.out
        if not self.keepdim:
            grad, out = np.expand_dims(grad, self.axes), np.expand_dims(out, self.axes)
        with np.errstate(divide="ignore", invalid="ignore"):  # 0/0 where the norm is 0, replaced by the 0 PyTorch gives
            return grad * np.where(out == 0, 0, self.a / out)


class SoftmaxFn(Function):
    """softmax(z)ᵢ = e^zᵢ / Σⱼ e^zⱼ, computed after subtracting max z so no exponent overflows.

    Backward: ∂L/∂zᵢ = sᵢ (gradᵢ − Σⱼ gradⱼ sⱼ).
    """

    def forward(self, z, dim=-1):
        self.dim = dim_to_axis(dim, z.ndim)
        e = np.exp(z - z.max(axis=self.dim, keepdims=True))
        self.out = e / e.sum(axis=dim, keepdims=True)
        return self.out

    def backward(self, grad):
        s = self.out
        return s * (grad - (grad * s).sum(axis=self.dim, keepdims=True))


class LogSoftmaxFn(Function):
    """log softmax(z)ᵢ = zᵢ − log Σⱼ e^zⱼ, with the max subtracted first for stability.

    Backward: ∂L/∂zᵢ = gradᵢ − softmax(z)ᵢ Σⱼ gradⱼ.
    """

    def forward(self, z, dim=-1):
        self.dim = dim_to_axis(dim, z.ndim)
        shifted = z - z.max(axis=self.dim, keepdims=True)
        self.out = shifted - np.log(np.exp(shifted).sum(axis=dim, keepdims=True))
        return self.out

    def backward(self, grad):
        return grad - np.exp(self.out) * grad.sum(axis=self.dim, keepdims=True)


# ---------------------------------------------------------------------------------- shapes
class Reshape(Function):
    def forward(self, a, shape):
        self.shape = a.shape
        return a.reshape(shape)

    def backward(self, grad):
        return grad.reshape(self.shape)


class Expand(Function):
    """Stretch dims of size 1 (and add leading dims) without copying; the engine sums the gradient back."""

    def forward(self, a, shape):
        return np.broadcast_to(a, shape)

    def backward(self, grad):
        return grad


class Clone(Function):
    """A copy with its own memory; the gradient passes unchanged."""

    def forward(self, a):
        return a.copy()

    def backward(self, grad):
        return grad


class Cast(Function):
    """The same values in another float dtype; the engine casts the gradient back to the input's dtype."""

    def forward(self, a, dtype):
        return a.astype(dtype)

    def backward(self, grad):
        return grad


class Permute(Function):
    def forward(self, a, dims):
        self.dims = dims
        return a.transpose(dims)

    def backward(self, grad):
        return np.transpose(grad, np.argsort(self.dims))  # the inverse permutation puts axes back


def _is_basic_index(index) -> bool:
    """Slices, integers, None and ... only: such an index never selects an element twice."""
    parts = index if isinstance(index, tuple) else (index,)
    return all(p is None or p is Ellipsis or isinstance(p, (int, np.integer, slice)) for p in parts)


class Index(Function):
    """``a[index]``. Backward scatters grad back with addition, so an element picked twice gets both gradients."""

    def forward(self, a, index):
        self.shape, self.index = a.shape, index
        return a[index]

    def backward(self, grad):
        return ScatterAdd.compute(grad, shape=self.shape, index=self.index)


class ScatterAdd(Function):
    """Zeros of ``shape`` with ``g`` added in at ``index`` (an element picked twice gets both): the backward
    of picking at an index (`Index`, `Gather`). Its own backward picks again: ∂L/∂g = grad[index]."""

    def forward(self, g, shape, index):
        self.index = index
        out = np.zeros(shape, dtype=g.dtype)
        if _is_basic_index(index):
            out[index] = g  # fast path: no element repeats
        else:
            np.add.at(out, index, g)
        return out

    def backward(self, grad):
        return grad[self.index]


class IndexPut(Function):
    """``a`` with ``a[index] = v`` (how ``t[index] = v`` is recorded). The overwritten elements of ``a``
    get no gradient; ``v`` gets the gradient of the places it was written to."""

    def forward(self, a, v, index):
        self.index = index
        out = a.copy()
        out[index] = v
        self.written = np.zeros(out.shape, dtype=bool)
        self.written[index] = True
        return out

    def backward(self, grad):
        da = np.where(self.written, 0, grad) if self.needs_input_grad[0] else None
        dv = grad[self.index] if self.needs_input_grad[1] else None
        return da, dv


class Cat(Function):
    def forward(self, *arrays, dim=0):
        self.dim = dim_to_axis(dim, arrays[0].ndim)
        self.boundaries = np.cumsum([a.shape[self.dim] for a in arrays])[:-1]
        return np.concatenate(arrays, axis=self.dim)

    def backward(self, grad):
        return tuple(np.split(grad, self.boundaries, axis=self.dim))


class Stack(Function):
    def forward(self, *arrays, dim=0):
        self.dim = dim_to_axis(dim, arrays[0].ndim + 1)  # the new dim may also come last
        return np.stack(arrays, axis=self.dim)

    def backward(self, grad):
        return tuple(np.moveaxis(grad, self.dim, 0))
