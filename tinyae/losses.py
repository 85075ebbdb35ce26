"""Loss functions and regularizers, built from tinyae.functional ops (so backward, and
``create_graph=True`` second derivatives, come for free).

Predictions are Tensors; targets may be Tensors or arrays (converted to the prediction's dtype
and device). Shapes must match exactly: (N, 1) against (N,) is an error, not a broadcast.

Reductions (where a loss takes ``reduction=``), for an elementwise loss ℓ of shape (N, …):
    'mean'       (1/|ℓ|) Σ ℓ        mean over every element (PyTorch's default)
    'sum'        Σ ℓ                 sum over everything
    'batchmean'  (1/N) Σ ℓ           sum over each example, mean over the batch: "per image"
    'none'       ℓ                   elementwise (``.flatten(1).sum(axis=1)`` gives per-example sums)
The VAE's loss in nats per image is ``bce(x_hat, x, reduction='batchmean') + gaussian_kl(mu, logvar)``.
"""
import math
import numbers

import numpy

from . import backend
from . import functional as F
from .calls import drawn_as_one_box
from .tensor import Tensor

REDUCTIONS = ("mean", "sum", "batchmean", "none")
_TARGET_HINT = "pixels stored as 0-255 integers must be divided by 255 first"


def _as_pred(pred, who):
    if isinstance(pred, Tensor):
        return pred
    if backend.is_array(pred):
        return Tensor(pred)
    raise TypeError(f"{who}: expected a Tensor or an array, got {type(pred).__name__}")


def _as_target(target, like):
    """A target on the prediction's device, in its float dtype (uint8 pixels become floats)."""
    if isinstance(target, Tensor):
        if target.requires_grad or target.dtype == like.dtype:
            return target
        target = target.data
    xp = backend.get_array_module(like.data)
    return Tensor(xp.asarray(backend.to_device(target, like.device), dtype=like.dtype), copy=False)


def _check_shapes(who, pred, target, names=("pred", "target")):
    if pred.shape != target.shape:
        raise ValueError(f"{who}: {names[0]} has shape {pred.shape} but {names[1]} has shape "
                         f"{target.shape}; they must match exactly (no broadcasting). Reshape one, "
                         f"e.g. {names[1]}.reshape({names[0]}.shape)")


def _reduce(loss, reduction, who):
    if reduction in ("mean", "batchmean") and (loss.size == 0 or (loss.ndim and loss.shape[0] == 0)):
        raise ValueError(f"{who}: the batch is empty (shape {loss.shape}), and an empty batch has "
                         f"no {reduction}; check the slicing or the data loader that made it "
                         "(or use reduction='sum', which is 0)")
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    if reduction == "batchmean":
        return loss.sum() * (1.0 / (loss.shape[0] if loss.ndim else 1))
    if reduction == "none":
        return loss
    raise ValueError(f"{who}: unknown reduction {reduction!r}; choose one of {REDUCTIONS}")


def _pair(pred, target, who):
    pred = _as_pred(pred, who)
    target = _as_target(target, pred)
    _check_shapes(who, pred, target)
    return pred, target


def _outside(data, nan_ok):
    return ((data < 0) | (data > 1)) if nan_ok else ~((data >= 0) & (data <= 1))


def _check_unit_interval(who, name, t, hint, nan_ok=False, also=None):
    """Values must lie in [0, 1]. NaN does not, except in a prediction (``nan_ok``): a diverged
    model's NaN flows into the loss, where fit() reports it and anomaly mode finds its op.

    ``also``: a second (name, tensor, hint, nan_ok) checked in the same pass. On a device the
    check costs no host transfer of its own: its flag is read with the next value read back
    (the logged loss; see ``backend.check``), so the error comes from that read."""
    checks = [c for c in [(name, t, hint, nan_ok)] + ([also] if also is not None else [])
              if c[1].data.size]
    if not checks:
        return
    flag = _outside(checks[0][1].data, checks[0][3]).any()
    for c in checks[1:]:
        flag = flag | _outside(c[1].data, c[3]).any()

    def fail():
        for name, t, hint, nan_ok in checks:
            data = t.data
            if bool(_outside(data, nan_ok).any()):
                xp = backend.get_array_module(data)
                low, high = float(xp.nanmin(data)), float(xp.nanmax(data))
                nan = " and NaN" if bool(xp.isnan(data).any()) else ""
                raise ValueError(f"{who}: {name} must lie in [0, 1], got values from {low:g} to "
                                 f"{high:g}{nan}; {hint}")
    backend.check(flag, fail)


