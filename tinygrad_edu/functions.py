"""PyTorch's module-level functions: ``tg.exp(x)`` is ``x.exp()``, ``tg.maximum(a, b)`` is ``a.maximum(b)``, ...

Each function takes the tensor first (a number or NumPy array is made a tensor) and calls the
method of the same name with the rest of its arguments, so every operation is defined once, as a
method of `Tensor`. `einsum` has no method, and is written here.
"""

from __future__ import annotations

import builtins
import string

from . import ops
from .promotion import as_tensor
from .tensor import Tensor

NAMES = (
    # element-wise
    "abs", "exp", "log", "sqrt", "sigmoid", "tanh", "relu", "neg", "sin", "cos", "tan", "asin", "acos", "atan",
    "arcsin", "arccos", "arctan", "sinh", "cosh", "asinh", "acosh", "atanh", "arcsinh", "arccosh", "arctanh",
    "expm1", "log1p", "erf", "log2", "log10", "exp2", "rsqrt", "reciprocal", "square", "floor", "ceil", "trunc",
    "fix", "round", "sign", "clamp", "clip", "clamp_min", "clamp_max", "isnan", "isinf", "isfinite",
    # two operands
    "add", "sub", "mul", "div", "subtract", "multiply", "divide", "true_divide", "floor_divide", "remainder", "pow",
    "maximum", "minimum", "matmul",
    # reductions
    "sum", "mean", "prod", "max", "min", "argmax", "argmin", "var", "std", "norm", "logsumexp", "all", "any",
    "cumsum", "cumprod", "softmax", "log_softmax",
    # shapes and selection
    "reshape", "flatten", "squeeze", "unsqueeze", "permute", "transpose", "gather", "index_select", "narrow", "split",
    "chunk", "unbind", "masked_fill", "tril", "triu", "diagonal", "flip", "roll", "repeat_interleave", "sort",
    "argsort", "topk", "nonzero", "scatter", "scatter_add", "clone", "numel",
)


def _function(name: str):
    method = getattr(Tensor, name)

    def function(input, *args, **kwargs):
        return method(as_tensor(input), *args, **kwargs)

    function.__name__ = function.__qualname__ = name
    function.__doc__ = f"tg.{name}(input, ...) is input.{name}(...)." + (f"\n\n{method.__doc__}" if method.__doc__ else "")
    return function


for _name in NAMES:
    globals()[_name] = _function(_name)


def einsum(equation: str, *operands) -> Tensor:
    """Sums of products over subscripts, as in NumPy and PyTorch: ``tg.einsum("ij,jk->ik", a, b)`` is a @ b,
    ``"ii->"`` the trace, ``"bi,bi->b"`` a dot product per row; ``...`` stands for the leading dims, and
    without ``->`` the output has the subscripts that appear once, in alphabetical order. The
    operands may also be given as one list. They must share a dtype (as in PyTorch)."""
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    tensors = [as_tensor(t) for t in operands]
    if len({t.dtype for t in tensors}) > 1:
        raise RuntimeError(f"einsum: the operands are {' and '.join(sorted({str(t.dtype) for t in tensors}))}; "
                           "they must share a dtype (as in PyTorch): convert them first, e.g. with .double()")
    return ops.Einsum.apply(*tensors, equation=_explicit(equation, [t.ndim for t in tensors]))


def _explicit(equation: str, ndims: list) -> str:
    """``equation`` without spaces and ``...``, and with its output written out ("ij,jk" → "ij,jk->ik")."""
    equation = equation.replace(" ", "")
    inputs, arrow, output = equation.partition("->")
    subscripts = inputs.split(",")
    if len(subscripts) != len(ndims):
        raise ValueError(f"einsum: the equation {equation!r} has {len(subscripts)} operands, {len(ndims)} were given")
    spare = [c for c in string.ascii_letters if c not in equation]
    covered = [ndim - len(s) + 3 for s, ndim in zip(subscripts, ndims) if "..." in s]  # dims each ... stands for
    dots = "".join(spare[:builtins.max(covered, default=0)])  # (max is tg.max in this module)
    written = []
    for s, ndim in zip(subscripts, ndims):
        if "..." in s:
            s = s.replace("...", dots[len(dots) - (ndim - len(s) + 3):])
        if len(s) != ndim or not s.isalpha() and s:
            raise ValueError(f"einsum: subscripts {s!r} for an operand with {ndim} dims")
        written.append(s)
    if arrow:
        output = output.replace("...", dots)
    else:
        joined = "".join(written)
        output = dots + "".join(sorted(c for c in set(joined) if c not in dots and joined.count(c) == 1))
    return ",".join(written) + "->" + output


__all__ = list(NAMES) + ["einsum"]
