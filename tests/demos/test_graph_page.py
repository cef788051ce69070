"""The graph explorer page (`tinygrad-edu graph --html PATH`) in a real browser: Debian's headless Chromium,
driven by Playwright's Python package. A screenshot of the page goes to $TINYGRAD_EDU_ARTIFACTS (CI keeps it)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
import pytest

from demos.graph import lecture_step
from test_demos import DATA, needs_data, run_demo

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
try:
    from playwright.sync_api import sync_playwright
except ImportError:
    sync_playwright = None

needs_browser = pytest.mark.skipif(
    CHROMIUM is None or sync_playwright is None,
    reason="browser tests skipped: they need Chromium (apt-get install chromium) and Playwright's Python package "
           "(pip install playwright; no `playwright install`: the system's Chromium is used)")


def text_of(array: np.ndarray) -> str:
    """The values as the page prints them (as the tensor's repr does)."""
    return np.array2string(array, separator=", ", precision=4, threshold=1000, edgeitems=3)


@pytest.fixture(scope="module")
def step(tmp_path_factory):
    """One step of the lecture's network, on real digits when they are there (else random images), as a page."""
    if DATA and (Path(DATA) / "mnist" / "train-images-idx3-ubyte.gz").exists():
        from tinygrad_edu.data import load_mnist
        images, labels = load_mnist(DATA, train=True)
        images, labels = images[:10], labels[:10]
    else:
        rng = np.random.default_rng(0)
        images, labels = rng.random((10, 784), dtype=np.float32), rng.integers(0, 10, 10)
    model, drawing = lecture_step(images, labels)
    path = tmp_path_factory.mktemp("page") / "graph.html"
    drawing.save(path)
    return model, drawing, path


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM)
        yield browser
        browser.close()


@pytest.fixture
def page(browser, step):
    """The page opened from its file (file://, no server, no network), with every console error collected."""
    page = browser.new_page(viewport={"width": 1400, "height": 820})
    page.errors = []
    page.on("console", lambda message: page.errors.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: page.errors.append(str(error)))
    page.route("**/*", lambda route: route.continue_() if route.request.url.startswith("file://") else
               (page.errors.append(f"the page fetched {route.request.url}"), route.abort()))
    page.goto(step[2].as_uri())
    yield page
    page.close()


@needs_browser
def test_the_page_loads_without_errors_and_shows_every_tensor_as_a_node(page, step):
    _, drawing, _ = step
    assert page.locator("[data-node]").count() == len(drawing.tensors) == 11
    assert page.locator(".edge").count() == sum(len(p) for p in drawing.parents)
    assert page.errors == []


@needs_browser
@pytest.mark.parametrize("name", ["0.weight", "0.bias", "2.weight", "2.bias"])
def test_clicking_a_parameter_shows_its_value_and_its_gradient(page, step, name):
    model, drawing, _ = step
    parameter = dict(model.named_parameters())[name]
    i = drawing.names.index(name)
    page.click(f'[data-node="{i}"]')
    details = page.locator("#details")
    assert details.locator("h2").inner_text() == f"#{i} {name}"
    assert details.locator('[data-stat="value-text"]').inner_text() == text_of(parameter.data)
    assert details.locator('[data-stat="grad-text"]').inner_text() == text_of(parameter.grad.data)
    grad = parameter.grad.data.astype(np.float64)
    for stat, expected in {"min": grad.min(), "max": grad.max(), "mean": grad.mean(), "std": grad.std(),
                           "norm": np.linalg.norm(grad)}.items():
        shown = float(details.locator(f'[data-stat="grad-{stat}"]').inner_text())
        assert shown == pytest.approx(expected, rel=1e-3, abs=1e-12), stat  # shown to 4 significant digits
    # heat maps of the value and of the gradient, and for the first layer's weight (784 = 28² columns)
    # each row as a 28x28 image too
    assert details.locator("canvas").count() == (4 if name == "0.weight" else 2)
    assert page.errors == []


@needs_browser
def test_a_tensor_without_a_gradient_says_why(page, step):
    _, drawing, _ = step
    page.click(f'[data-node="{drawing.names.index("y")}"]')
    assert "backward needs no gradient" in page.locator("#details").inner_text()


@needs_browser
def test_the_backward_control_lights_each_tensor_in_reverse_topological_order_and_reaches_the_inputs(page, step):
    _, drawing, _ = step
    n = len(drawing.tensors)
    for k, expected in enumerate(reversed(range(n))):
        page.click("#step")
        current = page.eval_on_selector_all(".node.current", "nodes => nodes.map(node => Number(node.dataset.node))")
        assert current == [expected]
        assert page.locator("#details h2").inner_text() == f"#{expected} {drawing.names[expected]}"
        assert page.locator(".node.done, .node.no-grad").count() == k + 1
    assert page.locator("#step").is_disabled()
    assert "Backward has reached the inputs." in page.locator("#status").inner_text()
    for i, t in enumerate(drawing.tensors):
        lit = page.get_attribute(f'[data-node="{i}"]', "class")
        assert ("done" if t.requires_grad else "no-grad") in lit.split()
    assert drawing.parents[0] == []  # the last tensor lit is an input
    page.click("#reset")
    assert page.locator(".node.done, .node.no-grad, .edge.flowed").count() == 0
    assert page.errors == []


@needs_browser
def test_a_screenshot_for_people_to_look_at(page, step, tmp_path):
    """Half-way through backward, the first layer's weight clicked and its gradient in view: saved for CI (and
    docs/graph-explorer.png)."""
    _, drawing, _ = step
    for _ in range(5):
        page.click("#step")
    page.click(f'[data-node="{drawing.names.index("0.weight")}"]')
    page.locator("#details h3").nth(1).evaluate("h => h.scrollIntoView({block: 'start'})")  # the panel at the gradient
    folder = Path(os.environ.get("TINYGRAD_EDU_ARTIFACTS") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=folder / "graph-explorer.png")
    print(f"screenshot: {folder / 'graph-explorer.png'}")
    assert (folder / "graph-explorer.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert page.errors == []


@needs_data
def test_the_command_writes_the_page_for_one_step_of_the_lecture(tmp_path, capsys):
    result = run_demo("graph", "--html", str(tmp_path / "graph.html"), "--quiet")
    assert len(result["drawing"].tensors) == 11 and 0 < result["cost"]
    assert "saved" in capsys.readouterr().out and (tmp_path / "graph.html").stat().st_size > 0
    assert all(p.grad is not None for p in result["model"].parameters())


@needs_data
def test_the_command_writes_the_picture_alone_for_an_svg_name_and_refuses_other_names(tmp_path, capsys):
    result = run_demo("graph", "--html", str(tmp_path / "graph.svg"), "--batch-size", "3", "--quiet")
    assert (tmp_path / "graph.svg").read_text(encoding="utf-8") == result["drawing"].svg()
    assert result["drawing"].tensors[0].shape == (3, 784)
    with pytest.raises(SystemExit):
        run_demo("graph", "--html", str(tmp_path / "graph.png"))
    assert "must end in .html (or .svg for only the picture)" in capsys.readouterr().err
    assert not (tmp_path / "graph.png").exists()
    with pytest.raises(ValueError, match="--batch-size 10 is more than the 6 training digits loaded"):
        run_demo("graph", "--html", str(tmp_path / "graph.html"), "--subset", "6")
