"""A strict stand-in for CuPy: NumPy underneath, a device array on the outside.

Code that runs on CuPy must never hand array data to NumPy (``numpy.exp(a)``,
``np.asarray(a)``), iterate over it in Python, or read numbers back to the host in the hot
path. NumPy lets all of that pass silently, so a test on NumPy cannot tell whether code is
CuPy-clean. This module can, on any machine without a GPU::

    from tinyae.testing import strict
    a = strict.asarray([1.0, 2.0])      # an upload: counted in strict.transfers["to_device"]
    strict.exp(a)                       # fine: the module's own functions
    numpy.exp(a)                        # TypeError, as with a CuPy array
    float(a.sum())                      # works, counted in strict.transfers["to_host"]

``StrictArray`` refuses what CuPy refuses: ``__array__`` raises (so every ``numpy.*`` call and
``np.asarray`` fails), NumPy ufuncs refuse it (``__array_ufunc__ = None``), and mixing it with a
NumPy array in arithmetic raises. It is stricter than CuPy in one place: Python iteration
(``for row in a``) raises, because on a GPU it is a host round trip per element.

Host transfers (``.item()``, ``float()``, ``int()``, ``bool()``, ``.tolist()``, ``.get()``,
``strict.asnumpy``) are counted in ``transfers["to_host"]``; uploads of host data
(``strict.asarray(numpy_array)``) in ``transfers["to_device"]``. ``count_transfers()`` is a
context that yields the counts made inside it, with the call site of each host transfer.

Select it like CuPy: ``tinyae.backend.set_backend("strict")`` (or ``TINYAE_BACKEND=strict``,
``--backend strict`` in a lesson); ``Tensor.to("gpu")`` then moves data onto it.
"""
import contextlib
import sys
import traceback
import types

import numpy

from .. import backend

__all__ = ["StrictArray", "asarray", "array", "asnumpy", "transfers", "count_transfers"]

transfers = {"to_host": 0, "to_device": 0}
_sites = None   # a list while count_transfers() records where host transfers happen

_MESSAGE = ("Implicit conversion to a NumPy array is not allowed. Please use `.get()` to "
            "construct a NumPy array explicitly.")  # CuPy's words


def _to_host(what):
    transfers["to_host"] += 1
    if _sites is not None:
        frame = [f for f in traceback.extract_stack(limit=6) if f.filename != __file__][-1]
        _sites.append(f"{what} at {frame.filename}:{frame.lineno} ({frame.name})")


@contextlib.contextmanager
def count_transfers():
    """Yield a dict that, on exit, holds the transfers made inside the block:
    ``{"to_host": n, "to_device": m, "sites": [where each host transfer happened]}``."""
    global _sites
    start, outer, _sites = dict(transfers), _sites, []
    counts = {}
    try:
        yield counts
    finally:
        counts.update({k: transfers[k] - start[k] for k in transfers}, sites=_sites)
        _sites = outer


def _unwrap(x):
    # type() tests, not isinstance: this runs on every argument of every call, and a cheap
    # stand-in keeps the lessons' strict runs in CI affordable
    t = type(x)
    if t is StrictArray:
        return x._a
    if t is tuple or t is list:
        return t([_unwrap(v) for v in x]) if x else x
    if t is dict:
        return {k: _unwrap(v) for k, v in x.items()}
    return x


def _wrap(x):
    t = type(x)
    if t is numpy.ndarray:
        return StrictArray(x)
    if t is tuple:
        return tuple([_wrap(v) for v in x])
    if t is list:
        return [_wrap(v) for v in x]
    if isinstance(x, numpy.ndarray):
        return StrictArray(x)
    if isinstance(x, numpy.generic):
        return StrictArray(numpy.asarray(x))   # CuPy reductions give 0-d arrays, not scalars
    return x


def _check_operand(x):
    if isinstance(x, numpy.ndarray):
        raise TypeError(f"Unsupported type {type(x)}: a NumPy array cannot be mixed with a "
                        "device array; move it with xp.asarray first")
    return x


def _argument(a, name):
    """One argument of a call, unwrapped; a host (NumPy) array is refused, as CuPy does."""
    t = type(a)
    if t is StrictArray:
        return a._a
    if isinstance(a, numpy.ndarray) and a.ndim > 0:
        raise TypeError(f"strict.{name}: got a NumPy array argument; move it to the "
                        "device with xp.asarray first (CuPy refuses it too)")
    return _unwrap(a)


