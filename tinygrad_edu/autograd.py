"""The autograd machinery: `Function` (the one way every op is written), grad modes, and backward.

Reverse-mode differentiation in three sentences. Every op applied to tensors that require gradients
records a `Function` node holding its inputs (`parents`) and whatever its backward needs. Calling
`loss.backward()` puts the graph's tensors in topological order (each after its inputs) and walks it
in reverse, handing each op ∂loss/∂output and asking it for ∂loss/∂input (the chain rule): so by
the time the walk reaches a tensor, every op that used it has already handed back its share. Those
shares are added, because ∂loss/∂x sums over every way x influences the loss.
"""

from __future__ import annotations

import contextlib
import copy
import inspect
import itertools
import threading
from numbers import Number

import numpy as np

from .dtypes import result_type
from .versions import check_unchanged, note_versions, share_memory


class _GradMode(threading.local):
    enabled = True
    detect_anomaly = False
    observer = None  # the Observer the engine reports to (see `observing`), or None
    on_tensors = None  # the name of the op whose backward runs on tensors (create_graph=True), for messages


_mode = _GradMode()
_op_counter = itertools.count()  # hands out the sequence numbers of recorded ops


def is_grad_enabled() -> bool:
    return _mode.enabled


class _ModeSwitch(contextlib.ContextDecorator):
    """Set one grad-mode flag for a ``with`` block or a decorated function, and put it back afterwards.

    Works as ``with no_grad():``, as ``@no_grad()`` and as ``@no_grad``. Each call of a decorated
    function gets its own switch, so recursion and threads restore the mode they found.
    """

    flag: str  # the _mode attribute to set
    value: bool

    def __new__(cls, func=None):
        if func is not None:  # used as a decorator without parentheses: @no_grad
            if not callable(func):
                raise TypeError(f"{cls.__name__}() takes no arguments; use `with {cls.__name__}():`")
            return cls()(func)
        return super().__new__(cls)

    def __enter__(self):
        self._previous = getattr(_mode, self.flag)
        setattr(_mode, self.flag, self.value)

    def __exit__(self, *exc):
        setattr(_mode, self.flag, self._previous)
        return False

    def _recreate_cm(self):  # ContextDecorator calls this once per call of the decorated function
        return type(self)()


class no_grad(_ModeSwitch):
    """Stop recording the graph: ops inside produce tensors with ``requires_grad=False``.

    Use it for evaluation and for optimizer updates (``with no_grad(): ...`` or as a decorator).
    """

    flag, value = "enabled", False


class enable_grad(_ModeSwitch):
    """Record the graph again inside a ``no_grad`` block."""

    flag, value = "enabled", True


class detect_anomaly(_ModeSwitch):
    """Check every gradient backward computes; raise at the first NaN or infinity, naming the op."""

    flag, value = "detect_anomaly", True


class set_grad_enabled:
    """``set_grad_enabled(False)`` switches recording off at once; as ``with set_grad_enabled(mode):`` it
    also puts the previous mode back at the end of the block (as in PyTorch)."""

    def __init__(self, mode: bool):
        self._previous = _mode.enabled
        _mode.enabled = bool(mode)

    def __enter__(self):
        return None

    def __exit__(self, *exc):
        _mode.enabled = self._previous
        return False


