"""Autoencoders, one file per family. The reconstructing ones (LinearAE, MLPAutoencoder,
ConvAutoencoder, VAE) share ``Autoencoder``'s encode/decode and its one objective loop
(``loss`` = data terms + regularisers); MaskedAutoencoder (a loss on hidden patches) and UNet
(an image-to-image network with a loss of its own) are Modules with a ``loss`` of their own,
which is all ``train.fit`` needs."""
from .base import Autoencoder  # noqa: F401
from .linear import LinearAE, PCA, leading_directions, pca, principal_angles  # noqa: F401
from .mlp import MLPAutoencoder  # noqa: F401
from .conv import ConvAutoencoder  # noqa: F401
from .masked import MAEClassifier, MaskedAutoencoder  # noqa: F401
from .unet import UNet  # noqa: F401
from .vae import VAE  # noqa: F401
from .regularizers import (L1Sparsity, KLSparsity, Contractive, jacobian_norm_sq,  # noqa: F401
                           sigmoid_jacobian)
from ..data.corruptions import MaskingNoise, GaussianNoise, SaltAndPepper  # noqa: F401
from .pretraining import (greedy_pretrain, end_to_end_pretrain, random_encoder,  # noqa: F401
                      shallow_autoencoder, Classifier, fine_tune, error_rate, encode_all,
                      linear_probe)
from .zoo import MODELS, build  # noqa: F401
