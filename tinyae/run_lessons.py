"""``tinyae run all``: the lessons as child processes, several at once when cores are free.

One lesson's training is mostly one BLAS thread of work (small matrices), so on a machine with
idle cores the lessons run side by side, each with its own share of the threads, and the longest
ones start first (their times are in their run records, docs/runs/). Run in parallel, a lesson's
output goes to its own log while it runs and is printed whole, in one piece, when it ends, so
that two lessons never interleave their lines; run one at a time, it streams as it is printed.
"""
import ast
import json
import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from . import run_record


def expected_seconds(name, scale):
    """The CPU seconds of this lesson's recorded run at ``scale`` (or at full scale), else 0."""
    for s in (scale, "full"):
        try:
            return float(run_record.load(run_record.docs_path(name, s))["cpu_seconds"])
        except (OSError, ValueError, KeyError, TypeError):
            continue
    return 0.0


def run(lessons, commands, env, jobs, scale):
    """Run ``commands[i]`` for each lesson path ``lessons[i]``; [(name, exit code, seconds)] in
    the lessons' order. ``jobs`` lessons at a time (1: one after the other, streaming)."""
    if jobs <= 1:
        results = []
        for path, command in zip(lessons, commands):
            print(f"=== running {path.name}", flush=True)
            began = time.perf_counter()
            code = subprocess.call(command, env=env)
            results.append((path.stem, code, time.perf_counter() - began))
        return results
    order = sorted(range(len(lessons)), key=lambda i: -expected_seconds(lessons[i].stem, scale))
    running, done = {}, {}
    with tempfile.TemporaryDirectory(prefix="tinyae-run-") as logs:
        try:
            while order or running:
                while order and len(running) < jobs:
                    i = order.pop(0)
                    log = open(Path(logs) / f"{lessons[i].stem}.log", "w+", encoding="utf-8")
                    process = subprocess.Popen(commands[i], env=env, stdout=log,
                                               stderr=subprocess.STDOUT)
                    running[i] = (process, log, time.perf_counter())
                    print(f"=== started {lessons[i].name} ({len(running)} running)", flush=True)
                for i, (process, log, began) in list(running.items()):
                    if process.poll() is None:
                        continue
                    seconds = time.perf_counter() - began
                    log.seek(0)
                    print(f"=== {lessons[i].name}: "
                          f"{'pass' if process.returncode == 0 else 'FAIL'} in {seconds:.1f} s "
                          "(its output, as it printed it):", flush=True)
                    sys.stdout.write(log.read())
                    sys.stdout.flush()
                    log.close()
                    done[i] = (lessons[i].stem, process.returncode, seconds)
                    del running[i]
                time.sleep(0.2)
        finally:  # Ctrl-C: stop the lessons still running, then let the interrupt go on
            for process, log, _ in running.values():
                process.kill()
                process.wait()
                log.close()
    return [done[i] for i in range(len(lessons))]


def parallel_plan(threads, lessons_count):
    """(jobs, BLAS threads per lesson) for ``threads`` free cores: one thread per lesson, as
    many lessons at once as there are free cores (never more than lessons)."""
    jobs = max(1, min(threads, lessons_count))
    return jobs, max(1, threads // jobs)


def lesson_scale(out_folder):
    """The scale a lesson's run reported in its out/NN_name/run.json, or None."""
    try:
        return json.loads((Path(out_folder) / "run.json").read_text(encoding="utf-8"))["scale"]
    except (OSError, ValueError, KeyError, TypeError):
        return None


def main_job_record(output, scales, wall, cpu, load, jobs, per_lesson, quick):
    """The record of a ``tinyae run all``: its summary as printed, the data it ran on ('embedded'
    when any lesson fell back to the embedded MNIST subset), its time and the machine's load."""
    scale = "quick" if quick else ("embedded" if "embedded" in scales else "full")
    return {"format": run_record.FORMAT, "lesson": None, "name": "main_job", "scale": scale,
            "data": sorted({s for s in scales if s}), "seed": 0, "backend": "numpy",
            "threads": per_lesson, "jobs": jobs, "wall_seconds": round(wall, 1),
            "cpu_seconds": round(cpu, 1), "load": load, **run_record.when_and_with_what(),
            "claims_held": None, "untested": None, "output": output}


def children_cpu_seconds():
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def lesson_title(path):
    """The lesson's docstring's first line, else its first markdown heading, else its name."""
    source = path.read_text(encoding="utf-8")
    try:
        doc = ast.get_docstring(ast.parse(source))
    except SyntaxError:
        doc = None
    if doc:
        return doc.strip().splitlines()[0]
    heading = re.search(r"^# #+ *(.+)$", source, re.MULTILINE)
    if heading:  # '# # Lesson 00 · Gradient descent' -> 'Gradient descent'
        return re.sub(r"^Lesson \d+\s*[·:.\-–—]\s*", "", heading.group(1).strip())
    return path.stem[3:].replace("_", " ")
