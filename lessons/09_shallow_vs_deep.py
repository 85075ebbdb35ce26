# %% [markdown]
# # Lesson 09 · Shallow vs deep autoencoders on MNIST
#
# (A) Same code size (20 numbers), same training: a one-layer encoder/decoder 784-20-784
#     against a deeper one 784-256-64-20-64-256-784. Depth buys a lower test error.
#
# (B) The network of Hinton & Salakhutdinov (2006), 784-1000-500-250-30 mirrored, with a
#     linear code and logistic (sigmoid) output units, against
#       PCA-30            the best linear code: r = μ + U₃₀U₃₀ᵀ(x − μ)        reference 13.87
#       logistic PCA      784-30-784, linear code, sigmoid output, trained      reference  8.01
#       deep AE           reference 3.00 (RBM pretraining + long fine-tuning; we train end to
#                         end with Adam for a fixed wall-clock budget instead)
#     all in squared error per test image, (1/N) Σₙ Σᵢ (rₙᵢ − xₙᵢ)² (tinyae.losses.sse).
#
# Every model here is trained as H&S did, with the cross-entropy of the pixels
#     E = −Σᵢ [xᵢ log rᵢ + (1 − xᵢ) log(1 − rᵢ)],   r = σ(z),
# computed from the output layer's logits z (losses.bce_with_logits: stable, z̄ = σ(z) − x),
# and evaluated in squared error. So the model's last layer is linear and r = σ(z).
#
# Run: `python lessons/09_shallow_vs_deep.py [--quick] [--minutes M] [--max-epochs E] [--out DIR] [--seed N]`
# (the real run needs the full MNIST: set TINYAE_DATA to the folder holding mnist/).

# %%
import time

import numpy as np
from matplotlib.ticker import FormatStrFormatter

import tinyae.functional as F
from tinyae import Tensor, backend, losses, no_grad, optim, viz
from tinyae.data import DataLoader
from tinyae.lesson import Lesson, positive
from tinyae.models import MLPAutoencoder, pca
from tinyae.train import fit
from tinyae.train.budget import fit_in_budget, matmul_gflops

REFERENCE = {"PCA-30": 13.87, "logistic PCA": 8.01, "deep AE": 3.00}  # H&S 2006, Fig. 2
PCA20_MSE = 0.02354  # PCA k=20 test MSE per pixel (SVD of the 60k train set; lesson 06)


def add_arguments(parser):
    parser.add_argument("--minutes", type=positive(float), default=12.0,
                        help="wall-clock budget for training the deep network of part B "
                             "(default 12); its number of epochs is chosen from the first "
                             "epoch's time")
    parser.add_argument("--max-epochs", type=positive(int), default=30,
                        help="at most this many epochs for the deep network (default 30): on a "
                             "fast machine or the small embedded data a time budget alone would "
                             "run hundreds of epochs, and the network would overfit")


lesson = Lesson(
    9, "Shallow vs deep",
    claim="With the same code size, a deep autoencoder reconstructs MNIST better than a "
          "shallow one; the 784-1000-500-250-30 network beats logistic PCA, which beats PCA "
          "(squared error per test image: deep < logistic PCA < PCA-30 = 13.87).",
    reference="Hinton & Salakhutdinov 2006, Fig. 2: deep 3.00, logistic PCA 8.01, PCA 13.87",
    add_arguments=add_arguments)

x_train, _ = lesson.mnist("train", quick_n=1000)
x_test, y_test = lesson.mnist("test", quick_n=500)
full_data = len(x_train) == 60_000 and len(x_test) == 10_000
comparable = full_data and not lesson.quick  # only then do H&S's numbers sit beside ours
BATCH = 32 if lesson.quick else 128  # quick: more, smaller steps on 1,000 images


# %% [markdown]
# ## Training and evaluation, shared by every model

# %%
def bce_per_image(model, x):
    """The training objective: cross-entropy summed over the 784 pixels, batch mean."""
    return losses.bce_with_logits(model(x), x, reduction="batchmean")


def sse_per_image(model, x):
    """Squared error per image of r = σ(logits): Σᵢ (rᵢ − xᵢ)², batch mean."""
    return losses.sse(F.sigmoid(model(x)), x)


