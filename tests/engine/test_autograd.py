"""Autograd semantics: how gradients flow, accumulate, stop, and how the graph is freed."""

from __future__ import annotations

import copy
import gc
import traceback
import tracemalloc
import weakref

import numpy as np
import pytest

import tinygrad_edu as tg


def leaf(values) -> tg.Tensor:
    return tg.Tensor(np.array(values, dtype=np.float64), requires_grad=True)


def test_a_value_used_twice_gets_both_gradients():
    """y = x·x + x: ∂y/∂x = 2x + 1 collects all three uses of x (a diamond in the graph)."""
    x = leaf([3.0, -1.0])
    h = x * x
    y = (h + x + h * 0.0).sum()
    y.backward()
    np.testing.assert_array_equal(x.grad.numpy(), 2 * x.numpy() + 1)


def test_a_tensor_used_early_and_late_waits_for_every_share_of_its_gradient():
    """Backward visits ops newest first: `a` feeds the first op of a long chain and also the last op,
    so its gradient is complete only after the whole chain has been walked back."""

    def f(x):
        a = x.exp()
        unrelated_but_older = x * 3.0  # recorded before the chain, used only at the very end
        b = a * 2.0
        for _ in range(5):
            b = b.tanh()
        return (b * a + unrelated_but_older).sum()

    x = leaf([0.3, -0.2, 0.1])
    assert tg.gradcheck(f, [x])
    f(x).backward()
    a = np.exp(x.numpy())
    b = 2 * a
    inner = [b]
    for _ in range(5):
        inner.append(np.tanh(inner[-1]))
    db_da = 2 * np.prod([1 - np.tanh(v) ** 2 for v in inner[:-1]], axis=0)  # d tanh⁵(2a)/da, chain rule
    expected = (db_da * a + inner[-1]) * a + 3.0
    np.testing.assert_allclose(x.grad.numpy(), expected, rtol=1e-12)


def test_topological_order_lists_every_tensor_once_after_its_inputs():
    """Backward walks this order in reverse: a tensor listed before one of its inputs would hand its
    gradient on before it is complete. Here x is used at the start, in the middle and at the end."""
    from tinygrad_edu.graph import topological_order

    x = leaf([0.5, -1.0])
    a = x * x
    b = a.exp() + x
    c = (b * a).tanh() + x * 3.0
    root = (c + a).sum()
    order = topological_order(root)
    position = {id(t): i for i, t in enumerate(order)}
    assert len(position) == len(order) and order[-1] is root
    for t in order:
        if t.grad_fn is not None:
            assert all(position[id(p)] < position[id(t)] for p in t.grad_fn.parents)
    assert tg.gradcheck(lambda x: (((x * x).exp() + x) * (x * x)).tanh().sum() + (x * x).sum() + (x * 3.0).sum(), [x])


def test_gradients_accumulate_across_backward_calls_until_cleared():
    x = leaf([1.0, 2.0])
    (x * 3.0).sum().backward()
    (x * 4.0).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [7.0, 7.0])
    x.zero_grad()
    assert x.grad is None


def test_only_leaves_keep_grad_unless_retained():
    x = leaf([1.0, 2.0])
    hidden = x * 2.0
    kept = x * 3.0
    kept.retain_grad()
    (hidden * kept).sum().backward()
    assert hidden.grad is None
    np.testing.assert_array_equal(kept.grad.numpy(), hidden.numpy())
    assert x.is_leaf and not hidden.is_leaf


def test_a_tensor_made_non_leaf_by_an_in_place_change_keeps_no_grad():
    """tg.zeros(2) += w records the change: h is then computed, and like any non-leaf keeps no .grad."""
    w = tg.tensor([1.0, 2.0], requires_grad=True)
    h = tg.zeros(2)
    h += w
    (h * h).sum().backward()
    assert not h.is_leaf and h.grad is None
    np.testing.assert_array_equal(w.grad.numpy(), [2.0, 4.0])


@pytest.mark.parametrize("gradient", [None, [1.0, 0.1], np.array([1.0, 0.1]), tg.tensor([1.0, 0.1], dtype=tg.float64)])
def test_the_gradient_backward_starts_from_has_the_roots_dtype(gradient):
    """1 for a scalar, or the gradient given (a list, a float64 array or tensor): as float32 for a float32
    root, which is what its own .grad then holds (a leaf, or a retained non-leaf)."""
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    root = (x * 3.0).sum() if gradient is None else x * 3.0
    root.retain_grad()
    root.backward(gradient)
    expected = np.float32(1.0) if gradient is None else np.array([1.0, 0.1], dtype=np.float32)
    assert root.grad.dtype == np.float32 and x.grad.dtype == np.float32
    np.testing.assert_array_equal(root.grad.numpy(), expected)
    np.testing.assert_array_equal(x.grad.numpy(), 3 * np.broadcast_to(expected, (2,)))
    scalar = tg.tensor(2.0, requires_grad=True)
    scalar.backward()
    assert scalar.grad.dtype == np.float32 and scalar.grad.item() == 1.0


