# %% [markdown]
# # Lesson 03 · Backprop by hand
#
# We write the error signals v̄ = ∂L/∂v by hand, in the notation of the slides, and compare
# them with tinyae's backward pass and with central finite differences
#
#     ∂f/∂θ ≈ (f(θ + ε) − f(θ − ε)) / 2ε
#
# (a) logistic least squares for one example, (b) the same with an L2 penalty (fan-out),
# (c) a two-layer network for a mini-batch, in matrix form.
#
# Run: `python lessons/03_backprop_by_hand.py [--quick] [--out DIR] [--seed N]`

# %%
import matplotlib.pyplot as plt
import numpy as np

import tinyae
import tinyae.functional as F
from tinyae import Tensor
from tinyae.gradcheck import gradcheck
from tinyae.lesson import Lesson

lesson = Lesson(
    3, "Backprop by hand",
    claim="The hand-written error signals (ȳ = y − t, z̄ = ȳ σ'(z), w̄ = z̄x, …; W̄ = z̄ xᵀ, "
          "h̄ = Wᵀȳ in matrix form) equal the engine's backward pass and central finite "
          "differences to float64 precision.",
    reference="backprop as in the lecture slides; finite differences (f(θ+ε) − f(θ−ε))/2ε")
EPS = 1e-6


def central_difference(f, theta, eps=EPS):
    """(f(θ + ε) − f(θ − ε)) / 2ε for every entry of the float64 array θ (f returns a float)."""
    theta = np.array(theta, dtype=np.float64)
    grad = np.zeros_like(theta)
    for i in np.ndindex(theta.shape):
        old = theta[i]
        theta[i] = old + eps
        f_plus = f(theta)
        theta[i] = old - eps
        f_minus = f(theta)
        theta[i] = old
        grad[i] = (f_plus - f_minus) / (2 * eps)
    return grad


def sigmoid(z):
    return 1 / (1 + np.exp(-z))


# %% [markdown]
# ## (a) Logistic least squares, one example
#
#     z = w x + b,   y = σ(z),   L = ½ (y − t)²
#
#     ȳ = y − t,   z̄ = ȳ σ'(z) = ȳ y (1 − y),   w̄ = z̄ x,   b̄ = z̄

# %%
x, t = 1.5, 1.0
w0, b0 = 0.8, -0.3

# Forward pass, plain floats.
z = w0 * x + b0
y = sigmoid(z)
L = 0.5 * (y - t) ** 2
lesson.table([["z = wx + b", z], ["y = σ(z)", y], ["L = ½(y − t)²", L]],
             ["forward", "value"], fmt=".10f", title=f"x = {x}, t = {t}, w = {w0}, b = {b0}")

# Backward pass by hand, in reverse order.
ybar = y - t
zbar = ybar * y * (1 - y)
wbar = zbar * x
bbar = zbar

# The engine: the same forward with Tensors, then backward. tinyae.grad also returns the error
# signals of the intermediate nodes y and z, not only of the leaves w and b.
w_t = Tensor(np.float64(w0), requires_grad=True)
b_t = Tensor(np.float64(b0), requires_grad=True)
z_t = w_t * x + b_t
y_t = F.sigmoid(z_t)
L_t = 0.5 * (y_t - t) ** 2
engine = [g.item() for g in tinyae.grad(L_t, [y_t, z_t, w_t, b_t])]

# Finite differences: perturb one node, recompute L from there on, everything upstream fixed.
fd = [central_difference(lambda v: 0.5 * (v - t) ** 2, y).item(),
      central_difference(lambda v: 0.5 * (sigmoid(v) - t) ** 2, z).item(),
      central_difference(lambda v: 0.5 * (sigmoid(v * x + b0) - t) ** 2, w0).item(),
      central_difference(lambda v: 0.5 * (sigmoid(w0 * x + v) - t) ** 2, b0).item()]
hand = [ybar, zbar, wbar, bbar]
formulas = ["ȳ = y − t", "z̄ = ȳ y(1 − y)", "w̄ = z̄ x", "b̄ = z̄"]
lesson.table([[f, h, e, d, abs(h - d)] for f, h, e, d in zip(formulas, hand, engine, fd)],
             ["error signal", "by hand", "engine", "finite diff.", "fd error"],
             fmt=[".12g"] * 4 + [".1e"], title="(a) error signals")
lesson.check(np.allclose(hand, engine, rtol=1e-14, atol=0),
             "(a) hand-written ȳ, z̄, w̄, b̄ equal the engine's to the last bits (rtol 1e-14)")
