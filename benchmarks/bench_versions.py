"""The eager first-order training step of two versions of the code, side by side in one run.

A change to the engine (issue 24 made backward run a second time, on tensors, for second
derivatives) must not slow down the first-order step every demo takes. This times one eager step
(tinygrad-edu as a user writes it: nn modules, loss, SGD; no tg.jit) of the lecture's network and
of a larger one, in two source trees, e.g. main's last commit and yours:

    mkdir /tmp/base && git archive main | tar -x -C /tmp/base   # or any commit
    python benchmarks/bench_versions.py --base /tmp/base        # --new defaults to this checkout

Each tree runs in its own process (so each imports its own tinygrad_edu and nn), both alive for the
whole run; the processes take turns measuring, in alternating order, so a slow moment of this shared
machine hits both alike. Times are CPU time of each process (``time.process_time``, one BLAS thread);
the ratio new/base is the median of the per-turn ratios. Each process also trains 20 steps from the
same weights and reports a hash of the parameters: equal hashes mean the two trees compute the
first-order step bit for bit alike.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

for _variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")  # before NumPy starts its BLAS

WORKLOADS = [  # name, layer sizes, activation, loss, batch size, learning rate
    ("784-30-10 sigmoid, MSE", [784, 30, 10], "sigmoid", "mse", 10, 3.0),
    ("784-512-512-10 ReLU, CE", [784, 512, 512, 10], "relu", "cross-entropy", 128, 0.1),
]


# ------------------------------------------------------------------------ the worker (one per tree)
def worker(tree: str) -> None:
    """Answer requests on stdin: 'time i steps' (CPU seconds for that many steps of workload i) and 'hash i'."""
    sys.path.insert(0, tree)
    import numpy as np

    import nn
    import tinygrad_edu as tg
    from tinygrad_edu.data import load_mnist

    X, y = load_mnist()
    X = X.reshape(len(X), -1).astype(np.float32) / (255 if X.dtype == np.uint8 else 1)

    def build(sizes, activation, loss, batch_size, lr):
        rng = np.random.default_rng(0)
        layers = []
        for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
            linear = nn.Linear(n_in, n_out)
            bound = 1 / np.sqrt(n_in)
            linear.weight.data[...] = rng.uniform(-bound, bound, (n_out, n_in)).astype(np.float32)
            linear.bias.data[...] = rng.uniform(-bound, bound, n_out).astype(np.float32)
            layers.append(linear)
            if i < len(sizes) - 2 or loss == "mse":
                layers.append(nn.Sigmoid() if activation == "sigmoid" else nn.ReLU())
        model = nn.Sequential(*layers)
        optimizer = nn.optim.SGD(model.parameters(), lr=lr)
        loss_fn = nn.MSELoss() if loss == "mse" else nn.CrossEntropyLoss()
        eye = np.eye(10, dtype=np.float32)

        def step(k):
            rows = slice(k * batch_size % 59_000, k * batch_size % 59_000 + batch_size)
            target = tg.Tensor(eye[y[rows]]) if loss == "mse" else y[rows]
            optimizer.zero_grad()
            out = loss_fn(model(tg.Tensor(X[rows])), target)
            out.backward()
            optimizer.step()
        return model, step

    for line in sys.stdin:
        what, i, steps = line.split()
        _, sizes, activation, loss, batch_size, lr = WORKLOADS[int(i)]
        model, step = build(sizes, activation, loss, batch_size, lr)
        if what == "hash":
            for k in range(int(steps)):
                step(k)
            digest = hashlib.sha256(b"".join(p.numpy().tobytes() for p in model.parameters())).hexdigest()
            print(json.dumps({"hash": digest}), flush=True)
            continue
        for k in range(5):
            step(k)  # warm up
        start = time.process_time()
        for k in range(int(steps)):
            step(k)
        print(json.dumps({"seconds": time.process_time() - start}), flush=True)


# --------------------------------------------------------------------------------------- the run
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", required=True, help="the source tree to compare against (e.g. a worktree of main)")
    parser.add_argument("--new", default=str(Path(__file__).resolve().parents[1]), help="the tree under test (default: this one)")
    parser.add_argument("--repeats", type=int, default=9, help="turns per tree and workload (default 9)")
    parser.add_argument("--steps", type=int, nargs=2, default=[400, 20], metavar=("SMALL", "LARGE"),
                        help="steps per measurement of each workload (default 400 20)")
    args = parser.parse_args()
    trees = {"base": args.base, "new": args.new}
    workers = {name: subprocess.Popen([sys.executable, __file__, "--worker", tree], stdin=subprocess.PIPE,
                                      stdout=subprocess.PIPE, text=True, cwd=tree) for name, tree in trees.items()}

    def ask(name, request):
        workers[name].stdin.write(request + "\n")
        workers[name].stdin.flush()
        return json.loads(workers[name].stdout.readline())

    print(f"base: {args.base}\nnew:  {args.new}\n(CPU time per process, {args.repeats} alternating turns each; "
          "a shared machine: figures vary from run to run, the ratio less so)")
    for i, (name, sizes, activation, loss, batch_size, lr) in enumerate(WORKLOADS):
        hashes = {tree: ask(tree, f"hash {i} 20")["hash"] for tree in trees}
        samples = {tree: [] for tree in trees}
        for turn in range(args.repeats):
            for tree in (("base", "new") if turn % 2 == 0 else ("new", "base")):
                samples[tree].append(ask(tree, f"time {i} {args.steps[i]}")["seconds"] / args.steps[i])
        ratio = statistics.median(n / b for n, b in zip(samples["new"], samples["base"]))
        same = "the same bits" if hashes["base"] == hashes["new"] else "DIFFERENT bits"
        print(f"\n{name}, batch {batch_size}: parameters after 20 steps: {same}")
        for tree in trees:
            times = samples[tree]
            print(f"  {tree:<5} {statistics.median(times) * 1e3:8.3f} ms/step (min {min(times) * 1e3:.3f}, "
                  f"max {max(times) * 1e3:.3f})")
        print(f"  new/base: {ratio:.3f} (median of the per-turn ratios)")
    for process in workers.values():
        process.stdin.close()
        process.wait()


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--worker":
        worker(sys.argv[2])
    else:
        main()
