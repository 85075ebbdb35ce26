"""The masked autoencoder (He et al. 2021): hide most patches, reconstruct them from the rest.

    patches   x → P patches of p×p pixels, each a row of p² numbers
    encoder   embed every patch (Linear) + fixed 2-D sin-cos position; keep a random
              (1 − r)·P of them per image; TransformerBlocks; LayerNorm
    decoder   Linear to decoder_dim; one shared, learned mask token in each hidden slot;
              restore the patch order; + positions; lighter TransformerBlocks; LayerNorm;
              Linear to p² pixels per patch
    loss      mean squared error over the pixels of the HIDDEN patches only

The encoder never sees a mask token, so it runs on (1 − r)·P tokens: at r = 0.75 a quarter
of the work. After training, the decoder is thrown away and ``features(x)`` (the encoder on
the whole, unmasked image, tokens averaged) serves other tasks.
"""
import numbers

import numpy

from .. import backend, losses
from .. import functional as F
from .. import nn
from ..generator import as_generator
from ..autograd import no_grad
from ..calls import drawn_as_one_box
from ..nn import init
from ..nn.transformer import (TransformerBlock, patchify, random_masking, restore_order,
                              sincos_pos_embed_2d, unpatchify)
from ..tensor import ensure_tensor


class MaskedAutoencoder(nn.Module):
    """MAE for square images of ``image_size`` pixels a side and ``channels`` channels, given
    as (N, C·H·W) rows (MNIST: (N, 784)) or (N, C, H, W).

    patch             side of a square patch; P = (image_size / patch)² patches
    dim, depth, heads encoder width, number of blocks, attention heads
    decoder_dim, decoder_depth, decoder_heads   the decoder's (heads default to ``heads``)
    mask_ratio        r, the fraction of patches hidden in ``loss``
    norm_pix_loss     compare with each patch normalised to mean 0, variance 1 (MAE's option)
    rng               seed (or Generator) of the weights; ``mask_seed`` that of the masks

    Weights as in MAE: Linear weights Xavier-uniform, biases 0, the mask token N(0, 0.02²)."""

    def __init__(self, image_size, patch, dim, depth, heads, decoder_dim, decoder_depth,
                 mask_ratio=0.75, norm_pix_loss=False, decoder_heads=None, channels=1,
                 mlp_ratio=4.0, rng=None, mask_seed=None):
        super().__init__()
        if image_size % patch:
            raise ValueError(f"MaskedAutoencoder: image_size {image_size} is not a multiple "
                             f"of patch {patch}")
        if not (isinstance(mask_ratio, numbers.Real) and 0 < mask_ratio < 1):
            raise ValueError(f"MaskedAutoencoder: mask_ratio must be in (0, 1) — the loss is "
                             f"measured on the hidden patches, so some must be hidden — got "
                             f"{mask_ratio!r}")
        rng = init.as_generator(rng)
        self.image_size, self.patch, self.channels = image_size, patch, channels
        self.mask_ratio, self.norm_pix_loss = mask_ratio, norm_pix_loss
        grid = image_size // patch
        self.num_patches = grid * grid
        if int(self.num_patches * (1 - mask_ratio)) == self.num_patches:
            raise ValueError(f"MaskedAutoencoder: mask_ratio {mask_ratio} hides no patch of "
                             f"{self.num_patches}; use at least {1 / self.num_patches:.3g}")
        patch_dim = patch * patch * channels
        self.patch_embed = nn.Linear(patch_dim, dim, rng=rng)
        self.register_buffer("pos_embed", sincos_pos_embed_2d(dim, grid)[None])
        self.blocks = nn.ModuleList([TransformerBlock(dim, heads, mlp_ratio, rng=rng)
                                     for _ in range(depth)])
        self.norm = nn.LayerNorm(dim)
        self.decoder_embed = nn.Linear(dim, decoder_dim, rng=rng)
        self.mask_token = nn.Parameter(backend.default_module().zeros((1, 1, decoder_dim),
                                                                      dtype=numpy.float32))
        self.register_buffer("decoder_pos_embed", sincos_pos_embed_2d(decoder_dim, grid)[None])
        self.decoder_blocks = nn.ModuleList(
            [TransformerBlock(decoder_dim, decoder_heads or heads, mlp_ratio, rng=rng)
             for _ in range(decoder_depth)])
        self.decoder_norm = nn.LayerNorm(decoder_dim)
        self.decoder_pred = nn.Linear(decoder_dim, patch_dim, rng=rng)
        for m in self.modules():
            if isinstance(m, nn.Linear):
                init.xavier_uniform_(m.weight, rng=rng)
                init.zeros_(m.bias)
        init.normal_(self.mask_token, 0.0, 0.02, rng)
        # The masks' own stream (fit(seed=…) re-seeds it); drawn from the weights' generator
        # unless mask_seed is given, so manual_seed fixes both
        self.mask_rng = (numpy.random.default_rng(rng.integers(2 ** 63)) if mask_seed is None
                         else as_generator(mask_seed))

    # --- the two halves -----------------------------------------------------------------
    def patchify(self, x):
        return patchify(x, self.patch, self.image_size, self.channels)

    def unpatchify(self, patches):
        return unpatchify(patches, self.patch, self.image_size, self.channels)

    def encode(self, x, mask_ratio=0.0, rng=None):
        """Tokens of the kept patches after the encoder, (N, K, dim), with the mask (N, P)
        (1 = hidden) and ids_restore. ``mask_ratio=0`` keeps every patch, in order."""
        tokens = self.patch_embed(self.patchify(ensure_tensor(x))) + self.pos_embed
        if mask_ratio > 0:
            tokens, mask, ids_restore = random_masking(tokens, mask_ratio,
                                                       self.mask_rng if rng is None else rng)
        else:
            mask = ids_restore = None
        for block in self.blocks:
            tokens = block(tokens)
        return self.norm(tokens), mask, ids_restore

    def decode(self, tokens, ids_restore):
        """Predicted pixels of every patch, (N, P, p²·C), from the kept tokens."""
        y = self.decoder_embed(tokens)
        n, kept, d = y.shape
        if ids_restore is not None:
            hidden = F.broadcast_to(self.mask_token, (n, self.num_patches - kept, d))
            y = restore_order(F.concat([y, hidden], axis=1), ids_restore)
        y = y + self.decoder_pos_embed
        for block in self.decoder_blocks:
            y = block(y)
        return self.decoder_pred(self.decoder_norm(y))

    def forward(self, x, mask_ratio=None, rng=None):
        """(predicted patches (N, P, p²·C), mask (N, P) with 1 = hidden)."""
        ratio = self.mask_ratio if mask_ratio is None else mask_ratio
        tokens, mask, ids_restore = self.encode(x, ratio, rng)
        return self.decode(tokens, ids_restore), mask

    # --- what the lessons call ------------------------------------------------------------
    def target(self, x):
        """The patches the decoder must produce: pixels, or normalised per patch."""
        target = self.patchify(ensure_tensor(x).data)
        if self.norm_pix_loss:
            mean = target.mean(axis=-1, keepdims=True)
            var = target.var(axis=-1, keepdims=True)
            target = (target - mean) / (var + 1e-6) ** 0.5
        return target

    def loss(self, x, return_parts=False):
        """Mean squared error per pixel, averaged over the hidden patches only:

            L = Σₙ Σ_hidden ‖x̂ₙₚ − xₙₚ‖² / (p²·C · number of hidden patches)"""
        pred, mask = self(x)
        total = masked_mse(pred, self.target(x), mask)
        if return_parts:
            return total, {"masked_mse": float(total.item())}
        return total

    def reconstruct(self, x, mask_ratio=None, seed=None):
        """For pictures: (masked input, reconstruction, mask), each (N, C·H·W) NumPy-like arrays.

        The masked input has hidden pixels set to 0; ``mask`` is 1 on hidden pixels; the
        reconstruction is every patch as the decoder predicts it (with ``norm_pix_loss`` each
        patch is mapped back with the true patch's mean and variance, as MAE's demo does).
        ``seed`` fixes the mask (default: the model's mask generator)."""
        x = ensure_tensor(x)
        rng = None if seed is None else as_generator(seed)
        with no_grad():
            pred, mask = self(x, mask_ratio, rng)
        pred = pred.data
        if self.norm_pix_loss:
            target = self.patchify(x.data)
            pred = pred * (target.var(axis=-1, keepdims=True) + 1e-6) ** 0.5 \
                + target.mean(axis=-1, keepdims=True)
        p2 = self.patch * self.patch * self.channels
        pixel_mask = self.unpatchify(mask[:, :, None].repeat(p2, axis=2).astype(x.dtype))
        return x.data * (1 - pixel_mask), self.unpatchify(pred), pixel_mask

    def features(self, x):
        """The encoder's mean token on the whole, unmasked image: (N, dim). The decoder and
        masking play no part."""
        tokens, _, _ = self.encode(x, mask_ratio=0.0)
        return tokens.mean(axis=1)

    def extra_repr(self):
        return (f"image_size={self.image_size}, patch={self.patch}, "
                f"num_patches={self.num_patches}, mask_ratio={self.mask_ratio}, "
                f"norm_pix_loss={self.norm_pix_loss}")


