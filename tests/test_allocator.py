"""tinyae/allocator.py: freed arrays stay with the process for the next step (glibc), instead of
being unmapped and faulted in again, page by page, on the next allocation of the same size."""
import os
import subprocess
import sys

import pytest

PROBE = """
import os, numpy
{setup}
def resident():
    return int(open("/proc/self/statm").read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
before = resident()
a = numpy.ones(8_000_000)  # 64 MB: glibc maps an array this big on its own and unmaps it on free
del a
print((resident() - before) // 2 ** 20)
"""


def _kept_mb(setup, **env):
    done = subprocess.run([sys.executable, "-c", PROBE.format(setup=setup)], capture_output=True,
                          text=True, check=True, env=dict(os.environ, **env))
    return int(done.stdout.split()[-1])


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt (Linux)")
def test_a_freed_big_array_stays_with_the_process_for_the_next_step():
    assert _kept_mb("") < 16                                   # glibc's default: unmapped
    assert _kept_mb("import tinyae") > 48                      # tinyae: kept for reuse
    assert _kept_mb("import tinyae", TINYAE_MALLOC="system") < 16  # the opt-out
