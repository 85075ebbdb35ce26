"""MNIST and Fashion-MNIST: find the IDX files, download them if asked, or use the embedded subset.

Where the files are looked for, in this order (the first directory holding both files of the
requested split wins; files from different places are never mixed):

1. the ``root`` argument, if given,
2. the directory named by the ``TINYAE_DATA`` environment variable,
3. the user cache, ``$XDG_CACHE_HOME/tinyae`` or ``~/.cache/tinyae`` (downloads go here).

Inside each of these, both ``<dir>/mnist/<file>`` and ``<dir>/<file>`` are accepted
(Fashion-MNIST: ``<dir>/fashion-mnist/``, ``<dir>/fashion_mnist/`` or ``<dir>/``), and each
file may be gzipped (``train-images-idx3-ubyte.gz``) or not (``train-images-idx3-ubyte``).

Images come back as float32 in [0, 1] (pixel / 255), shape ``(N, 784)`` for MLPs, or
``(N, 1, 28, 28)`` (NCHW) with ``flatten=False`` for conv nets. Labels are uint8 ``(N,)``.
"""
import functools
import hashlib
import os
import tempfile
import urllib.request
import zipfile

import numpy

from tinyae.data.idx import read_idx
from tinyae.io import remove_stale_temporaries

_FILES = {
    "train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
    "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
}

_DATASETS = {
    "mnist": dict(
        title="MNIST", subdirs=("mnist",),
        mirrors=("https://ossci-datasets.s3.amazonaws.com/mnist/",
                 "https://storage.googleapis.com/cvdf-datasets/mnist/"),
        md5={"train-images-idx3-ubyte.gz": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
             "train-labels-idx1-ubyte.gz": "d53e105ee54ea40749a09fcbcd1e9432",
             "t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
             "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c"}),
    "fashion-mnist": dict(
        title="Fashion-MNIST", subdirs=("fashion-mnist", "fashion_mnist"),
        mirrors=("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",),
        md5={"train-images-idx3-ubyte.gz": "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
             "train-labels-idx1-ubyte.gz": "25c81989df183df01b3e8a0aad5dffbe",
             "t10k-images-idx3-ubyte.gz": "bef4ecab320f06d8554ea6380940ec79",
             "t10k-labels-idx1-ubyte.gz": "bb300cfdad3c16e7a12a480ee83cd310"}),
}

_SUBSET_PATH = os.path.join(os.path.dirname(__file__), "mnist_subset.npz")
_DOWNLOAD_TIMEOUT_S = 30


# ---------------------------------------------------------------- where the files are

