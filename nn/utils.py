"""Gradient clipping, and the flat form of nested state dicts that an .npz file can hold without pickle."""

from __future__ import annotations

import math
import re

import numpy as np

import tinygrad_edu as tg


def _with_grads(parameters) -> list:
    parameters = [parameters] if isinstance(parameters, tg.Tensor) else list(parameters)
    return [p for p in parameters if p.grad is not None]


def clip_grad_norm_(parameters, max_norm: float, norm_type: float = 2.0, error_if_nonfinite: bool = False) -> tg.Tensor:
    """Scale all gradients together so that their joint norm is at most ``max_norm``; return that norm before.

    The joint norm is ‖(‖g₁‖, ‖g₂‖, …)‖ of order ``norm_type`` (``float("inf")``: the largest |g|),
    the norm of all gradients laid end to end. If it exceeds ``max_norm``, every gradient is
    multiplied by max_norm/(norm + 10⁻⁶): the direction of the step is kept, its length capped.
    A NaN or infinite norm is a RuntimeError with ``error_if_nonfinite=True``.
    """
    grads = [p.grad.data for p in _with_grads(parameters)]
    norm_type = float(norm_type)
    if not grads:
        return tg.tensor(0.0)
    # the total comes out in the common type of the gradients (float64 if any is float64), as in PyTorch
    if norm_type == math.inf:
        norms = [np.max(np.abs(g)) if g.size else np.zeros((), g.dtype) for g in grads]
        total = np.max(norms)
    else:
        norms = [np.sum(np.abs(g) ** norm_type) ** (1 / norm_type) for g in grads]
        total = np.sum(np.power(norms, norm_type)) ** (1 / norm_type)
    if error_if_nonfinite and not np.isfinite(total):
        raise RuntimeError(f"clip_grad_norm_: the total norm of order {norm_type} of the gradients is {total}, "
                           "so they cannot be clipped; set error_if_nonfinite=False to clip anyway")
    scale = min(float(max_norm) / (float(total) + 1e-6), 1.0)  # NaN stays NaN and inf gives 0, as in PyTorch
    for g in grads:
        g *= scale
    return tg.Tensor(total)


def clip_grad_value_(parameters, clip_value: float) -> None:
    """Clip every gradient element into [−clip_value, clip_value], in place."""
    if not clip_value >= 0:
        raise ValueError(f"clip_grad_value_: clip_value must be ≥ 0, got {clip_value}")
    for p in _with_grads(parameters):
        np.clip(p.grad.data, -clip_value, clip_value, out=p.grad.data)


# ----------------------------------------------------------------------- flat state dicts
def flatten_state_dict(state, prefix: str = "") -> dict:
    """A nested state dict (an optimizer's or a scheduler's) as {dotted key: array}, storable with ``np.savez``.

    Dict keys join with dots (``"state.0.exp_avg"``); a list or tuple of dicts is numbered in
    brackets (``"param_groups[0].lr"``); numbers and lists of numbers become arrays. Read it back
    with `unflatten_state_dict`; ``load_state_dict`` turns arrays back into the Python types it had.
    """
    flat = {}
    if isinstance(state, dict):
        for key, value in state.items():
            flat.update(flatten_state_dict(value, f"{prefix}.{key}" if prefix else str(key)))
    elif isinstance(state, (list, tuple)) and state and all(isinstance(item, dict) for item in state):
        for i, item in enumerate(state):
            flat.update(flatten_state_dict(item, f"{prefix}[{i}]"))
    else:
        array = np.asarray(state)
        if array.dtype.kind not in "biufU":
            raise TypeError(f"flatten_state_dict: {prefix!r} holds {state!r}, which is not a number, a boolean, a string "
                            "or an array of them, so it cannot be stored without pickle")
        flat[prefix] = array
    return flat


_PART = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


def unflatten_state_dict(flat: dict) -> dict:
    """The nested dict that `flatten_state_dict` flattened (all-digit dict keys come back as ints)."""
    nested: dict = {}
    for key, value in flat.items():
        # each part of the key: (slot, whether it is a list position)
        path = [(int(index), True) if index else (int(name) if name.isdigit() else name, False)
                for name, index in _PART.findall(key)]
        node = nested
        for (slot, _), (_, next_is_position) in zip(path, path[1:]):
            node = _slot(node, slot, [] if next_is_position else {})
        _slot(node, path[-1][0], value)
    return nested


def _slot(container, slot, default):
    """``container[slot]``, set to ``default`` first if it is not there yet (lists grow to reach it)."""
    if isinstance(container, list):
        container.extend([None] * (slot + 1 - len(container)))
        if container[slot] is None:
            container[slot] = default
        return container[slot]
    return container.setdefault(slot, default)
