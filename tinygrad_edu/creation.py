"""Making tensors: from data, filled with a value, in a range, or at random (one seedable generator).

Every random constructor draws from one NumPy generator, which `manual_seed` resets, unless a
``generator`` is passed: ``tg.randn(3, generator=np.random.default_rng(0))``.
"""

from __future__ import annotations

import numpy as np

from .dtypes import float32, int64, result_type
from .promotion import supported
from .tensor import Tensor, _shape_arg

_default_generator = np.random.default_rng()


def manual_seed(seed) -> np.random.Generator:
    """Reseed the generator the random constructors use when no ``generator`` is given.

    ``seed`` is anything ``numpy.random.default_rng`` takes: an int, a list of ints, a SeedSequence.
    """
    global _default_generator
    _default_generator = np.random.default_rng(seed)
    return _default_generator


def _generator(generator: np.random.Generator | None) -> np.random.Generator:
    return generator if generator is not None else _default_generator


def tensor(data, dtype=None, requires_grad: bool = False) -> Tensor:
    """A new tensor holding a copy of ``data`` (a number, nested list or NumPy array), as PyTorch's
    ``tensor()`` copies. Python floats become float32; NumPy arrays and scalars keep their dtype."""
    data = data.data if isinstance(data, Tensor) else data
    return Tensor(data.copy() if isinstance(data, np.ndarray) else data, dtype=dtype, requires_grad=requires_grad)


def from_numpy(array: np.ndarray) -> Tensor:
    """A tensor sharing ``array``'s memory (changes to one show in the other), keeping its dtype."""
    if not isinstance(array, np.ndarray):
        raise TypeError(f"from_numpy expects a NumPy array, got {type(array).__name__}; use tg.tensor for other data")
    return Tensor._constant(supported(array))


def _float(dtype):
    """The dtype asked for; None means the default float32, as in PyTorch (NumPy's would be float64)."""
    return float32 if dtype is None else dtype


def zeros(*shape, dtype=float32, requires_grad: bool = False) -> Tensor:
    return Tensor(np.zeros(_shape_arg(shape), dtype=_float(dtype)), requires_grad=requires_grad)


def ones(*shape, dtype=float32, requires_grad: bool = False) -> Tensor:
    return Tensor(np.ones(_shape_arg(shape), dtype=_float(dtype)), requires_grad=requires_grad)


def full(size, fill_value, dtype=None, requires_grad: bool = False) -> Tensor:
    """A tensor of shape ``size`` filled with ``fill_value``; the dtype follows the value (float → float32)."""
    dtype = result_type(fill_value) if dtype is None else dtype
    return Tensor(np.full(_shape_arg((size,)), fill_value, dtype=dtype), requires_grad=requires_grad)


def eye(n: int, m: int | None = None, dtype=float32, requires_grad: bool = False) -> Tensor:
    """The n×m identity matrix (ones on the diagonal)."""
    return Tensor(np.eye(n, m, dtype=_float(dtype)), requires_grad=requires_grad)


def arange(start, end=None, step=1, dtype=None, requires_grad: bool = False) -> Tensor:
    """Evenly spaced values in [start, end), like Python's range; integers unless a float is given."""
    if end is None:
        start, end = 0, start
    values = np.arange(start, end, step)
    if dtype is None and values.dtype.kind == "f":
        dtype = float32
    return Tensor(values, dtype=dtype, requires_grad=requires_grad)


def linspace(start, end, steps: int, dtype=float32, requires_grad: bool = False) -> Tensor:
    """``steps`` evenly spaced values from ``start`` to ``end``, both included (in a number type: as in
    PyTorch, bool is refused)."""
    if np.dtype(_float(dtype)) == np.bool_:
        raise TypeError("linspace: dtype bool is not supported (as in PyTorch): the values between start and end are "
                        "numbers; make them, then compare, e.g. tg.linspace(0, 1, 5) > 0.5")
    return Tensor(np.linspace(start, end, steps), dtype=_float(dtype), requires_grad=requires_grad)


def randn(*shape, generator: np.random.Generator | None = None, dtype=float32, requires_grad: bool = False) -> Tensor:
    """Samples of the standard normal N(0, 1); pass ``generator=np.random.default_rng(seed)`` to fix them."""
    return Tensor(_generator(generator).standard_normal(_shape_arg(shape), dtype=_float(dtype)), requires_grad=requires_grad)


def rand(*shape, generator: np.random.Generator | None = None, dtype=float32, requires_grad: bool = False) -> Tensor:
    """Samples of the uniform distribution on [0, 1)."""
    return Tensor(_generator(generator).random(_shape_arg(shape), dtype=_float(dtype)), requires_grad=requires_grad)


def randint(low, high=None, size=(), generator: np.random.Generator | None = None, dtype=int64) -> Tensor:
    """Random integers in [low, high) (in [0, low) when ``high`` is not given), as int64 by default."""
    if high is None:
        low, high = 0, low
    return Tensor(_generator(generator).integers(low, high, size=_shape_arg((size,))), dtype=dtype)


def randperm(n: int, generator: np.random.Generator | None = None, dtype=int64) -> Tensor:
    """A random ordering of 0, 1, ..., n − 1."""
    return Tensor(_generator(generator).permutation(n), dtype=dtype)


def zeros_like(t: Tensor, dtype=None, requires_grad: bool = False) -> Tensor:
    return zeros(t.shape, dtype=t.dtype if dtype is None else dtype, requires_grad=requires_grad)


def ones_like(t: Tensor, dtype=None, requires_grad: bool = False) -> Tensor:
    return ones(t.shape, dtype=t.dtype if dtype is None else dtype, requires_grad=requires_grad)


def full_like(t: Tensor, fill_value, dtype=None, requires_grad: bool = False) -> Tensor:
    return full(t.shape, fill_value, dtype=t.dtype if dtype is None else dtype, requires_grad=requires_grad)


def rand_like(t: Tensor, generator: np.random.Generator | None = None, dtype=None, requires_grad: bool = False) -> Tensor:
    return rand(t.shape, generator=generator, dtype=t.dtype if dtype is None else dtype, requires_grad=requires_grad)


def randn_like(t: Tensor, generator: np.random.Generator | None = None, dtype=None, requires_grad: bool = False) -> Tensor:
    return randn(t.shape, generator=generator, dtype=t.dtype if dtype is None else dtype, requires_grad=requires_grad)
