# %% [markdown]
# # Lesson 16 · Inpainting: an encoder-decoder fills in what is hidden
#
# Neural inpainting: part of an image is occluded, and the network has to generate the missing
# part from the rest. Here a random 12 × 12 square (18% of an MNIST digit's pixels, 12 of its
# 28 columns) is blacked out, and we measure how well the square is filled in by
#
# * filling it with the mean training image (no network at all);
# * a plain autoencoder trained on clean digits (as in lessons 09 and 12), given the occluded
#   digit: it was never shown a hole;
# * the denoising autoencoder of lesson 12 (masking noise ν = 0.5): trained to restore pixels
#   that were set to 0, but scattered ones, not a block;
# * an encoder-decoder trained for this task: a small U-Net that gets the occluded digit *and*
#   the mask (where the hole is) and is trained to restore the clean digit inside the hole,
#
#     L = (1/|hole|) Σ_{pixels in the hole} BCE(r, x),     r = g(f(x ⊙ (1 − m), m))
#
# with a fresh random square for every training image in every epoch.
#
# The score is the PSNR *inside the hole*, 10 log₁₀(1 / MSE) over the occluded pixels only
# (outside it every method can simply keep the pixels it was given).
#
# Run: `python lessons/16_inpainting.py [--quick] [--out DIR] [--seed N]`

# %%
import numpy as np

from tinyae import losses, metrics, no_grad, optim, viz
from tinyae.backend import get_array_module, to_numpy
from tinyae.data import DataLoader, occlude
from tinyae.lesson import Lesson
from tinyae.models import MaskingNoise, MLPAutoencoder, UNet
from tinyae.train import fit

lesson = Lesson(
    16, "Inpainting: filling in an occluded square",
    claim="An encoder-decoder trained to fill occluded squares restores the hidden part of "
          "held-out MNIST digits far better (PSNR inside the hole) than the training mean, a "
          "plain autoencoder or a denoising autoencoder, none of them trained for occlusion.",
    reference="Pathak et al. 2016 (context encoders: inpainting by an encoder-decoder); "
              "Vincent et al. 2010 (denoising AE, lesson 12)")

# %% [markdown]
# ## Data and the occlusion
# The test digits are occluded once, with their own seeded generator, and every method sees
# the same occluded digits. The occluded pixels are set to 0, the background's value: an
# autoencoder that is not told where the hole is sees a digit with a missing piece.

# %%
HOLE = 12
N_TRAIN = 2000 if lesson.quick else 20_000
EPOCHS_AE = 4 if lesson.quick else 8            # lesson 12's budget for the plain AE and DAE
EPOCHS_UNET = 3
N_UNET = N_TRAIN if lesson.quick else 12_000   # the U-Net's training images (the first ones)
CHANNELS = (4, 8, 16) if lesson.quick else (8, 16, 32)

x_train, _ = lesson.mnist("train", n=N_TRAIN, quick_n=N_TRAIN)
x_test, _ = lesson.mnist("test", n=2000, quick_n=500)
occluded, hole = occlude(x_test, HOLE, rng=1000 + lesson.seed)       # (N, 784), bool mask
x_train, x_test = lesson.asarray(x_train), lesson.asarray(x_test)
occluded, hole = lesson.asarray(occluded), lesson.asarray(hole)
print(f"{HOLE} × {HOLE} squares: {int(hole[0].sum())} of 784 pixels hidden in each test digit")


def two_channels(x_occ, m):
    """The U-Net's input: the occluded digits and their masks as two channels, (N, 2, 28, 28)."""
    xp = get_array_module(x_occ)
    return xp.concatenate([x_occ.reshape(-1, 1, 28, 28),
                           m.reshape(-1, 1, 28, 28).astype(x_occ.dtype)], axis=1)


# %% [markdown]
# ## The plain AE and the DAE of lesson 12
# 784 → 500 ReLU → 784 sigmoid, binary cross-entropy, Adam (lr 2·10⁻³), batch 128, the same
# training images and epochs as lesson 12. The DAE sees half of each training digit's pixels
# set to 0 and must return the clean digit.

# %%
def train_ae(corruption, seed):
    model = MLPAutoencoder([784, 128 if lesson.quick else 500], activation="relu",
                           latent_activation="relu", output_activation="sigmoid",
                           reconstruction="bce", corruption=corruption, rng=seed)
    fit(model, optim.Adam(model.parameters(), lr=5e-3 if lesson.quick else 2e-3),
        DataLoader(x_train, batch_size=32 if lesson.quick else 128, shuffle=True, seed=seed),
        EPOCHS_AE, seed=seed, verbose=False, progress=not lesson.quick)
    model.eval()
    return model


