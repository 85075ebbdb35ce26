"""Paper mode (tinyae/paper/): every recipe runs small with --paper --quick, a run killed
mid-epoch and resumed gives the numbers of an uninterrupted one, and the flags' misuse is a
usage error that says what to do."""
import os
import pathlib
import re
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
PAPER_LESSONS = ["07_encoder_838.py", "13_contractive.py", "14_pretraining.py", "15_masked_ae.py"]
ENV = dict(os.environ, MPLBACKEND="Agg", PYTHONPATH=str(ROOT), OPENBLAS_NUM_THREADS="1",
           OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")

# Kills its own process (SIGKILL: no clean-up, as a power cut or an OOM kill) at the N-th
# optimizer step, then runs the lesson script as `python lesson.py ARGS` would.
KILLER = """
import os, runpy, signal, sys
from tinyae.optim.optimizer import Optimizer
step, calls = Optimizer.step, [0]
def step_or_die(self):
    calls[0] += 1
    if calls[0] == int(os.environ["KILL_AT_STEP"]):
        os.kill(os.getpid(), signal.SIGKILL)
    return step(self)
Optimizer.step = step_or_die
sys.argv = sys.argv[1:]
runpy.run_path(sys.argv[0], run_name="__main__")
"""


def run(script, *args, cwd, env=ENV, prefix=()):
    return subprocess.run([sys.executable, *prefix, str(ROOT / "lessons" / script), *args],
                          cwd=cwd, env=env, capture_output=True, text=True, timeout=300)


def results(stdout):
    """The lines a reader compares: every table row (stage times aside) and every claim."""
    return [line for line in stdout.splitlines()
            if line.startswith(("| ", "✓", "·")) and "minutes" not in line
            and not re.match(r"\| (layer_|fine_tune|seed_|pretrain|mask_)", line)]


@pytest.mark.parametrize("script", PAPER_LESSONS)
def test_paper_quick_runs_the_recipe_and_claims_nothing(script, tmp_path):
    result = run(script, "--paper", "--quick", "--out", str(tmp_path), cwd=tmp_path)
    assert result.returncode == 0, f"{script}:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    assert "paper setup:" in result.stdout and "the paper" in result.stdout  # the setup table
    assert "✓" not in result.stdout, "a quick run is never the paper's scale"
    assert "not tested at this scale" in result.stdout
    assert list((tmp_path / "checkpoints").rglob("checkpoint.npz")), "no checkpoint written"


@pytest.mark.parametrize("script", PAPER_LESSONS)
def test_paper_quick_runs_on_the_strict_stand_in_for_a_gpu(script, tmp_path):
    # tinyae.testing.strict: host data fed to a model on the device, or a device array handed
    # to NumPy, fails here as it would on CuPy.
    result = run(script, "--paper", "--quick", "--backend", "strict", "--out", str(tmp_path),
                 cwd=tmp_path)
    assert result.returncode == 0, f"{script}:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    assert "backend: strict" in result.stdout


def test_a_run_killed_mid_epoch_resumes_to_the_same_numbers(tmp_path):
    # 14 --paper --quick: three layers × 2 epochs × 40 steps, then fine-tuning; step 130 is
    # in the second epoch of layer 2.
    whole = run("14_pretraining.py", "--paper", "--quick", "--out", str(tmp_path / "whole"),
                cwd=tmp_path)
    assert whole.returncode == 0, whole.stdout[-3000:] + whole.stderr[-3000:]
    out = tmp_path / "killed"
    killed = run("14_pretraining.py", "--paper", "--quick", "--out", str(out), cwd=tmp_path,
                 env=dict(ENV, KILL_AT_STEP="130"), prefix=("-c", KILLER))
    assert killed.returncode == -9, f"the run was not killed:\n{killed.stdout[-2000:]}"
    layer_1 = out / "checkpoints" / "layer_1" / "checkpoint.npz"
    layer_2 = out / "checkpoints" / "layer_2" / "checkpoint.npz"
    assert layer_1.exists() and layer_2.exists()
    assert not list((out / "checkpoints").glob("fine_tune*")), "killed after layer 2"
    finished_at = layer_1.stat().st_mtime_ns
    resumed = run("14_pretraining.py", "--paper", "--quick", "--resume", "--out", str(out),
                  cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stdout[-3000:] + resumed.stderr[-3000:]
    assert layer_1.stat().st_mtime_ns == finished_at, "the finished stage was trained again"
    assert results(resumed.stdout) == results(whole.stdout)
    assert any("SdA-3" in line for line in results(whole.stdout))


def test_resume_without_paper_is_a_usage_error(tmp_path):
    result = run("14_pretraining.py", "--resume", "--quick", cwd=tmp_path)
    assert result.returncode == 2 and "add --paper" in result.stderr


def test_paper_without_full_mnist_says_where_to_put_it(tmp_path):
    env = dict(ENV, TINYAE_DATA=str(tmp_path), XDG_CACHE_HOME=str(tmp_path))
    result = run("14_pretraining.py", "--paper", "--out", str(tmp_path), cwd=tmp_path, env=env)
    assert result.returncode == 2
    assert "full MNIST" in result.stderr and "--download" in result.stderr


def test_lessons_without_a_paper_setup_have_no_paper_flag(tmp_path):
    result = run("09_shallow_vs_deep.py", "--paper", "--quick", cwd=tmp_path)
    assert result.returncode == 2 and "unrecognized arguments: --paper" in result.stderr
