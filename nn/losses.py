"""Loss modules: each holds its options as attributes and, when called, hands them to its loss.

Names, arguments and defaults are PyTorch's, except one deliberate difference: ``MSELoss()`` is the
lecture's quadratic cost C = 1/(2n) Σₓ ‖y(x) − a‖² (``reduction="lecture"``); PyTorch's default, the
plain mean over all elements, is ``MSELoss("mean")``. Options after ``weight`` are keyword-only,
so that PyTorch's deprecated positional ``size_average`` and ``reduce`` cannot land in the wrong place.
"""

from __future__ import annotations

from . import functional as F
from .module import Module


class _Loss(Module):
    """A loss module. Its options are plain attributes, read at every call as in PyTorch, so that
    ``loss.label_smoothing = 0.1`` changes the next call. Class weights (``weight``, ``pos_weight``)
    are buffers, as in PyTorch: part of the loss's state, so they are in ``state_dict()`` and
    ``double()`` converts them.
    """

    options: tuple = ()  # the names of a subclass's settings besides the reduction, for its repr

    def __init__(self, reduction: str = "mean", allowed: tuple = F.REDUCTIONS, **weights):
        super().__init__()
        F._check_reduction(type(self).__name__, reduction, allowed)
        self.reduction = reduction
        for name, value in weights.items():
            self.register_buffer(name, None if value is None else F._constant(value, type(self).__name__, name))

    def extra_repr(self) -> str:
        settings = {name: getattr(self, name) for name in (*self.options, "reduction")}
        return ", ".join(f"{name}={value!r}" for name, value in settings.items() if value is not None)


class MSELoss(_Loss):
    """The lecture's quadratic cost C = 1/(2n) Σₓ ‖y(x) − a‖² by default: the op `nn.functional.SquaredError`.

    ``reduction="mean"`` is PyTorch's default (the mean over all elements, no ½), ``"sum"`` the plain
    sum, ``"none"`` the squares element by element.
    """

    def __init__(self, reduction: str = "lecture"):
        super().__init__(reduction, F.MSE_REDUCTIONS)

    def forward(self, input, target):
        input, target = F._pair("mse_loss", input, target, self.reduction, F.MSE_REDUCTIONS)  # checks only
        return F.SquaredError.apply(input, target, reduction=self.reduction)


class L1Loss(_Loss):
    """|a − y|, reduced (see `nn.functional.l1_loss`)."""

    def forward(self, input, target):
        return F.l1_loss(input, target, self.reduction)


class HuberLoss(_Loss):
    """Squared error within ``delta`` of the target, absolute error beyond (see `nn.functional.huber_loss`)."""

    options = ("delta",)

    def __init__(self, reduction: str = "mean", delta: float = 1.0):
        super().__init__(reduction)
        self.delta = delta

    def forward(self, input, target):
        return F.huber_loss(input, target, self.reduction, self.delta)


class BCELoss(_Loss):
    """Binary cross-entropy of probabilities (see `nn.functional.binary_cross_entropy`)."""

    def __init__(self, weight=None, *, reduction: str = "mean"):
        super().__init__(reduction, weight=weight)

    def forward(self, input, target):
        return F.binary_cross_entropy(input, target, self.weight, self.reduction)


class BCEWithLogitsLoss(_Loss):
    """Binary cross-entropy of raw scores, sigmoid included (see `nn.functional.binary_cross_entropy_with_logits`)."""

    def __init__(self, weight=None, *, reduction: str = "mean", pos_weight=None):
        super().__init__(reduction, weight=weight, pos_weight=pos_weight)

    def forward(self, input, target):
        return F.binary_cross_entropy_with_logits(input, target, self.weight, self.reduction, self.pos_weight)


class NLLLoss(_Loss):
    """Negative log-likelihood of log-probabilities against class indices (see `nn.functional.nll_loss`)."""

    options = ("ignore_index",)

    def __init__(self, weight=None, *, ignore_index: int = -100, reduction: str = "mean"):
        super().__init__(reduction, weight=weight)
        self.ignore_index = ignore_index

    def forward(self, input, target):
        return F.nll_loss(input, target, self.weight, self.ignore_index, self.reduction)


class CrossEntropyLoss(_Loss):
    """Cross-entropy of softmax(scores) against class indices or probabilities (see `nn.functional.cross_entropy`)."""

    options = ("ignore_index", "label_smoothing")

    def __init__(self, weight=None, *, ignore_index: int = -100, reduction: str = "mean", label_smoothing: float = 0.0):
        super().__init__(reduction, weight=weight)
        self.ignore_index, self.label_smoothing = ignore_index, label_smoothing

    def forward(self, input, target):
        return F.cross_entropy(input, target, self.weight, self.ignore_index, self.reduction, self.label_smoothing)
