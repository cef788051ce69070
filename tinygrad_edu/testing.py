"""Property tests for your own ops, layers and optimizers: random shapes, broadcasting, values away from kinks.

One call checks an op the way the engine's own tests check every built-in op::

    from tinygrad_edu.testing import check_op
    check_op(lambda x: LeakyReLUFn.apply(x, slope=0.1), kinks=[0],   # one input, random shapes,
             reference=lambda z: np.where(z > 0, z, 0.1 * z))        # its values against NumPy
    check_op(lambda a, b: a * b, inputs=2, reference=np.multiply)    # two inputs that broadcast
    check_module(layer.double(), feature_shape=(4,))                 # a layer, float64 throughout
    check_optimizer(lambda ps: MySGD(ps, lr=0.1), my_formula)        # an optimizer against its formula

hypothesis draws the shapes and the values; on each example the check fails

- a forward that changes its input in place,
- forward values that differ from ``reference`` (a NumPy function of the inputs' arrays): in
  float64, and in float32 with a float32 tolerance, also at large magnitudes (the values times 10
  to 10⁴) wherever the reference is finite in float32 — an exp that overflows shows there,
- a float32 input giving a result in another dtype, or a NaN or infinite float32 gradient where the
  float64 one is finite,
- a backward that disagrees with finite differences (`gradcheck`, float64).

gradcheck alone cannot see a wrong forward whose backward agrees with it (max computed as min, the
wrong axis, a forgotten term): only a reference can. A failure is shrunk to the smallest input that
still fails and reported with that input.

The strategies it is built from (`shapes`, `broadcastable_shapes`, `arrays`) are here too, for
tests of your own. hypothesis is a test extra (``pip install -e ".[test]"``), imported only when
one of these functions is called, so the engine itself never needs it.
"""

from __future__ import annotations

import copy
import inspect

import numpy as np

from .autograd import DifferentiableOnceError, topological_order
from .gradcheck import gradcheck, gradgradcheck
from .tensor import Tensor

# Forward values must agree with the reference to these relative and absolute tolerances; the
# absolute one is scaled by the largest magnitude in play (of the reference, or of the inputs in
# float32, whose own rounding an op cannot undo). float32 keeps about 7 digits (eps ≈ 1.2e-7), so
# its tolerance allows some hundreds of roundings.
_FLOAT64_TOLERANCE = (1e-7, 1e-9)
_FLOAT32_TOLERANCE = (1e-4, 1e-5)
_LARGE = (1e1, 1e2, 1e4)  # the factors inputs are scaled by for the float32 check at large magnitudes
# Only values this far below float32's largest (3.4e38) are compared: nearer to it, a correct
# computation may overflow in an intermediate step.
_FLOAT32_SAFE = float(np.finfo(np.float32).max) * 1e-4
_LR_FACTORS = (1.0, 0.5, 2.0, 0.25)  # check_optimizer's learning rate at each step, times the one it was made with


def _hypothesis():
    try:
        import hypothesis
        from hypothesis import strategies
        from hypothesis.extra import numpy as hypothesis_numpy
    except ImportError:
        raise ImportError(
            "tinygrad_edu.testing needs hypothesis, which is a test extra: pip install -e \".[test]\" "
            "(or pip install hypothesis)"
        ) from None
    return hypothesis, strategies, hypothesis_numpy


def shapes(min_dims: int = 0, max_dims: int = 3, max_side: int = 4):
    """Shapes with ``min_dims`` to ``max_dims`` dimensions, each of size 1 to ``max_side`` (0 dims: a scalar)."""
    _, _, hnp = _hypothesis()
    return hnp.array_shapes(min_dims=min_dims, max_dims=max_dims, min_side=1, max_side=max_side)


def broadcastable_shapes(count: int = 2, min_dims: int = 0, max_dims: int = 3, max_side: int = 3):
    """Tuples of ``count`` shapes that broadcast together, such as ((3, 1), (2, 1, 4)) or ((), (2,))."""
    _, _, hnp = _hypothesis()
    drawn = hnp.mutually_broadcastable_shapes(num_shapes=count, min_dims=min_dims, max_dims=max_dims,
                                              max_side=max_side)
    return drawn.map(lambda result: result.input_shapes)


