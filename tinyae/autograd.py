"""Reverse-mode automatic differentiation, in the notation of the lecture notes.

For a node v the *error signal* is v̄ = ∂L/∂v. Backprop visits the graph in reverse
topological order and applies, for every node vᵢ,

    v̄ᵢ = Σ_{children j} v̄ⱼ ∂vⱼ/∂vᵢ

Each op is one ``Function`` with a ``forward`` on raw arrays and a ``backward(ybar)`` that
returns the error signals of its inputs. ``backward`` is written with tinyae's own ops, so
with ``create_graph=True`` the backward pass is itself recorded and can be differentiated
again (Hessian-vector products, contractive penalties of deep encoders).
"""
import operator
import weakref

from . import backend
from .grad_mode import (_state, detect_anomaly, enable_grad, is_grad_enabled,  # noqa: F401
                        no_grad, strict_signals)
from .signals import (SignalError, mend_signal, refuse_signal,  # noqa: F401 (API names)
                      unbroadcast)
# Tensor is defined before tensor.py imports this module (see its end); a leaf's .grad is
# accumulated there (add_to_grad), beside the Tensor that owns it
from .tensor import Tensor, _sole_holder, add_to_grad  # noqa: F401


OPS = {}  # Function subclass name -> class, for every registered op (see ``register``)
# t.data, t.requires_grad and t._version of every input of an op, read by map() in C: the
# engine's hot path (Function.apply) runs ~250 times per step of a small network
_array_of, _requires_grad, _version_of = (operator.attrgetter(name) for name in
                                          ("_data", "requires_grad", "_version"))


def register(sample):
    """Class decorator registering an op with its sample-input generator.

    ``sample(rng, shape)`` returns ``(inputs, params)``: a tuple of float64 arrays (the
    differentiable inputs) and a dict of fixed parameters, so that
    ``Op.apply(*inputs, **params)`` is a valid call. The test suite draws ``shape`` with
    hypothesis and gradchecks every registered op, first and second order.
    """
    def decorate(cls):
        cls.sample = staticmethod(sample)
        OPS[cls.__name__] = cls
        return cls
    return decorate