lesson.check(np.allclose(hand, fd, rtol=1e-8, atol=0),
             "(a) hand-written ȳ, z̄, w̄, b̄ equal central differences (rtol 1e-8)")

# %% [markdown]
# ## (b) The L2-regularised version: fan-out
#
#     R = ½ w²,   L_reg = L + λ R
#
# w now feeds two nodes (z and R), so its error signal is the sum over both children:
#
#     R̄ = λ,   w̄ = z̄ x + R̄ w

# %%
lam = 0.1
Rbar = lam
wbar_reg = zbar * x + Rbar * w0

w_t = Tensor(np.float64(w0), requires_grad=True)
b_t = Tensor(np.float64(b0), requires_grad=True)
L_t = 0.5 * (F.sigmoid(w_t * x + b_t) - t) ** 2
R_t = 0.5 * w_t ** 2
(lam * R_t + L_t).backward()   # fan-out: backward adds the signals from z and from R into w.grad


def L_reg(w, b=b0):
    return 0.5 * (sigmoid(w * x + b) - t) ** 2 + lam * 0.5 * w ** 2


fd_w = central_difference(L_reg, w0).item()
fd_b = central_difference(lambda v: L_reg(w0, v), b0).item()
lesson.table([["w̄ = z̄x + R̄w", wbar_reg, w_t.grad.item(), fd_w, abs(wbar_reg - fd_w)],
              ["  of which z̄x (via z)", zbar * x, None, None, None],
              ["  of which R̄w (via R)", Rbar * w0, None, None, None],
              ["b̄ = z̄ (unchanged)", bbar, b_t.grad.item(), fd_b, abs(bbar - fd_b)]],
             ["error signal", "by hand", "engine", "finite diff.", "fd error"],
             fmt=[".12g"] * 4 + [".1e"], title=f"(b) L_reg = L + λR with λ = {lam}")
lesson.check(np.isclose(w_t.grad.item(), wbar_reg, rtol=1e-14, atol=0)
             and np.isclose(fd_w, wbar_reg, rtol=1e-8, atol=0),
             "(b) fan-out: w̄ = z̄x + R̄w matches the engine (rtol 1e-14) and finite differences "
             "(rtol 1e-8)")

# %% [markdown]
# ## (c) A two-layer network, vectorised over a mini-batch
#
# The N examples are the *columns* of X (D × N) and T (K × N), as on the slides:
#
#     Z = W⁽¹⁾X + b⁽¹⁾,   H = σ(Z),   Y = W⁽²⁾H + b⁽²⁾,   L = ½ ‖Y − T‖² / N
#
#     Ȳ = (Y − T)/N
#     W̄⁽²⁾ = Ȳ Hᵀ,         b̄⁽²⁾ = Ȳ 1   (sum over the examples)
#     H̄ = W⁽²⁾ᵀ Ȳ
#     Z̄ = H̄ ⊙ σ'(Z) = H̄ ⊙ H ⊙ (1 − H)
#     W̄⁽¹⁾ = Z̄ Xᵀ,         b̄⁽¹⁾ = Z̄ 1
#
# (b⁽¹⁾ is a column, broadcast over the N columns; its error signal sums over them. The
# engine does that sum in one central place, autograd.unbroadcast.)

# The table shows max-abs differences, and for finite differences (fd) that error divided by
# the largest entry of the error signal.

# %%
D, Hdim, K = 4, 3, 2
N = 4 if lesson.quick else 8
rng = lesson.rng
X = rng.normal(size=(D, N))
T = rng.normal(size=(K, N))
params = {"W1": rng.normal(size=(Hdim, D)) / np.sqrt(D), "b1": rng.normal(size=(Hdim, 1)),
          "W2": rng.normal(size=(K, Hdim)) / np.sqrt(Hdim), "b2": rng.normal(size=(K, 1))}


def forward(p):
    """The network in NumPy: returns L and the intermediate values the backward pass needs."""
    Z = p["W1"] @ X + p["b1"]
    H = sigmoid(Z)
    Y = p["W2"] @ H + p["b2"]
    return 0.5 * np.sum((Y - T) ** 2) / N, H, Y


L_np, H, Y = forward(params)
Ybar = (Y - T) / N
Hbar = params["W2"].T @ Ybar
Zbar = Hbar * H * (1 - H)
hand = {"W2": Ybar @ H.T, "b2": Ybar.sum(axis=1, keepdims=True),
        "W1": Zbar @ X.T, "b1": Zbar.sum(axis=1, keepdims=True)}

