"""Freezing (Parameter/Module.requires_grad_, optimizers skip frozen weights) and the
pretraining helpers of tinyae.models.pretraining."""
import numpy as np
import pytest

from tinyae import Tensor, losses, nn, optim
from tinyae.models import (Classifier, MLPAutoencoder, end_to_end_pretrain, error_rate,
                           fine_tune, greedy_pretrain, random_encoder, shallow_autoencoder)
from tinyae.data.corruptions import MaskingNoise
from tinyae.models.regularizers import Contractive


def test_parameter_requires_grad_freezes_and_returns_self():
    layer = nn.Linear(3, 2, rng=0)
    assert layer.weight.requires_grad_(False) is layer.weight
    x = Tensor(np.ones((4, 3), dtype=np.float32))
    layer(x).sum().backward()
    assert layer.weight.grad is None and layer.bias.grad is not None


def test_module_requires_grad_freezes_every_parameter_below():
    model = nn.Sequential(nn.Linear(3, 4, rng=0), nn.Sigmoid(), nn.Linear(4, 2, rng=1))
    assert model[0].requires_grad_(False) is model[0]
    assert [p.requires_grad for p in model.parameters()] == [False, False, True, True]
    model.requires_grad_(True)
    assert all(p.requires_grad for p in model.parameters())


@pytest.mark.parametrize("opt_class", [optim.SGD, optim.Adam, optim.AdamW, optim.RMSprop,
                                       optim.Adagrad])
def test_optimizers_skip_frozen_parameters_even_with_a_stale_grad(opt_class):
    model = nn.Sequential(nn.Linear(3, 4, rng=0), nn.Sigmoid(), nn.Linear(4, 2, rng=1))
    opt = opt_class(model.parameters(), lr=0.1)
    x = Tensor(np.random.default_rng(0).random((5, 3), dtype=np.float32))
    model(x).sum().backward()                  # every parameter now has a grad ...
    model[0].requires_grad_(False)             # ... then the first layer is frozen
    before = [p.data.copy() for p in model.parameters()]
    opt.step()
    after = [p.data for p in model.parameters()]
    assert np.array_equal(before[0], after[0]) and np.array_equal(before[1], after[1])
    assert not np.array_equal(before[2], after[2])
    assert opt.state[0] == {} and opt.state[1] == {}   # no moments for a frozen weight


def _data(n=200, d=16, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, n)
    centres = rng.random((3, d)).astype(np.float32)
    x = np.clip(centres[y] + 0.1 * rng.standard_normal((n, d)), 0, 1).astype(np.float32)
    return x, y.astype(np.int64)


def test_shallow_autoencoder_reuses_mlp_autoencoder_and_the_regularisers():
    plain = shallow_autoencoder(16, 8, "plain", rng=0)
    dae = shallow_autoencoder(16, 8, "denoising", noise=0.3, rng=0)
    cae = shallow_autoencoder(16, 8, "contractive", contraction=0.5, rng=0)
    assert all(isinstance(m, MLPAutoencoder) for m in (plain, dae, cae))
    assert plain.corruption is None and plain.regularizers == []
    assert isinstance(dae.corruption, MaskingNoise) and dae.corruption.fraction == 0.3
    assert isinstance(cae.regularizers[0], Contractive) and cae.regularizers[0].weight == 0.5
    assert plain.tied and plain.encoder[0].weight is plain.decoder[0].weight
    with pytest.raises(ValueError, match="ae_kind"):
        shallow_autoencoder(16, 8, "sparse")


@pytest.mark.parametrize("kind", ["plain", "denoising", "contractive"])
def test_greedy_pretrain_stacks_the_encoders_of_trained_layers(kind):
    x, _ = _data()
    encoder, histories = greedy_pretrain([16, 12, 8, 6], x, ae_kind=kind, epochs=[3, 2, 2],
                                         batch_size=32, lr=1e-2, seed=0)
    assert [type(m).__name__ for m in encoder] == ["Linear", "Sigmoid"] * 3
    assert [m.out_features for m in encoder if isinstance(m, nn.Linear)] == [12, 8, 6]
    assert [len(h["val_reconstruction"]) for h in histories] == [3, 2, 2]
    for h in histories:  # each layer learns to reconstruct its input
        assert h["val_reconstruction"][-1] < h["val_reconstruction"][0]
    assert encoder(Tensor(x[:5])).shape == (5, 6)


def test_greedy_pretrain_layer_two_trains_on_layer_one_codes():
    x, _ = _data()
    # with layer 2 given zero epochs of training its AE still exists: same result as 1 layer
    one, _ = greedy_pretrain([16, 12], x, epochs=2, batch_size=32, seed=3)
    two, hist = greedy_pretrain([16, 12, 8], x, epochs=[2, 1], batch_size=32, seed=3)
    np.testing.assert_array_equal(one[0].weight.data, two[0].weight.data)
    assert len(hist) == 2
    with pytest.raises(ValueError, match="layers"):
        greedy_pretrain([16, 12, 8], x, epochs=[1, 1, 1])


def test_end_to_end_pretrain_returns_the_deep_encoder():
    x, _ = _data()
    encoder, history = end_to_end_pretrain([16, 12, 6], x, epochs=4, batch_size=32, lr=1e-2)
    assert encoder(Tensor(x[:3])).shape == (3, 6)
    assert history["val_reconstruction"][-1] < history["val_reconstruction"][0]


def test_classifier_copies_the_encoder_and_fine_tune_freezes_then_trains_all():
    x, y = _data()
    encoder = random_encoder([16, 12, 8], seed=0)
    model = Classifier(encoder, n_classes=3, rng=0)
    assert model.encoder is not encoder                           # a copy: encoder reusable
    np.testing.assert_array_equal(model.encoder[0].weight.data, encoder[0].weight.data)
    w0 = model.encoder[0].weight.data.copy()
    head0 = model.head.weight.data.copy()
    fine_tune(model, x, y, epochs_last=2, epochs_all=0, batch_size=32, lr=1e-2)
    np.testing.assert_array_equal(model.encoder[0].weight.data, w0)   # step 1: encoder frozen
    assert not np.array_equal(model.head.weight.data, head0)
    assert all(p.requires_grad for p in model.parameters())          # unfrozen afterwards
    hist = fine_tune(model, x, y, epochs_last=0, epochs_all=10, batch_size=32, lr=1e-2)
    assert not np.array_equal(model.encoder[0].weight.data, w0)      # step 2: all trained
    assert set(hist) == {"all"}
    assert error_rate(model, x, y) < 0.1
    assert float(model.loss(Tensor(x), Tensor(y)).item()) == pytest.approx(
        float(losses.cross_entropy(model(Tensor(x)), Tensor(y)).item()))
