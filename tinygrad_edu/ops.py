"""Every differentiable op, each a `Function` with its forward and backward side by side.

Notation: ``grad`` is the gradient arriving from above, ∂L/∂out; each ``backward`` returns ∂L/∂input
for every input, by the chain rule ∂L/∂x = ∂L/∂out · ∂out/∂x. Gradients may keep the broadcast
shape of ``out``: the engine sums them back to each input's shape. Arrays are never modified in
place here, because one gradient array may be shared by several inputs. For a second derivative
the engine runs these same backwards on tensors (see `Function`): which is why they keep their
inputs and output as they came, and compute everything else in backward.
"""

from __future__ import annotations

import math

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
            if self.needs_input_grad[1]:  # 0ᵇ is flat (0) for b > 0; for b < 0 it is ∞ · ln 0 = −∞, as in PyTorch
                db = grad * np.where((a == 0) & (b >= 0), 0, self.out * np.log(a))
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


class Einsum(Function):
    """Sums of products over subscripts, ``np.einsum(equation, *operands)`` with the output written out
    ("ij,jk->ik" is a matrix product, "ii->" a trace, "bi,bi->b" a dot product per row).

    The output is linear in each operand, so operand k's gradient is the same kind of sum: grad times
    every other operand, summed onto k's subscripts ("ik,jk->ij" for the matrix product's first
    operand: grad @ bᵀ). A subscript repeated within k (a diagonal, "ii") gets it on that diagonal
    only; one that k alone has (summed away in forward) gets it broadcast along that dimension.
    """

    def forward(self, *operands, equation):
        self.operands, self.equation = operands, equation
        return np.einsum(equation, *operands)

    def backward(self, grad):
        inputs, output = self.equation.split("->")
        subscripts = inputs.split(",")
        grads = []
        for k, (own, operand) in enumerate(zip(subscripts, self.operands)):
            if not self.needs_input_grad[k]:
                grads.append(None)
                continue
            others = [j for j in range(len(subscripts)) if j != k]
            letters = "".join(dict.fromkeys(own))  # each subscript of k once, in order
            reached = set(output).union(*[subscripts[j] for j in others])
            kept = "".join(c for c in letters if c in reached)
            summed = np.einsum(",".join([output] + [subscripts[j] for j in others]) + "->" + kept,
                               grad, *[self.operands[j] for j in others])
            sizes = dict(zip(own, operand.shape))
            summed = summed.reshape([sizes[c] if c in kept else 1 for c in letters])  # k's own subscripts: size 1, broadcast
            d = np.zeros(operand.shape, dtype=grad.dtype)
            np.einsum(own + "->" + letters, d)[...] = summed  # a view of d (its diagonal, for a repeated subscript)
            grads.append(d)
        return tuple(grads)


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


# ------------------------------------------------------------------ more element-wise functions
# Each keeps for backward only its input a or its output, and computes the derivative from it.
class Sin(Function):
    """sin a;  (sin a)' = cos a."""

    def forward(self, a):
        self.a = a
        return np.sin(a)

    def backward(self, grad):
        return grad * np.cos(self.a)


class Cos(Function):
    """cos a;  (cos a)' = −sin a."""

    def forward(self, a):
        self.a = a
        return np.cos(a)

    def backward(self, grad):
        return -grad * np.sin(self.a)


class Tan(Function):
    """tan a;  (tan a)' = 1/cos² a = 1 + tan² a."""

    def forward(self, a):
        self.out = np.tan(a)
        return self.out

    def backward(self, grad):
        return grad * (1 + self.out * self.out)


class Asin(Function):
    """arcsin a for a in [−1, 1];  (arcsin a)' = 1/√(1 − a²)."""

    def forward(self, a):
        self.a = a
        return np.arcsin(a)

    def backward(self, grad):
        return grad / np.sqrt(1 - self.a * self.a)


class Acos(Function):
    """arccos a for a in [−1, 1];  (arccos a)' = −1/√(1 − a²)."""

    def forward(self, a):
        self.a = a
        return np.arccos(a)

    def backward(self, grad):
        return -grad / np.sqrt(1 - self.a * self.a)


class Atan(Function):
    """arctan a;  (arctan a)' = 1/(1 + a²)."""

    def forward(self, a):
        self.a = a
        return np.arctan(a)

    def backward(self, grad):
        return grad / (1 + self.a * self.a)


class Sinh(Function):
    """sinh a = (eᵃ − e⁻ᵃ)/2;  (sinh a)' = cosh a."""

    def forward(self, a):
        self.a = a
        return np.sinh(a)

    def backward(self, grad):
        return grad * np.cosh(self.a)


