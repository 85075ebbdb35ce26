"""What a backward may return as the error signal x̄ of an input, beyond the usual case the
engine checks inline (a Tensor of the input's shape and dtype, see autograd._check_signal):
another dtype is cast, an x̄ in the output's shape is summed back to a broadcast input's
(``unbroadcast``, the one place broadcasting is undone), None stands for zero, and anything
else is a SignalError that names the op and the input. (No Tensor is made here: this module
imports nothing of the engine, which imports it.)"""
from .grad_mode import _state


class SignalError(RuntimeError):
    """A backward returned something that is not a valid error signal for its input."""


def refuse_signal(fn, i, x, xbar):
    """An error signal that is not a Tensor nor an array: None stands for zero (except under
    ``strict_signals()``); anything else is a SignalError."""
    if xbar is None:
        if _state.strict_signals:
            raise SignalError(f"{type(fn).__name__}.backward returned None as the error signal "
                              f"of input {i} (shape {x.shape}), which needs one: return x̄ = ȳ ∂y/∂x "
                              "for every input that requires grad")
        return None
    raise SignalError(f"{type(fn).__name__}.backward returned a {type(xbar).__name__} as "
                      f"the error signal of input {i}; return a Tensor (or None)")


def mend_signal(fn, i, x, xbar):
    """An error signal (a Tensor) not of x's shape and dtype: another dtype is cast to x's, a
    broadcast shape is summed back to x's (``unbroadcast``); a wrong shape is a SignalError."""
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
    return unbroadcast(xbar, shape)


def unbroadcast(xbar, shape):
    """Sum an error signal back to the shape of the input that was broadcast.

    The one place broadcasting is undone: if x of shape (3, 1) was broadcast to (5, 3, 4),
    x̄ is ȳ summed over the new leading axis and over the stretched axis."""
    if xbar.shape == shape:
        return xbar
    lead = xbar.ndim - len(shape)
    axes = tuple(range(lead)) + tuple(
        lead + i for i, n in enumerate(shape) if n == 1 and xbar.shape[lead + i] != 1)
    if axes:
        xbar = xbar.sum(axis=axes, keepdims=True)
    return xbar.reshape(shape)
