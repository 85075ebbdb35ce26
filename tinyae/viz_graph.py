"""Drawings of the computation graph: the graph itself, and the backward pass step by step.

``draw_graph(loss)`` draws one box per tensor, arrows input → output, columns by depth from the
leaves, wrapped into bands a slide wide. For a real network, ``names=model`` names parameters by
module path (``encoder.0.weight``) and ``group=True`` folds each module call into one box, to fit
a slide; ``values=True`` and ``signals=True`` write values and error signals v̄ into the boxes.

``backward_frames(loss)`` is the picture drawn on the board during backprop: one figure per node
in reverse topological order, the node whose error signal is being computed highlighted (with
the arrows of its uses, whose signals it sums) and the signals already computed shown;
``backward_animation(loss, "backward.gif")`` writes the same frames as an animated GIF
(matplotlib's PillowWriter). All build on ``tinyae.trace.graph_nodes``, the walk the trace table
prints, and draw with matplotlib alone (no Graphviz).
"""
import functools
import unicodedata
from collections import Counter
from pathlib import Path

import numpy as np
from matplotlib.animation import PillowWriter
from matplotlib.patches import Patch
from matplotlib.textpath import TextPath

from . import backend
from .tensor import Tensor
from .trace import coarser_levels, error_signals, graph_nodes, has_own_name, is_small, show
from .figure import DPI, finish as _finish, new_figure as _new_figure, projector as _projector

FONT = 13                  # points: box text, ≥ 12 for a projector
LINE = 1.3 * FONT / 72     # inches per line of box text
GAP_X, GAP_Y, BAND_GAP = 0.4, 0.3, 0.3  # inches between columns, boxes, bands (+ a row)
SLIDE = (1920, 1080)       # pixels: a drawing fits it at the dpi it is saved at (150, a GIF 100)
LEGEND_HEIGHT = 0.35       # inches under the drawing for the line saying what colours mean
COLORS = {"loss": "#f4a6a6", "op": "#fcd9a8", "input": "#b9d7f2", "const": "#dddddd",
          "now": "#ffe066"}
LEGEND = {"input": "parameter or input (gets x̄)", "const": "data (gets no x̄)",
          "op": "op or module", "loss": "loss"}
NOW_EDGE = "#b3001b"       # the node being visited and the arrows of its uses


# --- layout --------------------------------------------------------------------------------
def _depths(nodes, edges):
    """Column = depth (longest path from a leaf); a leaf stands just before its first use."""
    depth = dict.fromkeys(nodes, 0)
    for a, b in edges:  # topological order: depth[a] is final before any edge leaves a
        depth[b] = max(depth[b], depth[a] + 1)
    made = {b for _, b in edges}
    first_use = {}
    for a, b in edges:
        if a not in made:
            first_use[a] = min(first_use.get(a, depth[b]), depth[b])
    depth.update((a, d - 1) for a, d in first_use.items())
    return depth


def _wrap(widths, slide_width):
    """x of each column's centre, and its band: columns that would run past a slide's width
    start a new band under the last (a long chain reads left to right, then on below)."""
    x, band, right = [], [], 0.2
    for d, w in enumerate(widths):
        wrap = d > 0 and right + GAP_X + w + 0.32 > slide_width  # (0.12: a tight bbox)
        left = 0.2 if wrap or d == 0 else right + GAP_X
        x.append(left + w / 2)
        band.append(band[-1] + wrap if d else 0)
        right = left + w
    return x, band


