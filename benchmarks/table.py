"""The full speed table: tinyae ÷ each installed peer (PyTorch; JAX with a jit-compiled step),
per training step, every ratio measured in ONE process with interleaved rounds.

    python benchmarks/table.py                        # everything: 1 and 2 threads, ≈ 5–10 min
    python benchmarks/table.py --threads 1 --works deep,perop --rounds 5
    python benchmarks/table.py --json table.json --no-memory

The works (benchmarks/peers.py): shallow, deep, conv and vae (batch 128 of MNIST, Adam), the
MNIST CNN of PyTorch's examples (batch 64, Adadelta; against PyTorch only, with CPU and kernel
time per step in a second table), one transformer block of the masked AE (batch 64, 16 and 49
tokens, dim 64), and the per-op overhead (µs per op, forward + backward, on a chain of 101
small elementwise ops).

How a ratio is measured. One process per thread count runs every framework on every work.
After warm-up (JAX compiles here), each round times k steps of tinyae, then of each peer
(the order rotates from round to round); the round's ratio is tinyae's time ÷ the peer's in
that same round, and the table gives the median over rounds. A busy machine slows both sides
of a pair alike, so the paired ratio is far steadier than times taken minutes apart; the load
average is still printed beside every row. Peers that are not installed are skipped.

Threads: OPENBLAS/OMP/MKL_NUM_THREADS and torch.set_num_threads are set to N, XLA's Eigen
threads are off for N = 1, and the process is pinned to N cores, so no framework uses more
than the others.
Peak memory (``--memory``, on by default): each (framework, model) in a fresh process, 1 thread,
the peak resident set during warm-up and 20 steps minus the resident set before building the
model (benchmarks/run.py's PeakMemory).
"""
import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path[:0] = [p for p in (ROOT,) if p not in sys.path]

from benchmarks.peers import WORKS  # noqa: E402

PEERS = ("torch", "jax", "autograd")
NAMES = {"tinyae": "tinyae", "torch": "PyTorch", "jax": "JAX", "autograd": "HIPS autograd"}
# the goals: tinyae ÷ peer at most this (issue 17's; issue 27's for cnn, perop and deep ÷ JAX)
GOALS = {"shallow": {"torch": 1.0}, "deep": {"torch": 0.9, "jax": 1.1}, "conv": {"torch": 0.9},
         "vae": {"torch": 1.0}, "cnn": {"torch": 1.0}, "block16": {"torch": 1.3},
         "block49": {"torch": 1.3}, "perop": {"torch": 2.0, "autograd": 1.0}}
KERNEL_GOAL = {"cnn": 1.5}  # issue 27: the CNN's kernel (system) time ≤ 1.5× PyTorch's
MODELS_WITH_MEMORY = ("shallow", "deep", "conv", "vae", "cnn")


def installed(name):
    try:
        __import__(name)
        return True
    except ImportError:
        return False


def thread_env(threads):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [ROOT] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]))
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        env[var] = str(threads)
    # XLA sizes its pool by the cores it may run on (the worker pins itself to N cores)
    env["XLA_FLAGS"] = f"--xla_cpu_multi_thread_eigen={'true' if threads > 1 else 'false'}"
    env["JAX_PLATFORMS"] = "cpu"
    return env


def _load():
    return os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")


