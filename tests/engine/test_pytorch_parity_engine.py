"""The engine's PyTorch habits checked against PyTorch itself (skipped where it is not installed).

Each case runs the same code on both libraries: values, dtypes and gradients must agree, and where
PyTorch raises, this engine raises too.
"""

from __future__ import annotations

import numpy as np
import pytest

import tinygrad_edu as tg

torch = pytest.importorskip("torch")

RNG = np.random.default_rng(0)
A = RNG.normal(size=(3, 4))
B = RNG.normal(size=(4,))
MASK = A > 0
INDEX = RNG.integers(0, 4, size=(3, 2))


def run(lib, code):
    """Run ``code(lib, x, b)`` with float64 leaves; return output values and the gradients."""
    if lib is torch:
        x, b = torch.tensor(A, requires_grad=True), torch.tensor(B, requires_grad=True)
    else:
        x, b = tg.Tensor(A.copy(), requires_grad=True), tg.Tensor(B.copy(), requires_grad=True)
    out = code(lib, x, b)
    if isinstance(out, tuple):
        out = out[0]
    if out.requires_grad:
        weights = np.linspace(-1, 1, out.numel()).reshape(out.shape)
        (out * (torch.tensor(weights) if lib is torch else tg.tensor(weights))).sum().backward()
    grads = [None if t.grad is None else np.array(t.grad.detach().numpy() if lib is torch else t.grad.numpy())
             for t in (x, b)]
    return np.array(out.detach().numpy() if lib is torch else out.numpy()), grads


def in_place_chain(lib, x, b):
    h = x * b
    h += b
    h *= 2.0
    h[0, 1:] = b[:3]
    return h.clamp_(-1.0, 1.0)


def as_float64(lib):
    return torch.float64 if lib is torch else tg.float64


CASES = {
    "in_place_chain": in_place_chain,
    "setitem_mask": lambda lib, x, b: _masked(lib, x),
    "float_double": lambda lib, x, b: x.float().double() * 3.0,
    "view_unsqueeze_squeeze": lambda lib, x, b: x.view(2, 6).unsqueeze(0).squeeze(0).flatten(),
    "expand_clone": lambda lib, x, b: b.unsqueeze(0).expand(5, -1).clone() * x.sum(),
    "min_dim": lambda lib, x, b: x.min(dim=1, keepdim=True).values,
    "min_all": lambda lib, x, b: x.min(),
    "std": lambda lib, x, b: x.std(dim=0),
    "var_correction0": lambda lib, x, b: x.var(dim=1, correction=0),
    "var_unbiased": lambda lib, x, b: x.var(unbiased=False),
    "norm": lambda lib, x, b: x.norm(dim=1),
    "norm_p1": lambda lib, x, b: x.norm(p=1),
    "logsumexp": lambda lib, x, b: x.logsumexp(dim=0),
    "gather": lambda lib, x, b: x.gather(1, (torch if lib is torch else tg).tensor(INDEX)),
    "mask_index": lambda lib, x, b: x[(torch if lib is torch else tg).tensor(MASK)],
    "sum_empty_tuple": lambda lib, x, b: x.sum(dim=()),
    "promotion_float32_0d_float64": lambda lib, x, b: x.float() * lib.tensor(1 / 3, dtype=as_float64(lib)),
    "int_true_division": lambda lib, x, b: lib.tensor([1, 2, 3]) / lib.tensor([2, 4, 4]),
    "int_times_float": lambda lib, x, b: lib.tensor([1, 2, 3]) * 0.1,
    "bool_logic": lambda lib, x, b: ((x > 0) & (x < 1)) | ~(x > -0.5) ^ (x > 2),
    "all_any": lambda lib, x, b: (x > -2).all(dim=1) | (x > 1).any(dim=1),
    "argmin": lambda lib, x, b: x.argmin(dim=0),
}


def _masked(lib, x):
    h = x * 1.0
    h[h > 0.5] = 0.0
    return h


@pytest.mark.parametrize("name", sorted(CASES))
def test_same_values_dtypes_and_gradients_as_pytorch(name):
    ours, ours_grads = run(tg, CASES[name])
    theirs, their_grads = run(torch, CASES[name])
    assert ours.dtype == theirs.dtype
    np.testing.assert_allclose(ours, theirs, rtol=1e-6 if ours.dtype == np.float32 else 1e-12)
    for mine, reference in zip(ours_grads, their_grads):
        assert (mine is None) == (reference is None)
        if mine is not None:
            np.testing.assert_allclose(mine, reference, rtol=1e-12, atol=1e-15)


PROMOTIONS = [
    (np.int64, (3,), "float", ()), (np.int32, (3,), np.int64, ()), (np.float32, (3,), np.float64, ()),
    (np.float32, (3,), np.float64, (3,)), (np.float32, (), np.float64, ()), (np.int32, (3,), np.float64, ()),
    (np.bool_, (3,), "int", ()), (np.bool_, (3,), np.bool_, (3,)), (np.uint8, (3,), np.int8, (3,)),
    (np.int64, (3,), "bool", ()), (np.float32, (3,), "float", ()),
]


