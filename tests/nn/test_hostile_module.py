"""Module loading under hostile input: all or nothing whatever the bad value, no reading of special
files, and no reading of a member that claims more bytes than any of the module's arrays."""

from __future__ import annotations

import os
import signal
import tracemalloc
import zipfile

import numpy as np
import pytest

import nn
import tinygrad_edu as tg


def network():
    return nn.Sequential(nn.Linear(3, 2, generator=np.random.default_rng(0)), nn.ReLU(),
                         nn.Linear(2, 4, generator=np.random.default_rng(1)), nn.BatchNorm1d(4))


def snapshot(model) -> dict:
    return {name: value.copy() for name, value in model.state_dict().items()}


BAD = {"text": lambda shape: np.full(shape, "2.5"), "None": lambda shape: None,
       "objects": lambda shape: np.full(shape, None, dtype=object), "a list with text": lambda shape: np.full(shape, "x").tolist(),
       "dates": lambda shape: np.zeros(shape, dtype="datetime64[s]")}


@pytest.mark.parametrize("bad", sorted(BAD))
@pytest.mark.parametrize("key", ["2.weight", "3.running_var"])  # a later parameter, and a buffer after all
def test_a_bad_value_anywhere_changes_nothing(bad, key):
    model = network()
    before = snapshot(model)
    state = {name: np.full_like(value, 7.0) for name, value in before.items()}
    state[key] = BAD[bad](before[key].shape)
    with pytest.raises(RuntimeError, match=f"'{key}' holds .* not numbers|size mismatch for '{key}'"):
        model.load_state_dict(state)
    for name, value in model.state_dict().items():
        np.testing.assert_array_equal(value, before[name], err_msg=name)


def test_numbers_of_another_dtype_or_as_tensors_load_converted():
    model = network()
    state = {name: np.ones(value.shape, dtype=np.int64) for name, value in model.state_dict().items()}
    state["0.weight"] = tg.Tensor(np.full((2, 3), 0.5))  # float64 into a float32 weight
    model.load_state_dict(state)
    assert model[0].weight.dtype == np.float32 and (model[0].weight.numpy() == 0.5).all()
    assert (model[2].bias.numpy() == 1).all() and model[2].bias.dtype == np.float32


@pytest.mark.skipif(os.name != "posix", reason="FIFOs are POSIX")
def test_load_refuses_a_fifo_or_a_device_without_waiting(tmp_path):
    fifo = tmp_path / "weights.npz"
    os.mkfifo(fifo)
    signal.alarm(10)  # a regression would block forever on the FIFO: fail instead
    try:
        for special in (fifo, "/dev/zero"):
            with pytest.raises(tg.files.SpecialFileError, match=f"{special}: it is a special file"):
                network().load(special)
    finally:
        signal.alarm(0)


def test_load_refuses_a_member_claiming_more_than_any_array_before_reading_it(tmp_path):
    path = tmp_path / "bomb.npz"
    model = network()
    model.save(path)
    with zipfile.ZipFile(path, "a", compression=zipfile.ZIP_DEFLATED) as archive:
        with archive.open("extra.npy", "w", force_zip64=True) as member:  # 64 MiB of zeros, 64 KiB on disk
            np.lib.format.write_array_header_1_0(member, {"descr": "<f8", "fortran_order": False, "shape": (1 << 23,)})
            for _ in range(64):
                member.write(bytes(1 << 20))
    assert path.stat().st_size < 1 << 20
    before = snapshot(model)
    tracemalloc.start()
    try:
        with pytest.raises(RuntimeError, match=f"{path}: extra.npy claims 67,108,9.. bytes, more than any array"):
            model.load(path)
        assert tracemalloc.get_traced_memory()[1] < 4 << 20  # the claimed bytes were never read
    finally:
        tracemalloc.stop()
    for name, value in model.state_dict().items():
        np.testing.assert_array_equal(value, before[name], err_msg=name)


def test_a_saved_module_loads_back(tmp_path):
    model, other = network(), network()
    for p in other.parameters():
        p.data[...] = 3.0
    other.save(tmp_path / "w.npz")
    model.load(tmp_path / "w.npz")
    for name, value in model.state_dict().items():
        np.testing.assert_array_equal(value, other.state_dict()[name], err_msg=name)
