"""The engine's own ops pass the student's kit (`tinygrad_edu.testing.check_op`) with NumPy references:
forward values in float64 and float32 (also at large magnitudes), float32 kept, gradients by finite
differences. Each case is an op, its reference, and the inputs' domain and kinks."""

from __future__ import annotations

import numpy as np
import pytest

import tinygrad_edu as tg
from tinygrad_edu import testing


def ties(*arrays):
    """Two values within 1e-3 of each other anywhere: max, min and sort have a kink where they tie."""
    flat = np.sort(np.concatenate([np.ravel(a) for a in arrays]))
    return np.diff(flat) < 1e-3


def sigmoid(z):
    return 1 / (1 + np.exp(-z))


def log_softmax(z, axis=-1):
    shifted = z - z.max(axis=axis, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))


POSITIVE = (0.5, 3.0)


def NEAR_B_0(a, b):
    """aᵇ's gradient in a is set to 0 where b = 0 (as PyTorch sets it), so its second derivative jumps there."""
    return np.abs(b) < 1e-3


CASES = {
    "add": dict(f=lambda a, b: a + b, reference=np.add, inputs=2),
    "sub": dict(f=lambda a, b: a - b, reference=np.subtract, inputs=2),
    "mul": dict(f=lambda a, b: a * b, reference=np.multiply, inputs=2),
    "div": dict(f=lambda a, b: a / b, reference=np.divide, inputs=2, domain=[(-3, 3), POSITIVE]),
    "pow": dict(f=lambda a, b: a ** b, reference=np.power, inputs=2, domain=[POSITIVE, (-3, 3)], kinks=NEAR_B_0),
    "neg": dict(f=lambda x: -x, reference=np.negative),
    "exp": dict(f=lambda x: x.exp(), reference=np.exp),
    "log": dict(f=lambda x: x.log(), reference=np.log, domain=POSITIVE),
    "sqrt": dict(f=lambda x: x.sqrt(), reference=np.sqrt, domain=POSITIVE),
    "abs": dict(f=lambda x: x.abs(), reference=np.abs, kinks=[0]),
    "sigmoid": dict(f=lambda x: x.sigmoid(), reference=sigmoid),
    "tanh": dict(f=lambda x: x.tanh(), reference=np.tanh),
    "relu": dict(f=lambda x: x.relu(), reference=lambda z: np.maximum(z, 0), kinks=[0]),
    "clamp": dict(f=lambda x: x.clamp(-1, 1), reference=lambda z: np.clip(z, -1, 1), kinks=[-1, 1]),
    "where": dict(f=lambda a, b: tg.where(a.detach() > 0, a, b), reference=lambda a, b: np.where(a > 0, a, b),
                  inputs=2, kinks=[0]),
    "sum": dict(f=lambda x: x.sum(-1), reference=lambda x: x.sum(-1), min_dims=1),
    "mean": dict(f=lambda x: x.mean(0, keepdim=True), reference=lambda x: x.mean(0, keepdims=True), min_dims=1),
    "max": dict(f=lambda x: x.max(), reference=np.max, kinks=ties),
    "min over a dim": dict(f=lambda x: x.min(-1).values, reference=lambda x: x.min(-1), min_dims=1, kinks=ties),
    "logsumexp": dict(f=lambda x: x.logsumexp(-1), reference=lambda x: np.logaddexp.reduce(x, axis=-1), min_dims=1),
    "norm": dict(f=lambda x: x.norm(dim=-1), reference=lambda x: np.sqrt((x * x).sum(-1)), min_dims=1,
                 domain=POSITIVE),
    "softmax": dict(f=lambda x: x.softmax(-1), reference=lambda z: np.exp(log_softmax(z)), min_dims=1),
    "log_softmax": dict(f=lambda x: x.log_softmax(0), reference=lambda z: log_softmax(z, 0), min_dims=1),
    "var": dict(f=lambda x: x.var(-1), reference=lambda x: x.var(-1, ddof=1), min_dims=1,
                shapes=[testing.shapes(1, 2).map(lambda s: s[:-1] + (3,))]),
    "matmul": dict(f=lambda a, b: a @ b, reference=np.matmul, inputs=2, shapes=[(2, 3), (3, 4)]),
    "reshape": dict(f=lambda x: x.reshape(-1), reference=np.ravel),
    "transpose": dict(f=lambda x: x.T, reference=lambda x: x.T),
    "index": dict(f=lambda x: x[..., ::-1][:1], reference=lambda x: x[..., ::-1][:1], min_dims=1),
    "cat": dict(f=lambda a, b: tg.cat([a, b], dim=-1), reference=lambda a, b: np.concatenate([a, b], -1), inputs=2,
                broadcast=False, min_dims=1),
    "stack": dict(f=lambda a, b: tg.stack([a, b], dim=0), reference=lambda a, b: np.stack([a, b]), inputs=2,
                  broadcast=False),
}


@pytest.mark.parametrize("name", CASES)
def test_a_builtin_op_passes_the_kit_with_its_reference(name):
    case = dict(CASES[name])
    testing.check_op(case.pop("f"), max_examples=10, **case)
