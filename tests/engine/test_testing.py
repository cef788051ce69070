"""tinygrad_edu.testing, the public extension kit: it passes right ops and fails wrong ones with a small example."""

from __future__ import annotations

import sys

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import nn
import tinygrad_edu as tg
from tinygrad_edu import testing


class LeakyReLUFn(tg.Function):
    """z for z > 0, slope·z otherwise; the slope is a constant passed by keyword."""

    def forward(self, z, slope):
        self.z, self.slope = z, slope
        return np.where(z > 0, z, slope * z)

    def backward(self, grad):
        return grad * np.where(self.z > 0, 1.0, self.slope)


class LeakyReLUForgetsTheSlope(LeakyReLUFn):
    def backward(self, grad):
        return grad * (self.z > 0)


class MulWrongInSecond(tg.Function):
    def forward(self, a, b):
        self.a, self.b = a, b
        return a * b

    def backward(self, grad):
        return grad * self.b, grad * self.b  # the second should be grad · a


class DoubleInPlace(tg.Function):
    def forward(self, a):
        a *= 2  # changes the caller's tensor
        return a

    def backward(self, grad):
        return grad * 2


def test_a_right_op_passes():
    testing.check_op(lambda x: LeakyReLUFn.apply(x, slope=0.1), kinks=[0])
    testing.check_op(lambda a, b: a * b + a / b, inputs=2, domain=[(-3, 3), (0.5, 3)])


def test_a_wrong_op_fails_with_the_smallest_failing_input():
    with pytest.raises(tg.GradcheckError) as err:
        testing.check_op(lambda x: LeakyReLUForgetsTheSlope.apply(x, slope=0.1), kinks=[0])
    message = str(err.value)
    assert "gradient of input 0" in message
    # shrunk: one negative number (shape (), the simplest), shown in the message
    assert "failing inputs:\n  input 0: shape (), -" in message


def test_an_op_wrong_only_in_its_second_input_fails_on_broadcast_shapes():
    with pytest.raises(tg.GradcheckError, match="gradient of input 1"):
        testing.check_op(MulWrongInSecond.apply, inputs=2)


def test_broadcasting_ops_are_tried_on_shapes_that_differ():
    seen = []

    def record(a, b):
        seen.append((a.shape, b.shape))
        return a * b

    testing.check_op(record, inputs=2, max_examples=30)
    assert any(sa != sb for sa, sb in seen)
    seen.clear()
    testing.check_op(record, inputs=2, broadcast=False, max_examples=10)
    assert all(sa == sb for sa, sb in seen)


def test_a_forward_that_changes_its_input_in_place_fails():
    with pytest.raises(tg.GradcheckError, match="forward changed input 0 in place"):
        testing.check_op(DoubleInPlace.apply)


def test_values_stay_in_the_domain_and_away_from_kinks():
    seen = []

    def record(x):
        seen.append(x.numpy().copy())
        return x * 1.0

    testing.check_op(record, domain=(-1.0, 2.0), kinks=[0.0, 1.0], min_dims=1, max_examples=30)
    values = np.concatenate([v.ravel() for v in seen])
    assert values.min() >= -1.0 - 2e-3 and values.max() <= 2.0 + 2e-3
    # gradcheck nudges each value by h = 1e-6, so a value exactly at the margin may read 1e-3 - h
    assert np.abs(values).min() >= 1e-3 - 1e-5 and np.abs(values - 1.0).min() >= 1e-3 - 1e-5
    assert all(v.ndim >= 1 for v in seen)


def test_domain_must_give_one_pair_per_input():
    with pytest.raises(ValueError, match="2 \\(low, high\\) pairs for 3 inputs"):
        testing.check_op(lambda a, b, c: a, inputs=3, domain=[(0, 1), (0, 1)])


@given(shapes=testing.broadcastable_shapes(3))
def test_broadcastable_shapes_broadcast(shapes):
    assert len(shapes) == 3
    np.broadcast_shapes(*shapes)  # raises if they do not


@given(shape=testing.shapes(min_dims=2, max_dims=3, max_side=2))
def test_shapes_respect_their_bounds(shape):
    assert 2 <= len(shape) <= 3 and all(1 <= n <= 2 for n in shape)


def test_a_layer_is_checked_in_its_input_and_every_parameter():
    testing.check_module(nn.Linear(3, 2, dtype=np.float64), feature_shape=(3,))

    class ForgetsTheBiasGradient(nn.Module):
        def __init__(self):
            super().__init__()
            self.scale = nn.Parameter(np.array([1.5, -0.5]))
            self.shift = nn.Parameter(np.array([0.25, 2.0]))

        def forward(self, x):
            return x * self.scale + self.shift.detach()  # shift gets no gradient

    with pytest.raises(tg.GradcheckError, match="gradient of input 2 "):  # inputs: x, scale, shift
        testing.check_module(ForgetsTheBiasGradient(), feature_shape=(2,))


def test_a_float32_layer_is_refused_with_the_fix():
    with pytest.raises(TypeError, match="weight is float32: call module.double"):
        testing.check_module(nn.Linear(3, 2), feature_shape=(3,))


def test_without_hypothesis_the_error_says_how_to_install_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "hypothesis", None)  # makes `import hypothesis` fail
    with pytest.raises(ImportError, match=r"needs hypothesis, which is a test extra: pip install -e \"\.\[test\]\""):
        testing.check_op(lambda x: x)


# ------------------------------------------------------------------------------------ optimizers
def momentum_formula(w, grads, lr=0.1, mu=0.9):
    """v ← μv + g (v starts at the first g), w ← w − ηv, written out."""
    weights, v = [], None
    for g in grads:
        v = g if v is None else mu * v + g
        w = w - lr * v
        weights.append(w)
    return weights


def test_a_right_optimizer_passes():
    testing.check_optimizer(lambda params: nn.optim.SGD(params, lr=0.1, momentum=0.9), momentum_formula, steps=2)


def test_an_optimizer_off_its_formula_fails_and_says_at_which_step():
    with pytest.raises(AssertionError, match=r"parameter \d after step \d differs from the formula"):
        testing.check_optimizer(lambda params: nn.optim.SGD(params, lr=0.1, momentum=0.8), momentum_formula, steps=2)


class SGDThatForgetsItsBuffers(nn.optim.SGD):
    def state_dict(self):
        return {**super().state_dict(), "state": {}}


def test_an_optimizer_whose_state_dict_misses_a_buffer_fails_on_resume():
    with pytest.raises(AssertionError, match="resuming from state_dict\\(\\) after step 1 of 2 ends at"):
        testing.check_optimizer(lambda params: SGDThatForgetsItsBuffers(params, lr=0.1, momentum=0.9),
                                momentum_formula, steps=2)


class SGDThatWritesTheGradient(nn.optim.SGD):
    def update(self, w, grad, state, group):
        new = super().update(w, grad, state, group)
        grad[...] = 0.0
        return new


def test_an_optimizer_that_writes_a_gradient_fails():
    with pytest.raises(AssertionError, match="step\\(\\) changed the gradient array of parameter"):
        testing.check_optimizer(lambda params: SGDThatWritesTheGradient(params, lr=0.1, momentum=0.9),
                                momentum_formula, steps=2)
