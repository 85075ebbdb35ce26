"""The trace table (forward values and error signals in the slides' notation) and graph_nodes."""
import io

import numpy as np
import pytest

import tinyae
from tinyae.trace import graph_nodes, trace


def _rows(table):
    return [line.split() for line in table.splitlines()[2:-1]]


def test_trace_of_exp_x_squared():
    x = tinyae.Tensor(np.array(2.0), requires_grad=True, name="x")
    y = (x * x).exp()
    out = io.StringIO()
    table = trace(y, file=out)
    assert out.getvalue().strip() == table.strip()
    rows = _rows(table)
    assert [r[:2] for r in rows] == [["x", "input"], ["v2", "Mul"], ["v3", "Exp"]]
    assert rows[1][2:4] == ["x,", "x"]  # inputs named, the fan-out shown
    e4 = np.exp(4.0)
    assert float(rows[2][-2]) == pytest.approx(e4, rel=1e-3)      # forward value of v3
    assert float(rows[2][-1]) == 1.0                              # L̄ = 1
    assert float(rows[1][-1]) == pytest.approx(e4, rel=1e-3)      # v̄2 = v̄3 e^{v2}
    assert float(rows[0][-1]) == pytest.approx(4 * e4, rel=1e-3)  # x̄ = v̄2 · 2x


def test_trace_leaves_the_graph_and_grads_alone(capsys):
    W = tinyae.Tensor(np.arange(6.0).reshape(2, 3) / 10, requires_grad=True, name="W")
    x = tinyae.Tensor(np.ones((5, 3)), name="x")
    loss = (tinyae.functional.linear(x, W).sigmoid() ** 2).mean()
    table = trace(loss)
    assert capsys.readouterr().out.strip() == table.strip()
    assert W.grad is None
    rows = {r[0]: r for r in _rows(table)}
    assert rows["x"][1] == "const" and rows["x"][-1] == "…"  # 5×3 = 15 values: not shown
    assert "v̄" in table.splitlines()[0]
    loss.backward()  # the graph is still there
    assert W.grad.shape == (2, 3)


def test_trace_after_backward_says_what_to_do():
    x = tinyae.Tensor(np.array([1.0, 2.0]), requires_grad=True)
    loss = (x * x).sum()
    loss.backward()
    with pytest.raises(RuntimeError, match="retain_graph"):
        trace(loss)


def test_trace_needs_a_scalar():
    x = tinyae.Tensor(np.array([1.0, 2.0]), requires_grad=True)
    with pytest.raises(ValueError, match="scalar"):
        trace(x * 2.0, file=io.StringIO())


def test_graph_nodes_structure():
    a = tinyae.Tensor(np.array([1.0, 2.0]), requires_grad=True, name="a")
    b = tinyae.Tensor(np.array([3.0, 4.0]), requires_grad=True, name="b")
    h = a * b
    loss = (h + a).sum()
    nodes, edges = graph_nodes(loss)
    assert [n.name for n in nodes] == ["a", "b", "v3", "v4", "v5"]
    assert [n.op for n in nodes] == ["input", "input", "Mul", "Add", "Sum"]
    assert [n.index for n in nodes] == list(range(5))
    assert nodes[2].tensor is h and nodes[-1].tensor is loss
    assert nodes[3].inputs == (2, 0)
    assert sorted(edges) == [(0, 2), (0, 3), (1, 2), (2, 3), (3, 4)]
    for i, j in edges:  # topological: every edge points forward
        assert i < j


def test_graph_of_a_leaf_is_one_node():
    x = tinyae.Tensor(np.array(1.0), requires_grad=True)
    nodes, edges = graph_nodes(x)
    assert len(nodes) == 1 and nodes[0].op == "input" and edges == []


def test_trace_names_parameters_by_module_path_and_folds_modules():
    import tinyae.nn as nn
    net = nn.Sequential(nn.Linear(2, 2, rng=0), nn.Tanh()).double()
    model = nn.Sequential(net)  # parameters are 0.0.weight, 0.0.bias
    x = tinyae.Tensor(np.ones((3, 2)), name="x")
    loss = (model(x) ** 2).sum()
    rows = {r[0]: r for r in _rows(trace(loss, names=model, file=io.StringIO()))}
    assert rows["0.0.weight"][1] == "input" and "0.0.bias" in rows
    assert rows["0.0.weight"][-1] != "…"  # a 2×2 matrix is printed
    folded = {r[0]: r for r in _rows(trace(loss, names=model, group=True, file=io.StringIO()))}
    assert folded["0.0"][1] == "Linear" and "0.0.weight" not in folded


def test_collapse_skips_plumbing_but_keeps_the_signals():
    W = tinyae.Tensor(np.arange(6.0).reshape(2, 3), requires_grad=True, name="W")
    x = tinyae.Tensor(np.ones((1, 3)), name="x")
    loss = (x @ W.T).sum()
    assert "Transpose" in trace(loss, file=io.StringIO())
    table = trace(loss, collapse=True, file=io.StringIO())
    assert "Transpose" not in table
    rows = {r[0]: r for r in _rows(table)}
    assert rows["v3"][1:4] == ["MatMul", "x,", "W"]  # MatMul reads W itself now
