"""Time one training epoch of the reference autoencoders in tinyae and in PyTorch, in one run.

    python benchmarks/run.py                      # all three models, one full epoch each
    python benchmarks/run.py --batches 50         # quick: 50 timed batches, extrapolated
    python benchmarks/run.py --models deep --epochs 3 --json out.json
    python benchmarks/run.py --backend cupy       # tinyae on CuPy, PyTorch on CUDA

What a step is, in both frameworks (nothing else is timed):
    zero_grad → forward → MSE loss against the input (vae: its own loss, BCE sum + KL) → backward
    → Adam step (lr 1e-3)
on MNIST train (60,000 images, float32 in [0, 1]), batch 128, a fresh shuffle every epoch,
the last, smaller batch included (469 steps per epoch). A few warm-up steps run first.

Every (framework, model) pair runs in its own subprocess, so the peak memory is that model's
alone: peak RSS during warm-up + timing minus the RSS just before (Linux: the VmHWM high-water
mark, reset through /proc/self/clear_refs; elsewhere the ru_maxrss delta, which misses memory
already touched while loading the data). On a GPU it is the memory pool's bytes instead.
Both frameworks get the same thread count (OPENBLAS/OMP/MKL_NUM_THREADS and
torch.set_num_threads, default os.cpu_count()).
"""
import argparse
import datetime
import json
import math
import os
import platform
import resource
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path[:0] = [p for p in (ROOT,) if p not in sys.path]

from benchmarks.models import MODELS, build_tinyae, build_torch, count_parameters, image_shape  # noqa: E402

TARGETS = {"shallow": 1.0, "deep": 0.9, "conv": 0.9, "vae": 1.0}  # tinyae time / PyTorch time, at most (issue 17)
FRAMEWORKS = ("tinyae", "torch")


# --- memory ---------------------------------------------------------------------------------
def _status_kb(field):
    """A 'VmRSS'/'VmHWM' line of /proc/self/status in KiB, or None off Linux."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


class PeakMemory:
    """Peak resident memory added by the code between ``start()`` and ``stop()``, in MiB."""

    def start(self):
        self.method = "VmHWM - VmRSS (clear_refs)"
        # tinyae keeps freed memory for reuse (tinyae/allocator.py): hand it back first, or
        # arrays freed while loading the data are reused unseen and the peak reads low (the
        # deep AE read 8 MiB, less than its 11 MB of weights)
        from tinyae.allocator import return_freed_memory
        return_freed_memory()
        try:
            with open("/proc/self/clear_refs", "w") as f:
                f.write("5")  # resets the VmHWM high-water mark to the current RSS
            self.base = _status_kb("VmRSS")
        except OSError:
            self.base = None
        if self.base is None:
            self.method = "ru_maxrss delta"
            self.base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return self

    def stop(self):
        peak = (_status_kb("VmHWM") if self.method.startswith("VmHWM")
                else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
        return max(peak - self.base, 0) / 1024


def _cpu_seconds():
    """User + system CPU time of this process, all threads (a busy machine shows as wall ≫ cpu)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


# --- one framework's training step ------------------------------------------------------------
def tinyae_trainer(name, xp):
    import tinyae
    from tinyae import losses, optim
    model = build_tinyae(name)
    if xp.__name__ == "cupy":
        model.to("gpu")
    opt = optim.Adam(model.parameters(), lr=1e-3)

    def step(xb):
        x = tinyae.Tensor(xb)
        opt.zero_grad()
        loss = model.loss(x) if name == "vae" else losses.mse(model(x), x)
        loss.backward()
        opt.step()
        return loss

    def sync():
        if xp.__name__ == "cupy":
            xp.cuda.get_current_device().synchronize()
    return model, step, sync, lambda loss: float(loss.item())


