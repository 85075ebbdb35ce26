"""The idioms a student brings from PyTorch (issue 13), without PyTorch itself: randomness,
factories, Tensor methods, top-level functions, updates by hand."""
import numpy as np
import pytest

import tinyae as ta
import tinyae.nn.functional as F
from tinyae import nn, optim
from tinyae.data import DataLoader


# --- randomness and factories ------------------------------------------------------------------
def test_manual_seed_repeats_randn_rand_and_layer_init():
    def draw():
        ta.manual_seed(7)
        return ta.randn(3, 4), ta.rand(2), nn.Linear(4, 2).weight.numpy(), nn.Conv2d(1, 2, 3).weight.numpy()
    first, second = draw(), draw()
    for a, b in zip(first, second):
        np.testing.assert_array_equal(getattr(a, "data", a), getattr(b, "data", b))
    assert not np.array_equal(nn.Linear(4, 2).weight.numpy(), first[2])  # the stream moves on


def test_manual_seed_fixes_dropout_and_unseeded_shuffling():
    def run():
        ta.manual_seed(3)
        loader = DataLoader(np.arange(10), batch_size=10, shuffle=True)
        return next(iter(loader)), F.dropout(ta.ones(20)).numpy()
    (order1, mask1), (order2, mask2) = run(), run()
    np.testing.assert_array_equal(order1, order2)
    np.testing.assert_array_equal(mask1, mask2)


def test_factories_have_pytorch_shapes_and_dtypes():
    assert ta.zeros(2, 3).shape == (2, 3) and ta.zeros((2, 3)).dtype == np.float32
    assert ta.ones([4]).numpy().tolist() == [1, 1, 1, 1]
    assert ta.full((2, 2), 7).numpy().tolist() == [[7, 7], [7, 7]]
    assert ta.arange(4).dtype == np.int64 and ta.arange(0, 1, 0.25).dtype == np.float32
    assert ta.linspace(0, 1, 5).tolist() == [0, 0.25, 0.5, 0.75, 1]
    np.testing.assert_array_equal(ta.eye(3).numpy(), np.eye(3))
    assert ta.randn(2, 3, dtype=ta.float64).dtype == np.float64
    w = ta.randn(3, requires_grad=True)
    assert w.requires_grad and w.is_leaf
    x = ta.tensor(np.ones((2, 5)), dtype="float64")
    for like in (ta.zeros_like, ta.ones_like, ta.rand_like, ta.randn_like):
        out = like(x)
        assert out.shape == x.shape and out.dtype == np.float64
    assert ta.full_like(x, 3.0).numpy().sum() == 30
    assert ta.randint(0, 5, (100,)).numpy().max() < 5
    assert sorted(ta.randperm(6).tolist()) == list(range(6))


def test_from_numpy_shares_memory():
    a = np.zeros(3)
    t = ta.from_numpy(a)
    a[0] = 5
    assert t.numpy()[0] == 5
    with pytest.raises(TypeError, match="NumPy array"):
        ta.from_numpy([1, 2])


# --- Tensor methods ------------------------------------------------------------------------------
def test_shape_methods():
    x = ta.arange(6.0).view(2, 3)
    assert x.size() == (2, 3) and x.size(1) == 3 and x.size(-1) == 3
    assert x.size == 6 and x.numel() == 6 and x.dim() == 2      # NumPy's size stays an int
    assert x.view(-1).shape == (6,) and x.view(3, 2).shape == (3, 2)
    assert x.unsqueeze(0).shape == (1, 2, 3) and x.unsqueeze(-1).shape == (2, 3, 1)
    assert x.unsqueeze(1).squeeze().shape == (2, 3) and x.unsqueeze(1).squeeze(1).shape == (2, 3)
    assert x.squeeze(0).shape == (2, 3)                         # not of length 1: unchanged
    assert x.t().shape == (3, 2) and x.T.shape == (3, 2)
    y = ta.zeros(2, 3, 4)
    assert y.transpose(0, 2).shape == (4, 3, 2)                 # PyTorch's swap of two axes
    assert y.permute(2, 0, 1).shape == (4, 2, 3)
    assert x.tolist() == [[0, 1, 2], [3, 4, 5]]


