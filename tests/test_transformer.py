"""Transformer parts (tinyae/nn/transformer.py) and the masked autoencoder (models/masked.py):
shapes, gradchecks first and second order, attention's rows, masking, and PyTorch where present."""
import numpy as np
import pytest

import tinyae
from tinyae import nn, no_grad, optim
from tinyae.gradcheck import check_module, gradcheck, gradgradcheck
from tinyae.models import MaskedAutoencoder
from tinyae.nn.transformer import (MultiheadAttention, TransformerBlock, patchify,
                                   random_masking, restore_order, scaled_dot_product_attention,
                                   sincos_pos_embed_2d, unpatchify)

rng = np.random.default_rng(0)


def _qkv(n=2, h=2, t=3, s=4, d=5, dv=3, seed=0):
    r = np.random.default_rng(seed)
    return r.standard_normal((n, h, t, d)), r.standard_normal((n, h, s, d)), r.standard_normal((n, h, s, dv))


def small_mae(**kw):
    args = dict(image_size=8, patch=4, dim=8, depth=1, heads=2, decoder_dim=4, decoder_depth=1,
                rng=0, mask_seed=0)
    args.update(kw)
    return MaskedAutoencoder(**args)


# --- attention ---------------------------------------------------------------------------
def test_attention_shapes_and_rows_sum_to_one():
    q, k, v = (tinyae.Tensor(a.astype(np.float32)) for a in _qkv())
    y, a = scaled_dot_product_attention(q, k, v, return_weights=True)
    assert y.shape == (2, 2, 3, 3) and a.shape == (2, 2, 3, 4)
    assert y.dtype == np.float32
    np.testing.assert_allclose(a.data.sum(axis=-1), 1.0, rtol=1e-6)
    assert (a.data >= 0).all()


def test_attention_matches_its_definition():
    q, k, v = _qkv()
    s = q @ k.swapaxes(-1, -2) / np.sqrt(q.shape[-1])
    a = np.exp(s - s.max(-1, keepdims=True))
    a /= a.sum(-1, keepdims=True)
    y = scaled_dot_product_attention(*(tinyae.Tensor(x) for x in (q, k, v)))
    np.testing.assert_allclose(y.data, a @ v, rtol=1e-12)


def test_attention_gradcheck_first_and_second_order():
    inputs = _qkv(n=1, h=2, t=3, s=2, d=2, dv=2)
    assert gradcheck(scaled_dot_product_attention, inputs)
    assert gradgradcheck(scaled_dot_product_attention, inputs)


def test_multihead_attention_shapes_and_gradcheck():
    mha = MultiheadAttention(4, 2, rng=0)
    x = rng.standard_normal((2, 3, 4))
    y, w = mha(tinyae.Tensor(x.astype(np.float32)), return_weights=True)
    assert y.shape == (2, 3, 4) and w.shape == (2, 2, 3, 3)
    np.testing.assert_allclose(w.data.sum(-1), 1.0, rtol=1e-6)
    assert check_module(mha, x)


def test_transformer_block_shapes_and_gradcheck():
    block = TransformerBlock(4, 2, mlp_ratio=2, rng=0)
    x = rng.standard_normal((2, 3, 4))
    assert block(tinyae.Tensor(x.astype(np.float32))).shape == (2, 3, 4)
    assert check_module(block, x)


def test_transformer_block_second_order():
    block = TransformerBlock(4, 2, mlp_ratio=1, rng=0).double()
    assert gradgradcheck(lambda x: block(x), (rng.standard_normal((1, 3, 4)),))


def test_mha_rejects_indivisible_heads():
    with pytest.raises(ValueError, match="divisible"):
        MultiheadAttention(6, 4)


# --- positions, patches, masking ---------------------------------------------------------
def test_sincos_pos_embed_2d():
    e = sincos_pos_embed_2d(16, 3)
    assert e.shape == (9, 16) and e.dtype == np.float32
    # patch (row, col) = (1, 2) is token 5: first half codes the row, second half the column
    np.testing.assert_allclose(e[5, 0], np.sin(1.0), rtol=1e-6)
    np.testing.assert_allclose(e[5, 8], np.sin(2.0), rtol=1e-6)
    np.testing.assert_allclose(e[5, 4], np.cos(1.0), rtol=1e-6)
    assert len({tuple(r) for r in e.round(5)}) == 9  # every position distinct
    with pytest.raises(ValueError):
        sincos_pos_embed_2d(6, 3)


