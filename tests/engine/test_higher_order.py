"""Gradients of gradients: create_graph, tg.autograd.grad, backward(inputs=...), and the refusals."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tinygrad_edu as tg
from tinygrad_edu.testing import arrays, check_op, shapes


def leaf(values) -> tg.Tensor:
    return tg.Tensor(np.array(values, dtype=np.float64), requires_grad=True)


def derivatives(f, x: tg.Tensor, order: int) -> list:
    """[f', f'', ...] up to ``order``, element by element (f acts element-wise), each a grad of the one before."""
    out, found = f(x), []
    for _ in range(order):
        (out,) = tg.autograd.grad(out.sum(), x, create_graph=True)
        found.append(out.numpy().copy())
    return found


# The closed forms, in NumPy, of three composites and their first three derivatives.
def cube_exp(x):
    e = np.exp(x)
    return [(3 * x**2 + x**3) * e, (6 * x + 6 * x**2 + x**3) * e, (6 + 18 * x + 9 * x**2 + x**3) * e]


def tanh_chain(x):
    t = np.tanh(x)
    return [1 - t**2, -2 * t * (1 - t**2), (1 - t**2) * (6 * t**2 - 2)]


def sigmoid_chain(x):
    s = 1 / (1 + np.exp(-x))
    return [s * (1 - s), s * (1 - s) * (1 - 2 * s), s * (1 - s) * (1 - 6 * s + 6 * s**2)]


@pytest.mark.parametrize("f, closed_form", [
    (lambda x: x ** 3 * x.exp(), cube_exp),
    (lambda x: x.tanh(), tanh_chain),
    (lambda x: x.sigmoid(), sigmoid_chain),
], ids=["x^3 e^x", "tanh", "sigmoid"])
@given(data=st.data())
def test_second_and_third_derivatives_of_composites_match_their_closed_forms(f, closed_form, data):
    values = data.draw(arrays(data.draw(shapes(1, 2)), -2.0, 2.0))
    found = derivatives(f, leaf(values), 3)
    for order, (got, expected) in enumerate(zip(found, closed_form(values)), start=1):
        np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-12, err_msg=f"derivative {order}")


def test_a_mixed_second_derivative_of_two_inputs():
    """f = x²y³: ∂²f/∂x∂y = 6xy², reached through ∂f/∂x = 2xy³."""
    x, y = leaf([1.5, -0.5]), leaf([2.0, 0.7])
    (dx,) = tg.autograd.grad((x * x * y ** 3).sum(), x, create_graph=True)
    (dxdy,) = tg.autograd.grad(dx.sum(), y)
    np.testing.assert_allclose(dxdy.numpy(), 6 * x.numpy() * y.numpy() ** 2)


def test_the_first_derivative_is_the_same_with_and_without_create_graph():
    """One formula: backward run on tensors computes the very same numbers as on arrays (the lecture's two nets)."""
    rng = np.random.default_rng(0)
    x = tg.Tensor(rng.standard_normal((10, 784)).astype(np.float32))
    target = tg.Tensor(np.eye(10, dtype=np.float32)[rng.integers(0, 10, 10)])
    w1, b1 = tg.Tensor(rng.standard_normal((30, 784)).astype(np.float32) / 28, requires_grad=True), tg.zeros(30, requires_grad=True)
    w2, b2 = tg.Tensor(rng.standard_normal((10, 30)).astype(np.float32) / 5, requires_grad=True), tg.zeros(10, requires_grad=True)
    params = [w1, b1, w2, b2]
    sigmoid_mse = lambda: (((tg.linear(tg.linear(x, w1, b1).sigmoid(), w2, b2).sigmoid() - target) ** 2).sum(1) / 2).mean()
    relu_ce = lambda: -(tg.linear(tg.linear(x, w1, b1).relu(), w2, b2).log_softmax(1) * target).sum(1).mean()
    for loss in (sigmoid_mse, relu_ce):
        plain = [g.numpy().copy() for g in tg.autograd.grad(loss(), params)]
        recorded = tg.autograd.grad(loss(), params, create_graph=True)
        for p, g in zip(plain, recorded):
            assert g.requires_grad and np.array_equal(p, g.numpy())


