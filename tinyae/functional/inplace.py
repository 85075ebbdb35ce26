"""How an in-place op is recorded inside a computation (``c += c + 1``, ``x[i] = v``), as PyTorch
records one: ``Tensor._inplace`` changes the array itself where no graph is recorded, and
otherwise calls ``record`` (installed on Tensor as ``_record_inplace``).

``Function.apply`` keeps a weak reference from each input to the ops that read it. Recording an
in-place op on x first hands x's node — its array and its creator — to a new Tensor object, so
that every op that read the old value keeps it; then it computes the new value out of place from
that old node (``old + 1``, ``SetItem(old, v)``) and makes x that new node.
"""
import weakref

from ..tensor import Tensor


def hand_over(tensor, old):
    """Make ``old`` (a Tensor holding ``tensor``'s node as it is now) take ``tensor``'s place
    in the recorded graph: the op that made it and the ops that read it hold ``old`` from now."""
    creator = tensor._creator
    if creator is not None and not creator.released and creator._output_ref() is tensor:
        creator._output_ref = weakref.ref(old)
    for reader in tensor._readers:
        fn = reader()
        if fn is not None and not fn.released:
            fn.inputs = [old if t is tensor else t for t in fn.inputs]
    old._readers, tensor._readers = tensor._readers, ()


def record(self, other, recorded):
    """The recorded in-place op: ``recorded(old, other)`` computes the new value from the old
    node; ``self`` becomes it. A leaf that requires grad is refused (PyTorch's rule), and so is
    a change of shape or dtype (NumPy's), leaving the graph as it was."""
    if self.is_leaf and self.requires_grad:
        raise RuntimeError(
            "in-place change of a leaf tensor that requires grad while grad is recorded: its "
            "value is what the gradient is taken with respect to. For an update by hand "
            "write it inside `with tinyae.no_grad():` (as in PyTorch: w -= lr * w.grad); "
            "for a new value write x = x + … (a new tensor).")
    old = Tensor.__new__(Tensor)
    old.__dict__.update(self.__dict__)
    hand_over(self, old)
    new = recorded(old, old if other is self else other)  # z += z: both sides the old z
    if new.shape != old.shape or new.dtype != old.dtype:  # as NumPy's a += b refuses it
        hand_over(old, self)  # undo: the graph as it was
        raise ValueError(f"in-place change of a {old.dtype} tensor of shape {old.shape} into "
                         f"{new.dtype} of shape {new.shape}: an in-place op keeps the shape "
                         "and dtype; write x = x + … for a new tensor")
    hand_over(new, self)
    self._data, self._creator, self.requires_grad = new._data, new._creator, new.requires_grad
    self._version = 0  # a new node: the ops that saw the old values now hold ``old``
    return self