class Function:
    """One op of the computation graph: y = f(x₁, …, xₙ; params).

    Subclasses implement ``forward(*arrays) -> array`` on raw arrays and
    ``backward(ybar) -> xbar₁, …`` (one x̄ per input), written with tinyae's ops on Tensors so
    that ``create_graph=True`` can differentiate it again.

    What ``backward`` can use, and so what a recorded op keeps until ``release()``:
      ``self.inputs``   the input Tensors (they are also the graph's edges),
      ``self.output``   the output Tensor y (e.g. exp: x̄ = ȳ y, sigmoid: z̄ = ȳ y(1 − y)),
      its parameters (``self.axis``, …) and any array ``forward`` stores on ``self``
      (MaxPool2d's argmax).
    Every op keeps its output, not only those whose formula uses it: an op's inputs are other
    ops' outputs and stay alive as edges anyway, so the memory at the start of backward (the
    peak) would be the same with a per-op declaration (Chainer's ``retain_outputs``).

    Which inputs need an error signal is decided by the engine, not by the op: it records
    ``self.needs_input_grad``, one bool per input (False for a constant), and it drops any x̄
    returned for an input that needs none. So ``backward`` may simply return one x̄ per input;
    where an x̄ costs a pass over the data (anything more than handing ȳ on), it computes it
    only ``if self.needs_input_grad[i]`` and returns None otherwise (Sub, Mul, MatMul, …).

    Raw arrays in ``backward``: only for a factor that is piecewise constant in the inputs — a
    0/1 mask from a comparison, a sign, an argmax one-hot (ReLU, Abs, Clip, Maximum, Max,
    MaxPool2d). Its derivative is zero wherever it exists, so it may be computed from ``.data``
    and enter the formula as a constant; everything else, ȳ included, stays a Tensor.

    PyTorch's form, ``@staticmethod forward(ctx, x)`` with ``ctx.save_for_backward``, works
    too (tinyae/functional/ctx_form.py turns it into this form).
    """
    inputs = ()              # the defaults of an op that was not recorded (or was released)
    needs_input_grad = ()
    released = False
    _output_data = None

    def __init__(self, **params):
        if params:
            self.__dict__.update(params)

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if isinstance(cls.__dict__.get("forward"), staticmethod):
            Function.adopt_ctx_form(cls)  # installed by tinyae.functional (ctx_form.py)

    @classmethod
    def apply(cls, *inputs, **params):
        fn = cls(**params)
        tensors = _as_tensors(inputs)
        try:  # one or two arrays passed written out: a *-call costs ~0.35 µs more, measured
            n = len(tensors)  # 6% of the per-op benchmark (10.5 against 11.2 µs per op)
            data = (fn.forward(tensors[0]._data) if n == 1 else
                    fn.forward(tensors[0]._data, tensors[1]._data) if n == 2 else
                    fn.forward(*map(_array_of, tensors)))
        except (ValueError, IndexError, TypeError) as err:
            where = f"{cls.__name__} (input shapes {', '.join(str(t.shape) for t in tensors)}; " \
                    f"dtypes {', '.join(str(t.dtype) for t in tensors)})"
            if type(err) in (ValueError, IndexError, TypeError):
                raise type(err)(f"{where}: {err}") from err
            # NumPy's own subclasses (e.g. _UFuncNoLoopError) take other constructor arguments:
            # keep the original exception, with its type and attributes, and add the op to it.
            err.add_note(f"in {where}")
            raise
        if _state.anomaly:
            inside = _state.in_backward_of
            _check_finite(data, f"the forward pass of {cls.__name__}"
                          + (f" inside the backward pass of {inside}" if inside else ""))
        needs_grad = _state.grad_enabled and any(map(_requires_grad, tensors))
        out = Tensor._from_op(data, needs_grad)
        if needs_grad:  # record the node: y remembers fn, fn remembers what backward needs
            out._creator = fn
            fn.inputs = tensors
            # Who reads each input, so that an in-place op on it can hand fn the old node
            # (functional/inplace.py). Not needed for a leaf that requires grad (never changed
            # while recorded) nor for a constant made here from a number (no one else holds it).
            reader = None
            for t, given in zip(tensors, inputs):
                if t is given and (t._creator is not None or not t.requires_grad):
                    reader = reader or weakref.ref(fn)
                    _add_reader(t, reader)
            fn.needs_input_grad = tuple(map(_requires_grad, tensors))
            fn._output_ref, fn._output_data = weakref.ref(out), data
            fn._versions = tuple(map(_version_of, tensors))  # see check_unchanged
        return out

    @property
    def output(self):
        """The output y as a Tensor of the graph: y itself while anyone holds it. During
        backward the ops consuming y may have been released already, dropping the last
        reference; then a Tensor on the kept array, with this op as its creator, stands in
        (PyTorch unpacks a saved output the same way). Only a weak reference points from the
        op to y, so that y → op → y is no reference cycle."""
        y = self._output_ref()
        if y is None and self._output_data is not None:
            y = Tensor._from_op(self._output_data, True)
            y._creator = self
        return y

    def forward(self, *xs):
        raise NotImplementedError

    def backward(self, ybar):
        raise NotImplementedError

    def check_unchanged(self):
        """The version counter: backward needs the values this op saw, so none of its inputs
        (nor its output) may have been changed in place since (e.g. ``w -= …`` under no_grad)."""
        output = self._output_ref()
        if (tuple(map(_version_of, self.inputs)) == self._versions
                and (output is None or output._version == 0)):
            return
        pairs = list(zip(self.inputs, self._versions))
        if output is not None:
            pairs.append((output, 0))
        for i, (t, version) in enumerate(pairs):
            if t._version != version:
                which = f"input {i}" if i < len(self.inputs) else "output"
                raise RuntimeError(
                    f"a tensor needed by the backward pass was changed in place (or its .data "
                    f"replaced): the {which} "
                    f"(shape {t.shape}) of {type(self).__name__} is at version {t._version}, "
                    f"but the op saw version {version}. Change it only after backward(), or make "
                    "a new tensor (x = x - …) instead of changing it in place.")

    # PyTorch's ctx interface, for Functions written in its form (functional/ctx_form.py)
    def save_for_backward(self, *tensors):
        self._saved = tensors

    @property
    def saved_tensors(self):
        real = {id(w): x for w, x in zip(self._wrapped, self.inputs)}
        real[id(self._wrapped_output)] = self.output
        return tuple(real.get(id(t), t) for t in self._saved)

    def release(self):
        """Drop the inputs, output, parameters and saved arrays so their memory can be freed;
        only the mark that this op was released stays (a second backward then explains itself)."""
        self.__dict__ = {"_output_ref": self._output_ref, "released": True}

    def __repr__(self):
        return f"<{type(self).__name__}>"


