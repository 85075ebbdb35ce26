"""Tests for tinyae.data: IDX files, MNIST lookup/download/fallback, subset, loader, corruptions."""
import gzip
import hashlib
import io
import os

import numpy as np
import pytest

from tinyae.data import (DataLoader, curved_surface, gaussian_noise, load_embedded_mnist,
                         load_fashion_mnist, load_mnist, masking_noise, mnist_source,
                         noisy_curve, occlude, occlusion_mask, one_hot_patterns, patch_occlusion,
                         plane_in_4d, read_idx, salt_and_pepper, shapes_scenes, swiss_roll,
                         write_idx, SHAPE_CLASSES)
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


# ---------------------------------------------------------------- DataLoader

def test_loader_covers_each_sample_once():
    x = np.arange(103, dtype=np.float32)[:, None] * np.ones((1, 3), np.float32)
    y = np.arange(103)
    loader = DataLoader(x, y, batch_size=10, shuffle=True, seed=0)
    assert len(loader) == 11 and loader.dataset_size == 103
    orders = []
    for _ in range(2):
        seen = []
        for xb, yb in loader:
            assert xb.shape[1:] == (3,) and np.array_equal(xb[:, 0], yb)   # x and y aligned
            seen.extend(yb.tolist())
        assert sorted(seen) == list(range(103))
        orders.append(seen)
    assert orders[0] != orders[1]                       # reshuffled each epoch


def test_loader_no_shuffle_and_drop_last():
    x = np.arange(25)
    assert [b.tolist() for b in DataLoader(x, batch_size=10)][-1] == list(range(20, 25))
    batches = list(DataLoader(x, batch_size=10, drop_last=True, shuffle=True, seed=1))
    assert len(batches) == 2 and all(len(b) == 10 for b in batches)
    assert len(DataLoader(x, batch_size=10, drop_last=True)) == 2
    assert len(DataLoader(x, batch_size=5, drop_last=True)) == 5
    assert len(DataLoader(x, batch_size=100, drop_last=True)) == 0


def test_loader_same_seed_same_epochs():
    def three_epochs(seed):
        loader = DataLoader(np.arange(50), batch_size=7, shuffle=True, seed=seed)
        return [[b.tolist() for b in loader] for _ in range(3)]
    assert three_epochs(3) == three_epochs(3)
    assert three_epochs(3) != three_epochs(4)


def test_loader_errors():
    with pytest.raises(ValueError, match="x has 5 but y has 4"):
        DataLoader(np.zeros(5), np.zeros(4))
    for bad in (0, -1, 2.5, True, "8"):
        with pytest.raises(ValueError, match="batch_size must be a positive integer"):
            DataLoader(np.zeros(5), batch_size=bad)
    with pytest.raises(ValueError, match="empty"):
        DataLoader(np.zeros((0, 3)))
    with pytest.raises(ValueError, match="seed"):
        DataLoader(np.zeros(5), seed=1.5)


@pytest.mark.gpu
def test_loader_and_corruptions_on_cupy():
    from tinyae.backend import cupy_available
    if not cupy_available():
        pytest.skip("needs CuPy and a CUDA GPU")
    import cupy
    x = cupy.arange(40, dtype=cupy.float32).reshape(10, 4) / 40
    batches = list(DataLoader(x, cupy.arange(10), batch_size=4, shuffle=True, seed=0))
    assert all(isinstance(b, cupy.ndarray) for pair in batches for b in pair)
    assert sorted(cupy.concatenate([yb for _, yb in batches]).tolist()) == list(range(10))
    for corrupt in (lambda a: masking_noise(a, 0.5, 0), lambda a: gaussian_noise(a, 0.1, 0),
                    lambda a: salt_and_pepper(a, 0.5, 0),
                    lambda a: patch_occlusion(a, 1, 0, image_shape=(2, 2))):
        out = corrupt(x)
        assert isinstance(out, cupy.ndarray) and out.dtype == cupy.float32
        assert np.array_equal(cupy.asnumpy(out), corrupt(cupy.asnumpy(x)))  # same on CPU


# ---------------------------------------------------------------- corruptions

