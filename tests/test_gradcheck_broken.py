"""gradcheck never passes a broken backward: NaN or Inf on either side, None where an error
signal is needed, a wrong shape, a wrong dtype — each a failure whose message says which."""
import numpy as np
import pytest

import tinyae
from tinyae.autograd import Function
from tinyae.gradcheck import GradcheckError, check_module, gradcheck, gradgradcheck


def _double(backward):
    """y = 2x with the given backward(self, ybar)."""
    return type(backward.__name__, (Function,), {"forward": lambda self, x: 2 * x,
                                                 "backward": backward})


NaN = _double(lambda self, ybar: ybar * float("nan"))
Inf = _double(lambda self, ybar: ybar * float("inf"))
Nothing = _double(lambda self, ybar: None)
Summed = _double(lambda self, ybar: ybar.sum())
Float32 = _double(lambda self, ybar: tinyae.Tensor(2 * ybar.data.astype("float32")))
Right = _double(lambda self, ybar: 2 * ybar)

X = np.array([1.0, 2.0, 3.0])


@pytest.mark.parametrize("check", [gradcheck, gradgradcheck])
@pytest.mark.parametrize("op, says", [(NaN, "analytic error signal .* is nan"),
                                      (Inf, "is inf"),
                                      (Nothing, "returned None as the error signal of input 0"),
                                      (Summed, r"shape \(\) for input 0, which has shape \(3,\)"),
                                      (Float32, "dtype float32 for input 0, which has dtype float64")])
def test_a_broken_backward_fails_and_says_why(check, op, says):
    if check is gradgradcheck and op in (NaN, Inf):
        says = "is (nan|inf)"  # the first derivative is the second-order check's output
    with pytest.raises(GradcheckError, match=says):
        check(op.apply, X)


def test_the_right_backward_still_passes():
    assert gradcheck(Right.apply, X) and gradgradcheck(Right.apply, X)


class _NaNOnlyInSecondOrder(Function):
    """y = x² whose backward is right in value but whose own backward gives NaN."""
    def forward(self, x):
        return x * x

    def backward(self, ybar):
        return 2 * ybar * _IdentityNaNBackward.apply(self.inputs[0])


class _IdentityNaNBackward(Function):
    def forward(self, x):
        return x.copy()

    def backward(self, ybar):
        return ybar * float("nan")


def test_a_nan_in_the_second_order_fails_gradgradcheck():
    assert gradcheck(_NaNOnlyInSecondOrder.apply, X)
    with pytest.raises(GradcheckError, match="second order.*nan"):
        gradgradcheck(_NaNOnlyInSecondOrder.apply, X)


def test_nan_on_the_numeric_side_is_a_failure_not_a_pass():
    # log at 0 ± ε: the output is finite at 1e-7 but log(1e-7 − 1e-6) is NaN.
    with pytest.raises(GradcheckError, match="numeric error signal .* is nan.*singularities"):
        gradcheck(lambda x: x.log(), np.array([1e-7, 2.0]))


def test_a_function_not_finite_at_the_point_is_a_failure():
    with pytest.raises(GradcheckError, match="the output is nan.*choose inputs where it is finite"):
        gradcheck(lambda x: x.log(), np.array([-1.0, 2.0]))
    with pytest.raises(GradcheckError, match="analytic .* is inf"):
        gradcheck(lambda x: x.sqrt(), np.array([0.0, 2.0]))


def test_large_inputs_checked_along_directions_fail_on_nan_too():
    with pytest.raises(GradcheckError, match="nan"):
        gradcheck(NaN.apply, np.ones(3000))


def test_check_module_fails_for_a_nan_backward_inside_a_module():
    class Broken(tinyae.nn.Module):
        def __init__(self):
            super().__init__()
            self.w = tinyae.nn.Parameter(np.ones(3))

        def forward(self, x):
            return NaN.apply(x * self.w)
    with pytest.raises(GradcheckError, match="nan"):
        check_module(Broken(), X)


def test_training_outside_gradcheck_still_reads_none_as_zero():
    # strict signals are gradcheck's mode only: a backward may return None for an input it
    # considers constant, as in PyTorch.
    x = tinyae.tensor(X, requires_grad=True)
    Nothing.apply(x).sum().backward()
    assert x.grad is None or not x.grad.data.any()
