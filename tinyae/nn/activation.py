"""Activation functions as Modules, so they can sit inside a Sequential.

Each is y = f(z) applied elementwise, with backward z̄ = ȳ f'(z) done by the op in
tinyae.functional.activations.
"""
import math
import numbers

from .. import functional as F
from .module import Module


class ReLU(Module):
    """y = max(0, z);  z̄ = ȳ [z > 0]"""

    def forward(self, z):
        return F.relu(z)


def _real(value, layer, what):
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value):
        raise ValueError(f"{layer}: {what} must be a finite number, got {value!r}")
    return value


class LeakyReLU(Module):
    """y = z if z > 0 else negative_slope · z"""

    def __init__(self, negative_slope=0.01):
        super().__init__()
        self.negative_slope = _real(negative_slope, "LeakyReLU", "negative_slope")

    def forward(self, z):
        return F.leaky_relu(z, slope=self.negative_slope)

    def extra_repr(self):
        return f"negative_slope={self.negative_slope}"


class ELU(Module):
    """y = z if z > 0 else alpha (eᶻ − 1)"""

    def __init__(self, alpha=1.0):
        super().__init__()
        self.alpha = _real(alpha, "ELU", "alpha")

    def forward(self, z):
        return F.elu(z, alpha=self.alpha)

    def extra_repr(self):
        return f"alpha={self.alpha}"


class Sigmoid(Module):
    """y = σ(z) = 1 / (1 + e⁻ᶻ);  z̄ = ȳ y (1 − y)"""

    def forward(self, z):
        return F.sigmoid(z)


class Tanh(Module):
    """y = tanh z;  z̄ = ȳ (1 − y²)"""

    def forward(self, z):
        return F.tanh(z)


class Softplus(Module):
    """y = log(1 + eᶻ), a smooth ReLU;  z̄ = ȳ σ(z)"""

    def forward(self, z):
        return F.softplus(z)


class GELU(Module):
    """y = ½ z (1 + tanh(√(2/π)(z + 0.044715 z³))), the tanh form of GELU
    (PyTorch's ``GELU(approximate='tanh')``; the exact erf form is not provided)."""

    def __init__(self, approximate="tanh"):
        super().__init__()
        if approximate != "tanh":
            raise ValueError(f"GELU(approximate={approximate!r}): only the 'tanh' form exists "
                             "in tinyae; use GELU() (it differs from the erf form by < 1e-3)")
        self.approximate = approximate

    def forward(self, z):
        return F.gelu(z)

    def extra_repr(self):
        return f"approximate={self.approximate!r}"
