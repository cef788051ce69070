"""The tutorials in docs/ and the README's examples are run, block by block, so their code never goes stale."""

import ast
import os
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PAGES = sorted((ROOT / "docs").glob("*.md")) + [ROOT / "README.md"]
CODE_BLOCK = re.compile(r"```python\n(.*?)```", re.DOTALL)


DATA = os.environ.get("TINYGRAD_EDU_DATA")
HAVE_MNIST = bool(DATA) and (Path(DATA) / "mnist" / "train-images-idx3-ubyte.gz").exists()


# Pages whose code needs something made first, run by a test of their own.
OWN_TESTS = {"continue-in-pytorch.md": "test_continue_in_pytorch.py (it makes the checkpoint the page loads)"}


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_code_blocks_run(page, tmp_path, monkeypatch):
    if page.name in OWN_TESTS:
        pytest.skip(f"run by {OWN_TESTS[page.name]}")
    monkeypatch.chdir(tmp_path)  # anything a page writes lands in a temporary folder
    text = page.read_text(encoding="utf-8")
    if any("load_mnist(" in block for block in CODE_BLOCK.findall(text)):
        if not HAVE_MNIST:
            pytest.skip("this page trains on the real digits: set TINYGRAD_EDU_DATA to a folder holding mnist/")
    blocks = CODE_BLOCK.findall(text)
    namespace = {"__name__": f"docs_{page.stem}"}
    for number, block in enumerate(blocks, start=1):
        exec(compile(block, f"{page.name} (python block {number})", "exec"), namespace)


LINK = re.compile(r"\]\(([^)#\s]+)(?:#[^)]*)?\)")  # [text](target) and ![picture](target)


def test_the_readme_stays_a_front_page():
    """Issue 25: the README is what it is, the commands, one table, one example, the layout and links
    (about 12,000 characters); everything else lives on a page in docs/, linked from it."""
    size = len((ROOT / "README.md").read_text(encoding="utf-8"))
    assert size <= 12_500, (f"README.md has {size:,} characters, more than a front page's 12,500: write the new text "
                            "into a page under docs/ (results.md, jit.md, performance.md, ...) and link it")


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_every_local_link_and_picture_exists(page):
    text = page.read_text(encoding="utf-8")
    missing = [target for target in LINK.findall(text)
               if "://" not in target and not (page.parent / target).exists()]
    assert not missing, f"{page.name} links to files that do not exist: {missing}"


def test_every_picture_in_docs_is_shown_on_a_page():
    shown = {(page.parent / target).resolve() for page in PAGES
             for target in LINK.findall(page.read_text(encoding="utf-8"))}
    unshown = [p.name for p in sorted((ROOT / "docs").glob("*.png")) if p.resolve() not in shown]
    assert not unshown, f"pictures in docs/ that no page shows (add them to docs/results.md): {unshown}"


ANCHOR = re.compile(r"^\d+\. \[`([\w.]+)`\]\(\.\./([\w/]+\.py)\) in `([\w/]+\.py)`", re.MULTILINE)


def reading_order() -> list:
    """docs/reading-order.md's anchors, in order: (name, file, the anchor's ast node)."""
    anchors, trees = [], {}
    for name, link, shown in ANCHOR.findall((ROOT / "docs" / "reading-order.md").read_text(encoding="utf-8")):
        assert link == shown, f"reading-order.md: {name} links to {link} but names {shown}"
        if link not in trees:  # one tree per file, so that an anchor nested in another is the same node
            trees[link] = ast.parse((ROOT / link).read_text(encoding="utf-8"))
        node = trees[link]
        for part in name.split("."):
            found = [n for n in node.body if isinstance(n, (ast.ClassDef, ast.FunctionDef)) and n.name == part]
            assert found, f"reading-order.md: {link} has no {name} (renamed or moved? update the anchor)"
            node = found[-1]
        anchors.append((name, link, node))
    return anchors


