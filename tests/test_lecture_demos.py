"""The rest of the lecture's demos (issue 16) run end to end on small subsets and show what they teach."""

from __future__ import annotations

import re

import numpy as np
import pytest

from demos import seeds
from test_demos import needs_data, run_demo


# ------------------------------------------------------------------------------------- --seeds
@needs_data
def test_seeds_repeat_the_single_runs_and_summarise_them(capsys):
    flags = ["train", "--subset", "600", "--sizes", "784,16,10", "--epochs", "2", "--quiet"]
    result = run_demo(*flags, "--seeds", "3,1")
    singles = [run_demo(*flags, "--seed", seed)["test_accuracy"] for seed in ("3", "1")]
    out = capsys.readouterr().out
    assert [r["test_accuracy"] for r in result["runs"]] == singles  # each seed is the run --seed gives
    assert result["test_accuracy"]["mean"] == pytest.approx(np.mean(singles))
    assert result["test_accuracy"]["sd"] == pytest.approx(np.std(singles, ddof=1))
    assert (result["test_accuracy"]["min"], result["test_accuracy"]["max"]) == (min(singles), max(singles))
    assert f"seed 3: test accuracy {100 * singles[0]:.2f}%" in out
    assert re.search(r"test accuracy \d+\.\d\d% ± \d+\.\d\d% \(mean ± sd\), min \d+\.\d\d%, max \d+\.\d\d%", out)


@needs_data
def test_seeds_name_the_stuck_runs(capsys):
    # One epoch on a small subset leaves some output sigmoids saturated for some seeds.
    result = run_demo("train", "--subset", "6000", "--epochs", "1", "--quiet", "--seeds", "0,1,2")
    out = capsys.readouterr().out
    for seed, run in zip(result["seeds"], result["runs"]):
        counts = np.bincount(run["predictions"], minlength=10)
        assert (f"seed {seed}: test" in out)
        line = next(line for line in out.splitlines() if line.startswith(f"seed {seed}: test"))
        assert ("STUCK" in line) == bool((counts == 0).any())
    assert result["stuck_seeds"] == [s for s, r in zip(result["seeds"], result["runs"])
                                     if (np.bincount(r["predictions"], minlength=10) == 0).any()]
    assert result["stuck_seeds"], "this setting was chosen because some seeds get stuck"


@needs_data
def test_perceptron_takes_seeds_too():
    result = run_demo("perceptron", "--subset", "600", "--epochs", "1", "--quiet", "--seeds", "0,1")
    assert len(result["runs"]) == 2
    assert result["runs"][0]["test_accuracy"] != result["runs"][1]["test_accuracy"]  # another order of examples


def test_never_predicted_and_summary_match_numpy():
    assert seeds.never_predicted(np.array([0, 1, 1, 3]), classes=5) == [2, 4]
    values = [0.9, 0.95, 0.8]
    assert seeds.summary(values) == pytest.approx(
        {"mean": np.mean(values), "sd": np.std(values, ddof=1), "min": 0.8, "max": 0.95})
    assert seeds.summary([0.9])["sd"] == 0.0


@pytest.mark.parametrize("text, message", [("0,x", "comma-separated integers"), ("1,1", "repeats")])
def test_bad_seed_lists_are_refused_by_name(text, message):
    import argparse
    with pytest.raises(argparse.ArgumentTypeError, match=message):
        seeds.seed_list(text)


def test_seeds_with_save_is_refused(tmp_path, capsys):
    from demos import cli
    assert cli.main(["train", "--seeds", "0,1", "--save", str(tmp_path / "c.npz")]) == 2
    assert "--seeds" in capsys.readouterr().err
