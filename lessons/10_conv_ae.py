# %% [markdown]
# # Lesson 10 · Convolutional vs fully connected autoencoder
#
# Both autoencoders squeeze a 28×28 digit through a code of the same size k and are trained
# the same way (Adam, BCE per pixel, the same epochs and batches). They differ in how they
# look at the image:
#
# - the **fully connected (FCN)** AE 784-256-64-k has a weight from every pixel to every
#   first-layer unit: 784·256 ≈ 200k numbers in its first layer alone, and nothing in it
#   knows that neighbouring pixels are neighbours;
# - the **convolutional** AE slides small 3×3 kernels over the image. A stride-2 conv halves
#   H and W (28 → 14 → 7 with channels 16, 32), a linear layer maps the 32×7×7 feature maps
#   to the code, and the decoder mirrors it with stride-2 *transposed* convolutions
#   (7 → 14 → 28). A conv layer has C_out·C_in·3·3 + C_out weights, whatever the image size:
#
#       Conv2d(1 → 16): 16·1·9 + 16 = 160        Conv2d(16 → 32): 32·16·9 + 32 = 4,640
#
# Nearly all of the conv AE's parameters sit in the two linear code layers (32·7·7 ↔ k).
#
# Test error is the mean binary cross-entropy per pixel, as in the Keras blog
#
#     BCE = −(1/N·784) Σₙ Σᵢ [xₙᵢ log rₙᵢ + (1 − xₙᵢ) log(1 − rₙᵢ)]
#
# and the mean squared error per pixel beside it, with PCA at the same k for scale.
#
# Run: `python lessons/10_conv_ae.py [--quick] [--out DIR] [--seed N] [--epochs E]`
# (full MNIST: `TINYAE_DATA=/path/to/data python lessons/10_conv_ae.py`)

# %%
import numpy as np

from tinyae import backend, losses, nn, optim, viz
from tinyae.autograd import no_grad
from tinyae.data import DataLoader
from tinyae.lesson import Lesson, positive
from tinyae.models import ConvAutoencoder, MLPAutoencoder, pca
from tinyae.train import fit

lesson = Lesson(
    10, "Convolutional autoencoder",
    claim="At the same code size, a convolutional AE (3×3 stride-2 convs, transposed-conv "
          "decoder) reconstructs MNIST test digits as well as or better than a deep fully "
          "connected AE, with several times fewer parameters: its conv layers need "
          "thousands of weights where the dense hidden layers need hundreds of thousands.",
    reference="Keras blog 'Building Autoencoders in Keras': conv AE test BCE ≈ 0.094 per "
              "pixel after 50 epochs (code 4×4×8 = 128); deep 784-128-64-32 ≈ 0.08–0.097",
    add_arguments=lambda p: p.add_argument("--epochs", type=positive(int), default=None,
                                           help="training epochs per model (default 15; 4 "
                                                "with --quick)"))

# %% [markdown]
# ## Data and settings
# The full 60k training set, float32 pixels in [0, 1]. The conv layers here are im2col +
# one matmul in NumPy, so a conv epoch costs about twice an FCN epoch (measured below).

# %%
K = 32                                             # code size, as the Keras deep AE
EPOCHS = lesson.args.epochs or (4 if lesson.quick else 15)
BATCH, LR = (32, 3e-3) if lesson.quick else (128, 1e-3)  # quick: more, bolder steps
x_train, _ = lesson.mnist("train")
x_test, y_test = lesson.mnist("test", quick_n=500)
x_train, x_test = lesson.asarray(x_train), lesson.asarray(x_test)
print(f"code size k = {K}, {EPOCHS} epochs, batch {BATCH}, Adam lr {LR}, BCE per pixel")

