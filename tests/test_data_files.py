"""tinyae.data, the files: IDX reading and writing, MNIST lookup, download, fallback and the
embedded subset."""
import gzip
import hashlib
import io
import os

import numpy as np
import pytest

from tinyae.data import (load_embedded_mnist,
                         load_fashion_mnist, load_mnist, mnist_source,
                         read_idx, write_idx)
from tinyae.data import mnist as mnist_mod

NAMES = {"train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
         "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")}


def _real_data_dir():
    """$TINYAE_DATA, else ../shared/data beside the repository, if it holds the MNIST files."""
    here = os.path.dirname(os.path.abspath(__file__))
    for d in (os.environ.get("TINYAE_DATA"), os.path.join(here, "..", "..", "shared", "data")):
        if d and os.path.isfile(os.path.join(d, "mnist", NAMES["train"][0])):
            return os.path.abspath(d)
    return None


REAL = _real_data_dir()


@pytest.fixture(autouse=True)
def isolated(monkeypatch, tmp_path):
    """No TINYAE_DATA, an empty cache, and no network: every test sees only what it makes."""
    monkeypatch.delenv("TINYAE_DATA", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))

    def no_network(*args, **kwargs):
        raise AssertionError("a test tried to reach the network")
    monkeypatch.setattr(mnist_mod.urllib.request, "urlopen", no_network)


def make_split(directory, split="train", n=20, seed=0, gz=True):
    """Write a tiny fake MNIST split; returns the uint8 images and labels written."""
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8)
    labels = rng.integers(0, 10, size=n, dtype=np.uint8)
    os.makedirs(directory, exist_ok=True)
    img, lbl = (name if gz else name[:-3] for name in NAMES[split])
    write_idx(os.path.join(directory, img), images)
    write_idx(os.path.join(directory, lbl), labels)
    return images, labels


# ---------------------------------------------------------------- IDX

@pytest.mark.parametrize("name", ["a.idx", "a.idx.gz"])
@pytest.mark.parametrize("shape", [(7,), (3, 28, 28), (2, 3, 4, 5)])
def test_idx_round_trip(tmp_path, name, shape):
    a = np.arange(np.prod(shape), dtype=np.uint8).reshape(shape)
    write_idx(tmp_path / name, a)
    b = read_idx(tmp_path / name)
    assert b.dtype == np.uint8 and b.shape == shape and np.array_equal(a, b)
    assert not b.flags.writeable
    with open(tmp_path / name, "rb") as f:
        assert (f.read(2) == b"\x1f\x8b") == name.endswith(".gz")


def test_idx_header_bytes(tmp_path):
    write_idx(tmp_path / "x", np.zeros((2, 28, 28), np.uint8))
    write_idx(tmp_path / "y", np.zeros(2, np.uint8))
    header = bytes.fromhex("00000803 00000002 0000001c 0000001c")
    assert (tmp_path / "x").read_bytes()[:16] == header
    assert (tmp_path / "y").read_bytes()[:8] == bytes.fromhex("00000801 00000002")


def test_write_idx_refuses_non_bytes(tmp_path):
    with pytest.raises(ValueError, match="uint8"):
        write_idx(tmp_path / "f", np.full(3, 0.5))
    with pytest.raises(ValueError, match="uint8"):
        write_idx(tmp_path / "f", np.array([1, 300]))


def test_idx_bad_magic(tmp_path):
    p = tmp_path / "bad.idx"
    p.write_bytes(b"\x12\x34\x08\x03" + bytes(100))
    with pytest.raises(ValueError, match=r"bad\.idx.*magic number 0x12340803"):
        read_idx(p)


def test_idx_wrong_element_type(tmp_path):
    p = tmp_path / "float.idx"
    p.write_bytes(bytes.fromhex("00000D01 00000001") + bytes(4))
    with pytest.raises(ValueError, match="element type 0x0D"):
        read_idx(p)


def test_idx_wrong_kind(tmp_path):
    write_idx(tmp_path / "labels.gz", np.zeros(5, np.uint8))
    with pytest.raises(ValueError, match=r"labels\.gz.*labels \(1-D\).*images \(3-D\)"):
        read_idx(tmp_path / "labels.gz", ndim=3)


