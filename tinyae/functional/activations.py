"""Activation functions and the softmax family, with z̄ = ȳ ⊙ σ'(z) written out for each.

Where σ' can be written with the output y (sigmoid, tanh, exp) the backward reuses y, which
is also what makes it differentiable again under ``create_graph=True``.
"""
import math

from .. import backend
from ..autograd import Function, register
from . import _samples as S
from .elementwise import exp, floating, where
from .reduce import _keepdims_shape, sum as _sum
from ._names import dim_names


@register(S.unary(S.away_from_zero))
class ReLU(Function):
    """y = max(z, 0);  z̄ = ȳ [z > 0]"""
    def forward(self, z):
        return backend.get_array_module(z).maximum(z, 0)

    def backward(self, ybar):
        z = self.inputs[0].data
        return ybar * (z > 0).astype(ybar.dtype)


@register(S.unary(S.away_from_zero, slope=0.1))
class LeakyReLU(Function):
    """y = z if z > 0 else αz;  z̄ = ȳ (1 if z > 0 else α)"""
    def forward(self, z):
        return backend.get_array_module(z).where(z > 0, z, self.slope * z)

    def backward(self, ybar):
        z = self.inputs[0].data
        xp = backend.get_array_module(z)
        return ybar * xp.where(z > 0, 1.0, self.slope).astype(ybar.dtype)


@register(S.unary(S.away_from_zero, alpha=1.0))
class ELU(Function):
    """y = z if z > 0 else α(eᶻ − 1);  z̄ = ȳ (1 if z > 0 else y + α)"""
    def forward(self, z):
        xp = backend.get_array_module(z)
        return xp.where(z > 0, z, self.alpha * xp.expm1(xp.minimum(z, 0)))

    def backward(self, ybar):
        positive = self.inputs[0].data > 0
        return where(positive, ybar, ybar * (self.output + self.alpha))


@register(S.unary())
class Sigmoid(Function):
    """y = σ(z) = 1 / (1 + e⁻ᶻ);  z̄ = ȳ y (1 − y)"""
    def forward(self, z):
        return _sigmoid(z)

    def backward(self, ybar):
        y = self.output
        return ybar * (y * (1 - y))


def _sigmoid(z):
    """σ(z) = 1/(1 + e⁻ᶻ) keeps full relative precision at both tails: e⁻ᶻ is right to an ulp,
    and adding 1 to it and inverting lose nothing. Below z ≈ −88 (float32) e⁻ᶻ overflows to ∞
    and σ is 0, as the true value is below float32's normal range there. (The textbook-stable
    ½(1 + tanh(z/2)) loses every digit below z ≈ −15 in float32: 1 + tanh cancels.)"""
    xp = backend.get_array_module(z)
    with backend.ignore_overflow():
        e = xp.exp(-z)
    return 1 / (1 + e)


@register(S.unary())
class Tanh(Function):
    """y = tanh z;  z̄ = ȳ (1 − y²)"""
    def forward(self, z):
        return backend.get_array_module(z).tanh(z)

    def backward(self, ybar):
        y = self.output
        return ybar * (1 - y * y)


@register(S.unary())
class Softplus(Function):
    """y = log(1 + eᶻ);  z̄ = ȳ σ(z)"""
    def forward(self, z):
        xp = backend.get_array_module(z)
        return xp.maximum(z, 0) + xp.log1p(xp.exp(-xp.abs(z)))  # stable for large |z|

    def backward(self, ybar):
        return ybar * sigmoid(self.inputs[0])


_GELU_C = math.sqrt(2 / math.pi)


@register(S.unary())
class GELU(Function):
    """y = ½ z (1 + tanh u) = z σ(2u),  u = √(2/π)(z + 0.044715 z³)   (the tanh form of GELU);
    z̄ = ȳ y'(z), y' = s + 2 z s (1 − s) u',  s = σ(2u),  u' = √(2/π)(1 + 3·0.044715 z²)
    (σ(2u) instead of ½(1 + tanh u): the same number, without the cancellation for z ≪ 0)"""
    def forward(self, z):
        return z * _sigmoid(2 * _GELU_C * (z + 0.044715 * (z * z * z)))  # z*z*z: NumPy's z**3 is ~30x slower

    def backward(self, ybar):
        return ybar * GELUSlope.apply(self.inputs[0])


