"""PyTorch's ``torch.nn.functional`` for this engine: activations, ``linear``, ``dropout``, ``one_hot``, and the losses.

Names, signatures and results follow PyTorch, with one deliberate addition: ``mse_loss`` also has
the lecture's reduction ``"lecture"``, C = 1/(2n) Σₓ ‖y(x) − a‖², which is the default of the
module ``nn.MSELoss``. The function ``mse_loss`` keeps PyTorch's default ``"mean"``, so code copied
from PyTorch computes what it computed there.

Each loss ends in one op (a `tg.Function`, written the way docs/extending.md shows; cross_entropy is
log_softmax followed by the negative log-likelihood op): forward computes the per-element losses ℓ
and reduces them, backward hands ∂L/∂ℓ through ∂ℓ/∂input. Everything that
changes from call to call (labels, dropout masks, the check for a diverged loss) happens inside an
op, from the op's tensor inputs, so that a recorded step (`tinygrad_edu.jit`) can replay it.
"""

from __future__ import annotations

import math

import numpy as np

import tinygrad_edu as tg

REDUCTIONS = ("mean", "sum", "none")
MSE_REDUCTIONS = ("lecture",) + REDUCTIONS


# ------------------------------------------------------------------------------ activations
def relu(input: tg.Tensor) -> tg.Tensor:
    return input.relu()


def sigmoid(input: tg.Tensor) -> tg.Tensor:
    return input.sigmoid()


def tanh(input: tg.Tensor) -> tg.Tensor:
    return input.tanh()


def softmax(input: tg.Tensor, dim: int) -> tg.Tensor:
    """``dim`` is required: PyTorch's guess when it is left out depends on the number of dimensions."""
    return input.softmax(dim)


def log_softmax(input: tg.Tensor, dim: int) -> tg.Tensor:
    return input.log_softmax(dim)


def linear(input: tg.Tensor, weight: tg.Tensor, bias: tg.Tensor | None = None) -> tg.Tensor:
    """x Wᵀ + b with W of shape (out_features, in_features)."""
    return tg.linear(input, weight, bias)


class LeakyReLUFn(tg.Function):
    """a = z where z > 0, else s·z (slope s);  ∂a/∂z = 1 or s (s at z = 0, as in PyTorch)."""

    def forward(self, z, negative_slope):
        self.positive, self.negative_slope = z > 0, negative_slope
        return z * self.slope(z.dtype)

    def slope(self, dtype):
        """∂a/∂z: 1 where z > 0, else s (an array of constants, made from the mask)."""
        return np.where(self.positive, 1, self.negative_slope).astype(dtype)

    def backward(self, grad):
        return grad * self.slope(grad.dtype)


def leaky_relu(input: tg.Tensor, negative_slope: float = 0.01) -> tg.Tensor:
    return LeakyReLUFn.apply(input, negative_slope=negative_slope)


class DropoutFn(tg.Function):
    """out = x · m / (1 − p), with m = 1 (kept) with probability 1 − p, else 0, for each element.

    The mask is drawn in forward, from ``generator`` or else from the engine's default generator as
    it is at that moment (``tg.manual_seed`` replaces it), so every call, replays included, draws anew.
    Backward lets the gradient through the kept elements with the same scaling: ∂out/∂x = m / (1 − p).
    """

    def forward(self, x, p, generator=None):
        self.keep = tg.rand(*x.shape, generator=generator, dtype=x.dtype).numpy() >= p
        self.p, self.dtype = p, x.dtype
        return x * self.mask()

    def mask(self):
        """m / (1 − p): 1/(1 − p) where kept, 0 where dropped (made from the kept mask, a constant)."""
        if self.p == 1:
            return np.zeros(self.keep.shape, self.dtype)
        return self.keep / np.asarray(1 - self.p, dtype=self.dtype)

    def backward(self, grad):
        return grad * self.mask()


def dropout(input: tg.Tensor, p: float = 0.5, training: bool = True,
            generator: np.random.Generator | None = None) -> tg.Tensor:
    """Zero each element with probability p and scale the rest by 1/(1 − p), in training; the input itself otherwise.

    ``generator`` (not in PyTorch) fixes the masks; without it, ``tg.manual_seed`` does.
    """
    if not 0 <= p <= 1:
        raise ValueError(f"dropout: p must be a probability in [0, 1], got {p}")
    if not training or p == 0:
        return input
    return DropoutFn.apply(input, p=p, generator=generator)


