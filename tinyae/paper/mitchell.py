"""The 8-3-8 encoder as Mitchell (1997, *Machine Learning*, §4.6.4, Fig. 4.7) trains it.

Lesson 07 trains it full batch with Adam and cross-entropy, and 9 of 10 seeds round to
distinct codes. Here is the textbook's own recipe — the BACKPROPAGATION algorithm of its
Table 4.2: sigmoid units, squared error E = ½ Σₖ (tₖ − oₖ)², one update after every example
(stochastic gradient descent, the eight examples in order), η = 0.3, all weights (biases
included) drawn uniformly from [−0.05, 0.05], 5,000 epochs — and its criterion: "if the
encoded values are rounded to zero or one, the result is the standard binary encoding for
eight distinct values", i.e. the eight rounded hidden codes are distinct.
"""
import numpy as np

from .. import no_grad, optim
from ..data import DataLoader, one_hot_patterns
from ..models import MLPAutoencoder
from . import Stages, goal, setup_table

SETUP = [
    ("network", "8-3-8, sigmoid hidden and output units", "the same"),
    ("error", "E = ½ Σₖ (tₖ − oₖ)² per example", "the same"),
    ("optimiser", "gradient descent after every example (Table 4.2), η = 0.3", "the same "
     "(SGD, batch of 1, lr 0.3, no momentum)"),
    ("order", "the training examples in turn", "the same (not shuffled)"),
    ("initial weights", "uniform in [−0.05, 0.05], biases included", "the same"),
    ("training", "5,000 epochs", "the same (--quick: 1,000); then the seeds whose codes "
     "collide go on to 20,000 epochs (ours: does more of the same help?)"),
    ("criterion", "hidden values rounded to 0/1 give 8 distinct codes", "the same; also the "
     "stricter 'every value within 0.2 of 0 or 1' of lesson 07"),
    ("seeds", "one network (the figure)", "10 random initialisations (2 with --quick)"),
]
PAPER_GOAL = 8   # of 10 seeds with 8 distinct rounded codes: the goal for "most seeds"


def network(lesson, seed):
    model = MLPAutoencoder([8, 3], latent_activation="sigmoid", output_activation="sigmoid",
                           reconstruction="mse", rng=seed)
    rng = np.random.default_rng(seed)
    for p in model.parameters():   # Mitchell: "small random numbers (e.g. between −.05 and .05)"
        p.data[...] = lesson.asarray(rng.uniform(-0.05, 0.05, p.shape), dtype=p.dtype)
    return model


def half_squared_error(model, x):
    return 0.5 * ((model(x) - x) ** 2).sum()


def verdicts(lesson, model, x):
    """(reconstructed inputs, distinct rounded codes, max |h − round(h)|, the codes)."""
    with no_grad():
        h, r = lesson.to_host(model.encode(x)), lesson.to_host(model(x))
    codes = np.round(h).astype(int)
    return (int((r.argmax(1) == np.arange(8)).sum()), len({tuple(c) for c in codes}),
            float(np.abs(h - codes).max()), " ".join("".join(map(str, c)) for c in codes))


def run(lesson):
    setup_table(lesson, SETUP)
    epochs, longer = (1000, 1500) if lesson.quick else (5000, 20_000)
    seeds = [lesson.seed + i for i in range(2 if lesson.quick else 10)]
    x = lesson.asarray(one_hot_patterns(8))
    # An epoch is 8 tiny steps: a checkpoint every 500, and no line per epoch (50,000 lines).
    stages = Stages(lesson, checkpoint_every=500, verbose=False)
    rows, short_of_corners = [], []
    for seed in seeds:
        model = network(lesson, seed)
        stages.fit(f"seed_{seed}", model, optim.SGD(model.parameters(), lr=0.3),
                   DataLoader(x, batch_size=1, shuffle=False), epochs,
                   loss_fn=half_squared_error, seed=seed)
        reconstructed, distinct, off, codes = verdicts(lesson, model, x)
        rows.append([seed, f"{reconstructed}/8", f"{distinct}/8", off, off <= 0.2, codes])
        if distinct < 8:
            short_of_corners.append((seed, model))
    lesson.table(rows, ["seed", "reconstructed", "distinct rounded codes",
                        "max |h − round(h)|", "within 0.2 of binary", "codes of inputs 1–8"],
                 fmt=["", "", "", ".3f", "", ""],
                 title=f"Each seed after {epochs:,} epochs of Mitchell's backpropagation:")
    distinct_seeds = sum(row[2] == "8/8" for row in rows)
    # Does more of the same training move the in-between values to a corner? The seeds whose
    # codes collide train on, as they are, to `longer` epochs in all (a stage of its own: plain
    # SGD on examples in order keeps no state, so this is the same run continued).
    later = []
    for seed, model in short_of_corners:
        stages.fit(f"seed_{seed}_on", model, optim.SGD(model.parameters(), lr=0.3),
                   DataLoader(x, batch_size=1, shuffle=False), longer - epochs,
                   loss_fn=half_squared_error, seed=seed)
        reconstructed, distinct, off, codes = verdicts(lesson, model, x)
        later.append([seed, f"{reconstructed}/8", f"{distinct}/8", off, codes])
    if later:
        lesson.table(later, ["seed", "reconstructed", "distinct rounded codes",
                             "max |h − round(h)|", "codes of inputs 1–8"],
                     fmt=["", "", "", ".3f", ""],
                     title=f"The seeds with colliding codes, trained on to {longer:,} epochs:")
    stages.summary(lesson)
    lesson.check(all(row[1] == "8/8" for row in rows),
                 f"Mitchell's recipe reconstructs all eight inputs in every seed: "
                 f"{sum(row[1] == '8/8' for row in rows)} of {len(rows)}", needs="paper")
    goal(lesson, distinct_seeds >= PAPER_GOAL, f"the hidden values round to 8 distinct 3-bit "
         f"codes in at least {PAPER_GOAL} of 10 seeds: {distinct_seeds} of {len(rows)}")
