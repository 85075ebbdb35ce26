# %% [markdown]
# # Lesson 07 · The 8-3-8 encoder: a network invents a binary code
#
# Mitchell (1997, Fig. 4.7): eight one-hot inputs, three sigmoid hidden units, eight sigmoid
# outputs, trained to reproduce the input. Eight patterns must pass through three units, and
# 2³ = 8: the network can only succeed if the hidden layer represents every input by a
# different point, and the cheapest such points are the corners of the cube [0, 1]³, a 3-bit
# code. Nobody tells the network about binary codes; backprop finds one.
#
#     h = σ(W₁x + b₁)  (3 units),    r = σ(W₂h + b₂)  (8 units),
#     L = BCE(r, x) = −mean[x log r + (1 − x) log(1 − r)]
#
# Full batch (all 8 patterns every step), Adam. We train several random initialisations
# and report, for each, whether all eight inputs are reconstructed (argmax of r = the hot
# input), whether rounding h gives eight *distinct* 3-bit codes, and how far h is from
# binary (max |h − round(h)|).
#
# Run: `python lessons/07_encoder_838.py [--quick] [--out DIR] [--seed N]`

# %%
import matplotlib.pyplot as plt
import numpy as np

import tinyae
from tinyae import optim
from tinyae.data import one_hot_patterns
from tinyae.lesson import Lesson
from tinyae.models import MLPAutoencoder

BINARY_TOLERANCE = 0.2    # "near binary": every hidden value within 0.2 of 0 or 1

lesson = Lesson(
    7, "The 8-3-8 encoder",
    claim="A 8-3-8 sigmoid network trained to reproduce one-hot inputs reconstructs all "
          "eight, and its three hidden values round to eight distinct 3-bit codes.",
    reference="Mitchell 1997, Machine Learning, Fig. 4.7",
    paper="the 8-3-8 network as Mitchell 1997 trains it: SGD, squared error, η = 0.3")
if lesson.paper:   # --paper: the textbook's own recipe instead (tinyae/paper/mitchell.py)
    from tinyae.paper import mitchell
    lesson.run_paper(mitchell.run)

# %% [markdown]
# ## Training one network per seed

# %%
X = lesson.asarray(one_hot_patterns(8))          # (8, 8) float32 identity: inputs = targets
STEPS = 3000 if lesson.quick else 5000
seeds = [lesson.seed] if lesson.quick else [lesson.seed + i for i in range(10)]


def train(seed, every=None):
    """One 8-3-8 network from random weights (seed); returns it, its final loss and, with
    ``every``, the hidden values (8, 3) after every ``every``-th step (Mitchell's Fig. 4.8)."""
    model = MLPAutoencoder([8, 3], latent_activation="sigmoid", output_activation="sigmoid",
                           reconstruction="bce", rng=seed)
    opt = optim.Adam(model.parameters(), lr=0.02)
    history = []
    for step in range(STEPS):
        if every and step % every == 0:
            with tinyae.no_grad():
                history.append((step, model.encode(X).numpy()))
        opt.zero_grad()
        loss = model.loss(X)
        loss.backward()
        opt.step()
    return model, loss.item(), history


def inspect(model):
    """Hidden values h (8, 3), reconstructions r (8, 8), and the three verdicts."""
    with tinyae.no_grad():
        h = model.encode(X).numpy()
        r = model(X).numpy()
    reconstructed = int((r.argmax(axis=1) == np.arange(8)).sum())
    codes = {tuple(c) for c in np.round(h).astype(int)}
    off_binary = float(np.abs(h - np.round(h)).max())
    return h, r, reconstructed, len(codes), off_binary


results = []
for seed in seeds:
    model, final_loss, trace = train(seed, every=20 if seed == seeds[0] else None)
    if seed == seeds[0]:
        hidden_during_training = trace
    results.append((seed, model, final_loss) + inspect(model))
    print(f"seed {seed}: {STEPS} full-batch Adam steps, final BCE {final_loss:.2e}")

lesson.table([[seed, loss, f"{rec}/8", f"{n}/8", off, off <= BINARY_TOLERANCE]
              for seed, _, loss, _, _, rec, n, off in results],
             ["seed", "final BCE", "reconstructed", "distinct rounded codes",
              "max |h − round(h)|", f"binary within {BINARY_TOLERANCE}"],
             fmt=[".4g", ".2e", "", "", ".3f", ""], title="every run")

# %% [markdown]
# ## The table of the textbook figure, for the first seed
# Input → the three hidden values → the output's argmax (and its value).

# %%
seed, model, _, h, r, reconstructed, n_codes, off_binary = results[0]
rows = []
for i in range(8):
    pattern = "".join("1" if j == i else "0" for j in range(8))
    code = "".join(str(b) for b in np.round(h[i]).astype(int))
    rows.append([pattern, f"{h[i, 0]:.3f}  {h[i, 1]:.3f}  {h[i, 2]:.3f}", code,
                 int(r[i].argmax()) + 1, float(r[i].max())])