def squared_error(reconstruct, x, batch=1000):
    """(1/N) Σₙ ‖r(xₙ) − xₙ‖² over the test set, in batches; reconstruct maps arrays to arrays."""
    total = 0.0
    for i in range(0, len(x), batch):
        xb = x[i:i + batch]
        total += float(((reconstruct(xb) - xb) ** 2).sum())
    return total / len(x)


def reconstruct_with(model):
    def r(x):
        with no_grad():
            return F.sigmoid(model(Tensor(lesson.asarray(x)))).numpy()
    return r


def train(model, epochs, lr, name):
    """Adam on the cross-entropy; the learning rate decays by cosine from lr to lr/100 over the
    epochs. Test squared error per image after every epoch. Returns (history, seconds)."""
    opt = optim.Adam(model.parameters(), lr=lr)
    loader = DataLoader(lesson.asarray(x_train), batch_size=BATCH, shuffle=True, seed=lesson.seed)
    sched = optim.CosineAnnealingLR(opt, T_max=epochs, eta_min=lr / 100)
    began = time.perf_counter()
    print(f"training {name}: {epochs} epoch(s) of {len(loader)} mini-batches of {BATCH}")
    history = fit(model, opt, loader, epochs, loss_fn=bce_per_image, scheduler=sched,
                  val_loader=DataLoader(lesson.asarray(x_test), batch_size=1000),
                  metrics={"sse": sse_per_image}, seed=lesson.seed, verbose=not lesson.quick)
    return history, time.perf_counter() - began


def n_params(model):
    return sum(p.size for p in model.parameters())


# %% [markdown]
# ## (A) Same code size, different depth: 784-20-784 vs 784-256-64-20-64-256-784
# Both have a linear code of 20 and sigmoid outputs; the deep one has ELU hidden layers.
# PCA-20 (reference MSE 0.02354 per pixel) shows where the best linear code stands.

# %%
epochs_a = 10 if lesson.quick else 5
shallow = MLPAutoencoder([784, 20], latent_activation=None, output_activation=None,
                         rng=lesson.seed)
deeper = MLPAutoencoder([784, 256, 64, 20], activation="elu", latent_activation=None,
                        output_activation=None, rng=lesson.seed)
hist_shallow, time_shallow = train(shallow, epochs_a, 2e-3, "784-20-784")
hist_deeper, time_deeper = train(deeper, epochs_a, 2e-3, "784-256-64-20-64-256-784")
p20 = pca(x_train, 20)
err_a = {"PCA-20": squared_error(p20.reconstruct, x_test),
         "784-20-784": squared_error(reconstruct_with(shallow), x_test),
         "784-256-64-20 (mirrored)": squared_error(reconstruct_with(deeper), x_test)}
lesson.table(
    [["PCA-20 (closed form)", err_a["PCA-20"], err_a["PCA-20"] / 784,
      PCA20_MSE if comparable else None, None, None],
     ["784-20-784", err_a["784-20-784"], err_a["784-20-784"] / 784, None, epochs_a,
      time_shallow],
     ["784-256-64-20 (mirrored)", err_a["784-256-64-20 (mirrored)"],
      err_a["784-256-64-20 (mirrored)"] / 784, None, epochs_a, time_deeper]],
    ["model (code 20)", "test sq. error/image", "test MSE/pixel", "reference MSE/pixel",
     "epochs", "time (s)"], fmt=["", ".3f", ".5f", ".5f", "", ".0f"],
    title="(A) test reconstruction error with a 20-number code")
slack = 1.1 if lesson.quick else 1.0  # quick: 1,000 images, a loose version
lesson.check(err_a["784-256-64-20 (mirrored)"] < slack * err_a["784-20-784"],
             f"(A) the deep AE reaches a lower test error than {slack:g} × the shallow one's "
             f"with the same code size, epochs and learning rate: "
             f"{err_a['784-256-64-20 (mirrored)']:.2f} vs {err_a['784-20-784']:.2f} per image")
