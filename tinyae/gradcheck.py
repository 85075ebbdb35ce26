"""Checking error signals against finite differences, first and second order.

Backprop gives the analytic error signal x̄ = ∂L/∂x. The same number can be estimated with no
calculus at all, by nudging each input element and watching the loss move (central differences):

    x̄ᵢ ≈ (L(x + ε eᵢ) − L(x − ε eᵢ)) / 2ε        (error O(ε²), so ε = 1e-6 in float64)

For an op with a non-scalar output y = f(x) we take L = ⟨ȳ, f(x)⟩ = Σ ȳ ⊙ f(x) for a fixed
random ȳ, which checks the whole vector-Jacobian product x̄ = ȳ ∂f/∂x at once. The check passes
where |analytic − numeric| ≤ atol + rtol·|numeric| for every element. Everything runs in float64:
in float32 the rounding error of the difference quotient would swamp the derivative.

A check never passes what it could not compare: NaN or Inf in the output, in the analytic or in
the numeric error signal is a failure that says where; so is a backward that returns None for an
input needing an error signal, one of the wrong shape, or one of another dtype (the engine's
``strict_signals`` mode, which a training run does not use).

Large inputs (more than ``DIRECTIONAL_SIZE`` elements) are checked along a few random unit
directions v instead of element by element: ⟨x̄, v⟩ ≈ (L(x + εv) − L(x − εv)) / 2ε.

    gradcheck(f, inputs)        first order
    gradgradcheck(f, inputs)    second order (the backward pass itself differentiated)
    check_module(module, x)     every parameter of a layer or model
    check_all_ops()             every registered op: the table of ``tinyae gradcheck``
"""
from collections import namedtuple

import numpy

from . import backend
from . import functional  # noqa: F401  (importing it registers every op)
from .autograd import OPS, SignalError, strict_signals, topological_order
from .gradients import grad
from .gradcheck_report import (_diagnosis, _input_names, _label_name, _name, _report,
                               _ybar_note)
from .tensor import Tensor

DIRECTIONAL_SIZE = 2000  # inputs with more elements are checked along random directions
N_DIRECTIONS = 3


class GradcheckError(AssertionError):
    """Analytic and numeric error signals disagree; the message says where and by how much."""


def gradcheck(fn, inputs, eps=1e-6, atol=1e-8, rtol=1e-6, directional=None, seed=0, names=None):
    """Check the error signals of ``fn(*inputs)`` against central differences; True or raise.

    ``fn`` takes Tensors and returns a Tensor of any shape; ``inputs`` are arrays or Tensors
    (copied to float64 Tensors with requires_grad=True). ``directional=None`` picks element-wise
    checking for small inputs and random directions for large ones; True/False forces one.
    Raises ``GradcheckError`` naming the input (by ``names``, else by fn's parameter names), the
    worst element, both values, and a diagnosis over all elements (how many are wrong, and a
    constant factor, a flipped sign or a transpose where that is what it is)."""
    return _raise_on_failure(_check_function(fn, inputs, eps, atol, rtol, directional, seed,
                                             names), _name(fn))


def gradgradcheck(fn, inputs, eps=1e-6, atol=1e-8, rtol=1e-6, directional=None, seed=0,
                  names=None):
    """Check the second order: gradcheck of x ↦ ⟨grad(⟨ȳ, fn(x)⟩, x, create_graph=True), u⟩
    for fixed random ȳ and u. This differentiates every op's backward formula, which is what
    Hessian-vector products and contractive penalties rely on."""
    return _raise_on_failure(_check_second_order(fn, inputs, eps, atol, rtol, directional, seed,
                                                 names),
                             f"the backward of {_name(fn)} (second order)")


def check_module(module, x, eps=1e-6, atol=1e-8, rtol=1e-6, directional=None, seed=0,
                 check_input=True):
    """Check x̄ and every parameter's error signal W̄ of ``module(x)`` in float64; True or raise.

    The parameters are copied to float64 for the check and put back afterwards. Put layers
    with randomness (dropout) in eval mode first: the check needs a deterministic function."""
    named = list(module.named_parameters())
    saved = [(p, p.data) for _, p in named]
    try:
        for _, p in named:
            p.data = backend.as_array(p.data, dtype="float64").copy()
        x = _float64_tensor(x)
        targets = ([("input x", x)] if check_input else []) + \
                  [(f"parameter {name!r}", p) for name, p in named]
        return _raise_on_failure(_compare(lambda: module(x), targets, eps, atol, rtol,
                                          directional, seed), type(module).__name__)
    finally:
        for p, data in saved:
            p.data = data