def cache_dir():
    """The user cache directory tinyae downloads into: $XDG_CACHE_HOME/tinyae or ~/.cache/tinyae."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "tinyae")


def _search_dirs(dataset, root):
    """Every directory looked in, in lookup order, without duplicates."""
    bases = [root, os.environ.get("TINYAE_DATA") or None, cache_dir()]
    dirs = []
    for base in bases:
        if base is None:
            continue
        base = os.path.abspath(os.path.expanduser(os.fspath(base)))
        for d in [os.path.join(base, s) for s in _DATASETS[dataset]["subdirs"]] + [base]:
            if d not in dirs:
                dirs.append(d)
    return dirs


def _find_in(directory, name):
    """The path of ``name`` (or its un-gzipped twin) in ``directory``, or None."""
    for candidate in (name, name[:-3]):
        p = os.path.join(directory, candidate)
        if os.path.isfile(p):
            return p
    return None


def _locate(dataset, split, root):
    """(images_path, labels_path) of the first directory holding both, or None."""
    for d in _search_dirs(dataset, root):
        paths = [_find_in(d, name) for name in _FILES[split]]
        if all(paths):
            return tuple(paths)
    return None


def _not_found_message(dataset, split, root, download_error=None):
    info = _DATASETS[dataset]
    looked = "\n".join(f"    {d}" for d in _search_dirs(dataset, root))
    env = os.environ.get("TINYAE_DATA")
    env_note = f"TINYAE_DATA={env}" if env else "TINYAE_DATA is not set"
    files = ", ".join(_FILES["train"] + _FILES["test"])
    target = os.path.join(cache_dir(), info["subdirs"][0])
    msg = (f"{info['title']} {split} files not found. Looked in ({env_note}):\n{looked}\n"
           f"Put the four files {files} in {target}/ , "
           f"or in DIR/{info['subdirs'][0]}/ and set the environment variable TINYAE_DATA=DIR, "
           f"or pass root=DIR. They can be downloaded from {info['mirrors'][0]}")
    if download_error is not None:
        msg += f"\nThe automatic download failed: {download_error}"
    elif dataset == "mnist":
        msg += "\n(or pass download=True, or fallback='embedded' to use the built-in subset)"
    return msg


# ---------------------------------------------------------------- downloading

def _download_file(dataset, name, directory):
    """Download one file into ``directory``, verifying its md5; returns its path.

    The bytes go to a temporary file in the same directory and are renamed into place only
    after the checksum matches, so an interrupted download never leaves a half file behind
    under the real name.
    """
    from tqdm import tqdm   # imported here so loading from disk never needs it

    info = _DATASETS[dataset]
    os.makedirs(directory, exist_ok=True)
    errors = []
    for mirror in info["mirrors"]:
        url = mirror + name
        remove_stale_temporaries(os.path.join(directory, name), suffix=".part")  # killed downloads
        fd, tmp = tempfile.mkstemp(prefix=f"{name}.{os.getpid()}.", suffix=".part", dir=directory)
        try:
            md5 = hashlib.md5()
            with os.fdopen(fd, "wb") as out, \
                    urllib.request.urlopen(url, timeout=_DOWNLOAD_TIMEOUT_S) as resp:
                total = int(resp.headers.get("Content-Length") or 0) or None
                with tqdm(total=total, unit="B", unit_scale=True, desc=name) as bar:
                    while chunk := resp.read(1 << 16):
                        out.write(chunk)
                        md5.update(chunk)
                        bar.update(len(chunk))
            if md5.hexdigest() != info["md5"][name]:
                raise ValueError(f"md5 {md5.hexdigest()} does not match the expected "
                                 f"{info['md5'][name]}")
            final = os.path.join(directory, name)
            os.replace(tmp, final)   # atomic on the same file system
            return final
        except Exception as err:    # network, HTTP, disk or checksum: try the next mirror
            errors.append(f"{url}: {err}")
        finally:
            if os.path.exists(tmp):
                os.remove(tmp)
    raise OSError("could not download " + name + "; " + "; ".join(errors))


def remove_damaged_downloads(dataset="mnist"):
    """Delete the files in the download cache that fail their check (a truncated or altered
    download), so that the next download fetches them again; returns [(path, reason)]. Files
    elsewhere (TINYAE_DATA, root=) are the user's and are never deleted."""
    directory = os.path.join(cache_dir(), _DATASETS[dataset]["subdirs"][0])
    removed = []
    for split, names in _FILES.items():
        for name, ndim in zip(names, (3, 1)):
            path = _find_in(directory, name)
            if path is None:
                continue
            try:
                _read(path, ndim, dataset)
            except ValueError as err:
                os.remove(path)
                removed.append((path, str(err)))
    return removed


def _download_split(dataset, split):
    directory = os.path.join(cache_dir(), _DATASETS[dataset]["subdirs"][0])
    return tuple(_find_in(directory, name) or _download_file(dataset, name, directory)
                 for name in _FILES[split])


# ---------------------------------------------------------------- parsing, cached

@functools.lru_cache(maxsize=8)
def _read_cached(path, ndim, identity):
    # The file's identity is part of the key, so a replaced file is read again.
    return read_idx(path, ndim=ndim)


def _identity(st):
    """What changes when a file is replaced or rewritten: size, mtime, inode (and device), and
    ctime (which no copy tool can set back), so a swapped file is never served stale."""
    return st.st_size, st.st_mtime_ns, st.st_ino, st.st_dev, st.st_ctime_ns


# The genuine files: their sizes (gzipped, and the uncompressed IDX files) and md5 sums.
_GENUINE_GZ_SIZE = {
    "mnist": {"train-images-idx3-ubyte.gz": 9912422, "train-labels-idx1-ubyte.gz": 28881,
              "t10k-images-idx3-ubyte.gz": 1648877, "t10k-labels-idx1-ubyte.gz": 4542},
    "fashion-mnist": {"train-images-idx3-ubyte.gz": 26421880, "train-labels-idx1-ubyte.gz": 29515,
                      "t10k-images-idx3-ubyte.gz": 4422102, "t10k-labels-idx1-ubyte.gz": 5148},
}
_GENUINE_IDX_SIZE = {"train-images-idx3-ubyte": 47040016, "train-labels-idx1-ubyte": 60008,
                     "t10k-images-idx3-ubyte": 7840016, "t10k-labels-idx1-ubyte": 10008}