# --- reconstruction --------------------------------------------------------------------------
@drawn_as_one_box
def mse(pred, target, reduction="mean"):
    """Mean squared error, ℓ = (ŷ − y)², averaged over every element by default.

    pred ȳ: ∂ℓ/∂ŷ = 2(ŷ − y)."""
    pred, target = _pair(pred, target, "mse")
    return _reduce((pred - target) ** 2, reduction, "mse")


@drawn_as_one_box
def sse(pred, target):
    """Squared error per example: (1/N) Σₙ Σᵢ (ŷₙᵢ − yₙᵢ)², summed over features and averaged
    over the batch (the "squared error per image" of Hinton & Salakhutdinov 2006)."""
    return mse(pred, target, reduction="batchmean")


@drawn_as_one_box
def bce(pred, target, eps=1e-7, reduction="mean"):
    """Binary cross-entropy of probabilities p (e.g. a sigmoid's output) against targets y ∈ [0, 1]:

        ℓ = −[y log p + (1 − y) log(1 − p)]

    p is clamped to [eps, 1 − eps] first so that log never sees 0 (a sigmoid saturates to exactly
    0 or 1 in float32); where the clamp is active the gradient is 0. For training from logits,
    ``bce_with_logits`` is exact and stable and keeps the gradient σ(z) − y everywhere."""
    pred, target = _pair(pred, target, "bce")
    _check_unit_interval("bce", "pred (probabilities)", pred,
                         "for raw scores (logits) use bce_with_logits", nan_ok=True,
                         also=("the targets", target, _TARGET_HINT, False))
    p = F.clip(pred, eps, 1 - eps)
    loss = -(target * F.log(p) + (1 - target) * F.log(1 - p))
    return _reduce(loss, reduction, "bce")


@drawn_as_one_box
def bce_with_logits(logits, target, reduction="mean"):
    """Binary cross-entropy of p = σ(z) computed from the logits z, without ever forming p:

        ℓ = −[y log σ(z) + (1 − y) log(1 − σ(z))] = y softplus(−z) + (1 − y) softplus(z)

    with softplus(z) = log(1 + eᶻ) = max(z, 0) + log(1 + e^{−|z|}), stable for any z. (The
    shorter softplus(z) − z y cancels: for y = 1 and z = 10 it keeps 2 of float32's 7 digits.)
    z̄ = σ(z) − y."""
    logits, target = _pair(logits, target, "bce_with_logits")
    _check_unit_interval("bce_with_logits", "the targets", target, _TARGET_HINT)
    loss = target * F.softplus(-logits) + (1 - target) * F.softplus(logits)
    return _reduce(loss, reduction, "bce_with_logits")


# --- classification ---------------------------------------------------------------------------
@drawn_as_one_box
def cross_entropy(logits, labels, reduction="mean"):
    """Softmax cross-entropy of logits z (N, C) against integer labels c (N,) in [0, C):

        ℓₙ = −log softmax(zₙ)_{cₙ} = log Σⱼ e^{zₙⱼ} − zₙ,cₙ        z̄ₙ = softmax(zₙ) − onehot(cₙ)

    that is ``nll_loss(log_softmax(z), c)``, averaged over the batch by default.

    Per pixel (segmentation): logits (N, C, H, W, …) with the classes on axis 1 and labels
    (N, H, W, …) give one ℓ per pixel, as in PyTorch: 'mean' averages over every pixel of the
    batch, 'batchmean' sums over each image and averages over images, 'none' returns (N, H, W, …)."""
    logits = _as_pred(logits, "cross_entropy")
    if logits.ndim < 2:
        raise ValueError(f"cross_entropy: logits must have shape (N, C) or (N, C, H, W, …), got "
                         f"{logits.shape}")
    return nll_loss(F.log_softmax(logits, axis=1), labels, reduction, who="cross_entropy")


