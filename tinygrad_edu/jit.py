"""`jit`: record a training step once, then replay it as one straight-line Python function.

Eager execution pays Python bookkeeping for every op of every step: a `Function` object, a
`Tensor`, a graph node, and a backward walk that discovers the graph again. A training step does
the same ops in the same order on every call, only on new numbers. So the first calls run eagerly
while the engine reports to a recorder what happens (every op with its inputs, every backward and
the order in which it visits the ops, every call that must stay live such as ``optimizer.step()``);
from then on the step is replaced by a generated function that calls the same ops' ``forward`` and
``backward`` on plain arrays, in the recorded order, routing each gradient by position. The
results are the eager results bit for bit: the same NumPy calls run on the same arrays in the same
order. The hottest ops (Linear, Sigmoid, ReLU, LogSoftmax, nn's quadratic cost and negative
log-likelihood, which make cross-entropy) are written out as those NumPy calls, into buffers the
replay reuses (``out=``), and every array is freed after its last use; so are nn.optim's
``zero_grad()`` and ``step()`` (its ``update`` for each parameter; plain SGD's ``w -= lr · grad``
itself, through one small buffer), reading the learning rate and the optimizer's state on every
call. This is how tinygrad's TinyJit, CUDA graphs and ``torch.compile`` get their speed.

    @tg.jit
    def train_step(x, y):
        optimizer.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        optimizer.step()
        return loss

    for x, y in batches:
        loss = train_step(x, y)       # calls 1 and 2 record, later calls replay
    print(train_step.source())         # the generated replay, to read

What a replay cannot do, and what happens instead:

- Python code between ops does not run in a replay: a ``print`` or a counter inside the step runs
  only on the recording calls (the first two for each input signature). Put it outside the step.
- Values are not read inside the step: ``.item()``, ``bool()``, ``float()``, ``.numpy()``,
  ``.tolist()``, and the results outside the graph that read values (comparisons such as
  ``x > 0``, ``& | ^``, ``argmax``, ``all``/``any``, a cast to integers) of anything a later
  call may change (an argument, a parameter, an op computed from those) raise `JitError` while
  recording: the value would be frozen. Return the tensor and read it after the call; for a
  mask, use an op (``F.relu(x)``, not ``x * (x > 0)``).
- Tensors made outside any op (``tg.Tensor(...)`` of a NumPy array, a dropout mask drawn in
  NumPy, one-hot targets) are replayed as constants. A constant whose values differ between the
  two recordings raises `JitError` naming the op that used it; pass such arrays as arguments
  (an array handed to the step, or wrapped in ``tg.Tensor`` inside it, is read afresh each call).
  Two calls on equal argument values cannot show that an array was made from them, so such a call
  is recorded again (and runs eagerly) until two calls differ. Numbers used inside the step are
  frozen too: pass a changing number as a tensor argument. So is the ``gradient=`` of ``backward``:
  `JitError` if it comes from the arguments or changes between the recordings.
- The two recordings must apply the same ops (Python ``if`` on tensor values changes them), or
  `JitError` names the first difference. The step must return tensors (or a tuple/list of them,
  or None).
- The written-out negative log-likelihood assumes every label is a class: a call whose labels hold
  ``ignore_index`` (or a label out of range, which eager reports) runs eagerly, and the replay
  stays for the next call.
- Calls marked `live` (an optimizer's ``step`` and ``zero_grad``, ``Module.zero_grad``) run for
  real in every replay (nn.optim's written out, as above), so momentum, Adam's state and a
  learning rate changed by a scheduler are honoured; the guard checks that the optimizer's
  groups still hold the parameters written out and that none maximizes. Changes that neither an op nor a live call made (``p.data -= ...``, ``p.grad = None``)
  raise `JitError`; in-place ops (``p.sub_(...)``, ``h *= 2``) replay, and so does reading a
  gradient that backward set. The losses check for a non-finite value inside their op, so a
  replay still raises FloatingPointError.

Guards, checked on every call: the arguments' shapes and dtypes (and whether they require grad),
grad mode and anomaly mode, the ``training`` flag of every module the step can reach (modules
in the function's closure, the globals it names and its arguments, or one attribute or item away
from those, as ``self.model``; give others as ``jit(fn, modules=[...])``), and the shapes of the
tensors the step reads. A call that matches no
recording runs eagerly and is recorded for its own signature; the last, smaller batch of an epoch
gets a replay of its own after two epochs.
"""

from __future__ import annotations

import functools
import math
import re
import weakref
import zlib

import numpy as np

from . import ops
from .autograd import _mode, _sum_to_shape, run_backward
from .tensor import Tensor

__all__ = ["JitError", "jit", "live"]

RECORDINGS = 2  # calls recorded (eagerly) before the replay takes over; their comparison finds changing values
MISS = object()  # what a replay returns when its guard finds the call is not the recorded one
EAGER = object()  # ... when the call is the recorded one but its values need the op itself (a label no class)
SMALL = 16384  # bytes: a buffer this small stays with the replay; allocating it would cost more than it holds
CHUNK = 32768  # elements: plain SGD's lr · grad of a larger parameter is made this many at a time (see _plain_update)


class JitError(RuntimeError):
    """A step that a replay would get wrong; the message names the op and the way out."""


def live(method):
    """Mark a function or method that a jitted step must really call on every replay.

    ``nn.optim``'s ``step`` and ``zero_grad`` are marked, so an optimizer's state (momentum,
    Adam's moments and step count) and its current learning rate are used on every call. Outside
    a recording the marker costs one attribute check.
    """

    @functools.wraps(method)
    def call_live(*args, **kwargs):
        recorder = _mode.recorder
        if recorder is None:
            return method(*args, **kwargs)
        return recorder.live(method, args, kwargs)

    return call_live


class _Argument:
    """An op's keyword argument that is one of the step's argument arrays: replayed as that argument."""

    def __init__(self, position: int, in_tensor: bool):
        self.position, self.in_tensor = position, in_tensor

    def __eq__(self, other):
        return type(other) is _Argument and other.position == self.position


def _same_value(a, b) -> bool:
    """Equal as the replay would use them: same object, or arrays with the same dtype, shape and bits."""
    if a is b:
        return True
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return (isinstance(a, np.ndarray) and isinstance(b, np.ndarray) and a.dtype == b.dtype
                and a.shape == b.shape and a.tobytes() == b.tobytes())
    if isinstance(a, (tuple, list)) and type(a) is type(b):
        return len(a) == len(b) and all(_same_value(x, y) for x, y in zip(a, b))
    if type(a) is not type(b):
        return False
    try:
        return bool(a == b)
    except Exception:  # objects whose == is not a truth value
        return False


