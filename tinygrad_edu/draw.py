"""Draw a computation graph without Graphviz: a layered layout computed here, shown as SVG in a
notebook, or saved as an SVG file or as a page to explore in a browser.

    drawing = tg.draw_graph(loss, dict(model.named_parameters()))   # before backward, which frees the graph
    loss.backward()
    drawing.save("graph.html")   # values and gradients are read when saving: after backward, they are there

The page is one file (its CSS, JavaScript and data inline, no network): click a tensor to see its value
and its gradient ∂C/∂t, and step through backward in the order `autograd.backpropagate` visits the tensors.
"""

from __future__ import annotations

import html
import json
import math
from pathlib import Path

import numpy as np

from .autograd import topological_order
from .files import atomic_file
from .graph import node_names

# Sizes in SVG pixels.
MAX_TENSORS = 1000  # the lecture's step has 11; a picture of thousands of boxes shows nothing
ROW_HEIGHT, NODE_HEIGHT, COLUMN_GAP, CHAR_WIDTH, MARGIN = 64, 42, 56, 7.2, 16
COLOURS = {"op": "#d6e6fa", "parameter": "#fde0b5", "data": "#e4e4e4", "output": "#c9ebc9"}


def draw_graph(root, params: dict | None = None) -> "GraphDrawing":
    """A drawing of everything ``root`` was computed from: one box per tensor, one arrow per input.

    ``params`` maps names to tensors, e.g. ``dict(model.named_parameters())``, to name the leaves (data too:
    ``{"x": images, **dict(model.named_parameters())}``). Draw before backward (or use ``backward(retain_graph=True)``): backward frees the graph's links.
    """
    return GraphDrawing(root, params)


def layered_layout(parents: list[list[int]]) -> list[tuple[int, int]]:
    """(column, row) of each node of a graph whose nodes come in topological order (inputs first);
    ``parents[i]`` lists node i's inputs. A small Sugiyama-style layout, in two steps:

    1. Columns: an op goes one column right of its rightmost input (so every arrow points right and
       the output ends up last); a leaf then moves right, to just before the first op that uses it,
       so a layer's weight sits beside that layer rather than with the data at the far left.
    2. Rows: within a column, nodes are sorted by the mean row of their neighbours in the columns to
       the left, then to the right, a few times over (the barycentre heuristic): nodes linked by an
       arrow get close rows, which keeps arrows short and few of them crossing.
    """
    n = len(parents)
    children = [[] for _ in range(n)]
    for i, inputs in enumerate(parents):
        for p in inputs:
            children[p].append(i)
    column = [0] * n
    for i in range(n):  # inputs come first, so their columns are known
        if parents[i]:
            column[i] = 1 + max(column[p] for p in parents[i])
    for i in range(n):
        if not parents[i] and children[i]:
            column[i] = min(column[c] for c in children[i]) - 1
    columns = [[i for i in range(n) if column[i] == c] for c in range(max(column, default=-1) + 1)]

    def centred_rows() -> list[float]:  # each node's row, columns centred on one another
        row = [0.0] * n
        for nodes in columns:
            for r, i in enumerate(nodes):
                row[i] = r - (len(nodes) - 1) / 2
        return row

    for _ in range(4):
        for neighbours, sweep in ((parents, columns), (children, columns[::-1])):
            for nodes in sweep:
                row = centred_rows()
                def barycentre(i, row=row, neighbours=neighbours):
                    linked = [row[j] for j in neighbours[i]]
                    return sum(linked) / len(linked) if linked else row[i]
                nodes.sort(key=barycentre)  # stable: ties keep their order
    row = centred_rows()
    return [(column[i], row[i]) for i in range(n)]


