# %% [markdown]
# # Lesson 01 · Neurons, activation functions and expressive power
#
# A neuron computes y = φ(z) with z = wᵀx + b. The activation φ decides what a network of
# such neurons can represent and whether gradient descent can train it:
#
#     identity      φ(z) = z                      φ'(z) = 1
#     ReLU          φ(z) = max(0, z)              φ'(z) = 1 if z > 0 else 0
#     soft ReLU     φ(z) = log(1 + eᶻ)            φ'(z) = σ(z)
#     hard threshold φ(z) = 1 if z > 0 else 0     φ'(z) = 0 (undefined at 0)
#     logistic      φ(z) = σ(z) = 1/(1 + e⁻ᶻ)     φ'(z) = σ(z)(1 − σ(z))
#     tanh          φ(z) = tanh z                 φ'(z) = 1 − tanh² z
#
# Three facts from the course, each measured:
#
# 1. The derivatives above are what the engine's backward pass computes (z̄ = ȳ φ'(z)).
# 2. A stack of linear layers is one linear layer: W⁽³⁾W⁽²⁾W⁽¹⁾ = W′. Depth without a
#    nonlinearity buys nothing — a linear stack cannot even fit XOR; one ReLU layer can.
# 3. σ(kz) approaches the hard threshold as k grows, and a network with one hidden layer
#    approximates a continuous 1-D function ever better as its width grows (universal
#    approximation: Cybenko 1989, Hornik 1991).
#
# Run: `python lessons/01_activations.py [--quick] [--out DIR] [--seed N]`

# %%
import matplotlib.pyplot as plt
import numpy as np

import tinyae.functional as F
from tinyae import Tensor, losses, nn, no_grad, optim
from tinyae.lesson import Lesson

lesson = Lesson(
    1, "Activation functions and expressive power",
    claim="The engine's derivatives of the six activations equal their formulas; a stack of "
          "linear layers equals one linear map (and cannot fit XOR, one ReLU layer can); "
          "σ(kz) tends to the hard threshold; a one-hidden-layer network approximates a "
          "1-D function better as its width grows.",
    reference="Cybenko 1989, Hornik 1991 (universal approximation)")

# %% [markdown]
# ## 1 · Six activations and their derivatives, from the engine
# Each φ is applied to a grid of z with requires_grad; backward of Σφ(z) gives z̄ = φ'(z)
# element by element. We compare with the formula away from the kink at 0.

# %%
z_np = np.linspace(-4, 4, 801)


def hard_threshold(z):
    # Built from a comparison, which has no derivative: the engine gives z̄ = 0 everywhere.
    xp_data = (z.data > 0).astype(z.data.dtype)
    return z * 0 + Tensor(xp_data)


ACTIVATIONS = {  # name: (engine function, formula for φ, formula for φ')
    "identity": (lambda z: z * 1, lambda z: z, lambda z: np.ones_like(z)),
    "ReLU": (F.relu, lambda z: np.maximum(z, 0), lambda z: (z > 0).astype(float)),
    "soft ReLU": (F.softplus, lambda z: np.log1p(np.exp(z)), lambda z: 1 / (1 + np.exp(-z))),
    "hard threshold": (hard_threshold, lambda z: (z > 0).astype(float), lambda z: 0 * z),
    "logistic σ": (F.sigmoid, lambda z: 1 / (1 + np.exp(-z)),
                   lambda z: np.exp(-z) / (1 + np.exp(-z)) ** 2),
    "tanh": (F.tanh, np.tanh, lambda z: 1 - np.tanh(z) ** 2),
}
rows, worst = [], 0.0
away_from_kink = np.abs(z_np) > 1e-9
curves = {}
for name, (phi, f, df) in ACTIVATIONS.items():
    z = Tensor(lesson.asarray(z_np), requires_grad=True)
    y = phi(z)
    y.sum().backward()
    y_np, zbar = np.asarray(y.numpy()), np.asarray(z.grad.numpy())
    err_f = np.abs(y_np - f(z_np)).max()
    err_df = np.abs(zbar - df(z_np))[away_from_kink].max()
    worst = max(worst, err_f, err_df)
    curves[name] = (y_np, zbar)
    rows.append([name, err_f, err_df])
lesson.table(rows, ["activation", "largest error of φ", "largest error of z̄ = φ'(z)"], fmt=".1e")
lesson.check(worst < 1e-12, f"the engine's φ and z̄ = φ'(z) match the formulas for all six "
                            f"activations (largest difference {worst:.1e}, float64)")

