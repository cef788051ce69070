"""nn's smaller promises, each pinned to a value: printing, deleting, strict loading, validation bounds."""

from __future__ import annotations

import numpy as np
import pytest

import nn
import tinygrad_edu as tg


def test_parameter_repr_says_what_it_is():
    assert repr(nn.Parameter(np.array([1.0, 2.0], dtype=np.float32))) == \
        "Parameter containing:\ntensor([1., 2.], requires_grad=True)"


def test_nested_modules_print_indented_like_pytorch():
    model = nn.Sequential(nn.Sequential(nn.Linear(2, 3), nn.Sigmoid()), nn.ReLU())
    assert repr(model) == (
        "Sequential(\n"
        "  (0): Sequential(\n"
        "    (0): Linear(in_features=2, out_features=3, bias=True)\n"
        "    (1): Sigmoid()\n"
        "  )\n"
        "  (1): ReLU()\n"
        ")"
    )


def test_deleting_an_attribute_unregisters_it():
    layer = nn.Linear(2, 3)
    del layer.bias
    assert [name for name, _ in layer.named_parameters()] == ["weight"]
    assert not hasattr(layer, "bias")
    with pytest.raises(AttributeError):
        del layer.no_such_attribute


def test_a_module_without_forward_says_so():
    class Empty(nn.Module):
        pass

    with pytest.raises(NotImplementedError, match="^Empty must define forward\\(\\)$"):
        Empty()(tg.ones(1))


def test_eval_switches_training_off_everywhere_and_returns_the_module():
    model = nn.Sequential(nn.Linear(2, 2), nn.Dropout(0.5))
    assert model.eval() is model
    assert all(m.training is False for m in model.modules())
    assert model.train() is model and all(m.training is True for m in model.modules())


def test_loose_loading_skips_unknown_keys_and_loads_the_rest():
    layer = nn.Linear(2, 3, dtype=np.float64)
    state = {"unknown": np.zeros(1), "weight": np.full((3, 2), 7.0), "bias": np.full(3, 8.0)}
    layer.load_state_dict(state, strict=False)
    np.testing.assert_array_equal(layer.weight.numpy(), np.full((3, 2), 7.0))
    np.testing.assert_array_equal(layer.bias.numpy(), np.full(3, 8.0))


def test_strict_loading_error_names_the_module_class():
    with pytest.raises(RuntimeError, match="loading state_dict for Linear: missing keys \\['bias'\\]"):
        nn.Linear(2, 3).load_state_dict({"weight": np.zeros((3, 2))})


def test_load_refuses_a_pickled_file(tmp_path):
    path = tmp_path / "evil.npz"
    np.savez(path, weight=np.array([{"not": "an array"}], dtype=object), bias=np.zeros(3))
    with pytest.raises(ValueError, match="pickle"):
        nn.Linear(2, 3).load(path)


def test_a_layer_without_extra_repr_prints_empty_parentheses():
    assert repr(nn.Sigmoid()) == "Sigmoid()" and nn.Sigmoid().extra_repr() == ""


# -------------------------------------------------------------------------------------- dropout
def test_dropout_keeps_the_input_dtype_and_is_identity_at_p_zero():
    x = tg.ones(50, 40)
    assert nn.Dropout(0.5, generator=np.random.default_rng(0))(x).dtype == np.float32
    assert nn.Dropout(0.0)(x) is x
    with pytest.raises(ValueError, match="p must be in \\[0, 1\\)"):
        nn.Dropout(-0.1)


# ------------------------------------------------------------------------------------ optimizers
def test_a_learning_rate_of_zero_is_allowed_and_changes_nothing():
    w = nn.Parameter(np.array([1.0, 2.0]))
    w.grad = tg.tensor(np.array([3.0, 4.0]))
    nn.optim.SGD([w], lr=0.0).step()
    np.testing.assert_array_equal(w.numpy(), [1.0, 2.0])


