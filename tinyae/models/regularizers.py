"""Regularisers that compose with any autoencoder (pass them as ``regularizers=[...]``).
(Input corruptions for denoising, passed as ``corruption=``, live in tinyae.data.corruptions.)

Each regulariser is called as ``reg(model, x_in, h)`` with the model's input and code and
returns a scalar penalty Tensor, already multiplied by its weight.
"""
import numpy as np

from .. import backend, losses
from .. import functional as F
from ..gradients import grad
from ..nn import Linear, Sequential, Sigmoid


class L1Sparsity:
    """λ · (1/N) Σₙ Σⱼ |hₙⱼ|: pushes most code units to exactly zero (use with ReLU codes)."""
    name = "l1_sparsity"

    def __init__(self, weight):
        self.weight = weight

    def __call__(self, model, x_in, h):
        return self.weight * losses.l1_activity(h)


class KLSparsity:
    """β · Σⱼ KL(ρ ‖ ρ̂ⱼ), ρ̂ⱼ the mean activation of unit j over the batch (sigmoid codes):
    each unit should be active a fraction ρ of the time (Ng's sparse autoencoder)."""
    name = "kl_sparsity"

    def __init__(self, rho, weight):
        self.rho, self.weight = rho, weight

    def __call__(self, model, x_in, h):
        return self.weight * losses.kl_sparsity(h, self.rho)


class Contractive:
    """λ · ‖J‖²_F with J = ∂h/∂x the encoder's Jacobian, averaged over the batch (Rifai 2011).

    ``method='closed_form'``: for an encoder h = σ(Wx + b) (one Linear then Sigmoid),
        ‖J‖²_F = Σᵢ (hᵢ(1 − hᵢ))² Σⱼ Wᵢⱼ²
    ``method='double_backprop'``: any encoder. Row i of J is ∂hᵢ/∂x, the error signal x̄ when
    h̄ = eᵢ; because samples are independent, one backward of Σₙ hₙᵢ gives row i for the whole
    batch. Each is built with create_graph=True, so the penalty itself can be backpropagated
    (second derivatives). Costs one backward per code unit.
    ``method='auto'`` takes the closed form when the encoder allows it."""
    name = "contractive"
    uses_input_gradient = True  # the model builds its input with requires_grad=True

    def __init__(self, weight, method="auto"):
        if method not in ("auto", "closed_form", "double_backprop"):
            raise ValueError(f"Contractive method must be 'auto', 'closed_form' or "
                             f"'double_backprop', got {method!r}")
        self.weight, self.method = weight, method

    def __call__(self, model, x_in, h):
        return self.weight * jacobian_norm_sq(model, x_in, h, self.method).mean()


def _sigmoid_layer(encoder):
    """The Linear layer of an encoder that is exactly Linear → Sigmoid, else None."""
    layers = list(encoder) if isinstance(encoder, Sequential) else []
    if len(layers) == 2 and isinstance(layers[0], Linear) and isinstance(layers[1], Sigmoid):
        return layers[0]
    return None


def sigmoid_jacobian(layer, x):
    """J(x) = ∂h/∂x = diag(h(1 − h)) W of a sigmoid layer h = σ(Wx + b) at one input x, as a
    host float64 array (rows: code units): the matrix whose squared norm the contractive
    penalty is, for looking at (its singular vectors), not for training."""
    w = np.asarray(backend.to_numpy(layer.weight.data), dtype=np.float64)
    h = F.sigmoid(w @ np.asarray(backend.to_numpy(x), dtype=np.float64)
                  + backend.to_numpy(layer.bias.data)).numpy()
    return (h * (1 - h))[:, None] * w


def jacobian_norm_sq(model, x, h, method="auto"):
    """‖∂h/∂x‖²_F for each sample (a Tensor of shape (N,)), differentiable w.r.t. the weights.

    ``x`` must be the input that ``h = model.encode(x)`` was computed from (with
    requires_grad=True for the double-backprop form)."""
    layer = _sigmoid_layer(model.encoder)
    if method == "closed_form" or (method == "auto" and layer is not None):
        if layer is None:
            raise ValueError("the closed-form contractive penalty needs an encoder that is one "
                             "Linear layer followed by Sigmoid; use method='double_backprop'")
        row_norms = (layer.weight ** 2).sum(axis=1)          # Σⱼ Wᵢⱼ², one per code unit i
        slope = h * (1 - h)                                  # σ'(zᵢ) = hᵢ(1 − hᵢ)
        return ((slope * slope) * row_norms).sum(axis=1)
    if not x.requires_grad:
        raise ValueError("double-backprop contractive penalty: x must have requires_grad=True "
                         "(it differentiates h with respect to x)")
    flat_h = h.reshape((h.shape[0], -1))
    total = None
    for i in range(flat_h.shape[1]):
        row, = (grad(flat_h[:, i].sum(), [x], create_graph=True, retain_graph=True))
        sq = (row * row).reshape((row.shape[0], -1)).sum(axis=1)
        total = sq if total is None else total + sq
    return total
