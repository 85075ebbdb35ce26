"""Transformer parts for a small vision transformer, written with the engine's existing ops
(matmul, softmax, reshape, transpose, getitem, concat): no new Function, so backprop through
them, first and second order, comes from ops the registry sweep already gradchecks.

    scaled_dot_product_attention   softmax(Q Kᵀ / √d) V
    MultiheadAttention              h heads of it, one fused q/k/v projection, one output one
    TransformerBlock                pre-norm: x + Attn(LN(x)), then x + MLP(LN(x)), GELU MLP
    sincos_pos_embed_2d             fixed 2-D sine-cosine positions of a grid of patches
    patchify / unpatchify           (N, C·H·W) images <-> (N, P, C·p·p) rows of patches
    random_masking                  per-sample random subset of patches (He et al. 2021)

Shapes follow PyTorch's ``batch_first=True``: a sequence batch is (N, T, D).
"""
import math

import numpy

from .. import backend
from .. import functional as F
from ..arguments import positive_int
from ..calls import drawn_as_one_box
from ..tensor import Tensor
from . import init
from .activation import GELU
from .layers import Linear
from .module import Module
from .norm import LayerNorm


@drawn_as_one_box
def scaled_dot_product_attention(q, k, v, return_weights=False):
    """Attention of queries q (…, T, d) over keys k (…, S, d) and values v (…, S, dᵥ):

        S = Q Kᵀ / √d          scores, (…, T, S)
        A = softmax_rows(S)    each row of A sums to 1: where query t looks
        Y = A V                (…, T, dᵥ)

    Backward, in the error-signal notation (Ȳ = ∂L/∂Y given), the reverse of the three lines:

        Ā = Ȳ Vᵀ                       V̄ = Aᵀ Ȳ
        S̄ = A ⊙ (Ā − rowsum(Ā ⊙ A))    (softmax's backward, row by row)
        Q̄ = S̄ K / √d                   K̄ = S̄ᵀ Q / √d

    Each line is an op of the engine (MatMul, Softmax, Mul), so the engine derives exactly
    this; with ``return_weights=True`` A is returned too (for tests and pictures)."""
    scale = 1.0 / math.sqrt(q.shape[-1])
    scores = F.matmul(q, F.matrix_transpose(k)) * scale
    weights = F.softmax(scores, axis=-1)
    out = F.matmul(weights, v)
    return (out, weights) if return_weights else out


