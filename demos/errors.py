"""What the network gets wrong: the confusion matrix, and the test digits it misclassifies.

Entry (t, p) of the confusion matrix counts the test digits of class t that the network assigns
to class p; the diagonal holds the right answers, and every other entry is one kind of mistake.
Looking at the misclassified digits themselves shows which mistakes a person would make too.
The network is trained first (or loaded), as in `train`.
"""

from __future__ import annotations

import numpy as np

from demos import common, trained
from tinygrad_edu.data import render_digit


def add_arguments(parser) -> None:
    parser.add_argument("--count", type=common.positive_int, default=40,
                        help="misclassified digits in the gallery (default 40)")
    parser.add_argument("--png", type=common.picture_file, metavar="PATH", default="errors.png",
                        help="where to save the picture")
    trained.add_arguments(parser)
    common.add_output_arguments(parser)
    common.add_data_arguments(parser)


def confusion_matrix(labels: np.ndarray, predictions: np.ndarray, classes: int = 10) -> np.ndarray:
    """counts[t, p]: how many examples of class t were assigned to class p."""
    return np.bincount(classes * labels + predictions, minlength=classes * classes).reshape(classes, classes)


def run(args) -> dict:
    model = trained.network(args)
    _, _, X_test, y_test = common.load_data(args)
    predictions = common.predict(model, X_test)
    counts = confusion_matrix(y_test, predictions)
    wrong = np.flatnonzero(predictions != y_test)

    print(f"{len(wrong)} of {len(y_test)} test digits misclassified (test accuracy {1 - len(wrong) / len(y_test):.2%})")
    print("\nconfusion matrix: rows are the true digit, columns what the network says")
    print("true " + "".join(f"{p:>6}" for p in range(10)) + "   recognised")
    for t in range(10):
        total = counts[t].sum()
        recall = f"{counts[t, t] / total:>10.1%}" if total else f"{'-':>10}"
        print(f"{t:>4} " + "".join(f"{n:>6}" for n in counts[t]) + "  " + recall)
    mistakes = counts * (1 - np.eye(10, dtype=counts.dtype))
    print("\nthe most common mistakes:")
    for flat in np.argsort(-mistakes, axis=None)[:5]:
        t, p = divmod(int(flat), 10)
        if mistakes[t, p]:
            print(f"  a {t} taken for a {p}: {mistakes[t, p]} times")
    shown = wrong[: args.count]
    print(f"\nthe first {len(shown)} misclassified test digits (index: true → said):")
    print("  " + ", ".join(f"{i}: {y_test[i]}→{predictions[i]}" for i in shown))
    if len(shown):
        pictures = [render_digit(X_test[i], "shade").splitlines() for i in shown[:3]]
        print("\n" + "   ".join(f"{f'a {y_test[i]}, said {predictions[i]}':<28}" for i in shown[:3]))
        print("\n".join("   ".join(rows) for rows in zip(*pictures)))
    draw(args.png, counts, X_test[shown], y_test[shown], predictions[shown])
    return {"confusion": counts, "wrong": wrong, "predictions": predictions, "labels": y_test}


def draw(path, counts, images, labels, said) -> None:
    plt = common.pyplot(path)
    if plt is None:
        return
    columns = 10
    rows = max(1, -(-len(images) // columns))
    fig = plt.figure(figsize=(13, max(5.5, 1.2 * rows)), dpi=80)
    grid = fig.add_gridspec(rows, columns + 7)
    ax = fig.add_subplot(grid[:, :6])
    ax.imshow(np.log1p(counts), cmap="Blues")
    for t in range(10):
        for p in range(10):
            ax.text(p, t, str(counts[t, p]), ha="center", va="center", fontsize=7,
                    color="white" if t == p else "black")
    ax.set(xlabel="the network says", ylabel="true digit", xticks=range(10), yticks=range(10),
           title="confusion matrix (test set)")
    for k, image in enumerate(images):
        ax = fig.add_subplot(grid[k // columns, 7 + k % columns])
        ax.imshow(image.reshape(28, 28), cmap="gray_r", vmin=0, vmax=1)
        ax.set_title(f"{labels[k]}, says {said[k]}", fontsize=7)
        ax.axis("off")
    fig.suptitle("What the network gets wrong")
    common.save_figure(plt, fig, path)
