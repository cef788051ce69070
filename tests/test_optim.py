"""Optimizers: each update against its formula written out in NumPy, and exact resumption."""

from __future__ import annotations

import numpy as np
import pytest

import nn
import tinygrad_edu as tg

STEPS = 5


def gradients(seed=0):
    """A fixed sequence of gradients for one (3, 2) weight."""
    rng = np.random.default_rng(seed)
    return [rng.normal(size=(3, 2)) for _ in range(STEPS)]


def run(optimizer_factory, w0, grads):
    """Apply the optimizer to a parameter fed the given gradients; return the weights after each step."""
    w = nn.Parameter(w0.copy())
    optimizer = optimizer_factory([w])
    history = []
    for g in grads:
        optimizer.zero_grad()
        w.grad = tg.Tensor(g)
        optimizer.step()
        history.append(w.numpy().copy())
    return history


def sgd_reference(w, grads, lr, momentum=0.0, nesterov=False, weight_decay=0.0):
    history, velocity = [], None
    for g in grads:
        g = g + weight_decay * w
        if momentum:
            velocity = g.copy() if velocity is None else momentum * velocity + g
            g = g + momentum * velocity if nesterov else velocity
        w = w - lr * g
        history.append(w)
    return history


def adam_reference(w, grads, lr, beta1, beta2, eps, weight_decay=0.0):
    history, m, v = [], np.zeros_like(w), np.zeros_like(w)
    for t, g in enumerate(grads, start=1):
        g = g + weight_decay * w
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g * g
        m_hat, v_hat = m / (1 - beta1**t), v / (1 - beta2**t)
        w = w - lr * m_hat / (np.sqrt(v_hat) + eps)
        history.append(w)
    return history


W0 = np.random.default_rng(9).normal(size=(3, 2))


@pytest.mark.parametrize("settings", [
    dict(lr=0.1),
    dict(lr=0.1, momentum=0.9),
    dict(lr=0.1, momentum=0.9, nesterov=True),
    dict(lr=0.05, momentum=0.5, weight_decay=0.01),
])
def test_sgd_follows_pytorchs_formula(settings):
    ours = run(lambda p: nn.optim.SGD(p, **settings), W0, gradients())
    for got, expected in zip(ours, sgd_reference(W0, gradients(), **settings)):
        np.testing.assert_allclose(got, expected, rtol=1e-12)


@pytest.mark.parametrize("weight_decay", [0.0, 0.1])
def test_adam_follows_pytorchs_formula(weight_decay):
    ours = run(lambda p: nn.optim.Adam(p, lr=0.01, betas=(0.8, 0.99), eps=1e-6, weight_decay=weight_decay),
               W0, gradients())
    for got, expected in zip(ours, adam_reference(W0, gradients(), 0.01, 0.8, 0.99, 1e-6, weight_decay)):
        np.testing.assert_allclose(got, expected, rtol=1e-12)


@pytest.mark.parametrize("factory", [
    lambda p: nn.optim.SGD(p, lr=0.1, momentum=0.9, nesterov=True),
    lambda p: nn.optim.Adam(p, lr=0.01),
])
def test_state_dict_resumes_exactly(factory):
    """3 steps, save, a new optimizer loads, 2 more steps == 5 steps without stopping, bit for bit."""
    grads = gradients()
    straight = run(factory, W0, grads)[-1]

    w = nn.Parameter(W0.copy())
    first = factory([w])
    for g in grads[:3]:
        w.grad = tg.Tensor(g)
        first.step()
    saved = {k: np.copy(v) for k, v in first.state_dict().items()}
    second = factory([w])
    second.load_state_dict(saved)
    for g in grads[3:]:
        w.grad = tg.Tensor(g)
        second.step()
    np.testing.assert_array_equal(w.numpy(), straight)


def test_state_dict_is_flat_arrays_and_numbers():
    w = nn.Parameter(W0.copy())
    optimizer = nn.optim.Adam([w])
    w.grad = tg.Tensor(np.ones_like(W0))
    optimizer.step()
    state = optimizer.state_dict()
    assert set(state) == {"lr", "beta1", "beta2", "eps", "weight_decay",
                          "state.0.step", "state.0.exp_avg", "state.0.exp_avg_sq"}
    with pytest.raises(ValueError, match="'state.0.exp_avg' has shape"):
        nn.optim.Adam([w]).load_state_dict({**state, "state.0.exp_avg": np.zeros(4)})
    with pytest.raises(KeyError, match="lr"):
        nn.optim.Adam([w]).load_state_dict({k: v for k, v in state.items() if k != "lr"})


def test_parameters_without_gradient_are_left_alone_and_grads_are_not_written():
    a, b = nn.Parameter(np.ones(2)), nn.Parameter(np.ones(2))
    grad = np.array([1.0, 2.0])
    a.grad = tg.Tensor(grad)
    nn.optim.SGD([a, b], lr=0.5, momentum=0.9, weight_decay=0.1).step()
    np.testing.assert_allclose(a.numpy(), 1 - 0.5 * (grad + 0.1))
    np.testing.assert_array_equal(b.numpy(), [1.0, 1.0])
    np.testing.assert_array_equal(grad, [1.0, 2.0])  # the gradient array itself is untouched


@pytest.mark.parametrize("make, message", [
    (lambda p: nn.optim.SGD(p, lr=-1), "learning rate"),
    (lambda p: nn.optim.SGD(p, lr=0.1, nesterov=True), "nesterov"),
    (lambda p: nn.optim.Adam(p, betas=(1.0, 0.9)), "betas"),
    (lambda p: nn.optim.SGD([], lr=0.1), "empty"),
])
def test_bad_settings_are_clear_errors(make, message):
    with pytest.raises(ValueError, match=message):
        make([nn.Parameter(np.ones(1))])
