"""Convolution and pooling layers, PyTorch's: Conv1d, Conv2d, ConvTranspose2d, MaxPool2d, AvgPool2d, AdaptiveAvgPool2d.

A convolutional layer is a Linear layer that looks at one small patch of the image at a time and
uses the same weights at every position: ``out_channels`` filters of ``in_channels/groups ×
kernel_size`` weights each, slid over the input. The arithmetic lives in `nn.functional`
(`conv2d` and friends); these modules hold the weights and the settings. Weight shapes,
``state_dict`` keys and the initialisation follow PyTorch, so a state dict moves between the two.
"""

from __future__ import annotations

import math

import numpy as np

import tinygrad_edu as tg

from . import functional as F
from . import init as nn_init
from .module import Module, Parameter


class _ConvNd(Module):
    """What the convolutions share: the settings, the weight (out, in/groups, *kernel) and the bias (out,).

    Initialised as PyTorch's: w uniform on [−1/√fan_in, 1/√fan_in] (its ``kaiming_uniform_(w, a=√5)``),
    b likewise, with fan_in = the inputs of one filter, in_channels/groups · the kernel's size.
    ``generator`` (a ``numpy.random.Generator``; not in PyTorch) fixes the draw; without it the
    engine's default generator is used (``tinygrad_edu.manual_seed``).
    """

    dims: int  # 1 or 2: the kernel's dimensions
    transposed = False

    def __init__(self, in_channels, out_channels, kernel_size, stride, padding, dilation, groups, bias, padding_mode,
                 generator, dtype, output_padding=0):
        super().__init__()
        name = type(self).__name__
        for what, value in (("in_channels", in_channels), ("out_channels", out_channels), ("groups", groups)):
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
                raise ValueError(f"{name}: {what} must be a positive integer, got {value!r}")
        if in_channels % groups or out_channels % groups:
            raise ValueError(f"{name}: in_channels ({in_channels}) and out_channels ({out_channels}) must both be "
                             f"divisible by groups ({groups})")
        if padding_mode != "zeros":
            raise ValueError(f"{name}: only padding_mode='zeros' is written here, got {padding_mode!r}")
        if isinstance(padding, str) and (padding not in ("valid", "same") or self.transposed):
            raise ValueError(f"{name}: padding must be a number or a tuple" + ("" if self.transposed else ", 'valid' or 'same'")
                             + f", got {padding!r}")
        pairs = lambda value, what, least: F._ints(value, self.dims, name, what, least)
        self.in_channels, self.out_channels, self.groups = in_channels, out_channels, groups
        self.kernel_size, self.stride = pairs(kernel_size, "kernel_size", 1), pairs(stride, "stride", 1)
        self.padding = padding if isinstance(padding, str) else pairs(padding, "padding", 0)
        self.dilation, self.padding_mode = pairs(dilation, "dilation", 1), padding_mode
        if self.transposed:
            self.output_padding = pairs(output_padding, "output_padding", 0)
            shape = (in_channels, out_channels // groups, *self.kernel_size)
        else:
            shape = (out_channels, in_channels // groups, *self.kernel_size)
        self.weight = Parameter(np.empty(shape, dtype=dtype))
        self.bias = Parameter(np.empty(out_channels, dtype=dtype)) if bias else None
        self.reset_parameters(generator)

    def reset_parameters(self, generator: np.random.Generator | None = None) -> None:
        nn_init.kaiming_uniform_(self.weight, a=math.sqrt(5), generator=generator)
        if self.bias is not None:
            fan_in, _ = nn_init._calculate_fan_in_and_fan_out(self.weight)
            bound = 1 / math.sqrt(fan_in)
            nn_init.uniform_(self.bias, -bound, bound, generator=generator)

    def extra_repr(self) -> str:
        text = f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}"
        if self.padding != (0,) * self.dims:
            text += f", padding={self.padding!r}"
        if self.dilation != (1,) * self.dims:
            text += f", dilation={self.dilation}"
        if self.transposed and self.output_padding != (0,) * self.dims:
            text += f", output_padding={self.output_padding}"
        if self.groups != 1:
            text += f", groups={self.groups}"
        return text + ("" if self.bias is not None else ", bias=False")


class Conv2d(_ConvNd):
    """2-D convolution: (N, in_channels, H, W) → (N, out_channels, H', W'); see `nn.functional.conv2d`."""

    dims = 2

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0, dilation=1,
                 groups: int = 1, bias: bool = True, padding_mode: str = "zeros", generator=None, dtype=np.float32):
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation, groups, bias, padding_mode,
                         generator, dtype)

    def forward(self, x: tg.Tensor) -> tg.Tensor:
        return F.conv2d(x, self.weight, self.bias, self.stride, self.padding, self.dilation, self.groups)


