"""Scaling the data: the same network on raw 0–255 pixels, on pixels in [0, 1], and standardised.

A hidden sigmoid neuron computes σ(z) with z = Σᵢ wᵢxᵢ + b. Its gradient carries the factor
σ'(z) = σ(z)(1 − σ(z)), which is below 0.0067 once |z| > 5: such a neuron is saturated, and
gradient descent hardly moves its weights. With weights drawn from N(0, 1), z adds up hundreds of
pixels, so the size of the pixel values decides how many hidden neurons start out saturated, and
with that how fast, if at all, the network learns. The three versions of the data are
`load_mnist(raw=True)`, the default `load_mnist()` and `load_mnist(standardize=True)` (every pixel
less the mean of all the training set's pixels, divided by their standard deviation).
"""

from __future__ import annotations


import numpy as np

import nn
import tinygrad_edu as tg
from demos import common, train

SCALINGS = {"raw 0–255": {"raw": True}, "[0, 1]": {}, "standardised": {"standardize": True}}
SATURATED = 5.0  # |z| beyond which σ'(z) < 0.0067


def add_arguments(parser) -> None:
    parser.add_argument("--epochs", type=common.positive_int, default=3, help="epochs for each version (default 3)")
    parser.add_argument("--init", choices=["normal", "pytorch"], default="normal",
                        help="initial weights: N(0, 1) as in the lecture, or PyTorch's uniform (default normal)")
    parser.add_argument("--lr", type=common.positive_float, default=3.0, help="learning rate η (default 3.0)")
    parser.add_argument("--png", type=common.picture_file, metavar="PATH", default="scaling.png",
                        help="where to save the plot")
    train.add_jit_argument(parser)
    common.add_output_arguments(parser)
    common.add_data_arguments(parser)


def saturated_fraction(model, X: np.ndarray) -> float:
    """The fraction of (digit, hidden neuron) pairs with |z| > 5 in the first layer."""
    with tg.no_grad():
        z = model[0](tg.Tensor(X)).numpy()
    return float((np.abs(z) > SATURATED).mean())


def run(args) -> dict:
    results = {}
    for name, options in SCALINGS.items():
        X_train, y_train, X_test, y_test = common.load_data(args, **options)
        if options.get("raw"):  # published uint8 images: 28x28 gray values 0–255
            X_train, X_test = (X.reshape(len(X), 784).astype(np.float32) for X in (X_train, X_test))
        model = common.mlp([784, 30, 10], "sigmoid", init=args.init, seed=args.seed, final_activation=True)
        saturated = saturated_fraction(model, X_train)
        if not args.quiet:
            print(f"{name}: pixels from {X_train.min():.2f} to {X_train.max():.2f}, "
                  f"{saturated:.1%} of hidden sigmoids saturated at the start")
        step = train.make_step(model, nn.MSELoss(), nn.optim.SGD(model.parameters(), lr=args.lr), args.jit)
        epochs = common.train_epochs(model, step, X_train, nn.one_hot(y_train, 10).numpy(), epochs=args.epochs,
                                     batch_size=10, seed=args.seed, quiet=args.quiet, desc=f"{name}, ")
        accuracies = [common.accuracy(model, X_test, y_test) for _ in epochs]
        results[name] = {"saturated": saturated, "accuracies": accuracies,
                         "range": (float(X_train.min()), float(X_train.max()))}

    print(f"\n784-30-10 sigmoid, quadratic cost, {args.init} init, η = {args.lr:g}, m = 10, {args.epochs} epochs\n")
    print(f"{'pixels':<14} {'range':>15} {'saturated at start':>19} {'test accuracy':>14}")
    for name, r in results.items():
        low, high = r["range"]
        print(f"{name:<14} {f'{low:.2f} to {high:.2f}':>15} {r['saturated']:>19.1%} {r['accuracies'][-1]:>14.2%}")
    epochs = list(range(1, args.epochs + 1))
    common.plot_curves(args.png, {"epoch": {name: (epochs, r["accuracies"]) for name, r in results.items()}},
                       ylabel="test accuracy", title="The same network on differently scaled pixels")
    return results
