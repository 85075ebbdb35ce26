"""gradcheck reports a student can act on: ȳ = 1 for scalar outputs, the random ȳ shown for
tensor outputs, the student's Function named, and each classic backprop bug caught at an element."""
import numpy as np
import pytest

from tinyae import Function, gradcheck
from tinyae.gradcheck import GradcheckError


class Cube(Function):
    """y = x³, with the classic missing factor: x̄ = ȳ x² instead of 3 ȳ x²."""
    def forward(self, x):
        return x * x * x

    def backward(self, ybar):
        x = self.inputs[0]
        return ybar * x * x


class WrongSign(Function):
    """y = e⁻ˣ with x̄ = ȳ e⁻ˣ (the sign of the chain-rule factor −1 forgotten)."""
    def forward(self, x):
        return np.exp(-x)

    def backward(self, ybar):
        return ybar * self.output


class NoTranspose(Function):
    """Y = A B with Ā = Ȳ B (the transpose forgotten: Ā = Ȳ Bᵀ). Square B, so shapes fit."""
    def forward(self, a, b):
        return a @ b

    def backward(self, ybar):
        a, b = self.inputs
        return ybar @ b, a.T @ ybar


class BiasWrongAxis(Function):
    """z = x + b, b broadcast over the batch; b̄ summed over the wrong axis (features, not batch).
    x is (3, 3) so the wrong sum still has b's shape."""
    def forward(self, x, b):
        return x + b

    def backward(self, zbar):
        return zbar, zbar.sum(axis=1)


class SquareNoFanOut(Function):
    """y = x·x with only one of the two paths counted: x̄ = ȳ x instead of ȳ x + ȳ x."""
    def forward(self, x):
        return x * x

    def backward(self, ybar):
        return ybar * self.inputs[0]


def test_scalar_output_uses_ybar_one_and_says_so():
    with pytest.raises(GradcheckError) as err:
        gradcheck(Cube.apply, [np.array(2.0)])
    message = str(err.value)
    assert message.startswith("Cube: ")
    assert "analytic 4 vs numeric 12" in message          # ∂(x³)/∂x at 2 is 12; the bug gives 4
    assert "ȳ = 1" in message


def test_tensor_output_says_a_random_ybar_was_used_and_prints_it():
    with pytest.raises(GradcheckError) as err:
        gradcheck(SquareNoFanOut.apply, [np.array([2.0, 3.0])])
    message = str(err.value)
    assert "random ȳ" in message and "the ȳ that multiplies this element is" in message
    assert "SquareNoFanOut" in message


def test_a_lambda_around_a_student_function_names_the_function():
    with pytest.raises(GradcheckError) as err:
        gradcheck(lambda x: Cube.apply(x).sum(), [np.array([1.0, 2.0])])
    assert "Your Function(s) in this computation: Cube" in str(err.value)


@pytest.mark.parametrize("fn, inputs, where", [
    (Cube.apply, [np.array([1.5, -2.0])], "input 0"),
    (WrongSign.apply, [np.array([0.3, 1.0])], "input 0"),
    (NoTranspose.apply, [np.arange(1.0, 10.0).reshape(3, 3), np.arange(2.0, 11.0).reshape(3, 3) ** 1.5], "input 0"),
    (BiasWrongAxis.apply, [np.zeros((3, 3)), np.array([1.0, 2.0, 3.0])], "input 1"),
    (SquareNoFanOut.apply, [np.array([0.5, 2.0])], "input 0"),
])
def test_each_classic_bug_fails_at_an_element(fn, inputs, where):
    with pytest.raises(GradcheckError) as err:
        gradcheck(fn, inputs)
    message = str(err.value)
    assert f"failed for {where}" in message and "at element" in message
    assert "analytic" in message and "numeric" in message


# --- the diagnosis over all elements, and inputs by name --------------------------------------
class LogisticUnit(Function):
    """y = σ(1.5 w) with σ'(z) forgotten: w̄ = 1.5 ȳ."""
    def forward(self, w):
        return 1 / (1 + np.exp(-1.5 * w))

    def backward(self, ybar):
        return 1.5 * ybar


def _report(fn, inputs, **kwargs):
    with pytest.raises(GradcheckError) as err:
        gradcheck(fn, inputs, **kwargs)
    return str(err.value)


def test_the_input_is_named_and_the_ratio_printed():
    message = _report(LogisticUnit.apply, [np.array(0.3)])
    assert "failed for input 0 (w, shape ())" in message and "∂y/∂w" in message
    sigma = 1 / (1 + np.exp(-0.45))
    assert f"analytic / numeric = {1 / (sigma * (1 - sigma)):.6g}" in message  # 1/σ'(z)


def test_a_constant_factor_and_a_flipped_sign_are_said_in_words():
    assert "3 of 3 elements are wrong: each is 0.333333 × the right value" in _report(
        Cube.apply, [np.array([1.5, -2.0, 0.7])])   # x̄ = ȳ x² instead of 3ȳ x²
    message = _report(WrongSign.apply, [np.array([0.3, 1.0])])
    assert "2 of 2 elements are wrong: each is the right value with its sign flipped" in message


def test_names_can_be_given_and_a_varying_ratio_says_what_it_may_be():
    message = _report(NoTranspose.apply, [np.arange(1.0, 10.0).reshape(3, 3),
                                          np.arange(2.0, 11.0).reshape(3, 3) ** 1.5],
                      names=["A", "B"])
    assert "input 0 (A, shape (3, 3))" in message and "varies from" in message
    assert "a transpose" in message
    assert "element-wise" not in message  # a matrix product: no one ȳ multiplies one element
    assert "the function is element-wise here, so the ȳ that multiplies this element is" in \
        _report(WrongSign.apply, [np.array([0.3, 1.0])])


# docs/common_mistakes.md pastes these reports verbatim; they must stay what gradcheck says
DOCUMENTED = {
    "Cube": (Cube.apply, [np.array(2.0)]),
    "WrongSign": (WrongSign.apply, [np.array([0.3, 1.0])]),
    "NoTranspose": (NoTranspose.apply, [np.arange(1.0, 10.0).reshape(3, 3),
                                        np.arange(2.0, 11.0).reshape(3, 3) ** 1.5]),
    "BiasWrongAxis": (BiasWrongAxis.apply, [np.zeros((3, 3)), np.array([1.0, 2.0, 3.0])]),
    "SquareNoFanOut": (SquareNoFanOut.apply, [np.array([0.5, 2.0])]),
}


def documented_reports():
    return {name: _report(fn, inputs) for name, (fn, inputs) in DOCUMENTED.items()}


def test_the_reports_in_common_mistakes_are_what_gradcheck_says():
    from pathlib import Path
    page = (Path(__file__).resolve().parents[1] / "docs" / "common_mistakes.md").read_text()
    for name, report in documented_reports().items():
        assert f"\n{report}\n" in page, name
