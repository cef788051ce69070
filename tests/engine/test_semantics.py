"""Where PyTorch habits meet this engine: truth values, dims, type promotion, grad modes, op inputs.
Each gives PyTorch's result or a clear error, never a quietly different number."""

from __future__ import annotations

import operator
import threading

import numpy as np
import pytest

import tinygrad_edu as tg


def leaf(values) -> tg.Tensor:
    return tg.Tensor(np.array(values, dtype=np.float64), requires_grad=True)


# ------------------------------------------------------------------ truth values and conversions
def test_bool_of_one_element_is_its_truth_value():
    assert bool(tg.tensor([2.0])) is True and bool(tg.tensor(0.0)) is False
    assert bool(tg.tensor([[True]])) and not tg.tensor([0])


@pytest.mark.parametrize("shape", [(2,), (2, 3), (0,)])
def test_bool_of_several_or_no_elements_is_ambiguous(shape):
    a = tg.zeros(shape)
    with pytest.raises(RuntimeError, match=r"ambiguous.*any\(\).*all\(\)"):
        bool(a)
    with pytest.raises(RuntimeError, match="ambiguous"):
        assert a == tg.ones(shape)  # used to pass whatever the values


def test_float_int_and_format_of_one_element():
    assert float(tg.tensor([[2.5]])) == 2.5 and int(tg.tensor(3.9)) == 3 and int(tg.tensor([-7])) == -7
    assert format(tg.tensor(1 / 3), ".3f") == "0.333" and f"{tg.tensor([2.0]):.2e}" == "2.00e+00"
    assert f"{tg.tensor(0.5, dtype=np.float64)}" == "0.5" and f"{tg.tensor([2.0])}" == "tensor([2.])"  # as PyTorch
    assert [10, 20, 30][tg.tensor(1)] == 20  # an integer tensor is an index
    with pytest.raises(ValueError, match=r"one element.*\(2,\)"):
        float(tg.ones(2))
    with pytest.raises(TypeError, match=r"one element.*\(2,\)"):
        format(tg.ones(2), ".3f")
    with pytest.raises(TypeError, match="integer"):
        [1, 2][tg.tensor(1.0)]
    with pytest.raises(TypeError, match=r"one element.*\(2,\)"):
        [1, 2][tg.tensor([0, 1])]


# ------------------------------------------------------------------------------ dim out of range
DIM_TAKERS = {
    "sum": lambda t, d: t.sum(dim=d), "mean": lambda t, d: t.mean(dim=d), "max": lambda t, d: t.max(dim=d),
    "min": lambda t, d: t.min(dim=d), "argmax": lambda t, d: t.argmax(dim=d), "argmin": lambda t, d: t.argmin(dim=d),
    "softmax": lambda t, d: t.softmax(dim=d), "log_softmax": lambda t, d: t.log_softmax(dim=d),
    "logsumexp": lambda t, d: t.logsumexp(dim=d), "var": lambda t, d: t.var(dim=d), "std": lambda t, d: t.std(dim=d),
    "norm": lambda t, d: t.norm(dim=d), "all": lambda t, d: t.all(dim=d), "any": lambda t, d: t.any(dim=d),
    "cat": lambda t, d: tg.cat([t, t], dim=d), "transpose": lambda t, d: t.transpose(0, d),
    "squeeze": lambda t, d: t.squeeze(d), "flatten": lambda t, d: t.flatten(0, d),
    "size": lambda t, d: t.size(d), "gather": lambda t, d: t.gather(d, tg.zeros(2, 3, dtype=np.int64)),
    "permute": lambda t, d: t.permute(0, d), "sum_tuple": lambda t, d: t.sum(dim=(0, d)),
}


@pytest.mark.parametrize("name", sorted(DIM_TAKERS))
@pytest.mark.parametrize("dim", [2, -3, 5])
def test_a_dim_out_of_range_is_an_index_error_everywhere(name, dim):
    with pytest.raises(IndexError, match=rf"range of \[-2, 1\], but got {dim}"):
        DIM_TAKERS[name](tg.ones(2, 3), dim)


@pytest.mark.parametrize("name", ["stack", "unsqueeze"])
@pytest.mark.parametrize("dim", [3, -4])
def test_a_new_dim_may_also_come_last_but_no_further(name, dim):
    make = {"stack": lambda t, d: tg.stack([t, t], dim=d), "unsqueeze": lambda t, d: t.unsqueeze(d)}[name]
    assert make(tg.ones(2, 3), 2).shape[2] in (1, 2) and make(tg.ones(2, 3), -3).shape[0] in (1, 2)
    with pytest.raises(IndexError, match=rf"range of \[-3, 2\], but got {dim}"):
        make(tg.ones(2, 3), dim)


