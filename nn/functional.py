"""The losses as functions (the loss modules call these), and one-hot targets."""

from __future__ import annotations

import math

import numpy as np

import tinygrad_edu as tg

REDUCTIONS = ("lecture", "mean", "sum")


def one_hot(labels, num_classes: int = 10, dtype=np.float32) -> tg.Tensor:
    """Targets t for labels: t_j = 1 for the right class j, 0 for the others. Float, to compare with outputs."""
    labels = np.asarray(labels.numpy() if isinstance(labels, tg.Tensor) else labels)
    if labels.dtype.kind not in "iu":
        raise TypeError(f"one_hot: labels must be integers, got {labels.dtype}")
    if labels.size and (labels.min() < 0 or labels.max() >= num_classes):
        raise ValueError(f"one_hot: labels must lie in [0, {num_classes}), got values from {labels.min()} to {labels.max()}")
    return tg.Tensor(np.eye(num_classes, dtype=dtype)[labels])


def mse_loss(a: tg.Tensor, y: tg.Tensor, reduction: str = "lecture") -> tg.Tensor:
    """The quadratic cost between outputs ``a`` and targets ``y`` (one row per example).

    - ``"lecture"``: C = 1/(2n) Σₓ ‖y(x) − a‖², halved, summed over the outputs of each example and
      averaged over the n examples (Nielsen's cost; the ½ cancels the 2 of the derivative);
    - ``"mean"``: PyTorch's ``MSELoss`` default, the mean over all n·k elements, no ½
      (so it is the lecture's C times 2/k for k outputs);
    - ``"sum"``: Σ over everything, no ½.
    """
    if a.shape != y.shape:
        raise ValueError(f"mse_loss: prediction shape {a.shape} and target shape {y.shape} differ")
    if reduction not in REDUCTIONS:
        raise ValueError(f"mse_loss: unknown reduction {reduction!r}, choose one of {REDUCTIONS}")
    if reduction == "lecture":
        scale = 0.5 / (a.shape[0] if a.ndim > 1 else 1)
    elif reduction == "mean":
        scale = 1.0 / max(a.numel(), 1)
    else:
        scale = 1.0
    return _finite(ScaledSquaredError.apply(a, y, scale=scale), "mse_loss")


class ScaledSquaredError(tg.Function):
    """C = s · Σ (a − y)², every reduction of `mse_loss`, as one op (written the way docs/extending.md shows).

    ∂C/∂a = 2s (a − y) and ∂C/∂y = −∂C/∂a. The composition (a − y), squaring, sum and scaling would
    give the same numbers, but as four graph nodes: on the lecture's small networks that overhead
    is a large part of a training step.
    """

    def forward(self, a, y, scale):
        self.diff, self.scale = a - y, scale
        return np.asarray(scale * np.vdot(self.diff, self.diff), dtype=self.diff.dtype)

    def backward(self, grad):
        da = (2 * self.scale * float(grad)) * self.diff  # grad is a scalar: multiply the array once
        return da, (-da if self.needs_input_grad[1] else None)


def cross_entropy(logits: tg.Tensor, labels) -> tg.Tensor:
    """C = −(1/n) Σₓ ln softmax(z(x))_label: the mean negative log-probability of the right class.

    ``logits`` are the raw scores z of shape (n, classes); ``labels`` are class indices of shape (n,).
    It is computed as −(1/n) Σₓ Σⱼ tⱼ ln pⱼ with one-hot t, the textbook form, through a
    stable ``log_softmax``.
    """
    labels = np.asarray(labels.numpy() if isinstance(labels, tg.Tensor) else labels)
    if logits.ndim != 2 or labels.shape != logits.shape[:1]:
        raise ValueError(f"cross_entropy: expected logits of shape (n, classes) and labels of shape (n,), "
                         f"got {logits.shape} and {labels.shape}")
    t = one_hot(labels, logits.shape[1], dtype=logits.dtype)
    total = (logits.log_softmax(dim=1) * t).sum() * (-1.0 / logits.shape[0])
    return _finite(total, "cross_entropy")


def _finite(loss: tg.Tensor, name: str) -> tg.Tensor:
    """Refuse to train on a NaN or infinite loss: it would silently destroy every weight."""
    if not math.isfinite(loss.data):
        raise FloatingPointError(f"{name} is {loss.item()}: the network's outputs have diverged "
                                 "(try a smaller learning rate)")
    return loss
