# %% [markdown]
# # Lesson 14 · Autoencoders as initialisation: greedy and end-to-end pretraining
#
# Before good initialisations and optimizers, deep networks were started from autoencoders
# (Bengio et al. 2007; Vincent et al. 2010). The course's recipe has three steps:
#
# 1. **Pretrain, greedily, one layer at a time, without labels.** Layer 1 is the encoder of a
#    shallow AE trained on x: z₁ = f(W₁[x, 1]). Layer 2 is the encoder of a shallow AE trained
#    on z₁ (layer 1 fixed), layer 3 on z₂, …  Each shallow AE may be plain, denoising (SdA,
#    masking noise) or contractive (CAE).
# 2. **Fine-tune step 1:** put a softmax layer on top and train it alone (encoder frozen).
# 3. **Fine-tune step 2:** train everything, with the labels.
#
# "Another technique": train one deep AE end to end and start the classifier from its encoder.
# The gain is largest when labels are few (Erhan et al. 2010): the unlabelled images shape
# the features, the few labels only have to name them. We measure the test error with 100
# labels per class and with all 60,000, for five initialisations, with the same fine-tuning
# budget and seeds. And we ask whether the frozen codes alone are better features for a linear
# classifier than the raw pixels.
#
# Run: `python lessons/14_pretraining.py [--quick] [--out DIR] [--seed N]`

# %%
import time

import matplotlib.pyplot as plt
import numpy as np

from tinyae import viz
from tinyae.lesson import Lesson
from tinyae.models import (Classifier, end_to_end_pretrain, encode_all, error_rate, fine_tune,
                           greedy_pretrain, linear_probe, random_encoder)

lesson = Lesson(
    14, "Autoencoders as initialisation",
    claim="Greedy layer-wise pretraining with denoising autoencoders (SdA, 25% masking noise), "
          "then fine-tuning (the softmax layer alone, then everything), gives a clearly lower "
          "MNIST test error than random initialisation when only 100 labels per class are "
          "used; and the frozen codes of an overcomplete denoising or contractive AE are "
          "better features for a linear classifier than the raw pixels.",
    reference="Vincent et al. 2010 (SdA-3 1.28% MNIST test error, all labels); Rifai et al. "
              "2011 (CAE 1.14%); Bengio et al. 2007, Erhan et al. 2010 (greedy pretraining "
              "helps most with few labels)",
    paper="SdA-3 as Vincent et al. 2010 train it, on full MNIST")
if lesson.paper:   # --paper: the published setup instead (tinyae/paper/sda.py), ~40 min
    from tinyae.paper import sda
    lesson.run_paper(sda.run)

# %% [markdown]
# ## The budget
# Sigmoid units everywhere (as in the papers). The real run must finish in 15 minutes on a
# 2-core CPU, so the network is 784-200-200-200-10 (the papers: 1000 units per layer, or
# more), each layer is pretrained for 3 epochs on 20,000 unlabelled training images (the
# papers: all 60,000, for tens to hundreds of epochs), and fine-tuning on all 60,000 labels
# gets 1 + 2 epochs (the papers: hundreds, with early stopping).

# %%
Q = lesson.quick
SIZES = [784, 64, 64] if Q else [784, 200, 200, 200]
OVERCOMPLETE = 800 if Q else 1000       # the single-layer DAE/CAE whose codes feed a softmax
N_UNLABELLED = 2000 if Q else 20_000    # images used without labels for pretraining
PER_CLASS = 20 if Q else 100            # "few labels": this many per class
SEEDS = [lesson.seed] if Q else [lesson.seed + k for k in range(3)]
PRE_EPOCHS = 6 if Q else 3              # per greedy layer
E2E_EPOCHS = 6 if Q else 3              # the deep AE trained end to end
PRE_BATCH = 32 if Q else 128
PRE_LR = 3e-3
NOISE, LAMBDA = 0.25, 0.3               # SdA masking fraction; CAE contraction weight
FEW = dict(epochs_last=10 if Q else 20, epochs_all=30 if Q else 50, batch_size=32 if Q else 64, lr=1e-3, lr_last=3e-3)
ALL = dict(epochs_last=1, epochs_all=2, batch_size=32 if Q else 128, lr=1e-3, lr_last=3e-3)
PROBE_EPOCHS = 10 if Q else 5
OVER_EPOCHS = 2 if Q else 3

