"""What the demos share: flags, finding the data, building a network, the epoch loop, files."""

from __future__ import annotations

import argparse
import io
import math
import os
import struct
import zlib

import numpy as np
from tqdm import tqdm

import nn
import tinygrad_edu as tg
from tinygrad_edu.data import batches, load_fashion_mnist, load_mnist

ACTIVATIONS = {"sigmoid": nn.Sigmoid, "relu": nn.ReLU, "tanh": nn.Tanh}


# --------------------------------------------------------------------------------- arguments
def positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text}")
    return value


def non_negative_int(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be an integer ≥ 0, got {text}")
    return value


def positive_float(text: str) -> float:
    value = float(text)
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"must be a positive finite number, got {text}")
    return value


def probability(text: str) -> float:
    value = float(text)
    if not 0 <= value < 1:
        raise argparse.ArgumentTypeError(f"must be in [0, 1), got {text}")
    return value


def writable_file(text: str) -> str:
    """A path that can be written (checked now, before any work: see `tinygrad_edu.check_writable`)."""
    try:
        tg.check_writable(text)
    except OSError as err:
        raise argparse.ArgumentTypeError(str(err)) from None
    return text


def picture_file(text: str) -> str:
    """A path for a PNG picture: writable (see `writable_file`), and nothing there but a picture or nothing.

    A picture replaces only a PNG picture (or an empty file): ``--png model.npz`` must not turn
    a trained network into a drawing.
    """
    writable_file(text)
    try:
        with tg.open_regular(text) as file:
            start = file.read(8)
    except FileNotFoundError:
        return text
    except OSError as err:
        raise argparse.ArgumentTypeError(f"cannot write {text}: {err}") from None
    if start and start != PNG_SIGNATURE:
        raise argparse.ArgumentTypeError(f"not replacing {text}: it is not a PNG picture (give another name, or "
                                         "delete it first)")
    return text


