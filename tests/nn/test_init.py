"""nn.init against PyTorch's formulas (gains, fans, bounds), repeatable from a seed; and nn.utils' gradient clipping."""

from __future__ import annotations

import math

import numpy as np
import pytest

import nn
import tinygrad_edu as tg
from nn import init


def weight(*shape, dtype=np.float32):
    return nn.Parameter(np.zeros(shape, dtype=dtype))


def test_gains_are_pytorchs():
    assert init.calculate_gain("linear") == init.calculate_gain("sigmoid") == 1.0
    assert init.calculate_gain("tanh") == 5 / 3
    assert init.calculate_gain("relu") == math.sqrt(2)
    assert init.calculate_gain("selu") == 0.75
    assert init.calculate_gain("leaky_relu") == math.sqrt(2 / (1 + 0.01**2))
    assert init.calculate_gain("leaky_relu", 0.2) == math.sqrt(2 / 1.04)
    with pytest.raises(ValueError, match=r"unknown nonlinearity 'gelu', choose one of \['conv1d', 'conv2d', 'conv3d', "
                                         r"'linear', 'relu', 'selu', 'sigmoid', 'tanh', 'leaky_relu'\]"):
        init.calculate_gain("gelu")


def test_fans_count_inputs_and_outputs_per_neuron():
    assert init._calculate_fan_in_and_fan_out(weight(30, 784)) == (784, 30)
    assert init._calculate_fan_in_and_fan_out(weight(8, 3, 5, 5)) == (75, 200)  # × the receptive field
    with pytest.raises(ValueError, match=r"at least 2 dimensions \(out, in\), got shape \(5,\)"):
        init.xavier_uniform_(weight(5))


# (function, arguments, expected standard deviation for a (200, 300) weight, or a uniform bound)
FAN_IN, FAN_OUT = 300, 200
RANDOM = [
    (init.xavier_uniform_, dict(gain=2.0), 2.0 * math.sqrt(2 / (FAN_IN + FAN_OUT)), "uniform"),
    (init.xavier_normal_, dict(gain=0.5), 0.5 * math.sqrt(2 / (FAN_IN + FAN_OUT)), "normal"),
    (init.kaiming_uniform_, dict(), math.sqrt(2) / math.sqrt(FAN_IN), "uniform"),
    (init.kaiming_uniform_, dict(a=math.sqrt(5)), 1 / math.sqrt(3 * FAN_IN), "uniform"),  # nn.Linear's
    (init.kaiming_normal_, dict(mode="fan_out", nonlinearity="relu"), math.sqrt(2) / math.sqrt(FAN_OUT), "normal"),
    (init.kaiming_normal_, dict(a=0.2), math.sqrt(2 / 1.04) / math.sqrt(FAN_IN), "normal"),
    (init.normal_, dict(mean=0.0, std=0.3), 0.3, "normal"),
    (init.uniform_, dict(a=-0.5, b=0.5), 1 / math.sqrt(12), "uniform"),
]


@pytest.mark.parametrize("fn, kwargs, std, kind", RANDOM, ids=[f"{f.__name__}-{k}" for f, k, _, _ in RANDOM])
def test_random_inits_have_pytorchs_spread(fn, kwargs, std, kind):
    w = weight(FAN_OUT, FAN_IN, dtype=np.float64)
    assert fn(w, generator=np.random.default_rng(0), **kwargs) is w
    values = w.numpy()
    assert abs(values.mean()) < 0.02 * std  # 60,000 draws: the mean is within 5 standard errors of 0
    assert values.std() == pytest.approx(std, rel=0.01)
    if kind == "uniform":  # uniform on [−√3·std, √3·std]
        bound = math.sqrt(3) * std
        assert values.max() <= bound and values.min() >= -bound and values.max() > 0.99 * bound
    else:
        assert np.mean(np.abs(values) > 2 * std) == pytest.approx(0.0455, abs=0.005)  # a normal's tails


