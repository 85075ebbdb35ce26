"""Every number a lesson page's *Measured* section or the README's lesson table quotes comes from
a recorded real run (docs/runs/*.json, tinyae/run_pages.py), and a page quotes no run it has no
record of. A quick run writes nothing in docs/; a missing or damaged record is said, not fatal."""
import re

import pytest

from tinyae import run_pages, run_record
from tinyae.lesson import Lesson

PAGES = run_pages.pages()


def _blocks(text):
    return list(run_pages.BLOCK.finditer(text))


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.stem)
def test_the_measured_section_quotes_recorded_runs_only(page):
    section = run_pages.measured_section(page.read_text(encoding="utf-8"))
    blocks = _blocks(section)
    assert blocks, f"{page.name}: its Measured section has no record block (<!-- record: … -->)"
    records = []
    for block in blocks:
        record = run_pages.record_for(block["key"])  # raises: a run the page has no record of
        assert record["name"] == page.stem
        assert block["body"] == run_pages.render(record), (
            f"{page.name}: the block of {block['key']} is not what its record renders to; run "
            "`tinyae docs sync`")
        records.append(record)
    prose = run_pages.BLOCK.sub("", section)
    missing = run_pages.unrecorded_numbers(prose, records)
    assert not missing, (f"{page.name}: numbers in the Measured section that its recorded runs "
                         f"did not print: {missing}")


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.stem)
def test_every_number_on_a_lesson_page_comes_from_a_recorded_run_or_the_script(page):
    missing = run_pages.unrecorded_numbers_on_page(page)
    assert not missing, (
        f"{page.name}: numbers that no run the page quotes printed and its script does not set: "
        f"{missing}. Quote the recorded run (docs/runs/), or say it without a number if it was "
        "never recorded")


def test_the_page_check_fails_on_a_number_no_run_printed(tmp_path, monkeypatch):
    page = PAGES[0]
    text = page.read_text(encoding="utf-8")
    monkeypatch.setattr(run_pages, "DOCS", tmp_path)
    (tmp_path.parent / "lessons").mkdir(exist_ok=True)
    (tmp_path.parent / "lessons" / f"{page.stem}.py").write_text(
        (run_pages.README.parent / "lessons" / f"{page.stem}.py").read_text(encoding="utf-8"))
    stale = tmp_path / page.name
    stale.write_text(text + "\nAn earlier run took 123.4 s and reached 0.98765.\n", encoding="utf-8")
    assert run_pages.unrecorded_numbers_on_page(stale) == ["123.4", "0.98765"]
    stale.write_text(text + "\nLesson 18 (Kingma & Welling, 2014) uses `--epochs 77`.\n",
                     encoding="utf-8")
    assert run_pages.unrecorded_numbers_on_page(stale) == []


def _readme_rows():
    text = run_pages.README.read_text(encoding="utf-8")
    rows = re.findall(r"^\| \[(\d\d)\]\(docs/(\d\d_\w+)\.md\)[^|]*\|[^|]*\|([^|]*)\|[^|]*\|([^|]*)\|$",
                      text, re.M)
    assert len(rows) == len(PAGES)
    return rows


@pytest.mark.parametrize("number, name, ours, time", _readme_rows(), ids=lambda v: str(v)[:12])
def test_the_readme_lesson_table_quotes_the_full_records(number, name, ours, time):
    record = run_record.load(run_record.docs_path(name, "full"))
    missing = run_pages.unrecorded_numbers(ours + time, [record])
    assert not missing, f"README row {number}: numbers not printed by its recorded run: {missing}"


def test_a_quick_run_writes_nothing_in_docs(tmp_path, monkeypatch):
    monkeypatch.setattr(run_record, "RUNS_DIR", tmp_path / "runs")
    lesson = Lesson(3, "t", "c", argv=["--quick", "--out", str(tmp_path / "out")])
    lesson.done()
    assert (tmp_path / "out" / "run.json").is_file() and not (tmp_path / "runs").exists()