class StraightThroughStep(tg.Function):
    """Heaviside step forward; backward passes the gradient through as if the step were the identity
    (how ``nn.Step``, the perceptron's unit, learns: see its docstring)."""

    def forward(self, z):
        return (z >= 0).astype(z.dtype)

    def backward(self, grad):
        return grad


class OneHot(tg.Function):
    """Row i is eʸⁱ, the unit vector of label yᵢ. Labels are integers, so there is no gradient."""

    def forward(self, labels, num_classes, dtype):
        if num_classes < 0:
            num_classes = int(labels.max()) + 1 if labels.size else 0
        _check_labels(labels, num_classes, True, "one_hot")
        return np.eye(num_classes, dtype=dtype)[labels]


def one_hot(labels, num_classes: int = -1, dtype=np.int64) -> tg.Tensor:
    """Targets for class labels: shape (..., num_classes), 1 at the label and 0 elsewhere.

    As in PyTorch, ``num_classes=-1`` takes the largest label + 1 and the result is int64.
    ``dtype`` (not in PyTorch) gives the lecture's float targets at once:
    ``one_hot(labels, 10, dtype=np.float32)``, to compare with a network's outputs.
    """
    labels = _labels(labels)
    if labels.dtype.kind not in "iu":
        raise TypeError(f"one_hot: labels must be integers, got {labels.dtype}")
    return OneHot.apply(labels, num_classes=num_classes, dtype=np.dtype(dtype))


# ------------------------------------------------------------------------ more activations
# PyTorch's, with its formulas and its derivative at the kinks; most are compositions of tensor ops.
def gelu(input: tg.Tensor, approximate: str = "none") -> tg.Tensor:
    """GELU(x) = x·Φ(x), with Φ the standard normal's CDF: ½x(1 + erf(x/√2)); with ``approximate="tanh"``,
    ½x(1 + tanh(√(2/π)(x + 0.044715x³)))."""
    if approximate == "none":
        return 0.5 * input * (1 + (input * (1 / math.sqrt(2))).erf())
    if approximate == "tanh":
        return 0.5 * input * (1 + (math.sqrt(2 / math.pi) * (input + 0.044715 * input * input * input)).tanh())
    raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")


def silu(input: tg.Tensor) -> tg.Tensor:
    """SiLU (swish): x·σ(x)."""
    return input * input.sigmoid()


def elu(input: tg.Tensor, alpha: float = 1.0) -> tg.Tensor:
    """x for x > 0, α(eˣ − 1) otherwise. eˣ − 1 is taken of min(x, 0), so that a large x cannot overflow
    the branch that is not used (its NaN gradient would reach x through where's zero)."""
    return tg.where(input > 0, input, alpha * input.clamp(max=0).expm1())


_SELU_ALPHA, _SELU_SCALE = 1.6732632423543772848170429916717, 1.0507009873554804934193349852946


def selu(input: tg.Tensor) -> tg.Tensor:
    """λ·elu(x, α) with PyTorch's constants α ≈ 1.6733 and λ ≈ 1.0507 (which keep activations at mean 0, variance 1)."""
    return _SELU_SCALE * elu(input, _SELU_ALPHA)


def celu(input: tg.Tensor, alpha: float = 1.0) -> tg.Tensor:
    """x for x > 0, α(e^(x/α) − 1) otherwise."""
    if alpha == 0:
        raise ValueError("celu: alpha must not be 0 (it divides x)")
    return tg.where(input > 0, input, alpha * (input.clamp(max=0) / alpha).expm1())


class SoftplusFn(tg.Function):
    """softplus(z) = (1/β) ln(1 + e^(βz)), and z itself where βz > threshold (as PyTorch, where the two
    agree to float precision);  softplus'(z) = σ(βz) (1 beyond the threshold)."""

    def forward(self, z, beta, threshold):
        self.z, self.beta, self.threshold = z, beta, threshold
        return np.where(beta * z > threshold, z, np.logaddexp(0, beta * z) / beta)  # ln(e⁰ + e^(βz)): no overflow

    def backward(self, grad):
        bz = self.beta * self.z
        return grad * np.where(bz > self.threshold, 1, np.exp(-np.logaddexp(0, -bz)))  # σ(βz) without overflow


def softplus(input: tg.Tensor, beta: float = 1.0, threshold: float = 20.0) -> tg.Tensor:
    """(1/β) ln(1 + e^(βx)): a smooth ReLU; x itself where βx > threshold."""
    return SoftplusFn.apply(input, beta=beta, threshold=threshold)


def softsign(input: tg.Tensor) -> tg.Tensor:
    """x / (1 + |x|)."""
    return input / (1 + input.abs())


