"""``tinyae exercises new | check | grade``: the command line of the exercises (cli.py hands the
parsed arguments here; an ExerciseUsageError becomes its one-line error, exit status 2)."""
import json
from pathlib import Path

from ..arguments import positive
from ..io import replace_atomically
from . import grade as class_grading
from .check import check_folder, format_table
from .make import write


class ExerciseUsageError(ValueError):
    """A mistake of the user's with the exercises: one line, exit status 2."""


def add_parser(sub):
    """The ``exercises`` subcommand and its three actions, added to ``sub``; the parser."""
    p = sub.add_parser("exercises", help="backprop exercises for a class: write them, grade them")
    actions = p.add_subparsers(dest="action", metavar="ACTION")
    actions.required = True
    new = actions.add_parser("new", help="write one file per exercise (its backward to fill in), "
                             "a README and a pytest file")
    new.add_argument("dir", help="the folder to write (new or empty, unless --force)")
    new.add_argument("--ops", help="comma-separated exercises (default: all 20; a wrong name "
                     "lists them): single ops such as sigmoid, matmul, conv2d, and whole pieces "
                     "such as two_layer_net, vae_kl, layer_norm, attention")
    new.add_argument("--force", action="store_true", help="write into a non-empty folder")
    new.add_argument("--formulas", action="store_true",
                     help="keep the backward formula in each docstring (an easier exercise)")
    new.add_argument("--solutions", action="store_true",
                     help="the instructor's copy: each backward filled in with tinyae's own")
    new.add_argument("--notebooks", action="store_true",
                     help="each exercise as a Jupyter notebook, its check in the last cell")
    check = actions.add_parser("check", help="grade a folder of exercises; exit 1 if any fails")
    check.add_argument("dir", help="the folder of the exercise files")
    check.add_argument("--gradescope", metavar="PATH",
                       help="also write the result as Gradescope's results.json to PATH")
    grade = actions.add_parser("grade", help="grade a whole class: one folder per student, into "
                               "grades.csv, summary.txt and Gradescope results.json files")
    grade.add_argument("dir", help="the folder holding one folder per student")
    grade.add_argument("--handed-out", metavar="DIR", help="the sheet folder `new` wrote (its list "
                       "of exercises is what is graded; default: DIR/.tinyae-exercises.json, "
                       "else each student's own list)")
    grade.add_argument("--out", default="grades", help="where the grades go (default: ./grades)")
    for command in (check, grade):
        command.add_argument("--timeout", type=positive(float), default=60,
                             help="seconds each exercise file may take (default 60)")
        command.add_argument("--memory", type=positive(int), default=2048, metavar="MB",
                             help="memory each exercise file may use, in MB (default 2048)")
    return p


def run(args):
    """Carry out ``tinyae exercises ACTION``; the exit status."""
    return {"new": _new, "check": _check, "grade": _grade}[args.action](args)


def _new(args):
    names = [n.strip() for n in args.ops.split(",") if n.strip()] if args.ops else None
    try:
        paths = write(args.dir, names, force=args.force, formulas=args.formulas,
                      solutions=args.solutions, notebooks=args.notebooks)
    except (ValueError, FileExistsError, NotADirectoryError) as err:
        raise ExerciseUsageError(str(err)) from None
    except OSError as err:  # an unwritable folder, a full disk: nothing half-written stays
        raise ExerciseUsageError(f"cannot write the exercises into {args.dir} "
                                 f"({err.strerror or err}); choose a folder you can write to"
                                 ) from None
    print(f"wrote {len(paths) - 1} exercise(s) and README.md to {args.dir}: "
          f"{', '.join(p.name for p in paths[:-1])}")
    return 0


def _check(args):
    if not Path(args.dir).is_dir():
        raise ExerciseUsageError(f"{args.dir} is not a folder; give the folder of the exercise "
                                 "files")
    rows = check_folder(args.dir, timeout=args.timeout, memory_mb=args.memory)
    if not rows:
        raise ExerciseUsageError(f"no exercise files in {args.dir} (made by `tinyae exercises "
                                 "new`)")
    print(format_table(rows))
    if args.gradescope:  # Gradescope's run_autograder: check /autograder/submission --gradescope …
        text = json.dumps(class_grading.gradescope_results(rows), indent=2, ensure_ascii=False)
        try:
            replace_atomically(args.gradescope,
                               lambda tmp: Path(tmp).write_text(text, encoding="utf-8"))
        except OSError as err:
            raise ExerciseUsageError(f"cannot write {args.gradescope} ({err.strerror or err})"
                                     ) from None
    return 0 if all(r.status in ("ok", "extra") for r in rows) else 1


def _grade(args):
    def progress(number, total, student, rows):
        points, out_of = class_grading.score(rows)
        print(f"[{number}/{total}] {student}: {points:g} of {out_of:g}", flush=True)
    try:
        grades = class_grading.grade_class(args.dir, handed_out=args.handed_out,
                                           timeout=args.timeout, memory_mb=args.memory,
                                           progress=progress)
        paths = class_grading.write_grades(grades, args.out)
    except class_grading.GradingError as err:
        raise ExerciseUsageError(str(err)) from None
    print()
    print(class_grading.summary_text(grades), end="")
    print(f"\nwrote {', '.join(str(p) for p in paths[:2])} and {len(paths) - 2} Gradescope "
          f"results.json file(s) in {Path(args.out) / 'results'}")
    return 0
