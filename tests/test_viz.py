"""tinyae.viz: each figure has the parts it promises, saves a PNG, takes Tensors, and refuses
bad shapes with a message that says what was expected."""
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from matplotlib.collections import PathCollection
from matplotlib.figure import Figure
from matplotlib.quiver import Quiver
from matplotlib.text import Annotation

import tinyae
import tinyae.functional as F
from tinyae import backend, viz

ROOT = Path(__file__).resolve().parents[1]
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(autouse=True)
def _close_figures():
    """viz never registers figures with pyplot; closing anyway guards against regressions."""
    import matplotlib.pyplot as plt
    before = len(plt.get_fignums())
    yield
    after = len(plt.get_fignums())
    plt.close("all")
    assert after == before, "viz created a pyplot-managed figure (it must use Figure directly)"


def assert_png(path):
    data = path.read_bytes()
    assert len(data) > 1000 and data.startswith(PNG_MAGIC)


# --- image_grid ------------------------------------------------------------------------------
def test_image_grid_one_labelled_strip_per_row_and_saves_png(rng, tmp_path):
    rows = [rng.random((6, 784)) for _ in range(3)]
    path = tmp_path / "new" / "dir" / "grid.png"
    fig = viz.image_grid(rows, row_titles=["noisy", "denoised", "clean"], path=path,
                         title="DAE")
    assert isinstance(fig, Figure)
    assert len(fig.axes) == 3
    assert [ax.get_ylabel() for ax in fig.axes] == ["noisy", "denoised", "clean"]
    assert all(len(ax.images) == 1 for ax in fig.axes)
    assert all(not ax.get_xticks().size and not ax.get_yticks().size for ax in fig.axes)
    assert fig.get_suptitle() == "DAE"
    # 6 images of 28 px with 1 px gaps between them
    assert fig.axes[0].images[0].get_array().shape == (28, 6 * 29 - 1)
    assert_png(path)


def test_image_grid_accepts_tensors_images_and_uneven_rows(rng, tmp_path):
    top = tinyae.Tensor(rng.random((5, 28, 28)).astype(np.float32), requires_grad=True)
    bottom = rng.random((3, 784))
    fig = viz.image_grid([top, bottom])
    strip = fig.axes[1].images[0].get_array()
    assert strip.shape == (28, 5 * 29 - 1)
    assert np.ma.getmaskarray(strip)[:, -28:].all()  # missing images are left blank
    np.testing.assert_allclose(fig.axes[0].images[0].get_array()[:, :28], top.data[0], rtol=1e-6)
    # one stacked array of shape (rows, n, h·w), and a path without suffix -> PNG
    fig = viz.image_grid(rng.random((2, 4, 784)), path=tmp_path / "stacked")
    assert len(fig.axes) == 2
    assert_png(tmp_path / "stacked.png")


def test_image_grid_other_image_shape(rng):
    fig = viz.image_grid([rng.random((4, 8 * 8))], image_shape=(8, 8))
    assert fig.axes[0].images[0].get_array().shape == (8, 4 * 9 - 1)


def test_image_grid_rejects_bad_input(rng):
    with pytest.raises(ValueError, match=r"expected \(n, 784\).*image_shape"):
        viz.image_grid([rng.random((4, 100))])
    with pytest.raises(ValueError, match="row_titles has 1 entries for 2 rows"):
        viz.image_grid([rng.random((4, 784))] * 2, row_titles=["only one"])
    with pytest.raises(ValueError, match="non-empty list"):
        viz.image_grid([])
    with pytest.raises(ValueError, match="row 0"):
        viz.image_grid([np.zeros((0, 784))])


