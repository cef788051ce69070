"""A convolutional network on the digits: LeNet, whose filters slide over the image.

A fully connected layer gives every pixel its own weight, so a stroke learned in one place means
nothing one pixel further on. A convolutional layer learns small filters instead, here 5x5
weights each, and applies the same filter at every position of the image: its output, a feature
map, says where in the image that pattern occurs. Max pooling then keeps the strongest response
of each 2x2 block, so the next layer sees a smaller map that moves less when the digit moves.

The network (Caffe's LeNet, after LeCun et al. 1998): 20 filters of 5x5 on the 28x28 image, ReLU,
2x2 max pooling (20 maps of 12x12); 50 filters of 5x5x20, ReLU, pooling (50 maps of 4x4); a
fully connected layer of 500 ReLUs with dropout, and 10 outputs read through cross-entropy;
Adam with a learning rate shrinking by 10% per epoch. The picture (--png) shows the 20 learned
filters of the first layer and what the layers make of one test digit.
"""

from __future__ import annotations

import argparse
import sys

import numpy as np

import nn
import tinygrad_edu as tg
from demos import common, train

# The flags that define the experiment: a checkpoint records them, and a resumed run must agree with them.
SETTINGS = ("channels", "hidden", "optimizer", "lr", "lr_decay", "dropout", "batch_size", "seed", "subset")
EVAL_BATCH_SIZE = 1000  # test images at once: the unfolded patches of 10,000 would take over a gigabyte
LENET = dict(channels=[20, 50], hidden=500, optimizer="adam", lr=1e-3, lr_decay=0.9, batch_size=64, epochs=15,
             dropout=0.5)
DATASETS = {"mnist": "mnist", "fashion": "fashion-mnist"}


def channel_pair(text: str) -> list[int]:
    """'20,50' -> [20, 50]: the filters of the first and of the second convolutional layer."""
    try:
        channels = [int(part) for part in text.split(",")]
    except ValueError:
        channels = []
    if len(channels) != 2 or min(channels) < 1:
        raise argparse.ArgumentTypeError(f"expected two positive integers such as 20,50, got {text!r}")
    return channels


def add_arguments(parser: argparse.ArgumentParser) -> None:
    common.track_given(parser)  # so that a resume knows which flags were given
    parser.set_defaults(loss="cross-entropy")
    parser.add_argument("--channels", type=channel_pair, default=LENET["channels"], metavar="C1,C2",
                        help="filters of the two convolutional layers (default 20,50)")
    parser.add_argument("--hidden", type=common.positive_int, default=LENET["hidden"],
                        help="neurons of the fully connected hidden layer (default 500)")
    parser.add_argument("--dataset", choices=sorted(DATASETS), default="mnist",
                        help="the digits, or Fashion-MNIST's clothes (default mnist)")
    parser.add_argument("--png", type=common.picture_file, metavar="PATH", default="cnn.png",
                        help="where to draw the first layer's filters and one test image's feature maps "
                             "(default cnn.png)")
    train.add_training_arguments(parser, LENET)


def check(args: argparse.Namespace) -> None:
    """Refuse, before any data is loaded, a network that would not fit in this machine's memory (every
    pair of channel counts fits the 28x28 images: 5x5 filters and two poolings leave 4x4 maps)."""
    (c1, c2), hidden = args.channels, args.hidden
    count = (25 + 1) * c1 + (c1 * 25 + 1) * c2 + (c2 * 16 + 1) * hidden + (hidden + 1) * 10
    common.check_memory(count, f"--channels {c1},{c2} --hidden {hidden}", copies=2 if args.optimizer == "sgd" else 4)


def images(X: np.ndarray) -> np.ndarray:
    """Rows of 784 pixels as the (N, 1, 28, 28) images a convolution takes: one channel (gray)."""
    return X.reshape(-1, 1, 28, 28)


