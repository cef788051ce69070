"""Exact resumption with optimizers that have state: momentum buffers and Adam's averages survive a restart.

Plain SGD has no state, so a resume that forgot the optimizer would pass with it; these tests use
momentum and Adam, and compare weights and optimizer state bit for bit.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

import nn
import tinygrad_edu as tg
from demos import cli

DATA = os.environ.get("TINYGRAD_EDU_DATA")
needs_data = pytest.mark.skipif(
    not (DATA and (Path(DATA) / "mnist" / "train-images-idx3-ubyte.gz").exists()),
    reason="set TINYGRAD_EDU_DATA to a folder holding mnist/ to run the demos",
)

OPTIMIZERS = {
    "momentum": lambda params: nn.optim.SGD(params, lr=0.1, momentum=0.9),
    "nesterov": lambda params: nn.optim.SGD(params, lr=0.1, momentum=0.8, nesterov=True, weight_decay=0.01),
    "adam": lambda params: nn.optim.Adam(params, lr=0.01, betas=(0.8, 0.95)),
}


def model_and_batches():
    rng = np.random.default_rng(0)
    model = nn.Sequential(nn.Linear(4, 5, generator=rng, dtype=np.float64), nn.Tanh(),
                          nn.Linear(5, 3, generator=rng, dtype=np.float64))
    batches = [(rng.normal(size=(6, 4)), rng.normal(size=(6, 3))) for _ in range(6)]
    return model, batches


def train(model, optimizer, batches):
    for x, y in batches:
        optimizer.zero_grad()
        nn.MSELoss()(model(tg.Tensor(x)), tg.Tensor(y)).backward()
        optimizer.step()


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_resuming_from_state_dicts_equals_never_stopping(name, tmp_path):
    straight, batches = model_and_batches()
    straight_optimizer = OPTIMIZERS[name](straight.parameters())
    train(straight, straight_optimizer, batches)

    first, _ = model_and_batches()
    first_optimizer = OPTIMIZERS[name](first.parameters())
    train(first, first_optimizer, batches[:4])
    np.savez(tmp_path / "checkpoint.npz", **{f"model.{k}": v for k, v in first.state_dict().items()},
             **nn.utils.flatten_state_dict(first_optimizer.state_dict(), "optim"))

    resumed, _ = model_and_batches()  # a fresh process: new model, new optimizer
    resumed_optimizer = OPTIMIZERS[name](resumed.parameters())
    with np.load(tmp_path / "checkpoint.npz") as saved:
        resumed.load_state_dict({k[6:]: saved[k] for k in saved.files if k.startswith("model.")})
        resumed_optimizer.load_state_dict(
            nn.utils.unflatten_state_dict({k[6:]: saved[k] for k in saved.files if k.startswith("optim.")}))
    train(resumed, resumed_optimizer, batches[4:])

    for key, value in straight.state_dict().items():
        np.testing.assert_array_equal(resumed.state_dict()[key], value, err_msg=key)
    expected = nn.utils.flatten_state_dict(straight_optimizer.state_dict())
    got = nn.utils.flatten_state_dict(resumed_optimizer.state_dict())
    assert sorted(got) == sorted(expected)
    assert any(key.startswith("state.") for key in expected)  # there is state to lose
    for key in expected:
        np.testing.assert_array_equal(got[key], expected[key], err_msg=key)


def checkpoint_arrays(path) -> dict:
    with np.load(path, allow_pickle=False) as archive:
        return {k: archive[k] for k in archive.files if k not in ("history.seconds", "digest")}  # timings differ, and so their digests


@needs_data
def test_the_train_command_resumes_adam_exactly(tmp_path):
    common = ["train", "--subset", "300", "--sizes", "784,8,10", "--optimizer", "adam", "--lr", "0.01",
              "--loss", "cross-entropy", "--quiet"]
    args = cli.build_parser().parse_args([*common, "--epochs", "3", "--save", str(tmp_path / "straight.npz")])
    args.run(args)
    args = cli.build_parser().parse_args([*common, "--epochs", "1", "--save", str(tmp_path / "first.npz")])
    args.run(args)
    args = cli.build_parser().parse_args([*common, "--epochs", "3", "--resume", str(tmp_path / "first.npz"),
                                          "--save", str(tmp_path / "resumed.npz")])
    args.run(args)
    straight, resumed = checkpoint_arrays(tmp_path / "straight.npz"), checkpoint_arrays(tmp_path / "resumed.npz")
    assert sorted(resumed) == sorted(straight)
    assert any(key.startswith("optim.state.") for key in straight)  # Adam's averages are in the checkpoint
    for key in straight:
        np.testing.assert_array_equal(resumed[key], straight[key], err_msg=key)
