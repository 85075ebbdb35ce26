# %% [markdown]
# # Lesson 06 · A linear autoencoder finds the PCA subspace
#
# (0) What an autoencoder is: encoder f, decoder g, the bottleneck, under- and overcomplete
#     codes, and the simplest autoencoder of the slides, h = [w b]·[p; 1].
# (1) The SVD of a data matrix (rows = samples), as in the course:
#
#     Ξ = V S Uᵀ,   reduced representation of the samples: (V S)ₖ = Ξ Uₖ (first k columns),
#     rank-k reconstruction Ξₖ = Vₖ Sₖ Uₖᵀ,   ‖Ξ − Ξₖ‖²_F = Σ_{i>k} sᵢ²
#
# (2) A linear autoencoder h = W₁x + b₁, r = W₂h + b₂ on 4-D points that lie on a 2-D plane
#     reconstructs them exactly and its decoder columns span that plane.
# (3) On MNIST with k = 20 code units, trained by gradient descent on the squared error, it
#     reaches PCA's test error, and the column space of W₂ is PCA's top-20 subspace — but the
#     columns are *not* the principal components: any invertible mix W₂M, M⁻¹W₁ is just as
#     good, and nothing in the loss prefers the components (Baldi & Hornik 1989).
#
# Run: `python lessons/06_linear_ae_pca.py [--quick] [--out DIR] [--seed N]`
# (full MNIST: point TINYAE_DATA at the folder holding mnist/, e.g. TINYAE_DATA=../shared/data)

# %%
import time

import matplotlib.pyplot as plt
import numpy as np

import tinyae
from tinyae import optim, viz
from tinyae.data import DataLoader, plane_in_4d
from tinyae.lesson import Lesson
from tinyae.models import LinearAE, pca, principal_angles
from tinyae.train import fit

PCA_REFERENCE = 0.02354   # PCA test MSE per pixel, k = 20 (SVD of the 60k train set)
K = 20

lesson = Lesson(
    6, "Linear autoencoder = PCA",
    claim="A linear autoencoder trained on squared error reaches PCA's reconstruction error "
          "and its decoder spans the top-k principal subspace, but its weights are a mix of "
          "the principal components, not the components themselves.",
    reference=f"MNIST, k = {K}: PCA test MSE/pixel {PCA_REFERENCE} (SVD of the 60k train set); "
              "Baldi & Hornik 1989")

# %% [markdown]
# ## (0) What an autoencoder is
#
# An autoencoder is two maps learned together: an **encoder** f from an input x ∈ ℝᵈ to a
# **code** h = f(x) ∈ ℝᵏ, and a **decoder** g from the code back to a reconstruction
# r = g(h) = g(f(x)). Training makes r close to x, e.g. L = ‖x − g(f(x))‖². The target is the
# input itself: no labels are needed, the data supervise themselves (**self-supervised**
# learning; the course calls the target "the input as its own teacher").
#
# - **Undercomplete**, k < d: the code is a **bottleneck**. f and g cannot copy x through; to
#   reconstruct well they must keep what the data vary along most and drop the rest. For
#   linear f and g the best they can do is PCA's error with k components (part 3).
# - **Overcomplete**, k ≥ d: g∘f can be the identity, zero error, with nothing learned about
#   the data. An overcomplete code is useful only with something that stops the copy: a
#   sparsity penalty (lesson 11), noise on the input (12), a penalty on the Jacobian (13).
#
# The simplest autoencoder of the slides has one linear unit, h = w·p + b, written as one
# product by appending a 1 to the input: h = [w b]·[p; 1]. tinyae's rows: h = p wᵀ + b. The
# check below: a LinearAE(3, 1)'s code is that product; then, on 4-D data of rank-2 signal
# plus small noise, LinearAE(4, 2) (undercomplete) stops at PCA's rank-2 error while
# LinearAE(4, 4) (overcomplete) copies its input to almost no error.

