"""What a backward may return as the error signal x̄ of an input, beyond the usual case the
engine checks inline (a Tensor of the input's shape and dtype, see autograd._check_signal):
here an array becomes a Tensor, a broadcast shape is kept, another dtype is cast, and anything
else is a SignalError that names the op and the input."""
from . import backend
from .grad_mode import _state
from .tensor import Tensor


class SignalError(RuntimeError):
    """A backward returned something that is not a valid error signal for its input."""


def mend_signal(fn, i, x, xbar):
    """An error signal that is not a Tensor of x's shape and dtype: an array becomes a Tensor,
    a broadcast shape is kept (the walk sums it back), another dtype is cast to x's; a wrong
    shape or type is a SignalError. None stands for zero, except under ``strict_signals()``."""
    if xbar is None:
        if _state.strict_signals:
            raise SignalError(f"{type(fn).__name__}.backward returned None as the error signal "
                              f"of input {i} (shape {x.shape}), which needs one: return x̄ = ȳ ∂y/∂x "
                              "for every input that requires grad")
        return None
    if not isinstance(xbar, Tensor):
        if not backend.is_array(xbar):
            raise SignalError(f"{type(fn).__name__}.backward returned a {type(xbar).__name__} as "
                              f"the error signal of input {i}; return a Tensor (or None)")
        xbar = Tensor(xbar, copy=False)
    shape, got = tuple(x.shape), tuple(xbar.shape)
    lead = len(got) - len(shape)
    if got != shape and (lead < 0 or any(n != m and n != 1 for n, m in zip(shape, got[lead:]))):
        raise SignalError(
            f"{type(fn).__name__}.backward returned an error signal of shape {got} for input {i}, "
            f"which has shape {shape}: x̄ must have x's shape (or a shape that broadcasting "
            "sums back to it)")
    if xbar.dtype != x.dtype:
        if _state.strict_signals:
            raise SignalError(f"{type(fn).__name__}.backward returned an error signal of dtype "
                              f"{xbar.dtype} for input {i}, which has dtype {x.dtype}: compute x̄ "
                              "in the input's dtype (an op that casts loses the check's precision)")
        # x̄ has x's dtype, as in PyTorch: a float32 weight met by a float64 array (or a user
        # backward computing in float64) must not get a float64 .grad.
        xbar = xbar.astype(x.dtype)  # the op AsType (installed by tinyae.functional)
    return xbar