def _away_from_kinks(values, kinks, margin: float) -> np.ndarray:
    """``values`` with each one closer than ``margin`` to a kink moved to ``2·margin`` past it, on its side."""
    values = np.asarray(values, dtype=np.float64)
    for kink in kinks:
        beside = np.where(values >= kink, kink + 2 * margin, kink - 2 * margin)
        values = np.where(np.abs(values - kink) < margin, beside, values)
    return values


def arrays(shape, low: float = -3.0, high: float = 3.0, kinks=(), margin: float = 1e-3):
    """float64 arrays of ``shape`` with values in [low, high], none closer than ``margin`` to a kink.

    At a kink (ReLU, abs or a step at 0, a clamp at its bounds) the slope jumps and finite
    differences cannot give a derivative, so gradcheck there would fail a correct backward. A value
    that falls too close is moved ``2·margin`` past the kink instead of being thrown away, so
    hypothesis still tries values right beside it.
    """
    _, st, hnp = _hypothesis()
    elements = st.floats(low, high, allow_nan=False, allow_infinity=False).map(
        lambda value: float(_away_from_kinks(value, kinks, margin)))
    return hnp.arrays(np.float64, shape, elements=elements)


def check_op(f, inputs: int = 1, domain=(-3.0, 3.0), kinks=(), broadcast: bool = True, min_dims: int = 0,
             max_dims: int = 3, max_examples: int | None = None, reference=None, shapes=None,
             large: bool = True, second_order: bool | None = None) -> None:
    """Check ``f`` on many random inputs; raise AssertionError with the smallest failing input.

    ``f`` takes ``inputs`` tensors and returns a tensor, e.g. ``lambda x: MyOp.apply(x)``.

    - Shapes: each example draws shapes with ``min_dims`` to ``max_dims`` dimensions (with several
      inputs and ``broadcast``, shapes that broadcast together, such as (3, 1) and (4,); otherwise
      one shape for all). ``shapes`` gives them instead, one entry per input: a shape, or a
      hypothesis strategy of shapes (``shapes=[(5,), testing.shapes(1, 1, max_side=3)]`` for a
      signal and a kernel that must not broadcast); or one strategy drawing the whole list.
    - Values: float64 in ``domain`` — a (low, high) pair, or one pair per input — away from
      ``kinks``: a list of values (ReLU's 0), or a predicate of the inputs' arrays that is True
      where an example sits too close to a kink between inputs (``maximum``'s ties:
      ``kinks=lambda a, b: np.abs(a - b) < 1e-3``); examples where it holds anywhere are skipped.
    - ``reference``: a NumPy function of the inputs' arrays giving the expected output
      (``lambda a, b: np.maximum(a, b)``); without one, float32 results are compared with the op's
      own float64 ones. ``large=False`` skips the float32 check at large magnitudes (for an op
      whose domain does not scale, or whose float32 result is ill-conditioned there).
    - ``second_order``: second derivatives are checked against finite differences of the first
      (`gradgradcheck`) where ``f`` can be differentiated twice: with None an op that refuses
      (`DifferentiableOnceError`) is checked to first order only; True requires second derivatives,
      False skips them.

    ``max_examples`` defaults to hypothesis's current setting (100, or your test profile's).
    """
    hypothesis, st, _ = _hypothesis()
    domains = list(domain) if isinstance(domain[0], (tuple, list)) else [domain] * inputs
    if len(domains) != inputs:
        raise ValueError(f"check_op: domain gives {len(domains)} (low, high) pairs for {inputs} inputs")
    shape_lists = _shape_lists(shapes, inputs, broadcast, min_dims, max_dims)
    near_kink, kinks = (kinks, ()) if callable(kinks) else (None, kinks)
    names = [f"input {i}" for i in range(inputs)]

    @hypothesis.given(data=st.data())
    def each_example(data):
        drawn = data.draw(shape_lists, label="shapes")
        if len(drawn) != inputs:
            raise ValueError(f"check_op: shapes gives {len(drawn)} shapes for {inputs} inputs")
        values = [data.draw(arrays(tuple(shape), low, high, kinks), label=f"input {i}")
                  for i, (shape, (low, high)) in enumerate(zip(drawn, domains))]
        if near_kink is not None:
            hypothesis.assume(not np.any(near_kink(*values)))
        scale = data.draw(st.sampled_from(_LARGE), label="large magnitude") if large else None
        try:
            _check_example(f, f, values, (), (), reference, names, scale, kinks, second_order)
        except AssertionError as err:  # GradcheckError too
            raise type(err)(f"{err}\nfailing inputs:\n{_show(values)}") from None

    _run(each_example, max_examples)