# ---------------------------------------------------------------------------------- recording
class _Recording:
    """What one eager call of the step did, as a list of events, with every tensor named by where it came from.

    A tensor an op reads is one of: ``("out", k)`` the result of the step's op k; ``("arg", i)``
    the step's i-th argument (or the array inside it); ``("grad", reference)`` the ``.grad`` that
    backward gave a leaf; ``("copy", (n, k))`` the copy of op k's old result that an in-place change
    keeps; ``("ext", tensor)`` anything else, which the comparison of two recordings sorts into
    persistent state (the same tensor object both times, read live: parameters) and constants (a
    new object each time: must hold equal values).
    """

    def __init__(self, args: tuple, previous: "_Recording | None"):
        self.arg_objects = args
        self.arg_values = tuple(_fingerprint(a.data if isinstance(a, Tensor) else a) for a in args)
        self.events = []  # ("op", ...), ("backward", ...), ("live", ...), in order
        self.outputs = []  # a weak reference to the tensor each op made: eager frees them as usual
        self.slot = {}  # id(tensor made by op k) -> k (checked against outputs[k]: ids are reused)
        self.op_names = []
        self.varying = set()  # the ops whose result depends on an argument, a parameter or a gradient
        self.fn_slot = {}  # id(a recorded op's Function) -> its index
        self.copies = {}  # id(a copy of op k's result the engine made for an in-place change) -> its reference
        self.grads = {}  # id(a .grad that backward set) -> (weak reference to it, the leaf's reference)
        self.args = {}  # id(argument, or the array inside a Tensor argument) -> position
        for i, arg in enumerate(args):
            self.args[id(arg)] = i
            if isinstance(arg, Tensor):
                self.args.setdefault(id(arg.data), i)
        self.watched = {}  # id -> [tensor, fingerprint of its data, its grad]: outside tensors, checked for changes
        if previous is not None:  # watch the first recording's outside tensors from the start
            for kind, t in (ref for event in previous.events for ref in _refs(event)):
                if kind == "ext":
                    self._watch(t)
        self.visits = None  # during a backward: the ops it visits, in order
        self.result = None

    # --- what the engine reports
    def op(self, fn, inputs, kwargs, result):
        k = len(self.outputs)
        refs = tuple(self.ref(t) for t in inputs)
        kwargs = {name: self._argument(v) if isinstance(v, np.ndarray) and id(v) in self.args else v
                  for name, v in kwargs.items()}
        self.events.append(("op", type(fn), kwargs, refs, fn.needs_input_grad, result._ctx is fn,
                            result.shape, result.dtype, tuple((t.shape, t.dtype) for t in inputs)))
        self.outputs.append(weakref.ref(result))
        self.op_names.append(type(fn).__name__)
        self.slot[id(result)] = k
        if any(self._varies(t) is not None for t in inputs):
            self.varying.add(k)
        if result._ctx is fn:  # observe this op's backward: which ops a backward visits, in which order
            fn.backward = functools.partial(self._visit, k, fn.backward)
            self.fn_slot[id(fn)] = k

    def _argument(self, array) -> _Argument:
        i = self.args[id(array)]
        return _Argument(i, isinstance(self.arg_objects[i], Tensor))

    def _visit(self, k, backward, grad):
        grads = backward(grad)
        if _mode.recorder is not self:  # this graph's backward runs after the recorded call
            return grads
        returned = grads if type(grads) is tuple else (grads,)
        self.visits.append((k, type(grads) is tuple, tuple(
            None if g is None else (g.shape, g.dtype, id(g), g is grad, type(g) is np.ndarray) for g in returned)))
        return grads

    def backward(self, root, gradient, retain_graph, given):
        if root._ctx is None:
            raise JitError("tg.jit: backward() on a leaf tensor inside a jitted step; call it on a computed loss")
        source = (self._varies(given) if isinstance(given, Tensor)
                  else "an argument of the step" if isinstance(given, np.ndarray) and id(given) in self.args else None)
        if source is not None:
            raise JitError(f"tg.jit: the gradient given to backward() inside a jitted step is {source}, whose values "
                           "a later call may change; a replay would freeze them. Backpropagate a scalar instead: "
                           "(y * g).sum().backward() with g passed to the step.")
        self._check_unchanged("backward()")
        for out in (ref() for ref in self.outputs):
            if out is not None and out._retains_grad:
                raise JitError(f"tg.jit: retain_grad() on a tensor of shape {out.shape} inside a jitted step is not "
                               "supported; a replay sets .grad on leaves only")
        self.visits = []
        self.events.append(("backward", self.ref(root), gradient.copy(), self.visits))
        run_backward(root, gradient, retain_graph)
        self._refresh()  # backward may set .grad of the tensors watched
        for t, _, grad in self.watched.values():  # reading a gradient later in the step reads the leaf's .grad
            if grad is not None:
                self.grads[id(grad)] = (weakref.ref(grad), self.ref(t))

    def live(self, method, args, kwargs):
        self._check_unchanged(f"{method.__qualname__}()")
        refs = tuple(self.ref(a) if isinstance(a, Tensor) else ("value", a) for a in args)
        kwrefs = {name: self.ref(a) if isinstance(a, Tensor) else ("value", a) for name, a in kwargs.items()}
        self.events.append(("live", method, refs, kwrefs))
        recorder, _mode.recorder = _mode.recorder, None  # a live call is not part of the recording
        try:
            return method(*args, **kwargs)
        finally:
            _mode.recorder = recorder
            self._refresh()

    def in_place(self, tensor, new):
        """``tensor``'s array was overwritten with ``new``'s values: the replay does the same, and from
        now on ``tensor`` stands for ``new`` (whose op the backward visits in its place)."""
        self.events.append(("in place", self.ref(tensor), self.ref(new)))
        k = self._slot(new)
        if k is not None:
            self.slot[id(tensor)], self.outputs[k] = k, weakref.ref(tensor)
        if id(tensor) in self.watched:  # a change the replay repeats: not one to refuse
            self.watched[id(tensor)][1] = _fingerprint(tensor.data)

    def _varies(self, t) -> str | None:
        """Where ``t``'s values come from, if a later call may change them (None: fixed, such as a
        tensor the step makes from numbers, or an op's result computed from such tensors only)."""
        k = self._slot(t)
        if k is not None:
            return f"op {k} ({self.op_names[k]})" if k in self.varying else None
        if id(t) in self.args or id(t.data) in self.args:
            return "an argument of the step"
        if t.requires_grad:
            return f"a tensor of shape {t.shape} that requires grad (a parameter)"
        return "a gradient" if self._leaf_of_grad(t) is not None else None

    def _leaf_of_grad(self, t):
        """The reference of the leaf whose ``.grad`` backward set to ``t``, if it did."""
        grad = self.grads.get(id(t))
        return grad[1] if grad is not None and grad[0]() is t else None

    def read(self, tensor, what):
        """Refuse a value read (Tensor._read) of anything a later call may change; the replay would
        freeze the value read."""
        source = self._varies(tensor)
        if source is None:
            return
        raise JitError(f"tg.jit: Tensor.{what} inside a jitted step reads the value of {source} (bool(), float(), "
                       "int(), comparisons, argmax, all/any and integer casts read values too); a replay runs no "
                       "Python between ops, so that value would be frozen. Return the tensor from the step and "
                       "read it after the call, or use an op (F.relu, not x * (x > 0)).")

    # --- naming tensors
    def ref(self, t):
        k = self._slot(t)
        if k is not None:
            return ("out", k)
        leaf = self._leaf_of_grad(t)
        if leaf is not None:
            return ("grad", leaf)
        k = self.fn_slot.get(id(t._ctx))
        if k is not None:  # not op k's result, but made by it: the copy of its old value an in-place change keeps
            copy = self.copies.get(id(t))
            if copy is None or copy[0]() is not t:
                copy = self.copies[id(t)] = (weakref.ref(t), ("copy", (len(self.copies), k)))
                self.events.append(copy[1])
            return copy[1]
        i = self.args.get(id(t), self.args.get(id(t.data)))
        if i is not None:
            return ("arg", i)
        self._watch(t)
        return ("ext", t)

    def _slot(self, t):
        """Which op made ``t``, if one of the step's ops did."""
        k = self.slot.get(id(t))
        return k if k is not None and self.outputs[k]() is t else None

    # --- changes a replay could not repeat
    def _watch(self, t):
        if id(t) not in self.watched:
            self.watched[id(t)] = [t, _fingerprint(t.data), t.grad]

    def _refresh(self):
        for entry in self.watched.values():
            entry[1], entry[2] = _fingerprint(entry[0].data), entry[0].grad

    def _check_unchanged(self, where):
        for t, fingerprint, grad in self.watched.values():
            if t.grad is not grad:
                raise JitError(
                    f"tg.jit: the .grad of a tensor of shape {t.shape} was set inside the step before {where} "
                    "by code that a replay does not run (e.g. `p.grad = None`). Clear gradients with "
                    "optimizer.zero_grad() or model.zero_grad(), which run live in every replay.")
            if _fingerprint(t.data) != fingerprint:
                raise JitError(
                    f"tg.jit: a tensor of shape {t.shape} that the step reads was changed in place before {where} "
                    "outside any op (e.g. through .data); a replay would not repeat that. Change parameters "
                    "in an optimizer's step(), or mark the function doing it with tg.jit.live.")

    def finish(self, result):
        self._check_unchanged("the end of the step")
        self.result = self._template(result)
        self.outputs = self.slot = self.watched = None  # let go of the step's tensors and gradients now

    def _template(self, value):
        if value is None:
            return None
        if isinstance(value, Tensor):
            return self.ref(value)
        if isinstance(value, (tuple, list)):
            return (type(value), tuple(self._template(v) for v in value))
        raise JitError(f"tg.jit: the step returned a {type(value).__name__}; return tensors (a Tensor, a tuple or "
                       "list of them, or None) and read their values after the call")


