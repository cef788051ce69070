"""Python's conversion protocols for `Tensor`: ``item()``, ``numpy()``, ``float(t)``, ``if t:``,
``f"{t:.3f}"``, ``np.asarray(t)``, NumPy functions given a tensor, DLPack, ``repr`` and the notebook view.

Every read of a tensor's values into Python goes through `Conversions._read`, so that ``tg.jit`` can
refuse one inside a recorded step (a replay runs no Python between ops, so a value read there
would be frozen).
"""

from __future__ import annotations

import html

import numpy as np

from . import promotion
from .autograd import DifferentiableOnceError, _mode
from .numpy_on_tensors import call_function, call_ufunc


class Conversions:
    """Mixed into `Tensor` (tensor.py): reading its values out as Python numbers, arrays and text."""

    __slots__ = ()

    def _read(self, what: str) -> np.ndarray:
        """The array, for a result outside the graph: a Python number, a NumPy array, a comparison's
        mask, an index. Every such read goes through here, so that tg.jit can refuse one inside a step
        (a replay runs no Python between ops, so the value read would be frozen)."""
        if _mode.observer is not None:
            _mode.observer.read(self, what)
        return self.data

    def item(self):
        """The one element as a Python number. Every conversion to a Python scalar reads through here."""
        data = self._read("item()")
        if data.size != 1:
            raise ValueError(f"item() needs a tensor with one element, this one has shape {self.shape}")
        return data.item()

    def numpy(self) -> np.ndarray:
        """The underlying array (shared, not copied). Every conversion to NumPy reads through here."""
        return self._read("numpy()")

    def tolist(self):
        return self.numpy().tolist()

    def __bool__(self) -> bool:
        if self.data.size != 1:
            raise RuntimeError(
                f"the truth value of a tensor with {self.data.size} elements (shape {self.shape}) is ambiguous; "
                "use .any() or .all()"
            )
        return bool(self.item())

    def __float__(self) -> float:
        return float(self.item())

    def __int__(self) -> int:
        return int(self.item())

    def __index__(self) -> int:
        if self.dtype.kind not in "iu" or self.data.size != 1:
            raise TypeError(f"only integer tensors of one element can be used as an index, this one is "
                            f"{self.dtype} of shape {self.shape}")
        return int(self.item())

    def __format__(self, spec: str) -> str:
        if self.ndim == 0 or (spec and self.data.size == 1):
            return format(self.item(), spec)
        if spec:
            raise TypeError(f"format(t, {spec!r}) needs a tensor with one element, this one has shape {self.shape}")
        return str(self)

    def __array__(self, dtype=None, copy=None):
        if _mode.on_tensors is not None:
            raise DifferentiableOnceError(
                f"{_mode.on_tensors}.backward, run on tensors for a second derivative, turned a tensor into a NumPy "
                "array (np.asarray, np.array, or storing it into an array): its values would be a constant, and the "
                "second derivative silently wrong. Use operators and the NumPy functions tensors support, or mark "
                "backward once_differentiable")
        data = self.numpy()
        if copy:
            return np.array(data, dtype=dtype, copy=True)
        return data if dtype is None else data.astype(dtype, copy=False)

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        """NumPy's operators with a tensor on the right (``array + t`` is ``t.__radd__(array)``), and inside
        a backward run on tensors (create_graph) the ufuncs backwards use, as tensor ops."""
        return call_ufunc(ufunc, method, inputs, kwargs)

    def __array_function__(self, func, types, args, kwargs):
        """NumPy functions given a tensor: on its values as arrays (as ``np.asarray(t)``), except inside a
        backward run on tensors (create_graph), where the ones backwards use run as tensor ops."""
        return call_function(func, args, kwargs)

    def __dlpack__(self, *args, **kwargs):
        return self.numpy().__dlpack__(*args, **kwargs)

    def __dlpack_device__(self):
        return self.data.__dlpack_device__()

    def _values_text(self, prefix: str = "") -> str:
        """The values as PyTorch prints them: 4 decimals, and a tensor of more than 1000 elements
        abbreviated to the first and last 3 along each dimension (``prefix`` indents the lines after the first)."""
        return np.array2string(self.data, separator=", ", precision=4, threshold=1000, edgeitems=3, prefix=prefix)

    def _origin(self) -> str:
        """Where the tensor comes from, as repr says it: the op that made it, or whether it is a leaf that learns."""
        if self._ctx is not None:
            return f"grad_fn=<{type(self._ctx).__name__}Backward>"
        return f"requires_grad={self.requires_grad}"

    def __repr__(self) -> str:
        extras = [f"size={self.shape}"] if self.data.size == 0 and self.ndim != 1 else []  # "[]" alone hides it
        extras += [f"dtype={self.data.dtype}"] if self.data.dtype != np.float32 else []
        if self._ctx is not None or self.requires_grad:
            extras.append(self._origin())
        return f"tensor({', '.join([self._values_text(prefix='tensor(')] + extras)})"

    def _repr_html_(self) -> str:
        """Jupyter's rich view: the shape, dtype and origin in a header, then the values as repr prints them."""
        kind = "tensor" if type(self) is promotion.Tensor else type(self).__name__  # nn.Parameter says so
        head = f"shape {self.shape} · {self.dtype} · {self._origin()}"
        return (f'<div class="tg-tensor"><b>{kind}</b> <code>{html.escape(head)}</code>'
                f'<pre style="margin:2px 0">{html.escape(self._values_text())}</pre></div>')