# The engine: the same network with Tensors (on the GPU with --backend cupy).
P = {k: Tensor(lesson.asarray(v), requires_grad=True) for k, v in params.items()}
X_t, T_t = Tensor(lesson.asarray(X)), Tensor(lesson.asarray(T))
Y_t = P["W2"] @ F.sigmoid(P["W1"] @ X_t + P["b1"]) + P["b2"]
L_t = 0.5 * ((Y_t - T_t) ** 2).sum() / N
L_t.backward()
engine = {k: v.grad.numpy() for k, v in P.items()}


def fd_of(name):
    """Central differences of L with respect to every entry of one parameter matrix."""
    def L_of(value):
        return forward({**params, name: value})[0]
    return central_difference(L_of, params[name])


def rel(a, b):
    """max |a − b| relative to the largest entry: the error in units of the signal's size."""
    return np.abs(a - b).max() / np.abs(b).max()


rows, worst_engine, worst_fd = [], 0.0, 0.0
for name, formula in [("W2", "W̄⁽²⁾ = Ȳ Hᵀ"), ("b2", "b̄⁽²⁾ = Ȳ 1"),
                      ("W1", "W̄⁽¹⁾ = Z̄ Xᵀ"), ("b1", "b̄⁽¹⁾ = Z̄ 1")]:
    fd = fd_of(name)
    e_engine, e_fd = rel(engine[name], hand[name]), rel(fd, hand[name])
    worst_engine, worst_fd = max(worst_engine, e_engine), max(worst_fd, e_fd)
    rows.append([formula, str(params[name].shape), np.abs(hand[name]).max(),
                 np.abs(engine[name] - hand[name]).max(), np.abs(fd - hand[name]).max(),
                 e_fd])
lesson.table(rows, ["error signal", "shape", "largest entry", "engine − hand",
                    "fd − hand", "fd relative"], fmt=".3e",
             title=f"(c) two-layer net {D}-{Hdim}-{K}, mini-batch of N = {N}, L = {L_np:.6f}")
lesson.check(worst_engine < 1e-12,
             f"(c) engine = hand-written matrix error signals (worst relative difference "
             f"{worst_engine:.1e} < 1e-12)")
# Round-off in f(θ + ε) − f(θ − ε) is about (machine ε)·|L|, divided by 2ε: that is the
# accuracy finite differences can have here, so the tolerance is a few times it.
roundoff = np.finfo(np.float64).eps * abs(L_np) / (2 * EPS)
print(f"round-off of the difference quotient ≈ u·|L|/2ε = {roundoff:.1e}")
lesson.check(worst_fd < 1e-7,
             f"(c) hand-written = central differences (worst relative difference "
             f"{worst_fd:.1e} < 1e-7)")



def net_loss(W1, b1, W2, b2):  # the same loss, for the library's own checker (tinyae.gradcheck)
    Y = W2 @ F.sigmoid(W1 @ X_t + b1) + b2
    return 0.5 * ((Y - T_t) ** 2).sum() / N


inputs = [Tensor(lesson.asarray(params[k]), requires_grad=True) for k in ("W1", "b1", "W2", "b2")]
lesson.check(gradcheck(net_loss, inputs), "(c) tinyae.gradcheck agrees")

# %% [markdown]
# ## (c) in the slides' index form: the 2-2-2 network, one example
#
# The slides derive the same signals one weight at a time, for one example x (2 inputs), 2
# hidden units and 2 outputs, L = ½ Σₖ (yₖ − tₖ)²:
#
#     ȳₖ = yₖ − tₖ
#     w̄⁽²⁾ₖᵢ = ȳₖ hᵢ,                 b̄⁽²⁾ₖ = ȳₖ
#     h̄ᵢ = Σₖ w⁽²⁾ₖᵢ ȳₖ               (hᵢ fans out to every output: the sum over k)
#     z̄ᵢ = h̄ᵢ hᵢ (1 − hᵢ)
#     w̄⁽¹⁾ᵢⱼ = z̄ᵢ xⱼ,                 b̄⁽¹⁾ᵢ = z̄ᵢ
#
# Written as loops over the indices below, exactly as on the slide; the matrix form of (c) is
# these loops with the sums done by the matrix products (W̄⁽²⁾ = ȳ hᵀ, h̄ = W⁽²⁾ᵀ ȳ, …).