def test_hessian_vector_product_of_a_quadratic_form_is_the_matrix_times_the_vector():
    """f = ½ xᵀAx with A symmetric: ∇f = Ax, and the Hessian-vector product is Av."""
    rng = np.random.default_rng(1)
    m = rng.standard_normal((4, 4))
    A, v = tg.Tensor(m + m.T), tg.Tensor(rng.standard_normal(4))
    x = leaf(rng.standard_normal(4))
    (g,) = tg.autograd.grad(0.5 * (x @ (A @ x)), x, create_graph=True)
    np.testing.assert_allclose(g.numpy(), A.numpy() @ x.numpy())
    (hv,) = tg.autograd.grad((g * v).sum(), x)
    np.testing.assert_allclose(hv.numpy(), A.numpy() @ v.numpy())


# ------------------------------------------------------------------------------- the ops, twice
def test_check_op_checks_second_derivatives_of_the_engine_ops():
    check_op(lambda x: (x * x.exp()).sigmoid() + x.tanh() ** 2, max_examples=8, large=False)  # x·eˣ overflows float32
    check_op(lambda a, b: a * b / (1 + b * b) - a ** 2, inputs=2, max_examples=8)
    check_op(lambda x: x.abs().sqrt(), kinks=[0], domain=(0.1, 3.0), max_examples=5)
    check_op(lambda x: (x ** 2).sum(-1, keepdim=True) * x.mean() + x.logsumexp(0), min_dims=1, max_examples=8)
    check_op(lambda x: x.softmax(-1) * x.log_softmax(0), min_dims=1, max_examples=8)
    check_op(lambda x: x.clamp(-1, 1) * x, kinks=[-1, 1], max_examples=8)
    check_op(lambda x: x.relu() * x, kinks=[0], max_examples=8)
    check_op(lambda x: tg.where(x.detach() > 0, x * x, x.exp()), kinks=[0], max_examples=8,
             large=False)  # the branch not taken, eˣ, overflows float32 at large x: 0 · ∞ = NaN, as in PyTorch
    check_op(lambda x: x.norm(dim=0) ** 3, min_dims=1, domain=(0.5, 2.0), max_examples=8)
    check_op(lambda x: (x.flatten()[[0, 0, -1]] ** 3).sum() + x.T.reshape(-1)[0] ** 2, min_dims=1, max_examples=8)
    check_op(lambda x: tg.cat([x, x * x], 0).exp() + tg.stack([x, x.exp()], 0).sum(0).sum(), min_dims=1,
             max_examples=8)


def test_the_ops_that_numpy_calls_in_a_backward_become():
    """np.log1p and np.logaddexp on tensors are ops of their own (BCE's and softplus's backwards call them)."""
    from tinygrad_edu import ops
    check_op(ops.Log1p.apply, domain=(-0.9, 3.0), second_order=True, max_examples=8)
    check_op(ops.LogAddExp.apply, inputs=2, second_order=True, max_examples=8)


def test_a_maximum_is_differentiable_twice_away_from_ties():
    x = leaf([[0.5, -1.0, 2.0], [1.5, 0.2, -0.3]])
    assert tg.gradgradcheck(lambda x: x.max() * x ** 2 + x.min() + x.max(dim=1).values.exp().sum(), [x])


def test_a_power_with_a_learned_exponent_is_differentiable_twice():
    # b = 0 is avoided: there ∂out/∂a is set to 0 (so that 0⁰ has a gradient), as PyTorch does, and
    # its derivative with respect to b is 0 there too, not a^(b−1)
    check_op(lambda a, b: a ** b, inputs=2, domain=[(0.5, 2.0), (-2.0, 2.0)], kinks=[0], max_examples=10)


# ------------------------------------------------------------------------------------ the API
def test_backward_with_create_graph_gives_grads_that_can_be_differentiated():
    x = leaf([1.0, 2.0])
    (x ** 3).sum().backward(create_graph=True)
    assert x.grad.requires_grad
    np.testing.assert_allclose(x.grad.numpy(), 3 * x.numpy() ** 2)
    g = x.grad
    x.grad = None
    g.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 6 * x.numpy())


