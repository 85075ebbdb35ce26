"""The reference autoencoders of the benchmark, built twice: in tinyae (from its model zoo,
tinyae.models.zoo) and in PyTorch.

Same shapes, activations, batch, optimizer and loss in both frameworks (initial weights differ,
which does not change the time of a step):

    shallow  784-20-784, ReLU code, sigmoid output                       (2 Linear layers)
    deep     784-1000-500-250-30-250-500-1000-784, ReLU, sigmoid output  (8 Linear layers,
             Hinton & Salakhutdinov 2006)
    conv     1×28×28 → Conv 16 (3×3, s2, p1) → 14×14 → Conv 32 (3×3, s2, p1) → 7×7 → Linear 20,
             mirrored: Linear 32·7·7, ConvTranspose 16 → 14×14, ConvTranspose 1 → 28×28, sigmoid
    vae      784-400-(20, 20), z = μ + σ ⊙ ε, 20-400-784 (ReLU): the PyTorch example's VAE; its
             step minimises the model's own loss, BCE summed over pixels + KL, per image

``image_shape(name)`` says whether a model eats flat rows (784,) or images (1, 28, 28).
"""

MODELS = ("shallow", "deep", "conv", "vae")

DEEP_WIDTHS = (784, 1000, 500, 250, 30)


def image_shape(name):
    """The shape of one input example for model ``name``."""
    return (1, 28, 28) if name == "conv" else (784,)


def _check(name):
    if name not in MODELS:
        raise ValueError(f"unknown model {name!r}: choose from {', '.join(MODELS)}")


def _mlp_layers(nn, widths):
    """Linear-ReLU-…-Linear-Sigmoid through ``widths`` (the last activation is the sigmoid)."""
    layers = []
    pairs = list(zip(widths[:-1], widths[1:]))
    for i, (n_in, n_out) in enumerate(pairs):
        layers.append(nn.Linear(n_in, n_out))
        layers.append(nn.Sigmoid() if i == len(pairs) - 1 else nn.ReLU())
    return layers


def _widths(name):
    if name == "shallow":
        return (784, 20, 784)
    return DEEP_WIDTHS + DEEP_WIDTHS[-2::-1]  # 784 … 30 … 784


# benchmark name -> the tinyae model zoo's entry (tinyae.models.zoo) with these settings
ZOO_ENTRIES = {"shallow": dict(name="shallow", latent=20),
               "deep": dict(name="hinton", latent=DEEP_WIDTHS[-1]),
               "conv": dict(name="conv", latent=20, latent_activation=None),
               "vae": dict(name="vae", latent=20)}


def build_tinyae(name, seed=0):
    """The model from tinyae's model zoo (``tinyae.models.build``; float32 parameters)."""
    from tinyae.models import build
    _check(name)
    return build(**ZOO_ENTRIES[name], rng=seed)


def build_torch(name, seed=0):
    """The same model as a ``torch.nn.Sequential`` (float32, PyTorch's default init)."""
    import torch
    from torch import nn
    _check(name)
    torch.manual_seed(seed)
    if name == "vae":
        return _torch_vae(torch, nn)()
    if name != "conv":
        return nn.Sequential(*_mlp_layers(nn, _widths(name)))
    return nn.Sequential(
        nn.Conv2d(1, 16, 3, stride=2, padding=1), nn.ReLU(),
        nn.Conv2d(16, 32, 3, stride=2, padding=1), nn.ReLU(),
        nn.Flatten(), nn.Linear(32 * 7 * 7, 20),
        nn.Linear(20, 32 * 7 * 7), nn.ReLU(), nn.Unflatten(1, (32, 7, 7)),
        nn.ConvTranspose2d(32, 16, 3, stride=2, padding=1, output_padding=1), nn.ReLU(),
        nn.ConvTranspose2d(16, 1, 3, stride=2, padding=1, output_padding=1), nn.Sigmoid())


def _torch_vae(torch, nn):
    """The model of pytorch/examples vae/main.py, with its loss as a method (per image)."""
    F = torch.nn.functional

    class VAE(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc1, self.fc21, self.fc22 = nn.Linear(784, 400), nn.Linear(400, 20), nn.Linear(400, 20)
            self.fc3, self.fc4 = nn.Linear(20, 400), nn.Linear(400, 784)

        def forward(self, x):
            h1 = F.relu(self.fc1(x))
            mu, logvar = self.fc21(h1), self.fc22(h1)
            z = mu + torch.randn_like(mu) * torch.exp(0.5 * logvar)
            return torch.sigmoid(self.fc4(F.relu(self.fc3(z)))), mu, logvar

        def loss(self, x):
            recon, mu, logvar = self(x)
            bce = F.binary_cross_entropy(recon, x, reduction="sum")
            kld = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())
            return (bce + kld) / len(x)
    return VAE


def count_parameters(model):
    """Number of trainable numbers in a tinyae or a PyTorch model."""
    return sum(int(p.numel() if hasattr(p, "numel") else p.size) for p in model.parameters())
