"""PyTorch's keyword names beside NumPy's, so that ``x.sum(dim=1, keepdim=True)`` and
``x.sum(axis=1, keepdims=True)`` are the same call."""
import functools


def dim_names(fn):
    """Let ``fn(..., axis=, keepdims=)`` also be called with ``dim=`` and ``keepdim=``."""
    @functools.wraps(fn)
    def wrapper(*args, dim=None, keepdim=None, **kwargs):
        if dim is not None:
            if kwargs.get("axis") is not None:
                raise TypeError(f"{fn.__name__}: give dim= (PyTorch) or axis= (NumPy), not both")
            kwargs["axis"] = tuple(dim) if isinstance(dim, list) else dim
        if keepdim is not None:
            kwargs["keepdims"] = keepdim
        return fn(*args, **kwargs)
    return wrapper