@pytest.mark.parametrize("damage", ["missing", "not json", "not a record"])
def test_a_real_run_with_a_missing_or_damaged_record_still_ends_and_says_so(
        damage, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(run_record, "RUNS_DIR", tmp_path / "runs")
    (tmp_path / "runs").mkdir()
    if damage != "missing":
        text = "{" if damage == "not json" else '{"format": "something else"}'
        (tmp_path / "runs" / "03_t.full.json").write_text(text)
    lesson = Lesson(3, "t", "c", argv=["--out", str(tmp_path / "out")])
    lesson.check(True, "a claim: 1")
    lesson.done()
    said = capsys.readouterr().out
    assert "the docs page could not be checked against this run" in said
    assert {"missing": "there is no record", "not json": "damaged",
            "not a record": "not a lesson run record"}[damage] in said


def test_a_recorded_run_is_compared_line_by_line(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(run_record, "RUNS_DIR", tmp_path / "runs")
    first = Lesson(3, "t", "c", argv=["--out", str(tmp_path / "a"), "--record"])
    first.check(True, "held: 1.5")
    first.done()
    assert (tmp_path / "runs" / "03_t.full.json").is_file()
    again = Lesson(3, "t", "c", argv=["--out", str(tmp_path / "b")])
    again.check(True, "held: 1.5")
    again.done()
    assert "the same claim lines as the recorded run" in capsys.readouterr().out


def test_numbers_are_matched_at_the_digits_shown():
    values = [13.866, 0.4912, 5.744e-4, 60000]
    assert all(run_pages.shown_as(t, values) for t in ("13.87", "0.49", "5.7e-04", "60,000"))
    assert not any(run_pages.shown_as(t, values) for t in ("13.86", "0.48", "5.8e-04", "6,000"))


def test_the_readme_main_job_time_quotes_its_record():
    """The README's time for its main command comes from a recorded `tinyae run all --record`."""
    text = run_pages.README.read_text(encoding="utf-8")
    blocks = list(re.finditer(r"<!-- main job: (?P<key>[\w.]+) -->(?P<body>.*?)<!-- /main job -->",
                              text, re.S))
    assert blocks, "README: the main job's time is not between <!-- main job: KEY --> markers"
    for block in blocks:  # an idle run, a busy one
        record = run_pages.record_for(block["key"])  # raises: a run the README has no record of
        assert record["name"] == "main_job" and "20 of 20 lesson(s) passed" in record["output"]
        missing = run_pages.unrecorded_numbers(block["body"], [record])
        assert not missing, f"README {block['key']}: numbers its record does not hold: {missing}"


def test_the_term_plans_lesson_times_are_the_recorded_ones():
    text = run_pages.COURSE.read_text(encoding="utf-8")
    block = run_pages.TIMES.search(text)
    assert block, "docs/course.md has no <!-- lesson times --> block"
    assert block["body"] == run_pages.times_table(), "run `tinyae docs sync`"


def test_the_term_plans_topic_table_names_figures_that_exist():
    text = run_pages.COURSE.read_text(encoding="utf-8")
    table = text.split("## The decks' topics", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in table.splitlines() if re.match(r"\| \d+ \|", line)]
    assert [int(row.split("|")[1]) for row in rows] == list(range(1, 28))  # 27 topics, in order
    img = run_pages.COURSE.parent / "img"
    named = re.findall(r"`(\d\d_\w+)`", table)
    assert named and all((img / f"{n}.png").exists() or (img / f"{n}.gif").exists()
                         for n in named), [n for n in named if not list(img.glob(n + ".*"))]


def test_the_readme_paper_table_quotes_the_paper_records():
    """The README's table of --paper runs: every number in a row (the paper's too, which the
    run prints beside its own) comes from the lesson's recorded paper run."""
    text = run_pages.README.read_text(encoding="utf-8")
    block = re.search(r"<!-- paper runs -->(?P<body>.*?)<!-- /paper runs -->", text, re.S)
    assert block, "README: no <!-- paper runs --> table"
    rows = re.findall(r"^\| \[[^\]]*\]\(docs/(\d\d_\w+)\.md[^)]*\)(.*)$", block["body"], re.M)
    assert len(rows) == 4, rows
    for name, rest in rows:
        record = run_record.load(run_record.docs_path(name, "paper"))
        assert record["scale"] == "paper"
        missing = run_pages.unrecorded_numbers(rest, [record])
        assert not missing, f"README paper row {name}: numbers its record does not hold: {missing}"
