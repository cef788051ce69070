"""What does the engine's read-only gradient cost? The eager 784-30-10 training step, with and without it.

Every backward is handed its gradient read-only (``autograd._call_backward`` sets
``grad.setflags(write=False)``), so that a backward changing it in place fails instead of silently
changing the gradients of the other ops it was handed to. This times the lecture's step (784-30-10
sigmoid network, quadratic cost, mini-batches of 10, SGD), eager as a user runs it, against the same
step with that call replaced by a plain ``fn.backward(grad)`` (its result checked as before). The two
take turns within every repeat, so a slow moment of this shared machine hits both alike; the ratio
is the median of the per-repeat ratios. CPU time of this process, one BLAS thread. Random inputs of MNIST's shape (the
time does not depend on the values).

    python benchmarks/bench_readonly_grad.py [--repeats 15] [--steps 300]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

for _variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")  # before NumPy starts its BLAS

import numpy as np  # noqa: E402

import nn  # noqa: E402
import tinygrad_edu as tg  # noqa: E402
from tinygrad_edu import autograd  # noqa: E402


def lecture_step():
    """One eager training step of the lecture's network, as demos/train.py runs it."""
    rng = np.random.default_rng(0)
    model = nn.Sequential(nn.Linear(784, 30, generator=rng), nn.Sigmoid(), nn.Linear(30, 10, generator=rng), nn.Sigmoid())
    optimizer = nn.optim.SGD(model.parameters(), lr=3.0)
    cost = nn.MSELoss()
    x = rng.random((10, 784), dtype=np.float32)
    y = nn.one_hot(rng.integers(0, 10, 10), 10).float()

    def step():
        optimizer.zero_grad()
        loss = cost(model(tg.Tensor(x)), y)
        loss.backward()
        optimizer.step()

    return step


def seconds(step, steps: int, call_backward) -> float:
    autograd._call_backward = call_backward
    start = time.process_time()
    for _ in range(steps):
        step()
    return time.process_time() - start


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--steps", type=int, default=300, help="training steps per measurement")
    args = parser.parse_args()
    read_only = autograd._call_backward

    def writable(fn, grad):  # _call_backward without the setflags (and so without its read-only error)
        return autograd._checked_gradients(fn, fn.backward(grad))

    step = lecture_step()
    seconds(step, args.steps, read_only)  # warm up
    ratios, times = [], {"read-only": [], "writable": []}
    for _ in range(args.repeats):
        with_flag, without = seconds(step, args.steps, read_only), seconds(step, args.steps, writable)
        times["read-only"].append(with_flag / args.steps)
        times["writable"].append(without / args.steps)
        ratios.append(with_flag / without)
    autograd._call_backward = read_only
    for name, values in times.items():
        print(f"{name:>9}: median {statistics.median(values) * 1e6:7.1f} µs per step")
    print(f"read-only / writable: median ratio {statistics.median(ratios):.3f} "
          f"(per-repeat ratios from {min(ratios):.3f} to {max(ratios):.3f}, {args.repeats} repeats)")


if __name__ == "__main__":
    main()