def test_retain_graph_defaults_to_create_graph():
    x = leaf([1.0, 2.0])
    y = (x.exp() * x).sum()
    y.backward(create_graph=True)
    y.backward()  # the graph was kept: create_graph=True retains it by default
    z = (x.exp() * x).sum()
    z.backward()
    with pytest.raises(RuntimeError, match="a second time"):
        z.backward()  # a plain backward frees it, as before


def test_backward_inputs_fills_only_those():
    x, w, b = leaf([1.0, 2.0]), leaf([3.0, -1.0]), leaf([0.5, 0.5])
    h = x * w
    h.retain_grad()
    loss = ((h + b) ** 2).sum()
    loss.backward(inputs=[w], retain_graph=True)
    assert x.grad is None and b.grad is None and h.grad is None
    np.testing.assert_allclose(w.grad.numpy(), 2 * (x.numpy() * w.numpy() + b.numpy()) * x.numpy())
    loss.backward(inputs=h)  # a non-leaf named in inputs gets its .grad, and nothing else does
    np.testing.assert_allclose(h.grad.numpy(), 2 * (x.numpy() * w.numpy() + b.numpy()))
    assert x.grad is None and b.grad is None
    with pytest.raises(RuntimeError, match="inputs"):
        loss.backward(inputs=[])


def test_grad_returns_the_gradients_and_leaves_dot_grad_alone():
    x, y = leaf([1.0, 2.0]), leaf([3.0])
    out = (x * y).sum()
    gx, gy = tg.autograd.grad(out, [x, y])
    np.testing.assert_allclose(gx.numpy(), [3.0, 3.0])
    np.testing.assert_allclose(gy.numpy(), [3.0])
    assert x.grad is None and y.grad is None and not gx.requires_grad


def test_grad_of_several_outputs_adds_them_weighted_by_grad_outputs():
    x = leaf([1.0, -2.0])
    (g,) = tg.autograd.grad([x * 2, x ** 2], x, grad_outputs=[tg.Tensor(np.array([1.0, 10.0])), np.array([3.0, 3.0])])
    np.testing.assert_allclose(g.numpy(), [1.0 * 2 + 3 * 2 * 1.0, 10.0 * 2 + 3 * 2 * -2.0])
    with pytest.raises(RuntimeError, match="grad_outputs="):
        tg.autograd.grad(x * 2, x)  # a non-scalar output needs its gradient
    with pytest.raises(ValueError, match="one per output"):
        tg.autograd.grad([x * 2, x * 3], x, grad_outputs=[np.ones(2)])


def test_allow_unused():
    x, unused = leaf([1.0]), leaf([2.0])
    out = (x * 3).sum()
    with pytest.raises(RuntimeError, match=r"inputs\[1\].*allow_unused=True"):
        tg.autograd.grad(out, [x, unused], retain_graph=True)
    gx, gu = tg.autograd.grad(out, [x, unused], allow_unused=True)
    assert gu is None and np.allclose(gx.numpy(), 3.0)


def test_grad_refuses_tensors_that_do_not_require_grad():
    x = leaf([1.0])
    with pytest.raises(RuntimeError, match=r"inputs\[0\].*does not require grad"):
        tg.autograd.grad((x * 2).sum(), tg.tensor([1.0]))
    with pytest.raises(RuntimeError, match=r"outputs\[0\].*does not require grad"):
        tg.autograd.grad(tg.tensor(1.0), x)


def test_the_gradient_handed_in_is_differentiated_too():
    """The double-backward trick: a vector-Jacobian product vᵀJ is linear in v, and its gradient in v is J u."""
    x, v = leaf([0.3, -1.1, 2.0]), leaf([1.0, 2.0, 3.0])
    (vjp,) = tg.autograd.grad(x.tanh(), x, grad_outputs=v, create_graph=True)
    u = np.array([0.5, -1.0, 2.0])
    (jvp,) = tg.autograd.grad((vjp * tg.Tensor(u)).sum(), v)
    np.testing.assert_allclose(jvp.numpy(), (1 - np.tanh(x.numpy()) ** 2) * u)


