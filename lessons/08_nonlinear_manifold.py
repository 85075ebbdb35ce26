# %% [markdown]
# # Lesson 08 · A curved manifold: linear AE (= PCA) vs a deep AE with a 2-unit code
#
# The data lie on a curved 2-D surface in 3-D, the saddle x₃ = x₁² − x₂² over the square
# [−1, 1]², plus a little noise. Two autoencoders, both with a code of 2 numbers:
#
#     linear:  h = W₁x + b₁ (2),          r = W₂h + b₂ (3)          the best plane = PCA
#     deep:    h = F₁(x) = W₂ tanh(W₁x + b₁) + b₂            3 → 64 → 2
#              r = F₂(h) = W₄ tanh(W₃h + b₃) + b₄            2 → 64 → 3
#     (the deep AE's weights are numbered layer by layer, so its W₂ is the encoder's second
#     layer; in the linear AE, as in lessons 06 and 09, W₂ is the decoder)
#
# A linear AE trained on squared error ends up spanning the top-2 principal subspace, so it
# can only flatten the saddle onto a plane and lose its height x₃ − (its plane). The deep AE's
# nonlinear maps F₁ (unroll the surface to 2 coordinates) and F₂ (roll them back up) can follow
# the curvature: its error drops to the noise level.
#
# Run: `python lessons/08_nonlinear_manifold.py [--quick] [--out DIR] [--seed N]`

# %%
import matplotlib.pyplot as plt
import numpy as np

from tinyae import losses, no_grad, optim
from tinyae.data import DataLoader, curved_surface
from tinyae.lesson import Lesson
from tinyae.models import LinearAE, MLPAutoencoder, pca, principal_angles
from tinyae.train import fit
from tinyae import viz

lesson = Lesson(
    8, "Nonlinear manifold",
    claim="On data from a curved 2-D surface in 3-D, a linear autoencoder with 2 units can do "
          "no better than PCA (it finds the same plane), while a deep autoencoder with a 2-unit "
          "bottleneck (3-64-2-64-3, tanh) follows the curvature: its reconstruction error is "
          "far below PCA's (less than 1/5 of it).",
    reference="Baldi & Hornik 1989 (linear AE = PCA); the course's F₁/F₂ nonlinear mappings")

# %% [markdown]
# ## The data: a saddle x₃ = x₁² − x₂², with noise σ = 0.02
# Train and test sets are drawn independently. The true coordinates (u, v) = (x₁, x₂) before
# noise are kept for colouring the figures only; no model sees them.

# %%
n_train = 800 if lesson.quick else 4000
noise = 0.02
x_train, uv_train = curved_surface(n_train, noise=noise, seed=lesson.seed)
x_test, uv_test = curved_surface(1000, noise=noise, seed=lesson.seed + 1000)
variance = x_train.var(axis=0)
print(f"{n_train} training points, 1000 test points in 3-D; per-coordinate variance "
      f"{np.round(variance, 3)} (x₃ is the curvature a plane cannot hold)")


def mse(model_reconstruct, x):
    """Mean squared error per coordinate, (1/3N) Σₙ ‖r(xₙ) − xₙ‖²."""
    return float(((model_reconstruct(x) - x) ** 2).mean())


def reconstruct(model):
    def r(x):
        with no_grad():
            return model(lesson.asarray(x)).numpy()
    return r


def train(model, epochs, lr, batch_size):
    """Adam on the mean squared error, learning rate decayed by cosine to lr/100."""
    opt = optim.Adam(model.parameters(), lr=lr)
    sched = optim.CosineAnnealingLR(opt, T_max=epochs, eta_min=lr / 100)
    loader = DataLoader(lesson.asarray(x_train), batch_size=batch_size, shuffle=True,
                        seed=lesson.seed)
    return fit(model, opt, loader, epochs, loss_fn=losses.mse, scheduler=sched, seed=lesson.seed,
               verbose=False)


# %% [markdown]
# ## PCA with 2 components, and a linear AE with 2 units
# PCA's reconstruction r = μ + VₖᵀVₖ(x − μ) is the best a plane can do. The linear AE is
# trained by gradient descent and should reach the same error, with its decoder W₂ spanning
# the same plane (principal angles ≈ 0°).

# %%
p = pca(x_train, 2)
pca_train, pca_test = mse(p.reconstruct, x_train), mse(p.reconstruct, x_test)
linear = LinearAE(3, 2, rng=lesson.seed)
lin_epochs = 30 if lesson.quick else 60
lin_history = train(linear, lin_epochs, lr=3e-2, batch_size=64)
lin_test = mse(reconstruct(linear), x_test)
angles = principal_angles(linear.decoder_basis(), p.components.T)
print(f"linear AE: {lin_epochs} epochs; principal angles to the PCA plane: "
      f"{np.round(angles, 2)} degrees")

# %% [markdown]
# ## The deep AE: 3 → 64 → 2 → 64 → 3 (tanh hidden layers, linear code and output)

# %%
deep = MLPAutoencoder([3, 64, 2], activation="tanh", latent_activation=None,
                      output_activation=None, rng=lesson.seed)
deep_epochs = 60 if lesson.quick else 300
deep_history = train(deep, deep_epochs, lr=1e-2, batch_size=64)
deep_train, deep_test = mse(reconstruct(deep), x_train), mse(reconstruct(deep), x_test)
print(f"deep AE: {deep_epochs} epochs of {-(-n_train // 64)} mini-batches of 64")

