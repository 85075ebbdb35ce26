"""Models refuse hyper-parameters that would make training wrong, and every model is built from
the one generator ``manual_seed`` governs."""
import math

import numpy as np
import pytest

import tinyae
from tinyae import nn
from tinyae.models import (VAE, ConvAutoencoder, LinearAE, MaskedAutoencoder, MLPAutoencoder,
                           UNet, build, MODELS)


@pytest.mark.parametrize("make, says", [
    (lambda: VAE([784, 400], 20, beta=-1.0), "beta .* ≥ 0, got -1.0"),
    (lambda: VAE([784, 400], 20, beta=math.nan), "beta .*got nan"),
    (lambda: VAE([784, 400], 20, likelihood="gaussian", sigma=0), "sigma .* > 0, got 0"),
    (lambda: VAE([784, 400], 20, likelihood="gaussian", sigma=-0.1), "sigma .* > 0"),
    (lambda: VAE([784, 400], 20, sigma=0.1), "bernoulli' likelihood has none"),
    (lambda: UNet(output_activation="sigmoid", loss="bce_with_logits"), "sigmoid twice"),
    (lambda: UNet(out_channels=3, output_activation="sigmoid", loss="cross_entropy"),
     "raw scores"),
    (lambda: UNet(out_channels=1, loss="cross_entropy"), "out_channels ≥ 2"),
    (lambda: UNet(loss="bce"), "output_activation='sigmoid'"),
    (lambda: UNet(in_channels=0), "in_channels must be a positive integer"),
    (lambda: MaskedAutoencoder(28, 4, 16, 1, 2, 16, 1, mask_ratio=0), r"mask_ratio must be in \(0, 1\)"),
    (lambda: MaskedAutoencoder(28, 14, 16, 1, 2, 16, 1, mask_ratio=1e-17), "hides no patch of 4"),
    (lambda: nn.MultiheadAttention(8, 0), "num_heads must be a positive integer, got 0"),
    (lambda: nn.MultiheadAttention(8, -2), "num_heads must be a positive integer, got -2"),
])
def test_a_hyper_parameter_that_makes_training_wrong_is_refused(make, says):
    with pytest.raises(ValueError, match=says):
        make()


def test_the_valid_combinations_still_build():
    UNet(output_activation="sigmoid", loss="bce")
    UNet(out_channels=3, loss="cross_entropy")
    UNet(loss="bce_with_logits")
    VAE([784, 400], 20, likelihood="gaussian", sigma=0.1)
    VAE([784, 400], 20, beta=0.0)


BUILDERS = {
    **{f"zoo-{name}": (lambda name=name: build(name)) for name in MODELS},
    "LinearAE": lambda: LinearAE(20, 3),
    "MLPAutoencoder-dropout": lambda: MLPAutoencoder([20, 8, 3], dropout=0.2),
    "ConvAutoencoder": lambda: ConvAutoencoder(channels=(2, 3), latent=4),
    "VAE-gaussian": lambda: VAE([20, 8], 3, likelihood="gaussian"),
    "UNet": lambda: UNet(channels=(2, 3)),
    "MaskedAutoencoder": lambda: MaskedAutoencoder(28, 7, 8, 1, 2, 8, 1),
    "MultiheadAttention": lambda: nn.MultiheadAttention(8, 2),
}


@pytest.mark.parametrize("name", sorted(BUILDERS))
def test_manual_seed_fixes_every_models_weights_and_noise(name):
    def built():
        tinyae.manual_seed(0)
        model = BUILDERS[name]()
        noise = [getattr(model, attr).integers(2 ** 31) for attr in ("noise_rng", "mask_rng")
                 if hasattr(model, attr)]
        return model.state_dict(), noise
    (a, noise_a), (b, noise_b) = built(), built()
    assert a.keys() == b.keys()
    assert all(np.array_equal(a[k], b[k]) for k in a), f"{name}: weights differ after manual_seed(0)"
    assert noise_a == noise_b, f"{name}: its noise generator is not governed by manual_seed"
    tinyae.manual_seed(1)
    c = BUILDERS[name]().state_dict()
    assert any(not np.array_equal(a[k], c[k]) for k in a), f"{name}: seed 1 gave seed 0's weights"


def test_reparameterize_without_rng_follows_manual_seed():
    mu, logvar = tinyae.zeros(2, 3), tinyae.zeros(2, 3)
    tinyae.manual_seed(3)
    a = tinyae.functional.reparameterize(mu, logvar).data
    tinyae.manual_seed(3)
    np.testing.assert_array_equal(a, tinyae.functional.reparameterize(mu, logvar).data)
