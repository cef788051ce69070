"""nn: modules register their parameters, layers and losses have correct gradients, weights save safely."""

from __future__ import annotations

import os
import stat

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


# ------------------------------------------------------------------------------ gradient checks
@pytest.mark.parametrize("activation", [nn.Sigmoid, nn.Tanh])
@given(data=st.data())
def test_a_small_network_and_its_loss_pass_gradcheck(activation, data):
    """Gradients of the lecture's cost with respect to every weight and bias, against finite differences."""
    n, n_in, hidden, n_out = data.draw(st.tuples(*(st.integers(1, 4) for _ in range(4))))
    model = nn.Sequential(nn.Linear(n_in, hidden, dtype=np.float64, generator=np.random.default_rng(0)),
                          activation(), nn.Linear(hidden, n_out, dtype=np.float64, init="normal"), nn.Sigmoid())
    x, y = tg.Tensor(data.draw(f64((n, n_in)))), tg.Tensor(data.draw(f64((n, n_out), 0, 1)))
    reduction = data.draw(st.sampled_from(nn.functional.MSE_REDUCTIONS))
    params = list(model.parameters())
    assert tg.gradcheck(lambda *_: nn.MSELoss(reduction)(model(x), y), params)


@given(data=st.data())
def test_linear_relu_flatten_pass_gradcheck(data):
    n, n_out = data.draw(st.integers(1, 3)), data.draw(st.integers(1, 3))
    x = data.draw(f64((n, 2, 3)).filter(lambda a: np.all(np.abs(a) > 1e-3)))
    model = nn.Sequential(nn.Flatten(), nn.ReLU(), nn.Linear(6, n_out, dtype=np.float64))
    assert tg.gradcheck(model, [leaf(x)])


@given(data=st.data())
def test_cross_entropy_passes_gradcheck_and_matches_numpy(data):
    n, classes = data.draw(st.integers(1, 5)), data.draw(st.integers(2, 5))
    logits = data.draw(f64((n, classes), -5, 5))
    labels = np.array(data.draw(st.lists(st.integers(0, classes - 1), min_size=n, max_size=n)))
    assert tg.gradcheck(lambda z: nn.CrossEntropyLoss()(z, labels), [leaf(logits)])
    log_p = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
    expected = -log_p[np.arange(n), labels].mean()
    assert nn.functional.cross_entropy(leaf(logits), labels).item() == pytest.approx(expected)


@given(data=st.data())
def test_dropout_passes_gradcheck_with_a_fixed_mask(data):
    x = data.draw(f64((data.draw(st.integers(1, 4)), data.draw(st.integers(1, 4)))))
    seed = data.draw(st.integers(0, 2**16))
    # The same generator state at every call, so the finite differences see the same mask as backward.
    dropout = lambda t: nn.Dropout(0.5, generator=np.random.default_rng(seed))(t)
    assert tg.gradcheck(dropout, [leaf(x)])


def test_dropout_keeps_the_expected_value_in_training_and_is_the_identity_in_eval():
    layer, x = nn.Dropout(0.25, generator=np.random.default_rng(0)), tg.ones(400, 500)
    out = layer(x).numpy()
    assert set(np.unique(out)) == {0.0, np.float32(1 / 0.75)}
    assert (out == 0).mean() == pytest.approx(0.25, abs=0.01)
    assert out.mean() == pytest.approx(1.0, abs=0.01)
    layer.eval()
    assert layer(x) is x
    with pytest.raises(ValueError, match=r"Dropout: p must be in \[0, 1\), got 1"):
        nn.Dropout(1)


def test_mse_reductions_follow_their_formulas():
    a, y = np.array([[0.2, 0.9], [0.5, 0.1], [1.0, 0.0]]), np.array([[0.0, 1.0], [1.0, 0.0], [1.0, 0.0]])
    squared = ((y - a) ** 2).sum()
    assert nn.MSELoss()(leaf(a), leaf(y)).item() == pytest.approx(squared / (2 * 3))  # C = 1/(2n) Σ‖y − a‖²
    assert nn.MSELoss("mean")(leaf(a), leaf(y)).item() == pytest.approx(squared / 6)  # PyTorch's
    assert nn.MSELoss("sum")(leaf(a), leaf(y)).item() == pytest.approx(squared)


# ------------------------------------------------------------------------------ the perceptron
def test_step_units_with_quadratic_cost_and_sgd_follow_the_perceptron_rule():
    """One SGD step per example on J = ½‖t − y‖² is exactly w ← w + η(t − y)x, b ← b + η(t − y)."""
    rng = np.random.default_rng(1)
    layer = nn.Linear(4, 3, init="zeros", dtype=np.float64)
    model = nn.Sequential(layer, nn.Step())
    optimizer = nn.optim.SGD(model.parameters(), lr=0.5)
    W, b = np.zeros((3, 4)), np.zeros(3)
    for _ in range(30):
        x, label = rng.normal(size=4), rng.integers(3)
        t = np.eye(3)[label]
        y = (W @ x + b >= 0).astype(float)  # the perceptron, by hand
        W, b = W + 0.5 * np.outer(t - y, x), b + 0.5 * (t - y)

        optimizer.zero_grad()
        nn.MSELoss()(model(tg.Tensor(x[None, :])), tg.Tensor(t[None, :])).backward()
        optimizer.step()
        np.testing.assert_allclose(layer.weight.numpy(), W, atol=1e-12)
        np.testing.assert_allclose(layer.bias.numpy(), b, atol=1e-12)


