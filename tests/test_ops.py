"""The op registry sweep: every registered op is gradchecked, first and second order, in float64,
on shapes and seeds drawn by hypothesis; every Function subclass must be registered; float32 in
gives float32 out (forward and backward)."""
import importlib
import itertools
import pkgutil

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

import tinyae
import tinyae.functional
from tinyae.autograd import OPS, Function
from tinyae.gradcheck import gradcheck, gradgradcheck, load_all_ops

load_all_ops()  # conv, pool, random, … register their ops when they exist
OP_NAMES = sorted(OPS)

shapes = st.lists(st.integers(1, 4), min_size=1, max_size=3).map(tuple)
seeds = st.integers(0, 2**31 - 1)
# derandomize: the same examples on every run, so a red sweep is reproducible, never flaky
# (test_samples_fit_every_shape covers the shape grid exhaustively, forward only).
sweep = settings(max_examples=6, deadline=None, derandomize=True,
                 suppress_health_check=[HealthCheck.too_slow])
ALL_SHAPES = [s for n in (1, 2, 3) for s in itertools.product(range(1, 5), repeat=n)]


def _sampled(name, shape, seed):
    op = OPS[name]
    inputs, params = op.sample(np.random.default_rng(seed), shape)
    return inputs, (lambda *xs: op.apply(*xs, **params))


@pytest.mark.parametrize("name", OP_NAMES)
@sweep
@given(shape=shapes, seed=seeds)
def test_first_order(name, shape, seed):
    inputs, fn = _sampled(name, shape, seed)
    assert all(np.asarray(x).dtype == np.float64 for x in inputs), \
        f"{name}.sample must return float64 arrays"
    assert gradcheck(fn, inputs, seed=seed % 1000)


@pytest.mark.parametrize("name", OP_NAMES)
@sweep
@given(shape=shapes, seed=seeds)
def test_second_order(name, shape, seed):
    inputs, fn = _sampled(name, shape, seed)
    assert gradgradcheck(fn, inputs, seed=seed % 1000)


@pytest.mark.parametrize("name", OP_NAMES)
@pytest.mark.parametrize("seed", [0, 1])
def test_float32_stays_float32(name, seed):
    inputs, params = OPS[name].sample(np.random.default_rng(seed), (3, 4))
    if "dtype" in params:
        pytest.skip(f"{name} is told which dtype to produce")
    fn = _sampled(name, (3, 4), seed)[1]
    xs = [tinyae.Tensor(np.asarray(x, dtype=np.float32), requires_grad=True) for x in inputs]
    y = fn(*xs)
    assert y.dtype == np.float32, f"{name}: float32 inputs gave a {y.dtype} output"
    y.backward(np.ones(y.shape, dtype=np.float32))
    for i, x in enumerate(xs):
        if x.grad is not None:
            assert x.grad.dtype == np.float32, f"{name}: input {i} got a {x.grad.dtype} error signal"


@pytest.mark.parametrize("name", OP_NAMES)
def test_samples_fit_every_shape(name):
    """Every shape of 1–3 axes of sizes 1–4 gives a valid call (a cheap forward-only sweep)."""
    for shape in ALL_SHAPES:
        for seed in range(3):
            try:
                inputs, fn = _sampled(name, shape, seed)
                fn(*inputs)
            except Exception as err:
                raise AssertionError(f"{name}: sample(default_rng({seed}), {shape}) does not give a "
                                     f"valid call: {type(err).__name__}: {err}") from err


def _import_everything():
    """Import the packages that may define ops, so that every Function subclass is seen."""
    for pkg_name in ("tinyae.functional", "tinyae.nn", "tinyae.losses", "tinyae.models"):
        pkg = importlib.import_module(pkg_name)
        for info in pkgutil.iter_modules(getattr(pkg, "__path__", [])):
            importlib.import_module(f"{pkg_name}.{info.name}")


def _all_subclasses(cls):
    found, stack = [], list(cls.__subclasses__())
    while stack:
        sub = stack.pop()
        found.append(sub)
        stack.extend(sub.__subclasses__())
    return found


def test_every_op_is_registered():
    _import_everything()
    ops = [c for c in _all_subclasses(Function)
           if c.__module__.startswith("tinyae.") and not c.__name__.startswith("_")]
    missing = sorted(f"{c.__module__}.{c.__name__}" for c in ops if OPS.get(c.__name__) is not c)
    assert not missing, ("these Function subclasses are not registered (decorate them with "
                         f"@register(sample), or rename a helper base to start with '_'): {missing}")


def test_importing_tinyae_imports_every_op_module():
    """The sweep covers the ops of every module that ``import tinyae.functional`` imports, so a
    new op module must be imported there (tinyae/functional/__init__.py)."""
    import subprocess
    import sys
    modules = {info.name for info in pkgutil.iter_modules(tinyae.functional.__path__)}
    code = "import sys, tinyae; print(' '.join(m for m in sys.modules if m.startswith('tinyae.functional.')))"
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True).stdout.split()
    missing = sorted(m for m in modules if f"tinyae.functional.{m}" not in loaded)
    assert not missing, f"add these to tinyae/functional/__init__.py: {missing}"


def test_registry_is_not_empty():
    for name in ("Add", "Mul", "MatMul", "Sum", "Exp", "Sigmoid"):
        assert name in OPS, f"{name} is not registered"