@drawn_as_one_box
def nll_loss(log_probs, labels, reduction="mean", who="nll_loss"):
    """Negative log-likelihood of integer labels c under log-probabilities (N, C, …) (classes on
    axis 1, as PyTorch's ``F.nll_loss``): ℓₙ = −log_probsₙ,cₙ, averaged by default.

    The pick is a product with a one-hot constant along axis 1, elementwise, so no axis is moved
    and no index is scattered back (8× faster than integer indexing on (32, 4, 32, 32))."""
    log_probs = _as_pred(log_probs, who)
    if log_probs.ndim < 2:
        raise ValueError(f"{who}: log-probabilities must have shape (N, C) or (N, C, H, W, …), got "
                         f"{log_probs.shape}")
    xp = backend.get_array_module(log_probs.data)
    labels = labels.data if isinstance(labels, Tensor) else labels
    labels = xp.asarray(backend.to_device(labels, log_probs.device))
    if labels.dtype.kind not in "iu":
        raise TypeError(f"{who}: labels must be integers (class indices), got dtype "
                        f"{labels.dtype}; convert with labels.astype(int)")
    n, c = log_probs.shape[:2]
    rest = tuple(log_probs.shape[2:])
    if labels.shape != (n,) + rest:
        raise ValueError(f"{who}: labels must have shape {(n,) + rest} for scores of shape "
                         f"{log_probs.shape} (classes on axis 1), got {labels.shape}")

    def fail():
        raise ValueError(f"{who}: labels must lie in [0, {c}) for {c} classes, got values "
                         f"from {int(labels.min())} to {int(labels.max())}")
    if labels.size:   # on a device: read with the logged loss (see _check_unit_interval)
        backend.check((labels.min() < 0) | (labels.max() >= c), fail)
    classes = xp.arange(c).reshape((1, c) + (1,) * len(rest))
    onehot = (labels[:, None] == classes).astype(log_probs.dtype)      # (N, C, …), a constant
    picked = (log_probs * onehot).sum(axis=1)                           # log p of the true class
    return _reduce(-picked, reduction, who)


def one_hot(labels, num_classes=-1):
    """Integer labels (any shape) as one-hot int64 rows, shape labels.shape + (C,), as PyTorch's
    ``F.one_hot``; C = ``num_classes``, or the largest label + 1. Not differentiable (labels
    are not)."""
    data = labels.data if isinstance(labels, Tensor) else labels
    data = data if backend.is_array(data) else numpy.asarray(data)  # a list of ints stays ints
    if data.dtype.kind not in "iu":
        raise TypeError(f"one_hot: labels must be integers (class indices), got dtype {data.dtype}")
    xp = backend.get_array_module(data)
    if num_classes == -1:
        num_classes = int(data.max()) + 1 if data.size else 0
    if data.size and (int(data.min()) < 0 or int(data.max()) >= num_classes):
        raise ValueError(f"one_hot: labels must lie in [0, {num_classes}), got values from "
                         f"{int(data.min())} to {int(data.max())}")
    return Tensor((data[..., None] == xp.arange(num_classes)).astype(numpy.int64), copy=False)


# --- latent-code terms -----------------------------------------------------------------------
@drawn_as_one_box
def gaussian_kl(mu, logvar, reduction="batchmean"):
    """KL(N(μ, σ²) ‖ N(0, I)) of a VAE's encoder, with logvar = log σ²:

        KLₙ = −½ Σⱼ (1 + log σⱼ² − μⱼ² − σⱼ²)

    summed over the latent dims j (every axis but the first) and averaged over the batch n
    (reduction='batchmean'; 'sum' sums over the batch too, 'mean' averages over every element,
    'none' gives the per-element terms).  μ̄ = μ/N,  (log σ²)‾ = ½(σ² − 1)/N."""
    mu, logvar = _as_pred(mu, "gaussian_kl"), _as_pred(logvar, "gaussian_kl")
    _check_shapes("gaussian_kl", mu, logvar, names=("mu", "logvar"))
    terms = -0.5 * (1 + logvar - mu ** 2 - F.exp(logvar))
    return _reduce(terms, reduction, "gaussian_kl")


