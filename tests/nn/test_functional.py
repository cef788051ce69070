"""nn.functional and the loss modules: values against NumPy formulas, gradients against finite differences.

The reference values below are written out in NumPy, independently of the code under test; every
differentiable function is gradchecked in float64 on shapes drawn by hypothesis, for every reduction.
"""

from __future__ import annotations

import re

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import nn
import tinygrad_edu as tg

F = nn.functional
REDUCTIONS = ("mean", "sum", "none")


def f64(shape, low=-2.0, high=2.0):
    return hnp.arrays(np.float64, shape, elements=st.floats(low, high, allow_nan=False, allow_infinity=False))


def leaf(array):
    return tg.Tensor(np.asarray(array, dtype=np.float64), requires_grad=True)


def shapes(min_dims=1, max_dims=3):
    return hnp.array_shapes(min_dims=min_dims, max_dims=max_dims, min_side=1, max_side=4)


def reduce_np(losses, reduction, divisor=None):
    if reduction == "none":
        return losses
    return losses.sum() / (1 if reduction == "sum" else (losses.size if divisor is None else divisor))


def log_softmax_np(z, axis):
    shifted = z - z.max(axis=axis, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))


def labels_for(data, shape, classes):
    return np.array(data.draw(hnp.arrays(np.int64, shape, elements=st.integers(0, classes - 1))))


# ----------------------------------------------------------------------- pointwise regression losses
POINTWISE = {  # name -> (function, NumPy formula of the per-element loss of d = a − y)
    "mse_loss": (F.mse_loss, lambda d: d**2),
    "l1_loss": (F.l1_loss, np.abs),
    "huber_loss": (lambda a, y, reduction: F.huber_loss(a, y, reduction, delta=0.7),
                   lambda d: np.where(np.abs(d) < 0.7, 0.5 * d**2, 0.7 * (np.abs(d) - 0.35))),
}


@pytest.mark.parametrize("name", sorted(POINTWISE))
@pytest.mark.parametrize("reduction", REDUCTIONS)
@given(data=st.data())
def test_pointwise_losses_match_numpy_and_pass_gradcheck(name, reduction, data):
    function, formula = POINTWISE[name]
    shape = data.draw(shapes(0))
    a = data.draw(f64(shape))
    y = data.draw(f64(shape).filter(lambda y: np.all(np.abs(np.abs(a - y) - 0.7) > 1e-3) and np.all(np.abs(a - y) > 1e-3)))
    expected = reduce_np(formula(a - y), reduction)
    np.testing.assert_allclose(function(leaf(a), leaf(y), reduction=reduction).numpy(), expected, rtol=1e-12, atol=1e-12)
    assert tg.gradcheck(lambda a, y: function(a, y, reduction=reduction), [leaf(a), leaf(y)])


@given(data=st.data())
def test_the_lecture_reduction_averages_over_the_first_dimension(data):
    """C = 1/(2n) Σₓ ‖y(x) − a‖²: n is the first dimension, whatever the shape of each example."""
    shape = data.draw(shapes(1))
    a, y = data.draw(f64(shape)), data.draw(f64(shape))
    expected = ((y - a) ** 2).sum() / (2 * shape[0])
    assert F.mse_loss(leaf(a), leaf(y), "lecture").item() == pytest.approx(expected, rel=1e-12)
    assert nn.MSELoss()(leaf(a), leaf(y)).item() == pytest.approx(expected, rel=1e-12)
    assert tg.gradcheck(lambda a, y: nn.MSELoss()(a, y), [leaf(a), leaf(y)])


def test_one_dimensional_predictions_are_n_examples_of_one_output():
    a, y = np.array([0.2, 0.9, 0.4, 0.0]), np.array([0.0, 1.0, 1.0, 0.5])
    assert nn.MSELoss()(leaf(a), leaf(y)).item() == pytest.approx(((y - a) ** 2).sum() / (2 * 4))
    # the same examples as a column of outputs give the same cost
    assert nn.MSELoss()(leaf(a[:, None]), leaf(y[:, None])).item() == pytest.approx(((y - a) ** 2).sum() / 8)
    assert nn.MSELoss()(leaf(0.5), leaf(0.25)).item() == pytest.approx(0.25**2 / 2)  # 0-d: one example


def test_mse_function_defaults_to_pytorchs_mean_and_the_module_to_the_lecture():
    a, y = np.array([[0.2, 0.9, 0.1], [0.5, 0.1, 0.3]]), np.array([[0.0, 1.0, 0.0], [1.0, 0.0, 0.0]])
    squared = ((y - a) ** 2).sum()
    assert F.mse_loss(leaf(a), leaf(y)).item() == pytest.approx(squared / 6)
    assert nn.MSELoss()(leaf(a), leaf(y)).item() == pytest.approx(squared / 4)
    assert repr(nn.MSELoss()) == "MSELoss(reduction='lecture')"


def test_loss_modules_default_to_pytorch_s_mean_and_mse_loss_to_the_lecture():
    for module in (nn.L1Loss, nn.HuberLoss, nn.BCELoss, nn.BCEWithLogitsLoss, nn.NLLLoss, nn.CrossEntropyLoss):
        assert module().reduction == "mean"
    assert nn.MSELoss().reduction == "lecture"


def test_integer_targets_are_taken_in_the_predictions_float_type():
    a, labels = tg.tensor([[0.2, 0.7], [0.9, 0.4]]), tg.tensor([[0, 1], [1, 0]])
    for function in (F.mse_loss, F.l1_loss, F.huber_loss, F.binary_cross_entropy, F.binary_cross_entropy_with_logits):
        loss = function(a, labels)
        assert loss.dtype == np.float32
        assert loss.item() == function(a, labels.float()).item()
    expected = ((np.array([[0.2, 0.7], [0.9, 0.4]]) - np.eye(2)[[1, 0]]) ** 2).mean()
    assert F.mse_loss(a, F.one_hot(tg.tensor([1, 0]), 2)).item() == pytest.approx(expected)


def test_a_float64_target_makes_the_loss_float64_as_in_pytorch():
    a, y = tg.tensor([[0.2, 0.7], [0.9, 0.4]]), np.array([[0.1, 1.0], [1.0, 0.3]])
    d = a.numpy().astype(np.float64) - y
    for function, per_element in ((F.mse_loss, d**2), (F.l1_loss, np.abs(d))):
        loss = function(a, tg.Tensor(y))
        assert loss.dtype == np.float64
        assert loss.item() == pytest.approx(per_element.mean(), rel=1e-15)
    assert F.binary_cross_entropy_with_logits(a, tg.Tensor(y)).dtype == np.float64


