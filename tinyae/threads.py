"""How many BLAS threads a lesson or a training run uses, and why.

OpenBLAS starts one thread per core and lets them spin while they wait for each other. On an
idle machine that is what you want: a big matmul runs about twice as fast on 2 cores. On a
busy machine it is a disaster: the spinning threads fight the other programs for the same
cores, and a run of the lessons that takes 3 minutes with one thread per process took 23 with
the default on a loaded 2-core machine. So the policy is:

    threads = cores − (other programs running now), at least 1

unless you choose (``--threads N`` on a lesson or ``tinyae train``, or $TINYAE_THREADS).
The choice is printed in each lesson's header, so a measured time always says what it was
measured with. Set once per process with threadpoolctl, the well-kept way to change BLAS
threads after NumPy has loaded.
"""
import os
import time

from threadpoolctl import threadpool_info, threadpool_limits

MAX_THREADS = 1024  # beyond any machine; a bigger number overflows the BLAS library's C int
_limiter = None  # kept alive: the limit lasts as long as this object is not restored


def choose(requested=None):
    """(threads, reason): ``requested`` (an int ≥ 1), else $TINYAE_THREADS, else the policy."""
    cores = os.cpu_count() or 1
    if requested is None and os.environ.get("TINYAE_THREADS"):
        value = os.environ["TINYAE_THREADS"]
        if not value.isdigit() or int(value) < 1:
            raise ValueError(f"TINYAE_THREADS={value!r}: it must be a positive integer "
                             "(the number of BLAS threads), or unset for the automatic choice")
        requested = int(value)
    if requested is not None:
        if requested > MAX_THREADS:
            raise ValueError(f"{requested} BLAS threads is more than tinyae allows ({MAX_THREADS}); "
                             f"this machine has {cores} cores: use at most that many")
        return requested, f"chosen ({cores} cores)"
    busy, measure = running_elsewhere()
    if busy is None:  # neither measure exists on this system (Windows)
        return cores, f"{cores} cores"
    threads = max(1, min(cores, round(cores - busy)))
    state = "busy" if threads < cores else "idle"
    return threads, f"{cores} cores, {measure} {busy:.1f}: {state} machine"


def running_elsewhere(samples=5, interval=0.05):
    """(how many other programs are running now, what was measured). On Linux: the runnable
    tasks the kernel counts (``procs_running`` in /proc/stat, which includes this process),
    averaged over a few samples a fraction of a second apart. The 1-minute load average is
    the fallback elsewhere; it lags: right after ``pip install`` (the README's command) it
    still counts the installer, and a competing job that has just started is not in it yet."""
    try:
        counts = []
        for i in range(samples):
            if i:
                time.sleep(interval)
            with open("/proc/stat") as stat:
                line = next(line for line in stat if line.startswith("procs_running"))
            counts.append(int(line.split()[1]) - 1)
        return max(0.0, sum(counts) / len(counts)), "running now"
    except (OSError, StopIteration, ValueError):
        pass
    try:
        return os.getloadavg()[0], "load"
    except (AttributeError, OSError):
        return None, None


def limit(threads):
    """Make NumPy's BLAS use ``threads`` threads from now on in this process."""
    global _limiter
    _limiter = threadpool_limits(limits=threads, user_api="blas")
    return threads


def blas_threads():
    """How many threads NumPy's BLAS uses now; tinyae's own parallel work (the optimizers'
    update of big parameters) uses as many. (threadpoolctl looks at the loaded libraries:
    a few milliseconds, so call it once, not per step.)"""
    counts = [p["num_threads"] for p in threadpool_info() if p["user_api"] == "blas"]
    return max(counts) if counts else 1
