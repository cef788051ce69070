"""The training toolkit against PyTorch itself, where it is installed (skipped cleanly where it is not).

Optimizers with every option over 40 steps, schedulers over 45 epochs, BatchNorm1d and LayerNorm
in training and evaluation (outputs, running statistics, gradients), init gains and spreads,
gradient clipping, and state_dict keys. All in float64, so agreement is to rounding.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import nn
import tinygrad_edu as tg

torch = pytest.importorskip("torch")

from test_optim import STEPS, W0, gradient  # the same noisy quadratic bowl as the NumPy-formula tests


OPTIMIZERS = [
    ("SGD", dict(lr=0.1)),
    ("SGD", dict(lr=0.1, momentum=0.9, dampening=0.2, weight_decay=0.01)),
    ("SGD", dict(lr=0.05, momentum=0.9, nesterov=True, maximize=True)),
    ("Adam", dict(lr=0.01, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.1)),
    ("Adam", dict(lr=0.01, amsgrad=True, maximize=True)),
    ("AdamW", dict(lr=0.01, weight_decay=0.1)),
    ("AdamW", dict(lr=0.01, amsgrad=True)),
    ("RMSprop", dict(lr=0.01, alpha=0.9, weight_decay=0.05)),
    ("RMSprop", dict(lr=0.01, momentum=0.5, centered=True, eps=1e-6)),
    ("RMSprop", dict(lr=0.01, momentum=0.3, maximize=True)),
    ("Adagrad", dict(lr=0.1, lr_decay=0.05, weight_decay=0.01, initial_accumulator_value=0.5)),
    ("Adagrad", dict(lr=0.1, eps=1e-6, maximize=True)),
]


@pytest.mark.parametrize("name, settings", OPTIMIZERS, ids=[f"{n}-{'-'.join(s)}" for n, s in OPTIMIZERS])
def test_optimizer_trajectories_match_pytorch(name, settings):
    ours = nn.Parameter(W0.copy())
    theirs = torch.tensor(W0.copy(), requires_grad=True)
    ours_opt = getattr(nn.optim, name)([ours], **settings)
    theirs_opt = getattr(torch.optim, name)([theirs], **settings)
    for t in range(STEPS):
        ours.grad = tg.Tensor(gradient(ours.numpy(), t))
        theirs.grad = torch.tensor(gradient(theirs.detach().numpy(), t))
        ours_opt.step()
        theirs_opt.step()
        np.testing.assert_allclose(ours.numpy(), theirs.detach().numpy(), rtol=1e-10, atol=1e-12, err_msg=f"step {t}")


def test_state_dict_layout_matches_pytorch():
    a, b = nn.Parameter(np.ones(2)), nn.Parameter(np.ones(3))
    ta, tb = torch.ones(2, dtype=torch.float64, requires_grad=True), torch.ones(3, dtype=torch.float64, requires_grad=True)
    ours = nn.optim.Adam([{"params": [a]}, {"params": [b], "lr": 0.5}], lr=0.1, betas=(0.8, 0.9))
    theirs = torch.optim.Adam([{"params": [ta]}, {"params": [tb], "lr": 0.5}], lr=0.1, betas=(0.8, 0.9))
    b.grad, tb.grad = tg.Tensor(np.ones(3)), torch.ones(3, dtype=torch.float64)
    ours.step()
    theirs.step()
    ours_state, theirs_state = ours.state_dict(), theirs.state_dict()
    assert list(ours_state["state"]) == list(theirs_state["state"]) == [1]
    assert set(ours_state["state"][1]) == set(theirs_state["state"][1])
    for ours_group, theirs_group in zip(ours_state["param_groups"], theirs_state["param_groups"]):
        assert ours_group["params"] == theirs_group["params"]
        for key in ours_group:
            assert ours_group[key] == theirs_group[key], key


def lrs_per_epoch(scheduler, optimizer, epochs, metrics=None):
    rates = []
    for e in range(epochs):
        rates.append([group["lr"] for group in optimizer.param_groups])
        optimizer.step()  # no gradients: changes nothing, but PyTorch wants it called before the scheduler
        if metrics is None:
            scheduler.step()
        else:
            scheduler.step(metrics[e])
    return np.array(rates)


SCHEDULERS = [
    ("StepLR", dict(step_size=7, gamma=0.5)),
    ("MultiStepLR", dict(milestones=[5, 12, 12, 30], gamma=0.1)),
    ("ExponentialLR", dict(gamma=0.93)),
    ("CosineAnnealingLR", dict(T_max=10, eta_min=0.001)),
    ("LambdaLR", dict(lr_lambda=lambda e: 1 / (1 + 0.2 * e))),
]


@pytest.mark.parametrize("name, settings", SCHEDULERS, ids=[n for n, _ in SCHEDULERS])
def test_schedules_match_pytorch(name, settings):
    def build(module, make_parameter):
        groups = [{"params": [make_parameter()], "lr": lr} for lr in (0.1, 0.03)]
        opt = module.optim.SGD(groups, lr=1.0)
        return opt, getattr(module.optim.lr_scheduler, name)(opt, **settings)

    ours_opt, ours = build(nn, lambda: nn.Parameter(np.ones(2)))
    theirs_opt, theirs = build(torch, lambda: torch.nn.Parameter(torch.ones(2)))
    np.testing.assert_allclose(lrs_per_epoch(ours, ours_opt, 45), lrs_per_epoch(theirs, theirs_opt, 45), rtol=1e-12)


@pytest.mark.parametrize("settings", [
    dict(mode="min", factor=0.5, patience=3, threshold=0.0),
    dict(mode="min", factor=0.1, patience=2, threshold=0.05, cooldown=2, min_lr=1e-4),
    dict(mode="max", factor=0.5, patience=1, threshold=0.01, threshold_mode="abs", cooldown=1, min_lr=0.002),
])
def test_reduce_on_plateau_matches_pytorch(settings):
    rng = np.random.default_rng(4)
    metrics = np.concatenate([np.linspace(2, 1, 10), 1 + 0.02 * rng.standard_normal(40)])
    if settings["mode"] == "max":
        metrics = 1 - metrics / 2
    ours_opt = nn.optim.SGD([nn.Parameter(np.ones(1))], lr=0.1)
    theirs_opt = torch.optim.SGD([torch.nn.Parameter(torch.ones(1))], lr=0.1)
    ours = nn.optim.lr_scheduler.ReduceLROnPlateau(ours_opt, **settings)
    theirs = torch.optim.lr_scheduler.ReduceLROnPlateau(theirs_opt, **settings)
    np.testing.assert_allclose(lrs_per_epoch(ours, ours_opt, 50, metrics),
                               lrs_per_epoch(theirs, theirs_opt, 50, metrics), rtol=1e-12)


# ----------------------------------------------------------------------------- layers
def copy_into_torch(ours, theirs):
    theirs.load_state_dict({k: torch.tensor(v) for k, v in ours.state_dict().items()})


@pytest.mark.parametrize("shape", [(6, 3), (4, 3, 5)])
@pytest.mark.parametrize("options", [dict(), dict(momentum=None), dict(affine=False), dict(track_running_stats=False)])
def test_batchnorm_matches_pytorch_in_training_and_evaluation(shape, options):
    ours = nn.BatchNorm1d(3, **options).double()
    theirs = torch.nn.BatchNorm1d(3, **options).double()
    if ours.affine:
        ours.weight.data[...], ours.bias.data[...] = [0.5, 2.0, -1.0], [0.1, -0.3, 2.0]
    copy_into_torch(ours, theirs)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    rng = np.random.default_rng(0)
    for i, mode in enumerate(["train"] * 3 + ["eval"] * 2):
        ours.train(mode == "train")
        theirs.train(mode == "train")
        x = rng.normal(loc=i, scale=1 + i, size=shape)
        ours_x, theirs_x = tg.Tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
        ours_y, theirs_y = ours(ours_x), theirs(theirs_x)
        np.testing.assert_allclose(ours_y.numpy(), theirs_y.detach().numpy(), rtol=1e-10, atol=1e-12)
        upstream = rng.normal(size=shape)
        ours_y.backward(upstream)
        theirs_y.backward(torch.tensor(upstream))
        np.testing.assert_allclose(ours_x.grad.numpy(), theirs_x.grad.numpy(), rtol=1e-9, atol=1e-12)
        for (name, p), tp in zip(ours.named_parameters(), theirs.parameters()):
            np.testing.assert_allclose(p.grad.numpy(), tp.grad.numpy(), rtol=1e-9, atol=1e-12, err_msg=name)
            p.grad, tp.grad = None, None
        for name, value in ours.state_dict().items():
            np.testing.assert_allclose(value, theirs.state_dict()[name].numpy(), rtol=1e-12, err_msg=name)


@pytest.mark.parametrize("normalized_shape", [5, (4, 5)])
def test_layernorm_matches_pytorch(normalized_shape):
    ours, theirs = nn.LayerNorm(normalized_shape).double(), torch.nn.LayerNorm(normalized_shape).double()
    rng = np.random.default_rng(1)
    ours.weight.data[...] = rng.normal(size=ours.weight.shape)
    ours.bias.data[...] = rng.normal(size=ours.bias.shape)
    copy_into_torch(ours, theirs)
    x = rng.normal(loc=3, size=(2, 4, 5))
    ours_x, theirs_x = tg.Tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    ours_y, theirs_y = ours(ours_x), theirs(theirs_x)
    np.testing.assert_allclose(ours_y.numpy(), theirs_y.detach().numpy(), rtol=1e-10, atol=1e-12)
    upstream = rng.normal(size=x.shape)
    ours_y.backward(upstream)
    theirs_y.backward(torch.tensor(upstream))
    np.testing.assert_allclose(ours_x.grad.numpy(), theirs_x.grad.numpy(), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(ours.weight.grad.numpy(), theirs.weight.grad.numpy(), rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("ours, theirs", [
    (nn.LeakyReLU(0.2), torch.nn.LeakyReLU(0.2)),
    (nn.Softmax(dim=0), torch.nn.Softmax(dim=0)),
    (nn.LogSoftmax(dim=1), torch.nn.LogSoftmax(dim=1)),
    (nn.Identity(), torch.nn.Identity()),
], ids=["LeakyReLU", "Softmax", "LogSoftmax", "Identity"])
def test_activations_match_pytorch(ours, theirs):
    x = np.random.default_rng(2).normal(size=(4, 3)) * 3
    ours_x, theirs_x = tg.Tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    upstream = np.random.default_rng(3).normal(size=x.shape)
    (ours(ours_x) * tg.Tensor(upstream)).sum().backward()
    (theirs(theirs_x) * torch.tensor(upstream)).sum().backward()
    np.testing.assert_allclose(ours(tg.Tensor(x)).numpy(), theirs(torch.tensor(x)).numpy(), rtol=1e-12)
    np.testing.assert_allclose(ours_x.grad.numpy(), theirs_x.grad.numpy(), rtol=1e-12, atol=1e-15)


def test_load_state_dict_reports_the_same_keys_as_pytorch():
    ours = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4))
    theirs = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.BatchNorm1d(4))
    partial = {k: v for k, v in ours.state_dict().items() if k != "1.running_var"}
    partial["extra"] = np.zeros(1)
    ours_result = ours.load_state_dict(partial, strict=False)
    theirs_result = theirs.load_state_dict({k: torch.tensor(v) for k, v in partial.items()}, strict=False)
    assert ours_result.missing_keys == theirs_result.missing_keys == ["1.running_var"]
    assert ours_result.unexpected_keys == theirs_result.unexpected_keys == ["extra"]


# ----------------------------------------------------------------------------- init and clipping
@pytest.mark.parametrize("nonlinearity, param", [("linear", None), ("sigmoid", None), ("tanh", None), ("relu", None),
                                                 ("leaky_relu", None), ("leaky_relu", 0.2), ("selu", None)])
def test_gains_match_pytorch(nonlinearity, param):
    assert nn.init.calculate_gain(nonlinearity, param) == pytest.approx(
        torch.nn.init.calculate_gain(nonlinearity, param), rel=1e-15)


@pytest.mark.parametrize("name, kwargs", [
    ("xavier_uniform_", dict(gain=2.0)), ("xavier_normal_", dict(gain=0.5)), ("kaiming_uniform_", dict(a=math.sqrt(5))),
    ("kaiming_normal_", dict(mode="fan_out", nonlinearity="relu")), ("kaiming_uniform_", dict(a=0.2, mode="fan_in")),
])
@pytest.mark.parametrize("shape", [(200, 300), (20, 60, 5, 5)])
def test_init_spreads_and_bounds_match_pytorch(name, kwargs, shape):
    torch.manual_seed(0)
    ours = getattr(nn.init, name)(nn.Parameter(np.zeros(shape)), generator=np.random.default_rng(0), **kwargs).numpy()
    theirs = getattr(torch.nn.init, name)(torch.zeros(shape, dtype=torch.float64), **kwargs).numpy()
    assert ours.std() == pytest.approx(theirs.std(), rel=0.03)
    if "uniform" in name:
        assert np.abs(ours).max() == pytest.approx(np.abs(theirs).max(), rel=0.01)


def test_linear_default_init_has_pytorchs_bounds():
    ours, theirs = nn.Linear(300, 200), torch.nn.Linear(300, 200)
    bound = 1 / math.sqrt(300)  # weights and biases alike: uniform on [−1/√in, 1/√in]
    for values in (ours.weight.numpy(), ours.bias.numpy(), theirs.weight.detach().numpy(), theirs.bias.detach().numpy()):
        assert 0.95 * bound < np.abs(values).max() <= bound
    assert ours.weight.numpy().std() == pytest.approx(theirs.weight.detach().numpy().std(), rel=0.02)


@pytest.mark.parametrize("norm_type", [2.0, 1.0, 3.0, float("inf")])
@pytest.mark.parametrize("max_norm", [0.5, 1e3])
def test_clip_grad_matches_pytorch(norm_type, max_norm):
    grads = [np.random.default_rng(i).normal(size=shape) for i, shape in enumerate([(3, 4), (5,), (2, 2, 2)])]
    ours = [nn.Parameter(np.zeros_like(g)) for g in grads]
    theirs = [torch.zeros(g.shape, dtype=torch.float64, requires_grad=True) for g in grads]
    for p, tp, g in zip(ours, theirs, grads):
        p.grad, tp.grad = tg.Tensor(g.copy()), torch.tensor(g.copy())
    ours_norm = nn.utils.clip_grad_norm_(ours, max_norm, norm_type)
    theirs_norm = torch.nn.utils.clip_grad_norm_(theirs, max_norm, norm_type)
    assert ours_norm.item() == pytest.approx(theirs_norm.item(), rel=1e-12)
    for p, tp in zip(ours, theirs):
        np.testing.assert_allclose(p.grad.numpy(), tp.grad.numpy(), rtol=1e-12)
    nn.utils.clip_grad_value_(ours, 0.1)
    torch.nn.utils.clip_grad_value_(theirs, 0.1)
    for p, tp in zip(ours, theirs):
        np.testing.assert_allclose(p.grad.numpy(), tp.grad.numpy(), rtol=1e-12)


@pytest.mark.parametrize("norm_type", [2.0, float("inf")])
def test_clip_grad_norm_of_float32_and_float64_gradients_matches_pytorch(norm_type):
    grads = [np.array([[1.5, -2.0], [0.25, 3.0]], dtype=np.float32), np.array([0.5, -4.5])]
    ours = [nn.Parameter(np.zeros_like(g)) for g in grads]
    theirs = [torch.zeros(g.shape, dtype=torch.from_numpy(g).dtype, requires_grad=True) for g in grads]
    for p, tp, g in zip(ours, theirs, grads):
        p.grad, tp.grad = tg.Tensor(g.copy()), torch.tensor(g.copy())
    ours_norm = nn.utils.clip_grad_norm_(ours, 1.0, norm_type)
    theirs_norm = torch.nn.utils.clip_grad_norm_(theirs, 1.0, norm_type)
    assert ours_norm.dtype == np.float64 and theirs_norm.dtype == torch.float64
    assert ours_norm.item() == pytest.approx(theirs_norm.item(), rel=1e-15)
    for p, tp in zip(ours, theirs):
        assert p.grad.dtype == tp.grad.numpy().dtype
        np.testing.assert_allclose(p.grad.numpy(), tp.grad.numpy(), rtol=1e-7)
