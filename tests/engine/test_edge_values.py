"""Values at the edges, where a slip in a formula hides from random inputs: kinks, bounds, zeros,
huge scores, permutations that are not reversals, more than two tensors joined."""

from __future__ import annotations

import numpy as np
import pytest

import tinygrad_edu as tg


def leaf(values) -> tg.Tensor:
    return tg.Tensor(np.array(values, dtype=np.float64), requires_grad=True)


def test_abs_has_gradient_zero_at_zero_as_in_pytorch():
    x = leaf([-2.0, 0.0, 3.0])
    x.abs().sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [-1.0, 0.0, 1.0])


def test_relu_has_gradient_zero_at_zero_as_in_pytorch():
    x = leaf([[-2.0, 0.0, 3.0], [0.0, 1e-300, -1e-300]])
    x.relu().backward(tg.tensor(np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])))
    np.testing.assert_array_equal(x.grad.numpy(), [[0.0, 0.0, 3.0], [0.0, 5.0, 0.0]])


def test_clamp_passes_the_gradient_at_its_bounds():
    x = leaf([-1.0, -0.5, 0.0, 0.75, 1.0])
    x.clamp(-0.5, 0.75).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [0.0, 1.0, 1.0, 1.0, 0.0])


LIMITS = np.array([[0.0, 1.0, 0.0], [-2.0, 0.25, 3.0]])


@pytest.mark.parametrize("bounds", ["min", "max", "both"])
def test_clamp_to_bounds_of_a_bigger_shape_broadcasts_the_input(bounds):
    """A tensor bound may broadcast the input (x of shape (3,), a bound of shape (2, 3)): the result has the
    broadcast shape, as in PyTorch and np.clip, and x's gradient is summed over the rows where it was inside."""
    values = np.array([-1.0, 0.5, 2.0])
    low, high = {"min": (LIMITS, None), "max": (None, LIMITS), "both": (-0.5, LIMITS)}[bounds]
    x = leaf(values)
    out = x.clamp(min=None if low is None else tg.tensor(low), max=None if high is None else tg.tensor(high))
    np.testing.assert_array_equal(out.numpy(), np.clip(np.broadcast_to(values, (2, 3)), low, high))
    inside = (values >= (-np.inf if low is None else low)) & (values <= (np.inf if high is None else high))
    out.backward(tg.tensor(np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])))
    np.testing.assert_array_equal(x.grad.numpy(), (inside * [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]).sum(axis=0))


def test_pow_at_zero_gives_pytorchs_gradients_without_warnings():
    a, b = leaf([0.0, 0.0, 2.0]), leaf([0.0, 2.0, 3.0])
    with np.errstate(all="raise"):  # a warning from 0 ** -1 or log 0 would raise here
        (a**b).sum().backward()
    np.testing.assert_array_equal(a.grad.numpy(), [0.0, 0.0, 12.0])  # d/da a⁰ = 0 even at a = 0
    np.testing.assert_array_equal(b.grad.numpy(), [0.0, 0.0, 8.0 * np.log(2.0)])  # 0ᵇ is flat in b


def test_logsumexp_shifts_each_slice_by_its_own_maximum():
    x = leaf([[1000.0, 1000.0], [-1000.0, -1000.0], [0.0, np.log(3.0)]])
    out = x.logsumexp(dim=1)
    np.testing.assert_allclose(out.numpy(), [1000.0 + np.log(2), -1000.0 + np.log(2), np.log(4.0)], rtol=1e-12)
    out.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [[0.5, 0.5], [0.5, 0.5], [0.25, 0.75]], rtol=1e-12)
    row = leaf([[3.0, 4.0, 5.0]])  # shape (1, 3): only the summed dim goes
    assert row.logsumexp(dim=1).shape == (1,) and row.logsumexp(dim=1, keepdim=True).shape == (1, 1)


def test_the_gradient_of_a_permutation_that_is_not_a_reversal():
    x = leaf(np.arange(24.0).reshape(2, 3, 4))
    assert tg.gradcheck(lambda t: t.permute(1, 2, 0), [x])
    weights = np.arange(24.0).reshape(3, 4, 2)
    (x.permute(1, 2, 0) * tg.tensor(weights)).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), weights.transpose(2, 0, 1))


def test_cat_and_stack_of_one_and_of_three_tensors():
    a, b, c = leaf([[1.0, 2.0]]), leaf([[3.0, 4.0], [5.0, 6.0]]), leaf([[7.0, 8.0]])
    np.testing.assert_array_equal(tg.cat([a]).numpy(), [[1.0, 2.0]])
    np.testing.assert_array_equal(tg.stack([a]).numpy(), [[[1.0, 2.0]]])
    weights = tg.tensor(np.arange(8.0).reshape(4, 2))
    (tg.cat([a, b, c]) * weights).sum().backward()
    np.testing.assert_array_equal(a.grad.numpy(), [[0.0, 1.0]])
    np.testing.assert_array_equal(b.grad.numpy(), [[2.0, 3.0], [4.0, 5.0]])
    np.testing.assert_array_equal(c.grad.numpy(), [[6.0, 7.0]])


@pytest.mark.parametrize("join", [tg.cat, tg.stack])
def test_cat_and_stack_of_no_tensors_is_an_error_naming_the_function(join):
    with pytest.raises(ValueError, match=f"^{join.__name__}\\(\\) needs at least one tensor$"):
        join([])


def test_a_detached_tensor_shares_memory_so_an_in_place_change_of_the_original_is_refused():
    y = leaf([1.0, 2.0]) * 2.0
    y.detach()
    with pytest.raises(RuntimeError, match="^add_: this tensor shares its memory with another \\(a view or a "
                                           "detach\\(\\)\\), so its change cannot be recorded for backward; "
                                           "change a clone\\(\\) instead$"):
        y.add_(1.0)


