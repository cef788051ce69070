"""Optimizers: whole trajectories against their formulas written out in NumPy, groups, saving, and clear errors."""

from __future__ import annotations

import inspect
import re

import numpy as np
import pytest

import nn
import tinygrad_edu as tg

STEPS = 40
W0 = np.random.default_rng(9).normal(size=(3, 2))
CURVATURE = np.random.default_rng(8).uniform(0.2, 2.0, size=(3, 2))
NOISE = np.random.default_rng(7).normal(size=(STEPS, 3, 2))


def gradient(w, t):
    """∂C/∂w of a noisy quadratic bowl: depends on w, so a wrong step changes every later gradient."""
    return CURVATURE * w + 0.3 * NOISE[t]


def run(make, steps=STEPS, w0=W0):
    """Optimize one float64 parameter for ``steps`` steps; the weights after every step."""
    w = nn.Parameter(w0.copy())
    optimizer = make([w])
    history = []
    for t in range(steps):
        optimizer.zero_grad()
        w.grad = tg.Tensor(gradient(w.numpy(), t))
        optimizer.step()
        history.append(w.numpy().copy())
    return np.array(history)


def reference(update, steps=STEPS, w0=W0):
    """The same loop, with ``update(w, g, state, t)`` written out in NumPy returning the new w."""
    w, state, history = w0.copy(), {}, []
    for t in range(steps):
        w = update(w, gradient(w, t), state, t + 1)
        history.append(w)
    return np.array(history)


# ----------------------------------------------------------------------- formulas, step by step
def sgd(lr, momentum=0.0, dampening=0.0, weight_decay=0.0, nesterov=False, maximize=False):
    def update(w, g, state, t):
        g = -g if maximize else g
        g = g + weight_decay * w
        if momentum:
            state["v"] = g if t == 1 else momentum * state["v"] + (1 - dampening) * g
            g = g + momentum * state["v"] if nesterov else state["v"]
        return w - lr * g
    return update


def adam(lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, amsgrad=False, maximize=False, decoupled=False):
    def update(w, g, state, t):
        g = -g if maximize else g
        if decoupled:
            w = w * (1 - lr * weight_decay)
        else:
            g = g + weight_decay * w
        state["m"] = betas[0] * state.get("m", 0) + (1 - betas[0]) * g
        state["v"] = betas[1] * state.get("v", 0) + (1 - betas[1]) * g * g
        v = state["v"]
        if amsgrad:
            v = state["v_max"] = np.maximum(state.get("v_max", 0), v)
        m_hat, v_hat = state["m"] / (1 - betas[0] ** t), v / (1 - betas[1] ** t)
        return w - lr * m_hat / (np.sqrt(v_hat) + eps)
    return update


def rmsprop(lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0.0, momentum=0.0, centered=False, maximize=False):
    def update(w, g, state, t):
        g = -g if maximize else g
        g = g + weight_decay * w
        state["s"] = alpha * state.get("s", 0) + (1 - alpha) * g * g
        s = state["s"]
        if centered:
            state["gbar"] = alpha * state.get("gbar", 0) + (1 - alpha) * g
            s = s - state["gbar"] ** 2
        step = g / (np.sqrt(s) + eps)
        if momentum:
            state["b"] = momentum * state.get("b", 0) + step
            step = state["b"]
        return w - lr * step
    return update


def adagrad(lr=1e-2, lr_decay=0.0, weight_decay=0.0, initial_accumulator_value=0.0, eps=1e-10, maximize=False):
    def update(w, g, state, t):
        g = -g if maximize else g
        g = g + weight_decay * w
        state["s"] = state.get("s", initial_accumulator_value) + g * g
        return w - lr / (1 + (t - 1) * lr_decay) * g / (np.sqrt(state["s"]) + eps)
    return update


CASES = [
    (nn.optim.SGD, dict(lr=0.1), sgd),
    (nn.optim.SGD, dict(lr=0.1, momentum=0.9), sgd),
    (nn.optim.SGD, dict(lr=0.1, momentum=0.9, nesterov=True), sgd),
    (nn.optim.SGD, dict(lr=0.05, momentum=0.5, dampening=0.3, weight_decay=0.01), sgd),
    (nn.optim.SGD, dict(lr=0.01, momentum=0.8, maximize=True), sgd),
    (nn.optim.Adam, dict(lr=0.01, betas=(0.8, 0.99), eps=1e-6), adam),
    (nn.optim.Adam, dict(lr=0.01, weight_decay=0.1, amsgrad=True), adam),
    (nn.optim.Adam, dict(lr=0.02, maximize=True), adam),
    (nn.optim.AdamW, dict(lr=0.01, weight_decay=0.1), lambda **kw: adam(decoupled=True, **kw)),
    (nn.optim.AdamW, dict(lr=0.01, amsgrad=True), lambda **kw: adam(decoupled=True, weight_decay=1e-2, **kw)),
    (nn.optim.AdamW, dict(lr=0.01, weight_decay=0.05, maximize=True), lambda **kw: adam(decoupled=True, **kw)),
    (nn.optim.RMSprop, dict(lr=0.01), rmsprop),
    (nn.optim.RMSprop, dict(lr=0.01, alpha=0.9, momentum=0.5, weight_decay=0.05), rmsprop),
    (nn.optim.RMSprop, dict(lr=0.005, momentum=0.3, centered=True, eps=1e-6), rmsprop),
    (nn.optim.Adagrad, dict(lr=0.1), adagrad),
    (nn.optim.Adagrad, dict(lr=0.1, lr_decay=0.05, weight_decay=0.01, initial_accumulator_value=0.5), adagrad),
]