# %% [markdown]
# ## Results
# The noise floor: noise along the surface's normal cannot be reconstructed by any surface;
# it is about σ²/3 per coordinate (one of the three noise directions).

# %%
floor = noise ** 2 / 3
lesson.table(
    [["PCA, 2 components (closed form)", pca_train, pca_test],
     ["linear AE, 2 units (trained)", mse(reconstruct(linear), x_train), lin_test],
     ["deep AE 3-64-2-64-3 (trained)", deep_train, deep_test],
     ["noise floor σ²/3", floor, floor]],
    ["model", "train MSE", "test MSE"], fmt=".3e",
    title="reconstruction error, mean squared error per coordinate")
ratio = deep_test / pca_test
print(f"deep AE / PCA test error: {ratio:.4f} (1/{1 / ratio:.0f})")

tol, max_angle = (0.05, 2.0) if lesson.quick else (0.01, 1.0)
lesson.check(abs(lin_test - pca_test) < tol * pca_test and angles.max() < max_angle,
             f"the linear AE is PCA: test MSE {lin_test:.4e} vs {pca_test:.4e} (within "
             f"{tol:.0%}), its plane {angles.max():.2f}° from PCA's (< {max_angle:g}°)")
limit = 0.5 if lesson.quick else 0.2
lesson.check(ratio < limit,
             f"the deep AE's test error is below {limit:g} × PCA's: {deep_test:.3e} vs "
             f"{pca_test:.3e} (ratio {ratio:.4f})")

# %% [markdown]
# ## Figures: the learned surface and the PCA plane
# Decode an m × m grid of codes spanning the training codes' range: F₂ maps the 2-D code
# square onto a surface in 3-D. For PCA the same grid decodes to a flat rectangle. Points are
# coloured by the true height x₃ = u² − v².

# %%
def decoded_grid(encode, decode, m=25):
    """decode(h) over an m × m grid spanning the training codes: an (m, m, 3) array."""
    codes = encode(x_train)
    lo, hi = codes.min(axis=0), codes.max(axis=0)
    g1, g2 = np.meshgrid(np.linspace(lo[0], hi[0], m), np.linspace(lo[1], hi[1], m))
    grid = np.stack([g1.ravel(), g2.ravel()], axis=1).astype(np.float32)
    return decode(grid).reshape(m, m, 3)


def deep_encode(x):
    with no_grad():
        return deep.encode(lesson.asarray(x)).numpy()


def deep_decode(h):
    with no_grad():
        return deep.decode(lesson.asarray(h)).numpy()


height = uv_test[:, 0] ** 2 - uv_test[:, 1] ** 2
surface = decoded_grid(deep_encode, deep_decode)
lesson.figure(viz.manifold_3d(x_test, surface=surface, colors=height, color_label="x₃ = u² − v²",
                              surface_label="deep AE's decoded surface",
                              title=f"deep AE 3-64-2-64-3: decoded code grid "
                                    f"(test MSE {deep_test:.1e})"), "deep_surface")
plane = decoded_grid(p.encode, p.decode)
lesson.figure(viz.manifold_3d(x_test, surface=plane, colors=height, color_label="x₃ = u² − v²",
                              surface_label="PCA plane (2 components)",
                              title=f"PCA, 2 components: the best plane (test MSE {pca_test:.1e})"),
              "pca_plane")
fig = viz.loss_curves({"linear AE": {"train": lin_history["train_loss"]},
                       "deep AE": {"train": deep_history["train_loss"]}},
                      logy=True, title="training MSE per coordinate")
ax = fig.axes[0]
ax.axhline(pca_train, color="k", ls="--", lw=1.5, label=f"PCA, 2 components ({pca_train:.2e})")
ax.axhline(floor, color="0.5", ls=":", lw=2, label=f"noise floor σ²/3 ({floor:.1e})")
ax.legend(loc="center left", bbox_to_anchor=(1.01, 0.5), frameon=False)
fig.set_size_inches(10, 4.8)
lesson.figure(fig, "loss_curves")

# %% [markdown]
# ## The code plane: F₁'s image of the surface
# The deep AE's 2-D codes h = F₁(x) of the test points, coloured by the surface's true
# coordinates u (left) and v (right). A smooth colour gradient in both panels means that the
# encoder has unrolled the saddle into a plane without tearing or folding it: nearby points on
# the surface get nearby codes.

# %%
codes = deep_encode(x_test)
fig, axes = plt.subplots(1, 2, figsize=(12, 5.2), layout="constrained")
for ax, k, name in zip(axes, (0, 1), ("u", "v")):
    dots = ax.scatter(codes[:, 0], codes[:, 1], c=uv_test[:, k], cmap="viridis", s=14)
    fig.colorbar(dots, ax=ax).set_label(f"true coordinate {name}", fontsize=13)
    ax.set_title(f"codes h = F₁(x), coloured by {name}", fontsize=14)
    ax.set_xlabel("h₁", fontsize=13)
    ax.set_ylabel("h₂", fontsize=13)
    ax.tick_params(labelsize=12)
    ax.grid(alpha=0.3)
lesson.figure(fig, "code_plane")

lesson.done()