_verified = {}  # (real path, identity) -> True once its md5 matched


def _verify(dataset, path, st):
    """A local file that claims to be a genuine one (its name, and its size for .gz) must be
    it: its md5 is checked once per identity (size, mtime, inode, …). A file of another size is
    taken as the user's own IDX data and only parsed (the reader checks its structure)."""
    name = os.path.basename(path)
    if name in _GENUINE_IDX_SIZE and st.st_size == _GENUINE_IDX_SIZE[name]:
        return  # the uncompressed twin: the right size, and the reader checks the header
    expected_md5 = _DATASETS[dataset]["md5"].get(name)
    known_size = _GENUINE_GZ_SIZE.get(dataset, {}).get(name)
    if expected_md5 is None or st.st_size != known_size:
        return
    key = (os.path.realpath(path), _identity(st))
    if key in _verified:
        return
    md5 = hashlib.md5()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            md5.update(chunk)
    if md5.hexdigest() != expected_md5:
        raise ValueError(f"{path} is damaged: it has the size of the genuine {name} but not its "
                         f"md5 ({md5.hexdigest()} instead of {expected_md5}); delete it (tinyae "
                         "downloads it again with download=True) or copy a good one over it")
    _verified[key] = True


def _read(path, ndim, dataset="mnist"):
    st = os.stat(path)
    _verify(dataset, path, st)
    return _read_cached(os.path.realpath(path), ndim, _identity(st))


def _load_uint8(dataset, split, root=None, download=True):
    """The uint8 images (N, 28, 28) and labels (N,) of a split, read-only, plus the images path.

    Raises FileNotFoundError (nothing found, download off or failed) or ValueError (bad files).
    """
    paths = _locate(dataset, split, root)
    if paths is None:
        if not download:
            raise FileNotFoundError(_not_found_message(dataset, split, root))
        try:
            paths = _download_split(dataset, split)
        except OSError as err:
            raise FileNotFoundError(_not_found_message(dataset, split, root, err)) from err
    images, labels = _read(paths[0], 3, dataset), _read(paths[1], 1, dataset)
    if images.shape[1:] != (28, 28):
        raise ValueError(f"{paths[0]}: images are {images.shape[1]}x{images.shape[2]}, "
                         "expected 28x28 for MNIST-style data")
    if len(images) != len(labels):
        raise ValueError(f"{paths[0]} has {len(images)} images but {paths[1]} has "
                         f"{len(labels)} labels; the two files do not belong together")
    if labels.size and labels.max() > 9:
        raise ValueError(f"{paths[1]}: label {labels.max()} found, expected digits 0-9")
    return images, labels, paths[0]


def _to_float(images, labels, flatten):
    """Fresh float32 images in [0, 1] and a fresh labels copy (the cache stays untouched)."""
    x = numpy.divide(images, numpy.float32(255), dtype=numpy.float32)
    x = x.reshape(len(x), -1) if flatten else x.reshape(len(x), 1, 28, 28)
    return x, numpy.array(labels, dtype=numpy.uint8)


def _check_split(split):
    if split not in _FILES:
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")


# ---------------------------------------------------------------- the embedded subset

_EMBEDDED_COUNTS = {"train": 6000, "test": 1000}  # 600 / 100 of each digit


