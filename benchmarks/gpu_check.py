"""One command that checks tinyae's GPU path on a machine with CuPy and a CUDA GPU:

    python benchmarks/gpu_check.py              # everything, about 5–8 minutes of GPU time
    python benchmarks/gpu_check.py --skip-lessons --batches 50     # a 2-minute version

1. the `gpu`-marked tests (pytest -m gpu);
2. every registered op on CuPy against NumPy: forward, backward and second-order backward on
   the op's own float64 sample inputs (tinyae.testing.backends.compare_op, the same comparison
   the test suite runs on the strict CPU stand-in);
3. one epoch of the shallow, deep and conv autoencoders and the VAE (MNIST, batch 128, Adam):
   tinyae on CuPy, PyTorch on CUDA (benchmarks/run.py --backend cupy), tinyae on the CPU
   (benchmarks/run.py --batches N, N timed batches extrapolated to an epoch: a full CPU epoch of
   the conv AE alone takes minutes);
4. lessons 09 (shallow vs deep) and 10 (conv AE) in real mode with --backend cupy;

and prints one table. Exit status 0 when every part passed, 2 when there is no CuPy or no GPU.

    python benchmarks/gpu_check.py --backend strict    # a dry run on the CPU, ~1 minute

runs every part on the strict CPU stand-in for a GPU (tinyae.testing.strict) instead, small:
2 timed batches per model, lessons in --quick mode. The test suite runs it
(tests/test_gpu_check.py), so the first GPU run does not die on a typo. Written without a GPU
to hand: the real check has not been run on one yet.
"""
import argparse
import json
import os
import pathlib
import subprocess
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
MODELS = ("shallow", "deep", "conv", "vae")


def run(cmd, timeout):
    began = time.perf_counter()
    try:
        r = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=timeout)
        return r.returncode, r.stdout + r.stderr, time.perf_counter() - began
    except subprocess.TimeoutExpired as err:
        return 124, f"timed out after {timeout} s\n{err.stdout or ''}", time.perf_counter() - began


def gpu_tests(rows):
    rc, out, s = run([sys.executable, "-m", "pytest", "-q", "-m", "gpu", "tests"], 300)
    summary = next((l for l in reversed(out.splitlines()) if " in " in l), out[-200:])
    rows.append(("gpu-marked tests", "ok" if rc == 0 else "FAIL", summary.strip(), s))


def op_comparison(rows, device):
    from tinyae import backend
    from tinyae.autograd import OPS
    from tinyae.testing.backends import compare_op
    began = time.perf_counter()
    backend.set_backend(device)
    problems = []
    for name in sorted(OPS):
        try:   # GPU math (exp, log, reductions) differs from NumPy's in the last bits
            problems += compare_op(name, device="gpu", rtol=1e-7, atol=1e-10)
        except Exception as err:  # noqa: BLE001  (a crash is a result here)
            problems.append(f"{name}: {type(err).__name__}: {err}")
    backend.set_backend("numpy")
    rows.append((f"ops on {device} vs NumPy (fwd, bwd, 2nd order)",
                 "ok" if not problems else "FAIL",
                 f"{len(OPS)} ops, {len(problems)} mismatches", time.perf_counter() - began))
    return problems


