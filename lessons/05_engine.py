# %% [markdown]
# # Lesson 05 · Inside the engine: the graph, its order, and gradient checks
#
# Every Tensor computed from tensors that require grad remembers the op that made it, so a
# forward pass leaves behind a computation graph: leaves (inputs, parameters) at the start,
# the loss L at the end. Backprop walks that graph once, in reverse topological order, and
# gives every node its error signal
#
#     v̄ᵢ = ∂L/∂vᵢ = Σ_{children j} v̄ⱼ ∂vⱼ/∂vᵢ,        starting from L̄ = 1.
#
# (a) the graph of logistic least squares z = wx + b, y = σ(z), L = ½(y − t)²: its
#     topological order, the trace table, a drawing that carries every value and error signal,
#     and the backward pass frame by frame (an animated GIF); the engine's v̄ against lesson 03's
#     hand values;
# (b) fan-out: a node used twice receives the sum of both signals;
# (c) every registered op checked against finite differences, first and second order;
# (d) create_graph=True: the backward pass is itself a graph, so it can be differentiated
#     again (a second derivative, a Hessian-vector product).
#
# Run: `python lessons/05_engine.py [--quick] [--out DIR] [--seed N]`

# %%
import numpy as np

import tinyae
import tinyae.functional as F
from tinyae import Tensor
from tinyae.gradcheck import check_all_ops, format_op_table
from tinyae.lesson import Lesson
from tinyae.trace import graph_nodes, trace
from tinyae.viz import backward_animation, backward_frames, draw_graph

lesson = Lesson(
    5, "The engine",
    claim="Reverse-mode autodiff over the recorded graph gives v̄ᵢ = Σⱼ v̄ⱼ ∂vⱼ/∂vᵢ for every "
          "node (equal to the hand-derived signals, fan-out summed), every registered op "
          "passes first- and second-order finite-difference checks, and create_graph=True "
          "yields correct second derivatives and Hessian-vector products.",
    reference="the backprop recursion of the lecture; central differences "
              "(f(θ+ε) − f(θ−ε))/2ε in float64")


def sigmoid(z):
    return 1 / (1 + np.exp(-z))


def leaf(value, name, requires_grad=True):
    """A named float64 scalar leaf (the name shows up in the trace and in the drawing)."""
    return Tensor(np.float64(value), requires_grad=requires_grad, name=name)


# %% [markdown]
# ## (a) The graph of logistic least squares
#
#     z = w x + b,   y = σ(z),   L = ½ (y − t)²
#
# Lesson 03 worked out its error signals by hand. Here the engine records the same forward
# pass as a graph, one node per op; every intermediate result gets a name, so the trace reads
# like the slide. (x and t are data, not parameters: they are constants, with no error signal.)

# %%
x_val, t_val, w_val, b_val = 1.5, 1.0, 0.8, -0.3
x, t = leaf(x_val, "x", requires_grad=False), leaf(t_val, "t", requires_grad=False)
w, b = leaf(w_val, "w"), leaf(b_val, "b")
wx = w * x
wx.name = "wx"
z = wx + b
z.name = "z"
y = F.sigmoid(z)
y.name = "y"
r = y - t
r.name = "r"
r2 = r ** 2
r2.name = "r²"
half = leaf(0.5, "½", requires_grad=False)
L = half * r2
L.name = "L"

nodes, edges = graph_nodes(L)
print("topological order (every node after the nodes it is computed from):")
print("  " + " → ".join(node.name for node in nodes))
print("the backward pass visits the ops in the reverse order:")
print("  " + " → ".join(node.name for node in reversed(nodes) if node.op not in ("input", "const")))
lesson.check(all(i < j for i, j in edges),
             f"(a) the order is topological: all {len(edges)} edges go from an earlier node to "
             "a later one")

print()
table = trace(L)   # grad(..., retain_graph=True) inside, so the graph is still there

