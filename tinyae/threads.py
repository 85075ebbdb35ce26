"""How many BLAS threads a lesson or a training run uses, and why.

OpenBLAS starts one thread per core and lets them spin while they wait for each other. On an
idle machine that is what you want: a big matmul runs about twice as fast on 2 cores. On a
busy machine it is a disaster: the spinning threads fight the other programs for the same
cores, and a run of the lessons that takes 3 minutes with one thread per process took 23 with
the default on a loaded 2-core machine. So the policy is:

    threads = cores − (programs already running, the 1-minute load average), at least 1

unless you choose (``--threads N`` on a lesson or ``tinyae train``, or $TINYAE_THREADS).
The choice is printed in each lesson's header, so a measured time always says what it was
measured with. Set once per process with threadpoolctl, the well-kept way to change BLAS
threads after NumPy has loaded.
"""
import os

from threadpoolctl import threadpool_info, threadpool_limits

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
        return requested, f"chosen ({cores} cores)"
    try:
        busy = os.getloadavg()[0]
    except (AttributeError, OSError):  # no load average on this system (Windows)
        return cores, f"{cores} cores"
    threads = max(1, min(cores, round(cores - busy)))
    state = "busy" if threads < cores else "idle"
    return threads, f"{cores} cores, load {busy:.1f}: {state} machine"


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
