"""PyTorch's way to feed a training loop: a `Dataset` of examples and a `DataLoader` that batches them.

``batches()`` is the lecture's simplest form of the same thing. This file is the one part of
``data/`` that knows the engine: a loader hands out Tensors, ready for the model.
"""

from __future__ import annotations

from numbers import Integral, Number

import numpy as np

from ..creation import randperm
from ..tensor import Tensor


class Dataset:
    """Examples by position: ``dataset[i]`` is one example (e.g. an ``(image, label)`` pair), ``len(dataset)`` how many."""

    def __getitem__(self, index):
        raise NotImplementedError(f"{type(self).__name__} must define __getitem__(self, index) returning one example")

    def __len__(self) -> int:
        raise NotImplementedError(f"{type(self).__name__} must define __len__(self)")


class TensorDataset(Dataset):
    """Arrays (or Tensors) of equal length, read together: ``dataset[i]`` is ``(X[i], y[i], ...)``.

    ``TensorDataset(X, y)`` with the arrays ``load_mnist`` returns is MNIST as a dataset.
    """

    def __init__(self, *tensors):
        if not tensors:
            raise ValueError("TensorDataset needs at least one array")
        self.arrays = tuple(np.asarray(t) for t in tensors)  # a Tensor converts through __array__
        lengths = [len(a) if a.ndim else None for a in self.arrays]
        if None in lengths or len(set(lengths)) != 1:
            raise ValueError(f"TensorDataset: every array needs the same first dimension, got shapes "
                             f"{[a.shape for a in self.arrays]}")

    def __getitem__(self, index):
        return tuple(Tensor(a[index]) for a in self.arrays)

    def __len__(self) -> int:
        return len(self.arrays[0])


class DataLoader:
    """Iterate over a dataset in batches of Tensors: ``for X, y in DataLoader(dataset, batch_size=10, shuffle=True)``.

    Each pass (epoch) covers every example once. With ``shuffle`` the order is a new random
    permutation every epoch, drawn from ``generator`` (a ``numpy.random.Generator``) or else the
    engine's default generator, which ``tinygrad_edu.manual_seed`` seeds: a seeded run repeats.
    The last batch may be smaller, unless ``drop_last``. ``len(loader)`` is the number of batches.
    """

    def __init__(self, dataset, batch_size: int = 1, shuffle: bool = False, drop_last: bool = False,
                 generator: np.random.Generator | None = None):
        if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
            raise ValueError(f"DataLoader: batch_size must be a positive integer, got {batch_size!r}")
        if generator is not None and not isinstance(generator, np.random.Generator):
            raise TypeError(f"DataLoader: generator must be a numpy.random.Generator, got {type(generator).__name__}")
        self.dataset, self.batch_size, self.shuffle = dataset, int(batch_size), bool(shuffle)
        self.drop_last, self.generator = bool(drop_last), generator

    def __len__(self) -> int:
        n = len(self.dataset)
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)

    def __iter__(self):
        n = len(self.dataset)
        order = randperm(n, generator=self.generator).numpy() if self.shuffle else np.arange(n)
        stop = n - n % self.batch_size if self.drop_last else n
        for start in range(0, stop, self.batch_size):
            yield self._fetch(order[start:start + self.batch_size])

    def _fetch(self, indices):
        if isinstance(self.dataset, TensorDataset):  # one fancy index per array, not one lookup per example
            fields = tuple(a[indices] for a in self.dataset.arrays)
        else:
            fields = collate([self.dataset[int(i)] for i in indices])
        return tuple(Tensor(f) for f in fields) if isinstance(fields, tuple) else Tensor(fields)


def collate(examples: list):
    """Stack examples into a batch: a list of ``(x, y)`` pairs becomes ``(X, Y)`` with a new first dimension.

    Python numbers become the arrays PyTorch's collate makes of them: floats float64; ints int64 and
    bools bool, but float32 (the default float type) when ints or bools are mixed with other numbers,
    and int64 when bools are mixed with ints. Arrays and Tensors keep their dtype.
    """
    first = examples[0]
    if isinstance(first, (tuple, list)):
        return tuple(collate([example[i] for example in examples]) for i in range(len(first)))
    for example in examples:  # every one, not just the first: NumPy would turn "2.5" into 2.5 and None into NaN
        kind = np.asarray(example).dtype.kind if isinstance(example, (np.ndarray, np.generic)) else None
        if not isinstance(example, (Number, np.ndarray, np.generic, Tensor)) or kind not in (None, *"biufc"):
            raise TypeError(f"DataLoader cannot batch examples of type {type(example).__name__}"
                            f"{f' of {example.dtype}' if kind else ''}: a dataset item must be an array, a Tensor, "
                            "a number, or a tuple of them")
    if isinstance(first, float):
        return np.array(examples, dtype=np.float64)
    if isinstance(first, int):  # bool is an int too; like torch.tensor(batch), every example decides the dtype
        if not all(isinstance(e, Integral) for e in examples):
            return np.array(examples, dtype=np.float32)  # not int64, which would cut 0.5 down to 0 unseen
        return np.array(examples, dtype=bool if all(isinstance(e, bool) for e in examples) else np.int64)
    return np.stack([np.asarray(e) for e in examples])  # a Tensor converts through __array__, keeping its dtype
