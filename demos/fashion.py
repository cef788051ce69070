"""The deep network of `deep`, unchanged, on Fashion-MNIST: clothes instead of digits.

Fashion-MNIST has the same format as MNIST (28x28 gray images, 10 classes, 60,000 + 10,000) but
is much harder: shirts, pullovers and coats look alike. Same flags as `train`, `deep`'s defaults.
"""

from __future__ import annotations

from demos import deep, train


def add_arguments(parser) -> None:
    train.add_arguments(parser, deep.DEEP)


def run(args) -> dict:
    return train.run(args, dataset="fashion-mnist")
