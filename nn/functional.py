"""PyTorch's ``torch.nn.functional`` for this engine: activations, ``linear``, ``dropout``, ``one_hot``, and the losses.

Names, signatures and results follow PyTorch, with one deliberate addition: ``mse_loss`` also has
the lecture's reduction ``"lecture"``, C = 1/(2n) Σₓ ‖y(x) − a‖², which is the default of the
module ``nn.MSELoss``. The function ``mse_loss`` keeps PyTorch's default ``"mean"``, so code copied
from PyTorch computes what it computed there.

Each loss ends in one op (a `tg.Function`, written the way docs/extending.md shows; cross_entropy is
log_softmax followed by the negative log-likelihood op): forward computes the per-element losses ℓ
and reduces them, backward hands ∂L/∂ℓ through ∂ℓ/∂input. Everything that
changes from call to call (labels, dropout masks, the check for a diverged loss) happens inside an
op, from the op's tensor inputs, so that a recorded step (`tinygrad_edu.jit`) can replay it.
"""

from __future__ import annotations

import math

import numpy as np

import tinygrad_edu as tg

REDUCTIONS = ("mean", "sum", "none")
MSE_REDUCTIONS = ("lecture",) + REDUCTIONS


# ------------------------------------------------------------------------------ activations
def relu(input: tg.Tensor) -> tg.Tensor:
    return input.relu()


def sigmoid(input: tg.Tensor) -> tg.Tensor:
    return input.sigmoid()


def tanh(input: tg.Tensor) -> tg.Tensor:
    return input.tanh()


def softmax(input: tg.Tensor, dim: int) -> tg.Tensor:
    """``dim`` is required: PyTorch's guess when it is left out depends on the number of dimensions."""
    return input.softmax(dim)


def log_softmax(input: tg.Tensor, dim: int) -> tg.Tensor:
    return input.log_softmax(dim)


def linear(input: tg.Tensor, weight: tg.Tensor, bias: tg.Tensor | None = None) -> tg.Tensor:
    """x Wᵀ + b with W of shape (out_features, in_features)."""
    return tg.linear(input, weight, bias)


class LeakyReLUFn(tg.Function):
    """a = z where z > 0, else s·z (slope s);  ∂a/∂z = 1 or s (s at z = 0, as in PyTorch)."""

    def forward(self, z, negative_slope):
        self.positive, self.negative_slope = z > 0, negative_slope
        return z * self.slope(z.dtype)

    def slope(self, dtype):
        """∂a/∂z: 1 where z > 0, else s (an array of constants, made from the mask)."""
        return np.where(self.positive, 1, self.negative_slope).astype(dtype)

    def backward(self, grad):
        return grad * self.slope(grad.dtype)


def leaky_relu(input: tg.Tensor, negative_slope: float = 0.01) -> tg.Tensor:
    return LeakyReLUFn.apply(input, negative_slope=negative_slope)


class DropoutFn(tg.Function):
    """out = x · m / (1 − p), with m = 1 (kept) with probability 1 − p, else 0, for each element
    (or, with ``channels=True``, for each channel of each example: one m for all of x[n, c]).

    The mask is drawn in forward, from ``generator`` or else from the engine's default generator as
    it is at that moment (``tg.manual_seed`` replaces it), so every call, replays included, draws anew.
    Backward lets the gradient through the kept elements with the same scaling: ∂out/∂x = m / (1 − p).
    """

    def forward(self, x, p, generator=None, channels=False):
        shape = x.shape[:2] + (1,) * (x.ndim - 2) if channels else x.shape  # m broadcasts over the rest
        self.keep = tg.rand(*shape, generator=generator, dtype=x.dtype).numpy() >= p
        self.p, self.dtype = p, x.dtype
        return x * self.mask()

    def mask(self):
        """m / (1 − p): 1/(1 − p) where kept, 0 where dropped (made from the kept mask, a constant)."""
        if self.p == 1:
            return np.zeros(self.keep.shape, self.dtype)
        return self.keep / np.asarray(1 - self.p, dtype=self.dtype)

    def backward(self, grad):
        return grad * self.mask()


def dropout(input: tg.Tensor, p: float = 0.5, training: bool = True,
            generator: np.random.Generator | None = None) -> tg.Tensor:
    """Zero each element with probability p and scale the rest by 1/(1 − p), in training; the input itself otherwise.

    ``generator`` (not in PyTorch) fixes the masks; without it, ``tg.manual_seed`` does.
    """
    if not 0 <= p <= 1:
        raise ValueError(f"dropout: p must be a probability in [0, 1], got {p}")
    if not training or p == 0:
        return input
    return DropoutFn.apply(input, p=p, generator=generator)


class StraightThroughStep(tg.Function):
    """Heaviside step forward; backward passes the gradient through as if the step were the identity
    (how ``nn.Step``, the perceptron's unit, learns: see its docstring)."""

    def forward(self, z):
        return (z >= 0).astype(z.dtype)

    def backward(self, grad):
        return grad


def dropout2d(input: tg.Tensor, p: float = 0.5, training: bool = True,
              generator: np.random.Generator | None = None) -> tg.Tensor:
    """Zero whole channels of (N, C, H, W) images with probability p, scale the rest by 1/(1 − p), in training.

    Neighbouring pixels of a feature map are alike, so dropping single pixels hardly hides anything;
    dropping a whole map does. 3-D input is refused: PyTorch is changing what it means (batch or image).
    """
    if input.ndim != 4:
        raise ValueError(f"dropout2d: expected input of shape (N, C, H, W), got {input.shape} (for one image "
                         "(C, H, W), unsqueeze(0) it first)")
    if not 0 <= p <= 1:
        raise ValueError(f"dropout2d: p must be a probability in [0, 1], got {p}")
    if not training or p == 0:
        return input
    return DropoutFn.apply(input, p=p, generator=generator, channels=True)


class OneHot(tg.Function):
    """Row i is eʸⁱ, the unit vector of label yᵢ. Labels are integers, so there is no gradient."""

    def forward(self, labels, num_classes, dtype):
        if num_classes < 0:
            num_classes = int(labels.max()) + 1 if labels.size else 0
        _check_labels(labels, num_classes, True, "one_hot")
        return np.eye(num_classes, dtype=dtype)[labels]


def one_hot(labels, num_classes: int = -1, dtype=np.int64) -> tg.Tensor:
    """Targets for class labels: shape (..., num_classes), 1 at the label and 0 elsewhere.

    As in PyTorch, ``num_classes=-1`` takes the largest label + 1 and the result is int64.
    ``dtype`` (not in PyTorch) gives the lecture's float targets at once:
    ``one_hot(labels, 10, dtype=np.float32)``, to compare with a network's outputs.
    """
    labels = _labels(labels)
    if labels.dtype.kind not in "iu":
        raise TypeError(f"one_hot: labels must be integers, got {labels.dtype}")
    return OneHot.apply(labels, num_classes=num_classes, dtype=np.dtype(dtype))


# ------------------------------------------------------------------- convolution and pooling
# Every convolution here is a matrix product. Unfold (im2col) copies each k_h×k_w patch of the
# image into a column; a filter applied at every position is then one row of weights times those
# columns. Fold (col2im) puts columns back into an image, adding where patches overlap: it is
# Unfold's backward, and Unfold is its.


