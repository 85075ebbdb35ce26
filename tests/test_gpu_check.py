"""benchmarks/gpu_check.py, the one-command check for a GPU machine, without a GPU: it says so
cleanly, and its dry run on the strict stand-in exercises every part, so that the first GPU
run does not die on a typo."""
import importlib.util
import os
import pathlib
import subprocess
import sys

import pytest

from tinyae import backend

ROOT = pathlib.Path(__file__).resolve().parents[1]


def _gpu_check():
    spec = importlib.util.spec_from_file_location("gpu_check", ROOT / "benchmarks" / "gpu_check.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_without_a_gpu_it_says_what_is_missing(capsys):
    if backend.cupy_available():
        pytest.skip("CuPy and a GPU are here: the real check runs instead")
    assert _gpu_check().main([]) == 2
    err = capsys.readouterr().err
    assert "no CuPy or no CUDA GPU" in err and "pip install tinyae[gpu]" in err
    assert "--backend strict" in err


def test_dry_run_on_the_stand_in():
    """Every part but the lessons for real, small: the gpu-marked tests (skipped here), every
    op on the stand-in vs NumPy, run.py's device and CPU timings of the four models (2 batches;
    the lessons run on the stand-in in test_lessons.py, their command lines below)."""
    env = dict(os.environ, MPLBACKEND="Agg", PYTHONPATH=str(ROOT), OPENBLAS_NUM_THREADS="1",
               OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    r = subprocess.run([sys.executable, "benchmarks/gpu_check.py", "--backend", "strict",
                        "--skip-lessons"], cwd=ROOT, env=env, capture_output=True, text=True,
                       timeout=600)
    out = r.stdout + r.stderr
    assert r.returncode == 0, out[-3000:]
    assert "DRY RUN" in out and "ops on strict vs NumPy" in out and "0 mismatches" in out
    for model in ("shallow", "deep", "conv", "vae"):
        line = next(l for l in out.splitlines() if l.startswith(f"one epoch: {model}"))
        assert " ok " in line and "strict " in line and "cpu " in line, line


def test_lessons_part_runs_each_lesson_on_the_device(monkeypatch):
    check, calls = _gpu_check(), []

    def fake_run(cmd, timeout):
        calls.append(cmd)
        return 0, "✓ claim: one\n· smoke check (not the claim): x\n✓ claim: two\n", 1.0
    monkeypatch.setattr(check, "run", fake_run)
    rows = []
    check.lessons(rows, "cupy", dry=False)
    assert [c[1] for c in calls] == ["lessons/09_shallow_vs_deep.py", "lessons/10_conv_ae.py"]
    assert all((ROOT / c[1]).exists() and c[2:4] == ["--backend", "cupy"]
               and "--quick" not in c for c in calls)
    assert [r[1:3] for r in rows] == [("ok", "2 claims held")] * 2
