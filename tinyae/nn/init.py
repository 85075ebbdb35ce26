"""Weight initialisation: fill a Tensor/Parameter in place with random or constant values.

Why it matters: with n inputs of variance 1 the pre-activation z = Σⱼ Wᵢⱼ xⱼ has variance
n·Var(W). Keeping Var(z) ≈ Var(x) from layer to layer (neither exploding nor vanishing) asks for

    Xavier/Glorot (tanh, sigmoid, linear):  Var(W) = gain² · 2 / (fan_in + fan_out)
    Kaiming/He    (ReLU family):            Var(W) = gain² / fan   (fan = fan_in or fan_out)

with ``gain = calculate_gain(nonlinearity)`` (√2 for ReLU, which zeroes half of its inputs).
A uniform U(−a, a) has variance a²/3, so the uniform versions use a = √3 · std.

Every function takes an optional ``rng``: a ``numpy.random.Generator``, an int seed, or None
(tinyae's default generator, which ``tinyae.manual_seed`` seeds). The values are drawn on the
CPU in float64 and then cast to the tensor's dtype and device, so the same seed gives the same
weights on NumPy and CuPy.
"""
import math

import numpy

from .. import backend
from ..generator import as_generator
from ..tensor import Tensor


def _fill(tensor, values):
    """Write ``values`` (NumPy, float64) into ``tensor`` in place, keeping its dtype/device."""
    if not isinstance(tensor, Tensor):
        raise TypeError(f"init functions fill a Tensor or Parameter in place, got "
                        f"{type(tensor).__name__}")
    xp = backend.get_array_module(tensor.data)
    tensor.data[...] = xp.asarray(backend.to_device(values, tensor.device), dtype=tensor.dtype)
    return tensor


def calculate_fan_in_and_fan_out(tensor):
    """fan_in = inputs per output unit, fan_out = outputs per input unit.

    Linear weight (out, in): fan_in = in, fan_out = out. Conv weight (C_out, C_in, kH, kW):
    fan_in = C_in·kH·kW, fan_out = C_out·kH·kW (a ConvTranspose weight (C_in, C_out, kH, kW)
    is read the same way, as PyTorch does)."""
    if tensor.ndim < 2:
        raise ValueError(f"fan_in and fan_out need a weight with at least 2 dimensions, got "
                         f"shape {tensor.shape}; initialise biases with uniform_/zeros_ instead")
    receptive = 1
    for n in tensor.shape[2:]:
        receptive *= n
    return tensor.shape[1] * receptive, tensor.shape[0] * receptive


def calculate_gain(nonlinearity, param=None):
    """The factor that keeps activations' variance steady through ``nonlinearity``:
    linear/conv/sigmoid 1, tanh 5/3, relu √2, leaky_relu √(2/(1 + slope²)) (slope ``param``,
    default 0.01), selu 3/4."""
    if not isinstance(nonlinearity, str):
        raise TypeError(f"nonlinearity must be a name such as 'relu', got {nonlinearity!r}")
    fixed = {"linear": 1.0, "identity": 1.0, "sigmoid": 1.0, "tanh": 5.0 / 3,
             "relu": math.sqrt(2.0), "selu": 0.75}
    if nonlinearity in fixed or nonlinearity.startswith("conv"):
        return fixed.get(nonlinearity, 1.0)
    if nonlinearity == "leaky_relu":
        slope = 0.01 if param is None else param
        if not isinstance(slope, (int, float)) or isinstance(slope, bool):
            raise ValueError(f"leaky_relu's negative slope must be a number, got {slope!r}")
        return math.sqrt(2.0 / (1 + slope ** 2))
    raise ValueError(f"calculate_gain: unknown nonlinearity {nonlinearity!r}; choose one of "
                     "linear, conv2d, sigmoid, tanh, relu, leaky_relu, selu")


def _fan(tensor, mode):
    fan_in, fan_out = calculate_fan_in_and_fan_out(tensor)
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"mode must be 'fan_in' (forward pass) or 'fan_out' (backward pass), "
                         f"got {mode!r}")
    return fan_in if mode == "fan_in" else fan_out


# --- plain distributions --------------------------------------------------------------------
def uniform_(tensor, a=0.0, b=1.0, rng=None):
    """Fill with U(a, b)."""
    return _fill(tensor, as_generator(rng).uniform(a, b, size=tensor.shape))


def normal_(tensor, mean=0.0, std=1.0, rng=None):
    """Fill with N(mean, std²)."""
    return _fill(tensor, as_generator(rng).normal(mean, std, size=tensor.shape))


def constant_(tensor, val):
    return _fill(tensor, numpy.full(tensor.shape, val, dtype=numpy.float64))


def zeros_(tensor):
    return constant_(tensor, 0.0)


def ones_(tensor):
    return constant_(tensor, 1.0)


# --- Xavier / Glorot ------------------------------------------------------------------------
def xavier_uniform_(tensor, gain=1.0, rng=None):
    """U(−a, a) with a = gain · √(6 / (fan_in + fan_out))   (Glorot & Bengio 2010)."""
    fan_in, fan_out = calculate_fan_in_and_fan_out(tensor)
    bound = gain * math.sqrt(6.0 / (fan_in + fan_out))
    return uniform_(tensor, -bound, bound, rng)


def xavier_normal_(tensor, gain=1.0, rng=None):
    """N(0, std²) with std = gain · √(2 / (fan_in + fan_out))."""
    fan_in, fan_out = calculate_fan_in_and_fan_out(tensor)
    return normal_(tensor, 0.0, gain * math.sqrt(2.0 / (fan_in + fan_out)), rng)


# --- Kaiming / He -----------------------------------------------------------------------------
def kaiming_uniform_(tensor, a=0.0, mode="fan_in", nonlinearity="leaky_relu", rng=None):
    """U(−b, b) with b = gain · √(3 / fan)   (He et al. 2015). ``a`` is the leaky-ReLU slope
    used by the gain; a=0 with the default nonlinearity is plain ReLU (gain √2)."""
    std = calculate_gain(nonlinearity, a) / math.sqrt(_fan(tensor, mode))
    bound = math.sqrt(3.0) * std
    return uniform_(tensor, -bound, bound, rng)


def kaiming_normal_(tensor, a=0.0, mode="fan_in", nonlinearity="leaky_relu", rng=None):
    """N(0, std²) with std = gain / √fan."""
    std = calculate_gain(nonlinearity, a) / math.sqrt(_fan(tensor, mode))
    return normal_(tensor, 0.0, std, rng)


glorot_uniform_ = xavier_uniform_
glorot_normal_ = xavier_normal_
he_uniform_ = kaiming_uniform_
he_normal_ = kaiming_normal_


def default_init_(weight, bias=None, rng=None):
    """The layers' default, the same distribution as PyTorch's: W ~ U(−1/√fan_in, 1/√fan_in)
    (that is kaiming_uniform_ with a = √5) and b ~ U(−1/√fan_in, 1/√fan_in)."""
    rng = as_generator(rng)
    kaiming_uniform_(weight, a=math.sqrt(5.0), rng=rng)
    if bias is not None:
        fan_in, _ = calculate_fan_in_and_fan_out(weight)
        bound = 1.0 / math.sqrt(fan_in) if fan_in > 0 else 0.0
        uniform_(bias, -bound, bound, rng)
    return weight
