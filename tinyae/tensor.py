"""Tensor: an array, the op that made it, and its error signal x̄ = ∂L/∂x (``.grad``).

Memory sharing (PyTorch's policy):
    ``tensor(a)``, ``Tensor(a)``, ``nn.Parameter(a)``   copy ``a``: updating the tensor (an
                                                     optimizer step) never changes ``a``
    ``from_numpy(a)``                                shares ``a``: each sees the other's changes
    ``t.numpy()``                                    a copy: changing it never changes ``t``
    ``t.detach()``                                   shares ``t``'s data, outside the graph
    ``t.to(device or dtype)``                        ``t`` itself when it is already there
                                                     (as in PyTorch), else a new tensor
    ``t.grad``                                       owned by ``t``: no two leaves share one, and
                                                     it never aliases the ``ybar`` passed in

Methods carry PyTorch's names and keywords (``x.view(-1)``, ``x.sum(dim=1, keepdim=True)``,
``x.size(0)``, ``x.max(dim=1)``) beside NumPy's (``x.reshape``, ``axis=``, ``x.shape``);
docs/coming_from_pytorch.md lists the few places where the two differ.
"""
import operator
import sys

import numpy

from . import backend


class Tensor:
    """A NumPy (or CuPy) array that remembers how it was computed.

    ``data``           the array itself
    ``grad``           the error signal x̄ = ∂L/∂x after ``backward()`` (a Tensor), else None
    ``requires_grad``  whether ops on it are recorded so that x̄ can be computed
    """
    __array_priority__ = 100  # so that ndarray + Tensor calls Tensor.__radd__
    _retains_grad = False     # see retain_grad()
    _readers = ()             # weak references to the recorded ops that read this tensor
    _readers_limit = 64       # its length at which dead ones are dropped (autograd._add_reader)
    # What a new tensor starts with. Defaults on the class, so that an op's output (made ~250
    # times per step of a small network, see _from_op) sets only what differs from them.
    requires_grad, grad, name, _creator, _version = False, None, None, None, 0

    def __init__(self, data, requires_grad=False, dtype=None, name=None, copy=True):
        # copy=False (``from_numpy``, and ops wrapping the arrays they just computed) shares.
        if isinstance(data, Tensor):
            data = data.data
        if copy and backend.is_array(data):
            data = backend.get_array_module(data).array(data, dtype=dtype, copy=True)
        self._version = 0  # counts in-place changes; backward checks ops' inputs are unchanged
        try:
            self._data = backend.as_array(data, dtype=dtype)  # (not the setter: no change yet)
        except ValueError as err:
            if not isinstance(data, (list, tuple)):
                raise
            raise ValueError(f"cannot make a Tensor of this nested list: its rows differ in "
                             f"length, and a Tensor is a rectangular array ({err})") from None
        if self.data.dtype.kind not in "biufc":
            raise TypeError(f"a Tensor holds numbers (or bools); got an array of dtype "
                            f"{self.data.dtype}{_ragged_hint(data)}")
        if requires_grad and self.data.dtype.kind != "f":
            raise TypeError(f"only floating-point tensors can require grad, got {self.data.dtype}; "
                            "pass dtype='float32' or 'float64'")
        self.requires_grad = bool(requires_grad)
        self.grad = None
        self.name = name
        self._creator = None  # the Function that produced this tensor, None for a leaf

    @classmethod
    def _from_op(cls, data, requires_grad):
        """The output of an op: ``Tensor(data, requires_grad, copy=False)`` without the checks
        (the engine's hot path; ``data`` is the array the op's forward just computed)."""
        if type(data) is not numpy.ndarray and not backend.is_array(data) or (
                requires_grad and data.dtype.kind != "f"):
            return cls(data, requires_grad=requires_grad, copy=False)  # a NumPy scalar; an error
        t = cls.__new__(cls)
        t._data = data
        if requires_grad:
            t.requires_grad = True
        return t

    # --- basic properties -------------------------------------------------------------
    @property
    def data(self):
        """The array. Assigning it (``x.data = a``, ``x.data -= …``) is a new version that a
        graph built before will refuse at backward; writing into the array itself
        (``x.data[0] = 5``) bypasses that check, as in PyTorch: do it between ``backward()``
        and the next forward pass only."""
        return self._data

    @data.setter
    def data(self, value):
        # Keep an array: `w.data = t` stores t's array, and `w.data -= lr * w.grad` (which Python
        # runs as w.data = w.data - lr * w.grad, a Tensor) stays an update of the values.
        # New values are a new version: a graph that saw the old ones says so at backward.
        self._data = value.data if isinstance(value, Tensor) else value
        self._version += 1

    shape = property(lambda self: self._data.shape)
    dtype = property(lambda self: self._data.dtype)
    ndim = property(lambda self: self._data.ndim)
    size = property(lambda self: Size(self.data.size, self.shape))
    is_leaf = property(lambda self: self._creator is None)
    grad_fn = property(lambda self: self._creator)  # PyTorch's name for the op that made it


    @property
    def device(self):
        return "cpu" if backend.get_array_module(self.data).__name__ == "numpy" else "gpu"

    def __len__(self):
        if self.data.ndim == 0:
            raise TypeError("len() of a 0-d tensor (a single number): use .item() to read it")
        return len(self.data)

    def __iter__(self):
        if self.data.ndim == 0:
            raise TypeError("iteration over a 0-d tensor (a single number): use .item()")
        return (self[i] for i in range(len(self.data)))

    def __contains__(self, value):
        return bool((self.data == (value.data if isinstance(value, Tensor) else value)).any())

    # A tensor is a value: ``==`` compares elements (below), so identity is its hash, as in
    # PyTorch, and tensors still work as set members and dictionary keys.
    __hash__ = object.__hash__

    def __bool__(self):
        if self.data.size != 1:
            raise RuntimeError(
                f"the truth value of a tensor with {self.data.size} elements is ambiguous: "
                "use t.any() or t.all() (or compare one element, e.g. t[0] > 0)")
        return bool(self.data.reshape(()).item())

    def __format__(self, spec):
        # f"{loss:.4f}" formats the number of a one-element tensor, as in PyTorch.
        if spec and self.data.size == 1:
            return format(self.item(), spec)
        return format(repr(self), spec)

    def __float__(self):
        return float(self._single("float"))

    def __int__(self):
        return int(self._single("int"))

    def _single(self, what):
        if self.data.size != 1:
            raise TypeError(f"only a tensor with one element can be converted to a Python "
                            f"{what}; this one has shape {self.shape}")
        return backend.read_scalar(self.data)

    def __array__(self, dtype=None, copy=None):
        # np.asarray(t), np.mean(t), plt.plot(t): the data, never an array of Tensor objects.
        if self.requires_grad:
            raise TypeError("cannot turn a tensor that requires grad into a NumPy array "
                            "implicitly (its graph would be lost silently): use t.detach().numpy()")
        data = backend.to_numpy(self.data)
        return data.astype(dtype) if dtype is not None else data

    def __repr__(self):
        """``tensor([1., 2.], requires_grad=True)``, as PyTorch prints it (grad_fn names the op)."""
        text = numpy.array2string(backend.to_numpy(self.data), separator=", ", prefix="tensor(")
        default = self.dtype in (numpy.float32, numpy.int64, numpy.bool_)
        extras = [] if default else [f"dtype={self.dtype}"]
        if self.device != "cpu":
            extras.append(f"device='{self.device}'")
        if self._creator is not None:
            extras.append(f"grad_fn=<{type(self._creator).__name__}Backward>")
        elif self.requires_grad:
            extras.append("requires_grad=True")
        return "tensor(" + ", ".join([text] + extras) + ")"

    def numpy(self):
        """A NumPy copy of the data (from the GPU if needed), cut off from the graph: changing
        it never changes the tensor."""
        array = backend.to_numpy(self.data)
        return array.copy() if array is self.data else array

    def item(self):
        """The value of a one-element tensor as a Python number."""
        return self._single("number")

    def tolist(self):
        return self.data.tolist()

    def numel(self):
        """The number of elements (``x.size`` without the call, as in NumPy)."""
        return int(self.data.size)

    def dim(self):
        return self.data.ndim

    def copy(self):
        """Deprecated: a NumPy spelling, kept because ``state_dict()`` values were NumPy arrays
        before they were Tensors; write ``.clone()`` (a copy in the graph) or ``.detach().clone()``."""
        import warnings
        warnings.warn("Tensor.copy() is deprecated: state_dict() values are Tensors now, as in "
                      "PyTorch; write .clone() (or .numpy().copy() for a NumPy array)",
                      DeprecationWarning, stacklevel=2)
        return Tensor(self.data, copy=True)

    def detach(self):
        """A new leaf sharing this tensor's data (no copy) that no gradient flows through."""
        return Tensor(self.data, copy=False)

    def to(self, *args, device=None, dtype=None):
        """PyTorch's forms: ``x.to('cuda')``, ``x.to('cpu')``, ``x.to('float64')``, ``x.to(y)``
        (y's device and dtype). Returns x itself when nothing changes, as PyTorch does; a new
        dtype is a differentiable op, a new device a copy as a new leaf (not part of the graph)."""
        for a in args:
            if isinstance(a, Tensor):
                device, dtype = a.device, a.dtype
            elif backend.device_name(a) is not None:
                device = a
            else:
                try:
                    numpy.dtype(a)
                except TypeError:
                    raise ValueError(f"x.to({a!r}): not a device ('cpu', 'gpu' or 'cuda') nor a "
                                     "dtype ('float32', tinyae.float64, …)") from None
                dtype = a
        out = self
        if dtype is not None and out.dtype != numpy.dtype(dtype):
            out = out.astype(dtype)
        if device is not None and backend.device_name(device) != out.device:
            moved = backend.to_device(out.data, device)  # a new array: no second copy
            out = Tensor(moved, requires_grad=out.requires_grad, copy=False)
        return out

    def cpu(self): return self.to("cpu")
    def cuda(self): return self.to("gpu")
    def float(self): return self.to(dtype="float32")
    def double(self): return self.to(dtype="float64")

    def zero_grad(self):
        self.grad = None

    def retain_grad(self):
        """Keep this tensor's error signal in ``.grad`` after backward even though it is not a
        leaf (an intermediate h of the graph), as PyTorch's retain_grad does."""
        if not self.requires_grad:
            raise RuntimeError("retain_grad() on a tensor that does not require grad: it has no "
                               "error signal to keep")
        self._retains_grad = True

    def requires_grad_(self, requires_grad=True):
        """Start (or stop) recording ops on this leaf, in place; returns it."""
        if requires_grad and self.dtype.kind != "f":
            raise TypeError(f"only floating-point tensors can require grad, got {self.dtype}")
        self.requires_grad = bool(requires_grad)
        return self

    # --- in-place ops: w -= lr * w.grad under no_grad(), and c += 1 inside a computation -----
    def _inplace(self, other, change, recorded):
        """Change this tensor in place: ``change(array, other)`` does it to the array, and the
        version counter lets backward notice a changed value it still needs. While a graph is
        recorded and either side requires grad it is recorded instead, as PyTorch records an
        in-place op (functional/inplace.py): ``recorded(old, other)`` computes the new value."""
        involved = self.requires_grad or getattr(other, "requires_grad", False)
        if autograd.is_grad_enabled() and involved:
            return self._record_inplace(other, recorded)
        change(self.data, other.data if isinstance(other, Tensor) else other)
        self._version += 1
        return self

    def __iadd__(self, other): return self._inplace(other, operator.iadd, operator.add)
    def __isub__(self, other): return self._inplace(other, operator.isub, operator.sub)
    def __imul__(self, other): return self._inplace(other, operator.imul, operator.mul)
    def __itruediv__(self, other): return self._inplace(other, operator.itruediv, operator.truediv)
    add_, sub_, mul_, div_ = __iadd__, __isub__, __imul__, __itruediv__

    def zero_(self): return self._inplace(0, _fill, lambda old, _: old * 0)
    def copy_(self, src): return self._inplace(src, _fill, lambda old, new: old * 0 + new)

    def backward(self, ybar=None, retain_graph=False, create_graph=False):
        """Backpropagate from this tensor: fill ``.grad`` (x̄) of every leaf that needs it.

        ``ybar`` is this tensor's own error signal, needed unless it is a scalar (then 1).
        The graph is freed afterwards unless ``retain_graph=True``."""
        if not self.requires_grad:
            raise RuntimeError("backward() on a tensor that does not require grad: no input "
                               "of the computation had requires_grad=True")
        ybar = autograd._initial_signal(self, ybar)
        autograd.run_backward([self], [ybar], retain_graph or create_graph, create_graph)

    # Comparisons are element-wise and not differentiable: boolean tensors without grad.
    def _compare(self, other, op):
        other = other.data if isinstance(other, Tensor) else other
        return Tensor(op(self.data, other), copy=False)
    def __lt__(self, other): return self._compare(other, operator.lt)
    def __le__(self, other): return self._compare(other, operator.le)
    def __gt__(self, other): return self._compare(other, operator.gt)
    def __ge__(self, other): return self._compare(other, operator.ge)

    def __eq__(self, other):
        return False if other is None else self._compare(other, operator.eq)

    def __ne__(self, other):
        return True if other is None else self._compare(other, operator.ne)
    eq, ne = __eq__, __ne__

    def any(self, axis=None, keepdims=False):
        """Whether any element is non-zero (a boolean tensor, not differentiable)."""
        return Tensor(self.data.any(axis=axis, keepdims=keepdims), copy=False)

    def all(self, axis=None, keepdims=False):
        """Whether every element is non-zero (a boolean tensor, not differentiable)."""
        return Tensor(self.data.all(axis=axis, keepdims=keepdims), copy=False)

