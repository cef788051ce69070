"""Look at the data: digits as the lecture's matrices of gray values from 0.0 (white) to 1.0 (black).

Each image is 28x28 = 784 pixels, 8-bit gray scaled to [0, 1]; a network sees it as one vector of
784 numbers. This prints a few training digits with their labels, as a matrix and as a shaded
sketch, and saves a grid of many of them as a PNG picture.
"""

from __future__ import annotations

import numpy as np

from demos import common
from tinygrad_edu.data import render_digit


def add_arguments(parser) -> None:
    parser.add_argument("--count", type=common.positive_int, default=2, help="digits to print (default 2)")
    parser.add_argument("--png", type=common.picture_file, metavar="PATH", default="digits.png",
                        help="where to save a grid of the first 100 digits (default digits.png)")
    parser.add_argument("--dataset", choices=["mnist", "fashion-mnist"], default="mnist")
    common.add_data_arguments(parser)


def digit_grid(X: np.ndarray, columns: int = 10) -> np.ndarray:
    """Tile rows of 784 pixels into one picture, black digits on white as in the lecture."""
    rows = -(-len(X) // columns)
    images = np.zeros((rows * columns, 28, 28), dtype=np.float32)
    images[: len(X)] = X.reshape(-1, 28, 28)
    grid = images.reshape(rows, columns, 28, 28).transpose(0, 2, 1, 3).reshape(rows * 28, columns * 28)
    return (255 * (1 - grid)).round().astype(np.uint8)


def run(args) -> dict:
    X, y, _, _ = common.load_data(args, args.dataset)
    for image, label in zip(X[: args.count], y[: args.count]):
        print(f"label {label}:")
        print(render_digit(image, style="matrix"))
        print(render_digit(image, style="shade"))
    common.write_png(args.png, digit_grid(X[:100]))
    print(f"saved the first {min(100, len(X))} digits to {args.png}")
    return {"labels": y[: args.count]}