def test_ops_whose_backward_picks_and_scatters_are_differentiable_in_the_gradient_handed_in():
    a = leaf(np.arange(6.0).reshape(2, 3))
    v = leaf(np.ones(3))
    (g,) = tg.autograd.grad(a[1] ** 2, a, grad_outputs=v, create_graph=True)  # scatters 2a[1]·v into row 1
    np.testing.assert_allclose(g.numpy(), [[0, 0, 0], [6, 8, 10]])
    (gv,) = tg.autograd.grad(g.sum(), v)
    np.testing.assert_allclose(gv.numpy(), 2 * a.numpy()[1])


# ------------------------------------------------------------------------------- refusals
def test_the_perceptron_step_refuses_a_second_derivative_naming_it():
    x = leaf([0.5, -0.5])
    with pytest.raises(tg.DifferentiableOnceError, match="^StepFn can be differentiated once only"):
        tg.autograd.grad((x.step() * x).sum(), x, create_graph=True)
    (g,) = tg.autograd.grad((x.step() * x).sum(), x)  # first order as before
    np.testing.assert_array_equal(g.numpy(), [1.0, 0.0])


class Cube(tg.Function):
    """A student's op written the current way: a derived array kept from forward."""

    def forward(self, x):
        self.square = x * x
        return x * self.square

    def backward(self, grad):
        return grad * 3 * self.square


class CubeKeepingItsInput(tg.Function):
    def forward(self, x):
        self.x = x
        return x ** 3

    def backward(self, grad):
        return grad * 3 * self.x ** 2


class CumulativeSum(tg.Function):
    def forward(self, x):
        return np.cumsum(x)

    def backward(self, grad):
        return np.cumsum(grad[::-1])[::-1]


class CubeWithOnceDifferentiable(Cube):
    @tg.autograd.once_differentiable
    def backward(self, grad):
        return grad * 3 * self.square


class IgnoresGrad(tg.Function):
    """out = 2x with a backward that forgets grad: right for a seed of ones only, and an array on tensors."""

    def forward(self, x):
        return 2 * x

    def backward(self, grad):
        return np.full(len(grad), 2.0)


class ConvertsToArray(CubeKeepingItsInput):
    def backward(self, grad):
        return np.asarray(grad) * 3 * self.x ** 2


def test_a_students_array_only_op_works_first_order_and_names_itself_when_asked_twice():
    x = leaf([1.0, -2.0])
    (g,) = tg.autograd.grad(Cube.apply(x).sum(), x)
    np.testing.assert_allclose(g.numpy(), 3 * x.numpy() ** 2)
    with pytest.raises(tg.DifferentiableOnceError, match=r"^Cube cannot be differentiated twice: .*self\.square"):
        tg.autograd.grad(Cube.apply(x).sum(), x, create_graph=True)
    (g,) = tg.autograd.grad(CubeKeepingItsInput.apply(x).sum(), x, create_graph=True)  # keeps its input: fine
    (h,) = tg.autograd.grad(g.sum(), x)
    np.testing.assert_allclose(h.numpy(), 6 * x.numpy())


@pytest.mark.parametrize("op, message", [
    (CumulativeSum, r"^CumulativeSum\.backward.*np\.cumsum"),
    (CubeWithOnceDifferentiable, "^CubeWithOnceDifferentiable can be differentiated once only"),
    (IgnoresGrad, r"^IgnoresGrad\.backward.*returned a ndarray"),
    (ConvertsToArray, r"^ConvertsToArray\.backward.*NumPy array"),
])
def test_refusals_name_the_op(op, message):
    x = leaf([1.0, 2.0, 3.0])
    tg.autograd.grad(op.apply(x).sum(), x)  # first order works
    with pytest.raises(tg.DifferentiableOnceError, match=message):
        tg.autograd.grad(op.apply(x).sum(), x, create_graph=True)


