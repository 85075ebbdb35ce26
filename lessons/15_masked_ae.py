# %% [markdown]
# # Lesson 15 · Masked autoencoders
#
# A masked autoencoder (MAE, He et al. 2021) cuts an image into patches, hides most of them
# (75% in the paper) and asks a small vision transformer to paint the hidden ones back:
#
#     encoder   sees only the visible patches (embedded, plus a fixed 2-D position code)
#     decoder   gets the encoded visible tokens and a shared "mask token" in every hidden
#               slot, and predicts the pixels of every patch
#     loss      mean squared error on the HIDDEN patches only
#
# Copying is impossible — the hidden pixels are not in the input — so the encoder has to learn
# what digits look like. Afterwards the decoder is thrown away and the encoder's features (its
# tokens on the whole, unmasked image, averaged) serve other tasks. We measure:
#
# 1. how well hidden patches are reconstructed, against two fills that know no context: the
#    mean patch, and the training set's mean image;
# 2. a linear probe (softmax regression on the frozen features) of the trained encoder, the
#    same encoder untrained, and raw pixels;
# 3. (real run on full MNIST) a masking-ratio sweep, 25% to 90%: He et al. find 75% best on
#    ImageNet. It trains four more models; on the embedded subset it is left out (the page
#    shows the full run's), so that the laptop's run stays short.
#
# Run: `python lessons/15_masked_ae.py [--quick] [--out DIR] [--seed N] [--epochs E]`

# %%
import time

import matplotlib.pyplot as plt
import numpy as np

from tinyae import backend, losses, nn, no_grad, optim, viz
from tinyae.data import DataLoader
from tinyae.arguments import positive
from tinyae.lesson import Lesson
from tinyae.models import MAEClassifier, MaskedAutoencoder
from tinyae.nn.transformer import patchify
from tinyae.train import fit

lesson = Lesson(
    15, "Masked autoencoders",
    claim="A small vision transformer trained to reconstruct randomly hidden patches of MNIST "
          "digits (75% hidden, loss on the hidden patches only) fills them better than the "
          "mean patch or the training set's mean image can, and its encoder's features are "
          "linearly more separable than those of the same encoder untrained.",
    reference="He et al. 2021, Masked Autoencoders Are Scalable Vision Learners (75% random "
              "patch masking, loss on masked patches; 75% the best ratio on ImageNet)",
    add_arguments=lambda p: p.add_argument("--epochs", type=positive(int), default=None,
                                           help="epochs of the main model (default 4 on "
                                                "full MNIST, 30 on the embedded subset; quick 12)"),
    paper="the mask-ratio curve after fine-tuning, as He et al. 2021 measure it, on MNIST")
if lesson.paper:   # --paper: the paper's evaluation instead (tinyae/paper/mae.py), ~1 hour
    from tinyae.paper import mae
    lesson.run_paper(mae.run)

# %% [markdown]
# ## Data and model
# 28×28 digits in 4×4 patches: P = 49 patches of 16 pixels. At 75% masking the encoder sees
# 12 of them. Encoder: 64 wide, 2 blocks, 4 heads; decoder: 32 wide, 1 block (MAE's decoder
# is deliberately light: the encoder must do the understanding).

# %%
Q = lesson.quick
N_TRAIN = 60_000
N_PROBE = 1_000 if Q else 10_000        # labelled training images for the linear probes
BATCH = 32 if Q else 64
LR = 4e-3
PATCH, DIM, DEPTH, HEADS = (4, 32, 2, 2) if Q else (4, 64, 2, 4)
DEC_DIM, DEC_DEPTH = (16, 1) if Q else (32, 1)
RATIOS = [0.75] if Q else [0.25, 0.5, 0.75, 0.9]
MAIN = 0.75

