"""Run one registered op on NumPy and on a device module (CuPy, or the strict stand-in) and
compare: forward, backward, and the backward of the backward (second order).

As Chainer's function tests are injected with backends: the op's own sample inputs are drawn
on the host in float64, moved to the device, and every result must match NumPy's to float
tolerance. ``benchmarks/gpu_check.py`` runs this with CuPy; tests/test_backends.py with
tinyae.testing.strict."""
import numpy

from .. import backend
from ..autograd import OPS
from ..gradients import grad
from ..tensor import Tensor


def _run(op, inputs, params, device):
    """Forward y, first-order x̄ for a fixed ȳ, second-order ∂(Σ x̄·v)/∂x: host arrays (None
    where an input gets no error signal)."""
    move = (lambda a: backend.to_device(a, device)) if device != "cpu" else (lambda a: a)
    params = {k: move(v) if isinstance(v, numpy.ndarray) else v for k, v in params.items()}
    xs = [Tensor(move(numpy.asarray(x)), requires_grad=numpy.asarray(x).dtype.kind == "f")
          for x in inputs]
    y = op.apply(*xs, **params)
    rng = numpy.random.default_rng(1)
    ybar = Tensor(move(rng.standard_normal(y.shape).astype(y.dtype)))
    wrt = [x for x in xs if x.requires_grad]
    first = grad(y, wrt, grad_outputs=ybar, create_graph=True, allow_unused=True)
    vs = [Tensor(move(rng.standard_normal(x.shape).astype(x.dtype))) for x in wrt]
    terms = [(g * v).sum() for g, v in zip(first, vs) if g is not None and g.requires_grad]
    second = [None] * len(wrt)
    if terms:
        total = terms[0]
        for t in terms[1:]:
            total = total + t
        second = grad(total, wrt, allow_unused=True)
    host = lambda t: None if t is None else backend.to_numpy(t.data)  # noqa: E731
    return host(y), [host(g) for g in first], [host(g) for g in second]


def compare_op(name, device="gpu", shape=(3, 4), seed=0, rtol=1e-9, atol=1e-12):
    """Run op ``name`` on NumPy and on ``device``; return a list of mismatch messages (empty:
    forward, backward and second-order backward all match)."""
    op = OPS[name]
    inputs, params = op.sample(numpy.random.default_rng(seed), tuple(shape))
    default, backend._backend_name = backend._backend_name, "numpy"   # the reference: all NumPy
    try:
        ref = _run(op, inputs, params, "cpu")
    finally:
        backend._backend_name = default
    got = _run(op, inputs, params, device)
    problems = []
    for label, a, b in [("forward", [ref[0]], [got[0]]), ("backward", ref[1], got[1]),
                        ("second order", ref[2], got[2])]:
        for i, (r, g) in enumerate(zip(a, b)):
            if (r is None) != (g is None):
                problems.append(f"{name} {label} input {i}: NumPy gives {r is not None}, "
                                f"the device {g is not None}")
            elif r is not None and (r.shape != g.shape or r.dtype != g.dtype
                                    or not numpy.allclose(r, g, rtol=rtol, atol=atol)):
                err = numpy.abs(r - g).max() if r.shape == g.shape else "shape"
                problems.append(f"{name} {label} input {i}: {r.dtype}{r.shape} vs "
                                f"{g.dtype}{g.shape}, max |difference| {err}")
    return problems
