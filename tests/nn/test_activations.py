"""PyTorch's other activations (gelu, silu, elu, selu, celu, softplus, softsign, hardtanh, relu6,
logsigmoid, mish, hardswish, hardsigmoid), F.normalize and F.pad, as functions and as layers: values
against NumPy formulas and gradients against finite differences (`testing.check_op`), then the same
code against PyTorch, including the gradient at the kinks, where each takes PyTorch's value."""

from __future__ import annotations

import math

import numpy as np
import pytest

import nn
import tinygrad_edu as tg
from tinygrad_edu import testing

F = nn.functional


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


def softplus(x, beta=1.0):
    return np.log1p(np.exp(-np.abs(beta * x))) / beta + np.maximum(x, 0)


def erf(x):
    return np.vectorize(math.erf)(x)


ALPHA, SCALE = 1.6732632423543772848170429916717, 1.0507009873554804934193349852946
CASES = {  # name: (function, NumPy formula, layer, check_op options)
    "gelu": (F.gelu, lambda x: 0.5 * x * (1 + erf(x / np.sqrt(2))), nn.GELU(), dict(large=False)),
    "gelu tanh": (lambda x: F.gelu(x, approximate="tanh"),
                  lambda x: 0.5 * x * (1 + np.tanh(np.sqrt(2 / np.pi) * (x + 0.044715 * x ** 3))),
                  nn.GELU(approximate="tanh"), {}),
    "silu": (F.silu, lambda x: x * sigmoid(x), nn.SiLU(), {}),
    "elu": (F.elu, lambda x: np.where(x > 0, x, np.expm1(np.minimum(x, 0))), nn.ELU(), dict(kinks=[0])),
    "elu alpha": (lambda x: F.elu(x, alpha=0.5), lambda x: np.where(x > 0, x, 0.5 * np.expm1(np.minimum(x, 0))),
                  nn.ELU(alpha=0.5), dict(kinks=[0])),
    "selu": (F.selu, lambda x: SCALE * np.where(x > 0, x, ALPHA * np.expm1(np.minimum(x, 0))), nn.SELU(),
             dict(kinks=[0])),
    "celu": (lambda x: F.celu(x, 2.0), lambda x: np.where(x > 0, x, 2.0 * np.expm1(np.minimum(x, 0) / 2.0)),
             nn.CELU(2.0), dict(kinks=[0])),
    "softplus": (F.softplus, softplus, nn.Softplus(), {}),
    "softplus beta": (lambda x: F.softplus(x, beta=2.0, threshold=5.0),
                      lambda x: np.where(2 * x > 5, x, softplus(x, 2.0)), nn.Softplus(2.0, 5.0), dict(kinks=[2.5])),
    "softsign": (F.softsign, lambda x: x / (1 + np.abs(x)), nn.Softsign(), dict(kinks=[0])),  # |x|: 2nd order
    "hardtanh": (F.hardtanh, lambda x: np.clip(x, -1, 1), nn.Hardtanh(), dict(kinks=[-1, 1])),
    "hardtanh bounds": (lambda x: F.hardtanh(x, -2.0, 0.5), lambda x: np.clip(x, -2, 0.5), nn.Hardtanh(-2.0, 0.5),
                        dict(kinks=[-2, 0.5])),
    "relu6": (F.relu6, lambda x: np.clip(x, 0, 6), nn.ReLU6(), dict(kinks=[0, 6], domain=(-3, 8))),
    "logsigmoid": (F.logsigmoid, lambda x: -softplus(-x), nn.LogSigmoid(), {}),
    "mish": (F.mish, lambda x: x * np.tanh(softplus(x)), nn.Mish(), {}),
    "hardswish": (F.hardswish, lambda x: x * np.clip(x + 3, 0, 6) / 6, nn.Hardswish(), dict(kinks=[-3, 3], domain=(-5, 5))),
    "hardsigmoid": (F.hardsigmoid, lambda x: np.clip(x + 3, 0, 6) / 6, nn.Hardsigmoid(),
                    dict(kinks=[-3, 3], domain=(-5, 5))),
}


@pytest.mark.parametrize("name", CASES)
def test_values_and_gradients(name):
    function, formula, layer, options = CASES[name]
    testing.check_op(function, reference=formula, max_examples=15, **options)
    x = tg.tensor(np.linspace(-4, 4, 9))
    np.testing.assert_array_equal(layer(x).numpy(), function(x).numpy())


def test_layers_show_their_settings():
    assert repr(nn.ELU(alpha=0.5)) == "ELU(alpha=0.5)"
    assert repr(nn.Softplus(beta=2.0)) == "Softplus(beta=2.0, threshold=20.0)"
    assert repr(nn.Hardtanh(-2.0, 2.0)) == "Hardtanh(min_val=-2.0, max_val=2.0)"
    assert repr(nn.GELU()) == "GELU(approximate='none')" and repr(nn.SiLU()) == "SiLU()"
    with pytest.raises(TypeError, match=r"ELU\(\) takes the settings \(alpha\), got unexpected beta"):
        nn.ELU(beta=1.0)