class Observer:
    """What the engine reports while ``with observing(observer):`` is active: the one way code outside the
    engine learns what a computation does (`tinygrad_edu.jit` records a training step with it).

    Each method is called from one place in the engine, after the engine has checked the call: ``op``
    after an op ran (Function.apply), ``read`` before a value leaves the graph as Python or NumPy
    (Tensor._read), ``in_place`` after a tensor was changed in place (Tensor._modify_in_place),
    ``backward`` instead of the backward walk (Tensor.backward), ``grad`` instead of the walk of
    `grad` (which returns the gradients found), and ``live`` instead of a function
    marked ``tg.jit.live``. The base class only runs what it is handed; a subclass overrides what
    it needs, and may raise to refuse.
    """

    def op(self, fn, inputs: tuple, kwargs: dict, result) -> None:
        """``fn`` (a new `Function`) ran ``forward`` on ``inputs`` (tensors) with ``kwargs`` and made ``result``."""

    def read(self, tensor, what: str) -> None:
        """A value of ``tensor`` is about to leave the graph as Python or NumPy (``what``: "item()", ...)."""

    def in_place(self, tensor, new) -> None:
        """``tensor``'s array was just overwritten with the values of ``new`` (an in-place op's result)."""

    def backward(self, root, gradient, retain_graph: bool, given, create_graph: bool = False, inputs=None) -> None:
        """``root.backward(given)`` was called, ``gradient`` being the checked ∂root/∂root: run the walk."""
        backpropagate([root], [gradient], retain_graph, create_graph, inputs)

    def grad(self, outputs: list, gradients: list, inputs: list, retain_graph: bool, create_graph: bool) -> dict:
        """`grad` was called: walk back from ``outputs`` (with their ``gradients``) and return {input: gradient}."""
        return gradients_at(outputs, gradients, inputs, retain_graph, create_graph)

    def live(self, method, args: tuple, kwargs: dict):
        """A function marked ``tg.jit.live`` is called: call it, outside the observation, and return its result."""
        with observing(None):
            return method(*args, **kwargs)


class observing(contextlib.AbstractContextManager):
    """``with observing(observer):`` the engine reports to ``observer`` (None: to no one) until the block ends."""

    def __init__(self, observer: Observer | None):
        self.observer = observer

    def __enter__(self):
        self._previous, _mode.observer = _mode.observer, self.observer
        return self.observer

    def __exit__(self, *exc):
        _mode.observer = self._previous
        return False


