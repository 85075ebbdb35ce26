"""Losses as Modules, PyTorch's way: ``criterion = nn.MSELoss(); loss = criterion(x_hat, x)``.

Each one calls the function of ``tinyae.losses`` that it names, with its ``reduction``
('mean' by default; 'sum', 'none', and tinyae's 'batchmean' = sum per example, mean over the
batch). The formulas and their derivatives are in tinyae/losses.py.
"""
from .. import losses
from .module import Module


class _Loss(Module):
    def __init__(self, reduction="mean"):
        super().__init__()
        if reduction not in losses.REDUCTIONS:
            raise ValueError(f"{type(self).__name__}: unknown reduction {reduction!r}; choose one "
                             f"of {losses.REDUCTIONS}")
        self.reduction = reduction

    def forward(self, input, target):
        return self.loss(input, target, reduction=self.reduction)

    def extra_repr(self):
        return "" if self.reduction == "mean" else f"reduction={self.reduction!r}"


class MSELoss(_Loss):
    """(ŷ − y)², losses.mse"""
    loss = staticmethod(losses.mse)


class BCELoss(_Loss):
    """−[y log p + (1 − y) log(1 − p)] of probabilities p, losses.bce"""
    loss = staticmethod(losses.bce)


class BCEWithLogitsLoss(_Loss):
    """the same from logits z (p = σ(z)), stable for any z, losses.bce_with_logits"""
    loss = staticmethod(losses.bce_with_logits)


class CrossEntropyLoss(_Loss):
    """−log softmax(z)_c of logits z (N, C) and integer labels c (N,), losses.cross_entropy"""
    loss = staticmethod(losses.cross_entropy)
