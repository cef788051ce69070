"""Checkpoints: all it takes to continue a run exactly, in one .npz file, checked member by member on loading.

A checkpoint holds the model's parameters and buffers (``model.*``), the optimizer's
hyperparameters and state (``optim.*``) and the learning-rate scheduler's (``scheduler.*``), both
flattened into arrays by `nn.utils.flatten_state_dict`, one entry per finished epoch
(``history.*``) and the settings that made it (``settings``, JSON text). It has no pickled
objects, and it is written atomically, only when every number in it is finite, with a SHA-256
digest of all the other members (``digest``). Loading trusts nothing: only a regular file is
opened (a FIFO or a device is refused before a byte is read); every member's name, shape and
dtype are checked from its .npy header before its data is read (a damaged header cannot make us
allocate terabytes, and members are stored uncompressed, so none can claim more bytes than the
file holds), then the zip's CRC-32 of each member, then the values and their consistency: the
optimizer's hyperparameters and the schedule's position must be those the recorded settings give
after the recorded epochs, every parameter must have taken as many optimizer steps, and the
digest must match (members swapped or edited by hand). Whatever is wrong ends in one
`CheckpointError` naming the file, and nothing is loaded.

`claim` is the overwrite rule of ``--save``: a file is replaced only if it is the checkpoint being
continued, a checkpoint of the same run, or one this run wrote itself (so that two runs saving to
one path do not silently leave the last writer's).
"""

from __future__ import annotations

import argparse
import copy
import hashlib
import json
import math
import os
import zipfile
import zlib

import numpy as np

import nn
import tinygrad_edu as tg

HISTORY_KEYS = ("epoch", "loss", "test_accuracy", "seconds")
_SETTINGS_BYTES = 1 << 16  # a settings record is a few hundred characters; refuse to read more than this


class CheckpointError(ValueError):
    """A checkpoint that cannot be used: damaged, not a checkpoint, or not one for this model."""


def save(path, model, optimizer, history: list[dict], settings: dict, scheduler=None, replacing=False):
    """Write the model, optimizer, scheduler, history and settings to ``path``, atomically; never non-finite numbers.

    ``replacing`` is what the file at ``path`` must still be (as `claim` or the previous `save`
    returned it), or False to replace whatever is there. Returns what the file now is.
    """
    arrays = {f"model.{k}": v for k, v in model.state_dict().items()}
    arrays.update(_flat_states(optimizer, scheduler))
    arrays.update({f"history.{k}": np.array([h[k] for h in history], dtype=np.float64) for k in HISTORY_KEYS})
    for name, array in arrays.items():
        if array.dtype.kind == "f" and not np.isfinite(array).all():
            raise ValueError(f"not saving {path}: {name} holds NaN or infinite numbers (training diverged); "
                             "the file keeps its last good contents")
    arrays["settings"] = np.array(json.dumps(settings))
    arrays["digest"] = np.array(_digest(arrays))
    with tg.atomic_file(path, expect=replacing) as file:
        np.savez(file, **arrays)
    return tg.files.identity(path)


def claim(path, settings: dict, resume=None):
    """Check, before any work, that ``--save path`` may replace what is there; return it for `save`'s ``replacing``.

    Nothing, an empty file, the checkpoint being continued (``resume``), or a checkpoint with the
    very same ``settings`` (a run repeated) may be replaced. Anything else is refused with a
    CheckpointError: another run's checkpoint (its differences named), or a file that is not a
    checkpoint at all. Slips such as ``--save`` given the data's or a picture's name lose nothing.
    """
    found = tg.files.identity(path)
    if found is None or os.path.getsize(path) == 0:
        return found
    if resume is not None and os.path.exists(resume) and os.path.samefile(path, resume):
        return found
    try:
        recorded = read_settings(path)
    except CheckpointError as err:
        raise CheckpointError(f"--save {path}: not replacing it, it is not a checkpoint ({err}); give another "
                              "name, or delete it first") from None
    differences = [f"{key} {_as_flag(recorded.get(key))} there, {_as_flag(value)} here"
                   for key, value in settings.items() if recorded.get(key) != value]
    differences += [f"{key} {_as_flag(value)} there" for key, value in recorded.items() if key not in settings]
    if differences:
        raise CheckpointError(f"--save {path}: not replacing it, it holds another run ({'; '.join(differences)}); "
                              f"give another name, delete it first, or continue it with --resume {path}")
    return found


