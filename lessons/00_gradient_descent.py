# %% [markdown]
# # Lesson 00 · Gradient descent on least squares
#
# Linear regression y = Xw on synthetic data made from a known w*:
#
#     E(w) = ½ ‖Xw − t‖² / N,        ∇E(w) = Xᵀ(Xw − t) / N
#
# tinyae's engine computes ∇E (we never type the formula into the loop; we only check it
# once). Full-batch gradient descent uses the course's step-size rule:
#
#     w_new = w − η ∇E(w)
#     if E(w_new) > E(w):  reject the step (stay at w) and halve η
#     else:                accept the step and keep η
#
# and stops when ‖∇E‖ < τ. Then mini-batch SGD on the same problem. Both are compared with
# the closed-form least-squares solution (np.linalg.lstsq).
#
# Run: `python lessons/00_gradient_descent.py [--quick] [--out DIR] [--seed N]`

# %%
import matplotlib.pyplot as plt
import numpy as np

import tinyae
from tinyae import Tensor
from tinyae.lesson import Lesson

lesson = Lesson(
    0, "Gradient descent",
    claim="Full-batch gradient descent with step halving reaches the least-squares solution "
          "(stopping rule ‖∇E‖ < τ fires, w matches lstsq); mini-batch SGD gets close on "
          "the same problem with a fraction of the work per step.",
    reference="closed-form least squares, np.linalg.lstsq")

# %% [markdown]
# ## The data: t = X w* + noise
# Columns of X get different scales, so the error surface is an elongated bowl
# (condition number λ_max/λ_min of the Hessian H = XᵀX/N well above 1) and the step size
# matters.

# %%
N = 200 if lesson.quick else 2000
D = 5
tau = 1e-6                       # stopping rule: ‖∇E‖ < τ
noise = 0.1
scales = np.array([1.0, 0.5, 2.0, 1.0, 3.0])
X_np = lesson.rng.normal(size=(N, D)) * scales
w_star = lesson.rng.normal(size=D)
t_np = X_np @ w_star + noise * lesson.rng.normal(size=N)

H = X_np.T @ X_np / N                          # Hessian of E (constant: E is quadratic)
eig = np.linalg.eigvalsh(H)
w_ls = np.linalg.lstsq(X_np, t_np, rcond=None)[0]
E_min = 0.5 * np.sum((X_np @ w_ls - t_np) ** 2) / N
print(f"N = {N} examples, D = {D} weights, noise σ = {noise}")
print(f"Hessian eigenvalues λ_min = {eig[0]:.3f}, λ_max = {eig[-1]:.3f}, "
      f"condition number {eig[-1] / eig[0]:.1f};  steps with η > 2/λ_max = {2 / eig[-1]:.3f} "
      "make E grow")

X = Tensor(lesson.asarray(X_np))                # float64 end to end (NumPy arrays keep dtype)
t = Tensor(lesson.asarray(t_np))


def loss(w, X, t):
    """E(w) = ½ ‖Xw − t‖² / N for the rows of X given."""
    r = X @ w - t
    return 0.5 * (r * r).sum() / len(t)


def loss_and_grad(w_np):
    """E(w) and ∇E(w), the gradient from tinyae's backward pass."""
    w = Tensor(lesson.asarray(w_np), requires_grad=True)
    E = loss(w, X, t)
    E.backward()
    return float(E.item()), w.grad.numpy()


# %% [markdown]
# ## Check once: the engine's ∇E equals Xᵀ(Xw − t)/N

# %%
w_test = lesson.rng.normal(size=D)
_, g_engine = loss_and_grad(w_test)
g_formula = X_np.T @ (X_np @ w_test - t_np) / N
lesson.check(np.allclose(g_engine, g_formula, rtol=1e-12, atol=1e-14),
             f"engine ∇E equals Xᵀ(Xw − t)/N (max difference "
             f"{np.abs(g_engine - g_formula).max():.1e})")