# --- the comparison ------------------------------------------------------------------------
_Outcome = namedtuple("_Outcome", "ok max_error message")


def _raise_on_failure(outcome, name=None):
    if not outcome.ok:
        raise GradcheckError(f"{name}: {outcome.message}" if name else outcome.message)
    return True


def _float64_tensor(x):
    data = x.data if isinstance(x, Tensor) else x
    xp = backend.get_array_module(data) if backend.is_array(data) else numpy
    return Tensor(xp.array(data, dtype="float64"), requires_grad=True)  # a copy we may nudge


def _check_function(fn, inputs, eps, atol, rtol, directional, seed, names=None):
    if isinstance(inputs, (Tensor,)) or backend.is_array(inputs):
        inputs = (inputs,)
    if len(inputs) == 0:
        raise TypeError("gradcheck needs at least one input to nudge: gradcheck(fn, [x, w])")
    xs = [_float64_tensor(x) for x in inputs]
    names = _input_names(fn, len(xs)) if names is None else list(names)
    if len(names) != len(xs):
        raise ValueError(f"gradcheck: {len(names)} names for {len(xs)} inputs")
    targets = [(f"input {i} ({name + ', ' if name else ''}shape {x.shape})", x)
               for i, (name, x) in enumerate(zip(names, xs))]
    return _compare(lambda: fn(*xs), targets, eps, atol, rtol, directional, seed)


def _check_second_order(fn, inputs, eps, atol, rtol, directional, seed, names=None):
    n = 1 if isinstance(inputs, Tensor) or backend.is_array(inputs) else len(inputs)
    names = _input_names(fn, n) if names is None else names
    return _check_function(_gradient_of(fn, seed), inputs, eps, atol, rtol, directional, seed + 1,
                           names)


def _gradient_of(fn, seed):
    """The scalar function x ↦ Σₖ ⟨x̄ₖ, uₖ⟩ with x̄ = grad(⟨ȳ, fn(x)⟩, x), built differentiably."""
    state = {}

    def first_derivative(*xs):
        y = fn(*xs)
        if "ybar" not in state:  # the same ȳ and u for every evaluation
            rng = numpy.random.default_rng(seed)
            state["ybar"] = _random_like(rng, y)
            state["u"] = [_random_like(rng, x) for x in xs]
        xbars = grad((y * state["ybar"]).sum(), list(xs), create_graph=True, allow_unused=True)
        return sum((xbar * u).sum() for xbar, u in zip(xbars, state["u"]))
    return first_derivative


def _random_like(rng, t):
    xp = backend.get_array_module(t.data)
    return xp.asarray(rng.standard_normal(t.shape), dtype=t.dtype)


def _compare(evaluate, targets, eps, atol, rtol, directional, seed):
    """``_compare_values`` with the backward under ``strict_signals()``; a backward breaking
    the rules of an error signal is a failed check whose message says which rule."""
    try:
        with strict_signals():
            return _compare_values(evaluate, targets, eps, atol, rtol, directional, seed)
    except SignalError as err:
        return _Outcome(False, float("inf"), f"gradcheck: {err}")


def _not_finite(label, side, values, hint):
    k = numpy.unravel_index(int(numpy.argmax(~numpy.isfinite(values))), values.shape)
    where = f" at element {tuple(int(i) for i in k)}" if values.ndim else ""
    return _Outcome(False, float("inf"), f"gradcheck failed for {label}: the {side} is "
                    f"{float(values[k])}{where}; {hint}")


