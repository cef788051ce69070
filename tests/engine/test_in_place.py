"""In-place changes (`+=`, `add_`, `t[i] = v`, ...) with PyTorch's rules: the tensor's own array
changes, a leaf that requires grad is protected, and backward never uses a value changed since."""

from __future__ import annotations

import numpy as np
import pytest

import tinygrad_edu as tg


def leaf(values) -> tg.Tensor:
    return tg.Tensor(np.array(values, dtype=np.float64), requires_grad=True)


def const(values) -> tg.Tensor:
    return tg.Tensor(np.array(values, dtype=np.float64))


IN_PLACE = {
    # name: (in-place call, NumPy formula for the new value)
    "+=": (lambda t, o: t.__iadd__(o), lambda a, o: a + o),
    "-=": (lambda t, o: t.__isub__(o), lambda a, o: a - o),
    "*=": (lambda t, o: t.__imul__(o), lambda a, o: a * o),
    "/=": (lambda t, o: t.__itruediv__(o), lambda a, o: a / o),
    "add_": (lambda t, o: t.add_(o), lambda a, o: a + o),
    "sub_": (lambda t, o: t.sub_(o), lambda a, o: a - o),
    "mul_": (lambda t, o: t.mul_(o), lambda a, o: a * o),
    "div_": (lambda t, o: t.div_(o), lambda a, o: a / o),
    "copy_": (lambda t, o: t.copy_(o), lambda a, o: np.broadcast_to(o, a.shape)),
    "fill_": (lambda t, o: t.fill_(2.5), lambda a, o: np.full(a.shape, 2.5)),
    "zero_": (lambda t, o: t.zero_(), lambda a, o: np.zeros(a.shape)),
    "clamp_": (lambda t, o: t.clamp_(-0.5, 0.5), lambda a, o: np.clip(a, -0.5, 0.5)),
}


@pytest.mark.parametrize("name", sorted(IN_PLACE))
def test_in_place_ops_change_the_tensors_own_array(name):
    call, formula = IN_PLACE[name]
    a = np.random.default_rng(0).normal(size=(2, 3))
    other = np.array([0.5, -2.0, 4.0])  # broadcast along the first dim
    t = const(a)
    array, view = t.data, t.detach()
    result = call(t, const(other))
    assert result is t and t.data is array  # the same tensor, the same memory
    np.testing.assert_allclose(t.numpy(), formula(a, other), rtol=1e-15)
    np.testing.assert_allclose(view.numpy(), formula(a, other), rtol=1e-15)  # a detach() shares it
    assert t._version == 1 and view._version == 1


@pytest.mark.parametrize("src", [2.5, [0.5, -2.0, 4.7], np.array([0.5, -2.0, 4.7]), np.array([[1.9], [-2.9]])])
def test_copy_takes_a_number_a_list_or_an_array_broadcast_and_cast_to_the_tensors_dtype(src):
    """As torch's copy_ of a number; an int tensor truncates the floats as .to() does."""
    for dtype in (tg.float32, tg.int64):
        t = tg.zeros(2, 3, dtype=dtype)
        assert t.copy_(src) is t and t.dtype == dtype
        np.testing.assert_array_equal(t.numpy(), np.broadcast_to(np.asarray(src).astype(dtype), (2, 3)))


def test_the_hand_written_update_of_every_tutorial_changes_the_parameter():
    p = leaf([1.0, -2.0])
    (p * p).sum().backward()
    before = p
    with tg.no_grad():
        p -= 0.1 * p.grad
    assert p is before
    np.testing.assert_allclose(p.numpy(), np.array([1.0, -2.0]) * (1 - 0.2))
    assert p.requires_grad and p.is_leaf


@pytest.mark.parametrize("change", [
    lambda p: p.__iadd__(1.0), lambda p: p.mul_(2.0), lambda p: p.zero_(), lambda p: p.__setitem__(0, 1.0),
    lambda p: p.copy_(const([1.0, 2.0])), lambda p: p.clamp_(min=0.0),
])
def test_a_leaf_that_requires_grad_cannot_change_in_place_while_recording(change):
    p = leaf([1.0, 2.0])
    with pytest.raises(RuntimeError, match=r"leaf that requires grad cannot be changed in place.*tg.no_grad\(\)"):
        change(p)
    np.testing.assert_array_equal(p.numpy(), [1.0, 2.0])
    with tg.no_grad():
        change(p)  # allowed there
    assert p._version == 1


def test_grad_zero_works():
    x = leaf([1.0, 2.0])
    (x * 3.0).sum().backward()
    x.grad.zero_()
    np.testing.assert_array_equal(x.grad.numpy(), [0.0, 0.0])
    (x * 4.0).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [4.0, 4.0])


