# %% [markdown]
# # Lesson 18 · The variational autoencoder
#
# A VAE (Kingma & Welling 2014) is an autoencoder whose code is a probability distribution.
# The encoder maps x to a Gaussian q(z|x) = N(μ(x), diag σ²(x)); a code z is *sampled* from it;
# the decoder maps z to p(x|z), here a Bernoulli distribution for each pixel (its logits). The
# prior is p(z) = N(0, I). Training maximises, for every image, the evidence lower bound
#
#     log p(x) ≥ ELBO(x) = E_q[log p(x|z)] − KL(q(z|x) ‖ p(z))
#
# i.e. it minimises  loss = BCE(x, decoder(z)) summed over the 784 pixels + KL, in nats per
# image. Sampling is made differentiable by the reparameterisation z = μ + σ ⊙ ε, ε ~ N(0, I):
# ε is a constant of the graph, so μ̄ = z̄ and (log σ²)‾ = ½ z̄ ⊙ σ ⊙ ε come out of the ordinary
# backward pass (tinyae.functional.reparameterize).
#
# We build the model of the well-known PyTorch example (784-400-20, ReLU, Adam 1e-3, batch 128,
# 10 epochs) and compare its test loss epoch by epoch with PyTorch's. Then we measure what the
# ELBO leaves out: the importance-weighted estimate of log p(x) (Burda et al. 2016) with k samples,
#
#     log p(x) ≥ log (1/k) Σᵢ p(x|zᵢ) p(zᵢ) / q(zᵢ|x),   zᵢ ~ q(z|x),
#
# which equals the ELBO for k = 1 and tightens as k grows.
#
# Run: `python lessons/18_vae.py [--quick] [--out DIR] [--seed N]`

# %% [markdown]
# ## Where the ELBO comes from
# Encoder q_φ(z|x), decoder p_θ(x|z). For any q_φ, since log p_θ(x) does not depend on z and
# p_θ(x) = p_θ(x, z) / p_θ(z|x):
#
#     log p_θ(x) = E_q[ log p_θ(x, z) / q_φ(z|x) ] + E_q[ log q_φ(z|x) / p_θ(z|x) ]
#                = ELBO(x)                        + KL(q_φ(z|x) ‖ p_θ(z|x))  ≥  ELBO(x)
#
# (a KL divergence is never negative; equality when q_φ is the true posterior). With
# log p_θ(x, z) = log p_θ(x|z) + log p(z) the ELBO becomes E_q[log p_θ(x|z)] − KL(q_φ ‖ p(z)):
# reconstruct from codes drawn around μ(x), and keep each q_φ(z|x) near the prior. A Bernoulli
# p_θ(x|z) gives the binary cross-entropy used here; a Gaussian with variance s² gives
# ‖x − g(z)‖² / 2s² plus a constant (VAE(..., likelihood="gaussian")). The importance-weighted
# bound at the end measures the gap KL(q_φ ‖ p_θ(z|x)) that the ELBO leaves.

# %%
import time

import matplotlib.pyplot as plt
import numpy as np

from tinyae import losses, no_grad, optim, viz
from tinyae.data import DataLoader
from tinyae.lesson import Lesson
from tinyae.models import VAE
from tinyae.train import fit

lesson = Lesson(
    18, "The variational autoencoder",
    claim="The 784-400-20 VAE of the PyTorch example, trained the same way (ReLU, Bernoulli "
          "decoder, Adam 1e-3, batch 128, 10 epochs on MNIST), reaches the same test loss "
          "(BCE summed over pixels + KL): ≤ 106 nats per image; the importance-weighted bound "
          "on −log p(x) lies below the ELBO and falls as the number of samples k grows.",
    reference="pytorch/examples vae, measured with PyTorch 2.13 on this machine: 105.55 "
              "nats/image after 10 epochs; Burda et al. 2016 (IWAE bound)")

# PyTorch's test loss per epoch for this model (pytorch/examples vae/main.py, on this machine).
# Quick mode trains on a few thousand images: there is nothing of PyTorch's to compare it with.
PYTORCH = [128.43, 116.31, 112.18, 109.77, 108.25, 107.54, 106.75, 106.40, 105.83, 105.55]
REFERENCE = [None] * 10 if lesson.quick else PYTORCH

