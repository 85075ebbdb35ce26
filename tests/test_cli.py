"""The `tinyae` command: lessons, run, gradcheck, train, info; user errors exit 2 cleanly."""
import json
import os
import pathlib
import subprocess
import sys

import numpy as np
import pytest

import tinyae
from tinyae import cli

ROOT = pathlib.Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"


def tinyae_cmd(*args, timeout=120):
    """`python -m tinyae ARGS` in a subprocess, from an unrelated folder."""
    env = dict(os.environ, MPLBACKEND="Agg", PYTHONPATH=str(ROOT))
    if DATA.is_dir():
        env.setdefault("TINYAE_DATA", str(DATA))
    return subprocess.run([sys.executable, "-m", "tinyae", *args], cwd=ROOT.parent, env=env,
                          capture_output=True, text=True, timeout=timeout)


def test_lessons_lists_every_lesson_with_its_title():
    result = tinyae_cmd("lessons")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    numbers = sorted(p.name[:2] for p in (ROOT / "lessons").glob("[0-9][0-9]_*.py"))
    assert [line[:2] for line in lines] == numbers
    assert all(len(line) > 4 for line in lines)  # a title follows each number


def test_info_reports_versions_and_data():
    result = tinyae_cmd("info")
    assert result.returncode == 0, result.stderr
    for word in ("tinyae", "python", "numpy", "matplotlib", "backend", "cupy", "MNIST"):
        assert word in result.stdout, word
    assert np.__version__ in result.stdout


def test_gradcheck_prints_a_row_per_op():
    from tinyae.gradcheck import load_all_ops
    result = tinyae_cmd("gradcheck", "--first-order")
    assert result.returncode in (0, 1), result.stderr  # 1 would mean an op fails its check
    for name in load_all_ops():
        assert name in result.stdout
    assert "ops pass" in result.stdout
    one = tinyae_cmd("gradcheck", "--op", "Sigmoid")
    assert one.returncode == 0 and "1 of 1 ops pass" in one.stdout


def test_train_shallow_quick(tmp_path):
    result = tinyae_cmd("train", "shallow", "--epochs", "1", "--quick", "--batch-size", "500",
                        "--out", str(tmp_path))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "train_loss" in result.stdout and "val_loss" in result.stdout
    for name in ("model.npz", "history.json", "reconstructions.png", "loss.png",
                 "checkpoints/checkpoint.npz"):
        assert (tmp_path / name).is_file(), name
    model = cli.build_model("shallow").load(tmp_path / "model.npz")  # loads without pickle
    assert model.num_parameters() == 784 * 32 + 32 + 32 * 784 + 784
    history = json.loads((tmp_path / "history.json").read_text())
    assert history["records"]["epoch"] == [1]
    assert history["records"]["val_loss"][0] < 0.7  # below BCE of a constant-0.5 output (0.693)


def test_built_in_models_map_images_to_images():
    for name in ("shallow", "deep"):
        model = cli.build_model(name, latent=8)
        assert model(np.zeros((2, 784), np.float32)).shape == (2, 784)
    conv = cli.build_model("conv", latent=8)
    assert conv(np.zeros((2, 1, 28, 28), np.float32)).shape == (2, 1, 28, 28)


@pytest.mark.parametrize("args, message", [
    (["train", "wide"], "invalid choice"),
    (["train", "shallow", "--epochs", "0"], "must be positive"),
    (["train", "shallow", "--lr", "fast"], "positive float"),
    (["run", "99"], "no lesson 99"),
    (["run", "three"], "lesson must be a number"),
    (["gradcheck", "--op", "NoSuchOp"], "unknown op"),
    (["frobnicate"], "invalid choice"),
    ([], "required"),
])
def test_user_errors_exit_2_without_a_traceback(args, message, capsys):
    assert _exit_code(args) == 2
    err = capsys.readouterr().err
    assert message in err
    assert "Traceback" not in err


def _exit_code(args):
    """cli.main's status, whether it returns it or argparse exits with it."""
    try:
        return cli.main(args)
    except SystemExit as stop:
        return stop.code


def test_argparse_errors_exit_2_in_a_subprocess():
    result = tinyae_cmd("train", "shallow", "--data", "cifar")
    assert result.returncode == 2
    assert "invalid choice" in result.stderr and "Traceback" not in result.stderr


def test_missing_lessons_folder_is_a_clear_error(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(tinyae, "__file__", str(tmp_path / "site-packages" / "tinyae" / "__init__.py"))
    assert cli.main(["lessons"]) == 2
    err = capsys.readouterr().err
    assert "lessons folder was not found" in err and "Traceback" not in err


def test_run_all_prints_a_table_and_fails_when_a_lesson_fails(tmp_path, monkeypatch, capsys):
    pkg = tmp_path / "repo" / "tinyae"
    lessons = tmp_path / "repo" / "lessons"
    pkg.mkdir(parents=True)
    lessons.mkdir()
    (lessons / "00_fine.py").write_text('"""A lesson that passes."""\nimport sys\n'
                                        'assert "--quick" in sys.argv\nprint("hello")\n')
    (lessons / "01_broken.py").write_text("# %% [markdown]\n# # Lesson 01 · Broken on purpose\n"
                                          "raise SystemExit(3)\n")
    monkeypatch.setattr(tinyae, "__file__", str(pkg / "__init__.py"))
    assert cli.main(["lessons"]) == 0
    assert capsys.readouterr().out.splitlines() == ["00  A lesson that passes.",
                                                   "01  Broken on purpose"]
    assert cli.main(["run", "all", "--quick", "--out", str(tmp_path / "out")]) == 1
    out = capsys.readouterr().out
    assert "00_fine" in out and "pass" in out
    assert "01_broken" in out and "FAIL (3)" in out
    assert "1 of 2 lesson(s) passed" in out
    assert cli.main(["run", "0", "--quick"]) == 0
