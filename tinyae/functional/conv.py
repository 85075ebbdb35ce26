"""2-D convolution and its transpose on NCHW batches: im2col, one big matmul, col2im.

im2col cuts every kH×kW window out of the zero-padded input and lays the windows side by side
as the columns of a matrix, one column per output pixel. A convolution is then one product

    Y = W_mat · cols(x),   W_mat = W reshaped to (C_out, C_in·kH·kW)

and its error signals follow from the matmul rule and the adjoint of im2col:

    W̄_mat = Ȳ · cols(x)ᵀ,     x̄ = col2im(W_matᵀ · Ȳ)

col2im is the adjoint (the transpose) of im2col: it adds every column back onto the window it
came from, overlapping windows adding up. So Im2Col and Col2Im are each other's backward, and
conv2d and conv_transpose2d are compositions of them with matmul, reshape and transpose:

    conv2d(x, W)            = W_mat · im2col(x)
    conv_transpose2d(x, W)  = col2im(W_matᵀ · x_mat)      (the x̄ of conv2d, as a layer)

Every piece is a differentiable tinyae op, so second derivatives come for free, and the columns
computed in the forward pass are reused for W̄ instead of being cut out again.

Weights follow PyTorch: conv2d (C_out, C_in, kH, kW), conv_transpose2d (C_in, C_out, kH, kW).
Sizes:  conv2d            H_out = ⌊(H + 2p − d(k − 1) − 1)/s⌋ + 1
        conv_transpose2d  H_out = (H − 1)s − 2p + d(k − 1) + output_padding + 1

Layout: the column matrix is (C·kH·kW, H_out·W_out·N), batch innermost, and images are handled
as (C, H, W, N) inside; results are returned as (N, C, H, W) views of that memory. Each strided
slice then moves runs of N contiguous numbers, several times faster than slicing NCHW.
"""
from .. import backend
from ..arguments import pair
from ..autograd import Function, register
from ..tensor import ensure_tensor


# --- geometry -----------------------------------------------------------------------------

def conv_output_size(size, kernel, stride=(1, 1), padding=(0, 0), dilation=(1, 1)):
    """The (H_out, W_out) grid of a convolution: ⌊(H + 2p − d(k − 1) − 1)/s⌋ + 1 per axis."""
    return tuple((n + 2 * p - d * (k - 1) - 1) // s + 1
                 for n, k, s, p, d in zip(size, kernel, stride, padding, dilation))


def transpose_output_size(size, kernel, stride, padding, output_padding, dilation):
    """The (H_out, W_out) of a transposed convolution: (H − 1)s − 2p + d(k − 1) + op + 1."""
    return tuple((n - 1) * s - 2 * p + d * (k - 1) + op + 1
                 for n, k, s, p, op, d in zip(size, kernel, stride, padding, output_padding,
                                              dilation))


def _check_grid(size, kernel, stride, padding, dilation, grid):
    """The windows of ``grid`` must lie inside the padded image."""
    for n, k, s, p, d, g in zip(size, kernel, stride, padding, dilation, grid):
        if g < 1 or (g - 1) * s + d * (k - 1) + 1 > n + 2 * p:
            raise ValueError(
                f"the image {tuple(size)} with padding {tuple(padding)} is too small for the "
                f"kernel {tuple(kernel)} (dilation {tuple(dilation)}, stride {tuple(stride)}) "
                f"on a {tuple(grid)} grid of windows; use a larger input, more padding or a "
                "smaller kernel")


# --- array helpers (raw arrays, no graph) -------------------------------------------------

def _padded(x, padding, pad_value=0.0):
    """x (N, C, H, W) copied into a padded (C, H + 2p, W + 2p, N) buffer."""
    xp = backend.get_array_module(x)
    N, C, H, W = x.shape
    ph, pw = padding
    if not (ph or pw):  # no copy at all when x already has this memory layout
        return xp.ascontiguousarray(x.transpose(1, 2, 3, 0))
    padded = xp.full((C, H + 2 * ph, W + 2 * pw, N), pad_value, dtype=x.dtype)
    padded[:, ph:ph + H, pw:pw + W] = x.transpose(1, 2, 3, 0)
    return padded


def _windows(x, kernel, stride, padding, dilation, grid, pad_value=0.0):
    """All windows of x (N, C, H, W) as a view (C, kH, kW, H_out, W_out, N) of the padded image:
    element [c, i, j, u, v, n] = x_pad[n, c, u·s + i·d, v·s + j·d]."""
    padded = _padded(x, padding, pad_value)
    bC, bH, bW, bN = padded.strides
    (sh, sw), (dh, dw) = stride, dilation
    return backend.get_array_module(x).lib.stride_tricks.as_strided(
        padded, shape=(x.shape[1],) + tuple(kernel) + tuple(grid) + (x.shape[0],),
        strides=(bC, bH * dh, bW * dw, bH * sh, bW * sw, bN))