def _shape_lists(given, inputs: int, broadcast: bool, min_dims: int, max_dims: int):
    """The strategy drawing one shape per input: from ``given`` (check_op's ``shapes``), or random."""
    _, st, hnp = _hypothesis()
    if given is None:
        if broadcast and inputs > 1:
            return broadcastable_shapes(inputs, min_dims, max_dims)
        return hnp.array_shapes(min_dims=min_dims, max_dims=max_dims, min_side=1, max_side=4).map(
            lambda shape: (shape,) * inputs)
    if isinstance(given, st.SearchStrategy):
        return given
    if len(given) != inputs:
        raise ValueError(f"check_op: shapes gives {len(given)} entries for {inputs} inputs")
    return st.tuples(*[entry if isinstance(entry, st.SearchStrategy) else st.just(tuple(entry)) for entry in given])


def check_module(module, feature_shape: tuple, max_batch_dims: int = 2, domain=(-3.0, 3.0), kinks=(),
                 max_examples: int | None = None, reference=None, large: bool = True) -> None:
    """Check a layer (an ``nn.Module``) like `check_op`, with respect to its input and every parameter.

    Inputs have shape (batch dims..., *feature_shape), with 0 to ``max_batch_dims`` leading
    dimensions, and values in ``domain`` away from ``kinks``. The module's parameters keep their
    values; they must be float64, as gradcheck needs (``module.double()``); its float32 check runs
    on a float32 copy. ``reference(x)`` gives the expected output for the input array ``x`` (it may
    read the module's parameters). Failures name parameters as ``state_dict()`` does
    (``"fc2.weight"``). It also fails a forward that uses a tensor requiring grad that is not among
    ``parameters()`` (a layer kept in a plain list, a tensor attribute made with
    ``requires_grad=True``): an optimizer given ``parameters()`` would never train it.
    """
    hypothesis, st, _ = _hypothesis()
    named = list(module.named_parameters())
    for name, p in named:
        if p.dtype != np.float64:
            raise TypeError(f"check_module needs float64 parameters, {name} is {p.dtype}: "
                            "call module.double() first")
    params = [p for _, p in named]
    names = ["the input"] + [name for name, _ in named]
    module32 = copy.deepcopy(module).to(np.float32)
    params32 = list(module32.parameters())
    low, high = domain
    near_kink, kinks = (kinks, ()) if callable(kinks) else (None, kinks)
    batch_shapes = shapes(0, max_batch_dims)

    @hypothesis.given(data=st.data())
    def each_example(data):
        x = data.draw(arrays(data.draw(batch_shapes, label="batch shape") + tuple(feature_shape), low, high, kinks),
                      label="input")
        if near_kink is not None:
            hypothesis.assume(not np.any(near_kink(x)))
        scale = data.draw(st.sampled_from(_LARGE), label="large magnitude") if large else None
        try:
            _check_registered(module, x, params)
            _check_example(lambda t, *_: module(t), lambda t, *_: module32(t), [x], params, params32, reference,
                           names, scale, kinks)
        except AssertionError as err:
            raise type(err)(f"{err}\nfailing input:\n{_show([x])}") from None

    _run(each_example, max_examples)


def _check_registered(module, x: np.ndarray, params: list) -> None:
    """Fail if the module's output depends on a tensor that requires grad but is not one of ``params``.

    If forward fails (unregistered layers miss ``double()`` and meet a float64 input), the error
    names the unregistered tensors found among the module's attributes instead, when there are any.
    """
    t = Tensor(x.copy(), requires_grad=True)
    known = {id(t)} | {id(p) for p in params}
    try:
        out = module(t)
    except Exception as err:
        paths = _attribute_paths(module, lambda value: value.requires_grad and value.is_leaf and id(value) not in known)
        if not paths:
            raise
        raise AssertionError(f"forward failed ({type(err).__name__}: {err}), and the module holds "
                             + _unregistered_message(list(paths.values()))) from err
    hidden = {id(leaf): leaf for leaf in topological_order(out)
              if leaf._ctx is None and leaf.requires_grad and id(leaf) not in known}
    if hidden:
        paths = _attribute_paths(module, lambda value: id(value) in hidden)
        names = [paths.get(key, f"a tensor of shape {leaf.shape}") for key, leaf in hidden.items()]
        raise AssertionError("forward uses " + _unregistered_message(names))


