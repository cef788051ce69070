"""Checkpoints crafted to be well formed but inconsistent, special files and size bombs given as
checkpoints, and the overwrite rule of --save: each is one CheckpointError naming the file, before
anything is read that should not be, and nothing is loaded or lost."""

from __future__ import annotations

import os
import re
import signal
import zipfile

import numpy as np
import pytest

import nn
import tinygrad_edu as tg
from demos import checkpoints
from demos.checkpoints import CheckpointError

HISTORY = [{"epoch": e, "loss": 0.5 / e, "test_accuracy": 0.25, "seconds": 1.0} for e in (1, 2, 3)]
SETTINGS = {"sizes": [3, 2, 2], "lr": 0.5, "seed": 0, "dataset": "mnist", "epochs": 3}


def build(optimizer: str, gamma: float = 0.5):
    """A 3-2-2 network (its two biases have one shape), its optimizer and an exponential schedule."""
    model = nn.Sequential(nn.Linear(3, 2, generator=np.random.default_rng(0)), nn.Sigmoid(),
                          nn.Linear(2, 2, generator=np.random.default_rng(1)))
    opt = (nn.optim.Adam(model.parameters(), lr=0.5, betas=(0.8, 0.9)) if optimizer == "adam" else
           nn.optim.SGD(model.parameters(), lr=0.5, momentum=0.5))
    return model, opt, nn.optim.lr_scheduler.ExponentialLR(opt, gamma=gamma)


def trained(optimizer: str):
    """Three 'epochs' of two steps each, with a schedule step after each, as `train` does."""
    model, opt, scheduler = build(optimizer)
    for _ in HISTORY:
        for step in range(2):
            opt.zero_grad()
            model(tg.Tensor(np.full((4, 3), step + 1.0, dtype=np.float32))).sum().backward()
            opt.step()
        scheduler.step()
    return model, opt, scheduler


@pytest.fixture(params=["adam", "sgd"])
def saved(tmp_path, request):
    path = tmp_path / "ck.npz"
    checkpoints.save(path, *trained(request.param)[:2], HISTORY, SETTINGS, trained(request.param)[2])
    return path, request.param


def members(path) -> dict:
    with np.load(path, allow_pickle=False) as archive:
        return {name: archive[name] for name in archive.files}


def craft(path, arrays: dict, digest: bool = True) -> None:
    """Rewrite the checkpoint with these members and, unless told not to, a digest that matches them."""
    if digest:
        arrays = {**arrays, "digest": np.array(checkpoints._digest(arrays))}
    np.savez(path, **arrays)


def load_fresh(path, optimizer):
    model, opt, scheduler = build(optimizer)
    before = (model.state_dict(), nn.utils.flatten_state_dict(opt.state_dict()), scheduler.state_dict())
    try:
        return checkpoints.load(path, model, opt, scheduler)
    finally:  # loaded completely, or not at all
        after = (model.state_dict(), nn.utils.flatten_state_dict(opt.state_dict()), scheduler.state_dict())
        changed = any(not np.array_equal(a, after[0][k]) for k, a in before[0].items())
        assert changed or all(np.array_equal(v, after[1][k]) for k, v in before[1].items())


def test_a_consistent_checkpoint_loads_exactly(saved):
    path, optimizer = saved
    model, opt, scheduler = build(optimizer)
    assert checkpoints.load(path, model, opt, scheduler) == HISTORY
    reference = trained(optimizer)
    assert scheduler.get_last_lr() == reference[2].get_last_lr() == [0.5 * 0.5 ** 3]
    for key, value in nn.utils.flatten_state_dict(reference[1].state_dict()).items():
        np.testing.assert_array_equal(nn.utils.flatten_state_dict(opt.state_dict())[key], value, err_msg=key)