lesson.table(rows, ["input", "hidden values", "rounded", "output argmax (1–8)", "its value"],
             fmt=".3f", title=f"seed {seed}: input → hidden → output")

n_runs = len(results)
all_reconstructed = sum(rec == 8 for *_, rec, _, _ in results)
distinct = sum(n == 8 for *_, n, _ in results)
binary = sum(off <= BINARY_TOLERANCE for *_, off in results)
print(f"over {n_runs} seed(s): {all_reconstructed} reconstruct all 8, {distinct} give 8 distinct "
      f"rounded codes, {binary} are binary within {BINARY_TOLERANCE}")
lesson.check(all_reconstructed == n_runs,
             f"every run reconstructs all 8 inputs (argmax of the output = the hot input), "
             f"{all_reconstructed}/{n_runs}")
if lesson.quick:
    lesson.check(n_codes >= 7,
                 f"(quick) the hidden layer separates the inputs: {n_codes} distinct rounded "
                 "codes (≥ 7)")
else:
    lesson.check(distinct > n_runs / 2,
                 f"in most runs the hidden values round to 8 distinct 3-bit codes "
                 f"({distinct}/{n_runs} runs)")
# Not a claim, an observation: the codes are usually not exactly binary. Nothing in the loss
# asks for corners; a unit may use a middle level (≈ 0.25 or 0.7) as long as the output
# layer can still tell the eight codes apart. The count is printed above.

# %% [markdown]
# ## Figures: the codes as a heatmap, and as points in the cube [0, 1]³

# %%
fig = plt.figure(figsize=(10, 4.4))
ax = fig.add_subplot(1, 2, 1)
ax.imshow(h, cmap="Greys", vmin=0, vmax=1, aspect="auto")
for i in range(8):
    for j in range(3):
        ax.text(j, i, f"{h[i, j]:.2f}", ha="center", va="center", fontsize=13,
                color="white" if h[i, j] > 0.5 else "black")
ax.set(xticks=range(3), xticklabels=["h₁", "h₂", "h₃"], yticks=range(8),
       yticklabels=[f"input {i + 1} → {''.join(map(str, np.round(h[i]).astype(int)))}"
                    for i in range(8)],
       title=f"hidden values (seed {seed}) and rounded codes")

ax = fig.add_subplot(1, 2, 2, projection="3d")
for pane in (ax.xaxis.pane, ax.yaxis.pane, ax.zaxis.pane):
    pane.set_facecolor("white")
for a in (0, 1):          # the 12 edges of the unit cube
    for b in (0, 1):
        for axis in range(3):
            ends = np.zeros((2, 3))
            ends[:, axis] = (0, 1)
            ends[:, (axis + 1) % 3], ends[:, (axis + 2) % 3] = a, b
            ax.plot(*ends.T, color="0.45", lw=1.0)
ax.scatter(*h.T, s=60, c=range(8), cmap="tab10", vmin=0, vmax=9, depthshade=False)
for i in range(8):
    ax.text(*h[i], f" {i + 1}", fontsize=14)
ax.set(xlabel="h₁", ylabel="h₂", zlabel="h₃", xlim=(0, 1), ylim=(0, 1), zlim=(0, 1),
       title="the 8 codes in the cube [0, 1]³")
fig.tight_layout()
lesson.figure(fig, "hidden_codes")

# %% [markdown]
# ## The hidden values while the network learns (Mitchell's Fig. 4.8)
# Each panel is one hidden unit; each line one of the eight inputs: its value of that unit
# after every 20th step of the first seed's training.

# %%
steps_seen = [step for step, _ in hidden_during_training]
values = np.stack([h for _, h in hidden_during_training])        # (snapshots, 8, 3)
fig, axes = plt.subplots(1, 3, figsize=(15, 4.6), sharey=True)
for unit, ax in enumerate(axes):
    for i in range(8):
        ax.plot(steps_seen, values[:, i, unit], lw=2, color=plt.cm.tab10(i),
                label=f"input {i + 1}")
    ax.set_title(f"hidden unit {unit + 1}", fontsize=15)
    ax.set_xlabel("training step", fontsize=14)
    ax.set_ylim(-0.03, 1.03)
    ax.tick_params(labelsize=12)
    ax.grid(alpha=0.3)
axes[0].set_ylabel("hidden value", fontsize=14)
axes[-1].legend(fontsize=11, loc="center left", bbox_to_anchor=(1.01, 0.5), frameon=False)
fig.suptitle(f"seed {seeds[0]}: the three hidden values of each input during training",
             fontsize=16)
fig.tight_layout()
lesson.figure(fig, "hidden_during_training")

lesson.done()
