"""A module's HTML view in a notebook: its tree of layers, each with its parameters and how many values it learns."""

import xml.etree.ElementTree as ET

import nn


def items(module) -> list[tuple[int, str]]:
    """(depth, text) of every line of the tree, unescaped by an XML parser (the HTML must be well formed)."""
    lines = []

    def walk(ul, depth):
        for li in ul.findall("li"):
            text = (li.text or "") + "".join(("".join(c.itertext()) if c.tag != "ul" else "") + (c.tail or "") for c in li)
            lines.append((depth, text))
            for sub in li.findall("ul"):
                walk(sub, depth + 1)

    walk(ET.fromstring(module._repr_html_()), 0)
    return lines


def test_a_network_shows_as_its_layers_with_parameter_shapes_and_counts():
    model = nn.Sequential(nn.Linear(784, 30), nn.Sigmoid(), nn.Linear(30, 10), nn.Sigmoid())
    assert items(model) == [
        (0, "Sequential() · 23,860 parameters"),
        (1, "(0) Linear(in_features=784, out_features=30, bias=True) · 23,550 parameters · weight (30, 784) · bias (30,)"),
        (1, "(1) Sigmoid()"),
        (1, "(2) Linear(in_features=30, out_features=10, bias=True) · 310 parameters · weight (10, 30) · bias (10,)"),
        (1, "(3) Sigmoid()"),
    ]
    assert 30 * 784 + 30 + 10 * 30 + 10 == 23_860


def test_nested_modules_and_a_shared_layer_count_once_in_the_total():
    shared = nn.Linear(3, 3, bias=False)
    inner = nn.Sequential(shared, nn.ReLU(), shared)
    model = nn.Sequential(inner, nn.Linear(3, 2))
    assert items(model) == [
        (0, "Sequential() · 17 parameters"),
        (1, "(0) Sequential() · 9 parameters"),
        (2, "(0) Linear(in_features=3, out_features=3, bias=False) · 9 parameters · weight (3, 3)"),
        (2, "(1) ReLU()"),
        (2, "(2) Linear(in_features=3, out_features=3, bias=False) · 9 parameters · weight (3, 3)"),
        (1, "(1) Linear(in_features=3, out_features=2, bias=True) · 8 parameters · weight (2, 3) · bias (2,)"),
    ]


def test_what_a_module_says_about_itself_is_escaped():
    class Tagged(nn.Module):
        def extra_repr(self):
            return "<b>bold</b> & more"

    html = Tagged()._repr_html_()
    assert "&lt;b&gt;bold&lt;/b&gt; &amp; more" in html
    assert items(Tagged()) == [(0, "Tagged(<b>bold</b> & more)")]