def _unregistered_message(names: list) -> str:
    return (f"{len(names)} tensor(s) that require grad but are not in parameters(): {', '.join(names)}. An "
            "optimizer given parameters() never trains them, and double(), float() and state_dict() miss them: "
            "assign each as an nn.Parameter attribute, and keep layers in nn.ModuleList or nn.Sequential, not "
            "a plain list or dict")


def _attribute_paths(module, wanted) -> dict:
    """{id: "layers[0].weight"} for the tensors for which ``wanted(tensor)`` is true, reachable through
    the attributes of ``module``, the modules inside it, and any lists, tuples and dicts they hold."""
    found, seen = {}, set()

    def visit(value, path):
        if id(value) in seen:
            return
        seen.add(id(value))
        if isinstance(value, Tensor):
            if wanted(value):
                found.setdefault(id(value), path)
        elif hasattr(value, "named_parameters"):  # a module (the engine cannot import nn to ask)
            for name, attribute in vars(value).items():
                visit(attribute, f"{path}.{name}" if path else name)
        elif isinstance(value, (list, tuple)):
            for i, item in enumerate(value):
                visit(item, f"{path}[{i}]")
        elif isinstance(value, dict):
            for key, item in value.items():
                visit(item, f"{path}[{key!r}]")

    visit(module, "")
    return found


def _check_example(f, f32, values: list, params, params32, reference, names: list, scale, kinks,
                   second_order: bool | None = False) -> None:
    """Every check on one example, cheapest first: inputs unchanged, float64 values against ``reference``,
    float32 dtype, values and finite gradients (also at ``scale`` times the values), then gradcheck, and
    gradgradcheck as ``second_order`` asks (see `check_op`)."""
    tensors = [Tensor(v.copy(), requires_grad=True) for v in values]
    out = f(*tensors, *params)
    for name, t, v in zip(names, tensors, values):
        if not np.array_equal(t.data, v):
            raise AssertionError(
                f"forward changed {name} in place (shape {v.shape}): an op must return a new array and "
                "leave its inputs as they were, or the caller's tensor is silently corrupted"
            )
    if reference is not None:
        _compare("float64 forward", out.data, _expected(reference, values, out.data), *_FLOAT64_TOLERANCE,
                 magnitude=0.0, skip_infinite=False)
    _check_float32(f, f32, values, params, params32, reference, names, "")
    if scale is not None:
        large = [_away_from_kinks(v * scale, kinks, 1e-3) for v in values]
        with np.errstate(all="ignore"):  # overflow is expected here: where it does not happen in float64, it is a failure
            _check_float32(f, f32, large, params, params32, reference, names,
                           f" at large magnitudes (the inputs times {scale:g})")
    gradcheck(f, tensors + list(params), names=names)
    if second_order is not False:
        try:
            gradgradcheck(f, tensors + list(params))
        except DifferentiableOnceError:
            if second_order:
                raise


def _check_float32(f, f32, values, params, params32, reference, names, where: str) -> None:
    """f32 on the values as float32: a float32 result, near the reference where it is finite in float32,
    and gradients finite where those of f on the same values in float64 are."""
    narrowed = [v.astype(np.float32) for v in values]
    out32, grads32 = _forward_backward(f32, narrowed, params32)
    if out32.dtype != np.float32:
        raise AssertionError(
            f"float32 inputs gave a {out32.dtype} result: something inside forward widened it (an array made "
            "without a dtype, such as np.zeros(shape) or np.ones(shape), is float64; use np.zeros_like(z), "
            "or dtype=z.dtype), and every layer after it would compute in the wrong dtype"
        )
    widened = [v.astype(np.float64) for v in narrowed]  # the same values, so only the arithmetic differs
    out64, grads64 = _forward_backward(f, widened, params)
    expected = out64.astype(np.float32) if reference is None else _expected(reference, narrowed, out32)
    magnitude = max([_largest(v) for v in narrowed], default=0.0)
    _compare(f"float32 forward{where}", out32, expected, *_FLOAT32_TOLERANCE, magnitude=magnitude,
             against="the float64 result" if reference is None else "the reference", limit=_FLOAT32_SAFE)
    # Gradients in float32 are only required to be finite where float64's are (well within float32's
    # range): how close they can be depends on the function (∂/∂β of softplus(βz)/β cancels two terms of size z).
    for name, g32, g64 in zip(names, grads32, grads64):
        with np.errstate(invalid="ignore"):
            lost = (np.abs(g64) <= _FLOAT32_SAFE) & ~np.isfinite(g32)
        if lost.any():
            idx = tuple(int(k) for k in np.argwhere(lost)[0])
            raise AssertionError(
                f"float32 gradient of {name}{where} is {g32[idx]} at index {idx}, where the float64 gradient is "
                f"{g64[idx]:.8g}: backward overflows in float32 (an exp of a large number?); compute it in a "
                "form that cannot overflow"
            )


