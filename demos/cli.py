"""`tinygrad-edu COMMAND` (or `python -m tinygrad_edu` or `python -m demos`): the lecture's demos, one subcommand each."""

from __future__ import annotations

import argparse
import contextlib
import os
import sys

from tinygrad_edu.data import DataError

from demos import (adversarial, cnn, cost_surface, deep, descent_variants, errors, fashion, hidden_units,
                   numerical_gradient, perceptron, random_labels, scaling, show_digits, sigmoid_vs_step, train)
from demos.common import Diverged

# Subcommand name -> demo module, in the lecture's order. Each has add_arguments(parser) and run(args).
DEMOS = {
    "show-digits": show_digits,
    "perceptron": perceptron,
    "sigmoid-vs-step": sigmoid_vs_step,
    "numerical-gradient": numerical_gradient,
    "descent-variants": descent_variants,
    "cost-surface": cost_surface,
    "scaling": scaling,
    "train": train,
    "hidden-units": hidden_units,
    "errors": errors,
    "deep": deep,
    "adversarial": adversarial,
    "random-labels": random_labels,
    "fashion": fashion,
    "cnn": cnn,
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tinygrad-edu", description="The neural-networks lecture, as runnable demos on MNIST.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, module in DEMOS.items():
        summary = module.__doc__.strip().splitlines()[0]
        sub = commands.add_parser(name, help=summary, description=module.__doc__,
                                  formatter_class=argparse.RawDescriptionHelpFormatter)
        module.add_arguments(sub)
        sub.set_defaults(run=module.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        args.run(args)
    except BrokenPipeError:
        # The reader of our output has gone (`| head -1`): stop quietly, with the status of a
        # command stopped by SIGPIPE, and point stdout at nothing so the exit's flush cannot fail too.
        with contextlib.suppress(OSError):  # a stdout without a file descriptor has no pipe to flush to
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 128 + 13
    except (DataError, OSError, ValueError, KeyError, MemoryError, Diverged) as err:
        # Expected failures (missing data, a bad checkpoint, an impossible setting, a run that
        # diverged) get one line. A KeyError's text is the repr of its key: show the key itself.
        message = err.args[0] if isinstance(err, KeyError) and err.args and isinstance(err.args[0], str) else str(err)
        print(f"tinygrad-edu {args.command}: error: {message}", file=sys.stderr)
        return 1 if isinstance(err, Diverged) else 2
    except KeyboardInterrupt as err:
        print(f"tinygrad-edu {args.command}: interrupted{f'; {err}' if str(err) else ''}", file=sys.stderr)
        return 130
    return 0
