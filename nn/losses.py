"""Loss modules: each holds its options and calls its function in `nn.functional` with them.

Names, arguments and defaults are PyTorch's, except one deliberate difference: ``MSELoss()`` is the
lecture's quadratic cost C = 1/(2n) Σₓ ‖y(x) − a‖² (``reduction="lecture"``); PyTorch's default, the
plain mean over all elements, is ``MSELoss("mean")``. Options after ``weight`` are keyword-only,
so that PyTorch's deprecated positional ``size_average`` and ``reduce`` cannot land in the wrong place.
"""

from __future__ import annotations

from . import functional as F
from .module import Module


class _Loss(Module):
    """A loss module: ``loss(input, target)`` is ``function(input, target, reduction=..., **weights, **options)``.

    ``weights`` (``weight``, ``pos_weight``) are buffers, as in PyTorch: part of the loss's state, so
    they are in ``state_dict()`` and ``double()`` converts them. The other options are plain settings.
    """

    function = None  # the nn.functional loss, set by each subclass
    allowed = F.REDUCTIONS

    def __init__(self, reduction: str = "mean", weights: dict | None = None, **options):
        super().__init__()
        F._check_reduction(type(self).__name__, reduction, self.allowed)
        self.reduction, self.options = reduction, options
        for name, value in (weights or {}).items():
            self.register_buffer(name, None if value is None else F._constant(value, type(self).__name__, name))

    def forward(self, input, target):
        weights = dict(self.named_buffers())
        return type(self).function(input, target, reduction=self.reduction, **weights, **self.options)

    def extra_repr(self) -> str:
        options = {**self.options, "reduction": self.reduction}
        return ", ".join(f"{name}={value!r}" for name, value in options.items() if value is not None)


class MSELoss(_Loss):
    """The lecture's quadratic cost C = 1/(2n) Σₓ ‖y(x) − a‖² by default (see `nn.functional.mse_loss`).

    ``reduction="mean"`` is PyTorch's default (the mean over all elements, no ½), ``"sum"`` the plain
    sum, ``"none"`` the squares element by element.
    """

    function = staticmethod(F.mse_loss)
    allowed = F.MSE_REDUCTIONS

    def __init__(self, reduction: str = "lecture"):
        super().__init__(reduction)


class L1Loss(_Loss):
    """|a − y|, reduced (see `nn.functional.l1_loss`)."""

    function = staticmethod(F.l1_loss)


class HuberLoss(_Loss):
    """Squared error within ``delta`` of the target, absolute error beyond (see `nn.functional.huber_loss`)."""

    function = staticmethod(F.huber_loss)

    def __init__(self, reduction: str = "mean", delta: float = 1.0):
        super().__init__(reduction, delta=delta)


class BCELoss(_Loss):
    """Binary cross-entropy of probabilities (see `nn.functional.binary_cross_entropy`)."""

    function = staticmethod(F.binary_cross_entropy)

    def __init__(self, weight=None, *, reduction: str = "mean"):
        super().__init__(reduction, {"weight": weight})


class BCEWithLogitsLoss(_Loss):
    """Binary cross-entropy of raw scores, sigmoid included (see `nn.functional.binary_cross_entropy_with_logits`)."""

    function = staticmethod(F.binary_cross_entropy_with_logits)

    def __init__(self, weight=None, *, reduction: str = "mean", pos_weight=None):
        super().__init__(reduction, {"weight": weight, "pos_weight": pos_weight})


class NLLLoss(_Loss):
    """Negative log-likelihood of log-probabilities against class indices (see `nn.functional.nll_loss`)."""

    function = staticmethod(F.nll_loss)

    def __init__(self, weight=None, *, ignore_index: int = -100, reduction: str = "mean"):
        super().__init__(reduction, {"weight": weight}, ignore_index=ignore_index)


class CrossEntropyLoss(_Loss):
    """Cross-entropy of softmax(scores) against class indices or probabilities (see `nn.functional.cross_entropy`)."""

    function = staticmethod(F.cross_entropy)

    def __init__(self, weight=None, *, ignore_index: int = -100, reduction: str = "mean", label_smoothing: float = 0.0):
        super().__init__(reduction, {"weight": weight}, ignore_index=ignore_index, label_smoothing=label_smoothing)
