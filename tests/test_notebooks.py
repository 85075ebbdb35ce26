"""Lessons opened as notebooks (paired with jupytext, as the README says) show every figure they
save: executed in a real kernel, in quick mode, their outputs hold the images."""
import pathlib

import jupytext
import nbclient
import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("lesson", ["03_backprop_by_hand", "08_nonlinear_manifold"])
def test_a_lesson_run_as_a_notebook_shows_the_figures_it_saves(lesson, tmp_path, monkeypatch):
    notebook = jupytext.read(ROOT / "lessons" / f"{lesson}.py")
    notebook.cells.insert(0, jupytext.reads(f"import os\nos.chdir({str(tmp_path)!r})",
                                            fmt="py:percent").cells[0])
    monkeypatch.setenv("TINYAE_QUICK", "1")  # the notebook's quick mode, as `%env TINYAE_QUICK=1`
    monkeypatch.setenv("PYTHONPATH", str(ROOT))
    monkeypatch.delenv("MPLBACKEND", raising=False)  # the kernel's own (inline) backend
    nbclient.NotebookClient(notebook, timeout=300, kernel_name="python3",
                            resources={"metadata": {"path": str(tmp_path)}}).execute()
    outputs = [o for cell in notebook.cells for o in cell.get("outputs", [])]
    errors = [o for o in outputs if o.get("output_type") == "error"]
    assert not errors, errors[0].get("evalue")
    images = [o for o in outputs if "image/png" in o.get("data", {})]
    saved = sorted((tmp_path / "out" / lesson).glob("*.png"))
    assert saved, "the lesson saved no figure"
    assert len(images) == len(saved), (f"{len(saved)} figures saved, {len(images)} shown inline")
    text = "".join(o.get("text", "") for o in outputs)
    assert "mode: quick" in text
