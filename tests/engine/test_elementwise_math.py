"""Element-wise math beyond the lecture's (sin ... erf, rounding, pairwise max and min, %, //): values
against NumPy formulas and gradients against finite differences (both through `testing.check_op`,
float64 and float32), then the same code against PyTorch where it is installed."""

from __future__ import annotations

import math

import numpy as np
import pytest

import tinygrad_edu as tg
from tinygrad_edu import testing


def erf_by_integration(x):
    """erf x = (2/√π) ∫₀ˣ e^(−t²) dt, by Simpson's rule on 2000 intervals (accurate to ~1e-13 for |x| ≤ 6);
    independent of math.erf, which the op uses."""
    x = np.asarray(x, dtype=np.float64)
    t = np.linspace(0, 1, 2001) * x[..., None]  # t from 0 to x, per element
    f = np.exp(-t * t)
    weights = np.ones(2001)
    weights[1:-1:2], weights[2:-1:2] = 4, 2
    return (2 / math.sqrt(math.pi)) * (f * weights).sum(-1) * x / 6000


WHOLE = list(range(-40, 41))  # the jumps of floor, ceil and trunc within the values tried (×10 too)
UNIT = (-0.95, 0.95)
CASES = {
    "sin": (lambda x: x.sin(), np.sin, {}),
    "cos": (lambda x: x.cos(), np.cos, {}),
    "tan": (lambda x: x.tan(), np.tan, dict(domain=(-1.3, 1.3), large=False)),
    "asin": (lambda x: x.asin(), np.arcsin, dict(domain=UNIT)),
    "acos": (lambda x: x.acos(), np.arccos, dict(domain=UNIT)),
    "atan": (lambda x: x.atan(), np.arctan, {}),
    "sinh": (lambda x: x.sinh(), lambda x: (np.exp(x) - np.exp(-x)) / 2, {}),
    "cosh": (lambda x: x.cosh(), lambda x: (np.exp(x) + np.exp(-x)) / 2, {}),
    "asinh": (lambda x: x.asinh(), lambda x: np.log(x + np.sqrt(x * x + 1)), dict(large=False)),
    "acosh": (lambda x: x.acosh(), lambda x: np.log(x + np.sqrt(x * x - 1)), dict(domain=(1.05, 3.0))),
    "atanh": (lambda x: x.atanh(), lambda x: 0.5 * np.log((1 + x) / (1 - x)), dict(domain=UNIT)),
    "expm1": (lambda x: x.expm1(), np.expm1, {}),
    "log1p": (lambda x: x.log1p(), np.log1p, dict(domain=(-0.9, 3.0))),
    "erf": (lambda x: x.erf(), erf_by_integration, dict(large=False)),
    "log2": (lambda x: x.log2(), np.log2, dict(domain=(0.1, 3.0))),
    "log10": (lambda x: x.log10(), np.log10, dict(domain=(0.1, 3.0))),
    "exp2": (lambda x: x.exp2(), lambda x: 2.0 ** x, {}),
    "rsqrt": (lambda x: x.rsqrt(), lambda x: 1 / np.sqrt(x), dict(domain=(0.1, 3.0))),
    "reciprocal": (lambda x: x.reciprocal(), lambda x: 1 / x, dict(domain=(0.1, 3.0))),
    "square": (lambda x: x.square(), lambda x: x * x, {}),
    "floor": (lambda x: x.floor(), np.floor, dict(kinks=WHOLE)),
    "ceil": (lambda x: x.ceil(), np.ceil, dict(kinks=WHOLE)),
    "trunc": (lambda x: x.trunc(), np.trunc, dict(kinks=WHOLE)),
    "round": (lambda x: x.round(), np.round, dict(kinks=[k + 0.5 for k in WHOLE])),
    "sign": (lambda x: x.sign(), np.sign, dict(kinks=[0])),
}


@pytest.mark.parametrize("name", CASES)
def test_values_and_gradients(name):
    method, reference, options = CASES[name]
    testing.check_op(method, reference=reference, max_examples=15, **options)


def near_a_whole_quotient(a, b):
    """a % b and a // b jump where a/b is a whole number."""
    q = a / b
    return np.abs(q - np.round(q)) < 1e-3


