"""Grad mode, anomaly mode and gradcheck's strict mode: one copy per thread, as in PyTorch, so
``no_grad()`` in one thread (say, an evaluation thread) never switches recording off in another.
The engine (autograd.py) reads them on its hot path as attributes: ``_state.grad_enabled``."""
import contextlib
import threading


class _ThreadState(threading.local):
    """Grad mode and anomaly mode, one copy per thread as in PyTorch: ``no_grad()`` in one
    thread (say, an evaluation thread) never switches recording off in another. Read as
    attributes on the hot path (``_state.grad_enabled``); ``_state["anomaly"]`` works too."""
    def __init__(self):
        self.grad_enabled, self.anomaly, self.in_backward_of = True, False, None
        self.strict_signals = False  # gradcheck's mode: see strict_signals()

    def __getitem__(self, key):
        return getattr(self, key)

    def __setitem__(self, key, value):
        setattr(self, key, value)


_state = _ThreadState()

@contextlib.contextmanager
def no_grad():
    """Inside this block ops are computed but not recorded: no graph, no memory held."""
    previous = _state.grad_enabled
    _state.grad_enabled = False
    try:
        yield
    finally:
        _state.grad_enabled = previous


@contextlib.contextmanager
def enable_grad(enabled=True):
    previous = _state.grad_enabled
    _state.grad_enabled = enabled
    try:
        yield
    finally:
        _state.grad_enabled = previous


def is_grad_enabled():
    return _state.grad_enabled


@contextlib.contextmanager
def detect_anomaly():
    """Check every op's output (forward) and error signals (backward) for NaN/Inf and raise,
    naming the first op that produced one. Slower; use it while hunting a NaN loss."""
    previous = _state.anomaly
    _state.anomaly = True
    try:
        yield
    finally:
        _state.anomaly = previous


@contextlib.contextmanager
def strict_signals():
    """What gradcheck checks under: a backward that returns None for an input needing an error
    signal, or an x̄ whose dtype is not its input's, is a SignalError instead of being read as
    zero or cast (what a training run does, as PyTorch does)."""
    previous = _state.strict_signals
    _state.strict_signals = True
    try:
        yield
    finally:
        _state.strict_signals = previous
