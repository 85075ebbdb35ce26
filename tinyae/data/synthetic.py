"""Small synthetic data sets whose true structure is known, for lessons you can check by hand.

Each one is float32 and fully determined by its ``seed`` (``numpy.random.default_rng``), and
each returns, besides the data, the hidden truth an autoencoder should recover: the basis of
a plane, the intrinsic coordinates of a surface, the clean points of a noisy curve.
"""
import numpy

from ..arguments import positive_int

F32 = numpy.float32


def _check_noise(noise):
    if not noise >= 0:   # also refuses NaN
        raise ValueError(f"noise must be >= 0, got {noise!r}")
    return float(noise)


def one_hot_patterns(n=8):
    """The n-(log2 n)-n encoder task (Mitchell's 8-3-8): the n one-hot vectors, an (n, n) identity.

    Each row is both the input and the target; a 3-unit bottleneck must invent a binary code.
    """
    return numpy.eye(positive_int(n, "n"), dtype=F32)


def plane_in_4d(n, noise=0.0, seed=0):
    """Points in 4-D lying on a 2-D plane through the origin: ``(x, basis)``.

    x: (n, 4) float32, ``x = z @ basis.T (+ noise)`` with latent ``z`` (n, 2) Gaussian with
    standard deviations 2 and 0.5 (unequal, so the principal directions are well defined).
    basis: (4, 2) float32 with orthonormal columns spanning the plane. A linear autoencoder
    with a 2-unit code should find this plane (its decoder columns span the same subspace).
    """
    n, noise = positive_int(n, "n"), _check_noise(noise)
    rng = numpy.random.default_rng(seed)
    # QR of a random matrix gives an orthonormal basis of a random plane.
    basis, _ = numpy.linalg.qr(rng.standard_normal((4, 2)))
    z = rng.standard_normal((n, 2)) * numpy.array([2.0, 0.5])
    x = z @ basis.T + noise * rng.standard_normal((n, 4))
    return x.astype(F32), basis.astype(F32)


def swiss_roll(n, noise=0.0, seed=0):
    """The swiss roll: a 2-D sheet rolled up in 3-D. Returns ``(points, coords)``.

    The angle t runs from 1.5π to 4.5π, the height h from 0 to 21; the point is
    (t cos t, h, t sin t) plus Gaussian noise of standard deviation ``noise``.
    points: (n, 3) float32; coords: (n, 2) float32 holding (t, h), the intrinsic coordinates.
    """
    n, noise = positive_int(n, "n"), _check_noise(noise)
    rng = numpy.random.default_rng(seed)
    t = 1.5 * numpy.pi * (1 + 2 * rng.random(n))
    h = 21.0 * rng.random(n)
    points = numpy.stack([t * numpy.cos(t), h, t * numpy.sin(t)], axis=1)
    points += noise * rng.standard_normal((n, 3))
    return points.astype(F32), numpy.stack([t, h], axis=1).astype(F32)


def curved_surface(n, noise=0.0, seed=0):
    """A gently curved 2-D surface in 3-D (a saddle, z = u² − v²). Returns ``(points, coords)``.

    u, v are uniform in [-1, 1]; points (n, 3) float32 are (u, v, u² − v²) plus noise;
    coords (n, 2) float32 are (u, v). No plane fits it, but a 2-unit nonlinear code can.
    """
    n, noise = positive_int(n, "n"), _check_noise(noise)
    rng = numpy.random.default_rng(seed)
    uv = rng.uniform(-1.0, 1.0, size=(n, 2))
    u, v = uv[:, 0], uv[:, 1]
    points = numpy.stack([u, v, u * u - v * v], axis=1)
    points += noise * rng.standard_normal((n, 3))
    return points.astype(F32), uv.astype(F32)


def noisy_curve(n, noise=0.1, seed=0, kind="sine"):
    """Points near a 1-D curve in 2-D. Returns ``(noisy, clean, t)``.

    kind='sine': the curve (s, sin(πs)) for s in [-1, 1];
    kind='circle': a three-quarter arc of the unit circle, (cos θ, sin θ) for θ in [0, 1.5π].
    t (n,) in [0, 1] is the position along the curve, sorted so consecutive points are
    neighbours. noisy = clean + Gaussian noise of standard deviation ``noise``, both (n, 2)
    float32: a denoising autoencoder should map noisy back towards clean.
    """
    n, noise = positive_int(n, "n"), _check_noise(noise)
    rng = numpy.random.default_rng(seed)
    t = numpy.sort(rng.random(n))
    if kind == "sine":
        s = 2 * t - 1
        clean = numpy.stack([s, numpy.sin(numpy.pi * s)], axis=1)
    elif kind == "circle":
        theta = 1.5 * numpy.pi * t
        clean = numpy.stack([numpy.cos(theta), numpy.sin(theta)], axis=1)
    else:
        raise ValueError(f"kind must be 'sine' or 'circle', got {kind!r}")
    noisy = clean + noise * rng.standard_normal((n, 2))
    return noisy.astype(F32), clean.astype(F32), t.astype(F32)