def hardtanh(input: tg.Tensor, min_val: float = -1.0, max_val: float = 1.0) -> tg.Tensor:
    """x clipped into [min_val, max_val]. As in PyTorch the gradient passes only strictly inside
    (clamp's passes at the bounds too)."""
    if min_val > max_val:
        raise ValueError(f"hardtanh: min_val ({min_val}) must not exceed max_val ({max_val})")
    inside = (input > min_val) & (input < max_val)
    return tg.where(inside, input, input.clamp(min_val, max_val).detach())


def relu6(input: tg.Tensor) -> tg.Tensor:
    """min(max(0, x), 6)."""
    return hardtanh(input, 0.0, 6.0)


def logsigmoid(input: tg.Tensor) -> tg.Tensor:
    """ln σ(x) = −softplus(−x), without overflow."""
    return -softplus(-input)


def mish(input: tg.Tensor) -> tg.Tensor:
    """x·tanh(softplus(x))."""
    return input * softplus(input).tanh()


class HardswishFn(tg.Function):
    """x·relu6(x + 3)/6: 0 below −3, x above 3, x(x + 3)/6 between; its derivative is 0, 1, and
    x/3 + ½ between (taken as 0 at x = −3 and 1 at x = 3, as PyTorch does)."""

    def forward(self, x):
        self.x = x
        return x * np.clip(x + 3, 0, 6) / 6

    def backward(self, grad):
        x = self.x
        return grad * np.where(x <= -3, 0, np.where(x < 3, x / 3 + 0.5, 1))


def hardswish(input: tg.Tensor) -> tg.Tensor:
    """x·relu6(x + 3)/6, a cheap swish."""
    return HardswishFn.apply(input)


def hardsigmoid(input: tg.Tensor) -> tg.Tensor:
    """relu6(x + 3)/6, a cheap sigmoid: 0 below −3, 1 above 3, a line between."""
    return relu6(input + 3) / 6


def normalize(input: tg.Tensor, p: float = 2.0, dim: int = 1, eps: float = 1e-12) -> tg.Tensor:
    """x / max(‖x‖ₚ, eps) along ``dim``: every slice scaled to length 1 (eps keeps a zero slice zero)."""
    return input / input.norm(p, dim, keepdim=True).clamp(min=eps)