@functools.lru_cache(maxsize=1)
def _embedded():
    if not os.path.isfile(_SUBSET_PATH):
        raise FileNotFoundError(f"the embedded MNIST subset {_SUBSET_PATH} is missing; "
                                "reinstall tinyae or run python -m tinyae.data.make_subset")
    try:
        with numpy.load(_SUBSET_PATH, allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
        for split, n in _EMBEDDED_COUNTS.items():
            x, y = arrays[f"x_{split}"], arrays[f"y_{split}"]
            if x.dtype != numpy.uint8 or x.shape != (n, 28, 28):
                raise ValueError(f"x_{split} is {x.dtype} {x.shape}, expected uint8 ({n}, 28, 28)")
            if y.dtype != numpy.uint8 or y.shape != (n,):
                raise ValueError(f"y_{split} is {y.dtype} {y.shape}, expected uint8 ({n},)")
            if y.max() > 9 or (numpy.bincount(y, minlength=10) != n // 10).any():
                raise ValueError(f"y_{split} does not hold {n // 10} of each digit 0-9")
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as err:
        raise ValueError(f"the embedded subset at {_SUBSET_PATH} is damaged "
                         f"({type(err).__name__}: {err}); reinstall tinyae "
                         "(pip install --force-reinstall tinyae, or git checkout the file)") from None
    for a in arrays.values():
        a.flags.writeable = False
    return arrays


def load_embedded_mnist(split="train", flatten=True):
    """The small MNIST subset shipped inside tinyae (real digits, 600/100 per class).

    ``split='train'`` gives 6,000 images, ``'test'`` 1,000; same formats as ``load_mnist``.
    See tinyae/data/README.md for how they were chosen.
    """
    _check_split(split)
    z = _embedded()
    return _to_float(z[f"x_{split}"], z[f"y_{split}"], flatten)


def _embedded_counts():
    z = _embedded()
    return len(z["y_train"]), len(z["y_test"])


# ---------------------------------------------------------------- public loaders

_fallback_announced = False

def _load(dataset, split, root, download, fallback, flatten):
    _check_split(split)
    if fallback not in (None, "embedded"):
        raise ValueError(f"fallback must be None or 'embedded', got {fallback!r}")
    if fallback == "embedded" and dataset != "mnist":
        raise ValueError("fallback='embedded' exists only for MNIST; tinyae ships no "
                         f"{_DATASETS[dataset]['title']} subset")
    try:
        images, labels, _ = _load_uint8(dataset, split, root, download)
    except FileNotFoundError:
        if fallback != "embedded":
            raise
        global _fallback_announced
        if not _fallback_announced:  # once per run, not once per split or per call
            _fallback_announced = True
            n_train, n_test = _embedded_counts()
            looked = ", ".join(_search_dirs(dataset, root))
            print(f"tinyae: full MNIST not found (looked in {looked}); using the embedded "
                  f"subset of {n_train:,} train / {n_test:,} test real MNIST digits. For the "
                  "full set run `tinyae data download`, or put the four IDX .gz files in "
                  "$TINYAE_DATA/mnist/")
        return load_embedded_mnist(split, flatten)
    return _to_float(images, labels, flatten)


def load_mnist(split="train", root=None, download=True, fallback=None, flatten=True):
    """Load MNIST digits: ``(images, labels)``.

    images: float32 in [0, 1], shape (N, 784), or (N, 1, 28, 28) with ``flatten=False``.
    labels: uint8 digits 0-9, shape (N,). N is 60,000 for 'train' and 10,000 for 'test'.

    Files are looked for in ``root``, then ``$TINYAE_DATA``, then the user cache (see the
    module docstring). When they are not found and ``download`` is true they are downloaded
    into the cache (md5-checked). When that fails too: ``FileNotFoundError`` saying where to
    put the files, or, with ``fallback='embedded'``, the embedded subset (announced on stdout).
    Each call returns fresh arrays; the parsed files are cached in memory, so loading twice
    is fast.
    """
    return _load("mnist", split, root, download, fallback, flatten)


def load_fashion_mnist(split="train", root=None, download=True, fallback=None, flatten=True):
    """Load Fashion-MNIST (Zalando clothing, same format and sizes as MNIST); see ``load_mnist``.

    There is no embedded subset, so ``fallback`` may only be None.
    """
    return _load("fashion-mnist", split, root, download, fallback, flatten)


def mnist_source(root=None, dataset="mnist"):
    """A short line saying where ``load_mnist(root=root)`` would take its data from.

    Never downloads; meant for ``tinyae info`` and for lessons that report their data.
    """
    if dataset not in _DATASETS:
        raise ValueError(f"dataset must be one of {sorted(_DATASETS)}, got {dataset!r}")
    title = _DATASETS[dataset]["title"]
    found = {s: _locate(dataset, s, root) for s in _FILES}
    if all(found.values()):
        dirs = sorted({os.path.dirname(p[0]) for p in found.values()})
        return f"{title}: full data set in {', '.join(dirs)}"
    if found["train"] or found["test"]:
        s = "train" if found["train"] else "test"
        return f"{title}: only the {s} split, in {os.path.dirname(found[s][0])}"
    if dataset == "mnist" and os.path.isfile(_SUBSET_PATH):
        try:
            n_train, n_test = _embedded_counts()
        except ValueError as err:
            return f"MNIST: full set not found, and {err}"
        return (f"MNIST: full set not found; embedded subset "
                f"({n_train:,} train / {n_test:,} test digits)")
    return f"{title}: not found (would download into {cache_dir()})"
