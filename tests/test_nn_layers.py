"""tinyae.nn, the layers: against their formulas and PyTorch, initialisation, and
finite-difference checks of every layer's parameters in float64."""
import numpy as np
import pytest

import tinyae
import tinyae.nn as nn
from tinyae.nn import init
import tinyae.io
from tinyae.tensor import Tensor

from tinyae.gradcheck import check_module

from nn_helpers import TwoLayer, rand  # noqa: F401


# --- layers against formulas and PyTorch ---------------------------------------------------------
def test_layernorm_matches_formula():
    ln = nn.LayerNorm(6)
    ln.weight.data[...] = np.arange(6)
    ln.bias.data[...] = 0.5
    x = rand(4, 6, seed=3)
    xd = x.data.astype("float64")
    expected = (xd - xd.mean(-1, keepdims=True)) / np.sqrt(xd.var(-1, keepdims=True) + 1e-5)
    np.testing.assert_allclose(ln(x).data, expected * np.arange(6) + 0.5, rtol=1e-5, atol=1e-5)
    assert nn.LayerNorm((3, 4))(rand(2, 3, 4)).shape == (2, 3, 4)
    with pytest.raises(ValueError, match="last axes"):
        ln(rand(4, 5))


def test_batchnorm_train_uses_batch_stats_and_updates_running_stats():
    bn = nn.BatchNorm1d(3, momentum=0.1)
    x = rand(10, 3, seed=4)
    xd = x.data.astype("float64")
    y = bn(x)
    expected = (xd - xd.mean(0)) / np.sqrt(xd.var(0) + 1e-5)
    np.testing.assert_allclose(y.data, expected, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(bn.running_mean.data, 0.1 * xd.mean(0), rtol=1e-5)
    np.testing.assert_allclose(bn.running_var.data, 0.9 + 0.1 * xd.var(0, ddof=1), rtol=1e-5)
    bn.eval()  # now the running statistics are used, and nothing is updated
    before = bn.running_mean.data.copy()
    expected = (xd - bn.running_mean.data) / np.sqrt(bn.running_var.data + 1e-5)
    np.testing.assert_allclose(bn(x).data, expected, rtol=1e-4, atol=1e-5)
    np.testing.assert_array_equal(bn.running_mean.data, before)
    bn.train()
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        bn(rand(1, 3))
    with pytest.raises(ValueError, match="3 channels"):
        bn(rand(4, 5))


def test_norms_match_torch():
    torch = pytest.importorskip("torch")
    x = rand(6, 4, 5, 5, seed=5)
    ours, theirs = nn.BatchNorm2d(4), torch.nn.BatchNorm2d(4)
    xt = torch.tensor(x.data)
    for _ in range(2):  # two training steps, then evaluation with the running statistics
        np.testing.assert_allclose(ours(x).data, theirs(xt).detach().numpy(), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(ours.running_var.data, theirs.running_var.numpy(), rtol=1e-5)
    ours.eval(), theirs.eval()
    np.testing.assert_allclose(ours(x).data, theirs(xt).detach().numpy(), rtol=1e-4, atol=1e-5)
    ln, tln = nn.LayerNorm((5, 5)), torch.nn.LayerNorm((5, 5))
    np.testing.assert_allclose(ln(x).data, tln(xt).detach().numpy(), rtol=1e-4, atol=1e-5)
    seq = rand(3, 4, 7, seed=6)  # BatchNorm1d on (N, C, L)
    np.testing.assert_allclose(nn.BatchNorm1d(4)(seq).data,
                               torch.nn.BatchNorm1d(4)(torch.tensor(seq.data)).detach().numpy(),
                               rtol=1e-4, atol=1e-5)


def _torch_copy(torch, ours, theirs):
    with torch.no_grad():
        theirs.weight.copy_(torch.tensor(ours.weight.data))
        theirs.bias.copy_(torch.tensor(ours.bias.data))


def test_linear_matches_torch():
    torch = pytest.importorskip("torch")
    ours, theirs = nn.Linear(7, 4, rng=0), torch.nn.Linear(7, 4)
    _torch_copy(torch, ours, theirs)
    x = rand(5, 7)
    np.testing.assert_allclose(ours(x).data, theirs(torch.tensor(x.data)).detach().numpy(),
                               rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="7 features"):
        ours(rand(5, 6))


@pytest.mark.parametrize("kind, kwargs, shape", [
    ("Conv2d", dict(stride=2, padding=1, dilation=1), (2, 3, 9, 9)),
    ("Conv2d", dict(stride=1, padding=2, dilation=2), (2, 3, 7, 8)),
    ("ConvTranspose2d", dict(stride=2, padding=1, output_padding=1), (2, 3, 4, 5)),
])
def test_conv_layers_match_torch(kind, kwargs, shape):
    torch = pytest.importorskip("torch")
    ours = getattr(nn, kind)(3, 5, 3, rng=0, **kwargs)
    theirs = getattr(torch.nn, kind)(3, 5, 3, **kwargs)
    assert ours.weight.shape == tuple(theirs.weight.shape)
    _torch_copy(torch, ours, theirs)
    x = rand(*shape)
    np.testing.assert_allclose(ours(x).data, theirs(torch.tensor(x.data)).detach().numpy(),
                               rtol=1e-4, atol=1e-5)


def test_pools_and_upsample_match_torch():
    torch = pytest.importorskip("torch")
    x = rand(2, 3, 8, 8)
    xt = torch.tensor(x.data)
    pairs = [(nn.MaxPool2d(2), torch.nn.MaxPool2d(2)),
             (nn.MaxPool2d(3, stride=2, padding=1), torch.nn.MaxPool2d(3, stride=2, padding=1)),
             (nn.AvgPool2d(2), torch.nn.AvgPool2d(2)),
             (nn.Upsample(scale_factor=2), torch.nn.Upsample(scale_factor=2))]
    for ours, theirs in pairs:
        np.testing.assert_allclose(ours(x).data, theirs(xt).numpy(), rtol=1e-5, atol=1e-6,
                                   err_msg=repr(ours))


def test_activation_modules_match_functional():
    F = tinyae.functional
    x = rand(3, 4)
    for module, fn in [(nn.ReLU(), F.relu), (nn.Sigmoid(), F.sigmoid), (nn.Tanh(), F.tanh),
                       (nn.Softplus(), F.softplus), (nn.GELU(), F.gelu), (nn.ELU(), F.elu),
                       (nn.Identity(), lambda t: t)]:
        np.testing.assert_array_equal(module(x).data, fn(x).data)
    leaky = np.where(x.data > 0, x.data, 0.2 * x.data)
    np.testing.assert_allclose(nn.LeakyReLU(0.2)(x).data, leaky, rtol=1e-6)
    with pytest.raises(ValueError, match="tanh"):
        nn.GELU(approximate="none")


def test_flatten_unflatten_and_embedding():
    x = rand(2, 3, 4, 5)
    assert nn.Flatten()(x).shape == (2, 60)
    assert nn.Flatten(0, 1)(x).shape == (6, 4, 5)
    assert nn.Unflatten(1, (1, 6, 10))(nn.Flatten()(x)).shape == (2, 1, 6, 10)
    with pytest.raises(ValueError, match="60 entries"):
        nn.Unflatten(1, (7, 7))(nn.Flatten()(x))
    emb = nn.Embedding(10, 4, rng=0)
    idx = np.array([[1, 2], [2, 9]])
    out = emb(idx)
    np.testing.assert_array_equal(out.data, emb.weight.data[idx])
    out.sum().backward()  # row 2 was used twice: its error signal adds up
    np.testing.assert_array_equal(emb.weight.grad.data[:, 0], [0, 1, 2, 0, 0, 0, 0, 0, 0, 1])
    with pytest.raises(IndexError, match=r"\[0, 9\]"):
        emb(np.array([10]))
    with pytest.raises(TypeError, match="integer"):
        emb(np.array([1.0]))


def test_dropout_train_and_eval():
    drop = nn.Dropout(0.5, rng=0)
    x = Tensor(np.ones((200, 50), dtype="float32"))
    y = drop(x).data
    assert set(np.unique(y)) <= {0.0, 2.0}  # survivors are scaled by 1/(1 − p)
    assert 0.4 < (y == 0).mean() < 0.6
    drop.eval()
    np.testing.assert_array_equal(drop(x).data, x.data)
    with pytest.raises(ValueError, match=r"\[0, 1\)"):
        nn.Dropout(1.0)


# --- initialisation ------------------------------------------------------------------------------
def test_init_statistics():
    w = Tensor(np.zeros((400, 500), dtype="float32"))
    init.kaiming_normal_(w, nonlinearity="relu", rng=0)
    assert abs(w.data.std() - np.sqrt(2 / 500)) < 0.02 * np.sqrt(2 / 500)
    init.kaiming_uniform_(w, nonlinearity="relu", mode="fan_out", rng=1)
    assert abs(w.data.std() - np.sqrt(2 / 400)) < 0.02 * np.sqrt(2 / 400)
    init.xavier_uniform_(w, rng=2)
    assert abs(w.data.std() - np.sqrt(2 / 900)) < 0.02 * np.sqrt(2 / 900)
    assert np.abs(w.data).max() <= np.sqrt(6 / 900) * (1 + 1e-6)
    init.xavier_normal_(w, gain=init.calculate_gain("tanh"), rng=3)
    assert abs(w.data.std() - 5 / 3 * np.sqrt(2 / 900)) < 0.02 * 5 / 3 * np.sqrt(2 / 900)
    assert init.he_normal_ is init.kaiming_normal_ and init.glorot_uniform_ is init.xavier_uniform_
    assert w.dtype == np.float32
    conv = Tensor(np.zeros((8, 4, 3, 3)))
    assert init.calculate_fan_in_and_fan_out(conv) == (36, 72)
    with pytest.raises(ValueError, match="2 dimensions"):
        init.xavier_uniform_(Tensor(np.zeros(5)))


def test_calculate_gain_and_constant_fills():
    assert init.calculate_gain("relu") == pytest.approx(np.sqrt(2))
    assert init.calculate_gain("tanh") == pytest.approx(5 / 3)
    assert init.calculate_gain("leaky_relu", 0.2) == pytest.approx(np.sqrt(2 / 1.04))
    with pytest.raises(ValueError, match="unknown nonlinearity"):
        init.calculate_gain("swish")
    t = Tensor(np.ones(3))
    init.zeros_(t)
    assert np.all(t.data == 0)
    init.constant_(t, 0.25)
    assert np.all(t.data == 0.25)


def test_default_init_is_seeded_and_bounded():
    a, b, c = nn.Linear(50, 20, rng=7), nn.Linear(50, 20, rng=7), nn.Linear(50, 20, rng=8)
    np.testing.assert_array_equal(a.weight.data, b.weight.data)
    np.testing.assert_array_equal(a.bias.data, b.bias.data)
    assert not np.array_equal(a.weight.data, c.weight.data)
    bound = 1 / np.sqrt(50)
    assert np.abs(a.weight.data).max() <= bound and np.abs(a.bias.data).max() <= bound
    assert a.weight.data.std() > 0.8 * bound / np.sqrt(3)
    g = np.random.default_rng(0)
    first, second = nn.Linear(3, 3, rng=g), nn.Linear(3, 3, rng=g)  # one stream, drawn on
    assert not np.array_equal(first.weight.data, second.weight.data)
    with pytest.raises(TypeError, match="rng"):
        nn.Linear(3, 3, rng="seed")


# --- gradient checks of every layer's parameters (float64, central differences) ---------------
class Lookup(nn.Module):
    def __init__(self, embedding, indices):
        super().__init__()
        self.embedding, self.indices = embedding, indices

    def forward(self, x):
        return self.embedding(self.indices).tanh() * x


@pytest.mark.parametrize("make, shape", [
    (lambda: nn.Linear(4, 3, rng=0), (5, 4)),
    (lambda: nn.Sequential(nn.Linear(4, 3, rng=0), nn.Tanh(), nn.Linear(3, 2, rng=1)), (3, 4)),
    (lambda: nn.LayerNorm(4), (3, 4)),
    (lambda: nn.BatchNorm1d(3), (5, 3)),
    (lambda: nn.BatchNorm2d(2), (3, 2, 2, 2)),
    (lambda: nn.BatchNorm1d(3).eval(), (5, 3)),
    (lambda: nn.Embedding(5, 3, rng=0), None),
], ids=["linear", "mlp", "layernorm", "batchnorm1d", "batchnorm2d", "batchnorm-eval", "embedding"])
def test_gradcheck_layers(make, shape):
    module = make()
    if shape is None:  # Embedding takes integer indices, fixed here; x scales the rows
        module = Lookup(module, np.array([0, 2, 2, 4]))
        shape = (4, 3)
    x = rand(*shape, seed=1, dtype="float64")
    if isinstance(module, nn.LayerNorm) or isinstance(module, nn.BatchNorm1d):
        for p in module.parameters():  # non-trivial γ and β
            init.uniform_(p, 0.5, 1.5, rng=2)
    assert check_module(module, x)


@pytest.mark.parametrize("make", [
    lambda: nn.Conv2d(2, 3, 3, stride=2, padding=1, rng=0),
    lambda: nn.ConvTranspose2d(2, 3, 3, stride=2, padding=1, output_padding=1, rng=0),
], ids=["conv2d", "conv_transpose2d"])
def test_gradcheck_conv_layers(make):
    assert check_module(make(), rand(2, 2, 4, 4, seed=1, dtype="float64"))


def test_gradcheck_pools():
    x = rand(2, 2, 4, 4, seed=1, dtype="float64")
    for pool in (nn.MaxPool2d(2), nn.AvgPool2d(2), nn.Upsample(2)):
        assert check_module(nn.Sequential(nn.Conv2d(2, 2, 1, rng=0), pool), x)


@pytest.mark.gpu
def test_to_gpu_and_back(tmp_path):
    m = nn.Sequential(nn.Linear(6, 4, rng=0), nn.BatchNorm1d(4), nn.Tanh())
    params, before = list(m.parameters()), m.state_dict()
    m.to("gpu")
    assert all(t.device == "gpu" for t in list(m.parameters()) + list(m.buffers()))
    m(rand(5, 6).to("gpu")).sum().backward()
    assert all(p.grad.device == "gpu" for p in m.parameters())
    m.save(tmp_path / "gpu.npz")
    fresh = nn.Sequential(nn.Linear(6, 4, rng=1), nn.BatchNorm1d(4), nn.Tanh()).load(
        tmp_path / "gpu.npz")
    m.to("cpu")
    assert all(a is b for a, b in zip(m.parameters(), params))
    np.testing.assert_array_equal(m[0].weight.data, before["0.weight"])
    np.testing.assert_array_equal(fresh[1].running_mean.data, m[1].running_mean.data)
