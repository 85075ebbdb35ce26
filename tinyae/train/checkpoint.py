"""Checkpoints of a training run: what fit() writes every ``checkpoint_every`` epochs, and reads
back with ``resume=True``. The archive loads with ``allow_pickle=False``."""
import zipfile

import numpy

from ..io import load_tree, save_tree
from .history import History
from .seeding import rng_states, set_rng_states

CHECKPOINT_NAME = "checkpoint.npz"
FORMAT = "tinyae-checkpoint-1"


def save_checkpoint(path, state, history=None):
    """Write ``state`` (nested dicts/lists of arrays, numbers and strings) to an .npz archive
    that loads with ``allow_pickle=False``, atomically (``tinyae.io.save_tree``); the History
    goes in the 0-d string entry 'history.json'."""
    tree = {"state": state}
    if history is not None:
        tree["history.json"] = numpy.array(history.to_json())
    return save_tree(path, tree)


def load_checkpoint(path):
    """``(state, history)`` as saved by ``save_checkpoint``; e.g. ``model.load_state_dict(
    state['model'])`` restores the weights of a checkpoint written by fit()."""
    saved = load_tree(path)
    history = saved.get("history.json")
    return saved["state"], (None if history is None else History.from_json(str(history[()])))


def save(path, epoch, model, optimizer, scheduler, generators, early_stopping, history):
    """fit()'s checkpoint: everything a resumed run needs to continue exactly."""
    state = {"format": FORMAT, "epoch": epoch, "model": model._state_arrays(),
             "optimizer": optimizer.state_dict(), "rng": rng_states(generators),
             "scheduler": scheduler.state_dict() if scheduler is not None else None,
             "early_stopping": early_stopping}
    save_checkpoint(path, state, history)


class ResumeError(ValueError):
    """The checkpoint to resume from does not fit this model, optimizer or schedule."""


def restore(path, model, optimizer, scheduler, generators):
    """Load a checkpoint written by fit() into the training objects; returns
    ``(epoch, history, early_stopping_state)`` to continue from. ResumeError if the file is
    damaged or was written for another model, optimizer or schedule (then nothing is changed)."""
    try:
        state, history = load_checkpoint(path)
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as err:
        raise ResumeError(f"cannot resume from {path}: the file is damaged or not a checkpoint "
                          f"({type(err).__name__}: {err}); delete it to start over") from err
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise ResumeError(f"{path} is not a checkpoint written by tinyae.train.fit")
    # All or nothing: a checkpoint that fits the model but not the optimizer leaves both as they were.
    before = model.state_dict(), optimizer.state_dict()
    try:
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])  # JSON's lists become tuples again there
        if scheduler is not None and state["scheduler"] is not None:
            scheduler.load_state_dict(state["scheduler"])
    except (KeyError, ValueError, TypeError) as err:
        model.load_state_dict(before[0])
        optimizer.load_state_dict(before[1])
        raise ResumeError(f"cannot resume from {path}: it was written for a different model, "
                          f"optimizer or schedule ({err}). Start a fresh run in a new folder, or "
                          "delete the old checkpoint") from err
    set_rng_states(generators, state["rng"])
    best = state["early_stopping"]
    best["val_loss"] = float(best["val_loss"])
    return state["epoch"], history, best
