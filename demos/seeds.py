"""`--seeds 0,1,2,3,4`: the same run once per seed, and what the accuracy is beyond one lucky seed.

A network's test accuracy depends on its random start and on the order of the examples, so one
run is one sample. This repeats a demo's run for each seed and reports every accuracy, their
mean ± standard deviation (the sample deviation, n − 1), the minimum and the maximum. It also
names the runs that are *stuck*: a class that the trained network never predicts on the test
set, typically an output sigmoid saturated by a large initial weight, which costs about a tenth
of the accuracy at once.
"""

from __future__ import annotations

import argparse
import copy

import numpy as np


def seed_list(text: str) -> list[int]:
    """'0,1,2' -> [0, 1, 2]."""
    try:
        seeds = [int(part) for part in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers such as 0,1,2,3,4, got {text!r}") from None
    if min(seeds) < 0:  # checked here, with the flags, not when its turn comes after the others have trained
        raise argparse.ArgumentTypeError(f"seeds are integers ≥ 0, got {text!r}")
    if len(set(seeds)) != len(seeds):
        raise argparse.ArgumentTypeError(f"each seed once, please: {text!r} repeats one")
    return seeds


def add_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--seeds", type=seed_list, default=None, metavar="S,S,...",
                        help="run once per seed and report each test accuracy, mean ± sd, min and max "
                             "(replaces --seed)")


STUCK = 0.1  # a class recognised less often than a random guess would


def recognised(predictions: np.ndarray, labels: np.ndarray, classes: int = 10) -> np.ndarray:
    """For each class, the fraction of its test examples that are assigned to it (its recall)."""
    right = np.bincount(labels[predictions == labels], minlength=classes)
    return right / np.maximum(np.bincount(labels, minlength=classes), 1)


def stuck_classes(predictions: np.ndarray, labels: np.ndarray, classes: int = 10) -> list[int]:
    """The classes the network recognises less often than chance: the sign of a stuck output neuron."""
    return np.flatnonzero(recognised(predictions, labels, classes) < STUCK).tolist()


def summary(accuracies: list[float]) -> dict:
    """Mean, sample standard deviation (n − 1; 0 for one run), minimum and maximum of the accuracies."""
    values = np.asarray(accuracies, dtype=np.float64)
    return {"mean": float(values.mean()), "sd": float(values.std(ddof=1)) if len(values) > 1 else 0.0,
            "min": float(values.min()), "max": float(values.max())}


def over_seeds(run_once, args: argparse.Namespace) -> dict:
    """Call ``run_once(args)`` with ``args.seed`` set to each of ``args.seeds``; print and return the spread.

    ``run_once`` returns a dict with "test_accuracy", "predictions" and "labels" (the class given to
    each test example, and the right one), and "best_accuracy" when there is a best epoch to report.
    """
    runs = []
    try:
        for seed in args.seeds:
            print(f"--- seed {seed}")
            one = copy.copy(args)
            one.seed = seed
            runs.append(run_once(one))
    except KeyboardInterrupt:
        # The seeds finished so far are a result: report them before stopping (runs with --seeds save nothing).
        if not runs:
            raise KeyboardInterrupt(f"during seed {seed}, the first: no seed finished") from None
        report(runs, args.seeds[:len(runs)])
        raise KeyboardInterrupt(f"during seed {seed}; the summary above is of the {len(runs)} seed"
                                f"{'s' if len(runs) > 1 else ''} finished") from None
    return report(runs, args.seeds)


def report(runs: list[dict], seeds: list[int]) -> dict:
    """Print each seed's result and the spread over them (see `over_seeds`); return them as a dict."""
    print(f"\nover {len(runs)} seeds:")
    stuck_seeds = []
    for seed, result in zip(seeds, runs):
        best = f" (best epoch {100 * result['best_accuracy']:.2f}%)" if "best_accuracy" in result else ""
        recall = recognised(result["predictions"], result["labels"])
        stuck = stuck_classes(result["predictions"], result["labels"])
        worst = f", worst class {recall.argmin()}: {100 * recall.min():.1f}% recognised"
        flag = f"  STUCK on {', '.join(f'{k} ({100 * recall[k]:.1f}%)' for k in stuck)}" if stuck else ""
        print(f"seed {seed}: test accuracy {100 * result['test_accuracy']:.2f}%{best}{worst}{flag}")
        stuck_seeds += [seed] if stuck else []
    final = summary([r["test_accuracy"] for r in runs])
    print(f"test accuracy {100 * final['mean']:.2f}% ± {100 * final['sd']:.2f}% (mean ± sd), "
          f"min {100 * final['min']:.2f}%, max {100 * final['max']:.2f}%")
    result = {"runs": runs, "seeds": list(seeds), "test_accuracy": final}
    if all("best_accuracy" in r for r in runs):
        result["best_accuracy"] = best = summary([r["best_accuracy"] for r in runs])
        print(f"best epoch    {100 * best['mean']:.2f}% ± {100 * best['sd']:.2f}% (mean ± sd), "
              f"min {100 * best['min']:.2f}%, max {100 * best['max']:.2f}%")
    if stuck_seeds:
        print(f"stuck (a class recognised less often than chance) with seed{'s' if len(stuck_seeds) > 1 else ''} "
              f"{', '.join(map(str, stuck_seeds))}")
    result["stuck_seeds"] = stuck_seeds
    return result
