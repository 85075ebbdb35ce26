"""Saving arrays safely: .npz archives that load without pickle, written atomically."""
import os
import tempfile

import numpy


def save_npz_atomic(path, arrays):
    """Write ``arrays`` (name → NumPy array) to ``path`` as an .npz archive, atomically.

    The data goes to a temporary file in the same directory, is flushed to disk (fsync) and
    then renamed over ``path`` (``os.replace`` is atomic): a crash midway leaves the previous
    file intact and no temporary file behind. Only arrays are stored — strings as 0-d unicode
    arrays — so ``numpy.load(path, allow_pickle=False)`` reads it back. Returns ``path``."""
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise FileNotFoundError(f"cannot save to {path!r}: the directory {directory!r} does "
                                "not exist; create it first (os.makedirs)")
    fd, tmp = tempfile.mkstemp(prefix=os.path.basename(path) + ".", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "wb") as f:
            _write(f, arrays)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise
    return path


def _write(fileobj, arrays):
    """The writer (a separate function so tests can make it fail midway)."""
    numpy.savez(fileobj, **arrays)
