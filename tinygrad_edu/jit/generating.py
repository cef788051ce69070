"""Generating the replay: a recording written out as one straight-line Python function, to run and to read.

Every op of the step becomes two lines, its own class and its own ``forward`` on the arrays::

    f3 = Sigmoid(); f3.needs_input_grad = (True,)
    v3 = f3.forward(v2)  # (10, 30) float32

and every backward the op's own ``backward``, in the order eager visited the ops, with the chain
rule's bookkeeping that `autograd.backpropagate` does (summing a broadcast gradient to its input's
shape, casting it to its dtype, adding the gradients that reach one tensor along several paths, in
eager's order; setting each leaf's ``.grad`` as eager does). Calls marked live (``optimizer.step()``)
are called as they are. No formula is written here: a student's edit of an op or an optimizer is
what the replay runs. The function starts with the guard (guards.py and the arguments' types,
shapes and dtypes) and frees every array after its last use, as eager frees the graph.
"""

from __future__ import annotations

import re
import sys

import numpy as np

from ..autograd import _mode, _sum_to_shape
from ..tensor import Tensor

MISS = object()  # what a replay returns when its guard finds the call is not the recorded one

_VARIABLE = re.compile(r"\b(?:[vfgd]\d+(?:_\d+)?|gl\d+)\b")  # the replay's local arrays and op objects


class Writer:
    """Builds the replay's source: names for every object it uses, and ``del`` after each local's last use."""

    def __init__(self):
        self.namespace = {"_wrap": Tensor._constant, "_own": _own, "_sum_to_shape": _sum_to_shape, "np": np,
                          "_check_finite": _check_finite, "_mode": _mode, "MISS": MISS}
        self.names = {}  # id(object) -> its name in the namespace
        self.lines = []

    def name(self, obj, prefix: str) -> str:
        """The namespace name of ``obj``: prefix + number, or with prefix "" its own name (classes,
        functions) or its dtype's, so that the source reads well."""
        if id(obj) not in self.names:
            if isinstance(obj, np.dtype) or prefix == "":
                base = str(obj) if isinstance(obj, np.dtype) else getattr(obj, "__qualname__", type(obj).__name__)
                base = re.sub(r"\W", "_", base)
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
        if type(value).__name__ == "Argument":
            return f"a{value.position}.data" if value.in_tensor else f"a{value.position}"
        if value is None or type(value) in (bool, int, str) or (
                type(value) is tuple and all(v is None or type(v) in (bool, int) for v in value)):
            return repr(value)
        if type(value) is float and float(repr(value)) == value:  # not np.float64, whose repr names its type
            return repr(value)
        return self.name(value, re.sub(r"\W", "_", type(value).__name__.lower()))

    def emit(self, text: str):
        self.lines.append(text)

    def source(self, header: str, params: list[str], guard: list[str]) -> str:
        """The function: the guard, then the body with ``del`` of each local after its last use."""
        codes = [line.split("  #")[0] for line in self.lines]
        uses = [set(_VARIABLE.findall(code)) for code in codes]
        last = {}
        for i, names in enumerate(uses):
            for name in names:
                last[name] = i
        body = []
        for i, line in enumerate(self.lines):
            dead = sorted(name for name in uses[i] if last[name] == i and not line.startswith("return"))
            if dead:  # free arrays as soon as nothing needs them (eager frees the graph the same way)
                code, _, comment = line.partition("  #")
                line = f"{code}; del {', '.join(dead)}" + (f"  #{comment}" if comment else "")
            body.append(line)
        checks = []
        for i, check in enumerate(guard):
            code, _, comment = check.partition("  #")
            code = ("            or " if i else "        if (") + code + ("):" if i == len(guard) - 1 else "")
            checks.append(code + (f"  #{comment}" if comment else "") + "\n")
        return (f"def replay({', '.join(params)}):\n    # {header}\n    try:  # the guard: is this the recorded call?\n"
                + "".join(checks)
                + "            return MISS\n"
                + "    except (KeyError, IndexError, ValueError, AttributeError, TypeError, RuntimeError):\n"
                + "        return MISS  # something the guard reads is gone\n"
                + "".join(f"    {line}\n" for line in body))


def _own(array):
    """``array`` as a leaf's first ``.grad``: an array nothing else holds, as eager's `_accumulate` makes it
    by copying. A new array that an op's backward made and kept no reference to (three references: the
    replay's local, this argument and getrefcount's) is that already, and is given as it is; any other
    (kept by an op, a view, the seed, another leaf's) is copied."""
    return array if array.base is None and sys.getrefcount(array) <= 3 else array.copy()


def _check_finite(grad, op, i, shape):
    """detect_anomaly's check, in a replay made under detect_anomaly."""
    if not np.isfinite(grad).all():
        raise FloatingPointError(f"{op}.backward produced a non-finite gradient (NaN or inf) for its input {i} "
                                 f"of shape {shape}")


