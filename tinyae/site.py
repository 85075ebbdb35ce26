"""The course as a website a class opens offline: ``tinyae docs build [--out site]``.

The pages of docs/ and the scripts of lessons/ are staged into one Sphinx source folder and
built with MyST (Markdown), the Furo theme, MathJax served from the package (no CDN) and
Sphinx's own search (a JavaScript index beside the pages), so opening ``site/index.html``, or
``python -m http.server`` in ``site/``, gives the whole course with no network.

What staging does to the pages (nothing here re-runs a lesson):

* the term plan (docs/course.md) is the first page, ``index.html``; lessons follow in order
  (previous/next at the foot of each), then the engine, PyTorch, notation, exercises and
  mistakes pages, then one page per model of ``tinyae.models`` with its API and its drawing;
* each lesson page is its docs page (maths, the recorded run's figures and numbers) followed
  by the script itself, cell by cell (the ``# %%`` markdown cells as text, code as code), with
  download links for the ``.py`` and a generated ``.ipynb``;
* a record block whose run was never recorded becomes a visible "not yet run" note, never
  stale numbers; a link to a file of the repository (``../tinyae/calls.py``) becomes a
  download of that file;
* Sphinx runs with warnings as errors: a broken link or a missing image fails the build with
  the page named.
"""
import importlib.util
import inspect
import re
import shutil
import time
from pathlib import Path

from . import run_pages, run_record

DOCS = run_pages.DOCS
ROOT = DOCS.parent
CONF = DOCS / "site"   # conf.py
OTHER_PAGES = ("engine", "coming_from_pytorch", "notation", "exercises", "common_mistakes")
LINK = re.compile(r"\[(?P<text>[^\]]*)\]\((?P<target>\.\./[^)\s#]*)(?P<anchor>#[^)\s]*)?\)")


def build(out, quiet=True):
    """Stage docs/ and lessons/ beside ``out`` (``out``-src) and build the HTML into ``out``.
    Returns (number of pages, seconds). Raises RuntimeError naming the page on a broken link,
    a missing image or any other warning."""
    for package in ("sphinx", "myst_parser", "furo", "sphinx-mathjax-offline", "jupytext"):
        if importlib.util.find_spec(package) is None:  # the docs extra is not installed
            raise ModuleNotFoundError(f"No module named {package!r}", name=package)
    from sphinx.cmd.build import build_main
    start = time.perf_counter()
    out = Path(out).resolve()
    src = out.with_name(out.name + "-src")
    pages = stage(src)
    args = ["-b", "html", "-W", "--keep-going", "-E", "-c", str(CONF), str(src), str(out)]
    if build_main(args + (["-q"] if quiet else [])) != 0:
        raise RuntimeError(f"the site did not build: Sphinx's warnings above name each page "
                           f"(sources staged in {src})")
    return pages, time.perf_counter() - start


def stage(src):
    """Write the Sphinx sources into ``src`` (emptied first); returns the number of pages."""
    shutil.rmtree(src, ignore_errors=True)
    (src / "downloads").mkdir(parents=True)
    shutil.copytree(DOCS / "img", src / "img")
    lessons = [p.stem for p in run_pages.pages()]
    course = _page(DOCS / "course.md", src)
    course += _toctree("Lessons", lessons) + _toctree("The engine and the tools", OTHER_PAGES)
    models = _model_pages(src)
    (src / "index.md").write_text(course + _toctree("Models", models), encoding="utf-8")
    for name in OTHER_PAGES:
        (src / f"{name}.md").write_text(_page(DOCS / f"{name}.md", src), encoding="utf-8")
    for name in lessons:
        text = _page(DOCS / f"{name}.md", src) + _script_cells(ROOT / "lessons" / f"{name}.py", src)
        (src / f"{name}.md").write_text(text, encoding="utf-8")
    return 1 + len(OTHER_PAGES) + len(lessons) + len(models)


def _toctree(caption, names):
    return f"\n```{{toctree}}\n:hidden:\n:caption: {caption}\n\n" + "\n".join(names) + "\n```\n"


def _page(path, src):
    """A docs page as the site shows it: its runs checked, its links to the repository made
    downloads, its link to the term plan pointed at the first page."""
    text = path.read_text(encoding="utf-8")
    text = run_pages.BLOCK.sub(_record_or_note, text)
    if path.stem.startswith(tuple("0123456789")) and not _recorded(path.stem):
        text = re.sub(r"^(# .*\n)", r"\1\n" + _NOT_YET_RUN.format(name=path.stem) + "\n", text,
                      count=1)
    text = text.replace("](course.md", "](index.md")
    return LINK.sub(lambda m: _repository_link(m, src), text)


