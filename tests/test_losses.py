"""Losses: values against NumPy and PyTorch, gradients by central differences, stability, errors."""
import numpy as np
import pytest

import tinyae
from tinyae import losses as L

rng = np.random.default_rng(0)
N, D = 4, 3
PRED = rng.uniform(0.05, 0.95, (N, D))       # probabilities away from the clamp
TARGET = rng.uniform(0, 1, (N, D))
Z = rng.standard_normal((N, D)) * 2          # logits
LABELS = np.array([0, 2, 1, 2])
MU, LOGVAR = rng.standard_normal((N, D)), rng.standard_normal((N, D)) * 0.5


def T(x, requires_grad=False):
    return tinyae.Tensor(np.array(x, dtype=np.float64), requires_grad=requires_grad)


def value(loss):
    return float(loss.data)


# --- values ----------------------------------------------------------------------------------
def test_values_match_numpy_formulas():
    sq = (PRED - TARGET) ** 2
    assert value(L.mse(T(PRED), TARGET)) == pytest.approx(sq.mean())
    assert value(L.mse(T(PRED), TARGET, reduction="sum")) == pytest.approx(sq.sum())
    np.testing.assert_allclose(L.mse(T(PRED), TARGET, reduction="none").data, sq)
    assert value(L.sse(T(PRED), TARGET)) == pytest.approx(sq.sum() / N)

    ce = -(TARGET * np.log(PRED) + (1 - TARGET) * np.log(1 - PRED))
    assert value(L.bce(T(PRED), TARGET)) == pytest.approx(ce.mean())
    assert value(L.bce(T(PRED), TARGET, reduction="batchmean")) == pytest.approx(ce.sum() / N)
    p = 1 / (1 + np.exp(-Z))
    ce_z = -(TARGET * np.log(p) + (1 - TARGET) * np.log(1 - p))
    assert value(L.bce_with_logits(T(Z), TARGET)) == pytest.approx(ce_z.mean())
    assert value(L.bce_with_logits(T(Z), TARGET, reduction="sum")) == pytest.approx(ce_z.sum())

    log_softmax = Z - np.log(np.exp(Z).sum(axis=1, keepdims=True))
    assert value(L.cross_entropy(T(Z), LABELS)) == pytest.approx(-log_softmax[np.arange(N), LABELS].mean())

    kl = -0.5 * (1 + LOGVAR - MU ** 2 - np.exp(LOGVAR)).sum(axis=1)
    assert value(L.gaussian_kl(T(MU), T(LOGVAR))) == pytest.approx(kl.mean())
    assert value(L.gaussian_kl(T(MU), T(LOGVAR), reduction="sum")) == pytest.approx(kl.sum())

    assert value(L.l1_activity(T(Z))) == pytest.approx(np.abs(Z).sum() / N)
    rho, rho_hat = 0.1, PRED.mean(axis=0)
    kl_sp = rho * np.log(rho / rho_hat) + (1 - rho) * np.log((1 - rho) / (1 - rho_hat))
    assert value(L.kl_sparsity(T(PRED), rho)) == pytest.approx(kl_sp.sum())
    assert value(L.l2_penalty([T(Z), T(MU)])) == pytest.approx(0.5 * ((Z ** 2).sum() + (MU ** 2).sum()))


def test_values_match_torch():
    torch = pytest.importorskip("torch")
    tf = torch.nn.functional
    t = torch.tensor
    assert value(L.mse(T(PRED), TARGET)) == pytest.approx(tf.mse_loss(t(PRED), t(TARGET)).item())
    for reduction in ("mean", "sum"):
        assert value(L.bce(T(PRED), TARGET, reduction=reduction)) == pytest.approx(
            tf.binary_cross_entropy(t(PRED), t(TARGET), reduction=reduction).item())
        assert value(L.bce_with_logits(T(Z), TARGET, reduction=reduction)) == pytest.approx(
            tf.binary_cross_entropy_with_logits(t(Z), t(TARGET), reduction=reduction).item())
        assert value(L.cross_entropy(T(Z), LABELS, reduction=reduction)) == pytest.approx(
            tf.cross_entropy(t(Z), t(LABELS), reduction=reduction).item())
    normal = torch.distributions.Normal
    kl = torch.distributions.kl_divergence(normal(t(MU), t(np.exp(0.5 * LOGVAR))), normal(0.0, 1.0))
    assert value(L.gaussian_kl(T(MU), T(LOGVAR))) == pytest.approx(kl.sum(dim=1).mean().item())


# --- gradients -------------------------------------------------------------------------------
def central_difference(f, x, h=1e-6):
    """∂f/∂xᵢ ≈ (f(x + h eᵢ) − f(x − h eᵢ)) / 2h for every element i."""
    g = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        up, down = x.copy(), x.copy()
        up[i] += h
        down[i] -= h
        g[i] = (f(up) - f(down)) / (2 * h)
    return g


