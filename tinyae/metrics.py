"""Evaluation metrics for image outputs: segmentation (pixel accuracy, IoU) and restoration (PSNR).

They take arrays or Tensors (NumPy or CuPy), are not differentiated, and return Python floats or
small NumPy arrays. Segmentation metrics take integer label maps, or scores (logits or
probabilities) with the classes on axis 1, which are turned into labels by argmax:

    pred    (N, H, W) integer labels, or (N, C, H, W) scores
    target  (N, H, W) integer labels in [0, C)

    confusion[t, p]  = number of pixels of true class t predicted as p
    pixel accuracy   = Σₜ confusion[t, t] / Σ confusion            (fraction of pixels right)
    IoU of class c   = |pred = c ∧ target = c| / |pred = c ∨ target = c|
                     = confusion[c, c] / (row c + column c − confusion[c, c])
    mean IoU         = the mean of the classes' IoUs, over the classes that occur in pred or
                       target (a class absent from both has IoU 0/0: NaN, left out)

    PSNR = 10 log₁₀(peak² / MSE) dB, the MSE over the pixels where ``mask`` is True (all pixels
           when mask is None); +inf when they agree exactly.
"""
import math

import numpy  # only for the small (C, C) confusion matrix, always on the host

from . import backend
from .tensor import Tensor


def _raw(a):
    a = a.data if isinstance(a, Tensor) else a
    return a if backend.is_array(a) else numpy.asarray(a)   # lists keep their int dtype


def _labels(pred, target):
    pred, target = _raw(pred), _raw(target)
    xp = backend.get_array_module(target)
    if pred.ndim == target.ndim + 1:            # scores with the classes on axis 1
        pred = xp.argmax(pred, axis=1)
    if pred.shape != target.shape:
        raise ValueError(f"pred has shape {pred.shape} but target has shape {target.shape}: pass "
                         "labels of the target's shape, or scores (N, C, …) with classes on axis 1")
    for name, a in (("pred", pred), ("target", target)):
        if a.dtype.kind not in "iu":
            raise TypeError(f"{name} labels must be integers, got dtype {a.dtype}")
    return pred, target


def confusion_matrix(pred, target, num_classes):
    """(C, C) int64 NumPy array; entry [t, p] counts the pixels of true class t predicted p."""
    pred, target = _labels(pred, target)
    xp = backend.get_array_module(target)
    for name, a in (("pred", pred), ("target", target)):
        if a.size and (int(a.min()) < 0 or int(a.max()) >= num_classes):
            raise ValueError(f"{name} labels must lie in [0, {num_classes}), got values from "
                             f"{int(a.min())} to {int(a.max())}")
    flat = target.ravel().astype(xp.int64) * num_classes + pred.ravel().astype(xp.int64)
    counts = xp.bincount(flat, minlength=num_classes * num_classes)
    return backend.to_numpy(counts).reshape(num_classes, num_classes).astype(numpy.int64)


def pixel_accuracy(pred, target):
    """The fraction of pixels whose predicted label equals the true one."""
    pred, target = _labels(pred, target)
    if target.size == 0:
        raise ValueError("pixel_accuracy of an empty set of pixels")
    return float((pred == target).sum()) / target.size


def iou(pred, target, num_classes):
    """Per-class intersection over union, a float64 NumPy array of length C (NaN for a class
    that is neither predicted nor present)."""
    cm = confusion_matrix(pred, target, num_classes)
    inter = cm.diagonal().astype(numpy.float64)
    union = cm.sum(axis=0) + cm.sum(axis=1) - cm.diagonal()
    with numpy.errstate(invalid="ignore", divide="ignore"):
        return inter / union


def mean_iou(pred, target, num_classes):
    """The mean of the per-class IoUs over the classes present in pred or target."""
    per_class = [v for v in iou(pred, target, num_classes).tolist() if not math.isnan(v)]
    return sum(per_class) / len(per_class) if per_class else float("nan")


def psnr(pred, target, mask=None, peak=1.0):
    """Peak signal-to-noise ratio in dB, over the pixels where ``mask`` is True (default: all).

    ``mask`` is a bool array broadcastable to the images' shape (e.g. the hole of an inpainting
    task); the MSE is the mean over those pixels, counted once per image element."""
    pred, target = _raw(pred), _raw(target)
    if pred.shape != target.shape:
        raise ValueError(f"psnr: pred has shape {pred.shape} but target has shape {target.shape}")
    xp = backend.get_array_module(target)
    sq = (pred.astype(xp.float64) - target.astype(xp.float64)) ** 2
    if mask is not None:
        mask = xp.broadcast_to(xp.asarray(_raw(mask), dtype=bool), sq.shape)
        count = int(mask.sum())
        if count == 0:
            raise ValueError("psnr: the mask selects no pixel")
        mse = float((sq * mask).sum()) / count
    else:
        mse = float(sq.mean())
    return float("inf") if mse == 0 else 10 * math.log10(peak * peak / mse)


def boundary_mask(labels, width=1):
    """A bool array of ``labels``' shape (N, H, W): True at pixels within ``width`` pixels
    (Chebyshev distance) of a pixel with another label — the band along every boundary where
    a coarse segmentation goes wrong first. Pixel accuracy on this band measures edge accuracy."""
    labels = _raw(labels)
    xp = backend.get_array_module(labels)
    if labels.ndim != 3:
        raise ValueError(f"boundary_mask expects labels (N, H, W), got shape {labels.shape}")
    edge = xp.zeros(labels.shape, dtype=bool)
    # neighbours that differ, right and down; each such pair marks both of its pixels
    right = labels[:, :, 1:] != labels[:, :, :-1]
    down = labels[:, 1:, :] != labels[:, :-1, :]
    edge[:, :, 1:] |= right
    edge[:, :, :-1] |= right
    edge[:, 1:, :] |= down
    edge[:, :-1, :] |= down
    band = edge
    for _ in range(width - 1):          # grow the band by one pixel (3×3 neighbourhood) each time
        grown = band.copy()
        grown[:, 1:, :] |= band[:, :-1, :]
        grown[:, :-1, :] |= band[:, 1:, :]
        grown[:, :, 1:] |= grown[:, :, :-1].copy()
        grown[:, :, :-1] |= grown[:, :, 1:].copy()
        band = grown
    return band
