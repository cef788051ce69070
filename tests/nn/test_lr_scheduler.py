"""Learning-rate schedules: every epoch's rate against the closed-form formula in NumPy, and exact resumption."""

from __future__ import annotations

import math
import re

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
    with pytest.raises(TypeError, match="^ExponentialLR needs an nn.optim optimizer, got list$"):
        lr_scheduler.ExponentialLR([nn.Parameter(np.ones(1))], gamma=0.5)
    with pytest.raises(TypeError, match="^ReduceLROnPlateau needs an nn.optim optimizer, got list$"):
        lr_scheduler.ReduceLROnPlateau([nn.Parameter(np.ones(1))])


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


# ----------------------------------------------------------------------- defaults, resuming mid-schedule, chaining
def test_default_settings_are_pytorchs_documented_ones():
    opt = optimizer()
    assert lr_scheduler.StepLR(opt, step_size=3).gamma == 0.1
    assert lr_scheduler.MultiStepLR(opt, milestones=[3]).gamma == 0.1
    assert lr_scheduler.CosineAnnealingLR(opt, T_max=3).eta_min == 0.0
    plateau = lr_scheduler.ReduceLROnPlateau(opt)
    assert (plateau.mode, plateau.factor, plateau.patience, plateau.threshold, plateau.threshold_mode, plateau.cooldown,
            plateau.min_lrs, plateau.eps) == ("min", 0.1, 10, 1e-4, "rel", 0, [0.0, 0.0], 1e-8)


def test_default_settings_are_pytorchs_own():
    torch = pytest.importorskip("torch")
    import inspect

    for name in lr_scheduler.__all__:
        ours = inspect.signature(getattr(lr_scheduler, name)).parameters
        theirs = inspect.signature(getattr(torch.optim.lr_scheduler, name)).parameters
        assert list(ours) == list(theirs), name
        for key, parameter in ours.items():
            assert parameter.default == theirs[key].default, (name, key)


def test_a_scheduler_without_get_lr_says_what_to_write():
    class Constant(lr_scheduler.LRScheduler):
        pass

    with pytest.raises(NotImplementedError,
                       match=r"^Constant must define get_lr\(\) returning one learning rate per group$"):
        Constant(optimizer())


