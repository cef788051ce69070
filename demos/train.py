"""Train a feed-forward network on the MNIST digits and report its test accuracy.

By default this is the network of Nielsen's chapter 1, the lecture's main experiment: 784 inputs
(one per pixel, scaled to [0, 1]), 30 sigmoid hidden neurons, 10 sigmoid outputs (one per digit),
initial weights and biases drawn from N(0, 1), the quadratic cost C = 1/(2n) Σ‖y(x) − a‖² with
one-hot targets y, and mini-batch SGD with m = 10 examples per step and η = 3.0 for 30 epochs.
Every flag changes one of those choices, so the same command also trains the other models.
"""

from __future__ import annotations

import argparse
import functools
import math
import os
import sys
import time

import nn
import tinygrad_edu as tg
from demos import checkpoints, cli, common, seeds

# The flags that define the experiment: a checkpoint records them, and a resumed run must agree with them.
SETTINGS = ("sizes", "activation", "loss", "init", "optimizer", "lr", "lr_decay", "dropout", "batch_size", "seed",
            "subset")

EVAL_BATCH_SIZE = 10_000  # test examples put through the network at once

NIELSEN = dict(sizes=[784, 30, 10], activation="sigmoid", loss="mse", optimizer="sgd", lr=3.0, lr_decay=1.0,
               batch_size=10, epochs=30, init="normal", dropout=0.0)


def add_arguments(parser: argparse.ArgumentParser, defaults: dict = NIELSEN) -> None:
    """The training flags; ``defaults`` lets other demos (deep, fashion) reuse them with their own."""
    common.track_given(parser)  # so that a resume knows which flags were given
    parser.add_argument("--sizes", type=common.layer_sizes, default=defaults["sizes"], metavar="N,N,...",
                        help=f"layer sizes from input to output (default {','.join(map(str, defaults['sizes']))})")
    parser.add_argument("--activation", choices=sorted(common.ACTIVATIONS), default=defaults["activation"],
                        help=f"hidden-layer activation (default {defaults['activation']})")
    parser.add_argument("--loss", choices=["mse", "cross-entropy"], default=defaults["loss"],
                        help="mse: the quadratic cost on sigmoid outputs; cross-entropy: on raw scores "
                             f"(default {defaults['loss']})")
    parser.add_argument("--init", choices=nn.layers.INITS, default=defaults["init"],
                        help=f"initial weights: PyTorch's uniform, N(0, 1) as in Nielsen's code, or zeros "
                             f"(default {defaults['init']})")
    add_training_arguments(parser, defaults)


def add_training_arguments(parser: argparse.ArgumentParser, defaults: dict) -> None:
    """The flags of any network's training run (also `cnn`'s): optimizer, schedule, batches, epochs, files, data."""
    parser.add_argument("--optimizer", choices=["sgd", "adam"], default=defaults["optimizer"],
                        help=f"(default {defaults['optimizer']})")
    parser.add_argument("--lr", type=common.positive_float, default=defaults["lr"],
                        help=f"learning rate η (default {defaults['lr']})")
    parser.add_argument("--lr-decay", type=common.positive_float, default=defaults["lr_decay"], metavar="GAMMA",
                        help=f"multiply the learning rate by GAMMA after every epoch (default {defaults['lr_decay']})")
    parser.add_argument("--dropout", type=common.probability, default=defaults["dropout"], metavar="P",
                        help=f"drop each hidden activation (of the fully connected layers) with probability P while "
                             f"training (default {defaults['dropout']})")
    parser.add_argument("--batch-size", type=common.positive_int, default=defaults["batch_size"],
                        help=f"examples per update m (default {defaults['batch_size']})")
    parser.add_argument("--epochs", type=common.positive_int, default=defaults["epochs"],
                        help=f"(default {defaults['epochs']})")
    parser.add_argument("--save", type=common.writable_file, metavar="PATH", default=None,
                        help="save a checkpoint (.npz) after every epoch")
    parser.add_argument("--resume", metavar="PATH", default=None,
                        help="continue from a checkpoint written by --save; same result as not stopping. Settings "
                             "left out are the checkpoint's; those given must agree with it")
    add_jit_argument(parser)
    common.add_output_arguments(parser)
    seeds.add_argument(parser)
    common.add_data_arguments(parser)


def train_step(model, loss_fn, optimizer, images, targets) -> tg.Tensor:
    """One update of the weights from one batch: the lecture's central five lines, as in PyTorch.

    It returns the batch's cost as a tensor, not a number, so that tg.jit can replay it (see `make_step`).
    """
    optimizer.zero_grad()                   # forget the previous batch's gradients
    loss = loss_fn(model(images), targets)  # forward: the outputs a, then the cost C of the batch
    loss.backward()                         # backprop: ∂C/∂w for every weight and bias
    optimizer.step()                        # w ← w − η ∂C/∂w
    return loss


def make_step(model, loss_fn, optimizer, jit: bool = True):
    """`train_step` on these three, as ``step(images, targets)``: recorded on its first calls and then
    replayed by tg.jit, which gives the same numbers faster; eager on every call with ``jit=False`` (--no-jit)."""
    step = functools.partial(train_step, model, loss_fn, optimizer)
    return tg.jit(step) if jit else step


def add_jit_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--no-jit", dest="jit", action="store_false",
                        help="run every training step eagerly instead of replaying it with tg.jit "
                             "(slower, same numbers)")


