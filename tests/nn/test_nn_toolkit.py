"""PyTorch's module toolkit: containers, buffers, dtype conversion, and the normalisation and activation layers.

Every layer's forward is checked against its formula written in NumPy, and its backward against
finite differences in float64 (a layer is made float64 with ``double()``).
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import nn
import tinygrad_edu as tg


def f64(shape, low=-2.0, high=2.0):
    return hnp.arrays(np.float64, shape, elements=st.floats(low, high, allow_nan=False, allow_infinity=False))


def leaf(array):
    return tg.Tensor(np.asarray(array, dtype=np.float64), requires_grad=True)


def rng(seed=0):
    return np.random.default_rng(seed)


# ------------------------------------------------------------------------------ containers
def test_module_list_registers_its_modules_and_behaves_like_a_list():
    layers = nn.ModuleList([nn.Linear(2, 3), nn.ReLU()])
    layers.append(nn.Linear(3, 4))
    layers.extend([nn.Sigmoid()])
    layers.insert(1, nn.Tanh())
    assert [type(m).__name__ for m in layers] == ["Linear", "Tanh", "ReLU", "Linear", "Sigmoid"]
    assert len(layers) == 5 and isinstance(layers[-2], nn.Linear) and layers[-2].out_features == 4
    assert [name for name, _ in layers.named_parameters()] == ["0.weight", "0.bias", "3.weight", "3.bias"]
    tail = layers[3:]
    assert isinstance(tail, nn.ModuleList) and [type(m).__name__ for m in tail] == ["Linear", "Sigmoid"]
    assert tail[0] is layers[3]
    layers[1] = nn.Identity()
    assert isinstance(layers[1], nn.Identity)
    with pytest.raises(IndexError, match="index 5 is out of range for a ModuleList of 5"):
        layers[5]

    class Tower(nn.Module):
        def __init__(self):
            super().__init__()
            self.blocks = nn.ModuleList(nn.Linear(2, 2) for _ in range(3))

    assert len(list(Tower().parameters())) == 6  # a plain list would have hidden all six


def test_module_dict_registers_under_its_keys_and_refuses_names_that_would_shadow():
    heads = nn.ModuleDict({"digit": nn.Linear(4, 10), "parity": nn.Linear(4, 2)})
    heads["odd"] = nn.Linear(4, 1, bias=False)
    assert heads.keys() == ["digit", "parity", "odd"] and list(heads) == heads.keys()
    assert "parity" in heads and len(heads) == 3
    assert [name for name, _ in heads.named_parameters()] == [
        "digit.weight", "digit.bias", "parity.weight", "parity.bias", "odd.weight"]
    assert isinstance(heads.pop("parity"), nn.Linear) and "parity" not in heads
    del heads["odd"]
    assert heads.keys() == ["digit"] and [k for k, _ in heads.items()] == ["digit"]
    with pytest.raises(KeyError, match="attribute 'train' already exists on ModuleDict"):
        heads["train"] = nn.ReLU()
    with pytest.raises(KeyError, match="without dots"):
        heads["a.b"] = nn.ReLU()
    with pytest.raises(KeyError):
        heads["missing"]


def test_sequential_slices_are_sequentials_of_the_same_layers_and_append_adds_one():
    model = nn.Sequential(nn.Linear(3, 4, generator=rng()), nn.Tanh(), nn.Linear(4, 2, generator=rng(1)), nn.Sigmoid())
    x = tg.randn(5, 3, generator=rng(2))
    head = model[:2]
    assert isinstance(head, nn.Sequential) and len(head) == 2 and head[0] is model[0]
    np.testing.assert_array_equal(model[2:](head(x)).numpy(), model(x).numpy())
    assert list(model[2:].state_dict()) == ["2.weight", "2.bias"]  # names kept, as in PyTorch
    assert model[-1] is list(model)[3]
    model.append(nn.Identity())
    assert len(model) == 5 and isinstance(model[4], nn.Identity)
    named = nn.Sequential({"hidden": nn.Linear(3, 4), "act": nn.ReLU()})
    assert [name for name, _ in named.named_children()] == ["hidden", "act"]


def test_sequential_append_names_each_new_layer_by_its_position():
    model = nn.Sequential(nn.Linear(3, 4))
    assert model.append(nn.ReLU()).append(nn.Linear(4, 2)) is model
    assert [name for name, _ in model.named_children()] == ["0", "1", "2"]
    assert list(model.state_dict()) == ["0.weight", "0.bias", "2.weight", "2.bias"]


def test_module_list_counts_negative_indices_from_the_end_as_a_list_does():
    layers = nn.ModuleList([nn.Linear(2, 3), nn.ReLU(), nn.Tanh()])
    assert layers[-1] is layers[2] and layers[-3] is layers[0]
    with pytest.raises(IndexError, match="index -4 is out of range for a ModuleList of 3"):
        layers[-4]


def test_module_dict_takes_key_module_pairs_lists_its_values_and_names_a_missing_key():
    digit, parity = nn.Linear(4, 10), nn.Linear(4, 2)
    heads = nn.ModuleDict([("digit", digit), ("parity", parity)])  # an iterable of pairs, as in PyTorch
    assert heads.keys() == ["digit", "parity"] and heads.values() == [digit, parity]
    with pytest.raises(KeyError, match="'missing'"):
        heads["missing"]
    with pytest.raises(KeyError, match="'missing'"):
        del heads["missing"]


# ------------------------------------------------------------------------------ Module methods
class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(nn.Linear(3, 4, generator=rng()), nn.BatchNorm1d(4), nn.ReLU())
        self.head = nn.Linear(4, 2, generator=rng(1))
        self.register_buffer("scale", tg.tensor([2.0]))

    def forward(self, x):
        return self.head(self.body(x)) * self.scale


def test_children_modules_and_apply_visit_in_pytorchs_order():
    net = Net()
    assert [type(m).__name__ for m in net.children()] == ["Sequential", "Linear"]
    assert [type(m).__name__ for m in net.modules()] == ["Net", "Sequential", "Linear", "BatchNorm1d", "ReLU", "Linear"]
    visited = []
    assert net.apply(lambda m: visited.append(type(m).__name__)) is net
    assert visited == ["Linear", "BatchNorm1d", "ReLU", "Sequential", "Linear", "Net"]  # children first

    def zero_linear(m):
        if isinstance(m, nn.Linear):
            nn.init.zeros_(m.weight)

    net.apply(zero_linear)
    assert not net.head.weight.numpy().any() and not net.body[0].weight.numpy().any()


def test_add_module_registers_and_checks():
    net = nn.Module()
    net.add_module("layer", nn.Linear(2, 2))
    assert [name for name, _ in net.named_parameters()] == ["layer.weight", "layer.bias"]
    with pytest.raises(TypeError, match="ndarray is not a Module"):
        net.add_module("bad", np.zeros(2))
    with pytest.raises(KeyError, match="'eval' already exists"):
        net.add_module("eval", nn.ReLU())
    with pytest.raises(TypeError, match="a module or buffer name must be a str, got int"):
        net.add_module(1, nn.ReLU())


def test_buffers_are_saved_but_not_learned(tmp_path):
    net = Net()
    params = dict(net.named_parameters())
    assert "scale" not in params and "body.1.running_mean" not in params
    assert [name for name, _ in net.named_buffers()] == [
        "scale", "body.1.running_mean", "body.1.running_var", "body.1.num_batches_tracked"]
    state = net.state_dict()
    assert list(state) == ["scale", "body.0.weight", "body.0.bias", "body.1.weight", "body.1.bias",
                           "body.1.running_mean", "body.1.running_var", "body.1.num_batches_tracked",
                           "head.weight", "head.bias"]  # PyTorch's keys and order
    net(tg.randn(8, 3, generator=rng(3)))  # a training step moves the running statistics
    net.scale = tg.tensor([3.0])  # a new tensor for a buffer stays a buffer
    assert "scale" in dict(net.named_buffers())
    net.save(tmp_path / "net.npz")
    restored = Net()
    restored.load(tmp_path / "net.npz")
    for name, value in net.state_dict().items():
        np.testing.assert_array_equal(restored.state_dict()[name], value, err_msg=name)
    assert restored.body[1].num_batches_tracked.item() == 1
    with pytest.raises(TypeError, match=r"'bad' must be a Tensor that is not a Parameter \(or None\), got ndarray"):
        net.register_buffer("bad", np.zeros(2))
    with pytest.raises(TypeError, match="got Parameter"):
        net.register_buffer("bad", nn.Parameter(np.zeros(2)))
    with pytest.raises(TypeError, match="cannot assign ndarray to buffer 'scale'"):
        net.scale = np.zeros(1)  # would silently stop being saved
    with pytest.raises(KeyError, match="'weight' is already a parameter of Linear"):
        net.head.register_buffer("weight", tg.zeros(2))


def test_calling_a_module_passes_keyword_arguments_to_forward():
    class Scaled(nn.Module):
        def forward(self, x, scale=1.0):
            return x * scale

    x = tg.tensor([1.0, -2.0])
    np.testing.assert_array_equal(Scaled()(x, scale=3.0).numpy(), [3.0, -6.0])


def test_module_zero_grad_sets_to_none_or_zeroes_in_place():
    net = Net()
    net(tg.randn(4, 3, generator=rng())).sum().backward()
    grad = net.head.weight.grad
    net.zero_grad(set_to_none=False)
    assert net.head.weight.grad is grad and not grad.numpy().any()
    net.zero_grad()
    assert all(p.grad is None for p in net.parameters())


def test_requires_grad_freezes_and_unfreezes_every_parameter():
    net = Net()
    net.body.requires_grad_(False)
    net(tg.randn(4, 3, generator=rng())).sum().backward()
    assert net.body[0].weight.grad is None and net.head.weight.grad is not None
    assert net.body.requires_grad_() is net.body and net.body[0].weight.requires_grad


def test_double_float_and_to_convert_parameters_buffers_and_grads_in_place():
    net = Net()
    weight = net.head.weight
    optimizer = nn.optim.SGD(net.parameters(), lr=0.1)
    net(tg.randn(4, 3, generator=rng())).sum().backward()
    before = weight.numpy().copy()
    assert net.double() is net
    assert net.head.weight is weight  # the same Parameter: the optimizer still holds it
    assert {t.dtype for t in net.parameters()} == {np.dtype(np.float64)}
    assert weight.grad.dtype == np.float64 and net.body[1].running_var.dtype == np.float64
    assert net.body[1].num_batches_tracked.dtype == np.int64  # integers stay integers
    np.testing.assert_array_equal(weight.numpy(), before)
    optimizer.step()
    assert weight.dtype == np.float64 and not np.array_equal(weight.numpy(), before)
    assert net.float().head.weight.dtype == np.float32 and net.scale.dtype == np.float32
    assert weight.grad.dtype == np.float32  # gradients follow their parameters back
    assert net.to(np.float64).head.bias.dtype == np.float64
    with pytest.raises(TypeError, match="Net.to: only float32 or float64 is possible, got int32"):
        net.to(np.int32)
    assert net.to("cpu") is net and net.head.bias.dtype == np.float64  # PyTorch code's .to(device)
    for device in ("cuda:0", "mps"):
        with pytest.raises(RuntimeError, match=rf"to\('{device}'\): tinygrad-edu computes with NumPy on the CPU only"):
            net.to(device)


def test_a_double_network_passes_gradcheck():
    """Issue 17: gradchecking a layer needs float64 throughout; ``double()`` gives it."""
    net = nn.Sequential(nn.Linear(3, 4, generator=rng()), nn.LayerNorm(4), nn.Tanh(), nn.Linear(4, 2)).double()
    x = leaf(rng(1).normal(size=(5, 3)))
    assert tg.gradcheck(lambda x, *params: net(x), [x, *net.parameters()])


def test_linear_refuses_negative_sizes_and_with_no_inputs_starts_with_zero_biases():
    layer = nn.Linear(0, 3)  # PyTorch: an empty weight and zero biases; it used to fill them with −inf
    assert layer.weight.shape == (3, 0)
    np.testing.assert_array_equal(layer.bias.numpy(), np.zeros(3))
    np.testing.assert_array_equal(layer(tg.zeros(2, 0)).numpy(), np.zeros((2, 3)))
    with pytest.raises(ValueError, match="in_features must be an integer ≥ 0, got -1"):
        nn.Linear(-1, 3)
    with pytest.raises(ValueError, match="out_features must be an integer ≥ 0, got 2.5"):
        nn.Linear(3, 2.5)


# ------------------------------------------------------------------------------ activations
@given(data=st.data())
def test_leaky_relu_matches_its_formula_and_passes_gradcheck(data):
    x = data.draw(f64((data.draw(st.integers(1, 4)), data.draw(st.integers(1, 4)))).filter(
        lambda a: np.all(np.abs(a) > 1e-3)))  # away from the kink at 0
    slope = data.draw(st.sampled_from([0.01, 0.2, 1.5]))
    layer = nn.LeakyReLU(slope)
    np.testing.assert_allclose(layer(leaf(x)).numpy(), np.where(x > 0, x, slope * x), rtol=1e-15)
    assert tg.gradcheck(layer, [leaf(x)])


def test_leaky_relu_slope_is_pytorchs_by_default():
    layer = nn.LeakyReLU()
    assert layer.negative_slope == 0.01 and repr(layer) == "LeakyReLU(negative_slope=0.01)"
    np.testing.assert_allclose(layer(leaf([-2.0, 3.0])).numpy(), [-0.02, 3.0], rtol=1e-15)


def test_leaky_relu_gradient_at_zero_is_the_slope_as_in_pytorch():
    z = leaf([-1.0, 0.0, 2.0])
    nn.LeakyReLU(0.1)(z).sum().backward()
    np.testing.assert_array_equal(z.grad.numpy(), [0.1, 0.1, 1.0])


@pytest.mark.parametrize("dim", [0, 1, -1])
def test_softmax_and_log_softmax_along_any_dim_match_numpy_and_pass_gradcheck(dim):
    x = rng(dim + 5).normal(size=(3, 4, 2)) * 3
    e = np.exp(x - x.max(axis=dim, keepdims=True))
    expected = e / e.sum(axis=dim, keepdims=True)
    np.testing.assert_allclose(nn.Softmax(dim=dim)(leaf(x)).numpy(), expected, rtol=1e-12)
    np.testing.assert_allclose(nn.LogSoftmax(dim=dim)(leaf(x)).numpy(), np.log(expected), rtol=1e-12, atol=1e-14)
    assert tg.gradcheck(nn.Softmax(dim=dim), [leaf(x)])
    assert tg.gradcheck(nn.LogSoftmax(dim=dim), [leaf(x)])


@pytest.mark.parametrize("layer", [nn.Softmax, nn.LogSoftmax])
def test_softmax_needs_its_dim(layer):
    name = layer.__name__
    with pytest.raises(TypeError, match=rf"^{name}: dim must be an integer, such as {name}\(dim=1\) for outputs of "
                                        r"shape \(examples, classes\); got None$"):
        layer(dim=None)


def test_identity_passes_its_input_and_ignores_arguments():
    x = tg.randn(2, 3, generator=rng())
    assert nn.Identity(54, unused="x")(x) is x


# ------------------------------------------------------------------------------ BatchNorm1d
def batchnorm_reference(batches, momentum=0.1, eps=1e-5, gamma=None, beta=None, axes=(0,)):
    """Outputs in training mode and the running statistics after each batch, by PyTorch's formulas."""
    channels = batches[0].shape[1]
    running_mean, running_var = np.zeros(channels), np.ones(channels)
    outputs = []
    for t, x in enumerate(batches, start=1):
        shape = [1] * x.ndim
        shape[1] = channels
        mean = x.mean(axis=axes, keepdims=True)
        var = x.var(axis=axes, keepdims=True)  # biased, for normalising
        y = (x - mean) / np.sqrt(var + eps)
        if gamma is not None:
            y = y * gamma.reshape(shape) + beta.reshape(shape)
        outputs.append(y)
        n = x.size // channels
        m = 1 / t if momentum is None else momentum
        running_mean = (1 - m) * running_mean + m * mean.reshape(-1)
        running_var = (1 - m) * running_var + m * var.reshape(-1) * n / (n - 1)  # unbiased, for the running average
    return outputs, running_mean, running_var


