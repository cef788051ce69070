"""Looking at digits, and corrupting data sets for the random-label experiment (Zhang et al.)."""

from __future__ import annotations

import numpy as np

SHADES = " .:-=+*#%@"  # light to dark


def render_digit(image, style: str = "matrix") -> str:
    """A 28x28 digit as text.

    ``"matrix"``: the lecture's view, the gray value of every pixel from 0.0 (white) to 1.0 (black);
    ``"shade"``: a compact picture, one character per pixel from light to dark.
    ``image`` may be 784 values or 28x28, scaled to [0, 1] or raw 0–255 uint8.
    """
    pixels = np.asarray(image)
    if pixels.size != 784:
        raise ValueError(f"render_digit: expected 784 pixels (28x28), got shape {pixels.shape}")
    pixels = pixels.reshape(28, 28) / (255.0 if pixels.dtype == np.uint8 else 1.0)
    if style == "matrix":
        return "\n".join(" ".join(f"{value:.1f}" for value in row) for row in pixels)
    if style == "shade":
        levels = np.clip((pixels * len(SHADES)).astype(int), 0, len(SHADES) - 1)
        return "\n".join("".join(SHADES[level] for level in row) for row in levels)
    raise ValueError(f"render_digit: unknown style {style!r}, choose 'matrix' or 'shade'")


def random_labels(y, fraction: float = 1.0, seed=None, num_classes: int = 10) -> np.ndarray:
    """A copy of ``y`` in which a ``fraction`` of the labels, chosen at random, are uniformly random classes.

    With ``fraction=1.0`` the labels carry no information about the images at all.
    """
    if not 0 <= fraction <= 1:
        raise ValueError(f"random_labels: fraction must lie in [0, 1], got {fraction}")
    rng = np.random.default_rng(seed)
    y = np.array(y, copy=True)
    chosen = rng.choice(len(y), size=round(fraction * len(y)), replace=False)
    y[chosen] = rng.integers(0, num_classes, size=len(chosen))
    return y


def shuffle_pixels(X, seed=None) -> np.ndarray:
    """Apply one fixed random permutation of the pixel positions to every image (same shape back)."""
    X = np.asarray(X)
    flat = X.reshape(len(X), -1)
    permutation = np.random.default_rng(seed).permutation(flat.shape[1])
    return flat[:, permutation].reshape(X.shape)
