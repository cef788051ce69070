"""A trained network for the demos that look at one (adversarial, hidden-units, errors).

By default the demo trains it first, exactly as `train` would with the same flags (the lecture's
784-30-10 sigmoid network, fewer epochs). ``--load PATH`` takes the weights from a checkpoint
written by `train --save` or `deep --save` instead; --sizes, --activation, --loss and --dropout
then describe the network that the checkpoint holds (for `deep`'s:
``--sizes 784,1024,1024,10 --activation relu --loss cross-entropy --dropout 0.5``).
"""

from __future__ import annotations

import argparse

import numpy as np

from demos import common, train


def add_arguments(parser: argparse.ArgumentParser, epochs: int = 10) -> None:
    group = parser.add_argument_group("the network")
    group.add_argument("--load", metavar="PATH", default=None,
                       help="use the weights in a checkpoint saved by `train --save` or `deep --save` "
                            "instead of training")
    group.add_argument("--sizes", type=common.layer_sizes, default=train.NIELSEN["sizes"], metavar="N,N,...",
                       help="layer sizes (default 784,30,10)")
    group.add_argument("--activation", choices=sorted(common.ACTIVATIONS), default=train.NIELSEN["activation"],
                       help="hidden-layer activation (default sigmoid)")
    group.add_argument("--loss", choices=["mse", "cross-entropy"], default=train.NIELSEN["loss"],
                       help="mse: sigmoid outputs and the quadratic cost; cross-entropy: raw scores (default mse)")
    group.add_argument("--dropout", type=common.probability, default=0.0, metavar="P",
                       help="dropout after each hidden layer while training (default 0)")
    group.add_argument("--epochs", type=common.positive_int, default=epochs,
                       help=f"epochs of training, with train's other defaults (default {epochs})")


def network(args: argparse.Namespace):
    """The model described by ``args``: loaded from ``args.load``, or trained by `train`'s own code."""
    if args.load is not None:
        model = common.mlp(args.sizes, args.activation, seed=args.seed, final_activation=args.loss == "mse",
                           dropout=args.dropout)
        load_weights(args.load, model)
        model.eval()
        return model
    argv = ["--sizes", ",".join(map(str, args.sizes)), "--activation", args.activation, "--loss", args.loss,
            "--dropout", str(args.dropout), "--epochs", str(args.epochs), "--seed", str(args.seed)]
    argv += ["--quiet"] * args.quiet + ["--download"] * args.download
    argv += (["--data", args.data] if args.data is not None else []) + (
        ["--subset", str(args.subset)] if args.subset is not None else [])
    parser = argparse.ArgumentParser()
    train.add_arguments(parser)
    if not args.quiet:
        print(f"training the network for {args.epochs} epochs (as `tinygrad-edu train {' '.join(argv)}`)")
    model = train.run(parser.parse_args(argv))["model"]
    model.eval()
    return model


def load_weights(path, model) -> None:
    """Put the weights saved in a `train --save` checkpoint into ``model`` (its optimizer state is not needed)."""
    with np.load(path, allow_pickle=False) as archive:
        state = {name[len("model."):]: archive[name] for name in archive.files if name.startswith("model.")}
    if not state:
        raise ValueError(f"{path} holds no model weights; expected a checkpoint written by `train --save`")
    try:
        model.load_state_dict(state)
    except (KeyError, ValueError) as err:
        raise ValueError(f"{path} does not hold the network that --sizes, --activation, --loss and --dropout "
                         f"describe; give the ones it was trained with ({str(err).strip(chr(39))})") from None