class GraphDrawing:
    """The graph of one tensor, laid out: ``_repr_svg_`` shows it in a notebook, ``save`` writes a file.

    The structure (which tensor was made from which) is taken when the drawing is made; the values and
    gradients are read when it is shown or saved, so a drawing made before backward and saved after it
    shows the gradients. ``tensors`` lists the graph's tensors in topological order, inputs first.
    """

    def __init__(self, root, params: dict | None = None):
        self.tensors = topological_order(root)  # raises if backward has freed the graph already
        if len(self.tensors) > MAX_TENSORS:
            raise ValueError(f"draw_graph: this graph has {len(self.tensors):,} tensors, more than a readable picture "
                             f"holds ({MAX_TENSORS:,}); draw a part of it (a layer's output, say), or print it with "
                             "tg.render_graph")
        index = {id(t): i for i, t in enumerate(self.tensors)}
        self.parents = [[index[id(p)] for p in t._ctx.parents] if t._ctx is not None else [] for t in self.tensors]
        self.names = node_names(self.tensors, params)
        self.kinds = ["output" if t is root else "op" if t._ctx is not None else "parameter" if t.requires_grad
                      else "data" for t in self.tensors]
        self._place(layered_layout(self.parents))

    def _place(self, layout: list[tuple[int, float]]) -> None:
        """Box sizes and positions in pixels: each column as wide as its widest label."""
        self.widths = [CHAR_WIDTH * max(len(self._title(i)), len(self._subtitle(i))) + 20 for i in range(len(self.tensors))]
        n_columns = max((c for c, _ in layout), default=-1) + 1
        column_width = [max((w for w, (c, _) in zip(self.widths, layout) if c == k), default=0) for k in range(n_columns)]
        lefts = np.concatenate([[MARGIN], MARGIN + np.cumsum(np.add(column_width, COLUMN_GAP))])
        top_row = min((r for _, r in layout), default=0)
        self.boxes = []  # (x, y) of each box's top-left corner
        for i, (c, r) in enumerate(layout):
            x = lefts[c] + (column_width[c] - self.widths[i]) / 2
            self.boxes.append((float(x), MARGIN + (r - top_row) * ROW_HEIGHT))
        self.width = float(lefts[-1] - COLUMN_GAP + MARGIN) if n_columns else 2 * MARGIN
        self.height = MARGIN * 2 + (max((r for _, r in layout), default=0) - top_row) * ROW_HEIGHT + NODE_HEIGHT

    def _title(self, i: int) -> str:
        return f"#{i} {self.names[i]}"

    def _subtitle(self, i: int) -> str:
        t = self.tensors[i]
        return f"{t.shape} {t.dtype}" if t.ndim else f"{t.data.item():.4g} {t.dtype}"

    # ----------------------------------------------------------------------------------- SVG
    def svg(self) -> str:
        """The picture as an SVG document: a box per tensor (``data-node`` = its number), an arrow per input."""
        parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{self.width:.0f}" height="{self.height:.0f}" '
                 f'viewBox="0 0 {self.width:.0f} {self.height:.0f}" font-family="monospace" font-size="12">',
                 '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="6" markerHeight="6" '
                 'orient="auto"><path d="M0,0 L10,5 L0,10 z" fill="#777"/></marker></defs>']
        for child, inputs in enumerate(self.parents):
            for k, parent in enumerate(inputs):
                (x0, y0), (x1, y1) = self.boxes[parent], self.boxes[child]
                x0, y0 = x0 + self.widths[parent], y0 + NODE_HEIGHT / 2
                y1 += NODE_HEIGHT / 2 + (k - (len(inputs) - 1) / 2) * 8  # the op's inputs arrive in order, top down
                bend = (x1 - x0) / 2  # a cubic curve leaving and entering horizontally
                parts.append(f'<path class="edge" data-from="{parent}" data-to="{child}" fill="none" stroke="#999" '
                             f'stroke-width="1.5" marker-end="url(#arrow)" '
                             f'd="M{x0:.1f},{y0:.1f} C{x0 + bend:.1f},{y0:.1f} {x1 - bend:.1f},{y1:.1f} {x1:.1f},{y1:.1f}"/>')
        for i, (x, y) in enumerate(self.boxes):
            tooltip = f"{self._title(i)}: {self.kinds[i]}" + (
                " made from " + ", ".join(f"#{p}" for p in self.parents[i]) if self.parents[i] else "")
            parts.append(
                f'<g class="node {self.kinds[i]}" data-node="{i}"><title>{html.escape(tooltip)}</title>'
                f'<rect x="{x:.1f}" y="{y:.1f}" width="{self.widths[i]:.1f}" height="{NODE_HEIGHT}" rx="6" '
                f'fill="{COLOURS[self.kinds[i]]}" stroke="#555"/>'
                f'<text x="{x + self.widths[i] / 2:.1f}" y="{y + 17:.1f}" text-anchor="middle" font-weight="bold">'
                f'{html.escape(self._title(i))}</text>'
                f'<text x="{x + self.widths[i] / 2:.1f}" y="{y + 33:.1f}" text-anchor="middle" fill="#444">'
                f'{html.escape(self._subtitle(i))}</text></g>')
        parts.append("</svg>")
        return "".join(parts)

    def _repr_svg_(self) -> str:
        return self.svg()

    # ---------------------------------------------------------------------------------- page
    def html(self) -> str:
        """The explorer page: the picture, a side panel (id ``details``) and a backward stepper, in one file."""
        users = [[] for _ in self.tensors]  # the ops each tensor is an input of
        for child, inputs in enumerate(self.parents):
            for parent in dict.fromkeys(inputs):  # once, even if an op takes it twice (x * x)
                users[parent].append(child)
        data = {
            "nodes": [self._describe(i, users[i]) for i in range(len(self.tensors))],
            # the order backpropagate visits the tensors: each once every op that used it has handed back its share
            "backward": list(range(len(self.tensors)))[::-1],
        }
        payload = json.dumps(data, separators=(",", ":")).replace("<", "\\u003c")  # no "</script>" in the data
        return _PAGE.replace("{{svg}}", self.svg()).replace("{{data}}", payload).replace(
            "{{title}}", html.escape(self._title(len(self.tensors) - 1)))

    def _describe(self, i: int, users: list[int]) -> dict:
        t = self.tensors[i]
        grad = t.grad.data if t.grad is not None else None
        return {"title": self._title(i), "kind": self.kinds[i], "shape": list(t.shape), "dtype": str(t.dtype),
                "parents": self.parents[i], "users": users, "requires_grad": bool(t.requires_grad),
                "value": _summary(t.data), "grad": None if grad is None else _summary(grad)}

    def save(self, path) -> None:
        """Write the drawing: ``.svg`` for the picture, ``.html`` for the explorer page (replaced whole)."""
        suffix = Path(path).suffix.lower()
        if suffix not in (".svg", ".html", ".htm"):
            raise ValueError(f"GraphDrawing.save: cannot tell the format of {path}: the name must end in .svg or .html")
        text = self.svg() if suffix == ".svg" else self.html()
        with atomic_file(path) as file:
            file.write(text.encode("utf-8"))