def test_targets_given_as_arrays_or_lists_are_constants():
    a = leaf([[0.2, 0.7], [0.9, 0.4]])
    y = [[0.0, 1.0], [1.0, 0.0]]
    for function in (F.mse_loss, F.l1_loss, F.huber_loss, F.binary_cross_entropy, F.binary_cross_entropy_with_logits):
        expected = function(a, tg.Tensor(np.array(y))).item()
        assert function(a, np.array(y)).item() == expected
        assert function(a, y).item() == expected


def test_a_weight_changed_in_place_before_backward_is_refused_as_in_pytorch():
    """The loss ops keep the weight itself for backward (no copy), so the engine's version check sees the change."""
    z, y, labels = tg.ones(2, 3, requires_grad=True), tg.full((2, 3), 0.5), tg.tensor([0, 2])
    losses = {
        "BinaryCrossEntropy": lambda w: F.binary_cross_entropy(z.sigmoid(), y, weight=w),
        "BinaryCrossEntropyWithLogits": lambda w: F.binary_cross_entropy_with_logits(z, y, weight=w),
        "NegativeLogLikelihood": lambda w: F.cross_entropy(z, labels, weight=w),
        "SoftCrossEntropy": lambda w: F.cross_entropy(z, y, weight=w),
    }
    for name, loss in losses.items():
        w = tg.tensor([1.0, 2.0, 3.0])
        result = loss(w)
        w.mul_(2)
        with pytest.raises(RuntimeError, match=f"^{name}.backward needs a value that was changed by an in-place"):
            result.backward()
    p = tg.tensor([1.0, 2.0, 3.0])
    result = F.binary_cross_entropy_with_logits(z, y, pos_weight=p)
    p.add_(1)
    with pytest.raises(RuntimeError, match="^BinaryCrossEntropyWithLogits.backward needs a value that was changed"):
        result.backward()


def test_weights_never_change_the_dtype_of_the_loss():
    z32, y = tg.tensor([[0.2, 0.7, 0.1], [0.9, 0.4, 0.3]]), tg.tensor([[0.0, 1.0, 1.0], [1.0, 0.0, 0.0]])
    w64, integer_w = tg.Tensor(np.array([0.5, 2.0, 1.0])), [1, 2, 3]
    losses = [F.cross_entropy(z32, tg.tensor([1, 0]), w64), F.cross_entropy(z32, y / 2, integer_w),
              F.nll_loss(z32, tg.tensor([1, 0]), integer_w), F.binary_cross_entropy(z32, y, w64),
              F.binary_cross_entropy_with_logits(z32, y, w64, pos_weight=integer_w)]
    assert [loss.dtype for loss in losses] == [np.float32] * 5
    log_p = np.log(np.exp(z32.numpy()) / np.exp(z32.numpy()).sum(axis=1, keepdims=True))
    assert losses[2].item() == pytest.approx(-(2 * z32.numpy()[0, 1] + z32.numpy()[1, 0]) / 3)
    assert losses[0].item() == pytest.approx(-(2 * log_p[0, 1] + 0.5 * log_p[1, 0]) / 2.5, rel=1e-6)


def test_the_paired_losses_differentiate_only_what_requires_grad():
    """The usual case, a constant target: only the prediction gets a gradient (and the other way round)."""
    a, y = np.array([[0.2, 0.7, 0.5], [0.9, 0.4, 0.1]]), np.array([[0.0, 1.0, 0.3], [1.0, 0.0, 0.0]])
    sigma, d = 1 / (1 + np.exp(-a)), a - y
    expected = {  # per element, before the mean's 1/6: (∂ℓ/∂prediction, ∂ℓ/∂target)
        F.mse_loss: (2 * d, -2 * d),
        F.l1_loss: (np.sign(d), -np.sign(d)),
        F.huber_loss: (np.clip(d, -1, 1), -np.clip(d, -1, 1)),
        F.binary_cross_entropy: ((a - y) / (a * (1 - a)), np.log(1 - a) - np.log(a)),
        F.binary_cross_entropy_with_logits: (sigma - y, -a),
    }
    for function, (d_prediction, d_target) in expected.items():
        prediction, target = leaf(a), tg.Tensor(y)
        function(prediction, target).backward()
        np.testing.assert_allclose(prediction.grad.numpy(), d_prediction / 6, rtol=1e-12)
        assert target.grad is None
        prediction, target = tg.Tensor(a), leaf(y)
        function(prediction, target).backward()
        np.testing.assert_allclose(target.grad.numpy(), d_target / 6, rtol=1e-12)
        assert prediction.grad is None


# --------------------------------------------------------------------------- binary cross-entropy
@pytest.mark.parametrize("reduction", REDUCTIONS)
@given(data=st.data())
def test_binary_cross_entropy_matches_numpy_and_passes_gradcheck(reduction, data):
    shape = data.draw(shapes())
    a, y = data.draw(f64(shape, 0.05, 0.95)), data.draw(f64(shape, 0, 1))
    w = data.draw(f64(shape[-1:], 0.1, 2))  # broadcast along the last dimension
    expected = reduce_np(-w * (y * np.log(a) + (1 - y) * np.log(1 - a)), reduction)
    got = F.binary_cross_entropy(leaf(a), leaf(y), weight=tg.Tensor(w), reduction=reduction)
    np.testing.assert_allclose(got.numpy(), expected, rtol=1e-10)
    np.testing.assert_allclose(nn.BCELoss(w, reduction=reduction)(leaf(a), leaf(y)).numpy(), expected, rtol=1e-10)
    assert tg.gradcheck(lambda a, y: F.binary_cross_entropy(a, y, tg.Tensor(w), reduction), [leaf(a), leaf(y)])


@pytest.mark.filterwarnings("error")  # ln 0 is clamped, not warned about
def test_binary_cross_entropy_clamps_its_logs_at_minus_100_as_pytorch():
    a, y = leaf([0.0, 1.0, 0.0]), leaf([1.0, 0.0, 0.0])
    np.testing.assert_allclose(F.binary_cross_entropy(a, y, reduction="none").numpy(), [100.0, 100.0, 0.0])
    with pytest.raises(ValueError, match=r"must lie in \[0, 1\].*binary_cross_entropy_with_logits"):
        F.binary_cross_entropy(leaf([1.5]), leaf([1.0]))