# --- interpolation_strip ---------------------------------------------------------------------
def test_interpolation_strip_labels_each_image_with_t(rng, tmp_path):
    fig = viz.interpolation_strip(tinyae.Tensor(rng.random((5, 784))), path=tmp_path / "i.png")
    (ax,) = fig.axes
    assert [t.get_text() for t in ax.get_xticklabels()] == ["0.00", "0.25", "0.50", "0.75", "1.00"]
    assert "t" in ax.get_xlabel()
    assert_png(tmp_path / "i.png")


def test_interpolation_strip_needs_two_ends(rng):
    with pytest.raises(ValueError, match="at least 2 images"):
        viz.interpolation_strip(rng.random((1, 784)))


# --- weight_tiles ----------------------------------------------------------------------------
def test_weight_tiles_shows_n_units_each_normalised(rng, tmp_path):
    W = rng.standard_normal((100, 784)) * rng.uniform(0.01, 10, (100, 1))
    fig = viz.weight_tiles(W, n=64, path=tmp_path / "w.png")
    image_ax, colorbar_ax = fig.axes
    mosaic = image_ax.images[0].get_array()
    assert mosaic.shape == (8 * 30 - 2, 8 * 30 - 2)  # 8 × 8 tiles of 28 px, 2 px gaps
    tile = lambda r, c: mosaic[30 * r: 30 * r + 28, 30 * c: 30 * c + 28]  # noqa: E731
    for r, c in [(0, 0), (3, 5), (7, 7)]:
        unit = W[8 * r + c].reshape(28, 28)
        np.testing.assert_allclose(tile(r, c), unit / np.abs(unit).max())
    assert image_ax.images[0].get_clim() == (-1, 1)
    assert image_ax.images[0].get_cmap().name.startswith("RdBu")
    assert_png(tmp_path / "w.png")


def test_weight_tiles_takes_tensor_and_transposed_weights(rng):
    W = tinyae.Tensor(rng.standard_normal((784, 10)), requires_grad=True)  # (in, units)
    fig = viz.weight_tiles(W)
    assert fig.axes[0].images[0].get_array().shape == (3 * 30 - 2, 4 * 30 - 2)  # 10 in 3 × 4


def test_weight_tiles_rejects_bad_shape(rng):
    with pytest.raises(ValueError, match=r"expected \(units, 784\)"):
        viz.weight_tiles(rng.standard_normal((16, 100)))
    with pytest.raises(ValueError, match="n must be at least 1"):
        viz.weight_tiles(rng.standard_normal((16, 784)), n=0)


# --- latent_scatter --------------------------------------------------------------------------
def test_latent_scatter_2d_one_colour_per_class_in_random_order(rng, tmp_path):
    codes = rng.standard_normal((200, 2))
    labels = np.arange(200) % 10
    fig = viz.latent_scatter(tinyae.Tensor(codes), labels, path=tmp_path / "z.png")
    (ax,) = fig.axes
    dots = [c for c in ax.collections if isinstance(c, PathCollection) and len(c.get_offsets())]
    assert len(dots) == 1  # one scatter in random order, so no class hides under the last
    offsets = np.asarray(dots[0].get_offsets())
    assert sorted(map(tuple, offsets)) == sorted(map(tuple, codes))
    assert [t.get_text() for t in ax.get_legend().get_texts()] == [str(k) for k in range(10)]
    colours = {tuple(c) for c in dots[0].get_facecolor()}
    assert len(colours) == 10
    assert {t.get_text() for t in ax.texts} == {str(k) for k in range(10)}  # class names
    assert viz.latent_scatter(codes, labels, max_points=50).axes[0].collections[0] \
        .get_offsets().shape == (50, 2)
    assert ax.get_xlabel() == "code unit 1"
    assert_png(tmp_path / "z.png")