# %% [markdown]
# ## Why step along −∇E: the Taylor expansion
# Near w, for a small step Δ, E is its Taylor expansion:
#
#     E(w + Δ) = E(w) + ∇E(w)ᵀ Δ + ½ Δᵀ H Δ + …        (here E is quadratic: exactly, no "…")
#
# To first order the change is ∇Eᵀ Δ. Among all steps of one length ‖Δ‖ = η, Cauchy–Schwarz,
# |∇Eᵀ Δ| ≤ ‖∇E‖ ‖Δ‖, says the most negative change is −η ‖∇E‖, reached only by
# Δ = −η ∇E/‖∇E‖: the negative gradient is the direction of steepest descent. With the
# gradient step Δ = −η ∇E the expansion reads
#
#     E(w − η∇E) = E(w) − η ‖∇E‖² + ½ η² ∇Eᵀ H ∇E,
#
# which decreases as long as η < 2‖∇E‖² / ∇Eᵀ H ∇E — always when η < 2/λ_max. Two checks at
# w = 0: the formula against the measured E(w − η∇E), and the steepest direction against
# 1,000 random unit directions. For a non-convex E (every network after lesson 01) the same
# expansion holds only near w: a zero gradient is a minimum only if H is positive definite
# there; with eigenvalues of both signs it is a saddle, which gradient descent leaves slowly
# along the negative-curvature directions, and a local minimum need not be the global one.

# %%
w0 = np.zeros(D)
E0, g0 = loss_and_grad(w0)
step = 0.1
taylor = E0 - step * g0 @ g0 + 0.5 * step ** 2 * g0 @ H @ g0
measured = loss_and_grad(w0 - step * g0)[0]
print(f"at w = 0, η = {step}: Taylor E(w − η∇E) = {taylor:.12f}, measured {measured:.12f}")
lesson.check(abs(taylor - measured) <= 1e-12 * abs(measured),
             f"the second-order Taylor expansion gives E after a gradient step exactly (E is "
             f"quadratic): {taylor:.10f} vs {measured:.10f}")
directions = np.random.default_rng(lesson.seed + 1).normal(size=(1000, D))  # its own draws
directions /= np.linalg.norm(directions, axis=1, keepdims=True)
best_random = (directions @ g0).min()          # the most negative first-order change per unit step
steepest = -np.linalg.norm(g0)                  # the change along −∇E/‖∇E‖
print(f"first-order change per unit step: along −∇E/‖∇E‖ {steepest:.4f}, best of 1,000 random "
      f"directions {best_random:.4f}")
lesson.check(steepest <= best_random,
             f"−∇E/‖∇E‖ is the steepest direction: its first-order change {steepest:.4f} is "
             f"below every one of 1,000 random unit directions (best {best_random:.4f})")

# %% [markdown]
# ## Full-batch gradient descent with step halving
# η₀ = 2 is deliberately too large (> 2/λ_max): the first steps make E grow, are rejected,
# and η is halved until steps go downhill; from then on it is kept.

# %%
eta = 2.0
max_iter = 10_000
w_gd = np.zeros(D)
E, g = loss_and_grad(w_gd)
gd_curve, gd_gnorm, gd_eta, rejected = [E], [np.linalg.norm(g)], [eta], 0
iterations = 0
while np.linalg.norm(g) >= tau and iterations < max_iter:
    iterations += 1
    w_new = w_gd - eta * g
    E_new, g_new = loss_and_grad(w_new)
    if E_new > E:                 # uphill: reject the step, halve η
        eta /= 2
        rejected += 1
    else:                         # downhill: accept, keep η
        w_gd, E, g = w_new, E_new, g_new
    gd_curve.append(E)
    gd_gnorm.append(np.linalg.norm(g))
    gd_eta.append(eta)
stopped = np.linalg.norm(g) < tau
print(f"gradient descent: {iterations} iterations, {rejected} rejected steps, final η = {eta:g}")

# %% [markdown]
# ## Mini-batch SGD on the same problem
# Each step uses the gradient of E on B examples only: a noisy but unbiased estimate of ∇E.
# With a constant η SGD settles in a noise ball around w_ls whose size grows with η, so the
# step is halved every epoch in the last quarter of training.

# %%
B = 10 if lesson.quick else 20
epochs = 20 if lesson.quick else 30
eta_sgd = 0.1
w_sgd = np.zeros(D)
sgd_curve, sgd_x = [loss_and_grad(w_sgd)[0]], [0.0]
X_dev, t_dev = X.data, t.data
steps = 0
for epoch in range(epochs):
    if epoch >= epochs - epochs // 4:
        eta_sgd /= 2
    order = lesson.asarray(lesson.rng.permutation(N))
    for start in range(0, N, B):
        idx = order[start:start + B]
        w = Tensor(lesson.asarray(w_sgd), requires_grad=True)
        Eb = loss(w, Tensor(X_dev[idx]), Tensor(t_dev[idx]))
        Eb.backward()
        w_sgd = w_sgd - eta_sgd * w.grad.numpy()
        steps += 1
        with tinyae.no_grad():                      # full E, for the plot only
            sgd_curve.append(float(loss(Tensor(lesson.asarray(w_sgd)), X, t).item()))
        sgd_x.append(steps * B / N)
