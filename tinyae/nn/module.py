"""Module and Parameter: the bookkeeping that turns functions into trainable layers.

A ``Module`` holds ``Parameter`` s (the weights an optimizer updates), buffers (state that is
saved but not trained, e.g. BatchNorm's running statistics) and sub-Modules. Assigning one as an
attribute registers it, in order, as in PyTorch::

    class Encoder(Module):
        def __init__(self):
            super().__init__()
            self.fc = Linear(784, 32)      # a sub-Module: its weight is now encoder.fc.weight
        def forward(self, x):
            return self.fc(x).relu()

``state_dict()`` maps dotted names to Tensors (host copies); ``save(path)`` writes them to an ``.npz`` file
(readable with ``numpy.load(path, allow_pickle=False)``) atomically, so a crash while saving never
destroys the previous checkpoint.
"""
import os
import zipfile
from collections import OrderedDict

import numpy

from .. import backend
from ..io import save_npz_atomic
from ..tensor import Tensor
from ..calls import note_call


class Parameter(Tensor):
    """A Tensor that is a trainable weight: ``requires_grad=True``, and a Module that holds one
    as an attribute lists it in ``parameters()``. Arrays keep their dtype; Python numbers and
    lists become float32."""

    def __init__(self, data, requires_grad=True):
        super().__init__(data, requires_grad=requires_grad)  # a copy: see tinyae.tensor

    def requires_grad_(self, flag=True):
        """Freeze (``False``) or unfreeze (``True``) this weight in place; returns it.

        A frozen weight records no graph, so backward leaves its ``.grad`` alone and optimizers
        skip it: "train the last layer alone" is ``encoder.requires_grad_(False)``."""
        self.requires_grad = bool(flag)
        return self

    def __repr__(self):
        return "Parameter containing:\n" + super().__repr__()


