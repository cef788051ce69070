"""tg.einsum: sums of products over subscripts, against np.einsum, finite differences and PyTorch."""

from __future__ import annotations

import numpy as np
import pytest

import tinygrad_edu as tg
from tinygrad_edu import testing

CASES = {  # equation: shapes of the operands
    "ij,jk->ik": [(2, 3), (3, 4)],
    "ij,kj": [(2, 3), (4, 3)],  # implicit output: ik
    "bi,bi->b": [(3, 4), (3, 4)],
    "ii->": [(3, 3)],
    "ii->i": [(3, 3)],
    "ij->": [(2, 3)],
    "i,j->ij": [(2,), (3,)],
    "ij,j->j": [(2, 3), (3,)],  # i in the first operand alone
    "...ij,...jk->...ik": [(2, 2, 3), (2, 3, 4)],
    "b i j , b j -> b i": [(2, 3, 4), (2, 4)],
    "iij,jk->ik": [(2, 2, 3), (3, 2)],
}


@pytest.mark.parametrize("equation", CASES)
def test_values_and_gradients(equation):
    shapes = CASES[equation]
    testing.check_op(lambda *xs: tg.einsum(equation, *xs), inputs=len(shapes), shapes=shapes, max_examples=10,
                     reference=lambda *xs: np.einsum(equation.replace(" ", ""), *xs))


def test_operands_as_a_list_and_wrong_ones_refused():
    a, b = tg.ones(2, 3), tg.ones(3, 4)
    assert tg.einsum("ij,jk->ik", [a, b]).tolist() == [[3.0] * 4] * 2
    with pytest.raises(ValueError, match="einsum: the equation 'ij,jk->ik' has 2 operands, 1 were given"):
        tg.einsum("ij,jk->ik", a)
    with pytest.raises(ValueError, match="einsum: subscripts 'ijk' for an operand with 2 dims"):
        tg.einsum("ijk->i", a)
    with pytest.raises(RuntimeError, match="einsum: the operands are float32 and float64"):
        tg.einsum("ij,jk->ik", a, b.double())


@pytest.mark.parametrize("equation", CASES)
def test_against_torch(agrees_with_torch, equation):
    rng = np.random.default_rng(0)
    arrays = [rng.normal(size=s) for s in CASES[equation]]
    agrees_with_torch(lambda lib, *xs: lib.einsum(equation, *xs), *arrays)
