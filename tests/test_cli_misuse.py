"""The command line and the lessons' flags under misuse: closed pipes, bad settings, damaged
files, a diverging run. Each gives one clear line and a non-zero status, never a traceback."""
import gzip
import io
import os
import shutil
import subprocess
import sys

import pytest

from tinyae import cli
from tinyae.data import mnist as mnist_mod
from tinyae.lesson import Lesson

from test_cli import DATA, ROOT, tinyae_cmd


@pytest.mark.parametrize("command", ["lessons", "gradcheck --first-order --op Exp Log"])
def test_a_closed_pipe_is_not_a_traceback(command):
    # `tinyae lessons | head -1`: the reader goes away after the first line.
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    shell = f"{sys.executable} -m tinyae {command} | head -1"
    result = subprocess.run(["bash", "-o", "pipefail", "-c", shell], env=env, capture_output=True,
                            text=True, timeout=120)
    assert "Traceback" not in result.stderr and "BrokenPipe" not in result.stderr, result.stderr
    assert len(result.stdout.splitlines()) == 1


@pytest.mark.parametrize("value, says", [("abc", "TINYAE_THREADS='abc'"),
                                         ("99999999999999999999999", "more than tinyae allows")])
def test_train_reads_tinyae_threads_and_refuses_a_bad_value(value, says, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("TINYAE_THREADS", value)
    assert cli.main(["train", "shallow", "--quick", "--out", str(tmp_path)]) == 2
    assert says in capsys.readouterr().err


def test_train_refuses_too_many_threads_on_the_command_line(tmp_path, capsys):
    assert cli.main(["train", "shallow", "--quick", "--threads", "5000", "--out", str(tmp_path)]) == 2
    assert "more than tinyae allows" in capsys.readouterr().err


def test_a_diverging_training_run_warns_and_exits_1(tmp_path):
    result = tinyae_cmd("train", "shallow", "--quick", "--epochs", "1", "--lr", "1e6",
                        "--out", str(tmp_path))
    assert result.returncode == 1, result.stdout + result.stderr
    assert "training failed" in result.stderr and "learning rate" in result.stderr
    assert "Traceback" not in result.stderr


def test_train_on_the_strict_device_backend_moves_the_batches(tmp_path):
    env_backend = dict(TINYAE_BACKEND="strict")
    result = subprocess.run([sys.executable, "-m", "tinyae", "train", "shallow", "--quick",
                             "--epochs", "1", "--out", str(tmp_path)],
                            env=dict(os.environ, PYTHONPATH=str(ROOT), MPLBACKEND="Agg",
                                     TINYAE_DATA=str(DATA), **env_backend),
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    assert (tmp_path / "model.npz").is_file()


@pytest.mark.parametrize("value", ["0", "-1", "abc", "nan"])
def test_every_numeric_lesson_flag_refuses_zero_negative_and_words(value, capsys):
    from tinyae.arguments import positive
    with pytest.raises(SystemExit) as stop:
        Lesson(15, "t", "c", argv=["--quick", "--epochs", value],
               add_arguments=lambda p: p.add_argument("--epochs", type=positive(int)))
    assert stop.value.code == 2 and "--epochs" in capsys.readouterr().err


def test_a_lesson_flag_with_a_bare_int_type_is_refused_when_written():
    with pytest.raises(TypeError, match="type=positive"):
        Lesson(15, "t", "c", argv=["--quick"],
               add_arguments=lambda p: p.add_argument("--epochs", type=int))


def test_lesson_15_refuses_epochs_0_before_loading_data():
    result = subprocess.run([sys.executable, str(ROOT / "lessons" / "15_masked_ae.py"), "--quick",
                             "--epochs", "0"], capture_output=True, text=True, timeout=120,
                            env=dict(os.environ, PYTHONPATH=str(ROOT), MPLBACKEND="Agg"))
    assert result.returncode == 2 and "--epochs" in result.stderr, result.stderr


def _damaged_cache(tmp_path, monkeypatch):
    """A cache holding the four genuine files, one with a flipped byte, one truncated."""
    cache = tmp_path / "cache"
    folder = cache / "tinyae" / "mnist"
    folder.mkdir(parents=True)
    for name in os.listdir(DATA / "mnist"):
        shutil.copy(DATA / "mnist" / name, folder / name)
        os.chmod(folder / name, 0o644)
    flipped = folder / "t10k-labels-idx1-ubyte.gz"
    data = bytearray(flipped.read_bytes())
    data[len(data) // 2] ^= 0xFF
    flipped.write_bytes(bytes(data))
    truncated = folder / "train-labels-idx1-ubyte.gz"
    truncated.write_bytes(truncated.read_bytes()[:1000])
    monkeypatch.setenv("XDG_CACHE_HOME", str(cache))
    monkeypatch.delenv("TINYAE_DATA", raising=False)
    return flipped, truncated


@pytest.mark.skipif(not (DATA / "mnist").is_dir(), reason="needs the genuine MNIST files")
def test_data_download_replaces_damaged_downloads(tmp_path, monkeypatch, capsys):
    flipped, truncated = _damaged_cache(tmp_path, monkeypatch)

    def offline(*args, **kwargs):
        raise OSError("no network in this test")
    monkeypatch.setattr(mnist_mod.urllib.request, "urlopen", offline)
    assert cli.main(["data", "download"]) == 1  # offline: it cannot fetch them again
    out, err = capsys.readouterr()
    assert "removed a damaged download" in out and str(flipped) in out and str(truncated) in out
    assert "could not download" in err and "Traceback" not in err
    assert not flipped.exists() and not truncated.exists()

    class Response(io.BytesIO):  # a mirror sending the genuine bytes (as in test_data_files)
        headers = {}
    monkeypatch.setattr(mnist_mod.urllib.request, "urlopen",
                        lambda url, timeout=None: Response((DATA / "mnist" / url.rsplit("/", 1)[1])
                                                           .read_bytes()))
    assert cli.main(["data", "download"]) == 0
    assert "60,000 images ready" in capsys.readouterr().out
    assert gzip.open(truncated).read()  # whole again


def test_info_with_a_damaged_embedded_subset_says_so(tmp_path, monkeypatch, capsys):
    broken = tmp_path / "subset.npz"
    broken.write_bytes(b"not a zip file")
    monkeypatch.setattr(mnist_mod, "_SUBSET_PATH", str(broken))
    mnist_mod._embedded.cache_clear()
    monkeypatch.delenv("TINYAE_DATA", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "empty-cache"))
    try:
        assert cli.main(["info"]) == 0
    finally:
        mnist_mod._embedded.cache_clear()
    out = capsys.readouterr().out
    assert "embedded subset at" in out and "is damaged" in out and "reinstall" in out