def test_negative_dims_count_from_the_end_and_a_dim_may_not_repeat():
    a = np.arange(24.0).reshape(2, 3, 4)
    t = tg.tensor(a)
    np.testing.assert_array_equal(t.sum(dim=-2).numpy(), a.sum(axis=1))
    np.testing.assert_array_equal(t.sum(dim=()).numpy(), a.sum())  # PyTorch: an empty tuple means all dims
    with pytest.raises(RuntimeError, match="more than once"):
        t.sum(dim=(1, -2))
    assert tg.tensor(5.0).sum(dim=0).item() == 5.0 and tg.tensor(5.0).sum(dim=-1).item() == 5.0  # 0-d: dim 0 or -1


def test_transposing_a_vector_names_the_dims():
    with pytest.raises(IndexError, match=r"range of \[-1, 0\], but got 1.*1 dimension"):
        tg.ones(3).transpose(0, 1)


# ---------------------------------------------------------------------------------- type promotion
PROMOTION = [
    # (a, b, expected result dtype) — PyTorch's results
    (lambda: tg.arange(3), 1.5, np.float32),                                    # int tensor with a Python float
    (lambda: tg.arange(3), 2, np.int64),
    (lambda: tg.tensor([1, 2], dtype=np.int32), 2, np.int32),                  # a Python int does not widen
    (lambda: tg.ones(3), lambda: tg.tensor(2.0, dtype=np.float64), np.float32),  # 0-d does not promote
    (lambda: tg.ones(3), lambda: tg.ones(3, dtype=np.float64), np.float64),    # both dimensioned
    (lambda: tg.tensor(1.0), lambda: tg.tensor(2.0, dtype=np.float64), np.float64),  # both 0-d
    (lambda: tg.tensor([1, 2], dtype=np.int32), lambda: tg.tensor(2), np.int32),
    (lambda: tg.tensor([1, 2], dtype=np.int32), lambda: tg.tensor(2.0, dtype=np.float64), np.float64),
    (lambda: tg.tensor([True, False]), 1, np.int64),
    (lambda: tg.tensor([True, False]), 1.5, np.float32),
    (lambda: tg.tensor([True, False]), lambda: tg.tensor([True, True]), np.bool_),
    (lambda: tg.tensor([1, 2], dtype=np.uint8), lambda: tg.tensor([1, 2], dtype=np.int8), np.int16),
    (lambda: tg.tensor(np.array(3, dtype=np.int32)), 5, np.int32),            # 0-d outranks a Python number
    (lambda: tg.tensor(np.array(3, dtype=np.uint8)), 2, np.uint8),
    (lambda: tg.tensor(1.0), np.float64(2.0), np.float32),                     # a NumPy scalar counts as a number
    (lambda: tg.tensor(np.array(3, dtype=np.int32)), np.int64(5), np.int32),
]


@pytest.mark.parametrize("case", range(len(PROMOTION)))
def test_type_promotion_follows_pytorch(case):
    a, b, expected = PROMOTION[case]
    a, b = a(), b() if callable(b) else b
    assert tg.result_type(a, b) == expected
    assert (a + b).dtype == expected and (b + a).dtype == expected
    assert (a * b).dtype == expected
    if np.dtype(expected).kind == "f":  # true division promotes the same way when the result is a float
        with np.errstate(divide="ignore"):
            assert (a / b).dtype == expected and (b / a).dtype == expected


@pytest.mark.parametrize("dtype", [np.bool_, np.uint8, np.int32, np.int64, np.float32, np.float64])
def test_two_tensors_of_one_dtype_add_and_multiply_in_that_dtype(dtype):
    """Nothing to promote, whatever the dtype: PyTorch's result, which is NumPy's here. (Complex numbers
    are refused: test_creation_values.)"""
    a, b = np.random.default_rng(0).integers(-3, 4, size=(2, 2, 3)).astype(dtype)
    for combine in (operator.add, operator.mul):
        out = combine(a, b)
        for ours in (combine(tg.tensor(a), tg.tensor(b)), combine(tg.tensor(a[0, 0]), tg.tensor(b[0, 0]))):
            assert ours.dtype == dtype
            np.testing.assert_array_equal(ours.numpy(), out if ours.ndim else out[0, 0])


