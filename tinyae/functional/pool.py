"""Pooling and upsampling on NCHW batches.

Both poolings look at the same k×k windows as a convolution (``conv._windows``), and both
backward passes put error signals back onto those windows with col2im (``conv.Col2Im``), a
differentiable op whose own backward gathers with im2col, so second derivatives work:

    max_pool2d   y = max over the window        x̄ = col2im(ȳ at the argmax of each window)
    avg_pool2d   y = (1/kH·kW) Σ over the window x̄ = col2im(ȳ / kH·kW copied to every position)
    upsample     y = x repeated s×s (nearest)   x̄ = ȳ summed over each s×s block
"""
from .. import backend
from ..autograd import Function, register
from ..arguments import pair
from .conv import Col2Im, _check_grid, _windows, conv_output_size

_NO_DILATION = (1, 1)


def _pool_geometry(op, x_shape, kernel_size, stride, padding):
    """Check the pooling arguments; return kernel, stride, padding (pairs) and the output grid."""
    kernel = pair(kernel_size, "kernel_size", op, 1)
    stride = kernel if stride is None else pair(stride, "stride", op, 1)
    padding = pair(padding, "padding", op, 0)
    if any(2 * p > k for p, k in zip(padding, kernel)):
        raise ValueError(f"{op}: padding {padding} must be at most half the kernel {kernel}, "
                         "so that every window holds at least one pixel of the image")
    if len(x_shape) != 4:
        raise ValueError(f"{op} expects a 4-D input (N, C, H, W), got shape {tuple(x_shape)}; "
                         "add a batch axis with x.reshape(1, C, H, W) for a single image")
    grid = conv_output_size(x_shape[2:], kernel, stride, padding, _NO_DILATION)
    try:
        _check_grid(x_shape[2:], kernel, stride, padding, _NO_DILATION, grid)
    except ValueError as err:
        raise ValueError(f"{op}: {err}") from None
    return dict(kernel_size=kernel, stride=stride, padding=padding), grid


