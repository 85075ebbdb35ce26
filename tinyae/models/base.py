"""The shape every autoencoder here shares: x → encode → h → decode → r, loss(x).

    loss(x) = reconstruction(r, x_clean) + Σ_regularisers penalty(model, x_in, h)

A model's ``corruption`` (denoising) is applied to the input only while training, and the
reconstruction is always compared with the *clean* x. Regularisers (sparsity, contractive)
are objects with a ``name`` and ``__call__(model, x_in, h) -> Tensor``, so any of them can be
added to any model: ``MLPAutoencoder(..., regularizers=[KLSparsity(0.05, 3.0)])``.
"""
from .. import losses
from ..nn import Module
from ..tensor import Tensor, ensure_tensor

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
        return self.encoder(ensure_tensor(x))

    def decode(self, h):
        """The reconstruction r = g(h)."""
        return self.decoder(ensure_tensor(h))

    def forward(self, x):
        return self.decode(self.encode(x))

    def reconstruction_loss(self, r, x):
        fn = self.reconstruction if callable(self.reconstruction) else RECONSTRUCTION[self.reconstruction]
        return fn(r, x)

    def loss(self, x, return_parts=False):
        """The training objective on a batch x (an array or Tensor).

        With ``return_parts=True`` also returns a dict of the terms, e.g.
        {'reconstruction': …, 'kl_sparsity': …} (floats), for logging."""
        total, parts = self.objective(x)
        if return_parts:
            return total, {k: float(v.item()) for k, v in parts.items()}
        return total

    def objective(self, x, **options):
        """``(total, parts)`` on a batch: the data terms (``data_terms``) plus every
        regulariser's penalty, each a scalar Tensor in ``parts``. The one objective loop of the
        family: the VAE changes only its data terms."""
        x = ensure_tensor(x)
        if x.ndim == 0 or x.shape[0] == 0:
            raise ValueError(f"{type(self).__name__}.loss: the batch is empty (shape {x.shape}), "
                             "and an empty batch has no mean loss; check the slicing or the data "
                             "loader that made it")
        x_in = x
        if self.corruption is not None and self.training:
            x_in = Tensor(self.corruption(x.data), copy=False)
        if any(_uses_input_gradient(reg) for reg in self.regularizers):
            x_in = Tensor(x_in.data, requires_grad=True)  # the penalty differentiates h w.r.t. x
        h, total, parts = self.data_terms(x_in, x, **options)
        for reg in self.regularizers:
            parts[reg.name] = reg(self, x_in, h)
            total = total + parts[reg.name]
        return total, parts

    def data_terms(self, x_in, x):
        """``(h, total, parts)``: the code h of the model's input x_in, and the reconstruction
        loss of decode(h) against the clean x."""
        h = self.encode(x_in)
        reconstruction = self.reconstruction_loss(self.decode(h), x)
        return h, reconstruction, {"reconstruction": reconstruction}


def _uses_input_gradient(regularizer):
    """A regulariser that differentiates the code with respect to the input (contractive)
    declares ``uses_input_gradient = True`` (the older name ``needs_input_grad`` still works)."""
    return getattr(regularizer, "uses_input_gradient", getattr(regularizer, "needs_input_grad", False))

