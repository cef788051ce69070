"""tinygrad-edu: a small reverse-mode automatic-differentiation engine on NumPy.

The engine's files, each importing only the ones listed before it:

    dtypes.py     dtype names (tg.float32, ...) and PyTorch's type promotion rule (result_type)
    versions.py   memory shared by views, and the version counts that catch a value changed in place
    autograd.py   Function (how every op is written), grad modes (no_grad, ...), the backward walk, grad()
    ops.py        every op: forward and backward side by side
    promotion.py  PyTorch's dtype rules for tensors: a new tensor's dtype, the operands of an op
    numpy_on_tensors.py  NumPy functions on tensors: how a backward also runs on tensors (create_graph)
    tensor_convert.py  Tensor's conversions to Python numbers, arrays and text
    tensor_inplace.py  Tensor's in-place changes (+=, t[i] = v, ...), with PyTorch's rules
    tensor_math.py     Tensor's element-wise math (sin ... erf), rounding, %, //, products and running sums
    tensor_shape.py    Tensor's rearranging and selecting (repeat, split, sort, topk, roll, scatter, ...)
    tensor.py     Tensor: its methods call the ops
    functions.py  PyTorch's module-level functions: tg.exp(x) is x.exp(), ..., and tg.einsum
    creation.py   the constructors: tensor, zeros, randn, arange, eye, ..., and manual_seed
    gradcheck.py  numerical_grad, gradcheck and gradgradcheck: finite differences against backprop
    testing.py    check_op, check_module, check_optimizer: property tests for your own extensions
    graph.py      render_graph and to_dot: look at a computation graph
    jit/          jit: record a training step once, replay it as one generated function
    files.py      atomic_file, check_writable, open_regular: files replaced whole or not at all, read only if regular
    draw.py       draw_graph: the graph laid out as SVG, or a page to click through (no Graphviz needed)
    data/         MNIST and Fashion-MNIST loaders and batching (NumPy only), and PyTorch's DataLoader
"""

from .autograd import (
    DifferentiableOnceError,
    Function,
    detect_anomaly,
    enable_grad,
    is_grad_enabled,
    no_grad,
    set_grad_enabled,
)
from .files import atomic_file, check_writable, open_regular
from .gradcheck import GradcheckError, gradcheck, gradgradcheck, numerical_grad
from .graph import render_graph, to_dot
from .draw import draw_graph
from . import data
from .dtypes import bool_ as bool, float32, float64, int32, int64, uint8  # dtype names, as in PyTorch
from .dtypes import result_type
from .tensor import Tensor, cat, linear, stack, where
from . import jit  # after tensor.py: the jit reads tensors and replays ops; tg.jit(step) calls the module
from .jit import JitError
from . import functions
from .functions import *  # noqa: F401,F403  tg.exp, tg.sum, tg.maximum, ..., tg.einsum: functions.__all__
from .creation import (
    arange,
    eye,
    from_numpy,
    full,
    full_like,
    linspace,
    manual_seed,
    ones,
    ones_like,
    rand,
    rand_like,
    randint,
    randn,
    randn_like,
    randperm,
    tensor,
    zeros,
    zeros_like,
)

__all__ = [
    "DifferentiableOnceError", "Function", "GradcheckError", "JitError", "Tensor", "arange", "atomic_file", "bool", "cat",
    "check_writable", "data", "detect_anomaly", "draw_graph", "enable_grad", "eye", "float32", "float64", "from_numpy", "full",
    "full_like", "gradcheck", "gradgradcheck", "int32", "int64", "is_grad_enabled", "jit", "linear", "linspace", "manual_seed",
    "no_grad", "numerical_grad", "ones", "ones_like", "open_regular",
    "rand", "rand_like", "randint", "randn", "randn_like", "randperm", "render_graph", "result_type",
    "set_grad_enabled", "stack", "tensor", "to_dot", "uint8", "where", "zeros", "zeros_like",
]
__all__ += functions.__all__
