"""Array-module choice: NumPy on the CPU, CuPy on a GPU, one code path for both.

Every op asks its inputs which module they live in (``xp = get_array_module(x)``), as in
Chainer, so the same engine runs on either. Importing tinyae never imports CuPy; it is loaded
only when asked for (``set_backend('cupy')``, ``TINYAE_BACKEND=cupy`` or ``Tensor.to('gpu')``).

Dtype policy: a NumPy/CuPy array keeps its dtype (float64 stays float64, which gradchecks
rely on); Python numbers and lists become ``DEFAULT_FLOAT`` (float32), and a Python scalar
combined with a float32 tensor never upcasts it.
"""
import importlib
import os

import numpy

DEFAULT_FLOAT = numpy.float32

_cupy = None
_backend_name = "numpy"

# The one mechanism for device arrays: a registry of array types → the module that made them.
# CuPy registers itself when it is loaded; the strict CPU stand-in (tinyae.testing.strict) the
# same way. ``_LOADERS`` names the modules ``set_backend`` can choose; ``_device`` is the one
# that 'gpu' means in ``to_device`` / ``Tensor.to('gpu')`` (CuPy unless another was chosen).
_ARRAY_TYPES = {}
_LOADERS = {}
_device = "cupy"


def register_array_module(name, array_type, module):
    """Teach tinyae a device array module: arrays of ``array_type`` belong to ``module`` (which
    offers NumPy's functions, ``asarray`` and ``asnumpy``); ``set_backend(name)`` chooses it."""
    _ARRAY_TYPES[array_type] = module
    if name != "cupy":
        _LOADERS[name] = lambda: module


def _load_cupy():
    global _cupy
    if _cupy is None:
        try:
            import cupy
            cupy.cuda.runtime.getDeviceCount()
        except Exception as err:  # ImportError, or CUDA present but no device
            raise RuntimeError(
                "the 'cupy' backend needs CuPy and a CUDA GPU: install it with "
                "`pip install tinyae[gpu]` on a machine with an NVIDIA GPU "
                f"(the import failed with: {err})") from err
        _cupy = cupy
        register_array_module("cupy", cupy.ndarray, cupy)
    return _cupy


def _load_by_name(module_name):
    """A loader for a device module of tinyae's own, named but not imported here (the ground
    floor imports no other room): importing the module registers it
    (``register_array_module``), which replaces this loader."""
    def load():
        module = importlib.import_module(module_name)
        if module not in _ARRAY_TYPES.values():
            raise RuntimeError(f"{module_name} did not register itself with "
                               "tinyae.backend.register_array_module")
        return module
    return load


_LOADERS.update(cupy=_load_cupy, strict=_load_by_name("tinyae.testing.strict"))


def cupy_available():
    """True when CuPy imports and sees at least one GPU."""
    try:
        _load_cupy()
        return True
    except RuntimeError:
        return False


def set_backend(name):
    """Choose where new tensors are created: 'numpy' (CPU), 'cupy' (GPU) or 'strict' (the CPU
    stand-in for a GPU that tests use: tinyae.testing.strict). Choosing a device module also
    makes it the one that 'gpu' means."""
    global _backend_name, _env_error, _device
    if name != "numpy" and name not in _LOADERS:
        raise ValueError(f"unknown backend {name!r}: choose 'numpy', 'cupy' or 'strict'")
    if name != "numpy":
        _LOADERS[name]()
        _device = name
    _backend_name, _env_error = name, None


def get_backend():
    """The name of the current default backend, 'numpy', 'cupy' or 'strict' (None while
    $TINYAE_BACKEND names one that cannot be used; see ``environment_error``)."""
    return _backend_name


def default_module():
    """The array module new tensors are created with."""
    if _backend_name is None:
        raise RuntimeError(f"{_env_error}; unset it (or set it to numpy), or call "
                           "tinyae.backend.set_backend('numpy')")
    return numpy if _backend_name == "numpy" else _LOADERS[_backend_name]()


def get_array_module(*arrays):
    """The array module (numpy, cupy, ...) the given arrays (or Tensors) live in; numpy for
    plain data."""
    if _ARRAY_TYPES:
        for a in arrays:
            module = _ARRAY_TYPES.get(type(a)) or _ARRAY_TYPES.get(type(getattr(a, "data", None)))
            if module is not None:
                return module
    return numpy


def on_default(array):
    """A host (NumPy) array moved onto the current default backend (itself on NumPy): for
    constants a model builds on the host, such as fixed position embeddings."""
    xp = default_module()
    return array if xp is numpy or not isinstance(array, numpy.ndarray) else xp.asarray(array)


def synchronize(xp):
    """Wait for the device of module ``xp`` to finish its queued work (before reading a timer);
    nothing to wait for on NumPy or the strict stand-in."""
    cuda = getattr(xp, "cuda", None)
    if cuda is not None:
        cuda.Device().synchronize()


# --- checks on device data, read with the next value the host reads ---------------------------
_pending = []       # (flag, fail): a boolean device array, and what raises when it is true
MAX_PENDING = 64    # more than this unread (nobody reads a value): they are read then


