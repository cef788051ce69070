"""The public `tg.jit(step)`: record a step on its first calls, then replay it while the guard holds."""

from __future__ import annotations

import functools

import numpy as np

from ..autograd import _mode
from ..tensor import Tensor
from .comparing import compare
from .generating import MISS, generate
from .guards import Guard
from .recording import JitError, Recording

RECORDINGS = 2  # calls recorded (eagerly) before the replay takes over; their comparison finds changing values


class _Entry:
    """The recordings and, once two agree, the replay for one signature of the step."""

    def __init__(self):
        self.recordings = []
        self.replay = self.source = None


class Jitted:
    """A step under ``tg.jit``: call it as the step; ``source()`` shows the replays generated so far.

    ``modules`` lists modules the guard must watch when the step reaches them in a way the jit does
    not look (two attributes away, say): see guards.py for what is found without it.
    """

    def __init__(self, fn, *, modules=None):
        self.fn = fn
        self._entries = {}  # signature -> _Entry
        self._last = None  # the replay used last, tried first
        self._modules = list(modules or ())
        functools.update_wrapper(self, fn)

    def __call__(self, *args):
        if _mode.observer is not None:  # inside another step being recorded: that recording sees our ops
            return self.fn(*args)
        if self._last is not None:  # the common case: the same signature as the last call
            result = self._last(*args)
            if result is not MISS:
                return result
        key = self._signature(args)
        entry = self._entries.get(key)
        if entry is None:
            entry = self._entries[key] = _Entry()
        if entry.replay is not None:
            result = entry.replay(*args)
            if result is not MISS:
                self._last = entry.replay
                return result
            entry = self._entries[key] = _Entry()  # something the guard checks changed: record again
        return self._record(entry, args)

    def _signature(self, args) -> tuple:
        """What a replay is only valid for, told apart cheaply: grad and anomaly mode, argument types, shapes
        and dtypes (the guard checks everything else)."""
        parts = [_mode.enabled, _mode.detect_anomaly]
        for a in args:
            if isinstance(a, Tensor):
                parts.append((type(a), a.data.shape, a.data.dtype, a._requires_grad))
            elif isinstance(a, np.ndarray):
                parts.append((type(a), a.shape, a.dtype))
            else:
                raise TypeError(f"tg.jit: a jitted step takes tensors and NumPy arrays, got a {type(a).__name__}; "
                                "a replay would freeze any other value (pass it as a tensor, or use no tg.jit)")
        return tuple(parts)

    def _record(self, entry, args):
        guard = Guard(self.fn, args, self._modules)
        if entry.recordings and entry.recordings[-1][1].changed(guard):  # a setting changed since: start again
            entry.recordings = []
        recording = Recording(args, entry.recordings[-1][0] if entry.recordings else None, guard.sources())
        result = recording.run(self.fn, args)
        changed = guard.changed(Guard(self.fn, args, self._modules), settings=True)
        if changed is not None:
            raise JitError(f"tg.jit: the step changed {changed} while it ran; a replay runs no Python between ops, "
                           "so only the recorded calls would change it. Change it outside the step, or in a "
                           "function marked tg.jit.live, which every replay calls (as an optimizer's step is).")
        entry.recordings.append((recording, guard))
        if len(entry.recordings) == RECORDINGS:
            if args and entry.recordings[0][0].arg_values == recording.arg_values:
                # Two calls on the same values cannot tell a constant from an array computed from them outside
                # any op (a mask from x.data, a one-hot from labels), which a replay would freeze: what differs
                # is refused as usual, and the next call is recorded again, until two calls differ.
                compare(entry.recordings[0][0], recording)
                del entry.recordings[0]
            else:
                self._build(entry)
        return result

    def _build(self, entry):
        (first, _), (second, guard) = entry.recordings
        externals = compare(first, second)
        header = ", ".join(f"a{i}: {type(a).__name__} {a.shape} {a.dtype}" for i, a in enumerate(second.arg_objects))
        source, namespace = generate(second, externals, header or "no arguments", guard)
        exec(compile(source, f"<tg.jit replay of {getattr(self.fn, '__qualname__', 'step')}>", "exec"), namespace)
        entry.replay, entry.source = namespace["replay"], source
        entry.recordings = []  # let the recorded tensors and graphs go

    def source(self) -> str:
        """The generated replay functions, one per signature replayed so far, as Python source to read."""
        sources = [e.source for e in self._entries.values() if e.source is not None]
        return "\n".join(sources) if sources else ("# nothing replayed yet: the first two calls record the step, and a "
                                                    "call on the same argument values as the call before records again\n")
