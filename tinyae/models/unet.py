"""A small U-Net: an encoder-decoder for image-to-image tasks, with or without skip connections.

    x (C_in, H, W) ─ block ──────────────────────────── concat ─ block ─ 1×1 conv → (C_out, H, W)
                      └ pool ─ block ─────── concat ─ block ┘ up
                                └ pool ─ block (bottleneck) ┘ up

Each *block* is two 3×3 convolutions with ReLU (padding 1, so H and W stay). Going down, a 2×2
max-pool halves H and W; going up, a 2×2 stride-2 transposed convolution doubles them. With
``skips=True`` each decoder level sees the upsampled features *and*, joined along the channel
axis by ``concat``, the encoder's features of the same size (Ronneberger et al. 2015): the
fine detail the pooling threw away comes back by the short path, and the bottleneck only has
to say *what* is where. With ``skips=False`` it is a plain convolutional encoder-decoder; the
decoder blocks then have fewer input channels, nothing else changes.

    UNet(in_channels=1, out_channels=4, channels=(16, 32, 64))   # 3 levels: 28 → 14 → 7

H and W must be divisible by 2^(levels − 1). The output is raw scores (logits) unless
``output_activation`` says otherwise ('sigmoid' for pixels in [0, 1]).

``loss(x, target)`` is the model's training objective, chosen by ``loss=``:
'cross_entropy' (per-pixel softmax cross-entropy of logits (N, C, H, W) against integer labels
(N, H, W): segmentation), 'bce_with_logits', 'bce' or 'mse' (image targets of the output's
shape: inpainting, denoising).
"""
from .. import functional as F
from .. import losses, nn
from ..arguments import positive_int
from ..generator import as_generator
from ..tensor import ensure_tensor
from .mlp import activation_layer

LOSSES = {"cross_entropy": losses.cross_entropy, "bce_with_logits": losses.bce_with_logits,
          "bce": losses.bce, "mse": losses.mse}


def conv_block(c_in, c_out, activation="relu", batchnorm=False, rng=None):
    """Two 3×3 convolutions (padding 1: H, W unchanged), each followed by the activation
    (with ``batchnorm``, by BatchNorm2d and then the activation; the conv then needs no bias)."""
    layers = []
    for a, b in ((c_in, c_out), (c_out, c_out)):
        layers.append(nn.Conv2d(a, b, 3, padding=1, bias=not batchnorm, rng=rng))
        if batchnorm:
            layers.append(nn.BatchNorm2d(b))
        layers.append(activation_layer(activation))
    return nn.Sequential(*[m for m in layers if m is not None])


class UNet(nn.Module):
    """Encoder-decoder on (N, C, H, W) images; ``skips`` joins each encoder level to the decoder."""

    def __init__(self, in_channels=1, out_channels=1, channels=(16, 32, 64), skips=True,
                 activation="relu", batchnorm=False, output_activation=None, loss="mse", rng=None):
        super().__init__()
        if len(channels) < 2 or any(int(c) != c or c < 1 for c in channels):
            raise ValueError(f"channels must list at least two positive widths (one per level, "
                             f"the last is the bottleneck), got {channels!r}")
        if loss not in LOSSES:
            raise ValueError(f"unknown loss {loss!r}: choose one of {sorted(LOSSES)}")
        activation_layer(output_activation)  # a misspelt name fails here, not in forward
        positive_int(in_channels, "in_channels", "UNet")
        positive_int(out_channels, "out_channels", "UNet")
        if loss in ("cross_entropy", "bce_with_logits") and output_activation is not None:
            raise ValueError(f"UNet: loss={loss!r} takes raw scores (logits) and applies the "
                             f"{'softmax' if loss == 'cross_entropy' else 'sigmoid'} itself; "
                             f"output_activation={output_activation!r} would squash the scores "
                             "before it (for bce_with_logits: the sigmoid twice). Leave "
                             "output_activation=None (or use loss='bce' with 'sigmoid')")
        if loss == "cross_entropy" and out_channels < 2:
            raise ValueError("UNet: loss='cross_entropy' scores out_channels classes per pixel and "
                             "needs out_channels ≥ 2; for a 0/1 mask use out_channels=1 with "
                             "loss='bce_with_logits'")
        if loss == "bce" and output_activation != "sigmoid":
            raise ValueError("UNet: loss='bce' needs outputs in [0, 1]: pass "
                             "output_activation='sigmoid', or use loss='bce_with_logits' on logits")
        rng = as_generator(rng)
        self.in_channels, self.out_channels = in_channels, out_channels
        self.channels, self.skips, self.loss_name = tuple(channels), bool(skips), loss
        self.output_activation = output_activation
        widths = [in_channels] + list(channels)
        self.down = nn.ModuleList([conv_block(a, b, activation, batchnorm, rng)
                                   for a, b in zip(widths[:-1], widths[1:])])
        self.pool = nn.MaxPool2d(2)
        ups, blocks = [], []
        for deep, shallow in zip(channels[:0:-1], channels[-2::-1]):   # bottleneck → top
            ups.append(nn.ConvTranspose2d(deep, shallow, 2, stride=2, rng=rng))
            blocks.append(conv_block(2 * shallow if skips else shallow, shallow, activation, batchnorm,
                                     rng))
        self.up, self.up_blocks = nn.ModuleList(ups), nn.ModuleList(blocks)
        self.head = nn.Conv2d(channels[0], out_channels, 1, rng=rng)
        self.final = activation_layer(output_activation)

    def forward(self, x):
        x = ensure_tensor(x)
        scale = 2 ** (len(self.channels) - 1)
        if x.ndim != 4 or x.shape[1] != self.in_channels or x.shape[2] % scale or x.shape[3] % scale:
            raise ValueError(f"UNet expects (N, {self.in_channels}, H, W) with H and W divisible "
                             f"by {scale} ({len(self.channels)} levels), got {tuple(x.shape)}")
        h, saved = x, []
        for i, block in enumerate(self.down):
            h = block(h if i == 0 else self.pool(h))
            saved.append(h)
        for up, block, skip in zip(self.up, self.up_blocks, reversed(saved[:-1])):
            h = up(h)
            h = block(F.concat([skip, h], axis=1) if self.skips else h)
        out = self.head(h)
        return self.final(out) if self.final is not None else out

    def loss(self, x, target):
        """The training objective on a batch: ``loss(model(x), target)`` with the model's loss."""
        return LOSSES[self.loss_name](self(x), target)

    def extra_repr(self):
        return (f"in_channels={self.in_channels}, out_channels={self.out_channels}, "
                f"channels={self.channels}, skips={self.skips}, loss={self.loss_name!r}")
