"""Grading a whole class: ``tinyae exercises grade SUBMISSIONS/`` and the classroom graders' files.

SUBMISSIONS holds one folder per student (``alice/``, ``bob/``, …), each a copy of the folder
``tinyae exercises new`` wrote, filled in. Every exercise file of every student is graded in its
own child process (``check.check_folder``: a time and a memory limit, output thrown away), so a
hand-in that loops, crashes, exits, prints megabytes or allocates without end fails that one
exercise, saying why, and the rest of the class is still graded. The grades are written only
when every student has been graded, each file whole (write beside, then rename):

    grades.csv     one row per student: each exercise's status, the scores
    summary.txt    the plain table, and per exercise how many students pass it
    results/NAME.json   the student's result in Gradescope's results.json format

The exercises graded are the ones handed out: the list in the instructor's folder
(``--handed-out``; by default SUBMISSIONS/.tinyae-exercises.json, else each student's own list),
so a student who deletes a file, or edits the list, gets a named failure, not a smaller sheet.
"""
import csv
import io
import json
import os
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path

from ..io import replace_atomically
from .check import check_folder
from .make import EXERCISES, HANDED_OUT

FIRST, SECOND = 1.0, 0.0  # points: the first order is the exercise; the second order is a bonus


class GradingError(ValueError):
    """A class folder that cannot be graded as given (the message says what to do)."""


def handed_out_list(path):
    """The exercise names in a folder made by ``tinyae exercises new`` (or its list file)."""
    path = Path(path)
    listing = path / HANDED_OUT if path.is_dir() else path
    try:
        names = json.loads(listing.read_text(encoding="utf-8"))["exercises"]
    except FileNotFoundError:
        raise GradingError(f"{listing} does not exist: give the folder `tinyae exercises new` "
                           "wrote for the class (it holds the list of exercises handed out)") from None
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise GradingError(f"{listing} is not a list of handed-out exercises ({err}); write the "
                           "sheet again with `tinyae exercises new`") from None
    unknown = [n for n in names if n not in EXERCISES]
    if unknown or not names:
        raise GradingError(f"{listing} names exercise(s) this tinyae does not have "
                           f"({', '.join(map(str, unknown)) or 'none at all'}): it was written by "
                           "another tinyae version; grade with that version, or hand out a new "
                           "sheet")
    return names


def students(submissions):
    """The student folders in ``submissions``, sorted by name (hidden folders skipped)."""
    submissions = Path(submissions)
    if not submissions.is_dir():
        raise GradingError(f"{submissions} is not a folder: give the folder that holds one folder "
                           "per student")
    folders = sorted(p for p in submissions.iterdir() if p.is_dir() and not p.name.startswith("."))
    if not folders:
        raise GradingError(f"{submissions} has no student folders (one folder per student, each a "
                           "filled-in copy of the sheet)")
    return folders


def grade_class(submissions, handed_out=None, timeout=60, memory_mb=2048, progress=None,
                jobs=None):
    """{student: [Row, …]} for every student folder of ``submissions``."""
    submissions = Path(submissions)
    folders = students(submissions)
    if handed_out is None and (submissions / HANDED_OUT).is_file():
        handed_out = submissions
    expected = handed_out_list(handed_out) if handed_out is not None else None
    # Students in parallel, one per core: each exercise already runs in its own process
    done = {}
    with ThreadPoolExecutor(max_workers=jobs or os.cpu_count() or 1) as pool:
        futures = {pool.submit(check_folder, folder, timeout, memory_mb, expected): folder.name
                   for folder in folders}
        for future in as_completed(futures):
            done[futures[future]] = future.result()
            if progress:
                progress(len(done), len(folders), futures[future], done[futures[future]])
    return {folder.name: done[folder.name] for folder in folders}


def score(rows):
    """(points, max points): one per exercise passed at first order (extras count for nothing)."""
    graded = [r for r in rows if r.status != "extra"]
    return sum(FIRST for r in graded if r.status == "ok"), FIRST * len(graded)


def gradescope_results(rows):
    """The student's result as Gradescope's autograder reads it (``results.json``)."""
    tests = []
    for r in rows:
        if r.status == "extra":
            continue
        output = r.message or ("first order ok" + (", second order ok" if r.second == "ok" else ""))
        tests.append({"name": f"{r.exercise} (first order)", "score": FIRST if r.status == "ok"
                      else 0.0, "max_score": FIRST, "output": output,
                      "status": "passed" if r.status == "ok" else "failed"})
    points, out_of = score(rows)
    return {"score": points, "max_score": out_of, "tests": tests,
            "output": f"{int(points)} of {int(out_of)} exercises pass (first order)"}


def _exercise_names(grades):
    names = []
    for rows in grades.values():
        names += [r.exercise for r in rows if r.exercise not in names and r.status != "extra"]
    return names


def csv_text(grades):
    names = _exercise_names(grades)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["student", *names, "first order passed", "second order passed", "score",
                     "max score"])
    for student, rows in grades.items():
        by_name = {r.exercise: r for r in rows}
        points, out_of = score(rows)
        writer.writerow([student, *(by_name[n].status if n in by_name else "missing"
                                    for n in names),
                         sum(r.status == "ok" for r in rows if r.status != "extra"),
                         sum(r.second == "ok" for r in rows if r.status != "extra"),
                         f"{points:g}", f"{out_of:g}"])
    return out.getvalue()


def summary_text(grades):
    names = _exercise_names(grades)
    width = max(len(s) for s in grades) if grades else 7
    lines = [f"{'student':<{width}}  first order  second order  failed"]
    for student, rows in grades.items():
        graded = [r for r in rows if r.status != "extra"]
        failed = [f"{r.exercise} ({r.status})" for r in graded if r.status != "ok"]
        lines.append(f"{student:<{width}}  {sum(r.status == 'ok' for r in graded):>4} of "
                     f"{len(graded):<3}   {sum(r.second == 'ok' for r in graded):>4}          "
                     f"{', '.join(failed) or '-'}")
    lines += ["", "per exercise: students passing (first order)"]
    for name in names:
        passing = sum(any(r.exercise == name and r.status == "ok" for r in rows)
                      for rows in grades.values())
        lines.append(f"  {name:<22} {passing} of {len(grades)}")
    return "\n".join(lines) + "\n"


def write_grades(grades, out):
    """Write grades.csv, summary.txt and results/NAME.json into ``out``; the paths written.
    Each file is written whole (beside it first, then renamed), so a full disk or a read-only
    folder leaves no partial grade file."""
    out = Path(out)
    try:
        (out / "results").mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise GradingError(f"cannot write the grades into {out} ({err.strerror or err}); choose "
                           "a folder you can write to with --out") from None
    files = {out / "grades.csv": csv_text(grades), out / "summary.txt": summary_text(grades)}
    files.update({out / "results" / f"{student}.json": json.dumps(gradescope_results(rows),
                                                                   indent=2, ensure_ascii=False)
                  for student, rows in grades.items()})
    written = []
    try:
        for path, text in files.items():
            written.append(replace_atomically(
                path, lambda tmp, text=text: Path(tmp).write_text(text, encoding="utf-8")))
    except OSError as err:
        raise GradingError(f"cannot write the grades into {out} ({err.strerror or err}); choose "
                           "a folder you can write to with --out") from None
    return written
