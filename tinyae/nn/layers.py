"""Dense layers and shape helpers: Linear, TiedLinear, Embedding, Dropout, Flatten, Unflatten.

Default initialisation (see ``init.default_init_``) is PyTorch's: W and b ~ U(−1/√fan_in,
1/√fan_in). Every layer with weights takes ``rng`` (a numpy Generator or an int seed), so the
same seed gives the same weights. Parameters are float32 unless converted (``.double()``).
"""
from .. import backend
from ..arguments import is_int, positive_int
from ..generator import as_generator
from .. import functional as F
from ..tensor import Tensor
from . import init
from .module import Module, Parameter


def empty_parameter(*shape):
    """An uninitialised float32 Parameter on the current backend (filled by ``init``)."""
    xp = backend.default_module()
    return Parameter(xp.zeros(shape, dtype=backend.DEFAULT_FLOAT))


class Identity(Module):
    """y = x (a placeholder, e.g. for an optional layer)."""

    def forward(self, x):
        return x


class Linear(Module):
    """The affine layer z = x Wᵀ + b, W of shape (out_features, in_features).

    Backward (done by the fused op F.linear): x̄ = z̄ W,  W̄ = z̄ᵀ x,  b̄ = Σ_batch z̄.
    ``Linear(784, 32)`` has 784·32 + 32 = 25,120 parameters."""

    def __init__(self, in_features, out_features, bias=True, rng=None):
        super().__init__()
        self.in_features = positive_int(in_features, "in_features", "Linear")
        self.out_features = positive_int(out_features, "out_features", "Linear")
        self.weight = empty_parameter(out_features, in_features)
        self.bias = empty_parameter(out_features) if bias else None
        init.default_init_(self.weight, self.bias, rng)

    def forward(self, x):
        if x.shape[-1:] != (self.in_features,):
            raise ValueError(f"Linear({self.in_features}, {self.out_features}) got an input of "
                             f"shape {tuple(x.shape)}: its last axis must have "
                             f"{self.in_features} features (flatten images first)")
        return F.linear(x, self.weight, self.bias)

    def extra_repr(self):
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"bias={self.bias is not None}")


class TiedLinear(Module):
    """A decoder layer that reuses an encoder's weight, transposed: y = x (Wᵀ)ᵀ + c = x W + c.

    ``TiedLinear(encoder_layer)`` maps encoder_layer.out_features back to in_features with the
    SAME Parameter object W (shape (out, in)), so W̄ accumulates the error signals of both
    uses: W̄ = z̄_encᵀ x + hᵀ ȳ_dec. ``parameters()`` of a model holding both yields W once.
    Only the bias c (size in_features) is new."""

    def __init__(self, tied_to, bias=True, rng=None):
        super().__init__()
        weight = getattr(tied_to, "weight", None) if isinstance(tied_to, Module) else tied_to
        if not isinstance(weight, Parameter) or weight.ndim != 2:
            raise TypeError("TiedLinear(tied_to) needs a Linear layer (or its 2-D weight "
                            f"Parameter) to share, got {type(tied_to).__name__}")
        self.weight = weight  # the same object: registering it here does not copy it
        self.in_features, self.out_features = weight.shape  # z has weight.shape[0] features
        self.bias = empty_parameter(self.out_features) if bias else None
        if self.bias is not None:
            bound = 1.0 / self.in_features ** 0.5
            init.uniform_(self.bias, -bound, bound, rng)

    def forward(self, x):
        if x.shape[-1:] != (self.in_features,):
            raise ValueError(f"TiedLinear({self.in_features} -> {self.out_features}) got an "
                             f"input of shape {tuple(x.shape)}: its last axis must have "
                             f"{self.in_features} features (the tied layer's out_features)")
        return F.linear(x, F.transpose(self.weight), self.bias)

    def extra_repr(self):
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"bias={self.bias is not None}, tied weight shape={tuple(self.weight.shape)}")


