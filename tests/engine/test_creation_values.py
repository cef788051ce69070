"""Every constructor against NumPy: values, shape, dtype (default and asked for), requires_grad, generator."""

from __future__ import annotations

import numpy as np
import pytest

import tinygrad_edu as tg

T64 = tg.tensor(np.arange(6.0).reshape(2, 3))  # float64, non-square


@pytest.mark.parametrize("like, fill", [(tg.zeros_like, 0.0), (tg.ones_like, 1.0)])
def test_zeros_and_ones_like_follow_the_tensor(like, fill):
    out = like(T64)
    assert out.shape == (2, 3) and out.dtype == np.float64 and not out.requires_grad
    np.testing.assert_array_equal(out.numpy(), np.full((2, 3), fill))
    asked = like(T64, dtype=np.float32, requires_grad=True)
    assert asked.dtype == np.float32 and asked.requires_grad


def test_full_and_full_like():
    out = tg.full((2, 3), 2.5)
    assert out.dtype == np.float32 and out.shape == (2, 3)
    np.testing.assert_array_equal(out.numpy(), np.full((2, 3), 2.5))
    assert tg.full((2,), 7).dtype == np.int64
    assert tg.full((2,), 1.5, dtype=np.float64, requires_grad=True).requires_grad
    like = tg.full_like(T64, -1.5)
    assert like.dtype == np.float64 and like.shape == (2, 3)
    np.testing.assert_array_equal(like.numpy(), np.full((2, 3), -1.5))
    asked = tg.full_like(T64, 3.0, dtype=np.float32, requires_grad=True)
    assert asked.dtype == np.float32 and asked.requires_grad


@pytest.mark.parametrize("like, draw", [
    (tg.rand_like, lambda rng, shape, dtype: rng.random(shape, dtype=dtype)),
    (tg.randn_like, lambda rng, shape, dtype: rng.standard_normal(shape, dtype=dtype)),
])
def test_random_like_draws_from_the_generator_in_the_tensor_dtype(like, draw):
    out = like(T64, generator=np.random.default_rng(4))
    assert out.dtype == np.float64 and out.shape == (2, 3) and not out.requires_grad
    np.testing.assert_array_equal(out.numpy(), draw(np.random.default_rng(4), (2, 3), np.float64))
    asked = like(T64, generator=np.random.default_rng(4), dtype=np.float32, requires_grad=True)
    assert asked.dtype == np.float32 and asked.requires_grad
    np.testing.assert_array_equal(asked.numpy(), draw(np.random.default_rng(4), (2, 3), np.float32))


def test_eye_and_linspace():
    np.testing.assert_array_equal(tg.eye(3).numpy(), np.eye(3))
    np.testing.assert_array_equal(tg.eye(2, 4).numpy(), np.eye(2, 4))
    assert tg.eye(2).dtype == np.float32 and tg.eye(2, dtype=np.float64).dtype == np.float64
    assert tg.eye(2, requires_grad=True).requires_grad
    np.testing.assert_allclose(tg.linspace(-1, 2, 7).numpy(), np.linspace(-1, 2, 7), rtol=1e-6)
    assert tg.linspace(0, 1, 3).dtype == np.float32
    assert tg.linspace(0, 1, 3, dtype=np.float64, requires_grad=True).requires_grad


@pytest.mark.parametrize("make", [tg.tensor, tg.Tensor])
def test_half_precision_data_is_computed_in_float32(make):
    """float16 (and other float types NumPy has but the ops do not use) become float32, the default."""
    half = np.array([[1.5, -2.25], [0.1, 65504.0]], dtype=np.float16)
    for data in (half, half[0, 0]):
        out = make(data)
        assert out.dtype == np.float32
        np.testing.assert_array_equal(out.numpy(), np.asarray(data).astype(np.float32))