# %% [markdown]
# ## The data and the model
# Pixels are the grey levels in [0, 1], used as Bernoulli targets as the PyTorch example does.
# `VAE([784, 400], 20)` is 784 → 400 ReLU → (μ, log σ²) ∈ ℝ²⁰ × ℝ²⁰, and 20 → 400 ReLU → 784
# logits. Every Linear layer starts from PyTorch's default, W and b ~ U(±1/√fan_in) (tinyae's
# own default), so the two runs differ only in their random numbers.

# %%
EPOCHS = 3 if lesson.quick else 10
BATCH = 128
x_train, _ = lesson.mnist("train", quick_n=3000)
x_test, y_test = lesson.mnist("test", quick_n=500)
x_train, x_test = lesson.asarray(x_train), lesson.asarray(x_test)
# PyTorch's numbers are for the full 60,000 training images; on the embedded subset (or in quick
# mode) there is nothing of PyTorch's to compare with, so no reference column and no ≤ 106 claim.
COMPARABLE = not lesson.quick and len(x_train) == 60_000
if not COMPARABLE:
    REFERENCE = [None] * 10

LATENT = 20
model = VAE([784, 400], latent=LATENT, likelihood="bernoulli", rng=lesson.seed)
print(f"{model.num_parameters():,} parameters: encoder 784-400-(20, 20), decoder 20-400-784")

# %% [markdown]
# ## Train, and measure the test loss after every epoch
# `fit` minimises the model's own `loss(x)` = −ELBO per image (one sampled z per image). After
# each epoch we evaluate the same quantity on the test set, as the PyTorch example does (it
# samples z at test time too), and keep its two parts.


# %%
def test_elbo(model, x, batch=1000):
    """Mean −ELBO, reconstruction and KL over x, in nats per image (one z per image)."""
    sums = np.zeros(3)
    with no_grad():
        for i in range(0, len(x), batch):
            loss, parts = model.elbo(x[i:i + batch])
            n = len(x[i:i + batch])
            sums += n * np.array([loss.item(), parts["reconstruction"].item(), parts["kl"].item()])
    return sums / len(x)


curve = {"test": [], "reconstruction": [], "kl": [], "seconds": []}


def after_epoch(epoch, history):
    began = time.perf_counter()
    loss, reconstruction, kl = test_elbo(model, x_test)
    curve["test"].append(loss)
    curve["reconstruction"].append(reconstruction)
    curve["kl"].append(kl)
    curve["seconds"].append(history["epoch_time"][-1] + time.perf_counter() - began)
    print(f"epoch {epoch:2d}  train {history['train_loss'][-1]:7.2f}  test {loss:7.2f} "
          f"(reconstruction {reconstruction:6.2f} + KL {kl:5.2f})  "
          + (f"PyTorch {PYTORCH[epoch - 1]:7.2f}  " if COMPARABLE else "")
          + f"{curve['seconds'][-1]:5.1f} s")


start = time.perf_counter()
history = fit(model, optim.Adam(model.parameters(), lr=1e-3),
              DataLoader(x_train, batch_size=BATCH, shuffle=True, seed=lesson.seed),
              epochs=EPOCHS, seed=lesson.seed, verbose=False, progress=not lesson.quick,
              on_epoch_end=after_epoch)
train_seconds = time.perf_counter() - start

# %%
rows = [[e + 1, history["train_loss"][e], curve["test"][e], REFERENCE[e],
         curve["test"][e] - PYTORCH[e] if COMPARABLE else None,
         curve["reconstruction"][e], curve["kl"][e],
         curve["seconds"][e]] for e in range(EPOCHS)]
lesson.table(rows, ["epoch", "train loss", "test loss", "PyTorch test loss", "difference",
                    "reconstruction", "KL", "seconds"],
             fmt=["d", ".2f", ".2f", ".2f", "+.2f", ".2f", ".2f", ".1f"],
             title=f"−ELBO in nats per image ({len(x_train):,} training, {len(x_test):,} test "
                   f"images); {train_seconds / EPOCHS:.1f} s per epoch (train + test)")
final = curve["test"][-1]
if not COMPARABLE:
    lesson.smoke(final < curve["test"][0] < 250,
                 f"{len(x_train):,} training images, {EPOCHS} epochs: the test loss falls, "
                 f"{curve['test'][0]:.1f} → {final:.1f} nats per image (the claim, ≤ 106 after "
                 "10 epochs, is about full MNIST: get it with `tinyae data download`)")
else:
    lesson.check(final <= 106, f"test loss after {EPOCHS} epochs {final:.2f} ≤ 106 nats per "
                               f"image (PyTorch: {PYTORCH[-1]:.2f})")