def generate(recording, externals: dict, header: str, guard) -> tuple[str, dict]:
    """The replay of ``recording``: Python source, and the namespace it runs in."""
    w = Writer()
    args = recording.arg_objects
    ops = [e for e in recording.events if e[0] == "op"]

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

    k = 0
    for event in recording.events:
        if event[0] == "op":
            _, cls, kwargs, refs, needs, _, shape, dtype, _ = event
            kw = "".join(f", {name}={w.literal(v)}" for name, v in kwargs.items())
            w.emit(f"f{k} = {w.name(cls, '')}(); f{k}.needs_input_grad = {needs!r}")
            call = f"f{k}.forward({', '.join(array(r) for r in refs)}{kw})"
            if shape == ():  # a full reduction may give a NumPy scalar: Function.apply makes it an array
                call = f"np.asarray({call})"
            w.emit(f"v{k} = {call}  # {shape} {dtype}")
            k += 1
        elif event[0] == "live":
            _, method, refs, kwrefs = event
            call = [value(r) for r in refs] + [f"{n}={value(r)}" for n, r in kwrefs.items()]
            w.emit(f"{w.name(method, '')}({', '.join(call)})  # live")
        elif event[0] == "in place":
            w.emit(f"{array(event[1])}[...] = {array(event[2])}  # in place")
        elif event[0] == "copy":
            n, k_copied = event[1]
            w.emit(f"v{k_copied}_{n} = v{k_copied}.copy()  # the old value, kept by the in-place change below")
        else:
            _emit_backward(w, event, ops, externals, args)
    w.emit(f"return {_return_source(recording.result, tensor)}")
    del array, tensor, value  # they refer to each other: without this, the writer would wait for the cycle collector
    state = [obj for how, obj in externals.values() if how == "state"]
    checks = _guard_checks(w, args, state) + guard.checks(w.name, w.literal)
    for t in state:  # say what the names of tensors read live hold
        kind = "parameter" if t._requires_grad else "tensor"
        header += f"\n    # {w.name(t, 's')}: {kind} {t.shape} {t.dtype}, read live"
    return w.source(header, [f"a{i}" for i in range(len(args))], checks), w.namespace


def _guard_checks(w, args, state) -> list[str]:
    """The checks on the grad mode, the arguments and the tensors read live (their arrays by identity: an
    array changed in place is the same object, and one given anew, by Module.to say, may have another
    shape or dtype)."""
    checks = ["not _mode.enabled" if _mode.enabled else "_mode.enabled",
              "_mode.detect_anomaly" if not _mode.detect_anomaly else "not _mode.detect_anomaly"]
    for i, a in enumerate(args):
        array = f"a{i}.data" if isinstance(a, Tensor) else f"a{i}"
        checks.append(f"type(a{i}) is not {w.name(type(a), '')}")
        checks.append(f"{array}.shape != {a.shape!r} or {array}.dtype != {w.name(a.dtype, '')}")
        if isinstance(a, Tensor):
            checks.append(f"{'not ' if a._requires_grad else ''}a{i}._requires_grad")
    for t in state:  # the same array (changed in place only; Module.to gives a new one), and requires_grad
        s = w.name(t, "s")
        requires = f"{'not ' if t._requires_grad else ''}{s}._requires_grad"
        checks.append(f"{s}.data is not {w.name(t.data, 'array')} or {requires}")
    return checks


def _return_source(template, tensor) -> str:
    if template is None:
        return "None"
    if isinstance(template[0], str):
        return tensor(template)
    kind, items = template
    inner = ", ".join(_return_source(t, tensor) for t in items)
    return f"({inner},)" if kind is tuple else f"[{inner}]"


def _emit_backward(w, event, ops, externals, args):
    """One backward as straight-line code: each op's backward in the order eager visited them, each
    gradient summed to its input's shape and cast to its dtype, then added to what that input has
    so far (in visit order, as eager adds them); last, every leaf's .grad, as eager sets it."""
    _, root, seed, visits = event
    anomaly = _mode.detect_anomaly
    grads = {}  # a tensor reference -> the local holding its gradient so far
    leaves = []
    g = f"g{root[1]}"
    w.emit(f"{g} = {w.name(seed, 'seed')}  # ∂loss/∂loss")
    grads[root] = g
    for k, is_tuple, returned in visits:
        cls, refs = ops[k][1], ops[k][3]
        g = grads.pop(("out", k))
        names, steps = [], []
        for i, (r, ref) in enumerate(zip(returned, refs)):
            parent = None if r is None else _parent(ref, ops, externals, args)
            if parent is None:  # no gradient returned, or this input requires none
                names.append("_")
                continue
            shape, dtype, _, _, is_array = r
            key, p_shape, p_dtype = parent
            first = key not in grads
            if first:  # the first gradient to reach this input goes straight into its local
                d = grads[key] = f"g{key[1]}" if key[0] == "out" else f"gl{len(leaves)}"
                if key[0] != "out":
                    leaves.append(key)
            else:
                d = f"d{k}_{i}"
            names.append(d)
            if not is_array:  # a NumPy scalar: eager backward makes it an array
                steps.append(f"{d} = np.asarray({d})")
            if shape != p_shape:
                steps.append(f"{d} = _sum_to_shape({d}, {p_shape!r})")
            if dtype != p_dtype:
                steps.append(f"{d} = {d}.astype(np.{p_dtype})")
            if anomaly:
                steps.append(f"_check_finite({d}, {cls.__name__!r}, {i}, {p_shape!r})")
            if not first:  # reached before, along another path: add, as eager does
                steps.append(f"{grads[key]} = {grads[key]} + {d}")
        target = (", ".join(names) + ("," if len(names) == 1 else "")) if is_tuple else names[0]
        w.emit(f"{target} = f{k}.backward({g})  # {cls.__name__}")
        for line in steps:
            w.emit(line)
    for key in leaves:  # a leaf's .grad is an array of its own, as eager's _accumulate makes it
        acc = grads[key]
        t = f"a{key[1]}" if key[0] == "arg" else w.name(key[1], "s")
        w.emit(f"{t}.grad = _wrap(_own({acc}) if {t}.grad is None else {t}.grad.data + {acc})")


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