@pytest.mark.parametrize("gz", [False, True])
def test_idx_truncated_payload(tmp_path, gz):
    full = bytes.fromhex("00000803 00000002 0000001c 0000001c") + bytes(1200)
    p = tmp_path / ("t.gz" if gz else "t")
    p.write_bytes(gzip.compress(full) if gz else full)
    with pytest.raises(ValueError) as err:
        read_idx(p)
    msg = str(err.value)
    assert str(p) in msg and "expected 1568 bytes of pixels, found 1200" in msg
    assert "truncated" in msg and "download again" in msg


def test_idx_extra_bytes_and_short_files(tmp_path):
    p = tmp_path / "long"
    p.write_bytes(bytes.fromhex("00000801 00000002") + bytes(5))
    with pytest.raises(ValueError, match="3 extra bytes"):
        read_idx(p)
    p.write_bytes(b"\x00\x00")
    with pytest.raises(ValueError, match="too short"):
        read_idx(p)


def test_idx_truncated_gzip_stream(tmp_path):
    data = gzip.compress(bytes.fromhex("00000801 00000100") + bytes(256))
    p = tmp_path / "cut.gz"
    p.write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match=r"cut\.gz.*gzip.*download it again"):
        read_idx(p)


# ---------------------------------------------------------------- MNIST lookup

@pytest.mark.parametrize("gz", [True, False])
@pytest.mark.parametrize("sub", ["mnist", ""])
def test_load_mnist_from_root(tmp_path, gz, sub):
    images, labels = make_split(tmp_path / "d" / sub, "test", gz=gz)
    x, y = load_mnist("test", root=tmp_path / "d", download=False)
    assert x.shape == (20, 784) and x.dtype == np.float32
    assert np.allclose(x * 255, images.reshape(20, -1)) and np.array_equal(y, labels)
    assert y.dtype == np.uint8
    x4, _ = load_mnist("test", root=tmp_path / "d", download=False, flatten=False)
    assert x4.shape == (20, 1, 28, 28) and np.array_equal(x4.reshape(20, -1), x)


def test_lookup_order(tmp_path, monkeypatch):
    root_imgs, _ = make_split(tmp_path / "root", seed=1)
    env_imgs, _ = make_split(tmp_path / "env" / "mnist", seed=2)
    cache_imgs, _ = make_split(tmp_path / "cache" / "tinyae" / "mnist", seed=3)
    monkeypatch.setenv("TINYAE_DATA", str(tmp_path / "env"))
    pick = lambda **kw: np.rint(load_mnist(download=False, **kw)[0] * 255)  # noqa: E731
    assert np.array_equal(pick(root=tmp_path / "root"), root_imgs.reshape(20, -1))
    assert np.array_equal(pick(), env_imgs.reshape(20, -1))
    monkeypatch.delenv("TINYAE_DATA")
    assert np.array_equal(pick(), cache_imgs.reshape(20, -1))
    # A root that lacks the files falls through to the next place.
    assert np.array_equal(pick(root=tmp_path / "nowhere"), cache_imgs.reshape(20, -1))


def test_fashion_subdirectories(tmp_path):
    _, labels = make_split(tmp_path / "fashion_mnist", "train")
    assert np.array_equal(load_fashion_mnist(root=tmp_path, download=False)[1], labels)
    with pytest.raises(ValueError, match="only for MNIST"):
        load_fashion_mnist(root=tmp_path, fallback="embedded")


def test_returns_fresh_arrays(tmp_path):
    make_split(tmp_path / "mnist")
    x, y = load_mnist(root=tmp_path, download=False)
    x[:] = -1
    y[:] = 99
    x2, y2 = load_mnist(root=tmp_path, download=False)
    assert x2.min() >= 0 and y2.max() <= 9


def test_bad_arguments(tmp_path):
    with pytest.raises(ValueError, match="'train' or 'test'"):
        load_mnist("valid", root=tmp_path, download=False)
    with pytest.raises(ValueError, match="fallback"):
        load_mnist(root=tmp_path, download=False, fallback="zeros")


def test_mismatched_split_files(tmp_path):
    make_split(tmp_path, "train", n=20)
    write_idx(tmp_path / NAMES["train"][1], np.zeros(19, np.uint8))
    with pytest.raises(ValueError, match="20 images but .* 19 labels"):
        load_mnist(root=tmp_path, download=False)


