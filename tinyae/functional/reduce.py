"""Reductions over an axis (or all axes). The backward spreads ȳ back over the reduced axes."""
import builtins
from collections import namedtuple

from .. import backend
from ..arguments import axis_index
from ..autograd import Function, register
from ..tensor import Tensor
from . import _samples as S
from ._names import dim_names
from .elementwise import maximum, minimum


def _keepdims_shape(shape, axis):
    """The shape of the result with keepdims=True, used to line ȳ up with x again."""
    if axis is None:
        return (1,) * len(shape)
    axes = axis if isinstance(axis, tuple) else (axis,)
    axes = {axis_index(a, len(shape), "a reduction") for a in axes}
    return tuple(1 if i in axes else n for i, n in enumerate(shape))


def _count(shape, axis):
    reduced = _keepdims_shape(shape, axis)
    n = 1
    for full, kept in zip(shape, reduced):
        if kept == 1:
            n *= full
    return n


@register(S.with_axis())
class Sum(Function):
    """y = Σᵢ xᵢ over ``axis``;  x̄ᵢ = ȳ for every i (ȳ broadcast back)"""
    def forward(self, x):
        return x.sum(axis=self.axis, keepdims=self.keepdims)

    def backward(self, ybar):
        shape = self.inputs[0].shape
        return ybar.reshape(_keepdims_shape(shape, self.axis)).broadcast_to(shape)


@register(S.with_axis())
class Mean(Function):
    """y = (1/N) Σᵢ xᵢ;  x̄ᵢ = ȳ / N"""
    def forward(self, x):
        return x.mean(axis=self.axis, keepdims=self.keepdims)

    def backward(self, ybar):
        shape = self.inputs[0].shape
        n = _count(shape, self.axis)
        # An empty x has an empty x̄ (n = 0 must not divide by zero on the way).
        return ybar.reshape(_keepdims_shape(shape, self.axis)).broadcast_to(shape) * (1.0 / builtins.max(n, 1))


class _Extremum(Function):
    """y = max/min over ``axis``; ȳ goes to the winning element(s) (ties share it equally)."""
    def forward(self, x):
        return self.reduce(x, axis=self.axis, keepdims=self.keepdims)

    def backward(self, ybar):
        x = self.inputs[0].data
        kept = _keepdims_shape(x.shape, self.axis)
        winners = (x == self.output.data.reshape(kept)).astype(ybar.dtype)
        winners /= winners.sum(axis=self.axis, keepdims=True)
        return ybar.reshape(kept) * winners


@register(S.with_axis(S.distinct))
class Max(_Extremum):
    """y = maxᵢ xᵢ;  x̄ᵢ = ȳ [xᵢ = y]"""
    reduce = staticmethod(lambda x, **kw: x.max(**kw))


@register(S.with_axis(S.distinct))
class Min(_Extremum):
    """y = minᵢ xᵢ;  x̄ᵢ = ȳ [xᵢ = y]"""
    reduce = staticmethod(lambda x, **kw: x.min(**kw))


@register(S.with_axis(ddof=0))
class Var(Function):
    """y = (1/(N − ddof)) Σᵢ (xᵢ − x̄)²;  x̄ᵢ = ȳ · 2(xᵢ − mean) / (N − ddof)"""
    def forward(self, x):
        return x.var(axis=self.axis, keepdims=self.keepdims, ddof=self.ddof)

    def backward(self, ybar):
        x = self.inputs[0]
        kept = _keepdims_shape(x.shape, self.axis)
        centred = x - mean(x, self.axis, keepdims=True)
        dof = _count(x.shape, self.axis) - self.ddof
        scale = 2.0 / dof if dof > 0 else float("nan")  # y is NaN there too (N ≤ ddof)
        return ybar.reshape(kept) * centred * scale


@dim_names
def sum(x, axis=None, keepdims=False):  # noqa: A001
    return Sum.apply(x, axis=_norm(axis), keepdims=keepdims)


@dim_names
def mean(x, axis=None, keepdims=False):
    return Mean.apply(x, axis=_norm(axis), keepdims=keepdims)


@dim_names
def var(x, axis=None, keepdims=False, ddof=0):
    """Variance; ddof=0 (NumPy's default) divides by N, ddof=1 by N − 1 (PyTorch's default)."""
    return Var.apply(x, axis=_norm(axis), keepdims=keepdims, ddof=ddof)


# PyTorch's torch.max(x, dim) gives the values and where they are; NumPy's max(x, axis) the values.
MinMax = namedtuple("MinMax", "values indices")


def max(x, dim=None, keepdim=False, *, axis=None, keepdims=False):  # noqa: A001
    """The largest entries. NumPy's form ``max(x, axis=1)`` returns them; PyTorch's form
    ``max(x, 1)`` or ``max(x, dim=1)`` returns ``(values, indices)`` as PyTorch does, and
    ``max(a, b)`` of two tensors is the elementwise ``maximum``."""
    return _extremum(Max, argmax, maximum, x, dim, keepdim, axis, keepdims)


def min(x, dim=None, keepdim=False, *, axis=None, keepdims=False):  # noqa: A001
    """The smallest entries; the same forms as ``max``."""
    return _extremum(Min, argmin, minimum, x, dim, keepdim, axis, keepdims)


def _extremum(op, arg, pairwise, x, dim, keepdim, axis, keepdims):
    if isinstance(dim, Tensor):
        return pairwise(x, dim)
    if dim is None:
        return op.apply(x, axis=_norm(axis), keepdims=keepdims)
    return MinMax(op.apply(x, axis=dim, keepdims=keepdim), arg(x, dim, keepdim))


@dim_names
def argmax(x, axis=None, keepdims=False):
    """Index of the largest entry (over everything, or along ``axis``): an int64 Tensor, not
    differentiable."""
    data = x.data if isinstance(x, Tensor) else x
    return Tensor(data.argmax(axis=axis, keepdims=keepdims), copy=False)


@dim_names
def argmin(x, axis=None, keepdims=False):
    data = x.data if isinstance(x, Tensor) else x
    return Tensor(data.argmin(axis=axis, keepdims=keepdims), copy=False)


def _norm(axis):
    return tuple(axis) if isinstance(axis, list) else axis


_ = (backend, builtins)
