"""Renamed: the pretraining recipes are in ``tinyae.models.pretraining`` (this name stays for
old imports)."""
import warnings

from .pretraining import *  # noqa: F401,F403

warnings.warn("tinyae.models.stacked is now tinyae.models.pretraining", DeprecationWarning,
              stacklevel=2)
