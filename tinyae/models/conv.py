"""A convolutional autoencoder for N×C×H×W images.

Encoder: stride-2 3×3 convolutions (each halves H and W), then a linear map to the code.
Decoder: the mirror — linear, then stride-2 transposed convolutions (or nearest upsampling
followed by a convolution, which avoids the checkerboard artefacts of transposed convs)."""
import numpy as np

from .. import nn
from ..generator import as_generator
from ..tensor import ensure_tensor
from .base import Autoencoder
from .mlp import activation_layer


class ConvAutoencoder(Autoencoder):
    """``ConvAutoencoder(channels=(16, 32), latent=20)`` on 1×28×28: 28 → 14 → 7, code of 20.

    Inputs may be flat (N, C·H·W) or images (N, C, H, W); the reconstruction has the same
    shape as the input."""

    def __init__(self, image_shape=(1, 28, 28), channels=(16, 32), latent=20, kernel_size=3,
                 activation="relu", latent_activation=None, output_activation="sigmoid",
                 decoder="transpose", rng=None, **kwargs):
        super().__init__(**kwargs)
        if decoder not in ("transpose", "upsample"):
            raise ValueError(f"decoder must be 'transpose' or 'upsample', got {decoder!r}")
        c, h, w = image_shape
        scale = 2 ** len(channels)
        if h % scale or w % scale:
            raise ValueError(f"image {h}×{w} must be divisible by 2^{len(channels)} = {scale} "
                             f"for {len(channels)} stride-2 layers")
        rng = as_generator(rng)
        self.image_shape = tuple(image_shape)
        pad = kernel_size // 2
        encoder_layers, widths = [], [c] + list(channels)
        for a, b in zip(widths[:-1], widths[1:]):
            encoder_layers += [nn.Conv2d(a, b, kernel_size, stride=2, padding=pad, rng=rng),
                               activation_layer(activation)]
        inner = (channels[-1], h // scale, w // scale)
        flat = int(np.prod(inner))
        encoder_layers += [nn.Flatten(1), nn.Linear(flat, latent, rng=rng),
                           activation_layer(latent_activation)]
        decoder_layers = [nn.Linear(latent, flat, rng=rng), activation_layer(activation),
                          nn.Unflatten(1, inner)]
        back = list(reversed(widths))
        for i, (a, b) in enumerate(zip(back[:-1], back[1:])):
            last = i == len(back) - 2
            if decoder == "transpose":
                decoder_layers.append(nn.ConvTranspose2d(a, b, kernel_size, stride=2, padding=pad,
                                                         output_padding=1, rng=rng))
            else:
                decoder_layers += [nn.Upsample(scale_factor=2),
                                   nn.Conv2d(a, b, kernel_size, padding=pad, rng=rng)]
            decoder_layers.append(activation_layer(output_activation if last else activation))
        self.encoder = nn.Sequential(*[m for m in encoder_layers if m is not None])
        self.decoder = nn.Sequential(*[m for m in decoder_layers if m is not None])

    def encode(self, x):
        x = ensure_tensor(x)
        if x.ndim == 2:  # flat pixels → images
            x = x.reshape((x.shape[0],) + self.image_shape)
        return self.encoder(x)

    def forward(self, x):
        x = ensure_tensor(x)
        return self.decode(self.encode(x)).reshape(x.shape)

    def reconstruction_loss(self, r, x):
        return super().reconstruction_loss(r.reshape(x.shape), x)
