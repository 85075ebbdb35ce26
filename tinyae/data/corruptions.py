"""Input corruptions for denoising and masked autoencoders.

The first axis of ``x`` is the sample axis; every other axis is flattened into "features"
(so ``(N, 784)`` and ``(N, 1, 28, 28)`` behave the same). A 1-D ``x`` is one sample.

Randomness always comes from a ``numpy.random.Generator`` (pass one, or an int seed; None
means tinyae's default generator, which ``tinyae.manual_seed`` seeds). The random choices are
drawn on the CPU with NumPy and then moved to the array's module, so the same generator gives the same corruption on NumPy and on
CuPy. The moved arrays are the size of one batch, which is cheap next to a training step.

Every function returns a new array of ``x``'s dtype and module; ``x`` itself is not changed.
The corruptions follow Vincent et al. (2010), "Stacked Denoising Autoencoders", section 4.
"""
import numbers

import numpy

from tinyae.arguments import is_int, positive_int
from tinyae.generator import as_generator
from tinyae.backend import get_array_module, is_array


# ---------------------------------------------------------------- argument checks

def _array(x):
    if not is_array(x):
        x = numpy.asarray(x)
    if x.dtype.kind not in "fiu":
        raise TypeError(f"x must hold numbers, got dtype {x.dtype}")
    return x


def _fraction(value, name="fraction"):
    if not isinstance(value, numbers.Real) or isinstance(value, bool) or not 0 <= value <= 1:
        raise ValueError(f"{name} must be a number in [0, 1], got {value!r}")
    return float(value)


def _samples_features(x):
    """(number of samples, features per sample) for the sample-first convention above."""
    if x.ndim <= 1:
        return 1, x.size
    return x.shape[0], x.size // max(x.shape[0], 1)


def _choose(rng, n, d, fraction, exact):
    """A bool (n, d) NumPy mask marking the entries to corrupt.

    exact=True: exactly round(fraction * d) entries in every row, chosen without replacement
    (the "fraction ν of the elements of x, chosen at random for each example" of Vincent
    et al.). exact=False: each entry independently with probability ``fraction`` (Bernoulli;
    faster, but the count per sample varies).
    """
    if not exact:
        return rng.random((n, d)) < fraction
    k = int(round(fraction * d))
    mask = numpy.zeros((n, d), dtype=bool)
    if k == d:
        mask[:] = True
    elif k > 0:
        # The k smallest of d random keys per row are a uniform random k-subset of the row.
        idx = numpy.argpartition(rng.random((n, d)), k - 1, axis=1)[:, :k]
        numpy.put_along_axis(mask, idx, True, axis=1)
    return mask


# ---------------------------------------------------------------- corruptions

def masking_noise(x, fraction, rng=None, exact=True):
    """Set a fraction ν of each sample's inputs to 0 ("masking noise", the SdA default).

    With ``exact=True`` every sample loses exactly round(ν·d) of its d inputs, chosen at
    random; with ``exact=False`` each input is dropped independently with probability ν.
    """
    x, fraction, rng = _array(x), _fraction(fraction), as_generator(rng)
    xp = get_array_module(x)
    n, d = _samples_features(x)
    keep = ~_choose(rng, n, d, fraction, exact)
    # Multiplying by a bool array keeps x's dtype and makes a new array in one pass.
    return x * xp.asarray(keep).reshape(x.shape)


def salt_and_pepper(x, fraction, rng=None, low=0.0, high=1.0, exact=True):
    """Set a fraction ν of each sample's inputs to ``low`` or ``high`` (a fair coin for each).

    The chosen entries are picked as in ``masking_noise`` (``exact`` has the same meaning);
    with pixels in [0, 1] they become black or white.
    """
    x, fraction, rng = _array(x), _fraction(fraction), as_generator(rng)
    xp = get_array_module(x)
    n, d = _samples_features(x)
    hit = _choose(rng, n, d, fraction, exact)
    values = numpy.where(rng.random((n, d)) < 0.5, high, low).astype(x.dtype)
    hit, values = xp.asarray(hit).reshape(x.shape), xp.asarray(values).reshape(x.shape)
    return xp.where(hit, values, x).astype(x.dtype, copy=False)


