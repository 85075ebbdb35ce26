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

Real networks: ``names=model`` (or ``names=dict(model.named_parameters())``, as torchviz's
``params=``) names the parameters by their module path (``encoder.0.weight``);
``collapse=True`` leaves out the plumbing ops (reshape, transpose, broadcast, casts), which move
numbers without computing anything; ``group=True`` folds each module's parameters and the ops
that use them into one node (``encoder.0: Linear``). The table here and the drawings of
``tinyae.viz_graph`` use the same walk (``graph_nodes``), so they always agree.
"""
import sys
from collections import namedtuple

import numpy

from . import backend
from .autograd import topological_order
from .gradients import grad

MAX_SHOWN = 6   # a tensor is shown in full if it has at most this many elements, ...
SMALL_SIDE = 4  # ... or is a vector or matrix with at most this many rows and columns (4×4)
PLUMBING = frozenset({"Reshape", "Transpose", "BroadcastTo", "AsType", "Clone"})

GraphNode = namedtuple("GraphNode", "index name op tensor inputs group", defaults=(None,))
GraphNode.__doc__ = """One node vᵢ of the graph.

index   position in topological order (0-based; the default name is v{index + 1})
name    the name given in ``names=``, else the tensor's .name, else "v1", "v2", …
op      the class name of the Function that made it ("Mul", "Exp", …), or "input" for a leaf
        that requires grad and "const" for a leaf that does not; for a folded module
        (group=True) its ops joined by " + " ("Linear", "MatMul + Add")
