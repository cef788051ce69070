"""The perceptron: ten step units, one per digit, learning by the perceptron rule.

Unit j computes y_j = step(w_j·x + b_j): it fires (1) when w_j·x ≥ θ_j and stays silent (0)
otherwise. Its bias is minus its threshold, b_j = −θ_j. The target is t_j = 1 for the unit of the
right digit and 0 for the other nine. After each example the perceptron rule updates
w ← w + η (t − y) x and b ← b + η (t − y): nothing changes when a unit is right, and a wrong unit
moves its weights towards (or away from) the input.

That rule is exactly stochastic gradient descent (one example per step, from w = 0, b = 0) on the
squared loss J = ½‖t − y‖², with `nn.Step` passing the gradient straight through the step.
A digit is classified by the unit with the largest pre-activation z_j = w_j·x + b_j, since
several units, or none, may fire.
"""

from __future__ import annotations


import numpy as np

import nn
import tinygrad_edu as tg
from demos import common, seeds, train


def add_arguments(parser) -> None:
    parser.add_argument("--epochs", type=common.positive_int, default=3, help="(default 3)")
    parser.add_argument("--lr", type=common.positive_float, default=1.0, help="learning rate η (default 1.0)")
    train.add_jit_argument(parser)
    common.add_output_arguments(parser)
    seeds.add_argument(parser)
    common.add_data_arguments(parser)


def run(args) -> dict:
    return seeds.over_seeds(train_once, args) if args.seeds is not None else train_once(args)


def train_once(args) -> dict:
    X_train, y_train, X_test, y_test = common.load_data(args)
    units = nn.Linear(784, 10, init="zeros")
    model = nn.Sequential(units, nn.Step())
    optimizer = nn.optim.SGD(model.parameters(), lr=args.lr)
    step = train.make_step(model, nn.MSELoss(), optimizer, args.jit)  # one example: J = ½‖t − y‖²
    history = []
    for epoch, loss in common.train_epochs(model, step, X_train, nn.one_hot(y_train, 10).numpy(), epochs=args.epochs,
                                           batch_size=1, seed=args.seed, quiet=args.quiet):
        test_accuracy = common.accuracy(units, X_test, y_test)  # argmax of z = Wx + b
        history.append({"epoch": epoch + 1, "loss": loss, "test_accuracy": test_accuracy})
        if not args.quiet:
            # ½‖t − y‖² counts half a point per wrong unit, so 2J is the wrong units per example.
            print(f"epoch {epoch + 1}/{args.epochs}: {2 * loss:.3f} wrong units per example, "
                  f"test accuracy {test_accuracy:.2%}")

    with tg.no_grad():
        z = units(tg.Tensor(X_test[:1]))
    fired = np.flatnonzero(z.numpy()[0] >= 0)
    print(f"\nthresholds θ = −b: {np.array2string(-units.bias.numpy(), precision=1)}")
    print(f"on the first test digit (a {y_test[0]}) units {fired.tolist()} fire; "
          f"the largest z is unit {int(z.numpy()[0].argmax())}")
    print(f"test accuracy: {100 * history[-1]['test_accuracy']:.2f}%")
    return {"history": history, "test_accuracy": history[-1]["test_accuracy"],
            "best_accuracy": max(h["test_accuracy"] for h in history), "predictions": common.predict(units, X_test), "labels": y_test}
