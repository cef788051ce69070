"""The lecture's layers: Linear (z = Wx + b), the activations, Dropout, Flatten, and Sequential."""

from __future__ import annotations

import math

import numpy as np

import tinygrad_edu as tg

from . import functional as F
from . import init as nn_init
from .module import Module, Parameter

INITS = ("pytorch", "normal", "zeros")


class Linear(Module):
    """A layer of neurons: z = x Wᵀ + b, one row of W (shape (out, in)) and one bias per neuron.

    ``init`` chooses the starting weights and biases (see `nn.init`):

    - ``"pytorch"`` (default): uniform on [−1/√in, 1/√in], PyTorch's default for ``nn.Linear``
      (its ``kaiming_uniform_(w, a=√5)``; with no inputs, the biases start at 0, as in PyTorch);
    - ``"normal"``: standard normal N(0, 1), as in Nielsen's network.py;
    - ``"zeros"``: w = 0 and b = 0, where the lecture starts the perceptron and batch gradient descent.

    ``generator`` (a ``numpy.random.Generator``) fixes the draw; without it the engine's default
    generator is used, which ``tinygrad_edu.manual_seed`` seeds.
    """

    def __init__(self, in_features: int, out_features: int, bias: bool = True, init: str = "pytorch",
                 generator: np.random.Generator | None = None, dtype=np.float32):
        super().__init__()
        for name, size in (("in_features", in_features), ("out_features", out_features)):
            if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or size < 0:
                raise ValueError(f"Linear: {name} must be an integer ≥ 0, got {size!r}")
        self.in_features, self.out_features = in_features, out_features
        self.weight = Parameter(np.empty((out_features, in_features), dtype=dtype))
        self.bias = Parameter(np.empty(out_features, dtype=dtype)) if bias else None
        self.reset_parameters(init, generator)

    def reset_parameters(self, init: str = "pytorch", generator: np.random.Generator | None = None) -> None:
        """Draw the weights, then the biases, as ``init`` says."""
        if init not in INITS:
            raise ValueError(f"Linear: unknown init {init!r}, choose one of {INITS}")
        for p in (self.weight, self.bias):
            if p is None:
                continue
            if init == "zeros":
                nn_init.zeros_(p)
            elif init == "normal":
                nn_init.normal_(p, generator=generator)
            else:
                bound = 1 / math.sqrt(self.in_features) if self.in_features > 0 else 0.0
                nn_init.uniform_(p, -bound, bound, generator=generator)

    def forward(self, x: tg.Tensor) -> tg.Tensor:
        if x.ndim == 0 or x.shape[-1] != self.in_features:
            raise ValueError(f"{self!r}: expected input with last dimension {self.in_features}, got shape {x.shape}")
        return tg.linear(x, self.weight, self.bias)

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}"


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


class LeakyReLU(Module):
    """a = z for z > 0, else negative_slope·z: a ReLU whose "off" side still passes a little gradient."""

    def __init__(self, negative_slope: float = 0.01):
        super().__init__()
        self.negative_slope = negative_slope

    def forward(self, z):
        return F.leaky_relu(z, self.negative_slope)

    def extra_repr(self) -> str:
        return f"negative_slope={self.negative_slope}"


class Softmax(Module):
    """aᵢ = e^zᵢ / Σⱼ e^zⱼ along ``dim``: outputs that are positive and sum to 1 (probabilities)."""

    def __init__(self, dim: int):
        super().__init__()
        self.dim = _required_dim(dim, "Softmax")

    def forward(self, z):
        return F.softmax(z, self.dim)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class LogSoftmax(Module):
    """aᵢ = zᵢ − ln Σⱼ e^zⱼ along ``dim``: the logarithm of `Softmax`, computed without overflow."""

    def __init__(self, dim: int):
        super().__init__()
        self.dim = _required_dim(dim, "LogSoftmax")

    def forward(self, z):
        return F.log_softmax(z, self.dim)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class _Activation(Module):
    """An activation layer: ``function`` of nn.functional, applied with the settings given at construction,
    kept as attributes by PyTorch's names and in its order (``nn.ELU(0.5).alpha``)."""

    function = None  # the nn.functional function, as a staticmethod
    settings: tuple = ()  # (name, default) pairs

    def __init__(self, *args, **kwargs):
        super().__init__()
        names = [name for name, _ in self.settings]
        unexpected = sorted(set(kwargs) - set(names)) + ([f"{len(args)} positional arguments"] if len(args) > len(names) else [])
        if unexpected:
            raise TypeError(f"{type(self).__name__}() takes the settings ({', '.join(names)}), got unexpected "
                            f"{', '.join(unexpected)}")
        values = {**dict(self.settings), **dict(zip(names, args)), **kwargs}
        for name in names:
            setattr(self, name, values[name])

    def forward(self, z):
        return self.function(z, **{name: getattr(self, name) for name in dict(self.settings)})

    def extra_repr(self) -> str:
        return ", ".join(f"{name}={getattr(self, name)!r}" for name in dict(self.settings))


