"""A student's first-week PyTorch spellings (issue 26), each by value and, where PyTorch is
installed, against PyTorch's own answer."""
import numpy as np
import pytest

import tinyae as ta
import tinyae.nn.functional as F
from tinyae import nn
from tinyae.data import DataLoader

try:
    import torch
except ImportError:  # CI has no PyTorch: the by-value checks still run
    torch = None

X = np.random.default_rng(0).standard_normal((2, 3)).astype("float32")
LABELS = np.array([0, 2])


def _torch(fn):
    return None if torch is None else fn()


def test_repeat_tiles_and_its_gradient_sums_the_tiles():
    t = ta.tensor(X, requires_grad=True)
    y = t.repeat(2, 1, 3)
    assert y.shape == (2, 2, 9)
    np.testing.assert_array_equal(y.data, np.tile(X, (2, 1, 3)))
    y.sum().backward()
    np.testing.assert_array_equal(t.grad.data, np.full_like(X, 6))
    expected = _torch(lambda: torch.tensor(X).repeat(2, 1, 3).numpy())
    if expected is not None:
        np.testing.assert_array_equal(y.data, expected)


def test_std_uses_bessels_correction_as_pytorch_does():
    t = ta.tensor(X)
    np.testing.assert_allclose(t.std().data, X.std(ddof=1), rtol=1e-6)
    np.testing.assert_allclose(t.std(dim=1, keepdim=True).data, X.std(axis=1, ddof=1, keepdims=True),
                               rtol=1e-6)
    np.testing.assert_allclose(t.std(unbiased=False).data, X.std(), rtol=1e-6)


def test_chunk_split_view_as_expand_as():
    t = ta.tensor(np.arange(10.0).reshape(5, 2))
    assert [c.shape for c in t.chunk(2)] == [(3, 2), (2, 2)]
    assert [c.shape for c in t.split(2)] == [(2, 2), (2, 2), (1, 2)]
    assert t.view_as(ta.zeros(2, 5)).shape == (2, 5)
    assert ta.zeros(1, 2).expand_as(t).shape == (5, 2)
    if torch is not None:
        assert [tuple(c.shape) for c in torch.arange(10.0).reshape(5, 2).chunk(2)] == [(3, 2), (2, 2)]


def test_dtype_names_casts_and_a_tensor_as_an_index():
    assert ta.tensor([1, 2], dtype=ta.long).dtype == np.int64
    assert ta.float is np.float32 and ta.double is np.float64 and ta.int is np.int32
    t = ta.tensor([1.7, 2.2])
    assert t.long().dtype == np.int64 and t.int().dtype == np.int32 and t.bool().dtype == np.bool_
    assert t.type(ta.float64).dtype == np.float64 and "float32" in t.type()
    assert [10, 20, 30][ta.tensor(np.array(1))] == 20
    with pytest.raises(TypeError, match="one-element integer tensor"):
        [10, 20][ta.tensor([0.0])]


def test_nll_loss_and_one_hot_as_in_pytorch():
    log_probs = F.log_softmax(ta.tensor(X), dim=1)
    mean = F.nll_loss(log_probs, LABELS)
    total = F.nll_loss(log_probs, LABELS, reduction="sum")
    np.testing.assert_allclose(mean.item() * 2, total.item(), rtol=1e-6)
    np.testing.assert_allclose(mean.item(), F.cross_entropy(ta.tensor(X), LABELS).item(), rtol=1e-6)
    expected = _torch(lambda: torch.nn.functional.nll_loss(
        torch.log_softmax(torch.tensor(X), 1), torch.tensor(LABELS)).item())
    if expected is not None:
        assert abs(mean.item() - expected) < 1e-6
    onehot = F.one_hot(ta.tensor(np.array([1, 2])), 4)
    assert onehot.dtype == np.int64 and onehot.data.tolist() == [[0, 1, 0, 0], [0, 0, 1, 0]]
    assert F.one_hot(np.array([0, 3])).shape == (2, 4)
    with pytest.raises(ValueError, match="labels must lie in"):
        F.one_hot(np.array([5]), 3)


def test_allclose_inference_mode_is_tensor_retain_grad():
    assert ta.allclose(ta.tensor([1.0, 2.0]), [1.0, 2.000001]) is True
    assert ta.allclose(ta.tensor([1.0]), ta.tensor([1.1])) is False
    with ta.inference_mode():
        assert not (ta.randn(2, requires_grad=True) * 2).requires_grad
    assert ta.is_tensor(ta.zeros(1)) and not ta.is_tensor(np.zeros(1))
    x = ta.randn(3, requires_grad=True)
    h = x * 2
    h.retain_grad()
    (h * h).sum().backward()
    np.testing.assert_allclose(h.grad.data, 2 * h.data, rtol=1e-6)