# A weight of shape (out, in, *kernel) = (6, 5, 3, 2): fan_in = 5·3·2 = 30 and fan_out = 6·3·2 = 36.
SHAPE, FAN_IN5, FAN_OUT6 = (6, 5, 3, 2), 30, 36
# (init, keyword arguments, "uniform" with its bound or "normal" with its std, by PyTorch's documented formulas)
EXACT = [
    (init.xavier_uniform_, {}, "uniform", math.sqrt(6 / (FAN_IN5 + FAN_OUT6))),
    (init.xavier_uniform_, dict(gain=1.5), "uniform", 1.5 * math.sqrt(6 / (FAN_IN5 + FAN_OUT6))),
    (init.xavier_normal_, {}, "normal", math.sqrt(2 / (FAN_IN5 + FAN_OUT6))),
    (init.xavier_normal_, dict(gain=0.7), "normal", 0.7 * math.sqrt(2 / (FAN_IN5 + FAN_OUT6))),
    (init.kaiming_uniform_, {}, "uniform", math.sqrt(2) * math.sqrt(3 / FAN_IN5)),  # a = 0: leaky_relu's gain is √2
    (init.kaiming_uniform_, dict(a=0.3, mode="fan_out"), "uniform", math.sqrt(2 / 1.09) * math.sqrt(3 / FAN_OUT6)),
    (init.kaiming_uniform_, dict(mode="fan_out", nonlinearity="tanh"), "uniform", 5 / 3 * math.sqrt(3 / FAN_OUT6)),
    (init.kaiming_normal_, {}, "normal", math.sqrt(2) / math.sqrt(FAN_IN5)),
    (init.kaiming_normal_, dict(a=0.3, mode="fan_out"), "normal", math.sqrt(2 / 1.09) / math.sqrt(FAN_OUT6)),
    (init.kaiming_normal_, dict(nonlinearity="selu"), "normal", 0.75 / math.sqrt(FAN_IN5)),
]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("fn, kwargs, kind, scale", EXACT, ids=[f"{f.__name__}-{k}" for f, k, _, _ in EXACT])
def test_random_inits_apply_pytorchs_formula_to_the_generators_draws(fn, kwargs, kind, scale, dtype):
    """Exactly: bound·(2u − 1) for u uniform on [0, 1), or std·z for z standard normal, drawn in the weight's dtype."""
    w = weight(*SHAPE, dtype=dtype)
    fn(w, generator=np.random.default_rng(0), **kwargs)
    rng = np.random.default_rng(0)
    if kind == "uniform":
        expected = scale * (2 * rng.random(SHAPE, dtype=dtype).astype(np.float64) - 1)
    else:
        expected = scale * rng.standard_normal(SHAPE, dtype=dtype).astype(np.float64)
    assert w.dtype == dtype
    tolerance = 1e-6 if dtype == np.float32 else 1e-14
    np.testing.assert_allclose(w.numpy(), expected, rtol=tolerance, atol=tolerance * scale)


def test_uniform_and_normal_take_their_parameters_exactly():
    w = init.uniform_(weight(40, 30, dtype=np.float64), -0.3, 0.7, generator=np.random.default_rng(2))
    np.testing.assert_allclose(w.numpy(), -0.3 + np.random.default_rng(2).random((40, 30)), rtol=1e-14, atol=1e-15)
    w = init.normal_(weight(40, 30, dtype=np.float64), mean=0.5, std=2.0, generator=np.random.default_rng(2))
    np.testing.assert_allclose(w.numpy(), 0.5 + 2.0 * np.random.default_rng(2).standard_normal((40, 30)), rtol=1e-15)
    w = init.uniform_(weight(40, 30, dtype=np.float64), generator=np.random.default_rng(3))  # [0, 1) by default
    np.testing.assert_allclose(w.numpy(), np.random.default_rng(3).random((40, 30)), rtol=1e-15, atol=1e-16)
    w = init.normal_(weight(40, 30, dtype=np.float64), generator=np.random.default_rng(3))  # N(0, 1) by default
    np.testing.assert_array_equal(w.numpy(), np.random.default_rng(3).standard_normal((40, 30)))
    assert (init.uniform_(w, 2.0, 2.0).numpy() == 2.0).all()  # a = b and std = 0 are allowed, as in PyTorch
    assert (init.normal_(w, 3.0, 0.0).numpy() == 3.0).all()
    for std in (-1.0, float("nan")):
        with pytest.raises(ValueError, match=f"normal_: std must be ≥ 0, got {std}"):
            init.normal_(w, 0.0, std)