def _col2im(cols, image_shape, stride, padding, dilation):
    """Adjoint of ``_windows``: add cols (C, kH, kW, H_out, W_out, N) back onto an image, returned
    as an (N, C, H, W) view. One strided slice-add per kernel offset, no loop over pixels."""
    xp = backend.get_array_module(cols)
    C, kh, kw, gh, gw, N = cols.shape
    (ph, pw), (sh, sw), (dh, dw) = padding, stride, dilation
    H, W = image_shape[2:]
    image = xp.zeros((C, H + 2 * ph, W + 2 * pw, N), dtype=cols.dtype)
    for i in range(kh):
        for j in range(kw):
            image[:, i * dh:i * dh + (gh - 1) * sh + 1:sh,
                  j * dw:j * dw + (gw - 1) * sw + 1:sw] += cols[:, i, j]
    if ph or pw:  # a compact copy of the image without its padding (elementwise ops are faster)
        image = xp.ascontiguousarray(image[:, ph:ph + H, pw:pw + W])
    return image.transpose(3, 0, 1, 2)


# --- the two ops --------------------------------------------------------------------------

def _geometry_sample(rng):
    g = dict(kernel_size=tuple(int(k) for k in rng.integers(1, 4, size=2)),
             stride=tuple(int(s) for s in rng.integers(1, 3, size=2)),
             padding=tuple(int(p) for p in rng.integers(0, 2, size=2)),
             dilation=tuple(int(d) for d in rng.integers(1, 3, size=2)))
    size = []  # a small H, W on which the kernel fits, giving 1 to 3 windows per axis
    for k, s, p, d in zip(g["kernel_size"], g["stride"], g["padding"], g["dilation"]):
        n = int(rng.integers(0, 3)) * s + d * (k - 1) + 1 - 2 * p + int(rng.integers(0, s))
        size.append(max(n, 1))
    shape = tuple(int(v) for v in rng.integers(1, 3, size=2)) + tuple(size)
    return shape, g


def _im2col_sample(rng, shape):
    image_shape, g = _geometry_sample(rng)
    return (rng.standard_normal(image_shape),), g


def _col2im_sample(rng, shape):
    image_shape, g = _geometry_sample(rng)
    grid = conv_output_size(image_shape[2:], g["kernel_size"], g["stride"], g["padding"],
                            g["dilation"])
    if rng.random() < 0.3:  # a smaller grid than fits, as conv_transpose2d can ask for
        grid = (max(1, grid[0] - 1), grid[1])
    k = g["kernel_size"]
    cols = rng.standard_normal((image_shape[1] * k[0] * k[1], grid[0] * grid[1] * image_shape[0]))
    return (cols,), dict(g, image_shape=image_shape, grid=grid)


@register(_im2col_sample)
class Im2Col(Function):
    """cols[(c, i, j), (u, v, n)] = x_pad[n, c, u·s + i·d, v·s + j·d]: every window as a column.

    x̄ = col2im(ȳ): each column's error signal added back onto the window it was cut from.
    ``grid`` (H_out, W_out) defaults to every window that fits; ``pad_value`` fills the padding
    (max pooling pads with −∞; padding receives no error signal either way)."""
    def forward(self, x):
        if x.ndim != 4:
            raise ValueError(f"im2col expects a 4-D image batch (N, C, H, W), got {x.shape}")
        grid = getattr(self, "grid", None) or conv_output_size(
            x.shape[2:], self.kernel_size, self.stride, self.padding, self.dilation)
        _check_grid(x.shape[2:], self.kernel_size, self.stride, self.padding, self.dilation, grid)
        self.grid = tuple(grid)
        win = _windows(x, self.kernel_size, self.stride, self.padding, self.dilation, grid,
                       getattr(self, "pad_value", 0.0))
        k = self.kernel_size
        return win.reshape(x.shape[1] * k[0] * k[1], -1)  # the one copy: the columns

    def backward(self, ybar):
        return Col2Im.apply(ybar, image_shape=self.inputs[0].shape, kernel_size=self.kernel_size,
                            stride=self.stride, padding=self.padding, dilation=self.dilation,
                            grid=self.grid)