def _summary(array: np.ndarray) -> dict:
    """What the side panel shows of an array: statistics, the values as repr prints them, a heat map."""
    values = np.asarray(array, dtype=np.float64)
    with np.errstate(invalid="ignore", over="ignore"):  # inf or NaN values give NaN statistics, shown as such
        stats = {} if values.size == 0 else {
            "min": values.min(), "max": values.max(), "mean": values.mean(), "std": values.std(),
            "norm": math.sqrt((values ** 2).sum())}
    text = np.array2string(np.asarray(array), separator=", ", precision=4, threshold=1000, edgeitems=3)
    return {"stats": {k: _number(v) for k, v in stats.items()}, "text": text, "heat": _heat_map(values),
            "rows": _row_images(values)}


def _number(x: float):
    """A float for JSON, which has no NaN or infinity: those become the strings "nan", "inf", "-inf"."""
    return float(x) if math.isfinite(x) else str(float(x))


def _heat_map(values: np.ndarray, max_rows: int = 40, max_columns: int = 112) -> dict | None:
    """A matrix (or vector, as one row) shrunk to at most max_rows x max_columns cells by averaging blocks,
    each cell a whole number from -100 to 100 in units of the largest |cell|; None for other shapes."""
    if values.ndim == 1:
        values = values[None, :]
    if values.ndim != 2 or values.size == 0 or not np.isfinite(values).all():
        return None
    starts = [np.linspace(0, n, min(n, most) + 1).astype(int)[:-1] for n, most in zip(values.shape, (max_rows, max_columns))]
    sums = np.add.reduceat(np.add.reduceat(values, starts[0], axis=0), starts[1], axis=1)
    counts = np.outer(*[np.diff(np.append(s, n)) for s, n in zip(starts, values.shape)])
    cells = sums / counts
    scale = np.abs(cells).max()
    scaled = np.zeros_like(cells) if scale == 0 else np.round(cells / scale * 100)
    return {"rows": cells.shape[0], "columns": cells.shape[1], "scale": float(scale),
            "block": [int(math.ceil(n / m)) for n, m in zip(values.shape, cells.shape)],
            "cells": scaled.astype(int).ravel().tolist()}


