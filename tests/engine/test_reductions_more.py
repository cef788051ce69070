"""Products and running sums (prod, cumsum, cumprod), and NumPy's keyword names that PyTorch accepts
(``axis=``, ``keepdims=``): values against NumPy, gradients against finite differences, and PyTorch."""

from __future__ import annotations

import numpy as np
import pytest

import tinygrad_edu as tg
from tinygrad_edu import testing

CASES = {
    "prod": (lambda x: x.prod(), np.prod, dict(domain=(0.5, 1.5))),
    "prod of a dim": (lambda x: x.prod(-1), lambda x: np.prod(x, -1), dict(min_dims=1)),
    "prod keepdim": (lambda x: x.prod(0, keepdim=True), lambda x: np.prod(x, 0, keepdims=True), dict(min_dims=1)),
    "cumsum": (lambda x: x.cumsum(-1), lambda x: np.cumsum(x, -1), dict(min_dims=1)),
    "cumsum of a number": (lambda x: x.cumsum(0), lambda x: x.copy(), dict(max_dims=0)),
    "cumprod": (lambda x: x.cumprod(0), lambda x: np.cumprod(x, 0), dict(min_dims=1)),
}


@pytest.mark.parametrize("name", CASES)
def test_values_and_gradients(name):
    method, reference, options = CASES[name]
    testing.check_op(method, reference=reference, max_examples=15, **options)


@pytest.mark.parametrize("zeros", [[1], [0, 2], [0, 1, 2, 3]])
def test_products_with_zero_factors_have_the_exact_gradient(zeros):
    values = np.array([1.5, -2.0, 0.5, 3.0])
    values[zeros] = 0.0
    for f in (lambda x: x.prod(), lambda x: x.cumprod(0)):
        x = tg.tensor(values, requires_grad=True)
        assert tg.gradcheck(f, [x])
    x = tg.tensor(values, requires_grad=True)
    x.prod().backward()
    others = [np.prod(np.delete(values, i)) for i in range(4)]  # ∂/∂xᵢ = the product of the others
    np.testing.assert_allclose(x.grad.numpy(), others)


def test_integers_multiply_and_add_up_as_int64():
    u = tg.tensor(np.array([200, 100], dtype=np.uint8))
    assert u.prod().dtype == tg.int64 and u.prod().item() == 20000
    assert u.cumsum(0).tolist() == [200, 300] and tg.tensor([True, True]).cumsum(0).tolist() == [1, 2]


def test_numpy_keyword_names_are_accepted_as_in_pytorch():
    x = tg.tensor(np.arange(24.0).reshape(2, 3, 4))
    for method in ("sum", "mean", "prod", "std", "var", "logsumexp", "norm"):
        expected = getattr(x, method)(dim=1, keepdim=True)
        np.testing.assert_array_equal(getattr(x, method)(axis=1, keepdims=True).numpy(), expected.numpy())
    assert x.max(axis=2).values.shape == (2, 3) and x.argmax(axis=0).shape == (3, 4)
    assert x.min(axis=2, keepdims=True).values.shape == (2, 3, 1) and x.softmax(axis=0).shape == (2, 3, 4)
    assert x.cumsum(axis=1).shape == (2, 3, 4) and x.any(axis=0).shape == (3, 4) and x.all(axis=0).shape == (3, 4)
    assert tg.sum(x, axis=0).shape == (3, 4)
    with pytest.raises(TypeError, match=r"sum\(\) got both dim= and axis=, two names of one argument"):
        x.sum(dim=0, axis=1)


RNG = np.random.default_rng(5)
A = RNG.normal(size=(3, 4))


@pytest.mark.parametrize("code", [
    lambda lib, x: x.prod(), lambda lib, x: x.prod(1), lambda lib, x: x.prod(0, keepdim=True),
    lambda lib, x: x.cumsum(1), lambda lib, x: x.cumprod(0), lambda lib, x: x.cumprod(dim=1),
    lambda lib, x: (x * (x > 0)).prod(1), lambda lib, x: (x * (x > 0)).cumprod(1),
    lambda lib, x: x.sum(axis=0, keepdims=True), lambda lib, x: x.mean(axis=1), lambda lib, x: x.std(axis=1),
    lambda lib, x: lib.cumsum(x, 0), lambda lib, x: lib.prod(x, 1),
])
def test_against_torch(agrees_with_torch, code):
    agrees_with_torch(code, A)
