"""Adversarial examples: a change too small to matter to us makes the network wrong.

Backpropagation gives the gradient of the cost with respect to anything the cost depends on, the
input included. The fast gradient sign method (Goodfellow et al., 2015) moves every pixel of a
test digit x by ε in the direction that increases that digit's cost C the most, pixel by pixel,

    x' = clip(x + ε·sign(∂C/∂x), 0, 1),

with the weights left as they are. The control moves every pixel by ε too, with random signs:
the same size of change in no particular direction. If accuracy falls under the first and not
under the second, it is the direction that fools the network, not the size of the change.
"""

from __future__ import annotations

import numpy as np

import nn
import tinygrad_edu as tg
from demos import common, trained
from tinygrad_edu.data import batches, render_digit

EPSILONS = (0.0, 0.05, 0.1, 0.15, 0.2, 0.25)


def add_arguments(parser) -> None:
    parser.add_argument("--show-epsilon", type=common.positive_float, default=0.1, metavar="EPS",
                        help="the ε of the pictured examples (default 0.1)")
    parser.add_argument("--png", type=common.picture_file, metavar="PATH", default="adversarial.png",
                        help="where to save the picture")
    trained.add_arguments(parser)
    common.add_output_arguments(parser)
    common.add_data_arguments(parser)


def input_gradient(model, loss, X: np.ndarray, y: np.ndarray) -> np.ndarray:
    """∂C/∂x for every digit: the input is the tensor that requires a gradient.

    The weights stay as they are, so this switches off their gradients (backward need not compute them).
    """
    for parameter in model.parameters():
        parameter.requires_grad_(False)
    gradients = []
    for X_batch, y_batch in batches(X, y, 1000, shuffle=False):
        x = tg.Tensor(X_batch, requires_grad=True)
        loss(model(x), y_batch).backward()
        gradients.append(x.grad.numpy())
    return np.concatenate(gradients)


def run(args) -> dict:
    model = trained.network(args)
    _, _, X_test, y_test = common.load_data(args)
    if args.loss == "mse":  # the cost the network was trained on; its 1/n does not change a sign
        cost = nn.MSELoss()

        def loss(a, labels):
            return cost(a, nn.functional.one_hot(labels, 10))
    else:
        cost = nn.CrossEntropyLoss()

        def loss(scores, labels):
            return cost(scores, tg.Tensor(labels))

    direction = np.sign(input_gradient(model, loss, X_test, y_test))
    random_signs = np.random.default_rng(args.seed).choice(np.array([-1, 1], dtype=np.float32), size=X_test.shape)

    def perturbed(signs, epsilon):
        return np.clip(X_test + np.float32(epsilon) * signs, 0, 1)

    rows = []
    for epsilon in EPSILONS:
        adversarial = common.accuracy(model, perturbed(direction, epsilon), y_test)
        noisy = common.accuracy(model, perturbed(random_signs, epsilon), y_test)
        rows.append({"epsilon": epsilon, "adversarial": adversarial, "random": noisy})
        print(f"epsilon {epsilon:.2f}: adversarial accuracy {100 * adversarial:.2f}%, "
              f"random-noise accuracy {100 * noisy:.2f}%")

    shown = perturbed(direction, args.show_epsilon)
    before, after = common.predict(model, X_test), common.predict(model, shown)
    fooled = np.flatnonzero((before == y_test) & (after != y_test))
    picked = np.concatenate([fooled, np.flatnonzero(before == y_test)])[:8]
    if len(fooled):
        i = fooled[0]
        print(f"\ntest digit {i}, a {y_test[i]}: the network says {before[i]}; "
              f"moved by ε = {args.show_epsilon:g} it says {after[i]}")
        left, right = render_digit(X_test[i], "shade").splitlines(), render_digit(shown[i], "shade").splitlines()
        print("\n".join(f"{a}   {b}" for a, b in zip(left, right)))
    draw(args.png, X_test[picked], shown[picked] - X_test[picked], shown[picked], y_test[picked],
         before[picked], after[picked], args.show_epsilon)
    return {"rows": rows, "fooled": len(fooled)}


def draw(path, originals, changes, adversarial, labels, before, after, epsilon) -> None:
    """Three rows: the digits, the changes made to them (gray is none), and the results."""
    plt = common.pyplot(path)
    if plt is None or len(originals) == 0:
        return
    fig, axes = plt.subplots(3, len(originals), figsize=(1.3 * len(originals), 4.4), dpi=80, squeeze=False)
    for k in range(len(originals)):
        for row, image, kwargs, title in (
                (0, originals[k], {"cmap": "gray_r", "vmin": 0, "vmax": 1}, f"a {labels[k]}: says {before[k]}"),
                (1, changes[k], {"cmap": "RdBu", "vmin": -epsilon, "vmax": epsilon}, "change"),
                (2, adversarial[k], {"cmap": "gray_r", "vmin": 0, "vmax": 1}, f"says {after[k]}")):
            axes[row, k].imshow(image.reshape(28, 28), **kwargs)
            axes[row, k].set_title(title, fontsize=8, color="red" if row == 2 and after[k] != labels[k] else "black")
            axes[row, k].axis("off")
    fig.suptitle(f"Each pixel moved by ε = {epsilon:g} along the sign of ∂C/∂x")
    common.save_figure(plt, fig, path)