@pytest.mark.parametrize("shape, axes", [((6, 3), (0,)), ((4, 3, 5), (0, 2))])
@pytest.mark.parametrize("momentum", [0.1, 0.5, None])
def test_batchnorm_training_matches_the_formula_and_keeps_pytorchs_running_statistics(shape, axes, momentum):
    batches = [rng(i).normal(loc=i, scale=1 + i, size=shape) for i in range(4)]
    layer = nn.BatchNorm1d(3, momentum=momentum).double()
    layer.weight.data[...] = [0.5, 2.0, -1.0]
    layer.bias.data[...] = [0.1, -0.3, 2.0]
    outputs, running_mean, running_var = batchnorm_reference(
        batches, momentum, gamma=np.array([0.5, 2.0, -1.0]), beta=np.array([0.1, -0.3, 2.0]), axes=axes)
    for x, expected in zip(batches, outputs):
        np.testing.assert_allclose(layer(tg.Tensor(x)).numpy(), expected, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(layer.running_mean.numpy(), running_mean, rtol=1e-12)
    np.testing.assert_allclose(layer.running_var.numpy(), running_var, rtol=1e-12)
    assert layer.num_batches_tracked.item() == 4

    layer.eval()  # now the running statistics normalise, and nothing is updated
    x = rng(9).normal(size=shape)
    stat_shape = (1, 3) if len(shape) == 2 else (1, 3, 1)
    expected = ((x - running_mean.reshape(stat_shape)) / np.sqrt(running_var.reshape(stat_shape) + 1e-5)
                * np.array([0.5, 2.0, -1.0]).reshape(stat_shape) + np.array([0.1, -0.3, 2.0]).reshape(stat_shape))
    np.testing.assert_allclose(layer(tg.Tensor(x)).numpy(), expected, rtol=1e-10)
    np.testing.assert_allclose(layer.running_mean.numpy(), running_mean, rtol=1e-12)
    assert layer.num_batches_tracked.item() == 4


def test_batchnorm_without_affine_or_running_statistics():
    x = rng().normal(size=(5, 2))
    plain = nn.BatchNorm1d(2, affine=False).double()
    assert list(plain.parameters()) == []
    np.testing.assert_allclose(plain(tg.Tensor(x)).numpy(), (x - x.mean(0)) / np.sqrt(x.var(0) + 1e-5), rtol=1e-10)
    untracked = nn.BatchNorm1d(2, track_running_stats=False).double()
    assert list(untracked.buffers()) == []
    untracked.eval()  # no running statistics to use: the batch's, even in evaluation
    np.testing.assert_allclose(untracked(tg.Tensor(x)).numpy(), (x - x.mean(0)) / np.sqrt(x.var(0) + 1e-5),
                               rtol=1e-10)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_batchnorm_and_layernorm_make_their_parameters_and_statistics_in_the_dtype_asked_for(dtype):
    for layer in (nn.BatchNorm1d(3, dtype=dtype), nn.LayerNorm((2, 3), dtype=dtype)):
        assert {t.dtype for t in layer.parameters()} == {np.dtype(dtype)}
        assert all(t.dtype == dtype for name, t in layer.named_buffers() if name != "num_batches_tracked")
    assert nn.BatchNorm1d(3).weight.dtype == np.float32  # float32 by default


@pytest.mark.parametrize("momentum", [0.0, 1.0])
def test_batchnorm_momentum_at_the_ends_of_its_range(momentum):
    x = rng(4).normal(loc=3, scale=2, size=(5, 3))
    layer = nn.BatchNorm1d(3, momentum=momentum).double()
    layer(tg.Tensor(x))
    if momentum == 0:  # the running statistics never move
        np.testing.assert_array_equal(layer.running_mean.numpy(), np.zeros(3))
        np.testing.assert_array_equal(layer.running_var.numpy(), np.ones(3))
    else:  # they are the last batch's, the variance unbiased
        np.testing.assert_allclose(layer.running_mean.numpy(), x.mean(0), rtol=1e-14)
        np.testing.assert_allclose(layer.running_var.numpy(), x.var(0, ddof=1), rtol=1e-14)


def test_normalisation_layers_refuse_a_zero_eps_and_a_momentum_outside_zero_to_one():
    for make, name in ((nn.BatchNorm1d, "BatchNorm1d"), (nn.LayerNorm, "LayerNorm")):
        with pytest.raises(ValueError, match=f"^{name}: eps must be > 0, got 0.0$"):
            make(3, eps=0.0)
    for momentum in (-0.1, 1.5):
        with pytest.raises(ValueError, match=rf"^BatchNorm1d: momentum must lie in \[0, 1\] or be None, got {momentum}$"):
            nn.BatchNorm1d(3, momentum=momentum)


def test_batchnorm_errors_name_the_shapes():
    with pytest.raises(ValueError, match=r"expected input of shape \(N, 3\) or \(N, 3, L\), got \(4, 2\)"):
        nn.BatchNorm1d(3)(tg.zeros(4, 2))
    with pytest.raises(ValueError, match="more than 1 value per channel when training"):
        nn.BatchNorm1d(3)(tg.zeros(1, 3))
    layer = nn.BatchNorm1d(3).eval()
    assert layer(tg.zeros(1, 3)).shape == (1, 3)  # one example is fine in evaluation


@pytest.mark.parametrize("shape", [(5, 3), (3, 3, 4)])
def test_batchnorm_passes_gradcheck_in_training_and_evaluation(shape):
    layer = nn.BatchNorm1d(3).double()
    layer.weight.data[...] = [0.5, 2.0, -1.0]
    x = leaf(rng(2).normal(size=shape))
    assert tg.gradcheck(lambda x, w, b: layer(x), [x, layer.weight, layer.bias])
    layer.running_mean.data[...], layer.running_var.data[...] = [0.3, -1.0, 2.0], [0.5, 2.0, 1.5]
    layer.eval()
    assert tg.gradcheck(lambda x, w, b: layer(x), [x, layer.weight, layer.bias])


# ------------------------------------------------------------------------------ LayerNorm
@pytest.mark.parametrize("normalized_shape", [4, (3, 4)])
def test_layernorm_matches_the_formula_and_passes_gradcheck(normalized_shape):
    x = rng(1).normal(loc=2, scale=3, size=(2, 3, 4))
    layer = nn.LayerNorm(normalized_shape).double()
    shape = layer.normalized_shape
    layer.weight.data[...] = rng(2).normal(size=shape)
    layer.bias.data[...] = rng(3).normal(size=shape)
    axes = tuple(range(3 - len(shape), 3))
    expected = ((x - x.mean(axis=axes, keepdims=True)) / np.sqrt(x.var(axis=axes, keepdims=True) + 1e-5)
                * layer.weight.numpy() + layer.bias.numpy())
    np.testing.assert_allclose(layer(tg.Tensor(x)).numpy(), expected, rtol=1e-10)
    layer.eval()  # the same in evaluation: each example is normalised on its own
    np.testing.assert_allclose(layer(tg.Tensor(x)).numpy(), expected, rtol=1e-10)
    assert tg.gradcheck(lambda x, w, b: layer(x), [leaf(x), layer.weight, layer.bias])


def test_layernorm_options_and_errors():
    assert list(nn.LayerNorm(3, elementwise_affine=False).parameters()) == []
    assert [name for name, _ in nn.LayerNorm(3, bias=False).named_parameters()] == ["weight"]
    with pytest.raises(ValueError, match=r"last dimensions are \(4,\), got \(2, 3\)"):
        nn.LayerNorm(4)(tg.zeros(2, 3))
    x = np.array([1.0, 2.0, 4.0, 9.0])  # one example without a batch dimension, as PyTorch allows
    np.testing.assert_allclose(nn.LayerNorm(4).double()(tg.Tensor(x)).numpy(), (x - 4.0) / np.sqrt(9.5 + 1e-5),
                               rtol=1e-12)
