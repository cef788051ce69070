"""nn.functional and the loss modules against PyTorch: every function, option and reduction, values and gradients.

PyTorch is a reference here, never a dependency: the module is skipped where it is not installed.
Everything runs in float64 on the same arrays, so the two must agree to rounding.
"""

from __future__ import annotations

import numpy as np
import pytest

import nn
import tinygrad_edu as tg

torch = pytest.importorskip("torch")
TF = torch.nn.functional
F = nn.functional
REDUCTIONS = ("mean", "sum", "none")


def both(array, requires_grad=True):
    """The same float64 array as a tinygrad-edu tensor and as a torch tensor."""
    array = np.array(array, dtype=np.float64)
    return (tg.Tensor(array.copy(), requires_grad=requires_grad),
            torch.tensor(array.copy(), requires_grad=requires_grad))


def labels(array):
    array = np.array(array, dtype=np.int64)
    return tg.Tensor(array.copy()), torch.tensor(array.copy())


def assert_same(ours, theirs, inputs):
    """Equal values, and equal gradients of Σ u·loss (a fixed random u) for every pair of inputs."""
    np.testing.assert_allclose(ours.numpy(), theirs.detach().numpy(), rtol=1e-10, atol=1e-12)
    u = np.random.default_rng(0).standard_normal(ours.shape)
    (ours * tg.Tensor(u)).sum().backward()
    (theirs * torch.tensor(u)).sum().backward()
    for mine, reference in inputs:
        np.testing.assert_allclose(mine.grad.numpy(), reference.grad.numpy(), rtol=1e-10, atol=1e-12)


RNG = np.random.default_rng(42)
SHAPES = [(5,), (4, 3), (2, 3, 4)]  # 1-D predictions are n examples of one output


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("name", ["mse_loss", "l1_loss", "huber_loss"])
def test_regression_losses(name, reduction, shape):
    (a, ta), (y, ty) = both(RNG.normal(size=shape)), both(RNG.normal(size=shape))
    options = {"delta": 0.8} if name == "huber_loss" else {}
    ours = getattr(F, name)(a, y, reduction=reduction, **options)
    assert_same(ours, getattr(TF, name)(ta, ty, reduction=reduction, **options), [(a, ta), (y, ty)])


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("module", ["MSELoss", "L1Loss", "HuberLoss"])
def test_regression_modules(module, reduction):
    (a, ta), (y, ty) = both(RNG.normal(size=(4, 3))), both(RNG.normal(size=(4, 3)))
    assert_same(getattr(nn, module)(reduction=reduction)(a, y),
                getattr(torch.nn, module)(reduction=reduction)(ta, ty), [(a, ta), (y, ty)])


def test_the_lecture_cost_is_half_pytorchs_sum_over_the_number_of_examples():
    for shape in SHAPES:
        (a, ta), (y, ty) = both(RNG.normal(size=shape)), both(RNG.normal(size=shape))
        assert_same(nn.MSELoss()(a, y), TF.mse_loss(ta, ty, reduction="sum") / (2 * shape[0]), [(a, ta), (y, ty)])


def test_integer_targets_as_pytorch_promotes_them():
    a = RNG.random((3, 4), dtype=np.float32)
    y = RNG.integers(0, 2, (3, 4))
    for name in ("mse_loss", "l1_loss", "huber_loss"):  # (PyTorch refuses them in binary_cross_entropy)
        ours, theirs = getattr(F, name)(tg.Tensor(a), tg.Tensor(y)), getattr(TF, name)(torch.tensor(a), torch.tensor(y))
        assert ours.dtype == np.float32 and theirs.dtype == torch.float32
        assert ours.item() == pytest.approx(theirs.item(), rel=1e-6)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weighted", [False, True])