@pytest.mark.parametrize("optimizer, settings, formula", CASES,
                         ids=[f"{o.__name__}-{'-'.join(s)}" for o, s, _ in CASES])
def test_trajectory_follows_pytorchs_formula(optimizer, settings, formula):
    ours = run(lambda p: optimizer(p, **settings))
    np.testing.assert_allclose(ours, reference(formula(**settings)), rtol=1e-10, atol=1e-13)
    assert np.abs(ours[-1] - W0).max() > 1e-3  # it did move


STATE_CASES = [  # an optimizer, and which of the formulas' buffers each of its (PyTorch-named) state entries is
    (nn.optim.SGD, dict(lr=0.1, momentum=0.9, dampening=0.3), sgd, {"momentum_buffer": "v"}),
    (nn.optim.Adam, dict(lr=0.01, amsgrad=True), adam, {"exp_avg": "m", "exp_avg_sq": "v", "max_exp_avg_sq": "v_max"}),
    (nn.optim.AdamW, dict(lr=0.01), lambda **kw: adam(decoupled=True, weight_decay=1e-2, **kw),
     {"exp_avg": "m", "exp_avg_sq": "v"}),
    (nn.optim.RMSprop, dict(lr=0.01, momentum=0.5, centered=True), rmsprop,
     {"square_avg": "s", "grad_avg": "gbar", "momentum_buffer": "b"}),
    (nn.optim.Adagrad, dict(lr=0.1, initial_accumulator_value=0.5), adagrad, {"sum": "s"}),
]


@pytest.mark.parametrize("optimizer, settings, formula, names", STATE_CASES,
                         ids=[o.__name__ for o, *_ in STATE_CASES])
def test_state_holds_the_formulas_buffers_and_counts_the_steps(optimizer, settings, formula, names):
    made = []
    run(lambda p: made.append(optimizer(p, **settings)) or made[-1])
    (state,) = made[0].state.values()
    expected = {}
    reference(lambda w, g, s, t: formula(**settings)(w, g, expected, t))
    assert set(state) == set(names) | ({"step"} if optimizer is not nn.optim.SGD else set())
    for ours, theirs in names.items():
        np.testing.assert_allclose(state[ours], expected[theirs], rtol=1e-10, atol=1e-13, err_msg=ours)
    assert state.get("step", STEPS) == STEPS


def test_state_matches_pytorchs():
    torch = pytest.importorskip("torch")
    for optimizer, settings, *_ in STATE_CASES:
        ours, theirs = nn.Parameter(W0.copy()), torch.tensor(W0.copy(), requires_grad=True)
        ours_opt = optimizer([ours], **settings)
        theirs_opt = getattr(torch.optim, optimizer.__name__)([theirs], **settings)
        for t in range(5):
            ours.grad = tg.Tensor(gradient(ours.numpy(), t))
            theirs.grad = torch.tensor(gradient(theirs.detach().numpy(), t))
            ours_opt.step()
            theirs_opt.step()
        ours_state, theirs_state = ours_opt.state_dict()["state"][0], theirs_opt.state_dict()["state"][0]
        assert set(ours_state) == set(theirs_state), optimizer.__name__
        for key, value in ours_state.items():
            np.testing.assert_allclose(value, np.asarray(theirs_state[key]), rtol=1e-10, atol=1e-13,
                                       err_msg=f"{optimizer.__name__} {key}")


def test_parameter_groups_have_their_own_hyperparameters():
    a, b = nn.Parameter(W0.copy()), nn.Parameter(W0[:2].copy())
    optimizer = nn.optim.SGD([{"params": [a]}, {"params": b, "lr": 0.5, "momentum": 0.0}], lr=0.1, momentum=0.9)
    assert optimizer.defaults["lr"] == 0.1 and optimizer.param_groups[1]["momentum"] == 0.0
    assert optimizer.param_groups[1]["nesterov"] is False  # filled from the defaults
    alone_a, alone_b = nn.Parameter(W0.copy()), nn.Parameter(W0[:2].copy())
    references = [nn.optim.SGD([alone_a], lr=0.1, momentum=0.9), nn.optim.SGD([alone_b], lr=0.5)]
    for t in range(STEPS):
        for p in (a, b, alone_a, alone_b):
            p.grad = tg.Tensor(gradient(np.resize(p.numpy(), (3, 2)), t)[: len(p.numpy())])
        optimizer.step()
        for r in references:
            r.step()
    np.testing.assert_array_equal(a.numpy(), alone_a.numpy())
    np.testing.assert_array_equal(b.numpy(), alone_b.numpy())


def test_add_param_group_and_its_checks():
    a, b = nn.Parameter(np.ones(2)), nn.Parameter(np.ones(3))
    optimizer = nn.optim.Adam([a], lr=0.1)
    optimizer.add_param_group({"params": [b], "betas": (0.5, 0.6)})
    assert optimizer.param_groups[1]["lr"] == 0.1 and optimizer.param_groups[1]["betas"] == (0.5, 0.6)
    with pytest.raises(ValueError, match="more than once"):
        optimizer.add_param_group({"params": [a]})
    with pytest.raises(TypeError, match="not as a set"):
        optimizer.add_param_group({"params": {nn.Parameter(np.ones(1))}})
    with pytest.raises(ValueError, match="betas must be two numbers in \\[0, 1\\)"):
        optimizer.add_param_group({"params": [nn.Parameter(np.ones(1))], "betas": (0.9, 1.0)})
    with pytest.raises(ValueError, match="leaf tensors"):
        nn.optim.SGD([a * 2], lr=0.1)


