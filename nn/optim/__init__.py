"""Optimizers: how a gradient becomes a weight update. Formulas as in PyTorch, step by step, so results transfer.

    Optimizer   parameter groups, zero_grad, step, state_dict; a subclass writes only ``update``
    SGD, Adam, AdamW, RMSprop, Adagrad
    lr_scheduler  changing the learning rate over training

Every update reads ``p.grad`` and writes the parameter's array in place (no graph is recorded:
the array is changed directly) and raises the parameter's version, as PyTorch's in-place update
does: a graph recorded before the step kept the old weights, so its backward refuses to run.
Gradient arrays are only read, never written: the engine may share one array between tensors.
"""

from __future__ import annotations

import math
from numbers import Real

import numpy as np

import tinygrad_edu as tg

# How each hyperparameter is checked, by name, for every optimizer (yours too): PyTorch's rules.
_AT_LEAST_ZERO = ("lr", "dampening", "weight_decay", "alpha", "lr_decay", "initial_accumulator_value")


class Optimizer:
    """Holds the parameters in groups, each with its hyperparameters, and per-parameter state.

    ``params`` is an iterable of tensors, or of dicts ``{"params": [...], "lr": ..., ...}``, one
    per group, whose missing hyperparameters are taken from ``defaults``. A subclass passes its
    hyperparameters as ``defaults`` and writes ``update``; everything else (groups, ``step``,
    ``zero_grad``, saving and loading every hyperparameter and buffer) is done here::

        class SignSGD(Optimizer):
            def __init__(self, params, lr=0.01):
                super().__init__(params, dict(lr=lr))

            def update(self, w, grad, state, group):
                return w - group["lr"] * np.sign(grad)   # the new w; step() writes it into the parameter
    """

    def __init__(self, params, defaults: dict):
        if not isinstance(defaults, dict):
            raise TypeError(f"{type(self).__name__}: pass the hyperparameters as a dict, e.g. "
                            f"super().__init__(params, dict(lr=lr, momentum=momentum)), got {defaults!r}")
        if isinstance(params, tg.Tensor):
            raise TypeError(f"{type(self).__name__}: params must be an iterable of tensors (e.g. model.parameters()), "
                            "got a single Tensor; pass [tensor]")
        self.defaults = dict(defaults)
        self.param_groups: list[dict] = []
        self.state: dict = {}  # parameter -> its buffers (momentum, running averages), made at its first step
        groups = list(params)
        if not groups:
            raise ValueError(f"{type(self).__name__} got an empty parameter list")
        for group in groups if isinstance(groups[0], dict) else [{"params": groups}]:
            self.add_param_group(group)

    def add_param_group(self, param_group: dict) -> None:
        """Add a group of parameters with its own hyperparameters (the rest from ``defaults``)."""
        if not isinstance(param_group, dict) or "params" not in param_group:
            raise TypeError(f"{type(self).__name__}: a parameter group is a dict with a 'params' list, got {param_group!r}")
        params = param_group["params"]
        if isinstance(params, (set, frozenset)):
            raise TypeError("parameters must be given in an order (a list), not as a set, so that saved state "
                            "finds its parameter again")
        params = [params] if isinstance(params, tg.Tensor) else list(params)
        for p in params:
            if not isinstance(p, tg.Tensor):
                raise TypeError(f"{type(self).__name__} can only optimize Tensors, got {type(p).__name__}")
            if not p.is_leaf:
                raise ValueError(f"{type(self).__name__} can only optimize leaf tensors (made by you, not by an op)")
        known = {id(p) for group in self.param_groups for p in group["params"]}
        if len({id(p) for p in params}) != len(params) or known & {id(p) for p in params}:
            raise ValueError("some parameters appear more than once (in one group or in several)")
        group = {**self.defaults, **param_group, "params": params}
        self._check(group)
        self.param_groups.append(group)

    def _check(self, group: dict) -> None:
        """Refuse hyperparameters PyTorch refuses, and momentum ≥ 1: ValueError naming the setting."""
        name = type(self).__name__
        for key, value in group.items():
            if key == "params":  # every other entry is checked, True and False too (momentum=True is momentum 1)
                continue
            if key == "betas":
                if not (isinstance(value, (tuple, list)) and len(value) == 2
                        and all(isinstance(b, Real) and 0 <= b < 1 for b in value)):
                    raise ValueError(f"{name}: betas must be two numbers in [0, 1), got {value!r}")
            elif key == "momentum":  # at 1 or more the velocity never decays: the steps grow without bound
                if not (isinstance(value, Real) and 0 <= value < 1):
                    raise ValueError(f"{name}: momentum must be a number in [0, 1), got {value!r}")
            elif key == "eps":
                if not (isinstance(value, Real) and 0 < value < math.inf):
                    raise ValueError(f"{name}: eps must be a finite number > 0, got {value!r}")
            elif key in _AT_LEAST_ZERO:
                if not (isinstance(value, Real) and 0 <= value < math.inf):
                    raise ValueError(f"{name}: {key} must be a finite number ≥ 0, got {value!r}")
            elif isinstance(value, Real) and math.isnan(value):
                raise ValueError(f"{name}: {key} is NaN")

    @property
    def lr(self):
        raise AttributeError(f"{type(self).__name__} has no single lr: every parameter group has its own, "
                             "optimizer.param_groups[i]['lr'] (to change it over training, use nn.optim.lr_scheduler)")

    @lr.setter
    def lr(self, value):
        self.lr  # the same error: setting it would silently change nothing

    @tg.jit.live  # a jitted training step calls it for real on every replay
    def zero_grad(self, set_to_none: bool = True) -> None:
        """Forget the gradients (``grad = None``; with ``set_to_none=False``, fill them with zeros in place)."""
        for group in self.param_groups:
            for p in group["params"]:
                if set_to_none or p.grad is None:
                    p.grad = None
                else:
                    p.grad.data.fill(0)

    @tg.jit.live  # a jitted step calls it for real every time: the current lr, momentum, Adam's state
    def step(self, closure=None):
        """Update every parameter that has a gradient to the weights ``update`` gives. A ``closure``
        (zero_grad, forward, backward) is called once first and its loss returned; with a group's
        ``maximize=True``, ``update`` is handed −grad, so the step climbs instead of descending."""
        loss = closure() if closure is not None else None
        for group in self.param_groups:
            for p in (p for p in group["params"] if p.grad is not None):
                w, grad = p.data, (-p.grad.data if group.get("maximize") else p.grad.data)
                new = self.update(w, grad, self.state.setdefault(p, {}), group)
                if new is not w:  # the built-in updates change w in place and return it
                    self._write(new, w)
                p._storage.version += 1  # an in-place change: a graph that kept the old w refuses backward
        return loss

    def _write(self, new, w: np.ndarray) -> None:
        """Write an update's new weights into the parameter's array ``w``, after checking them."""
        if new is None:
            raise TypeError(f"{type(self).__name__}.update returned None: return the new weights, e.g. "
                            "`return w - group['lr'] * grad`; step() writes them into the parameter")
        if np.shape(new) != w.shape:
            raise ValueError(f"{type(self).__name__}.update returned shape {np.shape(new)} for a parameter "
                             f"of shape {w.shape}")
        w[...] = new

    def update(self, w: np.ndarray, grad: np.ndarray, state: dict, group: dict) -> np.ndarray:
        """The new value of one parameter ``w`` from its gradient, its ``state`` dict and its group's hyperparameters.

        The built-in optimizers change ``w`` in place and return it (``w -= ...; return w``), which
        saves allocating and copying a new array for every parameter at every step.
        """
        raise NotImplementedError(
            f"{type(self).__name__} must define update(self, w, grad, state, group) returning the new weights, "
            "e.g. `return w - group['lr'] * grad` (w: the parameter's array, grad: its gradient, state: a dict "
            "for its buffers, group: its hyperparameters)")

    # ---------------------------------------------------------------------- saving and loading
    def state_dict(self) -> dict:
        """PyTorch's layout: {"state": {index: {name: value}}, "param_groups": [{hyperparameters, "params": [index...]}]}.

        Parameters are numbered in order through the groups. Values are copies. For an .npz file,
        `nn.utils.flatten_state_dict` turns this into plain arrays.
        """
        index = {}
        groups = []
        for group in self.param_groups:
            for p in group["params"]:
                index.setdefault(id(p), len(index))
            groups.append({**group, "params": [index[id(p)] for p in group["params"]]})
        state = {index[id(p)]: {k: np.copy(v) if isinstance(v, np.ndarray) else v for k, v in s.items()}
                 for p, s in self.state.items()}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: dict) -> None:
        """Restore hyperparameters and buffers saved by `state_dict` (or its flattened form, unflattened).

        Everything is checked first (number of groups and of parameters, names, shapes, values):
        a failed load changes nothing.
        """
        name = type(self).__name__
        if "param_groups" not in state_dict:
            raise ValueError(f"{name}.load_state_dict: not an optimizer state dict (no 'param_groups')")
        saved_groups = state_dict["param_groups"]
        if len(saved_groups) != len(self.param_groups):
            raise ValueError(f"{name}.load_state_dict: the saved state has {len(saved_groups)} parameter groups, "
                             f"this optimizer has {len(self.param_groups)}")
        params, groups = {}, []
        for i, (saved, own) in enumerate(zip(saved_groups, self.param_groups)):
            indices = [int(k) for k in np.asarray(saved.get("params", [])).reshape(-1)]
            if len(indices) != len(own["params"]):
                raise ValueError(f"{name}.load_state_dict: saved parameter group {i} has {len(indices)} parameters, "
                                 f"this optimizer's has {len(own['params'])}")
            params.update(zip(indices, own["params"]))
            # initial_lr is what a scheduler adds: a state saved without one keeps this optimizer's.
            missing = [k for k in own if k not in saved and k != "initial_lr"]
            if missing:
                raise ValueError(f"{name}.load_state_dict: saved parameter group {i} lacks {missing}")
            group = {k: v for k, v in own.items() if k == "initial_lr"}
            group.update({k: _as_python(v, own.get(k), f"param_groups[{i}].{k}") for k, v in saved.items()
                          if k != "params"})
            self._check(group)
            groups.append({**group, "params": own["params"]})
        state = {}
        for index, values in state_dict.get("state", {}).items():
            if int(index) not in params:
                raise ValueError(f"{name}.load_state_dict: state for parameter {index}, which no group holds")
            p = params[int(index)]
            state[p] = {}
            for key, value in values.items():
                value = np.array(value)
                if value.ndim == 0:
                    state[p][key] = value.item()
                elif value.shape != p.shape:
                    raise ValueError(f"{name}.load_state_dict: state entry {index}.{key} has shape {value.shape}, "
                                     f"but parameter {index} has shape {p.shape}")
                else:
                    state[p][key] = value.astype(p.dtype)
        self.param_groups, self.state = groups, state

    def __repr__(self) -> str:
        lines = [f"{type(self).__name__} ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            lines.extend(f"    {k}: {v}" for k, v in sorted(group.items()) if k != "params")
        return "\n".join(lines + [")"])


def _as_python(value, like, key: str):
    """A value read back (perhaps from an array) in the Python type of ``like``: a tuple stays a tuple, an int an int."""
    if isinstance(value, np.ndarray):
        value = value.tolist()
    if like is None or isinstance(value, dict):
        return value
    if isinstance(like, (tuple, list)):
        return type(like)(value)
    converted = type(like)(value)
    if converted != value:
        raise ValueError(f"saved {key} = {value!r} is not a {type(like).__name__}")
    return converted


class SGD(Optimizer):
    """Stochastic gradient descent: w ← w − η g, where g = ∂C/∂w (+ λw with weight decay λ).

    With momentum μ, a velocity v ← μ v + (1 − dampening) g accumulates past gradients (its first
    value is g itself) and w ← w − η v (Nesterov: w ← w − η (g + μ v)). Whether this is
    full-batch, stochastic or mini-batch descent depends only on how many examples the gradient
    was averaged over.
    """

    def __init__(self, params, lr: float = 1e-3, momentum: float = 0.0, dampening: float = 0.0,
                 weight_decay: float = 0.0, nesterov: bool = False, maximize: bool = False):
        if nesterov and (momentum == 0 or dampening != 0):
            raise ValueError("SGD: nesterov=True needs momentum > 0 and dampening = 0")
        super().__init__(params, dict(lr=lr, momentum=momentum, dampening=dampening, weight_decay=weight_decay,
                                      nesterov=nesterov, maximize=maximize))

    def update(self, w, grad, state, group):
        if group["weight_decay"]:
            grad = grad + group["weight_decay"] * w
        if group["momentum"]:
            velocity = state.get("momentum_buffer")
            if velocity is None:
                velocity = state["momentum_buffer"] = grad.copy()  # PyTorch starts v at the first g
            else:
                velocity *= group["momentum"]
                velocity += (1 - group["dampening"]) * grad
            grad = grad + group["momentum"] * velocity if group["nesterov"] else velocity
        w -= group["lr"] * grad
        return w


class Adam(Optimizer):
    """Adam: steps scaled per weight by running averages of the gradient and of its square.

    m ← β₁m + (1−β₁)g,  v ← β₂v + (1−β₂)g²,  then with bias corrections m̂ = m/(1−β₁ᵗ), v̂ = v/(1−β₂ᵗ):
    w ← w − η m̂ / (√v̂ + ε). Weight decay λ adds λw to g first (L2 regularisation; AdamW instead
    shrinks w directly). ``amsgrad`` divides by the largest v̂ so far, so steps never grow back.
    """

    def __init__(self, params, lr: float = 1e-3, betas: tuple = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0.0, amsgrad: bool = False, maximize: bool = False):
        super().__init__(params, dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, amsgrad=amsgrad,
                                      maximize=maximize))

    def update(self, w, grad, state, group):
        if group["weight_decay"]:
            grad = grad + group["weight_decay"] * w
        w -= self._adam_step(w, grad, state, group)
        return w

    @staticmethod
    def _adam_step(w, grad, state, group):
        """η m̂ / (√v̂ + ε), updating the running averages in ``state``."""
        (beta1, beta2), lr, eps = group["betas"], group["lr"], group["eps"]
        if not state:
            state.update(step=0, exp_avg=np.zeros_like(w), exp_avg_sq=np.zeros_like(w))
            if group["amsgrad"]:
                state["max_exp_avg_sq"] = np.zeros_like(w)
        state["step"] += 1
        m, v, t = state["exp_avg"], state["exp_avg_sq"], state["step"]
        m *= beta1
        m += (1 - beta1) * grad
        v *= beta2
        v += (1 - beta2) * grad * grad
        if group["amsgrad"]:
            v = np.maximum(state["max_exp_avg_sq"], v, out=state["max_exp_avg_sq"])
        # np.sqrt of a number is a NumPy float64, so this division runs in float64 even for float32
        # weights: slightly more accurate, and the arithmetic docs/results.md's results were measured with.
        denominator = np.sqrt(v) / np.sqrt(1 - beta2**t) + eps
        return (lr / (1 - beta1**t)) * m / denominator