x_train, y_train = lesson.mnist("train", quick_n=N_UNLABELLED)
x_test, y_test = lesson.mnist("test", quick_n=1000)
y_train, y_test = y_train.astype(np.int64), y_test.astype(np.int64)
y_host = y_train   # few_labels() draws its per-class examples on the host
x_train, y_train, x_test, y_test = (lesson.asarray(a) for a in (x_train, y_train, x_test, y_test))
x_unlabelled = x_train[:N_UNLABELLED]
print(f"network {'-'.join(map(str, SIZES))}-10 (sigmoid); pretraining on {len(x_unlabelled):,} "
      f"unlabelled images; seeds {SEEDS}")


def few_labels(seed):
    """PER_CLASS examples of each digit, drawn with the seed (the same for every method)."""
    rng = np.random.default_rng(1000 + seed)
    idx = np.concatenate([rng.choice(np.flatnonzero(y_host == c), PER_CLASS, replace=False)
                          for c in range(10)])
    idx = lesson.asarray(idx)
    return x_train[idx], y_train[idx]


timer = {}


def timed(name, fn, *args, **kwargs):
    start = time.perf_counter()
    out = fn(*args, **kwargs)
    timer[name] = timer.get(name, 0.0) + time.perf_counter() - start
    return out


# %% [markdown]
# ## Step 1: pretrain, one layer at a time (and the end-to-end deep AE)
# For each seed: three greedy stacks (plain, denoising, contractive: each layer a
# `MLPAutoencoder([n_in, n_out])` with a sigmoid code and tied weights, trained with
# cross-entropy in nats per example), and one deep AE 784-200-200-200-200-200-784 trained end
# to end (same widths, 3 epochs). The random initialisation is the same architecture with PyTorch's default init.

# %%
KINDS = {"greedy plain AE": "plain", "greedy denoising (SdA)": "denoising",
         "greedy contractive (CAE)": "contractive"}
METHODS = ["random init", *KINDS, "end-to-end deep AE"]
encoders, curves = {}, {}
for seed in SEEDS:
    encoders[seed] = {"random init": random_encoder(SIZES, seed=seed)}
    for name, kind in KINDS.items():
        enc, hist = timed("pretrain (greedy)", greedy_pretrain, SIZES, x_unlabelled,
                          ae_kind=kind, epochs=PRE_EPOCHS, batch_size=PRE_BATCH, lr=PRE_LR,
                          noise=NOISE, contraction=LAMBDA, x_val=x_test[:1000], seed=seed)
        encoders[seed][name] = enc
        if seed == SEEDS[0]:
            curves[name] = [h["val_reconstruction"] for h in hist]
    enc, hist = timed("pretrain (end-to-end)", end_to_end_pretrain, SIZES, x_unlabelled,
                      epochs=E2E_EPOCHS, batch_size=PRE_BATCH, lr=PRE_LR, x_val=x_test[:1000],
                      seed=seed)
    encoders[seed]["end-to-end deep AE"] = enc
    if seed == SEEDS[0]:
        curves["end-to-end deep AE"] = hist["val_reconstruction"]
    print(f"seed {seed}: pretrained 3 greedy stacks and the deep AE "
          f"({sum(v for k, v in timer.items() if k.startswith('pretrain')):.0f} s so far)")

rows = [[name, k + 1, f"{SIZES[k]}→{SIZES[k + 1]}", c[0], c[-1]]
        for name in KINDS for k, c in enumerate(curves[name])]
rows.append(["end-to-end deep AE", "all", "784→…→784", curves["end-to-end deep AE"][0],
             curves["end-to-end deep AE"][-1]])
lesson.table(rows, ["stack", "layer", "shape", "recon. after epoch 1", f"after {PRE_EPOCHS}"],
             fmt=".2f", title=f"clean reconstruction error on 1,000 test images (nats per "
                              f"example, seed {SEEDS[0]}): every layer learns")
lesson.check(all(c[-1] < c[0] for name in KINDS for c in curves[name]),
             "every greedy layer's clean reconstruction error falls during its pretraining")

# %% [markdown]
# ## Steps 2 and 3: fine-tune, last layer alone, then everything
# Same budget and seeds for every initialisation. Few labels: 100 per class (1,000 images),
# 20 epochs of the softmax layer alone, then 50 epochs of everything. All labels: 1 epoch
# of the softmax layer, then 2 of everything.