class Cosh(Function):
    """cosh a = (eᵃ + e⁻ᵃ)/2;  (cosh a)' = sinh a."""

    def forward(self, a):
        self.a = a
        return np.cosh(a)

    def backward(self, grad):
        return grad * np.sinh(self.a)


class Asinh(Function):
    """arsinh a = ln(a + √(a² + 1));  (arsinh a)' = 1/√(a² + 1)."""

    def forward(self, a):
        self.a = a
        return np.arcsinh(a)

    def backward(self, grad):
        return grad / np.sqrt(self.a * self.a + 1)


class Acosh(Function):
    """arcosh a for a ≥ 1;  (arcosh a)' = 1/√(a² − 1)."""

    def forward(self, a):
        self.a = a
        return np.arccosh(a)

    def backward(self, grad):
        return grad / np.sqrt(self.a * self.a - 1)


class Atanh(Function):
    """artanh a for a in (−1, 1);  (artanh a)' = 1/(1 − a²)."""

    def forward(self, a):
        self.a = a
        return np.arctanh(a)

    def backward(self, grad):
        return grad / (1 - self.a * self.a)


class Expm1(Function):
    """eᵃ − 1, exact also for tiny a (where eᵃ rounds to 1 and the difference would be lost);  (eᵃ − 1)' = eᵃ = out + 1."""

    def forward(self, a):
        self.out = np.expm1(a)
        return self.out

    def backward(self, grad):
        return grad * (self.out + 1)


_erf = np.vectorize(math.erf, otypes=[np.float64])  # NumPy has no erf; Python's math module has


class Erf(Function):
    """The error function erf a = (2/√π) ∫₀ᵃ e^(−t²) dt (the normal distribution's CDF is ½(1 + erf(a/√2)));
    (erf a)' = (2/√π) e^(−a²)."""

    def forward(self, a):
        self.a = a
        return _erf(a).astype(a.dtype)

    def backward(self, grad):
        return grad * (2 / math.sqrt(math.pi)) * np.exp(-self.a * self.a)


class Maximum(Function):
    """max(a, b) element by element, or with ``smallest=True`` min(a, b). The gradient goes to the
    input that was chosen; where the two tie, each gets half of it, as in PyTorch."""

    def forward(self, a, b, smallest=False):
        self.a_chosen, self.tie = (a < b if smallest else a > b), a == b
        return np.minimum(a, b) if smallest else np.maximum(a, b)

    def backward(self, grad):
        half = 0.5 * grad
        da = np.where(self.tie, half, grad * self.a_chosen) if self.needs_input_grad[0] else None
        db = np.where(self.tie, half, grad * ~self.a_chosen) if self.needs_input_grad[1] else None
        return da, db


def _check_integer_divisor(a, b) -> None:
    """Integers divided by 0 have no value (NumPy would give 0 with a warning); PyTorch refuses, and so do we."""
    if a.dtype.kind in "iu" and (b == 0).any():
        raise ZeroDivisionError("integer division by zero")


class Remainder(Function):
    """a mod b with the sign of b (Python's %, PyTorch's remainder): a − b⌊a/b⌋;
    ∂/∂a = 1,  ∂/∂b = −⌊a/b⌋ (between the jumps, where ⌊a/b⌋ is constant)."""

    def forward(self, a, b):
        _check_integer_divisor(a, b)
        self.a, self.b = a, b
        return np.mod(a, b)

    def backward(self, grad):
        db = -grad * np.floor_divide(self.a, self.b) if self.needs_input_grad[1] else None
        return grad, db


class Rounding(Function):
    """floor, ceil, trunc (toward 0), round (halves to even, as PyTorch and NumPy do; ``decimals``
    places) or sign: steps, whose derivative is 0 wherever it exists; PyTorch takes it as 0 at the
    jumps too."""

    def forward(self, a, how, decimals=0):
        if how == "round":
            return np.round(a, decimals)
        return {"floor": np.floor, "ceil": np.ceil, "trunc": np.trunc, "sign": np.sign}[how](a)

    def backward(self, grad):
        return np.zeros_like(grad)


class RoundedDiv(Function):
    """a / b rounded to a whole number, toward −∞ (``"floor"``: Python's //) or toward 0 (``"trunc"``).

    A step in both inputs, so its derivative is 0 (PyTorch's choice at the jumps too). As in PyTorch,
    that holds for ``div(rounding_mode=...)``, while ``floor_divide`` (``//``) has no derivative at all
    (``floor_divide=True``): its backward raises.
    """

    def forward(self, a, b, rounding_mode, floor_divide=False):
        _check_integer_divisor(a, b)
        self.floor_divide = floor_divide
        floor = np.floor_divide(a, b)
        if rounding_mode == "floor":
            return floor
        if a.dtype.kind == "f":
            return np.trunc(a / b)
        return floor + ((floor < 0) & (floor * b != a))  # integers: a floor below 0 that was not exact moves up by 1

    def backward(self, grad):
        if self.floor_divide:
            raise RuntimeError("the derivative of floor_divide (//) is not defined, as in PyTorch; for a gradient of 0 "
                               "use a.div(b, rounding_mode='floor'), or detach() the inputs first")
        return np.zeros_like(grad), np.zeros_like(grad)


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


