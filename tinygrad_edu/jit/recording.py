"""Recording: one eager call of a step, as the engine reports it, turned into a list of events.

The engine tells an observer what it does (`tinygrad_edu.autograd.Observer`): every op with its
inputs and keyword arguments, every value read out of a tensor, every backward and every in-place
change. `Recording` is that observer. It names every tensor by where it came from, so that two
recordings can be compared (comparing.py) and one of them written out as a replay (generating.py),
and it refuses, while the step runs, what a replay could not repeat: a value read inside the step,
a number it cannot trace to a place the guard checks (see `Recording.explain`).
"""

from __future__ import annotations

import functools
import sys
import weakref
import zlib
from numbers import Number

import numpy as np

from ..autograd import Observer, _mode, backpropagate, observing
from ..tensor import Tensor


class JitError(RuntimeError):
    """A step that a replay would get wrong; the message names the value or op and the way out."""


def live(method):
    """Mark a function or method that a jitted step must really call on every replay.

    ``nn.optim``'s ``step`` and ``zero_grad`` are marked, so an optimizer's state (momentum,
    Adam's moments and step count) and its current settings are used on every call. Outside
    a recording the marker costs one attribute check.
    """

    @functools.wraps(method)
    def call_live(*args, **kwargs):
        observer = _mode.observer
        if observer is None:
            return method(*args, **kwargs)
        return observer.live(method, args, kwargs)

    return call_live


class Argument:
    """An op's keyword argument that is one of the step's argument arrays: replayed as that argument."""

    def __init__(self, position: int, in_tensor: bool):
        self.position, self.in_tensor = position, in_tensor

    def __eq__(self, other):
        return type(other) is Argument and other.position == self.position


def same_value(a, b) -> bool:
    """Equal as the replay would use them: same object, or arrays with the same dtype, shape and bits."""
    if a is b:
        return True
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return (isinstance(a, np.ndarray) and isinstance(b, np.ndarray) and a.dtype == b.dtype
                and a.shape == b.shape and a.tobytes() == b.tobytes())
    if isinstance(a, (tuple, list)) and type(a) is type(b):
        return len(a) == len(b) and all(same_value(x, y) for x, y in zip(a, b))
    if type(a) is not type(b):
        return False
    try:
        return bool(a == b)
    except Exception:  # objects whose == is not a truth value
        return False


def fingerprint(array: np.ndarray) -> tuple:
    """What tells a changed array from an unchanged one without copying it: its shape, dtype and a CRC of its bytes."""
    return array.shape, array.dtype, zlib.crc32(np.ascontiguousarray(array).view(np.uint8))


def needs_source(value) -> bool:
    """Whether a value handed to an op must be traced to its source: a number that is not a whole number
    (an int, or a float such as 2.0, is taken as a size, a dim or an exponent, compared between the two
    recordings and kept), or a string. Arrays of more than one element are compared between recordings."""
    if isinstance(value, np.ndarray):
        return value.ndim == 0 and value.dtype.kind in "fc" and not _whole(value.item())
    if isinstance(value, str):
        return True
    return isinstance(value, (Number, np.generic)) and not isinstance(value, (bool, np.bool_)) and not _whole(value)


def _whole(number) -> bool:
    try:
        return float(number) == int(number)
    except (TypeError, ValueError, OverflowError):  # complex, nan, inf: not whole
        return False


def _literals(code) -> list:
    """The constants written in a function's code (numbers and strings, nested tuples flattened)."""
    found, todo = [], list(code.co_consts)
    while todo:
        c = todo.pop()
        if isinstance(c, (tuple, frozenset)):
            todo += list(c)
        elif isinstance(c, (Number, str)) and not isinstance(c, bool):
            found.append(c)
    return found


_LITERALS = {}  # (code object, class of its self) -> its literals and its function's and constructor's defaults