@drawn_as_one_box
def bernoulli_log_likelihood(logits, x, reduction="batchmean"):
    """log p(x | z) of a Bernoulli decoder with p = σ(logits), from the logits, in nats:

        log p(x | z) = Σᵢ xᵢ log pᵢ + (1 − xᵢ) log(1 − pᵢ) = Σᵢ xᵢ zᵢ − log(1 + e^{zᵢ})

    the negative of ``bce_with_logits`` (softplus, stable for any logit: a sigmoid followed by
    log would give log 0 = −∞ once σ saturates in float32). x may be any value in [0, 1] (grey
    MNIST pixels, as in the PyTorch VAE example). Default: summed over each example, averaged
    over the batch ('batchmean', nats per image); 'none' gives the per-pixel terms.
    logits̄ = ȳ (x − σ(logits))."""
    return _reduce(-bce_with_logits(logits, x, reduction="none"), reduction,
                   "bernoulli_log_likelihood")


@drawn_as_one_box
def gaussian_log_likelihood(mean, x, logvar=0.0, reduction="batchmean"):
    """log N(x; m, σ²) of a Gaussian decoder with mean m and log-variance ``logvar`` (a Tensor
    that broadcasts against m, e.g. one learned scalar, or a fixed number), in nats:

        log p(x | z) = −½ Σᵢ [ (xᵢ − mᵢ)² / σ² + log σ² + log 2π ]

    A density, not a probability: its value depends on the units of x and is not comparable
    with a Bernoulli log-likelihood. m̄ = ȳ (x − m)/σ²,  (log σ²)‾ = ½ ȳ ((x − m)²/σ² − 1)."""
    mean, x = _pair(mean, x, "gaussian_log_likelihood")
    if isinstance(logvar, Tensor):
        inv_var = F.exp(-logvar)
    else:
        inv_var, logvar = math.exp(-float(logvar)), float(logvar)
    terms = -0.5 * ((x - mean) ** 2 * inv_var + logvar + math.log(2 * math.pi))
    return _reduce(terms, reduction, "gaussian_log_likelihood")


@drawn_as_one_box
def l1_activity(h):
    """L1 sparsity penalty on hidden activations h (N, …): (1/N) Σₙ Σⱼ |hₙⱼ|,
    the sum over units averaged over the batch.  h̄ = sign(h)/N."""
    h = _as_pred(h, "l1_activity")
    return _reduce(F.abs(h), "batchmean", "l1_activity")


@drawn_as_one_box
def kl_sparsity(h, rho, eps=1e-7):
    """Sparsity penalty of a sparse autoencoder, for activations h ∈ (0, 1) of shape (N, …):

        ρ̂ⱼ = (1/N) Σₙ hₙⱼ         (each unit's mean activation over the batch)
        Σⱼ KL(ρ ‖ ρ̂ⱼ) = Σⱼ ρ log(ρ/ρ̂ⱼ) + (1 − ρ) log((1 − ρ)/(1 − ρ̂ⱼ))

    zero exactly when every ρ̂ⱼ = ρ.  ρ̂ is clamped to [eps, 1 − eps] so the logs stay finite."""
    h = _as_pred(h, "kl_sparsity")
    _check_unit_interval("kl_sparsity", "the activations h", h,
                         "use a sigmoid code layer (ρ̂ is a mean firing probability)", nan_ok=True)
    if not (isinstance(rho, numbers.Real) and 0 < rho < 1):
        raise ValueError(f"kl_sparsity: the target activation rho must be in (0, 1), got {rho!r}")
    if h.ndim < 1 or h.shape[0] == 0:
        raise ValueError(f"kl_sparsity: h must have a batch axis with examples, got shape {h.shape}")
    rho_hat = F.clip(h.mean(axis=0), eps, 1 - eps)
    # ρ log ρ + (1 − ρ) log(1 − ρ) is a constant; the rest depends on ρ̂.
    const = rho * math.log(rho) + (1 - rho) * math.log(1 - rho)
    return (const - rho * F.log(rho_hat) - (1 - rho) * F.log(1 - rho_hat)).sum()


# --- weight regularizer ----------------------------------------------------------------------
@drawn_as_one_box
def l2_penalty(params):
    """½ Σ_W ‖W‖² over the given tensors (usually the weights, not the biases).

    With the ½ its gradient is W itself, so adding λ · l2_penalty(weights) to the loss does what
    SGD's ``weight_decay=λ`` does."""
    params = list(params) if not isinstance(params, Tensor) else [params]
    if not params:
        raise ValueError("l2_penalty got no tensors: pass e.g. model.parameters() or a list of weights")
    total = None
    for w in params:
        w = _as_pred(w, "l2_penalty")
        term = (w ** 2).sum()
        total = term if total is None else total + term
    return 0.5 * total
