# %% [markdown]
# # Lesson 11 · Overcomplete and sparse autoencoders
#
# An autoencoder whose code is *larger* than its input (overcomplete) has no bottleneck: it
# can lower its loss all the way by learning the identity, r(x) ≈ x for every x, and then it
# has learned nothing about the data. The test: feed it inputs that look nothing like the
# data (pure noise). The identity copies noise as well as it copies digits.
#
# Sparsity puts the bottleneck back, not on the size of h but on how many of its units may
# be active at once:
#
#     L1:  L = ℓ(r, x) + λ (1/N) Σₙ Σⱼ |hₙⱼ|                      (ReLU code)
#     KL:  L = ℓ(r, x) + β Σⱼ KL(ρ ‖ ρ̂ⱼ),   ρ̂ⱼ = (1/N) Σₙ hₙⱼ      (sigmoid code, Ng's sparse AE)
#
# With few active units per input, the code can only afford the patterns the data are made
# of (pen strokes); noise, which is made of no such patterns, is reconstructed badly.
#
# The data are 8×8 patches cut at random places from MNIST digits (64 → 256 → 64, 4×
# overcomplete). Why not whole 28×28 digits? Border pixels are 0 in every training image, so
# the weights leaving them never get a gradient (W̄ = z̄ xᵀ with xⱼ = 0 gives W̄ᵢⱼ = 0): no
# autoencoder trained on digits can learn to copy noise there. In patches cut anywhere, every
# input varies.
#
# Run: `python lessons/11_overcomplete_sparse.py [--quick] [--out DIR] [--seed N]`

# %%
import matplotlib.pyplot as plt
import numpy as np

from tinyae import no_grad, optim, viz
from tinyae.data import DataLoader
from tinyae.lesson import Lesson
from tinyae.models import KLSparsity, L1Sparsity, MLPAutoencoder
from tinyae.train import fit

lesson = Lesson(
    11, "Overcomplete and sparse autoencoders",
    claim="An overcomplete AE without regularisation learns a near-identity: it reconstructs "
          "pure noise almost perfectly, though it never saw any. L1 (ReLU code) or KL (sigmoid "
          "code) sparsity leaves few units active per input and copies noise far worse; the "
          "KL model's mean activation sits near its target ρ.",
    reference="Ng, Sparse autoencoder lecture notes (ρ = 0.05); Goodfellow et al., Deep "
              "Learning §14.2 (overcomplete AEs can learn the identity)")

# %% [markdown]
# ## Patches: 8×8 crops of digits, each with some ink

# %%
P = 8
N_PATCHES = 2000 if lesson.quick else 20_000
HIDDEN = 256
RHO = 0.05


def random_patches(images, n, rng):
    """n random P×P crops (flattened to P², float32) holding at least 3 pixels' worth of ink."""
    images = images.reshape(-1, 28, 28)
    found, count = [], 0
    while count < n:
        i = rng.integers(0, len(images), n)
        r, c = rng.integers(0, 28 - P + 1, n), rng.integers(0, 28 - P + 1, n)
        crops = np.stack([images[a, b:b + P, d:d + P] for a, b, d in zip(i, r, c)])
        crops = crops.reshape(n, P * P)[crops.sum(axis=(1, 2)) > 3]
        found.append(crops)
        count += len(crops)
    return np.concatenate(found)[:n].astype(np.float32)


train_images, _ = lesson.mnist("train", n=20_000, quick_n=2000)
test_images, _ = lesson.mnist("test", n=5000, quick_n=500)
x_train = random_patches(train_images, N_PATCHES, lesson.rng)
x_test = random_patches(test_images, 2000, lesson.rng)
noise = lesson.rng.random(x_test.shape).astype(np.float32)   # uniform in [0, 1]
print(f"{len(x_train):,} training and {len(x_test):,} test patches of {P}×{P}; "
      f"{len(noise):,} noise patches, uniform in [0, 1]")

# %% [markdown]
# ## Three 64 → 256 → 64 autoencoders (linear output, squared error per patch)
# * plain: ReLU code, no penalty.
# * L1: ReLU code + λ Σ|h|. Tied weights (decoder = encoderᵀ): with free decoder weights the
#   net could shrink h by c and grow the decoder by c, making the penalty vanish for free.
# * KL: sigmoid code + β Σ KL(ρ‖ρ̂ⱼ). A larger step size: every unit starts at ρ̂ ≈ 0.5 and its
#   bias has to travel to logit(0.05) ≈ −3.

