"""tinyae: a from-scratch autodiff engine over NumPy for teaching backprop and autoencoders.

    import tinyae as ta
    x = ta.tensor([[1.0, 2.0]], requires_grad=True)
    loss = (x * x).sum()
    loss.backward()          # x.grad is x̄ = ∂loss/∂x = 2x

Submodules: functional (the ops, as F), nn, optim, losses, metrics, data, models, train, viz,
lesson.
"""
from . import backend  # noqa: F401
from .tensor import Tensor, tensor, from_numpy  # noqa: F401
from .autograd import no_grad, enable_grad, grad, detect_anomaly, Function  # noqa: F401
from . import functional  # noqa: F401
from .gradcheck import gradcheck, gradgradcheck, check_module  # noqa: F401
from .trace import trace  # noqa: F401
from . import nn, optim, losses, metrics  # noqa: F401

__version__ = "0.1.0"
