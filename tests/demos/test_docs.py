"""The tutorials in docs/ and the README's examples are run, block by block, so their code never goes stale."""

import os
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PAGES = sorted((ROOT / "docs").glob("*.md")) + [ROOT / "README.md"]
CODE_BLOCK = re.compile(r"```python\n(.*?)```", re.DOTALL)


DATA = os.environ.get("TINYGRAD_EDU_DATA")
HAVE_MNIST = bool(DATA) and (Path(DATA) / "mnist" / "train-images-idx3-ubyte.gz").exists()


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_code_blocks_run(page, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # anything a page writes lands in a temporary folder
    text = page.read_text(encoding="utf-8")
    if any("load_mnist(" in block for block in CODE_BLOCK.findall(text)):
        if not HAVE_MNIST:
            pytest.skip("this page trains on the real digits: set TINYGRAD_EDU_DATA to a folder holding mnist/")
    blocks = CODE_BLOCK.findall(text)
    namespace = {"__name__": f"docs_{page.stem}"}
    for number, block in enumerate(blocks, start=1):
        exec(compile(block, f"{page.name} (python block {number})", "exec"), namespace)
