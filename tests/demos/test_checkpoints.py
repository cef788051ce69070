"""Damaged, foreign and mismatched checkpoints end in one CheckpointError naming the file, never a
traceback, a huge allocation or a silently different run; good ones load exactly."""

from __future__ import annotations

import io
import json
import zipfile

import numpy as np
import pytest

import nn
import tinygrad_edu as tg
from demos import checkpoints
from demos.checkpoints import CheckpointError

SETTINGS = {"sizes": [3, 2, 2], "lr": 0.01}
HISTORY = [{"epoch": 1, "loss": 0.5, "test_accuracy": 0.25, "seconds": 1.5},
           {"epoch": 2, "loss": 0.25, "test_accuracy": 0.5, "seconds": 1.25}]


def tiny(optimizer: str = "adam"):
    """A 3-2-2 network and its optimizer, after one step (so the optimizer has state)."""
    model = nn.Sequential(nn.Linear(3, 2, generator=np.random.default_rng(0)), nn.Sigmoid(),
                          nn.Linear(2, 2, generator=np.random.default_rng(1)))
    opt = (nn.optim.Adam(model.parameters(), lr=0.01) if optimizer == "adam" else
           nn.optim.SGD(model.parameters(), lr=0.1, momentum=0.9))
    opt.zero_grad()
    model(tg.Tensor(np.ones((4, 3), dtype=np.float32))).sum().backward()
    opt.step()
    return model, opt


@pytest.fixture
def saved(tmp_path):
    path = tmp_path / "ck.npz"
    model, opt = tiny()
    checkpoints.save(path, model, opt, HISTORY, SETTINGS)
    return path


def members(path) -> dict:
    """The checkpoint's arrays, read with NumPy as they were written."""
    with np.load(path, allow_pickle=False) as archive:
        return {name: archive[name] for name in archive.files}


def rewrite(path, arrays: dict) -> None:
    np.savez(path, **arrays)


def assert_same_optimizer_state(opt, reference):
    got, expected = nn.utils.flatten_state_dict(opt.state_dict()), nn.utils.flatten_state_dict(reference.state_dict())
    assert sorted(got) == sorted(expected)
    for key, value in expected.items():
        np.testing.assert_array_equal(got[key], value, err_msg=key)


def load_into_fresh(path, optimizer: str = "adam"):
    model, opt = tiny(optimizer)
    return checkpoints.load(path, model, opt), model, opt


def test_a_good_checkpoint_restores_model_optimizer_history_and_settings(saved):
    original_model, original_opt = tiny()
    model, opt = tiny()
    with tg.no_grad():
        for p in model.parameters():
            p.data[...] = 7.0  # so that loading has something to undo
    opt.state = {}
    assert checkpoints.load(saved, model, opt) == HISTORY
    for (name, a), (_, b) in zip(original_model.state_dict().items(), model.state_dict().items()):
        np.testing.assert_array_equal(a, b, err_msg=name)
    assert_same_optimizer_state(opt, original_opt)
    assert checkpoints.read_settings(saved) == SETTINGS


