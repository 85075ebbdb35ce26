"""conv2d, conv_transpose2d, pooling, upsampling and dropout: forward against plain nested-loop
references (and PyTorch when installed), error signals against finite differences (first and
second order), error messages, dropout statistics."""
import itertools

import numpy as np
import pytest

from tinyae import Tensor, grad
from tinyae.functional.conv import col2im, conv2d, conv_transpose2d, im2col
from tinyae.functional.pool import avg_pool2d, max_pool2d, upsample
from tinyae.functional.random import dropout, mask
from tinyae.gradcheck import gradcheck, gradgradcheck


# --- nested-loop references, written the slow and obvious way ------------------------------

def conv2d_loops(x, w, b, stride, padding, dilation):
    N, C, H, W = x.shape
    O, _, kh, kw = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    Ho = (H + 2 * padding - dilation * (kh - 1) - 1) // stride + 1
    Wo = (W + 2 * padding - dilation * (kw - 1) - 1) // stride + 1
    y = np.zeros((N, O, Ho, Wo))
    for n, o, u, v in itertools.product(range(N), range(O), range(Ho), range(Wo)):
        total = b[o] if b is not None else 0.0
        for c, i, j in itertools.product(range(C), range(kh), range(kw)):
            total += w[o, c, i, j] * xp[n, c, u * stride + i * dilation, v * stride + j * dilation]
        y[n, o, u, v] = total
    return y


def conv_transpose2d_loops(x, w, b, stride, padding, output_padding, dilation):
    """Every input pixel scatters its kernel-weighted copy onto the output."""
    N, C, H, W = x.shape
    _, O, kh, kw = w.shape
    Ho = (H - 1) * stride - 2 * padding + dilation * (kh - 1) + output_padding + 1
    Wo = (W - 1) * stride - 2 * padding + dilation * (kw - 1) + output_padding + 1
    big = np.zeros((N, O, Ho + 2 * padding, Wo + 2 * padding))
    for n, c, h, ww, o, i, j in itertools.product(range(N), range(C), range(H), range(W),
                                                  range(O), range(kh), range(kw)):
        u, v = h * stride + i * dilation, ww * stride + j * dilation
        big[n, o, u, v] += x[n, c, h, ww] * w[c, o, i, j]
    y = big[:, :, padding:padding + Ho, padding:padding + Wo]
    return y + (b.reshape(1, -1, 1, 1) if b is not None else 0.0)


def pool_loops(x, k, stride, padding, reduce, fill):
    N, C, H, W = x.shape
    xp = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)), constant_values=fill)
    Ho, Wo = (H + 2 * padding - k) // stride + 1, (W + 2 * padding - k) // stride + 1
    y = np.zeros((N, C, Ho, Wo))
    for n, c, u, v in itertools.product(range(N), range(C), range(Ho), range(Wo)):
        y[n, c, u, v] = reduce(xp[n, c, u * stride:u * stride + k, v * stride:v * stride + k])
    return y


