"""Data for the lecture, with NumPy only: MNIST and Fashion-MNIST, batching, and ways to look at them.

    idx.py       read_idx: the IDX file format; DataError
    datasets.py  load_mnist, load_fashion_mnist: find, verify, download, cache
    batches.py   batches: full-batch, stochastic and mini-batch descent in one function
    view.py      render_digit, random_labels, shuffle_pixels
    loader.py    Dataset, TensorDataset, DataLoader: PyTorch's batching, handing out Tensors
"""

from .batches import batches
from .datasets import cache_dir, load_fashion_mnist, load_mnist
from .idx import DataError, read_idx
from .loader import DataLoader, Dataset, TensorDataset
from .view import random_labels, render_digit, shuffle_pixels

__all__ = ["DataError", "DataLoader", "Dataset", "TensorDataset", "batches", "cache_dir", "load_fashion_mnist", "load_mnist", "random_labels",
           "read_idx", "render_digit", "shuffle_pixels"]