def read_settings(path) -> dict:
    """The settings recorded in the checkpoint at ``path``, as a dict; the other members are not read."""

    arrays = _read(path, lambda name, shape, dtype: _check_settings_header(path, shape, dtype), only={"settings"})
    if "settings" not in arrays:
        raise CheckpointError(f"{path}: no record of the settings that made it (not a checkpoint of this "
                              "version's `train --save`?)")
    try:
        settings = json.loads(str(arrays["settings"]))
    except ValueError:
        settings = None
    if not isinstance(settings, dict):
        raise CheckpointError(f"{path}: its settings record is not a JSON object")
    return settings


def load(path, model, optimizer, scheduler=None) -> list[dict]:
    """Check everything in the checkpoint at ``path`` against ``model``, ``optimizer`` and ``scheduler``, load it;
    return the history.

    Nothing is changed unless every member passed its checks.
    """
    expected = _members(model, optimizer, scheduler)
    fresh = copy.deepcopy((optimizer, scheduler))  # as the recorded settings make them, before any epoch
    history_lengths = set()

    def check(name, shape, dtype):
        """The header of one member, before its data is read."""
        if name.startswith("history.") and name[len("history."):] in HISTORY_KEYS:
            if len(shape) != 1 or dtype != np.float64:
                raise CheckpointError(f"{path}: {name} should be a column of float64, found {dtype} of shape {shape}")
            history_lengths.add(shape[0])
            if len(history_lengths) > 1:
                raise CheckpointError(f"{path}: its history columns differ in length")
        elif name == "settings":
            _check_settings_header(path, shape, dtype)
        elif name == "digest":
            if shape != () or dtype != np.dtype("<U64"):
                raise CheckpointError(f"{path}: its digest should be 64 hex digits, found {dtype} of shape {shape}")
        elif name not in expected:
            raise CheckpointError(f"{path}: unexpected member {name!r} (a checkpoint of another model, optimizer "
                                  "or schedule?)")
        elif (shape, dtype) != expected[name]:
            raise CheckpointError(f"{path}: {name} has dtype {dtype} and shape {shape}, but the model and optimizer "
                                  f"need {expected[name][1]} of shape {expected[name][0]}")

    arrays = _read(path, check)
    # The optimizer's state may be absent (saved before its first step), but not in part.
    required = [name for name in expected if not name.startswith("optim.state.") or
                any(other.startswith("optim.state.") for other in arrays)]
    missing = [name for name in required + [f"history.{k}" for k in HISTORY_KEYS] + ["digest"] if name not in arrays]
    if missing:
        raise CheckpointError(f"{path}: missing {', '.join(missing)}")
    for name, value in arrays.items():
        if value.dtype.kind == "f" and not np.isfinite(value).all():
            raise CheckpointError(f"{path}: {name} holds NaN or infinite numbers")
        # A scalar integer in the state counts the steps taken (Adam's t): at least 1 once saved.
        least = 1 if name.startswith("optim.state.") and value.dtype.kind in "iu" else 0
        if name.startswith("optim.") and value.ndim == 0 and not value >= least:
            raise CheckpointError(f"{path}: {name} is {value.item()}, but it cannot be less than {least}")
    history = _checked_history(path, {k: arrays[f"history.{k}"] for k in HISTORY_KEYS})
    _check_consistency(path, arrays, *fresh, epochs=len(history))
    if str(arrays["digest"]) != _digest(arrays):
        raise CheckpointError(f"{path}: its members do not match the digest saved with them (members edited, "
                              "swapped or replaced since it was written)")

    def section(prefix: str) -> dict:
        return {name[len(prefix) + 1:]: value for name, value in arrays.items() if name.startswith(prefix + ".")}

    try:  # all checked above; these check again, and anything they still refuse is this file's fault
        model.load_state_dict(section("model"))
        optimizer.load_state_dict(nn.utils.unflatten_state_dict(section("optim")))
        if scheduler is not None:
            scheduler.load_state_dict(nn.utils.unflatten_state_dict(section("scheduler")))
    except (ValueError, KeyError, TypeError, RuntimeError) as err:
        raise CheckpointError(f"{path}: {err}") from None
    return history