def _fingerprint(array: np.ndarray) -> tuple:
    """What tells a changed array from an unchanged one without copying it: its shape, dtype and a CRC of its bytes."""
    return array.shape, array.dtype, zlib.crc32(np.ascontiguousarray(array).view(np.uint8))


def _refs(event):
    """The tensor references an event reads."""
    if event[0] == "op":
        return event[3]
    if event[0] == "backward":
        return (event[1],)
    if event[0] == "live":
        return tuple(r for r in event[2] + tuple(event[3].values()) if r[0] != "value")
    if event[0] == "copy":
        return (("out", event[1][1]),)
    return event[1:]  # in place: the tensor changed, the tensor with its new value


# ------------------------------------------------------------------------------- comparing
def _describe(event, k=None) -> str:
    if event[0] == "in place":
        return "an in-place change"
    if event[0] == "copy":
        return "a copy kept by an in-place change"
    if event[0] == "op":
        return f"op {k} ({event[1].__name__})" if k is not None else event[1].__name__
    if event[0] == "live":
        return f"a live call of {event[1].__qualname__}"
    return "backward()"


def _compare(first: _Recording, second: _Recording) -> dict:
    """Check that two recordings did the same thing; return how each outside tensor is replayed.

    The result maps id(tensor) of the second recording's outside tensors to ("state", tensor) or
    ("const", array).
    """
    if len(first.events) != len(second.events):
        raise JitError(f"tg.jit: the step did {len(first.events)} things on one call and {len(second.events)} on the "
                       "next (ops, backward() calls and live calls); a replay repeats one fixed sequence. Python "
                       "control flow on tensor values (e.g. `if loss.item() > 1`) is the usual cause; run such a "
                       "step without tg.jit.")
    externals = {}
    op_index = -1
    for a, b in zip(first.events, second.events):
        op_index += a[0] == "op"
        where = _describe(b, op_index)
        if a[0] != b[0] or (a[0] in ("op", "live") and a[1] is not b[1]):
            raise JitError(f"tg.jit: the step's recordings differ at {where}: one call did {_describe(a)} where the "
                           f"next did {_describe(b)}. A replay repeats one fixed sequence of ops; Python control flow "
                           "on tensor values is the usual cause; run such a step without tg.jit.")
        if a[0] == "op":
            _, _, kwargs_a, refs_a, nig_a, _, shape_a, _, types_a = a
            _, _, kwargs_b, refs_b, nig_b, _, shape_b, _, types_b = b
            for name in kwargs_b:
                if name not in kwargs_a or not _same_value(kwargs_a[name], kwargs_b[name]):
                    raise JitError(
                        f"tg.jit: keyword argument {name}= of {where} changed between calls; a replay would freeze "
                        "it. Compute it with ops on the step's arguments, or pass it as an argument and use it "
                        "through an op.")
            if nig_a != nig_b or shape_a != shape_b or types_a != types_b:
                raise JitError(f"tg.jit: {where} had different inputs on two calls; a replay repeats one fixed graph")
        elif a[0] == "backward":
            if [(k, t, tuple(None if g is None else g[:2] + g[3:] for g in gs)) for k, t, gs in a[3]] != \
                    [(k, t, tuple(None if g is None else g[:2] + g[3:] for g in gs)) for k, t, gs in b[3]]:
                raise JitError("tg.jit: backward() visited different ops on two calls; a replay repeats one "
                               "fixed graph")
            if not _same_value(a[2], b[2]):
                raise JitError("tg.jit: the gradient passed to backward(gradient=...) changed between calls; a replay "
                               "would freeze it. Backpropagate a scalar instead: (y * g).sum().backward() with g "
                               "passed to the step as an argument.")
        elif a[0] == "live":
            for ra, rb in zip(a[2] + tuple(a[3].values()), b[2] + tuple(b[3].values())):
                if ra[0] == "value" and not _same_value(ra[1], rb[1]):
                    raise JitError(f"tg.jit: an argument of {where} changed between calls ({ra[1]!r}, then "
                                   f"{rb[1]!r}); a replay would freeze it")
            if a[3].keys() != b[3].keys():
                raise JitError(f"tg.jit: {where} got different keyword arguments on two calls")
        for position, (ra, rb) in enumerate(zip(_refs(a), _refs(b))):
            _classify(ra, rb, f"input {position} of {where}", externals)
        if b[0] == "in place" and b[1][0] == "ext" and externals[id(b[1][1])][0] == "const":
            raise JitError(f"tg.jit: {where} changes a tensor of shape {b[1][1].shape} made inside the step outside "
                           "any op (tg.zeros, tg.tensor, ...); a replay would change its recorded value once "
                           "for all calls. Compute it out of place (x = x + y) or from the step's arguments.")
    if _shape_of(first.result) != _shape_of(second.result):
        raise JitError("tg.jit: the step returned different things on two calls; a replay returns one fixed structure")
    for ra, rb in zip(_template_refs(first.result), _template_refs(second.result)):
        _classify(ra, rb, "a tensor the step returned", externals)
    return externals


def _classify(ra, rb, what: str, externals: dict) -> None:
    """Sort a tensor reference of two recordings into externals: persistent state or a constant."""
    if ra[0] == "grad" == rb[0]:
        return _classify(ra[1], rb[1], f"the tensor whose .grad is {what}", externals)
    if ra[0] != rb[0] or (ra[0] != "ext" and ra[1] != rb[1]):
        raise JitError(f"tg.jit: {what} came from different places on two calls; a replay repeats one fixed graph")
    if ra[0] != "ext":
        return
    if ra[1] is rb[1]:
        externals[id(rb[1])] = ("state", rb[1])
    elif _same_value(ra[1].data, rb[1].data):
        externals.setdefault(id(rb[1]), ("const", rb[1].data.copy()))
    else:
        raise JitError(
            f"tg.jit: {what} is a tensor made outside any op (with tg.Tensor or NumPy: a dropout mask, one-hot "
            "targets, ...) whose values changed between calls; a replay would freeze it. Pass it to the step "
            "as an argument, or make it with ops.")


def _template_refs(template):
    """The tensor references in a returned value's template, in order."""
    if template is None:
        return
    if isinstance(template[0], str):
        yield template
    else:
        for item in template[1]:
            yield from _template_refs(item)


def _shape_of(template):
    """A returned value's structure, with outside tensors not told apart (the comparison sorts those)."""
    if template is None or isinstance(template[0], str):
        return template if template is None or template[0] != "ext" else "ext"
    return (template[0], tuple(_shape_of(t) for t in template[1]))


# -------------------------------------------------------------------------------- code generation
_VARIABLE = re.compile(r"\b(?:[vfgd]\d+(?:_\d+)?|gl\d+)\b")  # the replay's local arrays and op objects
_BUFFER = re.compile(r"\bb\d+\b")  # a buffer, before source() gives it an array
_STORAGE = re.compile(r"\bbuffer\d+\b")  # an array that buffers share
_ASSIGNED = re.compile(r"^\s*([\w, ]+?)\s*=(?!=)")  # the names a line assigns (not +=, not ==)