@pytest.mark.parametrize("reduction", REDUCTIONS)
@given(data=st.data())
def test_binary_cross_entropy_with_logits_matches_numpy_and_passes_gradcheck(reduction, data):
    shape = data.draw(shapes())
    z, y = data.draw(f64(shape, -6, 6)), data.draw(f64(shape, 0, 1))
    w, p = data.draw(f64(shape[-1:], 0.1, 2)), data.draw(f64(shape[-1:], 0.1, 3))
    sigma = 1 / (1 + np.exp(-z))
    expected = reduce_np(-w * (p * y * np.log(sigma) + (1 - y) * np.log(1 - sigma)), reduction)
    got = F.binary_cross_entropy_with_logits(leaf(z), leaf(y), tg.Tensor(w), reduction, pos_weight=tg.Tensor(p))
    np.testing.assert_allclose(got.numpy(), expected, rtol=1e-9)
    module = nn.BCEWithLogitsLoss(weight=tg.Tensor(w), reduction=reduction, pos_weight=tg.Tensor(p))
    np.testing.assert_allclose(module(leaf(z), leaf(y)).numpy(), expected, rtol=1e-9)
    assert tg.gradcheck(lambda z, y: module(z, y), [leaf(z), leaf(y)])
    plain = reduce_np(-(y * np.log(sigma) + (1 - y) * np.log(1 - sigma)), reduction)
    np.testing.assert_allclose(F.binary_cross_entropy_with_logits(leaf(z), leaf(y), reduction=reduction).numpy(),
                               plain, rtol=1e-9)


def test_binary_cross_entropy_with_logits_is_stable_for_huge_scores():
    z, y = tg.tensor([-1000.0, 1000.0, 1000.0]), tg.tensor([0.0, 1.0, 0.0])
    np.testing.assert_allclose(F.binary_cross_entropy_with_logits(z, y, reduction="none").numpy(), [0, 0, 1000])


# ------------------------------------------------------------------------------- cross-entropy
def cross_entropy_np(z, labels, weight=None, ignore_index=-100, smoothing=0.0, reduction="mean"):
    """PyTorch's documented formula, term by term: (1 − ε)·(weighted NLL) + (ε/C)·(weighted sum over classes)."""
    log_p = log_softmax_np(z, axis=1)
    classes = z.shape[1]
    w = np.ones(classes) if weight is None else weight
    valid = labels != ignore_index
    safe = np.where(valid, labels, 0)
    w_label = w[safe] * valid
    nll = np.zeros(labels.shape)
    smooth = np.zeros(labels.shape)
    for i in np.ndindex(*labels.shape):
        if valid[i]:
            row = log_p[(i[0], slice(None)) + i[1:]]
            nll[i] = -w_label[i] * row[labels[i]]
            smooth[i] = -(w * row).sum()
    if reduction == "none":
        return (1 - smoothing) * nll + smoothing / classes * smooth
    if reduction == "sum":
        return (1 - smoothing) * nll.sum() + smoothing / classes * smooth.sum()
    return (1 - smoothing) * nll.sum() / w_label.sum() + smoothing / classes * smooth.sum() / w_label.sum()


def classification_case(data):
    """Scores of shape (n, C) or (n, C, d1, ...), labels with some ignored, class weights."""
    n, classes = data.draw(st.integers(1, 4)), data.draw(st.integers(2, 5))
    extra = data.draw(st.sampled_from([(), (3,), (2, 2)]))
    z = data.draw(f64((n, classes) + extra, -4, 4))
    labels = labels_for(data, (n,) + extra, classes)
    labels[data.draw(hnp.arrays(bool, labels.shape))] = -1
    labels.flat[0] = data.draw(st.integers(0, classes - 1))  # at least one example counts
    weight = data.draw(f64((classes,), 0.1, 3))
    return z, labels, weight


@pytest.mark.parametrize("reduction", REDUCTIONS)
@given(data=st.data())
def test_cross_entropy_with_weight_ignore_index_and_label_smoothing(reduction, data):
    z, labels, weight = classification_case(data)
    smoothing = data.draw(st.sampled_from([0.0, 0.1, 0.35]))
    weight = data.draw(st.sampled_from([None, weight]))
    w = None if weight is None else tg.Tensor(weight)

    def loss(z):
        return F.cross_entropy(z, tg.tensor(labels), w, ignore_index=-1, reduction=reduction, label_smoothing=smoothing)

    expected = cross_entropy_np(z, labels, weight, -1, smoothing, reduction)
    np.testing.assert_allclose(loss(leaf(z)).numpy(), expected, rtol=1e-10, atol=1e-12)
    module = nn.CrossEntropyLoss(w, ignore_index=-1, reduction=reduction, label_smoothing=smoothing)
    np.testing.assert_allclose(module(leaf(z), labels).numpy(), expected, rtol=1e-10, atol=1e-12)
    assert tg.gradcheck(loss, [leaf(z)])


@pytest.mark.parametrize("reduction", REDUCTIONS)
@given(data=st.data())
def test_nll_loss_picks_the_weighted_log_probability_of_the_label(reduction, data):
    z, labels, weight = classification_case(data)
    log_p = log_softmax_np(z, axis=1)
    expected = cross_entropy_np(z, labels, weight, -1, 0.0, reduction)
    got = F.nll_loss(leaf(log_p), labels, tg.Tensor(weight), ignore_index=-1, reduction=reduction)
    np.testing.assert_allclose(got.numpy(), expected, rtol=1e-10, atol=1e-12)
    module = nn.NLLLoss(tg.Tensor(weight), ignore_index=-1, reduction=reduction)
    assert tg.gradcheck(lambda log_p: module(log_p, labels), [leaf(log_p)])


@pytest.mark.parametrize("reduction", REDUCTIONS)
@given(data=st.data())
def test_cross_entropy_against_class_probabilities(reduction, data):
    n, classes = data.draw(st.integers(1, 4)), data.draw(st.integers(2, 5))
    z = data.draw(f64((n, classes, 2), -4, 4))
    q = data.draw(f64((n, classes, 2), 0.01, 1))
    q /= q.sum(axis=1, keepdims=True)
    weight, smoothing = data.draw(f64((classes,), 0.1, 3)), data.draw(st.sampled_from([0.0, 0.2]))
    target = (1 - smoothing) * q + smoothing / classes
    expected = reduce_np(-(weight[None, :, None] * target * log_softmax_np(z, 1)).sum(axis=1), reduction)

    def loss(z, q):
        return F.cross_entropy(z, q, tg.Tensor(weight), reduction=reduction, label_smoothing=smoothing)

    np.testing.assert_allclose(loss(leaf(z), leaf(q)).numpy(), expected, rtol=1e-10)
    assert tg.gradcheck(loss, [leaf(z), leaf(q)])


