"""Optimizers: how a gradient becomes a weight update. Formulas as in PyTorch, so results transfer.

Every update is done in place on ``p.data`` (no graph is recorded: the array is changed directly).
Gradient arrays are only read, never written: the engine may share one array between tensors.
"""

from __future__ import annotations

import numpy as np

import tinygrad_edu as tg


class Optimizer:
    """Holds the parameters and their per-parameter state; subclasses define ``update``.

    ``hyperparameters`` names the settings saved by ``state_dict`` along with the state, so that
    a run resumed from a checkpoint continues exactly as if it had never stopped.
    """

    hyperparameters: tuple = ("lr",)

    def __init__(self, params, lr: float):
        self.params = list(params)
        if not self.params:
            raise ValueError(f"{type(self).__name__} got an empty parameter list")
        if not lr >= 0:
            raise ValueError(f"{type(self).__name__}: learning rate must be ≥ 0, got {lr}")
        self.lr = lr
        self.state = [{} for _ in self.params]  # e.g. momentum buffers, one dict per parameter

    @tg.jit.live  # a jitted training step calls it for real on every replay
    def zero_grad(self) -> None:
        """Forget the gradients (``grad = None``), so the next backward starts from zero."""
        for p in self.params:
            p.grad = None

    @tg.jit.live  # a jitted step calls it for real every time: current lr, momentum, Adam's state
    def step(self) -> None:
        """Update every parameter that has a gradient."""
        for p, state in zip(self.params, self.state):
            if p.grad is not None:
                self.update(p.data, p.grad.data, state)

    def update(self, w: np.ndarray, grad: np.ndarray, state: dict) -> None:
        raise NotImplementedError

    def state_dict(self) -> dict:
        """A flat {name: number or array} dict (storable in an .npz without pickle)."""
        saved = {name: getattr(self, name) for name in self.hyperparameters}
        for i, state in enumerate(self.state):
            saved.update({f"state.{i}.{key}": np.copy(value) for key, value in state.items()})
        return saved

    def load_state_dict(self, saved: dict) -> None:
        missing = [name for name in self.hyperparameters if name not in saved]
        if missing:
            raise KeyError(f"{type(self).__name__} state dict lacks {missing}")
        states = [{} for _ in self.params]
        for key, value in saved.items():
            if not key.startswith("state."):
                continue
            _, index, name = key.split(".", 2)
            index = int(index)
            if index >= len(self.params):
                raise KeyError(f"state dict entry {key!r} is for parameter {index}, but there are {len(self.params)}")
            value = np.array(value)
            if value.ndim and value.shape != self.params[index].shape:
                raise ValueError(f"state dict entry {key!r} has shape {value.shape}, "
                                 f"but parameter {index} has shape {self.params[index].shape}")
            states[index][name] = value if value.ndim else value.item()
        for name in self.hyperparameters:
            setattr(self, name, type(getattr(self, name))(np.asarray(saved[name]).item()))
        self.state = states


class SGD(Optimizer):
    """Stochastic gradient descent: w ← w − η g, where g = ∂C/∂w (+ λw with weight decay λ).

    With momentum μ, a velocity v ← μ v + g accumulates past gradients and w ← w − η v
    (Nesterov: w ← w − η (g + μ v)). Whether this is full-batch, stochastic or mini-batch
    descent depends only on how many examples the gradient was averaged over.
    """

    hyperparameters = ("lr", "momentum", "nesterov", "weight_decay")

    def __init__(self, params, lr: float, momentum: float = 0.0, nesterov: bool = False, weight_decay: float = 0.0):
        super().__init__(params, lr)
        if momentum < 0 or weight_decay < 0:
            raise ValueError(f"SGD: momentum and weight_decay must be ≥ 0, got {momentum} and {weight_decay}")
        if nesterov and momentum == 0:
            raise ValueError("SGD: nesterov=True needs momentum > 0")
        self.momentum, self.nesterov, self.weight_decay = float(momentum), bool(nesterov), float(weight_decay)

    def update(self, w, grad, state):
        if self.weight_decay:
            grad = grad + self.weight_decay * w
        if self.momentum:
            velocity = state.get("momentum_buffer")
            if velocity is None:
                velocity = state["momentum_buffer"] = grad.copy()  # PyTorch starts v at the first g
            else:
                velocity *= self.momentum
                velocity += grad
            grad = grad + self.momentum * velocity if self.nesterov else velocity
        w -= self.lr * grad


class Adam(Optimizer):
    """Adam: steps scaled per weight by running averages of the gradient and of its square.

    m ← β₁m + (1−β₁)g,  v ← β₂v + (1−β₂)g²,  then with bias corrections m̂ = m/(1−β₁ᵗ), v̂ = v/(1−β₂ᵗ):
    w ← w − η m̂ / (√v̂ + ε). Weight decay λ adds λw to g first (PyTorch's Adam, not AdamW).
    """

    hyperparameters = ("lr", "beta1", "beta2", "eps", "weight_decay")

    def __init__(self, params, lr: float = 1e-3, betas: tuple = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0.0):
        super().__init__(params, lr)
        if not (0 <= betas[0] < 1 and 0 <= betas[1] < 1):
            raise ValueError(f"Adam: betas must lie in [0, 1), got {betas}")
        if eps < 0 or weight_decay < 0:
            raise ValueError(f"Adam: eps and weight_decay must be ≥ 0, got {eps} and {weight_decay}")
        self.beta1, self.beta2 = float(betas[0]), float(betas[1])
        self.eps, self.weight_decay = float(eps), float(weight_decay)

    def update(self, w, grad, state):
        if self.weight_decay:
            grad = grad + self.weight_decay * w
        if not state:
            state.update(step=0, exp_avg=np.zeros_like(w), exp_avg_sq=np.zeros_like(w))
        state["step"] += 1
        m, v, t = state["exp_avg"], state["exp_avg_sq"], state["step"]
        m *= self.beta1
        m += (1 - self.beta1) * grad
        v *= self.beta2
        v += (1 - self.beta2) * grad * grad
        denominator = np.sqrt(v) / np.sqrt(1 - self.beta2**t) + self.eps
        w -= (self.lr / (1 - self.beta1**t)) * m / denominator