def _function_of(frame):
    """The function a frame runs, when it can be found cheaply (a global function, or a method of self/cls)."""
    code = frame.f_code
    candidates = [frame.f_globals.get(code.co_name)]
    owner = frame.f_locals.get("self", frame.f_locals.get("cls"))
    if owner is not None:
        for klass in (owner if isinstance(owner, type) else type(owner)).__mro__:
            candidates.append(vars(klass).get(code.co_name))
    for f in candidates:
        f = getattr(f, "__func__", f)
        if getattr(f, "__code__", None) is code:
            return f
    return None


def literals_on_stack(frame, stop) -> list:
    """Numbers and strings written in the code of every function running from ``frame`` up to ``stop``
    (the jit's own call), with those functions' default arguments: the values a step can hand to an op
    without reading them from anywhere."""
    found = []
    while frame is not None and frame is not stop:
        code, owner = frame.f_code, frame.f_locals.get("self")
        if (code, type(owner)) not in _LITERALS:
            function = _function_of(frame)
            defaults = list(getattr(function, "__defaults__", None) or ())
            defaults += list((getattr(function, "__kwdefaults__", None) or {}).values())
            for klass in type(owner).__mro__ if owner is not None else ():  # the object's settings as made by
                init = vars(klass).get("__init__")  # its constructor's defaults (a loss made inside the step)
                defaults += list(getattr(init, "__defaults__", None) or ())
            _LITERALS[code, type(owner)] = _literals(code) + [d for d in defaults
                                                              if isinstance(d, (Number, str, np.generic))]
        found += _LITERALS[code, type(owner)]
        frame = frame.f_back
    return found


def explained(value, sources) -> bool:
    """Whether ``value`` equals one of ``sources`` (a number converted to its dtype first, bit for bit)."""
    if isinstance(value, str):
        return any(type(s) is str and s == value for s in sources)
    if isinstance(value, np.ndarray) or isinstance(value, np.generic):
        dtype = np.asarray(value).dtype
        for s in sources:
            if isinstance(s, (Number, np.generic)) and not isinstance(s, (str, bool)):
                try:
                    if np.asarray(s, dtype=dtype).tobytes() == np.asarray(value).tobytes():
                        return True
                except (TypeError, ValueError, OverflowError):
                    pass
        return False
    return any(isinstance(s, (Number, np.generic)) and not isinstance(s, str) and type(s) is not bool and s == value
               for s in sources)