def test_not_found_message(tmp_path, monkeypatch):
    monkeypatch.setenv("TINYAE_DATA", str(tmp_path / "env"))
    with pytest.raises(FileNotFoundError) as err:
        load_mnist("train", root=tmp_path / "mine", download=False)
    msg = str(err.value)
    for place in (tmp_path / "mine", tmp_path / "env" / "mnist", tmp_path / "cache" / "tinyae"):
        assert str(place) in msg
    assert "TINYAE_DATA" in msg and all(n in msg for n in NAMES["train"] + NAMES["test"])


def test_failed_download_is_not_found(tmp_path):
    with pytest.raises(FileNotFoundError, match="download failed"):
        load_mnist("test", download=True)
    assert not os.listdir(tmp_path / "cache" / "tinyae" / "mnist")   # no half files left


def test_download_verifies_md5_and_renames(tmp_path, monkeypatch):
    payload = {}
    arrays = (np.zeros((3, 28, 28), np.uint8), np.arange(3, dtype=np.uint8))
    for name, arr in zip(NAMES["test"], arrays):
        write_idx(tmp_path / name, arr)
        payload[name] = (tmp_path / name).read_bytes()
    md5 = {n: hashlib.md5(b).hexdigest() for n, b in payload.items()}
    md5[NAMES["test"][1]] = "0" * 32             # the labels file will fail its checksum ...
    monkeypatch.setitem(mnist_mod._DATASETS["mnist"], "md5", md5)

    class Response(io.BytesIO):
        headers = {}
    monkeypatch.setattr(mnist_mod.urllib.request, "urlopen",
                        lambda url, timeout: Response(payload[url.rsplit("/", 1)[1]]))
    with pytest.raises(FileNotFoundError, match="does not match"):
        load_mnist("test")
    cache = tmp_path / "cache" / "tinyae" / "mnist"
    assert sorted(os.listdir(cache)) == [NAMES["test"][0]]     # ... the images file is kept
    md5[NAMES["test"][1]] = hashlib.md5(payload[NAMES["test"][1]]).hexdigest()
    x, y = load_mnist("test")
    assert x.shape == (3, 784) and list(y) == [0, 1, 2]


def test_embedded_fallback(capsys, monkeypatch):
    monkeypatch.setattr(mnist_mod, "_fallback_announced", False)
    x, y = load_mnist("test", download=False, fallback="embedded")
    load_mnist("train", download=False, fallback="embedded")
    out = capsys.readouterr().out
    assert out.count("\n") == 1 and "full MNIST not found" in out  # once per run, not per call
    assert "embedded subset of 6,000 train / 1,000 test real MNIST digits" in out
    assert "tinyae data download" in out  # and it says how to get the full set
    assert x.shape == (1000, 784) and y.shape == (1000,)
    assert "embedded subset" in mnist_source()


def test_embedded_subset():
    assert os.path.getsize(mnist_mod._SUBSET_PATH) <= 2 * 1024 * 1024
    with np.load(mnist_mod._SUBSET_PATH, allow_pickle=False) as z:
        assert all(z[k].dtype in (np.uint8, np.uint16) for k in z.files)
    for split, n in (("train", 6000), ("test", 1000)):
        x, y = load_embedded_mnist(split)
        assert x.shape == (n, 784) and x.dtype == np.float32 and y.dtype == np.uint8
        assert 0 <= x.min() and x.max() <= 1 and x.max() == 1
        assert np.array_equal(np.bincount(y, minlength=10), np.full(10, n // 10))
    assert load_embedded_mnist("test", flatten=False)[0].shape == (1000, 1, 28, 28)


@pytest.mark.skipif(REAL is None, reason="full MNIST not found (set TINYAE_DATA)")
def test_real_mnist(monkeypatch):
    monkeypatch.setenv("TINYAE_DATA", REAL)
    assert "full data set" in mnist_source()
    counts = {"train": [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949],
              "test": [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]}
    with np.load(mnist_mod._SUBSET_PATH, allow_pickle=False) as z:
        subset = {k: z[k] for k in z.files}
    for split, n in (("train", 60000), ("test", 10000)):
        x, y = load_mnist(split, download=False)
        assert x.shape == (n, 784) and x.dtype == np.float32 and y.shape == (n,)
        assert x.min() == 0 and x.max() == 1
        assert list(np.bincount(y)) == counts[split]
        # The embedded subset is exactly the real images at the stored indices.
        idx = subset[f"{split}_index"]
        assert np.array_equal(np.rint(x[idx] * 255).astype(np.uint8).reshape(-1, 28, 28),
                              subset[f"x_{split}"])
        assert np.array_equal(y[idx], subset[f"y_{split}"])