class _Writer:
    """Builds the replay's source: names for every object it uses, and ``del`` after each local's last use."""

    def __init__(self):
        self.namespace = {"_wrap": Tensor._constant, "_sum_to_shape": _sum_to_shape, "np": np, "math": math,
                          "_check_finite": _check_finite}
        self.names = {}  # id(object) -> its name in the namespace
        self.lines = []
        self.kernels = {}  # op index -> (kernel, its input expressions, their shapes and dtypes)
        self.buffers = []  # (shape, dtype) of each buffer asked for; source() lets some share one array
        self.saved = {}  # an output -> what its kernel's backward needs: ReLU's mask z > 0, a − y, an axis, ...
        self.scales = {}  # a loss's output -> its scale (1/2n, 1/N or 1)
        self.op = None  # the op a kernel is writing: (class, keyword arguments, input shapes and dtypes)
        self.eager_if = []  # conditions on a call's values under which the replay hands the call to eager
        self.seeds = {}  # the local holding a backward's ∂loss/∂loss -> that recorded array (the same every call)

    def buffer(self, shape, dtype) -> str:
        """An array the replay owns and overwrites on every call (``out=``), instead of allocating one."""
        self.buffers.append((tuple(shape), np.dtype(dtype)))
        return f"b{len(self.buffers) - 1}"

    def name(self, obj, prefix: str) -> str:
        """The namespace name of ``obj``: prefix + number, or with prefix "" its own name (classes,
        functions) or its class's (modules), so that the source reads well."""
        if id(obj) not in self.names:
            if isinstance(obj, np.dtype) or prefix == "":
                base = str(obj) if isinstance(obj, np.dtype) else getattr(obj, "__qualname__", type(obj).__name__)
                base = base.replace(".", "_").replace("<", "").replace(">", "")
                name, n = base, 0
                while name in self.namespace:
                    n += 1
                    name = f"{base}_{n}"
            else:
                numbered = re.compile(prefix + r"\d+")
                name = f"{prefix}{sum(1 for key in self.namespace if numbered.fullmatch(key))}"
            self.namespace[name] = obj
            self.names[id(obj)] = name
        return self.names[id(obj)]

    def literal(self, value) -> str:
        """Source for a value: a literal when it reads back exactly the same, else a name in the namespace."""
        if isinstance(value, _Argument):
            return f"a{value.position}.data" if value.in_tensor else f"a{value.position}"
        if value is None or isinstance(value, (bool, int, str)) or (
                isinstance(value, tuple) and all(v is None or isinstance(v, (bool, int)) for v in value)):
            return repr(value)
        if type(value) is float and float(repr(value)) == value:  # not np.float64, whose repr names its type
            return repr(value)
        return self.name(value, type(value).__name__.lower())

    def emit(self, text: str):
        self.lines.append(text)

    def source(self, header: str, params: list[str]) -> str:
        codes = [line.split("  #")[0] for line in self.lines]
        uses = [set(_VARIABLE.findall(code)) for code in codes]
        storage = self._share_buffers(codes, uses)
        lines, allocated = [], set()
        for line in self.lines:
            line = _BUFFER.sub(lambda m: storage[m.group(0)], line)
            for name in sorted(set(_STORAGE.findall(line.split("  #")[0])) - allocated):
                allocated.add(name)
                shape, dtype = self.storage_specs[name]
                if np.dtype(dtype).itemsize * int(np.prod(shape)) <= SMALL:  # kept from call to call
                    self.namespace[name] = np.empty(shape, dtype)
                else:  # allocated before its first use and freed after its last, as eager does
                    lines.append(f"{name} = np.empty({shape!r}, {str(dtype)!r})")
            lines.append(line)
        codes = [line.split("  #")[0] for line in lines]
        uses = [set(_VARIABLE.findall(code)) | (set(_STORAGE.findall(code)) - self.namespace.keys()) for code in codes]
        last = {}
        for i, names in enumerate(uses):
            for name in names:
                last[name] = i
        body = []
        for i, line in enumerate(lines):
            alias = re.match(r"^(\w+) = (\w+)$", codes[i])
            if alias and last[alias.group(1)] == i and not _VARIABLE.fullmatch(alias.group(2)):
                continue  # a name for a constant that nothing reads (a ∂loss/∂loss a kernel took in already)
            dead = sorted(name for name in uses[i] if last[name] == i and not line.startswith("return"))
            if dead:  # free arrays as soon as nothing needs them (eager frees the graph the same way)
                code, _, comment = line.partition("  #")
                line = f"{code}; del {', '.join(dead)}" + (f"  #{comment}" if comment else "")
            body.append(line)
        return f"def replay({', '.join(params)}):\n    # {header}\n" + "".join(f"    {line}\n" for line in body)

    def _share_buffers(self, codes, uses) -> dict:
        """Give buffers whose uses do not overlap one array; return {buffer: the array's name}.

        A buffer is in use from the first line naming it to the last line naming any local that may
        hold it: a local assigned from an expression with such a local in it, or an op object
        (``f3``) given one. That over-approximates, which only keeps arrays a little longer. A
        returned local that may hold a buffer is copied, since the next replay overwrites it.
        """
        holds = {}  # local -> buffers it may hold
        span = {}  # buffer -> [first line, last line]
        for i, code in enumerate(codes):
            mentioned = set(_BUFFER.findall(code)).union(*(holds.get(v, ()) for v in uses[i]))
            assigned = _ASSIGNED.match(code)
            written = re.match(r"^\w+ = np\.\w+\(.*out=(b\d+)\)$", code)  # a kernel's x = np.f(..., out=b): x is b
            copied = code.startswith(f"{assigned.group(1)} = np.array(") if assigned else False  # a new array
            for target in (assigned.group(1).replace(",", " ").split() if assigned else []) + \
                    [v for v in uses[i] if v.startswith("f")]:
                holds[target] = ({written.group(1)} if written else set() if copied
                                 else holds.get(target, set()) | mentioned)
            for b in mentioned:
                span.setdefault(b, [i, i])[1] = i
        if codes and codes[-1].startswith("return"):
            self.lines[-1] = re.sub(r"_wrap\((\w+)\)", lambda m: f"_wrap({m.group(1)}.copy())"
                                    if holds.get(m.group(1)) else m.group(0), self.lines[-1])
        storage, free, self.storage_specs = {}, [], {}  # free: (last line in use, array name)
        for b in sorted(span, key=lambda b: span[b][0]):
            start, end = span[b]
            spec = self.buffers[int(b[1:])]
            # An array whose last use is this very line can be this line's out=: NumPy handles the overlap.
            match = next((name for e, name in free if e <= start and self.storage_specs[name] == spec), None)
            if match is None:
                match = f"buffer{len(self.storage_specs)}"
                self.storage_specs[match] = spec
            free = [(e, name) for e, name in free if name != match] + [(end, match)]
            storage[b] = match
        return storage


def _check_finite(grad, op, i, shape):
    """detect_anomaly's check, in a replay made under detect_anomaly."""
    if not np.isfinite(grad).all():
        raise FloatingPointError(f"{op}.backward produced a non-finite gradient (NaN or inf) for its input {i} "
                                 f"of shape {shape}")