class Module:
    """Base class of every layer and model: subclasses set attributes in ``__init__`` and write
    ``forward``; calling the module calls ``forward``."""

    def __init__(self):
        # object.__setattr__: our own __setattr__ needs these dictionaries to exist already.
        object.__setattr__(self, "_parameters", OrderedDict())
        object.__setattr__(self, "_buffers", OrderedDict())
        object.__setattr__(self, "_modules", OrderedDict())
        object.__setattr__(self, "training", True)

    # --- registration ------------------------------------------------------------------
    def __setattr__(self, name, value):
        if "_parameters" not in self.__dict__:
            raise AttributeError(f"cannot assign {name!r} before Module.__init__() ran: call "
                                 "super().__init__() first in your module's __init__")
        if isinstance(value, Parameter):
            kind = "_parameters"
        elif isinstance(value, Module):
            kind = "_modules"
        elif name in self.__dict__.get("_buffer_names", ()):
            kind = "_buffers"
            if value is not None and not isinstance(value, Tensor):
                value = Tensor(value)  # a buffer assigned a plain array stays a Tensor
        else:
            kind = None
        for table in ("_parameters", "_buffers", "_modules"):
            if table != kind:  # re-assigning a name replaces whatever it was
                getattr(self, table).pop(name, None)
        if kind is None:
            object.__setattr__(self, name, value)
        else:
            self.__dict__.pop(name, None)
            getattr(self, kind)[name] = value  # an existing name keeps its place in the order

    def __getattr__(self, name):
        # Only called when normal lookup fails, i.e. for registered parameters/buffers/modules.
        for table in ("_parameters", "_buffers", "_modules"):
            entries = self.__dict__.get(table)
            if entries is not None and name in entries:
                return entries[name]
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def __delattr__(self, name):
        for table in (self._parameters, self._buffers, self._modules):
            if name in table:
                del table[name]
                return
        object.__delattr__(self, name)

    def register_buffer(self, name, tensor):
        """Register state that is saved in ``state_dict`` and moved by ``to()`` but not trained
        (e.g. BatchNorm's running mean). Later assignments to ``self.<name>`` stay buffers."""
        if tensor is not None and not isinstance(tensor, Tensor):
            tensor = Tensor(backend.on_default(tensor))   # on the backend the parameters use
        self.__dict__.setdefault("_buffer_names", set()).add(name)
        setattr(self, name, tensor)

    # --- traversal -----------------------------------------------------------------------
    def named_modules(self, prefix="", _seen=None):
        """(dotted name, module) for this module and every module below it, each once."""
        seen = set() if _seen is None else _seen
        if id(self) in seen:
            return
        seen.add(id(self))
        yield prefix, self
        for name, child in self._modules.items():
            yield from child.named_modules(f"{prefix}.{name}" if prefix else name, seen)

    def modules(self):
        for _, m in self.named_modules():
            yield m

    def named_children(self):
        yield from self._modules.items()

    def children(self):
        yield from self._modules.values()

    def _named_members(self, table):
        seen = set()  # a shared (tied) tensor is yielded once, under the first name met
        for prefix, module in self.named_modules():
            for name, t in getattr(module, table).items():
                if t is None or id(t) in seen:
                    continue
                seen.add(id(t))
                yield (f"{prefix}.{name}" if prefix else name), t

    def named_parameters(self):
        """(dotted name, Parameter), e.g. ('encoder.0.weight', W); a shared Parameter once."""
        return self._named_members("_parameters")

    def parameters(self):
        for _, p in self.named_parameters():
            yield p

    def named_buffers(self):
        return self._named_members("_buffers")

    def buffers(self):
        for _, b in self.named_buffers():
            yield b

    def num_parameters(self):
        """Total number of trainable numbers, e.g. 784·32 + 32 = 25,120 for Linear(784, 32)."""
        return sum(p.size for p in self.parameters())

    # --- modes and gradients -------------------------------------------------------------
    def train(self, mode=True):
        """Training mode (Dropout drops, BatchNorm uses batch statistics), for every submodule."""
        for m in self.modules():
            object.__setattr__(m, "training", bool(mode))
        return self

    def eval(self):
        """Evaluation mode: Dropout is the identity, BatchNorm uses its running statistics."""
        return self.train(False)

    def requires_grad_(self, flag=True):
        """Freeze (``False``) or unfreeze (``True``) every parameter of this module and the modules
        below it; returns the module. ``model[0].requires_grad_(False)`` trains the rest alone."""
        for p in self.parameters():
            p.requires_grad_(flag)
        return self

    def zero_grad(self, set_to_none=True):
        """Forget every parameter's error signal before the next backward: ``.grad = None``
        (PyTorch's default), or with ``set_to_none=False`` fill the existing ``.grad`` with 0."""
        for p in self.parameters():
            if set_to_none or p.grad is None:
                p.grad = None
            else:
                p.grad.data[...] = 0

    def apply(self, fn):
        """Call ``fn(module)`` on every submodule and then on this one (e.g. to initialise
        weights, as in PyTorch); returns this module."""
        for child in self.children():
            child.apply(fn)
        fn(self)
        return self

    # --- devices and dtypes -------------------------------------------------------------------
    def _convert(self, fn):
        # Parameters keep their identity (optimizers hold references to them): change .data only.
        for t in list(self.parameters()) + list(self.buffers()):
            t.data = fn(t.data)
            if t.grad is not None:
                t.grad = Tensor(fn(t.grad.data), copy=False)
        return self

    def to(self, *args, device=None, dtype=None):
        """Move parameters and buffers to a device ('cpu', 'gpu' or 'cuda') and/or convert them
        to a float ``dtype``, in place (each Parameter stays the same object, so an optimizer
        built before still holds it); returns the module, as PyTorch's ``Module.to`` does."""
        for a in args:
            if backend.device_name(a) is not None:
                device = a
            else:
                dtype = a
        if dtype is not None:
            self.astype(dtype)
        return self if device is None else self._convert(lambda a: backend.to_device(a, device))

    def cpu(self):
        return self.to("cpu")

    def cuda(self):
        return self.to("gpu")

    def astype(self, dtype):
        """Convert floating-point parameters and buffers to ``dtype`` in place (e.g. float64 for
        a finite-difference gradient check); returns the module."""
        return self._convert(lambda a: a.astype(dtype) if a.dtype.kind == "f" else a)

    def double(self):
        return self.astype("float64")

    def float(self):
        return self.astype("float32")

    # --- saving and loading -------------------------------------------------------------------
    def state_dict(self):
        """An ordered dict of dotted name -> Tensor, for parameters then buffers, as in PyTorch
        (``sd[k].clone()``, ``sd[k].shape``). Unlike PyTorch's, each value is a detached copy on
        the host, not a view of the parameter: a snapshot that later training does not change
        (what early stopping keeps, and what a checkpoint writes)."""
        return OrderedDict((name, Tensor(backend.to_numpy(t.data).copy(), copy=False))
                           for name, t in list(self.named_parameters()) + list(self.named_buffers()))

    def _state_arrays(self):
        """``state_dict()`` as NumPy arrays (what an .npz file stores)."""
        return OrderedDict((name, t.data) for name, t in self.state_dict().items())

    def load_state_dict(self, state, strict=True):
        """Copy arrays from ``state`` (name -> array) into the parameters and buffers, keeping
        each one's dtype and device. With ``strict=True`` the names must match exactly.
        Everything (names, shapes, dtypes) is checked and converted before anything is copied,
        so a bad checkpoint leaves the module as it was. Returns (missing_keys, unexpected_keys)."""
        own = OrderedDict(list(self.named_parameters()) + list(self.named_buffers()))
        missing = [k for k in own if k not in state]
        unexpected = [k for k in state if k not in own]
        if strict and (missing or unexpected):
            parts = []
            if missing:
                parts.append(f"missing keys {missing}")
            if unexpected:
                parts.append(f"unexpected keys {unexpected}")
            raise KeyError(f"load_state_dict into {type(self).__name__}: " + " and ".join(parts)
                           + f". The model expects {list(own)}; check that the checkpoint was "
                           "saved from the same architecture, or pass strict=False.")
        new = {}
        for name, t in own.items():
            if name not in state:
                continue
            value = state[name]
            value = value.data if isinstance(value, Tensor) else value
            if not backend.is_array(value):
                value = numpy.asarray(value)
            if tuple(value.shape) != tuple(t.shape):
                raise ValueError(f"load_state_dict: shape mismatch for {name!r}: the checkpoint "
                                 f"has {tuple(value.shape)} but the model has {tuple(t.shape)}")
            if value.dtype.kind not in "biuf" or (value.dtype.kind == "f") != (t.dtype.kind == "f"):
                raise TypeError(f"load_state_dict: {name!r} has dtype {value.dtype} in the "
                                f"checkpoint but {t.dtype} in the model; it cannot be loaded "
                                "(was the checkpoint written by Module.save of this model?)")
            if value.dtype.kind == "f" and not bool(backend.get_array_module(value).isfinite(value).all()):
                bad = int((~backend.get_array_module(value).isfinite(value)).sum())
                raise ValueError(f"load_state_dict: {name!r} holds {bad} NaN or Inf value(s) of "
                                 f"{value.size}: these weights come from a run that diverged; "
                                 "load an earlier checkpoint (or retrain with a lower learning rate)")
            xp = backend.get_array_module(t.data)
            new[name] = xp.array(backend.to_device(value, t.device), dtype=t.dtype, copy=True)
        for name, array in new.items():  # nothing above changed the module; now copy
            own[name].data = array
        return missing, unexpected

    def save(self, path):
        """Write ``state_dict()`` to ``path`` as an .npz archive, atomically (a crash midway
        leaves the previous file intact; see ``tinyae.io.save_npz_atomic``). Returns ``path``."""
        return save_npz_atomic(path, self._state_arrays())

    def load(self, path, strict=True):
        """Load parameters saved by ``save(path)``; returns the module. The whole file is read
        and checked before any parameter changes."""
        path = os.fspath(path)
        try:
            archive = numpy.load(path, allow_pickle=False)
            if not hasattr(archive, "files"):
                raise ValueError("it holds a single array, not named weights")
            with archive:
                if "tree.json" in archive.files:
                    raise NotAModelFile(
                        f"{path!r} is a training checkpoint (written by fit() or "
                        "save_checkpoint), not a model file: read it with "
                        "state, history = tinyae.train.load_checkpoint(path), then "
                        "model.load_state_dict(state['model'])")
                state = {k: archive[k] for k in archive.files}
        except (FileNotFoundError, NotAModelFile):
            raise
        except (OSError, ValueError, EOFError, zipfile.BadZipFile, KeyError) as err:
            raise ValueError(f"cannot load {path!r}: it is not an .npz file written by "
                             f"Module.save, or it is damaged ({type(err).__name__}: {err})") from err
        self.load_state_dict(state, strict=strict)
        return self

    # --- calling and printing ------------------------------------------------------------------
    def forward(self, *args, **kwargs):
        raise NotImplementedError(f"{type(self).__name__} must define forward()")

    def __call__(self, *args, **kwargs):
        output = self.forward(*args, **kwargs)
        note_call(self, args, kwargs, output)  # for drawings that fold each module's ops
        return output

    def extra_repr(self):
        """The text between the parentheses of this module's repr, e.g. 'in_features=784, …'."""
        return ""

    def __repr__(self):
        lines = [f"({name}): " + repr(child).replace("\n", "\n  ")
                 for name, child in self._modules.items()]
        if not lines:
            return f"{type(self).__name__}({self.extra_repr()})"
        head = f"{type(self).__name__}(" + (f"{self.extra_repr()}" if self.extra_repr() else "")
        return head + "\n  " + "\n  ".join(lines) + "\n)"


