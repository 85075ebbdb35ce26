"""Autoencoders, one file per family, all sharing ``Autoencoder``'s encode/decode/loss."""
from .base import Autoencoder  # noqa: F401
from .linear import LinearAE, PCA, pca, principal_angles  # noqa: F401
from .mlp import MLPAutoencoder  # noqa: F401
from .conv import ConvAutoencoder  # noqa: F401
from .masked import MaskedAutoencoder  # noqa: F401
from .unet import UNet  # noqa: F401
from .vae import VAE  # noqa: F401
from .regularizers import L1Sparsity, KLSparsity, Contractive, jacobian_norm_sq  # noqa: F401
from ..data.corruptions import MaskingNoise, GaussianNoise, SaltAndPepper  # noqa: F401
from .stacked import (greedy_pretrain, end_to_end_pretrain, random_encoder,  # noqa: F401
                      shallow_autoencoder, Classifier, fine_tune, error_rate, encode_all,
                      linear_probe)
from .zoo import MODELS, build  # noqa: F401