def test_a_value_an_op_saved_changed_in_place_makes_its_backward_raise():
    """Mul keeps b to compute ∂L/∂a = g·b: after b.mul_(2), that gradient would silently be twice too big."""
    a, b = leaf([1.0, 2.0]), const([3.0, 4.0])
    y = (a * b).sum()
    b.mul_(2.0)
    with pytest.raises(RuntimeError, match=r"^Mul.backward needs a value that was changed by an in-place operation "
                                           r"after Mul ran \(its input 1, version 0, now 1\); change a clone\(\) "
                                           r"instead, or change it after backward$"):
        y.backward()


def test_an_output_an_op_saved_changed_in_place_makes_its_backward_raise():
    """Exp keeps its output eᵃ as its own derivative; changing that output corrupts the derivative."""
    a = leaf([0.5, 1.0])
    e = a.exp()
    with tg.no_grad():
        e.add_(1.0)
    with pytest.raises(RuntimeError, match=r"^Exp.backward needs a value that was changed by an in-place operation "
                                           r"after Exp ran \(its output, version 0, now 1\); change a clone\(\) "
                                           r"instead, or change it after backward$"):
        e.sum().backward()


def test_a_change_through_a_view_or_a_detach_is_seen_by_the_version_check():
    a = leaf([[1.0, 2.0], [3.0, 4.0]])
    b = const([[1.0, -1.0], [2.0, 0.5]])
    y = (a * b).sum()
    b.detach()[0, 0] = 10.0  # same storage as b
    with pytest.raises(RuntimeError, match="Mul.backward"):
        y.backward()
    b = const([[1.0, -1.0], [2.0, 0.5]])
    y = (a * b).sum()
    b.reshape(4)[1] = 7.0  # a reshape of b is a view of it
    with pytest.raises(RuntimeError, match="Mul.backward"):
        y.backward()


def test_an_unsaved_input_may_change_after_use():
    """Add keeps nothing: changing its input afterwards does not touch its gradient (as in PyTorch)."""
    a, b = leaf([1.0, 2.0]), const([3.0, 4.0])
    y = (a + b).sum()
    b.add_(1.0)
    y.backward()
    np.testing.assert_array_equal(a.grad.numpy(), [1.0, 1.0])


def test_in_place_on_a_non_leaf_is_recorded_and_gradients_stay_right():
    """h = x·w; h += b; h *= x; L = Σ h²:  ∂L/∂x = 2h·(2xw + b),  ∂L/∂w = 2h·x²,  ∂L/∂b = 2h·x."""
    xv, wv, bv = np.array([0.5, -1.5, 2.0]), np.array([1.5, 0.25, -0.75]), np.array([0.1, 0.2, -0.3])

    def f(x, w, b):
        h = x * w
        first = h
        h += b
        h *= x
        assert h is first  # changed in place, not rebound to a new tensor
        return (h * h).sum()

    x, w, b = leaf(xv), leaf(wv), leaf(bv)
    f(x, w, b).backward()
    h = (xv * wv + bv) * xv
    np.testing.assert_allclose(x.grad.numpy(), 2 * h * (2 * xv * wv + bv), rtol=1e-13)
    np.testing.assert_allclose(w.grad.numpy(), 2 * h * xv**2, rtol=1e-13)
    np.testing.assert_allclose(b.grad.numpy(), 2 * h * xv, rtol=1e-13)
    assert tg.gradcheck(f, [leaf(xv), leaf(wv), leaf(bv)])


@pytest.mark.parametrize("name", ["+=", "-=", "*=", "/=", "add_", "sub_", "mul_", "div_", "copy_", "setitem"])
def test_a_tensor_changed_in_place_by_itself_gets_the_gradient_of_its_old_value_twice(name):
    """h += h is h ← 2h: the operand is h's old value, as the tensor being changed is, so ∂/∂(old h) has
    both shares (PyTorch: 2). Not the new h, which would make the op its own input and lose one share."""
    call, formula = IN_PLACE[name] if name != "setitem" else (lambda t, o: t.__setitem__(..., o), lambda a, o: o)
    xv, uv = np.array([0.5, -1.5, 2.0]), np.array([1.0, -2.0, 0.5])

    def f(x):
        h = x * 3.0
        call(h, h)
        return (h * const(uv)).sum()

    x = leaf(xv)
    h = x * 3.0
    call(h, h)
    np.testing.assert_allclose(h.numpy(), formula(3 * xv, 3 * xv), rtol=1e-15)
    assert tg.gradcheck(f, [x])


