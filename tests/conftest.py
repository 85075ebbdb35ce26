"""Shared test setup: the `gpu` marker (skipped cleanly without CuPy and a GPU) and an `rng`."""
import numpy as np
import pytest

from tinyae import backend


def pytest_configure(config):
    config.addinivalue_line("markers", "gpu: needs CuPy and a CUDA GPU (skipped cleanly otherwise)")


def pytest_collection_modifyitems(config, items):
    gpu_items = [item for item in items if "gpu" in item.keywords]
    if gpu_items and not backend.cupy_available():  # only try CuPy when a gpu test is collected
        skip = pytest.mark.skip(reason="needs CuPy and a CUDA GPU (pip install tinyae[gpu])")
        for item in gpu_items:
            item.add_marker(skip)


@pytest.fixture
def rng():
    """A NumPy random generator with a fixed seed, fresh for every test."""
    return np.random.default_rng(0)
