"""Keep freed memory for the next step instead of handing it back to the system (glibc only).

A training step allocates the same large arrays every time: im2col's columns, the activations,
their error signals. glibc's malloc serves each array above a threshold with a fresh ``mmap``
and returns it to the system on ``free``, so every step touches new pages and the kernel faults
each one in (zeroed) again. On the examples' MNIST CNN (batch 64, one thread) that was 10,745
page faults and 32 ms of kernel time per step, a quarter of the step. With mmap off and the
heap trimmed only above 512 MB, freed arrays are reused from the heap: 1 fault and 0.3 ms of
kernel time per step, the peak memory 9% higher (202 → 220 MB). PyTorch's CPU allocator keeps
memory for the same reason. ``TINYAE_MALLOC=system`` keeps glibc's defaults.
"""
import ctypes
import ctypes.util
import os
import sys

_M_TRIM_THRESHOLD, _M_MMAP_MAX = -1, -4  # mallopt's parameter numbers (malloc.h)
TRIM_THRESHOLD = 512 * 2 ** 20


def _glibc(function):
    """glibc's ``function`` (mallopt, malloc_trim), or None off Linux or without glibc (musl
    has neither: nothing to tune)."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        return getattr(ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6"), function)
    except (OSError, AttributeError):
        return None


def keep_freed_memory():
    """Ask glibc's malloc to reuse freed memory (see the module's docstring); True if it did."""
    mallopt = _glibc("mallopt")
    if os.environ.get("TINYAE_MALLOC") == "system" or mallopt is None:
        return False
    return bool(mallopt(_M_MMAP_MAX, 0)) and bool(mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD))


def return_freed_memory():
    """Hand the heap's free memory back to the system now (malloc_trim): what a measurement
    of peak memory does first, so that memory freed earlier is not reused by what it measures
    unseen (benchmarks/run.py's PeakMemory)."""
    trim = _glibc("malloc_trim")
    if trim is not None:
        trim(0)