@pytest.mark.parametrize("c_has_grad", [False, True])
def test_two_leaves_never_share_one_gradient_array(c_has_grad):
    """a + b hands the same gradient to both; changing one .grad in place must not change the other. Also
    when backward first adds into the .grad c already has: the array it added is dropped then, and the
    next one made (here the gradient a + b hands on) may take its place in memory, and its id."""
    a, b, c = leaf([1.0, 2.0]), leaf([3.0, 4.0]), leaf([5.0, 6.0])
    if c_has_grad:
        c.sum().backward()
    ((a + b) * 2 + c).backward(np.ones(2))
    a.grad.data += 100
    np.testing.assert_array_equal(b.grad.numpy(), [2.0, 2.0])
    np.testing.assert_array_equal(c.grad.numpy(), [2.0, 2.0] if c_has_grad else [1.0, 1.0])


def test_a_gradient_a_hand_written_backward_keeps_is_copied_into_grad():
    """.grad is always an array of its own, as in PyTorch (which clones a gradient something else still
    holds): here the op's backward keeps the gradient it returns, and changing x.grad in place must leave
    the kept one as it was."""
    class Triple(tg.Function):
        def forward(self, x):
            return 3 * x

        def backward(self, grad):
            self.dx = 3 * grad  # kept, to look at after backward
            return self.dx

    x = leaf([1.0, 2.0])
    y = Triple.apply(x)
    y.backward(np.array([1.0, -1.0]), retain_graph=True)
    x.grad.zero_()
    np.testing.assert_array_equal(y.grad_fn.dx, [3.0, -3.0])
    y.backward(np.array([1.0, -1.0]))
    np.testing.assert_array_equal(x.grad.numpy(), [3.0, -3.0])


def test_backward_needs_a_gradient_for_a_non_scalar():
    x = leaf([1.0, 2.0])
    with pytest.raises(RuntimeError, match=r"^backward\(\) without a gradient needs a scalar, but this tensor has shape "
                                           r"\(2,\); reduce it first \(e\.g\. \.sum\(\) or \.mean\(\)\) or pass "
                                           r"gradient= of the same shape$"):
        (x * 2.0).backward()
    y = x * 2.0
    y.backward(gradient=np.array([1.0, 10.0]))
    np.testing.assert_array_equal(x.grad.numpy(), [2.0, 20.0])
    with pytest.raises(ValueError, match=r"^backward\(\): gradient has shape \(3,\) but the tensor has shape \(2,\)$"):
        (x * 2.0).backward(gradient=np.ones(3))


@pytest.mark.parametrize("shape", [(), (1,), (1, 1), (1, 1, 1)])
def test_backward_without_a_gradient_takes_any_one_element_tensor_as_pytorch(shape):
    """PyTorch starts from 1 for any tensor with one element, whatever its shape; the gradients keep the shapes."""
    x = tg.Tensor(np.full(shape, 2.0), requires_grad=True)
    w = tg.Tensor(np.full(shape, 5.0), requires_grad=True)
    (x * w * 3.0).backward()
    assert x.grad.shape == shape and w.grad.shape == shape
    np.testing.assert_array_equal(x.grad.numpy(), np.full(shape, 15.0))
    np.testing.assert_array_equal(w.grad.numpy(), np.full(shape, 6.0))


def test_backward_on_a_tensor_without_grad_is_an_error():
    with pytest.raises(RuntimeError, match=r"^backward\(\) on a tensor that does not require grad \(no leaf it "
                                           r"depends on does\)$"):
        tg.tensor([1.0]).sum().backward()


def test_no_grad_records_nothing_as_context_manager_and_decorator():
    x = leaf([1.0])
    with tg.no_grad():
        y = x * 2.0
    assert not y.requires_grad and y.grad_fn is None

    @tg.no_grad()
    def double(t):
        return t * 2.0

    assert not double(x).requires_grad
    assert tg.is_grad_enabled() and (x * 2.0).requires_grad


