"""tinyae on a device array module, without a GPU: the strict stand-in (tinyae.testing.strict)
refuses what CuPy refuses, and every op, model step, optimizer, loss and the DataLoader run on
it and match NumPy. benchmarks/gpu_check.py runs the same comparisons on CuPy."""
import numpy as np
import pytest

import tinyae
from tinyae import backend, losses, optim
from tinyae.autograd import OPS
from tinyae.data import DataLoader
from tinyae.models import build
from tinyae.testing import strict
from tinyae.testing.backends import compare_op


@pytest.fixture
def on_strict():
    """The stand-in as the default backend (and as what 'gpu' means) for one test."""
    before = backend.get_backend(), backend._device
    backend.set_backend("strict")
    yield strict
    backend._pending.clear()   # a check a test left unread must not fail a later test's read
    backend.set_backend(before[0])
    backend._device = before[1]


def _both():
    """Run the loop body once on NumPy (as the default backend) and once on the stand-in."""
    for name, device in (("numpy", "cpu"), ("strict", "gpu")):
        backend.set_backend(name)
        yield device


# --- the stand-in is strict -----------------------------------------------------------------
@pytest.mark.parametrize("leak", [
    lambda a: np.exp(a), lambda a: np.asarray(a), lambda a: np.sum(a), lambda a: list(a),
    lambda a: a + np.ones(3), lambda a: np.ones(3) * a, lambda a: np.maximum(a, 0),
    lambda a: strict.exp(np.ones(3)),
], ids=["numpy.exp", "asarray", "numpy.sum", "iteration", "plus-ndarray", "ndarray-times",
        "numpy.maximum", "host-argument"])
def test_the_stand_in_refuses_numpy_on_its_data(leak):
    with pytest.raises(TypeError):
        leak(strict.asarray([1.0, 2.0, 3.0]))


def test_a_planted_numpy_exp_in_an_op_is_caught(monkeypatch, on_strict):
    """Plant ``numpy.exp`` in Exp's forward: NumPy does not notice, the stand-in does."""
    monkeypatch.setattr(OPS["Exp"], "forward", lambda self, x: np.exp(x))
    assert np.allclose(tinyae.exp(tinyae.Tensor(np.zeros(2))).numpy(), 1)   # NumPy: unnoticed
    with pytest.raises(TypeError, match="ufunc|NumPy"):
        tinyae.exp(tinyae.Tensor(strict.asarray(np.zeros(2))))


def test_host_transfers_are_counted():
    a = strict.asarray(np.arange(4.0))
    with strict.count_transfers() as n:
        total = float(a.sum())
        a.max().item()
        strict.asnumpy(a)
        b = strict.exp(a) * 2 + a   # stays on the device
    assert total == 6.0 and n["to_host"] == 3 and len(n["sites"]) == 3
    assert b.shape == (4,)


def test_backend_recognises_the_stand_in(on_strict):
    a = strict.asarray([1.0, 2.0])
    assert backend.get_array_module(a) is strict and backend.is_array(a)
    assert backend.get_array_module(np.ones(2)) is np
    t = tinyae.Tensor([1.0, 2.0])               # the default backend makes it on the device
    assert isinstance(t.data, strict.StrictArray) and t.device == "gpu"
    host = backend.to_device(t.data, "cpu")
    assert isinstance(host, np.ndarray) and np.array_equal(host, [1, 2])
    assert isinstance(tinyae.Tensor(np.ones(2)).to("cpu").to("gpu").data, strict.StrictArray)


# --- every op, once per backend ---------------------------------------------------------------
@pytest.mark.parametrize("name", sorted(OPS))
def test_op_matches_numpy_on_the_stand_in(name, on_strict):
    """Forward, backward and second-order backward on the stand-in equal NumPy's."""
    assert compare_op(name, device="gpu") == []


# --- training on the stand-in -----------------------------------------------------------------
def _step(model, optimizer, x):
    optimizer.zero_grad()
    loss = model.loss(x)
    loss.backward()
    optimizer.step()
    return loss


