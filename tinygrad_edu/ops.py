"""Every differentiable op, each a `Function` with its forward and backward side by side.

Notation: ``g`` is the gradient arriving from above, ∂L/∂out; each ``backward`` returns ∂L/∂input
for every input, by the chain rule ∂L/∂x = ∂L/∂out · ∂out/∂x. Gradients may keep the broadcast
shape of ``out``: the engine sums them back to each input's shape. Arrays are never modified in
place here, because one gradient array may be shared by several inputs.
"""

from __future__ import annotations

import numpy as np

from .autograd import Function


def _axes(dim, ndim: int):
    """PyTorch's ``dim`` (None, an int or a tuple, negatives allowed) as a tuple of NumPy axes."""
    if dim is None:
        return tuple(range(ndim))
    dims = (dim,) if isinstance(dim, int) else tuple(dim)
    return tuple(d % ndim if ndim else 0 for d in dims)


# ------------------------------------------------------------------------------ arithmetic
class Add(Function):
    def forward(self, a, b):
        return a + b

    def backward(self, g):
        return g, g


class Sub(Function):
    def forward(self, a, b):
        return a - b

    def backward(self, g):
        return g, (-g if self.needs_input_grad[1] else None)


class Mul(Function):
    def forward(self, a, b):
        self.a, self.b = a, b
        return a * b

    def backward(self, g):
        da = g * self.b if self.needs_input_grad[0] else None
        db = g * self.a if self.needs_input_grad[1] else None
        return da, db


class Div(Function):
    def forward(self, a, b):
        self.a, self.b = a, b
        return a / b

    def backward(self, g):
        da = g / self.b if self.needs_input_grad[0] else None
        db = -g * self.a / (self.b * self.b) if self.needs_input_grad[1] else None
        return da, db


class Pow(Function):
    """out = aᵇ;  ∂out/∂a = b·aᵇ⁻¹,  ∂out/∂b = aᵇ·ln a."""

    def forward(self, a, b):
        self.a, self.b = a, b
        self.out = a**b
        return self.out

    def backward(self, g):
        a, b = self.a, self.b
        da = db = None
        with np.errstate(divide="ignore", invalid="ignore"):
            if self.needs_input_grad[0]:
                da = g * np.where(b == 0, 0, b * a ** (b - 1))  # d/da a⁰ = 0, even at a = 0
            if self.needs_input_grad[1]:
                db = g * np.where(a == 0, 0, self.out * np.log(a))  # 0ᵇ is flat in b where it is defined
        return da, db


class MatMul(Function):
    """out = a @ b;  ∂L/∂a = g @ bᵀ,  ∂L/∂b = aᵀ @ g (vectors are treated as one-row/one-column matrices)."""

    def forward(self, a, b):
        self.a, self.b = a, b
        return a @ b

    def backward(self, g):
        a, b = self.a, self.b
        if a.ndim == 1 and b.ndim == 1:  # the dot product a·b
            return g * b, g * a
        a2 = a[None, :] if a.ndim == 1 else a
        b2 = b[:, None] if b.ndim == 1 else b
        if a.ndim == 1:
            g = np.expand_dims(g, -2)
        if b.ndim == 1:
            g = np.expand_dims(g, -1)
        da = db = None
        if self.needs_input_grad[0]:
            da = g @ np.swapaxes(b2, -1, -2)
            da = da.squeeze(-2) if a.ndim == 1 else da
        if self.needs_input_grad[1]:
            db = np.swapaxes(a2, -1, -2) @ g
            db = db.squeeze(-1) if b.ndim == 1 else db
        return da, db


class Linear(Function):
    """A layer's affine map as one op: out = x Wᵀ + b, with W of shape (out_features, in_features).

    ∂L/∂x = g W,  ∂L/∂W = gᵀ x,  ∂L/∂b = Σ_examples g. One op instead of matmul, transpose and add
    saves two graph nodes and a broadcast reduction per layer per step.
    """

    def forward(self, x, weight, bias=None):
        self.x, self.weight = x, weight
        out = x @ weight.T
        if bias is not None:
            out += bias  # in place: out is a new array, and this saves allocating another
        return out

    def backward(self, g):
        x, weight = self.x, self.weight
        dx = g @ weight if self.needs_input_grad[0] else None
        if g.ndim != 2:  # any leading dims count as examples
            g, x = g.reshape(-1, g.shape[-1]), x.reshape(-1, x.shape[-1])
        dw = g.T @ x if self.needs_input_grad[1] else None
        if len(self.needs_input_grad) == 2:
            return dx, dw
        db = g.sum(axis=0) if self.needs_input_grad[2] else None
        return dx, dw, db


