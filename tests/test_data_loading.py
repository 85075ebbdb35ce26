"""tinyae.data, from arrays to batches: the DataLoader, corruptions, synthetic data sets,
occlusion and segmentation scenes."""
import numpy as np
import pytest

from tinyae.data import (DataLoader, curved_surface, gaussian_noise, masking_noise, noisy_curve,
                         occlude, occlusion_mask, one_hot_patterns, patch_occlusion, plane_in_4d,
                         salt_and_pepper, shapes_scenes, swiss_roll, SHAPE_CLASSES)

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