fig, axes = plt.subplots(2, 3, figsize=(13, 7.5))
for ax, (name, (y_np, zbar)) in zip(axes.flat, curves.items()):
    ax.plot(z_np, y_np, lw=3, label="φ(z)")
    ax.plot(z_np, zbar, lw=3, ls="--", label="φ'(z) = z̄ (engine)")
    ax.axhline(0, color="grey", lw=0.8)
    ax.axvline(0, color="grey", lw=0.8)
    ax.set_title(name, fontsize=16)
    ax.set_ylim(-1.6, 2.6)
    ax.tick_params(labelsize=12)
    ax.set_xlabel("z", fontsize=14)
axes[0, 0].legend(fontsize=12, loc="upper left")
fig.tight_layout()
lesson.figure(fig, "activations")

# %% [markdown]
# ## 2 · A stack of linear layers collapses to one linear map
# Three Linear layers without activations: y = W⁽³⁾(W⁽²⁾(W⁽¹⁾x + b⁽¹⁾) + b⁽²⁾) + b⁽³⁾
# = W′x + b′ with W′ = W⁽³⁾W⁽²⁾W⁽¹⁾ and b′ = W⁽³⁾(W⁽²⁾b⁽¹⁾ + b⁽²⁾) + b⁽³⁾.

# %%
stack = nn.Sequential(nn.Linear(4, 16, rng=1), nn.Linear(16, 16, rng=2), nn.Linear(16, 3, rng=3))
stack.double()
W = [layer.weight.numpy() for layer in stack]
b = [layer.bias.numpy() for layer in stack]
W_prime = W[2] @ W[1] @ W[0]
b_prime = W[2] @ (W[1] @ b[0] + b[1]) + b[2]
x_np = lesson.rng.normal(size=(100, 4))
with no_grad():
    y_stack = np.asarray(stack(Tensor(lesson.asarray(x_np))).numpy())
gap = np.abs(y_stack - (x_np @ W_prime.T + b_prime)).max()
print(f"W′ = W⁽³⁾W⁽²⁾W⁽¹⁾ has shape {W_prime.shape} and rank {np.linalg.matrix_rank(W_prime)}")
lesson.check(gap < 1e-12, f"three linear layers = one linear map W′x + b′ on 100 random "
                          f"inputs (largest difference {gap:.1e})")

# %% [markdown]
# So depth needs a nonlinearity. XOR shows it: the best linear (or linear-stack) fit of
# XOR predicts ½ everywhere (MSE 0.25); one hidden ReLU layer fits it exactly.

# %%
X_xor = lesson.asarray(np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=float))
t_xor = lesson.asarray(np.array([[0], [1], [1], [0]], dtype=float))


def train_xor(model, steps=2000):
    model.double()
    opt = optim.Adam(model.parameters(), lr=0.02)
    for _ in range(steps):
        loss = losses.mse(model(Tensor(X_xor)), Tensor(t_xor))
        opt.zero_grad()
        loss.backward()
        opt.step()
    return float(loss.item())


xor_linear = train_xor(nn.Sequential(nn.Linear(2, 8, rng=4), nn.Linear(8, 8, rng=5),
                                     nn.Linear(8, 1, rng=6)))
xor_relu = train_xor(nn.Sequential(nn.Linear(2, 8, rng=4), nn.ReLU(), nn.Linear(8, 1, rng=6)))
lesson.table([["3 linear layers (2-8-8-1)", xor_linear, 0.25],
              ["1 hidden ReLU layer (2-8-1)", xor_relu, 0.0]],
             ["XOR model", "MSE after 2,000 Adam steps", "best possible"], fmt=".2e")
lesson.check(abs(xor_linear - 0.25) < 1e-3 and xor_relu < 1e-4,
             f"the linear stack is stuck at the best linear fit (MSE {xor_linear:.4f} ≈ 0.25); "
             f"one ReLU layer fits XOR (MSE {xor_relu:.1e})")

# %% [markdown]
# ## 3a · σ(kz) approaches the hard threshold
# The largest gap between σ(kz) and the threshold outside a band |z| < δ is σ(−kδ), which
# falls like e^{−kδ}.

# %%
delta = 0.1
gaps = []
for k in (1, 5, 25, 125):
    s = F.sigmoid(Tensor(lesson.asarray(k * z_np))).numpy()
    outside = np.abs(z_np) >= delta
    gaps.append(np.abs(np.asarray(s) - (z_np > 0))[outside].max())
lesson.table([[k, g] for k, g in zip((1, 5, 25, 125), gaps)],
             ["k", f"largest gap σ(kz) − threshold, z outside ±{delta}"], fmt=".2e")
lesson.check(all(a > b for a, b in zip(gaps, gaps[1:])) and gaps[-1] < 1e-5,
             f"σ(kz) tends to the hard threshold: gap {gaps[0]:.2f} at k = 1 → "
             f"{gaps[-1]:.1e} at k = 125")

