"""Misuse of tensors, the engine, losses and numerics: each case gives the right answer or an
error that says what was wrong and what to do — never a silently wrong answer (issue 7)."""
import threading

import numpy as np
import pytest

import tinyae
import tinyae.functional as F
from tinyae import Tensor, from_numpy, nn, no_grad, optim


def leaf(data, dtype="float64"):
    return Tensor(np.asarray(data, dtype=dtype), requires_grad=True)


# --- memory sharing: tensor() copies, from_numpy() shares, every leaf owns its .grad -------------
def test_tensor_and_Tensor_copy_the_callers_array():
    a = np.ones(3, dtype="float32")
    for t in (tinyae.tensor(a), Tensor(a), tinyae.tensor(a, requires_grad=True)):
        t.data[0] = 5.0
    assert a[0] == 1.0


def test_from_numpy_shares_the_callers_array():
    a = np.ones(3, dtype="float32")
    t = from_numpy(a)
    a[0] = 7.0
    assert t.data[0] == 7.0 and t.dtype == np.float32
    with pytest.raises(TypeError, match="NumPy array.*tinyae.tensor"):
        from_numpy([1.0, 2.0])


def test_an_optimizer_step_never_changes_the_array_a_parameter_was_made_from():
    a = np.ones((2, 2), dtype="float32")
    p = nn.Parameter(a)
    opt = optim.SGD([p], lr=0.5)
    (p * p).sum().backward()
    opt.step()
    np.testing.assert_array_equal(a, np.ones((2, 2)))
    assert not np.allclose(p.data, 1.0)


def test_numpy_returns_a_copy():
    t = leaf([1.0, 2.0])
    t.numpy()[0] = 9.0
    assert t.data[0] == 1.0


def test_two_leaves_never_share_one_grad_buffer():
    for reduce in (Tensor.mean, Tensor.sum):
        a, b = leaf([1.0, 2.0]), leaf([3.0, 4.0])
        reduce(a + b).backward()
        assert not np.shares_memory(a.grad.data, b.grad.data)
        before = b.grad.data.copy()
        a.grad.data += 1.0  # an in-place update of one (clipping, optimizer) leaves the other alone
        np.testing.assert_array_equal(b.grad.data, before)


def test_grad_never_aliases_the_ybar_passed_in():
    x = leaf([1.0, 2.0])
    ybar = Tensor(np.array([1.0, 1.0]))
    (x + 0.0).backward(ybar)
    x.grad.data *= 3.0
    np.testing.assert_array_equal(ybar.data, [1.0, 1.0])


def test_a_fresh_error_signal_becomes_grad_without_a_copy_but_is_never_shared():
    """A .grad takes the array an op's backward made when nothing else holds it (no copy);
    the same array sent to two leaves, or an input handed back as its own x̄, is copied."""
    from tinyae.autograd import Function

    class Twice(Function):  # y = 2a + 2b, its backward hands ONE fresh tensor to both inputs
        def forward(self, a, b):
            return 2 * a + 2 * b

        def backward(self, ybar):
            g = ybar * 2.0
            return g, g

    class Odd(Function):  # a user's backward returning its input as the error signal
        def forward(self, a):
            return a * 1.0

        def backward(self, ybar):
            return self.inputs[0]

    a, b = leaf([1.0, 2.0]), leaf([3.0, 4.0])
    Twice.apply(a, b).sum().backward()
    assert not np.shares_memory(a.grad.data, b.grad.data)
    np.testing.assert_array_equal(a.grad.data, [2.0, 2.0])
    c = leaf([5.0, 6.0])
    Odd.apply(c).backward(Tensor(np.ones(2)))
    c.grad.data += 1.0
    np.testing.assert_array_equal(c.data, [5.0, 6.0])
    w, x = leaf(np.ones((3, 2))), Tensor(np.ones((4, 2)))
    (x @ w.T).sum().backward()  # W̄ = z̄ᵀx, a fresh array: it becomes w.grad as it is
    assert w.grad.data.base is None and not np.shares_memory(w.grad.data, w.data)


