"""Dataset, TensorDataset and DataLoader: every example once per epoch, in Tensors, reshuffled, repeatable."""

from __future__ import annotations

import re
from fractions import Fraction

import numpy as np
import pytest

import tinygrad_edu as tg
from tinygrad_edu.data import DataLoader, Dataset, TensorDataset, batches

X = np.arange(23 * 3, dtype=np.float32).reshape(23, 3)
Y = np.arange(23, dtype=np.int64) * 10


def epoch(loader):
    return [(x.numpy(), y.numpy()) for x, y in loader]


def test_tensor_dataset_reads_its_arrays_together():
    data = TensorDataset(X, tg.Tensor(Y))
    assert len(data) == 23
    x, y = data[4]
    assert isinstance(x, tg.Tensor) and isinstance(y, tg.Tensor)
    np.testing.assert_array_equal(x.numpy(), X[4])
    assert y.item() == 40
    with pytest.raises(ValueError, match=r"same first dimension, got shapes \[\(23, 3\), \(22,\)\]"):
        TensorDataset(X, Y[:-1])


def test_by_default_a_loader_hands_out_one_example_at_a_time_in_order():
    """PyTorch's defaults: batch_size=1, no shuffling; a dataset of single values gives single Tensors."""
    batches = list(DataLoader(Items([1.5, 2.5, 3.5])))
    assert len(batches) == 3 and all(isinstance(b, tg.Tensor) for b in batches)
    assert [b.numpy().tolist() for b in batches] == [[1.5], [2.5], [3.5]]
    assert len(DataLoader(TensorDataset(X, Y))) == 23


def test_tensor_dataset_refuses_no_arrays_and_0d_arrays():
    with pytest.raises(ValueError, match="^TensorDataset needs at least one array$"):
        TensorDataset()
    for arrays in [(np.array(5.0),), (X, np.float32(1))]:  # a 0-d array has no examples to index
        shapes = re.escape(str([np.shape(a) for a in arrays]))
        with pytest.raises(ValueError, match=f"every array needs the same first dimension, got shapes {shapes}"):
            TensorDataset(*arrays)


@pytest.mark.parametrize("batch_size, drop_last, sizes", [(5, False, [5, 5, 5, 5, 3]), (5, True, [5, 5, 5, 5]),
                                                          (23, False, [23]), (1, False, [1] * 23), (30, True, [])])
def test_batches_in_order_cover_every_example_once(batch_size, drop_last, sizes):
    loader = DataLoader(TensorDataset(X, Y), batch_size=batch_size, drop_last=drop_last)
    assert len(loader) == len(sizes)
    got = epoch(loader)
    assert [len(y) for _, y in got] == sizes
    if sizes:
        np.testing.assert_array_equal(np.concatenate([y for _, y in got]), Y[: sum(sizes)])
        assert got[0][0].dtype == np.float32 and got[0][1].dtype == np.int64


def test_shuffling_changes_every_epoch_and_repeats_from_a_seed():
    def two_epochs(generator):
        loader = DataLoader(TensorDataset(X, Y), batch_size=4, shuffle=True, generator=generator)
        return [np.concatenate([y for _, y in epoch(loader)]) for _ in range(2)]

    first, second = two_epochs(np.random.default_rng(3))
    assert sorted(first) == sorted(second) == list(Y)  # each epoch: every example once
    assert not np.array_equal(first, second)  # a new order every epoch
    again = two_epochs(np.random.default_rng(3))
    np.testing.assert_array_equal(again[0], first)
    np.testing.assert_array_equal(again[1], second)
    tg.manual_seed(11)  # without a generator: the engine's default one
    seeded = two_epochs(None)
    tg.manual_seed(11)
    np.testing.assert_array_equal(two_epochs(None)[1], seeded[1])
    for x, y in DataLoader(TensorDataset(X, Y), batch_size=4, shuffle=True, generator=np.random.default_rng(0)):
        np.testing.assert_array_equal(x.numpy()[:, 0] / 3 * 10, y.numpy())  # rows stay with their labels


def test_the_same_generator_gives_the_order_of_batches():
    """A loader and the lecture's `batches` agree for the same generator state: the demos can use either."""
    loader = DataLoader(TensorDataset(X, Y), batch_size=5, shuffle=True, generator=np.random.default_rng(8))
    for (x, y), (xb, yb) in zip(loader, batches(X, Y, 5, shuffle=True, seed=np.random.default_rng(8))):
        np.testing.assert_array_equal(x.numpy(), xb)
        np.testing.assert_array_equal(y.numpy(), yb)