def check(flag, fail):
    """Call ``fail()`` (which raises) if the boolean array ``flag`` is true: a check on array
    data, such as "targets lie in [0, 1]". On NumPy at once. On a device, reading the flag
    would make the host wait for the GPU (a host transfer and a sync) in every training step;
    so it stays there and is read with the next value the host reads anyway — the logged
    loss, ``read_scalar`` — in the same transfer. (CUDA reports a failed device-side assert
    at the next synchronisation in the same way.)"""
    if type(flag) in _ARRAY_TYPES:
        _pending.append((flag, fail))
        if len(_pending) > MAX_PENDING:
            run_checks()
    elif bool(flag):
        fail()


def _failed(flags_on_host, pending):
    for bad, (_, fail) in zip(flags_on_host, pending):
        if bad:
            fail()


def run_checks():
    """Read the pending device checks (one transfer) and raise the first that failed."""
    pending, _pending[:] = list(_pending), []
    if pending:
        xp = get_array_module(pending[0][0])
        _failed(to_numpy(xp.stack([f.reshape(()) for f, _ in pending])), pending)


def read_scalar(array):
    """The one element of ``array`` as a Python number (``Tensor.item()``, ``float(t)``): a
    host transfer, which also brings back the pending device checks and raises the first that
    failed. Reading a loss thus costs one transfer, checks or not."""
    xp = get_array_module(array)
    if not _pending or xp is numpy or array.dtype.kind != "f":
        run_checks()
        return array.reshape(()).item()
    pending, _pending[:] = list(_pending), []
    values = to_numpy(xp.concatenate([array.reshape(1).astype(numpy.float64),
                                      xp.stack([f.reshape(()) for f, _ in pending])
                                      .astype(numpy.float64)]))
    _failed(values[1:], pending)
    return array.dtype.type(values[0]).item()


def ignore_overflow():
    """A context in which an overflow to ±inf is expected and not warned about (NumPy warns;
    CuPy never does), e.g. e⁻ᶻ in σ(z) = 1/(1 + e⁻ᶻ) for z ≪ 0, which then gives 0."""
    return numpy.errstate(over="ignore")


def is_array(a):
    """True for a NumPy array or a registered device array (CuPy's, the strict stand-in's)."""
    return isinstance(a, numpy.ndarray) or type(a) in _ARRAY_TYPES


def device_name(device):
    """'cpu' or 'gpu' from any spelling of a device: tinyae's ('cpu', 'gpu'), the array
    modules' ('numpy', 'cupy') or PyTorch's ('cuda', 'cuda:0'); None if it names no device."""
    if isinstance(device, str):
        if device in ("cpu", "numpy"):
            return "cpu"
        if device in ("gpu", "cupy", "cuda", "strict") or device.startswith("cuda:"):
            return "gpu"
    return None


def to_device(array, device):
    """Copy an array to 'cpu' (NumPy) or 'gpu' (CuPy, or the device module chosen with
    ``set_backend``); a no-op when it is already there."""
    name = device_name(device)
    if name == "cpu":
        module = _ARRAY_TYPES.get(type(array))
        return module.asnumpy(array) if module is not None else numpy.asarray(array)
    if name == "gpu":
        module = _LOADERS[_device]()
        if type(array) in _ARRAY_TYPES and _ARRAY_TYPES[type(array)] is not module:
            array = to_device(array, "cpu")
        return module.asarray(array)
    raise ValueError(f"unknown device {device!r}: choose 'cpu' or 'gpu' "
                     "('cuda' also means the GPU)")


def to_numpy(array):
    """A NumPy copy of any array (for printing, plotting and saving)."""
    return to_device(array, "cpu")


def as_array(data, dtype=None, xp=None):
    """Turn user data into an array following the dtype policy above."""
    if is_array(data):
        return data if dtype is None else data.astype(dtype, copy=False)
    # A NumPy scalar is host data like a NumPy array (e.g. what an op's NumPy reduction
    # returns): it stays on NumPy; Python numbers and lists go to the default backend.
    xp = xp or (numpy if isinstance(data, numpy.generic) else default_module())
    if dtype is None:
        arr = numpy.asarray(data)
        # Python numbers and lists become float32; NumPy scalars and bool data keep their dtype.
        keep = isinstance(data, numpy.generic) or arr.dtype.kind in "bOUS"
        return xp.asarray(arr, dtype=arr.dtype if keep else DEFAULT_FLOAT)
    return xp.asarray(data, dtype=dtype)


def environment_error():
    """Why $TINYAE_BACKEND could not be used (a message), or None. Importing tinyae never fails
    because of it — ``tinyae info`` must still run to report the GPU state — but the first
    tensor made raises this error (nothing silently falls back to the CPU)."""
    return _env_error


_env_error = None
if os.environ.get("TINYAE_BACKEND"):
    try:
        set_backend(os.environ["TINYAE_BACKEND"])
    except (ValueError, RuntimeError) as err:
        _env_error = f"TINYAE_BACKEND={os.environ['TINYAE_BACKEND']}: {err}"
        _backend_name = None
