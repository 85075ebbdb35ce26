"""The Optimizer base class: parameter groups, state, and one step's bookkeeping; the
update rules themselves are in rules.py. (Notation: tinyae/optim/__init__.py.)"""
import concurrent.futures
import math
import numbers

import numpy

from .. import backend
from ..threads import blas_threads
from ..tensor import Tensor


def _param_list(params, who):
    """A list of leaf Tensors from a list or a generator such as ``model.parameters()``."""
    if isinstance(params, Tensor):
        raise TypeError(f"{who}: params should be an iterable of Tensors, got a single Tensor; "
                        "wrap it in a list: [w]")
    params = list(params)
    if not params:
        raise ValueError(f"{who} got an empty parameter list: pass model.parameters() (if you "
                         "passed a generator, it may already have been used up)")
    seen = set()
    for i, p in enumerate(params):
        if not isinstance(p, Tensor):
            raise TypeError(f"{who}: params[{i}] is a {type(p).__name__}, not a Tensor")
        if not p.is_leaf:
            raise ValueError(f"{who}: params[{i}] was computed by an op; only leaf tensors (created "
                             "directly, e.g. Tensor(..., requires_grad=True)) can be optimized")
        if id(p) in seen:
            raise ValueError(f"{who}: params[{i}] appears twice; it would be updated twice per step")
        seen.add(id(p))
    return params


def _check(value, name, low=0.0, high=math.inf, high_open=False, finite=True):
    ok = isinstance(value, numbers.Real) and low <= value and (value < high if high_open else value <= high)
    if not ok or (finite and not math.isfinite(value)):
        bound = (f"in [{low:g}, {high:g})" if high_open else f"in [{low:g}, {high:g}]"
                 if high < math.inf else f"≥ {low:g}")
        raise ValueError(f"invalid {name}={value!r}: it must be a {'finite ' if finite else ''}"
                         f"number {bound}")


def _parallel(p):
    """Worth a thread of its own: a big parameter in a NumPy array (not CuPy: a GPU has its own)."""
    return type(p.data) is numpy.ndarray and p.data.size >= 2 ** 16


_pools = {}


def _pool(threads):
    """One thread pool per thread count, made when first needed and kept."""
    if threads not in _pools:
        _pools[threads] = concurrent.futures.ThreadPoolExecutor(threads, "tinyae-optim")
    return _pools[threads]


