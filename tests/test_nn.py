"""Tests for tinyae.nn: Module bookkeeping, saving, layers against formulas and PyTorch, init,
and finite-difference gradient checks of every layer's parameters in float64."""
import os

import numpy as np
import pytest

import tinyae
import tinyae.nn as nn
from tinyae.nn import init
import tinyae.io
from tinyae.tensor import Tensor

from tinyae.gradcheck import check_module


def rand(*shape, seed=0, dtype="float32"):
    return Tensor(np.random.default_rng(seed).standard_normal(shape).astype(dtype))


class TwoLayer(nn.Module):
    def __init__(self):
        super().__init__()
        self.encoder = nn.Linear(6, 3, rng=0)
        self.act = nn.Sigmoid()
        self.decoder = nn.Linear(3, 6, rng=1)
        self.scale = 2.0  # a plain attribute: not a parameter

    def forward(self, x):
        return self.decoder(self.act(self.encoder(x))) * self.scale


# --- registration and traversal -------------------------------------------------------------
def test_linear_parameter_count_shapes_and_dtype():
    layer = nn.Linear(784, 32)
    assert layer.num_parameters() == 25_120
    assert layer.weight.shape == (32, 784) and layer.bias.shape == (32,)
    assert layer.weight.dtype == np.float32 and layer.weight.requires_grad
    assert isinstance(layer.weight, nn.Parameter)
    assert nn.Linear(784, 32, bias=False).num_parameters() == 25_088
    assert layer(rand(5, 784)).shape == (5, 32)


def test_named_parameters_are_dotted_and_ordered():
    model = nn.Sequential(TwoLayer(), nn.ReLU(), nn.Linear(6, 2))
    names = [n for n, _ in model.named_parameters()]
    assert names == ["0.encoder.weight", "0.encoder.bias", "0.decoder.weight", "0.decoder.bias",
                     "2.weight", "2.bias"]
    assert len(list(model.parameters())) == 6
    assert [type(m).__name__ for m in model.children()] == ["TwoLayer", "ReLU", "Linear"]
    assert len(list(model.modules())) == 7  # itself, TwoLayer and its 3, ReLU, Linear
    assert model.num_parameters() == 6 * 3 + 3 + 3 * 6 + 6 + 6 * 2 + 2


def test_reassigning_an_attribute_replaces_the_registration():
    m = TwoLayer()
    m.encoder = nn.Identity()
    assert [n for n, _ in m.named_parameters()] == ["decoder.weight", "decoder.bias"]
    m.decoder.weight = nn.Parameter(np.zeros((6, 3), dtype="float32"))  # keeps its place
    assert [n for n, _ in m.named_parameters()] == ["decoder.weight", "decoder.bias"]
    m.decoder.bias = None
    assert [n for n, _ in m.named_parameters()] == ["decoder.weight"]
    del m.decoder
    assert list(m.parameters()) == []
    with pytest.raises(AttributeError, match="decoder"):
        m.decoder


def test_assigning_before_super_init_is_a_clear_error():
    class Broken(nn.Module):
        def __init__(self):
            self.fc = nn.Linear(2, 2)
    with pytest.raises(AttributeError, match="super"):
        Broken()


def test_sequential_indexing_len_iteration_and_forward():
    seq = nn.Sequential(nn.Linear(4, 3, rng=0), nn.Tanh(), nn.Linear(3, 2, rng=1))
    assert len(seq) == 3 and isinstance(seq[1], nn.Tanh) and seq[-1] is list(seq)[2]
    head = seq[:2]
    assert isinstance(head, nn.Sequential) and len(head) == 2 and head[0] is seq[0]
    x = rand(5, 4)
    expected = seq[2](seq[1](seq[0](x)))
    np.testing.assert_allclose(seq(x).data, expected.data)
    with pytest.raises(IndexError, match="out of range"):
        seq[3]
    with pytest.raises(TypeError, match="Module"):
        nn.Sequential(nn.ReLU(), tinyae.functional.relu)


def test_zero_grad_and_train_eval_are_recursive():
    model = nn.Sequential(TwoLayer(), nn.Dropout(0.5))
    model[0](rand(4, 6)).sum().backward()  # (dropout not needed for this)
    assert all(p.grad is not None for p in model.parameters())
    model.zero_grad()
    assert all(p.grad is None for p in model.parameters())
    model.eval()
    assert not any(m.training for m in model.modules())
    assert model.train() is model and all(m.training for m in model.modules())


def test_repr_reads_like_pytorch():
    text = repr(nn.Sequential(nn.Linear(784, 32), nn.ReLU()))
    assert text == ("Sequential(\n  (0): Linear(in_features=784, out_features=32, bias=True)\n"
                    "  (1): ReLU()\n)")
    assert "TwoLayer(\n  (encoder): Linear(in_features=6" in repr(TwoLayer())


def test_double_float_and_to_keep_parameter_identity():
    m = TwoLayer()
    params = list(m.parameters())
    assert m.double() is m and all(p.dtype == np.float64 for p in m.parameters())
    assert m(rand(2, 6, dtype="float64")).dtype == np.float64
    m.float()
    assert all(p.dtype == np.float32 for p in m.parameters())
    m.to("cpu")
    assert list(m.parameters()) == params and all(a is b for a, b in zip(m.parameters(), params))
    bn = nn.BatchNorm1d(3).double()
    assert bn.running_mean.dtype == np.float64  # buffers are converted too
    assert [n for n, _ in bn.named_buffers()] == ["running_mean", "running_var"]


