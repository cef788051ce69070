"""A trained network for the demos that look at one (adversarial, hidden-units, errors).

By default the demo trains it first, exactly as `train` would with the same flags (the lecture's
784-30-10 sigmoid network, fewer epochs). ``--load PATH`` takes the network saved by
`train --save` or `deep --save` instead: its sizes, activation, loss, dropout and optimizer come
from the settings the checkpoint records, and every member is checked before it is used (see
`demos.checkpoints`). Flags given as well must agree with the checkpoint.
"""

from __future__ import annotations

import argparse

from demos import checkpoints, common, train

# What a checkpoint must say to rebuild its network, optimizer and schedule (whose state is checked too).
ARCHITECTURE = ("sizes", "activation", "loss", "dropout", "optimizer", "init", "lr", "lr_decay")


def add_arguments(parser: argparse.ArgumentParser, epochs: int = 10) -> None:
    common.track_given(parser)  # --load tells flags typed from defaults
    group = parser.add_argument_group("the network")
    group.add_argument("--load", metavar="PATH", default=None,
                       help="the network saved by `train --save` or `deep --save`, instead of training one; "
                            "its settings come from the checkpoint")
    group.add_argument("--sizes", type=common.layer_sizes, default=train.NIELSEN["sizes"], metavar="N,N,...",
                       help="layer sizes (default 784,30,10)")
    group.add_argument("--activation", choices=sorted(common.ACTIVATIONS), default=train.NIELSEN["activation"],
                       help="hidden-layer activation (default sigmoid)")
    group.add_argument("--loss", choices=["mse", "cross-entropy"], default=train.NIELSEN["loss"],
                       help="mse: sigmoid outputs and the quadratic cost; cross-entropy: raw scores (default mse)")
    group.add_argument("--dropout", type=common.probability, default=0.0, metavar="P",
                       help="dropout after each hidden layer while training (default 0)")
    group.add_argument("--optimizer", choices=["sgd", "adam"], default=train.NIELSEN["optimizer"],
                       help="(default sgd)")
    group.add_argument("--epochs", type=common.positive_int, default=epochs,
                       help=f"epochs of training, with train's other defaults (default {epochs})")


def network(args: argparse.Namespace, require=None):
    """The model described by ``args``: loaded from ``args.load``, or trained by `train`'s own code.

    ``require(args)``, if given, checks the network's settings (those of the checkpoint, with
    ``--load``) before it is trained or loaded: a demo that needs one hidden layer says so then.
    """
    if args.load is not None:
        dataset = checkpoints.read_settings(args.load).get("dataset")
        if dataset != "mnist":
            raise checkpoints.CheckpointError(f"{args.load} holds a network trained on {dataset}; "
                                              "these demos look at networks for the MNIST digits")
        # The settings left out are the checkpoint's; one given with another value is refused, naming it.
        checkpoints.take_settings(args.load, args, ARCHITECTURE, dataset, train.add_arguments)
    if require is not None:
        require(args)
    model = loaded(args) if args.load is not None else trained(args)
    model.eval()
    return model


def trained(args: argparse.Namespace):
    argv = ["--sizes", ",".join(map(str, args.sizes)), "--activation", args.activation, "--loss", args.loss,
            "--dropout", str(args.dropout), "--optimizer", args.optimizer, "--epochs", str(args.epochs),
            "--seed", str(args.seed)]
    argv += ["--quiet"] * args.quiet + ["--download"] * args.download
    argv += (["--data", args.data] if args.data is not None else []) + (
        ["--subset", str(args.subset)] if args.subset is not None else [])
    if not args.quiet:
        print(f"training the network for {args.epochs} epochs (as `tinygrad-edu train {' '.join(argv)}`)")
    parser = argparse.ArgumentParser()
    train.add_arguments(parser)
    return train.run(parser.parse_args(argv))["model"]


def loaded(args: argparse.Namespace):
    """The network of the checkpoint ``args.load``, whose settings `network` has taken into ``args``."""
    model, optimizer, scheduler = train.build(args)
    checkpoints.load(args.load, model, optimizer, scheduler)
    return model
