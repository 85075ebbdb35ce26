"""Saving arrays safely: .npz archives that load without pickle, written atomically."""
import json
import os
import tempfile

import numpy

from . import backend


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


def save_tree(path, tree):
    """Save nested dicts/lists of arrays, numbers, strings and None (a checkpoint) to one .npz:
    every array is an entry named by its path in the tree (``state/model/0.weight``), the rest
    is JSON in the 0-d string entry 'tree.json'. Atomic, and loads without pickle."""
    arrays = {}
    arrays["tree.json"] = numpy.array(json.dumps(_pack(tree, arrays, "")))
    return save_npz_atomic(path, arrays)


def load_tree(path):
    """The tree written by ``save_tree``, with NumPy arrays in place."""
    with numpy.load(os.fspath(path), allow_pickle=False) as archive:
        return _unpack(json.loads(str(archive["tree.json"][()])), archive)


def _pack(obj, arrays, key):
    """Arrays go to ``arrays`` under their path; everything else stays as JSON."""
    if backend.is_array(obj):
        arrays[key] = backend.to_numpy(obj)
        return {"__array__": key}
    if isinstance(obj, numpy.generic):
        return obj.item()
    if isinstance(obj, dict):
        return {str(k): _pack(v, arrays, f"{key}/{k}" if key else str(k)) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_pack(v, arrays, f"{key}/{i}" if key else str(i)) for i, v in enumerate(obj)]
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    raise TypeError(f"cannot store a {type(obj).__name__} at {key!r} in a checkpoint")


def _unpack(obj, archive):
    if isinstance(obj, dict):
        if set(obj) == {"__array__"}:
            return archive[obj["__array__"]]
        return {k: _unpack(v, archive) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_unpack(v, archive) for v in obj]
    return obj
