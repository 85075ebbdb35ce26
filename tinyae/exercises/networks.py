"""Exercises beyond single ops: what a course assigns after the first week.

Each is a Function (its name starts with _ only to keep it out of the registered-op sweep; the
student sees it without) whose forward is a whole piece of a network (a two-layer net, softmax with
cross-entropy, the VAE's sampling step and KL term, the contractive penalty, a tied-weight
autoencoder, LayerNorm, attention), written in NumPy as a student would read it. Its backward is
the hand derivation, written with tinyae ops on Tensors so that it can be differentiated again
(the second-order check); it is the instructor's solution. The student's x̄ is graded against a
*composition of tinyae's own ops* (``reference``), never against this backward, so a slip in a
solution here fails the solution tests instead of the class.
"""
import numpy as np

from .. import functional as F
from ..autograd import Function
from ..tensor import Tensor


class _TwoLayerNet(Function):
    """y = σ(x W₁ᵀ + b₁) W₂ᵀ + b₂: a batch x (B, D) through a logistic hidden layer of H units and
    a linear output of K units; Ȳ = ȳ, W̄₂ = Ȳᵀ h, b̄₂ = Σ_batch Ȳ, h̄ = Ȳ W₂,
    z̄ = h̄ ⊙ h(1 − h), W̄₁ = z̄ᵀ x, b̄₁ = Σ_batch z̄, x̄ = z̄ W₁"""
    def forward(self, x, W1, b1, W2, b2):
        h = 1 / (1 + np.exp(-(x @ W1.T + b1)))
        return h @ W2.T + b2

    def backward(self, ybar):
        x, W1, b1, W2, b2 = self.inputs
        h = F.sigmoid(x @ W1.T + b1)
        hbar = ybar @ W2
        zbar = hbar * h * (1 - h)
        return zbar @ W1, zbar.T @ x, zbar.sum(axis=0), ybar.T @ h, ybar.sum(axis=0)


class _SoftmaxCrossEntropy(Function):
    """L = −(1/B) Σₙ Σₖ tₙₖ log softmax(zₙ)ₖ for logits z (B, K) and one-hot targets t (B, K)
    (``self.targets``); z̄ = ȳ (softmax(z) − t) / B: the path through the normaliser Σⱼ e^{zⱼ}
    reaches every class, not only the target"""
    def forward(self, z):
        e = np.exp(z - z.max(axis=1, keepdims=True))
        p = e / e.sum(axis=1, keepdims=True)
        return -(self.targets * np.log(p)).sum() / len(z)

    def backward(self, ybar):
        z, = self.inputs
        return ybar * (F.softmax(z, axis=1) - Tensor(self.targets)) / z.shape[0]


class _Reparameterize(Function):
    """z = μ + e^{½ log σ²} ⊙ ε with ε ~ N(0, I) drawn once (``self.eps``): the VAE's sample, a
    differentiable function of μ and log σ²; μ̄ = z̄, (log σ²)‾ = z̄ ⊙ ½ e^{½ log σ²} ⊙ ε"""
    def forward(self, mu, logvar):
        return mu + np.exp(0.5 * logvar) * self.eps

    def backward(self, zbar):
        mu, logvar = self.inputs
        return zbar, zbar * 0.5 * F.exp(0.5 * logvar) * Tensor(self.eps)


class _GaussianKL(Function):
    """KL(N(μ, σ²) ‖ N(0, I)) = (1/B) Σₙ ½ Σⱼ (μ² + σ² − log σ² − 1) for μ, log σ² of shape (B, J):
    the VAE's KL term, averaged over the batch; μ̄ = ȳ μ / B, (log σ²)‾ = ȳ ½ (σ² − 1) / B"""
    def forward(self, mu, logvar):
        return 0.5 * (mu ** 2 + np.exp(logvar) - logvar - 1).sum() / len(mu)

    def backward(self, ybar):
        mu, logvar = self.inputs
        batch = mu.shape[0]
        return ybar * mu / batch, ybar * 0.5 * (F.exp(logvar) - 1) / batch


class _ContractivePenalty(Function):
    """P = (1/B) Σₙ ‖∂h/∂x‖²_F = (1/B) Σₙ Σᵢ (hᵢ(1 − hᵢ))² Σⱼ Wᵢⱼ² for the logistic code
    h = σ(x Wᵀ + b) of a fixed batch x (``self.x``, (B, D)), W (H, D): the CAE's penalty, whose
    gradient needs σ's second derivative; with sᵢ = (hᵢ(1 − hᵢ))² and rᵢ = Σⱼ Wᵢⱼ²,
    ∂sᵢ/∂zᵢ = 2 sᵢ (1 − 2hᵢ), W̄ = ȳ (2 (Σₙ s) ⊙ W + (r ⊙ ∂s/∂z)ᵀ x) / B, b̄ = ȳ Σₙ r ⊙ ∂s/∂z / B"""
    def forward(self, W, b):
        h = 1 / (1 + np.exp(-(self.x @ W.T + b)))
        return ((h * (1 - h)) ** 2 @ (W ** 2).sum(axis=1)).sum() / len(self.x)

    def backward(self, ybar):
        W, b = self.inputs
        x = Tensor(self.x)
        h = F.sigmoid(x @ W.T + b)                    # (B, H)
        s = (h * (1 - h)) ** 2                        # (B, H)
        r = (W ** 2).sum(axis=1)                      # (H,)
        ds_dz = 2 * s * (1 - 2 * h)                   # (B, H)
        scale = ybar / x.shape[0]
        Wbar = scale * (2 * s.sum(axis=0).reshape(-1, 1) * W + (r * ds_dz).T @ x)
        return Wbar, scale * (r * ds_dz).sum(axis=0)


