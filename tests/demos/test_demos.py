"""Every demo runs end to end on a small subset of the real digits and shows what it teaches."""

from __future__ import annotations

import functools
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import nn
from demos import checkpoints, cli, train
from demos import common as common_demo

DATA = os.environ.get("TINYGRAD_EDU_DATA")
needs_data = pytest.mark.skipif(
    not (DATA and (Path(DATA) / "mnist" / "train-images-idx3-ubyte.gz").exists()),
    reason="set TINYGRAD_EDU_DATA to a folder holding mnist/ and fashion-mnist/ to run the demos",
)


def run_demo(*argv: str) -> dict:
    """Parse a command line as `tinygrad-edu` would and return the demo's results."""
    args = cli.build_parser().parse_args(list(argv))
    return args.run(args)


@needs_data
def test_show_digits_prints_matrices_and_writes_a_png(tmp_path, capsys):
    png = tmp_path / "digits.png"
    result = run_demo("show-digits", "--count", "1", "--png", str(png))
    out = capsys.readouterr().out
    assert f"label {result['labels'][0]}" in out
    assert "0.0" in out and "1.0" in out or "0.9" in out  # the lecture's 0.0-1.0 gray values
    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = np.frombuffer(data[16:24], dtype=">u4")
    assert (width, height) == (280, 280)  # 10 x 10 digits of 28 x 28 pixels


@needs_data
def test_perceptron_learns_far_above_chance(capsys):
    result = run_demo("perceptron", "--subset", "3000", "--epochs", "2", "--quiet")
    assert result["test_accuracy"] > 0.6  # chance is 0.1
    assert re.search(r"test accuracy: \d+\.\d\d%", capsys.readouterr().out)


@needs_data
def test_sigmoid_moves_a_little_where_the_step_jumps():
    rows = run_demo("sigmoid-vs-step", "--subset", "100")["rows"]
    for row in rows:
        assert row["step"] == 1.0  # the perceptron flips from 0 to 1
        assert 0 < row["sigmoid"] < 0.1  # the sigmoid neuron barely moves
    one_weight = rows[0]
    assert one_weight["predicted"] == pytest.approx(one_weight["sigmoid"], rel=1e-2)  # Δσ ≈ Σ ∂σ/∂w Δw


@needs_data
def test_numerical_gradient_agrees_with_backprop():
    result = run_demo("numerical-gradient", "--subset", "100", "--sizes", "784,4,10", "--examples", "3")
    assert result["largest_difference"] < 1e-6
    assert result["estimate"] == pytest.approx(result["backprop"], rel=1e-3, abs=1e-7)


@needs_data
def test_mini_batches_reach_a_lower_cost_than_full_batch_for_the_same_examples(tmp_path):
    results = run_demo("descent-variants", "--subset", "1000", "--epochs", "2", "--probe", "300",
                       "--png", str(tmp_path / "d.png"), "--quiet")
    full, sgd, mini = results.values()
    assert full["examples"][-1] == sgd["examples"][-1] == mini["examples"][-1] == 2000
    assert full["updates"][-1] == 2 and mini["updates"][-1] == 200 and sgd["updates"][-1] == 2000
    assert mini["cost"][-1] < full["cost"][-1]
    assert sgd["cost"][-1] < full["cost"][-1]


@needs_data
def test_train_reaches_good_accuracy_on_a_subset(capsys):
    result = run_demo("train", "--subset", "6000", "--epochs", "3", "--quiet")
    assert result["test_accuracy"] > 0.6  # chance is 0.1; the full run reaches about 95%
    assert re.search(r"^test accuracy: \d+\.\d\d%$", capsys.readouterr().out, re.MULTILINE)


