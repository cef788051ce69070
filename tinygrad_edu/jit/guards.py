"""What a replay takes for granted beyond its arguments, checked on every call (the guard).

A replay repeats the ops one call made; it does not run the Python that chose them. So every value
that Python could read to choose differently must be the same as when the step was recorded, or the
call runs eagerly and is recorded again. `Guard` finds those values when a recording starts:

- the step's own closure variables and the globals its code names: a number, string or flag by
  value, anything else (a model, a loss function, an optimizer) by identity;
- one step further, the attributes of the objects found there (``self.model``, ``cfg.scale``),
  the items of lists, tuples and dicts found there, and, for a ``functools.partial`` or a bound
  method, its arguments and its object;
- every module inside those (``modules()``), and the modules given as ``jit(fn, modules=[...])``:
  each attribute, numbers and flags (``training``, ``Dropout.p``, a loss's ``reduction``) by value,
  parameters, buffers, sub-modules and other objects by identity, and how many attributes it has;
- every optimizer among them (an object with ``param_groups``): its groups and their parameter
  lists, by identity and length (the parameters in them and the settings of the groups are read
  live by the optimizer's own ``zero_grad`` and ``step``, which every replay calls).

The values compared by value are also the `sources` that the recording accepts a number from
(recording.py): a number handed to an op that is neither one of them nor written in the code is
refused, because nothing would notice when it changes.
"""

from __future__ import annotations

import functools
import types
from numbers import Number

import numpy as np

from ..tensor import Tensor


def is_plain(value) -> bool:
    """A value compared by value: a number, string, flag or None, or a tuple, list or dict of those
    (a loss's ``options``, a module's table of registered names)."""
    if value is None or isinstance(value, (Number, str, np.generic)):
        return True
    if type(value) is dict:  # an empty one may be a table to be filled (an optimizer's state): by identity
        return bool(value) and all(type(k) is str and is_plain(v) for k, v in value.items())
    return type(value) in (tuple, list) and all(is_plain(v) for v in value)


def _snapshot(value):
    """A plain value as it is now (a copy of a list or dict, which may change in place later); others as they are."""
    if not is_plain(value):
        return value
    if type(value) is dict:
        return {k: _snapshot(v) for k, v in value.items()}
    return [_snapshot(v) for v in value] if type(value) is list else value


_MISSING = object()  # a value one of two snapshots does not have


class _Is:
    """An attribute compared by identity in a comparison of dicts (recorded != current, this on the left)."""

    __slots__ = ("obj",)
    __hash__ = None

    def __init__(self, obj):
        self.obj = obj

    def __eq__(self, other):
        return other is self.obj


class _Identity:
    """A list or dict of the step's closure or globals, compared by identity: the step may append to it
    (a counter of calls) without making every call a new recording; what is in it is no source."""

    def __init__(self, obj):
        self.obj = obj


def _scalar(value):
    """A closure variable or global as the guard compares it: containers by identity."""
    return _Identity(value) if type(value) in (list, dict) else _snapshot(value)


def _flat(value) -> list:
    """The numbers and strings inside a plain value."""
    if type(value) is dict:
        return [x for v in value.values() for x in _flat(v)]
    if type(value) in (tuple, list):
        return [x for v in value for x in _flat(v)]
    return [value]


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
        elif _has_attributes(obj) and not _is_module(obj):
            inside += list(vars(obj).values())
    return found + inside


def _has_attributes(obj) -> bool:
    """An object whose attributes the guard looks at: not a class, function or Python module."""
    return (hasattr(obj, "__dict__") and not isinstance(obj, (type, types.ModuleType, types.FunctionType,
                                                               types.MethodType, functools.partial)))


def _is_module(obj) -> bool:
    """An nn-style module: anything with ``modules()`` and ``training`` (the engine does not import nn)."""
    return callable(getattr(obj, "modules", None)) and hasattr(obj, "training") and not isinstance(obj, type)


def all_modules(objects) -> list:
    """Every module inside the given objects, each once."""
    found, seen = [], set()
    for obj in objects:
        if _is_module(obj):
            for m in obj.modules():
                if id(m) not in seen:
                    seen.add(id(m))
                    found.append(m)
    return found


def _names(objects) -> dict:
    """id(object) -> its class's name, numbered when several objects have one class (Linear #1, Linear #2)."""
    counts = {}
    for obj in objects:
        counts[type(obj).__name__] = counts.get(type(obj).__name__, 0) + 1
    names, seen = {}, {}
    for obj in objects:
        kind = type(obj).__name__
        seen[kind] = seen.get(kind, 0) + 1
        names[id(obj)] = kind if counts[kind] == 1 else f"{kind} #{seen[kind]}"
    return names