def test_cross_entropy_against_constant_probabilities_without_weights():
    """The usual soft-target case: ∂L/∂z = (softmax(z) − q')/n with q' the smoothed targets, ∂L/∂q = −(1 − ε) ln p / n."""
    z, q, smoothing = np.array([[1.0, -0.5, 0.2], [0.3, 0.3, 2.0]]), np.array([[0.2, 0.5, 0.3], [1.0, 0.0, 0.0]]), 0.1
    log_p, target = log_softmax_np(z, 1), (1 - smoothing) * q + smoothing / 3
    scores = leaf(z)
    loss = F.cross_entropy(scores, tg.Tensor(q), label_smoothing=smoothing)
    assert loss.item() == pytest.approx(-(target * log_p).sum() / 2, rel=1e-12)
    loss.backward()
    np.testing.assert_allclose(scores.grad.numpy(), (np.exp(log_p) - target) / 2, rtol=1e-12)
    probabilities = leaf(q)
    F.cross_entropy(tg.Tensor(z), probabilities, label_smoothing=smoothing).backward()
    np.testing.assert_allclose(probabilities.grad.numpy(), -(1 - smoothing) * log_p / 2, rtol=1e-12)


def test_cross_entropy_of_one_example_without_a_batch_dimension():
    z, label = np.array([0.5, -1.0, 2.0]), 2
    expected = -log_softmax_np(z, 0)[label]
    assert F.cross_entropy(leaf(z), tg.tensor(label)).item() == pytest.approx(expected)
    assert F.cross_entropy(leaf(z), tg.tensor(label), reduction="none").shape == ()
    assert tg.gradcheck(lambda z: F.cross_entropy(z, tg.tensor(label)), [leaf(z)])
    w = np.array([0.5, 2.0, 3.0])  # the weight, ignore_index and the loss op are those of a batch of one
    assert F.cross_entropy(leaf(z), tg.tensor(label), tg.Tensor(w), reduction="sum").item() == pytest.approx(3 * expected)
    assert F.cross_entropy(leaf(z), tg.tensor(label), ignore_index=2, reduction="sum").item() == 0
    assert repr(F.cross_entropy(leaf(z), tg.tensor(label))).endswith("grad_fn=<NegativeLogLikelihoodBackward>)")


def test_label_smoothing_of_one_is_the_uniform_target_as_in_pytorch():
    z, labels = np.array([[0.5, -1.0, 2.0], [0.0, 1.0, -2.0]]), tg.tensor([2, 0])
    expected = -log_softmax_np(z, 1).mean(axis=1).mean()  # q = 1/C for every class: the labels no longer matter
    assert F.cross_entropy(leaf(z), labels, label_smoothing=1.0).item() == pytest.approx(expected, rel=1e-12)


def test_a_single_class_with_ignored_examples():
    """Scores of shape (n, 1) are legal (PyTorch takes them): ignored examples cost 0 and get no gradient."""
    log_p = leaf([[-0.5], [-1.0], [-2.0]])
    loss = F.nll_loss(log_p, tg.tensor([0, -100, 0]), reduction="none")
    np.testing.assert_array_equal(loss.numpy(), [0.5, 0.0, 2.0])
    loss.sum().backward()
    np.testing.assert_array_equal(log_p.grad.numpy(), [[-1.0], [0.0], [-1.0]])
    z = leaf([[3.0], [-1.0]])
    F.cross_entropy(z, tg.tensor([-100, 0]), label_smoothing=0.1).backward()  # ln softmax of one class is 0
    np.testing.assert_array_equal(z.grad.numpy(), [[0.0], [0.0]])


def test_masked_classes_with_minus_infinity_give_the_finite_loss_and_gradient():
    """A class with score −∞ has probability 0: the loss is the cross-entropy over the other classes."""
    z = np.array([[1.0, -np.inf, 0.5, 2.0], [0.2, 0.1, -np.inf, -np.inf], [-np.inf, 0.3, 0.1, 0.0]])
    labels = np.array([0, 1, -100])  # the ignored example has its class 0 masked
    kept = [np.array([1.0, 0.5, 2.0]), np.array([0.2, 0.1])]
    expected = -(log_softmax_np(kept[0], 0)[0] + log_softmax_np(kept[1], 0)[1]) / 2
    logits = leaf(z)
    loss = nn.CrossEntropyLoss()(logits, labels)
    assert loss.item() == pytest.approx(expected)
    loss.backward()
    softmax = [np.exp(log_softmax_np(k, 0)) for k in kept]
    expected_grad = np.array([[softmax[0][0] - 1, 0, softmax[0][1], softmax[0][2]],
                              [softmax[1][0], softmax[1][1] - 1, 0, 0], [0, 0, 0, 0]]) / 2
    np.testing.assert_allclose(logits.grad.numpy(), expected_grad, rtol=1e-12)
    with pytest.raises(FloatingPointError, match="cross_entropy is inf"):  # smoothing reads ln 0: PyTorch gives inf
        F.cross_entropy(leaf(z), labels, label_smoothing=0.1)


# ------------------------------------------------------------------------- errors and edge cases
@pytest.mark.parametrize("loss", [nn.MSELoss(), nn.MSELoss("mean"), nn.L1Loss(), nn.HuberLoss(), nn.BCELoss(),
                                  nn.BCEWithLogitsLoss()])
def test_empty_batches_are_refused_for_a_mean_and_summed_to_zero(loss):
    with pytest.raises(ValueError, match=r"empty batch \(0, 10\).*reduction='sum'"):
        loss(tg.zeros(0, 10), tg.zeros(0, 10))
    assert type(loss)(reduction="sum")(tg.zeros(0, 10), tg.zeros(0, 10)).item() == 0


def test_empty_or_fully_ignored_batches_in_cross_entropy():
    with pytest.raises(ValueError, match=r"empty batch \(0, 3\)"):
        nn.CrossEntropyLoss()(tg.zeros(0, 3), np.zeros(0, dtype=np.int64))
    assert nn.CrossEntropyLoss(reduction="sum")(tg.zeros(0, 3), np.zeros(0, dtype=np.int64)).item() == 0
    with pytest.raises(ValueError, match=r"cross_entropy: the mean over no examples is undefined \(PyTorch gives nan\): "
                                         r"every target is ignore_index or has weight 0$"):
        nn.CrossEntropyLoss()(tg.zeros(2, 3), np.array([-100, -100]))