def test_step_fires_at_its_threshold_and_passes_gradients_straight_through():
    z = leaf([-0.5, 0.0, 0.5])
    y = nn.Step()(z)
    np.testing.assert_array_equal(y.numpy(), [0.0, 1.0, 1.0])
    y.backward(np.array([1.0, 2.0, 3.0]))
    np.testing.assert_array_equal(z.grad.numpy(), [1.0, 2.0, 3.0])


# ------------------------------------------------------------------------------ modules
class TwoLayer(nn.Module):
    def __init__(self):
        super().__init__()
        self.hidden = nn.Linear(3, 4)
        self.out = nn.Sequential(nn.Sigmoid(), nn.Linear(4, 2, bias=False))
        self.scale = nn.Parameter(np.ones(1, dtype=np.float32))
        self.note = "not a parameter"

    def forward(self, x):
        return self.out(self.hidden(x)) * self.scale


def test_parameters_register_themselves_with_dotted_names():
    model = TwoLayer()
    names = [name for name, _ in model.named_parameters()]
    assert names == ["scale", "hidden.weight", "hidden.bias", "out.1.weight"]  # own first, as in PyTorch
    assert len(list(model.parameters())) == 4
    assert [type(m).__name__ for m in model.modules()] == ["TwoLayer", "Linear", "Sequential", "Sigmoid", "Linear"]
    model.hidden = None  # replacing an attribute unregisters it
    assert "hidden.weight" not in dict(model.named_parameters())


def test_sequential_keys_and_shapes_match_pytorch():
    model = nn.Sequential(nn.Linear(784, 30), nn.Sigmoid(), nn.Linear(30, 10))
    assert {k: v.shape for k, v in model.state_dict().items()} == {
        "0.weight": (30, 784), "0.bias": (30,), "2.weight": (10, 30), "2.bias": (10,)}
    assert isinstance(model[0], nn.Linear) and len(model) == 3
    assert "(0): Linear(in_features=784, out_features=30, bias=True)" in repr(model)


def test_inits():
    rng = np.random.default_rng(0)
    pytorch = nn.Linear(100, 50, generator=rng)
    bound = 1 / np.sqrt(100)
    assert np.abs(pytorch.weight.numpy()).max() <= bound and np.abs(pytorch.weight.numpy()).max() > 0.9 * bound
    normal = nn.Linear(100, 50, init="normal", generator=rng)
    assert abs(normal.weight.numpy().std() - 1) < 0.05
    zeros = nn.Linear(100, 50, init="zeros")
    assert not zeros.weight.numpy().any() and not zeros.bias.numpy().any()
    a, b = nn.Linear(5, 5, generator=np.random.default_rng(4)), nn.Linear(5, 5, generator=np.random.default_rng(4))
    np.testing.assert_array_equal(a.weight.numpy(), b.weight.numpy())
    with pytest.raises(ValueError, match=r"Linear: unknown init 'xavier', choose one of \('pytorch', 'normal', "):
        nn.Linear(2, 2, init="xavier")


def test_one_input_gives_pytorchs_bound_of_one():
    layer = nn.Linear(1, 500, generator=np.random.default_rng(2))
    for values in (layer.weight.numpy(), layer.bias.numpy()):  # uniform on [−1/√1, 1/√1]
        assert np.abs(values).max() <= 1.0 and np.abs(values).max() > 0.99


def test_reset_parameters_draws_again_as_asked_and_refuses_an_unknown_init():
    layer = nn.Linear(100, 50, init="zeros")
    layer.reset_parameters(generator=np.random.default_rng(1))  # PyTorch's default again
    fresh = nn.Linear(100, 50, generator=np.random.default_rng(1))
    np.testing.assert_array_equal(layer.weight.numpy(), fresh.weight.numpy())
    layer.reset_parameters("zeros")
    assert not layer.weight.numpy().any() and not layer.bias.numpy().any()
    layer.weight = None  # a parameter taken away: the ones the layer still has are drawn
    layer.reset_parameters(generator=np.random.default_rng(1))
    assert layer.bias.numpy().any() and np.abs(layer.bias.numpy()).max() <= 1 / np.sqrt(100)
    with pytest.raises(ValueError, match="Linear: unknown init 'Normal'"):
        layer.reset_parameters("Normal")  # it used to fall back to PyTorch's init without a word


def test_zero_grad_train_and_eval():
    model = TwoLayer()
    model(tg.ones(2, 3)).sum().backward()
    assert all(p.grad is not None for p in model.parameters())
    model.zero_grad()
    assert all(p.grad is None for p in model.parameters())
    model.eval()
    assert not any(m.training for m in model.modules())
    model.train()
    assert all(m.training for m in model.modules())