# Lesson 03 derived four of these error signals by hand: ȳ = y − t, z̄ = ȳ y(1 − y), w̄ = z̄ x,
# b̄ = z̄. The engine knows none of those formulas: every op knows only its own local derivative
# (r² = r·r gives r̄ = (r²)‾ 2r, z = wx + b passes z̄ on to wx and b, …), and the walk in reverse
# topological order chains them. The trace above lists every node's v̄; here are lesson 03's.
y_val = sigmoid(w_val * x_val + b_val)
zbar = (y_val - t_val) * y_val * (1 - y_val)
lesson03 = {"y": ("ȳ = y − t", y_val - t_val), "z": ("z̄ = ȳ y(1 − y)", zbar),
            "w": ("w̄ = z̄ x", zbar * x_val), "b": ("b̄ = z̄", zbar)}
names = list(lesson03)
engine = dict(zip(names, (g.item() for g in
                          tinyae.grad(L, [{"y": y, "z": z, "w": w, "b": b}[n] for n in names],
                                      retain_graph=True))))
lesson.table([[lesson03[n][0], lesson03[n][1], engine[n], abs(lesson03[n][1] - engine[n])]
              for n in names],
             ["error signal", "lesson 03, by hand", "engine", "|difference|"],
             fmt=[".12g"] * 3 + [".1e"], title="(a) the engine against lesson 03's hand formulas")
lesson.check(all(np.isclose(engine[n], lesson03[n][1], rtol=1e-14, atol=0) for n in names),
             "(a) the engine's error signals equal the hand-derived ones of lesson 03 (rtol 1e-14)")
row_of = {line.split()[0]: line for line in table.splitlines()[2:] if line.strip()}
lesson.check(all(f"{lesson03[n][1]:.4g}" in row_of[n].split()[-1] for n in names),
             "(a) the v̄ column of the printed trace shows the hand values (4 digits)")
lesson.figure(draw_graph(L, values=True, signals=True), "graph")

# %% [markdown]
# ### The backward pass, one node at a time
#
# The picture drawn on the board: visit the nodes in reverse topological order, starting from
# L̄ = 1. At each step the highlighted node sums what its uses (the red arrows) send back,
# v̄ = Σ ū ∂u/∂v, and its error signal is written in; the signals already computed stay.
# Constants are visited too and receive nothing. One frame per node: as figures (a sequence
# to step through on a slide) and as an animated GIF.

# %%
frames = backward_frames(L)
for step, frame in enumerate(frames, 1):
    lesson.figure(frame, f"backward_{step:02d}")
gif = lesson.out / "backward.gif"
n_frames = backward_animation(L, gif)
print(f"animation saved: {gif} ({n_frames} frames, {gif.stat().st_size / 1e3:.0f} kB)")
lesson.smoke(len(frames) == n_frames == len(nodes),
             f"(a) one backward frame per node ({len(nodes)}), as figures and as a GIF")

# %% [markdown]
# ### A real network, drawn
#
# Lesson 03's two-layer network, H = σ(X W⁽¹⁾ᵀ + b⁽¹⁾), Y = H W⁽²⁾ᵀ + b⁽²⁾,
# L = ½ ‖Y − T‖² / N, written as a Module (examples are rows here, as in every layer of
# tinyae). `names=net` names the parameters by their module path (`layer1.weight`), as
# `named_parameters()` does; `group=True` folds each layer (its parameters and the op that uses
# them) into one box, and matrices up to 4×4 are written out, values and error signals.

# %%
class TwoLayer(tinyae.nn.Module):
    def __init__(self, seed):
        super().__init__()
        self.layer1 = tinyae.nn.Linear(4, 3, rng=seed)
        self.layer2 = tinyae.nn.Linear(3, 2, rng=seed + 1)

    def forward(self, x):
        h = F.sigmoid(self.layer1(x))
        h.name = "H"
        return self.layer2(h)


