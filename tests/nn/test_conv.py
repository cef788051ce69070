"""Convolution and pooling: values against loops written from the definitions, gradients against finite
differences, the modules' shapes and initialisation, clear errors, and a jitted CNN step equal to eager."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import nn
import nn.functional as F
import tinygrad_edu as tg


def leaf(array) -> tg.Tensor:
    return tg.Tensor(np.asarray(array, dtype=np.float64), requires_grad=True)


# ------------------------------------------------------------------ the definitions, as loops
def padded(x, ph, pw, value=0.0):
    return np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)), constant_values=value)


def out_size(n, k, s, p, d):
    return (n + 2 * p - d * (k - 1) - 1) // s + 1


def conv2d_loop(x, w, b, stride, padding, dilation, groups):
    """out[n, o, y, z] = b[o] + Σ_{c, i, j} w[o, c, i, j] · x_pad[n, group(o)·C/G + c, s·y + d·i, s·z + d·j]."""
    (sh, sw), (ph, pw), (dh, dw) = stride, padding, dilation
    n_, c_in, h, w_ = x.shape
    o_, c_group, kh, kw = w.shape
    oh, ow = out_size(h, kh, sh, ph, dh), out_size(w_, kw, sw, pw, dw)
    xp = padded(x, ph, pw)
    out = np.zeros((n_, o_, oh, ow))
    for n in range(n_):
        for o in range(o_):
            first = (o // (o_ // groups)) * c_group  # the group's first input channel
            for y in range(oh):
                for z in range(ow):
                    total = 0.0 if b is None else b[o]
                    for c in range(c_group):
                        for i in range(kh):
                            for j in range(kw):
                                total += w[o, c, i, j] * xp[n, first + c, sh * y + dh * i, sw * z + dw * j]
                    out[n, o, y, z] = total
    return out


def conv_transpose2d_loop(x, w, stride, padding, output_padding, dilation, groups):
    """Each input pixel x[n, c, y, z] adds x·w[c, o, i, j] at (s·y + d·i − p, s·z + d·j − p) of output channel o."""
    (sh, sw), (ph, pw), (eh, ew), (dh, dw) = stride, padding, output_padding, dilation
    n_, c_in, h, w_ = x.shape
    _, o_group, kh, kw = w.shape
    oh, ow = (h - 1) * sh - 2 * ph + dh * (kh - 1) + eh + 1, (w_ - 1) * sw - 2 * pw + dw * (kw - 1) + ew + 1
    out = np.zeros((n_, o_group * groups, oh, ow))
    for n in range(n_):
        for c in range(c_in):
            group = c // (c_in // groups)
            for y in range(h):
                for z in range(w_):
                    for o in range(o_group):
                        for i in range(kh):
                            for j in range(kw):
                                row, col = sh * y + dh * i - ph, sw * z + dw * j - pw
                                if 0 <= row < oh and 0 <= col < ow:
                                    out[n, group * o_group + o, row, col] += x[n, c, y, z] * w[c, o, i, j]
    return out


def pool_loop(x, kernel, stride, padding, dilation, reduce, value=0.0):
    """reduce(the window's values) for every window; padding is ``value``."""
    (kh, kw), (sh, sw), (ph, pw), (dh, dw) = kernel, stride, padding, dilation
    xp = padded(x, ph, pw, value)
    oh, ow = out_size(x.shape[2], kh, sh, ph, dh), out_size(x.shape[3], kw, sw, pw, dw)
    out = np.zeros(x.shape[:2] + (oh, ow))
    for y in range(oh):
        for z in range(ow):
            window = xp[:, :, sh * y:sh * y + dh * (kh - 1) + 1:dh, sw * z:sw * z + dw * (kw - 1) + 1:dw]
            out[:, :, y, z] = reduce(window.reshape(x.shape[:2] + (-1,)))
    return out


# ------------------------------------------------------------------ random configurations
@st.composite
def conv_configs(draw):
    """A convolution whose kernel fits its padded input: any groups, strides, paddings, dilations, odd sizes."""
    groups = draw(st.integers(1, 3))
    c_group, o_group = draw(st.integers(1, 2)), draw(st.integers(1, 2))
    kernel = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    dilation = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    padding = (draw(st.integers(0, 2)), draw(st.integers(0, 2)))
    stride = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    size = tuple(max(1, d * (k - 1) + 1 - 2 * p) + draw(st.integers(0, 4))
                 for k, d, p in zip(kernel, dilation, padding))  # at least the kernel's span, padding included
    n = draw(st.integers(1, 2))
    seed = draw(st.integers(0, 2**16))
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, c_group * groups) + size)
    w = rng.normal(size=(o_group * groups, c_group) + kernel)
    b = rng.normal(size=o_group * groups) if draw(st.booleans()) else None
    return dict(x=x, w=w, b=b, stride=stride, padding=padding, dilation=dilation, groups=groups)