fig, ax = plt.subplots(figsize=(9, 5.2))
for k, color in zip((1, 5, 25, 125), ("C0", "C1", "C2", "C3")):
    ax.plot(z_np, F.sigmoid(Tensor(lesson.asarray(k * z_np))).numpy(), lw=3, color=color,
            label=f"σ({k}z)" if k > 1 else "σ(z)")
ax.plot(z_np, (z_np > 0).astype(float), lw=2, ls="--", color="black", label="hard threshold")
ax.axvspan(-delta, delta, color="0.85", label=f"|z| < {delta} (left out of the gap)")
ax.set_xlim(-3, 3)
ax.set_xlabel("z", fontsize=15)
ax.set_ylabel("φ(z)", fontsize=15)
ax.set_title("σ(kz) becomes the hard threshold as k grows", fontsize=16)
ax.tick_params(labelsize=13)
ax.legend(fontsize=13, loc="lower right", frameon=False)
fig.tight_layout()
lesson.figure(fig, "sigmoid_to_threshold")

# %% [markdown]
# ## 3b · Universal approximation, measured
# f(x) = sin(3x) + 0.3x² on [−2, 2], fitted by x → Linear(1, H) → tanh → Linear(H, 1) with
# full-batch Adam (best of three random starts per width, since one start can stall in a
# poor local fit). The test error on a fine grid falls as the width H grows, until it
# reaches what the optimiser can do in the steps given (about 1e-5 here).

# %%
def target(x):
    return np.sin(3 * x) + 0.3 * x ** 2


x_train = np.linspace(-2, 2, 200)[:, None]
x_test = np.linspace(-2, 2, 1001)[:, None]
widths = (1, 2, 4, 8, 16) if lesson.quick else (1, 2, 4, 8, 16, 32)
steps = 800 if lesson.quick else 3000
restarts = 3  # gradient descent can stall in a poor local fit; the best of a few starts
fits, test_mse = {}, []  # measures what the width can represent, which is the claim


def fit_width(H, seed):
    net = nn.Sequential(nn.Linear(1, H, rng=seed), nn.Tanh(), nn.Linear(H, 1, rng=seed + 1))
    net.double()
    opt = optim.Adam(net.parameters(), lr=0.02)
    sched = optim.CosineAnnealingLR(opt, T_max=steps)
    xt, tt = Tensor(lesson.asarray(x_train)), Tensor(lesson.asarray(target(x_train)))
    for _ in range(steps):
        loss = losses.mse(net(xt), tt)
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
    with no_grad():
        return np.asarray(net(Tensor(lesson.asarray(x_test))).numpy())


for H in widths:
    preds = [fit_width(H, 100 * H + 2 * r) for r in range(restarts)]
    errors = [float(np.mean((p - target(x_test)) ** 2)) for p in preds]
    fits[H] = preds[int(np.argmin(errors))]
    test_mse.append(min(errors))
lesson.table([[H, m] for H, m in zip(widths, test_mse)],
             ["hidden units H", f"test MSE (best of {restarts} starts)"], fmt=".2e")
# Below about 1e-4 the error left is what a few thousand Adam steps can reach, not what the
# width allows: from there on a wider net need not train to a lower error in the same steps.
floor = 1e-4
ratio = test_mse[0] / min(test_mse)
improving = all(b < a for a, b in zip(test_mse, test_mse[1:]) if a > floor)
lesson.check(improving and ratio > 1000,
             f"each wider hidden layer approximates f better until the error falls below "
             f"~{floor:g}, where the training budget limits it: H = {widths[0]}: "
             f"{test_mse[0]:.2e} → best "
             f"{min(test_mse):.2e}, {ratio:,.0f}× smaller")

fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(13, 5))
ax1.plot(x_test, target(x_test), color="black", lw=4, label="f(x)")
for H in widths[::2] if len(widths) > 4 else widths:
    ax1.plot(x_test, fits[H], lw=2.5, label=f"H = {H}")
ax1.set_xlabel("x", fontsize=14)
ax1.set_title("one hidden tanh layer of width H", fontsize=16)
ax1.legend(fontsize=12)
ax1.tick_params(labelsize=12)
ax2.loglog(widths, test_mse, "o-", lw=3, ms=9)
ax2.set_xticks(widths, [str(H) for H in widths])
ax2.minorticks_off()
ax2.set_xlabel("hidden units H", fontsize=14)
ax2.set_ylabel("test MSE", fontsize=14)
ax2.axhspan(min(test_mse) / 3, floor, color="grey", alpha=0.15,
            label=f"below ~{floor:g}: the training budget,\nnot the width, limits the error")
ax2.legend(fontsize=12)
ax2.set_title("error falls as the width grows", fontsize=16)
ax2.tick_params(labelsize=12)
ax2.grid(True, which="both", alpha=0.3)
fig.tight_layout()
lesson.figure(fig, "universal_approximation")

lesson.done()