class Optimizer:
    """Base class. ``param_groups`` is a list of dicts, as in PyTorch: each holds ``'params'``
    (a list) and its own hyper-parameters (``'lr'``, …), so parts of a model can learn at
    different rates::

        Adam([{"params": model.encoder.parameters()},
              {"params": model.decoder.parameters(), "lr": 1e-4}], lr=1e-3)

    A plain list of parameters makes one group. ``state`` holds one dict of moment arrays per
    parameter (in the order of ``params``, all groups together). Subclasses write
    ``_update(p, g, state, tmp, h)`` on raw arrays: p the parameter, g its gradient, tmp a
    scratch array of p's shape, h the parameter's group (h["lr"], …)."""
    hyper = ()   # names of the hyper-parameters besides lr, saved by state_dict()
    limits = {}  # hyper-parameter -> keyword arguments of _check: the range it must lie in

    @classmethod
    def check_options(cls, h):
        """Raise ValueError for a hyper-parameter out of range. The one check of the options:
        the constructor's and every param group's values go through it (``limits``, and what a
        subclass adds)."""
        _check(h["lr"], "lr")
        for name, bounds in cls.limits.items():
            _check(h[name], name, **bounds)

    def __init__(self, params, defaults):
        self.defaults = defaults
        params = params if isinstance(params, Tensor) else list(params)
        is_groups = isinstance(params, list) and params and isinstance(params[0], dict)
        groups = params if is_groups else [{"params": params}]
        self.param_groups = []
        for group in groups:
            self.add_param_group(group)
        self.params = _param_list([p for g in self.param_groups for p in g["params"]],
                                  type(self).__name__)
        self.state = [{} for _ in self.params]
        self._scratch = [None] * len(self.params)

    def add_param_group(self, group):
        """Add ``{"params": [...], "lr": ..., ...}``; missing hyper-parameters take the defaults."""
        who = type(self).__name__
        if not isinstance(group, dict) or "params" not in group:
            raise TypeError(f"{who}: a param group is a dict with a 'params' key, e.g. "
                            "{'params': model.decoder.parameters(), 'lr': 1e-4}")
        unknown = sorted(set(group) - {"params", "lr", "initial_lr", *self.hyper})
        if unknown:
            raise ValueError(f"{who}: unknown option(s) {', '.join(map(repr, unknown))} in a param "
                             f"group; {who}'s options are: lr, {', '.join(self.hyper)}")
        own_options = len(group) > 1  # the group sets some options itself
        group = dict(self.defaults, **group)
        group["params"] = _param_list(group["params"], who)
        try:
            self.check_options(group)
        except ValueError as err:
            where = f" (param group {len(self.param_groups)})" if own_options else ""
            raise ValueError(f"{who}{where}: {err}") from None
        taken = {id(p) for g in self.param_groups for p in g["params"]}
        if any(id(p) in taken for p in group["params"]):
            raise ValueError(f"{who}: a parameter of this group is already in another group; it "
                             "would be updated twice per step (each parameter belongs to one group)")
        self.param_groups.append(group)
        if hasattr(self, "state"):  # after construction: extend the flat list and its state
            self.params += group["params"]
            self.state += [{} for _ in group["params"]]
            self._scratch += [None] * len(group["params"])

    @property
    def lr(self):
        """The learning rate of the first group (schedules set every group's)."""
        return self.param_groups[0]["lr"]

    @lr.setter
    def lr(self, value):
        for group in self.param_groups:
            group["lr"] = value

    @property
    def initial_lr(self):
        return self.param_groups[0].get("initial_lr")

    def __getattr__(self, name):
        # opt.momentum, opt.betas, …: the first group's value (read-only; set it in the groups)
        if name in type(self).hyper and "param_groups" in self.__dict__:
            return self.param_groups[0][name]
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def zero_grad(self, set_to_none=True):
        """Forget the gradients before the next backward pass: ``.grad = None`` (PyTorch's
        default), or with ``set_to_none=False`` fill the existing ``.grad`` with 0."""
        for p in self.params:
            if set_to_none or p.grad is None:
                p.grad = None
            else:
                p.grad.data[...] = 0

    threads = None  # threads for the update (None: NumPy's BLAS thread count, read at the first step)

    def step(self):
        """One update of every parameter that has a gradient and is not frozen (parameters with
        ``.grad`` None or ``requires_grad=False`` are skipped, their moments untouched)."""
        todo, i = [], 0
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is not None and p.requires_grad:
                    todo.append((i, p, group))
                i += 1
        if self.threads is None:
            self.threads = blas_threads()
        big = {i for i, p, _ in todo if _parallel(p)} if self.threads > 1 else set()
        largest_first = sorted((job for job in todo if job[0] in big), key=lambda job: -job[1].data.size)
        running = [_pool(self.threads).submit(self._step_one, *job) for job in largest_first]
        for job in todo:
            if job[0] not in big:
                self._step_one(*job)
        for future in running:
            future.result()  # waits, and raises what the update raised

    def _step_one(self, i, p, group):
        g = p.grad.data
        if g.shape != p.shape:
            raise ValueError(f"{type(self).__name__}: params[{i}] has shape {p.shape} but its "
                             f".grad has shape {g.shape}")
        tmp = self._scratch[i]
        if tmp is None or tmp.shape != p.shape or tmp.dtype != p.dtype or type(tmp) is not type(p.data):
            tmp = self._scratch[i] = backend.get_array_module(p.data).empty_like(p.data)
        self._update(p.data, g, self.state[i], tmp, group)
        p._version += 1  # p changed in place: a graph that still needs its old value will say so

    def _update(self, p, g, state, tmp, h):
        raise NotImplementedError

    def state_dict(self):
        """Everything needed to resume exactly, in PyTorch's layout: ``state`` (index -> NumPy
        copies of that parameter's moments) and ``param_groups`` (hyper-parameters, and the
        indices of their parameters)."""
        def saved(v):
            return backend.to_numpy(v).copy() if backend.is_array(v) else v
        groups, i = [], 0
        for group in self.param_groups:
            n = len(group["params"])
            groups.append(dict({k: v for k, v in group.items() if k != "params"},
                               params=list(range(i, i + n))))
            i += n
        return {"optimizer": type(self).__name__, "param_groups": groups,
                "state": {i: {k: saved(v) for k, v in s.items()} for i, s in enumerate(self.state)}}

    def load_state_dict(self, state_dict):
        """Restore what ``state_dict()`` saved (onto each parameter's device and dtype)."""
        name = type(self).__name__
        if state_dict.get("optimizer") != name:
            raise ValueError(f"this state dict belongs to {state_dict.get('optimizer')}, not {name}")
        state = {int(k): v for k, v in state_dict["state"].items()}  # keys are str in a checkpoint
        sizes = [len(g["params"]) for g in state_dict["param_groups"]]
        if sizes != [len(g["params"]) for g in self.param_groups]:
            raise ValueError(f"the state dict holds {sum(sizes)} parameters in groups of {sizes} "
                             f"but this {name} has {len(self.params)}: build the same model first")
        new_state = []
        for i, p in enumerate(self.params):
            restored = {}
            for k, v in state.get(i, {}).items():
                if backend.is_array(v):
                    if v.shape != p.shape:
                        raise ValueError(f"state of params[{i}] has shape {v.shape}, the parameter "
                                         f"has {p.shape}: build the same model first")
                    v = backend.to_device(v, p.device).astype(p.dtype)  # astype copies
                restored[k] = v
            new_state.append(restored)
        self.state = new_state
        for group, saved in zip(self.param_groups, state_dict["param_groups"]):
            group.update({k: tuple(v) if isinstance(v, list) else v
                          for k, v in saved.items() if k != "params"})

    def __repr__(self):
        hyper = ", ".join(f"{h}={self.param_groups[0][h]}" for h in self.hyper)
        groups = f"{len(self.param_groups)} groups, " if len(self.param_groups) > 1 else ""
        return f"{type(self).__name__}({len(self.params)} params, {groups}lr={self.lr}, {hyper})"


# --- gradient clipping -----------------------------------------------------------------------
def clip_grad_norm_(parameters, max_norm):
    """Rescale all gradients together so that their global L2 norm is at most ``max_norm``:

        ‖g‖ = √(Σ_params Σ g²);   if ‖g‖ > max_norm:  g ← g · max_norm / (‖g‖ + 1e-6)

    Returns ‖g‖ before clipping (a float). Parameters without a gradient are ignored."""
    params = _param_list(parameters, "clip_grad_norm_") if not isinstance(parameters, Tensor) else [parameters]
    _check(max_norm, "max_norm", finite=False)  # inf: measure the norm, clip nothing
    with_grad = [p for p in params if p.grad is not None]
    if not with_grad:
        return 0.0
    squares = [backend.get_array_module(p.grad.data).vdot(p.grad.data, p.grad.data) for p in with_grad]
    total = float(sum(squares)) ** 0.5
    coef = max_norm / (total + 1e-6)
    if coef < 1:
        for p in with_grad:
            # A new array: a .grad may be shared between tensors or be a read-only broadcast view.
            p.grad = Tensor(p.grad.data * coef, copy=False)
    return total
