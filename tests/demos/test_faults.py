"""The command line under faults: damaged checkpoints, conflicting resumes, runs that diverge,
bad destinations, closed pipes and Ctrl-C each end in one line (or a quiet exit), never a traceback,
and never cost a good checkpoint. Small subsets and tiny networks keep every run to a second or so."""

from __future__ import annotations

import io
import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import nn
import tinygrad_edu as tg
from demos import cli, common, sigmoid_vs_step

ROOT = next(p for p in Path(__file__).resolve().parents if (p / "pyproject.toml").exists())  # whose code subprocesses run
DATA = os.environ.get("TINYGRAD_EDU_DATA")
needs_data = pytest.mark.skipif(
    not (DATA and (Path(DATA) / "mnist" / "train-images-idx3-ubyte.gz").exists()),
    reason="set TINYGRAD_EDU_DATA to a folder holding mnist/ to run the demos",
)
TINY = ["--subset", "200", "--sizes", "784,4,10", "--quiet"]


def main(capsys, *argv) -> tuple[int, str, str]:
    """Run `tinygrad-edu ARGV` in this process: (exit status, stdout, stderr)."""
    try:
        status = cli.main(list(argv))
    except SystemExit as exit_:  # argparse's own errors
        status = exit_.code
    out, err = capsys.readouterr()
    return status, out, err


def one_error_line(err: str) -> str:
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    return lines[0]


def history(path) -> list[float]:
    with np.load(path, allow_pickle=False) as archive:
        return archive["history.epoch"].tolist()


@pytest.fixture
def checkpoint(tmp_path, capsys):
    """A one-epoch checkpoint of a 784-4-10 network trained on 200 digits with η = 0.5."""
    path = tmp_path / "ck.npz"
    status, _, _ = main(capsys, "train", *TINY, "--lr", "0.5", "--epochs", "1", "--save", str(path))
    assert status == 0
    return path


# ---------------------------------------------------------------------------- flags, before any work
@pytest.mark.parametrize("argv, message", [
    (["train", "--lr", "inf"], "argument --lr: must be a positive finite number, got inf"),
    (["train", "--lr", "nan"], "argument --lr: must be a positive finite number, got nan"),
    (["train", "--lr-decay", "inf"], "argument --lr-decay: must be a positive finite number"),
    (["train", "--dropout", "nan"], "argument --dropout: must be in [0, 1)"),
    (["train", "--seed", "-1"], "argument --seed: must be an integer ≥ 0, got -1"),
    (["sigmoid-vs-step", "--seed", "-1"], "argument --seed: must be an integer ≥ 0, got -1"),
    (["train", "--save", "/nonexistent-folder/ck.npz"],
     "argument --save: cannot write /nonexistent-folder/ck.npz: the folder /nonexistent-folder does not exist"),
    (["descent-variants", "--png", "/nonexistent-folder/d.png"], "argument --png: cannot write"),
    (["train", "--sizes", "784,100000000000,10"], "more than this machine's"),
])
def test_bad_flags_are_named_before_any_data_is_loaded(argv, message, capsys, monkeypatch, tmp_path):
    monkeypatch.delenv("TINYGRAD_EDU_DATA", raising=False)  # no data anywhere: the flag must fail first
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    status, _, err = main(capsys, *argv)
    assert status == 2
    assert "Traceback" not in err
    assert message in err.strip().splitlines()[-1]  # after argparse's usage lines


@pytest.mark.skipif(os.name != "posix", reason="FIFOs are POSIX")
@pytest.mark.parametrize("flag, demo", [("--save", "train"), ("--png", "random-labels"), ("--png", "show-digits")])
def test_a_fifo_or_a_folder_as_destination_is_refused(flag, demo, capsys, tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    for destination, message in ((fifo, "it is a special file"), (tmp_path, "it is a folder")):
        status, _, err = main(capsys, demo, flag, str(destination))
        assert status == 2 and f"argument {flag}: cannot write {destination}: {message}" in err
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)


def test_the_error_printer_keeps_quotes_and_shows_a_keys_name(capsys, monkeypatch):
    def fail_with(err):
        def run(args):
            raise err
        monkeypatch.setattr(sigmoid_vs_step, "run", run)
        return main(capsys, "sigmoid-vs-step")

    status, _, err = fail_with(ValueError("cannot use 'x'"))
    assert status == 2 and one_error_line(err).endswith("error: cannot use 'x'")
    status, _, err = fail_with(KeyError("layer"))
    assert status == 2 and one_error_line(err).endswith("error: layer")