@pytest.mark.parametrize("member, value, shown", [
    ("optim.param_groups[0].lr", 0.5, "0.5, but its recorded settings give 0.0625 after 3 epochs"),
    ("optim.param_groups[0].lr", 0.0625 * 2, "0.125"),
    ("optim.param_groups[0].initial_lr", 5.0, "5.0, but its recorded settings give 0.5"),
    ("scheduler.last_epoch", 7, "7, but its recorded settings give 3 after 3 epochs"),  # ahead of the history
    ("scheduler.last_epoch", 1, "1, but"),
    ("scheduler.gamma", -0.5, "-0.5, but its recorded settings give 0.5"),  # gradient ascent on alternate epochs
    ("scheduler.base_lrs", [50.0], "[50.0], but"),
    ("optim.param_groups[0].weight_decay", 0.1, "0.1, but its recorded settings give 0.0"),
])
def test_hyperparameters_that_the_settings_would_not_give_are_refused(saved, member, value, shown):
    path, optimizer = saved
    arrays = members(path)
    arrays[member] = np.asarray(value, dtype=arrays[member].dtype)
    craft(path, arrays)
    with pytest.raises(CheckpointError, match=re.escape(f"{path}: {member} is {shown}")):
        load_fresh(path, optimizer)


@pytest.mark.parametrize("optimizer, member, value", [("sgd", "momentum", 1.5), ("sgd", "momentum", -0.1),
                                                      ("adam", "betas", [0.9, 1.5]), ("adam", "betas", [-0.1, 0.9])])
def test_momentum_or_betas_out_of_range_is_a_checkpoint_error_naming_the_file(tmp_path, optimizer, member, value):
    path = tmp_path / "ck.npz"
    model, opt, scheduler = trained(optimizer)
    checkpoints.save(path, model, opt, HISTORY, SETTINGS, scheduler)
    arrays = members(path)
    name = f"optim.param_groups[0].{member}"
    arrays[name] = np.asarray(value, dtype=arrays[name].dtype)
    craft(path, arrays)
    with pytest.raises(CheckpointError, match=re.escape(f"{path}: {name} is ")):
        load_fresh(path, optimizer)


def test_adam_step_counts_that_differ_between_parameters_are_refused(tmp_path):
    path = tmp_path / "ck.npz"
    model, opt, scheduler = trained("adam")
    checkpoints.save(path, model, opt, HISTORY, SETTINGS, scheduler)
    arrays = members(path)
    arrays["optim.state.2.step"] = arrays["optim.state.2.step"] + 1
    craft(path, arrays)
    with pytest.raises(CheckpointError, match=f"^{path}: its parameters have taken different numbers of steps "
                                              r"\(optim.state.0.step 6, .*optim.state.2.step 7"):
        load_fresh(path, "adam")


@pytest.mark.parametrize("optimizer, state", [("adam", "exp_avg"), ("adam", "exp_avg_sq"), ("sgd", "momentum_buffer")])
def test_state_swapped_between_two_parameters_of_one_shape_is_refused(tmp_path, optimizer, state):
    path = tmp_path / "ck.npz"
    model, opt, scheduler = trained(optimizer)
    checkpoints.save(path, model, opt, HISTORY, SETTINGS, scheduler)
    arrays = members(path)
    first, second = f"optim.state.1.{state}", f"optim.state.3.{state}"  # the two biases, both of shape (2,)
    assert arrays[first].shape == arrays[second].shape and not np.array_equal(arrays[first], arrays[second])
    arrays[first], arrays[second] = arrays[second], arrays[first]
    craft(path, arrays, digest=False)  # swapped members, as they were: every CRC-32 still matches
    with pytest.raises(CheckpointError, match=f"^{path}: its members do not match the digest"):
        load_fresh(path, optimizer)


def test_a_model_weight_edited_by_hand_is_refused_and_a_checkpoint_without_digest_too(saved):
    path, optimizer = saved
    arrays = members(path)
    arrays["model.2.bias"] = arrays["model.2.bias"] + 1
    craft(path, arrays, digest=False)
    with pytest.raises(CheckpointError, match="do not match the digest"):
        load_fresh(path, optimizer)
    del arrays["digest"]
    np.savez(path, **arrays)
    with pytest.raises(CheckpointError, match=f"^{path}: missing digest"):
        load_fresh(path, optimizer)


