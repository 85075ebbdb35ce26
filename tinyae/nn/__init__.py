"""Layers and models on top of the engine (``import tinyae.nn as nn``)::

    model = nn.Sequential(nn.Linear(784, 32, rng=0), nn.ReLU(),
                          nn.Linear(32, 784, rng=1), nn.Sigmoid())

``Module`` and ``Parameter`` are in module.py, dense layers in layers.py, activations in
activation.py, LayerNorm/BatchNorm in norm.py, image layers in conv.py, attention and
transformer blocks in transformer.py, initialisers in init.py, loss modules (MSELoss, BCELoss,
…) in loss.py; ``tinyae.nn.functional`` is PyTorch's ``F``.
"""
from .module import Parameter, Module, ModuleList, Sequential
from .layers import Identity, Linear, TiedLinear, Embedding, Dropout, Flatten, Unflatten
from .activation import ReLU, LeakyReLU, ELU, Sigmoid, Tanh, Softplus, GELU
from .norm import LayerNorm, BatchNorm1d, BatchNorm2d
from .conv import Conv2d, ConvTranspose2d, MaxPool2d, AvgPool2d, Upsample
from .transformer import (MultiheadAttention, TransformerBlock, scaled_dot_product_attention,
                          sincos_pos_embed_2d, patchify, unpatchify, random_masking)
from .loss import MSELoss, BCELoss, BCEWithLogitsLoss, CrossEntropyLoss
from . import init, functional, utils

__all__ = ["Parameter", "Module", "ModuleList", "Sequential",
           "Identity", "Linear", "TiedLinear", "Embedding", "Dropout", "Flatten", "Unflatten",
           "ReLU", "LeakyReLU", "ELU", "Sigmoid", "Tanh", "Softplus", "GELU",
           "LayerNorm", "BatchNorm1d", "BatchNorm2d",
           "Conv2d", "ConvTranspose2d", "MaxPool2d", "AvgPool2d", "Upsample",
           "MultiheadAttention", "TransformerBlock", "scaled_dot_product_attention",
           "sincos_pos_embed_2d", "patchify", "unpatchify", "random_masking",
           "MSELoss", "BCELoss", "BCEWithLogitsLoss", "CrossEntropyLoss", "init", "functional",
           "utils"]
