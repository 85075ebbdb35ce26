"""``grad()``: the error signals of chosen tensors, returned instead of added into ``.grad``
(what a contractive penalty, gradcheck and Hessian-vector products use; PyTorch's
``torch.autograd.grad``). The walk itself is autograd.run_backward."""
from . import backend
from .autograd import _initial_signal, run_backward
from .tensor import Tensor


def grad(outputs, inputs, grad_outputs=None, create_graph=False, retain_graph=None,
         allow_unused=False):
    """The error signals ∂L/∂x of ``inputs`` (a Tensor or a sequence), without touching ``.grad``.

    ``grad_outputs`` are the ȳ to start from (default 1 for scalar outputs).
    With ``create_graph=True`` the result is itself differentiable. An input the outputs do
    not depend on is an error (usually a bug: the wrong tensor, or a detached path); with
    ``allow_unused=True`` its error signal is zeros instead."""
    single = isinstance(inputs, Tensor)
    outputs = [outputs] if isinstance(outputs, Tensor) else list(outputs)
    inputs = [inputs] if single else list(inputs)
    if grad_outputs is None or isinstance(grad_outputs, Tensor):
        grad_outputs = [grad_outputs] * len(outputs)
    for x in inputs:
        if not x.requires_grad:
            raise ValueError("grad(): an input does not require grad; create it with "
                             "requires_grad=True or it cannot have an error signal")
    ybars = [_initial_signal(y, g) for y, g in zip(outputs, grad_outputs)]
    retain = create_graph if retain_graph is None else retain_graph
    result = run_backward(outputs, ybars, retain, create_graph, inputs)
    unused = [i for i, r in enumerate(result) if r is None]
    if unused and not allow_unused:
        raise RuntimeError(
            f"grad(): input {unused[0]} (shape {inputs[unused[0]].shape}) is not part of the graph "
            "of the outputs, so its error signal is undefined; check that you passed the tensor "
            "the outputs were computed from, or pass allow_unused=True to get zeros for it")
    result = tuple(r if r is not None else Tensor(backend.get_array_module(x.data).zeros_like(x.data),
                                                  copy=False)
                   for r, x in zip(result, inputs))
    return result[0] if single else result
