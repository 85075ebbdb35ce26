"""The autoencoder models: shapes, parameter sharing, gradients, and the two contractive forms."""
import numpy as np
import pytest

import tinyae as ta
from tinyae import nn
from tinyae.models import (Contractive, ConvAutoencoder, GaussianNoise, KLSparsity, L1Sparsity,
                           LinearAE, MaskingNoise, MLPAutoencoder, UNet, jacobian_norm_sq, pca,
                           principal_angles)


@pytest.fixture
def batch():
    return np.random.default_rng(0).random((6, 20)).astype(np.float32)


def test_mlp_shapes_and_mirror(batch):
    model = MLPAutoencoder([20, 12, 8, 3], rng=0)
    assert model.encode(batch).shape == (6, 3)
    assert model(batch).shape == batch.shape
    widths = [(m.in_features, m.out_features) for m in model.decoder if isinstance(m, nn.Linear)]
    assert widths == [(3, 8), (8, 12), (12, 20)]
    out = model(batch).data
    assert out.min() >= 0 and out.max() <= 1  # sigmoid output


def test_tied_weights_share_one_parameter_and_accumulate(batch):
    model = MLPAutoencoder([20, 5], tied=True, rng=0)
    enc, dec = model.encoder[0], model.decoder[0]
    assert dec.weight is enc.weight
    params = list(model.parameters())
    assert sum(p is enc.weight for p in params) == 1
    assert model.num_parameters() == 20 * 5 + 5 + 20
    model.double()
    x = ta.tensor(batch.astype(np.float64))
    model.loss(x).backward()
    total = enc.weight.grad.data.copy()
    # The shared W̄ is the sum of the encoder's and the decoder's contributions: check it
    # against finite differences of the loss in W.
    w, eps, (i, j) = enc.weight.data, 1e-6, (2, 7)
    w[i, j] += eps
    up = model.loss(x).item()
    w[i, j] -= 2 * eps
    down = model.loss(x).item()
    w[i, j] += eps
    assert total[i, j] == pytest.approx((up - down) / (2 * eps), rel=1e-6, abs=1e-9)


def test_model_gradients_match_finite_differences(batch):
    from tinyae.gradcheck import check_module
    model = MLPAutoencoder([20, 7, 3], activation="tanh", rng=1)
    assert check_module(model, batch[:3].astype(np.float64))


def test_linear_ae_reaches_the_pca_subspace():
    rng = np.random.default_rng(0)
    basis = np.linalg.qr(rng.standard_normal((6, 2)))[0]
    x = (rng.standard_normal((400, 2)) * [3.0, 1.0]) @ basis.T + 0.5
    model = LinearAE(6, 2, rng=0)
    from tinyae.optim import Adam
    opt = Adam(model.parameters(), lr=0.02)
    xt = ta.tensor(x.astype(np.float32))
    for _ in range(600):
        opt.zero_grad()
        loss = model.loss(xt)
        loss.backward()
        opt.step()
    ref = pca(x, 2)
    assert loss.item() < 1e-4 and ref.mse(x) < 1e-20
    angles = principal_angles(model.decoder_basis(), ref.components.T)
    assert angles.max() < 1.0


def test_pca_matches_svd():
    x = np.random.default_rng(1).standard_normal((50, 8))
    p = pca(x, 3)
    _, s, vt = np.linalg.svd(x - x.mean(0), full_matrices=False)
    assert np.allclose(p.singular_values, s[:3])
    assert principal_angles(p.components.T, vt[:3].T).max() < 1e-5
    with pytest.raises(ValueError, match="k must be"):
        pca(x, 9)


def test_principal_angles_known_values():
    e = np.eye(3)
    assert np.allclose(principal_angles(e[:, :1], e[:, :1]), [0.0])
    assert np.allclose(principal_angles(e[:, :1], e[:, 1:2]), [90.0])
    tilted = np.array([[1.0], [1.0], [0.0]])
    assert np.allclose(principal_angles(e[:, :1], tilted), [45.0])