@pytest.mark.parametrize("other, name", [([1.0, 2.0], "list"), ("2", "str"), (None, "NoneType")])
def test_combining_a_tensor_with_a_non_number_is_an_error_that_names_the_fix(other, name):
    with pytest.raises(TypeError, match=rf"^cannot combine a tensor with a {name}; make it a tensor first "
                                        r"\(tg\.tensor\(\.\.\.\)\)$"):
        tg.ones(2) + other


def test_the_values_are_computed_in_the_promoted_type():
    """float32 × a 0-d float64 constant: the constant is rounded to float32 first, as PyTorch does."""
    x = np.array([0.1, 0.7, 1.3], dtype=np.float32)
    scale = np.float64(1 / 3)
    out = tg.tensor(x) * tg.tensor(scale)
    np.testing.assert_array_equal(out.numpy(), x * np.float32(scale))
    np.testing.assert_array_equal((tg.arange(4) * 0.1).numpy(), np.arange(4, dtype=np.float32) * np.float32(0.1))


def test_integer_true_division_gives_float32():
    q = tg.tensor([1, 2, 3]) / tg.tensor([2, 4, 4])
    assert q.dtype == np.float32
    np.testing.assert_array_equal(q.numpy(), np.array([0.5, 0.5, 0.75], dtype=np.float32))
    assert (tg.tensor([1, 2]) / 2).dtype == np.float32 and (3 / tg.tensor([1, 2])).dtype == np.float32


def test_clamp_bounds_promote_as_the_other_operand_of_a_binary_op():
    """PyTorch: an int tensor clamped to float bounds is float32; a NumPy float64 bound, like a Python
    float, does not make a float32 tensor float64."""
    out = tg.tensor([1, 2, 3]).clamp(0.5, 2.5)
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out.numpy(), np.array([1.0, 2.0, 2.5], dtype=np.float32))
    assert tg.tensor([1, 2, 3]).clamp(0, 2).dtype == np.int64
    assert tg.ones(3).clamp(min=np.float64(0.5)).dtype == np.float32
    assert tg.ones(3).clamp(max=tg.ones(3, dtype=np.float64)).dtype == np.float64  # both dimensioned


def test_the_smallest_element_of_unsigned_and_bool_tensors():
    """MNIST's pixels are uint8: min() must not go through a negation, which wraps around in them."""
    pixels = np.array([[0, 5], [255, 7]], dtype=np.uint8)
    assert tg.tensor(pixels).min().item() == 0 and tg.tensor(pixels).min().dtype == np.uint8
    assert tg.tensor(pixels).max().item() == 255
    np.testing.assert_array_equal(tg.tensor(pixels).min(1).values.numpy(), [0, 7])
    assert tg.tensor([True, False]).min().item() is False and tg.tensor([True, False]).max().item() is True


def test_integers_and_bools_add_up_as_int64_as_in_pytorch():
    """NumPy keeps a uint8 sum unsigned, so a difference from it would wrap around to a huge number."""
    pixels = tg.tensor(np.array([[200, 100], [0, 3]], dtype=np.uint8))
    assert pixels.sum().dtype == np.int64 and pixels.sum(1).dtype == np.int64
    assert (pixels.sum() - 1000).item() == 303 - 1000
    assert (pixels > 50).sum().dtype == np.int64 and (pixels > 50).sum().item() == 2


@pytest.mark.parametrize("name", ["exp", "log", "sqrt", "sigmoid", "tanh", "softmax", "log_softmax", "norm"])
def test_float_functions_of_an_integer_tensor_give_float32_as_in_pytorch(name):
    """An integer tensor is computed with as the default float type, as integer division is."""
    ints = np.array([1, 2, 4])
    out = getattr(tg.tensor(ints), name)()
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out.numpy(), getattr(tg.tensor(ints.astype(np.float32)), name)().numpy())


def test_cat_and_stack_promote_their_inputs_as_pytorch():
    assert tg.cat([tg.ones(2), tg.tensor([1, 2])]).dtype == np.float32
    assert tg.stack([tg.ones(2), tg.tensor([1, 2])]).dtype == np.float32
    assert tg.cat([tg.ones(2), tg.ones(2, dtype=np.float64)]).dtype == np.float64
    assert tg.cat([tg.tensor([1, 2]), tg.tensor([True])]).dtype == np.int64
    x = tg.ones(2, requires_grad=True)
    tg.cat([x, tg.ones(2, dtype=np.float64)]).sum().backward()  # the gradient flows back through the cast
    assert x.grad.dtype == np.float32 and x.grad.numpy().tolist() == [1.0, 1.0]


