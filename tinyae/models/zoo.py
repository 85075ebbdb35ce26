"""The named reference autoencoders for 28×28 images, built in one place (``tinyae train`` and
the benchmarks use these):

    shallow  784-k-784: ReLU code, sigmoid output (the Keras blog's simple autoencoder)
    deep     784-128-64-k-64-128-784, ReLU, sigmoid output (the Keras blog's deep one)
    conv     1×28×28 → Conv(16, s2) → Conv(32, s2) → k (ReLU), mirrored with ConvTranspose2d
    hinton   784-1000-500-250-k-250-500-1000-784, ReLU, sigmoid output (the shapes of
             Hinton & Salakhutdinov 2006, k = 30)
    vae      784-400-(k, k) → z → 400-784 logits, ReLU: the PyTorch example's VAE (k = 20);
             its loss is −ELBO, BCE summed over the pixels + KL, per image

    model = build("deep", latent=32, rng=0)          # an MLPAutoencoder; model.loss(x) is BCE

Any keyword of the model class overrides the entry (``build("conv", latent_activation=None)``).
"""
from .conv import ConvAutoencoder
from .mlp import MLPAutoencoder
from .vae import VAE

ZOO = {
    "shallow": (MLPAutoencoder, lambda k: dict(sizes=[784, k], latent_activation="relu"), 32),
    "deep": (MLPAutoencoder, lambda k: dict(sizes=[784, 128, 64, k], latent_activation="relu"), 32),
    "conv": (ConvAutoencoder, lambda k: dict(channels=(16, 32), latent=k, latent_activation="relu"), 32),
    "hinton": (MLPAutoencoder, lambda k: dict(sizes=[784, 1000, 500, 250, k],
                                              latent_activation="relu"), 30),
    "vae": (VAE, lambda k: dict(sizes=[784, 400], latent=k), 20),
}
MODELS = tuple(ZOO)


def describe(names=MODELS):
    """The shapes of the models ``names``, as this module's docstring gives them (for --help)."""
    lines, keep = [], False
    for line in __doc__.split("\n\n")[1].splitlines():  # the paragraph listing the models
        first = line.split(maxsplit=1)[0] if line.strip() else ""
        keep = first in names if not line.startswith("             ") else keep
        if keep:
            lines.append(line)
    return ("The built-in autoencoders (weights seeded by --seed, BCE as their loss):\n\n"
            + "\n".join(lines))


def build(name, latent=None, rng=None, **overrides):
    """The autoencoder ``name`` with code size ``latent`` (default: the entry's), weights seeded
    by ``rng``, and BCE as its ``loss`` (pixels in [0, 1]) unless ``reconstruction=`` says otherwise."""
    if name not in ZOO:
        raise ValueError(f"unknown model {name!r}; choose one of {', '.join(MODELS)}")
    cls, arguments, default_latent = ZOO[name]
    kwargs = dict(arguments(default_latent if latent is None else latent), activation="relu",
                  rng=rng)
    if cls is not VAE:  # the VAE's decoder gives logits, and its loss is −ELBO, not this BCE
        kwargs.update(output_activation="sigmoid", reconstruction="bce")
    kwargs.update(overrides)
    return cls(**kwargs)