def test_latent_scatter_projects_high_dim_codes_with_pca(rng):
    # Spread along a known direction u (variance 25) plus small isotropic noise: PC 1 is ±u.
    u = np.ones(5) / np.sqrt(5)
    codes = 5 * rng.standard_normal((300, 1)) * u + 0.1 * rng.standard_normal((300, 5))
    fig = viz.latent_scatter(codes, np.zeros(300, dtype=int))
    ax = fig.axes[0]
    assert "PC 1" in ax.get_xlabel() and "5-D" in ax.get_xlabel() and "PC 2" in ax.get_ylabel()
    plotted = np.sort(np.asarray(ax.collections[0].get_offsets())[:, 0])  # drawn shuffled
    expected = (codes - codes.mean(0)) @ u
    error = min(np.abs(plotted - np.sort(sign * expected)).max() for sign in (1, -1))  # ±u
    assert error < 0.15


def test_latent_scatter_rejects_bad_shapes(rng):
    with pytest.raises(ValueError, match=r"d ≥ 2"):
        viz.latent_scatter(rng.standard_normal((10, 1)), np.zeros(10))
    with pytest.raises(ValueError, match="labels has 9 entries for 10 codes"):
        viz.latent_scatter(rng.standard_normal((10, 2)), np.zeros(9))


# --- loss_curves -----------------------------------------------------------------------------
def test_loss_curves_one_line_per_curve_from_epoch_one(tmp_path):
    history = {"train": [0.5, 0.3, 0.2], "val": tinyae.Tensor([0.6, 0.4, 0.35])}
    fig = viz.loss_curves(history, path=tmp_path / "l.png", title="BCE")
    (ax,) = fig.axes
    assert [line.get_label() for line in ax.get_lines()] == ["train", "val"]
    np.testing.assert_array_equal(ax.get_lines()[0].get_xdata(), [1, 2, 3])
    np.testing.assert_allclose(ax.get_lines()[1].get_ydata(), [0.6, 0.4, 0.35], rtol=1e-6)
    assert ax.get_xlabel() == "epoch" and ax.get_yscale() == "linear"
    assert_png(tmp_path / "l.png")


def test_loss_curves_ticks_whole_epochs_even_for_one_epoch():
    ax = viz.loss_curves({"train": [0.3]}).axes[0]
    lo, hi = ax.get_xlim()
    assert [t for t in ax.get_xticks() if lo <= t <= hi] == [1]


def test_loss_curves_several_runs_colour_per_run_style_per_curve():
    runs = {"shallow": {"train": [1, 0.5], "val": [1.1, 0.6]},
            "deep": {"train": [0.9, 0.4], "val": [1.0, 0.5]}}
    ax = viz.loss_curves(runs, logy=True).axes[0]
    lines = ax.get_lines()
    assert [line.get_label() for line in lines] == [
        "shallow: train", "shallow: val", "deep: train", "deep: val"]
    assert lines[0].get_color() == lines[1].get_color() != lines[2].get_color()
    assert lines[0].get_linestyle() == lines[2].get_linestyle() != lines[1].get_linestyle()
    assert ax.get_yscale() == "log"


def test_loss_curves_rejects_bad_history():
    with pytest.raises(ValueError, match="non-empty dict"):
        viz.loss_curves({})
    with pytest.raises(ValueError, match="non-empty dict"):
        viz.loss_curves([0.5, 0.4])
    with pytest.raises(ValueError, match="mixes runs"):
        viz.loss_curves({"train": [1.0], "run2": {"train": [1.0]}})
    with pytest.raises(ValueError, match="logy=True needs positive values"):
        viz.loss_curves({"train": [1.0, 0.0]}, logy=True)


# --- manifolds -------------------------------------------------------------------------------
def test_manifold_2d_draws_data_recon_curve_and_arrows(rng, tmp_path):
    X = rng.standard_normal((50, 2))
    starts, ends = rng.standard_normal((20, 2)), rng.standard_normal((20, 2))
    curve = np.c_[np.linspace(-1, 1, 30), np.zeros(30)]
    fig = viz.manifold_2d(tinyae.Tensor(X), recon=0.9 * X, curve=curve,
                          vectors=(starts, ends), path=tmp_path / "m.png")
    (ax,) = fig.axes
    scatters = [c for c in ax.collections if isinstance(c, PathCollection)]
    (quiver,) = [c for c in ax.collections if isinstance(c, Quiver)]
    assert len(scatters) == 2 and len(ax.get_lines()) == 1
    np.testing.assert_allclose(np.c_[quiver.U, quiver.V], ends - starts)  # arrows x -> r(x)
    assert len(ax.get_legend().get_texts()) == 4
    assert_png(tmp_path / "m.png")


