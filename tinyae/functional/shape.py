"""Ops that move numbers around without changing them. Their backward moves ȳ back."""
import numbers

from .. import backend
from ..arguments import axis_index
from ..autograd import Function, register
from ..tensor import Tensor
from . import _samples as S
from ._names import dim_names


def _reshape_sample(rng, shape):
    return (S.normal(rng, shape),), {"shape": (-1,) if rng.random() < 0.5 else tuple(reversed(shape))}


@register(_reshape_sample)
class Reshape(Function):
    """y = x viewed with another shape;  x̄ = ȳ reshaped back"""
    def forward(self, x):
        try:
            return x.reshape(self.shape)
        except ValueError:
            raise ValueError(f"cannot reshape {x.shape} ({x.size} elements) to {self.shape}") from None

    def backward(self, ybar):
        return ybar.reshape(self.inputs[0].shape)


def _transpose_sample(rng, shape):
    return (S.normal(rng, shape),), {"axes": tuple(int(a) for a in rng.permutation(len(shape)))}


@register(_transpose_sample)
class Transpose(Function):
    """y = x with its axes permuted;  x̄ = ȳ with the inverse permutation"""
    def forward(self, x):
        return x.transpose(self.axes)

    def backward(self, ybar):
        axes = self.axes if self.axes is not None else tuple(reversed(range(ybar.ndim)))
        inverse = [0] * len(axes)
        for i, a in enumerate(axes):
            inverse[a] = i
        return ybar.transpose(tuple(inverse))


def _broadcast_sample(rng, shape):
    small = S.broadcast_partner(rng, shape)
    return (S.normal(rng, small),), {"shape": tuple(shape)}


@register(_broadcast_sample)
class BroadcastTo(Function):
    """y = x repeated along new or length-1 axes;  x̄ = ȳ summed back (done by the engine)"""
    def forward(self, x):
        return backend.get_array_module(x).broadcast_to(x, self.shape)

    def backward(self, ybar):
        return ybar  # the engine's unbroadcast sums it to x's shape


def _getitem_sample(rng, shape):
    x = S.normal(rng, shape)
    if rng.random() < 0.5:  # integer-array indexing, with repeats (they must accumulate)
        index = rng.integers(0, shape[0], size=int(rng.integers(1, 5)))
    else:  # basic indexing: a slice with a step, and an integer on the last axis
        index = (slice(None, None, 2),) + ((Ellipsis, int(rng.integers(0, shape[-1]))) if len(shape) > 1 else ())
    return (x,), {"index": index}


@register(_getitem_sample)
class GetItem(Function):
    """y = x[index] (basic slicing or integer arrays);  x̄ = zeros with ȳ added at index"""
    def forward(self, x):
        return x[self.index]

    def backward(self, ybar):
        return ScatterAdd.apply(ybar, shape=self.inputs[0].shape, index=self.index)


def _scatter_sample(rng, shape):
    (x,), params = _getitem_sample(rng, shape)
    y = x[params["index"]]
    return (S.normal(rng, y.shape),), dict(params, shape=x.shape)


@register(_scatter_sample)
class ScatterAdd(Function):
    """y = zeros(shape) with x added at index (repeated indices add up);  x̄ = ȳ[index]

    A basic index (ints, slices, ``...``, None) picks every element at most once, so there the
    addition is a plain slice assignment; only integer-array indices, which may repeat, need
    the slower unbuffered ``add.at`` (measured on (3, 64, 49, 64) float32, ``qkv[0]``'s
    backward: 0.04 ms against 0.7 ms)."""
    def forward(self, x):
        xp = backend.get_array_module(x)
        y = xp.zeros(self.shape, dtype=x.dtype)
        if _is_basic(self.index):
            y[self.index] = x
        elif xp.__name__ == "numpy":
            xp.add.at(y, self.index, x)
        else:
            y.scatter_add(self.index, x)
        return y

    def backward(self, ybar):
        return GetItem.apply(ybar, index=self.index)


def _setitem_sample(rng, shape):
    x = S.normal(rng, shape)
    index = (slice(None, None, 2),) + ((Ellipsis, int(rng.integers(0, shape[-1])))
                                       if len(shape) > 1 else ())
    return (x, S.normal(rng, x[index].shape)), {"index": index}


@register(_setitem_sample)
class SetItem(Function):
    """y = x with y[index] = v (``x[index] = v`` on a tensor in the graph, recorded);
    x̄ = ȳ with 0 at index (those values were overwritten), v̄ = ȳ[index]"""
    def forward(self, x, v):
        if not _is_basic(self.index) and len(set(_flat_index(self.index, x.shape))) < \
                len(_flat_index(self.index, x.shape)):
            raise ValueError("x[index] = v with an index that repeats an element: which value "
                             "is kept is undefined; give each element once")
        y = x.copy()
        y[self.index] = v
        return y

    def backward(self, ybar):
        kept = backend.get_array_module(ybar.data).ones(self.inputs[0].shape, dtype=ybar.dtype)
        kept[self.index] = 0  # a 0/1 mask: a constant factor (see Function's docstring)
        return ybar * Tensor(kept, copy=False), GetItem.apply(ybar, index=self.index)


def _flat_index(index, shape):
    """The flat positions an advanced index picks (to find repeats)."""
    import numpy
    return numpy.arange(int(numpy.prod(shape))).reshape(shape)[index].reshape(-1).tolist()


def _is_basic(index):
    """True for NumPy's basic indexing: ints, slices, Ellipsis and None (a view of x)."""
    parts = index if isinstance(index, tuple) else (index,)
    return all(p is None or p is Ellipsis or isinstance(p, slice)
               or (isinstance(p, numbers.Integral) and not isinstance(p, bool)) for p in parts)


