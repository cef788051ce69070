"""Learning-rate schedules, with PyTorch's names and step-by-step values.

A scheduler changes ``group["lr"]`` of every parameter group of its optimizer. Call
``scheduler.step()`` once per epoch, after that epoch's ``optimizer.step()`` calls
(`ReduceLROnPlateau.step` takes the epoch's loss). ``get_last_lr()`` gives the learning rates
now in force; ``state_dict()``/``load_state_dict()`` save and restore the schedule's position,
so a resumed run continues with the same learning rates.

Most schedules are written, as in PyTorch, as what to multiply the current learning rate by at
each step, so that two schedulers on one optimizer combine.
"""

from __future__ import annotations

import math
from collections import Counter

from . import Optimizer, _as_python


class LRScheduler:
    """Base class: ``get_lr()`` says the learning rate of every group for epoch ``last_epoch``."""

    def __init__(self, optimizer: Optimizer, last_epoch: int = -1):
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"{type(self).__name__} needs an nn.optim optimizer, got {type(optimizer).__name__}")
        self.optimizer = optimizer
        if last_epoch == -1:
            for group in optimizer.param_groups:
                group.setdefault("initial_lr", group["lr"])
        elif any("initial_lr" not in group for group in optimizer.param_groups):
            raise KeyError(f"{type(self).__name__}(last_epoch={last_epoch}) resumes a schedule, which needs "
                           "'initial_lr' in every parameter group: load the optimizer's state first")
        self.base_lrs = [group["initial_lr"] for group in optimizer.param_groups]
        self.last_epoch = last_epoch
        self._step_count = 0
        self.step()  # epoch 0 (or the one after last_epoch): set its learning rates

    def get_lr(self) -> list[float]:
        raise NotImplementedError(f"{type(self).__name__} must define get_lr() returning one learning rate per group")

    def step(self) -> None:
        """Move to the next epoch and set its learning rates."""
        self._step_count += 1
        self.last_epoch += 1
        for group, lr in zip(self.optimizer.param_groups, self.get_lr()):
            group["lr"] = lr
        self._last_lr = [group["lr"] for group in self.optimizer.param_groups]

    def get_last_lr(self) -> list[float]:
        return list(self._last_lr)

    def state_dict(self) -> dict:
        """Everything that says where the schedule is (not the optimizer, which saves itself)."""
        return {key: value for key, value in self.__dict__.items() if key not in ("optimizer", "lr_lambdas")}

    def load_state_dict(self, state_dict: dict) -> None:
        own = self.state_dict()
        missing, unexpected = sorted(set(own) - set(state_dict)), sorted(set(state_dict) - set(own))
        if missing or unexpected:
            raise ValueError(f"{type(self).__name__}.load_state_dict: missing keys {missing}, "
                             f"unexpected keys {unexpected} (a state dict of another scheduler?)")
        self.__dict__.update({key: _as_python(value, own[key], key) for key, value in state_dict.items()})


class StepLR(LRScheduler):
    """η ← γη every ``step_size`` epochs: η_e = η₀ γ^⌊e/step_size⌋."""

    def __init__(self, optimizer, step_size: int, gamma: float = 0.1, last_epoch: int = -1):
        if isinstance(step_size, bool) or not isinstance(step_size, int) or step_size < 1:
            raise ValueError(f"StepLR: step_size must be a positive integer, got {step_size!r}")
        self.step_size, self.gamma = step_size, gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        factor = self.gamma if self.last_epoch > 0 and self.last_epoch % self.step_size == 0 else 1
        return [group["lr"] * factor for group in self.optimizer.param_groups]


class MultiStepLR(LRScheduler):
    """η ← γη at each epoch in ``milestones``: η_e = η₀ γ^(number of milestones ≤ e)."""

    def __init__(self, optimizer, milestones, gamma: float = 0.1, last_epoch: int = -1):
        self.milestones = sorted(int(m) for m in milestones)  # a milestone given twice multiplies twice
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        factor = self.gamma ** Counter(self.milestones)[self.last_epoch]
        return [group["lr"] * factor for group in self.optimizer.param_groups]


class ExponentialLR(LRScheduler):
    """η ← γη every epoch: η_e = η₀ γᵉ."""

    def __init__(self, optimizer, gamma: float, last_epoch: int = -1):
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        factor = self.gamma if self.last_epoch > 0 else 1
        return [group["lr"] * factor for group in self.optimizer.param_groups]


class CosineAnnealingLR(LRScheduler):
    """η_e = η_min + (η₀ − η_min)(1 + cos(π e / T_max))/2: down half a cosine from η₀ to η_min in T_max epochs.

    Written, as PyTorch does, as a factor on the current rate each epoch (so it combines with
    other schedulers); past T_max the cosine climbs back up.
    """

    def __init__(self, optimizer, T_max: int, eta_min: float = 0.0, last_epoch: int = -1):
        if isinstance(T_max, bool) or not isinstance(T_max, int) or T_max < 1:
            raise ValueError(f"CosineAnnealingLR: T_max must be a positive integer, got {T_max!r}")
        self.T_max, self.eta_min = T_max, eta_min
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        e, T, eta_min = self.last_epoch, self.T_max, self.eta_min
        groups = self.optimizer.param_groups
        if e == 0:
            return [group["lr"] for group in groups]
        if self._step_count == 1 and e > 0:  # constructed with last_epoch: the closed form
            return [eta_min + (base - eta_min) * (1 + math.cos(e * math.pi / T)) / 2 for base in self.base_lrs]
        if (e - 1 - T) % (2 * T) == 0:  # at the bottom, where the ratio below would divide by zero
            return [group["lr"] + (base - eta_min) * (1 - math.cos(math.pi / T)) / 2
                    for group, base in zip(groups, self.base_lrs)]
        ratio = (1 + math.cos(math.pi * e / T)) / (1 + math.cos(math.pi * (e - 1) / T))
        return [ratio * (group["lr"] - eta_min) + eta_min for group in groups]


