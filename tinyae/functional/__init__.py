"""Every op of tinyae as a function (``import tinyae.functional as F``)."""
from .elementwise import (add, sub, mul, div, neg, pow, exp, log, sqrt, abs, clip,  # noqa: F401
                          clamp, sin, cos, clone, maximum, minimum, where, astype)
from .reduce import sum, mean, max, min, var, argmax, argmin  # noqa: F401
from .activations import (relu, leaky_relu, elu, sigmoid, tanh, softplus, gelu,  # noqa: F401
                          softmax, log_softmax, logsumexp)
from .shape import (reshape, transpose, permute, broadcast_to, getitem, concat, cat,  # noqa: F401
                    stack, squeeze, unsqueeze, pad, flatten)
from .linalg import matmul, linear, matrix_transpose  # noqa: F401
from .conv import conv2d, conv_transpose2d, im2col, col2im  # noqa: F401
from .pool import max_pool2d, avg_pool2d, upsample  # noqa: F401
from .random import dropout, mask  # noqa: F401
from .gaussian import normal, randn_like, reparameterize  # noqa: F401
from .norm import normalize  # noqa: F401
from . import ctx_form as _ctx_form
from . import methods as _methods

_methods.install()  # x + y, x.sum(), x.T, …: Tensor's operators and methods are these ops
_ctx_form.install()  # Functions written as in PyTorch (forward(ctx, x)) work too
