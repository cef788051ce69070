"""The tensor basics a student reaches for, with PyTorch's names, results and gradients.
Reference values come from NumPy formulas; every differentiable one is gradchecked in float64."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import tinygrad_edu as tg

RNG = np.random.default_rng(0)


def leaf(values) -> tg.Tensor:
    return tg.Tensor(np.array(values, dtype=np.float64), requires_grad=True)


def values(*shape) -> np.ndarray:
    return RNG.normal(size=shape)


# ------------------------------------------------------------------------------------ conversions
def test_dtype_names_are_numpy_dtypes():
    assert tg.float32 == np.float32 and tg.float64 == np.float64 and tg.int64 == np.int64 and tg.bool == np.bool_
    assert np.zeros(2, dtype=tg.float64).dtype == np.float64
    assert tg.zeros(2, dtype=tg.int64).dtype == np.int64


@pytest.mark.parametrize("method, dtype", [
    ("float", np.float32), ("double", np.float64), ("long", np.int64), ("int", np.int32), ("bool", np.bool_),
])
def test_conversion_methods(method, dtype):
    a = np.array([[-1.5, 0.0], [2.7, 3.0]])
    out = getattr(tg.tensor(a), method)()
    assert out.dtype == dtype
    np.testing.assert_array_equal(out.numpy(), a.astype(dtype))
    assert tg.tensor(a).to(dtype).dtype == dtype and tg.tensor(a).to(np.dtype(dtype).name).dtype == dtype


def test_to_between_floats_is_differentiable_and_casts_the_gradient_back():
    """Finite differences cannot see through float32 rounding, so the gradient is checked exactly:
    L = Σ u · float32(x) has ∂L/∂x = u."""
    x = leaf(values(2, 3))
    u = values(2, 3).astype(np.float32)
    y = x.float()
    assert y.dtype == np.float32 and y.requires_grad
    (y * tg.tensor(u)).sum().backward()
    assert x.grad.dtype == np.float64
    np.testing.assert_array_equal(x.grad.numpy(), u.astype(np.float64))


def test_to_an_integer_type_leaves_the_graph_and_to_the_same_type_is_itself():
    x = leaf([1.5, 2.5])
    assert not x.long().requires_grad and x.to(tg.float64) is x and x.to("cpu") is x
    with pytest.raises(RuntimeError, match="CPU only"):
        x.to("cuda")


# ------------------------------------------------------------------------------------------ shapes
@pytest.mark.parametrize("name, fn, formula", [
    ("view", lambda t: t.view(4, 6), lambda a: a.reshape(4, 6)),
    ("view_infer", lambda t: t.view(-1, 3), lambda a: a.reshape(-1, 3)),
    ("unsqueeze", lambda t: t.unsqueeze(1), lambda a: a[:, None]),
    ("unsqueeze_last", lambda t: t.unsqueeze(-1), lambda a: a[..., None]),
    ("flatten_middle", lambda t: t.flatten(1), lambda a: a.reshape(2, 12)),
    ("clone", lambda t: t.clone(), lambda a: a.copy()),
    ("expand", lambda t: t[:, :1].expand(2, 3, 4), lambda a: np.broadcast_to(a[:, :1], (2, 3, 4))),
    ("expand_keep", lambda t: t[:1].expand(5, -1, -1, -1), lambda a: np.broadcast_to(a[:1], (5, 1, 3, 4))),
    ("squeeze_dim", lambda t: t[:, :1].squeeze(1), lambda a: a[:, 0]),
])
def test_shape_methods_with_gradients(name, fn, formula):
    a = values(2, 3, 4)
    np.testing.assert_array_equal(fn(tg.tensor(a)).numpy(), formula(a))
    assert tg.gradcheck(fn, [leaf(a)])


def test_squeeze_drops_only_size_one_dims_and_size_dim_are_pytorchs():
    t = tg.zeros(1, 3, 1, 2)
    assert t.squeeze().shape == (3, 2) and t.squeeze(0).shape == (3, 1, 2) and t.squeeze(1).shape == (1, 3, 1, 2)
    assert t.size() == (1, 3, 1, 2) and t.size(1) == 3 and t.size(-1) == 2 and t.dim() == 4


def test_clone_has_its_own_memory_and_view_shares_it():
    t = tg.tensor(values(2, 3))
    c, v = t.clone(), t.view(6)
    t.zero_()
    assert np.all(v.numpy() == 0) and not np.all(c.numpy() == 0)


# -------------------------------------------------------------------------------------- reductions
@pytest.mark.parametrize("dim, keepdim", [(0, False), (1, True), (-1, False)])
def test_min_and_argmin_along_a_dim(dim, keepdim):
    a = values(3, 4)
    values_, indices = tg.tensor(a).min(dim=dim, keepdim=keepdim)
    np.testing.assert_array_equal(values_.numpy(), a.min(axis=dim, keepdims=keepdim))
    np.testing.assert_array_equal(indices.numpy(), np.argmin(a, axis=dim, keepdims=keepdim))
    np.testing.assert_array_equal(tg.tensor(a).argmin(dim, keepdim).numpy(), np.argmin(a, axis=dim, keepdims=keepdim))
    assert indices.dtype == np.int64
    assert tg.gradcheck(lambda t: t.min(dim=dim, keepdim=keepdim).values, [leaf(a)])


def test_full_min_and_its_gradient_shared_between_ties():
    a = np.array([[3.0, 1.0], [1.0, 2.0]])
    x = leaf(a)
    m = x.min()
    assert m.item() == 1.0 and tg.tensor(a).argmin().item() == 1
    m.backward()
    np.testing.assert_array_equal(x.grad.numpy(), [[0.0, 0.5], [0.5, 0.0]])


@pytest.mark.parametrize("dim", [None, 0, 2, (0, 2)])
@pytest.mark.parametrize("correction", [0, 1, 2])
def test_var_and_std_with_bessel_correction(dim, correction):
    a = values(3, 4, 5)
    np.testing.assert_allclose(tg.tensor(a).var(dim, correction=correction).numpy(),
                               a.var(axis=dim, ddof=correction), rtol=1e-12)
    np.testing.assert_allclose(tg.tensor(a).std(dim, correction=correction, keepdim=True).numpy(),
                               a.std(axis=dim, ddof=correction, keepdims=True), rtol=1e-12)
    assert tg.gradcheck(lambda t: t.std(dim, correction=correction), [leaf(a)])


def test_var_unbiased_flag_as_in_pytorch():
    a = values(6)
    assert np.isclose(tg.tensor(a).var().item(), a.var(ddof=1))
    assert np.isclose(tg.tensor(a).var(unbiased=False).item(), a.var(ddof=0))
    assert np.isclose(tg.tensor(a).std(0, True).item(), a.std(ddof=1))


@pytest.mark.parametrize("p", [2, 1, 3, float("inf")])
@pytest.mark.parametrize("dim", [None, 1])
def test_norm(p, dim):
    a = values(3, 4)
    expected = np.linalg.norm(a.ravel(), ord=p) if dim is None else np.linalg.norm(a, ord=p, axis=dim)
    np.testing.assert_allclose(tg.tensor(a).norm(p, dim=dim).numpy(), expected, rtol=1e-12)
    assert tg.gradcheck(lambda t: t.norm(p, dim=dim), [leaf(a)])


@pytest.mark.parametrize("dim", [None, 1])
def test_norm_with_p_zero_counts_nonzeros_and_minus_infinity_is_the_smallest_size(dim):
    a = values(3, 4)
    a[1, 2] = a[2, 0] = 0.0
    count = (a != 0).sum() if dim is None else (a != 0).sum(axis=dim)
    np.testing.assert_array_equal(tg.tensor(a).norm(0, dim=dim).numpy(), count)
    smallest = np.abs(a).min() if dim is None else np.abs(a).min(axis=dim)
    np.testing.assert_array_equal(tg.tensor(a).norm(float("-inf"), dim=dim).numpy(), smallest)
    b = values(3, 4)  # away from zero, where the smallest size has a gradient
    assert tg.gradcheck(lambda t: t.norm(float("-inf"), dim=dim), [leaf(b)])


def test_the_norm_of_zero_has_gradient_zero_as_in_pytorch():
    x = leaf(np.zeros(3))
    x.norm().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [0.0, 0.0, 0.0])


@pytest.mark.parametrize("dim, keepdim", [(0, False), (-1, True), ((0, 2), False)])
def test_logsumexp(dim, keepdim):
    a = values(2, 3, 4) * 30  # large enough that exp overflows without the shift
    m = a.max(axis=dim, keepdims=True)
    expected = np.log(np.exp(a - m).sum(axis=dim, keepdims=True)) + m
    expected = expected if keepdim else np.squeeze(expected, axis=dim)
    np.testing.assert_allclose(tg.tensor(a).logsumexp(dim, keepdim).numpy(), expected, rtol=1e-12)
    assert tg.gradcheck(lambda t: t.logsumexp(dim, keepdim), [leaf(a / 30)])


def test_logsumexp_of_masked_entries():
    a = np.array([[0.0, -np.inf, 1.0], [-np.inf, -np.inf, -np.inf]])
    x = leaf(a)
    out = x.logsumexp(1)
    np.testing.assert_allclose(out.numpy(), [np.log(1 + np.e), -np.inf])
    out[0].backward()
    np.testing.assert_allclose(x.grad.numpy(), [[1 / (1 + np.e), 0, np.e / (1 + np.e)], [0, 0, 0]])


def test_all_and_any():
    a = np.array([[True, False, True], [True, True, True]])
    t = tg.tensor(a)
    assert t.all().item() is False and t.any().item() is True
    np.testing.assert_array_equal(t.all(dim=1).numpy(), [False, True])
    np.testing.assert_array_equal(t.any(dim=0, keepdim=True).numpy(), [[True, True, True]])
    np.testing.assert_array_equal(tg.tensor([[0.0, 2.0]]).all(1).numpy(), [False])


@pytest.mark.parametrize("dim", [0, 1, -1])
def test_gather(dim):
    a = values(3, 4)
    index = RNG.integers(0, a.shape[dim], size=(2, 3))  # smaller than a outside dim, repeats allowed
    expected = np.empty(index.shape)
    for i, j in np.ndindex(*index.shape):
        expected[i, j] = a[index[i, j], j] if dim == 0 else a[i, index[i, j]]
    np.testing.assert_array_equal(tg.tensor(a).gather(dim, tg.tensor(index)).numpy(), expected)
    assert tg.gradcheck(lambda t: t.gather(dim, tg.tensor(index)), [leaf(a)])


def test_gather_refuses_indices_out_of_range_instead_of_wrapping():
    with pytest.raises(IndexError, match=r"\[0, 3\)"):
        tg.ones(2, 3).gather(1, tg.tensor([[-1], [0]]))
    with pytest.raises(ValueError, match="integer index"):
        tg.ones(2, 3).gather(1, tg.tensor([[0.0], [1.0]]))


# ------------------------------------------------------------------------------------------- masks
def test_logic_operators_on_bool_tensors():
    a, b = np.array([True, True, False, False]), np.array([True, False, True, False])
    ta, tb = tg.tensor(a), tg.tensor(b)
    np.testing.assert_array_equal((ta & tb).numpy(), a & b)
    np.testing.assert_array_equal((ta | tb).numpy(), a | b)
    np.testing.assert_array_equal((ta ^ tb).numpy(), a ^ b)
    np.testing.assert_array_equal((~ta).numpy(), ~a)
    x = tg.tensor([-2.0, 0.5, 3.0])
    np.testing.assert_array_equal(((x > 0) & (x < 1)).numpy(), [False, True, False])
    with pytest.raises(TypeError, match=r"bool.*float32.*\(x > 0\)"):
        x & (x > 0)


def test_boolean_mask_indexing_and_its_gradient():
    a = values(3, 4)
    mask = a > 0
    np.testing.assert_array_equal(tg.tensor(a)[tg.tensor(mask)].numpy(), a[mask])
    assert tg.gradcheck(lambda t: t[tg.tensor(mask)], [leaf(a)])
    assert tg.gradcheck(lambda t: t[tg.tensor(mask[:, 0]), 1:], [leaf(a)])


# ------------------------------------------------------------------------------------ constructors
def test_like_constructors_and_full():
    t = tg.tensor(values(2, 3))
    assert tg.zeros_like(t).dtype == np.float64 and np.all(tg.zeros_like(t).numpy() == 0)
    assert tg.ones_like(t, dtype=tg.float32).dtype == np.float32 and tg.ones_like(t).shape == (2, 3)
    np.testing.assert_array_equal(tg.full((2, 2), 1.5).numpy(), np.full((2, 2), 1.5, dtype=np.float32))
    assert tg.full((2,), 1.5).dtype == np.float32 and tg.full((2,), 7).dtype == np.int64
    assert tg.full((2,), True).dtype == np.bool_ and tg.full(3, 2.0).shape == (3,)
    assert tg.full_like(t, 2).dtype == np.float64 and np.all(tg.full_like(t, 2).numpy() == 2)
    assert tg.rand_like(t).shape == (2, 3) and tg.randn_like(t).dtype == np.float64


def test_eye_and_linspace():
    np.testing.assert_array_equal(tg.eye(3).numpy(), np.eye(3))
    np.testing.assert_array_equal(tg.eye(2, 4).numpy(), np.eye(2, 4))
    assert tg.eye(3).dtype == np.float32
    np.testing.assert_allclose(tg.linspace(-1, 2, 7).numpy(), np.linspace(-1, 2, 7), rtol=1e-6)
    assert tg.linspace(0, 1, 5).dtype == np.float32


def test_randint_and_randperm():
    r = tg.randint(3, 7, (1000,), generator=np.random.default_rng(0))
    assert r.dtype == np.int64 and r.numpy().min() == 3 and r.numpy().max() == 6
    assert tg.randint(5, size=(2, 3)).shape == (2, 3)
    p = tg.randperm(10)
    assert p.dtype == np.int64 and sorted(p.tolist()) == list(range(10))


@pytest.mark.parametrize("make", [
    lambda: tg.randn(3, 2), lambda: tg.rand(4), lambda: tg.randint(0, 100, (5,)), lambda: tg.randperm(8),
    lambda: tg.rand_like(tg.zeros(3)), lambda: tg.randn_like(tg.zeros(2, 2)),
])
def test_random_constructors_repeat_under_manual_seed(make):
    tg.manual_seed(11)
    first = make().numpy().copy()
    tg.manual_seed(11)
    np.testing.assert_array_equal(make().numpy(), first)
    tg.manual_seed(12)
    assert not np.array_equal(make().numpy(), first)


def test_from_numpy_shares_memory_and_tensor_copies():
    a = np.zeros(3)
    shared, copied = tg.from_numpy(a), tg.tensor(a)
    shared += 1.0
    np.testing.assert_array_equal(a, [1.0, 1.0, 1.0])
    assert shared.dtype == np.float64 and np.all(copied.numpy() == 0)
    a[0] = 5.0
    assert shared.numpy()[0] == 5.0 and copied.numpy()[0] == 0.0
    with pytest.raises(TypeError, match="NumPy array"):
        tg.from_numpy([1.0, 2.0])


@given(shape=hnp.array_shapes(min_dims=1, max_dims=3, max_side=4), data=st.data())
def test_unsqueeze_then_squeeze_is_the_identity(shape, data):
    dim = data.draw(st.integers(-len(shape) - 1, len(shape)))
    a = np.arange(int(np.prod(shape)), dtype=np.float64).reshape(shape)
    u = tg.tensor(a).unsqueeze(dim)
    np.testing.assert_array_equal(u.numpy(), np.expand_dims(a, dim))
    np.testing.assert_array_equal(u.squeeze(dim).numpy(), a)


def test_flatten_of_a_scalar_or_a_vector_is_a_vector():
    assert tg.tensor(3.0).flatten().shape == (1,)
    v = tg.tensor(np.arange(5.0))
    np.testing.assert_array_equal(v.flatten().numpy(), np.arange(5.0))


def test_reshape_refuses_a_negative_size_other_than_minus_one():
    """PyTorch raises for −2; NumPy would quietly take it as the size to infer."""
    with pytest.raises(ValueError, match="-2"):
        tg.ones(2, 3, 4).reshape(2, -2)
    assert tg.ones(2, 3, 4).reshape(2, -1).shape == (2, 12)


def test_where_takes_a_condition_given_as_a_list():
    x, y = tg.tensor([1.0, 2.0, 3.0]), tg.tensor([-1.0, -2.0, -3.0])
    np.testing.assert_array_equal(tg.where([True, False, True], x, y).numpy(), [1.0, -2.0, 3.0])


def test_truth_of_a_tensor_with_several_elements_is_an_error_that_names_the_fix():
    with pytest.raises(RuntimeError, match=r"2 elements \(shape \(2,\)\) is ambiguous; use \.any\(\) or \.all\(\)$"):
        bool(tg.tensor([1.0, 2.0]))


def test_an_index_tensor_changed_after_indexing_does_not_move_the_gradient():
    x = leaf([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    rows = tg.tensor([0, 0, 1])
    y = x[rows, 1]
    rows.fill_(1)
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [[0.0, 2.0, 0.0], [0.0, 1.0, 0.0]])


def test_an_empty_tensor_shows_its_shape_as_pytorch_does():
    assert repr(tg.zeros(0, 3)) == "tensor([], size=(0, 3))"
    assert repr(tg.zeros(0)) == "tensor([])"
    assert repr(tg.zeros(2, 0, dtype=tg.float64)) == "tensor([], size=(2, 0), dtype=float64)"
    assert repr(tg.zeros(0, dtype=tg.int64)) == "tensor([], dtype=int64)"


def test_type_names_the_type_as_pytorch_does_and_converts():
    x = tg.tensor([1.5, 2.0])
    assert x.type() == "torch.FloatTensor" and x.double().type() == "torch.DoubleTensor"
    assert tg.tensor([1]).type() == "torch.LongTensor" and tg.tensor([True]).type() == "torch.BoolTensor"
    assert x.type(tg.float64).dtype == tg.float64 and x.type("torch.LongTensor").tolist() == [1, 2]


def test_type_names_against_torch():
    torch = pytest.importorskip("torch")
    for dtype, torch_dtype in ((tg.float32, torch.float32), (tg.float64, torch.float64), (tg.int64, torch.int64),
                               (tg.int32, torch.int32), (tg.uint8, torch.uint8), (tg.bool, torch.bool)):
        assert tg.zeros(2, dtype=dtype).type() == torch.zeros(2, dtype=torch_dtype).type()
