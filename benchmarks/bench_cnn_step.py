"""How fast is a convolutional network here? The `cnn` demo's training step against PyTorch's, side by side.

The workload is one training step (forward, cross-entropy, backward, Adam update) of the `cnn`
demo's LeNet (conv 5x5 ×20, max pool, conv 5x5 ×50, max pool, 800-500-10 with dropout) at its
batch size of 64, on real MNIST digits, from the same starting weights in every implementation:
tinygrad-edu replayed by ``tg.jit`` (as the demo trains), the same step eager, and PyTorch when
it is installed. They take turns within every repeat, so a slow moment of this shared machine hits
them alike; the ratio to PyTorch is the median of the per-repeat ratios, and times are scaled to
seconds per 60,000-image epoch. Then it says where the eager step's time goes: im2col (`_im2col`,
the copy of every patch), col2im (`_col2im`, the sum back into the image, in the backward of the
convolutions and of max pooling), the matrix products (the convolutions' and the linear layers',
forward and backward), max pooling's own op, and Adam's update, as shares of the step. (Eager
only: a replay writes the linear layers out as NumPy calls that no wrapper sees.)

Times are CPU time of this process (``time.process_time``) with one thread for NumPy's BLAS and for
PyTorch (``torch.set_num_threads(1)``): on a machine shared with other jobs, wall-clock time mostly
measures the others.

    python benchmarks/bench_cnn_step.py            # full run, writes benchmarks/results-cnn.json
    python benchmarks/bench_cnn_step.py --quick    # a smoke run
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

for _variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")  # before NumPy starts its BLAS (see the docstring)

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the checkout this file is in, not an installed copy

import numpy as np  # noqa: E402

import nn  # noqa: E402
import tinygrad_edu as tg  # noqa: E402
from demos import cli, cnn  # noqa: E402
from nn import functional as F  # noqa: E402
from tinygrad_edu import ops  # noqa: E402
from tinygrad_edu.data import load_mnist  # noqa: E402
from tinygrad_edu.files import atomic_file  # noqa: E402

EPOCH = 60_000


def lenet():
    """The demo's model and its arguments (LeNet, batch 64, Adam 1e-3), built by the demo itself."""
    args = cli.build_parser().parse_args(["cnn"])
    model, optimizer, _ = cnn.build(args)
    return args, model, optimizer


def tinygrad_edu_step(jitted: bool):
    args, model, optimizer = lenet()
    loss_fn = nn.CrossEntropyLoss()
    step = cnn.train.make_step(model, loss_fn, optimizer, jit=jitted)  # what the demo runs
    return (lambda x, y: step(tg.Tensor(x), tg.Tensor(y)).item()), model


def torch_step(weights):
    import torch

    torch.set_num_threads(1)
    model = torch.nn.Sequential(
        torch.nn.Conv2d(1, 20, 5), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
        torch.nn.Conv2d(20, 50, 5), torch.nn.ReLU(), torch.nn.MaxPool2d(2), torch.nn.Flatten(),
        torch.nn.Linear(800, 500), torch.nn.ReLU(), torch.nn.Dropout(0.5), torch.nn.Linear(500, 10))
    model.load_state_dict({k: torch.tensor(v) for k, v in weights.items()})  # our state dict's keys are PyTorch's
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = torch.nn.CrossEntropyLoss()

    def step(x, y):
        optimizer.zero_grad()
        loss = loss_fn(model(torch.from_numpy(x)), torch.from_numpy(y))
        loss.backward()
        optimizer.step()
        return loss.item()

    return step


def time_steps(step, data) -> float:
    """CPU seconds per step over ``data``."""
    start = time.process_time()
    for x, y in data:
        step(x, y)
    return (time.process_time() - start) / len(data)


class Stopwatch:
    """CPU time spent inside the functions it wraps, by label (wrapping is done before any step is built)."""

    def __init__(self):
        self.seconds = {}

    def wrap(self, owner, name, label):
        original = getattr(owner, name)

        def timed(*args, **kwargs):
            start = time.process_time()
            try:
                return original(*args, **kwargs)
            finally:
                self.seconds[label] = self.seconds.get(label, 0.0) + time.process_time() - start

        setattr(owner, name, timed)
        return original


