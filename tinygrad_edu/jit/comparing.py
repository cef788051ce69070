"""Comparing two recordings of a step: the same events in the same order, or a JitError naming the first difference.

Two calls on new numbers show what a single call cannot: which tensors outside the step's ops stay
the same object (state such as parameters, read live by the replay) and which are made anew on each
call (constants, which must hold the same values both times, or the replay would freeze them).
"""

from __future__ import annotations

from .recording import JitError, Recording, refs_of, same_value


def describe(event, k=None) -> str:
    if event[0] == "in place":
        return "an in-place change"
    if event[0] == "copy":
        return "a copy kept by an in-place change"
    if event[0] == "op":
        return f"op {k} ({event[1].__name__})" if k is not None else event[1].__name__
    if event[0] == "live":
        return f"a live call of {event[1].__qualname__}"
    return "backward()"


def compare(first: Recording, second: Recording) -> dict:
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
        where = describe(b, op_index)
        if a[0] != b[0] or (a[0] in ("op", "live") and a[1] is not b[1]):
            raise JitError(f"tg.jit: the step's recordings differ at {where}: one call did {describe(a)} where the "
                           f"next did {describe(b)}. A replay repeats one fixed sequence of ops; Python control flow "
                           "on tensor values is the usual cause; run such a step without tg.jit.")
        if a[0] == "op":
            _, _, kwargs_a, refs_a, nig_a, _, shape_a, _, types_a = a
            _, _, kwargs_b, refs_b, nig_b, _, shape_b, _, types_b = b
            for name in kwargs_b:
                if name not in kwargs_a or not same_value(kwargs_a[name], kwargs_b[name]):
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
            if not same_value(a[2], b[2]):
                raise JitError("tg.jit: the gradient passed to backward(gradient=...) changed between calls; a replay "
                               "would freeze it. Backpropagate a scalar instead: (y * g).sum().backward() with g "
                               "passed to the step as an argument.")
        elif a[0] == "live":
            for ra, rb in zip(a[2] + tuple(a[3].values()), b[2] + tuple(b[3].values())):
                if ra[0] == "value" and not same_value(ra[1], rb[1]):
                    raise JitError(f"tg.jit: an argument of {where} changed between calls ({ra[1]!r}, then "
                                   f"{rb[1]!r}); a replay would freeze it")
            if a[3].keys() != b[3].keys():
                raise JitError(f"tg.jit: {where} got different keyword arguments on two calls")
        for position, (ra, rb) in enumerate(zip(refs_of(a), refs_of(b))):
            _classify(ra, rb, f"input {position} of {where}", externals, second)
        if b[0] == "in place" and b[1][0] == "ext" and externals[id(b[1][1])][0] == "const":
            raise JitError(f"tg.jit: {where} changes a tensor of shape {b[1][1].shape} made inside the step outside "
                           "any op (tg.zeros, tg.tensor, ...); a replay would change its recorded value once "
                           "for all calls. Compute it out of place (x = x + y) or from the step's arguments.")
    if _shape_of(first.result) != _shape_of(second.result):
        raise JitError("tg.jit: the step returned different things on two calls; a replay returns one fixed structure")
    for ra, rb in zip(_template_refs(first.result), _template_refs(second.result)):
        _classify(ra, rb, "a tensor the step returned", externals, second)
    return externals


def _classify(ra, rb, what: str, externals: dict, second: Recording) -> None:
    """Sort a tensor reference of two recordings into externals: persistent state or a constant."""
    if ra[0] == "grad" == rb[0]:
        return _classify(ra[1], rb[1], f"the tensor whose .grad is {what}", externals, second)
    if ra[0] != rb[0] or (ra[0] != "ext" and ra[1] != rb[1]):
        raise JitError(f"tg.jit: {what} came from different places on two calls; a replay repeats one fixed graph")
    if ra[0] != "ext":
        return
    if ra[1] is rb[1]:
        externals[id(rb[1])] = ("state", rb[1])
        return
    untraced = second.untraced_constant(rb[1])
    if untraced is not None:  # made anew on each call from a number that nothing checks
        raise JitError(
            f"tg.jit: {untraced} cannot be traced to its source: it is not written in the code that made the op, "
            "and it is not a setting the guard checks on every call (a number or flag of a module the step "
            "reaches, a variable of the step's closure or a global it names). A replay would freeze it. Keep it in "
            "one of those places, or pass it to the step as a tensor argument (x / t, with t = tg.tensor(value)).")
    if same_value(ra[1].data, rb[1].data):
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
