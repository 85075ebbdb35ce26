"""What a drawing needs to know about the module calls that made a graph.

``Module.__call__`` notes each call on its output tensors (``note_call``): which module ran,
and which tensors it was given under which names. ``tinyae.trace`` folds every op made inside
one call into one box (``group=``) and names a data input as the forward called it (``x``).
Nothing is noted when no graph is recorded (``no_grad``, evaluation), so inference pays nothing
but a check; training pays about 1 µs per module call (a Linear(8, 8) on 4 rows: 8.3 µs bare,
9.3 µs noted), the names being worked out only when a drawing asks.
"""
import functools
import inspect

from . import backend
from .tensor import Tensor


class ModuleCall:
    """One call of a module (or of a loss function) that recorded a graph: the module or
    function and what it was given, kept on each output tensor (``_module_calls``, innermost
    call first), so that a drawing can fold the call into one box and join it to its real
    inputs, x even where no op recorded its use (a conv's im2col of data). It keeps a batch
    alive as long as the output, as the graph keeps im2col's (bigger) columns anyway."""

    def __init__(self, module, args, kwargs):
        self.module, self.args, self.kwargs = module, args, kwargs

    @functools.cached_property
    def inputs(self):
        """((name of forward's parameter, tensor), …): the tensors given, and a module's arrays
        (the data, as Tensors); a function's arrays are masks and indices, left out. Worked out
        when a drawing asks, so a training step pays only for the note."""
        module = hasattr(self.module, "forward")
        names = (_parameter_names(type(self.module).forward)[1:] if module
                 else _parameter_names(self.module))
        given = [(name, t) for name, t in list(zip(names, self.args)) + list(self.kwargs.items())
                 if isinstance(t, Tensor) or module and backend.is_array(t)]
        return tuple((name, t if isinstance(t, Tensor) else Tensor(t, copy=False))
                     for name, t in given)


def note_call(caller, args, kwargs, output):
    """Note on ``output``'s tensors that ``caller`` (a Module, or a function decorated with
    ``drawn_as_one_box``) made them from ``args`` and ``kwargs``. No graph recorded (no_grad,
    nothing requiring grad): nothing noted."""
    call = None
    for t in output if type(output) is tuple else (output,):
        if isinstance(t, Tensor) and t._creator is not None:
            call = call or ModuleCall(caller, args, kwargs)
            t._module_calls = t.__dict__.get("_module_calls", ()) + (call,)


_open_boxes = [0]  # how many drawn_as_one_box functions are running (only the outermost notes)


def drawn_as_one_box(function):
    """Decorate a function (a loss) whose ops a drawing folds into one box named after it, as
    it folds a module's: ``bce_with_logits`` rather than its Neg, Softplus, Mul, Add, Mean."""
    @functools.wraps(function)
    def noted(*args, **kwargs):
        _open_boxes[0] += 1
        try:
            output = function(*args, **kwargs)
        finally:
            _open_boxes[0] -= 1
        if not _open_boxes[0]:
            note_call(function, args, kwargs, output)
        return output
    return noted


@functools.lru_cache(maxsize=None)
def _parameter_names(function):
    """The names of ``function``'s positional parameters (a forward's include self)."""
    parameters = inspect.signature(function).parameters.values()
    return [p.name for p in parameters if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