def test_detach_cuts_the_graph_and_shares_data():
    x = leaf([1.0, 2.0])
    d = (x * 2.0).detach()
    assert not d.requires_grad and d.is_leaf
    y = (d * x).sum()
    y.backward()
    np.testing.assert_array_equal(x.grad.numpy(), d.numpy())  # d was a constant


def test_a_chain_of_100000_ops_backpropagates():
    """Topological order is iterative: no RecursionError however deep the graph."""
    x = tg.tensor(1.0, requires_grad=True)
    y = x
    for _ in range(100_000):
        y = y * 1.0 + 0.0
    y.backward()
    assert x.grad.item() == 1.0


def test_backward_frees_the_graph_and_a_second_backward_says_so():
    x = leaf([1.0, 2.0])
    hidden = x.exp()
    y = (hidden * 2.0).sum()
    array = weakref.ref(hidden.grad_fn.out)  # the array Exp saved for its backward
    del hidden
    y.backward()
    gc.collect()
    assert array() is None  # freed: nothing holds the graph's buffers any more
    with pytest.raises(RuntimeError, match=r"^going through <Sum> a second time: an earlier backward has freed its "
                                           r"saved values. Call backward\(retain_graph=True\) the first time to keep "
                                           r"them \(and draw a graph before its backward\).$"):
        y.backward()


def test_copies_of_an_op_result_never_compare_tensors_in_backward():
    """A deep copy has its own op with the same sequence number; a shallow copy shares the op."""
    x = tg.Tensor(np.float64(2.0), requires_grad=True)
    y = x * 3.0
    (y + copy.deepcopy(y)).backward()  # the copy's graph leads to a copy of x
    assert x.grad.item() == 3.0
    x.grad = None
    y = x * 3.0
    with pytest.raises(RuntimeError, match="second time.*retain_graph=True"):
        (y + copy.copy(y)).backward()
    x.grad = None
    y = x * 3.0
    (y + copy.copy(y)).backward(retain_graph=True)
    assert x.grad.item() == 6.0


def test_retain_graph_allows_a_second_backward():
    x = leaf([1.0, 2.0])
    y = (x.exp() * 2.0).sum()
    y.backward(retain_graph=True)
    y.backward()
    np.testing.assert_allclose(x.grad.numpy(), 4 * np.exp([1.0, 2.0]))


def test_intermediate_arrays_are_released_after_backward():
    x = leaf(np.ones(1000))
    hidden = x * 2.0
    y = (hidden.exp() * 3.0).sum()
    exp_node = y.grad_fn.parents[0].grad_fn.parents[0].grad_fn  # Exp, which saved its output
    assert hasattr(exp_node, "out")
    y.backward()
    assert not hasattr(exp_node, "out")


def test_memory_does_not_grow_across_training_steps():
    rng = np.random.default_rng(0)
    w = tg.Tensor(rng.normal(size=(50, 20)).astype(np.float32), requires_grad=True)
    X = tg.Tensor(rng.normal(size=(64, 50)).astype(np.float32))

    def step():
        loss = (X @ w).sigmoid().sum()
        loss.backward()
        w.data -= 0.01 * w.grad.data
        w.grad = None

    for _ in range(20):  # warm up caches and allocator
        step()
    gc.collect()
    tracemalloc.start()
    step()
    _, peak_after_one = tracemalloc.get_traced_memory()
    for _ in range(200):
        step()
    current, _ = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert current < 100_000, f"{current} bytes still held after 200 steps"
    assert peak_after_one < 1_000_000


@pytest.mark.parametrize("copy_first", [True, False])
def test_a_shallow_copy_beside_another_use_of_the_original_says_to_retain_the_graph(copy_first):
    """y and copy.copy(y) share one op: the first path through it frees it, and the second gets the freed-graph
    error (not an internal one, though the op that used y checks y's op after it was freed), in either order."""
    x = leaf([1.0, 2.0])
    y = x * 3.0
    doubled, copied = y * 2.0, copy.copy(y)
    loss = (copied + doubled if copy_first else doubled + copied).sum()
    with pytest.raises(RuntimeError, match=r"^going through <Mul> a second time"):
        loss.backward()