def test_reductions_take_dim_and_keepdim():
    x = ta.tensor([[1.0, 5.0, 3.0], [4.0, 2.0, 6.0]])
    assert x.sum(dim=1).tolist() == [9, 12] and x.sum(axis=1).tolist() == [9, 12]
    assert x.mean(dim=0, keepdim=True).shape == (1, 3)
    assert ta.sum(x, dim=1, keepdim=True).shape == (2, 1)
    assert x.softmax(dim=1).sum(dim=1).numpy() == pytest.approx([1, 1])
    assert F.log_softmax(x, dim=0).shape == (2, 3)
    with pytest.raises(TypeError, match="not both"):
        x.sum(dim=0, axis=1)


def test_max_with_a_dim_gives_values_and_indices():
    x = ta.tensor([[1.0, 5.0, 3.0], [4.0, 2.0, 6.0]], requires_grad=True)
    values, indices = x.max(dim=1)
    assert values.tolist() == [5, 6] and indices.tolist() == [1, 2]
    assert x.max(1).indices.tolist() == [1, 2] and x.min(0).values.tolist() == [1, 2, 3]
    assert x.max(axis=1).tolist() == [5, 6]                     # NumPy's form: the values
    assert x.max().item() == 6
    assert ta.max(x, ta.tensor([[3.0, 3, 3], [3, 3, 3]])).tolist() == [[3, 5, 3], [4, 3, 6]]
    values.sum().backward()
    assert x.grad.tolist() == [[0, 1, 0], [0, 0, 1]]
    assert x.argmax().item() == 5 and x.argmax(dim=1).tolist() == [1, 2]
    assert x.argmin(dim=0, keepdim=True).shape == (1, 3)


def test_elementwise_methods_and_clone():
    x = ta.tensor([0.5, -2.0, 3.0], requires_grad=True)
    np.testing.assert_allclose(x.sin().numpy(), np.sin(x.numpy()), rtol=1e-6)
    np.testing.assert_allclose(x.cos().numpy(), np.cos(x.numpy()), rtol=1e-6)
    assert x.pow(2).tolist() == [0.25, 4, 9]
    assert x.clamp(min=0).tolist() == [0.5, 0, 3] and x.clamp(-1, 1).tolist() == [0.5, -1, 1]
    c = x.clone()
    assert c.data is not x.data and not np.shares_memory(c.data, x.data)
    (c * 2).sum().backward()
    assert x.grad.tolist() == [2, 2, 2]


def test_dtype_and_device_methods():
    x = ta.tensor([1.0, 2.0], requires_grad=True)
    assert x.double().dtype == np.float64 and x.double().float().dtype == np.float32
    assert x.float() is x and x.cpu() is x and x.to("cpu") is x     # nothing to do: itself
    y = x.to(ta.float64)
    y.sum().backward()                                               # a dtype change is an op
    assert x.grad.dtype == np.float32 and x.grad.tolist() == [1, 1]
    assert x.to(ta.zeros(1, dtype="float64")).dtype == np.float64
    with pytest.raises(ValueError, match="unknown device"):
        ta.backend.to_device(x.data, "tpu")


@pytest.mark.skipif(ta.cuda.is_available(), reason="checks the message when there is no GPU")
def test_cuda_without_a_gpu_says_what_is_missing():
    with pytest.raises(RuntimeError, match="CuPy"):
        ta.tensor([1.0]).cuda()
    with pytest.raises(RuntimeError, match="CuPy"):
        nn.Linear(2, 2).to("cuda")


def test_module_to_and_tensor_to_agree_on_copying():
    model = nn.Linear(3, 2)
    w = model.weight
    assert model.to("cpu") is model and model.weight is w           # in place, same Parameter
    assert model.to(ta.float64).weight is w and w.dtype == np.float64
    assert w.to("cpu") is w                                          # already there: itself
    assert model.cpu() is model and model.float().weight.dtype == np.float32


def test_repr_reads_like_pytorch():
    assert repr(ta.tensor([1.0, 2.0])) == "tensor([1., 2.])"
    assert repr(ta.tensor([1.0, 2.0], requires_grad=True)) == "tensor([1., 2.], requires_grad=True)"
    assert repr(ta.tensor([1.0], requires_grad=True) * 2) == "tensor([2.], grad_fn=<MulBackward>)"
    assert repr(ta.tensor(np.array([1.0]))) == "tensor([1.], dtype=float64)"
    assert repr(ta.arange(3)) == "tensor([0, 1, 2])"
    assert repr(ta.zeros(2, 2)) == "tensor([[0., 0.],\n        [0., 0.]])"
    assert repr(nn.Parameter(np.float32([1.0]))).startswith("Parameter containing:\ntensor([1.], requires_grad=True)")


