"""DataLoader: cut a data set into mini-batches, one epoch per ``for`` loop.

    loader = DataLoader(x_train, y_train, batch_size=128, shuffle=True, seed=0)
    for epoch in range(10):
        for xb, yb in loader:          # a new shuffled order every epoch
            ...

or, as in PyTorch, over a Dataset (anything with ``__len__`` and ``__getitem__``)::

    loader = DataLoader(TensorDataset(x, y), batch_size=128, shuffle=True)
    for xb, yb in loader: ...          # len(loader.dataset) is the number of samples

Batches are what went in: arrays of the same module as the data (NumPy, or CuPy on a GPU),
or Tensors from a dataset of Tensors; ``tensors=True`` asks for Tensors always. Without
shuffling an array batch is a slice (a view, no copy); with shuffling it is gathered with one
fancy-index per batch. A general Dataset is read sample by sample and stacked.
"""
import collections.abc

import numpy

from tinyae.arguments import is_int, positive_int
from tinyae.generator import default_generator
from tinyae.backend import get_array_module, is_array
from tinyae.tensor import Tensor


class Dataset:
    """PyTorch's map-style dataset: ``len(ds)`` samples and ``ds[i]``, the i-th (an array, a
    Tensor, a number, or a tuple of them). Subclass it, or write any class with the two methods."""

    def __len__(self):
        raise NotImplementedError(f"{type(self).__name__} must define __len__")

    def __getitem__(self, index):
        raise NotImplementedError(f"{type(self).__name__} must define __getitem__")


class TensorDataset(Dataset):
    """Samples from arrays or Tensors that share their first axis: ``ds[i] == (x[i], y[i])``."""

    def __init__(self, *tensors):
        if not tensors:
            raise ValueError("TensorDataset needs at least one array or Tensor")
        sizes = [len(t) for t in tensors]
        if len(set(sizes)) > 1:
            raise ValueError(f"TensorDataset: every tensor needs the same number of samples "
                             f"(first axis), got {sizes}")
        self.tensors = tensors

    def __getitem__(self, index):
        return tuple(_take(t, index) for t in self.tensors)

    def __len__(self):
        return len(self.tensors[0])


def _is_dataset(x):
    """A Dataset, or anything with __len__ and __getitem__ that is not data itself."""
    if isinstance(x, Dataset):
        return True
    is_data = isinstance(x, (list, tuple, Tensor)) or is_array(x)
    return hasattr(x, "__getitem__") and hasattr(x, "__len__") and not is_data


def _take(t, index):
    """Rows ``index`` of an array or a Tensor (outside the graph: data is not trained)."""
    return Tensor(t.data[index]) if isinstance(t, Tensor) else t[index]


def _collate(samples):
    """Stack a list of samples into a batch, field by field for tuples."""
    first = samples[0]
    if isinstance(first, (tuple, list)):
        return tuple(_collate([s[k] for s in samples]) for k in range(len(first)))
    if isinstance(first, Tensor):
        return Tensor(get_array_module(first.data).stack([s.data for s in samples]))
    return get_array_module(first).stack([get_array_module(first).asarray(s) for s in samples])


