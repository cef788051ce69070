"""PyTorch's dtype rules for tensors, and how the values handed to the Tensor API become tensors.

`to_array` gives a new tensor's dtype (Python floats are float32, NumPy keeps its own); `promote`
brings the two operands of a binary op to the dtype `dtypes.result_type` decides, so that ``x * 0.5``
or ``int_tensor + float_tensor`` compute what they compute in PyTorch.
"""

from __future__ import annotations

import numpy as np

from .dtypes import FLOATS, float32, result_type


# tensor.py's class, set there when it is defined (tensor.py imports this file, so it cannot import tensor.py)
Tensor = None


def to_array(data, dtype) -> np.ndarray:
    """Make the array a new tensor holds: Python floats become float32, NumPy arrays and scalars keep
    their dtype, also inside a list (``[np.float64(1.0), 2.0]`` is float64, as in PyTorch)."""
    if dtype is not None:
        return supported(np.asarray(data, dtype=dtype))
    array = supported(np.asarray(data))
    if array.dtype == np.float64 and not holds_float64(data):
        return array.astype(np.float32)  # PyTorch's default float type; float64 must be asked for
    if array.dtype.kind == "f" and array.dtype not in FLOATS:
        return array.astype(np.float32)  # float16 and friends: compute in float32
    return array


def supported(array: np.ndarray) -> np.ndarray:
    """``array`` itself if a tensor can hold it: bools, integers and real floats. Text, Python objects and
    complex numbers are refused here, before any op could half work on them."""
    kind = array.dtype.kind
    if kind in "biuf":
        return array
    if kind == "c":
        raise TypeError(f"complex numbers are not supported ({array.dtype}): tinygrad-edu computes with real numbers; "
                        "keep the real and imaginary parts as two real tensors (z.real and z.imag)")
    what = {"U": "text", "S": "bytes", "O": "Python objects", "M": "dates", "m": "time spans"}.get(kind, "records")
    raise TypeError(f"a tensor holds numbers (bools, integers or floats), not {what} ({array.dtype}); convert the "
                    "data to numbers first")


def holds_float64(data) -> bool:
    """Whether ``data`` is, or a (nested) list of it holds, a float64 array, scalar or tensor. NumPy
    makes Python floats float64 too; PyTorch makes them float32, but keeps float64 from NumPy."""
    if hasattr(data, "dtype"):
        return data.dtype == np.float64
    return isinstance(data, (list, tuple)) and any(holds_float64(x) for x in data)


def promote(a, b, floating: bool = False) -> tuple:
    """Both operands of a binary op as tensors of their `result_type` (a float type if ``floating``).

    The first three cases are what `result_type` would give too, taken without asking it because
    they are nearly every op: nothing to promote, or a Python number joining a float tensor (x * 0.5).
    """
    if isinstance(b, Tensor) and isinstance(a, Tensor) and a.dtype == b.dtype and (a.dtype.kind == "f" or not floating):
        return a, b
    if type(b) in (float, int) and isinstance(a, Tensor) and a.dtype.kind == "f":
        return a, Tensor._constant(np.asarray(b, dtype=a.dtype))
    if type(a) in (float, int) and isinstance(b, Tensor) and b.dtype.kind == "f":
        return Tensor._constant(np.asarray(a, dtype=b.dtype)), b
    dtype = result_type(a, b)
    if floating and dtype.kind != "f":
        dtype = float32  # integer true division gives the default float type
    return as_dtype(a, dtype), as_dtype(b, dtype)


def as_dtype(x, dtype) -> "Tensor":
    if isinstance(x, Tensor):
        return x if x.dtype == dtype else x.to(dtype)
    return Tensor._constant(np.asarray(x, dtype=dtype))


def as_tensor(x) -> "Tensor":
    return x if isinstance(x, Tensor) else Tensor(x)


def index_arrays(index):
    """An index for NumPy: index tensors become (copies of) their arrays, so changing them later changes nothing."""
    if isinstance(index, Tensor):
        return index.data.copy()
    if isinstance(index, tuple):
        return tuple(i.data.copy() if isinstance(i, Tensor) else i for i in index)
    return index
