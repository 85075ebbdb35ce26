"""Elementwise ops. Each backward is the chain rule for one node: x̄ = ȳ ⊙ ∂y/∂x.

Broadcasting is not undone here: the engine sums every x̄ back to x's shape in one place
(``signals.unbroadcast``).
"""
from .. import backend
from ..autograd import Function, register
from ..tensor import Tensor
from . import _samples as S


@register(S.binary())
class Add(Function):
    """y = a + b;  ā = ȳ,  b̄ = ȳ"""
    def forward(self, a, b):
        return a + b

    def backward(self, ybar):
        return ybar, ybar


@register(S.binary())
class Sub(Function):
    """y = a − b;  ā = ȳ,  b̄ = −ȳ"""
    def forward(self, a, b):
        return a - b

    def backward(self, ybar):
        return ybar, (-ybar if self.needs_input_grad[1] else None)


@register(S.binary())
class Mul(Function):
    """y = a ⊙ b;  ā = ȳ ⊙ b,  b̄ = ȳ ⊙ a"""
    def forward(self, a, b):
        return a * b

    def backward(self, ybar):
        a, b = self.inputs
        need_a, need_b = self.needs_input_grad
        return (ybar * b if need_a else None), (ybar * a if need_b else None)


@register(S.binary(S.normal, S.positive))
class Div(Function):
    """y = a / b;  ā = ȳ / b,  b̄ = −ȳ a / b² = −ȳ y / b"""
    def forward(self, a, b):
        return a / b

    def backward(self, ybar):
        a, b = self.inputs
        abar = ybar / b
        return abar, (-abar * self.output if self.needs_input_grad[1] else None)


@register(S.unary())
class Neg(Function):
    """y = −x;  x̄ = −ȳ"""
    def forward(self, x):
        return -x

    def backward(self, ybar):
        return -ybar


def _power_sample(rng, shape):  # a fractional p, and the small integers computed as products
    return (S.positive(rng, shape),), {"p": [2.5, 3, 4, -1.5][int(rng.integers(0, 4))]}


@register(_power_sample)
class PowConst(Function):
    """y = xᵖ for a fixed number p;  x̄ = ȳ p xᵖ⁻¹"""
    def forward(self, x):
        return _power(x, self.p)

    def backward(self, ybar):
        x, = self.inputs
        if self.p == 0:
            return ybar * 0.0  # x⁰ = 1 is constant: x̄ = 0 everywhere, also at x = 0 (not 0·0⁻¹)
        if self.p == 1:
            return ybar
        if self.p == 2:  # the general line's x ** 1 costs one more op and pass; measured on
            return ybar * (2 * x)  # MSE's (ŷ − y)², 128×784: 0.19 ms fwd+bwd instead of 0.22
        return ybar * (self.p * x ** (self.p - 1))


def _power(x, p):
    """xᵖ, with a small integer p (2, 3, 4) as products x·x·…: float32 ``np.power(z, 3)`` takes
    a general pow() per element, ~1000× slower than z·z·z (210 ms against 0.19 ms on 64×49×256)."""
    if p == 3:
        return x * x * x
    if p == 4:
        square = x * x
        return square * square
    return x ** p


@register(S.binary(S.positive, S.normal))
class Pow(Function):
    """y = aᵇ (both tensors, a > 0);  ā = ȳ b aᵇ⁻¹,  b̄ = ȳ y log a"""
    def forward(self, a, b):
        return a ** b

    def backward(self, ybar):
        a, b = self.inputs
        need_a, need_b = self.needs_input_grad
        abar = bbar = None
        if need_a:  # 0 where b = 0 (aᵇ = 1 is constant), not 0 · 0⁻¹ = NaN at a = 0
            abar = where(b.data == 0, 0.0, ybar * b * a ** (b - 1))
        if need_b:  # 0 at a = 0 (0ᵇ = 0 for b ≥ 0, as PyTorch), not 0 · log 0 = NaN
            bbar = where((a.data == 0) & (b.data >= 0), 0.0, ybar * self.output * log(a))
        return abar, bbar


@register(S.unary())
class Exp(Function):
    """y = eˣ;  x̄ = ȳ y"""
    def forward(self, x):
        return backend.get_array_module(x).exp(x)

    def backward(self, ybar):
        return ybar * self.output


@register(S.unary(S.positive))
class Log(Function):
    """y = log x;  x̄ = ȳ / x"""
    def forward(self, x):
        return backend.get_array_module(x).log(x)

    def backward(self, ybar):
        return ybar / self.inputs[0]


@register(S.unary(S.positive))
class Sqrt(Function):
    """y = √x;  x̄ = ȳ / (2y)"""
    def forward(self, x):
        return backend.get_array_module(x).sqrt(x)

    def backward(self, ybar):
        return ybar / (2 * self.output)


@register(S.unary())
class Sin(Function):
    """y = sin x;  x̄ = ȳ cos x"""
    def forward(self, x):
        return backend.get_array_module(x).sin(x)

    def backward(self, ybar):
        return ybar * cos(self.inputs[0])


@register(S.unary())
class Cos(Function):
    """y = cos x;  x̄ = −ȳ sin x"""
    def forward(self, x):
        return backend.get_array_module(x).cos(x)

    def backward(self, ybar):
        return -ybar * sin(self.inputs[0])


