# %% [markdown]
# # Lesson 02 · Over-fitting and its remedies: L2 regularisation and early stopping
#
# A model with enough capacity can fit the noise of a small training set: the training error
# keeps falling while the error on new data rises. Two parts:
#
# 1. Polynomial regression (the textbook picture, Bishop 2006 §1.1): N = 12 noisy samples of
#    sin(2πx), features φ(x) = (1, x, …, x^M). The least-squares fit w = argmin ‖Φw − t‖²
#    reaches zero training error at M = N − 1 while the validation error explodes. Adding the
#    L2 penalty λ‖w‖² (ridge: w = (ΦᵀΦ + λI)⁻¹Φᵀt) tames the degree-11 fit.
# 2. A small MLP (1-64-64-1, tanh) trained with tinyae's fit loop on 16 noisy points: the
#    validation curve turns up while the training curve keeps falling. The fit loop's two
#    remedies, weight decay (L2, `optim.Adam(..., weight_decay=λ)`) and early stopping
#    (`fit(..., early_stopping=patience)`, which restores the best epoch's weights), both give
#    a lower test error than training to the end without them.
#
# An aside, *benign over-fitting*: very wide networks (and minimum-norm interpolators) can fit
# noisy training data exactly and still predict well (Bartlett et al. 2020; "double descent",
# Belkin et al. 2019). The classical U-curve below is what small models on small data show.
#
# Run: `python lessons/02_overfitting.py [--quick] [--out DIR] [--seed N]`

# %%
import matplotlib.pyplot as plt
import numpy as np

from tinyae import losses, nn, no_grad, optim, tensor
from tinyae.data import DataLoader
from tinyae.lesson import Lesson
from tinyae.train import fit

lesson = Lesson(
    2, "Over-fitting and its remedies",
    claim="Training error falls with capacity while validation error rises (over-fitting); "
          "L2 regularisation and early stopping each lower the test error of an over-fitting "
          "model.",
    reference="Bishop 2006, Pattern Recognition and Machine Learning, §1.1 and §5.5")


def truth(x):
    return np.sin(2 * np.pi * x)


# %% [markdown]
# ## 1 · Polynomials of growing degree M on N = 12 points

# %%
N, noise = 12, 0.25
x_tr = np.sort(lesson.rng.uniform(0, 1, N))
t_tr = truth(x_tr) + noise * lesson.rng.normal(size=N)
x_va = lesson.rng.uniform(0, 1, 500)
t_va = truth(x_va) + noise * lesson.rng.normal(size=500)


def features(x, M):
    return np.vander(x, M + 1, increasing=True)


def ridge(M, lam):
    """w = (ΦᵀΦ + λI)⁻¹ Φᵀ t (λ = 0: least squares, solved stably by lstsq)."""
    Phi = features(x_tr, M)
    if lam == 0:
        return np.linalg.lstsq(Phi, t_tr, rcond=None)[0]
    return np.linalg.solve(Phi.T @ Phi + lam * np.eye(M + 1), Phi.T @ t_tr)


def rms(w, x, t):
    return float(np.sqrt(np.mean((features(x, len(w) - 1) @ w - t) ** 2)))


degrees = list(range(N))
poly = [(M, rms(ridge(M, 0), x_tr, t_tr), rms(ridge(M, 0), x_va, t_va)) for M in degrees]
lesson.table([list(r) for r in poly], ["degree M", "train RMS", "validation RMS"], fmt=".3g")
best_M = min(poly, key=lambda r: r[2])[0]
train_rms = [r[1] for r in poly]
lesson.check(all(a >= b - 1e-9 for a, b in zip(train_rms, train_rms[1:]))
             and train_rms[-1] < 1e-6 and poly[-1][2] > 10 * poly[best_M][2],
             f"training error falls with every degree to {train_rms[-1]:.0e} at M = {N - 1}, "
             f"while validation error is lowest at M = {best_M} ({poly[best_M][2]:.3f}) and "
             f"{poly[-1][2] / poly[best_M][2]:,.0f}× higher at M = {N - 1}")

