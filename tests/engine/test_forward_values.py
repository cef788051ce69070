"""What every op, layer and loss computes, against its NumPy formula, on general shapes.

A gradient check cannot see a wrong forward whose backward is consistent with it (a Linear that
forgets its bias: the unused bias gets zero from backprop and from finite differences alike), so
the values themselves are compared here. Shapes are non-square and have three dimensions where
the op allows, and reductions run over axes other than the last.
"""

from __future__ import annotations

import numpy as np
import pytest

import nn
import tinygrad_edu as tg

RNG = np.random.default_rng(2024)
A = RNG.normal(size=(2, 3, 4))  # three dimensions, all different
B = RNG.normal(size=(3, 1))  # broadcasts against A's last two dimensions
POSITIVE = RNG.uniform(0.5, 2.0, size=(2, 3, 4))


def t(array) -> tg.Tensor:
    return tg.Tensor(np.array(array, dtype=np.float64), requires_grad=True)


def softmax(z, axis):
    e = np.exp(z - z.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


# name: (what tinygrad-edu computes, the formula in NumPy, the inputs)
CASES = {
    "add": (lambda a, b: a + b, lambda a, b: a + b, (A, B)),
    "sub": (lambda a, b: a - b, lambda a, b: a - b, (A, B)),
    "rsub": (lambda a, b: b - a, lambda a, b: b - a, (A, B)),
    "mul": (lambda a, b: a * b, lambda a, b: a * b, (A, B)),
    "div": (lambda a, b: a / b, lambda a, b: a / b, (A, POSITIVE)),
    "rdiv": (lambda a, b: b / a, lambda a, b: b / a, (POSITIVE, A)),
    "pow": (lambda a, b: a**b, lambda a, b: a**b, (POSITIVE, B)),
    "pow_scalar": (lambda a: a**3.0, lambda a: a**3, (A,)),
    "rpow_scalar": (lambda a: 2.0**a, lambda a: 2.0**a, (A,)),
    "scalar_arith": (lambda a: (2.0 - a) * 3.0 / 4.0 + 1.0, lambda a: (2.0 - a) * 3.0 / 4.0 + 1.0, (A,)),
    "neg": (lambda a: -a, lambda a: -a, (A,)),
    "exp": (lambda a: a.exp(), np.exp, (A,)),
    "log": (lambda a: a.log(), np.log, (POSITIVE,)),
    "sqrt": (lambda a: a.sqrt(), np.sqrt, (POSITIVE,)),
    "abs": (lambda a: a.abs(), np.abs, (A,)),
    "sigmoid": (lambda a: a.sigmoid(), lambda a: 1 / (1 + np.exp(-a)), (A * 4,)),
    "tanh": (lambda a: a.tanh(), lambda a: (np.exp(a) - np.exp(-a)) / (np.exp(a) + np.exp(-a)), (A,)),
    "relu": (lambda a: a.relu(), lambda a: np.maximum(a, 0), (A,)),
    "step": (lambda a: a.step(), lambda a: (a >= 0).astype(float), (np.append(A.ravel(), 0.0),)),
    "clamp": (lambda a: a.clamp(-0.5, 0.75), lambda a: np.minimum(np.maximum(a, -0.5), 0.75), (A,)),
    "clamp_min": (lambda a: a.clamp(min=0.25), lambda a: np.maximum(a, 0.25), (A,)),
    "clamp_max": (lambda a: a.clamp(max=0.25), lambda a: np.minimum(a, 0.25), (A,)),
    "matmul_batched": (lambda a, b: a @ b, lambda a, b: np.einsum("bij,jk->bik", a, b), (A, RNG.normal(size=(4, 5)))),
    "matmul_vector_matrix": (lambda a, b: a @ b, lambda a, b: np.einsum("j,jk->k", a, b),
                             (RNG.normal(size=3), RNG.normal(size=(3, 2)))),
    "matmul_matrix_vector": (lambda a, b: a @ b, lambda a, b: np.einsum("ij,j->i", a, b),
                             (RNG.normal(size=(2, 3)), RNG.normal(size=3))),
    "matmul_dot": (lambda a, b: a @ b, lambda a, b: np.sum(a * b), (RNG.normal(size=3), RNG.normal(size=3))),
    "linear": (tg.linear, lambda x, w, b: np.einsum("bij,kj->bik", x, w) + b, (A, RNG.normal(size=(5, 4)), RNG.normal(size=5))),
    "linear_no_bias": (tg.linear, lambda x, w: np.einsum("bij,kj->bik", x, w), (A, RNG.normal(size=(5, 4)))),
    "sum_all": (lambda a: a.sum(), np.sum, (A,)),
    "sum_dim0": (lambda a: a.sum(dim=0), lambda a: a.sum(axis=0), (A,)),
    "sum_dim1_keepdim": (lambda a: a.sum(dim=1, keepdim=True), lambda a: a.sum(axis=1, keepdims=True), (A,)),
    "sum_dims": (lambda a: a.sum(dim=(0, 2)), lambda a: a.sum(axis=(0, 2)), (A,)),
    "sum_negative_dim": (lambda a: a.sum(dim=-2), lambda a: a.sum(axis=1), (A,)),
    "mean_all": (lambda a: a.mean(), np.mean, (A,)),
    "mean_dim1": (lambda a: a.mean(dim=1), lambda a: a.sum(axis=1) / 3, (A,)),
    "mean_dims_keepdim": (lambda a: a.mean(dim=(0, 1), keepdim=True), lambda a: a.sum(axis=(0, 1), keepdims=True) / 6, (A,)),
    "max_all": (lambda a: a.max(), np.max, (A,)),
    "max_dim1_values": (lambda a: a.max(dim=1).values, lambda a: a.max(axis=1), (A,)),
    "max_dim0_keepdim": (lambda a: a.max(dim=0, keepdim=True).values, lambda a: a.max(axis=0, keepdims=True), (A,)),
    "reshape": (lambda a: a.reshape(4, 6), lambda a: a.reshape(4, 6), (A,)),
    "reshape_tuple": (lambda a: a.reshape((3, -1)), lambda a: a.reshape(3, 8), (A,)),
    "flatten": (lambda a: a.flatten(), np.ravel, (A,)),
    "flatten_from_1": (lambda a: a.flatten(1), lambda a: a.reshape(2, 12), (A,)),
    "flatten_middle": (lambda a: a.flatten(0, 1), lambda a: a.reshape(6, 4), (A,)),
    "permute": (lambda a: a.permute(2, 0, 1), lambda a: a.transpose(2, 0, 1), (A,)),
    "permute_tuple": (lambda a: a.permute((1, 2, 0)), lambda a: a.transpose(1, 2, 0), (A,)),
    "transpose": (lambda a: a.transpose(0, 2), lambda a: a.swapaxes(0, 2), (A,)),
    "T": (lambda a: a.T, lambda a: a.transpose(2, 1, 0), (A,)),
    "index_basic": (lambda a: a[1, :, 1:3], lambda a: a[1, :, 1:3], (A,)),
    "index_array": (lambda a: a[:, np.array([2, 0, 2])], lambda a: a[:, [2, 0, 2]], (A,)),
    "index_tensor": (lambda a: a[tg.tensor([1, 0])], lambda a: a[[1, 0]], (A,)),
    "where": (lambda a, b: tg.where(A > 0, a, b), lambda a, b: np.where(A > 0, a, b), (A, B)),
    "where_number": (lambda a: tg.where(A > 0, a, 0.5), lambda a: np.where(A > 0, a, 0.5), (A,)),
    "cat_dim1": (lambda a, b: tg.cat([a, b], dim=1), lambda a, b: np.concatenate([a, b], axis=1), (A, A[:, :2] * 2)),
    "cat_last": (lambda a, b: tg.cat([a, b], dim=-1), lambda a, b: np.concatenate([a, b], axis=2), (A, A[..., :1] * 2)),
    "stack_dim2": (lambda a, b: tg.stack([a, b], dim=2), lambda a, b: np.stack([a, b], axis=2), (A, A * 2)),
}
for dim in range(-3, 3):
    CASES[f"softmax_dim{dim}"] = (lambda a, d=dim: a.softmax(dim=d), lambda a, d=dim: softmax(a, d), (A,))
    CASES[f"log_softmax_dim{dim}"] = (lambda a, d=dim: a.log_softmax(dim=d), lambda a, d=dim: np.log(softmax(a, d)), (A,))


@pytest.mark.parametrize("name", sorted(CASES))
def test_forward_matches_numpy(name):
    ours, formula, inputs = CASES[name]
    expected = formula(*inputs)
    result = ours(*[t(x) for x in inputs])
    assert result.shape == np.shape(expected)
    np.testing.assert_allclose(result.numpy(), expected, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("name", sorted(CASES))
def test_forward_leaves_inputs_unchanged(name):
    ours, _, inputs = CASES[name]
    tensors = [t(x) for x in inputs]
    ours(*tensors)
    for tensor, x in zip(tensors, inputs):
        np.testing.assert_array_equal(tensor.numpy(), x)


@pytest.mark.parametrize("op", ["softmax", "log_softmax"])
@pytest.mark.parametrize("dim", [-3, -2, -1, 0, 1, 2])
def test_softmax_gradients_over_every_dim_of_a_3d_input(op, dim):
    x = t(RNG.normal(size=(2, 3, 4)))
    assert tg.gradcheck(lambda z: getattr(z, op)(dim=dim), [x])


def test_max_with_dim_returns_the_indices_too():
    values, indices = t(A).max(dim=-1)
    np.testing.assert_array_equal(indices.numpy(), A.argmax(axis=-1))
    assert indices.dtype == np.int64


def test_comparisons_and_argmax_match_numpy():
    a, b = t(A), t(A[::-1])
    for ours, theirs in [(a > b, A > A[::-1]), (a >= b, A >= A[::-1]), (a < 0, A < 0), (a <= 0.1, A <= 0.1),
                         (a == b, A == A[::-1]), (a != A[::-1], A != A[::-1])]:
        np.testing.assert_array_equal(ours.numpy(), theirs)
    np.testing.assert_array_equal(a.argmax(dim=1).numpy(), A.argmax(axis=1))
    assert a.argmax().item() == A.argmax()


# ------------------------------------------------------------------------------------ layers
def test_linear_layer_computes_x_w_transposed_plus_b():
    layer = nn.Linear(4, 5, dtype=np.float64, generator=np.random.default_rng(0))
    W, b = layer.weight.numpy(), layer.bias.numpy()
    assert W.shape == (5, 4) and b.shape == (5,) and np.abs(b).min() > 0
    np.testing.assert_allclose(layer(t(A)).numpy(), np.einsum("bij,kj->bik", A, W) + b, rtol=1e-12)
    no_bias = nn.Linear(4, 5, bias=False, dtype=np.float64)
    assert no_bias.bias is None
    np.testing.assert_allclose(no_bias(t(A)).numpy(), A @ no_bias.weight.numpy().T, rtol=1e-12)


@pytest.mark.parametrize("layer, formula", [
    (nn.Sigmoid(), lambda z: 1 / (1 + np.exp(-z))),
    (nn.ReLU(), lambda z: np.maximum(z, 0)),
    (nn.Tanh(), np.tanh),
    (nn.Step(), lambda z: (z >= 0).astype(float)),
    (nn.Flatten(), lambda z: z.reshape(2, 12)),
    (nn.Flatten(2), lambda z: z),
    (nn.Flatten(0), np.ravel),
])
def test_activation_and_shape_layers(layer, formula):
    np.testing.assert_allclose(layer(t(A)).numpy(), formula(A), rtol=1e-12)


def test_dropout_zeroes_and_scales_in_training_and_passes_through_in_eval():
    x = t(np.abs(A) + 1.0)
    layer = nn.Dropout(0.3, generator=np.random.default_rng(5))
    out = layer(x).numpy()
    keep = np.random.default_rng(5).random(A.shape) >= 0.3  # the mask the layer draws
    np.testing.assert_allclose(out, np.where(keep, x.numpy() / 0.7, 0.0), rtol=1e-12)
    layer.eval()
    np.testing.assert_array_equal(layer(x).numpy(), x.numpy())
    np.testing.assert_array_equal(nn.Dropout(0.0)(x).numpy(), x.numpy())


def test_sequential_applies_its_layers_in_order():
    first = nn.Linear(4, 3, dtype=np.float64, generator=np.random.default_rng(1))
    second = nn.Linear(3, 2, dtype=np.float64, generator=np.random.default_rng(2))
    model = nn.Sequential(first, nn.Tanh(), second, nn.Sigmoid())
    h = np.tanh(A @ first.weight.numpy().T + first.bias.numpy())
    expected = 1 / (1 + np.exp(-(h @ second.weight.numpy().T + second.bias.numpy())))
    np.testing.assert_allclose(model(t(A)).numpy(), expected, rtol=1e-12)


# ------------------------------------------------------------------------------------ losses
def test_mse_reductions_on_a_non_square_batch():
    a, y = RNG.uniform(size=(5, 3)), RNG.uniform(size=(5, 3))
    squared = ((y - a) ** 2).sum()
    assert nn.MSELoss()(t(a), t(y)).item() == pytest.approx(squared / (2 * 5), rel=1e-12)
    assert nn.MSELoss("mean")(t(a), t(y)).item() == pytest.approx(squared / 15, rel=1e-12)
    assert nn.MSELoss("sum")(t(a), t(y)).item() == pytest.approx(squared, rel=1e-12)
    vector_a, vector_y = a[0], y[0]  # 1-D, as in PyTorch: n = 3 examples of one output each
    assert nn.MSELoss()(t(vector_a), t(vector_y)).item() == pytest.approx(((vector_y - vector_a) ** 2).sum() / (2 * 3))


@pytest.mark.parametrize("reduction", ["lecture", "mean", "sum"])
def test_mse_gradients_against_both_inputs(reduction):
    a, y = t(RNG.uniform(size=(4, 3))), t(RNG.uniform(size=(4, 3)))
    assert tg.gradcheck(lambda p, q: nn.MSELoss(reduction)(p, q), [a, y])


def test_cross_entropy_on_a_non_square_batch():
    logits = RNG.normal(size=(6, 4)) * 3
    labels = np.array([3, 0, 1, 3, 2, 1])
    p = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    expected = -np.log(p[np.arange(6), labels]).mean()
    assert nn.CrossEntropyLoss()(t(logits), labels).item() == pytest.approx(expected, rel=1e-12)
    assert nn.CrossEntropyLoss()(t(logits), tg.tensor(labels)).item() == pytest.approx(expected, rel=1e-12)


def test_one_hot_on_a_non_square_set_of_labels():
    labels = np.array([[1, 4], [0, 1], [2, 2]])
    np.testing.assert_array_equal(nn.one_hot(labels, 5).numpy(), np.eye(5)[labels])
    np.testing.assert_array_equal(nn.one_hot(tg.tensor([0, 2]), 3).numpy(), [[1, 0, 0], [0, 0, 1]])
    assert nn.one_hot(labels, 5, dtype=np.float64).dtype == np.float64
