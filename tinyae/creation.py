"""Making tensors, with PyTorch's names: factories and random tensors.

    ta.manual_seed(0)                     # one seed for randn/rand, layer init, dropout, shuffling
    w = ta.randn(784, 32, requires_grad=True)
    b = ta.zeros(32, requires_grad=True)
    x = ta.arange(10), ta.linspace(0, 1, 5), ta.eye(3), ta.full((2, 2), 7.0)
    n = ta.randn_like(x_batch)            # same shape, dtype and device as x_batch
    t = ta.from_numpy(a)                  # shares a's memory (tinyae/tensor.py, beside tensor())

Shapes are given as PyTorch does: ``zeros(2, 3)`` or ``zeros((2, 3))``. Floating-point
tensors are float32 unless ``dtype`` says otherwise. Random numbers are drawn on the CPU from
``tinyae.arguments.default_generator`` (so the same seed gives the same numbers on
NumPy and CuPy) and land on the current backend's device.
"""
import numpy

from . import backend
from .generator import default_generator, manual_seed  # noqa: F401  (re-exported)
from .tensor import Tensor


def _shape(size):
    """(2, 3) from zeros(2, 3) or zeros((2, 3)) or zeros([2, 3])."""
    return tuple(size[0]) if len(size) == 1 and isinstance(size[0], (tuple, list)) else tuple(size)


def _make(array, dtype, requires_grad):
    """A Tensor on the current backend from a NumPy array (float32 unless ``dtype`` is given)."""
    if dtype is None and array.dtype.kind == "f":
        dtype = backend.DEFAULT_FLOAT
    data = backend.default_module().asarray(array, dtype=dtype)
    return Tensor(data, requires_grad=requires_grad, copy=False)  # a fresh array: no second copy


def zeros(*size, dtype=None, requires_grad=False):
    return _make(numpy.zeros(_shape(size)), dtype, requires_grad)


def ones(*size, dtype=None, requires_grad=False):
    return _make(numpy.ones(_shape(size)), dtype, requires_grad)


def full(size, fill_value, dtype=None, requires_grad=False):
    return _make(numpy.full(_shape((size,)), float(fill_value)), dtype, requires_grad)


def empty(*size, dtype=None, requires_grad=False):
    """Like ``zeros`` (tinyae never hands out uninitialised memory)."""
    return zeros(*size, dtype=dtype, requires_grad=requires_grad)


def eye(n, m=None, dtype=None, requires_grad=False):
    return _make(numpy.eye(n, m), dtype, requires_grad)


def arange(start, end=None, step=1, dtype=None, requires_grad=False):
    """[start, end) in steps; integers give an int64 tensor, as in PyTorch."""
    values = numpy.arange(start, end, step) if end is not None else numpy.arange(start)
    return _make(values, dtype, requires_grad)


def linspace(start, end, steps, dtype=None, requires_grad=False):
    return _make(numpy.linspace(start, end, steps), dtype, requires_grad)


def rand(*size, dtype=None, requires_grad=False, generator=None):
    """Uniform numbers in [0, 1); ``generator`` is a numpy Generator (default: the seeded one)."""
    rng = generator or default_generator
    return _make(rng.random(_shape(size)), dtype, requires_grad)


def randn(*size, dtype=None, requires_grad=False, generator=None):
    """Standard normal numbers N(0, 1)."""
    rng = generator or default_generator
    return _make(rng.standard_normal(_shape(size)), dtype, requires_grad)


def randint(low, high, size, dtype=None, generator=None):
    """Integers in [low, high) (int64)."""
    rng = generator or default_generator
    return _make(rng.integers(low, high, _shape((size,))), dtype, False)


def randperm(n, generator=None):
    return _make((generator or default_generator).permutation(n), None, False)


def _like(fn):
    def like(x, dtype=None, requires_grad=False):
        out = fn(*x.shape, dtype=dtype or x.dtype, requires_grad=requires_grad)
        return out.to(x.device)
    like.__name__ = fn.__name__ + "_like"
    like.__doc__ = f"``{fn.__name__}`` with the shape, dtype and device of ``x``."
    return like


zeros_like, ones_like, rand_like, randn_like = (_like(f) for f in (zeros, ones, rand, randn))


def full_like(x, fill_value, dtype=None, requires_grad=False):
    out = full(x.shape, fill_value, dtype=dtype or x.dtype, requires_grad=requires_grad)
    return out.to(x.device)

