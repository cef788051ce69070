"""The rest of the lecture's demos (issue 16) run end to end on small subsets and show what they teach."""

from __future__ import annotations

import importlib.util
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
    # Early in training some seeds leave an output sigmoid that has not yet learned to fire.
    result = run_demo("train", "--subset", "6000", "--epochs", "2", "--quiet", "--seeds", "0,1,2,3")
    out = capsys.readouterr().out
    for seed, run in zip(result["seeds"], result["runs"]):
        labels, predictions = run["labels"], run["predictions"]
        recall = np.array([(predictions[labels == k] == k).mean() for k in range(10)])
        line = next(line for line in out.splitlines() if line.startswith(f"seed {seed}: test"))
        assert f"worst class {recall.argmin()}: {100 * recall.min():.1f}% recognised" in line
        assert ("STUCK" in line) == bool((recall < 0.1).any())
    assert result["stuck_seeds"], "this setting was chosen because some seeds get stuck"
    assert len(result["stuck_seeds"]) < len(result["seeds"]), "and others do not"


@needs_data
def test_perceptron_takes_seeds_too():
    result = run_demo("perceptron", "--subset", "600", "--epochs", "1", "--quiet", "--seeds", "0,1")
    assert len(result["runs"]) == 2
    assert result["runs"][0]["test_accuracy"] != result["runs"][1]["test_accuracy"]  # another order of examples


def test_stuck_classes_and_summary_match_numpy():
    labels = np.array([0, 0, 1, 1, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3])
    predictions = np.array([0, 1, 1, 1, 0, 0, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 0])
    np.testing.assert_allclose(seeds.recognised(predictions, labels, classes=5), [0.5, 1, 0, 10 / 11, 0])
    assert seeds.stuck_classes(predictions, labels, classes=5) == [2, 4]
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


def png_size(path) -> tuple:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return tuple(int(v) for v in np.frombuffer(data[16:24], dtype=">u4"))


def picture_as_expected(path) -> bool:
    """A non-empty PNG where matplotlib (the `plots` extra) is installed, and no file where it is not."""
    if importlib.util.find_spec("matplotlib") is None:
        return not path.exists()
    return png_size(path)[0] > 0


# --------------------------------------------------------------------------------- adversarial
@needs_data
def test_adversarial_accuracy_falls_with_epsilon_while_random_noise_costs_little(tmp_path, capsys):
    png = tmp_path / "adv.png"
    result = run_demo("adversarial", "--subset", "6000", "--epochs", "8", "--quiet", "--png", str(png))
    out = capsys.readouterr().out
    rows = result["rows"]
    assert [r["epsilon"] for r in rows] == [0.0, 0.05, 0.1, 0.15, 0.2, 0.25]
    for r in rows:
        assert f"epsilon {r['epsilon']:.2f}: adversarial accuracy {100 * r['adversarial']:.2f}%, " \
               f"random-noise accuracy {100 * r['random']:.2f}%" in out.splitlines()
    clean = rows[0]["adversarial"]
    assert rows[0]["random"] == clean > 0.8
    adversarial = [r["adversarial"] for r in rows]
    assert all(later < earlier for earlier, later in zip(adversarial, adversarial[1:]))
    assert adversarial[-1] < clean / 2  # the gradient's direction wrecks it...
    for r in rows[1:3]:
        assert r["random"] > clean - 0.05  # ...while the same size of change in random directions hardly matters
    for r in rows[1:]:
        assert r["adversarial"] < r["random"] - 0.1
    assert result["fooled"] > 0 and picture_as_expected(png)


def test_input_gradient_is_each_digits_own_cost_gradient():
    import nn
    import tinygrad_edu as tg
    from demos import adversarial, common

    rng = np.random.default_rng(0)
    model = common.mlp([784, 5, 10], seed=1, final_activation=True, dtype=np.float64)
    X, y = rng.random((3, 784)), np.array([3, 1, 4])

    def loss(a, labels):
        return nn.MSELoss()(a, nn.functional.one_hot(labels, 10, dtype=np.float64))

    gradient = adversarial.input_gradient(model, loss, X, y)
    h = 1e-6
    for i, p in [(0, 0), (0, 400), (1, 300), (2, 783), (2, 350)]:
        def cost(value):
            x = X[i:i + 1].copy()
            x[0, p] = value
            with tg.no_grad():
                return loss(model(tg.Tensor(x)), y[i:i + 1]).item()
        numeric = (cost(X[i, p] + h) - cost(X[i, p] - h)) / (2 * h)
        # the mean over 3 digits scales each digit's own gradient by 1/3
        assert 3 * gradient[i, p] == pytest.approx(numeric, rel=1e-5, abs=1e-10)