# %% [markdown]
# ## How far is the ELBO from log p(x)?
# For each test image we draw k codes zᵢ ~ q(z|x) and average the importance weights
# wᵢ = p(x|zᵢ) p(zᵢ) / q(zᵢ|x) inside the log (a log-sum-exp in float64: the wᵢ are around
# e^{−100}). `model.log_likelihood(x, k)` returns one estimate per image; lower −log p̂ is a
# tighter bound. The standard errors are over images; for the differences between two k they
# are of the paired per-image differences.

# %%
KS = (1, 10, 100) if lesson.quick else (1, 10, 100, 1000)
n_iwae = len(x_test)
began = time.perf_counter()
elbo_test = -test_elbo(model, x_test)[0]
estimates, iw_seconds = {}, {}
for k in KS:
    t0 = time.perf_counter()
    estimates[k] = -model.log_likelihood(x_test[:n_iwae], k=k, rng=lesson.seed + k)
    iw_seconds[k] = time.perf_counter() - t0
rows = [["ELBO (one z per image)", None, -elbo_test, None, None]]
for k in KS:
    nll = estimates[k]
    rows.append([f"importance-weighted, k = {k}", k, nll.mean(),
                 nll.std() / np.sqrt(len(nll)), iw_seconds[k]])
lesson.table(rows, ["estimate of −log p(x)", "k", "nats per image", "std. error", "seconds"],
             fmt=["s", "d", ".2f", ".3f", ".1f"],
             title=f"−log p(x) on {n_iwae:,} test images: the ELBO and the importance-weighted "
                   "bounds")

# %%
best = estimates[KS[-1]].mean()
lesson.check(best < -elbo_test,
             f"the k = {KS[-1]} bound {best:.2f} is below the ELBO {-elbo_test:.2f} "
             f"(tighter by {-elbo_test - best:.2f} nats per image)")
steps = []
for a, b in zip(KS[:-1], KS[1:]):
    diff = estimates[b] - estimates[a]
    stderr = diff.std() / np.sqrt(len(diff))
    steps.append(diff.mean() <= 3 * stderr)
    print(f"k = {a:4d} → {b:4d}: {diff.mean():+.3f} ± {stderr:.3f} nats per image")
lesson.check(all(steps), f"the bound falls (within 3 standard errors) from k = "
                         f"{' → '.join(map(str, KS))}: "
                         f"{' → '.join(f'{estimates[k].mean():.2f}' for k in KS)}")

# %% [markdown]
# ## Stochastic encoders and decoders; the deterministic AE as their limit
# Any autoencoder can be written with a stochastic encoder p_encoder(h | x) and a stochastic
# decoder p_decoder(x | h): training minimises −log p_decoder(x | h) for codes h drawn from
# p_encoder(h | x). The decoder's distribution is the loss: a Bernoulli per pixel gives binary
# cross-entropy, a Gaussian gives squared error. A deterministic autoencoder is the limit in
# which p_encoder(h | x) puts all its mass on one code f(x): σ → 0. The VAE makes the stochastic
# encoder trainable (the reparameterisation above) and *prices* its noise: the KL to the prior
# grows like −½ log σ² per code dimension as σ shrinks, so a deterministic code would cost
# without bound, and the VAE keeps σ > 0. Two measurements on the trained model and the test
# images: the KL with every σ(x) scaled down by 10, 100, 1000 (asserted: each tenfold step adds
# J ln 10 nats, J = 20 code dimensions, once σ² is negligible), and the reconstruction term with
# the noise (z ~ q) beside the deterministic limit (z = μ), printed: which is lower depends on
# how far the decoder has learnt to read μ.

# %%
lesson.figure(viz.block_diagram(
    [[("x\n784 pixels", "0.85"), ("encoder f\n784 → 400 → 20", "#9ecae1"),
      ("one code\nh = f(x)", "0.92"), ("decoder g\n20 → 400 → 784", "#fdae6b"),
      ("r = g(h)\nloss ℓ(r, x)", "0.85")],
     [("x\n784 pixels", "0.85"), ("encoder q_φ(z | x)\n784 → 400 →\n(μ, log σ²), 20 each",
                                   "#9ecae1"),
      ("a sample\nz = μ + σ ⊙ ε\nε ~ N(0, I)", "#c7e9c0"),
      ("decoder p_θ(x | z)\n20 → 400 → 784\n(Bernoulli logits)", "#fdae6b"),
      ("−log p_θ(x | z)\n+ KL(q_φ ‖ N(0, I))", "0.85")]],
    row_titles=["deterministic\nautoencoder", "stochastic\n(the VAE)"],
    note="σ → 0: the sample is μ, the stochastic encoder becomes the deterministic one — and "
         "its KL grows without bound",
    title="Deterministic and stochastic encoders and decoders, with this lesson's shapes"),
    "stochastic_vs_deterministic")

