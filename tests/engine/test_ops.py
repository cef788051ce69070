"""Every op's backward is checked against finite differences, on shapes and values hypothesis draws."""

from __future__ import annotations

import re

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import tinygrad_edu as tg

SMALL_SHAPES = hnp.array_shapes(min_dims=0, max_dims=3, min_side=1, max_side=4)


def arrays(shape, low=-3.0, high=3.0):
    return hnp.arrays(np.float64, shape, elements=st.floats(low, high, allow_nan=False, allow_infinity=False))


def leaf(array) -> tg.Tensor:
    return tg.Tensor(np.array(array, dtype=np.float64), requires_grad=True)


def away_from(values, points, margin=1e-3) -> bool:
    """True if no value sits within ``margin`` of a point where the op has a kink (finite differences fail there)."""
    values = np.asarray(values)
    return all(np.all(np.abs(values - p) > margin) for p in points)


# ---------------------------------------------------------------------------- element-wise unary
UNARY = {
    # name: (function, domain low, domain high, kinks to stay away from)
    "neg": (lambda x: -x, -3, 3, []),
    "exp": (lambda x: x.exp(), -3, 3, []),
    "log": (lambda x: x.log(), 0.1, 3, []),
    "sqrt": (lambda x: x.sqrt(), 0.1, 3, []),
    "abs": (lambda x: x.abs(), -3, 3, [0]),
    "sigmoid": (lambda x: x.sigmoid(), -8, 8, []),
    "tanh": (lambda x: x.tanh(), -3, 3, []),
    "relu": (lambda x: x.relu(), -3, 3, [0]),
    "clamp": (lambda x: x.clamp(-1.0, 1.5), -3, 3, [-1.0, 1.5]),
    "clamp_min": (lambda x: x.clamp(min=0.5), -3, 3, [0.5]),
    "pow_scalar": (lambda x: x**3, -3, 3, []),
    "pow_fractional": (lambda x: x**1.5, 0.1, 3, []),
    "rpow": (lambda x: 2.0**x, -3, 3, []),
    "scalar_arith": (lambda x: (2.0 - x) * 3.0 / 4.0 + 1.0, -3, 3, []),
    "rdiv": (lambda x: 1.0 / x, 0.5, 3, []),
    "softmax": (lambda x: x.softmax(dim=-1), -3, 3, []),
    "log_softmax": (lambda x: x.log_softmax(dim=0) if x.ndim else x.log_softmax(dim=0), -3, 3, []),
}


@pytest.mark.parametrize("name", sorted(UNARY))
@given(data=st.data())
def test_unary_gradients(name, data):
    fn, low, high, kinks = UNARY[name]
    shape = data.draw(SMALL_SHAPES if "softmax" not in name else hnp.array_shapes(min_dims=1, max_dims=3, max_side=4))
    x = data.draw(arrays(shape, low, high))
    assume(away_from(x, kinks))
    assert tg.gradcheck(fn, [leaf(x)])


# ---------------------------------------------------------------------------- binary, broadcasting
BINARY = {
    "add": (lambda a, b: a + b, None),
    "sub": (lambda a, b: a - b, None),
    "mul": (lambda a, b: a * b, None),
    "div": (lambda a, b: a / b, "b_away_from_zero"),
    "pow": (lambda a, b: a**b, "a_positive"),
}


@pytest.mark.parametrize("name", sorted(BINARY))
@given(data=st.data())
def test_binary_gradients_with_broadcasting(name, data):
    fn, domain = BINARY[name]
    shapes = data.draw(hnp.mutually_broadcastable_shapes(num_shapes=2, max_dims=3, max_side=3))
    a_shape, b_shape = shapes.input_shapes
    a = data.draw(arrays(a_shape, 0.2 if domain == "a_positive" else -3, 3))
    b = data.draw(arrays(b_shape))
    if domain == "b_away_from_zero":
        b = np.where(np.abs(b) < 0.5, 0.5 + np.abs(b), b)
    assert tg.gradcheck(fn, [leaf(a), leaf(b)])