@register(S.unary())
class GELUSlope(Function):
    """y = GELU'(z) = s + 2 z s (1 − s) u'  (see GELU);
    z̄ = ȳ GELU''(z) = ȳ [4 s(1 − s) u' + 4 z s(1 − s)(1 − 2s) u'² + 12·0.044715·√(2/π) z² s(1 − s)]

    GELU's slope as one op: its forward works in place on two arrays, where the same formula
    written with tinyae ops makes about fifteen. Measured (float32, 1 thread, GELU forward and
    backward): 3.41 → 2.36 ms on (64, 13, 256), 2.01 → 1.72 ms on (64, 50, 128), about 4% of
    a training step of lesson 15's masked autoencoder. Its own backward, used only for second
    derivatives, is the composed formula."""
    def forward(self, z):
        xp = backend.get_array_module(z)
        z2 = z * z
        slope = z2 * (3 * 0.044715 * _GELU_C)
        slope += _GELU_C                                  # u'
        s = z2
        s *= 0.044715
        s += 1
        s *= -2 * _GELU_C
        s *= z                                            # −2u
        with backend.ignore_overflow():
            xp.exp(s, out=s)
        s += 1
        xp.reciprocal(s, out=s)                           # s = σ(2u)
        slope *= z
        slope *= 2
        slope *= s
        slope *= 1 - s                                    # 2 z s (1 − s) u'
        slope += s
        return slope

    def backward(self, ybar):
        z = self.inputs[0]
        s = sigmoid(2 * _GELU_C * (z + 0.044715 * (z * z * z)))
        u1 = _GELU_C * (1 + 3 * 0.044715 * z * z)
        q = s * (1 - s)
        return ybar * (4 * q * u1 + 4 * z * q * (1 - 2 * s) * (u1 * u1)
                       + (12 * 0.044715 * _GELU_C) * (z * z) * q)


def _axis_sample(rng, shape):
    return (S.normal(rng, shape),), {"axis": int(rng.integers(-len(shape), len(shape)))}


@register(_axis_sample)
class Softmax(Function):
    """yᵢ = e^{zᵢ} / Σⱼ e^{zⱼ} along ``axis``;  z̄ = y ⊙ (ȳ − Σⱼ ȳⱼ yⱼ)"""
    def forward(self, z):
        xp = backend.get_array_module(z)
        e = xp.exp(z - z.max(axis=self.axis, keepdims=True))
        return e / e.sum(axis=self.axis, keepdims=True)

    def backward(self, ybar):
        y = self.output
        return y * (ybar - _sum(ybar * y, axis=self.axis, keepdims=True))


@register(_axis_sample)
class LogSoftmax(Function):
    """yᵢ = zᵢ − log Σⱼ e^{zⱼ};  z̄ = ȳ − softmax(z) Σⱼ ȳⱼ = ȳ − e^y Σⱼ ȳⱼ

    Computed as yᵢ = dᵢ − log1p(r) with dᵢ = zᵢ − max z and r = Σ e^{dⱼ} over all but one
    maximal j (whose term is exactly 1): log p keeps its relative precision as p → 1, where
    dᵢ − log Σ e^{dⱼ} would subtract two nearly equal numbers."""
    def forward(self, z):
        xp = backend.get_array_module(z)
        m = z.max(axis=self.axis, keepdims=True)
        d = z - xp.where(xp.isfinite(m), m, 0)
        top = d == 0
        rest = xp.where(top, 0, xp.exp(d)).sum(axis=self.axis, keepdims=True)
        ties = top.sum(axis=self.axis, keepdims=True).astype(z.dtype) - 1  # other maxima: 1 each
        return d - xp.log1p(rest + ties)

    def backward(self, ybar):
        return ybar - exp(self.output) * _sum(ybar, axis=self.axis, keepdims=True)


@register(S.with_axis())
class LogSumExp(Function):
    """y = log Σᵢ e^{zᵢ} (over ``axis``);  z̄ = ȳ ⊙ e^{z − y} = ȳ ⊙ softmax(z)"""
    def forward(self, z):
        return _logsumexp(z, self.axis, self.keepdims)

    def backward(self, ybar):
        z, y = self.inputs[0], self.output
        kept = _keepdims_shape(z.shape, self.axis)  # line y and ȳ up with z, as Sum does
        y, ybar = y.reshape(kept), ybar.reshape(kept)
        # Where every zᵢ is −∞ (y = −∞) nothing moves y: z̄ = 0 there, not e^{−∞+∞} = NaN.
        y = where(y.data > -math.inf, y, 0.0)
        return ybar * exp(z - y)


def _logsumexp(z, axis, keepdims):
    xp = backend.get_array_module(z)
    m = z.max(axis=axis, keepdims=True)
    m = xp.where(xp.isfinite(m), m, 0)  # all −∞ gives log 0 = −∞ (not −∞ − −∞ = NaN); +∞ stays
    out = m + xp.log(xp.exp(z - m).sum(axis=axis, keepdims=True))
    return out if keepdims else out.squeeze(axis=axis) if axis is not None else out.reshape(())


def relu(z): return ReLU.apply(z)
def leaky_relu(z, slope=0.01): return LeakyReLU.apply(z, slope=slope)
def elu(z, alpha=1.0): return ELU.apply(z, alpha=alpha)
def sigmoid(z): return Sigmoid.apply(floating(z))
def tanh(z): return Tanh.apply(floating(z))
def softplus(z): return Softplus.apply(floating(z))
def gelu(z): return GELU.apply(floating(z))


@dim_names
def softmax(z, axis=-1): return Softmax.apply(floating(z), axis=axis)


@dim_names
def log_softmax(z, axis=-1): return LogSoftmax.apply(floating(z), axis=axis)


@dim_names
def logsumexp(z, axis=None, keepdims=False):
    return LogSumExp.apply(floating(z), axis=axis, keepdims=keepdims)
