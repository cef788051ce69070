"""tg.jit: a replayed training step equals the eager step bit for bit, and refuses what it cannot replay."""

from __future__ import annotations

import re

import numpy as np
import pytest

import nn
import tinygrad_edu as tg

IN, HIDDEN, OUT = 12, 7, 3


def make_model(seed=0, shared=False, dropout=0.0):
    generator = np.random.default_rng(seed)
    if shared:  # one layer applied three times: its weight gets three gradients, summed in visit order
        square = nn.Linear(HIDDEN, HIDDEN, generator=generator)
        return nn.Sequential(nn.Linear(IN, HIDDEN, generator=generator), nn.Sigmoid(), square, nn.Tanh(), square,
                             nn.Sigmoid(), square, nn.ReLU(), nn.Linear(HIDDEN, OUT, generator=generator))
    layers = [nn.Linear(IN, HIDDEN, generator=generator), nn.Sigmoid()]
    if dropout:
        layers.append(nn.Dropout(dropout))
    return nn.Sequential(*layers, nn.Linear(HIDDEN, OUT, generator=generator), nn.Sigmoid())


def batches(n_steps, sizes=(8,), seed=1):
    """(x, one-hot targets) as tensors, batch sizes cycling through ``sizes``."""
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n_steps):
        m = sizes[i % len(sizes)]
        x = rng.standard_normal((m, IN)).astype(np.float32)
        out.append((tg.Tensor(x), tg.Tensor(np.eye(OUT, dtype=np.float32)[rng.integers(0, OUT, m)])))
    return out


def training_step(model, loss_fn, optimizer):
    """The lecture's five-line step (zero_grad, forward, loss, backward, step), not yet jitted."""

    def step(x, t):
        optimizer.zero_grad()
        loss = loss_fn(model(x), t)
        loss.backward()
        optimizer.step()
        return loss

    return step


def train(jitted: bool, make_optimizer, data, *, shared=False, accumulate=False, gamma=None):
    """Run the steps eagerly or through tg.jit; return the losses and the final parameters."""
    model = make_model(shared=shared)
    optimizer = make_optimizer(model.parameters())
    loss_fn = nn.MSELoss()

    def step(x, t):
        optimizer.zero_grad()
        if accumulate:  # two half-batches, two backwards, one update
            half = x.shape[0] // 2
            first = loss_fn(model(x[:half]), t[:half])
            first.backward()
            second = loss_fn(model(x[half:]), t[half:])
            second.backward()
            optimizer.step()
            return first, second
        loss = loss_fn(model(x), t)
        loss.backward()
        optimizer.step()
        return loss

    run = tg.jit(step) if jitted else step
    scheduler = nn.optim.lr_scheduler.ExponentialLR(optimizer, gamma) if gamma is not None else None
    losses = []
    for x, t in data:
        out = run(x, t)
        losses.append([o.numpy().copy() for o in (out if isinstance(out, tuple) else (out,))])
        if scheduler is not None:  # a new learning rate for every step
            scheduler.step()
    return losses, [p.numpy().copy() for p in model.parameters()], run


def assert_bitwise_equal(a, b):
    losses_a, params_a, _ = a
    losses_b, params_b, _ = b
    assert len(params_a) == len(params_b)
    for x, y in zip(params_a, params_b):
        assert x.dtype == y.dtype and x.tobytes() == y.tobytes()
    for x, y in zip(losses_a, losses_b):
        assert [v.tobytes() for v in x] == [v.tobytes() for v in y]


SGD_MOMENTUM = lambda params: nn.optim.SGD(params, lr=0.5, momentum=0.9)  # noqa: E731
ADAM = lambda params: nn.optim.Adam(params, lr=0.01)  # noqa: E731


@pytest.mark.parametrize("optimizer", [SGD_MOMENTUM, ADAM], ids=["sgd-momentum", "adam"])
def test_jit_equals_eager_bit_for_bit_over_100_steps(optimizer):
    data = batches(100)
    jitted = train(True, optimizer, data)
    assert "replay" in jitted[2].source()  # it did replay
    assert_bitwise_equal(jitted, train(False, optimizer, data))


def test_a_learning_rate_changed_by_a_scheduler_is_used_by_the_replay():
    data = batches(100)
    eager = train(False, SGD_MOMENTUM, data, gamma=0.97)
    assert_bitwise_equal(train(True, SGD_MOMENTUM, data, gamma=0.97), eager)
    constant = train(True, SGD_MOMENTUM, data)  # the schedule does change the result
    assert constant[1][0].tobytes() != eager[1][0].tobytes()


def test_shared_layers_and_gradient_accumulation_over_two_backwards():
    data = batches(100)
    assert_bitwise_equal(train(True, ADAM, data, shared=True), train(False, ADAM, data, shared=True))
    jitted = train(True, SGD_MOMENTUM, data, accumulate=True)
    assert jitted[2].source().count("∂loss/∂loss") == 2  # both backwards are replayed
    assert_bitwise_equal(jitted, train(False, SGD_MOMENTUM, data, accumulate=True))


