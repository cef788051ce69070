"""The whole cost surface of a network with two parameters, and how the descent variants cross it.

A network with millions of weights has a cost we can only ever see a slice of. One sigmoid neuron
with one input has exactly two parameters, a = σ(w·s + b), so its quadratic cost
C(w, b) = 1/(2n) Σₓ (y(x) − a)² is a surface over the plane, and the picture is all of it.

The input is one number per digit: how much ink it has (its mean pixel value), standardised over
the examples used. The neuron separates two classes (by default 0s, y = 0, from 1s, y = 1: ones
use less ink). From the same start, full-batch gradient descent (all n examples per update), SGD
(one) and mini-batch SGD (m) take steps of the same η until the cost is within a tolerance of the
lowest value on the grid; the table gives how many updates, and how many examples, each needed.
"""

from __future__ import annotations

import argparse

import numpy as np

import nn
import tinygrad_edu as tg
from demos import common, train
from tinygrad_edu.data import batches
from tinygrad_edu.data.view import SHADES

W_RANGE, B_RANGE = (-10.0, 6.0), (-8.0, 8.0)
START_LIMIT = 1e4  # far beyond the picture, where σ is flat; larger starts overflow float32 in w·s


def point(text: str) -> tuple:
    """'4,-2' -> (4.0, -2.0)."""
    try:
        w, b = (float(part) for part in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected two numbers w,b such as 4,4, got {text!r}") from None
    if not (abs(w) <= START_LIMIT and abs(b) <= START_LIMIT):  # NaN fails this too
        raise argparse.ArgumentTypeError(f"expected two finite numbers w,b between -{START_LIMIT:g} and {START_LIMIT:g} "
                                         f"such as 4,4, got {text!r}")
    return w, b


def digits(text: str) -> tuple:
    """'0,1' -> (0, 1): two different digits."""
    try:
        first, second = (int(part) for part in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected two digits such as 0,1, got {text!r}") from None
    if not (0 <= first <= 9 and 0 <= second <= 9 and first != second):
        raise argparse.ArgumentTypeError(f"expected two different digits from 0 to 9, got {text!r}")
    return first, second


def add_arguments(parser) -> None:
    parser.add_argument("--classes", type=digits, default=(0, 1), metavar="A,B",
                        help="the two digits to separate, the first with y = 0 (default 0,1)")
    parser.add_argument("--start", type=point, default=(4.0, 4.0), metavar="W,B",
                        help="where every variant starts (default 4,4)")
    parser.add_argument("--lr", type=common.positive_float, default=3.0, help="learning rate η of all three (default 3)")
    parser.add_argument("--batch-size", type=common.positive_int, default=10, help="mini-batch size m (default 10)")
    parser.add_argument("--tolerance", type=common.positive_float, default=0.005,
                        help="stop when C is this close to the grid's lowest cost (default 0.005)")
    parser.add_argument("--max-updates", type=common.positive_int, default=20_000,
                        help="give up after this many updates (default 20000)")
    parser.add_argument("--png", type=common.picture_file, metavar="PATH", default="cost-surface.png",
                        help="where to save the picture")
    common.add_output_arguments(parser)
    common.add_data_arguments(parser)


def ink_feature(X: np.ndarray, y: np.ndarray, classes) -> tuple:
    """(s, y01): each digit's standardised mean ink as a column, and targets 0 (first class) or 1."""
    first, second = classes
    keep = (y == first) | (y == second)
    if not (keep & (y == first)).any() or not (keep & (y == second)).any():
        raise ValueError(f"the data holds no examples of {first} or of {second}; use a larger --subset")
    ink = X[keep].mean(axis=1, dtype=np.float64)
    s = ((ink - ink.mean()) / ink.std()).astype(np.float32)[:, None]
    return s, (y[keep] == second).astype(np.float32)[:, None]


def cost_grid(s: np.ndarray, y: np.ndarray, ws: np.ndarray, bs: np.ndarray) -> np.ndarray:
    """C(w, b) at every grid point (rows: b, columns: w), a row of the grid at a time by broadcasting."""
    w, s, y = tg.Tensor(ws[:, None]), tg.Tensor(s[:, 0]), tg.Tensor(y[:, 0])
    with tg.no_grad():
        return np.stack([(((y - (w * s + b).sigmoid()) ** 2).mean(dim=1) / 2).numpy() for b in bs])


def descend(s, y, start, batch_size, lr, target, max_updates, seed) -> dict:
    """Updates of one neuron from ``start`` until C ≤ target; the (w, b) path and what it took."""
    neuron = nn.Linear(1, 1)
    neuron.weight.data[...] = start[0]
    neuron.bias.data[...] = start[1]
    model = nn.Sequential(neuron, nn.Sigmoid())
    optimizer = nn.optim.SGD(model.parameters(), lr=lr)
    cost = nn.MSELoss()
    S, Y = tg.Tensor(s), tg.Tensor(y)

    def full_cost() -> float:
        with tg.no_grad():
            return cost(model(S), Y).item()

    # Its own loop rather than common.train_epochs: it stops at the update that reaches the target.
    path, now, seen, epoch = [tuple(start)], full_cost(), 0, 0
    try:
        with np.errstate(over="ignore", invalid="ignore"):  # a step too large is caught just below, by its result
            while now > target and len(path) <= max_updates:
                for s_batch, y_batch in batches(s, y, batch_size, shuffle=True,
                                                seed=np.random.default_rng([seed, epoch])):
                    train.train_step(model, cost, optimizer, tg.Tensor(s_batch), tg.Tensor(y_batch))
                    seen += len(s_batch)
                    path.append((neuron.weight.item(), neuron.bias.item()))
                    if not np.isfinite(path[-1]).all():
                        raise FloatingPointError(f"w, b = {path[-1][0]}, {path[-1][1]}")
                    now = full_cost()
                    if now <= target or len(path) > max_updates:
                        break
                epoch += 1
    except FloatingPointError as err:  # the loss refuses NaN; a weight may overflow first
        raise common.Diverged(f"descent with m = {batch_size} diverged at update {len(path) - 1} ({err}): "
                              f"η = {lr:g} is too large; try a smaller --lr") from None
    return {"path": np.array(path), "cost": now, "updates": len(path) - 1, "examples": seen, "reached": now <= target}


def ascii_map(C, ws, bs, results, width=64, height=24) -> str:
    """Cost as shades (light: low), each path by its letter, S the start, * the grid's lowest point."""
    rows = np.linspace(0, len(bs) - 1, height).round().astype(int)[::-1]  # b grows upwards
    cols = np.linspace(0, len(ws) - 1, width).round().astype(int)
    coarse = C[np.ix_(rows, cols)]
    ranks = np.searchsorted(np.quantile(C, np.linspace(0, 1, len(SHADES) + 1)[1:-1]), coarse)
    canvas = [[SHADES[r] for r in row] for row in ranks]

    def put(w, b, mark):
        i = round((B_RANGE[1] - b) / (B_RANGE[1] - B_RANGE[0]) * (height - 1))
        j = round((w - W_RANGE[0]) / (W_RANGE[1] - W_RANGE[0]) * (width - 1))
        if 0 <= i < height and 0 <= j < width:
            canvas[i][j] = mark

    for r in results.values():
        for w, b in r["path"]:
            put(w, b, r["mark"])
    lowest = np.unravel_index(C.argmin(), C.shape)
    put(ws[lowest[1]], bs[lowest[0]], "*")
    first = next(iter(results.values()))["path"][0]
    put(*first, "S")
    return "\n".join(["b ↑"] + ["".join(row) for row in canvas] + [f"w → from {W_RANGE[0]:g} to {W_RANGE[1]:g}, "
                                                                    f"b from {B_RANGE[0]:g} to {B_RANGE[1]:g}"])


def run(args) -> dict:
    X_train, y_train, _, _ = common.load_data(args)
    s, y = ink_feature(X_train, y_train, args.classes)
    ws, bs = np.linspace(*W_RANGE, 81, dtype=np.float32), np.linspace(*B_RANGE, 81, dtype=np.float32)
    C = cost_grid(s, y, ws, bs)
    target = float(C.min()) + args.tolerance
    variants = {"SGD (m = 1)": (1, "s"), f"mini-batch SGD (m = {args.batch_size})": (args.batch_size, "m"),
                "full-batch GD": (len(s), "g")}  # drawn in this order: the smooth path on top
    results = {name: dict(descend(s, y, args.start, m, args.lr, target, args.max_updates, args.seed),
                          batch_size=m, mark=mark) for name, (m, mark) in variants.items()}

    first, second = args.classes
    print(f"one sigmoid neuron a = σ(w·s + b) on the standardised ink s of {len(s):,} digits, {first}s (y = 0) "
          f"against {second}s (y = 1)")
    print(f"lowest cost on the grid {C.min():.4f} at w = {ws[C.argmin() % len(ws)]:.1f}, b = {bs[C.argmin() // len(ws)]:.1f}; "
          f"every variant starts at w = {args.start[0]:g}, b = {args.start[1]:g} (C = {cost_at(s, y, *args.start):.4f}), "
          f"η = {args.lr:g}, and stops at C ≤ {target:.4f}\n")
    print(ascii_map(C, ws, bs, results))
    print(f"\n{'variant':<24} {'mark':>4} {'m':>6} {'updates':>8} {'examples seen':>14} {'final w':>8} {'final b':>8} {'final C':>8}")
    for name, r in results.items():
        w, b = r["path"][-1]
        late = "" if r["reached"] else "  (stopped: --max-updates)"
        print(f"{name:<24} {r['mark']:>4} {r['batch_size']:>6} {r['updates']:>8,} {r['examples']:>14,} {w:>8.2f} {b:>8.2f} "
              f"{r['cost']:>8.4f}{late}")
    draw(args.png, C, ws, bs, results, first, second)
    return {"results": results, "grid": C, "ws": ws, "bs": bs, "s": s, "y": y, "target": target}


def cost_at(s, y, w, b) -> float:
    return float(cost_grid(s, y, np.array([w], np.float32), np.array([b], np.float32))[0, 0])


def draw(path, C, ws, bs, results, first, second) -> None:
    plt = common.pyplot(path)
    if plt is None:
        return
    fig, ax = plt.subplots(figsize=(7, 5.5), dpi=80)
    contours = ax.contourf(ws, bs, C, levels=20, cmap="viridis")
    fig.colorbar(contours, ax=ax, label="quadratic cost C(w, b)")
    for (name, r), color in zip(results.items(), ("orange", "red", "white")):
        ax.plot(r["path"][:, 0], r["path"][:, 1], color=color, lw=1, label=f"{name}: {r['updates']:,} updates, "
                                                                            f"{r['examples']:,} examples")
        ax.plot(*r["path"][-1], "o", color=color)
    ax.plot(*next(iter(results.values()))["path"][0], "s", color="white", label="start")
    ax.plot(ws[C.argmin() % len(ws)], bs[C.argmin() // len(ws)], "*", color="yellow", ms=12, label="lowest C on the grid")
    ax.set(xlabel="weight w", ylabel="bias b", title=f"One sigmoid neuron on the ink of {first}s and {second}s")
    ax.legend(fontsize=8, loc="lower left")
    common.save_figure(plt, fig, path)
