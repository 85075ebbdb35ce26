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

and prints one table. Exit status 0 when every part passed. Written without a GPU to hand: it
has not been run on one yet (the CPU side of step 2 runs in CI on the stand-in).
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


def op_comparison(rows):
    from tinyae import backend
    from tinyae.autograd import OPS
    from tinyae.testing.backends import compare_op
    began = time.perf_counter()
    backend.set_backend("cupy")
    problems = []
    for name in sorted(OPS):
        try:   # GPU math (exp, log, reductions) differs from NumPy's in the last bits
            problems += compare_op(name, device="gpu", rtol=1e-7, atol=1e-10)
        except Exception as err:  # noqa: BLE001  (a crash is a result here)
            problems.append(f"{name}: {type(err).__name__}: {err}")
    backend.set_backend("numpy")
    rows.append(("ops on CuPy vs NumPy (fwd, bwd, 2nd order)", "ok" if not problems else "FAIL",
                 f"{len(OPS)} ops, {len(problems)} mismatches", time.perf_counter() - began))
    return problems


def epochs(rows, batches):
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for label, extra in (("gpu", ["--backend", "cupy"]),
                             ("cpu", ["--batches", str(batches), "--frameworks", "tinyae"])):
            path = os.path.join(tmp, f"{label}.json")
            rc, out, s = run([sys.executable, "benchmarks/run.py", "--models", ",".join(MODELS),
                              "--json", path] + extra, 600)
            if rc != 0 or not os.path.exists(path):
                rows.append((f"epoch timings ({label})", "FAIL", out[-300:], s))
                continue
            for r in json.load(open(path))["results"]:
                key = ("tinyae cupy" if label == "gpu" and r.get("framework") == "tinyae" else
                       "torch cuda" if label == "gpu" else "tinyae cpu")
                results[(r.get("model"), key)] = r.get("seconds_per_epoch")
    for m in MODELS:
        t = {k: results.get((m, k)) for k in ("tinyae cupy", "torch cuda", "tinyae cpu")}
        fmt = lambda v: "—" if v is None else f"{v:.2f} s"   # noqa: E731
        ok = all(v is not None for v in t.values())
        ratio = (f", cupy/torch {t['tinyae cupy'] / t['torch cuda']:.2f}×, "
                 f"speed-up over CPU {t['tinyae cpu'] / t['tinyae cupy']:.1f}×") if ok else ""
        rows.append((f"one epoch: {m}", "ok" if ok else "FAIL",
                     f"cupy {fmt(t['tinyae cupy'])}, torch cuda {fmt(t['torch cuda'])}, "
                     f"cpu {fmt(t['tinyae cpu'])} (extrapolated){ratio}", None))


def lessons(rows):
    for name in ("09_shallow_vs_deep.py", "10_conv_ae.py"):
        with tempfile.TemporaryDirectory() as out:
            rc, text, s = run([sys.executable, f"lessons/{name}", "--backend", "cupy",
                               "--out", out], 240)
        claims = [l.strip() for l in text.splitlines() if "claim" in l.lower() and "✓" in l]
        rows.append((f"lesson {name[:2]} real mode (cupy)", "ok" if rc == 0 else "FAIL",
                     f"{len(claims)} claims held" if rc == 0 else text[-300:], s))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, default=100,
                        help="timed CPU batches, extrapolated to an epoch (default 100)")
    parser.add_argument("--skip-lessons", action="store_true")
    args = parser.parse_args(argv)
    from tinyae import backend
    if not backend.cupy_available():
        print("no CuPy or no CUDA GPU here: this check needs both (pip install tinyae[gpu] on a "
              "machine with an NVIDIA GPU; `tinyae info` says what it sees). The CPU stand-in "
              "checks run in the test suite: pytest tests/test_backends.py")
        return 2
    rows, began = [], time.perf_counter()
    gpu_tests(rows)
    problems = op_comparison(rows)
    epochs(rows, args.batches)
    if not args.skip_lessons:
        lessons(rows)
    width = max(len(r[0]) for r in rows)
    print(f"\n{'check':<{width}}  result  time     details")
    for what, ok, details, s in rows:
        print(f"{what:<{width}}  {ok:<6}  {'' if s is None else f'{s:5.0f} s':<7}  {details}")
    for p in problems[:20]:
        print("  ", p)
    print(f"total {time.perf_counter() - began:.0f} s")
    return 0 if all(r[1] == "ok" for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