class Neg(Function):
    def forward(self, a):
        return -a

    def backward(self, g):
        return -g


# ---------------------------------------------------------------------------- element-wise
class Exp(Function):
    def forward(self, a):
        self.out = np.exp(a)
        return self.out

    def backward(self, g):
        return g * self.out  # (eᵃ)' = eᵃ


class Log(Function):
    def forward(self, a):
        self.a = a
        return np.log(a)

    def backward(self, g):
        return g / self.a


class Sqrt(Function):
    def forward(self, a):
        self.out = np.sqrt(a)
        return self.out

    def backward(self, g):
        return g / (2 * self.out)


class Abs(Function):
    def forward(self, a):
        self.a = a
        return np.abs(a)

    def backward(self, g):
        return g * np.sign(self.a)  # 0 at a = 0, as in PyTorch


class Sigmoid(Function):
    """σ(z) = 1/(1 + e⁻ᶻ);  σ'(z) = σ(z)(1 − σ(z)).

    Computed through the identity σ(z) = ½(1 + tanh(z/2)): tanh never overflows, so z = ±1000 give
    exactly 1 and 0 without warnings, in float32 as in float64, and it is one fast ufunc call where
    the textbook formula needs an exp that overflows for z < −88 in float32. (Far in the lower
    tail, below about −17 in float32, the result rounds to exactly 0 rather than a tiny positive.)
    """

    def forward(self, z):
        self.out = 0.5 * np.tanh(0.5 * z) + 0.5
        return self.out

    def backward(self, g):
        return g * self.out * (1 - self.out)


class Tanh(Function):
    def forward(self, z):
        self.out = np.tanh(z)
        return self.out

    def backward(self, g):
        return g * (1 - self.out * self.out)


class ReLU(Function):
    def forward(self, z):
        self.positive = z > 0
        return z * self.positive

    def backward(self, g):
        return g * self.positive


class Step(Function):
    """The perceptron's Heaviside step: 1 where z ≥ 0, else 0.

    Its true derivative is 0 everywhere (and undefined at 0), so no gradient flows through it:
    how a perceptron learns anyway is the business of ``nn.Step``.
    """

    def forward(self, z):
        return (z >= 0).astype(z.dtype)

    def backward(self, g):
        return np.zeros_like(g)


class Clamp(Function):
    """Clip into [min, max]; the gradient passes where the input was inside (bounds included)."""

    def forward(self, a, min=None, max=None):
        self.inside = np.ones(a.shape, dtype=bool)
        if min is not None:
            self.inside &= a >= min
        if max is not None:
            self.inside &= a <= max
        return np.clip(a, min, max)

    def backward(self, g):
        return g * self.inside


class Where(Function):
    def forward(self, x, y, condition):
        self.condition = condition
        return np.where(condition, x, y)

    def backward(self, g):
        dx = np.where(self.condition, g, 0) if self.needs_input_grad[0] else None
        dy = np.where(self.condition, 0, g) if self.needs_input_grad[1] else None
        return dx, dy


# ------------------------------------------------------------------------------ reductions
class Sum(Function):
    def forward(self, a, dim=None, keepdim=False):
        self.shape, self.axes, self.keepdim = a.shape, _axes(dim, a.ndim), keepdim
        return np.sum(a, axis=self.axes, keepdims=keepdim)

    def backward(self, g):
        if not self.keepdim:
            g = np.expand_dims(g, self.axes)
        return np.broadcast_to(g, self.shape)  # every summand gets the whole gradient