# %%
basics_rng = np.random.default_rng(lesson.seed)   # its own stream: parts 1-3 draw as before
p = basics_rng.normal(size=(6, 3))                 # six inputs p ∈ ℝ³, one per row
simplest = LinearAE(3, 1, rng=lesson.seed).double()
h = simplest.encode(tinyae.tensor(lesson.asarray(p))).numpy()
w_b = np.hstack([simplest.encoder[0].weight.numpy(), simplest.encoder[0].bias.numpy()[:, None]])
p_1 = np.hstack([p, np.ones((len(p), 1))])          # [p; 1] for every input
print(f"[w b] = {np.round(w_b.ravel(), 4)}   codes h = {np.round(h.ravel(), 4)}")
lesson.check(np.abs(h - p_1 @ w_b.T).max() < 1e-12,
             "(0) the simplest autoencoder's code h = w·p + b is the product [w b]·[p; 1]")

signal = basics_rng.normal(size=(400, 2)) @ basics_rng.normal(size=(2, 4))
x_basics = signal + 0.1 * basics_rng.normal(size=(400, 4))
x_basics -= x_basics.mean(axis=0)
eigenvalues = np.linalg.eigvalsh(x_basics.T @ x_basics / len(x_basics))   # ascending
pca_rank2 = eigenvalues[:2].sum() / 4      # PCA's rank-2 MSE per element: the 2 dropped
basic_errors = {}
for k in (2, 4):
    ae = LinearAE(4, k, rng=lesson.seed).double()
    opt = optim.Adam(ae.parameters(), lr=0.01)
    x_t = tinyae.tensor(lesson.asarray(x_basics))
    for step in range(3000):
        opt.zero_grad()
        loss = ae.loss(x_t)
        loss.backward()
        opt.step()
    basic_errors[k] = float(ae.loss(x_t).item())
lesson.table([["LinearAE(4, 2), undercomplete", basic_errors[2], pca_rank2],
              ["LinearAE(4, 4), overcomplete", basic_errors[4], 0.0]],
             ["autoencoder", "MSE per element", "PCA with k components"],
             fmt=["s", ".3e", ".3e"], title="(0) a bottleneck against a copy, after 3000 Adam steps")
lesson.check(abs(basic_errors[2] - pca_rank2) < 0.01 * pca_rank2 and
             basic_errors[4] < 0.01 * basic_errors[2],
             "(0) undercomplete stops at PCA's rank-2 error (within 1%); overcomplete copies its "
             "input (under 1% of that error)")

# %% [markdown]
# ## (1) The SVD of a small data matrix
# Four samples (rows) of five features, built to have rank 3: row 4 = row 1 + row 3.

# %%
Xi = np.array([[1, 2, 0, 1, 3],
               [2, 4, 1, 2, 6],
               [0, 1, 1, 0, 1],
               [1, 3, 1, 1, 4]], dtype=np.float64)
V, s, Ut = np.linalg.svd(Xi, full_matrices=False)   # Ξ = V S Uᵀ; numpy returns Uᵀ
U = Ut.T
np.set_printoptions(precision=4, suppress=True)
print(f"Ξ =\n{Xi}\nV (4×4, left singular vectors, one row per sample) =\n{V}")
print(f"singular values s = {s}   (rank {np.linalg.matrix_rank(Xi)})")
print(f"U (5×4, right singular vectors = directions in feature space) =\n{U}")
rows = []
for k in (1, 2, 3):
    reduced = V[:, :k] * s[:k]                        # (V S)ₖ: k numbers per sample
    rank_k = reduced @ U[:, :k].T                     # Ξₖ = (V S)ₖ Uₖᵀ
    error = np.sum((Xi - rank_k) ** 2)
    rows.append([k, error, np.sum(s[k:] ** 2), np.abs(reduced - Xi @ U[:, :k]).max()])
    if k == 2:
        print(f"reduced representation (V S)₂, one row per sample =\n{reduced}")
