"""The idioms a student brings from PyTorch (issue 13), one test each, without PyTorch itself
(tests/test_torch_parity.py runs the same programs in both where torch is installed)."""
import numpy as np
import pytest

import tinyae as ta
import tinyae.nn.functional as F
from tinyae import nn, optim
from tinyae.data import DataLoader, Dataset, TensorDataset


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


def test_in_place_on_a_tensor_that_requires_grad_outside_no_grad_is_refused():
    w = ta.tensor([1.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="no_grad"):
        w -= 1
    h = w * 2
    with pytest.raises(RuntimeError, match="x = x \\+"):
        h += 1
    c = ta.tensor([1.0])
    c += 1                      # nothing requires grad: plain in-place arithmetic
    assert c.tolist() == [2]


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


# --- losses ----------------------------------------------------------------------------------------
def test_functional_and_module_losses():
    ta.manual_seed(0)
    p, y = ta.rand(4, 3) * 0.8 + 0.1, ta.rand(4, 3)
    z, labels = ta.randn(4, 3), np.array([0, 2, 1, 2])
    assert F.mse_loss(p, y).item() == pytest.approx(((p.numpy() - y.numpy()) ** 2).mean(), rel=1e-6)
    assert F.mse_loss(p, y, reduction="sum").item() == pytest.approx(((p.numpy() - y.numpy()) ** 2).sum(), rel=1e-6)
    assert F.mse_loss(p, y, reduction="none").shape == (4, 3)
    bce = -(y.numpy() * np.log(p.numpy()) + (1 - y.numpy()) * np.log(1 - p.numpy())).mean()
    assert F.binary_cross_entropy(p, y).item() == pytest.approx(bce, rel=1e-5)
    q = ta.sigmoid(z)
    assert F.binary_cross_entropy_with_logits(z, y).item() == pytest.approx(
        F.binary_cross_entropy(q, y).item(), rel=1e-4)
    assert F.cross_entropy(z, labels).item() == pytest.approx(
        -F.log_softmax(z, dim=1).numpy()[np.arange(4), labels].mean(), rel=1e-6)
    for module, fn, args in ((nn.MSELoss, F.mse_loss, (p, y)), (nn.BCELoss, F.binary_cross_entropy, (p, y)),
                             (nn.BCEWithLogitsLoss, F.binary_cross_entropy_with_logits, (z, y)),
                             (nn.CrossEntropyLoss, F.cross_entropy, (z, labels))):
        assert module()(*args).item() == fn(*args).item()
        assert module(reduction="sum")(*args).item() == pytest.approx(fn(*args, reduction="sum").item())
    assert repr(nn.MSELoss(reduction="sum")) == "MSELoss(reduction='sum')"
    with pytest.raises(ValueError, match="reduction"):
        nn.MSELoss(reduction="avg")


def test_nn_functional_has_the_ops_too():
    x = ta.tensor([-1.0, 2.0])
    assert F.relu(x).tolist() == [0, 2] and F.linear is ta.functional.linear


# --- data ---------------------------------------------------------------------------------------
def test_tensor_dataset_and_loader_over_a_dataset():
    x, y = ta.arange(10.0).view(5, 2), ta.tensor(np.arange(5))
    ds = TensorDataset(x, y)
    assert len(ds) == 5 and ds[1][0].tolist() == [2, 3] and ds[1][1].item() == 1
    loader = DataLoader(ds, batch_size=2)
    assert loader.dataset is ds and len(loader.dataset) == 5 and len(loader) == 3
    batches = list(loader)
    xb, yb = batches[0]
    assert isinstance(xb, ta.Tensor) and xb.tolist() == [[0, 1], [2, 3]] and yb.tolist() == [0, 1]
    assert batches[-1][0].shape == (1, 2)
    with pytest.raises(ValueError, match="same number of samples"):
        TensorDataset(x, ta.zeros(3))


def test_loader_over_a_custom_dataset_collates_samples():
    class Squares(Dataset):
        def __len__(self):
            return 7

        def __getitem__(self, i):
            return np.array([i, i * i], dtype=np.float32), i % 2

    loader = DataLoader(Squares(), batch_size=3, shuffle=True, seed=0, tensors=True)
    seen = []
    for xb, yb in loader:
        assert isinstance(xb, ta.Tensor) and xb.shape[1] == 2
        np.testing.assert_array_equal(yb.numpy(), xb.numpy()[:, 0] % 2)
        seen += xb.numpy()[:, 0].tolist()
    assert sorted(seen) == list(range(7))


def test_loader_over_arrays_keeps_its_form_and_can_yield_tensors():
    x = np.arange(12.0).reshape(6, 2)
    assert isinstance(next(iter(DataLoader(x, batch_size=4))), np.ndarray)
    xb = next(iter(DataLoader(x, batch_size=4, tensors=True)))
    assert isinstance(xb, ta.Tensor) and xb.shape == (4, 2)
    assert len(DataLoader(x, batch_size=4).dataset) == 6


def test_import_tinyae_makes_data_available():
    import tinyae
    assert tinyae.data.DataLoader is DataLoader and tinyae.data.TensorDataset is TensorDataset


# --- modules and optimizers -------------------------------------------------------------------------
def test_module_apply_and_named_modules():
    model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Sequential(nn.Linear(4, 2)))

    def init_weights(m):
        if isinstance(m, nn.Linear):
            nn.init.constant_(m.weight, 0.5)
            nn.init.zeros_(m.bias)
    assert model.apply(init_weights) is model
    assert all((p.numpy() == 0.5).all() for n, p in model.named_parameters() if n.endswith("weight"))
    assert [n for n, _ in model.named_modules()] == ["", "0", "1", "2", "2.0"]


