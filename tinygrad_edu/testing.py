"""Property tests for your own ops and layers: random shapes, broadcasting, values away from kinks.

One call checks an op the way the engine's own tests check every built-in op::

    from tinygrad_edu.testing import check_op
    check_op(lambda x: LeakyReLUFn.apply(x, slope=0.1), kinks=[0])    # one input, random shapes
    check_op(lambda a, b: a * b, inputs=2)                          # two inputs that broadcast
    check_module(layer.double(), feature_shape=(4,))                # a layer, float64 throughout
    check_optimizer(lambda ps: MySGD(ps, lr=0.1), my_formula)       # an optimizer against its formula

hypothesis draws the shapes and the values, `gradcheck` compares backward with finite differences
for every input, and a failure is shrunk to the smallest input that still fails and reported with
that input. The check also fails a ``forward`` that changes its input in place.

The strategies it is built from (`shapes`, `broadcastable_shapes`, `arrays`) are here too, for
tests of your own. hypothesis is a test extra (``pip install -e ".[test]"``), imported only when
one of these functions is called, so the engine itself never needs it.
"""

from __future__ import annotations

import copy

import numpy as np

from .autograd import DifferentiableOnceError
from .gradcheck import GradcheckError, gradcheck, gradgradcheck
from .tensor import Tensor


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
    shapes = hnp.mutually_broadcastable_shapes(num_shapes=count, min_dims=min_dims, max_dims=max_dims,
                                               max_side=max_side)
    return shapes.map(lambda drawn: drawn.input_shapes)


def arrays(shape, low: float = -3.0, high: float = 3.0, kinks=(), margin: float = 1e-3):
    """float64 arrays of ``shape`` with values in [low, high], none closer than ``margin`` to a kink.

    At a kink (ReLU, abs or a step at 0, a clamp at its bounds) the slope jumps and finite
    differences cannot give a derivative, so gradcheck there would fail a correct backward. A value
    that falls too close is moved ``2·margin`` past the kink instead of being thrown away, so
    hypothesis still tries values right beside it.
    """
    _, st, hnp = _hypothesis()

    def away_from_kinks(value):
        for kink in kinks:
            if abs(value - kink) < margin:
                value = kink + 2 * margin if value >= kink else kink - 2 * margin
        return value

    elements = st.floats(low, high, allow_nan=False, allow_infinity=False).map(away_from_kinks)
    return hnp.arrays(np.float64, shape, elements=elements)


def check_op(f, inputs: int = 1, domain=(-3.0, 3.0), kinks=(), broadcast: bool = True, min_dims: int = 0,
             max_dims: int = 3, max_examples: int | None = None, second_order: bool | None = None) -> None:
    """Gradcheck ``f`` on many random inputs; raise AssertionError with the smallest failing input.

    ``f`` takes ``inputs`` tensors and returns a tensor, e.g. ``lambda x: MyOp.apply(x)``. Each
    example draws shapes with ``min_dims`` to ``max_dims`` dimensions (with several inputs and
    ``broadcast``, shapes that broadcast together, such as (3, 1) and (4,); otherwise one shape for
    all) and float64 values in ``domain`` — a (low, high) pair, or one pair per input — away from
    ``kinks``. It then checks that

    - ``f`` leaves its inputs unchanged (a forward that changes its input in place corrupts the
      caller's tensor), and
    - backward agrees with finite differences for every input (`gradcheck`), and
    - second derivatives agree with finite differences of the first (`gradgradcheck`), where ``f`` can
      be differentiated twice: with ``second_order=None`` an op that refuses (`DifferentiableOnceError`)
      is checked to first order only; ``True`` requires second derivatives, ``False`` skips them.

    ``max_examples`` defaults to hypothesis's current setting (100, or your test profile's).
    """
    hypothesis, st, _ = _hypothesis()
    domains = list(domain) if isinstance(domain[0], (tuple, list)) else [domain] * inputs
    if len(domains) != inputs:
        raise ValueError(f"check_op: domain gives {len(domains)} (low, high) pairs for {inputs} inputs")
    if broadcast and inputs > 1:
        shape_lists = broadcastable_shapes(inputs, min_dims, max_dims)
    else:
        shape_lists = shapes(min_dims, max_dims).map(lambda shape: (shape,) * inputs)

    @hypothesis.given(data=st.data())
    def each_example(data):
        drawn = data.draw(shape_lists, label="shapes")
        values = [data.draw(arrays(shape, low, high, kinks), label=f"input {i}")
                  for i, (shape, (low, high)) in enumerate(zip(drawn, domains))]
        try:
            _check_one(f, values, second_order=second_order)
        except GradcheckError as err:
            raise GradcheckError(f"{err}\nfailing inputs:\n{_show(values)}") from None

    _run(each_example, max_examples)