class AdamW(Adam):
    """Adam with decoupled weight decay: w ← w (1 − ηλ) first, then Adam's step without λ in the gradient."""

    def __init__(self, params, lr: float = 1e-3, betas: tuple = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 1e-2, amsgrad: bool = False, maximize: bool = False):
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, maximize)

    def update(self, w, grad, state, group):
        w *= 1 - group["lr"] * group["weight_decay"]
        w -= self._adam_step(w, grad, state, group)
        return w


class RMSprop(Optimizer):
    """RMSprop: divide each step by a running root-mean-square of the gradient.

    s ← αs + (1−α)g², then w ← w − η g/(√s + ε). ``centered`` subtracts the square of the running
    mean ḡ ← αḡ + (1−α)g from s first (a variance); with momentum μ, a buffer b ← μb + g/(√s + ε)
    and w ← w − η b.
    """

    def __init__(self, params, lr: float = 1e-2, alpha: float = 0.99, eps: float = 1e-8, weight_decay: float = 0.0,
                 momentum: float = 0.0, centered: bool = False, maximize: bool = False):
        super().__init__(params, dict(lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay, momentum=momentum,
                                      centered=centered, maximize=maximize))

    def update(self, w, grad, state, group):
        alpha = group["alpha"]
        if group["weight_decay"]:
            grad = grad + group["weight_decay"] * w
        if not state:
            state.update(step=0, square_avg=np.zeros_like(w))
            if group["momentum"]:
                state["momentum_buffer"] = np.zeros_like(w)
            if group["centered"]:
                state["grad_avg"] = np.zeros_like(w)
        state["step"] += 1
        square_avg = state["square_avg"]
        square_avg *= alpha
        square_avg += (1 - alpha) * grad * grad
        if group["centered"]:
            grad_avg = state["grad_avg"]
            grad_avg *= alpha
            grad_avg += (1 - alpha) * grad
            denominator = np.sqrt(square_avg - grad_avg * grad_avg) + group["eps"]
        else:
            denominator = np.sqrt(square_avg) + group["eps"]
        if group["momentum"]:
            buffer = state["momentum_buffer"]
            buffer *= group["momentum"]
            buffer += grad / denominator
            w -= group["lr"] * buffer
        else:
            w -= group["lr"] * grad / denominator
        return w