def test_fan_modes_and_leaky_relu_slopes_are_checked():
    with pytest.raises(ValueError, match="mode must be 'fan_in' or 'fan_out', got 'fan_avg'"):
        init.kaiming_uniform_(weight(3, 4), mode="fan_avg")
    with pytest.raises(ValueError, match="negative_slope '0.2' is not a number"):
        init.calculate_gain("leaky_relu", "0.2")
    with pytest.raises(ValueError, match="negative_slope True is not a number"):  # as PyTorch refuses it
        init.kaiming_normal_(weight(3, 4), a=True)


def test_uniform_and_normal_with_an_offset():
    w = init.uniform_(weight(100, 100, dtype=np.float64), 2.0, 5.0, generator=np.random.default_rng(1))
    assert 2.0 <= w.numpy().min() and w.numpy().max() < 5.0 and w.numpy().mean() == pytest.approx(3.5, abs=0.02)
    w = init.normal_(weight(100, 100, dtype=np.float64), mean=-1.0, std=2.0, generator=np.random.default_rng(1))
    assert w.numpy().mean() == pytest.approx(-1.0, abs=0.05) and w.numpy().std() == pytest.approx(2.0, rel=0.02)
    with pytest.raises(ValueError, match="needs a ≤ b"):
        init.uniform_(w, 1.0, 0.0)


def test_constant_inits():
    w = weight(3, 4)
    assert (init.ones_(w).numpy() == 1).all() and (init.constant_(w, 0.25).numpy() == 0.25).all()
    assert not init.zeros_(w).numpy().any() and w.dtype == np.float32


@pytest.mark.parametrize("fn", [init.xavier_uniform_, init.kaiming_normal_, init.uniform_])
def test_repeatable_from_a_generator_or_from_manual_seed(fn):
    draw = lambda **kw: fn(weight(20, 10), **kw).numpy().copy()  # noqa: E731
    np.testing.assert_array_equal(draw(generator=np.random.default_rng(3)), draw(generator=np.random.default_rng(3)))
    assert not np.array_equal(draw(generator=np.random.default_rng(3)), draw(generator=np.random.default_rng(4)))
    tg.manual_seed(7)
    first = draw()
    tg.manual_seed(7)
    np.testing.assert_array_equal(draw(), first)


def test_linear_keeps_its_initial_numbers_and_they_are_kaimings():
    """The demos' results depend on these draws: the same generator gives the numbers it always gave."""
    layer = nn.Linear(100, 30, generator=np.random.default_rng(5))
    rng = np.random.default_rng(5)
    bound = 1 / np.sqrt(100)
    for p in (layer.weight, layer.bias):  # weight first, then bias, from one stream: (2u − 1)·bound
        expected = ((2 * rng.random(p.shape, dtype=np.float32) - 1) * bound).astype(np.float32)
        np.testing.assert_array_equal(p.numpy(), expected)
    kaiming = init.kaiming_uniform_(weight(30, 100), a=math.sqrt(5), generator=np.random.default_rng(5))
    np.testing.assert_allclose(kaiming.numpy(), layer.weight.numpy(), rtol=1e-6)
    normal = nn.Linear(100, 30, init="normal", generator=np.random.default_rng(5))
    rng = np.random.default_rng(5)
    np.testing.assert_array_equal(normal.weight.numpy(), rng.standard_normal((30, 100), dtype=np.float32))
    np.testing.assert_array_equal(normal.bias.numpy(), rng.standard_normal(30, dtype=np.float32))