def test_zero_grad_sets_to_none_or_zeroes_in_place():
    w = nn.Parameter(np.ones(3))
    optimizer = nn.optim.SGD([w], lr=0.1)
    w.grad = tg.Tensor(np.array([1.0, 2.0, 3.0]))
    grad = w.grad
    optimizer.zero_grad(set_to_none=False)
    assert w.grad is grad and not grad.numpy().any()
    optimizer.zero_grad()
    assert w.grad is None


def test_zero_grad_without_set_to_none_leaves_missing_gradients_missing():
    a, b = nn.Parameter(np.ones(2)), nn.Parameter(np.ones(2))
    a.grad = tg.Tensor(np.array([1.0, 2.0]))
    nn.optim.SGD([a, b], lr=0.1).zero_grad(set_to_none=False)
    assert b.grad is None and not a.grad.numpy().any()


def test_step_calls_the_closure_and_returns_its_loss():
    w = nn.Parameter(np.array([3.0]))
    optimizer = nn.optim.SGD([w], lr=0.25)

    def closure():
        optimizer.zero_grad()
        loss = (w * w).sum()
        loss.backward()
        return loss

    loss = optimizer.step(closure)
    assert loss.item() == 9.0 and w.item() == 3.0 - 0.25 * 6.0
    assert optimizer.step() is None


def test_parameters_without_gradient_are_left_alone_and_grads_are_not_written():
    a, b = nn.Parameter(np.ones(2)), nn.Parameter(np.ones(2))
    grad = np.array([1.0, 2.0])
    a.grad = tg.Tensor(grad)
    optimizer = nn.optim.SGD([a, b], lr=0.5, momentum=0.9, weight_decay=0.1)
    optimizer.step()
    np.testing.assert_allclose(a.numpy(), 1 - 0.5 * (grad + 0.1))
    np.testing.assert_array_equal(b.numpy(), [1.0, 1.0])
    np.testing.assert_array_equal(grad, [1.0, 2.0])  # the gradient array itself is untouched
    assert b not in optimizer.state



class _NewArray(nn.optim.Optimizer):
    """A student's optimizer whose update returns a new array (step() writes it into the parameter)."""

    def __init__(self, params, lr=0.1):
        super().__init__(params, dict(lr=lr))

    def update(self, w, grad, state, group):
        return w - group["lr"] * grad


@pytest.mark.parametrize("make", [
    lambda p: nn.optim.SGD(p, lr=0.1), lambda p: nn.optim.SGD(p, lr=0.1, momentum=0.9),
    lambda p: nn.optim.Adam(p), lambda p: nn.optim.AdamW(p), lambda p: nn.optim.RMSprop(p),
    lambda p: nn.optim.Adagrad(p), _NewArray])
def test_a_graph_recorded_before_a_step_refuses_backward_after_it_as_in_pytorch(make):
    """step() changes the weights in place, so it raises their version, as PyTorch's update does: the
    graph of a loss computed before the step kept the old weights, and differentiating it after the step
    would mix them with the new ones. Its backward is refused, naming the op; a parameter left alone
    (no gradient) keeps its version, and a graph recorded after the step differentiates as usual."""
    layer, unused = nn.Linear(3, 2, generator=np.random.default_rng(0)), nn.Parameter(np.ones(2, dtype=np.float32))
    optimizer = make([*layer.parameters(), unused])
    x = tg.randn(4, 3, generator=np.random.default_rng(1))
    layer(x).sum().backward()
    before_step = (layer(x) * layer(x)).sum()
    optimizer.step()
    assert layer.weight._version == layer.bias._version == 1 and unused._version == 0
    with pytest.raises(RuntimeError, match=r"^LinearFn\.backward needs a value that was changed by an in-place "
                                           r"operation after LinearFn ran \(its input 1, version 0, now 1\)"):
        before_step.backward()
    optimizer.zero_grad()
    layer(x).sum().backward()  # recorded after the step: no complaint
    np.testing.assert_allclose(layer.weight.grad.numpy(), np.tile(x.numpy().sum(axis=0), (2, 1)), rtol=1e-6)

# ----------------------------------------------------------------------- saving and resuming
RESUMABLE = [
    lambda p: nn.optim.SGD(p, lr=0.1, momentum=0.9, nesterov=True),
    lambda p: nn.optim.Adam(p, lr=0.01, betas=(0.8, 0.95), amsgrad=True),
    lambda p: nn.optim.AdamW(p, lr=0.01),
    lambda p: nn.optim.RMSprop(p, lr=0.01, momentum=0.5, centered=True),
    lambda p: nn.optim.Adagrad(p, lr=0.1, lr_decay=0.01),
]