class Function:
    """One differentiable op: ``forward`` on NumPy arrays, ``backward`` from output gradient to input gradients.

    To add an op, subclass and write both halves side by side::

        class Cube(Function):
            def forward(self, x):
                self.x = x                      # keep what backward needs
                return x ** 3
            def backward(self, grad):           # grad = ∂L/∂out, same shape as out
                return grad * 3 * self.x ** 2   # ∂L/∂x = ∂L/∂out · 3x²

        y = Cube.apply(x)                       # x: Tensor -> y: Tensor, recorded in the graph

    ``forward`` receives the inputs' arrays (plus any keyword arguments given to ``apply``) and
    returns one array. ``backward`` returns one gradient per input (a tuple when there are several),
    each broadcastable to its input's shape: the engine sums a broadcast gradient back to the input's
    shape, so ``forward`` may rely on NumPy broadcasting. Return ``None`` for an input that needs no
    gradient; ``self.needs_input_grad[i]`` tells which do, so expensive gradients can be skipped.
    Every built-in op in ``tinygrad_edu/ops.py`` is written this way. Never change ``grad`` in place
    (``grad *= 3``): the same array may have been handed to other ops too (``a + b`` hands one to
    both), as in PyTorch; compute a new array instead.

    Differentiating twice (``backward(create_graph=True)``, ``tg.autograd.grad``) runs the same
    ``backward`` on tensors: ``grad`` is a tensor, and so is every attribute that holds one of the
    inputs' arrays or the output's array as ``forward`` got or returned it (``self.x = x``); NumPy
    functions called on tensors run as the engine's ops. So an op is differentiable twice when its
    backward computes from ``grad``, those inputs and that output, masks and indices (bool and
    integer arrays) and numbers, with operators and the NumPy functions Tensor supports. A float
    array computed in ``forward`` (``self.d = x - y``) would be a constant there: such an op, or one
    whose backward is marked `once_differentiable`, raises `DifferentiableOnceError` naming it.
    """

    parents: tuple | None  # the input tensors; None once backward has freed the node
    sequence_number: int  # when it ran: higher is newer (tells an input changed in place after this op used it)

    # The class of the tensors `apply` makes. tensor.py, the layer above this file, sets it to its
    # Tensor when it is imported, so that imports go one way: tensor.py → autograd.py, never back.
    tensor_type: type

    def __init_subclass__(cls, **kwargs):
        """Refuse an op written the PyTorch way at once, with how to write it here."""
        super().__init_subclass__(**kwargs)
        for name in ("forward", "backward"):
            method = cls.__dict__.get(name)
            static = isinstance(method, staticmethod)
            if static or (callable(method) and next(iter(inspect.signature(method).parameters), None) == "ctx"):
                raise TypeError(
                    f"{cls.__name__}.{name} is written the PyTorch way (@staticmethod, {name}(ctx, ...)). Here forward "
                    "and backward are ordinary methods of the op: def forward(self, x) keeps what backward needs on "
                    "self (self.x = x, where PyTorch has ctx.save_for_backward(x)), and def backward(self, grad) "
                    "returns the input's gradient; call it as before, with " + cls.__name__ + ".apply(x)"
                )

    def forward(self, *arrays, **kwargs):  # pragma: no cover - every op overrides it
        raise NotImplementedError(f"{type(self).__name__} must implement forward")

    def backward(self, grad):  # pragma: no cover - every op overrides it
        raise NotImplementedError(f"{type(self).__name__} must implement backward")

    @classmethod
    def apply(cls, *inputs, **kwargs):
        """Run ``forward`` on the inputs' data and, when gradients are wanted, record the node. Numbers
        and NumPy arrays given as inputs become constant tensors (a number in the dtype the tensor
        inputs promote to, so ``Op.apply(x, 0.1)`` keeps ``x``'s float64)."""
        Tensor = cls.tensor_type
        inputs = tuple([x if isinstance(x, Tensor) else _constant_input(cls, x, inputs) for x in inputs])
        fn = cls()
        fn.needs_input_grad = tuple([t._requires_grad for t in inputs])
        out = _run_forward(fn, inputs, kwargs)
        recording = _mode.enabled and True in fn.needs_input_grad
        result = Tensor._result(out, fn if recording else None)
        share_memory(inputs, result)
        if recording:
            fn.parents, fn.sequence_number = inputs, next(_op_counter)
            note_versions(fn, inputs, result)
        if _mode.observer is not None:
            _mode.observer.op(fn, inputs, kwargs, result)
        return result

    @classmethod
    def compute(cls, *inputs, **kwargs):
        """This op's forward, for use inside another op's backward: on arrays it returns an array (a
        first derivative), on tensors (a backward run for a second derivative) it is ``apply``."""
        if any(isinstance(x, cls.tensor_type) for x in inputs):
            return cls.apply(*inputs, **kwargs)
        return cls().forward(*inputs, **kwargs)

    def release(self):
        """Drop the saved arrays and the links to the inputs, so their memory can be freed.

        The sequence number stays, for the check that an input was not changed in place since.
        """
        self.__dict__ = {"parents": None, "sequence_number": self.sequence_number}

    def __repr__(self):
        return f"<{type(self).__name__}>"


def _as_array(fn, out) -> np.ndarray:
    """``out`` (a NumPy scalar: NumPy returns one for 0-d results) as an array, which ``fn`` also keeps in
    its place, so that an attribute holding the output is the output tensor's array (see `_kept_as_tensors`)."""
    array = np.asarray(out)
    for name, value in vars(fn).items():
        if value is out:
            setattr(fn, name, array)
    return array


def _constant_input(op, value, inputs):
    """A number or array given to ``op.apply`` where a tensor belongs, as a constant tensor."""
    Tensor = op.tensor_type
    if isinstance(value, (Number, np.generic)) and not isinstance(value, bool):
        return Tensor._constant(np.asarray(value, dtype=result_type(*[x for x in inputs if isinstance(x, Tensor)], value)))
    if isinstance(value, (np.ndarray, list, bool)):
        return Tensor(value)
    raise TypeError(
        f"{op.__name__}.apply: got a {type(value).__name__} where a tensor belongs; pass tensors, numbers or "
        f"NumPy arrays as inputs, and settings as keyword arguments (e.g. {op.__name__}.apply(x, slope=0.1))"
    )