def test_masking_noise():
    x = np.ones((200, 784), np.float32)
    out = masking_noise(x, 0.25, np.random.default_rng(0))
    assert out.dtype == np.float32 and x.min() == 1                  # input untouched
    assert np.all((out == 0).sum(axis=1) == 196)                     # exactly 25% per sample
    bern = masking_noise(x, 0.25, 0, exact=False)
    assert abs((bern == 0).mean() - 0.25) < 0.01
    assert np.array_equal(masking_noise(x, 0.0, 0), x) and not masking_noise(x, 1.0, 0).any()
    assert np.array_equal(masking_noise(x, 0.3, 5), masking_noise(x, 0.3, 5))   # seeded
    assert masking_noise(x.reshape(200, 1, 28, 28), 0.5, 0).shape == (200, 1, 28, 28)


@pytest.mark.parametrize("bad", [-0.1, 1.5, float("nan"), "0.2", None])
def test_fraction_validation(bad):
    with pytest.raises(ValueError, match=r"fraction must be a number in \[0, 1\]"):
        masking_noise(np.zeros((2, 4)), bad, 0)
    with pytest.raises(ValueError, match="fraction"):
        salt_and_pepper(np.zeros((2, 4)), bad, 0)


def test_rng_validation():
    with pytest.raises(TypeError, match="Generator"):
        masking_noise(np.zeros((2, 4)), 0.5, rng="seed")


def test_gaussian_noise_clips_and_keeps_dtype():
    x = np.full((100, 50), 0.5, np.float32)
    out = gaussian_noise(x, 1.0, np.random.default_rng(0))
    assert out.dtype == np.float32 and out.min() == 0 and out.max() == 1
    free = gaussian_noise(x.astype(np.float64), 0.1, 0, clip=None)
    assert free.dtype == np.float64 and abs(free.std() - 0.1) < 0.01
    with pytest.raises(ValueError, match="sigma"):
        gaussian_noise(x, -1, 0)


def test_salt_and_pepper():
    x = np.full((50, 100), 0.5, np.float32)
    out = salt_and_pepper(x, 0.2, 0)
    changed = out != 0.5
    assert out.dtype == np.float32 and np.all(changed.sum(axis=1) == 20)
    assert set(np.unique(out[changed])) == {0.0, 1.0}


def test_patch_occlusion():
    x = np.ones((30, 784), np.float32)
    out = patch_occlusion(x, 7, np.random.default_rng(0))
    assert out.shape == x.shape and out.dtype == np.float32 and np.all((out == 0).sum(1) == 49)
    img = out[0].reshape(28, 28)
    rows, cols = np.nonzero(img == 0)
    assert rows.max() - rows.min() == 6 and cols.max() - cols.min() == 6   # one 7x7 square
    x4 = np.ones((4, 3, 10, 10))
    out4 = patch_occlusion(x4, 4, 1, image_shape=(10, 10))
    assert np.all((out4 == 0).sum(axis=(2, 3)) == 16)                      # every channel
    with pytest.raises(ValueError, match="patch"):
        patch_occlusion(x, 29, 0)
    with pytest.raises(ValueError, match="image_shape"):
        patch_occlusion(np.ones((2, 100)), 3, 0)


# ---------------------------------------------------------------- synthetic

def test_synthetic_sets():
    eye = one_hot_patterns()
    assert eye.dtype == np.float32 and np.array_equal(eye, np.eye(8))
    x, basis = plane_in_4d(500)
    assert x.shape == (500, 4) and basis.shape == (4, 2) and x.dtype == np.float32
    assert np.linalg.matrix_rank(x, tol=1e-4) == 2
    assert np.allclose(basis.T @ basis, np.eye(2), atol=1e-6)
    assert np.allclose(x - x @ basis @ basis.T, 0, atol=1e-5)       # x lies in span(basis)
    assert np.linalg.matrix_rank(plane_in_4d(500, noise=0.1)[0], tol=1e-4) == 4
    pts, coords = swiss_roll(300, noise=0.1, seed=1)
    assert pts.shape == (300, 3) and coords.shape == (300, 2) and pts.dtype == np.float32
    pts, uv = curved_surface(300)
    assert np.allclose(pts[:, 2], uv[:, 0] ** 2 - uv[:, 1] ** 2, atol=1e-6)
    for kind in ("sine", "circle"):
        noisy, clean, t = noisy_curve(200, noise=0.05, kind=kind)
        assert noisy.shape == clean.shape == (200, 2) and np.all(np.diff(t) >= 0)
        assert 0.03 < np.std(noisy - clean) < 0.07
    assert np.array_equal(swiss_roll(50, seed=7)[0], swiss_roll(50, seed=7)[0])
    assert not np.array_equal(swiss_roll(50, seed=7)[0], swiss_roll(50, seed=8)[0])
    with pytest.raises(ValueError, match="kind"):
        noisy_curve(10, kind="spiral")
    with pytest.raises(ValueError, match="positive integer"):
        plane_in_4d(0)