# %% [markdown]
# ## The two models
# `ConvAutoencoder(channels=(16, 32), latent=k)`: Conv(1→16, s2) ReLU, Conv(16→32, s2) ReLU,
# Flatten, Linear(1568→k) | Linear(k→1568) ReLU, Unflatten, ConvT(32→16, s2) ReLU,
# ConvT(16→1, s2) sigmoid. `MLPAutoencoder([784, 256, 64, k])`: ReLU hidden layers, a linear
# code, a sigmoid output.


# %%
conv_ae = ConvAutoencoder(channels=(16, 32), latent=K, decoder="transpose", rng=lesson.seed,
                          reconstruction="bce")
fcn_ae = MLPAutoencoder([784, 256, 64, K], rng=lesson.seed, reconstruction="bce")
models = {"FCN 784-256-64-32": fcn_ae, "conv (16, 32)": conv_ae}
if lesson.device == "gpu":
    for m in models.values():
        m.to("gpu")


def describe(layer):
    """A short name for a layer with parameters, e.g. 'Conv2d 1→16 3×3 s2'."""
    if isinstance(layer, nn.Linear):
        return f"Linear {layer.in_features}→{layer.out_features}"
    kind = type(layer).__name__
    kh, kw = layer.kernel_size
    return f"{kind} {layer.in_channels}→{layer.out_channels} {kh}×{kw} s{layer.stride}"


count = {}
for name, model in models.items():
    rows, parts = [], {}
    for part in ("encoder", "decoder"):
        for layer in getattr(model, part):
            if layer.num_parameters():
                rows.append([part, describe(layer), layer.num_parameters()])
        parts[part] = getattr(model, part).num_parameters()
    rows += [["encoder total", "", parts["encoder"]], ["decoder total", "", parts["decoder"]],
             ["total", "", model.num_parameters()]]
    lesson.table(rows, ["part", "layer", "parameters"], title=f"{name} autoencoder, k = {K}")
    # The two linear maps next to the code (…→k and k→…) vs everything else.
    code_layers = [m for m in (model.encoder[-1], model.decoder[0]) if isinstance(m, nn.Linear)]
    code = sum(m.num_parameters() for m in code_layers)
    count[name] = dict(parts, total=model.num_parameters(), code=code,
                       rest=model.num_parameters() - code)

# %% [markdown]
# ## Training: the same loop for both
# `fit` runs Adam over shuffled mini-batches with a progress bar and evaluates the test BCE
# after each epoch; the loss is the model's own `loss(x)` (BCE per pixel).

# %%
histories = {}
for name, model in models.items():
    lesson.section(f"training the {name} AE")
    histories[name] = fit(model, optim.Adam(model.parameters(), lr=LR),
                          DataLoader(x_train, batch_size=BATCH, shuffle=True, seed=lesson.seed),
                          EPOCHS, val_loader=DataLoader(x_test, batch_size=1000),
                          seed=lesson.seed)

# %% [markdown]
# ## Test error: BCE and MSE per pixel, beside the references

# %%
def test_errors(model):
    """(BCE per pixel, MSE per pixel, reconstructions) on the whole test set."""
    model.eval()
    bce = mse = 0.0
    recs = []
    with no_grad():
        for start in range(0, len(x_test), 1000):
            xb = x_test[start:start + 1000]
            r = model(xb)
            bce += len(xb) * float(losses.bce(r, xb).item())
            mse += len(xb) * float(losses.mse(r, xb).item())
            recs.append(backend.to_numpy(r.data))
    return bce / len(x_test), mse / len(x_test), np.concatenate(recs)


