"""How much does the autograd engine cost? Full training steps, tinygrad-edu against hand-written NumPy.

Each workload is one training step (forward, loss, backward, SGD update) of an MLP on real MNIST
digits, timed in five implementations of the same float32 math from the same weights: a
hand-written NumPy step as fast as NumPy allows (the limit for any engine built on NumPy), one
with eager's arithmetic and rounding (the limit for a replay that gives eager's numbers: checked
equal to eager and the jit bit for bit), tinygrad-edu as a user writes it (nn modules, loss,
optimizer) replayed by ``tg.jit``, the same step eager, and PyTorch when it is installed.
Implementations take turns within every repeat, so a slow moment of this shared machine hits them
alike; a ratio is the median of the per-repeat ratios, and times are scaled to seconds per
60,000-example epoch. The share of the jitted step its guard takes is measured too.

Times are CPU time of this process (``time.process_time``), with one BLAS thread for NumPy and
PyTorch alike: on a machine shared with other jobs, wall-clock time mostly measures the others,
and a second BLAS thread mostly waits for a core. Set OPENBLAS_NUM_THREADS to change it.

    PYTHONPATH=. python benchmarks/bench_train_step.py   # full run (this checkout), writes benchmarks/results.json
    python benchmarks/bench_train_step.py --quick    # a smoke run
    python benchmarks/bench_train_step.py --workload 784-100   # only the workloads whose name has this
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
import tracemalloc

for _variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")  # before NumPy starts its BLAS (see the docstring)

import numpy as np  # noqa: E402

import nn  # noqa: E402
import tinygrad_edu as tg  # noqa: E402
from tinygrad_edu.data import load_mnist  # noqa: E402
from tinygrad_edu.files import atomic_file  # noqa: E402

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
def tinygrad_edu_step(weights, activation, loss, lr, jitted=True):
    """The step as a user writes it: nn modules, a loss, an optimizer; through tg.jit unless ``jitted`` is False."""
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

    def train_step(x, target):
        optimizer.zero_grad()
        out = loss_fn(model(x), target)
        out.backward()
        optimizer.step()
        return out

    run = tg.jit(train_step) if jitted else train_step

    def step(x, labels, targets):
        return run(tg.Tensor(x), tg.Tensor(targets) if loss == "mse" else labels).item()

    step.run = run
    return step


def eager_step(weights, activation, loss, lr):
    return tinygrad_edu_step(weights, activation, loss, lr, jitted=False)


# -------------------------------------------------------------------------------------- NumPy
def numpy_step(weights, activation, loss, lr):
    """The same step written by hand as fast as NumPy allows: the limit for any engine on NumPy.

    Every intermediate lives in a buffer allocated once and written with ``out=``; activations are
    applied in place; the learning rate η and the 1/m of the mean are folded into the output delta
    δ = η ∂C/∂a, so the products δᵀa are already the weight updates.
    """
    params = [(W.copy(), b.copy()) for W, b in weights]
    sigmoid, mse, last = activation == "sigmoid", loss == "mse", len(params) - 1
    buffers = {}

    def allocate(m):
        return {
            "a": [np.empty((m, W.shape[0]), np.float32) for W, _ in params],  # z, then the activation in place
            "delta": [np.empty((m, W.shape[0]), np.float32) for W, _ in params],  # δ of each layer's output
            "slope": [np.empty((m, W.shape[0]), np.float32 if sigmoid else bool) for W, _ in params],  # σ'(z) or z > 0
            "dW": [np.empty_like(W) for W, _ in params],
            "db": [np.empty_like(b) for _, b in params],
            "row": np.empty((m, 1), np.float32),  # per-example max and sum of the softmax
            "rows": np.arange(m),
        }

    def step(x, labels, targets):
        m = len(x)
        if m not in buffers:
            buffers[m] = allocate(m)
        buf = buffers[m]
        a = x
        for i, (W, b) in enumerate(params):
            z = buf["a"][i]
            np.matmul(a, W.T, out=z)
            z += b
            if i < last or mse:
                if sigmoid:  # σ(z) = ½ tanh(z/2) + ½, as the engine computes it
                    z *= 0.5
                    np.tanh(z, out=z)
                    z *= 0.5
                    z += 0.5
                else:
                    np.maximum(z, 0, out=z)
            a = z
        delta = buf["delta"][last]
        if mse:  # C = 1/(2m) Σ‖y − a‖²;  δ = η (a − y)/m
            np.subtract(a, targets, out=delta)
            value = float(np.vdot(delta, delta)) * 0.5 / m
            delta *= lr / m
        else:  # C = −(1/m) Σ log softmax(z)_label;  δ = η (softmax(z) − onehot)/m
            row, rows = buf["row"], buf["rows"]
            np.max(a, axis=1, keepdims=True, out=row)
            a -= row
            np.exp(a, out=delta)
            np.sum(delta, axis=1, keepdims=True, out=row)
            value = float(np.log(row).sum() - a[rows, labels].sum()) / m
            delta /= row
            delta[rows, labels] -= 1
            delta *= lr / m
        for i in range(last, -1, -1):
            W, b = params[i]
            if i < last or mse:  # through the activation: δ ← δ ⊙ σ'(z) or δ ⊙ [z > 0]
                out, slope = buf["a"][i], buf["slope"][i]
                if sigmoid:
                    np.subtract(1, out, out=slope)
                    slope *= out
                else:
                    np.greater(out, 0, out=slope)
                delta *= slope
            np.matmul(delta.T, x if i == 0 else buf["a"][i - 1], out=buf["dW"][i])
            np.sum(delta, axis=0, out=buf["db"][i])
            if i > 0:
                np.matmul(delta, W, out=buf["delta"][i - 1])
                delta = buf["delta"][i - 1]
            W -= buf["dW"][i]
            b -= buf["db"][i]
        return value

    return step


def exact_numpy_step(weights, activation, loss, lr):
    """The same step by hand with eager's arithmetic and rounding, so its weights equal eager's bit for bit:
    the limit for a replay that must give eager's numbers.

    Buffers and ``out=`` wherever they leave each rounding as it is, but every product in eager's
    order: σ(z) = ½ tanh(z/2) + ½, ReLU as z · [z > 0], the loss's gradient scaled by 1/2m (or 1/m)
    before the activations' derivatives, and the update in a pass of its own, w ← w − (η·g) with η·g
    rounded to float32 first, as SGD's ``w -= lr * grad`` does. (The folded baseline above multiplies
    η into the output delta instead, which rounds differently.)
    """
    params = [(W.copy(), b.copy()) for W, b in weights]
    sigmoid, mse, last = activation == "sigmoid", loss == "mse", len(params) - 1
    buffers = {}

    def allocate(m):
        return {
            "a": [np.empty((m, W.shape[0]), np.float32) for W, _ in params],  # each layer's output
            "z": [np.empty((m, W.shape[0]), np.float32) for W, _ in params],  # its input z (ReLU: the mask's input)
            "g": [np.empty((m, W.shape[0]), np.float32) for W, _ in params],  # ∂C/∂(layer output)
            "u": [np.empty((m, W.shape[0]), np.float32) for W, _ in params],  # σ's 1 − σ, or ReLU's z > 0
            "dW": [np.empty_like(W) for W, _ in params],
            "step": [np.empty_like(W) for W, _ in params],  # η·g of the weights
            "row": np.empty((m, 1), np.float32),
            "rows": np.arange(m),
        }

    def step(x, labels, targets):
        m = len(x)
        if m not in buffers:
            buffers[m] = allocate(m)
        buf = buffers[m]
        a = x
        for i, (W, b) in enumerate(params):
            z, out = buf["z"][i], buf["a"][i]
            np.matmul(a, W.T, out=z)
            z += b
            if i < last or mse:
                if sigmoid:  # 0.5 * tanh(0.5 * z) + 0.5, as ops.Sigmoid
                    np.multiply(z, 0.5, out=out)
                    np.tanh(out, out=out)
                    out *= 0.5
                    out += 0.5
                else:  # z * (z > 0), as ops.ReLU
                    np.greater(z, 0, out=buf["u"][i])
                    np.multiply(z, buf["u"][i], out=out)
                a = out
            else:
                a = z
        g = buf["g"][last]
        if mse:  # L = Σ(a − y)² · 1/2m;  ∂L/∂a = (1 · 1/2m) · 2(a − y)
            scale = 1 / (2 * m)
            np.subtract(a, targets, out=g)
            value = np.asarray(np.multiply(g, g, out=buf["u"][last]).sum() * scale, dtype=np.float32)
            g *= 2
            g *= np.float32(1) * scale
        else:  # log p = s − log Σ eˢ (s = z − max z);  L = −Σ log p[label] · 1/m;  ∂L/∂z = d − p · Σ d
            row, rows, p = buf["row"], buf["rows"], buf["u"][last]
            np.subtract(a, np.max(a, axis=1, keepdims=True, out=row), out=g)
            g -= np.log(np.sum(np.exp(g, out=p), axis=1, keepdims=True, out=row), out=row)
            scale = 1 / np.float32(m)
            value = np.asarray(np.negative(g[rows, labels]).sum() * scale, dtype=np.float32)
            np.exp(g, out=p)
            p *= -(np.float32(1) * scale)  # p · Σ d, Σ d being the one nonzero −(1 · 1/m) of each row
            np.negative(p, out=g)
            g[rows, labels] -= np.float32(1) * scale
        for i in range(last, -1, -1):
            W, b = params[i]
            if i < last or mse:  # through the activation, as its backward: σ: (g · σ) · (1 − σ);  ReLU: g · [z > 0]
                out, u = buf["a"][i], buf["u"][i]
                if sigmoid:
                    g *= out
                    g *= np.subtract(1, out, out=u)
                else:
                    g *= u
            np.matmul(g.T, x if i == 0 else buf["a"][i - 1], out=buf["dW"][i])
            db = g.sum(axis=0)
            if i > 0:
                np.matmul(g, W, out=buf["g"][i - 1])
                g = buf["g"][i - 1]
            W -= np.multiply(buf["dW"][i], lr, out=buf["step"][i])
            b -= lr * db
        return float(value)

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
    """CPU seconds per step."""
    start = time.process_time()
    for x, labels, targets in data:
        step(x, labels, targets)
    return (time.process_time() - start) / len(data)


def guard_share(step, data) -> float:
    """The share of a jitted step's CPU time that its guard takes: the replay's own guard, run alone (its
    source up to the end of the guard) on the same calls, against the whole step (wrapping the batch,
    the replay, reading the loss)."""
    replay = step.run._last  # the replay the last call used
    source = step.run.source()
    guard_only = source[:source.index("        return MISS  # something the guard reads is gone")] + \
        "        return MISS\n    return None\n"
    namespace = dict(replay.__globals__)
    exec(guard_only, namespace)
    calls = [(tg.Tensor(x), tg.Tensor(targets) if "a1: Tensor" in source else labels) for x, labels, targets in data]
    start = time.process_time()
    for args in calls:
        namespace["replay"](*args)
    guard = time.process_time() - start
    return guard / (time_steps(step, data) * len(data))


def peak_memory(make_step, data) -> tuple[int, int, int]:
    """Bytes NumPy and Python allocate: the peak while training (after the first 5 steps, which for
    tg.jit are the recording), the bytes still held after 40x more steps than after those 5
    (growth across steps), and the peak of building the model and running the first 5 steps."""
    tracemalloc.start()
    step = make_step()
    for x, labels, targets in data[:5]:
        step(x, labels, targets)
    held_early, first_peak = tracemalloc.get_traced_memory()
    tracemalloc.reset_peak()
    for x, labels, targets in data:
        step(x, labels, targets)
    held_late, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak, held_late - held_early, first_peak


def chain_backward_times(lengths, repeats: int = 3) -> dict:
    """CPU seconds to backpropagate (eagerly) through a chain of n ops (y = y * c + c, repeated), the
    least of ``repeats`` chains (one backward is a single measurement, so a moment of the other jobs
    on a shared machine, or of Python's garbage collector, would show in it)."""
    times = {}
    for n in lengths:
        for _ in range(repeats):
            x = tg.Tensor(np.ones(4, dtype=np.float32), requires_grad=True)
            y = x
            for _ in range(n // 2):
                y = y * 1.0001 + 0.0
            start = time.process_time()
            y.sum().backward()
            times[n] = min(times.get(n, np.inf), time.process_time() - start)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--seconds", type=float, default=1.0, help="target length of one measurement")
    parser.add_argument("--quick", action="store_true", help="2 repeats of short measurements")
    parser.add_argument("--json", default="benchmarks/results.json", help="where to write the figures")
    parser.add_argument("--workload", action="append", default=[], metavar="TEXT",
                        help="run only the workloads whose name contains TEXT (may be given more than once)")
    args = parser.parse_args()
    workloads = [w for w in WORKLOADS if not args.workload or any(text in w[0] for text in args.workload)]
    if not workloads:
        parser.error(f"no workload matches {args.workload}; the workloads are {[w[0] for w in WORKLOADS]}")
    if args.quick:
        args.repeats, args.seconds = 2, 0.2

    X, y = load_mnist()
    makers = {"numpy": numpy_step, "numpy exact": exact_numpy_step, "jit": tinygrad_edu_step, "eager": eager_step}
    try:
        import torch

        torch.set_num_threads(int(os.environ["OPENBLAS_NUM_THREADS"]))  # as many threads as NumPy's BLAS
        makers["pytorch"] = torch_step
        torch_note = f"PyTorch {torch.__version__}, {torch.get_num_threads()} thread(s)"
    except ImportError:
        torch_note = "PyTorch not installed: no PyTorch column (pip install torch to add it)"
    threads = os.environ["OPENBLAS_NUM_THREADS"]
    print(f"Python {platform.python_version()}, NumPy {np.__version__} ({threads} BLAS thread(s)); {torch_note}; "
          "CPU time")

    results = {"python": platform.python_version(), "numpy": np.__version__, "blas_threads": threads,
               "note": torch_note, "clock": "process_time", "workloads": []}
    for name, sizes, activation, loss, batch_size, lr in workloads:
        weights = initial_weights(sizes)
        # The same math: the losses of the first steps agree between implementations.
        check_data = batches_for(X, y, batch_size, 5)
        losses = {fw: [make(weights, activation, loss, lr)(*b) for b in check_data] for fw, make in makers.items()}
        agree = max(abs(a - b) for fw in losses for a, b in zip(losses[fw], losses["numpy"]))
        exact = losses["numpy exact"] == losses["jit"] == losses["eager"]  # bit for bit (floats of float32 values)

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

        ratios = {fw: statistics.median(t / b for t, b in zip(times, samples["numpy"])) for fw, times in samples.items()}
        exact_ratios = {fw: statistics.median(t / b for t, b in zip(times, samples["numpy exact"]))
                        for fw, times in samples.items()}
        guard = guard_share(steps_fns["jit"], data)
        row = {"workload": name, "batch_size": batch_size, "steps_per_measurement": len(data),
               "max_loss_difference_vs_numpy": agree, "exact_baseline_equals_eager": exact,
               "guard_share_of_jit_step": guard, "frameworks": {}}
        print(f"\n{name}, batch {batch_size} ({len(data)} steps per measurement, {args.repeats} repeats; "
              f"losses agree with NumPy to {agree:.1e}; the exact baseline's equal eager's and the jit's bit for bit: "
              f"{'yes' if exact else 'NO'}; the jit's guard takes {guard:.1%} of its step)")
        print(f"  {'':<13} {'s/epoch':>8} {'(min-max)':>15} {'vs NumPy':>9} {'vs exact':>9} {'peak MiB':>9} "
              f"{'vs NumPy':>9} {'growth KiB':>11} {'first 5 MiB':>12}")
        for fw, times in samples.items():
            median = statistics.median(times)
            peak, growth, first = memory.get(fw, (None, None, None))
            row["frameworks"][fw] = {"seconds_per_epoch": median, "min": min(times), "max": max(times),
                                     "ratio_to_numpy": ratios[fw], "ratio_to_numpy_exact": exact_ratios[fw],
                                     "peak_bytes": peak, "growth_bytes": growth,
                                     "first_steps_peak_bytes": first}
            mem = (f"{peak / 2**20:>9.2f} {peak / memory['numpy'][0]:>8.2f}x {growth / 1024:>11.1f} {first / 2**20:>12.2f}"
                   if peak is not None else f"{'n/a':>9} {'n/a':>9} {'n/a':>11} {'n/a':>12}")
            print(f"  {fw:<13} {median:>8.2f} {f'({min(times):.2f}-{max(times):.2f})':>15} {ratios[fw]:>8.2f}x "
                  f"{exact_ratios[fw]:>8.2f}x {mem}")
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
