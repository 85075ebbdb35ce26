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
    if hasattr(names, "named_parameters"):  # the buffers too: pos_embed, not "data"
        names = dict(names.named_parameters()) | dict(names.named_buffers())
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
        if group:  # what a module was given, even where no op recorded its use (x → conv)
            for _, x in _given(fn.output):
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
    calls = _module_calls(nodes, names)
    nodes = _name_data_inputs(nodes, calls)
    labels = {}  # group: (name, op, ids of the tensors its calls were given)
    if group:
        nodes, labels = _group_by_calls(nodes, calls, group)
    if collapse:  # (plumbing inside a module stays: it folds away, and its last is the output)
        nodes = _collapse(nodes, keep=labels)
    if group:
        nodes = _drop_unused_leaves(_fold_groups(nodes, labels))
    return nodes, [(j, node.index) for node in nodes for j in node.inputs]


def _drop_unused_leaves(nodes):
    """Leave out leaves nothing reads (a tensor given to the model, used only in ops that made
    no graph: its box would float, joined to nothing)."""
    read = {j for node in nodes for j in node.inputs}
    return _renumber([n for n in nodes if n.inputs or n.index in read or n is nodes[-1]],
                     lambda node: node.inputs)


# --- module calls: the boxes of group= ---------------------------------------------------------
Call = namedtuple("Call", "path depth module inputs outputs members")


def _given(t):
    """(name, tensor) for each tensor given to the module calls that returned ``t``."""
    for call in t.__dict__.get("_module_calls", ()):
        yield from call.inputs


def _module_calls(nodes, model):
    """Every call of a submodule of ``model`` that made a node of this graph (noted by
    Module.__call__, tinyae.calls), in the order of their outputs. ``depth`` counts the
    modules on the path that have a forward of their own (a ModuleList is not one: blocks.0 is
    at depth 1); ``members`` are the indices of the nodes made inside the call."""
    if not hasattr(model, "named_modules"):
        return []
    modules = dict(model.named_modules())
    path_of = {id(m): path for path, m in modules.items()}
    found = {}
    for node in nodes:
        for call in node.tensor.__dict__.get("_module_calls", ()):
            if id(call.module) in path_of or not hasattr(call.module, "forward"):
                found.setdefault(id(call), (call, []))[1].append(node.index)
    calls = []
    for call, outputs in found.values():
        if not hasattr(call.module, "forward"):  # a function (a loss): depth set below
            path, depth = call.module.__name__, None
        else:
            path = path_of[id(call.module)]
            depth = _depth(path, modules)
        inputs = {id(t): name for name, t in call.inputs}
        members, stack = set(), list(outputs)
        while stack:  # back from the outputs, up to the tensors the call was given
            k = stack.pop()
            if k not in members and id(nodes[k].tensor) not in inputs:
                members.add(k)
                stack += nodes[k].inputs
        calls.append(Call(path, depth, call.module, inputs, outputs, members))
    modules_called = [c for c in calls if c.depth is not None]
    calls = [c._replace(depth=1 + max([m.depth for m in modules_called  # one below the
                                       if c.outputs[-1] in m.members] + [0]))  # module it is in
             if c.depth is None else c for c in calls]
    return sorted(calls, key=lambda c: c.outputs[-1])


def coarser_levels(model):
    """The levels ``group=`` can fold ``model`` at beyond its layers, finest first: [2, 1]
    for a model whose layers sit in blocks (encoder.0), [] for one without modules."""
    if not hasattr(model, "named_modules"):
        return []
    modules = dict(model.named_modules())
    depths = [_depth(path, modules) for path in modules if path]
    return list(range(max(depths, default=1) - 1, 0, -1))


def _depth(path, modules):
    """How many modules with a forward of their own the path passes (blocks.0 → 1)."""
    parts = path.split(".") if path else []
    return sum(_has_forward(modules[".".join(parts[:i + 1])]) for i in range(len(parts)))


def _has_forward(module):
    """False for a container (ModuleList) that keeps Module's own forward, which only raises."""
    return type(module).forward is not type(module).__mro__[-2].forward  # [-2]: Module


def _name_data_inputs(nodes, calls):
    """An unnamed leaf passed to a module is named as that forward names it (the outermost
    call's name: the model's ``x`` rather than the first layer's ``input``)."""
    given = {}  # the outermost module's name wins; a loss function's only where no module's
    for call in sorted(calls, key=lambda c: (hasattr(c.module, "forward"), -c.depth)):
        given.update(call.inputs)
    return [node._replace(name=given[id(node.tensor)])
            if not node.inputs and id(node.tensor) in given and not has_own_name(node) else node
            for node in nodes]


def has_own_name(node):
    """Whether the node has a name of its own (not the default v1, v2, … of the trace)."""
    return node.name != f"v{node.index + 1}"