def _pool_sample(make):
    def sample(rng, shape):
        kernel = tuple(int(k) for k in rng.integers(1, 4, size=2))
        stride = tuple(int(s) for s in rng.integers(1, 4, size=2))
        padding = tuple(int(rng.integers(0, k // 2 + 1)) for k in kernel)
        size = tuple(int(rng.integers(max(1, k - 2 * p), 7)) for k, p in zip(kernel, padding))
        n, c = (int(v) for v in rng.integers(1, 3, size=2))
        x = make(rng, (n, c) + size)
        _, grid = _pool_geometry("sample", x.shape, kernel, stride, padding)
        return (x,), dict(kernel_size=kernel, stride=stride, padding=padding, grid=grid)
    return sample


def _distinct(rng, shape):
    """Well-separated values (no ties) so a finite difference never changes the argmax."""
    n = 1
    for d in shape:
        n *= d
    return (rng.permutation(n) * 0.1 + rng.uniform(0, 0.01, n)).reshape(shape) - 0.05 * n


def _normal(rng, shape):
    return rng.standard_normal(shape)


def _as_matrix(ybar):
    """ȳ (N, C, H_out, W_out) → (C, 1, H_out·W_out·N), the column layout of conv.Im2Col."""
    return ybar.transpose(1, 2, 3, 0).reshape(ybar.shape[1], 1, -1)


@register(_pool_sample(_distinct))
class MaxPool2d(Function):
    """y[n, c, u, v] = max over the window of x_pad (padding is −∞)

    x̄ = col2im(ȳ ⊙ onehot(argmax)): each ȳ goes to the pixel that won its window, and windows
    that overlap add up. That routing is linear in ȳ; its backward gathers at the argmax.

    The forward is a running max over the kH·kW window offsets (a few whole-array passes, no
    loop over pixels) that also keeps, per window, the offset i·kW + j of the winner: argmax."""
    def forward(self, x):
        kh, kw = self.kernel_size
        win = _windows(x, self.kernel_size, self.stride, self.padding, _NO_DILATION, self.grid,
                       pad_value=-float("inf"))                  # (C, kH, kW, H_out, W_out, N)
        xp = backend.get_array_module(x)
        # argmax ← offset where the candidate wins, written as arithmetic on int16: measured
        # fwd+bwd, 2×2 on 128×16×28×28 (1 thread): 9.5 ms, against 13.3 ms with xp.where and
        # 23.0 ms with masked assignment into an intp array (NumPy's masked writes are slow).
        y = win[:, 0, 0].copy()
        index = xp.int16 if kh * kw < 2 ** 15 else xp.int32
        self.argmax = xp.zeros(y.shape, dtype=index)             # offset i·kW + j of the winner
        for offset in range(1, kh * kw):
            candidate = win[:, offset // kw, offset % kw]
            wins = candidate > y                                  # the first of equal values stays
            xp.maximum(y, candidate, out=y)
            self.argmax += wins * (index(offset) - self.argmax)
        return y.transpose(3, 0, 1, 2)

    def backward(self, ybar):
        x = self.inputs[0]
        (kh, kw), C = self.kernel_size, x.shape[1]
        xp = backend.get_array_module(ybar.data)
        offsets = xp.arange(kh * kw, dtype=self.argmax.dtype).reshape(1, -1, 1)
        onehot = (self.argmax.reshape(C, 1, -1) == offsets).astype(ybar.dtype)
        cols = (_as_matrix(ybar) * onehot).reshape(C * kh * kw, -1)  # onehot: a constant mask
        return Col2Im.apply(cols, image_shape=x.shape, kernel_size=self.kernel_size,
                            stride=self.stride, padding=self.padding, dilation=_NO_DILATION,
                            grid=self.grid)


@register(_pool_sample(_normal))
class AvgPool2d(Function):
    """y[n, c, u, v] = (1/kH·kW) Σ_window x_pad (zero padding counts, as PyTorch's default)

    x̄ = col2im(ȳ / (kH·kW) copied to every window position)."""
    def forward(self, x):
        (kh, kw) = self.kernel_size
        win = _windows(x, self.kernel_size, self.stride, self.padding, _NO_DILATION, self.grid)
        y = win.sum(axis=(1, 2)) * (1.0 / (kh * kw))                 # (C, H_out, W_out, N)
        return y.astype(x.dtype, copy=False).transpose(3, 0, 1, 2)

    def backward(self, ybar):
        x = self.inputs[0]
        (kh, kw), C = self.kernel_size, x.shape[1]
        share = _as_matrix(ybar) * (1.0 / (kh * kw))
        cols = share.broadcast_to((C, kh * kw, share.shape[2])).reshape(C * kh * kw, -1)
        return Col2Im.apply(cols, image_shape=x.shape, kernel_size=self.kernel_size,
                            stride=self.stride, padding=self.padding, dilation=_NO_DILATION,
                            grid=self.grid)


def _upsample_sample(rng, shape):
    size = tuple(int(v) for v in rng.integers(1, 4, size=4))
    scale = tuple(int(s) for s in rng.integers(1, 4, size=2))
    return (rng.standard_normal(size),), {"scale": scale}


@register(_upsample_sample)
class Upsample(Function):
    """y[n, c, u, v] = x[n, c, ⌊u/s⌋, ⌊v/s⌋] (nearest neighbour);
    x̄ = ȳ summed over each s×s block

    Both directions work in the memory order their input has: NCHW, or a conv's output, which
    is (C, H, W, N) in memory (batch innermost, see conv.py). Staying in that order spares the
    next conv a transposing copy: conv → upsample ×2 → relu → conv on 128×16×14×14, fwd+bwd,
    1 thread, measured 69 ms, against 97 ms with NCHW only."""
    def forward(self, x):
        N, C, H, W = x.shape
        sh, sw = self.scale
        xp = backend.get_array_module(x)
        if _batch_innermost(x):
            xc = x.transpose(1, 2, 3, 0)
            blocks = xp.broadcast_to(xc[:, :, None, :, None], (C, H, sh, W, sw, N))
            return blocks.reshape(C, H * sh, W * sw, N).transpose(3, 0, 1, 2)
        blocks = xp.broadcast_to(x[:, :, :, None, :, None], (N, C, H, sh, W, sw))
        return blocks.reshape(N, C, H * sh, W * sw)

    def backward(self, ybar):
        N, C, H, W = self.inputs[0].shape
        sh, sw = self.scale
        if _batch_innermost(ybar.data):
            blocks = ybar.transpose(1, 2, 3, 0).reshape(C, H, sh, W, sw, N)
            return blocks.sum(axis=(2, 4)).transpose(3, 0, 1, 2)
        return ybar.reshape(N, C, H, sh, W, sw).sum(axis=(3, 5))


def _batch_innermost(a):
    """Is the (N, C, H, W) array a a view of (C, H, W, N) memory, as conv results are?"""
    return a.transpose(1, 2, 3, 0).flags.c_contiguous


def max_pool2d(x, kernel_size, stride=None, padding=0):
    """Max over each kH×kW window of x (N, C, H, W); stride defaults to the kernel size.
    padding (at most half the kernel) pads with −∞, so it never wins."""
    g, grid = _pool_geometry("max_pool2d", x.shape, kernel_size, stride, padding)
    return MaxPool2d.apply(x, grid=grid, **g)


def avg_pool2d(x, kernel_size, stride=None, padding=0):
    """Mean over each kH×kW window of x (N, C, H, W); stride defaults to the kernel size.
    Zero padding counts in the mean (PyTorch's count_include_pad=True)."""
    g, grid = _pool_geometry("avg_pool2d", x.shape, kernel_size, stride, padding)
    return AvgPool2d.apply(x, grid=grid, **g)


def upsample(x, scale_factor=2):
    """Nearest-neighbour upsampling of x (N, C, H, W) by an integer factor (or a pair)."""
    scale = pair(scale_factor, "scale_factor", "upsample", 1)
    if len(x.shape) != 4:
        raise ValueError(f"upsample expects a 4-D input (N, C, H, W), got shape {tuple(x.shape)}")
    return Upsample.apply(x, scale=scale)