def epochs(rows, batches, device, dry):
    """One epoch per model: tinyae on the device and PyTorch on CUDA (one run.py), tinyae on the
    CPU (``batches`` timed batches, extrapolated). A dry run times 2 batches of tinyae only."""
    results, missing = {}, []
    few = ["--batches", "2", "--warmup", "1"] if dry else []
    runs = (("gpu", ["--backend", device] + (few + ["--frameworks", "tinyae"] if dry else [])),
            ("cpu", (few or ["--batches", str(batches)]) + ["--frameworks", "tinyae"]))
    with tempfile.TemporaryDirectory() as tmp:
        for label, extra in runs:
            path = os.path.join(tmp, f"{label}.json")
            rc, out, s = run([sys.executable, "benchmarks/run.py", "--models", ",".join(MODELS),
                              "--json", path] + extra, 600)
            if rc != 0 or not os.path.exists(path):
                rows.append((f"epoch timings ({label})", "FAIL", out[-300:], s))
                continue
            missing += [line.strip() for line in out.splitlines()
                        if "PyTorch is not installed" in line or "has no CUDA" in line]
            for r in json.load(open(path))["results"]:
                if r.get("data", "full MNIST") != "full MNIST":
                    missing.append(f"timed on {r['data']} images (full MNIST not found)")
                key = ("tinyae cpu" if label == "cpu" else
                       "tinyae gpu" if r.get("framework") == "tinyae" else "torch cuda")
                results[(r.get("model"), key)] = r.get("seconds_per_epoch")
    fmt = lambda v: "—" if v is None else f"{v:.2f} s"   # noqa: E731
    for m in MODELS:
        t = {k: results.get((m, k)) for k in ("tinyae gpu", "torch cuda", "tinyae cpu")}
        ok = t["tinyae gpu"] is not None and t["tinyae cpu"] is not None
        ratio = (f", speed-up over CPU {t['tinyae cpu'] / t['tinyae gpu']:.1f}×" if ok else "")
        if ok and t["torch cuda"]:
            ratio = f", {device}/torch {t['tinyae gpu'] / t['torch cuda']:.2f}×" + ratio
        rows.append((f"one epoch: {m}", "ok" if ok else "FAIL",
                     f"{device} {fmt(t['tinyae gpu'])}, torch cuda {fmt(t['torch cuda'])}, "
                     f"cpu {fmt(t['tinyae cpu'])} (extrapolated){ratio}", None))
    return sorted(set(missing))


def lessons(rows, device, dry):
    for name in ("09_shallow_vs_deep.py", "10_conv_ae.py"):
        with tempfile.TemporaryDirectory() as out:
            rc, text, s = run([sys.executable, f"lessons/{name}", "--backend", device,
                               "--out", out] + (["--quick"] if dry else []), 240)
        claims = [l.strip() for l in text.splitlines() if l.startswith("✓ claim")]
        rows.append((f"lesson {name[:2]} {'quick' if dry else 'real'} mode ({device})",
                     "ok" if rc == 0 else "FAIL",
                     f"{len(claims)} claims held" if rc == 0 else text[-300:], s))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, default=100,
                        help="timed CPU batches, extrapolated to an epoch (default 100)")
    parser.add_argument("--skip-lessons", action="store_true")
    parser.add_argument("--backend", choices=("cupy", "strict"), default="cupy",
                        help="cupy (the check) or strict (a dry run on the CPU stand-in)")
    args = parser.parse_args(argv)
    from tinyae import backend
    dry = args.backend == "strict"
    if not dry and not backend.cupy_available():
        print("gpu_check: no CuPy or no CUDA GPU here, and this check needs both: install CuPy "
              "with `pip install tinyae[gpu]` on a machine with an NVIDIA GPU (`tinyae info` says "
              "what it sees). Without a GPU, `python benchmarks/gpu_check.py --backend strict` "
              "dry-runs every part on the CPU stand-in, and pytest tests/test_backends.py checks "
              "the ops, models and lessons on it.", file=sys.stderr)
        return 2
    rows, began = [], time.perf_counter()
    gpu_tests(rows)
    problems = op_comparison(rows, args.backend)
    missing = epochs(rows, args.batches, args.backend, dry)
    if not args.skip_lessons:
        lessons(rows, args.backend, dry)
    width = max(len(r[0]) for r in rows)
    if dry:
        print("DRY RUN on the strict CPU stand-in: the times say nothing about a GPU")
    print(f"\n{'check':<{width}}  result  time     details")
    for what, ok, details, s in rows:
        print(f"{what:<{width}}  {ok:<6}  {'' if s is None else f'{s:5.0f} s':<7}  {details}")
    for p in problems[:20]:
        print("  ", p)
    for line in missing:
        print("  ", line)
    print(f"total {time.perf_counter() - began:.0f} s")
    return 0 if all(r[1] == "ok" for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
