"""The CNN most students train first, one training step in tinyae and in PyTorch, in one run.

    python benchmarks/cnn_step.py                 # 1 and 2 threads, 20 timed steps per round
    python benchmarks/cnn_step.py --steps 50 --rounds 5

The network of PyTorch's examples `mnist/main.py`: Conv2d 1→32 and 32→64 (3×3), ReLU, max-pool
2, Dropout 0.25, Linear 9216→128, ReLU, Dropout 0.5, Linear 128→10, log-softmax, NLL loss,
Adadelta (lr 1), batch 64 of 28×28 images. Both frameworks start from the same weights. The
rounds alternate between the frameworks (so that a change in the machine's load hits both
alike) and each reports, per step: wall time, user and kernel (system) CPU time, and page
faults. The table gives the best round of each and the ratios tinyae / PyTorch; the load
average is printed with it, because on a busy machine every number is larger. Both run in
one process, so both get tinyae's allocator policy (tinyae/allocator.py): the kernel-time
column compares the frameworks' own work, not glibc's defaults.
"""
import argparse
import os
import resource
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy as np  # noqa: E402


def training_step(lib, weights, batches):
    """One training step of the network in ``lib`` (tinyae or torch: the same code, as their
    names agree), started from ``weights`` (name → NumPy array): ``step(i)`` trains on
    ``batches[i % len(batches)]``, a list of (images, labels) NumPy arrays."""
    nn, F = lib.nn, lib.nn.functional

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1, self.conv2 = nn.Conv2d(1, 32, 3, 1), nn.Conv2d(32, 64, 3, 1)
            self.dropout1, self.dropout2 = nn.Dropout(0.25), nn.Dropout(0.5)
            self.fc1, self.fc2 = nn.Linear(9216, 128), nn.Linear(128, 10)

        def forward(self, x):
            x = F.max_pool2d(F.relu(self.conv2(F.relu(self.conv1(x)))), 2)
            x = F.relu(self.fc1(lib.flatten(self.dropout1(x), 1)))
            return F.log_softmax(self.fc2(self.dropout2(x)), dim=1)

    model = Net()
    model.load_state_dict({k: lib.tensor(v) for k, v in weights.items()})
    opt = lib.optim.Adadelta(model.parameters(), lr=1.0)
    data = [(lib.tensor(images), lib.tensor(labels)) for images, labels in batches]

    def step(i=0):
        x, y = data[i % len(data)]
        opt.zero_grad()
        loss = F.nll_loss(model(x), y)
        loss.backward()
        opt.step()
        return loss.item()
    return step


def measure(step, steps):
    """(wall, user, system, faults) per step over ``steps`` steps."""
    before, began = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
    for _ in range(steps):
        step()
    after, wall = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter() - began
    return (wall / steps, (after.ru_utime - before.ru_utime) / steps,
            (after.ru_stime - before.ru_stime) / steps, (after.ru_minflt - before.ru_minflt) / steps)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=20, help="timed steps per round")
    p.add_argument("--rounds", type=int, default=3, help="rounds per framework and thread count")
    p.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    args = p.parse_args(argv)
    try:
        import torch
    except ImportError:
        print("PyTorch is not installed: this benchmark compares with it (pip install torch)")
        return 1
    import tinyae
    from tinyae import threads
    tinyae.manual_seed(0)
    rng = np.random.default_rng(0)
    images = rng.random((64, 1, 28, 28)).astype(np.float32)
    labels = rng.integers(0, 10, 64)
    weights = _initial_weights()  # the same start in both: tinyae's, copied into PyTorch's
    ours = training_step(tinyae, weights, [(images, labels)])
    theirs = training_step(torch, weights, [(images, labels)])
    print(f"first loss, same weights and batch (dropout masks differ): tinyae {ours():.4f}  "
          f"PyTorch {theirs():.4f}")
    print(f"load average {os.getloadavg()[0]:.2f} at the start; {args.rounds} rounds of "
          f"{args.steps} steps, alternating")
    print("| threads | framework | ms/step | user ms | kernel ms | page faults |")
    print("|--------:|-----------|--------:|--------:|----------:|------------:|")
    for n in args.threads:
        threads.limit(n)
        torch.set_num_threads(n)
        for step in (ours, theirs):
            for _ in range(3):
                step()  # warm-up: optimizer state, the allocator's heap
        best = {"tinyae": None, "PyTorch": None}
        for _ in range(args.rounds):
            for name, step in (("tinyae", ours), ("PyTorch", theirs)):
                result = measure(step, args.steps)
                if best[name] is None or result[0] < best[name][0]:
                    best[name] = result
        for name, (wall, user, system, faults) in best.items():
            print(f"| {n:>7} | {name:<9} | {wall * 1e3:7.1f} | {user * 1e3:7.1f} | "
                  f"{system * 1e3:9.1f} | {faults:11.0f} |")
        (tw, tu, ts, _), (pw, pu, ps, _) = best["tinyae"], best["PyTorch"]
        kernel = f"{ts / ps:.2f}" if ps > 1e-4 else f"{ts * 1e3:.1f} ms vs under 0.1 ms"
        print(f"ratio tinyae/PyTorch at {n} thread(s): wall {tw / pw:.2f}, CPU (user + kernel) "
              f"{(tu + ts) / (pu + ps):.2f}, kernel {kernel}")
    print(f"load average {os.getloadavg()[0]:.2f} at the end")
    return 0


def _initial_weights():
    """tinyae's initial weights of the network (name → NumPy array)."""
    import tinyae as ta
    from tinyae import nn
    ta.manual_seed(0)
    convs = [nn.Conv2d(1, 32, 3, 1), nn.Conv2d(32, 64, 3, 1)]
    fcs = [nn.Linear(9216, 128), nn.Linear(128, 10)]
    names = ["conv1", "conv2", "fc1", "fc2"]
    state = {}
    for name, layer in zip(names, convs + fcs):
        for key, value in layer.state_dict().items():
            state[f"{name}.{key}"] = value.numpy()
    return state


if __name__ == "__main__":
    sys.exit(main())