def test_the_last_smaller_batch_gets_its_own_replay():
    data = batches(100, sizes=(8, 8, 8, 5))  # four steps an "epoch", the last one smaller
    jitted = train(True, SGD_MOMENTUM, data)
    assert jitted[2].source().count("def replay") == 2
    assert_bitwise_equal(jitted, train(False, SGD_MOMENTUM, data))


def test_gradients_are_set_as_eager_backward_sets_them():
    """Without zero_grad in the step, gradients accumulate across calls, in the replay too."""
    data = batches(6)
    results = []
    for jitted in (False, True):
        model = make_model()
        loss_fn = nn.MSELoss()

        def step(x, t):
            loss = loss_fn(model(x), t)
            loss.backward()
            return loss

        run = tg.jit(step) if jitted else step
        for x, t in data:
            run(x, t)
        results.append([p.grad.numpy().copy() for p in model.parameters()])
    assert all(a.tobytes() == b.tobytes() for a, b in zip(*results))


def test_a_guard_failure_falls_back_to_eager():
    model, loss_fn = make_model(), nn.MSELoss()
    optimizer = nn.optim.SGD(model.parameters(), lr=0.1)
    calls = []

    @tg.jit
    def step(x, t):
        calls.append(1)  # a Python side effect: runs only while recording
        optimizer.zero_grad()
        loss = loss_fn(model(x), t)
        loss.backward()
        optimizer.step()
        return loss

    data = batches(8)
    for x, t in data[:4]:
        step(x, t)
    assert len(calls) == 2  # two recordings, then replays
    model.eval()  # another train/eval flag: a new signature, recorded eagerly
    step(*data[4])
    assert len(calls) == 3
    x64 = tg.Tensor(data[5][0].numpy().astype(np.float64))  # another dtype: eager again
    with pytest.raises(RuntimeError, match="^linear: the input is float64 but the weight is float32"):
        step(x64, tg.Tensor(np.zeros((3, 3), np.float32)))  # ... and eager gives eager's error
    assert len(calls) == 4


def test_replayed_non_finite_loss_still_raises():
    model, loss_fn = make_model(), nn.MSELoss()
    optimizer = nn.optim.SGD(model.parameters(), lr=0.1)

    step = tg.jit(training_step(model, loss_fn, optimizer))

    data = batches(3)
    for x, t in data:
        step(x, t)
    bad = tg.Tensor(np.full((8, OUT), np.nan, dtype=np.float32))
    with pytest.raises(FloatingPointError, match="mse_loss"):
        step(data[0][0], bad)


# ------------------------------------------------------------------------------------- refusals
def record_twice(step, *call_args):
    jitted = tg.jit(step)
    for args in call_args:
        jitted(*args)
    return jitted


def test_reading_a_value_inside_the_step_is_refused():
    model, loss_fn = make_model(), nn.MSELoss()
    x, t = batches(1)[0]

    def step(x, t):
        loss = loss_fn(model(x), t)
        if loss.item() > 100:  # control flow on a value
            loss = loss * 0.5
        return loss

    with pytest.raises(tg.JitError, match=r"^tg\.jit: Tensor\.item\(\) inside a jitted step reads the value of op \d+ "
                                          r"\(SquaredError\) \(bool\(\), float\(\), int\(\), comparisons"):
        tg.jit(step)(x, t)
    with pytest.raises(tg.JitError, match=r"^tg\.jit: Tensor\.numpy\(\) inside .* reads the value of op 0 \(LinearFn\)"):
        tg.jit(lambda x: tg.Tensor(model[0](x).numpy() * 2))(x)


PARAMETER = tg.randn(3, 3, requires_grad=True)  # reached by the step below, not passed to it


@pytest.mark.parametrize("step, read, source", [
    (lambda x, w: x * (x > 0), "greater (a comparison)", "an argument of the step"),  # a mask from an argument
    (lambda x, w: (x @ w) * ((x @ w) >= 0), "greater_equal (a comparison)", r"op 1 \(MatMul\)"),  # an op's result
    (lambda x, w: x @ (PARAMETER * (PARAMETER != 0)), "not_equal (a comparison)",
     r"a tensor of shape \(3, 3\) that requires grad"),
    (lambda x, w: x * (tg.zeros(3) < x), "less (a comparison)", "an argument of the step"),  # on the right
    (lambda x, w: x * ((x != x) | True).float(), "not_equal (a comparison)", "an argument of the step"),
    (lambda x, w: x[:, x.argmax(1)], "argmax()", "an argument of the step"),
    (lambda x, w: x * x.to(tg.int64).float(), "to(int64)", "an argument of the step"),
    (lambda x, w: x * x.any(), "any()", "an argument of the step"),
    (lambda x, w: x * x.all(1, keepdim=True), "all()", "an argument of the step"),
])
def test_values_read_by_comparisons_and_indices_are_refused_not_frozen(step, read, source):
    """A mask made from values the next call changes would be frozen by a replay, even when the two
    recorded calls saw the same values (the same batch twice): refused while recording, naming the
    read (the op called) and what it reads."""
    w = tg.randn(3, 3, requires_grad=True)
    x = tg.randn(2, 3)
    with pytest.raises(tg.JitError, match=f"^tg\\.jit: Tensor\\.{re.escape(read)} inside a jitted step reads the "
                                          f"value of {source}"):
        tg.jit(step)(x, w)
    assert np.array_equal(step(x, w).data, step(x, w).data)  # eagerly they run as before