def _check_consistency(path, arrays: dict, optimizer, scheduler, epochs: int) -> None:
    """Refuse hyperparameters and a schedule that the recorded settings would not have after ``epochs`` epochs,
    and step counts that differ between parameters. ``optimizer`` and ``scheduler`` are fresh (epoch 0) copies."""
    if scheduler is not None:
        for _ in range(epochs):  # what the training loop does after each epoch
            scheduler.step()
    settled = {name: value for name, value in _flat_states(optimizer, scheduler).items()
               if not name.startswith("optim.state.")}
    for name, value in settled.items():
        if name in arrays and not np.array_equal(arrays[name], value):
            raise CheckpointError(f"{path}: {name} is {_shown(arrays[name])}, but its recorded settings give "
                                  f"{_shown(value)} after {epochs} epoch{'s' if epochs != 1 else ''} (a checkpoint "
                                  "edited, or made by another program?)")
    counts = {}
    for name, value in arrays.items():
        if name.startswith("optim.state.") and value.ndim == 0 and value.dtype.kind in "iu":
            counts.setdefault(name.split(".")[-1], {})[name] = int(value)
    for key, steps in counts.items():
        if len(set(steps.values())) > 1:
            shown = ", ".join(f"{name} {count}" for name, count in steps.items())
            raise CheckpointError(f"{path}: its parameters have taken different numbers of steps ({shown}); "
                                  "an optimizer steps them all together")


def _shown(value: np.ndarray) -> str:
    return str(value.item() if value.ndim == 0 else value.tolist())


def _digest(arrays: dict) -> str:
    """SHA-256 of every member but the digest itself: names, dtypes, shapes and bytes, in name order."""
    digest = hashlib.sha256()
    for name in sorted(arrays):
        if name != "digest":
            array = np.ascontiguousarray(arrays[name])
            digest.update(f"{name} {array.dtype.str} {array.shape}\n".encode())
            digest.update(array.tobytes())
    return digest.hexdigest()


def take_settings(path, args, keys: tuple, dataset: str, add_arguments) -> None:
    """Make ``args`` continue the run of the checkpoint at ``path``.

    Each of the settings ``keys`` left off the command line is taken from the checkpoint; one given
    with another value than the checkpoint's is refused, all differences named in one line. So is
    another data set. ``--epochs``, how far to go, is the checkpoint's unless given. The recorded
    values are checked as if typed as flags (``add_arguments`` adds them to a parser).
    """
    recorded = read_settings(path)
    missing = [key for key in (*keys, "dataset", "epochs") if key not in recorded]
    if missing:
        raise CheckpointError(f"{path}: its settings lack {', '.join(missing)}; a checkpoint is continued by "
                              "the command that made it (tinygrad-edu train, or tinygrad-edu cnn), with --resume")
    if recorded["dataset"] != dataset:
        raise CheckpointError(f"{path} was trained on {recorded['dataset']}, not {dataset}: resume it with the "
                              "command that made it")
    parser = _SettingsParser(path)
    add_arguments(parser)
    checked = parser.parse_args([f"--{key.replace('_', '-')}={_as_flag(recorded[key])}"
                                 for key in (*keys, "epochs") if recorded[key] is not None])
    differences = [f"--{key.replace('_', '-')} {_as_flag(getattr(args, key))} (the checkpoint has "
                   f"{_as_flag(getattr(checked, key))})" for key in keys
                   if key in args.given and getattr(args, key) != getattr(checked, key)]
    if differences:
        raise CheckpointError(f"{path} was made with other settings: {'; '.join(differences)}. Leave these flags "
                              "out to continue it, or start a new run without --resume")
    for key in keys:
        setattr(args, key, getattr(checked, key))
    if "epochs" not in args.given:
        args.epochs = checked.epochs


def where_to_continue(last_good) -> str:
    """One sentence on the last checkpoint written or loaded, ``(path, epochs)``, or None."""
    if last_good is None:
        return "no checkpoint was saved (--save PATH keeps one after every epoch)"
    path, epochs = last_good
    return f"the last good checkpoint is {path}, after epoch {epochs} (--resume {path} continues from it)"


class _SettingsParser(argparse.ArgumentParser):
    """Reads a checkpoint's settings as flags: a value the command line would refuse is a CheckpointError."""

    def __init__(self, path):
        super().__init__(add_help=False)
        self.path = path

    def error(self, message):
        raise CheckpointError(f"{self.path}: its settings are damaged ({message})")


def _as_flag(value) -> str:
    """A setting as typed on the command line: [784, 30, 10] -> 784,30,10."""
    return ",".join(map(str, value)) if isinstance(value, list) else str(value)


def _flat_states(optimizer, scheduler) -> dict:
    """The optimizer's and the scheduler's (if any) state dicts as ``optim.*`` and ``scheduler.*`` arrays."""
    arrays = nn.utils.flatten_state_dict(optimizer.state_dict(), "optim")
    if scheduler is not None:
        arrays.update(nn.utils.flatten_state_dict(scheduler.state_dict(), "scheduler"))
    return arrays


