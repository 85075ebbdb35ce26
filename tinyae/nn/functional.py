"""PyTorch's ``torch.nn.functional``: every op of ``tinyae.functional`` plus the losses under
PyTorch's names, so that ``import tinyae.nn.functional as F`` reads as it does in PyTorch::

    F.relu(x), F.softmax(z, dim=1), F.mse_loss(x_hat, x), F.binary_cross_entropy(p, x),
    F.binary_cross_entropy_with_logits(z, x), F.cross_entropy(logits, labels, reduction="sum"),
    F.nll_loss(F.log_softmax(z, dim=1), labels), F.one_hot(labels, 10)

The losses are written in ``tinyae.losses`` (with their derivations); these are their aliases.
"""
from ..functional import *  # noqa: F401,F403  (the ops)
from ..losses import (mse as mse_loss, bce as binary_cross_entropy,  # noqa: F401
                      bce_with_logits as binary_cross_entropy_with_logits, cross_entropy,
                      nll_loss, one_hot)