class Unfold(tg.Function):
    """im2col: every patch the kernel covers, one column each, as PyTorch's ``unfold``.

    For an input x of shape (N, C, H, W), zero-padded by p on each side, a kernel of k_h×k_w taps
    spaced by the dilation d and moved by the stride s covers H' = ⌊(H + 2p_h − d_h(k_h − 1) − 1)/s_h⌋ + 1
    rows of positions (W' likewise), and

        cols[n, (c, i, j), (y, z)] = x_pad[n, c, s_h·y + d_h·i, s_w·z + d_w·j],

    shape (N, C·k_h·k_w, H'·W'), with (c, i, j) and (y, z) counted in row-major order.
    Each pixel is copied into every column whose patch covers it (or into none, where the stride
    skips it), so its gradient is the sum over its copies: ∂L/∂x = fold(∂L/∂cols), the adjoint map.
    """

    def forward(self, x, **geometry):  # kernel_size, dilation, padding, stride: pairs of ints
        self.size, self.positions, self.geometry = x.shape[2:], _out_size(x.shape[2:], **geometry), geometry
        return _im2col(x, self.positions, **geometry)

    def backward(self, grad):
        return _col2im(grad, self.size, self.positions, **self.geometry)


class Fold(tg.Function):
    """col2im: columns back into an image of size ``output_size``, overlapping entries added.

    out[n, c, s_h·y + d_h·i − p_h, s_w·z + d_w·j − p_w] += cols[n, (c, i, j), (y, z)] for every
    tap (i, j) and each of the H'×W' ``positions`` (y, z) (contributions outside the image fall away).
    A sum of copies, so ∂L/∂cols[n, (c, i, j), (y, z)] = ∂L/∂out at the place that entry went:
    ∂L/∂cols = unfold(∂L/∂out).
    """

    def forward(self, cols, output_size, positions, **geometry):
        self.positions, self.geometry = positions, geometry
        return _col2im(cols, output_size, positions, **geometry)

    def backward(self, grad):
        return _im2col(grad, self.positions, **self.geometry)


def _out_size(size, kernel_size, dilation, padding, stride) -> tuple:
    """(H', W'): the positions of the kernel along each side of the padded input."""
    return tuple((n + 2 * p - d * (k - 1) - 1) // s + 1
                 for n, k, d, p, s in zip(size, kernel_size, dilation, padding, stride))


def _margins(size, positions, kernel_size, dilation, padding, stride) -> tuple:
    """The zeros around the image that the windows at ``positions`` reach: p before each side, and after
    it p or more, when a transposed convolution's output_padding asks for fewer rows than its windows reach."""
    return tuple((p, max(p, s * (m - 1) + d * (k - 1) + 1 - n - p))
                 for n, m, k, d, p, s in zip(size, positions, kernel_size, dilation, padding, stride))


def _im2col(x, positions, kernel_size, dilation, padding, stride):
    (kh, kw), (dh, dw), (sh, sw), (oh, ow) = kernel_size, dilation, stride, positions
    n, c = x.shape[:2]
    margins = _margins(x.shape[2:], positions, kernel_size, dilation, padding, stride)
    x = np.pad(x, ((0, 0), (0, 0)) + margins) if np.any(margins) else x
    # A view, not a copy: for every window start (a, b), the (d(k − 1) + 1)² block beginning there.
    # Keep every s-th start and every d-th element of each block: (N, C, H', W', k_h, k_w).
    windows = np.lib.stride_tricks.sliding_window_view(x, (dh * (kh - 1) + 1, dw * (kw - 1) + 1), axis=(2, 3))
    windows = windows[:, :, :sh * (oh - 1) + 1:sh, :sw * (ow - 1) + 1:sw, ::dh, ::dw]
    return windows.transpose(0, 1, 4, 5, 2, 3).reshape(n, c * kh * kw, oh * ow)  # the one copy


def _col2im(cols, output_size, positions, kernel_size, dilation, padding, stride):
    (kh, kw), (dh, dw), (sh, sw), (oh, ow), (h, w) = kernel_size, dilation, stride, positions, output_size
    (top, bottom), (left, right) = _margins(output_size, positions, kernel_size, dilation, padding, stride)
    n, c = cols.shape[0], cols.shape[1] // (kh * kw)
    cols = cols.reshape(n, c, kh, kw, oh, ow)
    out = np.zeros((n, c, top + h + bottom, left + w + right), dtype=cols.dtype)
    # One strided slice per tap (i, j), not a loop over pixels: tap (i, j) of the window at (y, z)
    # lands on row s_h·y + d_h·i, column s_w·z + d_w·j, so all H'·W' of them form one grid.
    for i in range(kh):
        for j in range(kw):
            out[:, :, dh * i:dh * i + sh * (oh - 1) + 1:sh, dw * j:dw * j + sw * (ow - 1) + 1:sw] += cols[:, :, i, j]
    return out[:, :, top:top + h, left:left + w]


def _ints(value, n: int, name: str, what: str, least: int) -> tuple:
    """An int or a sequence of n ints (PyTorch's ``_pair``), each ≥ ``least``, as a tuple of n."""
    values = (value,) * n if isinstance(value, (int, np.integer)) else tuple(value)
    if len(values) != n or not all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in values):
        raise TypeError(f"{name}: {what} must be an int or {n} ints, got {value!r}")
    if min(values) < least:
        raise ValueError(f"{name}: {what} must be ≥ {least}, got {value!r}")
    return tuple(int(v) for v in values)


def _geometry(name, kernel_size, dilation, padding, stride) -> dict:
    """The four settings of Unfold and Fold, each checked and made a pair."""
    return dict(kernel_size=_ints(kernel_size, 2, name, "kernel_size", 1), dilation=_ints(dilation, 2, name, "dilation", 1),
                padding=_ints(padding, 2, name, "padding", 0), stride=_ints(stride, 2, name, "stride", 1))


def _check_images(name, input, fits=None) -> None:
    """Refuse what is not a float (N, C, H, W) batch, or one the kernel does not fit (``fits``: the geometry)."""
    if not isinstance(input, tg.Tensor):
        raise TypeError(f"{name}: input must be a Tensor, got {type(input).__name__}")
    if input.ndim != 4:
        raise ValueError(f"{name}: expected a 4-D input (N, C, H, W), got shape {input.shape}")
    if input.dtype.kind != "f":
        raise TypeError(f"{name}: input must be float, got {input.dtype} (convert it with .float())")
    if fits is not None:
        kernel, dilation, padding, size = fits["kernel_size"], fits["dilation"], fits["padding"], input.shape[2:]
        span = tuple(d * (k - 1) + 1 for k, d in zip(kernel, dilation))
        if any(n + 2 * p < s for n, p, s in zip(size, padding, span)):
            raise ValueError(f"{name}: the kernel spans {span[0]}x{span[1]} pixels (kernel_size {kernel}, dilation "
                             f"{dilation}), more than the padded input's {size[0] + 2 * padding[0]}x"
                             f"{size[1] + 2 * padding[1]} (input {size[0]}x{size[1]}, padding {padding})")


def unfold(input: tg.Tensor, kernel_size, dilation=1, padding=0, stride=1) -> tg.Tensor:
    """Every patch as a column: (N, C, H, W) → (N, C·k_h·k_w, H'·W'); see `Unfold`."""
    geometry = _geometry("unfold", kernel_size, dilation, padding, stride)
    _check_images("unfold", input, geometry)
    return Unfold.apply(input, **geometry)


