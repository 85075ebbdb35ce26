"""Optimizers, learning-rate schedules and gradient clipping (PyTorch's names and arguments).

After ``loss.backward()`` has filled every parameter's ``.grad`` with its error signal
g = θ̄ = ∂L/∂θ, an optimizer moves the parameters downhill:

    opt = Adam(model.parameters(), lr=1e-3)
    for x in batches:
        opt.zero_grad(); loss = ...; loss.backward(); opt.step()

Notation below: θ a parameter, g its gradient, η the learning rate ``lr``, λ the weight decay,
t the number of updates so far (1 at the first step).

The update runs on every training step, so it works on the raw arrays in place (``p.data``),
records no graph, and keeps one scratch array per parameter for intermediate results (ufuncs
with ``out=``) instead of allocating temporaries each step. Moments have the parameter's dtype
(float32 stays float32) and live on its device (``xp = get_array_module(p.data)``, so CuPy works).
Parameters are updated independently of each other, so with more than one thread the big ones
(NumPy arrays of ≥ 2¹⁶ numbers) are updated side by side in a thread pool: NumPy's ufuncs
release the GIL. ``opt.threads`` is NumPy's BLAS thread count (tinyae.threads) unless set.
"""
from .optimizer import Optimizer, clip_grad_norm_
from .rules import SGD, Adadelta, Adagrad, RMSprop, Adam, AdamW
from . import lr_scheduler
from .lr_scheduler import LRScheduler, StepLR, ExponentialLR, CosineAnnealingLR, LinearWarmup

__all__ = ["Optimizer", "SGD", "Adadelta", "Adagrad", "RMSprop", "Adam", "AdamW", "lr_scheduler", "LRScheduler",
           "StepLR", "ExponentialLR", "CosineAnnealingLR", "LinearWarmup", "clip_grad_norm_"]
