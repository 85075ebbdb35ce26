# %% [markdown]
# # Lesson 17 · Segmentation with an encoder-decoder: what the skip connections are for
#
# Semantic segmentation takes an image and returns an image of the same size in which every
# pixel carries a class. An encoder-decoder does it "preserving the spatial representation":
# the encoder pools the picture down to a coarse map of *what* is there, the decoder upsamples
# that map back to full size, and a 1×1 convolution gives C scores per pixel, trained with the
# per-pixel cross-entropy
#
#     L = (1/NHW) Σₙ Σ_ij −log softmax(z[n, :, i, j])_{c[n, i, j]}
#
# Pooling throws away *where exactly*. The U-Net (Ronneberger et al. 2015) hands it back: each
# decoder level also gets the encoder's features of the same size, joined along the channel
# axis (`concat`). We train the same network with and without these skip connections on
# synthetic scenes — circles, squares and triangles of random size, position and grey level on
# a textured, noisy background — and measure pixel accuracy, per-class IoU, mean IoU and the
# accuracy on the pixels along the shapes' boundaries, on held-out scenes.
#
# Run: `python lessons/17_segmentation.py [--quick] [--out DIR] [--seed N]`

# %%
import numpy as np
from matplotlib import colormaps
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import ListedColormap
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from tinyae import metrics, no_grad, optim
from tinyae.data import SHAPE_CLASSES, DataLoader, shapes_scenes
from tinyae.lesson import Lesson
from tinyae.models import UNet
from tinyae.train import fit

lesson = Lesson(
    17, "Segmentation: encoder-decoder with and without skips",
    claim="An encoder-decoder trained with a per-pixel cross-entropy segments held-out synthetic "
          "scenes (mean IoU well above what finding the shapes without telling them apart "
          "gives); skip connections from encoder to decoder make it better, most of all along "
          "the boundaries.",
    reference="Ronneberger, Fischer & Brox 2015, U-Net (skip connections by concatenation); "
              "IoU = |P ∩ T| / |P ∪ T| per class (Everingham et al., PASCAL VOC)")

# %% [markdown]
# ## The scenes
# 32 × 32 pixels, 1 to 3 shapes each, never overlapping. A shape's grey level is at least 0.25
# away from the background's mean, darker or lighter at random, so brightness alone does not
# say which shape it is. The generator is seeded: the training and test scenes are different
# (seeds 0 and 1) and the same on every run.

# %%
K = len(SHAPE_CLASSES)
N_TRAIN = 600 if lesson.quick else 2000
N_TEST = 100 if lesson.quick else 500
EPOCHS = 6 if lesson.quick else 10
CHANNELS = (4, 8, 16) if lesson.quick else (8, 16, 32)
LR, BATCH = (1e-2, 16) if lesson.quick else (3e-3, 32)
# quick: scenes of 16 × 16 pixels with proportionally smaller shapes (4× fewer pixels per step)
SIZE, RADIUS = (16, (2.5, 5.0)) if lesson.quick else (32, (4.0, 9.0))

x_train, y_train = shapes_scenes(N_TRAIN, size=SIZE, radius=RADIUS, seed=lesson.seed)
x_test, y_test = shapes_scenes(N_TEST, size=SIZE, radius=RADIUS, seed=lesson.seed + 1)
share = np.bincount(y_test.ravel(), minlength=K) / y_test.size
lesson.table([[name, f"{s:.1%}"] for name, s in zip(SHAPE_CLASSES, share)],
             ["class", "share of test pixels"],
             title=f"{N_TRAIN:,} training and {N_TEST:,} test scenes of {SIZE} × {SIZE} pixels")
images_test = x_test                       # on the host, for the figures
x_train, x_test = lesson.asarray(x_train), lesson.asarray(x_test)
y_train = lesson.asarray(y_train)

# %% [markdown]
# ## Two networks that differ only in the skips
# Encoder: three levels of two 3×3 convolutions (BatchNorm, ReLU), 2×2 max-pooling between
# them: 32 → 16 → 8 pixels. Decoder: 2×2 transposed convolutions back up, two 3×3 convolutions
# per level, a 1×1 convolution to 4 class scores per pixel. With skips, each decoder level
# concatenates the encoder's features of its size before its convolutions. Same data, same
# order of batches, same seed; Adam with a cosine-annealed learning rate.

