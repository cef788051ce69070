"""How much code does one eager training step run? Every function it enters, with its length.

The step is the lecture's: a 784-30-10 sigmoid network, the quadratic cost ``nn.MSELoss()``,
SGD, a batch of 10 — ``demos.train.train_step``'s five lines (zero_grad, forward, cost, backward,
step), run eagerly. One step is run first, untraced, so that what is traced is an ordinary step
(gradients already allocated once, as in every step after the first). ``sys.setprofile`` then
sees every Python function entered in ``tinygrad_edu/``, ``nn/`` and ``demos/train.py``'s
``train_step``; each is listed once with its length in source lines (``def`` to its last line,
docstring and comments included: what a student reading the step reads). A function defined inside
another listed one (a nested ``def``, a lambda, a generator expression) is counted with it, not again.

    python benchmarks/trace_step.py            # the table and the total
    python benchmarks/trace_step.py --total    # only the total

Issue 25's target is at most 380 lines in all (tests/demos/test_docs.py holds the code to it). The
count is a property of the code, not of the machine: it is the same on every run.
"""

from __future__ import annotations

import argparse
import inspect
import os
import sys

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)  # this checkout's packages, also when run as `python benchmarks/trace_step.py`

import nn  # noqa: E402
import tinygrad_edu as tg  # noqa: E402
from demos import common  # noqa: E402
from demos.train import train_step  # noqa: E402

FOLDERS = [os.path.join(ROOT, "tinygrad_edu") + os.sep, os.path.join(ROOT, "nn") + os.sep]
TRAIN = os.path.join(ROOT, "demos", "train.py")


def lecture_step():
    """The objects of one step of the lecture's network, and a batch of 10 made-up digits."""
    model = common.mlp([784, 30, 10], "sigmoid", init="normal", seed=0, final_activation=True)
    loss_fn = nn.MSELoss()
    optimizer = nn.optim.SGD(model.parameters(), lr=3.0)
    rng = np.random.default_rng(0)
    images = tg.Tensor(rng.random((10, 784), dtype=np.float32))
    targets = nn.one_hot(rng.integers(0, 10, size=10), 10, dtype=np.float32)
    return lambda: train_step(model, loss_fn, optimizer, images, targets)


def entered_code(step) -> set:
    """The code objects of the functions in tinygrad_edu/, nn/ and train_step that ``step()`` enters."""
    entered = set()

    def profile(frame, event, arg):
        if event == "call":
            code = frame.f_code
            if code.co_filename.startswith(tuple(FOLDERS)) or (code.co_filename == TRAIN
                                                                and code.co_name == "train_step"):
                entered.add(code)

    sys.setprofile(profile)
    try:
        step()
    finally:
        sys.setprofile(None)
    return entered


def measured(codes) -> list:
    """(file, first line, last line, name) of each function, leaving out those inside another listed one."""
    spans = []
    for code in codes:
        lines, first = inspect.getsourcelines(code)
        spans.append((os.path.relpath(code.co_filename, ROOT), first, first + len(lines) - 1, code.co_qualname))
    return sorted(span for span in spans if not any(o is not span and _inside(span, o) for o in spans))


def _inside(span, other) -> bool:
    """Whether ``span`` lies within ``other`` (a comprehension's code reports its whole function's lines)."""
    same_file, within = span[0] == other[0], other[1] <= span[1] and span[2] <= other[2]
    return same_file and within and ((other[1], other[2]) != (span[1], span[2]) or "<" in span[3])


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--total", action="store_true", help="print only the total number of lines")
    args = parser.parse_args(argv)
    step = lecture_step()
    step()  # the first step, untraced (see the docstring)
    functions = measured(entered_code(step))
    total = sum(last - first + 1 for _, first, last, _ in functions)
    if args.total:
        print(total)
        return 0
    width = max(len(f"{path}:{first}") for path, first, _, _ in functions)
    for path, first, last, name in functions:
        print(f"{last - first + 1:5}  {f'{path}:{first}':<{width}}  {name}")
    print(f"{total:5}  lines in {len(functions)} functions entered by one eager step "
          "(784-30-10 sigmoid, MSELoss, SGD, batch 10)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
