"""``History``: what fit() records, one list per quantity, one entry per epoch."""
import json


class History(dict):
    """Per-epoch records, a dict of lists: ``history['train_loss'][e]`` is epoch e + 1's value.

    Keys: 'epoch', 'train_loss', 'val_loss' and 'val_<metric>' (with a val_loader), 'lr' (the
    learning rate used in that epoch) and 'epoch_time' (seconds, training + validation).
    ``stopped_early`` and ``best_epoch`` say what early stopping did."""

    def __init__(self, records=None, stopped_early=False, best_epoch=None):
        super().__init__(records or {})
        self.stopped_early, self.best_epoch = stopped_early, best_epoch

    @property
    def epochs(self):
        return len(self.get("epoch", []))

    def append(self, record):
        for key, value in record.items():
            self.setdefault(key, []).append(value)

    def to_json(self):
        return json.dumps({"records": dict(self), "stopped_early": self.stopped_early,
                           "best_epoch": self.best_epoch})

    @classmethod
    def from_json(cls, text):
        d = json.loads(text)
        return cls(d["records"], d["stopped_early"], d["best_epoch"])

    def line(self, i=-1):
        """One epoch as a line: 'epoch 3  train_loss 0.1012  val_loss 0.0998  ...  (1.2 s)'."""
        parts = [f"{k} {v[i]:.4g}" for k, v in self.items() if k not in ("epoch", "epoch_time")]
        return f"epoch {self['epoch'][i]}  " + "  ".join(parts) + f"  ({self['epoch_time'][i]:.1f} s)"

    def table(self):
        keys = list(self)
        rows = [[f"{v:.4g}" if isinstance(v, float) else str(v) for v in r]
                for r in zip(*(self[k] for k in keys))]
        widths = [max(len(k), *(len(r[j]) for r in rows)) for j, k in enumerate(keys)]
        lines = ["  ".join(k.rjust(w) for k, w in zip(keys, widths))]
        lines += ["  ".join(c.rjust(w) for c, w in zip(r, widths)) for r in rows]
        return "\n".join(lines)

    def __repr__(self):
        return f"History({dict(self)!r}, stopped_early={self.stopped_early}, best_epoch={self.best_epoch})"
