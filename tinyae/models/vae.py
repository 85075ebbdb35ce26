"""The variational autoencoder (Kingma & Welling 2014), and the numbers it is judged by.

    encoder   x → h → (μ, log σ²)          q(z|x) = N(μ, diag σ²)
    noise     z = μ + σ ⊙ ε,  ε ~ N(0, I)   (the reparameterisation, F.reparameterize)
    decoder   z → logits (Bernoulli pixels) or means (Gaussian pixels)      p(x|z)
    prior     p(z) = N(0, I)

Training maximises the evidence lower bound of each image, in nats:

    log p(x) ≥ ELBO(x) = E_q[log p(x|z)] − KL(q(z|x) ‖ p(z))

so ``loss(x)`` = −ELBO per image = reconstruction (−log p(x|z) at one sampled z) + KL, averaged
over the batch: the loss of the PyTorch VAE example (BCE summed over pixels + KL).

The ELBO is a bound. ``log_likelihood(x, k)`` is the importance-weighted estimate (Burda et al.
2016) with k samples zᵢ ~ q(z|x):

    log p(x) ≥ log (1/k) Σᵢ p(x, zᵢ) / q(zᵢ|x)        (= the ELBO for k = 1, tight as k → ∞)

computed with a log-sum-exp of the log weights, so that e^{−100} never underflows.
"""
import math

import numpy as np

from .. import backend, losses, nn
from .. import functional as F
from ..arguments import finite_number
from ..generator import as_generator
from ..autograd import no_grad
from ..tensor import Tensor, ensure_tensor
from .base import Autoencoder
from .mlp import activation_layer

LIKELIHOODS = ("bernoulli", "gaussian")


