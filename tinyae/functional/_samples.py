"""Sample-input generators for the op registry: ``sample(rng, shape) -> (inputs, params)``.

The test suite draws ``shape`` with hypothesis and gradchecks every op on what these return,
in float64. Inputs are kept away from kinks (|x| ≥ 0.1 for relu, abs, max) where the finite
difference would straddle a non-differentiable point.
"""
import numpy as np


def normal(rng, shape):
    return rng.standard_normal(shape)


def away_from_zero(rng, shape):
    """Values in ±[0.1, 1.1]: no finite difference crosses 0."""
    return rng.choice([-1.0, 1.0], size=shape) * rng.uniform(0.1, 1.1, size=shape)


def positive(rng, shape):
    return rng.uniform(0.5, 2.0, size=shape)


def distinct(rng, shape):
    """A permutation of well-separated values, so max/min have no ties."""
    n = int(np.prod(shape))
    return (rng.permutation(n) * 0.1 + rng.uniform(0, 0.01, n)).reshape(shape) - 0.05 * n


def broadcast_partner(rng, shape):
    """A shape that broadcasts against ``shape``: some axes set to 1, maybe leading axes cut."""
    shape = list(shape)
    for i in range(len(shape)):
        if rng.random() < 0.3:
            shape[i] = 1
    cut = rng.integers(0, len(shape) + 1) if rng.random() < 0.3 else 0
    return tuple(shape[cut:])


def unary(make=normal, **params):
    def sample(rng, shape):
        return (make(rng, shape),), dict(params)
    return sample


def binary(make_a=normal, make_b=normal):
    def sample(rng, shape):
        a_shape, b_shape = shape, broadcast_partner(rng, shape)
        if rng.random() < 0.5:
            a_shape, b_shape = b_shape, a_shape
        return (make_a(rng, a_shape), make_b(rng, b_shape)), {}
    return sample


def with_axis(make=normal, **extra):
    """An input of ``shape`` and a random axis (or None) with keepdims on or off."""
    def sample(rng, shape):
        axis = None if rng.random() < 0.3 else int(rng.integers(-len(shape), len(shape)))
        return (make(rng, shape),), dict(axis=axis, keepdims=bool(rng.random() < 0.5), **extra)
    return sample
