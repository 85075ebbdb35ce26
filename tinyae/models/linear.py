"""The linear autoencoder and its closed form, PCA.

A linear AE r = W_dec (W_enc x + b) + c trained on squared error reaches the same
reconstruction error as PCA with k components: the optimum spans the top-k principal subspace
(Baldi & Hornik 1989). It does *not* recover the components themselves — any invertible mix of
them is optimal too — so we compare subspaces with principal angles, not weights with
components.
"""
import numpy as np

from .. import backend
from ..generator import as_generator
from ..nn import Linear, Sequential
from .base import Autoencoder


class LinearAE(Autoencoder):
    """x (d) → h = W₁x + b₁ (k) → r = W₂h + b₂ (d), no nonlinearity; MSE by default."""

    def __init__(self, d, k, bias=True, rng=None, **kwargs):
        super().__init__(**kwargs)
        rng = as_generator(rng)
        self.encoder = Sequential(Linear(d, k, bias=bias, rng=rng))
        self.decoder = Sequential(Linear(k, d, bias=bias, rng=rng))

    def decoder_basis(self):
        """The d×k matrix whose columns span the decoder's output subspace (W₂)."""
        return backend.to_numpy(self.decoder[0].weight.data)


class PCA:
    """Principal component analysis by SVD of the centred data (pixels as columns).

    ``components`` (k, d) are the top-k right singular vectors of X − μ;
    ``encode(x) = (x − μ) Vₖᵀ``, ``decode(h) = h Vₖ + μ``."""

    def __init__(self, mean, components, singular_values, n_samples):
        self.mean, self.components = mean, components
        self.singular_values = singular_values
        self.explained_variance = singular_values ** 2 / max(n_samples - 1, 1)

    def encode(self, x):
        return (np.asarray(x, dtype=np.float64) - self.mean) @ self.components.T

    def decode(self, h):
        return h @ self.components + self.mean

    def reconstruct(self, x):
        return self.decode(self.encode(x))

    def mse(self, x):
        """Mean squared error per pixel of the rank-k reconstruction."""
        x = np.asarray(x, dtype=np.float64)
        return float(((self.reconstruct(x) - x) ** 2).mean())


def pca(x, k):
    """PCA with k components, in float64. For N ≫ d the d×d scatter matrix's
    eigenvectors are the right singular vectors of X − μ (and far cheaper than an N×d SVD)."""
    x = np.asarray(backend.to_numpy(x), dtype=np.float64)
    if x.ndim != 2:
        raise ValueError(f"pca expects a 2-D array (samples × features), got shape {x.shape}; "
                         "flatten images first")
    n, d = x.shape
    if not 1 <= k <= min(n, d):
        raise ValueError(f"pca: k must be between 1 and min(samples, features) = {min(n, d)}, got {k}")
    mean = x.mean(axis=0)
    centred = x - mean
    eigvals, eigvecs = np.linalg.eigh(centred.T @ centred)
    top = np.argsort(eigvals)[::-1][:k]
    singular_values = np.sqrt(np.clip(eigvals[top], 0, None))
    return PCA(mean, eigvecs[:, top].T, singular_values, n)


def principal_angles(a, b):
    """Principal angles (degrees, ascending) between the column spaces of a (d×k) and b (d×m).

    With orthonormal bases Qa, Qb, the cosines of the angles are the singular values of
    Qaᵀ Qb: all zero angles mean one subspace contains the other."""
    a, b = (np.asarray(backend.to_numpy(m), dtype=np.float64) for m in (a, b))
    if a.ndim != 2 or b.ndim != 2 or a.shape[0] != b.shape[0]:
        raise ValueError(f"principal_angles needs two d×k bases with the same d, got {a.shape} "
                         f"and {b.shape} (put basis vectors in columns)")
    qa, _ = np.linalg.qr(a)
    qb, _ = np.linalg.qr(b)
    cosines = np.clip(np.linalg.svd(qa.T @ qb, compute_uv=False), -1.0, 1.0)
    return np.sort(np.degrees(np.arccos(cosines)))


def leading_directions(m, k):
    """The top k right singular vectors of m (rows: samples or Jacobian rows), as the columns
    of a d×k basis: of a Jacobian J, the input directions the code responds to most; of
    centred neighbours, their local PCA."""
    return np.linalg.svd(np.asarray(backend.to_numpy(m), dtype=np.float64),
                         full_matrices=False)[2][:k].T
