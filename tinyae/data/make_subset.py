"""Build ``tinyae/data/mnist_subset.npz``, the small set of real MNIST digits shipped with tinyae.

Run it from the repository root with the four genuine MNIST files at hand::

    python -m tinyae.data.make_subset --root ../shared/data

What it selects (deterministic: the same files and seed give byte-identical arrays):

* train: 600 images of each digit 0-9 (6,000) from the 60,000 MNIST training images,
* test:  100 images of each digit (1,000) from the 10,000 MNIST test images,

each class drawn uniformly without replacement with ``numpy.random.default_rng(SEED)``, then
kept in their original MNIST order (so classes stay interleaved as in the real files). The
original indices are stored too (``train_index``, ``test_index``), so anyone can check that
each image is exactly the MNIST image at that index.

The archive holds uint8 arrays only (``x_train`` (6000, 28, 28), ``y_train``, ``x_test``
(1000, 28, 28), ``y_test``, ``train_index``, ``test_index``; loadable with
``allow_pickle=False``) and must stay under 2 MB so the package stays small.
"""
import argparse
import os

import numpy

from tinyae.data.mnist import _SUBSET_PATH, load_mnist

SEED = 20240501
PER_CLASS = {"train": 600, "test": 100}
MAX_BYTES = 2 * 1024 * 1024


def select(labels, per_class, rng):
    """Indices of ``per_class`` examples of every digit, drawn at random, in ascending order."""
    chosen = []
    for digit in range(10):
        pool = numpy.flatnonzero(labels == digit)
        chosen.append(rng.choice(pool, size=per_class, replace=False))
    return numpy.sort(numpy.concatenate(chosen))


def make_subset(root, out=_SUBSET_PATH, seed=SEED):
    """Select the subset from the MNIST files under ``root`` and save it to ``out``."""
    rng = numpy.random.default_rng(seed)
    arrays = {}
    for split in ("train", "test"):
        x, y = load_mnist(split, root=root, download=False, flatten=False)
        # load_mnist gives pixel/255 in float32; multiplying back and rounding is exact.
        pixels = numpy.rint(x[:, 0] * 255).astype(numpy.uint8)
        idx = select(y, PER_CLASS[split], rng)
        arrays[f"x_{split}"] = pixels[idx]
        arrays[f"y_{split}"] = y[idx]
        arrays[f"{split}_index"] = idx.astype(numpy.uint16)   # < 60,000 fits in 16 bits
    numpy.savez_compressed(out, **arrays)
    size = os.path.getsize(out)
    if size > MAX_BYTES:
        raise SystemExit(f"{out} is {size:,} bytes, over the {MAX_BYTES:,}-byte budget; "
                         "lower PER_CLASS and update tinyae/data/README.md")
    return out, size


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", default=os.environ.get("TINYAE_DATA"),
                        help="directory holding mnist/ (or the four files); default $TINYAE_DATA")
    parser.add_argument("--out", default=_SUBSET_PATH, help="where to write the .npz")
    args = parser.parse_args(argv)
    out, size = make_subset(args.root, args.out)
    print(f"wrote {out} ({size:,} bytes)")


if __name__ == "__main__":
    main()