def test_patchify_roundtrip_and_layout():
    x = rng.random((3, 784)).astype(np.float32)
    p = patchify(x, 7, 28)
    assert p.shape == (3, 16, 49)
    img = x.reshape(3, 28, 28)
    np.testing.assert_array_equal(p[:, 5], img[:, 7:14, 7:14].reshape(3, 49))  # grid (1, 1)
    np.testing.assert_array_equal(unpatchify(p, 7, 28), x)
    t = patchify(tinyae.Tensor(x), 4, 28)
    assert t.shape == (3, 49, 16)
    np.testing.assert_array_equal(unpatchify(t, 4, 28).data, x)


def test_patchify_channels_roundtrip():
    x = rng.random((2, 3, 8, 8))
    np.testing.assert_array_equal(unpatchify(patchify(x, 4, 8, 3), 4, 8, 3), x.reshape(2, -1))


def test_masking_is_a_per_sample_permutation_prefix_and_restore_is_exact():
    n, p, d, ratio = 5, 16, 3, 0.75
    x = rng.standard_normal((n, p, d))
    kept, mask, ids_restore = random_masking(tinyae.Tensor(x), ratio, rng=7)
    keep = int(p * (1 - ratio))
    assert kept.shape == (n, keep, d) and mask.shape == (n, p)
    ids_shuffle = np.argsort(ids_restore, axis=1)         # the permutation, recovered
    for i in range(n):
        assert sorted(ids_shuffle[i]) == list(range(p))   # a permutation of the tokens
        np.testing.assert_array_equal(kept.data[i], x[i, ids_shuffle[i, :keep]])  # its prefix
        assert set(np.flatnonzero(mask[i] == 0)) == set(ids_shuffle[i, :keep])
    assert (mask.sum(1) == p - keep).all()
    assert len({tuple(r) for r in ids_shuffle}) > 1       # per sample, not one mask for all
    hidden = x[np.arange(n)[:, None], ids_shuffle[:, keep:]]
    shuffled = np.concatenate([kept.data, hidden], axis=1)
    np.testing.assert_array_equal(restore_order(tinyae.Tensor(shuffled), ids_restore).data, x)


def test_masking_is_deterministic_by_seed():
    x = tinyae.Tensor(rng.standard_normal((4, 9, 2)))
    a = random_masking(x, 0.5, rng=3)
    b = random_masking(x, 0.5, rng=3)
    c = random_masking(x, 0.5, rng=4)
    np.testing.assert_array_equal(a[1], b[1])
    assert not np.array_equal(a[1], c[1])
    with pytest.raises(ValueError, match="keep"):
        random_masking(x, 1.0, rng=0)


def test_masking_gradcheck():
    x = rng.standard_normal((2, 4, 3))
    assert gradcheck(lambda t: random_masking(t, 0.5, rng=1)[0], (x,))
    assert gradgradcheck(lambda t: random_masking(t, 0.5, rng=1)[0] ** 2, (x,))


# --- the masked autoencoder ---------------------------------------------------------------
def test_mae_shapes():
    m = MaskedAutoencoder(28, 7, 16, 1, 2, 8, 1, rng=0, mask_seed=0)
    x = rng.random((3, 784)).astype(np.float32)
    pred, mask = m(x)
    assert pred.shape == (3, 16, 49) and mask.shape == (3, 16)
    assert (mask.sum(1) == 12).all()
    assert m.features(x).shape == (3, 16)
    masked, recon, pixel_mask = m.reconstruct(x, seed=0)
    assert masked.shape == recon.shape == pixel_mask.shape == (3, 784)
    assert pixel_mask.mean() == pytest.approx(0.75)
    np.testing.assert_array_equal(masked[pixel_mask == 1], 0)
    np.testing.assert_array_equal(masked[pixel_mask == 0], x[pixel_mask == 0])
    loss = m.loss(x)
    assert loss.shape == () and loss.dtype == np.float32


def test_mae_loss_counts_only_hidden_patches():
    m = small_mae()
    x = rng.random((4, 64)).astype(np.float32)
    m.mask_rng = np.random.default_rng(5)
    pred, mask = m(x)
    target = patchify(x, 4, 8)
    expected = (((pred.data - target) ** 2).mean(-1) * mask).sum() / mask.sum()
    m.mask_rng = np.random.default_rng(5)
    assert m.loss(x).item() == pytest.approx(expected, rel=1e-5)


