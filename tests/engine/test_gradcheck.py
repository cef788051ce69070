"""gradcheck itself: it must fail every wrong backward, in any input, and say where and why."""

from __future__ import annotations

import numpy as np
import pytest

import tinygrad_edu as tg


def leaf(values) -> tg.Tensor:
    return tg.Tensor(np.array(values, dtype=np.float64), requires_grad=True)


class MulAdd(tg.Function):
    """out = a·b + c, with a backward that subclasses break one input at a time."""

    def forward(self, a, b, c):
        self.a, self.b = a, b
        return a * b + c

    def backward(self, grad):
        return grad * self.b, grad * self.a, grad


class WrongInSecond(MulAdd):
    def backward(self, grad):
        da, db, dc = super().backward(grad)
        return da, db * 1.5, dc


class WrongInThird(MulAdd):
    def backward(self, grad):
        da, db, dc = super().backward(grad)
        return da, db, -dc


def three_inputs():
    rng = np.random.default_rng(0)
    return [leaf(rng.normal(size=(2, 3))), leaf(rng.normal(size=(2, 3))), leaf(rng.normal(size=(2, 3)))]


def test_a_correct_three_input_op_passes():
    assert tg.gradcheck(MulAdd.apply, three_inputs())


@pytest.mark.parametrize("op, wrong", [(WrongInSecond, 1), (WrongInThird, 2)])
def test_an_op_wrong_only_in_a_later_input_fails_and_names_that_input(op, wrong):
    """Every input is compared with its own finite differences, not only the first."""
    with pytest.raises(tg.GradcheckError, match=f"gradient of input {wrong} "):
        tg.gradcheck(op.apply, three_inputs())


def test_an_input_that_needs_no_gradient_is_not_checked():
    a, b, c = three_inputs()
    c.requires_grad = False
    assert tg.gradcheck(WrongInThird.apply, [a, b, c])  # the wrong gradient is for c, which is a constant


def test_nothing_to_check_is_an_error():
    with pytest.raises(ValueError, match="^gradcheck: no input requires grad, so there is nothing to check$"):
        tg.gradcheck(lambda t: t * 2.0, [tg.Tensor(np.ones(2))])


def test_gradcheck_refuses_float32_in_any_input():
    with pytest.raises(TypeError, match="input 1 is float32"):
        tg.gradcheck(lambda s, t: s * t, [leaf([1.0]), tg.Tensor([1.0], requires_grad=True)])


class WrongForNegatives(tg.Function):
    """2x, whose backward forgets the factor 2 where x < 0."""

    def forward(self, x):
        self.x = x
        return 2 * x

    def backward(self, grad):
        return grad * np.where(self.x < 0, 1.0, 2.0)


def test_the_message_gives_the_index_the_input_value_and_both_gradients():
    x = leaf([[0.5, 1.5, 2.5], [3.5, -0.75, 4.5]])
    with pytest.raises(tg.GradcheckError) as err:
        tg.gradcheck(WrongForNegatives.apply, [x])
    message = str(err.value)
    u = np.random.default_rng(0).standard_normal((2, 3))[1, 1]  # gradcheck's weight on that element
    assert "input 0 (shape (2, 3)) is wrong at index (1, 1), where the input is -0.75:" in message
    assert f"backward gives {u:.8g}, finite differences give {2 * u:.8g}" in message
    assert "(1 of 6 elements differ" in message
    assert message.endswith("rtol=0.001)")  # a smooth function: no kink to blame


@pytest.mark.parametrize("f", [lambda t: t.relu(), lambda t: t.step(), lambda t: t.clamp(min=1.0) * 3.0])
def test_the_message_blames_a_kink_when_the_input_sits_on_one(f):
    x = leaf([[-2.0, 0.0, 1.0], [0.5, 1.5, 2.0]])  # 0 is ReLU's and the step's kink, 1 the clamp's
    with pytest.raises(tg.GradcheckError, match=r"not differentiable there: its slope is .* just left of this "
                                                r"input and .* just right of it \(a kink or a jump.*, so finite "
                                                r"differences cannot give its derivative; choose inputs away from "
                                                r"such points$"):
        tg.gradcheck(f, [x])


