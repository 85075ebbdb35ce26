"""Gaussian noise inside a graph, and the reparameterisation trick of the VAE.

A VAE's encoder gives, for each input x, a Gaussian q(z|x) = N(μ, diag σ²) with log σ² (written
``logvar``) as its second output. Sampling z ~ q(z|x) directly would cut the graph: a random draw
has no derivative with respect to μ or σ. The reparameterisation (Kingma & Welling 2014) moves
the randomness into a noise input that does not depend on any parameter:

    ε ~ N(0, I)   (drawn once, then held fixed: a constant of the graph, like a dropout mask)
    z = μ + σ ⊙ ε,    σ = exp(½ log σ²)

Now z is an ordinary differentiable function of μ and log σ², and the backward pass gives their
error signals from z̄:

    μ̄ = z̄                                  (∂z/∂μ = 1)
    (log σ²)‾ = z̄ ⊙ ½ σ ⊙ ε = ½ z̄ ⊙ (z − μ)   (∂z/∂ log σ² = ½ σ ε)

Randomness is seeded: ε comes from the ``rng`` of the call (a NumPy Generator or an int seed),
else from tinyae's default generator (the one ``manual_seed`` and ``fit(seed=...)`` re-seed), so a
run repeats bit for bit.
"""
from .. import backend
from ..autograd import Function, register
from ..tensor import Tensor
from .elementwise import exp
from ..generator import as_generator


def normal(shape, rng=None, dtype=None, like=None):
    """ε ~ N(0, I) of ``shape`` as a constant Tensor (no requires_grad): the noise source.

    ``rng``: a numpy Generator or an int seed; None draws from this package's default generator.
    ``like``: a Tensor or array whose dtype and device the noise takes (else float32 on the
    current backend). The numbers are drawn on the CPU in float64 and then cast, so a seed
    gives the same ε on NumPy and CuPy, in float32 and float64 alike."""
    if like is not None:
        data = like.data if isinstance(like, Tensor) else like
        xp, dtype = backend.get_array_module(data), dtype or data.dtype
    else:
        xp, dtype = backend.default_module(), dtype or backend.DEFAULT_FLOAT
    eps = as_generator(rng).standard_normal(tuple(shape))
    return Tensor(xp.asarray(eps, dtype=dtype), copy=False)  # a fresh array: no copy


def randn_like(x, rng=None):
    """ε ~ N(0, I) with the shape, dtype and device of ``x`` (a constant Tensor)."""
    return normal(x.shape, rng=rng, like=x)


def _reparameterize_sample(rng, shape):
    eps = rng.standard_normal(shape)
    return (rng.standard_normal(shape), 0.5 * rng.standard_normal(shape)), {"eps": eps}


@register(_reparameterize_sample)
class Reparameterize(Function):
    """z = μ + exp(½ log σ²) ⊙ ε for a fixed noise array ε (not differentiated);

    μ̄ = z̄,   (log σ²)‾ = ½ z̄ ⊙ σ ⊙ ε    with σ = exp(½ log σ²)

    One op instead of four (exp, two multiplications, an addition) because the VAE calls it on
    every step; the backward is written with tinyae ops, so it can be differentiated again."""
    def forward(self, mu, logvar):
        if not (mu.shape == logvar.shape == self.eps.shape):
            raise ValueError(f"mu {mu.shape}, logvar {logvar.shape} and the noise eps "
                             f"{self.eps.shape} must have the same shape")
        xp = backend.get_array_module(mu)
        eps = self.eps.astype(mu.dtype, copy=False)  # float64 noise must not upcast float32
        z = xp.exp(0.5 * logvar)
        z *= eps
        z += mu
        return z

    def backward(self, zbar):
        mu, logvar = self.inputs
        half_eps = Tensor(0.5 * self.eps.astype(zbar.dtype, copy=False))
        return zbar, zbar * half_eps * exp(0.5 * logvar)


def reparameterize(mu, logvar, rng=None, eps=None):
    """A sample z ~ N(μ, diag exp(log σ²)) written as z = μ + σ ⊙ ε, differentiable in μ and
    log σ² (see the module docstring for μ̄ and (log σ²)‾).

    ``eps``: the noise to use (an array or Tensor of μ's shape); by default a fresh ε ~ N(0, I)
    from ``rng`` (a Generator or an int seed; None: the default generator)."""
    if eps is None:
        eps = normal(mu.shape, rng=rng, like=mu)
    eps = eps.data if isinstance(eps, Tensor) else eps
    xp = backend.get_array_module(getattr(mu, "data", mu))
    return Reparameterize.apply(mu, logvar, eps=xp.asarray(eps))