# %%
results = {regime: {m: [] for m in METHODS} for regime in ("few", "all")}
after_step1 = {m: [] for m in METHODS}
for seed in SEEDS:
    x_few, y_few = few_labels(seed)
    for name in METHODS:
        model = Classifier(encoders[seed][name], rng=seed)   # a copy: the encoder stays as is
        h = timed("fine-tune (few labels)", fine_tune, model, x_few, y_few, seed=seed,
                  **{**FEW, "epochs_all": 0})
        after_step1[name].append(error_rate(model, x_test, y_test))
        timed("fine-tune (few labels)", fine_tune, model, x_few, y_few, seed=seed,
              **{**FEW, "epochs_last": 0})
        results["few"][name].append(error_rate(model, x_test, y_test))
        model = Classifier(encoders[seed][name], rng=seed)
        timed("fine-tune (all labels)", fine_tune, model, x_train, y_train, seed=seed, **ALL)
        results["all"][name].append(error_rate(model, x_test, y_test))
        print(f"seed {seed} {name:26s} few: step 1 {after_step1[name][-1]:.2%} → step 2 "
              f"{results['few'][name][-1]:.2%}   all labels: {results['all'][name][-1]:.2%}")


def mean_spread(v):
    v = 100 * np.asarray(v)
    return f"{v.mean():.2f} ± {v.std():.2f}" if len(v) > 1 else f"{v[0]:.2f}"


spread = "mean ± std over seeds" if len(SEEDS) > 1 else "one seed"
lesson.table([[m, mean_spread(after_step1[m]), mean_spread(results["few"][m]),
               mean_spread(results["all"][m])] for m in METHODS] +
             [["SdA-3, Vincent et al. 2010", "—", "—", "1.28"],
              ["CAE, Rifai et al. 2011", "—", "—", "1.14"]],
             ["initialisation", f"{PER_CLASS}/class: step 1 (softmax only)",
              f"{PER_CLASS}/class: step 2 (all)", f"all {len(x_train):,} labels"],
             title=f"MNIST test error % on {len(x_test):,} test images ({spread}, "
                   f"seeds {SEEDS})")

rand, sda = np.mean(results["few"]["random init"]), np.mean(results["few"]["greedy denoising (SdA)"])
margin = 0.005 if Q else 0.01
lesson.check(rand - sda > margin,
             f"with {PER_CLASS} labels per class greedy denoising pretraining beats random "
             f"initialisation clearly: {sda:.2%} vs {rand:.2%} test error (by > "
             f"{margin:.1%} points{'' if Q else ', mean of ' + str(len(SEEDS)) + ' seeds'})")
if not Q:
    worst_sda = max(results["few"]["greedy denoising (SdA)"])
    best_rand = min(results["few"]["random init"])
    lesson.check(worst_sda < best_rand,
                 f"... and in every seed: the worst SdA run ({worst_sda:.2%}) beats the best "
                 f"random-init run ({best_rand:.2%})")

# %% [markdown]
# ## The frozen codes as features for a linear classifier
# Softmax regression (Adam, all labels) on the raw pixels, and on the frozen codes of the
# encoders above (their top layer, seed 0) and of one overcomplete layer 784 → 1000 trained as
# a DAE or a CAE. The codes are computed once; only the softmax layer is trained.

# %%
seed0 = SEEDS[0]
over = {}
for name, kind in (("overcomplete DAE", "denoising"), ("overcomplete CAE", "contractive")):
    enc, _ = timed("pretrain (overcomplete)", greedy_pretrain, [784, OVERCOMPLETE], x_unlabelled,
                   ae_kind=kind, epochs=OVER_EPOCHS, batch_size=PRE_BATCH, lr=PRE_LR, noise=NOISE,
                   contraction=LAMBDA, seed=seed0, progress=False)
    over[f"{name} (784→{OVERCOMPLETE}, layer 1)"] = enc
features = {"raw pixels (784)": None, **over,
            **{f"{m} (top layer, {SIZES[-1]})": encoders[seed0][m] for m in METHODS}}
probe = {}
for name, enc in features.items():
    f_train = x_train if enc is None else encode_all(enc, x_train)
    f_test = x_test if enc is None else encode_all(enc, x_test)
    probe[name] = timed("linear probes", linear_probe, f_train, y_train, f_test, y_test,
                        epochs=PROBE_EPOCHS, batch_size=256, seed=seed0)
lesson.table([[n, 100 * e] for n, e in probe.items()], ["softmax regression on", "test error %"],
             fmt=".2f", title=f"frozen features, {len(x_train):,} labelled training images, "
                              f"{PROBE_EPOCHS} epochs")
pixels = probe["raw pixels (784)"]
# 1000 overcomplete units need the full training set to learn features that beat the pixels;
# on the embedded subset (seed 0: DAE 11.70% vs pixels 11.20%) they do not.
for name in over:
    lesson.check(probe[name] < pixels,
                 f"the codes of the {name} beat the raw pixels for a linear classifier: "
                 f"{probe[name]:.2%} vs {pixels:.2%} test error", needs="full")

