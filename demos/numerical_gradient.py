"""Gradients two ways: finite differences ("nudge one weight by h, watch the loss") and backprop.

The gradient ∂C/∂w says how much the cost C changes per unit change of the weight w. The direct way
to measure it: change w by a small h and see, (C(w + h) − C(w)) / h. That costs one more evaluation
of the network per weight — tens of thousands for a small network. Backpropagation gets all of
them from one backward pass. This demo does both, on a sigmoid network with the quadratic cost,
in float64, and shows they agree.
"""

from __future__ import annotations

import time

import numpy as np
from tqdm import tqdm

import nn
import tinygrad_edu as tg
from demos import common


def add_arguments(parser) -> None:
    parser.add_argument("--sizes", type=common.layer_sizes, default=[784, 30, 10], metavar="N,N,...",
                        help="layer sizes (default 784,30,10)")
    parser.add_argument("--examples", type=common.positive_int, default=10,
                        help="training examples the cost is averaged over (default 10)")
    parser.add_argument("--h", type=common.positive_float, default=1e-6, help="the nudge (default 1e-6)")
    common.add_output_arguments(parser)
    common.add_data_arguments(parser)


def run(args) -> dict:
    X, y, _, _ = common.load_data(args)
    examples = min(args.examples, len(X))
    if examples < args.examples:
        print(f"(--examples {args.examples}, but --subset {args.subset} leaves {len(X)} training digits: using {examples})")
    x = tg.Tensor(X[:examples].astype(np.float64))
    t = nn.functional.one_hot(y[:examples], args.sizes[-1], dtype=np.float64)
    model = common.mlp(args.sizes, "sigmoid", init="normal", seed=args.seed, final_activation=True,
                       dtype=np.float64)
    cost_fn = nn.MSELoss()

    def cost() -> tg.Tensor:
        return cost_fn(model(x), t)

    # 1. The lecture's walkthrough, on one weight: the one linking a lit pixel to hidden neuron 0.
    params = dict(model.named_parameters())
    weight = params["0.weight"]
    pixel = int(np.argmax(X[0]))
    with tg.no_grad():
        before = cost().item()
        weight.data[0, pixel] += args.h
        after = cost().item()
        weight.data[0, pixel] -= args.h
    estimate = (after - before) / args.h
    print(f"cost C = 1/(2n) Σ‖y − a‖² over {examples} digits, {sum(p.numel() for p in params.values())} weights and biases")
    print(f"w = 0.weight[0, {pixel}]: C(w) = {before:.12f}, C(w + h) = {after:.12f} with h = {args.h:g}")
    print(f"  estimated ∂C/∂w = (C(w + h) − C(w)) / h = {estimate:.8f}")

    # 2. Every weight, both ways.
    start = time.perf_counter()
    cost().backward()
    backprop_seconds = time.perf_counter() - start
    start = time.perf_counter()
    evaluations = 2 * sum(p.numel() for p in params.values())  # C(w + h) and C(w − h) for every weight
    with tqdm(total=evaluations, desc="finite differences", unit="eval", leave=False, disable=args.quiet) as bar:
        def counted_cost(*_):
            bar.update()
            return cost()

        numeric = tg.numerical_grad(counted_cost, list(params.values()), h=args.h)
    numeric_seconds = time.perf_counter() - start
    print(f"  backprop's  ∂C/∂w                      = {weight.grad.data[0, pixel]:.8f}")

    print(f"\n{'parameter':<10} {'shape':<11} {'largest |backprop − finite difference|':>40}")
    largest = 0.0
    for (name, p), num in zip(params.items(), numeric):
        difference = float(np.abs(p.grad.data - num).max())
        largest = max(largest, difference)
        print(f"{name:<10} {str(p.shape):<11} {difference:>40.2e}")
    print(f"\nlargest difference {largest:.2e}; backprop took {backprop_seconds * 1e3:.1f} ms, "
          f"finite differences {numeric_seconds:.1f} s ({evaluations} evaluations of the cost)")
    return {"estimate": estimate, "backprop": float(weight.grad.data[0, pixel]), "largest_difference": largest}