show = np.array([int(np.flatnonzero(y_test == d)[0]) for d in range(10)])
lesson.figure(viz.image_grid(
    [x_test[show], reconstruct_with(shallow)(x_test[show]), reconstruct_with(deeper)(x_test[show])],
    ["test digits", "784-20-784", "784-256-64-20"],
    title="(A) reconstructions with a 20-number code"), "A_reconstructions")

# %% [markdown]
# ## (B) PCA-30, logistic PCA 784-30-784, and the deep 784-1000-500-250-30
# The deep network has H&S's layer sizes, a linear code of 30 and sigmoid outputs: 2.8 M
# weights. Its hidden units are ELUs, not H&S's logistic units: trained end to end from a
# random start, eight layers of logistic units sit for a long time on a plateau near the mean
# image (the difficulty H&S's RBM pretraining was invented to get around); ELUs do not.
# Its number of epochs is what fits in --minutes, at most --max-epochs. Quick mode uses a narrower 784-256-128-64-30.

# %%
began = time.perf_counter()
p30 = pca(x_train, 30)
time_pca = time.perf_counter() - began
err_b = {"PCA-30": squared_error(p30.reconstruct, x_test)}
print(f"PCA-30: {err_b['PCA-30']:.3f} squared error per test image "
      f"({'reference 13.87' if comparable else 'H&S: 13.87 on the full 60k/10k, not comparable'}) "
      f"in {time_pca:.1f} s")

logistic = MLPAutoencoder([784, 30], latent_activation=None, output_activation=None,
                          rng=lesson.seed)
epochs_logistic = 10 if lesson.quick else 20
hist_logistic, time_logistic = train(logistic, epochs_logistic, 3e-3, "logistic PCA 784-30-784")
err_b["logistic PCA"] = squared_error(reconstruct_with(logistic), x_test)

deep_sizes = [784, 256, 128, 64, 30] if lesson.quick else [784, 1000, 500, 250, 30]
deep_name = "deep AE " + "-".join(map(str, deep_sizes))
deep = MLPAutoencoder(deep_sizes, activation="elu", latent_activation=None,
                      output_activation=None, rng=lesson.seed)
# fit_in_budget: one epoch at the full learning rate tells how long an epoch takes on this
# machine now; the epochs that fit in the budget then decay the learning rate by cosine.
lr_deep = 1e-3
budget = ("10 epochs" if lesson.quick else f"the epochs that fit in {lesson.args.minutes:g} "
          f"minutes, at most {lesson.args.max_epochs}")
print(f"training {deep_name}: {budget}")
began = time.perf_counter()
hist_deep = fit_in_budget(
    deep, optim.Adam(deep.parameters(), lr=lr_deep),
    DataLoader(lesson.asarray(x_train), batch_size=BATCH, shuffle=True, seed=lesson.seed),
    minutes=None if lesson.quick else lesson.args.minutes,
    max_epochs=10 if lesson.quick else lesson.args.max_epochs,
    loss_fn=bce_per_image, val_loader=DataLoader(lesson.asarray(x_test), batch_size=1000),
    metrics={"sse": sse_per_image}, verbose=not lesson.quick)
epochs_deep, time_deep = hist_deep.epochs, time.perf_counter() - began
err_b["deep AE"] = squared_error(reconstruct_with(deep), x_test)

# Where the time goes: 2 · 3 FLOP per weight and example (forward, and backward for x̄ and W̄).
flops_epoch = 6 * n_params(deep) * len(x_train)
time_1 = hist_deep["epoch_time"][0]
print(f"deep AE: {n_params(deep):,} parameters, {flops_epoch / 1e12:.3g} TFLOP per epoch; "
      f"first epoch {time_1:.0f} s = {flops_epoch / time_1 / 1e9:.1f} GFLOP/s; a bare "
      f"({BATCH}×784)·(784×1000) float32 matmul runs at "
      f"{matmul_gflops(BATCH, 784, 1000, xp=backend.default_module()):.0f} GFLOP/s right now")

# %%
rows = [["PCA-30 (closed form)", err_b["PCA-30"], REFERENCE["PCA-30"], None, time_pca],
        ["logistic PCA 784-30-784", err_b["logistic PCA"], REFERENCE["logistic PCA"],
         epochs_logistic, time_logistic],
        [deep_name, err_b["deep AE"], REFERENCE["deep AE"], epochs_deep,
         time_deep]]