def _forward_backward(f, arrays: list, leaves) -> tuple:
    """f's output on tensors holding ``arrays``, and the gradients of Σ u·output (a fixed random u) for
    those tensors and the ``leaves`` (zeros where none arrives); the leaves' own .grad are kept."""
    tensors = [Tensor(a, requires_grad=True) for a in arrays]
    saved = [p.grad for p in leaves]
    try:
        for p in leaves:
            p.grad = None
        out = f(*tensors, *leaves)
        if out.requires_grad:
            u = np.random.default_rng(0).standard_normal(out.shape).astype(out.dtype)
            (out * Tensor(u)).sum().backward()
        grads = [np.zeros(t.shape) if t.grad is None else t.grad.data for t in (*tensors, *leaves)]
    finally:
        for p, grad in zip(leaves, saved):
            p.grad = grad
    return out.data, grads


def _expected(reference, arrays: list, like: np.ndarray) -> np.ndarray:
    """The reference's result for ``arrays`` (given copies), in ``like``'s dtype and checked to have its shape."""
    with np.errstate(over="ignore"):  # a float64 result beyond float32's range becomes inf, and is skipped
        expected = np.asarray(reference(*[a.copy() for a in arrays])).astype(like.dtype)
    if expected.shape != like.shape:
        raise AssertionError(f"the forward gives shape {like.shape}, the reference shape {expected.shape}")
    return expected


def _largest(array: np.ndarray) -> float:
    finite = np.abs(array[np.isfinite(array)])
    return float(finite.max()) if finite.size else 0.0


def _compare(what: str, got, expected, rtol: float, atol: float, magnitude: float, skip_infinite: bool = True,
             against: str = "the reference", limit: float = np.inf) -> None:
    """Fail unless ``got`` is within atol·(largest magnitude) + rtol·|expected| of ``expected`` wherever the
    expected value is finite (and at most ``limit`` in size); elsewhere (unless ``skip_infinite``) it must be
    the same inf or NaN."""
    got, expected = np.asarray(got), np.asarray(expected)
    with np.errstate(invalid="ignore"):
        finite = np.isfinite(expected) & (np.abs(expected) <= limit)
    tolerance = atol * max(1.0, magnitude, _largest(expected)) + rtol * np.abs(np.where(finite, expected, 0))
    with np.errstate(invalid="ignore"):
        bad = finite & ~(np.abs(got - expected) <= tolerance)  # a NaN result is bad too
    if not skip_infinite:
        bad |= ~finite & ~((got == expected) | (np.isnan(got) & np.isnan(expected)))
    if bad.any():
        idx = tuple(int(k) for k in np.argwhere(bad)[0])
        raise AssertionError(
            f"{what} differs from {against} at index {idx}: {got[idx]!r} where {against} gives {expected[idx]!r} "
            f"({int(bad.sum())} of {bad.size} elements differ by more than rtol={rtol:g}, atol={atol:g}"
            + (" times the largest magnitude" if magnitude else "") + ")"
        )