@pytest.mark.parametrize("through_file", [False, True])
@pytest.mark.parametrize("make", RESUMABLE)
def test_state_dict_resumes_exactly(make, through_file, tmp_path):
    """17 steps, save, a new optimizer loads, 23 more == 40 steps without stopping, bit for bit."""
    straight = run(make)[-1]
    w = nn.Parameter(W0.copy())
    first = make([w])
    for t in range(17):
        w.grad = tg.Tensor(gradient(w.numpy(), t))
        first.step()
    saved = first.state_dict()
    if through_file:  # as a checkpoint holds it: plain arrays, no pickle
        np.savez(tmp_path / "optim.npz", **nn.utils.flatten_state_dict(saved))
        with np.load(tmp_path / "optim.npz", allow_pickle=False) as archive:
            saved = nn.utils.unflatten_state_dict({k: archive[k] for k in archive.files})
    second = make([w])
    second.load_state_dict(saved)
    assert second.param_groups[0].keys() == first.param_groups[0].keys()
    for key, value in first.param_groups[0].items():
        if key != "params":
            assert second.param_groups[0][key] == value and type(second.param_groups[0][key]) is type(value), key
    for t in range(17, STEPS):
        w.grad = tg.Tensor(gradient(w.numpy(), t))
        second.step()
    np.testing.assert_array_equal(w.numpy(), straight)


def test_state_dict_has_pytorchs_layout_and_keeps_groups_and_tuples():
    a, b = nn.Parameter(np.ones(2)), nn.Parameter(np.ones(3))
    optimizer = nn.optim.Adam([{"params": [a]}, {"params": [b], "lr": 0.5, "betas": (0.5, 0.6)}], lr=0.1)
    b.grad = tg.Tensor(np.ones(3))
    optimizer.step()
    state = optimizer.state_dict()
    assert state["param_groups"] == [
        {"lr": 0.1, "betas": (0.9, 0.999), "eps": 1e-8, "weight_decay": 0.0, "amsgrad": False, "maximize": False,
         "params": [0]},
        {"lr": 0.5, "betas": (0.5, 0.6), "eps": 1e-8, "weight_decay": 0.0, "amsgrad": False, "maximize": False,
         "params": [1]}]
    assert list(state["state"]) == [1] and sorted(state["state"][1]) == ["exp_avg", "exp_avg_sq", "step"]
    assert state["state"][1]["step"] == 1 and type(state["state"][1]["step"]) is int  # numbers stay numbers
    state["state"][1]["exp_avg"][...] = 99  # a copy: changing it does not reach the optimizer
    assert optimizer.state[b]["exp_avg"][0] != 99

    flat = nn.utils.flatten_state_dict(optimizer.state_dict())
    assert sorted(flat) == sorted(
        [f"param_groups[{i}].{k}" for i in range(2) for k in ("lr", "betas", "eps", "weight_decay", "amsgrad",
                                                              "maximize", "params")]
        + ["state.1.exp_avg", "state.1.exp_avg_sq", "state.1.step"])
    assert all(isinstance(v, np.ndarray) for v in flat.values())

    fresh = nn.optim.Adam([{"params": [a]}, {"params": [b]}], lr=0.1)
    fresh.load_state_dict(nn.utils.unflatten_state_dict(flat))
    assert fresh.param_groups[1]["betas"] == (0.5, 0.6) and fresh.param_groups[1]["lr"] == 0.5
    assert isinstance(fresh.param_groups[1]["betas"], tuple) and fresh.state[b]["step"] == 1


def test_loaded_state_takes_each_parameters_dtype_as_in_pytorch():
    """Buffers saved from a float64 run, loaded for float32 weights, become float32 (and the other way)."""
    for saved_dtype, dtype in ((np.float64, np.float32), (np.float32, np.float64)):
        w = nn.Parameter(np.ones((3, 2), dtype=saved_dtype))
        saved_from = nn.optim.Adam([w], lr=0.1)
        w.grad = tg.Tensor(np.full((3, 2), 0.5, dtype=saved_dtype))
        saved_from.step()
        v = nn.Parameter(np.ones((3, 2), dtype=dtype))
        optimizer = nn.optim.Adam([v], lr=0.1)
        optimizer.load_state_dict(saved_from.state_dict())
        for key in ("exp_avg", "exp_avg_sq"):
            assert optimizer.state[v][key].dtype == dtype, key
            np.testing.assert_allclose(optimizer.state[v][key], saved_from.state[w][key], rtol=1e-6)


def test_loaded_state_dtype_matches_pytorch():
    torch = pytest.importorskip("torch")
    w = torch.nn.Parameter(torch.ones(3, dtype=torch.float64))
    saved_from = torch.optim.Adam([w], lr=0.1)
    w.grad = torch.full((3,), 0.5, dtype=torch.float64)
    saved_from.step()
    theirs = torch.optim.Adam([torch.nn.Parameter(torch.ones(3, dtype=torch.float32))], lr=0.1)
    theirs.load_state_dict(saved_from.state_dict())
    ours = nn.optim.Adam([nn.Parameter(np.ones(3, dtype=np.float32))], lr=0.1)
    ours.load_state_dict({"param_groups": saved_from.state_dict()["param_groups"],
                          "state": {0: {k: np.asarray(v) for k, v in saved_from.state_dict()["state"][0].items()}}})
    (theirs_state,), (ours_state,) = theirs.state.values(), ours.state.values()
    for key in ("exp_avg", "exp_avg_sq"):
        assert str(theirs_state[key].dtype) == "torch." + str(ours_state[key].dtype), key


def test_a_one_parameter_groups_index_may_be_a_single_number_as_npz_stores_a_scalar():
    w = nn.Parameter(np.ones(2))
    saved = nn.optim.SGD([w], lr=0.1, momentum=0.9).state_dict()
    optimizer = nn.optim.SGD([w], lr=0.5, momentum=0.5)
    optimizer.load_state_dict({**saved, "param_groups": [{**saved["param_groups"][0], "params": np.array(0)}]})
    assert optimizer.param_groups[0]["lr"] == 0.1 and optimizer.param_groups[0]["params"] == [w]