def _positions(index, dim, shape, name) -> tuple:
    """The places ``gather`` reads and ``scatter`` writes, as an index of ``shape``'s array: every position of
    ``index`` itself, except along ``dim``, where the index says which element (PyTorch's rule)."""
    axis = dim_to_axis(dim, len(shape))
    if index.dtype.kind not in "iu" or index.ndim != len(shape):
        raise ValueError(f"{name} needs an integer index with as many dims as the input ({len(shape)}), "
                         f"got a {index.dtype} index with {index.ndim}")
    if any(n > m for d, (n, m) in enumerate(zip(index.shape, shape)) if d != axis):
        raise ValueError(f"{name}: index shape {index.shape} is larger than the input's {shape} outside dim {dim}")
    if index.size and (index.min() < 0 or index.max() >= shape[axis]):
        raise IndexError(f"{name}: index values must lie in [0, {shape[axis]}) along dim {dim}, "
                         f"got values from {index.min()} to {index.max()}")
    where = list(np.indices(index.shape, sparse=True))
    where[axis] = index
    return tuple(where)


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
        self.shape, self.where = a.shape, _positions(index, dim, a.shape, "gather")
        return a[self.where]

    def backward(self, grad):
        return ScatterAdd.compute(grad, shape=self.shape, index=self.where), None


class Scatter(Function):
    """``a`` with ``src``'s values written along ``dim`` at ``index`` (PyTorch's ``scatter``), or added
    there with ``add=True`` (``scatter_add``): for dim = 1, out[i][index[i][j]] = src[i][j].

    Backward: ``src`` gets the gradient of the place each of its values went to; ``a`` gets it
    everywhere with ``add``, and otherwise except where it was written over.
    """

    def forward(self, a, src, index, dim, add=False):
        name = "scatter_add" if add else "scatter"
        self.where, self.add = _positions(index, dim, a.shape, name), add
        if src.ndim != index.ndim or any(n > m for n, m in zip(index.shape, src.shape)):
            raise ValueError(f"{name}: src of shape {src.shape} must have every dim at least as long as index's {index.shape}")
        self.used = tuple(slice(0, n) for n in index.shape)  # the part of src that index reaches
        self.src_shape = src.shape
        out = a.copy()
        if add:
            np.add.at(out, self.where, src[self.used])
        else:
            out[self.where] = src[self.used]
        return out

    def backward(self, grad):
        da = dsrc = None
        if self.needs_input_grad[0]:
            da = grad
            if not self.add:
                da = grad.copy()
                da[self.where] = 0
        if self.needs_input_grad[1]:
            dsrc = np.zeros(self.src_shape, dtype=grad.dtype)
            dsrc[self.used] = grad[self.where]
        return da, dsrc, None


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


class Prod(Function):
    """Πᵢ aᵢ over ``dim`` (every element by default);  ∂/∂aᵢ = Πⱼ≠ᵢ aⱼ.

    That product of the others is the product of the factors before aᵢ times the product of those
    after it (running products from both ends), which needs no division, so a zero factor is no
    special case.
    """

    def forward(self, a, dim=None, keepdim=False):
        self.a, self.keepdim = a, keepdim
        self.axis = None if dim is None else dim_to_axis(dim, a.ndim)
        return np.prod(a, axis=self.axis, keepdims=keepdim)

    def backward(self, grad):
        a = self.a.reshape(-1) if self.axis is None else self.a  # all elements: one line of them
        axis = 0 if self.axis is None else self.axis
        if self.axis is not None and not self.keepdim:
            grad = np.expand_dims(grad, axis)
        a = np.moveaxis(a, axis, -1)
        one = np.ones_like(a[..., :1])
        before = np.cumprod(np.concatenate([one, a[..., :-1]], axis=-1), axis=-1)
        after = np.cumprod(np.concatenate([one, a[..., :0:-1]], axis=-1), axis=-1)[..., ::-1]
        others = np.moveaxis(before * after, -1, axis)
        return grad * others.reshape(self.a.shape)


class CumSum(Function):
    """Running sums along ``dim``: outᵢ = Σⱼ≤ᵢ aⱼ;  ∂L/∂aⱼ = Σᵢ≥ⱼ gradᵢ, the running sum of grad taken
    from the other end."""

    def forward(self, a, dim):
        self.axis = dim_to_axis(dim, a.ndim)
        return np.cumsum(a, axis=self.axis)

    def backward(self, grad):
        return np.flip(np.cumsum(np.flip(grad, self.axis), axis=self.axis), self.axis)