LOSSES = {  # name: (loss of one float64 array, the point to differentiate at)
    "mse": (lambda x: L.mse(x, TARGET), PRED),
    "mse-none": (lambda x: (L.mse(x, TARGET, reduction="none") * T(Z)).sum(), PRED),
    "sse": (lambda x: L.sse(x, TARGET), PRED),
    "bce": (lambda x: L.bce(x, TARGET), PRED),
    "bce-batchmean": (lambda x: L.bce(x, TARGET, reduction="batchmean"), PRED),
    "bce_with_logits": (lambda z: L.bce_with_logits(z, TARGET), Z),
    "cross_entropy": (lambda z: L.cross_entropy(z, LABELS), Z),
    "gaussian_kl-mu": (lambda m: L.gaussian_kl(m, T(LOGVAR)), MU),
    "gaussian_kl-logvar": (lambda lv: L.gaussian_kl(T(MU), lv), LOGVAR),
    "l1_activity": (lambda h: L.l1_activity(h), Z),
    "kl_sparsity": (lambda h: L.kl_sparsity(h, 0.2), PRED),
    "l2_penalty": (lambda w: L.l2_penalty([w, T(MU)]), Z),
}


@pytest.mark.parametrize("name", LOSSES)
def test_gradient_matches_central_differences(name):
    loss, x0 = LOSSES[name]
    x = T(x0, requires_grad=True)
    loss(x).backward()
    numeric = central_difference(lambda a: value(loss(T(a))), x0)
    np.testing.assert_allclose(x.grad.data, numeric, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("name", ["bce_with_logits", "cross_entropy", "gaussian_kl-logvar",
                                  "kl_sparsity", "bce"])
def test_second_order_matches_central_differences(name):
    """Hessian-vector product H v = ∇(∇L · v) by create_graph, against differences of ∇L."""
    loss, x0 = LOSSES[name]
    v = np.random.default_rng(1).standard_normal(x0.shape)

    def gradient(a, create_graph=False):
        x = T(a, requires_grad=True)
        return x, tinyae.grad(loss(x), x, create_graph=create_graph)

    x, g = gradient(x0, create_graph=True)
    hv, = tinyae.grad((g * T(v)).sum(), [x])
    numeric = central_difference(lambda a: float((gradient(a)[1].data * v).sum()), x0)
    np.testing.assert_allclose(hv.data, numeric, rtol=1e-5, atol=1e-7)


# --- stability, dtypes -----------------------------------------------------------------------
def test_bce_with_logits_is_finite_at_large_logits():
    z = tinyae.Tensor(np.array([-100.0, 100.0, -100.0, 100.0], dtype=np.float32), requires_grad=True)
    y = np.array([0.0, 1.0, 1.0, 0.0])
    loss = L.bce_with_logits(z, y, reduction="none")
    np.testing.assert_allclose(loss.data, [0, 0, 100, 100], atol=1e-6)
    loss.sum().backward()
    np.testing.assert_allclose(z.grad.data, [0, 0, -1, 1], atol=1e-6)  # σ(z) − y
    assert loss.dtype == np.float32 and z.grad.dtype == np.float32


def test_bce_clamps_probabilities_of_exactly_0_and_1():
    p = tinyae.Tensor(np.array([0.0, 1.0, 0.0, 1.0], dtype=np.float32), requires_grad=True)
    loss = L.bce(p, np.array([1.0, 0.0, 0.0, 1.0]), reduction="none")
    assert np.all(np.isfinite(loss.data)) and loss.dtype == np.float32
    assert loss.data[0] == pytest.approx(-np.log(1e-7), rel=1e-3)  # −log(eps)
    loss.sum().backward()
    assert np.all(np.isfinite(p.grad.data))


def test_targets_follow_the_prediction_dtype():
    pred = tinyae.Tensor(PRED.astype(np.float32), requires_grad=True)
    pixels = (TARGET * 255).astype(np.uint8)
    for loss in (L.mse(pred, pixels / 255.0), L.bce(pred, tinyae.Tensor(TARGET)),
                 L.bce_with_logits(pred, TARGET), L.cross_entropy(pred, list(LABELS))):
        assert loss.dtype == np.float32 and loss.shape == ()


def test_kl_sparsity_is_smallest_at_the_target_activation():
    rho = 0.05
    values = {r: value(L.kl_sparsity(T(np.full((8, 5), r)), rho)) for r in (0.01, 0.03, 0.05, 0.08, 0.5)}
    assert values[0.05] == pytest.approx(0, abs=1e-12)
    assert min(values, key=values.get) == 0.05
    assert values[0.03] < values[0.01] and values[0.08] < values[0.5]
    h = T(np.full((8, 5), rho), requires_grad=True)
    L.kl_sparsity(h, rho).backward()
    np.testing.assert_allclose(h.grad.data, 0, atol=1e-10)


# --- errors ----------------------------------------------------------------------------------
def test_shape_mismatch_names_both_shapes():
    with pytest.raises(ValueError, match=r"\(4, 1\).*\(4,\)"):
        L.mse(T(np.zeros((4, 1))), np.zeros(4))
    with pytest.raises(ValueError, match=r"\(4, 3\).*\(3,\)"):
        L.bce_with_logits(T(Z), np.zeros(3))
    with pytest.raises(ValueError, match="mu has shape"):
        L.gaussian_kl(T(MU), T(LOGVAR[:, :2]))


@pytest.mark.parametrize("call, error, match", [
    (lambda: L.cross_entropy(T(Z), np.array([0, 1, 3, 0])), ValueError, r"\[0, 3\)"),
    (lambda: L.cross_entropy(T(Z), np.array([0, -1, 2, 0])), ValueError, r"\[0, 3\)"),
    (lambda: L.cross_entropy(T(Z), LABELS.astype(float)), TypeError, "integers"),
    (lambda: L.cross_entropy(T(Z), LABELS[:3]), ValueError, r"shape \(4,\)"),
    (lambda: L.cross_entropy(T(Z[0]), LABELS[:1]), ValueError, r"\(N, C\)"),
    (lambda: L.bce(T(Z), TARGET), ValueError, "bce_with_logits"),
    (lambda: L.mse(T(PRED), TARGET, reduction="avg"), ValueError, "batchmean"),
    (lambda: L.kl_sparsity(T(PRED), 1.5), ValueError, "rho"),
    (lambda: L.l2_penalty([]), ValueError, "model.parameters"),
    (lambda: L.mse([1.0, 2.0], TARGET), TypeError, "Tensor"),
])
def test_bad_inputs_are_explained(call, error, match):
    with pytest.raises(error, match=match):
        call()


# --- per-pixel cross-entropy (segmentation) ---------------------------------------------------
Z_PIX = rng.standard_normal((2, 3, 2, 4))            # logits (N, C, H, W)
LABELS_PIX = rng.integers(0, 3, (2, 2, 4))           # labels (N, H, W)


def test_cross_entropy_per_pixel_values():
    p = np.exp(Z_PIX) / np.exp(Z_PIX).sum(axis=1, keepdims=True)
    per_pixel = -np.log(np.take_along_axis(p, LABELS_PIX[:, None], axis=1))[:, 0]
    assert value(L.cross_entropy(T(Z_PIX), LABELS_PIX)) == pytest.approx(per_pixel.mean())
    assert value(L.cross_entropy(T(Z_PIX), LABELS_PIX, reduction="batchmean")) == \
        pytest.approx(per_pixel.sum() / 2)
    none = L.cross_entropy(T(Z_PIX), LABELS_PIX, reduction="none")
    assert none.shape == (2, 2, 4)
    np.testing.assert_allclose(none.data, per_pixel)
    # the same as the (N, C) form with one row per pixel
    rows = Z_PIX.transpose(0, 2, 3, 1).reshape(-1, 3)
    assert value(L.cross_entropy(T(rows), LABELS_PIX.ravel())) == pytest.approx(per_pixel.mean())


def test_cross_entropy_per_pixel_matches_torch():
    torch = pytest.importorskip("torch")
    for reduction in ("mean", "sum"):
        assert value(L.cross_entropy(T(Z_PIX), LABELS_PIX, reduction=reduction)) == pytest.approx(
            torch.nn.functional.cross_entropy(torch.tensor(Z_PIX), torch.tensor(LABELS_PIX),
                                              reduction=reduction).item())


def test_cross_entropy_per_pixel_gradients():
    def loss(z):
        return L.cross_entropy(z, LABELS_PIX)
    z = T(Z_PIX, requires_grad=True)
    loss(z).backward()
    np.testing.assert_allclose(z.grad.data, central_difference(lambda a: value(loss(T(a))), Z_PIX),
                               rtol=1e-6, atol=1e-8)
    assert tinyae.gradgradcheck(loss, [Z_PIX])


def test_cross_entropy_per_pixel_shape_errors():
    with pytest.raises(ValueError, match=r"labels must have shape \(2, 2, 4\)"):
        L.cross_entropy(T(Z_PIX), LABELS_PIX[:, :, :1])
    with pytest.raises(ValueError, match=r"\[0, 3\)"):
        L.cross_entropy(T(Z_PIX), LABELS_PIX + 1)
