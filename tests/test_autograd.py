"""The engine: topological backward, fan-out, broadcasting, graph release, grad() and second
derivatives, anomaly mode, the dtype policy and the error messages."""
import numpy as np
import pytest

import tinyae
import tinyae.functional as F
from tinyae import Tensor, detect_anomaly, no_grad


def leaf(data, dtype="float64"):
    return Tensor(np.asarray(data, dtype=dtype), requires_grad=True)


# --- the backward pass --------------------------------------------------------------------
def test_a_100000_op_chain_backpropagates_without_recursion():
    x = leaf(1.0)
    y = x
    for _ in range(100_000):
        y = y + 1.0
    y.backward()
    assert y.item() == 100_001.0
    assert x.grad.item() == 1.0


def test_a_100000_op_chain_can_be_dropped_without_backward():
    x = leaf(1.0)
    y = x
    for _ in range(100_000):
        y = y * 1.0
    del y  # freeing a deep unreleased graph must not overflow the C stack either


def test_an_op_uses_its_output_after_the_ops_consuming_it_were_released():
    """Sigmoid's backward needs y; Mul, the only holder of y, is released before it runs."""
    x = leaf([-1.0, 2.0])
    (x.sigmoid() * 3.0).sum().backward()
    s = 1 / (1 + np.exp(-x.data))
    np.testing.assert_allclose(x.grad.data, 3 * s * (1 - s))


def test_fan_out_accumulates():
    x = leaf(2.0)
    (x + x + x).backward()
    assert x.grad.item() == 3.0
    x = leaf(2.0)
    (x * x * x).backward()  # x̄ = 3x²
    assert x.grad.item() == pytest.approx(12.0)


def test_leaf_grads_accumulate_across_backward_calls():
    x = leaf([1.0, 2.0])
    (x * x).sum().backward()
    (x * 3.0).sum().backward()
    np.testing.assert_allclose(x.grad.data, [2 * 1 + 3, 2 * 2 + 3])


@pytest.mark.parametrize("a_shape, b_shape", [((3, 1), (4,)), ((2, 3, 4), (3, 1)),
                                              ((1,), (2, 2)), ((), (3,)), ((5, 1, 2), (1, 4, 1))])
def test_broadcasting_is_undone(a_shape, b_shape, rng):
    a, b = leaf(rng.standard_normal(a_shape)), leaf(rng.standard_normal(b_shape))
    y = a * b
    y.backward(np.ones(y.shape))
    assert a.grad.shape == a_shape and b.grad.shape == b_shape
    # ā = Σ over the broadcast axes of ȳ ⊙ b, i.e. b summed the way a was stretched
    expected_a = np.broadcast_to(b.data, y.shape).sum(
        axis=tuple(range(y.ndim - len(a_shape)))).reshape(-1)
    assert np.isclose(a.grad.data.sum(), expected_a.sum())


def test_broadcast_add_values():
    a, b = leaf(np.zeros((3, 1))), leaf(np.zeros(4))
    (a + b).sum().backward()
    np.testing.assert_array_equal(a.grad.data, np.full((3, 1), 4.0))
    np.testing.assert_array_equal(b.grad.data, np.full(4, 3.0))


def test_graph_is_released_and_a_second_backward_says_retain_graph():
    x = leaf([1.0, 2.0])
    y = (x * x).sum()
    y.backward()
    with pytest.raises(RuntimeError, match="retain_graph"):
        y.backward()


def test_a_second_backward_through_a_released_middle_also_fails():
    x = leaf([1.0, 2.0])
    h = x.exp()
    h.sum().backward()
    with pytest.raises(RuntimeError, match="retain_graph"):
        (h * 2.0).sum().backward()


def test_retain_graph_allows_a_second_backward():
    x = leaf([1.0, 2.0])
    y = (x * x).sum()
    y.backward(retain_graph=True)
    y.backward()
    np.testing.assert_allclose(x.grad.data, 2 * 2 * x.data)