net = TwoLayer(lesson.seed).double()
batch_rng = np.random.default_rng(lesson.seed)  # its own: (d) draws from lesson.rng
X_batch = Tensor(lesson.asarray(batch_rng.normal(size=(2, 4))), name="X")
T_batch = Tensor(lesson.asarray(batch_rng.normal(size=(2, 2))), name="T")
L_net = ((net(X_batch) - T_batch) ** 2).sum() * (0.5 / len(X_batch))
L_net.name = "L"
print()
trace(L_net, names=net, group=True)
lesson.figure(draw_graph(L_net, names=net), "graph_network")
lesson.figure(draw_graph(L_net, names=net, group=True, signals=True), "graph_network_grouped")

# %% [markdown]
# ### The course's models, drawn for a slide
#
# A convolutional autoencoder records about 60 tensors, a masked autoencoder about 180: drawn
# one box per tensor they are thousands of pixels wide. With `group=True` every module call
# becomes one box (`encoder.0: Conv2d`, with its parameters and its im2col inside), and so does
# a loss function (`mse`); a run of identical blocks is one box with a count (`blocks.0–1:
# TransformerBlock ×2`); the data input is named as the forward names it (`x`). Where the
# layers would not fit a 1920 × 1080 slide, the drawing folds one level coarser (the VAE's
# `encoder: Sequential`), and a long chain wraps into bands read left to right, top to bottom
# (encoder, then code, then decoder). The models at the sizes the lessons use, on a batch of 2:

# %%
from tinyae.models import (ConvAutoencoder, LinearAE, MLPAutoencoder,  # noqa: E402
                           MaskedAutoencoder, UNet, VAE)

models = {  # name: (model, its loss on a batch of two images)
    "linear": LinearAE(784, 30, rng=0),                                       # lesson 06
    "deep": MLPAutoencoder([784, 128, 64, 32], output_activation="sigmoid",  # lesson 09
                           reconstruction="bce", rng=0),
    "conv": ConvAutoencoder(channels=(16, 32), latent=20, rng=0),            # lesson 10
    "masked": MaskedAutoencoder(28, 4, 64, 2, 4, 32, 1, rng=0),              # lesson 15
    "unet": UNet(2, 1, channels=(8, 16, 32), batchnorm=True, rng=0),         # lesson 16
    "vae": VAE([784, 400], latent=20, rng=0),                                # lesson 18
}
pixels = batch_rng.random((2, 784)).astype(np.float32)
images = lesson.asarray(pixels)
hole = np.ones_like(pixels).reshape(2, 1, 28, 28)  # lesson 16's U-Net sees image and mask
unet_in = lesson.asarray(np.concatenate([pixels.reshape(2, 1, 28, 28), hole], axis=1))
losses_of = {name: (model.loss(unet_in, images.reshape(2, 1, 28, 28)) if name == "unet"
                    else model.loss(images))
             for name, model in models.items()}
sizes = {}
for name, model in models.items():
    fig = draw_graph(losses_of[name], names=model, group=True)
    sizes[name] = tuple(int(round(v * 150)) for v in fig.get_size_inches())
    boxes, arrows = fig.graph
    orphans = [n.name for n in boxes if not n.inputs and n.op not in ("input", "const")]
    print(f"{name:7} {len(boxes):3} boxes, drawn {sizes[name][0]} × {sizes[name][1]} px at "
          f"150 dpi, boxes without inputs: {orphans or 'none'}")
    lesson.smoke(sizes[name][0] <= 1920 and not orphans,
                 f"the {name} model drawn folded is at most 1920 px wide, every box joined "
                 "to its inputs")
    lesson.figure(fig, f"model_{name}")

# %% [markdown]
# The backward pass of the convolutional autoencoder, folded per layer: one frame per module,
# from the loss back to the input. Each frame highlights the module whose error signal is being
# formed from the signals of its uses (its output's x̄ is a tensor too big to write in a box).