@pytest.mark.parametrize("symbol, combine", [("&", lambda a, b: a & b), ("|", lambda a, b: a | b),
                                             ("^", lambda a, b: a ^ b)])
@pytest.mark.parametrize("mask_on_the_left", [True, False])
def test_logic_on_a_mask_passed_to_the_step_is_refused(symbol, combine, mask_on_the_left):
    def step(m, x):
        fixed = tg.tensor([True, True, False])
        return x * (combine(m, fixed) if mask_on_the_left else combine(fixed, m)).float()

    mask = tg.tensor([True, False, True])
    with pytest.raises(tg.JitError, match=f"^tg\\.jit: Tensor\\.\\{symbol} inside a jitted step reads the value "
                                          "of an argument"):
        tg.jit(step)(mask, tg.randn(2, 3))


def test_comparisons_of_tensors_made_inside_the_step_from_numbers_replay():
    step = tg.jit(lambda x: x * (tg.tensor([1.0, -1.0, 2.0]) > 0).float())
    for _ in range(3):
        x = tg.randn(2, 3)
        assert np.array_equal(step(x).data, x.data * np.array([1, 0, 1], np.float32))


def test_recordings_that_differ_are_refused():
    x, _ = batches(1)[0]
    calls = []

    def step(x):
        calls.append(1)
        return x.sigmoid() if len(calls) % 2 else x.tanh()

    with pytest.raises(tg.JitError, match="Sigmoid.*Tanh|Tanh.*Sigmoid"):
        record_twice(step, (x,), (x,))


def test_constants_that_change_between_calls_are_refused():
    model, loss_fn = make_model(), nn.MSELoss()
    (x, t), (x2, t2) = batches(2)
    rng = np.random.default_rng(0)

    def hand_made_dropout(x, t):
        mask = tg.Tensor((rng.random((8, HIDDEN)) > 0.5).astype(np.float32))  # drawn in NumPy, not by an op
        return loss_fn(model[2](model[1](model[0](x)) * mask), t)

    with pytest.raises(tg.JitError, match=r"input 1 of op 2 \(Mul\) is a tensor made outside any op"):
        record_twice(hand_made_dropout, (x, t), (x2, t2))

    def hand_made_one_hot(x, labels):
        return loss_fn(model(x), tg.Tensor(np.eye(OUT, dtype=np.float32)[labels]))

    labels = np.array([0, 1, 2, 0, 1, 2, 0, 1])
    with pytest.raises(tg.JitError, match=r"input 1 of op \d \(SquaredError\) is a tensor made outside any op"):
        record_twice(hand_made_one_hot, (x, labels), (x, labels[::-1].copy()))

    def random_rows(x):
        return x[rng.integers(0, 8, 4)].sum()  # an index drawn in NumPy, passed as index=

    with pytest.raises(tg.JitError, match=r"keyword argument index= of op 0 \(Index\) changed"):
        record_twice(random_rows, (x,), (x,))


def test_dropout_and_one_hot_as_ops_replay_exactly():
    """nn.Dropout draws its mask inside its op and nn.one_hot is an op: both are redone on every replay."""
    data = [(x, np.random.default_rng(i).integers(0, OUT, 8)) for i, (x, _) in enumerate(batches(30))]
    results = []
    for jitted in (False, True):
        tg.manual_seed(5)
        model = make_model(dropout=0.5)
        optimizer = nn.optim.SGD(model.parameters(), lr=0.3)

        def step(x, labels):
            optimizer.zero_grad()
            loss = nn.MSELoss()(model(x), nn.one_hot(labels, OUT, dtype=np.float32))
            loss.backward()
            optimizer.step()
            return loss

        run = tg.jit(step) if jitted else step
        losses = [run(x, labels).numpy().tobytes() for x, labels in data]
        results.append((losses, [p.numpy().tobytes() for p in model.parameters()]))
    assert results[0] == results[1]
    assert len(set(results[0][0])) == len(data)  # a new mask (and batch) each step


@pytest.mark.parametrize("wrap", [np.asarray, tg.Tensor], ids=["array", "tensor"])
def test_an_unchanging_constant_is_fine_and_arrays_passed_in_are_read_afresh(wrap):
    """An array or a tensor passed in and wrapped in tg.Tensor inside the step is read afresh on every call
    (wrapping a tensor takes its memory without reading its values, so it is no value read to refuse)."""
    scale = np.float32(3.0)

    @tg.jit
    def step(x):
        return (tg.Tensor(x) * tg.Tensor(np.array([scale]))).sum()  # x is read each call, the 3 is a constant

    rng = np.random.default_rng(0)
    for _ in range(4):
        x = rng.standard_normal(5).astype(np.float32)
        assert step(wrap(x)).numpy().tobytes() == (x * scale).sum().tobytes()
    assert "def replay" in step.source()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_zero_and_fill_inside_the_step_write_a_constant_of_the_tensors_dtype(dtype):
    """zero_() and fill_() make their value in the tensor's own dtype: each replay writes it as it
    is (no cast of it on every call) and gives what eager gives."""
    def step(x):
        h, g = x * 2, x * 3
        h.zero_()
        g.fill_(0.5)
        return h + g + x

    jitted = tg.jit(step)
    rng = np.random.default_rng(0)
    for _ in range(4):
        x = rng.standard_normal((2, 3)).astype(dtype)
        out = jitted(tg.tensor(x))
        assert out.dtype == dtype and out.numpy().tobytes() == (x + dtype(0.5)).tobytes()
    source = jitted.source()
    assert "def replay" in source and source.count("# in place") == 2 and "Cast" not in source


