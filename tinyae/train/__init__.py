"""Training: ``fit(model, optimizer, train_loader, epochs)`` minimises ``model.loss(batch)``.

    loop.py        fit(), evaluate() and the loss convention (read this one first)
    history.py     History: one list per recorded quantity, one entry per epoch
    seeding.py     seed every random stream of a run from one number; save/restore their states
    checkpoint.py  what fit() writes every ``checkpoint_every`` epochs and reads with resume=True
    budget.py      fit_in_budget (the epochs that fit in a wall-clock budget), matmul_gflops
"""
from .checkpoint import CHECKPOINT_NAME, ResumeError, load_checkpoint, save_checkpoint
from .history import History
from .loop import as_loss_fn, evaluate, fit, model_loss
from .seeding import seed_everything

__all__ = ["fit", "evaluate", "as_loss_fn", "model_loss", "History", "seed_everything",
           "save_checkpoint", "load_checkpoint", "CHECKPOINT_NAME", "ResumeError"]