TWO_INPUTS = {
    "maximum": (lambda a, b: a.maximum(b), np.maximum, dict(kinks=lambda a, b: np.abs(a - b) < 1e-3)),
    "minimum": (lambda a, b: a.minimum(b), np.minimum, dict(kinks=lambda a, b: np.abs(a - b) < 1e-3)),
    "remainder": (lambda a, b: a % b, lambda a, b: a - b * np.floor(a / b),
                  dict(domain=[(-3, 3), (0.5, 3)], kinks=near_a_whole_quotient)),
    "remainder by a negative": (lambda a, b: a.remainder(b), lambda a, b: a - b * np.floor(a / b),
                                dict(domain=[(-3, 3), (-3, -0.5)], kinks=near_a_whole_quotient)),
    "div floor": (lambda a, b: a.div(b, rounding_mode="floor"), lambda a, b: np.floor(a / b),
                     dict(domain=[(-3, 3), (0.5, 3)], kinks=near_a_whole_quotient)),
    "div trunc": (lambda a, b: a.div(b, rounding_mode="trunc"), lambda a, b: np.trunc(a / b),
                  dict(domain=[(-3, 3), (0.5, 3)], kinks=near_a_whole_quotient)),
    "pow": (lambda a, b: a.pow(b), lambda a, b: np.exp(b * np.log(a)),  # (b = 0: a second-order kink, as in PyTorch)
            dict(domain=[(0.5, 3), (-3, 3)], kinks=lambda a, b: np.abs(b) < 1e-3)),
}


@pytest.mark.parametrize("name", TWO_INPUTS)
def test_values_and_gradients_of_two_inputs(name):
    method, reference, options = TWO_INPUTS[name]
    testing.check_op(method, inputs=2, reference=reference, max_examples=15, **options)


def test_a_tie_shares_the_gradient_of_maximum_and_minimum_equally():
    for method in ("maximum", "minimum"):
        a, b = tg.tensor([1.0, 2.0, 3.0], requires_grad=True), tg.tensor([1.0, 5.0, 0.0], requires_grad=True)
        getattr(a, method)(b).sum().backward()
        wins = [0.0, 0.0, 1.0] if method == "maximum" else [0.0, 1.0, 0.0]
        assert a.grad.tolist() == [0.5] + wins[1:]
        assert b.grad.tolist() == [0.5] + [1 - w for w in wins[1:]]


def test_rounding_has_no_gradient_and_halves_go_to_even():
    x = tg.tensor([-2.5, -0.5, 0.5, 1.5, 2.5, 2.6749], requires_grad=True)
    assert x.round().tolist() == [-2.0, -0.0, 0.0, 2.0, 2.0, 3.0]
    assert np.allclose(x.round(decimals=2).numpy(), [-2.5, -0.5, 0.5, 1.5, 2.5, 2.67])
    (x.floor() + x.ceil() + x.trunc() + x.sign()).sum().backward()
    assert x.grad.tolist() == [0.0] * 6