# --- top-level functions ------------------------------------------------------------------------
def test_top_level_functions():
    x = ta.tensor([[0.0, 1.0], [2.0, 3.0]])
    np.testing.assert_allclose(ta.exp(x).numpy(), np.exp(x.numpy()), rtol=1e-6)
    np.testing.assert_allclose(ta.sigmoid(x).numpy(), 1 / (1 + np.exp(-x.numpy())), rtol=1e-6)
    np.testing.assert_allclose(ta.tanh(x).numpy(), np.tanh(x.numpy()), rtol=1e-6)
    assert ta.sum(x).item() == 6 and ta.mean(x, dim=0).tolist() == [1, 2]
    assert ta.cat([x, x], dim=1).shape == (2, 4) and ta.cat([x, x]).shape == (4, 2)
    assert ta.stack([x, x], dim=2).shape == (2, 2, 2)
    assert ta.where(x > 1, x, ta.zeros_like(x)).tolist() == [[0, 0], [2, 3]]
    assert ta.matmul(x, x).tolist() == [[2, 3], [6, 11]]
    assert ta.unsqueeze(x, 0).shape == (1, 2, 2) and ta.clamp(x, max=1).tolist() == [[0, 1], [1, 1]]


# --- updates by hand and the version counter ----------------------------------------------------
def test_update_by_hand_in_place_under_no_grad():
    w = ta.tensor([1.0, 2.0], requires_grad=True)
    data = w.data
    for _ in range(3):
        loss = (w * w).sum()
        loss.backward()
        with ta.no_grad():
            w -= 0.25 * w.grad
        w.grad.zero_()
    assert w.data is data and w.is_leaf and w.requires_grad         # the same tensor, in place
    np.testing.assert_allclose(w.numpy(), [0.125, 0.25])            # (1 − 2·0.25)³ · w₀
    with ta.no_grad():
        w *= 2
        w += ta.ones(2)
        w /= 2
    np.testing.assert_allclose(w.numpy(), [0.625, 0.75])