def test_the_sole_holder_test_tells_a_fresh_array_from_a_shared_one():
    """The no-copy path of .grad relies on a reference count measured on this interpreter: an
    array only one Tensor holds is "sole"; one a second Tensor (or a view) also holds is not."""
    from tinyae.autograd import _sole_holder
    fresh = Tensor(np.ones(3), copy=False)
    assert _sole_holder(fresh)
    other = Tensor(fresh.data, copy=False)
    assert not _sole_holder(fresh) and not _sole_holder(other)
    del other
    assert _sole_holder(fresh)
    assert not _sole_holder(Tensor(np.ones((2, 3))[0], copy=False))  # a view: its base holds it


def test_grads_with_create_graph_are_owned_too():
    a, b = leaf([1.0]), leaf([2.0])
    (a + b).sum().backward(create_graph=True)
    assert a.grad is not b.grad and not np.shares_memory(a.grad.data, b.grad.data)


# --- tensors as values ------------------------------------------------------------------------
def test_comparisons_are_elementwise_boolean_tensors_without_grad():
    t, u = leaf([1.0, 2.0, 3.0]), Tensor(np.array([1.0, 0.0, 5.0]))
    assert (t == u).data.tolist() == [True, False, False]
    assert (t != u).data.tolist() == [False, True, True]
    assert (t < u).data.tolist() == [False, False, True]
    assert (t >= 2).data.tolist() == [False, True, True]
    assert (np.array([1.0, 2.0, 3.0]) == t).data.tolist() == [True, True, True]
    for r in (t == u, t < u, t > 1.5):
        assert r.dtype == np.bool_ and not r.requires_grad


def test_bool_of_one_element_works_and_of_several_is_ambiguous():
    best = Tensor(np.array(2.0))
    loss = Tensor(np.array(1.0))
    assert loss < best  # `if loss < best:` works on one-element tensors
    assert not Tensor(np.array([0.0]))
    with pytest.raises(RuntimeError, match="2 elements is ambiguous.*any\\(\\).*all\\(\\)"):
        bool(Tensor(np.array([0.0, 0.0])))
    with pytest.raises(RuntimeError, match="ambiguous"):
        bool(Tensor(np.zeros(0)))
    assert not Tensor(np.array([0.0, 0.0])).any() and Tensor(np.array([1.0, 2.0])).all()


def test_tensors_still_hash_by_identity_for_sets_and_dicts():
    a, b = Tensor(np.array([1.0])), Tensor(np.array([1.0]))
    assert len({a, b}) == 2 and {a: 1, b: 2}[a] == 1
    assert a in {a} and b not in {a}
    assert (a == None) is False and (a != None) is True  # noqa: E711  (`x.grad == None` idiom)


def test_float_int_len_and_numpy_conversion():
    assert float(Tensor(np.array([2.5]))) == 2.5 and int(Tensor(np.array(3.0))) == 3
    with pytest.raises(TypeError, match="one element.*shape \\(2,\\)"):
        float(Tensor(np.array([1.0, 2.0])))
    with pytest.raises(TypeError, match="0-d tensor.*item"):
        len(Tensor(np.array(1.0)))
    np.testing.assert_array_equal(np.asarray(Tensor(np.array([1.0, 2.0]))), [1.0, 2.0])
    with pytest.raises(TypeError, match="requires grad.*detach\\(\\).numpy\\(\\)"):
        np.asarray(leaf([1.0]))


# --- grad() -----------------------------------------------------------------------------------
def test_grad_of_an_input_not_in_the_graph_raises_unless_allowed():
    x, other = leaf([1.0]), leaf([2.0])
    with pytest.raises(RuntimeError, match="input 0 .*not part of the graph.*allow_unused=True"):
        tinyae.grad((x * 3).sum(), other)
    assert tinyae.grad((x * 3).sum(), other, allow_unused=True).data.tolist() == [0.0]


# --- grad mode and anomaly mode are per thread ------------------------------------------------------
def test_no_grad_and_anomaly_mode_are_per_thread():
    inside, release, seen = threading.Event(), threading.Event(), {}

    def other_thread():
        with no_grad(), tinyae.detect_anomaly():
            inside.set()
            release.wait(5)

    thread = threading.Thread(target=other_thread)
    thread.start()
    inside.wait(5)
    try:
        x = leaf([1.0])
        seen["recorded"] = (x * 2).requires_grad
        seen["anomaly"] = tinyae.autograd._state["anomaly"]
    finally:
        release.set()
        thread.join()
    assert seen == {"recorded": True, "anomaly": False}

    result = {}
    with no_grad():
        t = threading.Thread(target=lambda: result.update(g=(leaf([1.0]) * 2).requires_grad))
        t.start()
        t.join()
    assert result["g"] is True  # a new thread starts with grad mode on, as in PyTorch