# %%
n_conv = backward_animation(losses_of["conv"], lesson.out / "backward_conv.gif",
                            names=models["conv"], group=True, values=False, fps=1.5)
print(f"backward_conv.gif: {n_conv} frames, one per box")
lesson.smoke(n_conv == len(graph_nodes(losses_of["conv"], names=models["conv"], group=True,
                                     collapse=True)[0]),
             "(a) one backward frame per box of the conv autoencoder, folded per layer")

# %% [markdown]
# ## (b) Fan-out: a node used twice
#
#     a = x y,   c = x + a,   L = c a
#
# x feeds a and c; a feeds c and L. A node's error signal is the *sum* over its uses:
#
#     c̄ = a,   ā = c + c̄ = c + a,   x̄ = c̄ + ā y = a + (a + c) y,   ȳ = ā x
#
# Check by expanding: L = (x + xy) xy = x²y + x²y², so ∂L/∂x = 2xy + 2xy², ∂L/∂y = x² + 2x²y.

# %%
xv, yv = 2.0, 3.0
x2, y2 = leaf(xv, "x"), leaf(yv, "y")
a = x2 * y2
a.name = "a"
c = x2 + a
c.name = "c"
L2 = c * a
L2.name = "L"
print()
trace(L2)
av, cv = xv * yv, xv + xv * yv
# (formula, sum over uses by hand, from the expanded L or None, the tensor)
fan = [("c̄ = a", av, None, c), ("ā = c + c̄", cv + av, None, a),
       ("x̄ = c̄ + ā y", av + (av + cv) * yv, 2 * xv * yv + 2 * xv * yv ** 2, x2),
       ("ȳ = ā x", (av + cv) * xv, xv ** 2 + 2 * xv ** 2 * yv, y2)]
engine_fan = [g.item() for g in tinyae.grad(L2, [row[3] for row in fan], retain_graph=True)]
lesson.table([[f, h, d, e] for (f, h, d, _), e in zip(fan, engine_fan)],
             ["error signal", "sum over uses", "from expanded L", "engine"], fmt=".12g",
             title="(b) fan-out at x = 2, y = 3")
lesson.check(all(h == e and d in (None, h) for (_, h, d, _), e in zip(fan, engine_fan)),
             "(b) fan-out: the engine's c̄, ā, x̄, ȳ are the sums over all uses (exact)")
lesson.figure(draw_graph(L2, values=True, signals=True), "graph_fanout")

# %% [markdown]
# ## (c) Every registered op, checked against finite differences
#
# Each op is one `Function` with a forward on arrays and a backward written in tinyae ops,
# registered with a sample-input generator. For an op y = f(x) the check compares the
# vector-Jacobian product x̄ = ȳ ∂f/∂x for a random ȳ with central differences of ⟨ȳ, f(x)⟩
# (first order), and does the same for the gradient of ⟨x̄, u⟩ (second order: the backward
# formula itself differentiated). All in float64.

# %%
rows = check_all_ops(rng_seed=lesson.seed)
print(format_op_table(rows))
passed = [r for r in rows if r.first_order and r.second_order]
worst = max(r.max_error for r in rows)
lesson.check(len(passed) == len(rows) and len(rows) >= 20,
             f"(c) all {len(rows)} registered ops pass first- and second-order gradchecks "
             f"(worst |analytic − numeric| {worst:.1e})")

# %% [markdown]
# ## (d) create_graph=True: differentiating the backward pass
#
# `tinyae.grad(L, w, create_graph=True)` records the backward pass as a graph, so its result
# L̄_w = ∂L/∂w can be differentiated again. For the model of (a):
#
#     ∂L/∂w   = (y − t) y(1 − y) x
#     ∂²L/∂w² = x² y(1 − y) [ y(1 − y) + (y − t)(1 − 2y) ]
#
# and for a vector θ the Hessian-vector product Hv = ∇_θ ⟨∇_θ f, v⟩ costs two backward
# passes, without ever forming H. Its finite-difference check:
# Hv ≈ (∇f(θ + εv) − ∇f(θ − εv)) / 2ε.