@needs_data
@pytest.mark.parametrize("recipe", [["train", "--sizes", "784,20,10"],
                                    ["deep", "--sizes", "784,32,10"]])  # relu, dropout, cross-entropy, Adam
def test_adversarial_loads_the_network_a_checkpoint_holds(recipe, tmp_path, capsys):
    checkpoint = tmp_path / "net.npz"
    trained = run_demo(*recipe, "--subset", "2000", "--epochs", "2", "--quiet", "--save", str(checkpoint))
    capsys.readouterr()
    result = run_demo("adversarial", "--subset", "2000", "--load", str(checkpoint), "--quiet",
                      "--png", str(tmp_path / "a.png"))
    assert result["rows"][0]["adversarial"] == trained["test_accuracy"]  # the same network, not a new one
    assert result["rows"][-1]["adversarial"] < result["rows"][0]["adversarial"]


@needs_data
def test_loading_a_checkpoint_with_other_flags_names_them(tmp_path, capsys):
    from demos import cli
    checkpoint = tmp_path / "net.npz"
    run_demo("train", "--subset", "500", "--sizes", "784,20,10", "--epochs", "1", "--quiet", "--save", str(checkpoint))
    capsys.readouterr()
    assert cli.main(["errors", "--subset", "500", "--load", str(checkpoint), "--sizes", "784,30,10",
                     "--activation", "relu", "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "--sizes 784,30,10 (the checkpoint has 784,20,10)" in err and "--activation relu" in err
    assert "Traceback" not in err
    # one that is not a checkpoint at all
    (tmp_path / "junk.npz").write_bytes(b"not a checkpoint")
    assert cli.main(["errors", "--subset", "500", "--load", str(tmp_path / "junk.npz"), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "junk.npz" in err and "Traceback" not in err


# -------------------------------------------------------------------------------- cost-surface
@needs_data
def test_cost_surface_paths_descend_the_grid_they_are_drawn_on(tmp_path, capsys):
    from demos import cost_surface

    png = tmp_path / "cs.png"
    result = run_demo("cost-surface", "--subset", "3000", "--quiet", "--png", str(png))
    out = capsys.readouterr().out
    s, y, C, ws, bs = result["s"], result["y"], result["grid"], result["ws"], result["bs"]
    n = len(s)
    # the grid is the lecture's C(w, b) = 1/(2n) Σ (y − σ(w·s + b))², checked at a few points
    for i, j in [(0, 0), (40, 17), (80, 80), (13, 66)]:
        a = 1 / (1 + np.exp(-(float(ws[j]) * s[:, 0].astype(np.float64) + float(bs[i]))))
        assert C[i, j] == pytest.approx(np.mean((y[:, 0] - a) ** 2) / 2, rel=1e-4)
    full, sgd, mini = (result["results"][name] for name in ("full-batch GD", "SGD (m = 1)", "mini-batch SGD (m = 10)"))
    for r in (full, sgd, mini):
        assert r["reached"] and r["cost"] <= result["target"]
        assert tuple(r["path"][0]) == (4.0, 4.0)  # the same start
        assert len(r["path"]) == r["updates"] + 1
        w, b = r["path"][-1]
        assert cost_surface.cost_at(s, y, w, b) == pytest.approx(r["cost"], rel=1e-4)
    assert full["examples"] == full["updates"] * n and sgd["examples"] == sgd["updates"]
    assert mini["updates"] <= mini["examples"] <= 10 * mini["updates"]
    assert sgd["examples"] < full["examples"]
    assert "S" in out and "*" in out and picture_as_expected(png)


# ------------------------------------------------------------------------------------- scaling
@needs_data
def test_raw_pixels_saturate_the_hidden_sigmoids_and_learn_worst(tmp_path, capsys):
    # PyTorch's small initial weights: on [0, 1] or standardised pixels no sigmoid starts saturated.
    result = run_demo("scaling", "--subset", "3000", "--epochs", "2", "--init", "pytorch", "--quiet",
                      "--png", str(tmp_path / "s.png"))
    raw, unit, standard = result["raw 0–255"], result["[0, 1]"], result["standardised"]
    assert raw["range"] == (0.0, 255.0) and unit["range"] == (0.0, 1.0) and standard["range"][0] < 0
    assert raw["saturated"] > 0.8 and max(unit["saturated"], standard["saturated"]) < 0.05
    assert unit["accuracies"][-1] > raw["accuracies"][-1] + 0.4
    assert standard["accuracies"][-1] > raw["accuracies"][-1] + 0.4
    out = capsys.readouterr().out
    assert re.search(r"raw 0–255 +0\.00 to 255\.00 +\d+\.\d% +\d+\.\d\d%", out)


def test_saturated_fraction_counts_first_layer_inputs_beyond_five():
    from demos import common, scaling

    model = common.mlp([784, 7, 10], seed=3, init="normal")
    X = np.random.default_rng(0).random((20, 784), dtype=np.float32) * 0.3
    W, b = model[0].weight.numpy().astype(np.float64), model[0].bias.numpy().astype(np.float64)
    z = X.astype(np.float64) @ W.T + b
    assert 0 < (np.abs(z) > 5).mean() < 1  # a case with both kinds
    assert scaling.saturated_fraction(model, X) == pytest.approx((np.abs(z) > 5).mean())


# -------------------------------------------------------------------------------- hidden-units
@needs_data
def test_hidden_units_contributions_add_up_to_the_outputs(tmp_path, capsys):
    png = tmp_path / "h.png"
    result = run_demo("hidden-units", "--subset", "3000", "--epochs", "2", "--digit", "3", "--quiet", "--png", str(png))
    out = capsys.readouterr().out
    from demos import common
    from tinygrad_edu.data import load_mnist

    X, y = load_mnist(train=False)
    index = int(np.flatnonzero(y[:500] == 3)[0])
    assert result["index"] == index
    W = result["weights"].astype(np.float64)
    assert W.shape == (30, 784)
    trained = run_demo("train", "--subset", "3000", "--epochs", "2", "--quiet")["model"]  # the same seed: the same net
    b = trained[0].bias.numpy().astype(np.float64)
    np.testing.assert_allclose(W, trained[0].weight.numpy())
    u = W @ X[index].astype(np.float64) + b
    h = 1 / (1 + np.exp(-u))
    np.testing.assert_allclose(result["weighted"], u, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(result["hidden"], h, rtol=1e-4, atol=1e-6)
    V, c = trained[2].weight.numpy().astype(np.float64), trained[2].bias.numpy().astype(np.float64)
    np.testing.assert_allclose(result["contributions"], V * h, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(result["z"], V @ h + c, rtol=1e-4, atol=1e-5)
    assert result["predicted"] == int(np.argmax(V @ h + c)) == int(common.predict(trained, X[index:index + 1])[0])
    assert list(result["top"]) == list(np.argsort(-result["weighted"])[:5])
    assert np.all(np.diff(result["hidden"][result["top"]]) <= 0)  # the ones that fire most
    assert f"test digit {index}, a 3" in out and picture_as_expected(png)
    assert f"{(h > 0.5).sum()} of 30 hidden neurons fire (h > 0.5), {(h > 0.99).sum()} of them saturated" in out


@needs_data
def test_hidden_units_wants_one_hidden_layer(capsys):
    from demos import cli
    assert cli.main(["hidden-units", "--sizes", "784,16,16,10", "--subset", "100", "--quiet"]) == 2
    assert "784,N,10" in capsys.readouterr().err


# -------------------------------------------------------------------------------------- errors
@needs_data
def test_errors_confusion_matrix_and_gallery(tmp_path, capsys):
    from demos import errors

    png = tmp_path / "e.png"
    result = run_demo("errors", "--subset", "3000", "--epochs", "2", "--quiet", "--png", str(png))
    out = capsys.readouterr().out
    labels, predictions, counts = result["labels"], result["predictions"], result["confusion"]
    reference = np.zeros((10, 10), dtype=int)
    for t, p in zip(labels, predictions):
        reference[t, p] += 1
    np.testing.assert_array_equal(counts, reference)
    np.testing.assert_array_equal(result["wrong"], np.flatnonzero(labels != predictions))
    assert f"{len(result['wrong'])} of {len(labels)} test digits misclassified" in out
    first = result["wrong"][0]
    assert f"{first}: {labels[first]}→{predictions[first]}" in out
    assert np.array_equal(errors.confusion_matrix(np.array([1, 1, 0]), np.array([1, 0, 0]), classes=2), [[1, 0], [1, 1]])
    assert picture_as_expected(png)


@needs_data
def test_without_matplotlib_the_demos_print_and_say_how_to_get_the_picture(tmp_path, capsys, monkeypatch):
    import sys
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib now raises ImportError
    png = tmp_path / "e.png"
    result = run_demo("errors", "--subset", "600", "--epochs", "1", "--quiet", "--png", str(png))
    out = capsys.readouterr().out
    assert "confusion matrix" in out and "pip install" in out and str(png) in out
    assert not png.exists() and result["confusion"].sum() == 100


def test_every_new_demo_is_a_subcommand():
    from demos import cli
    help_text = cli.build_parser().format_help()
    for name in ("adversarial", "cost-surface", "scaling", "hidden-units", "errors"):
        assert name in help_text