M_big = N - 1
lams = [0.0] + [10.0 ** k for k in range(-12, 1)]
ridge_rows = [(lam, rms(ridge(M_big, lam), x_tr, t_tr), rms(ridge(M_big, lam), x_va, t_va))
              for lam in lams]
lesson.table([["0" if lam == 0 else f"1e{int(np.log10(lam))}", a, b] for lam, a, b in ridge_rows],
             ["λ", f"train RMS (M = {M_big})", "validation RMS"], fmt=".3g")
best_lam, _, best_ridge_va = min(ridge_rows[1:], key=lambda r: r[2])
lesson.check(best_ridge_va < poly[-1][2] / 10 and best_ridge_va < 1.5 * poly[best_M][2],
             f"L2 regularisation (λ = {best_lam:g}) brings the degree-{M_big} polynomial's "
             f"validation RMS from {poly[-1][2]:.3g} down to {best_ridge_va:.3f}, near the best "
             f"degree's {poly[best_M][2]:.3f}")

x_plot = np.linspace(0, 1, 400)
fig, axes = plt.subplots(1, 3, figsize=(15, 4.8))
for ax, (M, lam, title) in zip(axes, [(3, 0, "M = 3"), (M_big, 0, f"M = {M_big}"),
                                      (M_big, best_lam, f"M = {M_big}, λ = {best_lam:g}")]):
    ax.plot(x_plot, truth(x_plot), color="green", lw=3, label="sin(2πx)")
    ax.plot(x_plot, features(x_plot, M) @ ridge(M, lam), color="red", lw=3, label="fit")
    ax.plot(x_tr, t_tr, "o", ms=10, mfc="none", mec="blue", mew=2.5, label="training points")
    ax.set_ylim(-1.8, 1.8)
    ax.set_title(title, fontsize=17)
    ax.tick_params(labelsize=12)
axes[0].legend(fontsize=12, loc="lower left")
fig.tight_layout()
lesson.figure(fig, "polynomials")

fig, ax = plt.subplots(figsize=(7, 4.8))
ax.semilogy(degrees, [r[1] + 1e-16 for r in poly], "o-", lw=3, ms=8, label="training")
ax.semilogy(degrees, [r[2] for r in poly], "s-", lw=3, ms=8, label="validation")
ax.set_xlabel("polynomial degree M", fontsize=14)
ax.set_ylabel("RMS error", fontsize=14)
ax.set_title(f"N = {N} points: capacity vs error", fontsize=16)
ax.tick_params(labelsize=12)
ax.legend(fontsize=13)
fig.tight_layout()
lesson.figure(fig, "degree_vs_error")

# %% [markdown]
# ## 2 · An MLP that over-fits, and the fit loop's two remedies
# 16 training points, 200 validation points (the data early stopping watches), 1,000 test
# points (used once, at the end). Full-batch Adam, the same seed and epochs for all three runs.

# %%
n_tr = 16
x2_tr = lesson.rng.uniform(-1, 1, (n_tr, 1))
x2_va = lesson.rng.uniform(-1, 1, (200, 1))
x2_te = np.linspace(-1, 1, 1000)[:, None]


def noisy(x):
    return np.sin(3 * x) + 0.3 * lesson.rng.normal(size=x.shape)


t2_tr, t2_va, t2_te = noisy(x2_tr), noisy(x2_va), np.sin(3 * x2_te)
# The MLP's copies, on the lesson's device (moved once; the NumPy ones above are for plotting)
d_tr, d_va, d_te = ((lesson.asarray(x), lesson.asarray(t))
                    for x, t in ((x2_tr, t2_tr), (x2_va, t2_va), (x2_te, t2_te)))
epochs = 400 if lesson.quick else 1500
weight_decay = 3e-2
patience = 100 if lesson.quick else 200