def _compare_values(evaluate, targets, eps, atol, rtol, directional, seed):
    """Compare analytic and numeric error signals of ⟨ȳ, evaluate()⟩ for each (label, tensor).

    ``evaluate()`` reads the tensors' current data, so the numeric side nudges ``tensor.data``
    in place (on our own float64 copies) and puts it back."""
    y = evaluate()
    if not isinstance(y, Tensor):
        raise TypeError(f"gradcheck: the function must return a Tensor, got {type(y).__name__}")
    yours = sorted({type(op).__name__ for op in topological_order([y])
                    if not type(op).__module__.startswith("tinyae.")})
    if y.dtype != numpy.float64:
        return _Outcome(False, float("inf"), f"gradcheck: the function returned {y.dtype} for "
                        "float64 inputs; finite differences need float64 end to end (does an "
                        "op in it cast down?)")
    if not bool(backend.get_array_module(y.data).isfinite(y.data).all()):
        return _not_finite("the output", "output", backend.to_numpy(y.data),
                           "the function is not finite at these inputs, so there is no "
                           "gradient to check here: choose inputs where it is finite")
    # A scalar output is checked as it is (ȳ = 1), so the numbers in a report are the student's
    # own ∂y/∂x; a tensor output through a random ȳ, which checks all of ȳ ∂y/∂x at once.
    scalar = y.size == 1
    xp = backend.get_array_module(y.data)
    ybar = (xp.ones(y.shape, dtype=y.dtype) if scalar
            else _random_like(numpy.random.default_rng(seed), y))
    tensors = [t for _, t in targets]
    xbars = grad(y, tensors, grad_outputs=Tensor(ybar, copy=False), retain_graph=False,
                 allow_unused=True)  # an input fn ignores has x̄ = 0, which the check confirms
    ybar = backend.to_numpy(ybar)

    def difference(nudge, undo):
        """(⟨ȳ, y₊⟩ − ⟨ȳ, y₋⟩)/2ε, with y₊ − y₋ taken before summing (less cancellation), and
        the rounding noise of that quotient, ε_mach Σ|ȳ|(|y₊| + |y₋|) / 2ε."""
        # Copies: the output may be a view of x (reshape, transpose), which the next nudge moves.
        nudge(+eps)
        plus = numpy.array(backend.to_numpy(evaluate().data))
        nudge(-eps)
        minus = numpy.array(backend.to_numpy(evaluate().data))
        undo()
        numeric = float((ybar * (plus - minus)).sum()) / (2 * eps)
        noise = _EPS64 * float((numpy.abs(ybar) * (numpy.abs(plus) + numpy.abs(minus))).sum())
        return numeric, noise / (2 * eps)

    rng = numpy.random.default_rng(seed + 1)
    worst = 0.0
    for (label, x), xbar in zip(targets, xbars):
        if xbar.shape != x.shape:
            return _Outcome(False, float("inf"), f"gradcheck: the error signal of {label} has "
                            f"shape {xbar.shape}, but the input has shape {x.shape}")
        analytic = backend.to_numpy(xbar.data).astype("float64")
        use_directions = directional if directional is not None else x.size > DIRECTIONAL_SIZE
        if not numpy.isfinite(analytic).all():
            return _not_finite(label, "analytic error signal (your backward)", analytic,
                               "a backward must give finite error signals where the function "
                               "is finite")
        if use_directions:
            analytic, numeric, noise = _directional(difference, x, analytic, rng)
        else:
            numeric, noise = _elementwise(difference, x)
        if not numpy.isfinite(numeric).all():
            return _not_finite(label, "numeric error signal (finite differences)", numeric,
                               f"the function is not finite within ε = {eps:g} of these inputs "
                               "(or overflows there): choose inputs away from its singularities")
        error = numpy.abs(analytic - numeric)
        worst = max(worst, float(error.max(initial=0.0)))
        allowed = atol + rtol * numpy.abs(numeric) + noise
        if error.size and (error - allowed).max() > 0:
            k = numpy.unravel_index(int((error - allowed).argmax()), error.shape)
            return _Outcome(False, worst, _report(label, use_directions, k, analytic[k],
                                                  numeric[k], allowed[k])
                            + _diagnosis(analytic, numeric, error > allowed, use_directions)
                            + _ybar_note(scalar, ybar, y.shape, k, use_directions,
                                         _label_name(label),
                                         _moves_only_its_own_output(evaluate, x, k, y.shape))
                            + (f" Your Function(s) in this computation: {', '.join(yours)}."
                               if yours else ""))
    return _Outcome(True, worst, "")


_EPS64 = float(numpy.finfo(numpy.float64).eps)


def _moves_only_its_own_output(evaluate, x, index, y_shape):
    """Whether nudging x[index] moves y[index] alone (an element-wise function there): only then
    does one element of ȳ multiply this element, and the report may say which."""
    if tuple(y_shape) != tuple(x.shape):
        return False
    flat, i = x.data.reshape(-1), int(numpy.ravel_multi_index(index, x.shape))
    original = flat[i].item()
    before = numpy.array(backend.to_numpy(evaluate().data))
    flat[i] = original + 1e-3
    after = numpy.array(backend.to_numpy(evaluate().data))
    flat[i] = original
    moved = after != before
    moved.reshape(-1)[i] = False
    return not moved.any()