def check_optimizer(make, reference, steps: int = 4, max_examples: int | None = None) -> None:
    """Run an optimizer against its formula on random weights and gradients, and check it resumes exactly.

    ``make(params)`` builds the optimizer; ``reference(w, grads, lrs)`` is the update rule written
    out in NumPy: from the starting weights ``w``, the list of gradients and the learning rate of
    each step, it returns the list of weights after each step. Between steps the check changes the
    learning rate in ``param_groups`` (to 0.5, 2 and 0.25 times the first), as a scheduler does, so an
    optimizer that keeps its own copy of ``lr`` fails. For two float64 parameters of random shapes,
    the check fails if

    - a step's weights differ from the formula's (rtol 1e-10),
    - a gradient array is changed (the engine may share one between tensors), or
    - an optimizer rebuilt by ``make`` and given ``state_dict()`` half-way continues differently,
      bit for bit, from one that never stopped (a buffer or hyperparameter not saved).
    """
    hypothesis, st, _ = _hypothesis()
    accepted = inspect.signature(reference).parameters
    if "lrs" not in accepted and not any(p.kind is p.VAR_KEYWORD for p in accepted.values()):
        raise TypeError("check_optimizer: the reference must take the learning rate of each step, as "
                        "reference(w, grads, lrs): the check changes the lr between steps, as a scheduler does")

    @hypothesis.given(data=st.data())
    def each_example(data):
        starts = [data.draw(arrays(data.draw(shapes(1, 2), label="shape")), label=f"weights {i}") for i in range(2)]
        grads = [[data.draw(arrays(w.shape), label=f"gradient {i}, step {k}") for i, w in enumerate(starts)]
                 for k in range(steps)]
        first_lr = make([Tensor(w.copy(), requires_grad=True) for w in starts]).param_groups[0].get("lr")
        lrs = [None if first_lr is None else first_lr * _LR_FACTORS[k % len(_LR_FACTORS)] for k in range(steps)]
        _, history = _optimize(make, starts, grads, lrs)
        for i, w in enumerate(starts):
            expected = reference(w.copy(), [g[i] for g in grads], lrs=lrs)
            for k in range(steps):
                if not np.allclose(history[k][i], expected[k], rtol=1e-10, atol=1e-12):
                    changed = (f" (before this step the check set param_groups[0]['lr'] to {lrs[k]:g}, as a "
                               "scheduler does: read group['lr'] at every step, never a copy kept from __init__)"
                               if lrs[k] != lrs[0] else "")
                    raise AssertionError(f"parameter {i} after step {k + 1} differs from the formula{changed}:\n"
                                         f"  optimizer: {history[k][i]}\n  formula:   {expected[k]}\n"
                                         f"starting weights:\n{_show(starts)}")
        half = steps // 2
        first, first_history = _optimize(make, starts, grads[:half], lrs[:half])
        # a new run: fresh parameters at the saved weights, a fresh optimizer given the saved state
        _, resumed_history = _optimize(make, first_history[-1], grads[half:], lrs[half:],
                                       copy.deepcopy(first.state_dict()))
        for i, (a, b) in enumerate(zip(history[-1], resumed_history[-1])):
            if not np.array_equal(a, b):
                raise AssertionError(f"parameter {i}: resuming from state_dict() after step {half} of {steps} ends at {b}, "
                                     f"not stopping ends at {a}: state_dict() misses a buffer or a hyperparameter")

    _run(each_example, max_examples)


def _optimize(make, starts: list, grads: list, lrs: list, state: dict | None = None):
    """New parameters at ``starts``, ``make``'s optimizer for them (given ``state`` if any), one step per
    list of gradients, each with its learning rate from ``lrs`` set in every group (None: left alone);
    returns the optimizer and the weights after each step."""
    params = [Tensor(w.copy(), requires_grad=True) for w in starts]
    optimizer = make(params)
    if state is not None:
        optimizer.load_state_dict(state)
    history = []
    for step_grads, lr in zip(grads, lrs):
        optimizer.zero_grad()
        for p, g in zip(params, step_grads):
            p.grad = Tensor(g.copy())
        if lr is not None:
            for group in optimizer.param_groups:
                group["lr"] = lr
        optimizer.step()
        for i, (p, g) in enumerate(zip(params, step_grads)):
            if not np.array_equal(p.grad.data, g):
                raise AssertionError(f"step() changed the gradient array of parameter {i}: read gradients, "
                                     "never write them (the engine may share one array between tensors)")
        history.append([p.data.copy() for p in params])
    return optimizer, history


def _run(test, max_examples) -> None:
    hypothesis, _, _ = _hypothesis()
    # No timing failures, no files written in the caller's folder, one failure reported (shrunk to the
    # simplest), and no "explain" phase, which reruns many examples to point at lines in the traceback.
    # A kink predicate may skip many examples: that is expected, not a fault of the test.
    phases = [phase for phase in hypothesis.Phase if phase != hypothesis.Phase.explain]
    settings = {"deadline": None, "database": None, "report_multiple_bugs": False, "phases": phases,
                "suppress_health_check": [hypothesis.HealthCheck.filter_too_much, hypothesis.HealthCheck.too_slow]}
    if max_examples is not None:
        settings["max_examples"] = max_examples
    hypothesis.settings(**settings)(test)()


def _show(values: list) -> str:
    return "\n".join(f"  input {i}: shape {v.shape}, {np.array2string(v, precision=6, separator=', ')}"
                     for i, v in enumerate(values))
