"""The shared argument checks: one message per mistake, wherever it is made."""
import numpy as np
import pytest

from tinyae import nn, optim
from tinyae.arguments import as_generator, pair, positive_int
from tinyae.data import DataLoader


def test_positive_int():
    assert positive_int(3, "epochs") == 3
    assert positive_int(np.int64(2), "epochs") == 2 and type(positive_int(np.int64(2), "e")) is int
    for bad in (0, -1, 1.0, True, "3", None):
        with pytest.raises(ValueError, match="epochs must be a positive integer"):
            positive_int(bad, "epochs")
    with pytest.raises(ValueError, match="Linear: in_features must be a positive integer"):
        positive_int(0, "in_features", "Linear")


def test_pair():
    assert pair(3, "kernel_size", "conv2d", 1) == (3, 3)
    assert pair((3, 5), "kernel_size", "conv2d", 1) == (3, 5)
    assert pair([np.int64(0), 1], "padding", "conv2d") == (0, 1)
    for bad in (0, (1, 0), (1, 2, 3), 1.5, "ab", True):
        with pytest.raises(ValueError, match=r"conv2d: stride must be an int ≥ 1 or a pair"):
            pair(bad, "stride", "conv2d", 1)


def test_as_generator():
    g = np.random.default_rng(0)
    assert as_generator(g) is g
    assert as_generator(5).random() == np.random.default_rng(5).random()
    assert isinstance(as_generator(None), np.random.Generator)
    with pytest.raises(TypeError, match="rng must be"):
        as_generator(1.5)


def test_the_same_message_everywhere():
    """Layers, schedules and loaders all report a bad count the same way."""
    with pytest.raises(ValueError, match="Linear: out_features must be a positive integer"):
        nn.Linear(3, 0)
    with pytest.raises(ValueError, match="Conv2d: in_channels must be a positive integer"):
        nn.Conv2d(0, 1, 3)
    with pytest.raises(ValueError, match="Conv2d: kernel_size must be an int ≥ 1"):
        nn.Conv2d(1, 1, 0)
    opt = optim.SGD(nn.Linear(2, 2).parameters(), lr=0.1)
    with pytest.raises(ValueError, match="step_size must be a positive integer"):
        optim.StepLR(opt, step_size=0)
    with pytest.raises(ValueError, match="batch_size must be a positive integer"):
        DataLoader(np.zeros((4, 2)), batch_size=0)


# --- one axis normaliser for every op that takes an axis ----------------------------------------
def test_an_axis_out_of_range_is_an_error_not_a_wrap_around():
    import tinyae
    x = tinyae.zeros(2, 3)
    for call, says in [(lambda: x.transpose(0, 5), "transpose: dim 5"),
                       (lambda: x.transpose(-3, 0), "transpose: dim -3"),
                       (lambda: x.unsqueeze(5), r"unsqueeze: dim 5 .*expected -3 to 2"),
                       (lambda: x.unsqueeze(-4), "unsqueeze: dim -4"),
                       (lambda: x.squeeze(2), "squeeze: dim 2"),
                       (lambda: x.flatten(3), "flatten: dim 3")]:
        with pytest.raises(IndexError, match=says):
            call()
    assert x.transpose(-1, 0).shape == (3, 2)
    assert x.unsqueeze(2).shape == x.unsqueeze(-1).shape == (2, 3, 1)
    assert x.unsqueeze(-3).shape == (1, 2, 3)
    assert tinyae.zeros(2, 1).squeeze(-1).shape == (2,)
    with pytest.raises(TypeError, match="must be an int"):
        x.unsqueeze(1.0)
