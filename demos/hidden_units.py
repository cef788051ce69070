"""What the hidden neurons look for, and how the output neurons combine them.

Hidden neuron i of a 784-N-10 network computes hᵢ = σ(Σₚ wᵢₚ xₚ + bᵢ): its 784 incoming weights are
one per pixel, so they can be drawn as a 28x28 image, dark where ink raises hᵢ and light where it
lowers it. For one test digit, this shows which hidden neurons fire most, and how output neuron j
adds them up: zⱼ = Σᵢ vⱼᵢ hᵢ + cⱼ, where vⱼᵢ hᵢ is what hidden neuron i contributes to digit j.
The network is trained first (or loaded), as in `train`.
"""

from __future__ import annotations

import numpy as np

import nn
import tinygrad_edu as tg
from demos import common, trained
from tinygrad_edu.data import render_digit

WEIGHT_SHADES = "=-. +#"  # strongly negative to strongly positive; blank is near zero


def add_arguments(parser) -> None:
    parser.add_argument("--digit", type=int, choices=range(10), default=0, metavar="D",
                        help="look at the first test image of this digit (default 0)")
    parser.add_argument("--top", type=common.positive_int, default=5, help="hidden neurons to list (default 5)")
    parser.add_argument("--png", type=common.picture_file, metavar="PATH", default="hidden-units.png",
                        help="where to save the picture")
    trained.add_arguments(parser)
    common.add_output_arguments(parser)
    common.add_data_arguments(parser)


def render_weights(w: np.ndarray) -> str:
    """A neuron's 784 incoming weights as text, scaled by the largest magnitude."""
    levels = np.round((w / np.abs(w).max() + 1) / 2 * (len(WEIGHT_SHADES) - 1)).astype(int)
    return "\n".join("".join(WEIGHT_SHADES[level] for level in row) for row in levels.reshape(28, 28))


def one_hidden_layer(args) -> None:
    if len(args.sizes) != 3:
        made = f"{args.load} holds a network of sizes" if args.load is not None else "--sizes must be 784,N,10, not"
        raise ValueError(f"hidden-units draws one hidden layer: {made} {','.join(map(str, args.sizes))}")


def run(args) -> dict:
    model = trained.network(args, require=one_hidden_layer)  # checked with the checkpoint's sizes, if --load
    _, _, X_test, y_test = common.load_data(args)
    if not (y_test == args.digit).any():
        raise ValueError(f"no {args.digit} among the {len(y_test)} test digits; use a larger --subset")
    index = int(np.flatnonzero(y_test == args.digit)[0])
    first, activation, second = _layers(model)
    with tg.no_grad():
        weighted = first(tg.Tensor(X_test[index:index + 1]))
        u, h = weighted.numpy()[0], activation(weighted).numpy()[0]
    W, V, c = first.weight.numpy(), second.weight.numpy(), second.bias.numpy()
    contributions = V * h  # (10, N): vⱼᵢ hᵢ
    z = contributions.sum(axis=1) + c
    predicted = int(common.predict(model, X_test[index:index + 1])[0])
    top = np.argsort(-u)[: args.top]  # by weighted input: many saturated neurons share h = 1.000

    print(f"test digit {index}, a {args.digit}; the network says {predicted}")
    print(render_digit(X_test[index], "shade"))
    print(f"\n{(h > 0.5).sum()} of {len(h)} hidden neurons fire (h > 0.5), {(h > 0.99).sum()} of them "
          f"saturated (h > 0.99)")
    print(f"the {len(top)} hidden neurons that fire most, and what each adds to output {predicted}:")
    print(f"{'neuron':>6} {'weighted input':>15} {'h':>6} {'v (weight to ' + str(predicted) + ')':>18} {'v·h':>7}")
    for i in top:
        print(f"{i:>6} {u[i]:>15.2f} {h[i]:>6.3f} {V[predicted, i]:>18.3f} {contributions[predicted, i]:>7.3f}")
    print("\nz for every output, Σᵢ vⱼᵢ hᵢ + cⱼ, and its largest contributions:")
    for j in np.argsort(-z):
        best = np.argsort(-contributions[j])[:3]
        parts = ", ".join(f"neuron {i}: {contributions[j, i]:+.2f}" for i in best)
        print(f"  {j}: z = {z[j]:+7.2f}  ({parts})")
    print(f"\nincoming weights of neuron {top[0]} ('#' raises h where there is ink, '=' lowers it):")
    print(render_weights(W[top[0]]))
    draw(args.png, W, X_test[index], contributions, z, top, args.digit, predicted)
    return {"index": index, "weighted": u, "hidden": h, "contributions": contributions, "z": z, "top": top,
            "predicted": predicted, "weights": W}


def _layers(model):
    """The first Linear layer, the hidden activation after it, and the second Linear layer."""
    layers = [layer for _, layer in model.named_children() if not isinstance(layer, nn.Dropout)]
    return layers[0], layers[1], layers[2]


def draw(path, W, digit, contributions, z, top, label, predicted) -> None:
    plt = common.pyplot(path)
    if plt is None:
        return
    hidden = len(W)
    columns, rows = min(hidden, 10), -(-hidden // 10)
    fig = plt.figure(figsize=(12, 1.3 * rows + 3.6), dpi=64)
    grid = fig.add_gridspec(rows + 3, columns)
    limit = np.percentile(np.abs(W), 99)  # a few large weights would wash out the others
    for i in range(hidden):
        ax = fig.add_subplot(grid[i // columns, i % columns])
        ax.imshow(W[i].reshape(28, 28), cmap="RdBu", vmin=-limit, vmax=limit)
        ax.set_title(f"neuron {i}", fontsize=8, color="red" if i in top else "black")
        ax.axis("off")
    ax = fig.add_subplot(grid[rows:, :max(1, columns // 5)])
    ax.imshow(digit.reshape(28, 28), cmap="gray_r")
    ax.set_title(f"a {label}; the network says {predicted}", fontsize=9)
    ax.axis("off")
    ax = fig.add_subplot(grid[rows:, max(1, columns // 5) + 1:])
    bound = np.abs(contributions).max()
    image = ax.imshow(contributions, cmap="RdBu", vmin=-bound, vmax=bound, aspect="auto")
    ax.set(xlabel="hidden neuron i", ylabel="output j", yticks=range(10),
           yticklabels=[f"{j} (z={z[j]:+.1f})" for j in range(10)], title="contribution vⱼᵢ·hᵢ to output j")
    fig.colorbar(image, ax=ax)
    fig.suptitle(f"Incoming weights of every hidden neuron (blue: ink there raises its h, red: lowers it); "
                 f"red titles: the {len(top)} most active for this digit")
    common.save_figure(plt, fig, path)
