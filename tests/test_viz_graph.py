"""Drawings of real networks' graphs (module names, plumbing collapsed, modules folded, values
and error signals in the boxes) and the backward pass frame by frame (figures and a GIF)."""
import numpy as np
import pytest
from matplotlib.text import Annotation

import tinyae
import tinyae.functional as F
import tinyae.nn as nn
from tinyae import losses, viz, viz_graph
from tinyae.trace import graph_nodes
from tinyae.viz_graph import bar


class TwoLayerAE(nn.Module):
    def __init__(self):
        super().__init__()
        self.encoder = nn.Sequential(nn.Linear(4, 3, rng=0), nn.Sigmoid())
        self.decoder = nn.Sequential(nn.Linear(3, 4, rng=1), nn.Sigmoid())

    def forward(self, x):
        return self.decoder(self.encoder(x))


def two_layer(rng):
    net = TwoLayerAE().double()
    x = tinyae.Tensor(rng.random((5, 4)), name="x")
    return net, losses.mse(net(x), x)


def logistic_least_squares():
    """The course's example: z = wx + b, y = σ(z), L = ½(y − t)², every node named."""
    def leaf(value, name, requires_grad=True):
        return tinyae.Tensor(np.float64(value), requires_grad=requires_grad, name=name)
    x, t, w, b = leaf(1.5, "x", False), leaf(1.0, "t", False), leaf(0.8, "w"), leaf(-0.3, "b")
    z = w * x + b
    z.name = "z"
    y = F.sigmoid(z)
    y.name = "y"
    L = 0.5 * (y - t) ** 2
    L.name = "L"
    return L, {"w": w, "b": b, "z": z, "y": y}


def box_texts(fig):
    return [t.get_text() for t in fig.axes[0].texts if not isinstance(t, Annotation)]


def test_parameters_are_named_by_module_path(rng):
    net, loss = two_layer(rng)
    texts = box_texts(viz.draw_graph(loss, names=net))
    assert "encoder.0.weight\n3×4" in texts and "decoder.0.bias\n4" in texts
    # torchviz's spelling gives the same drawing
    assert box_texts(viz.draw_graph(loss, names=dict(net.named_parameters()))) == texts
    with pytest.raises(TypeError, match="named_parameters"):
        viz.draw_graph(loss, names=["encoder.0.weight"])


def test_group_folds_each_module_into_one_box(rng):
    net, loss = two_layer(rng)
    full, folded = viz.draw_graph(loss, names=net), viz.draw_graph(loss, names=net, group=True)
    texts = box_texts(folded)
    assert "encoder.0: Linear\n5×3" in texts and "decoder.0: Linear\n5×4" in texts
    assert not any("weight" in t or "bias" in t for t in texts)
    # the four parameter leaves fold into their layers, mse's ops into one box
    assert texts == ["x\n5×4", "encoder.0: Linear\n5×3", "encoder.1: Sigmoid\n5×3",
                     "decoder.0: Linear\n5×4", "decoder.1: Sigmoid\n5×4", "mse\nscalar"]
    assert len(box_texts(full)) == 12
    assert folded.get_size_inches()[1] < full.get_size_inches()[1]
    loss.backward()  # drawing left the graph alone
    assert net.encoder[0].weight.grad.shape == (3, 4)


def test_collapse_leaves_out_plumbing_and_group_folds_written_out_layers(rng):
    W = tinyae.Tensor(rng.random((3, 4)), requires_grad=True)
    b = tinyae.Tensor(rng.random(3), requires_grad=True)
    x = tinyae.Tensor(rng.random((2, 4)))
    loss = (F.sigmoid(x.reshape((2, 4)) @ W.T + b) ** 2).sum()
    names = {"fc.W": W, "fc.b": b}
    ops = [n.op for n in graph_nodes(loss, names)[0]]
    assert "Transpose" in ops
    texts = box_texts(viz.draw_graph(loss, names=names, collapse=True))
    assert not any(t.startswith("Transpose") for t in texts) and "fc.W\n3×4" in texts
    nodes, edges = graph_nodes(loss, names, collapse=True)
    assert all(i < j for i, j in edges) and [n.index for n in nodes] == list(range(len(nodes)))
    assert "fc: MatMul + Add\n2×3" in box_texts(viz.draw_graph(loss, names=names, group=True))