def test_zero_grad_set_to_none():
    model = nn.Linear(2, 1)
    opt = optim.SGD(model.parameters(), lr=0.1)
    model(ta.ones(1, 2)).sum().backward()
    grad = model.weight.grad
    opt.zero_grad(set_to_none=False)
    assert model.weight.grad is grad and grad.tolist() == [[0, 0]]
    model.zero_grad(set_to_none=False)
    assert model.weight.grad is grad
    opt.zero_grad()
    assert model.weight.grad is None and model.bias.grad is None


def test_param_groups_with_their_own_lr():
    enc, dec = nn.Linear(2, 2), nn.Linear(2, 2)
    opt = optim.SGD([{"params": enc.parameters()}, {"params": dec.parameters(), "lr": 0.01}],
                    lr=0.1, momentum=0.9)
    assert [g["lr"] for g in opt.param_groups] == [0.1, 0.01] and opt.param_groups[1]["momentum"] == 0.9
    w_enc, w_dec = enc.weight.numpy().copy(), dec.weight.numpy().copy()
    for p in (enc.weight, dec.weight):
        p.grad = ta.ones(2, 2)
    opt.step()
    np.testing.assert_allclose(enc.weight.numpy(), w_enc - 0.1, rtol=1e-6)
    np.testing.assert_allclose(dec.weight.numpy(), w_dec - 0.01, rtol=1e-6)
    for g in opt.param_groups:       # the PyTorch idiom for changing the learning rate by hand
        g["lr"] *= 0.5
    assert [g["lr"] for g in opt.param_groups] == [0.05, 0.005]
    opt.add_param_group({"params": [ta.zeros(1, requires_grad=True)], "lr": 1.0})
    assert len(opt.params) == 5 and len(opt.state) == 5


def test_schedules_set_each_groups_lr():
    a, b = ta.zeros(1, requires_grad=True), ta.zeros(1, requires_grad=True)
    opt = optim.Adam([{"params": [a]}, {"params": [b], "lr": 0.1}], lr=1.0)
    sched = optim.StepLR(opt, step_size=1, gamma=0.5)
    sched.step()
    assert sched.get_last_lr() == [0.5, 0.05]
    assert [g["initial_lr"] for g in opt.param_groups] == [1.0, 0.1]


def test_optimizer_state_dict_has_pytorchs_layout_and_round_trips():
    w = ta.tensor([1.0, 2.0], requires_grad=True)
    opt = optim.Adam([w], lr=0.01)
    w.grad = ta.ones(2)
    opt.step()
    sd = opt.state_dict()
    assert sd["param_groups"][0]["lr"] == 0.01 and sd["param_groups"][0]["params"] == [0]
    assert sd["state"][0]["step"] == 1 and sd["state"][0]["exp_avg"].shape == (2,)
    opt2 = optim.Adam([ta.tensor([1.0, 2.0], requires_grad=True)], lr=0.5)
    opt2.load_state_dict(sd)
    assert opt2.param_groups[0]["lr"] == 0.01 and opt2.state[0]["step"] == 1