def test_an_op_is_asked_only_where_the_inputs_need_it():
    """grad(..., inputs=[x]) does not ask the Step on another branch for a second derivative."""
    x, w = leaf([0.5, 1.5]), leaf([2.0, -1.0])
    (g,) = tg.autograd.grad((x ** 2).sum() + (w * 1.0).step().sum(), x, create_graph=True)
    np.testing.assert_allclose(tg.autograd.grad(g.sum(), x)[0].numpy(), [2.0, 2.0])


def test_a_jitted_step_refuses_create_graph_and_grad_naming_them():
    w = tg.Tensor(np.array([1.0, 2.0]), requires_grad=True)

    @tg.jit
    def step(x):
        (x * w).sum().backward(create_graph=True)

    with pytest.raises(tg.JitError, match=r"backward\(create_graph=True\)"):
        step(tg.Tensor(np.array([1.0, 1.0])))

    @tg.jit
    def step_with_grad(x):
        return tg.autograd.grad((x * w).sum(), w)[0]

    with pytest.raises(tg.JitError, match=r"tg\.autograd\.grad\(\)"):
        step_with_grad(tg.Tensor(np.array([1.0, 1.0])))

    @tg.jit
    def step_with_inputs(x):
        (x * w).sum().backward(inputs=[w])

    with pytest.raises(tg.JitError, match=r"backward\(inputs=\.\.\.\)"):
        step_with_inputs(tg.Tensor(np.array([1.0, 1.0])))


def test_numpy_on_tensors_outside_a_backward_behaves_as_before():
    t, a = tg.tensor([1.0, -2.0]), np.array([3.0, 4.0], dtype=np.float32)
    assert isinstance(a + t, tg.Tensor) and np.allclose((a + t).numpy(), [4.0, 2.0])
    assert np.array_equal((a < t).numpy(), [False, False]) and np.array_equal((a > t).numpy(), [True, True])
    out = np.where(a > 3.5, t, 0)
    assert type(out) is np.ndarray and np.array_equal(out, [0.0, -2.0])  # NumPy reads the values
    assert np.allclose(t, [1.0, -2.0])
    with pytest.raises(TypeError, match="np.exp"):
        np.exp(t)
    with pytest.raises(TypeError):
        a += t  # NumPy cannot write a tensor into an array in place


# ------------------------------------------------------------------- the kit catches wrong ones
class CubeDetachedOnTensors(tg.Function):
    """Right first derivative; on tensors the square is cut off from the graph: the second derivative is wrong."""

    def forward(self, x):
        self.x = x
        return x ** 3

    def backward(self, grad):
        square = self.x * self.x
        return grad * 3 * (square.detach() if isinstance(square, tg.Tensor) else square)


class DoubleGradDetachedOnTensors(tg.Function):
    """out = 2x; on tensors its backward cuts grad off: right in x (the second derivative is 0), wrong in grad."""

    def forward(self, x):
        return 2 * x

    def backward(self, grad):
        return 2 * (grad.detach() if isinstance(grad, tg.Tensor) else grad)


def test_gradgradcheck_and_check_op_catch_a_wrong_second_derivative():
    x = leaf([0.5, -1.5, 2.0])
    assert tg.gradcheck(CubeDetachedOnTensors.apply, [x])
    with pytest.raises(tg.GradcheckError, match="input 0"):
        tg.gradgradcheck(CubeDetachedOnTensors.apply, [x])
    with pytest.raises(tg.GradcheckError):
        check_op(CubeDetachedOnTensors.apply, max_examples=5)
    check_op(CubeDetachedOnTensors.apply, second_order=False, max_examples=5)  # first order only: it passes


def test_gradgradcheck_differentiates_with_respect_to_the_gradient_handed_in():
    x = leaf([0.5, -1.5, 2.0])
    assert tg.gradcheck(DoubleGradDetachedOnTensors.apply, [x])
    with pytest.raises(tg.GradcheckError, match="input 1"):  # input 1 is the gradient v handed to backward
        tg.gradgradcheck(DoubleGradDetachedOnTensors.apply, [x])


