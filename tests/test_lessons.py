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


# Lessons that run with the strict CPU stand-in for a GPU (tinyae.testing.strict) as backend:
# any numpy.* call on array data fails there, as on CuPy. One cheap one on every run; set
# TINYAE_STRICT_LESSONS=all for every lesson known to pass (about 4 CPU-minutes). Not yet clean:
# 02, 06, 13 (they feed host arrays to device models), 15 (its linear probe scores on the host).
STRICT_QUICK = ["19_ae_vs_vae.py"]
STRICT_ALL = STRICT_QUICK + ["03_backprop_by_hand.py",
    "00_gradient_descent.py", "01_activations.py", "04_softmax_chain_rule.py", "05_engine.py",
    "07_encoder_838.py", "08_nonlinear_manifold.py", "09_shallow_vs_deep.py", "10_conv_ae.py",
    "11_overcomplete_sparse.py", "12_denoising.py", "16_inpainting.py", "17_segmentation.py",
    "18_vae.py"]


@pytest.mark.parametrize("name", STRICT_ALL if os.environ.get("TINYAE_STRICT_LESSONS") == "all"
                         else STRICT_QUICK)
def test_lesson_runs_on_the_strict_stand_in(name, tmp_path):
    env = dict(os.environ, MPLBACKEND="Agg", PYTHONPATH=str(ROOT),
               OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    result = subprocess.run([sys.executable, str(ROOT / "lessons" / name), "--quick",
                             "--backend", "strict", "--out", str(tmp_path)], cwd=tmp_path,
                            env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, f"{name} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    assert "CLAIM FAILED" not in result.stdout