@pytest.mark.parametrize("left_dtype, left_shape, right, right_shape", PROMOTIONS)
def test_type_promotion_matches_pytorch(left_dtype, left_shape, right, right_shape):
    left = np.ones(left_shape, dtype=left_dtype)
    if isinstance(right, str):
        operands = [(tg.tensor(left), {"float": 1.5, "int": 2, "bool": True}[right]),
                    (torch.tensor(left), {"float": 1.5, "int": 2, "bool": True}[right])]
    else:
        other = np.ones(right_shape, dtype=right)
        operands = [(tg.tensor(left), tg.tensor(other)), (torch.tensor(left), torch.tensor(other))]
    (a, b), (ta, tb) = operands
    assert np.dtype((a * b).dtype) == torch.empty(0, dtype=(ta * tb).dtype).numpy().dtype
    assert np.dtype((a + b).dtype) == torch.empty(0, dtype=(ta + tb).dtype).numpy().dtype


@pytest.mark.parametrize("code", [
    lambda lib, t: bool(t),  # ambiguous
    lambda lib, t: t.sum(dim=2),
    lambda lib, t: t.transpose(0, 2),
    lambda lib, t: t.softmax(dim=-3),
    lambda lib, t: lib.ones(3, requires_grad=True).add_(1.0),
    lambda lib, t: lib.arange(3).add_(1.5),
    lambda lib, t: lib.zeros(3).add_(lib.ones(2, 3)),
])
def test_errors_where_pytorch_raises(code):
    with pytest.raises((RuntimeError, IndexError, TypeError)):
        code(torch, torch.ones(2, 3))
    with pytest.raises((RuntimeError, IndexError, TypeError)):
        code(tg, tg.ones(2, 3))


@pytest.mark.parametrize("code", [
    lambda lib, t: t @ t.T.double(), lambda lib, t: t.double() @ t.T, lambda lib, t: t.long() @ t.T,
    lambda lib, t: t[0] @ t[1].double(), lambda lib, t: t.unsqueeze(0).double() @ t.T,
    lambda lib, t: (torch.nn.functional.linear if lib is torch else tg.linear)(t.double(), t),
    lambda lib, t: (torch.nn.functional.linear if lib is torch else tg.linear)(t, t, t[0].double()),
])
def test_matmul_and_linear_refuse_mixed_dtypes_as_pytorch(code):
    with pytest.raises(RuntimeError):
        code(torch, torch.ones(2, 3))
    with pytest.raises(RuntimeError, match="does not promote"):
        code(tg, tg.ones(2, 3))


def test_conversions_and_truth_values_match_pytorch():
    for value in (0.0, 2.5, -3.75):
        ours, theirs = tg.tensor(value), torch.tensor(value)
        assert bool(ours) == bool(theirs) and float(ours) == float(theirs) and int(ours) == int(theirs)
        assert format(ours, ".3f") == format(theirs, ".3f") and f"{ours}" == f"{theirs.item()}"


def test_a_saved_value_changed_in_place_raises_in_both():
    for lib in (torch, tg):
        a = lib.tensor([1.0, 2.0], requires_grad=True)
        b = lib.tensor([3.0, 4.0])
        y = (a * b).sum()
        b.mul_(2.0)
        with pytest.raises(RuntimeError):
            y.backward()


def test_no_grad_decorator_without_parentheses_in_both():
    for lib in (torch, tg):
        @lib.no_grad
        def f(n):
            return f(n - 1) if n else lib.is_grad_enabled()

        assert f(3) is False and lib.is_grad_enabled()


def test_constructors_match_pytorch_shapes_and_dtypes():
    pairs = [
        (tg.full((2, 3), 1.5), torch.full((2, 3), 1.5)), (tg.full((2,), 7), torch.full((2,), 7)),
        (tg.eye(3, 2), torch.eye(3, 2)), (tg.linspace(-1, 1, 5), torch.linspace(-1, 1, 5)),
        (tg.zeros_like(tg.ones(2, dtype=tg.float64)), torch.zeros_like(torch.ones(2, dtype=torch.float64))),
        (tg.randint(0, 5, (4,)), torch.randint(0, 5, (4,))), (tg.randperm(6), torch.randperm(6)),
    ]
    for ours, theirs in pairs:
        assert ours.shape == tuple(theirs.shape) and ours.dtype == theirs.numpy().dtype
    for ours, theirs in pairs[:5]:
        np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-6)


@pytest.mark.parametrize("data", [
    [np.float64(1.0)], [np.float64(1.0), 2.0], [[1.0], [np.float64(2.0)]], [np.float32(1.0), np.float64(2.0)],
    [np.float32(1.0), 2.0], [np.int64(1), 2.0], [np.int32(1)], [np.int32(1), 2], [np.bool_(True)], [1.0, 2.5],
    np.float64(1.0), np.int32(3),
])
def test_tensor_infers_the_dtype_of_numpy_scalars_in_lists_as_pytorch(data):
    assert tg.tensor(data).dtype == torch.tensor(data).numpy().dtype