def run(weight_decay=0.0, early_stopping=None):
    model = nn.Sequential(nn.Linear(1, 64, rng=1), nn.Tanh(), nn.Linear(64, 64, rng=2), nn.Tanh(),
                          nn.Linear(64, 1, rng=3))
    model.double()
    opt = optim.Adam(model.parameters(), lr=3e-3, weight_decay=weight_decay)
    history = fit(model=model, loss_fn=losses.mse, optimizer=opt,
                  train_loader=DataLoader(*d_tr, batch_size=n_tr),
                  val_loader=DataLoader(*d_va, batch_size=200), epochs=epochs,
                  target="label", early_stopping=early_stopping, seed=lesson.seed,
                  progress=False, verbose=False)
    with no_grad():
        test = float(losses.mse(model(tensor(d_te[0])), tensor(d_te[1])).item())
    return model, history, test


runs = {"no remedy": run(), f"L2, λ = {weight_decay:g}": run(weight_decay=weight_decay),
        f"early stopping (patience {patience})": run(early_stopping=patience)}
rows = []
for name, (_, h, test) in runs.items():
    best = int(np.argmin(h["val_loss"]))
    rows.append([name, h.epochs, h["train_loss"][-1], h["val_loss"][best], best + 1,
                 h["val_loss"][-1], test])
lesson.table(rows, ["run", "epochs run", "final train MSE", "best val MSE", "at epoch",
                    "val MSE, last epoch run", "test MSE (noise-free)"], fmt=".3g")

plain, l2, early = (runs[k] for k in runs)
h0 = plain[1]
best0 = int(np.argmin(h0["val_loss"]))
lesson.check(h0["val_loss"][-1] > 1.3 * h0["val_loss"][best0]
             and h0["train_loss"][-1] < h0["train_loss"][best0],
             f"without a remedy the MLP over-fits: after epoch {best0 + 1} the training MSE keeps "
             f"falling ({h0['train_loss'][best0]:.3g} → {h0['train_loss'][-1]:.3g}) while the "
             f"validation MSE rises ({h0['val_loss'][best0]:.3g} → {h0['val_loss'][-1]:.3g})")
lesson.check(l2[2] < plain[2] and early[2] < plain[2],
             f"both remedies lower the test MSE: L2 {l2[2]:.3g}, early stopping {early[2]:.3g} "
             f"vs {plain[2]:.3g} without")

fig, axes = plt.subplots(1, 2, figsize=(15, 5))
ax = axes[0]
for name, color in zip(list(runs)[:2], ("C3", "C0")):
    h = runs[name][1]
    ax.semilogy(h["epoch"], h["train_loss"], color=color, lw=2, ls="--")
    ax.semilogy(h["epoch"], h["val_loss"], color=color, lw=3, label=name)
# Early stopping trains the very same run as "no remedy" until it stops, so its curve would
# hide that one's: it is drawn as where it stopped and which epoch it kept.
h_early = early[1]
kept = int(np.argmin(h_early["val_loss"]))
ax.axvline(h_early.epochs, color="C2", ls=":", lw=2.5)
ax.semilogy([kept + 1], [h_early["val_loss"][kept]], "*", color="C2", ms=20, mec="black",
            label=f"early stopping: keeps epoch {kept + 1}, stops at {h_early.epochs}")
ax.set_xlabel("epoch", fontsize=14)
ax.set_ylabel("MSE (solid: validation, dashed: training)", fontsize=13)
ax.set_title("training vs validation curves", fontsize=16)
ax.legend(fontsize=12)
ax.tick_params(labelsize=12)
ax = axes[1]
ax.plot(x2_te, t2_te, color="black", lw=3, label="sin(3x)")
for (name, (model, _, _)), color in zip(runs.items(), ("C3", "C0", "C2")):
    with no_grad():
        ax.plot(x2_te, model(tensor(d_te[0])).numpy(), color=color, lw=2.5, label=name)
ax.plot(x2_tr, t2_tr, "o", ms=10, mfc="none", mec="black", mew=2, label="training points")
ax.set_title("the fitted functions", fontsize=16)
ax.tick_params(labelsize=12)
ax.legend(fontsize=12, loc="upper left")
fig.tight_layout()
lesson.figure(fig, "mlp_remedies")

lesson.done()