def test_binary_cross_entropy(reduction, weighted):
    (a, ta), (y, ty) = both(RNG.uniform(0.02, 0.98, (4, 3))), both(RNG.uniform(0, 1, (4, 3)))
    weight = RNG.uniform(0.1, 2, 3) if weighted else None
    w, tw = both(weight, requires_grad=False) if weighted else (None, None)
    assert_same(F.binary_cross_entropy(a, y, w, reduction), TF.binary_cross_entropy(ta, ty, tw, reduction=reduction),
                [(a, ta), (y, ty)])
    (a, ta), (y, ty) = both([0.0, 1.0, 0.0, 1.0]), both([1.0, 0.0, 0.0, 1.0])  # the logs clamped at −100
    np.testing.assert_allclose(nn.BCELoss(reduction=reduction)(a, y).numpy(),
                               torch.nn.BCELoss(reduction=reduction)(ta, ty).detach().numpy())


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("options", [{}, {"weight": 3}, {"pos_weight": 3}, {"weight": 3, "pos_weight": 3}])
def test_binary_cross_entropy_with_logits(reduction, options):
    (z, tz), (y, ty) = both(RNG.normal(0, 4, (4, 3))), both(RNG.uniform(0, 1, (4, 3)))
    ours_options, torch_options = {}, {}
    for name, size in options.items():
        ours_options[name], torch_options[name] = both(RNG.uniform(0.1, 3, size), requires_grad=False)
    ours = nn.BCEWithLogitsLoss(reduction=reduction, **ours_options)(z, y)
    assert_same(ours, torch.nn.BCEWithLogitsLoss(reduction=reduction, **torch_options)(tz, ty), [(z, tz), (y, ty)])


CLASSIFICATION = [  # (scores shape, labels shape)
    ((6, 4), (6,)),
    ((3, 4, 5), (3, 5)),  # classes along dim 1, as in PyTorch
    ((2, 3, 2, 2), (2, 2, 2)),
    ((4,), ()),  # one example without a batch dimension
]


@pytest.mark.parametrize("shapes", CLASSIFICATION)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("smoothing", [0.0, 0.2])
def test_cross_entropy_with_every_option(shapes, reduction, weighted, smoothing):
    (z, tz) = both(RNG.normal(0, 2, shapes[0]))
    classes = shapes[0][1] if len(shapes[0]) > 1 else shapes[0][0]
    target = RNG.integers(0, classes, shapes[1])
    if target.ndim:
        target.flat[1::3] = -100  # some ignored examples (PyTorch's default ignore_index)
        target.flat[0] = 0
    y, ty = labels(target)
    w, tw = both(RNG.uniform(0.1, 3, classes), requires_grad=False) if weighted else (None, None)
    ours = F.cross_entropy(z, y, w, reduction=reduction, label_smoothing=smoothing)
    assert_same(ours, TF.cross_entropy(tz, ty, tw, reduction=reduction, label_smoothing=smoothing), [(z, tz)])
    (z, tz), (y, ty) = both(z.numpy()), labels(np.where(target == -100, 1, target))  # now class 1 is ignored
    module = nn.CrossEntropyLoss(w, ignore_index=1, reduction=reduction, label_smoothing=smoothing)
    reference = torch.nn.CrossEntropyLoss(tw, ignore_index=1, reduction=reduction, label_smoothing=smoothing)
    if reduction != "mean" or (y.numpy() != 1).any():
        assert_same(module(z, y), reference(tz, ty), [(z, tz)])


@pytest.mark.parametrize("shapes", CLASSIFICATION)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weighted", [False, True])
def test_nll_loss(shapes, reduction, weighted):
    dim = 1 if len(shapes[0]) > 1 else 0
    (log_p, t_log_p) = both(torch.log_softmax(torch.tensor(RNG.normal(size=shapes[0])), dim).numpy())
    classes = shapes[0][dim]
    y, ty = labels(RNG.integers(0, classes, shapes[1]))
    w, tw = both(RNG.uniform(0.1, 3, classes), requires_grad=False) if weighted else (None, None)
    assert_same(nn.NLLLoss(w, reduction=reduction)(log_p, y), torch.nn.NLLLoss(tw, reduction=reduction)(t_log_p, ty),
                [(log_p, t_log_p)])
    (log_p, t_log_p) = both(log_p.numpy())
    module = nn.NLLLoss(w, ignore_index=1, reduction=reduction)  # now class 1 is ignored
    reference = torch.nn.NLLLoss(tw, ignore_index=1, reduction=reduction)
    if reduction != "mean" or (y.numpy() != 1).any():  # all ignored: PyTorch's mean is nan, ours an error
        assert_same(module(log_p, y), reference(t_log_p, ty), [(log_p, t_log_p)])


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("smoothing", [0.0, 0.3])
def test_cross_entropy_against_probabilities(reduction, smoothing):
    (z, tz) = both(RNG.normal(size=(3, 4, 2)))
    q = RNG.uniform(0, 1, (3, 4, 2))
    (q, tq) = both(q / q.sum(axis=1, keepdims=True))
    w, tw = both(RNG.uniform(0.1, 3, 4), requires_grad=False)
    ours = F.cross_entropy(z, q, w, reduction=reduction, label_smoothing=smoothing)
    assert_same(ours, TF.cross_entropy(tz, tq, tw, reduction=reduction, label_smoothing=smoothing), [(z, tz), (q, tq)])


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_cross_entropy_with_masked_classes(reduction):
    scores = RNG.normal(size=(4, 5))
    scores[0, 1] = scores[1, 0] = scores[1, 4] = scores[3, 2] = -np.inf
    (z, tz), (y, ty) = both(scores), labels([0, 1, 3, 4])
    assert_same(F.cross_entropy(z, y, reduction=reduction), TF.cross_entropy(tz, ty, reduction=reduction), [(z, tz)])
    assert not np.isfinite(TF.cross_entropy(tz, ty, label_smoothing=0.1).item())  # and so we refuse it
    with pytest.raises(FloatingPointError):
        F.cross_entropy(z, y, label_smoothing=0.1)


