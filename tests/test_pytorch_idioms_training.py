"""The idioms a student brings from PyTorch (issue 13), without PyTorch itself: losses, data,
modules and optimizers, custom Functions."""
import numpy as np
import pytest

import tinyae as ta
import tinyae.nn.functional as F
from tinyae import nn, optim
from tinyae.data import DataLoader, Dataset, TensorDataset


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
