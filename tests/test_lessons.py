"""Every lesson runs top to bottom in --quick mode and asserts (a loose version of) its claim."""
import os
import pathlib
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
LESSONS = sorted(p.name for p in (ROOT / "lessons").glob("[0-9][0-9]_*.py"))


def test_there_are_lessons():
    assert len(LESSONS) >= 3, LESSONS


@pytest.mark.parametrize("name", LESSONS)
def test_lesson_runs_in_quick_mode(name, tmp_path):
    # One BLAS thread: quick runs multiply small matrices, where OpenBLAS threads only add
    # waiting — and on a busy machine they can make a 4-second lesson take a minute.
    env = dict(os.environ, MPLBACKEND="Agg", PYTHONPATH=str(ROOT),
               OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    result = subprocess.run([sys.executable, str(ROOT / "lessons" / name), "--quick",
                             "--out", str(tmp_path)], cwd=tmp_path, env=env,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, f"{name} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    assert "CLAIM FAILED" not in result.stdout
    assert list(tmp_path.rglob("*.png")), f"{name} saved no figure"


# Every lesson again with the strict CPU stand-in for a GPU (tinyae.testing.strict) as its
# backend: a numpy.* call on array data, host data fed to a model on the device, or a device
# array handed to matplotlib fails there, as it would on CuPy. About as long as the NumPy runs
# above (the stand-in adds ~15% CPU time).
@pytest.mark.parametrize("name", LESSONS)
def test_lesson_runs_on_the_strict_stand_in(name, tmp_path):
    env = dict(os.environ, MPLBACKEND="Agg", PYTHONPATH=str(ROOT),
               OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    result = subprocess.run([sys.executable, str(ROOT / "lessons" / name), "--quick",
                             "--backend", "strict", "--out", str(tmp_path)], cwd=tmp_path,
                            env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, f"{name} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    assert "CLAIM FAILED" not in result.stdout
    assert "backend: strict" in result.stdout
