"""Rearranging, selecting and scattering elements (repeat, split, chunk, sort, topk, roll, flip,
tril/triu, diagonal, masked_fill, repeat_interleave, scatter/scatter_add, index_select, nonzero):
values against NumPy formulas, gradients against finite differences (`testing.check_op`), and the
same code against PyTorch where it is installed."""

from __future__ import annotations

import numpy as np
import pytest

import tinygrad_edu as tg
from tinygrad_edu import testing


def ties(x):
    """sort, topk: where two values tie their order (and so the gradient's place) is a matter of chance."""
    flat = np.sort(np.ravel(x))
    return np.diff(flat) < 1e-3


ROW = [testing.shapes(2, 2).map(lambda s: (s[0], s[1] + 1))]  # matrices with at least 2 columns
CASES = {
    "repeat": (lambda x: x.repeat(2, 1, 3), lambda x: np.tile(x, (2, 1, 3)), dict(max_dims=3)),
    "split": (lambda x: x.split(2, dim=-1)[-1], lambda x: np.split(x, range(2, x.shape[-1], 2), axis=-1)[-1],
              dict(min_dims=1)),
    "split by sizes": (lambda x: tg.cat(x.split([1, x.shape[0] - 1])[::-1]), lambda x: np.roll(x, -1, axis=0),
                       dict(min_dims=1)),
    "chunk": (lambda x: x.chunk(2, dim=0)[0], lambda x: x[: -(-x.shape[0] // 2)], dict(min_dims=1)),
    "sort": (lambda x: x.sort(dim=-1).values, lambda x: np.sort(x, axis=-1), dict(min_dims=1, kinks=ties)),
    "sort descending": (lambda x: x.sort(dim=0, descending=True)[0], lambda x: -np.sort(-x, axis=0),
                        dict(min_dims=1, kinks=ties)),
    "topk": (lambda x: x.topk(2, dim=-1).values, lambda x: -np.sort(-x, axis=-1)[..., :2],
             dict(shapes=ROW, kinks=ties)),
    "topk smallest": (lambda x: x.topk(1, largest=False).values, lambda x: x.min(-1, keepdims=True),
                      dict(min_dims=1, kinks=ties)),
    "roll": (lambda x: x.roll(1, dims=-1), lambda x: np.roll(x, 1, axis=-1), dict(min_dims=1)),
    "roll two dims": (lambda x: x.roll((-1, 2), dims=(0, 1)), lambda x: np.roll(x, (-1, 2), axis=(0, 1)),
                      dict(min_dims=2)),
    "roll flat": (lambda x: x.roll(2), lambda x: np.roll(x, 2), {}),
    "flip": (lambda x: x.flip(0), lambda x: x[::-1], dict(min_dims=1)),
    "flip two dims": (lambda x: x.flip((0, -1)), lambda x: x[::-1, ..., ::-1], dict(min_dims=2)),
    "tril": (lambda x: x.tril(), np.tril, dict(min_dims=2)),
    "triu above": (lambda x: x.triu(1), lambda x: np.triu(x, 1), dict(min_dims=2)),
    "diagonal": (lambda x: x.diagonal(), lambda x: np.diagonal(x).copy(), dict(min_dims=2)),
    "diagonal offset": (lambda x: x.diagonal(-1, 1, -1), lambda x: np.diagonal(x, -1, 1, -1).copy(),
                        dict(min_dims=3)),
    "masked_fill": (lambda x: x.masked_fill(x.detach() > 1, 0.5), lambda x: np.where(x > 1, 0.5, x), dict(kinks=[1])),
    "repeat_interleave": (lambda x: x.repeat_interleave(2), lambda x: np.repeat(x, 2), {}),
    "repeat_interleave dim": (lambda x: x.repeat_interleave(np.arange(x.shape[0]) % 3, dim=0),
                              lambda x: np.repeat(x, np.arange(x.shape[0]) % 3, axis=0), dict(min_dims=1)),
    "index_select": (lambda x: x.index_select(-1, [0, 0, x.shape[-1] - 1]),
                     lambda x: x[..., [0, 0, x.shape[-1] - 1]], dict(min_dims=1)),
    "narrow": (lambda x: x.narrow(0, 1, x.shape[0] - 1), lambda x: x[1:], dict(min_dims=1)),
    "unbind": (lambda x: x.unbind(-1)[0], lambda x: x[..., 0], dict(min_dims=1)),
}


@pytest.mark.parametrize("name", CASES)
def test_values_and_gradients(name):
    method, reference, options = CASES[name]
    testing.check_op(method, reference=reference, max_examples=10, **options)


INDEX = np.array([[0, 2, 1], [1, 1, 0]])  # row 1 writes to place 1 twice: scatter_add adds both
UNIQUE = np.array([[0, 2, 1], [1, 0, 2]])  # scatter writes one of the two, and which one is a matter of chance


def scatter_np(a, src, index, add):
    out = a.copy()
    for i in range(index.shape[0]):
        for j in range(index.shape[1]):
            if add:
                out[i, index[i, j]] += src[i, j]
            else:
                out[i, index[i, j]] = src[i, j]
    return out


@pytest.mark.parametrize("add", [False, True])
def test_scatter_and_scatter_add(add):
    index = INDEX if add else UNIQUE

    def op(a, src):
        return a.scatter_add(1, tg.tensor(index), src) if add else a.scatter(1, tg.tensor(index), src)

    testing.check_op(op, inputs=2, shapes=[(2, 3), (2, 4)], max_examples=10,
                     reference=lambda a, src: scatter_np(a, src, index, add))


def test_scatter_takes_a_number_and_refuses_another_dtype():
    a = tg.zeros(2, 3)
    assert a.scatter(1, tg.tensor(INDEX[:, :1]), 7.0).tolist() == [[7, 0, 0], [0, 7, 0]]
    with pytest.raises(RuntimeError, match="scatter: src is float64 but the tensor is float32"):
        a.scatter(1, tg.tensor(INDEX), tg.tensor(np.ones((2, 3))))
    with pytest.raises(IndexError, match=r"index values must lie in \[0, 3\)"):
        a.scatter(1, tg.tensor([[3]]), 1.0)


def test_sort_and_topk_give_indices_too():
    x = tg.tensor([[3.0, 1.0, 2.0, 1.0]])
    values, indices = x.sort()
    assert values.tolist() == [[1, 1, 2, 3]] and indices.tolist() == [[1, 3, 2, 0]]  # ties keep their order
    assert x.sort(descending=True).indices.tolist() == [[0, 2, 1, 3]] and x.argsort(dim=1).tolist() == [[1, 3, 2, 0]]
    top = x.topk(2)
    assert top.values.tolist() == [[3, 2]] and top.indices.tolist() == [[0, 2]]
    with pytest.raises(RuntimeError, match="topk: k = 5 is more than the 4 elements along dim -1"):
        x.topk(5)
    u = tg.tensor(np.array([3, 250, 7], dtype=np.uint8))
    assert u.sort(descending=True).values.tolist() == [250, 7, 3]


def test_sorting_down_puts_nan_first_keeps_ties_in_order_and_does_not_wrap_the_smallest_integer():
    # PyTorch's order: NaN counts as the largest value; sorting -x instead put it last and made -min(int64) wrap
    x = tg.tensor([[1.0, np.nan, 3.0, 2.0, 3.0], [0.0, -np.inf, np.inf, 0.0, np.nan]], dtype=tg.float64)
    values, indices = x.sort(dim=1, descending=True)
    assert indices.tolist() == [[1, 2, 4, 3, 0], [4, 2, 0, 3, 1]]  # the two 3s and the two 0s keep their order
    assert np.array_equal(values.numpy(), np.take_along_axis(x.numpy(), indices.numpy(), 1), equal_nan=True)
    assert x.topk(1, dim=1).indices.tolist() == [[1], [4]] and x[1].topk(2).indices.tolist() == [4, 2]
    assert x.sort(dim=0, descending=True).indices.tolist() == [[0, 0, 1, 0, 1], [1, 1, 0, 1, 0]]
    smallest = np.iinfo(np.int64).min
    assert tg.tensor(np.array([smallest, 0, 5])).sort(descending=True).values.tolist() == [5, 0, smallest]
    big = np.array([2**64 - 1, 1, 2**63], dtype=np.uint64)
    assert tg.tensor(big).argsort(descending=True).tolist() == [0, 2, 1]


def test_nonzero_split_and_chunk():
    x = tg.tensor([[0.0, 1.5], [2.0, 0.0]])
    assert x.nonzero().tolist() == [[0, 1], [1, 0]] and x.nonzero().dtype == tg.int64
    assert [t.tolist() for t in x.nonzero(as_tuple=True)] == [[0, 1], [1, 0]]
    assert [t.shape for t in tg.arange(5).split(2)] == [(2,), (2,), (1,)]
    assert [t.shape for t in tg.arange(5).chunk(3)] == [(2,), (2,), (1,)]
    with pytest.raises(RuntimeError, match=r"split: the sizes \[2, 2\] add up to 4, not to the 5 of dim 0"):
        tg.arange(5).split([2, 2])


def test_diagonal_is_a_read_only_view_as_numpy_gives_it():
    x = tg.tensor(np.arange(9.0).reshape(3, 3))
    d = x.diagonal()
    with tg.no_grad():
        x.add_(1)
    assert d.tolist() == [1.0, 5.0, 9.0]  # a view, as in PyTorch: it sees the change
    with pytest.raises(RuntimeError, match="read-only"):
        d.add_(1)  # PyTorch would change x through it; here that is refused, never silently not done


RNG = np.random.default_rng(3)
A = RNG.normal(size=(3, 4))
T = RNG.normal(size=(2, 3, 4))
TORCH_CASES = [
    lambda lib, x: x.repeat(2, 1, 2), lambda lib, x: x.split(3, dim=1), lambda lib, x: x.split([1, 3], dim=1),
    lambda lib, x: x.chunk(3, dim=1), lambda lib, x: x.sort(dim=1), lambda lib, x: x.sort(dim=0, descending=True),
    lambda lib, x: x.topk(2), lambda lib, x: x.topk(2, dim=0, largest=False), lambda lib, x: x.roll(1, 1),
    lambda lib, x: x.roll((1, -2), (0, 1)), lambda lib, x: x.roll(5), lambda lib, x: x.flip(0),
    lambda lib, x: x.flip((0, 1)), lambda lib, x: x.tril(), lambda lib, x: x.triu(-1), lambda lib, x: x.tril(2),
    lambda lib, x: x.diagonal(), lambda lib, x: x.diagonal(1), lambda lib, x: x.diagonal(-1),
    lambda lib, x: x.masked_fill(x > 0, -1.0), lambda lib, x: x.repeat_interleave(2, dim=1),
    lambda lib, x: x.repeat_interleave(2), lambda lib, x: x.repeat_interleave(lib.tensor([1, 0, 2]), dim=0),
    lambda lib, x: x.index_select(1, lib.tensor([3, 0, 0])), lambda lib, x: x.nonzero(),
    lambda lib, x: x.scatter(1, lib.tensor([[0, 1], [2, 3], [3, 0]]), x[:, :2] * 2),  # (a src larger than
    lambda lib, x: x.scatter_add(0, lib.tensor([[0, 1, 2, 0], [2, 2, 1, 0]]), x[:2]),  # index fails in PyTorch's backward)
    lambda lib, x: x.scatter(1, lib.tensor([[0], [2], [3]]), 5.0), lambda lib, x: x.narrow(1, 1, 2),
    lambda lib, x: x.unbind(1), lambda lib, x: x.argsort(dim=1, descending=True), lambda lib, x: x.T.tril(),
    lambda lib, x: lib.flip(x, [1]), lambda lib, x: lib.roll(x, 1, 0), lambda lib, x: lib.tril(x),
    lambda lib, x: lib.sort(x).values, lambda lib, x: lib.topk(x, 3).values,
]


@pytest.mark.parametrize("code", TORCH_CASES)
def test_against_torch(agrees_with_torch, code):
    agrees_with_torch(code, A)


def test_against_torch_in_3d(agrees_with_torch):
    for code in (lambda lib, x: x.diagonal(0, 1, 2), lambda lib, x: x.diagonal(1, -1, 0), lambda lib, x: x.tril(),
                 lambda lib, x: x.repeat(1, 2, 1, 1), lambda lib, x: x.flip(-1), lambda lib, x: x.sort(1).values):
        agrees_with_torch(code, T)