def _run_forward(fn, inputs, kwargs) -> np.ndarray:
    """``fn.forward`` on the inputs' arrays, always returning an array (a full sum gives a NumPy scalar,
    and in-place changes need an array). A ValueError (most often shapes that do not fit) is raised
    again naming the op and the shapes, chained to the original: ``forward``'s line stays in the traceback."""
    try:
        out = fn.forward(*[t.data for t in inputs], **kwargs)
    except ValueError as err:
        shapes = " and ".join(str(t.shape) for t in inputs)
        raise ValueError(f"{type(fn).__name__}: cannot apply to shape(s) {shapes}: {err}") from err
    return out if type(out) is np.ndarray else _as_array(fn, out)


def _checked_gradients(fn, grads, kind=(np.ndarray, np.generic)) -> tuple:
    """What ``fn.backward`` returned, as one gradient (or None) per input, each of its input's shape (or
    one broadcasting made of it) and of ``kind``: an array, or for a backward run on tensors a tensor
    (an array there would be a constant: values read out of the graph). Anything else is refused with
    an error naming the op and the input (`_gradient_error`)."""
    grads = grads if isinstance(grads, tuple) else (grads,)
    if len(grads) != len(fn.parents):
        raise _gradient_count_error(fn, grads)
    for i, (grad, parent) in enumerate(zip(grads, fn.parents)):
        if grad is not None and not (isinstance(grad, kind) and (
                grad.shape == parent.shape or _broadcasts_to(parent.shape, grad.shape))):
            raise _gradient_error(fn, i, grad, parent, kind)
    return grads


def _broadcasts_to(shape: tuple, target: tuple) -> bool:
    """Whether NumPy broadcasting stretches ``shape`` to ``target``."""
    if len(shape) > len(target):
        return False
    return all(n == m or n == 1 for n, m in zip(shape, target[len(target) - len(shape):]))


def _sum_to_shape(grad: np.ndarray, shape: tuple) -> np.ndarray:
    """Undo broadcasting: sum ``grad`` over the axes along which an input of ``shape`` was stretched."""
    if grad.shape == shape:
        return grad
    extra = grad.ndim - len(shape)
    axes = tuple(range(extra)) + tuple(
        extra + i for i, n in enumerate(shape) if n == 1 and grad.shape[extra + i] != 1
    )
    grad = grad.sum(axis=axes, keepdims=True) if axes else grad
    return grad.reshape(shape)


def _accumulate(tensor, grad) -> None:
    """Add ``grad`` into ``tensor.grad``, which is always an array of its own (as in PyTorch): the array
    backward hands on may have reached other tensors too (``a + b`` hands its gradient to both), be a
    view, or be kept by the op that returned it, so the first one stored is a copy. A recorded
    gradient (create_graph) is stored as a recorded copy (clone) or sum, so it stays differentiable."""
    if isinstance(grad, Function.tensor_type):
        tensor.grad = grad.clone() if tensor.grad is None else tensor.grad + grad
        return
    tensor.grad = Function.tensor_type._constant(grad.copy() if tensor.grad is None else tensor.grad.data + grad)