@register(S.unary())
class Clone(Function):
    """y = a copy of x in its own memory;  x̄ = ȳ"""
    def forward(self, x):
        return x.copy()

    def backward(self, ybar):
        return ybar


@register(S.unary(S.away_from_zero))
class Abs(Function):
    """y = |x|;  x̄ = ȳ sign(x)"""
    def forward(self, x):
        return backend.get_array_module(x).abs(x)

    def backward(self, ybar):
        x = self.inputs[0].data
        return ybar * backend.get_array_module(x).sign(x)


@register(S.unary(S.away_from_zero, low=-0.5, high=0.5))
class Clip(Function):
    """y = min(max(x, low), high);  x̄ = ȳ where low < x < high, else 0"""
    def forward(self, x):
        return backend.get_array_module(x).clip(x, self.low, self.high)

    def backward(self, ybar):
        x = self.inputs[0].data
        inside = x == self.output.data  # true exactly where x was not clipped
        return ybar * inside.astype(x.dtype)


def _pick_sample(rng, shape):
    (a, b), _ = S.binary(S.distinct, S.distinct)(rng, shape)
    return (a, b + 0.013), {}  # offset so that no pair is equal


@register(_pick_sample)
class Maximum(Function):
    """y = max(a, b) elementwise;  ā = ȳ [a ≥ b],  b̄ = ȳ [a < b]"""
    def forward(self, a, b):
        return backend.get_array_module(a).maximum(a, b)

    def backward(self, ybar):
        a, b = (t.data for t in self.inputs)
        a_wins = (a >= b).astype(ybar.dtype)
        need_a, need_b = self.needs_input_grad
        return (ybar * a_wins if need_a else None), (ybar * (1 - a_wins) if need_b else None)


@register(_pick_sample)
class Minimum(Function):
    """y = min(a, b) elementwise;  ā = ȳ [a ≤ b],  b̄ = ȳ [a > b]"""
    def forward(self, a, b):
        return backend.get_array_module(a).minimum(a, b)

    def backward(self, ybar):
        a, b = (t.data for t in self.inputs)
        a_wins = (a <= b).astype(ybar.dtype)
        need_a, need_b = self.needs_input_grad
        return (ybar * a_wins if need_a else None), (ybar * (1 - a_wins) if need_b else None)


def _where_sample(rng, shape):
    (a, b), _ = S.binary()(rng, shape)
    return (a, b), {"condition": rng.random(shape) < 0.5}


@register(_where_sample)
class Where(Function):
    """y = a where condition else b;  ā = ȳ [condition],  b̄ = ȳ [not condition]"""
    def forward(self, a, b):
        return backend.get_array_module(a).where(self.condition, a, b)

    def backward(self, ybar):
        take_a = self.condition.astype(ybar.dtype)  # a constant 0/1 mask
        need_a, need_b = self.needs_input_grad
        return (ybar * take_a if need_a else None), (ybar * (1 - take_a) if need_b else None)


@register(S.unary(S.normal, dtype="float64"))
class AsType(Function):
    """y = x converted to another float dtype;  x̄ = ȳ converted back"""
    def forward(self, x):
        self.source_dtype = x.dtype
        return x.astype(self.dtype)

    def backward(self, ybar):
        return astype(ybar, self.source_dtype)


# --- functional forms --------------------------------------------------------------------
def floating(x):
    """x itself when it holds floats; an integer or bool Tensor (or array) as float32. The
    functions with real values (exp, log, sigmoid, softmax, …) take their input through this,
    so sigmoid(True) is 0.731 as in PyTorch, instead of a NumPy error on ``-True``."""
    data = x.data if isinstance(x, Tensor) else x
    if backend.is_array(data) and data.dtype.kind in "biu":
        return Tensor(data, dtype=backend.DEFAULT_FLOAT)
    return x


def add(a, b): return Add.apply(a, b)
def sub(a, b): return Sub.apply(a, b)
def mul(a, b): return Mul.apply(a, b)
def div(a, b): return Div.apply(a, b)
def neg(x): return Neg.apply(x)
def exp(x): return Exp.apply(floating(x))
def log(x): return Log.apply(floating(x))
def sqrt(x): return Sqrt.apply(floating(x))
def sin(x): return Sin.apply(floating(x))
def cos(x): return Cos.apply(floating(x))
def clone(x): return Clone.apply(x)
def abs(x): return Abs.apply(x)  # noqa: A001 (mirrors numpy.abs)
def maximum(a, b): return Maximum.apply(a, b)
def minimum(a, b): return Minimum.apply(a, b)


def pow(a, b):  # noqa: A001
    """aᵇ: a fixed number b uses PowConst (any a); a tensor b needs a > 0."""
    if isinstance(b, (int, float)):
        return PowConst.apply(a, p=b)
    return Pow.apply(a, b)


def clip(x, low=None, high=None):
    return Clip.apply(x, low=low, high=high)


def clamp(x, min=None, max=None):  # noqa: A002  (PyTorch's names for clip's bounds)
    return Clip.apply(x, low=min, high=max)


def where(condition, a, b):
    """Pick a where ``condition`` (a boolean array or tensor, not differentiated) else b."""
    condition = condition.data if isinstance(condition, Tensor) else condition
    return Where.apply(a, b, condition=condition)


def astype(x, dtype):
    return AsType.apply(x, dtype=dtype)
