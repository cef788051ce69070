"""nn: layers, losses and optimizers, built only on the public API of the `tinygrad_edu` engine.

    module.py      Module (registers parameters and sub-modules), Parameter, save/load
    layers.py      Linear, Sigmoid, Step, ReLU, Tanh, Dropout, Flatten, Sequential
    functional.py  mse_loss (the lecture's quadratic cost), cross_entropy, one_hot
    losses.py      MSELoss, CrossEntropyLoss
    optim.py       SGD, Adam
"""

from . import functional, optim
from .functional import one_hot
from .layers import Dropout, Flatten, Linear, ReLU, Sequential, Sigmoid, Step, Tanh
from .losses import CrossEntropyLoss, MSELoss
from .module import Module, Parameter

__all__ = [
    "CrossEntropyLoss", "Dropout", "Flatten", "Linear", "MSELoss", "Module", "Parameter", "ReLU", "Sequential",
    "Sigmoid", "Step", "Tanh", "functional", "one_hot", "optim",
]