def test_detect_anomaly_names_the_op_that_made_a_nan():
    x = leaf([0.0, 1.0])
    with tg.detect_anomaly(), np.errstate(divide="ignore"):  # NumPy's own warning is not the point here
        y = x.log().sum()  # ∂/∂x log x = 1/x is infinite at 0
        with pytest.raises(FloatingPointError, match=r"^Log.backward produced a non-finite gradient \(NaN or inf\) "
                                                     r"for its input 0 of shape \(2,\)$"):
            y.backward()
    k = leaf([1.0, 2.0])
    with tg.detect_anomaly(), np.errstate(divide="ignore"):
        y = (leaf([0.0, 1.0]).log() * k).sum()  # ∂y/∂k = log x = −inf at 0: the second input's gradient
        with pytest.raises(FloatingPointError, match=r"Mul.*input 1 of shape \(2,\)"):
            y.backward()
    with np.errstate(divide="ignore"):
        z = leaf([0.0, 1.0])
        z.log().sum().backward()  # outside detect_anomaly: no check
    assert np.isinf(z.grad.numpy()[0])


def test_shape_errors_name_the_op_and_both_shapes():
    a, b = tg.ones(2, 3), tg.ones(4, 5)
    with pytest.raises(ValueError, match=r"MatMul.*\(2, 3\).*\(4, 5\)"):
        a @ b
    with pytest.raises(ValueError, match=r"Add.*\(2, 3\).*\(4, 5\)"):
        a + b


def test_a_new_op_written_outside_the_package():
    """The extension mechanism: subclass Function, write forward and backward, call apply."""

    class Cube(tg.Function):
        def forward(self, x):
            self.x = x
            return x**3

        def backward(self, grad):
            return grad * 3 * self.x**2

    x = leaf([[0.5, -1.5], [2.0, 1.0]])
    assert tg.gradcheck(Cube.apply, [x])
    assert type(Cube.apply(x).grad_fn).__name__ == "Cube"


def test_function_skips_gradients_nobody_needs():
    """needs_input_grad tells backward which inputs want a gradient (here only w)."""
    X, w = tg.ones(3, 4), tg.Tensor(np.ones((4, 2), dtype=np.float32), requires_grad=True)
    y = X @ w
    assert y.grad_fn.needs_input_grad == (False, True)
    y.sum().backward()
    assert X.grad is None and w.grad is not None


def test_graph_rendering_shows_ops_shapes_and_names():
    x = tg.ones(2, 3)
    w = tg.Tensor(np.ones((4, 3), dtype=np.float32), requires_grad=True)
    loss = tg.linear(x, w).sigmoid().sum()
    text = tg.render_graph(loss, {"w": w})
    assert "Linear" in text and "Sigmoid" in text and "Sum" in text
    assert "w" in text and "(4, 3)" in text and "(2, 4)" in text
    dot = tg.to_dot(loss)
    assert dot.startswith("digraph") and dot.count("->") == 4  # x, w -> Linear -> Sigmoid -> Sum


# ------------------------------------------------------------- what a student's backward may return
def op_returning(result_of_backward, inputs=1):
    """An op x·2 (or x·y) whose backward returns ``result_of_backward(grad)``."""

    class Doubler(tg.Function):
        def forward(self, *arrays):
            return arrays[0] * 2

        def backward(self, grad):
            return result_of_backward(grad)

    return Doubler


def test_a_backward_of_the_wrong_shape_names_the_op_the_input_and_the_shape():
    x = leaf(np.ones((2, 3)))
    Doubler = op_returning(lambda grad: grad.reshape(-1)[:4])
    with pytest.raises(ValueError, match=r"Doubler.backward returned a gradient of shape \(4,\) for input 0, "
                                         r"which has shape \(2, 3\)"):
        Doubler.apply(x).sum().backward()


def test_a_wrong_shape_with_as_many_dims_is_refused_too():
    """(2, 2) is no shape that broadcasting makes of (2, 3), although it has as many dims."""
    x = leaf(np.ones((2, 3)))
    Doubler = op_returning(lambda grad: grad[:, :2])
    with pytest.raises(ValueError, match=r"Doubler.backward returned a gradient of shape \(2, 2\) for input 0, "
                                         r"which has shape \(2, 3\)"):
        Doubler.apply(x).sum().backward()


def test_a_wrong_gradient_after_a_none_is_still_named():
    """None for the first input does not stop the checks: the second input's list is refused, by its number."""
    x, y = leaf([1.0, 2.0]), leaf([3.0, 4.0])
    with pytest.raises(TypeError, match=r"Doubler.backward returned a list as the gradient of input 1"):
        op_returning(lambda grad: (None, [1.0, 1.0])).apply(x, y).sum().backward()


