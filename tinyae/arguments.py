"""The argument checks that layers, ops, data and training share, so each mistake gets one message:

    positive_int(5, "epochs")                          -> 5
    pair(3, "kernel_size", "conv2d", minimum=1)        -> (3, 3)
    axis_index(-1, 3, "softmax")                       -> 2

This module imports nothing from tinyae but tinyae.generator, so any file may use it.
"""
import argparse
import numbers
import os
from pathlib import Path

import numpy


def is_int(value):
    """An integer (Python or NumPy), but not a bool."""
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def positive_int(value, what, where=None):
    """``value`` as an int ≥ 1, or ValueError '[where: ]what must be a positive integer, got …'."""
    if not is_int(value) or value < 1:
        prefix = f"{where}: " if where else ""
        raise ValueError(f"{prefix}{what} must be a positive integer, got {value!r}")
    return int(value)


def finite_number(value, what, where, minimum=None, positive=False):
    """``value`` as a float that is finite (and ≥ ``minimum``, or > 0 with ``positive``), or
    ValueError '[where: ]what must be …, got …'. Hyper-parameters such as β, σ, a penalty weight."""
    ok = isinstance(value, numbers.Real) and not isinstance(value, bool) and \
        numpy.isfinite(float(value))
    ok = ok and (minimum is None or value >= minimum) and (not positive or value > 0)
    if not ok:
        bound = " > 0" if positive else (f" ≥ {minimum:g}" if minimum is not None else "")
        prefix = f"{where}: " if where else ""
        raise ValueError(f"{prefix}{what} must be a finite number{bound}, got {value!r}")
    return float(value)


def pair(value, what, where, minimum=0):
    """An int or a pair of ints, each ≥ ``minimum``, as a pair: 3 → (3, 3), (3, 5) → (3, 5).
    Kernel sizes, strides, paddings and scale factors of the 2-D ops and layers."""
    values = tuple(value) if hasattr(value, "__len__") and not isinstance(value, str) else (value, value)
    if len(values) != 2 or not all(is_int(v) and v >= minimum for v in values):
        raise ValueError(f"{where}: {what} must be an int ≥ {minimum} or a pair of them, "
                         f"got {value!r}")
    return tuple(int(v) for v in values)


def axis_index(axis, ndim, where="this op"):
    """``axis`` as an index in range(ndim), counting from the end when negative, as PyTorch
    does: −1 is the last axis. IndexError naming the valid range otherwise (never wraps around,
    so transpose(0, 5) on a matrix is an error, not the transpose)."""
    if not is_int(axis):
        raise TypeError(f"{where}: an axis (dim) must be an int, got {axis!r}")
    if not -ndim <= axis < ndim:
        raise IndexError(f"{where}: dim {axis} is out of range (expected {-ndim} to {ndim - 1})")
    return int(axis) % ndim


# The random generator lives in tinyae/generator.py; these names stay importable from here.
from .generator import as_generator, default_generator, manual_seed  # noqa: E402,F401


# --- command-line flags (the CLI and the lessons) --------------------------------------------
def positive(kind):
    """An argparse type: a positive finite int or float, else a one-line usage error (exit 2),
    e.g. ``type=positive(int)``."""
    def parse(text):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a positive {kind.__name__}, got {text!r}") from None
        if not 0 < value < float("inf"):
            raise argparse.ArgumentTypeError(f"must be positive and finite, got {text}")
        return value
    parse.__name__ = f"positive {kind.__name__}"
    return parse


def seed_flag(text):
    """An argparse type for a random seed: a whole number, 0 or more."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {text}")
    return value


def writable_folder(path):
    """``path`` as a Path, created if needed and checked by writing a file in it, so a run
    fails before any work rather than when it first saves. OSError saying why otherwise."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise NotADirectoryError(f"{path} is a file, not a folder")
    path.mkdir(parents=True, exist_ok=True)
    probe = path / f".tinyae-write-test-{os.getpid()}"
    probe.write_bytes(b"")
    probe.unlink()
    return path