class Conv1d(_ConvNd):
    """1-D convolution: (N, in_channels, L) → (N, out_channels, L'); see `nn.functional.conv1d`."""

    dims = 1

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0, dilation=1,
                 groups: int = 1, bias: bool = True, padding_mode: str = "zeros", generator=None, dtype=np.float32):
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation, groups, bias, padding_mode,
                         generator, dtype)

    def forward(self, x: tg.Tensor) -> tg.Tensor:
        padding = self.padding if isinstance(self.padding, str) else self.padding[0]
        return F.conv1d(x, self.weight, self.bias, self.stride[0], padding, self.dilation[0], self.groups)


class ConvTranspose2d(_ConvNd):
    """The transpose of Conv2d, which grows an image: weight (in_channels, out_channels/groups, kH, kW);
    see `nn.functional.conv_transpose2d`."""

    dims, transposed = 2, True

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0, output_padding=0,
                 groups: int = 1, bias: bool = True, dilation=1, padding_mode: str = "zeros", generator=None,
                 dtype=np.float32):
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation, groups, bias, padding_mode,
                         generator, dtype, output_padding)

    def forward(self, x: tg.Tensor) -> tg.Tensor:
        return F.conv_transpose2d(x, self.weight, self.bias, self.stride, self.padding, self.output_padding,
                                  self.groups, self.dilation)


class MaxPool2d(Module):
    """The largest value in each window: (N, C, H, W) → (N, C, H', W'); ``stride`` defaults to ``kernel_size``."""

    def __init__(self, kernel_size, stride=None, padding=0, dilation=1, return_indices: bool = False,
                 ceil_mode: bool = False):
        super().__init__()
        if return_indices or ceil_mode:
            raise ValueError("MaxPool2d: return_indices and ceil_mode are not written here")
        self.kernel_size, self.padding, self.dilation = kernel_size, padding, dilation
        self.stride = kernel_size if stride is None else stride

    def forward(self, x):
        return F.max_pool2d(x, self.kernel_size, self.stride, self.padding, self.dilation)

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}, dilation={self.dilation}"


class AvgPool2d(Module):
    """The mean of each window: (N, C, H, W) → (N, C, H', W'); ``stride`` defaults to ``kernel_size``."""

    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode: bool = False, count_include_pad: bool = True,
                 divisor_override: int | None = None):
        super().__init__()
        if ceil_mode:
            raise ValueError("AvgPool2d: ceil_mode is not written here")
        self.kernel_size, self.padding = kernel_size, padding
        self.stride = kernel_size if stride is None else stride
        self.count_include_pad, self.divisor_override = count_include_pad, divisor_override

    def forward(self, x):
        return F.avg_pool2d(x, self.kernel_size, self.stride, self.padding, False, self.count_include_pad,
                            self.divisor_override)

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class AdaptiveAvgPool2d(Module):
    """Average pooling to a fixed output size, whatever the input's: (N, C, H, W) → (N, C, *output_size)."""

    def __init__(self, output_size):
        super().__init__()
        self.output_size = output_size

    def forward(self, x):
        return F.adaptive_avg_pool2d(x, self.output_size)

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"