def test_a_read_only_array_cannot_be_changed_in_place():
    array = np.ones(3)
    array.flags.writeable = False
    with pytest.raises(RuntimeError, match="^mul_: this tensor's array is read-only \\(made by expand\\(\\), or a "
                                           "read-only NumPy array\\); change a clone\\(\\) instead$"):
        tg.from_numpy(array).mul_(2.0)


def test_clamp_needs_a_bound_and_var_one_way_of_correcting():
    with pytest.raises(ValueError, match="^clamp\\(\\) needs at least one of min and max$"):
        tg.tensor([1.0]).clamp()
    x = tg.tensor(np.array([1.0, 2.0, 4.0]))
    with pytest.raises(ValueError, match="^var\\(\\): give either unbiased or correction, not both$"):
        x.var(unbiased=True, correction=1)
    assert x.var().item() == pytest.approx(np.var([1.0, 2.0, 4.0], ddof=1))
    assert x.std(unbiased=False).item() == pytest.approx(np.std([1.0, 2.0, 4.0]))
    with np.errstate(invalid="ignore"):
        assert np.isnan(tg.tensor([5.0]).var(correction=1).item())  # one value, n − 1 = 0: NaN as in PyTorch, not 0


@pytest.mark.parametrize("p", [2, "fro", 3, float("inf"), float("-inf"), 0])
def test_norms_along_a_dim_keep_it_when_asked_and_keep_the_float_dtype(p):
    x = tg.tensor(np.array([[3.0, -4.0, 0.5], [1.0, 0.0, -2.0]]))
    order = None if p == "fro" else p
    expected = np.linalg.norm(x.numpy(), ord=order, axis=1)
    np.testing.assert_allclose(x.norm(p, dim=1).numpy(), expected)
    kept = x.norm(p, dim=1, keepdim=True)
    assert kept.shape == (2, 1)
    np.testing.assert_allclose(kept.numpy(), expected[:, None])
    assert x.float().norm(p, dim=1).dtype == np.float32 and x.norm(p).dtype == np.float64  # as in PyTorch


@pytest.mark.parametrize("dtype, tiny", [(np.float64, 1e-200), (np.float32, 1e-30)])
def test_norm_has_gradient_zero_where_the_norm_is_zero_even_when_squares_underflow(dtype, tiny):
    """∂‖a‖/∂a = a/‖a‖, taken as 0 where ‖a‖ = 0, as in PyTorch: also for elements so tiny that their
    squares underflow to 0, so ‖a‖ is 0 although a is not (PyTorch gives norm 0 and gradient 0 there too).
    Neither 0/0 nor tiny/0 warns: the gradient there is simply 0, as PyTorch gives it without a warning."""
    import warnings
    a = np.array([[[0.0, tiny], [0.0, -2 * tiny], [0.0, 0.0]],
                  [[1.0, 3.0], [2.0, 0.0], [-2.0, 4.0]]], dtype=dtype)  # 2×3×2, the norm taken along dim 1
    x = tg.Tensor(a, requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = x.norm(dim=1)
        out.backward(tg.Tensor(np.array([[2.0, -1.0], [0.5, 3.0]], dtype=dtype)))
    norm = np.linalg.norm(a, axis=1, keepdims=True)  # the tiny squares underflow here too
    np.testing.assert_allclose(out.numpy(), norm.squeeze(1), rtol=1e-6)
    expected = np.array([[[2.0, -1.0]], [[0.5, 3.0]]]) * np.divide(a, norm, out=np.zeros(a.shape), where=norm > 0)
    np.testing.assert_allclose(x.grad.numpy(), expected, rtol=1e-6)
    assert not x.grad.numpy()[0, :, 1].any()  # the tiny elements: 0, not the tiny values themselves


def test_expand_needs_enough_sizes():
    with pytest.raises(RuntimeError, match="^expand: the number of sizes \\(1\\) must be at least the tensor's "
                                           "dims \\(2\\)$"):
        tg.ones(2, 3).expand(3)


def test_logsumexp_of_a_slice_holding_plus_infinity_is_plus_infinity_without_warnings():
    """A slice with +∞ has no finite maximum to shift by, so its other elements are exponentiated as they
    are: e^710 overflows, but the sum is +∞ anyway, so no overflow warning (PyTorch gives none either)."""
    import warnings
    a = np.array([[710.0, 1.0], [np.inf, 0.5], [2.0, -1.0]])  # the dim reduced is 0: the columns
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = tg.tensor(a).logsumexp(0)
    np.testing.assert_allclose(out.numpy(), [np.inf, np.log(np.exp(a[:, 1]).sum())], rtol=1e-12)


def test_logsumexp_of_a_row_of_minus_infinity_is_minus_infinity_without_warnings():
    """ln Σ e^(−∞) = −∞, quietly (NumPy would warn of a log of 0); that row gets gradient 0, the others softmax.
    (PyTorch gives NaN gradients for such a row; here it is 0, as the op's comment says.)"""
    import warnings
    a = np.array([[-np.inf, -np.inf, -np.inf], [1.0, 2.0, 3.0]])
    x = leaf(a)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = x.logsumexp(1)
        out.sum().backward()
    row = a[1]
    np.testing.assert_allclose(out.numpy(), [-np.inf, np.log(np.exp(row).sum())], rtol=1e-12)
    np.testing.assert_allclose(x.grad.numpy(), [[0.0, 0.0, 0.0], np.exp(row) / np.exp(row).sum()], rtol=1e-12)
