"""tinygrad-edu: a small reverse-mode automatic-differentiation engine on NumPy.

    autograd.py   Function (how every op is written), no_grad, detect_anomaly, the backward walk
    ops.py        every op: forward and backward side by side
    tensor.py     Tensor, its methods, and the constructors
    gradcheck.py  numerical_grad and gradcheck: finite differences against backprop
    graph.py      render_graph and to_dot: look at a computation graph
    files.py      atomic_file, check_writable: files are replaced whole or not at all
    data/         MNIST and Fashion-MNIST loaders and batching (NumPy only)
"""

from .autograd import Function, detect_anomaly, is_grad_enabled, no_grad  # first: tensor.py builds on it
from .files import atomic_file, check_writable
from .gradcheck import GradcheckError, gradcheck, numerical_grad
from .graph import render_graph, to_dot
from . import data
from .tensor import (
    Tensor,
    arange,
    cat,
    linear,
    manual_seed,
    ones,
    rand,
    randn,
    stack,
    tensor,
    where,
    zeros,
)

__all__ = [
    "Function", "GradcheckError", "Tensor", "arange", "atomic_file", "cat", "check_writable", "detect_anomaly",
    "gradcheck", "is_grad_enabled", "linear", "manual_seed", "no_grad", "numerical_grad", "ones", "rand", "randn",
    "data", "render_graph", "stack", "tensor", "to_dot", "where", "zeros",
]
