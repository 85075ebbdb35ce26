"""Normalisation layers, composed from differentiable ops (mean, sqrt, …); LayerNorm over one
axis uses the fused op F.normalize (the same x̂, one op instead of seven).

    x̂ = (x − μ) / √(σ² + ε),   y = γ x̂ + β

LayerNorm takes μ, σ² over each sample's last axes; BatchNorm over the batch (and the spatial
axes), per channel. σ² is the biased variance (divide by N), as in the papers and PyTorch.
Because every step is an op of the engine, backprop through μ and σ² comes for free.
"""
import math
import numbers

from .. import backend
from .. import functional as F
from ..arguments import is_int, positive_int
from .layers import empty_parameter
from . import init
from .module import Module


def _normalise(x, axes, eps):
    """x̂ = (x − μ) / √(σ² + ε) with μ, σ² over ``axes``; also returns μ and σ² (kept dims)."""
    mean = x.mean(axis=axes, keepdims=True)
    centred = x - mean
    var = (centred * centred).mean(axis=axes, keepdims=True)
    return centred / (var + eps).sqrt(), mean, var


def _check_eps(eps, layer):
    if isinstance(eps, bool) or not isinstance(eps, numbers.Real) or not 0 < eps < math.inf:
        raise ValueError(f"{layer}: eps must be a small positive number (it keeps 1/√(σ² + eps) "
                         f"finite for a constant input), got {eps!r}")
    return eps


class LayerNorm(Module):
    """Normalise each sample over its last axes (``normalized_shape``), then y = γ x̂ + β with
    γ (ones) and β (zeros) of shape ``normalized_shape``."""

    def __init__(self, normalized_shape, eps=1e-5, elementwise_affine=True):
        super().__init__()
        if isinstance(normalized_shape, int):
            normalized_shape = (normalized_shape,)
        self.normalized_shape = tuple(normalized_shape)
        if not self.normalized_shape or not all(
                is_int(n) and n > 0 for n in self.normalized_shape):
            raise ValueError(f"LayerNorm: normalized_shape must be a positive int or a tuple of "
                             f"them, got {normalized_shape!r}")
        self.eps = _check_eps(eps, "LayerNorm")
        if elementwise_affine:
            self.weight = init.ones_(empty_parameter(*self.normalized_shape))
            self.bias = empty_parameter(*self.normalized_shape)
        else:
            self.weight = self.bias = None

    def forward(self, x):
        n = len(self.normalized_shape)
        if tuple(x.shape[x.ndim - n:]) != self.normalized_shape:
            raise ValueError(f"LayerNorm({self.normalized_shape}) got an input of shape "
                             f"{tuple(x.shape)}: its last axes must be {self.normalized_shape}")
        y = F.normalize(x, self.eps, dims=n)  # one op, its backward the classic formula
        if self.weight is not None:
            y = y * self.weight + self.bias
        return y

    def extra_repr(self):
        return (f"{self.normalized_shape}, eps={self.eps}, "
                f"elementwise_affine={self.weight is not None}")


class _BatchNorm(Module):
    """Per-channel normalisation over the batch. Training: μ, σ² of the batch, and the running
    estimates move towards them, r ← (1 − momentum) r + momentum · batch statistic (the
    variance unbiased, N/(N − 1) σ², as PyTorch). Evaluation: the running estimates instead."""

    input_ndims = ()  # the accepted input ranks, set by the subclasses

    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=True,
                 track_running_stats=True):
        super().__init__()
        positive_int(num_features, "num_features", type(self).__name__)
        if not 0 <= momentum <= 1:
            raise ValueError(f"{type(self).__name__}: momentum must be in [0, 1], got {momentum}")
        _check_eps(eps, type(self).__name__)
        self.num_features, self.eps, self.momentum = num_features, eps, momentum
        if affine:
            self.weight = init.ones_(empty_parameter(num_features))
            self.bias = empty_parameter(num_features)
        else:
            self.weight = self.bias = None
        xp = backend.default_module()
        if track_running_stats:
            self.register_buffer("running_mean", xp.zeros(num_features, backend.DEFAULT_FLOAT))
            self.register_buffer("running_var", xp.ones(num_features, backend.DEFAULT_FLOAT))
        else:
            self.register_buffer("running_mean", None)
            self.register_buffer("running_var", None)

    def forward(self, x):
        name = type(self).__name__
        if x.ndim not in self.input_ndims or x.shape[1] != self.num_features:
            want = " or ".join(f"{n}-D" for n in self.input_ndims)
            raise ValueError(f"{name}({self.num_features}) expects a {want} input with "
                             f"{self.num_features} channels on axis 1, got shape {tuple(x.shape)}")
        axes = (0,) + tuple(range(2, x.ndim))  # every axis but the channel axis
        channel_shape = (1, self.num_features) + (1,) * (x.ndim - 2)
        use_batch = self.training or self.running_mean is None
        if use_batch:
            count = x.size // self.num_features
            if count < 2:
                raise ValueError(f"{name} in training mode needs more than 1 value per channel "
                                 f"to estimate a variance, got input shape {tuple(x.shape)}; "
                                 "use a batch of 2 or more, or call .eval()")
            y, mean, var = _normalise(x, axes, self.eps)
            if self.training and self.running_mean is not None:
                self._update_running(mean.data, var.data, count)
        else:
            mean = self.running_mean.reshape(channel_shape)
            var = self.running_var.reshape(channel_shape)
            y = (x - mean) / (var + self.eps).sqrt()
        if self.weight is not None:
            y = y * self.weight.reshape(channel_shape) + self.bias.reshape(channel_shape)
        return y

    def _update_running(self, mean, var, count):
        # Plain array arithmetic: the running statistics are not part of the graph.
        m = self.momentum
        rm, rv = self.running_mean, self.running_var
        unbiased = var.reshape(-1) * (count / (count - 1))
        rm.data = ((1 - m) * rm.data + m * mean.reshape(-1)).astype(rm.dtype, copy=False)
        rv.data = ((1 - m) * rv.data + m * unbiased).astype(rv.dtype, copy=False)

    def extra_repr(self):
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, "
                f"affine={self.weight is not None}, "
                f"track_running_stats={self.running_mean is not None}")


class BatchNorm1d(_BatchNorm):
    """BatchNorm for (N, C) features or (N, C, L) sequences; statistics per feature C."""
    input_ndims = (2, 3)


class BatchNorm2d(_BatchNorm):
    """BatchNorm for (N, C, H, W) images; statistics per channel over N, H and W."""
    input_ndims = (4,)

