"""The Tensor's edges: NumPy conversion, printing, comparisons, constructors and indexing, each pinned to a value."""

from __future__ import annotations

import numpy as np
import pytest

import tinygrad_edu as tg


def test_numpy_conversion_shares_or_copies_as_asked():
    x = tg.tensor(np.array([[1.5, 2.5], [3.5, 4.5]]))
    shared = np.asarray(x)
    assert shared is x.numpy()  # no dtype, no copy: the array itself
    copied = np.array(x, copy=True)
    copied[0, 0] = 100.0
    assert x.numpy()[0, 0] == 1.5 and copied.dtype == np.float64
    np.testing.assert_array_equal(copied[1], [3.5, 4.5])
    as_int = np.asarray(x, dtype=np.int64)
    assert as_int.dtype == np.int64
    np.testing.assert_array_equal(as_int, [[1, 2], [3, 4]])
    as_float32_copy = x.__array__(np.float32, copy=True)
    assert as_float32_copy.dtype == np.float32
    np.testing.assert_array_equal(as_float32_copy, [[1.5, 2.5], [3.5, 4.5]])


def test_dlpack_passes_its_arguments_on():
    x = tg.tensor([1.0, 2.0])
    np.testing.assert_array_equal(np.from_dlpack(x), [1.0, 2.0])
    with pytest.raises(TypeError):
        x.__dlpack__(1, 2, 3)  # NumPy's own check sees the arguments
    with pytest.raises(TypeError):
        x.__dlpack__(no_such_option=True)


def test_repr_rounds_to_four_decimals_and_aligns_rows():
    assert repr(tg.tensor([1.234567, 2.0])) == "tensor([1.2346, 2.    ])"
    assert repr(tg.tensor([[1.0, 2.0], [3.0, 4.0]])) == "tensor([[1., 2.],\n        [3., 4.]])"


def test_matmul_with_a_numpy_array_on_the_left():
    a = np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])
    b = tg.tensor(np.array([[1.0], [-1.0]]), requires_grad=True)
    out = a @ b
    np.testing.assert_array_equal(out.numpy(), a @ b.numpy())
    out.sum().backward()
    np.testing.assert_array_equal(b.grad.numpy(), a.sum(axis=0)[:, None])


def test_neg_method_is_minus():
    x = tg.tensor(np.array([1.0, -2.0]), requires_grad=True)
    np.testing.assert_array_equal(x.neg().numpy(), [-1.0, 2.0])
    assert x.neg().requires_grad


def test_permute_takes_dims_spread_or_as_one_tuple():
    x = tg.tensor(np.arange(24.0).reshape(2, 3, 4))
    np.testing.assert_array_equal(x.permute(2, 0, 1).numpy(), x.numpy().transpose(2, 0, 1))
    np.testing.assert_array_equal(x.permute([2, 0, 1]).numpy(), x.numpy().transpose(2, 0, 1))
    v = tg.tensor([1.0, 2.0])
    np.testing.assert_array_equal(v.permute(0).numpy(), [1.0, 2.0])


def test_indexing_with_a_tuple_holding_a_tensor():
    x = tg.tensor(np.arange(12.0).reshape(3, 4))
    picked = x[1:, tg.tensor([3, 0])]
    np.testing.assert_array_equal(picked.numpy(), x.numpy()[1:, [3, 0]])


def test_comparisons_with_tensors_and_numbers_carry_no_gradient():
    a = tg.tensor(np.array([1.0, 2.0, 3.0]), requires_grad=True)
    b = tg.tensor(np.array([1.0, 5.0, 3.0]))
    for result, expected in [(a == b, [True, False, True]), (a != b, [False, True, False]),
                             (a == 2.0, [False, True, False]), (a != 2.0, [True, False, True])]:
        np.testing.assert_array_equal(result.numpy(), expected)
        assert result.requires_grad is False


@pytest.mark.parametrize("make", [tg.zeros, tg.ones])
def test_zeros_and_ones_take_dtype_and_requires_grad(make):
    t = make(2, 3, dtype=np.float64, requires_grad=True)
    assert t.dtype == np.float64 and t.requires_grad and t.shape == (2, 3)
    assert not make(2).requires_grad and make(2).dtype == np.float32
    assert make((3, 1)).shape == (3, 1)


def test_arange_with_start_and_end_and_requires_grad():
    np.testing.assert_array_equal(tg.arange(2, 5).numpy(), [2, 3, 4])
    np.testing.assert_array_equal(tg.arange(5).numpy(), [0, 1, 2, 3, 4])
    t = tg.arange(0.0, 1.0, 0.5, requires_grad=True)
    assert t.requires_grad and t.dtype == np.float32
    np.testing.assert_array_equal(t.numpy(), [0.0, 0.5])