def layer_sizes(text: str) -> list[int]:
    """'784,30,10' -> [784, 30, 10]."""
    try:
        sizes = [int(part) for part in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers such as 784,30,10, got {text!r}") from None
    if len(sizes) < 2 or min(sizes) < 1:
        raise argparse.ArgumentTypeError(f"need at least an input and an output size, all positive, got {text!r}")
    return sizes


class StoreGiven(argparse.Action):
    """argparse's plain store, which also adds the flag to ``args.given``: the flags typed, not defaulted.

    A resumed run tells the settings given on its command line (which must agree with the
    checkpoint's) from those left out (taken from the checkpoint). `track_given` installs it for a parser.
    """

    def __call__(self, parser, namespace, values, option_string=None):
        setattr(namespace, self.dest, values)
        namespace.given = namespace.given | {self.dest}


def track_given(parser: argparse.ArgumentParser) -> None:
    """Make every flag of ``parser`` a `StoreGiven`, recorded in ``args.given`` when typed."""
    parser.register("action", None, StoreGiven)
    parser.set_defaults(given=frozenset())


def add_data_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("data")
    group.add_argument("--data", metavar="DIR", default=None,
                       help="folder holding mnist/ and fashion-mnist/ (default: $TINYGRAD_EDU_DATA, "
                            "then the user cache folder)")
    group.add_argument("--download", action="store_true",
                       help="download the data set from the canonical mirrors if it is not found")
    group.add_argument("--subset", type=positive_int, default=None, metavar="N",
                       help="use only the first N training and N//6 test examples (quick runs)")


def add_output_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--seed", type=non_negative_int, default=0, help="seed for initialisation and shuffling (default 0)")
    parser.add_argument("--quiet", action="store_true", help="no progress bars or per-epoch lines")


# -------------------------------------------------------------------------------------- data
def load_data(args, dataset: str = "mnist", **options):
    """(X_train, y_train, X_test, y_test): pixels scaled to [0, 1], one row of 784 per image.

    ``options`` go to the loader (``raw=True``, ``standardize=True``, see `load_mnist`).
    """
    load = {"mnist": load_mnist, "fashion-mnist": load_fashion_mnist}[dataset]
    X_train, y_train = load(args.data, train=True, download=args.download, **options)
    X_test, y_test = load(args.data, train=False, download=args.download, **options)
    if args.subset is not None:
        n_test = max(1, args.subset // 6)
        X_train, y_train, X_test, y_test = X_train[: args.subset], y_train[: args.subset], X_test[:n_test], y_test[:n_test]
    return X_train, y_train, X_test, y_test


# ----------------------------------------------------------------------------------- models
def mlp(sizes: list[int], activation: str = "sigmoid", init: str = "pytorch", seed: int = 0,
        final_activation: bool = False, dropout: float = 0.0, dtype=np.float32) -> nn.Sequential:
    """A feed-forward network: Linear layers of the given sizes with an activation between them.

    ``final_activation`` also puts one after the last layer (the lecture's sigmoid output layer,
    used with the quadratic cost); leave it off for cross-entropy, which takes raw scores (logits).
    ``dropout`` > 0 puts a Dropout layer after every hidden activation.
    """
    generator = np.random.default_rng(seed)
    layers = []
    for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(nn.Linear(n_in, n_out, init=init, generator=generator, dtype=dtype))
        hidden = i < len(sizes) - 2
        if hidden or final_activation:
            layers.append(ACTIVATIONS[activation]())
        if hidden and dropout > 0:
            layers.append(nn.Dropout(dropout))
    return nn.Sequential(*layers)


def predict(model: nn.Module, X: np.ndarray, batch_size: int = 10_000) -> np.ndarray:
    """The class each example is assigned: the index of the largest output."""
    model.eval()
    with tg.no_grad():
        outputs = [model(tg.Tensor(X[i:i + batch_size])).numpy() for i in range(0, len(X), batch_size)]
    return np.concatenate(outputs).argmax(axis=1)


def accuracy(model: nn.Module, X: np.ndarray, y: np.ndarray, batch_size: int = 10_000) -> float:
    return float((predict(model, X, batch_size) == y).mean())


# ---------------------------------------------------------------------------------- training
class Diverged(ArithmeticError):
    """Training produced a NaN or infinite loss or weight: its epoch and step are in the message."""


def train_epochs(model, step, X, T, *, epochs, batch_size, seed, start=0, quiet=False, desc=""):
    """The loop over epochs that every demo shares; yields ``(epoch, mean loss)`` after each one.

    An epoch is one pass over the examples ``X`` with their targets ``T`` (one-hot rows or labels),
    in shuffled batches of ``batch_size``; ``step(images, targets)`` makes one update from a batch
    and returns its loss as a tensor (`demos.train.make_step`). Epochs count from 0. After each one, the demo
    evaluates, prints, steps its learning-rate scheduler, saves or stops (``break``) as it needs.

    Each epoch's randomness (the shuffle, and dropout masks from the engine's default generator)
    comes from (seed, epoch) alone, so a run resumed at epoch ``start`` draws exactly what an
    unbroken run would. A step whose loss is not finite, or an epoch that leaves a weight that is
    not, raises `Diverged`: nothing is evaluated or saved from a network that has blown up.
    """
    for epoch in range(start, epochs):
        model.train()
        rng = np.random.default_rng([seed, epoch])
        tg.manual_seed([seed, epoch, 1])  # a stream of its own, independent of the shuffle's
        shuffled = batches(X, T, batch_size, shuffle=True, seed=rng)
        progress = tqdm(shuffled, desc=f"{desc}epoch {epoch + 1}/{epochs}", total=-(-len(X) // batch_size),
                        leave=False, disable=quiet, unit="batch")
        total = 0.0
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):  # NaN and inf are checked for here
            for number, (X_batch, T_batch) in enumerate(progress, 1):
                try:
                    loss = step(tg.Tensor(X_batch), tg.Tensor(T_batch)).item()
                except FloatingPointError as err:  # the losses refuse a NaN or infinite value
                    raise Diverged(f"training diverged in epoch {epoch + 1}, step {number}: {err}") from None
                if not math.isfinite(loss):
                    raise Diverged(f"training diverged in epoch {epoch + 1}, step {number}: the loss is {loss} "
                                   "(try a smaller learning rate)")
                total += loss * len(X_batch)
        blown = [name for name, p in model.named_parameters() if not np.isfinite(p.data).all()]
        if blown:
            raise Diverged(f"training diverged in epoch {epoch + 1}: after its last step ({number}) "
                           f"{', '.join(blown)} hold NaN or infinite numbers (try a smaller learning rate)")
        yield epoch, total / len(X)


def check_memory(count: int, flags: str, copies: int) -> None:
    """Refuse, before any data is loaded, a network of ``count`` float32 parameters (times ``copies``:
    the weights, their gradients, an optimizer's buffers) that would not fit in this machine's memory;
    ``flags`` are the command-line flags that asked for it, for the message."""
    needed = 4 * count * copies
    try:
        available = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):
        return  # no way to ask on this system: let the allocation decide
    if needed > available:
        raise MemoryError(f"{flags}: {count:,} weights and biases need about "
                          f"{needed / 2**30:,.1f} GiB (weights, gradients and optimizer state), more than this "
                          f"machine's {available / 2**30:,.1f} GiB of memory")

# ------------------------------------------------------------------------------------- files
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"  # the first 8 bytes of every PNG file


def write_png(path, image: np.ndarray) -> None:
    """Save a 2-D uint8 array as an 8-bit grayscale PNG, with only the standard library."""
    height, width = image.shape

    def chunk(kind: bytes, payload: bytes) -> bytes:
        return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))

    rows = b"".join(b"\x00" + row.tobytes() for row in np.ascontiguousarray(image, dtype=np.uint8))  # 0: no filter
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)  # 8-bit depth, color type 0: gray
    with tg.atomic_file(path) as file:
        file.write(PNG_SIGNATURE + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows, 9)) + chunk(b"IEND", b""))