@pytest.mark.filterwarnings("ignore:invalid value:RuntimeWarning")  # NumPy's, on the NaN given on purpose
@pytest.mark.parametrize("function", [F.mse_loss, F.l1_loss, F.huber_loss, F.binary_cross_entropy_with_logits])
def test_a_non_finite_loss_is_reported_as_divergence(function):
    advice = r": the network's outputs have diverged \(try a smaller learning rate\), or the inputs hold NaN or infinity$"
    with pytest.raises(FloatingPointError, match=rf"^{function.__name__} is nan{advice}"):
        function(tg.tensor([[float("nan"), 0.5]]), tg.tensor([[1.0, 0.0]]))
    with pytest.raises(FloatingPointError, match=rf"^{function.__name__} is not finite in some elements{advice}"):
        function(tg.tensor([[float("inf"), 0.5]]), tg.tensor([[1.0, 0.0]]), reduction="none")


def test_bad_arguments_get_errors_that_name_the_problem():
    with pytest.raises(ValueError, match=r"unknown reduction 'lecture'"):
        F.l1_loss(tg.ones(2), tg.ones(2), "lecture")
    with pytest.raises(ValueError, match=r"unknown reduction 'avg'"):
        nn.CrossEntropyLoss(reduction="avg")
    with pytest.raises(ValueError, match=r"prediction shape \(4, 1\) and target shape \(4,\)"):
        nn.L1Loss()(tg.ones(4, 1), tg.ones(4))
    with pytest.raises(ValueError, match=r"labels must lie in \[0, 3\) \(or be ignore_index=-100\), got 3"):
        F.cross_entropy(tg.ones(2, 3), tg.tensor([0, 3]))
    with pytest.raises(ValueError, match=r"one entry per class, shape \(3,\), got \(4,\)"):
        F.cross_entropy(tg.ones(2, 3), tg.tensor([0, 1]), weight=tg.ones(4))
    with pytest.raises(ValueError, match="weight cannot require grad"):
        F.cross_entropy(tg.ones(2, 3), tg.tensor([0, 1]), weight=tg.ones(3, requires_grad=True))
    with pytest.raises(TypeError, match="integer class indices"):
        F.cross_entropy(tg.ones(2, 3), tg.tensor([True, False]))
    with pytest.raises(ValueError, match=r"labels of shape .* got \(2, 3\) and \(3,\)"):
        F.cross_entropy(tg.ones(2, 3), tg.tensor([0, 1, 2]))
    with pytest.raises(ValueError, match="label_smoothing must lie in"):
        F.cross_entropy(tg.ones(2, 3), tg.tensor([0, 1]), label_smoothing=1.5)
    with pytest.raises(ValueError, match="delta must be positive"):
        F.huber_loss(tg.ones(2), tg.ones(2), delta=0)
    with pytest.raises(TypeError):  # PyTorch's positional size_average would otherwise land on ignore_index
        nn.CrossEntropyLoss(None, None, 3)


PAIRED = {  # the losses of a prediction and a target of the same shape: name -> (function, its reductions)
    "mse_loss": (F.mse_loss, "('lecture', 'mean', 'sum', 'none')"),
    "l1_loss": (F.l1_loss, "('mean', 'sum', 'none')"),
    "huber_loss": (F.huber_loss, "('mean', 'sum', 'none')"),
    "binary_cross_entropy": (F.binary_cross_entropy, "('mean', 'sum', 'none')"),
    "binary_cross_entropy_with_logits": (F.binary_cross_entropy_with_logits, "('mean', 'sum', 'none')"),
}
EMPTY_MEAN = "the mean over no examples is undefined (PyTorch gives nan); skip empty batches, or use reduction='sum'"


def whole(message):
    """A pattern for the whole error message (raised inside an op, it follows the op's "Name: ...: ")."""
    return rf"(^|: ){re.escape(message)}$"


@pytest.mark.parametrize("name", sorted(PAIRED))
def test_every_error_of_the_paired_losses_is_the_whole_sentence_naming_the_loss(name):
    function, reductions = PAIRED[name]
    with pytest.raises(ValueError, match=whole(f"{name}: unknown reduction 'avg', choose one of {reductions}")):
        function(tg.ones(2), tg.ones(2), reduction="avg")
    with pytest.raises(TypeError, match=whole(f"{name}: input must be a Tensor, got list")):
        function([0.5, 0.5], tg.ones(2))
    with pytest.raises(ValueError, match=whole(
            f"{name}: prediction shape (2, 1) and target shape (2,) differ; give both the same shape (where PyTorch "
            "can, it broadcasts them with a warning: (n, 1) against (n,) becomes an (n, n) table, usually by mistake)")):
        function(tg.ones(2, 1), tg.ones(2))
    with pytest.raises(TypeError, match=whole(f"{name}: predictions must be float, got int64")):
        function(tg.tensor([1, 0]), tg.tensor([1, 0]))
    for reduction in ("mean", "lecture") if name == "mse_loss" else ("mean",):
        with pytest.raises(ValueError, match=whole(f"{name}: empty batch (0, 3): {EMPTY_MEAN}")):
            function(tg.zeros(0, 3), tg.zeros(0, 3), reduction=reduction)


@pytest.mark.parametrize("name", ["nll_loss", "cross_entropy"])
def test_every_error_of_the_classification_losses_is_the_whole_sentence_naming_the_loss(name):
    function = getattr(F, name)
    with pytest.raises(ValueError, match=whole(f"{name}: unknown reduction 'avg', choose one of ('mean', 'sum', 'none')")):
        function(tg.ones(2, 3), tg.tensor([0, 1]), reduction="avg")
    with pytest.raises(TypeError, match=whole(f"{name}: input must be a Tensor, got ndarray")):
        function(np.ones((2, 3)), tg.tensor([0, 1]))
    with pytest.raises(TypeError, match=whole(f"{name}: labels must be integer class indices (or, for cross_entropy, "
                                              "float probabilities), got bool")):
        function(tg.ones(2, 3), tg.tensor([True, False]))
    with pytest.raises(ValueError, match=whole(
            f"{name}: expected input of shape (n, classes) or (n, classes, d1, ...) and labels of shape (n,) or "
            "(n, d1, ...), got (2, 3) and (3,)")):
        function(tg.ones(2, 3), tg.tensor([0, 1, 2]))
    with pytest.raises(ValueError, match=whole(f"{name}: expected input of shape (n, classes) or (n, classes, d1, ...) "
                                               "and labels of shape (n,) or (n, d1, ...), got () and ()")):
        function(tg.tensor(1.0), tg.tensor(0))
    with pytest.raises(ValueError, match=whole(f"{name}: empty batch (0, 3): {EMPTY_MEAN}")):
        function(tg.zeros(0, 3), np.zeros(0, dtype=np.int64))
    with pytest.raises(ValueError, match=whole(f"{name}: weight must have one entry per class, shape (3,), got (4,)")):
        function(tg.ones(2, 3), tg.tensor([0, 1]), weight=tg.ones(4))
    with pytest.raises(ValueError, match=whole(f"{name}: weight cannot require grad (there is no gradient with respect "
                                               "to it); pass weight.detach()")):
        function(tg.ones(2, 3), tg.tensor([0, 1]), weight=tg.ones(3, requires_grad=True))
    with pytest.raises(ValueError, match=whole(f"{name}: labels must lie in [0, 3) (or be ignore_index=-100), got 3")):
        function(tg.ones(2, 3), tg.tensor([0, 3]))
    with pytest.raises(ValueError, match=whole(f"{name}: labels must lie in [0, 3) (or be ignore_index=7), got -1")):
        function(tg.ones(2, 3), tg.tensor([-1, 7]), ignore_index=7)
    with pytest.raises(ValueError, match=whole(f"{name}: the mean over no examples is undefined (PyTorch gives nan): "
                                               "every target is ignore_index or has weight 0")):
        function(tg.ones(2, 3), tg.tensor([0, 2]), weight=tg.tensor([0.0, 1.0, 0.0]))
    if name == "cross_entropy":
        with pytest.raises(ValueError, match=whole(
                "cross_entropy: float targets are class probabilities and must have the input's shape (2, 3), "
                "got (3, 2); class indices must be integers")):
            function(tg.ones(2, 3), tg.full((3, 2), 0.5))
        with pytest.raises(ValueError, match=whole("cross_entropy: label_smoothing must lie in [0, 1], got -0.1")):
            function(tg.ones(2, 3), tg.tensor([0, 1]), label_smoothing=-0.1)