def test_in_place_on_a_leaf_that_requires_grad_outside_no_grad_is_refused():
    w = ta.tensor([1.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf tensor that requires grad.*no_grad"):
        w -= 1
    with pytest.raises(RuntimeError, match="leaf tensor that requires grad"):
        w[0] = 5.0
    assert w.tolist() == [1.0]  # nothing changed
    c = ta.tensor([1.0])
    c += 1                      # nothing requires grad: plain in-place arithmetic
    assert c.tolist() == [2]


def _inplace_program(lib, x):
    """A computation with every in-place spelling on tensors in the graph (PyTorch's semantics:
    the ops that read the old value keep it; the name now holds the new node)."""
    y = x * 1.5
    first = y.exp().sum()           # exp reads y before it changes (and keeps its own output)
    y += 1
    y *= y.detach() + 2             # the factor is a constant
    y -= x
    y /= 3
    y[0, 1] = 7.0                   # overwritten: no gradient reaches x[0, 1] through y there
    y[1] = x[0] * 2                 # a row from another path
    z = x.sum(1, keepdim=True) if lib is torch_module() else x.sum(axis=1, keepdims=True)
    z += z                          # c += c: both old reads
    return first + (y * y).sum() + z.sum()


def torch_module():
    return pytest.importorskip("torch")


def test_in_place_ops_on_tensors_in_the_graph_give_pytorchs_gradient():
    data = np.arange(1.0, 7.0).reshape(2, 3) / 4
    x = ta.tensor(data, requires_grad=True)
    loss = _inplace_program(ta, x)
    loss.backward()
    try:
        torch = torch_module()
    except pytest.skip.Exception:
        # without PyTorch: finite differences of the same program (its out-of-place meaning)
        from tinyae import gradcheck
        assert gradcheck(lambda t: _inplace_program(ta, t), [data])
        return
    xt = torch.tensor(data, requires_grad=True)
    lt = _inplace_program(torch, xt)
    lt.backward()
    assert abs(loss.item() - lt.item()) < 1e-9 * abs(lt.item())
    np.testing.assert_allclose(x.grad.numpy(), xt.grad.numpy(), rtol=1e-10)


def test_an_in_place_op_on_a_tensor_in_the_graph_keeps_what_earlier_ops_saw():
    x = ta.tensor([1.0, 2.0], requires_grad=True)
    y = x * 1
    s = y.sin()                     # sin reads its input in backward: y's old value
    y *= 2
    (s.sum() + y.sum()).backward()
    np.testing.assert_allclose(x.grad.numpy(), np.cos([1.0, 2.0]) + 2)


def _scalar_chain(lib, scalar):
    """Scalars updated in place inside a computation, as a micrograd-style engine test writes
    them (``c += c * 2``): each line reads the old value and names the new one."""
    a, b = scalar(-3.0), scalar(1.5)
    c = a * b + 1
    c += c * 2 - a
    c *= b + 0.5
    d = (c - b).relu() + c * c
    d -= d / 4 + a
    d /= 2 + b * b
    e = (d + c) ** 2
    e += 1.0 / (e + 3)
    return a, b, e


def test_scalar_chains_with_in_place_lines_match_pytorch():
    torch = torch_module()
    a, b, e = _scalar_chain(ta, lambda v: ta.tensor(v, requires_grad=True, dtype="float64"))
    e.backward()
    at, bt, et = _scalar_chain(torch, lambda v: torch.tensor([v], dtype=torch.float64,
                                                             requires_grad=True))
    et.backward()
    assert abs(e.item() - et.item()) < 1e-9 * abs(et.item())
    assert abs(a.grad.item() - at.grad.item()) < 1e-9 * abs(at.grad.item())
    assert abs(b.grad.item() - bt.grad.item()) < 1e-9 * abs(bt.grad.item())


def test_version_counter_catches_a_changed_input():
    w = ta.tensor([1.0, 2.0], requires_grad=True)
    loss = (w * w).sum()
    with ta.no_grad():
        w -= 1
    with pytest.raises(RuntimeError, match="changed in place.*Mul"):
        loss.backward()
    y = ta.tensor([1.0], requires_grad=True).exp()      # exp's backward reuses its output y
    with ta.no_grad():
        y += 1
    with pytest.raises(RuntimeError, match="output"):
        y.sum().backward()


def test_optimizer_step_bumps_the_version_of_what_it_changes():
    w = ta.tensor([1.0, 2.0], requires_grad=True)
    opt = optim.SGD([w], lr=0.1)
    loss = (w * w).sum()
    loss.backward(retain_graph=True)
    opt.step()
    with pytest.raises(RuntimeError, match="changed in place"):
        loss.backward()


def test_an_in_place_op_that_would_change_the_shape_is_refused_and_the_graph_kept():
    x = ta.tensor([1.0, 2.0], requires_grad=True)
    y = x * 2
    with pytest.raises(ValueError, match="keeps the shape and dtype"):
        y += ta.tensor([[1.0], [2.0]])          # NumPy's a += b refuses this too
    (y * 3).sum().backward()                    # y is still x * 2
    np.testing.assert_allclose(x.grad.numpy(), [6.0, 6.0])


def test_a_constant_read_every_step_does_not_collect_the_ops_that_read_it():
    """Each recorded op notes itself on the tensors it reads (so that an in-place op can hand
    it the old value); a buffer read by every step must not keep one note per op forever."""
    buffer = ta.tensor([1.0, 2.0])                   # a constant, like a frozen buffer
    w = ta.tensor([0.5, 0.5], requires_grad=True)
    for _ in range(1000):
        (w * buffer).sum().backward()
    assert len(buffer._readers) < 128
    # ops that are still alive keep their notes, and the in-place hand-over still reaches them
    kept = [w * buffer for _ in range(300)]
    buffer += w                                      # recorded: buffer becomes a graph node
    assert all(k.grad_fn.inputs[1] is not buffer for k in kept)  # each holds the old value
    w.grad = None
    (kept[0].sum() + buffer.sum()).backward()
    np.testing.assert_allclose(w.grad.numpy(), [1.0 + 1.0, 2.0 + 1.0])