class Guard:
    """The values outside the arguments that one recording of ``fn`` depended on, as they were when it started."""

    def __init__(self, fn, args, given_modules=()):
        objects = _reachable(fn, args)
        self.modules = all_modules(list(objects) + list(given_modules))
        self.cells, self.globals, self.attributes, self.optimizers, self.settings = [], [], [], [], []
        while isinstance(fn, functools.partial) or hasattr(fn, "__func__"):
            fn = fn.func if isinstance(fn, functools.partial) else fn.__func__
        code = getattr(fn, "__code__", None)
        if code is not None:
            for name, cell in zip(code.co_freevars, fn.__closure__ or ()):
                try:
                    self.cells.append((name, cell, _scalar(cell.cell_contents)))
                except ValueError:
                    pass
            self.globals = [(name, fn.__globals__, _scalar(fn.__globals__[name]))
                            for name in dict.fromkeys(code.co_names) if name in fn.__globals__]
        seen = {id(m) for m in self.modules}
        holders = list(self.modules) + [obj for obj in objects if _has_attributes(obj) and not _is_module(obj)
                                        and not isinstance(obj, Tensor)]
        for obj in holders:
            if id(obj) in seen and not _is_module(obj):
                continue
            seen.add(id(obj))
            groups = vars(obj).get("param_groups")
            if isinstance(groups, list) and all(isinstance(g, dict) and isinstance(g.get("params"), list)
                                                for g in groups):  # an optimizer: its own step reads the rest live
                self.optimizers.append((obj, groups, [(g, g["params"], list(g["params"])) for g in groups]))
                self.settings.append([{k: _snapshot(v) for k, v in g.items() if k != "params" and is_plain(v)}
                                      for g in groups])
            else:
                self.attributes.append((obj, {key: _snapshot(v) for key, v in vars(obj).items()}))

    def sources(self) -> list:
        """The values compared by value: a number handed to an op may come from any of them."""
        values = [v for _, _, v in self.cells] + [v for _, _, v in self.globals]
        values += [v for _, attributes in self.attributes for v in attributes.values()]
        return [x for v in values if is_plain(v) for x in _flat(v)]

    def state(self, settings: bool) -> dict:
        """What the guard compares, named: plain values, and the identities of other objects; with ``settings``,
        the optimizers' settings too (read live, so not checked on every call, but no step may change them)."""
        def key(v):
            return v if is_plain(v) else ("object", id(v.obj if isinstance(v, _Identity) else v))

        state = {f"the step's variable {var}": key(v) for var, _, v in self.cells}
        state.update({f"the global {var}": key(v) for var, _, v in self.globals})
        names = _names([obj for obj, _ in self.attributes] + [obj for obj, _, _ in self.optimizers])
        for obj, attributes in self.attributes:
            state.update({f"{names[id(obj)]}.{k}": key(v) for k, v in attributes.items()})
        for (obj, groups, recorded), values in zip(self.optimizers, self.settings):
            state[f"the parameter groups of {names[id(obj)]}"] = (
                id(groups), [(id(g), id(p), [id(t) for t in members]) for g, p, members in recorded])
            if settings:
                state.update({f"{names[id(obj)]}.param_groups[{i}][{k!r}]": v for i, group in enumerate(values)
                              for k, v in group.items()})
        state["the modules the step reaches"] = [id(m) for m in self.modules]
        return state

    def changed(self, other: "Guard", settings: bool = False) -> str | None:
        """The first value that ``other`` (taken later) sees differently from this one, by name; None if none."""
        mine, theirs = self.state(settings), other.state(settings)
        for name in {**mine, **theirs}:
            a, b = mine.get(name, _MISSING), theirs.get(name, _MISSING)
            if not (a is b or a == b):
                return name
        return None

    def checks(self, name, literal) -> list[str]:
        """Source expressions, each true when the call is not the recorded one; ``name(obj, prefix)`` gives an
        object's name in the replay's namespace and ``literal(value)`` a value's source."""
        checks = []

        def same(expression, value) -> str:
            if isinstance(value, _Identity):
                value = value.obj
            elif is_plain(value):
                return f"{expression} != {literal(value)}"
            return f"{expression} is not {name(value, 'o')}"

        for var, cell, value in self.cells:
            checks.append(same(f"{name(cell, 'cell')}.cell_contents", value) + f"  # the step's variable {var}")
        for var, namespace, value in self.globals:
            checks.append(same(f"{name(namespace, 'globals')}[{var!r}]", value) + f"  # the global {var}")
        for obj, attributes in self.attributes:  # one comparison of dicts, in C: the same keys, each value the same
            expected = {key: value if is_plain(value) else _Is(value) for key, value in attributes.items()}
            listed = ", ".join(f"{key}={value!r}" if is_plain(value) and type(value) is not dict else key
                               for key, value in attributes.items())
            checks.append(f"{name(expected, 'recorded')} != {name(vars(obj), 'attributes')}"
                          f"  # {type(obj).__name__}'s attributes: {listed}")
        for obj, groups, recorded in self.optimizers:
            g = name(groups, "param_groups")
            checks.append(f"{name(vars(obj), 'attributes')}['param_groups'] is not {g} or len({g}) != {len(groups)}"
                          f"  # {type(obj).__name__}'s parameter groups")
            for i, (group, params, members) in enumerate(recorded):
                p = name(params, "params")
                checks.append(f"{g}[{i}] is not {name(group, 'group')} or {name(group, 'group')}['params'] is not "
                              f"{p} or len({p}) != {len(members)}")
        return checks