def _add_reader(t, reader):
    """Note that the op behind the weak reference ``reader`` reads t. A tensor that outlives
    many graphs (a buffer, a constant read every step) would collect a dead reference per op
    that read it: the dead ones are dropped whenever the list doubles in length since the last
    time, a constant cost per op on average."""
    if not t._readers:
        t._readers = [reader]
        return
    t._readers.append(reader)
    if len(t._readers) >= t._readers_limit:
        t._readers = [r for r in t._readers if r() is not None]
        t._readers_limit = max(64, 2 * len(t._readers))


def _as_tensors(inputs):
    """The inputs of an op as Tensors: the tuple itself when they are (the usual case); an
    array or a number joins as a constant."""
    for x in inputs:
        if not isinstance(x, Tensor):
            break
    else:
        return inputs
    like = None  # the first Tensor, whose dtype and device a number takes
    for x in inputs:
        if isinstance(x, Tensor):
            like = x
            break
    return tuple([_as_tensor(x, like) for x in inputs])


def _as_tensor(x, like):
    if isinstance(x, Tensor):
        return x
    # A Python scalar takes the dtype of the tensor it meets, so it never upcasts float32.
    if like is not None and not backend.is_array(x):
        xp = backend.get_array_module(like.data)
        return Tensor._from_op(xp.asarray(x, dtype=like.dtype), False)
    return Tensor(x, copy=False)


def _check_finite(array, where):
    xp = backend.get_array_module(array)
    if array.dtype.kind == "f" and not bool(xp.isfinite(array).all()):
        raise FloatingPointError(f"detect_anomaly: {where} produced NaN or Inf")


# --- the backward pass --------------------------------------------------------------------
def topological_order(roots):
    """Functions reachable from ``roots`` with every op after the ops producing its inputs.

    Iterative depth-first search (no recursion, so a 100,000-op chain works)."""
    order, seen = [], set()
    stack = [(t._creator, False) for t in roots if t._creator is not None]
    while stack:
        fn, inputs_done = stack.pop()
        if inputs_done:
            order.append(fn)
            continue
        if fn in seen:
            continue
        seen.add(fn)
        stack.append((fn, True))
        for x in fn.inputs:
            if x._creator is not None and x._creator not in seen:
                stack.append((x._creator, False))
    return order


def run_backward(outputs, ybars, retain_graph=False, create_graph=False, inputs=None):
    """The backward pass: v̄ᵢ = Σⱼ v̄ⱼ ∂vⱼ/∂vᵢ, over the ops in reverse topological order.

    An op's backward runs after every op consuming its output, so its ȳ is complete by then.
    With ``inputs=None`` the error signals reaching leaves are added into their ``.grad``
    (``backward()``); otherwise those of ``inputs`` are returned and no ``.grad`` is touched
    (``grad()``)."""
    order = topological_order(outputs)
    _check_not_released(order)
    sink = _Sink(inputs)
    ybar_of = {}  # op → the error signal of its output, summed over the consumers seen so far
    for y, ybar in zip(outputs, ybars):
        _send(y, ybar, ybar_of, sink)
    with enable_grad(create_graph):  # record the backward formulas only for create_graph
        for fn in reversed(order):
            ybar = ybar_of.pop(fn, None)  # popped: each error signal is freed once it is used
            if ybar is not None:
                xbars = _call_backward(fn, ybar)  # x̄ = ȳ ∂y/∂x, one per input
                for i, x in enumerate(fn.inputs):
                    xbar = _check_signal(fn, i, x, xbars[i]) if fn.needs_input_grad[i] else None
                    if xbar is not None:
                        made = (x._creator is None and xbar is not ybar  # (for a leaf's .grad)
                                and all(xbar is not t for t in fn.inputs))
                        _send(x, xbar, ybar_of, sink, made)  # add into x's signal
            if not retain_graph:
                fn.release()  # its saved arrays are freed now, during the pass
    return sink.results()