# %%
EPOCHS = 5 if lesson.quick else 15
BATCH = 64 if lesson.quick else 128
LR_RELU = 5e-3 if lesson.quick else 2e-3  # 5e-3 for 15 epochs: the plain AE's loss spikes
specs = {
    "plain": dict(latent_activation="relu", tied=True, lr=LR_RELU),
    "L1": dict(latent_activation="relu", tied=True, lr=LR_RELU, regularizers=[L1Sparsity(0.1)]),
    "KL": dict(latent_activation="sigmoid", lr=1e-2, regularizers=[KLSparsity(RHO, 0.5)]),
}
models = {}
for name, spec in specs.items():
    spec = dict(spec)
    lr = spec.pop("lr")
    model = MLPAutoencoder([P * P, HIDDEN], output_activation=None, reconstruction="sse",
                           rng=lesson.seed, **spec)
    print(f"training {name} ...")
    fit(model, optim.Adam(model.parameters(), lr=lr),
        DataLoader(lesson.asarray(x_train), batch_size=BATCH, shuffle=True, seed=lesson.seed),
        epochs=EPOCHS, seed=lesson.seed, verbose=False, progress=not lesson.quick)
    model.eval()
    models[name] = model

# %% [markdown]
# ## Measure: reconstruction of patches and of noise, and how many units fire

# %%
def run(model, x):
    with no_grad():
        h = model.encode(lesson.asarray(x))
        return h.numpy(), model.decode(h).numpy()


stats, recons = {}, {}
for name, model in models.items():
    h, r = run(model, x_test)
    h_noise, r_noise = run(model, noise)
    mse, mse_noise = float(((r - x_test) ** 2).mean()), float(((r_noise - noise) ** 2).mean())
    stats[name] = dict(mse=mse, mse_noise=mse_noise, mean_h=float(h.mean()),
                       active=float((h > 0.1).mean()), nonzero=float((h > 0).mean()))
    recons[name] = (r, r_noise)
rows = [[name, s["mse"], s["mse_noise"], s["mse_noise"] / s["mse"], s["mean_h"], s["active"],
         s["nonzero"] if name != "KL" else None] for name, s in stats.items()]
lesson.table(rows, ["model", "MSE patches", "MSE noise", "noise / patches", "mean h",
                    "frac h > 0.1", "frac h > 0"], fmt=".4g",
             title=f"on {len(x_test):,} test patches and {len(noise):,} noise patches "
                   f"(noise variance 1/12 = 0.0833; ρ = {RHO})")

# %%
plain, l1, kl = stats["plain"], stats["L1"], stats["KL"]
noise_var = 1 / 12
copy_limit = 0.05 if lesson.quick else 0.01
lesson.check(plain["mse_noise"] < copy_limit * noise_var,
             f"the plain overcomplete AE is a near-identity, it copies noise: only "
             f"{plain['mse_noise'] / noise_var:.2%} of the noise variance is left in "
             f"r(noise) − noise (< {copy_limit:.0%}; MSE {plain['mse_noise']:.2e})")
# "Copies noise far worse" must not be won by reconstructing nothing at all (a quick run's KL
# model: patches 0.077, noise 0.102): the sparse model has to keep the digit patches, at
# least 3× better reconstructed than the noise.
for name, s in (("L1", l1), ("KL", kl)):
    lesson.check(s["mse_noise"] > 5 * plain["mse_noise"] and s["mse_noise"] > 3 * s["mse"],
                 f"the {name}-sparse AE copies noise far worse but keeps the digits: noise MSE "
                 f"{s['mse_noise']:.2e} vs the plain AE's {plain['mse_noise']:.2e} "
                 f"({s['mse_noise'] / plain['mse_noise']:.0f}× > 5×), while its digit patches "
                 f"are reconstructed {s['mse_noise'] / s['mse']:.1f}× better than noise (> 3×)",
                 needs="embedded")
mean_factor, active_factor = (2, 1.5) if lesson.quick else (3, 2)
for name, s in (("L1", l1), ("KL", kl)):
    lesson.check(s["mean_h"] < plain["mean_h"] / mean_factor and
                 s["active"] < plain["active"] / active_factor,
                 f"the {name}-sparse code is sparse: mean h {s['mean_h']:.3f} vs plain "
                 f"{plain['mean_h']:.3f} (< 1/{mean_factor}), {s['active']:.1%} vs "
                 f"{plain['active']:.1%} of units above 0.1 (< 1/{active_factor:g})")