lesson.table(rows, ["k", "‖Ξ − Ξₖ‖²_F", "Σ_{i>k} sᵢ²", "max |(VS)ₖ − Ξ Uₖ|"],
             fmt=["d", ".10f", ".10f", ".1e"], title="(1) rank-k reconstruction error")
lesson.check(all(np.isclose(e, d, rtol=1e-10, atol=1e-12) for _, e, d, _ in rows),
             "(1) the rank-k error equals the sum of the discarded squared singular values")
lesson.check(max(r[3] for r in rows) < 1e-12 and rows[-1][1] < 1e-20,
             "(1) (V S)ₖ = Ξ Uₖ (projection onto the top-k directions), and rank 3 is exact")

# %% [markdown]
# ## (2) 4-D points on a 2-D plane
# A LinearAE(4, 2) trained full-batch with Adam on the mean squared error. The principal
# angles between the decoder's column space and the true plane measure how well it found it
# (0° for every angle: the same plane).

# %%
x_plane, basis = plane_in_4d(500, seed=lesson.seed)
x_plane = lesson.asarray(x_plane)   # the training data, moved to the lesson's device once
plane_ae = LinearAE(4, 2, rng=lesson.seed)
opt = optim.Adam(plane_ae.parameters(), lr=0.01)
for step in range(1000 if lesson.quick else 1500):
    opt.zero_grad()
    loss = plane_ae.loss(x_plane)
    loss.backward()
    opt.step()
angles = principal_angles(plane_ae.decoder_basis(), basis)
lesson.table([["reconstruction MSE", loss.item()], ["principal angle 1 (°)", angles[0]],
              ["principal angle 2 (°)", angles[1]]], ["(2) plane in 4-D", "value"], fmt=".2e")
lesson.check(loss.item() < 1e-8 and angles.max() < 0.01,
             f"(2) the linear AE reconstructs the plane (MSE {loss.item():.1e}) and spans it "
             f"(largest angle {angles.max():.1e}° < 0.01°)")

# %% [markdown]
# ## (2b) Bourlard & Kamp: nonlinear hidden units, the same subspace
# Bourlard & Kamp (1988): an autoencoder with a *linear output layer* is best at the PCA
# subspace even when its hidden units are nonlinear. Its reconstruction r = W₂ φ(W₁x + b₁) + b₂
# lies in span(W₂) + b₂ whatever φ does, and the best k-dimensional affine subspace is PCA's;
# a nonlinear φ can only match the linear AE, not beat it. Here: 4-D Gaussian data with
# variances 9, 4, 1, 0.25 (PCA's top-2 subspace is the first two axes), an AE 4 → 2 tanh → 4
# with a linear output, trained full-batch with Adam: span(W₂) is measured against PCA's.

# %%
bk = np.random.default_rng(lesson.seed + 6)       # its own draws
x_bk = bk.normal(size=(2000, 4)) * np.array([3.0, 2.0, 1.0, 0.5])
x_bk = lesson.asarray(x_bk.astype(np.float32))
tanh_ae = tinyae.nn.Sequential(tinyae.nn.Linear(4, 2, rng=lesson.seed), tinyae.nn.Tanh(),
                               tinyae.nn.Linear(2, 4, rng=lesson.seed + 1))
opt = optim.Adam(tanh_ae.parameters(), lr=0.01)
for step in range(600 if lesson.quick else 2000):
    opt.zero_grad()
    bk_loss = tinyae.losses.mse(tanh_ae(x_bk), x_bk)
    bk_loss.backward()
    opt.step()