# ---------------------------------------------------------------- occlusion (inpainting)

def test_occlude_squares():
    x = np.ones((20, 784), np.float32)
    out, mask = occlude(x, 12, rng=3)
    assert out.shape == mask.shape == x.shape and out.dtype == np.float32 and mask.dtype == bool
    assert np.all(mask.sum(axis=1) == 144) and np.array_equal(out == 0, mask)
    for m in mask.reshape(20, 28, 28):                       # one 12×12 square, inside the image
        rows, cols = np.nonzero(m)
        assert rows.max() - rows.min() == 11 and cols.max() - cols.min() == 11
    assert x.min() == 1                                      # x is not changed
    positions = {tuple(np.argwhere(m)[0]) for m in mask.reshape(20, 28, 28)}
    assert len(positions) > 10                               # placed at random


def test_occlude_is_deterministic_by_seed():
    x = np.random.default_rng(0).random((8, 1, 28, 28)).astype(np.float32)
    a, b = occlude(x, 10, rng=5), occlude(x, 10, rng=5)
    assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])
    assert not np.array_equal(a[1], occlude(x, 10, rng=6)[1])
    gen1, gen2 = np.random.default_rng(9), np.random.default_rng(9)   # a Generator moves on
    assert np.array_equal(occlusion_mask(4, 5, gen1), occlusion_mask(4, 5, gen2))
    assert not np.array_equal(occlusion_mask(4, 5, gen1), occlusion_mask(4, 5, np.random.default_rng(9)))


def test_occlude_rectangles_channels_and_value():
    x = np.zeros((50, 3, 16, 20))
    out, mask = occlude(x, ((2, 5), (3, 9)), rng=0, image_shape=(16, 20), value=0.5)
    assert np.all(mask == mask[:, :1])                      # the same hole in every channel
    for m in mask[:, 0]:
        rows, cols = np.nonzero(m)
        h, w = rows.max() - rows.min() + 1, cols.max() - cols.min() + 1
        assert 2 <= h <= 5 and 3 <= w <= 9 and m.sum() == h * w   # one rectangle
    sides = {(int(np.ptp(np.nonzero(m)[0])), int(np.ptp(np.nonzero(m)[1]))) for m in mask[:, 0]}
    assert len(sides) > 5                                   # of random shape
    assert set(np.unique(out[mask])) == {0.5}
    two = occlusion_mask(200, (1, 1), 0, (8, 8), count=2).reshape(200, -1).sum(1)
    assert set(two) == {1, 2}                               # two 1×1 holes, sometimes the same


def test_occlude_errors():
    with pytest.raises(ValueError, match="height"):
        occlude(np.ones((2, 784)), 29)
    with pytest.raises(ValueError, match="width"):
        occlude(np.ones((2, 784)), (3, (5, 2)))
    with pytest.raises(ValueError, match="image_shape"):
        occlude(np.ones((2, 100)), 3)
    with pytest.raises(ValueError, match="count"):
        occlusion_mask(2, 3, 0, count=0)


# ---------------------------------------------------------------- segmentation scenes

def test_shapes_scenes_shapes_and_labels():
    x, y = shapes_scenes(40, size=24, seed=1, radius=(3.0, 7.0))
    assert x.shape == (40, 1, 24, 24) and x.dtype == np.float32
    assert y.shape == (40, 24, 24) and y.dtype == np.int64
    assert 0 <= x.min() and x.max() <= 1
    assert set(np.unique(y)) == set(range(len(SHAPE_CLASSES)))     # every class occurs
    assert np.all((y > 0).reshape(40, -1).any(axis=1))              # each scene has a shape
    # a shape is one grey level (plus noise) that differs from its surroundings
    for img, lab in zip(x[:10, 0], y[:10]):
        inside, outside = img[lab > 0], img[lab == 0]
        assert abs(np.median(inside) - np.median(outside)) > 0.1


def test_shapes_scenes_deterministic_by_seed():
    a, b, c = shapes_scenes(6, seed=3), shapes_scenes(6, seed=3), shapes_scenes(6, seed=4)
    assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])
    assert not np.array_equal(a[1], c[1])
    with pytest.raises(ValueError, match="radius"):
        shapes_scenes(2, size=16, radius=(4.0, 9.0))
