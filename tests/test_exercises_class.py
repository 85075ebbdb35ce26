"""`tinyae exercises grade`: a whole class graded in one command, each hand-in in its own process
with a time and memory limit, into grades.csv, summary.txt and Gradescope results.json files; a
class folder that cannot be graded is one clear line and no partial grade file."""
import csv
import json
import re
import shutil

import pytest

from test_exercises import fill
from tinyae import cli, exercises
from tinyae.exercises import grade

SHEET = ["matmul", "mean", "softmax_cross_entropy"]
# what a class hands in: the student's backward bodies, and the verdict each one must get
HANDINS = {
    "right": ({}, "ok"),
    "transposed": ({"matmul": "a, b = self.inputs\nreturn ybar @ b, a.T @ ybar"},
                   "what the right formula gives with b transposed"),
    "missing_factor": ({"mean": "return np.broadcast_to(ybar.data, self.inputs[0].shape)"},
                       "a division by that count missing"),
    "sign": ({"matmul": "a, b = self.inputs\nreturn -(ybar @ b.T), -(a.T @ ybar)"},
             "its sign flipped"),
    "fan_out": ({"softmax_cross_entropy":
                 "z, = self.inputs\nreturn -ybar * Tensor(self.targets) / z.shape[0]"},
                "a path that reaches them is missing"),
    "broadcast": ({"mean": "return ybar.data / 3"}, "x̄ must have its input's shape"),
    "hang": ({"matmul": "while True:\n    pass"}, "did not finish within"),
    "crash": ({"mean": "import os\nos.abort()"}, "ended the grading process"),
    "flood": ({"mean": "while True:\n    print('x' * 100000)"}, "did not finish within"),
    "exit": ({"matmul": "import sys\nsys.exit(0)"}, "ended the grading process"),
    "memory": ({"mean": "big = np.ones((40000, 40000))\nreturn big"}, "MemoryError"),
    "syntax": ({"matmul": "return ybar @ b.T,,"}, "SyntaxError"),
}


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """A synthetic class of 30: every kind of hand-in above, the rest right, one file deleted."""
    root = tmp_path_factory.mktemp("class")
    exercises.write(root / "sheet", SHEET)
    exercises.write(root / "solved", SHEET, solutions=True)
    kinds = list(HANDINS)
    roster = {}
    for number in range(30):
        kind = kinds[number % len(kinds)]
        student = f"s{number:02d}_{kind}"
        folder = root / "handins" / student
        shutil.copytree(root / "solved", folder)
        for name, body in HANDINS[kind][0].items():
            fill(folder / f"{name}.py", body)
        roster[student] = kind
    (root / "handins" / "s24_right" / "mean.py").unlink()  # a deleted file is a named failure
    grades = grade.grade_class(root / "handins", handed_out=root / "sheet", timeout=4,
                               memory_mb=1024)
    paths = grade.write_grades(grades, root / "grades")
    return root, roster, grades, paths


def test_every_student_is_graded_and_each_wrong_handin_gets_its_verdict(graded):
    _, roster, grades, _ = graded
    assert len(grades) == 30
    for student, kind in roster.items():
        rows = {r.exercise: r for r in grades[student]}
        assert list(rows) == SHEET, student
        bad = [r for r in rows.values() if r.status != "ok"]
        if student == "s24_right":
            assert [(r.exercise, r.status) for r in bad] == [("mean", "missing")]
            continue
        if kind == "right":
            assert not bad, (student, bad)
            continue
        wrong, = HANDINS[kind][0]  # the one exercise this hand-in got wrong
        assert [r.exercise for r in bad] == [wrong], (student, bad)
        assert HANDINS[kind][1] in bad[0].message, (student, bad[0].message)


def test_the_csv_and_the_gradescope_results_hold_every_student(graded):
    root, roster, grades, paths = graded
    with open(root / "grades" / "grades.csv", newline="", encoding="utf-8") as f:
        table = list(csv.DictReader(f))
    assert [row["student"] for row in table] == sorted(roster)
    by_student = {row["student"]: row for row in table}
    assert by_student["s00_right"]["score"] == "3" and by_student["s00_right"]["max score"] == "3"
    assert by_student["s01_transposed"]["matmul"] == "FAIL"
    assert by_student["s06_hang"]["matmul"] == "error"
    assert by_student["s24_right"]["mean"] == "missing"
    for student in roster:
        result = json.loads((root / "grades" / "results" / f"{student}.json").read_text())
        assert result["max_score"] == 3.0 and len(result["tests"]) == 3
        assert result["score"] == sum(t["score"] for t in result["tests"])
        assert result["score"] == float(by_student[student]["score"])
    summary = (root / "grades" / "summary.txt").read_text()
    assert "per exercise: students passing" in summary and "s01_transposed" in summary
    assert len(paths) == 2 + 30


