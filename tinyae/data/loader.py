"""DataLoader: cut a data set into mini-batches, one epoch per ``for`` loop.

    loader = DataLoader(x_train, y_train, batch_size=128, shuffle=True, seed=0)
    for epoch in range(10):
        for xb, yb in loader:          # a new shuffled order every epoch
            ...

Batches are plain arrays of the same module as the data (NumPy, or CuPy on a GPU); the
training loop wraps them into Tensors. Without shuffling a batch is a slice (a view, no
copy); with shuffling it is gathered with one fancy-index per batch.
"""
import numpy

from tinyae.arguments import is_int, positive_int
from tinyae.backend import get_array_module, is_array


class DataLoader:
    """Iterate over ``x`` (and ``y``) in batches of ``batch_size`` samples along axis 0.

    x, y        arrays with the same first dimension; y is optional (autoencoders need
                only x). Each batch is ``xb``, or ``(xb, yb)`` when y is given.
    shuffle     visit the samples in a new random order each epoch.
    seed        seeds the shuffling generator once, at construction: two loaders with the
                same seed give the same sequence of epoch orders. None: a fresh random seed.
    drop_last   drop the last, smaller batch (keeps every batch the same size).

    ``len(loader)`` is the number of batches per epoch; ``loader.dataset_size`` the number
    of samples.
    """

    def __init__(self, x, y=None, batch_size=128, shuffle=False, seed=None, drop_last=False):
        x = self._as_array(x, "x")
        if y is not None:
            y = self._as_array(y, "y")
            if len(y) != len(x):
                raise ValueError(f"x and y must have the same number of samples: x has "
                                 f"{len(x)} but y has {len(y)}")
        batch_size = positive_int(batch_size, "batch_size")
        if seed is not None and (not is_int(seed) or seed < 0):
            raise ValueError(f"seed must be None or a non-negative integer, got {seed!r}")
        self.x, self.y = x, y
        self.batch_size = int(batch_size)
        self.shuffle = bool(shuffle)
        self.drop_last = bool(drop_last)
        self.seed = seed
        self.dataset_size = len(x)
        # One generator for the loader's whole life, so each epoch gets a new order but the
        # sequence of orders is reproducible from the seed.
        self._rng = numpy.random.default_rng(seed)

    @staticmethod
    def _as_array(a, name):
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
        if self.shuffle:
            # The order is drawn on the CPU with NumPy (same order on either backend), then
            # moved to the data's module so CuPy indexes with a device array.
            order = self._rng.permutation(n)
            xp_x = get_array_module(self.x)
            ox = xp_x.asarray(order)
            oy = None if self.y is None else get_array_module(self.y).asarray(order)
        for start in range(0, stop, bs):
            end = min(start + bs, n)
            if self.shuffle:
                xb = self.x[ox[start:end]]
                yb = None if self.y is None else self.y[oy[start:end]]
            else:
                xb = self.x[start:end]
                yb = None if self.y is None else self.y[start:end]
            yield xb if self.y is None else (xb, yb)

    def __repr__(self):
        return (f"DataLoader(dataset_size={self.dataset_size}, batch_size={self.batch_size}, "
                f"batches={len(self)}, shuffle={self.shuffle}, drop_last={self.drop_last})")
