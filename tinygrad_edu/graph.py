"""Look at what backward walks: a tensor's computation graph as text or as Graphviz DOT."""

from __future__ import annotations

from .autograd import topological_order


def node_names(nodes: list, params: dict | None) -> list[str]:
    """What each tensor is: the op that made it, else its parameter name (if ``params`` names it),
    else "input" (a leaf that requires grad) or "constant"."""
    names = {id(t): name for name, t in (params or {}).items()}
    return [type(t._ctx).__name__ if t._ctx is not None else names.get(id(t), "input" if t.requires_grad else "constant")
            for t in nodes]


def _labels(root, params: dict | None) -> tuple[list, dict]:
    """The graph's tensors, inputs first, and a short label for each (a parameter's name if given)."""
    nodes = topological_order(root)
    return nodes, {id(t): f"#{n} {what}" for n, (t, what) in enumerate(zip(nodes, node_names(nodes, params)))}


def render_graph(root, params: dict | None = None) -> str:
    """One line per tensor, inputs first: its op (or leaf name), shape, dtype and what it was made from.

    ``params`` maps names to tensors, e.g. ``dict(model.named_parameters())``, to name the leaves.
    Draw a graph before calling backward (or use ``retain_graph=True``): backward frees it.
    """
    nodes, labels = _labels(root, params)
    lines = []
    for t in nodes:
        line = f"{labels[id(t)]:<24} {str(t.shape):<14} {t.dtype}"
        if t._ctx is not None:
            line += "  <- " + ", ".join(labels[id(p)].split()[0] for p in t._ctx.parents)
        elif t.requires_grad:
            line += "  requires_grad"
        lines.append(line)
    return "\n".join(lines)


def to_dot(root, params: dict | None = None) -> str:
    """The same graph in Graphviz's DOT language (render with ``dot -Tpng graph.dot -o graph.png``)."""
    nodes, labels = _labels(root, params)
    lines = ["digraph computation {", "  rankdir=LR;", '  node [fontname="monospace"];']
    for t in nodes:
        shape = "ellipse" if t._ctx is not None else "box"
        lines.append(f'  t{id(t)} [label="{labels[id(t)]}\\n{t.shape} {t.dtype}", shape={shape}];')
    for t in nodes:
        if t._ctx is not None:
            lines.extend(f"  t{id(p)} -> t{id(t)};" for p in t._ctx.parents)
    lines.append("}")
    return "\n".join(lines)
