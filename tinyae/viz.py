"""Figures for the lessons: image grids, latent codes, loss curves, weights, manifolds, graphs.

Every function takes NumPy arrays, tinyae Tensors or CuPy arrays, returns a
``matplotlib.figure.Figure`` and, given ``path=``, saves it there (parent folders are created;
PNG at 150 dpi unless the suffix names another format).

The figures are built with ``Figure`` and the Agg canvas directly, never through pyplot, so they
need no display (a server, CI, ``python lessons/...``), never switch the backend of a user's
session, and are freed as soon as they are dropped (no "too many figures open" warning).
A Jupyter notebook shows a returned figure inline; a script passes ``path=`` (or calls
``fig.savefig``).
"""
from collections.abc import Mapping

import numpy as np
from matplotlib import colormaps
from matplotlib.ticker import MaxNLocator

from . import backend
from .figure import DPI, PROJECTOR  # noqa: F401  (re-exported: lessons read viz.PROJECTOR)
from .figure import finish as _finish, new_figure as _new_figure, projector as _projector
from .tensor import Tensor

GREY = colormaps["gray"].with_extremes(bad="white")  # NaN gaps between images show as white


# --- helpers ---------------------------------------------------------------------------------
def _to_numpy(a, name):
    """A NumPy array from an ndarray, a CuPy array, a tinyae Tensor or nested lists."""
    if isinstance(a, Tensor):
        a = a.data  # the data only: plotting never touches the graph
    if backend.is_array(a):
        return backend.to_numpy(a)
    try:
        return np.asarray(a, dtype=float)
    except (TypeError, ValueError) as err:
        raise TypeError(f"{name} must be an array or a tinyae Tensor, got {type(a).__name__} "
                        f"({err})") from None


def _as_images(a, image_shape, name):
    """(n, h·w) rows or (n, h, w) images -> (n, h, w)."""
    a = _to_numpy(a, name).astype(float)
    h, w = image_shape
    if a.ndim == 1 and a.size == h * w:
        a = a.reshape(1, h * w)
    if a.size and (a.ndim == 3 and a.shape[1:] == (h, w) or a.ndim == 2 and a.shape[1] == h * w):
        return a.reshape(len(a), h, w)
    raise ValueError(f"{name} has shape {a.shape}: expected (n, {h * w}) flattened images or "
                     f"(n, {h}, {w}) images; pass image_shape=(height, width) for other sizes")


