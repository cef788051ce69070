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
    with pytest.raises(AssertionError, match="forward changed input 0 in place"):
        testing.check_op(DoubleInPlace.apply)


def test_values_stay_in_the_domain_and_away_from_kinks():
    seen = []

    def record(x):
        seen.append(x.numpy().copy())
        return x * 1.0

    testing.check_op(record, domain=(-1.0, 2.0), kinks=[0.0, 1.0], min_dims=1, max_examples=30, large=False)
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

    with pytest.raises(tg.GradcheckError, match="gradient of shift "):  # named as in state_dict()
        testing.check_module(ForgetsTheBiasGradient(), feature_shape=(2,))


def test_a_float32_layer_is_refused_with_the_fix():
    with pytest.raises(TypeError, match="weight is float32: call module.double"):
        testing.check_module(nn.Linear(3, 2), feature_shape=(3,))


def test_without_hypothesis_the_error_says_how_to_install_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "hypothesis", None)  # makes `import hypothesis` fail
    with pytest.raises(ImportError, match=r"needs hypothesis, which is a test extra: pip install -e \"\.\[test\]\""):
        testing.check_op(lambda x: x)


# ------------------------------------------------------------------------------------ optimizers
def momentum_formula(w, grads, lrs, mu=0.9):
    """v ← μv + g (v starts at the first g), w ← w − ηv with each step's η, written out."""
    weights, v = [], None
    for g, lr in zip(grads, lrs):
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


# ------------------------------------------------------- what gradcheck cannot see: forward values
class MaximumThatTakesTheMinimum(tg.Function):
    """A wrong forward (the minimum) whose backward is right for what it computes: gradcheck passes it."""

    def forward(self, a, b):
        self.a_smaller = a < b
        return np.minimum(a, b)

    def backward(self, grad):
        return grad * self.a_smaller, grad * ~self.a_smaller


def ties(a, b):
    """maximum's kink: where a = b the slope jumps from one input to the other."""
    return np.abs(a - b) < 1e-3


def test_a_wrong_forward_with_a_matching_backward_passes_gradcheck_but_not_the_reference():
    testing.check_op(MaximumThatTakesTheMinimum.apply, inputs=2, kinks=ties)  # gradcheck alone is fooled
    with pytest.raises(AssertionError, match=r"float64 forward differs from the reference at index"):
        testing.check_op(MaximumThatTakesTheMinimum.apply, inputs=2, kinks=ties, reference=np.maximum)


def test_an_op_one_percent_off_fails_against_its_reference():
    testing.check_op(lambda x: x.exp(), reference=np.exp)
    with pytest.raises(AssertionError, match="differs from the reference"):
        testing.check_op(lambda x: x.exp() * 1.01, reference=np.exp)


def test_a_reduction_over_the_wrong_axis_fails_against_its_reference():
    testing.check_op(lambda x: x.sum(-1), min_dims=1, reference=lambda x: x.sum(-1))
    with pytest.raises(AssertionError, match="reference"):
        testing.check_op(lambda x: x.sum(0), min_dims=2, reference=lambda x: x.sum(-1))


def test_a_tie_between_inputs_is_declared_by_a_predicate():
    def maximum(a, b):
        return tg.where(a > b, a, b)  # at a tie the whole gradient goes to b: no derivative there

    with pytest.raises(tg.GradcheckError, match="not differentiable there"):
        testing.check_op(maximum, inputs=2, max_examples=100)  # hypothesis tries a = b early
    seen = []

    def recorded(a, b):
        seen.append(np.abs(a.numpy() - b.numpy()).min(initial=np.inf))
        return maximum(a, b)

    testing.check_op(recorded, inputs=2, kinks=ties, reference=np.maximum, large=False)
    assert min(seen) >= 1e-3 - 2e-6  # gradcheck's nudges of h = 1e-6 on either side


class WidensFloat32(tg.Function):
    """ReLU through a mask made without a dtype: np.zeros is float64, so a float32 input comes out float64."""

    def forward(self, z):
        self.mask = np.zeros(z.shape)
        self.mask[z > 0] = 1.0
        return z * self.mask

    def backward(self, grad):
        return grad * self.mask


def test_an_op_that_widens_float32_to_float64_fails():
    with pytest.raises(AssertionError, match=r"float32 inputs gave a float64 result: .*np\.zeros\(shape\)"):
        testing.check_op(WidensFloat32.apply, kinks=[0], reference=lambda z: np.maximum(z, 0))


