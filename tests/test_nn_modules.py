"""tinyae.nn, the Module: registration and traversal, state_dict, save and load, tied weights."""
import os

import numpy as np
import pytest

import tinyae
from tinyae import Tensor
import tinyae.nn as nn
import tinyae.io

from tinyae.gradcheck import check_module

from nn_helpers import TwoLayer, rand  # noqa: F401


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
    assert all(isinstance(v, Tensor) and not v.requires_grad for v in state.values())  # PyTorch's
    assert state["encoder.weight"].clone().shape == a.encoder.weight.shape  # sd[k].clone(), as in a PyTorch port
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


def test_a_state_dict_value_copied_the_old_numpy_way_still_works_with_a_warning():
    state = TwoLayer().state_dict()
    with pytest.warns(DeprecationWarning, match="write .clone()"):
        copy = state["encoder.weight"].copy()
    np.testing.assert_array_equal(copy.numpy(), state["encoder.weight"].numpy())