def _concat_sample(rng, shape):
    axis = int(rng.integers(0, len(shape)))
    other = list(shape)
    other[axis] = int(rng.integers(1, 4))
    return (S.normal(rng, shape), S.normal(rng, tuple(other))), {"axis": axis}


@register(_concat_sample)
class Concat(Function):
    """y = [x₁, x₂, …] joined along ``axis``;  x̄ₖ = the k-th slice of ȳ"""
    def forward(self, *xs):
        try:
            return backend.get_array_module(*xs).concatenate(xs, axis=self.axis)
        except ValueError:
            shapes = ", ".join(str(x.shape) for x in xs)
            raise ValueError(f"concat along axis {self.axis}: shapes {shapes} differ "
                             "on another axis") from None

    def backward(self, ybar):
        slices, start = [], 0
        for x in self.inputs:
            index = [slice(None)] * ybar.ndim
            index[self.axis] = slice(start, start + x.shape[self.axis])
            slices.append(ybar[tuple(index)])
            start += x.shape[self.axis]
        return tuple(slices)


def _stack_sample(rng, shape):
    return (S.normal(rng, shape), S.normal(rng, shape)), {"axis": int(rng.integers(0, len(shape) + 1))}


@register(_stack_sample)
class Stack(Function):
    """y = the xₖ stacked along a new ``axis``;  x̄ₖ = ȳ taken at position k of that axis"""
    def forward(self, *xs):
        if len({x.shape for x in xs}) > 1:
            raise ValueError("stack needs equal shapes, got " + ", ".join(str(x.shape) for x in xs))
        return backend.get_array_module(*xs).stack(xs, axis=self.axis)

    def backward(self, ybar):
        index = [slice(None)] * ybar.ndim
        pieces = []
        for k in range(len(self.inputs)):
            index[self.axis] = k
            pieces.append(ybar[tuple(index)])
        return tuple(pieces)


def _pad_sample(rng, shape):
    widths = tuple((int(rng.integers(0, 3)), int(rng.integers(0, 3))) for _ in shape)
    return (S.normal(rng, shape),), {"pad_width": widths, "value": 0.0}


@register(_pad_sample)
class Pad(Function):
    """y = x surrounded by ``value`` (pad_width = ((before, after), …) per axis);  x̄ = ȳ's centre"""
    def forward(self, x):
        return backend.get_array_module(x).pad(x, self.pad_width, constant_values=self.value)

    def backward(self, ybar):
        return ybar[tuple(slice(b, b + n) for (b, _), n in zip(self.pad_width, self.inputs[0].shape))]


def reshape(x, shape):
    return Reshape.apply(x, shape=tuple(shape) if not isinstance(shape, int) else (shape,))


def transpose(x, axes=None):
    return Transpose.apply(x, axes=tuple(axes) if axes is not None else None)


def permute(x, axes):
    return transpose(x, axes)


def broadcast_to(x, shape):
    return BroadcastTo.apply(x, shape=tuple(shape))


def setitem(x, index, value):
    """x with x[index] = value, out of place (what ``x[index] = value`` records in the graph)."""
    return SetItem.apply(x, value, index=index)


def as_index(x, index):
    """An index for x's array: a Tensor's array, a list as an array."""
    if isinstance(index, Tensor):
        return index.data
    if isinstance(index, list):
        return backend.get_array_module(x.data).asarray(index)
    return index


def getitem(x, index):
    return GetItem.apply(x, index=as_index(x, index))


def _some_tensors(xs, who):
    if isinstance(xs, Tensor) or backend.is_array(xs):
        raise TypeError(f"{who} takes a list of tensors, e.g. {who}([a, b]), not a single tensor")
    if len(xs) == 0:
        raise ValueError(f"{who} needs at least one tensor, got an empty list")


@dim_names
def concat(xs, axis=0):
    _some_tensors(xs, "cat")
    return Concat.apply(*xs, axis=axis)


cat = concat  # PyTorch's name: cat([a, b], dim=1)


@dim_names
def stack(xs, axis=0):
    _some_tensors(xs, "stack")
    return Stack.apply(*xs, axis=axis)


def unsqueeze(x, dim):
    """x with a new axis of length 1 at position ``dim`` (−1: at the end), as in PyTorch."""
    dim = axis_index(dim, x.ndim + 1, "unsqueeze")  # x.ndim + 1 places for the new axis
    return reshape(x, x.shape[:dim] + (1,) + x.shape[dim:])


def squeeze(x, dim=None):
    """x without its length-1 axes, or without axis ``dim`` if that one has length 1."""
    if dim is None:
        return reshape(x, tuple(n for n in x.shape if n != 1))
    dim = axis_index(dim, x.ndim, "squeeze")
    return reshape(x, x.shape[:dim] + x.shape[dim + 1:]) if x.shape[dim] == 1 else x


def pad(x, pad_width, value=0.0):
    """Constant padding; ``pad_width`` is an int or ((before, after), …) per axis as in NumPy."""
    if isinstance(pad_width, int):
        pad_width = ((pad_width, pad_width),) * x.ndim
    return Pad.apply(x, pad_width=tuple(tuple(p) for p in pad_width), value=value)


def flatten(x, start_dim=0):
    """Merge the axes from ``start_dim`` on into one (start_dim=1 keeps the batch axis)."""
    start_dim = axis_index(start_dim, max(x.ndim, 1), "flatten")
    return reshape(x, tuple(x.shape[:start_dim]) + (-1,))