# %% [markdown]
# ## Figures: the three steps, the reconstruction curves, the filters, the test errors

# %%
def draw_steps(few_sda):
    """The course's three steps as a diagram, with the few-label SdA numbers."""
    fig, axes = plt.subplots(1, 3, figsize=(16, 5.6), gridspec_kw=dict(width_ratios=[1.1, 1, 1]))
    sub = "₀₁₂₃₄₅₆₇₈₉"
    names = ["x"] + [f"z{sub[k]}" for k in range(1, len(SIZES))] + ["y"]
    widths = SIZES + [10]

    def box(ax, x, y, text, color, ls="-"):
        ax.add_patch(plt.Rectangle((x - 0.36, y - 0.22), 0.72, 0.44, facecolor=color,
                                   edgecolor="k", ls=ls, lw=1.2, alpha=0.9))
        ax.text(x, y, text, ha="center", va="center", fontsize=13)

    def arrow(ax, x0, x1, y):
        ax.annotate("", (x1 - 0.37, y), (x0 + 0.37, y), arrowprops=dict(arrowstyle="->", lw=1.5))

    ax = axes[0]
    n = len(SIZES) - 1
    for k in range(1, n + 1):
        y = n - k
        hat = "x̂" if k == 1 else f"ẑ{sub[k - 1]}"
        box(ax, 0, y, f"{names[k - 1]}\n{widths[k - 1]}", "0.8")
        box(ax, 1, y, f"{names[k]}\n{widths[k]}", "tab:orange")
        box(ax, 2, y, f"{hat}\n{widths[k - 1]}", "white", ls="--")
        arrow(ax, 0, 1, y)
        arrow(ax, 1, 2, y)
        ax.text(-0.55, y, f"AE {k}", ha="right", va="center", fontsize=13, fontweight="bold")
    ax.set_xlim(-1.1, 2.5)
    ax.set_ylim(-0.6, n - 0.4)
    ax.set_title("pretrain greedily, no labels\n(AE k is trained on the codes of AE k−1)",
                 fontsize=14)
    # The deck's names, which the script prints too: pretraining, then fine-tuning steps 1, 2
    for ax, title, frozen, err in (
            (axes[1], "fine-tune step 1: the last layer alone\n(encoder frozen)", True,
             few_sda[0]),
            (axes[2], "fine-tune step 2: everything\n(all layers trained)", False, few_sda[1])):
        for i, (name, w) in enumerate(zip(names, widths)):
            label = "y" if i == len(names) - 1 else name
            color = "0.8" if i == 0 else ("0.8" if frozen and i < len(names) - 1 else
                                          "tab:cyan")
            box(ax, 0, len(names) - 1 - i, f"{label} {w}", color)
            if i:
                ax.annotate("", (0, len(names) - 1 - i + 0.23), (0, len(names) - i - 0.23),
                            arrowprops=dict(arrowstyle="->", lw=1.5))
        ax.text(0.5, 2, f"SdA, {PER_CLASS} labels/class:\n{100 * err:.1f}% test error",
                ha="left", va="center", fontsize=13)
        ax.set_xlim(-0.6, 2.4)
        ax.set_ylim(-0.5, len(names) - 0.5)
        ax.set_title(title, fontsize=14)
    for ax in axes:
        ax.axis("off")
    fig.text(0.5, 0.0, "grey: input or frozen  ·  orange: the code being learned  ·  dashed: "
             "reconstruction  ·  cyan: trained with the labels", ha="center", fontsize=12)
    return fig


sda_name = "greedy denoising (SdA)"
lesson.figure(draw_steps((np.mean(after_step1[sda_name]), np.mean(results["few"][sda_name]))),
              "steps")

# %% [markdown]
# The "other technique", end to end: one deep autoencoder trained on x without labels, then its
# encoder (weights copied) under a softmax layer, fine-tuned with the labels as above. The
# decoder is thrown away. Drawn with this run's widths and its few-label test error.

# %%
def path(widths):  # "784 → 200\n→ 200 → 200": two lines, to fit a box
    half = (len(widths) + 1) // 2
    return " → ".join(map(str, widths[:half])) + "\n→ " + " → ".join(map(str, widths[half:]))