rho_tol = 0.6 if lesson.quick else 0.3
lesson.check(abs(kl["mean_h"] - RHO) < rho_tol * RHO,
             f"the KL model's mean activation {kl['mean_h']:.4f} is within {rho_tol:.0%} of "
             f"ρ = {RHO}")

# %% [markdown]
# ## The L1 penalty is a prior on the code
#
# The sparse autoencoder is not only "a loss with a penalty": it is a model of the data and
# its code together, p_model(x, h) = p_model(h) p_model(x | h), trained by maximum likelihood
# with the code fixed at h = f(x) (Goodfellow et al., Deep Learning §14.2.1). Take
#
#     p_model(hⱼ) = (λ/2) e^{−λ|hⱼ|}                  a Laplace prior on each code unit
#     p_model(x | h) = N(x; g(h), σ² I),  σ² = ½      the decoder's output as a Gaussian mean
#
# Then, for one input x ∈ ℝᵈ with a k-unit code,
#
#     −log p_model(x, h) = λ Σⱼ |hⱼ| − k log(λ/2) + ‖x − g(h)‖² + (d/2) log(2π σ²)
#                        = [ ‖x − g(h)‖² + λ Σⱼ |hⱼ| ] + const
#
# which is the L1 model's loss per patch: squared error summed over the d = 64 pixels ("sse")
# plus λ Σⱼ |hⱼ| with λ = 0.1. The penalty is −log of a prior that puts most of its mass at
# hⱼ = 0, which is why it gives sparse codes; a Gaussian prior would give weight-decay-like
# ‖h‖² and small but dense codes. The check: the negative log joint density, computed from
# the two densities on the test patches, minus the model's own training loss, is the constant
# −k log(λ/2) + (d/2) log(2π σ²) for every patch.

# %%
LAMBDA = specs["L1"]["regularizers"][0].weight
x_check = x_test[:512]
with no_grad():
    h_l1 = models["L1"].encode(lesson.asarray(x_check))
    r_l1 = models["L1"].decode(h_l1).numpy().astype(np.float64)
    h_l1 = h_l1.numpy().astype(np.float64)
    model_loss = float(models["L1"].loss(lesson.asarray(x_check)).item())  # batch mean
log_prior = (np.log(LAMBDA / 2) - LAMBDA * np.abs(h_l1)).sum(axis=1)
log_likelihood = (-0.5 * np.log(2 * np.pi * 0.5) - (x_check - r_l1) ** 2 / (2 * 0.5)).sum(axis=1)
neg_log_joint = -(log_prior + log_likelihood)
constant = -HIDDEN * np.log(LAMBDA / 2) + P * P / 2 * np.log(2 * np.pi * 0.5)
gap = neg_log_joint.mean() - constant - model_loss
print(f"λ = {LAMBDA}: mean −log p_model(x, h) over {len(x_check)} test patches "
      f"{neg_log_joint.mean():.6f} = the L1 model's loss {model_loss:.6f} + the constant "
      f"{constant:.6f} (difference {gap:.1e}; spread of −log p − loss over the patches "
      f"{np.ptp(neg_log_joint - ((x_check - r_l1) ** 2).sum(1) - LAMBDA * np.abs(h_l1).sum(1)):.1e})")
lesson.check(abs(gap) < 1e-4 * abs(constant),
             "(prior) the L1 model's training loss is −log p_model(x, h) under a Laplace prior "
             "on h and a Gaussian decoder, up to the constant −k log(λ/2) + (d/2) log(2πσ²)")

# %% [markdown]
# ## A fourth regulariser: dropout on the code
# The course lists four ways to keep an overcomplete AE from copying: sparsity, denoising,
# contraction, and dropout on the hidden layer. Dropout zeroes each code unit with
# probability p while training (and scales the others by 1/(1 − p)), so no single unit can
# carry a pixel on its own: r(x) must survive losing any fraction p of h. Does that stop the
# copying? Same model as "plain" (ReLU code, tied weights), with `dropout=p` on the code.

