"""fit(): it learns, records a History, stops early, checkpoints, resumes exactly, is seeded,
keeps memory flat and stops on a NaN loss with a clear message."""
import functools
import gc
import json

import numpy as np
import pytest

from tinyae import Function, Tensor, losses, nn, optim
from tinyae.data import DataLoader
from tinyae.train import History, as_loss_fn, evaluate, fit, load_checkpoint

D, K = 8, 3


def _data(n=240, seed=0):
    """Points near a 3-D subspace of R⁸: a linear autoencoder with 3 units can fit them."""
    basis = np.random.default_rng(100).normal(size=(K, D)) / 2  # the same subspace for every split
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, K)) @ basis + 0.01 * rng.normal(size=(n, D))
    return x.astype(np.float32)


def _model(seed=0):
    return nn.Sequential(nn.Linear(D, K, rng=seed), nn.Tanh(), nn.Linear(K, D, rng=seed + 1))


def _run(epochs=4, seed=0, model_seed=0, loader_seed=None, **kw):
    model = _model(model_seed)
    opt = optim.Adam(model.parameters(), lr=kw.pop("lr", 1e-2))
    x = _data()
    history = fit(model, opt, DataLoader(x, batch_size=32, shuffle=True, seed=loader_seed),
                  epochs, loss_fn=losses.mse, val_loader=DataLoader(_data(60, seed=1), batch_size=32), seed=seed,
                  progress=False, verbose=False, **kw)
    return model, opt, history


def test_fit_reduces_the_loss_and_fills_the_history():
    model, opt, history = _run(epochs=8)
    assert isinstance(history, History)
    assert history["epoch"] == list(range(1, 9))
    for key in ("train_loss", "val_loss", "lr", "epoch_time"):
        assert len(history[key]) == 8, key
    assert history["train_loss"][-1] < 0.5 * history["train_loss"][0]
    assert history["val_loss"][-1] < 0.5 * history["val_loss"][0]
    assert history["lr"] == [1e-2] * 8
    assert all(t > 0 for t in history["epoch_time"])
    assert "epoch 8" in history.line() and "train_loss" in history.table()
    assert model.training  # left in training mode


def test_loss_hook_metrics_and_scheduler():
    """The (model, batch) convention with (x, y) batches, a metric, and a per-epoch schedule."""
    x = _data()
    y = (x[:, 0] > 0).astype(np.int64)
    model = nn.Sequential(nn.Linear(D, 2, rng=0))
    opt = optim.SGD(model.parameters(), lr=0.5)
    sched = optim.StepLR(opt, step_size=1, gamma=0.5)
    seen = []

    def loss_fn(m, batch):
        xb, yb = batch
        seen.append((type(xb).__name__, xb.requires_grad))
        return losses.cross_entropy(m(xb), yb)

    def accuracy(m, batch):
        return float((m(batch[0]).data.argmax(axis=1) == batch[1].data).mean())

    history = fit(model, opt, DataLoader(x, y, batch_size=60), 3, loss_fn=loss_fn,
                  val_loader=DataLoader(x, y, batch_size=120), metrics={"acc": accuracy},
                  scheduler=sched, progress=False, verbose=False)
    assert seen[0] == ("Tensor", False)
    assert history["lr"] == [0.5, 0.25, 0.125]
    assert history["val_acc"][-1] > 0.8
    # a plain (pred, target) loss with target='label' gives the same numbers as the hook
    result = evaluate(model, DataLoader(x, y, batch_size=50), losses.cross_entropy, target="label")
    assert result["loss"] == pytest.approx(evaluate(model, DataLoader(x, y, batch_size=50), loss_fn)["loss"])


def test_plain_loss_defaults_to_reconstructing_the_input():
    model, x = _model(), _data(64)
    expected = losses.bce(model(x).sigmoid(), x.clip(0, 1)).item()
    wrapped = as_loss_fn(lambda p, t: losses.bce(p.sigmoid(), t.clip(0, 1)))
    partial = functools.partial(losses.mse, reduction="sum")
    assert wrapped(model, Tensor(x)).item() == pytest.approx(expected)
    assert evaluate(model, DataLoader(x, batch_size=64), partial)["loss"] == pytest.approx(
        losses.mse(model(x), x, reduction="sum").item(), rel=1e-5)


def test_same_seed_gives_the_same_losses_and_another_seed_does_not():
    # The loader has no seed of its own: fit(seed=...) must seed its shuffling.
    a = _run(seed=7)[2]["train_loss"]
    b = _run(seed=7)[2]["train_loss"]
    c = _run(seed=8)[2]["train_loss"]
    assert a == b
    assert a != c