@needs_data
@pytest.mark.parametrize("flags", [
    ["--dropout", "0.3"],  # dropout too: its masks must be redrawn identically after resuming
    ["--optimizer", "adam", "--lr", "0.003", "--lr-decay", "0.7"],  # Adam's averages and the schedule's position
])
def test_resuming_gives_the_same_result_as_not_stopping(flags, tmp_path):
    common = ["train", "--subset", "500", "--sizes", "784,16,10", "--quiet", *flags]
    straight = run_demo(*common, "--epochs", "3")
    run_demo(*common, "--epochs", "1", "--save", str(tmp_path / "ckpt.npz"))
    resumed = run_demo(*common, "--epochs", "3", "--resume", str(tmp_path / "ckpt.npz"))
    for (name, a), (_, b) in zip(straight["model"].named_parameters(), resumed["model"].named_parameters()):
        np.testing.assert_array_equal(a.numpy(), b.numpy(), err_msg=name)
    assert [h["loss"] for h in straight["history"]] == [h["loss"] for h in resumed["history"]]
    with np.load(tmp_path / "ckpt.npz", allow_pickle=False) as archive:
        assert "scheduler.last_epoch" in archive.files and "optim.param_groups[0].lr" in archive.files


def test_checkpoints_hold_buffers_momentum_and_the_schedule_and_resume_bit_for_bit(tmp_path):
    """Without the digits: a BatchNorm network (buffers), SGD with momentum, a StepLR schedule."""
    rng = np.random.default_rng(0)
    X, y = rng.random((60, 784), dtype=np.float32), rng.integers(0, 10, 60)

    def setup():
        model = nn.Sequential(nn.Linear(784, 8, generator=np.random.default_rng(1)), nn.BatchNorm1d(8), nn.ReLU(),
                              nn.Linear(8, 10, generator=np.random.default_rng(2)))
        optimizer = nn.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
        return model, optimizer, nn.optim.lr_scheduler.StepLR(optimizer, step_size=2, gamma=0.5)

    def fit(model, optimizer, scheduler, epochs, save=None, resume=None):
        history = checkpoints.load(resume, model, optimizer, scheduler) if resume else []
        step = functools.partial(train.train_step, model, nn.CrossEntropyLoss(), optimizer)
        for epoch, loss in common_demo.train_epochs(model, step, X, y, epochs=epochs, batch_size=8, seed=3,
                                                    start=len(history), quiet=True):
            history.append({"epoch": epoch + 1, "loss": loss, "test_accuracy": 0.5, "seconds": 1.0})
            scheduler.step()
            if save:
                checkpoints.save(save, model, optimizer, history, {}, scheduler)
        return history

    straight = setup()
    fit(*straight, 3)
    first = setup()
    fit(*first, 1, save=tmp_path / "ckpt.npz")
    resumed = setup()
    assert len(fit(*resumed, 3, resume=tmp_path / "ckpt.npz")) == 3
    for name, value in straight[0].state_dict().items():  # parameters and BatchNorm's running statistics
        np.testing.assert_array_equal(resumed[0].state_dict()[name], value, err_msg=name)
    assert resumed[2].get_last_lr() == straight[2].get_last_lr() == [0.1 * 0.5]
    buffers = [straight[1].state[p]["momentum_buffer"] for p in straight[0].parameters()]
    for p, expected in zip(resumed[0].parameters(), buffers):
        np.testing.assert_array_equal(resumed[1].state[p]["momentum_buffer"], expected)


@needs_data
@pytest.mark.parametrize("demo", ["deep", "fashion"])
def test_deep_recipe_learns(demo):
    result = run_demo(demo, "--subset", "2000", "--sizes", "784,64,10", "--epochs", "2", "--quiet")
    assert result["test_accuracy"] > 0.6


@needs_data
def test_a_network_memorises_random_labels_of_a_small_subset(tmp_path):
    curves = run_demo("random-labels", "--subset", "300", "--sizes", "784,256,10", "--lr", "3e-3",
                      "--batch-size", "32", "--epochs", "150", "--true-epochs", "10", "--png", str(tmp_path / "r.png"),
                      "--quiet")
    assert curves["random"]["train_accuracy"][-1] == 1.0
    assert curves["random"]["test_accuracy"][-1] < 0.3  # nothing learned that carries over
    assert curves["true"]["test_accuracy"][-1] > 0.6  # the same network on true labels does generalise


@pytest.mark.parametrize("argv, message", [
    (["train", "--epochs", "0"], "must be a positive integer"),
    (["train", "--sizes", "784,x,10"], "comma-separated integers"),
    (["train", "--sizes", "100,10"], "must start with 784"),
    (["train", "--data", "/nonexistent/folder"], "nonexistent"),
])
def test_cli_errors_are_one_line_not_a_traceback(argv, message, capsys, monkeypatch, tmp_path):
    monkeypatch.delenv("TINYGRAD_EDU_DATA", raising=False)  # so that --data is the only place with data
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    with pytest.raises(SystemExit) as exit_info:
        sys.exit(cli.main(argv))
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert message in err
    assert "Traceback" not in err


