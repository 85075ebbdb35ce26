"""Matrix products. For Y = A B the error signals are Ā = Ȳ Bᵀ and B̄ = Aᵀ Ȳ."""
from ..autograd import Function, register
from . import _samples as S


def _matmul_sample(rng, shape):
    """Batched, broadcasting shapes: (…, n, k) @ (…, k, m) built from the drawn shape."""
    dims = list(shape) + [2, 3, 2]
    n, k, m = dims[0], dims[1], dims[2]
    batch = tuple(dims[3:3 + int(rng.integers(0, 3))])
    a_batch = S.broadcast_partner(rng, batch) if rng.random() < 0.5 else batch
    return (S.normal(rng, a_batch + (n, k)), S.normal(rng, batch + (k, m))), {}


def matrix_transpose(t):
    """The transpose of the last two axes: of each matrix in a batch (PyTorch's ``t.mT``)."""
    axes = list(range(t.ndim))
    axes[-1], axes[-2] = axes[-2], axes[-1]
    return t.transpose(axes)


@register(_matmul_sample)
class MatMul(Function):
    """Y = A B (batched over leading axes, which broadcast);  Ā = Ȳ Bᵀ,  B̄ = Aᵀ Ȳ"""
    def forward(self, a, b):
        if a.ndim < 2 or b.ndim < 2 or a.shape[-1] != b.shape[-2]:
            raise ValueError(f"cannot multiply shapes {a.shape} @ {b.shape}: the last axis of "
                             "the left operand must equal the second-to-last of the right")
        return a @ b

    def backward(self, ybar):
        a, b = self.inputs
        need_a, need_b = self.needs_input_grad
        abar = ybar @ matrix_transpose(b) if need_a else None
        bbar = matrix_transpose(a) @ ybar if need_b else None
        return abar, bbar


def _linear_sample(rng, shape):
    n, i, o = (list(shape) + [3, 4, 2])[:3]
    rows = (n,) if rng.random() < 0.5 else (2, n)  # a matrix of rows, or (N, T, in) tokens
    return (S.normal(rng, rows + (i,)), S.normal(rng, (o, i)), S.normal(rng, (o,))), {}


@register(_linear_sample)
class Linear(Function):
    """z = x Wᵀ + b for a batch of rows x (the affine layer, fused into one op);
    x̄ = z̄ W,  W̄ = z̄ᵀ x,  b̄ = Σ_batch z̄

    An input with more leading axes, (…, in) such as (N, T, in) tokens, is one batch of
    N·T rows: one 2-D product each way, and W̄ = z̄ᵀ x a single GEMM rather than a batch of
    N products summed afterwards."""
    def forward(self, x, W, b=None):
        if x.shape[-1] != W.shape[1]:
            raise ValueError(f"linear: input has {x.shape[-1]} features but the weight "
                             f"{W.shape} expects {W.shape[1]} (weight is out_features × in_features)")
        z = _rows(x) @ W.T
        if b is not None:
            z += b
        return z.reshape(x.shape[:-1] + W.shape[:1])

    def backward(self, zbar):
        x, W = self.inputs[:2]
        need_x, need_W = self.needs_input_grad[:2]
        xbar = (_rows(zbar) @ W).reshape(x.shape) if need_x else None
        Wbar = _rows(zbar).T @ _rows(x) if need_W else None
        return (xbar, Wbar) + ((zbar,) if len(self.inputs) == 3 else ())


def _rows(t):
    """(…, n) as a matrix of rows (rows, n): an array or a Tensor, a view where possible."""
    return t.reshape(-1, t.shape[-1]) if t.ndim != 2 else t


def matmul(a, b):
    """A @ B; a 1-D operand is treated as a row (left) or column (right) vector as in NumPy."""
    from .shape import reshape
    if a.ndim == 1 and b.ndim == 1:
        return reshape(MatMul.apply(reshape(a, (1, -1)), reshape(b, (-1, 1))), ())
    if a.ndim == 1:
        out = MatMul.apply(reshape(a, (1, -1)), b)
        return reshape(out, out.shape[:-2] + out.shape[-1:])
    if b.ndim == 1:
        out = MatMul.apply(a, reshape(b, (-1, 1)))
        return reshape(out, out.shape[:-1])
    return MatMul.apply(a, b)


def linear(x, weight, bias=None):
    """x Wᵀ + b with W of shape (out_features, in_features), as nn.Linear uses it."""
    return Linear.apply(x, weight) if bias is None else Linear.apply(x, weight, bias)
