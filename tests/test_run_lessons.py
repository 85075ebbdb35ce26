"""tinyae run all with several lessons at a time (tinyae/run_lessons.py): results in the
lessons' order, each lesson's output printed whole (never interleaved), failures reported."""
import sys

from tinyae import run_lessons


def _script(tmp_path, name, lines, code=0, sleep=0.0):
    path = tmp_path / f"{name}.py"
    path.write_text("import sys, time\n"
                    + "".join(f"print({line!r}, flush=True)\ntime.sleep({sleep})\n"
                              for line in lines)
                    + f"sys.exit({code})\n")
    return path


def test_lessons_side_by_side_print_whole_and_keep_their_order(tmp_path, capsys):
    paths = [_script(tmp_path, "00_slow", [f"slow line {i}" for i in range(4)], sleep=0.2),
             _script(tmp_path, "01_fast", [f"fast line {i}" for i in range(4)], sleep=0.05),
             _script(tmp_path, "02_fails", ["about to fail"], code=3)]
    commands = [[sys.executable, str(p)] for p in paths]
    results = run_lessons.run(paths, commands, env=None, jobs=2, scale="embedded")
    assert [(name, code) for name, code, _ in results] == [("00_slow", 0), ("01_fast", 0),
                                                           ("02_fails", 3)]
    out = capsys.readouterr().out
    for stem in ("slow", "fast"):  # each lesson's lines in one block
        block = [line for line in out.splitlines() if line.startswith(f"{stem} line")]
        start = out.splitlines().index(block[0])
        assert out.splitlines()[start:start + 4] == [f"{stem} line {i}" for i in range(4)]
    assert "=== 02_fails.py: FAIL" in out


def test_the_plan_gives_one_thread_per_lesson_on_free_cores():
    assert run_lessons.parallel_plan(2, 20) == (2, 1)
    assert run_lessons.parallel_plan(1, 20) == (1, 1)
    assert run_lessons.parallel_plan(8, 3) == (3, 2)
