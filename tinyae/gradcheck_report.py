"""What gradcheck says when a check fails: whose Function, which input by name, both numbers,
what the wrong elements have in common, and which ȳ they were multiplied by. The checking
itself is gradcheck.py."""
import inspect

import numpy


def _name(fn):
    """What a student calls the checked function: the Function class of ``MyOp.apply``, else
    the function's own name."""
    owner = getattr(fn, "__self__", None)
    if isinstance(owner, type):
        return owner.__name__
    name = getattr(fn, "__name__", type(fn).__name__)
    return "your function" if name == "<lambda>" else name


def _input_names(fn, count):
    """What the student called the inputs: the parameters of a Function's forward (after self)
    or of a plain function, when there is one per input; else no names."""
    owner = getattr(fn, "__self__", None)
    target = owner.forward if isinstance(owner, type) else fn
    try:
        parameters = list(inspect.signature(target).parameters.values())
    except (TypeError, ValueError):
        return [""] * count
    positional = [p.name for p in parameters if p.kind in (p.POSITIONAL_ONLY,
                                                           p.POSITIONAL_OR_KEYWORD)]
    if positional[:1] in (["self"], ["ctx"]):
        positional = positional[1:]
    return positional if len(positional) == count else [""] * count


def _diagnosis(analytic, numeric, wrong, directional):
    """What the wrong elements have in common, in words: how many, and a constant factor, a
    flipped sign or a transpose where the numbers say so (else how much the ratio varies)."""
    if directional:
        return ""
    count = f". {int(wrong.sum())} of {wrong.size} elements are wrong"
    if analytic.ndim == 2 and analytic.shape[0] == analytic.shape[1] > 1 and \
            numpy.allclose(analytic.T, numeric, rtol=1e-5, atol=1e-8):
        return count + ": your error signal is the right one transposed"
    usable = wrong & (numpy.abs(numeric) > 1e-8)
    if not usable.any():
        return count
    ratios = analytic[usable] / numeric[usable]
    low, high = float(ratios.min()), float(ratios.max())
    if ratios.size == 1:
        return count + f": analytic / numeric = {low:.6g} (a factor too many or missing?)"
    if high - low <= 1e-5 * max(abs(low), abs(high)):
        if abs(low + 1) < 1e-5:
            return count + ": each is the right value with its sign flipped"
        return (count + f": each is {low:.6g} × the right value (analytic / numeric), a constant "
                "factor too many or missing" + _counted_factor(low, analytic.shape))
    zeros = int((usable & (analytic == 0)).sum())
    if zeros:  # nothing at all reaches these elements in the hand-in: a whole path is absent
        return (count + f"; {zeros} of them are exactly 0 in yours but not in the numeric "
                "gradient: a path that reaches them is missing (a fan-out: through a normaliser "
                "such as softmax's Σⱼ e^{zⱼ}, a mean, or a weight used twice)")
    return (count + f"; analytic / numeric varies from {low:.4g} to {high:.4g} over them: a "
            "factor that depends on the input is missing or extra (e.g. σ'(z) = y(1 − y)), a "
            "transpose, or a missing path")


def _counted_factor(ratio, shape):
    """' — 3 is the size of axis 0: …' when a constant ratio (or its inverse) is a count of the
    input's elements: the classic sum-for-mean slip (or a 1/B forgotten or doubled)."""
    if ratio == 0:
        return ""
    # analytic = 3 × numeric: a division by 3 is missing; analytic = numeric / 3: one too many
    for factor, wording in ((ratio, "missing"), (1 / ratio, "too many")):
        count = round(factor)
        if count > 1 and abs(factor - count) < 1e-6 * count:
            axes = [str(k) for k, n in enumerate(shape) if n == count]
            what = (f"the size of axis {' or '.join(axes)}" if axes
                    else "the number of elements" if count == numpy.prod(shape) else None)
            if what:
                return (f" — {count} is {what}: a division by that count {wording}, as when a "
                        "sum and a mean are mixed up")
    return ""


def _label_name(label):
    """The input's name in a target label such as 'input 1 (w, shape (3,))' ('x' if none)."""
    inside = label.split("(", 1)[1] if "(" in label else ""
    return inside.split(",", 1)[0] if inside and not inside.startswith("shape") else "x"


def _ybar_note(scalar, ybar, y_shape, index, directional, name="x", elementwise=False):
    """Which ȳ the numbers above were multiplied by (for an element-wise function, the one
    element of ȳ that multiplies this element)."""
    if scalar:
        return f". The output is a scalar, so ȳ = 1: these are ∂y/∂{name} themselves."
    note = (f". The output has shape {tuple(y_shape)}, so both sides are of ⟨ȳ, y⟩ for a random "
            f"ȳ (a check of the whole vector-Jacobian product ȳ ∂y/∂{name})")
    if not directional and elementwise:
        note += (f"; the function is element-wise here, so the ȳ that multiplies this element "
                 f"is {float(ybar[index]):.6g}")
    return note + "."


def _report(label, directional, index, analytic, numeric, allowed):
    relative = abs(analytic - numeric) / max(abs(numeric), 1e-300)
    where = (f"along random direction {index[0]}" if directional
             else f"at element {tuple(int(i) for i in index)}")
    return (f"gradcheck failed for {label} {where}: analytic {analytic:.10g} vs numeric "
            f"{numeric:.10g} (|difference| {abs(analytic - numeric):.3g}, relative error "
            f"{relative:.3g}; allowed {allowed:.3g} = atol + rtol·|numeric| + rounding noise)")