# %%
small = np.random.default_rng(lesson.seed + 3)   # its own draws: the rest of the lesson unchanged
x1, t1 = small.normal(size=2), small.normal(size=2)
w1, c1 = small.normal(size=(2, 2)), small.normal(size=2)     # w⁽¹⁾ᵢⱼ, b⁽¹⁾ᵢ
w2, c2 = small.normal(size=(2, 2)), small.normal(size=2)     # w⁽²⁾ₖᵢ, b⁽²⁾ₖ
h1 = [sigmoid(sum(w1[i, j] * x1[j] for j in range(2)) + c1[i]) for i in range(2)]
y1 = [sum(w2[k, i] * h1[i] for i in range(2)) + c2[k] for k in range(2)]
ybar1 = [y1[k] - t1[k] for k in range(2)]
w2bar = [[ybar1[k] * h1[i] for i in range(2)] for k in range(2)]
hbar1 = [sum(w2[k, i] * ybar1[k] for k in range(2)) for i in range(2)]
zbar1 = [hbar1[i] * h1[i] * (1 - h1[i]) for i in range(2)]
w1bar = [[zbar1[i] * x1[j] for j in range(2)] for i in range(2)]
index_form = {"w1": np.array(w1bar), "b1": np.array(zbar1), "w2": np.array(w2bar),
              "b2": np.array(ybar1)}
P1 = {k: Tensor(lesson.asarray(v), requires_grad=True)
      for k, v in {"w1": w1, "b1": c1, "w2": w2, "b2": c2}.items()}
y_small = P1["w2"] @ F.sigmoid(P1["w1"] @ Tensor(lesson.asarray(x1)) + P1["b1"]) + P1["b2"]
(0.5 * ((y_small - Tensor(lesson.asarray(t1))) ** 2).sum()).backward()
worst_index = max(np.abs(index_form[k] - P1[k].grad.numpy()).max() for k in index_form)
lesson.table([["w̄⁽²⁾ₖᵢ = ȳₖ hᵢ", *np.round(index_form["w2"].ravel(), 6)],
              ["w̄⁽¹⁾ᵢⱼ = z̄ᵢ xⱼ", *np.round(index_form["w1"].ravel(), 6)]],
             ["error signal (index form)", "[1,1]", "[1,2]", "[2,1]", "[2,2]"],
             title="(c) the 2-2-2 network of the slides, one example, loops over the indices")
lesson.check(worst_index < 1e-14,
             f"(c) the slides' index form (w̄ₖᵢ = ȳₖ hᵢ, h̄ᵢ = Σₖ wₖᵢ ȳₖ, …) equals the engine's "
             f"error signals (largest difference {worst_index:.1e})")

# %% [markdown]
# ## Why ε = 10⁻⁶? The error of finite differences against ε
#
# Truncation error shrinks with ε (∝ ε for the one-sided difference (f(θ+ε) − f(θ))/ε,
# ∝ ε² for the central one); round-off grows like (machine ε · |f|)/ε. Central differences
# in float64 are best near ε ≈ 10⁻⁵…10⁻⁶, one-sided near 10⁻⁸.

# %%
eps_grid = np.logspace(-12, -1, 12 if lesson.quick else 45)
f_w = lambda v: 0.5 * (sigmoid(v * x + b0) - t) ** 2  # noqa: E731  (L as a function of w)
err_central = [abs((f_w(w0 + e) - f_w(w0 - e)) / (2 * e) - wbar) for e in eps_grid]
err_forward = [abs((f_w(w0 + e) - f_w(w0)) / e - wbar) for e in eps_grid]
fig, ax = plt.subplots(figsize=(7.5, 5.2))
floor = 1e-17  # an error of exactly 0 cannot be drawn on a log axis
ax.loglog(eps_grid, np.maximum(err_central, floor), "o-", ms=3,
          label="central (f(w+ε) − f(w−ε))/2ε")
ax.loglog(eps_grid, np.maximum(err_forward, floor), "s-", ms=3, label="one-sided (f(w+ε) − f(w))/ε")
ax.axvline(EPS, color="k", ls="--", lw=1, label=f"ε = {EPS:g} (used above)")
ax.set_xlabel("ε")
ax.set_ylabel("|finite difference − w̄|")
ax.set_title("(a) error of finite differences for w̄")
ax.legend(loc="lower left")  # the corner the curves leave free
fig.tight_layout()
lesson.figure(fig, "finite_difference_error")
best = eps_grid[int(np.argmin(err_central))]
lesson.check(min(err_central) < min(err_forward),
             f"central differences beat one-sided ones (best errors {min(err_central):.1e} at "
             f"ε = {best:.0e} vs {min(err_forward):.1e})")

lesson.done()
