# %% [markdown]
# # Lesson 04 · Two backprop examples from the slides: the multivariate chain rule and softmax
#
# **(a) The multivariate chain rule.** f(x, y) = y + e^{xy} with x = cos t and y = t².
# t reaches f along two paths, so its error signal is the sum over both:
#
#     f̄ = 1
#     x̄ = f̄ ∂f/∂x = y e^{xy}             ȳ = f̄ ∂f/∂y = 1 + x e^{xy}
#     t̄ = x̄ dx/dt + ȳ dy/dt = x̄ (−sin t) + ȳ (2t)
#
# **(b) Softmax with cross-entropy**, the output layer of every classifier:
#
#     e_k = exp(z_k),   S = Σ_j e_j,   y_k = e_k / S,   L = −Σ_k t_k log y_k   (t one-hot)
#
# Each e_k fans out: it feeds y_k directly *and* the normaliser S, which feeds every y_j.
# Backward, in the order the engine walks the graph:
#
#     ȳ_k = −t_k / y_k
#     S̄   = Σ_j ȳ_j ∂y_j/∂S = −Σ_j ȳ_j e_j / S²
#     ē_k = ȳ_k / S  +  S̄          (the second term is the fan-out through S)
#     z̄_k = ē_k e_k
#
# which simplifies to the famous z̄ = y − t. Forgetting the fan-out term gives z̄ = −t: wrong.
# Both examples are checked three ways: by hand, by the engine, by finite differences.
#
# Run: `python lessons/04_softmax_chain_rule.py [--quick] [--out DIR] [--seed N]`

# %%
import matplotlib.pyplot as plt
import numpy as np

import tinyae
import tinyae.functional as F
from tinyae import Tensor, losses
from tinyae.lesson import Lesson

lesson = Lesson(
    4, "Backprop examples: the multivariate chain rule and softmax + cross-entropy",
    claim="t̄ = x̄ dx/dt + ȳ dy/dt for f = y + e^{xy}, x = cos t, y = t²; and for softmax with "
          "cross-entropy z̄ = y − t, which needs the fan-out through the normaliser. Hand "
          "derivation = engine = finite differences.",
    reference="the course's backprop slides")


def central_difference(fn, x, eps=1e-6):
    """∂fn/∂x_i ≈ (fn(x + ε e_i) − fn(x − ε e_i)) / 2ε for every i (x: a float64 array)."""
    g = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        step = np.zeros_like(x)
        step[i] = eps
        g[i] = (fn(x + step) - fn(x - step)) / (2 * eps)
    return g


# %% [markdown]
# ## (a) f(x, y) = y + e^{xy},  x = cos t,  y = t²

# %%
def f_of_t(t):
    x, y = np.cos(t), t ** 2
    return y + np.exp(x * y)


t_values = [0.5, 1.5] if lesson.quick else [-2.0, -0.5, 0.5, 1.5, 2.5]
rows, worst_engine, worst_fd = [], 0.0, 0.0
for t0 in t_values:
    # by hand, forward then backward
    x, y = np.cos(t0), t0 ** 2
    fbar = 1.0
    xbar = fbar * y * np.exp(x * y)
    ybar = fbar * (1 + x * np.exp(x * y))
    tbar_hand = xbar * (-np.sin(t0)) + ybar * (2 * t0)
    # the engine
    t = Tensor(np.array(t0), requires_grad=True)
    xt, yt = F.cos(t), t * t
    f = yt + F.exp(xt * yt)
    f.backward()
    tbar_engine = float(t.grad.item())
    tbar_fd = float(central_difference(lambda a: f_of_t(a[()]), np.array(t0)))
    worst_engine = max(worst_engine, abs(tbar_engine - tbar_hand) / abs(tbar_hand))
    worst_fd = max(worst_fd, abs(tbar_fd - tbar_hand) / abs(tbar_hand))
    rows.append([t0, xbar * (-np.sin(t0)), ybar * 2 * t0, tbar_hand, tbar_engine, tbar_fd])
lesson.table(rows, ["t", "x̄ dx/dt", "ȳ dy/dt", "t̄ by hand", "t̄ engine", "t̄ finite diff."],
             fmt=".6g")
lesson.check(worst_engine < 1e-12 and worst_fd < 1e-7,
             f"(a) t̄ = x̄ dx/dt + ȳ dy/dt: hand = engine (relative difference {worst_engine:.1e}) "
             f"= finite differences ({worst_fd:.1e})")

# The engine's own record of the same computation, in the slides' notation (one node a row):
t = Tensor(np.array(1.5), requires_grad=True)
x = F.cos(t)
y = t * t
f = y + F.exp(x * y)
tinyae.trace(f)

