"""Grad modes nest: leaving an inner block restores the mode of the outer one, not a default."""

from __future__ import annotations

import numpy as np
import pytest

import tinygrad_edu as tg


def leaf(values) -> tg.Tensor:
    return tg.Tensor(np.array(values, dtype=np.float64), requires_grad=True)


def test_nested_no_grad_blocks_restore_the_previous_mode():
    x = leaf([1.0, 2.0])
    with tg.no_grad():
        with tg.no_grad():
            assert not tg.is_grad_enabled()
        assert not tg.is_grad_enabled()  # still inside the outer block
        y = x * 2.0
    assert not y.requires_grad
    assert tg.is_grad_enabled() and (x * 2.0).requires_grad


def test_a_no_grad_function_called_inside_a_no_grad_block_leaves_it_off():
    @tg.no_grad()
    def evaluate(t):
        return t * 2.0

    x = leaf([1.0])
    with tg.no_grad():
        evaluate(x)
        assert not (x * 3.0).requires_grad
    assert (x * 3.0).requires_grad


def test_no_grad_restores_the_mode_when_the_block_raises():
    with pytest.raises(KeyError):
        with tg.no_grad():
            raise KeyError("boom")
    assert tg.is_grad_enabled()


def test_nested_detect_anomaly_blocks_keep_checking_until_the_outer_one_ends():
    def nan_gradient():
        x = leaf([0.0])
        with np.errstate(divide="ignore"):
            y = x.log().sum()
            y.backward()

    with tg.detect_anomaly():
        with tg.detect_anomaly():
            pass
        with pytest.raises(FloatingPointError, match="Log"):
            nan_gradient()
    nan_gradient()  # outside: no check, no error
