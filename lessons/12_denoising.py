# %% [markdown]
# # Lesson 12 · Denoising autoencoders
#
# A denoising autoencoder (DAE) sees a corrupted input x̃ ~ q(x̃ | x) and is trained to give
# back the *clean* x:
#
#     L = ℓ( g(f(x̃)), x ),        x̃ = corrupt(x)        (Vincent et al. 2008, 2010)
#
# It cannot learn the identity (the identity would return the noise), so it has to learn where
# the data lie: r(x̃) = g(f(x̃)) moves a corrupted point back towards the data. Two parts:
#
# 1. MNIST with masking noise (a fraction ν of the pixels set to 0) and with Gaussian noise
#    (σ, clipped to [0, 1]). We measure the peak signal-to-noise ratio
#    PSNR = 10 log₁₀(1 / MSE) for pixels in [0, 1], of the noisy and of the denoised test
#    images, and compare with a plain AE of the same shape trained on clean data.
# 2. The 2-D toy of the course: points near a curve. The learned r(x) − x, drawn on a grid,
#    is a vector field pointing back to the curve (for Gaussian corruption of small σ,
#    r(x) − x ≈ σ² ∂log p(x)/∂x, the score of the data density; Alain & Bengio 2014).
#
# Run: `python lessons/12_denoising.py [--quick] [--out DIR] [--seed N]`

# %%
import numpy as np

from tinyae import no_grad, optim, viz
from tinyae.data import DataLoader, noisy_curve
from tinyae.lesson import Lesson
from tinyae.models import GaussianNoise, MaskingNoise, MLPAutoencoder
from tinyae.train import fit

lesson = Lesson(
    12, "Denoising autoencoders",
    claim="A denoising AE trained to map corrupted inputs (masking or Gaussian noise) to the "
          "clean ones removes the noise: PSNR rises by several dB, much more than a plain AE "
          "of the same shape trained on clean data; on 2-D data near a curve its "
          "reconstruction field r(x) − x points back to the curve.",
    reference="Vincent et al. 2008/2010 (SdA-3: 1.28% MNIST test error with 25% masking, a "
              "classification number not measured here); Alain & Bengio 2014 (r(x) − x ∝ score)")

# %% [markdown]
# ## The data and the models
# One hidden layer of ReLU units and a sigmoid output, trained with binary cross-entropy.
# The three MNIST models have exactly the same shape; only their inputs differ.

# %%
N_TRAIN = 1000 if lesson.quick else 20_000
HIDDEN = 128 if lesson.quick else 500
EPOCHS = 4 if lesson.quick else 8
BATCH = 32 if lesson.quick else 128   # quick: more, smaller steps on few images
LR = 5e-3 if lesson.quick else 2e-3
MASK, SIGMA = 0.5, 0.5           # ν: fraction of pixels zeroed; σ of the Gaussian noise

x_train, _ = lesson.mnist("train", n=N_TRAIN)
x_test, _ = lesson.mnist("test", n=2000, quick_n=500)
x_train, x_test = lesson.asarray(x_train), lesson.asarray(x_test)


def psnr(a, b):
    """PSNR in dB for pixels in [0, 1]: 10 log₁₀(1 / MSE), MSE over all pixels of the set."""
    mse = float(((a - b) ** 2).mean())
    return 10 * np.log10(1.0 / mse)


def train_ae(corruption, seed):
    model = MLPAutoencoder([784, HIDDEN], activation="relu", latent_activation="relu",
                           output_activation="sigmoid", reconstruction="bce",
                           corruption=corruption, rng=seed)
    fit(model, optim.Adam(model.parameters(), lr=LR),
        DataLoader(x_train, batch_size=BATCH, shuffle=True, seed=seed), epochs=EPOCHS,
        seed=seed, verbose=False, progress=not lesson.quick)
    model.eval()       # from now on no corruption inside the model: we corrupt by hand
    return model


def reconstruct(model, x):
    with no_grad():
        return model(x).data


# %% [markdown]
# ## Train: a DAE per noise type, and a plain AE on clean data

# %%
noises = {f"masking ν = {MASK:g}": MaskingNoise(MASK, seed=lesson.seed),
          f"Gaussian σ = {SIGMA:g}": GaussianNoise(SIGMA, seed=lesson.seed)}
print(f"784 → {HIDDEN} → 784, {len(x_train):,} training images, {EPOCHS} epochs each")
plain = train_ae(None, lesson.seed)
daes = {name: train_ae(noise, lesson.seed + 1 + i)
        for i, (name, noise) in enumerate(noises.items())}

# %% [markdown]
# ## Denoise the test set
# The test images are corrupted once with fresh noise (a separate generator), then both the
# DAE and the plain AE reconstruct them; everything is compared with the clean images.

# %%
rows, results = [], {}
test_noise = {f"masking ν = {MASK:g}": MaskingNoise(MASK, seed=1000 + lesson.seed),
              f"Gaussian σ = {SIGMA:g}": GaussianNoise(SIGMA, seed=1000 + lesson.seed)}
for name, noise in test_noise.items():
    noisy = noise(x_test)
    den = reconstruct(daes[name], noisy)
    den_plain = reconstruct(plain, noisy)
    p_noisy, p_dae, p_plain = psnr(noisy, x_test), psnr(den, x_test), psnr(den_plain, x_test)
    results[name] = dict(noisy=noisy, dae=den, plain=den_plain,
                         p_noisy=p_noisy, p_dae=p_dae, p_plain=p_plain)
    rows.append([name, p_noisy, p_plain, p_dae, p_dae - p_noisy, p_plain - p_noisy])