x_train, y_train = lesson.mnist("train", n=N_TRAIN, quick_n=1000)
x_test, y_test = lesson.mnist("test", n=10_000, quick_n=500)
# Images and labels move to the lesson's device once (a GPU with --backend cupy)
x_train, x_test = lesson.asarray(x_train), lesson.asarray(x_test)
N_PROBE = min(N_PROBE, len(x_train))    # the embedded subset has 6,000
y_train, y_test = (lesson.asarray(y.astype(np.int64)) for y in (y_train, y_test))
# The budget is a number of steps: 4 epochs of full MNIST (1 per model of the sweep). On the
# embedded subset (6,000 digits) it is the steps of 3 full epochs (30 epochs), which keeps a
# laptop's run under 2 minutes; the three claims hold there with room (docs page).
PER_FULL_EPOCH = 1 if Q else max(1, round(N_TRAIN / len(x_train)))
FULL_EPOCHS = 4 if lesson.scale == "full" else 3       # the budget in epochs of full MNIST
EPOCHS = lesson.args.epochs or (12 if Q else FULL_EPOCHS * PER_FULL_EPOCH)
SWEEP_EPOCHS = PER_FULL_EPOCH           # per model of the masking-ratio sweep (full run)
SWEEP = not Q and lesson.scale == "full"
if PER_FULL_EPOCH > 1:
    print(f"{len(x_train):,} training digits: {EPOCHS} epochs, the number of steps of "
          f"{EPOCHS / PER_FULL_EPOCH:g} epochs of full MNIST")


def make_mae(ratio, seed):
    return MaskedAutoencoder(28, PATCH, DIM, DEPTH, HEADS, DEC_DIM, DEC_DEPTH, mask_ratio=ratio,
                             rng=seed, mask_seed=seed)


print(f"{sum(p.size for p in make_mae(MAIN, 0).parameters()):,} parameters; "
      f"{(28 // PATCH) ** 2} patches of {PATCH}×{PATCH}")