def test_nn_utils_clip_grad_norm_and_dataloader_worker_options():
    w = ta.tensor([3.0, 4.0], requires_grad=True)
    w.grad = ta.tensor([3.0, 4.0])
    assert nn.utils.clip_grad_norm_([w], 1.0) == pytest.approx(5.0)
    loader = DataLoader(np.zeros((4, 2)), batch_size=2, num_workers=2, pin_memory=True,
                        persistent_workers=True)
    assert len(list(loader)) == 2
    with pytest.raises(ValueError, match="num_workers"):
        DataLoader(np.zeros((4, 2)), num_workers=-1)


def test_save_and_load_a_state_dict_without_pickle(tmp_path):
    model = nn.Linear(3, 2, rng=0)
    state = {k: ta.tensor(v) for k, v in model.state_dict().items()}
    ta.save(state, tmp_path / "model.npz")
    back = ta.load(tmp_path / "model.npz")
    assert set(back) == {"weight", "bias"} and all(ta.is_tensor(v) for v in back.values())
    other = nn.Linear(3, 2, rng=1)
    other.load_state_dict(back)
    np.testing.assert_array_equal(other.weight.data, model.weight.data)
    model.save(tmp_path / "saved_by_module.npz")  # Module.save's file loads as a state_dict
    assert set(ta.load(tmp_path / "saved_by_module.npz")) == {"weight", "bias"}
    # the Quickstart's spelling: torch.load(path, weights_only=True), map_location="cpu"
    assert set(ta.load(tmp_path / "model.npz", weights_only=True, map_location="cpu")) == \
        {"weight", "bias"}
    with pytest.raises(ValueError, match="never does"):
        ta.load(tmp_path / "model.npz", weights_only=False)
    with pytest.raises(ValueError, match="model.to\\(device\\)"):
        ta.load(tmp_path / "model.npz", map_location="cuda:1")


def test_load_refuses_pickles_damage_and_wrong_states_clearly(tmp_path):
    import pickle
    (tmp_path / "a.pt").write_bytes(pickle.dumps({"weight": 1}))
    with pytest.raises(ValueError, match="a pickle .*never unpickles"):
        ta.load(tmp_path / "a.pt")
    ta.save({"weight": ta.zeros(2, 3)}, tmp_path / "b.npz")
    data = (tmp_path / "b.npz").read_bytes()
    (tmp_path / "c.npz").write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match="damaged or truncated"):
        ta.load(tmp_path / "c.npz")
    with pytest.raises(TypeError, match=r"tinyae.save\(model.state_dict\(\), path\)"):
        ta.save(nn.Linear(2, 2), tmp_path / "d.npz")
    model = nn.Linear(3, 2, rng=0)
    before = model.weight.data.copy()
    with pytest.raises(KeyError, match="missing keys \\['bias'\\]"):
        model.load_state_dict(ta.load(tmp_path / "b.npz"))
    ta.save({"weight": ta.zeros(3, 3), "bias": ta.zeros(2)}, tmp_path / "e.npz")
    with pytest.raises(ValueError, match="shape mismatch for 'weight'"):
        model.load_state_dict(ta.load(tmp_path / "e.npz"))
    np.testing.assert_array_equal(model.weight.data, before)  # nothing half-loaded


def test_an_earlier_releases_fit_call_order_says_the_signature_and_the_fix():
    from tinyae import losses, optim
    from tinyae.train import fit
    model = nn.Linear(2, 2)
    opt = optim.SGD(model.parameters(), lr=0.1)
    loader = DataLoader(np.zeros((4, 2), "float32"))
    with pytest.raises(TypeError, match=r"fit\(model, optimizer, train_loader, epochs.*'bce', a "
                                        r"function, where the optimizer goes"):
        fit(model, losses.bce, opt, loader, epochs=3)


def test_device_objects_and_the_accelerator_query():
    dev = ta.device("cuda" if ta.accelerator.is_available() else "cpu")
    assert dev.type in ("cpu", "cuda") and repr(dev).startswith("device(type=")
    model = nn.Linear(2, 2)
    if dev.type == "cpu":
        assert model.to(dev) is model and ta.zeros(2).to(dev).device == "cpu"
        assert ta.accelerator.current_accelerator() is None
    with pytest.raises(ValueError, match="unknown device 'tpu'"):
        ta.device("tpu")