def _layout(depth, edges, band):
    """An edge spanning several columns of one band passes through a hidden waypoint in each
    column between, so it gets its own lane instead of crossing boxes (an edge into another
    band runs along the gap between bands instead). Within a column, nodes are ordered by the
    mean row of their neighbours (barycentre sweeps left-to-right and back), which keeps
    arrows short and uncrossed."""
    depth, paths, links = dict(depth), {}, []
    for a, b in edges:
        same_band = band[depth[a]] == band[depth[b]]
        waypoints = [(a, b, d) for d in range(depth[a] + 1, depth[b])] if same_band else []
        depth.update({w: w[2] for w in waypoints})
        paths[a, b] = [a] + waypoints + [b]
        links += zip(paths[a, b][:-1], paths[a, b][1:])
    parents, children = {k: [] for k in depth}, {k: [] for k in depth}
    for a, b in links:
        parents[b].append(a)
        children[a].append(b)
    columns = {}
    for k in depth:
        columns.setdefault(depth[k], []).append(k)
    row = {k: float(i) for col in columns.values() for i, k in enumerate(col)}
    for neighbours, cols in ((parents, sorted(columns)), (children, sorted(columns)[::-1])) * 3:
        for d in cols:
            col = columns[d]
            col.sort(key=lambda k: np.mean([row[j] for j in neighbours[k]]) if neighbours[k]
                     else row[k])
            for i, k in enumerate(col):
                row[k] = i - (len(col) - 1) / 2  # centre each column vertically
    return depth, row, paths


# --- labels ----------------------------------------------------------------------------------
@functools.lru_cache(maxsize=4096)
def _inches(line):
    """How wide ``line`` is in box text, measured on the font's outlines (no drawing)."""
    return TextPath((0, 0), line, size=FONT).get_extents().width / 72 if line.strip() else 0.0


def bar(name):
    """The error signal's symbol: z̄ for a one-letter name, (wx)‾ for a longer one or a
    number (a module "0" of a Sequential: "0̄" would read as a value)."""
    if len(name) == 1 and name.isalpha():
        return unicodedata.normalize("NFC", name + "\u0304")
    return f"({name})‾"


def _shape(t):
    return "×".join(str(s) for s in t.shape) or "scalar"


def _kind(node, loss_index):
    return ("loss" if node.index == loss_index else "op" if node.inputs
            else "input" if node.tensor.requires_grad else "const")


def _title(node):
    """'W' for a named leaf, 'leaf'/'const' for an unnamed one, 'Tanh: h' or 'Tanh' for an op,
    'encoder.0: Linear' for a folded module."""
    if node.inputs and node.name == node.group:  # a folded module, or function (mse)
        return node.name if node.op == "function" else f"{node.name}: {node.op}"
    if not node.inputs:
        if has_own_name(node):
            return node.name
        return "leaf" if node.tensor.requires_grad else "const" if node.tensor.size == 1 else "data"
    return f"{node.op}: {node.name}" if has_own_name(node) else node.op


def _value_lines(t, prefix):
    """``prefix value`` for a scalar; for a small vector or matrix the prefix, then one line
    per row (3 significant digits, no brackets: a box is narrow)."""
    if t.ndim == 0 or not is_small(t):
        return [f"{prefix} {show(t)}"]
    values = backend.to_numpy(t.data)
    rows = values.reshape(-1, values.shape[-1]) if values.ndim else values.reshape(1, 1)
    return [prefix] + ["  ".join(f"{v:.3g}" for v in row) for row in rows]