@pytest.mark.parametrize("shape", [(3, 0), (0, 4), (0, 0)])
@pytest.mark.parametrize("fn", [init.xavier_uniform_, init.xavier_normal_, init.kaiming_uniform_, init.kaiming_normal_])
def test_inits_of_empty_tensors_do_nothing(fn, shape):
    empty = weight(*shape)  # a fan of 0 must not be divided by (PyTorch's xavier inits fail on (0, 0))
    assert fn(empty) is empty and empty.shape == shape


# ----------------------------------------------------------------------------- gradient clipping
def with_grads(*grads):
    params = []
    for g in grads:
        p = nn.Parameter(np.zeros_like(g))
        p.grad = tg.Tensor(np.array(g, dtype=np.float64))
        params.append(p)
    return params


@pytest.mark.parametrize("norm_type", [2.0, 1.0, 3, float("inf")])
def test_clip_grad_norm_scales_all_gradients_together(norm_type):
    grads = [np.random.default_rng(0).normal(size=(3, 4)), np.random.default_rng(1).normal(size=5)]
    flat = np.concatenate([g.ravel() for g in grads])
    total = np.abs(flat).max() if norm_type == float("inf") else (np.abs(flat) ** norm_type).sum() ** (1 / norm_type)
    params = with_grads(*grads) + [nn.Parameter(np.ones(2))]  # a parameter without a gradient is skipped
    returned = nn.utils.clip_grad_norm_(params, max_norm=0.5, norm_type=norm_type)
    assert returned.item() == pytest.approx(total, rel=1e-12)
    for p, g in zip(params, grads):
        np.testing.assert_allclose(p.grad.numpy(), g * 0.5 / (total + 1e-6), rtol=1e-12)
    assert params[2].grad is None
    unclipped = with_grads(*grads)
    nn.utils.clip_grad_norm_(unclipped, max_norm=1e3, norm_type=norm_type)  # below the cap: unchanged
    for p, g in zip(unclipped, grads):
        np.testing.assert_array_equal(p.grad.numpy(), g)


def test_clip_grad_norm_takes_one_tensor_and_reports_non_finite_norms():
    (p,) = with_grads(np.array([3.0, 4.0]))
    assert nn.utils.clip_grad_norm_(p, 1.0).item() == 5.0
    np.testing.assert_allclose(p.grad.numpy(), [3 / (5 + 1e-6), 4 / (5 + 1e-6)])
    bad = with_grads(np.array([1.0, np.inf]))
    with pytest.raises(RuntimeError, match="total norm of order 2.0 of the gradients is inf, so they cannot be "
                                           "clipped; set error_if_nonfinite=False to clip anyway"):
        nn.utils.clip_grad_norm_(bad, 1.0, error_if_nonfinite=True)
    np.testing.assert_array_equal(bad[0].grad.numpy(), [1.0, np.inf])  # untouched after the error
    assert nn.utils.clip_grad_norm_(p, 10.0, error_if_nonfinite=True).item() == pytest.approx(1.0)  # finite: clipped


def test_clip_grad_norm_by_default_clips_a_non_finite_norm_as_pytorch_does():
    bad = with_grads(np.array([1.0, np.inf]))
    with np.errstate(invalid="ignore"):
        assert nn.utils.clip_grad_norm_(bad, 1.0).item() == np.inf
    np.testing.assert_array_equal(bad[0].grad.numpy(), [0.0, np.nan])  # scaled by 1/(inf + 10⁻⁶) = 0; inf·0 is NaN