WITH_LAST_EPOCH = {
    "StepLR": lambda o, e: lr_scheduler.StepLR(o, step_size=4, gamma=0.5, last_epoch=e),
    "MultiStepLR": lambda o, e: lr_scheduler.MultiStepLR(o, milestones=[3, 9, 9], gamma=0.5, last_epoch=e),
    "ExponentialLR": lambda o, e: lr_scheduler.ExponentialLR(o, gamma=0.8, last_epoch=e),
    "CosineAnnealingLR": lambda o, e: lr_scheduler.CosineAnnealingLR(o, T_max=6, eta_min=0.001, last_epoch=e),
    "LambdaLR": lambda o, e: lr_scheduler.LambdaLR(o, lambda epoch: 0.5 ** (epoch // 2), last_epoch=e),
}


@pytest.mark.parametrize("stopped_at", [0, 2, 7])
@pytest.mark.parametrize("name", WITH_LAST_EPOCH)
def test_last_epoch_resumes_the_schedule_at_the_next_epoch(name, stopped_at):
    """PyTorch's convention: a scheduler made with last_epoch=k, on an optimizer whose rates are those of epoch k,
    starts at epoch k + 1 (its constructor takes one step), and goes on as the uninterrupted schedule does."""
    make = WITH_LAST_EPOCH[name]
    straight = schedule(lambda o: make(o, -1), epochs=20)
    opt = optimizer()
    for group, base, lr in zip(opt.param_groups, LRS, straight[stopped_at]):
        group.update(initial_lr=base, lr=lr)
    resumed = make(opt, stopped_at)
    assert resumed.last_epoch == stopped_at + 1
    rates = []
    for _ in range(stopped_at + 1, 20):
        rates.append(resumed.get_last_lr())
        resumed.step()
    np.testing.assert_allclose(rates, straight[stopped_at + 1:], rtol=1e-12)


def test_resuming_as_in_pytorch_load_the_optimizer_then_make_the_scheduler_with_last_epoch():
    """The optimizer's saved groups bring back initial_lr, which the scheduler made with last_epoch needs."""
    make = WITH_LAST_EPOCH["CosineAnnealingLR"]
    straight = schedule(lambda o: make(o, -1), epochs=20)
    first = optimizer()
    scheduler = make(first, -1)
    for _ in range(6):
        scheduler.step()
    saved = nn.utils.unflatten_state_dict(nn.utils.flatten_state_dict(first.state_dict()))  # as a file holds it
    second = optimizer((0.5, 0.5))  # no scheduler yet: its groups have no initial_lr
    second.load_state_dict(saved)
    assert [group["initial_lr"] for group in second.param_groups] == list(LRS)
    assert all(type(group["initial_lr"]) is float for group in second.param_groups)
    resumed = make(second, scheduler.last_epoch)
    rates = []
    for _ in range(7, 20):
        rates.append(resumed.get_last_lr())
        resumed.step()
    np.testing.assert_allclose(rates, straight[7:], rtol=1e-12)


@pytest.mark.parametrize("last_epoch", [0, 3])
def test_a_resumed_cosine_schedule_starts_from_its_closed_form(last_epoch):
    """Made with last_epoch, CosineAnnealingLR's first rate is the formula's, from initial_lr, whatever the rate now."""
    opt = optimizer()
    for group, base in zip(opt.param_groups, LRS):
        group.update(initial_lr=base, lr=0.5)  # e.g. changed by hand since
    scheduler = lr_scheduler.CosineAnnealingLR(opt, T_max=10, eta_min=0.002, last_epoch=last_epoch)
    e = last_epoch + 1
    expected = [0.002 + (base - 0.002) * (1 + math.cos(math.pi * e / 10)) / 2 for base in LRS]
    assert scheduler.get_last_lr() == pytest.approx(expected, rel=1e-12)


def cosine_recursion(lr, epoch, base, T, eta_min):
    """PyTorch's recursive form of the cosine schedule: the rate of ``epoch`` from the current rate ``lr``."""
    if (epoch - 1 - T) % (2 * T) == 0:  # at the bottom
        return lr + (base - eta_min) * (1 - math.cos(math.pi / T)) / 2
    return eta_min + (lr - eta_min) * (1 + math.cos(math.pi * epoch / T)) / (1 + math.cos(math.pi * (epoch - 1) / T))


def test_cosine_annealing_acts_on_the_current_rate_so_it_combines():
    """With the rate changed by another scheduler (here ExponentialLR each epoch) or by hand, the cosine factor
    applies to the rate in force, as in PyTorch: not the closed form from the initial rate."""
    T, eta_min, gamma = 5, 0.001, 0.9
    opt = optimizer()
    cosine = lr_scheduler.CosineAnnealingLR(opt, T_max=T, eta_min=eta_min)
    exponential = lr_scheduler.ExponentialLR(opt, gamma=gamma)
    lrs = list(LRS)
    for epoch in range(1, 25):
        cosine.step()
        exponential.step()
        if epoch == 8:
            for group in opt.param_groups:
                group["lr"] *= 3  # by hand
        lrs = [cosine_recursion(lr, epoch, base, T, eta_min) * gamma for lr, base in zip(lrs, LRS)]
        lrs = [lr * 3 for lr in lrs] if epoch == 8 else lrs
        assert [group["lr"] for group in opt.param_groups] == pytest.approx(lrs, rel=1e-12), epoch


def test_cosine_annealing_with_other_schedulers_matches_pytorch():
    torch = pytest.importorskip("torch")

    def rates(module, make_parameter):
        opt = module.optim.SGD([{"params": [make_parameter()], "lr": lr} for lr in LRS], lr=1.0)
        schedulers = [module.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=5, eta_min=0.001),
                      module.optim.lr_scheduler.MultiStepLR(opt, milestones=[4, 11], gamma=0.5)]
        out = []
        for _ in range(25):
            out.append([group["lr"] for group in opt.param_groups])
            opt.step()
            for scheduler in schedulers:
                scheduler.step()
        return out

    np.testing.assert_allclose(rates(nn, lambda: nn.Parameter(np.ones(1))),
                               rates(torch, lambda: torch.nn.Parameter(torch.ones(1))), rtol=1e-12)


@pytest.mark.parametrize("value", [0, -3, 2.5, True, "10"])
@pytest.mark.parametrize("name, key", [("StepLR", "step_size"), ("CosineAnnealingLR", "T_max")])
def test_periods_must_be_positive_integers(name, key, value):
    with pytest.raises(ValueError, match=re.escape(f"{name}: {key} must be a positive integer, got {value!r}") + "$"):
        getattr(lr_scheduler, name)(optimizer(), **{key: value})


def test_cosine_annealing_with_a_period_of_one_epoch_alternates():
    rates = schedule(lambda o: lr_scheduler.CosineAnnealingLR(o, T_max=1, eta_min=0.01), epochs=6)
    np.testing.assert_allclose(rates, [LRS, [0.01, 0.01]] * 3, rtol=1e-12)


# ----------------------------------------------------------------------- ReduceLROnPlateau, in detail
THRESHOLD_SCENARIOS = {  # improvements that one threshold_mode counts and the other does not
    "min": [10, 9.5, 9.4, 8.0, 7.95, 7.9, 6.0],
    "max": [10, 10.5, 10.6, 12, 12.05, 12.1, 14.0],
}


@pytest.mark.parametrize("threshold_mode", ["rel", "abs"])
@pytest.mark.parametrize("mode", ["min", "max"])
def test_reduce_on_plateau_threshold_is_relative_or_absolute(mode, threshold_mode):
    settings = dict(mode=mode, factor=0.5, patience=0, threshold=0.1, cooldown=0, min_lr=0.0)
    metrics = THRESHOLD_SCENARIOS[mode]
    opt = nn.optim.SGD([nn.Parameter(np.ones(1))], lr=1.0)
    scheduler = lr_scheduler.ReduceLROnPlateau(opt, threshold_mode=threshold_mode, **settings)
    rates = []
    for m in metrics:
        scheduler.step(m)
        rates.append(scheduler.get_last_lr()[0])
    assert rates == pytest.approx(plateau_reference(metrics, 1.0, threshold_mode=threshold_mode, **settings), rel=1e-12)
    other = "abs" if threshold_mode == "rel" else "rel"  # the scenario does tell the two apart
    assert rates != pytest.approx(plateau_reference(metrics, 1.0, threshold_mode=other, **settings), rel=1e-12)


@pytest.mark.parametrize("mode", ["min", "max"])
def test_reduce_on_plateau_a_metric_equal_to_the_best_is_no_improvement(mode):
    opt = nn.optim.SGD([nn.Parameter(np.ones(1))], lr=1.0)
    scheduler = lr_scheduler.ReduceLROnPlateau(opt, mode=mode, factor=0.5, patience=0, threshold=0.0,
                                               threshold_mode="abs")
    for _ in range(3):
        scheduler.step(2.0)
    assert scheduler.get_last_lr() == [0.25] and scheduler.best == 2.0


def test_reduce_on_plateau_with_factor_zero_drops_to_min_lr():
    opt = optimizer()
    scheduler = lr_scheduler.ReduceLROnPlateau(opt, factor=0.0, patience=0, min_lr=[0.001, 0.0])
    scheduler.step(1.0)
    scheduler.step(1.0)
    assert scheduler.get_last_lr() == [0.001, 0.0]


@pytest.mark.parametrize("eps, expected", [(0.05, 0.1), (0.04, 0.05)])
def test_reduce_on_plateau_skips_a_change_no_larger_than_eps(eps, expected):
    opt = nn.optim.SGD([nn.Parameter(np.ones(1))], lr=0.1)
    scheduler = lr_scheduler.ReduceLROnPlateau(opt, factor=0.5, patience=0, eps=eps)
    scheduler.step(1.0)
    scheduler.step(1.0)  # no improvement, patience 0: 0.1 → 0.05, a change of exactly 0.05
    assert opt.param_groups[0]["lr"] == expected


def test_reduce_on_plateau_counts_its_epochs():
    opt = nn.optim.SGD([nn.Parameter(np.ones(1))], lr=0.1)
    scheduler = lr_scheduler.ReduceLROnPlateau(opt)
    assert scheduler.last_epoch == 0 and scheduler.get_last_lr() == [0.1]  # before its first step too
    for epoch in range(1, 6):
        scheduler.step(1.0 / epoch)
        assert scheduler.last_epoch == scheduler.state_dict()["last_epoch"] == epoch


def test_reduce_on_plateau_eps_and_epochs_match_pytorch():
    torch = pytest.importorskip("torch")
    metrics = [1.0, 1.0, 0.9, 0.9, 0.9, 0.9]
    results = []
    for module, parameter in ((nn, nn.Parameter(np.ones(1))), (torch, torch.nn.Parameter(torch.ones(1)))):
        for eps in (0.05, 0.04):
            opt = module.optim.SGD([parameter], lr=0.1)
            scheduler = module.optim.lr_scheduler.ReduceLROnPlateau(opt, factor=0.5, patience=0, eps=eps,
                                                                    threshold=0.1, threshold_mode="abs")
            for m in metrics:
                scheduler.step(m)
                results.append((module.__name__, eps, scheduler.last_epoch, opt.param_groups[0]["lr"]))
    ours, theirs = results[: len(results) // 2], results[len(results) // 2:]
    assert [r[1:] for r in ours] == [r[1:] for r in theirs]


def resume_from(changes):
    """Load a StepLR's state, with some entries changed, into a new StepLR; the new one."""
    saved = lr_scheduler.StepLR(optimizer(), step_size=2).state_dict()
    resumed = lr_scheduler.StepLR(optimizer(), step_size=2)
    resumed.load_state_dict({**saved, **changes})
    return resumed


def test_a_loaded_schedule_state_keeps_each_entrys_python_type():
    saved = nn.utils.flatten_state_dict(lr_scheduler.MultiStepLR(optimizer(), milestones=[2, 5]).state_dict())
    resumed = lr_scheduler.MultiStepLR(optimizer(), milestones=[1])
    resumed.load_state_dict(nn.utils.unflatten_state_dict(saved))  # arrays, as an .npz file gives them back
    assert resumed.milestones == [2, 5] and resumed.base_lrs == list(LRS)
    assert type(resumed.last_epoch) is int and type(resumed.base_lrs[0]) is float and type(resumed.gamma) is float
    assert type(resume_from({"last_epoch": 3.0}).last_epoch) is int  # a whole float is taken as the int it is


def half_scheduled():
    """An optimizer whose first group has an initial_lr and whose second has none."""
    opt = optimizer()
    opt.param_groups[0]["initial_lr"] = LRS[0]
    return opt


SCHEDULER_ERRORS = [  # what a student does, the error, its whole message
    (lambda: lr_scheduler.ExponentialLR(optimizer(), gamma=0.5, last_epoch=3), KeyError,
     "ExponentialLR(last_epoch=3) resumes a schedule, which needs 'initial_lr' in every parameter group: "
     "load the optimizer's state first"),
    (lambda: lr_scheduler.StepLR(half_scheduled(), step_size=2, last_epoch=3), KeyError,
     "StepLR(last_epoch=3) resumes a schedule, which needs 'initial_lr' in every parameter group: "
     "load the optimizer's state first"),
    (lambda: lr_scheduler.ExponentialLR(optimizer(), gamma=0.5).load_state_dict({"gamma": 0.5}), ValueError,
     "ExponentialLR.load_state_dict: missing keys ['_last_lr', '_step_count', 'base_lrs', 'last_epoch'], "
     "unexpected keys [] (a state dict of another scheduler?)"),
    (lambda: resume_from({"last_epoch": 2.5}), ValueError, "saved last_epoch = 2.5 is not a int"),
    (lambda: lr_scheduler.LambdaLR(optimizer(), [3, 3]), ValueError,
     "LambdaLR: expected one function or 2 (one per parameter group), got [3, 3]"),
    (lambda: lr_scheduler.ReduceLROnPlateau(optimizer(), factor=1.0), ValueError,
     "ReduceLROnPlateau: factor must lie in [0, 1), got 1.0"),
    (lambda: lr_scheduler.ReduceLROnPlateau(optimizer(), factor=-0.5), ValueError,
     "ReduceLROnPlateau: factor must lie in [0, 1), got -0.5"),
    (lambda: lr_scheduler.ReduceLROnPlateau(optimizer(), mode="minimum"), ValueError,
     "ReduceLROnPlateau: mode must be 'min' or 'max', got 'minimum'"),
    (lambda: lr_scheduler.ReduceLROnPlateau(optimizer(), threshold_mode="relative"), ValueError,
     "ReduceLROnPlateau: threshold_mode must be 'rel' or 'abs', got 'relative'"),
    (lambda: lr_scheduler.ReduceLROnPlateau(optimizer(), min_lr=(0.1, 0.2, 0.3)), ValueError,
     "ReduceLROnPlateau: expected 2 min_lr values (one per parameter group), got 3"),
    (lambda: lr_scheduler.ReduceLROnPlateau(optimizer()).load_state_dict({}), ValueError,
     "ReduceLROnPlateau.load_state_dict: missing keys ['_last_lr', 'best', 'cooldown', 'cooldown_counter', 'eps', "
     "'factor', 'last_epoch', 'min_lrs', 'mode', 'num_bad_epochs', 'patience', 'threshold', 'threshold_mode'], "
     "unexpected keys [] (a state dict of another scheduler?)"),
]


@pytest.mark.parametrize("action, error, message", SCHEDULER_ERRORS, ids=[m[:40] for _, _, m in SCHEDULER_ERRORS])
def test_error_messages_name_the_problem_in_full(action, error, message):
    with pytest.raises(error) as raised:
        action()
    assert raised.value.args == (message,)
