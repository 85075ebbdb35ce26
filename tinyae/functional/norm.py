"""Layer normalisation over the last axes as one op (nn.LayerNorm's core).

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
    # a large ε keeps 1/√(σ² + ε) tame for gradchecks; over the last one or two axes
    axes = (-1,) if len(shape) < 2 or rng.random() < 0.5 else (-2, -1)
    return (S.normal(rng, shape),), {"eps": 0.1, "axes": axes}


@register(_normalize_sample)
class Normalize(Function):
    """x̂ = (x − μ) r over ``axes`` (the last ones), μ the mean there, σ² the biased variance,
    r = 1/√(σ² + ε);

        x̄ = r (ȳ − mean(ȳ) − x̂ ⊙ mean(ȳ ⊙ x̂))       (means over the same axes)

    (μ's and σ²'s dependence on every xᵢ gives the two subtracted means.)"""
    def forward(self, x):
        xp = backend.get_array_module(x)
        centred = x - x.mean(axis=self.axes, keepdims=True)
        centred *= 1 / xp.sqrt((centred * centred).mean(axis=self.axes, keepdims=True) + self.eps)
        return centred

    def backward(self, ybar):
        x, xhat = self.inputs[0], self.output

        def mean_over_axes(t):
            return mean(t, axis=self.axes, keepdims=True)
        centred = x - mean_over_axes(x)
        r = 1 / sqrt(mean_over_axes(centred * centred) + self.eps)  # on x: second order sees r(x)
        return r * (ybar - mean_over_axes(ybar) - xhat * mean_over_axes(ybar * xhat))


def normalize(x, eps=1e-5, dims=1):
    """(x − μ)/√(σ² + ε) over the last ``dims`` axes (LayerNorm without its γ and β)."""
    return Normalize.apply(x, eps=eps, axes=tuple(range(-dims, 0)))