def _call(fn, name, args, kwargs):
    """``fn`` (a NumPy function) on the unwrapped arguments, its result wrapped."""
    args = [_argument(a, name) for a in args]
    if kwargs:
        kwargs = {k: _argument(v, name) for k, v in kwargs.items()}
    return _wrap(fn(*args, **kwargs))


def _wrapped(fn, name):
    def call(*args, **kwargs):
        return _call(fn, name, args, kwargs)
    call.__name__ = name
    return call


def _binary(name):
    def op(self, other):
        if type(other) is StrictArray:
            other = other._a
        elif isinstance(other, numpy.ndarray):
            _check_operand(other)
        elif not isinstance(other, (int, float, complex, bool, numpy.generic)):
            return NotImplemented          # e.g. a Tensor: let its reflected method run
        return _wrap(getattr(self._a, name)(other))
    op.__name__ = name
    return op


def _inplace(name):
    def op(self, other):
        getattr(self._a, name)(_unwrap(_check_operand(other)))
        return self
    op.__name__ = name
    return op


class StrictArray:
    """A device-like array over a NumPy array (``._a``; never read it outside this module)."""
    __slots__ = ("_a",)
    __array_ufunc__ = None           # numpy.exp(a), ndarray + a: refused (reflected ops run)
    __array_priority__ = 50          # below Tensor's 100: Tensor + a stays a Tensor op

    def __init__(self, a):
        self._a = a

    def __array__(self, *args, **kwargs):
        raise TypeError(_MESSAGE)

    def __array_function__(self, func, types, args, kwargs):
        raise TypeError(f"numpy.{func.__name__} was called on device array data: use the "
                        "array module of the data (xp = get_array_module(x)). " + _MESSAGE)

    def __iter__(self):
        raise TypeError("iterating over a device array in Python (one host transfer per "
                        "element); use array operations instead")

    def __len__(self):
        return len(self._a)

    # --- the host transfers ---------------------------------------------------------
    def get(self):
        _to_host("get()")
        return self._a.copy()

    def item(self):
        _to_host("item()")
        return self._a.item()

    def tolist(self):
        _to_host("tolist()")
        return self._a.tolist()

    def __float__(self):
        _to_host("float()")
        return float(self._a)

    def __int__(self):
        _to_host("int()")
        return int(self._a)

    def __index__(self):
        _to_host("index")
        return self._a.__index__()

    def __bool__(self):
        _to_host("bool()")
        return bool(self._a)

    def __complex__(self):
        _to_host("complex()")
        return complex(self._a)

    def __repr__(self):
        return "strict_" + repr(self._a)

    def __str__(self):
        return str(self._a)

    def __format__(self, spec):
        _to_host("format()")
        return format(self._a.item() if self._a.ndim == 0 else self._a, spec)

    # --- attributes and methods: NumPy's, with device arrays in and out ------------------
    shape = property(lambda self: self._a.shape)
    dtype = property(lambda self: self._a.dtype)
    ndim = property(lambda self: self._a.ndim)
    size = property(lambda self: self._a.size)
    nbytes = property(lambda self: self._a.nbytes)
    itemsize = property(lambda self: self._a.itemsize)
    strides = property(lambda self: self._a.strides)
    flags = property(lambda self: self._a.flags)
    T = property(lambda self: StrictArray(self._a.T))
    device = property(lambda self: "strict")

    @property
    def base(self):
        return None if self._a.base is None else StrictArray(self._a.base)

    def __getattr__(self, name):
        if name.startswith("_") or name in ("tobytes", "tofile", "dump", "dumps", "ctypes", "data"):
            raise AttributeError(f"StrictArray has no attribute {name!r}")
        if callable(getattr(numpy.ndarray, name, None)):   # a method: made once, kept
            setattr(StrictArray, name, _method(name))
            return getattr(self, name)
        return _wrap(getattr(self._a, name))

    def scatter_add(self, index, values):
        """CuPy's ``a.scatter_add(index, values)`` (NumPy's ``numpy.add.at``)."""
        numpy.add.at(self._a, _unwrap(index), _unwrap(values))

    def __getitem__(self, key):
        return _wrap(self._a[_unwrap(key)])

    def __setitem__(self, key, value):
        if isinstance(value, numpy.ndarray) and value.ndim > 0:
            raise TypeError("setting device array elements from a NumPy array: move it with "
                            "xp.asarray first")
        self._a[_unwrap(key)] = _unwrap(value)

    def __copy__(self):
        return StrictArray(self._a.copy())

    def __deepcopy__(self, memo):
        return StrictArray(self._a.copy())

    def __reduce__(self):
        raise TypeError("pickling a device array: move it to the host first (.get())")

    def __neg__(self):
        return StrictArray(-self._a)

    def __pos__(self):
        return StrictArray(+self._a)

    def __abs__(self):
        return StrictArray(abs(self._a))

    def __invert__(self):
        return StrictArray(~self._a)

    __hash__ = None