# --- segmentation scenes ------------------------------------------------------------------------
SHAPE_CLASSES = ("background", "circle", "square", "triangle")


def _shape_mask(kind, cy, cx, r, angle, yy, xx):
    """Pixels (centres yy, xx) inside a shape of 'radius' r centred at (cy, cx), turned by angle.

    circle: radius r. square: half-side 0.85 r (about the circle's area). triangle: equilateral
    with circumradius 1.3 r (likewise). Square and triangle are rotated by ``angle``."""
    dy, dx = yy - cy, xx - cx
    if kind == 1:
        return dy * dy + dx * dx <= r * r
    c, s = numpy.cos(angle), numpy.sin(angle)
    u, v = c * dx + s * dy, -s * dx + c * dy            # coordinates in the shape's own frame
    if kind == 2:
        half = 0.85 * r
        return (numpy.abs(u) <= half) & (numpy.abs(v) <= half)
    inside = numpy.ones_like(u, dtype=bool)
    for k in range(3):                                   # three half-planes, inradius R/2
        t = 2 * numpy.pi * k / 3
        inside &= numpy.cos(t) * u + numpy.sin(t) * v <= 0.65 * r
    return inside


def shapes_scenes(n, size=32, seed=0, max_shapes=3, radius=(4.0, 9.0), noise=0.08,
                  contrast=0.25, rotate=False):
    """Scenes for semantic segmentation: ``(images, labels)``, every pixel labelled.

    Each scene holds 1 to ``max_shapes`` shapes — circles, squares, triangles (the latter two
    upright, or turned by a random angle with ``rotate=True``) — of random size (``radius``
    range, in pixels), position and grey level, not overlapping, on a textured background: a
    random grey level plus three random sinusoidal gratings, and Gaussian pixel noise of
    standard deviation ``noise`` over it all.
    A shape's grey level differs from the background's mean by at least ``contrast``, but it
    may be darker or lighter, so brightness alone does not tell the classes apart: the shape
    does.

    images: (n, 1, size, size) float32 in [0, 1];  labels: (n, size, size) int64, with class
    indices into ``SHAPE_CLASSES`` = (background, circle, square, triangle). Fully determined
    by ``seed``.
    """
    n, size = positive_int(n, "n", "shapes_scenes"), positive_int(size, "size", "shapes_scenes")
    if not 0 < radius[0] <= radius[1] or 2 * radius[1] + 2 > size:
        raise ValueError(f"radius must be a range 0 < lo <= hi with 2*hi + 2 <= size = {size}, "
                         f"got {radius!r}")
    noise = _check_noise(noise)
    rng = numpy.random.default_rng(seed)
    yy, xx = numpy.mgrid[0:size, 0:size].astype(numpy.float64) + 0.5
    images = numpy.empty((n, 1, size, size), dtype=F32)
    labels = numpy.zeros((n, size, size), dtype=numpy.int64)
    for i in range(n):
        base = rng.uniform(0.3, 0.7)
        image = numpy.full((size, size), base)
        for _ in range(3):                               # the texture: random gratings
            freq = rng.uniform(0.15, 0.6)
            theta, phase = rng.uniform(0, numpy.pi), rng.uniform(0, 2 * numpy.pi)
            image += 0.06 * numpy.sin(freq * (numpy.cos(theta) * xx + numpy.sin(theta) * yy)
                                      + phase)
        placed = []                                      # (cy, cx, bounding radius)
        for _ in range(int(rng.integers(1, max_shapes + 1))):
            kind = int(rng.integers(1, len(SHAPE_CLASSES)))
            r = rng.uniform(*radius)
            bound = 1.3 * r if kind == 3 else (1.21 * r if kind == 2 else r)
            for _attempt in range(30):                   # rejection: keep shapes apart
                cy, cx = rng.uniform(bound, size - bound, size=2)
                if all(numpy.hypot(cy - py, cx - px) > bound + pb + 1 for py, px, pb in placed):
                    break
            else:
                continue
            placed.append((cy, cx, bound))
            angle = rng.uniform(0, 2 * numpy.pi)
            inside = _shape_mask(kind, cy, cx, r, angle if rotate else numpy.pi / 2, yy, xx)
            grey = rng.uniform(0, 1 - 2 * contrast)      # then skip the band around the base
            grey = grey if grey < base - contrast else grey + 2 * contrast
            image[inside] = grey
            labels[i][inside] = kind
        image += noise * rng.standard_normal((size, size))
        images[i, 0] = numpy.clip(image, 0.0, 1.0)
    return images, labels