def fold(input: tg.Tensor, output_size, kernel_size, dilation=1, padding=0, stride=1) -> tg.Tensor:
    """Columns back into images: (N, C·k_h·k_w, L) → (N, C, *output_size), overlaps added; see `Fold`."""
    geometry = _geometry("fold", kernel_size, dilation, padding, stride)
    output_size = _ints(output_size, 2, "fold", "output_size", 1)
    (kh, kw), positions = geometry["kernel_size"], _out_size(output_size, **geometry)
    if input.ndim != 3 or input.shape[1] % (kh * kw) or input.shape[2] != positions[0] * positions[1]:
        raise ValueError(f"fold: expected input of shape (N, C·{kh}·{kw}, {positions[0]}·{positions[1]}) for "
                         f"output_size {output_size} and this kernel, got {input.shape}")
    return Fold.apply(input, output_size=output_size, positions=positions, **geometry)


def conv2d(input: tg.Tensor, weight: tg.Tensor, bias: tg.Tensor | None = None, stride=1, padding=0, dilation=1,
           groups: int = 1) -> tg.Tensor:
    """2-D convolution (PyTorch's, which is a cross-correlation: the kernel is not flipped).

    out[n, o, y, z] = b_o + Σ_{c, i, j} W[o, c, i, j] · x_pad[n, g·C/G + c, s_h·y + d_h·i, s_w·z + d_w·j]

    for input (N, C, H, W), weight (O, C/G, k_h, k_w) and output (N, O, H', W'), where g is the group
    of output channel o: with G groups, each group of O/G filters sees only its own C/G input
    channels. Computed as unfold, then one matrix product per group: W (as O/G rows of C/G·k_h·k_w
    weights) times the columns. ``padding`` may also be "valid" (0) or "same" (output as large as
    the input, stride 1; the odd pixel of an even kernel's padding goes right and bottom, as in PyTorch).
    """
    if input.ndim == 3:  # one image (C, H, W), as PyTorch allows
        return conv2d(input.unsqueeze(0), weight, bias, stride, padding, dilation, groups).squeeze(0)
    _check_images("conv2d", input)
    if weight.ndim != 4:
        raise ValueError(f"conv2d: weight must have shape (out_channels, in_channels/groups, kH, kW), got {weight.shape}")
    if isinstance(groups, bool) or not isinstance(groups, (int, np.integer)) or groups < 1:
        raise ValueError(f"conv2d: groups must be a positive integer, got {groups!r}")
    out_channels, group_channels = weight.shape[:2]
    if out_channels % groups:
        raise ValueError(f"conv2d: out_channels ({out_channels}) must be divisible by groups ({groups})")
    if input.shape[1] != group_channels * groups:
        raise ValueError(f"conv2d: the input has {input.shape[1]} channels, but the weight {weight.shape} with "
                         f"groups={groups} expects {group_channels * groups} (input shape {input.shape})")
    if bias is not None and bias.shape != (out_channels,):
        raise ValueError(f"conv2d: bias must have shape ({out_channels},), got {bias.shape}")
    kernel = weight.shape[2:]
    input, padding = _string_padding("conv2d", input, padding, kernel, dilation, stride)
    geometry = _geometry("conv2d", kernel, dilation, padding, stride)
    _check_images("conv2d", input, geometry)
    (oh, ow), n = _out_size(input.shape[2:], **geometry), input.shape[0]
    cols = Unfold.apply(input, **geometry).reshape(n, groups, -1, oh * ow)  # (N, G, C/G·k_h·k_w, H'·W')
    out = weight.reshape(groups, out_channels // groups, -1) @ cols  # (N, G, O/G, H'·W')
    out = out.reshape(n, out_channels, oh, ow)
    return out if bias is None else out + bias.reshape(1, -1, 1, 1)


def _string_padding(name, input, padding, kernel, dilation, stride):
    """PyTorch's padding="valid" (none) and "same" (pad so the output keeps the input's size) as numbers;
    an uneven "same" padding is applied here, with its extra pixel on the right and bottom."""
    if not isinstance(padding, str):
        return input, padding
    if padding == "valid":
        return input, 0
    if padding != "same":
        raise ValueError(f"{name}: padding must be a number, a pair, 'valid' or 'same', got {padding!r}")
    if _ints(stride, 2, name, "stride", 1) != (1, 1):
        raise ValueError(f"{name}: padding='same' needs stride 1 (PyTorch refuses it too), got stride {stride!r}")
    totals = [d * (k - 1) for k, d in zip(kernel, _ints(dilation, 2, name, "dilation", 1))]
    if all(t % 2 == 0 for t in totals):
        return input, tuple(t // 2 for t in totals)
    (th, tw) = totals
    return pad(input, (tw // 2, tw - tw // 2, th // 2, th - th // 2)), 0


def conv1d(input: tg.Tensor, weight: tg.Tensor, bias: tg.Tensor | None = None, stride=1, padding=0, dilation=1,
           groups: int = 1) -> tg.Tensor:
    """1-D convolution of (N, C, L) by weight (O, C/G, k): conv2d on images one pixel high."""
    if input.ndim == 2:  # one signal (C, L)
        return conv1d(input.unsqueeze(0), weight, bias, stride, padding, dilation, groups).squeeze(0)
    if input.ndim != 3 or weight.ndim != 3:
        raise ValueError(f"conv1d: expected input (N, C, L) and weight (out_channels, in_channels/groups, k), "
                         f"got {input.shape} and {weight.shape}")
    stride, dilation = (1, *_ints(stride, 1, "conv1d", "stride", 1)), (1, *_ints(dilation, 1, "conv1d", "dilation", 1))
    padding = padding if isinstance(padding, str) else (0, *_ints(padding, 1, "conv1d", "padding", 0))
    out = conv2d(input.unsqueeze(2), weight.unsqueeze(2), bias, stride, padding, dilation, groups)
    return out.squeeze(2)


def conv_transpose2d(input: tg.Tensor, weight: tg.Tensor, bias: tg.Tensor | None = None, stride=1, padding=0,
                     output_padding=0, groups: int = 1, dilation=1) -> tg.Tensor:
    """The transpose of conv2d (its backward with respect to the input): each input pixel spreads a
    k_h×k_w patch of weights into the output, overlapping patches added.

    For input (N, C, H, W) and weight (C, O/G, k_h, k_w): cols = Wᵀ x (per group), then fold into
    H_out = (H − 1)s_h − 2p_h + d_h(k_h − 1) + output_padding_h + 1 rows (W_out likewise);
    ``output_padding`` chooses among the output sizes that conv2d with this stride maps to H.
    """
    if input.ndim == 3:
        return conv_transpose2d(input.unsqueeze(0), weight, bias, stride, padding, output_padding, groups,
                                dilation).squeeze(0)
    _check_images("conv_transpose2d", input)
    geometry = _geometry("conv_transpose2d", weight.shape[2:] if weight.ndim == 4 else 1, dilation, padding, stride)
    kernel, dilation_, padding_, stride_ = geometry.values()
    extra = _ints(output_padding, 2, "conv_transpose2d", "output_padding", 0)
    if weight.ndim != 4 or input.shape[1] != weight.shape[0] or weight.shape[0] % groups:
        raise ValueError(f"conv_transpose2d: weight must have shape (in_channels, out_channels/groups, kH, kW) with "
                         f"in_channels = the input's {input.shape[1]} channels, divisible by groups={groups}; "
                         f"got {weight.shape}")
    if any(e >= max(s, d) for e, s, d in zip(extra, stride_, dilation_)):
        raise ValueError(f"conv_transpose2d: output_padding {extra} must be smaller than stride {stride_} or "
                         f"dilation {dilation_}")
    n, (h, w) = input.shape[0], input.shape[2:]
    size = tuple((m - 1) * s - 2 * p + d * (k - 1) + e + 1
                 for m, s, p, d, k, e in zip((h, w), stride_, padding_, dilation_, kernel, extra))
    if min(size) < 1:
        raise ValueError(f"conv_transpose2d: the output would be {size[0]}x{size[1]}: padding {padding_} is too "
                         "large for this input and kernel")
    out_channels = weight.shape[1] * groups
    if bias is not None and bias.shape != (out_channels,):
        raise ValueError(f"conv_transpose2d: bias must have shape ({out_channels},), got {bias.shape}")
    x = input.reshape(n, groups, input.shape[1] // groups, h * w)  # (N, G, C/G, H·W)
    w_t = weight.reshape(groups, input.shape[1] // groups, -1).transpose(1, 2)  # (G, O/G·k_h·k_w, C/G)
    cols = (w_t @ x).reshape(n, out_channels * kernel[0] * kernel[1], h * w)
    out = Fold.apply(cols, output_size=size, positions=(h, w), **geometry)
    return out if bias is None else out + bias.reshape(1, -1, 1, 1)


class WindowMax(tg.Function):
    """The largest of the k values along dim 2 of (N, C, k, L): max pooling over unfolded windows.

    ∂out/∂x is 1 at the maximum of each window and 0 elsewhere (the first maximum when several
    tie, as PyTorch's max_pool2d), so backward puts each gradient where its maximum was.
    """

    def forward(self, windows):
        self.shape, self.where = windows.shape, windows.argmax(axis=2)[:, :, None]
        return np.take_along_axis(windows, self.where, axis=2)[:, :, 0]

    def backward(self, grad):
        out = np.zeros(self.shape, dtype=grad.dtype)
        np.put_along_axis(out, self.where, grad[:, :, None], axis=2)
        return out


def _pool_geometry(name, input, kernel_size, stride, padding, dilation=1):
    geometry = _geometry(name, kernel_size, dilation, padding, kernel_size if stride is None else stride)
    _check_images(name, input, geometry)
    (kh, kw), padding = geometry["kernel_size"], geometry["padding"]
    if padding[0] > kh // 2 or padding[1] > kw // 2:
        raise ValueError(f"{name}: padding {padding} must be at most half the kernel size {(kh, kw)}")
    return geometry


def max_pool2d(input: tg.Tensor, kernel_size, stride=None, padding=0, dilation=1, ceil_mode: bool = False,
               return_indices: bool = False) -> tg.Tensor:
    """out[n, c, y, z] = the largest x[n, c, ·, ·] in the window at (y, z); ``stride`` defaults to the kernel size.

    Padding counts as −∞, so it is never the maximum.
    """
    if ceil_mode or return_indices:
        raise ValueError("max_pool2d: ceil_mode and return_indices are not written here")
    if input.ndim == 3:
        return max_pool2d(input.unsqueeze(0), kernel_size, stride, padding, dilation).squeeze(0)
    geometry = _pool_geometry("max_pool2d", input, kernel_size, stride, padding, dilation)
    (kh, kw), (ph, pw) = geometry["kernel_size"], geometry["padding"]
    if ph or pw:  # padded with −∞ here, as Unfold would pad with zeros
        input, geometry["padding"] = pad(input, (pw, pw, ph, ph), value=-np.inf), (0, 0)
    (n, c), (oh, ow) = input.shape[:2], _out_size(input.shape[2:], **geometry)
    windows = Unfold.apply(input, **geometry).reshape(n, c, kh * kw, oh * ow)
    return WindowMax.apply(windows).reshape(n, c, oh, ow)


def avg_pool2d(input: tg.Tensor, kernel_size, stride=None, padding=0, ceil_mode: bool = False,
               count_include_pad: bool = True, divisor_override: int | None = None) -> tg.Tensor:
    """out[n, c, y, z] = the mean of x[n, c, ·, ·] over the window at (y, z); ``stride`` defaults to the kernel size.

    The padding's zeros count in the mean unless ``count_include_pad=False``; ``divisor_override``
    replaces the number of elements divided by.
    """
    if ceil_mode:
        raise ValueError("avg_pool2d: ceil_mode is not written here")
    if input.ndim == 3:
        return avg_pool2d(input.unsqueeze(0), kernel_size, stride, padding, False, count_include_pad,
                          divisor_override).squeeze(0)
    geometry = _pool_geometry("avg_pool2d", input, kernel_size, stride, padding)
    (kh, kw), (n, c) = geometry["kernel_size"], input.shape[:2]
    (oh, ow) = _out_size(input.shape[2:], **geometry)
    sums = Unfold.apply(input, **geometry).reshape(n, c, kh * kw, oh * ow).sum(dim=2)
    if divisor_override is not None:
        counts = divisor_override
    elif count_include_pad:
        counts = kh * kw
    else:  # how many real pixels each window covers: unfold an image of ones
        ones = np.ones((1, 1) + input.shape[2:], dtype=input.dtype)
        counts = tg.Tensor(_im2col(ones, (oh, ow), **geometry).sum(axis=1))
    return (sums / counts).reshape(n, c, oh, ow)


def adaptive_avg_pool2d(input: tg.Tensor, output_size) -> tg.Tensor:
    """Average pooling to a given output size: output row i averages input rows ⌊iH/H'⌋ to ⌈(i + 1)H/H'⌉ − 1
    (PyTorch's windows; they overlap where H' does not divide H), and the same for columns.

    Written as out = A_h x A_wᵀ, with A_h (H' × H) holding 1/(window length) on each row's window.
    ``output_size`` is an int or a pair; None in it keeps that side's input size.
    """
    if input.ndim == 3:
        return adaptive_avg_pool2d(input.unsqueeze(0), output_size).squeeze(0)
    _check_images("adaptive_avg_pool2d", input)
    sizes = (output_size, output_size) if not isinstance(output_size, (tuple, list)) else tuple(output_size)
    sizes = tuple(n if s is None else s for s, n in zip(sizes, input.shape[2:]))
    sizes = _ints(sizes, 2, "adaptive_avg_pool2d", "output_size", 1)
    a_h, a_w = (tg.Tensor(_averaging(n, m, input.dtype)) for n, m in zip(input.shape[2:], sizes))
    return a_h @ input @ a_w.T


def _averaging(n: int, m: int, dtype) -> np.ndarray:
    """The (m × n) matrix whose row i averages PyTorch's adaptive window i of n elements."""
    rows = np.zeros((m, n), dtype=dtype)
    for i in range(m):
        start, end = (i * n) // m, -(-(i + 1) * n // m)
        rows[i, start:end] = 1 / (end - start)
    return rows


# ------------------------------------------------------------------------ more activations
# PyTorch's, with its formulas and its derivative at the kinks; most are compositions of tensor ops.
def gelu(input: tg.Tensor, approximate: str = "none") -> tg.Tensor:
    """GELU(x) = x·Φ(x), with Φ the standard normal's CDF: ½x(1 + erf(x/√2)); with ``approximate="tanh"``,
    ½x(1 + tanh(√(2/π)(x + 0.044715x³)))."""
    if approximate == "none":
        return 0.5 * input * (1 + (input * (1 / math.sqrt(2))).erf())
    if approximate == "tanh":
        return 0.5 * input * (1 + (math.sqrt(2 / math.pi) * (input + 0.044715 * input * input * input)).tanh())
    raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")


def silu(input: tg.Tensor) -> tg.Tensor:
    """SiLU (swish): x·σ(x)."""
    return input * input.sigmoid()


def elu(input: tg.Tensor, alpha: float = 1.0) -> tg.Tensor:
    """x for x > 0, α(eˣ − 1) otherwise. eˣ − 1 is taken of min(x, 0), so that a large x cannot overflow
    the branch that is not used (its NaN gradient would reach x through where's zero)."""
    return tg.where(input > 0, input, alpha * input.clamp(max=0).expm1())


_SELU_ALPHA, _SELU_SCALE = 1.6732632423543772848170429916717, 1.0507009873554804934193349852946


def selu(input: tg.Tensor) -> tg.Tensor:
    """λ·elu(x, α) with PyTorch's constants α ≈ 1.6733 and λ ≈ 1.0507 (which keep activations at mean 0, variance 1)."""
    return _SELU_SCALE * elu(input, _SELU_ALPHA)


def celu(input: tg.Tensor, alpha: float = 1.0) -> tg.Tensor:
    """x for x > 0, α(e^(x/α) − 1) otherwise."""
    if alpha == 0:
        raise ValueError("celu: alpha must not be 0 (it divides x)")
    return tg.where(input > 0, input, alpha * (input.clamp(max=0) / alpha).expm1())


class SoftplusFn(tg.Function):
    """softplus(z) = (1/β) ln(1 + e^(βz)), and z itself where βz > threshold (as PyTorch, where the two
    agree to float precision);  softplus'(z) = σ(βz) (1 beyond the threshold)."""

    def forward(self, z, beta, threshold):
        self.z, self.beta, self.threshold = z, beta, threshold
        return np.where(beta * z > threshold, z, np.logaddexp(0, beta * z) / beta)  # ln(e⁰ + e^(βz)): no overflow

    def backward(self, grad):
        bz = self.beta * self.z
        return grad * np.where(bz > self.threshold, 1, np.exp(-np.logaddexp(0, -bz)))  # σ(βz) without overflow


def softplus(input: tg.Tensor, beta: float = 1.0, threshold: float = 20.0) -> tg.Tensor:
    """(1/β) ln(1 + e^(βx)): a smooth ReLU; x itself where βx > threshold."""
    return SoftplusFn.apply(input, beta=beta, threshold=threshold)


def softsign(input: tg.Tensor) -> tg.Tensor:
    """x / (1 + |x|)."""
    return input / (1 + input.abs())


def hardtanh(input: tg.Tensor, min_val: float = -1.0, max_val: float = 1.0) -> tg.Tensor:
    """x clipped into [min_val, max_val]. As in PyTorch the gradient passes only strictly inside
    (clamp's passes at the bounds too)."""
    if min_val > max_val:
        raise ValueError(f"hardtanh: min_val ({min_val}) must not exceed max_val ({max_val})")
    inside = (input > min_val) & (input < max_val)
    return tg.where(inside, input, input.clamp(min_val, max_val).detach())


def relu6(input: tg.Tensor) -> tg.Tensor:
    """min(max(0, x), 6)."""
    return hardtanh(input, 0.0, 6.0)


def logsigmoid(input: tg.Tensor) -> tg.Tensor:
    """ln σ(x) = −softplus(−x), without overflow."""
    return -softplus(-input)


def mish(input: tg.Tensor) -> tg.Tensor:
    """x·tanh(softplus(x))."""
    return input * softplus(input).tanh()


class HardswishFn(tg.Function):
    """x·relu6(x + 3)/6: 0 below −3, x above 3, x(x + 3)/6 between; its derivative is 0, 1, and
    x/3 + ½ between (taken as 0 at x = −3 and 1 at x = 3, as PyTorch does)."""

    def forward(self, x):
        self.x = x
        return x * np.clip(x + 3, 0, 6) / 6

    def backward(self, grad):
        x = self.x
        return grad * np.where(x <= -3, 0, np.where(x < 3, x / 3 + 0.5, 1))


def hardswish(input: tg.Tensor) -> tg.Tensor:
    """x·relu6(x + 3)/6, a cheap swish."""
    return HardswishFn.apply(input)


def hardsigmoid(input: tg.Tensor) -> tg.Tensor:
    """relu6(x + 3)/6, a cheap sigmoid: 0 below −3, 1 above 3, a line between."""
    return relu6(input + 3) / 6


def normalize(input: tg.Tensor, p: float = 2.0, dim: int = 1, eps: float = 1e-12) -> tg.Tensor:
    """x / max(‖x‖ₚ, eps) along ``dim``: every slice scaled to length 1 (eps keeps a zero slice zero)."""
    return input / input.norm(p, dim, keepdim=True).clamp(min=eps)


def pad(input: tg.Tensor, pad, mode: str = "constant", value: float | None = None) -> tg.Tensor:
    """Pad the last dims: ``pad`` = (left, right) for the last, then (left, right) for the one before, ...

    ``mode``: "constant" (``value``, 0 by default), "reflect" (mirrored without repeating the edge),
    "replicate" (the edge repeated) or "circular" (wrapped around). The gradient of the padding
    goes back to the elements it copies.
    """
    if len(pad) % 2 or len(pad) // 2 > input.ndim:
        raise ValueError(f"pad: give (left, right) pairs for at most {input.ndim} dims, got {tuple(pad)}")
    if any(not isinstance(n, (int, np.integer)) or n < 0 for n in pad):
        raise ValueError(f"pad: padding sizes must be integers ≥ 0, got {tuple(pad)}")
    if mode not in ("constant", "reflect", "replicate", "circular"):
        raise ValueError(f"pad: mode must be 'constant', 'reflect', 'replicate' or 'circular', got {mode!r}")
    if value is not None and mode != "constant":
        raise ValueError(f"pad: value is for mode='constant' only, not {mode!r}")
    out = input
    for i in range(len(pad) // 2):
        dim, left, right = input.ndim - 1 - i, pad[2 * i], pad[2 * i + 1]
        n = out.shape[dim]
        if mode == "constant":
            edge = list(out.shape)
            parts = []
            for size in (left, right):
                edge[dim] = size
                parts.append(tg.full(tuple(edge), 0 if value is None else value, dtype=out.dtype))
            out = tg.cat([parts[0], out, parts[1]], dim=dim)
            continue
        positions = np.arange(-left, n + right)  # which element each place of the result copies
        if mode == "reflect":
            if left >= n or right >= n:
                raise ValueError(f"pad: reflect padding must be smaller than the dim it pads ({n}), got {left} and {right}")
            positions = np.abs(positions)  # mirrored at 0 ...
            positions = np.where(positions > n - 1, 2 * (n - 1) - positions, positions)  # ... and at n − 1
        elif mode == "replicate":
            positions = np.clip(positions, 0, n - 1)
        else:
            if left > n or right > n:
                raise ValueError(f"pad: circular padding cannot exceed the dim it pads ({n}), got {left} and {right}")
            positions = positions % n
        out = out.index_select(dim, positions)
    return out


# ---------------------------------------------------------------------------------- losses
class _LossFn(tg.Function):
    """What every loss op shares: reducing the per-element losses ℓ to L, and refusing a non-finite loss.

    ``"none"`` keeps ℓ, ``"sum"`` is L = Σℓ, ``"mean"`` is L = Σℓ / N (N elements, or the total weight
    of the targets where there are weights), and mse's ``"lecture"`` is L = Σℓ / 2n for n examples
    (the first dimension; a 0-d input is one example). So ∂L/∂ℓ = grad · (1, 1/N or 1/2n) for every element.
    The non-finite check is part of forward, so that a replayed step reports divergence too.
    """

    name = "loss"

    def reduce(self, losses, reduction, total=None):
        self.scale = None if reduction == "none" else float(1 / self.divisor(losses, reduction, total))  # ∂L/∂ℓ, a number
        out = losses if self.scale is None else np.asarray(losses.sum() * self.scale, dtype=losses.dtype)
        if not np.isfinite(out).all():
            self.diverged("not finite in some elements" if self.scale is None else out.item())
        return out

    def divisor(self, losses, reduction, total):
        """What Σℓ is divided by: 1 for "sum", 2n for "lecture", N (or the total weight) for "mean"."""
        if reduction != "mean":
            return 1 if reduction == "sum" else 2 * (losses.shape[0] if losses.ndim else 1)
        count = losses.size if total is None else total
        if count == 0:
            raise ValueError(f"{self.name}: the mean over no examples is undefined (PyTorch gives nan): "
                             "every target is ignore_index or has weight 0")
        return count

    def diverged(self, value):
        raise FloatingPointError(f"{self.name} is {value}: the network's outputs have diverged "
                                 "(try a smaller learning rate), or the inputs hold NaN or infinity")

    def loss_grad(self, grad):
        """∂L/∂ℓ for every element (a scalar to broadcast, unless the reduction is "none")."""
        return grad if self.scale is None else grad * self.scale


class SquaredError(_LossFn):
    """The quadratic cost: ℓ = d² for the difference d = a − y of output and target, reduced; with
    ``reduction="lecture"`` that is C = 1/(2n) Σₓ ‖y(x) − a‖² (see `_LossFn.reduce`).

    ∂C/∂a = ∂C/∂ℓ · ℓ'(d) with ℓ' = 2d (for the lecture's C: (a − y)/n, the ½ cancels the 2), and
    ∂C/∂y = −∂C/∂a. L1 and Huber losses are this same op with another ℓ: they override `loss` and `derivative`.
    """

    name = "mse_loss"

    def forward(self, a, y, reduction, **options):
        self.a, self.y, self.options = a, y, options
        return self.reduce(self.loss(a - _as_float(y, a), **options), reduction)

    def backward(self, grad):
        d = self.a - _as_float(self.y, self.a)
        da = self.loss_grad(grad) * self.derivative(d, **self.options)
        return da, (-da if self.needs_input_grad[1] else None)

    def loss(self, d):
        return d * d

    def derivative(self, d):
        return 2 * d


class AbsoluteError(SquaredError):
    """ℓ = |d|,  ℓ' = sign(d) (0 at d = 0, as in PyTorch)."""

    name = "l1_loss"

    def loss(self, d):
        return np.abs(d)

    def derivative(self, d):
        return np.sign(d)


class Huber(SquaredError):
    """ℓ = ½d² for |d| < δ, else δ(|d| − ½δ): quadratic near 0, linear beyond δ;  ℓ' = d clipped to [−δ, δ]."""

    name = "huber_loss"

    def loss(self, d, delta):
        size = np.abs(d)
        return np.where(size < delta, 0.5 * d * d, delta * (size - 0.5 * delta))

    def derivative(self, d, delta):
        return np.clip(d, -delta, delta)


def mse_loss(input: tg.Tensor, target, reduction: str = "mean") -> tg.Tensor:
    """The quadratic cost between outputs a (``input``) and targets y; the first dimension counts examples.

    - ``"lecture"``: C = 1/(2n) Σₓ ‖y(x) − a‖², halved, summed over each example's outputs and averaged
      over the n examples (Nielsen's cost; the ½ cancels the 2 of the derivative). A 1-D input of
      shape (n,) is n examples of one output, a 0-d input one example. The default of ``nn.MSELoss``.
    - ``"mean"`` (the default here, as in PyTorch's ``F.mse_loss``): the mean over all elements, no ½;
      for n examples of k outputs that is the lecture's C times 2/k.
    - ``"sum"``: Σ over everything, no ½;  ``"none"``: (a − y)² element by element.
    """
    input, target = _pair("mse_loss", input, target, reduction, MSE_REDUCTIONS)
    return SquaredError.apply(input, target, reduction=reduction)


def l1_loss(input: tg.Tensor, target, reduction: str = "mean") -> tg.Tensor:
    """|a − y| element by element, reduced."""
    input, target = _pair("l1_loss", input, target, reduction)
    return AbsoluteError.apply(input, target, reduction=reduction)


def huber_loss(input: tg.Tensor, target, reduction: str = "mean", delta: float = 1.0) -> tg.Tensor:
    """½(a − y)² where |a − y| < δ, δ(|a − y| − ½δ) elsewhere: the squared error without its pull from outliers."""
    if not delta > 0:
        raise ValueError(f"huber_loss: delta must be positive, got {delta}")
    input, target = _pair("huber_loss", input, target, reduction)
    return Huber.apply(input, target, reduction=reduction, delta=delta)


class BinaryCrossEntropy(_LossFn):
    """ℓ = −w [y ln a + (1 − y) ln(1 − a)] for probabilities a ∈ [0, 1], each log clamped at −100 as in PyTorch.

    ∂ℓ/∂a = w (a − y) / (a(1 − a)) (the denominator kept ≥ 1e-12 as in PyTorch), ∂ℓ/∂y = w (ln(1 − a) − ln a).
    """

    name = "binary_cross_entropy"

    def forward(self, a, y, *weight, reduction):
        if ((a < 0) | (a > 1)).any():
            raise ValueError("binary_cross_entropy: predictions must lie in [0, 1] (apply sigmoid first, "
                             "or give the raw scores to binary_cross_entropy_with_logits)")
        self.a, self.y, self.weight = a, y, (weight[0] if weight else None)
        log_a, log_not_a = self.logs(a)
        y = _as_float(y, a)
        return self.reduce(-self.w(a) * (y * log_a + (1 - y) * log_not_a), reduction)

    @staticmethod
    def logs(a):
        """ln a and ln(1 − a), each clamped at −100 as in PyTorch."""
        with np.errstate(divide="ignore"):  # ln 0 = −∞, clamped just below
            return np.maximum(np.log(a), -100), np.maximum(np.log1p(-a), -100)

    def w(self, like):
        """The weight in the prediction's float type, or 1."""
        return 1 if self.weight is None else _like(self.weight, like)

    def backward(self, grad):
        grad = self.loss_grad(grad) * self.w(self.a)
        a, y = self.a, _as_float(self.y, self.a)
        da = dy = None
        if self.needs_input_grad[0]:
            da = grad * (a - y) / np.maximum(a * (1 - a), 1e-12)
        if self.needs_input_grad[1]:
            log_a, log_not_a = self.logs(a)
            dy = grad * (log_not_a - log_a)
        return (da, dy) + (None,) * (len(self.needs_input_grad) - 2)


class BinaryCrossEntropyWithLogits(_LossFn):
    """ℓ = −w [p·y ln σ(z) + (1 − y) ln(1 − σ(z))] = w [(1 − y) z + (1 + (p − 1) y) ln(1 + e⁻ᶻ)], p = pos_weight.

    The second form never takes the log of a rounded-off σ(z): ln(1 + e⁻ᶻ) is computed without overflow.
    ∂ℓ/∂z = w [(1 − y) − (1 + (p − 1) y) σ(−z)],  ∂ℓ/∂y = w [(p − 1) ln(1 + e⁻ᶻ) − z].
    """

    name = "binary_cross_entropy_with_logits"

    def forward(self, z, y, *weights, reduction, names):
        given = dict(zip(names, weights))
        self.z, self.y, self.weight, self.pos_weight = z, y, given.get("weight"), given.get("pos_weight")
        w, p = self.w_p(z)
        y = _as_float(y, z)
        return self.reduce(w * ((1 - y) * z + (1 + (p - 1) * y) * np.logaddexp(0, -z)), reduction)  # ln(1 + e⁻ᶻ)

    def w_p(self, like):
        """The weights w and p in the prediction's float type (1 where not given)."""
        return (1 if weight is None else _like(weight, like) for weight in (self.weight, self.pos_weight))

    def backward(self, grad):
        w, p = self.w_p(self.z)
        grad = self.loss_grad(grad) * w
        z, y = self.z, _as_float(self.y, self.z)
        dz = grad * ((1 - y) - (1 + (p - 1) * y) * np.exp(-np.logaddexp(0, z))) if self.needs_input_grad[0] else None
        dy = grad * ((p - 1) * np.logaddexp(0, -z) - z) if self.needs_input_grad[1] else None
        return (dz, dy) + (None,) * (len(self.needs_input_grad) - 2)


def binary_cross_entropy(input: tg.Tensor, target, weight=None, reduction: str = "mean") -> tg.Tensor:
    """Cross-entropy of probabilities a = σ(z) against targets y ∈ [0, 1]; ``weight`` scales each element."""
    input, target = _pair("binary_cross_entropy", input, target, reduction)
    weights = [_constant(weight, "binary_cross_entropy", "weight")] if weight is not None else []
    return BinaryCrossEntropy.apply(input, target, *weights, reduction=reduction)


def binary_cross_entropy_with_logits(input: tg.Tensor, target, weight=None, reduction: str = "mean",
                                     pos_weight=None) -> tg.Tensor:
    """``binary_cross_entropy(sigmoid(input), target)`` in one stable op; ``pos_weight`` scales the y = 1 term."""
    input, target = _pair("binary_cross_entropy_with_logits", input, target, reduction)
    given = {name: _constant(value, "binary_cross_entropy_with_logits", name)
             for name, value in (("weight", weight), ("pos_weight", pos_weight)) if value is not None}
    return BinaryCrossEntropyWithLogits.apply(input, target, *given.values(), reduction=reduction, names=tuple(given))


class NegativeLogLikelihood(_LossFn):
    """ℓᵢ = −w_yᵢ ln pᵢ,yᵢ: minus the log-probability of the right class yᵢ, times that class's weight.

    ``log_p`` holds ln p with the classes along dim 1. With label smoothing ε the target is
    q = (1 − ε)·e^yᵢ + ε/C instead of the one-hot e^yᵢ, and ℓᵢ = −Σ_c w_c q_c ln pᵢ,c, which is
    PyTorch's (1 − ε)·(the loss above) + (ε/C)·(−Σ_c w_c ln pᵢ,c). Examples labelled ``ignore_index``
    give ℓ = 0 and no weight; "mean" divides by Σᵢ w_yᵢ over the others, so unweighted it is their mean.
    Only the right class's ln p is read when ε = 0, so a masked class with ln p = −∞ costs nothing.
    ∂ℓᵢ/∂ln pᵢ,c = −(1 − ε) w_yᵢ [c = yᵢ] − (ε/C) w_c.
    """

    def forward(self, log_p, labels, *weight, ignore_index, label_smoothing, reduction, name):
        self.name, classes = name, log_p.shape[1]
        self.classes = classes
        self.valid = labels != ignore_index
        _check_labels(labels, classes, self.valid, name, f" (or be ignore_index={ignore_index})")
        self.index = np.expand_dims(np.where(self.valid, labels, 0), 1)  # along the class dim
        self.weight, self.smoothing = (weight[0] if weight else None), label_smoothing
        w, w_label = self.weights(log_p.dtype)
        picked = np.where(self.valid, np.take_along_axis(log_p, self.index, axis=1)[:, 0], 0)
        losses = -(1 - label_smoothing) * w_label * picked
        if label_smoothing:
            smooth = -(log_p * self.per_class(w, log_p.ndim)).sum(axis=1)
            losses = losses + np.where(self.valid, (label_smoothing / classes) * smooth, 0)
        self.is_label = self.per_class(np.arange(classes), log_p.ndim) == self.index  # e^yᵢ, the one-hot rows, as a mask
        return self.reduce(losses, reduction, total=w_label.sum())

    def weights(self, dtype):
        """The class weights w (all 1 if none were given) in the float type of ln p, and w_yᵢ (0 where ignored)."""
        w = np.ones(self.classes, dtype=dtype) if self.weight is None else self.weight.astype(dtype, copy=False)
        return w, np.where(self.valid, w[self.index[:, 0]], 0)

    @staticmethod
    def per_class(w, ndim):
        """w shaped to multiply ln p, whose classes lie along dim 1."""
        return w.reshape((1, len(w)) + (1,) * (ndim - 2))

    def backward(self, grad):
        w, w_label = self.weights(grad.dtype)
        grad = np.broadcast_to(self.loss_grad(grad), self.valid.shape)
        d_log_p = np.where(self.is_label, np.expand_dims(-(1 - self.smoothing) * w_label * grad, 1), 0)
        if self.smoothing:
            w_c = self.per_class(w, d_log_p.ndim)
            d_log_p = d_log_p - (self.smoothing / self.classes) * w_c * np.expand_dims(grad * self.valid, 1)
        return (d_log_p,) + (None,) * (len(self.needs_input_grad) - 1)


class SoftCrossEntropy(_LossFn):
    """Cross-entropy against class probabilities q (each row sums to 1): ℓᵢ = −Σ_c w_c q'ᵢ,c ln pᵢ,c,
    with q' = (1 − ε) q + ε/C under label smoothing ε; "mean" divides by the number of examples.

    ∂ℓᵢ/∂ln pᵢ,c = −w_c q'ᵢ,c,  ∂ℓᵢ/∂qᵢ,c = −(1 − ε) w_c ln pᵢ,c.
    """

    name = "cross_entropy"

    def forward(self, log_p, q, *weight, label_smoothing, reduction):
        self.log_p, self.q, self.weight, self.smoothing = log_p, q, (weight[0] if weight else None), label_smoothing
        return self.reduce(-(self.w(log_p) * self.smoothed(q) * log_p).sum(axis=1), reduction)

    def w(self, log_p):
        """The class weights, shaped to multiply ln p (classes along dim 1), or 1."""
        if self.weight is None:
            return 1
        return _like(self.weight, log_p).reshape((1, log_p.shape[1]) + (1,) * (log_p.ndim - 2))

    def smoothed(self, q):
        """q' = (1 − ε) q + ε/C."""
        return (1 - self.smoothing) * q + self.smoothing / q.shape[1]

    def backward(self, grad):
        log_p = self.log_p
        grad = np.expand_dims(np.broadcast_to(self.loss_grad(grad), log_p.shape[:1] + log_p.shape[2:]), 1) * self.w(log_p)
        d_log_p = -grad * self.smoothed(self.q) if self.needs_input_grad[0] else None
        dq = -(1 - self.smoothing) * grad * log_p if self.needs_input_grad[1] else None
        return (d_log_p, dq) + (None,) * (len(self.needs_input_grad) - 2)


def nll_loss(input: tg.Tensor, target, weight=None, ignore_index: int = -100, reduction: str = "mean") -> tg.Tensor:
    """−(ln p of the right class), averaged: ``input`` holds log-probabilities, shape (n, C) or (n, C, d₁, ...)
    with the classes along dim 1 (or (C,) for one example), ``target`` the class indices, shape (n, d₁, ...)."""
    return _classification("nll_loss", input, target, weight, ignore_index, reduction, 0.0)


def cross_entropy(input: tg.Tensor, target, weight=None, ignore_index: int = -100, reduction: str = "mean",
                  label_smoothing: float = 0.0) -> tg.Tensor:
    """C = −(1/n) Σₓ ln softmax(z(x))_y: the mean negative log-probability of the right class y.

    ``input`` are the raw scores z, shape (n, C), or (n, C, d₁, ...) with the classes along dim 1,
    or (C,) for one example. ``target`` is either class indices (integers, shape (n, d₁, ...)) or
    class probabilities (floats, the shape of ``input``). It is ``nll_loss(log_softmax(z, dim=1), target)``,
    with ``weight`` (one per class), ``ignore_index`` and ``label_smoothing`` exactly as in PyTorch.
    A score of −∞ (a masked class) is fine: only a non-finite loss is reported as divergence.
    """
    return _classification("cross_entropy", input, target, weight, ignore_index, reduction, label_smoothing)


def _classification(name, input, target, weight, ignore_index, reduction, label_smoothing):
    """Check and shape the arguments of nll_loss and cross_entropy, then apply the loss op."""
    _check_reduction(name, reduction)
    if not isinstance(input, tg.Tensor):
        raise TypeError(f"{name}: input must be a Tensor, got {type(input).__name__}")
    target = _labels(target)
    if not 0 <= label_smoothing <= 1:
        raise ValueError(f"{name}: label_smoothing must lie in [0, 1], got {label_smoothing}")
    soft = name == "cross_entropy" and target.dtype.kind == "f"  # nll_loss takes class indices only
    if soft and target.shape != input.shape:
        raise ValueError(f"{name}: float targets are class probabilities and must have the input's shape "
                         f"{input.shape}, got {target.shape}; class indices must be integers")
    if not soft and target.dtype.kind not in "iu":
        raise TypeError(f"{name}: labels must be integer class indices (or, for cross_entropy, float probabilities), "
                        f"got {target.dtype}")
    if not soft and target.shape == input.shape and input.ndim >= 2:
        raise ValueError(f"{name}: the integer target has the input's shape {input.shape}, as one-hot rows do; give "
                         "class indices, target.argmax(dim=1), or class probabilities as floats, target.float()")
    if input.ndim == 1:  # one example of C classes: a batch of one
        loss = _classification(name, input.reshape(1, -1), target.reshape((1,) + target.shape), weight,
                               ignore_index, reduction, label_smoothing)
        return loss.reshape(()) if reduction == "none" else loss
    if input.ndim == 0 or (not soft and target.shape != input.shape[:1] + input.shape[2:]):
        raise ValueError(f"{name}: expected input of shape (n, classes) or (n, classes, d1, ...) and labels of "
                         f"shape (n,) or (n, d1, ...), got {input.shape} and {target.shape}")
    if reduction == "mean" and target.numel() == 0:
        raise ValueError(f"{name}: empty batch {input.shape}: the mean over no examples is undefined "
                         "(PyTorch gives nan); skip empty batches, or use reduction='sum'")
    weights = []
    if weight is not None:
        weights = [_constant(weight, name, "weight")]
        if weights[0].shape != input.shape[1:2]:
            raise ValueError(f"{name}: weight must have one entry per class, shape ({input.shape[1]},), "
                             f"got {weights[0].shape}")
    log_p = input.log_softmax(dim=1) if name == "cross_entropy" else input
    if soft:
        return SoftCrossEntropy.apply(log_p, target, *weights, label_smoothing=label_smoothing, reduction=reduction)
    return NegativeLogLikelihood.apply(log_p, target, *weights, ignore_index=ignore_index,
                                       label_smoothing=label_smoothing, reduction=reduction, name=name)


# ---------------------------------------------------------------------------------- checks
def _check_reduction(name, reduction, allowed=REDUCTIONS):
    if reduction not in allowed:
        raise ValueError(f"{name}: unknown reduction {reduction!r}, choose one of {allowed}")


def _labels(labels) -> tg.Tensor:
    """Labels as a tensor (an op's input, not a constant baked into the op)."""
    return labels if isinstance(labels, tg.Tensor) else tg.Tensor(np.asarray(labels))


def _check_labels(labels, classes, valid, name, alternative=""):
    bad = valid & ((labels < 0) | (labels >= classes))
    if bad.any():
        raise ValueError(f"{name}: labels must lie in [0, {classes}){alternative}, got {labels[bad].flat[0]}")


def _as_float(y: np.ndarray, like: np.ndarray) -> np.ndarray:
    """Integer or boolean targets (0/1 labels, one-hot rows) in the prediction's float type, as PyTorch promotes them."""
    return y if y.dtype.kind == "f" else y.astype(like.dtype)


def _like(weight: np.ndarray, like: np.ndarray) -> np.ndarray:
    """A weight in the prediction's float type, so that it never changes the dtype of the loss."""
    return weight.astype(like.dtype, copy=False)


def _constant(value, name, what) -> tg.Tensor:
    """A weight: a tensor that takes no gradient."""
    value = value if isinstance(value, tg.Tensor) else tg.Tensor(value)
    if value.requires_grad:
        raise ValueError(f"{name}: {what} cannot require grad (there is no gradient with respect to it); "
                         f"pass {what}.detach()")
    return value


def _pair(name, input, target, reduction, allowed=REDUCTIONS):
    """Check the reduction, and a float prediction tensor and a target of the same shape, a non-empty
    one for a mean (`_pair_error` says what is wrong); the op takes integer targets in the prediction's
    float type."""
    _check_reduction(name, reduction, allowed)
    if not isinstance(input, tg.Tensor):
        raise TypeError(f"{name}: input must be a Tensor, got {type(input).__name__}")
    target = target if isinstance(target, tg.Tensor) else tg.Tensor(np.asarray(target))
    empty = reduction in ("mean", "lecture") and input.data.size == 0  # a mean over no examples
    if input.shape != target.shape or input.dtype.kind != "f" or empty:
        raise _pair_error(name, input, target)
    return input, target


def _pair_error(name, input, target) -> Exception:
    """What `_pair` says, once one of its checks has failed: the first that applies of its four."""
    if input.shape != target.shape and target.dtype.kind in "iu" and target.shape == input.shape[:-1]:
        return ValueError(f"{name}: the target {target.shape} looks like class labels (integers, one per example) "
                          f"for predictions of shape {input.shape}; this cost compares each output vector with a "
                          f"target vector of its shape: one-hot encode the labels, nn.one_hot(labels, "
                          f"{input.shape[-1]}), or use nn.CrossEntropyLoss, which takes the labels as they are")
    if input.shape != target.shape:
        return ValueError(f"{name}: prediction shape {input.shape} and target shape {target.shape} differ; give both "
                          "the same shape (where PyTorch can, it broadcasts them with a warning: (n, 1) against "
                          "(n,) becomes an (n, n) table, usually by mistake)")
    if input.dtype.kind != "f":
        return TypeError(f"{name}: predictions must be float, got {input.dtype}")
    return ValueError(f"{name}: empty batch {input.shape}: the mean over no examples is undefined "
                      "(PyTorch gives nan); skip empty batches, or use reduction='sum'")