def test_the_reading_order_lists_about_25_functions_that_exist():
    anchors = reading_order()
    assert 20 <= len(anchors) <= 32 and len({(name, link) for name, link, _ in anchors}) == len(anchors)


def test_each_anchor_of_the_reading_order_uses_no_function_listed_after_it():
    """'Each uses only the ones above it': no anchor's code names a module-level function or class that
    comes later in the list (code of later anchors nested in it, such as a class's methods, aside)."""
    anchors = reading_order()
    for i, (name, link, node) in enumerate(anchors):
        later = {n: f"{n} ({l})" for n, l, _ in anchors[i + 1:] if "." not in n}
        nested = {id(a_node) for n, l, a_node in anchors if l == link and n.startswith(name + ".")}
        used, stack = set(), [node]
        while stack:
            current = stack.pop()
            if id(current) in nested:
                continue
            used.update([current.id] if isinstance(current, ast.Name) else
                        [current.attr] if isinstance(current, ast.Attribute) else [])
            stack.extend(ast.iter_child_nodes(current))
        assert not used & set(later), f"reading-order.md: {name} uses {[later[u] for u in used & set(later)]}, listed after it"


def test_one_eager_step_enters_at_most_380_lines():
    """Issue 25's measure of the path a student follows through one training step (the functions it
    enters, docstrings included); the listing must hold the lecture's logic, so the trace saw the step."""
    import subprocess
    import sys

    run = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "trace_step.py")], capture_output=True,
                         text=True, check=True)
    listed = {line.split()[-1] for line in run.stdout.splitlines()[:-1]}
    assert {"SigmoidFn.backward", "LinearFn.backward", "SquaredError.backward", "backpropagate",
            "SGD.update", "Sequential.forward", "train_step"} <= listed, run.stdout
    total = int(run.stdout.splitlines()[-1].split()[0])
    assert total <= 380, f"one eager step enters {total} lines (at most 380):\n{run.stdout}"


def documented_units() -> dict:
    """What tests/README.md must map: {name as written there: where it is defined}."""
    import inspect

    import nn
    import nn.functional as F
    import tinygrad_edu as tg
    from demos import cli
    from nn.optim import lr_scheduler
    from tinygrad_edu import ops

    def classes(module, base):
        return {name: module.__name__ for name, c in vars(module).items() if inspect.isclass(c) and issubclass(c, base)
                and c.__module__ == module.__name__ and not name.startswith("_")}

    units = {**classes(ops, tg.Function), **classes(F, tg.Function), **classes(nn.optim, nn.optim.Optimizer),
             **classes(lr_scheduler, object)}
    units.update({f"nn.{name}": "nn" for name in nn.__all__
                  if inspect.isclass(getattr(nn, name)) and issubclass(getattr(nn, name), nn.Module)})
    units.update({command: "demos" for command in cli.DEMOS})
    return units


def test_every_op_layer_optimizer_and_demo_has_a_row_in_the_map_of_the_tests():
    text = (ROOT / "tests" / "README.md").read_text(encoding="utf-8")
    rows = set(re.findall(r"^\| `([^`]+)` \|", text, re.MULTILINE))
    missing = sorted(f"{name} ({where})" for name, where in documented_units().items() if name not in rows)
    assert not missing, (f"tests/README.md has no row for {missing}: add one to its table, naming the tests of "
                         "each (their file::name) and the files whose tests run it")


def test_every_test_the_map_names_exists():
    text = (ROOT / "tests" / "README.md").read_text(encoding="utf-8")
    named = re.findall(r"`(\w+/test_\w+\.py)::(test_\w+)", text)
    assert len(named) > 100
    missing = sorted({f"{path}::{name}" for path, name in named if not (ROOT / "tests" / path).exists()
                      or f"def {name}(" not in (ROOT / "tests" / path).read_text(encoding="utf-8")})
    assert not missing, f"tests/README.md names tests that do not exist (renamed or moved?): {missing}"