@pytest.mark.parametrize("a_shape, b_shape", [
    ((3,), (3, 4)), ((2, 3), (3,)), ((3,), (3,)), ((5, 2, 3), (3, 4)), ((3,), (5, 3, 4)), ((5, 2, 3), (3,)),
    ((5, 1, 2, 3), (4, 3, 2)), ((3,), (3, 1)), ((1, 3), (3,)), ((3,), (1, 3, 4)),  # only the vector's dim goes
])
def test_matmul_of_vectors_and_stacks_as_numpy_with_gradients(a_shape, b_shape):
    """Vectors become one-row/one-column matrices before MatMul and lose that dim after, as in NumPy."""
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=a_shape), rng.normal(size=b_shape)
    out = tg.tensor(a) @ tg.tensor(b)
    assert out.shape == (a @ b).shape
    np.testing.assert_allclose(out.numpy(), a @ b, rtol=1e-12)
    assert tg.gradcheck(lambda x, y: x @ y, [leaf(a), leaf(b)])
    assert tg.gradcheck(lambda y: a @ y, [leaf(b)])  # an array on the left
    assert tg.gradcheck(lambda x: x @ b, [leaf(a)])  # an array on the right


def test_matmul_refuses_scalars_and_matmul_op_refuses_vectors():
    with pytest.raises(ValueError, match=r"^matmul needs tensors with at least one dimension, got shapes \(\) and "
                                         r"\(3,\) \(use \* to multiply by a scalar\)$"):
        tg.tensor(2.0) @ tg.ones(3)
    from tinygrad_edu.ops import MatMul
    with pytest.raises(ValueError, match=r"^MatMul: cannot apply to shape\(s\) \(3,\) and \(3, 2\): MatMul takes "
                                         r"matrices; write a @ b, which turns vectors into matrices first$"):
        MatMul.apply(tg.ones(3), tg.ones(3, 2))


@pytest.mark.parametrize("a_dtype, b_dtype", [(np.float32, np.float64), (np.float64, np.float32),
                                                (np.int64, np.float32), (np.float32, np.int64)])
@pytest.mark.parametrize("a_shape, b_shape", [((2, 3), (3, 4)), ((3,), (3,)), ((5, 2, 3), (3, 4)), ((2, 3), (3,))])
def test_matmul_refuses_operands_of_different_dtypes(a_dtype, b_dtype, a_shape, b_shape):
    """As in PyTorch: a float32 weight matrix meeting float64 data is a mistake to fix, not to promote."""
    a, b = tg.ones(a_shape, dtype=a_dtype), tg.ones(b_shape, dtype=b_dtype)
    message = re.escape(f"matmul: the operands are {np.dtype(a_dtype)} and {np.dtype(b_dtype)}; matmul needs the "
                        "same dtype on both sides and does not promote (as in PyTorch), so convert one first, e.g. "
                        "with .float() or .double() (NumPy arrays are float64 unless made otherwise)")
    message = f"^{message}$"
    with pytest.raises(RuntimeError, match=message):
        a @ b
    with pytest.raises(RuntimeError, match=message):
        a.matmul(b)
    with pytest.raises(RuntimeError, match=message):
        a.numpy() @ b  # a NumPy array on the left keeps its dtype too


def test_matmul_of_integers_stays_integer():
    out = tg.tensor([[1, 2], [3, 4]]) @ tg.tensor([[5], [6]])
    assert out.dtype == np.int64
    np.testing.assert_array_equal(out.numpy(), [[17], [39]])