def test_early_stopping_stops_and_restores_the_best_weights():
    val_x = _data(60, seed=1)
    model = _model()
    opt = optim.SGD(model.parameters(), lr=0.05)
    snapshots = {}

    def record(epoch, history):
        snapshots[epoch] = model.state_dict()
        if epoch == 3:
            opt.lr = 5.0  # far too large from now on: the val loss stops improving

    history = fit(model, opt, DataLoader(_data(), batch_size=240), 30, loss_fn=losses.mse,
                  val_loader=DataLoader(val_x, batch_size=60), early_stopping=2, clip_grad=1.0,
                  on_epoch_end=record, progress=False, verbose=False)
    assert history.stopped_early
    assert history.epochs < 30
    best = history.best_epoch
    assert history["val_loss"][best - 1] == min(history["val_loss"])
    assert history.epochs == best + 2
    for name, value in model.state_dict().items():
        np.testing.assert_array_equal(value, snapshots[best][name])


def test_early_stopping_can_watch_a_metric():
    # A validation error that goes on falling after the validation loss has turned: with
    # monitor='val_error' the best epoch is the one of the lowest error (3), not of the loss.
    model, x = _model(), _data(60, seed=1)
    errors, done = [0.30, 0.20, 0.10, 0.15, 0.12], []
    history = fit(model, optim.SGD(model.parameters(), lr=0.01), DataLoader(x, batch_size=60), 5,
                  loss_fn=losses.mse, val_loader=DataLoader(x, batch_size=60),
                  metrics={"error": lambda m, batch: errors[len(done)]}, early_stopping=2,
                  monitor="val_error", on_epoch_end=lambda epoch, h: done.append(epoch),
                  progress=False, verbose=False)
    assert history["val_error"] == pytest.approx(errors)
    assert history.best_epoch == 3 and history.stopped_early and history.epochs == 5
    with pytest.raises(ValueError, match="val_<name>"):
        fit(model, optim.SGD(model.parameters(), lr=0.01), DataLoader(x, batch_size=60), 1,
            loss_fn=losses.mse, val_loader=DataLoader(x, batch_size=60), early_stopping=2,
            monitor="val_accuracy", progress=False, verbose=False)


def test_checkpoint_loads_without_pickle(tmp_path):
    model, opt, history = _run(epochs=3, checkpoint_dir=tmp_path, checkpoint_every=2)
    path = tmp_path / "checkpoint.npz"
    with np.load(path, allow_pickle=False) as archive:
        assert archive["history.json"].shape == () and archive["history.json"].dtype.kind == "U"
        assert json.loads(str(archive["history.json"][()]))["records"]["epoch"] == [1, 2, 3]
    state, saved = load_checkpoint(path)
    assert state["epoch"] == 3
    assert saved["train_loss"] == history["train_loss"]
    assert set(state["rng"]) >= {"train_loader", "numpy.random.global"}
    fresh = _model(seed=5)
    fresh.load_state_dict(state["model"])
    for name, value in model.state_dict().items():
        np.testing.assert_array_equal(fresh.state_dict()[name], value)
    assert not list(tmp_path.glob("*.tmp"))  # the temporary file was renamed away


def test_resume_reproduces_an_uninterrupted_run(tmp_path):
    full = _run(epochs=5, seed=3, early_stopping=3)[2]
    # Interrupted after 2 epochs, then resumed into a model built from a different init:
    # everything (weights, Adam moments, shuffling, early-stopping state) comes from the file.
    _run(epochs=2, seed=3, early_stopping=3, checkpoint_dir=tmp_path)
    model, opt, resumed = _run(epochs=5, seed=3, model_seed=9, early_stopping=3,
                               checkpoint_dir=tmp_path, resume=True)
    assert resumed["epoch"] == [1, 2, 3, 4, 5]
    assert resumed["train_loss"] == full["train_loss"]
    assert resumed["val_loss"] == full["val_loss"]
    assert opt.betas == (0.9, 0.999)


def test_a_denoising_autoencoders_noise_is_seeded_and_resumed(tmp_path):
    # The corruption's generator sits on a plain object the model holds (MaskingNoise.rng):
    # fit must seed it and checkpoint it, or a resumed run draws other masks.
    from tinyae.data.corruptions import MaskingNoise
    from tinyae.models import MLPAutoencoder
    x = _data(96, seed=4)

    def run(epochs, **kw):
        model = MLPAutoencoder([8, 3], corruption=MaskingNoise(0.5, seed=1), rng=0)
        return fit(model, optim.Adam(model.parameters(), lr=0.01),
                   DataLoader(x, batch_size=16, shuffle=True), epochs, seed=3,
                   progress=False, verbose=False, **kw)

    full = run(4)
    assert run(4)["train_loss"] == full["train_loss"]
    run(2, checkpoint_dir=tmp_path)
    resumed = run(4, checkpoint_dir=tmp_path, resume=True)
    assert resumed["train_loss"] == full["train_loss"]
    state, _ = load_checkpoint(tmp_path / "checkpoint.npz")
    assert "model.corruption.rng" in state["rng"]