def test_a_state_dict_without_buffers_loads_the_hyperparameters():
    w = nn.Parameter(np.ones(2))
    optimizer = nn.optim.SGD([w], lr=0.5, momentum=0.5)
    optimizer.load_state_dict({"param_groups": nn.optim.SGD([w], lr=0.1, momentum=0.9).state_dict()["param_groups"]})
    assert optimizer.param_groups[0]["lr"] == 0.1 and optimizer.param_groups[0]["momentum"] == 0.9
    assert optimizer.state == {}


def test_a_students_optimizer_may_hold_any_hyperparameter_and_only_nan_is_refused():
    for value in ("linear", (1, 2), [0.5], None, True, -3, float("inf")):
        optimizer = Student([nn.Parameter(np.ones(1))], beta=value)
        assert optimizer.param_groups[0]["beta"] == value
    with pytest.raises(ValueError, match="^Student: beta is NaN$"):
        Student([nn.Parameter(np.ones(1))], beta=np.float32("nan"))


def test_each_parameters_state_loads_back_to_that_parameter():
    """Several parameters in a group, several groups: state is matched by position, through a file's arrays."""
    shapes = [(3, 2), (4,), (2, 2, 2)]
    first = [nn.Parameter(np.ones(shape)) for shape in shapes]
    optimizer = nn.optim.RMSprop([{"params": first[:2]}, {"params": first[2:], "lr": 0.5}], lr=0.1, momentum=0.5)
    for t, p in enumerate(first):
        p.grad = tg.Tensor(np.full(p.shape, t + 1.0))
    optimizer.step()
    saved = nn.utils.unflatten_state_dict(nn.utils.flatten_state_dict(optimizer.state_dict()))
    second = [nn.Parameter(np.ones(shape)) for shape in shapes]
    resumed = nn.optim.RMSprop([{"params": second[:2]}, {"params": second[2:]}], lr=0.1, momentum=0.5)
    resumed.load_state_dict(saved)
    assert [g["lr"] for g in resumed.param_groups] == [0.1, 0.5]
    for p, q in zip(first, second):
        assert resumed.state[q].keys() == optimizer.state[p].keys()
        for key, value in optimizer.state[p].items():
            np.testing.assert_array_equal(resumed.state[q][key], value)


def test_load_state_dict_errors_name_the_problem_and_change_nothing():
    w = nn.Parameter(np.ones((3, 2)))
    optimizer = nn.optim.Adam([w], lr=0.01)
    w.grad = tg.Tensor(np.ones((3, 2)))
    optimizer.step()
    state = optimizer.state_dict()
    target = nn.optim.Adam([nn.Parameter(np.ones((3, 2)))], lr=0.5)
    bad_shape = {**state, "state": {0: {**state["state"][0], "exp_avg": np.zeros(4)}}}
    with pytest.raises(ValueError, match=r"state entry 0.exp_avg has shape \(4,\), but parameter 0 has shape \(3, 2\)"):
        target.load_state_dict(bad_shape)
    with pytest.raises(ValueError, match="lacks \\['lr'\\]"):
        target.load_state_dict({**state, "param_groups": [{k: v for k, v in state["param_groups"][0].items()
                                                            if k != "lr"}]})
    with pytest.raises(ValueError, match="lr must be a finite number ≥ 0, got -1.0"):
        target.load_state_dict({**state, "param_groups": [{**state["param_groups"][0], "lr": -1.0}]})
    with pytest.raises(ValueError, match="2 parameter groups, this optimizer has 1"):
        target.load_state_dict({**state, "param_groups": state["param_groups"] * 2})
    with pytest.raises(ValueError, match="group 0 has 2 parameters, this optimizer's has 1"):
        target.load_state_dict({**state, "param_groups": [{**state["param_groups"][0], "params": [0, 1]}]})
    with pytest.raises(ValueError, match="not an optimizer state dict"):
        target.load_state_dict({"lr": 0.1})
    assert target.param_groups[0]["lr"] == 0.5 and target.state == {}  # nothing was half loaded


# ----------------------------------------------------------------------- clear errors
BAD_SETTINGS = [
    (lambda p: nn.optim.SGD(p, lr=-1), "SGD: lr must be a finite number ≥ 0, got -1"),
    (lambda p: nn.optim.SGD(p, lr=float("nan")), "lr must be a finite number ≥ 0, got nan"),
    (lambda p: nn.optim.Adam(p, lr=float("inf")), "lr must be a finite number ≥ 0, got inf"),
    (lambda p: nn.optim.SGD(p, lr=0.1, momentum=-0.5), r"momentum must be a number in \[0, 1\)"),
    (lambda p: nn.optim.SGD(p, lr=0.1, momentum=1.0), r"momentum must be a number in \[0, 1\)"),
    (lambda p: nn.optim.RMSprop(p, momentum=float("nan")), r"momentum must be a number in \[0, 1\)"),
    (lambda p: nn.optim.SGD(p, lr=0.1, weight_decay=-1), "weight_decay must be"),
    (lambda p: nn.optim.SGD(p, lr=0.1, nesterov=True), "nesterov=True needs momentum > 0 and dampening = 0"),
    (lambda p: nn.optim.Adam(p, betas=(1.0, 0.9)), "betas must be two numbers in \\[0, 1\\)"),
    (lambda p: nn.optim.AdamW(p, betas=(0.9, -0.1)), "betas must be two numbers in \\[0, 1\\)"),
    (lambda p: nn.optim.Adam(p, eps=0.0), "eps must be a finite number > 0, got 0.0"),
    (lambda p: nn.optim.Adagrad(p, eps=-1e-10), "eps must be a finite number > 0"),
    (lambda p: nn.optim.RMSprop(p, alpha=-0.1), "alpha must be"),
    (lambda p: nn.optim.Adagrad(p, lr_decay=-0.1), "lr_decay must be"),
    (lambda p: nn.optim.SGD([], lr=0.1), "empty"),
]


