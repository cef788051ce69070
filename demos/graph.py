"""One training step of the lecture's network as a page to explore in a browser.

The 784-30-10 sigmoid network, the quadratic cost C = 1/(2n) Σ‖y − a‖², one mini-batch of training
digits: `tg.draw_graph` draws every tensor of the step, then backward fills in the gradients. Open the
page (one file, it needs no network) and click a tensor to see its value and its gradient ∂C/∂t, with
a heat map of each weight matrix; the "Backward: next step" button follows backward from the cost to
the inputs, one tensor at a time, in the order `autograd.backpropagate` visits them.
"""

from __future__ import annotations

import argparse

import numpy as np

import nn
import tinygrad_edu as tg
from demos import common


def page_file(text: str) -> str:
    """A writable path ending in .html (the explorer page) or .svg (the picture alone)."""
    if not text.lower().endswith((".html", ".htm", ".svg")):
        raise argparse.ArgumentTypeError(f"the file name must end in .html (or .svg for only the picture), got {text!r}")
    return common.writable_file(text)


def add_arguments(parser) -> None:
    parser.add_argument("--html", type=page_file, required=True, metavar="PATH",
                        help="the page to write (a name ending in .svg writes only the picture)")
    parser.add_argument("--batch-size", type=common.positive_int, default=10, help="digits in the mini-batch (default 10)")
    parser.add_argument("--init", choices=["normal", "pytorch"], default="normal",
                        help="initial weights: the lecture's N(0, 1) (default) or PyTorch's small uniform ones")
    common.add_output_arguments(parser)
    common.add_data_arguments(parser)


def lecture_step(images: np.ndarray, labels: np.ndarray, seed: int = 0, init: str = "normal"):
    """(model, drawing): the lecture's network after one forward and backward pass on ``images``, and the
    drawing of that step, made before backward and holding every gradient backward computed."""
    model = common.mlp([784, 30, 10], "sigmoid", init=init, seed=seed, final_activation=True)
    x, y = tg.Tensor(images), nn.one_hot(labels, 10, dtype=np.float32)
    cost = nn.MSELoss()(model(x), y)
    drawing = tg.draw_graph(cost, {"x": x, "y": y, **dict(model.named_parameters())})
    for t in drawing.tensors:
        t.retain_grad()  # keep every tensor's gradient for the page, not only the parameters'
    cost.backward()
    return model, drawing


def run(args) -> dict:
    X, y, _, _ = common.load_data(args)
    if args.batch_size > len(X):
        raise ValueError(f"--batch-size {args.batch_size} is more than the {len(X)} training digits loaded")
    batch = np.random.default_rng(args.seed).choice(len(X), args.batch_size, replace=False)
    model, drawing = lecture_step(X[batch], y[batch], seed=args.seed, init=args.init)
    drawing.save(args.html)
    cost = drawing.tensors[-1].item()
    print(f"{len(drawing.tensors)} tensors, cost C = {cost:.4f} on {args.batch_size} digits (labels {y[batch].tolist()})")
    print(f"saved {args.html}: open it in a browser")
    return {"model": model, "drawing": drawing, "cost": cost}
