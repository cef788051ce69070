"""Bitwise operators and shifts (& | ^ ~ << >>): the tensor's dtype is kept against a Python int, as in
PyTorch (NumPy widens int32 and uint8 to int64), checked against the rule and PyTorch."""

from __future__ import annotations

import numpy as np
import pytest

import tinygrad_edu as tg


@pytest.mark.parametrize("dtype", [np.int32, np.uint8, np.int64])
def test_a_python_int_keeps_the_tensors_dtype(dtype):
    x = tg.tensor(np.array([5, 12, 3], dtype=dtype))
    for out, expected in ((x & 6, [4, 4, 2]), (x | 1, [5, 13, 3]), (x ^ 3, [6, 15, 0]), (6 & x, [4, 4, 2]),
                          (x << 2, [20, 48, 12]), (x >> 1, [2, 6, 1])):
        assert out.dtype == dtype and out.tolist() == expected
    assert (x & tg.tensor(np.array([1, 1, 1], dtype=np.int64))).dtype == tg.int64  # two tensors: the wider type
    assert ((x > 4) & (x < 10)).tolist() == [True, False, False]


def test_shifts_refuse_floats_and_bools():
    with pytest.raises(TypeError, match="<< needs integer tensors"):
        tg.tensor([1.0]) << 1
    with pytest.raises(TypeError, match=">> needs integer tensors"):
        tg.tensor([True]) >> 1


@pytest.mark.parametrize("dtype", [np.int32, np.uint8, np.int64, np.bool_])
def test_against_torch(agrees_with_torch, dtype):
    a = np.array([5, 12, 3, 0]).astype(dtype)
    b = np.array([1, 7, 2, 9]).astype(dtype)
    codes = [lambda lib, x, y: x & y, lambda lib, x, y: x | 1, lambda lib, x, y: x ^ True, lambda lib, x, y: ~x,
             lambda lib, x, y: 3 | x]
    if dtype != np.bool_:
        codes += [lambda lib, x, y: x << 1, lambda lib, x, y: x >> 1, lambda lib, x, y: x & 255]
    for code in codes:
        agrees_with_torch(code, a, b)
