"""The course website (tinyae/site.py, `tinyae docs build`): built from docs/ and lessons/,
whole offline, and checked page by page in a real browser (headless Chromium, driven by
Playwright): no console errors, every image loaded, every internal link resolving, maths
rendered, search finding words. A broken link or a missing image fails the build with the page
named; a lesson without a recorded run says "not yet run"."""
import os
import re
import shutil
from pathlib import Path
from urllib.parse import unquote, urlparse

import pytest

pytest.importorskip("sphinx", reason="the website needs the docs extra (Sphinx)")
pytest.importorskip("myst_parser", reason="the website needs the docs extra (myst-parser)")
pytest.importorskip("furo", reason="the website needs the docs extra (furo)")
from tinyae import run_pages, site  # noqa: E402

LESSONS = [p.stem for p in run_pages.pages()]


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    out = tmp_path_factory.mktemp("website") / "site"
    pages, seconds = site.build(out)
    return out, pages, seconds


def test_every_page_is_built_with_its_downloads(built):
    out, pages, _ = built
    html = sorted(p.relative_to(out).as_posix() for p in out.rglob("*.html")
                  if not p.relative_to(out).as_posix().startswith("_"))
    for name in ["index", *site.OTHER_PAGES, *LESSONS, "models/VAE", "models/ConvAutoencoder",
                 "search"]:
        assert f"{name}.html" in html, name
    assert pages == len([h for h in html if h not in ("search.html", "genindex.html")])
    for name in LESSONS:  # the script and a notebook of it, for every lesson
        assert (out / "_downloads").exists()
        assert list(out.rglob(f"_downloads/*/{name}.py")) and list(out.rglob(f"_downloads/*/{name}.ipynb"))
    index = (out / "index.html").read_text(encoding="utf-8")
    assert "A term with tinyae" in index  # the term plan is the first page


def test_nothing_is_fetched_from_the_network(built):
    out, _, _ = built
    assert (out / "_static" / "mathjax" / "tex-chtml.js").is_file()  # MathJax, served locally
    for page in out.rglob("*.html"):
        text = page.read_text(encoding="utf-8")
        remote = re.findall(r"""(?:src|href)=["'](https?:)?//[^"']+\.(?:js|css|woff2?)""", text)
        assert not remote, (page.name, remote)


def test_a_lesson_page_shows_its_run_and_its_script_cell_by_cell(built):
    out, _, _ = built
    page = (out / "05_engine.html").read_text(encoding="utf-8")
    assert "The script, cell by cell" in page and "05_model_conv.png" in page
    assert "54 of 54" in page or "all 54 registered ops" in page  # the recorded run's numbers
    assert "class TwoLayer" in re.sub(r"<[^>]+>", "", page)  # a code cell, highlighted


def _build_with(monkeypatch, tmp_path, extra):
    """Build after appending ``extra`` to the engine page, as a careless edit would."""
    original = site._page
    monkeypatch.setattr(site, "_page", lambda path, src: original(path, src) +
                        (extra if path.stem == "engine" else ""))
    with pytest.raises(RuntimeError, match="did not build"):
        site.build(tmp_path / "site")


def test_a_broken_link_fails_the_build_naming_the_page(monkeypatch, tmp_path, capfd):
    _build_with(monkeypatch, tmp_path, "\nSee [the lost page](no_such_page.md).\n")
    err = capfd.readouterr().err
    assert "engine.md" in err and "no_such_page" in err


def test_a_missing_image_fails_the_build_naming_the_page(monkeypatch, tmp_path, capfd):
    _build_with(monkeypatch, tmp_path, "\n![a figure never drawn](img/never_drawn.png)\n")
    err = capfd.readouterr().err
    assert "engine.md" in err and "never_drawn.png" in err


def test_a_lesson_never_recorded_says_so_instead_of_quoting_numbers(monkeypatch, tmp_path):
    real = site.run_record.docs_path
    monkeypatch.setattr(site.run_record, "docs_path", lambda name, scale:
                        tmp_path / "none.json" if name == "07_encoder_838" else real(name, scale))
    site.stage(tmp_path / "src")
    page = (tmp_path / "src" / "07_encoder_838.md").read_text(encoding="utf-8")
    assert page.count("Not yet run") >= 2  # under the title, and in place of each record
    assert "<!-- record:" not in page and "measured in" not in page


# --- in a real browser ---------------------------------------------------------------------
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="module")
def browser():
    if CHROMIUM is None:
        pytest.skip("no Chromium on this machine (.ci/run installs Debian's chromium package)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="needs playwright (test extra)")
    with sync_api.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield chromium
        chromium.close()


def test_every_page_in_a_real_browser(built, browser):
    out, _, _ = built
    pages = sorted(p for p in out.rglob("*.html") if "_static" not in p.parts)
    tab = browser.new_page(viewport={"width": 1280, "height": 720})
    errors = []
    tab.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    tab.on("pageerror", lambda e: errors.append(str(e)))
    for page in pages:
        tab.goto(page.as_uri(), wait_until="load")
        where = page.relative_to(out).as_posix()
        broken_images = tab.evaluate("Array.from(document.images).filter(i => !(i.complete && "
                                     "i.naturalWidth > 0)).map(i => i.getAttribute('src'))")
        assert not broken_images, (where, broken_images)
        for href in tab.evaluate("Array.from(document.querySelectorAll('a[href]'))"
                                 ".map(a => a.href)"):
            url = urlparse(href)
            if url.scheme == "file":
                assert Path(unquote(url.path)).exists(), (where, href)
        text = tab.inner_text("article") if tab.query_selector("article") else ""
        assert "$$" not in text and "\\frac" not in text, where
        if tab.query_selector(".math"):  # maths on the page: MathJax typeset it, offline
            tab.wait_for_selector("mjx-container", timeout=15_000)
        assert not errors, (where, errors)


@pytest.mark.parametrize("word", ["contractive", "reparameterisation"])
def test_search_finds_the_course_offline(built, browser, word):
    out, _, _ = built
    tab = browser.new_page()
    tab.goto((out / "search.html").as_uri() + f"?q={word}", wait_until="load")
    tab.wait_for_selector("#search-results li a", timeout=30_000)
    found = tab.eval_on_selector_all("#search-results li a", "els => els.map(e => e.href)")
    assert found, word
    assert any(os.path.basename(urlparse(h).path) in ("13_contractive.html", "18_vae.html",
                                                       "index.html") for h in found), found


def test_without_the_docs_extra_the_command_says_how_to_get_it(monkeypatch, capsys):
    from tinyae import cli
    real = site.importlib.util.find_spec
    monkeypatch.setattr(site.importlib.util, "find_spec",
                        lambda name, *a: None if name == "furo" else real(name, *a))
    assert cli.main(["docs", "build", "--out", "unused"]) == 2
    err = capsys.readouterr().err
    assert "docs extra" in err and 'pip install -e ".[docs]"' in err and "furo" in err