@pytest.mark.parametrize("damage, message", [
    (lambda data: b"", "damaged or not a checkpoint"),
    (lambda data: data[: len(data) // 2], "damaged or not a checkpoint"),
    (lambda data: data[:-1], "damaged or not a checkpoint"),
    (lambda data: data[:100], "damaged or not a checkpoint"),
    (lambda data: b"PK\x03\x04" + b"\x00" * 60, "damaged or not a checkpoint"),
])
def test_truncated_and_empty_files(saved, damage, message):
    saved.write_bytes(damage(saved.read_bytes()))
    with pytest.raises(CheckpointError, match=f"^{saved}: {message}"):
        load_into_fresh(saved)


def test_a_plain_npy_file_is_not_a_checkpoint(tmp_path):
    path = tmp_path / "weights.npy"
    np.save(path, np.zeros((2, 3), dtype=np.float32))
    with pytest.raises(CheckpointError, match=f"^{path}: damaged or not a checkpoint"):
        load_into_fresh(path)
    with pytest.raises(CheckpointError, match=f"^{path}: damaged or not a checkpoint"):
        checkpoints.read_settings(path)


def test_a_flipped_byte_anywhere_is_refused_or_harmless(saved):
    """Flip every 11th byte in turn (all kinds of places, in a few seconds): the load either refuses
    with a CheckpointError or gives exactly the original."""
    good = saved.read_bytes()
    reference_model, reference_opt = tiny()
    outcomes = {"refused": 0, "harmless": 0}
    positions = range(0, len(good), 11)
    for position in positions:
        damaged = bytearray(good)
        damaged[position] ^= 0xFF
        saved.write_bytes(bytes(damaged))
        try:
            history, model, opt = load_into_fresh(saved)
            settings = checkpoints.read_settings(saved)
        except CheckpointError as err:
            assert str(err).startswith(f"{saved}: ") or str(err).startswith(f"{saved} "), err
            outcomes["refused"] += 1
            continue
        # Zip headers hold dates, version numbers, flags that do not change what is read.
        assert history == HISTORY and settings == SETTINGS, position
        for (name, a), (_, b) in zip(reference_model.state_dict().items(), model.state_dict().items()):
            np.testing.assert_array_equal(a, b, err_msg=f"byte {position}: {name}")
        assert_same_optimizer_state(opt, reference_opt)
        outcomes["harmless"] += 1
    assert outcomes["refused"] > 0.6 * len(positions)  # data and .npy headers are most of the file


@pytest.mark.parametrize("change, message", [
    (lambda a: a.update({"history.loss": a["history.loss"][:1]}), "history columns differ in length"),
    (lambda a: a.update({"history.epoch": np.array([1.0, 3.0])}), "number the epochs 1 to 2"),
    (lambda a: a.update({"history.test_accuracy": np.array([0.5, 1.5])}), r"accuracy outside \[0, 1\]"),
    (lambda a: a.update({"history.loss": np.array([0.5, np.nan])}), "history.loss holds NaN"),
    (lambda a: a.update({f"history.{k}": np.zeros(0) for k in checkpoints.HISTORY_KEYS}), "history is empty"),
    (lambda a: a.update({"optim.state.0.exp_avg": a["optim.state.0.exp_avg"].astype(np.float64)}),
     "optim.state.0.exp_avg has dtype float64"),
    (lambda a: a.update({"optim.state.0.exp_avg": a["optim.state.0.exp_avg"].astype(np.int64)}),
     "optim.state.0.exp_avg has dtype int64"),
    (lambda a: a.update({"optim.state.1.step": np.array(-3)}), "optim.state.1.step is -3, but it cannot be less than 1"),
    (lambda a: a.update({"optim.state.1.step": np.array(0)}), "optim.state.1.step is 0"),
    (lambda a: a.update({"optim.state.1.step": np.array(2.5)}), "optim.state.1.step has dtype float64"),
    (lambda a: a.update({"optim.param_groups[0].lr": np.array(-0.1)}), r"optim.param_groups\[0\].lr is -0.1"),
    (lambda a: a.update({"optim.param_groups[0].betas": np.array("0.9")}),
     r"optim.param_groups\[0\].betas has dtype <U3"),
    (lambda a: a.pop("optim.state.2.exp_avg_sq"), "missing optim.state.2.exp_avg_sq"),
    (lambda a: a.pop("model.2.bias"), "missing model.2.bias"),
    (lambda a: a.update({"model.0.weight": a["model.0.weight"].T.copy()}), r"model.0.weight has dtype float32 and shape \(3, 2\)"),
    (lambda a: a.update({"model.0.weight": np.full((2, 3), np.inf, dtype=np.float32)}), "model.0.weight holds NaN or infinite"),
    (lambda a: a.update({"model.5.weight": np.zeros((2, 2), dtype=np.float32)}), "unexpected member 'model.5.weight'"),
    (lambda a: a.update({"optim.state.9.step": np.array(1)}), "unexpected member 'optim.state.9.step'"),
])
def test_members_that_do_not_fit_are_named(saved, change, message):
    arrays = members(saved)
    change(arrays)
    rewrite(saved, arrays)
    model, opt = tiny()
    before = model.state_dict()
    with pytest.raises(CheckpointError, match=f"^{saved}: .*{message}"):
        checkpoints.load(saved, model, opt)
    for name, value in model.state_dict().items():  # a refused load changes nothing
        np.testing.assert_array_equal(value, before[name], err_msg=name)


def test_a_checkpoint_of_another_optimizer_is_refused(saved):
    with pytest.raises(CheckpointError, match="unexpected member 'optim.state.0.step'"):  # Adam's, not SGD's
        load_into_fresh(saved, optimizer="sgd")


def write_member(path, name: str, header: dict, payload: bytes, extra: dict | None = None) -> None:
    """A checkpoint whose member ``name`` has a hand-made .npy header, as a damaged or hostile file might."""
    buffer = io.BytesIO()
    np.lib.format.write_array_header_1_0(buffer, header)
    with zipfile.ZipFile(path, "w") as archive:
        for other, array in (extra or {}).items():
            with archive.open(f"{other}.npy", "w") as file:
                np.lib.format.write_array(file, array)
        archive.writestr(f"{name}.npy", buffer.getvalue() + payload)


@pytest.mark.parametrize("name", ["history.loss", "model.0.weight", "settings"])
def test_a_header_claiming_an_enormous_shape_is_refused_before_reading(saved, name):
    arrays = members(saved)
    arrays.pop(name)
    dtype = "<U8" if name == "settings" else "<f8" if name.startswith("history") else "<f4"
    huge = {"descr": dtype, "fortran_order": False, "shape": (10**12,) if name != "settings" else (10**6, 10**6)}
    write_member(saved, name, huge, b"\x00" * 64, extra=arrays)
    with pytest.raises(CheckpointError, match=f"^{saved}: "):
        load_into_fresh(saved)
    if name == "settings":
        with pytest.raises(CheckpointError, match=f"^{saved}: its settings should be one string"):
            checkpoints.read_settings(saved)
    else:
        assert checkpoints.read_settings(saved) == SETTINGS  # reading the settings reads nothing else


def test_a_header_whose_length_does_not_match_its_member_is_refused(saved):
    arrays = members(saved)
    loss = arrays.pop("history.loss")
    header = {"descr": "<f8", "fortran_order": False, "shape": (2,)}
    write_member(saved, "history.loss", header, loss.tobytes()[:-4], extra=arrays)
    with pytest.raises(CheckpointError, match="history.loss is not as long as its header says"):
        load_into_fresh(saved)


def test_pickled_objects_are_refused_without_unpickling(saved):
    arrays = members(saved)
    arrays["history.loss"] = np.array([0.5, object()], dtype=object)
    np.savez(saved, **arrays)
    with pytest.raises(CheckpointError, match="history.loss should be a column of float64, found object"):
        load_into_fresh(saved)


def test_a_member_twice_is_refused(saved):
    with zipfile.ZipFile(saved, "a") as archive, pytest.warns(UserWarning, match="Duplicate name"):
        with archive.open("model.0.bias.npy", "w") as file:
            np.lib.format.write_array(file, np.zeros(2, dtype=np.float32))
    with pytest.raises(CheckpointError, match="a member appears twice"):
        load_into_fresh(saved)


@pytest.mark.parametrize("settings, message", [
    ("not json {", "not a JSON object"),
    (json.dumps([1, 2]), "not a JSON object"),
])
def test_damaged_settings_are_named(saved, settings, message):
    arrays = members(saved)
    arrays["settings"] = np.array(settings)
    rewrite(saved, arrays)
    with pytest.raises(CheckpointError, match=f"^{saved}: .*{message}"):
        checkpoints.read_settings(saved)


def test_a_missing_file_and_a_folder_are_named(tmp_path):
    with pytest.raises(CheckpointError, match=f"^{tmp_path / 'none.npz'}: no such file"):
        checkpoints.read_settings(tmp_path / "none.npz")
    with pytest.raises(CheckpointError, match=f"^{tmp_path}: is a folder"):
        checkpoints.read_settings(tmp_path)


def test_non_finite_numbers_are_never_saved_over_a_good_checkpoint(saved):
    good = saved.read_bytes()
    model, opt = tiny()
    model[0].weight.data[0, 0] = np.nan
    with pytest.raises(ValueError, match=f"not saving {saved}: model.0.weight holds NaN"):
        checkpoints.save(saved, model, opt, HISTORY, SETTINGS)
    assert saved.read_bytes() == good


@pytest.mark.parametrize("header", [b"{'descr': 'nonsense', 'fortran_order': False, 'shape': (2,), }",
                                    b"{'descr': '<f8', 'fortran_order': False, 'shape': (2,) ",
                                    b"not a dict at all"])
def test_an_unreadable_npy_header_is_refused(saved, header):
    arrays = members(saved)
    arrays.pop("history.loss")
    padded = header.ljust(118) + b"\n"  # magic (6) + version (2) + length (2) + 118 = 128 bytes
    member = b"\x93NUMPY\x01\x00" + len(padded).to_bytes(2, "little") + padded + b"\x00" * 16
    with zipfile.ZipFile(saved, "w") as archive:
        for name, array in arrays.items():
            with archive.open(f"{name}.npy", "w") as file:
                np.lib.format.write_array(file, array)
        archive.writestr("history.loss.npy", member)
    with pytest.raises(CheckpointError, match=f"^{saved}: damaged or not a checkpoint"):
        load_into_fresh(saved)


def test_the_schedule_is_saved_checked_and_restored(tmp_path):
    path = tmp_path / "ck.npz"
    model, opt = tiny()
    scheduler = nn.optim.lr_scheduler.StepLR(opt, step_size=2, gamma=0.5)
    for _ in HISTORY:  # one step after each epoch, as training does
        scheduler.step()
    checkpoints.save(path, model, opt, HISTORY, SETTINGS, scheduler)
    assert "scheduler.last_epoch" in members(path)
    model, opt = tiny()
    fresh = nn.optim.lr_scheduler.StepLR(opt, step_size=2, gamma=0.5)
    checkpoints.load(path, model, opt, fresh)
    assert fresh.last_epoch == 2 and fresh.get_last_lr() == scheduler.get_last_lr() == [0.005]
    assert opt.param_groups[0]["lr"] == 0.005
    with pytest.raises(CheckpointError, match=r"unexpected member '(scheduler\.|optim\.param_groups\[0\]\.initial_lr)"):
        load_into_fresh(path)  # no scheduler to take it
    arrays = members(path)
    arrays["scheduler.last_epoch"] = np.array(3.5)
    rewrite(path, arrays)
    model, opt = tiny()
    with pytest.raises(CheckpointError, match="scheduler.last_epoch has dtype float64"):
        checkpoints.load(path, model, opt, nn.optim.lr_scheduler.StepLR(opt, step_size=2, gamma=0.5))
