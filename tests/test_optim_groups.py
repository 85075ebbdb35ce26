"""Param groups go through the same checks as the constructor (one validation path)."""
import math

import numpy as np
import pytest

import tinyae
from tinyae import optim


def _w():
    return tinyae.tensor(np.ones(3), requires_grad=True)


@pytest.mark.parametrize("cls, group, says", [
    (optim.SGD, {"momentum": -5}, "param group 0.*momentum=-5"),
    (optim.SGD, {"momentum": math.nan}, "momentum=nan"),
    (optim.SGD, {"weight_decay": -1}, "weight_decay=-1"),
    (optim.SGD, {"nesterov": True}, "nesterov=True needs momentum > 0"),
    (optim.Adam, {"betas": (1.5, 0.999)}, r"betas\[0\]=1.5"),
    (optim.Adam, {"eps": -1}, "eps=-1"),
    (optim.AdamW, {"weight_decay": -1}, "weight_decay=-1"),
    (optim.RMSprop, {"alpha": 2}, "alpha=2"),
    (optim.Adagrad, {"lr": -0.1}, "lr=-0.1"),
])
def test_a_group_option_out_of_range_is_refused(cls, group, says):
    with pytest.raises(ValueError, match=says):
        cls([{"params": [_w()], **group}], lr=0.1)


def test_the_constructor_says_the_same_without_naming_a_group():
    with pytest.raises(ValueError, match=r"^SGD: invalid momentum=-1"):
        optim.SGD([_w()], lr=0.1, momentum=-1)


def test_an_unknown_group_key_is_refused_with_the_options_listed():
    with pytest.raises(ValueError, match="unknown option.*'learning_rate'.*lr, momentum"):
        optim.SGD([{"params": [_w()], "learning_rate": 1.0}], lr=0.1)


def test_a_parameter_in_two_groups_is_refused():
    w = _w()
    with pytest.raises(ValueError, match="already in another group.*twice per step"):
        optim.SGD([{"params": [w]}, {"params": [w]}], lr=0.1)
    opt = optim.Adam([w])
    with pytest.raises(ValueError, match="already in another group"):
        opt.add_param_group({"params": [w], "lr": 1e-4})
    assert len(opt.param_groups) == 1 and len(opt.params) == 1


def test_add_param_group_checks_its_options():
    opt = optim.SGD([_w()], lr=0.1)
    with pytest.raises(ValueError, match="param group 1.*dampening"):
        opt.add_param_group({"params": [_w()], "dampening": 3})
    with pytest.raises(TypeError, match="'params' key"):
        opt.add_param_group([_w()])


def test_valid_groups_still_work_and_learn_at_their_own_rate():
    a, b = _w(), _w()
    opt = optim.SGD([{"params": [a]}, {"params": [b], "lr": 0.5, "momentum": 0.9}], lr=0.1)
    for p in (a, b):
        p.grad = tinyae.tensor(np.ones(3))
    opt.step()
    np.testing.assert_allclose(a.data, 0.9)
    np.testing.assert_allclose(b.data, 0.5)
    assert opt.param_groups[1]["momentum"] == 0.9 and opt.param_groups[0]["momentum"] == 0