def test_backward_on_a_non_scalar_needs_ybar():
    x = leaf([1.0, 2.0])
    y = x * 2.0
    with pytest.raises(RuntimeError, match="ybar"):
        y.backward()
    y.backward(np.array([1.0, 10.0]))
    np.testing.assert_allclose(x.grad.data, [2.0, 20.0])


def test_ybar_of_the_wrong_shape_is_refused():
    x = leaf([1.0, 2.0])
    with pytest.raises(ValueError, match=r"\(3,\)"):
        (x * 2.0).backward(np.ones(3))


def test_backward_without_requires_grad_says_why():
    with pytest.raises(RuntimeError, match="requires_grad"):
        (Tensor([1.0]) * 2).sum().backward()


# --- what is recorded ---------------------------------------------------------------------
def test_no_grad_records_nothing():
    x = leaf([1.0, 2.0])
    with no_grad():
        y = x * x
    assert not y.requires_grad and y.is_leaf
    z = x * x  # recording is back on after the block
    assert z.requires_grad and not z.is_leaf


def test_detach_stops_the_gradient():
    x = leaf([1.0, 2.0])
    (x.detach() * x).sum().backward()  # only the second factor is differentiated
    np.testing.assert_allclose(x.grad.data, x.data)
    assert not x.detach().requires_grad


def test_constants_do_not_get_grads():
    x, c = leaf([1.0, 2.0]), Tensor(np.array([3.0, 4.0]))
    (x * c).sum().backward()
    assert c.grad is None
    np.testing.assert_allclose(x.grad.data, [3.0, 4.0])


def test_the_engine_tells_ops_which_inputs_need_an_error_signal():
    x, c = leaf([1.0, 2.0]), Tensor(np.array([3.0, 4.0]))
    assert (x * c)._creator.needs_input_grad == (True, False)
    assert (2.0 - x)._creator.needs_input_grad == (False, True)


def test_error_signals_returned_for_constants_are_dropped():
    class Both(F.elementwise.Mul):  # returns x̄ for every input, needed or not
        def backward(self, ybar):
            a, b = self.inputs
            return ybar * b, ybar * a
    x, c = leaf([1.0, 2.0]), Tensor(np.array([3.0, 4.0]))
    Both.apply(x, c).sum().backward()
    assert c.grad is None
    np.testing.assert_allclose(x.grad.data, [3.0, 4.0])


# --- grad() and second derivatives --------------------------------------------------------
def test_grad_returns_error_signals_and_leaves_dot_grad_alone():
    x, w = leaf([1.0, 2.0]), leaf([3.0, 4.0])
    xbar, wbar = tinyae.grad((x * w).sum(), [x, w])
    np.testing.assert_allclose(xbar.data, w.data)
    np.testing.assert_allclose(wbar.data, x.data)
    assert x.grad is None and w.grad is None


def test_grad_of_an_unused_input_raises_unless_allowed():
    x, unused = leaf([1.0, 2.0]), leaf([5.0])
    with pytest.raises(RuntimeError, match="input 1 .* not part of the graph.*allow_unused=True"):
        tinyae.grad((x * x).sum(), [x, unused])
    _, ubar = tinyae.grad((x * x).sum(), [x, unused], allow_unused=True)
    np.testing.assert_array_equal(ubar.data, [0.0])


def test_grad_refuses_an_input_without_requires_grad():
    x = leaf([1.0])
    with pytest.raises(ValueError, match="requires_grad"):
        tinyae.grad((x * 2.0).sum(), [Tensor([1.0])])


def test_second_derivative_of_x_cubed_is_6x():
    x = leaf(2.0)
    (dy,) = tinyae.grad(x ** 3, [x], create_graph=True)
    assert dy.item() == pytest.approx(3 * 2.0 ** 2)
    assert dy.requires_grad
    (d2y,) = tinyae.grad(dy, [x])
    assert d2y.item() == pytest.approx(6 * 2.0)
    assert x.grad is None


def test_without_create_graph_the_gradient_is_a_constant():
    x = leaf(2.0)
    dy = tinyae.grad(x ** 3, x)
    assert not dy.requires_grad