@pytest.mark.parametrize("x_dtype, w_dtype, b_dtype, wrong", [
    (np.float64, np.float32, np.float32, "the input is float64 but the weight is float32"),
    (np.float32, np.float64, np.float64, "the input is float32 but the weight is float64"),
    (np.int64, np.float32, np.float32, "the input is int64 but the weight is float32"),
    (np.float32, np.float32, np.float64, "the bias is float64 but the weight is float32"),
])
def test_linear_refuses_operands_of_different_dtypes(x_dtype, w_dtype, b_dtype, wrong):
    x, w, b = tg.ones(4, 3, dtype=x_dtype), tg.ones(2, 3, dtype=w_dtype), tg.ones(2, dtype=b_dtype)
    message = re.escape(f"linear: {wrong}; a layer computes in its weights' dtype and does not promote (as in "
                        "PyTorch). Convert the input, e.g. x.float() (NumPy data is float64 unless made otherwise; "
                        "tg.tensor(array, dtype=tg.float32) makes it float32), or the model, e.g. model.double()")
    with pytest.raises(RuntimeError, match=f"^{message}$"):
        tg.linear(x, w, b)
    if b_dtype == w_dtype:
        with pytest.raises(RuntimeError, match=f"^linear: {wrong};"):
            tg.linear(x, w)


@given(data=st.data())
def test_matmul_gradients(data):
    """Matrix @ matrix, batched with broadcasting, and vector cases."""
    n, k, m, batch = (data.draw(st.integers(1, 4)) for _ in range(4))
    cases = [((n, k), (k, m)), ((batch, n, k), (k, m)), ((k,), (k, m)), ((n, k), (k,)), ((k,), (k,))]
    a_shape, b_shape = data.draw(st.sampled_from(cases))
    a, b = data.draw(arrays(a_shape)), data.draw(arrays(b_shape))
    assert tg.gradcheck(lambda x, y: x @ y, [leaf(a), leaf(b)])


@given(data=st.data())
def test_linear_gradients(data):
    n, n_in, n_out = (data.draw(st.integers(1, 4)) for _ in range(3))
    x, w, b = data.draw(arrays((n, n_in))), data.draw(arrays((n_out, n_in))), data.draw(arrays((n_out,)))
    assert tg.gradcheck(tg.linear, [leaf(x), leaf(w), leaf(b)])
    assert tg.gradcheck(tg.linear, [leaf(x), leaf(w)])


def test_linear_matches_its_definition():
    rng = np.random.default_rng(0)
    x, w, b = rng.normal(size=(5, 3)), rng.normal(size=(2, 3)), rng.normal(size=2)
    np.testing.assert_allclose(tg.linear(tg.Tensor(x), tg.Tensor(w), tg.Tensor(b)).numpy(), x @ w.T + b)


# ---------------------------------------------------------------------------- reductions
def dims_for(shape, data):
    """None, one dim (maybe negative) or a tuple of dims valid for ``shape``."""
    if not shape:
        return None
    ndim = len(shape)
    return data.draw(st.one_of(
        st.none(),
        st.integers(-ndim, ndim - 1),
        st.lists(st.integers(0, ndim - 1), min_size=1, max_size=ndim, unique=True).map(tuple),
    ))


@pytest.mark.parametrize("reduction", ["sum", "mean"])
@given(data=st.data())
def test_sum_and_mean_gradients(reduction, data):
    shape = data.draw(SMALL_SHAPES)
    dim, keepdim = dims_for(shape, data), data.draw(st.booleans())
    x = data.draw(arrays(shape))
    expected = getattr(np, reduction)(x, axis=dim, keepdims=keepdim)
    np.testing.assert_allclose(getattr(leaf(x), reduction)(dim=dim, keepdim=keepdim).numpy(), expected)
    assert tg.gradcheck(lambda t: getattr(t, reduction)(dim=dim, keepdim=keepdim), [leaf(x)])


@given(data=st.data())
def test_max_gradients(data):
    shape = data.draw(hnp.array_shapes(min_dims=1, max_dims=3, max_side=4))
    size = int(np.prod(shape))
    # distinct values spaced apart, so the maximum is unique and stays put under a tiny nudge
    x = np.array(data.draw(st.permutations(range(size))), dtype=np.float64).reshape(shape) * 0.1
    dim, keepdim = data.draw(st.integers(-len(shape), len(shape) - 1)), data.draw(st.booleans())
    values, indices = leaf(x).max(dim=dim, keepdim=keepdim)
    np.testing.assert_array_equal(values.numpy(), x.max(axis=dim, keepdims=keepdim))
    np.testing.assert_array_equal(indices.numpy(), x.argmax(axis=dim) if not keepdim else np.expand_dims(x.argmax(axis=dim), dim))
    assert tg.gradcheck(lambda t: t.max(dim=dim, keepdim=keepdim).values, [leaf(x)])
    assert tg.gradcheck(lambda t: t.max(), [leaf(x)])


