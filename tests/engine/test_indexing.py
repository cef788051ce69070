"""Indexing as PyTorch reads it, where NumPy reads it differently: integers mixed with index arrays.

PyTorch applies the integers first (each removes its dim, as in basic indexing), then the index
arrays, by NumPy's rule on what is left: the dims they select replace theirs where the arrays are
next to each other, and go first where slices separate them. NumPy instead counts an integer as one
of the arrays, so ``t[0, :, [0, 1, 2]]`` puts the selected dim first, transposing the result. Reading,
gradients and assignment are checked against that rule written out in NumPy, and against PyTorch.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import tinygrad_edu as tg

SHAPE = (2, 3, 4, 5)
VALUES = np.arange(np.prod(SHAPE), dtype=np.float64).reshape(SHAPE)


def integers_first(array, index):
    """PyTorch's rule in NumPy: the integers as a basic index (a view), then the rest of the index.
    Without index lists among the parts, NumPy's reading is PyTorch's."""
    if not any(isinstance(p, list) for p in index):
        return array[index]
    first = tuple(p if isinstance(p, int) else Ellipsis if p is Ellipsis else slice(None)
                  for p in index if p is not None)
    return array[first][tuple(p for p in index if not isinstance(p, int))]


def test_an_integer_and_a_list_apart_keep_the_order_of_the_dims():
    t = tg.tensor(VALUES)
    np.testing.assert_array_equal(t[0, :, [0, 1, 3]].numpy(), VALUES[0][:, [0, 1, 3]])
    assert t[0, :, [0, 1, 3]].shape == VALUES[0, :, [0, 1, 3]].shape == (3, 3, 5)  # the same shape...
    assert not np.array_equal(t[0, :, [0, 1, 3]].numpy(), VALUES[0, :, [0, 1, 3]])  # ...transposed in NumPy
    assert t[0, :, [0, 1]].shape == (3, 2, 5) and VALUES[0, :, [0, 1]].shape == (2, 3, 5)
    np.testing.assert_array_equal(t[1, :, [2, 0], 4].numpy(), VALUES[1, :, :, 4][:, [2, 0]])
    np.testing.assert_array_equal(t[[0, 1], 2, :, [1, 1]].numpy(), VALUES[:, 2][[0, 1], :, [1, 1]])


@st.composite
def mixed_indexes(draw):
    """Index tuples of integers, slices, index lists (of 1 or 3 entries: they broadcast), None and ..."""
    dims = draw(st.integers(1, len(SHAPE)))
    length = draw(st.sampled_from([1, 3]))
    parts = []
    for size in SHAPE[:dims]:
        kind = draw(st.sampled_from(["int", "slice", "list"]))
        if kind == "int":
            parts.append(draw(st.integers(-size, size - 1)))
        elif kind == "slice":
            parts.append(slice(draw(st.integers(0, size - 1)), None, draw(st.sampled_from([1, 2]))))
        else:
            parts.append(draw(st.lists(st.integers(-size, size - 1), min_size=length, max_size=length)))
    if draw(st.booleans()):
        parts.insert(draw(st.integers(0, len(parts))), None)
    if dims < len(SHAPE) and draw(st.booleans()):
        parts.insert(draw(st.integers(0, len(parts))), Ellipsis)
    return tuple(parts)


@given(index=mixed_indexes())
def test_reading_follows_the_integers_first_rule(index):
    t = tg.tensor(VALUES, requires_grad=True)
    out = t[index]
    expected = integers_first(VALUES, index)
    np.testing.assert_array_equal(out.numpy(), expected)
    weights = np.arange(out.numel(), dtype=np.float64).reshape(out.shape)
    (out * tg.tensor(weights)).sum().backward()
    grad = np.zeros(SHAPE)
    np.add.at(grad.reshape(-1), integers_first(np.arange(grad.size).reshape(SHAPE), index).reshape(-1),
              weights.reshape(-1))
    np.testing.assert_array_equal(t.grad.numpy(), grad)


@given(index=mixed_indexes())
def test_assignment_writes_where_reading_reads(index):
    t = tg.tensor(VALUES.copy())
    shape = integers_first(VALUES, index).shape
    new = -1.0 - np.arange(int(np.prod(shape))).reshape(shape)
    t[index] = tg.tensor(new)
    expected = VALUES.copy()
    flat = integers_first(np.arange(expected.size).reshape(SHAPE), index)  # where each written value goes
    expected.reshape(-1)[np.ravel(flat)] = np.ravel(new)
    np.testing.assert_array_equal(t.numpy(), expected)


def test_assignment_gives_gradients_to_the_value_written_and_to_what_was_kept():
    base = tg.tensor(VALUES, requires_grad=True)
    v = tg.tensor(np.ones((3, 2)), requires_grad=True)
    t = base * 1.0
    t[0, :, [1, 3], 2] = v * 2.0
    (t * tg.tensor(VALUES)).sum().backward()
    np.testing.assert_array_equal(v.grad.numpy(), 2 * VALUES[0, :, :, 2][:, [1, 3]])
    expected = VALUES.copy()
    expected[0, :, :, 2][:, [1, 3]] = 0
    np.testing.assert_array_equal(base.grad.numpy(), expected)


def test_a_0d_integer_tensor_counts_as_an_integer_as_in_pytorch():
    t = tg.tensor(VALUES)
    np.testing.assert_array_equal(t[tg.tensor(1), :, [0, 2]].numpy(), VALUES[1][:, [0, 2]])


def test_a_mask_with_an_integer():
    t = tg.tensor(VALUES)
    mask = np.array([True, False, True])
    np.testing.assert_array_equal(t[1, mask].numpy(), VALUES[1][mask])
    np.testing.assert_array_equal(t[1, :, 2, [True, False, True, True, False]].numpy(),
                                  VALUES[1, :, 2][:, [True, False, True, True, False]])


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])  # the fixture is a pure function
@given(index=mixed_indexes())
def test_against_torch(agrees_with_torch, index):
    agrees_with_torch(lambda lib, t: t[index], VALUES)

    def assign(lib, t):
        out = t * 1.0
        shape = integers_first(VALUES, index).shape
        out[index] = lib.tensor(-np.arange(int(np.prod(shape)), dtype=np.float64).reshape(shape))
        return out

    agrees_with_torch(assign, VALUES)