def test_deepcopy_gives_an_independent_model():
    import copy
    m = nn.Sequential(nn.Linear(3, 2, rng=0), nn.BatchNorm1d(2))
    c = copy.deepcopy(m)
    assert c[0].weight is not m[0].weight and list(c.state_dict()) == list(m.state_dict())
    np.testing.assert_array_equal(c[0].weight.data, m[0].weight.data)


# --- state_dict, save and load ---------------------------------------------------------------
def test_state_dict_is_a_copy_and_round_trips():
    a, b = TwoLayer(), TwoLayer()
    b.encoder.weight.data[...] = 0
    state = a.state_dict()
    assert list(state) == ["encoder.weight", "encoder.bias", "decoder.weight", "decoder.bias"]
    assert all(isinstance(v, np.ndarray) for v in state.values())
    state["encoder.bias"][...] = 7  # editing the copy leaves the model alone
    assert not np.any(a.encoder.bias.data == 7)
    a.encoder.bias.data[...] = 7
    b.load_state_dict(a.state_dict())
    x = rand(3, 6)
    np.testing.assert_array_equal(a(x).data, b(x).data)
    a.encoder.bias.data[...] = 0  # b holds its own copy
    assert np.all(b.encoder.bias.data == 7)


def test_load_keeps_dtype_of_model():
    m = TwoLayer()
    m.load_state_dict({k: v.astype("float64") for k, v in TwoLayer().state_dict().items()})
    assert all(p.dtype == np.float32 for p in m.parameters())


def test_save_load_round_trip_with_plain_numpy(tmp_path):
    model = nn.Sequential(nn.Linear(6, 4, rng=0), nn.BatchNorm1d(4), nn.ReLU())
    model(rand(8, 6))  # moves the running statistics away from their initial values
    path = model.save(tmp_path / "model.npz")
    with np.load(path, allow_pickle=False) as archive:
        assert sorted(archive.files) == sorted(["0.weight", "0.bias", "1.weight", "1.bias",
                                                "1.running_mean", "1.running_var"])
        np.testing.assert_array_equal(archive["1.running_mean"], model[1].running_mean.data)
    fresh = nn.Sequential(nn.Linear(6, 4, rng=5), nn.BatchNorm1d(4), nn.ReLU())
    assert fresh.load(path) is fresh
    model.eval(), fresh.eval()
    x = rand(3, 6, seed=1)
    np.testing.assert_array_equal(model(x).data, fresh(x).data)


def test_save_is_atomic(tmp_path, monkeypatch):
    path = tmp_path / "ckpt.npz"
    old = TwoLayer()
    old.save(path)
    before = path.read_bytes()

    def failing_writer(fileobj, arrays):
        fileobj.write(b"PK\x03\x04 half an archive")
        raise OSError("disk full (simulated)")
    monkeypatch.setattr(tinyae.io, "_write", failing_writer)
    changed = TwoLayer()
    changed.encoder.weight.data[...] = 1
    with pytest.raises(OSError, match="simulated"):
        changed.save(path)
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["ckpt.npz"]  # no temporary file left behind
    restored = TwoLayer()
    restored.encoder.weight.data[...] = 0
    restored.load(path)
    np.testing.assert_array_equal(restored.encoder.weight.data, old.encoder.weight.data)


def test_strict_load_errors_name_the_keys_and_shapes():
    m = TwoLayer()
    state = m.state_dict()
    with pytest.raises(KeyError, match=r"missing keys \['decoder.bias'\]"):
        m.load_state_dict({k: v for k, v in state.items() if k != "decoder.bias"})
    with pytest.raises(KeyError, match=r"unexpected keys \['extra.weight'\]"):
        m.load_state_dict(dict(state, **{"extra.weight": np.zeros(2)}))
    bad = dict(state, **{"encoder.weight": np.zeros((4, 6))})
    with pytest.raises(ValueError, match=r"'encoder.weight'.*\(4, 6\).*\(3, 6\)"):
        m.load_state_dict(bad)
    with pytest.raises(ValueError, match="encoder.weight"):
        m.load_state_dict(bad, strict=False)  # a wrong shape is an error even when not strict
    partial = {"encoder.bias": np.full(3, 2.0, dtype="float32"), "other": np.zeros(1)}
    missing, unexpected = m.load_state_dict(partial, strict=False)
    assert unexpected == ["other"] and "encoder.weight" in missing
    assert np.all(m.encoder.bias.data == 2)


# --- tied weights ------------------------------------------------------------------------------
def test_tied_linear_shares_one_parameter_and_accumulates_gradients():
    enc = nn.Linear(5, 3, rng=0)
    dec = nn.TiedLinear(enc)
    model = nn.Sequential(enc, nn.Sigmoid(), dec)
    assert dec.weight is enc.weight
    assert [n for n, _ in model.named_parameters()] == ["0.weight", "0.bias", "2.bias"]
    assert model.num_parameters() == 15 + 3 + 5
    x = rand(4, 5).astype("float64")
    model.double()
    W, b, c = enc.weight.data, enc.bias.data, dec.bias.data
    h = 1 / (1 + np.exp(-(x.data @ W.T + b)))
    np.testing.assert_allclose(model(x).data, h @ W + c, rtol=1e-12)
    # W̄ collects both uses: the decoder's hᵀ ȳ and the encoder's z̄ᵀ x
    model(x).sum().backward()
    ybar = np.ones((4, 5))
    zbar = (ybar @ W.T) * h * (1 - h)
    np.testing.assert_allclose(enc.weight.grad.data, h.T @ ybar + zbar.T @ x.data, rtol=1e-10)
    assert check_module(model, x)
    with pytest.raises(TypeError, match="Linear"):
        nn.TiedLinear(nn.ReLU())


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