@settings(max_examples=15)
@given(conv_configs())
def test_conv2d_equals_its_definition_and_its_gradients_finite_differences(config):
    x, w, b = config.pop("x"), config.pop("w"), config.pop("b")
    inputs = [leaf(x), leaf(w)] + ([leaf(b)] if b is not None else [])
    out = F.conv2d(*inputs[:2], inputs[2] if b is not None else None, **config)
    np.testing.assert_allclose(out.numpy(), conv2d_loop(x, w, b, **config), rtol=1e-10, atol=1e-12)
    assert tg.gradcheck(lambda *t: F.conv2d(t[0], t[1], t[2] if len(t) > 2 else None, **config), inputs)


@settings(max_examples=10)
@given(conv_configs(), st.data())
def test_conv_transpose2d_equals_its_definition_and_its_gradients_finite_differences(config, data):
    groups, stride, dilation = config["groups"], config["stride"], config["dilation"]
    x = config["x"]
    rng = np.random.default_rng(0)
    w = rng.normal(size=(x.shape[1], data.draw(st.integers(1, 2))) + config["w"].shape[2:])  # (C, O/G, kH, kW)
    output_padding = tuple(data.draw(st.integers(0, max(s, d) - 1)) for s, d in zip(stride, dilation))
    padding = tuple(min(p, (n - 1) * s // 2) for p, n, s in zip(config["padding"], x.shape[2:], stride))  # output ≥ 1
    settings_ = dict(stride=stride, padding=padding, output_padding=output_padding, groups=groups, dilation=dilation)
    out = F.conv_transpose2d(leaf(x), leaf(w), **settings_)
    np.testing.assert_allclose(out.numpy(), conv_transpose2d_loop(x, w, **settings_), rtol=1e-10, atol=1e-12)
    assert tg.gradcheck(lambda a, b: F.conv_transpose2d(a, b, **settings_), [leaf(x), leaf(w)])


@settings(max_examples=15)
@given(conv_configs())
def test_pooling_equals_its_definition_and_its_gradients_finite_differences(config):
    x, (kh, kw), stride, dilation = config["x"], config["w"].shape[2:], config["stride"], config["dilation"]
    padding = tuple(min(p, k // 2) for p, k in zip(config["padding"], (kh, kw)))  # pooling allows at most k/2
    if any(n + 2 * p < d * (k - 1) + 1 for n, p, d, k in zip(x.shape[2:], padding, dilation, (kh, kw))):
        x = np.random.default_rng(0).normal(size=x.shape[:2] + (x.shape[2] + 2 * kh, x.shape[3] + 2 * kw))  # fits
    x = x + np.arange(x.size).reshape(x.shape) * 1e-3  # no ties: max is smooth
    expected = pool_loop(x, (kh, kw), stride, padding, dilation, lambda v: v.max(axis=-1), -np.inf)
    assume(np.isfinite(expected).all())  # a dilated window can fall wholly into the padding: −∞, as in PyTorch
    np.testing.assert_array_equal(F.max_pool2d(leaf(x), (kh, kw), stride, padding, dilation).numpy(), expected)
    assert tg.gradcheck(lambda t: F.max_pool2d(t, (kh, kw), stride, padding, dilation), [leaf(x)])
    if any(n + 2 * p < k for n, p, k in zip(x.shape[2:], padding, (kh, kw))):
        return
    for include in (True, False):
        out = F.avg_pool2d(leaf(x), (kh, kw), stride, padding, count_include_pad=include)
        ones = np.ones_like(x)
        count = pool_loop(ones, (kh, kw), stride, padding, (1, 1), lambda v: v.sum(axis=-1)) if not include else kh * kw
        expected = pool_loop(x, (kh, kw), stride, padding, (1, 1), lambda v: v.sum(axis=-1)) / count
        np.testing.assert_allclose(out.numpy(), expected, rtol=1e-12)
        assert tg.gradcheck(lambda t: F.avg_pool2d(t, (kh, kw), stride, padding, count_include_pad=include), [leaf(x)])


@settings(max_examples=15)
@given(conv_configs())
def test_fold_is_the_adjoint_of_unfold(config):
    """⟨unfold(x), c⟩ = ⟨x, fold(c)⟩ for all x and c: each is the other's backward."""
    x, (kh, kw) = config["x"], config["w"].shape[2:]
    geometry = dict(kernel_size=(kh, kw), dilation=config["dilation"], padding=config["padding"],
                    stride=config["stride"])
    cols = F.unfold(leaf(x), **geometry)
    c = np.random.default_rng(1).normal(size=cols.shape)
    back = F.fold(leaf(c), x.shape[2:], **geometry)
    assert back.shape == x.shape
    assert np.isclose((cols.numpy() * c).sum(), (x * back.numpy()).sum(), rtol=1e-10)
    # unfold itself, entry by entry: cols[n, (c, i, j), (y, z)] = x_pad[n, c, s·y + d·i, s·z + d·j]
    (sh, sw), (ph, pw), (dh, dw) = config["stride"], config["padding"], config["dilation"]
    xp, ow = padded(x, ph, pw), out_size(x.shape[3], kw, sw, pw, dw)
    values = cols.numpy().reshape(x.shape[0], x.shape[1], kh, kw, -1)
    for (n, ch, i, j, position), value in np.ndenumerate(values):
        y, z = divmod(position, ow)
        assert value == xp[n, ch, sh * y + dh * i, sw * z + dw * j]
    assert tg.gradcheck(lambda t: F.fold(t, x.shape[2:], **geometry), [leaf(c)])


def test_fold_adds_the_overlapping_copies():
    """fold(unfold(x)) counts how many windows cover each pixel: with a 2x2 kernel, stride 1, the corners once, the middle 4 times."""
    x = np.ones((1, 1, 3, 3))
    again = F.fold(F.unfold(leaf(x), 2), (3, 3), 2).numpy()[0, 0]
    np.testing.assert_array_equal(again, [[1, 2, 1], [2, 4, 2], [1, 2, 1]])


def test_max_pool_gives_the_gradient_to_the_first_of_tied_maxima_and_skips_padding():
    x = leaf(np.array([[[[1.0, 1.0], [0.0, 1.0]]]]))
    F.max_pool2d(x, 2).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [[[[1, 0], [0, 0]]]])
    negative = leaf(-np.ones((1, 1, 2, 2)))
    out = F.max_pool2d(negative, 2, stride=1, padding=1)  # the padding is −∞, never the maximum
    np.testing.assert_array_equal(out.numpy(), -np.ones((1, 1, 3, 3)))


@pytest.mark.parametrize("size, output, expected_rows", [
    (6, 3, [[0, 1], [2, 3], [4, 5]]),
    (5, 3, [[0, 1], [1, 2, 3], [3, 4]]),  # PyTorch's windows overlap where the sizes do not divide
    (3, 5, [[0], [0, 1], [1], [1, 2], [2]]),
])
def test_adaptive_avg_pool_averages_pytorchs_windows(size, output, expected_rows):
    x = np.random.default_rng(0).normal(size=(2, 3, size, size + 1))
    out = F.adaptive_avg_pool2d(leaf(x), (output, None)).numpy()
    expected = np.stack([x[:, :, rows].mean(axis=2) for rows in expected_rows], axis=2)
    np.testing.assert_allclose(out, expected, rtol=1e-12)
    assert tg.gradcheck(lambda t: F.adaptive_avg_pool2d(t, (output, 2)), [leaf(x)])


def test_conv1d_is_conv2d_on_one_pixel_high_images():
    rng = np.random.default_rng(0)
    x, w, b = rng.normal(size=(2, 4, 11)), rng.normal(size=(6, 2, 3)), rng.normal(size=6)
    out = F.conv1d(leaf(x), leaf(w), leaf(b), stride=2, padding=1, dilation=2, groups=2)
    expected = conv2d_loop(x[:, :, None], w[:, :, None], b, (1, 2), (0, 1), (1, 2), 2)[:, :, 0]
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-12)
    assert tg.gradcheck(lambda *t: F.conv1d(*t, padding="same"), [leaf(x[:, :2]), leaf(w), leaf(b)])


@pytest.mark.parametrize("kernel, dilation", [((3, 3), 1), ((2, 4), 1), ((2, 3), (3, 2))])
def test_same_padding_keeps_the_size_and_puts_the_odd_pixel_last(kernel, dilation):
    rng = np.random.default_rng(0)
    x, w = rng.normal(size=(1, 2, 7, 6)), rng.normal(size=(3, 2) + kernel)
    out = F.conv2d(leaf(x), leaf(w), padding="same", dilation=dilation).numpy()
    d = (dilation, dilation) if isinstance(dilation, int) else dilation
    totals = [dd * (k - 1) for k, dd in zip(kernel, d)]
    xp = np.pad(x, ((0, 0), (0, 0), (totals[0] // 2, totals[0] - totals[0] // 2), (totals[1] // 2, totals[1] - totals[1] // 2)))
    np.testing.assert_allclose(out, conv2d_loop(xp, w, None, (1, 1), (0, 0), d, 1), rtol=1e-12)


def test_pad_puts_values_around_and_hands_back_the_inner_gradient():
    x = leaf(np.arange(6.0).reshape(2, 3))
    out = F.pad(x, (1, 2, 0, 1), value=-1.0)  # last dimension first: 1 left, 2 right; then 0 above, 1 below
    assert out.shape == (3, 6)
    np.testing.assert_array_equal(out.numpy()[:2, 1:4], x.numpy())
    assert (out.numpy()[2] == -1).all() and (out.numpy()[:, [0, 4, 5]] == -1).all()
    assert tg.gradcheck(lambda t: F.pad(t, (1, 2, 0, 1)), [x])


def test_dropout2d_zeros_whole_channels_and_scales_the_rest():
    x = tg.ones(50, 8, 3, 3)
    out = F.dropout2d(x, 0.25, generator=np.random.default_rng(0)).numpy()
    per_channel = out.reshape(50, 8, 9)
    assert ((per_channel == 0).all(axis=2) | (per_channel == 1 / 0.75).all(axis=2)).all()
    assert 0.15 < (per_channel[:, :, 0] == 0).mean() < 0.35
    assert F.dropout2d(x, 0.25, training=False) is x
    assert nn.Dropout2d(0.25).eval()(x) is x


# ------------------------------------------------------------------------------ modules
@pytest.mark.parametrize("layer, weight_shape, fan_in", [
    (nn.Conv2d(6, 8, 3, groups=2), (8, 3, 3, 3), 27),
    (nn.Conv2d(3, 4, (2, 5), bias=True), (4, 3, 2, 5), 30),
    (nn.Conv1d(4, 6, 5), (6, 4, 5), 20),
    (nn.ConvTranspose2d(4, 6, 3, groups=2), (4, 3, 3, 3), 27),  # PyTorch's fan in of (in, out/groups, k, k)
])
def test_conv_layers_have_pytorchs_weight_shapes_and_initial_bounds(layer, weight_shape, fan_in):
    assert layer.weight.shape == weight_shape and layer.bias.shape == (layer.out_channels,)
    assert list(layer.state_dict()) == ["weight", "bias"]
    bound = 1 / math.sqrt(fan_in)  # kaiming_uniform_(a=√5) = U(−1/√fan_in, 1/√fan_in), the bias the same
    for p in (layer.weight, layer.bias):
        assert np.abs(p.numpy()).max() <= bound
    assert np.abs(layer.weight.numpy()).max() > 0.8 * bound  # not a narrower distribution either
    assert layer.weight.numpy().std() == pytest.approx(bound / math.sqrt(3), rel=0.35)


def test_conv_layers_compute_their_functional_op():
    rng = np.random.default_rng(0)
    x = tg.Tensor(rng.normal(size=(2, 4, 9, 8)).astype(np.float32))
    conv = nn.Conv2d(4, 6, 3, stride=2, padding=1, dilation=2, groups=2, generator=rng)
    expected = conv2d_loop(x.numpy().astype(np.float64), conv.weight.numpy().astype(np.float64),
                           conv.bias.numpy().astype(np.float64), (2, 2), (1, 1), (2, 2), 2)
    np.testing.assert_allclose(conv(x).numpy(), expected, rtol=1e-4, atol=1e-5)
    up = nn.ConvTranspose2d(4, 2, 3, stride=2, padding=1, output_padding=1, bias=False, generator=rng)
    assert up(x).shape == (2, 2, 18, 16)
    assert nn.Conv1d(4, 3, 3, padding="same")(x[:, :, 0]).shape == (2, 3, 8)
    assert nn.MaxPool2d(2)(x).shape == nn.AvgPool2d(2)(x).shape == (2, 4, 4, 4)
    assert nn.AdaptiveAvgPool2d((1, None))(x).shape == (2, 4, 1, 8)
    assert nn.Flatten()(x).shape == (2, 288) and nn.Flatten(1, 2)(x).shape == (2, 36, 8)


def test_batchnorm2d_normalises_each_channel_over_batch_and_positions():
    rng = np.random.default_rng(0)
    x = rng.normal(3, 2, size=(4, 3, 5, 6))
    bn = nn.BatchNorm2d(3, dtype=np.float64)
    bn.weight.data[...] = [1.0, 2.0, 0.5]
    bn.bias.data[...] = [0.0, -1.0, 1.0]
    out = bn(leaf(x)).numpy()
    mean, var = x.mean(axis=(0, 2, 3), keepdims=True), x.var(axis=(0, 2, 3), keepdims=True)
    gamma, beta = bn.weight.numpy().reshape(1, 3, 1, 1), bn.bias.numpy().reshape(1, 3, 1, 1)
    np.testing.assert_allclose(out, gamma * (x - mean) / np.sqrt(var + 1e-5) + beta, rtol=1e-10)
    n = 4 * 5 * 6
    np.testing.assert_allclose(bn.running_var.numpy(), 0.9 + 0.1 * var.ravel() * n / (n - 1))
    np.testing.assert_allclose(bn.running_mean.numpy(), 0.1 * mean.ravel())
    bn.eval()
    np.testing.assert_allclose(bn(leaf(x)).numpy(), gamma * (x - bn.running_mean.numpy().reshape(1, 3, 1, 1))
                               / np.sqrt(bn.running_var.numpy().reshape(1, 3, 1, 1) + 1e-5) + beta, rtol=1e-10)
    bn.train()
    assert tg.gradcheck(lambda t: nn.BatchNorm2d(3, track_running_stats=False, dtype=np.float64)(t), [leaf(x[:2, :, :3])])


# ------------------------------------------------------------------------------- errors
@pytest.mark.parametrize("call, message", [
    (lambda: F.conv2d(tg.ones(1, 3, 8, 8), tg.ones(4, 2, 3, 3)), "the input has 3 channels, but the weight"),
    (lambda: F.conv2d(tg.ones(1, 4, 8, 8), tg.ones(4, 2, 3, 3), groups=3), "divisible by groups"),
    (lambda: F.conv2d(tg.ones(1, 2, 4, 4), tg.ones(4, 2, 5, 5)), "the kernel spans 5x5 pixels"),
    (lambda: F.conv2d(tg.ones(1, 2, 4, 4), tg.ones(4, 2, 3, 3), dilation=2, padding=0), "spans 5x5"),
    (lambda: F.conv2d(tg.ones(3, 8, 8), tg.ones(4, 2, 3, 3)), r"the input has 3 channels.*\(1, 3, 8, 8\)"),
    (lambda: F.conv2d(tg.ones(1, 2, 8, 8), tg.ones(4, 2, 3, 3), tg.ones(3)), r"bias must have shape \(4,\)"),
    (lambda: F.conv2d(tg.ones(1, 2, 8), tg.ones(4, 2, 3)), "weight must have shape"),
    (lambda: F.conv2d(tg.ones(1, 2, 8, 8), tg.ones(4, 2, 3, 3), stride=0), "stride must be ≥ 1"),
    (lambda: F.conv2d(tg.ones(1, 2, 8, 8), tg.ones(4, 2, 3, 3), padding="full"), "'valid' or 'same'"),
    (lambda: F.conv2d(tg.ones(1, 2, 8, 8), tg.ones(4, 2, 3, 3), stride=2, padding="same"), "needs stride 1"),
    (lambda: F.max_pool2d(tg.ones(1, 2, 8, 8), 2, padding=2), "at most half the kernel size"),
    (lambda: F.max_pool2d(tg.ones(1, 2, 8, 8), 2, ceil_mode=True), "ceil_mode"),
    (lambda: F.max_pool2d(tg.ones(8, 8), 2), r"expected a 4-D input \(N, C, H, W\)"),
    (lambda: F.avg_pool2d(tg.ones(1, 1, 2, 2), 3), "spans 3x3"),
    (lambda: F.fold(tg.ones(1, 8, 10), (4, 4), 2), r"expected input of shape \(N, C·2·2, 3·3\)"),
    (lambda: F.conv_transpose2d(tg.ones(1, 3, 4, 4), tg.ones(2, 2, 3, 3)), "in_channels = the input's 3 channels"),
    (lambda: F.conv_transpose2d(tg.ones(1, 2, 4, 4), tg.ones(2, 2, 3, 3), output_padding=1), "output_padding"),
    (lambda: F.pad(tg.ones(2, 2), (1, -1)), "integers ≥ 0"),
    (lambda: F.dropout2d(tg.ones(2, 3, 4), 0.5), r"expected input of shape \(N, C, H, W\)"),
    (lambda: nn.Conv2d(3, 4, 3)(tg.ones(1, 1, 8, 8)), "the input has 1 channels, but the weight"),
    (lambda: nn.Conv2d(3, 4, 3, groups=2), "divisible by groups"),
    (lambda: nn.Conv2d(3, 4, 3, padding_mode="reflect"), "padding_mode"),
    (lambda: nn.BatchNorm2d(3)(tg.ones(4, 3)), r"expected input of shape \(N, 3, H, W\)"),
])
def test_bad_input_is_refused_with_a_message_naming_the_problem(call, message):
    with pytest.raises((ValueError, TypeError), match=message):
        call()


def test_integer_images_are_refused():
    with pytest.raises(TypeError, match=r"must be float.*\.float\(\)"):
        F.conv2d(tg.Tensor(np.ones((1, 1, 4, 4), dtype=np.uint8)), tg.ones(1, 1, 3, 3))


# ------------------------------------------------------------------------------------ jit
def small_cnn(seed):
    rng = np.random.default_rng(seed)
    return nn.Sequential(nn.Conv2d(1, 4, 3, padding=1, generator=rng), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(4, 6, 3, stride=2, groups=2, generator=rng), nn.Dropout2d(0.25), nn.ReLU(),
                         nn.AvgPool2d(2, stride=1, padding=1, count_include_pad=False), nn.AdaptiveAvgPool2d(2),
                         nn.Flatten(), nn.Linear(24, 10, generator=rng))


def train_cnn(jitted, steps=6):
    tg.manual_seed(0)  # the dropout masks
    model = small_cnn(0)
    optimizer = nn.optim.Adam(model.parameters(), lr=0.01)
    loss_fn = nn.CrossEntropyLoss()

    def step(x, y):
        optimizer.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        optimizer.step()
        return loss

    run = tg.jit(step) if jitted else step
    rng = np.random.default_rng(1)
    losses = [run(tg.Tensor(rng.random((5, 1, 12, 12), dtype=np.float32)), tg.Tensor(rng.integers(0, 10, 5))).numpy().copy()
              for _ in range(steps)]
    return losses, [p.numpy().copy() for p in model.parameters()], run


def test_a_jitted_cnn_step_equals_the_eager_one_bit_for_bit():
    jitted_losses, jitted_params, run = train_cnn(True)
    eager_losses, eager_params, _ = train_cnn(False)
    assert "def replay" in run.source() and "Unfold" in run.source()  # the later steps were replayed
    assert [v.tobytes() for v in jitted_losses] == [v.tobytes() for v in eager_losses]
    assert [p.tobytes() for p in jitted_params] == [p.tobytes() for p in eager_params]
    assert len({v.tobytes() for v in eager_losses}) == len(eager_losses)  # the steps did change the network