def test_clip_grad_norm_without_gradients_is_zero_and_empty_gradients_add_nothing():
    assert nn.utils.clip_grad_norm_([nn.Parameter(np.ones(2))], 1.0).item() == 0.0
    for norm_type, expected in ((2.0, 5.0), (1.0, 7.0), (float("inf"), 4.0)):
        params = with_grads(np.array([3.0, -4.0]), np.zeros((2, 0)))
        assert nn.utils.clip_grad_norm_(params, 1e3, norm_type).item() == pytest.approx(expected, rel=1e-15)


def test_clip_grad_norm_is_taken_in_the_gradients_common_dtype():
    def param(grad, dtype):
        p = nn.Parameter(np.zeros(np.shape(grad), dtype=dtype))
        p.grad = tg.Tensor(np.array(grad, dtype=dtype))
        return p

    for norm_type in (2.0, float("inf")):
        with_empty = [param([1.0, -2.0], np.float32), param(np.zeros(0), np.float32)]
        single = nn.utils.clip_grad_norm_(with_empty, 1e3, norm_type)
        assert single.dtype == np.float32
        mixed = nn.utils.clip_grad_norm_([param([1.0, -2.0], np.float32), param([0.5], np.float64)], 1e3, norm_type)
        assert mixed.dtype == np.float64  # float64 as soon as one gradient is, in whichever position
        assert mixed.item() == pytest.approx(math.sqrt(5.25) if norm_type == 2.0 else 2.0, rel=1e-7)


def test_clip_grad_value_clips_each_element():
    params = with_grads(np.array([-3.0, 0.5, 2.0]), np.array([[0.1, -0.2]]))
    assert nn.utils.clip_grad_value_(params, 1.0) is None
    np.testing.assert_array_equal(params[0].grad.numpy(), [-1.0, 0.5, 1.0])
    np.testing.assert_array_equal(params[1].grad.numpy(), [[0.1, -0.2]])
    nn.utils.clip_grad_value_(params, 0.0)  # a clip value of 0 is allowed (as in PyTorch): every gradient 0
    assert not params[0].grad.numpy().any() and not params[1].grad.numpy().any()
    with pytest.raises(ValueError, match="clip_value must be ≥ 0"):
        nn.utils.clip_grad_value_(params, -1.0)


# ----------------------------------------------------------------------------- flat state dicts
def test_flatten_and_unflatten_state_dicts_round_trip(tmp_path):
    nested = {"state": {0: {"step": 3, "buffer": np.arange(6.0).reshape(2, 3)}, 2: {"step": 1}},
              "param_groups": [{"lr": 0.1, "betas": (0.9, 0.99), "params": [0, 1]}, {"lr": 0.2, "params": [2]}],
              "mode": "min", "best": float("inf")}
    flat = nn.utils.flatten_state_dict(nested)
    assert sorted(flat) == ["best", "mode", "param_groups[0].betas", "param_groups[0].lr", "param_groups[0].params",
                            "param_groups[1].lr", "param_groups[1].params", "state.0.buffer", "state.0.step",
                            "state.2.step"]
    np.savez(tmp_path / "flat.npz", **flat)
    with np.load(tmp_path / "flat.npz", allow_pickle=False) as archive:
        back = nn.utils.unflatten_state_dict({k: archive[k] for k in archive.files})
    assert sorted(back) == ["best", "mode", "param_groups", "state"]
    assert isinstance(back["param_groups"], list) and len(back["param_groups"]) == 2
    assert back["param_groups"][0]["betas"].tolist() == [0.9, 0.99] and back["param_groups"][1]["lr"] == 0.2
    np.testing.assert_array_equal(back["state"][0]["buffer"], nested["state"][0]["buffer"])
    assert sorted(back["state"]) == [0, 2] and back["mode"] == "min" and back["best"] == float("inf")
    with pytest.raises(TypeError, match="^flatten_state_dict: 'foreach' holds None, which is not a number, a boolean, a "
                                        "string or an array of them, so it cannot be stored without pickle$"):
        nn.utils.flatten_state_dict({"foreach": None})
