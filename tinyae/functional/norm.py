"""Layer normalisation over the last axis as one op (nn.LayerNorm's core).

Composed from the engine's ops, x̂ = (x − μ)/√(σ² + ε) is seven of them (mean, sub, mul, mean,
add, sqrt, div), each with its own pass over the data and its own backward; as one op its
backward is the classic formula below.
"""
from .. import backend
from ..autograd import Function, register
from . import _samples as S
from .elementwise import sqrt
from .reduce import mean


def _normalize_sample(rng, shape):
    return (S.normal(rng, shape),), {"eps": 0.1}  # a large ε keeps 1/√(σ² + ε) tame for gradchecks


@register(_normalize_sample)
class Normalize(Function):
    """x̂ = (x − μ) r over the last axis, μ its mean, σ² its biased variance, r = 1/√(σ² + ε);

        x̄ = r (ȳ − mean(ȳ) − x̂ ⊙ mean(ȳ ⊙ x̂))       (means over the last axis)

    (μ's and σ²'s dependence on every xᵢ gives the two subtracted means.)"""
    def forward(self, x):
        xp = backend.get_array_module(x)
        centred = x - x.mean(axis=-1, keepdims=True)
        centred *= 1 / xp.sqrt((centred * centred).mean(axis=-1, keepdims=True) + self.eps)
        return centred

    def backward(self, ybar):
        x, xhat = self.inputs[0], self.output
        centred = x - _mean(x)
        r = 1 / sqrt(_mean(centred * centred) + self.eps)  # ops on x: second order sees r(x)
        return r * (ybar - _mean(ybar) - xhat * _mean(ybar * xhat))


def _mean(t):
    return mean(t, axis=-1, keepdims=True)


def normalize(x, eps=1e-5):
    """(x − μ)/√(σ² + ε) over the last axis (LayerNorm without its γ and β)."""
    return Normalize.apply(x, eps=eps)