def test_none_for_an_input_that_requires_grad_gives_it_nothing_through_that_op():
    """As in PyTorch, None counts as a zero gradient: y gets only what its other use hands back."""
    x, y = leaf([1.0, 2.0]), leaf([3.0, 4.0])
    out = op_returning(lambda grad: (grad * 2, None)).apply(x, y)
    (out.sum() + (y * 3.0).sum()).backward()
    np.testing.assert_array_equal(x.grad.numpy(), [2.0, 2.0])
    np.testing.assert_array_equal(y.grad.numpy(), [3.0, 3.0])


def test_a_leaf_grad_can_be_changed_in_place_even_when_backward_handed_it_a_broadcast_view():
    """sum's backward hands every element the same number as a read-only broadcast view; the leaf gets its own
    writable array, so PyTorch habits such as x.grad.zero_() or x.grad.mul_(0.5) work."""
    x = leaf(np.ones((2, 3)))
    x.sum().backward()
    x.grad.mul_(0.5)
    np.testing.assert_array_equal(x.grad.numpy(), np.full((2, 3), 0.5))
    x.grad.zero_()
    np.testing.assert_array_equal(x.grad.numpy(), np.zeros((2, 3)))


def test_a_backward_returning_a_list_or_a_float_says_to_return_an_array():
    x = leaf([1.0, 2.0])
    with pytest.raises(TypeError, match=r"Doubler.backward returned a list as the gradient of input 0.*shape \(2,\)"):
        op_returning(lambda grad: [2.0, 2.0]).apply(x).sum().backward()
    with pytest.raises(TypeError, match=r"Doubler.backward returned a float as the gradient of input 0"):
        op_returning(lambda grad: 2.0).apply(x).sum().backward()


def test_a_backward_returning_too_many_or_too_few_gradients_says_how_many():
    x, y = leaf([1.0, 2.0]), leaf([3.0, 4.0])
    with pytest.raises(TypeError, match=r"^Doubler.backward returned 3 gradient\(s\) for 2 input\(s\); return one "
                                        r"per input, as a tuple, with None for an input that needs no gradient$"):
        op_returning(lambda grad: (grad, grad, grad)).apply(x, y).sum().backward()
    with pytest.raises(TypeError, match=r"returned 1 gradient\(s\) for 2 input\(s\)"):
        op_returning(lambda grad: grad * 2).apply(x, y).sum().backward()


def test_a_broadcast_gradient_and_a_numpy_scalar_are_accepted():
    """The gradient may keep the broadcast shape (the engine sums it back); NumPy scalars are arrays enough."""
    x = leaf([[1.0], [2.0]])
    op_returning(lambda grad: np.broadcast_to(grad, (3, 2, 1)) * 2).apply(x).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [[6.0], [6.0]])
    s = leaf(3.0)
    op_returning(lambda grad: np.float64(grad) * 2).apply(s).backward()
    assert s.grad.item() == 2.0
    assert isinstance(s.grad.numpy(), np.ndarray) and s.grad.shape == ()  # a 0-d array, as any gradient
    s.grad.zero_()
    assert s.grad.item() == 0.0


@pytest.mark.parametrize("total", [lambda t: t.sum(), lambda t: t.mean(), lambda t: t.max(), lambda t: t.norm()],
                         ids=["sum", "mean", "max", "norm"])
def test_a_full_reduction_is_a_0d_array_that_in_place_ops_can_change(total):
    """NumPy reduces over every axis to a scalar, not an array; the tensor holds a 0-d array (as numpy()
    of a 0-d tensor gives in PyTorch), so s += 1 changes it like any other tensor."""
    a = np.array([[1.0, -2.0, 3.0], [0.5, 4.0, -1.0]])
    s = total(tg.tensor(a))
    assert type(s.numpy()) is np.ndarray and s.shape == ()
    before = s.item()
    s += 1
    assert s.item() == before + 1


@pytest.mark.parametrize("shape_a, shape_b", [((2, 1, 1), (3, 1)), ((1, 3, 1), (2, 1, 4)), ((4,), (2, 3, 1)),
                                              ((2, 1, 4), (2, 3, 1))])
def test_gradients_are_summed_back_over_every_broadcast_dim_leading_middle_or_last(shape_a, shape_b):
    """Each input gets a gradient of its own shape, summed over the dims broadcasting stretched (and finite
    differences agree)."""
    rng = np.random.default_rng(3)
    a, b = leaf(rng.normal(size=shape_a)), leaf(rng.normal(size=shape_b))
    assert tg.gradcheck(lambda s, t: s * t, [a, b])
    (a * b).sum().backward()
    assert a.grad.shape == shape_a and b.grad.shape == shape_b


