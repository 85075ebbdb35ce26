"""Learning-rate schedules, in PyTorch's ``torch.optim.lr_scheduler`` names:
``optim.lr_scheduler.StepLR`` and ``optim.StepLR`` are the same class."""
import math

from ..arguments import positive_int
from .optimizer import Optimizer, _check


class LRScheduler:
    """Sets every param group's ``lr`` to a formula of t, the number of ``step()`` calls so far
    (call it once per epoch or once per batch, after ``optimizer.step()``). η₀ is the group's
    lr when its first schedule was attached (kept as ``group['initial_lr']``, as in PyTorch);
    at construction each lr is set to the formula at t = 0."""

    def __init__(self, optimizer):
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"{type(self).__name__} needs an Optimizer, got {type(optimizer).__name__}")
        self.optimizer, self.last_epoch = optimizer, 0
        self.base_lrs = [g.setdefault("initial_lr", g["lr"]) for g in optimizer.param_groups]
        self._set(0)

    def lr_at(self, t, base_lr):
        raise NotImplementedError

    def _set(self, t):
        for group, base in zip(self.optimizer.param_groups, self.base_lrs):
            group["lr"] = self.lr_at(t, base)

    def step(self):
        self.last_epoch += 1
        self._set(self.last_epoch)

    def get_last_lr(self):
        """The current learning rate of each param group."""
        return [g["lr"] for g in self.optimizer.param_groups]

    def state_dict(self):
        return {"last_epoch": self.last_epoch}

    def load_state_dict(self, state_dict):
        self.last_epoch = state_dict["last_epoch"]
        self._set(self.last_epoch)


class StepLR(LRScheduler):
    """η_t = η₀ γ^⌊t / step_size⌋: multiply lr by γ every ``step_size`` steps."""
    def __init__(self, optimizer, step_size, gamma=0.1):
        positive_int(step_size, "step_size")
        _check(gamma, "gamma")
        self.step_size, self.gamma = step_size, gamma
        super().__init__(optimizer)

    def lr_at(self, t, base_lr):
        return base_lr * self.gamma ** (t // self.step_size)


class ExponentialLR(LRScheduler):
    """η_t = η₀ γᵗ."""
    def __init__(self, optimizer, gamma):
        _check(gamma, "gamma")
        self.gamma = gamma
        super().__init__(optimizer)

    def lr_at(self, t, base_lr):
        return base_lr * self.gamma ** t


class CosineAnnealingLR(LRScheduler):
    """η_t = η_min + ½(η₀ − η_min)(1 + cos(π t / T_max)): from η₀ down to η_min at t = T_max."""
    def __init__(self, optimizer, T_max, eta_min=0):
        positive_int(T_max, "T_max")
        _check(eta_min, "eta_min")
        self.T_max, self.eta_min = T_max, eta_min
        super().__init__(optimizer)

    def lr_at(self, t, base_lr):
        return self.eta_min + 0.5 * (base_lr - self.eta_min) * (1 + math.cos(math.pi * t / self.T_max))


class LinearWarmup(LRScheduler):
    """η_t = η₀ (t + 1) / W for the first W = ``warmup_steps`` steps, then η₀, or the schedule
    ``then`` counted from the end of the warm-up:

        sched = LinearWarmup(opt, 100, then=CosineAnnealingLR(opt, T_max=900))
        ... sched.step()   # step only the warm-up; it drives ``then``
    """
    def __init__(self, optimizer, warmup_steps, then=None):
        positive_int(warmup_steps, "warmup_steps")
        if then is not None and getattr(then, "optimizer", None) is not optimizer:
            raise ValueError("then= must be a schedule built on the same optimizer")
        self.warmup_steps, self.then = warmup_steps, then
        super().__init__(optimizer)

    def lr_at(self, t, base_lr):
        if t < self.warmup_steps:
            return base_lr * (t + 1) / self.warmup_steps
        return self.then.lr_at(t - self.warmup_steps, base_lr) if self.then is not None else base_lr