class CumProd(Function):
    """Running products along ``dim``: outᵢ = Πⱼ≤ᵢ aⱼ;  ∂outᵢ/∂aⱼ = Πₖ≤ᵢ,ₖ≠ⱼ aₖ for j ≤ i.

    So ∂L/∂aⱼ = Σᵢ≥ⱼ gradᵢ · (the running product with aⱼ replaced by 1)ᵢ, computed for each j. That
    takes n running products instead of one, but it needs no division by aⱼ (outᵢ/aⱼ would fail for a
    zero factor, and lose every digit for a tiny one whose product underflows).
    """

    def forward(self, a, dim):
        self.a, self.axis = a, dim_to_axis(dim, a.ndim)
        return np.cumprod(a, axis=self.axis)

    def backward(self, grad):
        a, grad = np.moveaxis(self.a, self.axis, -1), np.moveaxis(grad, self.axis, -1)
        da = np.empty(np.broadcast_shapes(a.shape, grad.shape), dtype=grad.dtype)
        for j in range(a.shape[-1]):
            without_j = a.copy()
            without_j[..., j] = 1
            da[..., j] = (grad[..., j:] * np.cumprod(without_j, axis=-1)[..., j:]).sum(axis=-1)
        return np.moveaxis(da, -1, self.axis)


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


class Diagonal(Function):
    """The diagonal a[..., i, i + offset] of the two dims ``axes``, as a new last dim (NumPy's read-only
    view, as PyTorch's is a view). Backward puts grad on that diagonal of an array of zeros."""

    def forward(self, a, offset, axes):
        self.shape, self.offset, self.axes = a.shape, offset, axes
        return np.diagonal(a, offset, *axes)

    def backward(self, grad):
        da = np.zeros(self.shape, dtype=grad.dtype)
        rows = np.arange(grad.shape[-1]) + max(-self.offset, 0)
        np.moveaxis(da, self.axes, (-2, -1))[..., rows, rows + self.offset] = grad  # through a view of da
        return da


def _is_basic_index(index) -> bool:
    """Slices, integers, None and ... only: such an index never selects an element twice."""
    parts = index if isinstance(index, tuple) else (index,)
    return all(p is None or p is Ellipsis or isinstance(p, (int, np.integer, slice)) for p in parts)


def torch_index(index, shape: tuple):
    """``index`` as PyTorch reads it, as an index NumPy reads the same way, for an array of ``shape``.

    PyTorch applies the integers before any index array: each integer removes its dim, as in basic
    indexing, and the arrays then follow NumPy's rule on the dims that are left (the dims they select
    take their place if they stand together, and go first if slices separate them). NumPy instead
    counts an integer among the arrays, so ``t[0, :, [0, 1]]`` would put the selected dim first. Only
    when both appear do the two differ: then the integers are applied to the positions of the
    elements first, the rest after, and the positions reached become one index array per dim.
    """
    parts = index if isinstance(index, tuple) else (index,)
    parts = tuple(int(p) if isinstance(p, np.ndarray) and p.ndim == 0 and p.dtype.kind in "iu" else p for p in parts)
    integer = [isinstance(p, (int, np.integer)) and not isinstance(p, bool) for p in parts]
    if not any(integer) or not any(isinstance(p, (list, np.ndarray)) for p in parts):
        return index
    first = []
    for p, is_integer in zip(parts, integer):
        if is_integer or p is Ellipsis:
            first.append(p)
        elif p is not None:  # None adds a dim of its own: it belongs to the rest
            mask = np.asarray(p) if isinstance(p, list) else p
            first.extend([slice(None)] * (mask.ndim if getattr(mask, "dtype", None) == np.bool_ else 1))
    positions = np.arange(int(np.prod(shape))).reshape(shape)[tuple(first)]  # the integers: a view
    return np.unravel_index(positions[tuple(p for p, is_integer in zip(parts, integer) if not is_integer)], shape)


class Index(Function):
    """``a[index]``, read as PyTorch reads it (`torch_index`). Backward scatters grad back with addition, so
    an element picked twice gets both gradients."""

    def forward(self, a, index):
        self.shape, self.index = a.shape, torch_index(index, a.shape)
        return a[self.index]

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
    """``a`` with ``a[index] = v`` (how ``t[index] = v`` is recorded), written where ``a[index]`` reads. The
    overwritten elements of ``a`` get no gradient; ``v`` gets the gradient of the places it was written to."""

    def forward(self, a, v, index):
        self.index = index = torch_index(index, a.shape)
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
