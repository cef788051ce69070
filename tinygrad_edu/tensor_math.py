"""More of PyTorch's tensor API, with PyTorch's semantics: element-wise functions (sin ... erf),
rounding, pairwise maximum and minimum, %, //, products and running sums, tests for NaN.

`MathMethods` is mixed into `Tensor` (tensor.py). Each method calls one op of ops.py, or composes a
few (log₂ x = ln x / ln 2), so its gradient is the ops' own. Integer tensors given to a function
of real numbers (sin, erf, ...) are computed in the default float type, as in PyTorch.
"""

from __future__ import annotations

import functools
import math

import numpy as np

from . import ops, promotion
from .dtypes import int64
from .promotion import promote


def numpy_keywords(method):
    """Let ``method`` take NumPy's names for two of its arguments, as PyTorch does: ``axis`` for
    ``dim`` and ``keepdims`` for ``keepdim`` (``x.sum(axis=0, keepdims=True)``)."""

    @functools.wraps(method)
    def with_numpy_keywords(self, *args, **kwargs):
        for numpy_name, name in (("axis", "dim"), ("keepdims", "keepdim")):
            if numpy_name in kwargs:
                if name in kwargs:
                    raise TypeError(f"{method.__name__}() got both {name}= and {numpy_name}=, two names of one argument")
                kwargs[name] = kwargs.pop(numpy_name)
        return method(self, *args, **kwargs)

    return with_numpy_keywords


def _real_function(op):
    """The method applying element-wise ``op`` (integers computed as the default float type)."""

    def method(self):
        return op.apply(self._float())

    method.__doc__ = op.__doc__.split(";")[0].strip() + ", element by element (see ops." + op.__name__ + ")."
    return method


