"""Why the sigmoid replaces the step: a small change in a weight gives a small change in the output.

One neuron sees one real digit x and computes z = w·x + b. We put it just below its threshold
(z slightly negative) and nudge weights:

- the perceptron's output step(z) jumps from 0 to 1: small changes can flip it completely, so
  there is no way to learn by small adjustments;
- the sigmoid neuron's output σ(z) moves a little, and by just the amount calculus predicts:
  Δoutput ≈ Σⱼ ∂output/∂wⱼ Δwⱼ, with the partial derivatives computed by backpropagation.
"""

from __future__ import annotations

import math

import numpy as np

import tinygrad_edu as tg
from demos import common


def add_arguments(parser) -> None:
    parser.add_argument("--delta", type=common.positive_float, default=0.05,
                        help="size of the nudge Δw given to each weight (default 0.05)")
    parser.add_argument("--weights", type=common.positive_int, default=5,
                        help="how many weights to nudge at once in the second experiment (default 5)")
    parser.add_argument("--seed", type=common.non_negative_int, default=0)
    common.add_data_arguments(parser)


def neuron_outputs(w: tg.Tensor, b: float, x: tg.Tensor) -> tuple[float, float, tg.Tensor]:
    """(step(z), σ(z), σ(z) as a tensor for backprop) for z = w·x + b."""
    z = (w * x).sum() + b
    return z.step().item(), z.sigmoid().item(), z.sigmoid()


def run(args) -> dict:
    X, y, _, _ = common.load_data(args)
    x = tg.Tensor(X[0].astype(np.float64))
    rng = np.random.default_rng(args.seed)
    w = tg.Tensor(rng.normal(0, 0.01, 784), requires_grad=True)
    lit = np.flatnonzero(X[0] > 0.9)  # pixels of the stroke: nudging their weights moves z most
    # The bias is minus the threshold: choose it so that z = w·x + b sits just below 0.
    b = -float((w.data * x.data).sum()) - 0.5 * args.delta * X[0][lit[0]]
    print(f"one neuron, one digit (a {y[0]}): z = w·x + b with b = {b:.4f}, threshold −b = {-b:.4f}")

    step_before, sigmoid_before, out = neuron_outputs(w, b, x)
    out.backward()  # w.grad = ∂σ(z)/∂w
    rows = []
    for label, chosen in [("one weight", lit[:1]), (f"{args.weights} weights", lit[: args.weights])]:
        nudge = np.zeros(784)
        nudge[chosen] = args.delta
        with tg.no_grad():
            step_after, sigmoid_after, _ = neuron_outputs(tg.Tensor(w.data + nudge), b, x)
        predicted = float((w.grad.data * nudge).sum())  # Σⱼ ∂output/∂wⱼ Δwⱼ
        rows.append({"change": label, "step": step_after - step_before,
                     "sigmoid": sigmoid_after - sigmoid_before, "predicted": predicted})

    print(f"\nbefore: step(z) = {step_before:.0f}, σ(z) = {sigmoid_before:.6f}")
    print(f"{'nudged':<12} {'Δ step':>7} {'Δ σ':>10} {'Σ ∂σ/∂w Δw':>12}")
    for row in rows:
        print(f"{row['change']:<12} {row['step']:>7.0f} {row['sigmoid']:>10.6f} {row['predicted']:>12.6f}")
    print("\n" + conclusion(rows, args.delta))
    return {"rows": rows}


def conclusion(rows: list[dict], delta: float) -> str:
    """What the table shows, in words that its numbers bear out (a large --delta shows the linear prediction failing)."""
    jumps = [row["step"] for row in rows]
    step = ("The step output jumps by a whole unit" if all(j == 1 for j in jumps) else
            f"The step output changes by {', '.join(f'{j:.0f}' for j in jumps)}")
    moves = " and ".join(f"{row['sigmoid']:.4g} ({row['change']})" for row in rows)
    error = max(abs(row["predicted"] - row["sigmoid"]) / abs(row["sigmoid"]) for row in rows)
    if error < 0.01:
        digits = int(-math.log10(error)) if error > 0 else 15
        linear = f"backprop's linear prediction matches the actual change to {digits} significant digits."
    elif error < 0.1:
        linear = (f"backprop's linear prediction is within {error:.1%} of the actual change: at Δw = {delta:g} "
                  "the curve already bends away from its tangent.")
    else:
        linear = (f"backprop's linear prediction is off by up to {error:.0%}: Δw = {delta:g} is too large for the "
                  "linear approximation, which holds for small changes only (try --delta 0.05).")
    return f"{step}; the sigmoid output moves by {moves},\nand {linear}"
