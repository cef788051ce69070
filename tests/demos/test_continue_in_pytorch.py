"""docs/continue-in-pytorch.md, run block by block on a small checkpoint of `train --save`, where PyTorch is installed."""

from __future__ import annotations

import socket

import numpy as np
import pytest

from test_demos import needs_data, run_demo
from test_docs import CODE_BLOCK, ROOT

torch = pytest.importorskip("torch", reason="PyTorch is not installed: the continue-in-PyTorch page is not run")

PAGE = ROOT / "docs" / "continue-in-pytorch.md"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@needs_data
def test_the_page_continues_a_checkpoint_in_pytorch(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    run_demo("train", "--subset", "3000", "--epochs", "2", "--init", "pytorch", "--lr-decay", "0.5", "--save", "nielsen.npz",
             "--quiet")
    blocks = CODE_BLOCK.findall(PAGE.read_text(encoding="utf-8"))
    assert len(blocks) == 4
    page = {"__name__": "docs_continue_in_pytorch"}

    def run(number):
        exec(compile(blocks[number - 1], f"{PAGE.name} (python block {number})", "exec"), page)

    run(1)  # load: PyTorch's model holds the checkpoint's arrays, bit for bit
    saved = np.load("nielsen.npz")
    assert {name: p.detach().numpy().tolist() for name, p in page["model"].state_dict().items()} == \
        {name[len("model."):]: saved[name].tolist() for name in saved.files if name.startswith("model.")}
    run(2)  # the same test accuracy (the page asserts it)
    assert page["recorded"] == saved["history.test_accuracy"][-1] and 0.5 < page["accuracy"]
    before = {name: p.clone() for name, p in page["model"].state_dict().items()}
    run(3)  # one more epoch in PyTorch
    assert page["lr"] == pytest.approx(3.0 * 0.5 ** 2)  # the run's lr after its two epochs of decay
    assert all(not torch.equal(before[name], p) for name, p in page["model"].state_dict().items())
    assert page["test_accuracy"](page["model"]) > 0.5

    # DDP in one process (world size 1, over TCP on this machine) takes the steps the plain loop takes
    # in the order DistributedSampler draws: the same weights.
    run(4)
    monkeypatch.setenv("MASTER_ADDR", "127.0.0.1")
    monkeypatch.setenv("MASTER_PORT", str(free_port()))
    monkeypatch.setenv("RANK", "0")
    monkeypatch.setenv("WORLD_SIZE", "1")
    dataset = torch.utils.data.TensorDataset(torch.from_numpy(page["X_train"][:200]), page["targets"][:200])
    start = {name: p.clone() for name, p in page["model"].state_dict().items()}
    page["train_distributed"](page["model"], dataset, lr=0.5, batch_size=10, epochs=1)
    distributed = {name: p.clone() for name, p in page["model"].state_dict().items()}
    page["model"].load_state_dict(start)
    optimizer = torch.optim.SGD(page["model"].parameters(), lr=0.5)
    order = torch.randperm(200, generator=torch.Generator().manual_seed(0))  # DistributedSampler's seed 0, epoch 0
    for batch in order.split(10):
        images, y = dataset[batch]
        optimizer.zero_grad()
        (0.5 * ((page["model"](images) - y) ** 2).sum(dim=1).mean()).backward()
        optimizer.step()
    for name, p in page["model"].state_dict().items():
        torch.testing.assert_close(distributed[name], p)
    assert set(torch.load("nielsen-ddp.pt")) == set(start)
