"""tg.jit honours every value a replay depends on: changed after the replay was built, each one either gives
eager's numbers bit for bit over 20 steps, or is refused with a JitError naming it while recording."""

from __future__ import annotations

import numpy as np
import pytest

import nn
import tinygrad_edu as tg

F = nn.functional
IN, HIDDEN, OUT, STEPS, CHANGE = 6, 5, 3, 20, 8
TEMPERATURE = 1.0  # a global the steps below name
HELPER_SCALE = 0.5  # a global only a helper names: the step's guard does not see it
CONFIG = {"scale": 0.5}  # a dict: its items are not compared (the step may fill it), so they are no source


def data(seed=1):
    rng = np.random.default_rng(seed)
    return [(tg.Tensor(rng.standard_normal((4, IN)).astype(np.float32)), rng.integers(0, OUT, 4))
            for _ in range(STEPS)]


def model_and_optimizer(*middle, momentum=0.0):
    generator = np.random.default_rng(0)
    model = nn.Sequential(nn.Linear(IN, HIDDEN, generator=generator), *middle,
                          nn.Linear(HIDDEN, OUT, generator=generator))
    return model, nn.optim.SGD(model.parameters(), lr=0.2, momentum=momentum)


def compare(make, change, expect_replay=True, undo=lambda: None):
    """Train STEPS steps eagerly and jitted, calling ``change(objects)`` before step CHANGE in both; the
    jitted run must have replayed before the change and must equal eager bit for bit (losses, every
    parameter and gradient). ``make()`` returns (step function, objects, parameters to compare); ``undo()``
    runs after each of the two runs."""
    results = []
    for jitted in (False, True):
        tg.manual_seed(3)
        step, objects, params = make()
        run = tg.jit(step) if jitted else step
        losses = []
        for i, (x, labels) in enumerate(data()):
            if i == CHANGE:
                if jitted and expect_replay:
                    assert "def replay" in run.source()
                change(objects)
            losses.append(run(x, labels).numpy().tobytes())
        undo()
        results.append((losses, [p.numpy().tobytes() for p in params()],
                        [None if p.grad is None else p.grad.numpy().tobytes() for p in params()]))
    assert results[0] == results[1]
    return run


def classifier(loss=lambda z, y: F.cross_entropy(z, y), *middle, momentum=0.0):
    """``make`` for `compare`: a training step of the model with ``middle`` between its two layers."""
    def make():
        model, optimizer = model_and_optimizer(*middle, momentum=momentum)

        def step(x, labels):
            optimizer.zero_grad()
            out = loss(model(x), labels)
            out.backward()
            optimizer.step()
            return out

        return step, {"model": model, "optimizer": optimizer}, model.parameters
    return make


# ------------------------------------------------------------------------ numbers in Python, read by the step
def test_a_number_in_the_steps_closure_changed_after_recording_gives_eagers_numbers():
    box = {}

    def make():
        model, optimizer = model_and_optimizer(nn.Sigmoid())
        temperature = 1.0

        def step(x, labels):
            optimizer.zero_grad()
            loss = F.cross_entropy(model(x) / temperature, labels)
            loss.backward()
            optimizer.step()
            return loss

        def set_temperature(value):
            nonlocal temperature
            temperature = value

        box["set"] = set_temperature
        return step, None, model.parameters

    run = compare(make, lambda _: box["set"](0.1))
    assert "# the step's variable temperature" in run.source()


def test_a_global_number_the_step_names_changed_after_recording_gives_eagers_numbers():
    def make():
        global TEMPERATURE
        TEMPERATURE = 1.0
        model, optimizer = model_and_optimizer(nn.Sigmoid())

        def step(x, labels):
            optimizer.zero_grad()
            loss = F.cross_entropy(model(x) / TEMPERATURE, labels)
            loss.backward()
            optimizer.step()
            return loss

        return step, None, model.parameters

    def change(_):
        global TEMPERATURE
        TEMPERATURE = 0.1

    compare(make, change)


def helper(z):
    return z * HELPER_SCALE  # HELPER_SCALE is a global of this helper, not of the step