def test_values_and_error_signals_of_logistic_least_squares():
    L, t = logistic_least_squares()
    y = 1 / (1 + np.exp(-0.9))
    zbar = (y - 1) * y * (1 - y)
    texts = "\n".join(box_texts(viz.draw_graph(L, values=True, signals=True)))
    for line in ["= 0.9", f"= {y:.4g}", f"{bar('z')} = {zbar:.4g}", f"{bar('y')} = {y - 1:.4g}",
                 f"{bar('w')} = {zbar * 1.5:.4g}", f"{bar('b')} = {zbar:.4g}", f"{bar('L')} = 1"]:
        assert line in texts
    assert bar("x") not in texts and bar("t") not in texts  # constants get no error signal
    L.backward()
    assert t["w"].grad.item() == pytest.approx(zbar * 1.5)


def test_small_matrices_are_printed_big_ones_are_not(rng):
    W = tinyae.Tensor(np.array([[1.0, 2.0], [3.0, 4.0]]), requires_grad=True, name="W")
    big = tinyae.Tensor(rng.random((5, 2)), name="X")
    texts = box_texts(viz.draw_graph((big @ W).sum(), values=True, signals=True))
    w_box = next(t for t in texts if t.startswith("W\n"))
    assert "1  2\n3  4" in w_box and f"{bar('W')} =" in w_box
    assert next(t for t in texts if t.startswith("X\n")) == "X\n5×2"  # 10 values: not written


def test_one_backward_frame_per_node_in_reverse_topological_order():
    L, _ = logistic_least_squares()
    nodes, _ = graph_nodes(L)
    frames = viz.backward_frames(L)
    assert len(frames) == len(nodes)
    titles = [f._suptitle.get_text() for f in frames]
    assert f"{bar('L')} = 1" in titles[0] and "step 1 of" in titles[0]
    assert any(f"{bar('z')} = {bar('y')} ∂y/∂z" in t for t in titles)
    assert sum("constant" in t for t in titles) == sum(n.op == "const" for n in nodes)
    for step, (fig, node) in enumerate(zip(frames, reversed(nodes))):
        now = [t for t in fig.axes[0].texts if not isinstance(t, Annotation)
               and t.get_bbox_patch().get_facecolor()[:3] == (1.0, 224 / 255, 102 / 255)]
        assert len(now) == 1 and now[0].get_text().split("\n")[0] == viz_graph._title(node)
    # the signals already computed stay written; the ones still to come are not there yet
    first = "\n".join(box_texts(frames[0]))
    last = "\n".join(box_texts(frames[-1]))
    assert f"{bar('L')} = 1" in first and bar("w") not in first
    assert bar("w") in last and bar("z") in last


def test_backward_animation_writes_a_small_gif(tmp_path):
    w = tinyae.Tensor(np.float64(2.0), requires_grad=True, name="w")
    y = F.exp(w * w)
    y.name = "y"
    path = tmp_path / "anim" / "backward.gif"
    n = viz.backward_animation(y, path)
    assert n == len(graph_nodes(y)[0]) == 3
    data = path.read_bytes()
    assert data[:6] == b"GIF89a" and len(data) < 1_000_000
    from PIL import Image
    with Image.open(path) as gif:
        assert gif.n_frames >= n


def test_viz_reexports_the_graph_drawings():
    assert viz.draw_graph is viz_graph.draw_graph


def test_a_tied_weight_keeps_its_own_box_when_modules_fold(rng):
    encoder = nn.Linear(4, 3, rng=0)
    net = nn.Sequential(encoder, nn.Sigmoid(), nn.TiedLinear(encoder, rng=1)).double()
    x = tinyae.Tensor(rng.random((2, 4)), name="x")
    loss = losses.mse(net(x), x)
    nodes, edges = graph_nodes(loss, names=net, group=True)
    by_name = {n.name: n.index for n in nodes}
    assert {"0", "2", "0.weight"} <= set(by_name) and "0.bias" not in by_name
    assert (by_name["0.weight"], by_name["0"]) in edges  # W feeds the encoder ...
    assert (by_name["0.weight"], by_name["2"]) in edges  # ... and, transposed, the decoder
    assert all(i < j for i, j in edges)