plain = train_ae(None, lesson.seed)
dae = train_ae(MaskingNoise(0.5, seed=lesson.seed), lesson.seed + 1)

# %% [markdown]
# ## The inpainting encoder-decoder
# A U-Net (lesson 17 has the details): 28 → 14 → 7 pixels and back, 8/16/32 channels, skip
# connections, BatchNorm; input the occluded digit and the mask, output a sigmoid image. Every
# batch gets new random squares from a seeded generator, so in 3 epochs on 12,000 digits it
# sees 36,000 different occlusions. The loss is the BCE over the hidden pixels only: outside
# the hole the answer is given.

# %%
hole_rng = np.random.default_rng(lesson.seed)


def inpainting_loss(model, x):
    x = x.data.reshape(-1, 1, 28, 28)
    x_occ, m = occlude(x, HOLE, rng=hole_rng)
    r = model(two_channels(x_occ, m))
    weight = m.astype(x.dtype) / float(m.sum())
    return (losses.bce(r, x, reduction="none") * weight).sum()


unet = UNet(2, 1, channels=CHANNELS, skips=True, batchnorm=True, output_activation="sigmoid",
            loss="bce", rng=lesson.seed)
opt = optim.Adam(unet.parameters(), lr=3e-3)
history = fit(unet, opt, DataLoader(x_train[:N_UNET], batch_size=32, shuffle=True,
                                    seed=lesson.seed),
              EPOCHS_UNET, loss_fn=inpainting_loss,
              scheduler=optim.CosineAnnealingLR(opt, EPOCHS_UNET),
              seed=lesson.seed, rngs={"holes": hole_rng}, verbose=False,
              progress=not lesson.quick)
unet.eval()
print(f"U-Net: {sum(p.size for p in unet.parameters()):,} parameters, {EPOCHS_UNET} epochs in "
      f"{sum(history['epoch_time']):.1f} s; hole BCE per pixel {history['train_loss'][0]:.4f} "
      f"→ {history['train_loss'][-1]:.4f}")

# %% [markdown]
# ## Fill the test holes
# Every method's output is kept inside the hole only; outside it the given pixels stay.

# %%
def run(model, x):
    """The model's output for x, in batches of 500, as (N, 784) on the lesson's device."""
    xp = get_array_module(x)
    with no_grad():
        return xp.concatenate([model(x[i:i + 500]).data.reshape(-1, 784)
                               for i in range(0, len(x), 500)])


raw = {"hole left black": occluded,
       "training mean": x_train.mean(axis=0, keepdims=True) + 0 * x_test,
       "plain AE": run(plain, occluded),
       "denoising AE (ν = 0.5)": run(dae, occluded),
       "inpainting U-Net": run(unet, two_channels(occluded, hole))}
xp = get_array_module(x_test)
filled = {name: xp.where(hole, r, occluded) for name, r in raw.items()}
scores = {name: metrics.psnr(f, x_test, hole) for name, f in filled.items()}
whole = {name: metrics.psnr(f, x_test) for name, f in filled.items()}
lesson.table([[name, scores[name], whole[name]] for name in filled],
             ["filled by", "PSNR in the hole (dB)", "PSNR whole image (dB)"], fmt=".2f",
             title=f"{len(x_test):,} test digits, one {HOLE} × {HOLE} square each (higher is "
                   "better)")

# %%
best_other = max(v for k, v in scores.items() if k != "inpainting U-Net")
margin = 0.3 if lesson.quick else 1.0   # 1 dB: 21% less squared error in the hole
lesson.check(scores["inpainting U-Net"] > best_other + margin,
             f"the inpainting U-Net fills the hole best: {scores['inpainting U-Net']:.2f} dB "
             f"vs {best_other:.2f} dB for the best of the others (> {margin:g} dB apart)")
if not lesson.quick:
    lesson.check(scores["training mean"] > scores["hole left black"],
                 f"even the training mean beats leaving the hole black "
                 f"({scores['training mean']:.2f} vs {scores['hole left black']:.2f} dB)")

# %% [markdown]
# ## Occluded / filled / original

# %%
show = slice(0, 10)
fig = viz.image_grid([to_numpy(filled[name][show]) for name in filled] + [to_numpy(x_test[show])],
                     row_titles=["occluded", "training mean", "plain AE", "denoising AE",
                                 "inpainting U-Net", "original"],
                     title=f"{HOLE}×{HOLE} hole, PSNR inside it: U-Net "
                           f"{scores['inpainting U-Net']:.1f} dB, DAE "
                           f"{scores['denoising AE (ν = 0.5)']:.1f} dB, mean "
                           f"{scores['training mean']:.1f} dB")
lesson.figure(fig, "filled")

lesson.done()
