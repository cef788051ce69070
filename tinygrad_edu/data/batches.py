"""Grouping examples into updates: the only difference between the lecture's descent variants."""

from __future__ import annotations

import numpy as np


def batches(X, y, batch_size: int, shuffle: bool = True, seed=None, drop_last: bool = False):
    """Yield ``(X_batch, y_batch)`` pairs that cover every example exactly once: one epoch.

    - ``batch_size=len(X)``: full-batch gradient descent, one update per epoch;
    - ``batch_size=1``: stochastic gradient descent, one example per update;
    - ``batch_size=m``: mini-batch SGD, m examples per update drawn without replacement.

    With ``shuffle`` the order is a fresh random permutation: call ``batches`` once per epoch to
    reshuffle every epoch. ``seed`` is anything ``numpy.random.default_rng`` takes: None (a new
    order every call), an int, a sequence such as ``[seed, epoch]`` (a different but reproducible
    order each epoch), or a ``Generator``, which is advanced. ``drop_last`` skips a final batch
    shorter than ``batch_size``.
    """
    if len(X) != len(y):
        raise ValueError(f"batches: X has {len(X)} examples but y has {len(y)}")
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)):
        raise TypeError(f"batches: batch_size must be an integer, got {batch_size!r} of type {type(batch_size).__name__}")
    if batch_size < 1:
        raise ValueError(f"batches: batch_size must be at least 1, got {batch_size}")
    order = np.random.default_rng(seed).permutation(len(X)) if shuffle else None
    return _batches(X, y, int(batch_size), order, drop_last)


def _batches(X, y, batch_size, order, drop_last):
    n = len(X)
    if batch_size >= n and not (drop_last and batch_size > n):
        # One batch holding every example: its averaged gradient does not depend on the order,
        # so skip copying the whole data set into a permuted order.
        yield X, y
        return
    stop = n - n % batch_size if drop_last else n
    for start in range(0, stop, batch_size):
        if order is None:
            yield X[start:start + batch_size], y[start:start + batch_size]
        else:
            index = order[start:start + batch_size]
            yield X[index], y[index]
