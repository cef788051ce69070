"""Loss modules: each holds its options and calls the function in `nn.functional`."""

from __future__ import annotations

from . import functional as F
from .module import Module


class MSELoss(Module):
    """The lecture's quadratic cost C = 1/(2n) Σₓ ‖y(x) − a‖² (see `nn.functional.mse_loss`).

    PyTorch's ``MSELoss`` takes the mean over all elements without the ½; ``reduction="mean"``
    gives that, ``"sum"`` the plain sum.
    """

    def __init__(self, reduction: str = "lecture"):
        super().__init__()
        if reduction not in F.REDUCTIONS:
            raise ValueError(f"MSELoss: unknown reduction {reduction!r}, choose one of {F.REDUCTIONS}")
        self.reduction = reduction

    def forward(self, a, y):
        return F.mse_loss(a, y, self.reduction)

    def extra_repr(self) -> str:
        return f"reduction={self.reduction!r}"


class CrossEntropyLoss(Module):
    """Cross-entropy of softmax(logits) against integer labels (see `nn.functional.cross_entropy`)."""

    def forward(self, logits, labels):
        return F.cross_entropy(logits, labels)
