"""PyTorch's ``torch.nn.utils`` spelling of what tinyae keeps in ``tinyae.optim``:
``nn.utils.clip_grad_norm_(model.parameters(), 1.0)``."""
from ..optim import clip_grad_norm_  # noqa: F401
