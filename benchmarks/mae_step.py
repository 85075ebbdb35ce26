"""One training step of lesson 15's masked autoencoder, in tinyae and in PyTorch, in one run.

    python benchmarks/mae_step.py                   # lesson 15 model, batch 64, 2 threads
    python benchmarks/mae_step.py --steps 20 --profile

A step, in both frameworks: zero_grad → forward (75% random masking, encoder on the kept
patches, decoder with mask tokens) → MSE on the hidden patches → backward → Adam (lr 1e-3).
The PyTorch model is the same network written with torch.nn (Linear, LayerNorm, GELU 'tanh',
F.scaled_dot_product_attention, torch.gather for masking), started from tinyae's weights and
given the same masks, so the first losses agree (checked). Both get the same thread count.
``--profile`` prints where tinyae's step spends its time (cProfile, by function).
"""
import argparse
import cProfile
import io
import os
import pstats
import re
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))


def positive_int(text):
    """argparse type: an int ≥ 1 (defined here: the threads must be set before NumPy loads)."""
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {text}")
    return value


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--batch", type=positive_int, default=64)
    p.add_argument("--steps", type=positive_int, default=100, help="timed steps (after 5 warm-up steps)")
    p.add_argument("--threads", type=positive_int, default=2)
    p.add_argument("--profile", action="store_true")
    return p.parse_args(argv)


ARGS = parse_args()
for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[var] = str(ARGS.threads)

import numpy as np  # noqa: E402

from tinyae import optim  # noqa: E402
from tinyae.models import MaskedAutoencoder  # noqa: E402

CONFIG = dict(image_size=28, patch=4, dim=64, depth=2, heads=4, decoder_dim=32, decoder_depth=1)


def torch_mae(tiny):
    """The same network in PyTorch, with tinyae's weights copied in."""
    import torch
    import torch.nn.functional as TF
    from torch import nn

    class Block(nn.Module):
        def __init__(self, dim, heads, hidden):
            super().__init__()
            self.heads = heads
            self.norm1, self.norm2 = nn.LayerNorm(dim), nn.LayerNorm(dim)
            self.q, self.k, self.v, self.proj = (nn.Linear(dim, dim) for _ in range(4))
            self.fc1, self.fc2 = nn.Linear(dim, hidden), nn.Linear(hidden, dim)

        def forward(self, x):
            n, t, d = x.shape
            h = self.norm1(x)
            q, k, v = (f(h).view(n, t, self.heads, -1).transpose(1, 2) for f in (self.q, self.k, self.v))
            a = TF.scaled_dot_product_attention(q, k, v).transpose(1, 2).reshape(n, t, d)
            x = x + self.proj(a)
            return x + self.fc2(TF.gelu(self.fc1(self.norm2(x)), approximate="tanh"))

    class MAE(nn.Module):
        def __init__(self):
            super().__init__()
            c = CONFIG
            self.p, self.g = c["patch"], c["image_size"] // c["patch"]
            self.patch_embed = nn.Linear(self.p ** 2, c["dim"])
            self.register_buffer("pos_embed", torch.tensor(tiny.pos_embed.data))
            self.blocks = nn.ModuleList(Block(c["dim"], c["heads"], 4 * c["dim"]) for _ in range(c["depth"]))
            self.norm = nn.LayerNorm(c["dim"])
            self.decoder_embed = nn.Linear(c["dim"], c["decoder_dim"])
            self.mask_token = nn.Parameter(torch.zeros(1, 1, c["decoder_dim"]))
            self.register_buffer("decoder_pos_embed", torch.tensor(tiny.decoder_pos_embed.data))
            self.decoder_blocks = nn.ModuleList(Block(c["decoder_dim"], c["heads"], 4 * c["decoder_dim"])
                                                for _ in range(c["decoder_depth"]))
            self.decoder_norm = nn.LayerNorm(c["decoder_dim"])
            self.decoder_pred = nn.Linear(c["decoder_dim"], self.p ** 2)

        def patchify(self, x):
            n, g, p = x.shape[0], self.g, self.p
            return x.view(n, g, p, g, p).permute(0, 1, 3, 2, 4).reshape(n, g * g, p * p)

        def loss(self, x, ids_shuffle, keep):
            target = self.patchify(x)
            t = self.patch_embed(target) + self.pos_embed
            n, P, d = t.shape
            ids_restore = torch.argsort(ids_shuffle, dim=1)
            t = torch.gather(t, 1, ids_shuffle[:, :keep, None].expand(-1, -1, d))
            for b in self.blocks:
                t = b(t)
            y = self.decoder_embed(self.norm(t))
            dd = y.shape[-1]
            y = torch.cat([y, self.mask_token.expand(n, P - keep, dd)], dim=1)
            y = torch.gather(y, 1, ids_restore[:, :, None].expand(-1, -1, dd)) + self.decoder_pos_embed
            for b in self.decoder_blocks:
                y = b(y)
            pred = self.decoder_pred(self.decoder_norm(y))
            mask = torch.ones(n, P)
            mask[:, :keep] = 0
            mask = torch.gather(mask, 1, ids_restore)
            return (((pred - target) ** 2).mean(-1) * mask).sum() / mask.sum()

    model = MAE()
    with torch.no_grad():
        tiny_params = dict(tiny.named_parameters())
        for name, p in model.named_parameters():  # tinyae keeps q, k, v, proj in block.attn
            tiny_name = re.sub(r"\.(q|k|v|proj)\.", r".attn.\1.", name)
            p.copy_(torch.tensor(tiny_params[tiny_name].data))
    return model