class Embedding(Module):
    """A lookup table: row i of W (num_embeddings, embedding_dim) for each index i.
    y = W[idx];  W̄ = rows of ȳ added at idx (repeated indices add up). W ~ N(0, 1)."""

    def __init__(self, num_embeddings, embedding_dim, rng=None):
        super().__init__()
        self.num_embeddings = positive_int(num_embeddings, "num_embeddings", "Embedding")
        self.embedding_dim = positive_int(embedding_dim, "embedding_dim", "Embedding")
        self.weight = empty_parameter(num_embeddings, embedding_dim)
        init.normal_(self.weight, 0.0, 1.0, rng)

    def forward(self, indices):
        idx = indices.data if isinstance(indices, Tensor) else indices
        xp = backend.get_array_module(self.weight.data)
        idx = xp.asarray(idx)
        if idx.dtype.kind not in "iu":
            raise TypeError(f"Embedding takes integer indices, got dtype {idx.dtype}; "
                            "convert with .astype('int64')")
        if idx.size and (int(idx.min()) < 0 or int(idx.max()) >= self.num_embeddings):
            raise IndexError(f"Embedding({self.num_embeddings}, {self.embedding_dim}): indices "
                             f"must lie in [0, {self.num_embeddings - 1}], got "
                             f"{int(idx.min())}..{int(idx.max())}")
        return F.getitem(self.weight, idx)

    def extra_repr(self):
        return f"{self.num_embeddings}, {self.embedding_dim}"


class Dropout(Module):
    """Inverted dropout: in training each unit is zeroed with probability p and the survivors
    are scaled by 1/(1 − p), so nothing changes at evaluation, where it is the identity."""

    def __init__(self, p=0.5, rng=None):
        super().__init__()
        if isinstance(p, bool) or not isinstance(p, (int, float)) or not 0 <= p < 1:
            raise ValueError(f"Dropout probability must be in [0, 1), got {p!r}")
        self.p = float(p)
        self.rng = None if rng is None else as_generator(rng)

    def forward(self, x):
        from ..functional.random import dropout  # written alongside; imported when first used
        return dropout(x, p=self.p, training=self.training, rng=self.rng)

    def extra_repr(self):
        return f"p={self.p}"


class Flatten(Module):
    """Merge axes start_dim..end_dim into one: (N, C, H, W) -> (N, C·H·W) by default."""

    def __init__(self, start_dim=1, end_dim=-1):
        super().__init__()
        for name, value in (("start_dim", start_dim), ("end_dim", end_dim)):
            if not is_int(value):
                raise ValueError(f"Flatten: {name} must be an int (an axis), got {value!r}")
        self.start_dim, self.end_dim = start_dim, end_dim

    def forward(self, x):
        start, end = self.start_dim % x.ndim, self.end_dim % x.ndim
        if start > end:
            raise ValueError(f"Flatten(start_dim={self.start_dim}, end_dim={self.end_dim}): "
                             f"start comes after end for an input of shape {tuple(x.shape)}")
        return F.reshape(x, tuple(x.shape[:start]) + (-1,) + tuple(x.shape[end + 1:]))

    def extra_repr(self):
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"


class Unflatten(Module):
    """Split axis ``dim`` into ``unflattened_size``: Unflatten(1, (1, 28, 28)) turns
    (N, 784) into (N, 1, 28, 28) (a decoder's last step before a picture)."""

    def __init__(self, dim, unflattened_size):
        super().__init__()
        sizes = tuple(unflattened_size) if hasattr(unflattened_size, "__len__") else ()
        ok = [is_int(n) and (n > 0 or n == -1) for n in sizes]
        if not is_int(dim) or not sizes or not all(ok) or sizes.count(-1) > 1:
            raise ValueError(f"Unflatten({dim!r}, {unflattened_size!r}): dim must be an int and "
                             "unflattened_size a tuple of positive ints (at most one -1)")
        self.dim, self.unflattened_size = dim, sizes

    def forward(self, x):
        dim = self.dim % x.ndim
        size = 1
        for n in self.unflattened_size:
            size *= n
        if -1 not in self.unflattened_size and size != x.shape[dim]:
            raise ValueError(f"Unflatten({self.dim}, {self.unflattened_size}): axis {self.dim} of "
                             f"the input {tuple(x.shape)} has {x.shape[dim]} entries, not {size}")
        return F.reshape(x, tuple(x.shape[:dim]) + self.unflattened_size + tuple(x.shape[dim + 1:]))

    def extra_repr(self):
        return f"dim={self.dim}, unflattened_size={self.unflattened_size}"
