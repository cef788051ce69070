"""A deeper ReLU network with cross-entropy and Adam, the modern recipe, on the MNIST digits.

Two hidden layers of 1024 rectified linear units, each followed by dropout (p = 0.5), softmax
outputs read through the cross-entropy loss, PyTorch's default initialisation, and Adam with a
learning rate shrinking by 10% per epoch. Same flags as `train`, other defaults.
"""

from __future__ import annotations

from demos import train

DEEP = dict(sizes=[784, 1024, 1024, 10], activation="relu", loss="cross-entropy", optimizer="adam",
            lr=1e-3, lr_decay=0.9, batch_size=128, epochs=30, init="pytorch", dropout=0.5)


def add_arguments(parser) -> None:
    train.add_arguments(parser, DEEP)


def run(args) -> dict:
    return train.run(args, dataset="mnist")