def test_conv_autoencoder_shapes_flat_and_images():
    model = ConvAutoencoder(image_shape=(1, 8, 8), channels=(4, 6), latent=5, rng=0)
    x = np.random.default_rng(0).random((3, 64)).astype(np.float32)
    assert model.encode(x).shape == (3, 5)
    assert model(x).shape == (3, 64)
    assert model(x.reshape(3, 1, 8, 8)).shape == (3, 1, 8, 8)
    assert np.isfinite(model.loss(x).item())
    with pytest.raises(ValueError, match="divisible"):
        ConvAutoencoder(image_shape=(1, 10, 10), channels=(4, 6))


def test_upsample_decoder_variant():
    model = ConvAutoencoder(image_shape=(1, 8, 8), channels=(4,), latent=3, decoder="upsample", rng=0)
    x = np.random.default_rng(0).random((2, 64)).astype(np.float32)
    assert model(x).shape == (2, 64)


def test_contractive_closed_form_equals_double_backprop(batch):
    model = MLPAutoencoder([20, 9], activation=None, latent_activation="sigmoid", rng=3).double()
    x = ta.tensor(batch.astype(np.float64), requires_grad=True)
    h = model.encode(x)
    closed = jacobian_norm_sq(model, x, h, "closed_form")
    general = jacobian_norm_sq(model, x, h, "double_backprop")
    assert np.allclose(closed.data, general.data, rtol=1e-12)
    # The penalties' gradients w.r.t. the weights agree as well (second-order backprop).
    w = model.encoder[0].weight
    g1, = ta.grad(closed.mean(), [w], retain_graph=True)
    g2, = ta.grad(general.mean(), [w])
    assert np.allclose(g1.data, g2.data, rtol=1e-10)


def test_contractive_double_backprop_on_deep_encoder_matches_numeric_jacobian():
    model = MLPAutoencoder([4, 5, 3], activation="tanh", latent_activation="sigmoid", rng=0).double()
    x0 = np.random.default_rng(2).standard_normal((2, 4))
    x = ta.tensor(x0, requires_grad=True)
    got = jacobian_norm_sq(model, x, model.encode(x), "double_backprop").data
    eps, want = 1e-6, np.zeros(2)
    for n in range(2):
        for j in range(4):
            up, down = x0.copy(), x0.copy()
            up[n, j] += eps
            down[n, j] -= eps
            col = (model.encode(up).data[n] - model.encode(down).data[n]) / (2 * eps)
            want[n] += (col ** 2).sum()
    assert np.allclose(got, want, rtol=1e-6)
    with pytest.raises(ValueError, match="closed-form"):
        jacobian_norm_sq(model, x, model.encode(x), "closed_form")


def test_regularisers_add_their_terms(batch):
    model = MLPAutoencoder([20, 6], latent_activation="sigmoid", rng=0,
                           regularizers=[KLSparsity(0.05, 2.0), L1Sparsity(0.1), Contractive(0.5)])
    total, parts = model.loss(batch, return_parts=True)
    assert set(parts) == {"reconstruction", "kl_sparsity", "l1_sparsity", "contractive"}
    assert total.item() == pytest.approx(sum(parts.values()), rel=1e-5)
    total.backward()
    assert all(p.grad is not None for p in model.parameters())


def test_denoising_corrupts_only_in_training(batch):
    noisy = MLPAutoencoder([20, 6], rng=0, corruption=MaskingNoise(0.5, seed=0))
    clean = MLPAutoencoder([20, 6], rng=0)
    assert noisy.loss(batch).item() != pytest.approx(clean.loss(batch).item())
    noisy.eval(), clean.eval()
    assert noisy.loss(batch).item() == pytest.approx(clean.loss(batch).item())
    out = GaussianNoise(0.3, seed=1)(batch)
    assert out.dtype == batch.dtype and out.min() >= 0 and out.max() <= 1


def test_bad_arguments_are_clear():
    with pytest.raises(ValueError, match="sizes"):
        MLPAutoencoder([784])
    with pytest.raises(ValueError, match="activation"):
        MLPAutoencoder([4, 2], activation="swish")
    with pytest.raises(ValueError, match="reconstruction"):
        MLPAutoencoder([4, 2], reconstruction="l3")


