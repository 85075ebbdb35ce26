"""Array-module choice: NumPy on the CPU, CuPy on a GPU, one code path for both.

Every op asks its inputs which module they live in (``xp = get_array_module(x)``), as in
Chainer, so the same engine runs on either. Importing tinyae never imports CuPy; it is loaded
only when asked for (``set_backend('cupy')``, ``TINYAE_BACKEND=cupy`` or ``Tensor.to('gpu')``).

Dtype policy: a NumPy/CuPy array keeps its dtype (float64 stays float64, which gradchecks
rely on); Python numbers and lists become ``DEFAULT_FLOAT`` (float32), and a Python scalar
combined with a float32 tensor never upcasts it.
"""
import os

import numpy

DEFAULT_FLOAT = numpy.float32

_cupy = None
_backend_name = "numpy"


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
    return _cupy


def cupy_available():
    """True when CuPy imports and sees at least one GPU."""
    try:
        _load_cupy()
        return True
    except RuntimeError:
        return False


def set_backend(name):
    """Choose where new tensors are created: 'numpy' (CPU) or 'cupy' (GPU)."""
    global _backend_name, _env_error
    if name not in ("numpy", "cupy"):
        raise ValueError(f"unknown backend {name!r}: choose 'numpy' or 'cupy'")
    if name == "cupy":
        _load_cupy()
    _backend_name, _env_error = name, None


def get_backend():
    """The name of the current default backend, 'numpy' or 'cupy' (None while $TINYAE_BACKEND
    names one that cannot be used; see ``environment_error``)."""
    return _backend_name


def default_module():
    """The array module new tensors are created with."""
    if _backend_name is None:
        raise RuntimeError(f"{_env_error}; unset it (or set it to numpy), or call "
                           "tinyae.backend.set_backend('numpy')")
    return _load_cupy() if _backend_name == "cupy" else numpy


def get_array_module(*arrays):
    """The array module (numpy or cupy) the given arrays live in; numpy for plain data."""
    if _cupy is not None:
        for a in arrays:
            a = getattr(a, "data", a) if not isinstance(a, (numpy.ndarray, numpy.generic)) else a
            if isinstance(a, _cupy.ndarray):
                return _cupy
    return numpy


def ignore_overflow():
    """A context in which an overflow to ±inf is expected and not warned about (NumPy warns;
    CuPy never does), e.g. e⁻ᶻ in σ(z) = 1/(1 + e⁻ᶻ) for z ≪ 0, which then gives 0."""
    return numpy.errstate(over="ignore")


def is_array(a):
    """True for a NumPy or CuPy array."""
    return isinstance(a, numpy.ndarray) or (_cupy is not None and isinstance(a, _cupy.ndarray))


def device_name(device):
    """'cpu' or 'gpu' from any spelling of a device: tinyae's ('cpu', 'gpu'), the array
    modules' ('numpy', 'cupy') or PyTorch's ('cuda', 'cuda:0'); None if it names no device."""
    if isinstance(device, str):
        if device in ("cpu", "numpy"):
            return "cpu"
        if device in ("gpu", "cupy", "cuda") or device.startswith("cuda:"):
            return "gpu"
    return None


def to_device(array, device):
    """Copy an array to 'cpu' (NumPy) or 'gpu' (CuPy); a no-op when it is already there."""
    name = device_name(device)
    if name == "cpu":
        if _cupy is not None and isinstance(array, _cupy.ndarray):
            return _cupy.asnumpy(array)
        return numpy.asarray(array)
    if name == "gpu":
        return _load_cupy().asarray(array)
    raise ValueError(f"unknown device {device!r}: choose 'cpu' or 'gpu' "
                     "('cuda' also means the GPU)")


def to_numpy(array):
    """A NumPy copy of any array (for printing, plotting and saving)."""
    return to_device(array, "cpu")


def as_array(data, dtype=None, xp=None):
    """Turn user data into an array following the dtype policy above."""
    if is_array(data):
        return data if dtype is None else data.astype(dtype, copy=False)
    xp = xp or default_module()
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