def gaussian_noise(x, sigma, rng=None, clip=(0.0, 1.0)):
    """Add isotropic Gaussian noise of standard deviation ``sigma``, then clip to ``clip``.

    ``clip=(lo, hi)`` keeps pixels in range (default [0, 1]); ``clip=None`` leaves them be.
    """
    x, rng = _array(x), as_generator(rng)
    if not isinstance(sigma, numbers.Real) or isinstance(sigma, bool) or not sigma >= 0:
        raise ValueError(f"sigma must be a number >= 0, got {sigma!r}")
    if clip is not None and (len(clip) != 2 or not clip[0] <= clip[1]):
        raise ValueError(f"clip must be None or (low, high) with low <= high, got {clip!r}")
    xp = get_array_module(x)
    # Draw in float32 when x is float32: half the memory and no upcast of the result.
    dtype = numpy.float32 if x.dtype == numpy.float32 else numpy.float64
    noise = rng.standard_normal(x.shape, dtype=dtype)
    noise *= sigma
    out = x + xp.asarray(noise)
    if clip is not None:
        out = xp.clip(out, clip[0], clip[1])
    return out.astype(x.dtype, copy=False)


def patch_occlusion(x, patch, rng=None, image_shape=(28, 28), value=0.0):
    """Black out one random ``patch`` x ``patch`` square in every image (all its channels).

    x may be (N, H*W), (N, H, W) or (N, C, H, W) with (H, W) = ``image_shape``; the square is
    placed uniformly at random, always fully inside the image, and set to ``value``.
    """
    x, rng = _array(x), as_generator(rng)
    if len(image_shape) != 2 or min(image_shape) < 1:
        raise ValueError(f"image_shape must be (height, width), got {image_shape!r}")
    h, w = (int(s) for s in image_shape)
    if not isinstance(patch, numbers.Integral) or isinstance(patch, bool) \
            or not 1 <= patch <= min(h, w):
        raise ValueError(f"patch must be an integer from 1 to {min(h, w)} (the image side), "
                         f"got {patch!r}")
    n, d = _samples_features(x)
    if d % (h * w):
        raise ValueError(f"each sample of x has {d} values, which is not a whole number of "
                         f"{h}x{w} images; pass the right image_shape")
    xp = get_array_module(x)
    top = rng.integers(0, h - patch + 1, size=n)
    left = rng.integers(0, w - patch + 1, size=n)
    rows, cols = numpy.arange(h), numpy.arange(w)
    in_rows = (rows >= top[:, None]) & (rows < top[:, None] + patch)        # (n, h)
    in_cols = (cols >= left[:, None]) & (cols < left[:, None] + patch)      # (n, w)
    square = in_rows[:, :, None] & in_cols[:, None, :]                      # (n, h, w)
    square = xp.asarray(square)[:, None]                    # broadcast over channels
    images = x.reshape(n, d // (h * w), h, w)
    out = xp.where(square, xp.asarray(value, dtype=x.dtype), images)
    return out.reshape(x.shape).astype(x.dtype, copy=False)


def _extent(value, limit, name):
    """A side length or an inclusive range (lo, hi) of them, checked against the image side."""
    lo, hi = (value, value) if isinstance(value, numbers.Integral) else tuple(value)
    if not (is_int(lo) and is_int(hi)) or not 1 <= lo <= hi <= limit:
        raise ValueError(f"occlusion {name} must be an int or a range (lo, hi) with "
                         f"1 <= lo <= hi <= {limit} (the image side), got {value!r}")
    return int(lo), int(hi)


def occlusion_mask(n, size, rng=None, image_shape=(28, 28), count=1):
    """A bool NumPy array (n, H, W): ``count`` random rectangles per image, True inside.

    ``size`` is a side length (a square), or (height, width) where each may be an int or an
    inclusive range (lo, hi) to draw from, e.g. ``((4, 12), (4, 12))`` for rectangles of
    random shape. Each rectangle lies fully inside the image at a uniformly random position;
    rectangles of one image may overlap. The same generator state gives the same mask.
    """
    rng = as_generator(rng)
    if len(image_shape) != 2 or min(image_shape) < 1:
        raise ValueError(f"image_shape must be (height, width), got {image_shape!r}")
    h, w = (int(s) for s in image_shape)
    if is_int(size):
        size = (size, size)
    if not hasattr(size, "__len__") or len(size) != 2:
        raise ValueError(f"size must be an int (a square) or (height, width), got {size!r}")
    (h_lo, h_hi), (w_lo, w_hi) = _extent(size[0], h, "height"), _extent(size[1], w, "width")
    count = positive_int(count, "count", "occlusion_mask")
    mask = numpy.zeros((n, h, w), dtype=bool)
    rows, cols = numpy.arange(h), numpy.arange(w)
    for _ in range(count):
        ph = rng.integers(h_lo, h_hi + 1, size=n)
        pw = rng.integers(w_lo, w_hi + 1, size=n)
        top = (rng.random(n) * (h - ph + 1)).astype(int)      # uniform in [0, h − ph]
        left = (rng.random(n) * (w - pw + 1)).astype(int)
        in_rows = (rows >= top[:, None]) & (rows < (top + ph)[:, None])       # (n, h)
        in_cols = (cols >= left[:, None]) & (cols < (left + pw)[:, None])     # (n, w)
        mask |= in_rows[:, :, None] & in_cols[:, None, :]
    return mask


def occlude(x, size, rng=None, image_shape=(28, 28), value=0.0, count=1):
    """Occlude ``count`` random squares or rectangles of every image: ``(occluded, mask)``.

    x may be (N, H*W), (N, H, W) or (N, C, H, W) with (H, W) = ``image_shape``; ``size`` is as
    in ``occlusion_mask`` (an int for a square). The occluded pixels (all channels) are set to
    ``value``. ``mask`` is a bool array of x's shape and module, True where x was occluded, so
    that an inpainting model can be told where the hole is and scored inside it only.
    """
    x = _array(x)
    n, d = _samples_features(x)
    h, w = (int(s) for s in image_shape) if len(image_shape) == 2 else (0, 0)
    if h < 1 or w < 1 or d % (h * w):
        raise ValueError(f"each sample of x has {d} values, which is not a whole number of "
                         f"images of image_shape={image_shape!r}; pass the right image_shape")
    xp = get_array_module(x)
    square = occlusion_mask(n, size, rng, (h, w), count)[:, None]      # (n, 1, h, w)
    mask = numpy.broadcast_to(square, (n, d // (h * w), h, w)).reshape(x.shape)   # a copy
    mask = xp.asarray(mask)
    out = xp.where(mask, xp.asarray(value, dtype=x.dtype), x).astype(x.dtype, copy=False)
    return out, mask


# ---------------------------------------------------------------- as objects, for corruption=

class _Corruption:
    """A corruption with its own random generator, applied to NumPy/CuPy batches: what a
    denoising autoencoder takes as ``corruption=`` (``MLPAutoencoder(..., corruption=
    MaskingNoise(0.25, seed=0))``), applied to its input only while training."""

    def __init__(self, seed=None):
        self.rng = as_generator(seed)


class MaskingNoise(_Corruption):
    """Set a fraction ν of each input's pixels to 0 (Vincent et al. 2010)."""

    def __init__(self, fraction, seed=None):
        super().__init__(seed)
        self.fraction = fraction

    def __call__(self, x):
        return masking_noise(x, self.fraction, self.rng)


class GaussianNoise(_Corruption):
    """Add N(0, σ²) noise, clipped to [0, 1]."""

    def __init__(self, sigma, seed=None, clip=(0.0, 1.0)):
        super().__init__(seed)
        self.sigma, self.clip = sigma, clip

    def __call__(self, x):
        return gaussian_noise(x, self.sigma, self.rng, clip=self.clip)


class SaltAndPepper(_Corruption):
    """Set a fraction of pixels to 0 or 1 at random."""

    def __init__(self, fraction, seed=None):
        super().__init__(seed)
        self.fraction = fraction

    def __call__(self, x):
        return salt_and_pepper(x, self.fraction, self.rng)