class GELU(_Activation):
    """a = z·Φ(z), Φ the standard normal's CDF (``approximate="tanh"``: through tanh)."""

    function, settings = staticmethod(F.gelu), (("approximate", "none"),)


class SiLU(_Activation):
    """a = z·σ(z) (swish)."""

    function = staticmethod(F.silu)


class ELU(_Activation):
    """a = z for z > 0, α(eᶻ − 1) otherwise."""

    function, settings = staticmethod(F.elu), (("alpha", 1.0),)


class SELU(_Activation):
    """a = λ·elu(z, α) with the constants that keep activations standardised."""

    function = staticmethod(F.selu)


class CELU(_Activation):
    """a = z for z > 0, α(e^(z/α) − 1) otherwise."""

    function, settings = staticmethod(F.celu), (("alpha", 1.0),)


class Softplus(_Activation):
    """a = (1/β) ln(1 + e^(βz)), a smooth ReLU (z itself where βz > threshold)."""

    function, settings = staticmethod(F.softplus), (("beta", 1.0), ("threshold", 20.0))


class Softsign(_Activation):
    """a = z / (1 + |z|)."""

    function = staticmethod(F.softsign)


class Hardtanh(_Activation):
    """a = z clipped into [min_val, max_val]."""

    function, settings = staticmethod(F.hardtanh), (("min_val", -1.0), ("max_val", 1.0))


class ReLU6(_Activation):
    """a = min(max(0, z), 6)."""

    function = staticmethod(F.relu6)


class LogSigmoid(_Activation):
    """a = ln σ(z)."""

    function = staticmethod(F.logsigmoid)


class Mish(_Activation):
    """a = z·tanh(softplus(z))."""

    function = staticmethod(F.mish)


class Hardswish(_Activation):
    """a = z·relu6(z + 3)/6."""

    function = staticmethod(F.hardswish)


class Hardsigmoid(_Activation):
    """a = relu6(z + 3)/6."""

    function = staticmethod(F.hardsigmoid)


def _required_dim(dim, layer: str) -> int:
    # PyTorch guesses a missing dim from the input's rank (with a warning); we ask for it instead.
    if isinstance(dim, bool) or not isinstance(dim, (int, np.integer)):
        raise TypeError(f"{layer}: dim must be an integer, such as {layer}(dim=1) for outputs of shape "
                        f"(examples, classes); got {dim!r}")
    return int(dim)


class Identity(Module):
    """a = z: a placeholder layer (any constructor arguments are ignored, as in PyTorch)."""

    def __init__(self, *args, **kwargs):
        super().__init__()

    def forward(self, x):
        return x