def _fill(array, values):
    array[...] = values


class Size(int):
    """``x.size`` is NumPy's element count (an int), and ``x.size()`` / ``x.size(0)`` are
    PyTorch's shape / length of one axis: one attribute that answers both ways."""
    def __new__(cls, count, shape):
        self = super().__new__(cls, count)
        self.shape = shape
        return self

    def __call__(self, dim=None):
        return self.shape if dim is None else self.shape[dim]


def tensor(data, requires_grad=False, dtype=None):
    """Make a Tensor from a copy of ``data``. Python numbers and lists become float32; arrays
    keep their dtype. To share an array's memory instead, use ``from_numpy``."""
    return Tensor(data, requires_grad=requires_grad, dtype=dtype)


def _ragged_hint(data):
    return (" (a nested list whose rows differ in length? every row must have the same length)"
            if isinstance(data, (list, tuple)) else "")


def ensure_tensor(x):
    """``x`` itself when it is a Tensor, else a new Tensor holding a copy of it (an array, a
    list, a number): the one coercion the models and conv layers use on what a user passes in."""
    return x if isinstance(x, Tensor) else Tensor(x)


def from_numpy(array, requires_grad=False):
    """A Tensor that shares ``array``'s memory (NumPy, or CuPy on a GPU) and keeps its dtype:
    changing one changes the other. ``tensor(array)`` copies instead."""
    if not backend.is_array(array):
        raise TypeError(f"from_numpy() takes a NumPy array, got {type(array).__name__}; "
                        "use tinyae.tensor(data) for numbers and lists")
    return Tensor(array, requires_grad=requires_grad, copy=False)