class MathMethods:
    """Mixed into `Tensor` (tensor.py): PyTorch's element-wise math, rounding and running sums."""

    __slots__ = ()

    # ------------------------------------------------------------------- functions of reals
    sin, cos, tan = _real_function(ops.Sin), _real_function(ops.Cos), _real_function(ops.Tan)
    asin, acos, atan = _real_function(ops.Asin), _real_function(ops.Acos), _real_function(ops.Atan)
    sinh, cosh = _real_function(ops.Sinh), _real_function(ops.Cosh)
    asinh, acosh, atanh = _real_function(ops.Asinh), _real_function(ops.Acosh), _real_function(ops.Atanh)
    arcsin, arccos, arctan, arcsinh, arccosh, arctanh = asin, acos, atan, asinh, acosh, atanh  # PyTorch's other names
    expm1, log1p, erf = _real_function(ops.Expm1), _real_function(ops.Log1p), _real_function(ops.Erf)

    def log2(self):
        """log₂ x = ln x / ln 2."""
        return self.log() / math.log(2)

    def log10(self):
        """log₁₀ x = ln x / ln 10."""
        return self.log() / math.log(10)

    def exp2(self):
        """2ˣ."""
        return 2.0 ** self._float()

    def rsqrt(self):
        """1/√x."""
        return 1.0 / self.sqrt()

    def reciprocal(self):
        """1/x (integers give the default float type)."""
        return 1.0 / self

    def square(self):
        """x² (integers stay integers)."""
        return self * self

    def pow(self, exponent):
        """xᵉ: the same as ``x ** exponent``."""
        return self ** exponent

    # ------------------------------------------------------------------------------ rounding
    def _rounded(self, how: str, decimals: int = 0):
        if self.dtype.kind != "f":  # integers are whole already; the sign of a bool is itself
            data = self._read(how + "()")
            return promotion.Tensor._constant(np.sign(data) if how == "sign" and data.dtype.kind != "b" else data.copy())
        return ops.Rounding.apply(self, how=how, decimals=decimals)

    def floor(self):
        """The largest whole number ≤ x; its gradient is 0 (as for every rounding, in PyTorch too)."""
        return self._rounded("floor")

    def ceil(self):
        """The smallest whole number ≥ x."""
        return self._rounded("ceil")

    def trunc(self):
        """x without its fractional part (rounded toward 0)."""
        return self._rounded("trunc")

    fix = trunc  # PyTorch's other name

    def round(self, decimals: int = 0):
        """x rounded to ``decimals`` places, halves to the even neighbour (round(2.5) = 2), as in PyTorch."""
        return self._rounded("round", decimals)

    def sign(self):
        """−1, 0 or 1 by the sign of x; its gradient is 0."""
        return self._rounded("sign")

    # ------------------------------------------------------------------------ two operands
    def add(self, other, *, alpha=1):
        """self + alpha · other."""
        return self + (other if alpha == 1 else other * alpha)

    def sub(self, other, *, alpha=1):
        """self − alpha · other."""
        return self - (other if alpha == 1 else other * alpha)

    def mul(self, other):
        return self * other

    def div(self, other, *, rounding_mode=None):
        """self / other; with ``rounding_mode="trunc"`` rounded toward 0, with ``"floor"`` toward −∞ (as //)."""
        if rounding_mode is None:
            return self / other
        if rounding_mode not in ("trunc", "floor"):
            raise ValueError(f"div: rounding_mode must be None, 'trunc' or 'floor', got {rounding_mode!r}")
        return ops.RoundedDiv.apply(*promote(self, other), rounding_mode=rounding_mode)

    subtract, multiply, divide, true_divide = sub, mul, div, div  # PyTorch's other names

    def floor_divide(self, other):
        """⌊self / other⌋, as Python's // (integers stay integers). As in PyTorch it has no derivative:
        backward through it raises (``div(other, rounding_mode="floor")`` has a gradient of 0)."""
        return ops.RoundedDiv.apply(*promote(self, other), rounding_mode="floor", floor_divide=True)

    def __floordiv__(self, other):
        return self.floor_divide(other)

    def __rfloordiv__(self, other):
        return ops.RoundedDiv.apply(*promote(other, self), rounding_mode="floor", floor_divide=True)

    def remainder(self, other):
        """self mod other with the sign of other, as Python's % (integers stay integers)."""
        return ops.Remainder.apply(*promote(self, other))

    def __mod__(self, other):
        return self.remainder(other)

    def __rmod__(self, other):
        return ops.Remainder.apply(*promote(other, self))

    def maximum(self, other):
        """The larger of the two, element by element; where they tie, each gets half the gradient (as in PyTorch)."""
        return ops.Maximum.apply(*promote(self, other))

    def minimum(self, other):
        """The smaller of the two, element by element; where they tie, each gets half the gradient."""
        return ops.Maximum.apply(*promote(self, other), smallest=True)

    def clamp_min(self, min):
        return self.clamp(min=min)

    def clamp_max(self, max):
        return self.clamp(max=max)

    def clip(self, min=None, max=None):
        """PyTorch's other name for `clamp`."""
        return self.clamp(min, max)

    # -------------------------------------------------------------------- tests (no gradient)
    def _test(self, ufunc):
        return promotion.Tensor._constant(np.asarray(ufunc(self._read(ufunc.__name__ + "()"))))

    def isnan(self):
        return self._test(np.isnan)

    def isinf(self):
        return self._test(np.isinf)

    def isfinite(self):
        return self._test(np.isfinite)

    # ------------------------------------------------------------- products and running sums
    def _summable(self):
        """Itself, or as int64 for integers and bools: their sums and products are int64, as in PyTorch."""
        return self if self.dtype.kind == "f" else self.to(int64)

    @numpy_keywords
    def prod(self, dim=None, keepdim: bool = False):
        """Π over ``dim`` (every element by default); integers multiply as int64."""
        return ops.Prod.apply(self._summable(), dim=dim, keepdim=keepdim)

    @numpy_keywords
    def cumsum(self, dim):
        """Running sums along ``dim``: out[i] = x[0] + ... + x[i]."""
        return self._running(ops.CumSum, dim)

    @numpy_keywords
    def cumprod(self, dim):
        """Running products along ``dim``: out[i] = x[0] · ... · x[i]."""
        return self._running(ops.CumProd, dim)

    def _running(self, op, dim):
        x = self._summable()
        if x.ndim == 0:  # a number is its own running sum (dim 0 or -1, as PyTorch allows)
            ops.dim_to_axis(dim, 0)
            return op.apply(x.reshape(1), dim=0).reshape(())
        return op.apply(x, dim=dim)
