"""nn: layers, losses and optimizers, built only on the public API of the `tinygrad_edu` engine.

    module.py      Module (registers parameters and sub-modules), Parameter, save/load
    layers.py      Linear, Sigmoid, Step, ReLU, Tanh, Dropout, Flatten, Sequential
    functional.py  PyTorch's nn.functional: activations, linear, dropout, one_hot, and every loss as a function
    losses.py      MSELoss (the lecture's quadratic cost by default), L1Loss, HuberLoss, BCELoss,
                   BCEWithLogitsLoss, NLLLoss, CrossEntropyLoss
    optim.py       SGD, Adam
"""

from . import functional, optim
from .functional import one_hot
from .layers import Dropout, Flatten, Linear, ReLU, Sequential, Sigmoid, Step, Tanh
from .losses import BCELoss, BCEWithLogitsLoss, CrossEntropyLoss, HuberLoss, L1Loss, MSELoss, NLLLoss
from .module import Module, Parameter

__all__ = [
    "BCELoss", "BCEWithLogitsLoss", "CrossEntropyLoss", "Dropout", "Flatten", "HuberLoss", "L1Loss", "Linear",
    "MSELoss", "Module", "NLLLoss", "Parameter", "ReLU", "Sequential", "Sigmoid", "Step", "Tanh", "functional",
    "one_hot", "optim",
]