def backpropagate(roots, gradients, retain_graph: bool, create_graph: bool = False, targets=None,
                  collect=_accumulate) -> None:
    """The chain rule, applied to the recorded graph from ``roots`` (with their gradients ∂L/∂root)
    down: ``collect(t, ∂L/∂t)`` (by default: add it into ``t.grad``) is called for every leaf t that
    requires grad and every t that called ``retain_grad``, or for each tensor t in ``targets`` only.

    In reverse topological order, each tensor is reached after every op that used it, so its ∂L/∂t
    (the sum of what they handed back) is complete when its own op turns it into ∂L/∂input for each
    input. With ``create_graph`` the gradients are tensors, recorded so they can be differentiated again.
    """
    if create_graph and not _mode.enabled:  # the gradients are recorded even inside no_grad (as in PyTorch)
        with enable_grad():
            return backpropagate(roots, gradients, retain_graph, create_graph, targets, collect)
    grads = {}  # ∂L/∂t so far, for every tensor t reached (tensors hash by identity)
    for root, gradient in zip(roots, gradients):
        grads[root] = grads[root] + gradient if root in grads else gradient
    order = topological_order(*roots)
    wanted = None if targets is None else set(targets)
    leads = None if wanted is None else _leading_to(order, wanted)  # given targets, only ops leading to them
    for t in reversed(order):
        grad = grads.pop(t, None)
        if grad is None:
            continue  # no gradient reaches t: a constant, or an input nobody needed a gradient for
        if (t._ctx is None or t._retains_grad) if wanted is None else t in wanted:
            collect(t, grad)
        fn = t._ctx
        if fn is None or (leads is not None and t not in leads):
            continue
        if fn.parents is None:  # (copy.copy(t) shares t's op: its walk may have freed it)
            raise _freed_error(fn)
        check_unchanged(fn)
        input_grads = _backward_on_tensors(fn, t, grad) if create_graph else _call_backward(fn, grad)
        for i, (parent, parent_grad) in enumerate(zip(fn.parents, input_grads)):
            if parent_grad is None or not parent._requires_grad:
                continue
            parent_grad = _fit(parent_grad, parent)
            if _mode.detect_anomaly:
                _check_finite(fn, i, parent, parent_grad)
            grads[parent] = grads[parent] + parent_grad if parent in grads else parent_grad
        if not retain_graph:
            fn.release()


def _call_backward(fn, grad: np.ndarray) -> tuple:
    """``fn.backward(grad)`` (the chain rule: ∂L/∂input from ∂L/∂output), checked, with ``grad`` read-only:
    one gradient array may be handed to several ops (``a + b`` hands its own to both), so a backward that
    changed it in place (``grad *= ...``) would silently change theirs. Read-only copies nothing: about 2%
    of the eager step (benchmarks/bench_readonly_grad.py), nothing in a tg.jit replay."""
    grad.setflags(write=False)  # (setflags is 4 times faster than flags.writeable = False)
    try:
        grads = fn.backward(grad)
    except ValueError as err:
        if "read-only" not in str(err):
            raise
        raise _read_only_error(fn, err) from err
    return _checked_gradients(fn, grads)


def _leading_to(order: list, wanted: set) -> set:
    """The tensors of ``order`` (inputs first) whose op has an input in ``wanted`` or leading to it."""
    leads = set()
    for t in order:
        if t._ctx is not None and any(p in wanted or p in leads for p in t._ctx.parents):
            leads.add(t)
    return leads


def topological_order(*roots) -> list:
    """The roots and every tensor they were computed from, each listed after its inputs: a depth-first
    search, with an explicit stack instead of recursion so that a graph 100,000 ops deep does not hit
    Python's recursion limit. Each tensor is expanded once, so the cost is linear in graph size."""
    order, expanded = [], set()  # (tensors hash by identity)
    stack = [(root, False) for root in reversed(roots)]  # (tensor, are its inputs listed already?)
    while stack:
        node, inputs_listed = stack.pop()
        if inputs_listed:
            order.append(node)
        elif node not in expanded:  # (one reached again along another path is listed already)
            expanded.add(node)
            stack.append((node, True))
            if node._ctx is not None:
                if node._ctx.parents is None:
                    raise _freed_error(node._ctx)
                # reversed: the first input is expanded first
                stack.extend((parent, False) for parent in reversed(node._ctx.parents) if parent not in expanded)
    return order