def test_masks_combined_from_fixed_tensors_inside_the_step_replay_as_eager():
    """&, ^, | and where() given a fixed mask and an op's view of one (.T, reshape) make constants of
    the step: the recordings accept them and every replay masks as eager does."""
    lower = tg.tensor(np.tri(3, dtype=bool))

    @tg.jit
    def step(x):
        x, upper = tg.Tensor(x), lower.T
        diagonal = lower & upper
        strictly_lower = lower ^ diagonal.reshape(3, 3)
        return x * (strictly_lower | diagonal.T), tg.where(upper, x, 0.0)

    rng = np.random.default_rng(0)
    for _ in range(4):
        x = rng.standard_normal((3, 3)).astype(np.float32)
        masked, chosen = step(x)
        assert masked.numpy().tobytes() == (x * np.tri(3, dtype=np.float32)).tobytes()
        assert chosen.numpy().tobytes() == np.where(np.tri(3, dtype=bool).T, x, np.float32(0)).tobytes()


@pytest.mark.parametrize("wrap", [np.asarray, tg.Tensor], ids=["array", "tensor"])
@pytest.mark.parametrize("dtype", [bool, np.float32, np.int64])
def test_a_mask_passed_to_the_step_as_the_condition_of_where_is_read_afresh(dtype, wrap):
    """A 0/1 mask of any dtype, an array or a tensor, is an argument like x: the two recordings
    seeing the same mask must not freeze it into the replay."""

    @tg.jit
    def step(x, mask):
        return tg.where(mask, tg.Tensor(x), 0.0)

    rng = np.random.default_rng(0)
    x = rng.standard_normal(6).astype(np.float32)
    first = (rng.random(6) > 0.5).astype(dtype)
    for mask in (first, first, (1 - first).astype(dtype), (rng.random(6) > 0.5).astype(dtype)):
        assert step(x, wrap(mask)).numpy().tobytes() == np.where(mask, x, np.float32(0)).tobytes()


def test_a_gradient_for_backward_that_changes_between_calls_is_refused():
    """backward(gradient=...) given an argument of the step, or an op computed from one, is refused on the first
    call whatever its values (two calls with equal values would freeze it); a gradient made inside the step whose
    values differ between the recordings is refused by their comparison; a fixed one replays."""
    w = tg.Tensor(np.ones(3, np.float32), requires_grad=True)
    ones = tg.Tensor(np.ones(3, np.float32))
    for step, source in [(lambda g: (w * 2).backward(g), "an argument of the step"),
                         (lambda g: (w * 2).backward(g.data), "an argument of the step"),
                         (lambda g: (w * 2).backward(g * 1), r"op 1 \(Mul\)")]:
        with pytest.raises(tg.JitError, match=f"gradient given to backward.. inside a jitted step is {source}"):
            tg.jit(step)(ones)
    xs = [(tg.Tensor(np.full(3, i, np.float32)),) for i in range(4)]
    calls = []

    def counting(x):
        calls.append(1)
        (w * x).backward(tg.Tensor(np.full(3, len(calls), np.float32)))

    with pytest.raises(tg.JitError, match=r"gradient passed to backward\(gradient=...\) changed"):
        record_twice(counting, *xs)
    same = record_twice(lambda x: (w * x).backward(tg.Tensor(np.ones(3, np.float32))), *xs)
    assert "def replay" in same.source()


def test_a_fixed_gradient_computed_inside_the_step_is_used_by_every_replay():
    """backward(gradient) given an op's result (here a view of a fixed tensor) reads its values, as
    eager does, and is not refused as a value read inside the step."""
    weights = tg.tensor(np.array([[1.0, 0.5, -2.0]], dtype=np.float32))
    w = tg.Tensor(np.ones(3, np.float32), requires_grad=True)

    @tg.jit
    def step(x):
        (w * tg.Tensor(x)).backward(weights.reshape(3))

    rng = np.random.default_rng(0)
    for _ in range(4):
        x = rng.standard_normal(3).astype(np.float32)
        w.grad = None
        step(x)
        assert w.grad.numpy().tobytes() == (x * weights.numpy()[0]).tobytes()


def test_retain_graph_inside_the_step_allows_a_second_backward():
    w = tg.Tensor(np.ones(3, np.float32), requires_grad=True)

    @tg.jit
    def step(x):
        loss = (w * w * tg.Tensor(x)).sum()
        loss.backward(retain_graph=True)
        loss.backward()  # through the same graph again: the gradients add up

    rng = np.random.default_rng(0)
    for _ in range(4):
        x = rng.standard_normal(3).astype(np.float32)
        w.grad = None
        step(x)
        np.testing.assert_allclose(w.grad.numpy(), 2 * (2 * w.numpy() * x), rtol=1e-6)