def _mosaic(images, cols, gap=1):
    """Tile (n, h, w) images into one array, cols per row, with NaN gaps drawn as background."""
    n, h, w = images.shape
    rows = -(-n // cols)
    out = np.full((rows * (h + gap) - gap, cols * (w + gap) - gap), np.nan)
    for k, img in enumerate(images):
        r, c = divmod(k, cols)
        out[r * (h + gap): r * (h + gap) + h, c * (w + gap): c * (w + gap) + w] = img
    return out


def _grey_limits(arrays):
    """Pixels in [0, 1] are shown on that fixed scale, so dark stays dark in every row."""
    lo = min(float(np.nanmin(a)) for a in arrays)
    hi = max(float(np.nanmax(a)) for a in arrays)
    return (0.0, 1.0) if lo >= 0 and hi <= 1 else (lo, hi)


def _strip_axes(ax, label=None):
    ax.set(xticks=[], yticks=[])
    ax.spines[:].set_visible(False)
    if label:
        ax.set_ylabel(label, rotation=0, ha="right", va="center", fontsize=14, labelpad=8)


# --- images --------------------------------------------------------------------------------
@_projector
def image_grid(rows, row_titles=None, image_shape=(28, 28), path=None, title=None):
    """Rows of images, one labelled strip per row: e.g. originals above reconstructions, or
    noisy / denoised / clean. ``rows`` is a list of (n, h·w) or (n, h, w) arrays (or one
    array of shape (rows, n, h·w)); rows may hold different numbers of images."""
    if backend.is_array(rows) or isinstance(rows, Tensor):  # one array: one row or a stack
        a = _to_numpy(rows, "rows")
        rows = [a] if a.ndim <= 2 or a.shape[1:] == tuple(image_shape) else list(a)
    if not isinstance(rows, (list, tuple)) or not rows:
        raise ValueError("image_grid needs a non-empty list of rows, each an (n, h·w) or "
                         "(n, h, w) array of images")
    strips = [_as_images(r, image_shape, f"row {i}") for i, r in enumerate(rows)]
    if row_titles is not None and len(row_titles) != len(strips):
        raise ValueError(f"row_titles has {len(row_titles)} entries for {len(strips)} rows; "
                         "give one title per row")
    cols = max(len(s) for s in strips)
    h, w = image_shape
    vmin, vmax = _grey_limits(strips)
    inch = min(0.75, 14.0 / cols)  # per image, so that long rows still fit on a page
    fig = _new_figure((max(4.0, inch * cols * w / h + 1.5), (inch + 0.1) * len(strips) + 0.6))
    for i, s in enumerate(strips):
        ax = fig.add_subplot(len(strips), 1, i + 1)
        padded = np.concatenate([s, np.full((cols - len(s), h, w), np.nan)])
        ax.imshow(_mosaic(padded, cols), cmap=GREY, vmin=vmin, vmax=vmax,
                  interpolation="nearest")
        _strip_axes(ax, row_titles[i] if row_titles is not None else None)
    return _finish(fig, path, title)


@_projector
def interpolation_strip(images, path=None, title=None, image_shape=(28, 28)):
    """A row of decoded images along the line z(t) = (1 − t) z₀ + t z₁, t from 0 to 1."""
    strip = _as_images(images, image_shape, "images")
    n, h, w = strip.shape
    if n < 2:
        raise ValueError(f"an interpolation needs at least 2 images (the two ends), got {n}")
    vmin, vmax = _grey_limits([strip])
    inch = min(0.8, 14.0 / n)
    fig = _new_figure((max(4.0, inch * n + 0.5), inch * h / w + 0.5 + 0.3 * bool(title)))
    ax = fig.add_subplot()
    ax.imshow(_mosaic(strip, n), cmap=GREY, vmin=vmin, vmax=vmax, interpolation="nearest")
    _strip_axes(ax)
    ax.set_xticks([k * (w + 1) + (w - 1) / 2 for k in range(n)],
                  [f"{t:.2f}" for t in np.linspace(0, 1, n)], fontsize=12)
    ax.tick_params(length=0)
    ax.set_xlabel("t   in   z = (1 − t)·z₀ + t·z₁", fontsize=14)
    return _finish(fig, path, title)


@_projector
def weight_tiles(W, image_shape=(28, 28), n=64, path=None, title=None):
    """The first ``n`` encoder units' weights as images: row i of W (shape units × h·w, as a
    Linear layer stores it) is what unit i responds to. Each tile is divided by its own
    max |w|, so red = +, blue = −, white = 0 on one shared scale."""
    W = _to_numpy(W, "W")
    size = image_shape[0] * image_shape[1]
    if W.ndim == 2 and W.shape[1] != size and W.shape[0] == size:
        W = W.T  # stored as (in_features, units): show units all the same
    if W.ndim != 2 or W.shape[1] != size:
        raise ValueError(f"W has shape {W.shape}: expected (units, {size}) encoder weights for "
                         f"{image_shape} images; pass image_shape=(height, width) otherwise")
    if n < 1:
        raise ValueError(f"n must be at least 1, got {n}")
    W = W[:n]
    scale = np.abs(W).max(axis=1, keepdims=True)
    tiles = (W / np.where(scale > 0, scale, 1)).reshape(len(W), *image_shape)
    cols = int(np.ceil(np.sqrt(len(W))))
    fig = _new_figure((min(12.0, 0.9 * cols + 2.2), min(11.0, 0.9 * -(-len(W) // cols) + 1.0)))
    ax = fig.add_subplot()
    im = ax.imshow(_mosaic(tiles, cols, gap=2), cmap=colormaps["RdBu_r"].with_extremes(
        bad="0.85"), vmin=-1, vmax=1, interpolation="nearest")
    _strip_axes(ax)
    ax.set_xlabel(f"first {len(W)} units, one tile per unit", fontsize=14)
    fig.colorbar(im, ax=ax, shrink=0.8, label="w / max|w| of the unit")
    return _finish(fig, path, title)


# --- codes and curves ----------------------------------------------------------------------
def _class_colors(k):
    if k <= 10:
        return colormaps["tab10"].colors[:k]
    if k <= 20:
        return colormaps["tab20"].colors[:k]
    return colormaps["viridis"](np.linspace(0, 1, k))


@_projector
def latent_scatter(codes, labels, path=None, title=None, max_points=3000, dot_size=22):
    """Codes (N, d) as a 2-D scatter coloured by class, each class's name drawn at its
    median code. d > 2 is projected onto its first two principal components, named as in
    the course (rows = samples): centre, SVD  Z − 1z̄ᵀ = V S Uᵀ, plot (Z − 1z̄ᵀ) U[:, :2]. At most ``max_points`` codes are drawn
    (a random subset, in random order) as dots of ``dot_size`` points²."""
    Z = _to_numpy(codes, "codes")
    if Z.ndim != 2 or Z.shape[1] < 2:
        raise ValueError(f"codes has shape {Z.shape}: expected (N, d) with d ≥ 2 code units")
    xlabel, ylabel = "code unit 1", "code unit 2"
    if Z.shape[1] > 2:
        centred = Z - Z.mean(axis=0)
        _, s, Ut = np.linalg.svd(centred, full_matrices=False)  # centred = V S Uᵀ
        share = s ** 2 / max(float((s ** 2).sum()), 1e-300)
        d = Z.shape[1]
        Z = centred @ Ut[:2].T
        xlabel = f"PC 1 of the {d}-D codes ({share[0]:.0%} of variance)"
        ylabel = f"PC 2 ({share[1]:.0%} of variance)"
    fig = _new_figure((7.6, 6.2))
    ax = fig.add_subplot()
    # At most max_points dots, drawn in a random order (not class after class, which would
    # hide the first classes under the last), big enough to see on a projector.
    order = np.random.default_rng(0).permutation(len(Z))[:max_points]
    if labels is None:
        ax.scatter(Z[order, 0], Z[order, 1], s=dot_size, alpha=0.6, linewidths=0)
    else:
        y = _to_numpy(labels, "labels").reshape(-1)
        if len(y) != len(Z):
            raise ValueError(f"labels has {len(y)} entries for {len(Z)} codes; give one label "
                             "per code")
        classes = np.unique(y)
        colors = dict(zip(classes, _class_colors(len(classes))))
        ax.scatter(Z[order, 0], Z[order, 1], s=dot_size, alpha=0.65, linewidths=0,
                   c=[colors[v] for v in y[order]])
        for c, color in colors.items():  # one legend entry and one class name per class
            m = y == c
            name = str(int(c)) if float(c).is_integer() else str(c)
            ax.scatter([], [], s=dot_size, color=color, label=name)
            if len(classes) <= 20:  # the class name at the class's median code
                mx, my = np.median(Z[m, 0]), np.median(Z[m, 1])
                ax.text(mx, my, name, fontsize=16, fontweight="bold", color="black",
                        ha="center", va="center", zorder=4,
                        bbox=dict(boxstyle="circle,pad=0.2", fc=color, ec="black", alpha=0.9))
        ax.legend(title="class", markerscale=2, loc="center left",
                  bbox_to_anchor=(1.01, 0.5), frameon=False)
    ax.set(xlabel=xlabel, ylabel=ylabel)
    return _finish(fig, path, title)


@_projector
def block_diagram(rows, row_titles=None, note=None, path=None, title=None):
    """A model drawn as the slides draw it: each row a chain of boxes left to right, joined by
    arrows. ``rows`` is a list of rows, each a list of ``(text, colour)`` boxes (text may span
    lines); ``row_titles`` labels the rows on the left; ``note`` is a line under the chain.
    Boxes are sized to the widest row so that a slide shows all of it at a readable size."""
    from matplotlib.patches import FancyArrowPatch, FancyBboxPatch
    if not rows or not all(isinstance(r, (list, tuple)) and r for r in rows):
        raise ValueError("block_diagram needs a non-empty list of rows, each a non-empty list "
                         "of (text, colour) boxes")
    if row_titles is not None and len(row_titles) != len(rows):
        raise ValueError(f"row_titles has {len(row_titles)} entries for {len(rows)} rows")
    longest = max(len(r) for r in rows)
    box_w, gap, box_h, row_h = 2.4, 0.7, 2.0, 2.8
    left = 2.6 if row_titles else 0.2
    width = left + longest * box_w + (longest - 1) * gap + 0.2
    height = len(rows) * row_h + (0.8 if note else 0.3)
    fig = _new_figure((min(18.0, 1.1 * width), 1.1 * height + 0.6))
    ax = fig.add_subplot(1, 1, 1)
    for r, row in enumerate(rows):
        y = height - (r + 1) * row_h + (row_h - box_h) / 2
        if row_titles:
            ax.text(0.1, y + box_h / 2, row_titles[r], ha="left", va="center", fontsize=14,
                    weight="bold")
        for b, (text, colour) in enumerate(row):
            x = left + b * (box_w + gap)
            ax.add_patch(FancyBboxPatch((x, y), box_w, box_h, boxstyle="round,pad=0.05",
                                        fc=colour, ec="black", lw=1.5))
            ax.text(x + box_w / 2, y + box_h / 2, text, ha="center", va="center", fontsize=15)
            if b:
                ax.add_patch(FancyArrowPatch((x - gap + 0.06, y + box_h / 2),
                                             (x - 0.06, y + box_h / 2), arrowstyle="-|>",
                                             mutation_scale=20, lw=2))
    if note:
        ax.text(width / 2, 0.45, note, ha="center", va="center", fontsize=14, style="italic")
    ax.set_xlim(0, width)
    ax.set_ylim(0, height)
    ax.axis("off")
    return _finish(fig, path, title)


@_projector
def loss_curves(history, path=None, title=None, logy=False):
    """Loss per epoch: ``{'train': [...], 'val': [...]}``, or several runs
    ``{run: {'train': [...], ...}}`` (one colour per run, one line style per curve)."""
    if not isinstance(history, Mapping) or not history:
        raise ValueError("history must be a non-empty dict of name -> list of per-epoch values, "
                         "or run name -> such a dict")
    nested = any(isinstance(v, Mapping) for v in history.values())
    if nested and not all(isinstance(v, Mapping) for v in history.values()):
        raise ValueError("history mixes runs (dicts) and curves (lists): pass either "
                         "{'train': [...], 'val': [...]} or {run: {'train': [...], ...}}")
    runs = history if nested else {None: history}
    fig = _new_figure((6.4, 4.2))
    ax = fig.add_subplot()
    styles = ["-", "--", ":", "-."]
    names = list(dict.fromkeys(k for curves in runs.values() for k in curves))
    epochs = 1
    for r, (run, curves) in enumerate(runs.items()):
        for name, values in curves.items():
            v = _to_numpy(values, f"history[{name!r}]").reshape(-1)
            epochs = max(epochs, len(v))
            if logy and np.any(v[np.isfinite(v)] <= 0):
                raise ValueError(f"logy=True needs positive values but {name!r} has a value "
                                 f"≤ 0 (min {np.nanmin(v):g}); plot it with logy=False")
            label = name if run is None else f"{run}: {name}"
            ax.plot(np.arange(1, len(v) + 1), v, label=label, lw=1.8,
                    marker="o" if len(v) <= 30 else None, ms=5,
                    color=f"C{r if nested else names.index(name)}",
                    ls=styles[names.index(name) % len(styles)] if nested else "-")
    ax.set_yscale("log" if logy else "linear")
    ax.set_xlim(0.5, epochs + 0.5)  # whole epochs only, even for a run of one epoch
    ax.xaxis.set_major_locator(MaxNLocator(integer=True, min_n_ticks=1))
    ax.set(xlabel="epoch", ylabel="loss")
    ax.grid(alpha=0.3)
    ax.legend()
    return _finish(fig, path, title)


# --- manifolds -----------------------------------------------------------------------------
def _points(a, name, dim, rows=None):
    a = _to_numpy(a, name)
    if a.ndim != 2 or a.shape[1] != dim or (rows is not None and len(a) != rows):
        want = f"({rows if rows is not None else 'N'}, {dim})"
        raise ValueError(f"{name} has shape {a.shape}: expected {want}")
    return a


@_projector
def manifold_2d(points, recon=None, curve=None, vectors=None, path=None, title=None):
    """2-D data (N, 2); optionally its reconstructions r(x) (N, 2), the learned curve (M, 2)
    as a line, and a vector field ``vectors=(starts, ends)`` drawn as arrows x → r(x)."""
    X = _points(points, "points", 2)
    fig = _new_figure((7.6, 5.4))
    ax = fig.add_subplot()
    ax.scatter(X[:, 0], X[:, 1], s=18, color="0.45", alpha=0.6, linewidths=0, label="data x")
    if recon is not None:
        R = _points(recon, "recon", 2, len(X))
        ax.scatter(R[:, 0], R[:, 1], s=18, color="C3", alpha=0.8, linewidths=0,
                   label="reconstruction r(x)")
    if curve is not None:
        C = _points(curve, "curve", 2)
        ax.plot(C[:, 0], C[:, 1], color="C0", lw=2.2, label="learned manifold")
    if vectors is not None:
        if not isinstance(vectors, (tuple, list)) or len(vectors) != 2:
            raise ValueError("vectors must be a pair (starts, ends) of (K, 2) arrays: arrows "
                             "are drawn from each x to its reconstruction r(x)")
        S = _points(vectors[0], "vectors[0] (starts)", 2)
        E = _points(vectors[1], "vectors[1] (ends)", 2, len(S))
        ax.quiver(S[:, 0], S[:, 1], E[:, 0] - S[:, 0], E[:, 1] - S[:, 1], angles="xy",
                  scale_units="xy", scale=1, width=0.003, color="C2", alpha=0.8,
                  label="r(x) − x")
    ax.set_aspect("equal", adjustable="datalim")
    ax.set(xlabel="x₁", ylabel="x₂")
    # Outside, on the right: a vector field fills the whole plot, so no corner is free.
    ax.legend(loc="center left", bbox_to_anchor=(1.02, 0.5), frameon=False, markerscale=1.5)
    return _finish(fig, path, title)


@_projector
def manifold_3d(points, surface=None, colors=None, path=None, title=None, color_label=None,
                surface_label="learned surface"):
    """3-D data (N, 3), optionally coloured by one value per point (e.g. the position along
    the true manifold, named by ``color_label``), with a surface: an (m, m, 3) grid of decoded
    points, drawn as a translucent surface with a wireframe and named in the legend by
    ``surface_label`` (say what it is: "learned surface", "PCA plane", ...)."""
    X = _points(points, "points", 3)
    fig = _new_figure((7.0, 5.8))
    ax = fig.add_subplot(projection="3d")
    if colors is not None:
        c = _to_numpy(colors, "colors").reshape(-1)
        if len(c) != len(X):
            raise ValueError(f"colors has {len(c)} values for {len(X)} points; give one per point")
        sc = ax.scatter(X[:, 0], X[:, 1], X[:, 2], c=c, cmap="viridis", s=16, depthshade=False)
        fig.colorbar(sc, ax=ax, shrink=0.6, pad=0.08, label=color_label or "colour value")
    else:
        ax.scatter(X[:, 0], X[:, 1], X[:, 2], s=16, color="0.4", depthshade=False, label="data")
    if surface is not None:
        G = _to_numpy(surface, "surface")
        if G.ndim != 3 or G.shape[2] != 3:
            raise ValueError(f"surface has shape {G.shape}: expected an (m, m, 3) grid of "
                             "3-D points (decode an m × m grid of 2-D codes)")
        ax.plot_surface(G[..., 0], G[..., 1], G[..., 2], color="C1", alpha=0.25, linewidth=0)
        ax.plot_wireframe(G[..., 0], G[..., 1], G[..., 2], color="C1", lw=0.6,
                          rstride=max(1, G.shape[0] // 15), cstride=max(1, G.shape[1] // 15),
                          label=surface_label)
    ax.set(xlabel="x₁", ylabel="x₂", zlabel="x₃")
    for axis in (ax.xaxis, ax.yaxis, ax.zaxis):  # 5 ticks: 12-pt labels do not collide
        axis.set_major_locator(MaxNLocator(5))
    if surface is not None:
        ax.legend(loc="upper left")
    return _finish(fig, path, title)


# --- computation graph: in its own module, re-exported here -----------------------------------
from .viz_graph import backward_animation, backward_frames, draw_graph  # noqa: E402,F401