def test_console_script_runs(tmp_path):
    """The installed `tinygrad-edu` command, `python -m tinygrad_edu` and `python -m demos` answer --help."""
    for command in (["tinygrad-edu", "--help"], [sys.executable, "-m", "tinygrad_edu", "--help"],
                    [sys.executable, "-m", "demos", "--help"]):
        done = subprocess.run(command, capture_output=True, text=True, timeout=60, cwd=tmp_path)
        assert done.returncode == 0, done.stderr
        assert "random-labels" in done.stdout


def test_python_m_tinygrad_edu_without_the_command_installed_says_how_to_get_it(monkeypatch, capsys):
    import tinygrad_edu.__main__ as launcher

    monkeypatch.setattr(launcher, "entry_points", lambda **selection: ())
    assert launcher.main() == 2
    assert "pip install -e ." in capsys.readouterr().err


def test_train_step_is_one_gradient_descent_update_of_the_quadratic_cost():
    import nn
    import tinygrad_edu as tg
    from demos import train

    rng = np.random.default_rng(0)
    model = nn.Linear(4, 3, dtype=np.float64)
    W, b = model.weight.numpy().copy(), model.bias.numpy().copy()
    x, t = rng.normal(size=(5, 4)), rng.normal(size=(5, 3))
    loss = train.train_step(model, nn.MSELoss(), nn.optim.SGD(model.parameters(), lr=0.7), tg.Tensor(x),
                            tg.Tensor(t)).item()
    a = x @ W.T + b
    assert loss == pytest.approx(((t - a) ** 2).sum() / (2 * len(x)))  # C = 1/(2n) Σ‖y − a‖²
    delta = (a - t) / len(x)  # ∂C/∂a
    np.testing.assert_allclose(model.weight.numpy(), W - 0.7 * delta.T @ x)
    np.testing.assert_allclose(model.bias.numpy(), b - 0.7 * delta.sum(axis=0))


def test_train_epochs_visits_every_example_once_per_epoch_and_reports_the_mean_loss():
    import nn
    from demos import common

    X, T = np.arange(14, dtype=np.float32).reshape(7, 2), np.arange(7)
    seen = []

    def step(images, targets):  # a "loss" that is the batch's mean target, to check the weighting
        seen.append(targets.numpy().copy())
        return targets.float().mean()  # (a mean of integers is refused, as in PyTorch)

    model = nn.Linear(2, 1)
    done = list(common.train_epochs(model, step, X, T, epochs=3, batch_size=3, seed=0, start=1, quiet=True))
    assert [epoch for epoch, _ in done] == [1, 2]
    assert [loss for _, loss in done] == pytest.approx([3.0, 3.0])  # mean of 0..6, whatever the batches
    assert [len(batch) for batch in seen] == [3, 3, 1, 3, 3, 1]
    for epoch in range(2):
        assert sorted(np.concatenate(seen[3 * epoch:3 * epoch + 3]).tolist()) == list(range(7))
    assert not np.array_equal(np.concatenate(seen[:3]), np.concatenate(seen[3:]))  # reshuffled per epoch


@needs_data
def test_train_gives_the_same_numbers_with_and_without_jit(capsys):
    """The jitted steps replay the eager ones bit for bit: same weights, losses and accuracies."""
    common = ["train", "--subset", "1000", "--sizes", "784,16,10", "--epochs", "3", "--batch-size", "30",
              "--lr-decay", "0.8", "--quiet"]
    jitted, eager = run_demo(*common), run_demo(*common, "--no-jit")
    for (name, a), (_, b) in zip(jitted["model"].named_parameters(), eager["model"].named_parameters()):
        assert a.numpy().tobytes() == b.numpy().tobytes(), name
    assert [(h["loss"], h["test_accuracy"]) for h in jitted["history"]] == \
        [(h["loss"], h["test_accuracy"]) for h in eager["history"]]
    printed = capsys.readouterr().out.splitlines()
    assert printed[0] == printed[1] and printed[0].startswith("test accuracy")