def test_state_dict_round_trip_and_errors_name_the_key():
    source, target = TwoLayer(), TwoLayer()
    assert target.load_state_dict(source.state_dict()) == ([], [])
    for (name, a), (_, b) in zip(source.named_parameters(), target.named_parameters()):
        np.testing.assert_array_equal(a.numpy(), b.numpy(), err_msg=name)
    state = source.state_dict()
    with pytest.raises(RuntimeError, match="missing keys \\['scale'\\], unexpected keys \\[\\]"):
        target.load_state_dict({k: v for k, v in state.items() if k != "scale"})
    with pytest.raises(RuntimeError, match="missing keys \\[\\], unexpected keys \\['extra'\\]"):
        target.load_state_dict({**state, "extra": np.zeros(1)})
    with pytest.raises(RuntimeError, match=r"loading state_dict for TwoLayer: size mismatch for 'hidden.bias': "
                                           r"the saved array has shape \(5,\), the model's has shape \(4,\)"):
        target.load_state_dict({**state, "hidden.bias": np.zeros(5)})
    with pytest.raises(RuntimeError, match="'hidden.bias'"):  # shapes are checked even when not strict
        target.load_state_dict({"hidden.bias": np.zeros(5)}, strict=False)
    result = target.load_state_dict({"scale": np.array([7.0]), "extra": np.zeros(1)}, strict=False)
    assert target.scale.item() == 7.0
    assert result.missing_keys == ["hidden.weight", "hidden.bias", "out.1.weight"]
    assert result.unexpected_keys == ["extra"]


def test_a_state_dict_is_a_snapshot_and_tensors_load_too():
    source, target = TwoLayer(), TwoLayer()
    state = source.state_dict()
    before = state["hidden.weight"].copy()
    with tg.no_grad():
        source.hidden.weight += 1.0
    np.testing.assert_array_equal(state["hidden.weight"], before)  # later training leaves it alone
    target.load_state_dict({name: tg.tensor(value) for name, value in state.items()})
    np.testing.assert_array_equal(target.hidden.weight.numpy(), before)


def test_save_and_load_round_trip_without_pickle(tmp_path):
    path = tmp_path / "weights.npz"
    model = TwoLayer()
    model.save(path)
    restored = TwoLayer()
    restored.load(path)
    np.testing.assert_array_equal(restored.hidden.weight.numpy(), model.hidden.weight.numpy())
    with np.load(path, allow_pickle=False) as archive:
        assert sorted(archive.files) == sorted(dict(model.named_parameters()))


def test_a_crash_mid_save_leaves_the_previous_file_intact(tmp_path, monkeypatch):
    path = tmp_path / "weights.npz"
    model = TwoLayer()
    model.save(path)
    before = path.read_bytes()

    def crash(file, **arrays):
        file.write(b"half a file")
        raise OSError("disk full")

    monkeypatch.setattr(np, "savez", crash)
    with pytest.raises(OSError, match="disk full"):
        TwoLayer().save(path)
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["weights.npz"]  # no temporary file left behind


def test_saved_files_get_the_permissions_a_plain_open_would_give(tmp_path):
    TwoLayer().save(tmp_path / "weights.npz")
    with open(tmp_path / "plain", "wb"):
        pass
    assert stat.S_IMODE((tmp_path / "weights.npz").stat().st_mode) == stat.S_IMODE((tmp_path / "plain").stat().st_mode)


# ------------------------------------------------------------------------------ errors
def test_wrong_input_width_names_the_layer_and_both_shapes():
    with pytest.raises(ValueError, match=r"Linear\(in_features=784, out_features=30.*784.*\(10, 100\)"):
        nn.Linear(784, 30)(tg.ones(10, 100))


def test_losses_reject_mismatched_shapes():
    with pytest.raises(ValueError, match=r"prediction shape \(4, 10\) and target shape \(4,\)"):
        nn.MSELoss()(tg.ones(4, 10), tg.ones(4))
    with pytest.raises(ValueError, match="labels of shape"):
        nn.CrossEntropyLoss()(tg.ones(4, 10), np.zeros(3, dtype=np.int64))
    with pytest.raises(ValueError, match="must lie in"):
        nn.CrossEntropyLoss()(tg.ones(2, 10), np.array([0, 10]))


def test_a_nan_loss_is_reported_not_trained_on():
    with pytest.raises(FloatingPointError, match="mse_loss is nan"):
        nn.MSELoss()(tg.tensor([[float("nan")]]), tg.tensor([[1.0]]))


def test_one_hot_targets():
    t = nn.one_hot(np.array([2, 0]), 3)
    np.testing.assert_array_equal(t.numpy(), [[0, 0, 1], [1, 0, 0]])
    assert t.dtype == np.int64  # as PyTorch's; the losses take integer targets as the prediction's float type
    assert nn.one_hot(np.array([2, 0]), 3, dtype=np.float32).dtype == np.float32
    with pytest.raises(TypeError, match="integers"):
        nn.one_hot(np.array([0.5]), 3)