@pytest.mark.parametrize("make, message", BAD_SETTINGS)
def test_bad_settings_are_value_errors_naming_the_setting(make, message):
    with pytest.raises(ValueError, match=message):
        make([nn.Parameter(np.ones(1))])


@pytest.mark.parametrize("optimizer", [nn.optim.SGD, nn.optim.RMSprop])
def test_momentum_true_is_refused_as_a_momentum_of_one(optimizer):
    """True is the number 1 to Python (and to PyTorch); a momentum of 1 never lets the velocity decay."""
    with pytest.raises(ValueError, match=re.escape(f"{optimizer.__name__}: momentum must be a number in [0, 1), got True")):
        optimizer([nn.Parameter(np.ones(1))], lr=0.1, momentum=True)
    assert optimizer([nn.Parameter(np.ones(1))], lr=0.1, momentum=False).param_groups[0]["momentum"] is False


def test_there_is_no_single_lr_to_set_silently():
    optimizer = nn.optim.SGD([nn.Parameter(np.ones(1))], lr=0.1)
    with pytest.raises(AttributeError, match=r"param_groups\[i\]\['lr'\]"):
        optimizer.lr = 0.01
    with pytest.raises(AttributeError, match="lr_scheduler"):
        optimizer.lr


def test_repr_lists_every_group_and_its_hyperparameters_as_pytorch_does():
    optimizer = nn.optim.Adam([{"params": [nn.Parameter(np.ones(2))]},
                               {"params": [nn.Parameter(np.ones(3))], "lr": 0.5, "betas": (0.5, 0.6)}], lr=0.1)
    group = ["    amsgrad: False", "    betas: {betas}", "    eps: 1e-08", "    lr: {lr}", "    maximize: False",
             "    weight_decay: 0.0"]
    expected = ["Adam (", "Parameter Group 0", *[line.format(betas=(0.9, 0.999), lr=0.1) for line in group],
                "Parameter Group 1", *[line.format(betas=(0.5, 0.6), lr=0.5) for line in group], ")"]
    assert repr(optimizer) == "\n".join(expected)


def test_repr_matches_pytorchs_lines():
    torch = pytest.importorskip("torch")
    settings = dict(lr=0.1, momentum=0.9, dampening=0.0, weight_decay=0.0, nesterov=True, maximize=False)
    ours = repr(nn.optim.SGD([nn.Parameter(np.ones(2))], **settings)).splitlines()
    theirs = repr(torch.optim.SGD([torch.nn.Parameter(torch.ones(2))], **settings)).splitlines()
    # PyTorch's groups hold a few more settings (foreach, fused, ...): ours are a subset, in the same order
    assert ours[:2] == theirs[:2] == ["SGD (", "Parameter Group 0"] and ours[-1] == theirs[-1] == ")"
    assert [line for line in theirs if line in ours] == ours


# PyTorch's documented defaults (torch.optim's pages): a student who leaves a setting out gets what PyTorch gives
DOCUMENTED_DEFAULTS = {
    "SGD": dict(lr=1e-3, momentum=0, dampening=0, weight_decay=0, nesterov=False, maximize=False),
    "Adam": dict(lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, amsgrad=False, maximize=False),
    "AdamW": dict(lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2, amsgrad=False, maximize=False),
    "RMSprop": dict(lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0, momentum=0, centered=False, maximize=False),
    "Adagrad": dict(lr=1e-2, lr_decay=0, weight_decay=0, initial_accumulator_value=0, eps=1e-10, maximize=False),
}


@pytest.mark.parametrize("name", DOCUMENTED_DEFAULTS)
def test_default_hyperparameters_are_pytorchs_documented_ones(name):
    optimizer = getattr(nn.optim, name)([nn.Parameter(np.ones(2))])
    group = {k: v for k, v in optimizer.param_groups[0].items() if k != "params"}
    assert group == optimizer.defaults == DOCUMENTED_DEFAULTS[name]


@pytest.mark.parametrize("name", DOCUMENTED_DEFAULTS)
def test_default_hyperparameters_are_pytorchs_own(name):
    torch = pytest.importorskip("torch")
    ours = inspect.signature(getattr(nn.optim, name)).parameters
    theirs = inspect.signature(getattr(torch.optim, name)).parameters
    for key, parameter in ours.items():
        assert key in theirs, key
        assert parameter.default == theirs[key].default, key


class Student(nn.optim.Optimizer):
    """A student's optimizer with a hyperparameter of its own."""

    def __init__(self, params, lr=0.1, beta=0.5):
        super().__init__(params, dict(lr=lr, beta=beta))

    def update(self, w, grad, state, group):
        return w - group["lr"] * grad


class Flagged(Student):
    """A student's optimizer whose first hyperparameter is a flag: the ones after it are checked all the same."""

    def __init__(self, params, lr=0.1):
        nn.optim.Optimizer.__init__(self, params, dict(sign=True, lr=lr))


def saved_sgd_state():
    w = nn.Parameter(np.ones((3, 2)))
    optimizer = nn.optim.SGD([w], lr=0.1, momentum=0.9)
    w.grad = tg.Tensor(np.ones((3, 2)))
    optimizer.step()
    return optimizer.state_dict()