# --- the worker: one thread count, every work, all frameworks in this one process -----------------
def worker(args):
    import numpy as np
    if hasattr(os, "sched_setaffinity"):
        cores = sorted(os.sched_getaffinity(0))
        os.sched_setaffinity(0, cores[:args.threads])
    frameworks = ["tinyae"] + [p for p in args.peers]
    if "torch" in frameworks:
        import torch
        torch.set_num_threads(args.threads)
    from benchmarks.peers import inputs_for, make_step
    from benchmarks.run import load_images
    images = {"flat": load_images("deep")[0], "image": load_images("conv")[0]}  # (x, source)
    rows = []
    for work in args.works:
        rng = np.random.default_rng(0)
        batches = inputs_for(work, images["image" if work in ("conv", "cnn") else "flat"], rng)
        steps = {}
        for fw in frameworks:
            try:
                steps[fw] = make_step(fw, work, batches)
            except NotImplementedError:
                continue
        per_step = {}
        for fw, (step, sync) in steps.items():  # warm-up (JIT compile), then size k per round
            for i in range(3):
                step(i)
            sync()
            start = time.perf_counter()
            for i in range(3):
                step(i)
            sync()
            per_step[fw] = (time.perf_counter() - start) / 3
        k = max(1, round(args.seconds / max(per_step.values())))
        load_before = _load()
        times = {fw: [] for fw in steps}
        cpu = {fw: [] for fw in steps}
        kernel = {fw: [] for fw in steps}  # system time: page faults, memory mapping
        order = list(steps)
        for r in range(args.rounds):
            for fw in order[r % len(order):] + order[:r % len(order)]:
                step, sync = steps[fw]
                c0, s0, t0 = time.process_time(), _system_time(), time.perf_counter()
                for i in range(k):
                    step(r * k + i)
                sync()
                times[fw].append((time.perf_counter() - t0) / k)
                cpu[fw].append((time.process_time() - c0) / k)
                kernel[fw].append((_system_time() - s0) / k)
        row = {"work": work, "threads": args.threads, "steps_per_round": k, "rounds": args.rounds,
               "load_before": load_before, "load_after": _load(),
               "ms_per_step": {fw: 1000 * statistics.median(t) for fw, t in times.items()},
               "cpu_ms_per_step": {fw: 1000 * statistics.median(c) for fw, c in cpu.items()},
               "kernel_ms_per_step": {fw: 1000 * statistics.median(c) for fw, c in kernel.items()},
               "ratio": {fw: statistics.median(a / b for a, b in zip(times["tinyae"], times[fw]))
                         for fw in times if fw != "tinyae"},
               "ratio_spread": {fw: _spread([a / b for a, b in zip(times["tinyae"], times[fw])])
                                for fw in times if fw != "tinyae"}}
        rows.append(row)
        print(json.dumps(row), file=sys.stderr, flush=True)  # progress, for the parent to show
    return rows


