"""nn: layers, losses and optimizers, built only on the public API of the `tinygrad_edu` engine.

    module.py      Module (registers parameters, buffers and sub-modules), Parameter, save/load
    layers.py      Linear, the activations (the lecture's and PyTorch's others: GELU, ELU, Softplus, ...),
                   Softmax, BatchNorm1d/2d, LayerNorm, Dropout/2d, Flatten,
                   and the containers Sequential, ModuleList, ModuleDict
    conv.py        Conv1d, Conv2d, ConvTranspose2d, MaxPool2d, AvgPool2d, AdaptiveAvgPool2d
    init.py        initialising weights in place: uniform_, normal_, xavier_*, kaiming_*, ...
    functional.py  PyTorch's nn.functional: activations, linear, dropout, one_hot, convolution and pooling
                   (unfold/fold, conv2d, max_pool2d, ...), and every loss as a function
    losses.py      MSELoss (the lecture's quadratic cost by default), L1Loss, HuberLoss, BCELoss,
                   BCEWithLogitsLoss, NLLLoss, CrossEntropyLoss
    optim/         Optimizer, SGD, Adam, AdamW, RMSprop, Adagrad; lr_scheduler
    utils.py       clip_grad_norm_, clip_grad_value_, flat (.npz) forms of nested state dicts
"""

from . import functional, init, optim, utils
from .conv import AdaptiveAvgPool2d, AvgPool2d, Conv1d, Conv2d, ConvTranspose2d, MaxPool2d
from .functional import one_hot
from .layers import (CELU, ELU, GELU, SELU, BatchNorm1d, BatchNorm2d, Dropout, Dropout2d, Flatten, Hardsigmoid,
                     Hardswish, Hardtanh, Identity, LayerNorm, LeakyReLU, Linear, LogSigmoid, LogSoftmax, Mish,
                     ModuleDict, ModuleList, ReLU, ReLU6, Sequential, Sigmoid, SiLU, Softmax, Softplus, Softsign, Step,
                     Tanh)
from .losses import BCELoss, BCEWithLogitsLoss, CrossEntropyLoss, HuberLoss, L1Loss, MSELoss, NLLLoss
from .module import Module, Parameter

__all__ = [
    "BCELoss", "BCEWithLogitsLoss", "BatchNorm1d", "CrossEntropyLoss", "Dropout", "Flatten", "HuberLoss", "Identity",
    "L1Loss", "LayerNorm", "LeakyReLU", "Linear", "LogSoftmax", "MSELoss", "Module", "ModuleDict", "ModuleList",
    "NLLLoss", "Parameter", "ReLU", "Sequential", "Sigmoid", "Softmax", "Step", "Tanh", "functional", "init",
    "one_hot", "optim", "utils", "CELU", "ELU", "GELU", "SELU", "Hardsigmoid", "Hardswish", "Hardtanh", "LogSigmoid",
    "Mish", "ReLU6", "SiLU", "Softplus", "Softsign",
    "AdaptiveAvgPool2d", "AvgPool2d", "BatchNorm2d", "Conv1d", "Conv2d", "ConvTranspose2d", "Dropout2d", "MaxPool2d",
]