# %% [markdown]
# ## (b) Softmax + cross-entropy on a batch of logits

# %%
K, B = 5, (4 if lesson.quick else 8)
z_np = lesson.rng.normal(scale=2.0, size=(B, K))
labels = lesson.rng.integers(0, K, size=B)
t_np = np.eye(K)[labels]


def L_of_z(z):
    """Mean over the batch of −Σ_k t_k log softmax(z)_k (computed stably)."""
    m = z.max(axis=1, keepdims=True)
    log_y = z - m - np.log(np.exp(z - m).sum(axis=1, keepdims=True))
    return float(-(t_np * log_y).sum() / B)


# by hand: forward, then the backward steps of the header (with the 1/B of the batch mean)
e = np.exp(z_np)
S = e.sum(axis=1, keepdims=True)
y = e / S
ybar = -t_np / y / B
Sbar = -(ybar * e).sum(axis=1, keepdims=True) / S ** 2
ebar_direct = ybar / S
ebar = ebar_direct + Sbar                 # fan-out: e_k → y_k and e_k → S
zbar_hand = ebar * e
zbar_forgot_fanout = ebar_direct * e      # = −t/B: the classic mistake

# the engine, two ways: the explicit graph, and the fused losses.cross_entropy
z = Tensor(z_np.copy(), requires_grad=True)
ez = F.exp(z)
y_engine = ez / ez.sum(axis=1, keepdims=True)
L_engine = -(Tensor(t_np) * F.log(y_engine)).sum() / B
L_engine.backward()
zbar_engine = z.grad.numpy()
z2 = Tensor(z_np.copy(), requires_grad=True)
L_fused = losses.cross_entropy(z2, labels)
L_fused.backward()
zbar_fused = z2.grad.numpy()
zbar_fd = central_difference(L_of_z, z_np)
zbar_formula = (y - t_np) / B

errors = {
    "hand vs y − t": np.abs(zbar_hand - zbar_formula).max(),
    "engine (explicit graph) vs y − t": np.abs(zbar_engine - zbar_formula).max(),
    "engine (losses.cross_entropy) vs y − t": np.abs(zbar_fused - zbar_formula).max(),
    "finite differences vs y − t": np.abs(zbar_fd - zbar_formula).max(),
    "hand WITHOUT the fan-out term vs y − t": np.abs(zbar_forgot_fanout - zbar_formula).max(),
}
lesson.table([[k, v] for k, v in errors.items()], ["z̄ computed by", "largest difference"],
             fmt=".1e")
print(f"loss: hand {-(t_np * np.log(y)).sum() / B:.12f}, engine {L_engine.item():.12f}, "
      f"fused {L_fused.item():.12f}")
lesson.check(max(list(errors.values())[:3]) < 1e-14 and errors["finite differences vs y − t"] < 1e-8,
             "(b) z̄ = (y − t)/B: hand = engine (explicit and fused) to 1e-14, = finite "
             "differences to 1e-8")
lesson.check(np.allclose(zbar_forgot_fanout, -t_np / B) and errors[
             "hand WITHOUT the fan-out term vs y − t"] > 1e-2,
             f"(b) without the fan-out through S the hand result is −t/B, off by "
             f"{errors['hand WITHOUT the fan-out term vs y − t']:.2f}: the sum over children "
             "matters")

# %% [markdown]
# ## The figure: z̄ for one example, by the three routes and by the mistake

# %%
i = 0
fig, ax = plt.subplots(figsize=(10, 4.8))
k = np.arange(K)
w = 0.2
ax.bar(k - 1.5 * w, zbar_hand[i] * B, w, label="by hand (with fan-out)")
ax.bar(k - 0.5 * w, zbar_engine[i] * B, w, label="engine")
ax.bar(k + 0.5 * w, zbar_fd[i] * B, w, label="finite differences")
ax.bar(k + 1.5 * w, zbar_forgot_fanout[i] * B, w, color="lightgrey", edgecolor="black",
       hatch="//", label="forgot the fan-out (−t)")
ax.axhline(0, color="black", lw=1)
ax.set_xticks(k, [f"class {j}" + (" (target)" if j == labels[i] else "") for j in k])
ax.set_ylabel("B · z̄ₖ", fontsize=14)
ax.set_title("softmax + cross-entropy: z̄ = y − t for one example", fontsize=16)
ax.tick_params(labelsize=12)
ax.legend(fontsize=12)
fig.tight_layout()
lesson.figure(fig, "softmax_error_signals")

lesson.done()