# %%
models, histories, times = {}, {}, {}
for skips in (False, True):
    name = "with skips" if skips else "without skips"
    model = UNet(1, K, channels=CHANNELS, skips=skips, batchnorm=True, loss="cross_entropy",
                 rng=lesson.seed)
    opt = optim.Adam(model.parameters(), lr=LR)
    history = fit(model, opt, DataLoader(x_train, y_train, batch_size=BATCH, shuffle=True,
                                         seed=lesson.seed),
                  EPOCHS, scheduler=optim.CosineAnnealingLR(opt, EPOCHS), seed=lesson.seed,
                  verbose=False, progress=not lesson.quick)
    model.eval()
    models[name], histories[name] = model, history
    times[name] = sum(history["epoch_time"])
    print(f"{name}: {sum(p.size for p in model.parameters()):,} parameters, {EPOCHS} epochs in "
          f"{times[name]:.1f} s, final training loss {history['train_loss'][-1]:.4f}")

# %% [markdown]
# ## Held-out scenes
# IoU of a class = |predicted ∩ true| / |predicted ∪ true| over all test pixels; mean IoU
# averages the four classes. "Boundary accuracy" is the pixel accuracy on the band of pixels
# within 1 pixel of a place where the true label changes (about a quarter of the shape pixels).
#
# Two reference answers that need no network: *all background* (mean IoU ≈ ¼ of the
# background's IoU), and *shapes found, kinds unknown*: the true shape pixels, but with the
# three shape kinds relabelled by a random permutation in every scene (one guess per scene) —
# what a segmentation that separates figure from ground perfectly, and no more, can do.

# %%
band = metrics.boundary_mask(y_test)


def evaluate(scores):
    pred = scores.argmax(axis=1) if scores.ndim == 4 else scores
    return dict(pred=pred, acc=metrics.pixel_accuracy(pred, y_test),
                iou=metrics.iou(pred, y_test, K), miou=metrics.mean_iou(pred, y_test, K),
                edge=metrics.pixel_accuracy(pred[band], y_test[band]))


results = {}
for name, model in models.items():
    with no_grad():
        scores = np.concatenate([model(x_test[i:i + 250]).numpy() for i in range(0, N_TEST, 250)])
    results[name] = evaluate(scores)
results["all background"] = evaluate(np.zeros_like(y_test))
perms = np.array([np.concatenate([[0], 1 + np.random.default_rng(lesson.seed + i).permutation(3)])
                  for i in range(N_TEST)])
results["shapes found, kinds guessed"] = evaluate(
    np.take_along_axis(perms, y_test.reshape(N_TEST, -1), axis=1).reshape(y_test.shape))

rows = [[name, r["acc"], r["edge"]] + list(r["iou"]) + [r["miou"]] for name, r in results.items()]
lesson.table(rows, ["answer", "pixel acc.", "boundary acc."] + [f"IoU {c}" for c in SHAPE_CLASSES]
             + ["mean IoU"], fmt=".3f",
             title=f"{N_TEST} held-out scenes ({int(band.sum()):,} boundary pixels of "
                   f"{y_test.size:,})")

# %%
skip, plain = results["with skips"], results["without skips"]
baseline = results["shapes found, kinds guessed"]["miou"]
# 225 steps on small scenes (quick): the net with skips has begun to find figure and ground,
# the kinds of shape are not learnt yet; that run is a smoke run and asserts only that much.
if lesson.quick:
    lesson.smoke(skip["miou"] > results["all background"]["miou"] + 0.03,
                 f"with skips the mean IoU {skip['miou']:.3f} is above the all-background "
                 f"answer's {results['all background']['miou']:.3f} (the kinds of shape are not "
                 "learnt in a smoke run)")
bar = 0.75
lesson.check(skip["miou"] > bar,
             f"with skips the mean IoU is above {bar}, far above that of finding every shape "
             f"but guessing its kind: {skip['miou']:.3f} vs {baseline:.3f}", needs="embedded")