def breakdown(data) -> dict:
    """Shares of one eager step's CPU time: im2col, col2im, matrix products, max pooling, Adam, and the rest."""
    watch = Stopwatch()
    originals = [(F, "_im2col", watch.wrap(F, "_im2col", "im2col")), (F, "_col2im", watch.wrap(F, "_col2im", "col2im"))]
    for op, label in ((ops.MatMul, "matrix products"), (ops.LinearFn, "matrix products"), (F.WindowMax, "max pooling")):
        for half in ("forward", "backward"):
            originals.append((op, half, watch.wrap(op, half, label)))
    originals.append((nn.optim.Adam, "step", watch.wrap(nn.optim.Adam, "step", "Adam update")))
    try:
        step, _ = tinygrad_edu_step(jitted=False)
        for x, y in data[:3]:  # the recordings
            step(x, y)
        watch.seconds.clear()
        total = time_steps(step, data[3:]) * len(data[3:])
    finally:
        for owner, name, original in originals:
            setattr(owner, name, original)
    shares = {label: seconds / total for label, seconds in watch.seconds.items()}
    shares["the rest"] = 1 - sum(shares.values())
    return shares


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="a few steps only (a smoke run)")
    parser.add_argument("--data", default=None, help="folder holding mnist/ (default: $TINYGRAD_EDU_DATA)")
    parser.add_argument("--json", default="benchmarks/results-cnn.json", help="where to write the figures")
    args = parser.parse_args()
    repeats, steps = (2, 4) if args.quick else (7, 20)
    X, y = load_mnist(args.data, train=True)
    rng = np.random.default_rng(0)
    batch = lenet()[0].batch_size
    data = [(X[i].reshape(-1, 1, 28, 28), y[i]) for i in (rng.choice(len(X), batch, replace=False) for _ in range(steps))]

    steps_made = {"tg.jit": tinygrad_edu_step(True)[0], "eager": tinygrad_edu_step(False)[0]}
    try:
        weights = lenet()[1].state_dict()
        steps_made["PyTorch"] = torch_step(weights)
        import torch
        torch_note = f"PyTorch {torch.__version__}, {torch.get_num_threads()} thread"
    except ImportError:
        torch_note = "PyTorch is not installed: no comparison"
    print(f"LeNet step, batch {batch}, CPU seconds per 60,000-image epoch ({repeats} repeats of {steps} steps; "
          f"{torch_note}; numpy {np.__version__}, {platform.processor() or platform.machine()})")
    for step in steps_made.values():  # warm up: the jit's two recordings, PyTorch's first allocations
        for x, labels in data[:3]:
            step(x, labels)
    samples = {name: [] for name in steps_made}
    for _ in range(repeats):
        for name, step in steps_made.items():
            samples[name].append(time_steps(step, data) * EPOCH / batch)
    reference = "PyTorch" if "PyTorch" in samples else "tg.jit"
    results = {"batch_size": batch, "note": torch_note, "clock": "process_time", "repeats": repeats, "steps": steps,
               "seconds_per_epoch": {}, "ratio_to_" + reference: {}}
    print(f"  {'':<8} {'s/epoch':>8} {'(min-max)':>15} {'/ ' + reference:>10}")
    for name, times in samples.items():
        ratio = statistics.median(t / r for t, r in zip(times, samples[reference]))
        results["seconds_per_epoch"][name] = statistics.median(times)
        results["ratio_to_" + reference][name] = ratio
        print(f"  {name:<8} {statistics.median(times):>8.1f} {f'({min(times):.1f}-{max(times):.1f})':>15} {ratio:>9.2f}x")
    results["eager_shares"] = shares = breakdown(data)
    print("  where the eager step's time goes: " + ", ".join(f"{label} {share:.0%}" for label, share in shares.items()))
    with atomic_file(args.json) as file:
        file.write(json.dumps(results, indent=1).encode())
    print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