class NaiveSoftplus(tg.Function):
    """ln(1 + eᶻ) as written on paper: e^z overflows float32 beyond z ≈ 88, giving inf and a NaN gradient."""

    def forward(self, z):
        self.z = z
        return np.log(1 + np.exp(z))

    def backward(self, grad):
        e = np.exp(self.z)
        return grad * e / (1 + e)


def test_a_softplus_that_overflows_in_float32_fails_at_large_magnitudes():
    with np.errstate(over="ignore", invalid="ignore"):
        with pytest.raises(AssertionError, match=r"float32 forward at large magnitudes \(the inputs times"):
            testing.check_op(NaiveSoftplus.apply, reference=lambda z: np.logaddexp(0, z), max_examples=200)
        with pytest.raises(AssertionError, match="at large magnitudes"):  # the float64 result is the reference
            testing.check_op(NaiveSoftplus.apply, max_examples=200)
        testing.check_op(NaiveSoftplus.apply, reference=lambda z: np.logaddexp(0, z), large=False)


class SoftplusWithANaiveBackward(NaiveSoftplus):
    def forward(self, z):
        self.z = z
        return np.logaddexp(0, z)  # right; the backward's e / (1 + e) is inf / inf = NaN beyond z ≈ 88 in float32


def test_a_backward_that_overflows_in_float32_fails_at_large_magnitudes():
    with np.errstate(over="ignore", invalid="ignore"):
        with pytest.raises(AssertionError, match=r"float32 gradient of input 0 at large magnitudes .* is nan .*"
                                                 r"backward overflows in float32"):
            testing.check_op(SoftplusWithANaiveBackward.apply, reference=lambda z: np.logaddexp(0, z),
                             max_examples=200)  # (it stops at the first failure: the bound is for finding one)


def test_large_magnitudes_are_tried_in_float32():
    seen = []

    def recorded(x):
        seen.append((x.dtype, np.abs(x.numpy()).max(initial=0)))
        return x * 2.0

    testing.check_op(recorded, reference=lambda x: x * 2, max_examples=20)
    assert max(m for dtype, m in seen if dtype == np.float32) > 100
    assert max(m for dtype, m in seen if dtype == np.float64) > 100  # the float64 gradient it is compared with


class Correlate(tg.Function):
    """out[i] = Σⱼ s[i + j] k[j] (a 'valid' 1-d cross-correlation, as in a convolution layer);
    ∂L/∂s = grad convolved in full with k,  ∂L/∂k[j] = Σᵢ grad[i] s[i + j]."""

    def forward(self, s, k):
        self.s, self.k = s, k
        return np.correlate(s, k, "valid")

    def backward(self, grad):
        return np.convolve(grad, self.k, "full"), np.correlate(self.s, grad, "valid")


def test_inputs_get_shapes_of_their_own_that_need_not_broadcast():
    seen = []

    def recorded(s, k):
        seen.append((s.shape, k.shape))
        return Correlate.apply(s, k)

    kernels = testing.shapes(1, 1, max_side=3)
    testing.check_op(recorded, inputs=2, shapes=[(5,), kernels], reference=lambda s, k: np.correlate(s, k, "valid"))
    assert {s for s, _ in seen} == {(5,)} and len({k for _, k in seen}) > 1


def test_shapes_must_match_the_inputs():
    with pytest.raises(ValueError, match="shapes gives 1 entries for 2 inputs"):
        testing.check_op(lambda a, b: a, inputs=2, shapes=[(3,)])


# --------------------------------------------------------------------------------------- layers
class Residual(nn.Module):
    def __init__(self, forget_the_skip=False):
        super().__init__()
        self.fc = nn.Linear(3, 3, dtype=np.float64, generator=np.random.default_rng(0))
        self.forget_the_skip = forget_the_skip

    def forward(self, x):
        return self.fc(x).tanh() if self.forget_the_skip else x + self.fc(x).tanh()


def test_a_layer_that_forgets_its_skip_connection_fails_against_its_reference():
    def reference(layer):
        return lambda x: x + np.tanh(x @ layer.fc.weight.numpy().T + layer.fc.bias.numpy())

    right, wrong = Residual(), Residual(forget_the_skip=True)
    testing.check_module(right, feature_shape=(3,), reference=reference(right))
    testing.check_module(wrong, feature_shape=(3,))  # gradcheck alone is fooled
    with pytest.raises(AssertionError, match="float64 forward differs from the reference"):
        testing.check_module(wrong, feature_shape=(3,), reference=reference(wrong))