def build(args: argparse.Namespace) -> tuple:
    """The model, optimizer and learning-rate schedule that the flags describe (also to load a checkpoint into)."""
    model = common.mlp(args.sizes, args.activation, args.init, args.seed, final_activation=args.loss == "mse",
                       dropout=args.dropout)
    optimizer = (nn.optim.SGD if args.optimizer == "sgd" else nn.optim.Adam)(model.parameters(), lr=args.lr)
    scheduler = nn.optim.lr_scheduler.ExponentialLR(optimizer, gamma=args.lr_decay)  # epoch e (from 0) uses η·γᵉ
    return model, optimizer, scheduler


def check(args: argparse.Namespace) -> None:
    """Refuse, before any data is loaded, sizes that do not fit the digits or this machine."""
    if args.sizes[0] != 784:
        raise ValueError(f"--sizes must start with 784, the number of pixels, not {args.sizes[0]}")
    if args.sizes[-1] != 10:
        raise ValueError(f"--sizes must end with 10, one output per class, not {args.sizes[-1]}")
    count = sum((n_in + 1) * n_out for n_in, n_out in zip(args.sizes[:-1], args.sizes[1:]))
    common.check_memory(count, f"--sizes {','.join(map(str, args.sizes))}", copies=2 if args.optimizer == "sgd" else 4)


def images(X):
    """The network's inputs: one row of 784 pixels per image, as loaded."""
    return X


def run(args: argparse.Namespace, dataset: str = "mnist", network=None) -> dict:
    """Train (once, or once per seed) the network of ``network``: the module that describes it with
    SETTINGS, add_arguments, check, build, images and EVAL_BATCH_SIZE: this one (the default), or `cnn`."""
    network = sys.modules[__name__] if network is None else network
    if args.seeds is None:
        return train_once(args, dataset, network)
    if args.save is not None or args.resume is not None:
        raise ValueError("--seeds trains one network per seed, --save and --resume follow one: "
                         "use --seed with them")
    return seeds.over_seeds(lambda one: train_once(one, dataset, network), args)


def train_once(args: argparse.Namespace, dataset: str, network) -> dict:
    if args.resume is not None:
        checkpoints.take_settings(args.resume, args, network.SETTINGS, dataset, network.add_arguments)
    network.check(args)
    settings = {**{key: getattr(args, key) for key in network.SETTINGS}, "dataset": dataset, "epochs": args.epochs}
    # What --save may replace (see checkpoints.claim), checked before any work; each save checks it again.
    replacing = checkpoints.claim(args.save, settings, args.resume) if args.save is not None else False
    X_train, y_train, X_test, y_test = common.load_data(args, dataset)
    X_train, X_test = network.images(X_train), network.images(X_test)
    mse = args.loss == "mse"
    model, optimizer, scheduler = network.build(args)
    loss_fn = nn.MSELoss() if mse else nn.CrossEntropyLoss()
    # The quadratic cost compares the outputs with one-hot vectors; cross-entropy takes the labels.
    T_train = nn.one_hot(y_train, 10).numpy() if mse else y_train
    # A checkpoint holds the model, the optimizer, the schedule and the epochs done: continuing
    # from it gives the same result as never stopping.
    history = checkpoints.load(args.resume, model, optimizer, scheduler) if args.resume is not None else []
    if len(history) > args.epochs:
        raise checkpoints.CheckpointError(f"{args.resume} already has {len(history)} epochs, more than --epochs {args.epochs}")
    if history and len(history) == args.epochs:
        print(f"{args.resume} already has all {args.epochs} epochs: nothing to train (ask for more with --epochs)")
        if args.save is not None and not (os.path.exists(args.save) and os.path.samefile(args.save, args.resume)):
            checkpoints.save(args.save, model, optimizer, history, settings, scheduler, replacing=replacing)
            print(f"saved a copy as {args.save}")
    if not args.quiet:
        print(model)
    last_good = (args.resume, len(history)) if history else None
    step = make_step(model, loss_fn, optimizer, args.jit)
    start = time.perf_counter()
    try:
        for epoch, loss in common.train_epochs(model, step, X_train, T_train, epochs=args.epochs,
                                               batch_size=args.batch_size, seed=args.seed, start=len(history),
                                               quiet=args.quiet):
            seconds = time.perf_counter() - start
            test_accuracy = common.accuracy(model, X_test, y_test, network.EVAL_BATCH_SIZE)
            history.append({"epoch": epoch + 1, "loss": loss, "test_accuracy": test_accuracy, "seconds": seconds})
            scheduler.step()
            if not all(math.isfinite(lr) for lr in scheduler.get_last_lr()):
                raise common.Diverged(f"training diverged after epoch {epoch + 1}: the learning rate η·γᵉ has "
                                      f"grown to {scheduler.get_last_lr()[0]} (try a smaller --lr-decay)")
            if args.save is not None:  # before printing: a closed stdout must not cost the epoch
                with cli.ctrl_c_deferred():  # so that the file written and last_good always agree
                    replacing = checkpoints.save(args.save, model, optimizer, history, settings, scheduler,
                                                 replacing=replacing)
                    last_good = (args.save, epoch + 1)
            if not args.quiet:
                print(f"epoch {epoch + 1:>3}/{args.epochs}: loss {loss:.4f}, test accuracy {test_accuracy:.2%} "
                      f"({seconds:.1f} s)")
            start = time.perf_counter()
    except KeyboardInterrupt:
        raise KeyboardInterrupt(checkpoints.where_to_continue(last_good)) from None
    except common.Diverged as err:
        raise common.Diverged(f"{err}; {checkpoints.where_to_continue(last_good)}") from None
    final = history[-1]["test_accuracy"]
    print(f"test accuracy: {100 * final:.2f}%")
    return {"model": model, "history": history, "test_accuracy": final,
            "best_accuracy": max(h["test_accuracy"] for h in history), "predictions": common.predict(model, X_test, network.EVAL_BATCH_SIZE),
            "labels": y_test}
