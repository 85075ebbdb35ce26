"""The forward and backward pass of a small computation, printed as the table of the slides.

    >>> x = tinyae.tensor(2.0, requires_grad=True); x.name = "x"
    >>> y = (x * x).exp()
    >>> trace(y)                                       # doctest: +SKIP
    name  op     inputs  shape  value  v̄
    x     input          ()     2      218.4
    v2    Mul    x, x    ()     4      54.6
    v3    Exp    v2      ()     54.6   1

Rows are the nodes vᵢ in topological order (every node after the nodes it is computed from):
read the value column top to bottom for the forward pass, and the v̄ column bottom to top for the
backward pass, v̄ᵢ = Σ_{children j} v̄ⱼ ∂vⱼ/∂vᵢ, starting from L̄ = 1.
"""
import sys
from collections import namedtuple

import numpy

from . import backend
from .autograd import grad, topological_order

MAX_SHOWN = 6  # tensors with more elements show "…" instead of their values

GraphNode = namedtuple("GraphNode", "index name op tensor inputs")
GraphNode.__doc__ = """One node vᵢ of the graph.

index   position in topological order (0-based; the default name is v{index + 1})
name    the tensor's .name if set, else "v1", "v2", …
op      the class name of the Function that made it ("Mul", "Exp", …), or "input" for a leaf
        that requires grad and "const" for a leaf that does not
tensor  the Tensor itself
inputs  the indices of the nodes it was computed from, in argument order (() for leaves)"""


def graph_nodes(loss):
    """The graph behind ``loss``: ``(nodes, edges)``.

    ``nodes`` is a list of ``GraphNode`` in topological order (leaves included, ``loss`` last);
    ``edges`` is a list of ``(i, j)`` index pairs, one per use of node i as an input of node j
    (a node used twice by the same op, as in x * x, gives the edge twice)."""
    creator = loss._creator
    if creator is not None and creator.released:
        raise RuntimeError("graph_nodes/trace need the graph, which backward() freed: trace "
                           "before calling backward(), or call backward(retain_graph=True)")
    index, tensors = {}, []

    def add(t):
        if id(t) not in index:
            index[id(t)] = len(tensors)
            tensors.append(t)

    functions = topological_order([loss])
    for fn in functions:
        for x in fn.inputs:
            if x._creator is None:  # leaves appear just before their first use
                add(x)
        add(fn.output)
    add(loss)

    nodes, edges = [], []
    for i, t in enumerate(tensors):
        fn = t._creator
        inputs = tuple(index[id(x)] for x in fn.inputs) if fn is not None else ()
        op = type(fn).__name__ if fn is not None else ("input" if t.requires_grad else "const")
        nodes.append(GraphNode(i, t.name or f"v{i + 1}", op, t, inputs))
        edges.extend((j, i) for j in inputs)
    return nodes, edges


def trace(loss, file=None):
    """Print the table of the forward and backward pass of ``loss`` and return it as a string.

    The error signals v̄ = ∂loss/∂v are computed with ``grad(..., retain_graph=True)``, so the
    graph is still there afterwards and ``loss.backward()`` works as usual. ``loss`` should be a
    scalar (v̄ starts from L̄ = 1); ``file`` defaults to standard output."""
    nodes, _ = graph_nodes(loss)
    signals = {}
    if loss.requires_grad:
        if loss.size != 1:
            raise ValueError(f"trace() needs a scalar loss to start the backward pass from "
                             f"(L̄ = 1), got shape {loss.shape}: reduce it first, e.g. loss.sum()")
        wanted = [node for node in nodes if node.tensor.requires_grad]
        xbars = grad(loss, [node.tensor for node in wanted], retain_graph=True)
        signals = {node.index: xbar for node, xbar in zip(wanted, xbars)}

    header = ("name", "op", "inputs", "shape", "value", "v̄")
    rows = [(node.name, node.op, ", ".join(nodes[j].name for j in node.inputs),
             str(tuple(node.tensor.shape)), _show(node.tensor),
             _show(signals[node.index]) if node.index in signals else "")
            for node in nodes]
    widths = [max(len(row[k]) for row in rows + [header]) for k in range(len(header))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip()
             for row in [header] + rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    lines.append("forward: values top to bottom; backward: v̄ bottom to top, "
                 "v̄ᵢ = Σⱼ v̄ⱼ ∂vⱼ/∂vᵢ")
    table = "\n".join(lines)
    print(table, file=file or sys.stdout)
    return table


def _show(t):
    """The values of a small tensor, compactly (4 significant digits); "…" for a big one."""
    if t.size > MAX_SHOWN:
        return "…"
    values = backend.to_numpy(t.data)
    if values.ndim == 0:
        return f"{values.item():.4g}"
    return numpy.array2string(values, precision=4, separator=", ",
                              formatter={"float_kind": lambda v: f"{v:.4g}"}).replace("\n", "")