def test_integers_stay_integers_where_pytorch_keeps_them():
    n = tg.tensor([-7, -3, 0, 5, 8])
    assert (n // 2).dtype == tg.int64 and (n // 2).tolist() == [-4, -2, 0, 2, 4]
    assert (n % 3).tolist() == [2, 0, 0, 2, 2] and (n % -3).tolist() == [-1, 0, 0, -1, -1]
    assert n.div(2, rounding_mode="trunc").tolist() == [-3, -1, 0, 2, 4]
    assert n.div(2, rounding_mode="floor").tolist() == [-4, -2, 0, 2, 4]
    assert n.div(2).dtype == tg.float32 and n.sin().dtype == tg.float32
    assert n.floor().tolist() == n.tolist() and n.sign().tolist() == [-1, -1, 0, 1, 1] and n.square().dtype == tg.int64
    assert (7 // tg.tensor([2, -2])).tolist() == [3, -4] and (7 % tg.tensor([2, -2])).tolist() == [1, -1]
    with pytest.raises(ZeroDivisionError):
        n // 0
    with pytest.raises(ValueError, match="rounding_mode must be None, 'trunc' or 'floor'"):
        n.div(2, rounding_mode="round")


def test_floor_divide_has_no_derivative_as_in_pytorch():
    a, b = tg.tensor([2.5, -1.2], requires_grad=True), tg.tensor([2.0, 0.7], requires_grad=True)
    assert (a // b).tolist() == [1.0, -2.0] and (a // b).requires_grad
    with pytest.raises(RuntimeError, match=r"the derivative of floor_divide \(//\) is not defined, as in PyTorch"):
        (a // b).sum().backward()
    a.div(b, rounding_mode="floor").sum().backward()
    assert a.grad.tolist() == [0.0, 0.0] and b.grad.tolist() == [0.0, 0.0]


def test_nan_and_infinity_are_found():
    x = tg.tensor([1.0, float("nan"), float("inf"), -float("inf")])
    assert x.isnan().tolist() == [False, True, False, False]
    assert x.isinf().tolist() == [False, False, True, True]
    assert x.isfinite().tolist() == [True, False, False, False]


def test_tiny_values_keep_their_digits():
    x = tg.tensor(np.array([1e-12, -1e-15]))
    assert np.allclose(x.expm1().numpy(), [1e-12, -1e-15], rtol=1e-12)
    assert np.allclose(x.log1p().numpy(), [1e-12, -1e-15], rtol=1e-12)


RNG = np.random.default_rng(1)
GENERAL = RNG.uniform(-2.5, 2.5, size=(3, 4))
POSITIVE = RNG.uniform(0.2, 2.5, size=(3, 4))
UNIT_VALUES = RNG.uniform(-0.9, 0.9, size=(3, 4))
TORCH_CASES = {
    "sin": (GENERAL,), "cos": (GENERAL,), "tan": (UNIT_VALUES,), "asin": (UNIT_VALUES,), "acos": (UNIT_VALUES,),
    "atan": (GENERAL,), "sinh": (GENERAL,), "cosh": (GENERAL,), "asinh": (GENERAL,), "acosh": (POSITIVE + 1,),
    "atanh": (UNIT_VALUES,), "expm1": (GENERAL,), "log1p": (POSITIVE,), "erf": (GENERAL,), "log2": (POSITIVE,),
    "log10": (POSITIVE,), "exp2": (GENERAL,), "rsqrt": (POSITIVE,), "reciprocal": (POSITIVE,), "square": (GENERAL,),
    "floor": (GENERAL,), "ceil": (GENERAL,), "trunc": (GENERAL,), "round": (GENERAL,), "sign": (GENERAL,),
    "arcsin": (UNIT_VALUES,), "fix": (GENERAL,), "isnan": (GENERAL,),
    "maximum": (GENERAL, POSITIVE), "minimum": (GENERAL, POSITIVE), "remainder": (GENERAL, POSITIVE),
    "pow": (POSITIVE, GENERAL),
}


@pytest.mark.parametrize("name", TORCH_CASES)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_against_torch_as_method_and_as_function(agrees_with_torch, name, dtype):
    arrays = [a.astype(dtype) for a in TORCH_CASES[name]]
    agrees_with_torch(lambda lib, *xs: getattr(xs[0], name)(*xs[1:]), *arrays, rtol=1e-5 if dtype == np.float32 else 1e-7)
    agrees_with_torch(lambda lib, *xs: getattr(lib, name)(*xs), *arrays, rtol=1e-5 if dtype == np.float32 else 1e-7)


@pytest.mark.parametrize("code", [
    lambda lib, a, b: a % b, lambda lib, a, b: a.detach() // b.detach(), lambda lib, a, b: a.div(b, rounding_mode="trunc"),
    lambda lib, a, b: a.div(b, rounding_mode="floor"), lambda lib, a, b: (-a) % b, lambda lib, a, b: 5.5 % b.detach(),
    lambda lib, a, b: 7 // b.detach(), lambda lib, a, b: lib.floor_divide(a.detach(), 2), lambda lib, a, b: a.maximum(a.detach().clone()), lambda lib, a, b: a.round(decimals=1),
])
def test_operators_against_torch(agrees_with_torch, code):
    agrees_with_torch(code, GENERAL, POSITIVE)


def test_integer_operators_against_torch(agrees_with_torch):
    a, b = np.array([-7, -3, 0, 5, 8]), np.array([2, -2, 3, -3, 5])
    for code in (lambda lib, a, b: a % b, lambda lib, a, b: a // b, lambda lib, a, b: a.div(b, rounding_mode="trunc"),
                 lambda lib, a, b: a.div(b), lambda lib, a, b: a.sign(), lambda lib, a, b: a.maximum(b),
                 lambda lib, a, b: a.sin(), lambda lib, a, b: a.prod(), lambda lib, a, b: a.cumsum(0)):
        agrees_with_torch(code, a, b)
