"""`tinygrad-edu COMMAND` (or `python -m tinygrad_edu` or `python -m demos`): the lecture's demos, one subcommand each.

This file imports only the standard library when it loads; the demos (and NumPy with them) are
imported inside `main`, where a Ctrl-C during start-up is handled like one during training.
"""

from __future__ import annotations

import argparse
import codecs
import contextlib
import importlib
import os
import signal
import sys
import unicodedata

# Subcommand name -> demo module in demos/, in the lecture's order. Each has add_arguments(parser) and run(args).
DEMOS = {
    "show-digits": "show_digits",
    "perceptron": "perceptron",
    "sigmoid-vs-step": "sigmoid_vs_step",
    "numerical-gradient": "numerical_gradient",
    "graph": "graph",
    "descent-variants": "descent_variants",
    "cost-surface": "cost_surface",
    "newton": "newton",
    "scaling": "scaling",
    "train": "train",
    "hidden-units": "hidden_units",
    "errors": "errors",
    "deep": "deep",
    "adversarial": "adversarial",
    "random-labels": "random_labels",
    "fashion": "fashion",
    "cnn": "cnn",
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tinygrad-edu", description="The neural-networks lecture, as runnable demos on MNIST.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, module_name in DEMOS.items():
        module = importlib.import_module(f"demos.{module_name}")
        summary = module.__doc__.strip().splitlines()[0]
        sub = commands.add_parser(name, help=summary, description=module.__doc__,
                                  formatter_class=argparse.RawDescriptionHelpFormatter)
        module.add_arguments(sub)
        sub.set_defaults(run=module.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run one demo; return the exit status. Expected failures are one line on stderr, never a traceback."""
    with _guarded_streams(), _one_interrupt():
        command = "tinygrad-edu"
        try:
            with ctrl_c_deferred():  # raised inside Python's import machinery, a Ctrl-C can be swallowed
                parser = build_parser()  # ("Exception ignored in _get_module_lock") or become an ImportError
            args = parser.parse_args(argv)
            command = f"tinygrad-edu {args.command}"
            return _run(args, command)
        except KeyboardInterrupt as err:
            print(f"{command}: interrupted{f'; {err}' if str(err) else ''}", file=sys.stderr)
            return 130
        except BrokenPipeError:
            # The reader of our output has gone (`| head -1`): stop quietly, with the status of a
            # command stopped by SIGPIPE (the stream now points at nothing, so the exit's flush cannot fail).
            return 128 + 13


def _run(args, command: str) -> int:
    from demos.common import Diverged
    from tinygrad_edu.data import DataError

    try:
        args.run(args)
    except (DataError, OSError, ValueError, KeyError, MemoryError, Diverged) as err:
        if isinstance(err, BrokenPipeError):
            raise
        # Expected failures (missing data, a bad checkpoint, an impossible setting, a run that
        # diverged) get one line. A KeyError's text is the repr of its key: show the key itself.
        message = err.args[0] if isinstance(err, KeyError) and err.args and isinstance(err.args[0], str) else str(err)
        print(f"{command}: error: {message}", file=sys.stderr)
        return 1 if isinstance(err, Diverged) else 2
    return 0


# ------------------------------------------------------------------------------ output streams
class _Stream:
    """sys.stdout or sys.stderr, deciding once what a failed write means.

    stderr carries progress bars and notices: when it is closed, full, or its reader has quit,
    they are dropped and the work goes on (a progress bar must never stop training). stdout
    carries the results: a failed write ends the command, with an error that says it was the
    output (a reader that quit, BrokenPipeError, ends it quietly). Either way the stream is then
    pointed at nothing, so that Python's final flush at exit cannot fail a second time.
    """

    def __init__(self, stream, name: str, required: bool):
        self._stream, self._name, self._required, self._broken = stream, name, required, stream is None

    def write(self, text: str) -> int:
        if not self._broken:
            try:
                return self._stream.write(text)
            except (OSError, ValueError) as err:  # ValueError: the stream was closed
                self._give_up(err)
        return len(text)

    def flush(self) -> None:
        if not self._broken:
            try:
                self._stream.flush()
            except (OSError, ValueError) as err:
                self._give_up(err)

    def _give_up(self, err) -> None:
        self._broken = True
        with contextlib.suppress(Exception):  # a stream without a file descriptor has nothing to redirect
            os.dup2(os.open(os.devnull, os.O_WRONLY), self._stream.fileno())
        if self._required:
            if isinstance(err, BrokenPipeError):
                raise err
            raise OSError(f"cannot write to {self._name}: {getattr(err, 'strerror', None) or err}") from None

    def isatty(self) -> bool:
        return not self._broken and self._stream.isatty()

    def __getattr__(self, name):
        return getattr(self._stream, name)


def _ascii_fallback(err: UnicodeEncodeError):
    """An encoding-error handler: '±' written where only ASCII goes (LC_ALL=C) becomes '+/-', not a crash."""
    text = err.object[err.start:err.end]
    plain = "".join(_SPELLED.get(c) or unicodedata.normalize("NFKD", c).encode("ascii", "ignore").decode() or "?"
                    for c in text)
    return plain, err.end


_SPELLED = {"±": "+/-", "≥": ">=", "≤": "<=", "−": "-", "→": "->", "·": "*", "×": "x", "…": "...", "η": "eta",
            "γ": "gamma", "σ": "sigma", "Σ": "sum", "Δ": "delta ", "∂": "d", "‖": "|", "²": "^2", "ᵉ": "^e"}
codecs.register_error("tinygrad_edu_ascii", _ascii_fallback)


@contextlib.contextmanager
def _guarded_streams():
    """Install the `_Stream` guards on stdout and stderr (and put them back after)."""
    for fd in (0, 1, 2):  # a descriptor closed by the caller (`2>&-`) must not be reused by a checkpoint we open
        try:
            os.fstat(fd)
        except OSError:
            with contextlib.suppress(OSError):
                os.open(os.devnull, os.O_RDWR)  # takes the lowest free descriptor, this one
    saved = sys.stdout, sys.stderr
    for stream in saved:
        if stream is not None and hasattr(stream, "reconfigure") and (stream.encoding or "").lower() != "utf-8":
            with contextlib.suppress(Exception):
                stream.reconfigure(errors="tinygrad_edu_ascii")
    sys.stdout = _Stream(saved[0], "standard output", required=True)
    sys.stderr = _Stream(saved[1], "standard error", required=False)
    try:
        yield
    finally:
        with contextlib.suppress(Exception):
            sys.stdout.flush()
        sys.stdout, sys.stderr = saved


@contextlib.contextmanager
def ctrl_c_deferred():
    """A block that Ctrl-C does not cut short: a SIGINT arriving inside it takes effect as the block ends.

    Saving a checkpoint and recording that it was saved must happen together; otherwise an
    interruption between the two names an older checkpoint than the one on disk. (Python runs
    signal handlers in the main thread whichever thread the signal reaches, so a handler that
    notes the signal defers it reliably; blocking the signal in the main thread would not.)
    """
    caught = []
    try:
        previous = signal.signal(signal.SIGINT, lambda signum, frame: caught.append(signum))
    except ValueError:  # not the main thread: signals are not ours to handle
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
        if caught and callable(previous):
            previous(signal.SIGINT, None)  # the handler it would have met: raises KeyboardInterrupt
        elif caught and previous == signal.SIG_DFL:
            raise KeyboardInterrupt


@contextlib.contextmanager
def _one_interrupt():
    """Ctrl-C raises KeyboardInterrupt once; a second one, while the first is being handled, is ignored."""
    def interrupt(signum, frame):
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        raise KeyboardInterrupt

    if signal.getsignal(signal.SIGINT) is not signal.default_int_handler:  # ignored (a background job), or someone's own
        yield
        return
    try:
        signal.signal(signal.SIGINT, interrupt)
    except ValueError:  # not the main thread: signals are not ours to handle
        yield
        return
    try:
        yield
    finally:
        if signal.getsignal(signal.SIGINT) is interrupt:  # not interrupted: as it was
            signal.signal(signal.SIGINT, signal.default_int_handler)
        # interrupted: it stays ignored, so that a Ctrl-C while the process exits cannot kill it half-way