@pytest.mark.parametrize("make", [
    lambda p: nn.optim.SGD(p, lr=0.1, momentum=-0.5),
    lambda p: nn.optim.SGD(p, lr=0.1, weight_decay=-0.5),
    lambda p: nn.optim.Adam(p, betas=(0.9, 1.0)),
    lambda p: nn.optim.Adam(p, betas=(0.9, 1.5)),
    lambda p: nn.optim.Adam(p, betas=(-0.1, 0.9)),
    lambda p: nn.optim.Adam(p, eps=-1e-8),
    lambda p: nn.optim.Adam(p, weight_decay=-0.1),
    lambda p: nn.optim.SGD(p, lr=-0.1),
])
def test_out_of_range_hyperparameters_are_refused_with_the_value(make):
    with pytest.raises(ValueError, match="-0.5|1.0|1.5|-0.1|-1e-08"):
        make([nn.Parameter(np.ones(1))])


def test_the_edges_of_the_ranges_are_allowed():
    p = [nn.Parameter(np.ones(1))]
    nn.optim.Adam(p, betas=(0.0, 0.0))
    nn.optim.SGD(p, lr=0.1, momentum=0.0, weight_decay=0.0)


def test_adam_defaults_have_no_weight_decay():
    w = nn.Parameter(np.array([10.0]))
    w.grad = tg.tensor(np.array([0.0]))
    nn.optim.Adam([w], lr=0.1).step()
    assert w.item() == 10.0  # a zero gradient and no decay: nothing moves


def test_optimizer_error_messages_name_the_class():
    with pytest.raises(ValueError, match="^SGD got an empty parameter list$"):
        nn.optim.SGD([], lr=0.1)
    with pytest.raises(ValueError, match="^SGD: nesterov=True needs momentum > 0 and dampening = 0$"):
        nn.optim.SGD([nn.Parameter(np.ones(1))], lr=0.1, nesterov=True)


def test_adam_state_keeps_its_step_count_as_an_integer_across_a_reload():
    w = nn.Parameter(np.array([1.0, 2.0]))
    optimizer = nn.optim.Adam([w], lr=0.1)
    w.grad = tg.tensor(np.array([0.5, -0.5]))
    optimizer.step()
    optimizer.step()
    reloaded = nn.optim.Adam([w], lr=0.1)
    flat = nn.utils.flatten_state_dict(optimizer.state_dict())  # as an .npz holds it: arrays
    reloaded.load_state_dict(nn.utils.unflatten_state_dict(flat))
    w.grad = tg.tensor(np.array([0.5, -0.5]))
    reloaded.step()
    optimizer.step()
    np.testing.assert_array_equal(reloaded.state[w]["exp_avg"], optimizer.state[w]["exp_avg"])
    assert reloaded.state[w]["step"] == 3 and type(reloaded.state[w]["step"]) is int


def test_a_state_entry_for_a_missing_parameter_is_refused():
    w = nn.Parameter(np.ones(2))
    optimizer = nn.optim.SGD([w], lr=0.1, momentum=0.9)
    state = {**optimizer.state_dict(), "state": {1: {"momentum_buffer": np.ones(2)}}}
    with pytest.raises(ValueError, match="state for parameter 1, which no group holds"):
        optimizer.load_state_dict(state)


# ------------------------------------------------------------------------------- layers and losses
@pytest.mark.parametrize("init", ["pytorch", "normal", "zeros"])
def test_linear_makes_every_parameter_in_the_dtype_asked_for(init):
    layer = nn.Linear(3, 2, init=init, dtype=np.float64, generator=np.random.default_rng(0))
    assert layer.weight.dtype == np.float64 and layer.bias.dtype == np.float64


