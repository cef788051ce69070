"""Dtype names, as in PyTorch (`tg.float32`), and PyTorch's rule for the dtype of a result.

The names are NumPy dtypes, so NumPy accepts them too. `result_type` is the one place that decides
what dtype an element-wise op between tensors, arrays and Python numbers produces.
"""

from __future__ import annotations

import numpy as np

float32, float64 = np.dtype(np.float32), np.dtype(np.float64)
int32, int64, uint8, bool_ = np.dtype(np.int32), np.dtype(np.int64), np.dtype(np.uint8), np.dtype(np.bool_)
FLOATS = (float32, float64)  # the dtypes gradients are defined for

_KIND_RANK = {"b": 0, "u": 1, "i": 1, "f": 2}  # bool < integer < float


def result_type(*operands) -> np.dtype:
    """The dtype of an element-wise op's result, by PyTorch's rule (NumPy's differs in places).

    The highest kind among the operands wins: bool < integer < float. Among the operands of that
    kind, the first of these groups that has any decides: tensors (or arrays) with dimensions, then
    0-d ones, then Python numbers (a float counts as float32, the default float type, an int as
    int64). So a 0-d float64 tensor does not make a float32 matrix float64, while an int matrix
    times 0.5 is float32, and float32 with float64 (both with dimensions) is float64.
    """
    groups = ([], [], [])  # dtypes of: tensors with dimensions, 0-d tensors, Python numbers
    for x in operands:
        if hasattr(x, "dtype") and hasattr(x, "ndim") and not isinstance(x, np.generic):  # a tensor or an array
            groups[0 if x.ndim else 1].append(x.dtype)
        else:
            groups[2].append(_number_dtype(x))
    kind = max(_KIND_RANK[d.kind] for group in groups for d in group)
    for group in groups:
        same_kind = [d for d in group if _KIND_RANK[d.kind] == kind]
        if same_kind:
            return np.result_type(*same_kind)


def _number_dtype(x) -> np.dtype:
    """The dtype a Python (or NumPy scalar) number counts as."""
    if isinstance(x, (bool, np.bool_)):
        return bool_
    if isinstance(x, (int, np.integer)):
        return int64
    if isinstance(x, (float, np.floating)):
        return float32
    if isinstance(x, (complex, np.complexfloating)):
        raise TypeError(f"complex numbers are not supported ({x!r}): tinygrad-edu computes with real numbers")
    raise TypeError(f"cannot combine a tensor with a {type(x).__name__}; make it a tensor first (tg.tensor(...))")