class DataLoader:
    """Iterate over ``x`` (and ``y``), or over a Dataset, in batches of ``batch_size`` samples.

    x, y        arrays with the same first dimension; y is optional (autoencoders need
                only x). Each batch is ``xb``, or ``(xb, yb)`` when y is given.
                Or x is a Dataset (PyTorch's form); each batch is then a tuple of fields.
    shuffle     visit the samples in a new random order each epoch.
    seed        seeds the shuffling generator once, at construction: two loaders with the
                same seed give the same sequence of epoch orders. None: a seed drawn from
                tinyae's default generator (so ``tinyae.manual_seed`` fixes it too).
    drop_last   drop the last, smaller batch (keeps every batch the same size).
    tensors     yield Tensors instead of arrays.
    num_workers, pin_memory, persistent_workers   PyTorch's options, accepted and ignored:
                tinyae loads every batch in the main process from arrays in memory.

    ``len(loader)`` is the number of batches per epoch; ``loader.dataset`` the Dataset
    (``len(loader.dataset)`` the number of samples, also ``loader.dataset_size``).
    """

    def __init__(self, x, y=None, batch_size=128, shuffle=False, seed=None, drop_last=False,
                 tensors=False, num_workers=0, pin_memory=False, persistent_workers=False):
        # PyTorch's loading options, accepted so that its code runs: tinyae loads every batch
        # in the main process (the arrays are in memory already), and a GPU copy is made by
        # the model's backend, so they change nothing here.
        if not is_int(num_workers) or num_workers < 0:
            raise ValueError(f"num_workers must be an int ≥ 0, got {num_workers!r} (tinyae loads "
                             "in the main process whatever it is)")
        if _is_dataset(x):
            if y is not None:
                raise ValueError("DataLoader(dataset, ...) takes the labels from the dataset: "
                                 "give y only with arrays, or use TensorDataset(x, y)")
            if len(x) == 0:
                raise ValueError("the dataset is empty: a DataLoader needs at least one sample")
            self.dataset, self._bare = x, False
        else:
            x = self._as_array(x, "x")
            if y is not None:
                y = self._as_array(y, "y")
                if len(y) != len(x):
                    raise ValueError(f"x and y must have the same number of samples: x has "
                                     f"{len(x)} but y has {len(y)}")
            self.dataset = TensorDataset(x) if y is None else TensorDataset(x, y)
            self._bare = y is None  # DataLoader(x) yields xb itself, not (xb,)
        batch_size = positive_int(batch_size, "batch_size")
        if seed is not None and (not is_int(seed) or seed < 0):
            raise ValueError(f"seed must be None or a non-negative integer, got {seed!r}")
        self.batch_size = int(batch_size)
        self.shuffle = bool(shuffle)
        self.drop_last = bool(drop_last)
        self.tensors = bool(tensors)
        self.seed = seed
        self.dataset_size = len(self.dataset)
        # One generator for the loader's whole life, so each epoch gets a new order but the
        # sequence of orders is reproducible from the seed.
        if seed is None:
            seed = int(default_generator.integers(2 ** 63))
        self._rng = numpy.random.default_rng(seed)

    @staticmethod
    def _as_array(a, name):
        if isinstance(a, (collections.abc.Iterator, collections.abc.Set, dict)):
            raise TypeError(f"DataLoader: {name} is a {type(a).__name__}, which has no order "
                            "and length to batch from (a generator can be read only once): "
                            f"make it an array first, e.g. numpy.array(list({name}))")
        if not is_array(a) and is_array(getattr(a, "data", None)):
            a = a.data          # a Tensor: batch its raw array, the loop re-wraps it
        elif not is_array(a):
            a = numpy.asarray(a)
        if a.ndim == 0:
            raise ValueError(f"{name} must have a samples axis (at least 1-D), got a scalar")
        if len(a) == 0:
            raise ValueError(f"{name} is empty: a DataLoader needs at least one sample")
        return a

    def __len__(self):
        full, rest = divmod(self.dataset_size, self.batch_size)
        return full if (self.drop_last or rest == 0) else full + 1

    def __iter__(self):
        n, bs = self.dataset_size, self.batch_size
        stop = len(self) * bs
        # The order is drawn on the CPU with NumPy (same order on either backend).
        order = self._rng.permutation(n) if self.shuffle else None
        for start in range(0, stop, bs):
            end = min(start + bs, n)
            batch = self._fetch(slice(start, end) if order is None else order[start:end])
            if self.tensors:
                batch = tuple(b if isinstance(b, Tensor) else Tensor(b) for b in batch)
            yield batch[0] if self._bare else batch

    def _fetch(self, index):
        ds = self.dataset
        if isinstance(ds, TensorDataset):  # index every field at once
            fields = []
            for t in ds.tensors:
                data = t.data if isinstance(t, Tensor) else t
                # CuPy indexes with a device array; each field with its own (images on the
                # GPU, labels on the CPU is allowed)
                rows = data[index if isinstance(index, slice)
                            else get_array_module(data).asarray(index)]
                fields.append(Tensor(rows) if isinstance(t, Tensor) else rows)
            return tuple(fields)
        indices = range(index.start, index.stop) if isinstance(index, slice) else index
        batch = _collate([ds[int(i)] for i in indices])
        return batch if isinstance(batch, tuple) else (batch,)

    def __repr__(self):
        return (f"DataLoader(dataset_size={self.dataset_size}, batch_size={self.batch_size}, "
                f"batches={len(self)}, shuffle={self.shuffle}, drop_last={self.drop_last})")