class VAE(Autoencoder):
    """``VAE([784, 400], latent=20)``: the model of the PyTorch example, 784-400-(20, 20), ReLU.

    sizes       input and hidden widths of the encoder, [d, h₁, …]; the decoder mirrors them
    latent      dimension of z
    likelihood  'bernoulli': the decoder gives logits, p(x|z) = Π Bernoulli(xᵢ; σ(logitᵢ));
                'gaussian': the decoder gives means m, p(x|z) = N(x; m, σ_x² I) with one
                σ_x² for all pixels, learned (``sigma=None``) or fixed (``sigma=0.1``)
    beta        weight of the KL term (1: the ELBO; β-VAE otherwise)
    rng         seed of the initial weights (PyTorch's default init, U(±1/√fan_in)) and,
                unless ``noise_rng`` is given, of the noise ε: the same seed, the same run
    The noise generator is ``self.noise_rng`` (fit(seed=...) re-seeds it); every method that
    draws also takes ``rng=`` for a call-local generator or seed.

    ``encode(x)`` returns the code μ (so the family's decode(encode(x)) is a reconstruction);
    ``posterior(x)`` returns (μ, log σ²). ``decode(z)`` returns pixel means (σ(logits) or m);
    ``decode_logits(z)`` the decoder's raw output.
    """

    def __init__(self, sizes, latent, likelihood="bernoulli", activation="relu", beta=1.0,
                 sigma=None, rng=None, noise_rng=None, **kwargs):
        super().__init__(**kwargs)
        if len(sizes) < 2 or any(int(s) != s or s <= 0 for s in sizes):
            raise ValueError(f"sizes must list the input width and at least one hidden width, "
                             f"e.g. [784, 400]; got {sizes!r}")
        if isinstance(latent, bool) or not isinstance(latent, int) or latent <= 0:
            raise ValueError(f"latent must be a positive int (the dimension of z), got {latent!r}")
        if likelihood not in LIKELIHOODS:
            raise ValueError(f"likelihood must be one of {LIKELIHOODS}, got {likelihood!r}")
        activation_layer(activation)  # fail early on a misspelt name
        if sigma is not None and likelihood != "gaussian":
            raise ValueError("VAE: sigma is the pixel noise of likelihood='gaussian'; the "
                             f"{likelihood!r} likelihood has none (leave sigma=None)")
        if sigma is not None:
            finite_number(sigma, "sigma (the pixel noise σ_x)", "VAE", positive=True)
        rng = as_generator(rng)
        self.sizes, self.latent, self.likelihood = list(sizes), latent, likelihood
        self.beta = finite_number(beta, "beta (the weight of the KL term)", "VAE", minimum=0)
        body = []
        for a, b in zip(sizes[:-1], sizes[1:]):
            body += [nn.Linear(a, b, rng=rng), activation_layer(activation)]
        self.encoder = nn.Sequential(*[m for m in body if m is not None])
        self.mu_head = nn.Linear(sizes[-1], latent, rng=rng)
        self.logvar_head = nn.Linear(sizes[-1], latent, rng=rng)
        widths = [latent] + list(reversed(sizes))
        decoder = []
        for i, (a, b) in enumerate(zip(widths[:-1], widths[1:])):
            decoder.append(nn.Linear(a, b, rng=rng))
            if i < len(widths) - 2:
                decoder.append(activation_layer(activation))
        self.decoder = nn.Sequential(*[m for m in decoder if m is not None])
        self.sigma = sigma
        if likelihood == "gaussian" and sigma is None:
            xp = backend.default_module()
            self.log_sigma2 = nn.Parameter(xp.zeros((), dtype=backend.DEFAULT_FLOAT))
        # The noise's own stream, drawn from the weights' generator, so one seed (or
        # manual_seed) fixes both
        self.noise_rng = (np.random.default_rng(rng.integers(2 ** 63)) if noise_rng is None
                          else as_generator(noise_rng))

    # --- the two halves ----------------------------------------------------------------
    def posterior(self, x):
        """(μ, log σ²) of q(z|x), each of shape (N, latent)."""
        h = self.encoder(ensure_tensor(x))
        return self.mu_head(h), self.logvar_head(h)

    def encode(self, x):
        """The code of x: μ, the mean of q(z|x)."""
        return self.posterior(x)[0]

    def decode_logits(self, z):
        """The decoder's output: Bernoulli logits, or Gaussian means."""
        return self.decoder(ensure_tensor(z))

    def decode(self, z):
        """Pixel means of p(x|z): σ(logits) for Bernoulli, the means for Gaussian."""
        out = self.decode_logits(z)
        return F.sigmoid(out) if self.likelihood == "bernoulli" else out

    def _rng(self, rng):
        return self.noise_rng if rng is None else rng

    def _decoder_logvar(self):
        if self.likelihood != "gaussian":
            return None
        return self.log_sigma2 if self.sigma is None else 2 * math.log(self.sigma)

    def log_px_given_z(self, out, x, reduction="none"):
        """log p(x|z) from the decoder output (logits or means), summed over each example's
        pixels: shape (N,) with reduction='none', else reduced like a loss ('batchmean')."""
        x = Tensor(x.data if isinstance(x, Tensor) else x, dtype=out.dtype)
        if self.likelihood == "bernoulli":
            terms = losses.bernoulli_log_likelihood(out, x, reduction="none")
        else:
            terms = losses.gaussian_log_likelihood(out, x, self._decoder_logvar(),
                                                   reduction="none")
        per_example = terms.reshape((terms.shape[0], -1)).sum(axis=1)
        return per_example if reduction == "none" else losses._reduce(
            per_example, "mean" if reduction == "batchmean" else reduction, "log_px_given_z")

    # --- the objective -------------------------------------------------------------------
    def elbo(self, x, rng=None):
        """``(loss, parts)`` on a batch: loss = −ELBO per image = reconstruction + β·KL (+ any
        regulariser's penalty), a scalar Tensor to backpropagate; parts = {'reconstruction':
        −E_q log p(x|z) (one sample of z per image), 'kl': KL(q(z|x) ‖ N(0, I)), …}, scalar
        Tensors, nats per image. The family's objective (``Autoencoder.objective``) with the
        VAE's data terms."""
        return self.objective(x, rng=rng)

    def data_terms(self, x_in, x, rng=None):
        """``(μ, −ELBO, parts)``: the code is μ, the mean of q(z|x_in)."""
        mu, logvar = self.posterior(x_in)
        z = F.reparameterize(mu, logvar, rng=self._rng(rng))
        reconstruction = -self.log_px_given_z(self.decode_logits(z), x, reduction="batchmean")
        kl = losses.gaussian_kl(mu, logvar)
        total = reconstruction + self.beta * kl if self.beta != 1 else reconstruction + kl
        return mu, total, {"reconstruction": reconstruction, "kl": kl}

    def forward(self, x):
        """The mean reconstruction decode(μ(x)) (no noise): the family's r = g(f(x))."""
        return self.decode(self.encode(x))

    # --- using a trained VAE (no graph is recorded) ----------------------------------------
    def reconstruct(self, x, sample=False, rng=None):
        """Pixel means of p(x|z) at z = μ(x), or at a sampled z ~ q(z|x) with ``sample=True``."""
        with no_grad():
            mu, logvar = self.posterior(x)
            z = F.reparameterize(mu, logvar, rng=self._rng(rng)) if sample else mu
            return self.decode(z)

    def sample(self, n, rng=None):
        """n new images: z ~ p(z) = N(0, I), then the pixel means of p(x|z)."""
        with no_grad():
            like = next(iter(self.parameters()))
            return self.decode(F.normal((n, self.latent), rng=self._rng(rng), like=like))

    def interpolate(self, x_a, x_b, steps=8):
        """Decoded images along the straight line from μ(x_a) to μ(x_b) in z-space, ends
        included: shape (steps, …) for single images x_a, x_b, or (N, steps, …) for batches."""
        single = _ndim(x_a) == 1
        with no_grad():
            a = self.encode(_batch(x_a)).data
            b = self.encode(_batch(x_b)).data
            xp = backend.get_array_module(a)
            t = xp.linspace(0, 1, steps, dtype=a.dtype)[None, :, None]
            z = a[:, None, :] * (1 - t) + b[:, None, :] * t           # (N, steps, latent)
            images = self.decode(Tensor(z.reshape(-1, self.latent))).data
        images = images.reshape((len(a), steps) + images.shape[1:])
        return Tensor(images[0] if single else images)

    def log_likelihood(self, x, k=100, rng=None, batch_elements=2 ** 22):
        """The importance-weighted estimate of log p(x) for each row of x, in nats (a float64
        NumPy array of shape (N,)):

            log p(x) ≥ log (1/k) Σᵢ wᵢ,   wᵢ = p(x|zᵢ) p(zᵢ) / q(zᵢ|x),   zᵢ ~ q(z|x)

        log wᵢ = log p(x|zᵢ) − ½ Σⱼ (zᵢⱼ² − εᵢⱼ² − log σⱼ²), since zᵢ = μ + σ ⊙ εᵢ (the log 2π
        terms of p and q cancel); the mean of the wᵢ is taken as a log-sum-exp in float64.
        Its expectation is the ELBO for k = 1 and rises towards log p(x) as k grows. Images
        and samples are taken in chunks of about ``batch_elements`` decoder outputs."""
        x = _batch(x)
        data = x.data if isinstance(x, Tensor) else x
        n, d = len(data), int(np.prod(data.shape[1:]))
        generator = as_generator(self._rng(rng))
        rows = max(1, min(n, batch_elements // (d * k) or 1))
        per_chunk = max(1, min(k, batch_elements // (d * rows)))
        result = np.empty(n)
        with no_grad():
            for start in range(0, n, rows):
                xb = Tensor(data[start:start + rows])
                mu, logvar = (t.data for t in self.posterior(xb))
                xp = backend.get_array_module(mu)
                log_w = []
                for s in range(0, k, per_chunk):
                    m = min(per_chunk, k - s)
                    eps = F.normal((m,) + mu.shape, rng=generator, like=mu).data
                    z = mu + xp.exp(0.5 * logvar) * eps                   # (m, rows, latent)
                    out = self.decode_logits(Tensor(z.reshape(-1, self.latent)))
                    xs = Tensor(xb.data[None].repeat(m, axis=0).reshape((m * len(mu),) + xb.shape[1:]))
                    log_px = self.log_px_given_z(out, xs).data.reshape(m, len(mu))
                    log_pz_qz = -0.5 * (z * z - eps * eps - logvar).sum(axis=-1)
                    log_w.append(backend.to_numpy(log_px + log_pz_qz).astype(np.float64))
                log_w = np.concatenate(log_w, axis=0)                      # (k, rows)
                top = log_w.max(axis=0)
                result[start:start + len(mu)] = top + np.log(np.exp(log_w - top).mean(axis=0))
        return result


def _ndim(x):
    data = x.data if isinstance(x, Tensor) else x
    return data.ndim if backend.is_array(data) else np.ndim(data)  # np.ndim only on host data


def _batch(x):
    """A batch of one for a single flat image."""
    data = x.data if isinstance(x, Tensor) else x
    return data[None] if _ndim(data) == 1 else data