def test_a_numpy_float_keyword_argument_replays():
    xs = [tg.Tensor(np.linspace(-1, i, 6, dtype=np.float32).reshape(2, 3), requires_grad=True) for i in range(3)]
    step = tg.jit(lambda x: nn.functional.leaky_relu(x, np.float64(0.1)).sum())
    results = [step(x).numpy().tobytes() for x in xs]
    assert "def replay" in step.source()
    assert results == [nn.functional.leaky_relu(x, np.float64(0.1)).sum().numpy().tobytes() for x in xs]


@pytest.mark.parametrize("gradient", [None, 2.5])
def test_returned_tensors_are_not_overwritten_by_the_next_replay_and_a_given_gradient_is_used(gradient):
    """The replay writes into buffers: what it returns must still be its own array after later calls."""
    data = batches(8)
    results = []
    for jitted in (False, True):
        model, loss_fn = make_model(), nn.MSELoss()
        optimizer = nn.optim.SGD(model.parameters(), lr=0.5)

        def step(x, t):
            optimizer.zero_grad()
            out = model(x)
            loss = loss_fn(out, t)
            loss.backward(None if gradient is None else tg.Tensor(np.float32(gradient)))
            optimizer.step()
            return loss, out

        run = tg.jit(step) if jitted else step
        held = [run(x, t) for x, t in data]  # kept as they are, not copied
        results.append(([v.numpy().tobytes() for pair in held for v in pair],
                        [p.numpy().tobytes() for p in model.parameters()]))
    assert results[0] == results[1]


def test_returning_non_tensors_and_passing_non_tensors_are_refused():
    x, _ = batches(1)[0]
    with pytest.raises(tg.JitError, match="returned a float"):
        tg.jit(lambda x: 1.5)(x)
    with pytest.raises(TypeError, match="takes tensors and NumPy arrays, got a float"):
        tg.jit(lambda x, lr: x * lr)(x, 0.1)


def test_changes_a_replay_would_not_repeat_are_refused():
    model, loss_fn = make_model(), nn.MSELoss()
    x, t = batches(1)[0]

    def hand_written_update(x, t):
        loss = loss_fn(model(x), t)
        loss.backward()
        for p in model.parameters():
            p.data -= 0.1 * p.grad.data  # not an op, not a live call
        return loss

    with pytest.raises(tg.JitError, match="changed in place"):
        tg.jit(hand_written_update)(x, t)

    def clear_by_hand(x, t):
        loss = loss_fn(model(x), t)
        loss.backward()
        for p in model.parameters():
            p.grad = None
        return loss

    with pytest.raises(tg.JitError, match="optimizer.zero_grad"):
        tg.jit(clear_by_hand)(x, t)


def test_the_replay_source_shows_the_ops_and_live_calls():
    model, loss_fn = make_model(), nn.MSELoss()
    optimizer = nn.optim.Adam(model.parameters())

    step = tg.jit(training_step(model, loss_fn, optimizer))

    assert "nothing replayed yet" in step.source()
    for x, t in batches(3):
        step(x, t)
    source = step.source()
    for piece in ("Linear", "Sigmoid", "SquaredError", "backward", "zero_grad(", "step(", "def replay"):
        assert piece in source


def test_in_place_changes_replay_and_in_place_updates_of_parameters_are_repeated():
    model, loss_fn = make_model(), nn.MSELoss()
    data = batches(6)
    results = []
    for jitted in (False, True):
        model = make_model()

        def step(x, t):
            h = model[0](x)
            h *= 2.0  # an in-place op on an op's result: its op stands for h from now on
            h.add_(1.0)
            loss = loss_fn(model[3](model[2](model[1](h))), t)
            loss.backward()
            with tg.no_grad():
                for p in model.parameters():  # the lecture's update by hand, through in-place ops
                    p.sub_(p.grad * 0.1)
            model.zero_grad()
            return loss

        run = tg.jit(step) if jitted else step
        losses = [run(x, t).numpy().tobytes() for x, t in data]
        results.append((losses, [p.numpy().tobytes() for p in model.parameters()]))
    assert results[0] == results[1]


def test_changing_a_constant_in_place_is_refused():
    x, _ = batches(1)[0]

    def step(x):
        total = tg.zeros(IN)
        total += x.sum(dim=0)
        return total

    with pytest.raises(tg.JitError, match="changes a tensor of shape \\(12,\\) made inside the step"):
        record_twice(step, (x,), (x,))


def test_modules_reached_through_an_object_are_guarded_and_others_can_be_given():
    x, _ = batches(1)[0]
    holder = type("Holder", (), {})()
    holder.model = make_model(dropout=0.5)  # one attribute away: found by the jit
    deeper = type("Holder", (), {})()
    deeper.inner = type("Holder", (), {})()
    deeper.inner.model = make_model(dropout=0.5)  # two away: given with modules=

    for step, model in ((tg.jit(lambda x: holder.model(x)), holder.model),
                        (tg.jit(lambda x: deeper.inner.model(x), modules=[deeper.inner.model]), deeper.inner.model)):
        model.train()
        for _ in range(3):
            step(x)
        model.eval()  # dropout off: a new signature, recorded, then replayed without dropout
        outputs = [step(x).numpy().copy() for _ in range(3)]
        assert all(np.array_equal(out, model(x).numpy()) for out in outputs)