def test_model_zoo_builds_every_entry_with_its_loss():
    from tinyae.models import MODELS, build
    counts = {"shallow": 784 * 8 + 8 + 8 * 784 + 784,
              "hinton": 2_837_314 - 2 * 250 * (30 - 8) - (30 - 8)}  # benchmark's deep, k 30 → 8
    for name in MODELS:
        model = build(name, latent=8, rng=0)
        x = np.random.default_rng(0).random((2, 784)).astype(np.float32)
        assert model(x).shape == (2, 784), name
        assert np.isfinite(model.loss(x).item()), name
        if name in counts:
            assert model.num_parameters() == counts[name], name
    assert build("hinton").sizes == [784, 1000, 500, 250, 30]
    assert build("conv", latent_activation=None).encoder[-1].__class__.__name__ == "Linear"
    with pytest.raises(ValueError, match="unknown model"):
        build("wide")


# --- UNet ---------------------------------------------------------------------------------------
def test_unet_shapes_with_and_without_skips():
    x = np.random.default_rng(0).random((3, 2, 16, 12)).astype(np.float32)
    with_skips = UNet(2, 5, channels=(4, 6, 8), rng=0)
    without = UNet(2, 5, channels=(4, 6, 8), skips=False, rng=0)
    for model in (with_skips, without):
        y = model(x)
        assert y.shape == (3, 5, 16, 12) and y.dtype == np.float32
    # the decoder blocks of the skip version see twice the channels: more weights, same output
    n = [sum(p.size for p in m.parameters()) for m in (with_skips, without)]
    assert n[0] - n[1] == (6 * 6 + 4 * 4) * 9          # extra input channels of the first convs
    assert with_skips.up_blocks[0][0].in_channels == 12 and without.up_blocks[0][0].in_channels == 6


def test_unet_skips_are_a_second_path():
    """Cut the upsampling path (its transposed convs all zero): with skips the output still
    follows the input, through the concatenated encoder features; without, it ignores it."""
    x = np.random.default_rng(1).random((2, 1, 8, 8))
    for skips in (True, False):
        model = UNet(1, 1, channels=(3, 4), skips=skips, rng=1)
        for p in model.up.parameters():
            p.data[...] = 0
        same = np.array_equal(model(x).data, model(x[::-1]).data)
        assert same != skips


def test_unet_gradients_and_losses():
    rng = np.random.default_rng(2)
    model = UNet(1, 3, channels=(2, 3), rng=0)
    assert ta.check_module(model, rng.random((2, 1, 4, 4)))
    labels = rng.integers(0, 3, (2, 4, 4))
    seg = UNet(1, 3, channels=(2, 3), loss="cross_entropy", rng=0)
    loss = seg.loss(rng.random((2, 1, 4, 4)).astype(np.float32), labels)
    assert loss.shape == () and loss.item() > 0
    img = UNet(1, 1, channels=(2, 3), output_activation="sigmoid", loss="bce", rng=0)
    out = img(rng.random((2, 1, 4, 4)))
    assert 0 <= out.data.min() and out.data.max() <= 1


def test_unet_learns_a_segmentation():
    """40 steps of Adam on one batch of scenes: the per-pixel cross-entropy falls well below the
    entropy of the class frequencies, the best any answer that ignores the image can do."""
    from tinyae import optim
    from tinyae.data import shapes_scenes
    x, y = shapes_scenes(8, size=16, seed=0, radius=(2.0, 5.0))
    share = np.bincount(y.ravel()) / y.size
    prior_entropy = -(share * np.log(share)).sum()
    model = UNet(1, 4, channels=(4, 8), batchnorm=True, loss="cross_entropy", rng=0)
    opt = optim.Adam(model.parameters(), lr=1e-2)
    for _ in range(40):
        loss = model.loss(x, y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert loss.item() < 0.7 * prior_entropy


def test_unet_errors():
    with pytest.raises(ValueError, match="divisible by 4"):
        UNet(1, 1, channels=(2, 3, 4))(np.zeros((1, 1, 6, 8)))
    with pytest.raises(ValueError, match=r"\(N, 2, H, W\)"):
        UNet(2, 1, channels=(2, 3))(np.zeros((1, 1, 4, 4)))
    with pytest.raises(ValueError, match="channels"):
        UNet(1, 1, channels=(4,))
    with pytest.raises(ValueError, match="loss"):
        UNet(1, 1, loss="hinge")
    with pytest.raises(ValueError, match="activation"):
        UNet(1, 1, output_activation="sigmoidd")
