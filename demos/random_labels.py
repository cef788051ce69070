"""Deep networks memorise: the same network on the true labels and on random ones (Zhang et al.).

Replace every training label by a uniformly random digit and the images no longer say anything
about their labels: there is nothing to learn that carries over to new digits. A large enough
network trained long enough still drives its training accuracy to 100% — it memorises 60,000
arbitrary answers — while its test accuracy stays at chance, about 10%. Good training accuracy
alone therefore says nothing about whether a network has learned anything that generalises.
"""

from __future__ import annotations

import time

import numpy as np

import nn
from demos import common, train
from tinygrad_edu.data import random_labels


def add_arguments(parser) -> None:
    parser.add_argument("--sizes", type=common.layer_sizes, default=[784, 512, 512, 10], metavar="N,N,...",
                        help="layer sizes, ReLU between them (default 784,512,512,10)")
    parser.add_argument("--lr", type=common.positive_float, default=1e-3, help="Adam's learning rate (default 1e-3)")
    parser.add_argument("--patience", type=common.non_negative_int, default=4, metavar="N",
                        help="halve the learning rate once the training loss has gone more than N epochs "
                             "without beating its best (ReduceLROnPlateau's patience; default 4)")
    parser.add_argument("--batch-size", type=common.positive_int, default=128, help="(default 128)")
    parser.add_argument("--epochs", type=common.positive_int, default=600,
                        help="at most this many epochs on random labels; training stops at 100%% training "
                             "accuracy (default 600)")
    parser.add_argument("--true-epochs", type=common.positive_int, default=30,
                        help="at most this many epochs on the true labels, for comparison (default 30)")
    parser.add_argument("--png", type=common.picture_file, metavar="PATH", default="random-labels.png",
                        help="where to save the plot")
    train.add_jit_argument(parser)
    common.add_output_arguments(parser)
    common.add_data_arguments(parser)


def fit_until_memorised(labels_name, X, y, X_test, y_test, args, epochs) -> dict:
    """Train with Adam and cross-entropy until training accuracy is 100% or ``epochs`` run out; return the curves."""
    model = common.mlp(args.sizes, "relu", init="pytorch", seed=args.seed)
    optimizer = nn.optim.Adam(model.parameters(), lr=args.lr)
    # Near the end, the steps' noise undoes about as many memorised labels as it adds, and the
    # loss stalls (the accuracy near 97% with Adam at 1e-3 on all 60,000 digits); smaller steps
    # let it go on. The loss, not the accuracy, decides: with a few dozen labels left to learn,
    # the accuracy rarely sets a new best, and halving on that shrank the steps to nothing.
    scheduler = nn.optim.lr_scheduler.ReduceLROnPlateau(optimizer, factor=0.5, patience=args.patience, threshold=0)
    step = train.make_step(model, nn.CrossEntropyLoss(), optimizer, args.jit)
    curve = {"epoch": [], "train_accuracy": [], "test_accuracy": [], "seconds": []}
    start = time.perf_counter()
    for epoch, loss in common.train_epochs(model, step, X, y, epochs=epochs, batch_size=args.batch_size, seed=args.seed,
                                           quiet=args.quiet, desc=f"{labels_name} labels, "):
        curve["epoch"].append(epoch + 1)
        curve["train_accuracy"].append(common.accuracy(model, X, y))
        curve["test_accuracy"].append(common.accuracy(model, X_test, y_test))
        curve["seconds"].append(time.perf_counter() - start)
        if not args.quiet:
            wrong = round((1 - curve["train_accuracy"][-1]) * len(y))  # "100.00%" can hide a few
            print(f"{labels_name} labels, epoch {epoch + 1:>3}: train accuracy {curve['train_accuracy'][-1]:.2%} "
                  f"({wrong} wrong), test accuracy {curve['test_accuracy'][-1]:.2%}")
        if curve["train_accuracy"][-1] == 1.0:
            break
        lr = scheduler.get_last_lr()
        scheduler.step(loss)
        if scheduler.get_last_lr() != lr and not args.quiet:
            print(f"  training loss not below its best for {args.patience + 1} epochs: learning rate halved to "
                  f"{scheduler.get_last_lr()[0]:.2e}")
    return curve


def run(args) -> dict:
    X_train, y_train, X_test, y_test = common.load_data(args)
    shuffled = random_labels(y_train, fraction=1.0, seed=args.seed)
    print(f"{np.mean(shuffled == y_train):.1%} of the random labels happen to be right (chance: 10%)")
    # The true labels get a short run: their training accuracy passes 99.9% within a few dozen epochs
    # and may then hover there for long; what takes time is memorising the random ones.
    curves = {"true": fit_until_memorised("true", X_train, y_train, X_test, y_test, args, args.true_epochs),
              "random": fit_until_memorised("random", X_train, shuffled, X_test, y_test, args, args.epochs)}

    print(f"\n{'labels':<8} {'epochs':>6} {'train acc.':>11} {'test acc.':>10} {'time':>9}")
    for name, c in curves.items():
        print(f"{name:<8} {c['epoch'][-1]:>6} {c['train_accuracy'][-1]:>11.2%} {c['test_accuracy'][-1]:>10.2%} "
              f"{c['seconds'][-1]:>8.0f}s")
    memorised = curves["random"]["train_accuracy"][-1] == 1.0
    print(f"random labels {'memorised: 100% training accuracy' if memorised else 'not yet memorised'} after "
          f"{curves['random']['epoch'][-1]} epochs ({curves['random']['seconds'][-1]:.0f} s)")
    common.plot_curves(args.png, {
        "epoch": {f"{name} labels, {split}": (c["epoch"], c[f"{split}_accuracy"])
                  for name, c in curves.items() for split in ("train", "test")},
    }, ylabel="accuracy", title="Memorising random labels (Zhang et al.)")
    return curves