def test_the_cli_grades_a_class_in_one_command(graded, tmp_path, capsys):
    root, *_ = graded
    small = tmp_path / "small"
    for student in ("s00_right", "s01_transposed"):
        shutil.copytree(root / "handins" / student, small / student)
    status = cli.main(["exercises", "grade", str(small), "--handed-out", str(root / "sheet"),
                       "--out", str(tmp_path / "g"), "--timeout", "20"])
    said = capsys.readouterr().out
    assert status == 0 and "[2/2]" in said and re.search(r"s01_transposed +2 of 3", said)
    assert (tmp_path / "g" / "grades.csv").is_file()


def test_gradescope_results_from_check(tmp_path, capsys):
    exercises.write(tmp_path / "h", ["sigmoid"], solutions=True)
    status = cli.main(["exercises", "check", str(tmp_path / "h"), "--gradescope",
                       str(tmp_path / "results.json")])
    assert status == 0
    result = json.loads((tmp_path / "results.json").read_text())
    assert result["score"] == 1.0 and result["tests"][0]["status"] == "passed"


def test_the_sheet_carries_a_pytest_file_for_github_classroom(tmp_path):
    exercises.write(tmp_path / "h", ["sigmoid", "mean"])
    fill(tmp_path / "h" / "sigmoid.py", "y = self.output\nreturn ybar * y * (1 - y)")
    test_file = (tmp_path / "h" / "test_exercises.py").read_text()
    assert "check_folder(HERE)" in test_file and "\nEXERCISE = " not in test_file
    import subprocess
    import sys
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                           "test_exercises.py"], cwd=tmp_path / "h", capture_output=True,
                          text=True, timeout=120)
    assert "1 failed, 1 passed" in done.stdout, done.stdout
    assert "mean: not done" in done.stdout


@pytest.mark.parametrize("case", ["missing folder", "empty folder", "a file", "other version",
                                  "damaged list"])
def test_a_class_folder_that_cannot_be_graded_is_one_clear_line(tmp_path, capsys, case):
    handins = tmp_path / "handins"
    args = ["exercises", "grade", str(handins), "--out", str(tmp_path / "g")]
    if case == "empty folder":
        handins.mkdir()
    elif case == "a file":
        handins.write_text("not a folder")
    elif case in ("other version", "damaged list"):
        exercises.write(handins / "alice", ["sigmoid"])
        text = ('{"exercises": ["sigmoid", "hyperbolic_sine"]}' if case == "other version"
                else "{not json")
        (handins / ".tinyae-exercises.json").write_text(text)
    status = cli.main(args)
    err = capsys.readouterr().err
    assert status == 2 and "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    assert {"missing folder": "is not a folder", "empty folder": "has no student folders",
            "a file": "is not a folder", "other version": "another tinyae version",
            "damaged list": "is not a list of handed-out exercises"}[case] in err
    assert not (tmp_path / "g").exists()  # nothing written


def test_an_unwritable_grades_folder_leaves_no_partial_file(tmp_path, capsys):
    exercises.write(tmp_path / "handins" / "alice", ["sigmoid"])
    (tmp_path / "g").write_text("a file where the grades folder should go")
    status = cli.main(["exercises", "grade", str(tmp_path / "handins"), "--out", str(tmp_path / "g")])
    err = capsys.readouterr().err
    assert status == 2 and "cannot write the grades into" in err and "Traceback" not in err
    assert (tmp_path / "g").read_text().startswith("a file")


def test_a_handin_of_another_version_is_a_row_saying_so(tmp_path):
    exercises.write(tmp_path / "h", ["sigmoid"])
    path = tmp_path / "h" / "sigmoid.py"
    path.write_text(path.read_text().replace('EXERCISE = "sigmoid"', 'EXERCISE = "sinh"'))
    row, = exercises.check_folder(tmp_path / "h")
    assert row.status == "error" and "another tinyae version" in row.message


def test_notebook_sheets_are_graded_and_check_themselves_in_their_last_cell(tmp_path):
    exercises.write(tmp_path / "solved", ["sigmoid", "vae_kl"], solutions=True, notebooks=True)
    rows = exercises.check_folder(tmp_path / "solved")
    assert [(r.exercise, r.status, r.second) for r in rows] == [("sigmoid", "ok", "ok"),
                                                                ("vae_kl", "ok", "ok")]
    exercises.write(tmp_path / "sheet", ["sigmoid"], notebooks=True)
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    notebook = nbformat.read(tmp_path / "sheet" / "sigmoid.ipynb", as_version=4)
    nbclient.NotebookClient(notebook, timeout=120, kernel_name="python3",
                            resources={"metadata": {"path": str(tmp_path / "sheet")}}).execute()
    said = "".join(o.get("text", "") for o in notebook.cells[-1].outputs)
    assert "sigmoid   not done" in said and "0 of 1 exercises pass" in said