class Mean(Function):
    def forward(self, a, dim=None, keepdim=False):
        self.shape, self.axes, self.keepdim = a.shape, _axes(dim, a.ndim), keepdim
        self.count = int(np.prod([a.shape[i] for i in self.axes]))
        return np.mean(a, axis=self.axes, keepdims=keepdim)

    def backward(self, g):
        if not self.keepdim:
            g = np.expand_dims(g, self.axes)
        return np.broadcast_to(g / self.count, self.shape)


class Max(Function):
    """The largest element. Ties share the gradient equally (as PyTorch's full ``max()`` does)."""

    def forward(self, a):
        out = a.max()
        self.is_max = a == out
        return out

    def backward(self, g):
        return g * self.is_max / self.is_max.sum()


class TakeAlongDim(Function):
    """Pick one element per slice along ``dim`` at ``indices`` (how ``max(dim)`` gets its values)."""

    def forward(self, a, indices, dim, keepdim=False):
        self.shape, self.indices, self.dim, self.keepdim = a.shape, indices, dim % a.ndim, keepdim
        out = np.take_along_axis(a, indices, axis=self.dim)
        return out if keepdim else out.squeeze(self.dim)

    def backward(self, g):
        grad = np.zeros(self.shape, dtype=g.dtype)
        g = g if self.keepdim else np.expand_dims(g, self.dim)
        np.put_along_axis(grad, self.indices, g, axis=self.dim)
        return grad


class Softmax(Function):
    """softmax(z)ᵢ = e^zᵢ / Σⱼ e^zⱼ, computed after subtracting max z so no exponent overflows.

    Backward: ∂L/∂zᵢ = sᵢ (gᵢ − Σⱼ gⱼ sⱼ).
    """

    def forward(self, z, dim=-1):
        self.dim = dim
        e = np.exp(z - z.max(axis=dim, keepdims=True))
        self.out = e / e.sum(axis=dim, keepdims=True)
        return self.out

    def backward(self, g):
        s = self.out
        return s * (g - (g * s).sum(axis=self.dim, keepdims=True))


class LogSoftmax(Function):
    """log softmax(z)ᵢ = zᵢ − log Σⱼ e^zⱼ, with the max subtracted first for stability.

    Backward: ∂L/∂zᵢ = gᵢ − softmax(z)ᵢ Σⱼ gⱼ.
    """

    def forward(self, z, dim=-1):
        self.dim = dim
        shifted = z - z.max(axis=dim, keepdims=True)
        self.out = shifted - np.log(np.exp(shifted).sum(axis=dim, keepdims=True))
        return self.out

    def backward(self, g):
        return g - np.exp(self.out) * g.sum(axis=self.dim, keepdims=True)


# ---------------------------------------------------------------------------------- shapes
class Reshape(Function):
    def forward(self, a, shape):
        self.shape = a.shape
        return a.reshape(shape)

    def backward(self, g):
        return g.reshape(self.shape)


class Permute(Function):
    def forward(self, a, dims):
        self.dims = dims
        return a.transpose(dims)

    def backward(self, g):
        return g.transpose(np.argsort(self.dims))  # the inverse permutation puts axes back


def _is_basic_index(index) -> bool:
    """Slices, integers, None and ... only: such an index never selects an element twice."""
    parts = index if isinstance(index, tuple) else (index,)
    return all(p is None or p is Ellipsis or isinstance(p, (int, np.integer, slice)) for p in parts)


class Index(Function):
    """``a[index]``. Backward scatters g back with addition, so an element picked twice gets both gradients."""

    def forward(self, a, index):
        self.shape, self.index = a.shape, index
        return a[index]

    def backward(self, g):
        grad = np.zeros(self.shape, dtype=g.dtype)
        if _is_basic_index(self.index):
            grad[self.index] = g  # fast path: no element repeats
        else:
            np.add.at(grad, self.index, g)
        return grad


class Cat(Function):
    def forward(self, *arrays, dim=0):
        self.dim = dim
        self.boundaries = np.cumsum([a.shape[dim] for a in arrays])[:-1]
        return np.concatenate(arrays, axis=dim)

    def backward(self, g):
        return tuple(np.split(g, self.boundaries, axis=self.dim))


class Stack(Function):
    def forward(self, *arrays, dim=0):
        self.dim = dim
        return np.stack(arrays, axis=dim)

    def backward(self, g):
        return tuple(np.moveaxis(g, self.dim, 0))