# ------------------------------------------------------------------------- what the replay runs
def test_plain_sgd_and_its_scheduled_lr_replay_bit_for_bit_through_the_optimizers_own_step():
    plain = lambda params: nn.optim.SGD(params, lr=0.5)  # noqa: E731
    data = batches(100)
    jitted = train(True, plain, data, gamma=0.97)
    assert "Optimizer_step(sgd0)  # live" in jitted[2].source()
    assert_bitwise_equal(jitted, train(False, plain, data, gamma=0.97))


def test_an_optimizer_changed_after_the_replay_was_built_is_followed():
    """Momentum switched on (or a group added) after recording: the guard sees it and the step records again."""
    data = batches(12)
    results = []
    for jitted in (False, True):
        model, loss_fn = make_model(), nn.MSELoss()
        optimizer = nn.optim.SGD(model.parameters(), lr=0.5)

        step = training_step(model, loss_fn, optimizer)
        run = tg.jit(step) if jitted else step
        for i, (x, t) in enumerate(data):
            if i == 5:
                optimizer.param_groups[0]["momentum"] = 0.9
            if i == 9:
                optimizer.param_groups[0]["maximize"] = True
            run(x, t)
        results.append([p.numpy().copy() for p in model.parameters()])
    assert all(a.tobytes() == b.tobytes() for a, b in zip(*results))


@pytest.mark.parametrize("reduction", ["lecture", "mean", "sum"])
def test_the_quadratic_cost_replays_as_eager_with_a_target_that_requires_grad(reduction):
    data = batches(6)
    results = []
    for jitted in (False, True):
        model, loss_fn = make_model(), nn.MSELoss(reduction=reduction)
        target_grads = []

        def step(x, t):
            model.zero_grad()
            loss = loss_fn(model(x), t)
            loss.backward()
            return loss

        run = tg.jit(step) if jitted else step
        for x, t in data:
            t = tg.Tensor(t.numpy(), requires_grad=True)
            loss = run(x, t)
            target_grads.append((loss.numpy().tobytes(), t.grad.numpy().tobytes()))
        results.append((target_grads, [p.grad.numpy().tobytes() for p in model.parameters()]))
    assert "SquaredError()" in run.source()  # the op itself
    assert results[0] == results[1]


def test_zero_grad_in_a_replay_clears_every_parameter_of_the_optimizer():
    """A parameter the step does not use still has its .grad cleared by optimizer.zero_grad() in a replay."""
    model, loss_fn = make_model(), nn.MSELoss()
    extra = tg.Tensor(np.ones(3, np.float32), requires_grad=True)
    optimizer = nn.optim.SGD([*model.parameters(), extra], lr=0.1)

    step = tg.jit(training_step(model, loss_fn, optimizer))

    for x, t in batches(5):
        extra.grad = tg.Tensor(np.ones(3, np.float32))  # set outside the step: zero_grad must clear it
        step(x, t)
        assert extra.grad is None
    assert "Optimizer_zero_grad(sgd0)  # live" in step.source()


# ------------------------------------------------------------------------------ cross-entropy
def classify(jitted: bool, data, loss_fn, make_optimizer=lambda ps: nn.optim.SGD(ps, lr=0.5), label=np.asarray):
    """Train a ReLU net on (x, labels) through ``loss_fn(scores, labels)``; the losses, parameters and step."""
    generator = np.random.default_rng(0)
    model = nn.Sequential(nn.Linear(IN, HIDDEN, generator=generator), nn.ReLU(),
                          nn.Linear(HIDDEN, OUT, generator=generator))
    step = training_step(model, loss_fn, make_optimizer(model.parameters()))
    run = tg.jit(step) if jitted else step
    losses = [run(x, label(labels)).numpy().tobytes() for x, labels in data]
    return losses, [p.numpy().tobytes() for p in model.parameters()], run


def labelled(n_steps, ignore_every=0, ignore_index=-100, seed=2):
    """(x, integer labels) batches; every ``ignore_every``-th batch has two labels set to ``ignore_index``."""
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n_steps):
        labels = rng.integers(0, OUT, 8)
        if ignore_every and i % ignore_every == ignore_every - 1:
            labels[[1, 5]] = ignore_index
        out.append((tg.Tensor(rng.standard_normal((8, IN)).astype(np.float32)), labels))
    return out


@pytest.mark.parametrize("loss_fn, label", [
    (nn.CrossEntropyLoss(), np.asarray),
    (nn.CrossEntropyLoss(reduction="sum"), tg.Tensor),
    (lambda z, y: nn.functional.nll_loss(z.log_softmax(dim=1), y), np.asarray),
], ids=["cross-entropy", "sum, labels in a tensor", "nll_loss of log_softmax"])
def test_cross_entropy_replays_bit_for_bit(loss_fn, label):
    data = labelled(60)
    jitted = classify(True, data, loss_fn, label=label)
    source = jitted[2].source()
    assert "= LogSoftmaxFn()" in source and "= NegativeLogLikelihood()" in source  # the ops themselves
    assert jitted[:2] == classify(False, data, loss_fn, label=label)[:2]


