"""tinyae: a from-scratch autodiff engine over NumPy for teaching backprop and autoencoders.

    import tinyae as ta
    x = ta.tensor([[1.0, 2.0]], requires_grad=True)
    loss = (x * x).sum()
    loss.backward()          # x.grad is x̄ = ∂loss/∂x = 2x

Submodules: functional (the ops, as F), nn, optim, losses, metrics, data, models, train, viz,
lesson. The top level also has PyTorch's everyday names: manual_seed, randn, zeros, …, exp,
sigmoid, sum, cat, stack, where, … (docs/coming_from_pytorch.md).
"""
import builtins as _builtins
import types as _types

import numpy as _numpy

from . import allocator as _allocator
from . import backend  # noqa: F401
from .tensor import Tensor, tensor, from_numpy  # noqa: F401
from .autograd import no_grad, enable_grad, detect_anomaly, Function  # noqa: F401
from .gradients import grad  # noqa: F401
from . import functional  # noqa: F401
from .functional import (exp, log, sqrt, abs, sin, cos, sigmoid, tanh, relu, softmax,  # noqa: F401
                         log_softmax, logsumexp, sum, mean, var, max, min, argmax, argmin,
                         maximum, minimum, clamp, clip, where, matmul, cat, concat, stack,
                         reshape, transpose, permute, squeeze, unsqueeze, flatten, clone, pow)
from .creation import (manual_seed, zeros, ones, full, empty, eye, arange,  # noqa: F401
                       linspace, rand, randn, randint, randperm, zeros_like, ones_like,
                       full_like, rand_like, randn_like)
from .gradcheck import gradcheck, gradgradcheck, check_module  # noqa: F401
from .trace import trace  # noqa: F401
from .io import save, load  # noqa: F401  (PyTorch's torch.save / torch.load, without pickle)
from . import nn, optim, losses, metrics, data  # noqa: F401

# dtypes by PyTorch's names (they are NumPy's): ta.tensor(x, dtype=ta.float64)
float32, float64, float16 = _numpy.float32, _numpy.float64, _numpy.float16
int64, int32, uint8 = _numpy.int64, _numpy.int32, _numpy.uint8
float, double, half, long, int, bool = (_numpy.float32, _numpy.float64, _numpy.float16,  # noqa: A001
                                        _numpy.int64, _numpy.int32, _numpy.bool_)

_allocator.keep_freed_memory()  # a training step reuses its big arrays (tinyae/allocator.py)

inference_mode = no_grad  # PyTorch's stricter no_grad; here the same: nothing is recorded


def is_tensor(obj):
    return isinstance(obj, Tensor)


def allclose(a, b, rtol=1e-05, atol=1e-08, equal_nan=False):
    """Whether every element of a and b is close (PyTorch's and NumPy's test), as a bool."""
    a, b = (x.data if isinstance(x, Tensor) else x for x in (a, b))
    a, b = backend.to_numpy(backend.as_array(a)), backend.to_numpy(backend.as_array(b))
    return _builtins.bool(_numpy.allclose(a, b, rtol=rtol, atol=atol, equal_nan=equal_nan))

# device = "cuda" if ta.cuda.is_available() else "cpu"   ('cuda' is tinyae's 'gpu': CuPy)
cuda = _types.SimpleNamespace(is_available=backend.cupy_available)


class device(str):  # noqa: N801  (PyTorch's name)
    """PyTorch's ``torch.device("cuda" if … else "cpu")``: a device name that ``model.to`` and
    ``Tensor.to`` take ('cuda' and 'gpu' mean CuPy's GPU here); ``.type`` is 'cpu' or 'cuda'."""
    def __new__(cls, name="cpu"):
        name = str(name)
        if backend.device_name(name) is None:
            raise ValueError(f"unknown device {name!r}: choose 'cpu' or 'cuda' (also 'gpu')")
        return super().__new__(cls, name)

    @property
    def type(self):  # noqa: A003
        return "cpu" if backend.device_name(self) == "cpu" else "cuda"

    def __repr__(self):
        return f"device(type='{self.type}')"


accelerator = _types.SimpleNamespace(
    is_available=backend.cupy_available,
    current_accelerator=lambda: device("cuda") if backend.cupy_available() else None)

__version__ = "0.1.0"
