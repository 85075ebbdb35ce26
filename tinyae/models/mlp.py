"""Fully connected autoencoders: shallow (784-32-784) to deep (784-1000-500-250-30), tied or not."""
from .. import nn
from ..generator import as_generator
from .base import Autoencoder

ACTIVATIONS = {"relu": nn.ReLU, "sigmoid": nn.Sigmoid, "tanh": nn.Tanh, "elu": nn.ELU,
               "leaky_relu": nn.LeakyReLU, "gelu": nn.GELU, "softplus": nn.Softplus,
               None: None, "linear": None, "identity": None}


def activation_layer(name):
    """A fresh activation module for a name ('relu', 'sigmoid', …); None for a linear layer."""
    if name not in ACTIVATIONS:
        raise ValueError(f"unknown activation {name!r}: choose one of "
                         f"{sorted(k for k in ACTIVATIONS if k)} or None")
    return ACTIVATIONS[name]() if ACTIVATIONS[name] else None


class MLPAutoencoder(Autoencoder):
    """Encoder sizes[0] → … → sizes[-1] (the code), decoder the mirror image.

    ``activation`` follows every hidden layer, ``latent_activation`` the code layer (None: a
    linear code, as in Hinton & Salakhutdinov), ``output_activation`` the reconstruction
    ('sigmoid' for pixels in [0, 1]). ``tied=True`` makes each decoder layer use its mirror
    encoder layer's Wᵀ (one shared Parameter; only decoder biases are new). ``dropout`` is
    applied to every hidden layer of the encoder, including the code, while training."""

    def __init__(self, sizes, activation="relu", latent_activation=None,
                 output_activation="sigmoid", tied=False, dropout=0.0, rng=None, **kwargs):
        super().__init__(**kwargs)
        if len(sizes) < 2 or any(int(s) != s or s <= 0 for s in sizes):
            raise ValueError(f"sizes must list at least two positive layer widths "
                             f"(input, …, code), got {sizes!r}")
        for name in (activation, latent_activation, output_activation):
            activation_layer(name)  # fail early on a misspelt name, even if unused
        rng = as_generator(rng)
        self.sizes, self.tied = list(sizes), tied
        encoder_linears = [nn.Linear(a, b, rng=rng) for a, b in zip(sizes[:-1], sizes[1:])]
        encoder = []
        for i, layer in enumerate(encoder_linears):
            is_code = i == len(encoder_linears) - 1
            encoder += [layer, activation_layer(latent_activation if is_code else activation)]
            if dropout:
                encoder.append(nn.Dropout(dropout, rng=rng))
        decoder = []
        for i, layer in enumerate(reversed(encoder_linears)):
            a, b = layer.out_features, layer.in_features
            decoder.append(nn.TiedLinear(layer, rng=rng) if tied else nn.Linear(a, b, rng=rng))
            is_output = i == len(encoder_linears) - 1
            decoder.append(activation_layer(output_activation if is_output else activation))
        self.encoder = nn.Sequential(*[m for m in encoder if m is not None])
        self.decoder = nn.Sequential(*[m for m in decoder if m is not None])
