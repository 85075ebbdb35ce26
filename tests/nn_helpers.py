"""What the tests of tinyae.nn share: a random tensor and a small two-layer Module."""
import numpy as np

import tinyae.nn as nn
from tinyae.tensor import Tensor


def rand(*shape, seed=0, dtype="float32"):
    return Tensor(np.random.default_rng(seed).standard_normal(shape).astype(dtype))


class TwoLayer(nn.Module):
    def __init__(self):
        super().__init__()
        self.encoder = nn.Linear(6, 3, rng=0)
        self.act = nn.Sigmoid()
        self.decoder = nn.Linear(3, 6, rng=1)
        self.scale = 2.0  # a plain attribute: not a parameter

    def forward(self, x):
        return self.decoder(self.act(self.encoder(x))) * self.scale
