"""The autograd machinery: `Function` (the one way every op is written), grad modes, and backward.

Reverse-mode differentiation in three sentences. Every op applied to tensors that require gradients
records a `Function` node holding its inputs (`parents`), whatever its backward needs, and a
sequence number saying when it ran. Calling `loss.backward()` visits the recorded ops from the
newest to the oldest, handing each one ∂loss/∂output and asking it for ∂loss/∂input (the chain rule):
an op always runs after the ops that made its inputs, so by the time the walk reaches a tensor,
every op that used it has already handed back its share. Those shares are added, because
∂loss/∂x sums over every way x influences the loss.
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import threading
from numbers import Number

import numpy as np


class _GradMode(threading.local):
    enabled = True
    detect_anomaly = False


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
    Every built-in op in ``tinygrad_edu/ops.py`` is written this way.
    """

    parents: tuple | None  # the input tensors; None once backward has freed the node
    sequence_number: int  # when it ran: higher is newer

    def forward(self, *arrays, **kwargs):  # pragma: no cover - every op overrides it
        raise NotImplementedError(f"{type(self).__name__} must implement forward")

    def backward(self, grad):  # pragma: no cover - every op overrides it
        raise NotImplementedError(f"{type(self).__name__} must implement backward")

    @classmethod
    def apply(cls, *inputs, **kwargs):
        """Run ``forward`` on the inputs' data and, when gradients are wanted, record the node.

        Inputs that are plain numbers or NumPy arrays become constant tensors (a number takes the
        dtype the tensor inputs promote to, so ``Op.apply(x, 0.1)`` keeps ``x``'s float64).
        """
        inputs = tuple([x if isinstance(x, Tensor) else _constant_input(cls, x, inputs) for x in inputs])
        fn = cls()
        fn.needs_input_grad = tuple([t._requires_grad for t in inputs])
        try:
            out = fn.forward(*[t.data for t in inputs], **kwargs)
        except ValueError as err:
            shapes = " and ".join(str(t.shape) for t in inputs)
            raise ValueError(f"{cls.__name__}: cannot apply to shape(s) {shapes}: {err}") from None
        if type(out) is not np.ndarray:  # e.g. the NumPy scalar a full sum returns: in-place ops need an array
            out = np.asarray(out)
        recording = _mode.enabled and True in fn.needs_input_grad
        result = Tensor._result(out, fn if recording else None)
        if out.base is not None:  # a view (reshape, basic index, ...) shares its input's storage
            for t in inputs:
                if t._storage.owner is out.base:
                    result._storage = t._storage
                    t._storage.shared = True
        if recording:
            fn.parents, fn.sequence_number = inputs, next(_op_counter)
            fn.versions = [(t._storage, t._storage.version) for t in (*inputs, result)]  # checked by backward
        return result

    def release(self):
        """Drop the saved arrays and the links to the inputs, so their memory can be freed.

        The sequence number stays, so that a later backward can still order the node and then say
        clearly that it was freed.
        """
        self.__dict__ = {"parents": None, "sequence_number": self.sequence_number}

    def __repr__(self):
        return f"<{type(self).__name__}>"


def _constant_input(op, value, inputs):
    """A number or array given to ``op.apply`` where a tensor belongs, as a constant tensor."""
    if isinstance(value, (Number, np.generic)) and not isinstance(value, bool):
        return Tensor._constant(np.asarray(value, dtype=result_type(*[x for x in inputs if isinstance(x, Tensor)], value)))
    if isinstance(value, (np.ndarray, list, bool)):
        return Tensor(value)
    raise TypeError(
        f"{op.__name__}.apply: got a {type(value).__name__} where a tensor belongs; pass tensors, numbers or "
        f"NumPy arrays as inputs, and settings as keyword arguments (e.g. {op.__name__}.apply(x, slope=0.1))"
    )


