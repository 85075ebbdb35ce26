"""Saving arrays safely: .npz archives that load without pickle, written atomically."""
import json
import os
import tempfile
import zipfile
from pathlib import Path

import numpy

from . import backend
from .tensor import Tensor

SAVE_FORMAT = "tinyae-save-1"


def save_npz_atomic(path, arrays):
    """Write ``arrays`` (name → NumPy array) to ``path`` as an .npz archive, atomically.

    The data goes to a temporary file ``NAME.PID.XXXXXXXX.tmp`` in the same directory, is
    flushed to disk (fsync) and then renamed over ``path`` (``os.replace`` is atomic). An
    exception midway removes the temporary file and leaves the previous file intact. A process
    killed midway (kill -9, power loss) cannot clean up: the previous file is still intact, and
    its temporary file stays until the next save of the same ``path`` removes it (temporary
    files of a writer that is still running are left alone). Only arrays are stored — strings
    as 0-d unicode arrays — so ``numpy.load(path, allow_pickle=False)`` reads it back.
    Returns ``path``."""
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise FileNotFoundError(f"cannot save to {path!r}: the directory {directory!r} does "
                                "not exist; create it first (os.makedirs)")
    if os.path.isdir(path):
        raise IsADirectoryError(f"cannot save to {path!r}: it is a directory; give a file name "
                                "such as model.npz")
    remove_stale_temporaries(path)
    fd, tmp = tempfile.mkstemp(prefix=f"{os.path.basename(path)}.{os.getpid()}.", suffix=".tmp",
                               dir=directory)
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


