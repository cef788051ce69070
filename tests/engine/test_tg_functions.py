"""The module-level functions: ``tg.exp(x)`` is ``x.exp()``, for every name PyTorch has at module level."""

from __future__ import annotations

import numpy as np
import pytest

import tinygrad_edu as tg
from tinygrad_edu import functions

X = np.array([[0.5, -1.5, 2.0], [1.0, 0.25, -0.75]])


@pytest.mark.parametrize("name", functions.NAMES)
def test_each_function_is_its_method(name):
    assert getattr(tg, name) is getattr(functions, name)
    assert getattr(tg, name).__doc__.startswith(f"tg.{name}(input, ...) is input.{name}(...)")


@pytest.mark.parametrize("name, args", [
    ("exp", ()), ("log", ()), ("sigmoid", ()), ("tanh", ()), ("relu", ()), ("sum", (1,)), ("mean", ()),
    ("maximum", ("other",)), ("minimum", ("other",)), ("pow", (2,)), ("cumsum", (0,)), ("isnan", ()),
    ("abs", ()), ("sqrt", ()), ("clamp", (-1, 1)), ("flatten", ()), ("transpose", (0, 1)), ("softmax", (1,)),
])
def test_a_function_gives_what_the_method_gives(name, args):
    x = tg.tensor(np.abs(X) if name in ("log", "sqrt") else X)
    args = tuple(tg.tensor(X[::-1].copy()) if a == "other" else a for a in args)
    np.testing.assert_array_equal(getattr(tg, name)(x, *args).numpy(), getattr(x, name)(*args).numpy())


def test_a_number_or_array_is_made_a_tensor_first():
    assert tg.exp(np.array([0.0, 1.0])).dtype == tg.float64
    assert np.isclose(tg.sin(tg.tensor(1.0)).item(), np.sin(1.0))


@pytest.mark.parametrize("name", functions.NAMES)
def test_pytorch_has_each_name(name):
    torch = pytest.importorskip("torch")
    assert hasattr(torch, name)