pca_bk = pca(tinyae.backend.to_numpy(x_bk), 2)
bk_angles = principal_angles(tanh_ae[2].weight.data, pca_bk.components.T)
bk_pca_mse = pca_bk.mse(tinyae.backend.to_numpy(x_bk))
lesson.table([["reconstruction MSE, tanh AE", bk_loss.item()],
              ["reconstruction MSE, PCA-2 (the best affine plane)", bk_pca_mse],
              ["largest angle of span(W₂) to PCA's plane (°)", bk_angles.max()]],
             ["(2b) 4 → 2 tanh → 4, linear output", "value"], fmt=".4g")
lesson.check(bk_angles.max() < 2 and bk_loss.item() > bk_pca_mse * (1 - 1e-3),
             f"(2b) with tanh hidden units and a linear output the decoder still spans PCA's "
             f"plane (largest angle {bk_angles.max():.2f}° < 2°) and does not beat PCA's error "
             f"({bk_loss.item():.4f} vs {bk_pca_mse:.4f})")

# %% [markdown]
# ## (3) MNIST, k = 20: PCA
# PCA by the eigenvectors of the centred scatter matrix, computed in float64 from the
# training set, evaluated on the test set.

# %%
x_train, _ = lesson.mnist("train")
x_test, _ = lesson.mnist("test")
full = len(x_train) == 60_000 and len(x_test) == 10_000
strict = full and not lesson.quick   # the real claim needs the full data set
began = time.perf_counter()
P = pca(x_train, K)
pca_mse = P.mse(x_test)
print(f"PCA of {len(x_train):,} images: {time.perf_counter() - began:.1f} s")
lesson.table([[f"PCA, k = {K}, test MSE per pixel", pca_mse, PCA_REFERENCE,
               abs(pca_mse - PCA_REFERENCE) if full else None]],
             ["", "ours", "reference" if full else "reference (60k/10k)*", "|difference|"],
             fmt=".5f")
if full:
    lesson.check(abs(pca_mse - PCA_REFERENCE) < 1e-4,
                 f"(3) our PCA reproduces the reference test MSE ({pca_mse:.6f} vs "
                 f"{PCA_REFERENCE}, within 1e-4)")
else:
    print(f"* the reference is for the full 60k/10k split; this run used {len(x_train):,}/"
          f"{len(x_test):,} images, so the two are NOT comparable (and nothing is asserted)")

# %% [markdown]
# ## (3) MNIST, k = 20: the linear autoencoder
# We centre the images with the *training* mean first. That changes nothing about the optimum
# (the biases b₁, b₂ could learn the mean), but the mean is by far the largest direction in
# raw pixel space, and removing it makes the problem much better conditioned: gradient
# descent then converges in a few epochs instead of crawling. No PCA information is used:
# the weights start random.
#
# Adam, batch 256, lr 3·10⁻³ for 7 epochs, then decaying geometrically to 3·10⁻⁵ at epoch 20.
# The small learning rate at the end matters: the 20th and 21st eigenvalues of the covariance
# differ by only 7.5%, so the loss barely changes when the subspace tilts between them, and
# mini-batch noise keeps it tilted unless the steps get small.

# %%
class HoldThenDecay(optim.LRScheduler):
    """η_t = η₀ while t ≤ hold, then η₀ (η_end/η₀)^((t − hold)/(T − 1 − hold)), reaching η_end
    in the last epoch (t = epochs done, T = total epochs)."""

    def __init__(self, optimizer, hold, total, end_lr):
        self.hold, self.total, self.end_lr = hold, total, end_lr
        super().__init__(optimizer)

    def lr_at(self, t, base_lr):
        progress = min(max(t - self.hold, 0) / max(self.total - 1 - self.hold, 1), 1.0)
        return base_lr * (self.end_lr / base_lr) ** progress