with no_grad():
    mu_t, logvar_t = model.posterior(x_test)
    recon_mean = -model.log_px_given_z(model.decode_logits(mu_t), x_test, reduction="batchmean").item()
    recon_sampled = test_elbo(model, x_test)[1]
    kls = [losses.gaussian_kl(mu_t, logvar_t + 2 * np.log(scale)).item()
           for scale in (1.0, 0.1, 0.01, 0.001)]
lesson.table([["z ~ q(z|x) (the VAE)", recon_sampled, kls[0]],
              ["σ × 0.1", None, kls[1]], ["σ × 0.01", None, kls[2]],
              ["σ × 0.001 (nearly deterministic)", None, kls[3]],
              ["z = μ (the deterministic limit)", recon_mean, None]],
             ["encoder", "reconstruction −log p(x|z)", "KL(q ‖ p(z))"], fmt=["s", ".2f", ".2f"],
             title=f"the stochastic encoder and its deterministic limit, {len(x_test):,} test images "
                   "(nats per image)")
per_decade = kls[3] - kls[2]
lesson.check(abs(per_decade - LATENT * np.log(10)) < 0.01 * LATENT * np.log(10),
             f"toward the deterministic limit the KL grows without bound: +{per_decade:.2f} nats "
             f"per tenfold smaller σ, = {LATENT} dimensions × ln 10 = "
             f"{LATENT * np.log(10):.2f} (within 1%)")

# %% [markdown]
# ## Figures: reconstructions, samples from the prior, interpolations, the loss curve

# %%
show = x_test[:12]
fig = viz.image_grid([show, model.reconstruct(show), model.reconstruct(show, sample=True)],
                     row_titles=["test digit", "decode(μ)", "decode(z ~ q)"],
                     title="VAE reconstructions (784-400-20): pixel means of p(x|z)")
lesson.figure(fig, "reconstructions")

samples = model.sample(80, rng=lesson.seed).numpy()
fig = viz.image_grid(list(samples.reshape(8, 10, 784)),
                     title="New digits: z ~ N(0, I), then the decoder's pixel means")
lesson.figure(fig, "samples")

pairs = [(int(np.flatnonzero(y_test[:len(x_test)] == a)[0]),
          int(np.flatnonzero(y_test[:len(x_test)] == b)[0]))
         for a, b in ((1, 7), (3, 8), (4, 9), (0, 6), (2, 5))]
strips = model.interpolate(x_test[[i for i, _ in pairs]], x_test[[j for _, j in pairs]],
                           steps=10).numpy()
fig = viz.image_grid(list(strips), row_titles=[f"{y_test[i]} → {y_test[j]}" for i, j in pairs],
                     title="Straight lines in z-space between the codes μ of two test digits")
lesson.figure(fig, "interpolation")

fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2), layout="constrained")
epochs = np.arange(1, EPOCHS + 1)
left.plot(epochs, curve["test"], "o-", lw=2, label="tinyae test loss")
if not lesson.quick:
    left.plot(epochs, PYTORCH[:EPOCHS], "s--", lw=2, label="PyTorch test loss")
    left.axhline(106, color="0.5", lw=1, ls=":", label="claim: ≤ 106")
left.set(xlabel="epoch", ylabel="−ELBO, nats per image", title="test loss = reconstruction + KL")
right.stackplot(epochs, curve["reconstruction"], curve["kl"], alpha=0.8,
                labels=["reconstruction  −E log p(x|z)", "KL(q(z|x) ‖ N(0, I))"])
right.set(xlabel="epoch", ylabel="nats per image", title="the two parts of the test loss")
for ax in (left, right):
    ax.grid(alpha=0.3)
    ax.set_xticks(epochs)
    ax.legend(fontsize=12)
    ax.xaxis.label.set_size(12), ax.yaxis.label.set_size(12), ax.title.set_size(13)
lesson.figure(fig, "elbo_curve")

lesson.done()