tensor  the Tensor itself (for a folded module: its output)
inputs  the indices of the nodes it was computed from, in argument order (() for leaves)
group   the module path of the parameters it belongs to ("encoder.0"), or None"""


def _name_table(names):
    """id(tensor) -> name, from a Module (its named_parameters) or a mapping name -> Tensor."""
    if names is None:
        return {}
    if hasattr(names, "named_parameters"):
        names = dict(names.named_parameters())
    if not hasattr(names, "items"):
        raise TypeError("names must be a Module or a mapping name -> Tensor, e.g. "
                        f"dict(model.named_parameters()); got {type(names).__name__}")
    return {id(t): str(name) for name, t in names.items()}


def graph_nodes(loss, names=None, collapse=False, group=False):
    """The graph behind ``loss``: ``(nodes, edges)``.

    ``nodes`` is a list of ``GraphNode`` in topological order (leaves included, ``loss`` last);
    ``edges`` is a list of ``(i, j)`` index pairs, one per use of node i as an input of node j
    (a node used twice by the same op, as in x * x, gives the edge twice). ``names``,
    ``collapse`` and ``group``: see the module docstring."""
    creator = loss._creator
    if creator is not None and creator.released:
        raise RuntimeError("graph_nodes/trace need the graph, which backward() freed: trace "
                           "before calling backward(), or call backward(retain_graph=True)")
    given = _name_table(names)
    index, tensors = {}, []

    def add(t):
        if id(t) not in index:
            index[id(t)] = len(tensors)
            tensors.append(t)

    for fn in topological_order([loss]):
        for x in fn.inputs:
            if x._creator is None:  # leaves appear just before their first use
                add(x)
        add(fn.output)
    add(loss)

    nodes = []
    for i, t in enumerate(tensors):
        fn = t._creator
        inputs = tuple(index[id(x)] for x in fn.inputs) if fn is not None else ()
        op = type(fn).__name__ if fn is not None else ("input" if t.requires_grad else "const")
        name = given.get(id(t)) or t.name or f"v{i + 1}"
        nodes.append(GraphNode(i, name, op, t, inputs, _group_of(name, op, inputs, nodes)
                               if id(t) in given or fn is not None else None))
    if collapse:
        nodes = _collapse(nodes)
    if group:
        nodes = _fold_groups(nodes)
    return nodes, [(j, node.index) for node in nodes for j in node.inputs]


def _group_of(name, op, inputs, earlier):
    """A named parameter belongs to the module in its path ("encoder.0.weight" -> "encoder.0");
    an op belongs to the module whose parameter it uses (directly or through plumbing; the last
    such input decides, e.g. a decoder's bias over a tied encoder weight)."""
    if not inputs:
        return name.rpartition(".")[0] or None
    groups = [earlier[j].group for j in inputs if earlier[j].group is not None and
              (not earlier[j].inputs or earlier[j].op in PLUMBING)]
    return groups[-1] if groups else None


def _renumber(kept, inputs_of):
    """Keep the nodes ``kept`` (in order), with new inputs from ``inputs_of(node)`` in old
    indices; unnamed nodes get their new number v{i+1}."""
    new = {node.index: i for i, node in enumerate(kept)}
    out = []
    for i, node in enumerate(kept):
        name = node.name
        if name == f"v{node.index + 1}":
            name = f"v{i + 1}"
        out.append(node._replace(index=i, name=name,
                                 inputs=tuple(new[j] for j in inputs_of(node))))
    return out


def _collapse(nodes):
    """Leave out plumbing ops: their users read straight from what the plumbing read from."""
    source = {}
    for node in nodes:
        if node.op in PLUMBING and node is not nodes[-1]:
            source[node.index] = source.get(node.inputs[0], node.inputs[0])
    kept = [node for node in nodes if node.index not in source]
    return _renumber(kept, lambda node: [source.get(j, j) for j in node.inputs])


def _fold_groups(nodes):
    """One node per module: its ops, and the parameters (with their plumbing) that only its
    ops use, fold into its last op. A parameter two modules use (tied weights) keeps its own
    box, with an arrow to each."""
    users = {node.index: [] for node in nodes}
    for node in nodes:
        for j in node.inputs:
            users[j].append(node.index)
    fold = {}
    for node in reversed(nodes):  # users first: a parameter follows where it is used
        if node.inputs and node.op not in PLUMBING:
            fold[node.index] = node.group
        else:
            groups = {fold[u] for u in users[node.index]}
            fold[node.index] = groups.pop() if node.group and len(groups) == 1 else None
    members = {}
    for node in nodes:
        if fold[node.index] is not None:
            members.setdefault(fold[node.index], []).append(node)
    head = {g: ms[-1].index for g, ms in members.items()}  # the module's last op
    owner = {k: head[g] for k, g in fold.items() if g is not None}
    kept = []
    for node in nodes:
        if owner.get(node.index, node.index) != node.index:
            continue
        if node.index in owner:
            ops = [m.op for m in members[fold[node.index]] if m.inputs and m.op not in PLUMBING]
            node = node._replace(name=fold[node.index], op=" + ".join(dict.fromkeys(ops)))
        kept.append(node)

    def inputs_of(node):
        if node.index not in owner:
            return [owner.get(j, j) for j in node.inputs]
        outside = [owner.get(j, j) for m in members[fold[node.index]] for j in m.inputs
                   if owner.get(j) != node.index]
        return list(dict.fromkeys(outside))
    return _renumber(kept, inputs_of)


def error_signals(loss, nodes):
    """{node index: v̄ = ∂loss/∂v} for the nodes that require grad (one ``grad`` call with
    ``retain_graph=True``, so the graph stays for ``backward``). ``loss`` must be a scalar."""
    if not loss.requires_grad:
        return {}
    if loss.size != 1:
        raise ValueError(f"error signals start from L̄ = 1 and need a scalar loss, got shape "
                         f"{loss.shape}: reduce it first, e.g. loss.sum()")
    wanted = [node for node in nodes if node.tensor.requires_grad]
    xbars = grad(loss, [node.tensor for node in wanted], retain_graph=True)
    return {node.index: xbar for node, xbar in zip(wanted, xbars)}


def trace(loss, file=None, names=None, collapse=False, group=False):
    """Print the table of the forward and backward pass of ``loss`` and return it as a string.

    The error signals v̄ = ∂loss/∂v are computed with ``grad(..., retain_graph=True)``, so the
    graph is still there afterwards and ``loss.backward()`` works as usual. ``loss`` should be a
    scalar (v̄ starts from L̄ = 1); ``file`` defaults to standard output; ``names``,
    ``collapse``, ``group``: see the module docstring."""
    nodes, _ = graph_nodes(loss, names, collapse, group)
    signals = error_signals(loss, nodes)
    header = ("name", "op", "inputs", "shape", "value", "v̄")
    rows = [(node.name, node.op, ", ".join(nodes[j].name for j in node.inputs),
             str(tuple(node.tensor.shape)), show(node.tensor),
             show(signals[node.index]) if node.index in signals else "")
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


def is_small(t):
    """Small enough to print: at most MAX_SHOWN elements, or a vector/matrix up to 4×4."""
    return t.size <= MAX_SHOWN or (t.ndim <= 2 and max(t.shape) <= SMALL_SIDE)


def show(t, one_line=True):
    """The values of a small tensor, compactly (4 significant digits; a matrix one row per line
    unless ``one_line``); "…" for a big one."""
    if not is_small(t):
        return "…"
    values = backend.to_numpy(t.data)
    if values.ndim == 0:
        return f"{values.item():.4g}"
    text = numpy.array2string(values, precision=4, separator=", ", max_line_width=10 ** 6,
                              formatter={"float_kind": lambda v: f"{v:.4g}"})
    return text.replace("\n", "") if one_line else text.replace(" [", "[")