def upsample_loops(x, s):
    N, C, H, W = x.shape
    y = np.zeros((N, C, H * s, W * s))
    for n, c, u, v in itertools.product(range(N), range(C), range(H * s), range(W * s)):
        y[n, c, u, v] = x[n, c, u // s, v // s]
    return y


# kernel, stride, padding, dilation
GEOMETRIES = [(3, 1, 1, 1), (3, 2, 1, 1), (2, 2, 0, 1), (3, 1, 0, 2), (1, 1, 0, 1),
              (3, 3, 2, 1), (2, 1, 1, 2)]
CHANNELS = [(2, 3), (3, 2), (1, 1)]  # (C_in, C_out): C_out < C_in takes the swapped route


@pytest.mark.parametrize("k,s,p,d", GEOMETRIES)
@pytest.mark.parametrize("c_in,c_out", CHANNELS)
def test_conv2d_matches_loops(rng, k, s, p, d, c_in, c_out):
    x = rng.standard_normal((2, c_in, 6, 5))
    w, b = rng.standard_normal((c_out, c_in, k, k)), rng.standard_normal(c_out)
    y = conv2d(Tensor(x), Tensor(w), Tensor(b), stride=s, padding=p, dilation=d)
    np.testing.assert_allclose(y.data, conv2d_loops(x, w, b, s, p, d), atol=1e-12)


# output_padding ranges over 0 … max(stride, dilation) − 1, all that PyTorch allows
TRANSPOSE_GEOMETRIES = [g + (op,) for g in GEOMETRIES for op in range(max(g[1], g[3]))]


@pytest.mark.parametrize("k,s,p,d,op", TRANSPOSE_GEOMETRIES)
@pytest.mark.parametrize("c_in,c_out", CHANNELS)
def test_conv_transpose2d_matches_loops(rng, k, s, p, d, op, c_in, c_out):
    x = rng.standard_normal((2, c_in, 3, 4))
    w, b = rng.standard_normal((c_in, c_out, k, k)), rng.standard_normal(c_out)
    y = conv_transpose2d(Tensor(x), Tensor(w), Tensor(b), s, p, op, d)
    np.testing.assert_allclose(y.data, conv_transpose2d_loops(x, w, b, s, p, op, d), atol=1e-12)


def conv2d_loops_pairs(x, w, stride, padding, dilation):
    """The loop reference with a separate stride, padding and dilation per axis."""
    (sh, sw), (ph, pw), (dh, dw) = stride, padding, dilation
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    kh, kw = w.shape[2:]
    Ho = (xp.shape[2] - dh * (kh - 1) - 1) // sh + 1
    Wo = (xp.shape[3] - dw * (kw - 1) - 1) // sw + 1
    y = np.zeros((x.shape[0], w.shape[0], Ho, Wo))
    for u, v, i, j in itertools.product(range(Ho), range(Wo), range(kh), range(kw)):
        patch = xp[:, :, u * sh + i * dh, v * sw + j * dw]           # (N, C)
        y[:, :, u, v] += patch @ w[:, :, i, j].T
    return y


def test_pair_arguments_and_no_bias(rng):
    x, w = rng.standard_normal((1, 2, 7, 6)), rng.standard_normal((3, 2, 3, 2))
    y = conv2d(x, w, stride=(2, 1), padding=(1, 0), dilation=(1, 2))
    np.testing.assert_allclose(y.data, conv2d_loops_pairs(x, w, (2, 1), (1, 0), (1, 2)))
    assert y.shape == (1, 3, 4, 4)
    wt = rng.standard_normal((2, 3, 2, 3))
    assert conv_transpose2d(x, wt, stride=(2, 3), padding=(0, 1), output_padding=(1, 2)).shape == \
        (1, 3, 15, 18)


@pytest.mark.parametrize("k,s,p", [(2, None, 0), (3, 2, 1), (3, 1, 1), (2, 1, 0), (3, 3, 0)])
def test_pools_match_loops(rng, k, s, p):
    x = rng.standard_normal((2, 3, 7, 6))
    stride = s or k
    np.testing.assert_allclose(max_pool2d(x, k, s, p).data,
                               pool_loops(x, k, stride, p, np.max, -np.inf), atol=1e-12)
    np.testing.assert_allclose(avg_pool2d(x, k, s, p).data,
                               pool_loops(x, k, stride, p, np.mean, 0.0), atol=1e-12)


@pytest.mark.parametrize("s", [1, 2, 3])
def test_upsample_matches_loops(rng, s):
    x = rng.standard_normal((2, 3, 3, 4))
    np.testing.assert_allclose(upsample(Tensor(x), s).data, upsample_loops(x, s))


def test_im2col_and_col2im_are_adjoint(rng):
    """⟨im2col(x), c⟩ = ⟨x, col2im(c)⟩: col2im is the transpose of im2col."""
    x = rng.standard_normal((2, 3, 7, 5))
    cols = im2col(x, (3, 2), stride=2, padding=1, dilation=(1, 2))
    c = rng.standard_normal(cols.shape)
    back = col2im(c, x.shape, (3, 2), stride=2, padding=1, dilation=(1, 2))
    assert np.isclose((cols.data * c).sum(), (x * back.data).sum())


def test_input_memory_layout_does_not_matter(rng):
    """Results come back as views with the batch innermost; feeding either layout agrees."""
    x = rng.standard_normal((4, 3, 6, 6))
    x_chwn = np.ascontiguousarray(x.transpose(1, 2, 3, 0)).transpose(3, 0, 1, 2)
    w = rng.standard_normal((2, 3, 3, 3))
    for f in (lambda a: conv2d(a, w, padding=1), lambda a: max_pool2d(a, 2),
              lambda a: upsample(Tensor(a), 2), lambda a: avg_pool2d(a, 3, 1, 1)):
        np.testing.assert_allclose(f(x).data, f(x_chwn).data, atol=1e-12)


def test_float32_stays_float32(rng):
    x = Tensor(rng.standard_normal((2, 3, 8, 8)).astype(np.float32), requires_grad=True)
    w = Tensor(rng.standard_normal((4, 3, 3, 3)).astype(np.float32), requires_grad=True)
    wt = Tensor(rng.standard_normal((4, 3, 3, 3)).astype(np.float32), requires_grad=True)
    h = max_pool2d(conv2d(x, w, padding=1), 2)
    y = upsample(conv_transpose2d(h, wt, stride=2, padding=1, output_padding=1), 2)
    y = dropout(avg_pool2d(y, 2), 0.5, rng=0)
    assert y.dtype == np.float32
    y.sum().backward()
    assert x.grad.dtype == w.grad.dtype == wt.grad.dtype == np.float32


# --- PyTorch as a second reference -----------------------------------------------------------

def _torch_pair(fn_tiny, fn_torch, arrays):
    """Outputs and input gradients (for ȳ = r) of both libraries on the same float64 data."""
    torch = pytest.importorskip("torch")
    r = None
    out = []
    for lib in ("tinyae", "torch"):
        if lib == "tinyae":
            ts = [Tensor(a, requires_grad=True) for a in arrays]
            y = fn_tiny(*ts)
            r = np.random.default_rng(1).standard_normal(y.shape)
            (y * Tensor(r)).sum().backward()
            out.append((y.data, [t.grad.data for t in ts]))
        else:
            ts = [torch.tensor(a, requires_grad=True) for a in arrays]
            y = fn_torch(*ts)
            (y * torch.tensor(r)).sum().backward()
            out.append((y.detach().numpy(), [t.grad.numpy() for t in ts]))
    return out


@pytest.mark.parametrize("k,s,p,d", GEOMETRIES)
@pytest.mark.parametrize("c_in,c_out", [(3, 2), (2, 4)])
def test_conv_against_torch(rng, k, s, p, d, c_in, c_out):
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    x = rng.standard_normal((2, c_in, 7, 6))
    w, b = rng.standard_normal((c_out, c_in, k, k)), rng.standard_normal(c_out)
    (y, grads), (yt, grads_t) = _torch_pair(
        lambda *t: conv2d(*t, stride=s, padding=p, dilation=d),
        lambda *t: F.conv2d(*t, stride=s, padding=p, dilation=d), (x, w, b))
    np.testing.assert_allclose(y, yt, atol=1e-10)
    for g, gt in zip(grads, grads_t):
        np.testing.assert_allclose(g, gt, atol=1e-10)
    op = max(s, d) - 1
    wt = rng.standard_normal((c_in, c_out, k, k))
    (y, grads), (yt, grads_t) = _torch_pair(
        lambda *t: conv_transpose2d(*t, stride=s, padding=p, output_padding=op, dilation=d),
        lambda *t: F.conv_transpose2d(*t, stride=s, padding=p, output_padding=op, dilation=d),
        (x, wt, b))
    np.testing.assert_allclose(y, yt, atol=1e-10)
    for g, gt in zip(grads, grads_t):
        np.testing.assert_allclose(g, gt, atol=1e-10)


@pytest.mark.parametrize("k,s,p", [(2, None, 0), (3, 2, 1), (3, 1, 1)])
def test_pools_and_upsample_against_torch(rng, k, s, p):
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    x = rng.permutation(2 * 3 * 8 * 7).reshape(2, 3, 8, 7) * 0.1  # distinct: no ties in max
    for ours, theirs in ((max_pool2d, F.max_pool2d), (avg_pool2d, F.avg_pool2d)):
        (y, (g,)), (yt, (gt,)) = _torch_pair(lambda t: ours(t, k, s, p),
                                             lambda t: theirs(t, k, s, p), (x,))
        np.testing.assert_allclose(y, yt, atol=1e-10)
        np.testing.assert_allclose(g, gt, atol=1e-10)
    (y, (g,)), (yt, (gt,)) = _torch_pair(
        lambda t: upsample(t, 2), lambda t: F.interpolate(t, scale_factor=2, mode="nearest"), (x,))
    np.testing.assert_allclose(y, yt)
    np.testing.assert_allclose(g, gt)


# --- finite differences, first and second order ----------------------------------------------

@pytest.mark.parametrize("k,s,p,d", [(3, 2, 1, 1), (2, 1, 1, 2), (3, 1, 1, 1)])
@pytest.mark.parametrize("c_in,c_out", [(2, 3), (3, 2)])
def test_conv_gradchecks(rng, k, s, p, d, c_in, c_out):
    x = rng.standard_normal((2, c_in, 5, 4))
    w, b = rng.standard_normal((c_out, c_in, k, k)), rng.standard_normal(c_out)
    f = lambda x, w, b: conv2d(x, w, b, s, p, d)  # noqa: E731
    assert gradcheck(f, (x, w, b)) and gradgradcheck(f, (x, w, b))
    xt, wt = rng.standard_normal((2, c_in, 3, 2)), rng.standard_normal((c_in, c_out, k, k))
    op = max(s, d) - 1
    g = lambda x, w, b: conv_transpose2d(x, w, b, s, p, op, d)  # noqa: E731
    assert gradcheck(g, (xt, wt, b)) and gradgradcheck(g, (xt, wt, b))


@pytest.mark.parametrize("k,s,p", [(2, None, 0), (3, 2, 1), (2, 1, 1)])
def test_pool_gradchecks(rng, k, s, p):
    x = (rng.permutation(2 * 2 * 5 * 4) * 0.1).reshape(2, 2, 5, 4)  # distinct: no ties
    for f in (lambda t: max_pool2d(t, k, s, p), lambda t: avg_pool2d(t, k, s, p)):
        assert gradcheck(f, (x,)) and gradgradcheck(f, (x,))
    f = lambda t: upsample(t, (2, 3))  # noqa: E731
    assert gradcheck(f, (x,)) and gradgradcheck(f, (x,))


def test_max_pool_routes_error_to_the_winner():
    x = Tensor(np.array([[[[1.0, 5.0], [3.0, 2.0]]]]), requires_grad=True)
    max_pool2d(x, 2).sum().backward()
    np.testing.assert_array_equal(x.grad.data, [[[[0.0, 1.0], [0.0, 0.0]]]])


def test_hessian_vector_product_through_conv(rng):
    """Second order through a nonlinearity: the HVP of L = Σ tanh(conv(x))² matches finite
    differences of the gradient."""
    w = rng.standard_normal((2, 1, 3, 3))
    x0, v = rng.standard_normal((1, 1, 5, 5)), rng.standard_normal((1, 1, 5, 5))

    def gradient(x, create_graph=False):
        y = conv2d(x, Tensor(w), padding=1).tanh()
        return grad((y * y).sum(), x, create_graph=create_graph)

    x = Tensor(x0, requires_grad=True)
    hvp = grad((gradient(x, True) * Tensor(v)).sum(), x).data
    eps = 1e-6
    numeric = (gradient(Tensor(x0 + eps * v, requires_grad=True)).data -
               gradient(Tensor(x0 - eps * v, requires_grad=True)).data) / (2 * eps)
    np.testing.assert_allclose(hvp, numeric, atol=1e-6)


def test_mask_gradchecks(rng):
    m = (rng.random((3, 4)) < 0.5) * 2.0
    f = lambda t: mask(t, m)  # noqa: E731
    x = rng.standard_normal((3, 4))
    assert gradcheck(f, (x,)) and gradgradcheck(f, (x,))


# --- errors speak the user's language --------------------------------------------------------

Z = np.zeros
W3 = np.zeros((4, 1, 3, 3))


@pytest.mark.parametrize("call,words", [
    (lambda: conv2d(Z((1, 3, 8, 8)), Z((4, 2, 3, 3))), ["conv2d", "3 channels", "expects 2"]),
    (lambda: conv2d(Z((1, 1, 2, 2)), W3), ["conv2d", "too small", "padding"]),
    (lambda: conv2d(Z((1, 1, 8, 8)), W3, stride=0), ["conv2d", "stride", "≥ 1"]),
    (lambda: conv2d(Z((1, 1, 8, 8)), W3, padding=-1), ["conv2d", "padding"]),
    (lambda: conv2d(Z((1, 1, 8, 8)), W3, stride=1.5), ["conv2d", "stride"]),
    (lambda: conv2d(Z((1, 8, 8)), W3), ["conv2d", "4-D", "reshape(1, C, H, W)"]),
    (lambda: conv2d(Z((1, 1, 8, 8)), W3, np.zeros(3)), ["conv2d", "bias", "(4,)"]),
    (lambda: conv2d(Z((1, 3, 8, 8)), Z((1, 3, 3, 3)), Z(2), padding=1), ["conv2d:", "bias"]),
    (lambda: conv_transpose2d(np.zeros((1, 3, 4, 4)), np.zeros((4, 3, 3, 3))),
     ["conv_transpose2d", "3 channels", "C_in × C_out"]),
    (lambda: conv_transpose2d(np.zeros((1, 3, 4, 4)), np.zeros((3, 2, 3, 3)), stride=2,
                              output_padding=2), ["conv_transpose2d", "output_padding", "stride"]),
    (lambda: conv_transpose2d(np.zeros((1, 3, 1, 1)), np.zeros((3, 2, 1, 1)), padding=1),
     ["conv_transpose2d", "padding"]),
    (lambda: max_pool2d(np.zeros((1, 1, 4, 4)), 2, padding=2), ["max_pool2d", "half the kernel"]),
    (lambda: avg_pool2d(np.zeros((1, 1, 2, 2)), 3), ["avg_pool2d", "too small"]),
    (lambda: max_pool2d(np.zeros((4, 4)), 2), ["max_pool2d", "4-D"]),
    (lambda: upsample(Tensor(np.zeros((1, 1, 2, 2))), 0), ["upsample", "scale_factor"]),
    (lambda: col2im(np.zeros((5, 7)), (1, 1, 4, 4), 2), ["col2im", "(4, 9)"]),
    (lambda: mask(np.zeros((2, 3)), np.ones((3, 2))), ["Mask", "shape"]),
])
def test_errors_name_op_and_fix(call, words):
    with pytest.raises(ValueError) as info:
        call()
    for word in words:
        assert word in str(info.value), f"{word!r} missing from: {info.value}"


# --- dropout -----------------------------------------------------------------------------------

@pytest.mark.parametrize("p", [0.1, 0.5, 0.8])
def test_dropout_statistics(p):
    x = Tensor(np.ones((400, 500), dtype=np.float32))
    y = dropout(x, p, rng=np.random.default_rng(0)).data
    assert y.dtype == np.float32
    dropped = (y == 0).mean()
    assert abs(dropped - p) < 0.01                      # n = 200,000: σ ≈ 0.001
    assert abs(y.mean() - 1.0) < 0.03                   # inverted dropout keeps E[y] = x
    np.testing.assert_allclose(np.unique(y), [0.0, 1.0 / (1.0 - p)], rtol=1e-6)


def test_dropout_eval_mode_and_p_zero_are_identity(rng):
    x = Tensor(rng.standard_normal((5, 6)))
    assert dropout(x, 0.5, training=False) is x
    assert dropout(x, 0.0) is x


def test_dropout_seed_is_reproducible_and_gradient_is_the_mask(rng):
    x0 = rng.standard_normal((20, 30))
    a, b = dropout(Tensor(x0), 0.3, rng=7), dropout(Tensor(x0), 0.3, rng=7)
    np.testing.assert_array_equal(a.data, b.data)
    assert not np.array_equal(a.data, dropout(Tensor(x0), 0.3, rng=8).data)
    x = Tensor(x0, requires_grad=True)
    y = dropout(x, 0.3, rng=7)
    y.sum().backward()
    np.testing.assert_allclose(x.grad.data, y.data / x0)  # x̄ = ȳ ⊙ m with ȳ = 1


def test_dropout_without_rng_uses_the_default_generator():
    from tinyae.generator import default_generator
    x = Tensor(np.ones((10, 10)))
    state = default_generator.bit_generator.state
    first = dropout(x, 0.5).data
    default_generator.bit_generator.state = state  # what seeding in place does
    np.testing.assert_array_equal(dropout(x, 0.5).data, first)


@pytest.mark.parametrize("p", [-0.1, 1.0, 1.5, "0.5"])
def test_dropout_rejects_bad_p(p):
    with pytest.raises(ValueError, match=r"dropout: p .* \[0, 1\)"):
        dropout(Tensor(np.ones(3)), p)