# %%
def logistic_loss(w_t):
    return 0.5 * (F.sigmoid(w_t * x_val + b_val) - t_val) ** 2


w_t = Tensor(np.float64(w_val), requires_grad=True)
dL_dw = tinyae.grad(logistic_loss(w_t), w_t, create_graph=True)
d2L_dw2 = tinyae.grad(dL_dw, w_t).item()
hand_d2 = x_val ** 2 * y_val * (1 - y_val) * (y_val * (1 - y_val)
                                              + (y_val - t_val) * (1 - 2 * y_val))
eps = 1e-5


def first_derivative(wv):
    yv_ = sigmoid(wv * x_val + b_val)
    return (yv_ - t_val) * yv_ * (1 - yv_) * x_val


fd_d2 = (first_derivative(w_val + eps) - first_derivative(w_val - eps)) / (2 * eps)

# A Hessian-vector product: f(θ) = ½ ‖σ(Aθ) − t‖², θ ∈ ℝ⁵, A of shape 7 × 5.
rng = lesson.rng
A_np, t_np = rng.normal(size=(7, 5)), rng.uniform(size=7)
theta_np, v_np = rng.normal(size=5), rng.normal(size=5)
A_t, tt = Tensor(A_np), Tensor(t_np)


def f_vec(theta):
    return 0.5 * ((F.sigmoid(A_t @ theta) - tt) ** 2).sum()


def gradient(theta_values):
    th = Tensor(theta_values, requires_grad=True)
    return tinyae.grad(f_vec(th), th).numpy()


def hvp(theta_values, v_values):
    th = Tensor(theta_values, requires_grad=True)
    g = tinyae.grad(f_vec(th), th, create_graph=True)       # ∇f, itself a graph
    return tinyae.grad((g * Tensor(v_values)).sum(), th).numpy()   # ∇⟨∇f, v⟩ = Hv


Hv = hvp(theta_np, v_np)
Hv_fd = (gradient(theta_np + eps * v_np) - gradient(theta_np - eps * v_np)) / (2 * eps)
u_np = rng.normal(size=5)
symmetry = abs(u_np @ Hv - v_np @ hvp(theta_np, u_np))   # uᵀHv = vᵀHu: H is symmetric
hv_err = np.abs(Hv - Hv_fd).max() / np.abs(Hv_fd).max()
lesson.table([["by hand", hand_d2, None],
              ["engine, grad of grad (create_graph=True)", d2L_dw2, abs(d2L_dw2 - hand_d2)],
              ["central difference of ∂L/∂w", fd_d2, abs(fd_d2 - hand_d2)]],
             ["∂²L/∂w²", "value", "|difference from hand|"], fmt=[".12g", ".12g", ".1e"],
             title="(d) a second derivative")
lesson.table([["max |Hv − finite diff.| / max |Hv|", hv_err],
              ["|uᵀHv − vᵀHu| (H is symmetric)", symmetry]],
             ["Hessian-vector product, θ ∈ ℝ⁵", "value"], fmt=".1e")
lesson.check(np.isclose(d2L_dw2, hand_d2, rtol=1e-12, atol=0) and
             np.isclose(fd_d2, hand_d2, rtol=1e-7, atol=0),
             "(d) ∂²L/∂w² from create_graph equals the hand formula (rtol 1e-12) and central "
             "differences (rtol 1e-7)")
lesson.check(hv_err < 1e-7 and symmetry < 1e-12,
             f"(d) the Hessian-vector product matches finite differences (relative {hv_err:.1e}) "
             f"and uᵀHv = vᵀHu (difference {symmetry:.1e})")

lesson.done()