_NOT_YET_RUN = ("```{{warning}}\nNot yet run: there is no recorded real run of this lesson in "
                "`docs/runs/`, so this page shows no measured numbers. Run `python "
                "lessons/{name}.py --record`, then `tinyae docs sync`.\n```")


def _recorded(name):
    return any(run_record.docs_path(name, scale).is_file() for scale in ("full", "embedded"))


def _record_or_note(match):
    name, scale = match["key"].rsplit(".", 1)
    if run_record.docs_path(name, scale).is_file():
        return match[0]
    return _NOT_YET_RUN.format(name=name) + "\n"


def _repository_link(match, src):
    """``[text](../lessons/05_engine.py)`` → a download of that file (copied into the site);
    a folder, which a static site cannot list, keeps its name as text."""
    target = (DOCS / match["target"]).resolve()
    if target.is_dir():
        return f"{match['text']} (`{target.relative_to(ROOT)}/`)"
    if not target.is_file():
        return match[0]  # left for Sphinx to report, with the page's name
    copy = src / "downloads" / target.relative_to(ROOT)
    copy.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(target, copy)
    return f"[{match['text']}](downloads/{target.relative_to(ROOT).as_posix()})"


def _script_cells(path, src):
    """The script cell by cell, headings pushed two levels down, with its downloads."""
    import jupytext
    notebook = jupytext.read(path)
    (src / "downloads" / "lessons").mkdir(parents=True, exist_ok=True)
    shutil.copyfile(path, src / "downloads" / "lessons" / path.name)
    jupytext.write(notebook, src / "downloads" / "lessons" / f"{path.stem}.ipynb")
    parts = [f"\n## The script, cell by cell\n\nDownload [the script "
             f"(`{path.name}`)](downloads/lessons/{path.name}) or [the notebook "
             f"(`{path.stem}.ipynb`)](downloads/lessons/{path.stem}.ipynb), and run it "
             f"yourself: `python lessons/{path.name} --quick` takes seconds.\n"]
    for cell in notebook.cells:
        if cell.cell_type == "markdown":
            parts.append(re.sub(r"^(#+) ", r"##\1 ", cell.source, flags=re.M))
        elif cell.source.strip():
            parts.append(f"```python\n{cell.source}\n```")
    return "\n\n".join(parts) + "\n"


# --- one page per model ----------------------------------------------------------------------
MODEL_DRAWINGS = {"LinearAE": "linear", "MLPAutoencoder": "deep", "ConvAutoencoder": "conv",
                  "MaskedAutoencoder": "masked", "UNet": "unet", "VAE": "vae"}


def _model_pages(src):
    """models/NAME.md for each model class of tinyae.models: what it is, its signature and
    public methods with their docstrings, and its drawing from lesson 05's recorded run."""
    import tinyae.models as models
    from .nn.module import Module
    (src / "models").mkdir()
    names = []
    for name, cls in sorted(inspect.getmembers(models, inspect.isclass)):
        if not issubclass(cls, Module) or cls.__module__.split(".")[1] != "models":
            continue
        lines = [f"# {name}\n", f"`tinyae.models.{name}{inspect.signature(cls)}`\n",
                 _text(cls.__doc__)]
        drawing = MODEL_DRAWINGS.get(name)
        if drawing:
            lines.append(f"![{name} drawn by lesson 05, one box per module call]"
                         f"(../img/05_model_{drawing}.png)\n\nThe drawing: `viz.draw_graph(model"
                         f".loss(x), names=model, group=True)` ([lesson 05](../05_engine.md)).\n")
        for method, fn in inspect.getmembers(cls, inspect.isfunction):
            if not method.startswith("_") and method in vars(cls) and fn.__doc__:
                lines += [f"## `{method}{inspect.signature(fn)}`\n", _text(fn.__doc__)]
        (src / "models" / f"{name}.md").write_text("\n".join(lines), encoding="utf-8")
        names.append(f"models/{name}")
    return names


def _text(doc):
    """A docstring as preformatted text (it is written for help(), with its own layout)."""
    return "```text\n" + inspect.cleandoc(doc or "") + "\n```\n"
