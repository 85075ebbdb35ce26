"""The gradient checker itself: it passes right gradients and catches wrong ones, first and second
order, element-wise and along random directions, for functions and for modules."""
import numpy as np
import pytest

import tinyae
from tinyae.autograd import Function
from tinyae.gradcheck import (GradcheckError, check_all_ops, check_module, format_op_table,
                              gradcheck, gradgradcheck)


class _SquareMissingTwo(Function):
    """y = x², with the wrong backward x̄ = ȳ x (the factor 2 forgotten)."""
    def forward(self, x):
        return x * x

    def backward(self, ybar):
        return ybar * self.inputs[0]


class _SquareFrozenBackward(Function):
    """y = x², with a first derivative that is right but computed on raw arrays, so the graph of
    the backward pass is cut: the second derivative comes out as 0 instead of 2ȳ."""
    def forward(self, x):
        return x * x

    def backward(self, ybar):
        return ybar * tinyae.Tensor(2 * self.inputs[0].data)


class _ScaleWrongWeight(Function):
    """y = w ⊙ x with a wrong weight signal w̄ = ȳ (should be ȳ ⊙ x)."""
    def forward(self, x, w):
        return x * w

    def backward(self, ybar):
        x, w = self.inputs
        return ybar * w, ybar


def test_passes_correct_gradients(rng):
    def f(a, b):
        return (a @ b).tanh() * a.sum(axis=1, keepdims=True) + b.exp().mean()
    assert gradcheck(f, [rng.standard_normal((3, 4)), rng.standard_normal((4, 2))]) is True
    assert gradgradcheck(f, [rng.standard_normal((3, 4)), rng.standard_normal((4, 2))]) is True


def test_accepts_a_single_array_and_tensors(rng):
    assert gradcheck(lambda x: x.sigmoid(), rng.standard_normal(5))
    assert gradcheck(lambda x: x * 3.0, tinyae.Tensor(rng.standard_normal((2, 2)).astype("float32")))


def test_catches_a_wrong_backward_and_says_where(rng):
    with pytest.raises(GradcheckError) as info:
        gradcheck(lambda x: _SquareMissingTwo.apply(x), [rng.uniform(0.5, 1.0, (2, 3))])
    message = str(info.value)
    assert "input 0 (x, shape (2, 3))" in message
    assert "at element (" in message and "analytic" in message and "numeric" in message
    assert "relative error" in message
    assert isinstance(info.value, AssertionError)


def test_names_the_failing_input(rng):
    x, w = rng.standard_normal(4), rng.uniform(2.0, 3.0, 4)
    with pytest.raises(GradcheckError, match=r"input 1 \(b, shape \(4,\)\)"):
        gradcheck(lambda a, b: _ScaleWrongWeight.apply(a, b), [x, w])


def test_directional_mode_catches_errors_too(rng):
    x = rng.uniform(0.5, 1.0, 50)
    with pytest.raises(GradcheckError, match="along random direction"):
        gradcheck(lambda t: _SquareMissingTwo.apply(t), [x], directional=True)
    assert gradcheck(lambda t: t * t, [x], directional=True)


def test_large_inputs_switch_to_directions_automatically(rng):
    x = rng.uniform(0.5, 1.0, 3000)  # checking 3000 elements one by one would take 6000 calls
    calls = []

    def f(t):
        calls.append(1)
        return (t * t).sum()
    assert gradcheck(f, [x])
    assert len(calls) < 20
    with pytest.raises(GradcheckError, match="along random direction"):
        gradcheck(lambda t: _SquareMissingTwo.apply(t), [x])


def test_gradgradcheck_catches_a_backward_that_cuts_the_graph(rng):
    x = [rng.uniform(0.5, 1.0, 3)]
    assert gradcheck(lambda t: _SquareFrozenBackward.apply(t), x)  # first order is right
    with pytest.raises(GradcheckError):
        gradgradcheck(lambda t: _SquareFrozenBackward.apply(t), x)


def test_inputs_are_left_untouched(rng):
    x = rng.standard_normal((2, 3))
    t = tinyae.Tensor(x.astype("float32"), requires_grad=True)
    before, before_t = x.copy(), t.data.copy()
    gradcheck(lambda a, b: a * b, [x, t])
    assert np.array_equal(x, before) and np.array_equal(t.data, before_t)
    assert t.grad is None and t.dtype == np.float32


def test_a_function_must_return_a_tensor(rng):
    with pytest.raises(TypeError, match="must return a Tensor"):
        gradcheck(lambda x: x.data * 2, [rng.standard_normal(3)])


# --- modules ------------------------------------------------------------------------------
class _TinyAffine:
    """A stand-in for an nn.Module with the same contract: named_parameters() yields
    (name, Tensor with requires_grad=True) and calling it runs forward."""
    def __init__(self, rng, broken=False):
        self.weight = tinyae.Tensor(rng.standard_normal((3, 2)).astype("float32"), requires_grad=True)
        self.scale = tinyae.Tensor(rng.uniform(1, 2, 2).astype("float32"), requires_grad=True)
        self.broken = broken

    def named_parameters(self):
        yield "weight", self.weight
        yield "scale", self.scale

    def __call__(self, x):
        z = x @ self.weight
        z = _ScaleWrongWeight.apply(z, self.scale) if self.broken else z * self.scale
        return z.sigmoid()


def test_check_module_passes_and_restores_float32(rng):
    module = _TinyAffine(rng)
    weight = module.weight.data
    assert check_module(module, rng.standard_normal((4, 3)))
    assert module.weight.data is weight and module.weight.dtype == np.float32
    assert module.scale.dtype == np.float32 and module.weight.grad is None


def test_check_module_names_the_wrong_parameter(rng):
    module = _TinyAffine(rng, broken=True)
    with pytest.raises(GradcheckError, match="parameter 'scale'"):
        check_module(module, rng.standard_normal((4, 3)))
    assert module.scale.dtype == np.float32  # restored after a failure too


def test_check_module_on_a_real_layer(rng):
    from tinyae import nn
    assert check_module(nn.Linear(3, 2), rng.standard_normal((4, 3)))


# --- the op table -------------------------------------------------------------------------
def test_check_all_ops_covers_the_registry():
    rows = check_all_ops(second_order=False)
    assert [r.op for r in rows] == sorted(tinyae.autograd.OPS)
    add = next(r for r in rows if r.op == "Add")
    assert add.first_order is True and add.second_order is None and add.max_error < 1e-6
    table = format_op_table(rows)
    assert "Add" in table and "MatMul" in table and f"of {len(rows)} ops pass" in table
