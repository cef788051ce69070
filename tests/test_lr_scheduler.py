"""Learning-rate schedules: every epoch's rate against the closed-form formula in NumPy, and exact resumption."""

from __future__ import annotations

import math

import numpy as np
import pytest

import nn
import tinygrad_edu as tg
from nn.optim import lr_scheduler

EPOCHS = 45
LRS = (0.1, 0.03)  # two parameter groups with different rates


def optimizer(lrs=LRS):
    return nn.optim.SGD([{"params": [nn.Parameter(np.ones(2))], "lr": lr} for lr in lrs], lr=1.0)


def schedule(make, epochs=EPOCHS):
    """The learning rates of every group in epochs 0, 1, ..., stepping once per epoch."""
    opt = optimizer()
    scheduler = make(opt)
    rates = []
    for _ in range(epochs):
        rates.append([group["lr"] for group in opt.param_groups])
        assert scheduler.get_last_lr() == rates[-1]
        scheduler.step()
    return np.array(rates)


def closed_form(f, epochs=EPOCHS):
    e = np.arange(epochs)[:, None]
    return np.array(LRS)[None, :] * f(e)


CASES = {
    "StepLR": (lambda o: lr_scheduler.StepLR(o, step_size=7, gamma=0.5), lambda e: 0.5 ** (e // 7)),
    "MultiStepLR": (lambda o: lr_scheduler.MultiStepLR(o, milestones=[30, 5, 12, 12], gamma=0.1),
                    lambda e: 0.1 ** ((e >= 5).astype(int) + 2 * (e >= 12) + (e >= 30))),
    "ExponentialLR": (lambda o: lr_scheduler.ExponentialLR(o, gamma=0.93), lambda e: 0.93 ** e),
    "LambdaLR": (lambda o: lr_scheduler.LambdaLR(o, lambda epoch: 1 / (1 + 0.2 * epoch)), lambda e: 1 / (1 + 0.2 * e)),
}


@pytest.mark.parametrize("name", CASES)
def test_schedule_follows_its_closed_form(name):
    make, f = CASES[name]
    np.testing.assert_allclose(schedule(make), closed_form(f), rtol=1e-12)


@pytest.mark.parametrize("eta_min", [0.0, 0.01])
def test_cosine_annealing_follows_the_cosine_down_and_back_up(eta_min):
    T = 10  # 45 epochs: down, up, down, and half of up again
    rates = schedule(lambda o: lr_scheduler.CosineAnnealingLR(o, T_max=T, eta_min=eta_min))
    e = np.arange(EPOCHS)[:, None]
    expected = eta_min + (np.array(LRS)[None, :] - eta_min) * (1 + np.cos(np.pi * e / T)) / 2
    np.testing.assert_allclose(rates, expected, rtol=1e-9, atol=1e-15)


def test_lambda_lr_takes_one_function_per_group():
    rates = schedule(lambda o: lr_scheduler.LambdaLR(o, [lambda e: 0.9**e, lambda e: e + 1]))
    e = np.arange(EPOCHS)
    np.testing.assert_allclose(rates[:, 0], LRS[0] * 0.9**e, rtol=1e-12)
    np.testing.assert_allclose(rates[:, 1], LRS[1] * (e + 1), rtol=1e-12)
    with pytest.raises(ValueError, match="one function or 2"):
        lr_scheduler.LambdaLR(optimizer(), [lambda e: 1.0])


def test_schedulers_chain_by_multiplying_as_in_pytorch():
    opt = optimizer()
    step, exponential = lr_scheduler.StepLR(opt, step_size=3, gamma=0.5), lr_scheduler.ExponentialLR(opt, gamma=0.9)
    for _ in range(10):
        step.step()
        exponential.step()
    assert opt.param_groups[0]["lr"] == pytest.approx(LRS[0] * 0.5**3 * 0.9**10, rel=1e-12)


def test_the_optimizer_steps_with_the_scheduled_rate():
    w = nn.Parameter(np.zeros(1))
    opt = nn.optim.SGD([w], lr=1.0)
    scheduler = lr_scheduler.StepLR(opt, step_size=2, gamma=0.5)
    for _ in range(6):
        w.grad = tg.Tensor(np.ones(1))
        opt.step()
        scheduler.step()
    assert w.item() == -(1 + 1 + 0.5 + 0.5 + 0.25 + 0.25)


# ----------------------------------------------------------------------- ReduceLROnPlateau
def plateau_reference(metrics, lr, mode, factor, patience, threshold, threshold_mode, cooldown, min_lr, eps=1e-8):
    """PyTorch's documented rule, epoch by epoch: the rate in force after each step."""
    rel = threshold_mode == "rel"
    best, bad, cool, rates = (math.inf if mode == "min" else -math.inf), 0, 0, []
    for m in metrics:
        if mode == "min":  # lower by more than the threshold (a fraction of best, or an amount)
            better = m < (best * (1 - threshold) if rel else best - threshold)
        else:
            better = m > (best * (1 + threshold) if rel else best + threshold)
        if better:
            best, bad = m, 0
        else:
            bad += 1
        if cool > 0:
            cool, bad = cool - 1, 0
        if bad > patience:
            new = max(lr * factor, min_lr)
            lr = new if lr - new > eps else lr
            cool, bad = cooldown, 0
        rates.append(lr)
    return rates


@pytest.mark.parametrize("settings", [
    dict(mode="min", factor=0.5, patience=3, threshold=0.0, threshold_mode="rel", cooldown=0, min_lr=0.0),
    dict(mode="min", factor=0.1, patience=2, threshold=0.05, threshold_mode="rel", cooldown=2, min_lr=1e-4),
    dict(mode="max", factor=0.5, patience=1, threshold=0.01, threshold_mode="abs", cooldown=1, min_lr=0.002),
    dict(mode="max", factor=0.3, patience=0, threshold=0.001, threshold_mode="rel", cooldown=0, min_lr=0.0),
])
def test_reduce_on_plateau_follows_pytorchs_rule(settings):
    rng = np.random.default_rng(4)
    # a loss that falls, then wanders on a plateau, with small improvements now and then
    metrics = np.concatenate([np.linspace(2, 1, 10), 1 + 0.02 * rng.standard_normal(40)])
    if settings["mode"] == "max":
        metrics = 1 - metrics / 2  # an accuracy that rises, then plateaus
    opt = nn.optim.SGD([nn.Parameter(np.ones(1))], lr=0.1)
    scheduler = lr_scheduler.ReduceLROnPlateau(opt, **settings)
    rates = []
    for m in metrics:
        scheduler.step(m)
        rates.append(opt.param_groups[0]["lr"])
        assert scheduler.get_last_lr() == [rates[-1]]
    expected = plateau_reference(metrics, 0.1, **settings)
    assert rates == pytest.approx(expected, rel=1e-12)
    assert len(set(rates)) > 2  # the scenario does reduce, more than once


def test_reduce_on_plateau_by_hand():
    opt = nn.optim.SGD([nn.Parameter(np.ones(1))], lr=1.0)
    scheduler = lr_scheduler.ReduceLROnPlateau(opt, factor=0.5, patience=2, threshold=0)
    rates = []
    for loss in [5, 4, 4, 4, 4, 3, 3, 3, 3]:
        scheduler.step(loss)
        rates.append(opt.param_groups[0]["lr"])
    # 4 is not better than 4: bad epochs 1, 2, 3 > patience → halve at the 5th loss; again at the 9th
    assert rates == [1, 1, 1, 1, 0.5, 0.5, 0.5, 0.5, 0.25]


def test_reduce_on_plateau_checks_its_settings():
    opt = optimizer()
    with pytest.raises(ValueError, match="factor must lie in \\[0, 1\\)"):
        lr_scheduler.ReduceLROnPlateau(opt, factor=1.0)
    with pytest.raises(ValueError, match="mode must be 'min' or 'max'"):
        lr_scheduler.ReduceLROnPlateau(opt, mode="minimum")
    with pytest.raises(ValueError, match="threshold_mode"):
        lr_scheduler.ReduceLROnPlateau(opt, threshold_mode="relative")
    with pytest.raises(ValueError, match="expected 2 min_lr values"):
        lr_scheduler.ReduceLROnPlateau(opt, min_lr=[0.0])


# ----------------------------------------------------------------------- saving and resuming
RESUMABLE = {
    "StepLR": lambda o: lr_scheduler.StepLR(o, step_size=4, gamma=0.5),
    "MultiStepLR": lambda o: lr_scheduler.MultiStepLR(o, milestones=[3, 9, 9], gamma=0.5),
    "ExponentialLR": lambda o: lr_scheduler.ExponentialLR(o, gamma=0.8),
    "CosineAnnealingLR": lambda o: lr_scheduler.CosineAnnealingLR(o, T_max=6, eta_min=0.001),
    "LambdaLR": lambda o: lr_scheduler.LambdaLR(o, lambda e: 0.5 ** (e // 2)),
    "ReduceLROnPlateau": lambda o: lr_scheduler.ReduceLROnPlateau(o, factor=0.5, patience=1, cooldown=1),
}
LOSSES = [3, 2, 2, 2, 2, 1.5, 1.5, 1.5, 1.5, 1.5, 1.5, 1.4, 1.4, 1.4, 1.4, 1.4, 1.4, 1.4, 1.4, 1.4]


def advance(scheduler, epochs):
    for epoch in epochs:
        if isinstance(scheduler, lr_scheduler.ReduceLROnPlateau):
            scheduler.step(LOSSES[epoch])
        else:
            scheduler.step()


@pytest.mark.parametrize("name", RESUMABLE)
def test_state_dict_resumes_the_schedule_exactly(name, tmp_path):
    make = RESUMABLE[name]
    straight_opt = optimizer()
    straight = make(straight_opt)
    advance(straight, range(20))

    first_opt = optimizer()
    first = make(first_opt)
    advance(first, range(7))
    flat = {**nn.utils.flatten_state_dict(first_opt.state_dict(), "optim"),
            **nn.utils.flatten_state_dict(first.state_dict(), "scheduler")}
    np.savez(tmp_path / "checkpoint.npz", **flat)  # plain arrays: no pickle needed
    with np.load(tmp_path / "checkpoint.npz", allow_pickle=False) as archive:
        saved = nn.utils.unflatten_state_dict({k: archive[k] for k in archive.files})

    second_opt = optimizer()
    second = make(second_opt)
    second_opt.load_state_dict(saved["optim"])
    second.load_state_dict(saved["scheduler"])
    assert second.get_last_lr() == first.get_last_lr()
    advance(second, range(7, 20))
    assert second.get_last_lr() == straight.get_last_lr()
    assert [g["lr"] for g in second_opt.param_groups] == [g["lr"] for g in straight_opt.param_groups]
    assert second.state_dict().keys() == straight.state_dict().keys()
    assert straight.get_last_lr() != list(LRS)  # the schedule did change the rates


def test_lambda_functions_are_not_saved_and_other_schedulers_states_are_refused():
    opt = optimizer()
    scheduler = lr_scheduler.LambdaLR(opt, lambda e: 0.5)
    assert "lr_lambdas" not in scheduler.state_dict()
    with pytest.raises(ValueError, match="missing keys \\[\\], unexpected keys \\['step_size'\\]"):
        lr_scheduler.ExponentialLR(optimizer(), gamma=0.5).load_state_dict(
            lr_scheduler.StepLR(optimizer(), step_size=2, gamma=0.5).state_dict())
    with pytest.raises(ValueError, match="step_size must be a positive integer"):
        lr_scheduler.StepLR(opt, step_size=0)
    with pytest.raises(TypeError, match="needs an nn.optim optimizer"):
        lr_scheduler.ExponentialLR([nn.Parameter(np.ones(1))], gamma=0.5)


def test_initial_lr_is_recorded_and_a_resumed_schedule_needs_it():
    opt = optimizer()
    lr_scheduler.ExponentialLR(opt, gamma=0.5)
    assert [g["initial_lr"] for g in opt.param_groups] == list(LRS)
    with pytest.raises(KeyError, match="initial_lr"):
        lr_scheduler.ExponentialLR(optimizer(), gamma=0.5, last_epoch=3)
    resumed = lr_scheduler.CosineAnnealingLR(opt, T_max=10, last_epoch=3)  # the closed form at epoch 4
    assert resumed.get_last_lr()[0] == pytest.approx(LRS[0] * (1 + math.cos(math.pi * 4 / 10)) / 2, rel=1e-12)


def test_an_optimizer_state_saved_without_a_scheduler_loads_into_one_with_a_scheduler():
    saved = optimizer().state_dict()  # no scheduler: no initial_lr in its groups
    opt = optimizer((0.5, 0.5))
    scheduler = lr_scheduler.StepLR(opt, step_size=1, gamma=0.1)
    opt.load_state_dict(saved)
    assert [g["lr"] for g in opt.param_groups] == list(LRS)  # the saved rates
    assert [g["initial_lr"] for g in opt.param_groups] == [0.5, 0.5]  # the schedule's own start is kept
    scheduler.step()
    assert scheduler.get_last_lr() == pytest.approx([LRS[0] * 0.1, LRS[1] * 0.1], rel=1e-12)