def _generate(recording: _Recording, externals: dict, header: str, modules: list):
    """The replay of ``recording``: Python source, and the namespace it runs in."""
    w = _Writer()
    args = recording.arg_objects
    ops = [e for e in recording.events if e[0] == "op"]
    checks = []  # what the guard must check besides the arguments, modules and state (an unrolled step's groups)
    graded = set()  # id of each tensor read live whose .grad the replay has set since the last live call
    cleared = set()  # id of each tensor read live whose .grad the replay has just set to None

    def array(ref) -> str:
        kind, what = ref
        if kind == "out":
            return f"v{what}"
        if kind == "copy":
            return f"v{what[1]}_{what[0]}"
        if kind == "grad":
            return f"{tensor(what)}.grad.data"
        if kind == "arg":
            return f"a{what}.data" if isinstance(args[what], Tensor) else f"a{what}"
        how, obj = externals[id(what)]
        return f"{w.name(obj, 's')}.data" if how == "state" else w.name(obj, "c")

    def tensor(ref) -> str:
        kind, what = ref
        if kind == "grad":
            return f"{tensor(what)}.grad"
        if kind == "arg" and isinstance(args[what], Tensor):
            return f"a{what}"
        if kind == "ext" and externals[id(what)][0] == "state":
            return w.name(what, "s")
        return f"_wrap({array(ref)})"

    def value(ref) -> str:
        return w.literal(ref[1]) if ref[0] == "value" else tensor(ref)

    changed = {_key(e[1]) for e in recording.events if e[0] == "in place"}  # tensors an in-place op overwrites
    k = 0
    for event in recording.events:
        if event[0] == "op":
            _, cls, kwargs, refs, needs, _, shape, dtype, in_types = event
            kernel = _KERNELS.get(cls) or _KERNELS.get((cls.__module__, cls.__qualname__))
            ins = [array(r) for r in refs]
            sources = tuple("changed" if _key(r) in changed else r[0] for r in refs)
            if kernel is not None and kernel.fits(in_types, kwargs, sources):
                w.kernels[k] = (kernel, ins, in_types)
                w.op = (cls, kwargs, in_types)
                first, *more = kernel.forward(w, f"v{k}", ins, shape, dtype)
                w.emit(f"{first}  # {cls.__name__} -> {shape} {dtype}")
                for line in more:
                    w.emit(line)
            else:
                kw = "".join(f", {name}={w.literal(v)}" for name, v in kwargs.items())
                w.emit(f"f{k} = {w.name(cls, '')}(); f{k}.needs_input_grad = {needs!r}")
                call = f"f{k}.forward({', '.join(ins)}{kw})"
                if shape == ():  # a full reduction may give a NumPy scalar: Function.apply makes it an array
                    call = f"np.asarray({call})"
                w.emit(f"v{k} = {call}  # {shape} {dtype}")
            k += 1
        elif event[0] == "live":
            _, method, refs, kwrefs = event
            optimizer = _unrollable_step(method, refs, kwrefs, graded)
            cleared = set()
            if optimizer is not None:
                checks += [c for c in _emit_optimizer_step(w, optimizer) if c not in checks]
            elif _optimizer_zero_grad(method, refs, kwrefs):
                optimizer = refs[0][1]
                params = [p for group in optimizer.param_groups for p in group["params"]]
                checks += [c for c in _group_checks(w, optimizer) if c not in checks]
                w.emit(" = ".join(f"{w.name(p, 's')}.grad" for p in params)
                       + f" = None  # {type(optimizer).__name__}.zero_grad(), written out")
                cleared = {id(p) for p in params}
            else:
                call = [value(r) for r in refs] + [f"{n}={value(r)}" for n, r in kwrefs.items()]
                w.emit(f"{w.name(method, '')}({', '.join(call)})  # live")
            graded = set()
        elif event[0] == "in place":
            w.emit(f"{array(event[1])}[...] = {array(event[2])}  # in place")
        elif event[0] == "copy":
            n, k_copied = event[1]
            w.emit(f"v{k_copied}_{n} = v{k_copied}.copy()  # the old value, kept by the in-place change below")
        else:
            graded |= {id(key[1]) for key in _emit_backward(w, event, ops, externals, args, cleared) if key[0] == "ext"}
            cleared = set()
    w.emit(f"return {_return_source(recording.result, tensor)}")
    del array, tensor, value  # they refer to each other: without this, the writer would wait for the cycle collector
    body, w.lines = w.lines, []
    _emit_guard(w, args, modules, [obj for how, obj in externals.values() if how == "state"], checks)
    for condition in w.eager_if:
        w.emit(f"if {condition}:")
        w.emit("    return EAGER  # a label that is no class (ignore_index, or a bad one): the step runs eagerly")
    w.lines += body
    params = [f"a{i}" for i in range(len(args))]
    for how, obj in externals.values():  # say what the names of tensors read live and of constants hold
        if how == "state":
            kind = "parameter" if obj._requires_grad else "tensor"
            header += f"\n    # {w.name(obj, 's')}: {kind} {obj.shape} {obj.dtype}, read live"
    return w.source(header, params), w.namespace


def _key(ref):
    """A hashable name for the tensor a reference stands for (outside tensors by identity)."""
    return (ref[0], id(ref[1])) if ref[0] in ("ext", "grad") else ref


def _unrollable_step(method, refs, kwrefs, graded):
    """The optimizer, if this live call is nn.optim's ``Optimizer.step()`` (no closure) and the replay has
    just set the .grad of every parameter it updates; else None (the call is replayed as it is)."""
    if (getattr(method, "__qualname__", None) != "Optimizer.step" or getattr(method, "__module__", None) != "nn.optim"
            or kwrefs or len(refs) != 1 or refs[0][0] != "value"):
        return None
    optimizer = refs[0][1]
    groups = optimizer.param_groups
    if any(group.get("maximize") for group in groups) or not all(id(p) in graded for g in groups for p in g["params"]):
        return None
    return optimizer


def _emit_optimizer_step(w, optimizer) -> list[str]:
    """``optimizer.step()`` written out: its own ``update`` for each parameter, in its order, reading the
    hyperparameters (a scheduler's lr) and the state live, without the loop over groups and the checks
    that this replay settles once (every parameter has a gradient, no group maximizes). Returns the
    guard's checks that the groups are still the ones written out."""
    o, checks = w.literal(optimizer), _group_checks(w, optimizer)
    first = f"  # {type(optimizer).__name__}.step(), written out: update() for each parameter (lr and state read live)"
    plain = [_plain_sgd(optimizer, group) for group in optimizer.param_groups]
    scratch = {}  # dtype -> the one small array through which every plain SGD update of that dtype goes
    for group, is_plain in zip(optimizer.param_groups, plain):
        for p in group["params"] if is_plain else ():
            size = _rows_at_once(p.shape) * math.prod(p.shape[1:])
            if scratch.get(p.dtype, np.empty(0)).size < size:
                scratch[p.dtype] = np.empty(size, p.dtype)
    for group, is_plain in zip(optimizer.param_groups, plain):
        g = w.name(group, "group")
        if is_plain:
            checks.append(f"{g}['momentum'] or {g}['weight_decay'] or type({g}['lr']) is not float "
                          f"or len({o}.state) != {len(optimizer.state)}")
        for p in group["params"]:
            s = w.name(p, "s")
            if is_plain:
                for line in _plain_update(w, s, g, p.shape, scratch[p.dtype],
                                          first.replace("update() for each parameter", "SGD's update")):
                    w.emit(line)
            else:
                w.emit(f"new = {o}.update({s}.data, {s}.grad.data, {o}.state.setdefault({s}, {{}}), {g}){first}")
                w.emit(f"if new is not {s}.data: {o}._write(new, {s}.data)  # an update that returned a new array")
            first = ""
    return checks


