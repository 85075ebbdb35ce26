"""The training loop, ``fit()``, and ``evaluate()``; their loss convention.

    from tinyae import optim
    from tinyae.data import DataLoader
    from tinyae.models import MLPAutoencoder
    from tinyae.train import fit

    model = MLPAutoencoder([784, 32], reconstruction="bce")
    history = fit(model, optim.Adam(model.parameters()),
                  DataLoader(x_train, batch_size=256, shuffle=True), epochs=10,
                  val_loader=DataLoader(x_test, batch_size=1000), seed=0)

THE loss convention: fit() minimises the model's own objective, ``model.loss(batch)`` (every
autoencoder in tinyae.models has one), unless you pass ``loss_fn=``. ``batch`` is the loader's
item wrapped into Tensors (no requires_grad): a Tensor ``x``, or a tuple ``(x, y)``, which is
unpacked: ``model.loss(x, y)``.
``loss_fn=`` replaces it, in one of two forms, told apart by the function's first parameter:

    loss_fn(model, batch) -> scalar Tensor     any objective (a denoiser that corrupts x first,
                                               a classifier head on a trained encoder, ...)
    loss(pred, target) -> scalar Tensor        a plain loss: ``losses.mse``, ``losses.bce``, your
                                               own ``def my_mse(pred, target)``, ``nn.MSELoss()``
                                               or a ``functools.partial`` of one; fit() calls it
                                               as ℓ(model(x), x) (``target='input'``, default,
                                               an autoencoder) or ℓ(model(x), y) (``target='label'``)

A first parameter named like a prediction (pred, input, output, logits, r, recon, y_pred, ...)
or a loss from ``tinyae.losses`` / ``tinyae.nn`` is the plain form; anything else (``model``,
``m``, ``net``, ...) the (model, batch) form. A function taking fewer than two arguments is
refused with both forms shown. ``as_loss_fn(loss, target)`` does the wrapping by hand:
``fit(net, opt, loader, 10, loss_fn=losses.cross_entropy, target='label')``.

Each step is the one from the notes: forward to L, backward to θ̄ = ∂L/∂θ, ``optimizer.step()``.
The epoch's ``train_loss`` is the sample-weighted mean of the batch losses.
"""
import functools
import inspect
import math
import os
import time

from tqdm.auto import tqdm

from ..arguments import positive_int
from ..backend import get_array_module
from ..autograd import no_grad
from ..nn import Module
from ..optim import clip_grad_norm_
from ..tensor import Tensor
from . import checkpoint
from .history import History
from .seeding import find_generators, seed_everything


# --- the loss convention ---------------------------------------------------------------------
def as_loss_fn(loss, target="input"):
    """Turn a plain loss ``loss(pred, target)`` into the ``loss_fn(model, batch)`` fit() calls:
    ``target='input'`` compares model(x) with x itself, ``target='label'`` with y of (x, y)."""
    if target not in ("input", "label"):
        raise ValueError(f"target must be 'input' (reconstruct x) or 'label' (predict y), "
                         f"got {target!r}")

    def loss_fn(model, batch):
        x = batch[0] if isinstance(batch, tuple) else batch
        if target == "input":
            return loss(model(x), x)
        if not isinstance(batch, tuple):
            raise ValueError("target='label' needs (x, y) batches: give the DataLoader y")
        return loss(model(x), batch[1])
    name = getattr(getattr(loss, "func", loss), "__name__", "loss")
    loss_fn.__name__ = f"{name}(model(x), {'x' if target == 'input' else 'y'})"
    return loss_fn


def model_loss(model, batch):
    """The default objective: the model's own ``model.loss(batch)`` (a tuple batch unpacked)."""
    return model.loss(*batch) if isinstance(batch, tuple) else model.loss(batch)