def test_check_op_with_second_order_true_requires_a_twice_differentiable_op():
    check_op(lambda x: Cube.apply(x), max_examples=3)  # refuses twice: checked to first order
    with pytest.raises(tg.DifferentiableOnceError, match="Cube"):
        check_op(lambda x: Cube.apply(x), second_order=True, max_examples=3)


def test_numpy_calls_a_backward_may_not_make_on_tensors_name_the_op_and_the_call():
    class SumsWithDtype(CubeKeepingItsInput):
        def backward(self, grad):
            return grad * np.sum(self.x * 3, dtype=np.float64, keepdims=True) * 0 + grad * 3 * self.x ** 2

    class MaximumOfTwo(CubeKeepingItsInput):
        def backward(self, grad):
            return grad * 3 * np.maximum(self.x, grad) ** 0 * self.x ** 2

    x = leaf([1.0, 2.0])
    for op, call in ((SumsWithDtype, "np.sum with dtype"), (MaximumOfTwo, "np.maximum of two tensors")):
        tg.autograd.grad(op.apply(x).sum(), x)
        with pytest.raises(tg.DifferentiableOnceError, match=f"^{op.__name__}.backward.*{call}"):
            tg.autograd.grad(op.apply(x).sum(), x, create_graph=True)


COMPOSITES = {  # f(x) for x of shape (3, 4), written once for both engines (their method names agree)
    "softmax, logsumexp": lambda x, lib: (x.softmax(1) * x.logsumexp(0)).sum(),
    "norm, pow": lambda x, lib: (x.norm(dim=0) ** 3).sum() + (x * x).sum(1).sqrt().sum(),
    "indexing, where, clamp": lambda x, lib: (lib.where(x > 0, x ** 3, x.exp()).clamp(-1.0, 2.0)[[0, 2, 2], 1:]).sum()
                                             + (x[1] ** 4).sum(),
    "matmul, tanh, sigmoid, log_softmax": lambda x, lib: ((x @ x.T).tanh().sigmoid().log_softmax(0) * (x @ x.T)).sum(),
    "max, mean, var": lambda x, lib: x.max() ** 2 * x.mean() + x.var(1).sum() + x.max(1).values.exp().sum(),
    "cat, stack, reshape, permute": lambda x, lib: (lib.cat([x, x.exp()], 1).reshape(4, 6).permute(1, 0)
                                                    * lib.stack([x, x * x], 0).reshape(6, 4)).sum() ** 2,
}


@pytest.mark.parametrize("name", COMPOSITES)
def test_second_and_third_derivatives_of_composites_equal_pytorchs(name):
    torch = pytest.importorskip("torch")
    values = np.random.default_rng(6).uniform(-2, 2, (3, 4))
    found = {}
    for lib, make in ((tg, lambda: tg.Tensor(values.copy(), requires_grad=True)),
                      (torch, lambda: torch.tensor(values.copy(), requires_grad=True))):
        x = make()
        (g,) = lib.autograd.grad(COMPOSITES[name](x, lib), x, create_graph=True)
        (h,) = lib.autograd.grad((g * g).sum(), x, create_graph=True)  # second derivatives, through a Hessian-vector product
        (t,) = lib.autograd.grad(h.sum(), x)  # third
        found[lib.__name__] = [np.asarray(a.detach().numpy()) for a in (g, h, t)]
    for order, (ours, theirs) in enumerate(zip(found["tinygrad_edu"], found["torch"]), start=1):
        np.testing.assert_allclose(ours, theirs, rtol=1e-9, atol=1e-10, err_msg=f"derivative {order}")