@register(_col2im_sample)
class Col2Im(Function):
    """image[n, c, u·s + i·d, v·s + j·d] += cols[(c, i, j), (u, v, n)], padding cut off:
    columns summed back onto an image of ``image_shape`` (N, C, H, W), overlaps adding up.

    The adjoint of im2col, so x̄ = im2col(ȳ)."""
    def forward(self, cols):
        N, C, H, W = self.image_shape
        (kh, kw), (gh, gw) = self.kernel_size, self.grid
        if cols.shape != (C * kh * kw, gh * gw * N):
            raise ValueError(f"col2im expects columns of shape (C·kH·kW, H_out·W_out·N) = "
                             f"({C * kh * kw}, {gh * gw * N}) for the image "
                             f"{tuple(self.image_shape)}"
                             f" and the grid {tuple(self.grid)}, got {cols.shape}")
        _check_grid((H, W), self.kernel_size, self.stride, self.padding, self.dilation, self.grid)
        return _col2im(cols.reshape(C, kh, kw, gh, gw, N), self.image_shape, self.stride,
                       self.padding, self.dilation)

    def backward(self, ybar):
        return Im2Col.apply(ybar, kernel_size=self.kernel_size, stride=self.stride,
                            padding=self.padding, dilation=self.dilation, grid=self.grid)


# --- the functions users call -------------------------------------------------------------

def _geometry(op, stride, padding, dilation):
    return dict(stride=pair(stride, "stride", op, 1), padding=pair(padding, "padding", op, 0),
                dilation=pair(dilation, "dilation", op, 1))


def _check_image(op, x, name="input"):
    if x.ndim != 4:
        raise ValueError(f"{op} expects a 4-D {name} (N, C, H, W), got shape {x.shape}; add a "
                         "batch axis with x.reshape(1, C, H, W) for a single image")


def im2col(x, kernel_size, stride=1, padding=0, dilation=1):
    """Every kH×kW window of x (N, C, H, W) as a column: shape (C·kH·kW, H_out·W_out·N)."""
    g = _geometry("im2col", stride, padding, dilation)
    return Im2Col.apply(x, kernel_size=pair(kernel_size, "kernel_size", "im2col", 1), **g)


def col2im(cols, image_shape, kernel_size, stride=1, padding=0, dilation=1):
    """The adjoint of im2col: columns (C·kH·kW, H_out·W_out·N) summed onto (N, C, H, W)."""
    g = _geometry("col2im", stride, padding, dilation)
    k = pair(kernel_size, "kernel_size", "col2im", 1)
    grid = conv_output_size(tuple(image_shape)[2:], k, g["stride"], g["padding"], g["dilation"])
    return Col2Im.apply(cols, image_shape=tuple(image_shape), kernel_size=k, grid=grid, **g)


def _operands(who, x, weight, layout):
    """(N, C_in, H, W, C_out, kernel) of an image batch and a weight laid out as ``layout``
    (conv2d: C_out × C_in × kH × kW; conv_transpose2d, as in PyTorch: C_in × C_out × kH × kW),
    checked to agree on C_in."""
    _check_image(who, x)
    _check_image(who, weight, f"weight ({layout.replace(' × ', ', ')})")
    n, c_in, h, w = x.shape
    in_axis = 0 if layout.startswith("C_in") else 1
    if c_in != weight.shape[in_axis]:
        raise ValueError(f"{who}: the input {x.shape} has {c_in} channels but the weight "
                         f"{weight.shape} expects {weight.shape[in_axis]} (the weight is {layout}); "
                         "make the layer's in_channels match the input")
    return n, c_in, h, w, weight.shape[1 - in_axis], weight.shape[2:]


def conv2d(x, weight, bias=None, stride=1, padding=0, dilation=1):
    """2-D convolution (cross-correlation, as in PyTorch) of x (N, C_in, H, W) with weight
    (C_out, C_in, kH, kW) and an optional bias (C_out,); returns (N, C_out, H_out, W_out).

    y = W_mat · im2col(x) + b, so  W̄_mat = Ȳ colsᵀ,  x̄ = col2im(W_matᵀ Ȳ),  b̄ = Σ Ȳ.
    With stride 1 and fewer output than input channels the same y is computed as a
    conv_transpose2d with the flipped weight, which is cheaper (see ``_swap_is_cheaper``)."""
    x, weight = ensure_tensor(x), ensure_tensor(weight)
    g = _geometry("conv2d", stride, padding, dilation)
    n, c_in, h, w, c_out, kernel = _operands("conv2d", x, weight, "C_out × C_in × kH × kW")
    grid = conv_output_size((h, w), kernel, **g)
    try:
        _check_grid((h, w), kernel, grid=grid, **g)
    except ValueError as err:
        raise ValueError(f"conv2d: {err}") from None
    bias = None if bias is None else _bias(bias, c_out, "conv2d")
    if _swap_is_cheaper(c_in, c_out, kernel, g):
        return conv_transpose2d(x, _flip(weight), bias, padding=_swap_padding(kernel, g),
                                **_swapped(g))
    cols = Im2Col.apply(x, kernel_size=kernel, grid=grid, **g)   # (C_in·kH·kW, H_out·W_out·N)
    y = weight.reshape(c_out, -1) @ cols                          # (C_out, H_out·W_out·N)
    if bias is not None:
        y = y + bias.reshape(-1, 1)
    return y.reshape((c_out,) + grid + (n,)).transpose(3, 0, 1, 2)