@pytest.mark.parametrize("case", ["helper's global", "item of a dict", "keyword argument from a dict"])
def test_a_number_the_guard_cannot_trace_is_refused_naming_it(case):
    model, _ = model_and_optimizer(nn.Sigmoid())
    x, labels = data()[0]

    def step(x, labels):
        z = model(x)
        if case == "helper's global":
            z = helper(z)
        elif case == "item of a dict":
            z = z * CONFIG["scale"]
        else:
            z = F.leaky_relu(z, CONFIG["scale"])
        return F.cross_entropy(z, labels)

    message = (r"keyword argument negative_slope=0\.5 of op \d+ \(LeakyReLUFn\) cannot be traced" if "keyword" in case
               else r"the number 0\.5 that op \d+ \(Mul\) takes as its input 1 cannot be traced")
    with pytest.raises(tg.JitError, match=message + ".*pass it to the step as a tensor argument"):
        run = tg.jit(step)
        for x, labels in data()[:3]:
            run(x, labels)
    assert step(x, labels).numpy().tobytes() == step(x, labels).numpy().tobytes()  # eagerly it runs as before


def test_a_number_passed_as_a_tensor_argument_replays():
    model, optimizer = model_and_optimizer(nn.Sigmoid())

    @tg.jit
    def step(x, labels, scale):
        return F.cross_entropy(model(x) * scale, labels)

    for i, (x, labels) in enumerate(data()[:6]):
        scale = tg.tensor(np.float32(0.5 + i))
        assert step(x, labels, scale).numpy().tobytes() == F.cross_entropy(model(x) * scale, labels).numpy().tobytes()
    assert "def replay" in step.source()


@pytest.mark.parametrize("which", ["negative_slope", "p", "label_smoothing"])
def test_op_keyword_arguments_from_the_steps_closure_are_guarded(which):
    box = {}

    def make():
        model, optimizer = model_and_optimizer()
        slope, p, smoothing = 0.1, 0.2, 0.05

        def step(x, labels):
            optimizer.zero_grad()
            h = F.dropout(F.leaky_relu(model[0](x), slope), p)
            loss = F.cross_entropy(model[1](h), labels, label_smoothing=smoothing)
            loss.backward()
            optimizer.step()
            return loss

        def change(value):
            nonlocal slope, p, smoothing
            slope, p, smoothing = {"negative_slope": (value, p, smoothing), "p": (slope, value, smoothing),
                                   "label_smoothing": (slope, p, value)}[which]

        box["change"] = change
        return step, None, model.parameters

    compare(make, lambda _: box["change"](0.4))


# ----------------------------------------------------------------------------------- modules and what is trained
@pytest.mark.parametrize("change", ["dropout p", "leaky slope", "loss reduction", "eval"])
def test_a_module_setting_changed_after_recording_gives_eagers_numbers(change):
    def make():
        model, optimizer = model_and_optimizer(nn.LeakyReLU(0.1), nn.Dropout(0.2))
        loss_fn = nn.CrossEntropyLoss()

        def step(x, labels):
            optimizer.zero_grad()
            loss = loss_fn(model(x), labels)
            loss.backward()
            optimizer.step()
            return loss

        return step, {"model": model, "loss": loss_fn}, model.parameters

    def apply(objects):
        model = objects["model"]
        if change == "dropout p":
            model[2].p = 0.5
        elif change == "leaky slope":
            model[1].negative_slope = 0.3
        elif change == "loss reduction":
            objects["loss"].reduction = "sum"
        else:
            model.eval()

    compare(make, apply)


def test_a_frozen_layer_and_a_replaced_parameter_give_eagers_numbers():
    make = classifier(lambda z, y: F.cross_entropy(z, y), nn.Sigmoid(), momentum=0.5)
    compare(make, lambda objects: objects["model"][0].requires_grad_(False))

    def replace(objects):  # a new weight, given to the optimizer in place of the old one
        model, optimizer = objects["model"], objects["optimizer"]
        old = model[2].weight
        model[2].weight = nn.Parameter(old.numpy() * 2)
        optimizer.param_groups[0]["params"] = [model[2].weight if p is old else p
                                               for p in optimizer.param_groups[0]["params"]]

    compare(make, replace)


def test_parameter_lists_of_the_optimizer_are_guarded():
    make = classifier(lambda z, y: F.cross_entropy(z, y), nn.Sigmoid())
    compare(make, lambda objects: objects["optimizer"].param_groups[0]["params"].pop())  # the last bias stops learning
    compare(make, lambda objects: objects["optimizer"].param_groups[0].update(lr=0.05, momentum=0.9))  # read live


