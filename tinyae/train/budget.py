"""Training against the clock: fit() for as many epochs as fit in a wall-clock budget, and how
fast this machine multiplies matrices right now (to read an epoch's time against).

    history = fit_in_budget(model, optimizer, loader, minutes=12, max_epochs=30, val_loader=...)
    rate = matmul_gflops(128, 784, 1000)          # GFLOP/s of one (128×784)·(784×1000) product
"""
import time

import numpy

from .. import backend, optim
from .history import History
from .loop import fit


def fit_in_budget(model, optimizer, train_loader, minutes, max_epochs, eta_min_ratio=0.01,
                  **fit_kwargs):
    """Train for as many epochs as fit in ``minutes`` (at most ``max_epochs``; with
    ``minutes=None`` exactly ``max_epochs``) and return one History of all of them.

    One epoch at the optimizer's learning rate η measures how long an epoch takes on this
    machine now; the remaining epochs then run with η decaying by cosine to η·eta_min_ratio
    (``CosineAnnealingLR``). ``fit_kwargs`` (val_loader, metrics, seed, …) go to both fit()
    calls. The History numbers the epochs 1, 2, … across both."""
    lr = optimizer.lr
    first = fit(model, optimizer, train_loader, 1, **fit_kwargs)
    if minutes is None:
        more = max_epochs - 1
    else:
        more = min(int(minutes * 60 / first["epoch_time"][0]), max_epochs) - 1
    history = History(first)
    more = max(1, more)
    optimizer.lr = lr
    schedule = optim.CosineAnnealingLR(optimizer, T_max=more, eta_min=lr * eta_min_ratio)
    rest = fit(model, optimizer, train_loader, more, scheduler=schedule, **fit_kwargs)
    for i in range(rest.epochs):
        history.append({k: (v[i] + 1 if k == "epoch" else v[i]) for k, v in rest.items()})
    return history


def matmul_gflops(m, k, n, repeats=50, xp=numpy):
    """GFLOP/s of a float32 (m×k)·(k×n) matrix product on this machine now (2mkn FLOP each),
    on the array module ``xp`` (NumPy or CuPy)."""
    a = xp.ones((m, k), dtype=numpy.float32)
    w = xp.ones((k, n), dtype=numpy.float32)
    a @ w  # warm-up
    began = time.perf_counter()
    for _ in range(repeats):
        a @ w
    backend.synchronize(xp)
    return repeats * 2 * m * k * n / (time.perf_counter() - began) / 1e9