class _BatchNorm(Module):
    """Normalise each channel over the batch, then scale and shift: y = γ (x − μ)/√(σ² + ε) + β.

    For input (N, C, ...), in training μ and σ² are the batch's mean and (biased) variance of each
    of the C channels, over N and every position; the running averages used in evaluation follow
    r ← (1 − momentum) r + momentum · (batch statistic), with the *unbiased* variance
    (σ² · n/(n − 1)), as PyTorch does. ``momentum=None`` makes them plain averages over all
    batches so far. In eval mode the running averages replace the batch's statistics, so one
    example's output no longer depends on the others in its batch. ``affine=False`` drops γ
    and β; ``track_running_stats=False`` keeps no running averages and uses batch statistics always.
    """

    shapes: str  # the input shapes a subclass takes, as its error messages name them
    dims: tuple  # ... and their numbers of dimensions

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1, affine: bool = True,
                 track_running_stats: bool = True, dtype=np.float32):
        super().__init__()
        name = type(self).__name__
        if not eps > 0:
            raise ValueError(f"{name}: eps must be > 0, got {eps}")
        if momentum is not None and not 0 <= momentum <= 1:
            raise ValueError(f"{name}: momentum must lie in [0, 1] or be None, got {momentum}")
        self.num_features, self.eps, self.momentum = num_features, eps, momentum
        self.affine, self.track_running_stats = affine, track_running_stats
        if affine:
            self.weight = Parameter(np.ones(num_features, dtype=dtype))  # γ
            self.bias = Parameter(np.zeros(num_features, dtype=dtype))  # β
        if track_running_stats:
            self.register_buffer("running_mean", tg.zeros(num_features, dtype=dtype))
            self.register_buffer("running_var", tg.ones(num_features, dtype=dtype))
            self.register_buffer("num_batches_tracked", tg.tensor(0, dtype=np.int64))

    def forward(self, x):
        if x.ndim not in self.dims or x.shape[1] != self.num_features:
            raise ValueError(f"{self!r}: expected input of shape {self.shapes.replace('C', str(self.num_features))}, "
                             f"got {x.shape}")
        axes = (0,) + tuple(range(2, x.ndim))  # every dim but the channels'
        shape = (1, -1) + (1,) * (x.ndim - 2)  # per-channel values broadcast along the others
        use_batch = self.training or not self.track_running_stats
        if use_batch:
            n = x.numel() // self.num_features
            if self.training and n == 1:
                raise ValueError(f"{self!r}: expected more than 1 value per channel when training, got input of "
                                 f"shape {x.shape} (use a larger batch, or call eval())")
            mean = x.mean(dim=axes, keepdim=True)
            var = ((x - mean) ** 2).mean(dim=axes, keepdim=True)
            if self.training and self.track_running_stats:
                self._update_running_stats(mean, var, n)
        else:  # ops on the buffers, not copies of their values: a jitted step reads them afresh on every call
            mean, var = self.running_mean.reshape(shape), self.running_var.reshape(shape)
        y = (x - mean) / (var + self.eps).sqrt()
        if self.affine:
            y = y * self.weight.reshape(shape) + self.bias.reshape(shape)
        return y

    @tg.jit.live  # a jitted step calls it on every replay, with that call's batch statistics
    def _update_running_stats(self, mean: tg.Tensor, var: tg.Tensor, n: int) -> None:
        """r ← (1 − m) r + m · (batch statistic), the variance made unbiased (σ² · n/(n − 1)) first."""
        self.num_batches_tracked.data += 1
        m = 1 / self.num_batches_tracked.item() if self.momentum is None else self.momentum
        self.running_mean.data[...] = (1 - m) * self.running_mean.data + m * mean.numpy().reshape(-1)
        self.running_var.data[...] = (1 - m) * self.running_var.data + m * (var.numpy().reshape(-1) * (n / (n - 1)))

    def extra_repr(self) -> str:
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, affine={self.affine}, "
                f"track_running_stats={self.track_running_stats}")


class BatchNorm1d(_BatchNorm):
    """`_BatchNorm` of features: input (N, C), or (N, C, L) with statistics over N and L."""

    shapes, dims = "(N, C) or (N, C, L)", (2, 3)


class BatchNorm2d(_BatchNorm):
    """`_BatchNorm` of images' channels: input (N, C, H, W), statistics over N, H and W."""

    shapes, dims = "(N, C, H, W)", (4,)


class LayerNorm(Module):
    """Normalise each example over its last dimensions, then scale and shift: y = γ (x − μ)/√(σ² + ε) + β.

    μ and σ² (biased) are taken over the trailing dimensions given by ``normalized_shape``, for
    each example separately, in training and evaluation alike; γ and β have that shape.
    """

    def __init__(self, normalized_shape, eps: float = 1e-5, elementwise_affine: bool = True, bias: bool = True,
                 dtype=np.float32):
        super().__init__()
        if not eps > 0:
            raise ValueError(f"LayerNorm: eps must be > 0, got {eps}")
        shape = (normalized_shape,) if isinstance(normalized_shape, (int, np.integer)) else tuple(normalized_shape)
        self.normalized_shape, self.eps, self.elementwise_affine = shape, eps, elementwise_affine
        self.weight = Parameter(np.ones(shape, dtype=dtype)) if elementwise_affine else None
        self.bias = Parameter(np.zeros(shape, dtype=dtype)) if elementwise_affine and bias else None

    def forward(self, x):
        k = len(self.normalized_shape)
        if x.shape[x.ndim - k:] != self.normalized_shape or x.ndim < k:
            raise ValueError(f"{self!r}: expected input whose last dimensions are {self.normalized_shape}, "
                             f"got {x.shape}")
        axes = tuple(range(x.ndim - k, x.ndim))
        mean = x.mean(dim=axes, keepdim=True)
        var = ((x - mean) ** 2).mean(dim=axes, keepdim=True)
        y = (x - mean) / (var + self.eps).sqrt()
        if self.weight is not None:
            y = y * self.weight
        if self.bias is not None:
            y = y + self.bias
        return y

    def extra_repr(self) -> str:
        return f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.elementwise_affine}"