# ------------------------------------------------------------------------------ special files, size bombs
@pytest.mark.skipif(os.name != "posix", reason="FIFOs are POSIX")
def test_a_fifo_or_a_device_is_refused_at_once(tmp_path):
    fifo = tmp_path / "ck.npz"
    os.mkfifo(fifo)
    signal.alarm(10)  # a regression would block on the FIFO forever: fail instead
    try:
        for special in (fifo, "/dev/zero", "/dev/null"):
            for read in (checkpoints.read_settings, lambda p: load_fresh(p, "adam")):
                with pytest.raises(CheckpointError, match=f"^{special}: it is a special file"):
                    read(special)
    finally:
        signal.alarm(0)


def test_members_claiming_more_bytes_than_the_file_holds_are_refused_before_reading(saved, tmp_path):
    path, optimizer = saved
    arrays = members(path)
    bomb = tmp_path / "bomb.npz"
    with zipfile.ZipFile(bomb, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, array in arrays.items():
            with archive.open(f"{name}.npy", "w", force_zip64=True) as member:
                if name.startswith("history."):  # 16 MiB of zeros each, a few KiB on disk
                    np.lib.format.write_array_header_1_0(member, {"descr": "<f8", "fortran_order": False,
                                                                  "shape": (1 << 21,)})
                    for _ in range(16):
                        member.write(bytes(1 << 20))
                else:
                    np.lib.format.write_array(member, array)
    assert bomb.stat().st_size < 1 << 20
    with pytest.raises(CheckpointError, match=f"^{bomb}: .* is compressed; checkpoints are written uncompressed"):
        load_fresh(bomb, optimizer)


# ------------------------------------------------------------------------------ what --save may replace
def test_claim_lets_a_run_replace_only_its_own_checkpoint_or_the_one_it_continues(saved, tmp_path):
    path, _ = saved
    good = path.read_bytes()
    assert checkpoints.claim(tmp_path / "new.npz", SETTINGS) is None
    assert checkpoints.claim(path, SETTINGS) == tg.files.identity(path)  # the same run, repeated
    assert checkpoints.claim(path, {**SETTINGS, "lr": 0.1}, resume=path) == tg.files.identity(path)  # continued
    with pytest.raises(CheckpointError, match=f"^--save {path}: not replacing it, it holds another run "
                                              r"\(lr 0.5 there, 0.1 here; epochs 3 there, 9 here\); .* --resume"):
        checkpoints.claim(path, {**SETTINGS, "lr": 0.1, "epochs": 9})
    with pytest.raises(CheckpointError, match=r"holds another run \(sizes 3,2,2 there, 3,4,2 here\)"):
        checkpoints.claim(path, {**SETTINGS, "sizes": [3, 4, 2]})
    with pytest.raises(CheckpointError, match=r"holds another run \(subset 100 there\)"):
        craft_settings(path, {**SETTINGS, "subset": 100})
        checkpoints.claim(path, SETTINGS)
    path.write_bytes(good)
    notes = tmp_path / "notes.txt"
    notes.write_text("a week of notes")
    with pytest.raises(CheckpointError, match=f"^--save {notes}: not replacing it, it is not a checkpoint"):
        checkpoints.claim(notes, SETTINGS)
    (tmp_path / "empty").write_bytes(b"")
    assert checkpoints.claim(tmp_path / "empty", SETTINGS) is not None  # nothing to lose


def craft_settings(path, settings) -> None:
    import json
    arrays = members(path)
    arrays["settings"] = np.array(json.dumps(settings))
    craft(path, arrays)


def test_a_save_refuses_to_replace_what_another_writer_wrote_since(saved):
    path, optimizer = saved
    mine = checkpoints.claim(path, SETTINGS)
    model, opt, scheduler = trained(optimizer)
    mine = checkpoints.save(path, model, opt, HISTORY, SETTINGS, scheduler, replacing=mine)  # still as claimed
    theirs_history = HISTORY[:2]
    checkpoints.save(path, model, opt, theirs_history, SETTINGS, scheduler)  # another run, same path
    theirs = path.read_bytes()
    with pytest.raises(FileExistsError, match=f"not replacing {path}: another program has written it"):
        checkpoints.save(path, model, opt, HISTORY, SETTINGS, scheduler, replacing=mine)
    assert path.read_bytes() == theirs
    assert sorted(p.name for p in path.parent.iterdir()) == [path.name]