class Scale(tg.Function):
    def forward(self, x, weight):
        self.x, self.weight = x, weight
        return x * weight

    def backward(self, grad):
        return grad * self.weight, grad * self.weight  # the weight's should be grad · x


class ScaleLayer(nn.Module):
    def __init__(self):
        super().__init__()
        self.weight = nn.Parameter(np.array([0.5, -2.0]))

    def forward(self, x):
        return Scale.apply(x, self.weight)


def test_a_failure_names_the_parameter_as_state_dict_does():
    model = nn.Sequential(nn.Linear(2, 2, dtype=np.float64), ScaleLayer())
    with pytest.raises(tg.GradcheckError, match=r"gradient of 1\.weight \(shape \(2,\)\)"):
        testing.check_module(model, feature_shape=(2,))


class LayersInAPlainList(nn.Module):
    def __init__(self):
        super().__init__()
        self.layers = [nn.Linear(2, 2, dtype=np.float64), nn.Linear(2, 2, dtype=np.float64)]  # not registered

    def forward(self, x):
        for layer in self.layers:
            x = layer(x)
        return x


class TensorAttribute(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(2, 2, dtype=np.float64)
        self.gain = tg.tensor(np.array([1.0, 2.0]), requires_grad=True)  # a tensor, not an nn.Parameter

    def forward(self, x):
        return self.fc(x) * self.gain


def test_a_layer_using_tensors_it_does_not_register_fails_naming_them():
    with pytest.raises(AssertionError, match=r"not in parameters\(\): layers\[0\]\.weight, layers\[0\]\.bias, "
                                             r"layers\[1\]\.weight, layers\[1\]\.bias\. .*nn\.ModuleList"):
        testing.check_module(LayersInAPlainList(), feature_shape=(2,))
    with pytest.raises(AssertionError, match=r"1 tensor\(s\) that require grad but are not in parameters\(\): gain\."):
        testing.check_module(TensorAttribute(), feature_shape=(2,))


def test_unregistered_layers_that_double_missed_are_named_when_forward_fails():
    model = LayersInAPlainList()
    for layer in model.layers:
        layer.float()  # what double() on the model cannot reach
    with pytest.raises(AssertionError, match=r"forward failed \(RuntimeError: linear: the input is float64 but the "
                                             r"weight is float32.*\), and the module holds 4 tensor\(s\) .*layers\[1\]\.bias"):
        testing.check_module(model.double(), feature_shape=(2,))


class WidensTheLayer(nn.Module):
    """Adds a float64 constant made with NumPy's default dtype: a float32 model would come out float64."""

    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(2, 2, dtype=np.float64)
        self.offset = tg.tensor(np.array([0.5, -0.5]))  # float64 whatever the model's dtype

    def forward(self, x):
        return self.fc(x) + self.offset


def test_a_layer_whose_float32_copy_computes_in_float64_fails():
    with pytest.raises(AssertionError, match="float32 inputs gave a float64 result"):
        testing.check_module(WidensTheLayer(), feature_shape=(2,))


# --------------------------------------------------------------------- optimizers and the lr
class SGDThatKeepsItsOwnRate(nn.optim.Optimizer):
    """lr copied at construction: a scheduler that changes param_groups changes nothing."""

    def __init__(self, params, lr=0.1):
        super().__init__(params, dict(lr=lr))
        self.rate = lr

    def update(self, w, grad, state, group):
        return w - self.rate * grad


def sgd_formula(w, grads, lrs):
    weights = []
    for g, lr in zip(grads, lrs):
        w = w - lr * g
        weights.append(w)
    return weights


def test_an_optimizer_that_keeps_its_own_learning_rate_fails():
    testing.check_optimizer(lambda params: nn.optim.SGD(params, lr=0.1), sgd_formula, steps=2)
    with pytest.raises(AssertionError, match=r"after step 2 differs from the formula \(before this step the check "
                                             r"set param_groups\[0\]\['lr'\] to 0\.05.*read group\['lr'\] at every step"):
        testing.check_optimizer(lambda params: SGDThatKeepsItsOwnRate(params, lr=0.1), sgd_formula, steps=2)


def test_a_reference_without_the_learning_rates_is_refused_with_the_signature_to_use():
    with pytest.raises(TypeError, match=r"reference\(w, grads, lrs\)"):
        testing.check_optimizer(lambda params: nn.optim.SGD(params, lr=0.1), lambda w, grads: [w] * len(grads))