def _row_images(values: np.ndarray, max_rows: int = 30) -> dict | None:
    """The first rows of a matrix whose rows have a square length (784 = 28²: one weight per pixel of a
    digit), each as a side x side image, whole numbers from -100 to 100 in units of the largest |value|
    shown; None for other shapes."""
    side = math.isqrt(values.shape[-1]) if values.ndim == 2 else 0
    if side < 4 or side * side != values.shape[1] or not np.isfinite(values).all():
        return None
    shown = values[:max_rows]
    scale = np.abs(shown).max()
    scaled = np.zeros_like(shown) if scale == 0 else np.round(shown / scale * 100)
    return {"count": len(shown), "of": len(values), "side": side, "scale": float(scale),
            "cells": scaled.astype(int).ravel().tolist()}


_PAGE = r"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Computation graph of {{title}}</title>
<style>
  body { margin: 0; font: 14px system-ui, sans-serif; color: #222; display: flex; height: 100vh; }
  #main { flex: 1; display: flex; flex-direction: column; min-width: 0; }
  header { padding: 10px 16px; border-bottom: 1px solid #ddd; background: #fafafa; }
  header h1 { font-size: 17px; margin: 0 0 4px; }
  header p { margin: 2px 0; color: #555; }
  #controls { margin-top: 8px; display: flex; gap: 8px; align-items: center; flex-wrap: wrap; }
  button { font: inherit; padding: 4px 12px; border: 1px solid #888; border-radius: 4px; background: #fff; cursor: pointer; }
  button:disabled { color: #aaa; border-color: #ccc; cursor: default; }
  #status { color: #333; }
  #picture { flex: 1; overflow: auto; padding: 8px; }
  #picture svg { max-width: 100%; height: auto; }
  #reading { max-width: 760px; color: #333; margin: 16px 8px; }
  #reading h2 { font-size: 15px; margin: 0 0 6px; }
  #reading p { margin: 0 0 8px; line-height: 1.45; }
  .node { cursor: pointer; }
  .node:hover rect { stroke-width: 2.5; }
  .node.selected rect { stroke: #000; stroke-width: 3; }
  .node.done rect { stroke: #d35400; stroke-width: 3; }
  .node.no-grad rect { opacity: 0.45; }
  .node.current rect { stroke: #c0392b; stroke-width: 4; }
  .edge.flowed { stroke: #e67e22; stroke-width: 2.5; }
  .legend { display: inline-block; width: 12px; height: 12px; border: 1px solid #555; border-radius: 3px; vertical-align: -2px; margin-left: 8px; }
  #details { width: 380px; border-left: 1px solid #ddd; padding: 12px 16px; overflow: auto; background: #fff; }
  #details h2 { font-size: 16px; margin: 0 0 4px; }
  #details h3 { font-size: 14px; margin: 14px 0 4px; }
  #details table { border-collapse: collapse; font-family: monospace; }
  #details td { padding: 1px 10px 1px 0; }
  #details pre { background: #f6f6f6; padding: 6px; font-size: 10px; overflow-x: auto; }
  .explain { color: #555; font-size: 12px; margin: 0 0 4px; }
  .note { color: #666; font-style: italic; }
  canvas { border: 1px solid #ccc; image-rendering: pixelated; display: block; margin: 4px 0; }
</style></head>
<body>
<div id="main">
<header>
  <h1>Computation graph of {{title}}</h1>
  <p>Each box is a tensor, each arrow an input of the op that made the next one. Click a box to see its value and its gradient ∂C/∂t, where C is {{title}}.
    <span class="legend" style="background:#fde0b5"></span> parameter (requires grad)
    <span class="legend" style="background:#e4e4e4"></span> data
    <span class="legend" style="background:#d6e6fa"></span> op result
    <span class="legend" style="background:#c9ebc9"></span> output</p>
  <div id="controls">
    <button id="step">Backward: next step ▶</button>
    <button id="reset">Reset</button>
    <span id="status"></span>
  </div>
</header>
<div id="picture">{{svg}}
<section id="reading">
  <h2>How to read it</h2>
  <p><b>Forward</b>, left to right: each op computes its box from the boxes whose arrows point to it (the inputs
    of one op arrive top to bottom in the order it takes them).</p>
  <p><b>Backward</b>, right to left: at the output ∂C/∂C = 1. Each op hands each of its inputs a share of the
    gradient, by the chain rule: ∂C/∂input = ∂C/∂output · ∂output/∂input. A tensor used by several ops adds up
    their shares, so its gradient is complete only once every op that used it has been visited: this is why
    backward goes in reverse topological order. Step through it with the button above.</p>
  <p><b>Then</b> the optimizer moves every parameter against its gradient: w ← w − η ∂C/∂w.</p>
</section></div>
</div>
<aside id="details"><p class="note">Click a tensor in the graph.</p></aside>
<script type="application/json" id="graph-data">{{data}}</script>
<script>
"use strict";
const graph = JSON.parse(document.getElementById("graph-data").textContent);
const boxes = Array.from(document.querySelectorAll("[data-node]"));
const details = document.getElementById("details");
const START = "Backward visits the tensors from the output back to the inputs: press the button to follow it. " +
  "Orange arrows are those along which the gradient has flowed back.";
const stepButton = document.getElementById("step"), statusLine = document.getElementById("status");
let stepsTaken = 0;

const STAT_NAMES = {min: "smallest", max: "largest", mean: "mean", std: "standard deviation", norm: "norm √(Σ t²)"};
function fmt(x) { return typeof x === "number" ? Number(x.toPrecision(4)).toString() : x; }
function shape(node) { return "(" + node.shape.join(", ") + (node.shape.length === 1 ? ",)" : ")"); }
function nameList(ids) { return ids.map(i => graph.nodes[i].title).join(", "); }
function el(tag, attributes, text) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attributes || {})) e.setAttribute(k, v);
  if (text !== undefined) e.textContent = text;
  return e;
}

// A heat map: blue below zero, white at zero, red above, in units of the largest |cell|.
function heatMap(heat) {
  const cell = Math.max(1, Math.min(8, Math.floor(340 / heat.columns)));
  const canvas = el("canvas", {width: heat.columns * cell, height: heat.rows * cell});
  const ctx = canvas.getContext("2d");
  heat.cells.forEach((v, k) => {
    const t = Math.abs(v) / 100, fade = Math.round(255 * (1 - t));
    ctx.fillStyle = v >= 0 ? `rgb(255,${fade},${fade})` : `rgb(${fade},${fade},255)`;
    ctx.fillRect((k % heat.columns) * cell, Math.floor(k / heat.columns) * cell, cell, cell);
  });
  return canvas;
}

// Each row of a matrix as a small square image, five to a line, in the heat map's colours.
function rowImages(r) {
  const cell = 2, gap = 4, perLine = 5, size = r.side * cell;
  const lines = Math.ceil(r.count / perLine);
  const canvas = el("canvas", {width: perLine * (size + gap), height: lines * (size + gap)});
  const ctx = canvas.getContext("2d");
  const area = r.side * r.side;
  r.cells.forEach((v, k) => {
    const image = Math.floor(k / area), at = k % area;
    const t = Math.abs(v) / 100, fade = Math.round(255 * (1 - t));
    ctx.fillStyle = v >= 0 ? `rgb(255,${fade},${fade})` : `rgb(${fade},${fade},255)`;
    ctx.fillRect((image % perLine) * (size + gap) + (at % r.side) * cell,
                 Math.floor(image / perLine) * (size + gap) + Math.floor(at / r.side) * cell, cell, cell);
  });
  return canvas;
}

// One array's statistics, heat map and values; data-stat="PREFIX-min" etc. name them for tests.
function summary(prefix, s) {
  const box = el("div");
  const table = el("table");
  for (const [k, v] of Object.entries(s.stats)) {
    const row = el("tr");
    row.append(el("td", {}, STAT_NAMES[k]), el("td", {"data-stat": prefix + "-" + k}, fmt(v)));
    table.append(row);
  }
  box.append(table);
  if (s.heat) {
    const blocks = s.heat.block[0] * s.heat.block[1] > 1 ? `, each cell the mean of a ${s.heat.block.join("×")} block` : "";
    box.append(el("div", {class: "note"}, `heat map: blue < 0 < red, full colour at ±${fmt(s.heat.scale)}${blocks}`), heatMap(s.heat));
  }
  if (s.rows) {
    const r = s.rows, shown = r.count < r.of ? `the first ${r.count} of its ${r.of} rows` : `its ${r.of} rows`;
    box.append(el("div", {class: "note"}, `${shown}, each as a ${r.side}×${r.side} image (for a layer's weight: ` +
      `what each neuron does with each pixel; full colour at ±${fmt(r.scale)})`), rowImages(r));
  }
  box.append(el("div", {class: "note"}, "the numbers, as print(t) shows them (at most the first and last 3 of each dimension):"),
    el("pre", {"data-stat": prefix + "-text"}, s.text));
  return box;
}

function show(i) {
  const node = graph.nodes[i];
  boxes.forEach(b => b.classList.toggle("selected", Number(b.dataset.node) === i));
  details.replaceChildren();
  details.append(el("h2", {}, node.title));
  const facts = [`${node.kind}, shape ${shape(node)}, ${node.dtype}`];
  if (node.parents.length) facts.push("made from " + nameList(node.parents));
  if (node.users.length) facts.push("used by " + nameList(node.users));
  facts.forEach(f => details.append(el("div", {}, f)));
  details.append(el("h3", {}, "value"), summary("value", node.value));
  details.append(el("h3", {}, "gradient ∂C/∂t of " + node.title),
    el("p", {class: "explain"}, "how fast C changes when one number of this tensor changes, one entry per entry of the value"));
  if (node.grad) details.append(summary("grad", node.grad));
  else details.append(el("p", {class: "note"}, !node.requires_grad
    ? "none: nothing learns through this tensor, so backward needs no gradient for it."
    : node.kind === "parameter"
      ? "none yet: call backward() before saving the page."
      : "not kept: backward passes it on and forgets it. Call retain_grad() on the tensor before backward to keep it."));
}

function reset() {
  stepsTaken = 0;
  boxes.forEach(b => b.classList.remove("done", "no-grad", "current"));
  document.querySelectorAll(".edge").forEach(e => e.classList.remove("flowed"));
  stepButton.disabled = false;
  statusLine.textContent = START;
}

// One step of backward: the next tensor in reverse topological order has its gradient complete,
// since every op that used it came later in the forward pass and has been visited already.
function step() {
  const i = graph.backward[stepsTaken++];
  const node = graph.nodes[i];
  boxes.forEach(b => b.classList.remove("current"));
  const box = boxes.find(b => Number(b.dataset.node) === i);
  box.classList.add(node.requires_grad ? "done" : "no-grad", "current");
  document.querySelectorAll(`.edge[data-to="${i}"]`).forEach(e => e.classList.add("flowed"));
  const n = graph.backward.length;
  let what = !node.requires_grad ? "needs no gradient (nothing learns through it)"
    : node.parents.length === 0 ? "is a leaf: its gradient is complete and stored in .grad"
    : node.users.length === 0 ? "is the output: ∂C/∂C = 1; its op hands a share to each input"
    : "has its gradient complete (every op that used it has added its share); its op hands a share to each input";
  statusLine.textContent = `Step ${stepsTaken} of ${n}: ${node.title} ${what}.`;
  if (stepsTaken === n) {
    stepButton.disabled = true;
    statusLine.textContent += " Backward has reached the inputs.";
  }
  show(i);
}

boxes.forEach(b => b.addEventListener("click", () => show(Number(b.dataset.node))));
stepButton.addEventListener("click", step);
document.getElementById("reset").addEventListener("click", reset);
reset();
</script>
</body></html>
"""