def torch_trainer(name, device, threads):
    import torch
    torch.set_num_threads(threads)
    model = build_torch(name).to(device)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    mse = torch.nn.functional.mse_loss

    def step(xb):
        x = torch.as_tensor(xb, device=device)
        opt.zero_grad(set_to_none=True)
        loss = model.loss(x) if name == "vae" else mse(model(x), x)
        loss.backward()
        opt.step()
        return loss

    def sync():
        if device == "cuda":
            torch.cuda.synchronize()
    return model, step, sync, lambda loss: float(loss.item())


# --- the worker: one framework, one model, in its own process ---------------------------------
def load_images(name):
    """MNIST train, and where it came from. Where the full set is neither found nor downloadable
    (an offline GPU machine), the embedded 6,000 digits repeated to 60,000: an epoch's time
    does not depend on which digits it sees (its final loss does)."""
    import numpy
    from tinyae.data import load_mnist
    x, _ = load_mnist("train", flatten=(image_shape(name) == (784,)), fallback="embedded")
    if len(x) >= 60_000:
        return x, "full MNIST"
    return numpy.concatenate([x] * -(-60_000 // len(x)))[:60_000], f"embedded {len(x):,}, repeated"


def worker(framework, name, args):
    images, source = load_images(name)
    xp = __import__("numpy")
    device = "cpu"
    if args.backend != "numpy":   # cupy; or strict, the CPU stand-in (gpu_check.py's dry run)
        if framework == "tinyae":
            from tinyae import backend
            backend.set_backend(args.backend)
            xp = backend.default_module()
        elif args.backend == "cupy":
            device = "cuda"
    __import__("tinyae" if framework == "tinyae" else "torch")  # imports are not training memory
    memory = PeakMemory().start()
    if framework == "tinyae":
        model, step, sync, value = tinyae_trainer(name, xp)
    else:
        model, step, sync, value = torch_trainer(name, device, args.threads)
    if device == "cuda":
        import torch
        data = torch.as_tensor(images, device="cuda")
        take = lambda idx: data[torch.as_tensor(idx, device="cuda")]  # noqa: E731
    else:
        data = xp.asarray(images)
        take = lambda idx: data[xp.asarray(idx)]  # noqa: E731

    n, bs = len(images), args.batch_size
    steps_per_epoch = math.ceil(n / bs)
    order = __import__("numpy").random.default_rng(0)

    def batches():
        while True:  # a fresh shuffle every epoch, the last batch smaller
            perm = order.permutation(n)
            for i in range(0, n, bs):
                yield perm[i:i + bs]

    feed = batches()
    for _ in range(args.warmup):
        loss = step(take(next(feed)))
    sync()
    feed = batches()  # timing starts at the beginning of an epoch
    timed = args.batches if args.batches else steps_per_epoch * args.epochs
    lap_every = timed if args.batches else steps_per_epoch
    laps, samples = [], 0
    cpu_start = _cpu_seconds()
    start = lap = time.perf_counter()
    for i in range(timed):
        idx = next(feed)
        loss = step(take(idx))
        samples += len(idx)
        if (i + 1) % lap_every == 0:
            sync()
            now = time.perf_counter()
            laps.append(now - lap)
            lap = now
    sync()
    elapsed = time.perf_counter() - start
    cpu = _cpu_seconds() - cpu_start
    final_loss = value(loss)
    peak = memory.stop()
    if device == "cuda":
        import torch
        peak, memory.method = torch.cuda.max_memory_allocated() / 2**20, "torch.cuda.max_memory_allocated"
    elif xp.__name__ == "cupy":
        peak, memory.method = xp.get_default_memory_pool().total_bytes() / 2**20, "cupy pool bytes"
    per_epoch = elapsed / timed * steps_per_epoch
    return {"framework": framework, "model": name, "parameters": count_parameters(model),
            "seconds_per_epoch": per_epoch, "samples_per_second": samples / elapsed,
            "cpu_seconds_per_epoch": cpu / timed * steps_per_epoch,
            "timed_batches": timed, "extrapolated": bool(args.batches),
            "epoch_times": laps if not args.batches else [],
            "best_epoch_seconds": min(laps) if laps and not args.batches else None, "peak_mib": peak,
            "memory_method": memory.method, "final_loss": final_loss, "data": source,
            "device": device
            if framework == "torch" else args.backend}


# --- the driver ---------------------------------------------------------------------------------
def environment(threads):
    import numpy
    info = {"date": datetime.datetime.now().strftime("%Y-%m-%d %H:%M"),
            "machine": platform.machine(), "cpu": _cpu_name(), "cpu_count": os.cpu_count(),
            "threads": threads, "python": platform.python_version(), "numpy": numpy.__version__}
    try:
        blas = numpy.show_config(mode="dicts")["Build Dependencies"]["blas"]
        info["blas"] = f"{blas.get('name')} {blas.get('version')}"
    except Exception:  # older NumPy: no dict mode
        pass
    try:
        import torch
        info["torch"] = torch.__version__
    except ImportError:
        info["torch"] = None
    return info


def _cpu_name():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def run_worker(framework, name, args):
    """Run one (framework, model) in a fresh Python process and return its result dict."""
    cmd = [sys.executable, os.path.abspath(__file__), "--worker", framework, "--models", name,
           "--epochs", str(args.epochs), "--batches", str(args.batches or 0), "--warmup",
           str(args.warmup), "--batch-size", str(args.batch_size), "--backend", args.backend,
           "--threads", str(args.threads)]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [ROOT] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]))
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        env[var] = str(args.threads)
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
    lines = proc.stdout.strip().splitlines()
    if proc.returncode != 0 or not lines:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-15:]
        return {"framework": framework, "model": name, "error": "\n".join(tail)}
    return json.loads(lines[-1])