def test_nll_loss_refuses_class_probabilities_naming_cross_entropy():
    with pytest.raises(TypeError, match=whole("nll_loss: labels must be integer class indices (or, for cross_entropy, "
                                              "float probabilities), got float32")):
        F.nll_loss(tg.ones(2, 3), tg.full((2, 3), 1 / 3))


def test_every_error_of_the_other_functions_is_the_whole_sentence():
    with pytest.raises(ValueError, match=whole("dropout: p must be a probability in [0, 1], got -0.5")):
        F.dropout(tg.ones(2), -0.5)
    with pytest.raises(ValueError, match=whole("huber_loss: delta must be positive, got -1.0")):
        F.huber_loss(tg.ones(2), tg.ones(2), delta=-1.0)
    with pytest.raises(TypeError, match=whole("one_hot: labels must be integers, got float64")):
        F.one_hot(np.array([0.5]), 3)
    with pytest.raises(ValueError, match=whole("one_hot: labels must lie in [0, 3), got -2")):
        F.one_hot(tg.tensor([0, -2, 1]), 3)
    with pytest.raises(ValueError, match=whole(
            "binary_cross_entropy: predictions must lie in [0, 1] (apply sigmoid first, or give the raw scores to "
            "binary_cross_entropy_with_logits)")):
        F.binary_cross_entropy(tg.tensor([0.5, 1.5]), tg.tensor([1.0, 0.0]))
    grad_needing = tg.ones(2, requires_grad=True)
    with pytest.raises(ValueError, match=whole("binary_cross_entropy: weight cannot require grad (there is no gradient "
                                               "with respect to it); pass weight.detach()")):
        F.binary_cross_entropy(tg.full((2,), 0.5), tg.ones(2), weight=grad_needing)
    for option in ("weight", "pos_weight"):
        with pytest.raises(ValueError, match=whole(f"binary_cross_entropy_with_logits: {option} cannot require grad "
                                                   f"(there is no gradient with respect to it); pass {option}.detach()")):
            F.binary_cross_entropy_with_logits(tg.ones(2), tg.ones(2), **{option: grad_needing})
    for module, option in ((nn.BCELoss, "weight"), (nn.BCEWithLogitsLoss, "pos_weight"), (nn.CrossEntropyLoss, "weight")):
        with pytest.raises(ValueError, match=whole(f"{module.__name__}: {option} cannot require grad (there is no "
                                                   f"gradient with respect to it); pass {option}.detach()")):
            module(**{option: grad_needing})  # refused when the module is made, naming the module
    for module, reductions in ((nn.MSELoss, "('lecture', 'mean', 'sum', 'none')"), (nn.L1Loss, "('mean', 'sum', 'none')"),
                               (nn.CrossEntropyLoss, "('mean', 'sum', 'none')")):
        with pytest.raises(ValueError, match=whole(f"{module.__name__}: unknown reduction 'avg', choose one of {reductions}")):
            module(reduction="avg")


def test_labels_are_an_input_of_the_loss_op_not_a_constant():
    """So that a recorded step (tinygrad_edu.jit) replays the op on the next batch's labels."""
    labels = tg.tensor([2, 0])
    loss = F.cross_entropy(leaf([[0.1, 0.2, 0.3], [1.0, 0.0, -1.0]]), labels)
    assert any(parent is labels for parent in loss.grad_fn.parents)


# --------------------------------------------------------------------------- the other functions
@given(data=st.data())
def test_activations_match_numpy_and_leaky_relu_passes_gradcheck(data):
    shape = data.draw(shapes())
    x = data.draw(f64(shape).filter(lambda x: np.all(np.abs(x) > 1e-3)))
    slope = data.draw(st.floats(0.001, 0.5))
    np.testing.assert_allclose(F.leaky_relu(leaf(x), slope).numpy(), np.where(x > 0, x, slope * x))
    np.testing.assert_allclose(F.leaky_relu(leaf(x)).numpy(), np.where(x > 0, x, 0.01 * x))
    assert tg.gradcheck(lambda x: F.leaky_relu(x, slope), [leaf(x)])
    np.testing.assert_allclose(F.relu(leaf(x)).numpy(), np.maximum(x, 0))
    np.testing.assert_allclose(F.sigmoid(leaf(x)).numpy(), 1 / (1 + np.exp(-x)), rtol=1e-12)
    np.testing.assert_allclose(F.tanh(leaf(x)).numpy(), np.tanh(x))
    dim = data.draw(st.integers(-len(shape), len(shape) - 1))
    np.testing.assert_allclose(F.log_softmax(leaf(x), dim).numpy(), log_softmax_np(x, dim), rtol=1e-12)
    np.testing.assert_allclose(F.softmax(leaf(x), dim=dim).numpy(), np.exp(log_softmax_np(x, dim)), rtol=1e-12)
    w, b = data.draw(f64((3, shape[-1]))), data.draw(f64((3,)))
    np.testing.assert_allclose(F.linear(leaf(x), leaf(w), leaf(b)).numpy(), x @ w.T + b, rtol=1e-12)