def _group_by_calls(nodes, calls, level):
    """Each op made inside a module call at ``level`` (True: the innermost calls, the layers;
    1: the model's own children, 2: theirs, …) is given that call as its group; a run of
    chained calls of one class in one container (blocks.0 → blocks.1) becomes one group,
    labelled with the count. Returns the nodes and {group: (name, op, {id: name} given)}."""
    deepest = float("inf") if level is True else level
    chosen = [c for c in calls if 1 <= c.depth <= deepest]
    owner = {}
    for call in sorted(chosen, key=lambda c: (c.depth, -len(c.members))):
        owner.update((k, call) for k in call.members  # deeper calls last; ops, and the
                     if nodes[k].inputs or _made_inside(nodes[k]))  # constants made inside
    runs = []
    used = {id(c): c for c in owner.values()}.values()
    for call in sorted(used, key=lambda c: c.outputs[-1], reverse=True):
        if runs and _continues(call, runs[-1][-1], nodes, owner):
            runs[-1].append(call)
        else:
            runs.append([call])
    labels, key_of = {}, {}
    for run in runs:
        first, last = run[-1], run[0]  # runs were built from the last call back
        key = first.path if first.path not in labels else f"{first.path} ({len(labels)})"
        name = first.path if len(run) == 1 else f"{first.path}–{last.path.rpartition('.')[2]}"
        kind = type(first.module).__name__ if hasattr(first.module, "forward") else "function"
        labels[key] = (name, kind if len(run) == 1 else f"{kind} ×{len(run)}", first.inputs)
        key_of.update((id(call), key) for call in run)
    return ([node._replace(group=key_of[id(owner[node.index])]) if node.index in owner
             else node for node in nodes], labels)


def _made_inside(leaf):
    """A leaf with no name that needs no x̄ (im2col's columns of x, a mask), as opposed to a
    parameter (which folds where it is used) or the data."""
    return not (leaf.tensor.requires_grad or has_own_name(leaf))


def _continues(call, later, nodes, owner):
    """Whether ``call`` is the one before ``later`` in a run of repeated blocks: same class,
    same container, numbered one after the other (blocks.0, blocks.1: not encoder, decoder),
    and ``later`` reads nothing made outside it but ``call``'s output."""
    (box, _, number), (later_box, _, later_number) = (call.path.rpartition("."),
                                                      later.path.rpartition("."))
    if type(call.module) is not type(later.module) or box != later_box or not (
            number.isdigit() and later_number.isdigit() and int(later_number) == int(number) + 1):
        return False
    read = {j for k in later.members for j in nodes[k].inputs if j not in later.members}
    return {j for j in read if nodes[j].inputs} == {call.outputs[-1]}


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


def _collapse(nodes, keep=()):
    """Leave out plumbing ops (but those of the groups ``keep``): their users read straight
    from what the plumbing read from."""
    source = {}
    for node in nodes:
        if node.op in PLUMBING and node is not nodes[-1] and node.group not in keep:
            source[node.index] = source.get(node.inputs[0], node.inputs[0])
    kept = [node for node in nodes if node.index not in source]
    return _renumber(kept, lambda node: [source.get(j, j) for j in node.inputs])


def _fold_groups(nodes, labels=None):
    """One node per module: its ops, and the parameters (with their plumbing) that only its
    ops use, fold into its last op. A parameter two modules use (tied weights) keeps its own
    box, with an arrow to each."""
    users = {node.index: [] for node in nodes}
    for node in nodes:
        for j in node.inputs:
            users[j].append(node.index)
    labels = labels or {}
    fold = {}
    for node in reversed(nodes):  # users first: a parameter follows where it is used
        if node.inputs and (node.op not in PLUMBING or node.group in labels):
            fold[node.index] = node.group
        else:  # a parameter, a constant made inside a module, plumbing between modules
            groups = {fold[u] for u in users[node.index]}
            foldable = node.group or (not node.inputs and node.tensor.size == 1 and
                                      _made_inside(node))  # a number: 0.5 in 0.5 * h
            fold[node.index] = groups.pop() if foldable and len(groups) == 1 else None
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
            key = fold[node.index]
            ops = [m.op for m in members[key] if m.inputs and m.op not in PLUMBING]
            name, op, _ = labels.get(key, (key, " + ".join(dict.fromkeys(ops)), {}))
            node = node._replace(name=name, op=op, group=name)
        kept.append(node)

    where = {node.index: id(node.tensor) for node in nodes}

    def inputs_of(node):
        if node.index not in owner:
            return [owner.get(j, j) for j in node.inputs]
        given = labels[fold[node.index]][2] if fold[node.index] in labels else {}  # x → conv
        outside = [owner.get(j, j) for m in members[fold[node.index]] for j in m.inputs] + \
            [owner.get(j, j) for j in where if where[j] in given]
        return list(dict.fromkeys(k for k in outside if k != node.index))
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