def load_into_sgd(change):
    """Load a changed copy of a saved SGD state into a fresh SGD (one (3, 2) parameter, momentum)."""
    saved = saved_sgd_state()
    group = dict(saved["param_groups"][0])
    nn.optim.SGD([nn.Parameter(np.ones((3, 2)))], lr=0.5, momentum=0.5).load_state_dict(change(saved, group))


def add_group(group):
    nn.optim.SGD([nn.Parameter(np.ones(1))], lr=0.1).add_param_group(group)


def get_lr():
    return nn.optim.SGD([nn.Parameter(np.ones(1))], lr=0.1).lr


def set_lr():
    nn.optim.SGD([nn.Parameter(np.ones(1))], lr=0.1).lr = 0.01


ERRORS = [  # what a student does, the error, its whole message
    (lambda: Student([nn.Parameter(np.ones(1))], beta=float("nan")), ValueError, "Student: beta is NaN"),
    (lambda: nn.optim.SGD(nn.Parameter(np.ones(1)), lr=0.1), TypeError,
     "SGD: params must be an iterable of tensors (e.g. model.parameters()), got a single Tensor; pass [tensor]"),
    (lambda: nn.optim.Adam([]), ValueError, "Adam got an empty parameter list"),
    (lambda: add_group({"lr": 0.1}), TypeError, "SGD: a parameter group is a dict with a 'params' list, got {'lr': 0.1}"),
    (lambda: add_group("params"), TypeError, "SGD: a parameter group is a dict with a 'params' list, got 'params'"),
    (lambda: add_group({"params": {nn.Parameter(np.ones(1))}}), TypeError,
     "parameters must be given in an order (a list), not as a set, so that saved state finds its parameter again"),
    (lambda: nn.optim.RMSprop([np.ones(2)]), TypeError, "RMSprop can only optimize Tensors, got ndarray"),
    (lambda: nn.optim.Adagrad([nn.Parameter(np.ones(1)) * 2]), ValueError,
     "Adagrad can only optimize leaf tensors (made by you, not by an op)"),
    (lambda: nn.optim.SGD([nn.Parameter(np.ones(1))] * 2, lr=0.1), ValueError,
     "some parameters appear more than once (in one group or in several)"),
    (lambda: nn.optim.Adam([nn.Parameter(np.ones(1))], betas=(0.9,)), ValueError,
     "Adam: betas must be two numbers in [0, 1), got (0.9,)"),
    (lambda: nn.optim.RMSprop([nn.Parameter(np.ones(1))], momentum=1), ValueError,
     "RMSprop: momentum must be a number in [0, 1), got 1"),
    (lambda: nn.optim.SGD([{"params": [nn.Parameter(np.ones(1))], "beta": float("nan")}], lr=0.1), ValueError,
     "SGD: beta is NaN"),
    (lambda: Flagged([nn.Parameter(np.ones(1))], lr=-1.0), ValueError, "Flagged: lr must be a finite number ≥ 0, got -1.0"),
    (lambda: nn.optim.AdamW([nn.Parameter(np.ones(1))], eps=float("inf")), ValueError,
     "AdamW: eps must be a finite number > 0, got inf"),
    (lambda: nn.optim.SGD([nn.Parameter(np.ones(1))], lr=0.1, dampening=-0.1), ValueError,
     "SGD: dampening must be a finite number ≥ 0, got -0.1"),
    (lambda: nn.optim.Adagrad([nn.Parameter(np.ones(1))], initial_accumulator_value=-1), ValueError,
     "Adagrad: initial_accumulator_value must be a finite number ≥ 0, got -1"),
    (lambda: nn.optim.SGD([nn.Parameter(np.ones(1))], lr=0.1, momentum=0.9, dampening=0.1, nesterov=True), ValueError,
     "SGD: nesterov=True needs momentum > 0 and dampening = 0"),
    (get_lr, AttributeError, "SGD has no single lr: every parameter group has its own, optimizer.param_groups[i]['lr'] "
                             "(to change it over training, use nn.optim.lr_scheduler)"),
    (set_lr, AttributeError, "SGD has no single lr: every parameter group has its own, optimizer.param_groups[i]['lr'] "
                             "(to change it over training, use nn.optim.lr_scheduler)"),
    (lambda: load_into_sgd(lambda saved, group: {"state": saved["state"]}), ValueError,
     "SGD.load_state_dict: not an optimizer state dict (no 'param_groups')"),
    (lambda: load_into_sgd(lambda saved, group: {**saved, "param_groups": [group, group]}), ValueError,
     "SGD.load_state_dict: the saved state has 2 parameter groups, this optimizer has 1"),
    (lambda: load_into_sgd(lambda saved, group: {**saved, "param_groups": [{**group, "params": []}]}), ValueError,
     "SGD.load_state_dict: saved parameter group 0 has 0 parameters, this optimizer's has 1"),
    (lambda: load_into_sgd(lambda saved, group: {**saved, "param_groups": [{k: v for k, v in group.items()
                                                                            if k != "params"}]}),
     ValueError, "SGD.load_state_dict: saved parameter group 0 has 0 parameters, this optimizer's has 1"),
    (lambda: load_into_sgd(lambda saved, group: {**saved, "param_groups": [{k: v for k, v in group.items()
                                                                            if k not in ("lr", "nesterov")}]}),
     ValueError, "SGD.load_state_dict: saved parameter group 0 lacks ['lr', 'nesterov']"),
    (lambda: load_into_sgd(lambda saved, group: {**saved, "param_groups": [{**group, "nesterov": 2}]}), ValueError,
     "saved param_groups[0].nesterov = 2 is not a bool"),
    (lambda: load_into_sgd(lambda saved, group: {**saved, "param_groups": [{**group, "momentum": 1.5}]}), ValueError,
     "SGD: momentum must be a number in [0, 1), got 1.5"),
    (lambda: load_into_sgd(lambda saved, group: {**saved, "state": {3: saved["state"][0]}}), ValueError,
     "SGD.load_state_dict: state for parameter 3, which no group holds"),
    (lambda: load_into_sgd(lambda saved, group: {**saved, "state": {0: {"momentum_buffer": np.ones((2, 3))}}}),
     ValueError, "SGD.load_state_dict: state entry 0.momentum_buffer has shape (2, 3), but parameter 0 has shape (3, 2)"),
]