@pytest.mark.parametrize("name", ["shallow", "deep", "conv", "hinton", "vae"])
def test_one_training_step_of_every_zoo_model(name, on_strict):
    """Same seed on NumPy and on the stand-in: the same loss and the same updated weights, and
    no host transfer in the step (the loss's check that targets lie in [0, 1] stays on the
    device until the loss is read, here after the step)."""
    x = np.random.default_rng(0).random((4, 784)).astype(np.float32)
    if name == "conv":
        x = x.reshape(4, 1, 28, 28)
    results = []
    for device in _both():
        model = build(name, rng=0).to(device)
        opt = optim.Adam(model.parameters(), lr=1e-3)
        tinyae.manual_seed(0)
        data = backend.to_device(x, device)
        with strict.count_transfers() as n:
            loss = _step(model, opt, data)
        if device == "gpu":
            assert n["to_host"] == 0, f"{name}: host transfers: {n['sites']}"
        results.append((loss.item(), [backend.to_numpy(p.data) for p in model.parameters()]))
    (l0, p0), (l1, p1) = results
    assert np.isclose(l0, l1, rtol=1e-5)
    assert all(np.allclose(a, b, rtol=1e-4, atol=1e-6) for a, b in zip(p0, p1))


@pytest.mark.parametrize("opt", ["SGD", "Adagrad", "RMSprop", "Adam", "AdamW"])
def test_optimizers_on_the_stand_in(opt, on_strict):
    kwargs = dict(lr=0.1, weight_decay=0.01)
    if opt == "SGD":
        kwargs.update(momentum=0.9, nesterov=True)
    finals = []
    for device in _both():
        w = tinyae.nn.Parameter(backend.to_device(np.linspace(-1, 1, 6, dtype=np.float32)
                                                  .reshape(2, 3), device))
        o = getattr(optim, opt)([w], **kwargs)
        with strict.count_transfers() as n:
            for _ in range(3):
                o.zero_grad()
                ((w * w).sum()).backward()
                o.step()
        if device == "gpu":
            assert n["to_host"] == 0, n["sites"]
        finals.append(backend.to_numpy(w.data))
    assert np.allclose(*finals, rtol=1e-5, atol=1e-7)


def test_clip_grad_norm_and_schedules_on_the_stand_in(on_strict):
    w = tinyae.nn.Parameter(strict.asarray(np.ones((2, 2), np.float32)))
    o = optim.SGD([w], lr=0.1)
    sched = optim.StepLR(o, step_size=1, gamma=0.5)
    (w * 10).sum().backward()
    optim.clip_grad_norm_([w], 1.0)
    o.step()
    sched.step()
    assert isinstance(w.data, strict.StrictArray)
    assert np.allclose(strict.asnumpy(w.data), 1 - 0.1 * 0.5)


@pytest.mark.parametrize("loss", ["mse", "sse", "bce", "bce_with_logits", "cross_entropy",
                                  "gaussian_kl", "bernoulli_log_likelihood",
                                  "gaussian_log_likelihood", "l1_activity", "kl_sparsity"])
def test_losses_on_the_stand_in(loss, on_strict):
    rng = np.random.default_rng(0)
    a = rng.uniform(0.1, 0.9, (4, 5))
    b = rng.uniform(0.1, 0.9, (4, 5))
    args = {"cross_entropy": (a, np.array([0, 1, 2, 4])), "l1_activity": (a,),
            "kl_sparsity": (a, 0.05)}.get(loss, (a, b))
    values = []
    for device in _both():
        moved = [backend.to_device(v, device) if isinstance(v, np.ndarray) else v for v in args]
        xs = [tinyae.Tensor(v, requires_grad=True) if i == 0 else
              (tinyae.Tensor(v) if backend.is_array(v) else v) for i, v in enumerate(moved)]
        y = getattr(losses, loss)(*xs)
        y.backward()
        values.append((y.item(), backend.to_numpy(xs[0].grad.data)))
    assert np.isclose(values[0][0], values[1][0]) and np.allclose(values[0][1], values[1][1])