def test_the_mean_of_an_integer_tensor_is_refused_as_in_pytorch():
    with pytest.raises(RuntimeError, match=r"mean\(\) needs a float tensor.*\.float\(\)\.mean\(\)"):
        tg.tensor([1, 2, 4]).mean()
    with pytest.raises(RuntimeError, match="mean"):
        (tg.ones(3) > 0).var()
    assert tg.tensor([1, 2, 4]).float().mean().item() == pytest.approx(7 / 3)


def test_gradients_flow_through_a_promotion_and_keep_each_input_dtype():
    """A float32 leaf times a float64 matrix: the product is float64, the leaf's gradient float32."""
    w = tg.tensor([1.0, 2.0], requires_grad=True)
    m = tg.tensor(np.array([[1.0, 2.0], [3.0, 4.0]]))
    y = w * m
    assert y.dtype == np.float64
    y.sum().backward()
    assert w.grad.dtype == np.float32
    np.testing.assert_array_equal(w.grad.numpy(), [4.0, 6.0])
    s = tg.tensor(3.0, dtype=np.float64, requires_grad=True)  # 0-d float64 leaf with a float32 matrix: float32
    z = tg.ones(2, 2) * s
    assert z.dtype == np.float32
    z.sum().backward()
    assert s.grad.dtype == np.float64 and s.grad.item() == 4.0


# -------------------------------------------------------------------------------------- grad modes
def test_a_recursive_no_grad_function_leaves_the_mode_as_it_found_it():
    decorator = tg.no_grad()

    @decorator
    def depth(n):
        assert not tg.is_grad_enabled()
        return depth(n - 1) if n else 0

    depth(3)
    assert tg.is_grad_enabled()
    depth(2)  # the same decorator instance, used again
    assert tg.is_grad_enabled()


def test_no_grad_without_parentheses_and_enable_grad_inside():
    @tg.no_grad
    def double(t):
        with tg.enable_grad():
            inner = (t * 2.0).requires_grad
        return t * 2.0, inner

    out, inner = double(leaf([1.0]))
    assert not out.requires_grad and inner and tg.is_grad_enabled()
    assert double.__name__ == "double"


def test_set_grad_enabled_as_a_call_and_as_a_context():
    with tg.set_grad_enabled(False):
        assert not tg.is_grad_enabled()
    assert tg.is_grad_enabled()
    tg.set_grad_enabled(False)
    try:
        assert not (leaf([1.0]) * 2.0).requires_grad
    finally:
        tg.set_grad_enabled(True)
    assert tg.is_grad_enabled()


def test_detect_anomaly_is_reentrant_and_restores_itself():
    x = leaf([0.0])

    @tg.detect_anomaly()
    def nested(n):
        return nested(n - 1) if n else None

    nested(2)
    with np.errstate(divide="ignore"):
        x.log().sum().backward()  # anomaly mode is off again: no error
    assert np.isinf(x.grad.numpy()[0])


def test_grad_mode_is_per_thread():
    seen = []

    @tg.no_grad
    def worker():
        seen.append(tg.is_grad_enabled())

    thread = threading.Thread(target=worker)
    thread.start()
    thread.join()
    assert seen == [False] and tg.is_grad_enabled()


# -------------------------------------------------------------------- numbers and arrays given to ops
class Scale(tg.Function):
    def forward(self, x, s):
        self.s = s
        return x * s

    def backward(self, grad):
        return grad * self.s, None


def test_apply_lifts_numbers_and_arrays_to_constants():
    x = leaf([1.0, -2.0, 3.0])
    y = Scale.apply(x, 0.1)
    assert y.dtype == np.float64  # 0.1 joins x's float64 exactly, not rounded to float32
    np.testing.assert_array_equal(y.numpy(), np.array([1.0, -2.0, 3.0]) * 0.1)
    assert tg.gradcheck(lambda t: Scale.apply(t, 0.1), [x])
    assert tg.gradcheck(lambda t: Scale.apply(t, np.array([1.0, 2.0, -0.5])), [x])
    assert Scale.apply(tg.ones(2), 3).dtype == np.float32


def test_apply_with_something_that_is_not_a_value_says_what_to_pass():
    with pytest.raises(TypeError, match=r"Scale.apply: got a str.*keyword arguments.*Scale.apply\(x, slope=0.1\)"):
        Scale.apply(leaf([1.0]), "0.1")