def pad(input: tg.Tensor, pad, mode: str = "constant", value: float | None = None) -> tg.Tensor:
    """Pad the last dims: ``pad`` = (left, right) for the last, then (left, right) for the one before, ...

    ``mode``: "constant" (``value``, 0 by default), "reflect" (mirrored without repeating the edge),
    "replicate" (the edge repeated) or "circular" (wrapped around). The gradient of the padding
    goes back to the elements it copies.
    """
    if len(pad) % 2 or len(pad) // 2 > input.ndim:
        raise ValueError(f"pad: give (left, right) pairs for at most {input.ndim} dims, got {tuple(pad)}")
    if any(not isinstance(n, (int, np.integer)) or n < 0 for n in pad):
        raise ValueError(f"pad: padding sizes must be integers ≥ 0, got {tuple(pad)}")
    if mode not in ("constant", "reflect", "replicate", "circular"):
        raise ValueError(f"pad: mode must be 'constant', 'reflect', 'replicate' or 'circular', got {mode!r}")
    if value is not None and mode != "constant":
        raise ValueError(f"pad: value is for mode='constant' only, not {mode!r}")
    out = input
    for i in range(len(pad) // 2):
        dim, left, right = input.ndim - 1 - i, pad[2 * i], pad[2 * i + 1]
        n = out.shape[dim]
        if mode == "constant":
            edge = list(out.shape)
            parts = []
            for size in (left, right):
                edge[dim] = size
                parts.append(tg.full(tuple(edge), 0 if value is None else value, dtype=out.dtype))
            out = tg.cat([parts[0], out, parts[1]], dim=dim)
            continue
        positions = np.arange(-left, n + right)  # which element each place of the result copies
        if mode == "reflect":
            if left >= n or right >= n:
                raise ValueError(f"pad: reflect padding must be smaller than the dim it pads ({n}), got {left} and {right}")
            positions = np.abs(positions)  # mirrored at 0 ...
            positions = np.where(positions > n - 1, 2 * (n - 1) - positions, positions)  # ... and at n − 1
        elif mode == "replicate":
            positions = np.clip(positions, 0, n - 1)
        else:
            if left > n or right > n:
                raise ValueError(f"pad: circular padding cannot exceed the dim it pads ({n}), got {left} and {right}")
            positions = positions % n
        out = out.index_select(dim, positions)
    return out


# ---------------------------------------------------------------------------------- losses
class _LossFn(tg.Function):
    """What every loss op shares: reducing the per-element losses ℓ to L, and refusing a non-finite loss.

    ``"none"`` keeps ℓ, ``"sum"`` is L = Σℓ, ``"mean"`` is L = Σℓ / N (N elements, or the total weight
    of the targets where there are weights), and mse's ``"lecture"`` is L = Σℓ / 2n for n examples
    (the first dimension; a 0-d input is one example). So ∂L/∂ℓ = grad · (1, 1/N or 1/2n) for every element.
    The non-finite check is part of forward, so that a replayed step reports divergence too.
    """

    name = "loss"

    def reduce(self, losses, reduction, total=None):
        self.scale = None if reduction == "none" else float(1 / self.divisor(losses, reduction, total))  # ∂L/∂ℓ, a number
        out = losses if self.scale is None else np.asarray(losses.sum() * self.scale, dtype=losses.dtype)
        if not np.isfinite(out).all():
            self.diverged("not finite in some elements" if self.scale is None else out.item())
        return out

    def divisor(self, losses, reduction, total):
        """What Σℓ is divided by: 1 for "sum", 2n for "lecture", N (or the total weight) for "mean"."""
        if reduction != "mean":
            return 1 if reduction == "sum" else 2 * (losses.shape[0] if losses.ndim else 1)
        count = losses.size if total is None else total
        if count == 0:
            raise ValueError(f"{self.name}: the mean over no examples is undefined (PyTorch gives nan): "
                             "every target is ignore_index or has weight 0")
        return count

    def diverged(self, value):
        raise FloatingPointError(f"{self.name} is {value}: the network's outputs have diverged "
                                 "(try a smaller learning rate), or the inputs hold NaN or infinity")

    def loss_grad(self, grad):
        """∂L/∂ℓ for every element (a scalar to broadcast, unless the reduction is "none")."""
        return grad if self.scale is None else grad * self.scale


class SquaredError(_LossFn):
    """The quadratic cost: ℓ = d² for the difference d = a − y of output and target, reduced; with
    ``reduction="lecture"`` that is C = 1/(2n) Σₓ ‖y(x) − a‖² (see `_LossFn.reduce`).

    ∂C/∂a = ∂C/∂ℓ · ℓ'(d) with ℓ' = 2d (for the lecture's C: (a − y)/n, the ½ cancels the 2), and
    ∂C/∂y = −∂C/∂a. L1 and Huber losses are this same op with another ℓ: they override `loss` and `derivative`.
    """

    name = "mse_loss"

    def forward(self, a, y, reduction, **options):
        self.a, self.y, self.options = a, y, options
        return self.reduce(self.loss(a - _as_float(y, a), **options), reduction)

    def backward(self, grad):
        d = self.a - _as_float(self.y, self.a)
        da = self.loss_grad(grad) * self.derivative(d, **self.options)
        return da, (-da if self.needs_input_grad[1] else None)

    def loss(self, d):
        return d * d

    def derivative(self, d):
        return 2 * d


class AbsoluteError(SquaredError):
    """ℓ = |d|,  ℓ' = sign(d) (0 at d = 0, as in PyTorch)."""

    name = "l1_loss"

    def loss(self, d):
        return np.abs(d)

    def derivative(self, d):
        return np.sign(d)


class Huber(SquaredError):
    """ℓ = ½d² for |d| < δ, else δ(|d| − ½δ): quadratic near 0, linear beyond δ;  ℓ' = d clipped to [−δ, δ]."""

    name = "huber_loss"

    def loss(self, d, delta):
        size = np.abs(d)
        return np.where(size < delta, 0.5 * d * d, delta * (size - 0.5 * delta))

    def derivative(self, d, delta):
        return np.clip(d, -delta, delta)


def mse_loss(input: tg.Tensor, target, reduction: str = "mean") -> tg.Tensor:
    """The quadratic cost between outputs a (``input``) and targets y; the first dimension counts examples.

    - ``"lecture"``: C = 1/(2n) Σₓ ‖y(x) − a‖², halved, summed over each example's outputs and averaged
      over the n examples (Nielsen's cost; the ½ cancels the 2 of the derivative). A 1-D input of
      shape (n,) is n examples of one output, a 0-d input one example. The default of ``nn.MSELoss``.
    - ``"mean"`` (the default here, as in PyTorch's ``F.mse_loss``): the mean over all elements, no ½;
      for n examples of k outputs that is the lecture's C times 2/k.
    - ``"sum"``: Σ over everything, no ½;  ``"none"``: (a − y)² element by element.
    """
    input, target = _pair("mse_loss", input, target, reduction, MSE_REDUCTIONS)
    return SquaredError.apply(input, target, reduction=reduction)


def l1_loss(input: tg.Tensor, target, reduction: str = "mean") -> tg.Tensor:
    """|a − y| element by element, reduced."""
    input, target = _pair("l1_loss", input, target, reduction)
    return AbsoluteError.apply(input, target, reduction=reduction)


def huber_loss(input: tg.Tensor, target, reduction: str = "mean", delta: float = 1.0) -> tg.Tensor:
    """½(a − y)² where |a − y| < δ, δ(|a − y| − ½δ) elsewhere: the squared error without its pull from outliers."""
    if not delta > 0:
        raise ValueError(f"huber_loss: delta must be positive, got {delta}")
    input, target = _pair("huber_loss", input, target, reduction)
    return Huber.apply(input, target, reduction=reduction, delta=delta)


class BinaryCrossEntropy(_LossFn):
    """ℓ = −w [y ln a + (1 − y) ln(1 − a)] for probabilities a ∈ [0, 1], each log clamped at −100 as in PyTorch.

    ∂ℓ/∂a = w (a − y) / (a(1 − a)) (the denominator kept ≥ 1e-12 as in PyTorch), ∂ℓ/∂y = w (ln(1 − a) − ln a).
    """

    name = "binary_cross_entropy"

    def forward(self, a, y, *weight, reduction):
        if ((a < 0) | (a > 1)).any():
            raise ValueError("binary_cross_entropy: predictions must lie in [0, 1] (apply sigmoid first, "
                             "or give the raw scores to binary_cross_entropy_with_logits)")
        self.a, self.y, self.weight = a, y, (weight[0] if weight else None)
        log_a, log_not_a = self.logs(a)
        y = _as_float(y, a)
        return self.reduce(-self.w(a) * (y * log_a + (1 - y) * log_not_a), reduction)

    @staticmethod
    def logs(a):
        """ln a and ln(1 − a), each clamped at −100 as in PyTorch."""
        with np.errstate(divide="ignore"):  # ln 0 = −∞, clamped just below
            return np.maximum(np.log(a), -100), np.maximum(np.log1p(-a), -100)

    def w(self, like):
        """The weight in the prediction's float type, or 1."""
        return 1 if self.weight is None else _like(self.weight, like)

    def backward(self, grad):
        grad = self.loss_grad(grad) * self.w(self.a)
        a, y = self.a, _as_float(self.y, self.a)
        da = dy = None
        if self.needs_input_grad[0]:
            da = grad * (a - y) / np.maximum(a * (1 - a), 1e-12)
        if self.needs_input_grad[1]:
            log_a, log_not_a = self.logs(a)
            dy = grad * (log_not_a - log_a)
        return (da, dy) + (None,) * (len(self.needs_input_grad) - 2)


class BinaryCrossEntropyWithLogits(_LossFn):
    """ℓ = −w [p·y ln σ(z) + (1 − y) ln(1 − σ(z))] = w [(1 − y) z + (1 + (p − 1) y) ln(1 + e⁻ᶻ)], p = pos_weight.

    The second form never takes the log of a rounded-off σ(z): ln(1 + e⁻ᶻ) is computed without overflow.
    ∂ℓ/∂z = w [(1 − y) − (1 + (p − 1) y) σ(−z)],  ∂ℓ/∂y = w [(p − 1) ln(1 + e⁻ᶻ) − z].
    """

    name = "binary_cross_entropy_with_logits"

    def forward(self, z, y, *weights, reduction, names):
        given = dict(zip(names, weights))
        self.z, self.y, self.weight, self.pos_weight = z, y, given.get("weight"), given.get("pos_weight")
        w, p = self.w_p(z)
        y = _as_float(y, z)
        return self.reduce(w * ((1 - y) * z + (1 + (p - 1) * y) * np.logaddexp(0, -z)), reduction)  # ln(1 + e⁻ᶻ)

    def w_p(self, like):
        """The weights w and p in the prediction's float type (1 where not given)."""
        return (1 if weight is None else _like(weight, like) for weight in (self.weight, self.pos_weight))

    def backward(self, grad):
        w, p = self.w_p(self.z)
        grad = self.loss_grad(grad) * w
        z, y = self.z, _as_float(self.y, self.z)
        dz = grad * ((1 - y) - (1 + (p - 1) * y) * np.exp(-np.logaddexp(0, z))) if self.needs_input_grad[0] else None
        dy = grad * ((p - 1) * np.logaddexp(0, -z) - z) if self.needs_input_grad[1] else None
        return (dz, dy) + (None,) * (len(self.needs_input_grad) - 2)


def binary_cross_entropy(input: tg.Tensor, target, weight=None, reduction: str = "mean") -> tg.Tensor:
    """Cross-entropy of probabilities a = σ(z) against targets y ∈ [0, 1]; ``weight`` scales each element."""
    input, target = _pair("binary_cross_entropy", input, target, reduction)
    weights = [_constant(weight, "binary_cross_entropy", "weight")] if weight is not None else []
    return BinaryCrossEntropy.apply(input, target, *weights, reduction=reduction)


def binary_cross_entropy_with_logits(input: tg.Tensor, target, weight=None, reduction: str = "mean",
                                     pos_weight=None) -> tg.Tensor:
    """``binary_cross_entropy(sigmoid(input), target)`` in one stable op; ``pos_weight`` scales the y = 1 term."""
    input, target = _pair("binary_cross_entropy_with_logits", input, target, reduction)
    given = {name: _constant(value, "binary_cross_entropy_with_logits", name)
             for name, value in (("weight", weight), ("pos_weight", pos_weight)) if value is not None}
    return BinaryCrossEntropyWithLogits.apply(input, target, *given.values(), reduction=reduction, names=tuple(given))


class NegativeLogLikelihood(_LossFn):
    """ℓᵢ = −w_yᵢ ln pᵢ,yᵢ: minus the log-probability of the right class yᵢ, times that class's weight.

    ``log_p`` holds ln p with the classes along dim 1. With label smoothing ε the target is
    q = (1 − ε)·e^yᵢ + ε/C instead of the one-hot e^yᵢ, and ℓᵢ = −Σ_c w_c q_c ln pᵢ,c, which is
    PyTorch's (1 − ε)·(the loss above) + (ε/C)·(−Σ_c w_c ln pᵢ,c). Examples labelled ``ignore_index``
    give ℓ = 0 and no weight; "mean" divides by Σᵢ w_yᵢ over the others, so unweighted it is their mean.
    Only the right class's ln p is read when ε = 0, so a masked class with ln p = −∞ costs nothing.
    ∂ℓᵢ/∂ln pᵢ,c = −(1 − ε) w_yᵢ [c = yᵢ] − (ε/C) w_c.
    """

    def forward(self, log_p, labels, *weight, ignore_index, label_smoothing, reduction, name):
        self.name, classes = name, log_p.shape[1]
        self.classes = classes
        self.valid = labels != ignore_index
        _check_labels(labels, classes, self.valid, name, f" (or be ignore_index={ignore_index})")
        self.index = np.expand_dims(np.where(self.valid, labels, 0), 1)  # along the class dim
        self.weight, self.smoothing = (weight[0] if weight else None), label_smoothing
        w, w_label = self.weights(log_p.dtype)
        picked = np.where(self.valid, np.take_along_axis(log_p, self.index, axis=1)[:, 0], 0)
        losses = -(1 - label_smoothing) * w_label * picked
        if label_smoothing:
            smooth = -(log_p * self.per_class(w, log_p.ndim)).sum(axis=1)
            losses = losses + np.where(self.valid, (label_smoothing / classes) * smooth, 0)
        self.is_label = self.per_class(np.arange(classes), log_p.ndim) == self.index  # e^yᵢ, the one-hot rows, as a mask
        return self.reduce(losses, reduction, total=w_label.sum())

    def weights(self, dtype):
        """The class weights w (all 1 if none were given) in the float type of ln p, and w_yᵢ (0 where ignored)."""
        w = np.ones(self.classes, dtype=dtype) if self.weight is None else self.weight.astype(dtype, copy=False)
        return w, np.where(self.valid, w[self.index[:, 0]], 0)

    @staticmethod
    def per_class(w, ndim):
        """w shaped to multiply ln p, whose classes lie along dim 1."""
        return w.reshape((1, len(w)) + (1,) * (ndim - 2))

    def backward(self, grad):
        w, w_label = self.weights(grad.dtype)
        grad = np.broadcast_to(self.loss_grad(grad), self.valid.shape)
        d_log_p = np.where(self.is_label, np.expand_dims(-(1 - self.smoothing) * w_label * grad, 1), 0)
        if self.smoothing:
            w_c = self.per_class(w, d_log_p.ndim)
            d_log_p = d_log_p - (self.smoothing / self.classes) * w_c * np.expand_dims(grad * self.valid, 1)
        return (d_log_p,) + (None,) * (len(self.needs_input_grad) - 1)


class SoftCrossEntropy(_LossFn):
    """Cross-entropy against class probabilities q (each row sums to 1): ℓᵢ = −Σ_c w_c q'ᵢ,c ln pᵢ,c,
    with q' = (1 − ε) q + ε/C under label smoothing ε; "mean" divides by the number of examples.

    ∂ℓᵢ/∂ln pᵢ,c = −w_c q'ᵢ,c,  ∂ℓᵢ/∂qᵢ,c = −(1 − ε) w_c ln pᵢ,c.
    """

    name = "cross_entropy"

    def forward(self, log_p, q, *weight, label_smoothing, reduction):
        self.log_p, self.q, self.weight, self.smoothing = log_p, q, (weight[0] if weight else None), label_smoothing
        return self.reduce(-(self.w(log_p) * self.smoothed(q) * log_p).sum(axis=1), reduction)

    def w(self, log_p):
        """The class weights, shaped to multiply ln p (classes along dim 1), or 1."""
        if self.weight is None:
            return 1
        return _like(self.weight, log_p).reshape((1, log_p.shape[1]) + (1,) * (log_p.ndim - 2))

    def smoothed(self, q):
        """q' = (1 − ε) q + ε/C."""
        return (1 - self.smoothing) * q + self.smoothing / q.shape[1]

    def backward(self, grad):
        log_p = self.log_p
        grad = np.expand_dims(np.broadcast_to(self.loss_grad(grad), log_p.shape[:1] + log_p.shape[2:]), 1) * self.w(log_p)
        d_log_p = -grad * self.smoothed(self.q) if self.needs_input_grad[0] else None
        dq = -(1 - self.smoothing) * grad * log_p if self.needs_input_grad[1] else None
        return (d_log_p, dq) + (None,) * (len(self.needs_input_grad) - 2)


def nll_loss(input: tg.Tensor, target, weight=None, ignore_index: int = -100, reduction: str = "mean") -> tg.Tensor:
    """−(ln p of the right class), averaged: ``input`` holds log-probabilities, shape (n, C) or (n, C, d₁, ...)
    with the classes along dim 1 (or (C,) for one example), ``target`` the class indices, shape (n, d₁, ...)."""
    return _classification("nll_loss", input, target, weight, ignore_index, reduction, 0.0)


def cross_entropy(input: tg.Tensor, target, weight=None, ignore_index: int = -100, reduction: str = "mean",
                  label_smoothing: float = 0.0) -> tg.Tensor:
    """C = −(1/n) Σₓ ln softmax(z(x))_y: the mean negative log-probability of the right class y.

    ``input`` are the raw scores z, shape (n, C), or (n, C, d₁, ...) with the classes along dim 1,
    or (C,) for one example. ``target`` is either class indices (integers, shape (n, d₁, ...)) or
    class probabilities (floats, the shape of ``input``). It is ``nll_loss(log_softmax(z, dim=1), target)``,
    with ``weight`` (one per class), ``ignore_index`` and ``label_smoothing`` exactly as in PyTorch.
    A score of −∞ (a masked class) is fine: only a non-finite loss is reported as divergence.
    """
    return _classification("cross_entropy", input, target, weight, ignore_index, reduction, label_smoothing)


def _classification(name, input, target, weight, ignore_index, reduction, label_smoothing):
    """Check and shape the arguments of nll_loss and cross_entropy, then apply the loss op."""
    _check_reduction(name, reduction)
    if not isinstance(input, tg.Tensor):
        raise TypeError(f"{name}: input must be a Tensor, got {type(input).__name__}")
    target = _labels(target)
    if not 0 <= label_smoothing <= 1:
        raise ValueError(f"{name}: label_smoothing must lie in [0, 1], got {label_smoothing}")
    soft = name == "cross_entropy" and target.dtype.kind == "f"  # nll_loss takes class indices only
    if soft and target.shape != input.shape:
        raise ValueError(f"{name}: float targets are class probabilities and must have the input's shape "
                         f"{input.shape}, got {target.shape}; class indices must be integers")
    if not soft and target.dtype.kind not in "iu":
        raise TypeError(f"{name}: labels must be integer class indices (or, for cross_entropy, float probabilities), "
                        f"got {target.dtype}")
    if not soft and target.shape == input.shape and input.ndim >= 2:
        raise ValueError(f"{name}: the integer target has the input's shape {input.shape}, as one-hot rows do; give "
                         "class indices, target.argmax(dim=1), or class probabilities as floats, target.float()")
    if input.ndim == 1:  # one example of C classes: a batch of one
        loss = _classification(name, input.reshape(1, -1), target.reshape((1,) + target.shape), weight,
                               ignore_index, reduction, label_smoothing)
        return loss.reshape(()) if reduction == "none" else loss
    if input.ndim == 0 or (not soft and target.shape != input.shape[:1] + input.shape[2:]):
        raise ValueError(f"{name}: expected input of shape (n, classes) or (n, classes, d1, ...) and labels of "
                         f"shape (n,) or (n, d1, ...), got {input.shape} and {target.shape}")
    if reduction == "mean" and target.numel() == 0:
        raise ValueError(f"{name}: empty batch {input.shape}: the mean over no examples is undefined "
                         "(PyTorch gives nan); skip empty batches, or use reduction='sum'")
    weights = []
    if weight is not None:
        weights = [_constant(weight, name, "weight")]
        if weights[0].shape != input.shape[1:2]:
            raise ValueError(f"{name}: weight must have one entry per class, shape ({input.shape[1]},), "
                             f"got {weights[0].shape}")
    log_p = input.log_softmax(dim=1) if name == "cross_entropy" else input
    if soft:
        return SoftCrossEntropy.apply(log_p, target, *weights, label_smoothing=label_smoothing, reduction=reduction)
    return NegativeLogLikelihood.apply(log_p, target, *weights, ignore_index=ignore_index,
                                       label_smoothing=label_smoothing, reduction=reduction, name=name)


# ---------------------------------------------------------------------------------- checks
def _check_reduction(name, reduction, allowed=REDUCTIONS):
    if reduction not in allowed:
        raise ValueError(f"{name}: unknown reduction {reduction!r}, choose one of {allowed}")


def _labels(labels) -> tg.Tensor:
    """Labels as a tensor (an op's input, not a constant baked into the op)."""
    return labels if isinstance(labels, tg.Tensor) else tg.Tensor(np.asarray(labels))


def _check_labels(labels, classes, valid, name, alternative=""):
    bad = valid & ((labels < 0) | (labels >= classes))
    if bad.any():
        raise ValueError(f"{name}: labels must lie in [0, {classes}){alternative}, got {labels[bad].flat[0]}")


def _as_float(y: np.ndarray, like: np.ndarray) -> np.ndarray:
    """Integer or boolean targets (0/1 labels, one-hot rows) in the prediction's float type, as PyTorch promotes them."""
    return y if y.dtype.kind == "f" else y.astype(like.dtype)


def _like(weight: np.ndarray, like: np.ndarray) -> np.ndarray:
    """A weight in the prediction's float type, so that it never changes the dtype of the loss."""
    return weight.astype(like.dtype, copy=False)


def _constant(value, name, what) -> tg.Tensor:
    """A weight: a tensor that takes no gradient."""
    value = value if isinstance(value, tg.Tensor) else tg.Tensor(value)
    if value.requires_grad:
        raise ValueError(f"{name}: {what} cannot require grad (there is no gradient with respect to it); "
                         f"pass {what}.detach()")
    return value


def _pair(name, input, target, reduction, allowed=REDUCTIONS):
    """Check a prediction and a target of the same shape (the op takes integer targets in the prediction's float type)."""
    _check_reduction(name, reduction, allowed)
    if not isinstance(input, tg.Tensor):
        raise TypeError(f"{name}: input must be a Tensor, got {type(input).__name__}")
    target = target if isinstance(target, tg.Tensor) else tg.Tensor(np.asarray(target))
    if input.shape != target.shape and target.dtype.kind in "iu" and target.shape == input.shape[:-1]:
        raise ValueError(f"{name}: the target {target.shape} looks like class labels (integers, one per example) "
                         f"for predictions of shape {input.shape}; this cost compares each output vector with a "
                         f"target vector of its shape: one-hot encode the labels, nn.one_hot(labels, "
                         f"{input.shape[-1]}), or use nn.CrossEntropyLoss, which takes the labels as they are")
    if input.shape != target.shape:
        raise ValueError(f"{name}: prediction shape {input.shape} and target shape {target.shape} differ; give both "
                         "the same shape (where PyTorch can, it broadcasts them with a warning: (n, 1) against "
                         "(n,) becomes an (n, n) table, usually by mistake)")
    if input.dtype.kind != "f":
        raise TypeError(f"{name}: predictions must be float, got {input.dtype}")
    if reduction in ("mean", "lecture") and input.numel() == 0:
        raise ValueError(f"{name}: empty batch {input.shape}: the mean over no examples is undefined "
                         "(PyTorch gives nan); skip empty batches, or use reduction='sum'")
    return input, target