def architecture_figure():
    """The MAE as the slides draw it, with this lesson's real shapes: the encoder sees only the
    visible patches; a light decoder gets them back with a mask token in every hidden slot."""
    n = (28 // PATCH) ** 2
    kept = n - int(round(MAIN * n))
    boxes = [(f"image 28×28\n{n} patches\nof {PATCH}×{PATCH}", "0.85"),
             (f"hide {MAIN:.0%}\nat random:\n{kept} visible", "0.92"),
             (f"encoder\n{DEPTH} blocks, width {DIM}\n{HEADS} heads, on the\n{kept} visible "
              "tokens", "#9ecae1"),
             (f"+ a mask token\nin each of the\n{n - kept} hidden\nslots (width {DEC_DIM})",
              "0.92"),
             (f"decoder (light)\n{DEC_DEPTH} block, width {DEC_DIM}\npixels of all\n{n} "
              "patches", "#fdae6b"),
             ("loss: MSE on\nthe HIDDEN\npatches only", "0.85")]
    return viz.block_diagram([boxes], note="after training: the encoder alone, on the whole "
                             "image, gives the features (the linear probe)",
                             title="The masked autoencoder of this lesson (He et al. 2021, "
                                   "at MNIST's size)")


lesson.figure(architecture_figure(), "architecture")

# %% [markdown]
# ## Train the MAE (75% hidden)
# Adam with β₂ = 0.95 as in MAE, lr 4·10⁻³ decaying along a cosine over the epochs, batch 64.
# The loss is the model's own `model.loss(x)`; we also keep it per step for the loss curve.

# %%


def train(ratio, seed, epochs):
    model = make_mae(ratio, seed)
    steps = []

    def loss_fn(m, xb):  # the model's own loss, also kept per step for the loss curve
        loss = m.loss(xb)
        steps.append(loss.item())
        return loss

    start = time.perf_counter()
    opt = optim.Adam(model.parameters(), lr=LR, betas=(0.9, 0.95))
    fit(model, opt, DataLoader(x_train, batch_size=BATCH, shuffle=True, seed=seed),
        epochs=epochs, loss_fn=loss_fn, scheduler=optim.CosineAnnealingLR(opt, T_max=epochs),
        seed=seed, verbose=not Q, progress=False)
    model.eval()
    print(f"mask ratio {ratio:.2f}: {epochs} epoch(s), {len(steps):,} steps in "
          f"{time.perf_counter() - start:.0f} s, last-epoch mean loss "
          f"{np.mean(steps[-len(steps) // epochs:]):.4f}")
    return model, steps


mae, steps = train(MAIN, lesson.seed, EPOCHS)

# %% [markdown]
# ## Hidden-patch error against fills that know no context
# Every test image gets a fresh random 75% mask (the same masks for every method). The error
# is the mean squared error per pixel over the hidden patches only.
#
# * mean patch — the average 4×4 patch of the training set, in every hidden slot;
# * mean image — the hidden patch cut from the training set's mean digit (it knows where ink
#   usually is, but not which digit this is);
# * MAE — the decoder's prediction from the 25% visible patches.

# %%


def masked_mse(fill, x, mask):
    """MSE per pixel over the hidden patches: fill and x as (N, P, p²), mask (N, P) 1 = hidden."""
    per_patch = ((fill - x) ** 2).mean(axis=-1)
    return float((per_patch * mask).sum() / mask.sum())


def predictions(model, x, ratio, seed, batch=1000):
    """(predicted patches, mask) for x in batches, with masks drawn from ``seed``."""
    rng, preds, masks = np.random.default_rng(seed), [], []
    with no_grad():
        for i in range(0, len(x), batch):
            p, m = model(x[i:i + batch], mask_ratio=ratio, rng=rng)
            preds.append(lesson.to_host(p))   # to the host (from a GPU): scored there
            masks.append(lesson.to_host(m))
    return np.concatenate(preds), np.concatenate(masks)


host = lesson.to_host   # the scoring and the figures below run on the host


test_patches = host(patchify(x_test, PATCH, 28))
mean_patch = host(patchify(x_train, PATCH, 28)).reshape(-1, PATCH * PATCH).mean(axis=0)
mean_image_patches = host(patchify(x_train.mean(axis=0, keepdims=True), PATCH, 28))
pred, mask = predictions(mae, x_test, MAIN, seed=1000 + lesson.seed)
errors = {"mean patch": masked_mse(mean_patch, test_patches, mask),
          "training-set mean image": masked_mse(mean_image_patches, test_patches, mask),
          "MAE": masked_mse(pred, test_patches, mask)}
lesson.table([[k, v, v / errors["MAE"]] for k, v in errors.items()],
             ["fill of the hidden 75%", "test MSE / pixel", "× the MAE's"], fmt=".4f",
             title=f"hidden-patch reconstruction error on {len(x_test):,} test images")


# %% [markdown]
# ## Original / masked / reconstruction / visible patches pasted back
# Grey squares are the hidden patches. The raw reconstruction is blurry where the model is
# unsure; pasting the visible patches back shows only what was invented.

# %%
masked, recon, pixel_mask = (host(a) for a in mae.reconstruct(x_test[:12], seed=7))
originals = host(x_test[:12])
shown_masked = np.where(pixel_mask == 1, 0.5, masked)
pasted = np.where(pixel_mask == 1, recon, originals)
fig = viz.image_grid([originals, shown_masked, np.clip(recon, 0, 1), np.clip(pasted, 0, 1)],
                     row_titles=["original", "masked 75%", "reconstruction", "+ visible pasted"],
                     title=f"MAE on test digits: {(28 // PATCH) ** 2} patches of {PATCH}×{PATCH}, "
                           f"{int(MAIN * 100)}% hidden")
lesson.figure(fig, "reconstructions")

# %%
fig, ax = plt.subplots(figsize=(8, 4.8))
s = np.asarray(steps)
k = max(1, len(s) // 60)   # a moving average over k steps
ax.plot(np.arange(1, len(s) + 1), s, lw=0.5, color="C0", alpha=0.35, label="per step")
ax.plot(np.arange(len(s) - k + 1) + k, np.convolve(s, np.ones(k) / k, mode="valid"), lw=2.5,
        color="C0", label=f"moving average of {k} steps")
ax.axhline(errors["training-set mean image"], color="C3", ls="--", lw=2,
           label="test MSE of the mean-image fill")
ax.set_ylim(0, min(0.12, s.max() * 1.05))
ax.set_xlabel(f"training step (batch of {BATCH}; {EPOCHS} epochs)", fontsize=13)
ax.set_ylabel("hidden-patch MSE / pixel", fontsize=13)
ax.set_title(f"MAE training loss, {int(MAIN * 100)}% hidden", fontsize=14)
ax.tick_params(labelsize=12)
ax.grid(alpha=0.3)
ax.legend(fontsize=12)
lesson.figure(fig, "loss")

# %% [markdown]
# ## Linear probe: are the encoder's features linearly separable?
# Softmax regression (784 or 64 inputs → 10 classes, Adam, 25 epochs) on N_PROBE labelled
# training images, evaluated on the test set. The encoder is frozen; its feature is the mean
# of its output tokens on the whole, unmasked image. The same probe runs on the same encoder
# at its random initialisation and on raw pixels.

# %%


def features(model, x, batch=1000):
    with no_grad():
        parts = [model.features(x[i:i + batch]).data for i in range(0, len(x), batch)]
    return backend.get_array_module(parts[0]).concatenate(parts)   # on x's device


def train_on_labels(model, params, x, epochs, batch, lr, seed=0):
    """Adam on the cross-entropy of ``model(x)`` against the first N_PROBE training labels
    (the linear probe, and the fine-tuning end to end)."""
    opt = optim.Adam(params, lr=lr)
    labels, order_rng = y_train[:N_PROBE], np.random.default_rng(seed)
    for _ in range(epochs):
        order = order_rng.permutation(len(x))
        for i in range(0, len(x), batch):
            idx = order[i:i + batch]
            opt.zero_grad()
            losses.cross_entropy(model(x[idx]), labels[idx]).backward()
            opt.step()


def accuracy(model, x):
    with no_grad():
        return sum(int((model(x[i:i + 1000]).data.argmax(1) == y_test[i:i + 1000]).sum())
                   for i in range(0, len(x), 1000)) / len(x)


def linear_probe(f_train, f_test, epochs=25, seed=0):
    mu, sd = f_train.mean(0), f_train.std(0) + 1e-6
    clf = nn.Linear(f_train.shape[1], 10, rng=seed)
    train_on_labels(clf, clf.parameters(), (f_train - mu) / sd, epochs, batch=256, lr=5e-3,
                    seed=seed)
    return accuracy(clf, (f_test - mu) / sd)


probe_x = x_train[:N_PROBE]
untrained = make_mae(MAIN, lesson.seed)     # the very weights the MAE started from
acc = {"raw pixels (784)": linear_probe(probe_x, x_test),
       "encoder, random init": linear_probe(features(untrained, probe_x),
                                            features(untrained, x_test)),
       f"encoder, MAE-trained (r = {MAIN})": linear_probe(features(mae, probe_x),
                                                          features(mae, x_test))}
lesson.table([[k, v] for k, v in acc.items()], ["features", "test accuracy"], fmt=".4f",
             title=f"linear probe: softmax regression on {N_PROBE:,} labelled images, "
                   f"{len(x_test):,} test images")
trained, random_init = acc[f"encoder, MAE-trained (r = {MAIN})"], acc["encoder, random init"]

# %% [markdown]
# ## Fine-tuned end to end (real run on full MNIST)
# MAE's own evaluation fine-tunes: the encoder, started from the MAE's weights, and a linear
# layer on its mean token are trained together on the labels. (He et al. fine-tune for 100
# epochs with AdamW, layer-wise learning-rate decay, mixup and more; here plain Adam, lr 10⁻³,
# batch 128, FT_EPOCHS epochs on the same N_PROBE labelled images as the probe, no
# augmentation.) The same fine-tuning from the encoder's random initialisation says what the
# pretraining is still worth once the labels train everything.

# %%
FINE_TUNE = Q or lesson.scale == "full"
FT_EPOCHS = 1 if Q else 5


def fine_tune(encoder_from, seed=0):
    copy = make_mae(MAIN, lesson.seed)
    copy.load_state_dict(encoder_from.state_dict())   # a copy: `encoder_from` stays as trained
    model = MAEClassifier(copy, 10, rng=lesson.seed)  # its mean token under a linear layer
    start = time.perf_counter()
    train_on_labels(model, model.encoder_and_head(), x_train[:N_PROBE], FT_EPOCHS, batch=128,
                    lr=1e-3, seed=seed)
    return accuracy(model, x_test), time.perf_counter() - start


if not FINE_TUNE:
    print("fine-tuning end to end: on full MNIST only (two more trainings; the page shows "
          "that run's)")
if FINE_TUNE:
    tuned, tuned_s = fine_tune(mae)
    tuned_random, tuned_random_s = fine_tune(untrained)
    lesson.table([[f"encoder, MAE-trained (r = {MAIN}), frozen: linear probe", trained],
                  ["encoder, MAE-trained, fine-tuned end to end", tuned],
                  ["encoder, random init, fine-tuned end to end", tuned_random]],
                 ["features", "test accuracy"], fmt=".4f",
                 title=f"fine-tuning: {FT_EPOCHS} epoch(s) on {N_PROBE:,} labelled images, "
                       f"{len(x_test):,} test images ({tuned_s:.0f} s and {tuned_random_s:.0f} s)")
    print(f"fine-tuned end to end the MAE's encoder reaches {tuned:.2%} against its frozen "
          f"probe's {trained:.2%}; the MAE's start is worth {100 * (tuned - tuned_random):+.2f} "
          "points over the random one (He et al. fine-tune for 100 epochs on ImageNet)")

# %% [markdown]
# ## Masking ratio (real run on full MNIST)
# The same model trained with 25%, 50%, 75% and 90% hidden, each for SWEEP_EPOCHS epoch(s)
# (a shorter budget than the main model's, so that the sweep fits the time budget).
# Reconstruction error is measured twice: at the model's own ratio (the task it was trained
# on) and at a common 75%.

# %%
if not SWEEP and not Q:
    print("masking-ratio sweep: on full MNIST only (four more models; the page shows that run's)")
if SWEEP:
    rows = []
    for r in RATIOS:
        model, _ = train(r, lesson.seed, SWEEP_EPOCHS)
        p_own, m_own = predictions(model, x_test, r, seed=2000 + lesson.seed)
        p_75, m_75 = predictions(model, x_test, MAIN, seed=1000 + lesson.seed)
        probe = linear_probe(features(model, probe_x), features(model, x_test))
        rows.append([r, masked_mse(p_own, test_patches, m_own),
                     masked_mse(p_75, test_patches, m_75), probe])
    lesson.table(rows, ["mask ratio", "MSE at own ratio", "MSE at 75%", "probe accuracy"],
                 fmt=[".2f", ".4f", ".4f", ".4f"],
                 title=f"masking-ratio sweep (same model and seed, {SWEEP_EPOCHS} epoch(s) each)")
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4.4))
    rs = [row[0] for row in rows]
    ax1.plot(rs, [row[2] for row in rows], "o-", lw=2, ms=8, label="evaluated at 75%")
    ax1.plot(rs, [row[1] for row in rows], "s--", lw=2, ms=8, label="at its own ratio")
    ax1.set_ylabel("hidden-patch test MSE / pixel", fontsize=13)
    ax2.plot(rs, [100 * row[3] for row in rows], "o-", lw=2, ms=8, color="C2")
    ax2.set_ylabel("linear-probe test accuracy (%)", fontsize=13)
    for ax in (ax1, ax2):
        ax.set_xlabel("training mask ratio", fontsize=13)
        ax.set_xticks(rs)
        ax.tick_params(labelsize=12)
        ax.grid(alpha=0.3)
    ax1.legend(fontsize=12)
    fig.suptitle(f"Masking ratio on MNIST ({SWEEP_EPOCHS} epoch each)", fontsize=14)
    fig.tight_layout()
    lesson.figure(fig, "mask_ratio")
    best = max(rows, key=lambda row: row[3])[0]
    print(f"best probe accuracy at mask ratio {best:g} (He et al.: 75% on ImageNet)")

