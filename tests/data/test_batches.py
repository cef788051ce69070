"""batches(): every example once per epoch, reproducible orders, and the three descent variants."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tinygrad_edu.data import batches


def epoch(n, batch_size, **options):
    X = np.arange(n, dtype=np.float32)[:, None] * np.ones((1, 3), dtype=np.float32)
    y = np.arange(n)
    return list(batches(X, y, batch_size, **options))


@given(n=st.integers(1, 60), batch_size=st.integers(1, 70), shuffle=st.booleans(), seed=st.integers(0, 100))
def test_every_example_is_visited_exactly_once_per_epoch(n, batch_size, shuffle, seed):
    pairs = epoch(n, batch_size, shuffle=shuffle, seed=seed)
    labels = np.concatenate([y for _, y in pairs])
    assert sorted(labels.tolist()) == list(range(n))
    for X_batch, y_batch in pairs:
        np.testing.assert_array_equal(X_batch[:, 0], y_batch)  # images stay with their labels
    sizes = [len(y) for _, y in pairs]
    assert all(size == batch_size for size in sizes[:-1]) and 1 <= sizes[-1] <= batch_size


@given(n=st.integers(1, 60), batch_size=st.integers(1, 70))
def test_drop_last_keeps_only_full_batches(n, batch_size):
    pairs = epoch(n, batch_size, drop_last=True)
    assert len(pairs) == n // batch_size
    assert all(len(y) == batch_size for _, y in pairs)


def test_the_same_seed_gives_the_same_order_and_epochs_differ():
    order = lambda seed: np.concatenate([y for _, y in epoch(100, 7, seed=seed)])  # noqa: E731
    np.testing.assert_array_equal(order(5), order(5))
    assert not np.array_equal(order([5, 0]), order([5, 1]))  # seed [seed, epoch]: reshuffled each epoch
    assert not np.array_equal(order(None), order(None))
    rng = np.random.default_rng(0)
    first, second = (np.concatenate([y for _, y in batches(np.zeros((50, 1)), np.arange(50), 10, seed=rng)])
                     for _ in range(2))
    assert not np.array_equal(first, second)  # a Generator is advanced, so each epoch differs


def test_the_three_descent_variants():
    assert len(epoch(60, 60)) == 1  # full-batch gradient descent: one update per epoch
    assert len(epoch(60, 1)) == 60  # stochastic gradient descent: one example per update
    assert len(epoch(60, 10)) == 6  # mini-batch SGD


def test_without_shuffle_batches_come_in_order():
    labels = [y.tolist() for _, y in epoch(5, 2, shuffle=False)]
    assert labels == [[0, 1], [2, 3], [4]]


def test_bad_arguments_are_refused_at_the_call():
    with pytest.raises(ValueError, match="^batches: X has 3 examples but y has 2$"):
        batches(np.zeros((3, 1)), np.zeros(2), 1)
    with pytest.raises(ValueError, match="^batches: batch_size must be at least 1, got 0$"):
        batches(np.zeros((3, 1)), np.zeros(3), 0)


@pytest.mark.parametrize("batch_size", [2.5, 2.0, "10", True, None])
def test_a_batch_size_that_is_not_an_integer_is_refused_not_rounded(batch_size):
    X, y = np.zeros((6, 2)), np.zeros(6)
    with pytest.raises(TypeError) as err:
        batches(X, y, batch_size)
    assert str(err.value) == f"batches: batch_size must be an integer, got {batch_size!r} of type {type(batch_size).__name__}"


def test_a_numpy_integer_batch_size_is_an_integer():
    X, y = np.arange(6).reshape(6, 1), np.arange(6)
    assert [len(b) for b, _ in batches(X, y, np.int64(4), shuffle=False)] == [4, 2]


@pytest.mark.parametrize("batch_size, drop_last", [(6, False), (6, True), (9, False)])
def test_one_batch_of_everything_is_the_data_set_itself_in_its_own_order(batch_size, drop_last):
    """Full-batch descent averages over every example, so the order is irrelevant: no shuffled copy is made."""
    X, y = np.arange(12.0).reshape(6, 2), np.arange(6)
    ((X_batch, y_batch),) = batches(X, y, batch_size, shuffle=True, seed=0, drop_last=drop_last)
    assert X_batch is X and y_batch is y