class MAEClassifier(nn.Module):
    """An MAE's encoder (its mean token on the whole image, ``features``) under a linear layer:
    how He et al. evaluate an MAE, fine-tuned end to end on the labels. ``mae`` is used as it
    is (copy it first to keep it); ``encoder_and_head()`` lists the parameters fine-tuning
    trains (the decoder and mask token play no part in ``features``)."""

    def __init__(self, mae, n_classes=10, rng=None):
        super().__init__()
        self.mae = mae
        self.head = nn.Linear(mae.patch_embed.out_features, n_classes, rng=rng)

    def forward(self, x):
        return self.head(self.mae.features(x))

    def loss(self, x, y):   # as Classifier's: fit()'s default objective on (x, y) batches
        return losses.cross_entropy(self(x), y)

    def encoder_and_head(self):
        return [p for name, p in self.named_parameters()
                if name.startswith(("head", "mae.patch_embed", "mae.blocks", "mae.norm"))]


@drawn_as_one_box
def masked_mse(pred, target, mask):
    """Mean squared error per pixel over the patches where ``mask`` is 1 (hidden): pred and
    target (N, P, D), mask (N, P)."""
    mask = mask.astype(pred.dtype, copy=False)
    per_patch = ((pred - target.astype(pred.dtype, copy=False)) ** 2).mean(axis=-1)
    return (per_patch * mask).sum() * (1.0 / float(mask.sum()))