def test_max_splits_the_gradient_between_ties():
    x = leaf([1.0, 3.0, 3.0])
    x.max().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [0.0, 0.5, 0.5])


# ---------------------------------------------------------------------------- shapes and indexing
@given(data=st.data())
def test_reshape_transpose_flatten_gradients(data):
    shape = data.draw(hnp.array_shapes(min_dims=2, max_dims=3, max_side=4))
    x = data.draw(arrays(shape))
    assert tg.gradcheck(lambda t: t.reshape(-1, shape[-1]) * 2.0, [leaf(x)])
    assert tg.gradcheck(lambda t: t.transpose(0, -1), [leaf(x)])
    assert tg.gradcheck(lambda t: t.T, [leaf(x)])
    assert tg.gradcheck(lambda t: t.flatten(1), [leaf(x)])
    np.testing.assert_array_equal(leaf(x).T.numpy(), x.T)
    np.testing.assert_array_equal(leaf(x).flatten().numpy(), x.ravel())


@given(data=st.data())
def test_indexing_gradients_accumulate_repeated_indices(data):
    shape = data.draw(hnp.array_shapes(min_dims=1, max_dims=3, max_side=4))
    x = data.draw(arrays(shape))
    rows = data.draw(st.lists(st.integers(0, shape[0] - 1), min_size=1, max_size=6))
    index = data.draw(st.sampled_from([np.array(rows), slice(None, None, 2), (slice(1, None), ...)]))
    np.testing.assert_array_equal(leaf(x)[index].numpy(), x[index])
    assert tg.gradcheck(lambda t: t[index], [leaf(x)])


def test_repeated_index_gradient_counts_each_pick():
    x = leaf([10.0, 20.0, 30.0])
    x[np.array([0, 0, 2, 0])].sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [3.0, 0.0, 1.0])


@given(data=st.data())
def test_cat_and_stack_gradients(data):
    shape = data.draw(hnp.array_shapes(min_dims=1, max_dims=3, max_side=3))
    dim = data.draw(st.integers(-len(shape), len(shape) - 1))
    a, b = data.draw(arrays(shape)), data.draw(arrays(shape))
    np.testing.assert_array_equal(tg.cat([leaf(a), leaf(b)], dim=dim).numpy(), np.concatenate([a, b], axis=dim))
    np.testing.assert_array_equal(tg.stack([leaf(a), leaf(b)], dim=dim).numpy(), np.stack([a, b], axis=dim))
    assert tg.gradcheck(lambda s, t: tg.cat([s, t * 2.0], dim=dim), [leaf(a), leaf(b)])
    assert tg.gradcheck(lambda s, t: tg.stack([s, t * 2.0], dim=dim), [leaf(a), leaf(b)])


@given(data=st.data())
def test_where_gradients(data):
    shapes = data.draw(hnp.mutually_broadcastable_shapes(num_shapes=3, max_dims=3, max_side=3))
    c_shape, a_shape, b_shape = shapes.input_shapes
    condition = data.draw(hnp.arrays(bool, c_shape))
    a, b = data.draw(arrays(a_shape)), data.draw(arrays(b_shape))
    np.testing.assert_array_equal(tg.where(condition, leaf(a), leaf(b)).numpy(), np.where(condition, a, b))
    assert tg.gradcheck(lambda s, t: tg.where(condition, s, t), [leaf(a), leaf(b)])


# ---------------------------------------------------------------------------- ops without gradient
def test_step_is_heaviside_with_zero_gradient():
    z = leaf([-2.0, -1e-9, 0.0, 3.0])
    y = z.step()
    np.testing.assert_array_equal(y.numpy(), [0.0, 0.0, 1.0, 1.0])
    y.sum().backward()
    np.testing.assert_array_equal(z.grad.numpy(), np.zeros(4))