def _elementwise(difference, x):
    """x̄ᵢ ≈ (L(x + ε eᵢ) − L(x − ε eᵢ)) / 2ε for every element i."""
    flat = x.data.reshape(-1)  # a view: nudging it nudges x
    numeric, noise = numpy.zeros(x.size), numpy.zeros(x.size)
    for i in range(x.size):
        original = flat[i].item()

        def nudge(step):
            flat[i] = original + step

        def undo():
            flat[i] = original
        numeric[i], noise[i] = difference(nudge, undo)
    return numeric.reshape(x.shape), noise.reshape(x.shape)


def _directional(difference, x, analytic, rng):
    """⟨x̄, v⟩ against (L(x + εv) − L(x − εv)) / 2ε for a few random unit directions v."""
    xp = backend.get_array_module(x.data)
    original = x.data.copy()
    projected, numeric, noise = (numpy.zeros(N_DIRECTIONS) for _ in range(3))
    for k in range(N_DIRECTIONS):
        v = rng.standard_normal(x.shape)
        v /= numpy.linalg.norm(v)
        v_x = xp.asarray(v)

        def nudge(step):
            x.data[...] = original + step * v_x

        def undo():
            x.data[...] = original
        numeric[k], noise[k] = difference(nudge, undo)
        projected[k] = float((analytic * v).sum())
    return projected, numeric, noise


# --- every registered op --------------------------------------------------------------------
OpCheck = namedtuple("OpCheck", "op first_order second_order max_error message")
OpCheck.__doc__ = ("One row of the op table: op name, first-order ok, second-order ok (None if "
                   "not run), max |analytic − numeric| over both, and the failure message.")


def load_all_ops():
    """Every registered op, name → Function class (tinyae.functional imports all op modules)."""
    return OPS


def check_op(name, shape=(3, 4), seed=0, second_order=True, **tolerances):
    """Gradcheck one registered op on its sample inputs of the given shape; an ``OpCheck`` row."""
    op = load_all_ops()[name]
    messages, worst, results = [], 0.0, []
    try:
        inputs, params = op.sample(numpy.random.default_rng(seed), tuple(shape))
    except Exception as err:  # noqa: BLE001  (a broken sample is a result, not a crash)
        return OpCheck(name, False, False if second_order else None, float("nan"),
                       f"sample{tuple(shape)} failed: {type(err).__name__}: {err}")

    def fn(*xs):
        return op.apply(*xs, **params)
    checks = [("first order", _check_function)]
    if second_order:
        checks.append(("second order", _check_second_order))
    for order, check in checks:
        try:
            outcome = check(fn, inputs, tolerances.get("eps", 1e-6), tolerances.get("atol", 1e-8),
                            tolerances.get("rtol", 1e-6), None, seed)
        except Exception as err:  # noqa: BLE001
            outcome = _Outcome(False, float("nan"), f"{type(err).__name__}: {err}")
        results.append(outcome.ok)
        if not numpy.isnan(outcome.max_error):
            worst = max(worst, outcome.max_error)
        if not outcome.ok:
            messages.append(f"{order}: {outcome.message}")
    return OpCheck(name, results[0], results[1] if second_order else None, worst,
                   "; ".join(messages))


def check_all_ops(rng_seed=0, second_order=True, shape=(3, 4)):
    """Gradcheck every registered op (first and second order) on its sample; a list of rows."""
    return [check_op(name, shape, rng_seed, second_order) for name in sorted(load_all_ops())]


def format_op_table(rows):
    """The rows of ``check_all_ops`` as a text table (what ``tinyae gradcheck`` prints)."""
    def mark(ok):
        return "-" if ok is None else ("ok" if ok else "FAIL")
    width = max([len("op")] + [len(r.op) for r in rows])
    lines = [f"{'op':<{width}}  1st    2nd    max |analytic - numeric|"]
    lines.append("-" * len(lines[0]))
    for r in rows:
        lines.append(f"{r.op:<{width}}  {mark(r.first_order):<5}  {mark(r.second_order):<5}  "
                     f"{r.max_error:.2e}")
    failed = [r for r in rows if r.first_order is False or r.second_order is False]
    lines.append(f"{len(rows) - len(failed)} of {len(rows)} ops pass")
    lines += [f"  {r.op}: {r.message}" for r in failed]
    return "\n".join(lines)
