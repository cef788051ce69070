"""Full-batch gradient descent, stochastic gradient descent and mini-batch SGD, side by side.

All three minimise the same quadratic cost C = 1/(2n) Σ‖y(x) − a‖² of the same 784-30-10 sigmoid
network from the same starting weights, and see the same number of training examples. They differ
only in how many examples each update averages the gradient over:

- full-batch gradient descent: all n = 60,000, so one (exact) step per epoch;
- stochastic gradient descent: one example per step, 60,000 noisy steps per epoch;
- mini-batch SGD: m examples drawn without replacement, the order reshuffled every epoch.

The cost is measured on a fixed sample of training digits as the examples go by.
"""

from __future__ import annotations

import time

import numpy as np

import nn
import tinygrad_edu as tg
from demos import common, train


def add_arguments(parser) -> None:
    parser.add_argument("--epochs", type=common.positive_int, default=3,
                        help="passes over the training set, the same for every variant (default 3)")
    parser.add_argument("--batch-size", type=common.positive_int, default=10, help="mini-batch size m (default 10)")
    parser.add_argument("--lr", type=common.positive_float, default=3.0,
                        help="learning rate η for full-batch and mini-batch descent (default 3.0)")
    parser.add_argument("--lr-sgd", type=common.positive_float, default=0.5,
                        help="learning rate η for one-example SGD, whose steps are noisier (default 0.5)")
    parser.add_argument("--probe", type=common.positive_int, default=2000,
                        help="training digits the cost is measured on (default 2000)")
    parser.add_argument("--png", type=common.picture_file, metavar="PATH", default="descent-variants.png",
                        help="where to save the plot")
    train.add_jit_argument(parser)
    common.add_output_arguments(parser)
    common.add_data_arguments(parser)


def descend(model, X, y, batch_size, lr, epochs, seed, probe, quiet, desc, jit=True) -> dict:
    """Train with one batch size; record (updates, examples seen, probe cost) on a log-spaced grid."""
    optimizer = nn.optim.SGD(model.parameters(), lr=lr)
    cost_fn = nn.MSELoss()
    X_probe, t_probe = tg.Tensor(X[:probe]), nn.functional.one_hot(y[:probe], 10)

    def probe_cost() -> float:
        with tg.no_grad():
            return cost_fn(model(X_probe), t_probe).item()

    budget = epochs * len(X)
    grid = list(np.unique(np.geomspace(batch_size, budget, 40).astype(int)))
    curve = {"updates": [0], "examples": [0], "cost": [probe_cost()]}

    updates = seen = 0
    step = train.make_step(model, cost_fn, optimizer, jit)

    def step_and_record(images, targets) -> tg.Tensor:
        nonlocal updates, seen
        loss = step(images, targets)
        updates, seen = updates + 1, seen + len(images)
        if grid and seen >= grid[0]:
            while grid and seen >= grid[0]:
                grid.pop(0)
            curve["updates"].append(updates)
            curve["examples"].append(seen)
            curve["cost"].append(probe_cost())
        return loss

    start = time.perf_counter()
    for _ in common.train_epochs(model, step_and_record, X, nn.one_hot(y, 10).numpy(), epochs=epochs,
                                 batch_size=batch_size, seed=seed, quiet=quiet, desc=f"{desc}, "):
        pass
    curve["seconds"] = time.perf_counter() - start
    return curve


def run(args) -> dict:
    X_train, y_train, X_test, y_test = common.load_data(args)
    if args.batch_size >= len(X_train):
        raise ValueError(f"--batch-size {args.batch_size} is not smaller than the {len(X_train)} training digits: "
                         "mini-batch SGD would be full-batch descent; choose a smaller --batch-size")
    variants = {
        "full-batch GD": (len(X_train), args.lr),
        "SGD (m = 1)": (1, args.lr_sgd),
        f"mini-batch SGD (m = {args.batch_size})": (args.batch_size, args.lr),
    }
    results = {}
    for name, (batch_size, lr) in variants.items():
        model = common.mlp([784, 30, 10], "sigmoid", init="normal", seed=args.seed, final_activation=True)
        curve = descend(model, X_train, y_train, batch_size, lr, args.epochs, args.seed,
                        min(args.probe, len(X_train)), args.quiet, name, args.jit)
        curve.update(batch_size=batch_size, lr=lr, test_accuracy=common.accuracy(model, X_test, y_test))
        results[name] = curve

    print(f"same start, {args.epochs} epochs = {args.epochs * len(X_train):,} examples seen by each variant\n")
    print(f"{'variant':<26} {'m':>6} {'η':>5} {'updates':>8} {'final cost':>11} {'test acc.':>10} {'time':>8}")
    for name, r in results.items():
        print(f"{name:<26} {r['batch_size']:>6} {r['lr']:>5g} {r['updates'][-1]:>8} {r['cost'][-1]:>11.4f} "
              f"{r['test_accuracy']:>10.2%} {r['seconds']:>7.1f}s")
    common.plot_curves(args.png, {
        "updates (iterations)": {name: (r["updates"][1:], r["cost"][1:]) for name, r in results.items()},
        "examples seen": {name: (r["examples"][1:], r["cost"][1:]) for name, r in results.items()},
    }, ylabel="quadratic cost C", title="The descent variants on MNIST", logx=True)
    return results