def pyplot(path):
    """matplotlib's pyplot drawing to files, or None (after saying how to get the picture ``path``) without it."""
    try:
        import matplotlib

        matplotlib.use("Agg")  # draw to a file, no window
        import matplotlib.pyplot as plt
    except ImportError:
        print(f"(no picture: matplotlib is not installed; pip install -e \".[plots]\" to get {path})")
        return None
    return plt


def save_figure(plt, fig, path) -> None:
    """Write a matplotlib figure to ``path`` as a PNG of 256 colours (a third of the bytes), atomically; close it."""
    from PIL import Image  # installed with matplotlib

    drawn, buffer = io.BytesIO(), io.BytesIO()
    fig.savefig(drawn, format="png", bbox_inches="tight")
    plt.close(fig)
    Image.open(drawn).convert("RGB").quantize(colors=256).save(buffer, format="png", optimize=True)
    with tg.atomic_file(path) as file:
        file.write(buffer.getvalue())
    print(f"saved {path}")


def plot_curves(path, panels: dict, ylabel: str, title: str, logx: bool = False) -> None:
    """Save line plots side by side as a PNG, if matplotlib is installed; else say how to get it.

    ``panels`` maps each panel's x-axis label to its curves, {curve label: (xs, ys)}.
    """
    plt = pyplot(path)
    if plt is None:
        return
    fig, axes = plt.subplots(1, len(panels), figsize=(5 * len(panels), 3.6), dpi=80, squeeze=False)
    for ax, (xlabel, curves) in zip(axes[0], panels.items()):
        for label, (xs, ys) in curves.items():
            ax.plot(xs, ys, label=label)
        ax.set(xlabel=xlabel, ylabel=ylabel)
        if logx:
            ax.set_xscale("log")
        ax.grid(alpha=0.3)
        ax.legend()
    fig.suptitle(title)
    save_figure(plt, fig, path)