def replace_atomically(path, write):
    """Call ``write(temporary)`` for a fresh path beside ``path`` (ending in path's suffix, so a
    writer that picks the format from it still can), then rename it over ``path`` (atomic on the
    same file system): a full disk, an exception or an interrupt leaves the previous file, or
    none, never half of one. Figures, run records and exercise sheets are written this way."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=f".partial{path.suffix}",
                               dir=path.parent)
    os.close(fd)
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    return path


def remove_stale_temporaries(path, suffix=".tmp"):
    """Remove the temporary files (``NAME.PID.XXXXXXXX.tmp``) that killed saves of ``path`` left
    behind; returns their names. One whose writer (the process PID) still runs is kept."""
    directory, name = os.path.split(os.path.abspath(os.fspath(path)))
    removed = []
    for entry in os.listdir(directory):
        if not (entry.startswith(name + ".") and entry.endswith(suffix)):
            continue
        parts = entry[len(name) + 1:-len(suffix)].split(".")
        if len(parts) == 2 and parts[0].isdigit() and _running(int(parts[0])):
            continue
        if len(parts) > 2:
            continue  # the temporary file of another target (e.g. "model.npz.bak.….tmp")
        try:
            os.remove(os.path.join(directory, entry))
            removed.append(entry)
        except FileNotFoundError:
            pass  # another saver removed it first
    return removed


def _running(pid):
    if pid == os.getpid():
        return True  # perhaps another thread of ours, saving right now
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's live process
    return True


def _write(fileobj, arrays):
    """The writer (a separate function so tests can make it fail midway): the .npz format of
    ``numpy.savez``, written entry by entry, so that any name is stored as given (savez's own
    keywords would swallow an array named 'allow_pickle' or reject one named 'file') and an
    array that would need pickle fails now, not when it is loaded."""
    with zipfile.ZipFile(fileobj, "w", zipfile.ZIP_STORED, allowZip64=True) as archive:
        for name, array in arrays.items():
            with archive.open(f"{name}.npy", "w", force_zip64=True) as entry:
                numpy.lib.format.write_array(entry, numpy.asanyarray(array), allow_pickle=False)


def save_tree(path, tree):
    """Save nested dicts/lists of arrays, numbers, strings and None (a checkpoint) to one .npz:
    every array is an entry named by its path in the tree (``state/model/0.weight``), the rest
    is JSON in the 0-d string entry 'tree.json'. Atomic, and loads without pickle."""
    arrays = {}
    packed = _pack(tree, arrays, "")
    if "tree.json" in arrays:
        raise ValueError("cannot store an array under the key 'tree.json' at the top of a "
                         "checkpoint: that name holds the tree itself; rename the key")
    arrays["tree.json"] = numpy.array(json.dumps(packed))
    return save_npz_atomic(path, arrays)


def load_tree(path):
    """The tree written by ``save_tree``, with NumPy arrays in place."""
    with numpy.load(os.fspath(path), allow_pickle=False) as archive:
        if "tree.json" not in getattr(archive, "files", ()):
            raise ValueError(f"{os.fspath(path)!r} is not a checkpoint (it has no 'tree.json'): "
                             "a file of named arrays is a model saved by Module.save; read it "
                             "with model.load(path)")
        return _unpack(json.loads(str(archive["tree.json"][()])), archive)


def _pack(obj, arrays, key):
    """Arrays go to ``arrays`` under their path; everything else stays as JSON."""
    if isinstance(obj, Tensor):  # loads back as a Tensor (its data only: no graph, no grad)
        arrays[key] = backend.to_numpy(obj.data)
        return {"__tensor__": key}
    if backend.is_array(obj):
        arrays[key] = backend.to_numpy(obj)
        return {"__array__": key}
    if isinstance(obj, numpy.generic):
        return obj.item()
    if isinstance(obj, dict):
        out, int_keys = {}, []
        for k, v in obj.items():
            name = str(k)
            if isinstance(k, int) and not isinstance(k, bool):
                int_keys.append(name)  # so that {1: x} loads back as {1: x}, not {'1': x}
            if not isinstance(k, (str, int)) or isinstance(k, bool) or "/" in name or \
                    name in out or name == _INT_KEYS:
                raise ValueError(
                    f"cannot store the key {k!r} in {key or 'the checkpoint'!r}: keys must be "
                    "strings or integers without '/' ('/' separates the levels of the tree, so "
                    "{'a/b': x, 'a': {'b': y}} would load back y for both) and distinct as "
                    f"strings (1 and '1' collide), not bools, nor {_INT_KEYS!r}; rename it")
            out[name] = _pack(v, arrays, f"{key}/{name}" if key else name)
        if int_keys:
            out[_INT_KEYS] = int_keys
        return out
    if isinstance(obj, (list, tuple)):
        return [_pack(v, arrays, f"{key}/{i}" if key else str(i)) for i, v in enumerate(obj)]
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    raise TypeError(f"cannot store a {type(obj).__name__} at {key!r} in a checkpoint")


_INT_KEYS = "__int_keys__"  # which keys of a dict were ints (JSON keys are strings)


def _unpack(obj, archive):
    if isinstance(obj, dict):
        if set(obj) == {"__array__"}:
            return archive[obj["__array__"]]
        if set(obj) == {"__tensor__"}:
            return Tensor(archive[obj["__tensor__"]], copy=False)
        int_keys = set(obj.get(_INT_KEYS, ()))
        return {int(k) if k in int_keys else k: _unpack(v, archive)
                for k, v in obj.items() if k != _INT_KEYS}
    if isinstance(obj, list):
        return [_unpack(v, archive) for v in obj]
    return obj


# --- PyTorch's torch.save / torch.load, on the same safe format ----------------------------------
def save(obj, path):
    """Save a state_dict (or any nested dict/list of Tensors, arrays, numbers and strings), as
    ``torch.save(model.state_dict(), path)`` does: one .npz archive, written atomically, that
    ``load`` reads back without pickle (Tensors come back as Tensors, arrays as arrays).
    Objects (a model, an optimizer) are refused: save their ``state_dict()``."""
    if not isinstance(obj, (dict, list, tuple)):
        raise TypeError(f"tinyae.save stores a state_dict (a dict of tensors), not a "
                        f"{type(obj).__name__}: write tinyae.save(model.state_dict(), path) and "
                        "model.load_state_dict(tinyae.load(path)); tinyae never pickles objects, "
                        "which could run code when loaded")
    return save_tree(path, {"format": SAVE_FORMAT, "saved": obj})


def load(path, map_location=None, weights_only=True):
    """What ``save`` stored; a model file of ``Module.save`` (named arrays) loads as its
    state_dict of Tensors. Pickles are refused (loading one can run code), and a truncated or
    damaged file is a ValueError saying so; nothing is half-loaded.

    PyTorch's keywords are accepted as a port writes them: ``weights_only=True`` is what this
    load always does (only arrays, numbers and strings); ``map_location`` may name the CPU (the
    tensors load on the host; move a model with ``model.to(device)``)."""
    if not weights_only:
        raise ValueError("tinyae.load(..., weights_only=False) would mean unpickling objects, "
                         "which tinyae never does (a pickle can run code): save a state_dict "
                         "with tinyae.save and load it with tinyae.load(path)")
    if map_location is not None and str(map_location).split(":")[0] not in ("cpu", "numpy"):
        raise ValueError(f"tinyae.load(map_location={map_location!r}): tensors load on the CPU; "
                         "load, then move the model with model.to(device)")
    path = os.fspath(path)
    try:
        with numpy.load(path, allow_pickle=False) as archive:
            files = getattr(archive, "files", None)
            if files is None:
                raise ValueError("it holds a single array, not a saved state")
            if "tree.json" not in files:  # Module.save: a flat state_dict
                return {k: Tensor(archive[k], copy=False) for k in files}
            tree = _unpack(json.loads(str(archive["tree.json"][()])), archive)
    except FileNotFoundError:
        raise
    except ValueError as err:
        if "pickle" in str(err):
            raise ValueError(f"cannot load {path!r}: it is a pickle (torch.save's format?), and "
                             "tinyae never unpickles, since loading a pickle can run code; save "
                             "the state_dict again with tinyae.save") from None
        raise ValueError(f"cannot load {path!r}: {err}") from None
    except (OSError, EOFError, zipfile.BadZipFile, KeyError, json.JSONDecodeError) as err:
        raise ValueError(f"cannot load {path!r}: the file is damaged or truncated "
                         f"({type(err).__name__}: {err})") from None
    if not isinstance(tree, dict) or tree.get("format") != SAVE_FORMAT:
        raise ValueError(f"cannot load {path!r} with tinyae.load: it is a training checkpoint; "
                         "read it with tinyae.train.load_checkpoint(path)")
    return tree["saved"]