def masks(batch, seed):
    """The masking that tinyae draws (argsort of uniform noise), as ids_shuffle."""
    return np.argsort(np.random.default_rng(seed).random((batch, 49)), axis=1)


def main():
    import torch
    torch.set_num_threads(ARGS.threads)
    rng = np.random.default_rng(0)
    from tinyae.data import load_mnist
    x_all = load_mnist("train", fallback="embedded")[0]
    batches = [x_all[rng.integers(0, len(x_all), ARGS.batch)] for _ in range(8)]

    tiny = MaskedAutoencoder(**CONFIG, rng=0, mask_seed=0)
    ref = torch_mae(tiny)
    keep = int(49 * 0.25)
    tiny.mask_rng = np.random.default_rng(123)
    l_tiny = tiny.loss(batches[0]).item()
    l_torch = ref.loss(torch.tensor(batches[0]), torch.tensor(masks(ARGS.batch, 123)), keep).item()
    print(f"first loss, same weights and masks: tinyae {l_tiny:.6f}  PyTorch {l_torch:.6f}")
    assert abs(l_tiny - l_torch) < 1e-4 * max(1.0, abs(l_torch)), "the two models differ"

    opt = optim.Adam(tiny.parameters(), lr=1e-3)
    topt = torch.optim.Adam(ref.parameters(), lr=1e-3)
    ids = [torch.tensor(masks(ARGS.batch, s)) for s in range(8)]
    tx = [torch.tensor(b) for b in batches]

    def tiny_step(i):
        opt.zero_grad()
        tiny.loss(batches[i % 8]).backward()
        opt.step()

    def torch_step(i):
        topt.zero_grad()
        ref.loss(tx[i % 8], ids[i % 8], keep).backward()
        topt.step()

    times = {}
    for name, step in (("tinyae", tiny_step), ("torch", torch_step)):
        for i in range(5):
            step(i)
        start = time.perf_counter()
        for i in range(ARGS.steps):
            step(i)
        times[name] = (time.perf_counter() - start) / ARGS.steps
    print(f"batch {ARGS.batch}, {ARGS.threads} threads, {ARGS.steps} timed steps")
    print(f"tinyae  {1000 * times['tinyae']:7.1f} ms/step")
    print(f"PyTorch {1000 * times['torch']:7.1f} ms/step")
    print(f"ratio tinyae/PyTorch: {times['tinyae'] / times['torch']:.2f} (target ≤ 1.5)")

    if ARGS.profile:
        prof = cProfile.Profile()
        prof.enable()
        for i in range(10):
            tiny_step(i)
        prof.disable()
        out = io.StringIO()
        stats = pstats.Stats(prof, stream=out).sort_stats("tottime")
        stats.print_stats(18)
        print(out.getvalue())
        by_op = {}
        for (file, line, fn), (cc, nc, tt, ct, callers) in stats.stats.items():
            if fn in ("forward", "backward") and "tinyae" in file:
                key = f"{os.path.basename(file)}:{line} {fn}"
                by_op[key] = by_op.get(key, 0.0) + tt
        total = sum(v for (_, _, _, v, _) in [(0, 0, 0, s[2], 0) for s in stats.stats.values()])
        print(f"profiled 10 steps: {total:.2f} s in all; own time of ops' forward/backward "
              f"methods {sum(by_op.values()):.2f} s; the rest is NumPy calls made by backward "
              "formulas (ufunc reduce, matmul), the engine's bookkeeping and the optimizer")


if __name__ == "__main__":
    main()
