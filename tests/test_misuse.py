"""Misuse, bad input and faults: each case either gives the right answer or an error that says
what was wrong and what to do — never a silently wrong answer (issue 7)."""
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
    with pytest.raises(np._core._exceptions._UFuncNoLoopError if hasattr(np, "_core")
                       else TypeError) as info:
        Tensor(np.array(["a"])) * 2
    assert "Mul" in "\n".join(getattr(info.value, "__notes__", [])) + str(info.value)


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