def test_create_graph_records_the_gradients_even_inside_no_grad():
    """As in PyTorch: asking for a graph of the gradients overrides no_grad for the walk."""
    x = leaf([1.0, -2.0, 0.5])
    y = (x ** 3).sum()
    with tg.no_grad():
        y.backward(create_graph=True)  # ∂y/∂x = 3x²; the graph is kept (retain_graph defaults to create_graph)
        assert not tg.is_grad_enabled()  # and no_grad is back in force after it
        y.backward(create_graph=True)  # so a second backward adds another 3x²
    assert x.grad.requires_grad
    np.testing.assert_allclose(x.grad.numpy(), 6 * x.numpy() ** 2)
    (h,) = tg.autograd.grad(x.grad.sum(), x)  # ∂/∂x Σ 6x² = 12x
    np.testing.assert_allclose(h.numpy(), 12 * x.numpy())
    hidden = x * 2
    z = (hidden ** 2).sum()
    with tg.no_grad():  # grad() too, and for a tensor in the middle of the graph
        (g,) = tg.autograd.grad(z, hidden, create_graph=True)  # 2·hidden
    assert g.requires_grad
    np.testing.assert_allclose(g.numpy(), 4 * x.numpy())


class ScaleInFloat64(tg.Function):
    """out = x · w, computed in NumPy's promoted dtype: a float32 x and a float64 w give float64."""

    def forward(self, x, w):
        self.x, self.w = x, w
        return x * w

    def backward(self, grad):
        return grad * self.w, grad * self.x


def test_a_float32_input_of_a_float64_op_gets_a_float32_gradient_that_is_differentiable_again():
    x = tg.tensor(np.array([1.0, 2.0, -0.5], dtype=np.float32), requires_grad=True)
    w = leaf([3.0, -1.0, 2.0])
    (ScaleInFloat64.apply(x, w) ** 2).sum().backward(create_graph=True)  # ∂/∂x = 2x w², a float64 tensor
    assert x.grad.dtype == np.float32 and w.grad.dtype == np.float64 and x.grad.requires_grad
    np.testing.assert_allclose(x.grad.numpy(), 2 * x.numpy() * w.numpy() ** 2, rtol=1e-6)
    (gw,) = tg.autograd.grad(x.grad.sum(), w)  # ∂/∂w Σ 2x w² = 4x w, through the cast to float32
    np.testing.assert_allclose(gw.numpy(), 4 * x.numpy().astype(np.float64) * w.numpy(), rtol=1e-6)


def test_the_refusals_of_backward_inputs_and_of_grad_without_grad_outputs_are_whole_sentences():
    x = leaf([1.0, 2.0])
    loss = (x * 2).sum()
    for inputs in ([], [tg.Tensor(np.ones(2))], [x, "x"]):  # empty, a tensor that needs no grad, not a tensor
        with pytest.raises(RuntimeError, match=r"^backward\(inputs=\.\.\.\): give a tensor or a non-empty sequence "
                                               r"of tensors that require grad$"):
            loss.backward(inputs=inputs, retain_graph=True)
    with pytest.raises(RuntimeError, match=r"^grad\(\) without a gradient needs a scalar, but this tensor has shape "
                                           r"\(2,\); reduce it first \(e\.g\. \.sum\(\) or \.mean\(\)\) or pass "
                                           r"grad_outputs= of the same shape$"):
        tg.autograd.grad(x * 2, x)
    with pytest.raises(RuntimeError, match=r"^backward\(\) without a gradient needs a scalar, but this tensor has "
                                           r"shape \(2,\); .* or pass gradient= of the same shape$"):
        (x * 2).backward()


def test_a_backward_returning_an_array_on_tensors_is_refused_in_a_whole_sentence():
    x = leaf([1.0, 2.0, 3.0])
    with pytest.raises(tg.DifferentiableOnceError, match=(
            r"^IgnoresGrad\.backward, run on tensors for a second derivative, returned a ndarray as the gradient of "
            r"input 0: compute it from grad with operators and NumPy functions, not from values read out of a "
            r"tensor \(\.data, \.numpy\(\)\), or mark backward once_differentiable$")):
        tg.autograd.grad(IgnoresGrad.apply(x).sum(), x, create_graph=True)


def test_grad_of_the_same_output_listed_twice_adds_both_gradients():
    x = leaf([1.0, -2.0])
    y = x ** 2
    (g,) = tg.autograd.grad([y, y], x, grad_outputs=[np.array([1.0, 10.0]), np.array([3.0, 3.0])])
    np.testing.assert_allclose(g.numpy(), (np.array([1.0, 10.0]) + 3.0) * 2 * x.numpy())  # (v₁ + v₂) · 2x