def test_dataloader_device_transfer(on_strict):
    """Data moved to the device once; batches are device arrays, drawn in the same order."""
    x = np.arange(20, dtype=np.float32).reshape(10, 2)
    backend.set_backend("numpy")
    host = [b for b in DataLoader(x, batch_size=4, shuffle=True, seed=1)]
    backend.set_backend("strict")
    loader = DataLoader(backend.to_device(x, "gpu"), batch_size=4, shuffle=True, seed=1)
    with strict.count_transfers() as n:
        device = [b for b in loader]
    assert n["to_host"] == 0
    assert all(isinstance(getattr(b, "data", b), strict.StrictArray) for b in device)
    assert all(np.array_equal(h, strict.asnumpy(getattr(d, "data", d)))
               for h, d in zip(host, device))


# --- host transfers in training, and the checks that wait for them -----------------------------
@pytest.mark.parametrize("name", ["shallow", "conv", "vae"])
def test_fit_reads_back_only_the_logged_loss(name, on_strict):
    """A few fit() steps of a zoo model on the stand-in: one host transfer per step, the loss
    value fit logs (and checks for NaN before the update); the loss's own check that targets lie
    in [0, 1] travels in that same transfer (backend.check)."""
    from tinyae.train import fit
    x = np.random.default_rng(0).random((24, 784)).astype(np.float32)
    x = x.reshape(24, 1, 28, 28) if name == "conv" else x
    model = build(name, rng=0).to("gpu")
    opt = optim.Adam(model.parameters(), lr=1e-3)
    loader = DataLoader(backend.to_device(x, "gpu"), batch_size=8, shuffle=True, seed=0)
    with strict.count_transfers() as n:
        history = fit(model, opt, loader, 2, progress=False, verbose=False)
    steps = 2 * len(loader)
    assert n["to_host"] == steps, n["sites"]
    assert all("read_scalar" in s or "to_device" in s for s in n["sites"]), n["sites"]
    assert len(history["train_loss"]) == 2


def test_a_failed_device_check_is_raised_at_the_next_read(on_strict):
    """bce with a target outside [0, 1] on the stand-in: no error (and no transfer) when the loss
    is built, the usual error when its value is read; fit() reads it before the update, so a
    bad batch never changes the weights."""
    from tinyae.train import fit
    pred = tinyae.Tensor(strict.asarray(np.full((2, 3), 0.5)), requires_grad=True)
    bad = strict.asarray(np.full((2, 3), 255.0))
    with strict.count_transfers() as n:
        loss = losses.bce(pred, bad)
    assert n["to_host"] == 0
    with pytest.raises(ValueError, match=r"bce: .*\[0, 1\].*255"):
        loss.item()
    assert not backend._pending   # read once, then forgotten
    model = build("shallow", rng=0).to("gpu")
    before = [strict.asnumpy(p.data) for p in model.parameters()]
    loader = DataLoader(strict.asarray(np.full((4, 784), 255.0, np.float32)), batch_size=4)
    with pytest.raises(ValueError, match="divided by 255"):
        fit(model, optim.Adam(model.parameters()), loader, 1, progress=False, verbose=False)
    assert all(np.array_equal(b, strict.asnumpy(p.data))
               for b, p in zip(before, model.parameters()))


def test_cross_entropy_labels_are_checked_at_the_read(on_strict):
    logits = tinyae.Tensor(strict.asarray(np.zeros((2, 3))), requires_grad=True)
    loss = losses.cross_entropy(logits, strict.asarray(np.array([0, 3])))
    with pytest.raises(ValueError, match=r"labels must lie in \[0, 3\)"):
        float(loss)


def test_unread_checks_do_not_pile_up(on_strict):
    """Nobody reads a value (a loop that never logs): the checks are read in one transfer once
    more than backend.MAX_PENDING wait."""
    pred = tinyae.Tensor(strict.asarray(np.full(3, 0.5)))
    with strict.count_transfers() as n:
        for _ in range(backend.MAX_PENDING + 1):
            losses.bce(pred, pred)
    assert n["to_host"] == 1 and not backend._pending