def _fit(grad, tensor):
    """``grad`` as the gradient of ``tensor``: an array of its shape (summed over the dims broadcasting
    stretched) and its dtype (a float32 input of a float64 op gets a float32 gradient). A recorded
    gradient (create_graph) is a tensor, and is fitted with tensor ops, which are recorded too."""
    grad = grad if type(grad) is np.ndarray or isinstance(grad, Function.tensor_type) else np.asarray(grad)
    if grad.shape != tensor.shape:
        grad = _sum_to_shape(grad, tensor.shape)
    if grad.dtype != tensor.dtype:  # (Tensor's name for NumPy's astype is to)
        grad = grad.astype(tensor.dtype) if type(grad) is np.ndarray else grad.to(tensor.dtype)
    return grad


def _check_finite(fn, i: int, tensor, grad) -> None:
    """detect_anomaly's check: name the op whose backward produced a NaN or infinity."""
    if not np.isfinite(grad.data if isinstance(grad, Function.tensor_type) else grad).all():
        raise FloatingPointError(
            f"{type(fn).__name__}.backward produced a non-finite gradient (NaN or inf) "
            f"for its input {i} of shape {tensor.shape}"
        )


# ------------------------------------------------------------------------- gradients of gradients
class DifferentiableOnceError(RuntimeError):
    """A second derivative was asked of an op whose backward cannot be differentiated again."""


def once_differentiable(backward):
    """Mark an op's ``backward`` as giving first derivatives only (PyTorch's name for it): asking for a
    second derivative through the op raises `DifferentiableOnceError` naming it, never a silent zero."""
    backward.once_differentiable = True
    return backward


_ENGINE_ATTRIBUTES = ("parents", "sequence_number", "versions", "needs_input_grad")


def _backward_on_tensors(fn, out, grad) -> tuple:
    """``fn.backward(grad)`` for create_graph: the same code, run on tensors, so that what it computes
    is recorded in the graph and can be differentiated again.

    ``grad`` is a tensor. ``backward`` runs on a shallow copy of ``fn`` on which each array that
    ``forward`` kept and that is one of the inputs' arrays or the output's array is replaced by that
    tensor (`_kept_as_tensors`); NumPy functions it calls on tensors run as tensor ops
    (``Tensor.__array_function__``). Anything else refuses with `DifferentiableOnceError`, naming the op.
    """
    name = type(fn).__name__
    if getattr(type(fn).backward, "once_differentiable", False):
        raise DifferentiableOnceError(f"{name} can be differentiated once only (its backward is marked "
                                      "once_differentiable): no second derivative flows through it")
    twin = copy.copy(fn)
    for attribute, value in vars(fn).items():
        if attribute not in _ENGINE_ATTRIBUTES:
            setattr(twin, attribute, _kept_as_tensors(fn, out, attribute, value))
    previous, _mode.on_tensors = _mode.on_tensors, name
    try:
        grads = type(fn).backward(twin, grad)
    except (TypeError, AttributeError) as err:
        raise DifferentiableOnceError(
            f"{name}.backward cannot run on tensors, as a second derivative needs ({type(err).__name__}: {err}); "
            "write it with operators and the NumPy functions Tensor supports, or mark it once_differentiable"
        ) from err
    finally:
        _mode.on_tensors = previous
    return _checked_gradients(fn, grads, kind=Function.tensor_type)