def test_requires_grad_underscore_sets_and_returns_the_tensor():
    x = tg.tensor([1.0])
    assert x.requires_grad_() is x and x.requires_grad
    x.requires_grad_(False)
    assert not x.requires_grad


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_ops_keep_float32_and_float64(dtype):
    x = tg.tensor(np.array([[-1.0, 0.0], [2.0, 3.0]], dtype=dtype), requires_grad=True)
    assert x.step().dtype == dtype
    y = x[np.array([0, 0])].sum() + x[0, 1:].sum()  # fancy and basic indexing
    y.backward()
    assert x.grad.dtype == dtype
    np.testing.assert_array_equal(x.grad.numpy(), [[2.0, 3.0], [0.0, 0.0]])


def test_where_gives_each_side_its_gradient_when_only_one_needs_it():
    condition = np.array([True, False, True])
    a = tg.tensor(np.array([1.0, 2.0, 3.0]), requires_grad=True)
    b = tg.tensor(np.array([10.0, 20.0, 30.0]))
    tg.where(condition, a, b).sum().backward()
    np.testing.assert_array_equal(a.grad.numpy(), [1.0, 0.0, 1.0])
    c = tg.tensor(np.array([1.0, 2.0, 3.0]))
    d = tg.tensor(np.array([10.0, 20.0, 30.0]), requires_grad=True)
    out = tg.where(condition, c, d)
    assert out.grad_fn.needs_input_grad == (False, True)
    out.backward(np.array([1.0, 2.0, 3.0]))
    np.testing.assert_array_equal(d.grad.numpy(), [0.0, 2.0, 0.0])


def test_index_with_an_ellipsis_slice_or_tuple_is_basic_and_scatters_once():
    x = tg.tensor(np.arange(24.0).reshape(2, 3, 4), requires_grad=True)
    for index in [(..., 1), (0, slice(None), None), np.int64(1), (slice(0, 2), Ellipsis)]:
        x.grad = None
        x[index].sum().backward()
        expected = np.zeros((2, 3, 4))
        expected[index] = 1.0
        np.testing.assert_array_equal(x.grad.numpy(), expected)


def test_an_op_without_forward_or_backward_says_which():
    class Half(tg.Function):
        pass

    with pytest.raises(NotImplementedError, match="^Half must implement forward$"):
        Half.apply(tg.tensor([1.0]))
    with pytest.raises(NotImplementedError, match="^Half must implement backward$"):
        Half().backward(np.ones(1))
    assert repr(Half()) == "<Half>"


def test_an_error_inside_detect_anomaly_is_not_swallowed():
    with pytest.raises(KeyError):
        with tg.detect_anomaly():
            raise KeyError("boom")


def test_numpy_conversion_with_a_dtype_converts_and_shares_when_it_can():
    x32 = tg.tensor([1.5, 2.5])
    assert np.asarray(x32).dtype == np.float32
    assert x32.__array__().dtype == np.float32
    assert x32.__array__(np.float32) is x32.numpy()  # already that dtype: no copy
    converted = x32.__array__(np.int64)
    assert converted.dtype == np.int64
    np.testing.assert_array_equal(converted, [1, 2])


def test_len_is_the_first_dimension_and_refused_for_a_scalar():
    assert len(tg.zeros(4, 2)) == 4 and len(tg.zeros(1)) == 1
    with pytest.raises(TypeError, match="^len\\(\\) of a 0-d tensor$"):
        len(tg.tensor(3.0))


def test_truth_values_and_indices_need_one_element():
    assert bool(tg.tensor([2.0])) and not bool(tg.tensor(0.0))
    with pytest.raises(RuntimeError, match="^the truth value of a tensor with 2 elements \\(shape \\(2,\\)\\) is "
                                           "ambiguous; use .any\\(\\) or .all\\(\\)$"):
        bool(tg.tensor([1.0, 2.0]))
    assert [10, 20, 30][tg.tensor(2)] == 30
    assert [10, 20, 30][tg.tensor(np.uint8(1))] == 20
    with pytest.raises(TypeError, match="^only integer tensors of one element can be used as an index, this one "
                                        "is float32 of shape \\(\\)$"):
        [10, 20][tg.tensor(1.0)]


