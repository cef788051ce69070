"""Initialising weights in place, with PyTorch's names, gains and fan conventions.

Why the scale matters: a neuron sums ``fan_in`` weighted inputs, so with weights of variance s²
its pre-activation z has variance about fan_in·s² times that of an input. Choosing
s² = 1/fan_in keeps the signal's size from layer to layer (LeCun); the *gain* corrects for what
the activation does to it (ReLU zeroes half of it: gain √2, He/Kaiming). Xavier/Glorot balances
the forward and backward passes with s² = 2/(fan_in + fan_out).

Every function changes ``tensor``'s array in place (no graph is recorded) and returns the tensor.
Random ones draw from ``generator`` (a ``numpy.random.Generator``), or from the engine's default
generator, which ``tinygrad_edu.manual_seed`` seeds, so they are repeatable either way.
"""

from __future__ import annotations

import math

import numpy as np

import tinygrad_edu as tg

GAINS = {"linear": 1.0, "conv1d": 1.0, "conv2d": 1.0, "conv3d": 1.0, "sigmoid": 1.0, "tanh": 5.0 / 3,
         "relu": math.sqrt(2.0), "selu": 3.0 / 4}


def calculate_gain(nonlinearity: str, param: float | None = None) -> float:
    """The factor by which to scale a layer's weights for the activation that follows it (as PyTorch).

    ``"leaky_relu"`` takes its negative slope as ``param`` (default 0.01): gain √(2/(1 + slope²)).
    """
    if nonlinearity == "leaky_relu":
        slope = 0.01 if param is None else param
        if isinstance(slope, bool) or not isinstance(slope, (int, float)):
            raise ValueError(f"calculate_gain: negative_slope {slope!r} is not a number")
        return math.sqrt(2.0 / (1 + slope**2))
    if nonlinearity not in GAINS:
        raise ValueError(f"calculate_gain: unknown nonlinearity {nonlinearity!r}, "
                         f"choose one of {sorted(GAINS) + ['leaky_relu']}")
    return GAINS[nonlinearity]


def _calculate_fan_in_and_fan_out(tensor: tg.Tensor) -> tuple[int, int]:
    """(inputs per neuron, outputs per input) of a weight of shape (out, in, *kernel), as PyTorch counts them."""
    if tensor.ndim < 2:
        raise ValueError(f"fan in and fan out need a weight with at least 2 dimensions (out, in), "
                         f"got shape {tensor.shape}")
    receptive_field = int(np.prod(tensor.shape[2:]))
    return tensor.shape[1] * receptive_field, tensor.shape[0] * receptive_field


def _fan(tensor: tg.Tensor, mode: str) -> int:
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"mode must be 'fan_in' or 'fan_out', got {mode!r}")
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    return fan_in if mode == "fan_in" else fan_out


def uniform_(tensor: tg.Tensor, a: float = 0.0, b: float = 1.0, generator=None) -> tg.Tensor:
    """Fill with samples of the uniform distribution on [a, b)."""
    if not a <= b:
        raise ValueError(f"uniform_: needs a ≤ b, got a={a}, b={b}")
    u = tg.rand(*tensor.shape, generator=generator, dtype=tensor.dtype).numpy()
    # The middle plus half the width times 2u − 1 (in [−1, 1)); for a = −b that is exactly b(2u − 1).
    middle, half_width = np.float64(a + b) / 2, np.float64(b - a) / 2
    tensor.data[...] = middle + half_width * (2 * u - 1)
    return tensor


def normal_(tensor: tg.Tensor, mean: float = 0.0, std: float = 1.0, generator=None) -> tg.Tensor:
    """Fill with samples of the normal distribution N(mean, std²)."""
    if not std >= 0:
        raise ValueError(f"normal_: std must be ≥ 0, got {std}")
    tensor.data[...] = mean + std * tg.randn(*tensor.shape, generator=generator, dtype=tensor.dtype).numpy()
    return tensor


def constant_(tensor: tg.Tensor, val: float) -> tg.Tensor:
    tensor.data[...] = val
    return tensor


def zeros_(tensor: tg.Tensor) -> tg.Tensor:
    return constant_(tensor, 0)


def ones_(tensor: tg.Tensor) -> tg.Tensor:
    return constant_(tensor, 1)


def xavier_uniform_(tensor: tg.Tensor, gain: float = 1.0, generator=None) -> tg.Tensor:
    """Glorot: uniform on [−a, a] with a = gain·√(6/(fan_in + fan_out)), i.e. variance gain²·2/(fan_in + fan_out)."""
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    if tensor.numel() == 0:
        return tensor
    std = gain * math.sqrt(2.0 / (fan_in + fan_out))
    bound = math.sqrt(3.0) * std  # a uniform on [−a, a] has standard deviation a/√3
    return uniform_(tensor, -bound, bound, generator=generator)


def xavier_normal_(tensor: tg.Tensor, gain: float = 1.0, generator=None) -> tg.Tensor:
    """Glorot: N(0, std²) with std = gain·√(2/(fan_in + fan_out))."""
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    if tensor.numel() == 0:
        return tensor
    return normal_(tensor, 0.0, gain * math.sqrt(2.0 / (fan_in + fan_out)), generator=generator)


def kaiming_uniform_(tensor: tg.Tensor, a: float = 0, mode: str = "fan_in", nonlinearity: str = "leaky_relu",
                     generator=None) -> tg.Tensor:
    """He: uniform on [−bound, bound] with bound = gain·√(3/fan), gain = calculate_gain(nonlinearity, a).

    ``mode="fan_in"`` keeps the forward signal's variance, ``"fan_out"`` the backward gradient's.
    PyTorch's ``nn.Linear`` weights are ``kaiming_uniform_(w, a=√5)``: bound 1/√fan_in.
    """
    fan = _fan(tensor, mode)
    if tensor.numel() == 0:
        return tensor
    std = calculate_gain(nonlinearity, a) / math.sqrt(fan)
    bound = math.sqrt(3.0) * std
    return uniform_(tensor, -bound, bound, generator=generator)


def kaiming_normal_(tensor: tg.Tensor, a: float = 0, mode: str = "fan_in", nonlinearity: str = "leaky_relu",
                    generator=None) -> tg.Tensor:
    """He: N(0, std²) with std = gain/√fan."""
    fan = _fan(tensor, mode)
    if tensor.numel() == 0:
        return tensor
    return normal_(tensor, 0.0, calculate_gain(nonlinearity, a) / math.sqrt(fan), generator=generator)