def test_leaky_relu_gradient_at_zero_is_the_slope_as_in_pytorch():
    x = leaf([0.0, 2.0, -2.0])
    F.leaky_relu(x, 0.2).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [0.2, 1.0, 0.2])


def test_softmax_needs_its_dim():
    with pytest.raises(TypeError):
        F.softmax(tg.ones(2, 3))


def test_one_hot_as_pytorch():
    labels = tg.tensor([[3, 0], [1, 1]])
    t = F.one_hot(labels)  # num_classes=-1: the largest label + 1
    np.testing.assert_array_equal(t.numpy(), np.eye(4, dtype=np.int64)[labels.numpy()])
    assert t.dtype == np.int64 and not t.requires_grad
    assert F.one_hot(labels, 6, dtype=np.float32).shape == (2, 2, 6)
    with pytest.raises(ValueError, match=r"labels must lie in \[0, 3\), got 3"):
        F.one_hot(labels, 3)
    with pytest.raises(TypeError, match="integers"):
        F.one_hot(np.array([0.5]), 3)


@given(data=st.data())
def test_dropout_passes_gradcheck_with_its_mask(data):
    x = data.draw(f64(data.draw(shapes())))
    p, seed = data.draw(st.sampled_from([0.2, 0.5, 0.9])), data.draw(st.integers(0, 2**16))
    # a new generator in the same state at every call: finite differences see the mask backward used
    assert tg.gradcheck(lambda x: F.dropout(x, p, generator=np.random.default_rng(seed)), [leaf(x)])


def test_dropout_scales_the_survivors_and_is_the_identity_out_of_training():
    x = tg.ones(300, 400)
    out = F.dropout(x, 0.3, generator=np.random.default_rng(0)).numpy()
    assert set(np.unique(out)) == {0.0, np.float32(1 / 0.7)}
    assert (out == 0).mean() == pytest.approx(0.3, abs=0.01)
    assert F.dropout(x, 0.3, training=False) is x
    assert F.dropout(x, 0.0) is x
    np.testing.assert_array_equal(F.dropout(x, 1.0).numpy(), 0)  # PyTorch: everything dropped
    with pytest.raises(ValueError, match=r"p must be a probability in \[0, 1\], got 1.5"):
        F.dropout(x, 1.5)


def test_dropout_drops_exactly_the_elements_whose_uniform_draw_is_below_p():
    """Kept where u ≥ p for u uniform on [0, 1), so P(kept) = 1 − p exactly, also for p on the grid of the draws."""
    x = tg.ones(3, 400)
    u = np.random.default_rng(3).random((3, 400), dtype=np.float32)  # the draws the op makes from this generator
    p = float(np.sort(u, axis=None)[360])  # one element's draw is exactly p: it is kept
    out = F.dropout(x, p, generator=np.random.default_rng(3)).numpy()
    assert (out == 0).sum() == 360
    np.testing.assert_array_equal(out, (u >= p) / np.float32(1 - p))


def test_dropout_of_everything_gives_zeros_of_the_input_s_dtype_and_shape_and_a_zero_gradient():
    x = tg.Tensor(np.arange(6, dtype=np.float32).reshape(2, 3), requires_grad=True)
    out = F.dropout(x, 1.0)
    assert out.dtype == np.float32 and out.shape == (2, 3)
    np.testing.assert_array_equal(out.numpy(), np.zeros((2, 3), dtype=np.float32))
    (out * tg.tensor([[1.0, 2.0, 3.0]])).sum().backward()
    assert x.grad.dtype == np.float32
    np.testing.assert_array_equal(x.grad.numpy(), np.zeros((2, 3), dtype=np.float32))


def test_dropout_draws_a_new_mask_at_every_call_from_the_generator_seeded_at_that_time():
    x = tg.ones(50, 60)
    tg.manual_seed(7)
    first, second = F.dropout(x).numpy(), F.dropout(x).numpy()
    assert not np.array_equal(first, second)
    tg.manual_seed(7)  # replaces the default generator: the op must use the new one, not one it kept
    np.testing.assert_array_equal(F.dropout(x).numpy(), first)
    np.testing.assert_array_equal(nn.Dropout(0.5)(x).numpy(), second)  # the layer is the same op


def test_huber_defaults_are_pytorch_s_delta_one_and_the_mean():
    """δ = 1 and the mean, as in PyTorch: with |a − y| = (0.5, 1.5, 3), ½·0.25, 1.5 − ½ and 3 − ½."""
    a, y = tg.tensor([[0.5, 1.5, 3.0]], dtype=np.float64), tg.tensor([[0.0, 0.0, 0.0]], dtype=np.float64)
    expected = np.mean([0.5 * 0.25, 1.5 - 0.5, 3.0 - 0.5])
    np.testing.assert_allclose(F.huber_loss(a, y).item(), expected, rtol=1e-12)
    np.testing.assert_allclose(nn.HuberLoss()(a, y).item(), expected, rtol=1e-12)
    # δ = 2: the first two are within δ (½d²), the third beyond: 2·(3 − 1)
    np.testing.assert_allclose(nn.HuberLoss(delta=2.0)(a, y).item(), np.mean([0.125, 1.125, 4.0]), rtol=1e-12)


@pytest.mark.parametrize("function", [F.l1_loss, F.huber_loss])
def test_the_new_losses_name_themselves_in_their_errors(function):
    with pytest.raises(ValueError, match=rf"^{function.__name__}: prediction shape \(2, 1\) and target shape \(2,\)"):
        function(tg.ones(2, 1), tg.ones(2))


def test_dropout_drops_half_by_default_as_in_pytorch():
    drop = nn.Dropout(generator=np.random.default_rng(0))
    out = drop(tg.ones(20_000)).numpy()
    assert set(np.unique(out)) == {0.0, 2.0}  # survivors scaled by 1 / (1 − ½)
    assert abs((out == 0).mean() - 0.5) < 0.02


def test_leaky_relu_keeps_float32():
    z = tg.tensor([[-2.0, 0.0, 3.0]], requires_grad=True)
    out = F.leaky_relu(z, 0.1)
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out.numpy(), np.array([[-0.2, 0.0, 3.0]], dtype=np.float32))
    out.sum().backward()
    assert z.grad.dtype == np.float32


WEIGHTED_LOSSES = [
    (lambda w: nn.CrossEntropyLoss(w), ["weight"]), (lambda w: nn.NLLLoss(w), ["weight"]),
    (lambda w: nn.BCELoss(w), ["weight"]),
    (lambda w: nn.BCEWithLogitsLoss(w, pos_weight=2 * w), ["weight", "pos_weight"]),
]