def _fmt(value, spec):
    return format(value, spec) if isinstance(value, (int, float)) else "—"


def table(results, models):
    """The comparison table, as Markdown."""
    by = {(r["framework"], r["model"]): r for r in results}
    rows = ["| model | params | tinyae s/epoch | PyTorch s/epoch | ratio | target | CPU-time "
            "ratio | tinyae samples/s | PyTorch samples/s | tinyae peak MiB | PyTorch peak MiB "
            "| final loss tinyae / PyTorch |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"]
    for name in models:
        t, p = by.get(("tinyae", name), {}), by.get(("torch", name), {})
        ts, ps = t.get("seconds_per_epoch"), p.get("seconds_per_epoch")
        ratio = ts / ps if ts and ps else None
        verdict = "" if ratio is None else (" ✓" if ratio <= TARGETS[name] else " ✗")
        tc, pc = t.get("cpu_seconds_per_epoch"), p.get("cpu_seconds_per_epoch")
        cpu_ratio = tc / pc if tc and pc else None
        rows.append(
            f"| {name} | {_fmt(t.get('parameters', p.get('parameters')), ',')} | {_fmt(ts, '.2f')} "
            f"| {_fmt(ps, '.2f')} | {_fmt(ratio, '.2f')}{verdict} | ≤ {TARGETS[name]} "
            f"| {_fmt(cpu_ratio, '.2f')} "
            f"| {_fmt(t.get('samples_per_second'), ',.0f')} "
            f"| {_fmt(p.get('samples_per_second'), ',.0f')} | {_fmt(t.get('peak_mib'), '.0f')} "
            f"| {_fmt(p.get('peak_mib'), '.0f')} | {_fmt(t.get('final_loss'), '.4f')} / "
            f"{_fmt(p.get('final_loss'), '.4f')} |")
    return "\n".join(rows)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--models", default=",".join(MODELS),
                        help=f"comma-separated subset of {','.join(MODELS)} (default: all)")
    parser.add_argument("--epochs", type=int, default=1, help="full epochs to time (default 1)")
    parser.add_argument("--batches", type=int, default=0,
                        help="time only this many batches and extrapolate to an epoch (quick)")
    parser.add_argument("--warmup", type=int, default=5, help="untimed steps first (default 5)")
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--backend", choices=("numpy", "cupy", "strict"), default="numpy",
                        help="tinyae's array module; with cupy PyTorch runs on CUDA (strict: the "
                             "CPU stand-in for a GPU, for a dry run of the GPU path)")
    parser.add_argument("--frameworks", default=",".join(FRAMEWORKS),
                        help="comma-separated subset of tinyae,torch (default: both)")
    parser.add_argument("--threads", type=int, default=os.cpu_count(),
                        help="threads for BLAS and PyTorch, the same for both (default: all cores)")
    parser.add_argument("--json", metavar="PATH", help="also write the results to this file")
    parser.add_argument("--worker", choices=FRAMEWORKS, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    args.models = [m.strip() for m in args.models.split(",") if m.strip()]
    args.frameworks = [f.strip() for f in args.frameworks.split(",") if f.strip()]
    for m in args.models:
        if m not in MODELS:
            parser.error(f"unknown model {m!r}: choose from {', '.join(MODELS)}")
    for f in args.frameworks:
        if f not in FRAMEWORKS:
            parser.error(f"unknown framework {f!r}: choose from {', '.join(FRAMEWORKS)}")
    if args.epochs < 1 or args.batches < 0 or args.warmup < 0 or args.batch_size < 1:
        parser.error("--epochs and --batch-size must be ≥ 1, --batches and --warmup ≥ 0")
    return args


def main(argv=None):
    args = parse_args(argv)
    if args.worker:
        print(json.dumps(worker(args.worker, args.models[0], args)))
        return 0
    frameworks = list(args.frameworks)
    if "torch" in frameworks:
        try:
            import torch  # noqa: F401
        except ImportError:
            print("PyTorch is not installed: timing tinyae only (no ratios).")
            frameworks.remove("torch")
    if args.backend == "cupy":
        from tinyae import backend
        if not backend.cupy_available():
            print("--backend cupy needs CuPy and a CUDA GPU; neither was found here. Run without it.")
            return 2
        if "torch" in frameworks:
            import torch
            if not torch.cuda.is_available():
                print("this PyTorch has no CUDA: timing tinyae on the GPU only (no ratios).")
                frameworks.remove("torch")
    env = environment(args.threads)
    print(f"{env['date']}  {env['cpu']}, {env['cpu_count']} cores, {args.threads} threads; "
          f"numpy {env['numpy']} ({env.get('blas', '?')}), torch {env['torch']}")
    what = (f"{args.batches} timed batches, extrapolated to one epoch" if args.batches
            else f"{args.epochs} full epoch(s), mean per epoch")
    print(f"MNIST train 60,000, batch {args.batch_size}, Adam 1e-3, MSE, float32; {what}; "
          f"{args.warmup} warm-up steps; backend {args.backend}")
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else 0.0
    if load > 0.5:
        print(f"warning: the load average is {load:.1f} before starting: other processes compete "
              "for the cores, so wall-clock times (PyTorch's most, with its spinning OpenMP "
              "threads) are inflated and noisy")
    env["load_average"] = load
    results = []
    for name in args.models:
        for fw in frameworks:
            r = run_worker(fw, name, args)
            results.append(r)
            if "error" in r:
                print(f"  {fw:6s} {name:7s} FAILED:\n{r['error']}")
            else:
                print(f"  {fw:6s} {name:7s} {r['seconds_per_epoch']:8.2f} s/epoch  "
                      f"{r['samples_per_second']:9,.0f} samples/s  peak {r['peak_mib']:6.0f} MiB  "
                      f"loss {r['final_loss']:.4f}", flush=True)
    print()
    print(table(results, args.models))
    print("\nratio = tinyae / PyTorch wall-clock time per epoch; CPU-time ratio = the same for "
          "CPU seconds (all threads), steadier than wall time on a busy machine")
    print(f"peak memory: {next((r['memory_method'] for r in results if 'memory_method' in r), '—')}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"environment": env, "settings": {k: v for k, v in vars(args).items()
                                                        if k != "worker"},
                       "results": results}, f, indent=2)
        print(f"wrote {args.json}")
    return 1 if any("error" in r for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