def test_a_value_error_raised_in_a_students_forward_keeps_the_students_line_in_the_traceback():
    class Fussy(tg.Function):
        def forward(self, x):
            raise ValueError("Fussy wants a square matrix")  # the line the student must see

        def backward(self, grad):
            return grad

    with pytest.raises(ValueError, match=r"^Fussy: cannot apply to shape\(s\) \(2, 3\): Fussy wants a square") as info:
        Fussy.apply(tg.zeros(2, 3))
    assert isinstance(info.value.__cause__, ValueError)  # chained, not hidden (`from None` dropped it)
    shown = "".join(traceback.format_exception(info.value))
    assert "the line the student must see" in shown and "The above exception was the direct cause" in shown


# ------------------------------------------------- a backward may not change its gradient in place
class SinThatScalesGradInPlace(tg.Function):
    """sin, with a backward that multiplies the gradient it is handed in place: wrong wherever that array
    was handed to another op too (y = op(x) + x hands one array to both)."""

    def forward(self, x):
        self.x = x
        return np.sin(x)

    def backward(self, grad):
        grad *= np.cos(self.x)
        return grad


def test_a_backward_that_changes_its_gradient_in_place_is_refused_naming_the_op_and_the_rule():
    x = tg.tensor(np.array([0.5, 1.0, -2.0]), requires_grad=True)
    y = SinThatScalesGradInPlace.apply(x) + x  # Add hands the same gradient array to both of its inputs
    with pytest.raises(RuntimeError, match=r"^SinThatScalesGradInPlace\.backward wrote into an array it may only read "
                                           r"\(.*read-only\): the gradient it is handed may be handed to other ops "
                                           r"too, and the arrays forward kept are its inputs' and output's\. Compute "
                                           r"a new array instead: return grad \* x, not grad \*= x$"):
        y.sum().backward()


def test_the_kit_fails_such_an_op_too():
    from tinygrad_edu import testing
    with pytest.raises(RuntimeError, match="wrote into an array it may only read"):
        testing.check_op(SinThatScalesGradInPlace.apply, max_examples=5)


def test_gradients_reaching_leaves_stay_writable_arrays_of_their_own():
    x = tg.tensor(np.array([0.5, 1.0]), requires_grad=True)
    (x.sin() + x).sum().backward()
    assert x.grad.data.flags.writeable
    x.grad.data[0] = 7.0  # a leaf's .grad is its own: changing it changes nothing else
    np.testing.assert_allclose(x.grad.numpy(), [7.0, np.cos(1.0) + 1])


# ------------------------------------------------------------------ written the PyTorch way
def test_an_op_written_the_pytorch_way_is_refused_with_how_to_write_it():
    with pytest.raises(TypeError, match=r"Square\.forward is written the PyTorch way \(@staticmethod, forward\(ctx, "
                                        r"\.\.\.\)\)\. .*def forward\(self, x\).*ctx\.save_for_backward"):
        class Square(tg.Function):
            @staticmethod
            def forward(ctx, x):
                ctx.save_for_backward(x)
                return x * x

            @staticmethod
            def backward(ctx, grad):
                (x,) = ctx.saved_tensors
                return 2 * x * grad

    with pytest.raises(TypeError, match=r"Cube\.backward is written the PyTorch way"):
        class Cube(tg.Function):
            def forward(self, x):
                self.x = x
                return x ** 3

            def backward(ctx, grad):
                return 3 * grad


# --------------------------------------------------- the gradient of aᵇ in b where a = 0, as PyTorch
def test_the_exponents_gradient_at_a_zero_base():
    a = tg.tensor(np.zeros(4))
    b = tg.tensor(np.array([-2.0, -0.5, 0.0, 1.5]), requires_grad=True)
    with np.errstate(divide="ignore"):  # 0 to a negative power is ∞
        (a ** b).sum().backward()
    assert b.grad.tolist() == [-np.inf, -np.inf, 0.0, 0.0]  # 0ᵇ·ln 0: ∞·(−∞) for b < 0; 0ᵇ is flat for b ≥ 0


def test_the_exponents_gradient_at_a_zero_base_against_torch(agrees_with_torch):
    with np.errstate(divide="ignore"):  # 0 to a negative power is ∞
        agrees_with_torch(lambda lib, a, b: a ** b, np.array([0.0, 0.0, 0.0, 2.0, 0.0]),
                          np.array([-2.0, -0.5, 0.0, 1.5, 3.0]))