def build(args: argparse.Namespace) -> tuple:
    """The model, optimizer and learning-rate schedule that the flags describe (also to load a checkpoint into)."""
    generator = np.random.default_rng(args.seed)
    c1, c2 = args.channels
    model = nn.Sequential(
        nn.Conv2d(1, c1, 5, generator=generator), nn.ReLU(), nn.MaxPool2d(2),   # 28x28 -> 24x24 -> 12x12
        nn.Conv2d(c1, c2, 5, generator=generator), nn.ReLU(), nn.MaxPool2d(2),  # -> 8x8 -> 4x4
        nn.Flatten(),                                                            # c2·4·4 numbers per image
        nn.Linear(c2 * 16, args.hidden, generator=generator), nn.ReLU(), nn.Dropout(args.dropout),
        nn.Linear(args.hidden, 10, generator=generator),
    )
    optimizer = (nn.optim.SGD if args.optimizer == "sgd" else nn.optim.Adam)(model.parameters(), lr=args.lr)
    scheduler = nn.optim.lr_scheduler.ExponentialLR(optimizer, gamma=args.lr_decay)  # epoch e (from 0) uses η·γᵉ
    return model, optimizer, scheduler


def run(args: argparse.Namespace) -> dict:
    dataset = DATASETS[args.dataset]
    result = train.run(args, dataset, network=sys.modules[__name__])
    if args.seeds is None:
        X_test, y_test = common.load_data(args, dataset)[2:]
        draw(args.png, result["model"], images(X_test[:1]), int(y_test[0]))
    return result


def draw(path, model: nn.Sequential, image: np.ndarray, label: int) -> None:
    """The first layer's filters, and one image with the feature maps of both convolutional layers."""
    model.eval()
    with tg.no_grad():
        first = model[:2](tg.Tensor(image)).numpy()[0]  # conv, ReLU: (c1, 24, 24)
        second = model[:5](tg.Tensor(image)).numpy()[0]  # ... pool, conv, ReLU: (c2, 8, 8)
        scores = model(tg.Tensor(image)).numpy()[0]
    filters = model[0].weight.numpy()[:, 0]  # (c1, 5, 5)
    plt = common.pyplot(path)
    if plt is None:
        return
    bound = np.abs(filters).max()
    panels = [(filters, "seismic", (-bound, bound), f"the {len(filters)} learned 5x5 filters of layer 1 (red +, blue −)"),
              (first, "viridis", (0, first.max()), "what each of them finds in the input: 24x24 maps (after ReLU)"),
              (second, "viridis", (0, second.max()), f"the {len(second)} 8x8 maps of layer 2 (after ReLU)")]
    tiles = [tile(maps) for maps, *_ in panels]
    heights = [t.shape[0] / t.shape[1] for t in tiles]  # each panel as wide as the others, so its height is its aspect
    fig = plt.figure(figsize=(10, 7.5 * sum(heights) + 1.2), dpi=80)  # 7.5 in: the panels' column, 4/5 of the width
    grid = fig.add_gridspec(3, 2, width_ratios=[1, 4], height_ratios=heights, left=0.01, right=0.99, bottom=0.01,
                            top=0.95, hspace=0.35, wspace=0.05)
    ax = fig.add_subplot(grid[:2, 0])
    ax.imshow(image[0, 0], cmap="gray_r")
    ax.set_title(f"input: a {label}, read as {scores.argmax()}", fontsize=10)
    ax.axis("off")
    for row, (picture, (_, cmap, (low, high), title)) in enumerate(zip(tiles, panels)):
        ax = fig.add_subplot(grid[row, 1])
        ax.imshow(picture, cmap=cmap, vmin=low, vmax=high, interpolation="nearest")
        ax.set_title(title, fontsize=10, loc="left")
        ax.axis("off")
    common.save_figure(plt, fig, path)


def tile(maps: np.ndarray, columns: int = 10) -> np.ndarray:
    """Square maps side by side in rows of ``columns``, one blank (NaN) pixel between them, as one image."""
    count, size = len(maps), maps.shape[1] + 1
    rows = -(-count // columns)
    picture = np.full((rows * size - 1, columns * size - 1), np.nan)
    for i, m in enumerate(maps):
        top, left = (i // columns) * size, (i % columns) * size
        picture[top:top + size - 1, left:left + size - 1] = m
    return picture
