"""Tensor's operators and methods that are ops, installed on the class from here, as Chainer
installs its Variable arithmetic from its ops package: ``x + y`` is ``E.add(x, y)`` (the op Add),
``x.sum(dim=1)`` is ``R.sum(x, dim=1)``. So tensor.py and the engine import no op, and the ops
import Tensor like any other name. (Each method also takes PyTorch's dim=/keepdim= where it has
an axis: ``**dim`` passes them on to the op, which accepts both spellings.)"""
from ..arguments import axis_index
from ..tensor import Tensor
from . import activations as A
from . import elementwise as E
from . import inplace
from . import linalg as L
from . import reduce as R
from . import shape as S


class _Methods:
    """The methods below, copied onto Tensor by ``install``."""

    def __add__(self, other): return E.add(self, other)
    def __radd__(self, other): return E.add(other, self)
    def __sub__(self, other): return E.sub(self, other)
    def __rsub__(self, other): return E.sub(other, self)
    def __mul__(self, other): return E.mul(self, other)
    def __rmul__(self, other): return E.mul(other, self)
    def __truediv__(self, other): return E.div(self, other)
    def __rtruediv__(self, other): return E.div(other, self)
    def __pow__(self, other): return E.pow(self, other)
    def __rpow__(self, other): return E.pow(other, self)
    def __matmul__(self, other): return L.matmul(self, other)
    def __rmatmul__(self, other): return L.matmul(other, self)
    def __neg__(self): return E.neg(self)
    def __pos__(self): return self
    def __abs__(self): return E.abs(self)
    def __getitem__(self, index): return S.getitem(self, index)

    _record_inplace = inplace.record  # Tensor._inplace inside a recorded computation

    def __setitem__(self, index, value):
        """x[index] = value, in place; recorded in the graph where it must be (Tensor._inplace)."""
        index = S.as_index(self, index)
        self._inplace(value, lambda array, v: array.__setitem__(index, v),
                      lambda old, v: S.setitem(old, index, v))

    def sum(self, axis=None, keepdims=False, **dim): return R.sum(self, axis=axis, keepdims=keepdims, **dim)
    def mean(self, axis=None, keepdims=False, **dim): return R.mean(self, axis=axis, keepdims=keepdims, **dim)
    def var(self, axis=None, keepdims=False, ddof=0, **dim):
        return R.var(self, axis=axis, keepdims=keepdims, ddof=ddof, **dim)
    def max(self, dim=None, keepdim=False, **axis): return R.max(self, dim, keepdim, **axis)
    def min(self, dim=None, keepdim=False, **axis): return R.min(self, dim, keepdim, **axis)
    def argmax(self, axis=None, keepdims=False, **dim): return R.argmax(self, axis=axis, keepdims=keepdims, **dim)
    def argmin(self, axis=None, keepdims=False, **dim): return R.argmin(self, axis=axis, keepdims=keepdims, **dim)
    def reshape(self, *shape): return S.reshape(self, shape[0] if len(shape) == 1 else shape)
    view = reshape
    def flatten(self, start_dim=0): return S.flatten(self, start_dim)
    def squeeze(self, dim=None): return S.squeeze(self, dim)
    def unsqueeze(self, dim): return S.unsqueeze(self, dim)
    def transpose(self, *axes): return S.transpose(self, _transpose_axes(self.ndim, axes))
    def permute(self, *axes): return S.transpose(self, axes[0] if len(axes) == 1 else axes)
    T = property(lambda self: S.transpose(self))
    def t(self): return S.transpose(self)
    mT = property(lambda self: L.matrix_transpose(self))
    def broadcast_to(self, shape): return S.broadcast_to(self, shape)
    def clone(self): return E.clone(self)
    def pow(self, p): return E.pow(self, p)
    def exp(self): return E.exp(self)
    def log(self): return E.log(self)
    def sqrt(self): return E.sqrt(self)
    def sin(self): return E.sin(self)
    def cos(self): return E.cos(self)
    def abs(self): return E.abs(self)
    def clip(self, low=None, high=None): return E.clip(self, low, high)
    def clamp(self, min=None, max=None): return E.clamp(self, min, max)  # noqa: A002
    def relu(self): return A.relu(self)
    def sigmoid(self): return A.sigmoid(self)
    def tanh(self): return A.tanh(self)
    def softmax(self, axis=-1, dim=None): return A.softmax(self, axis if dim is None else dim)
    def log_softmax(self, axis=-1, dim=None): return A.log_softmax(self, axis if dim is None else dim)
    def astype(self, dtype): return E.astype(self, dtype)

    # PyTorch's spellings of the same ops (a student's first week)
    def view_as(self, other): return S.reshape(self, other.shape)
    def expand_as(self, other): return S.broadcast_to(self, other.shape)

    def std(self, dim=None, keepdim=False, unbiased=True, *, axis=None, keepdims=None):
        """Standard deviation, with PyTorch's default: Bessel's correction (divide by N − 1)."""
        axis = dim if axis is None else axis
        keepdims = keepdim if keepdims is None else keepdims
        return E.sqrt(R.var(self, axis=axis, keepdims=keepdims, ddof=1 if unbiased else 0))

    def repeat(self, *sizes):
        """PyTorch's repeat (NumPy's tile): (a, b).repeat(2, 3) is (2a, 3b). Broadcast and
        reshape, so the backward sums the copies (x̄ = Σ over the tiles)."""
        sizes = tuple(sizes[0]) if len(sizes) == 1 and not isinstance(sizes[0], int) else sizes
        if len(sizes) < self.ndim:
            raise ValueError(f"repeat: give one count per axis ({self.ndim}), got {sizes}")
        shape = (1,) * (len(sizes) - self.ndim) + tuple(self.shape)
        spread = tuple(d for pair in zip((1,) * len(shape), shape) for d in pair)
        tiled = tuple(d for pair in zip(sizes, shape) for d in pair)
        y = S.broadcast_to(S.reshape(self, spread), tiled)
        return S.reshape(y, tuple(r * n for r, n in zip(sizes, shape)))

    def chunk(self, chunks, dim=0):
        """``chunks`` pieces along ``dim`` (the last may be smaller), as PyTorch's chunk."""
        n = self.shape[dim]
        size = -(-n // chunks)
        return self.split(size, dim)

    def split(self, size, dim=0):
        """Pieces of ``size`` along ``dim`` (the last may be smaller), as PyTorch's split."""
        dim = axis_index(dim, self.ndim, "split")
        index = [slice(None)] * self.ndim
        pieces = []
        for start in range(0, self.shape[dim], size):
            index[dim] = slice(start, start + size)
            pieces.append(S.getitem(self, tuple(index)))
        return tuple(pieces)

    def long(self): return E.astype(self, "int64")
    def int(self): return E.astype(self, "int32")  # noqa: A003
    def bool(self): return E.astype(self, "bool")  # noqa: A003

    def type(self, dtype=None):  # noqa: A003
        """PyTorch's t.type(): the type's name, or with a dtype the tensor cast to it."""
        if dtype is None:
            return f"tinyae.Tensor[{self.dtype}]"
        return E.astype(self, dtype)

    def __index__(self):
        """A one-element integer tensor as an index: items[t], range(t)."""
        if self.size != 1 or self.dtype.kind not in "iu":
            raise TypeError(f"only a one-element integer tensor can be used as an index, got "
                            f"shape {self.shape} and dtype {self.dtype}")
        return int(self.data.reshape(()).item())


def _transpose_axes(ndim, axes):
    """NumPy's x.transpose(2, 0, 1) permutes the axes; PyTorch's x.transpose(0, 2) swaps two.
    Two axes always mean a swap (for a matrix transpose(1, 0) is the swap in both)."""
    if len(axes) == 1:
        return axes[0]
    if len(axes) == 2:
        order = list(range(ndim))
        a, b = (axis_index(axis, ndim, "transpose") for axis in axes)
        order[a], order[b] = order[b], order[a]
        return tuple(order)
    return axes or None


def install():
    """Copy every method and operator of ``_Methods`` onto Tensor (once, at import)."""
    for name, value in vars(_Methods).items():
        if name not in _CLASS_BODY:
            setattr(Tensor, name, value)


_CLASS_BODY = set(vars(type("Empty", (), {})))  # __module__, __dict__, …: what every class has