results = {name: test_errors(model) for name, model in models.items()}
x_test_np, x_train_np = backend.to_numpy(x_test), backend.to_numpy(x_train)
pca_k = pca(x_train_np, K)
pca_mse = pca_k.mse(x_test_np)
sec = {name: float(np.mean(h["epoch_time"])) for name, h in histories.items()}
fcn, conv = models
lesson.table(
    [[f"FCN AE 784-256-64-{K}", results[fcn][0], results[fcn][1], count[fcn]["total"],
      sec[fcn], "0.08–0.097 (784-128-64-32, 100 ep.)"],
     [f"conv AE (16, 32), k = {K}", results[conv][0], results[conv][1], count[conv]["total"],
      sec[conv], "0.094 (maxpool, code 128, 50 ep.)"],
     [f"PCA k = {K} (train SVD)", None, pca_mse, None, None, "—"]],
    ["model", "test BCE/pixel", "test MSE/pixel", "parameters", "s/epoch",
     "Keras BCE" if len(x_train) == 60_000 else "Keras BCE (60k)*"],
    fmt=["", ".4f", ".5f", "", ".1f", ""],
    title=f"after {EPOCHS} epochs on {len(x_train):,} images ({lesson.backend}; seconds "
          "per epoch include the test evaluation)")
if len(x_train) < 60_000:
    print(f"* Keras trained on the full 60,000 images; this run used {len(x_train):,}, so its "
          "errors are NOT comparable with that column.")
lesson.table(
    [[name, c["encoder"], c["decoder"], c["total"], c["code"], c["rest"]]
     for name, c in count.items()],
    ["model", "encoder", "decoder", "total", "linear code layers", "all other layers"],
    title="where the parameters are")

# %% [markdown]
# What differs from the Keras conv AE: Keras encodes with conv + 2×2 max-pooling down to a
# 4×4×8 = 128-number code and decodes with nearest upsampling + conv, 50 epochs. Here the
# stride-2 convs do the downsampling, a linear layer makes a 32-number code (4× smaller),
# transposed convs upsample, and we train 15 epochs. A smaller code makes the task harder;
# the dense code layers make it easier (every code unit sees the whole image).

# %%
bce_fcn, bce_conv = results[fcn][0], results[conv][0]
ratio = count[conv]["total"] / count[fcn]["total"]
if lesson.quick:
    lesson.check(bce_conv <= 1.25 * bce_fcn,
                 f"(quick, loose) conv test BCE {bce_conv:.4f} ≤ 1.25 × FCN's {bce_fcn:.4f}")
else:
    lesson.check(bce_conv <= 1.05 * bce_fcn,
                 f"conv test BCE {bce_conv:.4f} is within 5% of the FCN's {bce_fcn:.4f} or "
                 f"lower ({bce_conv / bce_fcn - 1:+.1%})")
    lesson.check(bce_conv < 0.1, f"conv test BCE {bce_conv:.4f} is in the range of the Keras "
                                 "conv AE (≈ 0.094)")
lesson.check(ratio < 0.5, f"with fewer parameters: {count[conv]['total']:,} vs "
                          f"{count[fcn]['total']:,} ({ratio:.0%})")
lesson.check(count[conv]["rest"] < 0.05 * count[fcn]["rest"],
             f"apart from the linear code layers the conv AE has {count[conv]['rest']:,} "
             f"parameters, the FCN {count[fcn]['rest']:,}")

# %% [markdown]
# ## Figures: reconstructions and the two code spaces
# Top: test digits; then the FCN's and the conv AE's reconstructions. Below: the k = 32
# codes of the test digits, projected onto their first two principal components and
# coloured by digit.

# %%
show = np.concatenate([np.flatnonzero(y_test == d)[:2] for d in range(10)])
grid = viz.image_grid([x_test_np[show], results[fcn][2][show], results[conv][2][show]],
                      row_titles=["test digits", f"FCN (BCE {bce_fcn:.3f})",
                                  f"conv (BCE {bce_conv:.3f})"],
                      title=f"reconstructions, code size k = {K}")
lesson.figure(grid, "reconstructions")

n_codes = min(len(x_test), 3000)
for tag, (name, model) in zip(("fcn", "conv"), models.items()):
    with no_grad():
        codes = backend.to_numpy(model.encode(x_test[:n_codes]).data)
    fig = viz.latent_scatter(codes, y_test[:n_codes],
                             title=f"{name} AE: {K}-D codes of {n_codes:,} test digits")
    lesson.figure(fig, f"latent_{tag}")

lesson.done()