class ModuleList(Module):
    """A list of Modules whose parameters are registered; indexable (``ml[0]``, ``ml[-1]``,
    ``ml[1:]``), sized and iterable. It has no forward: loop over it in your own."""

    def __init__(self, *modules):
        super().__init__()
        if len(modules) == 1 and isinstance(modules[0], (list, tuple)):
            modules = modules[0]  # ModuleList([a, b]) as in PyTorch
        for module in modules:
            self.append(module)

    def append(self, module):
        if not isinstance(module, Module):
            raise TypeError(f"{type(self).__name__} takes Modules, got {type(module).__name__}; "
                            "wrap functions in a Module (e.g. nn.ReLU() instead of F.relu)")
        self._modules[str(len(self._modules))] = module
        return self

    def __getitem__(self, index):
        items = list(self._modules.values())
        if isinstance(index, slice):
            return type(self)(*items[index])
        try:
            return items[index]
        except IndexError:
            raise IndexError(f"index {index} is out of range for {type(self).__name__} "
                             f"of length {len(items)}") from None

    def __len__(self):
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules.values())


class Sequential(ModuleList):
    """Modules applied one after the other: ``Sequential(Linear(784, 32), ReLU())(x)``.
    Indexable (``seq[0]``, ``seq[-1]``, ``seq[1:]``), sized and iterable."""

    def forward(self, x):
        for module in self._modules.values():
            x = module(x)
        return x


class NotAModelFile(ValueError):
    """A readable .npz of another kind (a checkpoint where a model file was expected)."""