@pytest.mark.parametrize("make, names", WEIGHTED_LOSSES)
def test_loss_weights_are_buffers_saved_loaded_and_converted_with_the_module(make, names):
    """As in PyTorch: a loss's weight belongs to its state (in state_dict, moved by double()), not to its options."""
    weight = np.array([0.5, 2.0, 3.0], dtype=np.float32)
    loss = make(tg.tensor(weight))
    state = loss.state_dict()
    assert list(state) == names and [name for name, _ in loss.named_buffers()] == names
    np.testing.assert_array_equal(state["weight"], weight)
    if "pos_weight" in names:
        np.testing.assert_array_equal(state["pos_weight"], 2 * weight)
    assert all(b.dtype == np.float64 for b in loss.double().buffers())
    loss.load_state_dict({name: np.full(3, 7.0) for name in names})
    np.testing.assert_array_equal(loss.weight.numpy(), [7.0, 7.0, 7.0])
    for unweighted in (nn.CrossEntropyLoss(), nn.NLLLoss(), nn.BCELoss(), nn.BCEWithLogitsLoss()):
        assert unweighted.state_dict() == {}


def test_a_loaded_class_weight_is_the_one_the_loss_uses():
    z, labels = np.random.default_rng(0).normal(size=(4, 3)), np.array([0, 2, 1, 2])
    loss = nn.CrossEntropyLoss(tg.tensor(np.ones(3)))
    new_weight = np.array([1.0, 4.0, 0.5])
    loss.load_state_dict({"weight": new_weight})
    np.testing.assert_allclose(loss(tg.Tensor(z), labels).numpy(), cross_entropy_np(z, labels, new_weight), rtol=1e-12)


def test_integer_labels_into_the_quadratic_cost_suggest_one_hot():
    outputs = tg.tensor(np.full((4, 10), 0.1))
    labels = np.array([3, 1, 4, 1])
    with pytest.raises(ValueError, match=r"looks like class labels .* nn\.one_hot\(labels, 10\)"):
        nn.MSELoss()(outputs, labels)
    with pytest.raises(ValueError, match=r"nn\.one_hot\(labels, 10\)"):
        F.mse_loss(outputs, tg.tensor(labels))
    with pytest.raises(ValueError, match=r"target \(2, 3\) looks like class labels .* shape \(2, 3, 7\).*"
                                         r"nn\.one_hot\(labels, 7\)"):  # outputs with more dims: the last is the classes
        nn.MSELoss()(tg.tensor(np.full((2, 3, 7), 0.1)), np.zeros((2, 3), dtype=np.int64))
    loss = nn.MSELoss()(outputs, nn.one_hot(labels, 10))  # the fix the message gives works
    expected = ((np.eye(10)[labels] - 0.1) ** 2).sum() / (2 * 4)
    assert np.isclose(loss.item(), expected)
    with pytest.raises(ValueError, match="prediction shape .* differ"):  # float targets of another shape: the old message
        F.mse_loss(outputs, np.zeros(4))


def test_one_hot_integer_targets_into_cross_entropy_say_what_to_give_instead():
    scores = tg.tensor(np.array([[2.0, 0.5, -1.0], [0.1, 0.2, 0.3]]))
    one_hot = np.array([[1, 0, 0], [0, 0, 1]])
    with pytest.raises(ValueError, match=r"as one-hot rows do; give class indices, target\.argmax\(dim=1\), or class "
                                         r"probabilities as floats, target\.float\(\)"):
        F.cross_entropy(scores, one_hot)
    by_index = F.cross_entropy(scores, tg.tensor(one_hot).argmax(dim=1)).item()
    by_probability = F.cross_entropy(scores, tg.tensor(one_hot).float().double()).item()
    z = scores.numpy()
    expected = -np.mean(z[[0, 1], [0, 2]] - np.log(np.exp(z).sum(1)))
    assert np.isclose(by_index, expected) and np.isclose(by_probability, expected)


def test_loss_options_set_as_attributes_take_effect_as_in_pytorch():
    """A loss module reads its options at every call, as Dropout.p and MSELoss.reduction are read: setting
    ``label_smoothing``, ``ignore_index``, ``delta``, ``weight`` or ``pos_weight`` after construction changes
    the next loss to the one NumPy's formula gives with the new option (not the constructor's value)."""
    rng = np.random.default_rng(3)
    z, labels = rng.normal(size=(5, 3)), np.array([0, 2, 1, 2, 1])
    w = np.array([0.5, 2.0, 3.0])
    cross_entropy = nn.CrossEntropyLoss()
    cross_entropy.label_smoothing, cross_entropy.ignore_index = 0.3, 2
    cross_entropy.weight = tg.tensor(w)
    np.testing.assert_allclose(cross_entropy(tg.Tensor(z), labels).item(),
                               cross_entropy_np(z, labels, w, ignore_index=2, smoothing=0.3), rtol=1e-12)
    nll = nn.NLLLoss()
    nll.ignore_index, nll.reduction = 1, "sum"
    log_p = log_softmax_np(z, 1)
    np.testing.assert_allclose(nll(tg.Tensor(log_p), labels).item(), -log_p[[0, 1, 3], [0, 2, 2]].sum(), rtol=1e-12)
    a, y = rng.normal(size=(4, 3)) * 3, rng.normal(size=(4, 3))
    huber = nn.HuberLoss()
    huber.delta = 2.5
    d = np.abs(a - y)
    np.testing.assert_allclose(huber(tg.Tensor(a), tg.Tensor(y)).item(),
                               np.where(d < 2.5, 0.5 * d * d, 2.5 * (d - 1.25)).mean(), rtol=1e-12)
    p, t = 1 / (1 + np.exp(-a)), (y > 0).astype(np.float64)
    bce = nn.BCELoss()
    bce.weight = tg.tensor(w)
    np.testing.assert_allclose(bce(tg.Tensor(p), tg.Tensor(t)).item(),
                               np.mean(-w * (t * np.log(p) + (1 - t) * np.log(1 - p))), rtol=1e-12)
    logits = nn.BCEWithLogitsLoss()
    logits.pos_weight = tg.tensor(w)
    np.testing.assert_allclose(logits(tg.Tensor(a), tg.Tensor(t)).item(),
                               np.mean(-(w * t * np.log(p) + (1 - t) * np.log(1 - p))), rtol=1e-12)
    assert repr(cross_entropy) == "CrossEntropyLoss(ignore_index=2, label_smoothing=0.3, reduction='mean')"
    assert repr(huber) == "HuberLoss(delta=2.5, reduction='mean')"
