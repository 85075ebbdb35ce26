"""PyTorch's form of a custom Function, ``@staticmethod forward(ctx, x)`` with
``ctx.save_for_backward``, turned into tinyae's. Installed on ``Function`` from here (as the
operators are, by methods.py), so the engine file holds only tinyae's own form."""
from ..autograd import Function, no_grad
from ..tensor import Tensor


def adopt_ctx_form(cls):
    """Turn a Function written as in PyTorch's tutorial into tinyae's form::

        class Exp(Function):
            @staticmethod
            def forward(ctx, x):             # x is a Tensor; nothing inside is recorded
                y = x.exp()
                ctx.save_for_backward(y)
                return y

            @staticmethod
            def backward(ctx, ybar):
                y, = ctx.saved_tensors
                return ybar * y

    The Function object itself plays ``ctx``. Its forward wraps the arrays as Tensors and runs
    the user's forward under no_grad(); ``saved_tensors`` hands back the op's real input and
    output Tensors for the wrapped ones, so a backward written with Tensor ops can be
    differentiated again (create_graph=True)."""
    user_forward = cls.__dict__["forward"].__func__
    user_backward = cls.__dict__.get("backward")
    if not isinstance(user_backward, staticmethod):
        raise TypeError(f"{cls.__name__}: with a @staticmethod forward(ctx, ...) (PyTorch's form), "
                        "backward must be a @staticmethod backward(ctx, ybar) too. tinyae's own "
                        "form is: def forward(self, *arrays) -> array; def backward(self, ybar)")

    def forward(self, *arrays):
        self._wrapped = tuple(Tensor(a, copy=False) for a in arrays)
        with no_grad():
            self._wrapped_output = user_forward(self, *self._wrapped)
        out = self._wrapped_output
        return out.data if isinstance(out, Tensor) else out

    def backward(self, ybar):
        return user_backward.__func__(self, ybar)

    cls.forward, cls.backward = forward, backward


def install():
    Function.adopt_ctx_form = staticmethod(adopt_ctx_form)