class Recording(Observer):
    """What one eager call of the step did, as a list of events, with every tensor named by where it came from.

    A tensor an op reads is one of: ``("out", k)`` the result of the step's op k; ``("arg", i)``
    the step's i-th argument (or the array inside it); ``("grad", reference)`` the ``.grad`` that
    backward gave a leaf; ``("copy", (n, k))`` the copy of op k's old result that an in-place change
    keeps; ``("ext", tensor)`` anything else, which the comparison of two recordings sorts into
    persistent state (the same tensor object both times, read live: parameters) and constants (a
    new object each time: must hold equal values).

    ``sources`` are the values the guard checks on every call (guards.py): a number handed to an op
    must equal one of them or a literal of the code running (see `explain`).
    """

    def __init__(self, args: tuple, previous: "Recording | None", sources: list):
        self.arg_objects = args
        self.arg_values = tuple(fingerprint(a.data if isinstance(a, Tensor) else a) for a in args)
        self.sources = sources
        self.stop = None  # the frame of the jit's call: literals are looked for in the frames above it
        self.events = []  # ("op", ...), ("backward", ...), ("live", ...), ("in place", ...), ("copy", ...), in order
        self.outputs = []  # a weak reference to the tensor each op made: eager frees them as usual
        self.slot = {}  # id(tensor made by op k) -> k (checked against outputs[k]: ids are reused)
        self.op_names = []
        self.varying = set()  # the ops whose result depends on an argument, a parameter or a gradient
        self.fn_slot = {}  # id(a recorded op's Function) -> its index
        self.copies = {}  # id(a copy of op k's result the engine made for an in-place change) -> its reference
        self.grads = {}  # id(a .grad that backward set) -> (weak reference to it, the leaf's reference)
        self.untraced = {}  # id(a one-number constant no source explains) -> (weak reference, description)
        self.args = {}  # id(argument, or the array inside a Tensor argument) -> position
        for i, arg in enumerate(args):
            self.args[id(arg)] = i
            if isinstance(arg, Tensor):
                self.args.setdefault(id(arg.data), i)
        self.watched = {}  # id -> [tensor, fingerprint of its data, its grad]: outside tensors, checked for changes
        if previous is not None:  # watch the first recording's outside tensors from the start
            for kind, t in (ref for event in previous.events for ref in refs_of(event)):
                if kind == "ext":
                    self._watch(t)
        self.visits = None  # during a backward: the ops it visits, in order
        self.result = None

    def run(self, fn, args):
        """Call the step with this recording observing the engine; return what it returned."""
        self.stop = sys._getframe()
        with observing(self):
            result = fn(*args)
            self.finish(result)
        return result

    # --- what the engine reports (autograd.Observer)
    def op(self, fn, inputs, kwargs, result):
        k = len(self.outputs)
        name = type(fn).__name__
        refs = tuple(self.ref(t) for t in inputs)
        caller = sys._getframe(1)  # Function.apply
        for key, v in kwargs.items():
            self.explain(v, lambda: f"keyword argument {key}={v!r} of op {k} ({name})", caller)
        kwargs = {key: self._argument(v) if isinstance(v, np.ndarray) and id(v) in self.args else v
                  for key, v in kwargs.items()}
        for i, (t, ref) in enumerate(zip(inputs, refs)):
            if (ref[0] == "ext" and not t._requires_grad and needs_source(t.data)
                    and not self._explained(t.data, caller)):
                # Made from a number before this op (x / temperature): refused by the comparison if it turns out
                # to be made anew on each call (a tensor kept from call to call is read live instead).
                self.untraced[id(t)] = (weakref.ref(t), f"the number {t.data.item()!r} that op {k} ({name}) "
                                                       f"takes as its input {i}")
        self.events.append(("op", type(fn), kwargs, refs, fn.needs_input_grad, result._ctx is fn,
                            result.shape, result.dtype, tuple((t.shape, t.dtype) for t in inputs)))
        self.outputs.append(weakref.ref(result))
        self.op_names.append(name)
        self.slot[id(result)] = k
        if any(self._varies(t) is not None for t in inputs):
            self.varying.add(k)
        if result._ctx is fn:  # observe this op's backward: which ops a backward visits, in which order
            fn.backward = functools.partial(self._visit, k, fn.backward)
            self.fn_slot[id(fn)] = k

    def explain(self, value, what, frame) -> None:
        """Refuse a number or string handed to an op that neither the guard checks nor the code running at
        ``frame`` (and the frames that called it) writes."""
        if needs_source(value) and not self._explained(value, frame):
            raise JitError(
                f"tg.jit: {what()} cannot be traced to its source: it is not written in the code that made the "
                "op, and it is not a setting the guard checks on every call (a number or flag of a module the step "
                "reaches, a variable of the step's closure or a global it names). A replay would freeze it. Keep "
                "it in one of those places, or pass it to the step as a tensor argument and use it through an op "
                "(x / t, not x / t.item()).")

    def _explained(self, value, frame) -> bool:
        return explained(value, self.sources) or explained(value, literals_on_stack(frame, self.stop))

    def _argument(self, array) -> Argument:
        i = self.args[id(array)]
        return Argument(i, isinstance(self.arg_objects[i], Tensor))

    def _visit(self, k, backward, grad):
        grads = backward(grad)
        if _mode.observer is not self:  # this graph's backward runs after the recorded call
            return grads
        returned = grads if type(grads) is tuple else (grads,)
        self.visits.append((k, type(grads) is tuple, tuple(
            None if g is None else (g.shape, g.dtype, id(g), g is grad, type(g) is np.ndarray) for g in returned)))
        return grads

    def backward(self, root, gradient, retain_graph, given, create_graph=False, inputs=None):
        if create_graph or inputs is not None:
            what = "backward(create_graph=True)" if create_graph else "backward(inputs=...)"
            raise JitError(f"tg.jit: {what} inside a jitted step is not supported: a replay records one backward "
                           "into every leaf's .grad, not a graph of it. Run such a step without tg.jit.")
        if root._ctx is None:
            raise JitError("tg.jit: backward() on a leaf tensor inside a jitted step; call it on a computed loss")
        source = (self._varies(given) if isinstance(given, Tensor)
                  else "an argument of the step" if isinstance(given, np.ndarray) and id(given) in self.args else None)
        if source is not None:
            raise JitError(f"tg.jit: the gradient given to backward() inside a jitted step is {source}, whose values "
                           "a later call may change; a replay would freeze them. Backpropagate a scalar instead: "
                           "(y * g).sum().backward() with g passed to the step.")
        if given is not None and not isinstance(given, (Tensor, np.ndarray)):
            self.explain(given, lambda: f"the gradient {given!r} given to backward()", sys._getframe(1))
        self._check_unchanged("backward()")
        for out in (ref() for ref in self.outputs):
            if out is not None and out._retains_grad:
                raise JitError(f"tg.jit: retain_grad() on a tensor of shape {out.shape} inside a jitted step is not "
                               "supported; a replay sets .grad on leaves only")
        self.visits = []
        self.events.append(("backward", self.ref(root), gradient.copy(), self.visits))
        backpropagate([root], [gradient], retain_graph)
        self._refresh()  # backward may set .grad of the tensors watched
        for t, _, grad in self.watched.values():  # reading a gradient later in the step reads the leaf's .grad
            if grad is not None:
                self.grads[id(grad)] = (weakref.ref(grad), self.ref(t))

    def grad(self, outputs, gradients, inputs, retain_graph, create_graph):
        raise JitError("tg.jit: tg.autograd.grad() inside a jitted step is not supported: a replay records "
                       "backward() into .grad only. Run such a step without tg.jit.")

    def live(self, method, args, kwargs):
        self._check_unchanged(f"{method.__qualname__}()")
        refs = tuple(self.ref(a) if isinstance(a, Tensor) else ("value", a) for a in args)
        kwrefs = {name: self.ref(a) if isinstance(a, Tensor) else ("value", a) for name, a in kwargs.items()}
        for r in refs[1:] + tuple(kwrefs.values()):  # args[0] is the object of a method: guarded by identity
            if r[0] == "value":
                self.explain(r[1], lambda: f"the argument {r[1]!r} of {method.__qualname__}()", sys._getframe(1))
        self.events.append(("live", method, refs, kwrefs))
        try:
            with observing(None):  # a live call is not part of the recording
                return method(*args, **kwargs)
        finally:
            self._refresh()

    def in_place(self, tensor, new):
        """``tensor``'s array was overwritten with ``new``'s values: the replay does the same, and from
        now on ``tensor`` stands for ``new`` (whose op the backward visits in its place)."""
        self.events.append(("in place", self.ref(tensor), self.ref(new)))
        k = self._slot(new)
        if k is not None:
            self.slot[id(tensor)], self.outputs[k] = k, weakref.ref(tensor)
        if id(tensor) in self.watched:  # a change the replay repeats: not one to refuse
            self.watched[id(tensor)][1] = fingerprint(tensor.data)

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

    def untraced_constant(self, t) -> str | None:
        """How to name ``t`` if it is a one-number constant that no source explained when an op took it."""
        entry = self.untraced.get(id(t))
        return entry[1] if entry is not None and entry[0]() is t else None

    # --- changes a replay could not repeat
    def _watch(self, t):
        if id(t) not in self.watched:
            self.watched[id(t)] = [t, fingerprint(t.data), t.grad]

    def _refresh(self):
        for entry in self.watched.values():
            entry[1], entry[2] = fingerprint(entry[0].data), entry[0].grad

    def _check_unchanged(self, where):
        for t, print_, grad in self.watched.values():
            if t.grad is not grad:
                raise JitError(
                    f"tg.jit: the .grad of a tensor of shape {t.shape} was set inside the step before {where} "
                    "by code that a replay does not run (e.g. `p.grad = None`). Clear gradients with "
                    "optimizer.zero_grad() or model.zero_grad(), which run live in every replay.")
            if fingerprint(t.data) != print_:
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


def refs_of(event):
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
