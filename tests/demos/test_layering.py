"""The folders are layers: engine (tinygrad_edu/) → nn/ → demos/. Nothing below imports from above."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def imported_packages(path: Path) -> set[str]:
    """What a file imports: top-level names of absolute imports ("numpy", "nn"), relative ones as written
    ("..files", and "..tensor" for ``from .. import tensor``)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level and node.module is None:  # from .. import tensor
            names.update("." * node.level + alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            names.add("." * node.level + node.module if node.level else node.module.split(".")[0])
    return names


# folder -> packages its files may not import.
RULES = {
    "tinygrad_edu": {"nn", "demos"},
    "nn": {"demos"},
}


@pytest.mark.parametrize("folder", sorted(RULES))
def test_no_layer_imports_from_a_layer_above(folder):
    for path in sorted((ROOT / folder).rglob("*.py")):
        forbidden = imported_packages(path) & RULES[folder]
        assert not forbidden, f"{path.relative_to(ROOT)} imports {sorted(forbidden)}"


def test_the_data_loaders_use_numpy_and_the_standard_library_only():
    allowed = {"numpy", "gzip", "struct", "zlib", "pathlib", "hashlib", "http", "os", "urllib", "dataclasses", "contextlib", "math",
               "sys", "__future__", ".batches", ".datasets", ".idx", ".view", ".loader", "..files"}
    # loader.py alone hands out Tensors (a DataLoader yields what the model takes), so it alone may
    # import the engine's Tensor and randperm; reading and checking the files stays NumPy-only.
    also_allowed = {"loader.py": {"..tensor", "..creation", "numbers"}}
    for path in sorted((ROOT / "tinygrad_edu" / "data").glob("*.py")):
        extra = imported_packages(path) - allowed - also_allowed.get(path.name, set())
        assert not extra, f"{path.relative_to(ROOT)} imports {sorted(extra)}"


def test_the_engine_files_import_only_files_listed_before_them():
    """tinygrad_edu/__init__.py lists the engine's files in reading order; each builds only on earlier ones,
    so the engine's imports go one way (no file imports one listed after it, and no two import each other)."""
    doc = (ROOT / "tinygrad_edu" / "__init__.py").read_text(encoding="utf-8")
    order = [line.split()[0][:-3] for line in doc.splitlines() if line.startswith("    ") and line.split()[0].endswith(".py")]
    assert order[:13] == ["dtypes", "versions", "autograd", "ops", "promotion", "numpy_on_tensors", "tensor_convert",
                          "tensor_inplace", "tensor_math", "tensor_shape", "tensor", "functions", "creation"]
    for position, name in enumerate(order):
        imported = {n.lstrip(".") for n in imported_packages(ROOT / "tinygrad_edu" / f"{name}.py") if n.startswith(".")}
        later = imported & set(order[position:])
        assert not later, f"tinygrad_edu/{name}.py imports {sorted(later)}, listed at or after it"


def test_nn_uses_only_the_engines_public_api():
    """nn imports the engine as a whole (`import tinygrad_edu as tg`), never one of its inner modules."""
    for path in sorted((ROOT / "nn").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            modules = [alias.name for alias in node.names] if isinstance(node, ast.Import) else \
                [node.module] if isinstance(node, ast.ImportFrom) and node.level == 0 else []
            inner = [m for m in modules if m.startswith("tinygrad_edu.")]
            assert not inner, f"{path.relative_to(ROOT)} imports {inner}: use what `tinygrad_edu` exports"