def test_manifold_2d_rejects_bad_shapes(rng):
    with pytest.raises(ValueError, match=r"points has shape \(10, 3\): expected \(N, 2\)"):
        viz.manifold_2d(rng.standard_normal((10, 3)))
    with pytest.raises(ValueError, match=r"recon .*expected \(10, 2\)"):
        viz.manifold_2d(rng.standard_normal((10, 2)), recon=rng.standard_normal((9, 2)))
    with pytest.raises(ValueError, match="pair"):
        viz.manifold_2d(rng.standard_normal((10, 2)), vectors=rng.standard_normal((10, 2)))


def test_manifold_3d_surface_and_colours(rng, tmp_path):
    X = rng.standard_normal((60, 3))
    a, b = np.meshgrid(np.linspace(-1, 1, 8), np.linspace(-1, 1, 8))
    grid = np.stack([a, b, a * b], axis=-1)
    fig = viz.manifold_3d(X, surface=tinyae.Tensor(grid), colors=X[:, 0], color_label="x₁",
                          path=tmp_path / "m3.png")
    ax3d, colorbar_ax = fig.axes
    assert ax3d.name == "3d" and colorbar_ax.get_ylabel() == "x₁"
    assert len(ax3d.collections) == 3  # scatter, surface, wireframe
    assert_png(tmp_path / "m3.png")
    assert len(viz.manifold_3d(X).axes) == 1


def test_manifold_3d_rejects_bad_shapes(rng):
    with pytest.raises(ValueError, match=r"\(m, m, 3\)"):
        viz.manifold_3d(rng.standard_normal((10, 3)), surface=rng.standard_normal((10, 3)))
    with pytest.raises(ValueError, match="colors has 5 values for 10 points"):
        viz.manifold_3d(rng.standard_normal((10, 3)), colors=np.zeros(5))


# --- draw_graph ------------------------------------------------------------------------------
def small_mlp(rng):
    x = tinyae.Tensor(rng.standard_normal((4, 3)), name="x")
    W = tinyae.Tensor(rng.standard_normal((2, 3)), requires_grad=True, name="W")
    b = tinyae.Tensor(np.zeros(2), requires_grad=True, name="b")
    return x, W, b, F.sigmoid(F.linear(x, W, b)).sum()


def nodes_and_edges(fig):
    ax = fig.axes[0]
    nodes = [t for t in ax.texts if not isinstance(t, Annotation)]
    return [(t.get_text(), t.get_position()) for t in nodes], [
        t for t in ax.texts if isinstance(t, Annotation)]


def test_draw_graph_boxes_edges_and_depth_columns(rng, tmp_path):
    x, W, b, loss = small_mlp(rng)
    fig = viz.draw_graph(loss, path=tmp_path / "g.png")
    nodes, edges = nodes_and_edges(fig)
    assert {label for label, _ in nodes} == {
        "x\n4×3", "W\n2×3", "b\n2", "Linear\n4×2", "Sigmoid\n4×2", "Sum\nscalar"}
    assert len(edges) == 5  # x, W, b -> Linear -> Sigmoid -> Sum
    column = {label.split("\n")[0]: pos[0] for label, pos in nodes}  # x in inches
    assert column["x"] == column["W"] == column["b"] < column["Linear"] < column["Sigmoid"] \
        < column["Sum"]
    assert_png(tmp_path / "g.png")
    # Drawing did not consume the graph: backward still works and gives the right W̄.
    loss.backward()
    s = 1 / (1 + np.exp(-(x.data @ W.data.T + b.data)))
    np.testing.assert_allclose(W.grad.data, (s * (1 - s)).T @ x.data, rtol=1e-10)


