"""`tg.jit`: record a training step on its first calls, then replay it as one straight-line Python function.

Eager execution pays Python bookkeeping for every op of every step: a `Function` object, a
`Tensor`, a graph node, and a backward walk that discovers the graph again. A training step does
the same ops in the same order on every call, only on new numbers. So the first two calls run
eagerly while the engine reports what happens (`tinygrad_edu.autograd.Observer`); from then on the
step is replaced by a generated function that calls the same ops' own ``forward`` and ``backward``
on plain arrays, in the recorded order, and really calls the optimizer's ``step``. The results are
the eager results bit for bit. What the replay guards on every call and what it refuses is listed
in docs/jit.md::

    @tg.jit
    def train_step(x, y):
        optimizer.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        optimizer.step()
        return loss

    print(train_step.source())  # after two calls: the generated replay, to read

One file per job:

    recording.py   the observer: one eager call as a list of events; refuses values read inside the step
    comparing.py   two recordings must agree; which outside tensors are state and which constants
    guards.py      what else the replay depends on, checked on every call
    generating.py  the replay's source: the guard, each op's forward and backward, the live calls
    decorator.py   `Jitted`, what ``tg.jit(step)`` returns: records, builds, and falls back to eager
"""

import sys
import types

from .decorator import Jitted
from .recording import JitError, live

__all__ = ["JitError", "Jitted", "live"]


class _CallableModule(types.ModuleType):
    """This module, callable: ``tg.jit(step)`` (or ``@tg.jit``) is ``Jitted(step)``, while
    ``tg.jit.live``, ``tg.jit.JitError`` and ``import tinygrad_edu.jit`` reach the module."""

    def __call__(self, fn, *, modules=None):
        return Jitted(fn, modules=modules)


sys.modules[__name__].__class__ = _CallableModule