class _Picture:
    """The graph of ``loss`` with every box's text worked out once, so that the static drawing
    and each backward frame share one layout and one figure size."""

    def __init__(self, loss, names, collapse, group, values, signals, max_nodes, dpi=DPI):
        if not isinstance(loss, Tensor):
            raise TypeError(f"draw_graph needs a tinyae Tensor, got {type(loss).__name__}")
        if loss._creator is None:
            raise ValueError("this tensor is a leaf: no op recorded it. Compute it from tensors "
                             "with requires_grad=True (and outside no_grad()) to record a graph")
        self.slide = (SLIDE[0] / dpi, SLIDE[1] / dpi)  # inches
        collapse = bool(group) if collapse is None else collapse  # folded: no plumbing either
        # group=True: each layer, or, where the layers would not fit a slide, each block
        for level in [group] if group is not True else [True] + coarser_levels(names):
            try:
                self.nodes, uses = graph_nodes(loss, names, collapse, level)
            except RuntimeError:
                raise ValueError("the graph was freed by backward(): draw it before backward(), "
                                 "or pass retain_graph=True to backward()") from None
            if len(self.nodes) > max_nodes:
                continue
            self.edges = list(dict.fromkeys(uses))  # one arrow per input → output (x * x too)
            self.loss = len(self.nodes) - 1
            self.signals = error_signals(loss, self.nodes) if signals else {}
            self.values, self.folded = values, bool(level)
            self.head = {n.index: self._head(n) for n in self.nodes}
            self.tail = {n.index: self._tail(n) for n in self.nodes}
            self._place()
            if self.height + 0.6 + LEGEND_HEIGHT <= self.slide[1]:
                break
        if len(self.nodes) > max_nodes:
            ops = Counter(node.op for node in self.nodes).most_common()
            made_of = ", ".join(f"{n:,} {op}" for op, n in ops[:4]) + (", …" if ops[4:] else "")
            raise ValueError(f"the graph has {len(self.nodes):,} tensors ({made_of}), more "
                             f"than max_nodes={max_nodes} can show legibly: draw a smaller "
                             "piece, pass group=True with names=model, or raise max_nodes")

    def _head(self, node):
        """The lines every frame shows: title, shape or value."""
        t = node.tensor
        lines = [_title(node)]
        if not node.inputs and not t.requires_grad and t.size == 1:
            return lines + [f"= {t.data.item():.3g}"]  # a constant: its value says more
        if self.values and t.ndim == 0:
            return lines + [f"= {show(t)}"]
        lines.append(_shape(t))
        if self.values and is_small(t):
            lines += _value_lines(t, "=")[1:]  # the rows under the shape
        return lines

    def _tail(self, node):
        """The error-signal lines, shown once the backward pass has reached the node."""
        if node.index not in self.signals or not is_small(self.signals[node.index]):
            return []  # no signal, or too big to write in a box
        name = node.name if has_own_name(node) else "v"
        return _value_lines(self.signals[node.index], f"{bar(name)} =")

    def _place(self):
        """Box sizes from the longest texts; columns as wide as their widest box (inches),
        wrapped into bands a slide wide; rows a box apart, bands a box apart."""
        size = {}
        for node in self.nodes:
            lines = self.head[node.index] + self.tail[node.index]
            size[node.index] = (max(map(_inches, lines)) + 0.35, len(lines) * LINE + 0.25)
        depth = _depths([node.index for node in self.nodes], self.edges)
        widths = [0.6] * (max(depth.values()) + 1)  # 0.6: a column of waypoints only
        for k, (w, _) in size.items():
            widths[depth[k]] = max(widths[depth[k]], w)
        self.column_width = widths
        self.x, self.band = _wrap(widths, self.slide[0])
        self.depth, self.row, self.paths = _layout(depth, self.edges, self.band)
        self.width = max(x + w / 2 for x, w in zip(self.x, widths)) + 0.2
        rows, pitch = {}, {}  # band: rows of its nodes, and its row pitch (tallest box)
        for k, r in self.row.items():
            b = self.band[self.depth[k]]
            rows.setdefault(b, []).append(r)
            pitch[b] = max(pitch.get(b, 0.6), size[k][1] + GAP_Y if k in size else 0.0)
        self.pitch = [pitch[b] for b in range(len(rows))]
        self.centre, self.gap, bottom = [], [], 0.0  # each band's centre line and the gap
        for b in range(len(rows)):                    # above it (inches), room for lanes
            half = self.pitch[b] / 2
            top = 0.0 if b == 0 else bottom - self.pitch[b - 1] / 2 - BAND_GAP - half
            self.gap.append(top + half + BAND_GAP / 2)
            self.centre.append(top + min(rows[b]) * self.pitch[b])
            bottom = self.centre[b] - max(rows[b]) * self.pitch[b]
        self.top = self.pitch[0] / 2 + 0.1  # the top row's centre is at 0
        self.bottom = bottom - self.pitch[-1] / 2 - 0.1
        self.height = self.top - self.bottom + 0.2

    def _band(self, k):  # the band node k (or a waypoint) is drawn in
        return self.band[self.depth[k]]

    def _route(self, keys, lane):
        """A long edge's polyline up to its last box: through its waypoints within a band;
        into a later band along the gaps (each edge at its own height) and the left margin."""
        a, b = keys[0], keys[-1]
        if self._band(a) == self._band(b):
            return [self.point(k) for k in keys[:-1]]
        (xa, ya), (xb, yb) = self.point(a), self.point(b)
        right = min(xa + self.column_width[self.depth[a]] / 2 + GAP_X / 2, self.width - 0.08)
        below_a, above_b = (self.gap[band] + (lane % 7 - 3) * 0.06
                            for band in (self._band(a) + 1, self._band(b)))
        entry = max(0.08, xb - self.column_width[self.depth[b]] / 2 - GAP_X / 2)
        margin = 0.03 + 0.035 * (lane % 4)  # bands between: down the left margin, past them
        via = [] if below_a == above_b else [(margin, below_a), (margin, above_b)]
        return [(xa, ya), (right, ya), (right, below_a)] + via + [  # right of a, down, across
            (entry, above_b), (entry, yb + 0.15)]  # in just above b's middle, apart from an arrow

    def point(self, k):
        d = self.depth[k]
        return self.x[d], self.centre[self.band[d]] - self.row[k] * self.pitch[self.band[d]]

    def draw(self, fig, done=None, now=None, title=None):
        """Draw into ``fig``: every signal when ``done`` is None, else only those of the node
        indices in ``done``, with node ``now`` highlighted."""
        ax = fig.add_subplot(xlim=(0, self.width), ylim=(self.bottom, self.top))
        ax.axis("off")
        boxes = {}
        for node in self.nodes:
            k = node.index
            shown = done is None or k in done
            text = "\n".join(self.head[k] + (self.tail[k] if shown else []))
            color = COLORS["now" if k == now else _kind(node, self.loss)]
            boxes[k] = ax.text(*self.point(k), text, ha="center", va="center", fontsize=FONT,
                               zorder=3, linespacing=1.15,
                               bbox=dict(boxstyle="round,pad=0.4", fc=color,
                                         ec=NOW_EDGE if k == now else "0.3",
                                         lw=3 if k == now else 1))
        for lane, ((a, b), keys) in enumerate(self.paths.items()):
            hot = a == now
            arrow = dict(arrowstyle="-|>", color=NOW_EDGE if hot else "0.25",
                         lw=2.6 if hot else 1.1, shrinkA=5, shrinkB=5)
            # Ends are given relative to each label's extent (right-middle of a, left-middle of
            # b), so they stay on the box edges at any figure size or dpi.
            if len(keys) == 2 and self._band(a) == self._band(b):
                ax.annotate("", xy=(0, 0.5), xycoords=boxes[b], xytext=(1, 0.5),
                            textcoords=boxes[a], zorder=2, arrowprops=arrow)
                continue
            # A long edge: a line through its waypoints (starting under box a), then the arrow.
            xs, ys = zip(*self._route(keys, lane))
            ax.plot(xs, ys, color=arrow["color"], lw=arrow["lw"], zorder=1)
            ax.annotate("", xy=(0, 0.5), xycoords=boxes[b], xytext=(xs[-1], ys[-1]),
                        textcoords="data", zorder=2, arrowprops=dict(arrow, shrinkA=0))
        fig.suptitle(title or self.title(), fontsize=16 if title is None else 15)
        self._legend(fig)
        return ax

    def _legend(self, fig):
        """What the colours mean (those in the drawing), and what a v̄ in a box is."""
        kinds = {_kind(node, self.loss) for node in self.nodes}
        handles = [Patch(fc=COLORS[kind], ec="0.3", label=LEGEND[kind])
                   for kind in LEGEND if kind in kinds] + \
            [Patch(fc="none", ec="none", label="v̄ = ∂L/∂v, the error signal")] * bool(self.signals)
        fig.legend(handles=handles, loc="outside lower center", ncols=len(handles),
                   frameon=False, fontsize=12, handlelength=1.2)

    def title(self):
        return (f"computation graph of {_title(self.nodes[self.loss])} ({len(self.nodes)} "
                f"{'boxes' if self.folded else 'tensors'}, {len(self.edges)} edges)")

    def figure(self, extra_height=0.0):
        height = self.height + 0.6 + LEGEND_HEIGHT + extra_height
        return _new_figure((max(5.0, self.width), max(2.5, height)))

    def step_text(self, k):
        """What frame k says: how the node's error signal is made from its uses' signals."""
        node = self.nodes[k]
        name = node.name  # the trace's v1, v2, … when it has none of its own
        if k == self.loss:
            return f"{bar(name)} = 1: the backward pass starts at the loss"
        if k not in self.signals:
            return f"{name if has_own_name(node) else 'this'} is a constant: it gets no error signal"
        uses = [j for i, j in self.edges if i == k]
        terms = " + ".join(f"{bar(self.nodes[j].name)} ∂{self.nodes[j].name}/∂{name}"
                           for j in uses)
        value = self.signals[k]
        return f"{bar(name)} = {terms}" + (f" = {show(value)}" if value.ndim == 0 else "")

    def frame(self, fig, step):
        """Frame ``step`` (0 = the loss): the node visited at that step of the backward pass."""
        order = [n.index for n in reversed(self.nodes)]
        k = order[step]
        self.draw(fig, done=set(order[:step + 1]), now=k,
                  title=f"backward step {step + 1} of {len(order)}:  {self.step_text(k)}")