def _system_time():
    """CPU seconds this process has spent in the kernel (on Linux: page faults, mmap)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_stime


def _spread(values):
    """(lowest, highest) of the round ratios, to show how steady the median is."""
    return (min(values), max(values))


def memory_worker(framework, work):
    """Peak MiB that training ``work`` adds, in this fresh process (1 thread)."""
    import numpy as np
    from benchmarks.peers import inputs_for, make_step
    from benchmarks.run import PeakMemory, load_images
    __import__(framework)
    images, _ = load_images("conv" if work in ("conv", "cnn") else "deep")
    batches = inputs_for(work, images, np.random.default_rng(0))
    memory = PeakMemory().start()
    step, sync = make_step(framework, work, batches)
    for i in range(23):
        step(i)
    sync()
    return {"framework": framework, "work": work, "peak_mib": memory.stop()}


# --- the driver -------------------------------------------------------------------------------
def run_child(argv, threads):
    proc = subprocess.Popen([sys.executable, os.path.abspath(__file__)] + argv, env=thread_env(threads),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    rows = []
    for line in proc.stderr:  # each finished row arrives as a JSON line: show progress
        line = line.strip()
        if line.startswith("{"):
            row = json.loads(line)
            rows.append(row)
            ms = "  ".join(f"{NAMES[f]} {v:.2f}" for f, v in row["ms_per_step"].items())
            ratios = "  ".join(f"÷{NAMES[f]} {v:.2f}" for f, v in row["ratio"].items())
            print(f"  {threads} thr  {row['work']:8s} ms/step: {ms}   {ratios}   load {row['load_before']:.1f}",
                  flush=True)
        elif line:
            rows.append({"stderr": line})
    out = proc.stdout.read()
    if proc.wait() != 0:
        errors = "\n".join(r["stderr"] for r in rows if "stderr" in r)
        raise RuntimeError(f"worker failed:\n{errors[-3000:]}")
    return json.loads(out.strip().splitlines()[-1])


def _commit():
    """The checkout's commit (and whether it had changes), for the record; None outside git."""
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, text=True,
                              capture_output=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT,
                               text=True, capture_output=True, check=True).stdout.strip()
        return head + (" (with uncommitted changes)" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return None


def fmt(value, spec=".2f"):
    return "—" if value is None else format(value, spec)


def verdict(work, peer, ratio):
    goal = GOALS.get(work, {}).get(peer)
    return "" if goal is None or ratio is None else (" ✓" if ratio <= goal else " ✗")


def markdown(rows, memory, thread_counts, peers):
    """The summary table: one line per work, ratios per peer and thread count."""
    by = {(r["work"], r["threads"]): r for r in rows}
    works = list(dict.fromkeys(r["work"] for r in rows))
    head = ["work", "tinyae " + " / ".join(f"{t} thr" for t in thread_counts)]
    for p in peers:
        head += [f"÷ {NAMES[p]} {t} thr" for t in thread_counts]
    head += ["goal", "load"]
    if memory:
        head.append("peak MiB " + " / ".join(NAMES[f] for f in ["tinyae"] + list(peers)))
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for w in works:
        unit = "µs/op" if w == "perop" else "ms"
        scale = 1000 / 101 if w == "perop" else 1
        cells = [w, " / ".join(fmt(by[(w, t)]["ms_per_step"]["tinyae"] * scale if (w, t) in by else None)
                               for t in thread_counts) + f" {unit}"]
        for p in peers:
            for t in thread_counts:
                r = by.get((w, t), {}).get("ratio", {}).get(p)
                cells.append(fmt(r) + verdict(w, p, r))
        cells.append(", ".join(f"≤ {g} {NAMES[p]}" for p, g in GOALS.get(w, {}).items()) or "")
        cells.append(" / ".join(fmt(by[(w, t)]["load_before"], ".1f") for t in thread_counts if (w, t) in by))
        if memory:
            mem = [memory.get((f, w)) for f in ["tinyae"] + list(peers)]
            cells.append(" / ".join(fmt(m, ".0f") for m in mem) if any(mem) else "")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines + _cpu_lines(by, works, thread_counts, peers))


def _cpu_lines(by, works, thread_counts, peers):
    """CPU time (user + kernel) and kernel time per step against PyTorch, for the works with
    a kernel-time goal (the CNN): its medians over the rounds, per thread count."""
    lines = []
    for w in [w for w in works if w in KERNEL_GOAL and "torch" in peers]:
        lines += ["", f"{w}: CPU and kernel (system) time per step, tinyae / PyTorch "
                  f"(goal: kernel ≤ {KERNEL_GOAL[w]}× PyTorch's)", "",
                  "| threads | wall ms | CPU ms | kernel ms | CPU ratio | kernel ratio |",
                  "|---|---|---|---|---|---|"]
        for t in thread_counts:
            r = by.get((w, t))
            if r is None:
                continue
            cpu, ker, wall = r["cpu_ms_per_step"], r["kernel_ms_per_step"], r["ms_per_step"]
            ratio = (f"{ker['tinyae'] / ker['torch']:.2f}" if ker["torch"] >= 0.05 else
                     f"— (PyTorch {ker['torch']:.2f} ms)")
            ok = " ✓" if ker["tinyae"] <= KERNEL_GOAL[w] * max(ker["torch"], 0.05) else " ✗"
            lines.append(f"| {t} | {wall['tinyae']:.1f} / {wall['torch']:.1f} | "
                         f"{cpu['tinyae']:.1f} / {cpu['torch']:.1f} | {ker['tinyae']:.2f} / "
                         f"{ker['torch']:.2f} | {cpu['tinyae'] / cpu['torch']:.2f} | {ratio}{ok} |")
    return lines


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--works", default=",".join(WORKS), help=f"subset of {','.join(WORKS)}")
    p.add_argument("--threads", default="1,2", help="thread counts, comma-separated (default 1,2)")
    p.add_argument("--peers", default=",".join(PEERS), help="subset of torch,jax,autograd (installed "
                   "ones only; autograd times the per-op work only)")
    p.add_argument("--rounds", type=int, default=9, help="interleaved rounds per work (default 9)")
    p.add_argument("--seconds", type=float, default=0.3, help="time per framework per round (default 0.3)")
    p.add_argument("--no-memory", dest="memory", action="store_false", help="skip the peak-memory runs")
    p.add_argument("--json", metavar="PATH", help="also write every row to this file")
    p.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--memory-worker", nargs=2, metavar=("FRAMEWORK", "WORK"), help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    args.works = [w for w in args.works.split(",") if w]
    args.peers = [x for x in args.peers.split(",") if x]
    bad = [w for w in args.works if w not in WORKS] + [x for x in args.peers if x not in PEERS]
    if bad:
        p.error(f"unknown: {', '.join(bad)}")
    return args