encoder_path, decoder_path = path(SIZES), path(SIZES[::-1])
end_to_end_few = np.mean(results["few"]["end-to-end deep AE"])
lesson.figure(viz.block_diagram(
    [[("x\n784 pixels\n(no labels)", "0.85"), (f"encoder\n{encoder_path}\nsigmoid", "#9ecae1"),
      (f"code\n{SIZES[-1]} units", "0.92"), (f"decoder\n{decoder_path}\nsigmoid", "#fdae6b"),
      ("x̂: cross-\nentropy\nwith x", "0.85")],
     [("x\n784 pixels\n+ labels y", "0.85"), ("the same\nencoder\n(weights copied)", "#9ecae1"),
      (f"softmax layer\n{SIZES[-1]} → 10", "#c7e9c0"), ("cross-entropy\nwith y", "0.85")]],
    row_titles=["1. pretrain\nend to end", "2.–3. fine-tune\n(softmax alone,\nthen all)"],
    note=f"the decoder is thrown away; with {PER_CLASS} labels per class this start gave "
         f"{100 * end_to_end_few:.2f}% test error",
    title="End-to-end pretraining: one deep autoencoder, then its encoder starts the classifier"),
    "end_to_end")

fig, axes = plt.subplots(1, len(SIZES) - 1, figsize=(5 * (len(SIZES) - 1), 4.2))
for k, ax in enumerate(axes):
    for name in KINDS:
        c = curves[name][k]
        ax.plot(np.arange(1, len(c) + 1), c, marker="o", lw=2, label=name)
    ax.set_title(f"layer {k + 1}: AE {SIZES[k]} → {SIZES[k + 1]} → {SIZES[k]}", fontsize=13)
    ax.set_xlabel("epoch", fontsize=12)
    ax.set_xticks(range(1, PRE_EPOCHS + 1))
    ax.grid(alpha=0.3)
axes[0].set_ylabel("clean reconstruction error\n(nats per example, test)", fontsize=12)
axes[0].legend(fontsize=12)
fig.suptitle("greedy pretraining: each layer's autoencoder, trained on the codes below it",
             fontsize=14)
fig.tight_layout()
lesson.figure(fig, "greedy_curves")

fig, axes = plt.subplots(1, 3, figsize=(15, 5.4))
for ax, name in zip(axes, KINDS):
    w = encoders[seed0][name][0].weight.numpy()[:36]
    w = w / np.abs(w).max(axis=1, keepdims=True)
    tiles = np.full((6 * 29 - 1, 6 * 29 - 1), np.nan)
    for i, f in enumerate(w):
        r, c = divmod(i, 6)
        tiles[r * 29:r * 29 + 28, c * 29:c * 29 + 28] = f.reshape(28, 28)
    ax.imshow(tiles, cmap="RdBu_r", vmin=-1, vmax=1, interpolation="nearest")
    ax.set_title(f"{name}\nlayer 1, first 36 of {SIZES[1]} units", fontsize=13)
    ax.axis("off")
fig.suptitle("first-layer filters after greedy pretraining (red +, blue −, each tile scaled "
             "to its max |w|)", fontsize=14)
lesson.figure(fig, "filters")

fig, axes = plt.subplots(1, 2, figsize=(14, 5.2))
colors = ["0.5", "tab:orange", "tab:green", "tab:purple", "tab:blue"]
for ax, regime, title in ((axes[0], "few", f"{PER_CLASS} labels per class"),
                          (axes[1], "all", f"all {len(x_train):,} labels")):
    v = 100 * np.array([results[regime][m] for m in METHODS])
    ax.bar(range(len(METHODS)), v.mean(axis=1), yerr=v.std(axis=1) if len(SEEDS) > 1 else None,
           color=colors, capsize=6)
    for i, row in enumerate(v):
        ax.plot([i] * len(row), row, "k.", ms=8)
        ax.text(i, row.mean() / 2, f"{row.mean():.2f}", ha="center", fontsize=12,
                color="white", fontweight="bold")
    ax.set_xticks(range(len(METHODS)), ["random\ninit", "greedy\nplain AE", "greedy\nSdA",
                                        "greedy\nCAE", "end-to-end\ndeep AE"], fontsize=12)
    ax.set_ylabel("test error %", fontsize=12)
    ax.set_title(title, fontsize=14)
    ax.grid(axis="y", alpha=0.3)
for ref, label, ls in ((1.28, "SdA-3, Vincent 2010: 1.28%", "--"),
                       (1.14, "CAE, Rifai 2011: 1.14%", ":")):
    axes[1].axhline(ref, color="k", ls=ls, lw=1.5, label=label)
axes[1].legend(fontsize=12, loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=2)
fig.suptitle(f"MNIST test error after fine-tuning ({spread}; dots: single seeds)", fontsize=14)
fig.tight_layout()
lesson.figure(fig, "test_error")

print("time per phase: " + ", ".join(f"{k} {v:.0f} s" for k, v in timer.items()))
lesson.done()
