"""The lecture's notebooks (notebooks/*.py, jupytext's percent format) run top to bottom in a fresh kernel.

Each is turned into a notebook by jupytext and executed by nbclient, as Jupyter would run it; the executed
notebook, with its pictures, goes to $TINYGRAD_EDU_ARTIFACTS when that is set (CI keeps it)."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from test_demos import needs_data

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.py"))

try:
    import jupytext
    from nbclient import NotebookClient
except ImportError:
    jupytext = None

needs_notebook_tools = pytest.mark.skipif(
    jupytext is None, reason="notebook tests skipped: pip install jupytext nbclient ipykernel (in the test extra)")


def test_there_is_a_notebook_for_each_part_of_the_lecture():
    assert [p.name.split("-")[0] for p in NOTEBOOKS] == ["1", "2", "3", "4"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_each_notebook_is_stored_as_text_paired_with_its_ipynb(path):
    header = path.read_text(encoding="utf-8").split("# ---", 2)[1]
    assert "formats: ipynb,py:percent" in header  # jupytext keeps the .ipynb (untracked) in step with this file
    assert not path.with_suffix(".ipynb").exists() or "notebooks/*.ipynb" in (ROOT / ".gitignore").read_text()


@needs_data
@needs_notebook_tools
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_the_notebook_runs_top_to_bottom_and_draws_its_pictures(path, tmp_path, monkeypatch):
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))  # this checkout's code
    notebook = jupytext.read(path)
    start = time.perf_counter()
    NotebookClient(notebook, timeout=600, kernel_name="python3",
                   resources={"metadata": {"path": str(tmp_path)}}).execute()  # raises at the first failing cell
    print(f"{path.name}: {time.perf_counter() - start:.0f} s")
    outputs = [output for cell in notebook.cells if cell.cell_type == "code" for output in cell.outputs]
    assert any("image/png" in output.get("data", {}) for output in outputs), "no picture drawn"
    assert not [output for output in outputs if output.get("name") == "stderr" and "Warning" in output.get("text", "")]
    folder = os.environ.get("TINYGRAD_EDU_ARTIFACTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        jupytext.write(notebook, Path(folder) / f"{path.stem}.ipynb")
