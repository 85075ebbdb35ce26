"""Paper mode: the published setups behind the course's claims, run as their papers ran them.

A lesson that has one takes ``--paper`` (tinyae.lesson): instead of its laptop-scale experiment
it calls one recipe of this package, ``run(lesson)``, on full MNIST — the paper's architecture,
corruption, optimiser, schedule and evaluation, with every departure listed in the recipe's
``SETUP`` table and printed. It can take hours on a 2-core CPU, so a recipe is a list of
*stages* (pretrain layer 1, layer 2, …, fine-tune), each one ``fit()`` that writes
``OUT/checkpoints/STAGE/checkpoint.npz`` after every epoch. After an interruption,
``--paper --resume`` rebuilds the stages in the same order from the same seeds, skips the
finished ones (their checkpoints hold the trained weights) and restarts the interrupted one at
its last unfinished epoch with every random generator as it was: the numbers are those of an
uninterrupted run (tests/test_paper.py kills a run mid-epoch to check), and at most an epoch
of work is lost.

    sda       SdA-3, Vincent et al. 2010 (Table 3: 1.28% MNIST test error)      lesson 14
    cae       CAE, Rifai et al. 2011 (1.14% MNIST test error; the tangents)    lesson 13
    mae       MAE, He et al. 2021 (the mask-ratio curve after fine-tuning)     lesson 15
    mitchell  the 8-3-8 encoder as Mitchell 1997 trains it (Fig. 4.7)          lesson 07
"""
import math

from ..train import fit


class Stages:
    """The stages of one paper run: ``stages.fit(name, model, optimizer, loader, epochs, ...)``
    is fit() with its checkpoints in OUT/checkpoints/NAME/ (resumed with --resume), a progress
    bar on a terminal and one plain line per epoch in a log; ``stages.summary()`` prints the
    table of every stage and their training time (all sessions of a resumed run together)."""

    def __init__(self, lesson, checkpoint_every=1, verbose=None):
        self.root = lesson.out / "checkpoints"
        self.resume = bool(lesson.args.resume)
        self.checkpoint_every = checkpoint_every
        self.verbose = not lesson.quick if verbose is None else verbose
        self.rows = []

    def fit(self, name, model, optimizer, loader, epochs, describe="", **options):
        if self.verbose:
            print(f"stage {name}: {describe}".rstrip(": "), flush=True)
        history = fit(model, optimizer, loader, epochs, checkpoint_dir=self.root / name,
                      checkpoint_every=min(self.checkpoint_every, epochs), resume=self.resume,
                      progress=self.verbose, verbose=self.verbose, **options)
        last = {k: v[-1] for k, v in history.items() if k not in ("epoch", "lr", "epoch_time")}
        best = history.best_epoch
        self.rows.append([name, history.epochs if best is None else f"{best} of {history.epochs}",
                          "  ".join(f"{k} {v:.4g}" for k, v in last.items()),
                          sum(history["epoch_time"]) / 60])
        return history

    @property
    def minutes(self):
        return math.fsum(row[-1] for row in self.rows)

    def summary(self, lesson):
        lesson.table(self.rows, ["stage", "epochs (best of)", "last epoch", "minutes"],
                     fmt=["", "", "", ".1f"], title="The stages (training time summed over "
                     "every session of a resumed run):")
        print(f"training time of all stages: {self.minutes:.1f} min")


def setup_table(lesson, rows):
    """Print a recipe's settings: (setting, the paper, this run) — departures visible."""
    lesson.table(rows, ["setting", "the paper", "this run"], title="The setup, the paper's "
                 "beside this run's (a departure is said in the third column):")
    if lesson.quick:
        print("--quick: the same stages at a toy size, in seconds (a test that the recipe runs "
              "and resumes); no number below is comparable with the paper's")


def goal(lesson, held, sentence):
    """A paper run's goal: "✓ claim: sentence" when it was reached, else the measured sentence
    as an open question (never a ✓, and never a failed run after hours of training: the page
    says why the goal was missed). Below the paper's scale, "not tested at this scale"."""
    if lesson.scale != "paper" or held:
        return lesson.check(held, sentence, needs="paper")
    print(f"open question (measured, short of the goal; not a claim): {sentence}")
    return False