def _loss_hook(loss_fn, model, target):
    """The ``loss_fn(model, batch)`` to call: the model's own objective when loss_fn is None."""
    if loss_fn is not None:
        return _hook(loss_fn, target, "loss_fn")
    if not callable(getattr(model, "loss", None)):
        raise TypeError(f"{type(model).__name__} has no .loss(batch) method, so there is no "
                        "objective to minimise: pass loss_fn=..., e.g. loss_fn=losses.mse "
                        "(compares model(x) with x), loss_fn=losses.cross_entropy with "
                        "target='label', or a function loss_fn(model, batch) -> scalar Tensor")
    return model_loss


# First parameter names that mean "the model's output": fn(pred, target) is a plain loss.
PREDICTION_NAMES = {"pred", "preds", "prediction", "predictions", "input", "inputs", "output",
                    "outputs", "out", "logits", "scores", "r", "recon", "reconstruction",
                    "y_pred", "y_hat", "yhat", "x_hat", "xhat"}


def _hook(fn, target, what):
    """The ``fn(model, batch)`` to call for a loss_fn (or metric) in either form (see above)."""
    if not callable(fn):
        raise TypeError(f"{what} must be a function loss_fn(model, batch) or loss(pred, target) "
                        f"-> scalar Tensor, got {type(fn).__name__}")
    return as_loss_fn(fn, target) if _is_plain_loss(fn, what) else fn