def test_comparisons_and_argmax_carry_no_gradient():
    a = leaf([[1.0, 5.0], [4.0, 2.0]])
    for result in (a > 2, a >= 2, a < 2, a <= 2, a == 4.0, a != 4.0, a.argmax(dim=1)):
        assert not result.requires_grad
    np.testing.assert_array_equal((a > 2).numpy(), [[False, True], [True, False]])
    np.testing.assert_array_equal(a.argmax(dim=1).numpy(), [1, 0])
    assert a.argmax().item() == 1
    assert a.argmax(dim=0, keepdim=True).shape == (1, 2)


# ---------------------------------------------------------------------------- numerical stability
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sigmoid_is_exact_in_both_tails_without_warnings(dtype):
    z = tg.Tensor(np.array([-1000.0, -50.0, 0.0, 50.0, 1000.0], dtype=dtype), requires_grad=True)
    with np.errstate(over="raise", invalid="raise", divide="raise"):  # would warn: raise instead
        y = z.sigmoid()
        y.sum().backward()
    assert y.dtype == dtype
    assert y.numpy()[0] == 0.0 and y.numpy()[-1] == 1.0 and y.numpy()[2] == 0.5
    assert np.all(np.isfinite(z.grad.numpy()))


@pytest.mark.parametrize("f, gradient, c_shape, x_value, c_value, k", [  # gradient: x's, from NumPy formulas
    (lambda x, c: x * c, lambda x, c, g: g * c, (3,), 1e200, 1e-200, 1e200),  # ∂/∂c would be g·x = 1e400
    (lambda x, c: c * x, lambda x, c, g: g * c, (3,), 1e200, 1e-200, 1e200),
    (lambda x, c: x / c, lambda x, c, g: g / c, (3,), 1.0, 1e200, 1.0),  # ∂/∂c would divide by c² = 1e400
    (lambda x, c: c / x, lambda x, c, g: -g * c / x**2, (3,), 1e-150, 1e-200, 1e200),  # ∂/∂c: g/x = 1e350
    (lambda x, c: x @ c, lambda x, c, g: g @ c.T, (3, 4), 1e200, 1e-200, 1e200),  # ∂/∂c: xᵀ·g = 1e400
    (lambda x, c: c @ x, lambda x, c, g: c.T @ g, (4, 2), 1e200, 1e-200, 1e200),
    (lambda x, c: tg.linear(x, c), lambda x, c, g: g @ c, (4, 3), 1e200, 1e-200, 1e200),  # x as input, c weight
    (lambda x, c: tg.linear(c, x, tg.Tensor(np.full(2, 1e-200))), lambda x, c, g: g.T @ c, (4, 3), 1.0, 1e-200,
     1e308),  # x as weight: the bias's Σ g = 4e308 and the input's g·x = 2e308 would overflow
])
def test_backward_computes_no_gradient_for_a_constant_so_none_overflows(f, gradient, c_shape, x_value, c_value, k):
    """Only the inputs that require grad get a gradient: a constant's, never used, would overflow here."""
    x_data, c_data = np.full((2, 3), x_value), np.full(c_shape, c_value)
    x = tg.Tensor(x_data, requires_grad=True)
    with np.errstate(over="raise", invalid="raise", divide="raise"):  # would warn: raise instead
        (f(x, tg.Tensor(c_data)) * k).sum().backward()
    g = np.full(f(x_data, c_data).shape, k)  # ∂loss/∂f for the loss Σ k·f(x, c)
    np.testing.assert_allclose(x.grad.numpy(), np.broadcast_to(gradient(x_data, c_data, g), (2, 3)), rtol=1e-12)