def check_module(module, feature_shape: tuple, max_batch_dims: int = 2, domain=(-3.0, 3.0), kinks=(),
                 max_examples: int | None = None) -> None:
    """Gradcheck a layer (an ``nn.Module``) with respect to its input and every parameter, on random batches.

    Inputs have shape (batch dims..., *feature_shape), with 0 to ``max_batch_dims`` leading
    dimensions, and values in ``domain`` away from ``kinks``. The module's parameters keep their
    values; they must be float64, as gradcheck needs (``module.double()``). Like `check_op`, it
    also fails a forward that changes its input in place.
    """
    hypothesis, st, _ = _hypothesis()
    params = list(module.parameters())
    for name, p in module.named_parameters():
        if p.dtype != np.float64:
            raise TypeError(f"check_module needs float64 parameters, {name} is {p.dtype}: "
                            "call module.double() first")
    low, high = domain
    batch_shapes = shapes(0, max_batch_dims)

    @hypothesis.given(data=st.data())
    def each_example(data):
        x = data.draw(arrays(data.draw(batch_shapes, label="batch shape") + tuple(feature_shape), low, high, kinks),
                      label="input")
        try:
            _check_one(lambda t, *_: module(t), [x], params)
        except GradcheckError as err:
            raise GradcheckError(f"{err}\nfailing input:\n{_show([x])}") from None

    _run(each_example, max_examples)


def check_optimizer(make, reference, steps: int = 4, max_examples: int | None = None) -> None:
    """Run an optimizer against its formula on random weights and gradients, and check it resumes exactly.

    ``make(params)`` builds the optimizer; ``reference(w, grads)`` is the update rule written out
    in NumPy: from the starting weights ``w`` and the list of gradients, it returns the list of
    weights after each step. For two float64 parameters of random shapes, the check fails if

    - a step's weights differ from the formula's (rtol 1e-10),
    - a gradient array is changed (the engine may share one between tensors), or
    - an optimizer rebuilt by ``make`` and given ``state_dict()`` half-way continues differently,
      bit for bit, from one that never stopped (a buffer or hyperparameter not saved).
    """
    hypothesis, st, _ = _hypothesis()

    @hypothesis.given(data=st.data())
    def each_example(data):
        starts = [data.draw(arrays(data.draw(shapes(1, 2), label="shape")), label=f"weights {i}") for i in range(2)]
        grads = [[data.draw(arrays(w.shape), label=f"gradient {i}, step {k}") for i, w in enumerate(starts)]
                 for k in range(steps)]
        _, history = _optimize(make, starts, grads)
        for i, w in enumerate(starts):
            expected = reference(w.copy(), [g[i] for g in grads])
            for k in range(steps):
                if not np.allclose(history[k][i], expected[k], rtol=1e-10, atol=1e-12):
                    raise AssertionError(f"parameter {i} after step {k + 1} differs from the formula:\n"
                                         f"  optimizer: {history[k][i]}\n  formula:   {expected[k]}\n"
                                         f"starting weights:\n{_show(starts)}")
        half = steps // 2
        first, first_history = _optimize(make, starts, grads[:half])
        # a new run: fresh parameters at the saved weights, a fresh optimizer given the saved state
        _, resumed_history = _optimize(make, first_history[-1], grads[half:], copy.deepcopy(first.state_dict()))
        for i, (a, b) in enumerate(zip(history[-1], resumed_history[-1])):
            if not np.array_equal(a, b):
                raise AssertionError(f"parameter {i}: resuming from state_dict() after step {half} of {steps} ends at {b}, "
                                     f"not stopping ends at {a}: state_dict() misses a buffer or a hyperparameter")

    _run(each_example, max_examples)


def _optimize(make, starts: list, grads: list, state: dict | None = None):
    """New parameters at ``starts``, ``make``'s optimizer for them (given ``state`` if any), one step per
    list of gradients; returns the optimizer and the weights after each step."""
    params = [Tensor(w.copy(), requires_grad=True) for w in starts]
    optimizer = make(params)
    if state is not None:
        optimizer.load_state_dict(state)
    history = []
    for step_grads in grads:
        optimizer.zero_grad()
        for p, g in zip(params, step_grads):
            p.grad = Tensor(g.copy())
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
    phases = [phase for phase in hypothesis.Phase if phase != hypothesis.Phase.explain]
    settings = {"deadline": None, "database": None, "report_multiple_bugs": False, "phases": phases}
    if max_examples is not None:
        settings["max_examples"] = max_examples
    hypothesis.settings(**settings)(test)()


def _check_one(f, values: list, params: list = (), second_order: bool | None = False) -> None:
    """Fail if ``f`` changes its inputs in place, then gradcheck it over the inputs and ``params`` (and
    gradgradcheck it, as ``second_order`` asks: see `check_op`)."""
    tensors = [Tensor(v.copy(), requires_grad=True) for v in values]
    f(*tensors, *params)
    for i, (t, v) in enumerate(zip(tensors, values)):
        if not np.array_equal(t.data, v):
            raise GradcheckError(
                f"forward changed input {i} in place (shape {v.shape}): an op must return a new array and "
                "leave its inputs as they were, or the caller's tensor is silently corrupted"
            )
    gradcheck(f, tensors + list(params))
    if second_order is not False:
        try:
            gradgradcheck(f, tensors + list(params))
        except DifferentiableOnceError:
            if second_order:
                raise


def _show(values: list) -> str:
    return "\n".join(f"  input {i}: shape {v.shape}, {np.array2string(v, precision=6, separator=', ')}"
                     for i, v in enumerate(values))
