"""`tinygrad-edu cnn`: one epoch of LeNet on a subset of the real digits, its checkpoint, its picture, its flags."""

from __future__ import annotations

import os
import re

import numpy as np
import pytest

from demos import cli, cnn
from test_demos import needs_data, run_demo  # the demo tests' shared helpers

def test_cnn_is_a_command_with_lenets_defaults(capsys):
    with pytest.raises(SystemExit):
        cli.build_parser().parse_args(["--help"])
    assert re.search(r"\bcnn\b", capsys.readouterr().out)
    args = cli.build_parser().parse_args(["cnn"])
    assert (args.channels, args.hidden, args.optimizer, args.batch_size) == ([20, 50], 500, "adam", 64)
    model = cnn.build(args)[0]
    assert [p.shape for p in model.parameters()] == [(20, 1, 5, 5), (20,), (50, 20, 5, 5), (50,), (500, 800), (500,),
                                                     (10, 500), (10,)]


@pytest.mark.parametrize("flags", [[], ["--channels", "3,7", "--hidden", "11"], ["--optimizer", "sgd"]])
def test_a_network_too_large_for_memory_is_refused_before_any_data_is_read(flags, monkeypatch):
    args = cli.build_parser().parse_args(["cnn", *flags])
    cnn.check(args)  # it fits this machine
    pages = {"SC_PAGE_SIZE": 4096, "SC_PHYS_PAGES": 1}  # a machine of 4 KiB
    monkeypatch.setattr(os, "sysconf", lambda name: pages[name])
    with pytest.raises(MemoryError, match=r"^--channels \d+,\d+ --hidden \d+: ([\d,]+) weights and biases") as info:
        cnn.check(args)
    count = int(info.value.args[0].split(": ")[1].split(" ")[0].replace(",", ""))
    assert count == sum(p.numel() for p in cnn.build(args)[0].parameters())  # the count is the model's


@pytest.mark.parametrize("flag", ["--channels 20", "--channels 0,5", "--channels a,b", "--dataset kmnist"])
def test_bad_flags_are_refused(flag, capsys):
    with pytest.raises(SystemExit):
        cli.build_parser().parse_args(["cnn", *flag.split()])
    assert "error" in capsys.readouterr().err


@needs_data
def test_one_epoch_on_a_subset_learns_saves_resumes_and_draws(tmp_path, capsys):
    png, saved = tmp_path / "cnn.png", tmp_path / "cnn.npz"
    common = ["--subset", "600", "--channels", "4,8", "--hidden", "32", "--batch-size", "5", "--lr", "0.003"]
    result = run_demo("cnn", *common, "--epochs", "1", "--save", str(saved), "--png", str(png))
    out = capsys.readouterr().out
    assert re.search(r"epoch   1/1: loss \d\.\d{4}, test accuracy \d+\.\d\d%", out)
    assert result["test_accuracy"] > 0.5  # one epoch of 120 steps; chance is 0.1
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # A second epoch from the checkpoint equals two epochs without stopping.
    resumed = run_demo("cnn", "--resume", str(saved), "--epochs", "2", "--png", str(png))
    unbroken = run_demo("cnn", *common, "--epochs", "2", "--png", str(png))
    assert resumed["history"] == [dict(h, seconds=resumed["history"][i]["seconds"]) for i, h in enumerate(unbroken["history"])]
    for a, b in zip(resumed["model"].parameters(), unbroken["model"].parameters()):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    with pytest.raises(ValueError, match="other settings: --channels 8,8"):
        run_demo("cnn", "--resume", str(saved), "--channels", "8,8", "--epochs", "2")
    with pytest.raises(ValueError, match="lack sizes, activation.*continued by the command that made it"):
        run_demo("train", "--resume", str(saved), "--epochs", "2")  # a cnn checkpoint, handed to train
    made_by_train = tmp_path / "mlp.npz"
    run_demo("train", "--subset", "100", "--sizes", "784,4,10", "--epochs", "1", "--save", str(made_by_train))
    with pytest.raises(ValueError, match="lack channels, hidden.*continued by the command that made it"):
        run_demo("cnn", "--resume", str(made_by_train), "--epochs", "2")