# Both nets get most pixels right, so compare what they get wrong: the error rates.
err, err_plain = 1 - skip["acc"], 1 - plain["acc"]
lesson.check(skip["miou"] > plain["miou"] and err < 0.75 * err_plain,
             f"skips help: mean IoU {skip['miou']:.3f} vs {plain['miou']:.3f}; pixel errors "
             f"{err:.2%} vs {err_plain:.2%}, {err_plain / max(err, 1e-12):.1f}× fewer (> 4/3×)",
             needs="embedded")
edge_gain, all_gain = skip["edge"] - plain["edge"], skip["acc"] - plain["acc"]
lesson.check(edge_gain > 3 * all_gain,
             f"most of all on the boundaries: boundary accuracy {skip['edge']:.3f} vs "
             f"{plain['edge']:.3f} (+{edge_gain:.3f}, more than 3× the +{all_gain:.4f} over "
             f"all pixels)", needs="embedded")

# %% [markdown]
# ## Image / truth / predictions
# The net without skips has to draw every edge from an 8 × 8 map. In the real run (2,000
# scenes, 10 epochs) it has not learnt triangles at all: it calls them background. With skips
# every shape is found, and its outline follows the image.

# %%
palette = ListedColormap(["#2b2b2b", "#e8a33d", "#3d8fe8", "#d9453d"])   # one colour per class


def scenes_figure(idx):
    rows = [("image", images_test, "grey"),
            ("ground truth", y_test, "labels")] + \
        [(f"prediction,\n{name}", results[name]["pred"], "labels")
         for name in ("without skips", "with skips")]
    fig = Figure(figsize=(1.55 * len(idx) + 1.6, 1.6 * len(rows) + 0.9), layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(len(rows), len(idx))
    for r, (title, data, kind) in enumerate(rows):
        for c, i in enumerate(idx):
            ax = axes[r, c]
            if kind == "grey":
                ax.imshow(data[i, 0], cmap=colormaps["gray"], vmin=0, vmax=1)
            else:
                ax.imshow(data[i], cmap=palette, vmin=-0.5, vmax=K - 0.5,
                          interpolation="nearest")
            ax.set_xticks([])
            ax.set_yticks([])
        axes[r, 0].set_ylabel(title, fontsize=13)
    fig.legend(handles=[Patch(color=palette(k), label=name) for k, name in enumerate(SHAPE_CLASSES)],
               loc="outside lower center", ncol=K, fontsize=13, frameon=False)
    fig.suptitle("held-out scenes: image, truth and the two nets' segmentations", fontsize=15)
    return fig


lesson.figure(scenes_figure(list(range(8))), "predictions")

# %% [markdown]
# ## Per-class IoU

# %%
fig = Figure(figsize=(11, 5.2), layout="constrained")
FigureCanvasAgg(fig)
ax = fig.add_subplot()
names = ["shapes found, kinds guessed", "without skips", "with skips"]
categories = list(SHAPE_CLASSES) + ["mean IoU", "boundary acc."]
width = 0.8 / len(names)
for j, name in enumerate(names):
    r = results[name]
    values = list(r["iou"]) + [r["miou"], r["edge"]]
    xs = np.arange(len(categories)) + (j - (len(names) - 1) / 2) * width
    bars = ax.bar(xs, values, width, label=name, color=["#b0b0b0", "#8c6bb1", "#238b45"][j])
    ax.bar_label(bars, fmt="%.2f", fontsize=12, padding=3, rotation=90)
ax.set_xticks(np.arange(len(categories)), categories, fontsize=12)
ax.set_ylim(0, 1.25)
ax.tick_params(axis="y", labelsize=12)
ax.set_ylabel("IoU / accuracy on held-out scenes", fontsize=12)
ax.axvline(len(SHAPE_CLASSES) - 0.5, color="k", lw=0.8)
fig.legend(loc="outside lower center", ncol=len(names), fontsize=12, frameon=False)
ax.set_title("per-class IoU, mean IoU and boundary accuracy on held-out scenes", fontsize=14)
lesson.figure(fig, "iou")

lesson.done()