# ------------------------------------------------------------------------- the student's own code runs
def test_an_op_edited_after_import_runs_in_the_replay(monkeypatch):
    """The lecture's exercise: change the sigmoid's backward. A replay built before the edit runs the edit."""
    sigmoid = type(tg.zeros(1, requires_grad=True).sigmoid().grad_fn)  # the op class, whatever its name
    make = classifier(lambda z, y: F.cross_entropy(z, y), nn.Sigmoid())
    run = compare(make, lambda _: monkeypatch.setattr(sigmoid, "backward", lambda self, grad: np.zeros_like(grad)),
                  undo=monkeypatch.undo)
    assert f"= {sigmoid.__name__}()" in run.source()

    frozen = []  # and the edit does change training: the first layer stops moving

    def record(objects):
        monkeypatch.setattr(sigmoid, "backward", lambda self, grad: np.zeros_like(grad))
        frozen.append(objects["model"][0].weight)

    step, objects, _ = make()
    run = tg.jit(step)
    for i, (x, labels) in enumerate(data()):
        if i == CHANGE:
            record(objects)
            before = frozen[0].numpy().copy()
        run(x, labels)
    assert np.array_equal(frozen[0].numpy(), before)


def test_an_optimizer_update_edited_after_import_runs_in_the_replay(monkeypatch):
    def halved(self, w, grad, state, group):
        w -= 0.5 * group["lr"] * grad
        return w

    compare(classifier(), lambda _: monkeypatch.setattr(nn.optim.SGD, "update", halved), undo=monkeypatch.undo)


def test_a_parameter_given_a_new_array_is_guarded():
    """Module.to gives parameters new arrays: in another dtype, the replay must not compute on (eager raises)."""
    make = classifier(lambda z, y: F.cross_entropy(z, y), nn.Sigmoid())
    compare(make, lambda objects: setattr(objects["model"][0].weight, "data",
                                          objects["model"][0].weight.data.copy()))  # same shape
    step, objects, _ = make()
    model = objects["model"]
    run = tg.jit(step)
    for x, labels in data()[:4]:
        run(x, labels)
    model.double()
    with pytest.raises(RuntimeError, match="linear: the input is float32 but the weight is float64"):
        run(*data()[5])


def test_grad_mode_and_anomaly_mode_are_guarded():
    """A replay recorded with gradients on and anomaly detection off is not used under no_grad (eager
    refuses the backward) or under detect_anomaly (eager names the op whose backward made a NaN)."""
    model, _ = model_and_optimizer()

    @tg.jit
    def step(x, labels):
        model.zero_grad()
        loss = model(x).relu().sqrt().sum()  # ∂√z/∂z is infinite at the zeros ReLU makes
        loss.backward()
        return loss

    batches = data()
    with np.errstate(all="ignore"):
        for x, labels in batches[:4]:
            step(x, labels)
        assert "def replay" in step.source()
        with tg.no_grad(), pytest.raises(RuntimeError, match="does not require grad"):
            step(*batches[4])
        with tg.detect_anomaly(), pytest.raises(FloatingPointError, match="Sqrt.backward produced a non-finite"):
            step(*batches[5])


class Remembers(nn.Module):
    """A layer that keeps its last output: Python between ops, which a replay would not run."""

    def forward(self, x):
        self.last = x
        return x


@pytest.mark.parametrize("case", ["scheduler", "learning rate", "counter", "module attribute"])
def test_python_state_the_step_changes_is_refused_naming_it(case):
    model, optimizer = model_and_optimizer(Remembers() if case == "module attribute" else nn.Sigmoid())
    scheduler = nn.optim.lr_scheduler.ExponentialLR(optimizer, 0.9)
    calls = 0

    def step(x, labels):
        nonlocal calls
        optimizer.zero_grad()
        loss = F.cross_entropy(model(x), labels)
        loss.backward()
        optimizer.step()
        if case == "scheduler":
            scheduler.step()
        elif case == "learning rate":
            optimizer.param_groups[0]["lr"] *= 0.5
        elif case == "counter":
            calls += 1
        return loss

    changed = {"scheduler": "ExponentialLR.last_epoch", "learning rate": r"SGD.param_groups\[0\]\['lr'\]",
               "counter": "the step's variable calls", "module attribute": "Remembers"}[case]
    with pytest.raises(tg.JitError, match=f"the step changed {changed}.* while it ran"):
        tg.jit(step)(*data()[0])
