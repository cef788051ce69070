"""What a notebook shows: a tensor's HTML view, and draw_graph's SVG picture and explorer page."""

import json
import re
import xml.etree.ElementTree as ET

import numpy as np
import pytest
from hypothesis import given, strategies as st

import tinygrad_edu as tg
from tinygrad_edu.autograd import topological_order
from tinygrad_edu.draw import _heat_map, _row_images, layered_layout

SVG = "{http://www.w3.org/2000/svg}"
NUMBER = re.compile(r"-?\d+(?:\.\d*)?(?:e[+-]?\d+)?")


# ------------------------------------------------------------------------------- Tensor HTML
def html_parts(t) -> tuple[str, str, str]:
    """(kind, header, values) of a tensor's HTML view, unescaped by an XML parser (it must be well formed)."""
    div = ET.fromstring(t._repr_html_())
    return div.find("b").text, div.find("code").text, div.find("pre").text


def test_tensor_html_shows_shape_dtype_and_where_the_tensor_comes_from():
    w = tg.tensor(np.ones((2, 3)), requires_grad=True)
    y = (w * 2).sum(1)
    assert html_parts(w)[:2] == ("tensor", "shape (2, 3) · float64 · requires_grad=True")
    assert html_parts(y)[:2] == ("tensor", "shape (2,) · float64 · grad_fn=<SumBackward>")
    assert html_parts(tg.arange(3))[:2] == ("tensor", "shape (3,) · int64 · requires_grad=False")
    assert html_parts(y)[2] == "[6., 6.]"


def test_tensor_html_escapes_what_it_shows():
    html = (tg.tensor([1.0], requires_grad=True) * 2)._repr_html_()
    assert "grad_fn=&lt;MulBackward&gt;" in html and "<MulBackward>" not in html


@pytest.mark.parametrize("shape", [(30, 784), (2000,), (4, 5, 60)])
def test_tensor_html_abbreviates_a_large_tensor_to_three_values_at_each_end_of_each_dimension(shape):
    t = tg.arange(int(np.prod(shape))).reshape(*shape)  # every value names its position
    shown = sorted(int(v) for v in NUMBER.findall(html_parts(t)[2]))
    kept = np.ix_(*[np.r_[0:3, n - 3:n] if n > 6 else np.arange(n) for n in shape])
    assert shown == sorted(t.numpy()[kept].ravel().tolist())
    assert "..." in html_parts(t)[2]


def test_tensor_html_shows_every_value_up_to_a_thousand():
    shown = [int(v) for v in NUMBER.findall(html_parts(tg.arange(1000))[2])]
    assert shown == list(range(1000))


@pytest.mark.parametrize("shape", [(30, 784), (1001,), (7, 7, 7), (10, 100)])
def test_tensor_html_keeps_the_values_pytorch_prints(shape):
    torch = pytest.importorskip("torch")
    values = np.arange(int(np.prod(shape))).reshape(shape)
    ours = NUMBER.findall(html_parts(tg.tensor(values))[2])
    assert ours == NUMBER.findall(repr(torch.tensor(values)))


def test_parameter_like_subclasses_say_their_name():
    class Weight(tg.Tensor):
        __slots__ = ()
    assert html_parts(Weight(np.zeros(2, dtype=np.float32)))[0] == "Weight"


# ------------------------------------------------------------------------------- the picture
def lecture_step(rng, batch=5, sizes=(12, 6, 3)):
    """The lecture's step in engine ops only: two sigmoid layers and the quadratic cost."""
    x = tg.Tensor(rng.random((batch, sizes[0]), dtype=np.float32))
    y = tg.Tensor(np.eye(sizes[-1], dtype=np.float32)[rng.integers(0, sizes[-1], batch)])
    params = {}
    a = x
    for k, (n_in, n_out) in enumerate(zip(sizes, sizes[1:])):
        params[f"{2 * k}.weight"] = tg.randn(n_out, n_in, generator=rng, requires_grad=True)
        params[f"{2 * k}.bias"] = tg.randn(n_out, generator=rng, requires_grad=True)
        a = tg.linear(a, params[f"{2 * k}.weight"], params[f"{2 * k}.bias"]).sigmoid()
    cost = ((y - a) ** 2).sum() / (2 * batch)
    return cost, params


