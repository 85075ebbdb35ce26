"""tinyae: a from-scratch autodiff engine over NumPy for teaching backprop and autoencoders."""
from . import backend  # noqa: F401
from .tensor import Tensor, tensor  # noqa: F401
from .autograd import no_grad, enable_grad, grad, detect_anomaly, Function  # noqa: F401
from . import functional  # noqa: F401

__version__ = "0.1.0"