@pytest.mark.parametrize("name, call", [
    ("add_", lambda t: t.add_(1.0)), ("sub_", lambda t: t.sub_(1.0)), ("mul_", lambda t: t.mul_(2.0)),
    ("div_", lambda t: t.div_(2.0)), ("clamp_", lambda t: t.clamp_(0.0, 1.0)),
    ("copy_", lambda t: t.copy_(tg.zeros(2))),
])
def test_in_place_ops_name_themselves_when_refused(name, call):
    leaf = tg.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match=f"^{name}: a leaf that requires grad cannot be changed in place"):
        call(leaf)


def test_set_grad_enabled_lets_errors_through():
    with pytest.raises(KeyError):
        with tg.set_grad_enabled(False):
            raise KeyError("boom")
    assert tg.is_grad_enabled()


def test_a_number_given_to_apply_takes_the_promoted_dtype():
    class Second(tg.Function):
        def forward(self, a, b):
            return np.broadcast_to(b, a.shape).copy()

        def backward(self, grad):
            return grad, None

    out = Second.apply(tg.tensor([1, 2]), 0.5)  # int64 tensor and a float: float32, as a + 0.5 would be
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out.numpy(), [0.5, 0.5])
    assert Second.apply(tg.tensor(np.array([1.0])), 0.5).dtype == np.float64


def test_norm_over_a_dim_keeps_other_size_one_dims():
    x = tg.tensor(np.array([[3.0, 4.0, 12.0]]))  # shape (1, 3)
    assert x.norm(dim=1).shape == (1,) and x.norm(dim=1).item() == 13.0
    assert x.norm(dim=1, keepdim=True).shape == (1, 1)
    np.testing.assert_allclose(x.norm(dim=0).numpy(), [3.0, 4.0, 12.0])


@pytest.mark.parametrize("symbol, call", [
    ("&", lambda a, b: a & b), ("|", lambda a, b: a | b), ("^", lambda a, b: a ^ b), ("~", lambda a, b: ~a),
])
def test_bitwise_ops_want_bool_or_integer_tensors(symbol, call):
    a, b = tg.tensor([True, False, True]), tg.tensor([True, True, False])
    expected = {"&": [True, False, False], "|": [True, True, True], "^": [False, True, True], "~": [False, True, False]}
    np.testing.assert_array_equal(call(a, b).numpy(), expected[symbol])
    floats = tg.tensor([1.0, 0.0, 2.0])
    with pytest.raises(TypeError, match=f"^\\{symbol} needs bool \\(or integer\\) tensors, got float32 and "
                                        f"(bool|float32); compare first, e.g. \\(x > 0\\) & \\(x < 1\\)$"):
        call(floats, floats)


def test_to_accepts_the_cpu_and_refuses_other_devices():
    x = tg.tensor([1.0])
    assert x.to("cpu") is x
    for device in ("cuda", "cuda:0", "mps"):
        with pytest.raises(RuntimeError, match=f"^to\\('{device}'\\): tinygrad-edu computes with NumPy on the CPU only$"):
            x.to(device)
    assert x.double().dtype == np.float64 and x.double().double().dtype == np.float64


def test_all_over_a_dim_can_keep_it():
    x = tg.tensor([[True, False, True], [True, True, True]])
    np.testing.assert_array_equal(x.all(dim=1).numpy(), [False, True])
    assert x.all(dim=1, keepdim=True).shape == (2, 1)


def test_fill_keeps_the_dtype_and_setitem_names_itself():
    x = tg.tensor([1, 2, 3])
    x.fill_(7.9)
    assert x.dtype == np.int64
    np.testing.assert_array_equal(x.numpy(), [7, 7, 7])
    leaf = tg.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="^setitem: a leaf that requires grad cannot be changed in place"):
        leaf[0] = 5.0


@pytest.mark.parametrize("write", [lambda x, v: x.fill_(v), lambda x, v: x.__setitem__(slice(1, None), v)],
                         ids=["fill_", "setitem"])
@pytest.mark.parametrize("dtype, value, error, message", [
    (np.uint8, 300, OverflowError, "300 out of bounds for uint8"),
    (np.int32, 2**40, OverflowError, f"{2**40} out of bounds for int32"),
    (np.int64, float("nan"), ValueError, "NaN"),
    (np.int64, float("inf"), OverflowError, "infinity"),
])
def test_writing_a_value_the_integer_dtype_cannot_hold_is_an_error(write, dtype, value, error, message):
    """As in PyTorch (which raises "value cannot be converted ... without overflow"): an error naming
    the value, never a wrapped-around or arbitrary number (300 stored in uint8 would be 44)."""
    x = tg.tensor(np.arange(3, dtype=dtype))
    with pytest.raises(error, match=message):
        write(x, value)
    np.testing.assert_array_equal(x.numpy(), np.arange(3))