# --- a leaf's .grad (the engine's backward pass adds into it) -----------------------------------
def add_to_grad(x, xbar, made=False):
    """x.grad += x̄ (a leaf's .grad accumulates across backward calls, as in PyTorch)."""
    if x.grad is not None:
        x.grad = x.grad + xbar  # a new array, owned by x
    elif autograd.is_grad_enabled():
        x.grad = _owned_copy(xbar)  # create_graph: a copy that stays in the graph
    elif made and _sole_holder(xbar):
        # A fresh array nobody else holds (a W̄ = z̄ᵀx) becomes .grad without a copy. What it
        # pays, measured (benchmarks/peers.py "deep", 784-1000-500-250-30 AE, batch 128, Adam,
        # 1 BLAS thread, quiet machine, 12 interleaved rounds): 36.5 ms per step against 38.0
        # with a copy of every weight's error signal (median paired ratio 1.04).
        x.grad = Tensor(xbar.data, copy=False)
    else:
        # Every leaf owns its .grad, so that optimizers and users may update it in place: the
        # signal may be shared with another leaf (ā = b̄ = ȳ for a + b), be the ybar the
        # caller passed in, or be a read-only broadcast view (from sum); copy it.
        x.grad = Tensor(xbar.data.copy(), copy=False)


def _array_refs(t):
    return sys.getrefcount(t.data)