def test_gradcheck_leaves_inputs_and_their_gradients_as_they_were():
    x = leaf([1.0, -2.0])
    x.grad = tg.Tensor(np.array([7.0, 8.0]))
    assert tg.gradcheck(lambda t: (t * t).sum(), [x])
    np.testing.assert_array_equal(x.numpy(), [1.0, -2.0])
    np.testing.assert_array_equal(x.grad.numpy(), [7.0, 8.0])


def test_a_non_scalar_output_is_checked_through_every_element():
    """With a fixed random weighting u, a backward wrong for one output element is still caught."""

    class WrongInLastOutput(tg.Function):
        def forward(self, x):
            return x * 3.0

        def backward(self, grad):
            grad = grad.copy()
            grad[-1] = 0.0
            return grad * 3.0

    with pytest.raises(tg.GradcheckError, match=r"index \(2,\)"):
        tg.gradcheck(WrongInLastOutput.apply, [leaf([1.0, 2.0, 3.0])])


def test_numerical_grad_needs_a_scalar():
    with pytest.raises(ValueError, match=r"returned shape \(2,\)"):
        tg.numerical_grad(lambda t: t * 2.0, [leaf([1.0, 2.0])])


def test_tolerances_decide_what_counts_as_wrong():
    """A backward off by 0.1% passes a loose check and fails a strict one."""

    class SlightlyOff(tg.Function):
        def forward(self, x):
            return x * 2.0

        def backward(self, grad):
            return grad * 2.002

    x = leaf([1.0, 2.0])
    assert tg.gradcheck(SlightlyOff.apply, [x], atol=0.0, rtol=1e-2)
    with pytest.raises(tg.GradcheckError, match="atol=0.0, rtol=0.0001"):
        tg.gradcheck(SlightlyOff.apply, [x], atol=0.0, rtol=1e-4)


def test_an_exact_finite_difference_passes_at_zero_tolerance():
    """With h = 0.5 at x = 0, the central difference of 2x is exact in floating point: equal is not wrong."""
    assert tg.gradcheck(lambda t: t * 2.0, [leaf([0.0])], h=0.5, atol=0.0, rtol=0.0)


def test_the_step_h_is_the_one_given():
    """The central difference of x³ is off by h²: 3.25 instead of 3 at x = 1 with h = 0.5."""
    cube = lambda t: t * t * t  # noqa: E731
    assert tg.gradcheck(cube, [leaf([1.0])])
    u = np.random.default_rng(0).standard_normal(())  # gradcheck's weight on the scalar output
    with pytest.raises(tg.GradcheckError, match=f"backward gives {3 * u:.8g}, finite differences give {3.25 * u:.8g}"):
        tg.gradcheck(lambda t: cube(t).sum(), [leaf([1.0])], h=0.5)


def test_no_kink_is_blamed_when_both_one_sided_slopes_agree_exactly():
    """2x with h = 0.5 at 0: left and right slopes are both exactly 2, even at zero tolerance."""

    class ThreeInsteadOfTwo(tg.Function):
        def forward(self, x):
            return 2 * x

        def backward(self, grad):
            return 3 * grad

    with pytest.raises(tg.GradcheckError) as err:
        tg.gradcheck(ThreeInsteadOfTwo.apply, [leaf([0.0])], h=0.5, atol=0.0, rtol=0.0)
    assert str(err.value).endswith("atol=0.0, rtol=0.0)")


def test_numerical_grad_is_the_central_difference_for_each_input_and_leaves_them_unchanged():
    """With its default small step, the central differences of Σ a·b³ are b³ and 3ab² to about 1e-8."""
    a_values, b_values = np.array([[1.0, -2.0, 0.5], [3.0, 0.25, -1.5]]), np.array([[0.5], [-2.0]])
    a, b = leaf(a_values), leaf(b_values)
    da, db = tg.numerical_grad(lambda s, t: (s * t * t * t).sum(), [a, b])
    np.testing.assert_allclose(da, np.broadcast_to(b_values**3, (2, 3)), atol=1e-7)
    np.testing.assert_allclose(db, (3 * a_values * b_values**2).sum(axis=1, keepdims=True), atol=1e-7)
    assert da.dtype == db.dtype == np.float64
    np.testing.assert_array_equal(a.numpy(), a_values)
    np.testing.assert_array_equal(b.numpy(), b_values)