# %%
DROPOUTS = (0.5,) if lesson.quick else (0.1, 0.25, 0.5)
dropout_stats = {0.0: (plain["mse"], plain["mse_noise"])}
dropout_recon = {}
for p_drop in DROPOUTS:
    model = MLPAutoencoder([P * P, HIDDEN], latent_activation="relu", tied=True,
                           dropout=p_drop, output_activation=None, reconstruction="sse",
                           rng=lesson.seed)
    print(f"training dropout p = {p_drop} ...")
    fit(model, optim.Adam(model.parameters(), lr=LR_RELU),
        DataLoader(lesson.asarray(x_train), batch_size=BATCH, shuffle=True, seed=lesson.seed),
        epochs=EPOCHS, seed=lesson.seed, verbose=False, progress=not lesson.quick)
    model.eval()
    (_, r), (_, r_noise) = run(model, x_test), run(model, noise)
    dropout_stats[p_drop] = (float(((r - x_test) ** 2).mean()),
                             float(((r_noise - noise) ** 2).mean()))
    dropout_recon[p_drop] = r_noise
lesson.table([[p_drop, m, mn, mn / noise_var] for p_drop, (m, mn) in dropout_stats.items()],
             ["dropout p on the code", "MSE patches", "MSE noise", "noise variance left"],
             fmt=".4g", title="the plain overcomplete AE (p = 0) and with dropout on its code")
p_max = max(DROPOUTS)
mse_drop, noise_drop = dropout_stats[p_max]
factor = 5 if lesson.quick else 10
lesson.check(noise_drop > factor * plain["mse_noise"],
             f"dropout p = {p_max} on the code stops the near-identity: noise MSE "
             f"{noise_drop:.2e} vs the plain AE's {plain['mse_noise']:.2e} "
             f"({noise_drop / plain['mse_noise']:.0f}× > {factor}×)")
lesson.check(noise_drop / mse_drop > plain["mse_noise"] / plain["mse"],
             f"... and it copies noise worse relative to digits: noise/patch MSE "
             f"{noise_drop / mse_drop:.1f} vs the plain AE's "
             f"{plain['mse_noise'] / plain['mse']:.1f}")

# %%
ps = sorted(dropout_stats)
fig, ax = plt.subplots(figsize=(7.5, 4.8))
ax.plot(ps, [dropout_stats[q][1] for q in ps], "o-", lw=2.5, ms=8, label="noise patches")
ax.plot(ps, [dropout_stats[q][0] for q in ps], "s-", lw=2.5, ms=8, label="digit patches")
for name, colour in (("L1", "tab:green"), ("KL", "tab:purple")):
    ax.axhline(stats[name]["mse_noise"], color=colour, ls="--", lw=1.5,
               label=f"{name}-sparse AE, noise")
ax.axhline(noise_var, color="k", ls=":", lw=1.5, label="noise variance (r = mean)")
ax.set_yscale("log")
ax.set_xlabel("dropout probability p on the code (0 = plain AE)", fontsize=13)
ax.set_ylabel("reconstruction MSE (test)", fontsize=13)
ax.set_xticks(ps)
ax.tick_params(labelsize=12)
ax.grid(alpha=0.3, which="both")
ax.legend(fontsize=12, loc="lower right")
ax.set_title(f"64 → {HIDDEN} → 64 overcomplete AE: dropout on the code", fontsize=14)
lesson.figure(fig, "dropout")

# %% [markdown]
# ## Pictures: reconstructions of patches and of noise, and the filters
# The plain AE's filters look like noise (any basis will do for the identity). Many of the
# L1 model's are small localised pieces of strokes. The KL model's stay noisy: Ng's recipe
# also adds weight decay, which this lesson leaves out to change one thing at a time.

# %%
show = slice(0, 12)
fig = viz.image_grid([x_test[show]] + [recons[n][0][show] for n in models] +
                     [noise[show]] + [recons[n][1][show] for n in models] +
                     [dropout_recon[p_max][show]],
                     row_titles=["patches", "plain", "L1", "KL", "noise", "plain", "L1", "KL",
                                 f"dropout {p_max}"],
                     image_shape=(P, P),
                     title="digit patches and noise, and what each autoencoder returns")
lesson.figure(fig, "reconstructions")
for name, model in models.items():
    fig = viz.weight_tiles(model.encoder[0].weight, image_shape=(P, P), n=64,
                           title=f"{name}: encoder filters (first 64 of {HIDDEN})")
    lesson.figure(fig, f"filters_{name.lower()}")

lesson.done()