class Step(Module):
    """The perceptron's unit: y = step(z) = 1 if z ≥ 0 else 0, with z = w·x + b (b = −threshold).

    The step's true derivative is zero, which would stop all learning, so backward passes the
    gradient straight through. Then, for one example with target t, the quadratic cost
    J = ½‖t − y‖² has ∂J/∂y = y − t, hence ∂J/∂w = (y − t) x and ∂J/∂b = y − t, and one SGD step
    w ← w − η ∂J/∂w is exactly the perceptron rule w ← w + η (t − y) x, b ← b + η (t − y).
    """

    def forward(self, z):
        return F.StraightThroughStep.apply(z)


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


class Dropout2d(Module):
    """In training, zero each channel of each (N, C, H, W) example with probability p and scale the rest by
    1/(1 − p); in eval, identity. See `nn.functional.dropout2d`."""

    def __init__(self, p: float = 0.5, generator: np.random.Generator | None = None):
        super().__init__()
        if not 0 <= p < 1:
            raise ValueError(f"Dropout2d: p must be in [0, 1), got {p}")
        self.p, self.generator = p, generator

    def forward(self, x):
        return F.dropout2d(x, self.p, self.training, generator=self.generator)

    def extra_repr(self) -> str:
        return f"p={self.p}"


class Flatten(Module):
    """Flatten the dimensions from ``start_dim`` to ``end_dim`` into one: (N, 1, 28, 28) images become (N, 784) rows."""

    def __init__(self, start_dim: int = 1, end_dim: int = -1):
        super().__init__()
        self.start_dim, self.end_dim = start_dim, end_dim

    def forward(self, x):
        return x.flatten(self.start_dim, self.end_dim)

    def extra_repr(self) -> str:
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"


class Sequential(Module):
    """Layers applied one after another; they are named "0", "1", ... as in PyTorch (or by a dict's keys)."""

    def __init__(self, *layers: Module):
        super().__init__()
        named = layers[0].items() if len(layers) == 1 and isinstance(layers[0], dict) else enumerate(layers)
        for name, layer in named:
            self.add_module(str(name), layer)

    def forward(self, x):
        for _, layer in self.named_children():
            x = layer(x)
        return x

    def __getitem__(self, index):
        """One layer, or for a slice a new Sequential of those layers (the same layer objects)."""
        if isinstance(index, slice):
            return Sequential(dict(list(self.named_children())[index]))
        return list(self.children())[index]

    def __len__(self) -> int:
        return sum(1 for _ in self.named_children())

    def __iter__(self):
        return self.children()

    def append(self, layer: Module) -> "Sequential":
        self.add_module(str(len(self)), layer)
        return self


class ModuleList(Module):
    """A list of modules whose parameters are registered (a plain Python list would hide them)."""

    def __init__(self, modules=()):
        super().__init__()
        self.extend(modules)

    def __getitem__(self, index):
        if isinstance(index, slice):
            return ModuleList(list(self.children())[index])
        return getattr(self, self._name(index))

    def __setitem__(self, index, module: Module) -> None:
        self.add_module(self._name(index), module)

    def _name(self, index: int) -> str:
        """The registered name of position ``index`` (negative counts from the end, as for lists)."""
        n = len(self)
        if not -n <= index < n:
            raise IndexError(f"index {index} is out of range for a ModuleList of {n} modules")
        return str(index % n)

    def __len__(self) -> int:
        return len(self._registered)

    def __iter__(self):
        return self.children()

    def append(self, module: Module) -> "ModuleList":
        self.add_module(str(len(self)), module)
        return self

    def extend(self, modules) -> "ModuleList":
        for module in modules:
            self.append(module)
        return self

    def insert(self, index: int, module: Module) -> None:
        modules = list(self.children())
        modules.insert(index, module)
        for name in list(self._registered):
            delattr(self, name)
        self.extend(modules)


class ModuleDict(Module):
    """A dict of modules whose parameters are registered, in insertion order, under their keys."""

    def __init__(self, modules=None):
        super().__init__()
        if modules is not None:
            self.update(modules)

    def __getitem__(self, key: str) -> Module:
        if key not in self._registered:
            raise KeyError(key)
        return getattr(self, key)

    def __setitem__(self, key: str, module: Module) -> None:
        self.add_module(key, module)

    def __delitem__(self, key: str) -> None:
        if key not in self._registered:
            raise KeyError(key)
        delattr(self, key)

    def __len__(self) -> int:
        return len(self._registered)

    def __iter__(self):
        return iter(list(self._registered))

    def __contains__(self, key) -> bool:
        return key in self._registered

    def keys(self):
        return list(self._registered)

    def values(self):
        return list(self.children())

    def items(self):
        return list(self.named_children())

    def pop(self, key: str) -> Module:
        module = self[key]
        del self[key]
        return module

    def update(self, modules) -> None:
        for key, module in (modules.items() if isinstance(modules, dict) else modules):
            self[key] = module