@pytest.mark.parametrize("case", ["float64", "uint8 labels", "3-d scores", "a masked class"])
def test_cross_entropy_replays_as_eager_for_other_dtypes_and_shapes(case):
    rng = np.random.default_rng(4)
    dtype = np.float64 if case == "float64" else np.float32
    shape, label_shape = ((6, 2, IN), (6, 2)) if case == "3-d scores" else ((6, IN), (6,))
    classes = OUT - (case == "a masked class")
    data = [(tg.Tensor(rng.standard_normal(shape).astype(dtype)),
             rng.integers(0, classes, label_shape).astype(np.uint8 if "uint8" in case else int)) for _ in range(15)]
    mask = tg.Tensor(np.array([0, 0, -np.inf if case == "a masked class" else 0], dtype))  # no label is class 2

    def loss_fn(z, y):
        if case == "3-d scores":  # classes along dim 1 of (n, classes, d)
            return nn.functional.cross_entropy(z.permute(0, 2, 1), y)
        return nn.functional.cross_entropy(z + mask, y)

    results = []
    for jitted in (False, True):
        model = nn.Linear(IN, OUT, generator=np.random.default_rng(0))
        model = model.double() if dtype == np.float64 else model
        optimizer = nn.optim.SGD(model.parameters(), lr=0.3, momentum=0.5)

        run = tg.jit(training_step(model, loss_fn, optimizer)) if jitted else training_step(model, loss_fn, optimizer)
        results.append(([run(x, y).numpy().tobytes() for x, y in data],
                        [p.numpy().tobytes() for p in model.parameters()]))
    assert "= LogSoftmaxFn()" in run.source()
    assert results[0] == results[1]


def test_cross_entropy_softmax_along_another_axis_replays_as_eager():
    data = batches(20)
    results = []
    for jitted in (False, True):
        model = make_model()
        optimizer = nn.optim.SGD(model.parameters(), lr=0.5)

        def step(x, t):
            optimizer.zero_grad()
            loss = (model(x).log_softmax(dim=0) * t).sum()  # down the batch, not across the classes
            loss.backward()
            optimizer.step()
            return loss

        run = tg.jit(step) if jitted else step
        results.append(([run(x, t).numpy().tobytes() for x, t in data],
                        [p.numpy().tobytes() for p in model.parameters()]))
    assert "dim=0" in run.source()
    assert results[0] == results[1]


@pytest.mark.parametrize("ignore_index", [-100, 1])
def test_a_batch_with_ignored_labels_replays_as_eager(ignore_index):
    data = labelled(40, ignore_every=3, ignore_index=ignore_index)
    loss_fn = nn.CrossEntropyLoss(ignore_index=ignore_index)
    jitted = classify(True, data, loss_fn)
    assert jitted[:2] == classify(False, data, loss_fn)[:2]
    assert jitted[2].source().count("def replay") == 1  # not recorded again for each such batch


def test_a_bad_label_in_a_replay_gives_eager_error():
    _, _, run = classify(True, labelled(3), nn.CrossEntropyLoss())
    x = labelled(1)[0][0]
    with pytest.raises(ValueError, match=r"cross_entropy: labels must lie in \[0, 3\).*got 7"):
        run(x, np.array([0, 1, 2, 7, 0, 1, 2, 0]))
    with pytest.raises(ValueError, match=r"got -1"):
        run(x, np.array([0, 1, 2, -1, 0, 1, 2, 0]))


@pytest.mark.parametrize("loss_fn", [
    nn.CrossEntropyLoss(weight=tg.Tensor(np.array([1.0, 2.0, 0.5], np.float32))),
    nn.CrossEntropyLoss(label_smoothing=0.1),
    nn.CrossEntropyLoss(reduction="none"),
], ids=["weight", "label_smoothing", "reduction none"])
def test_cross_entropy_options_replay_the_op(loss_fn):
    data = labelled(30, ignore_every=4)
    reduced = loss_fn if loss_fn.reduction != "none" else (lambda z, y: loss_fn(z, y).sum())
    jitted = classify(True, data, reduced)
    assert "NegativeLogLikelihood(); " in jitted[2].source()  # the op itself
    assert jitted[:2] == classify(False, data, reduced)[:2]


def test_labels_changed_in_place_after_the_loss_replay_the_op():
    """Eager's loss keeps the labels it saw for backward; an in-place change after it must not reach the gradient."""
    loss_fn = nn.CrossEntropyLoss()

    def changing(z, y):
        loss = loss_fn(z, y)
        y.sub_(1)  # before backward: a written-out backward reading y would scatter to the wrong classes
        return loss

    data = labelled(20)
    fresh = lambda y: tg.Tensor(y.copy())  # noqa: E731 (the step changes it)
    jitted = classify(True, data, changing, label=fresh)
    assert "NegativeLogLikelihood(); " in jitted[2].source()
    assert jitted[:2] == classify(False, data, changing, label=fresh)[:2]


def test_a_non_finite_cross_entropy_still_raises_in_a_replay():
    _, _, run = classify(True, labelled(3), nn.CrossEntropyLoss())
    x = tg.Tensor(np.full((8, IN), np.inf, np.float32))
    with np.errstate(all="ignore"), pytest.raises(FloatingPointError, match="cross_entropy is nan"):
        run(x, np.zeros(8, np.int64))