def conv_transpose2d(x, weight, bias=None, stride=1, padding=0, output_padding=0, dilation=1):
    """Transposed convolution of x (N, C_in, H, W) with weight (C_in, C_out, kH, kW): the x̄ of
    conv2d used as a layer, which upsamples in decoders. Output size per axis
    (H − 1)·s − 2p + d(k − 1) + output_padding + 1.

    y = col2im(W_matᵀ · x_mat) + b, so  x̄_mat = W_mat · im2col(ȳ),  W̄_mat = x_mat · im2col(ȳ)ᵀ.
    With stride 1 and fewer input than output channels the same y is computed as a conv2d with
    the flipped weight, which is cheaper (see ``_swap_is_cheaper``)."""
    x, weight = ensure_tensor(x), ensure_tensor(weight)
    g = _geometry("conv_transpose2d", stride, padding, dilation)
    extra = pair(output_padding, "output_padding", "conv_transpose2d", 0)
    if any(o >= max(s, d) for o, s, d in zip(extra, g["stride"], g["dilation"])):
        raise ValueError(f"conv_transpose2d: output_padding {output_padding!r} must be smaller "
                         f"than the stride {g['stride']} or the dilation {g['dilation']} (it picks "
                         "one of the input sizes a strided conv maps to the same output size)")
    n, c_in, h, w, c_out, kernel = _operands("conv_transpose2d", x, weight,
                                             "C_in × C_out × kH × kW")
    size = transpose_output_size((h, w), kernel, g["stride"], g["padding"], extra, g["dilation"])
    if min(size) < 1:
        raise ValueError(f"conv_transpose2d: the output would be {size}: padding {g['padding']} "
                         f"removes more than the {(h, w)} input spreads to; use less padding")
    bias = None if bias is None else _bias(bias, c_out, "conv_transpose2d")
    if extra == (0, 0) and _swap_is_cheaper(c_out, c_in, kernel, g):
        return conv2d(x, _flip(weight), bias, padding=_swap_padding(kernel, g), **_swapped(g))
    x_mat = x.transpose(1, 2, 3, 0).reshape(c_in, -1)              # (C_in, H·W·N)
    cols = weight.reshape(c_in, -1).T @ x_mat                      # (C_out·kH·kW, H·W·N)
    y = Col2Im.apply(cols, image_shape=(n, c_out) + size, kernel_size=kernel, grid=(h, w), **g)
    if bias is not None:
        y = y + bias.reshape(1, -1, 1, 1)
    return y


# With stride 1, conv2d(x, W, padding p) = conv_transpose2d(x, W', padding (k − 1)d − p), W' = W
# flipped in space with its two channel axes swapped, and the other way round. The im2col form
# builds C_in·kH·kW rows of columns, the col2im form C_out·kH·kW: pick the smaller, e.g. for the
# last 16 → 1 conv of a decoder. Both are compositions of tinyae ops. Measured fwd+bwd, 3×3,
# padding 1, 1 thread: conv2d 16 → 1 on 128×16×28×28 takes 8.4 ms swapped against 43.9 ms by
# im2col; conv_transpose2d 1 → 16 on 128×1×28×28 7.4 ms against 44.1 ms by col2im.

def _swap_is_cheaper(c_cols, c_other, kernel, g):
    """True when the other form's column matrix (c_other rows per offset) is smaller."""
    return g["stride"] == (1, 1) and c_other < c_cols and all(
        p <= (k - 1) * d for p, k, d in zip(g["padding"], kernel, g["dilation"]))


def _swap_padding(kernel, g):
    return tuple((k - 1) * d - p for p, k, d in zip(g["padding"], kernel, g["dilation"]))


def _swapped(g):
    return dict(stride=1, dilation=g["dilation"])


def _flip(weight):
    """W'[c, o, i, j] = W[o, c, kH − 1 − i, kW − 1 − j]"""
    return weight[:, :, ::-1, ::-1].transpose(1, 0, 2, 3)



def _bias(bias, channels, op):
    bias = ensure_tensor(bias)
    if bias.shape != (channels,):
        raise ValueError(f"{op}: the bias has shape {bias.shape} but should be ({channels},), "
                         "one number per output channel")
    return bias
