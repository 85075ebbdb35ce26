"""The grader cannot be fooled or stopped by a hand-in: a deleted or renamed file is a named
failure; an exit, a hang, a crash or endless printing fails that exercise only, saying why; odd
files in the folder are no traceback."""
import os
import sys

import pytest

from tinyae import exercises
from tinyae.exercises import write

from test_exercises import fill


@pytest.fixture
def handin(tmp_path):
    """A hand-in of two solved exercises, as `tinyae exercises new --solutions` writes it."""
    folder = tmp_path / "handin"
    write(folder, ["sigmoid", "tanh"], solutions=True)
    return folder


def _rows(folder, **kwargs):
    return {r.exercise: r for r in exercises.check_folder(folder, **kwargs)}


def test_both_pass_when_untouched(handin):
    rows = _rows(handin)
    assert [r.status for r in rows.values()] == ["ok", "ok"]


def test_a_deleted_or_renamed_exercise_is_a_named_failure(handin):
    (handin / "sigmoid.py").unlink()
    (handin / "tanh.py").rename(handin / "tanh_v2.py")
    rows = _rows(handin)
    assert rows["sigmoid"].status == "missing" and "sigmoid.py is missing" in rows["sigmoid"].message
    assert rows["tanh"].status == "missing"
    assert rows["tanh_v2"].status == "extra"  # not handed out: listed, not graded, not counted
    assert "0 of 2 exercises pass" in exercises.format_table(list(rows.values()))


def test_an_edited_header_is_graded_not_skipped(handin):
    path = handin / "tanh.py"
    path.write_text(path.read_text().replace('EXERCISE = "tanh"', 'EXERCISE_ = "tanh"'))
    row = _rows(handin)["tanh"]
    assert row.status == "error" and "EXERCISE line" in row.message


@pytest.mark.parametrize("body, says", [
    ("import sys\nsys.exit(0)", "ended the grading process"),
    ("import os\nos._exit(0)", "ended the grading process"),
    ("while True:\n    pass", "did not finish within 3 s"),
    ("print('x' * 10_000_000)\nreturn ybar * (1 - self.output * self.output)", None),
])
def test_an_exit_a_hang_or_a_flood_fails_only_that_exercise(handin, body, says):
    fill(handin / "tanh.py", body)
    rows = _rows(handin, timeout=3)
    assert rows["sigmoid"].status == "ok"  # the other hand-in is still graded
    if says is None:
        assert rows["tanh"].status == "ok"  # printing is no failure, and no one reads it
    else:
        assert rows["tanh"].status == "error" and says in rows["tanh"].message


def test_a_sys_exit_at_the_end_of_the_file_does_not_end_the_grading(handin):
    path = handin / "sigmoid.py"
    path.write_text(path.read_text() + "\nimport sys\nsys.exit(0)\n")
    rows = _rows(handin)
    assert rows["sigmoid"].status == "error" and rows["tanh"].status == "ok"


def test_odd_entries_in_the_folder_are_no_traceback(handin):
    (handin / "old.py").mkdir()                       # a folder named like a file
    os.symlink(handin / "nowhere.py", handin / "dangling.py")
    rows = _rows(handin)
    assert set(rows) == {"sigmoid", "tanh"}


@pytest.mark.skipif(sys.platform == "win32" or os.geteuid() == 0,
                    reason="root reads any file; the permission cannot be taken away")
def test_an_unreadable_file_is_a_row_saying_so(handin):
    (handin / "tanh.py").chmod(0)
    try:
        row = _rows(handin)["tanh"]
    finally:
        (handin / "tanh.py").chmod(0o644)
    assert row.status == "error" and "cannot be read" in row.message


def test_new_into_an_unwritable_folder_is_one_clear_line(tmp_path, capsys):
    from tinyae import cli
    target = tmp_path / "exists-as-a-file"
    target.write_text("")
    assert cli.main(["exercises", "new", str(target / "class")]) == 2
    assert "Traceback" not in capsys.readouterr().err


def test_new_writes_each_file_whole(tmp_path, monkeypatch):
    from pathlib import Path
    from tinyae.exercises import make
    calls = []
    real = Path.write_text

    def disk_full_on_the_third(self, text, **kwargs):
        calls.append(self.name)
        if len(calls) == 3:
            real(self, text[:1000], **kwargs)  # what a full disk leaves: a cut file ...
            raise OSError(28, "No space left on device")
        return real(self, text, **kwargs)
    monkeypatch.setattr(Path, "write_text", disk_full_on_the_third)
    with pytest.raises(OSError):
        make.write(tmp_path / "class", ["sigmoid", "tanh", "exp"])
    monkeypatch.undo()
    left = sorted(p.name for p in (tmp_path / "class").iterdir())
    assert left == ["sigmoid.py", "tanh.py"]  # ... and it was never renamed into place
    assert all("def backward" in (tmp_path / "class" / n).read_text() for n in left)


def test_a_report_says_which_inputs_signal_is_wrong_and_which_is_right(tmp_path):
    from test_exercises import BUGS
    write(tmp_path / "h", ["matmul"])
    fill(tmp_path / "h" / "matmul.py", BUGS["forgotten transpose"][1])
    row = exercises.check_folder(tmp_path / "h")[0]
    assert row.status == "FAIL"
    assert "ā wrong (12 of 12 elements), b̄ right" in row.message
