"""Image layers: Conv2d, ConvTranspose2d, MaxPool2d, AvgPool2d, Upsample, on (N, C, H, W).

The ops themselves (forward and backward) live in tinyae.functional.conv and .pool; these
Modules hold the weights and the settings. Output size of a convolution along one axis:

    H_out = ⌊(H + 2·padding − dilation·(k − 1) − 1) / stride⌋ + 1            (Conv2d)
    H_out = (H − 1)·stride − 2·padding + dilation·(k − 1) + output_padding + 1 (ConvTranspose2d)

ConvTranspose2d is the adjoint of Conv2d (its forward is Conv2d's backward for the input), the
usual upsampling step of a convolutional decoder.
"""
from .. import functional as F
from ..arguments import pair, positive_int
from .layers import empty_parameter
from . import init
from .module import Module


def _geometry(layer, stride, padding, dilation=1, output_padding=0):
    """Check the settings when the layer is built, not when it first runs."""
    pair(stride, "stride", layer, minimum=1)
    pair(padding, "padding", layer, minimum=0)
    pair(dilation, "dilation", layer, minimum=1)
    pair(output_padding, "output_padding", layer, minimum=0)


def _check_input(x, channels, layer):
    if x.ndim != 4 or x.shape[1] != channels:  # the layer's repr is made only for the message
        raise ValueError(f"{layer!r} expects an (N, C, H, W) input with C = {channels}, got shape "
                         f"{tuple(x.shape)} (reshape flat vectors with Unflatten(1, (C, H, W)))")


class Conv2d(Module):
    """y[n, o] = b[o] + Σ_c W[o, c] ⋆ x[n, c] (cross-correlation), W of shape
    (out_channels, in_channels, kH, kW). Default init as Linear with fan_in = C_in·kH·kW."""

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1,
                 bias=True, rng=None):
        super().__init__()
        self.in_channels = positive_int(in_channels, "in_channels", "Conv2d")
        self.out_channels = positive_int(out_channels, "out_channels", "Conv2d")
        self.kernel_size = pair(kernel_size, "kernel_size", "Conv2d", minimum=1)
        _geometry("Conv2d", stride, padding, dilation)
        self.stride, self.padding, self.dilation = stride, padding, dilation
        self.weight = empty_parameter(out_channels, in_channels, *self.kernel_size)
        self.bias = empty_parameter(out_channels) if bias else None
        init.default_init_(self.weight, self.bias, rng)

    def forward(self, x):
        _check_input(x, self.in_channels, self)
        return F.conv2d(x, self.weight, self.bias, stride=self.stride,
                             padding=self.padding, dilation=self.dilation)

    def extra_repr(self):
        return (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
                f"stride={self.stride}, padding={self.padding}, dilation={self.dilation}, "
                f"bias={self.bias is not None}")


class ConvTranspose2d(Module):
    """The transposed convolution, W of shape (in_channels, out_channels, kH, kW): each input
    pixel stamps a weighted copy of the kernel into the (larger) output. Default init as
    PyTorch's (fan_in read from W's axis 1, i.e. C_out·kH·kW)."""

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0,
                 output_padding=0, dilation=1, bias=True, rng=None):
        super().__init__()
        self.in_channels = positive_int(in_channels, "in_channels", "ConvTranspose2d")
        self.out_channels = positive_int(out_channels, "out_channels", "ConvTranspose2d")
        self.kernel_size = pair(kernel_size, "kernel_size", "ConvTranspose2d", minimum=1)
        _geometry("ConvTranspose2d", stride, padding, dilation, output_padding)
        self.stride, self.padding = stride, padding
        self.output_padding, self.dilation = output_padding, dilation
        self.weight = empty_parameter(in_channels, out_channels, *self.kernel_size)
        self.bias = empty_parameter(out_channels) if bias else None
        init.default_init_(self.weight, self.bias, rng)

    def forward(self, x):
        _check_input(x, self.in_channels, self)
        return F.conv_transpose2d(x, self.weight, self.bias, stride=self.stride,
                                       padding=self.padding, dilation=self.dilation,
                                       output_padding=self.output_padding)

    def extra_repr(self):
        return (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
                f"stride={self.stride}, padding={self.padding}, "
                f"output_padding={self.output_padding}, dilation={self.dilation}, "
                f"bias={self.bias is not None}")


class _Pool2d(Module):
    def __init__(self, kernel_size, stride=None, padding=0):
        super().__init__()
        layer = type(self).__name__
        kernel = pair(kernel_size, "kernel_size", layer, minimum=1)
        _geometry(layer, kernel if stride is None else stride, padding)
        pad = pair(padding, "padding", layer, minimum=0)
        if kernel[0] < 2 * pad[0] or kernel[1] < 2 * pad[1]:
            raise ValueError(f"{layer}: padding {padding!r} must be at most half the kernel size "
                             f"{kernel_size!r} (a window of only padding)")
        self.kernel_size = kernel_size
        self.stride = kernel_size if stride is None else stride  # non-overlapping by default
        self.padding = padding

    def extra_repr(self):
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class MaxPool2d(_Pool2d):
    """y = the maximum of each kH×kW window;  x̄ = ȳ routed to the window's winner."""

    def forward(self, x):
        return F.max_pool2d(x, self.kernel_size, self.stride, self.padding)


class AvgPool2d(_Pool2d):
    """y = the mean of each kH×kW window;  x̄ = ȳ / (kH·kW) spread over the window."""

    def forward(self, x):
        return F.avg_pool2d(x, self.kernel_size, self.stride, self.padding)


class Upsample(Module):
    """Nearest-neighbour upsampling: each pixel becomes a scale×scale block;
    x̄ = ȳ summed over each block."""

    def __init__(self, scale_factor=2, mode="nearest"):
        super().__init__()
        if mode != "nearest":
            raise ValueError(f"Upsample(mode={mode!r}): only 'nearest' is implemented; use "
                             "ConvTranspose2d for a learned upsampling")
        pair(scale_factor, "scale_factor", "Upsample", minimum=1)
        self.scale_factor, self.mode = scale_factor, mode

    def forward(self, x):
        return F.upsample(x, scale_factor=self.scale_factor)

    def extra_repr(self):
        return f"scale_factor={self.scale_factor}, mode={self.mode!r}"