def random_graph(draw_ops, rng):
    """A graph of randomly chosen ops on randomly chosen earlier tensors (shared inputs, diamonds, repeats)."""
    tensors = [tg.Tensor(rng.normal(size=(2, 3)), requires_grad=bool(rng.integers(2))) for _ in range(3)]
    tensors[0].requires_grad = True
    for op, i, j in draw_ops:
        a, b = tensors[i % len(tensors)], tensors[j % len(tensors)]
        tensors.append({"add": lambda: a + b, "mul": lambda: a * b, "sigmoid": a.sigmoid, "neg": lambda: -a}[op]())
    return sum(tensors[1:], tensors[0]).sum()


def parse(drawing):
    svg = ET.fromstring(drawing.svg())
    nodes = svg.findall(f"{SVG}g[@data-node]")
    edges = [(int(e.get("data-from")), int(e.get("data-to"))) for e in svg.findall(f"{SVG}path[@class='edge']")]
    boxes = {int(g.get("data-node")): g.find(f"{SVG}rect") for g in nodes}
    return svg, nodes, edges, {i: tuple(float(r.get(k)) for k in ("x", "y", "width", "height")) for i, r in boxes.items()}


def check_picture(root, drawing):
    tensors = topological_order(root)
    svg, nodes, edges, boxes = parse(drawing)
    assert [int(g.get("data-node")) for g in nodes] == list(range(len(tensors)))
    assert all(len(g.findall(f"{SVG}rect")) == 1 for g in nodes)  # one shape per tensor
    index = {id(t): i for i, t in enumerate(tensors)}
    expected = sorted((index[id(p)], i) for i, t in enumerate(tensors) if t._ctx is not None for p in t._ctx.parents)
    assert sorted(edges) == expected  # one arrow per input, from the input to the op's result
    for a, b in edges:  # every arrow points right: inputs left, the output right
        assert boxes[a][0] + boxes[a][2] < boxes[b][0]
    for i in boxes:  # no two boxes overlap, and all lie inside the picture
        x, y, w, h = boxes[i]
        assert 0 <= x and x + w <= float(svg.get("width")) and 0 <= y and y + h <= float(svg.get("height"))
        for j in boxes:
            if i < j:
                x2, y2, w2, h2 = boxes[j]
                assert x + w <= x2 or x2 + w2 <= x or y + h <= y2 or y2 + h2 <= y, (i, j)
    assert max(boxes, key=lambda i: boxes[i][0]) == len(tensors) - 1  # the output is the rightmost box


def test_the_lecture_step_is_drawn_with_named_parameters_one_box_per_tensor_one_arrow_per_input():
    cost, params = lecture_step(np.random.default_rng(0))
    drawing = tg.draw_graph(cost, params)
    check_picture(cost, drawing)
    titles = [g.find(f"{ET.QName(SVG[1:-1], 'text')}").text for g in parse(drawing)[1]]
    assert {"0.weight", "0.bias", "2.weight", "2.bias"} <= {t.split(" ", 1)[1] for t in titles}
    assert drawing._repr_svg_() == drawing.svg()


@given(st.lists(st.tuples(st.sampled_from(["add", "mul", "sigmoid", "neg"]), st.integers(0, 50), st.integers(0, 50)),
                min_size=0, max_size=14), st.integers(0, 2**32 - 1))
def test_any_graph_is_drawn_with_arrows_pointing_right_and_no_boxes_overlapping(ops, seed):
    root = random_graph(ops, np.random.default_rng(seed))
    check_picture(root, tg.draw_graph(root))


def test_a_layer_weight_sits_just_before_the_op_that_uses_it():
    cost, params = lecture_step(np.random.default_rng(1))
    drawing = tg.draw_graph(cost, params)
    boxes = parse(drawing)[3]
    users = {i: c for c, inputs in enumerate(drawing.parents) for i in inputs}
    weight = drawing.names.index("2.weight")
    between = [x for x, *_ in boxes.values() if boxes[weight][0] + boxes[weight][2] < x < boxes[users[weight]][0]]
    assert between == []  # no column between the weight and its layer's op


