"""Second derivatives through the nn layers and every loss: Hessian-vector products against finite
differences of the first derivative (always) and against PyTorch (where installed); the gradient penalty."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import nn
import nn.functional as F
import tinygrad_edu as tg

LABELS = np.array([0, 2, 1, 2, 0])
IGNORED = np.array([0, -100, 1, 2, -100])

# name -> (loss of (output z of shape (5, 3), targets), the kind of target); targets are made from a seed
LOSSES = {
    "mse lecture": lambda z, t: F.mse_loss(z.sigmoid(), t["soft"], reduction="lecture"),
    "mse mean": lambda z, t: F.mse_loss(z, t["soft"]),
    "mse sum": lambda z, t: F.mse_loss(z.tanh(), t["soft"], reduction="sum"),
    "mse none": lambda z, t: F.mse_loss(z, t["soft"], reduction="none"),
    "l1": lambda z, t: F.l1_loss(z, t["soft"], reduction="sum") * (z * z).mean(),
    "huber": lambda z, t: F.huber_loss(z * 3, t["soft"], delta=0.5),
    "cross-entropy": lambda z, t: F.cross_entropy(z, LABELS),
    "cross-entropy weighted, smoothed": lambda z, t: F.cross_entropy(z, LABELS, weight=t["weight"], label_smoothing=0.2),
    "cross-entropy ignore_index, sum": lambda z, t: F.cross_entropy(z, IGNORED, reduction="sum"),
    "cross-entropy none, smoothed": lambda z, t: F.cross_entropy(z, IGNORED, reduction="none", label_smoothing=0.1),
    "cross-entropy soft targets": lambda z, t: F.cross_entropy(z, t["probabilities"], weight=t["weight"], label_smoothing=0.1),
    "nll": lambda z, t: F.nll_loss(z.log_softmax(1), LABELS, weight=t["weight"]),
    "bce": lambda z, t: F.binary_cross_entropy(z.sigmoid(), t["soft"], weight=t["weight"]),
    "bce with logits": lambda z, t: F.binary_cross_entropy_with_logits(z, t["soft"], weight=t["weight"],
                                                                       pos_weight=t["pos_weight"]),
}


def targets(seed: int, module=tg) -> dict:
    rng = np.random.default_rng(seed)
    p = rng.uniform(0.1, 1, (5, 3))
    return {name: module.tensor(value) for name, value in {
        "soft": rng.uniform(0, 1, (5, 3)), "probabilities": p / p.sum(1, keepdims=True),
        "weight": rng.uniform(0.5, 2, 3), "pos_weight": rng.uniform(0.5, 2, 3)}.items()}


def network(seed: int) -> tuple:
    """A 4-6-3 network (sigmoid hidden layer), float64, its parameters, and a batch of 5 inputs."""
    rng = np.random.default_rng(seed)
    model = nn.Sequential(nn.Linear(4, 6, generator=rng), nn.Sigmoid(), nn.Linear(6, 3, generator=rng)).double()
    return model, list(model.parameters()), tg.Tensor(rng.standard_normal((5, 4)))


@pytest.mark.parametrize("loss", LOSSES.values(), ids=LOSSES.keys())
@settings(max_examples=3)
@given(seed=st.integers(0, 2**16))
def test_hessian_vector_products_of_a_network_with_each_loss_match_finite_differences(loss, seed):
    """gradgradcheck: the derivatives of ∂L/∂θ (recorded with create_graph) against its finite differences,
    with respect to every parameter θ and to the input x."""
    model, params, x = network(seed)
    x.requires_grad = True
    t = targets(seed)
    assert tg.gradgradcheck(lambda x, *ps: loss(model(x), t), [x, *params])


def hessian_vector_products(grad, loss, params, vs):
    """H v for the parameters: ∂/∂θ (∂L/∂θ · v), a grad of a grad."""
    first = grad(loss, params, create_graph=True)
    return grad(sum((g * v).sum() for g, v in zip(first, vs)), params)


@pytest.mark.parametrize("name", LOSSES)
def test_hessian_vector_products_with_each_loss_equal_pytorchs(name):
    torch = pytest.importorskip("torch")
    import torch.nn.functional as TF

    torch_losses = {
        "mse lecture": lambda z, t: ((z.sigmoid() - t["soft"]) ** 2).sum() / (2 * len(z)),
        "mse mean": lambda z, t: TF.mse_loss(z, t["soft"]),
        "mse sum": lambda z, t: TF.mse_loss(z.tanh(), t["soft"], reduction="sum"),
        "mse none": lambda z, t: TF.mse_loss(z, t["soft"], reduction="none"),
        "l1": lambda z, t: TF.l1_loss(z, t["soft"], reduction="sum") * (z * z).mean(),
        "huber": lambda z, t: TF.huber_loss(z * 3, t["soft"], delta=0.5),
        "cross-entropy": lambda z, t: TF.cross_entropy(z, torch.tensor(LABELS)),
        "cross-entropy weighted, smoothed": lambda z, t: TF.cross_entropy(z, torch.tensor(LABELS), weight=t["weight"],
                                                                          label_smoothing=0.2),
        "cross-entropy ignore_index, sum": lambda z, t: TF.cross_entropy(z, torch.tensor(IGNORED), reduction="sum"),
        "cross-entropy none, smoothed": lambda z, t: TF.cross_entropy(z, torch.tensor(IGNORED), reduction="none",
                                                                      label_smoothing=0.1),
        "cross-entropy soft targets": lambda z, t: TF.cross_entropy(z, t["probabilities"], weight=t["weight"],
                                                                    label_smoothing=0.1),
        "nll": lambda z, t: TF.nll_loss(z.log_softmax(1), torch.tensor(LABELS), weight=t["weight"]),
        "bce": lambda z, t: TF.binary_cross_entropy(z.sigmoid(), t["soft"], weight=t["weight"]),
        "bce with logits": lambda z, t: TF.binary_cross_entropy_with_logits(z, t["soft"], weight=t["weight"],
                                                                            pos_weight=t["pos_weight"]),
    }
    model, params, x = network(0)
    theirs = torch.nn.Sequential(torch.nn.Linear(4, 6), torch.nn.Sigmoid(), torch.nn.Linear(6, 3)).double()
    with torch.no_grad():
        for p, q in zip(params, theirs.parameters()):
            q.copy_(torch.tensor(p.numpy()))
    rng = np.random.default_rng(1)
    vs = [rng.standard_normal(p.shape) for p in params]
    u = rng.standard_normal((5, 3))  # weights a loss with reduction "none" into a scalar

    def scalar(loss):
        return (loss * (u if loss.ndim == 2 else u[:, 0])).sum() if loss.ndim else loss

    ours = hessian_vector_products(tg.autograd.grad, scalar(LOSSES[name](model(x), targets(0))), params,
                                   [tg.Tensor(v) for v in vs])
    u = torch.tensor(u)
    expected = hessian_vector_products(torch.autograd.grad, scalar(torch_losses[name](theirs(torch.tensor(x.numpy())),
                                                                                      targets(0, torch))),
                                       list(theirs.parameters()), [torch.tensor(v) for v in vs])
    for a, b in zip(ours, expected):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-9, atol=1e-12)


def gradient_penalty_loss(grad, w, X, y, lam):
    """L = ½ Σ (X w − y)², plus λ ‖∂L/∂X‖² (the input-gradient penalty), as a tensor of w."""
    loss = 0.5 * ((X @ w - y) ** 2).sum()
    (dx,) = grad(loss, X, create_graph=True)
    return loss + lam * (dx * dx).sum()


def test_a_gradient_penalty_changes_the_weights_gradient_as_its_formula_says():
    """∂L/∂Xᵢ = rᵢ w with r = Xw − y, so the penalty P = Σ rᵢ² ‖w‖² and ∂P/∂w = Σ 2rᵢ‖w‖² Xᵢ + 2rᵢ² w."""
    rng = np.random.default_rng(3)
    X_, y_, w_ = rng.standard_normal((6, 3)), rng.standard_normal(6), rng.standard_normal(3)
    w, X, lam = tg.Tensor(w_, requires_grad=True), tg.Tensor(X_, requires_grad=True), 0.3
    gradient_penalty_loss(tg.autograd.grad, w, X, tg.Tensor(y_), lam).backward(inputs=[w])
    r = X_ @ w_ - y_
    plain = X_.T @ r
    penalty = (2 * r * (w_ @ w_)) @ X_ + 2 * (r @ r) * w_
    np.testing.assert_allclose(w.grad.numpy(), plain + lam * penalty, rtol=1e-12)
    assert np.abs(lam * penalty).min() > 1e-3  # the penalty's share is there, not silently dropped


def test_a_gradient_penalty_on_a_network_equals_pytorchs():
    torch = pytest.importorskip("torch")
    model, params, x = network(5)
    labels = np.array([1, 0, 2, 2, 1])

    def penalised(module, grad, inputs, cross_entropy, target):
        loss = cross_entropy(module(inputs), target)
        (dx,) = grad(loss, inputs, create_graph=True)
        return loss + 0.5 * (dx * dx).sum()

    x.requires_grad = True
    penalised(model, tg.autograd.grad, x, F.cross_entropy, labels).backward()
    theirs = torch.nn.Sequential(torch.nn.Linear(4, 6), torch.nn.Sigmoid(), torch.nn.Linear(6, 3)).double()
    with torch.no_grad():
        for p, q in zip(params, theirs.parameters()):
            q.copy_(torch.tensor(p.numpy()))
    tx = torch.tensor(x.numpy(), requires_grad=True)
    penalised(theirs, torch.autograd.grad, tx, torch.nn.functional.cross_entropy, torch.tensor(labels)).backward()
    for p, q in zip(params, theirs.parameters()):
        np.testing.assert_allclose(p.grad.numpy(), q.grad.numpy(), rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-10, atol=1e-14)


def test_dropout_and_leaky_relu_are_differentiable_twice():
    x = tg.Tensor(np.random.default_rng(0).standard_normal((4, 5)), requires_grad=True)
    mask_seed = np.random.default_rng(7)
    masks = {}

    def f(x):  # the same dropout mask on every call (its generator is copied), so finite differences compare
        return F.dropout(F.leaky_relu(x, 0.2) ** 2, p=0.3, generator=np.random.default_rng(7)) * x

    assert tg.gradgradcheck(f, [x])


@pytest.mark.parametrize("loss", [
    lambda z, y: F.binary_cross_entropy(z.sigmoid(), y.sigmoid()),
    lambda z, y: F.binary_cross_entropy_with_logits(z, y.sigmoid(), pos_weight=tg.tensor([0.5, 2.0, 1.5])),
    lambda z, y: F.mse_loss(z, y.tanh(), reduction="sum"),
    lambda z, y: F.huber_loss(z * 2, y, delta=0.7),
    lambda z, y: F.cross_entropy(z, y.softmax(1), label_smoothing=0.3),
], ids=["bce", "bce with logits", "mse", "huber", "soft cross-entropy"])
def test_losses_are_differentiable_twice_in_their_targets_too(loss):
    rng = np.random.default_rng(4)
    z, y = (tg.Tensor(rng.standard_normal((4, 3)), requires_grad=True) for _ in range(2))
    assert tg.gradgradcheck(loss, [z, y])
