"""Data for tinyae: MNIST-style IDX files, the embedded MNIST subset, synthetic sets,
a mini-batch DataLoader and input corruptions for denoising autoencoders.

    from tinyae.data import load_mnist, DataLoader, masking_noise
    x, y = load_mnist("train", fallback="embedded")    # (N, 784) float32 in [0, 1]
"""
from tinyae.data.corruptions import (GaussianNoise, MaskingNoise, SaltAndPepper, gaussian_noise,
                                    masking_noise, occlude, occlusion_mask, patch_occlusion,
                                    salt_and_pepper)
from tinyae.data.idx import read_idx, write_idx
from tinyae.data.loader import DataLoader, Dataset, TensorDataset
from tinyae.data.mnist import (cache_dir, load_embedded_mnist, load_fashion_mnist, load_mnist,
                               mnist_source)
from tinyae.data.synthetic import (SHAPE_CLASSES, curved_surface, noisy_curve, one_hot_patterns,
                                   plane_in_4d, shapes_scenes, swiss_roll)

__all__ = [
    "read_idx", "write_idx",
    "load_mnist", "load_fashion_mnist", "load_embedded_mnist", "mnist_source", "cache_dir",
    "one_hot_patterns", "plane_in_4d", "swiss_roll", "curved_surface", "noisy_curve",
    "shapes_scenes", "SHAPE_CLASSES",
    "DataLoader", "Dataset", "TensorDataset",
    "masking_noise", "gaussian_noise", "salt_and_pepper", "patch_occlusion", "occlude",
    "occlusion_mask",
    "MaskingNoise", "GaussianNoise", "SaltAndPepper",
]