def _is_plain_loss(fn, what):
    """True for loss(pred, target), False for loss_fn(model, batch), judged by the parameters."""
    inner = getattr(fn, "func", fn)  # a functools.partial of a loss
    module = getattr(inner, "__module__", None) or ""
    if isinstance(inner, Module) or module.startswith(("tinyae.losses", "tinyae.nn")):
        return True
    try:
        parameters = list(inspect.signature(fn).parameters.values())
    except (TypeError, ValueError):  # a builtin without a signature: the (model, batch) form
        return False
    positional = [p for p in parameters if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    if len(positional) < 2 and not any(p.kind == p.VAR_POSITIONAL for p in parameters):
        raise TypeError(
            f"{what}={getattr(fn, '__name__', fn)!r} takes {len(positional)} argument(s); fit() "
            "calls either loss_fn(model, batch) -> scalar Tensor (any objective) or a plain "
            "loss(pred, target) -> scalar Tensor (compared with x, or with y for target='label')")
    return bool(positional) and positional[0].name.lower() in PREDICTION_NAMES


def _as_tensors(batch):
    """The loader's item as Tensors: no copy, no requires_grad (the data is not trained)."""
    if isinstance(batch, (tuple, list)):
        return tuple(b if isinstance(b, Tensor) else Tensor(b) for b in batch)
    return batch if isinstance(batch, Tensor) else Tensor(batch)


def _batch_size(batch):
    first = batch[0] if isinstance(batch, tuple) else batch
    return first.shape[0] if first.ndim else 1


def _scalar(value, what):
    """A float from a scalar Tensor or number (this read is the step's one device sync)."""
    if isinstance(value, Tensor):
        if value.size != 1:
            raise ValueError(f"{what} returned a Tensor of shape {value.shape}; it must return a "
                             "scalar: reduce it with .mean() or .sum()")
        return float(value.item())
    try:
        return float(value)
    except (TypeError, ValueError):
        raise TypeError(f"{what} must return a scalar Tensor or a number, got "
                        f"{type(value).__name__}") from None


# --- evaluation ------------------------------------------------------------------------------
def evaluate(model, loader, loss_fn=None, metrics=None, target="input"):
    """Mean loss (and metrics) over ``loader`` under ``no_grad()`` and ``model.eval()``:
    ``{'loss': ..., name: ...}``, each the sample-weighted mean over batches. The loss is
    ``model.loss(batch)`` unless ``loss_fn`` is given (as in fit()). The model's train/eval mode
    is put back afterwards."""
    loss_fn = _loss_hook(loss_fn, model, target)
    metrics = {k: _hook(f, target, f"metric {k!r}") for k, f in (metrics or {}).items()}
    sums, count, was_training = dict.fromkeys(["loss", *metrics], 0.0), 0, model.training
    model.eval()
    try:
        with no_grad():
            for batch in loader:
                batch = _as_tensors(batch)
                n = _batch_size(batch)
                sums["loss"] += n * _scalar(loss_fn(model, batch), "loss_fn")
                for k, f in metrics.items():
                    sums[k] += n * _scalar(f(model, batch), f"metric {k!r}")
                count += n
    finally:
        model.train(was_training)
    if count == 0:
        raise ValueError("the validation loader yielded no batches")
    return {k: v / count for k, v in sums.items()}


# --- fit -------------------------------------------------------------------------------------
def _check_args(model, optimizer, epochs, checkpoint_every, clip_grad, early_stopping,
                val_loader, metrics, resume, checkpoint_dir):
    if not isinstance(model, Module):
        raise TypeError(f"model must be a tinyae.nn.Module, got {type(model).__name__}")
    if not (hasattr(optimizer, "step") and hasattr(optimizer, "zero_grad")):
        raise TypeError(f"optimizer must be a tinyae.optim optimizer, got {type(optimizer).__name__} "
                        "(the order is fit(model, optimizer, train_loader, epochs, loss_fn=None, ...))")
    positive_int(epochs, "epochs")
    positive_int(checkpoint_every, "checkpoint_every")
    if clip_grad is not None and not (isinstance(clip_grad, (int, float)) and clip_grad > 0):
        raise ValueError(f"clip_grad must be a positive max norm or None, got {clip_grad!r}")
    if early_stopping is not None:
        positive_int(early_stopping, "early_stopping (the patience in epochs)")
    if (early_stopping or metrics) and val_loader is None:
        raise ValueError("early_stopping and metrics are computed on validation data: pass val_loader")
    if resume and checkpoint_dir is None:
        raise ValueError("resume=True needs checkpoint_dir: the folder fit() saved checkpoints to")


def _explain_bad_calls(function):
    """A call Python cannot bind (an earlier release's argument order, a missing argument) gets
    fit's signature and the likely fix, instead of "got multiple values for argument 'epochs'"."""
    signature = inspect.signature(function)

    @functools.wraps(function)
    def checked(*args, **kwargs):
        try:
            signature.bind(*args, **kwargs)
        except TypeError as err:
            hint = ""
            if len(args) > 1 and callable(args[1]) and not hasattr(args[1], "step"):
                hint = (f" The second argument is {getattr(args[1], '__name__', args[1])!r}, a "
                        "function, where the optimizer goes: the loss comes last now, as "
                        "fit(model, optimizer, loader, epochs, loss_fn=losses.bce).")
            raise TypeError(f"fit(): {err}. The call is fit(model, optimizer, train_loader, "
                            f"epochs, loss_fn=None, val_loader=None, ...).{hint}") from None
        return function(*args, **kwargs)
    return checked


@_explain_bad_calls
def fit(model, optimizer, train_loader, epochs, loss_fn=None, val_loader=None, metrics=None,
        scheduler=None, clip_grad=None, early_stopping=None, checkpoint_dir=None,
        checkpoint_every=1, resume=False, seed=None, progress=True, verbose=True,
        target="input", rngs=None, on_epoch_end=None, monitor="val_loss"):
    """Train ``model`` for ``epochs`` epochs (the total, also when resuming); returns a History.

    loss_fn          None (default): the model's own objective ``model.loss(batch)``. Or
                     ``loss_fn(model, batch) -> scalar Tensor`` (see the module docstring), or a
                     plain (pred, target) loss from tinyae.losses, wrapped with ``target``.
    val_loader       evaluated after each epoch under no_grad() and model.eval() -> 'val_loss'.
    metrics          {name: fn(model, batch) -> number}, on the val_loader -> 'val_<name>'.
    scheduler        stepped once per epoch (a plateau schedule gets the val or train loss).
    clip_grad        rescale the gradients to this global L2 norm at most (clip_grad_norm_).
    early_stopping   patience: stop after this many epochs without a lower val_loss. The model
                     then ends with the weights of its best epoch (restored, and said so).
    monitor          what "best" means for early_stopping and a plateau scheduler: 'val_loss'
                     (default; 'train_loss' without a val_loader) or a metric, 'val_<name>'
                     (lower is better: an error rate, as the papers that stop on validation
                     error do).
    checkpoint_dir   every ``checkpoint_every`` epochs (and at the last) write
                     ``checkpoint_dir/checkpoint.npz``: model, optimizer, scheduler, history,
                     epoch, early-stopping state and every random generator's state.
    resume           continue from that checkpoint: gives the same losses as an uninterrupted run.
    seed             seed NumPy's global generator, the loaders' shuffling, dropout/noise
                     generators in the model or tinyae.functional.random, and ``rngs`` (a dict
                     of extra numpy Generators your loss_fn draws from). Same seed, same numbers.
    progress         a tqdm bar per epoch with the running loss, shown only when stderr is a
                     terminal (a log file gets no bar); verbose: one line per epoch.
    on_epoch_end     called as ``on_epoch_end(epoch, history)`` after each epoch.

    A NaN/Inf loss or gradient stops training with FloatingPointError naming it (that batch's
    update is not applied).
    """
    _check_args(model, optimizer, epochs, checkpoint_every, clip_grad, early_stopping,
                val_loader, metrics, resume, checkpoint_dir)
    if monitor != "val_loss" and (val_loader is None or monitor[4:] not in (metrics or {})
                                  or not monitor.startswith("val_")):
        raise ValueError(f"monitor={monitor!r}: early stopping can watch 'val_loss' or a metric "
                         f"computed on the val_loader, 'val_<name>' for a name in metrics= "
                         f"({', '.join(f'val_{k}' for k in (metrics or {})) or 'none given'})")
    loss_fn = _loss_hook(loss_fn, model, target)
    metrics = {k: _hook(f, target, f"metric {k!r}") for k, f in (metrics or {}).items()}
    params = list(model.parameters())
    generators = find_generators(model, {"train_loader": train_loader, "val_loader": val_loader}, rngs)
    if seed is not None:
        seed_everything(seed, generators)
    history, start = History(), 0
    # the best monitored value so far ("val_loss" names it, whatever `monitor` watches: the key
    # checkpoints have always stored), its epoch and weights, and the epochs since it
    best = {"val_loss": math.inf, "epoch": None, "weights": None, "bad_epochs": 0}
    path = os.path.join(os.fspath(checkpoint_dir), checkpoint.CHECKPOINT_NAME) if checkpoint_dir is not None else None
    if path is not None:
        os.makedirs(os.path.dirname(path), exist_ok=True)
    if resume and os.path.exists(path):
        start, history, best = checkpoint.restore(path, model, optimizer, scheduler, generators)
        _say(verbose, f"resumed from {path} after epoch {start}")
    elif resume:
        _say(verbose, f"no checkpoint in {checkpoint_dir} yet: starting from epoch 1")

    for epoch in range(start + 1, epochs + 1):
        if history.stopped_early:
            break
        began, lr = time.perf_counter(), optimizer.lr
        bar = tqdm(train_loader, desc=f"epoch {epoch}/{epochs}", unit="batch", leave=False,
                   disable=None if progress else True,  # None: only on a terminal, never
                   dynamic_ncols=True)                    # carriage returns in a log file
        record = {"epoch": epoch, "train_loss": _train_epoch(model, loss_fn, optimizer, bar,
                                                            params, clip_grad, epoch)}
        if val_loader is not None:
            result = evaluate(model, val_loader, loss_fn, metrics)
            record["val_loss"] = result.pop("loss")
            record.update({f"val_{k}": v for k, v in result.items()})
        record.update(lr=lr, epoch_time=time.perf_counter() - began)
        history.append(record)
        monitored = record.get(monitor, record["train_loss"])  # no val_loader: the train loss
        if scheduler is not None:
            scheduler.step(monitored) if _wants_value(scheduler) else scheduler.step()
        if early_stopping is not None:
            if monitored < best["val_loss"]:
                best.update(val_loss=monitored, epoch=epoch, weights=model.state_dict(), bad_epochs=0)
            else:
                best["bad_epochs"] += 1
            history.best_epoch = best["epoch"]
            history.stopped_early = best["bad_epochs"] >= early_stopping
        if path is not None and (epoch % checkpoint_every == 0 or epoch == epochs or history.stopped_early):
            checkpoint.save(path, epoch, model, optimizer, scheduler, generators, best, history)
        _say(verbose, f"{history.line()}")
        if on_epoch_end is not None:
            on_epoch_end(epoch, history)

    if history.stopped_early:
        _say(verbose, f"early stopping: no lower {monitor} for {early_stopping} epochs")
    if early_stopping is not None and best["weights"] is not None:
        model.load_state_dict(best["weights"])
        _say(verbose, f"restored the weights of the best epoch, {best['epoch']} "
                      f"({monitor} {best['val_loss']:.4g})")
    return history


def _wants_value(scheduler):
    """True for a plateau-style schedule whose step(value) needs the monitored loss."""
    parameters = inspect.signature(scheduler.step).parameters.values()
    return any(p.default is p.empty and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
               for p in parameters)


def _say(verbose, text):
    if verbose:
        tqdm.write(text)  # does not break a progress bar that is on screen


def _with_gradients(loss, params):
    """loss + 0·Σ_p Σ p̄: the loss itself while every gradient is finite, NaN as soon as one
    element of one is not. Reading this one number checks the loss and every gradient at
    once (one read per step, which on a GPU is the step's one sync)."""
    total = loss.data
    for p in params:
        if p.grad is not None:
            total = total + 0 * p.grad.data.sum()
    return Tensor(total, copy=False)


def _stop_on_non_finite(loss, model, optimizer, epoch, i):
    """Stop before the update, saying whether the loss or which gradient is not finite (or
    return the loss, where only the check's sum of huge finite gradients overflowed)."""
    where = f"at epoch {epoch}, batch {i + 1}; stopped before applying that update"
    value = float(loss.item())
    if not math.isfinite(value):
        raise FloatingPointError(
            f"the training loss is {value} {where}. Try a lower learning rate (now "
            f"{optimizer.lr:g}), clip_grad=1.0, or find the first op making NaN/Inf with "
            "`with tinyae.detect_anomaly(): fit(...)`")
    name = next((name for name, p in model.named_parameters() if p.grad is not None and
                 not bool(get_array_module(p.grad.data).isfinite(p.grad.data).all())), None)
    if name is None:  # every gradient is finite; only a sum of huge ones overflowed
        return value
    raise FloatingPointError(
        f"the gradient of parameter {name!r} has NaN or Inf {where} (the loss, {value:.6g}, is "
        "finite: an op's backward gave NaN, e.g. sqrt or log at 0). Find the op with "
        "`with tinyae.detect_anomaly(): fit(...)`")


def _train_epoch(model, loss_fn, optimizer, bar, params, clip_grad, epoch):
    """One pass over the training data: per batch forward, backward, step. Nothing else is
    kept, so the graph of each batch is freed before the next one starts."""
    model.train()
    total, count = 0.0, 0
    for i, batch in enumerate(bar):
        batch = _as_tensors(batch)
        loss = loss_fn(model, batch)
        if not isinstance(loss, Tensor):
            raise TypeError(f"loss_fn must return a scalar Tensor, got {type(loss).__name__}")
        if not loss.requires_grad:
            raise ValueError("the loss does not depend on any trainable parameter (requires_grad "
                             "is False): does loss_fn call the model, outside no_grad()?")
        if loss.size != 1:
            _scalar(loss, "loss_fn")  # raises, saying how to reduce it
        optimizer.zero_grad()
        loss.backward()
        value = _scalar(_with_gradients(loss, params), "loss_fn")
        if not math.isfinite(value):
            value = _stop_on_non_finite(loss, model, optimizer, epoch, i)
        if clip_grad is not None:
            clip_grad_norm_(params, clip_grad)
        optimizer.step()
        n = _batch_size(batch)
        total, count = total + value * n, count + n
        bar.set_postfix_str(f"loss={total / count:.4g}", refresh=False)
    if count == 0:
        raise ValueError("the training loader yielded no batches (drop_last with fewer samples "
                         "than batch_size?)")
    return total / count