def main(argv=None):
    args = parse_args(argv)
    if args.memory_worker:
        print(json.dumps(memory_worker(*args.memory_worker)))
        return 0
    if args.worker:
        args.threads = int(args.threads)
        print(json.dumps(worker(args)))
        return 0
    import numpy
    peers = [p for p in args.peers if installed(p)]
    skipped = [NAMES[p] for p in args.peers if p not in peers]
    threads = [int(t) for t in args.threads.split(",")]
    from importlib.metadata import version  # (autograd has no __version__)
    versions = [f"numpy {numpy.__version__}"] + [f"{NAMES[p]} {version(p)}" for p in peers]
    header = {"date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "cores": os.cpu_count(),
              "commit": _commit(), "versions": versions, "load_start": os.getloadavg()[0]}
    print(f"{header['date']}  {os.cpu_count()} cores; {', '.join(versions)}"
          + (f"; not installed (skipped): {', '.join(skipped)}" if skipped else ""))
    print(f"load average at the start: {', '.join(f'{x:.1f}' for x in os.getloadavg())}; "
          f"{args.rounds} interleaved rounds of ≈ {args.seconds} s per framework", flush=True)
    started = time.time()
    rows = []
    for t in threads:
        child = ["--worker", "--threads", str(t), "--works", ",".join(args.works), "--peers",
                 ",".join(peers), "--rounds", str(args.rounds), "--seconds", str(args.seconds)]
        rows += run_child(child, t)
    memory = {}
    if args.memory:
        for work in [w for w in args.works if w in MODELS_WITH_MEMORY]:
            for fw in ["tinyae"] + peers:
                out = subprocess.run([sys.executable, os.path.abspath(__file__), "--memory-worker", fw, work],
                                     env=thread_env(1), capture_output=True, text=True)
                if out.returncode == 0:
                    memory[(fw, work)] = json.loads(out.stdout.strip().splitlines()[-1])["peak_mib"]
    print(f"\nload average at the end: {', '.join(f'{x:.1f}' for x in os.getloadavg())}; "
          f"{time.time() - started:.0f} s in all\n")
    print(markdown(rows, memory, threads, peers))
    print("\ntinyae's time per step (per op for perop), and tinyae ÷ peer: the median over rounds "
          "of the paired ratio (below 1: tinyae is faster). load: the 1-minute load average "
          "before each row, per thread count.")
    if args.json:
        header.update(load_end=os.getloadavg()[0], seconds=round(time.time() - started),
                      table=markdown(rows, memory, threads, peers))
        with open(args.json, "w") as f:
            json.dump({**header, "rows": rows,
                       "memory": [{"framework": f, "work": w, "peak_mib": m}
                                  for (f, w), m in memory.items()]}, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