def _members(model, optimizer, scheduler) -> dict:
    """{member name: (shape, dtype)} of a checkpoint of ``model``, ``optimizer`` and ``scheduler``, except the history.

    Which state the optimizer keeps (Adam's averages and step count, SGD's momentum buffers) is
    learned by letting a copy of both take one step with zero gradients.
    """
    model_copy, optimizer_copy = copy.deepcopy((model, optimizer))
    for p in model_copy.parameters():
        p.grad = tg.zeros(*p.shape, dtype=p.dtype)
    optimizer_copy.step()
    members = {f"model.{k}": (v.shape, v.dtype) for k, v in model.state_dict().items()}
    members.update({k: (v.shape, v.dtype) for k, v in _flat_states(optimizer_copy, scheduler).items()})
    return members


def _check_settings_header(path, shape, dtype) -> None:
    if shape != () or dtype.kind != "U" or dtype.itemsize > _SETTINGS_BYTES:
        raise CheckpointError(f"{path}: its settings should be one string, found {dtype} of shape {shape}")


def _checked_history(path, columns: dict) -> list[dict]:
    n = len(columns["epoch"])
    if n == 0:
        raise CheckpointError(f"{path}: its history is empty (no finished epoch)")
    if not np.array_equal(columns["epoch"], np.arange(1, n + 1)):
        raise CheckpointError(f"{path}: its history should number the epochs 1 to {n}")
    if not (np.all(columns["loss"] >= 0) and np.all((columns["test_accuracy"] >= 0) & (columns["test_accuracy"] <= 1))
            and np.all(columns["seconds"] >= 0)):
        raise CheckpointError(f"{path}: its history holds a negative loss or time, or an accuracy outside [0, 1]")
    return [{k: (int(v[i]) if k == "epoch" else float(v[i])) for k, v in columns.items()} for i in range(n)]


def _read(path, check, only=None) -> dict:
    """The arrays of the .npz at ``path`` (those named in ``only``, if given), each header passed to ``check`` first."""
    try:
        with tg.open_regular(path) as opened, zipfile.ZipFile(opened) as archive:
            size = os.fstat(opened.fileno()).st_size
            names = [info.filename for info in archive.infolist()]
            if len(set(names)) != len(names):
                raise CheckpointError(f"{path}: a member appears twice")
            arrays = {}
            for info in archive.infolist():
                if not info.filename.endswith(".npy"):
                    raise CheckpointError(f"{path}: member {info.filename!r} is not a NumPy array")
                name = info.filename[: -len(".npy")]
                if only is not None and name not in only:
                    continue
                if info.compress_type != zipfile.ZIP_STORED:  # a compressed member could claim any size
                    raise CheckpointError(f"{path}: {name} is compressed; checkpoints are written uncompressed")
                with archive.open(info) as member:
                    arrays[name] = _read_member(path, name, info, member, size, check)
    except CheckpointError:
        raise
    except tg.files.SpecialFileError as err:
        raise CheckpointError(f"{err} (not a checkpoint)") from None
    except FileNotFoundError:
        raise CheckpointError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise CheckpointError(f"{path}: is a folder, not a checkpoint") from None
    except (OSError, EOFError, ValueError, zipfile.BadZipFile, zlib.error, NotImplementedError, RuntimeError,
            OverflowError, MemoryError) as err:
        raise CheckpointError(f"{path}: damaged or not a checkpoint ({type(err).__name__}: {err})") from None
    return arrays


def _read_member(path, name, info, member, file_size, check) -> np.ndarray:
    version = np.lib.format.read_magic(member)
    read_header = {(1, 0): np.lib.format.read_array_header_1_0, (2, 0): np.lib.format.read_array_header_2_0}
    if version not in read_header:
        raise CheckpointError(f"{path}: {name} is in .npy format {version}, which checkpoints do not use")
    try:
        shape, fortran_order, dtype = read_header[version](member)
    except Exception as err:  # NumPy parses the header with Python's own tokenizer: any error may come out
        raise CheckpointError(f"{path}: damaged or not a checkpoint ({name} has an unreadable .npy header: "
                              f"{type(err).__name__})") from None
    check(name, shape, dtype)
    nbytes = math.prod(shape) * dtype.itemsize
    if info.file_size != member.tell() + nbytes or info.compress_size > file_size:
        raise CheckpointError(f"{path}: {name} is not as long as its header says (a truncated or damaged file)")
    data = member.read()  # reading to the end also checks the member's CRC-32
    if len(data) != nbytes:
        raise CheckpointError(f"{path}: {name} is shorter than its header says (a truncated file)")
    return np.frombuffer(data, dtype=dtype).reshape(shape, order="F" if fortran_order else "C").copy()
