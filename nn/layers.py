"""The lecture's layers: Linear (z = Wx + b), the activations, Dropout, Flatten, and Sequential."""

from __future__ import annotations

import numpy as np

import tinygrad_edu as tg

from . import functional as F
from .module import Module, Parameter

INITS = ("pytorch", "normal", "zeros")


class Linear(Module):
    """A layer of neurons: z = x Wᵀ + b, one row of W (shape (out, in)) and one bias per neuron.

    ``init`` chooses the starting weights and biases:

    - ``"pytorch"`` (default): uniform on [−1/√in, 1/√in], PyTorch's default for ``nn.Linear``;
    - ``"normal"``: standard normal N(0, 1), as in Nielsen's network.py;
    - ``"zeros"``: w = 0 and b = 0, where the lecture starts the perceptron and batch gradient descent.

    ``generator`` (a ``numpy.random.Generator``) fixes the draw; without it the engine's default
    generator is used, which ``tinygrad_edu.manual_seed`` seeds.
    """

    def __init__(self, in_features: int, out_features: int, bias: bool = True, init: str = "pytorch",
                 generator: np.random.Generator | None = None, dtype=np.float32):
        super().__init__()
        if init not in INITS:
            raise ValueError(f"Linear: unknown init {init!r}, choose one of {INITS}")
        self.in_features, self.out_features = in_features, out_features
        self.weight = Parameter(_initial(init, (out_features, in_features), in_features, generator, dtype))
        self.bias = Parameter(_initial(init, (out_features,), in_features, generator, dtype)) if bias else None

    def forward(self, x: tg.Tensor) -> tg.Tensor:
        if x.ndim == 0 or x.shape[-1] != self.in_features:
            raise ValueError(f"{self!r}: expected input with last dimension {self.in_features}, got shape {x.shape}")
        return tg.linear(x, self.weight, self.bias)

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}"


def _initial(init: str, shape: tuple, fan_in: int, generator, dtype) -> np.ndarray:
    if init == "zeros":
        return np.zeros(shape, dtype=dtype)
    if init == "normal":
        return tg.randn(*shape, generator=generator, dtype=dtype).numpy()
    bound = 1 / np.sqrt(fan_in)
    return ((2 * tg.rand(*shape, generator=generator, dtype=dtype).numpy() - 1) * bound).astype(dtype)


class Sigmoid(Module):
    """a = σ(z) = 1/(1 + e⁻ᶻ): the smooth step, so small weight changes make small output changes."""

    def forward(self, z):
        return z.sigmoid()


class ReLU(Module):
    """a = max(0, z)."""

    def forward(self, z):
        return z.relu()


class Tanh(Module):
    """a = tanh(z), a sigmoid stretched to (−1, 1)."""

    def forward(self, z):
        return z.tanh()


class _StraightThroughStep(tg.Function):
    """Heaviside step forward; backward passes the gradient through as if the step were the identity."""

    def forward(self, z):
        return (z >= 0).astype(z.dtype)

    def backward(self, grad):
        return grad


class Step(Module):
    """The perceptron's unit: y = step(z) = 1 if z ≥ 0 else 0, with z = w·x + b (b = −threshold).

    The step's true derivative is zero, which would stop all learning, so backward passes the
    gradient straight through. Then, for one example with target t, the quadratic cost
    J = ½‖t − y‖² has ∂J/∂y = y − t, hence ∂J/∂w = (y − t) x and ∂J/∂b = y − t, and one SGD step
    w ← w − η ∂J/∂w is exactly the perceptron rule w ← w + η (t − y) x, b ← b + η (t − y).
    """

    def forward(self, z):
        return _StraightThroughStep.apply(z)


class Dropout(Module):
    """In training, zero each input with probability p and scale the rest by 1/(1 − p); in eval, identity.

    A network cannot lean on any single neuron when each may vanish, which curbs memorising the
    training set. Scaling the survivors keeps the expected input of the next layer the same in
    training and evaluation, so nothing changes at test time. The masks come from ``generator``,
    or from the engine's default generator (``tinygrad_edu.manual_seed``) when none is given.
    """

    def __init__(self, p: float = 0.5, generator: np.random.Generator | None = None):
        super().__init__()
        if not 0 <= p < 1:
            raise ValueError(f"Dropout: p must be in [0, 1), got {p}")
        self.p, self.generator = p, generator

    def forward(self, x):
        return F.dropout(x, self.p, self.training, generator=self.generator)

    def extra_repr(self) -> str:
        return f"p={self.p}"


class Flatten(Module):
    """Flatten every dimension from ``start_dim`` on: (N, 28, 28) images become (N, 784) rows."""

    def __init__(self, start_dim: int = 1):
        super().__init__()
        self.start_dim = start_dim

    def forward(self, x):
        return x.flatten(self.start_dim)


class Sequential(Module):
    """Layers applied one after another; they are named "0", "1", ... as in PyTorch."""

    def __init__(self, *layers: Module):
        super().__init__()
        for i, layer in enumerate(layers):
            setattr(self, str(i), layer)

    def forward(self, x):
        for _, layer in self.named_children():
            x = layer(x)
        return x

    def __getitem__(self, index: int) -> Module:
        return list(self.named_children())[index][1]

    def __len__(self) -> int:
        return len(self._registered)
