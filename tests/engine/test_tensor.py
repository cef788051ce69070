"""The Tensor itself: construction, dtypes, conversions, and the constructors."""

from __future__ import annotations

import numpy as np
import pytest

import tinygrad_edu as tg


def test_python_floats_default_to_float32_and_float64_arrays_stay_float64():
    assert tg.tensor([1.0, 2.0]).dtype == np.float32
    assert tg.tensor(np.array([1.0, 2.0])).dtype == np.float64
    assert tg.tensor([1, 2]).dtype == np.int64
    assert tg.tensor([1.0], dtype=np.float64).dtype == np.float64


@pytest.mark.parametrize("op", [
    lambda t: t + 1.5, lambda t: 1.5 + t, lambda t: t * 2, lambda t: 2 / t, lambda t: t**2.0, lambda t: 3.0 - t,
])
def test_python_scalars_keep_the_tensor_float32(op):
    assert op(tg.tensor([1.0, 2.0])).dtype == np.float32


def test_numpy_arrays_on_the_left_defer_to_the_tensor():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    y = np.array([10.0, 20.0], dtype=np.float32) * x
    assert isinstance(y, tg.Tensor) and y.requires_grad
    np.testing.assert_array_equal(y.numpy(), [10.0, 40.0])


def test_integer_tensors_cannot_require_grad():
    with pytest.raises(TypeError, match="int64"):
        tg.tensor([1, 2], requires_grad=True)
    with pytest.raises(TypeError):
        tg.arange(3).requires_grad = True


def test_attributes_and_conversions():
    x = tg.tensor([[1.0, 2.0, 3.0]], requires_grad=True)
    assert x.shape == (1, 3) and x.ndim == 2 and x.numel() == 3 and len(x) == 1
    assert x.requires_grad and x.grad is None and x.is_leaf
    assert tg.tensor([[4.0]]).item() == 4.0
    with pytest.raises(ValueError, match="one element"):
        x.item()
    np.testing.assert_array_equal(np.asarray(x), [[1.0, 2.0, 3.0]])
    np.testing.assert_array_equal(np.from_dlpack(x), [[1.0, 2.0, 3.0]])
    assert x.tolist() == [[1.0, 2.0, 3.0]]


def test_repr_shows_values_and_provenance():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    assert repr(x) == "tensor([1., 2.], requires_grad=True)"
    assert "grad_fn=<MulBackward>" in repr(x * 2)
    assert "dtype=float64" in repr(tg.tensor(np.zeros(2)))


def test_constructors_and_seeded_generators():
    assert tg.zeros(2, 3).shape == (2, 3) and tg.zeros((2, 3)).numpy().sum() == 0
    assert tg.ones(4).numpy().sum() == 4 and tg.ones(4).dtype == np.float32
    np.testing.assert_array_equal(tg.arange(5).numpy(), np.arange(5))
    assert tg.arange(0, 1, 0.25).dtype == np.float32
    a = tg.randn(3, 4, generator=np.random.default_rng(7))
    b = tg.randn(3, 4, generator=np.random.default_rng(7))
    np.testing.assert_array_equal(a.numpy(), b.numpy())
    assert a.dtype == np.float32 and tg.rand(2, dtype=np.float64).dtype == np.float64
    u = tg.rand(1000, generator=np.random.default_rng(0)).numpy()
    assert u.min() >= 0 and u.max() < 1
    tg.manual_seed(3)
    first = tg.randn(5).numpy()
    tg.manual_seed(3)
    np.testing.assert_array_equal(tg.randn(5).numpy(), first)