def test_mae_gradcheck_all_parameters():
    m = small_mae()
    x = rng.random((2, 64))

    class Loss(nn.Module):  # a deterministic function of x: the same masks on every call
        def __init__(self):
            super().__init__()
            self.mae = m

        def forward(self, x):
            m.mask_rng = np.random.default_rng(0)
            return m.loss(x)

    assert check_module(Loss(), x, check_input=False, directional=True)


def test_mae_norm_pix_loss_and_reconstruct():
    m = small_mae(norm_pix_loss=True)
    x = rng.random((2, 64)).astype(np.float32)
    t = m.target(x)
    np.testing.assert_allclose(t.mean(-1), 0, atol=1e-5)
    assert np.isfinite(m.loss(x).item())
    assert m.reconstruct(x, seed=0)[1].shape == (2, 64)


def test_mae_learns_on_a_tiny_set():
    m = small_mae(mask_ratio=0.5)
    x = np.random.default_rng(1).random((16, 64)).astype(np.float32)
    opt = optim.Adam(m.parameters(), lr=3e-3)
    first = m.loss(x).item()
    for _ in range(60):
        opt.zero_grad()
        m.loss(x).backward()
        opt.step()
    assert m.loss(x).item() < 0.5 * first


def test_mae_rejects_bad_arguments():
    with pytest.raises(ValueError, match="multiple"):
        MaskedAutoencoder(28, 5, 8, 1, 2, 4, 1)
    with pytest.raises(ValueError, match="mask_ratio"):
        MaskedAutoencoder(28, 7, 8, 1, 2, 4, 1, mask_ratio=1.0)


# --- against PyTorch ----------------------------------------------------------------------
def test_attention_matches_torch():
    torch = pytest.importorskip("torch")
    q, k, v = _qkv(n=2, h=3, t=4, s=5, d=6, dv=7)
    tq, tk, tv = (torch.tensor(a, requires_grad=True) for a in (q, k, v))
    ty = torch.nn.functional.scaled_dot_product_attention(tq, tk, tv)
    ybar = rng.standard_normal(ty.shape)
    ty.backward(torch.tensor(ybar))
    xs = [tinyae.Tensor(a, requires_grad=True) for a in (q, k, v)]
    y = scaled_dot_product_attention(*xs)
    y.backward(ybar)
    np.testing.assert_allclose(y.data, ty.detach().numpy(), rtol=1e-10, atol=1e-12)
    for x, t in zip(xs, (tq, tk, tv)):
        np.testing.assert_allclose(x.grad.data, t.grad.numpy(), rtol=1e-9, atol=1e-12)


def test_multihead_attention_matches_torch():
    torch = pytest.importorskip("torch")
    dim, heads = 8, 2
    mha = MultiheadAttention(dim, heads, rng=0).double()
    ref = torch.nn.MultiheadAttention(dim, heads, batch_first=True, dtype=torch.float64)
    with torch.no_grad():
        ref.in_proj_weight.copy_(torch.tensor(np.concatenate(
            [mha.q.weight.data, mha.k.weight.data, mha.v.weight.data])))
        ref.in_proj_bias.copy_(torch.tensor(np.concatenate(
            [mha.q.bias.data, mha.k.bias.data, mha.v.bias.data])))
        ref.out_proj.weight.copy_(torch.tensor(mha.proj.weight.data))
        ref.out_proj.bias.copy_(torch.tensor(mha.proj.bias.data))
    x = rng.standard_normal((3, 5, dim))
    tx = torch.tensor(x, requires_grad=True)
    ty, tw = ref(tx, tx, tx, need_weights=True, average_attn_weights=False)
    ybar = rng.standard_normal(ty.shape)
    ty.backward(torch.tensor(ybar))
    xt = tinyae.Tensor(x, requires_grad=True)
    y, w = mha(xt, return_weights=True)
    y.backward(ybar)
    np.testing.assert_allclose(y.data, ty.detach().numpy(), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(w.data, tw.detach().numpy(), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(xt.grad.data, tx.grad.numpy(), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(mha.proj.weight.grad.data, ref.out_proj.weight.grad.numpy(),
                               rtol=1e-9, atol=1e-12)


def test_features_ignore_masking_and_need_no_decoder():
    m = small_mae()
    x = rng.random((3, 64)).astype(np.float32)
    with no_grad():
        a = m.features(x).data
        m.decoder_pred.weight.data[...] = 0
        b = m.features(x).data
    np.testing.assert_array_equal(a, b)