p_clean = psnr(reconstruct(plain, x_test), x_test)
lesson.table(rows, ["test noise", "noisy PSNR", "plain AE PSNR", "DAE PSNR", "DAE gain (dB)",
                    "plain gain (dB)"], fmt=".2f",
             title=f"PSNR on {len(x_test):,} test images, dB (higher is better); the plain AE "
                   f"reaches {p_clean:.2f} dB on clean test images")

# %%
min_gain = 1.0 if lesson.quick else 5.0
for name, r in results.items():
    lesson.check(r["p_dae"] - r["p_noisy"] > min_gain,
                 f"{name}: the DAE gains {r['p_dae'] - r['p_noisy']:.2f} dB > {min_gain:g} dB "
                 f"({r['p_noisy']:.2f} → {r['p_dae']:.2f} dB)")
    # In quick mode both models are too briefly trained to tell apart: both are mostly blur.
    if not lesson.quick:
        lesson.check(r["p_dae"] > r["p_plain"] + 1.0,
                     f"{name}: the DAE denoises better than the plain AE trained on clean "
                     f"data ({r['p_dae']:.2f} dB vs {r['p_plain']:.2f} dB, > 1 dB apart)")

# %% [markdown]
# ## Noisy / denoised / clean
# The plain AE was never shown a hole or a speck: it keeps much of the noise.

# %%
show = slice(0, 10)
for i, (name, r) in enumerate(results.items()):
    fig = viz.image_grid([r["noisy"][show], r["plain"][show], r["dae"][show], x_test[show]],
                         row_titles=["noisy", "plain AE", "DAE", "clean"],
                         title=f"{name}: noisy {r['p_noisy']:.1f} dB → DAE {r['p_dae']:.1f} dB "
                               f"(plain AE {r['p_plain']:.1f} dB)")
    lesson.figure(fig, ["masking", "gaussian"][i])

# %% [markdown]
# ## The 2-D toy: a DAE learns a vector field pointing to the data
# Training points lie near the curve (s, sin πs); the DAE (2 → 128 tanh → 2, linear output)
# gets them with Gaussian corruption of σ = 0.25 added and must return the uncorrupted point.
# On a grid we draw r(x) − x and measure each point's distance to the clean curve before and
# after one pass through the DAE.

# %%
CURVE_SIGMA = 0.25
points, _, _ = noisy_curve(2000, noise=0.02, seed=lesson.seed)
_, dense_curve, _ = noisy_curve(4000, noise=0.0, seed=lesson.seed + 1)
toy = MLPAutoencoder([2, 128], activation="tanh", latent_activation="tanh",
                     output_activation=None, reconstruction="mse",
                     corruption=GaussianNoise(CURVE_SIGMA, seed=lesson.seed, clip=None),
                     rng=lesson.seed)
toy_epochs = 60 if lesson.quick else 300
fit(toy, optim.Adam(toy.parameters(), lr=3e-3),
    DataLoader(lesson.asarray(points), batch_size=200, shuffle=True, seed=lesson.seed),
    epochs=toy_epochs, seed=lesson.seed, verbose=False, progress=not lesson.quick)
toy.eval()


def distance_to_curve(p):
    """Distance of each point of p (K, 2) to the nearest of the dense clean-curve points."""
    d2 = ((p[:, None, :] - dense_curve[None, :, :]) ** 2).sum(axis=2)
    return np.sqrt(d2.min(axis=1))


g1, g2 = np.meshgrid(np.linspace(-1.4, 1.4, 29), np.linspace(-1.6, 1.6, 33))
grid = np.stack([g1.ravel(), g2.ravel()], axis=1).astype(np.float32)
with no_grad():
    moved = toy(lesson.asarray(grid)).numpy()
d_before, d_after = distance_to_curve(grid), distance_to_curve(moved)
# "Off the curve" but within reach of the corruption the DAE was trained on.
off = (d_before > 0.1) & (d_before < 2 * CURVE_SIGMA)
near = d_before < 2 * CURVE_SIGMA
reduction = 1 - d_after[off].mean() / d_before[off].mean()
lesson.table(
    [["grid points 0.1 < d < 2σ", int(off.sum()), d_before[off].mean(), d_after[off].mean(),
      reduction],
     ["all grid points d < 2σ", int(near.sum()), d_before[near].mean(), d_after[near].mean(),
      1 - d_after[near].mean() / d_before[near].mean()]],
    ["grid points", "count", "mean distance of x", "mean distance of r(x)", "reduction"],
    fmt=".3f", title=f"distance to the clean curve before and after the DAE (σ = {CURVE_SIGMA})")
min_reduction = 0.3 if lesson.quick else 0.5
lesson.check(reduction > min_reduction,
             f"r(x) is closer to the curve than x: mean distance reduced by {reduction:.0%} "
             f"> {min_reduction:.0%} for the {int(off.sum())} grid points off the curve")

drawn = near & (np.arange(len(grid)) % 2 == 0) & ((np.arange(len(grid)) // 29) % 2 == 0)
fig = viz.manifold_2d(points[::4], vectors=(grid[drawn], moved[drawn]),
                      curve=dense_curve[::20],
                      title=f"DAE reconstruction field r(x) − x (corruption σ = {CURVE_SIGMA})")
fig.axes[0].lines[0].set_label("clean curve (s, sin πs)")
fig.axes[0].legend(loc="center left", bbox_to_anchor=(1.02, 0.5), frameon=False)
lesson.figure(fig, "vector_field")

lesson.done()