# What _array_refs reads when a Tensor alone holds its array, measured once on this
# interpreter: CPython versions differ in the references a call adds (3.14 borrows some), so a
# fixed number could call a shared array unshared. Without getrefcount (PyPy): None, always copy.
_SOLE_REFS = (_array_refs(Tensor(numpy.empty(1), copy=False))
              if hasattr(sys, "getrefcount") else None)


def _sole_holder(t):
    """True when the Tensor t alone holds its array, which owns its memory (not a view): the
    reference-count test NumPy itself uses to reuse temporaries."""
    return _SOLE_REFS is not None and _array_refs(t) == _SOLE_REFS and t.data.base is None


def _owned_copy(xbar):
    return xbar.astype(xbar.dtype)  # the op AsType, whose forward always copies (ndarray.astype)


# --- the one import circle in tinyae ---------------------------------------------------------
# A Tensor's backward() runs the engine, and the engine's ops return Tensors: the class and the
# engine are defined in terms of each other, so their two modules import each other. The circle
# is closed here and nowhere else: Tensor is defined above, and only then is the engine
# imported; it imports Tensor at its top like any other name. The operators and methods that are
# ops (x + y is the op Add, x.sum() the op Sum) are not here: tinyae.functional installs them
# on the class (functional/methods.py), so the engine stays below the ops.
from . import autograd  # noqa: E402
