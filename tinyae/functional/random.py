"""Random masking: dropout, and the fixed-mask op it is built on.

Randomness lives outside the graph: the mask m is drawn once in the forward pass and then held
fixed, so y = x ⊙ m is an ordinary linear op with x̄ = ȳ ⊙ m (and a finite-difference check
sees the same m every time).
"""
import numpy

from .. import backend
from ..generator import as_generator
from ..autograd import Function, register
from ..tensor import Tensor


def _mask_sample(rng, shape):
    shape = tuple(shape) or (3,)
    m = (rng.random(shape) < 0.7) * 2.0  # a dropout-style mask: 0 or 1/(1 − p)
    return (rng.standard_normal(shape),), {"m": m}


@register(_mask_sample)
class Mask(Function):
    """y = x ⊙ m for a fixed array m (not differentiated);  x̄ = ȳ ⊙ m"""
    def forward(self, x):
        if self.m.shape != x.shape:
            raise ValueError(f"the mask has shape {self.m.shape} but the input has shape "
                             f"{x.shape}; draw the mask with the input's shape")
        return x * self.m.astype(x.dtype, copy=False)  # a float64 mask must not upcast x

    def backward(self, ybar):
        return Mask.apply(ybar, m=self.m)


def mask(x, m):
    """x ⊙ m with m a fixed array of x's shape (e.g. a corruption or dropout mask)."""
    m = m.data if isinstance(m, Tensor) else m
    xp = backend.get_array_module(getattr(x, "data", x))
    return Mask.apply(x, m=xp.asarray(m, dtype=x.dtype))


def _uniform(xp, shape, dtype, rng):
    """Uniform [0, 1) numbers of ``shape``, drawn with the array module of the data."""
    rng = as_generator(rng)
    if xp.__name__ == "numpy":
        return rng.random(shape, dtype=dtype if dtype == numpy.float32 else numpy.float64)
    # CuPy: draw on the GPU; the NumPy Generator only supplies the seed.
    seed = int(rng.integers(2 ** 63))
    return xp.random.RandomState(seed).random_sample(shape, dtype=dtype)


def dropout(x, p=0.5, training=True, rng=None):
    """Inverted dropout: keep each element with probability 1 − p and scale it by 1/(1 − p),
    so E[y] = x and nothing changes at test time. Identity when ``training`` is False or p = 0.

    ``rng`` is a numpy Generator or an int seed; None uses tinyae's default generator
    (``manual_seed`` and ``fit(seed=…)`` re-seed it). Each call draws a new mask."""
    if isinstance(p, bool) or not isinstance(p, (int, float)) or not 0 <= p < 1:
        raise ValueError(f"dropout: p is the probability of dropping an element and must be in "
                         f"[0, 1), got {p!r} (p = 1 would drop everything)")
    if not training or p == 0:
        return x
    if not isinstance(x, Tensor):
        x = Tensor(x, copy=False)
    xp = backend.get_array_module(x.data)
    keep = _uniform(xp, x.shape, x.dtype, rng) >= p
    m = keep.astype(x.dtype) * x.dtype.type(1.0 / (1.0 - p))
    return Mask.apply(x, m=m)