def test_linspace_computes_in_the_dtype_asked_for():
    """float64 keeps NumPy's float64 values (not float32 ones); an integer dtype truncates each value
    towards zero, as torch.linspace does ([0, 2.5, 5, 7.5, 10] → [0, 2, 5, 7, 10])."""
    wide = tg.linspace(0.1, 0.7, 7, dtype=tg.float64)
    assert wide.dtype == np.float64
    np.testing.assert_array_equal(wide.numpy(), np.linspace(0.1, 0.7, 7))
    for start, end in ((0, 10), (-10, 0)):
        ints = tg.linspace(start, end, 5, dtype=tg.int64)
        assert ints.dtype == np.int64
        np.testing.assert_array_equal(ints.numpy(), np.trunc(np.linspace(start, end, 5)))


def test_randint_and_randperm():
    out = tg.randint(3, 9, size=(4, 5), generator=np.random.default_rng(1))
    np.testing.assert_array_equal(out.numpy(), np.random.default_rng(1).integers(3, 9, size=(4, 5)))
    assert out.dtype == np.int64
    low_only = tg.randint(5, size=(50,), generator=np.random.default_rng(2))
    np.testing.assert_array_equal(low_only.numpy(), np.random.default_rng(2).integers(0, 5, size=(50,)))
    assert tg.randint(5, size=3, dtype=np.int32).dtype == np.int32
    perm = tg.randperm(6, generator=np.random.default_rng(3))
    np.testing.assert_array_equal(perm.numpy(), np.random.default_rng(3).permutation(6))
    assert perm.dtype == np.int64 and tg.randperm(4, dtype=np.int32).dtype == np.int32


def test_tensor_copies_an_array_or_a_tensor_and_keeps_its_dtype():
    """As torch.tensor: a change to the source later does not show in the new tensor."""
    array = np.array([1.0, 2.0, 3.0])
    source = tg.tensor(np.array([1, 2, 3], dtype=np.int32))
    from_array, from_tensor = tg.tensor(array), tg.tensor(source)
    array[0] = 9.0
    source.data[0] = 9
    np.testing.assert_array_equal(from_array.numpy(), [1.0, 2.0, 3.0])
    np.testing.assert_array_equal(from_tensor.numpy(), [1, 2, 3])
    assert from_array.dtype == np.float64 and from_tensor.dtype == np.int32


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int32, np.bool_])
def test_the_tensor_class_takes_a_tensor_with_its_values_and_dtype_or_the_dtype_asked_for(dtype):
    source = tg.tensor(np.array([[0.0, 1.0, 2.5], [-3.0, 0.5, 4.0]]).astype(dtype))
    same, as_float64 = tg.Tensor(source), tg.Tensor(source, dtype=np.float64)
    assert same.dtype == dtype and same.shape == (2, 3) and same.numpy().tobytes() == source.numpy().tobytes()
    assert as_float64.dtype == np.float64
    np.testing.assert_array_equal(as_float64.numpy(), source.numpy().astype(np.float64))


def test_from_numpy_shares_memory_and_refuses_other_data():
    array = np.array([1.0, 2.0])
    t = tg.from_numpy(array)
    array[0] = 9.0
    assert t.numpy()[0] == 9.0 and t.dtype == np.float64
    with pytest.raises(TypeError, match="^from_numpy expects a NumPy array, got list; use tg.tensor for other data$"):
        tg.from_numpy([1.0])


@pytest.mark.parametrize("make", [
    lambda dtype: tg.zeros(2, 3, dtype=dtype), lambda dtype: tg.ones(2, 3, dtype=dtype),
    lambda dtype: tg.eye(2, 3, dtype=dtype), lambda dtype: tg.linspace(0, 1, 3, dtype=dtype),
    lambda dtype: tg.rand(2, 3, dtype=dtype), lambda dtype: tg.randn(2, 3, dtype=dtype),
])
def test_dtype_none_means_float32_as_in_pytorch(make):
    assert make(None).dtype == np.float32  # NumPy's None would be float64


def test_like_constructors_keep_a_float32_or_integer_tensor_dtype():
    t32, t64i = tg.ones(2, 3, dtype=np.float32), tg.tensor(np.arange(6).reshape(3, 2))
    for like in (tg.zeros_like, tg.ones_like, lambda t: tg.full_like(t, 2)):
        assert like(t32).dtype == np.float32 and like(t64i).dtype == np.int64
    for like in (tg.rand_like, tg.randn_like):
        assert like(t32).dtype == np.float32