class MultiheadAttention(Module):
    """Self-attention with ``num_heads`` heads of width d = dim / num_heads:

        Q = x W_qᵀ + b_q,  K = x W_kᵀ + b_k,  V = x W_vᵀ + b_v     (three Linear(dim, dim))
        headᵢ   = attention(Qᵢ, Kᵢ, Vᵢ) on the i-th d columns of each
        y       = [head₁ … head_h] W_outᵀ + b_out

    PyTorch's ``nn.MultiheadAttention`` holds the same numbers: its ``in_proj_weight`` is
    [W_q; W_k; W_v] stacked, its ``out_proj`` our ``proj``. (Three Linears rather than one
    fused Linear(dim, 3·dim) because slicing q, k, v out of one output costs a scatter-add
    in the backward pass.)"""

    def __init__(self, dim, num_heads, rng=None):
        super().__init__()
        positive_int(dim, "dim", "MultiheadAttention")
        positive_int(num_heads, "num_heads", "MultiheadAttention")
        if dim % num_heads:
            raise ValueError(f"MultiheadAttention: dim {dim} is not divisible by "
                             f"num_heads {num_heads}")
        rng = init.as_generator(rng)
        self.dim, self.num_heads = dim, num_heads
        self.q, self.k, self.v = (Linear(dim, dim, rng=rng) for _ in range(3))
        self.proj = Linear(dim, dim, rng=rng)

    def forward(self, x, return_weights=False):
        """x: (N, T, dim) tokens, or (T, dim) for one unbatched sequence (as in PyTorch)."""
        if x.ndim not in (2, 3) or x.shape[-1] != self.dim:
            raise ValueError(f"MultiheadAttention(dim={self.dim}) expects tokens of shape "
                             f"(N, T, {self.dim}) or (T, {self.dim}), got {tuple(x.shape)}")
        if x.ndim == 2:  # one sequence: a batch of one, and the batch axis dropped again
            y, weights = self.forward(F.unsqueeze(x, 0), return_weights=True)
            return (y[0], weights[0]) if return_weights else y[0]
        n, t, dim = x.shape
        h = self.num_heads

        def heads(z):                                                  # (N, T, dim) -> (N, h, T, d)
            return F.transpose(F.reshape(z, (n, t, h, dim // h)), (0, 2, 1, 3))

        q, k, v = heads(self.q(x)), heads(self.k(x)), heads(self.v(x))
        y, weights = scaled_dot_product_attention(q, k, v, return_weights=True)
        y = F.reshape(F.transpose(y, (0, 2, 1, 3)), (n, t, dim))        # heads side by side
        y = self.proj(y)
        return (y, weights) if return_weights else y

    def extra_repr(self):
        return f"dim={self.dim}, num_heads={self.num_heads}"


class TransformerBlock(Module):
    """The pre-norm block of ViT and MAE:

        x ← x + MHA(LN₁(x))
        x ← x + W₂ GELU(W₁ LN₂(x))       (hidden width mlp_ratio · dim)

    The residual paths carry x̄ straight through: x̄ = ȳ + (the branches' contributions)."""

    def __init__(self, dim, num_heads, mlp_ratio=4.0, rng=None):
        super().__init__()
        rng = init.as_generator(rng)
        hidden = int(dim * mlp_ratio)
        self.norm1 = LayerNorm(dim)
        self.attn = MultiheadAttention(dim, num_heads, rng=rng)
        self.norm2 = LayerNorm(dim)
        self.fc1 = Linear(dim, hidden, rng=rng)
        self.act = GELU()
        self.fc2 = Linear(hidden, dim, rng=rng)

    def forward(self, x):
        x = x + self.attn(self.norm1(x))
        return x + self.fc2(self.act(self.fc1(self.norm2(x))))


def sincos_pos_embed_2d(dim, grid_size):
    """Fixed positions for a grid_size × grid_size grid of patches, (grid_size², dim), float32.

    Patch (row, col) gets sin/cos of row·ωₖ in the first half of the features and of col·ωₖ in
    the second half, with frequencies ωₖ = 1 / 10000^(k / (dim/4)), k = 0 … dim/4 − 1 (the
    Transformer's 1-D code applied per axis, as in MAE). Not trained."""
    if dim % 4:
        raise ValueError(f"sincos_pos_embed_2d: dim must be divisible by 4, got {dim}")
    omega = 1.0 / 10000 ** (numpy.arange(dim // 4) / (dim / 4))
    rows, cols = numpy.meshgrid(numpy.arange(grid_size), numpy.arange(grid_size), indexing="ij")

    def code(pos):
        angles = pos.reshape(-1, 1) * omega[None, :]
        return numpy.concatenate([numpy.sin(angles), numpy.cos(angles)], axis=1)

    return numpy.concatenate([code(rows), code(cols)], axis=1).astype(numpy.float32)


@drawn_as_one_box
def patchify(x, patch, image_size, channels=1):
    """Images (N, C·H·W) or (N, C, H, W) -> patches (N, P, C·p·p), P = (H/p)², row-major over
    the grid; each patch's pixels in (row, col, channel) order. Works on Tensors (differentiable:
    reshape and transpose) and on plain arrays."""
    g = image_size // patch
    if g * patch != image_size:
        raise ValueError(f"patchify: image size {image_size} is not a multiple of patch {patch}")
    shape = (x.shape[0], channels, g, patch, g, patch)
    axes = (0, 2, 4, 3, 5, 1)          # N, grid row, grid col, pixel row, pixel col, channel
    out_shape = (x.shape[0], g * g, patch * patch * channels)
    if isinstance(x, Tensor):
        return F.reshape(F.transpose(F.reshape(x, shape), axes), out_shape)
    return x.reshape(shape).transpose(axes).reshape(out_shape)


@drawn_as_one_box
def unpatchify(patches, patch, image_size, channels=1):
    """The inverse of ``patchify``: (N, P, C·p·p) -> (N, C·H·W)."""
    g = image_size // patch
    n = patches.shape[0]
    shape = (n, g, g, patch, patch, channels)
    axes = (0, 5, 1, 3, 2, 4)          # N, channel, grid row, pixel row, grid col, pixel col
    if isinstance(patches, Tensor):
        return F.reshape(F.transpose(F.reshape(patches, shape), axes), (n, -1))
    return patches.reshape(shape).transpose(axes).reshape(n, -1)


@drawn_as_one_box
def random_masking(x, mask_ratio, rng):
    """Keep a random (1 − r)·P of each sample's P tokens (He et al. 2021, per sample).

    noise ~ U(0, 1) of shape (N, P); ids_shuffle = argsort(noise) is a random permutation per
    row; its first ⌊(1 − r)·P⌋ entries are the kept tokens, ids_restore = argsort(ids_shuffle)
    its inverse. Returns

        x_kept       (N, K, D), x[n, ids_shuffle[n, :K]] (as a product with a one-hot matrix)
        mask         (N, P) array, 1 = hidden, 0 = kept, in the original token order
        ids_restore  (N, P) NumPy array: restore_order([x_kept, hidden tokens], ids_restore)
                     puts every token back in its place

    ``rng``: a numpy Generator or int seed; the same seed gives the same masks."""
    n, p = x.shape[:2]
    keep = int(p * (1 - mask_ratio))
    if not 0 < keep <= p:
        raise ValueError(f"random_masking: mask_ratio {mask_ratio} keeps {keep} of {p} tokens; "
                         "it must keep at least one")
    noise = init.as_generator(rng).random((n, p))
    ids_shuffle = numpy.argsort(noise, axis=1)
    ids_restore = numpy.argsort(ids_shuffle, axis=1)
    mask = numpy.ones((n, p), dtype=numpy.float32)
    mask[:, :keep] = 0
    mask = numpy.take_along_axis(mask, ids_restore, axis=1)
    xp = backend.get_array_module(x.data)
    x_kept = F.matmul(_selection(ids_shuffle[:, :keep], p, x.dtype, xp), x)
    return x_kept, xp.asarray(mask), ids_restore


@drawn_as_one_box
def restore_order(tokens, ids_restore):
    """Put (N, P, D) tokens given in shuffled order back in the original order:
    y[n, i] = tokens[n, ids_restore[n, i]]."""
    xp = backend.get_array_module(tokens.data)
    return F.matmul(_selection(ids_restore, tokens.shape[1], tokens.dtype, xp), tokens)


def _selection(ids, p, dtype, xp):
    """One-hot rows S (N, K, P) with S[n, j, ids[n, j]] = 1, so that (S x)[n, j] = x[n, ids[n, j]].

    Picking tokens is a matrix product: its backward x̄ = Sᵀ ȳ puts each error signal back in
    its token's place, and S is a constant, so no error signal is computed for it. (Cheaper
    here than indexing, whose backward is a scatter-add.)"""
    n, k = ids.shape
    s = numpy.zeros((n, k, p), dtype=dtype)
    s[numpy.arange(n)[:, None], numpy.arange(k)[None, :], ids] = 1
    return Tensor(xp.asarray(s))