# --- the public drawings ---------------------------------------------------------------------
@_projector
def draw_graph(loss, path=None, max_nodes=120, names=None, collapse=None, group=False,
               values=False, signals=False):
    """The computation graph behind ``loss``: one box per tensor (a leaf, or the op that made
    it and the shape it made), arrows input → output, columns by depth from the leaves.
    Blue = leaves that need x̄ (inputs, parameters), grey = data and constants, orange = op
    outputs, red = the tensor drawn from (a line under the drawing says so). Call it before
    ``backward()``, which frees the graph. A graph wider than a slide (1920 px at 150 dpi)
    wraps into bands, read left to right, then on below.

    ``names=model`` (or ``dict(model.named_parameters())``) names parameters by module path
    and a data input as the model's forward names it (``x``); ``collapse=True`` leaves out
    reshape/transpose/broadcast/cast ops; ``group=True`` folds each module call, and each loss
    (``mse``), into one box, its parameters inside, a run of identical blocks into one box
    with a count, and plumbing left out (unless ``collapse=False``); where the layers would not
    fit a 1920 × 1080 slide it folds one level coarser (``encoder: Sequential``);
    ``group=1`` folds the model's own children, ``group=2`` theirs. ``values=True`` and
    ``signals=True`` write each tensor's value and error signal v̄ = ∂loss/∂v (scalars and
    tensors up to 4×4 in full; bigger ones keep their shape only; ``signals`` needs a scalar
    loss)."""
    picture = _Picture(loss, names, collapse, group, values, signals, max_nodes)
    fig = picture.figure()
    picture.draw(fig)
    fig.graph = picture.nodes, picture.edges  # the boxes and arrows drawn (GraphNode, (i, j))
    return _finish(fig, path)