# ---------------------------------------------------------------------------- damaged checkpoints
@needs_data
@pytest.mark.parametrize("damage", [
    lambda data: data[: len(data) // 2],
    lambda data: b"",
    lambda data: data[:1000] + bytes([data[1000] ^ 0xFF]) + data[1001:],
    lambda data: b"\x93NUMPY" + data[6:],
], ids=["truncated", "empty", "flipped-byte", "npy-magic"])
def test_a_damaged_checkpoint_is_one_line_naming_the_file(checkpoint, damage, capsys):
    checkpoint.write_bytes(damage(checkpoint.read_bytes()))
    status, _, err = main(capsys, "train", "--resume", str(checkpoint), "--epochs", "2")
    assert status == 2
    assert one_error_line(err).startswith(f"tinygrad-edu train: error: {checkpoint}")


# ---------------------------------------------------------------------------- resuming
@needs_data
def test_a_resume_refuses_conflicting_flags_naming_each(checkpoint, capsys):
    status, _, err = main(capsys, "train", "--resume", str(checkpoint), "--epochs", "2", "--lr", "0.1",
                          "--sizes", "784,5,10", "--subset", "200")
    line = one_error_line(err)
    assert status == 2 and line.startswith(f"tinygrad-edu train: error: {checkpoint} was made with other settings")
    assert "--lr 0.1 (the checkpoint has 0.5)" in line and "--sizes 784,5,10 (the checkpoint has 784,4,10)" in line
    assert "--subset" not in line  # given, but the same as the checkpoint's
    status, _, err = main(capsys, "fashion", "--resume", str(checkpoint))
    assert status == 2 and "was trained on mnist, not fashion-mnist" in one_error_line(err)


@needs_data
def test_a_resume_takes_the_settings_left_out_from_the_checkpoint(checkpoint, capsys, tmp_path):
    args = cli.build_parser().parse_args(["train", *TINY, "--lr", "0.5", "--epochs", "2"])
    straight = args.run(args)
    args = cli.build_parser().parse_args(["train", "--resume", str(checkpoint), "--epochs", "2", "--quiet"])
    resumed = args.run(args)
    assert (args.sizes, args.lr, args.subset) == ([784, 4, 10], 0.5, 200)
    for (name, a), (_, b) in zip(straight["model"].named_parameters(), resumed["model"].named_parameters()):
        np.testing.assert_array_equal(a.numpy(), b.numpy(), err_msg=name)


@needs_data
def test_a_resume_with_nothing_left_to_do_says_so(checkpoint, capsys):
    status, out, _ = main(capsys, "train", "--resume", str(checkpoint))  # --epochs: the checkpoint's, 1
    assert status == 0 and f"{checkpoint} already has all 1 epochs: nothing to train" in out
    status, _, err = main(capsys, "train", "--resume", str(checkpoint), "--epochs", "2", "--save", str(checkpoint))
    assert status == 0 and history(checkpoint) == [1, 2]
    status, _, err = main(capsys, "train", "--resume", str(checkpoint), "--epochs", "1")
    assert status == 2 and "already has 2 epochs, more than --epochs 1" in one_error_line(err)


# ---------------------------------------------------------------------------- divergence
DIVERGING = ["--activation", "relu", "--loss", "cross-entropy", "--optimizer", "adam", "--lr", "1e30"]


@needs_data
def test_a_diverging_run_stops_in_one_line_and_saves_nothing(tmp_path, capsys):
    path = tmp_path / "diverging.npz"
    status, _, err = main(capsys, "train", *TINY, *DIVERGING, "--epochs", "2", "--save", str(path))
    line = one_error_line(err)
    assert status == 1
    assert line.startswith("tinygrad-edu train: error: training diverged in epoch 1, step ")
    assert "no checkpoint was saved" in line
    assert not path.exists()


def test_an_epoch_that_leaves_a_weight_infinite_is_not_evaluated():
    model = nn.Linear(2, 1)
    calls = []

    def step(images, targets):  # a finite loss, but the last update blows a weight up
        calls.append(len(images))
        if len(calls) == 3:
            model.weight.data[0, 0] = np.inf
        return tg.tensor(0.5)  # a step returns its loss as a tensor (demos.train.make_step)

    X, T = np.zeros((6, 2), dtype=np.float32), np.zeros(6)
    epochs = common.train_epochs(model, step, X, T, epochs=2, batch_size=2, seed=0, quiet=True)
    with pytest.raises(common.Diverged, match=r"in epoch 1: after its last step \(3\) weight hold NaN or infinite"):
        next(epochs)


@pytest.mark.parametrize("loss, message", [(float("nan"), "step 2: the loss is nan"),
                                           (float("inf"), "step 2: the loss is inf")])
def test_a_step_with_a_non_finite_loss_stops_the_epoch(loss, message):
    model, losses = nn.Linear(2, 1), iter([0.5, loss, 0.5])
    epochs = common.train_epochs(model, lambda images, targets: tg.tensor(next(losses)),
                                 np.zeros((6, 2), dtype=np.float32), np.zeros(6), epochs=1, batch_size=2, seed=0,
                                 quiet=True)
    with pytest.raises(common.Diverged, match=f"epoch 1, {message}"):
        next(epochs)


def test_a_loss_refusing_nan_names_the_step():
    def step(images, targets):
        return nn.MSELoss()(tg.Tensor(np.full((2, 1), np.nan, dtype=np.float32)), targets).item()

    epochs = common.train_epochs(nn.Linear(2, 1), step, np.zeros((4, 2), dtype=np.float32),
                                 np.zeros((4, 1), dtype=np.float32), epochs=1, batch_size=2, seed=0, quiet=True)
    with pytest.raises(common.Diverged, match="epoch 1, step 1: .*nan"):
        next(epochs)


# ---------------------------------------------------------------------------- pipes and signals
class ClosedAfterFirstEpoch(io.StringIO):
    """A stdout whose reader goes away (as `| head -1` does) once the first epoch's line has been read."""

    def __init__(self, fileno: int):
        super().__init__()
        self._fileno = fileno

    def write(self, text):
        if "epoch" in text and "epoch" in self.getvalue():
            raise BrokenPipeError(32, "Broken pipe")
        return super().write(text)

    def fileno(self):
        return self._fileno


@needs_data
def test_a_closed_stdout_loses_no_epoch_and_exits_quietly(tmp_path, capsys, monkeypatch):
    path = tmp_path / "ck.npz"
    with open(tmp_path / "stdout", "wb") as sink:
        monkeypatch.setattr(sys, "stdout", ClosedAfterFirstEpoch(sink.fileno()))
        status = cli.main(["train", "--subset", "200", "--sizes", "784,4,10", "--epochs", "3", "--save", str(path)])
        monkeypatch.undo()
    assert status == 141 and capsys.readouterr().err.count("error") == 0
    assert history(path) == [1, 2]  # epoch 2's line could not be printed, but the epoch was saved first


@needs_data
def test_head_dash_1_ends_the_command_quietly(tmp_path):
    done = subprocess.run(f"{sys.executable} -m demos train {' '.join(TINY[:-1])} --epochs 3 --save ck.npz | head -1",
                          shell=True, capture_output=True, text=True, timeout=120, cwd=tmp_path,
                          env={**os.environ, "PYTHONUNBUFFERED": "1", "PYTHONPATH": str(ROOT)})
    assert done.stdout == "Sequential(\n"
    assert "Traceback" not in done.stderr and "Error" not in done.stderr and "Exception" not in done.stderr


@needs_data
@pytest.mark.skipif(os.name != "posix", reason="SIGINT to another process is POSIX")
def test_ctrl_c_says_where_the_last_good_checkpoint_is(tmp_path):
    path = tmp_path / "ck.npz"
    process = subprocess.Popen([sys.executable, "-m", "demos", "train", *TINY, "--subset", "2000", "--epochs", "500",
                                "--save", str(path)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               env={**os.environ, "PYTHONPATH": str(ROOT)},  # this checkout's code
                               # a shell's background job (`pytest &`, a mutmut runner) hands its children SIGINT
                               # ignored, and Python keeps it ignored; a terminal's Ctrl-C reaches the default handler
                               preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.monotonic() + 60
    while not path.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=60)
    assert process.returncode == 130
    epochs = len(history(path))
    assert one_error_line(err) == (f"tinygrad-edu train: interrupted; the last good checkpoint is {path}, after epoch "
                                   f"{epochs} (--resume {path} continues from it)")


# ---------------------------------------------------------------------------- smaller demos
@needs_data
def test_numerical_gradient_says_how_many_examples_it_used(capsys):
    status, out, _ = main(capsys, "numerical-gradient", "--subset", "20", "--examples", "100", "--sizes", "784,1,10",
                          "--quiet")
    assert status == 0
    assert "using 20" in out and "over 20 digits" in out and "over 100 digits" not in out


@needs_data
def test_descent_variants_refuses_a_mini_batch_as_large_as_the_subset(capsys, tmp_path):
    status, _, err = main(capsys, "descent-variants", "--subset", "100", "--batch-size", "100", "--png",
                          str(tmp_path / "d.png"), "--quiet")
    assert status == 2 and "--batch-size 100 is not smaller than the 100 training digits" in one_error_line(err)
