"""Demos whose words must follow from their numbers, and smaller demos at their edges: the sentence of
sigmoid-vs-step at any --delta, hidden-units given a network of another shape, cost-surface given a
start or a learning rate it cannot use. One line naming the flag or file, never a traceback."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from demos import cli

DATA = os.environ.get("TINYGRAD_EDU_DATA")
needs_data = pytest.mark.skipif(
    not (DATA and (Path(DATA) / "mnist" / "train-images-idx3-ubyte.gz").exists()),
    reason="set TINYGRAD_EDU_DATA to a folder holding mnist/ to run the demos",
)


def main(capsys, *argv) -> tuple[int, str, str]:
    try:
        status = cli.main(list(argv))
    except SystemExit as exit_:
        status = exit_.code
    out, err = capsys.readouterr()
    return status, out, err


def one_error_line(err: str) -> str:
    assert "Traceback" not in err and "Warning" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    return lines[0]


@needs_data
@pytest.mark.parametrize("delta", ["1e-4", "0.05", "0.2", "0.5", "3", "40"])
def test_sigmoid_vs_step_says_what_its_own_table_shows(delta, capsys):
    status, out, _ = main(capsys, "sigmoid-vs-step", "--subset", "60", "--delta", delta)
    assert status == 0
    rows = re.findall(r"^(one weight|5 weights) +(-?\d+) +(-?[\d.]+) +(-?[\d.]+)$", out, re.M)
    assert len(rows) == 2
    # the largest relative gap between the actual change (Δ σ) and backprop's prediction, from the printed table
    gap = max(abs(float(predicted) - float(actual)) / abs(float(actual)) for _, _, actual, predicted in rows)
    sentence = out.split("\n\n")[-1]
    if "matches the actual change to" in sentence:
        digits = int(re.search(r"to (\d+) significant digits", sentence).group(1))
        assert gap < 1.5 * 10.0 ** -digits and digits >= 2, (gap, sentence)
    elif "is within" in sentence:
        assert 0.005 < gap < 0.11, (gap, sentence)
    else:
        assert "is off by up to" in sentence and gap > 0.09 and f"Δw = {float(delta):g} is too large" in sentence
    assert ("jumps by a whole unit" in sentence) == all(step == "1" for _, step, _, _ in rows)
    said = re.search(r"moves by (\S+) \(one weight\) and (\S+) \(5 weights\)", sentence).groups()
    for (_, _, actual, _), number in zip(rows, said):  # the sentence's numbers are the table's
        assert float(number) == pytest.approx(float(actual), rel=1e-3, abs=1e-6), (actual, sentence)


@needs_data
def test_sigmoid_vs_step_with_a_large_delta_no_longer_claims_agreement(capsys):
    out = main(capsys, "sigmoid-vs-step", "--subset", "60", "--delta", "3")[1]
    assert "matches" not in out and "try --delta 0.05" in out


@needs_data
@pytest.mark.parametrize("sizes", ["784,4,3,10", "784,10"])
def test_hidden_units_refuses_a_loaded_network_without_exactly_one_hidden_layer(sizes, capsys, tmp_path):
    path = tmp_path / "net.npz"
    assert main(capsys, "train", "--subset", "100", "--sizes", sizes, "--epochs", "1", "--quiet", "--save",
                str(path))[0] == 0
    status, out, err = main(capsys, "hidden-units", "--load", str(path), "--png", str(tmp_path / "h.png"), "--quiet")
    assert status == 2 and one_error_line(err) == (f"tinygrad-edu hidden-units: error: hidden-units draws one hidden "
                                                   f"layer: {path} holds a network of sizes {sizes}")
    assert out == "" and not (tmp_path / "h.png").exists()
    status, _, err = main(capsys, "hidden-units", "--sizes", sizes, "--subset", "100", "--quiet")
    assert status == 2 and one_error_line(err).endswith(f"--sizes must be 784,N,10, not {sizes}")


@pytest.mark.parametrize("start", ["nan,nan", "4,inf", "-inf,0", "1e308,4", "4,-1e39", "3e38,4", "10001,0"])
def test_cost_surface_refuses_a_start_it_cannot_use_with_the_flags(start, capsys):
    status, out, err = main(capsys, "cost-surface", f"--start={start}")  # = : a value may start with a minus
    assert status == 2 and out == "" and "argument --start: expected two finite numbers w,b between -10000 and 10000" in err
    assert "Traceback" not in err


@needs_data
@pytest.mark.parametrize("argv", [["--lr", "1e308"], ["--lr", "1e300", "--start=-3,2"]])
def test_cost_surface_with_a_step_too_large_is_one_divergence_line(argv, capsys, tmp_path):
    status, _, err = main(capsys, "cost-surface", "--subset", "300", *argv, "--png", str(tmp_path / "c.png"))
    assert status == 1 and re.fullmatch(r"tinygrad-edu cost-surface: error: descent with m = 1 diverged at update \d+ "
                                        r"\(.*\): η = \S+ is too large; try a smaller --lr", one_error_line(err))
    assert not (tmp_path / "c.png").exists()