# --- Function errors ------------------------------------------------------------------------------
def test_numpys_own_exceptions_keep_their_type_and_gain_the_op():
    # NumPy's AxisError (a subclass of ValueError and IndexError with its own constructor)
    with pytest.raises(getattr(np, "exceptions", np).AxisError) as info:
        Tensor(np.ones((2, 3))).sum(axis=5)
    assert "Sum" in "\n".join(getattr(info.value, "__notes__", [])) + str(info.value)


def test_plain_errors_name_the_op_and_shapes():
    with pytest.raises(ValueError, match="MatMul.*\\(2, 3\\), \\(2, 3\\)"):
        Tensor(np.ones((2, 3))) @ Tensor(np.ones((2, 3)))


class WrongShape(tinyae.Function):
    def forward(self, a, b):
        return a * b

    def backward(self, ybar):
        return ybar, ybar.sum(axis=0)  # b̄ of the wrong shape


class TooFew(tinyae.Function):
    def forward(self, a, b):
        return a + b

    def backward(self, ybar):
        return ybar


def test_a_user_functions_wrongly_shaped_signal_is_named():
    a, b = leaf(np.ones((2, 3))), leaf(np.ones((4, 2, 3)))
    with pytest.raises(RuntimeError, match="WrongShape.backward .*shape \\(2, 3\\) for input 1, "
                                           "which has shape \\(4, 2, 3\\)"):
        WrongShape.apply(a, b).sum().backward()
    with pytest.raises(RuntimeError, match="TooFew.backward returned 1 error signals for 2 inputs"):
        TooFew.apply(leaf([1.0]), leaf([2.0])).sum().backward()


# --- losses refuse targets they cannot mean -------------------------------------------------------
def test_bce_refuses_pixels_0_to_255():
    pred = Tensor(np.full((2, 4), 0.5, dtype="float32"), requires_grad=True)
    pixels = np.array([[0, 128, 255, 3], [255, 0, 0, 9]], dtype=np.uint8)
    with pytest.raises(ValueError, match="bce: the targets must lie in \\[0, 1\\], got values "
                                         "from 0 to 255.*divided by 255"):
        tinyae.losses.bce(pred, pixels)
    with pytest.raises(ValueError, match="bce_with_logits: the targets must lie in \\[0, 1\\]"):
        tinyae.losses.bce_with_logits(pred, pixels)
    with pytest.raises(ValueError, match="NaN"):
        tinyae.losses.bce(pred, np.full((2, 4), np.nan, dtype="float32"))
    assert tinyae.losses.bce(pred, pixels / 255.0).item() > 0


def test_kl_sparsity_refuses_activations_outside_0_1():
    with pytest.raises(ValueError, match="kl_sparsity: the activations h must lie in \\[0, 1\\].*sigmoid"):
        tinyae.losses.kl_sparsity(Tensor(np.array([[0.5, 3.0]])), 0.05)


@pytest.mark.parametrize("loss", ["mse", "bce", "bce_with_logits", "sse"])
def test_a_mean_over_an_empty_batch_is_an_error(loss):
    empty = Tensor(np.zeros((0, 4)), requires_grad=True)
    with pytest.raises(ValueError, match="the batch is empty \\(shape \\(0, 4\\)\\).*data loader"):
        getattr(tinyae.losses, loss)(empty, np.zeros((0, 4)))
    assert tinyae.losses.mse(empty, np.zeros((0, 4)), reduction="sum").item() == 0.0


def test_mean_and_var_backward_never_divide_by_zero():
    x = Tensor(np.zeros((0, 3)), requires_grad=True)
    with np.errstate(all="ignore"):
        F.mean(x, axis=0).sum().backward()
    assert x.grad.shape == (0, 3)
    x = Tensor(np.array([1.0]), requires_grad=True)
    with np.errstate(all="ignore"):
        F.var(x, ddof=1).backward()  # one value has no sample variance: NaN, like y
    assert np.isnan(x.grad.data).all()