# --- custom Functions -------------------------------------------------------------------------------
class TorchStyleExp(ta.Function):
    @staticmethod
    def forward(ctx, x):
        y = x.exp()
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, ybar):
        y, = ctx.saved_tensors
        return ybar * y


class TorchStyleScale(ta.Function):
    @staticmethod
    def forward(ctx, x, factor):
        ctx.factor = factor
        return x * factor

    @staticmethod
    def backward(ctx, ybar):
        return ybar * ctx.factor, None


def test_custom_function_in_pytorch_form():
    x = ta.tensor([0.5, 1.0], requires_grad=True, dtype="float64")
    y = TorchStyleExp.apply(x)
    assert repr(y).endswith("grad_fn=<TorchStyleExpBackward>)")
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), np.exp([0.5, 1.0]))
    assert ta.gradcheck(TorchStyleExp.apply, [x]) and ta.gradgradcheck(TorchStyleExp.apply, [x])
    x.grad = None
    TorchStyleScale.apply(x, 3.0).sum().backward()
    assert x.grad.tolist() == [3, 3]


def test_pytorch_form_needs_both_staticmethods():
    with pytest.raises(TypeError, match="tinyae's own form"):
        class Half(ta.Function):
            @staticmethod
            def forward(ctx, x):
                return x

            def backward(self, ybar):
                return ybar


class NumpyBackward(ta.Function):
    """tinyae's form, with a backward that returns a NumPy array."""
    def forward(self, x):
        return x * x

    def backward(self, ybar):
        return 2 * ybar.data * self.inputs[0].data


def test_backward_returning_numpy_arrays_works_for_leaves():
    w = ta.tensor([3.0], requires_grad=True)
    NumpyBackward.apply(w).sum().backward()
    assert w.grad.tolist() == [6]
    v = ta.tensor([1.0, 2.0], requires_grad=True)
    NumpyBackward.apply(v * 1.0).sum().backward()   # and through a non-leaf
    assert v.grad.tolist() == [2, 4]


def test_grad_fn_requires_grad_and_no_grad_as_a_decorator():
    w = ta.zeros(2).requires_grad_()
    assert w.requires_grad and w.grad_fn is None
    assert type((w * 2).grad_fn).__name__ == "Mul"

    @ta.no_grad()
    def predict(x):
        return x * w
    assert not predict(ta.ones(2)).requires_grad
    with pytest.raises(TypeError, match="floating-point"):
        ta.arange(3).requires_grad_()


def test_in_place_helpers():
    x = ta.zeros(3)
    x.add_(ta.ones(3)).mul_(4).sub_(1).div_(3)
    assert x.tolist() == [1, 1, 1]
    x.copy_(np.arange(3.0))
    assert x.tolist() == [0, 1, 2] and x.zero_().tolist() == [0, 0, 0]


def test_readme_taste_runs(monkeypatch, tmp_path, capsys):
    """The README's "A taste" is PyTorch-looking code that must really run (one epoch here)."""
    import pathlib
    readme = (pathlib.Path(__file__).parents[1] / "README.md").read_text()
    code = readme.split("## A taste", 1)[1].split("```python", 1)[1].split("```", 1)[0]
    monkeypatch.setenv("TINYAE_DATA", str(tmp_path))      # the embedded subset: quick
    monkeypatch.setenv("HOME", str(tmp_path))
    exec(compile(code.replace("range(3)", "range(1)"), "README.md", "exec"), {})
    out = capsys.readouterr().out
    assert "epoch 0: loss" in out and "requires_grad=True" in out


def test_update_through_data_keeps_an_array():
    w = ta.tensor([1.0, 2.0], requires_grad=True)
    (w * w).sum().backward()
    w.data -= 0.25 * w.grad          # the older tutorials' spelling
    assert isinstance(w.data, np.ndarray) and w.tolist() == [0.5, 1.0]
    w.data = ta.zeros(2)
    assert isinstance(w.data, np.ndarray)