@_projector
def backward_frames(loss, names=None, collapse=None, group=False, values=True,
                    max_nodes=40):
    """The backward pass of ``loss`` as a list of figures, one per node in reverse
    topological order: the node being visited highlighted, the arrows of its uses (whose
    error signals it sums) in red, the signals already computed written in their boxes, and
    the title saying v̄ = Σ_uses ū ∂u/∂v with its value. Constants get a frame that says they
    receive nothing. Options as for ``draw_graph``; ``loss`` must be a scalar."""
    picture = _Picture(loss, names, collapse, group, values, True, max_nodes)
    frames = []
    for step in range(len(picture.nodes)):
        fig = picture.figure(extra_height=0.3)
        picture.frame(fig, step)
        frames.append(fig)
    return frames


@_projector
def backward_animation(loss, path, fps=0.8, dpi=100, names=None, collapse=None, group=False,
                       values=True, max_nodes=40):
    """Write the frames of ``backward_frames`` to ``path`` as an animated GIF (matplotlib's
    PillowWriter; Pillow comes with matplotlib), ``fps`` frames per second, the last frame
    held as long as two. Returns the number of frames (= the number of nodes)."""
    picture = _Picture(loss, names, collapse, group, values, True, max_nodes, dpi)
    fig = picture.figure(extra_height=0.3)
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    writer = PillowWriter(fps=fps)
    steps = list(range(len(picture.nodes)))
    with writer.saving(fig, str(path), dpi):
        for step in steps + steps[-1:]:
            fig.clear()
            picture.frame(fig, step)
            writer.grab_frame()
    return len(steps)

