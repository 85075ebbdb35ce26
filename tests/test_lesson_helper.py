"""tinyae.lesson: flags, header, table, check, figure, mnist; lessons 00 and 01 in --quick."""
import os
import runpy
import subprocess
import sys
import types
from pathlib import Path

import numpy
import pytest

from tinyae import backend
from tinyae.arguments import positive
from tinyae.lesson import Lesson

ROOT = Path(__file__).resolve().parents[1]


def make(tmp_path, *flags, **kwargs):
    return Lesson(3, "Test lesson", claim="tests pass", argv=["--out", str(tmp_path), *flags],
                  **kwargs)


# ------------------------------------------------------------------ flags and header

def test_defaults(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    lesson = Lesson(7, "Deep vs shallow", claim="deep beats shallow", reference="H&S 2006",
                    argv=[])
    assert lesson.quick is False
    assert lesson.seed == 0 and lesson.backend == "numpy" and lesson.device == "cpu"
    assert lesson.out == Path("out") / "07_deep_vs_shallow"
    assert (tmp_path / "out" / "07_deep_vs_shallow").is_dir()
    header = capsys.readouterr().out
    assert "Lesson 07 · Deep vs shallow" in header
    assert "Claim: deep beats shallow" in header and "Reference: H&S 2006" in header


def test_default_out_uses_the_script_name(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "argv", ["lessons/05_denoising.py"])
    assert Lesson(5, "Denoising autoencoders", claim="c").out == Path("out/05_denoising")


def test_flags(tmp_path):
    out = tmp_path / "figs" / "nested"
    lesson = Lesson(0, "T", claim="c", argv=["--quick", "--out", str(out), "--seed", "42",
                                             "--backend", "numpy"])
    assert lesson.quick is True and lesson.seed == 42
    assert lesson.out == out and out.is_dir()
    # The rng is seeded: the same seed gives the same numbers.
    assert lesson.rng.normal() == numpy.random.default_rng(42).normal()


def test_lesson_specific_flags(tmp_path):
    lesson = make(tmp_path, "--epochs", "3",
                  add_arguments=lambda p: p.add_argument("--epochs", type=positive(int), default=10))
    assert lesson.args.epochs == 3


def test_unknown_flag_is_a_usage_error(tmp_path, capsys):
    with pytest.raises(SystemExit) as err:
        make(tmp_path, "--quik")
    assert err.value.code == 2
    assert "--quik" in capsys.readouterr().err


def test_bad_backend_is_a_usage_error(tmp_path, capsys):
    with pytest.raises(SystemExit):
        make(tmp_path, "--backend", "tpu")
    assert "invalid choice" in capsys.readouterr().err


@pytest.mark.skipif(backend.cupy_available(), reason="CuPy and a GPU are present")
def test_cupy_backend_without_gpu_says_why(tmp_path, capsys):
    with pytest.raises(SystemExit):
        make(tmp_path, "--backend", "cupy")
    assert "CuPy" in capsys.readouterr().err
    assert backend.get_backend() == "numpy"


def _fake_kernel(monkeypatch):
    """A running IPython kernel, as Jupyter has one: get_ipython() with a .kernel."""
    ipython = types.ModuleType("IPython")
    ipython.get_ipython = lambda: types.SimpleNamespace(kernel=object())
    monkeypatch.setitem(sys.modules, "IPython", ipython)


def test_a_process_that_merely_imported_ipykernel_is_no_notebook(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "ipykernel", types.ModuleType("ipykernel"))  # a test runner
    monkeypatch.setattr(sys, "argv", ["lessons/07_encoder_838.py"])
    monkeypatch.chdir(tmp_path)
    assert Lesson(7, "Some title", claim="c", argv=[]).out == Path("out/07_encoder_838")


def test_in_a_notebook_the_kernel_flags_are_ignored(tmp_path, monkeypatch):
    _fake_kernel(monkeypatch)
    monkeypatch.setattr(sys, "argv", ["ipykernel_launcher.py", "-f", "kernel.json", "--quick"])
    monkeypatch.chdir(tmp_path)
    lesson = Lesson(99, "Notebook", claim="c")  # no lessons/99_*.py: named from the title
    assert lesson.quick is True and lesson.out == Path("out/99_notebook")


def test_in_a_notebook_the_folder_is_named_as_the_script(tmp_path, monkeypatch):
    _fake_kernel(monkeypatch)
    monkeypatch.setattr(sys, "argv", ["ipykernel_launcher.py", "-f", "kernel.json"])
    monkeypatch.delenv("JPY_SESSION_NAME", raising=False)
    monkeypatch.setenv("TINYAE_QUICK", "1")  # how a notebook chooses quick mode
    monkeypatch.chdir(tmp_path)
    (tmp_path / "lessons").mkdir()
    (tmp_path / "lessons" / "42_topic_words.py").write_text("")
    lesson = Lesson(42, "A title unlike the file name", claim="c")
    assert lesson.quick is True and lesson.out == Path("out/42_topic_words")
    monkeypatch.setenv("JPY_SESSION_NAME", str(tmp_path / "42_from_the_notebook.ipynb"))
    assert Lesson(42, "A title", claim="c").out == Path("out/42_from_the_notebook")


def test_bad_number(tmp_path):
    with pytest.raises(ValueError, match="Lesson number"):
        Lesson("3", "T", claim="c", argv=["--out", str(tmp_path)])


# ------------------------------------------------------------------ table

def test_table_aligns_columns(tmp_path, capsys):
    lesson = make(tmp_path)
    capsys.readouterr()
    text = lesson.table([["PCA k=2", 0.0556712, 0.05567], ["deep AE", 3.0012, None]],
                        ["model", "measured", "reference"], fmt=".4g")
    assert capsys.readouterr().out.strip() == text
    lines = text.splitlines()
    assert lines[0] == "| model   | measured | reference |"
    assert lines[1] == "|---------|---------:|----------:|"      # numbers right-aligned
    assert lines[2] == "| PCA k=2 |  0.05567 |   0.05567 |"
    assert lines[3] == "| deep AE |    3.001 |         — |"       # None shows as —
    assert len({len(line) for line in lines}) == 1


def test_table_counts_combining_bars_as_zero_width(tmp_path):
    text = make(tmp_path).table([["z̄", 1], ["w", 2]], ["signal", "n"])
    a, b = text.splitlines()[2:]
    assert a.index(" | ") == b.index(" | ") + 1   # z̄ is two code points but one column


def test_table_bars_in_text_keep_the_markdown_table_whole(tmp_path):
    text = make(tmp_path).table([["|cos| > 0.95", 3]], ["count of", "max |ΔW̄| / max |W̄|"])
    assert all(line.count("|") == 3 for line in text.splitlines())  # 2 columns, 3 separators
    assert "max ∣ΔW̄∣ / max ∣W̄∣" in text and "∣cos∣ > 0.95" in text


def test_table_per_column_format_and_ints(tmp_path):
    text = make(tmp_path).table([[12345, 0.5, 0.25]], ["n", "a", "b"], fmt=[".0f", ".2f", ".1e"])
    assert "12,345" in text and "0.50" in text and "2.5e-01" in text


def test_table_rejects_ragged_rows(tmp_path):
    with pytest.raises(ValueError, match="row 1 has 1 cells but there are 2 headers"):
        make(tmp_path).table([[1, 2], [3]], ["a", "b"])


# ------------------------------------------------------------------ check, figure, done

def test_check_prints_when_the_claim_holds(tmp_path, capsys):
    lesson = make(tmp_path)
    lesson.check(numpy.float64(0.01) < 0.1, "loss is small")
    assert "✓ claim: loss is small" in capsys.readouterr().out
    assert lesson.claims_held == 1


def test_a_claim_above_the_runs_scale_is_never_a_tick(tmp_path, capsys, monkeypatch):
    quick = make(tmp_path, "--quick")
    assert quick.scale == "quick"
    assert quick.check(False, "codes round to 3 bits", needs="embedded") is False  # not asserted
    out = capsys.readouterr().out
    assert "✓" not in out and "· not tested at this scale (a quick run; the claim needs a real " \
        "run (the embedded MNIST subset will do)): codes round to 3 bits" in out
    assert quick.untested == 1 and quick.claims_held == 0
    quick.done()
    assert "0 claim(s) held, 1 not tested at this scale (a quick run)" in capsys.readouterr().out
    real = make(tmp_path)
    assert real.scale == "full"  # no MNIST: the lesson's own data is its full scale
    real.sources.add("embedded MNIST subset")
    assert real.scale == "embedded"
    assert real.check(True, "held", needs="embedded")
    assert not real.check(False, "needs 60k", needs="full")
    with pytest.raises(AssertionError, match="CLAIM FAILED"):
        real.check(False, "a claim at its scale is asserted", needs="embedded")


def test_check_raises_with_the_claim(tmp_path):
    lesson = make(tmp_path)
    with pytest.raises(AssertionError, match="CLAIM FAILED: codes round to 3 bits"):
        lesson.check(False, "codes round to 3 bits")
    assert lesson.claims_held == 0


def test_figure_is_saved(tmp_path, capsys):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    lesson = make(tmp_path)
    fig, ax = plt.subplots()
    ax.plot([0, 1], [1, 0])
    path = lesson.figure(fig, "curve")
    assert path == tmp_path / "curve.png" and path.stat().st_size > 1000
    assert path.read_bytes()[:4] == b"\x89PNG"
    assert f"figure saved: {path}" in capsys.readouterr().out
    assert not plt.fignum_exists(fig.number)          # closed, so scripts do not leak memory
    fig2, _ = plt.subplots()
    assert lesson.figure(fig2, "vector.svg").suffix == ".svg"


def test_section_prints_a_heading(tmp_path, capsys):
    make(tmp_path).section("(c) two layers")
    assert "── (c) two layers ──" in capsys.readouterr().out


def test_done_reports_time_and_claims(tmp_path, capsys):
    lesson = make(tmp_path)
    lesson.check(True, "a")
    seconds = lesson.done()
    out = capsys.readouterr().out
    assert seconds >= 0 and "Lesson 03 done in" in out and "1 claim(s) held" in out


def test_asarray_keeps_float64(tmp_path):
    a = make(tmp_path).asarray(numpy.arange(3.0))
    assert a.dtype == numpy.float64 and list(a) == [0.0, 1.0, 2.0]


def test_asarray_and_to_host_move_data_to_the_device_and_back(tmp_path):
    """With --backend strict (the CPU stand-in for a GPU), lesson.asarray puts data on the
    device and lesson.to_host brings arrays and tensors back as NumPy arrays."""
    from tinyae import Tensor
    from tinyae.testing import strict
    before = backend.get_backend(), backend._device
    try:
        lesson = make(tmp_path, "--backend", "strict")
        a = lesson.asarray(numpy.arange(3.0))
        assert isinstance(a, strict.StrictArray) and lesson.device == "gpu"
        for x in (a, Tensor(a) * 2):
            host = lesson.to_host(x)
            assert type(host) is numpy.ndarray and host.shape == (3,)
    finally:
        backend.set_backend(before[0])
        backend._device = before[1]


# ------------------------------------------------------------------ mnist

def test_mnist_quick_uses_embedded_subset_without_download(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("TINYAE_DATA", str(tmp_path / "nothing_here"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))

    def no_network(*args, **kwargs):
        raise AssertionError("quick mode must not download")
    monkeypatch.setattr("urllib.request.urlopen", no_network)
    lesson = make(tmp_path, "--quick")
    x, y = lesson.mnist("test", quick_n=50)
    assert x.shape == (50, 784) and x.dtype == numpy.float32 and y.shape == (50,)
    assert 0 <= x.min() and x.max() <= 1
    out = capsys.readouterr().out
    assert "embedded MNIST subset" in out and "first 50 of 1,000" in out


# ------------------------------------------------------------------ lessons 00 and 03

@pytest.mark.parametrize("script, claims", [
    ("00_gradient_descent.py", ["stopping rule", "matches lstsq", "SGD"]),
    ("03_backprop_by_hand.py", ["(a)", "(b) fan-out", "(c) engine", "(c) hand-written"]),
])
def test_lesson_runs_quick(script, claims, tmp_path):
    env = {**os.environ, "MPLBACKEND": "Agg", "PYTHONIOENCODING": "utf-8"}
    result = subprocess.run([sys.executable, str(ROOT / "lessons" / script), "--quick",
                             "--out", str(tmp_path)], cwd=ROOT, env=env,
                            capture_output=True, text=True, encoding="utf-8", timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "CLAIM FAILED" not in result.stdout
    claim_lines = [line for line in result.stdout.splitlines() if line.startswith("✓ claim:")]
    for claim in claims:
        assert any(claim in line for line in claim_lines), f"no claim line with {claim!r}"
    assert list(tmp_path.glob("*.png")), "the lesson saved no figure"


def test_lesson_runs_via_runpy(tmp_path, monkeypatch, capsys):
    """The CLI runs lessons with runpy; flags come from sys.argv as for a script."""
    path = str(ROOT / "lessons" / "03_backprop_by_hand.py")
    monkeypatch.setattr(sys, "argv", [path, "--quick", "--out", str(tmp_path)])
    runpy.run_path(path, run_name="__main__")
    out = capsys.readouterr().out
    assert "Lesson 03 · Backprop by hand" in out and "claim(s) held" in out
    assert (tmp_path / "finite_difference_error.png").is_file()


def test_a_claims_scale_must_be_one_of_the_three(tmp_path):
    with pytest.raises(ValueError, match="needs is one of"):
        make(tmp_path).check(True, "x", needs="real")
