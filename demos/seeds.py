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
    if len(set(seeds)) != len(seeds):
        raise argparse.ArgumentTypeError(f"each seed once, please: {text!r} repeats one")
    return seeds


def add_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--seeds", type=seed_list, default=None, metavar="S,S,...",
                        help="run once per seed and report each test accuracy, mean ± sd, min and max "
                             "(replaces --seed)")


def never_predicted(predictions: np.ndarray, classes: int = 10) -> list[int]:
    """The classes that no test example is assigned to: the sign of a stuck output neuron."""
    return np.flatnonzero(np.bincount(predictions, minlength=classes) == 0).tolist()


def summary(accuracies: list[float]) -> dict:
    """Mean, sample standard deviation (n − 1; 0 for one run), minimum and maximum of the accuracies."""
    values = np.asarray(accuracies, dtype=np.float64)
    return {"mean": float(values.mean()), "sd": float(values.std(ddof=1)) if len(values) > 1 else 0.0,
            "min": float(values.min()), "max": float(values.max())}


def over_seeds(run_once, args: argparse.Namespace) -> dict:
    """Call ``run_once(args)`` with ``args.seed`` set to each of ``args.seeds``; print and return the spread.

    ``run_once`` returns a dict with "test_accuracy" and "predictions" (the class of each test
    example), and "best_accuracy" when there is a best epoch to report.
    """
    runs = []
    for seed in args.seeds:
        print(f"--- seed {seed}")
        one = copy.copy(args)
        one.seed = seed
        runs.append(run_once(one))

    print(f"\nover {len(runs)} seeds:")
    for seed, result in zip(args.seeds, runs):
        best = f" (best epoch {100 * result['best_accuracy']:.2f}%)" if "best_accuracy" in result else ""
        missing = never_predicted(result["predictions"])
        stuck = f"  STUCK: never predicts {', '.join(map(str, missing))}" if missing else ""
        print(f"seed {seed}: test accuracy {100 * result['test_accuracy']:.2f}%{best}{stuck}")
    final = summary([r["test_accuracy"] for r in runs])
    print(f"test accuracy {100 * final['mean']:.2f}% ± {100 * final['sd']:.2f}% (mean ± sd), "
          f"min {100 * final['min']:.2f}%, max {100 * final['max']:.2f}%")
    result = {"runs": runs, "seeds": list(args.seeds), "test_accuracy": final}
    if all("best_accuracy" in r for r in runs):
        result["best_accuracy"] = best = summary([r["best_accuracy"] for r in runs])
        print(f"best epoch    {100 * best['mean']:.2f}% ± {100 * best['sd']:.2f}% (mean ± sd), "
              f"min {100 * best['min']:.2f}%, max {100 * best['max']:.2f}%")
    stuck_seeds = [seed for seed, r in zip(args.seeds, runs) if never_predicted(r["predictions"])]
    if stuck_seeds:
        print(f"stuck (a class never predicted) with seed{'s' if len(stuck_seeds) > 1 else ''} "
              f"{', '.join(map(str, stuck_seeds))}")
    result["stuck_seeds"] = stuck_seeds
    return result