def test_a_constant_that_takes_a_value_needing_grad_joins_the_graph():
    w = leaf([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    total = tg.zeros(3, dtype=np.float64)
    first = total
    for row in range(2):
        total += w[row] * (row + 1)
    assert total is first and total.requires_grad and not total.is_leaf
    (total * const([1.0, 10.0, 100.0])).sum().backward()
    np.testing.assert_array_equal(w.grad.numpy(), [[1.0, 10.0, 100.0], [2.0, 20.0, 200.0]])


def test_filling_a_tensor_in_the_graph_cuts_it_from_the_graph():
    """After y.fill_(2), y no longer depends on x: ∂/∂x of anything computed from y is 0."""
    x = leaf([1.0, 2.0])
    y = x * 3.0
    y.fill_(2.0)
    assert not y.requires_grad and y.is_leaf
    z = (x * y).sum()
    z.backward()
    np.testing.assert_array_equal(x.grad.numpy(), [2.0, 2.0])  # only through z = Σ x·y with y = 2


def test_item_assignment_is_recorded_with_the_gradient_of_each_side():
    """out = x with out[1:, 0] = v: x's overwritten places get no gradient, v gets theirs."""
    def f(x, v):
        out = x * 1.0
        out[1:, 0] = v
        return out

    x, v = leaf(np.arange(12.0).reshape(4, 3)), leaf([7.0, 8.0, 9.0])
    assert tg.gradcheck(f, [x, v])
    u = np.random.default_rng(1).normal(size=(4, 3))
    (f(x, v) * const(u)).sum().backward()
    expected_x = u.copy()
    expected_x[1:, 0] = 0
    np.testing.assert_array_equal(x.grad.numpy(), expected_x)
    np.testing.assert_array_equal(v.grad.numpy(), u[1:, 0])


def test_item_assignment_with_a_bool_mask_and_a_broadcast_value():
    t = const([[1.0, -2.0], [-3.0, 4.0]])
    t[t < 0] = 0.0
    np.testing.assert_array_equal(t.numpy(), [[1.0, 0.0], [0.0, 4.0]])
    t[:, 1] = const([5.0])
    np.testing.assert_array_equal(t.numpy(), [[1.0, 5.0], [0.0, 5.0]])

    def masked(x, s):
        out = x * 1.0
        out[const([[True, False, True], [False, True, False]]).bool()] = s
        return out

    assert tg.gradcheck(masked, [leaf(np.ones((2, 3)) * 0.5), leaf(2.0)])


def test_a_tensor_used_and_then_changed_in_place_under_the_graph_is_refused_in_backward():
    """PyTorch would route through the old value; this engine says so clearly instead of mixing values."""
    x = leaf([1.0, 2.0])
    y = x * 2.0
    z = y + 1.0
    y.mul_(3.0)
    with pytest.raises(RuntimeError, match=r"^Add used a tensor that was later changed in place \(by Mul\); backward "
                                           r"through both values is not supported: change a clone\(\) of it instead$"):
        z.sum().backward()


def test_a_view_of_a_tensor_cannot_be_changed_in_place_while_recording():
    x = leaf([[1.0, 2.0], [3.0, 4.0]])
    y = x * 2.0
    row = y[0]  # a view of y
    with pytest.raises(RuntimeError, match=r"shares its memory.*clone\(\)"):
        row.mul_(3.0)
    with pytest.raises(RuntimeError, match=r"shares its memory"):
        y.mul_(3.0)  # y now has a view too


def test_in_place_results_must_keep_the_shape_and_dtype():
    t = tg.zeros(3)
    with pytest.raises(RuntimeError, match=r"shape \(2, 3\).*shape \(3,\)"):
        t += tg.ones(2, 3)
    n = tg.arange(3)
    with pytest.raises(RuntimeError, match=r"float32.*int64"):
        n += 1.5
    n += 2
    np.testing.assert_array_equal(n.numpy(), [2, 3, 4])
    f32 = tg.zeros(2)
    f32 += const([0.1, 0.2])  # float64 into float32: the same kind, stored rounded (as in PyTorch)
    assert f32.dtype == np.float32 and np.allclose(f32.numpy(), [0.1, 0.2])


def test_an_expanded_tensor_is_read_only():
    e = tg.ones(1, 3).expand(2, 3)
    with pytest.raises(RuntimeError, match=r"read-only.*clone\(\)"):
        e.add_(1.0)
    c = e.clone()
    c.add_(1.0)
    np.testing.assert_array_equal(c.numpy(), np.full((2, 3), 2.0))


def test_changing_an_index_tensor_after_indexing_changes_nothing():
    x = leaf([10.0, 20.0, 30.0])
    idx = tg.tensor([0, 0, 2])
    y = x[idx]
    idx.zero_()
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [2.0, 0.0, 1.0])


def test_the_version_counts_every_in_place_change():
    t = const([1.0, 2.0, 3.0])
    t.add_(1.0)
    t.mul_(2.0)
    t[0] = 5.0
    assert t._version == 3  # as PyTorch's _version


def test_a_change_to_the_tensor_an_input_views_is_seen_by_the_version_check():
    """Mul keeps b's array, a view of c's memory: changing c changes what backward would read."""
    a, c = leaf([[1.0, 2.0], [3.0, 4.0]]), const([1.0, -1.0, 2.0, 0.5])
    y = (a * c.reshape(2, 2)).sum()
    c[0] = 10.0
    with pytest.raises(RuntimeError, match="Mul.backward"):
        y.backward()


class _KeepsATuple(tg.Function):
    """a·b, keeping its inputs as one tuple, as a student's own op may."""

    def forward(self, a, b):
        self.saved = (a, b)
        return a * b

    def backward(self, grad):
        a, b = self.saved
        return grad * b, grad * a


def test_arrays_kept_in_a_tuple_are_seen_by_the_version_check():
    a, b = leaf([1.0, 2.0]), const([3.0, 4.0])
    y = _KeepsATuple.apply(a, b).sum()
    b.add_(1.0)
    with pytest.raises(RuntimeError, match="_KeepsATuple.backward"):
        y.backward()


@pytest.mark.parametrize("name", sorted(IN_PLACE))
def test_each_in_place_op_names_itself_in_its_errors(name):
    call, _ = IN_PLACE[name]
    op = {"+=": "add_", "-=": "sub_", "*=": "mul_", "/=": "div_"}.get(name, name)
    with pytest.raises(RuntimeError, match=f"^{op}: a leaf that requires grad cannot be changed in place"):
        call(leaf(np.ones((2, 3))), const([0.5, -2.0, 4.0]))
    with pytest.raises(RuntimeError, match=f"^{op}: this tensor's array is read-only"):
        call(tg.ones(1, 3).expand(2, 3), const([0.5, -2.0, 4.0]))


@pytest.mark.parametrize("low, high", [(None, 0.5), (-0.5, None), (-0.5, 0.5)])
def test_clamp_in_place_with_one_bound_leaves_the_other_side_open(low, high):
    a = np.random.default_rng(0).normal(size=(3, 4))
    t = const(a)
    assert t.clamp_(low, high) is t
    np.testing.assert_array_equal(t.numpy(), np.clip(a, low, high))


def test_clamp_in_place_without_bounds_names_clamp_in_place():
    with pytest.raises(ValueError, match=r"^clamp_\(\) needs at least one of min and max"):
        tg.ones(2).clamp_()
    with pytest.raises(ValueError, match=r"^clamp\(\) needs at least one of min and max"):
        tg.ones(2).clamp()


def test_a_tensor_made_from_a_tensor_shares_its_memory_and_its_version_check():
    """tg.Tensor(t) views t's array, as detach() does: a change through the new tensor shows in t, and
    backward refuses an op that kept t's old value (w's gradient would be t + 10 instead of t)."""
    w = leaf([1.0, 2.0, 3.0])
    t = const([3.0, 4.0, 5.0])
    y = w * t  # Mul keeps t for w's gradient
    view = tg.Tensor(t)
    view.add_(10.0)
    np.testing.assert_array_equal(t.numpy(), [13.0, 14.0, 15.0])
    with pytest.raises(RuntimeError, match=r"^Mul.backward needs a value that was changed by an in-place operation"):
        y.sum().backward()
    converted = tg.Tensor(t, dtype=np.float32)  # a converted copy: its own memory, changed freely
    converted.add_(1.0)
    np.testing.assert_array_equal(t.numpy(), [13.0, 14.0, 15.0])
    for changed in (t, view):  # a change that backward must record is refused on either, as after detach()
        with pytest.raises(RuntimeError, match=r"^add_: this tensor shares its memory with another"):
            changed.add_(w)


def test_a_change_to_a_tensor_made_from_a_numpy_view_is_seen_by_the_version_check():
    """from_numpy of a slice: the memory belongs to the sliced array, and the check must know it, or
    backward would use the changed value (w's gradient would be 2t instead of t)."""
    w = leaf([1.0, 2.0, 3.0])
    t = tg.from_numpy(np.arange(8.0)[2:5])
    y = w * t  # Mul keeps t for w's gradient
    t.mul_(2.0)
    with pytest.raises(RuntimeError, match=r"^Mul.backward needs a value that was changed by an in-place operation"):
        y.sum().backward()