def _kept_as_tensors(fn, out, attribute: str, value):
    """``value`` (kept by ``fn.forward`` as ``self.<attribute>``) for a backward on tensors: an input's
    array or the output's array becomes that tensor (if it requires grad; a constant stays an array),
    bool and integer arrays and numbers stay as they are, and any other float array is refused: it
    was computed in forward, and as a constant it would silently drop its share of the derivative."""
    if isinstance(value, (tuple, list)):
        return type(value)(_kept_as_tensors(fn, out, attribute, v) for v in value)
    if isinstance(value, dict):
        return {key: _kept_as_tensors(fn, out, attribute, v) for key, v in value.items()}
    if not isinstance(value, (np.ndarray, np.generic)) or value.dtype.kind not in "fc":
        return value
    name = type(fn).__name__
    owners = {id(t): t for t in (*fn.parents, out) if t.data is value}
    if not owners:
        raise DifferentiableOnceError(
            f"{name} cannot be differentiated twice: its forward kept self.{attribute}, a float array computed "
            f"there, which is neither one of its inputs nor its output; keep the inputs (self.x = x) and compute "
            "the rest in backward, or mark backward once_differentiable")
    graded = [t for t in owners.values() if t._requires_grad]
    if len(owners) > 1 and graded:
        raise DifferentiableOnceError(
            f"{name} cannot be differentiated twice here: self.{attribute} is the memory of {len(owners)} different "
            "tensors (one made from the other by detach() or Tensor(t)); pass a clone() instead")
    return graded[0] if graded else value


def grad(outputs, inputs, grad_outputs=None, retain_graph=None, create_graph: bool = False,
         allow_unused: bool = False) -> tuple:
    """∂outputs/∂inputs, returned instead of added into ``.grad`` (PyTorch's ``torch.autograd.grad``).

    ``outputs`` and ``inputs`` are a tensor or a sequence of tensors; the result is a tuple with
    one gradient per input, Σₖ ∂(outputs[k] · grad_outputs[k])/∂input (``grad_outputs`` may be
    left out for outputs of one element: 1). With ``create_graph=True`` the gradients are recorded
    in the graph, so they can be differentiated again (a Hessian-vector product is a ``grad`` of a
    ``grad``). ``retain_graph`` defaults to ``create_graph``. An input no output depends on is an
    error, unless ``allow_unused=True``: then its gradient is None.
    """
    Tensor = Function.tensor_type
    outputs, inputs = _tensor_list("outputs", outputs), _tensor_list("inputs", inputs)
    for what, tensors in (("outputs", outputs), ("inputs", inputs)):
        for i, t in enumerate(tensors):
            if not t.requires_grad:
                raise RuntimeError(f"grad: {what}[{i}] (shape {t.shape}) does not require grad, so there is no "
                                   "gradient through it")
    seeds = [seed_gradient(out, given, create_graph, "grad")
             for out, given in zip(outputs, _per_output(grad_outputs, len(outputs)))]
    retain_graph = create_graph if retain_graph is None else retain_graph
    if _mode.observer is not None:  # it runs the walk (tinygrad_edu.jit refuses it)
        found = _mode.observer.grad(outputs, seeds, inputs, retain_graph, create_graph)
    else:
        found = gradients_at(outputs, seeds, inputs, retain_graph, create_graph)
    grads = []
    for i, t in enumerate(inputs):
        g = found.get(t)
        if g is None and not allow_unused:
            raise RuntimeError(f"grad: inputs[{i}] (shape {t.shape}) was not used to compute the outputs, so it has "
                               "no gradient; pass allow_unused=True to get None for it")
        grads.append(g if g is None or create_graph else Tensor._constant(g.copy()))
    return tuple(grads)


def gradients_at(outputs, gradients, inputs, retain_graph: bool, create_graph: bool) -> dict:
    """{t: ∂L/∂t} for the tensors ``inputs`` that a gradient reaches, L being Σ outputs · gradients."""
    found = {}
    backpropagate(outputs, gradients, retain_graph, create_graph, inputs, collect=found.__setitem__)
    return found


def seed_gradient(root, gradient, create_graph: bool, caller: str):
    """∂L/∂root to start backward from: ``gradient`` (a tensor, an array or a number of root's shape),
    or 1 for a root of one element; an array, or for create_graph a tensor (``gradient`` itself if it
    is one, so that what it was computed from is differentiated too)."""
    Tensor = Function.tensor_type
    if gradient is None:
        if root.data.size != 1:
            raise _needs_scalar_error(root, caller)
        seed = np.array(1, dtype=root.dtype).reshape(root.shape)  # ∂root/∂root = 1
    elif create_graph and isinstance(gradient, Tensor):
        seed = gradient if gradient.dtype == root.dtype else gradient.to(root.dtype)
    else:
        seed = np.array(gradient.data if isinstance(gradient, Tensor) else gradient, dtype=root.dtype)
    if seed.shape != root.shape:
        raise ValueError(f"{caller}(): gradient has shape {seed.shape} but the tensor has shape {root.shape}")
    return Tensor._constant(seed) if create_graph and not isinstance(seed, Tensor) else seed