def test_layered_layout_of_a_chain_and_a_diamond():
    assert layered_layout([[], [0], [1]]) == [(0, 0.0), (1, 0.0), (2, 0.0)]
    # 0 feeds 1 and 2, which both feed 3: 1 and 2 share a column, one row apart, centred on 0 and 3.
    layout = layered_layout([[], [0], [0], [1, 2]])
    assert [c for c, _ in layout] == [0, 1, 1, 2] and sorted(r for _, r in layout[1:3]) == [-0.5, 0.5]


def crossings(parents, layout) -> int:
    """How many pairs of arrows between the same two columns cross."""
    edges = [(layout[p], layout[c]) for c, inputs in enumerate(parents) for p in inputs]
    return sum(1 for k, (a, b) in enumerate(edges) for c, d in edges[k + 1:]
               if a[0] == c[0] and b[0] == d[0] and (a[1] - c[1]) * (b[1] - d[1]) < 0)


def test_rows_are_ordered_so_that_arrows_do_not_cross():
    # Leaves 0 and 1 feed 3 and 2 in the opposite order; 4 joins them: listed as they come, two arrows cross.
    parents = [[], [], [1], [0], [2, 3]]
    assert crossings(parents, [(0, -0.5), (0, 0.5), (1, -0.5), (1, 0.5), (2, 0.0)]) == 1
    assert crossings(parents, layered_layout(parents)) == 0
    cost, params = lecture_step(np.random.default_rng(0))
    drawing = tg.draw_graph(cost, params)
    assert crossings(drawing.parents, layered_layout(drawing.parents)) == 0


def test_an_ops_inputs_arrive_in_order_from_top_to_bottom_of_its_box():
    cost, params = lecture_step(np.random.default_rng(0))
    drawing = tg.draw_graph(cost, params)
    svg, _, _, boxes = parse(drawing)
    ends = {}
    for e in svg.findall(f"{SVG}path[@class='edge']"):
        ends.setdefault(int(e.get("data-to")), []).append(float(e.get("d").split()[-1].split(",")[1]))
    for op, ys in ends.items():
        _, top, _, height = boxes[op]
        assert ys == sorted(ys) and len(set(ys)) == len(ys) and all(top < y < top + height for y in ys)


def test_drawing_after_backward_says_to_draw_before():
    cost, params = lecture_step(np.random.default_rng(0))
    cost.backward()
    with pytest.raises(RuntimeError, match="draw a graph before its backward"):
        tg.draw_graph(cost, params)


# ---------------------------------------------------------------------------------- the files
def page_data(page: str) -> dict:
    start = page.index('<script type="application/json" id="graph-data">') + len('<script type="application/json" id="graph-data">')
    return json.loads(page[start:page.index("</script>", start)])


def test_a_drawing_saved_after_backward_holds_every_value_and_the_gradients_backward_kept(tmp_path):
    cost, params = lecture_step(np.random.default_rng(2))
    drawing = tg.draw_graph(cost, params)
    position = next(i for i, t in enumerate(drawing.tensors) if t._ctx is not None and t.ndim == 2)
    drawing.tensors[position].retain_grad()
    cost.backward()
    drawing.save(tmp_path / "graph.html")
    page = (tmp_path / "graph.html").read_text(encoding="utf-8")
    assert 'id="details"' in page and "http://" not in page.replace("http://www.w3.org/2000/svg", "")  # nothing fetched
    data = page_data(page)
    assert data["backward"] == list(range(len(drawing.tensors)))[::-1]
    for t, node in zip(drawing.tensors, data["nodes"]):
        assert node["value"]["text"] == np.array2string(t.data, separator=", ", precision=4, threshold=1000, edgeitems=3)
        assert np.isclose(node["value"]["stats"]["norm"], np.linalg.norm(t.data.astype(np.float64)))
        if t.grad is None:
            assert node["grad"] is None
        else:
            g = t.grad.data.astype(np.float64)
            assert node["grad"]["text"] == np.array2string(t.grad.data, separator=", ", precision=4, threshold=1000, edgeitems=3)
            stats = node["grad"]["stats"]
            assert np.allclose([stats[k] for k in ("min", "max", "mean", "std")], [g.min(), g.max(), g.mean(), g.std()])
    with_grad = {node["title"].split(" ", 1)[1] for node in data["nodes"] if node["grad"] is not None}
    assert with_grad == set(params) | {drawing.names[position]}
    drawing.save(tmp_path / "graph.svg")
    assert (tmp_path / "graph.svg").read_text(encoding="utf-8") == drawing.svg()