def test_draw_graph_long_edge_gets_a_lane_and_fan_out_is_one_edge(rng):
    x = tinyae.Tensor(rng.standard_normal(3), requires_grad=True, name="x")
    y = F.exp(F.exp(x * x))  # x feeds Mul twice (one edge) ...
    loss = (y + x).sum()    # ... and reaches Add three columns later (a long edge)
    fig = viz.draw_graph(loss)
    nodes, edges = nodes_and_edges(fig)
    assert len(nodes) == 6 and len(edges) == 6  # x→Mul→Exp→Exp→Add→Sum, x→Add
    assert len(fig.axes[0].get_lines()) == 1  # the long edge x -> Add runs through waypoints
    assert [label for label, _ in nodes].count("Exp\n3") == 2


def test_draw_graph_labels_named_ops_and_constants(rng):
    w = tinyae.Tensor(rng.standard_normal(3), requires_grad=True, name="w")
    h = F.tanh(w)
    h.name = "h"
    labels = {label for label, _ in nodes_and_edges(viz.draw_graph((h * 0.5).sum()))[0]}
    assert "Tanh: h\n3" in labels and "const\n= 0.5" in labels


def test_draw_graph_refuses_what_it_cannot_draw(rng):
    with pytest.raises(TypeError, match="tinyae Tensor"):
        viz.draw_graph(np.ones(3))
    with pytest.raises(ValueError, match="leaf"):
        viz.draw_graph(tinyae.Tensor(np.ones(3)).sum())  # nothing required grad: no graph
    _, _, _, loss = small_mlp(rng)
    loss.backward()
    with pytest.raises(ValueError, match="freed by backward"):
        viz.draw_graph(loss)
    _, _, _, loss = small_mlp(rng)
    with pytest.raises(ValueError, match="max_nodes=3"):
        viz.draw_graph(loss, max_nodes=3)


# --- notebooks, scripts and GPU -----------------------------------------------------------------------
def test_importing_viz_leaves_pyplot_and_its_backend_alone():
    code = ("import sys, tinyae.viz; "
            "sys.exit('matplotlib.pyplot' in sys.modules)")
    assert subprocess.run([sys.executable, "-c", code], cwd=ROOT).returncode == 0


def test_figures_render_inline_in_notebooks(rng):
    fig = viz.interpolation_strip(rng.random((3, 784)))
    assert fig._repr_png_().startswith(PNG_MAGIC)


@pytest.mark.gpu
def test_cupy_arrays_are_accepted(rng):
    images = backend.to_device(rng.random((4, 784)), "gpu")
    assert len(viz.image_grid([images, tinyae.Tensor(images)]).axes) == 2


def test_a_block_diagram_draws_rows_of_boxes_and_refuses_empty_rows(tmp_path):
    from tinyae import viz
    fig = viz.block_diagram([[("x", "0.9"), ("encoder", "#9ecae1"), ("h", "0.9")],
                             [("x", "0.9"), ("q(z|x)", "#9ecae1")]],
                            row_titles=["AE", "VAE"], note="a note", path=tmp_path / "d.png")
    assert (tmp_path / "d.png").is_file()
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert {"encoder", "q(z|x)", "AE", "VAE", "a note"} <= set(texts)
    assert len(fig.axes[0].patches) == 5 + 3  # five boxes, three arrows
    with pytest.raises(ValueError, match="non-empty list of rows"):
        viz.block_diagram([[]])
    with pytest.raises(ValueError, match="row_titles has 1 entries for 2 rows"):
        viz.block_diagram([[("a", "w")], [("b", "w")]], row_titles=["one"])
