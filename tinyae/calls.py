"""What a drawing needs to know about the module calls that made a graph.

``Module.__call__`` notes each call on its output tensors (``note_call``): which module ran,
and which tensors it was given under which names. ``tinyae.trace`` folds every op made inside
one call into one box (``group=``) and names a data input as the forward called it (``x``).
Nothing is noted when no graph is recorded (``no_grad``, evaluation), so inference pays nothing
but a check; training pays one small tuple per module call.
"""
import functools
import inspect
import weakref
from collections import namedtuple

from .tensor import Tensor

ModuleCall = namedtuple("ModuleCall", "module inputs")
ModuleCall.__doc__ = """One call of a module (or of a loss function) that recorded a graph: the
module or function, and the tensors
it was given as ((name of forward's parameter, weak reference), …): weak, so a drawing can
connect the call to its real inputs (x, even where no op recorded it) without keeping a batch
alive. Kept on each output tensor (in
``_module_calls``, innermost call first), so that a drawing can fold each call into one box
(``tinyae.trace``, ``group=``) and name the data inputs as the forward calls them."""


def note_call(caller, args, kwargs, output):
    """Note on ``output``'s tensors that ``caller`` (a Module, or a function decorated with
    ``drawn_as_one_box``) made them from ``args`` and ``kwargs``."""
    outputs = output if isinstance(output, tuple) else (output,)
    recorded = [t for t in outputs if isinstance(t, Tensor) and t._creator is not None]
    if not recorded:  # no graph (no_grad, or nothing requires grad): nothing to draw
        return
    names = (_parameter_names(type(caller).forward)[1:] if hasattr(caller, "forward")
             else _parameter_names(caller))
    given = list(zip(names, args)) + list(kwargs.items())
    inputs = tuple((name, weakref.ref(t)) for name, t in given if isinstance(t, Tensor))
    call = ModuleCall(caller, inputs)
    for t in recorded:
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