def test_names_cannot_break_out_of_the_page(tmp_path):
    evil = "</script><script>alert(1)</script>"
    w = tg.tensor([1.0, 2.0], requires_grad=True)
    drawing = tg.draw_graph((w * 3).sum(), {evil: w})
    page = drawing.html()
    assert page.count("</script>") == 2 and page.count("<script") == 2  # the page's own two
    assert page_data(page)["nodes"][0]["title"] == f"#0 {evil}"
    ET.fromstring(drawing.svg())  # still well formed


def test_a_graph_too_large_to_read_is_refused_with_what_to_do_instead():
    from tinygrad_edu.draw import MAX_TENSORS
    x = tg.tensor([1.0], requires_grad=True)
    y = x
    for _ in range(MAX_TENSORS - 1):
        y = y * 1.0  # each op adds its result and a constant
    with pytest.raises(ValueError, match=r"draw_graph: this graph has 1,999 tensors, .*tg.render_graph"):
        tg.draw_graph(y)
    assert len(tg.draw_graph(x * 1.0).tensors) == 3


def test_the_page_lists_each_user_of_a_tensor_once():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    y = x * x + x.sigmoid()
    nodes = page_data(tg.draw_graph(y).html())["nodes"]
    assert [node["users"] for node in nodes] == [[1, 2], [3], [3], []]  # x feeds Mul (twice) and Sigmoid


def test_save_refuses_a_name_without_a_known_format(tmp_path):
    drawing = tg.draw_graph(tg.tensor([1.0], requires_grad=True) * 2)
    with pytest.raises(ValueError, match=r"must end in \.svg or \.html"):
        drawing.save(tmp_path / "graph.png")
    assert list(tmp_path.iterdir()) == []


def test_non_finite_values_are_written_as_text_the_page_can_read():
    w = tg.tensor([1.0, np.inf], requires_grad=True)
    node = page_data(tg.draw_graph(w * 1.0).html())["nodes"][0]
    assert node["value"]["stats"]["max"] == "inf" and node["value"]["heat"] is None


# ------------------------------------------------------------------------------- heat maps
@pytest.mark.parametrize("shape,limit,blocks", [((80, 224), (40, 112), (2, 2)), ((30, 784), (40, 112), (1, 7))])
def test_a_heat_map_averages_equal_blocks(shape, limit, blocks):
    values = np.random.default_rng(0).normal(size=shape)
    heat = _heat_map(values, *limit)
    means = values.reshape(shape[0] // blocks[0], blocks[0], shape[1] // blocks[1], blocks[1]).mean(axis=(1, 3))
    assert (heat["rows"], heat["columns"], heat["block"]) == (*means.shape, list(blocks))
    assert heat["scale"] == pytest.approx(np.abs(means).max())
    assert heat["cells"] == np.round(means / np.abs(means).max() * 100).astype(int).ravel().tolist()


def test_a_heat_map_of_uneven_blocks_and_of_a_vector():
    values = np.arange(15.0).reshape(5, 3)
    heat = _heat_map(values, 2, 2)  # rows 0-1 and 2-4, columns 0 and 1-2
    means = np.array([[values[:2, :1].mean(), values[:2, 1:].mean()], [values[2:, :1].mean(), values[2:, 1:].mean()]])
    assert heat["cells"] == np.round(means / means.max() * 100).astype(int).ravel().tolist()
    assert _heat_map(np.array([-2.0, 1.0]))["cells"] == [-100, 50]
    assert _heat_map(np.zeros((2, 2, 2))) is None and _heat_map(np.zeros(3))["cells"] == [0, 0, 0]


def test_rows_of_a_square_length_are_shown_as_images():
    values = np.random.default_rng(0).normal(size=(40, 16))
    rows = _row_images(values, max_rows=30)
    assert (rows["count"], rows["of"], rows["side"]) == (30, 40, 4)
    assert rows["scale"] == pytest.approx(np.abs(values[:30]).max())
    assert rows["cells"] == np.round(values[:30] / np.abs(values[:30]).max() * 100).astype(int).ravel().tolist()
    assert _row_images(np.zeros((3, 15))) is None and _row_images(np.zeros((3, 9))) is None  # not square; too small
    assert _row_images(np.zeros(16)) is None and _row_images(np.zeros((2, 16)))["cells"] == [0] * 32