@pytest.mark.parametrize("op", ["softmax", "log_softmax"])
def test_softmax_is_stable_for_huge_scores(op):
    z = tg.Tensor(np.array([[1000.0, 0.0, -1000.0]], dtype=np.float32), requires_grad=True)
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        y = getattr(z, op)(dim=1)
        y.sum().backward()
    expected = [0.0, -1000.0, -2000.0] if op == "log_softmax" else [1.0, 0.0, 0.0]
    np.testing.assert_allclose(y.numpy()[0], expected)


# ---------------------------------------------------------------------------- gradcheck can fail
class WrongSquare(tg.Function):
    """x² with a deliberately wrong derivative (x instead of 2x)."""

    def forward(self, x):
        self.x = x
        return x * x

    def backward(self, grad):
        return grad * self.x


def test_gradcheck_catches_a_wrong_backward_and_names_the_element():
    x = leaf([[1.0, 2.0], [3.0, 4.0]])
    with pytest.raises(tg.GradcheckError) as err:
        tg.gradcheck(WrongSquare.apply, [x])
    message = str(err.value)
    assert "input 0" in message and "index (0, 0)" in message
    assert "backward gives" in message and "finite differences give" in message


def test_gradcheck_refuses_float32():
    with pytest.raises(TypeError, match="float64"):
        tg.gradcheck(lambda t: t * 2, [tg.Tensor([1.0], requires_grad=True)])


def test_numerical_grad_is_the_central_difference():
    """∂(x³)/∂x = 3x², and the inputs are left as they were."""
    x = leaf([0.5, -2.0])
    (grad,) = tg.numerical_grad(lambda t: (t * t * t).sum(), [x])
    np.testing.assert_allclose(grad, 3 * np.array([0.5, -2.0]) ** 2, rtol=1e-8)
    np.testing.assert_array_equal(x.numpy(), [0.5, -2.0])


def test_ops_applied_directly_use_pytorch_s_defaults():
    """A student's code may call an op without its settings: reduce all dims (or the one given) without
    keeping them, join along the first dim."""
    from tinygrad_edu import ops
    a = np.arange(1.0, 7.0).reshape(2, 3)
    t, u = tg.tensor(a), tg.tensor(a + 10)
    np.testing.assert_allclose(ops.Mean.apply(t).numpy(), a.mean(), rtol=1e-12)
    np.testing.assert_allclose(ops.Sum.apply(t).numpy(), a.sum(), rtol=1e-12)
    np.testing.assert_allclose(ops.Sum.apply(t, dim=1).numpy(), a.sum(axis=1), rtol=1e-12)
    assert ops.Sum.apply(t).shape == () and ops.Sum.apply(t, dim=1).shape == (2,)
    np.testing.assert_allclose(ops.Norm.apply(t).numpy(), np.sqrt((a * a).sum()), rtol=1e-12)
    lse = ops.LogSumExp.apply(t, dim=1)
    np.testing.assert_allclose(lse.numpy(), np.log(np.exp(a).sum(axis=1)), rtol=1e-12)
    assert ops.Mean.apply(t).shape == ops.Norm.apply(t).shape == () and lse.shape == (2,)
    np.testing.assert_array_equal(ops.Cat.apply(t, u).numpy(), np.concatenate([a, a + 10]))
    np.testing.assert_array_equal(ops.Stack.apply(t, u).numpy(), np.stack([a, a + 10]))


# ------------------------------------------------------------------------------------ gather
def test_gather_takes_an_index_longer_than_the_input_along_dim_as_take_along_axis_does():
    """Along dim the index may pick more elements than there are (repeats); outside dim it must fit."""
    a = np.random.default_rng(4).normal(size=(2, 3, 4))
    index = np.random.default_rng(5).integers(0, 3, size=(2, 5, 4))  # 5 picks along dim 1, which has 3
    out = tg.tensor(a).gather(1, tg.tensor(index))
    np.testing.assert_array_equal(out.numpy(), np.take_along_axis(a, index, axis=1))
    assert tg.gradcheck(lambda t: t.gather(1, tg.tensor(index)), [tg.Tensor(a, requires_grad=True)])