def _send(x, xbar, ybar_of, sink, made=False):
    """Add x̄ into x's error signal: fan-out, a tensor used by several ops gets their sum.
    ``made``: x̄ was computed by the op's backward (not ȳ or an input handed on as it is)."""
    sink.take(x, xbar, made)
    fn = x._creator
    if fn is not None:
        ybar_of[fn] = xbar if fn not in ybar_of else ybar_of[fn] + xbar


def _call_backward(fn, ybar):
    """fn.backward(ȳ) as one x̄ per input (each then checked by ``_check_signal``); in anomaly
    mode the ops run inside it are named as part of fn's backward."""
    anomaly = _state.anomaly
    if anomaly:
        previous, _state.in_backward_of = _state.in_backward_of, type(fn).__name__
    try:
        xbars = fn.backward(ybar)
    except (ValueError, TypeError, IndexError, ArithmeticError) as err:
        err.add_note(f"in the backward pass of {type(fn).__name__} (input shapes "
                     f"{', '.join(str(x.shape) for x in fn.inputs)}; ybar {ybar.shape})")
        raise
    finally:
        if anomaly:
            _state.in_backward_of = previous
    if not isinstance(xbars, (tuple, list)):
        xbars = (xbars,)
    if len(xbars) != len(fn.inputs):
        raise SignalError(
            f"{type(fn).__name__}.backward returned {len(xbars)} error signals for "
            f"{len(fn.inputs)} inputs; return one per input of forward (None for an input "
            "that needs none)")
    return xbars


def _check_signal(fn, i, x, xbar):
    """An input's error signal must be a Tensor of the input's shape and dtype; one in the
    output's shape (a broadcast input) is summed back, another dtype cast (signals.py). In
    anomaly mode it must be finite."""
    if not (isinstance(xbar, Tensor) and xbar._data.shape == x._data.shape
            and xbar._data.dtype == x._data.dtype):  # (the usual case skips this)
        if not isinstance(xbar, Tensor):
            if xbar is None or not backend.is_array(xbar):
                return refuse_signal(fn, i, x, xbar)  # None (a zero signal), or an error
            xbar = Tensor(xbar, copy=False)
        xbar = mend_signal(fn, i, x, xbar)
    if _state.anomaly:
        _check_finite(xbar._data, f"the backward pass of {type(fn).__name__}")
    return xbar


def _check_not_released(order):
    """Every op is still there to be walked: not freed by an earlier backward, and nothing it
    needs changed in place since it ran (the version counter)."""
    for fn in order:
        if fn.released:
            raise RuntimeError(
                f"backward through the graph a second time: {type(fn).__name__}'s saved values "
                "were freed by the first backward. Pass retain_graph=True to the first "
                "backward() if you need to backpropagate twice.")
        fn.check_unchanged()


class _Sink:
    """Where error signals leave the walk. ``backward()``: a leaf's x̄ is added into its
    ``.grad``. ``grad(inputs)``: the x̄ of each requested tensor (leaf or not) is summed here,
    and no ``.grad`` is touched."""

    def __init__(self, inputs):
        self.inputs = inputs
        self.found = None if inputs is None else {id(x): None for x in inputs}

    def take(self, x, xbar, made=False):
        if self.found is None:
            if x._creator is None or x._retains_grad:
                add_to_grad(x, xbar, made)
        elif id(x) in self.found:
            total = self.found[id(x)]
            self.found[id(x)] = xbar if total is None else total + xbar

    def results(self):
        return None if self.found is None else tuple(self.found[id(x)] for x in self.inputs)


def _initial_signal(y, ybar):
    if ybar is None:
        if y.data.size != 1:
            raise RuntimeError(
                f"backward() on a tensor of shape {y.shape} needs its error signal ybar: only a "
                "scalar loss has the implicit ȳ = 1. Reduce it first (e.g. loss.sum() or "
                "loss.mean()) or pass ybar of the same shape.")
        return Tensor(backend.get_array_module(y.data).ones_like(y.data), copy=False)
    ybar = ybar if isinstance(ybar, Tensor) else Tensor(backend.as_array(ybar, dtype=y.dtype),
                                                        copy=False)
    if ybar.shape != y.shape:
        raise ValueError(f"backward(): ybar has shape {ybar.shape} but the output has shape "
                         f"{y.shape}; they must match")
    return ybar
