"""One loss convention: fit() tells loss_fn(model, batch) from a plain loss(pred, target) by the
function's parameters; the autoencoder family shares one objective loop (the VAE included)."""
import functools

import numpy as np
import pytest

import tinyae
from tinyae import losses, nn, optim
from tinyae.data import DataLoader
from tinyae.models import VAE, Contractive, MLPAutoencoder
from tinyae.train import fit

X = np.random.default_rng(0).random((32, 6)).astype("float32")


def _train(loss_fn, **kwargs):
    tinyae.manual_seed(0)
    model = nn.Sequential(nn.Linear(6, 3), nn.Linear(3, 6))
    history = fit(model, optim.SGD(model.parameters(), lr=0.1), DataLoader(X, batch_size=8), 2,
                  loss_fn=loss_fn, progress=False, verbose=False, **kwargs)
    return history["train_loss"]


def my_mse(pred, target):
    return ((pred - target) ** 2).mean()


@pytest.mark.parametrize("plain", [my_mse, losses.mse, nn.MSELoss(), functools.partial(losses.mse),
                                   lambda output, target: ((output - target) ** 2).mean()],
                         ids=["own-def", "losses.mse", "nn.MSELoss", "partial", "lambda-output"])
def test_a_plain_loss_is_compared_with_the_input(plain):
    reference = _train(lambda model, batch: ((model(batch) - batch) ** 2).mean())
    np.testing.assert_allclose(_train(plain), reference, rtol=1e-6)


@pytest.mark.parametrize("objective", [lambda m, b: ((m(b) - b) ** 2).mean(),
                                       lambda model, x: ((model(x) - x) ** 2).mean()])
def test_the_model_batch_form_is_called_as_it_is(objective):
    assert len(_train(objective)) == 2


def test_a_loss_with_one_argument_shows_both_forms():
    with pytest.raises(TypeError, match=r"takes 1 argument.*loss_fn\(model, batch\).*loss\(pred, target\)"):
        _train(lambda batch: batch.sum())


def test_the_vae_shares_the_family_objective_double_backprop_included():
    x = np.random.default_rng(1).random((5, 6)).astype("float32")
    for model in (VAE([6, 4], 2, regularizers=[Contractive(0.1, method="double_backprop")], rng=0),
                  MLPAutoencoder([6, 3], regularizers=[Contractive(0.1, method="double_backprop")],
                                 rng=0)):
        loss, parts = model.loss(x, return_parts=True)
        loss.backward()
        assert parts["contractive"] > 0
        assert all(p.grad is not None for p in model.parameters() if p.requires_grad)


def test_a_regulariser_with_the_old_attribute_name_still_gets_input_gradients():
    class OldStyle:
        name, needs_input_grad = "old", True

        def __call__(self, model, x_in, h):
            assert x_in.requires_grad
            return h.sum() * 0
    MLPAutoencoder([6, 3], regularizers=[OldStyle()]).loss(X)