@pytest.mark.parametrize("init", ["pytorch", "normal"])
def test_linear_draws_its_weights_from_the_generator_given(init):
    a = nn.Linear(4, 3, init=init, generator=np.random.default_rng(11))
    b = nn.Linear(4, 3, init=init, generator=np.random.default_rng(11))
    np.testing.assert_array_equal(a.weight.numpy(), b.weight.numpy())
    np.testing.assert_array_equal(a.bias.numpy(), b.bias.numpy())
    rng = np.random.default_rng(11)
    expected = rng.standard_normal((3, 4), dtype=np.float32) if init == "normal" else \
        ((2 * rng.random((3, 4), dtype=np.float32) - 1) * (1 / np.sqrt(4))).astype(np.float32)
    np.testing.assert_array_equal(a.weight.numpy(), expected)


def test_dropout_draws_its_mask_in_the_input_dtype():
    x = tg.ones(6, 7)  # float32: the mask comes from float32 uniform draws
    out = nn.Dropout(0.4, generator=np.random.default_rng(3))(x).numpy()
    keep = np.random.default_rng(3).random((6, 7), dtype=np.float32) >= 0.4
    np.testing.assert_array_equal(out != 0, keep)


def test_losses_keep_float32():
    a, y = tg.tensor([[0.25, 0.75]]), tg.tensor([[0.0, 1.0]])
    assert nn.MSELoss()(a, y).dtype == np.float32
    assert nn.CrossEntropyLoss()(a, np.array([1])).dtype == np.float32


def test_mean_squared_error_of_one_element():
    assert nn.MSELoss("mean")(tg.tensor([[0.5]]), tg.tensor([[2.0]])).item() == 2.25


def test_a_nan_cross_entropy_names_itself():
    with pytest.raises(FloatingPointError, match="^cross_entropy is nan: the network.s outputs have diverged"):
        nn.CrossEntropyLoss()(tg.tensor([[float("nan"), 0.0]]), np.array([0]))


def test_parameter_converts_to_the_dtype_asked_for():
    assert nn.Parameter(np.array([1.0, 2.0]), dtype=np.float32).dtype == np.float32


def test_a_parameter_shared_by_two_layers_is_listed_once():
    first, second = nn.Linear(2, 2), nn.Linear(2, 2)
    second.weight = first.weight
    model = nn.Sequential(first, second)
    names = [name for name, _ in model.named_parameters()]
    assert names == ["0.weight", "0.bias", "1.bias"]


def test_one_hot_infers_the_classes_or_refuses_labels_out_of_range():
    np.testing.assert_array_equal(nn.one_hot(np.array([1, 3])).numpy(), np.eye(4)[[1, 3]])
    assert nn.one_hot(np.array([], dtype=np.int64)).shape == (0, 0)
    with pytest.raises(ValueError, match="one_hot: labels must lie in \\[0, 0\\), got 0"):
        nn.one_hot(np.array([0]), 0)


def test_loss_modules_print_their_options():
    assert repr(nn.MSELoss("mean")) == "MSELoss(reduction='mean')"
    assert repr(nn.CrossEntropyLoss()) == "CrossEntropyLoss(ignore_index=-100, label_smoothing=0.0, reduction='mean')"


def test_the_perceptron_step_keeps_float32():
    assert nn.Step()(tg.tensor([-1.0, 2.0])).dtype == np.float32


def test_a_float32_layer_refuses_float64_numpy_data_and_says_how_to_convert():
    layer = nn.Linear(3, 2)
    data = np.ones((4, 3))  # NumPy's default dtype: float64
    with pytest.raises(RuntimeError, match=r"^linear: the input is float64 but the weight is float32;.*x\.float\(\)"):
        layer(tg.Tensor(data))
    expected = data @ layer.weight.numpy().T.astype(np.float64) + layer.bias.numpy()
    # float32 rounding is relative to the terms summed (weights of up to 1/√3), not to a sum near 0: atol too
    np.testing.assert_allclose(layer(tg.Tensor(data).float()).numpy(), expected, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(layer.double()(tg.Tensor(data)).numpy(), expected, rtol=1e-6, atol=1e-6)