def test_softplus_does_not_overflow():
    x = tg.tensor(np.array([-1000.0, 1000.0]), requires_grad=True)
    F.softplus(x).sum().backward()
    assert F.softplus(x).tolist() == [0.0, 1000.0] and x.grad.tolist() == [0.0, 1.0]
    assert F.logsigmoid(tg.tensor([-1000.0])).item() == -1000.0


def test_elu_keeps_a_finite_gradient_where_exp_would_overflow():
    x = tg.tensor(np.array([800.0, -1.0]), requires_grad=True)
    F.elu(x).sum().backward()
    assert np.allclose(x.grad.numpy(), [1.0, np.exp(-1.0)])


def test_normalize_and_pad():
    x = tg.tensor(np.array([[3.0, 4.0], [0.0, 0.0]]))
    assert F.normalize(x).tolist() == [[0.6, 0.8], [0.0, 0.0]]
    assert np.allclose(F.normalize(x, p=1, dim=1).numpy(), [[3 / 7, 4 / 7], [0, 0]])
    testing.check_op(lambda x: F.normalize(x, dim=-1), min_dims=1, max_examples=10, domain=(0.5, 3),
                     reference=lambda x: x / np.sqrt((x * x).sum(-1, keepdims=True)))
    row = tg.tensor([1.0, 2.0, 3.0])
    assert F.pad(row, (2, 1)).tolist() == [0, 0, 1, 2, 3, 0]
    assert F.pad(row, (2, 1), value=9.0).tolist() == [9, 9, 1, 2, 3, 9]
    assert F.pad(row, (2, 2), mode="reflect").tolist() == [3, 2, 1, 2, 3, 2, 1]
    assert F.pad(row, (2, 1), mode="replicate").tolist() == [1, 1, 1, 2, 3, 3]
    assert F.pad(row, (2, 3), mode="circular").tolist() == [2, 3, 1, 2, 3, 1, 2, 3]
    with pytest.raises(ValueError, match="reflect padding must be smaller than the dim it pads"):
        F.pad(row, (3, 0), mode="reflect")
    with pytest.raises(ValueError, match=r"pad: padding sizes must be integers ≥ 0, got \(-1, 0\)"):
        F.pad(row, (-1, 0))


@pytest.mark.parametrize("mode", ["constant", "reflect", "replicate", "circular"])
def test_pad_gradients(mode):
    def padded(x):
        return F.pad(x, (1, 2, 0, 1), mode=mode)

    def formula(x):
        widths = [(0, 0)] * (x.ndim - 2) + [(0, 1), (1, 2)]
        return np.pad(x, widths, mode={"replicate": "edge", "circular": "wrap"}.get(mode, mode))

    testing.check_op(padded, reference=formula, max_examples=10, shapes=[testing.shapes(2, 3).map(
        lambda s: s[:-2] + (s[-2] + 2, s[-1] + 2))])


KINKS = np.array([-6.0, -3.0, -1.0, 0.0, 1.0, 3.0, 6.0, 20.0, 0.3, -2.2, 7.5])
LAYERS = [nn.GELU(), nn.GELU("tanh"), nn.SiLU(), nn.ELU(), nn.ELU(0.5), nn.SELU(), nn.CELU(2.0), nn.Softplus(),
          nn.Softplus(2.0, 5.0), nn.Softsign(), nn.Hardtanh(), nn.Hardtanh(-2.0, 0.5), nn.ReLU6(), nn.LogSigmoid(),
          nn.Mish(), nn.Hardswish(), nn.Hardsigmoid()]


@pytest.mark.parametrize("layer", LAYERS, ids=repr)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_layers_against_torch_also_at_their_kinks(agrees_with_torch, layer, dtype):
    torch = pytest.importorskip("torch")

    def code(lib, x):
        if lib is tg:
            return layer(x)
        settings = {k: v for k, v in vars(layer).items() if k not in ("_registered", "training")}
        return getattr(torch.nn, type(layer).__name__)(**settings)(x)

    # float32: ½x(1 + erf(x/√2)) near x = −3 keeps 3 fewer digits than x, in either library's way of computing it
    agrees_with_torch(code, KINKS.astype(dtype), **(dict(rtol=1e-5, atol=1e-6) if dtype == np.float32 else {}))


def test_functions_against_torch(agrees_with_torch):
    x = np.random.default_rng(0).normal(size=(3, 4))
    for code in (lambda F, x: F.normalize(x), lambda F, x: F.normalize(x, p=1, dim=0), lambda F, x: F.pad(x, (1, 2)),
                 lambda F, x: F.pad(x, (1, 0, 2, 1), value=3.0), lambda F, x: F.pad(x, (2, 1), mode="reflect"),
                 lambda F, x: F.pad(x[None], (2, 1, 1, 0), mode="replicate"),
                 lambda F, x: F.pad(x[None], (3, 1), mode="circular")):
        agrees_with_torch(lambda lib, t: code(nn.functional if lib is tg else lib.nn.functional, t), x)