class Squares(Dataset):
    def __len__(self):
        return 7

    def __getitem__(self, i):
        return np.array([i, i * i], dtype=np.float64), i % 2, float(i) / 2


def test_a_dataset_of_your_own_is_collated_like_pytorchs():
    loader = DataLoader(Squares(), batch_size=3)
    assert len(loader) == 3
    features, parity, half = next(iter(loader))
    np.testing.assert_array_equal(features.numpy(), [[0, 0], [1, 1], [2, 4]])
    assert features.dtype == np.float64 and parity.dtype == np.int64 and half.dtype == np.float64
    np.testing.assert_array_equal(parity.numpy(), [0, 1, 0])
    np.testing.assert_array_equal(half.numpy(), [0.0, 0.5, 1.0])
    assert [len(p) for _, p, _ in loader] == [3, 3, 1]


def test_clear_errors():
    with pytest.raises(ValueError, match="batch_size must be a positive integer, got 2.5"):
        DataLoader(TensorDataset(X), batch_size=2.5)
    with pytest.raises(ValueError, match="got 0"):
        DataLoader(TensorDataset(X), batch_size=0)
    with pytest.raises(TypeError, match="numpy.random.Generator, got int"):
        DataLoader(TensorDataset(X), shuffle=True, generator=0)

    class Strings(Dataset):
        def __len__(self):
            return 2

        def __getitem__(self, i):
            return "text"

    with pytest.raises(TypeError, match="cannot batch examples of type str: a dataset item must be an array, a Tensor, "
                                        "a number, or a tuple of them"):
        list(DataLoader(Strings(), batch_size=2))
    with pytest.raises(NotImplementedError, match="must define __getitem__"):
        Dataset()[0]


def test_a_dataset_missing_a_method_names_itself_and_the_method():
    class Half(Dataset):
        pass

    with pytest.raises(NotImplementedError, match=r"^Half must define __getitem__\(self, index\) returning one example$"):
        Half()[0]
    with pytest.raises(NotImplementedError, match=r"^Half must define __len__\(self\)$"):
        len(Half())


class Items(Dataset):
    """The given examples, one per index."""

    def __init__(self, items):
        self.items = items

    def __len__(self):
        return len(self.items)

    def __getitem__(self, i):
        return self.items[i]


# Python numbers in a batch, and the dtype PyTorch's default_collate gives them: floats float64; otherwise
# torch.tensor(batch) decides from every example, float32 (the default float type) as soon as one is a float.
NUMBERS = [([True, False, True], np.bool_), ([3, -1, 2], np.int64), ([0.5, 2.0, -1.0], np.float64),
           ([1.5, 2, True], np.float64), ([0, 0.5, 2], np.float32), ([True, 0.5], np.float32),
           ([True, 2, 0], np.int64), ([2, np.float32(0.5)], np.float32), ([0.5, Fraction(1, 4)], np.float64)]


@pytest.mark.parametrize("values, dtype", NUMBERS)
def test_python_numbers_are_batched_in_pytorchs_dtype_and_keep_their_values(values, dtype):
    (batch,) = DataLoader(Items(values), batch_size=len(values))
    assert batch.dtype == dtype
    np.testing.assert_array_equal(batch.numpy(), np.array(values, dtype=np.float64))


@pytest.mark.parametrize("values", [[2**63], [2**63, 1], [-1, 2**63], [2**70, True]])
def test_python_ints_too_large_for_int64_are_an_error_as_in_pytorch(values):
    """torch.tensor refuses them (an overflow); NumPy left to itself would make uint64, float64 (rounding
    2**63 + 1 unseen) or an array of Python objects."""
    with pytest.raises(OverflowError, match="too large"):
        next(iter(DataLoader(Items(values), batch_size=len(values))))


def test_ints_mixed_with_other_numbers_are_not_rounded():
    (batch,) = DataLoader(Items([1, Fraction(1, 2), np.float16(0.25)]), batch_size=3)
    assert batch.dtype == np.float32
    np.testing.assert_array_equal(batch.numpy(), [1.0, 0.5, 0.25])


@pytest.mark.parametrize("values", [values for values, _ in NUMBERS])
def test_python_numbers_are_batched_like_pytorchs_default_collate(values):
    torch = pytest.importorskip("torch")
    expected = torch.utils.data.default_collate(values)
    (batch,) = DataLoader(Items(values), batch_size=len(values))
    assert batch.dtype == np.dtype(str(expected.dtype).removeprefix("torch."))
    np.testing.assert_array_equal(batch.numpy(), expected.numpy())