def _check_unchanged(fn) -> None:
    """Refuse to run ``fn.backward`` if a value it depends on was changed in place after ``fn`` ran.

    Two cases. ``fn`` noted the version of each input's and its output's memory: a version that
    has moved on matters if ``fn`` kept that memory for its backward (an array stored on ``fn`` is,
    or views, it), which would now compute with the new values. And an input that was changed in
    place by a recorded op now leads back through that op, not to the value ``fn`` saw.
    """
    name = type(fn).__name__
    for i, (storage, version) in enumerate(fn.versions):
        if storage.version != version and _keeps(fn, storage.owner):
            what = "its output" if i == len(fn.parents) else f"its input {i}"
            raise RuntimeError(
                f"{name}.backward needs a value that was changed by an in-place operation after {name} ran "
                f"({what}, version {version}, now {storage.version}); change a clone() instead, or change it "
                "after backward"
            )
    for parent in fn.parents:
        if parent._ctx is not None and parent._ctx.sequence_number > fn.sequence_number:
            raise RuntimeError(
                f"{name} used a tensor that was later changed in place (by {type(parent._ctx).__name__}); "
                "backward through both values is not supported: change a clone() of it instead"
            )


def _keeps(fn, owner) -> bool:
    """Whether ``fn`` stored, for its backward, an array in the memory that ``owner`` owns."""
    for value in vars(fn).values():
        for array in value if isinstance(value, (tuple, list)) else (value,):
            if isinstance(array, np.ndarray) and (array if array.base is None else array.base) is owner:
                return True
    return False


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


def run_backward(root, gradient, retain_graph: bool) -> None:
    """Accumulate ∂root/∂leaf into ``leaf.grad`` for every leaf that requires grad (see Tensor.backward)."""
    given = set()  # ids of arrays already stored in some .grad
    if root._ctx is None:
        return _give(root, gradient, given)
    grads = {root: gradient}  # ∂root/∂t for every tensor t reached so far (tensors hash by identity)
    waiting = [_newest_first(root)]  # op results reached but not yet visited, as a heap: newest on top
    leaves = []  # leaves reached; their gradients are complete only once the walk is over
    anomaly = _mode.detect_anomaly
    # This loop runs once per op per training step, so it reads fields directly and does no more
    # than the chain rule needs: on small networks its cost is a visible part of a step.
    while waiting:
        node = heapq.heappop(waiting)[2]
        grad = grads.pop(node)  # complete: every newer op that used node has been visited
        fn = node._ctx
        if fn.parents is None:  # freed by an earlier backward, or by this one through a copy of node
            raise RuntimeError(
                f"backward through {fn!r} a second time: backward has already freed its saved values. "
                "Call backward(retain_graph=True) the first time to keep them."
            )
        _check_unchanged(fn)
        if node._retains_grad:
            _give(node, grad, given)
        input_grads = fn.backward(grad)
        if type(input_grads) is not tuple:
            input_grads = (input_grads,)
        for i, (parent, parent_grad) in enumerate(zip(fn.parents, input_grads)):
            if parent_grad is None or not parent._requires_grad:
                continue
            data = parent.data
            if parent_grad.shape != data.shape:
                parent_grad = _sum_to_shape(parent_grad, data.shape)
            if parent_grad.dtype != data.dtype:  # e.g. a float32 input of a float64 op
                parent_grad = parent_grad.astype(data.dtype)
            if anomaly and not np.isfinite(parent_grad).all():
                raise FloatingPointError(
                    f"{type(fn).__name__}.backward produced a non-finite gradient (NaN or inf) "
                    f"for its input {i} of shape {parent.shape}"
                )
            if parent in grads:  # reached before, along another path
                grads[parent] = grads[parent] + parent_grad
                continue
            grads[parent] = parent_grad
            if parent._ctx is None:
                leaves.append(parent)
            else:
                heapq.heappush(waiting, _newest_first(parent))
        if not retain_graph:
            fn.release()
    for leaf in leaves:
        _give(leaf, grads[leaf], given)


def _newest_first(tensor) -> tuple:
    """A heap entry for an op result: heapq pops the smallest, so the newest op must compare smallest.

    ``id(tensor)`` breaks ties (copies of one result share its op), so tensors themselves, whose
    ``<`` is element-wise, are never compared.
    """
    return (-tensor._ctx.sequence_number, id(tensor), tensor)


def _give(tensor, grad, given: set) -> None:
    """Add ``grad`` into ``tensor.grad``. The same array may have reached several tensors (``a + b``
    hands its gradient to both), so a tensor gets its own copy of any array already given or viewed."""
    if id(grad) in given or grad.base is not None:
        grad = grad.copy()
    given.add(id(grad))
    tensor.grad = Tensor._constant(grad if tensor.grad is None else tensor.grad.data + grad)


from .tensor import Tensor, result_type  # noqa: E402  (Tensor needs Function, and Function.apply builds Tensors)
