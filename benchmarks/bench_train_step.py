"""How much does the autograd engine cost? Full training steps, tinygrad-edu against hand-written NumPy.

Each workload is one training step (forward, loss, backward, SGD update) of an MLP on real MNIST
digits, timed in three implementations of exactly the same float32 math from the same weights:
tinygrad-edu as a user writes it (nn modules, loss, optimizer), a hand-written NumPy step, and
PyTorch when it is installed. Implementations take turns within every repeat, so a slow moment of
this shared machine hits them alike; we report the median and the spread over the repeats,
scaled to seconds per 60,000-example epoch, and the ratio to NumPy.

    python benchmarks/bench_train_step.py            # full run, writes benchmarks/results.json
    python benchmarks/bench_train_step.py --quick    # a smoke run
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import time
import tracemalloc

import numpy as np

import nn
import tinygrad_edu as tg
from tinygrad_edu.data import load_mnist
from tinygrad_edu.files import atomic_file

WORKLOADS = [
    # name, layer sizes, activation, loss, batch size, learning rate
    ("784-30-10 sigmoid, MSE", [784, 30, 10], "sigmoid", "mse", 10, 3.0),
    ("784-100-10 sigmoid, MSE", [784, 100, 10], "sigmoid", "mse", 64, 3.0),
    ("784-512-512-10 ReLU, CE", [784, 512, 512, 10], "relu", "cross-entropy", 128, 0.1),
]
EPOCH = 60_000


def initial_weights(sizes, seed=0):
    """PyTorch-style uniform init, float32: [(W of shape (out, in), b of shape (out,)), ...]."""
    rng = np.random.default_rng(seed)
    layers = []
    for n_in, n_out in zip(sizes[:-1], sizes[1:]):
        bound = 1 / np.sqrt(n_in)
        layers.append((rng.uniform(-bound, bound, (n_out, n_in)).astype(np.float32),
                       rng.uniform(-bound, bound, n_out).astype(np.float32)))
    return layers


# ------------------------------------------------------------------------------- tinygrad-edu
def tinygrad_edu_step(weights, activation, loss, lr):
    layers = []
    for i, (W, b) in enumerate(weights):
        linear = nn.Linear(W.shape[1], W.shape[0])
        linear.weight.data[...], linear.bias.data[...] = W, b
        layers.append(linear)
        if i < len(weights) - 1 or loss == "mse":
            layers.append(nn.Sigmoid() if activation == "sigmoid" else nn.ReLU())
    model = nn.Sequential(*layers)
    optimizer = nn.optim.SGD(model.parameters(), lr=lr)
    loss_fn = nn.MSELoss() if loss == "mse" else nn.CrossEntropyLoss()

    def step(x, labels, targets):
        optimizer.zero_grad()
        out = loss_fn(model(tg.Tensor(x)), tg.Tensor(targets) if loss == "mse" else labels)
        out.backward()
        optimizer.step()
        return out.item()

    return step


# -------------------------------------------------------------------------------------- NumPy
def numpy_step(weights, activation, loss, lr):
    """The same step written out by hand: forward, the chain rule backwards, in-place SGD."""
    params = [(W.copy(), b.copy()) for W, b in weights]
    sigmoid = activation == "sigmoid"

    def step(x, labels, targets):
        activations, a = [x], x
        for i, (W, b) in enumerate(params):
            z = a @ W.T
            z += b
            if i < len(params) - 1 or loss == "mse":
                a = (0.5 * np.tanh(0.5 * z) + 0.5) if sigmoid else np.maximum(z, 0)
            else:
                a = z
            activations.append(a)
        n = len(x)
        if loss == "mse":  # C = 1/(2n) Σ‖y − a‖²; δ = ∂C/∂a = (a − y)/n
            diff = a - targets
            value = float((diff * diff).sum()) * 0.5 / n
            delta = diff / n
        else:  # C = −(1/n) Σ log softmax(z)_label; δ = (softmax(z) − onehot)/n
            shifted = a - a.max(axis=1, keepdims=True)
            log_p = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
            value = -float(log_p[np.arange(n), labels].mean())
            delta = np.exp(log_p)
            delta[np.arange(n), labels] -= 1
            delta /= n
        for i in range(len(params) - 1, -1, -1):
            W, b = params[i]
            out = activations[i + 1]
            if i < len(params) - 1 or loss == "mse":  # through the activation
                delta = delta * (out * (1 - out) if sigmoid else (out > 0))
            grad_W, grad_b = delta.T @ activations[i], delta.sum(axis=0)
            if i > 0:
                delta = delta @ W
            W -= lr * grad_W
            b -= lr * grad_b
        return value

    return step


# ------------------------------------------------------------------------------------ PyTorch
def torch_step(weights, activation, loss, lr):
    import torch

    layers = []
    for i, (W, b) in enumerate(weights):
        linear = torch.nn.Linear(W.shape[1], W.shape[0])
        with torch.no_grad():
            linear.weight.copy_(torch.from_numpy(W))
            linear.bias.copy_(torch.from_numpy(b))
        layers.append(linear)
        if i < len(weights) - 1 or loss == "mse":
            layers.append(torch.nn.Sigmoid() if activation == "sigmoid" else torch.nn.ReLU())
    model = torch.nn.Sequential(*layers)
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)

    def step(x, labels, targets):
        optimizer.zero_grad()
        out = model(torch.from_numpy(x))
        if loss == "mse":
            value = ((out - torch.from_numpy(targets)) ** 2).sum() * (0.5 / len(x))
        else:
            value = torch.nn.functional.cross_entropy(out, torch.from_numpy(labels))
        value.backward()
        optimizer.step()
        return value.item()

    return step


# ---------------------------------------------------------------------------------- measuring
def batches_for(X, y, batch_size, steps):
    """The first steps·batch_size training digits as ready-made (x, labels, one-hot) batches."""
    out = []
    for i in range(steps):
        x = np.ascontiguousarray(X[i * batch_size:(i + 1) * batch_size])
        labels = y[i * batch_size:(i + 1) * batch_size]
        out.append((x, labels, np.eye(10, dtype=np.float32)[labels]))
    return out


def time_steps(step, data) -> float:
    start = time.perf_counter()
    for x, labels, targets in data:
        step(x, labels, targets)
    return (time.perf_counter() - start) / len(data)


def peak_memory(make_step, data) -> tuple[int, int]:
    """Peak bytes NumPy allocates while building the model and running the steps, and bytes still held
    after 10x more steps than after the first few (growth across steps)."""
    tracemalloc.start()
    step = make_step()
    for x, labels, targets in data[:5]:
        step(x, labels, targets)
    held_early = tracemalloc.get_traced_memory()[0]
    for x, labels, targets in data:
        step(x, labels, targets)
    held_late, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak, held_late - held_early


def chain_backward_times(lengths) -> dict:
    """Seconds to backpropagate through a chain of n ops (y = y * c + c, repeated)."""
    times = {}
    for n in lengths:
        x = tg.Tensor(np.ones(4, dtype=np.float32), requires_grad=True)
        y = x
        for _ in range(n // 2):
            y = y * 1.0001 + 0.0
        start = time.perf_counter()
        y.sum().backward()
        times[n] = time.perf_counter() - start
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--seconds", type=float, default=1.0, help="target length of one measurement")
    parser.add_argument("--quick", action="store_true", help="2 repeats of short measurements")
    parser.add_argument("--json", default="benchmarks/results.json", help="where to write the figures")
    args = parser.parse_args()
    if args.quick:
        args.repeats, args.seconds = 2, 0.2

    X, y = load_mnist()
    makers = {"tinygrad-edu": tinygrad_edu_step, "numpy": numpy_step}
    try:
        import torch

        torch.set_num_threads(2)  # NumPy's BLAS uses both cores of this machine too
        makers["pytorch"] = torch_step
        torch_note = f"PyTorch {torch.__version__}, {torch.get_num_threads()} threads"
    except ImportError:
        torch_note = "PyTorch not installed: no PyTorch column (pip install torch to add it)"
    print(f"Python {platform.python_version()}, NumPy {np.__version__}; {torch_note}")

    results = {"python": platform.python_version(), "numpy": np.__version__, "note": torch_note, "workloads": []}
    for name, sizes, activation, loss, batch_size, lr in WORKLOADS:
        weights = initial_weights(sizes)
        # The same math: the losses of the first steps agree between implementations.
        check_data = batches_for(X, y, batch_size, 5)
        losses = {fw: [make(weights, activation, loss, lr)(*b) for b in check_data] for fw, make in makers.items()}
        agree = max(abs(a - b) for fw in losses for a, b in zip(losses[fw], losses["numpy"]))

        probe = batches_for(X, y, batch_size, 20)
        per_step = time_steps(numpy_step(weights, activation, loss, lr), probe)
        steps = max(20, int(args.seconds / per_step))
        data = batches_for(X, y, batch_size, min(steps, EPOCH // batch_size))
        steps_fns = {fw: make(weights, activation, loss, lr) for fw, make in makers.items()}
        for fw, step in steps_fns.items():
            time_steps(step, data[:10])  # warm up
        samples = {fw: [] for fw in makers}
        for _ in range(args.repeats):
            for fw, step in steps_fns.items():
                samples[fw].append(time_steps(step, data) * EPOCH / batch_size)
        memory = {fw: peak_memory(lambda make=make: make(weights, activation, loss, lr), data[:200])
                  for fw, make in makers.items() if fw != "pytorch"}  # tracemalloc cannot see PyTorch's allocator

        baseline = statistics.median(samples["numpy"])
        row = {"workload": name, "batch_size": batch_size, "steps_per_measurement": len(data),
               "max_loss_difference_vs_numpy": agree, "frameworks": {}}
        print(f"\n{name}, batch {batch_size} ({len(data)} steps per measurement, {args.repeats} repeats; "
              f"losses agree with NumPy to {agree:.1e})")
        print(f"  {'':<13} {'s/epoch':>8} {'(min-max)':>15} {'vs NumPy':>9} {'peak MiB':>9} {'growth KiB':>11}")
        for fw, times in samples.items():
            median = statistics.median(times)
            peak, growth = memory.get(fw, (None, None))
            row["frameworks"][fw] = {"seconds_per_epoch": median, "min": min(times), "max": max(times),
                                     "ratio_to_numpy": median / baseline, "peak_bytes": peak, "growth_bytes": growth}
            mem = f"{peak / 2**20:>9.1f} {growth / 1024:>11.1f}" if peak is not None else f"{'n/a':>9} {'n/a':>11}"
            print(f"  {fw:<13} {median:>8.2f} {f'({min(times):.2f}-{max(times):.2f})':>15} {median / baseline:>8.2f}x {mem}")
        results["workloads"].append(row)

    chain = chain_backward_times([1_000, 10_000, 100_000])
    results["chain_backward_seconds"] = {str(n): t for n, t in chain.items()}
    print("\nbackward through a chain of n ops:")
    for n, t in chain.items():
        print(f"  n = {n:>7,}: {t * 1e3:8.1f} ms, {t / n * 1e6:.2f} µs per op")

    with atomic_file(args.json) as file:
        file.write(json.dumps(results, indent=2).encode())
    print(f"\nwrote {args.json}")


if __name__ == "__main__":
    main()