def _rows_at_once(shape) -> int:
    """How many rows (entries along the first axis) of a parameter one step of its plain SGD update takes:
    all of them if it has at most CHUNK elements, else as many as fit in CHUNK, and at least one."""
    if not shape:
        return 1
    return shape[0] if math.prod(shape) <= CHUNK else max(1, CHUNK // math.prod(shape[1:]))


def _plain_update(w, s, g, shape, scratch, comment) -> list[str]:
    """Plain SGD's ``w -= lr · grad`` for the parameter named ``s``, as SGD.update computes it: lr · grad rounded
    in the parameter's dtype, then subtracted, element for element, so the bits are eager's. Eager makes lr · grad
    a new array as large as the parameter; here it goes through ``scratch``, at most CHUNK elements: a large
    parameter is updated a few rows at a time, which holds far less memory and keeps lr · grad in the cache
    between the two passes. Measured on the benchmark's matrices with cold caches: chunks of 8K elements
    cost more in NumPy calls than they gain; 32K and 64K take about a quarter less time than one pass over a
    512 × 784 matrix, and 32K holds half the memory (128 KiB in float32)."""
    rows = _rows_at_once(shape)
    if not shape or rows == shape[0]:
        lr_grad = w.name(scratch[:math.prod(shape)].reshape(shape), "lr_grad")
        return [f"{s}.data -= np.multiply({s}.grad.data, {g}['lr'], out={lr_grad}){comment}"]
    chunks = []  # (the rows, the part of scratch that holds their lr · grad)
    for start in range(0, shape[0], rows):
        stop = min(start + rows, shape[0])
        part = scratch[:(stop - start) * math.prod(shape[1:])].reshape((stop - start,) + shape[1:])
        chunks.append((slice(start, stop), part))
    return [f"for rows, lr_grad in {w.name(chunks, 'chunks')}:{comment or '  #'} ({rows} rows of {s} at a time)",
            f"    {s}.data[rows] -= np.multiply({s}.grad.data[rows], {g}['lr'], out=lr_grad)"]


def _group_checks(w, optimizer) -> list[str]:
    """The guard's checks that an optimizer's groups hold the parameters written out, and none maximizes."""
    o = w.literal(optimizer)
    checks = [f"len({o}.param_groups) != {len(optimizer.param_groups)}"]
    for i, group in enumerate(optimizer.param_groups):
        g, params = w.name(group, "group"), w.name(group["params"], "params")
        checks.append(f"{o}.param_groups[{i}] is not {g} or {g}['params'] is not {params} "
                      f"or len({params}) != {len(group['params'])} or {g}.get('maximize')")
    return checks


def _optimizer_zero_grad(method, refs, kwrefs) -> bool:
    """Whether this live call is nn.optim's ``Optimizer.zero_grad()`` with its default, set_to_none=True."""
    return (getattr(method, "__qualname__", None) == "Optimizer.zero_grad"
            and getattr(method, "__module__", None) == "nn.optim" and not kwrefs and len(refs) == 1
            and refs[0][0] == "value" and not any(g.get("maximize") for g in refs[0][1].param_groups))


def _plain_sgd(optimizer, group) -> bool:
    """Whether a group's update is nn.optim.SGD's without momentum or weight decay, with a Python float lr
    (a NumPy lr would compute in its own precision): then the replay writes out its one line."""
    update = type(optimizer).update
    return (getattr(update, "__qualname__", None) == "SGD.update" and update.__module__ == "nn.optim"
            and "update" not in vars(optimizer) and not group["momentum"] and not group["weight_decay"]
            and type(group["lr"]) is float)


def _emit_guard(w, args, modules, state, more=()):
    """The replay's first lines: return MISS unless this call matches the recorded one in everything
    the replay takes for granted (the caller then runs the step eagerly and records it)."""
    w.namespace.update(_mode=_mode, MISS=MISS, EAGER=EAGER)
    checks = ["not _mode.enabled" if _mode.enabled else "_mode.enabled",
              "_mode.detect_anomaly" if not _mode.detect_anomaly else "not _mode.detect_anomaly"]
    for i, a in enumerate(args):
        array = f"a{i}.data" if isinstance(a, Tensor) else f"a{i}"
        checks.append(f"type(a{i}) is not {w.name(type(a), '')}")
        checks.append(f"{array}.shape != {a.shape!r} or {array}.dtype != {w.name(a.dtype, '')}")
        if isinstance(a, Tensor):
            checks.append(f"{'not ' if a._requires_grad else ''}a{i}._requires_grad")
    for m in modules:
        checks.append(f"{w.name(m, '')}.training is not {m.training}")
    for t in state:
        s = w.name(t, "s")
        checks.append(f"{s}.data.shape != {t.shape!r} or {s}.data.dtype != {w.name(t.dtype, '')}")
    checks += more
    w.emit("if (" + "\n            or ".join(checks) + "):")
    w.emit("    return MISS  # the guard: not the call that was recorded")


def _return_source(template, tensor) -> str:
    if template is None:
        return "None"
    if isinstance(template[0], str):
        return tensor(template)
    kind, items = template
    inner = ", ".join(_return_source(t, tensor) for t in items)
    return f"({inner},)" if kind is tuple else f"[{inner}]"


def _emit_backward(w, event, ops, externals, args, cleared=()):
    """One backward as straight-line code: each op's backward in the order eager visited them, each
    gradient summed to its input's shape and cast to its dtype, then added to what that input has
    so far (in visit order, as eager adds them); last, every leaf's .grad, as eager sets it."""
    _, root, seed, visits = event
    anomaly = _mode.detect_anomaly
    grads = {}  # a tensor reference -> the local holding its gradient so far
    same = {}  # local -> a token shared by locals holding the very same array
    leaves = []
    g = f"g{root[1]}"
    seed_line = len(w.lines)
    w.emit(f"{g} = {w.name(seed, 'seed')}  # ∂loss/∂loss")
    w.seeds[g] = seed
    grads[root], same[g] = g, g
    for k, is_tuple, returned in visits:
        cls, refs = ops[k][1], ops[k][3]
        g = grads.pop(("out", k))
        names, steps, by_id = [], [], {}
        for i, (r, ref) in enumerate(zip(returned, refs)):
            parent = None if r is None else _parent(ref, ops, externals, args)
            if parent is None:  # no gradient returned, or this input requires none
                names.append("_")
                continue
            shape, dtype, array_id, is_incoming, is_array = r
            key, p_shape, p_dtype = parent
            first = key not in grads
            if first:  # the first gradient to reach this input goes straight into its local
                d = grads[key] = f"g{key[1]}" if key[0] == "out" else f"gl{len(leaves)}"
                if key[0] != "out":
                    leaves.append(key)
            else:
                d = f"d{k}_{i}"
            names.append(d)
            same[d] = same[g] if is_incoming else by_id.setdefault(array_id, d)
            if not is_array:  # a NumPy scalar: eager backward makes it an array
                steps.append(f"{d} = np.asarray({d})")
                same[d] = d
            if k in w.kernels:  # a kernel writes the first input's gradient into a buffer, the others anew
                same[d] = f"buffer {d}" if i == 0 else f"new {d}"
            if shape != p_shape:
                steps.append(f"{d} = _sum_to_shape({d}, {p_shape!r})")
                same[d] = d
            if dtype != p_dtype:
                steps.append(f"{d} = {d}.astype(np.{p_dtype})")
                same[d] = d
            if anomaly:
                steps.append(f"_check_finite({d}, {cls.__name__!r}, {i}, {p_shape!r})")
            if not first:  # reached before, along another path: add, as eager does
                acc = grads[key]
                steps.append(f"{acc} = {acc} + {d}")
                same[acc] = acc
        if k in w.kernels:
            kernel, ins, in_types = w.kernels[k]
            first, *more = kernel.backward(w, g, names, ins, in_types, f"v{k}", *ops[k][6:8])
            w.emit(f"{first}  # {cls.__name__} backward")
            for line in more:
                w.emit(line)
        else:
            target = (", ".join(names) + ("," if len(names) == 1 else "")) if is_tuple else names[0]
            w.emit(f"{target} = f{k}.backward({g})  # {cls.__name__}")
        for line in steps:
            w.emit(line)
    given = set()
    for key in leaves:
        acc = grads[key]
        t = f"a{key[1]}" if key[0] == "arg" else w.name(key[1], "s")
        # A leaf's .grad is its own array, as eager makes it: a kernel's new array is the leaf's already;
        # any other (another leaf's, a buffer the next replay reuses, a view, one an op keeps) is copied.
        own = acc if same[acc].startswith("new") and same[acc] not in given else f"{acc}.copy()"
        given.add(same[acc])
        if key[0] == "ext" and id(key[1]) in cleared:  # zero_grad() was written out just before
            w.emit(f"{t}.grad = _wrap({own})")
        else:
            w.emit(f"{t}.grad = _wrap({own} if {t}.grad is None else {t}.grad.data + {acc})")
    if f"g{root[1]}" in given:  # the seed array itself reached a leaf (ops only read it otherwise)
        w.lines[seed_line] = w.lines[seed_line].replace("  #", ".copy()  #")  # a leaf keeps it: its own copy
    return leaves


def _parent(ref, ops, externals, args):
    """(reference, shape, dtype) of an op input that takes a gradient, or None when it requires none.

    A tensor made inside the step outside any op that requires grad takes none here: nothing
    outside the step can see it.
    """
    kind, what = ref
    if kind == "copy":  # eager hands its gradient to the op that made the original
        kind, what = ref = ("out", what[1])
    if kind == "out":
        recorded, shape, dtype = ops[what][5:8]
        return (ref, shape, dtype) if recorded else None
    t = args[what] if kind == "arg" else what
    if not (isinstance(t, Tensor) and t._requires_grad):
        return None
    if kind == "ext" and externals[id(t)][0] == "const":
        return None
    return (ref, t.shape, t.dtype)


# ---------------------------------------------------------------------------------------- kernels
# The hottest ops, written out with buffers the replay owns (``out=``) instead of calling the op:
# no Function object and no new arrays on each step. Each is the op's own arithmetic, NumPy call
# for NumPy call, so the bits are the eager ones (tests/jit/test_jit.py checks it); an op used in a
# way a kernel does not cover (mixed dtypes, 0-d arrays) is replayed through its Function.
# fits(input types, kwargs, sources) says whether a kernel covers an op; sources[i] is where input i
# comes from ("out", "arg", "ext", ... as in _Recording, or "changed" when an in-place op overwrites it).
# forward(w, out, inputs, shape, dtype) and backward(w, g, names, inputs, their types, out, shape,
# dtype) return source lines; backward writes the gradient of input i into names[i] ("_" when none is needed),
# the first input's into a buffer, the others into new arrays.


def _one_dtype(in_types) -> bool:
    return len({dtype for _, dtype in in_types}) == 1 and in_types[0][1].kind == "f" and len(in_types[0][0]) >= 1


class _LinearKernel:
    """ops.LinearFn: out = x Wᵀ (+ b) into a buffer; ∂x = g W into a buffer, ∂W = gᵀ x, ∂b = Σ g."""

    @staticmethod
    def fits(in_types, kwargs, sources):
        return _one_dtype(in_types) and len(in_types[0][0]) == 2

    @staticmethod
    def forward(w, out, ins, shape, dtype):
        lines = [f"{out} = np.matmul({ins[0]}, {ins[1]}.T, out={w.buffer(shape, dtype)})"]
        return lines + [f"{out} += {ins[2]}"] if len(ins) == 3 else lines

    @staticmethod
    def backward(w, g, names, ins, in_types, out, shape, dtype):
        lines = []
        if names[0] != "_":
            lines.append(f"{names[0]} = np.matmul({g}, {ins[1]}, out={w.buffer(*in_types[0])})")
        if names[1] != "_":
            lines.append(f"{names[1]} = {g}.T @ {ins[0]}")
        if len(names) == 3 and names[2] != "_":
            lines.append(f"{names[2]} = {g}.sum(axis=0)")
        return lines


class _SigmoidKernel:
    """ops.SigmoidFn: σ(z) = ½ tanh(z/2) + ½ in place in a buffer; ∂z = g σ (1 − σ)."""

    @staticmethod
    def fits(in_types, kwargs, sources):
        return _one_dtype(in_types)

    @staticmethod
    def forward(w, out, ins, shape, dtype):
        return [f"{out} = np.multiply({ins[0]}, 0.5, out={w.buffer(shape, dtype)})",
                f"np.tanh({out}, out={out}); {out} *= 0.5; {out} += 0.5"]

    @staticmethod
    def backward(w, g, names, ins, in_types, out, shape, dtype):
        d = names[0]
        return [f"{d} = np.multiply({g}, {out}, out={w.buffer(shape, dtype)})",
                f"{d} *= np.subtract(1, {out}, out={w.buffer(shape, dtype)})"]


class _ReLUKernel:
    """ops.ReLUFn: out = z · [z > 0] with the mask in a buffer; ∂z = g · [z > 0]."""

    @staticmethod
    def fits(in_types, kwargs, sources):
        return _one_dtype(in_types)

    @staticmethod
    def forward(w, out, ins, shape, dtype):
        mask = w.buffer(shape, np.dtype(bool))
        w.saved[out] = mask
        return [f"np.greater({ins[0]}, 0, out={mask})",
                f"{out} = np.multiply({ins[0]}, {mask}, out={w.buffer(shape, dtype)})"]

    @staticmethod
    def backward(w, g, names, ins, in_types, out, shape, dtype):
        return [f"{names[0]} = np.multiply({g}, {w.saved[out]}, out={w.buffer(shape, dtype)})"]


class _SquaredErrorKernel:
    """nn.functional's SquaredError (nn.MSELoss): d = a − y into a buffer kept for backward, L = Σd² · scale
    (scale = 1/2n, 1/N or 1); ∂a = (g · scale) · 2d into a buffer; ∂y = −∂a. A non-finite L raises as eager does."""

    @staticmethod
    def fits(in_types, kwargs, sources):
        return (_one_dtype(in_types) and in_types[0] == in_types[1]
                and set(kwargs) == {"reduction"} and kwargs["reduction"] in ("lecture", "mean", "sum"))

    @staticmethod
    def scale(reduction, shape) -> float:
        """_LossFn.reduce's 1/divisor, as the same Python float."""
        return 1 / {"sum": 1, "lecture": 2 * shape[0], "mean": int(np.prod(shape))}[reduction]

    @staticmethod
    def forward(w, out, ins, shape, dtype):
        cls, kwargs, in_types = w.op
        d = w.saved[out] = w.buffer(*in_types[0])
        scale = _SquaredErrorKernel.scale(kwargs["reduction"], in_types[0][0])
        w.scales[out] = scale
        return [f"np.subtract({ins[0]}, {ins[1]}, out={d})",
                f"{out} = np.array(np.multiply({d}, {d}, out={w.buffer(*in_types[0])}).sum() * {scale!r}, "
                f"dtype={w.name(np.dtype(dtype), '')})",
                f"if not math.isfinite({out}): {w.name(cls, '')}().diverged({out}.item())  # as eager, in every replay"]

    @staticmethod
    def backward(w, g, names, ins, in_types, out, shape, dtype):
        d, lines = w.saved[out], []
        if names[0] != "_" or names[1] != "_":
            a = names[0] if names[0] != "_" else "da"
            factor, comment = _loss_grad(w, g, w.scales[out], repr(w.scales[out]))
            lines += [f"{a} = np.multiply({d}, 2, out={w.buffer(*in_types[0])})", f"{a} *= {factor}{comment}"]
            if names[1] != "_":
                lines.append(f"{names[1]} = np.negative({a})")
        return lines


class _LogSoftmaxKernel:
    """ops.LogSoftmaxFn: s = z − max z, log p = s − log Σ eˢ in a buffer; ∂z = g − p · Σ g (p = e^(log p))."""

    @staticmethod
    def fits(in_types, kwargs, sources):
        return _one_dtype(in_types) and set(kwargs) <= {"dim"}

    @staticmethod
    def forward(w, out, ins, shape, dtype):
        axis = w.saved[out] = ops.dim_to_axis(w.op[1].get("dim", -1), len(shape))
        row = w.buffer(shape[:axis] + (1,) + shape[axis + 1:], dtype)  # one number for each softmax
        return [f"{out} = np.subtract({ins[0]}, np.max({ins[0]}, axis={axis}, keepdims=True, out={row}), "
                f"out={w.buffer(shape, dtype)})",
                f"{out} -= np.log(np.sum(np.exp({out}, out={w.buffer(shape, dtype)}), axis={axis}, keepdims=True, "
                f"out={row}), out={row})"]

    @staticmethod
    def backward(w, g, names, ins, in_types, out, shape, dtype):
        axis, d = w.saved[out], names[0]
        row = w.buffer(shape[:axis] + (1,) + shape[axis + 1:], dtype)
        return [f"{d} = np.exp({out}, out={w.buffer(shape, dtype)})",
                f"{d} *= np.sum({g}, axis={axis}, keepdims=True, out={row}); np.subtract({g}, {d}, out={d})"]


class _NegativeLogLikelihoodKernel:
    """nn.functional's NegativeLogLikelihood (nll_loss, and cross_entropy after LogSoftmax) on (n, C) log p, without
    class weights or label smoothing: L = −Σᵢ log p[i, yᵢ] · scale (scale = 1/n in the input's float type, as
    eager's 1 / Σ weights, or 1); ∂log p = −(g · scale) at each [i, yᵢ], 0 elsewhere. This needs every label to
    be a class: a call with a label that is not (ignore_index, or a bad label eager reports) runs eagerly, so the
    labels must come from the step's arguments or outside tensors, and no in-place op may change them."""

    @staticmethod
    def fits(in_types, kwargs, sources):
        if len(in_types) != 2:  # class weights: the op itself
            return False
        (log_p, float_type), (labels, int_type) = in_types
        return (float_type.kind == "f" and len(log_p) == 2 and int_type.kind in "iu" and labels == log_p[:1]
                and sources[1] in ("arg", "ext") and kwargs["label_smoothing"] == 0
                and kwargs["reduction"] in ("mean", "sum"))

    @staticmethod
    def forward(w, out, ins, shape, dtype):
        cls, kwargs, in_types = w.op
        (n, classes), float_type = in_types[0]
        log_p, labels, ignore = ins[0], ins[1], kwargs["ignore_index"]
        condition = (f"not (0 <= {labels}.min() and {labels}.max() < {classes})"
                     + (f" or ({labels} == {ignore}).any()" if 0 <= ignore < classes else ""))
        if condition not in w.eager_if:
            w.eager_if.append(condition)
        rows = w.name(np.arange(n), "rows")
        scale = w.scales[out] = 1 / float_type.type(n) if kwargs["reduction"] == "mean" else 1.0
        w.saved[out] = rows
        eager = ", ".join(f"{name}={w.literal(v)}" for name, v in kwargs.items())
        return [f"{out} = np.array(np.negative({log_p}[{rows}, {labels}]).sum() * {_scale_source(w, scale)}, "
                f"dtype={w.name(np.dtype(dtype), '')})",
                f"if not math.isfinite({out}): {w.name(cls, '')}().forward({log_p}, {labels}, {eager})  "
                "# the op itself raises eager's error"]

    @staticmethod
    def backward(w, g, names, ins, in_types, out, shape, dtype):
        d = names[0]
        factor, comment = _loss_grad(w, g, w.scales[out], _scale_source(w, w.scales[out]))
        return [f"{d} = {w.buffer(*in_types[0])}; {d}.fill(0)", f"{d}[{w.saved[out]}, {ins[1]}] = -{factor}{comment}"]


def _scale_source(w, scale) -> str:
    """A loss's scale in the source: a Python float as a literal, a NumPy float (1/n in float32) by name."""
    return repr(scale) if type(scale) is float else w.name(scale, "scale")


def _loss_grad(w, g, scale, scale_source) -> tuple[str, str]:
    """Source for eager's ∂L/∂ℓ = g · scale, and a comment. When g is the recorded ∂loss/∂loss the product is
    the same on every call: made once, here, by the same multiplication, and named (two NumPy calls a step less)."""
    if g in w.seeds:
        return w.name(w.seeds[g] * scale, "seed_scale"), f"  # ∂loss/∂loss · {scale_source}, made once"
    return f"({g} * {scale_source})", ""


# Ops of nn (which the engine does not import) are named by module and class.
_KERNELS = {ops.LinearFn: _LinearKernel, ops.SigmoidFn: _SigmoidKernel, ops.ReLUFn: _ReLUKernel,
            ops.LogSoftmaxFn: _LogSoftmaxKernel, ("nn.functional", "SquaredError"): _SquaredErrorKernel,
            ("nn.functional", "NegativeLogLikelihood"): _NegativeLogLikelihoodKernel}


# ------------------------------------------------------------------------------------- the decorator
class _Entry:
    """The recordings and, once two agree, the replay for one signature of the step."""

    def __init__(self):
        self.recordings = []
        self.replay = self.source = None


class jit:
    """Record a training step on its first calls, then replay it: ``@tg.jit`` or ``step = tg.jit(step)``.

    See the module docstring for what a replay repeats and what it refuses. ``modules`` lists
    modules whose train/eval flag the guard must watch when the step reaches them in a way the
    jit does not look (two attributes away, say); modules in the step's closure, in the globals it
    names and among its arguments, and one attribute or item away from those, are found without it.
    """

    live = staticmethod(live)  # tg.jit.live, for nn.optim and your own functions

    def __init__(self, fn, *, modules=None):
        self.fn = fn
        self._entries = {}  # signature -> _Entry
        self._last = None  # the replay used last, tried first
        self._modules = None if modules is None else _all_modules(modules)
        functools.update_wrapper(self, fn)

    def __call__(self, *args):
        if _mode.recorder is not None:  # inside another step being recorded: that recording sees our ops
            return self.fn(*args)
        if self._last is not None:  # the common case: the same signature as the last call
            result = self._last(*args)
            if result is EAGER:
                return self.fn(*args)
            if result is not MISS:
                return result
        if self._modules is None:
            self._modules = _all_modules(_reachable(self.fn, args))
        key = self._signature(args)
        entry = self._entries.get(key)
        if entry is None:
            entry = self._entries[key] = _Entry()
        if entry.replay is not None:
            result = entry.replay(*args)
            if result is EAGER:
                return self.fn(*args)
            if result is not MISS:
                self._last = entry.replay
                return result
            entry = self._entries[key] = _Entry()  # a tensor the step reads changed shape: record again
        return self._record(entry, args)

    def _signature(self, args) -> tuple:
        """What a replay is only valid for: grad and anomaly mode, argument shapes and dtypes, train/eval flags."""
        parts = [_mode.enabled, _mode.detect_anomaly]
        for a in args:
            if isinstance(a, Tensor):
                parts.append((type(a), a.data.shape, a.data.dtype, a._requires_grad))
            elif isinstance(a, np.ndarray):
                parts.append((type(a), a.shape, a.dtype))
            else:
                raise TypeError(f"tg.jit: a jitted step takes tensors and NumPy arrays, got a {type(a).__name__}; "
                                "a replay would freeze any other value (pass it as a tensor, or use no tg.jit)")
        parts.append(tuple([m.training for m in self._modules]))
        return tuple(parts)

    def _record(self, entry, args):
        recording = _Recording(args, entry.recordings[-1] if entry.recordings else None)
        _mode.recorder = recording
        try:
            result = self.fn(*args)
            recording.finish(result)
        finally:
            _mode.recorder = None
        entry.recordings.append(recording)
        if len(entry.recordings) == RECORDINGS:
            if args and entry.recordings[0].arg_values == recording.arg_values:
                # Two calls on the same values cannot tell a constant from an array computed from them outside
                # any op (a mask from x.data, a one-hot from labels), which a replay would freeze: what differs
                # is refused as usual, and the next call is recorded again, until two calls differ.
                _compare(entry.recordings[0], recording)
                del entry.recordings[0]
            else:
                self._build(entry)
        return result

    def _build(self, entry):
        first, second = entry.recordings
        externals = _compare(first, second)
        header = ", ".join(f"a{i}: {type(a).__name__} {a.shape} {a.dtype}" for i, a in enumerate(second.arg_objects))
        source, namespace = _generate(second, externals, header or "no arguments", self._modules)
        exec(compile(source, f"<tg.jit replay of {getattr(self.fn, '__qualname__', 'step')}>", "exec"), namespace)
        entry.replay, entry.source = namespace["replay"], source
        entry.recordings = []  # let the recorded tensors and graphs go

    def source(self) -> str:
        """The generated replay functions, one per signature replayed so far, as Python source to read."""
        sources = [e.source for e in self._entries.values() if e.source is not None]
        return "\n".join(sources) if sources else ("# nothing replayed yet: the first two calls record the step, and a "
                                                    "call on the same argument values as the call before records again\n")


def _reachable(fn, args) -> list:
    """Objects a step can reach without the jit being told: its arguments, closure, defaults and named
    globals (and those of the function a ``functools.partial`` or a bound method wraps, with the
    partial's arguments and the method's object), and the attributes and items of each of those."""
    found = list(args)
    while isinstance(fn, functools.partial) or hasattr(fn, "__func__"):
        if isinstance(fn, functools.partial):
            found += list(fn.args) + list(fn.keywords.values())
            fn = fn.func
        else:
            found.append(fn.__self__)
            fn = fn.__func__
    code = getattr(fn, "__code__", None)
    if code is not None:
        for cell in fn.__closure__ or ():
            try:
                found.append(cell.cell_contents)
            except ValueError:  # a cell not filled yet
                pass
        found += [fn.__globals__[name] for name in code.co_names if name in fn.__globals__]
        found += list(fn.__defaults__ or ())
    inside = []  # one level further: an object's attributes, a container's items
    for obj in found:
        if isinstance(obj, (list, tuple)):
            inside += list(obj)
        elif isinstance(obj, dict):
            inside += list(obj.values())
        elif hasattr(obj, "__dict__") and not isinstance(obj, type) and not callable(getattr(obj, "modules", None)):
            inside += list(vars(obj).values())
    return found + inside


def _all_modules(objects) -> list:
    """Every module inside the given objects (anything with ``modules()`` and ``training``, as nn.Module has)."""
    found, seen = [], set()
    for obj in objects:
        if callable(getattr(obj, "modules", None)) and hasattr(obj, "training"):
            for m in obj.modules():
                if id(m) not in seen:
                    seen.add(id(m))
                    found.append(m)
    return found