def _tensor_list(what: str, tensors) -> list:
    Tensor = Function.tensor_type
    tensors = [tensors] if isinstance(tensors, Tensor) else list(tensors)
    if not tensors or not all(isinstance(t, Tensor) for t in tensors):
        raise TypeError(f"grad: {what} must be a tensor or a non-empty sequence of tensors")
    return tensors


def _per_output(grad_outputs, count: int) -> list:
    if grad_outputs is None or isinstance(grad_outputs, (Function.tensor_type, np.ndarray, Number)):
        return [grad_outputs] * count if count == 1 or grad_outputs is None else _mismatch(1, count)
    grad_outputs = list(grad_outputs)
    return grad_outputs if len(grad_outputs) == count else _mismatch(len(grad_outputs), count)


def _mismatch(given: int, count: int):
    raise ValueError(f"grad: grad_outputs holds {given} gradient(s) for {count} output(s); give one per output")


# ------------------------------------------------------------------------- what the checks say
# The checks on the way through a training step (apply, backward's walk) are a line or two each; the
# messages they raise once a check has failed are built here.
def _gradient_count_error(fn, grads) -> TypeError:
    return TypeError(
        f"{type(fn).__name__}.backward returned {len(grads)} gradient(s) for {len(fn.parents)} input(s); return one "
        "per input, as a tuple, with None for an input that needs no gradient"
    )


def _gradient_error(fn, i: int, grad, parent, kind) -> Exception:
    """Why the gradient ``fn.backward`` returned for input ``i`` does not fit, once `_checked_gradients`
    found that it does not: it is not of ``kind``, or else its shape is wrong."""
    name = type(fn).__name__
    if kind is Function.tensor_type and not isinstance(grad, kind):  # an array, computed from values read out
        return DifferentiableOnceError(
            f"{name}.backward, run on tensors for a second derivative, returned a {type(grad).__name__} as the "
            f"gradient of input {i}: compute it from grad with operators and NumPy functions, not from values "
            "read out of a tensor (.data, .numpy()), or mark backward once_differentiable"
        )
    if not isinstance(grad, kind):
        return TypeError(
            f"{name}.backward returned a {type(grad).__name__} as the gradient of input {i}; "
            f"return a NumPy array of the input's shape {parent.shape}"
        )
    return ValueError(
        f"{name}.backward returned a gradient of shape {grad.shape} for input {i}, which has shape "
        f"{parent.shape}; the gradient must have the input's shape (or the shape it was broadcast to)"
    )


def _read_only_error(fn, err: ValueError) -> RuntimeError:
    return RuntimeError(
        f"{type(fn).__name__}.backward wrote into an array it may only read ({err}): the gradient it is handed "
        "may be handed to other ops too, and the arrays forward kept are its inputs' and output's. Compute a "
        "new array instead: return grad * x, not grad *= x"
    )


def _freed_error(fn) -> RuntimeError:
    return RuntimeError(
        f"going through {fn!r} a second time: an earlier backward has freed its saved values. Call "
        "backward(retain_graph=True) the first time to keep them (and draw a graph before its backward)."
    )


def _needs_scalar_error(root, caller: str) -> RuntimeError:
    return RuntimeError(
        f"{caller}() without a gradient needs a scalar, but this tensor has shape {root.shape}; "
        f"reduce it first (e.g. .sum() or .mean()) or pass {'gradient=' if caller == 'backward' else 'grad_outputs='} "
        "of the same shape"
    )