# Ids in ASCII, as conftest makes the generated ones.
@pytest.mark.parametrize("action, error, message", ERRORS,
                         ids=[m[:40].encode("ascii", "replace").decode() for _, _, m in ERRORS])
def test_error_messages_name_the_problem_in_full(action, error, message):
    with pytest.raises(error) as raised:
        action()
    assert str(raised.value) == message


# ----------------------------------------------------------------------- a student's optimizer (issue 17)
def test_an_update_that_rebinds_and_returns_nothing_is_an_error_not_a_silent_no_op():
    class Rebinding(nn.optim.Optimizer):
        def __init__(self, params, lr=0.1):
            super().__init__(params, dict(lr=lr))

        def update(self, w, grad, state, group):
            w = w - group["lr"] * grad  # noqa: F841  (the student's mistake)

    w = nn.Parameter(np.ones(2))
    w.grad = tg.Tensor(np.ones(2))
    with pytest.raises(TypeError, match=re.escape("Rebinding.update returned None: return the new weights, e.g. "
                                                  "`return w - group['lr'] * grad`; step() writes them into the "
                                                  "parameter")):
        Rebinding([w]).step()


def test_an_update_returning_the_new_weights_works_whether_it_rebinds_or_changes_in_place():
    class Rebinding(nn.optim.Optimizer):
        def __init__(self, params, lr=0.1):
            super().__init__(params, dict(lr=lr))

        def update(self, w, grad, state, group):
            w = w - group["lr"] * grad
            return w

    class InPlace(Rebinding):
        def update(self, w, grad, state, group):
            w -= group["lr"] * grad
            return w

    ours = [run(lambda p: cls(p, lr=0.1)) for cls in (Rebinding, InPlace)]
    expected = reference(sgd(lr=0.1))
    for trajectory in ours:
        np.testing.assert_allclose(trajectory, expected, rtol=1e-12)


def test_a_missing_update_says_what_to_write():
    class Empty(nn.optim.Optimizer):
        def __init__(self, params):
            super().__init__(params, dict(lr=0.1))

    w = nn.Parameter(np.ones(2))
    w.grad = tg.Tensor(np.ones(2))
    with pytest.raises(NotImplementedError, match=re.escape(
            "Empty must define update(self, w, grad, state, group) returning the new weights, e.g. "
            "`return w - group['lr'] * grad` (w: the parameter's array, grad: its gradient, state: a dict "
            "for its buffers, group: its hyperparameters)")):
        Empty([w]).step()


def test_hyperparameters_must_be_a_dict_and_update_must_keep_the_shape():
    class Positional(nn.optim.Optimizer):
        def __init__(self, params, lr=0.1):
            super().__init__(params, lr)

    with pytest.raises(TypeError, match=re.escape("Positional: pass the hyperparameters as a dict, e.g. "
                                                  "super().__init__(params, dict(lr=lr, momentum=momentum)), got 0.1")):
        Positional([nn.Parameter(np.ones(1))])

    class Flattening(nn.optim.Optimizer):
        def __init__(self, params):
            super().__init__(params, dict(lr=0.1))

        def update(self, w, grad, state, group):
            return (w - grad).reshape(-1)

    w = nn.Parameter(np.ones((2, 2)))
    w.grad = tg.Tensor(np.ones((2, 2)))
    with pytest.raises(ValueError, match=r"^Flattening.update returned shape \(4,\) for a parameter of shape \(2, 2\)$"):
        Flattening([w]).step()


def test_a_students_hyperparameters_and_state_are_saved_without_being_listed():
    class Momentum(nn.optim.Optimizer):
        def __init__(self, params, lr=0.1, betas=(0.9, 0.5)):
            super().__init__(params, dict(lr=lr, betas=betas))

        def update(self, w, grad, state, group):
            state["v"] = group["betas"][0] * state.get("v", 0) + grad
            return w - group["lr"] * state["v"]

    w = nn.Parameter(np.ones(2))
    optimizer = Momentum([w], lr=0.2)
    w.grad = tg.Tensor(np.ones(2))
    optimizer.step()
    optimizer.param_groups[0]["lr"] = 0.05
    flat = nn.utils.flatten_state_dict(optimizer.state_dict())
    resumed = Momentum([w])
    resumed.load_state_dict(nn.utils.unflatten_state_dict(flat))
    assert resumed.param_groups[0]["lr"] == 0.05 and resumed.param_groups[0]["betas"] == (0.9, 0.5)
    np.testing.assert_array_equal(resumed.state[w]["v"], [1.0, 1.0])