def test_plain_sgd_equals_eager_for_every_kind_of_parameter():
    """A 3-d parameter, a long 2-d one, one stored in Fortran order and a 0-d one, with a scheduled lr."""
    rng = np.random.default_rng(3)
    data = batches(40)
    results = []
    for jitted in (False, True):
        model = make_model()  # weights (7, 12) and (3, 7), biases (7,) and (3,)
        model[0].weight.data = np.asfortranarray(model[0].weight.data)  # columns contiguous
        extra = [tg.Tensor(rng.standard_normal(shape).astype(np.float32), requires_grad=True)
                 for shape in [(3, 4, 10), (2, 100), ()]]
        for p, values in zip(extra, results[0][2] if results else ()):  # the same start both times
            p.data[...] = values
        optimizer = nn.optim.SGD([*model.parameters(), *extra], lr=0.3)
        scheduler = nn.optim.lr_scheduler.ExponentialLR(optimizer, 0.95)
        start = [p.numpy().copy() for p in extra]

        def step(x, t):
            optimizer.zero_grad()
            loss = nn.MSELoss()(model(x), t) + sum(((p * p).sum() for p in extra), tg.Tensor(np.float32(0))) * 0.01
            loss.backward()
            optimizer.step()
            return loss

        run = tg.jit(step) if jitted else step
        for x, t in data:
            run(x, t)
            scheduler.step()
        results.append(([p.numpy().tobytes() for p in [*model.parameters(), *extra]],
                        not model[0].weight.data.flags.c_contiguous, start))
    assert "def replay" in run.source()
    assert results[0][:2] == results[1][:2] == (results[0][0], True)


@pytest.mark.parametrize("made_in_numpy", ["mask", "one-hot"])
def test_an_array_computed_from_the_arguments_is_refused_even_when_the_first_calls_repeat_one_batch(made_in_numpy):
    """Two recordings of one batch cannot tell an array made in NumPy from the arguments (a mask from x.data,
    one-hot targets from labels) from a constant: calls on the values of the call before are recorded again, each
    giving eager's result, until a batch differs; then the array is refused, never frozen into a replay."""
    w = tg.Tensor(np.ones(4, np.float32), requires_grad=True)
    optimizer = nn.optim.SGD([w], lr=0.1)

    def step(x, labels):
        optimizer.zero_grad()
        if made_in_numpy == "mask":
            loss = tg.where(x.data > 0, x * w, w * 0).sum()
        else:
            loss = ((x * w - tg.Tensor(np.eye(4, dtype=np.float32)[labels])) ** 2).sum()
        loss.backward()
        optimizer.step()
        return loss

    run = tg.jit(step)
    x, labels = tg.Tensor(np.array([[1, -1, 1, -1]], np.float32)), np.array([2])
    losses = [run(x, labels).item() for _ in range(3)]
    assert "nothing replayed yet" in run.source() and "same argument values" in run.source()
    w.data[...], optimizer.state = 1, {}
    assert losses == [step(x, labels).item() for _ in range(3)]
    refusal = {"mask": r"keyword argument condition= of op 2 \(Where\) changed between calls",
               "one-hot": r"is a tensor made outside any op .* whose values changed between calls"}[made_in_numpy]
    with pytest.raises(tg.JitError, match=refusal):
        run(tg.Tensor(np.array([[-1, -1, 1, 1]], np.float32)), np.array([0]))


def test_a_gradient_a_hand_written_backward_keeps_is_copied_into_grad_in_a_replay_too():
    """As eager backward does, a replay gives a leaf a .grad of its own, never the array an op's backward
    returned and keeps: changing one must not change the other."""
    kept = []

    class Keep(tg.Function):
        def forward(self, w):
            return 3 * w

        def backward(self, grad):
            kept.append(3 * grad)
            return kept[-1]

    w = tg.Tensor(np.ones(2, np.float32), requires_grad=True)
    optimizer = nn.optim.SGD([w], lr=0.1)

    def step(x):
        optimizer.zero_grad()
        loss = (Keep.apply(w) * x).sum()
        loss.backward()
        return loss

    run = tg.jit(step)
    for i in range(4):
        run(tg.Tensor(np.array([1, -i], np.float32)))
        assert not np.shares_memory(w.grad.data, kept[-1])
        np.testing.assert_array_equal(w.grad.numpy(), [3, -3 * i])
    assert "Keep" in run.source()


def test_the_jit_is_a_module_called_as_the_decorator_and_it_names_no_nn_by_string():
    """``import tinygrad_edu.jit`` gives the module (its files, its JitError and live), and calling it
    makes a jitted step; the engine's jit knows nn only through what the step reaches, never by name."""
    import pathlib
    import types

    import tinygrad_edu.jit as jit_module

    assert isinstance(jit_module, types.ModuleType) and jit_module is tg.jit
    assert isinstance(tg.jit(lambda x: x), jit_module.Jitted) and jit_module.JitError is tg.JitError
    for path in pathlib.Path(jit_module.__file__).parent.glob("*.py"):
        assert not re.search(r"[\"']nn[.\"']", path.read_text(encoding="utf-8")), path.name