class LambdaLR(LRScheduler):
    """η_e = η₀ · f(e) for a function f of the epoch (one per group, or one for all).

    The functions are not saved by ``state_dict`` (as in PyTorch): pass them again when resuming.
    """

    def __init__(self, optimizer, lr_lambda, last_epoch: int = -1):
        n = len(optimizer.param_groups)
        lambdas = list(lr_lambda) if isinstance(lr_lambda, (list, tuple)) else [lr_lambda] * n
        if len(lambdas) != n or not all(callable(f) for f in lambdas):
            raise ValueError(f"LambdaLR: expected one function or {n} (one per parameter group), got {lr_lambda!r}")
        self.lr_lambdas = lambdas
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        return [base * f(self.last_epoch) for base, f in zip(self.base_lrs, self.lr_lambdas)]


class ReduceLROnPlateau:
    """Multiply the learning rate by ``factor`` when a measured quantity stops improving.

    ``step(metric)`` once per epoch. With ``mode="min"`` (a loss), the metric improves when it
    beats the best so far by more than ``threshold``: relatively, below best·(1 − threshold)
    (``threshold_mode="rel"``), or absolutely, below best − threshold (``"abs"``); ``"max"`` is
    the mirror image (an accuracy). After more than ``patience`` epochs in a row without
    improvement the rate becomes max(η·factor, min_lr) (a change smaller than ``eps`` is
    skipped), and then ``cooldown`` epochs pass before bad epochs are counted again.
    """

    def __init__(self, optimizer, mode: str = "min", factor: float = 0.1, patience: int = 10,
                 threshold: float = 1e-4, threshold_mode: str = "rel", cooldown: int = 0, min_lr=0.0,
                 eps: float = 1e-8):
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"ReduceLROnPlateau needs an nn.optim optimizer, got {type(optimizer).__name__}")
        if not 0 <= factor < 1:
            raise ValueError(f"ReduceLROnPlateau: factor must lie in [0, 1), got {factor}")
        if mode not in ("min", "max"):
            raise ValueError(f"ReduceLROnPlateau: mode must be 'min' or 'max', got {mode!r}")
        if threshold_mode not in ("rel", "abs"):
            raise ValueError(f"ReduceLROnPlateau: threshold_mode must be 'rel' or 'abs', got {threshold_mode!r}")
        n = len(optimizer.param_groups)
        min_lrs = list(min_lr) if isinstance(min_lr, (list, tuple)) else [min_lr] * n
        if len(min_lrs) != n:
            raise ValueError(f"ReduceLROnPlateau: expected {n} min_lr values (one per parameter group), got {len(min_lrs)}")
        self.optimizer = optimizer
        self.mode, self.factor, self.patience, self.cooldown = mode, factor, patience, cooldown
        self.threshold, self.threshold_mode, self.min_lrs, self.eps = threshold, threshold_mode, min_lrs, eps
        self.best = math.inf if mode == "min" else -math.inf
        self.num_bad_epochs = self.cooldown_counter = self.last_epoch = 0
        self._last_lr = [group["lr"] for group in optimizer.param_groups]

    def is_better(self, metric: float) -> bool:
        if self.mode == "min":
            bound = self.best * (1 - self.threshold) if self.threshold_mode == "rel" else self.best - self.threshold
            return metric < bound
        bound = self.best * (1 + self.threshold) if self.threshold_mode == "rel" else self.best + self.threshold
        return metric > bound

    def step(self, metrics) -> None:
        metric = float(metrics)
        self.last_epoch += 1
        if self.is_better(metric):
            self.best, self.num_bad_epochs = metric, 0
        else:
            self.num_bad_epochs += 1
        if self.cooldown_counter > 0:
            self.cooldown_counter -= 1
            self.num_bad_epochs = 0  # bad epochs during the cooldown do not count
        if self.num_bad_epochs > self.patience:
            for group, min_lr in zip(self.optimizer.param_groups, self.min_lrs):
                new_lr = max(group["lr"] * self.factor, min_lr)
                if group["lr"] - new_lr > self.eps:
                    group["lr"] = new_lr
            self.cooldown_counter, self.num_bad_epochs = self.cooldown, 0
        self._last_lr = [group["lr"] for group in self.optimizer.param_groups]

    get_last_lr = LRScheduler.get_last_lr
    state_dict = LRScheduler.state_dict
    load_state_dict = LRScheduler.load_state_dict


__all__ = ["CosineAnnealingLR", "ExponentialLR", "LRScheduler", "LambdaLR", "MultiStepLR", "ReduceLROnPlateau",
           "StepLR"]