def _method(name):
    """NumPy's ndarray method ``name`` on device arrays in and out."""
    def method(self, *args, **kwargs):
        return _call(getattr(self._a, name), name, args, kwargs)
    method.__name__ = name
    return method


for _name in ("add", "sub", "mul", "truediv", "floordiv", "mod", "pow", "matmul", "and", "or",
              "xor", "lshift", "rshift"):
    setattr(StrictArray, f"__{_name}__", _binary(f"__{_name}__"))
    setattr(StrictArray, f"__r{_name}__", _binary(f"__r{_name}__"))
    setattr(StrictArray, f"__i{_name}__", _inplace(f"__i{_name}__"))
for _name in ("lt", "le", "gt", "ge", "eq", "ne"):
    setattr(StrictArray, f"__{_name}__", _binary(f"__{_name}__"))

ndarray = StrictArray


# --- the module's own functions ---------------------------------------------------------
def _upload(data, dtype=None, copy=True):
    if isinstance(data, StrictArray):
        a = data._a
        a = a.astype(dtype, copy=copy) if dtype is not None else (a.copy() if copy else a)
        return StrictArray(a)
    if isinstance(data, (list, tuple)) and any(isinstance(v, StrictArray) for v in data):
        return StrictArray(numpy.array(_unwrap(data), dtype=dtype))
    transfers["to_device"] += 1
    return StrictArray(numpy.array(data, dtype=dtype, copy=True))


def asarray(data, dtype=None):
    return _upload(data, dtype, copy=False)


def array(data, dtype=None, copy=True):
    return _upload(data, dtype, copy=copy)


def ascontiguousarray(data, dtype=None):
    a = _upload(data, dtype, copy=False)
    return StrictArray(numpy.ascontiguousarray(a._a))


def asnumpy(a):
    """A NumPy copy of a device array (CuPy's ``cupy.asnumpy``): a counted host transfer."""
    if isinstance(a, StrictArray):
        _to_host("asnumpy()")
        return a._a.copy()
    return numpy.asarray(a)


def get_array_module(*arrays):
    return sys.modules[__name__] if any(isinstance(a, StrictArray) for a in arrays) else numpy


class _RandomState:
    def __init__(self, seed=None):
        self._rs = numpy.random.RandomState(None if seed is None else int(seed) % 2**32)

    def random_sample(self, size=None, dtype=float):
        return StrictArray(self._rs.random_sample(size).astype(dtype))

    def __getattr__(self, name):
        return _wrapped(getattr(self._rs, name), name)


random = types.SimpleNamespace(RandomState=_RandomState,
                               default_rng=lambda seed=None: _Generator(seed))


class _Generator:
    def __init__(self, seed):
        self._g = numpy.random.default_rng(seed)

    def __getattr__(self, name):
        return _wrapped(getattr(self._g, name), name)


lib = types.SimpleNamespace(stride_tricks=types.SimpleNamespace(
    as_strided=lambda x, shape=None, strides=None: StrictArray(
        numpy.lib.stride_tricks.as_strided(x._a, shape=shape, strides=strides))))
linalg = types.SimpleNamespace(**{n: _wrapped(getattr(numpy.linalg, n), n)
                                  for n in ("norm", "svd", "qr", "eigh", "solve", "inv", "det")})


class _Ufunc:
    """A NumPy ufunc on device arrays, with its methods (``xp.add.at``, ``xp.maximum.reduce``)."""
    def __init__(self, uf):
        self._uf, self.__name__ = uf, uf.__name__

    def __call__(self, *args, **kwargs):
        return _call(self._uf, self.__name__, args, kwargs)

    def __getattr__(self, name):
        return _wrapped(getattr(self._uf, name), f"{self.__name__}.{name}")


backend.register_array_module("strict", StrictArray, sys.modules[__name__])


def __getattr__(name):
    """Every other NumPy name: types and constants as they are, functions on device arrays
    (made on first use and kept in the module)."""
    value = getattr(numpy, name)
    if isinstance(value, numpy.ufunc):
        value = _Ufunc(value)
    elif callable(value) and not isinstance(value, type):
        value = _wrapped(value, name)
    globals()[name] = value
    return value