# --- numerics ------------------------------------------------------------------------------------
def _expit64(z):
    z = np.asarray(z, dtype=np.float64)
    return np.where(z >= 0, 1 / (1 + np.exp(-np.abs(z))), np.exp(-np.abs(z)) / (1 + np.exp(-np.abs(z))))


C = np.sqrt(2 / np.pi)
# float32 result of each function at the tails, against an independent float64 reference
TAILS = {
    "sigmoid": (F.sigmoid, _expit64, np.linspace(-80, 80, 321)),
    "tanh": (F.tanh, np.tanh, np.linspace(-20, 20, 161)),
    "softplus": (F.softplus, lambda z: np.logaddexp(0, z), np.linspace(-80, 80, 321)),
    "gelu": (F.gelu, lambda z: z * _expit64(2 * C * (z + 0.044715 * z ** 3)), np.linspace(-8, 8, 161)),
    "elu": (F.elu, lambda z: np.where(z > 0, z, np.expm1(np.minimum(z, 0))), np.linspace(-30, 30, 121)),
    "exp": (F.exp, np.exp, np.linspace(-80, 80, 161)),
    "log": (F.log, np.log, np.geomspace(1e-30, 1e30, 121)),
    "logsumexp": (lambda z: F.logsumexp(z.reshape(-1, 1) + Tensor(np.array([0.0, -3.0], "float32")), axis=1),
                  lambda z: np.logaddexp(z, z - 3.0), np.linspace(-80, 80, 161)),
    "log_softmax": (lambda z: F.log_softmax(F.stack([z, z * 0], axis=1), axis=1)[:, 0],
                    lambda z: -np.logaddexp(0, -z), np.linspace(-80, 80, 161)),
    "softmax": (lambda z: F.softmax(F.stack([z, z * 0], axis=1), axis=1)[:, 0], _expit64,
                np.linspace(-80, 80, 161)),
    "bce_with_logits": (lambda z: tinyae.losses.bce_with_logits(z, np.ones_like(z.data), reduction="none"),
                        lambda z: np.logaddexp(0, -z), np.linspace(-80, 80, 161)),
}


@pytest.mark.parametrize("name", sorted(TAILS))
def test_float32_keeps_relative_precision_at_both_tails(name):
    fn, reference, z = TAILS[name]
    z = z.astype("float32")
    got = fn(Tensor(z)).data
    want = reference(z.astype("float64"))
    assert got.dtype == np.float32
    normal = np.abs(want) > np.finfo(np.float32).tiny  # below that float32 has no relative precision
    # GELU's argument 2√(2/π)(z + 0.044715z³) is itself rounded: allow for its condition number
    np.testing.assert_allclose(got[normal], want[normal], rtol=1e-5 if name == "gelu" else 4e-6, atol=0)


def test_sigmoid_minus_17_is_right():
    assert F.sigmoid(Tensor(np.array(-17.0, "float32"))).item() == pytest.approx(4.1399375e-08, rel=1e-6)


def test_power_zero_has_a_zero_gradient_at_zero():
    x = leaf([0.0, 2.0])
    (x ** 0).sum().backward()
    assert x.grad.data.tolist() == [0.0, 0.0]
    a, b = leaf([0.0, 0.0, 2.0]), leaf([0.0, 2.0, 0.0])
    F.pow(a, b).sum().backward()
    assert np.isfinite(a.grad.data).all() and np.isfinite(b.grad.data).all()
    assert a.grad.data.tolist() == [0.0, 0.0, 0.0] and b.grad.data[:2].tolist() == [0.0, 0.0]


def test_logsumexp_of_all_minus_inf_is_minus_inf():
    z = leaf([[-np.inf, -np.inf], [0.0, -np.inf]])
    y = F.logsumexp(z, axis=1)
    assert y.data.tolist() == [-np.inf, 0.0]
    y[1].backward()
    assert z.grad.data.tolist() == [[0.0, 0.0], [1.0, 0.0]]
    assert F.logsumexp(leaf([-np.inf])).item() == -np.inf
    assert F.logsumexp(leaf([np.inf, 0.0])).item() == np.inf