def test_gather_names_an_index_larger_than_the_input_outside_dim_and_a_value_one_past_the_end():
    with pytest.raises(ValueError, match=r"^Gather: cannot apply to shape\(s\) \(2, 3, 4\) and \(3, 1, 4\): gather: "
                                         r"index shape \(3, 1, 4\) is larger than the input's \(2, 3, 4\) outside "
                                         r"dim 1$"):
        tg.ones(2, 3, 4).gather(1, tg.zeros(3, 1, 4, dtype=np.int64))
    with pytest.raises(IndexError, match=r"^gather: index values must lie in \[0, 3\) along dim -1, got values "
                                         r"from 0 to 3$"):
        tg.ones(2, 3).gather(-1, tg.tensor([[3], [0]]))


@pytest.mark.parametrize("pick", [lambda x: x.gather(1, tg.tensor([[0, 0, 0]])), lambda x: x[:, [0, 0, 0]]],
                         ids=["gather", "index"])
def test_an_element_picked_several_times_adds_its_gradients_in_the_tensors_dtype(pick):
    """x[0, 0] picked three times gets three gradients, added in float32 for a float32 x, as PyTorch does:
    there 1e8 + 1 rounds back to 1e8, so 1e8 + 1 − 1e8 is 0 (in float64 it would be 1)."""
    x = tg.Tensor(np.zeros((1, 2), dtype=np.float32), requires_grad=True)
    g = np.array([[1e8, 1.0, -1e8]], dtype=np.float32)
    pick(x).backward(tg.Tensor(g))
    assert x.grad.dtype == np.float32
    np.testing.assert_array_equal(x.grad.numpy(), [[(g[0, 0] + g[0, 1]) + g[0, 2], 0.0]])
    assert x.grad.numpy()[0, 0] == 0.0


@pytest.mark.parametrize("op", ["softmax", "log_softmax"])
@pytest.mark.parametrize("dim", [1, 0])
def test_softmax_shifts_each_slice_by_its_own_maximum(op, dim):
    """One slice near 1000 and one near 0: shifting both by the overall maximum would make e^(−1000) = 0 in the
    second, and 0/0. Each slice is shifted by its own maximum, so both come out as the formula says."""
    rows = np.array([[1000.0, 999.0, 998.0], [0.0, -1.0, -3.0]])
    z = rows if dim == 1 else rows.T
    out = getattr(tg.tensor(z), op)(dim=dim).numpy()
    shifted = rows - rows.max(axis=1, keepdims=True)
    expected = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))  # log softmax of each row
    expected = np.exp(expected) if op == "softmax" else expected
    np.testing.assert_allclose(out, expected if dim == 1 else expected.T, rtol=1e-12)


# -------------------------------------------------------------------------------------- dims
def test_a_dim_must_be_an_int_never_a_float_or_a_bool():
    """dim=1.0 would otherwise pass the range check and quietly mean dim 1."""
    with pytest.raises(TypeError, match=r"^dim must be an int, got float$"):
        tg.ones(2, 3).softmax(dim=1.0)
    with pytest.raises(TypeError, match=r"^dim must be an int, got bool$"):
        tg.ones(2, 3).sum(dim=True)


@pytest.mark.parametrize("shape, dim, message", [
    ((), 1, r"\[-1, 0\], but got 1\) for a tensor with 0 dimensions"),
    ((3,), 1, r"\[-1, 0\], but got 1\) for a tensor with 1 dimension"),
    ((2, 3, 4), -4, r"\[-3, 2\], but got -4\) for a tensor with 3 dimensions"),
])
def test_a_dim_out_of_range_names_the_range_and_how_many_dims_the_tensor_has(shape, dim, message):
    with pytest.raises(IndexError, match=rf"^Dimension out of range \(expected to be in range of {message}$"):
        tg.ones(*shape).log_softmax(dim=dim)


@pytest.mark.parametrize("dim", [0, -1])
def test_softmax_of_a_0d_tensor_is_1_and_its_log_0_as_in_pytorch(dim):
    z = tg.tensor(5.0)
    assert z.softmax(dim=dim).item() == 1.0 and z.log_softmax(dim=dim).item() == 0.0