def test_empty_batches_sum_to_zero_as_in_pytorch_and_the_mean_is_refused_where_pytorch_gives_nan():
    assert F.cross_entropy(tg.zeros(0, 3), tg.zeros(0, dtype=np.int64), reduction="sum").item() == 0
    assert TF.cross_entropy(torch.zeros(0, 3), torch.zeros(0, dtype=torch.long), reduction="sum").item() == 0
    assert np.isnan(TF.cross_entropy(torch.zeros(0, 3), torch.zeros(0, dtype=torch.long)).item())
    with pytest.raises(ValueError, match="empty batch"):
        F.cross_entropy(tg.zeros(0, 3), tg.zeros(0, dtype=np.int64))


@pytest.mark.parametrize("name", ["relu", "sigmoid", "tanh", "leaky_relu"])
def test_activations(name):
    x, tx = both(RNG.normal(size=(3, 4)))
    assert_same(getattr(F, name)(x), getattr(TF, name)(tx), [(x, tx)])


@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
@pytest.mark.parametrize("dim", [0, 1, -1])
def test_softmaxes(name, dim):
    x, tx = both(RNG.normal(size=(3, 4, 2)))
    assert_same(getattr(F, name)(x, dim), getattr(TF, name)(tx, dim), [(x, tx)])


def test_leaky_relu_with_a_slope_and_linear():
    x, tx = both(np.array([[-1.0, 0.0, 2.0], [0.5, -0.25, 0.0]]))
    assert_same(F.leaky_relu(x, 0.3), TF.leaky_relu(tx, 0.3), [(x, tx)])
    (x, tx), (w, tw), (b, tb) = both(RNG.normal(size=(5, 3))), both(RNG.normal(size=(2, 3))), both(RNG.normal(size=2))
    assert_same(F.linear(x, w, b), TF.linear(tx, tw, tb), [(x, tx), (w, tw), (b, tb)])


def test_one_hot():
    y, ty = labels([[3, 0], [1, 1]])
    for ours, theirs in [(F.one_hot(y), TF.one_hot(ty)), (F.one_hot(y, 6), TF.one_hot(ty, 6))]:
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
        assert ours.dtype == np.int64 and theirs.dtype == torch.int64


def test_dropout_keeps_pytorchs_scaling_and_expected_value():
    x, tx = both(np.ones((200, 300)), requires_grad=False)
    ours, theirs = F.dropout(x, 0.4).numpy(), TF.dropout(tx, 0.4).numpy()
    assert set(np.unique(ours)) == set(np.unique(theirs)) == {0.0, 1 / 0.6}
    assert ours.mean() == pytest.approx(theirs.mean(), abs=0.02)
    np.testing.assert_array_equal(F.dropout(x, 1.0).numpy(), TF.dropout(tx, 1.0).numpy())
    np.testing.assert_array_equal(F.dropout(x, 0.4, training=False).numpy(), TF.dropout(tx, 0.4, training=False).numpy())


@pytest.mark.parametrize("name, options", [
    ("CrossEntropyLoss", {}), ("NLLLoss", {}), ("BCELoss", {}), ("BCEWithLogitsLoss", {"pos_weight": [1.5, 0.5]}),
])
def test_loss_weights_are_in_the_state_dict_as_in_pytorch(name, options):
    weight = [2.0, 3.0]
    ours = getattr(nn, name)(tg.tensor(weight), **{k: tg.tensor(v) for k, v in options.items()})
    theirs = getattr(torch.nn, name)(torch.tensor(weight), **{k: torch.tensor(v) for k, v in options.items()})
    assert list(ours.state_dict()) == list(theirs.state_dict())
    for key, value in theirs.double().state_dict().items():
        np.testing.assert_array_equal(ours.double().state_dict()[key], value.numpy())
        assert ours.state_dict()[key].dtype == np.float64