class _TiedAutoencoder(Function):
    """r = σ(x Wᵀ + b) W + c: an autoencoder whose decoder is its encoder's W transposed (tied
    weights), x (B, D), W (H, D); with h̄ = r̄ Wᵀ and z̄ = h̄ ⊙ h(1 − h): W̄ = hᵀ r̄ (the decoder's
    use of W) + z̄ᵀ x (the encoder's use), b̄ = Σ_batch z̄, c̄ = Σ_batch r̄, x̄ = z̄ W"""
    def forward(self, x, W, b, c):
        h = 1 / (1 + np.exp(-(x @ W.T + b)))
        return h @ W + c

    def backward(self, rbar):
        x, W, b, c = self.inputs
        h = F.sigmoid(x @ W.T + b)
        zbar = (rbar @ W.T) * h * (1 - h)
        return zbar @ W, h.T @ rbar + zbar.T @ x, zbar.sum(axis=0), rbar.sum(axis=0)


class _LayerNorm(Function):
    """y = γ ⊙ x̂ + β with x̂ = (x − μ) / √(σ² + ε), μ and σ² the mean and variance of each row of
    x (B, D) (``self.eps``); with ĝ = ȳ ⊙ γ: x̄ = (ĝ − mean(ĝ) − x̂ ⊙ mean(ĝ ⊙ x̂)) / √(σ² + ε)
    (means along the row), γ̄ = Σ_batch ȳ ⊙ x̂, β̄ = Σ_batch ȳ"""
    def forward(self, x, gamma, beta):
        mu = x.mean(axis=1, keepdims=True)
        var = ((x - mu) ** 2).mean(axis=1, keepdims=True)
        return gamma * (x - mu) / np.sqrt(var + self.eps) + beta

    def backward(self, ybar):
        x, gamma, beta = self.inputs
        centred = x - x.mean(axis=1, keepdims=True)
        std = ((centred ** 2).mean(axis=1, keepdims=True) + self.eps) ** 0.5
        xhat = centred / std
        g = ybar * gamma
        xbar = (g - g.mean(axis=1, keepdims=True)
                - xhat * (g * xhat).mean(axis=1, keepdims=True)) / std
        return xbar, (ybar * xhat).sum(axis=0), ybar.sum(axis=0)


class _Attention(Function):
    """y = softmax(q kᵀ / √d) v: scaled dot-product attention of T queries q (T, d) over T keys k
    (T, d) and values v (T, d_v); with A = softmax(S), S = q kᵀ / √d: v̄ = Aᵀ ȳ, Ā = ȳ vᵀ,
    S̄ = A ⊙ (Ā − Σⱼ Āⱼ Aⱼ) (row-wise, softmax's backward), q̄ = S̄ k / √d, k̄ = S̄ᵀ q / √d"""
    def forward(self, q, k, v):
        s = q @ k.T / np.sqrt(q.shape[1])
        e = np.exp(s - s.max(axis=1, keepdims=True))
        return (e / e.sum(axis=1, keepdims=True)) @ v

    def backward(self, ybar):
        q, k, v = self.inputs
        root_d = q.shape[1] ** 0.5
        a = F.softmax(q @ k.T / root_d, axis=1)
        abar = ybar @ v.T
        sbar = a * (abar - (abar * a).sum(axis=1, keepdims=True))
        return sbar @ k / root_d, sbar.T @ q / root_d, a.T @ ybar


# --- the references: the same computation composed from tinyae's own ops -----------------------
def _two_layer(x, W1, b1, W2, b2):
    return F.sigmoid(x @ W1.T + b1) @ W2.T + b2


def _softmax_cross_entropy(z, targets):
    return -(Tensor(targets) * F.log_softmax(z, axis=1)).sum() / z.shape[0]


def _reparameterize(mu, logvar, eps):
    return mu + F.exp(0.5 * logvar) * Tensor(eps)


def _gaussian_kl(mu, logvar):
    return 0.5 * (mu ** 2 + F.exp(logvar) - logvar - 1).sum() / mu.shape[0]


def _contractive_penalty(W, b, x):
    h = F.sigmoid(Tensor(x) @ W.T + b)
    return ((h * (1 - h)) ** 2 @ (W ** 2).sum(axis=1)).sum() / x.shape[0]


def _tied_autoencoder(x, W, b, c):
    return F.sigmoid(x @ W.T + b) @ W + c


def _layer_norm(x, gamma, beta, eps):
    centred = x - x.mean(axis=1, keepdims=True)
    return gamma * centred / ((centred ** 2).mean(axis=1, keepdims=True) + eps) ** 0.5 + beta


def _attention(q, k, v):
    return F.softmax(q @ k.T / q.shape[1] ** 0.5, axis=1) @ v


REFERENCES = {_TwoLayerNet: _two_layer, _SoftmaxCrossEntropy: _softmax_cross_entropy,
              _Reparameterize: _reparameterize, _GaussianKL: _gaussian_kl,
              _ContractivePenalty: _contractive_penalty, _TiedAutoencoder: _tied_autoencoder,
              _LayerNorm: _layer_norm, _Attention: _attention}
