"""Convolution, pooling and their layers against PyTorch: values and gradients, and state dicts that load both ways.

PyTorch is a reference here, never a dependency: the module is skipped where it is not installed.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import nn
import tinygrad_edu as tg

torch = pytest.importorskip("torch")
TF = torch.nn.functional
F = nn.functional


def both(array):
    """The same float64 array as a tinygrad-edu tensor and as a torch tensor, each requiring grad."""
    array = np.array(array, dtype=np.float64)
    return tg.Tensor(array.copy(), requires_grad=True), torch.tensor(array.copy(), requires_grad=True)


def assert_same(ours, theirs, pairs):
    """Equal values, and equal gradients of Σ u·out (a fixed random u) for every pair of inputs."""
    assert ours.shape == tuple(theirs.shape)
    np.testing.assert_allclose(ours.numpy(), theirs.detach().numpy(), rtol=1e-10, atol=1e-12)
    u = np.random.default_rng(0).standard_normal(ours.shape)
    (ours * tg.Tensor(u)).sum().backward()
    (theirs * torch.tensor(u)).sum().backward()
    for mine, reference in pairs:
        np.testing.assert_allclose(mine.grad.numpy(), reference.grad.numpy(), rtol=1e-10, atol=1e-12)


@st.composite
def geometries(draw):
    kernel = (draw(st.integers(1, 4)), draw(st.integers(1, 4)))
    dilation = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    stride = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    padding = tuple(draw(st.integers(0, k // 2)) for k in kernel)  # pooling allows at most half the kernel
    size = tuple(d * (k - 1) + 1 + draw(st.integers(0, 5)) for k, d in zip(kernel, dilation))
    return dict(kernel=kernel, dilation=dilation, stride=stride, padding=padding, size=size)


@settings(max_examples=15)
@given(geometries(), st.integers(1, 3), st.booleans(), st.integers(0, 2**16))
def test_conv2d_matches_pytorch(g, groups, bias, seed):
    rng = np.random.default_rng(seed)
    (x, tx), (w, tw) = both(rng.normal(size=(2, 2 * groups) + g["size"])), both(rng.normal(size=(groups, 2) + g["kernel"]))
    (b, tb) = both(rng.normal(size=groups)) if bias else (None, None)
    options = dict(stride=g["stride"], padding=g["padding"], dilation=g["dilation"], groups=groups)
    assert_same(F.conv2d(x, w, b, **options), TF.conv2d(tx, tw, tb, **options),
                [(x, tx), (w, tw)] + ([(b, tb)] if bias else []))


@settings(max_examples=10)
@given(geometries(), st.integers(1, 2), st.data())
def test_conv_transpose2d_matches_pytorch(g, groups, data):
    rng = np.random.default_rng(0)
    (x, tx), (w, tw), (b, tb) = (both(rng.normal(size=(2, 2 * groups, 3, 4))),
                                 both(rng.normal(size=(2 * groups, 3) + g["kernel"])), both(rng.normal(size=3 * groups)))
    output_padding = tuple(data.draw(st.integers(0, max(s, d) - 1)) for s, d in zip(g["stride"], g["dilation"]))
    options = dict(stride=g["stride"], padding=g["padding"], output_padding=output_padding, groups=groups,
                   dilation=g["dilation"])
    assert_same(F.conv_transpose2d(x, w, b, **options), TF.conv_transpose2d(tx, tw, tb, **options),
                [(x, tx), (w, tw), (b, tb)])


@settings(max_examples=15)
@given(geometries(), st.booleans(), st.integers(0, 2**16))
def test_pooling_unfold_and_fold_match_pytorch(g, include_pad, seed):
    x = np.random.default_rng(seed).normal(size=(2, 3) + g["size"])
    k, s, p, d = g["kernel"], g["stride"], g["padding"], g["dilation"]
    (ours, theirs) = both(x)
    assert_same(F.max_pool2d(ours, k, s, p, d), TF.max_pool2d(theirs, k, s, p, d), [(ours, theirs)])
    (ours, theirs) = both(x)
    assert_same(F.avg_pool2d(ours, k, s, p, count_include_pad=include_pad),
                TF.avg_pool2d(theirs, k, s, p, count_include_pad=include_pad), [(ours, theirs)])
    (ours, theirs) = both(x)
    cols, theirs_cols = F.unfold(ours, k, d, p, s), TF.unfold(theirs, k, d, p, s)
    assert_same(cols, theirs_cols, [(ours, theirs)])
    (c, tc) = both(cols.numpy())
    assert_same(F.fold(c, g["size"], k, d, p, s), TF.fold(tc, g["size"], k, d, p, s), [(c, tc)])


@pytest.mark.parametrize("output_size", [(1, 1), (3, 3), (4, 5), (None, 2), 7])
def test_adaptive_avg_pool2d_matches_pytorch(output_size):
    (x, tx) = both(np.random.default_rng(0).normal(size=(2, 3, 7, 9)))
    assert_same(F.adaptive_avg_pool2d(x, output_size), TF.adaptive_avg_pool2d(tx, output_size), [(x, tx)])


@pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel lengths")  # PyTorch's note on its speed
@pytest.mark.parametrize("options", [dict(), dict(stride=2, padding=1, dilation=2, groups=2), dict(padding="same"),
                                     dict(padding="valid", stride=3)])
def test_conv1d_matches_pytorch(options):
    rng = np.random.default_rng(0)
    (x, tx), (w, tw), (b, tb) = both(rng.normal(size=(2, 4, 11))), both(rng.normal(size=(6, 4 // options.get("groups", 1), 4))), \
        both(rng.normal(size=6))
    assert_same(F.conv1d(x, w, b, **options), TF.conv1d(tx, tw, tb, **options), [(x, tx), (w, tw), (b, tb)])


def test_pad_matches_pytorch():
    (x, tx) = both(np.random.default_rng(0).normal(size=(2, 3, 4)))
    assert_same(F.pad(x, (1, 2, 0, 3), value=0.5), TF.pad(tx, (1, 2, 0, 3), value=0.5), [(x, tx)])


# ------------------------------------------------------------------------------ state dicts
def networks():
    """The same layers built by both libraries (our modules take PyTorch's arguments)."""
    def build(lib):
        return lib.Sequential(lib.Conv2d(3, 6, 3, stride=2, padding=1, groups=3), lib.BatchNorm2d(6), lib.ReLU(),
                              lib.ConvTranspose2d(6, 4, 3, stride=2, padding=1, output_padding=1, bias=False),
                              lib.MaxPool2d(2), lib.AvgPool2d(3, stride=1, padding=1), lib.AdaptiveAvgPool2d(2),
                              lib.Flatten(), lib.Linear(16, 5))
    return build(nn), build(torch.nn).double()


def test_a_cnn_state_dict_loads_into_pytorch_and_back_with_the_same_outputs():
    ours, theirs = networks()
    ours.double()
    assert list(ours.state_dict()) == list(theirs.state_dict())
    theirs.load_state_dict({k: torch.tensor(v) for k, v in ours.state_dict().items()})
    x = np.random.default_rng(0).normal(size=(2, 3, 10, 12))
    for mode in ("train", "eval"):  # batch statistics, then the running averages both updated once
        getattr(ours, mode)(), getattr(theirs, mode)()
        np.testing.assert_allclose(ours(tg.Tensor(x)).numpy(), theirs(torch.tensor(x)).detach().numpy(), rtol=1e-10)
    for key, value in theirs.state_dict().items():
        np.testing.assert_allclose(ours.state_dict()[key], value.numpy(), rtol=1e-10)
    fresh, trained = networks()[0].double(), networks()[1]
    torch.nn.init.normal_(trained[0].weight)
    fresh.load_state_dict({k: v.numpy() for k, v in trained.state_dict().items()})  # and back
    fresh.eval(), trained.eval()
    np.testing.assert_allclose(fresh(tg.Tensor(x)).numpy(), trained(torch.tensor(x)).detach().numpy(), rtol=1e-10)


@pytest.mark.parametrize("make", [lambda lib: lib.Conv2d(6, 8, (3, 2), groups=2), lambda lib: lib.Conv1d(4, 6, 5),
                                  lambda lib: lib.ConvTranspose2d(4, 6, 3, groups=2)])
def test_conv_initial_weights_have_pytorchs_distribution(make):
    """Both draw from U(−1/√fan_in, 1/√fan_in): the same bounds, and over many layers the same spread."""
    torch.manual_seed(0)
    ours = np.concatenate([make(nn).weight.numpy().ravel() for _ in range(30)])
    theirs = np.concatenate([make(torch.nn).weight.detach().numpy().ravel() for _ in range(30)])
    bound = np.abs(theirs).max()
    assert np.abs(ours).max() <= bound * 1.01 and np.abs(ours).max() > bound * 0.97
    assert ours.std() == pytest.approx(theirs.std(), rel=0.05)