ref_header = "reference" if comparable else "H&S (full data)*"
lesson.table(rows, ["model", "ours", ref_header, "epochs", "time (s)"],
             fmt=["", ".3f", ".2f", "", ".0f"],
             title="(B) squared error per test image, sum over 784 pixels, mean over "
                   f"{len(x_test):,} test images")
if not comparable:
    print(f"* H&S trained on 60,000 images for many epochs; this run used {len(x_train):,} "
          "images and a short training: its numbers are NOT comparable with that column.")

if full_data:
    lesson.check(abs(err_b["PCA-30"] - REFERENCE["PCA-30"]) < 0.02 * REFERENCE["PCA-30"],
                 f"(B) PCA-30 on the full MNIST matches H&S: {err_b['PCA-30']:.3f} vs 13.87")
if lesson.quick:
    # 1,000 images and 10 epochs are far too few for the deep AE to overtake logistic PCA and
    # PCA (here it does not): the quick run of (B) is a smoke run, not a test of the claim.
    mean_image = squared_error(lambda x: np.broadcast_to(x_train.mean(axis=0), x.shape), x_test)
    lesson.smoke(max(err_b.values()) < mean_image,
                 f"(B) every model trains and beats the mean image ({mean_image:.1f}): "
                 + ", ".join(f"{k} {v:.1f}" for k, v in err_b.items()))
lesson.check(err_b["deep AE"] < err_b["logistic PCA"] < err_b["PCA-30"],
             f"(B) deep < logistic PCA < PCA-30: {err_b['deep AE']:.2f} < "
             f"{err_b['logistic PCA']:.2f} < {err_b['PCA-30']:.2f}", needs="embedded")

# %% [markdown]
# ## Figures: reconstructions and test error per epoch

# %%
# A quick run's figures say so on their face: its ordering of the models is not the claim's.
SMOKE_NOTE = ("\nSMOKE RUN (--quick: 1,000 images, 10 epochs): NOT the claim's ordering"
              if lesson.quick else "")
# PCA's reconstructions leave [0, 1] a little; clipped for display only, so that all rows share
# the pixels' 0–1 grey scale (the errors above are of the unclipped reconstructions).
lesson.figure(viz.image_grid(
    [x_test[show], np.clip(p30.reconstruct(x_test[show]), 0, 1),
     reconstruct_with(logistic)(x_test[show]),
     reconstruct_with(deep)(x_test[show])],
    ["test digits", "PCA-30", "logistic PCA", "deep AE"],
    title="(B) reconstructions from 30 numbers" + SMOKE_NOTE), "B_reconstructions")
fig = viz.loss_curves({"logistic PCA 784-30-784": hist_logistic["val_sse"],
                       deep_name: hist_deep["val_sse"],
                       "(A) 784-20-784": hist_shallow["val_sse"],
                       "(A) 784-256-64-20": hist_deeper["val_sse"]},
                      logy=True, title="test squared error per image after each epoch"
                      + SMOKE_NOTE)
ax = fig.axes[0]
ax.axhline(err_b["PCA-30"], color="k", ls="--", lw=1, label=f"PCA-30 ({err_b['PCA-30']:.2f})")
ax.axhline(err_a["PCA-20"], color="0.5", ls=":", lw=1, label=f"PCA-20 ({err_a['PCA-20']:.2f})")
ticks = [1, 2, 3, 4, 5, 6, 8, 10, 15, 20, 30, 40, 60, 100]
low, high = ax.get_ylim()
ax.set_yticks([t for t in ticks if low <= t <= high], minor=False)
ax.set_yticks([], minor=True)
ax.yaxis.set_major_formatter(FormatStrFormatter("%g"))
ax.set_ylabel("squared error per test image")
ax.legend(loc="center left", bbox_to_anchor=(1.01, 0.5), frameon=False)  # curves fill the plot
fig.set_size_inches(10, 5)
lesson.figure(fig, "test_error_curves")

lesson.done()
