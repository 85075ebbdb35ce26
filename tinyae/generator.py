"""The one random generator of tinyae, and the one way to get a generator from what a user passes.

    manual_seed(0)              re-seed the default generator (as torch.manual_seed)
    as_generator(None)          the default generator: layer initialisation, rand/randn, dropout,
                                noise, corruptions and loaders without a seed all draw from it
    as_generator(0)             a numpy Generator seeded with 0
    as_generator(generator)     that Generator itself

Everything random takes ``rng=`` (a Generator, an int seed or None) and goes through
``as_generator``, so ``manual_seed`` governs every model, layer and loader built after it. This
module imports nothing from tinyae, so any file may use it.
"""
import numbers

import numpy


def _is_int(value):
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


# The generator behind every ``rng=None``: layer initialisation, tinyae.rand/randn, dropout,
# corruptions and loaders without a seed. manual_seed (and train.seed_everything) re-seed it
# in place, so everything holding it sees the new stream.
default_generator = numpy.random.default_rng()


def manual_seed(seed):
    """Re-seed tinyae's default generator, as ``torch.manual_seed`` does: afterwards layer
    initialisation, rand/randn, dropout masks, corruptions and unseeded shuffling repeat."""
    if not _is_int(seed) or seed < 0:
        raise ValueError(f"manual_seed takes a non-negative int, got {seed!r}")
    default_generator.bit_generator.state = numpy.random.PCG64(int(seed)).state
    return default_generator


def as_generator(rng=None):
    """A ``numpy.random.Generator`` from a Generator (returned as it is, not copied), an int
    seed, or None (the default generator above)."""
    if isinstance(rng, numpy.random.Generator):
        return rng
    if rng is None:
        return default_generator
    if _is_int(rng):
        return numpy.random.default_rng(rng)
    raise TypeError(f"rng must be a numpy.random.Generator, an int seed or None, got "
                    f"{type(rng).__name__} (make one with numpy.random.default_rng(seed))")