def test_resume_without_a_checkpoint_starts_fresh(tmp_path):
    history = _run(epochs=2, checkpoint_dir=tmp_path / "new", resume=True)[2]
    assert history["epoch"] == [1, 2]
    with pytest.raises(ValueError, match="checkpoint_dir"):
        _run(epochs=2, resume=True)


def _live_functions():
    gc.collect()
    # issubclass on the type: isinstance would touch every object's __class__, and some
    # third-party objects (torch's deprecated aliases) warn when touched.
    return sum(issubclass(type(o), Function) for o in gc.get_objects())


def test_memory_stays_flat_across_epochs():
    counts = []
    _run(epochs=5, on_epoch_end=lambda epoch, history: counts.append(_live_functions()))
    assert len(counts) == 5
    assert counts[-1] <= counts[0], counts
    assert max(counts) == counts[0], counts


def test_nan_loss_stops_with_a_clear_error():
    model = _model()
    x = _data()
    x[5, 0] = np.nan
    with pytest.raises(FloatingPointError, match="lower learning rate|detect_anomaly"):
        fit(model, optim.SGD(model.parameters(), lr=0.1), DataLoader(x, batch_size=8),
            3, loss_fn=losses.mse, progress=False, verbose=False)


@pytest.mark.parametrize("kwargs, message", [
    (dict(epochs=0), "epochs"),
    (dict(early_stopping=2, val_loader=None), "val_loader"),
    (dict(clip_grad=-1), "clip_grad"),
    (dict(checkpoint_every=0), "checkpoint_every"),
])
def test_bad_arguments_are_named(kwargs, message):
    model = _model()
    args = dict(epochs=2, val_loader=None, progress=False, verbose=False)
    args.update(kwargs)
    with pytest.raises(ValueError, match=message):
        fit(model, optim.SGD(model.parameters(), lr=0.1),
            DataLoader(_data(), batch_size=32), loss_fn=losses.mse, **args)


def test_loss_fn_must_return_a_scalar_tensor():
    model = _model()
    with pytest.raises(ValueError, match="scalar"):
        fit(model, optim.SGD(model.parameters(), lr=0.1), DataLoader(_data(), batch_size=32), 1,
            loss_fn=lambda m, b: (m(b) - b) ** 2, progress=False, verbose=False)


def test_without_loss_fn_fit_minimises_the_models_own_loss():
    from tinyae.models import MLPAutoencoder
    x = _data()
    model = MLPAutoencoder([D, K], activation="tanh", output_activation=None, rng=0)
    history = fit(model, optim.Adam(model.parameters(), lr=1e-2), DataLoader(x, batch_size=32), 3,
                  val_loader=DataLoader(x, batch_size=240), progress=False, verbose=False)
    assert history["val_loss"][-1] == pytest.approx(model.loss(x).item(), rel=1e-5)
    assert evaluate(model, DataLoader(x, batch_size=60))["loss"] == pytest.approx(
        model.loss(x).item(), rel=1e-5)


def test_a_model_without_loss_needs_loss_fn():
    model = _model()
    with pytest.raises(TypeError, match="loss_fn="):
        fit(model, optim.SGD(model.parameters(), lr=0.1), DataLoader(_data(), batch_size=32), 1,
            progress=False, verbose=False)
    with pytest.raises(TypeError, match="loss_fn="):
        evaluate(model, DataLoader(_data(), batch_size=32))
    with pytest.raises(TypeError, match="the order is fit"):  # the old order, loss first
        fit(model, losses.mse, optim.SGD(model.parameters(), lr=0.1), DataLoader(_data()), 1)


def test_fit_in_budget_runs_the_epochs_that_fit():
    from tinyae.train.budget import fit_in_budget, matmul_gflops
    model = _model()
    opt = optim.Adam(model.parameters(), lr=1e-2)
    history = fit_in_budget(model, opt, DataLoader(_data(), batch_size=32), minutes=None,
                            max_epochs=4, loss_fn=losses.mse, progress=False, verbose=False)
    assert history["epoch"] == [1, 2, 3, 4]
    assert history["lr"][:2] == [1e-2, 1e-2] and history["lr"][-1] < 1e-2  # cosine after epoch 1
    short = fit_in_budget(_model(), optim.SGD(_model().parameters(), lr=0.1),
                          DataLoader(_data(), batch_size=32), minutes=1e-9, max_epochs=30,
                          loss_fn=losses.mse, progress=False, verbose=False)
    assert short.epochs == 2  # the first epoch, then at least one more
    assert matmul_gflops(8, 16, 16, repeats=2) > 0