def test_constructors_do_not_require_grad_unless_asked():
    for t in (tg.eye(2), tg.linspace(0, 1, 3), tg.full_like(T64, 1.0), tg.zeros(2), tg.full(2, 1.0), tg.ones(2),
              tg.rand(2), tg.randn(2), tg.tensor([1.0]), tg.Tensor([1.0]), tg.arange(2.0)):
        assert t.requires_grad is False


def test_stack_joins_along_a_new_first_dim_by_default():
    a, b = tg.tensor(np.arange(6.0).reshape(2, 3)), tg.tensor(np.arange(6.0, 12.0).reshape(2, 3))
    out = tg.stack([a, b])
    assert out.shape == (2, 2, 3)
    np.testing.assert_array_equal(out.numpy(), np.stack([a.numpy(), b.numpy()]))


# Inside a list, a NumPy scalar (or array) keeps its dtype, as in torch.tensor; only a Python float
# counts as the default float32. Both constructors infer the dtype the same way.
LIST_DTYPES = [
    ([np.float64(1.0)], np.float64), ([np.float64(1.0), 2.0], np.float64), ([2.0, np.float64(1.0)], np.float64),
    ([[1.0], [np.float64(2.0)]], np.float64), ([np.float32(1.0), np.float64(2.0)], np.float64),
    ([np.zeros(2), [1.0, 2.0]], np.float64), ([np.float32(1.0), 2.0], np.float32), ([np.int64(1), 2.0], np.float32),
    ([np.int32(1), 2.0], np.float32), ([np.float32(1.0), np.int64(2)], np.float32), ([np.int32(1)], np.int32),
    ([np.int32(1), 2], np.int64), ([np.int64(1)], np.int64), ([np.bool_(True)], np.bool_), ([1.0, 2.5], np.float32),
    (np.float64(1.0), np.float64), ([[1, 2], [3, 4]], np.int64),
]


@pytest.mark.parametrize("make", [tg.tensor, tg.Tensor])
@pytest.mark.parametrize("data, dtype", LIST_DTYPES)
def test_numpy_scalars_in_lists_keep_their_dtype(make, data, dtype):
    out = make(data)
    assert out.dtype == dtype
    np.testing.assert_array_equal(out.numpy(), np.array(data, dtype=dtype))


# --------------------------------------------- what a tensor cannot hold is refused, saying why
@pytest.mark.parametrize("make, what", [
    (lambda: tg.tensor("abc"), r"not text \(<U3\)"), (lambda: tg.tensor(["a", "b"]), "not text"),
    (lambda: tg.tensor(np.array([object(), 1])), r"not Python objects \(object\)"), (lambda: tg.tensor(None), "objects"),
    (lambda: tg.Tensor(np.array([b"x"])), "not bytes"), (lambda: tg.from_numpy(np.array(["a"])), "not text"),
    (lambda: tg.tensor([1 + 2j]), r"complex numbers are not supported \(complex128\).*z\.real and z\.imag"),
    (lambda: tg.tensor([1.0], dtype=np.complex64), "complex numbers are not supported"),
    (lambda: tg.tensor([1.0]) * 1j, r"complex numbers are not supported \(1j\)"),
    (lambda: tg.tensor([1.0]).to(np.complex64), "complex numbers are not supported"),
])
def test_text_objects_and_complex_numbers_are_refused(make, what):
    with pytest.raises(TypeError, match=what):
        make()


def test_linspace_refuses_bool_as_pytorch_does():
    with pytest.raises(TypeError, match=r"linspace: dtype bool is not supported \(as in PyTorch\)"):
        tg.linspace(0, 1, 5, dtype=tg.bool)
    assert tg.linspace(0, 2, 5, dtype=tg.int64).tolist() == [0, 0, 1, 1, 2]  # integers truncate, as in PyTorch


def test_refusals_match_pytorch():
    torch = pytest.importorskip("torch")
    with pytest.raises(RuntimeError):
        torch.linspace(0, 1, 5, dtype=torch.bool)
    with pytest.raises((TypeError, ValueError)):
        torch.tensor("abc")
    assert torch.linspace(0, 2, 5, dtype=torch.int64).tolist() == tg.linspace(0, 2, 5, dtype=tg.int64).tolist()