E_sgd, g_sgd = loss_and_grad(w_sgd)
print(f"SGD: {epochs} epochs of {N // B} mini-batches of {B}, {steps} steps")

# %% [markdown]
# ## Results beside the closed-form solution

# %%
_, g_ls = loss_and_grad(w_ls)
lesson.table(
    [["gradient descent", iterations, iterations * N, E, np.linalg.norm(g),
      np.linalg.norm(w_gd - w_star), np.linalg.norm(w_gd - w_ls)],
     ["mini-batch SGD", steps, steps * B, E_sgd, np.linalg.norm(g_sgd),
      np.linalg.norm(w_sgd - w_star), np.linalg.norm(w_sgd - w_ls)],
     ["lstsq (reference)", None, None, E_min, np.linalg.norm(g_ls), np.linalg.norm(w_ls - w_star),
      0.0]],
    ["method", "iterations", "examples seen", "final E", "‖∇E‖", "‖w − w*‖", "‖w − w_ls‖"],
    fmt=".3e")

# %% [markdown]
# Why ‖∇E‖ < τ is a good stopping rule here: ∇E(w) = H (w − w_ls), so
# ‖w − w_ls‖ ≤ ‖∇E‖ / λ_min < τ / λ_min.

# %%
bound = tau / eig[0]
lesson.check(stopped and iterations < max_iter,
             f"the stopping rule ‖∇E‖ < τ = {tau:g} fired after {iterations} iterations")
lesson.check(rejected >= 1, f"step halving was needed: {rejected} uphill step(s) rejected, "
                            f"η went from 2 to {eta:g}")
lesson.check(np.linalg.norm(w_gd - w_ls) <= bound,
             f"gradient descent's w matches lstsq: ‖w − w_ls‖ = "
             f"{np.linalg.norm(w_gd - w_ls):.1e} ≤ τ/λ_min = {bound:.1e}")
lesson.check(E_sgd - E_min < 0.01 * E_min,
             f"SGD's final loss is within 1% of the minimum (excess {E_sgd - E_min:.1e}, "
             f"E_min = {E_min:.3e})")

# %% [markdown]
# ## The figure: excess loss E(w) − E(w_ls), log scale

# %%
fig, (ax1, ax2, ax3) = plt.subplots(1, 3, figsize=(15, 4.2))
floor = 1e-18  # E − E_min can reach 0 in float64; keep it on the log axis
ax1.semilogy(np.arange(len(gd_curve)), np.maximum(np.array(gd_curve) - E_min, floor),
             label="gradient descent (full batch)")
ax1.semilogy(sgd_x, np.maximum(np.array(sgd_curve) - E_min, floor), alpha=0.8,
             label=f"mini-batch SGD (B = {B})")
ax1.set_xlabel("passes through the data\n(GD: iterations, SGD: epochs)")
ax1.set_ylabel("E(w) − E(w_ls)")
ax1.set_title("loss curves")
ax1.legend()
ax2.semilogy(gd_gnorm, label="‖∇E‖")
ax2.axhline(tau, color="k", ls="--", lw=1, label=f"τ = {tau:g}")
ax2.set_xlabel("gradient-descent iteration")
ax2.set_title("the stopping rule ‖∇E‖ < τ")
ax2.legend()
# η has its own panel, and only the first iterations, where the halvings happen (a shared
# log axis with ‖∇E‖ squashed them into the first pixels)
first = max(12, int(np.argmax(np.array(gd_eta) == gd_eta[-1])) + 6)
ax3.step(np.arange(first), gd_eta[:first], where="post", color="C2", marker="o")
ax3.set_yscale("log", base=2)
ax3.set_xlabel("gradient-descent iteration")
ax3.set_ylabel("step size η")
ax3.set_title(f"step halving: η = 2 → {gd_eta[-1]:g}\n({rejected} uphill steps rejected)")
fig.tight_layout()
lesson.figure(fig, "loss_curves")

lesson.done()
