"""The shape every autoencoder here shares: x → encode → h → decode → r, loss(x).

    loss(x) = reconstruction(r, x_clean) + Σ_regularisers penalty(model, x_in, h)

A model's ``corruption`` (denoising) is applied to the input only while training, and the
reconstruction is always compared with the *clean* x. Regularisers (sparsity, contractive)
are objects with a ``name`` and ``__call__(model, x_in, h) -> Tensor``, so any of them can be
added to any model: ``MLPAutoencoder(..., regularizers=[KLSparsity(0.05, 3.0)])``.
"""
from .. import losses
from ..nn import Module
from ..tensor import Tensor

RECONSTRUCTION = {
    "mse": losses.mse,                                               # mean over every pixel
    "sse": losses.sse,                                               # per image, batch mean
    "bce": losses.bce,                                               # mean over every pixel
    "bce_sum": lambda r, x: losses.bce(r, x, reduction="batchmean"),  # nats per image
}


class Autoencoder(Module):
    """Base class: subclasses build ``self.encoder`` and ``self.decoder`` (Modules)."""

    def __init__(self, reconstruction="mse", corruption=None, regularizers=()):
        super().__init__()
        if not callable(reconstruction) and reconstruction not in RECONSTRUCTION:
            raise ValueError(f"unknown reconstruction loss {reconstruction!r}: choose one of "
                             f"{sorted(RECONSTRUCTION)} or pass a function loss(r, x)")
        self.reconstruction = reconstruction
        self.corruption = corruption
        self.regularizers = list(regularizers)

    def encode(self, x):
        """The code h = f(x)."""
        return self.encoder(_tensor(x))

    def decode(self, h):
        """The reconstruction r = g(h)."""
        return self.decoder(_tensor(h))

    def forward(self, x):
        return self.decode(self.encode(x))

    def reconstruction_loss(self, r, x):
        fn = self.reconstruction if callable(self.reconstruction) else RECONSTRUCTION[self.reconstruction]
        return fn(r, x)

    def loss(self, x, return_parts=False):
        """The training objective on a batch x (an array or Tensor).

        With ``return_parts=True`` also returns a dict of the terms, e.g.
        {'reconstruction': …, 'kl_sparsity': …} (floats), for logging."""
        x = _tensor(x)
        x_in = x
        if self.corruption is not None and self.training:
            x_in = Tensor(self.corruption(x.data), copy=False)
        for reg in self.regularizers:  # penalties that differentiate h w.r.t. x need x̄
            if getattr(reg, "needs_input_grad", False):
                x_in = Tensor(x_in.data, requires_grad=True)
                break
        h = self.encode(x_in)
        total = self.reconstruction_loss(self.decode(h), x)
        parts = {"reconstruction": total}
        for reg in self.regularizers:
            penalty = reg(self, x_in, h)
            parts[reg.name] = penalty
            total = total + penalty
        if return_parts:
            return total, {k: float(v.item()) for k, v in parts.items()}
        return total


def _tensor(x):
    return x if isinstance(x, Tensor) else Tensor(x)