epochs, batch = (20, 256) if strict else (40, 50)   # small data: more, smaller steps
mean = x_train.mean(axis=0)
train_c, test_c = x_train - mean, x_test - mean
ae = LinearAE(784, K, rng=lesson.seed)
opt = optim.Adam(ae.parameters(), lr=3e-3)
schedule = HoldThenDecay(opt, hold=epochs * 3 // 10, total=epochs, end_lr=3e-5)
began = time.perf_counter()
history = fit(ae, opt,
              DataLoader(lesson.asarray(train_c), batch_size=batch, shuffle=True,
                         seed=lesson.seed),
              epochs, val_loader=DataLoader(lesson.asarray(test_c), batch_size=2000),
              scheduler=schedule, seed=lesson.seed, progress=not lesson.quick,
              verbose=not lesson.quick)
train_seconds = time.perf_counter() - began
ae_mse = history["val_loss"][-1]          # the model's loss is the MSE per pixel
print(f"trained {epochs} epochs on {len(x_train):,} images in {train_seconds:.1f} s")

# %% [markdown]
# ## Same error, same subspace, different weights
# W₂ (784 × 20) is the decoder; its columns are the images the code units add to the mean.
# The principal angles between span(W₂) and the PCA subspace span(u₁ … u₂₀) say whether
# they are the same subspace. The cosine matrix C_ij = cos(w_i, u_j) says whether the
# columns are the components: each row of C has Σⱼ C_ij² = 1 exactly when w_i lies in the
# PCA subspace, and the rows would be ± unit vectors if w_i were a component.

# %%
W2 = ae.decoder_basis().astype(np.float64)            # (784, 20)
components = P.components.T                            # (784, 20), orthonormal columns
angles = principal_angles(W2, components)
top5 = principal_angles(W2, components[:, :5]).max()   # is u₁ … u₅ inside span(W₂)?
cosines = (W2 / np.linalg.norm(W2, axis=0)).T @ components   # (20, 20)
in_subspace = (cosines ** 2).sum(axis=1)               # ‖projection of ŵ_i‖²
best_match = np.abs(cosines).max(axis=1)
relative = ae_mse / pca_mse - 1
lesson.table([[f"test MSE per pixel, k = {K}", ae_mse, pca_mse, PCA_REFERENCE],
              ["relative excess over PCA", relative, 0.0, None],
              ["largest principal angle (°)", angles.max(), 0.0, None],
              ["median principal angle (°)", float(np.median(angles)), 0.0, None],
              ["largest angle of u₁ … u₅ to span(W₂) (°)", top5, 0.0, None],
              ["min over columns of Σⱼ cos²(wᵢ, uⱼ)", in_subspace.min(), 1.0, None],
              ["mean over columns of maxⱼ |cos(wᵢ, uⱼ)|", best_match.mean(), 1.0, None],
              ["columns with some |cos| > 0.95", int((best_match > 0.95).sum()), K, None]],
             ["(3) MNIST", "linear AE", "PCA", "reference" if full else "reference (60k/10k)*"],
             fmt=".5g")

if lesson.scale != "full":
    print("(quick mode or embedded data: asserting the loose version of the claim)")
    lesson.check(relative < 0.15 and top5 < 15,
                 f"(3, loose) the linear AE is within 15% of PCA's test MSE ({relative:+.2%}) "
                 f"and span(W₂) holds the top 5 components (largest angle {top5:.1f}° < 15°)")
lesson.check(abs(relative) < 0.01,
             f"(3) the linear AE's test MSE is within 1% of PCA's: {ae_mse:.6f} vs "
             f"{pca_mse:.6f} ({relative:+.4%})", needs="full")
lesson.check(angles.max() < 5,
             f"(3) span(W₂) is the PCA subspace: all {K} principal angles < 5° "
             f"(largest {angles.max():.2f}°)", needs="full")
lesson.check(in_subspace.min() > 0.99,
             f"(3) every decoder column lies in the PCA subspace: Σⱼ cos² ≥ "
             f"{in_subspace.min():.3f}", needs="full")
# "Mixes of the components" means: in their span (the check above) and yet not one of them
lesson.check(in_subspace.min() > 0.99 and (best_match > 0.95).sum() <= K // 4,
             f"(3) but the columns are mixes, not the components: each lies in the PCA "
             f"subspace (Σⱼ cos² ≥ {in_subspace.min():.3f}), yet only "
             f"{(best_match > 0.95).sum()} of {K} are within 18° of any component "
             f"(mean best |cos| {best_match.mean():.2f})", needs="full")

# %% [markdown]
# ## Figures
# The PCA components, the decoder columns, and the decoder columns un-mixed: the least-squares
# M with W₂M ≈ U₂₀ turns the AE's basis back into the components, which shows the
# information is all there, only mixed.

# %%
M = np.linalg.lstsq(W2, components, rcond=None)[0]
unmixed = W2 @ M
residual = np.linalg.norm(unmixed - components) / np.linalg.norm(components)
print(f"un-mixing: ‖W₂M − U₂₀‖_F / ‖U₂₀‖_F = {residual:.4f}")

PER_ROW = 10  # tiles per row: 20 components in two blocks of three rows, big enough to project
blocks = -(-K // PER_ROW)
fig, axes = plt.subplots(3 * blocks, PER_ROW, figsize=(PER_ROW * 1.3 + 2.2, 3 * blocks * 1.4 + 1.0),
                         squeeze=False)
for row, (label, basis_cols) in enumerate([("PCA uⱼ", components), ("AE W₂ col", W2),
                                           ("W₂M", unmixed)]):
    for j in range(blocks * PER_ROW):
        ax = axes[3 * (j // PER_ROW) + row, j % PER_ROW]
        ax.set(xticks=[], yticks=[])
        if j >= K:
            ax.axis("off")
            continue
        tile = basis_cols[:, j].reshape(28, 28)
        ax.imshow(tile / np.abs(tile).max(), cmap="RdBu_r", vmin=-1, vmax=1)
        if j % PER_ROW == 0:
            ax.set_ylabel(label, rotation=0, ha="right", va="center", fontsize=14)
        if row == 0:
            ax.set_title(f"j = {j + 1}", fontsize=13)
fig.suptitle("PCA components uⱼ (1st row of each block), linear AE decoder columns (2nd) and\n"
             "the AE columns un-mixed by least squares (3rd); red +, blue −", fontsize=16)
lesson.figure(fig, "components_vs_decoder")

fig, ax = plt.subplots(figsize=(5.2, 4.4))
im = ax.imshow(np.abs(cosines), cmap="viridis", vmin=0, vmax=1)
ax.set(xlabel="PCA component uⱼ", ylabel="decoder column wᵢ",
       title="|cos(wᵢ, uⱼ)|: not a permutation matrix",
       xticks=range(0, K, 2), xticklabels=range(1, K + 1, 2),
       yticks=range(0, K, 2), yticklabels=range(1, K + 1, 2))
fig.colorbar(im, ax=ax, shrink=0.85)
fig.tight_layout()
lesson.figure(fig, "cosine_matrix")

with tinyae.no_grad():
    ae_recon = ae(lesson.asarray(test_c[:12])).numpy() + mean
pca_recon = P.reconstruct(x_test[:12])
grid = viz.image_grid([x_test[:12], np.clip(pca_recon, 0, 1), np.clip(ae_recon, 0, 1)],
                      row_titles=["test image", f"PCA k={K}", f"linear AE k={K}"],
                      title="reconstructions (clipped to [0, 1] for display)")
lesson.figure(grid, "reconstructions")

# (the train loss of fit() is a running mean over each epoch, so only the test MSE is drawn)
curves = viz.loss_curves({"linear AE test MSE": history["val_loss"]}, logy=True,
                         title=f"linear AE, k = {K}, against PCA")
curves.axes[0].axhline(pca_mse, color="k", ls="--", lw=1, label=f"PCA test MSE {pca_mse:.5f}")
curves.axes[0].legend()
lesson.figure(curves, "loss_curves")

lesson.done()