class Adagrad(Optimizer):
    """Adagrad: divide each step by the root of the sum of all squared gradients so far.

    s ← s + g², w ← w − η_t g/(√s + ε), with η_t = η/(1 + (t − 1)·lr_decay) and s starting at
    ``initial_accumulator_value``. Weights with large past gradients take ever smaller steps.
    """

    def __init__(self, params, lr: float = 1e-2, lr_decay: float = 0.0, weight_decay: float = 0.0,
                 initial_accumulator_value: float = 0.0, eps: float = 1e-10, maximize: bool = False):
        super().__init__(params, dict(lr=lr, lr_decay=lr_decay, weight_decay=weight_decay,
                                      initial_accumulator_value=initial_accumulator_value, eps=eps, maximize=maximize))

    def update(self, w, grad, state, group):
        if not state:
            state.update(step=0, sum=np.full_like(w, group["initial_accumulator_value"]))
        state["step"] += 1
        if group["weight_decay"]:
            grad = grad + group["weight_decay"] * w
        lr = group["lr"] / (1 + (state["step"] - 1) * group["lr_decay"])
        state["sum"] += grad * grad
        w -= lr * grad / (np.sqrt(state["sum"]) + group["eps"])
        return w


from . import lr_scheduler  # noqa: E402  (schedulers act on the optimizers above)

__all__ = ["Adagrad", "Adam", "AdamW", "Optimizer", "RMSprop", "SGD", "lr_scheduler"]