def _mlp_loss(params, x):
    W1, b1, W2 = params
    h = F.linear(x, W1, b1).tanh()
    return ((h @ W2) ** 2).mean()


def test_hessian_vector_product_of_an_mlp_matches_finite_differences(rng):
    x = Tensor(rng.standard_normal((5, 3)))
    params = [leaf(rng.standard_normal((4, 3))), leaf(rng.standard_normal(4)),
              leaf(rng.standard_normal((4, 2)))]
    v = [rng.standard_normal(p.shape) for p in params]
    grads = tinyae.grad(_mlp_loss(params, x), params, create_graph=True)
    gv = sum((g * vi).sum() for g, vi in zip(grads, v))
    hv = tinyae.grad(gv, params)  # H v, by differentiating ⟨∇L, v⟩

    def gradient_at(step):
        moved = [leaf(p.data + step * vi) for p, vi in zip(params, v)]
        return [g.data for g in tinyae.grad(_mlp_loss(moved, x), moved)]
    eps = 1e-5
    plus, minus = gradient_at(eps), gradient_at(-eps)
    for hvi, p, m in zip(hv, plus, minus):
        np.testing.assert_allclose(hvi.data, (p - m) / (2 * eps), rtol=1e-6, atol=1e-8)


# --- anomaly mode -------------------------------------------------------------------------
def test_detect_anomaly_names_the_op_producing_nan_in_forward():
    x = leaf([1.0, -1.0])
    with np.errstate(invalid="ignore"), detect_anomaly():
        with pytest.raises(FloatingPointError, match="Log"):
            x.log()
    with np.errstate(invalid="ignore"):
        x.log()  # outside the block NaN passes silently, as in NumPy


def test_detect_anomaly_names_the_op_whose_backward_produces_inf():
    """√x at x = 0 is finite, but its error signal ȳ / (2√x) is not: the message must name
    Sqrt (the op being differentiated), not only the Div its backward formula uses."""
    x = leaf([0.0, 1.0])
    y = x.sqrt().sum()
    with np.errstate(divide="ignore"), detect_anomaly():
        with pytest.raises(FloatingPointError) as info:
            y.backward()
    message = str(info.value)
    assert "backward" in message and "Sqrt" in message, (
        f"anomaly mode should name the backward of Sqrt, got: {message!r}")


# --- dtype policy -------------------------------------------------------------------------
def test_dtype_policy():
    assert Tensor([1.0, 2.0]).dtype == np.float32          # Python lists → float32
    assert Tensor([1, 2]).dtype == np.float32              # int lists too
    assert Tensor(3.0).dtype == np.float32                 # Python numbers too
    assert Tensor(np.zeros(2)).dtype == np.float64         # float64 arrays stay float64
    assert Tensor(np.zeros(2, "float32")).dtype == np.float32
    x = Tensor(np.ones(2, "float32"), requires_grad=True)
    for y in (2.5 * x, x * 2.5, x + 1, 1 - x, x / 3, 2 / (x + 1), x ** 2, np.float64(2.0) * x):
        assert y.dtype == np.float32, f"a scalar upcast float32 to {y.dtype}"
    (x * 2.5).sum().backward()
    assert x.grad.dtype == np.float32


def test_only_float_tensors_can_require_grad():
    with pytest.raises(TypeError, match="float"):
        Tensor(np.array([1, 2]), requires_grad=True)


# --- error messages -----------------------------------------------------------------------
def test_matmul_shape_error_names_the_op_and_shapes():
    a, b = Tensor(np.zeros((2, 3))), Tensor(np.zeros((4, 5)))
    with pytest.raises(ValueError) as info:
        a @ b
    message = str(info.value)
    assert "MatMul" in message and "(2, 3)" in message and "(4, 5)" in message


def test_broadcast_error_names_the_op_and_shapes():
    with pytest.raises(ValueError) as info:
        Tensor(np.zeros(3)) + Tensor(np.zeros(4))
    message = str(info.value)
    assert "Add" in message and "(3,)" in message and "(4,)" in message
