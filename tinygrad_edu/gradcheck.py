"""Gradients the slow, obvious way, to check the fast one.

The lecture's recipe: nudge one weight by h, watch how the loss moves. The central difference
(L(w + h) − L(w − h)) / 2h is accurate to O(h²), so in float64 with h = 1e-6 it agrees with a
correct backward to about 1e-8; a wrong backward is off by far more.
"""

from __future__ import annotations

import numpy as np

from . import autograd
from .autograd import enable_grad, no_grad
from .tensor import Tensor, cat


class GradcheckError(AssertionError):
    """Backpropagation and finite differences disagree."""


def numerical_grad(f, inputs, h: float = 1e-6) -> list:
    """∂f/∂x for each tensor x in ``inputs`` by central differences; ``f(*inputs)`` must be a scalar.

    Each element is nudged by +h and −h in place, ``f`` is re-evaluated, and the element is put back,
    so ``inputs`` are unchanged afterwards. Returns one NumPy array per input.
    """
    grads = []
    with no_grad():
        for x in inputs:
            grad = np.zeros(x.shape, dtype=np.float64)
            for idx in np.ndindex(*x.shape):
                original = x.data[idx]
                x.data[idx] = original + h
                loss_plus = _scalar(f(*inputs))
                x.data[idx] = original - h
                loss_minus = _scalar(f(*inputs))
                x.data[idx] = original
                grad[idx] = (loss_plus - loss_minus) / (2 * h)
            grads.append(grad)
    return grads


def _scalar(out) -> float:
    if out.numel() != 1:
        raise ValueError(f"numerical_grad needs f to return a scalar, it returned shape {out.shape}")
    return float(out.item())


def gradcheck(f, inputs, h: float = 1e-6, atol: float = 1e-5, rtol: float = 1e-3, seed: int = 0,
              names=None) -> bool:
    """Check backward against finite differences for every input that requires grad.

    ``inputs`` must be float64 (float32 rounding swamps a finite difference). A non-scalar output
    y is checked through L = Σ u·y with a fixed random u, which tests the whole vector-Jacobian
    product backward computes. Every input that requires grad is checked, each against its own
    finite differences. Returns True, or raises `GradcheckError` naming the input, the element,
    the input's value there and the two gradients, and saying so when the element sits on a kink.
    ``names``, one per input, names them in that message (``"fc2.weight"``) instead of "input 3".
    """
    for i, x in enumerate(inputs):
        if x.dtype != np.float64:
            raise TypeError(f"gradcheck needs float64 inputs, input {i} is {x.dtype}")
    checked = [i for i, x in enumerate(inputs) if x.requires_grad]
    if not checked:
        raise ValueError("gradcheck: no input requires grad, so there is nothing to check")

    u = Tensor(np.random.default_rng(seed).standard_normal(f(*inputs).shape))

    def loss(*xs):
        return (f(*xs) * u).sum()

    saved = [x.grad for x in inputs]
    try:
        for x in inputs:
            x.grad = None
        out = loss(*inputs)
        if out.requires_grad:  # else f is cut off from its inputs: backward's gradients are all 0
            out.backward()
        analytic = [np.zeros(x.shape) if x.grad is None else x.grad.data for x in inputs]
    finally:
        for x, grad in zip(inputs, saved):
            x.grad = grad
    numeric = numerical_grad(loss, inputs, h)

    for i in checked:
        bad = np.abs(analytic[i] - numeric[i]) > atol + rtol * np.abs(numeric[i])
        if bad.any():
            idx = tuple(int(k) for k in np.argwhere(bad)[0])
            raise GradcheckError(
                f"gradient of {names[i] if names else f'input {i}'} (shape {inputs[i].shape}) is wrong at index {idx}, "
                f"where the input is {inputs[i].data[idx]:.8g}: backward gives {analytic[i][idx]:.8g}, "
                f"finite differences give {numeric[i][idx]:.8g} "
                f"({int(bad.sum())} of {bad.size} elements differ by more than atol={atol}, rtol={rtol})"
                + _kink_note(loss, inputs, i, idx, h, atol, rtol)
            )
    return True


def _kink_note(loss, inputs, i, idx, h, atol, rtol) -> str:
    """A sentence for the error message if the loss has a kink or a jump at that element (ReLU, abs or a step at z = 0).

    Where the slope jumps, the slope just to the left and the slope just to the right differ by far
    more than a smooth function's curvature could make them, and the central difference is their
    average: it is no derivative at all, and the fault lies with the point chosen, not with backward.
    """
    x = inputs[i]
    original = x.data[idx]
    with no_grad():
        centre = _scalar(loss(*inputs))
        x.data[idx] = original + h
        right = (_scalar(loss(*inputs)) - centre) / h
        x.data[idx] = original - h
        left = (centre - _scalar(loss(*inputs))) / h
        x.data[idx] = original
    if abs(right - left) <= atol + rtol * max(abs(left), abs(right)):
        return ""
    return (f". The function is not differentiable there: its slope is {left:.8g} just left of this input "
            f"and {right:.8g} just right of it (a kink or a jump, like ReLU, abs or a step at z = 0), so "
            "finite differences cannot give its derivative; choose inputs away from such points")


def gradgradcheck(f, inputs, h: float = 1e-6, atol: float = 1e-5, rtol: float = 1e-3, seed: int = 0) -> bool:
    """Check second derivatives: `gradcheck` of the first derivative, recorded with ``create_graph=True``.

    The first derivative is g(x, v) = ∂(Σ v·f(x))/∂x for a gradient v handed to backward (random,
    float64, requiring grad too), computed by ``tg.autograd.grad(..., create_graph=True)``: the same
    backward that gives first derivatives, run on tensors. gradcheck then compares its derivatives,
    with respect to the inputs (Hessian-vector products) and to v, with finite differences of g.
    Returns True, or raises `GradcheckError`; an op that cannot be differentiated twice raises
    `DifferentiableOnceError` naming it.
    """
    graded = [i for i, x in enumerate(inputs) if x.requires_grad]
    if not graded:
        raise ValueError("gradgradcheck: no input requires grad, so there is nothing to check")
    with enable_grad():
        shape = f(*inputs).shape
    v = Tensor(np.random.default_rng([seed, 2]).standard_normal(shape), requires_grad=True)

    def first_derivative(*xs_and_v):
        *xs, v = xs_and_v
        with enable_grad():  # numerical_grad evaluates this under no_grad: g itself needs the graph
            grads = autograd.grad(f(*xs), [xs[i] for i in graded], grad_outputs=v, create_graph=True, allow_unused=True)
        parts = [(xs[i] * 0 if g is None else g).reshape(-1) for i, g in zip(graded, grads)]
        return parts[0] if len(parts) == 1 else cat(parts)

    return gradcheck(first_derivative, [*inputs, v], h, atol, rtol, seed)