# %% [markdown]
# ## The claims
# Checked last, after every number above has been printed. Quick mode trains for ~400 small
# steps: enough to beat the mean patch, not yet the mean image (an MAE first learns where ink
# usually is, which is what the mean image knows).

# %%
factor = 1.2 if Q else 1.5
lesson.check(errors["MAE"] * factor < errors["mean patch"],
             f"the MAE's hidden-patch MSE {errors['MAE']:.4f} is over {factor:g}× below the "
             f"mean patch fill's {errors['mean patch']:.4f}")
lesson.check(errors["MAE"] * 1.2 < errors["training-set mean image"],
             f"the MAE fills the hidden patches over 1.2× better than the training-set mean "
             f"image: MSE {errors['MAE']:.4f} vs {errors['training-set mean image']:.4f}",
             needs="embedded")
lesson.check(trained > random_init + 0.02,
             f"the MAE-trained encoder's features are linearly more separable than the same "
             f"encoder's untrained (by > 2 points): probe {trained:.2%} vs {random_init:.2%}",
             needs="embedded")
if FINE_TUNE:
    lesson.check(tuned > trained + 0.01 and tuned > tuned_random + 0.01,
                 f"fine-tuned end to end, the MAE's encoder beats its own frozen probe and the "
                 f"same fine-tuning from the random start (each by > 1 point): {tuned:.2%} vs "
                 f"{trained:.2%} and {tuned_random:.2%}", needs="full")

lesson.done()
