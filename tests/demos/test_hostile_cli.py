"""The command line under hostile conditions, round 2: failing stderr and stdout, slips that would lose
a file (--save over another run, --png over a network, a resume with nothing to train), special files
as inputs, Ctrl-C at start-up, twice, or during --seeds, and schedules that overflow. Each ends in the
right result or one line naming the file or flag, never a traceback or a hang, and loses nothing."""

from __future__ import annotations

import errno
import io
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from demos import cli, train
from test_faults import ROOT, TINY, main, needs_data, one_error_line  # the CLI tests' shared helpers

posix_only = pytest.mark.skipif(os.name != "posix", reason="signals, FIFOs and /dev/full are POSIX")


def epochs_in(path) -> list:
    with np.load(path, allow_pickle=False) as archive:
        return archive["history.epoch"].tolist()


def command(*argv, **options) -> subprocess.Popen:
    """`python -m demos ARGV` on this checkout's code, in its own process."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), **options.pop("env", {})}
    return subprocess.Popen([sys.executable, "-m", "demos", *argv], env=env, text=True, **options)


@pytest.fixture
def checkpoint(tmp_path, capsys):
    """A one-epoch checkpoint of a 784-4-10 network trained on 200 digits with η = 0.5."""
    path = tmp_path / "ck.npz"
    assert main(capsys, "train", *TINY, "--lr", "0.5", "--epochs", "1", "--save", str(path))[0] == 0
    return path


# ------------------------------------------------------------------------------ failing streams
class Failing(io.StringIO):
    """A stream that fails as a real one does: after ``after`` characters, every write raises ``error``."""

    def __init__(self, error: OSError | ValueError, after: int = 0):
        super().__init__()
        self.error, self.after = error, after

    def write(self, text):
        if len(self.getvalue()) + len(text) > self.after:
            raise self.error
        return super().write(text)


@needs_data
@pytest.mark.parametrize("stderr", [
    None,  # closed before Python started (`2>&-`): Python makes sys.stderr None
    Failing(OSError(errno.ENOSPC, "No space left on device")),  # a full disk
    Failing(BrokenPipeError(errno.EPIPE, "Broken pipe"), after=5),  # a log reader that quits after a few bytes
    Failing(ValueError("I/O operation on closed file")),
], ids=["closed", "full", "reader-quits", "closed-later"])
def test_a_failing_stderr_never_stops_training(stderr, tmp_path, capsys, monkeypatch):
    path = tmp_path / "ck.npz"
    monkeypatch.setattr(sys, "stderr", stderr)
    status = cli.main(["train", "--subset", "200", "--sizes", "784,4,10", "--epochs", "2", "--save", str(path)])
    monkeypatch.undo()
    out = capsys.readouterr().out
    assert status == 0 and epochs_in(path) == [1, 2]  # progress bars on, and failing: nothing lost
    assert "epoch   2/2" in out and "test accuracy: " in out


@needs_data
def test_a_failing_stderr_does_not_hide_the_exit_status(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(sys, "stderr", Failing(OSError(errno.ENOSPC, "No space left on device")))
    status = cli.main(["train", *TINY, "--resume", str(tmp_path / "missing.npz")])
    monkeypatch.undo()
    assert status == 2


@needs_data
@posix_only
def test_closed_stderr_and_an_ascii_locale_in_a_real_process(tmp_path):
    """`2>&-` with LC_ALL=C and UTF-8 mode off: the run trains, prints its ± as +/-, and exits 0."""
    process = command("train", *TINY, "--epochs", "1", "--seeds", "0,1", stdout=subprocess.PIPE,
                      preexec_fn=lambda: os.close(2), env={"LC_ALL": "C", "PYTHONUTF8": "0", "LANG": "C"})
    out, _ = process.communicate(timeout=120)
    assert process.returncode == 0, out
    assert "% +/- " in out and "(mean +/- sd)" in out and "over 2 seeds" in out


@needs_data
@posix_only
def test_a_full_stdout_is_one_line_naming_it(tmp_path):
    with open("/dev/full", "w") as full:
        process = command("train", *TINY, "--epochs", "1", stdout=full, stderr=subprocess.PIPE)
        _, err = process.communicate(timeout=120)
    assert process.returncode == 2
    assert one_error_line(err) == "tinygrad-edu train: error: cannot write to standard output: No space left on device"


# ------------------------------------------------------------------------------ Ctrl-C
@needs_data
@posix_only
def test_ctrl_c_at_any_moment_of_start_up_or_twice_is_never_a_traceback(tmp_path):
    """SIGINT while Python imports NumPy and the demos, while the data loads, and twice in quick succession
    while training saves: exit status 130 and at most one line, every time."""
    default_sigint = dict(preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))  # as a terminal's
    path = tmp_path / "ck.npz"
    runs = []
    for delay in (0.3, 0.45, 0.6, 0.9):
        runs.append((delay, command("train", *TINY, "--epochs", "500", "--save", str(path), stdout=subprocess.PIPE,
                                    stderr=subprocess.PIPE, **default_sigint)))
    twice = command("train", *TINY, "--subset", "2000", "--epochs", "500", "--save", str(tmp_path / "twice.npz"),
                    stdout=subprocess.PIPE, stderr=subprocess.PIPE, **default_sigint)
    started = time.monotonic()
    for delay, process in sorted(runs):
        time.sleep(max(0.0, started + delay - time.monotonic()))
        process.send_signal(signal.SIGINT)
    deadline = time.monotonic() + 300  # a loaded machine may take long to load the data and train an epoch
    while not (tmp_path / "twice.npz").exists() and time.monotonic() < deadline:
        time.sleep(0.02)
    assert (tmp_path / "twice.npz").exists(), "the run saved no epoch in 300 s"
    for pause in (0.0, 0.001, 0.01):
        time.sleep(pause)
        twice.send_signal(signal.SIGINT)
    for delay, process in runs + [("twice", twice)]:
        _, err = process.communicate(timeout=60)
        assert process.returncode == 130 and "Traceback" not in err, (delay, err)
        assert len(err.strip().splitlines()) <= 1 and ("interrupted" in err or not err.strip()), (delay, err)
    assert "the last good checkpoint is" in err and epochs_in(tmp_path / "twice.npz")


@posix_only
def test_a_ctrl_c_during_a_save_takes_effect_after_it():
    """Even when the signal reaches another thread (numpy's, tqdm's), the block finishes first."""
    import threading

    # Python's own handler, as under a terminal: a background job (`pytest &`, nohup) starts with SIGINT ignored
    outside = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        done = []
        with pytest.raises(KeyboardInterrupt):
            with cli.ctrl_c_deferred():
                sender = threading.Thread(target=lambda: os.kill(os.getpid(), signal.SIGINT))
                sender.start()
                sender.join()
                time.sleep(0.05)  # the handler has had every chance to run
                done.append("saved")
                done.append("recorded")
        assert done == ["saved", "recorded"]
        assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
        with cli.ctrl_c_deferred():  # without a signal, nothing is raised
            done.append("again")
        assert done[-1] == "again"
    finally:
        signal.signal(signal.SIGINT, outside)


@needs_data
def test_ctrl_c_during_seeds_reports_the_finished_seeds(capsys, monkeypatch):
    real = train.train_once

    def interrupted_at_seed_2(args, dataset, network):
        if args.seed == 2:
            raise KeyboardInterrupt("no checkpoint was saved (--save PATH keeps one after every epoch)")
        return real(args, dataset, network)

    monkeypatch.setattr(train, "train_once", interrupted_at_seed_2)
    status, out, err = main(capsys, "train", *TINY, "--epochs", "1", "--seeds", "5,0,2,3")
    assert status == 130
    assert "over 2 seeds:" in out and "seed 5: test accuracy" in out and "seed 0: test accuracy" in out
    assert "seed 3" not in out and "mean ± sd" in out
    assert one_error_line(err) == ("tinygrad-edu train: interrupted; during seed 2; the summary above is of the 2 "
                                   "seeds finished")  # not the advice to use --save, which --seeds refuses
    status, out, err = main(capsys, "train", *TINY, "--epochs", "1", "--seeds", "2,0")
    assert status == 130 and "over" not in out and one_error_line(err).endswith("during seed 2, the first: no seed "
                                                                                   "finished")


@pytest.mark.parametrize("seeds", ["0,-1", "-3", "4,2,-0,x"])
def test_bad_seeds_are_refused_before_any_training(seeds, capsys):
    status, out, err = main(capsys, "train", *TINY, "--seeds", seeds)
    assert status == 2 and out == "" and "argument --seeds:" in err and "seed 0" not in out


# ------------------------------------------------------------------------------ lost to a slip
@needs_data
def test_save_replaces_only_the_same_run_or_the_one_continued(checkpoint, capsys, tmp_path):
    good = checkpoint.read_bytes()
    for other in (["--lr", "0.4"], ["--seed", "3"], ["--epochs", "2"], ["--sizes", "784,5,10"]):
        status, _, err = main(capsys, "train", *TINY, "--lr", "0.5", "--epochs", "1", *other, "--save", str(checkpoint))
        line = one_error_line(err)
        assert status == 2 and f"--save {checkpoint}: not replacing it, it holds another run (" in line, line
        assert checkpoint.read_bytes() == good
    assert "epochs 1 there, 2 here" in main(capsys, "train", *TINY, "--lr", "0.5", "--epochs", "2", "--save",
                                            str(checkpoint))[2]
    # the very same command again replaces it (with the same numbers); continuing it with --resume does too
    assert main(capsys, "train", *TINY, "--lr", "0.5", "--epochs", "1", "--save", str(checkpoint))[0] == 0
    assert main(capsys, "train", "--resume", str(checkpoint), "--epochs", "2", "--quiet", "--save", str(checkpoint))[0] == 0
    assert epochs_in(checkpoint) == [1, 2]
    for not_a_checkpoint in (b"my notes", b"\x1f\x8b compressed data"):
        other = tmp_path / "other"
        other.write_bytes(not_a_checkpoint)
        status, _, err = main(capsys, "train", *TINY, "--epochs", "1", "--save", str(other))
        assert status == 2 and "not replacing it, it is not a checkpoint" in one_error_line(err)
        assert other.read_bytes() == not_a_checkpoint


@needs_data
def test_the_longest_legal_names_work_and_longer_ones_are_refused_before_any_work(capsys, tmp_path):
    longest = tmp_path / ("c" * 251 + ".npz")  # 255 bytes: its temporary file's name would not fit beside it
    assert main(capsys, "train", *TINY, "--epochs", "1", "--save", str(longest))[0] == 0
    assert epochs_in(longest) == [1] and sorted(p.name for p in tmp_path.iterdir()) == [longest.name]
    status, out, err = main(capsys, "train", *TINY, "--epochs", "1", "--save", str(tmp_path / ("c" * 252 + ".npz")))
    assert status == 2 and out == "" and "is 256 bytes long, more than the 255 this file system allows" in err


@needs_data
def test_a_resume_with_nothing_to_train_still_writes_the_copy_asked_for(checkpoint, capsys, tmp_path):
    copy = tmp_path / "copy.npz"
    status, out, _ = main(capsys, "train", "--resume", str(checkpoint), "--quiet", "--save", str(copy))
    assert status == 0 and f"saved a copy as {copy}" in out
    with np.load(checkpoint) as original, np.load(copy) as copied:
        assert sorted(original.files) == sorted(copied.files)
        for name in original.files:
            np.testing.assert_array_equal(copied[name], original[name], err_msg=name)


@needs_data
def test_a_picture_never_replaces_a_network_or_other_file(checkpoint, capsys, tmp_path):
    good = checkpoint.read_bytes()
    status, _, err = main(capsys, "errors", "--load", str(checkpoint), "--png", str(checkpoint), *TINY)
    assert status == 2 and f"argument --png: not replacing {checkpoint}: it is not a PNG picture" in err
    assert checkpoint.read_bytes() == good
    picture = tmp_path / "digits.png"
    for _ in range(2):  # a picture replaces a picture
        assert main(capsys, "show-digits", "--subset", "20", "--png", str(picture))[0] == 0
    assert picture.read_bytes().startswith(b"\x89PNG")


@needs_data
def test_an_overflowing_schedule_is_reported_as_divergence(capsys, tmp_path):
    path = tmp_path / "ck.npz"
    status, _, err = main(capsys, "train", *TINY, "--lr", "10", "--lr-decay", "1e308", "--epochs", "3", "--save",
                          str(path))
    assert status == 1 and one_error_line(err).startswith(
        "tinygrad-edu train: error: training diverged after epoch 1: the learning rate η·γᵉ has grown to inf")
    assert not path.exists()


# ------------------------------------------------------------------------------ special files and crafted checkpoints
@needs_data
@posix_only
def test_special_files_as_checkpoints_are_one_line_at_once(capsys, tmp_path):
    fifo = tmp_path / "fifo.npz"
    os.mkfifo(fifo)
    signal.alarm(30)  # a FIFO read would block forever: fail instead
    try:
        picture = ["--png", str(tmp_path / "x.png")]
        for argv in (["train", "--resume", str(fifo)], ["train", "--resume", "/dev/zero"],
                     ["hidden-units", "--load", str(fifo), *picture], ["errors", "--load", "/dev/zero", *picture]):
            status, _, err = main(capsys, *argv, "--quiet")
            assert status == 2 and "it is a special file" in one_error_line(err), (argv, err)
    finally:
        signal.alarm(0)


@needs_data
def test_a_crafted_learning_rate_is_a_checkpoint_error_on_resume_and_load(checkpoint, capsys, tmp_path):
    from demos import checkpoints
    with np.load(checkpoint) as archive:
        arrays = {name: archive[name] for name in archive.files}
    arrays["optim.param_groups[0].lr"] = np.array(50.0)
    arrays["digest"] = np.array(checkpoints._digest(arrays))
    np.savez(checkpoint, **arrays)
    for argv in (["train", "--resume", str(checkpoint), "--epochs", "2", "--quiet"],
                 ["hidden-units", "--load", str(checkpoint), "--quiet", "--png", str(tmp_path / "h.png")]):
        status, _, err = main(capsys, *argv)
        assert status == 2 and one_error_line(err).startswith(
            f"tinygrad-edu {argv[0]}: error: {checkpoint}: optim.param_groups[0].lr is 50.0, but its recorded "
            "settings give 0.5 after 1 epoch"), err
